"""in_order: items produced by worker threads, outcomes handed back in item order.

Concurrency and bounds are measured with counters and events, never with durations:
a wait below only gives a misbehaving runner the chance to show itself, and every
bounded wait fails the test loudly instead of hanging it.
"""

from __future__ import annotations

import itertools
import threading
import time
import typing as t

import pytest

from tap_batchimport.workers import in_order

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: Longest any test waits for a condition that must come true (a hang fails, not blocks).
PATIENCE = 5.0
#: How long a test gives a misbehaving runner to overstep a bound before checking it.
GRACE = 0.05

_names = itertools.count()


def unique_name() -> str:
    return f"unit-worker-{next(_names)}"


def threads_named(name: str) -> list[threading.Thread]:
    return [th for th in threading.enumerate() if th.name.startswith(f"{name}-")]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.001)


def assert_threads_end(name: str) -> None:
    for thread in threads_named(name):
        thread.join(PATIENCE)
    assert threads_named(name) == []


def collect(pairs: Iterator[tuple[t.Any, Iterator[t.Any]]]) -> list[tuple[t.Any, list[t.Any]]]:
    return [(item, list(outcomes)) for item, outcomes in pairs]


def test_outcomes_come_in_item_order_whatever_the_finishing_order():
    finished_order: list[int] = []
    done = {n: threading.Event() for n in range(8)}
    lock = threading.Lock()

    def produce(n: int) -> Iterator[tuple[int, int]]:
        # Within the first window, each item finishes only after the next one did.
        if n < 2:
            assert done[n + 1].wait(PATIENCE)
        yield (n, 0)
        yield (n, 1)
        with lock:
            finished_order.append(n)
        done[n].set()

    name = unique_name()
    got = collect(in_order(range(8), produce, workers=3, name=name))

    assert finished_order[:3] == [2, 1, 0]
    assert got == [(n, [(n, 0), (n, 1)]) for n in range(8)]
    assert_threads_end(name)


@pytest.mark.parametrize("workers", [2, 4])
def test_at_most_workers_items_are_produced_at_once(workers):
    lock = threading.Lock()
    active = 0
    most = 0
    release = threading.Event()

    def produce(n: int) -> Iterator[int]:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            assert release.wait(PATIENCE)
            yield n
        finally:
            with lock:
                active -= 1

    name = unique_name()
    pairs = in_order(range(10), produce, workers=workers, name=name)
    first_item, first = next(pairs)
    # Every worker gets an item to block on; give an extra one the chance to start too.
    wait_until(lambda: active == workers, f"{workers} items are being produced")
    time.sleep(GRACE)
    assert most == workers
    release.set()
    got = [(first_item, list(first)), *collect(pairs)]

    assert got == [(n, [n]) for n in range(10)]
    assert most == workers
    assert_threads_end(name)


@pytest.mark.parametrize("lookahead", [1, 2, 5])
def test_a_producer_gets_at_most_lookahead_plus_one_outcomes_ahead(lookahead):
    produced = 0
    total = 30

    def produce(item: str) -> Iterator[int]:
        nonlocal produced
        if item == "idle":
            return
        for n in range(total):
            produced += 1
            yield n

    name = unique_name()
    # Two items, two workers: the threaded path (one item or one worker runs inline).
    pairs = in_order(["only", "idle"], produce, workers=2, lookahead=lookahead, name=name)
    _, outcomes = next(pairs)
    received = []
    for outcome in outcomes:
        received.append(outcome)
        consumed = len(received)
        if consumed < total - lookahead:
            # The producer runs ahead until its queue is full and it holds one more...
            wait_until(lambda: produced == consumed + lookahead + 1, "the producer is ahead")  # noqa: B023
            if consumed == 1:
                time.sleep(GRACE)
        # ...and never further, whatever the consumer does meanwhile.
        assert produced <= consumed + lookahead + 1
    assert received == list(range(total))
    assert [(item, list(rest)) for item, rest in pairs] == [("idle", [])]
    assert_threads_end(name)


@pytest.mark.parametrize(("items", "workers"), [(["a", "b", "c"], 1), (["a"], 8)])
def test_one_worker_or_one_item_runs_in_the_callers_thread(items, workers):
    threads: list[threading.Thread] = []
    before = set(threading.enumerate())

    def produce(item: str) -> Iterator[str]:
        threads.append(threading.current_thread())
        yield item
        yield item.upper()

    pairs = in_order(items, produce, workers=workers, name=unique_name())
    got = [(item, list(outcomes)) for item, outcomes in pairs]
    assert got == [(i, [i, i.upper()]) for i in items]
    assert set(threads) == {threading.current_thread()}
    assert set(threading.enumerate()) <= before


