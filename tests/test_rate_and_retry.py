"""The per-vendor rate gate, and the retry waits test_resilience.py does not cover.

The gate is checked on the request starts it lets through (recorded as each call
returns), which is a property of the gate, not a speed goal: every assertion is a lower
bound on when something may happen, never an upper bound on how long it takes.
(Retry-After floors, its two header forms and the total-wait cap are in
test_resilience.py.)
"""

from __future__ import annotations

import contextlib
import random
import threading
import time

import pytest

from tap_batchimport.http.rate import WINDOW_MARGIN, RateGate, RateLimit
from tap_batchimport.http.retry import MAX_BACKOFF_SECONDS, RetryBudget, RetryPolicy

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
