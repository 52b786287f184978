"""The jobs of a run and their status: found once, fetched concurrently, waited for once.

For each vendor, the jobs to look at are those this run names (settings, job ids file,
DruID's list endpoint) and those the ledger remembers unsettled. Settled jobs are
skipped without a request. Statuses are fetched with up to ``workers`` requests in
flight; unfinished jobs of every vendor are then polled together until the run's one
deadline; a job unfinished past ``job_max_pending_days`` is given up.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.timestamps import parse_timestamp, utc_now
from tap_batchimport.waiting import Poller
from tap_batchimport.workers import in_order

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Sequence

    from tap_batchimport.jobs import JobRef, JobStatus
    from tap_batchimport.ledger import JobLedger
    from tap_batchimport.vendor import Vendor
    from tap_batchimport.waiting import Deadline


@dataclass(frozen=True)
class TrackedJob:
    """A job of this run, with the status its vendor last gave.

    Attributes:
        status: The vendor's status.
        named: A setting, the job ids file or the list endpoint names it this run.
        given_up: Unfinished past ``job_max_pending_days``: reported once more, then settled.
    """

    status: JobStatus
    named: bool
    given_up: bool = False

    @property
    def ref(self) -> JobRef:
        """Which job."""
        return self.status.ref


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
    """Finds each vendor's jobs and their statuses, once per run."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        ledger: JobLedger,
        deadline: Deadline,
        max_pending_days: int,
        from_file: Sequence[JobRef],
        streams_of: Callable[[str], list[str]],
        workers: int,
        logger: logging.Logger,
    ) -> None:
        """Create the tracker; nothing is requested until :meth:`survey`.

        Args:
            ledger: The job ledger.
            deadline: The run's deadline for waiting.
            max_pending_days: ``job_max_pending_days``.
            from_file: Jobs of the job ids file.
            streams_of: ``source -> selected results streams``.
            workers: Requests in flight per vendor.
            logger: Where to say what happens.
        """
        self.ledger = ledger
        self.deadline = deadline
        self.max_pending = dt.timedelta(days=max_pending_days)
        self.from_file = from_file
        self.streams_of = streams_of
        self.workers = workers
        self.logger = logger

    def survey(
        self, vendors: Iterable[Vendor], on_failure: Callable[[Vendor, VendorAPIError], None]
    ) -> dict[Vendor, VendorJobs]:
        """Find every vendor's jobs and statuses, waiting for unfinished ones.

        Args:
            vendors: The vendors to survey (enabled ones).
            on_failure: Called when a vendor fails fatally; its jobs are then left alone.

        Returns:
            Each surveyed vendor's jobs (failed vendors are left out).
        """
        found: dict[Vendor, VendorJobs] = {}
        for vendor in vendors:
            try:
                found[vendor] = self._first_look(vendor)
            except VendorAPIError as exc:  # noqa: PERF203  # the other vendors go on
                on_failure(vendor, exc)
        self._wait_for_unfinished(found, on_failure)
        for vendor_jobs in found.values():
            vendor_jobs.jobs = [self._age_checked(job) for job in vendor_jobs.jobs]
        return found

    def _first_look(self, vendor: Vendor) -> VendorJobs:
        listed = vendor.listed_statuses()
        named = list(dict.fromkeys([*vendor.named_jobs(self.from_file), *listed]))
        named_set = set(named)
        forgotten = self.ledger.forget_settled(vendor.sources(), named_set, self.streams_of)
        remembered = [r for r in self.ledger.remembered(vendor.sources()) if r not in named_set]
        candidates = named + remembered
        todo = [r for r in candidates if not self.ledger.is_settled(r, self.streams_of(r.source))]
        statuses = self._statuses(vendor, todo, listed)
        jobs = [TrackedJob(statuses[ref], named=ref in named_set) for ref in todo]
        return VendorJobs(jobs, skipped=len(candidates) - len(todo), forgotten=forgotten)

    def _statuses(
        self, vendor: Vendor, refs: list[JobRef], listed: dict[JobRef, JobStatus]
    ) -> dict[JobRef, JobStatus]:
        statuses = {ref: listed[ref] for ref in refs if ref in listed}
        wanted = [ref for ref in refs if ref not in listed]
        for ref, outcomes in in_order(
            wanted,
            lambda ref: iter((vendor.fetch_status(ref),)),
            workers=self.workers,
            name=f"{vendor.display_name}-status",
        ):
            for status in outcomes:
                statuses[ref] = status
        return statuses

    def _wait_for_unfinished(
        self,
        found: dict[Vendor, VendorJobs],
        on_failure: Callable[[Vendor, VendorAPIError], None],
    ) -> None:
        def unfinished(vendor: Vendor) -> list[int]:
            return [i for i, j in enumerate(found[vendor].jobs) if not j.status.is_finished]

        waiting = {v: idx for v in found if (idx := unfinished(v))}
        if not waiting or self.deadline.seconds <= 0:
            return
        self.logger.info(
            "%d job(s) not finished; polling for up to %.0f s",
            sum(len(i) for i in waiting.values()),
            self.deadline.remaining(),
        )
        poller = Poller(self.deadline)
        while waiting and poller.sleep_before_next_poll():
            for vendor in list(waiting):
                jobs = found[vendor].jobs
                refs = [jobs[i].ref for i in waiting[vendor]]
                try:
                    fresh = self._statuses(vendor, refs, vendor.listed_statuses())
                except VendorAPIError as exc:
                    del found[vendor], waiting[vendor]
                    on_failure(vendor, exc)
                    continue
                for i in waiting[vendor]:
                    jobs[i] = TrackedJob(fresh[jobs[i].ref], named=jobs[i].named)
                waiting[vendor] = unfinished(vendor)
                if not waiting[vendor]:
                    del waiting[vendor]

    def _age_checked(self, job: TrackedJob) -> TrackedJob:
        if job.status.not_found:
            self.logger.warning(
                "%s job %s: the vendor does not know it (HTTP 404)%s; job_details says "
                "NOT_FOUND and it is not asked for again",
                job.ref.source,
                job.ref.job_id,
                " - check the job id" if job.named else "",
            )
            return job
        if job.status.is_finished:
            return job
        entry = self.ledger.see(job.ref, pending=True, now=utc_now().isoformat())
        since = parse_timestamp(job.status.created) or parse_timestamp(entry.get("seen"))
        if since is not None and utc_now() - since > self.max_pending:
            self.logger.warning(
                "%s job %s is still %s after more than %d day(s) (job_max_pending_days): "
                "given up; job_details says given_up, and it is no longer checked",
                job.ref.source,
                job.ref.job_id,
                job.status.status,
                self.max_pending.days,
            )
            return TrackedJob(job.status, named=job.named, given_up=True)
        self.logger.info(
            "%s job %s is %s (not finished): remembered, and checked again by the next run",
            job.ref.source,
            job.ref.job_id,
            job.status.status,
        )
        return job
