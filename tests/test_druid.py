"""DruID bulk results through the tap's real CLI, against the local emulator."""

from __future__ import annotations

import json
import typing as t

import jsonschema
import pytest
import requests

from emulator import faults
from emulator.druid import DruidBulk
from tap_batchimport.druid.vendor import DruidVendor
from tap_batchimport.jobs import JobRef
from tests.conftest import duplicate_keys, legacy_state, stream_bookmarks
from tests.quality import CLEAN

KEYS = ("bulk_id", "id")
RESULTS_ENDPOINT = "druid.results"


def uuid7ish(bulk: int, row: int) -> str:
    """Ids that sort like DruID's UUIDv7 row ids."""
    return f"0190c3c4-{bulk:04x}-7000-8000-{row:012x}"


def rows(bulk: int, count: int, *, fail_every: int = 4) -> list[dict[str, t.Any]]:
    out = []
    for n in range(count):
        by_object = n % 2 == 0
        row = {
            "id": uuid7ish(bulk, n),
            "userIdentifierType": "object_id" if by_object else "pulse_id",
            "objectId": f"obj-{bulk}-{n}" if by_object else None,
            "pulseId": None if by_object else f"pulse-{bulk}-{n}",
            "error": f"user {n} not found" if n % fail_every == 0 else None,
        }
        # DruID's pages show every row field as a string, never null: absent instead.
        out.append({key: value for key, value in row.items() if value is not None})
    return out


@pytest.fixture
def druid(emulator):
    """Three finished bulks (one failed), one still processing."""
    emulator.dataset.druid_bulks.extend(
        [
            DruidBulk("B-DONE", results=rows(1, 23)),
            DruidBulk(
                "B-FAIL",
                status="failed",
                updated_on="2024-05-01T10:00:00.000Z",
                results=rows(2, 7, fail_every=1),
            ),
            DruidBulk("B-EMPTY", results=[]),
            DruidBulk("B-BUSY", status="processing", results=rows(3, 5)),
        ]
    )
    return emulator


def config(emu, **overrides: t.Any) -> dict[str, t.Any]:
    return {
        "druid_api_url": emu.druid_api_url,
        "druid_auth_url": emu.druid_auth_url,
        "druid_client_id": emu.dataset.druid_client_id,
        "druid_client_secret": emu.dataset.druid_client_secret,
        "druid_page_size": 5,
        "retry_max_wait_seconds": 10,
        **overrides,
    }


def expected(emu, *, failed_only: bool = False) -> dict[tuple, dict]:
    """What DruID holds for every finished bulk, keyed like the tap's records."""
    out = {}
    for bulk in emu.dataset.druid_bulks:
        if bulk.status not in {"completed", "failed"}:
            continue
        for row in bulk.results:
            if failed_only and row.get("error") is None:
                continue
            out[(bulk.bulk_id, row["id"])] = {"bulk_id": bulk.bulk_id, **row, **CLEAN}
    return out


def emitted(run) -> dict[tuple, dict]:
    records = run.records("bulk_results")
    assert not duplicate_keys(records, KEYS)
    return {(r["bulk_id"], r["id"]): r for r in records}


def bearer_tokens(emu) -> set[str]:
    tokens = set()
    for record in emu.requests:
        scheme, _, token = record.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            tokens.add(token.strip())
    return tokens


def assert_no_secrets(emu, *runs) -> None:
    secrets = {emu.dataset.druid_client_secret, *bearer_tokens(emu)}
    for run in runs:
        for secret in secrets:
            assert secret not in run.stdout
            assert secret not in run.stderr


def error_lines(run) -> list[str]:
    return [line for line in run.stderr.splitlines() if "DruID" in line and "failed: HTTP" in line]


def test_every_row_of_every_finished_bulk_once_and_valid(druid, tap):
    run = tap(config(druid, druid_bulk_ids=["B-DONE", "B-FAIL", "B-EMPTY", "B-BUSY", "B-NONE"]))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == expected(druid)
    assert len(run.records("bulk_results")) == 30
    schema = run.schema("bulk_results")
    assert schema["key_properties"] == ["bulk_id", "id"]
    for record in run.records("bulk_results"):
        jsonschema.validate(record, schema["schema"])
    # Pages of 5: 23 rows take 5 requests, each after the first resumes from lastId.
    assert druid.count(RESULTS_ENDPOINT, job_id="B-DONE") == 5
    assert druid.count(RESULTS_ENDPOINT, job_id="B-BUSY") == 0
    assert druid.count(RESULTS_ENDPOINT, job_id="B-NONE") == 0
    assert druid.count("druid.list") == 0
    assert druid.count("druid.token") == 1
    sent = {r.query.get("failedOnly") for r in druid.requests if r.endpoint == RESULTS_ENDPOINT}
    assert sent == {"false"}
    assert_no_secrets(druid, run)


