"""Times: now as RFC 3339, and lenient parsing of the vendors' timestamps."""

from __future__ import annotations

import datetime as dt
import re
import typing as t

_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?\s*([Zz]|[+-]\d{2}:?\d{2})?$"
)


def utc_now() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.timezone.utc)


def now_iso() -> str:
    """The current time as RFC 3339 (UTC)."""
    return utc_now().isoformat()


def parse_timestamp(value: t.Any) -> dt.datetime | None:  # noqa: ANN401
    """Read an RFC 3339 timestamp leniently (any fraction length, ``Z`` or offset).

    ``datetime.fromisoformat`` on Python 3.10 takes neither ``Z`` nor 1, 2, 4 or 5
    fractional digits.

    Args:
        value: The vendor's value.

    Returns:
        An aware datetime (UTC when no offset is given), or None if unreadable.
    """
    if not isinstance(value, str):
        return None
    match = _ISO.match(value.strip())
    if not match:
        return None
    date, time, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    if not zone or zone in {"Z", "z"}:
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        return dt.datetime.fromisoformat(f"{date}T{time}.{micros}{zone}")
    except ValueError:
        return None
