"""Reading one Fullstory results list (``/imports`` or ``/errors``) of a job, page by page.

Paging: ``next_page_token`` goes back as ``page_token``; a missing, empty or repeated
token ends the list. ``row_number`` counts rows from the start of the list, so a resume
whose token has expired re-reads the job and skips the rows already written.
"""

from __future__ import annotations

import typing as t

from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.pages import NotReady, Page

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator, Mapping

    from tap_batchimport.http.client import VendorClient
    from tap_batchimport.jobs import JobStatus
    from tap_batchimport.pages import Cursor, Outcome

#: 202: the job is still processing. 400/404/410 on a resumed page token: the token
#: has expired, so the job is re-read from its start, skipping rows already emitted.
NOT_READY = 202
STALE_TOKEN = frozenset({400, 404, 410})


class FullstoryResultsReader:
    """Reads ``GET /v2/{users|events}/batch/{job_id}/{imports|errors}``."""

    def __init__(
        self,
        client: VendorClient,
        *,
        kind: str,
        result_list: str,
        params: Mapping[str, str],
        logger: logging.Logger,
    ) -> None:
        """Bind the reader to one list.

        Args:
            client: The Fullstory client.
            kind: ``users`` or ``events``.
            result_list: ``imports`` or ``errors``.
            params: Query parameters besides ``page_token``.
            logger: Where to say what happens.
        """
        self.client = client
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
        """
        job_id = status.ref.job_id
        expected = (status.imports if self.result_list == "imports" else status.errors) or 0
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
            items = page.get("results")
            records = []
            for item in items if isinstance(items, list) else ():
                if skip:
                    skip -= 1
                else:
                    record = item if isinstance(item, dict) else {"value": item}
                    record["job_id"] = job_id
                    record["row_number"] = row
                    records.append(record)
                row += 1
            following = page.get("next_page_token")
            if not isinstance(following, str) or not following or following in seen:
                yield Page(records, None, answer.size)
                return
            seen.add(following)
            token = following
            yield Page(records, {"page_token": token, "row": row}, answer.size)
