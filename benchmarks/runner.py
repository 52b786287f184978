"""Run the programs a benchmark compares, each in its own process, and measure them.

A program's time is the wall time of its whole process, start-up included, as a user pays
it; its CPU time and peak RSS are what ``wait4`` reports for that process alone. Programs
compared with each other run alternately (:func:`alternate`), and the best of ``--repeat``
runs is kept (:class:`Scenario`).

Standard library only: the benchmark's child processes import this module too.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

REPO = Path(__file__).resolve().parent.parent
RUN_PY = REPO / "benchmarks" / "run.py"

MIB = 1024 * 1024
#: A child still running after this long is killed (and the benchmark fails).
CHILD_TIMEOUT_SECONDS = 3600
EMULATOR_START_TIMEOUT_SECONDS = 900


# Measuring child processes.


@dataclass
class Run:
    """One measured process.

    Attributes:
        program: ``tap``, ``raw``, ``client x8``, ``tap --about``, ...
        wall: Wall time of the whole process, in seconds.
        cpu: User plus system CPU time of the process, in seconds.
        rss_mib: Peak resident set size, in MiB.
        records: Result records it reported (None when it did not say).
        requests: Requests the emulator received during the run (None when not counted).
        exit_code: Its exit status (only a run with ``check=False`` may be non-zero).
        error: The end of its standard error when it failed.
    """

    program: str
    wall: float
    cpu: float
    rss_mib: float
    records: int | None = None
    requests: int | None = None
    exit_code: int = 0
    error: str = ""


def run_child(
    program: str,
    argv: Sequence[str],
    *,
    stdout: Path | None = None,
    count: Callable[[str], int | None] | None = None,
    check: bool = True,
) -> Run:
    """Run a process to its end and measure it.

    Args:
        program: Label of the run.
        argv: Command line.
        stdout: File to write its standard output to; None discards it (``/dev/null``).
        count: Reads the number of result records from its standard error.
        check: Raise when it fails; False returns the run with its exit code and error.

    Returns:
        The measurement.

    Raises:
        RuntimeError: If the process fails or times out (and ``check`` is set).
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
    error = ""
    if process.returncode != 0:
        error = "\n".join(log.splitlines()[-15:])
        if check:
            msg = f"{program} exited with {process.returncode}: {' '.join(argv)}\n{error}"
            raise RuntimeError(msg)
    return Run(
        program=program,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mib=usage.ru_maxrss * 1024 / MIB,  # ru_maxrss is in KiB on Linux
        records=count(log) if count is not None else None,
        exit_code=process.returncode,
        error=error,
    )


@dataclass
class PipeRun:
    """One measured pipeline: a producer piped into a consumer (``tap | target``).

    Attributes:
        whole: The pipeline: wall time until both ended, CPU time of both, the larger
            peak RSS, the producer's records.
        producer: The producer's own figures (its wall time ends when it exits).
        consumer: The consumer's own figures.
    """

    whole: Run
    producer: Run
    consumer: Run


def run_pipe(
    program: str,
    producer: Sequence[str],
    consumer: Sequence[str],
    *,
    count: Callable[[str], int | None] | None = None,
    env: dict[str, str] | None = None,
) -> PipeRun:
    """Run ``producer | consumer`` (the consumer's output discarded) and measure both.

    Args:
        program: Label of the pipeline.
        producer: Command line of the producer (the tap).
        consumer: Command line of the consumer (a target).
        count: Reads the number of result records from the producer's standard error.
        env: Environment of both (None: this process's).

    Returns:
        The pipeline's figures and each process's own.

    Raises:
        RuntimeError: If either process fails.
    """
    with tempfile.TemporaryFile() as err_in, tempfile.TemporaryFile() as err_out:
        start = time.perf_counter()
        left = subprocess.Popen(
            producer,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err_in,
            cwd=REPO,
            env=env,
        )
        assert left.stdout is not None  # noqa: S101 - stdout=PIPE
        right = subprocess.Popen(
            consumer,
            stdin=left.stdout,
            stdout=subprocess.DEVNULL,
            stderr=err_out,
            cwd=REPO,
            env=env,
        )
        left.stdout.close()  # the consumer's end only: the producer sees EPIPE if it dies
        timer = threading.Timer(CHILD_TIMEOUT_SECONDS, lambda: (left.kill(), right.kill()))
        timer.start()
        ends: dict[int, tuple[float, int, Any]] = {}
        try:
            # The producer ends first (the consumer then reads to the end of the pipe);
            # wait4 on each pid gives each its own rusage, and reaps no other child.
            for process in (left, right):
                _, status, usage = os.wait4(process.pid, 0)
                ends[process.pid] = (time.perf_counter() - start, status, usage)
        finally:
            timer.cancel()
        runs = []
        for argv, process, err in ((producer, left, err_in), (consumer, right, err_out)):
            wall, status, usage = ends[process.pid]
            process.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            log = err.read().decode("utf-8", "replace")
            if process.returncode != 0:
                error = "\n".join(log.splitlines()[-15:])
                msg = f"{program}: {argv[0]} exited with {process.returncode}\n{error}"
                raise RuntimeError(msg)
            runs.append(
                Run(
                    program=Path(argv[0]).name,
                    wall=wall,
                    cpu=usage.ru_utime + usage.ru_stime,
                    rss_mib=usage.ru_maxrss * 1024 / MIB,
                    records=count(log) if count is not None and process is left else None,
                )
            )
    tap, target = runs
    whole = Run(
        program=program,
        wall=max(tap.wall, target.wall),
        cpu=tap.cpu + target.cpu,
        rss_mib=max(tap.rss_mib, target.rss_mib),
        records=tap.records,
    )
    return PipeRun(whole, tap, target)


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
    """Read the record count the raw ceiling or the reference client prints on stderr.

    Args:
        log: Its standard error.

    Returns:
        The count, or None.
    """
    for line in reversed(log.splitlines()):
        if line.startswith("raw records: "):
            return int(line.removeprefix("raw records: "))
    return None


