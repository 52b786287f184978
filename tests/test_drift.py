"""Vendor data that doesn't fit: every RECORD still validates against its stream's SCHEMA.

A drift corpus per stream, through the CLI against the emulator: each declared field (and
each declared object inside a row) given each JSON type it is not, the date-time forms
vendors send on a bad day, fields the schema does not declare, rows without their key.
Every emitted record must validate (Draft 7, strict RFC 3339 date-times); a value is
either emitted as sent, converted without loss, or null with the value as sent in
``schema_mismatches``; undeclared fields are in ``undeclared_fields``.
"""

from __future__ import annotations

import typing as t

from emulator import faults
from emulator.druid import DruidBulk
from emulator.fullstory import FullstoryJob
from emulator.sailpoint import SailpointJob
from tap_batchimport.druid.schemas import BULK_RESULTS
from tap_batchimport.fullstory.schemas import (
    EVENT_IMPORT_ERRORS,
    IMPORTED_EVENTS,
    IMPORTED_USERS,
    USER_IMPORT_ERRORS,
)
from tests import mixed_data
from tests.quality import invalid_records
from tests.test_failure_paths import QUICK, details, error_lines
from tests.test_sailpoint import DONE_AT, FUTURE

if t.TYPE_CHECKING:
    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

Path = tuple[str, ...]

#: Every JSON type, one value each.
WRONG: list[t.Any] = [12, 1.5, "text", True, {"a": 1}, [1, "x"]]
#: Date-time forms -> what the tap emits (None: null, kept in schema_mismatches).
DATE_TIMES: dict[str, tuple[t.Any, str | None]] = {
    "digits": ("12", None),
    "epoch-ms": (1714554000000, "2024-05-01T09:00:00.000Z"),
    "epoch-s": (1714554000, "2024-05-01T09:00:00.000Z"),
    "empty": ("", None),
    "garbage": ("garbage", None),
    "no-zone": ("2026-11-20 10:00:00", None),
    "offset": ("2026-11-20T10:00:00+02:00", "2026-11-20T10:00:00+02:00"),
    "space-and-offset": ("2026-11-20 10:00:00+0200", "2026-11-20T08:00:00.000Z"),
    "lowercase": ("2026-11-20t10:00:00z", "2026-11-20T10:00:00.000Z"),
    "no-such-day": ("2026-02-30T10:00:00Z", None),
}
#: Conversions that lose nothing: (declared type, value) -> what is emitted.
LOSSLESS: dict[tuple[str, str], t.Any] = {
    ("integer", "1920"): 1920,
    ("integer", "1.0"): 1,
    ("number", "36.5"): 36.5,
}
UNDECLARED = {"x_received_at": "2026-11-20T10:00:00Z", "x_fs_internal": {"shard": 7}}
KEYS = {"job_id", "row_number", "bulk_id", "id"}


def leaf_paths(schema: dict[str, t.Any], prefix: Path = ()) -> list[tuple[Path, dict[str, t.Any]]]:
    """Every declared field (objects with declared fields too), keys aside."""
    out = []
    for name, spec in schema.get("properties", {}).items():
        path = (*prefix, name)
        if name in KEYS or name in {"schema_mismatches", "undeclared_fields"}:
            continue
        out.append((path, spec))
        if spec.get("properties"):
            out.extend(leaf_paths(spec, path))
    return out


def put(row: dict[str, t.Any], path: Path, value: t.Any) -> dict[str, t.Any]:
    target = row
    for name in path[:-1]:
        target = target.setdefault(name, {})
    target[path[-1]] = value
    return row


def get(record: dict[str, t.Any], path: Path) -> t.Any:
    value: t.Any = record
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def drifted_rows(schema: dict[str, t.Any]) -> list[tuple[Path, t.Any, dict[str, t.Any]]]:
    """(path, value sent, row): each field given each value it may not fit."""
    rows = []
    for path, spec in leaf_paths(schema):
        values = list(WRONG)
        if spec.get("format") == "date-time":
            values += [sent for sent, _ in DATE_TIMES.values()]
        values += [sent for (kind, sent) in LOSSLESS if kind in spec.get("type", [])]
        rows.extend((path, value, put({}, path, value)) for value in values)
    rows.append(((), None, dict(UNDECLARED)))
    return rows


def assert_fitted(stream: str, sent: list[tuple[Path, t.Any, dict]], run: TapRun, job: str):
    records = sorted(
        (r for r in run.records(stream) if r.get("job_id", r.get("bulk_id")) == job),
        key=lambda r: r.get("row_number", r.get("id")),
    )
    assert len(records) == len(sent), stream
    for (path, value, _), record in zip(sent, records, strict=True):
        if not path:
            assert record["undeclared_fields"] == UNDECLARED
            assert not set(UNDECLARED) & set(record)
            continue
        got = get(record, path)
        mismatches = record["schema_mismatches"] or {}
        where = ".".join(path)
        if got is None:
            assert mismatches[where]["value"] == value, (stream, where, value)
            assert mismatches[where]["expected"], (stream, where)
        elif got != value or type(got) is not type(value):
            # Converted: only the lossless conversions.
            assert where not in mismatches
            converted = dict(DATE_TIMES.values()) | {
                sent: out for (_, sent), out in LOSSLESS.items()
            }
            assert converted[value] == got, (stream, where, value, got)
        else:
            assert where not in mismatches


