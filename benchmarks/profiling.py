"""cProfile of one tap run, in a child process, summarised as JSON.

``run.py --profile`` runs ``run.py --profile-child CONFIG SUMMARY RECORDS``, which runs the
tap as ``python -m tap_batchimport --config CONFIG`` would, under cProfile, and writes the
top functions by self time, the self time by package and the time spent in GC.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import runpy
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.runner import REPO, child_command, run_child


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
    run_child("profile", child_command("--profile-child", str(config), str(summary), str(records)))
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
        # Exactly `python -m tap_batchimport --config …`: its imports are profiled too.
        runpy.run_module("tap_batchimport", run_name="__main__", alter_sys=True)
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
