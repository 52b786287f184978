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

import threading
from typing import TYPE_CHECKING

from emulator.dataset import Dataset
from emulator.druid.app import DruidApp
from emulator.faults import FaultPlan
from emulator.fullstory.app import FullstoryApp
from emulator.limits import RateLimit, RateLimiter
from emulator.page_cache import DEFAULT_PAGE_CACHE_BYTES, PageCache
from emulator.request_log import RequestLog, RequestRecord
from emulator.routing import Router
from emulator.sailpoint.app import SailpointApp
from emulator.transport import HttpServer

if TYPE_CHECKING:
    from types import TracebackType

# Dataset and RequestRecord have their own modules; importing them from here still works.
__all__ = ["DEFAULT_PAGE_CACHE_BYTES", "Dataset", "RequestRecord", "VendorEmulator"]


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
        self._log = RequestLog()
        self._router = Router(
            self.faults,
            self._log,
            {
                "fullstory": ("fullstory", self.fullstory, self.fullstory.route),
                "druid-auth": ("druid", self.druid, self.druid.route_auth),
                "druid": ("druid", self.druid, self.druid.route_api),
                "sailpoint": ("sailpoint", self.sailpoint, self.sailpoint.route),
            },
        )
        self._server: HttpServer | None = None
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
        server = HttpServer((self._host, self._port), self._router)
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
        return self._log.count(endpoint, filters)

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
