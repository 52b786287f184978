"""Reading a DruID bulk's results, page by page: ``content.lastId`` goes back as ``last``.

A page that cannot be trusted to continue the list (``content`` or ``content.results``
of the wrong kind, a ``lastId`` that is not a string or repeats one already sent) fails
the bulk before its rows are written: a short read never settles a bulk, and the next
run reads it again from the last cursor that worked.
"""

from __future__ import annotations

import typing as t

from tap_batchimport.conform import as_json
from tap_batchimport.druid.vendor import RESULTS
from tap_batchimport.errors import VendorAPIError
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
        self.endpoint = RESULTS
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

        Raises:
            VendorAPIError: A page that cannot be trusted to continue the list.
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
            if problem := _untrustworthy(content, seen):
                raise VendorAPIError(self.client.vendor, str(RESULTS), answer.status, problem)
            # A row that is not an object is kept (as undeclared data): it has no id, so
            # the bulk fails as malformed instead of losing it without a word.
            records = [
                _row(bulk_id, item if isinstance(item, dict) else {"value": item})
                for item in content.get("results") or ()
            ]
            following = content.get("lastId")
            if not following:
                yield Page(records, None, answer.size)
                return
            seen.add(following)
            last = following
            yield Page(records, {"last": last}, answer.size)


def _untrustworthy(content: t.Any, sent: set[str]) -> str | None:  # noqa: ANN401
    # What makes a page unable to continue its list, if anything (None: it can).
    if not isinstance(content, dict):
        return f"content is {as_json(content)}, not an object"
    items = content.get("results")
    if items is not None and not isinstance(items, list):
        return f"content.results is {as_json(items)}, not a list"
    following = content.get("lastId")
    if following is not None and not isinstance(following, str):
        return (
            f"content.lastId is {as_json(following)}, not a string: the next page's cursor "
            "cannot be trusted"
        )
    if following and following in sent:
        # Sent again, it would make the server repeat itself for ever.
        return f"content.lastId {as_json(following)} does not advance (it was sent already)"
    return None


def _row(bulk_id: str, item: dict[str, t.Any]) -> dict[str, t.Any]:
    # The row as DruID sent it (a fresh dict of this page's), with the tap's key. Set in
    # place, not copied: a copy per row was a tenth of a million-row bulk's time.
    item["bulk_id"] = bulk_id  # an item's own bulk_id must not win
    return item
