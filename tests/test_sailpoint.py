"""SailPoint SP-Config import results through the tap's real CLI, against the local emulator."""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import jsonschema
import pytest
from singer_sdk.exceptions import ConfigValidationError

from emulator import faults
from emulator.sailpoint import SailpointJob
from tap_batchimport.sailpoint.errors import describe_error_body
from tap_batchimport.sailpoint.results import flatten, object_type_map
from tap_batchimport.sailpoint.vendor import SailpointVendor
from tap_batchimport.tap import TapBatchImport
from tests.conftest import duplicate_keys, stream_bookmarks
from tests.quality import CLEAN

KEYS = ("job_id", "object_type", "category", "position")
LISTS = {"infos": "info", "warnings": "warning", "errors": "error"}
FUTURE = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
DONE_AT = "2024-05-01T09:02:00.000Z"
SECRET = "sp-demo-secret"


def msg(key: str, text: str, **details: t.Any) -> dict[str, t.Any]:
    return {"key": key, "text": text, **details}


def entry(infos=(), warnings=(), errors=(), imported=()) -> dict[str, list[t.Any]]:
    return {
        "infos": list(infos),
        "warnings": list(warnings),
        "errors": list(errors),
        "importedObjects": list(imported),
    }


def complete(job_id: str, document: dict[str, t.Any], **kw: t.Any) -> SailpointJob:
    return SailpointJob(job_id, completed=DONE_AT, expiration=FUTURE, document=document, **kw)


# Flat shape (the schema's): several object types, unicode, both spellings of details.
FLAT = {
    "exportJobId": "be9e116d-08e1-49fc-ab7f-fa585e96c9e4",
    "results": {
        "TRIGGER_SUBSCRIPTION": entry(
            infos=[
                msg("IMPORT_PREVIEW", "Object to be imported: [c953134c, Test 2]", detail=None),
                msg("IMPORT_PREVIEW", "Objet importé : « Prüfung » 日本語 ✓", details={"n": 1}),
            ],
            imported=[{"type": "TRIGGER_SUBSCRIPTION", "id": "c953134c", "name": "Test 2"}],
        ),
        "SOURCE": entry(
            warnings=[msg("REF_MISSING", "Référence absente", details={"ref": {"id": "x"}})],
            errors=[
                msg("IMPORT_FAILED", "boom", details=None),
                msg("ODD", "kept", details="a string"),
            ],
            imported=[{"type": "SOURCE", "id": "s1", "name": "Active Directory 🚀"}],
        ),
        "TRANSFORM": entry(),  # every list empty
        "RULE": {},  # no lists at all
    },
}

# The seed's doubly nested shape, with no exportJobId.
NESTED = {
    "results": {
        "results": {
            "TRIGGER_SUBSCRIPTION": entry(
                infos=[
                    msg("IMPORT_PREVIEW", "Object to be imported: [c953134c, Test 2]", detail=None),
                    msg("IMPORT_PREVIEW", "Object to be imported: [be9e116d, Test 1]", detail=None),
                ]
            )
        }
    }
}


def expected(
    job_id: str, types: dict[str, t.Any], export_job_id: str | None = None
) -> dict[tuple, dict]:
    """What the tap should emit for a result map, keyed by primary key."""
    out: dict[tuple, dict] = {}
    base = {"job_id": job_id, "export_job_id": export_job_id}
    nulls = dict.fromkeys(("imported_object_type", "imported_object_id", "imported_object_name"))
    for object_type, lists in types.items():
        for name, category in LISTS.items():
            for n, m in enumerate(lists.get(name, [])):
                details = m.get("details", m.get("detail"))
                if details is not None and not isinstance(details, dict):
                    details = {"value": details}
                out[job_id, object_type, category, n] = {
                    **base, "object_type": object_type, "category": category, "position": n,
                    "key": m["key"], "text": m["text"], "details": details, **nulls, **CLEAN,
                }  # fmt: skip
        for n, o in enumerate(lists.get("importedObjects", [])):
            out[job_id, object_type, "imported_object", n] = {
                **base, "object_type": object_type, "category": "imported_object", "position": n,
                "key": None, "text": None, "details": None, "imported_object_type": o["type"],
                "imported_object_id": o["id"], "imported_object_name": o["name"], **CLEAN,
            }  # fmt: skip
    return out


