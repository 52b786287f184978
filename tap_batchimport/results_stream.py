"""The results loop every vendor's results streams share: job by job, page by page.

A vendor's stream class only names its stream, schema, keys and reader (see pages.py).
This loop owns everything else: which jobs to read (finished, not yet done for this
stream), resume points and page bookmarks in the job ledger, STATE cadence, results that
are not ready (left to the run's waiting, or the next run), results that are gone,
concurrency (jobs read by workers, written here in a stable order), progress lines, a job
that fails (that job only) and a vendor that fails.

Exactly-once rests on one rule: a page's bookmark moves after the SDK has written the
page's last record (the generator resumes past it), and STATE follows the bookmark.
"""

from __future__ import annotations

import abc
import gc
import time
import typing as t

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_batchimport.errors import VendorAPIError, is_vendor_wide
from tap_batchimport.pages import Gone, NotReady
from tap_batchimport.sdk_private import SdkStream
from tap_batchimport.summary import PROGRESS_EVERY_SECONDS
from tap_batchimport.timestamps import now_iso
from tap_batchimport.workers import in_order

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_batchimport.jobs import JobRef
    from tap_batchimport.pages import Cursor, Outcome, Page, ResultReader
    from tap_batchimport.run import Run
    from tap_batchimport.tracker import TrackedJob
    from tap_batchimport.vendor import Vendor


class BatchImportStream(SdkStream, abc.ABC):
    """A stream of this tap: it gets the run it belongs to."""

    #: The vendors' JSON already has the schema's types; conforming each record
    #: recursively would only cost time and drop fields the vendor adds later.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, run: Run) -> None:
        """Create the stream.

        Args:
            tap: The tap.
            run: What this run's streams share.
        """
        super().__init__(tap)
        self.run = run
        self.page_read_at = now_iso()


