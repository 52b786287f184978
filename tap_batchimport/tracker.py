"""The jobs of a run and their status: found once, fetched concurrently, refreshed on demand.

For each vendor, the jobs to look at are those this run names (settings, job ids file,
DruID's list endpoint) and those the ledger remembers unsettled. Settled jobs are
skipped without a request. Statuses are fetched with up to ``workers`` requests in
flight. A job whose status request fails is left for the next run (a job error, see
``Run.job_failed``); a job unsettled past ``job_max_pending_days`` is given up. Waiting
for unfinished jobs is the run's business (``Run.wait_for_late_jobs``): this class only
refreshes their statuses when asked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from dataclasses import dataclass

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.jobs import JobStatus
from tap_batchimport.timestamps import now_iso, parse_timestamp, utc_now
from tap_batchimport.workers import in_order

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator, Sequence

    from tap_batchimport.jobs import JobRef
    from tap_batchimport.ledger import JobLedger
    from tap_batchimport.vendor import Vendor

    #: ``(vendor, job, error)``: records a job's error, raises if it stops the vendor.
    JobErrorHandler = Callable[[Vendor, JobRef, VendorAPIError], None]

#: ``job_details.status`` of a job whose status request failed this run.
UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class TrackedJob:
    """A job of this run, with the status its vendor last gave.

    Attributes:
        status: The vendor's status (``UNKNOWN`` when the request failed).
        named: A setting, the job ids file or the list endpoint names it this run.
        given_up: Unsettled past ``job_max_pending_days``: reported once more, then settled.
        failed: Its status request failed this run (``Run.job_errors`` says why).
        new: The ledger did not know it before this run.
    """

    status: JobStatus
    named: bool
    given_up: bool = False
    failed: bool = False
    new: bool = False

    @property
    def ref(self) -> JobRef:
        """Which job."""
        return self.status.ref

    @property
    def waiting(self) -> bool:
        """Not finished yet (and still worth a poll this run)."""
        return not (self.status.is_finished or self.given_up or self.failed)


@dataclass
class VendorJobs:
    """What the tracker found for one vendor.

    Attributes:
        jobs: Jobs that need something this run, in a stable order.
        skipped: Settled jobs named again, left alone (no request).
        forgotten: Settled jobs nothing names any more, dropped from the ledger.
    """

    jobs: list[TrackedJob]
    skipped: int = 0
    forgotten: int = 0


class JobTracker:
    """Finds each vendor's jobs and their statuses."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        ledger: JobLedger,
        max_pending_days: int,
        streams_of: Callable[[str], list[str]],
        workers: int,
        logger: logging.Logger,
        on_job_error: JobErrorHandler,
        on_job_ok: Callable[[Vendor], None],
        new_jobs: set[JobRef],
    ) -> None:
        """Create the tracker; nothing is requested until :meth:`first_look`.

        Args:
            ledger: The job ledger (named jobs already entered, see ``Run``).
            max_pending_days: ``job_max_pending_days``.
            streams_of: ``source -> selected results streams``.
            workers: Requests in flight per vendor.
            logger: Where to say what happens.
            on_job_error: Records a job's failed request; raises when it stops the vendor.
            on_job_ok: Told when a job's request worked (the vendor is up).
            new_jobs: Jobs the ledger did not know before this run.
        """
        self.ledger = ledger
        self.max_pending = dt.timedelta(days=max_pending_days)
        self.streams_of = streams_of
        self.workers = workers
        self.logger = logger
        self.on_job_error = on_job_error
        self.on_job_ok = on_job_ok
        self.new_jobs = new_jobs

    def first_look(
        self, vendor: Vendor, named: Sequence[JobRef], listed: dict[JobRef, JobStatus]
    ) -> VendorJobs:
        """Find a vendor's jobs and fetch the statuses of those not settled.

        Args:
            vendor: The vendor.
            named: Jobs its settings and the job ids file name (in the ledger already).
            listed: Jobs its list endpoint names, with their status (in the ledger too).

        Returns:
            Its jobs.

        Raises:
            VendorAPIError: An error that stops the whole vendor.
        """
        named = list(dict.fromkeys([*named, *listed]))
        named_set = set(named)
        forgotten = self.ledger.forget_settled(vendor.sources(), named_set, self.streams_of)
        remembered = [r for r in self.ledger.remembered(vendor.sources()) if r not in named_set]
        candidates = named + remembered
        todo = [r for r in candidates if not self.ledger.is_settled(r, self.streams_of(r.source))]
        statuses, failed = self._statuses(vendor, todo, listed)
        jobs = [
            self._age_checked(
                TrackedJob(
                    statuses[ref],
                    named=ref in named_set,
                    failed=ref in failed,
                    new=ref in self.new_jobs,
                )
            )
            for ref in todo
        ]
        return VendorJobs(jobs, skipped=len(candidates) - len(todo), forgotten=forgotten)

    def refresh(self, vendor: Vendor, jobs: list[TrackedJob]) -> None:
        """Fetch again the statuses of the jobs still waiting (in place).

        Args:
            vendor: The vendor.
            jobs: Its jobs of this run; waiting ones are replaced by their new status.

        Raises:
            VendorAPIError: An error that stops the whole vendor.
        """
        waiting = {job.ref: i for i, job in enumerate(jobs) if job.waiting}
        if not waiting:
            return
        statuses, failed = self._statuses(vendor, list(waiting), vendor.listed_statuses())
        for ref, i in waiting.items():
            jobs[i] = dataclasses.replace(jobs[i], status=statuses[ref], failed=ref in failed)

    def _statuses(
        self, vendor: Vendor, refs: list[JobRef], listed: dict[JobRef, JobStatus]
    ) -> tuple[dict[JobRef, JobStatus], set[JobRef]]:
        statuses = {ref: listed[ref] for ref in refs if ref in listed}
        failed: set[JobRef] = set()
        wanted = [ref for ref in refs if ref not in listed]

        def fetch(ref: JobRef) -> Iterator[JobStatus]:
            # A generator: the request (and its error) happens where outcomes are read.
            yield vendor.fetch_status(ref)

        for ref, outcomes in in_order(
            wanted,
            fetch,
            workers=self.workers,
            name=f"{vendor.display_name}-status",
        ):
            try:
                for status in outcomes:
                    statuses[ref] = status
                self.on_job_ok(vendor)
            except VendorAPIError as exc:  # noqa: PERF203  # one job's error, the others go on
                self.on_job_error(vendor, ref, exc)  # raises when the vendor cannot go on
                statuses[ref] = JobStatus(
                    ref=ref, status=UNKNOWN, is_finished=False, results_ready=False
                )
                failed.add(ref)
        return statuses, failed

    def _age_checked(self, job: TrackedJob) -> TrackedJob:
        status = job.status
        if status.not_found:
            self.logger.warning(
                "%s job %s: the vendor does not know it (HTTP 404 on its status)%s; "
                "job_details says NOT_FOUND and it is not asked for again",
                job.ref.source,
                job.ref.job_id,
                " - unknown job id (mistyped?)" if job.new and job.named else "",
            )
            return job
        entry = self.ledger.see(job.ref, now=now_iso())
        if status.is_finished and not job.failed:
            if not status.results_ready or not self.ledger.unreadable(entry):
                return job  # finished, and nothing has failed yet: read it now
            if self.ledger.all_done(job.ref, self.streams_of(job.ref.source)):
                return job
        since = parse_timestamp(status.created) or parse_timestamp(entry.get("seen"))
        if since is not None and utc_now() - since > self.max_pending:
            self.logger.warning(
                "%s job %s is still %s after more than %d day(s) (job_max_pending_days): "
                "given up; job_details says given_up, and it is no longer asked for",
                job.ref.source,
                job.ref.job_id,
                self._unsettled_because(job, entry),
                self.max_pending.days,
            )
            return dataclasses.replace(job, given_up=True)
        if job.waiting:
            self.logger.info(
                "%s job %s is %s (not finished): remembered, and checked again by the next run",
                job.ref.source,
                job.ref.job_id,
                status.status,
            )
        return job

    @staticmethod
    def _unsettled_because(job: TrackedJob, entry: dict[str, t.Any]) -> str:
        if job.failed or entry.get("fails"):
            return "failing (last error: see last_error)"
        if job.status.is_finished:
            return f"{job.status.status} with results that could not be read"
        return job.status.status
