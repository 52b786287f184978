"""Reading a DruID bulk's results, page by page: ``content.lastId`` goes back as ``last``."""

from __future__ import annotations

import typing as t

from tap_batchimport.druid.vendor import RESULTS
from tap_batchimport.pages import NotReady, Page

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator

    from tap_batchimport.http.client import VendorClient
    from tap_batchimport.jobs import JobStatus
    from tap_batchimport.pages import Cursor, Outcome

#: 428 Precondition Required: the bulk has not finished yet (never data, never fatal).
#: A 404 on the results of a bulk whose status DruID just gave is not passed through: it
#: may be transient, so it fails the job, which the next run tries again (a bulk whose
#: results passed their retention period answers 404 on its status too: NOT_FOUND).
NOT_READY = 428


class BulkResultsReader:
    """Reads ``GET /activityid/v1/user/bulk/{bulk_id}/results``."""

    def __init__(
        self, client: VendorClient, *, page_size: int, failed_only: bool, logger: logging.Logger
    ) -> None:
        """Bind the reader to the DruID client and the page settings.

        Args:
            client: The DruID client.
            page_size: ``limit``.
            failed_only: ``failedOnly``.
            logger: Where to say what happens.
        """
        self.client = client
        # Lower-case, as DruID's booleans are (requests would send "True").
        self.params = {"limit": page_size, "failedOnly": "true" if failed_only else "false"}
        self.logger = logger

    @staticmethod
    def valid_cursor(cursor: Cursor) -> bool:
        """A cursor is ``{"last": non-empty str}``."""
        return isinstance(cursor.get("last"), str) and bool(cursor["last"])

    def read(self, status: JobStatus, cursor: Cursor | None) -> Iterator[Outcome]:
        """Yield the bulk's pages from ``cursor`` on (428 as :class:`NotReady`).

        Args:
            status: The bulk's status (finished).
            cursor: Where to resume, or None for the first page.

        Yields:
            Outcomes, one per answer.
        """
        bulk_id = status.ref.job_id
        last: str | None = cursor["last"] if cursor else None
        seen = {last} if last else set()
        while True:
            answer = self.client.request(
                RESULTS,
                path_params={"bulk_id": bulk_id},
                params={**self.params, "last": last},
                pass_statuses={NOT_READY},
            )
            if answer.status == NOT_READY:
                yield NotReady("results not ready yet (HTTP 428)")
                continue
            content = answer.payload["content"]
            content = content if isinstance(content, dict) else {}
            items = content.get("results")
            records = [
                _row(bulk_id, item)
                for item in (items if isinstance(items, list) else ())
                if isinstance(item, dict)
            ]
            following = content.get("lastId")
            following = None if following in (None, "") else str(following)
            if following in seen:
                # A lastId already sent would make the server repeat itself for ever.
                self.logger.warning(
                    "DruID bulk %s: the server repeated a lastId cursor; stopping its list",
                    bulk_id,
                )
                following = None
            if following is None:
                yield Page(records, None, answer.size)
                return
            seen.add(following)
            last = following
            yield Page(records, {"last": last}, answer.size)


def _row(bulk_id: str, item: dict[str, t.Any]) -> dict[str, t.Any]:
    # The tap's key first, then the row's fields as DruID names them.
    record = {"bulk_id": bulk_id, **item}
    record["bulk_id"] = bulk_id  # an item's own bulk_id must not win
    return record
