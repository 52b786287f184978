"""One OAuth token per vendor however many requests start at the same instant.

Workers of a vendor start together and each asks for the vendor's client first: a client
made twice is a token fetched twice (SailPoint counts token requests against its 100 per
10 s). A barrier releases every thread at once, so a missing lock shows on any Python,
not only on those whose ``functools.cached_property`` lost its lock (3.12 and later).
"""

from __future__ import annotations

import sys
import threading

import pytest

from emulator.druid import DruidBulk
from emulator.sailpoint import SailpointJob
from tap_batchimport.jobs import JobRef
from tests.unit_helpers import druid_vendor, sailpoint_vendor

THREADS = 32


def _all_at_once(call: object, threads: int = THREADS) -> list[BaseException]:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            call()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001  # reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    # Switch threads as often as the interpreter can: a check-then-set without a lock
    # then loses its race on every Python (the GIL's default 5 ms hides it on some).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
    finally:
        sys.setswitchinterval(interval)
    return errors


@pytest.mark.parametrize("attempt", range(3))
def test_druid_one_token_for_requests_starting_together(emulator, attempt):
    emulator.dataset.druid_bulks = [DruidBulk(f"bulk-{attempt}", status="completed")]
    vendor = druid_vendor(emulator.druid_api_url, emulator.druid_auth_url)
    ref = JobRef("druid", f"bulk-{attempt}")
    errors = _all_at_once(lambda: vendor.fetch_status(ref))
    assert not errors
    assert emulator.count("druid.token") == 1
    assert emulator.count("druid.status") == THREADS


@pytest.mark.parametrize("attempt", range(3))
def test_sailpoint_one_token_for_requests_starting_together(emulator, attempt):
    emulator.dataset.sailpoint_jobs = [SailpointJob(f"sp-{attempt}", status="COMPLETE")]
    vendor = sailpoint_vendor(emulator.sailpoint_url)
    ref = JobRef("sailpoint", f"sp-{attempt}")
    errors = _all_at_once(lambda: vendor.fetch_status(ref))
    assert not errors
    assert emulator.count("sailpoint.token") == 1
