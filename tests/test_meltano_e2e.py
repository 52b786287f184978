"""End to end through Meltano itself: `meltano run tap-batchimport target-duckdb`, twice.

Runs the project's meltano.yml (``demo`` environment) against the vendor emulator serving
the demo dataset (all three vendors), then reads the DuckDB file target-duckdb wrote:
every table holds the rows the emulator's data implies, primary keys are unique, and a
second run, given the state Meltano saved, loads no result row again.

Meltano is not a test dependency of the tap's virtualenv: `make test` installs it under
.meltano/ (see the Makefile) and this test FAILS, rather than skips, when it is missing.
The run uses a temporary system database (state) and DuckDB file, so it neither reads
nor changes what `make demo` left behind.
"""

from __future__ import annotations

import json
import subprocess
import typing as t
from pathlib import Path

import pytest

from emulator.scenarios import demo_dataset
from emulator.server import VendorEmulator
from scripts.meltano_env import quiet_meltano_env
from tests.demo_expectations import PRIMARY_KEYS, RESULT_TABLES, expected_rows, meltano_executable

if t.TYPE_CHECKING:
    pass

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
STATE_ID = "demo:tap-batchimport-to-target-duckdb"
RUN_TIMEOUT = 300


#: Reads the DuckDB file; runs under the target-duckdb plugin's Python (it has duckdb).
INSPECT = r"""
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {}
for table, keys in json.loads(sys.argv[2]).items():
    found = con.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'batchimport' and table_name = ?", [table]
    ).fetchone()[0]
    if not found:
        out[table] = None
        continue
    cols = ", ".join('"%s"' % k for k in keys)
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns"
        " where table_schema = 'batchimport' and table_name = ?", [table]
    ).fetchall()}
    batched = "max(_sdc_batched_at)::varchar" if "_sdc_batched_at" in columns else "null"
    rows, distinct, batched = con.execute(
        'select count(*), count(distinct (%s)), %s from batchimport."%s"' % (cols, batched, table)
    ).fetchone()
    out[table] = {"rows": rows, "distinct_keys": distinct, "last_loaded": batched}
print(json.dumps(out))
"""


class MeltanoProject:
    """This repository's Meltano project, run with a temporary state database and warehouse."""

    def __init__(self, workdir: Path, emulator: VendorEmulator) -> None:
        self.meltano = meltano_executable()
        self.workdir = workdir
        self.duckdb_file = workdir / "e2e.duckdb"
        self.env_file = workdir / "empty.env"  # the developer's .env must not leak in
        self.env_file.write_text("")
        self.env = {
            **quiet_meltano_env("TAP_BATCHIMPORT_", "TARGET_DUCKDB_", "MELTANO_"),
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
            "TARGET_DUCKDB_FILEPATH": str(self.duckdb_file),
            # Only the URLs: credentials and job ids come from meltano.yml's demo environment.
            "TAP_BATCHIMPORT_FULLSTORY_API_URL": emulator.fullstory_url,
            "TAP_BATCHIMPORT_DRUID_API_URL": emulator.druid_api_url,
            "TAP_BATCHIMPORT_DRUID_AUTH_URL": emulator.druid_auth_url,
            "TAP_BATCHIMPORT_SAILPOINT_API_URL": emulator.sailpoint_url,
        }
        self.runs = 0

    def meltano_cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [self.meltano, f"--env-file={self.env_file}", "--environment=demo", *args]
        return subprocess.run(
            command,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )

    def run(self) -> dict[str, t.Any]:
        """`meltano run tap-batchimport target-duckdb`, then what the warehouse holds."""
        self.runs += 1
        proc = self.meltano_cmd("run", "tap-batchimport", "target-duckdb")
        log = self.workdir / f"meltano-run-{self.runs}.log"
        log.write_text(proc.stdout + proc.stderr)
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        assert proc.returncode == 0, f"meltano run #{self.runs} failed ({log}):\n{tail}"
        return self.inspect()

    def inspect(self) -> dict[str, t.Any]:
        assert PLUGIN_PYTHON.is_file(), "target-duckdb is not installed under .meltano/"
        assert self.duckdb_file.is_file(), "target-duckdb wrote no DuckDB file"
        proc = subprocess.run(
            [str(PLUGIN_PYTHON), "-c", INSPECT, str(self.duckdb_file), json.dumps(PRIMARY_KEYS)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    """Both runs against one emulator: the warehouse after each, and the saved state."""
    dataset = demo_dataset()
    with VendorEmulator(dataset) as emulator:
        project = MeltanoProject(tmp_path_factory.mktemp("meltano"), emulator)
        first = project.run()
        second = project.run()
        state = project.meltano_cmd("state", "get", STATE_ID)
    return {
        "expected": expected_rows(dataset),
        "first": first,
        "second": second,
        "state": state,
    }


def test_first_run_loads_every_row_of_the_emulator(two_runs: dict[str, t.Any]) -> None:
    first, expected = two_runs["first"], two_runs["expected"]
    assert all(n > 0 for n in expected.values()), expected  # the demo covers every stream
    assert {table: (first[table] or {}).get("rows") for table in expected} == expected


def test_primary_keys_are_unique(two_runs: dict[str, t.Any]) -> None:
    for run in ("first", "second"):
        for table, stats in two_runs[run].items():
            assert stats["distinct_keys"] == stats["rows"], (run, table, stats)


def test_second_run_loads_no_result_row_again(two_runs: dict[str, t.Any]) -> None:
    first, second = two_runs["first"], two_runs["second"]
    assert {k: v["rows"] for k, v in second.items()} == {k: v["rows"] for k, v in first.items()}
    # Not even re-emitted and upserted: a reloaded row would carry a newer _sdc_batched_at.
    for table in RESULT_TABLES:
        assert first[table]["last_loaded"], f"{table}: no _sdc_batched_at (add_metadata_columns)"
        assert second[table]["last_loaded"] == first[table]["last_loaded"], table


def test_state_is_saved_and_holds_no_secret(two_runs: dict[str, t.Any]) -> None:
    proc = two_runs["state"]
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert state.get("singer_state"), state
    text = json.dumps(state)
    dataset = demo_dataset()
    for secret in (
        dataset.fullstory_api_key,
        dataset.druid_client_secret,
        dataset.sailpoint_client_secret,
    ):
        assert secret not in text