def drift_dataset(emulator: VendorEmulator) -> tuple[dict, dict, dict[str, t.Any]]:
    """Put the drift corpus into the emulator: every stream's rows, each field misfit.

    Returns:
        The users and events rows sent (by stream, with what was changed), and the tap
        config that extracts them.
    """
    users = {
        "imported_users": drifted_rows(IMPORTED_USERS),
        "user_import_errors": drifted_rows(USER_IMPORT_ERRORS),
    }
    events = {
        "imported_events": drifted_rows(IMPORTED_EVENTS),
        "event_import_errors": drifted_rows(EVENT_IMPORT_ERRORS),
    }
    emulator.dataset.fullstory_jobs += [
        FullstoryJob(
            "U-DRIFT",
            "users",
            "FAILED",
            created="garbage",  # job_details.created: kept aside
            finished=1714554000000,  # type: ignore[arg-type]  # epoch ms: converted
            imports=[row for _, _, row in users["imported_users"]],
            errors=[row for _, _, row in users["user_import_errors"]],
            page_size=50,
        ),
        FullstoryJob(
            "E-DRIFT",
            "events",
            "FAILED",
            created="2026-11-20 10:00:00",
            finished="2026-11-20T10:00:00+02:00",
            imports=[row for _, _, row in events["imported_events"]],
            errors=[row for _, _, row in events["event_import_errors"]],
            page_size=50,
        ),
    ]
    bulk_rows = [
        {"id": f"d-{n:04d}", **row} for n, (_, _, row) in enumerate(drifted_rows(BULK_RESULTS))
    ]
    emulator.dataset.druid_bulks += [DruidBulk("B-DRIFT", created_on="", results=bulk_rows)]
    document = {
        "exportJobId": 7,
        "results": {
            "SOURCE": {
                "infos": [{"key": 1, "text": {"a": 1}, "details": "x"}, "lone", None],
                "warnings": {"key": "W", "text": "one", "details": [1]},
                "errors": [{"key": None, "text": None, "detail": 5, "x_new": 1}],
                "importedObjects": [{"type": 1, "id": None, "name": ["n"]}, 42],
            },
            "RULE": None,
        },
    }
    emulator.dataset.sailpoint_jobs += [
        SailpointJob(
            "S-DRIFT",
            created="",
            modified=12,  # type: ignore[arg-type]
            expiration=FUTURE,
            completed=DONE_AT,
            document=document,
        )
    ]
    return (
        users,
        events,
        mixed_data.config(
            emulator,
            fullstory_user_import_job_ids=["U-DRIFT"],
            fullstory_event_import_job_ids=["E-DRIFT"],
            druid_bulk_ids=["B-DRIFT"],
            druid_page_size=100,
            sailpoint_import_job_ids=["S-DRIFT"],
            fullstory_include_schema=True,  # else the emulator leaves `schema` out
        ),
    )


def test_every_record_validates_whatever_the_vendor_sends(emulator: VendorEmulator, tap: t.Any):
    users, events, config = drift_dataset(emulator)
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert invalid_records(run.messages) == []
    for stream, sent in users.items():
        assert_fitted(stream, sent, run, "U-DRIFT")
    for stream, sent in events.items():
        assert_fitted(stream, sent, run, "E-DRIFT")
    assert_fitted("bulk_results", drifted_rows(BULK_RESULTS), run, "B-DRIFT")
    assert (
        len(run.records("config_import_results")) == 7
    )  # infos 3, warnings 1, errors 1, objects 2
    jobs = details(run)
    assert jobs["U-DRIFT"]["created"] is None
    assert jobs["U-DRIFT"]["schema_mismatches"] == {
        "created": {"value": "garbage", "expected": "date-time"}
    }
    assert jobs["U-DRIFT"]["finished"] == "2024-05-01T09:00:00.000Z"
    assert jobs["S-DRIFT"]["modified"] is None
    # Counted per stream in the run summary.
    summary = next(x for x in run.stderr.splitlines() if "Fullstory: schema mismatches" in x)
    assert "imported_events" in summary
    assert "imported_users" in summary
    assert any("records with undeclared fields" in x for x in run.stderr.splitlines())


def test_a_row_without_its_key_fails_its_job_alone_and_is_read_again(
    emulator: VendorEmulator, tap: t.Any
):
    mixed_data.fill(emulator)

    def no_id(page: dict[str, t.Any]) -> dict[str, t.Any]:
        del page["content"]["results"][2]["id"]
        return page

    emulator.faults.add("druid.results", faults.rewrite(no_id), job="B2", times=1)
    run = tap(mixed_data.config(emulator, **QUICK))
    assert run.returncode == 1
    (line,) = [x for x in error_lines(run) if " job B2:" in x and "failed:" in x]
    assert "malformed row: row 2 of its page: field id is missing" in line
    assert not [r for r in run.records("bulk_results") if r["bulk_id"] == "B2"]
    assert all(r["id"] is not None for r in run.records("bulk_results"))
    assert len(run.records("imported_users")) == 60


def test_policy_fail_fails_the_job_naming_field_and_row(emulator: VendorEmulator, tap: t.Any):
    mixed_data.fill(emulator)
    job = emulator.dataset.fullstory_job("U1")
    assert job is not None
    job.imports[13]["email"] = {"address": "x@example.com"}
    run = tap(mixed_data.config(emulator, **QUICK, schema_mismatch_policy="fail"))
    assert run.returncode == 1
    (line,) = [x for x in error_lines(run) if " job U1:" in x and "failed:" in x]
    assert (
        "fullstory_users job U1: Fullstory GET /v2/users/batch/U1/imports failed: HTTP 200: "
        'row row_number 13: field email is {"address":"x@example.com"}, expected string '
        "(schema_mismatch_policy is fail" in line
    )
    # The pages before the misfit's are written; none of its own; the other jobs go on.
    assert sorted(r["row_number"] for r in run.records("imported_users")) == list(range(10))
    assert len(run.records("imported_events")) == 30
    assert details(run)["U1"]["failed_attempts"] == 1
