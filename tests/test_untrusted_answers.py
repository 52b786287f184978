"""Answers from a hostile vendor (or proxy, or captive portal) on loopback.

- A secret echoed at any offset around the 300-character cut of a vendor message, raw,
  URL-encoded or base64-encoded, in an error body, a reason phrase or a token endpoint's
  error: no 10-character piece of it shows (through the CLI for a sample of offsets, and
  through the vendor clients for every offset).
- A token with a line break, or an API key with one: refused in one line not showing it;
  the other vendors finish and the run ends with a STATE.
- Ids from DruID's list endpoint pass the checks configured ids pass.
"""

from __future__ import annotations

import base64
import json
import logging
import typing as t
from urllib.parse import quote_plus

import pytest

from emulator.druid import DruidBulk
from tap_batchimport import log_masking
from tap_batchimport.druid.vendor import DruidVendor
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.fullstory.vendor import FullstoryVendor
from tap_batchimport.http.masking import KNOWN_SECRETS, MAX_DETAIL_CHARS, PIECE_CHARS, masked_line
from tap_batchimport.jobs import JobRef
from tap_batchimport.sailpoint.vendor import SailpointVendor
from tests import mixed_data
from tests.hostile_server import HostileServer, Reply, Request, json_reply

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

FS_KEY = "fsK+y/A1b2C3d4E5f6G7h8I9j0=k%&z"
DRUID_ID = "druid-client"
DRUID_SECRET = "Dr+S3cr/t=qWeRtYuIoPaSdFgHjKlZx%y&z"
SP_ID = "sp-client"
SP_SECRET = "Sp:s3cr+t/MnBvCxZlKjHgFdSaPoIu=="
SP_TOKEN = "eyJ+tok/Zz9Yy8Xx7Ww6Vv5Uu4Tt3.s1gn4ture-_=="
SECRETS = (FS_KEY, DRUID_SECRET, SP_SECRET, SP_TOKEN)

#: How a server may echo a secret.
KINDS = ("body", "reason", "urlencoded", "urlencoded-lower", "base64", "form")


def pad(n: int) -> str:
    return ("pad-" * 100)[:n]


def pieces(text: str) -> set[str]:
    return {text[i : i + PIECE_CHARS] for i in range(len(text) - PIECE_CHARS + 1)}


