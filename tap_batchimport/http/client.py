"""The one request loop every vendor's requests go through: auth, retries, decoding, errors.

Own loop rather than ``RESTStream.request_decorator``: ``job_details`` talks to three
vendors from one stream, and the results need per-page control (202/428 "not ready",
resume tokens, STATE after each page) that ``RESTStream.request_records`` does not
expose. The parts are still the SDK's and ``backoff``'s: SDK authenticators and
exceptions, ``backoff.on_exception``. Workers of one vendor share one client: each
thread gets its own ``requests`` session, and all share the vendor's rate gate.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from dataclasses import dataclass, field

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_batchimport.errors import MALFORMED, VendorAPIError
from tap_batchimport.http.body import MB, NotJsonObjectError, keep_body, read_body
from tap_batchimport.http.deadline import ResponseTimeoutError, request_deadline
from tap_batchimport.http.decoding import MalformedBodyError, decode_object
from tap_batchimport.http.endpoints import ApiResponse
from tap_batchimport.http.header_values import unsendable_header
from tap_batchimport.http.masking import masked_line, request_secrets
from tap_batchimport.http.prepare import prepare, prepared_base_url
from tap_batchimport.http.rate import RateGate, RateLimitTooLongError
from tap_batchimport.http.redirects import RedirectRefusedError, SameOriginSession
from tap_batchimport.http.retry import RetryBudget, RetryPolicy, parse_retry_after
from tap_batchimport.http.stats import RequestStats

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from tap_batchimport.http.endpoints import Endpoint

#: Statuses worth another try: rate limit, timeouts and server-side failures.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TOO_MANY_REQUESTS = 429
UNAUTHORIZED = 401

#: Exceptions ``backoff`` retries: retriable answers and lost or broken connections.
RETRIABLE_EXCEPTIONS = (
    RetriableAPIError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)

#: Most bytes of an error answer's body read: enough for any vendor message.
ERROR_BODY_BYTES = 1 << 20

#: Default ``max_response_mb``.
DEFAULT_MAX_RESPONSE_MB = 256

#: A 429 wait at least this long is always logged; shorter ones only the first time, so a
#: long wait never looks like a hang and a busy run does not flood the log.
LONG_WAIT_LOG_SECONDS = 10.0


class MalformedResponseError(RetriableAPIError):
    """A 2xx answer that is not the JSON the endpoint promises."""


class RefreshableAuth(t.Protocol):
    """An authenticator that can fetch a new token after a 401."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add credentials to a request."""

    def refresh(self, rejected: requests.PreparedRequest) -> None:
        """Fetch a new token, unless another worker already replaced the rejected one."""


