"""The benchmark's report: a table of runs, each scenario's figures side by side, the ratios.

Everything here only formats what the scenarios measured; nothing is asserted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.runner import REPO

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from benchmarks.runner import Scenario


@dataclass(frozen=True)
class Ratio:
    """A figure the issues ask for, and its goal.

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
            "==": self.value == limit,
        }[operator]


def ratios(scenarios: dict[str, Scenario]) -> list[Ratio]:
    """The figures the issues ask for, with their goals (issue 22's for throughput).

    Args:
        scenarios: The scenarios that ran, by key.

    Returns:
        The ratios (values None for scenarios that did not run).
    """
    one, three, four, five = (scenarios.get(key) for key in ("1", "3", "4", "5"))
    notes = three.notes if three else {}
    rss_small = rss_large = None
    if four is not None:
        rss_small, rss_large = (run.rss_mib for run in four.runs)
    latency, limited, nightly = (scenarios.get(k) for k in ("latency", "ratelimit", "nightly"))
    sailpoint, startup = scenarios.get("sailpoint"), scenarios.get("startup")
    late = latency.notes if latency else {}
    batch = scenarios["batch"].notes if "batch" in scenarios else {}
    rate = limited.notes if limited else {}
    night = nightly.notes if nightly else {}
    sail = sailpoint.notes if sailpoint else {}
    start = startup.notes if startup else {}
    client_over_tap = late.get("tap / client time")
    return [
        *_throughput("1", one, ">= 0.95"),
        *_throughput("3", three, ">= 0.9"),
        Ratio("3 STATE bytes / RECORD bytes", notes.get("STATE / RECORD bytes"), "< 0.10"),
        Ratio("3 final STATE bytes per job", notes.get("final STATE bytes per job"), "< 200"),
        Ratio("4 peak RSS at the small size, MiB", rss_small, "< 100"),
        Ratio("4 peak RSS at the large size, MiB", rss_large, "< 100"),
        Ratio(
            "4 peak RSS large / small",
            rss_large / rss_small if rss_small and rss_large else None,
            "<= 1.2",
        ),
        *_throughput("5 DruID", five, ">= 0.85"),
        *_throughput("sailpoint", sailpoint, ">= 0.85"),
        Ratio(
            "sailpoint tap Retry-After violations", sail.get("tap Retry-After violations"), "== 0"
        ),
        Ratio(
            "latency client x8 time / tap time",
            1 / client_over_tap if client_over_tap else None,
            ">= 0.9",
        ),
        Ratio("latency tap (1 at a time) / client time", late.get("tap mcr=1 / client time")),
        Ratio("ratelimit requests time / floor", rate.get("time / floor"), "<= 1.1"),
        Ratio("ratelimit total time (with start-up) / floor", rate.get("total / floor")),
        Ratio("ratelimit Retry-After violations", rate.get("Retry-After violations"), "== 0"),
        Ratio(
            "batch BATCH / RECORD into target-postgres",
            batch.get("BATCH / RECORD into target-postgres, rows/s"),
        ),
        Ratio(
            "startup settled run / import singer_sdk",
            start.get("settled run / import singer_sdk"),
            "<= 1.3",
        ),
        Ratio(
            "startup requests of a settled run",
            start.get("requests of the settled runs (max)"),
            "== 0",
        ),
        Ratio("nightly rows lost", night.get("rows lost"), "== 0"),
        Ratio("nightly rows duplicated", night.get("rows duplicated"), "== 0"),
        Ratio(
            "nightly requests for jobs settled earlier",
            night.get("requests for jobs settled on an earlier night"),
            "== 0",
        ),
        Ratio("nightly requests, last / middle run", night.get("requests last / middle"), "<= 1.1"),
        Ratio(
            "nightly final STATE bytes, last / middle run",
            night.get("final STATE bytes last / middle"),
            "<= 1.1",
        ),
    ]


