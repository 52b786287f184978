"""Rate limit: 100 SailPoint jobs behind SailPoint's 100 requests / 10 s per client id.

The emulator runs in this process with the documented limit on (:data:`emulator.limits.
SAILPOINT_RATE_LIMIT`): past 100 requests in any 10 s window, token requests included, a
request gets 429 with ``Retry-After``. The tap (``python -m tap_batchimport``, default
settings) reads 100 COMPLETE import jobs: a token, then each job's status and download,
about 201 requests. One run (the limit, not the machine, sets the time).

Printed: the total time of the tap's process and the span from its first request to its
last (the limit governs the span; start-up, about a second, comes on top); the floor the
limit sets, ``admitted requests / 100 x 10 s`` (refused requests do not use the budget, so
they do not raise the floor; a client that bursts its first 100 requests can finish up to
one window under it); span / floor (goal: at most 1.15) and total / floor; the 429s; and
the Retry-After violations: requests that came back before the ``Retry-After`` their
client was given (goal: 0).
"""

from __future__ import annotations

import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.runner import (
    Scenario,
    record,
    run_child,
    tap_module_command,
    tap_records,
    write_config,
)
from emulator import (
    SAILPOINT_RATE_LIMIT,
    VendorEmulator,
    bench_sailpoint_dataset,
    tap_config,
)
from emulator.bench import bench_sailpoint_rows_per_job

if TYPE_CHECKING:
    from benchmarks.scenarios.sizes import Sizes


def scenario_ratelimit(sizes: Sizes) -> Scenario:
    """Run the rate-limit scenario.

    Args:
        sizes: Dataset sizes.

    Returns:
        The scenario; its notes hold the time, the floor, the 429s and the violations.
    """
    jobs, limit = sizes.ratelimit_jobs, SAILPOINT_RATE_LIMIT
    rows = jobs * bench_sailpoint_rows_per_job()
    budget = f"{limit.requests} requests / {limit.per_seconds:g} s per client id"
    scenario = Scenario("ratelimit", f"SailPoint {jobs:,} import jobs, rate-limited", rows)
    with (
        VendorEmulator(bench_sailpoint_dataset(jobs), sailpoint_rate_limit=limit) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        print(f"[ratelimit] {scenario.name} ({budget})", flush=True)
        config = write_config(Path(tmp), tap_config(emulator))
        count = tap_records(frozenset({"config_import_results"}))
        run = run_child("tap", tap_module_command(config), count=count, check=False)
        log = emulator.requests
        run.requests = len(log)
        record(scenario, run)
        if run.exit_code:
            print(f"  ! the tap failed: {run.error.splitlines()[-1:]}")
        refused = sum(1 for entry in log if entry.status == HTTPStatus.TOO_MANY_REQUESTS)
        admitted = len(log) - refused
        floor = admitted / limit.requests * limit.per_seconds
        span = log[-1].time - log[0].time if log else 0.0
        scenario.notes.update(
            {
                "limit": budget,
                "total s": round(run.wall, 2),
                "first to last request s": round(span, 2),
                "requests admitted": admitted,
                "requests refused (429)": refused,
                "floor s": round(floor, 2),
                "time / floor": span / floor if floor else None,
                "total / floor": run.wall / floor if floor else None,
                "Retry-After violations": emulator.retry_after_violations,
                "tap exit code": run.exit_code,
            }
        )
    return scenario
