"""Fault injection through the real CLI, with Fullstory, DruID and SailPoint configured at once.

For every fault class the emulator can inject (429 with ``Retry-After`` in seconds and as an
HTTP-date, 500/502/503/504, connection reset, a stall past the read timeout, truncated JSON,
a 200 that is not JSON, a 200 without its envelope, a token expiring mid-run), and for a
storm mixing them:

- a transient fault is survived: exit 0, every row exactly once and equal to the data;
- each wait after a 429 is at least the ``Retry-After`` the server sent;
- each fault costs exactly one more request (two for an expired token), so retries are
  bounded;
- a fault that does not go away ends the run with one line naming vendor, endpoint and
  last status, no traceback, nothing half-parsed emitted, the final STATE at the failed
  page, and a re-run from that STATE emits the rest (the union is the data).

Timings are real (``RetryPolicy.base_seconds`` = 1 s) but retries are few:
``retry_max_attempts=2`` for the failures, one fault per vendor for the transient runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import re
import time
import typing as t
from collections import Counter
from dataclasses import dataclass

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from emulator import faults
from emulator.server import VendorEmulator
from tap_batchimport.http.client import VendorClient
from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.http.retry import RetryBudget, RetryPolicy, parse_retry_after
from tests import mixed_data
from tests.conftest import run_tap, stream_bookmarks

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from emulator.faults import Fault, FaultRule
    from emulator.server import RequestRecord
    from tests.conftest import TapRun

#: Every run: stalls are cut at 1 s; a failing request gives up within 30 s of waiting.
FAST: dict[str, t.Any] = {"request_timeout_seconds": 1, "retry_max_wait_seconds": 30}
#: The one-fault tests hit "the n-th request of an endpoint", which names one page only
#: when requests go one at a time; the storm runs with 8 workers.
ONE_AT_A_TIME: dict[str, t.Any] = {**FAST, "max_concurrent_requests": 1}
#: A stall outlasts the read timeout, then the emulator answers (too late).
STALL_SECONDS = 2.0

#: The endpoint templates errors name, by emulator endpoint (for the jobs of mixed_data).
TEMPLATES = {
    "fullstory.status": "Fullstory GET /v2/users/batch/{job_id}",
    "fullstory.imports": "Fullstory GET /v2/events/batch/{job_id}/imports",
    "druid.token": "DruID POST /oauth2/token",
    "druid.status": "DruID GET /activityid/v1/user/bulk/{bulk_id}",
    "druid.results": "DruID GET /activityid/v1/user/bulk/{bulk_id}/results",
    "sailpoint.token": "SailPoint POST /oauth/token",
    "sailpoint.status": "SailPoint GET /v2025/sp-config/import/{job_id}",
    "sailpoint.download": "SailPoint GET /v2025/sp-config/import/{job_id}/download",
}
TOKEN_ENDPOINT = {"druid": "druid.token", "sailpoint": "sailpoint.token"}


def http_date(seconds_from_now: float) -> str:
    """An HTTP-date ``Retry-After`` (whole seconds, as the header allows)."""
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@dataclass(frozen=True)
class FaultClass:
    """One kind of fault, where it lands, and what a run that cannot get past it reports.

    Attributes:
        name: Test id.
        make: Builds the fault (an HTTP-date is relative to when it is built).
        transient_on: Endpoints hit once each (their 2nd request: mid-job) in the
            transient test.
        persistent_on: The endpoint failing for good (from its 2nd request) in the
            failure test.
        reported: What the error line says after ``failed:``.
    """

    name: str
    make: Callable[[], Fault]
    transient_on: tuple[str, ...]
    persistent_on: str
    reported: str


FS, DR, SP = "fullstory.imports", "druid.results", "sailpoint.download"

# Each class hits one vendor when transient and another when lasting (the storm mixes
# them again), so every vendor's paging, resume and token paths meet most classes.
CLASSES = [
    FaultClass("429-seconds", lambda: faults.status(429, retry_after="1"), (FS,), DR, "HTTP 429"),
    FaultClass(
        "429-http-date", lambda: faults.status(429, retry_after=http_date(3)), (SP,), FS, "HTTP 429"
    ),
    FaultClass("500", lambda: faults.status(500), (DR,), SP, "HTTP 500"),
    FaultClass("502", lambda: faults.status(502), (FS,), DR, "HTTP 502"),
    FaultClass("503", lambda: faults.status(503), (SP,), FS, "HTTP 503"),
    FaultClass("504", lambda: faults.status(504), (DR,), SP, "HTTP 504"),
    FaultClass("reset", faults.reset, (FS,), DR, "ConnectionError (no HTTP answer)"),
    FaultClass(
        "stall", lambda: faults.stall(STALL_SECONDS), (SP,), FS, "ReadTimeout (no HTTP answer)"
    ),
    FaultClass(
        "truncated-json",
        faults.truncated_json,
        (FS,),
        DR,
        "HTTP 200: answer is not valid JSON",
    ),
    FaultClass(
        "non-json",
        faults.non_json,
        (DR,),
        SP,
        "HTTP 200: answer is not the JSON object the endpoint returns: it starts with '<'",
    ),
    FaultClass(
        "missing-envelope",
        faults.missing_envelope,
        (SP,),
        FS,
        "HTTP 200: answer lacks its 'results' envelope",
    ),
    FaultClass(
        "expire-token",
        faults.expire_token,
        (DR, "sailpoint.status"),  # Fullstory has a static key, no token
        SP,
        "HTTP 401",
    ),
]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Counter[str]:
    """Requests per endpoint of a fault-free run (which must emit exactly the data)."""
    with VendorEmulator() as emu:
        mixed_data.fill(emu)
        run = run_tap(tmp_path_factory.mktemp("baseline"), mixed_data.config(emu, **FAST))
        assert run.returncode == 0, run.stderr
        assert mixed_data.emitted_once(run.messages) == mixed_data.expected(emu)
        return Counter(r.endpoint for r in emu.requests)


@pytest.fixture
def emu(emulator: VendorEmulator) -> VendorEmulator:
    mixed_data.fill(emulator)
    return emulator


# Checks.


def assert_each_fault_cost_one_retry(
    emulator: VendorEmulator, baseline: Counter[str], rules: Iterable[FaultRule]
) -> None:
    """Requests = the fault-free run's + one per fault hit (+ a token after an expiry)."""
    extra: Counter[str] = Counter()
    for rule in rules:
        extra[rule.endpoint] += rule.fired
        if rule.fault.kind == "expire_token":
            extra[TOKEN_ENDPOINT[rule.endpoint.split(".")[0]]] += rule.fired
    want = baseline + extra
    # A stalled request is logged when the emulator answers it, after the client gave up.
    deadline = time.monotonic() + STALL_SECONDS + 2
    while (got := Counter(r.endpoint for r in emulator.requests)) != want:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == want


