"""Nights that go wrong: nothing named is lost, and one bad job never holds the others.

Each test is a sequence of runs through the tap's CLI against the emulator, handing the
final state of one run to the next, as a scheduled pipeline does. Only the first night
names the jobs (later nights name none, DruID aside, which discovers its bulks); the
emulator's faults change from night to night. The union of the nights' output must hold
every row of every job exactly once (given-up jobs aside), and the request log must show
no request for a job settled on an earlier night.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

from emulator import faults
from tests import mixed_data
from tests.conftest import OLD_JOBS_STAY_PENDING_DAYS

if t.TYPE_CHECKING:
    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

#: Retries stay short: a lasting fault fails its job in about a second.
QUICK = {"retry_max_attempts": 2, "retry_max_wait_seconds": 2, "max_concurrent_requests": 1}
#: Later nights name no job: what the tap extracts then comes from its ledger alone.
NO_IDS = {
    "fullstory_user_import_job_ids": [],
    "fullstory_event_import_job_ids": [],
    "druid_bulk_ids": [],
    "sailpoint_import_job_ids": [],
}


class Nights:
    """Runs the tap night after night, each given the previous night's final state."""

    def __init__(self, emu: VendorEmulator, tap: t.Callable[..., TapRun]) -> None:
        self.emu, self.tap = emu, tap
        self.state: dict[str, t.Any] | None = None
        self.runs: list[TapRun] = []

    def run(self, *, first: bool = False, returncode: int = 0, **overrides: t.Any) -> TapRun:
        self.emu.clear_requests()
        config = mixed_data.config(self.emu, **QUICK, **({} if first else NO_IDS), **overrides)
        run = self.tap(config, self.state)
        assert run.returncode == returncode, run.stderr
        assert "Traceback" not in run.stderr
        assert run.messages[-1]["type"] == "STATE", "a run must end with a STATE"
        self.state = run.final_state
        self.runs.append(run)
        return run

    def assert_every_row_once(self) -> None:
        mixed_data.assert_union_is_the_data(
            self.emu, *(run.messages for run in self.runs), max_pages_again=0
        )

    def requests_about(self, job_id: str) -> list[str]:
        return [r.endpoint for r in self.emu.requests if r.job_id == job_id]


def details(run: TapRun) -> dict[str, dict[str, t.Any]]:
    return {r["job_id"]: r for r in run.records("job_details")}


def ledger(state: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    jobs = state["bookmarks"]["job_details"]["jobs"]
    return {job_id: entry for entries in jobs.values() for job_id, entry in entries.items()}


def error_lines(run: TapRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if "| ERROR" in line]


def test_finished_jobs_whose_results_are_not_ready_are_read_by_the_next_run(emulator, tap):
    mixed_data.fill(emulator)
    # The status says finished, the results still answer 202 (Fullstory) / 428 (DruID).
    emulator.dataset.fullstory_job("U1").results_processing_polls = 1
    emulator.faults.add("druid.results", faults.status(428), job="B1", times=1)
    nights = Nights(emulator, tap)

    first = nights.run(first=True)
    assert first.records("imported_users") == []
    assert not any(r["bulk_id"] == "B1" for r in first.records("bulk_results"))
    assert {"U1", "B1"} <= {job for job, e in ledger(first.final_state).items() if "final" not in e}
    assert details(first)["U1"]["is_finished"] is True

    second = nights.run()  # given no job id at all
    assert len(second.records("imported_users")) == 60
    assert any(r["bulk_id"] == "B1" for r in second.records("bulk_results"))
    nights.assert_every_row_once()
    # Settled by now: the third night asks nothing about them.
    nights.run()
    assert nights.requests_about("U1") == []
    assert nights.requests_about("S1") == []


def test_a_vendor_down_on_the_first_night_loses_no_named_job(emulator, tap):
    mixed_data.fill(emulator)
    emulator.faults.add("fullstory.*", faults.reset())
    nights = Nights(emulator, tap)

    first = nights.run(first=True, returncode=1)
    final = next(line for line in first.stderr.splitlines() if "Run incomplete" in line)
    assert "U1" in final and "E1" in final  # each job fails (two are too few to call it down)
    assert {"U1", "E1"} <= set(ledger(first.states[0]))  # remembered before any request
    assert first.records("bulk_results")  # the other vendors were extracted

    emulator.faults.clear()
    second = nights.run()
    assert len(second.records("imported_users")) == 60
    assert len(second.records("imported_events")) == 30
    nights.assert_every_row_once()


def test_every_named_job_is_in_the_first_state_before_any_request(emulator, tap):
    mixed_data.fill(emulator)
    run = tap(mixed_data.config(emulator))
    assert run.returncode == 0, run.stderr
    first_state = next(i for i, m in enumerate(run.messages) if m["type"] == "STATE")
    assert not any(m["type"] == "RECORD" for m in run.messages[:first_state])
    assert set(ledger(run.messages[first_state]["value"])) == {"U1", "E1", "B1", "B2", "S1", "S2"}


def test_sigterm_during_the_status_survey_hands_every_named_job_on(emulator, tap, tmp_path: Path):
    mixed_data.fill(emulator)
    emulator.faults.add("fullstory.status", faults.stall(30))
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "job_max_pending_days": OLD_JOBS_STAY_PENDING_DAYS,
                **mixed_data.config(emulator, **QUICK, request_timeout_seconds=60),
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_batchimport", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The first STATE comes before any request; then the status requests hang.
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert '"type":"STATE"' in first, first
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    out = first + out
    states = [json.loads(line)["value"] for line in out.splitlines() if '"type":"STATE"' in line]
    assert states, err
    assert {"U1", "E1", "B1", "B2", "S1", "S2"} <= set(ledger(states[-1]))

    emulator.faults.clear()
    nights = Nights(emulator, tap)
    nights.state = states[-1]
    nights.run()
    nights.assert_every_row_once()


def test_a_poison_job_fails_alone_night_after_night_until_it_heals(emulator, tap):
    mixed_data.fill(emulator)
    # Every results page of the events job fails; the users job comes after it (by name).
    emulator.faults.add("fullstory.imports", faults.status(500), job="E1")
    nights = Nights(emulator, tap)

    first = nights.run(first=True, returncode=1)
    assert len(first.records("imported_users")) == 60  # not held behind E1
    assert first.records("bulk_results") and first.records("config_import_results")
    (line,) = [x for x in error_lines(first) if "E1" in x and "HTTP 500" in x]
    assert "fullstory_events job E1: Fullstory GET /v2/events/batch/E1/imports failed" in line
    (final,) = [x for x in first.stderr.splitlines() if "Run incomplete" in x]
    assert "fullstory_events E1" in final
    record = details(first)["E1"]
    assert record["failed_attempts"] == 1
    assert "HTTP 500" in record["last_error"]
    assert "\n" not in record["last_error"]
    assert emulator.dataset.fullstory_api_key not in record["last_error"]
    assert details(first)["U1"]["last_error"] is None

    second = nights.run(returncode=1)
    assert details(second)["E1"]["failed_attempts"] == 2
    assert nights.requests_about("U1") == []  # settled on night 1: not asked again
    assert nights.requests_about("S1") == []

    emulator.faults.clear()
    third = nights.run()
    healed = details(third)["E1"]
    assert (healed["failed_attempts"], healed["last_error"]) == (0, None)
    assert len(third.records("imported_events")) == 30
    nights.assert_every_row_once()


def test_a_finished_job_that_stays_unreadable_is_given_up_after_the_age_limit(emulator, tap):
    mixed_data.fill(emulator)
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)).isoformat()
    emulator.dataset.fullstory_job("E1").created = old
    emulator.faults.add("fullstory.imports", faults.status(500), job="E1")
    nights = Nights(emulator, tap)

    # First try: its age alone gives up nothing; the read fails.
    first = nights.run(first=True, returncode=1, job_max_pending_days=7)
    assert details(first)["E1"]["given_up"] is False

    # Unsettled, unreadable and older than 7 days: given up, without a results request.
    second = nights.run(job_max_pending_days=7)
    record = details(second)["E1"]
    assert record["given_up"] is True
    assert "fullstory.imports" not in nights.requests_about("E1")
    warning = next(x for x in second.stderr.splitlines() if "E1" in x and "given up" in x)
    assert "WARNING" in warning and "job_max_pending_days" in warning

    nights.run(job_max_pending_days=7)
    assert nights.requests_about("E1") == []
    assert nights.runs[-1].records("job_details") == []


