"""SailPoint OAuth2 client credentials: a cached bearer token, refreshed before it expires.

Built on the SDK's ``OAuthAuthenticator`` (request body, ``Bearer`` header, expiry
bookkeeping). ``update_access_token`` is replaced because the SDK's raises a bare
``RuntimeError``, logs the token endpoint's body, and retries nothing but connection
errors; here 429, 5xx, timeouts and dropped connections get the tap's ``RetryPolicy`` and
a refusal is one clear ``VendorAPIError`` line.
"""

from __future__ import annotations

import datetime as dt
import sys
import typing as t

import backoff
import msgspec
import requests
from singer_sdk.authenticators import OAuthAuthenticator
from singer_sdk.exceptions import RetriableAPIError

from tap_batchimport.client import RETRIABLE_EXCEPTIONS, RETRY_STATUSES, MalformedResponseError
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.retry import RetryBudget, RetryPolicy
from tap_batchimport.sailpoint.errors import error_detail

if t.TYPE_CHECKING:
    import logging

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

VENDOR = "SailPoint"
TOKEN_ENDPOINT = "POST /oauth/token"  # noqa: S105  (a path, not a secret)

#: A token is replaced this long before it expires (at most a tenth of its lifetime),
#: so a request never leaves with a token about to lapse in flight.
REFRESH_MARGIN_SECONDS = 60.0

_decode = msgspec.json.Decoder().decode


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SailpointAuthenticator(OAuthAuthenticator):
    """``Authorization: Bearer <token>`` from ``{sailpoint_api_url}/oauth/token``."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        policy: RetryPolicy,
        timeout: float,
        logger: logging.Logger,
    ) -> None:
        """Prepare the authenticator; no token is requested until the first API call.

        Args:
            token_url: Absolute URL of the token endpoint.
            client_id: Personal access token client id.
            client_secret: Its secret.
            policy: Retry limits for the token request.
            timeout: Connect and read timeout of the token request.
            logger: The tap's logger.
        """
        super().__init__(auth_endpoint=token_url, client_id=client_id, client_secret=client_secret)
        self._policy = policy
        self._timeout = timeout
        self.logger = logger
        # The SDK's session retries connection errors on its own; RetryPolicy does that here.
        self._session = requests.Session()

    @property
    @override
    def oauth_request_body(self) -> dict[str, t.Any]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    @override
    def is_token_valid(self) -> bool:
        if self.access_token is None or self.last_refreshed is None:
            return False
        if not self.expires_in:
            return True  # no lifetime given: used until a 401 says otherwise
        margin = min(REFRESH_MARGIN_SECONDS, self.expires_in / 10)
        age = (_now() - self.last_refreshed).total_seconds()
        return age < self.expires_in - margin

    def refresh(self) -> None:
        """Drop the current token and fetch a new one (``VendorClient`` calls this on a 401)."""
        self.access_token = None
        self.last_refreshed = None
        self.update_access_token()

    @override
    def update_access_token(self) -> None:
        """Fetch a token, retrying transient failures.

        Raises:
            VendorAPIError: If SailPoint refuses the credentials, or retries run out.
        """
        self.logger.info("%s: requesting an access token", VENDOR)
        budget = RetryBudget()
        tries = 0

        def attempt() -> tuple[str, int | None]:
            nonlocal tries
            tries += 1
            return self._request_token()

        retried = backoff.on_exception(
            lambda: self._policy.wait_generator(budget),
            RETRIABLE_EXCEPTIONS,
            max_tries=self._policy.max_tries,
            jitter=None,  # the wait generator adds its own, never below Retry-After
            on_backoff=self._log_backoff,
            logger=None,
        )(attempt)
        requested_at = _now()
        try:
            token, expires_in = retried()
        except RetriableAPIError as exc:
            status = exc.response.status_code if exc.response is not None else "malformed"
            why = budget.stop_reason or f"gave up after {tries} tries"
            detail = self._redact(f"{exc}; {why}")
            raise VendorAPIError(VENDOR, TOKEN_ENDPOINT, status, detail) from None
        except requests.exceptions.RequestException as exc:
            why = budget.stop_reason or f"gave up after {tries} tries"
            raise VendorAPIError(VENDOR, TOKEN_ENDPOINT, type(exc).__name__, why) from None
        self.access_token = token
        self.expires_in = expires_in
        self.last_refreshed = requested_at  # lifetime counts from the request, to be safe

    def _request_token(self) -> tuple[str, int | None]:
        response = self._session.post(
            self.auth_endpoint,
            data=self.oauth_request_body,
            headers={"Accept": "application/json"},
            timeout=self._timeout,
        )
        status = response.status_code
        if status in RETRY_STATUSES:
            msg = f"{status} {self._redact(error_detail(response))}"
            raise RetriableAPIError(msg, response)
        if not 200 <= status < 300:  # noqa: PLR2004
            detail = self._redact(error_detail(response))
            raise VendorAPIError(VENDOR, TOKEN_ENDPOINT, status, detail)
        try:
            body = _decode(response.content)
        except msgspec.DecodeError:
            msg = f"{status} answer is not valid JSON ({len(response.content)} bytes)"
            raise MalformedResponseError(msg, response) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            msg = f"{status} answer lacks its 'access_token'"
            raise MalformedResponseError(msg, response)
        try:
            expires_in = int(body.get("expires_in") or 0) or None
        except (TypeError, ValueError):
            expires_in = None
        return token, expires_in

    def _redact(self, text: str) -> str:
        # An error body should never echo the secret, but a proxy's might.
        for secret in (self.client_secret, self.access_token):
            if secret and len(secret) >= 4:  # noqa: PLR2004
                text = text.replace(secret, "***")
        return text

    def _log_backoff(self, details: t.Any) -> None:  # noqa: ANN401
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        what = (
            str(exc)
            if isinstance(exc, MalformedResponseError)
            else f"HTTP {response.status_code}"
            if response is not None
            else type(exc).__name__
        )
        self.logger.warning(
            "%s %s: %s; retry %d in %.1f s",
            VENDOR,
            TOKEN_ENDPOINT,
            what,
            details.get("tries", 0),
            details.get("wait", 0.0),
        )
