"""Batch mode into MeltanoLabs target-postgres: the BATCH files load, every row once.

The tap runs with ``batch_config`` (jsonl, gzip, a local ``file://`` folder) piped into
the target-postgres that ``make meltano`` installs (an SDK target: it loads the files a
BATCH message names), against the emulator's mixed data and a throwaway PostgreSQL
(tests/postgres_server.py). Checked after each of three runs (the first, a rerun from
its state, a rerun from no state that loads everything again): every table holds exactly
the emulator's rows with unique primary keys, and the files stay where the tap wrote them
(the target does not delete them: docs/batch.md says who does).

:func:`pipe` is the one step other target tests can reuse for batch mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests import mixed_data
from tests.batch_output import batch_config
from tests.conftest import OLD_JOBS_STAY_PENDING_DAYS
from tests.postgres_server import PostgresServer

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from emulator.server import VendorEmulator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"
SCHEMA = "batchimport"
RUN_TIMEOUT = 300


def target_executable() -> Path:
    """MeltanoLabs target-postgres as ``make meltano`` installs it; fails the test if missing."""
    if not TARGET.is_file():
        pytest.fail("target-postgres is not installed: run `make meltano` first")
    return TARGET


def pipe(
    workdir: Path,
    tap_config: dict[str, t.Any],
    target_config: dict[str, t.Any],
    state: dict[str, t.Any] | None = None,
) -> tuple[dict[str, t.Any], list[dict[str, t.Any]]]:
    """Run ``tap-batchimport | target-postgres`` as a shell pipe would.

    Args:
        workdir: Where the config and state files go.
        tap_config: The tap's config.
        target_config: The target's config.
        state: The state to resume from (the last one the target emitted).

    Returns:
        The target's last STATE and the tap's BATCH messages.
    """
    name = os.urandom(4).hex()
    tap_path, target_path = workdir / f"tap-{name}.json", workdir / f"target-{name}.json"
    tap_path.write_text(json.dumps(tap_config))
    target_path.write_text(json.dumps(target_config))
    tap_args = [sys.executable, "-m", "tap_batchimport", "--config", str(tap_path)]
    if state is not None:
        (workdir / f"state-{name}.json").write_text(json.dumps(state))
        tap_args += ["--state", str(workdir / f"state-{name}.json")]
    tap_log, target_log = workdir / f"tap-{name}.log", workdir / f"target-{name}.log"
    with tap_log.open("w") as tap_err, target_log.open("w") as target_err:
        tap = subprocess.Popen(tap_args, stdout=subprocess.PIPE, stderr=tap_err)
        assert tap.stdout is not None
        tee = subprocess.Popen(  # the tap's output to the target, and a copy for the test
            [sys.executable, "-c", TEE, str(workdir / f"messages-{name}.jsonl")],
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
        )
        tap.stdout.close()
        target = subprocess.run(
            [str(target_executable()), "--config", str(target_path)],
            stdin=tee.stdout,
            capture_output=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert tap.wait(timeout=RUN_TIMEOUT) == 0, tap_log.read_text()[-3000:]
        assert tee.wait(timeout=RUN_TIMEOUT) == 0
        target_err.write(target.stderr.decode(errors="replace"))
    assert target.returncode == 0, target_log.read_text()[-3000:]
    states = [json.loads(line) for line in target.stdout.decode().splitlines() if line.strip()]
    messages = [
        json.loads(line)
        for line in (workdir / f"messages-{name}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    # An SDK target writes each state it has committed as one JSON line: the last one resumes.
    return states[-1], [m for m in messages if m["type"] == "BATCH"]


#: Copies stdin to stdout and to a file (argv[1]), line by line.
TEE = """
import sys
with open(sys.argv[1], "wb") as copy:
    for line in sys.stdin.buffer:
        copy.write(line)
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as started:
        yield started


def table_keys(server: PostgresServer, database: str, stream: str) -> list[tuple]:
    keys = ", ".join(f'"{k}"::text' for k in mixed_data.KEYS[stream])
    rows = server.query_json(
        f"select coalesce(json_agg(json_build_array({keys})), '[]') from {SCHEMA}.{stream}",  # noqa: S608
        database,
    )
    return [tuple(row) for row in rows]


def expected_keys(emu: VendorEmulator, stream: str) -> list[tuple]:
    return sorted(tuple(str(part) for part in key) for key in mixed_data.expected(emu)[stream])


def test_batch_files_load_into_target_postgres_every_row_once(
    emulator: VendorEmulator, server: PostgresServer, tmp_path: Path
) -> None:
    mixed_data.fill(emulator)
    server.create_database("batch")
    files = tmp_path / "batches"
    tap_config = mixed_data.config(
        emulator,
        job_max_pending_days=OLD_JOBS_STAY_PENDING_DAYS,
        batch_config=batch_config(files, batch_size=8),
    )
    target_config = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "database": "batch",
        "default_target_schema": SCHEMA,
        "load_method": "upsert",
    }
    state = None
    for run in ("first", "from its state", "from no state"):
        final, batches = pipe(tmp_path, tap_config, target_config, state)
        for stream in mixed_data.KEYS:
            keys = table_keys(server, "batch", stream)
            assert len(keys) == len(set(keys)), f"{run}: {stream} holds a key twice"
            assert sorted(keys) == expected_keys(emulator, stream), f"{run}: {stream}"
        jobs = server.psql(
            f"select count(*), count(distinct (source, job_id)) from {SCHEMA}.job_details",  # noqa: S608
            "batch",
        )
        assert jobs == "6|6", run
        if run == "first":
            assert len(batches) > len(mixed_data.KEYS)  # files rolled over within jobs
        if run == "from its state":
            # Nothing new: no result file, only job_details' (no record for settled jobs).
            assert {m["stream"] for m in batches} <= {"job_details"}
        # The target loads the files and leaves them: deleting them is the user's job.
        for message in batches:
            for url in message["manifest"]:
                assert Path(url.removeprefix("file://")).is_file(), url
        state = final if run == "first" else None
