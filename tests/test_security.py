"""Secrets and tokens never show, and credentials only ever go to their configured host.

- Every log line, record and STATE of a run (a full DEBUG run with tokens renewed mid-run,
  failing runs of every kind, ``--about``, ``--discover``) is searched for each configured
  secret (Fullstory key, DruID and SailPoint client secrets) and each token the emulator
  issued: none appears, and no error or warning line mentions ``Authorization``.
- A vendor error body that echoes a credential is masked before it is shown.
- Plain ``http://`` is refused for every URL setting unless the host is loopback.
- A redirect to another host is not followed: the other host never sees the request (so
  neither an ``Authorization`` header nor a token request's ``client_secret``), and the run
  ends with one line saying why. A redirect within the same host is followed.
"""

from __future__ import annotations

import typing as t

import pytest
import requests
from singer_sdk.exceptions import ConfigValidationError

from emulator import faults
from tap_batchimport.tap import VENDOR_TYPES, TapBatchImport
from tests import mixed_data

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pytest_httpserver import HTTPServer

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

DEBUG = {"TAP_BATCHIMPORT_LOGLEVEL": "DEBUG"}
URL_SETTINGS = ("fullstory_api_url", "druid_api_url", "druid_auth_url", "sailpoint_api_url")


@pytest.fixture
def emu(emulator: VendorEmulator) -> VendorEmulator:
    mixed_data.fill(emulator)
    return emulator


def issued_tokens(emulator: VendorEmulator) -> set[str]:
    """Every access token the emulator issued: its token stores, and every bearer it saw."""
    tokens = set(emulator.druid._tokens) | set(emulator.sailpoint._tokens)
    for request in emulator.requests:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            tokens.add(token.strip())
    return tokens


def assert_nothing_leaks(emulator: VendorEmulator, outputs: Iterable[str]) -> None:
    """No secret, token or ``Authorization`` header in any output; none in errors at all."""
    secrets = {*mixed_data.secrets_of(emulator).values(), *issued_tokens(emulator)}
    for text in outputs:
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}... leaked"
        for line in text.splitlines():
            if "| ERROR" in line or "| WARNING" in line:
                assert "authorization" not in line.lower(), line
            assert "Bearer " not in line, line


def test_a_full_debug_run_with_renewed_tokens_shows_no_secret(
    emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    emu.faults.add("druid.results", faults.expire_token(), on={3})
    emu.faults.add("sailpoint.download", faults.expire_token(), on={2})
    emu.faults.add("fullstory.imports", faults.status(503), on={2})
    run = tap(mixed_data.config(emu), env=DEBUG)
    assert run.returncode == 0, run.stderr
    assert "| DEBUG" in run.stderr  # the level took effect
    assert mixed_data.emitted_once(run.messages) == mixed_data.expected(emu)
    assert len(issued_tokens(emu)) == 4  # two per OAuth vendor
    assert_nothing_leaks(emu, [run.stdout, run.stderr])
    # STATE holds job ids and cursors only.
    for state in run.states:
        assert "token" not in str(state).replace("page_token", "")


def _forbidden(emu: VendorEmulator) -> dict[str, t.Any]:
    emu.dataset.sailpoint_forbidden = True
    return {}


def _second_401(emu: VendorEmulator) -> dict[str, t.Any]:
    emu.faults.add("sailpoint.download", faults.expire_token())
    return {}


def _exhausted(emu: VendorEmulator) -> dict[str, t.Any]:
    emu.faults.add("druid.results", faults.status(500))
    return {"retry_max_attempts": 2}


#: Ways a run fails, each returning the config overrides it needs.
FAILURES: dict[str, Callable[[VendorEmulator], dict[str, t.Any]]] = {
    "fullstory-wrong-key": lambda _: {"fullstory_api_key": "wrong-" + "k" * 20},
    "druid-wrong-secret": lambda _: {"druid_client_secret": "wrong-" + "s" * 20},
    "sailpoint-forbidden": _forbidden,
    "sailpoint-second-401": _second_401,
    "druid-retries-exhausted": _exhausted,
}


@pytest.mark.parametrize("failure", FAILURES)
def test_failing_runs_show_no_secret(
    failure: str, emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    overrides = FAILURES[failure](emu)
    run = tap(mixed_data.config(emu, **overrides), env=DEBUG)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    # One line for a vendor that stops, one per job for errors that stop a job only.
    assert [line for line in run.stderr.splitlines() if " failed: " in line]
    assert_nothing_leaks(emu, [run.stdout, run.stderr])
    for wrong in overrides.values():
        if isinstance(wrong, str):
            assert wrong not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "args", [["--about"], ["--about", "--format", "json"], ["--discover"]], ids=" ".join
)
def test_about_and_discover_show_no_secret(
    args: list[str], emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    run = tap(mixed_data.config(emu), extra_args=args, env=DEBUG)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
    assert_nothing_leaks(emu, [run.stdout, run.stderr])
    assert emu.requests == []  # neither needs the vendors


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("fullstory.status", lambda emu: {"message": f"bad Authorization: Basic {key(emu)}"}),
        ("druid.token", lambda emu: {"error": f"client_secret {emu.dataset.druid_client_secret}"}),
        (
            "sailpoint.download",
            lambda emu: {"message": f"echo {emu.dataset.sailpoint_client_secret}"},
        ),
    ],
    ids=["fullstory-key-in-400", "druid-secret-in-400", "sailpoint-secret-in-403"],
)
def test_a_credential_echoed_in_an_error_body_is_masked(
    endpoint: str,
    body: Callable[[VendorEmulator], dict[str, str]],
    emu: VendorEmulator,
    tap: Callable[..., TapRun],
) -> None:
    code = 403 if endpoint.startswith("sailpoint") else 400
    emu.faults.add(endpoint, faults.status(code, body=body(emu)))
    run = tap(mixed_data.config(emu))
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if " failed: " in line]
    assert lines
    for line in lines:
        assert f"HTTP {code}" in line
        # The vendor's words are kept (here they name the header), the credential masked.
        assert "***" in line
    shown = run.stderr.replace("bad Authorization: ***", "")
    assert_nothing_leaks(emu, [run.stdout, shown])


