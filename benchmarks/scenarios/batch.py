"""RECORD vs BATCH end to end: one big Fullstory job into MeltanoLabs target-postgres.

The emulator serves one ``user_import_errors`` job (``bench-fullstory``, 1,000 rows per
page) in its own process; a throwaway PostgreSQL server (tests/postgres_server.py) takes
the rows. Four programs run alternately, each a whole process (a pipeline is timed as the
``bash -o pipefail -c 'tap | target'`` that runs it, so its CPU time is both sides'):

- ``tap`` / ``tap batch``: the tap alone, RECORD messages or BATCH files, output discarded;
- ``tap | pg`` / ``tap batch | pg``: the tap piped into target-postgres (``make meltano``
  installs it), ``load_method: upsert``, into a database created afresh for each run.

Batch mode writes gzip JSON Lines files of ``batch_config.batch_size`` rows (the
default, 10,000) to a temporary folder, emptied before each run; their total size is
noted. Each pipeline's rows are counted in the table afterwards.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.runner import (
    MIB,
    REPO,
    Emulator,
    Run,
    Scenario,
    alternate,
    run_child,
    tap_command,
    tap_records,
    write_config,
)
from benchmarks.scenarios.loopback import fullstory_config
from tests.postgres_server import PostgresServer

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.scenarios.sizes import Sizes

#: MeltanoLabs target-postgres as ``make meltano`` installs it.
TARGET_POSTGRES = REPO / ".meltano/loaders/target-postgres/venv/bin/target-postgres"
DATABASE = "bench"
SCHEMA = "bench"
STREAM = "user_import_errors"
PROGRAMS = ("tap", "tap batch", "tap | pg", "tap batch | pg")


def scenario_batch(sizes: Sizes, repeat: int) -> Scenario:
    """RECORD vs BATCH, tap alone and into target-postgres.

    Args:
        sizes: Dataset sizes.
        repeat: Runs of each program.

    Returns:
        The scenario.

    Raises:
        RuntimeError: target-postgres is not installed.
    """
    rows = sizes.batch_rows
    name = f"RECORD vs BATCH into target-postgres, Fullstory 1 job x {rows:,} rows"
    scenario = Scenario("batch", name, rows)
    if not TARGET_POSTGRES.is_file():
        msg = f"{TARGET_POSTGRES} is missing: run `make meltano` first"
        raise RuntimeError(msg)
    with (
        Emulator("bench-fullstory", rows, "--page-size", str(sizes.page_size)) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
        PostgresServer() as server,
    ):
        print(f"[batch] {scenario.name} (emulator ready in {emulator.start_seconds:.1f} s)")
        folder = Path(tmp)
        files = folder / "batches"
        tap_config: dict[str, Any] = fullstory_config(emulator.base_url, 1)
        batch_config = {"storage": {"root": files.as_uri()}}  # jsonl, gzip, 10,000 rows
        record = write_config(folder, tap_config, "record.json")
        batch = write_config(folder, {**tap_config, "batch_config": batch_config}, "batch.json")
        target = write_config(
            folder,
            {
                "host": server.host,
                "port": server.port,
                "user": server.user,
                "password": server.password,
                "database": DATABASE,
                "default_target_schema": SCHEMA,
                "load_method": "upsert",
            },
            "target.json",
        )
        count = tap_records(frozenset({STREAM}))
        file_bytes: list[int] = []

        def tap_alone(label: str, config: Path) -> Callable[[], Run]:
            def run() -> Run:
                shutil.rmtree(files, ignore_errors=True)
                result = run_child(label, tap_command(config), count=count)
                if config == batch:
                    file_bytes.append(sum(p.stat().st_size for p in files.iterdir()))
                return result

            return run

        def pipeline(label: str, config: Path) -> Callable[[], Run]:
            def run() -> Run:
                shutil.rmtree(files, ignore_errors=True)
                server.create_database(DATABASE)
                tap = " ".join(shlex.quote(part) for part in tap_command(config))
                load = f"{shlex.quote(str(TARGET_POSTGRES))} --config {shlex.quote(str(target))}"
                result = run_child(label, ["bash", "-o", "pipefail", "-c", f"{tap} | {load}"])
                loaded = server.psql(f"select count(*) from {SCHEMA}.{STREAM}", DATABASE)  # noqa: S608
                result.records = int(loaded)
                return result

            return run

        tap_alone("warm-up", record)()  # untimed: fills the emulator's and the OS's caches
        alternate(
            scenario,
            (
                tap_alone("tap", record),
                tap_alone("tap batch", batch),
                pipeline("tap | pg", record),
                pipeline("tap batch | pg", batch),
            ),
            repeat,
        )
    _note(scenario, file_bytes)
    return scenario


def _note(scenario: Scenario, file_bytes: list[int]) -> None:
    record_rate, batch_rate = scenario.throughput("tap | pg"), scenario.throughput("tap batch | pg")
    for program in PROGRAMS:
        rate = scenario.throughput(program)
        if rate is not None:
            scenario.notes[f"{program}, rows/s (best run)"] = round(rate)
    if record_rate and batch_rate:
        scenario.notes["BATCH / RECORD into target-postgres, rows/s"] = round(
            batch_rate / record_rate, 3
        )
    if file_bytes:
        scenario.notes["batch files, MiB per run (gzip)"] = round(max(file_bytes) / MIB, 1)
        scenario.notes["batch files, bytes per row"] = round(max(file_bytes) / scenario.rows, 1)
