"""Every read is bounded: in time from connect to the last byte, in size after decompression.

Through the CLI against a hostile loopback server: a server dripping one byte every 2 s
(in its headers or its body) ends within attempts x timeout plus back-off; an endless
chunked body, a huge ``Content-Length`` and gzip bombs end with one clear error, and the
tap's peak memory (measured from outside, printed) stays under 300 MiB. Faster checks of
the same parts run in process.
"""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
import time
import typing as t
import zlib

import pytest
import requests

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.fullstory.vendor import FullstoryVendor
from tap_batchimport.jobs import JobRef
from tests.conftest import OLD_JOBS_STAY_PENDING_DAYS, TapRun
from tests.hostile_server import (
    HostileServer,
    Reply,
    drip,
    drip_raw,
    endless,
    endless_raw,
    json_reply,
)

if t.TYPE_CHECKING:
    import threading
    from collections.abc import Iterator
    from pathlib import Path

MIB = 1 << 20
#: The issue's bound on the tap's peak memory for any of these bodies.
MAX_RSS_MIB = 300
STATUS_PATH = "/fs/v2/users/batch/U1"
STATUS = "Fullstory GET /v2/users/batch/U1 failed: "
JOB = {"job": {"id": "U1", "status": "COMPLETED", "finished": "2024-05-01T10:00:00Z"}}


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def config(server: HostileServer, **overrides: t.Any) -> dict[str, t.Any]:
    return {
        "fullstory_api_key": "fs-key-for-hostile-tests",
        "fullstory_api_url": server.url + "/fs",
        "fullstory_user_import_job_ids": ["U1"],
        "job_max_pending_days": OLD_JOBS_STAY_PENDING_DAYS,
        "retry_max_attempts": 2,
        "retry_max_wait_seconds": 10,
        **overrides,
    }


#: Runs the tap's CLI (``python -m tap_batchimport``) and, as the process exits, writes its
#: own peak RSS (``VmHWM``, KiB) to the file named first. ``wait4``'s ``ru_maxrss`` cannot be
#: used: Linux counts in it the parent's memory at fork time (a pytest worker that has run
#: other tests may hold a gigabyte), not only what the tap itself used after ``exec``.
PEAK_RSS_WRAPPER = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status:
        hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        f.write(hwm)
atexit.register(peak)
sys.argv[0] = "tap-batchimport"
runpy.run_module("tap_batchimport", run_name="__main__", alter_sys=True)
"""


def run_measured(tmp_path: Path, config: dict[str, t.Any]) -> tuple[TapRun, float, float]:
    """Run the CLI; return what it printed, its peak RSS in MiB and its wall-clock seconds."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    out, err, peak = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "peak-kib"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.run(
            [sys.executable, "-c", PEAK_RSS_WRAPPER, str(peak), "--config", str(config_path)],
            stdout=stdout,
            stderr=stderr,
            timeout=300,
            check=False,
        )
    elapsed = time.monotonic() - started
    text = out.read_text()
    messages = [json.loads(line) for line in text.splitlines() if line.startswith('{"type"')]
    run = TapRun(proc.returncode, text, err.read_text(), messages)
    return run, int(peak.read_text()) / 1024, elapsed


def failure_line(run: TapRun) -> str:
    assert "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if " failed: " in line]
    return line


# Time: a server that drips.


