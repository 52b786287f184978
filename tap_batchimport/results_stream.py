"""The results loop every vendor's results streams share: job by job, page by page.

A vendor's stream class only names its stream, schema, keys and reader (see pages.py).
This loop owns everything else: which jobs to read (finished, not yet done for this
stream), resume points and page bookmarks in the job ledger, STATE cadence, results that
are not ready (left to the run's waiting, or the next run), results that are gone,
concurrency (jobs read by workers, written here in a stable order), progress lines, a job
that fails (that job only) and a vendor that fails.

Exactly-once rests on one rule: a page's bookmark moves after the page's last record is
out, and STATE follows the bookmark. With RECORD messages the record is out once the SDK
has written it (the generator resumes past it); in batch mode, once the BATCH message of
the file holding it is written (see batch_files.py): :meth:`BatchImportStream.after_rows`
applies an update at the right moment in either mode.
"""

from __future__ import annotations

import abc
import gc
import sys
import time
import typing as t
from functools import cached_property, partial

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_batchimport.batch_files import BatchFiles
from tap_batchimport.conform import FAIL, MalformedRowError, RecordConformer, with_quality_fields
from tap_batchimport.errors import VendorAPIError, is_vendor_wide
from tap_batchimport.pages import Gone, NotReady
from tap_batchimport.sdk_private import SdkStream
from tap_batchimport.summary import PROGRESS_EVERY_SECONDS
from tap_batchimport.timestamps import now_iso
from tap_batchimport.workers import in_order

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_batchimport.conform import PageFit
    from tap_batchimport.jobs import JobRef
    from tap_batchimport.pages import Cursor, Outcome, Page, ResultReader
    from tap_batchimport.run import Run
    from tap_batchimport.sdk_private import BaseBatchFileEncoding, BatchConfig
    from tap_batchimport.tracker import TrackedJob
    from tap_batchimport.vendor import Vendor


