"""The job ledger: what the state remembers of each job, and how little it costs."""

from __future__ import annotations

import copy
import json
import typing as t

import pytest

from tap_batchimport.jobs import JobRef
from tap_batchimport.ledger import CURSOR_BYTES, ENTRY_BYTES, JobLedger

USERS = "fullstory_users"
EVENTS = "fullstory_events"
DRUID = "druid"
IMPORTED = "imported_users"
ERRORS = "user_import_errors"
USER_STREAMS = (IMPORTED, ERRORS)
NOW = "2025-03-01T02:00:00.123456+00:00"
LATER = "2025-03-02T02:00:00.654321+00:00"

A = JobRef(USERS, "job-a")
B = JobRef(USERS, "job-b")
C = JobRef(USERS, "job-c")
E = JobRef(EVENTS, "job-e")
D = JobRef(DRUID, "bulk-d")

TOKEN = {"page_token": "mmb7xIm1T_FvO-swyO6u5k4=", "row": 2000}


def size(jobs: int, cursors: int) -> int:
    return 64 + ENTRY_BYTES * jobs + CURSOR_BYTES * cursors


def reloaded(bookmark: dict[str, t.Any]) -> JobLedger:
    """The ledger the next run builds from this bookmark, as serialised in STATE."""
    return JobLedger(json.loads(json.dumps(bookmark)))


def assert_consistent(ledger: JobLedger, bookmark: dict[str, t.Any]) -> None:
    """The running size estimate is what a fresh ledger computes from the same state."""
    assert ledger.size_estimate == reloaded(bookmark).size_estimate


def test_see_remembers_jobs_and_when_each_was_first_seen():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    assert ledger.entry(A) is None

    entry = ledger.see(A, now=NOW)
    ledger.see(A, now=LATER)
    ledger.see(B, now=NOW)
    ledger.see(D, now=NOW)

    assert entry is ledger.entry(A)
    assert ledger.entry(A) == {"seen": NOW}
    assert ledger.entry(B) == {"seen": NOW}
    assert ledger.remembered([USERS]) == [A, B]
    assert ledger.remembered([DRUID, USERS]) == [D, A, B]
    assert ledger.remembered([EVENTS]) == []
    # The bookmark the SDK serialises is the ledger itself.
    assert bookmark == {
        "jobs": {
            USERS: {"job-a": {"seen": NOW}, "job-b": {"seen": NOW}},
            DRUID: {"bulk-d": {"seen": NOW}},
        }
    }


def test_cursors_are_per_job_and_stream_and_mark_done_drops_them():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    ledger.save_cursor(A, IMPORTED, {"page_token": "T1", "row": 100})
    ledger.save_cursor(A, IMPORTED, {"page_token": "T2", "row": 200})
    ledger.save_cursor(A, ERRORS, {"page_token": "E1", "row": 100})

    assert ledger.cursor(A, IMPORTED) == {"page_token": "T2", "row": 200}
    assert ledger.cursor(A, ERRORS) == {"page_token": "E1", "row": 100}
    assert ledger.cursor(B, IMPORTED) is None
    assert ledger.cursor(E, IMPORTED) is None
    assert not ledger.is_done(ledger.entry(A), IMPORTED)

    ledger.mark_done(A, IMPORTED)
    ledger.mark_done(A, IMPORTED)

    assert ledger.cursor(A, IMPORTED) is None
    assert ledger.cursor(A, ERRORS) == {"page_token": "E1", "row": 100}
    assert ledger.entry(A)["done"] == [IMPORTED]
    assert ledger.is_done(ledger.entry(A), IMPORTED)
    assert not ledger.is_done(ledger.entry(A), ERRORS)
    assert not ledger.is_done(None, IMPORTED)
    ledger.mark_done(A, ERRORS)
    assert "cursors" not in ledger.entry(A)
    assert ledger.all_done(A, USER_STREAMS)
    assert_consistent(ledger, bookmark)


def test_a_cursor_of_the_wrong_shape_in_the_state_is_not_handed_out():
    ledger = JobLedger({"jobs": {USERS: {"job-a": {"cursors": {IMPORTED: "T1", ERRORS: [1]}}}}})
    assert ledger.cursor(A, IMPORTED) is None
    assert ledger.cursor(A, ERRORS) is None
    ledger = JobLedger({"jobs": {USERS: {"job-a": {"cursors": ["T1"]}}}})
    assert ledger.cursor(A, IMPORTED) is None


