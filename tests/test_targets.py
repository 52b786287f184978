"""The target matrix: every field of every record lands in the targets people use (issue 18).

The emulator serves the demo dataset (all three vendors, so every stream has rows). Each
target is run as its users run it, twice (the second run given the first one's state):

- through this repository's Meltano project (``meltano run tap-batchimport <loader>``,
  ``demo`` environment): target-jsonl, target-duckdb (duckdb pinned to 1.2.2, metadata
  columns on), MeltanoLabs target-postgres as configured, with the SDK's flattening on the
  target (``flattening_enabled``, depths 1 and 3), and with the SDK's flattening on the tap;
  Meltano runs at debug log level, where it logs every line the tap writes: that is what
  the tap emitted in that very run;
- by a shell pipe, ``tap | tee tap.jsonl | target > state``: pipelinewise-target-postgres
  (``data_flattening_max_level`` 0, the only level that keeps open objects; see
  docs/targets.md), the state handed to the next run as a scheduler would.

The PostgreSQL targets load into one throwaway server (tests/postgres_server.py), one
database each (schema ``batchimport``, as meltano.yml configures). Then, for every variant (tests/landed.py compares, deriving columns from the
SCHEMA messages): every record the tap emitted is in the target field by field (whole JSON,
or flattened columns that rebuild it; records of a flattening tap must rebuild into the
records of an unflattened run), nothing is NULL where the record had a value, primary keys
are unique after the rerun (an append-only target holds every record of both runs once),
and the last state the target wrote is the tap's last STATE.

Missing targets, Meltano or PostgreSQL binaries make these tests FAIL (not skip): `make
test` installs what they need.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from emulator.scenarios import demo_dataset, demo_tap_config
from emulator.server import VendorEmulator
from scripts.meltano_env import quiet_meltano_env
from tests.demo_expectations import PRIMARY_KEYS, expected_rows, meltano_executable
from tests.landed import Emitted, Landing, compare
from tests.postgres_server import PostgresServer, PostgresUnavailableError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
MELTANO_DIR = ROOT / ".meltano"
DUCKDB_PYTHON = MELTANO_DIR / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
PIPELINEWISE = MELTANO_DIR / "pipes" / "pipelinewise-target-postgres" / "bin" / "target-postgres"
TAP = ROOT / ".venv" / "bin" / "tap-batchimport"
SCHEMA = "batchimport"  # meltano.yml's default_target_schema
RUN_TIMEOUT = 300
RUNS = 2  # a first run, then a rerun given its state
PARALLEL = 2

#: A line of what the tap wrote, as ``meltano --log-level=debug run`` logs it.
TAP_LINE = re.compile(r'^\S+ \[\w+\s*\] tap-batchimport (\{"type":.*)$')


@dataclass(frozen=True)
class Variant:
    """One way of loading the tap's output: a target, how it is run, its settings."""

    name: str
    #: Meltano loader plugin, or None for a shell pipe into ``pipe``.
    loader: str | None = None
    pipe: Path | None = None
    #: Extra environment of the Meltano run: the target's settings, the tap's flattening.
    env: dict[str, str] = field(default_factory=dict)
    #: PostgreSQL database the variant loads into (None: not a PostgreSQL target).
    database: str | None = None
    append_only: bool = False
    #: The tap flattens its own output: landed rows rebuild into an unflattened run's records.
    tap_flattened: bool = False

    @property
    def id(self) -> str:
        return re.sub(r"[^\w-]+", "-", self.name).strip("-")


def flattening(prefix: str, depth: int) -> dict[str, str]:
    return {f"{prefix}_FLATTENING_ENABLED": "true", f"{prefix}_FLATTENING_MAX_DEPTH": str(depth)}


