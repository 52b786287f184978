"""When do shards pay off? Time one pipeline against three parallel shards, into PostgreSQL.

For each size in ``--rows`` (result rows per big vendor), starts the vendor emulator, one
process per vendor (``python -m emulator serve --scenario bench-… --prewarm``: Fullstory and
DruID with that many rows, SailPoint with ``--sailpoint-jobs`` small jobs), and a throwaway
PostgreSQL server, then times, each from an empty state and empty tables:

- one pipeline: ``meltano run tap-batchimport target-postgres``;
- three shards started together: ``meltano run tap-batchimport--<vendor> target-postgres``,
  until the last one ends.

Size 0 is the fixed cost of a process (Meltano, the tap and the target starting up, and the
jobs' statuses); the larger sizes show when extracting in parallel makes up for paying that
cost three times. Run it with Meltano's Python, from the repository root::

    .meltano/cli/bin/python scripts/shards_timing.py --rows 0,20000,100000

It prints one table (and the machine's CPU count) and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.meltano_env import quiet_meltano_env  # noqa: E402
from tests.postgres_server import PostgresServer, PostgresUnavailableError  # noqa: E402

MELTANO = ROOT / ".meltano" / "cli" / "bin" / "meltano"
SHARDS = ("fullstory", "druid", "sailpoint")
TABLES = (
    "job_details",
    "imported_users",
    "user_import_errors",
    "imported_events",
    "event_import_errors",
    "bulk_results",
    "config_import_results",
)


class Emulators:
    """One emulator process per vendor, each serving a benchmark scenario."""

    def __init__(self, rows: int, sailpoint_jobs: int, folder: Path) -> None:
        """Prepare (not start) the emulators.

        Args:
            rows: Result rows of Fullstory and of DruID.
            sailpoint_jobs: SailPoint jobs.
            folder: Where they write their configs.
        """
        self.folder = folder
        self.commands = {
            "fullstory": ["--scenario", "bench-fullstory", "--rows", str(rows)],
            "druid": ["--scenario", "bench-druid", "--rows", str(rows)],
            "sailpoint": ["--scenario", "bench-sailpoint", "--jobs", str(sailpoint_jobs)],
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> dict[str, object]:
        """Start them; their merged tap config once all serve."""
        config: dict[str, object] = {}
        files = []
        for vendor, args in self.commands.items():
            config_file = self.folder / f"emulator-{vendor}.json"
            config_file.unlink(missing_ok=True)  # an earlier size's emulator wrote one
            command = [sys.executable, "-m", "emulator", "serve", *args, "--prewarm"]
            command += ["--config-file", str(config_file)]
            self.processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL))
            files.append(config_file)
        deadline = time.monotonic() + 600
        while not all(f.is_file() for f in files):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                msg = "an emulator did not start"
                raise RuntimeError(msg)
            time.sleep(0.2)
        for config_file in files:
            config |= json.loads(config_file.read_text(encoding="utf-8"))
        return config

    def __exit__(self, *exc: object) -> None:
        """Stop them."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def environment(config: dict[str, object], server: PostgresServer, folder: Path) -> dict[str, str]:
    """Meltano's environment: the emulators' config, the server, a system database of its own.

    Args:
        config: Tap config of the emulators.
        server: The PostgreSQL server.
        folder: Where the Meltano system database goes.

    Returns:
        The environment.
    """
    env = quiet_meltano_env("TAP_BATCHIMPORT_", "TARGET_", "MELTANO_")
    for key, value in config.items():
        text = value if isinstance(value, str) else json.dumps(value)
        env[f"TAP_BATCHIMPORT_{key.upper()}"] = text
    env.update(
        {
            "TARGET_POSTGRES_HOST": server.host,
            "TARGET_POSTGRES_PORT": str(server.port),
            "TARGET_POSTGRES_USER": server.user,
            "TARGET_POSTGRES_PASSWORD": server.password,
            "TARGET_POSTGRES_DATABASE": "analytics",
            "MELTANO_DATABASE_URI": f"sqlite:///{folder / 'meltano.db'}",
        }
    )
    return env