def same_call(a: RequestRecord, b: RequestRecord) -> bool:
    return (a.method, a.endpoint, a.path, a.query) == (b.method, b.endpoint, b.path, b.query)


def required_wait(retry_after: str, at: float) -> float:
    """Seconds after a 429 answered at monotonic time ``at`` the next try may arrive."""
    if retry_after.strip().isdigit():
        return float(retry_after)
    when = email.utils.parsedate_to_datetime(retry_after).timestamp()
    return when - (time.time() - time.monotonic()) - at


def assert_retry_after_honoured(emulator: VendorEmulator, retry_after: dict[str, str]) -> int:
    """Each 429 is followed by the same call no earlier than its ``Retry-After``.

    Args:
        emulator: Its request log.
        retry_after: The ``Retry-After`` sent, by endpoint.

    Returns:
        How many 429s were checked.
    """
    log = emulator.requests
    checked = 0
    for i, answer in enumerate(log):
        if answer.status != 429:
            continue
        retry = next((r for r in log[i + 1 :] if same_call(r, answer)), None)
        assert retry is not None, f"{answer.path}: 429 never retried"
        waited = retry.time - answer.time
        # 10 ms for the two clocks an HTTP-date is converted through.
        assert waited >= required_wait(retry_after[answer.endpoint], answer.time) - 0.01, (
            answer.path,
            waited,
        )
        checked += 1
    return checked


def assert_nothing_half_parsed(emulator: VendorEmulator, run: TapRun) -> None:
    """Every record a (failed) run emitted is exactly a row of the data, once."""
    want = mixed_data.expected(emulator)
    for stream, records in mixed_data.emitted_once(run.messages).items():
        for key, record in records.items():
            assert want[stream].get(key) == record, (stream, key)


def error_lines(run: TapRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if " failed: " in line]


# The fault classes, one at a time.


