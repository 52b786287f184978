"""Command line: ``python -m emulator serve --scenario demo|bench-fullstory|bench-druid|…``.

Starts the emulator, prints its base URL, optionally writes the URL and the matching tap
config to files, and serves until SIGTERM or SIGINT (then exits 0). ``--latency-ms 50``
delays every answer by 50 ms; ``--sailpoint-rate-limit`` enforces SailPoint's 100 requests
per 10 s per client id (or another budget: ``--sailpoint-rate-limit 20/2``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.limits import SAILPOINT_RATE_LIMIT, RateLimit
from emulator.scenarios import (
    bench_druid_dataset,
    bench_fullstory_dataset,
    bench_sailpoint_dataset,
    demo_dataset,
    demo_tap_config,
    tap_config,
)
from emulator.server import VendorEmulator

if TYPE_CHECKING:
    from types import FrameType

    from emulator.dataset import Dataset

SCENARIOS = ("demo", "bench-fullstory", "bench-druid", "bench-sailpoint")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a scenario until SIGTERM/SIGINT")
    serve.add_argument("--scenario", choices=SCENARIOS, default="demo")
    serve.add_argument("--rows", type=int, default=1_000_000, help="rows of a bench scenario")
    serve.add_argument(
        "--jobs", type=int, default=1, help="jobs of bench-fullstory and bench-sailpoint"
    )
    serve.add_argument("--page-size", type=int, default=1000, help="page size of bench-fullstory")
    serve.add_argument(
        "--endpoint",
        choices=("errors", "imports", "both"),
        default="errors",
        help="results bench-fullstory jobs have",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--url-file", type=Path, help="write the base URL here once serving")
    serve.add_argument("--config-file", type=Path, help="write the matching tap config here")
    serve.add_argument("--prewarm", action="store_true", help="render every page before serving")
    serve.add_argument(
        "--latency-ms",
        type=_milliseconds,
        default=0.0,
        help="delay every answer by this many milliseconds (concurrent requests in parallel)",
    )
    serve.add_argument(
        "--sailpoint-rate-limit",
        nargs="?",
        type=_rate_limit,
        const=SAILPOINT_RATE_LIMIT,
        default=None,
        metavar="N/SECONDS",
        help="answer 429 with Retry-After past N SailPoint requests per SECONDS per client id "
        "(default when given without a value: 100/10, SailPoint's documented limit)",
    )
    return parser


def _milliseconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        msg = "must be a number >= 0"
        raise argparse.ArgumentTypeError(msg)
    return value


def _rate_limit(text: str) -> RateLimit:
    try:
        return RateLimit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _dataset(args: argparse.Namespace) -> Dataset:
    if args.scenario == "bench-fullstory":
        return bench_fullstory_dataset(
            args.rows, jobs=args.jobs, page_size=args.page_size, endpoint=args.endpoint
        )
    if args.scenario == "bench-druid":
        return bench_druid_dataset(args.rows)
    if args.scenario == "bench-sailpoint":
        return bench_sailpoint_dataset(args.jobs)
    return demo_dataset()


def _write_atomically(path: Path, text: str) -> None:
    # Readers poll for the file: never let them see it half-written.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def serve(args: argparse.Namespace) -> int:
    """Serve a scenario until SIGTERM or SIGINT.

    Args:
        args: Parsed ``serve`` arguments.

    Returns:
        The exit status, 0.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with VendorEmulator(
        _dataset(args),
        host=args.host,
        port=args.port,
        latency_seconds=args.latency_ms / 1000,
        sailpoint_rate_limit=args.sailpoint_rate_limit,
    ) as emulator:
        if args.prewarm:
            emulator.prewarm()
        if args.config_file is not None:
            is_demo = args.scenario == "demo"
            config = demo_tap_config(emulator) if is_demo else tap_config(emulator)
            text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
            _write_atomically(args.config_file, text)
        if args.url_file is not None:
            _write_atomically(args.url_file, emulator.base_url + "\n")
        sys.stdout.write(emulator.base_url + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