def test_job_details_of_configured_bulks(druid, tap):
    run = tap(config(druid, druid_bulk_ids=["B-DONE", "B-FAIL", "B-BUSY", "B-NONE"]))
    assert run.returncode == 0, run.stderr
    details = {r["job_id"]: r for r in run.records("job_details")}
    assert set(details) == {"B-DONE", "B-FAIL", "B-BUSY", "B-NONE"}
    assert {r["source"] for r in details.values()} == {"druid"}
    done = details["B-DONE"]
    # DruID documents no counts: none are guessed (its answer is in vendor_status).
    assert (done["status"], done["is_finished"], done["imports"], done["errors"]) == (
        "completed",
        True,
        None,
        None,
    )
    assert (done["created"], done["finished"]) == (
        "2024-05-01T09:00:00.000Z",
        "2024-05-01T09:05:00.000Z",
    )
    assert done["vendor_status"]["content"]["bulkId"] == "B-DONE"
    failed = details["B-FAIL"]
    assert (failed["status"], failed["is_finished"], failed["finished"]) == (
        "failed",
        True,
        "2024-05-01T10:00:00.000Z",
    )
    busy = details["B-BUSY"]
    assert (busy["status"], busy["is_finished"], busy["finished"]) == ("processing", False, None)
    assert details["B-NONE"]["status"] == "NOT_FOUND"
    schema = run.schema("job_details")
    for record in details.values():
        jsonschema.validate(record, schema["schema"])
    # Every API request carries the JSON headers DruID insists on, and a bearer token.
    api = [r for r in druid.requests if r.endpoint != "druid.token"]
    assert api
    for record in api:
        assert record.headers["accept"] == "application/json"
        assert record.headers["content-type"] == "application/json"
        assert record.headers["authorization"].startswith("Bearer ")
    (token_request,) = [r for r in druid.requests if r.endpoint == "druid.token"]
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    # Without Accept, DruID refuses the request, whatever the token.
    answer = requests.get(
        druid.druid_api_url + "/activityid/v1/user/bulk",
        headers={
            "Authorization": f"Bearer {bearer_tokens(druid).pop()}",
            "Content-Type": "application/json",
            "Accept": "",
        },
        timeout=5,
    )
    assert answer.status_code == 406


def test_transient_failures_are_retried_without_duplicates(druid, tap):
    druid.faults.add("druid.token", faults.status(503), times=1)
    druid.faults.add(RESULTS_ENDPOINT, faults.missing_envelope(), on={2})
    druid.faults.add(RESULTS_ENDPOINT, faults.status(429, retry_after="0"), on={4})
    run = tap(config(druid, druid_bulk_ids=["B-DONE"]))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == {k: v for k, v in expected(druid).items() if k[0] == "B-DONE"}
    assert druid.count("druid.token") == 2
    assert druid.count(RESULTS_ENDPOINT) == 7  # 5 pages, one malformed and one 429 retried


def test_unfinished_bulk_is_skipped_then_extracted_by_a_later_run(druid, tap):
    # B-LATE says "completed" but its results still answer 428 at first.
    druid.dataset.druid_bulks.append(DruidBulk("B-LATE", results=rows(4, 3)))
    druid.faults.add(RESULTS_ENDPOINT, faults.status(428), times=1)
    ids = ["B-LATE", "B-DONE", "B-BUSY"]
    # One request at a time: the first results request (the one refused) is B-LATE's.
    first = tap(config(druid, druid_bulk_ids=ids, max_concurrent_requests=1))
    assert first.returncode == 0, first.stderr
    assert {r["bulk_id"] for r in first.records("bulk_results")} == {"B-DONE"}
    assert "B-BUSY" not in stream_bookmarks(first.final_state)["bulk_results"]["done"]
    assert "B-LATE" not in stream_bookmarks(first.final_state)["bulk_results"]["done"]
    assert "Traceback" not in first.stderr

    druid.dataset.druid_bulk("B-BUSY").status = "completed"  # finishes between runs
    druid.clear_requests()
    second = tap(config(druid, druid_bulk_ids=ids), first.final_state)
    assert second.returncode == 0, second.stderr
    assert set(emitted(second)) == {k for k in expected(druid) if k[0] in {"B-BUSY", "B-LATE"}}
    assert druid.count(RESULTS_ENDPOINT, job_id="B-DONE") == 0


