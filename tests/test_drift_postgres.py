"""The drift corpus loads into MeltanoLabs target-postgres with its default validation.

A target that validates records (the SDK targets' default) refused the tap's output as soon
as one vendor value did not fit its type ("Record validation failed"), every night, until
someone edited data by hand. The drift corpus of ``tests/test_drift.py`` (every declared
field given every wrong type, odd date-times, undeclared fields) is piped into the target
as a scheduler would: it must exit 0 and hold every record the tap emitted.
"""

from __future__ import annotations

import typing as t

import pytest

from tests import mixed_data
from tests.conftest import OLD_JOBS_STAY_PENDING_DAYS
from tests.postgres_server import PostgresServer
from tests.test_batch_postgres import SCHEMA, pipe
from tests.test_drift import drift_dataset

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from emulator.server import VendorEmulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with PostgresServer() as started:
        yield started


def test_the_drift_corpus_loads_with_the_targets_default_validation(
    emulator: VendorEmulator, server: PostgresServer, tmp_path: Path
) -> None:
    _, _, config = drift_dataset(emulator)
    server.create_database("drift")
    target_config = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "database": "drift",
        "default_target_schema": SCHEMA,
        "load_method": "upsert",
        # validate_records is left at its default (true): the point of this test.
    }
    tap_config = {"job_max_pending_days": OLD_JOBS_STAY_PENDING_DAYS, **config}
    _, _ = pipe(tmp_path, tap_config, target_config)  # asserts both ends exit 0
    messages = (tmp_path).glob("messages-*.jsonl")
    emitted: dict[str, int] = {}
    for path in messages:
        for line in path.read_text().splitlines():
            if line.startswith('{"type":"RECORD"'):
                stream = line.split('"stream":"', 1)[1].split('"', 1)[0]
                emitted[stream] = emitted.get(stream, 0) + 1
    assert set(emitted) >= set(mixed_data.KEYS) | {"job_details"}
    for stream, count in emitted.items():
        loaded = server.psql(f"select count(*) from {SCHEMA}.{stream}", "drift")  # noqa: S608
        assert int(loaded) == count, stream
    mismatches = server.psql(
        f"select count(*) from {SCHEMA}.imported_users where schema_mismatches is not null",  # noqa: S608
        "drift",
    )
    assert int(mismatches) > 0  # the misfits landed, kept aside as JSON
