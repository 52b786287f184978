"""Retry timing: honour ``Retry-After``, back off exponentially with jitter, stay bounded.

The SDK's default wait generator ignores ``Retry-After`` (it waits 2, 4, 8, 16 s whatever
the server asked), and ``backoff``'s own ``max_time`` would cut a ``Retry-After`` wait
short. This generator is fed each failure by ``backoff`` and decides the next wait itself.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from collections.abc import Generator

    import requests

#: Exponential back-off never waits longer than this between two tries.
MAX_BACKOFF_SECONDS = 60.0


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header in either of its two forms.

    Args:
        value: The header value: delay-seconds (``"120"``) or an HTTP-date
            (``"Wed, 21 Oct 2015 07:28:00 GMT"``).
        now: The current time (for tests); defaults to the clock.

    Returns:
        Seconds to wait (0 for a date in the past), or None if absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def response_of(exc: BaseException | None) -> requests.Response | None:
    """The HTTP response carried by a retriable error, if any.

    Connection resets and timeouts have no response.

    Args:
        exc: The exception ``backoff`` caught.

    Returns:
        The response, or None.
    """
    return getattr(exc, "response", None)


@dataclass
class RetryPolicy:
    """How long and how often one request may be retried.

    Attributes:
        max_tries: Attempts in all, the first included.
        max_wait_seconds: Total time one request may spend waiting (between tries and
            at the vendor's shared 429 pause).
        base_seconds: First exponential back-off step.
    """

    max_tries: int = 8
    max_wait_seconds: float = 300.0
    base_seconds: float = 1.0
    rng: random.Random = field(default_factory=random.Random)

    def wait_generator(self, budget: RetryBudget) -> Generator[float, BaseException | None, None]:
        """Yield the wait before each retry; stop when the time budget is spent.

        ``backoff`` sends the caught exception into the generator before each wait,
        so a 429's ``Retry-After`` is known here.

        Args:
            budget: Records the waits and why retrying stopped.

        Yields:
            Seconds to wait before the next try.
        """
        attempt = 0
        exc = yield 0.0  # priming value, discarded by backoff
        while True:
            response = response_of(exc)
            retry_after = (
                parse_retry_after(response.headers.get("Retry-After"))
                if response is not None
                else None
            )
            left = self.max_wait_seconds - budget.waited
            if retry_after is not None:
                if retry_after > left:
                    # Waiting less than asked only earns another 429; waiting longer than
                    # the budget would hang the run: fail now and say why.
                    budget.stop_reason = (
                        f"the server asked to wait {retry_after:.0f} s (Retry-After), more "
                        f"than the {max(left, 0):.0f} s left of retry_max_wait_seconds="
                        f"{self.max_wait_seconds:.0f}; raise that setting to wait so long"
                    )
                    return
                # Never earlier than asked: jitter only ever adds to Retry-After.
                jitter = self.rng.uniform(0, min(1.0, retry_after / 10 + 0.1))
                wait = min(retry_after + jitter, left)
            else:
                backoff_wait = min(MAX_BACKOFF_SECONDS, self.base_seconds * 2**attempt)
                # Full jitter spreads clients out; the floor of half keeps waits growing.
                wait = backoff_wait / 2 + self.rng.uniform(0, backoff_wait / 2)
                if wait > left:
                    budget.stop_reason = (
                        f"gave up after waiting {budget.waited:.0f} s between tries "
                        f"(retry_max_wait_seconds={self.max_wait_seconds:.0f})"
                    )
                    return
            budget.waited += wait
            attempt += 1
            exc = yield wait


@dataclass
class RetryBudget:
    """What one request's waits have cost so far.

    Every wait counts: back-off and ``Retry-After`` waits between tries (added by
    :meth:`RetryPolicy.wait_generator`) and the time the request was held by the vendor's
    shared pause after another request's 429 (added by ``VendorClient``).

    Attributes:
        waited: Seconds waited so far.
        stop_reason: Why no further try was made, when the budget stopped it.
    """

    waited: float = 0.0
    stop_reason: str | None = None

    def left(self, policy: RetryPolicy) -> float:
        """Seconds this request may still wait.

        Args:
            policy: The limits.

        Returns:
            ``retry_max_wait_seconds`` minus what was waited (never below 0).
        """
        return max(0.0, policy.max_wait_seconds - self.waited)
