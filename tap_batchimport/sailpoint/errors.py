"""SailPoint's error bodies, reduced to the one line a fatal error shows."""

from __future__ import annotations

import typing as t

from tap_batchimport.http.error_bodies import decoded_body, one_line

if t.TYPE_CHECKING:
    import requests


def _texts(items: t.Any) -> list[str]:  # noqa: ANN401
    """The ``text`` of each ``{locale, localeOrigin, text}`` entry of a list."""
    if not isinstance(items, list):
        return []
    return [
        str(item["text"]).strip()
        for item in items
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip()
    ]


def describe_error_body(body: t.Any) -> str | None:  # noqa: ANN401
    """Describe a decoded SailPoint error body.

    Three shapes exist: ``{detailCode, trackingId, messages[], causes[]}`` (400, 403, 404,
    500), ``{error}`` (401) and ``{message}`` (429); the token endpoint answers OAuth's
    ``{error, error_description}``.

    Args:
        body: The decoded JSON body.

    Returns:
        The vendor's message, or None when the body has none of those fields.
    """
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    if isinstance(body.get("detailCode"), str):
        parts.append(body["detailCode"])
    # Messages and causes often repeat each other; keep each text once.
    parts.extend(dict.fromkeys(_texts(body.get("messages")) + _texts(body.get("causes"))))
    parts.extend(
        body[key]
        for key in ("error", "error_description", "message")
        if isinstance(body.get(key), str)
    )
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        return None
    text = ": ".join(parts[:2]) + "".join(f"; {p}" for p in parts[2:])
    if isinstance(body.get("trackingId"), str) and body["trackingId"].strip():
        # SailPoint support asks for it.
        text += f" (trackingId {body['trackingId'].strip()})"
    return text


def error_detail(response: requests.Response) -> str:
    """SailPoint's own message for an error response, for ``VendorClient``.

    Args:
        response: The error response.

    Returns:
        One line (masked and shortened by the client): ``detailCode``, message texts and
        tracking id, or the 401/429 message, or the HTTP reason phrase.
    """
    text = describe_error_body(decoded_body(response)) or response.reason or "no message"
    return one_line(text)
