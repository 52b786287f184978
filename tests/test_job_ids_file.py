"""The job ids file, the run's waiting deadline and poller, and the STATE cadence."""

from __future__ import annotations

import re

import pytest

from tap_batchimport.druid.vendor import DruidVendor
from tap_batchimport.fullstory.vendor import FullstoryVendor
from tap_batchimport.job_ids_file import JobIdsFileError, read_job_ids_file
from tap_batchimport.jobs import JobRef
from tap_batchimport.sailpoint.vendor import SailpointVendor
from tap_batchimport.state_cadence import STATE_AMORTISATION, StateCadence
from tap_batchimport.waiting import POLL_FIRST_SECONDS, POLL_MAX_SECONDS, Deadline, Poller

SOURCES = (*FullstoryVendor.sources(), *DruidVendor.sources(), *SailpointVendor.sources())


def test_the_four_sources_of_job_details():
    assert sorted(SOURCES) == ["druid", "fullstory_events", "fullstory_users", "sailpoint"]


# -- job_ids_file ------------------------------------------------------------------------------


def test_a_valid_file_with_comments_blank_lines_and_whitespace(tmp_path):
    path = tmp_path / "job_ids.txt"
    path.write_text(
        "# appended by the import step\n"
        "\n"
        "fullstory_users,U-1\n"
        "  fullstory_events , E-1  \n"
        "\t# an indented comment\n"
        "druid,0190c3c4-0001-7000-8000-000000000001\r\n"
        "   \n"
        "sailpoint,2c9180835d2e5168015d32f890ca1581",  # no final newline
        encoding="utf-8",
    )
    assert read_job_ids_file(str(path), SOURCES) == [
        JobRef("fullstory_users", "U-1"),
        JobRef("fullstory_events", "E-1"),
        JobRef("druid", "0190c3c4-0001-7000-8000-000000000001"),
        JobRef("sailpoint", "2c9180835d2e5168015d32f890ca1581"),
    ]


def test_duplicates_are_read_once_in_first_seen_order(tmp_path):
    path = tmp_path / "job_ids.txt"
    path.write_text(
        "druid,B2\ndruid,B1\nfullstory_users,B1\ndruid,B2\n druid , B1 \n", encoding="utf-8"
    )
    assert read_job_ids_file(str(path), SOURCES) == [
        JobRef("druid", "B2"),
        JobRef("druid", "B1"),
        JobRef("fullstory_users", "B1"),  # the same id of another source is another job
    ]


def test_an_empty_file_names_no_jobs(tmp_path):
    path = tmp_path / "job_ids.txt"
    path.write_text("# nothing yet\n\n", encoding="utf-8")
    assert read_job_ids_file(str(path), SOURCES) == []


def test_a_missing_file_is_none(tmp_path):
    assert read_job_ids_file(str(tmp_path / "not-written-yet.txt"), SOURCES) is None


def test_the_path_may_start_with_a_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "ids.txt").write_text("sailpoint,S-1\n", encoding="utf-8")
    assert read_job_ids_file("~/ids.txt", SOURCES) == [JobRef("sailpoint", "S-1")]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("fullstory_users", "expected 'source,job_id'"),
        ("fullstory_users U-1", "expected 'source,job_id'"),
        (",U-1", "expected 'source,job_id'"),
        ("druid,B-1,extra", "expected 'source,job_id'"),
        ("hubspot,123", "unknown source 'hubspot'"),
        ("Druid,B-1", "unknown source 'Druid'"),
        ("druid,", "is empty"),
        ("druid,   ", "is empty"),
        ("druid,B 1", "whitespace"),
        ("druid,..", "not a job id"),
        ("druid,.", "not a job id"),
        ("druid," + "x" * 257, "257 characters long"),
    ],
)
def test_an_unusable_line_is_an_error_naming_file_and_line(tmp_path, line, says):
    path = tmp_path / "job_ids.txt"
    path.write_text(f"# header\n\nsailpoint,S-1\n{line}\ndruid,B-9\n", encoding="utf-8")
    with pytest.raises(JobIdsFileError) as raised:
        read_job_ids_file(str(path), SOURCES)
    message = str(raised.value)
    assert f"job_ids_file {path} line 4" in message
    assert says in message
    assert "[0]" not in message  # the setting-style position is replaced by the line


def test_an_unknown_source_error_lists_the_known_ones(tmp_path):
    path = tmp_path / "job_ids.txt"
    path.write_text("users,U-1\n", encoding="utf-8")
    with pytest.raises(JobIdsFileError, match="line 1") as raised:
        read_job_ids_file(str(path), SOURCES)
    for source in SOURCES:
        assert source in str(raised.value)


def test_the_first_bad_line_is_reported(tmp_path):
    path = tmp_path / "job_ids.txt"
    path.write_text("druid,B-1\nnope\nalso nope\n", encoding="utf-8")
    with pytest.raises(JobIdsFileError, match=re.escape(f"{path} line 2:")):
        read_job_ids_file(str(path), SOURCES)


