"""What a vendor's requests cost in a run: counts for the end-of-run summary."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    """Requests, retries and time spent waiting between tries; thread-safe counters."""

    requests: int = 0
    retries: int = 0
    retry_wait_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sent(self) -> None:
        """Count one request sent."""
        with self._lock:
            self.requests += 1

    def retried(self, wait: float) -> None:
        """Count one retry and the wait before it.

        Args:
            wait: Seconds waited before the retry.
        """
        with self._lock:
            self.retries += 1
            self.retry_wait_seconds += wait
