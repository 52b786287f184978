"""Fullstory results streams: imported and failed users and events, job by job."""

from __future__ import annotations

import sys
import typing as t

from tap_batchimport.client import Endpoint
from tap_batchimport.fullstory import schemas
from tap_batchimport.fullstory.pagination import PageTokenPaginator
from tap_batchimport.fullstory.vendor import EVENTS, KIND, USERS, FullstoryVendor
from tap_batchimport.streams import JobResultsStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_batchimport.jobs import JobStatus

#: 202: the job is still processing. 400/404/410 on a resumed page token: the token
#: has expired, so the job is re-read from its start, skipping rows already emitted.
NOT_READY = 202
STALE_TOKEN = frozenset({400, 404, 410})


class FullstoryResultsStream(JobResultsStream):
    """One Fullstory results list (``/imports`` or ``/errors``) of every finished job."""

    vendor_key = "fullstory"
    primary_keys = ("job_id", "row_number")
    #: ``imports`` or ``errors``.
    result_list: t.ClassVar[str]

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint of this stream's list."""
        (source,) = self.sources
        return Endpoint(f"/v2/{KIND[source]}/batch/{{job_id}}/{self.result_list}", envelope=None)

    def extra_params(self) -> dict[str, t.Any]:
        """Query parameters besides ``page_token``."""
        return {}

    @override
    def extract_job(self, status: JobStatus) -> Iterator[dict[str, t.Any]]:
        job_id = status.ref.job_id
        vendor = t.cast("FullstoryVendor", self.vendor)
        resume_at = self.resume_point(
            job_id,
            valid=lambda c: (
                isinstance(c.get("page_token"), str) and type(c.get("row")) is int and c["row"] >= 0
            ),
        )
        row = int(resume_at.get("row", 0))
        skip = 0
        resumed = resume_at.get("page_token")  # only this token may have expired
        paginator = PageTokenPaginator(resumed)
        endpoint = self.endpoint
        expected = (status.imports if self.result_list == "imports" else status.errors) or 0
        while not paginator.finished:
            token = paginator.current_value
            answer = vendor.client.request(
                endpoint,
                path_params={"job_id": job_id},
                params={"page_token": token, **self.extra_params()},
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
                skip, row, resumed = row, 0, None
                paginator = PageTokenPaginator()
                continue
            if answer.status == NOT_READY:
                if self.tracker.deadline.sleep_before_next_poll():
                    continue
                self.logger.info(
                    "Fullstory job %s: %s not ready yet (202); will be extracted by a later run",
                    job_id,
                    self.result_list,
                )
                return
            self.start_page()
            page = answer.payload if isinstance(answer.payload, dict) else {}
            items = page.get("results")
            if not isinstance(items, list):
                items = []
            for item in items:
                if skip:
                    skip -= 1
                else:
                    record = item if isinstance(item, dict) else {"value": item}
                    record["job_id"] = job_id
                    record["row_number"] = row
                    yield record
                row += 1
            paginator.advance(page)  # type: ignore[arg-type]  # reads the decoded page
            more = not paginator.finished
            cursor: dict[str, t.Any] | None = (
                {"page_token": paginator.current_value, "row": row} if more else None
            )
            self.page_written(job_id, cursor=cursor, size=answer.size)


class UserImportErrorsStream(FullstoryResultsStream):
    """Users that failed to import: ``GET /v2/users/batch/{job_id}/errors``."""

    name = "user_import_errors"
    sources = frozenset({USERS})
    result_list = "errors"
    schema = schemas.USER_IMPORT_ERRORS


class ImportedUsersStream(FullstoryResultsStream):
    """Users imported: ``GET /v2/users/batch/{job_id}/imports``."""

    name = "imported_users"
    sources = frozenset({USERS})
    result_list = "imports"
    schema = schemas.IMPORTED_USERS

    @override
    def extra_params(self) -> dict[str, t.Any]:
        return {"include_schema": "true"} if self.config.get("fullstory_include_schema") else {}


class ImportedEventsStream(FullstoryResultsStream):
    """Events imported: ``GET /v2/events/batch/{job_id}/imports``."""

    name = "imported_events"
    sources = frozenset({EVENTS})
    result_list = "imports"
    schema = schemas.IMPORTED_EVENTS

    @override
    def extra_params(self) -> dict[str, t.Any]:
        return {"include_schema": "true"} if self.config.get("fullstory_include_schema") else {}


class EventImportErrorsStream(FullstoryResultsStream):
    """Events that failed to import: ``GET /v2/events/batch/{job_id}/errors``."""

    name = "event_import_errors"
    sources = frozenset({EVENTS})
    result_list = "errors"
    schema = schemas.EVENT_IMPORT_ERRORS