def forms(secret: str) -> list[str]:
    return [
        secret,
        quote_plus(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode(),
    ]


def leaked(text: str, secrets: Iterable[str] = SECRETS) -> list[str]:
    """Every 10-character piece of a secret (or of a known encoding of it) in a text."""
    return sorted(p for s in secrets for f in forms(s) for p in pieces(f) if p in text)


def echo(kind: str, secret: str, request: Request, basic_id: str | None = None) -> str:
    if kind in {"urlencoded", "form"} and "client_secret" in request.form:
        # What the token endpoint received, still URL-encoded.
        raw = request.body.decode()
        return raw if kind == "form" else raw.split("client_secret=")[1].split("&")[0]
    if kind in {"urlencoded", "form"}:
        return quote_plus(secret, safe="")
    if kind == "urlencoded-lower":
        return "".join(
            c if c.isalnum() else "%" + c.encode().hex() for c in secret
        )  # e.g. %2b, %2f
    if kind == "base64":
        value = f"{basic_id}:{secret}" if basic_id else secret
        return base64.b64encode(value.encode()).decode()
    return secret


def error(kind: str, status: int, text: str, key: str = "message") -> Reply:
    if kind == "reason":
        return Reply(status, b"", reason=text)
    return json_reply(status, {key: text})


def hostile_vendors(server: HostileServer, kind: str, offset: int) -> None:
    """Fullstory echoes its key, DruID's token endpoint the client secret, SailPoint the
    bearer token (or in base64 its client credentials) at ``offset`` of their message.
    """

    def fullstory(request: Request) -> Reply:
        return error(kind, 500, pad(offset) + echo(kind, FS_KEY, request) + " is not valid")

    def druid_token(request: Request) -> Reply:
        said = pad(offset) + echo(kind, DRUID_SECRET, request, basic_id=DRUID_ID)
        return error(kind, 401, said + " was refused", key="error_description")

    def sailpoint_token(request: Request) -> Reply:
        return json_reply(200, {"access_token": SP_TOKEN, "expires_in": 749})

    def sailpoint(request: Request) -> Reply:
        if kind == "base64":
            said = echo(kind, SP_SECRET, request, basic_id=SP_ID)
        else:
            said = echo(kind, SP_TOKEN, request)
        return error(kind, 500, pad(offset) + said + " expired")

    server.route("GET", "/fs/*", fullstory)
    server.route("POST", "/druid-auth/oauth2/token", druid_token)
    server.route("POST", "/sp/oauth/token", sailpoint_token)
    server.route("GET", "/sp/*", sailpoint)


def hostile_config(server: HostileServer, **overrides: t.Any) -> dict[str, t.Any]:
    return {
        "fullstory_api_key": FS_KEY,
        "fullstory_api_url": server.url + "/fs",
        "fullstory_user_import_job_ids": ["U1"],
        "druid_api_url": server.url + "/druid",
        "druid_auth_url": server.url + "/druid-auth",
        "druid_client_id": DRUID_ID,
        "druid_client_secret": DRUID_SECRET,
        "druid_bulk_ids": ["B1"],
        "sailpoint_api_url": server.url + "/sp",
        "sailpoint_client_id": SP_ID,
        "sailpoint_client_secret": SP_SECRET,
        "sailpoint_import_job_ids": ["S1"],
        "retry_max_attempts": 1,
        "retry_max_wait_seconds": 0,
        "request_timeout_seconds": 10,
        **overrides,
    }


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


# Through the CLI: a sample of offsets around the cut, each kind of echo in turn.
CLI_OFFSETS = list(range(270, 301, 3))


@pytest.mark.parametrize(
    ("offset", "kind"),
    [(offset, KINDS[i % len(KINDS)]) for i, offset in enumerate(CLI_OFFSETS)],
)
def test_a_secret_echoed_around_the_cut_never_shows_in_part(
    offset: int, kind: str, server: HostileServer, tap: Callable[..., TapRun]
) -> None:
    hostile_vendors(server, kind, offset)
    run = tap(hostile_config(server), env={"TAP_BATCHIMPORT_LOGLEVEL": "DEBUG"})
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    failed = [line for line in run.stderr.splitlines() if " failed: " in line]
    assert len(failed) == 3, run.stderr  # one line per vendor
    for line in failed:
        assert pad(min(offset, 40)) in line  # the vendor's words are kept
    assert leaked(run.stdout + run.stderr) == []
    assert run.states  # the run still ends with a STATE


# Through the vendor clients: every offset, every kind, every vendor (fast, in process).


def vendors(
    server: HostileServer,
) -> list[tuple[FullstoryVendor | DruidVendor | SailpointVendor, JobRef]]:
    config = hostile_config(server)
    log = logging.getLogger("tests.hostile")
    return [
        (FullstoryVendor(config, log), JobRef("fullstory_users", "U1")),
        (DruidVendor(config, log), JobRef("druid", "B1")),
        (SailpointVendor(config, log), JobRef("sailpoint", "S1")),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_every_offset_around_the_cut_is_masked(kind: str, server: HostileServer) -> None:
    offsets = range(MAX_DETAIL_CHARS - 60, MAX_DETAIL_CHARS + 11)
    state = {"offset": 0}
    hostile_vendors_at = lambda: hostile_vendors(server, kind, state["offset"])  # noqa: E731
    for vendor, ref in vendors(server):
        for offset in offsets:
            state["offset"] = offset
            hostile_vendors_at()
            with pytest.raises(VendorAPIError) as failed:
                vendor.fetch_status(ref)
            line = str(failed.value)
            assert leaked(line) == [], (vendor.display_name, offset, line)
            assert len(failed.value.detail) <= MAX_DETAIL_CHARS + 200  # shortened


def test_masking_comes_before_the_cut_for_every_offset_and_form() -> None:
    for secret in SECRETS:
        for form in [
            *forms(secret),
            echo("urlencoded-lower", secret, Request("", "", {}, {}, b"")),
        ]:
            for offset in range(MAX_DETAIL_CHARS + 5):
                line = masked_line(pad(offset) + form + " tail", [secret])
                assert leaked(line, [secret]) == [], (offset, form, line)
                assert len(line) <= MAX_DETAIL_CHARS


def test_a_piece_of_a_secret_is_masked_too() -> None:
    # A vendor echoing only part of the key, or a proxy splitting it.
    line = masked_line(f"key {FS_KEY[:14]}... and {FS_KEY[-12:]}", [FS_KEY])
    assert leaked(line, [FS_KEY]) == []
    assert line == "key ***... and ***"


# Line breaks in header values.


def test_a_token_with_a_line_break_fails_its_vendor_only(
    emulator: VendorEmulator, server: HostileServer, tap: Callable[..., TapRun]
) -> None:
    mixed_data.fill(emulator)
    token = "tok-" + "A" * 20 + "\r\nX-Injected: yes"
    server.route(
        "POST", "/druid-auth/oauth2/token", lambda r: json_reply(200, {"access_token": token})
    )
    run = tap(mixed_data.config(emulator, druid_auth_url=server.url + "/druid-auth"))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if " failed: " in line]
    assert "DruID POST /oauth2/token failed: HTTP 200: the access token it sent contains a " in line
    assert "line break (CR or LF); refused, never sent in a header" in line
    assert "AAAAAAAAAA" not in run.stdout + run.stderr
    assert emulator.count("druid.status") == emulator.count("druid.results") == 0
    # The other vendors finished, and the run ended with a STATE.
    emitted = mixed_data.emitted_once(run.messages)
    expected = mixed_data.expected(emulator)
    for stream in ("imported_users", "imported_events", "config_import_results"):
        assert emitted[stream] == expected[stream]
    assert run.messages[-1]["type"] == "STATE"


@pytest.mark.parametrize("key", ["fs-key-AAAAAAAAAA\nBBBB", "fs-key-AAAAAAAAAA\rBBBB"])
def test_an_api_key_with_a_line_break_is_a_config_error(
    key: str, emulator: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    mixed_data.fill(emulator)
    run = tap(mixed_data.config(emulator, fullstory_api_key=key))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert (
        "fullstory_api_key contains a line break (CR or LF); it is sent in an HTTP header"
        in run.stderr
    )
    assert "AAAAAAAAAA" not in run.stdout + run.stderr
    assert emulator.requests == []


def test_an_api_key_ending_in_a_newline_is_used_as_trimmed(
    emulator: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    mixed_data.fill(emulator)
    key = emulator.dataset.fullstory_api_key + "\n"  # as `cat keyfile` gives it
    run = tap(mixed_data.config(emulator, fullstory_api_key=key))
    assert run.returncode == 0, run.stderr


# DruID list ids.


def test_ids_from_the_druid_list_pass_the_configured_ids_checks(
    emulator: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    emulator.dataset.druid_bulks += [
        DruidBulk("B1", results=[{"id": "r1", "userIdentifierType": "object_id"}]),
        DruidBulk(".."),
        DruidBulk("."),
        DruidBulk(""),
        DruidBulk("B\n2"),
        DruidBulk("x" * 300),
    ]
    config = {**mixed_data.config(emulator), "druid_bulk_ids": []}
    config = {k: v for k, v in config.items() if not k.startswith(("fullstory", "sailpoint"))}
    run = tap(config)
    assert run.returncode == 0, run.stderr
    warnings = [
        line for line in run.stderr.splitlines() if "the list names a bulk whose id" in line
    ]
    assert len(warnings) == 5, run.stderr
    assert any("is '..', which is not a job id; skipped" in w for w in warnings)
    assert any("is '.', which is not a job id; skipped" in w for w in warnings)
    assert any("is empty; skipped" in w for w in warnings)
    assert any("contains whitespace or control characters: 'B\\n2'; skipped" in w for w in warnings)
    assert any("is 300 characters long (at most 256); skipped" in w for w in warnings)
    # Only B1 was ever asked about, so no request left with another id.
    asked = {r.job_id for r in emulator.requests if r.endpoint != "druid.list" and r.job_id}
    assert asked == {"B1"}
    assert [r["bulk_id"] for r in run.records("bulk_results")] == ["B1"]
    assert json.dumps(run.final_state).count("B1") >= 1


def test_a_header_value_with_a_line_break_is_never_sent(server: HostileServer) -> None:
    # The config check refuses such a key first; the client refuses it again, on its own.
    key = "fs-key-AAAAAAAAAA\nX-Injected: yes"
    server.route("GET", "/fs/*", lambda r: json_reply(200, {"job": {"status": "COMPLETED"}}))
    vendor = FullstoryVendor(
        {"fullstory_api_key": key, "fullstory_api_url": server.url + "/fs"},
        logging.getLogger("tests.hostile"),
    )
    with pytest.raises(VendorAPIError) as refused:
        vendor.fetch_status(JobRef("fullstory_users", "U1"))
    assert str(refused.value) == (
        "Fullstory GET /v2/users/batch/{job_id} failed: not sent (no HTTP answer): the "
        "Authorization header contains a line break (CR or LF); the request was not sent"
    )
    assert server.requests == []


def test_a_registered_secret_is_masked_in_any_log_line(caplog: pytest.LogCaptureFixture) -> None:
    # Tokens are registered when they arrive; a library logging one is masked too.
    secret = "tok-registered-" + "Q" * 20
    log_masking.install()
    KNOWN_SECRETS.add(secret)
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("sent %s and %s", secret, quote_plus(secret[:15]))
    (record,) = caplog.records
    assert record.getMessage() == "sent *** and ***"
