"""DruID bulk user API: OAuth2 token on the auth host, bulk jobs on the graph host.

Routes, below ``/druid-auth`` (auth host) and ``/druid`` (graph host)::

    POST /druid-auth/oauth2/token                           druid.token
    GET  /druid/activityid/v1/user/bulk                     druid.list
    GET  /druid/activityid/v1/user/bulk/{bulk_id}           druid.status
    GET  /druid/activityid/v1/user/bulk/{bulk_id}/results   druid.results
"""

from __future__ import annotations

import bisect
import itertools
import secrets
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from emulator.calls import dumps
from emulator.druid.jobs import FINISHED, DruidBulk

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from emulator.calls import Call, Reply, Route
    from emulator.dataset import Dataset
    from emulator.page_cache import PageCache

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_BULK_PATH = ("activityid", "v1", "user", "bulk")
_OK = {"status": 200, "message": "OK"}


def _envelope(status: int, message: str) -> Reply:
    # Every error answer: the common "result" of DruID's pages, with the HTTP code.
    return status, dumps({"result": {"status": status, "message": message}})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _accepts_json(accept: str) -> bool:
    media_types = (part.split(";", 1)[0].strip().lower() for part in accept.split(","))
    return "application/json" in media_types


class _Ids:
    """The ids of sorted rows, as a sequence ``bisect`` can search."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> str:
        return str(self._rows[index]["id"])


class DruidApp:
    """Serves the DruID auth and bulk endpoints for the bulks in a dataset."""

    def __init__(self, dataset: Dataset, cache: PageCache) -> None:
        """Serve a dataset.

        Args:
            dataset: Bulks and the client credentials.
            cache: Cache of serialised pages.
        """
        self._dataset = dataset
        self._cache = cache
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._clients: dict[str, str] = {}  # access token -> client id, kept after expiry
        self._status_polls: dict[str, int] = {}
        # Sorted (and failed-only) row views, keyed by bulk id, list identity and filter.
        self._views: dict[tuple[str, int, bool], Sequence[dict[str, Any]]] = {}

    def route_auth(self, method: str, path: str) -> Route:
        """Find the handler of a request to the auth host.

        Args:
            method: HTTP method.
            path: Path below the ``/druid-auth`` prefix.

        Returns:
            Endpoint name, handler and path parameters.
        """
        if path != "/oauth2/token":
            return "druid.unknown", self._not_found_oauth, {}
        return "druid.token", self._token if method == "POST" else self._not_allowed_oauth, {}

    def route_api(self, method: str, path: str) -> Route:
        """Find the handler of a request to the graph host.

        Args:
            method: HTTP method.
            path: Path below the ``/druid`` prefix.

        Returns:
            Endpoint name, handler and path parameters.
        """
        parts = tuple(unquote(part) for part in path.split("/")[1:])
        head, rest = parts[:4], parts[4:]
        match rest if head == _BULK_PATH else None:
            case ():
                endpoint, handler, params = "druid.list", self._list, {}
            case (bulk_id,):
                endpoint, handler, params = "druid.status", self._status, {"job_id": bulk_id}
            case (bulk_id, "results"):
                endpoint, handler, params = "druid.results", self._results, {"job_id": bulk_id}
            case _:
                endpoint, handler, params = "druid.unknown", self._unknown, {}
        if method != "GET":
            handler = self._not_allowed
        return endpoint, handler, params

    def error_body(self, status: int, endpoint: str) -> bytes:
        """Return DruID's error body for a status.

        Args:
            status: HTTP status.
            endpoint: Endpoint name: the token endpoint answers like an OAuth2 server.

        Returns:
            The body.
        """
        if endpoint == "druid.token":
            code = "invalid_client" if status == HTTPStatus.UNAUTHORIZED else "server_error"
            return dumps({"error": code})
        return _envelope(status, _phrase(status))[1]

    def missing_envelope(self, endpoint: str) -> bytes:
        """Return JSON without the ``content`` envelope (or token fields).

        Args:
            endpoint: Endpoint name (unused).

        Returns:
            ``{}``.
        """
        del endpoint
        return b"{}"

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far."""
        self._tokens.clear()

    def client_id(self, call: Call) -> str:
        """Name the client of a request.

        Args:
            call: The request.

        Returns:
            The form's ``client_id`` of a token request, else the client the bearer token
            was issued to (``""`` when neither is known).
        """
        form = call.form()
        if form is not None and form.get("client_id"):
            return form["client_id"]
        token = call.bearer()
        return self._clients.get(token, "") if token is not None else ""

    def reset_polls(self) -> None:
        """Forget how often each bulk was polled, so ``processing_polls`` apply afresh."""
        with self._lock:
            self._status_polls.clear()

    def prewarm(self, limit: int = DEFAULT_LIMIT) -> None:
        """Render every results page of every finished bulk into the cache.

        Args:
            limit: The ``limit`` the client will send.
        """
        for bulk in self._dataset.druid_bulks:
            if bulk.status in FINISHED:
                rows = self._rows(bulk, failed_only=False)
                for start in range(0, len(rows), limit):
                    self._page(bulk, rows, start, limit, failed_only=False)

    # Handlers.

    def _token(self, call: Call) -> Reply:
        form = call.form()
        if form is None:
            return HTTPStatus.BAD_REQUEST, dumps({"error": "invalid_request"})
        if form.get("grant_type") != "client_credentials":
            return HTTPStatus.BAD_REQUEST, dumps({"error": "unsupported_grant_type"})
        dataset = self._dataset
        credentials = (form.get("client_id"), form.get("client_secret"))
        if credentials != (dataset.druid_client_id, dataset.druid_client_secret):
            return HTTPStatus.UNAUTHORIZED, dumps({"error": "invalid_client"})
        token = secrets.token_urlsafe(32)
        expires_at = time.time() + dataset.druid_token_ttl
        self._tokens[token] = expires_at
        self._clients[token] = dataset.druid_client_id
        return HTTPStatus.OK, dumps(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(dataset.druid_token_ttl),
                "expires_at": int(expires_at * 1000),
            }
        )

    def _list(self, call: Call) -> Reply:
        if (denied := self._guard(call)) is not None:
            return denied
        bulks = list(self._dataset.druid_bulks)
        content = [self._summary(bulk, self._current_status(bulk)) for bulk in bulks]
        return HTTPStatus.OK, dumps({"content": content, "result": _OK})

    def _status(self, call: Call) -> Reply:
        if (denied := self._guard(call)) is not None:
            return denied
        bulk = self._dataset.druid_bulk(call.params["job_id"])
        if bulk is None:
            return _envelope(HTTPStatus.NOT_FOUND, "Bulk not found")
        # bulk-get-status documents the same fields as a list entry, and no row counts.
        content = self._summary(bulk, self._current_status(bulk, poll=True))
        return HTTPStatus.OK, dumps({"content": content, "result": _OK})

    def _results(self, call: Call) -> Reply:
        if (denied := self._guard(call)) is not None:
            return denied
        bulk = self._dataset.druid_bulk(call.params["job_id"])
        if bulk is None:
            return _envelope(HTTPStatus.NOT_FOUND, "Bulk not found")
        if self._current_status(bulk) not in FINISHED:
            return _envelope(HTTPStatus.PRECONDITION_REQUIRED, "The bulk is not finished yet")
        options = _page_options(call.query)
        if isinstance(options, str):
            return _envelope(HTTPStatus.BAD_REQUEST, options)
        limit, failed_only = options
        rows = self._rows(bulk, failed_only=failed_only)
        start = bisect.bisect_right(_Ids(rows), call.query.get("last", "")) if rows else 0
        return HTTPStatus.OK, self._page(bulk, rows, start, limit, failed_only=failed_only)

    def _unknown(self, call: Call) -> Reply:
        return self._guard(call) or _envelope(HTTPStatus.NOT_FOUND, "Not Found")

    def _not_allowed(self, call: Call) -> Reply:
        return self._guard(call) or _envelope(HTTPStatus.METHOD_NOT_ALLOWED, "Method Not Allowed")

    @staticmethod
    def _not_found_oauth(call: Call) -> Reply:
        del call
        return HTTPStatus.NOT_FOUND, dumps({"error": "not_found"})

    @staticmethod
    def _not_allowed_oauth(call: Call) -> Reply:
        del call
        return HTTPStatus.METHOD_NOT_ALLOWED, dumps({"error": "invalid_request"})

    # Helpers.

    def _guard(self, call: Call) -> Reply | None:
        # DruID insists on JSON headers even on GET, before it looks at the token.
        if not _accepts_json(call.header("accept")):
            return _envelope(HTTPStatus.NOT_ACCEPTABLE, "Not Acceptable")
        if not call.header("content-type").lower().startswith("application/json"):
            return _envelope(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
        token = call.bearer()
        expiry = self._tokens.get(token) if token is not None else None
        if expiry is None or expiry <= time.time():
            return _envelope(HTTPStatus.UNAUTHORIZED, "Unauthorized")
        return None

    def _current_status(self, bulk: DruidBulk, *, poll: bool = False) -> str:
        with self._lock:
            polls = self._status_polls.get(bulk.bulk_id, 0)
            if poll:
                self._status_polls[bulk.bulk_id] = polls + 1
        return "processing" if polls < bulk.processing_polls else bulk.status

    @staticmethod
    def _summary(bulk: DruidBulk, status: str) -> dict[str, Any]:
        # bulk-get-all and bulk-get-status: content.{bulkId, status, createdOn, updatedOn}.
        return {
            "bulkId": bulk.bulk_id,  # "Id of the bulk process." (string)
            "status": status,  # "Current state of the bulk process." (string, lower-case)
            "createdOn": bulk.created_on,  # "Creation date." (string; format not documented)
            "updatedOn": bulk.updated_on,  # "Last update." (string)
        }

    def _rows(self, bulk: DruidBulk, *, failed_only: bool) -> Sequence[dict[str, Any]]:
        key = (bulk.bulk_id, id(bulk.results), failed_only)
        with self._lock:
            view = self._views.get(key)
        if view is None:
            view = _sorted_rows(bulk.results)
            if failed_only:
                view = [row for row in view if row.get("error") is not None]
            with self._lock:
                self._views[key] = view
        return view

    def _page(
        self,
        bulk: DruidBulk,
        rows: Sequence[dict[str, Any]],
        start: int,
        limit: int,
        *,
        failed_only: bool,
    ) -> bytes:
        key = ("druid", bulk.bulk_id, id(bulk.results), failed_only, start, limit)
        return self._cache.get_or_build(key, lambda: _render(bulk.bulk_id, rows, start, limit))


def _sorted_rows(rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    # UUIDv7 ids sort by time as strings; only plain lists are checked (and sorted) here,
    # so lazily generated sequences need not be materialised.
    if isinstance(rows, list) and any(a["id"] > b["id"] for a, b in itertools.pairwise(rows)):
        return sorted(rows, key=lambda row: str(row["id"]))
    return rows


def _page_options(query: Mapping[str, str]) -> tuple[int, bool] | str:
    raw_limit = query.get("limit", "")
    if raw_limit == "":
        limit = DEFAULT_LIMIT
    elif raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
        limit = int(raw_limit)
    else:
        return f"limit must be an integer between 1 and {MAX_LIMIT}"
    failed_only = query.get("failedOnly", "false").lower()
    if failed_only not in {"true", "false"}:
        return "failedOnly must be true or false"
    return limit, failed_only == "true"


def _render(bulk_id: str, rows: Sequence[dict[str, Any]], start: int, limit: int) -> bytes:
    # bulk-get-results (seed 003): content.bulkId "Id of the bulk process", content.lastId
    # "the cursor for requesting the next page" (absent: no more content), content.results
    # "An array of the errors": rows {id, userIdentifierType, objectId, pulseId, error},
    # each documented as a string; result.{status, message} "Common http result".
    stop = min(start + limit, len(rows))
    head: dict[str, Any] = {"bulkId": bulk_id}
    if start < stop < len(rows):
        head["lastId"] = rows[stop - 1]["id"]
    json_slice = getattr(rows, "json_slice", None)
    if json_slice is not None:
        # Generated rows serialise themselves much faster; splice them into the page.
        items: str = json_slice(start, stop)
        content = dumps(head).decode()[:-1] + ',"results":[' + items + "]}"
        return ('{"content":' + content + ',"result":' + dumps(_OK).decode() + "}").encode()
    head["results"] = list(rows[start:stop])
    return dumps({"content": head, "result": _OK})
