"""A request as a vendor handler sees it, and what a handler answers.

Every vendor module builds on these: the router turns an HTTP request into a :class:`Call`,
the vendor's route function picks a handler, and the handler returns a :data:`Reply`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

#: What a vendor handler returns: HTTP status and a JSON body.
Reply = tuple[int, bytes]
#: A vendor handler.
Handler = Callable[["Call"], Reply]
#: What a vendor's router returns: endpoint name, handler, path parameters.
Route = tuple[str, Handler, dict[str, str]]
#: A vendor's router: method and path below the vendor prefix to a route.
RouteFn = Callable[[str, str], Route]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def dumps(data: object) -> bytes:
    """Serialise JSON the way the vendors send it: compact, UTF-8, non-ASCII kept.

    Args:
        data: JSON-serialisable data.

    Returns:
        The bytes.
    """
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Call:
    """A request as a vendor handler sees it.

    Attributes:
        method: HTTP method.
        path: Path below the vendor prefix.
        params: Path parameters found by the vendor's router.
        query: Query parameters.
        headers: Request headers, names lower-cased.
        body: Raw request body.
    """

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        """Return a header's value, or ``""`` when absent.

        Args:
            name: Header name, any case.

        Returns:
            The value.
        """
        return self.headers.get(name.lower(), "")

    def form(self) -> dict[str, str] | None:
        """Parse a form-encoded body.

        Returns:
            The form fields, or None when the body is not ``application/x-www-form-urlencoded``.
        """
        media_type = self.header("content-type").split(";", 1)[0].strip().lower()
        if media_type != FORM:
            return None
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return dict(parse_qsl(text, keep_blank_values=True))

    def bearer(self) -> str | None:
        """Return the token of an ``Authorization: Bearer <token>`` header.

        Returns:
            The token, or None when the header is absent or uses another scheme.
        """
        scheme, _, token = self.header("authorization").strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None
