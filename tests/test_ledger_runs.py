"""The job ledger across scheduled runs, through the real CLI against the emulator.

Each night's run is given only that night's new job ids (environment variables, or lines
appended to ``job_ids_file``), DruID bulks come from discovery, and every run gets the
previous run's final state — as a pipeline scheduled after nightly imports does.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest

from emulator.druid import DruidBulk
from emulator.fullstory import FullstoryJob
from emulator.sailpoint import SailpointJob
from tests.conftest import duplicate_keys, legacy_state

if t.TYPE_CHECKING:
    from pathlib import Path

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

RECENT = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)).isoformat()
KEYS = {
    "imported_users": ("job_id", "row_number"),
    "user_import_errors": ("job_id", "row_number"),
    "imported_events": ("job_id", "row_number"),
    "event_import_errors": ("job_id", "row_number"),
    "bulk_results": ("bulk_id", "id"),
    "config_import_results": ("job_id", "object_type", "category", "position"),
}


def fs_job(job_id: str, *, kind: str = "users", busy: bool = False, rows: int = 7) -> FullstoryJob:
    return FullstoryJob(
        job_id,
        kind=kind,
        status="PROCESSING" if busy else "COMPLETED",
        created=RECENT,
        finished=None if busy else RECENT,
        imports=[{"id": f"{job_id}-{i}", "uid": f"u{i}"} for i in range(rows)],
        errors=[{"message": "bad email", "code": "invalid", "user": {"uid": "x"}}],
        page_size=3,
    )


def finish(job: FullstoryJob | SailpointJob) -> None:
    if isinstance(job, FullstoryJob):
        job.status, job.finished = "COMPLETED", RECENT
    else:
        job.status, job.completed = "COMPLETE", RECENT


def sp_job(job_id: str, *, busy: bool = False) -> SailpointJob:
    far = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)).isoformat()
    return SailpointJob(
        job_id,
        status="IN_PROGRESS" if busy else "COMPLETE",
        created=RECENT,
        modified=RECENT,
        expiration=far,
        completed=None if busy else RECENT,
        document={
            "results": {
                "SOURCE": {
                    "infos": [{"key": "k", "text": f"{job_id} ok", "details": None}],
                    "warnings": [],
                    "errors": [],
                    "importedObjects": [{"type": "SOURCE", "id": f"{job_id}-s", "name": "n"}],
                }
            }
        },
    )


def bulk(bulk_id: str, *, busy: bool = False) -> DruidBulk:
    rows = [
        {
            "id": f"0190{bulk_id}-{i:04d}",
            "userIdentifierType": "object_id",
            "objectId": f"o{i}",
            "pulseId": None,
            "error": None if i % 3 else "duplicate",
        }
        for i in range(5)
    ]
    return DruidBulk(
        bulk_id, status="processing" if busy else "completed", created_on=RECENT, results=rows
    )


def base_config(emu: VendorEmulator, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "fullstory_api_key": emu.dataset.fullstory_api_key,
        "fullstory_api_url": emu.fullstory_url,
        "druid_api_url": emu.druid_api_url,
        "druid_auth_url": emu.druid_auth_url,
        "druid_client_id": emu.dataset.druid_client_id,
        "druid_client_secret": emu.dataset.druid_client_secret,
        "druid_page_size": 2,
        "sailpoint_api_url": emu.sailpoint_url,
        "sailpoint_client_id": emu.dataset.sailpoint_client_id,
        "sailpoint_client_secret": emu.dataset.sailpoint_client_secret,
        "job_max_pending_days": 7,
        **extra,
    }


def ids_env(users: list[str] = (), sailpoint: list[str] = ()) -> dict[str, str]:
    return {
        "TAP_BATCHIMPORT_FULLSTORY_USER_IMPORT_JOB_IDS": json.dumps(list(users)),
        "TAP_BATCHIMPORT_SAILPOINT_IMPORT_JOB_IDS": json.dumps(list(sailpoint)),
    }


def expected_rows(emu: VendorEmulator, stream: str, job_ids: set[str]) -> set[tuple]:
    if stream in {"imported_users", "imported_events"}:
        return {
            (j.job_id, n)
            for j in emu.dataset.fullstory_jobs
            if j.job_id in job_ids and f"imported_{j.kind}" == stream
            for n in range(len(j.imports))
        }
    if stream in {"user_import_errors", "event_import_errors"}:
        kind = stream.split("_", maxsplit=1)[0] + "s"
        return {
            (j.job_id, n)
            for j in emu.dataset.fullstory_jobs
            if j.job_id in job_ids and j.kind == kind
            for n in range(len(j.errors))
        }
    if stream == "bulk_results":
        return {(b.bulk_id, r["id"]) for b in emu.dataset.druid_bulks for r in b.results}
    return {(j, "SOURCE", c, 0) for j in job_ids for c in ("info", "imported_object")}


class Nights:
    """Runs the tap night after night, each with the previous night's final state."""

    def __init__(self, emu: VendorEmulator, tap: t.Callable[..., TapRun], config: dict) -> None:
        self.emu, self.tap, self.config = emu, tap, config
        self.state: dict[str, t.Any] | None = None
        self.runs: list[TapRun] = []
        self.requests: list[list[t.Any]] = []

    def run(self, env: dict[str, str] | None = None) -> TapRun:
        self.emu.clear_requests()
        run = self.tap(self.config, self.state, extra_args=["--config", "ENV"], env=env or {})
        assert run.returncode == 0, run.stderr
        self.state = run.final_state
        self.runs.append(run)
        self.requests.append(list(self.emu.requests))
        return run

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        return [r for run in self.runs for r in run.records(stream)]

    def rows(self, stream: str) -> set[tuple]:
        records = self.records(stream)
        assert duplicate_keys(records, KEYS[stream]) == [], stream
        return {tuple(r[k] for k in KEYS[stream]) for r in records}