class BatchImportStream(SdkStream, abc.ABC):
    """A stream of this tap: it gets the run it belongs to."""

    #: Records are made to fit their schema here (see conform.py), once and cheaply; the
    #: SDK's recursive conformance would only cost time and drop the vendor's new fields.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init_subclass__(cls, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Give every stream ``schema_mismatches`` and ``undeclared_fields``.

        Args:
            **kwargs: Passed on.
        """
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("schema")
        if isinstance(own, dict):
            cls.schema = with_quality_fields(own)  # type: ignore[assignment]

    def __init__(self, tap: Tap, run: Run) -> None:
        """Create the stream.

        Args:
            tap: The tap.
            run: What this run's streams share.
        """
        super().__init__(tap)
        self.run = run
        self.page_read_at = now_iso()
        #: The files of the sync under way in batch mode (None: RECORD messages).
        self._files: BatchFiles | None = None

    @property
    def batching(self) -> bool:
        """Whether a sync in batch mode is under way (rows go to files, not RECORDs)."""
        return self._files is not None

    def after_rows(self, update: Callable[[], object]) -> None:
        """Apply a ledger update that claims every row yielded so far, once they are out.

        With RECORD messages that is now: the SDK wrote the last row before the generator
        resumed. In batch mode it is once the BATCH message of the file holding them
        has been written.

        Args:
            update: The ledger update.
        """
        if self._files is None:
            update()
        else:
            self._files.page_end(update)

    @override
    def get_batch_config(self, config: t.Mapping[str, t.Any]) -> BatchConfig | None:
        # The SDK's own reading of batch_config requires every key; ours has defaults.
        del config  # read once by the run (see batch_settings.py)
        settings = self.run.batch
        return None if settings is None else settings.sdk_config()

    @override
    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        # The SDK's own batcher cuts files by row count, ignoring pages: a file could end
        # mid-page, and our per-page STATE would claim rows no BATCH message announced.
        del batch_config  # the same settings, checked (see batch_settings.py)
        settings = self.run.batch
        assert settings is not None  # noqa: S101  # the SDK calls this in batch mode only
        files = self._files = BatchFiles(settings, self.tap_name, self.name)
        shape = None if self.records_unmapped else self.shaped_record
        try:
            for record in self.records_for_batches(context):
                if files.full:
                    yield settings.encoding, files.close()  # then batch_written, then STATE
                row = record if shape is None else shape(record)
                if row is not None:
                    files.write(row)
            if files.rows:
                yield settings.encoding, files.close()
            elif files.apply_without_file():
                self.write_state_now()
        finally:
            self._files = None
            files.discard()  # a file not finished (an error, a signal): never announced

    @override
    def batch_written(self) -> None:
        if self._files is not None:
            self._files.announced()

    @cached_property
    def conformer(self) -> RecordConformer:
        """Makes this stream's records fit its schema (compiled once)."""
        # A row is named by its key in messages, its job's id (the first key field) aside.
        return RecordConformer(self.schema, tuple(self.primary_keys or ())[1:])


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
        #: The results endpoint (its path template), named in errors about a row.
        self._endpoint = ""
        #: Jobs whose values that did not fit were logged already.
        self._misfit_jobs: set[str] = set()

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
        self._endpoint = str(reader.endpoint)
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
                    self.after_rows(partial(ledger.mark_done, ref, self.name, gone=True))
                    run.give_up(job)
                    self._page_end(outcome.size, job_finished=True)
                    break
                self.page_read_at = read_at
                # The whole page fits (or fails the job) before its first record is out.
                records = self._fitted(ref.job_id, outcome.records)
                if write_page is not None:
                    rows += write_page(records)
                else:
                    for record in records:
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
            self.after_rows(partial(run.settle_if_complete, job))

    def _fitted(self, job_id: str, records: Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        # A malformed row (a key missing or null) fails the job, as does a value that does
        # not fit under schema_mismatch_policy fail: nothing of the page is written, and
        # the next run reads it again from the last good cursor.
        try:
            fit = self.conformer.page(records)
        except MalformedRowError as exc:
            raise self._row_error(job_id, f"malformed row: {exc}") from None
        if fit.mismatches and self.run.mismatch_policy == FAIL:
            raise self._row_error(
                job_id,
                f"{fit.first_mismatch} (schema_mismatch_policy is fail; {fit.mismatches} "
                "value(s) of the page did not fit)",
            )
        if fit.mismatches or fit.rows_with_undeclared:
            self._report_misfits(job_id, fit)
        return fit.records

    def _row_error(self, job_id: str, detail: str) -> VendorAPIError:
        # The page came as a 200; what was wrong is in one of its rows.
        del job_id  # named by the job's error line
        return VendorAPIError(self.vendor.display_name, self._endpoint, 200, detail)

    def _report_misfits(self, job_id: str, fit: PageFit) -> None:
        vendor = self.vendor
        self.run.summary.add_misfits(vendor, self.name, fit.mismatches, fit.rows_with_undeclared)
        if job_id in self._misfit_jobs:
            return  # said once per job: the summary counts the rest
        self._misfit_jobs.add(job_id)
        if fit.mismatches:
            self.logger.warning(
                "%s job %s: %d value(s) of %s did not fit the schema and are kept in "
                "schema_mismatches, the typed field null (first: %s)",
                vendor.display_name,
                job_id,
                fit.mismatches,
                self.name,
                fit.first_mismatch,
            )
        if fit.rows_with_undeclared:
            self.logger.info(
                "%s job %s: %d row(s) of %s carry fields the schema does not declare, kept "
                "in undeclared_fields: %s",
                vendor.display_name,
                job_id,
                fit.rows_with_undeclared,
                self.name,
                ", ".join(fit.undeclared_names[:10]),
            )

    def _bookmark(self, ref: JobRef, page: Page) -> None:
        # The page's records are out: its bookmark moves (in batch mode once the file
        # holding them is announced), and STATE follows as due.
        ledger = self.run.ledger
        if page.cursor is None:
            self.after_rows(partial(ledger.mark_done, ref, self.name))
        else:
            self.after_rows(partial(ledger.save_cursor, ref, self.name, page.cursor))
        self._page_end(page.size, job_finished=page.cursor is None)

    def _page_end(self, size: int, *, job_finished: bool) -> None:
        if self.batching:
            return  # STATE follows each BATCH message instead
        cadence = self.run.cadence
        if cadence.page_written(size, job_finished=job_finished):
            self.write_state_now()
            cadence.state_written()
