"""Fullstory batch-import results through the tap's real CLI, against the local emulator."""

from __future__ import annotations

import json

import jsonschema
import pytest

from emulator import faults
from emulator.fullstory import FullstoryJob
from tests import fullstory_data
from tests.conftest import duplicate_keys, stream_bookmarks
from tests.quality import CLEAN

STREAMS = {
    "imported_users": ("users", "imports"),
    "user_import_errors": ("users", "errors"),
    "imported_events": ("events", "imports"),
    "event_import_errors": ("events", "errors"),
}


def expected_rows(emulator, stream: str, *, include_schema: bool = False) -> dict[tuple, dict]:
    """What the API holds for a stream, keyed by (job_id, row_number), as the tap should emit it."""
    kind, which = STREAMS[stream]
    out = {}
    for job in emulator.dataset.fullstory_jobs:
        if job.kind != kind or job.status == "PROCESSING":
            continue
        for n, item in enumerate(getattr(job, which)):
            row = dict(item)
            if which == "imports" and not include_schema:
                row.pop("schema", None)
            out[(job.job_id, n)] = {**row, "job_id": job.job_id, "row_number": n, **CLEAN}
    return out


def emitted_rows(run, stream: str) -> dict[tuple, dict]:
    records = run.records(stream)
    assert not duplicate_keys(records, ("job_id", "row_number")), stream
    return {(r["job_id"], r["row_number"]): r for r in records}


@pytest.fixture
def fs(emulator):
    emulator.dataset.fullstory_jobs.extend(fullstory_data.jobs())
    return emulator


def test_every_row_of_every_finished_job_once_and_valid(fs, tap):
    run = tap(fullstory_data.config(fs))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        assert emitted_rows(run, stream) == expected_rows(fs, stream), stream
        schema = run.schema(stream)
        assert schema["key_properties"] == ["job_id", "row_number"]
        for record in run.records(stream):
            jsonschema.validate(record, schema["schema"])
    assert len(run.records("imported_users")) == 370
    assert len(run.records("user_import_errors")) == 30


def test_job_details_covers_finished_processing_and_unknown_jobs(fs, tap):
    run = tap(fullstory_data.config(fs))
    details = {(r["source"], r["job_id"]): r for r in run.records("job_details")}
    assert set(details) == {
        ("fullstory_users", "U-DONE"),
        ("fullstory_users", "U-PART"),
        ("fullstory_users", "U-BUSY"),
        ("fullstory_users", "U-NONE"),
        ("fullstory_events", "E-DONE"),
        ("fullstory_events", "E-FAIL"),
    }
    part = details["fullstory_users", "U-PART"]
    assert (part["status"], part["is_finished"], part["imports"], part["errors"]) == (
        "FAILED",
        True,
        120,
        30,
    )
    assert part["finished"] == "2024-05-01T11:00:00.5Z"
    assert details["fullstory_users", "U-DONE"]["errors"] == 0
    busy = details["fullstory_users", "U-BUSY"]
    assert (busy["status"], busy["is_finished"], busy["finished"]) == ("PROCESSING", False, None)
    assert details["fullstory_users", "U-NONE"]["status"] == "NOT_FOUND"
    schema = run.schema("job_details")
    assert schema["key_properties"] == ["source", "job_id"]
    for record in details.values():
        jsonschema.validate(record, schema["schema"])


def test_second_run_with_state_emits_no_result_rows_and_requests_no_results(fs, tap):
    first = tap(fullstory_data.config(fs))
    assert first.returncode == 0, first.stderr
    state = first.final_state
    assert len(str(state)) < 200 * 6
    fs.clear_requests()
    second = tap(fullstory_data.config(fs), state)
    assert second.returncode == 0, second.stderr
    assert second.result_records() == {}
    # Only the job still processing is reported again; settled jobs cost no request.
    assert [r["job_id"] for r in second.records("job_details")] == ["U-BUSY"]
    assert {r.job_id for r in fs.requests} == {"U-BUSY"}
    results_requests = [
        r for r in fs.requests if r.endpoint in {"fullstory.imports", "fullstory.errors"}
    ]
    assert results_requests == []


def test_unfinished_job_is_extracted_by_a_later_run(fs, tap):
    job = fs.dataset.fullstory_job("U-BUSY")
    first = tap(fullstory_data.config(fs))
    assert first.returncode == 0
    assert {r["job_id"] for r in first.records("imported_users")} == {"U-DONE", "U-PART"}
    job.processing_polls = 0  # the job finishes between runs
    job.status, job.finished = "COMPLETED", "2024-05-02T00:00:00Z"
    second = tap(fullstory_data.config(fs), first.final_state)
    assert second.returncode == 0, second.stderr
    rows = emitted_rows(second, "imported_users")
    assert set(rows) == {("U-BUSY", n) for n in range(5)}


