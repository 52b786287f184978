"""``--test`` through the real CLI: unknown job ids fail it, and a silent host fails it fast."""

from __future__ import annotations

import socket
import threading
import time
import typing as t

import pytest

from emulator.scenarios import USERS_COMPLETED, USERS_UNKNOWN, demo_dataset, demo_tap_config
from emulator.server import VendorEmulator

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import TapRun

#: The bound the feature promises; the test's own design targets well under it (~10 s).
SILENT_HOST_BOUND_SECONDS = 20


@pytest.fixture
def demo_emulator() -> Iterator[VendorEmulator]:
    with VendorEmulator(demo_dataset()) as emu:
        yield emu


def lines_of(run: TapRun, vendor: str) -> list[str]:
    return [x.split("| ")[-1] for x in run.stderr.splitlines() if f"{vendor}: " in x]


def test_a_named_job_the_vendor_does_not_know_fails_the_test(demo_emulator, tap):
    config = demo_tap_config(demo_emulator)
    assert USERS_UNKNOWN in config["fullstory_user_import_job_ids"]
    run = tap(config, extra_args=["--test"])
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    (fullstory,) = lines_of(run, "Fullstory")
    assert fullstory.startswith("Fullstory: failed: unknown job id (mistyped?)"), fullstory
    assert f"fullstory_users job {USERS_UNKNOWN}" in fullstory
    assert USERS_COMPLETED not in fullstory  # only the unknown one is named
    assert [x for x in lines_of(run, "DruID") if x.startswith("DruID: ok (")]
    assert [x for x in lines_of(run, "SailPoint") if x.startswith("SailPoint: ok (")]
    assert [m for m in run.messages if m["type"] == "RECORD"] == []


def test_named_jobs_the_vendor_knows_pass_the_test(demo_emulator, tap):
    config = demo_tap_config(demo_emulator)
    config["fullstory_user_import_job_ids"] = [
        i for i in config["fullstory_user_import_job_ids"] if i != USERS_UNKNOWN
    ]
    run = tap(config, extra_args=["--test"])
    assert run.returncode == 0, run.stderr
    (fullstory,) = lines_of(run, "Fullstory")
    assert fullstory.startswith("Fullstory: ok (status of 5 named job(s): "), fullstory
    assert "| ERROR" not in run.stderr


class SilentServer:
    """Accepts TCP connections on loopback and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def __enter__(self) -> SilentServer:  # noqa: PYI034 - Self needs Python 3.11
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_host_that_never_answers_fails_the_test_within_the_bound(tap):
    with SilentServer() as silent:
        url = f"http://127.0.0.1:{silent.port}"
        config = {
            "fullstory_api_key": "fs-key",
            "fullstory_api_url": f"{url}/fullstory",
            "fullstory_user_import_job_ids": ["U1"],
            "druid_api_url": f"{url}/druid",
            "druid_auth_url": f"{url}/druid-auth",
            "druid_client_id": "druid-client",
            "druid_client_secret": "druid-secret",
            "sailpoint_api_url": f"{url}/sailpoint",
            "sailpoint_client_id": "sp-client",
            "sailpoint_client_secret": "sp-secret",
            # What a production config may say: the test caps them for itself.
            "request_timeout_seconds": 60,
            "retry_max_attempts": 8,
            "retry_max_wait_seconds": 300,
        }
        started = time.monotonic()
        run = tap(config, extra_args=["--test"], timeout=120)
        took = time.monotonic() - started
        connections = len(silent.held)
    assert run.returncode == 1, run.stderr
    assert took < SILENT_HOST_BOUND_SECONDS, f"--test took {took:.1f} s"
    assert "Traceback" not in run.stderr
    for vendor in ("Fullstory", "DruID", "SailPoint"):
        (line,) = lines_of(run, vendor)
        assert line.startswith(f"{vendor}: failed: "), line
        assert "secret" not in line and "fs-key" not in line
    assert connections >= 3, "every vendor should have reached the silent host"
