"""Every kind of answer the emulator gives follows the vendor's published schema.

SailPoint's and Fullstory's OpenAPI documents (tests/data/specs, sources in its README) and
DruID's documentation (written down in tests/data/specs/druid) are the reference: status
bodies, result pages, downloads and error bodies of every demo and benchmark job are
validated against them, so no tap test passes against a shape no vendor sends.
"""

from __future__ import annotations

import typing as t

import pytest
import requests
import yaml

from emulator import (
    SAILPOINT_RATE_LIMIT,
    VendorEmulator,
    bench_druid_dataset,
    bench_fullstory_dataset,
    bench_sailpoint_dataset,
    demo_dataset,
    faults,
)
from tests.vendor_specs import SPECS, druid_schema, problems, response_schema

FORBIDDEN_KEY = "fs-forbidden-key"
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
#: Statuses the fault plan answers with the vendor's own error body.
FAULT_STATUSES = (429, 500, 502, 503, 504)


class Checker:
    """Asks the emulator, and collects every answer the published schema refuses."""

    def __init__(self, emulator: VendorEmulator) -> None:
        self.emulator = emulator
        self.http = requests.Session()
        self.seen: set[tuple[str, str, int]] = set()
        self.found: list[str] = []

    def check(self, vendor: str, operation: str, response: requests.Response) -> t.Any:
        status = response.status_code
        self.seen.add((vendor, operation, status))
        body = response.json()
        if vendor.startswith("druid"):
            schema = druid_schema(operation if status < 400 else "error")
        else:
            schema = response_schema(vendor, operation, status)
            if schema is None and status >= 500:
                # 502-504 are not in the specs: a gateway answers them; the vendor's own
                # error body is what the emulator sends, so it must fit the 500 schema.
                schema = response_schema(vendor, operation, 500)
            if schema is None:
                self.found.append(f"{vendor} {operation} HTTP {status}: not in the spec")
                return body
        self.found += [
            f"{vendor} {operation} HTTP {status} {response.url}: {problem}"
            for problem in problems(schema, body)
        ]
        return body


@pytest.fixture
def checker() -> t.Iterator[Checker]:
    dataset = demo_dataset()
    dataset.fullstory_forbidden_keys.add(FORBIDDEN_KEY)
    with VendorEmulator(dataset) as emulator:
        checker = Checker(emulator)
        yield checker
        checker.http.close()


def fullstory_answers(checker: Checker, *, with_errors: bool = True) -> None:
    """Ask every Fullstory endpoint of every job, paging through every list."""
    emu, http = checker.emulator, checker.http
    auth = {"Authorization": f"Basic {emu.dataset.fullstory_api_key}"}
    for job in emu.dataset.fullstory_jobs:
        vendor = f"fullstory-{job.kind}"
        base = f"{emu.fullstory_url}/v2/{job.kind}/batch/{job.job_id}"
        checker.check(vendor, "status", http.get(base, headers=auth, timeout=10))
        for what in ("imports", "errors"):
            for extra in ({}, {"include_schema": "true"}) if what == "imports" else ({},):
                token = None
                while True:
                    params = {**extra, **({"page_token": token} if token else {})}
                    response = http.get(f"{base}/{what}", headers=auth, params=params, timeout=10)
                    page = checker.check(vendor, what, response)
                    sent, token = token, page.get("next_page_token")
                    if response.status_code != 200 or not token or token == sent:
                        break
    if not with_errors:
        return
    users = f"{emu.fullstory_url}/v2/users/batch"
    job_id = emu.dataset.fullstory_jobs[0].job_id
    bad_key = {"Authorization": "Basic wrong"}
    forbidden = {"Authorization": f"Basic {FORBIDDEN_KEY}"}
    for operation, suffix in (("status", ""), ("imports", "/imports"), ("errors", "/errors")):
        url = f"{users}/{job_id}{suffix}"
        checker.check("fullstory-users", operation, http.get(url, headers=bad_key, timeout=10))
        checker.check("fullstory-users", operation, http.get(url, headers=forbidden, timeout=10))
        unknown = f"{users}/no-such-job{suffix}"
        checker.check("fullstory-users", operation, http.get(unknown, headers=auth, timeout=10))
    stale = http.get(
        f"{users}/{job_id}/errors", headers=auth, params={"page_token": "expired"}, timeout=10
    )
    checker.check("fullstory-users", "errors", stale)
    for code in FAULT_STATUSES:
        emu.faults.add("fullstory.status", faults.status(code), times=1)
        checker.check(
            "fullstory-users", "status", http.get(f"{users}/{job_id}", headers=auth, timeout=10)
        )


