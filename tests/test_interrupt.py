"""SIGTERM / SIGINT mid-run: a prompt exit, a final STATE, and a resume that loses nothing.

The tap runs as a real process (``python -m tap_batchimport``) whose stdout is read as it
comes. The signal lands while the tap is blocked mid-job (a stalled page, a ``Retry-After``
sleep) or between pages. Each test then checks:

- the exit is prompt and says so: ``128 + signum`` (143 for SIGTERM, 130 for SIGINT),
  one WARNING line, no traceback;
- stdout is whole Singer lines and ends with a STATE, and every record buffered when the
  signal came was written before that STATE;
- a second run from that STATE emits the rest: both runs together hold every row of the
  data, with at most one page per job emitted twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field

import pytest

from emulator import faults
from tests import mixed_data
from tests.conftest import stream_bookmarks

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

#: Long enough that only the signal can end the wait.
STUCK_SECONDS = 60


@dataclass
class Interrupted:
    """What an interrupted run printed."""

    returncode: int
    exit_seconds: float
    messages: list[dict[str, t.Any]] = field(default_factory=list)
    stderr: str = ""

    @property
    def final_state(self) -> dict[str, t.Any]:
        return next(m["value"] for m in reversed(self.messages) if m["type"] == "STATE")

    def count(self, stream: str) -> int:
        return sum(1 for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream)


def interrupt(
    tmp_path: Path,
    config: dict[str, t.Any],
    signum: int,
    when: Callable[[list[dict[str, t.Any]], str], bool],
) -> Interrupted:
    """Run the tap, signal it once ``when(messages, stderr so far)`` holds, collect its output.

    Every stdout line must be one whole JSON message (the reader fails on a cut line).
    """
    config_path = tmp_path / f"config-{os.urandom(4).hex()}.json"
    config_path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_batchimport", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    messages: list[dict[str, t.Any]] = []
    stderr: list[str] = []
    readers = [
        threading.Thread(target=lambda: messages.extend(json.loads(line) for line in proc.stdout)),
        threading.Thread(target=lambda: stderr.extend(proc.stderr)),
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 30
        while not when(list(messages), "".join(stderr)):
            assert proc.poll() is None, "the tap ended before the signal"
            assert time.monotonic() < deadline, "the tap never reached the point to interrupt"
            time.sleep(0.02)
        sent = time.monotonic()
        proc.send_signal(signum)
        returncode = proc.wait(timeout=15)
        exit_seconds = time.monotonic() - sent
    finally:
        proc.kill()
        for reader in readers:
            reader.join(timeout=5)
    return Interrupted(returncode, exit_seconds, messages, "".join(stderr))


def assert_stopped_cleanly(run: Interrupted, signum: int) -> None:
    name = signal.Signals(signum).name
    assert run.returncode == 128 + signum, run.stderr
    assert run.exit_seconds < 5, run.exit_seconds
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if f"{name} received" in line]
    assert len(lines) == 1, run.stderr
    assert "the final STATE resumes the next run" in lines[0]
    assert f"(exit {128 + signum})" in lines[0]
    assert run.messages[-1]["type"] == "STATE"


def resume(emulator: VendorEmulator, tap: Callable[..., TapRun], first: Interrupted) -> TapRun:
    emulator.faults.clear()
    second = tap(mixed_data.config(emulator), first.final_state)
    assert second.returncode == 0, second.stderr
    mixed_data.assert_union_is_the_data(emulator, first.messages, second.messages)
    return second


@pytest.fixture
def emu(emulator: VendorEmulator) -> VendorEmulator:
    mixed_data.fill(emulator)
    return emulator


def test_sigterm_during_a_stalled_page_flushes_the_buffered_records_first(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path
) -> None:
    # B1's 5 pages go through, then B2's first page hangs. B1's last page is complete,
    # so its records may still sit in the output buffer (no STATE is due after a job's
    # last page): the signal must write them, then a STATE that marks B1 done.
    stall = emu.faults.add("druid.results", faults.stall(STUCK_SECONDS), on={6})
    first = interrupt(
        tmp_path,
        mixed_data.config(emu, max_concurrent_requests=1),  # request 6 is B2's first page
        signal.SIGTERM,
        lambda *_: stall.fired == 1,
    )
    assert_stopped_cleanly(first, signal.SIGTERM)
    assert first.count("bulk_results") == 23  # every B1 row, none of B2
    bookmarks = stream_bookmarks(first.final_state)["bulk_results"]
    assert bookmarks["done"] == ["B1"]
    assert bookmarks["progress"] == {}
    # What was still buffered went out between the last STATE and the final one: B1's
    # last page (3 rows), or nothing if a STATE had followed that page already.
    states = [i for i, m in enumerate(first.messages) if m["type"] == "STATE"]
    tail = first.messages[states[-2] + 1 : states[-1]]
    last_page = [row["id"] for row in emu.dataset.druid_bulk("B1").results[20:]]
    assert [m["record"]["id"] for m in tail] in (last_page, [])
    second = resume(emu, tap, first)
    assert {r["bulk_id"] for r in second.records("bulk_results")} == {"B2"}


def test_sigterm_during_a_retry_after_wait_exits_at_once(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path
) -> None:
    # E1's second page is rate limited for a minute: the tap is asleep, mid-job.
    emu.faults.add("fullstory.imports", faults.status(429, retry_after=str(STUCK_SECONDS)), on={2})
    first = interrupt(
        tmp_path,
        mixed_data.config(emu, max_concurrent_requests=1),  # request 2 is E1's second page
        signal.SIGTERM,
        lambda _, stderr: "for Fullstory rate limit" in stderr,
    )
    assert_stopped_cleanly(first, signal.SIGTERM)
    assert f"Fullstory rate limit (Retry-After: {STUCK_SECONDS} s)" in first.stderr
    assert first.count("imported_events") == 10  # the first page
    progress = stream_bookmarks(first.final_state)["imported_events"]["progress"]
    assert progress["E1"]["row"] == 10
    resume(emu, tap, first)


def test_sigint_after_n_records_while_pages_are_slow(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path
) -> None:
    # Every DruID page takes 0.3 s: Ctrl-C lands mid-bulk, wherever the tap is then.
    emu.faults.add("druid.results", faults.stall(0.3))
    first = interrupt(
        tmp_path,
        mixed_data.config(emu),
        signal.SIGINT,
        lambda messages, _: sum(m["type"] == "RECORD" for m in messages) >= 10,
    )
    assert_stopped_cleanly(first, signal.SIGINT)
    assert 10 <= first.count("bulk_results") < 30
    resume(emu, tap, first)


def test_a_signal_before_any_record_leaves_nothing_bookmarked(
    emu: VendorEmulator, tmp_path: Path
) -> None:
    # The first request (DruID's token) hangs: nothing is extracted yet.
    emu.faults.add("druid.token", faults.stall(STUCK_SECONDS))
    first = interrupt(
        tmp_path,
        mixed_data.config(emu),
        signal.SIGTERM,
        lambda *_: bool(emu.faults.rules[0].fired),
    )
    assert_stopped_cleanly(first, signal.SIGTERM)
    assert first.count("bulk_results") == 0
    bookmarks = stream_bookmarks(first.final_state)
    assert all(not b.get("done") and not b.get("progress") for b in bookmarks.values())
