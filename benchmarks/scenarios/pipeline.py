"""Where a pipeline's time goes: the tap alone, into target-duckdb, into target-postgres.

One Fullstory job of 1,000,000 nested rows (scenario 1's dataset; the emulator in its own
process, pages rendered first) is read three ways, each a fresh load:

- ``tap``: the tap alone, its output to ``/dev/null`` (what the tap can give);
- ``tap | target-duckdb``: a shell-style pipe into target-duckdb 0.8.0, configured as the
  project's ``meltano.yml`` configures it, into a new DuckDB file;
- ``tap | target-postgres``: into MeltanoLabs target-postgres 0.8.1 (``meltano.yml``'s
  settings: upsert, record metadata) on a throwaway local PostgreSQL server
  (``tests/postgres_server.py``), into a new database.

The targets are the ones ``make meltano`` installs (``.meltano/loaders/<target>/venv``); a
missing one, or missing PostgreSQL server binaries, is reported and its row left out.
The tap alone and the target-postgres pipe run again in batch mode (``batch_config``:
gzip JSON Lines files of 10,000 rows, BATCH messages instead of RECORDs; target-duckdb
reads no BATCH message). Each row is one :class:`PipelineFigure` in the scenario's
``pipeline`` note; another scenario can add rows with :func:`add_figure` that the report
prints in the same table. One run each; the loaded rows are counted in PostgreSQL.

Printed: rows/s of each, and the CPU time of the tap and of the target in each pipe: when
the target's CPU time is close to the pipe's wall time, the target is the bottleneck and
the tap waits on a full pipe.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.runner import (
    REPO,
    Emulator,
    Scenario,
    check_count,
    print_run,
    run_child,
    run_pipe,
    tap_command,
    tap_records,
    write_config,
)
from benchmarks.scenarios.loopback import fullstory_config

if TYPE_CHECKING:
    from benchmarks.runner import PipeRun, Run
    from benchmarks.scenarios.sizes import Sizes

LOADERS = REPO / ".meltano" / "loaders"
_STREAMS = frozenset({"user_import_errors", "imported_users"})
#: The schema the targets load into (as meltano.yml's default_target_schema).
SCHEMA = "batchimport"


@dataclass(frozen=True)
class PipelineFigure:
    """One row of the pipeline table.

    Attributes:
        pipeline: ``tap``, ``tap | target-duckdb``, ...
        mode: ``RECORD`` or ``BATCH`` (the tap's output).
        rows: Result records loaded.
        wall: Wall time until the last process ended, in seconds.
        tap_cpu: CPU time of the tap, in seconds.
        target_cpu: CPU time of the target (None for the tap alone).
        target_rss_mib: Peak RSS of the target (None for the tap alone).
    """

    pipeline: str
    mode: str
    rows: int
    wall: float
    tap_cpu: float
    target_cpu: float | None = None
    target_rss_mib: float | None = None

    @property
    def rows_per_second(self) -> float:
        """Rows loaded per second of wall time."""
        return self.rows / self.wall

    @classmethod
    def of_pipe(cls, pipe: PipeRun, rows: int, mode: str = "RECORD") -> PipelineFigure:
        """The figure of a measured pipe.

        Args:
            pipe: The pipe.
            rows: Result records it carried.
            mode: The tap's output mode.

        Returns:
            The figure.
        """
        return cls(
            pipe.whole.program,
            mode,
            rows,
            pipe.whole.wall,
            pipe.producer.cpu,
            pipe.consumer.cpu,
            pipe.consumer.rss_mib,
        )


def add_figure(scenario: Scenario, figure: PipelineFigure) -> None:
    """Add a row to a scenario's pipeline table (printed by the report).

    Args:
        scenario: The scenario.
        figure: The row.
    """
    scenario.notes.setdefault("pipeline", []).append(asdict(figure))


def target_executable(name: str) -> Path | None:
    """A target installed by ``make meltano``, if it is.

    Args:
        name: ``target-duckdb`` or ``target-postgres``.

    Returns:
        Its executable, or None.
    """
    path = LOADERS / name / "venv" / "bin" / name
    return path if path.is_file() else None


def _clean_env() -> dict[str, str]:
    # The targets read TARGET_<SETTING> variables too: the developer's must not leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith(("TARGET_", "PG"))}


def scenario_pipeline(sizes: Sizes) -> Scenario:
    """Run the pipeline scenario.

    Args:
        sizes: Dataset sizes.

    Returns:
        The scenario; its ``pipeline`` note holds one :class:`PipelineFigure` per row.
    """
    rows = sizes.pipeline_rows
    name = f"Fullstory errors, 1 job x {rows:,} rows into targets"
    scenario = Scenario("pipeline", name, rows, in_table=False)
    page = str(sizes.page_size)
    with (
        Emulator("bench-fullstory", rows, "--page-size", page) as emulator,
        tempfile.TemporaryDirectory(prefix="bench-") as tmp,
    ):
        print(f"[pipeline] {scenario.name} (emulator ready in {emulator.start_seconds:.1f} s)")
        folder = Path(tmp)
        tap = tap_command(write_config(folder, fullstory_config(emulator.base_url, 1)))
        count = tap_records(_STREAMS)
        alone = _record(scenario, run_child("tap", tap, count=count))
        add_figure(scenario, PipelineFigure("tap", "RECORD", rows, alone.wall, alone.cpu))
        files = folder / "batches"
        batch_config = {"storage": {"root": files.as_uri()}}  # jsonl, gzip, 10,000 rows
        tap_batch = tap_command(
            write_config(
                folder,
                {**fullstory_config(emulator.base_url, 1), "batch_config": batch_config},
                "batch.json",
            )
        )
        alone = _record(scenario, run_child("tap (batch files)", tap_batch, count=count))
        add_figure(scenario, PipelineFigure("tap", "BATCH", rows, alone.wall, alone.cpu))
        size = sum(path.stat().st_size for path in files.iterdir())
        scenario.notes["batch files, bytes per row (gzip)"] = round(size / rows, 1)
        shutil.rmtree(files)
        duckdb = target_executable("target-duckdb")
        if duckdb is None:
            scenario.notes["target-duckdb"] = "not installed (make meltano)"
        else:
            config = {
                "filepath": str(folder / "warehouse.duckdb"),
                "default_target_schema": SCHEMA,
                "add_metadata_columns": True,
            }
            target = [str(duckdb), "--config", str(write_config(folder, config, "duckdb.json"))]
            _pipe(scenario, "tap | target-duckdb", tap, target)
            # target-duckdb (pipelinewise) has no BATCH message: no BATCH row for it.
            scenario.notes["target-duckdb, BATCH"] = "not supported by the target"
        _postgres(scenario, folder, {"RECORD": tap, "BATCH": tap_batch})
        shutil.rmtree(files, ignore_errors=True)
    return scenario


def _postgres(scenario: Scenario, folder: Path, taps: dict[str, list[str]]) -> None:
    executable = target_executable("target-postgres")
    if executable is None:
        scenario.notes["target-postgres"] = "not installed (make meltano)"
        return
    from tests.postgres_server import (  # noqa: PLC0415 - only this scenario needs it
        PostgresServer,
        PostgresUnavailableError,
    )

    try:
        server = PostgresServer().start()
    except PostgresUnavailableError as exc:
        scenario.notes["target-postgres"] = f"no PostgreSQL server: {exc}"
        return
    try:
        for mode, tap in taps.items():
            database = f"bench_{mode.lower()}"  # a fresh load for each mode
            server.create_database(database)
            config = {
                "host": server.host,
                "port": server.port,
                "user": server.user,
                "password": server.password,
                "database": database,
                "default_target_schema": SCHEMA,
                "load_method": "upsert",
                "add_record_metadata": True,
            }
            target = [str(executable), "--config", str(write_config(folder, config, "pg.json"))]
            _pipe(scenario, "tap | target-postgres", tap, target, mode=mode)
            loaded = sum(
                int(server.psql(f"select count(*) from {SCHEMA}.{table}", database))  # noqa: S608
                for table in sorted(_STREAMS)
                if server.psql(f"select to_regclass('{SCHEMA}.{table}')", database)
            )
            if loaded != scenario.rows:
                print(f"  ! {scenario.name}: {mode} loaded {loaded:,} rows, not {scenario.rows:,}")
    finally:
        server.stop()


def _pipe(
    scenario: Scenario, label: str, tap: list[str], target: list[str], *, mode: str = "RECORD"
) -> None:
    pipe = run_pipe(label, tap, target, count=tap_records(_STREAMS), env=_clean_env())
    _record(scenario, pipe.whole)
    print(
        f"    tap cpu {pipe.producer.cpu:.2f} s (ended at {pipe.producer.wall:.2f} s), "
        f"{pipe.consumer.program} cpu {pipe.consumer.cpu:.2f} s, "
        f"rss {pipe.consumer.rss_mib:.0f} MiB",
        flush=True,
    )
    add_figure(scenario, PipelineFigure.of_pipe(pipe, scenario.rows, mode))


def _record(scenario: Scenario, run: Run) -> Run:
    check_count(scenario, run, scenario.rows)
    scenario.runs.append(run)
    print_run(run, scenario.rows)
    return run


def pipeline_rows(notes: dict[str, Any]) -> list[dict[str, Any]]:
    """The pipeline table's rows of a scenario's notes (none if it has no table).

    Args:
        notes: The scenario's notes.

    Returns:
        The rows, as :class:`PipelineFigure` dicts.
    """
    figures: list[dict[str, Any]] = notes.get("pipeline") or []
    return figures