VARIANTS = [
    Variant("target-jsonl", loader="target-jsonl", append_only=True),
    Variant("target-duckdb", loader="target-duckdb"),
    Variant("target-postgres", loader="target-postgres", database="sdk"),
    Variant(
        "target-postgres, target flattening depth 1",
        loader="target-postgres",
        database="sdk_flat1",
        env=flattening("TARGET_POSTGRES", 1),
    ),
    Variant(
        "target-postgres, target flattening depth 3",
        loader="target-postgres",
        database="sdk_flat3",
        env=flattening("TARGET_POSTGRES", 3),
    ),
    Variant(
        "tap flattening depth 1, target-postgres",
        loader="target-postgres",
        database="tap_flat1",
        env=flattening("TAP_BATCHIMPORT", 1),
        tap_flattened=True,
    ),
    Variant(
        "tap flattening depth 3, target-postgres",
        loader="target-postgres",
        database="tap_flat3",
        env=flattening("TAP_BATCHIMPORT", 3),
        tap_flattened=True,
    ),
    Variant("pipelinewise-target-postgres", pipe=PIPELINEWISE, database="pipelinewise"),
    # Issue 21 adds batch mode (the tap's batch_config) into target-postgres here; Emitted
    # must then read the records of the BATCH messages' files.
]
VARIANT_IDS = [v.id for v in VARIANTS]


@dataclass
class Loaded:
    """A variant after its runs: what the tap emitted each run, the target's states, rows."""

    variant: Variant
    runs: list[Emitted]
    states: list[dict[str, t.Any] | None]
    landing: Landing
    logs: list[Path]


def named(name: str) -> Variant:
    (found,) = [v for v in VARIANTS if v.name == name]
    return found