def emitted(run) -> dict[tuple, dict]:
    records = run.records("config_import_results")
    assert not duplicate_keys(records, KEYS)
    return {tuple(r[k] for k in KEYS): r for r in records}


def config(emulator, job_ids: t.Sequence[str], **extra: t.Any) -> dict[str, t.Any]:
    return {
        "sailpoint_api_url": emulator.sailpoint_url,
        "sailpoint_client_id": emulator.dataset.sailpoint_client_id,
        "sailpoint_client_secret": emulator.dataset.sailpoint_client_secret,
        "sailpoint_import_job_ids": list(job_ids),
        "retry_max_wait_seconds": 30,
        **extra,
    }


def details_of(run) -> dict[str, dict[str, t.Any]]:
    return {r["job_id"]: r for r in run.records("job_details") if r["source"] == "sailpoint"}


def big_document() -> dict[str, t.Any]:
    """5,000 items in one document: 4,500 messages and 500 imported objects."""
    counts = {"infos": 2000, "warnings": 1500, "errors": 1000}
    lists: dict[str, list[t.Any]] = {
        name: [msg(f"K{i % 7}", f"{name} message {i} — ü", details={"i": i}) for i in range(n)]
        for name, n in counts.items()
    }
    lists["importedObjects"] = [
        {"type": "SOURCE", "id": f"id-{i}", "name": f"n{i}"} for i in range(500)
    ]
    return {"results": {"SOURCE": lists}}


def test_every_message_and_object_once_and_a_rerun_emits_nothing(emulator, tap):
    big = big_document()
    emulator.dataset.sailpoint_jobs += [
        complete("FLAT", FLAT),
        complete("NESTED", NESTED),
        complete("BIG", big),
    ]
    run = tap(config(emulator, ["FLAT", "NESTED", "BIG"]))
    assert run.returncode == 0, run.stderr
    small = {
        **expected("FLAT", FLAT["results"], FLAT["exportJobId"]),
        **expected("NESTED", NESTED["results"]["results"]),
    }
    assert len(small) == 9
    got = emitted(run)
    assert got == {**small, **expected("BIG", big["results"])}
    assert len(got) == 9 + 5000
    assert got["FLAT", "SOURCE", "error", 1]["details"] == {"value": "a string"}
    assert got["FLAT", "TRIGGER_SUBSCRIPTION", "info", 1]["text"].endswith("日本語 ✓")
    schema = run.schema("config_import_results")
    assert schema["key_properties"] == list(KEYS)
    for record in small.values():
        jsonschema.validate(record, schema["schema"])
    for record in run.records("job_details"):
        jsonschema.validate(record, run.schema("job_details")["schema"])
    assert stream_bookmarks(run.final_state)["config_import_results"]["done"] == [
        "BIG",
        "FLAT",
        "NESTED",
    ]
    assert emulator.count("sailpoint.download") == 3

    emulator.clear_requests()
    again = tap(config(emulator, ["FLAT", "NESTED", "BIG"]), run.final_state)
    assert again.returncode == 0, again.stderr
    assert again.result_records() == {}
    assert emulator.requests == []  # settled: no status request, no job_details record
    assert details_of(again) == {}


