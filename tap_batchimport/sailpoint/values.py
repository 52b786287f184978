"""Lenient reading of SailPoint's text fields."""

from __future__ import annotations

import typing as t

import msgspec


def as_text(value: t.Any) -> str | None:  # noqa: ANN401
    """A string field as a string: null stays null, anything else becomes its JSON text.

    Args:
        value: The vendor's value.

    Returns:
        The value, or its JSON encoding when it is not a string.
    """
    if value is None or isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()