class Matrix:
    """Runs every variant against one emulator and one PostgreSQL server."""

    def __init__(self, workdir: Path, emulator: VendorEmulator, server: PostgresServer) -> None:
        self.workdir = workdir
        self.server = server
        self.meltano = meltano_executable()
        self.env_file = workdir / "empty.env"  # the developer's .env must not leak in
        self.env_file.write_text("")
        self.tap_config = workdir / "tap-config.json"
        config = {**demo_tap_config(emulator), "job_max_pending_days": 36500}
        self.tap_config.write_text(json.dumps(config))
        self.env = {
            **quiet_meltano_env("TAP_BATCHIMPORT_", "TARGET_", "MELTANO_", "PG"),
            # Only the URLs: credentials and job ids come from meltano.yml's demo environment.
            "TAP_BATCHIMPORT_FULLSTORY_API_URL": emulator.fullstory_url,
            "TAP_BATCHIMPORT_DRUID_API_URL": emulator.druid_api_url,
            "TAP_BATCHIMPORT_DRUID_AUTH_URL": emulator.druid_auth_url,
            "TAP_BATCHIMPORT_SAILPOINT_API_URL": emulator.sailpoint_url,
            # The demo's jobs were created in 2024: keep its pending ones pending.
            "TAP_BATCHIMPORT_JOB_MAX_PENDING_DAYS": "36500",
            "TARGET_POSTGRES_HOST": server.host,
            "TARGET_POSTGRES_PORT": str(server.port),
            "TARGET_POSTGRES_USER": server.user,
            "TARGET_POSTGRES_PASSWORD": server.password,
        }

    def load(self, variant: Variant) -> Loaded:
        folder = self.workdir / variant.id
        folder.mkdir()
        if variant.loader:
            loaded = self.meltano_runs(variant, folder)
        else:
            loaded = self.pipe_runs(variant, folder)
        loaded.landing = self.landing(variant, folder)
        return loaded

    # Meltano.

    def meltano_runs(self, variant: Variant, folder: Path) -> Loaded:
        assert variant.loader
        env = {
            **self.env,
            **variant.env,
            # Its own .meltano folder (the plugins' virtualenvs linked in) and system
            # database: its own state and catalog, so variants and the other Meltano tests
            # can run at once (two runs of one extractor in one .meltano folder race on
            # writing its catalog there).
            "MELTANO_SYS_DIR_ROOT": str(meltano_sys_dir(folder, variant.loader)),
            "MELTANO_DATABASE_URI": f"sqlite:///{folder / 'meltano.db'}",
            "TARGET_JSONL_DESTINATION_PATH": str(folder / "jsonl"),
            "TARGET_DUCKDB_FILEPATH": str(folder / "warehouse.duckdb"),
        }
        if variant.database:
            env["TARGET_POSTGRES_DATABASE"] = variant.database
        loaded = Loaded(variant, [], [], Landing(variant.name, {}), [])
        for n in range(1, RUNS + 1):
            log = folder / f"meltano-run-{n}.log"
            loaded.logs.append(log)
            args = ["--log-level=debug", "run", "tap-batchimport", variant.loader]
            proc = self.meltano_cmd(args, env)
            log.write_text(proc.stdout + proc.stderr)
            assert proc.returncode == 0, (
                f"{variant.name}: meltano run #{n} failed ({log}):\n{tail(log)}"
            )
            lines = [TAP_LINE.match(line) for line in log.read_text().splitlines()]
            loaded.runs.append(Emitted([json.loads(m[1]) for m in lines if m]))
            state = self.meltano_cmd(
                ["state", "get", f"demo:tap-batchimport-to-{variant.loader}"], env
            )
            assert state.returncode == 0, state.stderr
            saved = json.loads(state.stdout[state.stdout.index("{") :])
            loaded.states.append(saved.get("singer_state"))
        return loaded

    def meltano_cmd(self, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.meltano, f"--env-file={self.env_file}", "--environment=demo", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )

    # Shell pipes.

    def pipe_runs(self, variant: Variant, folder: Path) -> Loaded:
        assert variant.pipe
        assert variant.pipe.is_file(), f"{variant.pipe} is missing: run `make meltano`"
        assert variant.database
        target_config = folder / "target-config.json"
        target_config.write_text(
            json.dumps(
                {
                    "host": self.server.host,
                    "port": self.server.port,
                    "user": self.server.user,
                    "password": self.server.password,
                    "dbname": variant.database,
                    "default_target_schema": SCHEMA,
                    # Level 0: a level >= 1 splits every object, open ones too, into key__sub
                    # columns whatever the schema says, and the open objects land as NULL.
                    "data_flattening_max_level": 0,
                    "add_metadata_columns": True,
                }
            )
        )
        loaded = Loaded(variant, [], [], Landing(variant.name, {}), [])
        state_file = folder / "state.json"
        for n in range(1, RUNS + 1):
            tap = [str(TAP), "--config", str(self.tap_config)]
            if state_file.is_file():
                tap += ["--state", str(state_file)]
            output, states = folder / f"tap-{n}.jsonl", folder / f"target-{n}.state"
            log = folder / f"pipe-{n}.log"
            loaded.logs.append(log)
            pipeline = (
                f"{shlex.join(tap)} | tee {shlex.quote(str(output))} | "
                f"{shlex.join([str(variant.pipe), '--config', str(target_config)])} "
                f"> {shlex.quote(str(states))}"
            )
            with log.open("w") as err:
                proc = subprocess.run(
                    ["bash", "-e", "-o", "pipefail", "-c", pipeline],
                    env=self.env,
                    stderr=err,
                    timeout=RUN_TIMEOUT,
                    check=False,
                )
            assert proc.returncode == 0, f"{variant.name}: pipe #{n} failed ({log}):\n{tail(log)}"
            loaded.runs.append(Emitted.parse(output.read_text()))
            # What a scheduler keeps: the target's last line of state.
            lines = states.read_text().splitlines()
            state = json.loads(lines[-1]) if lines else None
            loaded.states.append(state)
            if state is not None:
                state_file.write_text(json.dumps(state))
        return loaded

    # What landed.

    def landing(self, variant: Variant, folder: Path) -> Landing:
        if variant.database:
            rows = self.postgres_rows(variant.database)
        elif variant.loader == "target-jsonl":
            rows = {
                path.stem: [json.loads(line) for line in path.read_text().splitlines()]
                for path in sorted((folder / "jsonl").glob("*.jsonl"))
            }
        else:
            rows = duckdb_rows(folder / "warehouse.duckdb")
        return Landing(variant.name, rows, append_only=variant.append_only)

    def postgres_rows(self, database: str) -> dict[str, list[dict[str, t.Any]]]:
        sql = f"select coalesce(json_agg(table_name), '[]') from information_schema.tables where table_schema = '{SCHEMA}'"  # noqa: S608
        tables = self.server.query_json(sql, database)
        return {
            table: self.server.query_json(
                f"select coalesce(json_agg(t), '[]') from {SCHEMA}.\"{table}\" t",  # noqa: S608
                database,
            )
            for table in tables
        }

    def column_types(self, database: str) -> dict[str, dict[str, str]]:
        sql = f"select coalesce(json_agg(json_build_array(table_name, column_name, data_type)), '[]') from information_schema.columns where table_schema = '{SCHEMA}'"  # noqa: S608
        rows = self.server.query_json(sql, database)
        out: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            out.setdefault(table, {})[column] = data_type
        return out


