"""HTTP access shared by every vendor: URLs, auth, retries, JSON decoding, clear errors.

Own request loop rather than ``RESTStream.request_decorator``: ``job_details`` talks to
three vendors (three authenticators) from one stream, and the results streams need
per-page control (202/428 "not ready", resume tokens, STATE after each page) that
``RESTStream.request_records`` does not expose. The parts are still the SDK's and
``backoff``'s: SDK authenticators and exceptions, ``backoff.on_exception``.
"""

from __future__ import annotations

import logging
import sys
import typing as t
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlsplit

import backoff
import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.retry import RetryBudget, RetryPolicy, parse_retry_after

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

_decode = msgspec.json.Decoder().decode

#: Statuses worth another try: rate limit, timeouts and server-side failures.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Exceptions ``backoff`` retries: retriable answers and lost or broken connections.
RETRIABLE_EXCEPTIONS = (
    RetriableAPIError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)

#: A 429 wait at least this long is always logged; shorter ones only the first time, so a
#: long wait never looks like a hang and a busy run does not flood the log.
LONG_WAIT_LOG_SECONDS = 10.0

#: Form fields of a request body whose values no message may show.
_SECRET_FIELD_HINTS = ("secret", "password", "token", "key")
#: Shorter strings are not masked: they would mangle ordinary words.
_MIN_MASKED_LENGTH = 4


