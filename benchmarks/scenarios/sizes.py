"""Dataset sizes of the scenarios: full (the issues' numbers) and quick (a smoke run).

The full sizes are issue 22's: jobs big enough that the per-row cost shows, not the
SDK's start-up (about half a second more than a plain ``requests`` + ``msgspec`` script).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Dataset sizes of the scenarios.

    Attributes:
        rows: Rows of scenario 1 (one Fullstory job).
        small_jobs: Jobs of scenario 3.
        rows_per_small_job: Errors, and again imports, of each scenario 3 job.
        memory_rows: The small and the large row counts of scenario 4.
        druid_rows: Rows of the DruID bulk of scenario 5.
        page_size: Rows per page (Fullstory page size, DruID ``limit``).
        latency_jobs: Fullstory jobs of the latency scenario.
        latency_rows_per_list: Imports, and again errors, of each of its jobs.
        latency_ms: Milliseconds the emulator adds to every answer there.
        ratelimit_jobs: SailPoint jobs of the rate-limit scenario.
        sailpoint_jobs: SailPoint jobs of the SailPoint scenario (tap vs raw client).
        startup_jobs: Fullstory jobs of the start-up scenario, all settled.
        pipeline_rows: Rows of the one Fullstory job of the pipeline scenario.
        nights: Runs of the nightly series.
        jobs_per_night: New job ids each night.
        nightly_rows_per_list: Imports, and again errors, of each nightly job.
        ledger_rows: Rows of the one job of the ledger-size scenario.
        batch_rows: Rows of the one Fullstory job loaded into target-postgres, RECORD vs BATCH.
    """

    rows: int = 1_000_000
    small_jobs: int = 5_000
    rows_per_small_job: int = 20
    memory_rows: tuple[int, int] = (30_000, 1_000_000)
    druid_rows: int = 1_000_000
    page_size: int = 1_000
    latency_jobs: int = 200
    latency_rows_per_list: int = 20
    latency_ms: int = 50
    ratelimit_jobs: int = 100
    sailpoint_jobs: int = 500
    startup_jobs: int = 50
    pipeline_rows: int = 1_000_000
    nights: int = 60
    jobs_per_night: int = 20
    nightly_rows_per_list: int = 10
    ledger_rows: int = 20_000
    batch_rows: int = 1_000_000


FULL = Sizes()
QUICK = Sizes(
    rows=100_000,
    small_jobs=500,
    rows_per_small_job=20,
    memory_rows=(30_000, 100_000),
    druid_rows=100_000,
    latency_jobs=50,
    ratelimit_jobs=60,
    sailpoint_jobs=60,
    startup_jobs=20,
    pipeline_rows=20_000,
    nights=8,
    ledger_rows=5_000,
    batch_rows=50_000,
)