def dripped_answer(stop: threading.Event) -> Reply:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 999\r\n\r\n"
    return Reply(body=drip_raw(head + b'{"job": {}}', 2.0, stop))


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_server_dripping_a_byte_every_2_s_times_out(
    where: str, server: HostileServer, tmp_path: Path
) -> None:
    if where == "headers":
        server.route("GET", STATUS_PATH, lambda r: dripped_answer(server.stopping))
    else:
        server.route(
            "GET", STATUS_PATH, lambda r: Reply(200, drip(b'{"job": {', 2.0, server.stopping))
        )
    timeout, attempts = 3, 2
    run, rss, elapsed = run_measured(
        tmp_path, config(server, request_timeout_seconds=timeout, retry_max_attempts=attempts)
    )
    print(f"drip in the {where}: ended after {elapsed:.1f} s, peak RSS {rss:.0f} MiB")  # noqa: T201
    assert run.returncode == 1
    line = failure_line(run)
    assert STATUS + "ReadTimeout (no HTTP answer): no complete answer within " in line
    assert "request_timeout_seconds=3; gave up after 2 tries (retry_max_attempts=2)" in line
    assert server.count(STATUS_PATH) == attempts
    # attempts x timeout, plus one back-off (at most 1 s), plus the interpreter's start-up.
    assert elapsed < attempts * timeout + 1 + 20
    assert run.states


# Size: endless and huge bodies, gzip bombs.


