"""Decoding an answer's JSON body, where any failure is a malformed answer, never a crash.

Every endpoint the tap calls answers a JSON object. A body that is not one (invalid UTF-8,
a lone UTF-16 surrogate escape, nesting deeper than the parser allows, an array or a
string) says what was wrong in one line, which the client retries like a 5xx and then
reports as the job's (or vendor's) error.
"""

from __future__ import annotations

import re
import typing as t

import msgspec

_decode = msgspec.json.Decoder().decode

#: A UTF-16 surrogate escape: in a body msgspec refuses, most likely one without its pair.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class MalformedBodyError(ValueError):
    """A body that is not the JSON object every endpoint answers."""


def decode_object(body: bytes) -> dict[str, t.Any]:
    """Decode a 2xx body, which must be a JSON object.

    Args:
        body: The body, decompressed.

    Returns:
        The object.

    Raises:
        MalformedBodyError: It is not valid UTF-8 JSON, nests too deep, or is no object.
    """
    try:
        payload = _decode(body)
    except msgspec.DecodeError as exc:
        why = str(exc)
        if _SURROGATE_ESCAPE.search(body):
            why = "it holds a UTF-16 surrogate escape without its pair (such as \\ud800)"
        msg = f"answer is not valid JSON ({len(body)} bytes): {why}"
        raise MalformedBodyError(msg) from None
    except RecursionError:
        # msgspec recurses per nesting level, up to Python's recursion limit.
        msg = f"answer ({len(body)} bytes) nests deeper than the JSON parser allows"
        raise MalformedBodyError(msg) from None
    if not isinstance(payload, dict):
        kind = "an array" if isinstance(payload, list) else type(payload).__name__
        msg = f"answer is JSON {kind}, not the object the endpoint answers"
        raise MalformedBodyError(msg)
    return payload
