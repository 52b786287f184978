"""The request log: every request the emulator answered, for tests to count and inspect."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received, with the status it answered.

    Attributes:
        time: ``time.monotonic()`` when the request arrived.
        method: HTTP method.
        path: Full request path (with the vendor prefix), without the query string.
        query: Query parameters (the last value wins when one repeats).
        headers: Request headers, names lower-cased.
        status: HTTP status answered; 0 when the connection was reset.
        vendor: ``fullstory``, ``druid``, ``sailpoint`` or ``""`` for an unknown prefix.
        endpoint: Stable endpoint name such as ``druid.results``.
        job_id: The job/bulk id in the path, or ``""``.
        client_id: Who asked: the OAuth2 client id (from the token request's form or the
            bearer token), for Fullstory a digest of the API key; ``""`` when unknown.
        retry_after_violation: The request arrived before the ``Retry-After`` this vendor
            last gave the same client had run out.
    """

    time: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    vendor: str
    endpoint: str
    job_id: str = ""
    client_id: str = ""
    retry_after_violation: bool = False


_RECORD_FIELDS = frozenset(f.name for f in fields(RequestRecord))


class RequestLog:
    """Thread-safe list of request records."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Record one answered request.

        Args:
            record: The request and its answer.
        """
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """Return a copy of the records, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def count(self, endpoint: str | None, filters: Mapping[str, object]) -> int:
        """Count records by endpoint and fields or query parameters.

        Args:
            endpoint: Endpoint name such as ``druid.results``; None counts every endpoint.
            filters: ``RequestRecord`` fields or, for any other name, query parameters.

        Returns:
            How many records match.
        """
        return sum(
            1
            for record in self.snapshot()
            if (endpoint is None or record.endpoint == endpoint) and _matches(record, filters)
        )


def _matches(record: RequestRecord, filters: Mapping[str, object]) -> bool:
    for name, wanted in filters.items():
        actual = getattr(record, name) if name in _RECORD_FIELDS else record.query.get(name)
        if actual != wanted:
            return False
    return True
