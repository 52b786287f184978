"""The vendor emulator behaves as vendor-apis.md describes (the tap's tests rely on it)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path

import pytest
import requests

from emulator import (
    SAILPOINT_RATE_LIMIT,
    Dataset,
    DruidBulk,
    FullstoryJob,
    NightlySeries,
    RateLimit,
    SailpointJob,
    VendorEmulator,
    bench_druid_dataset,
    bench_fullstory_dataset,
    bench_sailpoint_dataset,
    demo_dataset,
    demo_tap_config,
    faults,
    tap_config,
)
from emulator.bench import bench_sailpoint_rows_per_job
from emulator.limits import RateLimiter, retry_after_seconds
from emulator.scenarios import BENCH_USER_ERRORS, DEMO_CONFIG_IDS, uuid7

FS_KEY = "fs-demo-key"
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
ROOT = Path(__file__).resolve().parents[1]


def _users(count: int, prefix: str = "u") -> list[dict]:
    return [
        {"id": str(i), "uid": f"{prefix}{i}", "schema": {"properties": {"n": "int"}}}
        for i in range(count)
    ]


def _druid_rows(count: int) -> list[dict]:
    return [
        {
            "id": uuid7(1_714_550_400_000 + i, 0, i),
            "userIdentifierType": "object_id",
            "objectId": f"obj-{i}",
            **({"error": "User not found"} if i % 3 == 0 else {}),
        }
        for i in range(count)
    ]


def _dataset() -> Dataset:
    return Dataset(
        fullstory_jobs=[
            FullstoryJob("done", finished="2024-05-01T08:01:00.1Z", imports=_users(250)),
            FullstoryJob("slow", imports=_users(5), processing_polls=2, results_processing_polls=1),
            FullstoryJob(
                "odd",
                status="FAILED",
                imports=_users(4),
                errors=[{"message": "m", "code": "c", "user": {}}] * 3,
                page_size=2,
                empty_last_page=True,
                repeat_last_token=True,
            ),
            FullstoryJob("stale", imports=_users(4), page_size=2, expire_tokens=True),
            FullstoryJob("ev", "events", "PROCESSING"),
        ],
        druid_bulks=[
            DruidBulk("b1", results=_druid_rows(230)),
            DruidBulk("b2", "processing"),
            DruidBulk("b3", results=_druid_rows(3), processing_polls=1),
        ],
        sailpoint_jobs=[
            SailpointJob(
                "sp1",
                "COMPLETE",
                completed="2024-05-01T09:02:00Z",
                document={
                    "results": {
                        "SOURCE": {"infos": [], "warnings": [], "errors": [], "importedObjects": []}
                    }
                },
            ),
            SailpointJob("sp2", "IN_PROGRESS"),
            SailpointJob("sp3", "COMPLETE", download_gone=True),
        ],
        fullstory_forbidden_keys={"readonly-key"},
    )


@pytest.fixture
def emu():
    with VendorEmulator(_dataset()) as emulator:
        yield emulator


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def fs_get(http, emu, path, key=FS_KEY, **params):
    headers = {"Authorization": f"Basic {key}"}
    return http.get(f"{emu.fullstory_url}/v2/{path}", headers=headers, params=params, timeout=5)


def fs_pages(http, emu, path, **params):
    pages, token = [], None
    while True:
        extra = {"page_token": token} if token else {}
        response = fs_get(http, emu, path, **params, **extra)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        sent, token = token, pages[-1].get("next_page_token")
        if not token or token == sent:
            return pages


def druid_token(http, emu):
    form = {
        "grant_type": "client_credentials",
        "client_id": "druid-demo-client",
        "client_secret": "druid-demo-secret",
    }
    response = http.post(f"{emu.druid_auth_url}/oauth2/token", data=form, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def druid_get(http, emu, path, token, headers=JSON_HEADERS, **params):
    headers = {**headers, "Authorization": f"Bearer {token}"}
    url = f"{emu.druid_api_url}/activityid/v1/user/bulk{path}"
    return http.get(url, headers=headers, params=params, timeout=5)


def sp_token(http, emu):
    form = {
        "grant_type": "client_credentials",
        "client_id": "sp-demo-client",
        "client_secret": "sp-demo-secret",
    }
    response = http.post(f"{emu.sailpoint_url}/oauth/token", data=form, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def sp_get(http, emu, path, token, version="v2025"):
    url = f"{emu.sailpoint_url}/{version}/sp-config/import/{path}"
    return http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)


# Fullstory.


def test_fullstory_status_and_paging_reach_every_row_once(emu, http):
    status = fs_get(http, emu, "users/batch/done").json()
    assert status == {
        "imports": 250,
        "job": {
            "id": "done",
            "status": "COMPLETED",
            "created": "2024-05-01T09:00:00.000Z",
            "finished": "2024-05-01T08:01:00.1Z",
        },
    }
    pages = fs_pages(http, emu, "users/batch/done/imports")
    assert [len(page["results"]) for page in pages] == [100, 100, 50]
    assert {page["total_records"] for page in pages} == {"250"}
    uids = [row["uid"] for page in pages for row in page["results"]]
    assert uids == [f"u{i}" for i in range(250)]
    assert all("schema" not in row for page in pages for row in page["results"])
    tokens = [page["next_page_token"] for page in pages[:-1]]
    assert all(not token.isdigit() and "100" not in token for token in tokens)
    assert "next_page_token" not in pages[-1]
    with_schema = fs_get(http, emu, "users/batch/done/imports", include_schema="true").json()
    assert with_schema["results"][0]["schema"] == {"properties": {"n": "int"}}


def test_fullstory_empty_last_page_and_repeated_token(emu, http):
    imports = fs_pages(http, emu, "users/batch/odd/imports")
    assert [len(page["results"]) for page in imports] == [2, 2, 0]
    assert imports[-1]["next_page_token"] == imports[-2]["next_page_token"]
    errors = fs_pages(http, emu, "users/batch/odd/errors")
    assert [len(page["results"]) for page in errors] == [2, 1, 0]
    assert fs_get(http, emu, "users/batch/odd").json()["errors"] == 3


def test_fullstory_processing_answers_202_until_polled(emu, http):
    assert fs_get(http, emu, "users/batch/slow/imports").status_code == 202
    for _ in range(2):  # processing_polls=2: the job finishes after its second poll
        assert fs_get(http, emu, "users/batch/slow/errors").status_code == 202
        job = fs_get(http, emu, "users/batch/slow").json()["job"]
        assert job["status"] == "PROCESSING"
        assert "finished" not in job
    assert fs_get(http, emu, "users/batch/slow").json()["job"]["status"] == "COMPLETED"
    race = fs_get(http, emu, "users/batch/slow/imports")  # results_processing_polls=1
    assert (race.status_code, race.json()) == (202, {})
    assert len(fs_get(http, emu, "users/batch/slow/imports").json()["results"]) == 5
    assert fs_get(http, emu, "events/batch/ev/imports").status_code == 202


def test_fullstory_errors_unknown_job_bad_key_forbidden_bad_token(emu, http):
    missing = fs_get(http, emu, "users/batch/nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "resource_not_found"
    assert fs_get(http, emu, "events/batch/done").status_code == 404  # a users job
    assert fs_get(http, emu, "users/batch/done", key="wrong").json()["code"] == "unauthorized"
    base64_key = "ZnMtZGVtby1rZXk="  # base64 of the key: the vendor wants it as-is
    assert fs_get(http, emu, "users/batch/done", key=base64_key).status_code == 401
    assert fs_get(http, emu, "users/batch/done", key="readonly-key").status_code == 403
    garbage = fs_get(http, emu, "users/batch/done/imports", page_token="bm9wZQ==")
    assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_page_token")
    token = fs_get(http, emu, "users/batch/done/imports").json()["next_page_token"]
    assert fs_get(http, emu, "users/batch/done/errors", page_token=token).status_code == 400
    assert fs_get(http, emu, "users/batch/odd/imports", page_token=token).status_code == 400
    stale = fs_get(http, emu, "users/batch/stale/imports").json()["next_page_token"]
    assert fs_get(http, emu, "users/batch/stale/imports", page_token=stale).status_code == 400


def test_fullstory_page_tokens_survive_restart_until_expired(emu, http):
    token = fs_get(http, emu, "users/batch/done/imports").json()["next_page_token"]
    base_url = emu.base_url
    emu.stop()
    emu.start()
    assert emu.base_url == base_url
    assert fs_get(http, emu, "users/batch/done/imports", page_token=token).status_code == 200
    emu.expire_page_tokens()
    assert fs_get(http, emu, "users/batch/done/imports", page_token=token).status_code == 400
    fresh = fs_get(http, emu, "users/batch/done/imports").json()["next_page_token"]
    assert fresh != token
    assert fs_get(http, emu, "users/batch/done/imports", page_token=fresh).status_code == 200


# DruID.


def test_druid_token_list_status_and_cursor_paging(emu, http):
    token = druid_token(http, emu)
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert token["expires_at"] > time.time() * 1000
    listed = druid_get(http, emu, "", token["access_token"]).json()
    assert [bulk["bulkId"] for bulk in listed["content"]] == ["b1", "b2", "b3"]
    assert listed["result"] == {"status": 200, "message": "OK"}
    status = druid_get(http, emu, "/b1", token["access_token"]).json()["content"]
    # DruID documents no counts: the status holds what a list entry holds.
    assert sorted(status) == ["bulkId", "createdOn", "status", "updatedOn"]
    assert status["status"] == "completed"

    ids, last, pages = [], None, 0
    while True:
        params = {"last": last} if last else {}
        content = druid_get(http, emu, "/b1/results", token["access_token"], **params).json()
        ids += [row["id"] for row in content["content"]["results"]]
        pages += 1
        last = content["content"].get("lastId")
        if last is None:
            break
        assert last == ids[-1]
    assert pages == 3
    assert ids == [row["id"] for row in _druid_rows(230)]
    failed = druid_get(
        http, emu, "/b1/results", token["access_token"], limit=1000, failedOnly="true"
    ).json()["content"]
    assert len(failed["results"]) == 77
    assert "lastId" not in failed
    assert all(row["error"] for row in failed["results"])


def test_druid_not_finished_headers_and_errors(emu, http):
    token = druid_token(http, emu)["access_token"]
    not_done = druid_get(http, emu, "/b2/results", token)
    assert not_done.status_code == 428
    assert not_done.json() == {"result": {"status": 428, "message": "The bulk is not finished yet"}}
    assert druid_get(http, emu, "/b3/results", token).status_code == 428
    assert druid_get(http, emu, "/b3", token).json()["content"]["status"] == "processing"
    assert druid_get(http, emu, "/b3", token).json()["content"]["status"] == "completed"
    assert druid_get(http, emu, "/b3/results", token).status_code == 200
    assert druid_get(http, emu, "/nope", token).json()["result"]["message"] == "Bulk not found"
    no_accept = druid_get(http, emu, "", token, headers={"Content-Type": "application/json"})
    assert no_accept.status_code == 406
    no_type = druid_get(http, emu, "", token, headers={"Accept": "application/json"})
    assert no_type.status_code == 415
    for bad in ("0", "1001", "ten"):
        assert druid_get(http, emu, "/b1/results", token, limit=bad).status_code == 400
    emu.expire_all_tokens()
    expired = druid_get(http, emu, "", token)
    assert (expired.status_code, expired.json()["result"]["status"]) == (401, 401)


def test_druid_token_endpoint_rejects_bad_requests(emu, http):
    url = f"{emu.druid_auth_url}/oauth2/token"
    wrong = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    response = http.post(url, data=wrong, timeout=5)
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})
    assert http.post(url, json=wrong, timeout=5).status_code == 400
    assert http.get(url, timeout=5).status_code == 405
    assert http.post(f"{emu.druid_auth_url}/token", data=wrong, timeout=5).status_code == 404


# SailPoint.


def test_sailpoint_token_status_and_download(emu, http):
    token = sp_token(http, emu)
    assert token.count(".") == 2
    status = sp_get(http, emu, "sp1", token).json()
    assert status["status"] == "COMPLETE"
    assert status["type"] == "IMPORT"
    assert status["completed"] == "2024-05-01T09:02:00Z"
    download = sp_get(http, emu, "sp1/download", token)
    assert list(download.json()["results"]) == ["SOURCE"]
    assert sp_get(http, emu, "sp1/download", token, version="beta").status_code == 200
    assert sp_get(http, emu, "sp2/download", token).status_code == 400
    gone = sp_get(http, emu, "sp3/download", token)
    assert (gone.status_code, gone.json()["detailCode"]) == (404, "404 Not found")
    assert sp_get(http, emu, "nope", token).status_code == 404
    assert sp_get(http, emu, "sp1", token, version="v3").status_code == 404
    unauthorized = sp_get(http, emu, "sp1", "not-a-token")
    assert unauthorized.json() == {"error": "JWT validation failed: JWT is expired"}
    emu.dataset.sailpoint_forbidden = True
    forbidden = sp_get(http, emu, "sp1", token)
    assert (forbidden.status_code, forbidden.json()["detailCode"]) == (403, "403 Forbidden")


# Faults.


def test_fault_status_with_retry_after_and_vendor_bodies(emu, http):
    date = formatdate(time.time() + 2, usegmt=True)
    emu.faults.add("fullstory.status", faults.status(429, retry_after=2), on={1})
    emu.faults.add("fullstory.status", faults.status(503, retry_after=date), on={2})
    emu.faults.add("sailpoint.status", faults.status(429, retry_after="1"), times=1)
    limited = fs_get(http, emu, "users/batch/done")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
    assert limited.json()["code"] == "too_many_requests"
    unavailable = fs_get(http, emu, "users/batch/done")
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, date)
    assert fs_get(http, emu, "users/batch/done").status_code == 200
    token = sp_token(http, emu)
    assert sp_get(http, emu, "sp1", token).json() == {"message": " Rate Limit Exceeded "}
    assert sp_get(http, emu, "sp1", token).status_code == 200
    assert emu.count("fullstory.status") == 3
    assert emu.count("fullstory.status", status=429) == 1


def test_fault_every_and_times_and_clear(emu, http):
    rule = emu.faults.add("druid.*", faults.status(500), every=2, times=2)
    token = druid_token(http, emu)["access_token"]  # request 1 (druid.token)
    statuses = [druid_get(http, emu, "", token).status_code for _ in range(5)]
    assert statuses == [500, 200, 500, 200, 200]
    assert (rule.seen, rule.fired) == (6, 2)
    emu.faults.clear()
    assert emu.faults.rules == []
    assert druid_get(http, emu, "", token).status_code == 200


def test_fault_reset_and_stall(emu, http):
    emu.faults.add("fullstory.status", faults.reset(), on={1})
    with pytest.raises(requests.ConnectionError):
        fs_get(http, emu, "users/batch/done")
    assert emu.requests[-1].status == 0
    assert fs_get(http, emu, "users/batch/done").status_code == 200
    emu.faults.add("fullstory.imports", faults.stall(1.0), on={1})
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        http.get(
            f"{emu.fullstory_url}/v2/users/batch/done/imports",
            headers={"Authorization": f"Basic {FS_KEY}"},
            timeout=0.3,
        )
    assert time.monotonic() - started < 0.9
    assert fs_get(http, emu, "users/batch/done/imports").status_code == 200


def test_fault_malformed_bodies(emu, http):
    emu.faults.add("fullstory.imports", faults.truncated_json(), on={1})
    emu.faults.add("fullstory.imports", faults.non_json(), on={2})
    emu.faults.add("fullstory.imports", faults.missing_envelope(), on={3})
    emu.faults.add("sailpoint.download", faults.missing_envelope(), on={1})
    truncated = fs_get(http, emu, "users/batch/done/imports")
    assert truncated.status_code == 200
    assert int(truncated.headers["Content-Length"]) == len(truncated.content)
    with pytest.raises(ValueError, match=r"."):
        json.loads(truncated.content)
    html = fs_get(http, emu, "users/batch/done/imports")
    assert (html.text, html.headers["Content-Type"]) == ("<html>oops</html>", "text/html")
    assert fs_get(http, emu, "users/batch/done/imports").json() == {}
    token = sp_token(http, emu)
    assert sp_get(http, emu, "sp1/download", token).json() == {"unexpected": True}


def test_fault_expire_token_gives_401_once(emu, http):
    emu.faults.add("druid.results", faults.expire_token(), on={1})
    token = druid_token(http, emu)["access_token"]
    assert druid_get(http, emu, "/b1/results", token).status_code == 401
    fresh = druid_token(http, emu)["access_token"]
    assert druid_get(http, emu, "/b1/results", fresh).status_code == 200


def test_request_log(emu, http):
    fs_get(http, emu, "users/batch/done/imports", include_schema="false")
    record = emu.requests[-1]
    assert (record.method, record.path, record.status) == (
        "GET",
        "/fullstory/v2/users/batch/done/imports",
        200,
    )
    assert (record.vendor, record.endpoint, record.job_id) == (
        "fullstory",
        "fullstory.imports",
        "done",
    )
    assert record.query == {"include_schema": "false"}
    assert record.headers["authorization"] == f"Basic {FS_KEY}"
    assert emu.count("fullstory.imports", include_schema="false", job_id="done") == 1
    emu.clear_requests()
    assert emu.requests == []


# Latency, rate limit and Retry-After.


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_latency_delays_every_answer_and_concurrent_answers_wait_in_parallel():
    latency = 0.3
    with VendorEmulator(_dataset(), latency_seconds=latency) as emulator:
        assert emulator.latency_seconds == latency
        with requests.Session() as session:
            response, took = _timed(lambda: fs_get(session, emulator, "users/batch/done"))
            assert response.status_code == 200
            assert latency <= took < latency + 0.25
            emulator.faults.add("fullstory.status", faults.status(503), on={1})
            failed, took = _timed(lambda: fs_get(session, emulator, "users/batch/done"))
            assert failed.status_code == 503  # Faults are delayed too.
            assert took >= latency

        def one(_):
            # A new connection per request: the server gives each one its own thread.
            answer = requests.get(
                f"{emulator.fullstory_url}/v2/users/batch/done/imports",
                headers={"Authorization": f"Basic {FS_KEY}"},
                timeout=5,
            )
            return answer.status_code

        with ThreadPoolExecutor(8) as pool:
            statuses, took = _timed(lambda: list(pool.map(one, range(8))))
        assert statuses == [200] * 8
        assert latency <= took < 2 * latency  # in parallel: one round trip, not eight
        emulator.latency_seconds = 0
        with requests.Session() as session:
            _, took = _timed(lambda: fs_get(session, emulator, "users/batch/done"))
        assert took < latency
        with pytest.raises(ValueError, match="latency_seconds"):
            emulator.latency_seconds = -1


def test_stop_ends_latency_waits_early():
    with VendorEmulator(_dataset(), latency_seconds=30) as emulator:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(
                requests.get,
                f"{emulator.fullstory_url}/v2/users/batch/done",
                headers={"Authorization": f"Basic {FS_KEY}"},
                timeout=10,
            )
            time.sleep(0.2)
            started = time.monotonic()
            emulator.stop()
            with contextlib.suppress(requests.RequestException):
                pending.result()
        assert time.monotonic() - started < 5


def test_client_ids_in_the_request_log(emu, http):
    token = sp_token(http, emu)
    sp_get(http, emu, "sp1", token)
    sp_get(http, emu, "sp1", "not-a-jwt")
    druid = druid_token(http, emu)["access_token"]
    druid_get(http, emu, "", druid)
    fs_get(http, emu, "users/batch/done")
    fs_get(http, emu, "users/batch/done", key="readonly-key")
    records = emu.requests
    assert [r.client_id for r in records[:5]] == [
        "sp-demo-client",
        "sp-demo-client",
        "",
        "druid-demo-client",
        "druid-demo-client",
    ]
    fullstory, other = records[5].client_id, records[6].client_id
    assert fullstory.startswith("key-")
    assert FS_KEY not in fullstory
    assert other.startswith("key-")
    assert other != fullstory
    emu.expire_all_tokens()
    sp_get(http, emu, "sp1", token)  # an expired token still names its client
    assert (emu.requests[-1].status, emu.requests[-1].client_id) == (401, "sp-demo-client")


def test_sailpoint_rate_limit_is_off_by_default(emu, http):
    assert emu.sailpoint_rate_limit is None
    token = sp_token(http, emu)
    assert {sp_get(http, emu, "sp1", token).status_code for _ in range(120)} == {200}


def test_sailpoint_documented_rate_limit_counts_token_requests():
    with (
        VendorEmulator(_dataset(), sailpoint_rate_limit=SAILPOINT_RATE_LIMIT) as emulator,
        requests.Session() as http,
    ):
        assert emulator.sailpoint_rate_limit == RateLimit(100, 10.0)
        token = sp_token(http, emulator)  # request 1 of 100
        statuses = [sp_get(http, emulator, "sp1", token).status_code for _ in range(99)]
        assert set(statuses) == {200}
        refused = sp_get(http, emulator, "sp1", token)
        assert refused.status_code == 429
        assert refused.json() == {"message": " Rate Limit Exceeded "}
        assert 1 <= int(refused.headers["Retry-After"]) <= 10
        form = {"grant_type": "client_credentials", "client_id": "sp-demo-client"}
        again = http.post(f"{emulator.sailpoint_url}/oauth/token", data=form, timeout=5)
        assert again.status_code == 429  # the form names the same client
        other = {**form, "client_id": "someone-else", "client_secret": "x"}
        response = http.post(f"{emulator.sailpoint_url}/oauth/token", data=other, timeout=5)
        assert response.status_code == 401  # another client id has its own budget
        assert fs_get(http, emulator, "users/batch/done").status_code == 200  # SailPoint only
        assert emulator.count("sailpoint.status", status=429) == 1


def test_sailpoint_rate_limit_retry_after_is_enough_and_limit_can_be_switched(emu, http):
    emu.sailpoint_rate_limit = RateLimit(3, 1.0)
    token = sp_token(http, emu)
    assert [sp_get(http, emu, "sp1", token).status_code for _ in range(3)] == [200, 200, 429]
    refused = sp_get(http, emu, "sp1", token)
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "1")
    time.sleep(1)
    assert sp_get(http, emu, "sp1", token).status_code == 200
    assert emu.retry_after_violations == 1  # the second 429 came before the first's second
    emu.sailpoint_rate_limit = None
    assert {sp_get(http, emu, "sp1", token).status_code for _ in range(5)} == {200}


def test_rate_limiter_sliding_window_and_parse():
    limiter = RateLimiter(RateLimit(2, 10.0))
    assert limiter.admit("a", 0.0) is None
    assert limiter.admit("a", 4.0) is None
    assert limiter.admit("a", 5.0) == 5  # until the request at 0.0 leaves the window
    assert limiter.admit("b", 5.0) is None
    assert limiter.admit("a", 9.5) == 1  # refused requests do not use the budget
    assert limiter.admit("a", 10.0) is None
    assert limiter.admit("a", 10.5) == 4
    assert RateLimit.parse("100/10") == SAILPOINT_RATE_LIMIT
    for bad in ("100", "0/10", "5/0", "x/1"):
        with pytest.raises(ValueError, match=r"."):
            RateLimit.parse(bad)
    assert retry_after_seconds("2") == 2
    assert retry_after_seconds(formatdate(1000.0, usegmt=True), now_epoch=990.0) == 10
    assert retry_after_seconds(formatdate(1000.0, usegmt=True), now_epoch=2000.0) == 0
    assert retry_after_seconds("soon") is None


def test_retry_after_violations_per_vendor_and_client(emu, http):
    emu.faults.add("fullstory.status", faults.status(429, retry_after=1), on={1})
    assert fs_get(http, emu, "users/batch/done").status_code == 429
    assert fs_get(http, emu, "users/batch/done").status_code == 200  # too early
    assert fs_get(http, emu, "users/batch/done", key="readonly-key").status_code == 403
    token = sp_token(http, emu)
    assert sp_get(http, emu, "sp1", token).status_code == 200  # another vendor
    assert emu.retry_after_violations == 1
    assert [r.retry_after_violation for r in emu.requests] == [False, True, False, False, False]
    assert emu.count("fullstory.status", retry_after_violation=True) == 1
    time.sleep(1)
    assert fs_get(http, emu, "users/batch/done").status_code == 200
    assert emu.retry_after_violations == 1
    emu.clear_requests()
    assert emu.retry_after_violations == 0


def test_retry_after_violations_with_http_dates(emu, http):
    date = formatdate(time.time() + 3, usegmt=True)
    emu.faults.add("druid.results", faults.status(503, retry_after=date), on={1})
    token = druid_token(http, emu)["access_token"]
    assert druid_get(http, emu, "/b1/results", token).status_code == 503
    assert druid_get(http, emu, "/b1", token).status_code == 200  # same client: too early
    assert emu.retry_after_violations == 1
    assert emu.requests[-1].retry_after_violation
    assert emu.requests[-1].client_id == "druid-demo-client"


# Scenarios and command line.


def test_demo_dataset_is_deterministic_and_matches_config():
    dataset = demo_dataset()
    assert dataset == demo_dataset()
    with VendorEmulator(dataset) as emulator:
        config = demo_tap_config(emulator)
    assert config["druid_bulk_ids"] == []
    assert config["fullstory_api_url"].endswith("/fullstory")
    known = {job.job_id for job in dataset.fullstory_jobs}
    configured = DEMO_CONFIG_IDS["fullstory_user_import_job_ids"]
    assert len([job_id for job_id in configured if job_id not in known]) == 1
    statuses = {job.status for job in dataset.fullstory_jobs}
    assert statuses == {"COMPLETED", "FAILED", "PROCESSING"}


def test_bench_datasets_page_through(http):
    dataset = bench_fullstory_dataset(3000, jobs=3, page_size=400, endpoint="both")
    row = dataset.fullstory_jobs[2].errors[999]
    assert row == BENCH_USER_ERRORS.row(2999)
    assert {"message", "code", "user"} <= row.keys()
    with VendorEmulator(dataset) as emulator:
        pages = fs_pages(http, emulator, "users/batch/bench-users-00001/errors")
        uids = [row["user"]["uid"] for page in pages for row in page["results"]]
        assert uids == [f"user-{i:08d}" for i in range(1000, 2000)]
        pages = fs_pages(http, emulator, "users/batch/bench-users-00001/imports")
        assert sum(len(page["results"]) for page in pages) == 1000
    with VendorEmulator(bench_druid_dataset(2500)) as emulator:
        token = druid_token(http, emulator)["access_token"]
        ids, last = [], ""
        while True:
            page = druid_get(
                http,
                emulator,
                "/018f0000-0000-7000-8000-00000000be9c/results",
                token,
                limit=1000,
                last=last,
            ).json()["content"]
            ids += [row["id"] for row in page["results"]]
            last = page.get("lastId")
            if not last:
                break
        assert len(ids) == len(set(ids)) == 2500
        assert ids == sorted(ids)


def test_cli_serves_demo_until_sigterm(tmp_path, http):
    url_file, config_file = tmp_path / "url", tmp_path / "config.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "emulator",
        "serve",
        "--scenario",
        "demo",
        "--url-file",
        str(url_file),
        "--config-file",
        str(config_file),
    ]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        try:
            deadline = time.monotonic() + 10
            while not url_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            base_url = url_file.read_text().strip()
            config = json.loads(config_file.read_text())
            assert config["fullstory_api_url"] == f"{base_url}/fullstory"
            job = DEMO_CONFIG_IDS["fullstory_user_import_job_ids"][0]
            response = http.get(
                f"{base_url}/fullstory/v2/users/batch/{job}",
                headers={"Authorization": f"Basic {FS_KEY}"},
                timeout=5,
            )
            assert response.json()["job"]["status"] == "COMPLETED"
        finally:
            process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert stdout.strip() == base_url


def test_bench_sailpoint_dataset(http):
    dataset = bench_sailpoint_dataset(3)
    assert len({job.job_id for job in dataset.sailpoint_jobs}) == 3
    assert all(len(job.job_id) == 32 for job in dataset.sailpoint_jobs)
    with VendorEmulator(dataset) as emulator:
        assert len(tap_config(emulator)["sailpoint_import_job_ids"]) == 3
        token = sp_token(http, emulator)
        job_id = dataset.sailpoint_jobs[2].job_id
        assert sp_get(http, emulator, job_id, token).json()["status"] == "COMPLETE"
        results = sp_get(http, emulator, f"{job_id}/download", token).json()["results"]
    rows = sum(len(entry[key]) for entry in results.values() for key in entry)
    assert rows == bench_sailpoint_rows_per_job() == 10


def test_nightly_series_finishes_late_jobs_the_next_night(http):
    dataset = Dataset()
    series = NightlySeries(dataset, jobs_per_night=8, rows_per_list=3, late_every=4)
    with VendorEmulator(dataset) as emulator:
        first = series.next_night()
        assert first == [f"night-0001-{i:02d}" for i in range(8)]
        assert series.processing == ["night-0001-00", "night-0001-04"]
        assert fs_get(http, emulator, "users/batch/night-0001-00/imports").status_code == 202
        status = fs_get(http, emulator, "users/batch/night-0001-00").json()["job"]
        assert (status["status"], "finished" in status) == ("PROCESSING", False)
        done = fs_get(http, emulator, "users/batch/night-0001-01/errors").json()
        assert len(done["results"]) == 3
        second = series.next_night()
        assert second[0] == "night-0002-00"
        assert len(dataset.fullstory_jobs) == 16
        assert series.processing == ["night-0002-00", "night-0002-04"]
        assert "night-0001-00" in series.finished
        assert len(series.finished) == 14
        status = fs_get(http, emulator, "users/batch/night-0001-00").json()
        assert (status["job"]["status"], status["errors"]) == ("FAILED", 3)
        imports = fs_get(http, emulator, "users/batch/night-0001-00/imports").json()["results"]
        later = fs_get(http, emulator, "users/batch/night-0002-01/imports").json()["results"]
        assert {row["uid"] for row in imports}.isdisjoint(row["uid"] for row in later)


def test_cli_latency_and_sailpoint_rate_limit(tmp_path, http):
    url_file = tmp_path / "url"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "emulator",
        "serve",
        "--scenario",
        "bench-sailpoint",
        "--jobs",
        "2",
        "--latency-ms",
        "150",
        "--sailpoint-rate-limit",
        "2/60",
        "--url-file",
        str(url_file),
    ]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 10
            while not url_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            base_url = url_file.read_text().strip()
            form = {
                "grant_type": "client_credentials",
                "client_id": "sp-demo-client",
                "client_secret": "sp-demo-secret",
            }
            token, took = _timed(
                lambda: http.post(f"{base_url}/sailpoint/oauth/token", data=form, timeout=5)
            )
            assert took >= 0.15
            url = f"{base_url}/sailpoint/v2025/sp-config/import/be5c{0:028x}"
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert http.get(url, headers=headers, timeout=5).status_code == 200
            refused = http.get(url, headers=headers, timeout=5)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        finally:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0
