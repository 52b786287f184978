"""Batch mode (``batch_config``): no STATE ever claims rows that no BATCH message announced.

Through the CLI against the emulator's mixed data (every vendor, jobs of several pages),
files rolling over every 8 rows, so every big job spans several files:

- stopped (``kill -9``) right after each of several STATE messages spread over a run and
  resumed from that STATE, the rows of the files announced before the stop and those of
  the resumed run are exactly the data: nothing lost, and no row announced twice (each
  STATE claims exactly the files announced before it). RECORD mode, stopped the same way,
  re-emits at most one page per job;
- stopped right after a BATCH message, before its STATE, the resume re-emits at most
  that one file's rows per job;
- a SIGTERM while a file is open writes a final STATE that claims none of its rows and
  removes the unfinished file; the resume still loses nothing;
- stream maps and flattening shape the files' rows as they shape RECORD messages;
- a combination the tap cannot write safely is refused before any request, in one line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import typing as t
from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from emulator import faults
from tests import mixed_data
from tests.batch_output import as_records, batch_config, file_rows
from tests.conftest import OLD_JOBS_STAY_PENDING_DAYS, stream_bookmarks
from tests.test_interrupt import STUCK_SECONDS, assert_stopped_cleanly, interrupt

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

Message = dict[str, t.Any]

#: Rows per file: every job of the mixed data but the smallest spans several files.
FILE_ROWS = 8
#: STATE positions at which a run is stopped, spread over the whole run.
STOPS = 6


@pytest.fixture
def emu(emulator: VendorEmulator) -> VendorEmulator:
    mixed_data.fill(emulator)
    return emulator


def config(emu: VendorEmulator, root: Path | None, **overrides: t.Any) -> dict[str, t.Any]:
    """The mixed data's config; batch mode into ``root`` unless it is None."""
    extra = {} if root is None else {"batch_config": batch_config(root, batch_size=FILE_ROWS)}
    return mixed_data.config(
        emu, job_max_pending_days=OLD_JOBS_STAY_PENDING_DAYS, **extra, **overrides
    )


def run_until(
    tmp_path: Path,
    cfg: dict[str, t.Any],
    state: dict[str, t.Any] | None,
    stop: Callable[[Message], bool] = lambda _: False,
) -> list[Message]:
    """Run the tap; ``kill -9`` it as soon as ``stop(message)`` holds for a message read.

    Returns:
        The messages up to that one included: what a target had received when it died.
    """
    name = os.urandom(4).hex()
    (tmp_path / f"config-{name}.json").write_text(json.dumps(cfg))
    args = [
        sys.executable,
        "-m",
        "tap_batchimport",
        "--config",
        str(tmp_path / f"config-{name}.json"),
    ]
    if state is not None:
        (tmp_path / f"state-{name}.json").write_text(json.dumps(state))
        args += ["--state", str(tmp_path / f"state-{name}.json")]
    with (tmp_path / f"stderr-{name}.log").open("w") as stderr:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert proc.stdout is not None
        messages: list[Message] = []
        stopped = False
        for line in proc.stdout:
            messages.append(json.loads(line))
            if stop(messages[-1]):
                proc.kill()
                stopped = True
                break
        proc.stdout.close()
        returncode = proc.wait(timeout=60)
    log = (tmp_path / f"stderr-{name}.log").read_text()
    assert stopped or returncode == 0, log
    assert "Traceback" not in log
    return messages


def nth(kind: str, n: int) -> Callable[[Message], bool]:
    """Stop after the n-th message of this type (1-based)."""
    seen = 0

    def stop(message: Message) -> bool:
        nonlocal seen
        seen += message["type"] == kind
        return seen == n

    return stop