def druid_answers(checker: Checker, *, with_errors: bool = True) -> None:
    """Ask every DruID endpoint of every bulk, paging through every result list."""
    emu, http = checker.emulator, checker.http
    form = {
        "grant_type": "client_credentials",
        "client_id": emu.dataset.druid_client_id,
        "client_secret": emu.dataset.druid_client_secret,
    }
    token = checker.check(
        "druid", "token", http.post(f"{emu.druid_auth_url}/oauth2/token", data=form, timeout=10)
    )["access_token"]
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
    bulks = f"{emu.druid_api_url}/activityid/v1/user/bulk"
    checker.check("druid", "list", http.get(bulks, headers=headers, timeout=10))
    for bulk in emu.dataset.druid_bulks:
        checker.check("druid", "status", http.get(f"{bulks}/{bulk.bulk_id}", headers=headers))
        for failed_only in ("false", "true"):
            last = None
            while True:
                params = {"limit": "100", "failedOnly": failed_only, "last": last}
                response = http.get(
                    f"{bulks}/{bulk.bulk_id}/results", headers=headers, params=params, timeout=10
                )
                page = checker.check("druid", "results", response)
                last = page.get("content", {}).get("lastId")
                if response.status_code != 200 or last is None:
                    break
    if not with_errors:
        return
    first = emu.dataset.druid_bulks[0].bulk_id
    checker.check("druid", "status", http.get(f"{bulks}/no-such-bulk", headers=headers))
    bad_limit = http.get(f"{bulks}/{first}/results", headers=headers, params={"limit": "0"})
    checker.check("druid", "results", bad_limit)
    expired = {**JSON_HEADERS, "Authorization": "Bearer expired"}
    checker.check("druid", "status", http.get(f"{bulks}/{first}", headers=expired, timeout=10))
    for code in FAULT_STATUSES:
        emu.faults.add("druid.results", faults.status(code), times=1)
        checker.check("druid", "results", http.get(f"{bulks}/{first}/results", headers=headers))


def sailpoint_answers(checker: Checker, *, with_errors: bool = True) -> None:
    """Ask both SP-Config layouts about every job: status, download, and the errors."""
    emu, http = checker.emulator, checker.http
    form = {
        "grant_type": "client_credentials",
        "client_id": emu.dataset.sailpoint_client_id,
        "client_secret": emu.dataset.sailpoint_client_secret,
    }
    response = http.post(f"{emu.sailpoint_url}/oauth/token", data=form, timeout=10)
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    layouts = {
        "sailpoint-v1": f"{emu.sailpoint_url}/sp-config/v1/import",
        "sailpoint-v2025": f"{emu.sailpoint_url}/v2025/sp-config/import",
    }
    for vendor, base in layouts.items():
        for job in emu.dataset.sailpoint_jobs:
            url = f"{base}/{job.job_id}"
            checker.check(vendor, "status", http.get(url, headers=headers, timeout=10))
            download = http.get(f"{url}/download", headers=headers, timeout=10)
            if download.status_code == 200 and "results" in download.json()["results"]:
                # The doubly nested document is the spec's own example, which does not fit
                # its schema; it must be that example exactly, not a new shape.
                assert download.json()["results"] == spec_example_results(), download.text
                continue
            checker.check(vendor, "download", download)
        if not with_errors:
            continue
        job_url = f"{base}/{emu.dataset.sailpoint_jobs[0].job_id}"
        expired = {"Authorization": "Bearer expired"}
        checker.check(vendor, "status", http.get(job_url, headers=expired, timeout=10))
        checker.check(vendor, "status", http.get(f"{base}/no-such-job", headers=headers))
        emu.dataset.sailpoint_forbidden = True
        checker.check(vendor, "download", http.get(f"{job_url}/download", headers=headers))
        emu.dataset.sailpoint_forbidden = False
        for code in FAULT_STATUSES:
            emu.faults.add("sailpoint.download", faults.status(code), times=1)
            checker.check(vendor, "download", http.get(f"{job_url}/download", headers=headers))


def spec_example_results() -> t.Any:
    path = SPECS / "sailpoint/idn/apis/sp-config/schemas/spconfigimportresults.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["properties"]["results"]["example"]