def test_every_status(emulator, tap):
    emulator.dataset.sailpoint_jobs += [
        SailpointJob("NEW", status="NOT_STARTED", expiration=FUTURE),
        SailpointJob("RUN", status="IN_PROGRESS", expiration=FUTURE),
        complete("OK", NESTED),
        SailpointJob("STOP", status="CANCELLED", completed=DONE_AT, message="Cancelled by admin"),
        SailpointJob("BAD", status="FAILED", completed=DONE_AT, message="Import failed: bad JSON"),
        SailpointJob("ODD", status="PAUSED"),  # unknown, no completion: not finished
        SailpointJob("ODD2", status="ARCHIVED", completed=DONE_AT),  # unknown, completed
    ]
    ids = ["NEW", "RUN", "OK", "STOP", "BAD", "ODD", "ODD2", "MISSING"]
    run = tap(config(emulator, ids))
    assert run.returncode == 0, run.stderr
    details = details_of(run)
    assert list(details) == ids
    summary = {k: (d["status"], d["is_finished"], d["finished"]) for k, d in details.items()}
    assert summary == {
        "NEW": ("NOT_STARTED", False, None),
        "RUN": ("IN_PROGRESS", False, None),
        "OK": ("COMPLETE", True, DONE_AT),
        "STOP": ("CANCELLED", True, DONE_AT),
        "BAD": ("FAILED", True, DONE_AT),
        "ODD": ("PAUSED", False, None),
        "ODD2": ("ARCHIVED", True, DONE_AT),
        "MISSING": ("NOT_FOUND", True, None),
    }
    assert details["BAD"]["message"] == "Import failed: bad JSON"
    assert details["STOP"]["message"] == "Cancelled by admin"
    assert {k for k, d in details.items() if d.get("result_expired") is not None} == {"OK"}
    ok = details["OK"]
    assert (ok["type"], ok["expiration"], ok["result_expired"]) == ("IMPORT", FUTURE, False)
    assert ok["created"] == "2024-05-01T09:00:00.000Z"
    assert ok["vendor_status"]["jobId"] == "OK"
    assert {r["job_id"] for r in run.records("config_import_results")} == {"OK"}
    assert {r.job_id for r in emulator.requests if r.endpoint == "sailpoint.download"} == {"OK"}
    # Every finished job is settled (nothing to download but OK's); PAUSED stays pending.
    done = stream_bookmarks(run.final_state)["config_import_results"]["done"]
    assert done == sorted(k for k, d in details.items() if d["is_finished"])


def test_unfinished_job_is_polled_then_extracted_by_a_later_run(emulator, tap):
    emulator.dataset.sailpoint_jobs += [
        complete("SLOW", NESTED, processing_polls=1),
        complete("LATER", FLAT, processing_polls=10**9),
    ]
    first = tap(config(emulator, ["SLOW", "LATER"], job_wait_timeout_seconds=2))
    assert first.returncode == 0, first.stderr
    assert {r["job_id"] for r in first.records("config_import_results")} == {"SLOW"}
    assert details_of(first)["LATER"]["status"] == "IN_PROGRESS"
    assert stream_bookmarks(first.final_state)["config_import_results"]["done"] == ["SLOW"]
    emulator.dataset.sailpoint_job("LATER").processing_polls = 0  # it finishes between runs
    emulator.clear_requests()
    second = tap(config(emulator, ["SLOW", "LATER"]), first.final_state)
    assert second.returncode == 0, second.stderr
    assert emitted(second) == expected("LATER", FLAT["results"], FLAT["exportJobId"])
    assert {r.job_id for r in emulator.requests if r.endpoint == "sailpoint.download"} == {"LATER"}


def test_download_gone_after_expiration_is_given_up_and_shown_in_job_details(emulator, tap):
    emulator.dataset.sailpoint_jobs += [
        SailpointJob("GONE", completed=DONE_AT, download_gone=True),  # expiration in 2024
        complete("OK", NESTED),
        # `expiration` has passed but the result is still there: the download decides.
        SailpointJob("OLD", completed=DONE_AT, document=NESTED),
    ]
    ids = ["GONE", "OK", "OLD"]
    run = tap(config(emulator, ids))
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line and "GONE" in line]
    assert len(warnings) == 1
    assert "results expired" in warnings[0]
    details = details_of(run)
    assert (details["GONE"]["status"], details["GONE"]["result_expired"]) == ("COMPLETE", True)
    assert details["GONE"]["given_up"] is True
    assert details["OK"]["result_expired"] is False
    assert details["OK"]["given_up"] is False
    assert details["OLD"]["result_expired"] is False
    assert emitted(run) == {
        **expected("OK", NESTED["results"]["results"]),
        **expected("OLD", NESTED["results"]["results"]),
    }
    # Done, so the gone result is not asked for again.
    assert stream_bookmarks(run.final_state)["config_import_results"]["done"] == sorted(ids)
    emulator.clear_requests()
    again = tap(config(emulator, ids), run.final_state)
    assert again.returncode == 0, again.stderr
    # Settled: no request and no new job_details record.
    assert emulator.requests == []
    assert details_of(again) == {}


