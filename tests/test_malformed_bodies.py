"""A body that cannot be parsed is a malformed answer about one job, never a crash.

Invalid UTF-8, a lone surrogate escape, nesting deeper than the parser allows, a body not
in its ``Content-Encoding``, an array where an object belongs: on a job's results page or
on its status, each is retried, then one error line names the vendor, the job's real id,
the endpoint and what was wrong. No stack trace; the vendor's other jobs and the other
vendors are extracted, and the run still ends with a STATE. Healed, the next night reads
the job from its last good cursor: every row once.
"""

from __future__ import annotations

import typing as t

import pytest

from emulator import faults
from tests import mixed_data
from tests.test_failure_paths import Nights, details, error_lines

if t.TYPE_CHECKING:
    from emulator.server import VendorEmulator

#: Past msgspec's nesting limit on every Python: 5,000 levels already are on 3.11, but 3.13
#: parses them (its limit follows the C stack), so the test uses far more.
DEEP = b"[" * 100_000 + b"]" * 100_000

#: name -> (body, extra headers, what the error line must say)
BODIES: dict[str, tuple[bytes, dict[str, str], str]] = {
    "invalid-utf8": (b'{"results":[{"id":"\xff\xfe"}]}', {}, "not valid JSON"),
    "lone-surrogate": (b'{"results":[{"id":"\\ud800"}]}', {}, "surrogate escape without its pair"),
    "nesting-past-the-parser": (
        b'{"results":[{"id":"x","properties":{"a":' + DEEP + b"}}]}",
        {},
        "nests deeper than the JSON parser allows",
    ),
    "false-gzip": (b'{"results":[]}', {"Content-Encoding": "gzip"}, "not in its Content-Encoding"),
    "array-for-object": (
        b'[{"id":"x"}]',
        {},
        "answer is not the JSON object the endpoint returns: it starts with '[', not '{'",
    ),
}


def _only_error_about(run: t.Any, job: str) -> str:
    lines = [x for x in error_lines(run) if f" job {job}:" in x and "failed:" in x]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize(
    ("endpoint", "job", "source", "path"),
    [
        ("fullstory.imports", "E1", "fullstory_events", "GET /v2/events/batch/E1/imports"),
        ("fullstory.status", "E1", "fullstory_events", "GET /v2/events/batch/E1"),
        ("druid.results", "B1", "druid", "GET /activityid/v1/user/bulk/B1/results"),
    ],
)
def test_a_body_that_cannot_be_parsed_fails_its_job_alone(  # noqa: PLR0917
    emulator: VendorEmulator,
    tap: t.Any,
    name: str,
    endpoint: str,
    job: str,
    source: str,
    path: str,
) -> None:
    body, headers, said = BODIES[name]
    mixed_data.fill(emulator)
    # Every answer about the job: the retries meet the same body.
    emulator.faults.add(endpoint, faults.status(200, body, headers=headers), job=job)
    nights = Nights(emulator, tap)

    first = nights.run(first=True, returncode=1)  # no stack trace, a STATE at the end
    line = _only_error_about(first, job)
    vendor = "DruID" if source == "druid" else "Fullstory"
    assert f"{source} job {job}: {vendor} {path} failed:" in line, line
    assert said in line, line
    assert "no HTTP answer" not in line
    assert "{job_id}" not in first.stderr  # retry lines name the job too
    assert "{bulk_id}" not in first.stderr
    assert details(first)[job]["failed_attempts"] == 1
    # The vendor's other jobs and the other vendors are extracted.
    assert len(first.records("imported_users")) == 60
    assert first.records("config_import_results")
    assert {r["bulk_id"] for r in first.records("bulk_results")} >= {"B2"}
    assert {j for j, d in details(first).items() if d["last_error"]} == {job}

    emulator.faults.clear()
    nights.run()
    nights.assert_every_row_once()
