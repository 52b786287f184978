"""One deadline per request, from connect to the last byte of the body.

``requests`` applies its timeout to each socket read, so a server that sends one byte
every few seconds (headers or body) is never timed out. Here each request runs under a
:class:`RequestDeadline`; the connection it is read from is registered with one watchdog
thread, which shuts that socket down when the deadline passes. The blocked read then fails
at once, and the caller reports it as a timeout. Registering costs a lock and a heap push
per request, no thread of its own.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import sys
import threading
import time
import typing as t

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from urllib3.response import BaseHTTPResponse


class ResponseTimeoutError(requests.exceptions.ReadTimeout):
    """No complete answer within ``request_timeout_seconds`` (retried like any timeout)."""


class RequestDeadline:
    """The moment one request must be done by, and the sockets it is being read from."""

    def __init__(self, seconds: float) -> None:
        """Start the clock.

        Args:
            seconds: ``request_timeout_seconds``.
        """
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._open = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        """Seconds left (at least a millisecond, so it can be a socket timeout)."""
        return max(0.001, self.at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut this socket down if the deadline passes before the request is done.

        Args:
            sock: The socket the answer is read from.
        """
        with self._lock:
            if self.expired:
                _shut(sock)
            elif self._open:
                self._sockets.append(sock)

    def expire(self) -> None:
        """Called by the watchdog at the deadline: end the reads in progress."""
        with self._lock:
            if not self._open:
                return  # done in time; its socket may already serve another request
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        """The request is done: its sockets are no longer this deadline's to shut."""
        with self._lock:
            self._open = False
            self._sockets.clear()

    def check(self) -> None:
        """Raise if the deadline has passed.

        Raises:
            ResponseTimeoutError: It has.
        """
        if self.expired or time.monotonic() >= self.at:
            self.expired = True
            raise self.error()

    def error(self) -> ResponseTimeoutError:
        """The timeout error of this request."""
        return ResponseTimeoutError(
            f"no complete answer within request_timeout_seconds={self.seconds:g}"
        )


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for TLS sockets: it wakes a read blocked in another
    # thread (close() would not) and leaves the TLS object to fail that read cleanly.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread for the process, expiring deadlines in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, RequestDeadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: RequestDeadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._heap:
                    self._wake.wait()
                    continue
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[RequestDeadline]:
    """Run one request (connect, redirects, headers, body) under one deadline.

    Args:
        seconds: ``request_timeout_seconds``.

    Yields:
        The deadline; connections of this thread register their sockets with it.
    """
    deadline = RequestDeadline(seconds)
    _WATCHDOG.add(deadline)
    outer = getattr(_current, "deadline", None)
    _current.deadline = deadline
    try:
        yield deadline
    finally:
        _current.deadline = outer
        deadline.close()


def _watch_this_connection(sock: socket.socket | None) -> None:
    deadline: RequestDeadline | None = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    @override
    def getresponse(self) -> BaseHTTPResponse:  # type: ignore[override]
        # Connected and the request sent: from here on the server sets the pace.
        _watch_this_connection(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    @override
    def getresponse(self) -> BaseHTTPResponse:  # type: ignore[override]
        _watch_this_connection(self.sock)
        return super().getresponse()


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """A ``requests`` adapter whose connections obey the thread's :func:`request_deadline`."""

    @override
    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    @override
    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
