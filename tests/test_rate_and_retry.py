"""The per-vendor rate gate, and the retry waits test_resilience.py does not cover.

The gate is checked on the request starts it lets through (recorded as each call
returns), which is a property of the gate, not a speed goal: every assertion is a lower
bound on when something may happen, never an upper bound on how long it takes.
(Retry-After floors, its two header forms and the total-wait cap are in
test_resilience.py.) One budget bounds every wait of a request: back-off, Retry-After and
the time other requests' 429s hold it at the gate (unit tests, and one through the CLI).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import typing as t

import pytest

from emulator import faults
from emulator.fullstory import FullstoryJob
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.http.client import VendorClient
from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.http.rate import WINDOW_MARGIN, RateGate, RateLimit, RateLimitTooLongError
from tap_batchimport.http.retry import MAX_BACKOFF_SECONDS, RetryBudget, RetryPolicy

if t.TYPE_CHECKING:
    from pytest_httpserver import HTTPServer

    from emulator.server import VendorEmulator

PATIENCE = 5.0


def run_threads(count: int, target) -> None:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(thread.is_alive() for thread in threads)


def most_in_any_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    return max(sum(1 for s in starts[i:] if s - first < window) for i, first in enumerate(starts))


def test_rate_gate_keeps_at_most_n_starts_in_any_window_one_thread():
    limit = RateLimit(requests=5, per_seconds=0.2)
    gate = RateGate(limit)
    starts = []
    for _ in range(12):
        gate.wait_turn()
        starts.append(time.monotonic())

    assert most_in_any_window(starts, limit.per_seconds) == 5
    # The sixth start waited for the first to leave the window (with the gate's margin).
    assert starts[5] - starts[0] >= limit.per_seconds
    assert starts[10] - starts[5] >= limit.per_seconds
    assert gate.waited > 0


def test_rate_gate_keeps_at_most_n_starts_in_any_window_across_threads():
    limit = RateLimit(requests=5, per_seconds=0.3)
    gate = RateGate(limit)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            gate.wait_turn()
            now = time.monotonic()
            with lock:
                starts.append(now)

    run_threads(3, worker)

    assert len(starts) == 12
    # Starts are recorded a moment after the gate lets them go: the gate keeps a window
    # WINDOW_MARGIN longer than the limit's, which absorbs that moment.
    assert WINDOW_MARGIN > 1
    assert most_in_any_window(starts, limit.per_seconds) <= 5


def test_rate_gate_without_a_limit_never_holds_a_request():
    gate = RateGate()
    for _ in range(1000):
        gate.wait_turn()
    assert gate.waited == 0


def test_pause_holds_every_thread_until_it_ends():
    gate = RateGate()
    paused_at = time.monotonic()
    gate.pause(0.2)
    gate.pause(0.05)  # a shorter pause never shortens the one in force
    released: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        gate.wait_turn()
        now = time.monotonic()
        with lock:
            released.append(now)

    run_threads(4, worker)
    assert len(released) == 4
    assert min(released) >= paused_at + 0.2
    assert gate.waited > 0


def test_a_pause_during_a_wait_extends_it():
    gate = RateGate()
    gate.pause(0.1)
    released: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(4)

    def worker() -> None:
        ready.wait(PATIENCE)
        gate.wait_turn()
        now = time.monotonic()
        with lock:
            released.append(now)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    ready.wait(PATIENCE)
    time.sleep(0.02)  # the workers are now waiting out the first pause
    repaused_at = time.monotonic()
    gate.pause(0.2)  # another 429 meanwhile
    for thread in threads:
        thread.join(PATIENCE)

    assert len(released) == 3
    assert min(released) >= repaused_at + 0.2


def test_pause_and_limit_together():
    limit = RateLimit(requests=2, per_seconds=0.1)
    gate = RateGate(limit)
    gate.wait_turn()
    gate.wait_turn()
    paused_at = time.monotonic()
    gate.pause(0.15)
    gate.wait_turn()
    assert time.monotonic() >= paused_at + 0.15


# -- RetryPolicy: exponential back-off without Retry-After --------------------------------


class _ConnectionLostError(Exception):
    """A dropped connection: no response, so no Retry-After."""


def backoff_waits(policy: RetryPolicy, failures: int) -> tuple[list[float], RetryBudget]:
    budget = RetryBudget()
    generator = policy.wait_generator(budget)
    assert next(generator) == 0.0  # priming value, discarded by backoff
    waits: list[float] = []
    with contextlib.suppress(StopIteration):  # the generator stops: no more retries
        while len(waits) < failures:
            waits.append(generator.send(_ConnectionLostError()))
    return waits, budget


@pytest.mark.parametrize("seed", range(5))
def test_backoff_doubles_with_jitter_between_half_and_the_full_step_up_to_the_cap(seed):
    policy = RetryPolicy(max_tries=50, max_wait_seconds=10_000, rng=random.Random(seed))
    waits, budget = backoff_waits(policy, 12)

    assert len(waits) == 12
    for attempt, wait in enumerate(waits):
        step = min(MAX_BACKOFF_SECONDS, 2**attempt)
        assert step / 2 <= wait <= step, (attempt, wait)
    assert budget.waited == pytest.approx(sum(waits))
    assert budget.stop_reason is None


def test_backoff_steps_scale_with_base_seconds():
    policy = RetryPolicy(base_seconds=0.1, max_wait_seconds=100, rng=random.Random(1))
    waits, _ = backoff_waits(policy, 4)
    for attempt, wait in enumerate(waits):
        step = 0.1 * 2**attempt
        assert step / 2 <= wait <= step


def test_backoff_stops_before_a_wait_beyond_the_budget_and_says_why():
    policy = RetryPolicy(max_wait_seconds=5, rng=random.Random(3))
    waits, budget = backoff_waits(policy, 20)

    assert 1 <= len(waits) < 20
    assert sum(waits) <= 5
    assert budget.waited == pytest.approx(sum(waits))
    assert "gave up after waiting" in str(budget.stop_reason)
    assert "retry_max_wait_seconds=5" in str(budget.stop_reason)


def test_zero_wait_budget_retries_nothing():
    waits, budget = backoff_waits(RetryPolicy(max_wait_seconds=0, rng=random.Random(0)), 3)
    assert waits == []
    assert budget.waited == 0
    assert budget.stop_reason is not None


# -- One budget for every wait of a request ------------------------------------------------


def test_the_gate_reports_time_held_by_a_pause_but_not_its_own_pacing():
    gate = RateGate()
    gate.pause(0.3)
    assert gate.wait_turn(max_wait=5) >= 0.29
    assert gate.wait_turn(max_wait=5) == 0.0  # the pause is over
    paced = RateGate(RateLimit(requests=1, per_seconds=0.2))
    paced.wait_turn()
    assert paced.wait_turn(max_wait=0) == 0.0  # it waited ~0.2 s, keeping the vendor's limit


def test_a_pause_longer_than_what_is_left_of_the_budget_fails_at_once():
    gate = RateGate()
    gate.pause(30)
    started = time.monotonic()
    with pytest.raises(RateLimitTooLongError) as refused:
        gate.wait_turn(max_wait=2)
    assert time.monotonic() - started < PATIENCE  # it did not wait 2 s, let alone 30
    assert refused.value.seconds > 29
    assert refused.value.left == 2


def test_gate_pauses_count_against_the_requests_wait_budget(httpserver: HTTPServer):
    # Another worker's 429s keep pausing the vendor; this request's own back-off is tiny.
    # Only its gate waits can use up retry_max_wait_seconds, and they do.
    httpserver.expect_request("/x").respond_with_json({"message": "busy"}, status=500)
    gate = RateGate()
    client = VendorClient(
        vendor="Test",
        base_url=httpserver.url_for(""),
        auth=lambda r: r,
        policy=RetryPolicy(max_tries=50, max_wait_seconds=2, base_seconds=0.001),
        timeout=5,
        error_detail=lambda r: "busy",
        gate=gate,
    )
    stop = threading.Event()

    def neighbour() -> None:
        while not stop.wait(0.2):
            gate.pause(0.4)

    threading.Thread(target=neighbour, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(VendorAPIError) as failed:
            client.request(Endpoint("/x"))
    finally:
        stop.set()
    elapsed = time.monotonic() - started
    assert "retry_max_wait_seconds=2" in str(failed.value)
    tries = len(httpserver.log)
    assert tries < 50  # the budget, not the attempts, ended it
    # The budget is the feature: about 2 s of waiting, whatever the attempts (before, every
    # one of the 50 attempts could be held ~0.4 s at the gate uncounted).
    assert elapsed < 2 + PATIENCE


def test_a_request_held_by_other_requests_429s_stays_within_its_wait_budget(
    emulator: VendorEmulator, tap
):
    # Six workers, every status answered 429 (Retry-After: 1): each 429 pauses all of
    # Fullstory's requests, so each request is also held by the others' pauses.
    jobs = [f"U{n}" for n in range(6)]
    emulator.dataset.fullstory_jobs += [
        FullstoryJob(job, "users", "COMPLETED", finished="2024-05-01T10:00:00Z") for job in jobs
    ]
    emulator.faults.add("fullstory.status", faults.status(429, retry_after=1))
    budget = 4
    run = tap(
        {
            "fullstory_api_key": emulator.dataset.fullstory_api_key,
            "fullstory_api_url": emulator.fullstory_url,
            "fullstory_user_import_job_ids": jobs,
            "max_concurrent_requests": 6,
            "retry_max_attempts": 50,
            "retry_max_wait_seconds": budget,
        }
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if " failed: " in line]
    assert "Fullstory GET /v2/users/batch/{job_id} failed: HTTP 429" in line
    assert f"retry_max_wait_seconds={budget}" in line
    by_job: dict[str, list[float]] = {}
    for request in emulator.requests:
        if request.endpoint == "fullstory.status":
            by_job.setdefault(request.job_id, []).append(request.time)
    # From its first try to its last, a request waited at most its budget (plus the time
    # its tries themselves took on loopback).
    spans = {job: max(times) - min(times) for job, times in by_job.items()}
    print(f"first-to-last try per job: {spans}")  # noqa: T201
    assert max(spans.values()) <= budget + 1
