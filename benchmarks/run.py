"""Benchmark tap-batchimport against the project's vendor emulator.

Run it from the repository root, with the Python that has the tap installed::

    python benchmarks/run.py                # every scenario, full sizes, best of 3
    python benchmarks/run.py --quick        # smaller sizes: a smoke run
    python benchmarks/run.py --only 1 --profile

Every program measured runs in its own process: the emulator (one per scenario, pages
pre-rendered with ``--prewarm`` before timing), the tap (``tap-batchimport --config``) and
the *raw ceiling* (this file with ``--raw``: a minimal ``requests`` + ``msgspec`` loop that
makes the tap's requests and writes the same Singer RECORD lines, without validation,
bookmarks or STATE). A program's time is the wall time of its whole process, start-up
included, as a user pays it; its peak RSS is the ``ru_maxrss`` that ``wait4`` reports for
it alone. Tap and raw runs alternate, and the best of ``--repeat`` runs is kept.

Scenarios (``--only N``; numbered as in the issue, which has no scenario 2):

1. Fullstory ``user_import_errors``: one job of 200,000 nested rows, 1,000 per page.
3. Fullstory, 5,000 jobs with 20 errors and 20 imports each: throughput, and the STATE
   the tap writes (bytes of STATE vs RECORD lines, final STATE bytes per job).
4. Peak RSS of the tap on 100,000 and on 1,000,000 rows.
5. DruID ``bulk_results``: 200,000 rows at ``limit`` 1000 (``druid_page_size``).

Results are printed as a table and written as JSON (``benchmarks/results.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import requests

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "benchmarks" / "results.json"

FULLSTORY_KEY = "fs-demo-key"
DRUID_CLIENT_ID = "druid-demo-client"
DRUID_CLIENT_SECRET = "druid-demo-secret"  # noqa: S105 - the emulator's demo credential
DRUID_BULK_ID = "018f0000-0000-7000-8000-00000000be9c"
FULLSTORY_LISTS = (("errors", "user_import_errors"), ("imports", "imported_users"))

MIB = 1024 * 1024
#: A child still running after this long is killed (and the benchmark fails).
CHILD_TIMEOUT_SECONDS = 3600
EMULATOR_START_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Sizes:
    """Dataset sizes of the scenarios.

    Attributes:
        rows: Rows of scenario 1 (one Fullstory job).
        small_jobs: Jobs of scenario 3.
        rows_per_small_job: Errors, and again imports, of each scenario 3 job.
        memory_rows: The small and the large row counts of scenario 4.
        druid_rows: Rows of the DruID bulk of scenario 5.
        page_size: Rows per page (Fullstory page size, DruID ``limit``).
    """

    rows: int = 200_000
    small_jobs: int = 5_000
    rows_per_small_job: int = 20
    memory_rows: tuple[int, int] = (100_000, 1_000_000)
    druid_rows: int = 200_000
    page_size: int = 1_000


FULL = Sizes()
QUICK = Sizes(
    rows=20_000,
    small_jobs=500,
    rows_per_small_job=20,
    memory_rows=(10_000, 100_000),
    druid_rows=20_000,
)


# Measuring child processes.


@dataclass
class Run:
    """One measured process.

    Attributes:
        program: ``tap``, ``raw`` or ``tap --about``.
        wall: Wall time of the whole process, in seconds.
        cpu: User plus system CPU time of the process, in seconds.
        rss_mib: Peak resident set size, in MiB.
        records: Result records it reported (None when it did not say).
    """

    program: str
    wall: float
    cpu: float
    rss_mib: float
    records: int | None = None


def run_child(
    program: str,
    argv: Sequence[str],
    *,
    stdout: Path | None = None,
    count: Callable[[str], int | None] | None = None,
) -> Run:
    """Run a process to its end and measure it.

    Args:
        program: Label of the run.
        argv: Command line.
        stdout: File to write its standard output to; None discards it (``/dev/null``).
        count: Reads the number of result records from its standard error.

    Returns:
        The measurement.

    Raises:
        RuntimeError: If the process fails or times out.
    """
    sink = stdout if stdout is not None else Path(os.devnull)
    with sink.open("wb") as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO)
        timer = threading.Timer(CHILD_TIMEOUT_SECONDS, process.kill)
        timer.start()
        try:
            # wait4 gives this child's own rusage: its peak RSS, not the max of all children.
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
    if process.returncode != 0:
        tail = "\n".join(log.splitlines()[-15:])
        msg = f"{program} exited with {process.returncode}: {' '.join(argv)}\n{tail}"
        raise RuntimeError(msg)
    return Run(
        program=program,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mib=usage.ru_maxrss * 1024 / MIB,  # ru_maxrss is in KiB on Linux
        records=count(log) if count is not None else None,
    )


def tap_records(streams: frozenset[str]) -> Callable[[str], int | None]:
    """Build a reader of the tap's record count from its ``record_count`` METRIC logs.

    Args:
        streams: The streams whose records count.

    Returns:
        A function of the tap's standard error; it returns None without METRIC lines.
    """

    def count(log: str) -> int | None:
        total, seen = 0, False
        for line in log.splitlines():
            _, found, text = line.partition("METRIC: ")
            if not found:
                continue
            with contextlib.suppress(ValueError):
                point = json.loads(text)
                if point.get("metric") == "record_count":
                    seen = True
                    if point.get("tags", {}).get("stream") in streams:
                        total += int(point["value"])
        return total if seen else None

    return count


def raw_records(log: str) -> int | None:
    """Read the record count the raw ceiling prints on standard error.

    Args:
        log: Its standard error.

    Returns:
        The count, or None.
    """
    for line in reversed(log.splitlines()):
        if line.startswith("raw records: "):
            return int(line.removeprefix("raw records: "))
    return None


def tap_command(config: Path) -> list[str]:
    """The tap's command line, as a user runs it.

    Args:
        config: The config file.

    Returns:
        The command line.
    """
    installed = Path(sys.executable).with_name("tap-batchimport")
    tap = str(installed) if installed.exists() else "tap-batchimport"
    return [tap, "--config", str(config)]


def raw_command(*options: str) -> list[str]:
    """The raw ceiling's command line.

    Args:
        *options: Options after ``--raw``.

    Returns:
        The command line.
    """
    return [sys.executable, str(Path(__file__).resolve()), "--raw", *options]


# The emulator.


class Emulator:
    """The project's vendor emulator in its own process, serving one scenario."""

    def __init__(self, scenario: str, rows: int, *extra: str) -> None:
        """Describe the emulator to start.

        Args:
            scenario: ``bench-fullstory`` or ``bench-druid``.
            rows: Rows of the dataset.
            *extra: More ``serve`` options (``--jobs``, ``--endpoint``, ...).
        """
        self.argv = [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--scenario",
            scenario,
            "--rows",
            str(rows),
            *extra,
            "--prewarm",
        ]
        self.base_url = ""
        self.start_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="bench-emulator-")

    def __enter__(self) -> Emulator:  # noqa: PYI034 - Self needs Python 3.11
        """Start the emulator and wait until it serves (pages rendered).

        Returns:
            The emulator, with its ``base_url``.

        Raises:
            RuntimeError: If it exits or does not come up in time.
        """
        url_file = Path(self._dir.name) / "url"
        log = Path(self._dir.name) / "stderr"
        start = time.perf_counter()
        with log.open("wb") as err:
            self._process = subprocess.Popen(
                [*self.argv, "--url-file", str(url_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=REPO,
            )
        while not url_file.exists():
            if self._process.poll() is not None or time.perf_counter() - start > (
                EMULATOR_START_TIMEOUT_SECONDS
            ):
                self.__exit__(None, None, None)
                msg = f"the emulator did not start: {' '.join(self.argv)}\n{log.read_text()}"
                raise RuntimeError(msg)
            time.sleep(0.1)
        self.start_seconds = time.perf_counter() - start
        self.base_url = url_file.read_text(encoding="utf-8").strip()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the emulator (SIGTERM, then SIGKILL) and remove its files."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._dir.cleanup()


# Scenarios.


@dataclass
class Scenario:
    """The runs of one scenario and what was learnt from them.

    Attributes:
        number: Scenario number (``--only``).
        name: Short description.
        rows: Result records each program must write.
        runs: Every measured run.
        notes: Extra figures (e.g. STATE sizes), printed under the table.
    """

    number: int
    name: str
    rows: int
    runs: list[Run] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def best(self, program: str) -> Run | None:
        """The fastest run of a program (None if it did not run)."""
        runs = [run for run in self.runs if run.program == program]
        return min(runs, key=lambda run: run.wall) if runs else None

    def median_wall(self, program: str) -> float | None:
        """The median wall time of a program's runs."""
        walls = [run.wall for run in self.runs if run.program == program]
        return statistics.median(walls) if walls else None

    def min_cpu(self, program: str) -> float | None:
        """The smallest CPU time of a program's runs."""
        cpus = [run.cpu for run in self.runs if run.program == program]
        return min(cpus) if cpus else None

    def throughput(self, program: str) -> float | None:
        """Records per second of a program's best run."""
        best = self.best(program)
        return self.rows / best.wall if best is not None else None

    def tap_over_raw(self) -> float | None:
        """Tap throughput divided by the raw ceiling's (best runs, wall time)."""
        tap, raw = self.throughput("tap"), self.throughput("raw")
        return tap / raw if tap is not None and raw else None

    def tap_over_raw_cpu(self) -> float | None:
        """The same ratio on CPU time (less sensitive to other load on the machine)."""
        tap, raw = self.min_cpu("tap"), self.min_cpu("raw")
        return raw / tap if tap and raw is not None else None


def check_count(scenario: Scenario, run: Run, expected: int) -> None:
    """Warn when a run did not report the expected number of result records.

    Args:
        scenario: The scenario (for the message).
        run: The run.
        expected: Result records it should have written.
    """
    if run.records is None:
        print(f"  ! {scenario.name}: {run.program} did not report its record count")
    elif run.records != expected:
        print(f"  ! {scenario.name}: {run.program} wrote {run.records:,} records, not {expected:,}")


def measure_pair(
    scenario: Scenario,
    tap: Callable[[], Run],
    raw: Callable[[], Run],
    repeat: int,
) -> None:
    """Run the tap and the raw ceiling ``repeat`` times each, alternating which goes first.

    An untimed raw run first fills the emulator's page cache and the OS caches.

    Args:
        scenario: Where the runs go.
        tap: Runs the tap once.
        raw: Runs the raw ceiling once.
        repeat: Runs of each.
    """
    raw()
    for round_number in range(repeat):
        order = (tap, raw) if round_number % 2 == 0 else (raw, tap)
        for program in order:
            run = program()
            check_count(scenario, run, scenario.rows)
            scenario.runs.append(run)
            print(
                f"  {run.program:<11} {run.wall:7.2f} s  {scenario.rows / run.wall:>9,.0f} rec/s"
                f"  cpu {run.cpu:6.2f} s  rss {run.rss_mib:6.1f} MiB",
                flush=True,
            )


def write_config(directory: Path, config: dict[str, Any]) -> Path:
    """Write a tap config file.

    Args:
        directory: Where.
        config: The settings.

    Returns:
        Its path.
    """
    path = directory / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


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


def fullstory_job_ids(jobs: int) -> list[str]:
    """The ids of the bench-fullstory jobs.

    Args:
        jobs: Number of jobs.

    Returns:
        ``bench-users-00000``, ...
    """
    return [f"bench-users-{number:05d}" for number in range(jobs)]


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
    scenario = Scenario(1, f"Fullstory errors, 1 job x {rows:,} rows", rows)
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
        # What start-up alone costs: the tap's imports (--about) and the raw's (--help).
        raw_help = [sys.executable, str(Path(__file__).resolve()), "--help"]
        raw_startup = [run_child("raw --help", raw_help).wall for _ in range(repeat)]
        if startup:
            scenario.notes["tap start-up (--about), best s"] = round(min(startup), 3)
            scenario.notes["raw start-up (--help), best s"] = round(min(raw_startup), 3)
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
    scenario = Scenario(3, name, rows)
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
            extra = (tap_cpu - raw_cpu) / requests_made * 1000
            scenario.notes["tap CPU over raw per request, ms"] = round(extra, 3)
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
    scenario = Scenario(4, f"Fullstory errors, peak RSS at {small:,} and {large:,} rows", large)
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
            print(
                f"  {run.program:<11} {run.wall:7.2f} s  {rows / run.wall:>9,.0f} rec/s"
                f"  cpu {run.cpu:6.2f} s  rss {run.rss_mib:6.1f} MiB",
                flush=True,
            )
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
    scenario = Scenario(5, f"DruID bulk_results, {rows:,} rows, limit {limit}", rows)
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


# Profile.


def profile_tap(config: Path, records: int, directory: Path) -> dict[str, Any]:
    """Profile one tap run with cProfile (in a child process) and summarise it.

    Args:
        config: The tap config.
        records: Result records the run writes.
        directory: Where the summary file goes.

    Returns:
        The summary: wall time, GC time, top functions and time by package.
    """
    summary = directory / "profile.json"
    run_child(
        "profile",
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--profile-child",
            str(config),
            str(summary),
            str(records),
        ],
    )
    result: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
    return result


#: Builtins that run while modules load (unmarshal, compile, execute module bodies).
_STARTUP_BUILTINS = (
    "marshal",
    "compile",
    "builtins.exec",
    "__build_class__",
    "posix.",
    "open_code",
)


def _where(path: str, function: str) -> str:
    # A short name for a profiled function: package-relative path, or the builtin's name.
    if path == "~":
        return function
    marker = "site-packages/"
    if marker in path:
        path = path.split(marker, 1)[1]
    elif str(REPO) in path:
        path = path.split(str(REPO) + "/", 1)[1]
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path}:{function}"


