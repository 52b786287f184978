"""Base streams: the job-by-job results loop every vendor's results streams share."""

from __future__ import annotations

import abc
import gc
import sys
import typing as t
from functools import cached_property

from singer_sdk import Stream
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_batchimport.bookmarks import JobBookmarks
from tap_batchimport.output import PageBufferedWriter

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_batchimport.jobs import JobStatus, JobTracker
    from tap_batchimport.tap import TapBatchImport
    from tap_batchimport.vendor import Vendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class BatchImportStream(Stream, abc.ABC):
    """A stream of this tap: knows the tap's vendors and their job trackers."""

    #: The vendors' JSON already has the schema's types; conforming each record
    #: recursively would only cost time and drop fields the vendor adds later.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def batch_tap(self) -> TapBatchImport:
        """The tap, with its vendors and trackers."""
        return t.cast("TapBatchImport", self._tap)


class JobResultsStream(BatchImportStream, abc.ABC):
    """Results of one vendor's finished jobs, extracted job by job, each job once.

    Subclasses implement :meth:`extract_job` and call :meth:`page_written` after the last
    record of each page, which bookmarks the page and writes STATE when it is due.
    """

    #: STATE is written at page boundaries (see page_written); the SDK's extra STATE every
    #: 10,000 records would only repeat the whole state mid-page.
    STATE_MSG_FREQUENCY = 10**12

    #: Key of the vendor in ``TapBatchImport.vendors``.
    vendor_key: t.ClassVar[str]
    #: ``job_details.source`` values whose jobs this stream reads.
    sources: t.ClassVar[frozenset[str]]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the stream (arguments as for ``singer_sdk.Stream``).

        Args:
            *args: Positional arguments of ``Stream``.
            **kwargs: Keyword arguments of ``Stream``.
        """
        super().__init__(*args, **kwargs)
        self.page_read_at = utc_now().isoformat()
        # Incremental by job (bookmarks name finished jobs); there is no replication key.
        self.forced_replication_method = "INCREMENTAL"

    @property
    def vendor(self) -> Vendor:
        """This stream's vendor."""
        return self.batch_tap.vendors[self.vendor_key]

    @property
    def tracker(self) -> JobTracker:
        """The vendor's job tracker (statuses are shared with ``job_details``)."""
        return self.batch_tap.tracker(self.vendor_key)

    @property
    def bookmarks(self) -> JobBookmarks:
        """This stream's per-job bookmarks, inside the SDK's stream state."""
        if getattr(self, "_bookmarks", None) is None:
            self._bookmarks = self.batch_tap.state_budget.track(JobBookmarks(self.stream_state))
        return self._bookmarks

    def resume_point(
        self, job_id: str, *, valid: Callable[[dict[str, t.Any]], bool]
    ) -> dict[str, t.Any]:
        """Where an interrupted extraction of a job resumes, if its cursor is usable.

        A state file edited by hand (or by another tool) may carry a cursor of the wrong
        shape; resuming from it could skip rows, so such a job is read from its start.

        Args:
            job_id: The job.
            valid: Whether a cursor has the shape this stream writes.

        Returns:
            The cursor, or an empty dict to start from the first page.
        """
        cursor = self.bookmarks.cursor(job_id)
        if cursor is None:
            return {}
        if valid(cursor):
            return cursor
        self.logger.warning(
            "%s: the saved resume point of job %s is not one this tap writes (%s); "
            "re-reading the job from its start",
            self.name,
            job_id,
            sorted(cursor),
        )
        return {}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        if not self.batch_tap.vendor_enabled(self.vendor_key):
            return
        # Every decoded page makes thousands of dicts, which trigger full collections that
        # walk every long-lived object of the SDK too: freeze those (15% of run time).
        gc.freeze()
        bookmarks = self.bookmarks
        for status in self.tracker.statuses():
            job_id = status.ref.job_id
            if status.ref.source not in self.sources or bookmarks.is_done(job_id):
                continue
            if not status.results_ready:
                continue
            yield from self.extract_job(status)

    @abc.abstractmethod
    def extract_job(self, status: JobStatus) -> Iterator[dict[str, t.Any]]:
        """Yield every not-yet-extracted row of one finished job.

        Args:
            status: The job's status (finished, results ready).
        """

    def start_page(self) -> None:
        """Note the time a page was read: its records' ``time_extracted``."""
        self.page_read_at = utc_now().isoformat()

    @cached_property
    def _writes_plain_records(self) -> bool:
        # True when records go out exactly as extracted: no stream map, no flattening,
        # no deselected field. Then the SDK's per-record path (a walk of schema and
        # selection mask, a message object, a JSON encoder per record) is skipped: it
        # was 80% of the run time in the profile (see README, Performance).
        maps = self.stream_maps
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
            and all(self.mask.values())
            and isinstance(self._tap.message_writer, PageBufferedWriter)
        )

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        if self._writes_plain_records:
            self._tap.message_writer.write_record(  # type: ignore[attr-defined]
                self.name, record, self.page_read_at
            )
        else:
            super()._write_record_message(record)
        self.state_manager.is_flushed = False

    @override
    def _process_record(
        self,
        record: dict[str, t.Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        # No child streams and no partitions: nothing to add to a record or sync after it.
        return

    @override
    def _increment_stream_state(
        self,
        latest_record: dict[str, t.Any],
        *,
        context: Context | None = None,
    ) -> None:
        # Bookmarks move once per page in page_written(), not per record.
        return

    def page_written(self, job_id: str, *, cursor: dict[str, t.Any] | None, size: int) -> None:
        """Bookmark a page whose records have all been written; write STATE if due.

        Called after the generator resumes past a page's last record, so every record of
        the page has been written when the bookmark moves.

        Args:
            job_id: The job.
            cursor: Where to resume the job, or None when the page was its last.
            size: Bytes of the page's response.
        """
        if cursor is None:
            self.bookmarks.mark_done(job_id)
        else:
            self.bookmarks.save_cursor(job_id, cursor)
        budget = self.batch_tap.state_budget
        if budget.page_written(size, job_finished=cursor is None):
            self.state_manager.is_flushed = False
            self._write_state_message()
            budget.state_written()
