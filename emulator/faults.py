"""Fault plan: make chosen requests to the emulator fail in chosen ways.

Build a fault with one of the factory functions (:func:`status`, :func:`reset`,
:func:`stall`, :func:`truncated_json`, :func:`non_json`, :func:`missing_envelope`,
:func:`expire_token`, :func:`redirect`, :func:`rewrite`) and attach it to an endpoint name
with :meth:`FaultPlan.add`::

    emulator.faults.add("druid.results", faults.status(503), on={2})
    emulator.faults.add("fullstory.errors", faults.status(429, retry_after="2"), times=1)
    emulator.faults.add("sailpoint.*", faults.reset(), every=3)
    emulator.faults.add("fullstory.status", faults.status(200, b"{}", {"Content-Encoding": "gzip"}))
    emulator.faults.add("druid.results", faults.rewrite(lambda page: {**page, "content": None}))
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

FaultKind = Literal[
    "status",
    "reset",
    "stall",
    "truncated_json",
    "non_json",
    "missing_envelope",
    "expire_token",
    "redirect",
    "rewrite",
]

# What a status fault may carry as its body: raw bytes, text, or JSON-serialisable data.
FaultBody = bytes | str | dict[str, Any] | list[Any] | None


@dataclass(frozen=True)
class Fault:
    """One way to misbehave. Build it with the factory functions of this module.

    Attributes:
        kind: What the fault does.
        status: HTTP status of a ``status`` fault.
        body: Body of a ``status`` fault; None means the vendor's usual error body.
        retry_after: ``Retry-After`` header value of a ``status`` fault (seconds or HTTP-date).
        seconds: How long a ``stall`` fault sleeps before answering.
        location: ``Location`` header of a ``redirect`` fault.
        headers: More headers of a ``status`` fault (e.g. a false ``Content-Encoding``).
        transform: What a ``rewrite`` fault does to the real answer's decoded JSON.
    """

    kind: FaultKind
    status: int = 200
    body: FaultBody = None
    retry_after: str | None = None
    seconds: float = 0.0
    location: str | None = None
    headers: Mapping[str, str] | None = None
    transform: Callable[[Any], Any] | None = None


def status(
    code: int,
    body: FaultBody = None,
    retry_after: str | float | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fault:
    """Answer with an HTTP error (or any status and raw body) instead of the real response.

    Args:
        code: The HTTP status, e.g. 429, 500, 502, 503 or 504 (or 200 with a bad body).
        body: The body to send (bytes are sent as they are); None sends the vendor's own
            error body for ``code``.
        retry_after: Value of the ``Retry-After`` header: seconds (``"2"`` or ``2``) or an
            HTTP-date. None sends no header.
        headers: More response headers, e.g. ``{"Content-Encoding": "gzip"}``.

    Returns:
        The fault.
    """
    if retry_after is not None and not isinstance(retry_after, str):
        retry_after = f"{retry_after:g}"
    return Fault(
        "status",
        status=code,
        body=body,
        retry_after=retry_after,
        headers=dict(headers) if headers else None,
    )


def rewrite(transform: Callable[[Any], Any]) -> Fault:
    """Answer with the real response's JSON changed: a vendor whose data drifted.

    The real answer is made, decoded, passed to ``transform``, and the result sent with
    the real status (bytes as they are, anything else as JSON). An answer that is not
    JSON is sent unchanged.

    Args:
        transform: Gets the decoded answer, returns what to send instead.

    Returns:
        The fault.
    """
    return Fault("rewrite", transform=transform)


def reset() -> Fault:
    """Drop the connection without sending any response (a TCP reset).

    Returns:
        The fault.
    """
    return Fault("reset")


def stall(seconds: float) -> Fault:
    """Sleep before answering normally, e.g. longer than the client's read timeout.

    Args:
        seconds: How long to wait before answering.

    Returns:
        The fault.
    """
    return Fault("stall", seconds=seconds)


def truncated_json() -> Fault:
    """Answer 200 with the first half of the real body (with a matching Content-Length).

    Returns:
        The fault.
    """
    return Fault("truncated_json")


def non_json() -> Fault:
    """Answer 200 with ``<html>oops</html>`` as ``text/html``.

    Returns:
        The fault.
    """
    return Fault("non_json")


def missing_envelope() -> Fault:
    """Answer 200 with valid JSON that lacks the vendor's envelope.

    Returns:
        The fault.
    """
    return Fault("missing_envelope")


def expire_token() -> Fault:
    """Invalidate the vendor's current access tokens, then handle the request (so it gets 401).

    Returns:
        The fault.
    """
    return Fault("expire_token")


def redirect(location: str, code: int = 302) -> Fault:
    """Answer with a redirect instead of the real response (e.g. to another host).

    Args:
        location: Value of the ``Location`` header: an absolute URL or a path.
        code: The redirect status: 301, 302, 303, 307 or 308.

    Returns:
        The fault.
    """
    return Fault("redirect", status=code, body=b"", location=location)


@dataclass
class FaultRule:
    """A fault attached to an endpoint, with the requests it applies to.

    Attributes:
        endpoint: Endpoint name (``druid.results``) or a glob over names (``druid.*``).
        fault: What to do.
        on: 1-based numbers of the matching requests to hit.
        every: Hit every ``every``-th matching request.
        times: Hit at most this many requests.
        seen: Matching requests seen since the rule was added.
        fired: Requests the rule has hit.
        job: Only requests about this job (or bulk) id match; None: any.
    """

    endpoint: str
    fault: Fault
    on: frozenset[int] | None = None
    every: int | None = None
    times: int | None = None
    seen: int = 0
    fired: int = 0
    job: str | None = None

    def matches(self, endpoint: str, job_id: str = "") -> bool:
        """Tell whether the rule watches an endpoint (and job).

        Args:
            endpoint: An endpoint name such as ``fullstory.errors``.
            job_id: The job or bulk id in the request's path, or ``""``.

        Returns:
            True when the rule's name or glob matches (and its job, if it has one).
        """
        if self.job is not None and job_id != self.job:
            return False
        return fnmatch.fnmatchcase(endpoint, self.endpoint)

    def selects_current(self) -> bool:
        """Tell whether the rule hits the request counted last in ``seen``.

        Returns:
            True when the fault applies to that request.
        """
        if self.times is not None and self.fired >= self.times:
            return False
        if self.on is None and self.every is None:
            return True
        return (self.on is not None and self.seen in self.on) or (
            self.every is not None and self.seen % self.every == 0
        )


class FaultPlan:
    """The faults an emulator applies, checked for every request. Thread-safe."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(  # noqa: PLR0913 - every option but the endpoint and fault is keyword-only
        self,
        endpoint: str,
        fault: Fault,
        *,
        on: set[int] | frozenset[int] | None = None,
        every: int | None = None,
        times: int | None = None,
        job: str | None = None,
    ) -> FaultRule:
        """Apply a fault to some requests of an endpoint.

        Requests are counted per rule, from 1, starting when the rule is added. With neither
        ``on`` nor ``every`` every request is hit; with both, a request is hit when either
        selects it. ``times`` caps how many requests are hit in all. When several rules hit
        the same request, the one added first wins (all of them still count it).

        Args:
            endpoint: Endpoint name such as ``druid.results``, or a glob such as ``druid.*``.
            fault: What to do, from one of the factory functions.
            on: 1-based request numbers to hit.
            every: Hit every k-th request.
            times: Hit at most this many requests.
            job: Only requests about this job (or bulk) id; None: any.

        Returns:
            The rule, whose ``seen`` and ``fired`` counters tests may read.

        Raises:
            ValueError: If ``on``, ``every`` or ``times`` is not positive.
        """
        if (
            (on and min(on) < 1)
            or (every is not None and every < 1)
            or (times is not None and times < 0)
        ):
            msg = "on/every must be 1-based positive numbers and times must not be negative"
            raise ValueError(msg)
        rule = FaultRule(
            endpoint, fault, frozenset(on) if on is not None else None, every, times, job=job
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """A copy of the current rules, oldest first."""
        with self._lock:
            return list(self._rules)

    def pick(self, endpoint: str, job_id: str = "") -> Fault | None:
        """Count a request to an endpoint and return the fault to apply to it, if any.

        Args:
            endpoint: The endpoint name of the request.
            job_id: The job or bulk id in its path, or ``""``.

        Returns:
            The fault of the first rule that hits the request, or None.
        """
        chosen: Fault | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(endpoint, job_id):
                    continue
                rule.seen += 1
                if chosen is None and rule.selects_current():
                    rule.fired += 1
                    chosen = rule.fault
        return chosen