def test_gone_results_are_done_and_say_so():
    ledger = JobLedger({})
    ledger.save_cursor(D, "bulk_results", {"last": "x"})
    ledger.mark_done(D, "bulk_results", gone=True)
    assert ledger.entry(D) == {"done": ["bulk_results"], "gone": True}


def test_settle_and_is_settled():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    ledger.see(A, now=NOW)
    ledger.mark_done(A, IMPORTED)
    # Every stream done is not enough: the final job_details record settles a job.
    ledger.mark_done(A, ERRORS)
    assert ledger.all_done(A, USER_STREAMS)
    assert not ledger.is_settled(A, USER_STREAMS)

    ledger.settle(A, "COMPLETED")
    assert ledger.entry(A) == {"done": [IMPORTED, ERRORS], "final": "COMPLETED"}
    assert ledger.is_settled(A, USER_STREAMS)
    assert ledger.is_settled(A, [IMPORTED])
    assert not ledger.is_settled(B, USER_STREAMS)

    # A final record alone is not enough when a selected stream is not done: a stream
    # selected later still gets the results of the jobs the ledger remembers.
    ledger.settle(B, "COMPLETED")
    ledger.mark_done(B, IMPORTED)
    assert ledger.is_settled(B, [IMPORTED])
    assert not ledger.is_settled(B, USER_STREAMS)
    assert_consistent(ledger, bookmark)


def test_settle_marks_the_streams_with_nothing_to_read_and_drops_their_cursors():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    ledger.see(A, now=NOW)
    ledger.save_cursor(A, IMPORTED, TOKEN)
    ledger.settle(A, "PROCESSING", streams=USER_STREAMS, given_up=True)

    assert ledger.entry(A) == {"done": [IMPORTED, ERRORS], "final": "PROCESSING", "given_up": True}
    assert ledger.is_settled(A, USER_STREAMS)
    assert ledger.size_estimate == size(jobs=1, cursors=0)
    assert_consistent(ledger, bookmark)

    ledger.settle(B, "NOT_FOUND", streams=USER_STREAMS)
    assert ledger.entry(B) == {"done": [IMPORTED, ERRORS], "final": "NOT_FOUND"}


def test_forget_settled_only_forgets_settled_unnamed_jobs_of_the_given_sources():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    for ref in (A, B, E):
        ledger.settle(
            ref, "COMPLETED", streams=USER_STREAMS if ref.source == USERS else ["imported_events"]
        )
    ledger.settle(D, "completed", streams=["bulk_results"])
    ledger.see(C, now=NOW)  # pending: never forgotten
    pending_reader = JobRef(USERS, "job-reading")
    ledger.save_cursor(pending_reader, IMPORTED, TOKEN)  # being read: never forgotten
    half = JobRef(USERS, "job-half")
    ledger.mark_done(half, IMPORTED)
    ledger.mark_done(half, ERRORS)  # all read, final record not written yet
    before = ledger.size_estimate

    streams = {USERS: USER_STREAMS, EVENTS: ["imported_events"], DRUID: ["bulk_results"]}
    forgotten = ledger.forget_settled([USERS, EVENTS], {B}, streams.__getitem__)

    assert forgotten == 2  # A (users) and E (events); B is named, D another vendor's
    assert ledger.entry(A) is None
    assert ledger.entry(E) is None
    assert ledger.entry(B) is not None
    assert ledger.entry(D) is not None
    assert ledger.remembered([USERS]) == [B, C, pending_reader, half]
    assert ledger.cursor(pending_reader, IMPORTED) == TOKEN
    assert ledger.size_estimate == before - 2 * ENTRY_BYTES
    assert_consistent(ledger, bookmark)
    assert "job-a" not in json.dumps(bookmark)
    assert ledger.forget_settled([USERS, EVENTS], {B}, streams.__getitem__) == 0


def test_forget_settled_keeps_a_settled_job_when_a_newly_selected_stream_is_not_done():
    ledger = JobLedger({})
    ledger.settle(A, "COMPLETED", streams=[IMPORTED])
    assert ledger.forget_settled([USERS], set(), lambda _: USER_STREAMS) == 0
    assert ledger.entry(A) is not None
    assert ledger.forget_settled([USERS], set(), lambda _: [IMPORTED]) == 1


def test_forgetting_a_settled_job_with_a_leftover_cursor_drops_it_from_the_estimate():
    bookmark = {
        "jobs": {
            USERS: {"job-a": {"done": [IMPORTED], "final": "COMPLETED", "cursors": {ERRORS: TOKEN}}}
        }
    }
    ledger = JobLedger(bookmark)
    assert ledger.size_estimate == size(jobs=1, cursors=1)
    assert ledger.forget_settled([USERS], set(), lambda _: [IMPORTED]) == 1
    assert ledger.size_estimate == size(jobs=0, cursors=0)
    assert_consistent(ledger, bookmark)


