"""The results loop every vendor's results streams share: job by job, page by page.

A vendor's stream class only names its stream, schema, keys and reader (see pages.py).
This loop owns everything else: which jobs to read (finished, not yet done for this
stream), resume points and page bookmarks in the job ledger, STATE cadence, waiting for
results that are not ready, results that are gone, concurrency (jobs read by workers,
written here in a stable order), progress lines, and a vendor that fails.

Exactly-once rests on one rule: a page's bookmark moves after the SDK has written the
page's last record (the generator resumes past it), and STATE follows the bookmark.
"""

from __future__ import annotations

import abc
import gc
import time
import typing as t

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.pages import Gone, NotReady
from tap_batchimport.sdk_private import SdkStream
from tap_batchimport.summary import PROGRESS_EVERY_SECONDS
from tap_batchimport.timestamps import now_iso
from tap_batchimport.waiting import Poller
from tap_batchimport.workers import in_order

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_batchimport.pages import Cursor, Outcome, ResultReader
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
        jobs = run.jobs(vendor)  # the first call surveys every vendor
        if not jobs:
            return
        ledger = run.ledger
        reader = self.reader()
        todo = [
            (job, self._resume_point(reader, job))
            for job in jobs
            if job.ref.source == self.source
            and job.status.results_ready
            and not job.given_up
            and not ledger.is_done(ledger.entry(job.ref), self.name)
        ]
        if not todo:
            return
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
        poller = Poller(self.run.deadline)
        for outcome in reader.read(job.status, cursor):
            if isinstance(outcome, NotReady) and poller.sleep_before_next_poll():
                continue  # the reader asks for the same page again
            yield outcome, now_iso()
            if isinstance(outcome, NotReady):
                return

    def _write(
        self, job: TrackedJob, outcomes: Iterator[tuple[Outcome, str]]
    ) -> Iterator[dict[str, t.Any]]:
        run, ledger, ref = self.run, self.run.ledger, job.ref
        vendor = self.vendor
        rows = 0
        expected = self.expected_rows(job)
        next_progress = time.monotonic() + PROGRESS_EVERY_SECONDS
        for outcome, read_at in outcomes:
            if isinstance(outcome, NotReady):
                self.logger.info(
                    "%s job %s: %s; will be extracted by a later run",
                    vendor.display_name,
                    ref.job_id,
                    outcome.reason,
                )
                break
            if isinstance(outcome, Gone):
                self.logger.warning(
                    "%s job %s: %s", vendor.display_name, ref.job_id, outcome.reason
                )
                ledger.mark_done(ref, self.name, gone=True)
                self._page_end(outcome.size, job_finished=True)
                break
            self.page_read_at = read_at
            for record in outcome.records:
                yield record
                rows += 1
            if outcome.cursor is None:
                ledger.mark_done(ref, self.name)
            else:
                ledger.save_cursor(ref, self.name, outcome.cursor)
            self._page_end(outcome.size, job_finished=outcome.cursor is None)
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
        run.summary.add_rows(vendor, self.name, rows)
        if not run.reports_jobs:
            run.settle_if_complete(job)

    def _page_end(self, size: int, *, job_finished: bool) -> None:
        cadence = self.run.cadence
        if cadence.page_written(size, job_finished=job_finished):
            self.write_state_now()
            cadence.state_written()
