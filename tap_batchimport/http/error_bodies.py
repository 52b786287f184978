"""Reading a vendor's own message out of a JSON error body.

The message is returned whole: ``VendorClient`` masks secrets in it first and shortens it
after (shortening first could cut a secret in two, and a cut secret no longer matches).
"""

from __future__ import annotations

import typing as t

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    import requests

_decode = msgspec.json.Decoder().decode


def decoded_body(response: requests.Response) -> t.Any:  # noqa: ANN401
    """The response's JSON body, or None when it is empty or not JSON.

    Args:
        response: An error response.

    Returns:
        The decoded body, or None.
    """
    try:
        return _decode(response.content) if response.content else None
    except msgspec.DecodeError:
        return None


def one_line(text: str) -> str:
    """Collapse whitespace (the caller masks secrets, then shortens).

    Args:
        text: A vendor message.

    Returns:
        A single line, whole.
    """
    return " ".join(str(text).split())


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
        A single-line message (not yet masked or shortened).
    """
    body = decoded_body(response)
    parts: list[str] = []
    if isinstance(body, dict):
        parts = [str(body[k]) for k in keys if isinstance(body.get(k), (str, int))]
        inner = body.get(nested[0]) if nested else None
        if nested and isinstance(inner, dict) and isinstance(inner.get(nested[1]), str):
            parts.append(inner[nested[1]])
    text = " ".join(p.strip() for p in parts if str(p).strip()) or response.reason or "no message"
    return one_line(text)
