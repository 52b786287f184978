"""One HTTP server hosting the three emulated vendors on a single port.

The vendors live under path prefixes: ``/fullstory`` (Fullstory API host), ``/druid-auth``
(DruID auth host), ``/druid`` (DruID graph host) and ``/sailpoint`` (SailPoint tenant host).
Every request is recorded in :attr:`VendorEmulator.requests`, and the fault plan
(:attr:`VendorEmulator.faults`) can replace any response with a failure.

Like a real network, the emulator can add a latency to every answer
(:attr:`VendorEmulator.latency_seconds`; requests on different connections are served by
different threads, so they wait in parallel), enforce SailPoint's rate limit per client id
(:attr:`VendorEmulator.sailpoint_rate_limit`, off by default), and counts requests that
come back before the ``Retry-After`` their client was given
(:attr:`VendorEmulator.retry_after_violations`).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import socket
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlsplit

from emulator.druid import DruidApp
from emulator.faults import Fault, FaultPlan
from emulator.fullstory import FullstoryApp
from emulator.limits import RateLimit, RateLimiter, RetryAfterLedger
from emulator.sailpoint import SailpointApp

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from emulator.druid import DruidBulk
    from emulator.fullstory import FullstoryJob
    from emulator.sailpoint import SailpointJob

    # What a vendor handler returns: HTTP status and a JSON body.
    Reply = tuple[int, bytes]
    Handler = Callable[["Call"], Reply]
    # What a vendor's router returns: endpoint name, handler, path parameters.
    Route = tuple[str, Handler, dict[str, str]]
    RouteFn = Callable[[str, str], Route]

_LOG = logging.getLogger(__name__)
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_T = TypeVar("_T")

#: Default bound of the page cache shared by all vendors.
DEFAULT_PAGE_CACHE_BYTES = 768 * 1024 * 1024


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received, with the status it answered.

    Attributes:
        time: ``time.monotonic()`` when the request arrived.
        method: HTTP method.
        path: Full request path (with the vendor prefix), without the query string.
        query: Query parameters (the last value wins when one repeats).
        headers: Request headers, names lower-cased.
        status: HTTP status answered; 0 when the connection was reset.
        vendor: ``fullstory``, ``druid``, ``sailpoint`` or ``""`` for an unknown prefix.
        endpoint: Stable endpoint name such as ``druid.results``.
        job_id: The job/bulk id in the path, or ``""``.
        client_id: Who asked: the OAuth2 client id (from the token request's form or the
            bearer token), for Fullstory a digest of the API key; ``""`` when unknown.
        retry_after_violation: The request arrived before the ``Retry-After`` this vendor
            last gave the same client had run out.
    """

    time: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    vendor: str
    endpoint: str
    job_id: str = ""
    client_id: str = ""
    retry_after_violation: bool = False


_RECORD_FIELDS = frozenset(f.name for f in fields(RequestRecord))


@dataclass(frozen=True)
class Call:
    """A request as a vendor handler sees it.

    Attributes:
        method: HTTP method.
        path: Path below the vendor prefix.
        params: Path parameters found by the vendor's router.
        query: Query parameters.
        headers: Request headers, names lower-cased.
        body: Raw request body.
    """

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        """Return a header's value, or ``""`` when absent.

        Args:
            name: Header name, any case.

        Returns:
            The value.
        """
        return self.headers.get(name.lower(), "")

    def form(self) -> dict[str, str] | None:
        """Parse a form-encoded body.

        Returns:
            The form fields, or None when the body is not ``application/x-www-form-urlencoded``.
        """
        media_type = self.header("content-type").split(";", 1)[0].strip().lower()
        if media_type != _FORM:
            return None
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return dict(parse_qsl(text, keep_blank_values=True))

    def bearer(self) -> str | None:
        """Return the token of an ``Authorization: Bearer <token>`` header.

        Returns:
            The token, or None when the header is absent or uses another scheme.
        """
        scheme, _, token = self.header("authorization").strip().partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None


class PageCache:
    """A thread-safe LRU of serialised pages, bounded by total size in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_PAGE_CACHE_BYTES) -> None:
        """Create an empty cache.

        Args:
            max_bytes: Evict the least recently used pages beyond this total size.
        """
        self._max_bytes = max_bytes
        self._size = 0
        self._pages: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[object, ...], build: Callable[[], bytes]) -> bytes:
        """Return the cached page for a key, building and caching it on a miss.

        Args:
            key: Identifies the page; include everything the bytes depend on.
            build: Renders the page.

        Returns:
            The page bytes.
        """
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        # Render outside the lock: a rare duplicate render is cheaper than serialising all.
        page = build()
        if len(page) <= self._max_bytes:
            with self._lock:
                if key not in self._pages:
                    self._pages[key] = page
                    self._size += len(page)
                while self._size > self._max_bytes:
                    _, evicted = self._pages.popitem(last=False)
                    self._size -= len(evicted)
        return page

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Total bytes cached."""
        return self._size