@dataclass
class Results:
    """The matrix after every variant's runs."""

    runner: Matrix
    loaded: dict[str, Loaded]


def meltano_sys_dir(folder: Path, loader: str) -> Path:
    """A .meltano folder for one variant, with the installed plugins' virtualenvs linked in."""
    sys_dir = folder / "meltano-sys"
    for kind, name in (("extractors", "tap-batchimport"), ("loaders", loader)):
        venv = MELTANO_DIR / kind / name / "venv"
        assert venv.is_dir(), f"{name} is not installed under .meltano/: run `make meltano`"
        (sys_dir / kind / name).mkdir(parents=True)
        (sys_dir / kind / name / "venv").symlink_to(venv)
    return sys_dir


#: Reads every table of the DuckDB file; runs under the target-duckdb plugin's Python.
DUCKDB_ROWS = r"""
import datetime, decimal, json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
out = {}
tables = con.execute(
    "select table_name from information_schema.tables where table_schema = 'batchimport'"
).fetchall()
for (table,) in tables:
    cursor = con.execute('select * from batchimport."%s"' % table)
    names = [d[0] for d in cursor.description]
    out[table] = [dict(zip(names, map(plain, row))) for row in cursor.fetchall()]
print(json.dumps(out))
"""


def duckdb_rows(database: Path) -> dict[str, list[dict[str, t.Any]]]:
    assert DUCKDB_PYTHON.is_file(), "target-duckdb is not installed under .meltano/"
    assert database.is_file(), "target-duckdb wrote no DuckDB file"
    proc = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", DUCKDB_ROWS, str(database)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer().start()
    except PostgresUnavailableError as exc:
        pytest.fail(str(exc))
    try:
        for variant in VARIANTS:
            if variant.database:
                server.create_database(variant.database)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def matrix(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Results]:
    """Every variant loaded (twice each), against one emulator serving the demo data."""
    dataset = demo_dataset()
    assert all(n > 0 for n in expected_rows(dataset).values())  # every stream has rows
    with VendorEmulator(dataset) as emulator:
        runner = Matrix(tmp_path_factory.mktemp("targets"), emulator, postgres)
        # Two variants at a time (each has its own folder, system database and database):
        # most of a run is waiting on another process.
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            done = dict(zip(VARIANT_IDS, pool.map(runner.load, VARIANTS), strict=True))
        yield Results(runner, done)


def loaded(matrix: Results, variant: Variant) -> Loaded:
    return matrix.loaded[variant.id]


def reference(matrix: Results) -> Emitted:
    """An unflattened first run (the pipe's) that flattened runs must rebuild into."""
    (pipe,) = [v for v in VARIANTS if v.pipe]
    return loaded(matrix, pipe).runs[0]


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_every_record_lands_field_by_field(matrix: Results, variant: Variant) -> None:
    found = loaded(matrix, variant)
    first = found.runs[0]
    assert set(first.streams) == set(PRIMARY_KEYS), variant.name
    assert all(first.records(stream) for stream in PRIMARY_KEYS), variant.name
    base = reference(matrix) if variant.tap_flattened else None
    problems = compare(found.runs, found.landing, reference=base)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_the_rerun_adds_no_result_row(matrix: Results, variant: Variant) -> None:
    # The rerun re-emits only job_details of the jobs still pending (compared above); the
    # primary keys stay unique in upserting targets (also compared above).
    rerun = loaded(matrix, variant).runs[1]
    assert rerun.records("job_details"), variant.name
    assert {s for s in rerun.streams if rerun.records(s)} == {"job_details"}, variant.name


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_the_targets_last_state_is_the_taps_last_state(matrix: Results, variant: Variant) -> None:
    found = loaded(matrix, variant)
    for n, (run, state) in enumerate(zip(found.runs, found.states, strict=True), start=1):
        assert run.last_state is not None, f"{variant.name}: run {n} emitted no STATE"
        assert state == run.last_state, f"{variant.name}: run {n} ({found.logs[n - 1]})"


