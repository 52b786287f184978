"""Reading an answer's body with a size limit counted after decompression.

``requests`` reads a whole body into memory however large it is (an endless chunked body
grows until the process dies) and decompresses it whole (a small gzip bomb becomes
gigabytes). Here a body is streamed in large pieces, decompressed at most a piece at a
time (urllib3's streaming API), counted, and no longer read once it passes the limit.
"""

from __future__ import annotations

import typing as t
from contextlib import contextmanager

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_batchimport.http.deadline import RequestDeadline

#: Bytes read (after decompression) per call: large, so a normal page takes few calls.
CHUNK_BYTES = 1 << 20
#: Bytes per megabyte of ``max_response_mb``.
MB = 1 << 20


#: What JSON allows before a value.
_JSON_WHITESPACE = b" \t\r\n"


class NotJsonObjectError(Exception):
    """A body that had to be a JSON object starts with something else; the rest was not read."""


def read_body(
    response: requests.Response,
    limit: int,
    deadline: RequestDeadline | None = None,
    *,
    json_object: bool = False,
) -> tuple[bytes, bool]:
    """Read a streamed response's body, decompressed, up to ``limit`` bytes.

    A body that goes past the limit is not read further: its connection is closed (never
    reused with unread bytes in it).

    Args:
        response: A response sent with ``stream=True``, body unread.
        limit: Most bytes to keep, counted after decompression.
        deadline: Checked between pieces (a blocked read is ended by its watchdog).
        json_object: The body must be a JSON object: one that starts otherwise (an HTML
            page, a gzip bomb of zeros) is given up at its first piece, not at the limit.

    Returns:
        The body (whole, or its first ``limit`` bytes) and whether it is whole.

    Raises:
        NotJsonObjectError: ``json_object`` and the body starts with something else.
        requests.exceptions.ChunkedEncodingError: The connection broke mid-body.
        requests.exceptions.ContentDecodingError: The body is not in its Content-Encoding.
        requests.exceptions.ReadTimeout: A read timed out.
    """
    raw = response.raw
    declared = _declared_length(response)
    if declared is not None and declared > limit:
        response.close()  # an identity body that says it is too large: not a byte read
        return b"", False
    pieces: list[bytes] = []
    size = 0
    must_open = json_object
    with _as_requests_errors():
        while piece := raw.read(CHUNK_BYTES, decode_content=True):
            if must_open and (start := piece.lstrip(_JSON_WHITESPACE)):
                if start[:1] != b"{":
                    response.close()
                    raise NotJsonObjectError(start[:1].decode("latin-1"))
                must_open = False
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                response.close()
                # Only an error answer's start is ever used: no need to join the rest.
                return b"".join(pieces)[:limit] if limit <= CHUNK_BYTES else b"", False
            if deadline is not None:
                deadline.check()
    # Most pages are one piece (no copy); larger ones are joined once.
    return (pieces[0] if len(pieces) == 1 else b"".join(pieces)), True


@contextmanager
def _as_requests_errors() -> Iterator[None]:
    # What `requests` raises for the same failures in its own body reading.
    try:
        yield
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from None
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from None
    except ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from None
    except SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None


def _declared_length(response: requests.Response) -> int | None:
    # Only an identity body's Content-Length is its size after decompression.
    if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return None
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def keep_body(response: requests.Response, body: bytes | bytearray) -> None:
    """Make a body read by :func:`read_body` the response's ``content``.

    Args:
        response: The response.
        body: Its body as read.
    """
    # Reason: requests has no public setter; these two attributes are what `.content`
    # returns and whether it would read the socket again.
    response._content = body  # type: ignore[assignment]  # noqa: SLF001
    response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001
