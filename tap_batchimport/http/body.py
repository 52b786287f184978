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


class BodyTooLargeError(Exception):
    """A body went past its limit; the rest was not read."""


def read_body(
    response: requests.Response, limit: int, deadline: RequestDeadline | None = None
) -> tuple[bytes | bytearray, bool]:
    """Read a streamed response's body, decompressed, up to ``limit`` bytes.

    A body that goes past the limit is not read further: its connection is closed (never
    reused with unread bytes in it).

    Args:
        response: A response sent with ``stream=True``, body unread.
        limit: Most bytes to keep, counted after decompression.
        deadline: Checked between pieces (a blocked read is ended by its watchdog).

    Returns:
        The body (whole, or its first ``limit`` bytes) and whether it is whole.

    Raises:
        requests.exceptions.ChunkedEncodingError: The connection broke mid-body.
        requests.exceptions.ContentDecodingError: The body is not in its Content-Encoding.
        requests.exceptions.ReadTimeout: A read timed out.
    """
    raw = response.raw
    declared = _declared_length(response)
    if declared is not None and declared > limit:
        response.close()  # an identity body that says it is too large: not a byte read
        return b"", False
    body: bytes | bytearray = b""
    with _as_requests_errors():
        while piece := raw.read(CHUNK_BYTES, decode_content=True):
            if not body:
                body = piece  # most pages are one piece: no copy
            else:
                if isinstance(body, bytes):
                    # Grown in place from here on: a join would need twice the memory.
                    body = bytearray(body)
                body += piece
            if len(body) > limit:
                response.close()
                return _cut(body, limit), False
            if deadline is not None:
                deadline.check()
    return body, True


def _cut(body: bytes | bytearray, limit: int) -> bytes | bytearray:
    if isinstance(body, bytearray):
        del body[limit:]  # in place: a slice would copy it
        return body
    return body[:limit]


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
