"""The vendor result readers, driven directly against real HTTP servers on 127.0.0.1.

Each reader gets a real ``VendorClient`` (built by its vendor class) and is stepped one
outcome at a time: page sequences and cursors, resumes, the ends of a list, answers that
say "not ready yet" (the same page is asked again when the reader is resumed), and
results that are gone. The project's emulator serves the usual cases; pytest-httpserver
serves exact answer sequences the emulator has no switch for.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from emulator.druid import DruidBulk
from emulator.fullstory import FullstoryJob
from emulator.sailpoint import SailpointJob
from emulator.server import VendorEmulator
from tap_batchimport.druid.readers import BulkResultsReader
from tap_batchimport.druid.vendor import SOURCE as DRUID
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.fullstory.readers import FullstoryResultsReader
from tap_batchimport.fullstory.vendor import EVENTS, USERS
from tap_batchimport.jobs import JobRef
from tap_batchimport.pages import Gone, NotReady, Page
from tap_batchimport.sailpoint.readers import ConfigImportResultsReader
from tap_batchimport.sailpoint.vendor import SOURCE as SAILPOINT
from tests.unit_helpers import (
    LOG,
    druid_vendor,
    finished,
    fullstory_vendor,
    sailpoint_vendor,
    take,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_httpserver import HTTPServer


@pytest.fixture(scope="module")
def emu() -> Iterator[VendorEmulator]:
    """One emulator for the module; every test uses job ids of its own."""
    with VendorEmulator() as emulator:
        yield emulator


def pages(outcomes: Iterator[t.Any]) -> list[Page]:
    """Every outcome of a reader, each of which must be a page."""
    out = []
    for outcome in outcomes:
        assert isinstance(outcome, Page), outcome
        out.append(outcome)
    return out


def rows(page: Page) -> list[dict[str, t.Any]]:
    return list(page.records)


# -- Fullstory -------------------------------------------------------------------------------


def fs_rows(prefix: str, count: int) -> list[dict[str, t.Any]]:
    return [{"id": f"{prefix}-{n}", "uid": f"u{n}", "properties": {"n": n}} for n in range(count)]


def fs_reader(url: str, *, kind: str = "users", result_list: str = "imports", params=None):
    vendor = fullstory_vendor(url)
    return FullstoryResultsReader(
        vendor.client, kind=kind, result_list=result_list, params=params or {}, logger=LOG
    )


def fs_job(emu: VendorEmulator, job: FullstoryJob) -> None:
    job.finished = job.finished or "2024-05-01T10:00:00Z"
    emu.dataset.fullstory_jobs.append(job)


def fs_status(job: FullstoryJob):
    source = USERS if job.kind == "users" else EVENTS
    return finished(source, job.job_id, imports=len(job.imports), errors=len(job.errors))


def fs_tokens_sent(emu: VendorEmulator, job_id: str, what: str = "imports") -> list[str | None]:
    return [
        r.query.get("page_token")
        for r in emu.requests
        if r.endpoint == f"fullstory.{what}" and r.job_id == job_id
    ]


def test_fullstory_pages_carry_token_and_row_cursors(emu):
    job = FullstoryJob("FS-PAGES", imports=fs_rows("p", 5), page_size=2)
    fs_job(emu, job)
    got = pages(fs_reader(emu.fullstory_url).read(fs_status(job), None))

    assert [len(rows(p)) for p in got] == [2, 2, 1]
    assert [p.cursor["row"] for p in got[:-1]] == [2, 4]
    assert all(isinstance(p.cursor["page_token"], str) and p.cursor["page_token"] for p in got[:-1])
    assert got[-1].cursor is None
    assert all(p.size > 0 for p in got)
    records = [r for p in got for r in rows(p)]
    assert records == [
        {**row, "job_id": "FS-PAGES", "row_number": n} for n, row in enumerate(job.imports)
    ]
    # Each page after the first is asked for with the token the previous page gave.
    assert fs_tokens_sent(emu, "FS-PAGES") == [
        None,
        got[0].cursor["page_token"],
        got[1].cursor["page_token"],
    ]


def test_fullstory_errors_list_of_an_events_job_and_extra_params(emu):
    errors = [
        {"message": "name is required", "code": "required_field", "event": {"n": n}}
        for n in range(3)
    ]
    job = FullstoryJob("FS-EVERR", kind="events", status="FAILED", errors=errors, page_size=2)
    fs_job(emu, job)
    reader = fs_reader(emu.fullstory_url, kind="events", result_list="errors", params={"x": "1"})
    got = pages(reader.read(fs_status(job), None))

    assert [r["row_number"] for p in got for r in rows(p)] == [0, 1, 2]
    assert [r["event"] for p in got for r in rows(p)] == [{"n": 0}, {"n": 1}, {"n": 2}]
    sent = [r.query for r in emu.requests if r.job_id == "FS-EVERR"]
    assert [q.get("x") for q in sent] == ["1", "1"]


def test_fullstory_resumes_from_its_cursor_with_absolute_row_numbers(emu):
    job = FullstoryJob("FS-RESUME", imports=fs_rows("r", 7), page_size=3)
    fs_job(emu, job)
    status = fs_status(job)
    first = next(fs_reader(emu.fullstory_url).read(status, None))
    assert first.cursor["row"] == 3
    emu.clear_requests()

    got = pages(fs_reader(emu.fullstory_url).read(status, first.cursor))

    assert [r["row_number"] for p in got for r in rows(p)] == [3, 4, 5, 6]
    assert [r["id"] for p in got for r in rows(p)] == [f"r-{n}" for n in range(3, 7)]
    assert fs_tokens_sent(emu, "FS-RESUME")[0] == first.cursor["page_token"]
    assert len(fs_tokens_sent(emu, "FS-RESUME")) == 2


def test_fullstory_empty_last_page_ends_the_list(emu):
    job = FullstoryJob("FS-EMPTYLAST", imports=fs_rows("e", 4), page_size=2, empty_last_page=True)
    fs_job(emu, job)
    got = pages(fs_reader(emu.fullstory_url).read(fs_status(job), None))

    assert [len(rows(p)) for p in got] == [2, 2, 0]
    assert [p.cursor is None for p in got] == [False, False, True]
    assert [r["row_number"] for p in got for r in rows(p)] == [0, 1, 2, 3]


def test_fullstory_repeated_token_ends_the_list(emu):
    job = FullstoryJob("FS-REPEAT", imports=fs_rows("t", 5), page_size=2, repeat_last_token=True)
    fs_job(emu, job)
    got = pages(fs_reader(emu.fullstory_url).read(fs_status(job), None))

    assert [r["row_number"] for p in got for r in rows(p)] == [0, 1, 2, 3, 4]
    assert got[-1].cursor is None
    # The last page echoed the token it was asked with: no fourth request.
    assert len(fs_tokens_sent(emu, "FS-REPEAT")) == 3


def test_fullstory_job_with_no_rows_is_one_empty_page(emu):
    job = FullstoryJob("FS-NONE", imports=[])
    fs_job(emu, job)
    got = pages(fs_reader(emu.fullstory_url).read(fs_status(job), None))
    assert [(rows(p), p.cursor) for p in got] == [([], None)]


def test_fullstory_expired_resume_token_rereads_and_skips_rows_already_emitted(emu):
    job = FullstoryJob("FS-EXPIRED", imports=fs_rows("x", 7), page_size=3)
    fs_job(emu, job)
    status = fs_status(job)
    first = next(fs_reader(emu.fullstory_url).read(status, None))
    emu.expire_page_tokens("FS-EXPIRED")
    emu.clear_requests()

    got = pages(fs_reader(emu.fullstory_url).read(status, first.cursor))

    records = [r for p in got for r in rows(p)]
    assert [r["row_number"] for r in records] == [3, 4, 5, 6]
    assert [r["id"] for r in records] == [f"x-{n}" for n in range(3, 7)]
    # The skipped rows of the re-read first page are not emitted; later cursors are absolute.
    assert rows(got[0]) == []
    assert got[0].cursor["row"] == 3
    statuses = [r.status for r in emu.requests if r.job_id == "FS-EXPIRED"]
    assert statuses == [400, 200, 200, 200]
    assert fs_tokens_sent(emu, "FS-EXPIRED")[:2] == [first.cursor["page_token"], None]


@pytest.mark.parametrize("stale", [400, 404, 410])
def test_fullstory_stale_resume_token_statuses_restart_the_list(httpserver: HTTPServer, stale):
    path = "/v2/users/batch/J/imports"
    httpserver.expect_oneshot_request(path, query_string={"page_token": "OLD"}).respond_with_json(
        {"message": "page_token is invalid", "code": "invalid_argument"}, status=stale
    )
    httpserver.expect_oneshot_request(path, query_string={}).respond_with_json(
        {"results": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "next_page_token": "T2"}
    )
    httpserver.expect_oneshot_request(path, query_string={"page_token": "T2"}).respond_with_json(
        {"results": [{"id": "d"}, {"id": "e"}]}
    )
    reader = fs_reader(httpserver.url_for(""))
    got = pages(reader.read(finished(USERS, "J", imports=5), {"page_token": "OLD", "row": 2}))

    records = [r for p in got for r in rows(p)]
    assert [(r["id"], r["row_number"]) for r in records] == [("c", 2), ("d", 3), ("e", 4)]
    assert [p.cursor for p in got] == [{"page_token": "T2", "row": 3}, None]
    assert [req.args.get("page_token") for req, _ in httpserver.log] == ["OLD", None, "T2"]


def test_fullstory_a_token_of_this_run_refused_is_an_error_not_a_silent_restart(
    httpserver: HTTPServer,
):
    path = "/v2/users/batch/J/imports"
    httpserver.expect_oneshot_request(path, query_string={}).respond_with_json(
        {"results": [{"id": "a"}], "next_page_token": "T2"}
    )
    httpserver.expect_oneshot_request(path, query_string={"page_token": "T2"}).respond_with_json(
        {"message": "page_token is invalid", "code": "invalid_argument"}, status=400
    )
    outcomes = fs_reader(httpserver.url_for("")).read(finished(USERS, "J", imports=3), None)
    assert rows(next(outcomes)) == [{"id": "a", "job_id": "J", "row_number": 0}]
    with pytest.raises(VendorAPIError) as raised:
        next(outcomes)
    assert raised.value.status == 400


def test_fullstory_202_is_not_ready_and_resuming_asks_for_the_same_page(emu):
    job = FullstoryJob("FS-202", imports=fs_rows("n", 3), page_size=2, results_processing_polls=2)
    fs_job(emu, job)
    outcomes = fs_reader(emu.fullstory_url).read(fs_status(job), None)

    first, second = take(outcomes, 2)
    assert isinstance(first, NotReady)
    assert "202" in first.reason
    assert isinstance(second, NotReady)
    got = pages(outcomes)
    assert [r["row_number"] for p in got for r in rows(p)] == [0, 1, 2]
    assert [r.status for r in emu.requests if r.job_id == "FS-202"] == [202, 202, 200, 200]
    assert fs_tokens_sent(emu, "FS-202")[:3] == [None, None, None]


def test_fullstory_202_mid_list_asks_again_with_the_same_token(httpserver: HTTPServer):
    path = "/v2/events/batch/J/imports"
    httpserver.expect_oneshot_request(path, query_string={}).respond_with_json(
        {"results": [{"id": "a"}, {"id": "b"}], "next_page_token": "T2"}
    )
    httpserver.expect_oneshot_request(path, query_string={"page_token": "T2"}).respond_with_data(
        "{}", status=202, content_type="application/json"
    )
    httpserver.expect_oneshot_request(path, query_string={"page_token": "T2"}).respond_with_json(
        {"results": [{"id": "c"}]}
    )
    outcomes = fs_reader(httpserver.url_for(""), kind="events").read(
        finished(EVENTS, "J", imports=3), None
    )
    page, not_ready = take(outcomes, 2)
    assert page.cursor == {"page_token": "T2", "row": 2}
    assert isinstance(not_ready, NotReady)
    last = pages(outcomes)
    assert [(r["id"], r["row_number"]) for p in last for r in rows(p)] == [("c", 2)]
    assert [req.args.get("page_token") for req, _ in httpserver.log] == [None, "T2", "T2"]


def test_fullstory_answer_without_results_is_an_empty_list_only_when_no_rows_are_due(
    httpserver: HTTPServer,
):
    # Fullstory leaves out empty lists: `{}` for a job whose status says 0 rows is fine...
    httpserver.expect_oneshot_request("/v2/users/batch/EMPTY/errors").respond_with_json({})
    reader = fs_reader(httpserver.url_for(""), result_list="errors")
    got = pages(reader.read(finished(USERS, "EMPTY", imports=4, errors=0), None))
    assert [(rows(p), p.cursor) for p in got] == [([], None)]
    # ...but `{}` where the status promises rows is malformed (retried, then an error).
    httpserver.expect_oneshot_request("/v2/users/batch/FULL/errors").respond_with_json({})
    with pytest.raises(VendorAPIError, match="results"):
        next(reader.read(finished(USERS, "FULL", imports=0, errors=4), None))


@pytest.mark.parametrize(
    ("cursor", "valid"),
    [
        ({"page_token": "abc=", "row": 0}, True),
        ({"page_token": "abc=", "row": 250}, True),
        ({"page_token": "abc=", "row": -1}, False),
        ({"page_token": "abc=", "row": "3"}, False),
        ({"page_token": "abc=", "row": 3.0}, False),
        ({"page_token": "abc=", "row": True}, False),
        ({"page_token": "abc="}, False),
        ({"page_token": None, "row": 3}, False),
        ({"page_token": 12, "row": 3}, False),
        ({"row": 3}, False),
        ({"last": "abc"}, False),
        ({}, False),
        # The reader sends an empty token as "from the start" while numbering rows from
        # `row`: rows would get the row_numbers of other rows. The tap never writes one.
        ({"page_token": "", "row": 3}, False),
    ],
)
def test_fullstory_valid_cursor(cursor, valid):
    assert FullstoryResultsReader.valid_cursor(cursor) is valid


# -- DruID -----------------------------------------------------------------------------------


def druid_rows(bulk: int, count: int) -> list[dict[str, t.Any]]:
    return [
        {
            "id": f"0190c3c4-{bulk:04x}-7000-8000-{n:012x}",
            "userIdentifierType": "object_id",
            "objectId": f"obj-{n}",
            "pulseId": None,
            "error": f"user {n} not found" if n % 3 == 0 else None,
        }
        for n in range(count)
    ]


def druid_reader(api_url: str, auth_url: str, *, page_size: int = 5, failed_only: bool = False):
    vendor = druid_vendor(api_url, auth_url)
    return BulkResultsReader(
        vendor.client, page_size=page_size, failed_only=failed_only, logger=LOG
    )


def emu_druid_reader(emu: VendorEmulator, **kw: t.Any) -> BulkResultsReader:
    return druid_reader(emu.druid_api_url, emu.druid_auth_url, **kw)


def druid_queries(emu: VendorEmulator, bulk_id: str) -> list[dict[str, str]]:
    return [r.query for r in emu.requests if r.endpoint == "druid.results" and r.job_id == bulk_id]


def test_druid_pages_carry_last_id_cursors(emu):
    data = druid_rows(1, 12)
    emu.dataset.druid_bulks.append(DruidBulk("B-PAGES", results=data))
    got = pages(emu_druid_reader(emu).read(finished(DRUID, "B-PAGES"), None))

    assert [len(rows(p)) for p in got] == [5, 5, 2]
    assert [p.cursor for p in got] == [{"last": data[4]["id"]}, {"last": data[9]["id"]}, None]
    records = [r for p in got for r in rows(p)]
    assert records == [{"bulk_id": "B-PAGES", **row} for row in data]
    assert druid_queries(emu, "B-PAGES") == [
        {"limit": "5", "failedOnly": "false"},
        {"limit": "5", "failedOnly": "false", "last": data[4]["id"]},
        {"limit": "5", "failedOnly": "false", "last": data[9]["id"]},
    ]


def test_druid_resumes_from_its_cursor(emu):
    data = druid_rows(2, 12)
    emu.dataset.druid_bulks.append(DruidBulk("B-RESUME", results=data))
    got = pages(emu_druid_reader(emu).read(finished(DRUID, "B-RESUME"), {"last": data[4]["id"]}))

    assert [r["id"] for p in got for r in rows(p)] == [row["id"] for row in data[5:]]
    assert druid_queries(emu, "B-RESUME")[0]["last"] == data[4]["id"]


def test_druid_failed_only(emu):
    data = druid_rows(3, 9)
    emu.dataset.druid_bulks.append(DruidBulk("B-FAILED", results=data))
    got = pages(
        emu_druid_reader(emu, page_size=2, failed_only=True).read(finished(DRUID, "B-FAILED"), None)
    )

    assert [r["id"] for p in got for r in rows(p)] == [row["id"] for row in data if row["error"]]
    assert {q["failedOnly"] for q in druid_queries(emu, "B-FAILED")} == {"true"}


def test_druid_428_is_not_ready_and_resuming_asks_for_the_same_page(emu):
    data = druid_rows(4, 8)
    bulk = DruidBulk("B-428", results=data)
    emu.dataset.druid_bulks.append(bulk)
    outcomes = emu_druid_reader(emu).read(finished(DRUID, "B-428"), None)
    first = next(outcomes)
    assert first.cursor == {"last": data[4]["id"]}

    bulk.status = "processing"  # the emulator answers 428 until the bulk is finished
    not_ready = next(outcomes)
    assert isinstance(not_ready, NotReady)
    assert "428" in not_ready.reason
    bulk.status = "completed"
    rest = pages(outcomes)

    assert [r["id"] for p in rest for r in rows(p)] == [row["id"] for row in data[5:]]
    statuses = [r.status for r in emu.requests if r.job_id == "B-428"]
    assert statuses == [200, 428, 200]
    assert [q.get("last") for q in druid_queries(emu, "B-428")] == [
        None,
        data[4]["id"],
        data[4]["id"],
    ]


def test_druid_results_404_is_an_error_of_the_job_not_gone(emu):
    # Behind a status that says finished, a 404 may be transient: the job fails (and is
    # tried again by the next run); only the status endpoint's 404 means NOT_FOUND.
    outcomes = emu_druid_reader(emu).read(finished(DRUID, "B-NEVER-THERE"), None)
    with pytest.raises(VendorAPIError) as raised:
        next(outcomes)
    assert raised.value.status == 404


def druid_server(httpserver: HTTPServer) -> BulkResultsReader:
    httpserver.expect_request("/auth/oauth2/token", method="POST").respond_with_json(
        {"access_token": "tok", "token_type": "bearer", "expires_in": 3600}
    )
    return druid_reader(httpserver.url_for("/api"), httpserver.url_for("/auth"), page_size=2)


RESULTS_PATH = "/api/activityid/v1/user/bulk/B/results"


def druid_page(items: list[dict[str, t.Any]], last_id: str | None = None) -> dict[str, t.Any]:
    content: dict[str, t.Any] = {"bulkId": "B", "results": items}
    if last_id is not None:
        content["lastId"] = last_id
    return {"content": content, "result": {"status": 200, "message": "OK"}}


def lasts_sent(httpserver: HTTPServer) -> list[str | None]:
    return [req.args.get("last") for req, _ in httpserver.log if req.path == RESULTS_PATH]


def test_druid_repeated_last_id_fails_the_bulk_after_the_pages_before_it(httpserver: HTTPServer):
    # A lastId that does not advance is a short read: never the list's end.
    reader = druid_server(httpserver)
    httpserver.expect_oneshot_request(
        RESULTS_PATH, query_string={"limit": "2", "failedOnly": "false"}
    ).respond_with_json(druid_page([{"id": "a1"}, {"id": "a2"}], "a2"))
    query = {"limit": "2", "failedOnly": "false", "last": "a2"}
    httpserver.expect_oneshot_request(RESULTS_PATH, query_string=query).respond_with_json(
        druid_page([{"id": "a3"}, {"id": "a4"}], "a2")
    )
    outcomes = reader.read(finished(DRUID, "B"), None)
    first = next(outcomes)
    assert isinstance(first, Page)
    assert first.cursor == {"last": "a2"}
    with pytest.raises(VendorAPIError, match=r'lastId "a2" does not advance'):
        next(outcomes)


def test_druid_resumed_last_id_echoed_back_fails_the_bulk(httpserver: HTTPServer):
    reader = druid_server(httpserver)
    query = {"limit": "2", "failedOnly": "false", "last": "a8"}
    httpserver.expect_oneshot_request(RESULTS_PATH, query_string=query).respond_with_json(
        druid_page([{"id": "a9"}], "a8")
    )
    with pytest.raises(VendorAPIError, match="does not advance"):
        pages(reader.read(finished(DRUID, "B"), {"last": "a8"}))


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ({"bulkId": "B", "results": {"id": "a1"}, "lastId": "a1"}, "content.results is"),
        ({"bulkId": "B", "results": [{"id": "a1"}], "lastId": 7}, "content.lastId is 7"),
        ([{"id": "a1"}], "content is"),
    ],
)
def test_druid_page_that_cannot_continue_its_list_fails_the_bulk(
    httpserver: HTTPServer, content: t.Any, said: str
):
    reader = druid_server(httpserver)
    httpserver.expect_oneshot_request(RESULTS_PATH).respond_with_json(
        {"content": content, "result": {"status": 200, "message": "OK"}}
    )
    with pytest.raises(VendorAPIError, match=said):
        pages(reader.read(finished(DRUID, "B"), None))


@pytest.mark.parametrize("end", [{}, {"lastId": ""}, {"lastId": None}])
def test_druid_empty_last_page_ends_the_list(httpserver: HTTPServer, end):
    reader = druid_server(httpserver)
    httpserver.expect_oneshot_request(
        RESULTS_PATH, query_string={"limit": "2", "failedOnly": "false"}
    ).respond_with_json(druid_page([{"id": "a1"}, {"id": "a2"}], "a2"))
    last_page = druid_page([])
    last_page["content"].update(end)
    query = {"limit": "2", "failedOnly": "false", "last": "a2"}
    httpserver.expect_oneshot_request(RESULTS_PATH, query_string=query).respond_with_json(last_page)
    got = pages(reader.read(finished(DRUID, "B"), None))
    assert [(len(rows(p)), p.cursor) for p in got] == [(2, {"last": "a2"}), (0, None)]


def test_druid_row_cannot_overwrite_its_bulk_id(httpserver: HTTPServer):
    reader = druid_server(httpserver)
    httpserver.expect_oneshot_request(RESULTS_PATH).respond_with_json(
        druid_page([{"bulk_id": "OTHER", "id": "a1"}, "not an object"])
    )
    (page,) = pages(reader.read(finished(DRUID, "B"), None))
    # A row that is not an object is kept (the stream fails the bulk: it has no id).
    assert rows(page) == [{"bulk_id": "B", "id": "a1"}, {"bulk_id": "B", "value": "not an object"}]


def test_druid_404_mid_list_fails_after_the_pages_before_it(httpserver: HTTPServer):
    reader = druid_server(httpserver)
    httpserver.expect_oneshot_request(
        RESULTS_PATH, query_string={"limit": "2", "failedOnly": "false"}
    ).respond_with_json(druid_page([{"id": "a1"}, {"id": "a2"}], "a2"))
    httpserver.expect_oneshot_request(RESULTS_PATH).respond_with_json(
        {"result": {"status": 404, "message": "Bulk not found"}}, status=404
    )
    outcomes = reader.read(finished(DRUID, "B"), None)
    assert isinstance(next(outcomes), Page)
    with pytest.raises(VendorAPIError):
        next(outcomes)


@pytest.mark.parametrize(
    ("cursor", "valid"),
    [
        ({"last": "0190c3c4-0001-7000-8000-000000000004"}, True),
        ({"last": ""}, False),
        ({"last": None}, False),
        ({"last": 5}, False),
        ({"page_token": "abc", "row": 1}, False),
        ({}, False),
    ],
)
def test_druid_valid_cursor(cursor, valid):
    assert BulkResultsReader.valid_cursor(cursor) is valid


# -- SailPoint -------------------------------------------------------------------------------

DOCUMENT = {
    "exportJobId": "exp-1",
    "results": {
        "SOURCE": {
            "infos": [{"key": "IMPORT_PREVIEW", "text": "ok", "details": {"n": 1}}],
            "warnings": [],
            "errors": [{"key": "IMPORT_FAILED", "text": "boom", "detail": None}],
            "importedObjects": [{"type": "SOURCE", "id": "s1", "name": "Source 1"}],
        },
        "ROLE": {"importedObjects": [{"type": "ROLE", "id": "r1", "name": "Role 1"}]},
    },
}


def sp_reader(emu: VendorEmulator) -> ConfigImportResultsReader:
    vendor = sailpoint_vendor(emu.sailpoint_url)
    return ConfigImportResultsReader(vendor.client, vendor.download_endpoint)


def sp_status(job_id: str, expiration: str = "2099-01-01T00:00:00Z"):
    return finished(SAILPOINT, job_id, extra={"expiration": expiration})


def test_sailpoint_document_is_one_page_of_flattened_records(emu):
    emu.dataset.sailpoint_jobs.append(
        SailpointJob("SP-DOC", completed="2024-05-01T09:02:00.000Z", document=DOCUMENT)
    )
    got = pages(sp_reader(emu).read(sp_status("SP-DOC"), None))

    assert len(got) == 1
    assert got[0].cursor is None
    assert got[0].size == len(json.dumps(DOCUMENT, separators=(",", ":")).encode())
    records = rows(got[0])
    keys = [(r["object_type"], r["category"], r["position"]) for r in records]
    assert keys == [
        ("SOURCE", "info", 0),
        ("SOURCE", "error", 0),
        ("SOURCE", "imported_object", 0),
        ("ROLE", "imported_object", 0),
    ]
    assert {r["job_id"] for r in records} == {"SP-DOC"}
    assert {r["export_job_id"] for r in records} == {"exp-1"}
    assert records[3]["imported_object_name"] == "Role 1"
    assert emu.count("sailpoint.download", job_id="SP-DOC") == 1


def test_sailpoint_ignores_any_cursor_and_reads_the_whole_document(emu):
    emu.dataset.sailpoint_jobs.append(
        SailpointJob("SP-CURSOR", completed="2024-05-01T09:02:00.000Z", document=DOCUMENT)
    )
    reader = sp_reader(emu)
    fresh = [rows(p) for p in pages(reader.read(sp_status("SP-CURSOR"), None))]
    resumed = [
        rows(p) for p in pages(reader.read(sp_status("SP-CURSOR"), {"page_token": "x", "row": 2}))
    ]
    assert resumed == fresh
    assert len(fresh[0]) == 4


def test_sailpoint_404_is_gone(emu):
    emu.dataset.sailpoint_jobs.append(
        SailpointJob("SP-GONE", completed="2024-05-01T09:02:00.000Z", download_gone=True)
    )
    outcomes = sp_reader(emu).read(sp_status("SP-GONE", "2024-05-08T09:00:00.000Z"), None)
    gone = next(outcomes)
    assert isinstance(gone, Gone)
    assert "404" in gone.reason
    assert "2024-05-08T09:00:00.000Z" in gone.reason
    assert gone.size > 0
    assert list(outcomes) == []


@pytest.mark.parametrize("results", [["SOURCE"], "SOURCE", 7])
def test_sailpoint_malformed_document_is_a_vendor_error_before_any_record(emu, results):
    job_id = f"SP-BAD-{type(results).__name__}"
    emu.dataset.sailpoint_jobs.append(
        SailpointJob(job_id, completed="2024-05-01T09:02:00.000Z", document={"results": results})
    )
    outcomes = sp_reader(emu).read(sp_status(job_id), None)
    with pytest.raises(VendorAPIError) as raised:
        next(outcomes)
    assert raised.value.vendor == "SailPoint"
    assert raised.value.status == 200
    assert "download" in raised.value.endpoint
    assert f"'results' is {type(results).__name__}" in raised.value.detail


@pytest.mark.parametrize("cursor", [{}, {"page_token": "abc", "row": 1}, {"last": "x"}])
def test_sailpoint_valid_cursor_refuses_every_cursor(cursor):
    assert ConfigImportResultsReader.valid_cursor(cursor) is False


def test_readers_use_the_job_id_of_the_status_they_are_given(emu):
    # Job ids are URL path segments: one with reserved characters reaches its own job.
    job = FullstoryJob("FS/odd id?", imports=fs_rows("o", 1))
    fs_job(emu, job)
    status = finished(USERS, "FS/odd id?", imports=1)
    assert status.ref == JobRef(USERS, "FS/odd id?")
    (page,) = pages(fs_reader(emu.fullstory_url).read(status, None))
    assert [r["job_id"] for r in rows(page)] == ["FS/odd id?"]