def test_size_estimate_moves_with_jobs_and_cursors():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    assert ledger.size_estimate == size(0, 0)
    ledger.see(A, now=NOW)
    assert ledger.size_estimate == size(1, 0)
    ledger.save_cursor(A, IMPORTED, TOKEN)
    assert ledger.size_estimate == size(1, 1)
    ledger.save_cursor(A, IMPORTED, {**TOKEN, "row": 4000})  # moving a cursor adds nothing
    assert ledger.size_estimate == size(1, 1)
    ledger.save_cursor(A, ERRORS, TOKEN)
    ledger.save_cursor(B, IMPORTED, TOKEN)
    assert ledger.size_estimate == size(2, 3)
    ledger.mark_done(A, IMPORTED)
    assert ledger.size_estimate == size(2, 2)
    ledger.mark_done(A, IMPORTED)  # again: no cursor left to drop
    ledger.mark_done(C, IMPORTED)  # no cursor ever
    assert ledger.size_estimate == size(3, 2)
    ledger.settle(A, "COMPLETED", streams=USER_STREAMS)
    assert ledger.size_estimate == size(3, 1)
    assert_consistent(ledger, bookmark)


def test_constructor_normalises_what_it_cannot_use():
    bookmark = {
        "jobs": {
            USERS: {"job-a": {"final": "COMPLETED"}, "job-x": "not an entry", "job-y": None},
            "weird": ["not", "a", "map"],
            DRUID: {"bulk-d": {"cursors": {"bulk_results": {"last": "z"}}}},
        },
        "other": 1,
    }
    ledger = JobLedger(bookmark)
    assert ledger.remembered([USERS, "weird", DRUID]) == [A, D]
    assert bookmark["other"] == 1
    assert bookmark["jobs"] == {
        USERS: {"job-a": {"final": "COMPLETED"}},
        DRUID: {"bulk-d": {"cursors": {"bulk_results": {"last": "z"}}}},
    }
    assert ledger.size_estimate == size(2, 1)
    for junk in ({"jobs": None}, {"jobs": []}, {"jobs": "x"}, {}):
        assert JobLedger(junk).remembered([USERS]) == []
        assert junk["jobs"] == {}


def test_migrate_moves_the_previous_releases_bookmarks():
    old_imported = {
        "done": ["job-a", "job-b"],
        "progress": {
            "job-c": {"page_token": "T9", "row": 300},
            "job-a": {"page_token": "T0", "row": 5},
        },
        "replication_key_value": "kept",
    }
    old_errors = {"done": ["job-a"], "progress": {}}
    ledger = JobLedger({})
    moved = ledger.migrate(old_imported, IMPORTED, USERS) + ledger.migrate(
        old_errors, ERRORS, USERS
    )

    assert moved == 4  # a, b and c's cursor for imported_users; a for user_import_errors
    assert old_imported == {"replication_key_value": "kept"}
    assert old_errors == {}
    assert ledger.all_done(A, USER_STREAMS)  # done stays done: never read again
    assert ledger.cursor(A, IMPORTED) is None  # a done job's stale progress is not resumed
    assert ledger.is_done(ledger.entry(B), IMPORTED)
    assert not ledger.is_done(ledger.entry(B), ERRORS)
    assert ledger.cursor(C, IMPORTED) == {"page_token": "T9", "row": 300}
    assert not ledger.is_done(ledger.entry(C), IMPORTED)
    # Migrated jobs have no final job_details record yet: nothing is settled by migration.
    assert not ledger.is_settled(A, USER_STREAMS)
    assert ledger.size_estimate == size(3, 1)
    # Migrating again (the old keys are gone) moves nothing.
    assert ledger.migrate(old_imported, IMPORTED, USERS) == 0


def test_migrate_tolerates_odd_old_bookmarks():
    ledger = JobLedger({})
    state = {"done": [123, "job-a"], "progress": {"job-c": "not a cursor", 456: {"last": "x"}}}
    moved = ledger.migrate(state, "bulk_results", DRUID)
    assert moved == 3
    assert ledger.is_done(ledger.entry(JobRef(DRUID, "123")), "bulk_results")
    assert ledger.cursor(JobRef(DRUID, "456"), "bulk_results") == {"last": "x"}
    assert ledger.entry(JobRef(DRUID, "job-c")) is None
    assert state == {}
    for junk in ({"done": "job-a", "progress": ["x"]}, {"done": None}, {}):
        assert JobLedger({}).migrate(junk, IMPORTED, USERS) == 0