def compile_sources() -> None:
    """Compile the tap's, the emulator's and the benchmark's sources to bytecode, once.

    An installed package is compiled when pip installs it; a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` set (as some CI images and containers do) would otherwise
    compile every module of the tap again in every process, about 60 ms of each start-up
    that no installed tap pays. ``compileall`` writes the ``__pycache__`` files whatever
    that variable says; Python reads them either way.
    """
    for package in ("tap_batchimport", "emulator", "benchmarks"):
        compileall.compile_dir(REPO / package, quiet=1)


# Command lines.


def tap_command(config: Path) -> list[str]:
    """The tap's command line as a user runs it: the installed ``tap-batchimport`` script.

    Args:
        config: The config file.

    Returns:
        The command line.
    """
    installed = Path(sys.executable).with_name("tap-batchimport")
    tap = str(installed) if installed.exists() else "tap-batchimport"
    return [tap, "--config", str(config)]


def tap_module_command(config: Path, state: Path | None = None) -> list[str]:
    """The tap's command line as ``python -m tap_batchimport``.

    Args:
        config: The config file.
        state: A state file to start from, if any.

    Returns:
        The command line.
    """
    argv = [sys.executable, "-m", "tap_batchimport", "--config", str(config)]
    return argv if state is None else [*argv, "--state", str(state)]


def child_command(*options: str) -> list[str]:
    """A command line of ``run.py`` in one of its child modes (``--raw``, ``--reference``).

    Args:
        *options: The options.

    Returns:
        The command line.
    """
    return [sys.executable, str(RUN_PY), *options]


def write_config(directory: Path, config: dict[str, Any], name: str = "config.json") -> Path:
    """Write a tap config file.

    Args:
        directory: Where.
        config: The settings.
        name: The file name.

    Returns:
        Its path.
    """
    path = directory / name
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


# The emulator in its own process.


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


# Scenarios and their runs.


@dataclass
class Scenario:
    """The runs of one scenario and what was learnt from them.

    Attributes:
        key: What ``--only`` calls it: ``1``, ``3``, ``4``, ``5``, ``latency``, ...
        name: Short description.
        rows: Result records each program must write.
        runs: Every measured run.
        notes: Extra figures (e.g. STATE sizes), printed under the table.
        in_table: Whether its runs go into the results table (best of each program).
    """

    key: str
    name: str
    rows: int
    runs: list[Run] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    in_table: bool = True

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

    def wall_ratio(self, program: str, reference: str) -> float | None:
        """Best wall time of a program divided by the reference program's."""
        run, base = self.best(program), self.best(reference)
        return run.wall / base.wall if run is not None and base is not None else None


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


def print_run(run: Run, rows: int) -> None:
    """Print one run's figures as it ends.

    Args:
        run: The run.
        rows: Result records it wrote (for records per second).
    """
    requests = f"  {run.requests:,} requests" if run.requests is not None else ""
    failed = f"  FAILED (exit {run.exit_code})" if run.exit_code else ""
    print(
        f"  {run.program:<11} {run.wall:7.2f} s  {rows / run.wall:>9,.0f} rec/s"
        f"  cpu {run.cpu:6.2f} s  rss {run.rss_mib:6.1f} MiB{requests}{failed}",
        flush=True,
    )


def record(scenario: Scenario, run: Run) -> Run:
    """Check, keep and print a run of a scenario.

    Args:
        scenario: Where the run goes.
        run: The run.

    Returns:
        The run.
    """
    check_count(scenario, run, scenario.rows)
    scenario.runs.append(run)
    print_run(run, scenario.rows)
    return run


def alternate(scenario: Scenario, programs: Sequence[Callable[[], Run]], repeat: int) -> None:
    """Run each program ``repeat`` times, rotating which goes first every round.

    Args:
        scenario: Where the runs go.
        programs: Each runs one program once.
        repeat: Runs of each.
    """
    for round_number in range(repeat):
        shift = round_number % len(programs)
        for program in (*programs[shift:], *programs[:shift]):
            record(scenario, program())


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
    alternate(scenario, (tap, raw), repeat)
