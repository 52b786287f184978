"""Latency: many small Fullstory jobs behind 50 ms per answer (issue 12).

The emulator runs in this process (a thread per connection; this process only waits for
its children meanwhile) and holds every answer back by the latency. 200 jobs with 20
imports and 20 errors each are read, one page per list: 600 requests. Three programs, each
its own process, alternate:

- ``tap``: ``python -m tap_batchimport --config …`` with the default settings
  (``max_concurrent_requests`` 8 once concurrency lands);
- ``client x8``: the reference client of :mod:`benchmarks.baselines`, 8 jobs in flight;
- ``tap mcr=1``: the tap with ``max_concurrent_requests: 1`` (one run: the sequential
  baseline).

Printed: each program's time and requests, and tap / client (goal: at most 1.25).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.runner import (
    Run,
    Scenario,
    alternate,
    child_command,
    raw_records,
    record,
    run_child,
    tap_module_command,
    tap_records,
    write_config,
)
from emulator import VendorEmulator, bench_fullstory_dataset, tap_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.scenarios.sizes import Sizes

_STREAMS = frozenset({"user_import_errors", "imported_users"})
WORKERS = 8


def scenario_latency(sizes: Sizes, repeat: int) -> Scenario:
    """Run the latency scenario.

    Args:
        sizes: Dataset sizes and the latency.
        repeat: Runs of the tap (default settings) and of the reference client.

    Returns:
        The scenario; its notes hold the latency and the time ratios.
    """
    jobs, per_list, latency_ms = sizes.latency_jobs, sizes.latency_rows_per_list, sizes.latency_ms
    rows = 2 * jobs * per_list
    name = f"Fullstory {jobs:,} jobs x ({per_list} imports + {per_list} errors), latency"
    scenario = Scenario("latency", name, rows)
    dataset = bench_fullstory_dataset(
        jobs * per_list, jobs=jobs, page_size=sizes.page_size, endpoint="both"
    )
    with (
        VendorEmulator(dataset, latency_seconds=latency_ms / 1000) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        emulator.prewarm()
        print(f"[latency] {scenario.name} ({latency_ms} ms per answer)", flush=True)
        config = tap_config(emulator)
        default = write_config(Path(tmp), config)
        sequential = write_config(Path(tmp), config | {"max_concurrent_requests": 1}, "one.json")
        count = tap_records(_STREAMS)

        def measured(program: str, argv: list[str], reader: Callable[[str], int | None]) -> Run:
            emulator.clear_requests()
            run = run_child(program, argv, count=reader)
            run.requests = len(emulator.requests)
            return run

        client = child_command("--reference", emulator.base_url, str(jobs), str(WORKERS))
        alternate(
            scenario,
            (
                lambda: measured("tap", tap_module_command(default), count),
                lambda: measured(f"client x{WORKERS}", client, raw_records),
            ),
            repeat,
        )
        record(scenario, measured("tap mcr=1", tap_module_command(sequential), count))
    scenario.notes.update(
        {
            "latency ms": latency_ms,
            "tap / client time": scenario.wall_ratio("tap", f"client x{WORKERS}"),
            "tap mcr=1 / client time": scenario.wall_ratio("tap mcr=1", f"client x{WORKERS}"),
        }
    )
    return scenario