def test_fullstory_answers_follow_its_openapi_spec(checker):
    fullstory_answers(checker)
    assert checker.found == []
    for kind, operations in (("users", ("status", "imports", "errors")), ("events", ())):
        for operation in operations:
            assert (f"fullstory-{kind}", operation, 200) in checker.seen
    statuses = {status for vendor, _, status in checker.seen if vendor.startswith("fullstory")}
    assert statuses >= {200, 202, 400, 401, 403, 404, *FAULT_STATUSES}


def test_druid_answers_follow_its_documentation(checker):
    druid_answers(checker)
    assert checker.found == []
    statuses = {status for vendor, _, status in checker.seen if vendor == "druid"}
    assert statuses >= {200, 400, 401, 404, 428, *FAULT_STATUSES}


def test_sailpoint_answers_follow_its_openapi_specs_in_both_layouts(checker):
    sailpoint_answers(checker)
    assert checker.found == []
    for vendor in ("sailpoint-v1", "sailpoint-v2025"):
        seen = {(operation, status) for v, operation, status in checker.seen if v == vendor}
        assert {("status", 200), ("download", 200), ("download", 400), ("download", 404)} <= seen
        assert {("status", 401), ("download", 403)} <= seen


def test_sailpoint_rate_limit_answer_follows_the_spec():
    dataset = bench_sailpoint_dataset(1)
    with VendorEmulator(dataset, sailpoint_rate_limit=SAILPOINT_RATE_LIMIT) as emulator:
        checker = Checker(emulator)
        url = f"{emulator.sailpoint_url}/sp-config/v1/import/{dataset.sailpoint_jobs[0].job_id}"
        for _ in range(SAILPOINT_RATE_LIMIT.requests + 1):
            response = checker.http.get(url, timeout=10)
        assert response.status_code == 429
        checker.check("sailpoint-v1", "status", response)
        assert checker.found == []


def test_benchmark_datasets_follow_the_specs():
    datasets = (
        bench_fullstory_dataset(30, jobs=2, page_size=7, endpoint="both"),
        bench_druid_dataset(250),
        bench_sailpoint_dataset(3),
    )
    for dataset in datasets:
        with VendorEmulator(dataset) as emulator:
            checker = Checker(emulator)
            if dataset.fullstory_jobs:
                fullstory_answers(checker, with_errors=False)
            if dataset.druid_bulks:
                druid_answers(checker, with_errors=False)
            if dataset.sailpoint_jobs:
                sailpoint_answers(checker, with_errors=False)
            assert checker.found == []
            assert any(status == 200 for _, _, status in checker.seen)


@pytest.mark.parametrize(
    ("vendor", "operation", "status", "body", "complaint"),
    [
        (
            "sailpoint-v1",
            "download",
            200,
            {"results": {"SOURCE": {"infos": [{"key": "K", "text": "T", "details": None}]}}},
            "None is not of type 'object'",
        ),
        (
            "sailpoint-v2025",
            "download",
            200,
            {"results": {"SOURCE": {"infos": [], "warnings": [], "errors": []}}},
            "'importedObjects' is a required property",
        ),
        ("sailpoint-v1", "status", 404, {"messages": [{"locale": 1}]}, "1 is not of type"),
        ("fullstory-users", "status", 200, {"imports": "3", "job": {}}, "'3' is not of type"),
        ("fullstory-events", "imports", 200, {"total_records": 3}, "3 is not of type 'string'"),
        ("sailpoint-v2025", "status", 200, {"created": "1714550400"}, "is not a 'date-time'"),
    ],
)
def test_the_specs_refuse_what_the_vendors_do_not_send(vendor, operation, status, body, complaint):
    schema = response_schema(vendor, operation, status)
    assert schema is not None
    assert any(complaint in problem for problem in problems(schema, body))


def test_druid_documentation_refuses_undocumented_shapes():
    row = {"id": "0190", "userIdentifierType": "object_id", "objectId": None}
    page = {"content": {"bulkId": "b", "results": [row]}, "result": {"status": 200, "message": ""}}
    assert any("None is not of type 'string'" in p for p in problems(druid_schema("results"), page))
    status = {"content": {"bulkId": "b", "status": "completed"}, "result": {"status": 200}}
    assert any("createdOn" in p for p in problems(druid_schema("status"), status))
