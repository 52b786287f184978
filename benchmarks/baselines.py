"""The programs the tap is compared with: plain ``requests`` + ``msgspec`` loops.

- The **raw ceiling** (``run.py --raw VENDOR BASE_URL N``): the tap's requests, one at a
  time, decoding each page and writing the same Singer RECORD lines, with no validation, no
  bookmarks and no STATE.
- The **raw SailPoint client** (``run.py --raw sailpoint BASE_URL JOBS``): a token, every
  job's status, then every job's download, one at a time, each document flattened to the
  same ``config_import_results`` RECORD lines; a 429 is waited out for its ``Retry-After``
  (SailPoint's limit holds for every client, so that is what a plain client must do).
- The **reference client** (``run.py --reference BASE_URL JOBS WORKERS``): what a plain
  concurrent client does for Fullstory: a thread pool keeping ``WORKERS`` jobs in flight,
  reading each job's status, then its ``/imports``, then its ``/errors`` (paged alike), and
  writing the same RECORD lines, job by job in job order.

Both print ``raw records: N`` on standard error. This module imports nothing of the tap.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import msgspec
import requests

if TYPE_CHECKING:
    from collections.abc import Callable

# The emulator's demo credentials and the bench datasets' ids (see emulator/bench.py).
FULLSTORY_KEY = "fs-demo-key"
DRUID_CLIENT_ID = "druid-demo-client"
DRUID_CLIENT_SECRET = "druid-demo-secret"  # noqa: S105 - the emulator's demo credential
DRUID_BULK_ID = "018f0000-0000-7000-8000-00000000be9c"
SAILPOINT_CLIENT_ID = "sp-demo-client"
SAILPOINT_CLIENT_SECRET = "sp-demo-secret"  # noqa: S105 - the emulator's demo credential
#: SailPoint result lists and their ``category``, in the order the tap emits them.
SAILPOINT_MESSAGES = (("infos", "info"), ("warnings", "warning"), ("errors", "error"))
_TOO_MANY_REQUESTS = 429
#: Fullstory result lists and their streams, in the raw ceiling's order.
FULLSTORY_LISTS = (("errors", "user_import_errors"), ("imports", "imported_users"))


def fullstory_job_ids(jobs: int) -> list[str]:
    """The ids of the bench-fullstory jobs.

    Args:
        jobs: Number of jobs.

    Returns:
        ``bench-users-00000``, ...
    """
    return [f"bench-users-{number:05d}" for number in range(jobs)]


class _RecordWriter:
    """Singer RECORD lines straight from dicts, one write per page."""

    def __init__(self, out: Any = None) -> None:  # noqa: ANN401 - a binary file or buffer
        self._encode_into = msgspec.json.Encoder().encode_into
        self._line = bytearray()
        self._page = bytearray()
        self._out = out if out is not None else sys.stdout.buffer

    def write(self, stream: str, record: dict[str, Any], time_extracted: str) -> None:
        message = {
            "type": "RECORD",
            "stream": stream,
            "record": record,
            "time_extracted": time_extracted,
        }
        self._encode_into(message, self._line)
        self._page += self._line
        self._page += b"\n"

    def end_page(self) -> None:
        self._out.write(self._page)
        self._page.clear()

    def close(self) -> None:
        self.end_page()
        self._out.flush()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _fullstory_session() -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Basic {FULLSTORY_KEY}", "Accept": "application/json"}
    )
    return session


class _ListReader:
    """Reads Fullstory result lists with one session, one decoder and one writer."""

    def __init__(
        self, session: requests.Session, decode: Callable[[bytes], Any], writer: _RecordWriter
    ) -> None:
        self._session = session
        self._decode = decode
        self._writer = writer

    def read(self, url: str, job_id: str, stream: str) -> int:
        """Read one list page by page (``next_page_token``).

        Args:
            url: The list's URL.
            job_id: Written into every item.
            stream: The stream of its RECORD lines.

        Returns:
            Rows written, each with ``job_id`` and its ``row_number``.
        """
        token, row = None, 0
        while True:
            response = self._session.get(url, params={"page_token": token})
            response.raise_for_status()
            page = self._decode(response.content)
            extracted = _now()
            for item in page.get("results") or ():
                item["job_id"] = job_id
                item["row_number"] = row
                self._writer.write(stream, item, extracted)
                row += 1
            self._writer.end_page()
            token = page.get("next_page_token")
            if not token:
                return row


def raw_fullstory(base_url: str, jobs: int) -> int:
    """The raw ceiling for Fullstory: the tap's requests, RECORD lines, nothing else.

    Status of every job, then the ``errors`` and ``imports`` lists of every job, page by
    page (``next_page_token``), each item written with ``job_id`` and ``row_number``.

    Args:
        base_url: The emulator's base URL.
        jobs: Number of jobs (``bench-users-00000``, ...).

    Returns:
        Result records written.
    """
    session = _fullstory_session()
    decode = msgspec.json.Decoder().decode
    writer = _RecordWriter()
    api = base_url + "/fullstory/v2/users/batch/"
    ids = fullstory_job_ids(jobs)
    for job_id in ids:
        response = session.get(api + job_id)
        response.raise_for_status()
        status = {
            "source": "fullstory_users",
            "job_id": job_id,
            "vendor_status": decode(response.content),
        }
        writer.write("job_details", status, _now())
    writer.end_page()
    count = 0
    lists = _ListReader(session, decode, writer)
    for what, stream in FULLSTORY_LISTS:
        for job_id in ids:
            count += lists.read(f"{api}{job_id}/{what}", job_id, stream)
    writer.close()
    return count


def raw_druid(base_url: str, limit: int) -> int:
    """The raw ceiling for DruID: token, status, then ``lastId`` paging of the bulk.

    Args:
        base_url: The emulator's base URL.
        limit: Rows per page.

    Returns:
        Result records written.
    """
    session = requests.Session()
    decode = msgspec.json.Decoder().decode
    form = {
        "grant_type": "client_credentials",
        "client_id": DRUID_CLIENT_ID,
        "client_secret": DRUID_CLIENT_SECRET,
    }
    response = session.post(base_url + "/druid-auth/oauth2/token", data=form)
    response.raise_for_status()
    token = decode(response.content)["access_token"]
    session.headers.update(
        {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        }
    )
    writer = _RecordWriter()
    bulk = f"{base_url}/druid/activityid/v1/user/bulk/{DRUID_BULK_ID}"
    response = session.get(bulk)
    response.raise_for_status()
    status = {"source": "druid", "job_id": DRUID_BULK_ID, "vendor_status": decode(response.content)}
    writer.write("job_details", status, _now())
    count, last = 0, None
    while True:
        params: dict[str, str | int | None] = {"limit": limit, "failedOnly": "false", "last": last}
        response = session.get(bulk + "/results", params=params)
        response.raise_for_status()
        content = decode(response.content)["content"]
        extracted = _now()
        for item in content.get("results") or ():
            writer.write("bulk_results", {"bulk_id": DRUID_BULK_ID, **item}, extracted)
            count += 1
        writer.end_page()
        last = content.get("lastId")
        if not last:
            break
    writer.close()
    return count


def sailpoint_job_ids(jobs: int) -> list[str]:
    """The ids of the bench-sailpoint jobs (as ``emulator.bench.bench_sailpoint_job_id``).

    Args:
        jobs: Number of jobs.

    Returns:
        ``be5c0000…0000``, ...
    """
    return [f"be5c{number:028x}" for number in range(jobs)]


def _get_waiting(session: requests.Session, url: str) -> requests.Response:
    # A 429 is waited out for its Retry-After (whole seconds), then asked again.
    while True:
        response = session.get(url)
        if response.status_code != _TOO_MANY_REQUESTS:
            response.raise_for_status()
            return response
        time.sleep(float(response.headers.get("Retry-After") or 1))


def _sailpoint_rows(job_id: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    # The tap's config_import_results rows: messages, then imported objects, per type.
    export_job_id = document.get("exportJobId")
    rows: list[dict[str, Any]] = []
    empty = dict.fromkeys(
        (
            "key",
            "text",
            "details",
            "imported_object_type",
            "imported_object_id",
            "imported_object_name",
        )
    )
    for object_type, entry in (document.get("results") or {}).items():
        head = {"job_id": job_id, "export_job_id": export_job_id, "object_type": object_type}
        for name, category in SAILPOINT_MESSAGES:
            for position, item in enumerate(entry.get(name) or ()):
                fields = {"key": item.get("key"), "text": item.get("text")}
                fields["details"] = item.get("details")
                rows.append({**head, "category": category, "position": position, **empty, **fields})
        for position, item in enumerate(entry.get("importedObjects") or ()):
            fields = {
                "imported_object_type": item.get("type"),
                "imported_object_id": item.get("id"),
                "imported_object_name": item.get("name"),
            }
            rows.append(
                {**head, "category": "imported_object", "position": position, **empty, **fields}
            )
    return rows


def raw_sailpoint(base_url: str, jobs: int) -> int:
    """The raw client for SailPoint: token, every job's status, then every download.

    Args:
        base_url: The emulator's base URL.
        jobs: Number of jobs (:func:`sailpoint_job_ids`).

    Returns:
        Result records written.
    """
    session = requests.Session()
    decode = msgspec.json.Decoder().decode
    api = base_url + "/sailpoint"
    form = {
        "grant_type": "client_credentials",
        "client_id": SAILPOINT_CLIENT_ID,
        "client_secret": SAILPOINT_CLIENT_SECRET,
    }
    while True:
        response = session.post(api + "/oauth/token", data=form)
        if response.status_code != _TOO_MANY_REQUESTS:
            break
        time.sleep(float(response.headers.get("Retry-After") or 1))
    response.raise_for_status()
    token = decode(response.content)["access_token"]
    session.headers.update({"Accept": "application/json", "Authorization": f"Bearer {token}"})
    writer = _RecordWriter()
    imports = api + "/v2025/sp-config/import/"
    ids = sailpoint_job_ids(jobs)
    for job_id in ids:
        status = decode(_get_waiting(session, imports + job_id).content)
        writer.write(
            "job_details",
            {"source": "sailpoint", "job_id": job_id, "vendor_status": status},
            _now(),
        )
    writer.end_page()
    count = 0
    for job_id in ids:
        document = decode(_get_waiting(session, f"{imports}{job_id}/download").content)
        extracted = _now()
        for row in _sailpoint_rows(job_id, document):
            writer.write("config_import_results", row, extracted)
            count += 1
        writer.end_page()
    writer.close()
    return count


def raw_main(vendor: str, base_url: str, amount: str) -> int:
    """Run the raw ceiling and report its record count on standard error.

    Args:
        vendor: ``fullstory``, ``druid``, ``sailpoint``, or ``startup`` (imports only,
            no request).
        base_url: The emulator's base URL.
        amount: Fullstory and SailPoint: number of jobs; DruID: page size.

    Returns:
        Exit status 0.
    """
    if vendor == "startup":
        return 0
    if vendor == "fullstory":
        count = raw_fullstory(base_url, int(amount))
    elif vendor == "sailpoint":
        count = raw_sailpoint(base_url, int(amount))
    else:
        count = raw_druid(base_url, int(amount))
    print(f"raw records: {count}", file=sys.stderr)
    return 0


def reference_fullstory(base_url: str, jobs: int, workers: int) -> int:
    """The reference client: ``workers`` Fullstory jobs in flight, each read start to end.

    Each job: its status, then (unless still processing) its ``/imports`` and its
    ``/errors`` lists, paged with ``next_page_token``; every item is written with
    ``job_id`` and ``row_number``. Each worker thread has its own keep-alive session; the
    main thread writes the jobs' lines in job order.

    Args:
        base_url: The emulator's base URL.
        jobs: Number of jobs (``bench-users-00000``, ...).
        workers: Jobs in flight at once.

    Returns:
        Result records written.
    """
    api = base_url + "/fullstory/v2/users/batch/"
    local = threading.local()

    def read_job(job_id: str) -> tuple[bytes, int]:
        if not hasattr(local, "session"):
            local.session = _fullstory_session()
            local.decode = msgspec.json.Decoder().decode
        session, decode = local.session, local.decode
        buffer = _Buffer()
        writer = _RecordWriter(buffer)
        response = session.get(api + job_id)
        response.raise_for_status()
        status = decode(response.content)
        record = {"source": "fullstory_users", "job_id": job_id, "vendor_status": status}
        writer.write("job_details", record, _now())
        writer.end_page()
        count = 0
        if (status.get("job") or {}).get("status") != "PROCESSING":
            lists = _ListReader(session, decode, writer)
            for what, stream in (("imports", "imported_users"), ("errors", "user_import_errors")):
                count += lists.read(f"{api}{job_id}/{what}", job_id, stream)
        return bytes(buffer.data), count

    out = sys.stdout.buffer
    total = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="reference") as pool:
        for lines, count in pool.map(read_job, fullstory_job_ids(jobs)):
            out.write(lines)
            total += count
    out.flush()
    return total


class _Buffer:
    """A write-only bytes buffer for :class:`_RecordWriter`."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes | bytearray) -> None:
        self.data += chunk

    def flush(self) -> None:
        """Nothing to flush."""


def reference_main(base_url: str, jobs: str, workers: str) -> int:
    """Run the reference client and report its record count on standard error.

    Args:
        base_url: The emulator's base URL.
        jobs: Number of Fullstory jobs.
        workers: Jobs in flight at once.

    Returns:
        Exit status 0.
    """
    count = reference_fullstory(base_url, int(jobs), int(workers))
    print(f"raw records: {count}", file=sys.stderr)
    return 0
