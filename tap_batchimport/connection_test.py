"""``--test``: cheap authenticated requests per configured vendor, one line each.

The SDK's connection test syncs every stream up to one record, which says nothing useful
when no job is configured and logs an ERROR per stream on the way. Here each configured
vendor gets its token (where it has one) and answers: the status of every named job (up to
``MAX_NAMED_CHECKED``), DruID's list endpoint, or the status of a job id that cannot exist
(a 404 then proves the credentials were accepted). A named job the vendor answers 404 for
fails the test: it is almost always a mistyped id.

The test is quick whatever the vendor does: its requests use short timeouts and at most two
attempts (:data:`TEST_LIMITS`), the vendors are checked side by side, and a vendor that has
not answered within :data:`DEADLINE_SECONDS` fails the test. Every vendor is checked, even
after one fails.
"""

from __future__ import annotations

import threading
import time
import typing as t

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.jobs import JobRef

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from tap_batchimport.run import Run
    from tap_batchimport.vendor import Vendor

#: A job id no vendor has: its 404 shows the credentials work without naming a job.
PROBE_JOB_ID = "tap-batchimport-connection-test"

#: Upper bounds of the request settings during ``--test`` (lower configured values stay):
#: a host that accepts connections but never answers costs 2 x 4 s plus one short back-off.
TEST_LIMITS: Mapping[str, int] = {
    "request_timeout_seconds": 4,
    "retry_max_attempts": 2,
    "retry_max_wait_seconds": 2,
}

#: A vendor that has not answered by then fails the test (its requests are abandoned).
DEADLINE_SECONDS = 15.0

#: Named jobs whose status is checked per vendor (the first ones, in order).
MAX_NAMED_CHECKED = 20


class UnknownJobError(Exception):
    """A named job id the vendor does not know."""


def connection_test_config(config: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The tap config for ``--test``: the request settings capped at :data:`TEST_LIMITS`.

    Args:
        config: The tap config.

    Returns:
        A copy with short timeouts and few attempts.
    """
    out = dict(config)
    for key, limit in TEST_LIMITS.items():
        value = out.get(key)
        out[key] = limit if value is None else min(int(value), limit)
    return out


def check_vendor(vendor: Vendor, run: Run) -> str:
    """Make a few authenticated requests to a vendor.

    Args:
        vendor: A configured vendor.
        run: The run (for the job ids file).

    Returns:
        What was checked, e.g. ``status of fullstory_users job X: COMPLETED``.

    Raises:
        UnknownJobError: The vendor does not know a named job.
    """
    named = vendor.named_jobs(run.from_file)
    if not named and (listed := vendor.listed_statuses()):
        return f"the list endpoint names {len(listed)} job(s)"
    if not named:
        status = vendor.fetch_status(JobRef(vendor.sources()[0], PROBE_JOB_ID))
        return f"credentials accepted (no job named; a made-up job id answered {status.status})"
    checked = named[:MAX_NAMED_CHECKED]
    statuses = [vendor.fetch_status(ref) for ref in checked]
    unknown = [s.ref for s in statuses if s.not_found]
    if unknown:
        ids = ", ".join(f"{ref.source} job {ref.job_id}" for ref in unknown)
        msg = f"unknown job id (mistyped?): the vendor answers 404 (NOT_FOUND) for {ids}"
        raise UnknownJobError(msg)
    if len(statuses) == 1:
        only = statuses[0]
        return f"status of {only.ref.source} job {only.ref.job_id}: {only.status}"
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status.status] = counts.get(status.status, 0) + 1
    found = ", ".join(f"{n} {name}" for name, n in counts.items())
    more = f" (the first {len(checked)} of {len(named)})" if len(named) > len(checked) else ""
    return f"status of {len(checked)} named job(s){more}: {found}"


class _Check(threading.Thread):
    """One vendor's check, in a daemon thread so a stuck request cannot hold the exit."""

    def __init__(self, vendor: Vendor, run: Run) -> None:
        super().__init__(name=f"test-{vendor.display_name}", daemon=True)
        self.vendor = vendor
        self.run_ = run
        self.outcome: tuple[bool, str] | None = None

    def run(self) -> None:
        try:
            self.outcome = (True, check_vendor(self.vendor, self.run_))
        except (VendorAPIError, UnknownJobError) as exc:
            self.outcome = (False, str(exc))
        except Exception as exc:  # noqa: BLE001  # one line per vendor, never a traceback
            self.outcome = (False, f"{type(exc).__name__}: {exc}")


def run_connection_test(
    run: Run, logger: logging.Logger, deadline_seconds: float = DEADLINE_SECONDS
) -> bool:
    """Check every configured vendor side by side, logging one line each.

    Args:
        run: The run (its vendors).
        logger: The tap's logger.
        deadline_seconds: How long the vendors get to answer.

    Returns:
        True when every configured vendor answered and knows every named job.
    """
    configured = [v for v in run.vendors if v.enabled]
    if not configured:
        logger.warning("No vendor has credentials set: nothing to test")
        return False
    logger.info(
        "Connection test: requests time out after %s s, %s attempt(s) each; %.0f s at most",
        run.config.get("request_timeout_seconds"),
        run.config.get("retry_max_attempts"),
        deadline_seconds,
    )
    checks = [_Check(vendor, run) for vendor in configured]
    for check in checks:
        check.start()
    ends = time.monotonic() + deadline_seconds
    for check in checks:
        check.join(max(0.0, ends - time.monotonic()))
    ok = True
    for check in checks:
        name = check.vendor.display_name
        outcome = check.outcome or (False, f"no answer within {deadline_seconds:.0f} s")
        if outcome[0]:
            # Which layout answered, so a user choosing sailpoint_api_version sees it worked.
            layout = check.vendor.api_layout
            logger.info("%s: ok (%s)", name, f"{layout}; {outcome[1]}" if layout else outcome[1])
        else:
            ok = False
            logger.error("%s: failed: %s", name, outcome[1])
    for vendor in run.vendors:
        if not vendor.enabled:
            logger.info("%s: not configured (skipped)", vendor.display_name)
    return ok