def test_nightly_runs_given_only_new_ids_lose_nothing_and_ask_nothing_twice(  # noqa: PLR0915
    emulator: VendorEmulator, tap: t.Callable[..., TapRun], tmp_path: Path
) -> None:
    data = emulator.dataset
    u1, u2, u3, u4 = (
        fs_job("U1"),
        fs_job("U2", busy=True),
        fs_job("U3", busy=True),
        fs_job("U4", busy=True),
    )
    s1, s2 = sp_job("S1"), sp_job("S2", busy=True)
    b1, b2, b3 = bulk("B1"), bulk("B2", busy=True), bulk("B3")
    data.fullstory_jobs += [u1, u2, u3, u4]
    data.sailpoint_jobs += [s1, s2]
    data.druid_bulks += [b1, b2, b3]
    ids_file = tmp_path / "job_ids.txt"
    nights = Nights(emulator, tap, base_config(emulator, job_ids_file=str(ids_file)))

    # Night 1: ids through environment variables; the file does not exist yet.
    first = nights.run(ids_env(["U1", "U2", "U3", "U4"], ["S1", "S2"]))
    assert "job_ids_file" in first.stderr and "does not exist" in first.stderr
    pending = {r["job_id"] for r in first.records("job_details") if not r["is_finished"]}
    assert pending == {"U2", "U3", "U4", "S2", "B2"}

    # Night 2: U2, S2, B2 finished; new jobs only through the file (appended to).
    finish(u2), finish(s2)
    b2.status = "completed"
    u5, e1 = fs_job("U5"), fs_job("E1", kind="events")
    data.fullstory_jobs += [u5, e1]
    ids_file.write_text("# pushed by the import step\nfullstory_users,U5\n\nfullstory_events,E1\n")
    nights.run(ids_env())

    # Night 3: U3 finished, B3 left the list, U6 new; U2 (settled last night) named again.
    finish(u3)
    data.druid_bulks.remove(b3)
    u6 = fs_job("U6")
    data.fullstory_jobs.append(u6)
    nights.run(ids_env(["U6", "U2"]))

    # Night 4: U4 was deleted (404); U7 appended to the file.
    data.fullstory_jobs.remove(u4)
    u7 = fs_job("U7")
    data.fullstory_jobs.append(u7)
    with ids_file.open("a") as f:
        f.write("fullstory_users,U7\n")
    last = nights.run(ids_env())
    assert "U7" in {r["job_id"] for r in last.records("job_details")}, last.stderr[-3000:]
    assert {r["job_id"] for r in last.records("imported_users")} == {"U7"}, (
        [m for m in last.messages if m["type"] == "STATE"][:2],
        [x for x in last.stderr.splitlines() if "U7" in x or "imported_users" in x],
    )

    # The union of all nights: every finished job's rows exactly once.
    users = {"U1", "U2", "U3", "U5", "U6", "U7"}
    assert nights.rows("imported_users") == expected_rows(emulator, "imported_users", users)
    assert nights.rows("user_import_errors") == expected_rows(emulator, "user_import_errors", users)
    assert nights.rows("imported_events") == expected_rows(emulator, "imported_events", {"E1"})
    assert nights.rows("bulk_results") == {
        (b.bulk_id, r["id"]) for b in (b1, b2, b3) for r in b.results
    }
    assert nights.rows("config_import_results") == expected_rows(
        emulator, "config_import_results", {"S1", "S2"}
    )

    # job_details ends with each job's final status.
    last = {(r["source"], r["job_id"]): r for r in nights.records("job_details")}
    assert last["fullstory_users", "U4"]["status"] == "NOT_FOUND"
    assert all(r["is_finished"] for r in last.values())
    assert not any(r["given_up"] for r in last.values())
    assert {k[1] for k in last} == {*users, "U4", "E1", "S1", "S2", "B1", "B2", "B3"}

    # No request of any kind for a job an earlier night settled.
    settled: set[str] = set()
    for night, (run, requests) in enumerate(
        zip(nights.runs, nights.requests, strict=True), start=1
    ):
        asked = {r.job_id for r in requests if r.job_id}
        assert not asked & settled, f"night {night} asked again for {asked & settled}"
        settled |= {r["job_id"] for r in run.records("job_details") if r["is_finished"]}

    # The state holds only what is still asked about: jobs settled tonight (U4, named by
    # nothing; U7, read from the file) until the next run forgets them, no forgotten bulk.
    # The file's jobs settled earlier (U5, E1) are remembered by how far it was read.
    ledger = nights.state["bookmarks"]["job_details"]["jobs"]
    assert set(ledger["fullstory_users"]) == {"U4", "U7"}
    assert "E1" not in ledger.get("fullstory_events", {})
    assert nights.state["bookmarks"]["job_details"]["file"]["count"] == 3
    assert ledger["fullstory_users"]["U4"]["final"] == "NOT_FOUND"
    assert set(ledger.get("druid", {})) == {"B1", "B2"}
    assert "sailpoint" not in ledger or not ledger["sailpoint"]
    assert all(len(json.dumps(e)) < 200 for entries in ledger.values() for e in entries.values())


