"""Every row of the bad-input table (docs/failures-and-security.md): a clear error or a safe behaviour.

Config errors are checked in-process (the CLI reports the same ``ConfigValidationError``
one line per problem, see the ``cli-*`` rows) and must come before any request.
Behaviours are checked through the CLI against the emulator. A last test keeps the
table in the docs and the cases here the same.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_batchimport.state_file import state_file_problem
from tap_batchimport.tap import TapBatchImport
from tests import mixed_data

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from emulator.server import VendorEmulator
    from tests.conftest import TapRun

ROOT = Path(__file__).resolve().parent.parent
#: The bad-input table lives in docs/failures-and-security.md, section "Bad input".
DOC = ROOT / "docs" / "failures-and-security.md"
DROP = object()  # an override that removes the setting


@dataclass(frozen=True)
class ConfigError:
    """A config value the tap refuses before any request, with the text its error holds."""

    id: str
    overrides: dict[str, t.Any]
    error: str


CONFIG_ERRORS = [
    ConfigError("page-size-zero", {"druid_page_size": 0}, "0 is less than the minimum of 1"),
    ConfigError(
        "page-size-too-big", {"druid_page_size": 1001}, "1001 is greater than the maximum of 1000"
    ),
    ConfigError("page-size-string", {"druid_page_size": "100"}, "'100' is not of type 'integer'"),
    ConfigError(
        "timeout-zero",
        {"request_timeout_seconds": 0},
        "0 is less than the minimum of 1 in config['request_timeout_seconds']",
    ),
    ConfigError(
        "timeout-huge",
        {"request_timeout_seconds": 10**12},
        "is greater than the maximum of 3600 in config['request_timeout_seconds']",
    ),
    ConfigError("timeout-fraction", {"request_timeout_seconds": 1.5}, "is not of type 'integer'"),
    ConfigError("timeout-boolean", {"request_timeout_seconds": True}, "is not of type 'integer'"),
    ConfigError(
        "attempts-zero", {"retry_max_attempts": 0}, "0 is less than the minimum of 1 in config"
    ),
    ConfigError(
        "attempts-too-many", {"retry_max_attempts": 51}, "51 is greater than the maximum of 50"
    ),
    ConfigError(
        "wait-negative", {"retry_max_wait_seconds": -1}, "-1 is less than the minimum of 0"
    ),
    ConfigError(
        "wait-huge",
        {"retry_max_wait_seconds": 10**9},
        "is greater than the maximum of 86400 in config['retry_max_wait_seconds']",
    ),
    ConfigError(
        "job-wait-negative", {"job_wait_timeout_seconds": -1}, "-1 is less than the minimum of 0"
    ),
    ConfigError("boolean-as-text", {"druid_failed_only": "true"}, "is not of type 'boolean'"),
    # The schema's message would quote the value: a secret is masked even then.
    ConfigError("secret-as-number", {"fullstory_api_key": 12345}, "*** is not of type 'string'"),
    ConfigError(
        "ids-as-text", {"druid_bulk_ids": "B1"}, "'B1' is not of type 'array', 'null' in config"
    ),
    ConfigError("id-as-number", {"druid_bulk_ids": [123]}, "123 is not of type 'string'"),
    ConfigError("id-null", {"druid_bulk_ids": [None]}, "None is not of type 'string'"),
    ConfigError(
        "id-empty", {"sailpoint_import_job_ids": ["S1", ""]}, "sailpoint_import_job_ids[1] is empty"
    ),
    ConfigError("id-blank", {"druid_bulk_ids": ["   "]}, "druid_bulk_ids[0] is empty"),
    ConfigError(
        "id-padded",
        {"fullstory_user_import_job_ids": [" U1"]},
        "fullstory_user_import_job_ids[0] contains whitespace or control characters",
    ),
    ConfigError("id-control-char", {"druid_bulk_ids": ["B\n1"]}, "contains whitespace or control"),
    ConfigError("id-dot", {"druid_bulk_ids": ["."]}, "druid_bulk_ids[0] is '.', which is not"),
    ConfigError(
        "id-dot-dot",
        {"fullstory_event_import_job_ids": [".."]},
        "fullstory_event_import_job_ids[0] is '..', which is not a job id",
    ),
    ConfigError("id-huge", {"druid_bulk_ids": ["x" * 257]}, "is 257 characters long (at most 256)"),
    ConfigError(
        "secret-missing",
        {"druid_client_secret": DROP},
        "DruID: druid_client_secret is required because druid_bulk_ids is set",
    ),
    ConfigError(
        "secret-blank",
        {"sailpoint_client_secret": "  "},
        "SailPoint: sailpoint_client_secret is required because sailpoint_import_job_ids is set",
    ),
    ConfigError(
        "ids-without-credentials",
        {"fullstory_api_key": DROP},
        "Fullstory: fullstory_api_key is required because fullstory_user_import_job_ids, "
        "fullstory_event_import_job_ids is set",
    ),
    ConfigError(
        "id-without-secret",
        {"druid_client_secret": DROP, "druid_bulk_ids": DROP},
        "DruID: druid_client_secret is required because druid_api_url is set",
    ),
    ConfigError(
        "url-not-a-url",
        {"druid_api_url": "graph.example.com"},
        "druid_api_url must be an http(s) URL with a host, got 'graph.example.com'",
    ),
    ConfigError("url-ftp", {"druid_auth_url": "ftp://x"}, "druid_auth_url must be an http(s) URL"),
    ConfigError("url-no-host", {"fullstory_api_url": "https://"}, "must be an http(s) URL with"),
    ConfigError(
        "url-with-credentials",
        {"sailpoint_api_url": "https://user:pw@acme.api.identitynow.com"},
        "sailpoint_api_url must not embed credentials",
    ),
    ConfigError(
        "url-with-query",
        {"fullstory_api_url": "https://api.fullstory.com/?key=1"},
        "fullstory_api_url must not have a query string or fragment",
    ),
    ConfigError(
        "url-bad-port",
        {"druid_api_url": "http://127.0.0.1:99999/druid"},
        "druid_api_url is not a valid URL",
    ),
    ConfigError(
        "url-plain-http-remote",
        {"sailpoint_api_url": "http://acme.api.identitynow.com"},
        "sailpoint_api_url uses plain http:// for a non-loopback host",
    ),
    ConfigError(
        "api-version-v3",
        {"sailpoint_api_version": "v3"},
        "'v3' is not one of ['v1', 'beta', 'v2024', 'v2025', 'v2026']",
    ),
    ConfigError(
        "api-version-case",
        {"sailpoint_api_version": "V2025"},
        "'V2025' is not one of ['v1', 'beta'",
    ),
    ConfigError("api-version-null", {"sailpoint_api_version": None}, "None is not one of"),
]


def _config(emu: VendorEmulator, overrides: dict[str, t.Any]) -> dict[str, t.Any]:
    config = {**mixed_data.config(emu), **overrides}
    return {k: v for k, v in config.items() if v is not DROP}


@pytest.mark.parametrize("case", CONFIG_ERRORS, ids=[c.id for c in CONFIG_ERRORS])
def test_config_errors(case: ConfigError, emulator: VendorEmulator) -> None:
    with pytest.raises(ConfigValidationError) as refused:
        TapBatchImport(config=_config(emulator, case.overrides))
    assert any(case.error in error for error in refused.value.errors), refused.value.errors
    assert "12345" not in str(refused.value.errors)
    assert emulator.requests == []


# Behaviours, through the CLI.


@dataclass(frozen=True)
class Behaviour:
    """A doubtful input the tap accepts, and what it then does."""

    id: str
    overrides: dict[str, t.Any]
    check: Callable[[TapRun, VendorEmulator], None]
    extra_args: tuple[str, ...] = field(default=())


def _complete(run: TapRun, emu: VendorEmulator) -> None:
    assert run.returncode == 0, run.stderr
    assert mixed_data.emitted_once(run.messages) == mixed_data.expected(emu)


def _duplicates(run: TapRun, emu: VendorEmulator) -> None:
    _complete(run, emu)
    assert "druid_bulk_ids lists 2 duplicate job id(s); each job is extracted once" in run.stderr
    assert emu.count("druid.status", job_id="B1") == 1


def _one_segment(*ids: str) -> Callable[[TapRun, VendorEmulator], None]:
    def check(run: TapRun, emu: VendorEmulator) -> None:
        assert run.returncode == 0, run.stderr
        details = {r["job_id"]: r["status"] for r in run.records("job_details")}
        # Each id is one path segment: the vendor looks up that id and nothing else.
        for job_id in ids:
            assert details[job_id] == "NOT_FOUND"
            (call,) = [r for r in emu.requests if r.endpoint == "druid.status"]
            assert call.job_id == job_id
            assert call.path == "/druid/activityid/v1/user/bulk/" + quote(job_id, safe="")
        assert emu.count("druid.results") == 0

    return check


def _longest_id(run: TapRun, emu: VendorEmulator) -> None:
    assert run.returncode == 0, run.stderr
    (detail,) = [r for r in run.records("job_details") if r["source"] == "druid"]
    assert (len(detail["job_id"]), detail["status"]) == (256, "NOT_FOUND")


def _typo_warned(run: TapRun, emu: VendorEmulator) -> None:
    _complete(run, emu)
    assert "Unknown setting 'druid_page_sise' is ignored (did you mean 'druid_page_size'?)" in (
        run.stderr
    )
    assert {r.query["limit"] for r in emu.requests if r.endpoint == "druid.results"} == {"100"}


def _unknown_warned(run: TapRun, emu: VendorEmulator) -> None:
    _complete(run, emu)
    assert "Unknown setting 'comment' is ignored\n" in run.stderr
    assert "a note, not a secret" not in run.stderr  # only names are logged


BEHAVIOURS = [
    Behaviour("ids-duplicated", {"druid_bulk_ids": ["B1", "B2", "B1", "B1"]}, _duplicates),
    Behaviour("id-with-slash-and-dots", {"druid_bulk_ids": ["../B1"]}, _one_segment("../B1")),
    Behaviour("id-with-query-chars", {"druid_bulk_ids": ["B1?x=1#f"]}, _one_segment("B1?x=1#f")),
    Behaviour("id-percent-encoded", {"druid_bulk_ids": ["B%31"]}, _one_segment("B%31")),
    Behaviour("id-unicode", {"druid_bulk_ids": ["Bü✓"]}, _one_segment("Bü✓")),
    Behaviour("id-longest", {"druid_bulk_ids": ["x" * 256]}, _longest_id),
    Behaviour(
        "timings-null",
        dict.fromkeys(
            (
                "request_timeout_seconds",
                "retry_max_attempts",
                "retry_max_wait_seconds",
                "job_wait_timeout_seconds",
            )
        ),
        _complete,
    ),
    Behaviour("url-padded", {"druid_api_url": "  {druid}  "}, _complete),
    Behaviour("key-typo", {"druid_page_sise": 7, "druid_page_size": DROP}, _typo_warned),
    Behaviour("key-unknown", {"comment": "a note, not a secret"}, _unknown_warned),
]


@pytest.mark.parametrize("case", BEHAVIOURS, ids=[c.id for c in BEHAVIOURS])
def test_behaviours(case: Behaviour, emulator: VendorEmulator, tap: Callable[..., TapRun]) -> None:
    mixed_data.fill(emulator)
    overrides = {
        k: v.replace("{druid}", emulator.druid_api_url) if isinstance(v, str) else v
        for k, v in case.overrides.items()
    }
    if "druid_bulk_ids" in overrides and overrides["druid_bulk_ids"][0] != "B1":
        # Only DruID, so the path checks see nothing else.
        config = {k: v for k, v in _config(emulator, overrides).items() if k.startswith("druid")}
    else:
        config = _config(emulator, overrides)
    case.check(tap(config, extra_args=case.extra_args), emulator)


# Unreadable files and the CLI's own reporting.


@pytest.mark.parametrize(
    ("case", "content", "error"),
    [
        ("cli-config-missing", None, "Cannot read --config: File at"),
        ("cli-config-not-json", "{oops", "Cannot read --config: a config file is not valid JSON"),
        ("cli-config-not-object", "[1, 2]", "Cannot read --config: a config file must hold one"),
        ("cli-state-not-json", "{oops", "Cannot use --state: not valid JSON"),
        ("cli-state-not-object", "[]", "Cannot use --state: the state must be a JSON object"),
        (
            "cli-state-bad-bookmarks",
            '{"bookmarks": {"bulk_results": []}}',
            "Cannot use --state: 'bookmarks' must map stream names to objects",
        ),
        ("cli-config-error", "{}", "druid_client_secret is required because druid_bulk_ids"),
    ],
)
def test_unreadable_files_and_config_errors_are_one_clear_line(
    case: str, content: str | None, error: str, tmp_path: Path, tap: Callable[..., TapRun]
) -> None:
    target = tmp_path / "input.json"
    if content is not None:
        target.write_text(content)
    if case.startswith("cli-state"):
        args = ["--state", str(target)]
        config: dict[str, t.Any] = {}
    elif case == "cli-config-error":
        args = []
        config = {"druid_api_url": "https://graph.example.com", "druid_bulk_ids": ["B1"]}
    else:
        args = ["--config", str(target)]
        config = {}
    run = tap(config, extra_args=args)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert error in run.stderr, run.stderr
    assert run.stdout == ""


def test_an_empty_state_file_is_a_first_run(
    emulator: VendorEmulator, tap: Callable[..., TapRun], tmp_path: Path
) -> None:
    mixed_data.fill(emulator)
    empty = tmp_path / "state.json"
    empty.write_text("")
    run = tap(mixed_data.config(emulator), extra_args=["--state", str(empty)])
    _complete(run, emulator)


def test_the_docs_table_lists_every_case() -> None:
    # Rows of the bad-input table start with the case id in backticks.
    text = DOC.read_text()
    section = text[text.index("### Bad input") :]
    section = section[: section.index("\n### ", 1)] if "\n### " in section[1:] else section
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))
    cases = (
        {c.id for c in CONFIG_ERRORS}
        | {c.id for c in BEHAVIOURS}
        | {
            "cli-config-missing",
            "cli-config-not-json",
            "cli-config-not-object",
            "cli-state-not-json",
            "cli-state-not-object",
            "cli-state-bad-bookmarks",
            "cli-config-error",
            "cli-state-empty",
        }
    )
    assert documented == cases, (documented - cases, cases - documented)


def test_state_written_by_a_run_reads_back() -> None:
    # The state file check accepts what the tap writes.
    state = {"bookmarks": {"bulk_results": {"done": ["B1"], "progress": {"B2": {"last": "x"}}}}}
    assert state_file_problem(json.dumps(state)) is None
    assert state_file_problem("") is None
