"""Keeping credentials out of every message: what a request carried, and masking it."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qsl

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    import requests

#: Form fields of a request body whose values no message may show.
_SECRET_FIELD_HINTS = ("secret", "password", "token", "key")
#: Shorter strings are not masked: they would mangle ordinary words.
_MIN_MASKED_LENGTH = 4


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