def test_migrate_into_a_ledger_that_already_remembers_the_job():
    bookmark = {
        "jobs": {
            USERS: {
                "job-c": {"seen": NOW, "cursors": {IMPORTED: {"page_token": "NEW", "row": 400}}}
            }
        }
    }
    ledger = JobLedger(bookmark)
    old = {"done": [], "progress": {"job-c": {"page_token": "OLD", "row": 300}}}
    ledger.migrate(old, IMPORTED, USERS)
    # The ledger's own cursor is newer than the old release's; "seen" stays as it was.
    assert ledger.cursor(C, IMPORTED) == {"page_token": "NEW", "row": 400}
    assert ledger.entry(C)["seen"] == NOW
    assert ledger.size_estimate == size(1, 1)
    assert_consistent(ledger, bookmark)


def test_a_deep_merged_entry_with_done_and_cursors_stays_consistent():
    # Meltano deep-merges a run's state into the saved one: an entry may keep the cursor
    # of a stream that a later STATE marked done.
    older = {"jobs": {USERS: {"job-a": {"seen": NOW, "cursors": {IMPORTED: TOKEN, ERRORS: TOKEN}}}}}
    newer = {
        "jobs": {
            USERS: {"job-a": {"done": [IMPORTED], "cursors": {ERRORS: {**TOKEN, "row": 4000}}}}
        }
    }
    merged = copy.deepcopy(older)
    merged["jobs"][USERS]["job-a"].update(newer["jobs"][USERS]["job-a"])
    merged["jobs"][USERS]["job-a"]["cursors"] = {IMPORTED: TOKEN, ERRORS: {**TOKEN, "row": 4000}}
    ledger = JobLedger(merged)

    assert ledger.is_done(ledger.entry(A), IMPORTED)  # done wins: never read again
    assert not ledger.is_done(ledger.entry(A), ERRORS)
    assert ledger.cursor(A, ERRORS) == {**TOKEN, "row": 4000}
    assert ledger.size_estimate == size(1, 2)

    ledger.mark_done(A, ERRORS)
    assert ledger.size_estimate == size(1, 1)
    ledger.settle(A, "COMPLETED", streams=USER_STREAMS)  # drops the leftover cursor too
    assert ledger.entry(A) == {"done": [IMPORTED, ERRORS], "final": "COMPLETED"}
    assert ledger.size_estimate == size(1, 0)
    assert ledger.is_settled(A, USER_STREAMS)
    assert_consistent(ledger, merged)
    # Nothing drives the cursor count below zero, whatever is marked again.
    ledger.mark_done(A, IMPORTED)
    ledger.settle(A, "COMPLETED", streams=USER_STREAMS)
    assert ledger.size_estimate == size(1, 0)


UUID = "0190c3c4-0001-7000-8000-0000000004d2"
#: As long as the emulator's (and Fullstory's) page tokens: 17 bytes, base64.
FS_TOKEN = "mmb7xIm1T_FvO-swyO6u5k4="


