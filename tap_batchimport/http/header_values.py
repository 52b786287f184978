"""Header values the tap would send are checked first: a line break would split the request.

A CR or LF in a token (from a vendor) or an API key (from config) would let that value
start a header or a request of its own; ``http.client`` refuses it with a ``ValueError``
that quotes the whole value. The tap refuses it itself, naming the header and never the
value.
"""

from __future__ import annotations

import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: Control characters (CR and LF among them) and anything past Latin-1, which
#: ``http.client`` cannot encode.
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")


def header_value_problem(value: str) -> str | None:
    """What keeps a value out of an HTTP header, without quoting it.

    Args:
        value: A header value (or a credential that goes into one).

    Returns:
        E.g. ``"contains a line break (CR or LF)"``, or None when it can be sent.
    """
    found = _UNSENDABLE.search(value)
    if found is None:
        return None
    if found.group() in "\r\n":
        return "contains a line break (CR or LF)"
    if ord(found.group()) > 0xFF:  # noqa: PLR2004
        return "contains a character HTTP headers cannot carry (beyond Latin-1)"
    return "contains a control character"


def unsendable_header(headers: Mapping[str, str | bytes]) -> tuple[str, str] | None:
    """The first header whose value cannot be sent, and why.

    Args:
        headers: A prepared request's headers.

    Returns:
        ``(name, problem)``, or None when every value can be sent.
    """
    for name, value in headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if problem := header_value_problem(text):
            return name, problem
    return None
