"""Start-up: a scheduled run in which every job is settled, against ``import singer_sdk``.

Most scheduled runs find nothing new: every job their config names was read by an earlier
run. Such a run should cost what starting any SDK tap costs, no more. The emulator (in
this process) serves 50 Fullstory jobs (10 imports and 10 errors each); one untimed tap run
reads them all, and its final STATE is kept. Then, alternately, ``--repeat`` times each:

- ``tap settled``: the installed ``tap-batchimport --config … --state …`` with that state:
  every job settled, so it makes no request (the emulator counts them: 0 expected);
- ``import sdk``: ``python -c "import singer_sdk"``, the floor of any SDK tap.

Printed: both times, the requests of the tap's runs, and settled run / import (goal: at
most 1.3).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.runner import Scenario, run_child, write_config
from emulator import VendorEmulator, bench_fullstory_dataset, tap_config

if TYPE_CHECKING:
    from benchmarks.scenarios.sizes import Sizes

#: Imports, and again errors, of each job.
ROWS_PER_LIST = 10


def final_state(output: Path) -> dict[str, object]:
    """The value of the last STATE message of a tap's output.

    Args:
        output: The tap's standard output.

    Returns:
        The state.

    Raises:
        RuntimeError: If the output has no STATE message.
    """
    state = None
    with output.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"STATE"'):
                state = line
    if state is None:
        msg = f"no STATE message in {output}"
        raise RuntimeError(msg)
    value: dict[str, object] = json.loads(state)["value"]
    return value


def scenario_startup(sizes: Sizes, repeat: int) -> Scenario:
    """Run the start-up scenario.

    Args:
        sizes: Dataset sizes.
        repeat: Runs of each program.

    Returns:
        The scenario; its notes hold the ratio and the settled runs' requests.
    """
    jobs = sizes.startup_jobs
    name = f"a scheduled run, {jobs:,} Fullstory jobs all settled"
    scenario = Scenario("startup", name, 0, in_table=False)
    dataset = bench_fullstory_dataset(
        jobs * ROWS_PER_LIST, jobs=jobs, page_size=sizes.page_size, endpoint="both"
    )
    with VendorEmulator(dataset) as emulator, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        print(f"[startup] {scenario.name}", flush=True)
        config = write_config(Path(tmp), tap_config(emulator))
        installed = Path(sys.executable).with_name("tap-batchimport")
        tap = [str(installed) if installed.exists() else "tap-batchimport", "--config", str(config)]
        first = Path(tmp) / "first.jsonl"
        run_child("tap first run", tap, stdout=first)
        state = write_config(Path(tmp), final_state(first), "state.json")

        programs = (
            ("tap settled", [*tap, "--state", str(state)]),
            ("import sdk", [sys.executable, "-c", "import singer_sdk"]),
        )
        for round_number in range(repeat):
            # Alternating which goes first, as runner.alternate does.
            for program, argv in programs[round_number % 2 :] + programs[: round_number % 2]:
                emulator.clear_requests()
                run = run_child(program, argv)
                run.requests = len(emulator.requests)
                scenario.runs.append(run)
                print(
                    f"  {program:<11} {run.wall:7.2f} s  cpu {run.cpu:6.2f} s"
                    f"  rss {run.rss_mib:6.1f} MiB  {run.requests} requests",
                    flush=True,
                )
    settled = [run.requests or 0 for run in scenario.runs if run.program == "tap settled"]
    scenario.notes.update(
        {
            "requests of the settled runs (max)": max(settled, default=0),
            "settled run / import singer_sdk": scenario.wall_ratio("tap settled", "import sdk"),
        }
    )
    return scenario