def test_workers_ahead_of_the_writer_hold_bounded_outcomes_and_no_extra_items():
    produced = dict.fromkeys(range(6), 0)
    lookahead = 1

    def produce(n: int) -> Iterator[tuple[int, int]]:
        for k in range(10):
            produced[n] += 1
            yield (n, k)

    name = unique_name()
    pairs = in_order(range(6), produce, workers=2, lookahead=lookahead, name=name)
    item, outcomes = next(pairs)
    assert item == 0
    assert next(outcomes) == (0, 0)
    # While the writer is busy with item 0, item 1 runs ahead by at most lookahead + 1,
    # and no third item is started: memory is bounded by workers * (lookahead + 1).
    wait_until(lambda: produced[1] == lookahead + 1, "item 1 is produced ahead")
    time.sleep(GRACE)
    assert produced[1] == lookahead + 1
    assert produced[0] <= 1 + lookahead + 1
    assert [produced[n] for n in range(2, 6)] == [0, 0, 0, 0]
    got = [(0, [(0, 0), *outcomes]), *collect(pairs)]
    assert got == [(n, [(n, k) for k in range(10)]) for n in range(6)]
    assert_threads_end(name)


def test_an_exception_is_raised_at_its_item_after_earlier_items_outcomes():
    def produce(n: int) -> Iterator[str]:
        yield f"{n}-a"
        if n == 2:
            msg = "boom at 2"
            raise ValueError(msg)
        yield f"{n}-b"

    name = unique_name()
    seen: list[str] = []

    def consume() -> None:
        for _, outcomes in in_order(range(5), produce, workers=3, name=name):
            seen.extend(outcomes)

    with pytest.raises(ValueError, match="boom at 2"):
        consume()
    assert seen == ["0-a", "0-b", "1-a", "1-b", "2-a"]
    assert_threads_end(name)


def test_an_exception_when_an_items_producer_is_called_is_raised_at_that_item():
    # ``produce`` is any callable returning an iterator; one that raises when called
    # must fail its item like one that raises while yielding, not hang the writer.
    def produce(n: int) -> Iterator[int]:
        if n == 1:
            msg = "cannot start item 1"
            raise RuntimeError(msg)
        return iter([n])

    name = unique_name()
    result: dict[str, t.Any] = {}

    def consume() -> None:
        seen = []
        try:
            for _, outcomes in in_order(range(3), produce, workers=2, name=name):
                seen.extend(outcomes)
        except RuntimeError as exc:
            result["error"] = str(exc)
        result["seen"] = seen

    writer = threading.Thread(target=consume, name=f"{name}-writer", daemon=True)
    writer.start()
    writer.join(PATIENCE)
    assert not writer.is_alive(), "the writer hangs waiting for item 1's outcomes"
    assert result == {"seen": [0], "error": "cannot start item 1"}


def test_closing_the_consumer_early_stops_the_workers():
    started: list[int] = []
    closed: list[int] = []
    lock = threading.Lock()

    def produce(n: int) -> Iterator[int]:
        with lock:
            started.append(n)
        try:
            yield from itertools.count()  # endless: only stopping can end it
        finally:
            with lock:
                closed.append(n)

    name = unique_name()
    pairs = in_order(range(100), produce, workers=3, lookahead=2, name=name)
    _, outcomes = next(pairs)
    assert [next(outcomes) for _ in range(5)] == [0, 1, 2, 3, 4]
    wait_until(lambda: len(started) == 3, "three items have started")
    pairs.close()

    assert_threads_end(name)
    assert sorted(started) == [0, 1, 2]
    assert sorted(closed) == [0, 1, 2]  # each producer was closed, not abandoned


def test_abandoning_the_consumer_after_an_exception_stops_the_workers():
    def produce(n: int) -> Iterator[int]:
        yield from itertools.count(n * 1000)

    name = unique_name()

    def consume() -> None:
        for _, outcomes in in_order(range(50), produce, workers=4, name=name):
            for outcome in outcomes:
                if outcome == 3:
                    raise KeyError(outcome)

    with pytest.raises(KeyError):
        consume()
    assert_threads_end(name)


def test_workers_1_runs_one_item_at_a_time_in_order():
    lock = threading.Lock()
    active = 0
    most = 0

    def produce(n: int) -> Iterator[int]:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        yield n * 10
        yield n * 10 + 1
        with lock:
            active -= 1

    name = unique_name()
    got = collect(in_order(range(20), produce, workers=1, name=name))
    assert got == [(n, [n * 10, n * 10 + 1]) for n in range(20)]
    assert most == 1
    assert_threads_end(name)


def test_no_items_and_items_that_yield_nothing():
    name = unique_name()
    assert collect(in_order([], lambda n: iter([n]), workers=4, name=name)) == []
    assert_threads_end(name)
    name = unique_name()
    assert collect(in_order(range(3), lambda _: iter(()), workers=8, name=name)) == [
        (0, []),
        (1, []),
        (2, []),
    ]
    assert_threads_end(name)


def test_items_are_pulled_lazily():
    pulled: list[int] = []

    def items() -> Iterator[int]:
        for n in range(100):
            pulled.append(n)
            yield n

    name = unique_name()
    pairs = in_order(items(), lambda n: iter([n]), workers=2, name=name)
    item, outcomes = next(pairs)
    assert (item, list(outcomes)) == (0, [0])
    assert len(pulled) <= 3  # the window of two items, and at most the next one
    pairs.close()
    assert_threads_end(name)
