"""The HTTP transport: a threaded server whose handler hands each request to a responder.

Nothing here knows a vendor: the responder (:class:`emulator.routing.Router`) decides what
to answer; the transport reads requests off keep-alive connections, writes the answers,
turns a "reset" answer into a TCP reset, and can drop every connection when it stops.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from emulator.calls import JSON

_LOG = logging.getLogger(__name__)


@dataclass
class Outcome:
    """The response to send, or a connection reset.

    Attributes:
        status: HTTP status.
        body: Response body.
        content_type: ``Content-Type`` header.
        headers: Other response headers.
        reset: Drop the connection (TCP reset) instead of answering.
    """

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


class Responder(Protocol):
    """Decides the answer to each request."""

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Outcome:
        """Answer one request (``target`` is path and query; header names lower-cased)."""

    def delay(self) -> None:
        """Hold the handler thread before the answer is sent (network latency)."""


class RequestHandler(http.server.BaseHTTPRequestHandler):
    """Reads requests off a keep-alive connection and writes the router's answers."""

    protocol_version = "HTTP/1.1"
    server_version = "vendor-emulator"
    sys_version = ""
    # Headers and body go out in separate writes: without this, Nagle plus delayed ACKs
    # would add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: HttpServer

    def do_GET(self) -> None:
        """Handle GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Handle POST."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Handle PUT."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Handle PATCH."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Handle DELETE."""
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Stay quiet: callers read the request log instead of stderr."""

    def _dispatch(self) -> None:
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        router = self.server.router
        outcome = router.respond(self.command, self.path, headers, body)
        router.delay()  # Each connection has its own thread: concurrent answers wait in parallel.
        if outcome.reset:
            self._abort()
        else:
            self._send(outcome)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True  # Cannot find the next request on this connection.
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline().strip():  # Trailer fields, up to the blank line.
            pass
        return b"".join(chunks)

    def _send(self, outcome: Outcome) -> None:
        try:
            self.send_response(outcome.status)
            self.send_header("Content-Type", outcome.content_type)
            self.send_header("Content-Length", str(len(outcome.body)))
            for name, value in outcome.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(outcome.body)
        except OSError:
            self.close_connection = True  # The client went away, e.g. after a read timeout.

    def _abort(self) -> None:
        # SO_LINGER 0 turns the close into a TCP RST: the client sees a reset, not a response.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


class HttpServer(http.server.ThreadingHTTPServer):
    """Threaded server that can drop every open connection when it stops."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], router: Responder) -> None:
        """Bind the address (IPv6 when the host has a colon); serving starts later.

        Args:
            address: Host and port.
            router: Answers every request.
        """
        self.router = router
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:  # noqa: ANN401
        """Remember the connection, then serve it in a thread."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:  # noqa: ANN401
        """Forget the connection and close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ANN401
        """Keep connection errors off stderr."""
        del request
        _LOG.debug("connection error with %s", client_address, exc_info=True)

    def drop_connections(self) -> None:
        """Shut down every open connection, waking handler threads blocked on them."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
