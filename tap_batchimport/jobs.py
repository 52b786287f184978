"""A job as the tap sees it, whatever its vendor: which job, and what its vendor says of it."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

#: The status ``job_details`` reports for a job the vendor answers 404 for.
NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class JobRef:
    """One job of one vendor.

    Attributes:
        source: ``job_details.source``: ``fullstory_users``, ``fullstory_events``,
            ``druid`` or ``sailpoint``.
        job_id: The vendor's job id.
    """

    source: str
    job_id: str


@dataclass(frozen=True)
class JobStatus:
    """A job's status as the vendor reported it (never changed once made).

    Attributes:
        ref: Which job.
        status: The vendor's status value verbatim (or ``NOT_FOUND``).
        is_finished: The vendor says the job will not change again.
        results_ready: Whether its results can (and should) be downloaded.
        created: When the job was created (vendor timestamp).
        finished: When it finished; None until then.
        imports: Rows imported, if the vendor says.
        errors: Rows that failed, if the vendor says.
        message: A vendor message about the job, if any.
        vendor_status: The vendor's status body as received.
        extra: Vendor-specific ``job_details`` fields.
    """

    ref: JobRef
    status: str
    is_finished: bool
    results_ready: bool
    created: str | None = None
    finished: str | None = None
    imports: int | None = None
    errors: int | None = None
    message: str | None = None
    vendor_status: dict[str, t.Any] | None = None
    extra: dict[str, t.Any] = field(default_factory=dict)

    @property
    def not_found(self) -> bool:
        """The vendor does not know the job (any more)."""
        return self.status == NOT_FOUND

    def as_record(self) -> dict[str, t.Any]:
        """Return the ``job_details`` record (``given_up`` and ``result_expired`` aside)."""
        return {
            "source": self.ref.source,
            "job_id": self.ref.job_id,
            "status": self.status,
            "is_finished": self.is_finished,
            "created": self.created,
            "finished": self.finished if self.is_finished else None,
            "imports": self.imports,
            "errors": self.errors,
            "message": self.message,
            **self.extra,
            "vendor_status": self.vendor_status,
        }

    @classmethod
    def of_unknown_job(cls, ref: JobRef, body: dict[str, t.Any] | None = None) -> JobStatus:
        """A job the vendor does not know (or no longer keeps).

        Args:
            ref: Which job.
            body: The vendor's 404 body, if it was JSON.

        Returns:
            A finished status with nothing to download.
        """
        return cls(
            ref=ref,
            status=NOT_FOUND,
            is_finished=True,
            results_ready=False,
            vendor_status=body,
        )
