"""DruID bulks: configured or discovered bulk jobs, and their status."""

from __future__ import annotations

import sys
import typing as t

from tap_batchimport.druid.errors import error_detail
from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.jobs import JobRef, JobStatus
from tap_batchimport.settings import job_id_problem
from tap_batchimport.timestamps import as_rfc3339_utc
from tap_batchimport.vendor import Vendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from tap_batchimport.http.client import VendorClient

#: ``job_details.source`` of every DruID bulk.
SOURCE = "druid"

#: Statuses after which a bulk never changes (DruID sends them lower-case).
FINAL_STATUSES = frozenset({"completed", "failed"})

BULK = "/activityid/v1/user/bulk"
LIST = Endpoint(BULK, envelope="content")
STATUS = Endpoint(BULK + "/{bulk_id}", envelope="content")
RESULTS = Endpoint(BULK + "/{bulk_id}/results", envelope="content")

#: DruID refuses requests without these, even on GET.
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
NOT_FOUND = 404


class DruidVendor(Vendor):
    """DruID bulk user API (``/activityid/v1/user/bulk``).

    With ``druid_bulk_ids`` empty, the list endpoint names the bulks and gives their
    status in one request, so no bulk costs a status request of its own.
    """

    display_name = "DruID"
    credential_keys = ("druid_api_url", "druid_auth_url", "druid_client_id", "druid_client_secret")
    url_keys = ("druid_api_url", "druid_auth_url")
    job_id_keys: t.ClassVar = {"druid_bulk_ids": SOURCE}

    _listed_once = False

    @override
    def make_client(self) -> VendorClient:
        auth = self.client_credentials(
            auth_url=str(self.config["druid_auth_url"]),
            token_path="/oauth2/token",  # noqa: S106  (a path, not a secret)
            prefix="druid",
            error_detail=error_detail,
        )
        return self.new_client(
            base_url=str(self.config["druid_api_url"]),
            auth=auth,
            error_detail=auth.redacting(error_detail),
            headers=JSON_HEADERS,
        )

    @property
    def discovers(self) -> bool:
        """Whether bulks come from the list endpoint (``druid_bulk_ids`` is empty)."""
        return not self.config.get("druid_bulk_ids")

    @override
    def listed_statuses(self) -> dict[JobRef, JobStatus]:
        if not self.discovers:
            return {}
        content = self.client.request(LIST).payload["content"]
        if isinstance(content, dict):  # tolerate a paged shape: {results: [...]}
            content = content.get("results") or content.get("content") or []
        statuses: dict[JobRef, JobStatus] = {}
        for entry in content if isinstance(content, list) else ():
            if not isinstance(entry, dict):
                continue
            bulk_id = entry.get("bulkId")
            bulk_id = bulk_id if bulk_id is None or isinstance(bulk_id, str) else str(bulk_id)
            # Listed ids reach URLs like configured ones, so they pass the same checks.
            if problem := job_id_problem(bulk_id):
                if not self._listed_once:
                    self.logger.warning(
                        "DruID: the list names a bulk whose id %s; skipped", problem
                    )
                continue
            ref = JobRef(SOURCE, t.cast("str", bulk_id))
            statuses.setdefault(ref, self.status_of(ref, entry, {"content": entry}))
        if not self._listed_once:  # polled again while waiting: said once per run
            self._listed_once = True
            self.logger.info(
                "DruID: druid_bulk_ids is empty; the list names %d bulk(s)", len(statuses)
            )
        return statuses

    @override
    def status_endpoint_name(self, ref: JobRef) -> str:
        # Discovered bulks get their status from the list.
        return str(LIST if self.discovers else STATUS)

    @override
    def fetch_status(self, ref: JobRef) -> JobStatus:
        answer = self.client.request(
            STATUS, path_params={"bulk_id": ref.job_id}, pass_statuses=(NOT_FOUND,)
        )
        if answer.status == NOT_FOUND:
            return JobStatus.of_unknown_job(ref)
        body: dict[str, t.Any] = answer.payload
        content = body["content"] if isinstance(body["content"], dict) else {}
        return self.status_of(ref, content, body)

    @staticmethod
    def status_of(ref: JobRef, content: dict[str, t.Any], body: dict[str, t.Any]) -> JobStatus:
        """Map a bulk's status (a status answer's ``content``, or a list entry).

        Args:
            ref: Which bulk.
            content: ``{bulkId, status, createdOn, updatedOn}`` (bulk-get-status).
            body: The answer as received (``vendor_status``).

        Returns:
            Its status.
        """
        status = str(content.get("status") or "unknown")
        # Unknown statuses are tolerated and treated as not finished: polled, never read.
        is_finished = status.lower() in FINAL_STATUSES
        return JobStatus(
            ref=ref,
            status=status,
            is_finished=is_finished,
            results_ready=is_finished,
            # Documented as "string" with no format: epoch seconds, milliseconds and ISO
            # 8601 are all read (an unreadable time is null, and verbatim in vendor_status).
            created=as_rfc3339_utc(content.get("createdOn")),
            # A bulk is last updated when it finishes.
            finished=as_rfc3339_utc(content.get("updatedOn")) if is_finished else None,
            # DruID documents no row counts for a bulk: whatever it may add stays in
            # vendor_status, uninterpreted.
            imports=None,
            errors=None,
            vendor_status=body,
        )