def _throughput(label: str, scenario: Scenario | None, goal: str) -> list[Ratio]:
    # Tap / raw throughput on wall time (the goal) and, beside it, on CPU time.
    return [
        Ratio(
            f"{label} tap / raw throughput (wall)",
            scenario.tap_over_raw() if scenario else None,
            goal,
        ),
        Ratio(
            f"{label} tap / raw throughput (CPU time)",
            scenario.tap_over_raw_cpu() if scenario else None,
        ),
    ]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table_lines(scenarios: dict[str, Scenario]) -> Iterator[str]:
    """The results table: the best run of each program of each scenario.

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
        if not scenario.in_table:
            continue
        programs = dict.fromkeys(run.program for run in scenario.runs)
        label = f"{scenario.key} {scenario.name}"
        for program in programs:
            best = scenario.best(program)
            if best is None:
                continue
            rows = scenario.rows
            if program.startswith("tap ") and program[4:].isdigit():
                rows = int(program[4:])
            yield (
                f"{label:<58} {program:<11} {best.wall:>8.2f} "
                f"{_fmt(scenario.median_wall(program)):>8} {rows / best.wall:>12,.0f} "
                f"{_fmt(scenario.min_cpu(program)):>7} "
                f"{max(r.rss_mib for r in scenario.runs if r.program == program):>8.1f}"
            )


def _shown(value: object) -> str:
    return f"{value:,.4g}" if isinstance(value, float) else f"{value}"


def _note_lines(scenario: Scenario) -> list[str]:
    return [
        f"  [{scenario.key}] {key}: {_shown(value)}"
        for key, value in scenario.notes.items()
        if key != "profile"
    ]


def _latency_lines(scenario: Scenario) -> list[str]:
    notes = scenario.notes
    programs = [p for p in ("tap", "tap mcr=1", "client x8") if scenario.best(p)]
    lines = [
        f"[latency] {scenario.name}, {notes['latency ms']} ms per answer",
        f"  {'':<24}" + "".join(f"{p:>14}" for p in programs),
    ]
    rows: list[tuple[str, Callable[[str], str]]] = [
        ("best wall s", lambda p: _fmt(_best(scenario, p).wall)),
        ("median wall s", lambda p: _fmt(scenario.median_wall(p))),
        ("runs", lambda p: str(sum(run.program == p for run in scenario.runs))),
        ("requests (best run)", lambda p: _count(_best(scenario, p).requests)),
        ("records (best run)", lambda p: _count(_best(scenario, p).records)),
        ("CPU s (least)", lambda p: _fmt(scenario.min_cpu(p))),
        ("time / client", lambda p: _fmt(scenario.wall_ratio(p, "client x8"))),
    ]
    lines += [f"  {name:<24}" + "".join(f"{cell(p):>14}" for p in programs) for name, cell in rows]
    return lines


def _ratelimit_lines(scenario: Scenario) -> list[str]:
    notes = scenario.notes
    run = scenario.runs[-1] if scenario.runs else None
    lines = [f"[ratelimit] {scenario.name}, limit {notes['limit']}"]
    if run is not None and run.exit_code:
        lines.append(f"  the tap FAILED (exit {run.exit_code}): {run.error.splitlines()[-1:]}")
    columns = {
        "total s": _fmt(notes.get("total s")),
        "requests s": _fmt(notes.get("first to last request s")),
        "floor s": _fmt(notes.get("floor s")),
        "req / floor": _fmt(notes.get("time / floor"), 3),
        "tot / floor": _fmt(notes.get("total / floor"), 3),
        "admitted": _count(notes.get("requests admitted")),
        "429s": _count(notes.get("requests refused (429)")),
        "violations": _count(notes.get("Retry-After violations")),
        "records": _count(run.records if run else None),
    }
    lines.append("  " + " ".join(f"{name:>11}" for name in columns))
    lines.append("  " + " ".join(f"{value:>11}" for value in columns.values()))
    lines.append("  (requests s: first to last request; floor: admitted requests / 100 x 10 s)")
    return lines


def _nightly_lines(scenario: Scenario) -> list[str]:
    notes = scenario.notes
    requests, states = notes["requests per run"], notes["final STATE bytes per run"]
    middle = len(requests) // 2
    lines = [
        f"[nightly] {scenario.name}",
        f"  {'per run':<22} {'first':>8} {'middle':>8} {'last':>8} {'max':>8}",
    ]
    for name, values in (("requests", requests), ("final STATE bytes", states)):
        if values:
            cells = (values[0], values[middle], values[-1], max(values))
            lines.append(f"  {name:<22} " + " ".join(f"{cell:>8,}" for cell in cells))
    rows = ", ".join(
        f"{label} {notes['rows ' + label]:,}"
        for label in ("expected", "seen", "lost", "duplicated", "unexpected")
    )
    stale, finished = notes["jobs with a stale job_details"], notes["jobs finished"]
    settled = notes["requests for jobs settled on an earlier night"]
    walls = f"median {_fmt(notes['median wall s'])}, max {_fmt(notes['max wall s'])}"
    lines += [
        f"  rows over all runs: {rows}",
        f"  finished jobs whose last job_details record is not final: {stale:,} of {finished:,}",
        f"  requests for jobs settled on an earlier night: {settled:,}",
        f"  tap runs that failed: {notes['failed runs']}; wall s per run: {walls}",
    ]
    return lines


def _best(scenario: Scenario, program: str) -> Any:  # noqa: ANN401 - a Run, known to exist
    return scenario.best(program)


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,}"


def _startup_lines(scenario: Scenario) -> list[str]:
    notes = scenario.notes
    lines = [f"[startup] {scenario.name}"]
    for program in ("tap settled", "import sdk"):
        best = scenario.best(program)
        if best is not None:
            lines.append(
                f"  {program:<12} best {best.wall:6.2f} s, "
                f"median {_fmt(scenario.median_wall(program))} s, "
                f"CPU {_fmt(scenario.min_cpu(program))} s, RSS {best.rss_mib:.0f} MiB"
            )
    ratio = notes.get("settled run / import singer_sdk")
    lines.append(
        f"  settled run / import singer_sdk: {_fmt(ratio, 3)}; requests of the settled runs: "
        f"{_count(notes.get('requests of the settled runs (max)'))}"
    )
    return lines


def _pipeline_lines(scenario: Scenario) -> list[str]:
    figures = scenario.notes.get("pipeline") or []
    lines = [
        f"[{scenario.key}] {scenario.name}",
        (
            f"  {'pipeline':<24} {'mode':<7} {'wall s':>8} {'rows/s':>9} {'vs tap':>7} "
            f"{'tap CPU s':>9} {'target CPU s':>12} {'target RSS':>10}"
        ),
    ]
    # Each pipe against the tap alone in the same mode (RECORD lines or BATCH files).
    alone = {f["mode"]: f for f in reversed(figures) if f["pipeline"] == "tap"}
    for figure in figures:
        speed = figure["rows"] / figure["wall"]
        base = alone.get(figure["mode"])
        versus = speed / (base["rows"] / base["wall"]) if base else None
        rss = figure["target_rss_mib"]
        lines.append(
            f"  {figure['pipeline']:<24} {figure['mode']:<7} {figure['wall']:>8.2f} "
            f"{speed:>9,.0f} {_fmt(versus):>7} {figure['tap_cpu']:>9.2f} "
            f"{_fmt(figure['target_cpu']):>12} "
            f"{'-' if rss is None else f'{rss:.0f} MiB':>10}"
        )
    lines += [
        f"  [{scenario.key}] {key}: {value}"
        for key, value in scenario.notes.items()
        if key != "pipeline"
    ]
    return lines


#: Scenarios with their own block of figures instead of the plain list of notes.
_BLOCKS: dict[str, Callable[[Scenario], list[str]]] = {
    "latency": _latency_lines,
    "ratelimit": _ratelimit_lines,
    "nightly": _nightly_lines,
    "startup": _startup_lines,
    "pipeline": _pipeline_lines,
}


def _block(scenario: Scenario) -> Callable[[Scenario], list[str]] | None:
    # Any scenario with a pipeline table (this one's or batch mode's) prints it as one.
    if "pipeline" in scenario.notes:
        return _pipeline_lines
    return _BLOCKS.get(scenario.key)


def report(scenarios: dict[str, Scenario]) -> list[str]:
    """The whole text report: table, notes, figure blocks, ratios and the profile.

    Args:
        scenarios: The scenarios that ran.

    Returns:
        Lines of text.
    """
    lines = list(table_lines(scenarios))
    for scenario in scenarios.values():
        if _block(scenario) is None:
            lines += _note_lines(scenario)
    for scenario in scenarios.values():
        block = _block(scenario)
        if block is not None:
            lines += ["", *block(scenario)]
    lines += ["", f"{'ratio':<44} {'value':>9} {'goal':>8}  met"]
    for ratio in ratios(scenarios):
        if ratio.value is None and not any(ratio.name.startswith(k + " ") for k in scenarios):
            continue  # its scenario did not run
        met = {True: "yes", False: "NO", None: ""}[ratio.met]
        value = _count(ratio.value) if isinstance(ratio.value, int) else _fmt(ratio.value, 3)
        lines.append(f"{ratio.name:<44} {value:>9} {ratio.goal:>8}  {met}")
    profile = scenarios["1"].notes.get("profile") if "1" in scenarios else None
    if profile:
        lines += ["", *profile_lines(profile)]
    return lines


def profile_lines(profile: dict[str, Any]) -> list[str]:
    """The profile summary as text.

    Args:
        profile: What :func:`benchmarks.profiling.profile_child` wrote.

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
        "only": sorted(args.only_keys),
    }


def write_report(scenarios: dict[str, Scenario], info: dict[str, Any], output: Path) -> None:
    """Print the report and write every run, note and ratio as JSON.

    Args:
        scenarios: The scenarios that ran.
        info: :func:`metadata` from before they ran (completed here).
        output: The JSON file.
    """
    info["load_average_at_end"] = os.getloadavg()
    info["tap_sources_sha256_at_end"] = tap_sources_digest()
    if info["tap_sources_sha256_at_end"] != info["tap_sources_sha256"]:
        print("\n! the tap's sources changed during the run: figures mix two versions")
    print("", *report(scenarios), sep="\n")
    result = {
        "meta": info,
        "scenarios": {
            key: asdict(s) | {"tap_over_raw": s.tap_over_raw()} for key, s in scenarios.items()
        },
        "ratios": [asdict(r) | {"met": r.met} for r in ratios(scenarios)],
    }
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {output}")
