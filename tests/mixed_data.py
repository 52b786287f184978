"""All three vendors at once: a small dataset, the tap config for it, and what it must emit.

Shared by the resilience, interruption and security suites. Pages are small so every
job spans several pages (a fault can land mid-job) and a run stays well under a second.
"""

from __future__ import annotations

import json
import random
import typing as t
from collections import Counter

from emulator.druid import DruidBulk
from emulator.fullstory import FullstoryJob
from tests import fullstory_data
from tests.quality import CLEAN
from tests.test_druid import rows as druid_rows
from tests.test_sailpoint import FLAT, NESTED, complete
from tests.test_sailpoint import expected as sailpoint_expected

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from emulator.server import VendorEmulator

#: Primary key of every results stream.
KEYS: dict[str, tuple[str, ...]] = {
    "imported_users": ("job_id", "row_number"),
    "user_import_errors": ("job_id", "row_number"),
    "imported_events": ("job_id", "row_number"),
    "event_import_errors": ("job_id", "row_number"),
    "bulk_results": ("bulk_id", "id"),
    "config_import_results": ("job_id", "object_type", "category", "position"),
}
#: Rows per page of the jobs below, by stream (SailPoint: a job is one document).
PAGE_ROWS = {
    "imported_users": 10,
    "user_import_errors": 10,
    "imported_events": 10,
    "event_import_errors": 10,
    "bulk_results": 5,
}
DRUID_PAGE_SIZE = 5
SECRETS = ("fullstory_api_key", "druid_client_secret", "sailpoint_client_secret")


def fill(emulator: VendorEmulator) -> None:
    """Put two jobs of each vendor into the emulator; each spans several pages."""
    rng = random.Random(11)
    emulator.dataset.fullstory_jobs += [
        FullstoryJob(
            "U1",
            "users",
            "FAILED",  # a partial failure: both imports and errors
            finished="2024-05-01T10:00:00Z",
            imports=[fullstory_data.user(i, rng) for i in range(60)],
            errors=[fullstory_data.user_error(i, rng) for i in range(12)],
            page_size=PAGE_ROWS["imported_users"],
        ),
        FullstoryJob(
            "E1",
            "events",
            "COMPLETED",
            finished="2024-05-01T12:00:00Z",
            imports=[fullstory_data.event(i, rng) for i in range(30)],
            page_size=PAGE_ROWS["imported_events"],
        ),
    ]
    emulator.dataset.druid_bulks += [
        DruidBulk("B1", results=druid_rows(1, 23)),
        DruidBulk("B2", status="failed", results=druid_rows(2, 7)),
    ]
    emulator.dataset.sailpoint_jobs += [complete("S1", FLAT), complete("S2", NESTED)]


def config(emulator: VendorEmulator, **overrides: t.Any) -> dict[str, t.Any]:
    """Tap config extracting every job of every vendor from the emulator."""
    data = emulator.dataset
    return {
        "fullstory_api_key": data.fullstory_api_key,
        "fullstory_api_url": emulator.fullstory_url,
        "fullstory_user_import_job_ids": ["U1"],
        "fullstory_event_import_job_ids": ["E1"],
        "druid_api_url": emulator.druid_api_url,
        "druid_auth_url": emulator.druid_auth_url,
        "druid_client_id": data.druid_client_id,
        "druid_client_secret": data.druid_client_secret,
        "druid_bulk_ids": ["B1", "B2"],
        "druid_page_size": DRUID_PAGE_SIZE,
        "sailpoint_api_url": emulator.sailpoint_url,
        "sailpoint_client_id": data.sailpoint_client_id,
        "sailpoint_client_secret": data.sailpoint_client_secret,
        "sailpoint_import_job_ids": ["S1", "S2"],
        **overrides,
    }


def secrets_of(emulator: VendorEmulator) -> dict[str, str]:
    """The configured secrets, by setting name."""
    data = emulator.dataset
    return {
        "fullstory_api_key": data.fullstory_api_key,
        "druid_client_secret": data.druid_client_secret,
        "sailpoint_client_secret": data.sailpoint_client_secret,
    }


