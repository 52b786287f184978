"""Rate limits and Retry-After bookkeeping of the emulated vendors.

A :class:`RateLimiter` admits at most ``requests`` requests per client id in any sliding
window of ``per_seconds`` seconds and tells a refused request how long to wait (whole
seconds, rounded up, so a client that waits exactly that long is admitted). Refused
requests do not use up the budget.

A :class:`RetryAfterLedger` remembers, per vendor and client id, when the ``Retry-After``
it last gave that client runs out, and counts requests that arrive earlier (violations).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RateLimit:
    """A request budget per client id.

    Attributes:
        requests: Requests admitted per window.
        per_seconds: Length of the sliding window, in seconds.
    """

    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        """Reject a budget that admits nothing.

        Raises:
            ValueError: If ``requests`` or ``per_seconds`` is not positive.
        """
        if self.requests < 1 or not self.per_seconds > 0:
            msg = "a rate limit needs requests >= 1 and per_seconds > 0"
            raise ValueError(msg)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Read ``N/SECONDS`` (e.g. ``100/10``).

        Args:
            text: The limit as text.

        Returns:
            The limit.

        Raises:
            ValueError: If the text is not ``N/SECONDS`` with positive numbers.
        """
        count, slash, seconds = text.partition("/")
        if not slash:
            msg = f"expected N/SECONDS such as 100/10, got {text!r}"
            raise ValueError(msg)
        return cls(int(count), float(seconds))


#: SailPoint's documented limit: 100 requests per 10 s per client id, gateway-wide.
SAILPOINT_RATE_LIMIT = RateLimit(100, 10.0)


class RateLimiter:
    """Sliding-window request budget per client id. Thread-safe."""

    def __init__(self, limit: RateLimit) -> None:
        """Start with every client's budget unused.

        Args:
            limit: The budget.
        """
        self.limit = limit
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, client_id: str, now: float) -> int | None:
        """Count a request if the client's budget allows it.

        Args:
            client_id: Whose budget (``""`` for requests that name no client).
            now: Arrival time, ``time.monotonic()``.

        Returns:
            None when admitted; else the ``Retry-After`` seconds to answer (at least 1).
        """
        with self._lock:
            times = self._admitted.setdefault(client_id, deque())
            horizon = now - self.limit.per_seconds
            while times and times[0] <= horizon:
                times.popleft()
            if len(times) < self.limit.requests:
                times.append(now)
                return None
            return max(1, math.ceil(times[0] - horizon))


def retry_after_seconds(value: str, now_epoch: float | None = None) -> float | None:
    """Read a ``Retry-After`` header value.

    Args:
        value: Delay in seconds (``"2"``, ``"1.5"``) or an HTTP-date.
        now_epoch: The current time (``time.time()``) an HTTP-date is measured from.

    Returns:
        The delay in seconds (0 for a date in the past), or None when unreadable.
    """
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            date = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        now = time.time() if now_epoch is None else now_epoch
        seconds = date.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


#: Slack for a client that comes back right at an HTTP-date (both sides read the clock).
_SLACK_SECONDS = 0.001


class RetryAfterLedger:
    """When each client may come back, and how many came back too early. Thread-safe."""

    def __init__(self) -> None:
        """Start with no Retry-After given."""
        self._lock = threading.Lock()
        self._until: dict[tuple[str, str], float] = {}
        self._violations = 0

    def arrive(self, vendor: str, client_id: str, now: float) -> bool:
        """Check a request against the Retry-After its client was last given.

        Args:
            vendor: The vendor asked.
            client_id: The client asking.
            now: Arrival time, ``time.monotonic()``.

        Returns:
            True (and counted) when it arrived before that Retry-After ran out.
        """
        with self._lock:
            until = self._until.get((vendor, client_id))
            early = until is not None and now < until - _SLACK_SECONDS
            if early:
                self._violations += 1
            return early

    def give(self, vendor: str, client_id: str, value: str, now: float) -> None:
        """Remember a ``Retry-After`` answered to a client (it replaces the previous one).

        Args:
            vendor: The vendor answering.
            client_id: The client answered.
            value: The header value (seconds or an HTTP-date).
            now: When it was answered, ``time.monotonic()``.
        """
        seconds = retry_after_seconds(value)
        if seconds is None:
            return
        with self._lock:
            self._until[vendor, client_id] = now + seconds

    @property
    def violations(self) -> int:
        """Requests counted as arriving too early since the last :meth:`reset_count`."""
        return self._violations

    def reset_count(self) -> None:
        """Set the violation count to 0 (what clients were told is kept)."""
        with self._lock:
            self._violations = 0