def origin(url: str | None) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL: what must not change for credentials to follow.

    Args:
        url: An absolute URL.

    Returns:
        ``(scheme, host, port)``, the port made explicit for http and https.
    """
    parts = urlsplit(url or "")
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(scheme),
    )


class RedirectRefusedError(requests.exceptions.RequestException):
    """A vendor redirected a request to another scheme, host or port; it was not followed."""

    def __init__(self, response: requests.Response, target: str) -> None:
        """Describe the refused redirect without its path or query (they may carry tokens).

        Args:
            response: The redirect response.
            target: Where it pointed.
        """
        scheme, host, port = origin(target)
        self.status = response.status_code
        self.target = f"{scheme}://{host}:{port}"
        super().__init__(
            f"redirected to another host ({self.target}); not followed, so credentials only "
            "ever go to the configured base URL (set it to the new host if the vendor moved)",
            response=response,
        )


class SameOriginSession(requests.Session):
    """A session that follows redirects only within the scheme, host and port they start at.

    ``requests`` drops ``Authorization`` when a redirect changes host, but would still
    resend a 307/308 request body (a token request's ``client_secret``) and apply
    ``~/.netrc`` credentials of the new host. A vendor has no reason to send us elsewhere,
    so such a redirect ends the run with a clear error instead.
    """

    @override
    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        # Called by resolve_redirects for each hop, before the next request is sent.
        if origin(prepared_request.url) != origin(response.url):
            raise RedirectRefusedError(response, prepared_request.url or "")
        super().rebuild_auth(prepared_request, response)


def request_secrets(request: requests.PreparedRequest | None) -> list[str]:
    """The credentials a request carried: its ``Authorization`` value and secret form fields.

    Args:
        request: The request that was sent.

    Returns:
        Strings no message about its answer may show.
    """
    if request is None:
        return []
    found: list[str] = []
    header = request.headers.get("Authorization")
    if header:
        found += [header, header.partition(" ")[2].strip()]
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and "x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
        found += [
            value
            for name, value in parse_qsl(body)
            if any(hint in name.lower() for hint in _SECRET_FIELD_HINTS)
        ]
    return found


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret in a message by ``***``.

    Args:
        text: A message about to be logged or raised.
        secrets: Strings that must never be shown.

    Returns:
        The message, masked.
    """
    # Longest first, so a header value is masked whole before the token inside it.
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if len(secret) >= _MIN_MASKED_LENGTH:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class Endpoint:
    """One vendor endpoint, named by its path template (the name used in errors and logs).

    Attributes:
        path: Path template relative to the vendor base URL, e.g.
            ``/v2/users/batch/{job_id}/errors``. Placeholders are URL-encoded as
            whole path segments, so a job id can never add or escape path segments.
        method: HTTP method.
        envelope: Top-level key a successful body must have; a 200 without it is
            malformed and retried like a 5xx.
    """

    path: str
    method: str = "GET"
    envelope: str | None = None

    def url(self, base_url: str, **params: str) -> str:
        """Join the base URL (keeping any path prefix) and the encoded path.

        Args:
            base_url: Vendor base URL, possibly with a path prefix.
            **params: Path placeholder values.

        Returns:
            The absolute URL.
        """
        encoded = {k: quote(str(v), safe="") for k, v in params.items()}
        return base_url.rstrip("/") + self.path.format(**encoded)

    def __str__(self) -> str:
        """Return e.g. ``GET /v2/users/batch/{job_id}``."""
        return f"{self.method} {self.path}"


@dataclass
class ApiResponse:
    """A vendor answer the caller has to act on.

    Attributes:
        status: HTTP status.
        payload: Decoded JSON body for 2xx answers (None for "not ready" answers).
        size: Bytes of the body, used to budget STATE messages.
    """

    status: int
    payload: t.Any = None
    size: int = 0


class MalformedResponseError(RetriableAPIError):
    """A 2xx answer that is not the JSON the endpoint promises."""


class RefreshableAuth(t.Protocol):
    """An authenticator that can fetch a new token after a 401."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add credentials to a request."""

    def refresh(self) -> None:
        """Drop the current token and fetch a new one."""


@dataclass
class VendorClient:
    """Make authenticated, retried, decoded requests to one vendor.

    Attributes:
        vendor: Display name used in errors, e.g. ``Fullstory``.
        base_url: Base URL with optional path prefix.
        auth: Callable adding credentials to a prepared request (an SDK authenticator).
        policy: Retry limits.
        timeout: Connect and read timeout in seconds.
        error_detail: Extracts the vendor's own message from an error response.
        headers: Headers sent with every request.
    """

    vendor: str
    base_url: str
    auth: Callable[[requests.PreparedRequest], requests.PreparedRequest]
    policy: RetryPolicy
    timeout: float
    error_detail: Callable[[requests.Response], str]
    headers: Mapping[str, str] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("tap-batchimport"))
    session: requests.Session = field(default_factory=SameOriginSession)
    _rate_limit_logged: bool = False

    def request(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, t.Any] | None = None,
        pass_statuses: Iterable[int] = (),
        envelope: str | None = None,
    ) -> ApiResponse:
        """Send one request, retrying transient failures, and decode the answer.

        Args:
            endpoint: What to call.
            path_params: Values for the endpoint's path placeholders.
            params: Query parameters (None values are left out).
            pass_statuses: Non-2xx statuses the caller handles itself (e.g. 202, 404,
                428); they come back undecoded instead of raising.
            envelope: Top-level key this answer must have (default: the endpoint's).

        Returns:
            The status and decoded payload.

        Raises:
            VendorAPIError: On a fatal answer, or when retries are exhausted.
        """
        url = endpoint.url(self.base_url, **(path_params or {}))
        query = {k: v for k, v in (params or {}).items() if v is not None}
        passing = frozenset(pass_statuses)
        required_key = envelope or endpoint.envelope
        budget = RetryBudget()
        tries = 0

        def attempt() -> ApiResponse:
            nonlocal tries
            tries += 1
            return self._attempt(endpoint, url, query, passing, required_key)

        retried = backoff.on_exception(
            lambda: self.policy.wait_generator(budget),
            RETRIABLE_EXCEPTIONS,
            max_tries=self.policy.max_tries,
            jitter=None,  # the wait generator adds its own, never below Retry-After
            on_backoff=lambda details: self._log_backoff(endpoint, details),
            logger=None,
        )(attempt)
        try:
            return retried()
        except RetriableAPIError as exc:
            status = exc.response.status_code if exc.response is not None else "malformed"
            why = budget.stop_reason or self._gave_up(tries)
            raise VendorAPIError(self.vendor, str(endpoint), status, f"{exc}; {why}") from None
        except RedirectRefusedError as exc:
            raise VendorAPIError(self.vendor, str(endpoint), exc.status, str(exc)) from None
        except requests.exceptions.RequestException as exc:
            why = budget.stop_reason or self._gave_up(tries)
            kind = type(exc).__name__
            raise VendorAPIError(self.vendor, str(endpoint), kind, why) from None

    def _gave_up(self, tries: int) -> str:
        return f"gave up after {tries} tries (retry_max_attempts={self.policy.max_tries})"

    def _detail(self, response: requests.Response) -> str:
        # The vendor's words, minus any credential it (or a proxy) echoed back.
        return mask(self.error_detail(response), request_secrets(response.request))

    def _attempt(
        self,
        endpoint: Endpoint,
        url: str,
        query: Mapping[str, t.Any],
        passing: frozenset[int],
        envelope: str | None,
    ) -> ApiResponse:
        response = self._send(endpoint, url, query)
        if response.status_code == 401 and 401 not in passing and hasattr(self.auth, "refresh"):  # noqa: PLR2004
            # A token may expire between our expiry check and the server's: refresh once.
            self.logger.info("%s answered 401; fetching a new token and retrying once", self.vendor)
            t.cast("RefreshableAuth", self.auth).refresh()
            response = self._send(endpoint, url, query)
        status = response.status_code
        if status in passing:
            return ApiResponse(status=status, payload=None, size=len(response.content))
        if status in RETRY_STATUSES:
            # The status goes into the final error once, as "HTTP <status>".
            raise RetriableAPIError(self._detail(response), response)
        if status >= 400 or status < 200:  # noqa: PLR2004
            detail = self._detail(response)
            raise VendorAPIError(self.vendor, str(endpoint), status, detail)
        body = response.content
        try:
            payload = _decode(body)
        except msgspec.DecodeError:
            msg = f"answer is not valid JSON ({len(body)} bytes)"
            raise MalformedResponseError(msg, response) from None
        if envelope and not (isinstance(payload, dict) and payload.get(envelope) is not None):
            msg = f"answer lacks its '{envelope}' envelope"
            raise MalformedResponseError(msg, response)
        return ApiResponse(status=status, payload=payload, size=len(body))

    def _send(self, endpoint: Endpoint, url: str, query: Mapping[str, t.Any]) -> requests.Response:
        request = requests.Request(endpoint.method, url, params=query, headers=dict(self.headers))
        prepared = self.auth(self.session.prepare_request(request))
        return self.session.send(prepared, timeout=self.timeout, allow_redirects=True)

    def _log_backoff(self, endpoint: Endpoint, details: t.Any) -> None:  # noqa: ANN401
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        wait = details.get("wait", 0.0)
        if response is not None and response.status_code == 429:  # noqa: PLR2004
            asked = parse_retry_after(response.headers.get("Retry-After"))
            loud = not self._rate_limit_logged or wait >= LONG_WAIT_LOG_SECONDS
            self.logger.log(
                logging.WARNING if loud else logging.DEBUG,
                "waiting %.0f s for %s rate limit (Retry-After: %s) on %s",
                wait,
                self.vendor,
                "absent" if asked is None else f"{asked:.0f} s",
                endpoint,
            )
            self._rate_limit_logged = True
            return
        what = (
            f"HTTP {response.status_code}"
            if response is not None and not isinstance(exc, MalformedResponseError)
            else str(exc)
            if isinstance(exc, MalformedResponseError)
            else type(exc).__name__
        )
        self.logger.warning(
            "%s %s: %s; retry %d in %.1f s",
            self.vendor,
            endpoint,
            what,
            details.get("tries", 0),
            wait,
        )


def json_error_detail(
    response: requests.Response,
    keys: Iterable[str] = ("message",),
    nested: tuple[str, str] | None = None,
) -> str:
    """Pull a vendor's message out of an error body, falling back to the reason phrase.

    Args:
        response: The error response.
        keys: Top-level keys to try, in order.
        nested: An ``(object, key)`` pair read last, e.g. DruID's ``result.message``.

    Returns:
        A short single-line message (at most 300 characters).
    """
    try:
        body = _decode(response.content)
    except msgspec.DecodeError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        parts = [str(body[k]) for k in keys if isinstance(body.get(k), (str, int))]
        inner = body.get(nested[0]) if nested else None
        if nested and isinstance(inner, dict) and isinstance(inner.get(nested[1]), str):
            parts.append(inner[nested[1]])
    text = " ".join(p.strip() for p in parts if str(p).strip()) or response.reason or "no message"
    return " ".join(text.split())[:300]
