"""One run of the tap: everything its streams share, built once and handed to each stream.

The SDK syncs streams one after another; what connects them is here, explicitly:
the vendors (objects, each with its client, rate gate and counters), the job ledger
in the state, the jobs this run looks at (surveyed once, on first need), the one
deadline for waiting, the STATE cadence, the vendors that failed, and the run summary.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from tap_batchimport.ledger import JobLedger
from tap_batchimport.settings import common_setting
from tap_batchimport.state_cadence import StateCadence
from tap_batchimport.summary import RunSummary
from tap_batchimport.tracker import JobTracker, TrackedJob, VendorJobs
from tap_batchimport.waiting import Deadline

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping, Sequence

    from singer_sdk import Stream

    from tap_batchimport.errors import VendorAPIError
    from tap_batchimport.jobs import JobRef
    from tap_batchimport.vendor import Vendor

V = t.TypeVar("V", bound="Vendor")


class ResultsStreamInfo(t.Protocol):
    """What the run needs to know of a results stream."""

    name: str
    source: t.ClassVar[str]

    @property
    def selected(self) -> bool:
        """Whether the catalog selects it."""

    @property
    def stream_state(self) -> dict[str, t.Any]:
        """Its bookmark in the SDK state."""


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
        self.deadline = Deadline(float(common_setting(config, "job_wait_timeout_seconds")))
        #: Vendor display name -> the one-line error that stopped it.
        self.failures: dict[str, str] = {}
        self.summary = RunSummary(self.vendors)
        self._results_streams: list[ResultsStreamInfo] = []
        self._job_details: Stream | None = None
        self._surveyed: dict[Vendor, VendorJobs] | None = None

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
        tracker = JobTracker(
            ledger=self.ledger,
            deadline=self.deadline,
            max_pending_days=int(common_setting(self.config, "job_max_pending_days")),
            from_file=self.from_file,
            streams_of=self.streams_of,
            workers=self.workers,
            logger=self.logger,
        )
        enabled = [v for v in self.vendors if self._enabled(v)]
        if not enabled:
            self.logger.warning(
                "No vendor has credentials set: nothing is extracted (set fullstory_api_key, "
                "the druid_* or the sailpoint_* settings)"
            )
        surveyed = tracker.survey(enabled, self.fail)
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
        self.failures[vendor.display_name] = str(error)
        self.logger.error("%s; its other jobs are left for the next run", error)

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
        if job.given_up:
            streams = self.streams_of(source)
            self.ledger.settle(job.ref, status.status, streams=streams, given_up=True)
            return True
        if not status.is_finished:
            return False
        if not status.results_ready:  # 404, or finished with nothing to download
            self.ledger.settle(job.ref, status.status, streams=self.streams_of(source))
            return True
        if self.ledger.all_done(job.ref, self.streams_of(source)):
            self.ledger.settle(job.ref, status.status)
            return True
        return False