def test_forbidden_fails_with_one_clear_line(emulator, tap):
    emulator.dataset.sailpoint_jobs.append(complete("A", FLAT))
    emulator.dataset.sailpoint_forbidden = True
    run = tap(config(emulator, ["A"]))
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "HTTP 403" in line]
    assert len(lines) == 1, run.stderr
    assert (
        "SailPoint GET /v2025/sp-config/import/{job_id} failed: HTTP 403: 403 Forbidden" in lines[0]
    )
    assert "refuses to authorize it" in lines[0]
    assert "Traceback" not in run.stderr
    assert SECRET not in run.stdout + run.stderr


def test_bad_credentials_fail_with_one_clear_line_and_no_secret(emulator, tap):
    wrong = "wrong-s3cr3t-value"
    run = tap({**config(emulator, ["A"]), "sailpoint_client_secret": wrong})
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "HTTP 401" in line]
    assert len(lines) == 1, run.stderr
    assert "SailPoint POST /oauth/token failed: HTTP 401: invalid_client" in lines[0]
    assert "Traceback" not in run.stderr
    assert wrong not in run.stdout + run.stderr
    assert emulator.count("sailpoint.token") == 1  # a refusal is not retried


def test_rate_limits_failures_and_malformed_answers_are_retried(emulator, tap):
    emulator.dataset.sailpoint_jobs.append(complete("A", FLAT))
    emulator.faults.add("sailpoint.token", faults.status(503), on={1})
    emulator.faults.add("sailpoint.download", faults.status(429, retry_after="2"), on={1})
    emulator.faults.add("sailpoint.download", faults.missing_envelope(), on={2})
    run = tap(config(emulator, ["A"]))
    assert run.returncode == 0, run.stderr
    assert emitted(run) == expected("A", FLAT["results"], FLAT["exportJobId"])
    assert [r.status for r in emulator.requests if r.endpoint == "sailpoint.token"] == [503, 200]
    calls = [r for r in emulator.requests if r.endpoint == "sailpoint.download"]
    assert [c.status for c in calls] == [429, 200, 200]  # the second lacks `results`
    assert calls[1].time - calls[0].time >= 2.0
    assert "rate limit" in run.stderr
    assert "lacks its 'results' envelope" in run.stderr


def test_expired_token_is_refreshed_once_and_a_second_401_is_fatal(emulator, tap):
    emulator.dataset.sailpoint_jobs += [complete("A", FLAT), complete("B", NESTED)]
    emulator.faults.add("sailpoint.status", faults.expire_token(), on={2})
    run = tap(config(emulator, ["A", "B"]), env={"LOGLEVEL": "DEBUG"})
    assert run.returncode == 0, run.stderr
    assert emulator.count("sailpoint.token") == 2
    assert [r.status for r in emulator.requests if r.endpoint == "sailpoint.status"] == [
        200,
        401,
        200,
    ]
    assert len(emitted(run)) == 9
    # Neither token nor secret shows up anywhere, even at DEBUG.
    tokens = {
        r.headers["authorization"].split()[-1]
        for r in emulator.requests
        if "authorization" in r.headers
    }
    assert len(tokens) == 2
    output = run.stdout + run.stderr
    assert all(token not in output for token in tokens)
    assert SECRET not in output
    assert "Bearer" not in output

    emulator.faults.clear()
    emulator.clear_requests()
    emulator.faults.add("sailpoint.download", faults.status(401))
    fatal = tap(config(emulator, ["A"]))
    assert fatal.returncode != 0
    assert emulator.count("sailpoint.token") == 2  # once at start, once after the first 401
    assert emulator.count("sailpoint.download") == 2
    line = next(line for line in fatal.stderr.splitlines() if "HTTP 401" in line)
    assert "SailPoint GET /v2025/sp-config/import/{job_id}/download failed" in line
    assert "JWT validation failed" in line


