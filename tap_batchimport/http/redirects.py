"""Redirects are followed only within the origin a request started at."""

from __future__ import annotations

import sys
import typing as t
from urllib.parse import urlsplit

import requests
from requests.utils import resolve_proxies

from tap_batchimport.http.body import keep_body, read_body
from tap_batchimport.http.deadline import DeadlineAdapter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

#: Most bytes of a redirect's own body read (nothing uses it; the rest is not read).
REDIRECT_BODY_BYTES = 64 * 1024


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

    Its connections obey the request's deadline (see ``deadline.py``), and a redirect's
    body is read only up to :data:`REDIRECT_BODY_BYTES` (``requests`` would read it whole).
    It also resolves the proxies the environment sets (``HTTPS_PROXY``, ``NO_PROXY``, ...)
    once per scheme and host instead of once per request.
    """

    def __init__(self) -> None:
        """Create the session, with deadline-aware connections."""
        super().__init__()
        adapter = DeadlineAdapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self._proxies: dict[tuple[str, str], dict[str, str]] = {}

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        # requests resolves proxies on every send, reading the whole environment three
        # times (0.14 ms a request: a tenth of a small page's cost); the environment does
        # not change during a run, so they are resolved once per scheme and host.
        if "proxies" not in kwargs:
            key = urlsplit(request.url or "")[:2]
            proxies = self._proxies.get(key)
            if proxies is None:
                proxies = resolve_proxies(request, dict(self.proxies), self.trust_env)
                self._proxies[key] = proxies
            kwargs["proxies"] = dict(proxies)
        return super().send(request, **kwargs)

    @override
    def resolve_redirects(
        self,
        resp: requests.Response,
        req: requests.PreparedRequest,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> Iterator[t.Any]:
        # Called for every answer; for a redirect, requests reads `resp.content` next (to
        # free the connection): read it bounded first.
        consumed = getattr(resp, "_content_consumed", True)
        if self.get_redirect_target(resp) is not None and not consumed:
            body, _ = read_body(resp, REDIRECT_BODY_BYTES)
            keep_body(resp, body)
        yield from super().resolve_redirects(resp, req, *args, **kwargs)

    @override
    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        # Called by resolve_redirects for each hop, before the next request is sent.
        if origin(prepared_request.url) != origin(response.url):
            raise RedirectRefusedError(response, prepared_request.url or "")
        super().rebuild_auth(prepared_request, response)