@pytest.mark.parametrize("kind", CLASSES, ids=[c.name for c in CLASSES])
def test_a_transient_fault_is_survived_with_every_row_exactly_once(
    kind: FaultClass, emu: VendorEmulator, tap: Callable[..., TapRun], baseline: Counter[str]
) -> None:
    rules = [emu.faults.add(endpoint, kind.make(), on={2}) for endpoint in kind.transient_on]
    headers = {rule.endpoint: rule.fault.retry_after or "" for rule in rules}
    run = tap(mixed_data.config(emu, **ONE_AT_A_TIME))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert mixed_data.emitted_once(run.messages) == mixed_data.expected(emu)
    assert [rule.fired for rule in rules] == [1] * len(rules)
    assert_each_fault_cost_one_retry(emu, baseline, rules)
    if kind.name.startswith("429"):
        assert assert_retry_after_honoured(emu, headers) == len(rules)
        waits = [line for line in run.stderr.splitlines() if "rate limit" in line]
        # One line per vendor ("waiting N s for <vendor> rate limit"), never silence.
        assert len(waits) == len(rules), waits
        assert all("waiting" in line and "Retry-After" in line for line in waits)
    elif kind.name != "expire-token":
        retries = [line for line in run.stderr.splitlines() if "; retry 1 in " in line]
        # Each retry line names its job by id, never by the path template.
        shown = [line.split("| ")[-1].split(":")[0] for line in retries]
        assert sorted(map(template_of, shown)) == sorted(
            TEMPLATES[endpoint] for endpoint in kind.transient_on
        )


def template_of(shown: str) -> str:
    """The endpoint template a logged request matches, its ids in place of placeholders."""
    for template in TEMPLATES.values():
        pattern = re.escape(template).replace(r"\{job_id\}", "[^/{}]+")
        if re.fullmatch(pattern.replace(r"\{bulk_id\}", "[^/{}]+"), shown):
            return template
    return shown