def test_api_version_is_the_path_prefix(emulator, tap):
    version = "beta"
    emulator.dataset.sailpoint_jobs.append(complete("A", NESTED))
    run = tap(config(emulator, ["A"], sailpoint_api_version=version))
    assert run.returncode == 0, run.stderr
    assert len(run.records("config_import_results")) == 2
    paths = [r.path for r in emulator.requests if r.endpoint != "sailpoint.token"]
    assert paths == [
        f"/sailpoint/{version}/sp-config/import/A",
        f"/sailpoint/{version}/sp-config/import/A/download",
    ]


def test_api_version_v1_calls_the_sp_config_v1_layout(emulator, tap):
    # A tenant that retired the prefixed paths still answers SailPoint's per-API layout.
    emulator.dataset.sailpoint_prefixed_paths = False
    emulator.dataset.sailpoint_jobs.append(complete("A", NESTED))
    run = tap(config(emulator, ["A"], sailpoint_api_version="v1"))
    assert run.returncode == 0, run.stderr
    assert len(run.records("config_import_results")) == 2
    assert details_of(run)["A"]["status"] == "COMPLETE"
    paths = [r.path for r in emulator.requests if r.endpoint != "sailpoint.token"]
    assert paths == [
        "/sailpoint/sp-config/v1/import/A",
        "/sailpoint/sp-config/v1/import/A/download",
    ]


def test_a_retired_prefix_answers_404_for_every_job_and_v1_reads_them(emulator, tap):
    # What docs/sailpoint.md tells users to look for: every job NOT_FOUND with a prefix.
    emulator.dataset.sailpoint_prefixed_paths = False
    emulator.dataset.sailpoint_jobs += [complete("A", NESTED), complete("B", NESTED)]
    prefixed = tap(config(emulator, ["A", "B"]))
    assert prefixed.returncode == 0, prefixed.stderr
    assert {r["status"] for r in details_of(prefixed).values()} == {"NOT_FOUND"}
    assert prefixed.records("config_import_results") == []
    v1 = tap(config(emulator, ["A", "B"], sailpoint_api_version="v1"))
    assert {r["status"] for r in details_of(v1).values()} == {"COMPLETE"}
    assert len(v1.records("config_import_results")) == 4


@pytest.mark.parametrize(
    ("version", "layout"),
    [
        ("v1", "sp-config v1 layout, GET /sp-config/v1/import/{job_id}"),
        ("v2025", "versioned-prefix layout, GET /v2025/sp-config/import/{job_id}"),
    ],
)
def test_the_connection_test_says_which_layout_answered(emulator, tap, version, layout):
    emulator.dataset.sailpoint_jobs.append(complete("A", NESTED))
    run = tap(config(emulator, ["A"], sailpoint_api_version=version), extra_args=["--test"])
    assert run.returncode == 0, run.stderr
    (line,) = [x for x in run.stderr.splitlines() if "SailPoint: ok (" in x]
    assert f"SailPoint: ok ({layout}; status of sailpoint job A: COMPLETE)" in line


def test_a_config_error_exits_before_any_request(emulator, tap):
    run = tap(config(emulator, ["A"], sailpoint_api_version="v3"))
    assert run.returncode != 0
    assert "'v3' is not one of ['v1', 'beta', 'v2024', 'v2025', 'v2026']" in run.stderr
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"sailpoint_client_secret": None}, "sailpoint_client_secret is required"),
        (
            {
                "sailpoint_api_url": None,
                "sailpoint_client_id": None,
                "sailpoint_client_secret": None,
            },
            "sailpoint_api_url, sailpoint_client_id, sailpoint_client_secret is required",
        ),
        ({"sailpoint_api_url": "http://acme.api.identitynow.com"}, "plain http://"),
        ({"sailpoint_import_job_ids": ["A", ""]}, "sailpoint_import_job_ids[1] is empty"),
    ],
)
def test_config_errors(override, needle):
    base = {
        "sailpoint_api_url": "https://acme.api.identitynow.com",
        "sailpoint_client_id": "i",
        "sailpoint_client_secret": "s",
        "sailpoint_import_job_ids": ["A"],
    }
    cfg = {k: v for k, v in {**base, **override}.items() if v is not None}
    with pytest.raises(ConfigValidationError) as caught:
        TapBatchImport(config=cfg)
    assert any(needle in e for e in caught.value.errors), caught.value.errors


