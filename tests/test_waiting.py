"""Waiting for unfinished jobs never holds finished work back (``job_wait_timeout_seconds``).

The results of jobs already finished are extracted first; the run then polls the others
until the deadline, reading each one as it finishes, and says how long it has left.
"""

from __future__ import annotations

from emulator.druid import DruidBulk
from tests import mixed_data


def test_finished_jobs_are_read_before_the_run_waits_for_the_others(emulator, tap):
    mixed_data.fill(emulator)
    late = emulator.dataset.fullstory_job("E1")
    late.processing_polls = 3  # PROCESSING for its first three status polls
    emulator.dataset.druid_bulks.append(DruidBulk("B3", status="completed", processing_polls=2))
    config = mixed_data.config(
        emulator,
        druid_bulk_ids=["B1", "B2", "B3"],
        job_wait_timeout_seconds=60,
        max_concurrent_requests=1,
    )
    run = tap(config)
    assert run.returncode == 0, run.stderr

    # Every row of every job in this one run, the late ones included.
    mixed_data.assert_union_is_the_data(emulator, run.messages, max_pages_again=0)
    # U1's results were read before E1 was polled a second time: no wait in between.
    requests = emulator.requests
    first_users_page = next(
        i for i, r in enumerate(requests) if r.endpoint == "fullstory.imports" and r.job_id == "U1"
    )
    e1_polls = [
        i for i, r in enumerate(requests) if r.endpoint == "fullstory.status" and r.job_id == "E1"
    ]
    assert len(e1_polls) >= 2
    assert first_users_page < e1_polls[1]
    # What the run waits for, and for how long, is said (not 1 line per poll).
    waiting = [line for line in run.stderr.splitlines() if "Waiting for" in line]
    assert waiting and "s left of job_wait_timeout_seconds" in waiting[0]
    assert len(waiting) <= 2  # at most one every 30 s
    finished = {r["job_id"]: r["is_finished"] for r in run.records("job_details")}
    assert finished["E1"] is True and finished["B3"] is True


def test_without_a_wait_unfinished_jobs_are_left_for_the_next_run_at_once(emulator, tap):
    mixed_data.fill(emulator)
    emulator.dataset.fullstory_job("E1").processing_polls = 100
    run = tap(mixed_data.config(emulator, job_wait_timeout_seconds=0))
    assert run.returncode == 0, run.stderr
    assert emulator.count("fullstory.status") == 2  # one look each, no polling
    assert not any("Waiting for" in line for line in run.stderr.splitlines())


def test_discovery_polled_while_waiting_is_logged_once(emulator, tap):
    mixed_data.fill(emulator)
    emulator.dataset.druid_bulks.append(DruidBulk("B3", status="processing"))
    run = tap(mixed_data.config(emulator, druid_bulk_ids=[], job_wait_timeout_seconds=4))
    assert run.returncode == 0, run.stderr
    assert emulator.count("druid.list") >= 2  # polled while waiting for B3
    listed = [line for line in run.stderr.splitlines() if "the list names" in line]
    assert len(listed) == 1
