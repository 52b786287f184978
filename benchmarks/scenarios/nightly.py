"""Nightly ledger series: scheduled runs that are given only the night's new job ids (issue 11).

The emulator runs in this process and its dataset changes between runs
(:class:`emulator.bench.NightlySeries`): each night 20 new Fullstory users jobs appear, with
10 imported users and 10 errors each; every 4th is still PROCESSING on its first night and
finished the next. Each night the tap (``python -m tap_batchimport --config … --state …``)
is given only that night's 20 ids and the previous run's final STATE, as a pipeline would.

Printed: requests per run and final STATE bytes per run (first, middle, last, max: both
should stay flat); over the union of all runs, result rows lost (rows of jobs finished by
the last night that no run emitted) and duplicated (emitted by more than one run); finished
jobs whose last ``job_details`` record is not final; requests for jobs whose results an
earlier night already finished extracting (should be 0).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.runner import Scenario, print_run, run_child, tap_module_command, write_config
from emulator import Dataset, NightlySeries, VendorEmulator, tap_config

if TYPE_CHECKING:
    from benchmarks.scenarios.sizes import Sizes

_STREAMS = ("imported_users", "user_import_errors")

Row = tuple[str, str, int]  # stream, job id, row number


@dataclass
class _Night:
    """What one night's run wrote: result rows, last job_details status, final STATE."""

    rows: list[Row] = field(default_factory=list)
    statuses: dict[str, bool] = field(default_factory=dict)  # job id -> is_finished
    final_state: bytes = b""


def _read_output(path: Path) -> _Night:
    night = _Night()
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            message = json.loads(line)
            kind = message.get("type")
            if kind == "RECORD":
                stream, data = message["stream"], message["record"]
                if stream in _STREAMS:
                    night.rows.append((stream, data["job_id"], data["row_number"]))
                elif stream == "job_details":
                    night.statuses[data["job_id"]] = bool(data.get("is_finished"))
            elif kind == "STATE":
                night.final_state = line.rstrip(b"\n")
    return night


def scenario_nightly(sizes: Sizes) -> Scenario:
    """Run the nightly series.

    Args:
        sizes: Nights, jobs per night and rows per job.

    Returns:
        The scenario; one run per night, its notes hold the per-run and union figures.
    """
    nights, per_night, per_list = sizes.nights, sizes.jobs_per_night, sizes.nightly_rows_per_list
    name = f"Fullstory {nights} nightly runs x {per_night} new job ids ({per_list}+{per_list} rows)"
    scenario = Scenario("nightly", name, 0, in_table=False)
    dataset = Dataset()
    series = NightlySeries(dataset, jobs_per_night=per_night, rows_per_list=per_list)
    seen: Counter[Row] = Counter()
    last_status: dict[str, bool] = {}
    settled: set[str] = set()  # finished jobs whose rows all came out by an earlier night
    requests_per_run: list[int] = []
    state_bytes: list[int] = []
    settled_requests = failed = 0
    print(f"[nightly] {scenario.name}", flush=True)
    with VendorEmulator(dataset) as emulator, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        directory = Path(tmp)
        state = directory / "state.json"
        output = directory / "out.jsonl"
        for night in range(1, nights + 1):
            ids = series.next_night()
            base = tap_config(emulator)
            config = write_config(directory, base | {"fullstory_user_import_job_ids": ids})
            emulator.clear_requests()
            command = tap_module_command(config, state if state.exists() else None)
            run = run_child(f"night {night}", command, stdout=output, check=False)
            log = emulator.requests
            run.requests = len(log)
            settled_requests += sum(1 for entry in log if entry.job_id in settled)
            result = _read_output(output)
            run.records = len(result.rows)
            scenario.runs.append(run)
            if run.exit_code:
                failed += 1
                print(f"  ! night {night}: the tap failed: {run.error.splitlines()[-1:]}")
            seen.update(result.rows)
            last_status.update(result.statuses)
            if result.final_state:
                value = json.loads(result.final_state)["value"]
                state.write_text(json.dumps(value), encoding="utf-8")
            requests_per_run.append(len(log))
            state_bytes.append(len(result.final_state))
            finished_now = set(series.finished)
            settled |= {
                job
                for job in finished_now
                if all((s, job, r) in seen for s in _STREAMS for r in range(per_list))
            }
            if night in {1, nights // 2 + 1, nights} or run.exit_code:
                print_run(run, max(run.records or 0, 1))
    expected = {(s, job, r) for job in series.finished for s in _STREAMS for r in range(per_list)}
    middle = len(requests_per_run) // 2
    walls = [run.wall for run in scenario.runs]
    scenario.notes.update(
        {
            "nights": nights,
            "new job ids per night": per_night,
            "requests per run": requests_per_run,
            "final STATE bytes per run": state_bytes,
            "requests last / middle": _ratio(requests_per_run, middle),
            "final STATE bytes last / middle": _ratio(state_bytes, middle),
            "jobs finished": len(series.finished),
            "rows expected": len(expected),
            "rows seen": len(seen),
            "rows lost": len(expected - seen.keys()),
            "rows duplicated": sum(count - 1 for count in seen.values()),
            "rows unexpected": len(seen.keys() - expected),
            "jobs with a stale job_details": sum(
                1 for job in series.finished if not last_status.get(job, False)
            ),
            "requests for jobs settled on an earlier night": settled_requests,
            "failed runs": failed,
            "median wall s": statistics.median(walls) if walls else None,
            "max wall s": max(walls) if walls else None,
        }
    )
    return scenario


def _ratio(values: list[int], middle: int) -> float | None:
    return values[-1] / values[middle] if values and values[middle] else None
