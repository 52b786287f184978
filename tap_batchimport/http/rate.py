"""One rate budget per vendor, shared by all its workers.

A 429 pauses every worker of the vendor until its ``Retry-After`` has passed (a worker
that retried earlier would only earn another 429, and on SailPoint a longer penalty),
and a vendor with a documented limit (SailPoint: 100 requests per 10 s per client id)
is kept under it by the tap itself, so it is never asked to wait at all.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` requests in any ``per_seconds`` window.

    Attributes:
        requests: Requests allowed per window.
        per_seconds: Window length.
    """

    requests: int
    per_seconds: float


#: Requests leave this much earlier than the server counts them (network jitter), so the
#: window the tap keeps is this much longer than the vendor's.
WINDOW_MARGIN = 1.05


class RateLimitTooLongError(Exception):
    """The vendor's requests are paused longer than this request may still wait."""

    def __init__(self, seconds: float, left: float) -> None:
        """Say how long.

        Args:
            seconds: The pause left.
            left: What is left of the request's wait budget.
        """
        super().__init__(f"{seconds:.0f} s")
        self.seconds = seconds
        self.left = left


class RateGate:
    """Decides when a vendor's next request may leave; thread-safe."""

    def __init__(self, limit: RateLimit | None = None) -> None:
        """Create the gate.

        Args:
            limit: The vendor's documented limit, if it has one.
        """
        self._limit = limit
        self._window = limit.per_seconds * WINDOW_MARGIN if limit else 0.0
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        #: Seconds requests spent waiting at this gate, in all.
        self.waited = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request of the vendor for ``seconds`` from now (after a 429).

        Args:
            seconds: The server's ``Retry-After``.
        """
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait_turn(self, max_wait: float = float("inf")) -> float:
        """Block until a request may leave, and count it as sent.

        Args:
            max_wait: Longest the vendor's 429 pauses may hold this request (what is left
                of its wait budget: ``retry_max_wait_seconds`` counts every wait).

        Returns:
            Seconds this request was held by 429 pauses (waits to keep under the vendor's
            documented limit are the tap's own pacing, and not counted).

        Raises:
            RateLimitTooLongError: The pause is longer than ``max_wait``: the request
                fails now rather than holding its worker (and the run) that long.
        """
        paused = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                pause_left = self._paused_until - now
                if pause_left > max_wait - paused:
                    raise RateLimitTooLongError(pause_left, max(0.0, max_wait - paused))
                ready_at = self._paused_until
                if self._limit is not None:
                    while self._sent and self._sent[0] <= now - self._window:
                        self._sent.popleft()
                    if len(self._sent) >= self._limit.requests:
                        ready_at = max(ready_at, self._sent[0] + self._window)
                if ready_at <= now:
                    if self._limit is not None:
                        self._sent.append(now)
                    return paused
                self.waited += ready_at - now
                # Only the part of the sleep a pause causes counts against the budget.
                pause_part = max(0.0, pause_left)
            time.sleep(ready_at - now)
            paused += pause_part
