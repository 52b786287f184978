"""Routing: which vendor answers a request, and what stands between it and the request.

The router finds the vendor by the first path segment, then applies, in order: the
vendor's rate limit (a request refused there never reaches the vendor or the faults), the
fault plan, and the vendor's handler; it tracks ``Retry-After`` answers and records every
request in the request log.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, urlsplit

from emulator.calls import Call, dumps
from emulator.limits import RateLimiter, RetryAfterLedger
from emulator.request_log import RequestLog, RequestRecord
from emulator.transport import Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from emulator.calls import Handler, Reply, Route, RouteFn
    from emulator.faults import Fault, FaultPlan

_LOG = logging.getLogger(__name__)


class VendorApp(Protocol):
    """What the server needs from a vendor besides its routes."""

    def error_body(self, status: int, endpoint: str) -> bytes:
        """Return the vendor's error body for a status."""

    def missing_envelope(self, endpoint: str) -> bytes:
        """Return valid JSON that lacks the vendor's envelope."""

    def expire_tokens(self) -> None:
        """Invalidate every access token."""

    def client_id(self, call: Call) -> str:
        """Name the client of a request (``""`` when unknown)."""


class _NoVendor:
    """Answers requests outside every vendor prefix."""

    def route(self, method: str, path: str) -> Route:
        del method, path  # Every path is unknown here.
        return "unknown", self._not_found, {}

    @staticmethod
    def _not_found(call: Call) -> Reply:
        del call
        return HTTPStatus.NOT_FOUND, b'{"message":"no vendor under this path prefix"}'

    def error_body(self, status: int, endpoint: str) -> bytes:
        del endpoint
        return dumps({"message": f"emulated HTTP {status}"})

    def missing_envelope(self, endpoint: str) -> bytes:
        del endpoint
        return b"{}"

    def expire_tokens(self) -> None:
        """Nothing to expire."""

    def client_id(self, call: Call) -> str:
        del call
        return ""


@dataclass(frozen=True)
class _Pending:
    """A routed request waiting for its response."""

    app: VendorApp
    endpoint: str
    handler: Handler
    call: Call

    def run(self) -> Outcome:
        try:
            status, body = self.handler(self.call)
        except Exception:  # noqa: BLE001 - any bug must still produce a response
            # A bug in the emulator: answer 500 so the request completes, and say why.
            _LOG.exception("emulator handler for %s failed", self.endpoint)
            return Outcome(HTTPStatus.INTERNAL_SERVER_ERROR, b'{"message":"emulator bug"}')
        return Outcome(status, body)