def _area(path: str, function: str) -> str:
    # Which package a profiled function belongs to.
    if path == "~":
        return _builtin_area(function)
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if str(REPO) in path:
        return path.split(str(REPO) + "/", 1)[1].split("/", 1)[0]
    if path.startswith("<frozen"):
        return "start-up: import machinery"
    return "stdlib " + path.rsplit("/", 1)[-1].removesuffix(".py")


def _builtin_area(function: str) -> str:
    if "msgspec" in function:
        return "msgspec (C)"
    if any(name in function for name in _STARTUP_BUILTINS):
        return "start-up: loading code (C)"
    if any(name in function for name in ("socket", "_io.", "_ssl", "select")):
        return "I/O (C)"
    return "other builtins (C)"


def profile_child(config: str, summary: str, records: int) -> int:
    """Run the tap in this process under cProfile and write a JSON summary.

    Args:
        config: The tap config file.
        summary: Where to write the summary.
        records: Result records the run writes (for time per record).

    Returns:
        The tap's exit status.
    """
    gc_time = [0.0, 0.0]  # total seconds, start of the running collection
    gc_runs = [0, 0, 0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_time[1] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - gc_time[1]
            gc_runs[info["generation"]] += 1

    gc.callbacks.append(on_gc)
    profiler = cProfile.Profile()
    sys.argv = ["tap-batchimport", "--config", config]
    start = time.perf_counter()
    profiler.enable()
    code: int | str | None = 0
    try:
        from tap_batchimport.tap import TapBatchImport  # noqa: PLC0415 - imports are profiled

        TapBatchImport.cli()
    except SystemExit as exc:
        code = exc.code
    finally:
        profiler.disable()
        sys.stdout.flush()
    wall = time.perf_counter() - start
    gc.callbacks.remove(on_gc)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    rows = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)
    by_area: dict[str, float] = {}
    for (path, _, function), entry in stats.items():
        area = _area(path, function)
        by_area[area] = by_area.get(area, 0.0) + entry[2]
    result = {
        "records": records,
        "wall_seconds": round(wall, 3),
        "profiled_seconds": round(total, 3),
        "gc_seconds": round(gc_time[0], 3),
        "gc_collections_by_generation": gc_runs,
        "top_functions": [
            {
                "function": _where(path, function),
                "calls": entry[1],
                "self_seconds": round(entry[2], 3),
                "share": round(entry[2] / total, 4),
                "self_us_per_record": round(entry[2] / records * 1e6, 3),
            }
            for (path, _, function), entry in rows[:15]
        ],
        "by_package": [
            {"package": area, "self_seconds": round(seconds, 3), "share": round(seconds / total, 4)}
            for area, seconds in sorted(by_area.items(), key=lambda item: -item[1])[:12]
        ],
    }
    Path(summary).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return code if isinstance(code, int) else int(code is not None)