def test_a_file_that_cannot_be_read_is_an_error_naming_it(tmp_path):
    not_text = tmp_path / "binary.txt"
    not_text.write_bytes(b"druid,\xff\xfe\n")
    with pytest.raises(
        JobIdsFileError, match=re.escape(f"job_ids_file {not_text}: cannot be read")
    ):
        read_job_ids_file(str(not_text), SOURCES)
    with pytest.raises(JobIdsFileError, match="cannot be read"):
        read_job_ids_file(str(tmp_path), SOURCES)  # a directory


def test_job_ids_file_error_is_a_value_error():
    assert issubclass(JobIdsFileError, ValueError)


# -- Deadline and Poller -----------------------------------------------------------------------


class FakeClock:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds


def test_deadline_counts_down_and_never_below_zero():
    clock = FakeClock()
    deadline = Deadline(10, clock=clock)
    assert deadline.seconds == 10
    assert deadline.remaining() == 10
    clock.now += 3.5
    assert deadline.remaining() == 6.5
    clock.now += 100
    assert deadline.remaining() == 0


def test_a_zero_deadline_never_sleeps():
    clock = FakeClock()
    poller = Poller(Deadline(0, clock=clock), sleep=clock.sleep)
    assert poller.sleep_before_next_poll() is False
    assert clock.slept == []


def test_poller_doubles_its_interval_up_to_the_maximum_and_stops_at_the_deadline():
    clock = FakeClock()
    poller = Poller(Deadline(100, clock=clock), sleep=clock.sleep)
    polls = 0
    while poller.sleep_before_next_poll():
        polls += 1
        assert polls < 50
    assert POLL_FIRST_SECONDS == 1
    assert POLL_MAX_SECONDS == 30
    assert clock.slept == [1, 2, 4, 8, 16, 30, 30, 9]  # the last sleep ends at the deadline
    assert sum(clock.slept) == 100
    assert poller.sleep_before_next_poll() is False
    assert len(clock.slept) == 8


def test_time_spent_elsewhere_counts_against_the_deadline():
    clock = FakeClock()
    poller = Poller(Deadline(10, clock=clock), sleep=clock.sleep)
    assert poller.sleep_before_next_poll()
    clock.now += 8.5  # a poll request, other jobs' pages...
    assert poller.sleep_before_next_poll()
    assert clock.slept == [1, 0.5]
    assert poller.sleep_before_next_poll() is False


def test_one_deadline_is_shared_by_every_poller_of_the_run():
    clock = FakeClock()
    deadline = Deadline(20, clock=clock)
    pollers = [Poller(deadline, sleep=clock.sleep) for _ in range(3)]  # three vendors, say
    rounds = 0
    while any([p.sleep_before_next_poll() for p in pollers]):  # noqa: C419 (poll every one)
        rounds += 1
        assert rounds < 50
    # Three pollers waited 20 s in all, not 20 s each.
    assert sum(clock.slept) == 20
    assert clock.now == 1020
    # A new poller of the same run starts at the first interval but has no time left.
    assert Poller(deadline, sleep=clock.sleep).sleep_before_next_poll() is False


def test_each_poller_has_its_own_interval():
    clock = FakeClock()
    deadline = Deadline(1000, clock=clock)
    first = Poller(deadline, sleep=clock.sleep)
    for _ in range(4):
        first.sleep_before_next_poll()
    second = Poller(deadline, sleep=clock.sleep)
    second.sleep_before_next_poll()
    assert clock.slept == [1, 2, 4, 8, 1]


# -- StateCadence ------------------------------------------------------------------------------


def test_a_page_that_leaves_its_job_unfinished_always_gets_state():
    cadence = StateCadence(lambda: 10**9)
    assert cadence.page_written(0, job_finished=False)
    assert cadence.page_written(1, job_finished=False)


def test_a_finished_job_gets_state_once_enough_bytes_were_read_since_the_last():
    state_size = 100
    cadence = StateCadence(lambda: state_size)
    threshold = STATE_AMORTISATION * state_size
    assert threshold == 2000
    assert cadence.page_written(500, job_finished=True) is False
    assert cadence.page_written(500, job_finished=True) is False
    assert cadence.page_written(999, job_finished=True) is False
    assert cadence.page_written(1, job_finished=True) is True  # 2,000 bytes
    cadence.state_written()
    assert cadence.page_written(1999, job_finished=True) is False
    assert cadence.page_written(0, job_finished=True) is False


def test_state_written_restarts_the_count():
    cadence = StateCadence(lambda: 100)
    assert cadence.page_written(1500, job_finished=False)
    cadence.state_written()
    assert cadence.page_written(1500, job_finished=True) is False
    assert cadence.page_written(500, job_finished=True) is True


def test_the_state_size_is_read_at_each_decision():
    size = {"now": 100}
    cadence = StateCadence(lambda: size["now"])
    assert cadence.page_written(1500, job_finished=True) is False
    size["now"] = 50  # jobs forgotten: a smaller state is worth writing sooner
    assert cadence.page_written(0, job_finished=True) is True
    cadence.state_written()
    size["now"] = 10_000  # thousands of jobs: much more must be read between STATEs
    assert cadence.page_written(100_000, job_finished=True) is False
    assert cadence.page_written(100_000, job_finished=True) is True
