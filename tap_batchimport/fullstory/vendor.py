"""Fullstory jobs: configured users and events import jobs, and their status."""

from __future__ import annotations

import sys
import threading
import typing as t

from singer_sdk.authenticators import APIKeyAuthenticator

from tap_batchimport.fullstory.counts import STATUS_COUNTS, count_check, read_count
from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.http.error_bodies import json_error_detail
from tap_batchimport.jobs import JobRef, JobStatus
from tap_batchimport.vendor import Vendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from tap_batchimport.http.client import VendorClient

USERS = "fullstory_users"
EVENTS = "fullstory_events"

#: ``job_details.source`` -> the path segment of its endpoints.
KIND = {USERS: "users", EVENTS: "events"}

#: Statuses after which a job never changes (FAILED includes partial failure).
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED"})

STATUS = {
    src: Endpoint(f"/v2/{kind}/batch/{{job_id}}", envelope="job") for src, kind in KIND.items()
}
NOT_FOUND = 404


class FullstoryVendor(Vendor):
    """Fullstory Server API v2 batch imports."""

    display_name = "Fullstory"
    credential_keys = ("fullstory_api_key",)
    header_keys = ("fullstory_api_key",)
    url_keys = ("fullstory_api_url",)
    job_id_keys: t.ClassVar = {
        "fullstory_user_import_job_ids": USERS,
        "fullstory_event_import_job_ids": EVENTS,
    }

    def __init__(self, config: Mapping[str, t.Any], logger: logging.Logger) -> None:
        """Bind the vendor to the tap config.

        Args:
            config: Validated tap config.
            logger: The tap's logger.
        """
        super().__init__(config, logger)
        # Lists found longer than their total_records this run (readers run in workers).
        self._mismatches: dict[JobRef, dict[str, dict[str, int]]] = {}
        self._mismatches_lock = threading.Lock()

    def note_row_count_mismatch(self, ref: JobRef, stream: str, total: int, rows: int) -> None:
        """Remember a results list longer than its ``total_records``, for ``job_details``.

        Args:
            ref: The job.
            stream: The stream of that list.
            total: ``total_records``.
            rows: Rows read.
        """
        with self._mismatches_lock:
            self._mismatches.setdefault(ref, {})[stream] = {
                "total_records": total,
                "rows_read": rows,
            }

    @override
    def job_record(self, status: JobStatus, entry: Mapping[str, t.Any]) -> dict[str, t.Any]:
        record = status.as_record()
        with self._mismatches_lock:
            found = self._mismatches.get(status.ref)
        record["row_count_mismatch"] = dict(found) if found else None
        return record

    @override
    def make_client(self) -> VendorClient:
        key = str(self.config["fullstory_api_key"]).strip()
        return self.new_client(
            base_url=self.config.get("fullstory_api_url") or "https://api.fullstory.com",
            # Fullstory takes the key as is, not base64-encoded.
            auth=APIKeyAuthenticator(key="Authorization", value=f"Basic {key}"),
            error_detail=lambda r: json_error_detail(r, ("message", "code")),
            headers={"Accept": "application/json"},
        )

    @override
    def status_endpoint_name(self, ref: JobRef) -> str:
        return str(STATUS[ref.source])

    @override
    def fetch_status(self, ref: JobRef) -> JobStatus:
        answer = self.client.request(
            STATUS[ref.source],
            path_params={"job_id": ref.job_id},
            pass_statuses=(NOT_FOUND,),
            # A negative or non-numeric count is a malformed answer, never data.
            check=count_check(ref.job_id, STATUS_COUNTS),
        )
        if answer.status == NOT_FOUND:
            return JobStatus.of_unknown_job(ref)
        body: dict[str, t.Any] = answer.payload if isinstance(answer.payload, dict) else {}
        job: dict[str, t.Any] = body["job"] if isinstance(body.get("job"), dict) else {}
        status = str(job.get("status") or "UNKNOWN")
        finished_at = job.get("finished") or None
        # Unknown statuses are tolerated: a job that reports a finish time is final.
        is_finished = status in FINAL_STATUSES or bool(finished_at and status != "PROCESSING")
        return JobStatus(
            ref=ref,
            status=status,
            is_finished=is_finished,
            results_ready=is_finished,
            created=job.get("created"),
            finished=finished_at,
            imports=read_count(body.get("imports")),
            # The API leaves `errors` out unless the job failed: a COMPLETED job has none.
            errors=read_count(body.get("errors", 0 if status == "COMPLETED" else None)),
            vendor_status=body,
        )