# The raw ceiling.


class _RecordWriter:
    """Singer RECORD lines straight from dicts, one write per page."""

    def __init__(self) -> None:
        self._encode_into = msgspec.json.Encoder().encode_into
        self._line = bytearray()
        self._page = bytearray()
        self._out = sys.stdout.buffer

    def write(self, stream: str, record: dict[str, Any], time_extracted: str) -> None:
        message = {
            "type": "RECORD",
            "stream": stream,
            "record": record,
            "time_extracted": time_extracted,
        }
        self._encode_into(message, self._line)
        self._page += self._line
        self._page += b"\n"

    def end_page(self) -> None:
        self._out.write(self._page)
        self._page.clear()

    def close(self) -> None:
        self.end_page()
        self._out.flush()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def raw_fullstory(base_url: str, jobs: int) -> int:
    """The raw ceiling for Fullstory: the tap's requests, RECORD lines, nothing else.

    Status of every job, then the ``errors`` and ``imports`` lists of every job, page by
    page (``next_page_token``), each item written with ``job_id`` and ``row_number``.

    Args:
        base_url: The emulator's base URL.
        jobs: Number of jobs (``bench-users-00000``, ...).

    Returns:
        Result records written.
    """
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Basic {FULLSTORY_KEY}", "Accept": "application/json"}
    )
    decode = msgspec.json.Decoder().decode
    writer = _RecordWriter()
    api = base_url + "/fullstory/v2/users/batch/"
    ids = fullstory_job_ids(jobs)
    for job_id in ids:
        response = session.get(api + job_id)
        response.raise_for_status()
        status = {
            "source": "fullstory_users",
            "job_id": job_id,
            "vendor_status": decode(response.content),
        }
        writer.write("job_details", status, _now())
    writer.end_page()
    count = 0
    for what, stream in FULLSTORY_LISTS:
        for job_id in ids:
            token, row = None, 0
            while True:
                response = session.get(f"{api}{job_id}/{what}", params={"page_token": token})
                response.raise_for_status()
                page = decode(response.content)
                extracted = _now()
                for item in page.get("results") or ():
                    item["job_id"] = job_id
                    item["row_number"] = row
                    writer.write(stream, item, extracted)
                    row += 1
                writer.end_page()
                token = page.get("next_page_token")
                if not token:
                    break
            count += row
    writer.close()
    return count