# Units: shapes and messages the emulator does not produce.


def test_a_type_named_results_is_not_mistaken_for_the_nested_shape():
    flat = {"results": {"results": entry(infos=[msg("K", "t")])}}
    assert [(r["object_type"], r["category"]) for r in flatten("J", flat)] == [("results", "info")]
    assert object_type_map({"results": {"results": {}}}) == {}
    assert object_type_map(NESTED) is NESTED["results"]["results"]


def test_lenient_items():
    doc = {
        "results": {
            "X": {
                "infos": ["bare text", {"key": 1, "text": None, "details": [1, 2]}],
                "importedObjects": [{"type": "X", "id": 7}],
                "errors": None,
            }
        }
    }
    rows = list(flatten("J", doc))
    assert [
        (r["category"], r["position"], r["key"], r["text"], r["details"]) for r in rows[:2]
    ] == [
        ("info", 0, None, "bare text", None),
        ("info", 1, "1", None, {"value": [1, 2]}),
    ]
    assert (rows[2]["imported_object_id"], rows[2]["imported_object_name"]) == ("7", None)


def test_error_bodies_are_described_in_one_line():
    body = {
        "detailCode": "400.1 Bad Request Content",
        "trackingId": "e7ea",
        "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": "Invalid."}],
        "causes": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": "Invalid."}],
    }
    assert describe_error_body(body) == "400.1 Bad Request Content: Invalid. (trackingId e7ea)"
    assert describe_error_body({"error": "JWT validation failed: JWT is expired"}) == (
        "JWT validation failed: JWT is expired"
    )
    assert describe_error_body({"message": " Rate Limit Exceeded "}) == "Rate Limit Exceeded"
    assert describe_error_body([1]) is None


def test_token_is_reused_until_shortly_before_it_expires():
    vendor = SailpointVendor(
        {
            "sailpoint_api_url": "https://x.invalid",
            "sailpoint_client_id": "i",
            "sailpoint_client_secret": "s",
        },
        logging.getLogger("test"),
    )
    auth = vendor.client_credentials(
        auth_url="https://x.invalid",
        token_path="/oauth/token",
        prefix="sailpoint",
        error_detail=lambda r: "",
    )
    assert not auth.is_token_valid()
    now = dt.datetime.now(dt.timezone.utc)
    auth.access_token, auth.expires_in = "tok", 749
    auth.last_refreshed = now - dt.timedelta(seconds=600)
    assert auth.is_token_valid()
    auth.last_refreshed = now - dt.timedelta(seconds=700)  # less than 60 s left
    assert not auth.is_token_valid()


def test_download_404_before_expiration_fails_that_job_only_and_is_read_next_run(emulator, tap):
    # Not expired yet: a 404 is a failure to retry, never a deleted result.
    flaky = complete("FLAKY", NESTED)
    emulator.dataset.sailpoint_jobs += [flaky, complete("OK", NESTED)]
    emulator.faults.add("sailpoint.download", faults.status(404), on={1})
    run = tap(config(emulator, ["FLAKY", "OK"], max_concurrent_requests=1))
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line or "| ERROR" in line]
    assert any("sailpoint job FLAKY" in line and "HTTP 404" in line for line in errors), errors
    assert not any("{job_id}" in line for line in errors)
    assert "Run incomplete" in run.stderr and "sailpoint FLAKY" in run.stderr
    details = details_of(run)
    assert details["FLAKY"]["given_up"] is False
    assert details["FLAKY"]["failed_attempts"] == 1
    assert "HTTP 404" in details["FLAKY"]["last_error"]
    assert details["OK"]["last_error"] is None
    assert set(emitted(run)) == set(expected("OK", NESTED["results"]["results"]))
    # The next run, given no id at all, reads it from the ledger.
    again = tap(config(emulator, []), run.final_state)
    assert again.returncode == 0, again.stderr
    assert emitted(again) == expected("FLAKY", NESTED["results"]["results"])
    assert details_of(again)["FLAKY"]["failed_attempts"] == 0
    assert details_of(again)["FLAKY"]["last_error"] is None
