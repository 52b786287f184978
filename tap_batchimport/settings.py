"""Settings shared by every vendor, and the checks every vendor's settings go through."""

from __future__ import annotations

import ipaddress
import re
import typing as t
from urllib.parse import urlsplit

import requests
from singer_sdk import typing as th

from tap_batchimport.http.prepare import prepared_base_url

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Longest job id accepted; real ids are 32-40 characters.
MAX_JOB_ID_LENGTH = 256

#: Upper bounds of the timing settings: larger values overflow the platform's timers
#: (``socket.settimeout``, ``time.sleep``) and would only ever mean "hang".
MAX_REQUEST_TIMEOUT_SECONDS = 3600
MAX_RETRY_WAIT_SECONDS = 86400

#: Largest ``max_response_mb`` accepted (a body is held in memory whole).
MAX_RESPONSE_MB = 65536

#: Most requests a run keeps in flight at once to one vendor.
MAX_CONCURRENT_REQUESTS = 32

COMMON_SETTINGS = th.PropertiesList(
    th.Property(
        "job_wait_timeout_seconds",
        th.IntegerType(minimum=0),
        default=0,
        title="Job wait timeout (seconds)",
        description=(
            "How long a run may poll jobs that are not finished yet before moving on (one "
            "deadline for the whole run; their results are extracted by a later run). "
            "0 = don't wait."
        ),
        examples=[0, 600],
    ),
    th.Property(
        "job_ids_file",
        th.StringType,
        title="Job ids file",
        description=(
            "Text file of new jobs, one 'source,job_id' per line (sources: fullstory_users, "
            "fullstory_events, druid, sailpoint; '#' comments and blank lines ignored), "
            "appended to by the importing step and read on every run. A missing file means "
            "no new jobs."
        ),
        examples=["/var/lib/imports/job_ids.txt"],
    ),
    th.Property(
        "job_max_pending_days",
        th.IntegerType(minimum=1),
        default=7,
        title="Job max pending days",
        description=(
            "A job still not finished this many days after its vendor 'created' time (or "
            "after the tap first saw it) is given up: one last job_details record with "
            "given_up=true, a warning, and it is no longer checked."
        ),
        examples=[7, 30],
    ),
    th.Property(
        "schema_mismatch_policy",
        th.StringType(allowed_values=["keep", "fail"]),
        default="keep",
        title="Schema mismatch policy",
        description=(
            "What a vendor value that does not fit its declared type gets (after the "
            "conversions that lose nothing): keep = the typed field is null and the value "
            "is kept in the record's schema_mismatches; fail = the job fails alone (named "
            "field and row), and is read again by the next run."
        ),
        examples=["keep", "fail"],
    ),
    th.Property(
        "max_concurrent_requests",
        th.IntegerType(minimum=1, maximum=MAX_CONCURRENT_REQUESTS),
        default=8,
        title="Max concurrent requests",
        description=(
            "Requests in flight at once per vendor (statuses and result pages of different "
            "jobs). 1 = one at a time."
        ),
        examples=[8, 1],
    ),
    th.Property(
        "request_timeout_seconds",
        th.IntegerType(minimum=1, maximum=MAX_REQUEST_TIMEOUT_SECONDS),
        default=60,
        title="Request timeout (seconds)",
        description=(
            "Limit on one HTTP request from connect to its last byte (not per read: a "
            "server that drips bytes times out too); a timeout is retried."
        ),
        examples=[60],
    ),
    th.Property(
        "retry_max_attempts",
        th.IntegerType(minimum=1, maximum=50),
        default=8,
        title="Retry: attempts per request",
        description=(
            "Attempts per request (the first included) on 429, 5xx, timeouts, dropped "
            "connections and malformed answers, before the run fails."
        ),
        examples=[8],
    ),
    th.Property(
        "retry_max_wait_seconds",
        th.IntegerType(minimum=0, maximum=MAX_RETRY_WAIT_SECONDS),
        default=300,
        title="Retry: total wait per request (seconds)",
        description=(
            "Longest total time one request may spend waiting between attempts "
            "(Retry-After pauses included, also those another request's 429 imposes on "
            "all of a vendor's requests). A 429 whose Retry-After exceeds what is left "
            "fails at once with a clear error instead of hanging."
        ),
        examples=[300, 1800],
    ),
    th.Property(
        "max_response_mb",
        th.IntegerType(minimum=1, maximum=MAX_RESPONSE_MB),
        default=256,
        title="Max response size (MB)",
        description=(
            "Largest response body the tap reads, counted after decompression; a larger "
            "one is a malformed response (retried, then an error), and the rest is not read."
        ),
        examples=[256],
    ),
)


#: Defaults of the common settings, for :func:`common_setting`.
_COMMON_DEFAULTS: dict[str, t.Any] = {
    name: schema.get("default") for name, schema in COMMON_SETTINGS.to_dict()["properties"].items()
}


