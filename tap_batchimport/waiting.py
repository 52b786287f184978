"""Waiting for unfinished jobs: one deadline for the whole run, and polling intervals."""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

#: Polling an unfinished job starts at this interval and doubles up to the maximum.
POLL_FIRST_SECONDS = 1.0
POLL_MAX_SECONDS = 30.0


class Deadline:
    """The time this run may spend waiting for unfinished jobs (``job_wait_timeout_seconds``).

    One per run, shared by every vendor and worker: ten unfinished jobs of three vendors
    wait at most the timeout in all, not ten or three times it.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Start the clock now.

        Args:
            seconds: How long waiting may take in all.
            clock: Monotonic clock (for tests).
        """
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        """Seconds left to wait."""
        return max(0.0, self._ends - self._clock())


class Poller:
    """One waiter's polling intervals (1 s, doubling to 30 s), within the run's deadline."""

    def __init__(self, deadline: Deadline, sleep: Callable[[float], None] = time.sleep) -> None:
        """Start at the first interval.

        Args:
            deadline: The run's deadline.
            sleep: Sleeps (for tests).
        """
        self._deadline = deadline
        self._sleep = sleep
        self._interval = POLL_FIRST_SECONDS

    def sleep_before_next_poll(self) -> bool:
        """Sleep one polling interval if time remains.

        Returns:
            False when the deadline has passed (the caller moves on), else True.
        """
        left = self._deadline.remaining()
        if left <= 0:
            return False
        self._sleep(min(self._interval, left))
        self._interval = min(POLL_MAX_SECONDS, self._interval * 2)
        return True
