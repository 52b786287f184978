"""The loopback scenarios: the tap against the raw ceiling, and its memory, no latency.

Each starts the emulator in its own process (``python -m emulator serve --prewarm``), so
pages are rendered before any timing and the server never shares a GIL with what is
measured, then runs the installed ``tap-batchimport`` and the raw ceiling alternately.

1. Fullstory ``user_import_errors``: one job of 200,000 nested rows, 1,000 per page.
3. Fullstory, 5,000 jobs with 20 errors and 20 imports each: throughput, and the STATE
   the tap writes (bytes of STATE vs RECORD lines, final STATE bytes per job).
4. Peak RSS of the tap on 100,000 and on 1,000,000 rows.
5. DruID ``bulk_results``: 200,000 rows at ``limit`` 1000 (``druid_page_size``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from benchmarks.baselines import (
    DRUID_BULK_ID,
    DRUID_CLIENT_ID,
    DRUID_CLIENT_SECRET,
    FULLSTORY_KEY,
    fullstory_job_ids,
)
from benchmarks.profiling import profile_tap
from benchmarks.runner import (
    Emulator,
    Scenario,
    check_count,
    child_command,
    measure_pair,
    print_run,
    raw_records,
    run_child,
    tap_command,
    tap_records,
    write_config,
)

if TYPE_CHECKING:
    from benchmarks.scenarios.sizes import Sizes


def raw_command(*options: str) -> list[str]:
    """The raw ceiling's command line.

    Args:
        *options: Options after ``--raw``.

    Returns:
        The command line.
    """
    return child_command("--raw", *options)


def fullstory_config(base_url: str, jobs: int) -> dict[str, Any]:
    """The tap config of a bench-fullstory emulator.

    Args:
        base_url: The emulator's base URL.
        jobs: Number of users jobs (``bench-users-00000``, ...).

    Returns:
        The config.
    """
    return {
        "fullstory_api_key": FULLSTORY_KEY,
        "fullstory_api_url": base_url + "/fullstory",
        "fullstory_user_import_job_ids": fullstory_job_ids(jobs),
    }


def scenario_throughput(sizes: Sizes, repeat: int, *, profile: bool) -> Scenario:
    """Scenario 1: one Fullstory job of nested user-import errors, tap vs raw ceiling.

    Args:
        sizes: Dataset sizes.
        repeat: Runs of each program.
        profile: Also profile one tap run with cProfile.

    Returns:
        The scenario.
    """
    rows = sizes.rows
    scenario = Scenario("1", f"Fullstory errors, 1 job x {rows:,} rows", rows)
    page = str(sizes.page_size)
    with (
        Emulator("bench-fullstory", rows, "--page-size", page) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        print(f"[1] {scenario.name} (emulator ready in {emulator.start_seconds:.1f} s)")
        config = write_config(Path(tmp), fullstory_config(emulator.base_url, 1))
        count_tap = tap_records(frozenset({"user_import_errors", "imported_users"}))
        measure_pair(
            scenario,
            lambda: run_child("tap", tap_command(config), count=count_tap),
            lambda: run_child(
                "raw", raw_command("fullstory", emulator.base_url, "1"), count=raw_records
            ),
            repeat,
        )
        about = [*tap_command(config)[:1], "--about", "--format", "json"]
        startup = [run_child("tap --about", about).wall for _ in range(repeat)]
        # What start-up alone costs: the tap's imports (--about) and the raw's (no request).
        raw_startup_argv = raw_command("startup", "-", "0")
        raw_startup = [run_child("raw startup", raw_startup_argv).wall for _ in range(repeat)]
        if startup:
            scenario.notes["tap start-up (--about), best s"] = round(min(startup), 3)
            scenario.notes["raw start-up (imports, no request), best s"] = round(
                min(raw_startup), 3
            )
        if profile:
            scenario.notes["profile"] = profile_tap(config, rows, Path(tmp))
    return scenario


def scenario_many_jobs(sizes: Sizes, repeat: int) -> Scenario:
    """Scenario 3: many small Fullstory jobs (errors and imports): throughput and STATE size.

    Args:
        sizes: Dataset sizes.
        repeat: Runs of each program.

    Returns:
        The scenario.
    """
    jobs, per_job = sizes.small_jobs, sizes.rows_per_small_job
    rows = 2 * jobs * per_job  # `--endpoint both`: every job has both lists
    name = f"Fullstory {jobs:,} jobs x ({per_job} errors + {per_job} imports)"
    scenario = Scenario("3", name, rows)
    extra = ("--jobs", str(jobs), "--endpoint", "both", "--page-size", str(sizes.page_size))
    with (
        Emulator("bench-fullstory", jobs * per_job, *extra) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        print(f"[3] {scenario.name} (emulator ready in {emulator.start_seconds:.1f} s)")
        config = write_config(Path(tmp), fullstory_config(emulator.base_url, jobs))
        tap_out, raw_out = Path(tmp) / "tap.jsonl", Path(tmp) / "raw.jsonl"
        count_tap = tap_records(frozenset({"user_import_errors", "imported_users"}))
        measure_pair(
            scenario,
            # Both write to a file (the tap's output is analysed), so both pay the same.
            lambda: run_child("tap", tap_command(config), stdout=tap_out, count=count_tap),
            lambda: run_child(
                "raw",
                raw_command("fullstory", emulator.base_url, str(jobs)),
                stdout=raw_out,
                count=raw_records,
            ),
            repeat,
        )
        scenario.notes.update(analyse_singer_output(tap_out, jobs))
        pages = max(1, -(-per_job // sizes.page_size))  # of each list of each job
        requests_made = jobs * (1 + 2 * pages)  # status, then errors and imports pages
        tap_cpu, raw_cpu = scenario.min_cpu("tap"), scenario.min_cpu("raw")
        if tap_cpu is not None and raw_cpu is not None:
            overhead = (tap_cpu - raw_cpu) / requests_made * 1000
            scenario.notes["tap CPU over raw per request, ms"] = round(overhead, 3)
    return scenario


def analyse_singer_output(path: Path, jobs: int) -> dict[str, Any]:
    """Measure the RECORD and STATE lines of a tap's output.

    Args:
        path: The tap's standard output.
        jobs: Number of jobs extracted.

    Returns:
        Bytes and counts of RECORD and STATE lines, and the final STATE's bytes per job.
    """
    decode = msgspec.json.Decoder().decode
    record_bytes = state_bytes = states = largest_state = 0
    records: dict[str, int] = {}
    last_state = b""
    with path.open("rb") as lines:
        for line in lines:
            message = decode(line)
            kind = message.get("type")
            if kind == "RECORD":
                record_bytes += len(line)
                records[message["stream"]] = records.get(message["stream"], 0) + 1
            elif kind == "STATE":
                states += 1
                state_bytes += len(line)
                largest_state = max(largest_state, len(line))
                last_state = line.rstrip(b"\n")
    return {
        "RECORD lines by stream": records,
        "RECORD bytes": record_bytes,
        "STATE messages": states,
        "STATE bytes": state_bytes,
        "largest STATE bytes": largest_state,
        "final STATE bytes": len(last_state),
        "STATE / RECORD bytes": state_bytes / record_bytes if record_bytes else None,
        "final STATE bytes per job": len(last_state) / jobs,
    }


def scenario_memory(sizes: Sizes) -> Scenario:
    """Scenario 4: peak RSS of the tap on a small and on a large single job.

    Args:
        sizes: Dataset sizes.

    Returns:
        The scenario; its runs are labelled ``tap <rows>``.
    """
    small, large = sizes.memory_rows
    scenario = Scenario("4", f"Fullstory errors, peak RSS at {small:,} and {large:,} rows", large)
    for rows in (small, large):
        with (
            Emulator("bench-fullstory", rows, "--page-size", str(sizes.page_size)) as emulator,
            tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        ):
            print(f"[4] {rows:,} rows (emulator ready in {emulator.start_seconds:.1f} s)")
            config = write_config(Path(tmp), fullstory_config(emulator.base_url, 1))
            count = tap_records(frozenset({"user_import_errors", "imported_users"}))
            run = run_child(f"tap {rows}", tap_command(config), count=count)
            check_count(scenario, run, rows)
            scenario.runs.append(run)
            print_run(run, rows)
    return scenario


def scenario_druid(sizes: Sizes, repeat: int) -> Scenario:
    """Scenario 5: DruID ``bulk_results`` of one bulk, tap vs raw ceiling.

    Args:
        sizes: Dataset sizes.
        repeat: Runs of each program.

    Returns:
        The scenario.
    """
    rows, limit = sizes.druid_rows, sizes.page_size
    scenario = Scenario("5", f"DruID bulk_results, {rows:,} rows, limit {limit}", rows)
    with (
        Emulator("bench-druid", rows) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        print(f"[5] {scenario.name} (emulator ready in {emulator.start_seconds:.1f} s)")
        config = write_config(
            Path(tmp),
            {
                "druid_api_url": emulator.base_url + "/druid",
                "druid_auth_url": emulator.base_url + "/druid-auth",
                "druid_client_id": DRUID_CLIENT_ID,
                "druid_client_secret": DRUID_CLIENT_SECRET,
                "druid_bulk_ids": [DRUID_BULK_ID],
                "druid_page_size": limit,
            },
        )
        # The emulator's --prewarm renders DruID pages at limit 100 only: the untimed
        # raw run of measure_pair renders (and caches) the limit-1000 pages.
        measure_pair(
            scenario,
            lambda: run_child(
                "tap", tap_command(config), count=tap_records(frozenset({"bulk_results"}))
            ),
            lambda: run_child(
                "raw", raw_command("druid", emulator.base_url, str(limit)), count=raw_records
            ),
            repeat,
        )
    return scenario
