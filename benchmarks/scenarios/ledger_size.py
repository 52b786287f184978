"""STATE cost against the size of the ledger: one job read with 50 or 50,000 jobs remembered.

A ``job_ids_file`` is append-only, so every job it ever named stays remembered (settled,
no request) as long as the file names it: after a year of nightly imports the state holds
tens of thousands of jobs. Every STATE message carries the whole ledger, so what matters is
that writing one costs about what copying its bytes costs, not re-encoding (or, as the SDK's
own state writer did, deep-comparing and deep-copying) every entry for every page.

The emulator (its own process, pages rendered first) serves one Fullstory users job of
``ledger_rows`` rows, 200 per page (a STATE after every page). The tap reads it twice over,
alternating: with a job ids file naming 50 jobs in all, and with one naming 50,000; all but
the big job are settled, and the state is the one the tap itself left after reading the
file that far (so the second run remembers 50,000 jobs, as a year of nightly imports
would). Printed: the job's rows/s from its first page to its last (what STATE messages
cost), their ratio (goal ≥ 0.9), each process's whole time (which also reads the file and
the state), STATE messages and bytes per STATE message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.baselines import FULLSTORY_KEY, fullstory_job_ids
from benchmarks.runner import (
    Emulator,
    Run,
    Scenario,
    alternate,
    run_child,
    tap_module_command,
    tap_records,
    write_config,
)

if TYPE_CHECKING:
    from benchmarks.scenarios.sizes import Sizes

#: Jobs the two runs remember (the big job included).
SMALL_LEDGER = 50
LARGE_LEDGER = 50_000
PAGE_ROWS = 200
_STREAMS = frozenset({"imported_users", "user_import_errors"})


def _prepare(directory: Path, base_url: str, remembered: int) -> tuple[Path, Path]:
    """Write the config, job ids file and state of a run remembering ``remembered`` jobs.

    Returns:
        The config and the state file.
    """
    big = fullstory_job_ids(1)[0]
    settled = [f"settled-{number:06d}" for number in range(remembered - 1)]
    ids_file = directory / "job_ids.txt"
    ids_file.write_text(
        "".join(f"fullstory_users,{job_id}\n" for job_id in [*settled, big]), encoding="utf-8"
    )
    # The state the tap leaves once the file was read up to the big job, all settled:
    # the file's position (jobs, digest of their lines, streams done), no entry per job.
    digest = hashlib.sha256()
    for job_id in settled:
        digest.update(f"fullstory_users,{job_id}\n".encode())
    mark = {
        "count": len(settled),
        "digest": digest.hexdigest()[:16],
        "done": {"fullstory_users": ["imported_users", "user_import_errors"]},
    }
    state = {"bookmarks": {"job_details": {"jobs": {}, "file": mark}}}
    state_path = directory / "state.json"
    state_path.write_text(json.dumps(state), encoding="utf-8")
    config = write_config(
        directory,
        {
            "fullstory_api_key": FULLSTORY_KEY,
            "fullstory_api_url": base_url + "/fullstory",
            "job_ids_file": str(ids_file),
            "max_concurrent_requests": 1,
        },
    )
    return config, state_path


def _read(output: Path) -> tuple[int, int, float]:
    """STATE messages of a run's output, their bytes, and the job's reading time.

    Returns:
        STATE messages, their bytes in all, and seconds from the first page read to the
        last (the records' ``time_extracted``).
    """
    count = size = 0
    first = last = ""
    with output.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"STATE"'):
                count += 1
                size += len(line)
            elif (
                line.startswith(b'{"type":"RECORD","stream":"')
                and b'"job_details"' not in line[:40]
            ):
                extracted = json.loads(line)["time_extracted"]
                first = first or extracted
                last = extracted
    seconds = (dt.datetime.fromisoformat(last) - dt.datetime.fromisoformat(first)).total_seconds()
    return count, size, seconds


def scenario_ledger_size(sizes: Sizes, repeat: int) -> Scenario:
    """One job of ``sizes.ledger_rows`` rows with 50 and with 50,000 jobs remembered.

    Args:
        sizes: Dataset sizes.
        repeat: Runs of each.

    Returns:
        The scenario.
    """
    rows = sizes.ledger_rows
    scenario = Scenario("state", f"1 job x {rows:,} rows, 50 vs 50,000 remembered", rows)
    with (
        Emulator("bench-fullstory", rows, "--page-size", str(PAGE_ROWS)) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-state-") as tmp,
    ):
        print(f"[state] {scenario.name} (emulator ready in {emulator.start_seconds:.1f} s)")
        count = tap_records(_STREAMS)
        programs = []
        for remembered in (SMALL_LEDGER, LARGE_LEDGER):
            directory = Path(tmp) / str(remembered)
            directory.mkdir()
            config, state = _prepare(directory, emulator.base_url, remembered)
            output = directory / "out.jsonl"
            label = f"tap, {remembered:,} remembered"

            def one(  # binds this loop's values
                config: Path = config,
                state: Path = state,
                output: Path = output,
                label: str = label,
                remembered: int = remembered,
            ) -> Run:
                run = run_child(
                    label, tap_module_command(config, state), stdout=output, count=count
                )
                messages, size, seconds = _read(output)
                scenario.notes[f"STATE messages, {remembered:,} remembered"] = messages
                scenario.notes[f"STATE bytes per message, {remembered:,} remembered"] = size // max(
                    messages, 1
                )
                key = f"job rows/s (first to last page), {remembered:,} remembered"
                best = scenario.notes.get(key, 0)
                scenario.notes[key] = max(best, round(rows / max(seconds, 1e-6)))
                return run

            programs.append(one)
        alternate(scenario, programs, repeat)
    small = scenario.notes.get(f"job rows/s (first to last page), {SMALL_LEDGER:,} remembered")
    large = scenario.notes.get(f"job rows/s (first to last page), {LARGE_LEDGER:,} remembered")
    if small and large:
        scenario.notes["job rows/s with 50,000 / with 50 remembered (goal >= 0.9)"] = round(
            large / small, 3
        )
    return scenario
