"""SailPoint Identity Security Cloud: OAuth2 token and sp-config import results.

Routes, below the ``/sailpoint`` prefix (the tenant host)::

    POST /oauth/token                                  sailpoint.token
    GET  /{version}/sp-config/import/{id}              sailpoint.status
    GET  /{version}/sp-config/import/{id}/download     sailpoint.download
    GET  /sp-config/v1/import/{id}                     sailpoint.status
    GET  /sp-config/v1/import/{id}/download            sailpoint.download

``version`` is one of ``beta``, ``v2024``, ``v2025``, ``v2026``; anything else is 404. The
``/sp-config/v1`` paths are SailPoint's per-API layout (its ``idn/apis/sp-config`` spec),
with the same bodies; ``Dataset.sailpoint_prefixed_paths = False`` retires the prefixed
paths (every job answers 404 there), as SailPoint plans to.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import threading
import time
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from emulator.calls import dumps
from emulator.sailpoint.jobs import COMPLETE, SailpointJob

if TYPE_CHECKING:
    from emulator.calls import Call, Reply, Route
    from emulator.dataset import Dataset
    from emulator.page_cache import PageCache

VERSIONS = frozenset({"beta", "v2024", "v2025", "v2026"})
#: The ``version`` path parameter of a request to the ``/sp-config/v1`` layout.
V1_LAYOUT = "sp-config/v1"
SCOPE = "sp:config:manage"
_JWT_EXPIRED = b'{"error":"JWT validation failed: JWT is expired"}'
_RATE_LIMITED = b'{"message":" Rate Limit Exceeded "}'

# detailCode and message text by status, as the spec's examples give them.
_DETAILS: dict[int, tuple[str, str]] = {
    HTTPStatus.BAD_REQUEST: (
        "400.1 Bad Request Content",
        "The request was syntactically correct but its content is semantically invalid.",
    ),
    HTTPStatus.FORBIDDEN: (
        "403 Forbidden",
        "The server understood the request but refuses to authorize it.",
    ),
    HTTPStatus.NOT_FOUND: (
        "404 Not found",
        "The server did not find a current representation for the target resource.",
    ),
    HTTPStatus.METHOD_NOT_ALLOWED: (
        "405 Method Not Allowed",
        "The request method is not supported for the target resource.",
    ),
    HTTPStatus.INTERNAL_SERVER_ERROR: ("500.0 Internal Fault", "An internal fault occurred."),
    HTTPStatus.BAD_GATEWAY: ("502 Bad Gateway", "An upstream service failed."),
    HTTPStatus.SERVICE_UNAVAILABLE: (
        "503 Service Unavailable",
        "The service is temporarily unavailable.",
    ),
    HTTPStatus.GATEWAY_TIMEOUT: ("504 Gateway Timeout", "An upstream service timed out."),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def detail_body(status: int, text: str | None = None) -> bytes:
    """Return SailPoint's ``{detailCode, trackingId, messages, causes}`` error body.

    Args:
        status: HTTP status.
        text: Message text; None uses the usual text for the status.

    Returns:
        The body.
    """
    detail_code, default_text = _DETAILS.get(status, (f"{status} Error", "An error occurred."))
    message = {"locale": "en-US", "localeOrigin": "DEFAULT", "text": text or default_text}
    body: dict[str, Any] = {
        "detailCode": detail_code,
        "trackingId": uuid.uuid4().hex,
        "messages": [message],
    }
    if status != HTTPStatus.FORBIDDEN:  # The spec's 403 example has no causes.
        body["causes"] = []
    return dumps(body)


class SailpointApp:
    """Serves the SailPoint token and sp-config import endpoints for a dataset."""

    def __init__(self, dataset: Dataset, cache: PageCache) -> None:
        """Serve a dataset.

        Args:
            dataset: Import jobs, client credentials and the ``sailpoint_forbidden`` switch.
            cache: Cache of serialised documents.
        """
        self._dataset = dataset
        self._cache = cache
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._status_polls: dict[str, int] = {}

    def route(self, method: str, path: str) -> Route:
        """Find the handler of a request.

        Args:
            method: HTTP method.
            path: Path below the ``/sailpoint`` prefix.

        Returns:
            Endpoint name, handler and path parameters.
        """
        if path == "/oauth/token":
            return "sailpoint.token", self._token if method == "POST" else self._not_allowed, {}
        parts = [unquote(part) for part in path.split("/")[1:]]
        match parts:
            case ["sp-config", "v1", "import", job_id]:
                endpoint, handler = "sailpoint.status", self._status
                params = {"version": V1_LAYOUT, "job_id": job_id}
            case ["sp-config", "v1", "import", job_id, "download"]:
                endpoint, handler = "sailpoint.download", self._download
                params = {"version": V1_LAYOUT, "job_id": job_id}
            case [version, "sp-config", "import", job_id]:
                endpoint, handler = "sailpoint.status", self._status
                params = {"version": version, "job_id": job_id}
            case [version, "sp-config", "import", job_id, "download"]:
                endpoint, handler = "sailpoint.download", self._download
                params = {"version": version, "job_id": job_id}
            case _:
                endpoint, handler, params = "sailpoint.unknown", self._unknown, {}
        if method != "GET":
            handler = self._not_allowed
        return endpoint, handler, params

    def error_body(self, status: int, endpoint: str) -> bytes:
        """Return SailPoint's error body for a status.

        Args:
            status: HTTP status.
            endpoint: Endpoint name (unused: every endpoint answers alike).

        Returns:
            The body.
        """
        del endpoint
        if status == HTTPStatus.UNAUTHORIZED:
            return _JWT_EXPIRED
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            return _RATE_LIMITED
        return detail_body(status)

    def missing_envelope(self, endpoint: str) -> bytes:
        """Return valid JSON the client cannot use.

        Args:
            endpoint: Endpoint name.

        Returns:
            ``{"unexpected": true}`` for the download, ``{}`` otherwise.
        """
        return b'{"unexpected":true}' if endpoint == "sailpoint.download" else b"{}"

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far."""
        self._tokens.clear()

    def client_id(self, call: Call) -> str:
        """Name the client of a request, as SailPoint's gateway does for its rate limit.

        Args:
            call: The request.

        Returns:
            The form's ``client_id`` of a token request, else the ``client_id`` claim of
            the bearer JWT (expired or not); ``""`` when neither is there.
        """
        form = call.form()
        if form is not None and form.get("client_id"):
            return form["client_id"]
        token = call.bearer()
        return _jwt_client_id(token) if token is not None else ""

    def reset_polls(self) -> None:
        """Forget how often each job was polled, so ``processing_polls`` apply afresh."""
        with self._lock:
            self._status_polls.clear()

    # Handlers.

    def _token(self, call: Call) -> Reply:
        form = call.form()
        if form is None:
            return HTTPStatus.BAD_REQUEST, dumps({"error": "invalid_request"})
        if form.get("grant_type") != "client_credentials":
            return HTTPStatus.BAD_REQUEST, dumps({"error": "unsupported_grant_type"})
        dataset = self._dataset
        credentials = (form.get("client_id"), form.get("client_secret"))
        if credentials != (dataset.sailpoint_client_id, dataset.sailpoint_client_secret):
            return HTTPStatus.UNAUTHORIZED, dumps({"error": "invalid_client"})
        jti = str(uuid.uuid4())
        expires_at = time.time() + dataset.sailpoint_token_ttl
        token = _jwt(dataset.sailpoint_client_id, jti, int(expires_at))
        self._tokens[token] = expires_at
        return HTTPStatus.OK, dumps(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(dataset.sailpoint_token_ttl),
                "scope": SCOPE,
                "tenant_id": "2c9180835d2e5168015d32f890ca1581",
                "pod": "stg01-useast1",
                "strong_auth_supported": False,
                "org": "emulated-tenant",
                "identity_id": "2c9180a46faadee4016fb4e018c20639",
                "user_name": "emulator.admin",
                "strong_auth": False,
                "jti": jti,
            }
        )

    def _status(self, call: Call) -> Reply:
        job = self._job(call)
        if not isinstance(job, SailpointJob):
            return job  # The error reply.
        with self._lock:
            polls = self._status_polls.get(job.job_id, 0)
            self._status_polls[job.job_id] = polls + 1
        in_progress = polls < job.processing_polls
        body: dict[str, Any] = {
            "jobId": job.job_id,
            "status": "IN_PROGRESS" if in_progress else job.status,
            "type": "IMPORT",
            "created": job.created,
            "modified": job.modified,
            "expiration": job.expiration,
        }
        if job.completed is not None and not in_progress:
            body["completed"] = job.completed
        if job.message is not None:
            body["message"] = job.message
        return HTTPStatus.OK, dumps(body)

    def _download(self, call: Call) -> Reply:
        job = self._job(call)
        if not isinstance(job, SailpointJob):
            return job  # The error reply.
        if job.download_gone:
            return HTTPStatus.NOT_FOUND, detail_body(HTTPStatus.NOT_FOUND)
        with self._lock:
            in_progress = self._status_polls.get(job.job_id, 0) < job.processing_polls
        if in_progress or job.status != COMPLETE:
            text = f"The import job is not complete (status {job.status})."
            return HTTPStatus.BAD_REQUEST, detail_body(HTTPStatus.BAD_REQUEST, text)
        document = job.document if job.document is not None else {"results": {}}
        key = ("sailpoint", job.job_id, id(document))
        return HTTPStatus.OK, self._cache.get_or_build(key, lambda: dumps(document))

    def _unknown(self, call: Call) -> Reply:
        denied = self._guard(call)
        return denied or (HTTPStatus.NOT_FOUND, detail_body(HTTPStatus.NOT_FOUND))

    def _not_allowed(self, call: Call) -> Reply:
        del call
        return HTTPStatus.METHOD_NOT_ALLOWED, detail_body(HTTPStatus.METHOD_NOT_ALLOWED)

    # Helpers.

    def _guard(self, call: Call) -> Reply | None:
        token = call.bearer()
        expiry = self._tokens.get(token) if token is not None else None
        if expiry is None or expiry <= time.time():
            return HTTPStatus.UNAUTHORIZED, _JWT_EXPIRED
        if self._dataset.sailpoint_forbidden:
            return HTTPStatus.FORBIDDEN, detail_body(HTTPStatus.FORBIDDEN)
        return None

    def _job(self, call: Call) -> SailpointJob | Reply:
        denied = self._guard(call)
        if denied is not None:
            return denied
        job = None
        version = call.params["version"]
        if version == V1_LAYOUT or (version in VERSIONS and self._dataset.sailpoint_prefixed_paths):
            job = self._dataset.sailpoint_job(call.params["job_id"])
        return job or (HTTPStatus.NOT_FOUND, detail_body(HTTPStatus.NOT_FOUND))


@functools.lru_cache(maxsize=256)
def _jwt_client_id(token: str) -> str:
    # The claims are the JWT's middle part, unpadded base64url JSON; the signature is not
    # checked (the emulator signs with random bytes).
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return ""
    client_id = claims.get("client_id") if isinstance(claims, dict) else None
    return client_id if isinstance(client_id, str) else ""


def _jwt(client_id: str, jti: str, expires_at: int) -> str:
    # Looks like SailPoint's RS256 JWT; the signature is random bytes, never checked.
    header = {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
    claims = {
        "tenant_id": "2c9180835d2e5168015d32f890ca1581",
        "internal": True,
        "pod": "stg01-useast1",
        "org": "emulated-tenant",
        "identity_id": "2c9180a46faadee4016fb4e018c20639",
        "user_name": "emulator.admin",
        "strong_auth": False,
        "authorities": ["ORG_ADMIN"],
        "client_id": client_id,
        "strong_auth_supported": False,
        "scope": [SCOPE],
        "exp": expires_at,
        "jti": jti,
    }
    parts = (_b64(dumps(header)), _b64(dumps(claims)), _b64(os.urandom(64)))
    return ".".join(parts)