def test_waits_for_a_processing_bulk_up_to_the_timeout(emulator, tap):
    emulator.dataset.druid_bulks.append(DruidBulk("B-SLOW", results=rows(5, 4), processing_polls=1))
    run = tap(config(emulator, druid_bulk_ids=["B-SLOW"], job_wait_timeout_seconds=10))
    assert run.returncode == 0, run.stderr
    assert emulator.count("druid.status") == 2
    assert len(emitted(run)) == 4
    (detail,) = run.records("job_details")
    assert (detail["status"], detail["is_finished"]) == ("completed", True)


def test_failed_only(druid, tap):
    # Off (failedOnly=false) is what every other test runs with.
    run = tap(config(druid, druid_bulk_ids=["B-DONE", "B-FAIL"], druid_failed_only=True))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == expected(druid, failed_only=True)
    assert len(emitted(run)) == 13
    sent = {r.query.get("failedOnly") for r in druid.requests if r.endpoint == RESULTS_ENDPOINT}
    assert sent == {"true"}


def test_token_expiring_mid_run_is_renewed_once(druid, tap):
    druid.faults.add(RESULTS_ENDPOINT, faults.expire_token(), on={3})
    run = tap(config(druid, druid_bulk_ids=["B-DONE", "B-FAIL"]))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == expected(druid)
    # One new token for all workers; each request in flight with the old one met a 401.
    assert druid.count("druid.token") == 2
    assert 1 <= druid.count(RESULTS_ENDPOINT, status=401) <= 2
    assert_no_secrets(druid, run)


def test_page_size_one_outliving_a_short_lived_token(druid, tap):
    # 23 pages of one row outlive a 1 s token; it is renewed 0.1 s (10 % of its life)
    # before it lapses, so no request meets a 401.
    druid.dataset.druid_token_ttl = 1
    druid.faults.add(RESULTS_ENDPOINT, faults.stall(0.05))
    run = tap(config(druid, druid_bulk_ids=["B-DONE", "B-FAIL"], druid_page_size=1))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == expected(druid)
    assert druid.count(RESULTS_ENDPOINT, job_id="B-DONE") == 23
    assert {r.query["limit"] for r in druid.requests if r.endpoint == RESULTS_ENDPOINT} == {"1"}
    assert druid.count("druid.token") >= 2
    assert druid.count(status=401) == 0


def test_page_size_1000(druid, tap):
    run = tap(config(druid, druid_bulk_ids=["B-DONE", "B-FAIL"], druid_page_size=1000))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == expected(druid)
    assert druid.count(RESULTS_ENDPOINT, job_id="B-DONE") == 1
    assert {r.query["limit"] for r in druid.requests if r.endpoint == RESULTS_ENDPOINT} == {"1000"}


def test_second_401_is_fatal_with_one_clear_line(druid, tap):
    druid.faults.add(RESULTS_ENDPOINT, faults.status(401))
    run = tap(config(druid, druid_bulk_ids=["B-DONE"]))
    assert run.returncode != 0
    assert druid.count("druid.token") == 2  # the first token, and one renewal
    assert druid.count(RESULTS_ENDPOINT) == 2
    (line,) = error_lines(run)
    assert "GET /activityid/v1/user/bulk/{bulk_id}/results" in line
    assert "HTTP 401" in line
    assert "Traceback" not in run.stderr
    assert run.records("bulk_results") == []
    assert_no_secrets(druid, run)


def test_refused_token_request_is_fatal_and_never_shows_the_secret(druid, tap):
    wrong = "wrong-secret-123"
    run = tap(config(druid, druid_client_secret=wrong))
    assert run.returncode != 0
    (line,) = error_lines(run)
    assert "POST /oauth2/token" in line
    assert "HTTP 401" in line
    assert "invalid_client" in line
    assert "Traceback" not in run.stderr
    assert druid.count("druid.token") == 1  # a refusal is not retried
    assert wrong not in run.stdout + run.stderr
    assert [r.endpoint for r in druid.requests] == ["druid.token"]


