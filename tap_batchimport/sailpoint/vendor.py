"""SailPoint jobs: configured SP-Config import jobs, and their status."""

from __future__ import annotations

import datetime as dt
import sys
import typing as t

from tap_batchimport.client import Endpoint, VendorClient
from tap_batchimport.jobs import JobRef, JobStatus
from tap_batchimport.oauth import ClientCredentialsAuthenticator
from tap_batchimport.sailpoint.errors import error_detail
from tap_batchimport.sailpoint.settings import DEFAULT_API_VERSION
from tap_batchimport.sailpoint.values import as_text, parse_timestamp
from tap_batchimport.vendor import Vendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

SOURCE = "sailpoint"

#: The one status whose result can be downloaded.
COMPLETE = "COMPLETE"
#: Statuses after which a job never changes.
FINAL_STATUSES = frozenset({COMPLETE, "CANCELLED", "FAILED"})
#: Statuses of a job still queued or running, whatever else the body says.
RUNNING_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS"})


class SailpointVendor(Vendor):
    """SailPoint Identity Security Cloud SP-Config imports."""

    display_name = "SailPoint"
    credential_keys = ("sailpoint_api_url", "sailpoint_client_id", "sailpoint_client_secret")
    url_keys = ("sailpoint_api_url",)
    job_id_keys = ("sailpoint_import_job_ids",)

    @property
    def api_version(self) -> str:
        """Path prefix of the SP-Config endpoints (``v2025``, ``beta``, ...)."""
        return str(self.config.get("sailpoint_api_version") or DEFAULT_API_VERSION).strip()

    @property
    def status_endpoint(self) -> Endpoint:
        """``GET /{version}/sp-config/import/{job_id}``."""
        return Endpoint(f"/{self.api_version}/sp-config/import/{{job_id}}", envelope="status")

    @property
    def download_endpoint(self) -> Endpoint:
        """``GET /{version}/sp-config/import/{job_id}/download``."""
        return Endpoint(
            f"/{self.api_version}/sp-config/import/{{job_id}}/download", envelope="results"
        )

    @property
    def client(self) -> VendorClient:
        """The HTTP client (created on first use; the token on first request)."""
        if getattr(self, "_client", None) is None:
            base_url = str(self.config["sailpoint_api_url"]).strip()
            auth = ClientCredentialsAuthenticator(
                self,
                auth_url=base_url,
                token_path="/oauth/token",  # noqa: S106  (a path, not a secret)
                client_id=str(self.config["sailpoint_client_id"]).strip(),
                client_secret=str(self.config["sailpoint_client_secret"]).strip(),
                error_detail=error_detail,
            )
            self._client = self.new_client(
                base_url=base_url,
                auth=auth,
                error_detail=auth.redacting(error_detail),
                headers={"Accept": "application/json"},
            )
        return self._client

    @override
    def job_refs(self) -> list[JobRef]:
        return [
            JobRef(SOURCE, job_id) for job_id in self.configured_ids("sailpoint_import_job_ids")
        ]

    @override
    def fetch_status(self, ref: JobRef) -> JobStatus:
        answer = self.client.request(
            self.status_endpoint, path_params={"job_id": ref.job_id}, pass_statuses=(404,)
        )
        if answer.status == 404:  # noqa: PLR2004
            return JobStatus.not_found(ref)
        return self.status_from_body(ref, answer.payload)

    def status_from_body(self, ref: JobRef, body: dict[str, t.Any]) -> JobStatus:
        """Map a status answer to the tap's job status.

        Args:
            ref: Which job.
            body: ``{jobId, status, type, created, modified, expiration, completed?, message?}``.

        Returns:
            The job's status; results are ready for a ``COMPLETE`` job only.
        """
        status = str(body.get("status") or "UNKNOWN")
        completed = body.get("completed") or None
        # Unknown statuses are tolerated: only a job that reports completion is final.
        is_finished = status in FINAL_STATUSES or bool(completed and status not in RUNNING_STATUSES)
        extra: dict[str, t.Any] = {
            "type": as_text(body.get("type")),
            "modified": body.get("modified"),
            "expiration": body.get("expiration"),
            "result_expired": None,
        }
        if status == COMPLETE:
            # A first guess from `expiration`; the download itself has the last word (see
            # record_download), as the vendor may keep a result longer or clocks may differ.
            expires = parse_timestamp(body.get("expiration"))
            extra["result_expired"] = expires is not None and expires <= dt.datetime.now(
                dt.timezone.utc
            )
        return JobStatus(
            ref=ref,
            status=status,
            is_finished=is_finished,
            # Only a COMPLETE job has a result; FAILED and CANCELLED carry their message.
            results_ready=status == COMPLETE,
            created=body.get("created"),
            finished=completed,
            message=as_text(body.get("message")),
            vendor_status=body,
            extra=extra,
        )

    def record_download(self, status: JobStatus, *, gone: bool) -> None:
        """Record what the download of a completed job's result found.

        Args:
            status: The job's status, shared with ``job_details`` through the tracker.
            gone: The download answered 404: the result is no longer kept.
        """
        status.extra["result_expired"] = gone
        if gone:
            status.results_ready = False
