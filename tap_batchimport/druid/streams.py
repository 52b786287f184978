"""``bulk_results``: the per-row results of every finished DruID bulk, page by page."""

from __future__ import annotations

import sys
import typing as t

from tap_batchimport.druid import schemas
from tap_batchimport.druid.pagination import LastIdPaginator
from tap_batchimport.druid.vendor import RESULTS, SOURCE, DruidVendor
from tap_batchimport.streams import JobResultsStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_batchimport.jobs import JobStatus

#: 428 Precondition Required: the bulk has not finished yet (never data, never fatal).
NOT_READY = 428
#: 404 on results of a bulk whose status DruID just gave: its results have passed
#: their retention period and will not come back.
GONE = 404


class BulkResultsStream(JobResultsStream):
    """One row per result of a bulk: ``GET /activityid/v1/user/bulk/{bulk_id}/results``."""

    name = "bulk_results"
    vendor_key = "druid"
    sources = frozenset({SOURCE})
    primary_keys = ("bulk_id", "id")
    schema = schemas.BULK_RESULTS

    def page_params(self) -> dict[str, t.Any]:
        """Query parameters besides ``last``: page size and the failed-only filter."""
        return {
            "limit": int(self.config.get("druid_page_size") or 100),
            # Lower-case, as DruID's booleans are (requests would send "True").
            "failedOnly": "true" if self.config.get("druid_failed_only") else "false",
        }

    @override
    def extract_job(self, status: JobStatus) -> Iterator[dict[str, t.Any]]:
        bulk_id = status.ref.job_id
        vendor = t.cast("DruidVendor", self.vendor)
        cursor = self.resume_point(
            bulk_id, valid=lambda c: isinstance(c.get("last"), str) and bool(c["last"])
        )
        paginator = LastIdPaginator(cursor.get("last") or None)
        params = self.page_params()
        while not paginator.finished:
            answer = vendor.client.request(
                RESULTS,
                path_params={"bulk_id": bulk_id},
                params={**params, "last": paginator.current_value},
                pass_statuses={NOT_READY, GONE},
            )
            if answer.status == NOT_READY:
                if self.tracker.deadline.sleep_before_next_poll():
                    continue
                self.logger.info(
                    "DruID bulk %s: results not ready yet (428); will be extracted by a later run",
                    bulk_id,
                )
                return
            if answer.status == GONE:
                self.logger.warning(
                    "DruID bulk %s: results not found (404), probably past their retention "
                    "period; marking the bulk as extracted",
                    bulk_id,
                )
                self.page_written(bulk_id, cursor=None, size=answer.size)
                return
            self.start_page()
            page: dict[str, t.Any] = answer.payload
            content = page["content"] if isinstance(page["content"], dict) else {}
            items = content.get("results")
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    # The tap's key first, then the row's fields as DruID names them.
                    record = {"bulk_id": bulk_id, **item}
                    record["bulk_id"] = bulk_id  # an item's own bulk_id must not win
                    yield record
            paginator.advance(page)
            if paginator.looped:
                self.logger.warning(
                    "DruID bulk %s: the server repeated a lastId cursor; stopping its list",
                    bulk_id,
                )
            more = not paginator.finished
            resume = {"last": paginator.current_value} if more else None
            self.page_written(bulk_id, cursor=resume, size=answer.size)
