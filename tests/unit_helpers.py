"""Small builders shared by the fast unit tests (no subprocess, no tap run)."""

from __future__ import annotations

import logging
import typing as t

from emulator.server import Dataset
from tap_batchimport.druid.vendor import DruidVendor
from tap_batchimport.fullstory.vendor import FullstoryVendor
from tap_batchimport.jobs import JobRef, JobStatus
from tap_batchimport.sailpoint.vendor import SailpointVendor

if t.TYPE_CHECKING:
    from collections.abc import Iterator

LOG = logging.getLogger("tests.unit")

#: The emulator's default (demo) credentials.
DEMO = Dataset()

#: One try per request: a test server answering something unexpected fails at once
#: instead of being retried with real back-off waits.
FAST = {"retry_max_attempts": 1, "retry_max_wait_seconds": 0, "request_timeout_seconds": 5}


def fullstory_vendor(url: str) -> FullstoryVendor:
    config = {"fullstory_api_key": DEMO.fullstory_api_key, "fullstory_api_url": url, **FAST}
    return FullstoryVendor(config, LOG)


def druid_vendor(api_url: str, auth_url: str) -> DruidVendor:
    config = {
        "druid_api_url": api_url,
        "druid_auth_url": auth_url,
        "druid_client_id": DEMO.druid_client_id,
        "druid_client_secret": DEMO.druid_client_secret,
        **FAST,
    }
    return DruidVendor(config, LOG)


def sailpoint_vendor(url: str) -> SailpointVendor:
    config = {
        "sailpoint_api_url": url,
        "sailpoint_client_id": DEMO.sailpoint_client_id,
        "sailpoint_client_secret": DEMO.sailpoint_client_secret,
        **FAST,
    }
    return SailpointVendor(config, LOG)


def finished(source: str, job_id: str, **fields: t.Any) -> JobStatus:
    """A finished job whose results are ready (what the results loop hands a reader)."""
    return JobStatus(
        ref=JobRef(source, job_id),
        status="COMPLETED",
        is_finished=True,
        results_ready=True,
        **fields,
    )


def take(outcomes: Iterator[t.Any], count: int) -> list[t.Any]:
    """The next ``count`` outcomes of a reader (fails if it ends sooner)."""
    return [next(outcomes) for _ in range(count)]
