"""Shared test harness: the vendor emulator on loopback and the tap's real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emulator.server import VendorEmulator

if t.TYPE_CHECKING:
    from collections.abc import Iterator


#: ``job_max_pending_days`` of every test run that does not set its own.
OLD_JOBS_STAY_PENDING_DAYS = 36500


@dataclass
class TapRun:
    """What one run of ``tap-batchimport`` printed."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, t.Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def schema(self, stream: str) -> dict[str, t.Any]:
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)

    @property
    def states(self) -> list[dict[str, t.Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        return self.states[-1] if self.states else {}

    def result_records(self) -> dict[str, list[dict[str, t.Any]]]:
        out: dict[str, list[dict[str, t.Any]]] = {}
        for m in self.messages:
            if m["type"] == "RECORD" and m["stream"] != "job_details":
                out.setdefault(m["stream"], []).append(m["record"])
        return out


def run_tap(
    tmp_path: Path,
    config: dict[str, t.Any],
    state: dict[str, t.Any] | None = None,
    *,
    extra_args: t.Sequence[str] = (),
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> TapRun:
    """Run the tap's real CLI (``python -m tap_batchimport``) and parse its output."""
    # The emulator's jobs were created in 2024: without a long age limit every job still
    # processing would be given up at first sight (tests of the limit set their own).
    config = {"job_max_pending_days": OLD_JOBS_STAY_PENDING_DAYS, **config}
    config_path = tmp_path / f"config-{os.urandom(4).hex()}.json"
    config_path.write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_batchimport", "--config", str(config_path), *extra_args]
    if state is not None:
        state_path = tmp_path / f"state-{os.urandom(4).hex()}.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"type"')]
    return TapRun(proc.returncode, proc.stdout, proc.stderr, messages)


def duplicate_keys(records: list[dict[str, t.Any]], keys: t.Sequence[str]) -> list[tuple]:
    """Primary-key values that occur more than once (the SDK's own test can't see these)."""
    counts = Counter(tuple(r.get(k) for k in keys) for r in records)
    return [k for k, n in counts.items() if n > 1]


@pytest.fixture
def emulator() -> Iterator[VendorEmulator]:
    """An empty vendor emulator on a free loopback port (fill ``emulator.dataset``)."""
    with VendorEmulator() as emu:
        yield emu


@pytest.fixture
def tap(tmp_path: Path) -> t.Callable[..., TapRun]:
    """Run the tap: ``tap(config, state=None, extra_args=())``."""

    def _run(
        config: dict[str, t.Any], state: dict[str, t.Any] | None = None, **kw: t.Any
    ) -> TapRun:
        return run_tap(tmp_path, config, state, **kw)

    return _run


def stream_bookmarks(state: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """The job ledger of a state seen per results stream: ``{stream: {done, progress}}``.

    ``done`` lists the jobs whose rows of that stream were all written, ``progress`` the
    resume cursor of each job being read (the previous release's per-stream layout, which
    the tap still reads and migrates).
    """
    view: dict[str, dict[str, t.Any]] = defaultdict(lambda: {"done": [], "progress": {}})
    ledger = state.get("bookmarks", {}).get("job_details", {}).get("jobs", {})
    for entries in ledger.values():
        for job_id, entry in entries.items():
            for stream in entry.get("done", []):
                view[stream]["done"].append(job_id)
            for stream, cursor in entry.get("cursors", {}).items():
                view[stream]["progress"][job_id] = cursor
    for bookmarks in view.values():
        bookmarks["done"].sort()
    return view


def legacy_state(bookmarks: dict[str, dict[str, t.Any]]) -> dict[str, t.Any]:
    """A state as the previous release wrote it (per-stream ``done``/``progress``)."""
    return {"bookmarks": bookmarks}