def test_a_job_pending_too_long_is_given_up_once(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun]
) -> None:
    old = fs_job("OLD", busy=True)
    old.created = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=9)).isoformat()
    young = fs_job("YOUNG", busy=True)
    emulator.dataset.fullstory_jobs += [old, young]
    config = base_config(emulator, fullstory_user_import_job_ids=["OLD", "YOUNG"])
    first = tap(config)
    assert first.returncode == 0, first.stderr
    details = {r["job_id"]: r for r in first.records("job_details")}
    assert details["OLD"]["given_up"] is True
    assert details["OLD"]["status"] == "PROCESSING"
    assert details["YOUNG"]["given_up"] is False
    (warning,) = [x for x in first.stderr.splitlines() if "given up" in x and "WARNING" in x]
    assert "OLD" in warning and "WARNING" in warning
    emulator.clear_requests()
    second = tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    assert [r["job_id"] for r in second.records("job_details")] == ["YOUNG"]
    assert {r.job_id for r in emulator.requests if r.job_id} == {"YOUNG"}


def test_first_sight_is_the_age_where_the_vendor_gives_no_created_time(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun]
) -> None:
    job = fs_job("NOCREATED", busy=True)
    job.created = None  # type: ignore[assignment]
    emulator.dataset.fullstory_jobs.append(job)
    config = base_config(emulator, fullstory_user_import_job_ids=["NOCREATED"])
    first = tap(config)
    assert first.returncode == 0, first.stderr
    entry = first.final_state["bookmarks"]["job_details"]["jobs"]["fullstory_users"]["NOCREATED"]
    seen = dt.datetime.fromisoformat(entry["seen"])
    # A first sight 8 days ago (as an earlier run would have written it) is past 7 days.
    entry["seen"] = (seen - dt.timedelta(days=8)).isoformat()
    second = tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    (record,) = second.records("job_details")
    assert record["given_up"] is True


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("fullstory_users U1\n", "line 1: expected 'source,job_id'"),
        ("# ok\n\nsalespoint,abc\n", "line 3: unknown source 'salespoint'"),
        ("druid,\n", "line 1 is empty"),
        ("sailpoint,a b\n", "line 1 contains whitespace"),
    ],
)
def test_a_malformed_job_ids_file_is_a_config_error_before_any_request(
    emulator: VendorEmulator,
    tap: t.Callable[..., TapRun],
    tmp_path: Path,
    content: str,
    needle: str,
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(content)
    run = tap(base_config(emulator, job_ids_file=str(ids_file)))
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if "job_ids_file" in line]
    assert errors and str(ids_file) in errors[0] and needle in errors[0], run.stderr
    assert "Traceback" not in run.stderr
    assert emulator.requests == []