def meltano_run(extractor: str, env: dict[str, str], log: Path) -> float:
    """Run one pipeline; its wall time in seconds.

    Args:
        extractor: The extractor plugin.
        env: Meltano's environment.
        log: Where its output goes.

    Returns:
        Seconds.

    Raises:
        RuntimeError: Meltano failed.
    """
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(
            [str(MELTANO), "run", extractor, "target-postgres"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    if code:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        msg = "\n".join([f"meltano run {extractor} target-postgres exited {code}:", *tail])
        raise RuntimeError(msg)
    return time.monotonic() - started


def fresh(server: PostgresServer, folder: Path) -> None:
    """Empty tables and no state."""
    tables = ", ".join(f"batchimport.{t}" for t in TABLES)
    server.psql(f"truncate {tables}", "analytics")
    (folder / "meltano.db").unlink(missing_ok=True)


def trial(rows: int, args: argparse.Namespace, server: PostgresServer, folder: Path) -> list[str]:
    """Time one size.

    Args:
        rows: Result rows per big vendor.
        args: Command-line arguments.
        server: The PostgreSQL server.
        folder: Scratch folder.

    Returns:
        The table row.
    """
    with Emulators(rows, args.sailpoint_jobs, folder) as config:
        env = environment(config, server, folder)
        fresh(server, folder)
        meltano_run("tap-batchimport", env, folder / "warm-up.log")  # plugin caches, bytecode
        fresh(server, folder)
        whole = meltano_run("tap-batchimport", env, folder / "whole.log")
        fresh(server, folder)
        # A first command creates the system database: parallel first runs race on it.
        subprocess.run(
            [str(MELTANO), "state", "list"], cwd=ROOT, env=env, capture_output=True, check=True
        )
        started = time.monotonic()
        with ThreadPoolExecutor(len(SHARDS)) as pool:
            each = list(
                pool.map(
                    lambda v: meltano_run(f"tap-batchimport--{v}", env, folder / f"{v}.log"),
                    SHARDS,
                )
            )
        parallel = time.monotonic() - started
    total = rows * 2 + args.sailpoint_jobs * 10
    shards = ", ".join(f"{v} {s:.1f} s" for v, s in zip(SHARDS, each, strict=True))
    return [
        f"{rows:,}",
        f"{total:,}",
        f"{whole:.1f} s",
        f"{parallel:.1f} s ({shards})",
        f"{whole / parallel:.2f}",
    ]


def main(argv: list[str] | None = None) -> int:
    """Time every size and print the table.

    Args:
        argv: Command-line arguments.

    Returns:
        Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", default="0,20000,100000", help="rows per big vendor, comma-separated"
    )
    parser.add_argument(
        "--sailpoint-jobs", type=int, default=20, help="SailPoint jobs (10 rows each)"
    )
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.rows.split(",")]
    try:
        server = PostgresServer()
    except PostgresUnavailableError as exc:
        print(f"shards_timing: {exc}", file=sys.stderr)
        return 1
    table = []
    folder = ROOT / "output" / "shards-timing"  # the runs' logs stay here
    folder.mkdir(parents=True, exist_ok=True)
    with server:
        server.create_database("analytics")
        subprocess.run(
            [
                str(server.bindir / "psql"),
                *("-X", "-q", "-v", "ON_ERROR_STOP=1"),
                *("-f", str(ROOT / "docs" / "postgresql-tables.sql")),
            ],
            env={**os.environ, **server.client_env("analytics")},
            check=True,
        )
        for rows in sizes:
            print(f"timing {rows:,} rows per big vendor …", file=sys.stderr, flush=True)
            try:
                table.append(trial(rows, args, server, folder))
            except RuntimeError as exc:
                print(f"shards_timing: {exc}", file=sys.stderr)
                return 1
    headers = [
        "rows (Fullstory, DruID each)",
        "rows in all",
        "one pipeline",
        "3 shards in parallel (each)",
        "speed-up",
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    print(f"{os.cpu_count()} CPUs; SailPoint: {args.sailpoint_jobs} jobs of 10 rows")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