def compact(value: t.Any) -> int:
    """Bytes of a value in a STATE message (the SDK writes compact JSON)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.mark.parametrize(
    ("ref", "build"),
    [
        (JobRef(USERS, UUID), lambda led, ref: led.see(ref, now=NOW)),
        (
            JobRef(EVENTS, UUID),
            lambda led, ref: led.settle(
                ref, "COMPLETED", streams=["imported_events", "event_import_errors"]
            ),
        ),
        (
            JobRef(USERS, UUID),
            lambda led, ref: (
                led.see(ref, now=NOW),
                led.settle(ref, "PROCESSING", streams=USER_STREAMS, given_up=True),
            ),
        ),
        (
            JobRef(DRUID, UUID),
            lambda led, ref: (
                led.see(ref, now=NOW),
                led.save_cursor(ref, "bulk_results", {"last": UUID}),
            ),
        ),
        (
            JobRef(USERS, UUID),
            lambda led, ref: led.save_cursor(ref, IMPORTED, {"page_token": FS_TOKEN, "row": 99999}),
        ),
        (
            JobRef("sailpoint", UUID),
            lambda led, ref: (
                led.mark_done(ref, "config_import_results", gone=True),
                led.settle(ref, "COMPLETE"),
            ),
        ),
    ],
    ids=["pending", "settled", "given-up", "druid-cursor", "fullstory-cursor", "sailpoint-gone"],
)
def test_an_entry_stays_under_200_bytes_as_json(ref, build):
    ledger = JobLedger({})
    build(ledger, ref)
    one_job = {ref.job_id: ledger.entry(ref)}
    assert compact(one_job) < 200, one_job


def test_an_entry_being_read_stays_within_the_ledgers_own_estimate():
    # Seen unfinished on an earlier run, then one stream read and the other interrupted.
    ref = JobRef(EVENTS, UUID)
    ledger = JobLedger({})
    ledger.see(ref, now=NOW)
    ledger.mark_done(ref, "imported_events")
    ledger.save_cursor(ref, "event_import_errors", {"page_token": FS_TOKEN, "row": 1234567})
    assert compact({ref.job_id: ledger.entry(ref)}) <= ENTRY_BYTES + CURSOR_BYTES


def test_state_grows_linearly_with_jobs():
    bookmark: dict[str, t.Any] = {}
    ledger = JobLedger(bookmark)
    sizes = []
    for n in range(1, 301):
        ref = JobRef(USERS, f"0190c3c4-0001-7000-8000-{n:012x}")
        ledger.settle(ref, "COMPLETED", streams=USER_STREAMS)
        if n % 100 == 0:
            sizes.append(compact(bookmark))
    steps = [sizes[0], sizes[1] - sizes[0], sizes[2] - sizes[1]]
    assert max(steps) - min(steps) < 100
    assert sizes[-1] / 300 < 200


def test_encoded_ledger_is_the_bookmark_as_json_whatever_changed():
    # STATE messages splice in JobLedger.encoded() instead of encoding the bookmark:
    # after every kind of change it must say exactly what the bookmark says.
    bookmark = {
        "jobs": {
            USERS: {
                f"old-{i}": {"done": [IMPORTED, ERRORS], "final": "COMPLETED"} for i in range(5)
            },
            DRUID: {"bulk-d": {"seen": NOW}},
        }
    }
    ledger = JobLedger(bookmark)
    steps = [
        lambda: None,
        lambda: ledger.see(A, now=NOW),
        lambda: ledger.save_cursor(A, IMPORTED, TOKEN),
        lambda: ledger.save_cursor(JobRef(USERS, "old-1"), IMPORTED, TOKEN),
        lambda: ledger.mark_done(A, IMPORTED),
        lambda: ledger.record_failure(D, "druid job bulk-d: HTTP 500", new_run=True),
        lambda: ledger.forget_settled([USERS], {A}, lambda _: USER_STREAMS),
        lambda: ledger.settle(A, "COMPLETED", streams=USER_STREAMS),
        lambda: ledger.clear_failure(D),
        lambda: ledger.see(E, now=NOW),
    ]
    for step in steps:
        step()
        assert json.loads(ledger.encoded()) == bookmark["jobs"]
        assert ledger.owns(bookmark["jobs"])


def test_failures_count_runs_in_a_row_and_end_when_a_run_does_not_fail():
    ledger = JobLedger({})
    assert ledger.record_failure(A, "first", new_run=True) == 1
    assert ledger.record_failure(A, "again, same run", new_run=False) == 1
    assert ledger.entry(A)["error"] == "again, same run"
    assert ledger.record_failure(A, "next run", new_run=True) == 2
    assert ledger.failures(ledger.entry(A)) == 2
    assert ledger.unreadable(ledger.entry(A))
    ledger.clear_failure(A)
    assert ledger.failures(ledger.entry(A)) == 0
    assert "error" not in ledger.entry(A)
    assert not ledger.unreadable(ledger.entry(A))
    ledger.mark_unread(A)
    assert ledger.unreadable(ledger.entry(A))
    ledger.record_failure(A, "x", new_run=True)
    ledger.settle(A, "COMPLETED", streams=USER_STREAMS)
    assert ledger.entry(A) == {"done": list(USER_STREAMS), "final": "COMPLETED"}


def test_done_is_stored_before_the_cursor_is_dropped(monkeypatch):
    # The final STATE of a SIGTERM is written from the signal handler, between any two
    # steps: at no point may a job have neither its cursor nor its done mark.
    ledger = JobLedger({})
    ledger.save_cursor(A, IMPORTED, TOKEN)
    seen_at_drop: list[bool] = []
    drop = ledger._drop_cursor

    def watching(entry, stream):
        seen_at_drop.append(stream in (entry.get("done") or ()))
        drop(entry, stream)

    monkeypatch.setattr(ledger, "_drop_cursor", watching)
    ledger.mark_done(A, IMPORTED)
    assert seen_at_drop == [True]