def expected(emulator: VendorEmulator) -> dict[str, dict[tuple, dict[str, t.Any]]]:
    """Every record the emulator's data should give, by stream and primary key."""
    out: dict[str, dict[tuple, dict[str, t.Any]]] = {stream: {} for stream in KEYS}
    streams = {
        ("users", "imports"): "imported_users",
        ("users", "errors"): "user_import_errors",
        ("events", "imports"): "imported_events",
        ("events", "errors"): "event_import_errors",
    }
    for job in emulator.dataset.fullstory_jobs:
        for which in ("imports", "errors"):
            stream = streams[job.kind, which]
            for n, item in enumerate(getattr(job, which)):
                row = {k: v for k, v in item.items() if not (which == "imports" and k == "schema")}
                out[stream][job.job_id, n] = {
                    **row, "job_id": job.job_id, "row_number": n, **CLEAN
                }  # fmt: skip
    for bulk in emulator.dataset.druid_bulks:
        for row in bulk.results:
            out["bulk_results"][bulk.bulk_id, row["id"]] = {"bulk_id": bulk.bulk_id, **row, **CLEAN}
    for job in emulator.dataset.sailpoint_jobs:
        document = job.document or {}
        types = document["results"]
        if set(types) == {"results"}:  # the seed's doubly nested shape
            types = types["results"]
        out["config_import_results"].update(
            sailpoint_expected(job.job_id, types, document.get("exportJobId"))
        )
    return out


def key_of(stream: str, record: dict[str, t.Any]) -> tuple:
    """A record's primary key."""
    return tuple(record[k] for k in KEYS[stream])


def records_by_stream(messages: Iterable[dict[str, t.Any]]) -> dict[str, list[dict[str, t.Any]]]:
    """The RECORD messages of the results streams, by stream (``job_details`` left out)."""
    out: dict[str, list[dict[str, t.Any]]] = {stream: [] for stream in KEYS}
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] in KEYS:
            out[message["stream"]].append(message["record"])
    return out


def emitted_once(messages: Iterable[dict[str, t.Any]]) -> dict[str, dict[tuple, dict[str, t.Any]]]:
    """The records of one run by stream and key, asserting that no key was emitted twice."""
    out = {}
    for stream, records in records_by_stream(messages).items():
        counts = Counter(key_of(stream, r) for r in records)
        twice = [k for k, n in counts.items() if n > 1]
        assert not twice, f"{stream}: emitted more than once: {twice[:5]}"
        out[stream] = {key_of(stream, r): r for r in records}
    return out


def job_of(stream: str, key: tuple) -> str:
    """The job a record belongs to (the first element of every key)."""
    del stream
    return str(key[0])


def assert_union_is_the_data(
    emulator: VendorEmulator, *runs: Iterable[dict[str, t.Any]], max_pages_again: int = 1
) -> None:
    """Several runs (an interrupted one, then its resume) together emit exactly the data.

    Every key is present and equal to the emulator's row; a key emitted by more than one
    run is allowed only for at most ``max_pages_again`` pages per job (the page in flight
    when the earlier run stopped), and never twice within one run.

    Args:
        emulator: Holds the data.
        runs: The runs' messages, in order.
        max_pages_again: Pages per job that may be emitted again.
    """
    want = expected(emulator)
    union: dict[str, dict[tuple, dict[str, t.Any]]] = {stream: {} for stream in KEYS}
    seen: Counter[tuple[str, tuple]] = Counter()
    for messages in runs:
        for stream, records in emitted_once(messages).items():
            union[stream].update(records)
            seen.update((stream, key) for key in records)
    for stream in KEYS:
        assert union[stream] == want[stream], stream
    again: Counter[tuple[str, str]] = Counter()
    for (stream, key), n in seen.items():
        if n > 1:
            again[stream, job_of(stream, key)] += n - 1
    for (stream, job), n in again.items():
        # SailPoint's document is one "page": all its records may come again.
        page = PAGE_ROWS.get(stream, len([k for k in want[stream] if k[0] == job]))
        assert n <= max_pages_again * page, f"{stream} job {job}: {n} records emitted again"


def parse_messages(stdout: str) -> list[dict[str, t.Any]]:
    """Singer messages of a run's stdout (every line must be one JSON message)."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
