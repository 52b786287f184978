"""Concurrent extraction: the same output with 1 and 8 workers, one rate budget and one
token per vendor, kill -9 and resume, vendors failing alone, ``--test`` and the summary."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t

import pytest

from emulator import faults
from emulator.druid import DruidBulk
from emulator.fullstory import FullstoryJob
from tests import mixed_data
from tests.test_druid import rows as druid_rows

if t.TYPE_CHECKING:
    from pathlib import Path

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

USERS = [f"U{n:02d}" for n in range(24)]
BULKS = [f"B{n:02d}" for n in range(12)]


@pytest.fixture
def emu(emulator: VendorEmulator) -> VendorEmulator:
    """Many small multi-page jobs of every vendor."""
    mixed_data.fill(emulator)
    for n, job_id in enumerate(USERS):
        emulator.dataset.fullstory_jobs.append(
            FullstoryJob(
                job_id,
                "users",
                "COMPLETED",
                finished="2024-05-01T10:00:00Z",
                imports=[{"id": f"{job_id}-{i}", "uid": str(i)} for i in range(5 + n % 7)],
                errors=[{"message": "bad", "code": "x", "user": {"uid": "u"}}] * (n % 3),
                page_size=3,
            )
        )
    emulator.dataset.druid_bulks += [
        DruidBulk(b, results=druid_rows(30 + n, 4 + n)) for n, b in enumerate(BULKS)
    ]
    return emulator


def config(emu: VendorEmulator, **extra: t.Any) -> dict[str, t.Any]:
    return mixed_data.config(
        emu,
        fullstory_user_import_job_ids=["U1", *USERS],
        druid_bulk_ids=["B1", "B2", *BULKS],
        **extra,
    )


def result_messages(run: TapRun) -> list[tuple[str, str]]:
    return [
        (m["stream"], json.dumps(m["record"], sort_keys=True))
        for m in run.messages
        if m["type"] == "RECORD" and m["stream"] != "job_details"
    ]


def without_times(state: dict[str, t.Any]) -> dict[str, t.Any]:
    ledger = state["bookmarks"]["job_details"]["jobs"]
    for entries in ledger.values():
        for entry in entries.values():
            entry.pop("seen", None)
    return state


def job_details_order(run: TapRun) -> list[str]:
    return [
        m["record"]["job_id"]
        for m in run.messages
        if m["type"] == "RECORD" and m["stream"] == "job_details"
    ]


def test_one_and_eight_workers_write_the_same_records_in_the_same_order(emu, tap):
    one = tap(config(emu, max_concurrent_requests=1))
    eight = tap(config(emu, max_concurrent_requests=8))
    assert one.returncode == 0, one.stderr
    assert eight.returncode == 0, eight.stderr
    assert result_messages(eight) == result_messages(one)
    assert len(result_messages(one)) == sum(len(v) for v in mixed_data.expected(emu).values())
    assert job_details_order(eight) == job_details_order(one)
    for message in eight.messages:
        if message["type"] == "RECORD":  # a loader parses it (target-postgres fails on "")
            dt.datetime.fromisoformat(message["time_extracted"])
    assert without_times(eight.final_state) == without_times(one.final_state)


def test_requests_really_overlap_and_stay_within_the_limit(emu, tap):
    emu.faults.add("fullstory.*", faults.stall(0.15))
    run = tap(config(emu, max_concurrent_requests=4))
    assert run.returncode == 0, run.stderr
    # Requests in flight at once, from the emulator's arrival times and a 0.15 s stall.
    starts = sorted(r.time for r in emu.requests if r.vendor == "fullstory")
    peak = max(sum(1 for s in starts if t0 <= s < t0 + 0.1) for t0 in starts)
    assert 2 <= peak <= 4


def test_one_token_for_all_workers(emu, tap):
    run = tap(config(emu))
    assert run.returncode == 0, run.stderr
    assert emu.count("druid.token") == 1
    assert emu.count("sailpoint.token") == 1


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(emu, tap, tmp_path: Path):
    emu.faults.add("druid.results", faults.stall(0.05))
    emu.faults.add("fullstory.imports", faults.stall(0.05))
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"job_max_pending_days": 36500, **config(emu)}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_batchimport", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout))
    reader.start()
    deadline = time.monotonic() + 30
    while sum(b'"type":"RECORD"' in line for line in list(lines)) < 120:
        assert proc.poll() is None, "the tap ended before the kill"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    reader.join(timeout=5)
    # A kill may cut the last line: only whole lines count, as a target would read them.
    first = [json.loads(line) for line in lines if line.endswith(b"\n")]
    state = next(m["value"] for m in reversed(first) if m["type"] == "STATE")
    emu.faults.clear()
    second = tap(config(emu), state)
    assert second.returncode == 0, second.stderr
    # Every row is there; what the first run wrote after its last STATE comes again, at
    # most one page per job being read.
    expected = mixed_data.expected(emu)
    union = {
        (m["stream"], mixed_data.key_of(m["stream"], m["record"]))
        for m in [*first, *second.messages]
        if m["type"] == "RECORD" and m["stream"] in expected
    }
    assert union == {(stream, key) for stream, keys in expected.items() for key in keys}
    again = [m for m in second.messages if m["type"] == "RECORD" and m["stream"] != "job_details"]
    before = {
        (m["stream"], json.dumps(m["record"], sort_keys=True))
        for m in first
        if m["type"] == "RECORD"
    }
    repeated = [
        m for m in again if (m["stream"], json.dumps(m["record"], sort_keys=True)) in before
    ]
    assert len(repeated) <= 8 * 10  # at most one page (10 rows or fewer) per worker's job


def test_a_vendor_with_bad_credentials_fails_alone(emu, tap):
    run = tap(config(emu, sailpoint_client_secret="wrong-secret"))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "wrong-secret" not in run.stdout + run.stderr
    (line,) = [x for x in run.stderr.splitlines() if " failed: " in x]
    assert "SailPoint POST /oauth/token failed: HTTP 401" in line
    (final,) = [x for x in run.stderr.splitlines() if "Run incomplete" in x]
    assert "SailPoint failed" in final and "ERROR" in final
    # Fullstory and DruID arrived complete, with their STATE.
    expected = mixed_data.expected(emu)
    got = mixed_data.emitted_once(run.messages)
    for stream in ("imported_users", "imported_events", "bulk_results"):
        assert set(got[stream]) >= set(expected[stream]), stream
    assert run.records("config_import_results") == []
    # Its named jobs are remembered (unsettled) for the next run, which is given no id.
    remembered = run.final_state["bookmarks"]["job_details"]["jobs"]["sailpoint"]
    assert sorted(remembered) == ["S1", "S2"]
    assert all("final" not in entry for entry in remembered.values())


def test_two_failing_vendors_are_both_named(emu, tap):
    run = tap(config(emu, sailpoint_client_secret="nope-nope", fullstory_api_key="bad-key-1"))
    assert run.returncode == 1
    (final,) = [x for x in run.stderr.splitlines() if "Run incomplete" in x]
    assert "Fullstory" in final and "SailPoint" in final
    assert len(run.records("bulk_results")) > 0


def test_the_connection_test_checks_every_vendor(emu, tap):
    good = tap(config(emu), extra_args=["--test"])
    assert good.returncode == 0, good.stderr
    assert [m for m in good.messages if m["type"] == "RECORD"] == []
    assert " ERROR " not in good.stderr and "| ERROR" not in good.stderr
    oks = [x for x in good.stderr.splitlines() if ": ok (" in x]
    assert [x.split("| ")[-1].split(":")[0] for x in oks] == ["Fullstory", "DruID", "SailPoint"]
    emu.clear_requests()
    bad = tap(
        config(emu, sailpoint_client_secret="wrong", fullstory_api_key="bad-key-2"),
        extra_args=["--test"],
    )
    assert bad.returncode == 1
    assert "wrong" not in bad.stderr.replace("wrong-", "") or "bad-key-2" not in bad.stderr
    failed = [x for x in bad.stderr.splitlines() if ": failed: " in x]
    assert sorted(x.split("| ")[-1].split(":")[0] for x in failed) == ["Fullstory", "SailPoint"]
    assert any("SailPoint: failed: " in x and "HTTP 401" in x for x in failed)
    assert [x for x in bad.stderr.splitlines() if "DruID: ok (" in x]


def test_the_connection_test_works_without_job_ids(emu, tap):
    run = tap(
        {
            "fullstory_api_key": emu.dataset.fullstory_api_key,
            "fullstory_api_url": emu.fullstory_url,
        },
        extra_args=["--test"],
    )
    assert run.returncode == 0, run.stderr
    assert "Fullstory: ok (credentials accepted" in run.stderr
    assert emu.count("fullstory.status") == 1


def test_a_run_ends_with_a_summary_and_warns_when_nothing_is_configured(emu, tap):
    run = tap(config(emu))
    assert run.returncode == 0, run.stderr
    summary = run.stderr[run.stderr.index("Run summary") :]
    assert "Fullstory: ok; jobs seen 26, finished 26, pending 0" in summary
    assert "imported_users " in summary and "requests " in summary
    nothing = tap({})
    assert nothing.returncode == 0
    (warning,) = [x for x in nothing.stderr.splitlines() if "No vendor has credentials" in x]
    assert "WARNING" in warning


def test_a_configured_job_the_vendor_does_not_know_gets_a_warning(emu, tap):
    run = tap(config(emu, sailpoint_import_job_ids=["S1", "TYPO-42"]))
    assert run.returncode == 0, run.stderr
    (line,) = [x for x in run.stderr.splitlines() if "TYPO-42" in x and "WARNING" in x]
    assert "unknown job id (mistyped?)" in line
    (summary,) = [x for x in run.stderr.splitlines() if "unknown job id(s)" in x]
    assert "SailPoint" in summary and "TYPO-42" in summary


def test_a_vendor_with_credentials_but_no_job_says_so(emu, tap):
    run = tap(
        {
            "fullstory_api_key": emu.dataset.fullstory_api_key,
            "fullstory_api_url": emu.fullstory_url,
            "fullstory_user_import_job_ids": [],
        }
    )
    assert run.returncode == 0, run.stderr
    (line,) = [x for x in run.stderr.splitlines() if "nothing to extract" in x]
    assert "WARNING" in line and "Fullstory" in line


def test_a_long_job_says_how_far_it_got(
    emu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # In process, with progress due after every page instead of every 30 s.
    from tap_batchimport import results_stream  # noqa: PLC0415
    from tap_batchimport.tap import TapBatchImport  # noqa: PLC0415

    monkeypatch.setattr(results_stream, "PROGRESS_EVERY_SECONDS", 0.0)
    monkeypatch.chdir(tmp_path)
    tap = TapBatchImport(
        config={**config(emu), "druid_bulk_ids": ["B1"], "job_max_pending_days": 36500}
    )
    with caplog.at_level("INFO"):
        tap.sync_all()
    progress = [
        r.getMessage() for r in caplog.records if "rows of bulk_results so far" in r.getMessage()
    ]
    assert progress, [r.getMessage() for r in caplog.records][-20:]
    # DruID documents no row count, so its progress line has no total.
    assert progress[0] == "DruID job B1: 5 rows of bulk_results so far", progress
    users = [m for m in (r.getMessage() for r in caplog.records) if "rows of imported_users" in m]
    assert any(
        m.startswith("Fullstory job U1: 10 rows of imported_users so far (of 60)") for m in users
    )
