"""DruID error messages: the vendor's own words, never a secret or a token."""

from __future__ import annotations

import typing as t

import msgspec

if t.TYPE_CHECKING:
    import requests

_decode = msgspec.json.Decoder().decode

#: Longest message kept from an error body.
MAX_DETAIL = 300

#: Where DruID and its OAuth2 server put a message: the OAuth2 error fields, a plain
#: ``message``, and the ``result`` part of the API envelope (``{result: {status, message}}``).
_TOP_KEYS = ("error", "error_description", "message")


def error_detail(response: requests.Response) -> str:
    """Pull DruID's message out of an error response.

    Args:
        response: The error response (API or token endpoint).

    Returns:
        One line of at most ``MAX_DETAIL`` characters.
    """
    try:
        body = _decode(response.content)
    except msgspec.DecodeError:
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        parts = [str(body[k]) for k in _TOP_KEYS if isinstance(body.get(k), (str, int))]
        result = body.get("result")
        if isinstance(result, dict) and isinstance(result.get("message"), str):
            parts.append(result["message"])
    text = " ".join(p.strip() for p in parts if p.strip()) or response.reason or "no message"
    return " ".join(text.split())[:MAX_DETAIL]