def test_discovered_bulks_and_a_second_run_with_state(druid, tap):
    # No druid_bulk_ids: every bulk the list endpoint returns.
    first = tap(config(druid))
    assert first.returncode == 0, first.stderr
    assert druid.count("druid.list") == 1
    assert {r["job_id"] for r in first.records("job_details")} == {
        "B-DONE",
        "B-FAIL",
        "B-EMPTY",
        "B-BUSY",
    }
    assert emitted(first) == expected(druid)
    state = first.final_state
    assert stream_bookmarks(state)["bulk_results"]["done"] == ["B-DONE", "B-EMPTY", "B-FAIL"]
    assert len(json.dumps(state)) < 600
    druid.clear_requests()
    second = tap(config(druid), state)
    assert second.returncode == 0, second.stderr
    assert second.records("bulk_results") == []
    assert druid.count(RESULTS_ENDPOINT) == 0
    # Statuses come from the list; only the bulk still processing is reported again.
    assert druid.count("druid.list") == 1
    assert druid.count("druid.status") == 0
    assert [r["job_id"] for r in second.records("job_details")] == ["B-BUSY"]
    assert_no_secrets(druid, first, second)
    for run in (first, second):
        assert "access_token" not in json.dumps(run.states)


def test_resumes_from_a_mid_bulk_cursor(druid, tap):
    bulk_rows = druid.dataset.druid_bulk("B-DONE").results
    cursor = bulk_rows[9]["id"]
    state = {"bookmarks": {"bulk_results": {"done": [], "progress": {"B-DONE": {"last": cursor}}}}}
    run = tap(config(druid, druid_bulk_ids=["B-DONE"]), state)
    assert run.returncode == 0, run.stderr
    assert set(emitted(run)) == {("B-DONE", row["id"]) for row in bulk_rows[10:]}
    first_request = next(r for r in druid.requests if r.endpoint == RESULTS_ENDPOINT)
    assert first_request.query["last"] == cursor


def test_interrupted_run_resumes_without_losing_rows(druid, tap):
    # The 4th results request fails for good: the run stops mid-bulk (one request at a
    # time, so that request is B-DONE's 4th page).
    druid.faults.add(RESULTS_ENDPOINT, faults.status(400), on={4})
    ids = ["B-DONE", "B-FAIL"]
    first = tap(config(druid, druid_bulk_ids=ids, max_concurrent_requests=1))
    assert first.returncode != 0
    assert len(error_lines(first)) == 1
    progress = stream_bookmarks(first.final_state)["bulk_results"]["progress"]
    assert set(progress) == {"B-DONE"}
    second = tap(config(druid, druid_bulk_ids=ids), first.final_state)
    assert second.returncode == 0, second.stderr
    both = first.records("bulk_results") + second.records("bulk_results")
    assert {(r["bulk_id"], r["id"]) for r in both} == set(expected(druid))
    # At most one page is emitted twice.
    assert len(duplicate_keys(both, KEYS)) <= 5
    assert not duplicate_keys(second.records("bulk_results"), KEYS)


@pytest.mark.parametrize(
    ("dropped", "missing"),
    [
        ({"druid_client_secret"}, "druid_client_secret"),
        (
            {"druid_api_url", "druid_auth_url", "druid_client_id", "druid_client_secret"},
            "druid_client_id",
        ),
    ],
)
def test_partial_credentials_are_a_config_error(druid, tap, dropped, missing):
    # A client id without its secret; bulk ids without any credentials.
    full = config(druid, druid_bulk_ids=["B-DONE"])
    run = tap({k: v for k, v in full.items() if k not in dropped})
    assert run.returncode != 0
    assert missing in run.stderr
    assert druid.requests == []


def test_plain_http_to_a_remote_host_is_a_config_error(druid, tap):
    run = tap(config(druid, druid_auth_url="http://auth.example.com"))
    assert run.returncode != 0
    assert "druid_auth_url" in run.stderr
    assert druid.requests == []


