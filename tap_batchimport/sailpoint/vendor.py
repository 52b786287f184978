"""SailPoint jobs: configured SP-Config import jobs, and their status."""

from __future__ import annotations

import sys
import typing as t

from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.http.rate import RateLimit
from tap_batchimport.jobs import JobRef, JobStatus
from tap_batchimport.sailpoint.errors import error_detail
from tap_batchimport.sailpoint.settings import DEFAULT_API_VERSION, V1
from tap_batchimport.sailpoint.values import as_text
from tap_batchimport.timestamps import parse_timestamp, utc_now
from tap_batchimport.vendor import Vendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_batchimport.http.client import VendorClient

SOURCE = "sailpoint"

#: The one status whose result can be downloaded.
COMPLETE = "COMPLETE"
#: Statuses after which a job never changes.
FINAL_STATUSES = frozenset({COMPLETE, "CANCELLED", "FAILED"})
#: Statuses of a job still queued or running, whatever else the body says.
RUNNING_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS"})
NOT_FOUND = 404


class SailpointVendor(Vendor):
    """SailPoint Identity Security Cloud SP-Config imports."""

    display_name = "SailPoint"
    credential_keys = ("sailpoint_api_url", "sailpoint_client_id", "sailpoint_client_secret")
    url_keys = ("sailpoint_api_url",)
    job_id_keys: t.ClassVar = {"sailpoint_import_job_ids": SOURCE}
    #: Documented: 100 requests per 10 s per client id, across the whole API gateway.
    rate_limit = RateLimit(requests=100, per_seconds=10.0)

    @property
    def api_version(self) -> str:
        """``sailpoint_api_version``: ``v1`` or a path prefix (``v2025``, ``beta``, ...)."""
        return str(self.config.get("sailpoint_api_version") or DEFAULT_API_VERSION).strip()

    @property
    def import_path(self) -> str:
        """Path of one import job, ``{job_id}`` a placeholder.

        ``v1`` is SailPoint's per-API layout (``/sp-config/v1/import/{id}``), which its
        current SDKs call and which outlives the versioned prefixes
        (``/v2025/sp-config/import/{id}``); both answer the same bodies.
        """
        if self.api_version == V1:
            return "/sp-config/v1/import/{job_id}"
        return f"/{self.api_version}/sp-config/import/{{job_id}}"

    @property
    def status_endpoint(self) -> Endpoint:
        """``GET {import_path}``: the job's status."""
        return Endpoint(self.import_path, envelope="status")

    @property
    def download_endpoint(self) -> Endpoint:
        """``GET {import_path}/download``: the job's result document."""
        return Endpoint(self.import_path + "/download", envelope="results")

    @property
    @override
    def api_layout(self) -> str:
        name = "sp-config v1 layout" if self.api_version == V1 else "versioned-prefix layout"
        return f"{name}, GET {self.import_path}"

    @override
    def make_client(self) -> VendorClient:
        base_url = str(self.config["sailpoint_api_url"])
        auth = self.client_credentials(
            auth_url=base_url,
            token_path="/oauth/token",  # noqa: S106  (a path, not a secret)
            prefix="sailpoint",
            error_detail=error_detail,
        )
        return self.new_client(
            base_url=base_url,
            auth=auth,
            error_detail=auth.redacting(error_detail),
            headers={"Accept": "application/json"},
        )

    @override
    def status_endpoint_name(self, ref: JobRef) -> str:
        return str(self.status_endpoint)

    @override
    def fetch_status(self, ref: JobRef) -> JobStatus:
        answer = self.client.request(
            self.status_endpoint, path_params={"job_id": ref.job_id}, pass_statuses=(NOT_FOUND,)
        )
        if answer.status == NOT_FOUND:
            return JobStatus.of_unknown_job(ref)
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
            # job_record), as the vendor may keep a result longer or clocks may differ.
            expires = parse_timestamp(body.get("expiration"))
            extra["result_expired"] = expires is not None and expires <= utc_now()
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

    @override
    def job_record(self, status: JobStatus, entry: Mapping[str, t.Any]) -> dict[str, t.Any]:
        record = status.as_record()
        if status.status == COMPLETE:
            # What the download found beats the guess from `expiration`.
            if entry.get("gone"):
                record["result_expired"] = True
            elif entry.get("done"):
                record["result_expired"] = False
        return record
