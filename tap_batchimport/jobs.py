"""Job status: what every vendor's job looks like to the tap, and waiting for unfinished ones."""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_batchimport.vendor import Vendor

#: The status ``job_details`` reports for a job the vendor answers 404 for.
NOT_FOUND = "NOT_FOUND"

#: Polling an unfinished job starts at this interval and doubles up to the maximum.
POLL_FIRST_SECONDS = 1.0
POLL_MAX_SECONDS = 30.0


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


@dataclass
class JobStatus:
    """A job's status as the vendor last reported it.

    Attributes:
        ref: Which job.
        status: The vendor's status value verbatim (or ``NOT_FOUND``).
        is_finished: The vendor says the job will not change again.
        results_ready: Whether its results can (and should) be downloaded now.
        created: When the job was created (vendor timestamp).
        finished: When it finished; None until then.
        imports: Rows imported, if the vendor says.
        errors: Rows that failed, if the vendor says.
        message: A vendor message about the job, if any.
        vendor_status: The vendor's status body as received.
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

    def as_record(self) -> dict[str, t.Any]:
        """Return the ``job_details`` record."""
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
    def not_found(cls, ref: JobRef, body: dict[str, t.Any] | None = None) -> JobStatus:
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


class Deadline:
    """The time this run may spend waiting for unfinished jobs (``job_wait_timeout_seconds``).

    Shared by all jobs of a vendor, so ten unfinished jobs wait at most the timeout in
    all, not ten times it.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Start the clock on first use.

        Args:
            seconds: How long waiting may take in all.
            clock: Monotonic clock (for tests).
        """
        self.seconds = seconds
        self._clock = clock
        self._ends: float | None = None
        self._interval = POLL_FIRST_SECONDS

    def remaining(self) -> float:
        """Seconds left to wait (the clock starts at the first call)."""
        if self._ends is None:
            self._ends = self._clock() + self.seconds
        return max(0.0, self._ends - self._clock())

    def sleep_before_next_poll(self) -> bool:
        """Sleep one polling interval if time remains.

        Returns:
            False when the deadline has passed (the caller moves on), else True.
        """
        left = self.remaining()
        if left <= 0:
            return False
        time.sleep(min(self._interval, left))
        self._interval = min(POLL_MAX_SECONDS, self._interval * 2)
        return True


class JobTracker:
    """Knows every job of one vendor and its status, fetched once per run."""

    def __init__(self, vendor: Vendor, deadline: Deadline, logger: logging.Logger) -> None:
        """Create the tracker; nothing is fetched until a status is needed.

        Args:
            vendor: The vendor whose jobs to track.
            deadline: How long unfinished jobs may be waited for.
            logger: Where to say what is happening.
        """
        self.vendor = vendor
        self.deadline = deadline
        self.logger = logger
        self._statuses: list[JobStatus] | None = None

    def statuses(self) -> list[JobStatus]:
        """Every job's status, after waiting (up to the deadline) for unfinished ones.

        Returns:
            One status per job, in configured (or discovered) order.
        """
        if self._statuses is None:
            statuses = [self.vendor.fetch_status(ref) for ref in self.vendor.job_refs()]
            waiting = [i for i, s in enumerate(statuses) if not s.is_finished]
            if waiting and self.deadline.seconds > 0:
                self.logger.info(
                    "%s: %d job(s) not finished; polling for up to %.0f s",
                    self.vendor.display_name,
                    len(waiting),
                    self.deadline.remaining(),
                )
            while waiting and self.deadline.sleep_before_next_poll():
                for i in waiting:
                    statuses[i] = self.vendor.fetch_status(statuses[i].ref)
                waiting = [i for i in waiting if not statuses[i].is_finished]
            for i in waiting:
                status = statuses[i]
                self.logger.info(
                    "%s job %s is %s (not finished): its results will be extracted by a later run",
                    self.vendor.display_name,
                    status.ref.job_id,
                    status.status,
                )
            self._statuses = statuses
        return self._statuses
