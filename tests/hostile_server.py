"""A misbehaving vendor on loopback: echoes secrets, drips bytes, sends endless or huge bodies.

Each route is a function of the request returning a :class:`Reply`; a reply's body may be
bytes, an iterable of chunks (sent chunked, flushed one by one, for as long as the
iterable lasts), or a function writing raw bytes to the socket (for a status line and
headers sent one byte at a time).
"""

from __future__ import annotations

import contextlib
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from typing_extensions import Self


@dataclass
class Request:
    """What the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("latin-1")))


@dataclass
class Reply:
    """What to answer."""

    status: int = 200
    body: bytes | Iterable[bytes] | Callable[[t.BinaryIO], None] = b""
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Route = t.Callable[[Request], Reply]


class HostileServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering from a route table."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                server.handle(self)

            def do_POST(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, method: str, path: str, answer: Route) -> None:
        """Answer ``method path`` (exact path, or a prefix ending in ``*``)."""
        self.routes[method, path] = answer

    def count(self, path_prefix: str) -> int:
        return sum(r.path.startswith(path_prefix) for r in self.requests)

    def _find(self, method: str, path: str) -> Route | None:
        if (method, path) in self.routes:
            return self.routes[method, path]
        for (m, p), route in self.routes.items():
            if m == method and p.endswith("*") and path.startswith(p[:-1]):
                return route
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        request = Request(
            handler.command,
            parts.path,
            dict(parse_qsl(parts.query)),
            {k.lower(): v for k, v in handler.headers.items()},
            handler.rfile.read(length) if length else b"",
        )
        self.requests.append(request)
        route = self._find(request.method, request.path)
        reply = route(request) if route else Reply(404, b'{"message": "no such route"}')
        # The client giving up on us (a broken pipe) is what the tests want.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(handler, reply)
        handler.close_connection = True

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if callable(reply.body):
            reply.body(handler.wfile)
            return
        handler.send_response(reply.status, reply.reason)
        # One request per connection: the server closes it after each answer.
        handler.send_header("Connection", "close")
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if isinstance(reply.body, bytes):
            if "Content-Length" not in reply.headers:
                handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
            return
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for chunk in reply.body:
            if self.stopping.is_set():
                return
            if chunk:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")


def json_reply(status: int, payload: object, reason: str | None = None) -> Reply:
    import json  # noqa: PLC0415

    return Reply(status, json.dumps(payload).encode(), reason, {"Content-Type": "application/json"})


def drip(data: bytes, every: float, stop: threading.Event) -> Iterator[bytes]:
    """Yield ``data`` one byte at a time, ``every`` seconds apart, then forever spaces."""
    for i in range(len(data)):
        if stop.wait(every):
            return
        yield data[i : i + 1]
    while not stop.wait(every):
        yield b" "


def drip_raw(data: bytes, every: float, stop: threading.Event) -> Callable[[t.BinaryIO], None]:
    """Write a whole answer (status line included) one byte at a time, forever."""

    def write(out: t.BinaryIO) -> None:
        for byte in drip(data, every, stop):
            out.write(byte)
            out.flush()

    return write


def endless(piece: bytes, stop: threading.Event) -> Iterator[bytes]:
    """The same piece, forever (until the server stops)."""
    while not stop.is_set():
        yield piece


def endless_raw(head: bytes, piece: bytes, stop: threading.Event) -> Callable[[t.BinaryIO], None]:
    """Raw status line and headers, then ``piece`` forever (e.g. a huge Content-Length)."""

    def write(out: t.BinaryIO) -> None:
        out.write(head)
        while not stop.is_set():
            out.write(piece)

    return write
