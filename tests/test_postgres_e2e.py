"""End to end into a real PostgreSQL: `meltano run ... target-postgres`, whole and in shards.

A PostgreSQL server from Debian's ``postgresql`` package is started for the module
(tests/postgres_server.py: initdb in a temporary folder, a free loopback port, password
authentication, run as the ``postgres`` user under root). Then, through this repository's
meltano.yml (``demo`` environment, the vendor emulator serving the demo dataset):

1. database ``single``: the tables of docs/postgresql-tables.sql, then
   ``meltano run tap-batchimport target-postgres`` twice;
2. database ``shards``: the same tables, then the three shards
   ``tap-batchimport--fullstory``, ``--druid`` and ``--sailpoint`` with target-postgres as
   three ``meltano run`` processes at once.

Checked: every table holds the rows the emulator's data implies, primary keys are unique,
JSON columns answer ``->``/``->>`` queries (and docs/postgresql.md's SQL runs), date-times
are ``timestamp with time zone`` holding the vendor's instants, the second run loads no
result row again, the shards load what one run loads with each vendor extracted once, each
shard keeps its own state, and a shard is given its own vendor's settings only.

Missing PostgreSQL binaries or Meltano make these tests FAIL (not skip), with what to install.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import typing as t
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from emulator.scenarios import demo_dataset
from emulator.server import VendorEmulator
from scripts.meltano_env import quiet_meltano_env
from tests.demo_expectations import (
    PRIMARY_KEYS,
    RESULT_TABLES,
    expected_rows,
    finished_user_jobs,
    meltano_executable,
)
from tests.postgres_server import PostgresServer, PostgresUnavailableError

if t.TYPE_CHECKING:
    from collections.abc import Iterator


pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TABLES_SQL = ROOT / "docs" / "postgresql-tables.sql"
DOC_PAGE = ROOT / "docs" / "postgresql.md"
SCHEMA = "batchimport"
LOADER = "batchimport_loader"
RUN_TIMEOUT = 300
VENDORS = ("fullstory", "druid", "sailpoint")


#: The settings that switch a vendor on (credentials, job ids), by shard.
VENDOR_SETTINGS = {
    "fullstory": [
        "fullstory_api_key",
        "fullstory_user_import_job_ids",
        "fullstory_event_import_job_ids",
    ],
    "druid": [
        "druid_api_url",
        "druid_auth_url",
        "druid_client_id",
        "druid_client_secret",
        "druid_bulk_ids",
    ],
    "sailpoint": [
        "sailpoint_api_url",
        "sailpoint_client_id",
        "sailpoint_client_secret",
        "sailpoint_import_job_ids",
    ],
}
CREDENTIALS = {
    vendor: [k for k in keys if not k.endswith("_ids")] for vendor, keys in VENDOR_SETTINGS.items()
}


# What the emulator's demo data implies.


# The pipeline.


class Pipelines:
    """This repository's Meltano project loading into one PostgreSQL server."""

    def __init__(self, workdir: Path, server: PostgresServer, emulator: VendorEmulator) -> None:
        self.meltano = meltano_executable()
        self.workdir = workdir
        self.server = server
        self.env_file = workdir / "empty.env"  # the developer's .env must not leak in
        self.env_file.write_text("")
        self.loader_password = secrets.token_urlsafe(16)
        server.psql(f"create role {LOADER} login password '{self.loader_password}'")
        self.env = {
            **quiet_meltano_env("TAP_BATCHIMPORT_", "TARGET_", "MELTANO_", "PG"),
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
            # Only the URLs: credentials and job ids come from meltano.yml's demo environment,
            # which the shards inherit like these variables.
            "TAP_BATCHIMPORT_FULLSTORY_API_URL": emulator.fullstory_url,
            "TAP_BATCHIMPORT_DRUID_API_URL": emulator.druid_api_url,
            "TAP_BATCHIMPORT_DRUID_AUTH_URL": emulator.druid_auth_url,
            "TAP_BATCHIMPORT_SAILPOINT_API_URL": emulator.sailpoint_url,
            # The connection as docs/postgresql.md sets it: TARGET_POSTGRES_* variables,
            # for a role that may load into the tables but not create or alter any.
            "TARGET_POSTGRES_HOST": server.host,
            "TARGET_POSTGRES_PORT": str(server.port),
            "TARGET_POSTGRES_USER": LOADER,
            "TARGET_POSTGRES_PASSWORD": self.loader_password,
        }
        self.logs: dict[str, Path] = {}

    def command(self, *args: str) -> list[str]:
        return [self.meltano, f"--env-file={self.env_file}", "--environment=demo", *args]

    def meltano_cmd(self, *args: str, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(
            self.command(*args),
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        assert proc.returncode == 0, f"meltano {' '.join(args)} failed:\n{tail}"
        return proc.stdout

    def create_tables(self, database: str) -> None:
        """docs/postgresql-tables.sql, as docs/postgresql.md runs it (psql -f)."""
        self.server.create_database(database)
        # Nothing for PUBLIC (PostgreSQL grants it CONNECT and TEMPORARY): the loader
        # gets what the SQL file grants, no more.
        self.server.psql(f'revoke all on database "{database}" from public')
        proc = subprocess.run(
            [
                str(self.server.bindir / "psql"),
                "-X",
                "-q",
                f"-vschema={SCHEMA}",
                f"-vloader={LOADER}",
                "-f",
                TABLES_SQL,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, **self.server.client_env(database)},
        )
        assert proc.returncode == 0, f"{TABLES_SQL.name} failed:\n{proc.stderr}"

    def run(self, name: str, database: str, *extractors: str) -> None:
        """`meltano run <extractor> target-postgres`, one process per extractor, all at once."""
        env = {**self.env, "TARGET_POSTGRES_DATABASE": database}
        procs = {}
        for extractor in extractors:
            log = self.workdir / f"{name}-{extractor}.log"
            self.logs[f"{name}-{extractor}"] = log
            with log.open("w") as out:
                procs[extractor] = subprocess.Popen(
                    self.command("run", extractor, "target-postgres"),
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        failed = []
        for extractor, proc in procs.items():
            try:
                code = proc.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            if code:
                log = self.logs[f"{name}-{extractor}"]
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
                failed.append(
                    f"meltano run {extractor} target-postgres exited {code} ({log}):\n{tail}"
                )
        assert not failed, "\n\n".join(failed)

    def tables(self, database: str) -> dict[str, t.Any]:
        """Per table: rows, distinct primary keys, when its last row was loaded."""
        out: dict[str, t.Any] = {}
        for table, keys in PRIMARY_KEYS.items():
            cols = ", ".join(f'"{k}"' for k in keys)
            out[table] = self.server.query_json(
                f"select json_build_object('rows', count(*), 'distinct_keys', count(distinct ({cols})), "  # noqa: S608
                f"'last_loaded', max(_sdc_batched_at)) from {SCHEMA}.\"{table}\"",
                database,
            )
        return out

    def columns(self, database: str) -> dict[str, dict[str, str]]:
        """Column types by table and column."""
        rows = self.server.query_json(
            "select coalesce(json_agg(json_build_array(table_name, column_name, data_type)), "
            "'[]') from information_schema.columns where table_schema = 'batchimport'",
            database,
        )
        out: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            out.setdefault(table, {})[column] = data_type
        return out


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer().start()
    except PostgresUnavailableError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def loads(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    """Both single runs and the parallel shards, against one emulator."""
    dataset = demo_dataset()
    out: dict[str, t.Any] = {"expected": expected_rows(dataset), "dataset": dataset}
    with VendorEmulator(dataset) as emulator:
        pipes = Pipelines(tmp_path_factory.mktemp("postgres-e2e"), postgres, emulator)
        out["pipes"] = pipes

        pipes.create_tables("single")
        out["ddl_columns"] = pipes.columns("single")
        emulator.clear_requests()
        pipes.run("first", "single", "tap-batchimport")
        out["first_requests"] = Counter((r.vendor, r.endpoint) for r in emulator.requests)
        out["first"] = pipes.tables("single")
        pipes.run("second", "single", "tap-batchimport")
        out["second"] = pipes.tables("single")
        out["columns"] = pipes.columns("single")

        # The system database exists by now: parallel meltano processes must not all try
        # to create it (they would race on its migrations).
        pipes.create_tables("shards")
        emulator.clear_requests()
        started = time.monotonic()
        pipes.run("shards", "shards", *(f"tap-batchimport--{v}" for v in VENDORS))
        out["shards_seconds"] = time.monotonic() - started
        out["shard_requests"] = Counter((r.vendor, r.endpoint) for r in emulator.requests)
        out["shards"] = pipes.tables("shards")
        out["shard_columns"] = pipes.columns("shards")
        out["states"] = pipes.meltano_cmd("state", "list")
    return out


# One run, twice.


def test_first_run_loads_every_row_of_the_emulator(loads: dict[str, t.Any]) -> None:
    expected = loads["expected"]
    assert all(n > 0 for n in expected.values()), expected  # the demo covers every stream
    assert {table: stats["rows"] for table, stats in loads["first"].items()} == expected


def test_primary_keys_are_unique(loads: dict[str, t.Any]) -> None:
    for load in ("first", "second", "shards"):
        for table, stats in loads[load].items():
            assert stats["distinct_keys"] == stats["rows"], (load, table, stats)


def test_second_run_loads_no_result_row_again(loads: dict[str, t.Any]) -> None:
    first, second = loads["first"], loads["second"]
    assert {k: v["rows"] for k, v in second.items()} == {k: v["rows"] for k, v in first.items()}
    # Not even re-emitted and upserted: a reloaded row would carry a newer _sdc_batched_at.
    for table in RESULT_TABLES:
        assert first[table]["last_loaded"], table
        assert second[table]["last_loaded"] == first[table]["last_loaded"], table
    # job_details is upserted again (unfinished jobs are checked on every run).
    assert second["job_details"]["last_loaded"] > first["job_details"]["last_loaded"]


def date_time_properties() -> dict[str, set[str]]:
    """Top-level date-time properties of every stream, from the tap's own catalog."""
    proc = subprocess.run(
        [sys.executable, "-m", "tap_batchimport", "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_BATCHIMPORT_")},
    )
    assert proc.returncode == 0, proc.stderr
    catalog = json.loads(proc.stdout)

    def is_date_time(schema: dict[str, t.Any]) -> bool:
        options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
        return any(option.get("format") == "date-time" for option in options)

    return {
        stream["tap_stream_id"]: {
            name for name, prop in stream["schema"]["properties"].items() if is_date_time(prop)
        }
        for stream in catalog["streams"]
    }


def test_date_times_are_timestamptz_holding_the_vendors_instants(
    loads: dict[str, t.Any],
) -> None:
    wanted = date_time_properties()
    assert set(wanted) == set(PRIMARY_KEYS)
    assert "created" in wanted["job_details"]
    metadata = {"_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at"}
    for load in ("columns", "shard_columns"):
        columns = loads[load]
        for table, names in wanted.items():
            for name in names | metadata:
                assert columns[table].get(name) == "timestamp with time zone", (load, table, name)
        naive = [
            (table, name)
            for table, types in columns.items()
            for name, data_type in types.items()
            if data_type == "timestamp without time zone"
        ]
        assert not naive, (load, naive)
    # The instants themselves, whatever the session's time zone.
    dataset, pipes = loads["dataset"], loads["pipes"]
    jobs = {j.job_id: j for j in dataset.fullstory_jobs}
    rows = pipes.server.query_json(
        "set time zone 'America/Los_Angeles'; select json_agg(json_build_array(job_id, "
        "extract(epoch from created), extract(epoch from finished))) "
        "from batchimport.job_details where source like 'fullstory%' and created is not null",
        "single",
    )
    assert rows
    for job_id, created, finished in rows:
        assert created == epoch(jobs[job_id].created), job_id
        if jobs[job_id].finished:
            assert finished == epoch(jobs[job_id].finished), job_id


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_tables_are_those_of_docs_postgresql_tables_sql(loads: dict[str, t.Any]) -> None:
    """target-postgres added no column: the DDL has every column the tap emits.

    A column the tap gains later is added by target-postgres itself, but as
    ``timestamp without time zone`` for a date-time, and by every shard at once (they race).
    """
    added = {
        f"{table}.{name} {data_type}"
        for table, types in loads["columns"].items()
        for name, data_type in types.items()
        if name not in loads["ddl_columns"].get(table, {})
    }
    assert not added, f"add these columns to docs/{TABLES_SQL.name}: {sorted(added)}"
    assert loads["columns"] == loads["ddl_columns"]


def test_json_columns_answer_json_operators(loads: dict[str, t.Any]) -> None:
    dataset, server = loads["dataset"], loads["pipes"].server
    # A Fullstory object column (jsonb), nested keys and all.
    rows = server.query_json(
        "select json_agg(json_build_array(job_id, row_number, properties->'address'->>'city', "
        "(properties->>'seats')::int, properties)) "
        "from batchimport.imported_users",
        "single",
    )
    loaded = {(job_id, n): (city, seats, props) for job_id, n, city, seats, props in rows}
    served = {
        (job.job_id, n): item.get("properties")
        for job in finished_user_jobs(dataset)
        for n, item in enumerate(job.imports)
    }
    assert set(loaded) == set(served)
    for key, properties in served.items():
        city, seats, loaded_properties = loaded[key]
        assert loaded_properties == properties, key
        assert city == ((properties or {}).get("address") or {}).get("city"), key
        assert seats == (properties or {}).get("seats"), key


def doc_sql_blocks() -> list[str]:
    # The page shows each query with the command that runs it: psql <<'SQL' ... SQL.
    text = DOC_PAGE.read_text(encoding="utf-8")
    return re.findall(r"^psql <<'SQL'\n(.*?)^SQL$", text, flags=re.MULTILINE | re.DOTALL)


def test_the_sql_of_docs_postgresql_md_runs_on_postgresql(loads: dict[str, t.Any]) -> None:
    blocks = doc_sql_blocks()
    assert blocks, f"{DOC_PAGE.name} shows no SQL"
    for sql in blocks:
        output = loads["pipes"].server.psql(sql, "single")
        assert output.strip(), f"no row on the demo data:\n{sql}"


# Shards.


def test_shards_in_parallel_load_what_one_run_loads(loads: dict[str, t.Any]) -> None:
    assert {table: stats["rows"] for table, stats in loads["shards"].items()} == loads["expected"]
    for table in RESULT_TABLES:
        assert loads["shards"][table]["last_loaded"], table


def test_shards_extract_each_vendor_once(loads: dict[str, t.Any]) -> None:
    # The same requests as the single first run: a shard that also extracted another
    # vendor would double that vendor's requests (tokens, statuses, result pages).
    first, shards = loads["first_requests"], loads["shard_requests"]
    assert {vendor for vendor, _ in first} >= set(VENDORS)
    assert shards == first


def test_each_shard_keeps_its_own_state(loads: dict[str, t.Any]) -> None:
    states = set(loads["states"].split())
    assert "demo:tap-batchimport-to-target-postgres" in states
    for vendor in VENDORS:
        assert f"demo:tap-batchimport--{vendor}-to-target-postgres" in states


def test_a_shard_is_given_its_own_vendor_only(tmp_path: Path) -> None:
    """What Meltano passes to a shard, with every vendor's variables set (as in prod)."""
    meltano = meltano_executable()
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    env = quiet_meltano_env("TAP_BATCHIMPORT_", "MELTANO_")
    parent: dict[str, t.Any] = {
        "fullstory_api_key": "env-fs-key",
        "fullstory_user_import_job_ids": ["env-users-1"],
        "druid_api_url": "https://graph.example.com",
        "druid_client_secret": "env-druid-secret",
        "druid_bulk_ids": ["env-bulk-1"],
        "sailpoint_client_secret": "env-sp-secret",
        "sailpoint_import_job_ids": ["env-sp-1"],
    }
    for key, value in parent.items():
        env[f"TAP_BATCHIMPORT_{key.upper()}"] = (
            value if isinstance(value, str) else json.dumps(value)
        )
    # A shard's own variable wins over what it inherits, and reaches that shard only.
    env["TAP_BATCHIMPORT__SAILPOINT_JOB_WAIT_TIMEOUT_SECONDS"] = "42"
    procs = {
        vendor: subprocess.Popen(
            [
                meltano,
                f"--env-file={env_file}",
                "--environment=prod",
                "invoke",
                "--dump=config",
                f"tap-batchimport--{vendor}",
            ],
            # One system database each: new ones must not be created concurrently.
            env={**env, "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / vendor}.db"},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for vendor in VENDORS
    }
    for vendor, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-3000:]
        config = json.loads(stdout)
        own = {k: v for k, v in parent.items() if k in VENDOR_SETTINGS[vendor]}
        assert own, vendor
        assert {k: config.get(k) for k in own} == own, vendor  # inherited from TAP_BATCHIMPORT_*
        for other in set(VENDORS) - {vendor}:
            for key in VENDOR_SETTINGS[other]:
                assert config.get(key) in ("", []), (vendor, key, config.get(key))
        # Inherited: the prod environment's config of tap-batchimport.
        timeout = 42 if vendor == "sailpoint" else 600
        assert config["job_wait_timeout_seconds"] == timeout, vendor


def test_meltano_yml_declares_target_postgres_and_the_shards() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    # A custom definition pinned to one release: Meltano never asks the Hub.
    assert "variant" not in loader
    assert re.fullmatch(r"meltanolabs-target-postgres==\d+\.\d+\.\d+", loader["pip_url"])
    assert loader["namespace"] == "target_postgres"
    assert loader["executable"] == "target-postgres"
    assert {s["name"] for s in loader["settings"]} >= {
        "host", "port", "user", "password", "database", "default_target_schema", "load_method",
    }  # fmt: skip
    assert {s["name"] for s in loader["settings"] if s.get("sensitive")} >= {"password"}
    assert loader["config"]["default_target_schema"] == SCHEMA
    assert loader["config"]["load_method"] == "upsert"
    assert loader["config"]["add_record_metadata"] is True

    shards = {p["name"]: p for p in project["plugins"]["extractors"] if "inherit_from" in p}
    assert set(shards) == {f"tap-batchimport--{v}" for v in VENDORS}
    for vendor in VENDORS:
        shard = shards[f"tap-batchimport--{vendor}"]
        assert shard["inherit_from"] == "tap-batchimport"
        # Blank, not null: Meltano replaces a null with the inherited value.
        blanks = {key: [] if key.endswith("_ids") else "" for v in VENDORS if v != vendor
                  for key in VENDOR_SETTINGS[v]}  # fmt: skip
        assert shard["config"] == blanks, vendor