def spread(total: int) -> list[int]:
    """``STOPS`` positions from the first to the last of ``total``."""
    return sorted({1 + (total - 1) * i // (STOPS - 1) for i in range(STOPS)})


def last_state(messages: list[Message]) -> dict[str, t.Any]:
    return next(m["value"] for m in reversed(messages) if m["type"] == "STATE")


def repeats(first: list[Message], second: list[Message]) -> dict[tuple[str, str], set[tuple]]:
    """Result keys both runs emitted, by stream and job."""
    once = [mixed_data.emitted_once(as_records(run)) for run in (first, second)]
    out: dict[tuple[str, str], set[tuple]] = defaultdict(set)
    for stream, records in once[0].items():
        for key in records.keys() & once[1][stream].keys():
            out[stream, mixed_data.job_of(stream, key)].add(key)
    return out


def files_of(messages: list[Message]) -> list[tuple[str, set[tuple]]]:
    """Each announced file of a results stream: its stream and its rows' keys."""
    return [
        (m["stream"], {mixed_data.key_of(m["stream"], row) for row in rows})
        for m in messages
        if m["type"] == "BATCH" and m["stream"] in mixed_data.KEYS
        for rows in file_rows(m)
    ]


@pytest.mark.parametrize("mode", ["record", "batch"])
def test_stopped_after_any_state_and_resumed_nothing_is_lost(
    emu: VendorEmulator, tmp_path: Path, mode: str
) -> None:
    root = tmp_path / "batches" if mode == "batch" else None
    whole = run_until(tmp_path, config(emu, root), None)
    states = sum(m["type"] == "STATE" for m in whole)
    if mode == "batch":
        assert not any(m["type"] == "RECORD" for m in whole)
        assert len(files_of(whole)) > len(mixed_data.KEYS)  # files roll over within jobs
    for n in spread(states):
        first = run_until(tmp_path, config(emu, root), None, nth("STATE", n))
        second = run_until(tmp_path, config(emu, root), last_state(first))
        # Every key, equal to the emulator's row; RECORD mode: at most a page per job again.
        again = 10**9 if mode == "batch" else 1
        mixed_data.assert_union_is_the_data(
            emu, as_records(first), as_records(second), max_pages_again=again
        )
        if mode == "batch":
            # A STATE claims exactly the files announced before it: nothing comes again.
            assert repeats(first, second) == {}, f"stopped after STATE {n} of {states}"


def test_stopped_between_a_batch_and_its_state_re_emits_at_most_that_file(
    emu: VendorEmulator, tmp_path: Path
) -> None:
    root = tmp_path / "batches"
    whole = run_until(tmp_path, config(emu, root), None)
    batches = sum(m["type"] == "BATCH" for m in whole)
    for n in spread(batches):
        first = run_until(tmp_path, config(emu, root), None, nth("BATCH", n))
        assert first[-1]["type"] == "BATCH"
        second = run_until(tmp_path, config(emu, root), last_state(first))
        mixed_data.assert_union_is_the_data(
            emu, as_records(first), as_records(second), max_pages_again=10**9
        )
        announced = files_of(first)
        for (stream, job), keys in repeats(first, second).items():
            # Only the last file (announced, not yet claimed by a STATE) comes again.
            assert any(s == stream and keys <= rows for s, rows in announced[-1:]), (
                f"stopped after BATCH {n}: {stream} job {job} re-emitted {len(keys)} rows"
            )


def test_sigterm_with_a_file_open_claims_none_of_its_rows(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path
) -> None:
    # B1's 23 rows go to the open file (100 rows per file), then B2's first page hangs.
    root = tmp_path / "batches"
    stall = emu.faults.add("druid.results", faults.stall(STUCK_SECONDS), on={6})
    cfg = config(emu, None, max_concurrent_requests=1)
    cfg["batch_config"] = batch_config(root, batch_size=100)
    first = interrupt(tmp_path, cfg, signal.SIGTERM, lambda *_: stall.fired == 1)
    assert_stopped_cleanly(first, signal.SIGTERM)
    assert not any(m["type"] == "BATCH" and m["stream"] == "bulk_results" for m in first.messages)
    bookmarks = stream_bookmarks(first.final_state)["bulk_results"]
    assert bookmarks["done"] == []  # B1's rows were never announced
    assert bookmarks["progress"] == {}
    assert list(root.glob("*bulk_results*")) == []  # the unfinished file is removed
    emu.faults.clear()
    second = tap(cfg, first.final_state)
    assert second.returncode == 0, second.stderr
    mixed_data.assert_union_is_the_data(
        emu, as_records(first.messages), as_records(second.messages)
    )
    assert list(root.glob("*.part")) == []


def test_a_file_that_cannot_be_written_stops_the_run_in_one_line(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    run = tap(config(emu, blocker / "batches"))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    # One line says what and why (the SDK adds its own "unhandled error ... syncing" line).
    errors = [line for line in run.stderr.splitlines() if "Cannot write batch file" in line]
    assert len(errors) == 1, run.stderr
    assert "not-a-folder" in errors[0] and errors[0].endswith("Not a directory")
    # The final STATE claims nothing of a file never written.
    assert all(
        not b["done"] and not b["progress"] for b in stream_bookmarks(run.final_state).values()
    )


@pytest.mark.parametrize("shaping", ["maps-and-flattening", "deselected-field"])
def test_files_hold_rows_shaped_as_records_are(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path, shaping: str
) -> None:
    extra_args: list[str] = []
    overrides: dict[str, t.Any] = {}
    if shaping == "maps-and-flattening":
        overrides = {
            "stream_maps": {"bulk_results": {"error": "__NULL__", "id_again": "id"}},
            "flattening_enabled": True,
            "flattening_max_depth": 1,
        }
    else:  # the catalog deselects bulk_results.pulseId
        catalog = json.loads(tap(config(emu, None), extra_args=["--discover"]).stdout)
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if entry["tap_stream_id"] == "bulk_results" and item["breadcrumb"] == [
                    "properties",
                    "pulseId",
                ]:
                    item["metadata"]["selected"] = False
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        extra_args = ["--catalog", str(tmp_path / "catalog.json")]
    records = tap(config(emu, None, **overrides), extra_args=extra_args)
    batches = tap(config(emu, tmp_path / "batches", **overrides), extra_args=extra_args)
    assert records.returncode == 0, records.stderr
    assert batches.returncode == 0, batches.stderr
    from_files = as_records(batches.messages)
    for stream in ("bulk_results", "config_import_results", "job_details"):
        want = [
            m["record"] for m in records.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]
        got = [m["record"] for m in from_files if m["type"] == "RECORD" and m["stream"] == stream]
        if stream == "job_details":  # its records say when the job was first seen
            assert [(r["source"], r["job_id"]) for r in got] == [
                (r["source"], r["job_id"]) for r in want
            ]
        else:
            assert got == want, stream
    bulk = records.records("bulk_results")
    if shaping == "maps-and-flattening":
        assert all("error" not in r and r["id_again"] == r["id"] for r in bulk)
    else:
        assert bulk and all("pulseId" not in r for r in bulk)


@dataclass(frozen=True)
class Refused:
    """A batch-mode combination refused at start-up, and the text of its one line."""

    id: str
    batch: dict[str, t.Any]
    error: str
    overrides: dict[str, t.Any] = field(default_factory=dict)


REFUSED = [
    Refused(
        "parquet",
        {"encoding": {"format": "parquet"}},
        "batch_config.encoding.format 'parquet' is not supported: this tap writes jsonl",
    ),
    Refused(
        "zstd",
        {"encoding": {"compression": "zstd"}},
        "batch_config.encoding.compression 'zstd' is not supported: use gzip or none",
    ),
    Refused(
        "s3",
        {"storage": {"root": "s3://bucket/batches"}},
        "batch_config.storage.root 's3://bucket/batches' is not supported",
    ),
    Refused("no-root", {"storage": None}, "batch_config.storage.root is required"),
    Refused(
        "unknown-key",
        {"batch_size_rows": 1000},
        "batch_config.batch_size_rows is not a setting this tap knows",
    ),
    Refused("size-zero", {"batch_size": 0}, "batch_config.batch_size must be an integer >= 1"),
    Refused(
        "stream-copied",
        {},
        "batch_config cannot be used with stream maps that copy bulk_results into several",
        {"stream_maps": {"bulk_copy": {"__source__": "bulk_results"}}},
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=[case.id for case in REFUSED])
def test_what_batch_mode_cannot_do_is_refused_before_any_request(
    emu: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path, case: Refused
) -> None:
    cfg = config(emu, tmp_path / "batches", **case.overrides)
    for key, value in case.batch.items():
        if isinstance(value, dict):
            cfg["batch_config"][key] = {**cfg["batch_config"].get(key, {}), **value}
        elif value is None:
            del cfg["batch_config"][key]
        else:
            cfg["batch_config"][key] = value
    run = tap(cfg)
    assert run.returncode != 0
    assert len([line for line in run.stderr.splitlines() if case.error in line]) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert emu.requests == []
    assert run.messages == []