def raw_druid(base_url: str, limit: int) -> int:
    """The raw ceiling for DruID: token, status, then ``lastId`` paging of the bulk.

    Args:
        base_url: The emulator's base URL.
        limit: Rows per page.

    Returns:
        Result records written.
    """
    session = requests.Session()
    decode = msgspec.json.Decoder().decode
    form = {
        "grant_type": "client_credentials",
        "client_id": DRUID_CLIENT_ID,
        "client_secret": DRUID_CLIENT_SECRET,
    }
    response = session.post(base_url + "/druid-auth/oauth2/token", data=form)
    response.raise_for_status()
    token = decode(response.content)["access_token"]
    session.headers.update(
        {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        }
    )
    writer = _RecordWriter()
    bulk = f"{base_url}/druid/activityid/v1/user/bulk/{DRUID_BULK_ID}"
    response = session.get(bulk)
    response.raise_for_status()
    status = {"source": "druid", "job_id": DRUID_BULK_ID, "vendor_status": decode(response.content)}
    writer.write("job_details", status, _now())
    count, last = 0, None
    while True:
        params = {"limit": limit, "failedOnly": "false", "last": last}
        response = session.get(bulk + "/results", params=params)
        response.raise_for_status()
        content = decode(response.content)["content"]
        extracted = _now()
        for item in content.get("results") or ():
            writer.write("bulk_results", {"bulk_id": DRUID_BULK_ID, **item}, extracted)
            count += 1
        writer.end_page()
        last = content.get("lastId")
        if not last:
            break
    writer.close()
    return count


