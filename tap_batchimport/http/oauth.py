"""OAuth2 client-credentials tokens (DruID, SailPoint): fetched once, reused, renewed early.

Built on the SDK's ``OAuthAuthenticator`` (token bookkeeping, ``Bearer`` header) with its
token request replaced: the SDK's logs the whole error body, raises a bare
``RuntimeError`` and retries only connection errors. Here the token request goes through
a :class:`~tap_batchimport.http.client.VendorClient`, so 429, 5xx, dropped connections and
malformed answers get the run's ``RetryPolicy``, and a refusal ends the run with one
``VendorAPIError`` line. Neither the secret nor a token is ever logged.
"""

from __future__ import annotations

import sys
import threading
import time
import typing as t

from singer_sdk.authenticators import OAuthAuthenticator

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.http.header_values import header_value_problem
from tap_batchimport.http.masking import KNOWN_SECRETS, mask
from tap_batchimport.timestamps import utc_now

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from tap_batchimport.http.client import VendorClient
    from tap_batchimport.http.endpoints import Endpoint

    AuthHook = Callable[[requests.PreparedRequest], requests.PreparedRequest]
    ErrorReader = Callable[[requests.Response], str]

#: A token is renewed this long before it expires (at most), so a request never
#: leaves with a token about to lapse in flight...
EXPIRY_MARGIN_SECONDS = 60.0
#: ...or this fraction of its lifetime, for short-lived tokens.
EXPIRY_MARGIN_FRACTION = 0.1


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """``Authorization: Bearer <token>`` from a vendor's client-credentials token endpoint.

    Callable on a prepared request like every SDK authenticator; ``refresh()`` is what
    ``VendorClient`` calls once after a 401. All workers of a vendor share one
    authenticator: a token is fetched (or refreshed) by one of them while the others wait.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        token_endpoint: Endpoint,
        auth_url: str,
        client_id: str,
        client_secret: str,
        error_detail: ErrorReader,
        token_client: Callable[[AuthHook, ErrorReader], VendorClient],
    ) -> None:
        """Prepare the authenticator; the first token is fetched by the first request.

        Args:
            token_endpoint: The token endpoint (``POST``, below ``auth_url``).
            auth_url: Base URL of the auth host, path prefix allowed.
            client_id: OAuth2 client id.
            client_secret: OAuth2 client secret.
            error_detail: The vendor's error-message reader (secrets are masked after it).
            token_client: Makes the client of the token endpoint from the hook that adds
                the form body and the error reader (the vendor's retries and rate gate).
        """
        self.token_endpoint = token_endpoint
        super().__init__(
            auth_endpoint=token_endpoint.url(auth_url),
            client_id=client_id,
            client_secret=client_secret,
        )
        # The form body rides in as the "auth" hook, so the token request reuses the
        # shared client's retries and error reporting unchanged.
        self._token_client = token_client(self._add_form_body, self.redacting(error_detail))
        self.vendor_name = self._token_client.vendor
        self.logger = self._token_client.logger
        self._lock = threading.RLock()
        KNOWN_SECRETS.add(self.client_secret)

    def secrets(self) -> tuple[str | None, ...]:
        """The strings no message may show: the client secret and the current token."""
        return (self.client_secret, self.access_token)

    def redacting(
        self, error_detail: Callable[[requests.Response], str]
    ) -> Callable[[requests.Response], str]:
        """Wrap a vendor's error reader so its message can never show a secret.

        Args:
            error_detail: Reads the vendor's message from an error response.

        Returns:
            The same reader, with the client secret and current token masked.
        """
        return lambda response: mask(error_detail(response), self.secrets())

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
            return True  # no lifetime given: use it until a 401 says otherwise
        margin = min(EXPIRY_MARGIN_SECONDS, self.expires_in * EXPIRY_MARGIN_FRACTION)
        age = (utc_now() - self.last_refreshed).total_seconds()
        return age < self.expires_in - margin

    @override
    def update_access_token(self) -> None:
        """Fetch a new token (retrying transient failures).

        Raises:
            VendorAPIError: The auth server refused the credentials, or kept failing, or
                sent a token no HTTP header can carry.
        """
        requested = utc_now()
        try:
            answer = self._token_client.request(self.token_endpoint)
        except VendorAPIError as exc:
            exc.vendor_wide = True  # no token, no request of this vendor can succeed
            raise
        body: dict[str, t.Any] = answer.payload
        token = str(body["access_token"])
        # Masked everywhere from now on, also after it is replaced.
        KNOWN_SECRETS.add(token)
        if problem := header_value_problem(token):
            self.access_token = None
            why = f"the access token it sent {problem}; refused, never sent in a header"
            error = VendorAPIError(self.vendor_name, str(self.token_endpoint), answer.status, why)
            error.vendor_wide = True
            raise error
        self.access_token = token
        self.expires_in = token_lifetime(body)
        self.last_refreshed = requested  # the lifetime counts from the request, to be safe
        self.logger.info(
            "%s: new access token obtained (%s)",
            self.vendor_name,
            f"valid {self.expires_in} s" if self.expires_in else "no expiry given",
        )

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # One worker fetches the token; the others wait for it instead of fetching their own.
        with self._lock:
            return super().authenticate_request(request)

    def refresh(self, rejected: requests.PreparedRequest) -> None:
        """Fetch a new token after a 401, unless another worker already did.

        Args:
            rejected: The request the vendor answered 401 for.
        """
        with self._lock:
            sent = rejected.headers.get("Authorization", "")
            if self.access_token and sent != f"Bearer {self.access_token}":
                return  # the token that failed was already replaced
            self.access_token = None
            self.last_refreshed = None
            self.update_access_token()

    def _add_form_body(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Form-encoded, as OAuth2 (RFC 6749 section 4.4.2) requires; sets Content-Type too.
        request.prepare_body(self.oauth_request_payload, None)
        return request


def token_lifetime(body: dict[str, t.Any]) -> int | None:
    """Seconds a token lives: ``expires_in``, else derived from ``expires_at`` (epoch ms).

    Args:
        body: The token response.

    Returns:
        Seconds, or None when the server says neither.
    """
    try:
        if body.get("expires_in") is not None:
            return max(0, int(body["expires_in"]))
        if body.get("expires_at") is not None:
            return max(0, int(float(body["expires_at"]) / 1000 - time.time()))
    except (TypeError, ValueError):
        pass
    return None