def test_every_run_ends_with_a_state_after_its_last_record(
    matrix: Results,
) -> None:
    """The contract: a scheduler saves the last STATE, so nothing may come after it.

    A target that writes state only when the tap sends one (target-jsonl, for example)
    otherwise saves a state that misses what the run's last records changed.
    """
    late = {
        f"{variant.name} run {n}": run.records_after_last_state()
        for variant in VARIANTS
        for n, run in enumerate(loaded(matrix, variant).runs, start=1)
        if run.records_after_last_state()
    }
    assert not late, f"RECORD messages after the run's last STATE: {late}"


#: The open objects (tests/test_schemas.py checks the schemas declare these, and no other).
OPEN_OBJECT_COLUMNS = {
    "imported_users": ["properties", "schema", "type_conflicts"],
    "imported_events": ["properties", "schema"],
    "user_import_errors": ["user"],
    "event_import_errors": ["event", "shared"],
    "job_details": ["vendor_status"],
    "config_import_results": ["details"],
}


@pytest.mark.parametrize(
    ("variant", "column_type", "context_column"),
    [
        (named("target-postgres"), "jsonb", "context"),
        (named("pipelinewise-target-postgres"), "jsonb", "context"),  # level 0
        # The SDK's flattening: an open object is one column of JSON text at any depth,
        # a known shape is split down to the depth.
        (named("target-postgres, target flattening depth 1"), "text", "context__device"),
        (named("target-postgres, target flattening depth 3"), "text", "context__device__model"),
        (named("tap flattening depth 1, target-postgres"), "text", "context__device"),
        (named("tap flattening depth 3, target-postgres"), "text", "context__device__model"),
    ],
    ids=lambda v: v.id if isinstance(v, Variant) else None,
)
def test_open_objects_are_one_json_column(
    matrix: Results, variant: Variant, column_type: str, context_column: str
) -> None:
    assert variant.database
    types = matrix.runner.column_types(variant.database)
    for table, columns in OPEN_OBJECT_COLUMNS.items():
        for column in columns:
            assert types[table].get(column) == column_type, (variant.name, table, column)
            split = [c for c in types[table] if c.startswith(f"{column}__")]
            assert not split, (variant.name, table, split)
    # The variant flattened (or not) as it says: the event context's columns.
    context = sorted(c for c in types["imported_events"] if c.startswith("context"))
    assert context_column in context, (variant.name, context)
    assert all(c.count("__") == context_column.count("__") for c in context), context


def test_target_duckdb_runs_with_the_pinned_duckdb() -> None:
    """target-duckdb 0.8.0 with duckdb 2.x loses rows (docs/targets.md): keep duckdb 1.2.2."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (duckdb,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-duckdb"]
    assert duckdb["pip_url"].split() == ["target-duckdb==0.8.0", "duckdb==1.2.2"]
    proc = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", "import duckdb; print(duckdb.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.strip() == "1.2.2", proc.stderr


DOC_PAGE = ROOT / "docs" / "targets.md"
#: docs/targets.md's sections of SQL for PostgreSQL, and the variants whose tables they query.
DOC_SECTIONS = {
    "### PostgreSQL": ["target-postgres", "pipelinewise-target-postgres"],
    "### Flattened columns (JSON text)": [
        "target-postgres, target flattening depth 1",
        "target-postgres, target flattening depth 3",
        "tap flattening depth 1, target-postgres",
        "tap flattening depth 3, target-postgres",
    ],
}


def doc_sql(heading: str) -> list[str]:
    """The SQL of one section of docs/targets.md (up to the next heading)."""
    text = DOC_PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    section = re.split(r"^#{1,3} ", section, maxsplit=1, flags=re.MULTILINE)[0]
    # Each query is shown with the command that runs it: psql <<'SQL' ... SQL.
    return re.findall(r"^psql <<'SQL'\n(.*?)^SQL$", section, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("heading", DOC_SECTIONS)
def test_the_postgresql_queries_of_docs_targets_md_run(matrix: Results, heading: str) -> None:
    blocks = doc_sql(heading)
    assert blocks, f"no sql under {heading} in {DOC_PAGE.name}"
    for name in DOC_SECTIONS[heading]:
        database = named(name).database
        assert database
        for sql in blocks:
            output = matrix.runner.server.psql(sql, database)
            assert output.strip(), f"{name}: no row on the demo data:\n{sql}"