def test_absent_credentials_skip_druid(druid, tap):
    run = tap({"job_wait_timeout_seconds": 0})
    assert run.returncode == 0, run.stderr
    assert run.records("bulk_results") == []
    assert druid.requests == []
    assert "DruID is not extracted" in run.stderr


def test_settings_from_environment_variables(druid, tap):
    cfg = config(druid, druid_bulk_ids=["B-DONE"], druid_page_size=1000)
    env = {f"TAP_BATCHIMPORT_{k.upper()}": str(v) for k, v in cfg.items() if k.startswith("druid_")}
    env["TAP_BATCHIMPORT_DRUID_BULK_IDS"] = json.dumps(cfg["druid_bulk_ids"])
    run = tap({}, extra_args=["--config", "ENV"], env=env)
    assert run.returncode == 0, run.stderr
    assert len(emitted(run)) == 23
    assert druid.count(RESULTS_ENDPOINT) == 1
    assert_no_secrets(druid, run)


@pytest.mark.parametrize("bad_cursor", [{"last": 5}, {"last": ""}, {"cursor": "x"}])
def test_an_unusable_saved_cursor_rereads_the_bulk(druid, tap, bad_cursor):
    first = tap(config(druid))
    view = stream_bookmarks(first.final_state)
    bulk_id, *_ = view["bulk_results"]["done"]
    view["bulk_results"]["done"].remove(bulk_id)
    view["bulk_results"]["progress"][bulk_id] = bad_cursor
    state = legacy_state(view)  # the previous release's layout, which the tap migrates
    second = tap(config(druid), state)
    assert second.returncode == 0, second.stderr
    reread = [k for k in emitted(second) if k[0] == bulk_id]
    assert sorted(reread) == sorted(k for k in expected(druid) if k[0] == bulk_id)
    assert "re-reading the job from its start" in second.stderr


@pytest.mark.parametrize(
    ("created_on", "created"),
    [
        ("2024-05-01T09:00:00.000Z", "2024-05-01T09:00:00.000Z"),
        ("2024-05-01T11:00:00+02:00", "2024-05-01T09:00:00.000Z"),
        ("2024-05-01 09:00:00.123456", "2024-05-01T09:00:00.123456Z"),  # no zone: UTC
        (1714554000, "2024-05-01T09:00:00.000Z"),  # epoch seconds
        (1714554000123, "2024-05-01T09:00:00.123Z"),  # epoch milliseconds
        (1714554000.5, "2024-05-01T09:00:00.500Z"),
        ("1714554000123", "2024-05-01T09:00:00.123Z"),  # milliseconds as a string
        ("yesterday", None),
        ("", None),
        (True, None),
        ({"epoch": 1}, None),
        (None, None),
        (10**30, None),
    ],
)
def test_created_on_in_any_plausible_form_is_rfc3339_utc(created_on, created):
    # DruID types createdOn "string" with no format: a form it might use never fails a job.
    body = {"content": {"bulkId": "B", "status": "completed", "createdOn": created_on}}
    status = DruidVendor.status_of(JobRef("druid", "B"), body["content"], body)
    assert status.created == created
    assert (status.imports, status.errors) == (None, None)
    assert status.vendor_status == body


def test_undocumented_counts_are_passed_through_not_interpreted():
    content = {"bulkId": "B", "status": "completed", "total": 10, "failed": "3", "errors": 2}
    status = DruidVendor.status_of(JobRef("druid", "B"), content, {"content": content})
    assert (status.imports, status.errors) == (None, None)
    assert status.as_record()["vendor_status"] == {"content": content}


def test_a_bulk_with_epoch_millisecond_times_is_extracted(emulator, tap):
    emulator.dataset.druid_bulks.append(
        DruidBulk("B-MS", created_on=1714554000123, updated_on=1714554300000, results=rows(4, 3))  # type: ignore[arg-type]
    )
    run = tap(config(emulator, druid_bulk_ids=["B-MS"]))
    assert run.returncode == 0, run.stderr
    (detail,) = run.records("job_details")
    assert (detail["created"], detail["finished"]) == (
        "2024-05-01T09:00:00.123Z",
        "2024-05-01T09:05:00.000Z",
    )
    assert detail["vendor_status"]["content"]["createdOn"] == 1714554000123
    assert len(run.records("bulk_results")) == 3
    jsonschema.validate(detail, run.schema("job_details")["schema"])