def raw_main(vendor: str, base_url: str, amount: str) -> int:
    """Run the raw ceiling and report its record count on standard error.

    Args:
        vendor: ``fullstory`` or ``druid``.
        base_url: The emulator's base URL.
        amount: Fullstory: number of jobs; DruID: page size.

    Returns:
        Exit status 0.
    """
    if vendor == "fullstory":
        count = raw_fullstory(base_url, int(amount))
    else:
        count = raw_druid(base_url, int(amount))
    print(f"raw records: {count}", file=sys.stderr)
    return 0


# Report.


@dataclass(frozen=True)
class Ratio:
    """A figure of the issue and its goal.

    Attributes:
        name: What it is.
        value: The figure (None when its scenario did not run).
        goal: E.g. ``>= 0.6``; empty when there is none.
    """

    name: str
    value: float | None
    goal: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the goal is met (None without a goal or a value)."""
        if not self.goal or self.value is None:
            return None
        operator, target = self.goal.split()
        limit = float(target)
        return {
            ">=": self.value >= limit,
            "<=": self.value <= limit,
            "<": self.value < limit,
        }[operator]


def ratios(scenarios: dict[int, Scenario]) -> list[Ratio]:
    """The figures the issue asks for, with their goals.

    Args:
        scenarios: The scenarios that ran, by number.

    Returns:
        The ratios (values None for scenarios that did not run).
    """
    one, three, four, five = (scenarios.get(n) for n in (1, 3, 4, 5))
    notes = three.notes if three else {}
    rss_small = rss_large = None
    if four is not None:
        rss_small, rss_large = (run.rss_mib for run in four.runs)
    return [
        Ratio("1 tap / raw throughput (wall)", one.tap_over_raw() if one else None, ">= 0.6"),
        Ratio("1 tap / raw throughput (CPU time)", one.tap_over_raw_cpu() if one else None),
        Ratio("3 tap / raw throughput (wall)", three.tap_over_raw() if three else None, ">= 0.5"),
        Ratio("3 tap / raw throughput (CPU time)", three.tap_over_raw_cpu() if three else None),
        Ratio("3 STATE bytes / RECORD bytes", notes.get("STATE / RECORD bytes"), "< 0.10"),
        Ratio("3 final STATE bytes per job", notes.get("final STATE bytes per job"), "< 200"),
        Ratio(
            "4 peak RSS large / small",
            rss_large / rss_small if rss_small and rss_large else None,
            "<= 1.2",
        ),
        Ratio("4 peak RSS at the large size, MiB", rss_large, "< 150"),
        Ratio("5 DruID tap / raw throughput (wall)", five.tap_over_raw() if five else None),
        Ratio("5 DruID tap / raw throughput (CPU time)", five.tap_over_raw_cpu() if five else None),
    ]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table_lines(scenarios: dict[int, Scenario]) -> Iterator[str]:
    """The results table.

    Args:
        scenarios: The scenarios that ran.

    Yields:
        Lines of text.
    """
    header = (
        f"{'scenario':<58} {'program':<11} {'best s':>8} {'median s':>8} "
        f"{'rec/s (best)':>12} {'CPU s':>7} {'RSS MiB':>8}"
    )
    yield header
    yield "-" * len(header)
    for scenario in scenarios.values():
        programs = dict.fromkeys(run.program for run in scenario.runs)
        for program in programs:
            best = scenario.best(program)
            if best is None:
                continue
            rows = scenario.rows
            if program.startswith("tap ") and program[4:].isdigit():
                rows = int(program[4:])
            yield (
                f"{scenario.number} {scenario.name:<56} {program:<11} {best.wall:>8.2f} "
                f"{_fmt(scenario.median_wall(program)):>8} {rows / best.wall:>12,.0f} "
                f"{_fmt(scenario.min_cpu(program)):>7} "
                f"{max(r.rss_mib for r in scenario.runs if r.program == program):>8.1f}"
            )


def report(scenarios: dict[int, Scenario]) -> list[str]:
    """The whole text report: table, notes, ratios and the profile.

    Args:
        scenarios: The scenarios that ran.

    Returns:
        Lines of text.
    """
    lines = list(table_lines(scenarios))
    for scenario in scenarios.values():
        for key, value in scenario.notes.items():
            if key != "profile":
                shown = f"{value:,.4g}" if isinstance(value, float) else f"{value}"
                lines.append(f"  [{scenario.number}] {key}: {shown}")
    lines += ["", f"{'ratio':<44} {'value':>9} {'goal':>8}  met"]
    for ratio in ratios(scenarios):
        met = {True: "yes", False: "NO", None: ""}[ratio.met]
        lines.append(f"{ratio.name:<44} {_fmt(ratio.value, 3):>9} {ratio.goal:>8}  {met}")
    profile = scenarios[1].notes.get("profile") if 1 in scenarios else None
    if profile:
        lines += ["", *profile_lines(profile)]
    return lines


def profile_lines(profile: dict[str, Any]) -> list[str]:
    """The profile summary as text.

    Args:
        profile: What :func:`profile_child` wrote.

    Returns:
        Lines of text.
    """
    records = profile["records"]
    per_record = profile["wall_seconds"] / records * 1e6
    title = (
        f"cProfile of scenario 1 ({records:,} records): {profile['wall_seconds']:.2f} s wall "
        f"under the profiler ({per_record:.1f} us/record), GC {profile['gc_seconds']:.2f} s "
        f"(collections by generation {profile['gc_collections_by_generation']})"
    )
    lines = [
        title,
        f"  {'self s':>7} {'share':>6} {'us/rec':>7} {'calls':>9}  function (top 15 by self time)",
    ]
    lines += [
        f"  {row['self_seconds']:>7.2f} {row['share']:>6.1%} {row['self_us_per_record']:>7.2f} "
        f"{row['calls']:>9,}  {row['function']}"
        for row in profile["top_functions"]
    ]
    lines.append("  self time by package:")
    lines += [
        f"  {row['self_seconds']:>7.2f} {row['share']:>6.1%}  {row['package']}"
        for row in profile["by_package"]
    ]
    return lines


def tap_sources_digest() -> str:
    """A digest of the tap's sources, to tell which (possibly uncommitted) tree was measured.

    Returns:
        The first 12 hex digits of a SHA-256 over ``tap_batchimport/**/*.py``.
    """
    digest = hashlib.sha256()
    for path in sorted((REPO / "tap_batchimport").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def metadata(args: argparse.Namespace) -> dict[str, Any]:
    """Where and how the benchmark ran.

    Args:
        args: The command line.

    Returns:
        Time, versions, machine and options.
    """

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "tap_batchimport")),
        "tap_sources_sha256": tap_sources_digest(),
        "python": platform.python_version(),
        "singer_sdk": importlib.metadata.version("singer-sdk"),
        "msgspec": importlib.metadata.version("msgspec"),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "quick": args.quick,
        "repeat": args.repeat,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--raw`` / ``--profile-child``, one of its children).

    Args:
        argv: Arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    if args.raw:
        return raw_main(*args.raw)
    if args.profile_child:
        config, summary, records = args.profile_child
        return profile_child(config, summary, int(records))
    sizes = QUICK if args.quick else FULL
    only = set(args.only or (1, 3, 4, 5))
    info = metadata(args)
    scenarios: dict[int, Scenario] = {}
    if 1 in only or args.profile:
        scenarios[1] = scenario_throughput(
            sizes, args.repeat if 1 in only else 0, profile=args.profile
        )
    if 3 in only:
        scenarios[3] = scenario_many_jobs(sizes, args.repeat)
    if 4 in only:
        scenarios[4] = scenario_memory(sizes)
    if 5 in only:
        scenarios[5] = scenario_druid(sizes, args.repeat)
    info["load_average_at_end"] = os.getloadavg()
    info["tap_sources_sha256_at_end"] = tap_sources_digest()
    if info["tap_sources_sha256_at_end"] != info["tap_sources_sha256"]:
        print("\n! the tap's sources changed during the run: figures mix two versions")
    lines = report(scenarios)
    print("", *lines, sep="\n")
    result = {
        "meta": info,
        "scenarios": {
            str(n): asdict(s) | {"tap_over_raw": s.tap_over_raw()} for n, s in scenarios.items()
        },
        "ratios": [asdict(r) | {"met": r.met} for r in ratios(scenarios)],
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark tap-batchimport against the vendor emulator."
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        choices=(1, 3, 4, 5),
        help="run only this scenario (repeatable)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each program (best kept)")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile one tap run of scenario 1"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument(
        "--raw",
        nargs=3,
        metavar=("VENDOR", "BASE_URL", "N"),
        help=argparse.SUPPRESS,  # child: the raw ceiling (fullstory JOBS | druid LIMIT)
    )
    parser.add_argument(
        "--profile-child",
        nargs=3,
        metavar=("CONFIG", "SUMMARY", "RECORDS"),
        help=argparse.SUPPRESS,  # child: the tap under cProfile
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
