"""Reading one Fullstory results list (``/imports`` or ``/errors``) of a job, page by page.

Paging: ``next_page_token`` goes back as ``page_token``; a missing or empty token, or the
token just sent, ends the list. ``row_number`` counts rows from the start of the list, so
a resume whose token has expired re-reads the job and skips the rows already written.

A page that cannot be trusted to continue the list (``results`` not a list, a token that
is not a string or repeats one sent before the last) fails the job before its rows are
written, as does a list that ends before its count: a short read never settles a job, and
the next run reads it again from the last token that worked.
"""

from __future__ import annotations

import typing as t

from tap_batchimport.conform import as_json
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.fullstory.counts import count_check, read_count
from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.pages import NotReady, Page

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator, Mapping

    from tap_batchimport.http.client import VendorClient
    from tap_batchimport.jobs import JobStatus
    from tap_batchimport.pages import Cursor, Outcome

#: 202: the job is still processing. 400/404/410 on a resumed page token: the token
#: has expired, so the job is re-read from its start, skipping rows already emitted.
NOT_READY = 202
STALE_TOKEN = frozenset({400, 404, 410})


class FullstoryResultsReader:
    """Reads ``GET /v2/{users|events}/batch/{job_id}/{imports|errors}``."""

    def __init__(  # noqa: PLR0913 - all but the client are keyword-only
        self,
        client: VendorClient,
        *,
        kind: str,
        result_list: str,
        params: Mapping[str, str],
        logger: logging.Logger,
        on_longer_list: Callable[[str, int, int], None] | None = None,
    ) -> None:
        """Bind the reader to one list.

        Args:
            client: The Fullstory client.
            kind: ``users`` or ``events``.
            result_list: ``imports`` or ``errors``.
            params: Query parameters besides ``page_token``.
            logger: Where to say what happens.
            on_longer_list: Told ``(job_id, total_records, rows_read)`` when a list holds
                more rows than its ``total_records`` (a warning, not an error).
        """
        self.client = client
        self.kind = kind
        self.on_longer_list = on_longer_list
        self.result_list = result_list
        self.endpoint = Endpoint(f"/v2/{kind}/batch/{{job_id}}/{result_list}", envelope=None)
        self.params = dict(params)
        self.logger = logger

    @staticmethod
    def valid_cursor(cursor: Cursor) -> bool:
        """A cursor is ``{"page_token": non-empty str, "row": int >= 0}``."""
        row, token = cursor.get("row"), cursor.get("page_token")
        return isinstance(token, str) and bool(token) and type(row) is int and row >= 0

    def read(self, status: JobStatus, cursor: Cursor | None) -> Iterator[Outcome]:
        """Yield the job's pages from ``cursor`` on (202 answers as :class:`NotReady`).

        Args:
            status: The job's status (finished).
            cursor: Where to resume, or None for the first page.

        Yields:
            Outcomes, one per answer.

        Raises:
            VendorAPIError: The list ended before its ``total_records``.
        """
        job_id = status.ref.job_id
        total: int | None = None
        counted = status.imports if self.result_list == "imports" else status.errors
        expected = counted or 0
        token: str | None = cursor["page_token"] if cursor else None
        row = int(cursor["row"]) if cursor else 0
        resumed = token  # only this token may have expired
        seen = {token} if token else set()
        skip = 0
        while True:
            answer = self.client.request(
                self.endpoint,
                path_params={"job_id": job_id},
                params={"page_token": token, **self.params},
                pass_statuses={NOT_READY} | (STALE_TOKEN if token and token == resumed else set()),
                # Fullstory omits empty lists (`{}`), so an answer without `results` is
                # only malformed (and retried) when rows are due: mid-list, or per status.
                envelope="results" if token or expected > row else None,
                # total_records is a string of digits; anything else is malformed.
                check=count_check(job_id, ("total_records",)),
            )
            if answer.status in STALE_TOKEN:
                self.logger.warning(
                    "Fullstory job %s: resume token no longer accepted (HTTP %d); re-reading "
                    "the job and skipping the %d rows already emitted",
                    job_id,
                    answer.status,
                    row,
                )
                skip, row, token, resumed, seen = row, 0, None, None, set()
                continue
            if answer.status == NOT_READY:
                yield NotReady(f"{self.result_list} not ready yet (HTTP 202)")
                continue
            page = answer.payload if isinstance(answer.payload, dict) else {}
            if problem := _untrustworthy(page, token, seen):
                raise VendorAPIError(self.client.vendor, str(self.endpoint), answer.status, problem)
            total = read_count(page.get("total_records"))
            records = []
            for item in page.get("results") or ():
                if skip:
                    skip -= 1
                else:
                    # A row that is not an object is kept, as undeclared data.
                    record = item if isinstance(item, dict) else {"value": item}
                    record["job_id"] = job_id
                    record["row_number"] = row
                    records.append(record)
                row += 1
            following = page.get("next_page_token")
            if not following or following == token:
                if total is not None:
                    self._compare(job_id, row, total, "total_records")
                elif counted is not None and row < counted:  # no total_records: the status's
                    self._compare(job_id, row, counted, f"the status's {self.result_list}")
                yield Page(records, None, answer.size)
                return
            seen.add(following)
            token = following
            yield Page(records, {"page_token": token, "row": row}, answer.size)

    def _compare(self, job_id: str, rows: int, total: int | None, count: str) -> None:
        # The vendor's count (total_records, else the status's imports / errors) is its
        # one check that every row was read. Fewer rows fail the job before its last page
        # settles it, so a later run reads it again.
        if total is None or rows == total:
            return
        if rows < total:
            endpoint = f"GET /v2/{self.kind}/batch/{job_id}/{self.result_list}"
            detail = f"list ended after {rows} of {total} rows ({count} {total})"
            raise VendorAPIError(self.client.vendor, endpoint, 200, detail)
        if self.on_longer_list is not None:
            self.on_longer_list(job_id, total, rows)


def _untrustworthy(page: dict[str, t.Any], sent: str | None, seen: set[str]) -> str | None:
    # What makes a page unable to continue its list, if anything (None: it can).
    items = page.get("results")
    if items is not None and not isinstance(items, list):
        return f"results is {as_json(items)}, not a list"
    following = page.get("next_page_token")
    if following is not None and not isinstance(following, str):
        return (
            f"next_page_token is {as_json(following)}, not a string: the next page cannot "
            "be asked for"
        )
    if following and following != sent and following in seen:
        # The token just sent ends the list (as documented); an older one would loop.
        return f"next_page_token {as_json(following)} repeats the token of an earlier page"
    return None