def common_setting(config: Mapping[str, t.Any], key: str) -> t.Any:  # noqa: ANN401
    """A common setting's value, where absent and ``null`` both mean its default.

    JSON configs (and Meltano) may carry ``"request_timeout_seconds": null``; the schema
    allows null for every optional setting, so null must not reach ``float()``.

    Args:
        config: Tap config.
        key: A key of ``COMMON_SETTINGS``.

    Returns:
        The configured value, or the setting's default.
    """
    value = config.get(key)
    return _COMMON_DEFAULTS[key] if value is None else value


def is_loopback(host: str) -> bool:
    """Whether a URL host is this machine (127.0.0.0/8, ``localhost`` or ``::1``).

    Args:
        host: Host part of a URL, without brackets.

    Returns:
        True for loopback hosts.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_error(key: str, value: t.Any) -> str | None:  # noqa: ANN401, PLR0911
    """Check a base URL setting.

    Args:
        key: Setting name, for the message.
        value: Its value.

    Returns:
        One line saying what is wrong, or None if the URL is usable.
    """
    if not isinstance(value, str) or not value.strip():
        return f"{key} must be a URL such as https://api.example.com"
    # A URL is quoted in messages, minus any user:password it wrongly carries.
    shown = re.sub(r"//[^/@]*@", "//***@", value)
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
        _ = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError as exc:
        return f"{key} is not a valid URL ({exc}): {shown!r}"
    if parts.scheme not in {"http", "https"} or not host:
        return f"{key} must be an http(s) URL with a host, got {shown!r}"
    if parts.username or parts.password:
        return f"{key} must not embed credentials; use the credential settings"
    if parts.query or parts.fragment:
        return f"{key} must not have a query string or fragment"
    try:  # what requests sends (an IDNA host): refused here rather than per request
        prepared_base_url(value.strip())
    except (requests.exceptions.RequestException, ValueError) as exc:
        return f"{key} is not a valid URL ({type(exc).__name__}): {shown!r}"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            f"{key} uses plain http:// for a non-loopback host ({host}); use https:// "
            "(http is only accepted for 127.0.0.1, localhost and [::1])"
        )
    return None


def job_id_problem(job_id: t.Any) -> str | None:  # noqa: ANN401
    """What makes a value unusable as a job id (in a URL path segment), if anything.

    Ids are URL-encoded as one path segment each, so ``/`` cannot reach another path;
    ``.`` and ``..`` are refused because servers and proxies normalise them away. The same
    check applies to configured ids and to ids a vendor lists.

    Args:
        job_id: A job id as given.

    Returns:
        E.g. ``"is empty"``, or None for a usable id.
    """
    if not isinstance(job_id, str) or not job_id.strip():
        return "is empty"
    if job_id != job_id.strip() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in job_id):  # noqa: PLR2004
        return f"contains whitespace or control characters: {job_id!r}"
    if job_id in {".", ".."}:
        return f"is {job_id!r}, which is not a job id"
    if len(job_id) > MAX_JOB_ID_LENGTH:
        return f"is {len(job_id)} characters long (at most {MAX_JOB_ID_LENGTH})"
    return None


def job_id_errors(key: str, ids: Iterable[t.Any]) -> list[str]:
    """Check the job ids of one setting (see :func:`job_id_problem`).

    Args:
        key: Setting name, for the message.
        ids: Its values.

    Returns:
        One line per problem.
    """
    errors = []
    for position, job_id in enumerate(ids):
        problem = job_id_problem(job_id)
        if problem == "is empty":
            errors.append(f"{key}[{position}] is empty; give the job id or remove the entry")
        elif problem:
            errors.append(f"{key}[{position}] {problem}")
    return errors


T = t.TypeVar("T")


def unique(items: Iterable[T]) -> list[T]:
    """Drop repeats, keeping the first occurrence's order.

    Args:
        items: Job ids or jobs.

    Returns:
        Each once.
    """
    return list(dict.fromkeys(items))


def client_credentials_settings(
    prefix: str, vendor: str, *, id_description: str, secret_description: str, id_example: str
) -> list[th.Property]:
    """The ``<prefix>_client_id`` / ``<prefix>_client_secret`` pair of an OAuth2 vendor.

    Args:
        prefix: Setting prefix (``druid``, ``sailpoint``).
        vendor: Vendor name for titles.
        id_description: What the client id is and where to get it.
        secret_description: What the secret is.
        id_example: An example client id.

    Returns:
        The two settings.
    """
    return [
        th.Property(
            f"{prefix}_client_id",
            th.StringType,
            title=f"{vendor} client id",
            description=id_description,
            examples=[id_example],
        ),
        th.Property(
            f"{prefix}_client_secret",
            th.StringType,
            secret=True,
            title=f"{vendor} client secret",
            description=secret_description,
            examples=["s3cr3t..."],
        ),
    ]


def is_set(config: Mapping[str, t.Any], key: str) -> bool:
    """Whether a setting has a non-empty value.

    Args:
        config: Tap config.
        key: Setting name.

    Returns:
        True unless the value is missing, None, blank or an empty list.
    """
    value = config.get(key)
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return bool(value)
    return value is not None