@dataclass
class Dataset:
    """Everything the emulated vendors know: jobs, credentials and switches.

    Jobs may be appended to the lists (or their attributes changed) while the emulator runs.

    Attributes:
        fullstory_jobs: Fullstory users and events import jobs.
        druid_bulks: DruID bulk jobs.
        sailpoint_jobs: SailPoint sp-config import jobs.
        fullstory_api_key: The valid Fullstory API key.
        fullstory_forbidden_keys: Keys that authenticate but get 403.
        druid_client_id: DruID OAuth2 client id.
        druid_client_secret: DruID OAuth2 client secret.
        druid_token_ttl: Lifetime of DruID access tokens, in seconds.
        sailpoint_client_id: SailPoint OAuth2 client id.
        sailpoint_client_secret: SailPoint OAuth2 client secret.
        sailpoint_token_ttl: Lifetime of SailPoint access tokens, in seconds.
        sailpoint_forbidden: Answer every SailPoint API call with 403.
    """

    fullstory_jobs: list[FullstoryJob] = field(default_factory=list)
    druid_bulks: list[DruidBulk] = field(default_factory=list)
    sailpoint_jobs: list[SailpointJob] = field(default_factory=list)
    fullstory_api_key: str = "fs-demo-key"
    fullstory_forbidden_keys: set[str] = field(default_factory=set)
    druid_client_id: str = "druid-demo-client"
    druid_client_secret: str = "druid-demo-secret"  # noqa: S105 - demo credential
    druid_token_ttl: float = 3600
    sailpoint_client_id: str = "sp-demo-client"
    sailpoint_client_secret: str = "sp-demo-secret"  # noqa: S105 - demo credential
    sailpoint_token_ttl: float = 749
    sailpoint_forbidden: bool = False
    _indexes: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def fullstory_job(self, job_id: str) -> FullstoryJob | None:
        """Find a Fullstory job by id.

        Args:
            job_id: The job id.

        Returns:
            The job, or None.
        """
        return self._find("fullstory", self.fullstory_jobs, job_id, lambda job: job.job_id)

    def druid_bulk(self, bulk_id: str) -> DruidBulk | None:
        """Find a DruID bulk by id.

        Args:
            bulk_id: The bulk id.

        Returns:
            The bulk, or None.
        """
        return self._find("druid", self.druid_bulks, bulk_id, lambda bulk: bulk.bulk_id)

    def sailpoint_job(self, job_id: str) -> SailpointJob | None:
        """Find a SailPoint import job by id.

        Args:
            job_id: The job id.

        Returns:
            The job, or None.
        """
        return self._find("sailpoint", self.sailpoint_jobs, job_id, lambda job: job.job_id)

    def _find(
        self, name: str, items: Sequence[_T], item_id: str, key: Callable[[_T], str]
    ) -> _T | None:
        # Index lazily and re-index when the list is replaced, grows, shrinks or changes
        # at its end (a job removed and another appended), so thousands of jobs cost one
        # dict lookup per request.
        signature = (id(items), len(items), id(items[-1]) if items else 0)
        cached = self._indexes.get(name)
        if cached is None or cached[0] != signature:
            cached = (signature, {key(item): item for item in items})
            self._indexes[name] = cached
        found: _T | None = cached[1].get(item_id)
        return found


class _VendorApp(Protocol):
    """What the server needs from a vendor besides its routes."""

    def error_body(self, status: int, endpoint: str) -> bytes:
        """Return the vendor's error body for a status."""

    def missing_envelope(self, endpoint: str) -> bytes:
        """Return valid JSON that lacks the vendor's envelope."""

    def expire_tokens(self) -> None:
        """Invalidate every access token."""

    def client_id(self, call: Call) -> str:
        """Name the client of a request (``""`` when unknown)."""


