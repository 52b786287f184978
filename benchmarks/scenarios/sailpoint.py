"""SailPoint: 500 import jobs, the tap against a plain client, both behind SailPoint's limit.

SailPoint allows 100 requests per 10 s per client id, token requests included, and the tap
keeps under it by itself, whatever its settings: no client reads 500 jobs (a token, 500
statuses, 500 downloads: 1,001 requests) faster than that limit lets it. So both programs
run against the emulator with the documented limit on (:data:`emulator.limits.
SAILPOINT_RATE_LIMIT`): the raw client (``run.py --raw sailpoint``, see ``baselines.py``)
sends its requests one after another as fast as they are answered and waits out every 429
for its ``Retry-After``, as a plain script must; the tap (``python -m tap_batchimport``,
default settings) paces itself and is never refused. Each program runs once (the limit,
not the machine, sets the time); the limit's windows start empty for each run.

Printed: each program's time, CPU time and requests, tap / raw throughput (goal: at least
0.85), the 429s each was given and the Retry-After violations (goal: 0).
"""

from __future__ import annotations

import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.runner import (
    Run,
    Scenario,
    alternate,
    child_command,
    raw_records,
    run_child,
    tap_module_command,
    tap_records,
    write_config,
)
from emulator import SAILPOINT_RATE_LIMIT, VendorEmulator, bench_sailpoint_dataset, tap_config
from emulator.bench import bench_sailpoint_rows_per_job

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.scenarios.sizes import Sizes

_STREAMS = frozenset({"config_import_results"})


def scenario_sailpoint(sizes: Sizes) -> Scenario:
    """Run the SailPoint scenario: the tap and the raw client, once each.

    Args:
        sizes: Dataset sizes.

    Returns:
        The scenario; its notes hold each program's 429s and Retry-After violations.
    """
    jobs, limit = sizes.sailpoint_jobs, SAILPOINT_RATE_LIMIT
    rows = jobs * bench_sailpoint_rows_per_job()
    budget = f"{limit.requests} requests / {limit.per_seconds:g} s per client id"
    scenario = Scenario("sailpoint", f"SailPoint {jobs:,} jobs behind its rate limit", rows)
    with (
        VendorEmulator(bench_sailpoint_dataset(jobs), sailpoint_rate_limit=limit) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        print(f"[sailpoint] {scenario.name} ({budget})", flush=True)
        config = write_config(Path(tmp), tap_config(emulator))

        def measured(program: str, argv: list[str], count: Callable[[str], int | None]) -> Run:
            emulator.sailpoint_rate_limit = limit  # empty windows: no run pays for the last
            emulator.clear_requests()
            run = run_child(program, argv, count=count)
            log = emulator.requests
            run.requests = len(log)
            refused = sum(1 for entry in log if entry.status == HTTPStatus.TOO_MANY_REQUESTS)
            scenario.notes[f"{program} 429s"] = refused
            scenario.notes[f"{program} Retry-After violations"] = emulator.retry_after_violations
            return run

        raw = child_command("--raw", "sailpoint", emulator.base_url, str(jobs))
        alternate(
            scenario,
            (
                lambda: measured("tap", tap_module_command(config), tap_records(_STREAMS)),
                lambda: measured("raw", raw, raw_records),
            ),
            1,
        )
    return scenario