def test_a_results_404_behind_a_finished_status_is_retried_not_settled(emulator, tap):
    mixed_data.fill(emulator)
    emulator.faults.add("druid.results", faults.status(404), job="B1", times=1)
    emulator.faults.add("fullstory.imports", faults.status(404), job="U1", times=1)
    nights = Nights(emulator, tap)

    first = nights.run(first=True, returncode=1)
    assert {d["status"] for j, d in details(first).items() if j in {"B1", "U1"}} == {
        "completed",
        "FAILED",
    }  # the vendors' statuses, never NOT_FOUND
    assert all("HTTP 404" in details(first)[j]["last_error"] for j in ("B1", "U1"))

    nights.run()
    nights.assert_every_row_once()


def test_a_vendor_that_looks_down_stops_after_a_few_jobs_not_each_retried(emulator, tap):
    mixed_data.fill(emulator)
    emulator.dataset.druid_bulks += [
        type(emulator.dataset.druid_bulks[0])(f"B{n}") for n in range(3, 9)
    ]
    emulator.faults.add("druid.status", faults.status(503))
    run = tap(mixed_data.config(emulator, **QUICK, druid_bulk_ids=[f"B{n}" for n in range(1, 9)]))
    assert run.returncode == 1
    assert "looks down" in run.stderr
    assert emulator.count("druid.status") == 3 * 2  # three jobs, two tries each, then stop
    assert run.records("imported_users")


def test_the_plain_pipe_state_recipe_works_night_after_night(emulator, tmp_path: Path):
    # The README's recipe, as written: keep the last line's STATE, hand it to the next run.
    mixed_data.fill(emulator)
    busy = emulator.dataset.fullstory_job("E1")
    busy.status, busy.finished = "PROCESSING", None
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"job_max_pending_days": OLD_JOBS_STAY_PENDING_DAYS, **mixed_data.config(emulator)}
        )
    )
    tap_cli = Path(sys.executable).with_name("tap-batchimport")
    script = f"""
        set -euo pipefail
        cd {tmp_path}
        {tap_cli} --config config.json > out.jsonl
        tail -1 out.jsonl | jq -c .value > state.json
        # Nothing changed: the run still reports the pending job, and ends with a STATE.
        {tap_cli} --config config.json --state state.json > next.jsonl
        tail -1 next.jsonl | jq -c .value > state.json
        {tap_cli} --config config.json --state state.json > third.jsonl
        tail -1 third.jsonl | jq -c .value > state.json
    """
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    for name in ("out.jsonl", "next.jsonl", "third.jsonl"):
        lines = (tmp_path / name).read_text().splitlines()
        assert json.loads(lines[-1])["type"] == "STATE", name
    nexts = [json.loads(x) for x in (tmp_path / "next.jsonl").read_text().splitlines()]
    assert any(m["type"] == "RECORD" and m["stream"] == "job_details" for m in nexts)
    state = json.loads((tmp_path / "state.json").read_text())
    assert "E1" in ledger(state)