class _NoVendor:
    """Answers requests outside every vendor prefix."""

    def route(self, method: str, path: str) -> Route:
        del method, path  # Every path is unknown here.
        return "unknown", self._not_found, {}

    @staticmethod
    def _not_found(call: Call) -> Reply:
        del call
        return HTTPStatus.NOT_FOUND, b'{"message":"no vendor under this path prefix"}'

    def error_body(self, status: int, endpoint: str) -> bytes:
        del endpoint
        return json.dumps({"message": f"emulated HTTP {status}"}).encode()

    def missing_envelope(self, endpoint: str) -> bytes:
        del endpoint
        return b"{}"

    def expire_tokens(self) -> None:
        """Nothing to expire."""

    def client_id(self, call: Call) -> str:
        del call
        return ""


@dataclass
class _Outcome:
    """The response to send, or a connection reset."""

    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


@dataclass(frozen=True)
class _Pending:
    """A routed request waiting for its response."""

    app: _VendorApp
    endpoint: str
    handler: Handler
    call: Call

    def run(self) -> _Outcome:
        try:
            status, body = self.handler(self.call)
        except Exception:  # noqa: BLE001 - any bug must still produce a response
            # A bug in the emulator: answer 500 so the request completes, and say why.
            _LOG.exception("emulator handler for %s failed", self.endpoint)
            return _Outcome(HTTPStatus.INTERNAL_SERVER_ERROR, b'{"message":"emulator bug"}')
        return _Outcome(status, body)


class _RequestLog:
    """Thread-safe list of request records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class _Router:
    """Maps requests to vendor handlers, applies limits and faults, records every request.

    Attributes:
        latency: Seconds every answer is held back before it is sent.
        limiters: Rate limiters by vendor (a vendor without one is not limited).
        retry_after: What each client was told to wait, and who came back early.
        stopping: Set while the emulator stops: ends stalls and latency waits early.
    """

    def __init__(self, emulator: VendorEmulator, log: _RequestLog) -> None:
        self._faults = emulator.faults
        self._log = log
        self._unknown = _NoVendor()
        self._prefixes: dict[str, tuple[str, _VendorApp, RouteFn]] = {
            "fullstory": ("fullstory", emulator.fullstory, emulator.fullstory.route),
            "druid-auth": ("druid", emulator.druid, emulator.druid.route_auth),
            "druid": ("druid", emulator.druid, emulator.druid.route_api),
            "sailpoint": ("sailpoint", emulator.sailpoint, emulator.sailpoint.route),
        }
        self.latency = 0.0
        self.limiters: dict[str, RateLimiter] = {}
        self.retry_after = RetryAfterLedger()
        self.stopping = threading.Event()

    def delay(self) -> None:
        """Hold the calling handler thread for the latency (woken early by a stop)."""
        if self.latency > 0:
            self.stopping.wait(self.latency)

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Outcome:
        """Handle one request and record it.

        Args:
            method: HTTP method.
            target: Request target (path and query).
            headers: Request headers, names lower-cased.
            body: Request body.

        Returns:
            What to send back.
        """
        arrived = time.monotonic()
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        prefix, _, rest = url.path.lstrip("/").partition("/")
        vendor, app, route = self._prefixes.get(prefix, ("", self._unknown, self._unknown.route))
        endpoint, handler, params = route(method, "/" + rest)
        call = Call(method, "/" + rest, params, query, headers, body)
        client = app.client_id(call)
        early = bool(vendor) and self.retry_after.arrive(vendor, client, arrived)
        limiter = self.limiters.get(vendor)
        wait = limiter.admit(client, arrived) if limiter is not None else None
        pending = _Pending(app, endpoint, handler, call)
        if wait is None:
            outcome = self._execute(pending)
        else:  # Refused by the gateway: the vendor never sees it, nor do the faults.
            body = app.error_body(HTTPStatus.TOO_MANY_REQUESTS, endpoint)
            outcome = _Outcome(
                HTTPStatus.TOO_MANY_REQUESTS, body, headers={"Retry-After": str(wait)}
            )
        retry_after = outcome.headers.get("Retry-After")
        if vendor and retry_after is not None and not outcome.reset:
            self.retry_after.give(vendor, client, retry_after, time.monotonic())
        record = RequestRecord(
            time=arrived,
            method=method,
            path=url.path,
            query=query,
            headers=headers,
            status=0 if outcome.reset else int(outcome.status),
            vendor=vendor,
            endpoint=endpoint,
            job_id=params.get("job_id", ""),
            client_id=client,
            retry_after_violation=early,
        )
        self._log.append(record)
        return outcome

    def _execute(self, pending: _Pending) -> _Outcome:
        fault = self._faults.pick(pending.endpoint, pending.call.params.get("job_id", ""))
        if fault is None:
            return pending.run()
        if fault.kind == "stall":
            self.stopping.wait(fault.seconds)  # Wakes early when the emulator stops.
        elif fault.kind == "expire_token":
            pending.app.expire_tokens()
        return _FAULT_OUTCOMES[fault.kind](pending, fault)


def _status_outcome(pending: _Pending, fault: Fault) -> _Outcome:
    body = fault.body
    if body is None:
        data = pending.app.error_body(fault.status, pending.endpoint)
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.location is not None:
        headers["Location"] = fault.location
    return _Outcome(fault.status, data, headers=headers)


def _truncated_outcome(pending: _Pending, fault: Fault) -> _Outcome:
    del fault
    body = pending.run().body
    return _Outcome(HTTPStatus.OK, body[: len(body) // 2])


_FAULT_OUTCOMES: dict[str, Callable[[_Pending, Fault], _Outcome]] = {
    "status": _status_outcome,
    "redirect": _status_outcome,
    "reset": lambda _pending, _fault: _Outcome(0, reset=True),
    "stall": lambda pending, _fault: pending.run(),
    "expire_token": lambda pending, _fault: pending.run(),
    "truncated_json": _truncated_outcome,
    "non_json": lambda _pending, _fault: _Outcome(200, b"<html>oops</html>", "text/html"),
    "missing_envelope": lambda pending, _fault: _Outcome(
        HTTPStatus.OK, pending.app.missing_envelope(pending.endpoint)
    ),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Reads requests off a keep-alive connection and writes the router's answers."""

    protocol_version = "HTTP/1.1"
    server_version = "vendor-emulator"
    sys_version = ""
    # Headers and body go out in separate writes: without this, Nagle plus delayed ACKs
    # would add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: _Server

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

    def _send(self, outcome: _Outcome) -> None:
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


