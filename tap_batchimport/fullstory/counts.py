"""Fullstory's counts: status ``imports`` / ``errors`` and a page's ``total_records``.

A count the vendor sends is a non-negative integer: a JSON number for the status counts
(int32), a string of digits for ``total_records`` (int64 in proto3 JSON, ``"1200"``).
Anything else (negative, fractional, ``true``, ``"12a"``) is a malformed answer, retried
like a 5xx and never passed on as data.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

STATUS_COUNTS = ("imports", "errors")


def read_count(value: t.Any) -> int | None:  # noqa: ANN401
    """Read one count.

    Args:
        value: The vendor's value.

    Returns:
        The count; None when absent (null).

    Raises:
        ValueError: It is not a non-negative integer.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError(value)


def is_count(value: t.Any) -> bool:  # noqa: ANN401
    """Whether a value is a count or absent (see :func:`read_count`).

    Args:
        value: The vendor's value.

    Returns:
        True when :func:`read_count` reads it.
    """
    try:
        read_count(value)
    except ValueError:
        return False
    return True


def count_check(job_id: str, keys: Iterable[str]) -> Callable[[t.Any], str | None]:
    """A payload check (see ``VendorClient.request``) for the counts of one job's answer.

    Args:
        job_id: The job, named in the complaint.
        keys: Top-level count fields to check.

    Returns:
        The check: what is wrong with a payload, or None.
    """
    keys = tuple(keys)

    def check(payload: t.Any) -> str | None:  # noqa: ANN401
        if not isinstance(payload, dict):
            return None  # the envelope check speaks for other shapes
        for key in keys:
            if not is_count(payload.get(key)):
                return (
                    f"job {job_id}: {key} is {payload[key]!r}, not a count (a non-negative integer)"
                )
        return None

    return check
