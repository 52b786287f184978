"""``--test``: one cheap authenticated request per configured vendor, one line each.

The SDK's connection test syncs every stream up to one record, which says nothing useful
when no job is configured and logs an ERROR per stream on the way. Here each configured
vendor gets its token (where it has one) and answers one request: the status of one
named job, DruID's list endpoint, or the status of a job id that cannot exist (a 404
then proves the credentials were accepted). Every vendor is checked, even after one fails.
"""

from __future__ import annotations

import typing as t

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.jobs import JobRef

if t.TYPE_CHECKING:
    import logging

    from tap_batchimport.run import Run
    from tap_batchimport.vendor import Vendor

#: A job id no vendor has: its 404 shows the credentials work without naming a job.
PROBE_JOB_ID = "tap-batchimport-connection-test"


def check_vendor(vendor: Vendor, run: Run) -> str:
    """Make one authenticated request to a vendor.

    Args:
        vendor: A configured vendor.
        run: The run (for the job ids file).

    Returns:
        What was checked, e.g. ``status of job X: COMPLETED``.

    Raises:
        VendorAPIError: The vendor refused the request or kept failing.
    """
    named = vendor.named_jobs(run.from_file)
    if not named and (listed := vendor.listed_statuses()):
        return f"the list endpoint names {len(listed)} job(s)"
    ref = named[0] if named else JobRef(vendor.sources()[0], PROBE_JOB_ID)
    status = vendor.fetch_status(ref)
    if not named:
        return f"credentials accepted (no job named; a made-up job id answered {status.status})"
    return f"status of {ref.source} job {ref.job_id}: {status.status}"


def run_connection_test(run: Run, logger: logging.Logger) -> bool:
    """Check every configured vendor, logging one line each.

    Args:
        run: The run (its vendors).
        logger: The tap's logger.

    Returns:
        True when every configured vendor answered.
    """
    configured = [v for v in run.vendors if v.enabled]
    if not configured:
        logger.warning("No vendor has credentials set: nothing to test")
        return False
    ok = True
    for vendor in configured:
        try:
            checked = check_vendor(vendor, run)
            # Which layout answered, so a user choosing sailpoint_api_version sees it worked.
            layout = vendor.api_layout
            logger.info(
                "%s: ok (%s)", vendor.display_name, f"{layout}; {checked}" if layout else checked
            )
        except VendorAPIError as exc:  # noqa: PERF203  # every vendor is checked
            ok = False
            logger.error("%s: failed: %s", vendor.display_name, exc)  # noqa: TRY400
    for vendor in run.vendors:
        if not vendor.enabled:
            logger.info("%s: not configured (skipped)", vendor.display_name)
    return ok
