"""Fullstory Server API v2 batch import endpoints (users and events jobs).

Routes, below the ``/fullstory`` prefix::

    GET /v2/{users|events}/batch/{job_id}          fullstory.status
    GET /v2/{users|events}/batch/{job_id}/imports  fullstory.imports
    GET /v2/{users|events}/batch/{job_id}/errors   fullstory.errors
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from emulator.calls import dumps
from emulator.fullstory.jobs import PROCESSING, FullstoryJob

if TYPE_CHECKING:
    from collections.abc import Sequence

    from emulator.calls import Call, Reply, Route
    from emulator.dataset import Dataset
    from emulator.page_cache import PageCache

_KINDS = ("users", "events")
_RESULTS = ("imports", "errors")
_TRUE = frozenset({"true", "1"})

# Error bodies as the seeds document them, by status.
_ERRORS: dict[int, tuple[str, str]] = {
    HTTPStatus.BAD_REQUEST: ("Invalid input was provided", "invalid_argument"),
    HTTPStatus.UNAUTHORIZED: ("access is unauthorized", "unauthorized"),
    HTTPStatus.FORBIDDEN: ("insufficient permissions", "forbidden"),
    HTTPStatus.NOT_FOUND: ("Requested resource does not exist", "resource_not_found"),
    HTTPStatus.METHOD_NOT_ALLOWED: ("Method not allowed", "method_not_allowed"),
    HTTPStatus.TOO_MANY_REQUESTS: (
        "Too many requests. Client has exceeded the rate limit for this endpoint.",
        "too_many_requests",
    ),
    HTTPStatus.INTERNAL_SERVER_ERROR: ("Server error was encountered", "server_error"),
    HTTPStatus.BAD_GATEWAY: ("Bad gateway", "bad_gateway"),
    HTTPStatus.SERVICE_UNAVAILABLE: ("Service unavailable", "service_unavailable"),
    HTTPStatus.GATEWAY_TIMEOUT: ("Gateway timeout", "gateway_timeout"),
}


def _error(status: int) -> Reply:
    message, code = _ERRORS.get(status, ("Server error was encountered", "server_error"))
    return status, dumps({"message": message, "code": code})


def _without_schema(item: dict[str, Any]) -> dict[str, Any]:
    if "schema" not in item:
        return item
    return {key: value for key, value in item.items() if key != "schema"}


def _rows(job: FullstoryJob, what: str) -> Sequence[dict[str, Any]]:
    return job.imports if what == "imports" else job.errors


def _new_token() -> str:
    # 17 random bytes: opaque, URL-safe, and one "=" of padding like the vendor's tokens.
    return base64.urlsafe_b64encode(os.urandom(17)).decode()


class FullstoryApp:
    """Serves the batch import endpoints of the Fullstory jobs in a dataset."""

    def __init__(self, dataset: Dataset, cache: PageCache) -> None:
        """Serve a dataset.

        Args:
            dataset: Jobs and the API keys.
            cache: Cache of serialised pages.
        """
        self._dataset = dataset
        self._cache = cache
        self._lock = threading.Lock()
        self._status_polls: dict[str, int] = {}
        self._results_polls: dict[str, int] = {}
        # Page tokens map both ways to (job id, endpoint, offset); a new generation
        # invalidates the cached pages that embed older tokens.
        self._positions: dict[str, tuple[str, str, int]] = {}
        self._tokens: dict[tuple[str, str, int], str] = {}
        self._generation = 0

    def route(self, method: str, path: str) -> Route:
        """Find the handler of a request.

        Args:
            method: HTTP method.
            path: Path below the ``/fullstory`` prefix.

        Returns:
            Endpoint name, handler and path parameters.
        """
        parts = [unquote(part) for part in path.split("/")[1:]]
        match parts:
            case ["v2", kind, "batch", job_id] if kind in _KINDS:
                endpoint, handler = "fullstory.status", self._status
                params = {"kind": kind, "job_id": job_id}
            case ["v2", kind, "batch", job_id, what] if kind in _KINDS and what in _RESULTS:
                endpoint, handler = f"fullstory.{what}", self._results
                params = {"kind": kind, "job_id": job_id, "what": what}
            case _:
                endpoint, handler, params = "fullstory.unknown", self._unknown, {}
        if method != "GET":
            handler = self._not_allowed
        return endpoint, handler, params

    def error_body(self, status: int, endpoint: str) -> bytes:
        """Return Fullstory's ``{message, code}`` error body for a status.

        Args:
            status: HTTP status.
            endpoint: Endpoint name (unused: every endpoint answers alike).

        Returns:
            The body.
        """
        del endpoint
        return _error(status)[1]

    def missing_envelope(self, endpoint: str) -> bytes:
        """Return JSON without the ``results`` / ``job`` envelope.

        Args:
            endpoint: Endpoint name (unused).

        Returns:
            ``{}``.
        """
        del endpoint
        return b"{}"

    def expire_tokens(self) -> None:
        """Do nothing: Fullstory uses a static API key, not access tokens."""

    def client_id(self, call: Call) -> str:
        """Name the client of a request: Fullstory has no client ids, so its API key.

        Args:
            call: The request.

        Returns:
            ``key-`` and 12 hex digits of the key's SHA-256 (never the key itself), or
            ``""`` without an ``Authorization`` header.
        """
        header = call.header("authorization")
        if not header:
            return ""
        return "key-" + hashlib.sha256(header.encode()).hexdigest()[:12]

    def expire_page_tokens(self, job_id: str | None = None) -> None:
        """Invalidate the page tokens issued so far; later pages get new tokens.

        Args:
            job_id: Only this job's tokens; None means every job's.
        """
        with self._lock:
            stale = [t for t, pos in self._positions.items() if job_id in (None, pos[0])]
            for token in stale:
                del self._tokens[self._positions.pop(token)]
            self._generation += 1

    def reset_polls(self) -> None:
        """Forget how often each job was polled, so ``*_processing_polls`` apply afresh."""
        with self._lock:
            self._status_polls.clear()
            self._results_polls.clear()

    def prewarm(self) -> None:
        """Render every page of every finished job with the default query into the cache."""
        for job in self._dataset.fullstory_jobs:
            if job.status == PROCESSING:
                continue
            for what in _RESULTS:
                offset: int | None = 0
                while offset is not None:
                    self._page(job, what, offset, include_schema=False)
                    offset = self._next_offset(job, what, offset)

    # Handlers.

    def _status(self, call: Call) -> Reply:
        if (denied := self._authorize(call)) is not None:
            return denied
        job = self._job(call)
        if job is None:
            return _error(HTTPStatus.NOT_FOUND)
        with self._lock:
            polls = self._status_polls.get(job.job_id, 0)
            self._status_polls[job.job_id] = polls + 1
        status = PROCESSING if polls < job.processing_polls else job.status
        body: dict[str, Any] = {"imports": len(job.imports)}
        if status == "FAILED":
            body["errors"] = len(job.errors)
        body["job"] = details = {"id": job.job_id, "status": status, "created": job.created}
        if status != PROCESSING and job.finished is not None:
            details["finished"] = job.finished
        return HTTPStatus.OK, dumps(body)

    def _results(self, call: Call) -> Reply:
        if (denied := self._authorize(call)) is not None:
            return denied
        job = self._job(call)
        if job is None:
            return _error(HTTPStatus.NOT_FOUND)
        if not self._results_ready(job):
            return HTTPStatus.ACCEPTED, b"{}"
        what = call.params["what"]
        offset = self._offset(job, what, call.query.get("page_token", ""))
        if offset is None:
            return HTTPStatus.BAD_REQUEST, dumps(
                {"message": "page_token is invalid or expired", "code": "invalid_page_token"}
            )
        include = what == "imports" and call.query.get("include_schema", "").lower() in _TRUE
        return HTTPStatus.OK, self._page(job, what, offset, include_schema=include)

    def _unknown(self, call: Call) -> Reply:
        return self._authorize(call) or _error(HTTPStatus.NOT_FOUND)

    def _not_allowed(self, call: Call) -> Reply:
        return self._authorize(call) or _error(HTTPStatus.METHOD_NOT_ALLOWED)

    # Helpers.

    def _authorize(self, call: Call) -> Reply | None:
        # The key goes as-is after "Basic", not base64-encoded.
        header = call.header("authorization")
        if any(header == f"Basic {key}" for key in self._dataset.fullstory_forbidden_keys):
            return _error(HTTPStatus.FORBIDDEN)
        if header != f"Basic {self._dataset.fullstory_api_key}":
            return _error(HTTPStatus.UNAUTHORIZED)
        return None

    def _job(self, call: Call) -> FullstoryJob | None:
        job = self._dataset.fullstory_job(call.params["job_id"])
        return job if job is not None and job.kind == call.params["kind"] else None

    def _results_ready(self, job: FullstoryJob) -> bool:
        with self._lock:
            if job.status == PROCESSING:
                return False
            if self._status_polls.get(job.job_id, 0) < job.processing_polls:
                return False
            # Status says done, yet the results may still lag behind (a race to tolerate).
            polls = self._results_polls.get(job.job_id, 0)
            self._results_polls[job.job_id] = polls + 1
            return polls >= job.results_processing_polls

    def _offset(self, job: FullstoryJob, what: str, token: str) -> int | None:
        if not token:
            return 0
        if job.expire_tokens:
            return None
        with self._lock:
            position = self._positions.get(token)
        if position is None or position[:2] != (job.job_id, what):
            return None
        return position[2]

    def _token(self, job_id: str, what: str, offset: int) -> str:
        with self._lock:
            token = self._tokens.get((job_id, what, offset))
            if token is None:
                token = _new_token()
                self._tokens[job_id, what, offset] = token
                self._positions[token] = (job_id, what, offset)
            return token

    @staticmethod
    def _next_offset(job: FullstoryJob, what: str, offset: int) -> int | None:
        total = len(_rows(job, what))
        end = offset + max(job.page_size, 1)
        if end < total:
            return end
        if job.empty_last_page and offset < total:
            return total  # One more page, with no results.
        return None

    def _page(self, job: FullstoryJob, what: str, offset: int, *, include_schema: bool) -> bytes:
        rows = _rows(job, what)
        # Everything the bytes depend on; the generation changes when tokens are expired.
        total = job.total_records.get(what)
        source = (job.job_id, what, id(rows), len(rows), job.page_size, total)
        key = ("fullstory", self._generation, *source, offset, include_schema)
        return self._cache.get_or_build(
            key, lambda: self._render(job, what, offset, include_schema=include_schema)
        )

    def _render(self, job: FullstoryJob, what: str, offset: int, *, include_schema: bool) -> bytes:
        rows = _rows(job, what)
        end = offset + max(job.page_size, 1)
        # total_records is an int64 in proto3 JSON: a string of digits ("1200").
        total = job.total_records.get(what, len(rows))
        tail: dict[str, Any] = {"total_records": str(total)}
        next_offset = self._next_offset(job, what, offset)
        if next_offset is not None:
            tail["next_page_token"] = self._token(job.job_id, what, next_offset)
        elif job.repeat_last_token and offset > 0:
            tail["next_page_token"] = self._token(job.job_id, what, offset)
        json_slice = getattr(rows, "json_slice", None)
        if json_slice is not None:
            # Generated rows serialise themselves much faster; splice them into the page.
            items: str = json_slice(offset, end)
            return ('{"results":[' + items + "]," + dumps(tail).decode()[1:]).encode()
        page = list(rows[offset:end])
        if what == "imports" and not include_schema:
            page = [_without_schema(item) for item in page]
        return dumps({"results": page, **tail})
