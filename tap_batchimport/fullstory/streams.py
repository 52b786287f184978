"""Fullstory results streams: imported and failed users and events, job by job."""

from __future__ import annotations

import sys
import typing as t

from tap_batchimport.fullstory.readers import FullstoryResultsReader
from tap_batchimport.fullstory.schemas import (
    EVENT_IMPORT_ERRORS,
    IMPORTED_EVENTS,
    IMPORTED_USERS,
    USER_IMPORT_ERRORS,
)
from tap_batchimport.fullstory.vendor import EVENTS, KIND, USERS, FullstoryVendor
from tap_batchimport.jobs import JobRef
from tap_batchimport.results_stream import JobResultsStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from tap_batchimport.tracker import TrackedJob


class FullstoryResultsStream(JobResultsStream):
    """One Fullstory results list (``/imports`` or ``/errors``) of every finished job."""

    vendor_type = FullstoryVendor
    primary_keys = ("job_id", "row_number")
    #: ``imports`` or ``errors``.
    result_list: t.ClassVar[str]

    @override
    def reader(self) -> FullstoryResultsReader:
        include_schema = self.result_list == "imports" and self.config.get(
            "fullstory_include_schema"
        )
        return FullstoryResultsReader(
            self.vendor.client,
            kind=KIND[self.source],
            result_list=self.result_list,
            params={"include_schema": "true"} if include_schema else {},
            logger=self.logger,
            on_longer_list=self._longer_list,
        )

    def _longer_list(self, job_id: str, total: int, rows: int) -> None:
        # More rows than total_records: nothing is lost, so a warning (run summary and
        # job_details.row_count_mismatch), not an error.
        vendor = t.cast("FullstoryVendor", self.vendor)
        vendor.note_row_count_mismatch(JobRef(self.source, job_id), self.name, total, rows)
        message = f"job {job_id}: {self.name} has {rows} rows, more than its total_records {total}"
        self.logger.warning("Fullstory %s", message)
        self.run.summary.warn(vendor, message)

    @override
    def expected_rows(self, job: TrackedJob) -> int | None:
        return job.status.imports if self.result_list == "imports" else job.status.errors


class UserImportErrorsStream(FullstoryResultsStream):
    """Users that failed to import: ``GET /v2/users/batch/{job_id}/errors``."""

    name = "user_import_errors"
    source = USERS
    result_list = "errors"
    schema = USER_IMPORT_ERRORS


class ImportedUsersStream(FullstoryResultsStream):
    """Users imported: ``GET /v2/users/batch/{job_id}/imports``."""

    name = "imported_users"
    source = USERS
    result_list = "imports"
    schema = IMPORTED_USERS


class ImportedEventsStream(FullstoryResultsStream):
    """Events imported: ``GET /v2/events/batch/{job_id}/imports``."""

    name = "imported_events"
    source = EVENTS
    result_list = "imports"
    schema = IMPORTED_EVENTS


class EventImportErrorsStream(FullstoryResultsStream):
    """Events that failed to import: ``GET /v2/events/batch/{job_id}/errors``."""

    name = "event_import_errors"
    source = EVENTS
    result_list = "errors"
    schema = EVENT_IMPORT_ERRORS