def test_waits_for_a_processing_job_up_to_the_timeout(emulator, tap):
    emulator.dataset.fullstory_jobs.append(
        FullstoryJob(
            "SLOW",
            "users",
            "COMPLETED",
            finished="2024-05-01T10:00:00Z",
            imports=[{"id": str(i)} for i in range(3)],
            processing_polls=2,
            results_processing_polls=1,
        )
    )
    config = {
        **fullstory_data.config(emulator),
        "fullstory_user_import_job_ids": ["SLOW"],
        "fullstory_event_import_job_ids": [],
        "job_wait_timeout_seconds": 20,
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert [r["row_number"] for r in run.records("imported_users")] == [0, 1, 2]
    assert run.records("job_details")[0]["status"] == "COMPLETED"


def test_still_processing_after_timeout_moves_on_without_error(emulator, tap):
    emulator.dataset.fullstory_jobs.append(
        FullstoryJob("BUSY", "users", "PROCESSING", processing_polls=10**9)
    )
    config = {
        **fullstory_data.config(emulator),
        "fullstory_user_import_job_ids": ["BUSY"],
        "fullstory_event_import_job_ids": [],
        "job_wait_timeout_seconds": 2,
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert run.result_records() == {}
    assert stream_bookmarks(run.final_state)["imported_users"]["done"] == []
    assert emulator.count("fullstory.status") >= 2  # it polled


@pytest.mark.parametrize("edge", ["empty_last_page", "repeat_last_token"])
def test_pagination_edges_end_cleanly(emulator, tap, edge):
    job = FullstoryJob(
        "EDGE",
        "users",
        "FAILED",
        finished="2024-05-01T10:00:00Z",
        errors=[{"message": "m", "code": "c", "user": {"uid": str(i)}} for i in range(30)],
        page_size=10,
        **{edge: True},
    )
    emulator.dataset.fullstory_jobs.append(job)
    config = {
        **fullstory_data.config(emulator),
        "fullstory_user_import_job_ids": ["EDGE"],
        "fullstory_event_import_job_ids": [],
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert sorted(r["row_number"] for r in run.records("user_import_errors")) == list(range(30))


def test_a_state_follows_every_page_and_resuming_reemits_at_most_one_page(fs, tap):
    config = fullstory_data.config(fs)
    full = tap(config)
    mid_job = [
        s for s in full.states if stream_bookmarks(s).get("imported_users", {}).get("progress")
    ]
    assert len(mid_job) >= 2 + 4  # U-DONE: 3 pages, U-PART: 5 pages
    interrupted_state = mid_job[1]  # after U-DONE's second page
    cursor = stream_bookmarks(interrupted_state)["imported_users"]["progress"]["U-DONE"]
    assert cursor["row"] == 200
    resumed = tap(config, interrupted_state)
    assert resumed.returncode == 0, resumed.stderr
    rows = emitted_rows(resumed, "imported_users")
    assert min(n for job, n in rows if job == "U-DONE") == 200
    assert set(rows) | {("U-DONE", n) for n in range(200)} == set(
        expected_rows(fs, "imported_users")
    )


def test_resume_with_an_expired_page_token_rereads_and_skips(fs, tap):
    config = fullstory_data.config(fs)
    full = tap(config)
    state = next(
        s
        for s in full.states
        if "U-DONE" in stream_bookmarks(s).get("imported_users", {}).get("progress", {})
    )
    # A token from an earlier session that the API no longer accepts (it answers 400).
    ledger = state["bookmarks"]["job_details"]["jobs"]
    ledger["fullstory_users"]["U-DONE"]["cursors"]["imported_users"]["page_token"] = (
        "c3RhbGUtdG9rZW4="
    )
    resumed = tap(config, state)
    assert resumed.returncode == 0, resumed.stderr
    rows = emitted_rows(resumed, "imported_users")
    assert sorted(n for job, n in rows if job == "U-DONE") == list(range(100, 250))
    assert "skipping the 100 rows already emitted" in resumed.stderr


def test_include_schema_is_honoured(fs, tap):
    run = tap(fullstory_data.config(fs, fullstory_include_schema=True))
    assert emitted_rows(run, "imported_users") == expected_rows(
        fs, "imported_users", include_schema=True
    )
    assert all(
        r.query.get("include_schema") == "true"
        for r in fs.requests
        if r.endpoint == "fullstory.imports"
    )


def test_rate_limit_waits_at_least_retry_after(fs, tap):
    fs.faults.add("fullstory.errors", faults.status(429, retry_after="2"), on={1})
    run = tap(fullstory_data.config(fs))
    assert run.returncode == 0, run.stderr
    (limited,) = [r for r in fs.requests if r.status == 429]
    retry = next(r for r in fs.requests if r.path == limited.path and r.time > limited.time)
    assert retry.time - limited.time >= 2.0
    # Every worker paused too: nothing left during the wait but requests already in flight.
    during = [r for r in fs.requests if 0.2 < r.time - limited.time < 2.0]
    assert during == []
    assert emitted_rows(run, "user_import_errors") == expected_rows(fs, "user_import_errors")
    assert "waiting" in run.stderr and "rate limit" in run.stderr


def test_bad_key_fails_with_one_clear_line_and_no_secret(fs, tap):
    config = {**fullstory_data.config(fs), "fullstory_api_key": "wrong-key-s3cr3t"}
    run = tap(config)
    assert run.returncode != 0
    error_lines = [line for line in run.stderr.splitlines() if "HTTP 401" in line]
    assert error_lines, run.stderr
    assert "Fullstory GET /v2/users/batch/{job_id}" in error_lines[-1]
    assert "access is unauthorized" in error_lines[-1]
    assert "Traceback" not in run.stderr
    assert "wrong-key-s3cr3t" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"fullstory_api_key": None}, "fullstory_api_key is required"),
        ({"fullstory_api_url": "http://api.example.com"}, "plain http://"),
        ({"fullstory_user_import_job_ids": "U-DONE"}, "is not of type 'array'"),
        ({"job_wait_timeout_seconds": -1}, "job_wait_timeout_seconds"),
        (
            {"fullstory_user_import_job_ids": ["ok", ""]},
            "fullstory_user_import_job_ids[1] is empty",
        ),
        ({"fullstory_user_import_job_ids": [".."]}, "not a job id"),
    ],
)
def test_config_errors_exit_before_any_request(fs, tap, override, needle):
    config = {k: v for k, v in {**fullstory_data.config(fs), **override}.items() if v is not None}
    run = tap(config)
    assert run.returncode != 0
    assert needle in run.stderr
    assert fs.requests == []