class JobResultsStream(BatchImportStream, abc.ABC):
    """Results of one vendor's finished jobs, extracted job by job, each job once."""

    #: STATE is written at page boundaries; the SDK's extra STATE every 10,000 records
    #: would only repeat the whole state mid-page.
    STATE_MSG_FREQUENCY = 10**12

    #: The vendor whose jobs this stream reads.
    vendor_type: t.ClassVar[type[Vendor]]
    #: ``job_details.source`` of those jobs.
    source: t.ClassVar[str]

    def __init__(self, tap: Tap, run: Run) -> None:
        """Create the stream.

        Args:
            tap: The tap.
            run: What this run's streams share.
        """
        super().__init__(tap, run)
        # Incremental by job (the ledger names finished jobs); there is no replication key.
        self.forced_replication_method = "INCREMENTAL"

    @property
    def vendor(self) -> Vendor:
        """This stream's vendor."""
        return self.run.vendor(self.vendor_type)

    @abc.abstractmethod
    def reader(self) -> ResultReader:
        """The vendor's reader of this stream's results."""

    def expected_rows(self, job: TrackedJob) -> int | None:  # noqa: ARG002
        """How many rows the vendor says the job has in this stream (for progress lines).

        Args:
            job: The job.

        Returns:
            The count, or None when the vendor does not say.
        """
        return None

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:  # noqa: ARG002
        """Yield the rows of every finished job not yet extracted for this stream.

        Args:
            context: Unused (no partitions).

        Yields:
            Records, page by page, job by job.
        """
        run = self.run
        vendor = self.vendor
        ready = self._ready_jobs()
        if not ready:
            return
        reader = self.reader()
        todo = [(job, self._resume_point(reader, job)) for job in ready]
        # Every decoded page makes thousands of dicts, which trigger full collections that
        # walk every long-lived object of the SDK too: freeze those (15% of run time).
        gc.freeze()
        try:
            for (job, _), outcomes in in_order(
                todo,
                lambda item: self._read(reader, *item),
                workers=run.workers,
                name=self.name,
            ):
                yield from self._write(job, outcomes)
        except VendorAPIError as exc:
            run.fail(vendor, exc)

    def _ready_jobs(self) -> list[TrackedJob]:
        run, ledger = self.run, self.run.ledger
        jobs = run.jobs(self.vendor)  # the first call surveys every vendor
        return [
            job
            for job in jobs
            if job.ref.source == self.source
            and job.status.results_ready
            and not job.given_up
            and job.ref not in run.gave_up
            and job.ref not in run.job_errors
            and (job.ref, self.name) not in run.not_ready
            and not ledger.is_done(ledger.entry(job.ref), self.name)
        ]

    def has_work(self) -> bool:
        """Whether some job of this run is ready to be read for this stream now."""
        return bool(self._ready_jobs())

    def sync_again(self) -> None:
        """Read the jobs that became ready since this stream's last sync (while waiting)."""
        self.sync()
        self.finalize_state_progress_markers()

    def _resume_point(self, reader: ResultReader, job: TrackedJob) -> Cursor | None:
        cursor = self.run.ledger.cursor(job.ref, self.name)
        if cursor is None or reader.valid_cursor(cursor):
            return cursor
        # A state edited by hand (or by another tool) may carry a cursor of the wrong
        # shape; resuming from it could skip rows, so the job is read from its start.
        self.logger.warning(
            "%s: the saved resume point of job %s is not one this tap writes (%s); "
            "re-reading the job from its start",
            self.name,
            job.ref.job_id,
            sorted(cursor),
        )
        return None

    def _read(
        self, reader: ResultReader, job: TrackedJob, cursor: Cursor | None
    ) -> Iterator[tuple[Outcome, str]]:
        # Runs in a worker thread: requests only; the ledger and output are the writer's.
        for outcome in reader.read(job.status, cursor):
            yield outcome, now_iso()
            if isinstance(outcome, NotReady):
                return  # asked again while the run waits, or by the next run

    def _write(
        self, job: TrackedJob, outcomes: Iterator[tuple[Outcome, str]]
    ) -> Iterator[dict[str, t.Any]]:
        run, ledger, ref = self.run, self.run.ledger, job.ref
        vendor = self.vendor
        rows = 0
        expected = self.expected_rows(job)
        next_progress = time.monotonic() + PROGRESS_EVERY_SECONDS
        # Plain records in RECORD mode go out a page at a time, not through the SDK's
        # per-record loop (its per-record calls were half the CPU time of a big job).
        write_page = self.write_page if self.writes_pages() else None
        try:
            for outcome, read_at in outcomes:
                if isinstance(outcome, NotReady):
                    self.logger.info(
                        "%s job %s: %s; %s",
                        vendor.display_name,
                        ref.job_id,
                        outcome.reason,
                        "asked again while the run waits"
                        if run.deadline.remaining() > 0
                        else "will be extracted by a later run",
                    )
                    ledger.mark_unread(ref)
                    run.not_ready.add((ref, self.name))
                    break
                run.job_succeeded(vendor)
                if isinstance(outcome, Gone):
                    self.logger.warning(
                        "%s job %s: %s", vendor.display_name, ref.job_id, outcome.reason
                    )
                    ledger.mark_done(ref, self.name, gone=True)
                    run.give_up(job)
                    self._page_end(outcome.size, job_finished=True)
                    break
                self.page_read_at = read_at
                if write_page is not None:
                    rows += write_page(outcome.records)
                else:
                    for record in outcome.records:
                        yield record
                        rows += 1
                self._bookmark(ref, outcome)
                if outcome.cursor is not None and time.monotonic() >= next_progress:
                    next_progress = time.monotonic() + PROGRESS_EVERY_SECONDS
                    self.logger.info(
                        "%s job %s: %s rows of %s so far%s",
                        vendor.display_name,
                        ref.job_id,
                        f"{rows:,}",
                        self.name,
                        f" (of {expected:,})" if expected is not None else "",
                    )
        except VendorAPIError as exc:
            if is_vendor_wide(exc):
                raise
            # This job only: its rows so far stay bookmarked, the next run resumes there.
            run.job_failed(vendor, ref, exc)
        run.summary.add_rows(vendor, self.name, rows)
        if not run.reports_jobs:
            run.settle_if_complete(job)

    def _bookmark(self, ref: JobRef, page: Page) -> None:
        # The page's records are out: its bookmark moves, and STATE follows as due.
        if page.cursor is None:
            self.run.ledger.mark_done(ref, self.name)
        else:
            self.run.ledger.save_cursor(ref, self.name, page.cursor)
        self._page_end(page.size, job_finished=page.cursor is None)

    def _page_end(self, size: int, *, job_finished: bool) -> None:
        cadence = self.run.cadence
        if cadence.page_written(size, job_finished=job_finished):
            self.write_state_now()
            cadence.state_written()
