"""Benchmark tap-batchimport against the project's vendor emulator.

Run it from the repository root, with the Python that has the tap installed::

    python benchmarks/run.py                        # every scenario but batch, best of 3
    python benchmarks/run.py --quick                # smaller sizes: a smoke run
    python benchmarks/run.py --only 1 --profile     # one scenario, plus a cProfile summary
    python benchmarks/run.py --only latency,ratelimit

Every program measured runs in its own process: the tap (``tap-batchimport --config`` or
``python -m tap_batchimport --config``), the *raw ceiling* and the *reference client*
(this file with ``--raw`` / ``--reference``: minimal ``requests`` + ``msgspec`` loops, see
``baselines.py``). The emulator runs in its own process for the loopback scenarios and in
this one (which only waits meanwhile) where the dataset, the latency or the rate limit is
set between runs. The tap is driven only through its command line and settings.

Modules: ``scenarios/`` (what each scenario runs, and the sizes), ``runner.py`` (child
processes, alternating runs, best of N, peak RSS), ``baselines.py`` (raw ceiling, reference
client), ``report.py`` (table, figures side by side, ratios), ``profiling.py`` (cProfile).
Results are printed and written as JSON (``benchmarks/results.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
# Import the benchmark and the emulator as packages of the repository (and let no module
# of this directory shadow a standard one).
if sys.path and Path(sys.path[0]).resolve() == REPO / "benchmarks":
    sys.path[0] = str(REPO)
elif str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_OUTPUT = REPO / "benchmarks" / "results.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with a child option, one of its child programs).

    Args:
        argv: Arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    # Child programs import only what they need: their start-up is part of what is timed.
    if args.raw:
        from benchmarks.baselines import raw_main  # noqa: PLC0415

        return raw_main(*args.raw)
    if args.reference:
        from benchmarks.baselines import reference_main  # noqa: PLC0415

        return reference_main(*args.reference)
    if args.profile_child:
        from benchmarks.profiling import profile_child  # noqa: PLC0415

        config, summary, records = args.profile_child
        return profile_child(config, summary, int(records))
    from benchmarks.report import metadata, write_report  # noqa: PLC0415
    from benchmarks.runner import compile_sources  # noqa: PLC0415
    from benchmarks.scenarios import FULL, QUICK, resolve, run_scenarios  # noqa: PLC0415

    try:
        args.only_keys = resolve(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    compile_sources()
    info = metadata(args)
    scenarios = run_scenarios(
        args.only_keys, QUICK if args.quick else FULL, args.repeat, profile=args.profile
    )
    write_report(scenarios, info, args.output)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark tap-batchimport against the vendor emulator."
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="SCENARIOS",
        help="run only these scenarios: comma-separated, repeatable; 1, 3, 4, 5, latency, "
        "ratelimit, nightly, batch (or throughput, many-jobs, memory, druid, rate-limit, "
        "ledger, record-vs-batch)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each compared program, best kept (scenarios 1, 3, 5, latency, batch)",
    )
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
        "--reference",
        nargs=3,
        metavar=("BASE_URL", "JOBS", "WORKERS"),
        help=argparse.SUPPRESS,  # child: the reference client, WORKERS Fullstory jobs at once
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