def test_job_ids_are_url_encoded_as_one_path_segment(emulator, tap):
    weird = "a/b?c#d"
    emulator.dataset.fullstory_jobs.append(
        FullstoryJob(
            weird, "users", "COMPLETED", finished="2024-05-01T10:00:00Z", imports=[{"id": "1"}]
        )
    )
    config = {
        **fullstory_data.config(emulator),
        "fullstory_user_import_job_ids": [weird],
        "fullstory_event_import_job_ids": [],
    }
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert [r["job_id"] for r in run.records("imported_users")] == [weird]


def test_stream_maps_and_flattening_still_apply(fs, tap):
    config = fullstory_data.config(
        fs,
        stream_maps={"user_import_errors": {"code": None, "job": "job_id"}},
        flattening_enabled=True,
        flattening_max_depth=1,
    )
    run = tap(config)
    assert run.returncode == 0, run.stderr
    errors = run.records("user_import_errors")
    assert len(errors) == 30
    assert all("code" not in r and r["job"] == r["job_id"] for r in errors)
    users = run.records("imported_users")
    # An open object is kept whole, as JSON text: split into properties__* keys its
    # schema does not declare, it would vanish in every target (issue 18).
    assert users
    for user in users:
        assert not [key for key in user if key.startswith("properties__")], user
        assert isinstance(json.loads(user["properties"]), dict), user


def test_deselected_fields_are_left_out(fs, tap, tmp_path):
    discovered = tap(fullstory_data.config(fs), extra_args=["--discover"])
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "user_import_errors" and item["breadcrumb"] == [
                "properties",
                "user",
            ]:
                item["metadata"]["selected"] = False
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = tap(fullstory_data.config(fs), extra_args=["--catalog", str(path)])
    assert run.returncode == 0, run.stderr
    errors = run.records("user_import_errors")
    assert len(errors) == 30
    assert all("user" not in r and "message" in r for r in errors)


