"""A short read never settles a job: the glitch fails its job on night 1, night 2 reads on.

Each glitch is a page whose shape cannot continue its list (a repeated or mistyped page
token or ``lastId``, results that are not a list, no ``content``, a list that ends before
its count, a row without its key). Night 1 must fail that job alone, saying what the
vendor sent, before the glitched page's rows are written and without saving a cursor the
page gave; night 2, healed and given no job id, reads the job again from its last good
cursor. Together the two nights hold every row exactly once.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import pytest

from emulator import faults
from tests import mixed_data
from tests.test_failure_paths import Nights, details, error_lines, ledger

if t.TYPE_CHECKING:
    from emulator.server import VendorEmulator


@dataclass
class Glitch:
    """Changes the ``at``-th answer (1-based) about one job; sees every earlier one."""

    at: int
    change: t.Callable[[dict[str, t.Any], list[dict[str, t.Any]]], None]
    seen: list[dict[str, t.Any]] = field(default_factory=list)

    def __call__(self, page: dict[str, t.Any]) -> dict[str, t.Any]:
        self.seen.append(page)
        if len(self.seen) >= self.at:
            self.change(page, self.seen)
        return page


def _set(path: tuple[str, ...], value: t.Any) -> t.Callable[[dict[str, t.Any], list], None]:
    def change(page: dict[str, t.Any], seen: list) -> None:
        del seen
        target = page
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _fs_first_token_again(page: dict[str, t.Any], seen: list[dict[str, t.Any]]) -> None:
    page["next_page_token"] = seen[0]["next_page_token"]


def _druid_first_last_id_again(page: dict[str, t.Any], seen: list[dict[str, t.Any]]) -> None:
    page["content"]["lastId"] = seen[0]["content"]["lastId"]


def _druid_null_id(page: dict[str, t.Any], seen: list) -> None:
    del seen
    page["content"]["results"][1]["id"] = None


def _fs_list_ends(page: dict[str, t.Any], seen: list) -> None:
    del seen
    page.pop("next_page_token")


#: name -> (endpoint, job, glitch on its answer, what the job's error must say)
GLITCHES: dict[str, tuple[str, str, t.Callable[[], Glitch], str]] = {
    "fullstory-token-repeated": (
        "fullstory.imports",
        "U1",
        lambda: Glitch(3, _fs_first_token_again),
        "repeats the token of an earlier page",
    ),
    "fullstory-token-a-number": (
        "fullstory.imports",
        "U1",
        lambda: Glitch(2, _set(("next_page_token",), 3)),
        "next_page_token is 3, not a string",
    ),
    "fullstory-results-an-object": (
        "fullstory.imports",
        "U1",
        lambda: Glitch(2, _set(("results",), {"0": {"id": "x"}})),
        'results is {"0":{"id":"x"}}, not a list',
    ),
    "fullstory-list-ends-before-total_records": (
        "fullstory.imports",
        "U1",
        lambda: Glitch(2, _fs_list_ends),
        "list ended after 20 of 60 rows (total_records 60)",
    ),
    "druid-last-id-does-not-advance": (
        "druid.results",
        "B1",
        lambda: Glitch(2, _druid_first_last_id_again),
        "does not advance",
    ),
    "druid-last-id-a-number": (
        "druid.results",
        "B1",
        lambda: Glitch(2, _set(("content", "lastId"), 12345)),
        "content.lastId is 12345, not a string",
    ),
    "druid-results-an-object": (
        "druid.results",
        "B1",
        lambda: Glitch(2, _set(("content", "results"), {"id": "x"})),
        'content.results is {"id":"x"}, not a list',
    ),
    "druid-content-null": (
        "druid.results",
        "B1",
        lambda: Glitch(2, _set(("content",), None)),
        "lacks its 'content' envelope",
    ),
    "druid-row-without-its-id": (
        "druid.results",
        "B1",
        lambda: Glitch(2, _druid_null_id),
        "malformed row: row 1 of its page: field id is null",
    ),
}


@pytest.mark.parametrize("name", list(GLITCHES))
def test_a_glitch_fails_its_job_and_the_next_night_reads_on(
    emulator: VendorEmulator, tap: t.Any, name: str
) -> None:
    endpoint, job, glitch, said = GLITCHES[name]
    mixed_data.fill(emulator)
    emulator.faults.add(endpoint, faults.rewrite(glitch()), job=job)
    nights = Nights(emulator, tap)

    first = nights.run(first=True, returncode=1)
    (line,) = [x for x in error_lines(first) if f" job {job}:" in x]
    assert said in line, line
    assert "{job_id}" not in line
    assert "{bulk_id}" not in line
    record = details(first)[job]
    assert said in record["last_error"]
    assert record["failed_attempts"] == 1
    # The other jobs are extracted; the glitched one is not settled and keeps only a
    # cursor that a page it trusted gave.
    assert {j for j, d in details(first).items() if d["last_error"]} == {job}
    entry = ledger(first.final_state)[job]
    assert "final" not in entry
    for cursor in entry.get("cursors", {}).values():
        assert all(isinstance(v, (str, int)) for v in cursor.values())
        if "last" in cursor:
            assert isinstance(cursor["last"], str)
            assert cursor["last"] != "12345"

    emulator.faults.clear()
    second = nights.run()
    assert details(second)[job]["last_error"] is None
    nights.assert_every_row_once()


def test_a_cursor_refused_on_resume_fails_its_job_until_the_age_limit_gives_it_up(
    emulator: VendorEmulator, tap: t.Any
) -> None:
    mixed_data.fill(emulator)
    # Night 1: B1's third page keeps failing, so B1 keeps the cursor of its second.
    emulator.faults.add("druid.results", faults.status(500), job="B1", on={3, 4})
    nights = Nights(emulator, tap)
    first = nights.run(first=True, returncode=1)
    cursor = ledger(first.final_state)["B1"]["cursors"]["bulk_results"]
    assert isinstance(cursor["last"], str)

    # Night 2: DruID refuses that cursor (400). B1 fails alone; a new bulk is extracted.
    emulator.faults.clear()
    emulator.faults.add("druid.results", faults.status(400), job="B1")
    emulator.dataset.druid_bulks.append(type(emulator.dataset.druid_bulks[0])("B3"))
    second = nights.run(returncode=1)
    (line,) = [x for x in error_lines(second) if " job B1:" in x and "failed:" in x]
    assert "HTTP 400" in line
    assert not [x for x in error_lines(second) if "its other jobs are left" in x]
    assert details(second)["B1"]["failed_attempts"] == 2
    assert "B3" in details(second)

    # Night 3: past job_max_pending_days, the unreadable bulk is given up, not asked again.
    third = nights.run(job_max_pending_days=7)
    assert details(third)["B1"]["given_up"] is True
    assert "druid.results" not in nights.requests_about("B1")
