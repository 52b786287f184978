"""One run of the tap: everything its streams share, built once and handed to each stream.

The SDK syncs streams one after another; what connects them is here, explicitly:
the vendors (objects, each with its client, rate gate and counters), the job ledger
in the state, the jobs this run looks at (surveyed once, on first need), the one
deadline for waiting, the STATE cadence, the vendors and jobs that failed, and the run
summary.

A run goes: every named job enters the ledger (and the first STATE) before any request;
the first results stream surveys every vendor; the results streams read the finished
jobs; then, if ``job_wait_timeout_seconds`` allows, the run waits for the others and reads
each as it finishes (:meth:`Run.wait_for_late_jobs`); ``job_details`` comes last.
"""

from __future__ import annotations

import time
import typing as t
from functools import cached_property

from tap_batchimport.batch_settings import batch_settings
from tap_batchimport.errors import MALFORMED, VendorAPIError, is_vendor_wide, job_error_line
from tap_batchimport.ledger import JobLedger
from tap_batchimport.settings import common_setting
from tap_batchimport.state_cadence import StateCadence
from tap_batchimport.summary import PROGRESS_EVERY_SECONDS, RunSummary
from tap_batchimport.timestamps import now_iso
from tap_batchimport.tracker import JobTracker, TrackedJob, VendorJobs
from tap_batchimport.waiting import Deadline, Poller

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping, Sequence

    from singer_sdk import Stream

    from tap_batchimport.jobs import JobRef
    from tap_batchimport.vendor import Vendor

V = t.TypeVar("V", bound="Vendor")

#: This many jobs of one vendor failing in a row, with no success between them, on
#: answers that say nothing about one job in particular (5xx, no answer): the vendor
#: looks down, and its other jobs are left for the next run instead of each retried.
VENDOR_DOWN_AFTER = 3


class ResultsStreamInfo(t.Protocol):
    """What the run needs of a results stream."""

    name: str
    source: t.ClassVar[str]

    @property
    def selected(self) -> bool:
        """Whether the catalog selects it."""

    @property
    def stream_state(self) -> dict[str, t.Any]:
        """Its bookmark in the SDK state."""

    def has_work(self) -> bool:
        """Whether some job of this run is ready to be read for it now."""

    def sync_again(self) -> None:
        """Read the jobs that became ready since its last sync."""