@pytest.mark.parametrize(
    "bad_cursor", [{"page_token": "T", "row": "x"}, {"page_token": 7, "row": 1}, {"row": -1}]
)
def test_an_unusable_saved_cursor_rereads_the_job(fs, tap, bad_cursor):
    state = {
        "bookmarks": {"imported_users": {"done": ["U-PART"], "progress": {"U-DONE": bad_cursor}}}
    }
    run = tap(fullstory_data.config(fs), state)
    assert run.returncode == 0, run.stderr
    rows = emitted_rows(run, "imported_users")
    assert set(rows) == {k for k in expected_rows(fs, "imported_users") if k[0] == "U-DONE"}
    assert "re-reading the job from its start" in run.stderr


def one_job(emulator, job: FullstoryJob, **extra) -> dict:
    emulator.dataset.fullstory_jobs.append(job)
    return {
        **fullstory_data.config(emulator),
        "fullstory_user_import_job_ids": [job.job_id],
        "fullstory_event_import_job_ids": [],
        "retry_max_attempts": 2,
        "retry_max_wait_seconds": 5,
        **extra,
    }


def errors_job(job_id: str, rows: int, **kw) -> FullstoryJob:
    errors = [{"message": "m", "code": "c", "user": {"uid": str(i)}} for i in range(rows)]
    return FullstoryJob(
        job_id, "users", "FAILED", finished="2024-05-01T10:00:00Z", errors=errors, **kw
    )


def test_a_list_that_ends_before_total_records_fails_the_job(emulator, tap):
    # Two rows, two per page, and the vendor says five: rows were lost on its side.
    config = one_job(emulator, errors_job("SHORT", 2, page_size=2, total_records={"errors": 5}))
    run = tap(config)
    assert run.returncode != 0
    (line,) = [x for x in run.stderr.splitlines() if "list ended after" in x]
    assert "GET /v2/users/batch/SHORT/errors" in line
    assert "list ended after 2 of 5 rows (total_records 5)" in line
    assert "{job_id}" not in line
    # Its last page never settles the job: the next run reads it again.
    assert "SHORT" not in stream_bookmarks(run.final_state)["user_import_errors"]["done"]


def test_a_list_longer_than_total_records_is_a_warning_and_a_job_details_field(emulator, tap):
    config = one_job(emulator, errors_job("LONG", 7, page_size=3, total_records={"errors": 5}))
    run = tap(config)
    assert run.returncode == 0, run.stderr
    assert len(run.records("user_import_errors")) == 7
    (details,) = run.records("job_details")
    assert details["row_count_mismatch"] == {
        "user_import_errors": {"total_records": 5, "rows_read": 7}
    }
    jsonschema.validate(details, run.schema("job_details")["schema"])
    (warning,) = [x for x in run.stderr.splitlines() if "Fullstory warning:" in x]
    assert "job LONG: user_import_errors has 7 rows, more than its total_records 5" in warning
    assert stream_bookmarks(run.final_state)["user_import_errors"]["done"] == ["LONG"]


def test_a_list_that_matches_total_records_has_no_mismatch(emulator, tap):
    run = tap(one_job(emulator, errors_job("EVEN", 7, page_size=3)))
    assert run.returncode == 0, run.stderr
    (details,) = run.records("job_details")
    assert details["row_count_mismatch"] is None
    assert "warning:" not in run.stderr


@pytest.mark.parametrize(
    ("endpoint", "body", "what"),
    [
        (
            "fullstory.status",
            {"imports": -3, "job": {"id": "BAD", "status": "COMPLETED"}},
            "imports is -3",
        ),
        (
            "fullstory.status",
            {"imports": "many", "job": {"id": "BAD", "status": "COMPLETED"}},
            "imports is 'many'",
        ),
        (
            "fullstory.status",
            {"imports": 1, "errors": 1.5, "job": {"id": "BAD", "status": "FAILED"}},
            "errors is 1.5",
        ),
        ("fullstory.errors", {"results": [], "total_records": "-1"}, "total_records is '-1'"),
        ("fullstory.errors", {"results": [], "total_records": "12a"}, "total_records is '12a'"),
    ],
)
def test_negative_or_non_numeric_counts_are_malformed_not_data(emulator, tap, endpoint, body, what):
    config = one_job(emulator, errors_job("BAD", 2))
    emulator.faults.add(endpoint, faults.status(200, body=body))
    run = tap(config)
    assert run.returncode != 0
    assert emulator.count(endpoint) == 2  # retried like a 5xx, up to retry_max_attempts
    (line,) = [x for x in run.stderr.splitlines() if "not a count" in x and "failed" in x]
    assert f"job BAD: {what}, not a count (a non-negative integer)" in line
    assert "Traceback" not in run.stderr
    assert run.records("user_import_errors") == []