def gzip_stream(first: bytes, stop: threading.Event) -> Iterator[bytes]:
    """A gzip member that never ends: ``first``, then zeros for ever (about 1000:1).

    After a full flush a deflate stream starts afresh, so one compressed block of zeros
    can be sent again and again: the server spends nothing on an endless bomb.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    yield packer.compress(first) + packer.flush(zlib.Z_FULL_FLUSH)
    zeros = packer.compress(bytes(16 * MIB)) + packer.flush(zlib.Z_FULL_FLUSH)
    while not stop.is_set():
        yield zeros


GZIP = {"Content-Encoding": "gzip", "Content-Type": "application/json"}


def hostile_body(kind: str, server: HostileServer) -> Reply:
    stop = server.stopping
    if kind == "endless-chunked":
        return Reply(200, endless(b"a" * 65536, stop), headers={"Content-Type": "text/plain"})
    if kind == "endless-chunked-json":
        return Reply(200, iter_json(stop), headers={"Content-Type": "application/json"})
    if kind == "huge-content-length":
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n"
        return Reply(body=endless_raw(head, b"{" * 65536, stop))
    if kind == "gzip-bomb":
        return Reply(200, gzip_stream(b"", stop), headers=GZIP)
    assert kind == "gzip-bomb-json"
    return Reply(200, gzip_stream(b'{"job": "', stop), headers=GZIP)


def iter_json(stop: threading.Event) -> Iterator[bytes]:
    yield b'{"job": ['
    yield from endless(b"0," * 32768, stop)


#: (kind, max_response_mb, what the error says). Bodies that start as a JSON object are
#: read up to the limit (peak memory about the limit plus the interpreter's ~60 MiB, so the
#: default of 256 would pass 300 MiB: those run with 64); others end at their first piece.
TOO_LARGE = "answer is larger than max_response_mb={mb} (counted after decompression); the rest"
NOT_JSON = "answer is not the JSON object the endpoint returns: it starts with {first}, not '{{{{' (the rest was not read)"
BODIES = [
    ("endless-chunked", None, NOT_JSON.format(first="'a'")),
    ("endless-chunked-json", 64, TOO_LARGE),
    ("huge-content-length", None, TOO_LARGE),
    ("gzip-bomb", None, NOT_JSON.format(first="'\\x00'")),
    ("gzip-bomb-json", 64, TOO_LARGE),
]


@pytest.mark.parametrize(("kind", "max_mb", "error"), BODIES, ids=[b[0] for b in BODIES])
def test_an_endless_or_huge_body_ends_with_one_clear_error_in_bounded_memory(
    kind: str, max_mb: int | None, error: str, server: HostileServer, tmp_path: Path
) -> None:
    server.route("GET", STATUS_PATH, lambda r: hostile_body(kind, server))
    overrides = {} if max_mb is None else {"max_response_mb": max_mb}
    run, rss, elapsed = run_measured(tmp_path, config(server, **overrides))
    print(f"{kind}: ended after {elapsed:.1f} s, peak RSS {rss:.0f} MiB")  # noqa: T201
    assert run.returncode == 1
    line = failure_line(run)
    assert STATUS + "HTTP 200: " + error.format(mb=max_mb or 256) in line
    # The job fails alone (the vendor's other jobs would go on), tried again next run.
    assert "gave up after 2 tries (retry_max_attempts=2); its other jobs go on" in line
    assert rss < MAX_RSS_MIB
    assert server.count(STATUS_PATH) == 2  # retried like any malformed answer
    assert run.states


# In process: the same reader, quicker cases.


def client_for(server: HostileServer, **overrides: t.Any) -> FullstoryVendor:
    settings = config(server, retry_max_attempts=1, retry_max_wait_seconds=0, **overrides)
    return FullstoryVendor(settings, logging.getLogger("tests.bounded"))


def test_a_gzip_answer_is_decompressed(server: HostileServer) -> None:
    body = gzip.compress(json.dumps(JOB).encode())
    server.route("GET", STATUS_PATH, lambda r: Reply(200, body, headers=GZIP))
    status = client_for(server).fetch_status(JobRef("fullstory_users", "U1"))
    assert status.status == "COMPLETED"


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_of_exactly_max_response_mb_is_read_and_one_byte_more_is_not(
    chunked: bool, server: HostileServer
) -> None:
    text = json.dumps(JOB).encode()
    exact = text[:-1] + b" " * (MIB - len(text)) + b"}"
    assert len(exact) == MIB

    def answer(body: bytes) -> Reply:
        if chunked:
            return Reply(200, iter([body[: MIB // 2], body[MIB // 2 :]]))
        return Reply(200, body)

    vendor = client_for(server, max_response_mb=1)
    server.route("GET", STATUS_PATH, lambda r: answer(exact))
    assert vendor.fetch_status(JobRef("fullstory_users", "U1")).status == "COMPLETED"
    server.route("GET", STATUS_PATH, lambda r: answer(exact[:-1] + b" }"))
    with pytest.raises(VendorAPIError, match="answer is larger than max_response_mb=1 "):
        vendor.fetch_status(JobRef("fullstory_users", "U1"))


def test_a_redirect_with_an_endless_body_is_followed_without_reading_it(
    server: HostileServer,
) -> None:
    def redirect(request: t.Any) -> Reply:
        return Reply(302, endless(b"x" * 65536, server.stopping), headers={"Location": "/fs/moved"})

    server.route("GET", STATUS_PATH, redirect)
    server.route("GET", "/fs/moved", lambda r: json_reply(200, JOB))
    status = client_for(server).fetch_status(JobRef("fullstory_users", "U1"))
    assert status.status == "COMPLETED"


def test_a_connection_left_with_unread_bytes_is_not_reused(server: HostileServer) -> None:
    # The first answer is cut at the limit; the next request must not read its remains.
    calls = {"n": 0}

    def answer(request: t.Any) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return Reply(200, b"{" + b" " * (2 * MIB) + b"}")
        return json_reply(200, JOB)

    server.route("GET", STATUS_PATH, answer)
    vendor = client_for(server, max_response_mb=1)
    with pytest.raises(VendorAPIError, match="larger than max_response_mb=1"):
        vendor.fetch_status(JobRef("fullstory_users", "U1"))
    assert vendor.fetch_status(JobRef("fullstory_users", "U1")).status == "COMPLETED"


def test_requests_alone_reads_a_dripping_body_for_as_long_as_it_drips(
    server: HostileServer,
) -> None:
    # Why the tap keeps its own deadline: `timeout` is per read, and each read gets a byte.
    server.route(
        "GET", STATUS_PATH, lambda r: Reply(200, drip(b"{}" + b" " * 3, 0.3, server.stopping))
    )
    started = time.monotonic()
    with requests.get(server.url + STATUS_PATH, timeout=1, stream=True) as answer:
        for _ in answer.iter_content(1):
            if time.monotonic() - started > 2:
                break
    assert time.monotonic() - started > 2  # 1 s per read, yet still reading after 2 s