@dataclass
class VendorClient:
    """Make authenticated, retried, decoded requests to one vendor.

    Attributes:
        vendor: Display name used in errors, e.g. ``Fullstory``.
        base_url: Base URL with optional path prefix.
        auth: Callable adding credentials to a prepared request (an SDK authenticator).
        policy: Retry limits.
        timeout: Limit on one request, from connect to the last byte, in seconds.
        error_detail: Extracts the vendor's own message from an error response.
        headers: Headers sent with every request.
        gate: The vendor's rate budget, shared by all its clients and workers.
        stats: The vendor's request counters.
        max_response_mb: Largest body read, counted after decompression.
    """

    vendor: str
    base_url: str
    auth: Callable[[requests.PreparedRequest], requests.PreparedRequest]
    policy: RetryPolicy
    timeout: float
    error_detail: Callable[[requests.Response], str]
    headers: Mapping[str, str] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("tap-batchimport"))
    gate: RateGate = field(default_factory=RateGate)
    stats: RequestStats = field(default_factory=RequestStats)
    max_response_mb: int = DEFAULT_MAX_RESPONSE_MB
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _rate_limit_logged: bool = False

    def __post_init__(self) -> None:
        """Prepare the base URL once, as ``requests`` would for every request."""
        self._base_url = prepared_base_url(self.base_url)

    @property
    def session(self) -> requests.Session:
        """This thread's session (``requests`` sessions are not meant to be shared)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = SameOriginSession()
        return session

    def request(  # noqa: PLR0913 - the options after endpoint are keyword-only
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, t.Any] | None = None,
        pass_statuses: Iterable[int] = (),
        envelope: str | None = None,
        check: Callable[[t.Any], str | None] | None = None,
    ) -> ApiResponse:
        """Send one request, retrying transient failures, and decode the answer.

        Args:
            endpoint: What to call.
            path_params: Values for the endpoint's path placeholders.
            params: Query parameters (None values are left out).
            pass_statuses: Non-2xx statuses the caller handles itself (e.g. 202, 404,
                428); they come back undecoded instead of raising.
            envelope: Top-level key this answer must have (default: the endpoint's).
            check: Says what is wrong with a decoded 2xx payload (None: nothing); a
                payload it faults is malformed, retried like a 5xx.

        Returns:
            The status and decoded payload.

        Raises:
            VendorAPIError: On a fatal answer, or when retries are exhausted.
        """
        url = endpoint.url(self._base_url, **(path_params or {}))
        query = {k: v for k, v in (params or {}).items() if v is not None}
        passing = frozenset(pass_statuses)
        required_key = envelope or endpoint.envelope
        budget = RetryBudget()
        tries = 0

        def attempt() -> ApiResponse:
            nonlocal tries
            tries += 1
            return self._attempt(endpoint, url, query, passing, (required_key, check), budget)

        retried = backoff.on_exception(
            lambda: self.policy.wait_generator(budget),
            RETRIABLE_EXCEPTIONS,
            max_tries=self.policy.max_tries,
            jitter=None,  # the wait generator adds its own, never below Retry-After
            # Retry lines name the job by its id, never by the path template.
            on_backoff=lambda details: self._on_backoff(
                f"{endpoint.method} {endpoint.path.format(**(path_params or {}))}", details
            ),
            logger=None,
        )(attempt)
        try:
            return retried()
        except RetriableAPIError as exc:
            status = exc.response.status_code if exc.response is not None else MALFORMED
            why = budget.stop_reason or self._gave_up(tries)
            raise VendorAPIError(self.vendor, str(endpoint), status, f"{exc}; {why}") from None
        except RedirectRefusedError as exc:
            raise VendorAPIError(self.vendor, str(endpoint), exc.status, str(exc)) from None
        except RateLimitTooLongError as exc:
            why = (
                f"the vendor's requests are paused {exc.seconds:.0f} s more (Retry-After), "
                f"more than the {exc.left:.0f} s this request may still wait of "
                f"retry_max_wait_seconds={self.policy.max_wait_seconds:.0f}; raise that "
                "setting to wait so long"
            )
            raise VendorAPIError(self.vendor, str(endpoint), TOO_MANY_REQUESTS, why) from None
        except ResponseTimeoutError as exc:
            why = budget.stop_reason or self._gave_up(tries)
            kind = "ReadTimeout"
            raise VendorAPIError(self.vendor, str(endpoint), kind, f"{exc}; {why}") from None
        except requests.exceptions.ContentDecodingError:
            # An answer came, but its body is not in the Content-Encoding it names.
            why = budget.stop_reason or self._gave_up(tries)
            detail = f"answer body is not in its Content-Encoding (not decodable); {why}"
            raise VendorAPIError(self.vendor, str(endpoint), MALFORMED, detail) from None
        except requests.exceptions.RequestException as exc:
            why = budget.stop_reason or self._gave_up(tries)
            kind = type(exc).__name__
            raise VendorAPIError(self.vendor, str(endpoint), kind, why) from None

    def _gave_up(self, tries: int) -> str:
        return f"gave up after {tries} tries (retry_max_attempts={self.policy.max_tries})"

    def _detail(self, response: requests.Response) -> str:
        # The vendor's words, minus any credential it (or a proxy) echoed back: masked
        # whole, then shortened.
        return masked_line(self.error_detail(response), request_secrets(response.request))

    def _attempt(  # noqa: PLR0913, PLR0917  # one request's parts, passed per attempt
        self,
        endpoint: Endpoint,
        url: str,
        query: Mapping[str, t.Any],
        passing: frozenset[int],
        expect: tuple[str | None, Callable[[t.Any], str | None] | None],
        budget: RetryBudget,
    ) -> ApiResponse:
        envelope = expect[0]  # what a 2xx payload must be: its envelope, then a check
        response, whole = self._send(endpoint, url, query, budget, json_object=bool(envelope))
        if (
            response.status_code == UNAUTHORIZED
            and UNAUTHORIZED not in passing
            and hasattr(self.auth, "refresh")
        ):
            # A token may expire between our expiry check and the server's: refresh once.
            self.logger.info("%s answered 401; fetching a new token and retrying once", self.vendor)
            t.cast("RefreshableAuth", self.auth).refresh(response.request)
            response, whole = self._send(endpoint, url, query, budget, json_object=bool(envelope))
        status = response.status_code
        if status in passing:
            return ApiResponse(status=status, payload=None, size=len(response.content))
        if status in RETRY_STATUSES:
            if status == TOO_MANY_REQUESTS:
                asked = parse_retry_after(response.headers.get("Retry-After"))
                if asked is not None:
                    self.gate.pause(asked)  # every worker of this vendor waits, not just us
            # The status goes into the final error once, as "HTTP <status>".
            raise RetriableAPIError(self._detail(response), response)
        if status >= 400 or status < 200:  # noqa: PLR2004
            detail = self._detail(response)
            raise VendorAPIError(self.vendor, str(endpoint), status, detail)
        return self._decoded(response, whole=whole, expect=expect)

    def _decoded(
        self,
        response: requests.Response,
        *,
        whole: bool,
        expect: tuple[str | None, Callable[[t.Any], str | None] | None],
    ) -> ApiResponse:
        # A 2xx body: whole, JSON, with its envelope, and what the caller's check wants.
        envelope, check = expect
        body = response.content
        if not whole:
            msg = (
                f"answer is larger than max_response_mb={self.max_response_mb} (counted "
                "after decompression); the rest was not read"
            )
            raise MalformedResponseError(msg, response)
        try:
            payload = decode_object(body)
        except MalformedBodyError as exc:
            raise MalformedResponseError(str(exc), response) from None
        if envelope and not (isinstance(payload, dict) and payload.get(envelope) is not None):
            msg = f"answer lacks its '{envelope}' envelope"
            raise MalformedResponseError(msg, response)
        if check is not None and (problem := check(payload)):
            raise MalformedResponseError(problem, response)
        return ApiResponse(status=response.status_code, payload=payload, size=len(body))

    def _send(
        self,
        endpoint: Endpoint,
        url: str,
        query: Mapping[str, t.Any],
        budget: RetryBudget,
        *,
        json_object: bool,
    ) -> tuple[requests.Response, bool]:
        """Send one request and read its answer, bounded in time and size.

        Returns:
            The response (its body read) and whether the body was read whole.

        Raises:
            MalformedResponseError: A 2xx that must be a JSON object starts otherwise.
        """
        session = self.session
        # Held by another request's 429: that counts against this request's budget too.
        budget.waited += self.gate.wait_turn(budget.left(self.policy))
        # Credentials after the wait: a token must not age at the gate.
        prepared = self.auth(prepare(session, endpoint.method, url, query, self.headers))
        if bad := unsendable_header(prepared.headers):
            name, problem = bad
            detail = f"the {name} header {problem}; the request was not sent"
            raise VendorAPIError(self.vendor, str(endpoint), "not sent", detail)
        self.stats.sent()
        with request_deadline(self.timeout) as deadline:
            try:
                response = session.send(
                    prepared,
                    # Connect within what is left; the watchdog bounds the whole request.
                    timeout=(deadline.remaining(), self.timeout),
                    allow_redirects=True,
                    stream=True,
                )
                ok = 200 <= response.status_code < 300  # noqa: PLR2004
                limit = self.max_response_mb * MB
                body, whole = read_body(
                    response,
                    limit if ok else min(limit, ERROR_BODY_BYTES),
                    deadline,
                    json_object=json_object and ok,
                )
            except NotJsonObjectError as exc:
                msg = (
                    "answer is not the JSON object the endpoint returns: it starts with "
                    f"{str(exc)!r}, not '{{' (the rest was not read)"
                )
                raise MalformedResponseError(msg, response) from None
            except requests.exceptions.RequestException as exc:
                # The watchdog ended a read, or one read alone took the whole time.
                if deadline.expired or isinstance(exc, requests.exceptions.Timeout):
                    raise deadline.error() from None
                raise
            if deadline.expired:  # a read-until-close body cut short by the watchdog
                raise deadline.error()
        keep_body(response, body)
        # An error answer's body is only ever read for its message: a cut one is no error.
        return response, whole or not ok

    def _on_backoff(self, endpoint: str, details: t.Any) -> None:  # noqa: ANN401
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        wait = details.get("wait", 0.0)
        self.stats.retried(wait)
        if response is not None and response.status_code == TOO_MANY_REQUESTS:
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
        if isinstance(exc, (MalformedResponseError, ResponseTimeoutError)):
            what = str(exc)
        elif isinstance(exc, requests.exceptions.ContentDecodingError):
            what = "answer body is not in its Content-Encoding"
        elif response is not None:
            what = f"HTTP {response.status_code}"
        else:
            what = type(exc).__name__
        self.logger.warning(
            "%s %s: %s; retry %d in %.1f s",
            self.vendor,
            endpoint,
            what,
            details.get("tries", 0),
            wait,
        )