def key(emu: VendorEmulator) -> str:
    return emu.dataset.fullstory_api_key


# Clear text: http:// only for loopback hosts.


@pytest.mark.parametrize("setting", URL_SETTINGS)
@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com",
        "http://10.0.0.5:8080/prefix",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
        "http://[2001:db8::1]/x",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(setting: str, url: str) -> None:
    config = {**mixed_data.config(_Offline()), setting: url}
    with pytest.raises(ConfigValidationError) as refused:
        TapBatchImport(config=config, parse_env_config=False)
    errors = [e for e in refused.value.errors if setting in e]
    assert errors, refused.value.errors
    assert "plain http://" in errors[0]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://127.8.9.10/x", "http://localhost:9", "http://[::1]:9"]
)
def test_plain_http_to_loopback_is_accepted(url: str) -> None:
    config = {**mixed_data.config(_Offline()), **dict.fromkeys(URL_SETTINGS, url)}
    assert [e for vendor in VENDOR_TYPES for e in vendor.config_errors(config)] == []


def test_the_cli_refuses_before_any_request(
    emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    run = tap(mixed_data.config(emu, druid_auth_url="http://auth.example.com"))
    assert run.returncode == 1
    assert "druid_auth_url uses plain http:// for a non-loopback host" in run.stderr
    assert "Traceback" not in run.stderr
    assert emu.requests == []


# Redirects.


@pytest.mark.parametrize(
    ("endpoint", "code", "template"),
    [
        ("fullstory.status", 302, "Fullstory GET /v2/users/batch/{job_id}"),
        ("druid.token", 307, "DruID POST /oauth2/token"),  # would resend client_secret
        ("sailpoint.download", 308, "SailPoint GET /v2025/sp-config/import/{job_id}/download"),
    ],
)
def test_a_redirect_to_another_host_is_refused(
    endpoint: str,
    code: int,
    template: str,
    *,
    emu: VendorEmulator,
    tap: Callable[..., TapRun],
    httpserver: HTTPServer,
) -> None:
    # httpserver listens on localhost, another host and port than the emulator's 127.0.0.1.
    elsewhere = httpserver.url_for("/collect?next=page")
    emu.faults.add(endpoint, faults.redirect(elsewhere, code))
    # One request at a time, so "not retried" means exactly one request.
    run = tap(mixed_data.config(emu, max_concurrent_requests=1))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if " failed: " in line]
    host = elsewhere.split("/collect")[0]
    assert f"{template} failed: HTTP {code}: redirected to another host ({host})" in line
    assert "next=page" not in line  # a Location's query may carry tokens
    assert httpserver.log == []  # the other host never saw a request, so no credential
    assert emu.count(endpoint) == 1  # and it was not retried
    assert_nothing_leaks(emu, [run.stdout, run.stderr])


def test_a_redirect_to_the_same_host_under_another_name_is_refused(
    emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    # localhost and 127.0.0.1 are one machine but two origins: credentials stay put.
    other_name = emu.fullstory_url.replace("127.0.0.1", "localhost")
    emu.faults.add("fullstory.status", faults.redirect(other_name + "/v2/users/batch/U1"), on={1})
    run = tap(mixed_data.config(emu))
    assert run.returncode == 1
    assert "redirected to another host (http://localhost:" in run.stderr
    assert [r for r in emu.requests if r.headers.get("host", "").startswith("localhost")] == []


def test_a_redirect_within_the_same_host_is_followed(
    emu: VendorEmulator, tap: Callable[..., TapRun]
) -> None:
    emu.faults.add(
        "sailpoint.status",
        faults.redirect(emu.sailpoint_url + "/v2025/sp-config/import/S1"),
        on={1},
    )
    emu.faults.add("fullstory.imports", faults.redirect("?again=1", 307), on={1})
    run = tap(mixed_data.config(emu))
    assert run.returncode == 0, run.stderr
    assert mixed_data.emitted_once(run.messages) == mixed_data.expected(emu)
    followed = [r for r in emu.requests if r.query.get("again") == "1"]
    assert [r.status for r in followed] == [200]  # it still carried the API key


def test_requests_alone_strips_authorization_but_resends_a_307_body(
    emu: VendorEmulator, httpserver: HTTPServer
) -> None:
    # Why redirects across hosts are refused outright rather than left to `requests`.
    httpserver.expect_request("/token", method="POST").respond_with_json({"ok": True})
    emu.faults.add("druid.token", faults.redirect(httpserver.url_for("/token"), 307))
    answer = requests.post(
        emu.druid_auth_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "client_secret": "s3cr3t-in-body"},
        headers={"Authorization": "Bearer t0ken-in-header"},
        timeout=5,
    )
    assert answer.json() == {"ok": True}
    ((seen, _),) = httpserver.log
    assert "Authorization" not in seen.headers  # stripped on the host change...
    assert b"s3cr3t-in-body" in seen.get_data()  # ...but the secret in the body went along


class _Offline:
    """Stands in for the emulator where only its URLs are needed (nothing is requested)."""

    class dataset:  # noqa: N801
        fullstory_api_key = "k" * 8
        druid_client_id = "i"
        druid_client_secret = "s" * 8
        sailpoint_client_id = "i"
        sailpoint_client_secret = "s" * 8

    fullstory_url = druid_api_url = druid_auth_url = sailpoint_url = "https://example.com"
