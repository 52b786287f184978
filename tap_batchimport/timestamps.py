"""Times: now as RFC 3339, and lenient parsing of the vendors' timestamps."""

from __future__ import annotations

import datetime as dt
import re
import typing as t

#: RFC 3339 as loaders read it: ``T``, seconds, optional fraction, ``Z`` or ``+hh:mm``, and
#: a day that exists (the 29th of February in leap years only; no year 0).
_YEAR = r"(?!0000)\d{4}"
_LEAP_YEAR = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = (
    rf"(?:{_YEAR}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|(?:0[13578]|1[02])-31)|(?!0000){_LEAP_YEAR}-02-29)"
)
RFC3339_PATTERN = (
    rf"^{_DATE}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\Z"
)
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


#: Epoch numbers at least this large are milliseconds: 10^11 seconds is the year 5138,
#: 10^11 milliseconds is March 1973, before any batch import.
_EPOCH_MILLIS_FROM = 10**11


def as_rfc3339_utc(value: t.Any) -> str | None:  # noqa: ANN401
    """A time in any plausible form, as RFC 3339 UTC; None when it is no time at all.

    For vendor fields whose format is not documented: epoch seconds or milliseconds (as
    numbers or numeric strings) and ISO 8601 date-times (a ``T`` or a space; without a
    zone, UTC) are all read; anything else is None, never an error.

    Args:
        value: The vendor's value.

    Returns:
        E.g. ``2024-05-01T09:00:00.000Z`` (milliseconds, or microseconds when present).
    """
    if isinstance(value, bool):
        return None
    moment: dt.datetime | None = None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        moment = parse_timestamp(text)
        if moment is None:
            try:
                value = float(text)
            except ValueError:
                return None
    if moment is None and isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= _EPOCH_MILLIS_FROM else value
        try:
            moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if moment is None:
        return None
    moment = moment.astimezone(dt.timezone.utc)
    spec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")
