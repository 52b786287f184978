"""DruID bulks: configured or discovered bulk jobs, and their status."""

from __future__ import annotations

import datetime as dt
import sys
import typing as t

from tap_batchimport.client import Endpoint, VendorClient
from tap_batchimport.druid.errors import error_detail
from tap_batchimport.jobs import JobRef, JobStatus
from tap_batchimport.oauth import ClientCredentialsAuthenticator
from tap_batchimport.vendor import Vendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

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

#: Count fields a status may carry (unconfirmed by DruID's docs, so several spellings).
_ERROR_COUNT_KEYS = ("errors", "failed", "failedCount", "errorCount")
_IMPORT_COUNT_KEYS = ("imports", "succeeded", "successCount", "imported")
_TOTAL_COUNT_KEYS = ("total", "totalCount", "count")


def _first_int(body: dict[str, t.Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = body.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


def as_timestamp(value: t.Any) -> str | None:  # noqa: ANN401
    """A DruID time as an ISO 8601 string: strings pass through, epoch milliseconds convert.

    Args:
        value: ``createdOn`` / ``updatedOn`` as received.

    Returns:
        The time, or None when absent or unreadable.
    """
    if isinstance(value, str):
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    return None


class DruidVendor(Vendor):
    """DruID bulk user API (``/activityid/v1/user/bulk``)."""

    display_name = "DruID"
    credential_keys = ("druid_api_url", "druid_auth_url", "druid_client_id", "druid_client_secret")
    url_keys = ("druid_api_url", "druid_auth_url")
    job_id_keys = ("druid_bulk_ids",)
    discovers_jobs = True

    @property
    def client(self) -> VendorClient:
        """The HTTP client of the graph host (created on first use)."""
        if getattr(self, "_client", None) is None:
            auth = ClientCredentialsAuthenticator(
                self,
                auth_url=str(self.config["druid_auth_url"]).strip(),
                token_path="/oauth2/token",  # noqa: S106  (a path, not a secret)
                client_id=str(self.config["druid_client_id"]).strip(),
                client_secret=str(self.config["druid_client_secret"]).strip(),
                error_detail=error_detail,
            )
            self._client = self.new_client(
                base_url=str(self.config["druid_api_url"]),
                auth=auth,
                error_detail=auth.redacting(error_detail),
                headers=JSON_HEADERS,
            )
        return self._client

    @override
    def job_refs(self) -> list[JobRef]:
        ids = self.configured_ids("druid_bulk_ids")
        if not ids:
            ids = self.discover_bulk_ids()
        return [JobRef(SOURCE, bulk_id) for bulk_id in ids]

    def discover_bulk_ids(self) -> list[str]:
        """Every bulk the list endpoint knows (used when ``druid_bulk_ids`` is empty).

        Returns:
            Bulk ids in the order DruID lists them, each once.
        """
        content = self.client.request(LIST).payload["content"]
        if isinstance(content, dict):  # tolerate a paged shape: {results: [...]}
            content = content.get("results") or content.get("content") or []
        entries = content if isinstance(content, list) else []
        ids = [
            str(entry["bulkId"])
            for entry in entries
            if isinstance(entry, dict) and entry.get("bulkId") not in (None, "")
        ]
        ids = list(dict.fromkeys(ids))
        self.logger.info("DruID: druid_bulk_ids is empty; discovered %d bulk(s)", len(ids))
        return ids

    @override
    def fetch_status(self, ref: JobRef) -> JobStatus:
        answer = self.client.request(
            STATUS, path_params={"bulk_id": ref.job_id}, pass_statuses=(404,)
        )
        if answer.status == 404:  # noqa: PLR2004
            return JobStatus.not_found(ref)
        body: dict[str, t.Any] = answer.payload
        content = body["content"] if isinstance(body["content"], dict) else {}
        status = str(content.get("status") or "unknown")
        # Unknown statuses are tolerated and treated as not finished: polled, never read.
        is_finished = status.lower() in FINAL_STATUSES
        errors = _first_int(content, _ERROR_COUNT_KEYS)
        imports = _first_int(content, _IMPORT_COUNT_KEYS)
        total = _first_int(content, _TOTAL_COUNT_KEYS)
        if imports is None and total is not None and errors is not None:
            imports = max(0, total - errors)
        return JobStatus(
            ref=ref,
            status=status,
            is_finished=is_finished,
            results_ready=is_finished,
            created=as_timestamp(content.get("createdOn")),
            # A bulk is last updated when it finishes.
            finished=as_timestamp(content.get("updatedOn")) if is_finished else None,
            imports=imports,
            errors=errors,
            vendor_status=body,
        )