def test_a_state_of_the_previous_release_is_migrated(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun]
) -> None:
    done, half, busy = fs_job("DONE"), fs_job("HALF"), fs_job("BUSY", busy=True)
    emulator.dataset.fullstory_jobs += [done, half, busy]
    old = legacy_state(
        {
            "imported_users": {
                "done": ["DONE"],
                "progress": {"HALF": {"page_token": "", "row": 0}},
            },
            "user_import_errors": {"done": ["DONE", "HALF"], "progress": {}},
        }
    )
    # HALF's cursor: the token of its second page, as the previous release saved it.
    emulator.clear_requests()
    probe = tap(base_config(emulator, fullstory_user_import_job_ids=["HALF"]))
    token = next(
        r.query["page_token"]
        for r in emulator.requests
        if r.endpoint == "fullstory.imports" and r.query.get("page_token")
    )
    assert probe.returncode == 0
    old["bookmarks"]["imported_users"]["progress"]["HALF"] = {"page_token": token, "row": 3}
    emulator.clear_requests()
    config = base_config(emulator, fullstory_user_import_job_ids=["DONE", "HALF", "BUSY"])
    run = tap(config, old)
    assert run.returncode == 0, run.stderr
    rows = {(r["job_id"], r["row_number"]) for r in run.records("imported_users")}
    assert rows == {("HALF", n) for n in range(3, 7)}
    assert run.records("user_import_errors") == []
    results = [
        r for r in emulator.requests if r.endpoint in {"fullstory.imports", "fullstory.errors"}
    ]
    assert {r.job_id for r in results} == {"HALF"}
    state = run.final_state["bookmarks"]
    assert "done" not in state.get("imported_users", {})
    assert set(state["job_details"]["jobs"]["fullstory_users"]) == {"DONE", "HALF", "BUSY"}


def test_a_stream_selected_later_gets_the_results_of_remembered_jobs(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun], tmp_path: Path
) -> None:
    emulator.dataset.fullstory_jobs += [fs_job("A"), fs_job("B")]
    config = base_config(emulator, fullstory_user_import_job_ids=["A", "B"])
    catalog = tap(config, extra_args=["--discover"]).stdout
    only_imports = tmp_path / "imports.json"
    both = tmp_path / "both.json"
    for path, streams in ((only_imports, {"imported_users", "job_details"}), (both, None)):
        doc = json.loads(catalog)
        for entry in doc["streams"]:
            selected = streams is None or entry["tap_stream_id"] in streams
            for meta in entry["metadata"]:
                if meta["breadcrumb"] == []:
                    meta["metadata"]["selected"] = selected
        path.write_text(json.dumps(doc))
    first = tap(config, extra_args=["--catalog", str(only_imports)])
    assert first.returncode == 0, first.stderr
    assert first.records("user_import_errors") == []
    assert len(first.records("imported_users")) == 14
    emulator.clear_requests()
    second = tap(config, first.final_state, extra_args=["--catalog", str(both)])
    assert second.returncode == 0, second.stderr
    assert second.records("imported_users") == []
    assert {(r["job_id"], r["row_number"]) for r in second.records("user_import_errors")} == {
        ("A", 0),
        ("B", 0),
    }
    assert {r.endpoint for r in emulator.requests} >= {"fullstory.errors"}
    assert "fullstory.imports" not in {r.endpoint for r in emulator.requests}
    emulator.clear_requests()
    third = tap(config, second.final_state, extra_args=["--catalog", str(both)])
    assert third.returncode == 0, third.stderr
    assert [r for r in emulator.requests if r.vendor == "fullstory"] == []


def test_a_settled_job_nothing_names_is_forgotten_and_named_again_is_new(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun]
) -> None:
    emulator.dataset.fullstory_jobs += [fs_job("A"), fs_job("B")]
    first = tap(base_config(emulator, fullstory_user_import_job_ids=["A", "B"]))
    second = tap(base_config(emulator, fullstory_user_import_job_ids=["B"]), first.final_state)
    assert second.returncode == 0, second.stderr
    assert set(second.final_state["bookmarks"]["job_details"]["jobs"]["fullstory_users"]) == {"B"}
    third = tap(base_config(emulator, fullstory_user_import_job_ids=["A"]), second.final_state)
    assert third.returncode == 0, third.stderr
    assert len(third.records("imported_users")) == 7  # extracted again: same keys


