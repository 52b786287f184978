"""What a run did, per vendor: one block at the end of the run, and progress while it runs."""

from __future__ import annotations

import time
import typing as t
from collections import Counter, defaultdict

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping, Sequence

    from tap_batchimport.jobs import JobRef
    from tap_batchimport.tracker import VendorJobs
    from tap_batchimport.vendor import Vendor

#: A job being read says how far it got at most this often.
PROGRESS_EVERY_SECONDS = 30.0


class RunSummary:
    """Counts of one run: jobs by outcome and rows by stream, per vendor."""

    def __init__(self, vendors: Sequence[Vendor]) -> None:
        """Start with nothing counted.

        Args:
            vendors: Every vendor of the run.
        """
        self.vendors = list(vendors)
        self.disabled: set[str] = set()
        self.jobs: dict[str, Counter[str]] = defaultdict(Counter)
        self.rows: dict[str, Counter[str]] = defaultdict(Counter)
        #: Values that did not fit their declared type (kept in schema_mismatches), by stream.
        self.mismatches: dict[str, Counter[str]] = defaultdict(Counter)
        #: Records that carry fields the schema does not declare, by stream.
        self.undeclared: dict[str, Counter[str]] = defaultdict(Counter)
        #: Named job ids the vendor answered 404 for at first sight (typos, most likely).
        self.unknown_ids: dict[str, list[str]] = defaultdict(list)
        self.warnings: dict[str, list[str]] = defaultdict(list)
        self.started = time.monotonic()

    def surveyed(self, vendor: Vendor, found: VendorJobs) -> None:
        """Count a vendor's jobs by what their status says.

        Args:
            vendor: The vendor.
            found: Its jobs this run.
        """
        counts = self.jobs[vendor.display_name]
        counts["seen"] += len(found.jobs) + found.skipped
        counts["already settled"] += found.skipped
        for job in found.jobs:
            if job.given_up:
                counts["given up"] += 1
            elif job.status.not_found:
                counts["not found"] += 1
                if job.new and job.named:
                    self.unknown_ids[vendor.display_name].append(job.ref.job_id)
            elif job.status.is_finished:
                counts["finished"] += 1
            else:
                counts["pending"] += 1

    def add_rows(self, vendor: Vendor, stream: str, rows: int) -> None:
        """Count rows written (by the writing thread only).

        Args:
            vendor: The vendor.
            stream: The stream.
            rows: Rows written.
        """
        self.rows[vendor.display_name][stream] += rows

    def add_misfits(self, vendor: Vendor, stream: str, mismatches: int, undeclared: int) -> None:
        """Count values that did not fit and records with undeclared fields (writing thread).

        Args:
            vendor: The vendor.
            stream: The stream.
            mismatches: Values set aside in ``schema_mismatches``.
            undeclared: Records with ``undeclared_fields``.
        """
        if mismatches:
            self.mismatches[vendor.display_name][stream] += mismatches
        if undeclared:
            self.undeclared[vendor.display_name][stream] += undeclared

    def warn(self, vendor: Vendor, message: str) -> None:
        """Note something the run's user should look at, repeated in the summary block.

        Args:
            vendor: The vendor it is about.
            message: One line, naming the job.
        """
        self.warnings[vendor.display_name].append(message)  # list.append is atomic

    def lines(
        self, failures: dict[str, str], job_errors: Mapping[JobRef, str] | None = None
    ) -> list[str]:
        """The summary block, one line per vendor.

        Args:
            failures: Vendors that failed, and why.
            job_errors: Jobs that failed this run, and why.

        Returns:
            Lines to log.
        """
        lines = [f"Run summary ({time.monotonic() - self.started:.1f} s):"]
        for vendor in self.vendors:
            name = vendor.display_name
            if name in self.disabled:
                lines.append(f"  {name}: not configured")
                continue
            jobs = self.jobs[name]
            rows = self.rows[name]
            stats = vendor.stats
            sources = vendor.sources()
            failed = sum(1 for ref in job_errors or () if ref.source in sources)
            state = "FAILED (see its error line)" if name in failures else "ok"
            lines.append(
                f"  {name}: {state}; jobs seen {jobs['seen']}, finished {jobs['finished']}, "
                f"pending {jobs['pending']}, failed {failed}, not found {jobs['not found']}, "
                f"given up {jobs['given up']}, already settled {jobs['already settled']}; "
                f"rows {', '.join(f'{s} {n}' for s, n in sorted(rows.items())) or 'none'}; "
                f"requests {stats.requests}, retries {stats.retries}, waited "
                f"{stats.retry_wait_seconds + vendor.gate.waited:.1f} s"
            )
            if unknown := self.unknown_ids.get(name):
                lines.append(
                    f"  {name}: unknown job id(s) (mistyped?): {', '.join(unknown)} - the "
                    "vendor answered 404 the first time the tap asked"
                )
            if mismatches := self.mismatches.get(name):
                lines.append(
                    f"  {name}: schema mismatches (values that did not fit, kept in "
                    f"schema_mismatches): {_by_stream(mismatches)}"
                )
            if undeclared := self.undeclared.get(name):
                lines.append(
                    f"  {name}: records with undeclared fields (kept in undeclared_fields): "
                    f"{_by_stream(undeclared)}"
                )
            lines.extend(f"  {name} warning: {message}" for message in self.warnings[name])
        return lines

    def log(
        self,
        logger: logging.Logger,
        failures: dict[str, str],
        job_errors: Mapping[JobRef, str] | None = None,
    ) -> None:
        """Log the summary block.

        Args:
            logger: The tap's logger.
            failures: Vendors that failed, and why.
            job_errors: Jobs that failed this run, and why.
        """
        for line in self.lines(failures, job_errors):
            logger.info("%s", line)


def _by_stream(counts: Counter[str]) -> str:
    return ", ".join(f"{stream} {n}" for stream, n in sorted(counts.items()))