class Run:
    """What one run's streams share."""

    def __init__(
        self,
        config: Mapping[str, t.Any],
        logger: logging.Logger,
        vendors: Sequence[Vendor],
        from_file: Sequence[JobRef],
    ) -> None:
        """Build the run; nothing is requested until a stream needs its jobs.

        Args:
            config: The validated tap config.
            logger: The tap's logger.
            vendors: Every vendor, enabled or not, in extraction order.
            from_file: Jobs of the job ids file.
        """
        self.config = config
        self.logger = logger
        self.vendors = list(vendors)
        self.from_file = from_file
        self.workers = int(common_setting(config, "max_concurrent_requests"))
        #: ``schema_mismatch_policy``: ``keep`` or ``fail`` (see conform.py).
        self.mismatch_policy = str(common_setting(config, "schema_mismatch_policy"))
        self.deadline = Deadline(float(common_setting(config, "job_wait_timeout_seconds")))
        #: Where batch files go in batch mode (None: RECORD messages).
        self.batch = batch_settings(config)
        #: Vendor display name -> the one-line error that stopped it.
        self.failures: dict[str, str] = {}
        #: Jobs whose status or results failed this run -> the one-line error.
        self.job_errors: dict[JobRef, str] = {}
        #: Jobs given up by this run after their results turned out to be gone.
        self.gave_up: set[JobRef] = set()
        #: ``(job, stream)`` whose results answered "not ready" (202, 428) this run.
        self.not_ready: set[tuple[JobRef, str]] = set()
        #: Jobs the ledger did not know before this run.
        self.new_jobs: set[JobRef] = set()
        self.summary = RunSummary(self.vendors)
        #: Writes a STATE message now (set by the tap).
        self.write_state: Callable[[], None] = lambda: None
        self._results_streams: list[ResultsStreamInfo] = []
        self._job_details: Stream | None = None
        self._surveyed: dict[Vendor, VendorJobs] | None = None
        self._failing_in_a_row: dict[Vendor, int] = {}

    def attach(self, job_details: Stream, results: Sequence[ResultsStreamInfo]) -> None:
        """Give the run its streams (their selection and state are read at sync time).

        Args:
            job_details: The ``job_details`` stream (its bookmark holds the ledger).
            results: Every results stream.
        """
        self._job_details = job_details
        self._results_streams = list(results)

    def vendor(self, vendor_type: type[V]) -> V:
        """The run's vendor object of a vendor class.

        Args:
            vendor_type: The vendor class.

        Returns:
            The vendor.
        """
        return next(v for v in self.vendors if isinstance(v, vendor_type))

    # -- the ledger and the jobs ----------------------------------------------------------

    @cached_property
    def ledger(self) -> JobLedger:
        """The job ledger, migrated from an earlier release's bookmarks if needed."""
        if self._job_details is None:
            msg = "Run.attach() was not called"
            raise RuntimeError(msg)
        ledger = JobLedger(self._job_details.stream_state)
        moved = sum(
            ledger.migrate(stream.stream_state, stream.name, stream.source)
            for stream in self._results_streams
        )
        if moved:
            self.logger.info("State of an earlier release: %d job bookmark(s) moved", moved)
        return ledger

    def built_ledger(self) -> JobLedger | None:
        """The ledger if something has asked for it already (for STATE messages)."""
        return t.cast("JobLedger | None", self.__dict__.get("ledger"))

    @cached_property
    def cadence(self) -> StateCadence:
        """Decides when a page boundary is worth a STATE message."""
        return StateCadence(lambda: self.ledger.size_estimate)

    def streams_of(self, source: str) -> list[str]:
        """The selected results streams of a source.

        Args:
            source: A ``job_details.source``.

        Returns:
            Their names.
        """
        return [s.name for s in self._results_streams if s.source == source and s.selected]

    @property
    def reports_jobs(self) -> bool:
        """Whether ``job_details`` is selected (else jobs settle without their record)."""
        return self._job_details is not None and self._job_details.selected

    def enter_named_jobs(self) -> None:
        """Put every job the settings and the job ids file name into the ledger.

        Called before the first STATE and before any request: a run killed, failing or
        finding its vendor down still hands every named job on to the next run.
        """
        now = now_iso()
        ledger = self.ledger
        for vendor in self.vendors:
            if vendor.enabled:
                self._enter(vendor.named_jobs(()), now)
        known = {ref for ref in self.from_file if ledger.entry(ref) is not None}
        new = ledger.read_file(self.from_file, self.streams_of, now)
        self.new_jobs.update(ref for ref in new if ref not in known)
        if ledger.file_rewritten:
            self.logger.warning(
                "job_ids_file no longer starts with the jobs read last time (rewritten or "
                "truncated): each job it names is taken as new unless the state remembers it"
            )

    def _enter(self, refs: Sequence[JobRef], now: str) -> None:
        ledger = self.ledger
        for ref in refs:
            if ledger.entry(ref) is None:
                self.new_jobs.add(ref)
            ledger.see(ref, now=now)

    def jobs(self, vendor: Vendor) -> list[TrackedJob]:
        """This run's jobs of a vendor (every vendor is surveyed on first call).

        Args:
            vendor: The vendor.

        Returns:
            Its jobs that need something this run; none if it failed or is disabled.
        """
        if self._surveyed is None:
            self._surveyed = self._survey()
        found = self._surveyed.get(vendor)
        return found.jobs if found and self.usable(vendor) else []

    def _survey(self) -> dict[Vendor, VendorJobs]:
        tracker = self._tracker
        enabled = [v for v in self.vendors if self._enabled(v)]
        if not enabled:
            self.logger.warning(
                "No vendor has credentials set: nothing is extracted (set fullstory_api_key, "
                "the druid_* or the sailpoint_* settings)"
            )
        surveyed: dict[Vendor, VendorJobs] = {}
        for vendor in enabled:
            try:
                listed = vendor.listed_statuses()
                if listed:
                    self._enter(list(listed), now_iso())
                    self.write_state()  # discovered jobs are remembered before any request
                surveyed[vendor] = tracker.first_look(
                    vendor, vendor.named_jobs(self.from_file), listed
                )
            except VendorAPIError as exc:  # noqa: PERF203  # the other vendors go on
                self.fail(vendor, exc)
        for vendor, found in surveyed.items():
            self.summary.surveyed(vendor, found)
            if not found.jobs and not found.skipped:
                self.logger.warning(
                    "%s: credentials are set but no job is named (%s, job_ids_file) or "
                    "remembered: nothing to extract",
                    vendor.display_name,
                    ", ".join(vendor.job_id_keys),
                )
            if not self.reports_jobs:
                for job in found.jobs:
                    self.settle_if_complete(job)
        return surveyed

    @cached_property
    def _tracker(self) -> JobTracker:
        return JobTracker(
            ledger=self.ledger,
            max_pending_days=int(common_setting(self.config, "job_max_pending_days")),
            streams_of=self.streams_of,
            workers=self.workers,
            logger=self.logger,
            on_job_error=self.job_failed,
            on_job_ok=self.job_succeeded,
            new_jobs=self.new_jobs,
        )

    # -- waiting --------------------------------------------------------------------------

    def wait_for_late_jobs(self) -> None:
        """Wait for unfinished jobs (and results not ready) until the run's deadline.

        Runs after every results stream has read the jobs that were ready, so waiting
        never holds finished work back; each job that finishes meanwhile is read at once.
        """
        if self._surveyed is None or self.deadline.remaining() <= 0:
            return
        poller = Poller(self.deadline)
        next_progress = 0.0
        while (waiting := self._waiting()) and self.deadline.remaining() > 0:
            if time.monotonic() >= next_progress:
                next_progress = time.monotonic() + PROGRESS_EVERY_SECONDS
                self.logger.info(
                    "Waiting for %d job(s) (%s); %.0f s left of job_wait_timeout_seconds",
                    len(waiting),
                    ", ".join(f"{ref.source} {ref.job_id}" for ref in waiting[:5])
                    + (", ..." if len(waiting) > 5 else ""),  # noqa: PLR2004
                    self.deadline.remaining(),
                )
            if not poller.sleep_before_next_poll():
                break
            for vendor, found in self._surveyed.items():
                if not self.usable(vendor) or not any(j.waiting for j in found.jobs):
                    continue
                try:
                    self._tracker.refresh(vendor, found.jobs)
                except VendorAPIError as exc:
                    self.fail(vendor, exc)
            self.not_ready.clear()  # asked again by the streams now
            for stream in self._results_streams:
                if stream.selected and stream.has_work():
                    stream.sync_again()

    def _waiting(self) -> list[JobRef]:
        assert self._surveyed is not None  # noqa: S101  # called after the survey
        unfinished = [
            job.ref
            for vendor, found in self._surveyed.items()
            if self.usable(vendor)
            for job in found.jobs
            if job.waiting
        ]
        not_ready = [ref for ref, _ in self.not_ready if ref not in unfinished]
        return unfinished + list(dict.fromkeys(not_ready))

    # -- vendors ----------------------------------------------------------------------------

    def _enabled(self, vendor: Vendor) -> bool:
        if vendor.enabled:
            return True
        self.summary.disabled.add(vendor.display_name)
        self.logger.info(
            "%s is not extracted: %s not set",
            vendor.display_name,
            " / ".join(vendor.credential_keys),
        )
        return False

    def usable(self, vendor: Vendor) -> bool:
        """Whether a vendor is configured and has not failed in this run."""
        return vendor.enabled and vendor.display_name not in self.failures

    def fail(self, vendor: Vendor, error: VendorAPIError) -> None:
        """Stop a vendor after a fatal error; the other vendors go on.

        Args:
            vendor: The vendor.
            error: What stopped it (one line, no secret).
        """
        if vendor.display_name in self.failures:
            return
        self.failures[vendor.display_name] = str(error)
        self.logger.error("%s; its other jobs are left for the next run", error)

    # -- jobs that fail -----------------------------------------------------------------------

    def job_failed(self, vendor: Vendor, ref: JobRef, error: VendorAPIError) -> None:
        """Record a job's error; the vendor's other jobs go on unless it stops them too.

        Args:
            vendor: The job's vendor.
            ref: The job.
            error: What failed (after the client's retries).

        Raises:
            VendorAPIError: The error concerns the whole vendor (credentials, rate limit,
                token), or too many jobs in a row failed the same way: the vendor stops.
        """
        if is_vendor_wide(error):
            raise error
        line = job_error_line(ref.source, ref.job_id, error)
        fails = self.ledger.record_failure(ref, line, new_run=ref not in self.job_errors)
        self.job_errors[ref] = line
        self.logger.error(
            "%s; its other jobs go on, and this one is tried again by the next run "
            "(failed runs in a row: %d)",
            line,
            fails,
        )
        in_a_row = self._failing_in_a_row.get(vendor, 0) + 1 if _not_about_one_job(error) else 0
        self._failing_in_a_row[vendor] = in_a_row
        if in_a_row >= VENDOR_DOWN_AFTER:
            raise VendorAPIError(
                vendor.display_name,
                "every request",
                error.status,
                f"{in_a_row} jobs in a row failed without an answer about the job (last: "
                f"{error.detail}); the vendor looks down",
            )

    def job_succeeded(self, vendor: Vendor) -> None:
        """A request about one of the vendor's jobs worked: it is not down."""
        self._failing_in_a_row[vendor] = 0

    def give_up(self, job: TrackedJob) -> None:
        """Give a job up now (its results are gone for good): reported, then settled.

        Args:
            job: The job.
        """
        self.gave_up.add(job.ref)

    # -- settling -----------------------------------------------------------------------------

    def settle_if_complete(self, job: TrackedJob) -> bool:
        """Settle a job whose final record is out (or not wanted) and results all read.

        Args:
            job: A job of this run.

        Returns:
            Whether it is settled now.
        """
        status = job.status
        source = job.ref.source
        if job.given_up or job.ref in self.gave_up:
            streams = self.streams_of(source)
            self.ledger.settle(job.ref, status.status, streams=streams, given_up=True)
            return True
        if job.failed or job.ref in self.job_errors or not status.is_finished:
            return False
        if not status.results_ready:  # 404, or finished with nothing to download
            self.ledger.settle(job.ref, status.status, streams=self.streams_of(source))
            return True
        if self.ledger.all_done(job.ref, self.streams_of(source)):
            self.ledger.settle(job.ref, status.status)
            return True
        return False


def _not_about_one_job(error: VendorAPIError) -> bool:
    # A 5xx or no answer at all says the vendor is unwell; a 404, a 400 or an answer
    # about the job that could not be read is about the job.
    status = error.status
    if status == MALFORMED:
        return False
    return not isinstance(status, int) or status >= 500  # noqa: PLR2004