class Router:
    """Maps requests to vendor handlers, applies limits and faults, records every request.

    Attributes:
        latency: Seconds every answer is held back before it is sent.
        limiters: Rate limiters by vendor (a vendor without one is not limited).
        retry_after: What each client was told to wait, and who came back early.
        stopping: Set while the emulator stops: ends stalls and latency waits early.
    """

    def __init__(
        self, faults: FaultPlan, log: RequestLog, prefixes: Mapping[str, VendorRoutes]
    ) -> None:
        """Route requests to vendors.

        Args:
            faults: The fault plan applied to every request a vendor would answer.
            log: Where every request is recorded.
            prefixes: The first path segment (``fullstory``, ``druid-auth``, ...) -> the
                vendor name, its app and its route function.
        """
        self._faults = faults
        self._log = log
        self._unknown = _NoVendor()
        self._prefixes = dict(prefixes)
        self.latency = 0.0
        self.limiters: dict[str, RateLimiter] = {}
        self.retry_after = RetryAfterLedger()
        self.stopping = threading.Event()

    def delay(self) -> None:
        """Hold the calling handler thread for the latency (woken early by a stop)."""
        if self.latency > 0:
            self.stopping.wait(self.latency)

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Outcome:
        """Handle one request and record it.

        Args:
            method: HTTP method.
            target: Request target (path and query).
            headers: Request headers, names lower-cased.
            body: Request body.

        Returns:
            What to send back.
        """
        arrived = time.monotonic()
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        prefix, _, rest = url.path.lstrip("/").partition("/")
        vendor, app, route = self._prefixes.get(prefix, ("", self._unknown, self._unknown.route))
        endpoint, handler, params = route(method, "/" + rest)
        call = Call(method, "/" + rest, params, query, headers, body)
        client = app.client_id(call)
        early = bool(vendor) and self.retry_after.arrive(vendor, client, arrived)
        limiter = self.limiters.get(vendor)
        wait = limiter.admit(client, arrived) if limiter is not None else None
        pending = _Pending(app, endpoint, handler, call)
        if wait is None:
            outcome = self._execute(pending)
        else:  # Refused by the gateway: the vendor never sees it, nor do the faults.
            body = app.error_body(HTTPStatus.TOO_MANY_REQUESTS, endpoint)
            outcome = Outcome(
                HTTPStatus.TOO_MANY_REQUESTS, body, headers={"Retry-After": str(wait)}
            )
        retry_after = outcome.headers.get("Retry-After")
        if vendor and retry_after is not None and not outcome.reset:
            self.retry_after.give(vendor, client, retry_after, time.monotonic())
        record = RequestRecord(
            time=arrived,
            method=method,
            path=url.path,
            query=query,
            headers=headers,
            status=0 if outcome.reset else int(outcome.status),
            vendor=vendor,
            endpoint=endpoint,
            job_id=params.get("job_id", ""),
            client_id=client,
            retry_after_violation=early,
        )
        self._log.append(record)
        return outcome

    def _execute(self, pending: _Pending) -> Outcome:
        fault = self._faults.pick(pending.endpoint, pending.call.params.get("job_id", ""))
        if fault is None:
            return pending.run()
        if fault.kind == "stall":
            self.stopping.wait(fault.seconds)  # Wakes early when the emulator stops.
        elif fault.kind == "expire_token":
            pending.app.expire_tokens()
        return _FAULT_OUTCOMES[fault.kind](pending, fault)


def _status_outcome(pending: _Pending, fault: Fault) -> Outcome:
    body = fault.body
    if body is None:
        data = pending.app.error_body(fault.status, pending.endpoint)
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = dumps(body)
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    headers.update(fault.headers or {})
    if fault.location is not None:
        headers["Location"] = fault.location
    return Outcome(fault.status, data, headers=headers)


def _truncated_outcome(pending: _Pending, fault: Fault) -> Outcome:
    del fault
    body = pending.run().body
    return Outcome(HTTPStatus.OK, body[: len(body) // 2])


def _rewritten_outcome(pending: _Pending, fault: Fault) -> Outcome:
    real = pending.run()
    if fault.transform is None:
        return real
    try:
        data = json.loads(real.body)
    except ValueError:
        return real
    changed = fault.transform(data)
    body = changed if isinstance(changed, bytes) else dumps(changed)
    return Outcome(real.status, body, real.content_type, dict(real.headers))


_FAULT_OUTCOMES: dict[str, Callable[[_Pending, Fault], Outcome]] = {
    "status": _status_outcome,
    "redirect": _status_outcome,
    "reset": lambda _pending, _fault: Outcome(0, reset=True),
    "stall": lambda pending, _fault: pending.run(),
    "expire_token": lambda pending, _fault: pending.run(),
    "truncated_json": _truncated_outcome,
    "rewrite": _rewritten_outcome,
    "non_json": lambda _pending, _fault: Outcome(200, b"<html>oops</html>", "text/html"),
    "missing_envelope": lambda pending, _fault: Outcome(
        HTTPStatus.OK, pending.app.missing_envelope(pending.endpoint)
    ),
}


#: A vendor under a path prefix: its name (as in the request log), app and route function.
VendorRoutes = tuple[str, "VendorApp", "RouteFn"]