def test_a_growing_job_ids_file_keeps_the_state_small_and_asks_nothing_twice(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun], tmp_path: Path
) -> None:
    # An append-only file names every job ever pushed: the state remembers how far it
    # was read, not one entry per settled job (every STATE message carries the state).
    ids_file = tmp_path / "job_ids.txt"
    nights = Nights(emulator, tap, base_config(emulator, job_ids_file=str(ids_file)))
    sizes = []
    for night in range(4):
        jobs = [fs_job(f"N{night}-{n}", rows=2) for n in range(30)]
        emulator.dataset.fullstory_jobs += jobs
        with ids_file.open("a") as f:
            f.writelines(f"fullstory_users,{job.job_id}\n" for job in jobs)
        run = nights.run(ids_env())
        asked = {r.job_id for r in nights.requests[-1] if r.vendor == "fullstory"}
        assert asked == {job.job_id for job in jobs}, f"night {night}"
        assert {r["job_id"] for r in run.records("job_details")} == asked
        sizes.append(len(json.dumps(run.final_state)))
    # Tonight's 30 settled jobs stay until the next run; earlier nights' are a position.
    assert max(sizes) - min(sizes) < 200, sizes
    assert nights.state["bookmarks"]["job_details"]["file"]["count"] == 120
    users = {f"N{night}-{n}" for night in range(4) for n in range(30)}
    assert nights.rows("imported_users") == expected_rows(emulator, "imported_users", users)


def test_a_rewritten_job_ids_file_is_read_as_new_with_a_warning(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun], tmp_path: Path
) -> None:
    ids_file = tmp_path / "job_ids.txt"
    emulator.dataset.fullstory_jobs += [fs_job("A"), fs_job("B"), fs_job("C")]
    nights = Nights(emulator, tap, base_config(emulator, job_ids_file=str(ids_file)))
    ids_file.write_text("fullstory_users,A\nfullstory_users,B\n")
    nights.run(ids_env())
    # The importing step empties the file after each night: only C is in it now.
    ids_file.write_text("fullstory_users,C\n")
    second = nights.run(ids_env())
    assert {r["job_id"] for r in second.records("imported_users")} == {"C"}
    assert "job_ids_file no longer starts with the jobs read last time" in second.stderr
    # Night 3: the file is appended to again; A and B are not asked about.
    with ids_file.open("a") as f:
        f.write("fullstory_users,A\n")
    emulator.clear_requests()
    third = nights.run(ids_env())
    assert "no longer starts" not in third.stderr
    assert {r["job_id"] for r in third.records("imported_users")} == {"A"}  # new again


def test_a_stream_selected_after_the_file_was_read_gets_its_jobs(
    emulator: VendorEmulator, tap: t.Callable[..., TapRun], tmp_path: Path
) -> None:
    ids_file = tmp_path / "job_ids.txt"
    emulator.dataset.fullstory_jobs += [fs_job("A"), fs_job("B")]
    ids_file.write_text("fullstory_users,A\nfullstory_users,B\n")
    catalog = tmp_path / "catalog.json"
    config = base_config(emulator, job_ids_file=str(ids_file))
    discovered = tap(config, extra_args=["--discover"])
    spec = json.loads(discovered.stdout)
    for entry in spec["streams"]:
        wanted = entry["tap_stream_id"] in {"imported_users", "job_details"}
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = wanted
    catalog.write_text(json.dumps(spec))
    first = tap(config, extra_args=["--catalog", str(catalog)])
    assert first.returncode == 0, first.stderr
    second = tap(config, first.final_state, extra_args=["--catalog", str(catalog)])
    assert second.records("imported_users") == []  # settled by the file's position
    # Now user_import_errors is selected too: A and B are read for it, and only for it.
    second_spec = json.loads(discovered.stdout)
    for entry in second_spec["streams"]:
        wanted = entry["tap_stream_id"] in {"imported_users", "user_import_errors", "job_details"}
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = wanted
    catalog.write_text(json.dumps(second_spec))
    third = tap(config, second.final_state, extra_args=["--catalog", str(catalog)])
    assert third.returncode == 0, third.stderr
    assert third.records("imported_users") == []
    assert {r["job_id"] for r in third.records("user_import_errors")} == {"A", "B"}