class _Server(http.server.ThreadingHTTPServer):
    """Threaded server that can drop every open connection when it stops."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], router: _Router) -> None:
        self.router = router
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

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


class VendorEmulator:
    """Local emulator of the Fullstory, DruID and SailPoint APIs on one port.

    Example::

        with VendorEmulator(demo_dataset()) as emulator:
            requests.get(emulator.fullstory_url + "/v2/users/batch/x", ...)
            emulator.count("fullstory.status")

        # A network's round trip, SailPoint's documented rate limit, and who ignored it:
        with VendorEmulator(
            dataset, latency_seconds=0.05, sailpoint_rate_limit=SAILPOINT_RATE_LIMIT
        ) as emulator:
            ...
            emulator.retry_after_violations
    """

    def __init__(  # noqa: PLR0913 - every option but the dataset is keyword-only
        self,
        dataset: Dataset | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        page_cache_bytes: int = DEFAULT_PAGE_CACHE_BYTES,
        latency_seconds: float = 0.0,
        sailpoint_rate_limit: RateLimit | None = None,
    ) -> None:
        """Prepare the emulator; :meth:`start` begins serving.

        Args:
            dataset: Jobs and credentials; None means an empty dataset.
            host: Interface to bind.
            port: Port to bind; 0 picks a free one (kept across :meth:`stop`/:meth:`start`).
            page_cache_bytes: Bound of the cache of serialised result pages.
            latency_seconds: Delay added to every answer (see :attr:`latency_seconds`).
            sailpoint_rate_limit: SailPoint's request budget per client id, e.g.
                :data:`emulator.limits.SAILPOINT_RATE_LIMIT`; None (default) means unlimited.
        """
        self.dataset = dataset if dataset is not None else Dataset()
        self.faults = FaultPlan()
        self.page_cache = PageCache(page_cache_bytes)
        self.fullstory = FullstoryApp(self.dataset, self.page_cache)
        self.druid = DruidApp(self.dataset, self.page_cache)
        self.sailpoint = SailpointApp(self.dataset, self.page_cache)
        self._host = host
        self._port = port
        self._log = _RequestLog()
        self._router = _Router(self, self._log)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.latency_seconds = latency_seconds
        self.sailpoint_rate_limit = sailpoint_rate_limit

    def start(self) -> VendorEmulator:
        """Start serving in a daemon thread (no-op when already serving).

        After a :meth:`stop`, serves again on the same port, with the same state (jobs,
        page tokens, poll counters, request log).

        Returns:
            The emulator itself.
        """
        if self._server is not None:
            return self
        self._router.stopping.clear()
        server = _Server((self._host, self._port), self._router)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"vendor-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection (no-op when not serving)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._router.stopping.set()  # Ends stalls early.
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> VendorEmulator:  # noqa: PYI034 - Self needs Python 3.11
        """Start serving.

        Returns:
            The emulator itself.
        """
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the emulator.

        Raises:
            RuntimeError: If the port is not known yet (not started and ``port=0``).
        """
        if not self._port:
            msg = "the emulator has no port yet: call start() first"
            raise RuntimeError(msg)
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def fullstory_url(self) -> str:
        """Base URL of the Fullstory API (``fullstory_api_url``)."""
        return self.base_url + "/fullstory"

    @property
    def druid_auth_url(self) -> str:
        """Base URL of the DruID auth host (``druid_auth_url``)."""
        return self.base_url + "/druid-auth"

    @property
    def druid_api_url(self) -> str:
        """Base URL of the DruID graph host (``druid_api_url``)."""
        return self.base_url + "/druid"

    @property
    def sailpoint_url(self) -> str:
        """Base URL of the SailPoint tenant (``sailpoint_api_url``)."""
        return self.base_url + "/sailpoint"

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received, in the order they were answered."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Empty the request log and zero :attr:`retry_after_violations`.

        The ``Retry-After`` each client was last given still holds, and so do the rate
        limit windows.
        """
        self._log.clear()
        self._router.retry_after.reset_count()

    @property
    def latency_seconds(self) -> float:
        """Seconds added to every answer (0 = none), like a network round trip.

        The answer is computed when the request arrives, then held back this long; each
        connection is served by its own thread, so concurrent requests wait in parallel.
        Settable while serving.
        """
        return self._router.latency

    @latency_seconds.setter
    def latency_seconds(self, seconds: float) -> None:
        if not seconds >= 0:
            msg = f"latency_seconds must be >= 0, got {seconds!r}"
            raise ValueError(msg)
        self._router.latency = float(seconds)

    @property
    def sailpoint_rate_limit(self) -> RateLimit | None:
        """SailPoint's request budget per client id, or None when unlimited (the default).

        Every request to ``/sailpoint`` counts, token requests included; the client id
        comes from the token request's form or the bearer token's ``client_id`` claim.
        A request beyond the budget is answered 429 with ``Retry-After`` (whole seconds
        until a slot frees) and the vendor's 429 body, without reaching the fault plan;
        refused requests do not use up the budget. Setting it (even to the same limit)
        starts with empty windows.
        """
        limiter = self._router.limiters.get("sailpoint")
        return limiter.limit if limiter is not None else None

    @sailpoint_rate_limit.setter
    def sailpoint_rate_limit(self, limit: RateLimit | None) -> None:
        if limit is None:
            self._router.limiters.pop("sailpoint", None)
        else:
            self._router.limiters["sailpoint"] = RateLimiter(limit)

    @property
    def retry_after_violations(self) -> int:
        """Requests that arrived before the ``Retry-After`` last given to their client ran out.

        Counted per vendor and client id (:attr:`RequestRecord.client_id`) over every
        answer that carried ``Retry-After`` (the rate limit's 429s and the fault plan's),
        since the emulator was created or :meth:`clear_requests` was last called. Each such
        request is also marked ``retry_after_violation`` in the request log.
        """
        return self._router.retry_after.violations

    def count(self, endpoint: str | None = None, **filters: object) -> int:
        """Count recorded requests.

        Args:
            endpoint: Endpoint name such as ``druid.results``; None counts every endpoint.
            **filters: ``RequestRecord`` fields (``status=200``, ``job_id="x"``,
                ``method="GET"``) or, for any other name, query parameters (``last="…"``).

        Returns:
            How many recorded requests match.
        """
        return sum(
            1
            for record in self._log.snapshot()
            if (endpoint is None or record.endpoint == endpoint) and _matches(record, filters)
        )

    def expire_all_tokens(self) -> None:
        """Invalidate every DruID and SailPoint access token, as if they all expired."""
        self.druid.expire_tokens()
        self.sailpoint.expire_tokens()

    def expire_page_tokens(self, job_id: str | None = None) -> None:
        """Invalidate the Fullstory page tokens issued so far (new ones are issued afresh).

        Args:
            job_id: Only this job's tokens; None means every job's.
        """
        self.fullstory.expire_page_tokens(job_id)

    def prewarm(self, *, druid_limit: int = 100) -> None:
        """Render and cache every result page ahead of time (e.g. before a benchmark).

        Args:
            druid_limit: The DruID ``limit`` the client will send.
        """
        self.fullstory.prewarm()
        self.druid.prewarm(druid_limit)


def _matches(record: RequestRecord, filters: Mapping[str, object]) -> bool:
    for name, wanted in filters.items():
        actual = getattr(record, name) if name in _RECORD_FIELDS else record.query.get(name)
        if actual != wanted:
            return False
    return True