@pytest.mark.parametrize("kind", CLASSES, ids=[c.name for c in CLASSES])
def test_a_lasting_fault_fails_clearly_and_a_rerun_resumes_at_the_failed_page(
    kind: FaultClass, emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    endpoint = kind.persistent_on
    rule = emu.faults.add(endpoint, kind.make(), on=set(range(2, 1000)))
    config = mixed_data.config(emu, retry_max_attempts=2, **ONE_AT_A_TIME)
    first = tap(config)

    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    lines = error_lines(first)
    if kind.name == "expire-token" or kind.name.startswith("429"):
        # Credentials and rate limits concern the whole vendor: it stops, in one line.
        (line,) = lines
        assert f"{TEMPLATES[endpoint]} failed: {kind.reported}" in line, line
        assert rule.fired == 2
        if kind.name == "expire-token":
            assert emu.count("sailpoint.token") == 2
    else:
        # Anything else fails the job it hit, alone: one line per job, naming its real id
        # (retry_max_attempts=2: the first try and one retry each).
        assert lines, first.stderr
        assert rule.fired == 2 * len(lines)
        for line in lines:
            job_id = line.split(" job ", 1)[1].split(":", 1)[0]
            real = TEMPLATES[endpoint].replace("{job_id}", job_id).replace("{bulk_id}", job_id)
            if endpoint == "fullstory.imports" and "fullstory_users job" in line:
                real = real.replace("/events/", "/users/")
            assert f"{real} failed: {kind.reported}" in line, line
            assert "gave up after 2 tries (retry_max_attempts=2)" in line
            assert "{" not in line.split("failed:")[0]
        assert "Run incomplete" in first.stderr
    assert_nothing_half_parsed(emu, first)
    assert first.messages[-1]["type"] == "STATE"

    # The final STATE points at the page that failed (each job's 2nd request).
    bookmarks = stream_bookmarks(first.final_state)
    if endpoint == "druid.results":
        cursor = bookmarks["bulk_results"]["progress"]["B1"]
        assert cursor == {"last": emu.dataset.druid_bulk("B1").results[4]["id"]}
    elif endpoint == "fullstory.imports":
        assert bookmarks["imported_events"]["progress"]["E1"]["row"] == 10
        assert bookmarks["bulk_results"]["done"] == ["B1", "B2"]
    else:
        assert "S2" not in bookmarks["config_import_results"]["done"]

    emu.faults.clear()
    second = tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    mixed_data.assert_union_is_the_data(emu, first.messages, second.messages)


def test_a_truncated_page_then_a_lasting_failure_resumes_at_that_page(
    emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    # E1's second page comes back cut in half, then its retries keep failing.
    emu.faults.add(FS, faults.truncated_json(), on={2})
    emu.faults.add(FS, faults.status(503), on=set(range(3, 1000)))
    config = mixed_data.config(emu, retry_max_attempts=2, **ONE_AT_A_TIME)
    first = tap(config)
    assert first.returncode == 1
    line = next(line for line in error_lines(first) if "fullstory_events job E1" in line)
    assert f"{TEMPLATES[FS].replace('{job_id}', 'E1')} failed: HTTP 503" in line
    assert_nothing_half_parsed(emu, first)
    assert len(first.records("imported_events")) == 10  # page 1 only, nothing of page 2
    assert first.messages[-1]["type"] == "STATE"
    cursor = stream_bookmarks(first.final_state)["imported_events"]["progress"]["E1"]
    assert cursor["row"] == 10
    page_two = [r for r in emu.requests if r.endpoint == FS][1]
    assert cursor["page_token"] == page_two.query["page_token"]  # the page that broke

    emu.faults.clear()
    emu.clear_requests()
    second = tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    resumed = next(r for r in emu.requests if r.endpoint == FS)
    assert resumed.query["page_token"] == cursor["page_token"]
    mixed_data.assert_union_is_the_data(emu, first.messages, second.messages, max_pages_again=0)


# A storm of everything at once.


def test_a_storm_of_every_fault_class_at_once(
    emu: VendorEmulator, tap: Callable[..., TapRun], baseline: Counter[str]
) -> None:
    storm: list[tuple[str, Fault, set[int]]] = [
        ("druid.token", faults.status(503), {1}),
        ("sailpoint.token", faults.status(429, retry_after="1"), {1}),
        ("fullstory.status", faults.reset(), {1}),
        ("druid.status", faults.status(502), {2}),
        # A second short wait on DruID's API client: logged at DEBUG only.
        ("druid.status", faults.status(429, retry_after="1"), {3}),
        ("sailpoint.status", faults.expire_token(), {2}),
        ("druid.results", faults.truncated_json(), {2}),
        ("druid.results", faults.status(429, retry_after=http_date(3)), {4}),
        ("druid.results", faults.expire_token(), {7}),
        ("sailpoint.download", faults.non_json(), {1}),
        ("sailpoint.download", faults.status(504), {3}),
        # E1 has no errors, so its `{}` is a fine answer; U1's errors are due.
        ("fullstory.errors", faults.missing_envelope(), {2}),
        ("fullstory.imports", faults.status(500), {2}),
        ("fullstory.imports", faults.status(429, retry_after="1"), {5}),
        ("fullstory.imports", faults.stall(STALL_SECONDS), {8}),
    ]
    rules = [emu.faults.add(endpoint, fault, on=on) for endpoint, fault, on in storm]
    retry_after = {r.endpoint: r.fault.retry_after for r in rules if r.fault.retry_after}
    started = time.monotonic()
    run = tap(mixed_data.config(emu, **FAST, max_concurrent_requests=8))
    took = time.monotonic() - started

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert mixed_data.emitted_once(run.messages) == mixed_data.expected(emu)
    assert [rule.fired for rule in rules] == [1] * len(rules)
    assert_each_fault_cost_one_retry(emu, baseline, rules)
    assert assert_retry_after_honoured(emu, retry_after) == 4
    # Short rate-limit waits are said once per vendor client (DruID's second one only at
    # DEBUG); nothing is logged at ERROR.
    waits = [line for line in run.stderr.splitlines() if "rate limit" in line]
    assert sorted(line.split("for ")[1].split(" rate")[0] for line in waits) == [
        "DruID",
        "Fullstory",
        "SailPoint",
    ], waits
    assert not [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert took < 45
    # And the STATE is the one a clean run ends with: nothing left to resume.
    for stream in mixed_data.KEYS:
        assert stream_bookmarks(run.final_state)[stream]["progress"] == {}, stream


# Retry limits: tries, total wait, Retry-After beyond the cap.


def test_retry_after_beyond_the_cap_fails_at_once_naming_the_setting(
    emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    # SailPoint route back-offs reach 1200 s; the default cap is 300 s.
    emu.faults.add("sailpoint.download", faults.status(429, retry_after="1200"), on={1})
    config = {k: v for k, v in mixed_data.config(emu).items() if not k.startswith("retry_")}
    config["max_concurrent_requests"] = 1  # so the one request is S1's, not also S2's
    started = time.monotonic()
    run = tap(config)
    assert time.monotonic() - started < 10
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (line,) = error_lines(run)
    assert f"{TEMPLATES['sailpoint.download']} failed: HTTP 429" in line
    assert "asked to wait 1200 s (Retry-After)" in line
    assert "retry_max_wait_seconds=300" in line
    assert emu.count("sailpoint.download") == 1  # not retried early, not waited for


def test_total_wait_per_request_is_capped(emu: VendorEmulator, tap: Callable[..., TapRun]) -> None:
    # Tries are plenty; the 3 s of waiting allowed runs out first.
    emu.faults.add("druid.results", faults.status(503))
    started = time.monotonic()
    run = tap(
        mixed_data.config(
            emu, retry_max_attempts=50, retry_max_wait_seconds=3, max_concurrent_requests=1
        )
    )
    took = time.monotonic() - started
    assert run.returncode == 1
    lines = error_lines(run)
    assert len(lines) == 2  # each bulk fails alone
    for bulk in ("B1", "B2"):
        (line,) = [line for line in lines if f"druid job {bulk}:" in line]
        assert f"{TEMPLATES['druid.results'].replace('{bulk_id}', bulk)} failed: HTTP 503" in line
        assert "retry_max_wait_seconds=3)" in line
        assert "gave up after waiting" in line
        # Waits of 0.5-1 and 1-2 s fit in 3 s; the next (2-4 s) would not.
        calls = [r for r in emu.requests if r.endpoint == "druid.results" and r.job_id == bulk]
        assert len(calls) == 3
        assert calls[-1].time - calls[0].time <= 3.5
    assert took < 15


def test_rate_limit_waits_are_logged_once_if_short_always_if_long(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = VendorClient(
        vendor="SailPoint",
        base_url="https://x.invalid",
        auth=lambda r: r,
        policy=RetryPolicy(),
        timeout=1,
        error_detail=lambda r: "",
        logger=logging.getLogger("test-rate-limit"),
    )
    endpoint = Endpoint("/v2025/sp-config/import/{job_id}/download")
    answer = requests.Response()
    answer.status_code = 429
    caplog.set_level(logging.DEBUG, "test-rate-limit")
    for retry_after, wait in (("2", 2.05), ("3", 3.1), ("600", 600.4), ("4", 4.2), ("60", 60.5)):
        answer.headers["Retry-After"] = retry_after
        exc = RetriableAPIError("429", answer)
        client._on_backoff(endpoint, {"exception": exc, "wait": wait, "tries": 1})
    loud = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert loud == [
        f"waiting {n} s for SailPoint rate limit (Retry-After: {n} s) on GET {endpoint.path}"
        for n in (2, 600, 60)
    ]


# The wait generator itself (no HTTP): Retry-After floors, both header forms, the caps.


class _Answer:
    def __init__(self, retry_after: str | None) -> None:
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}


class _RefusedError(Exception):
    def __init__(self, retry_after: str | None) -> None:
        super().__init__("429")
        self.response = _Answer(retry_after)


def waits(policy: RetryPolicy, *retry_afters: str | None) -> tuple[list[float], RetryBudget]:
    budget = RetryBudget()
    generator = policy.wait_generator(budget)
    next(generator)
    out: list[float] = []
    with contextlib.suppress(StopIteration):
        for value in retry_afters:
            out.append(generator.send(_RefusedError(value)))  # noqa: PERF401 (StopIteration)
    return out, budget


def test_waits_never_undercut_retry_after_and_stay_within_the_cap() -> None:
    policy = RetryPolicy(max_tries=8, max_wait_seconds=30)
    got, _ = waits(policy, "2", "0", None, http_date(5))
    assert 2 <= got[0] <= 2.3
    assert 0 <= got[1] <= 0.1
    assert 2 <= got[2] <= 4  # no header: back-off, third step
    assert 3.9 <= got[3] <= 5.7  # an HTTP-date has whole seconds
    got, budget = waits(policy, "20", "20")
    assert len(got) == 1
    assert "asked to wait 20 s (Retry-After), more than the" in str(budget.stop_reason)
    assert "s left of retry_max_wait_seconds=30" in str(budget.stop_reason)
    got, budget = waits(RetryPolicy(max_wait_seconds=300), "1200")
    assert got == []
    assert "retry_max_wait_seconds=300" in str(budget.stop_reason)
    # Exactly the cap is still waited for, and never beyond it.
    got, _ = waits(RetryPolicy(max_wait_seconds=5), "5")
    assert got == [5]


def test_retry_after_forms() -> None:
    now = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("-5") == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
