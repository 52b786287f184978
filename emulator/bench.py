"""Benchmark datasets: large, deterministic, generated lazily.

- :func:`bench_fullstory_dataset`: users jobs with nested user-import errors and/or imported
  users (``bench-users-00000``, ...), any number of rows and jobs.
- :func:`bench_druid_dataset`: one completed DruID bulk of any number of rows.
- :func:`bench_sailpoint_dataset`: COMPLETE SailPoint import jobs with small result documents.
- :class:`NightlySeries`: Fullstory jobs pushed night after night, some still processing on
  their first night and finishing by the next one (the dataset is changed between runs).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from emulator.dataset import Dataset
from emulator.druid.jobs import DruidBulk
from emulator.fullstory.jobs import FullstoryJob
from emulator.rows import (
    BASE_EPOCH,
    CITIES,
    DRUID_ERRORS,
    PEOPLE,
    PLANS,
    TAGS,
    GeneratedRows,
    Row,
    RowShape,
    mix,
    rfc3339,
    uuid7,
)
from emulator.sailpoint.jobs import SailpointJob

if TYPE_CHECKING:
    from collections.abc import Sequence

# Fullstory.

_BENCH_ERRORS = (
    ("required_field", "uid is required"),
    ("invalid_property_name", "property name '1st_order' must start with a letter"),
    ("value_too_large", "property 'bio' exceeds the maximum size of 8192 bytes"),
    ("invalid_email", "email is not a valid address"),
    ("type_mismatch", "property 'seats' was declared int but the value is a string"),
)
_BENCH_KEYS = (
    "plan",
    "address",
    "seats",
    "mrr",
    "beta_tester",
    "signed_up",
    "tags",
    "score",
    "locale",
    "last_order",
)
_BENCH_ENDPOINTS = ("errors", "imports", "both")


def _bench_properties(h: int) -> Row:
    country, _, city, lat, lng = CITIES[h % len(CITIES)]
    values = (
        PLANS[h % 4],
        {"city": city, "country": country, "geo": {"lat": lat, "lng": lng}},
        h % 500,
        (h % 500_000) / 100,
        bool(h & 1),
        f"2023-{1 + h % 12:02d}-{1 + h % 28:02d}T{h % 24:02d}:{h % 60:02d}:{h % 59:02d}Z",
        [TAGS[h % 6], TAGS[(h >> 3) % 6]],
        None if h % 10 == 0 else (h % 1000) / 10,
        ("es-ES", "de-DE", "en-US", "ja-JP")[(h >> 7) % 4],
        {"id": f"ord-{h % 100_000:05d}", "total": (h % 90_000) / 100, "currency": "EUR"},
    )
    count = 5 + (h >> 5) % 6  # 5 to 10 keys, the nested address always among them
    return dict(zip(_BENCH_KEYS[:count], values[:count], strict=True))


def _bench_user_fields(index: int) -> tuple[str, str, str]:
    return f"{index:08d}", str(index), str(10**17 + index)


def _bench_user(variant: int, fields: Sequence[str]) -> Row:
    h = mix(variant)
    name, slug = PEOPLE[h % len(PEOPLE)]
    return {
        "id": fields[2],
        "uid": f"user-{fields[0]}",
        "display_name": name,
        "email": f"{slug}.{fields[1]}@example.com",
        "properties": _bench_properties(h),
    }


def _bench_user_error(variant: int, fields: Sequence[str]) -> Row:
    h = mix(variant)
    code, message = _BENCH_ERRORS[(h >> 9) % len(_BENCH_ERRORS)]
    user = _bench_user(variant, fields)
    del user["id"]  # Failed users were never assigned a Fullstory id.
    return {"message": message, "code": code, "user": user}


BENCH_USERS = RowShape(_bench_user, _bench_user_fields)
BENCH_USER_ERRORS = RowShape(_bench_user_error, _bench_user_fields)


def bench_fullstory_dataset(
    rows: int, *, jobs: int = 1, page_size: int = 1000, endpoint: str = "errors"
) -> Dataset:
    """Build a Fullstory benchmark dataset of users jobs with lazily generated rows.

    Args:
        rows: Rows in all, split evenly: each job gets ``rows // jobs`` rows per endpoint.
        jobs: Number of users import jobs (``bench-users-00000``, …).
        page_size: Rows per page.
        endpoint: Which results the jobs have: ``errors`` (FAILED jobs with user import
            errors), ``imports`` (COMPLETED jobs with imported users) or ``both`` (FAILED
            jobs with both lists, so ``2 * rows`` rows in all).

    Returns:
        The dataset.

    Raises:
        ValueError: If ``endpoint`` or ``jobs`` is not valid.
    """
    if endpoint not in _BENCH_ENDPOINTS or jobs < 1:
        msg = f"endpoint must be one of {_BENCH_ENDPOINTS} and jobs at least 1"
        raise ValueError(msg)
    per_job = rows // jobs
    fullstory_jobs = []
    for number in range(jobs):
        start = number * per_job
        has_errors = endpoint in {"errors", "both"}
        has_imports = endpoint in {"imports", "both"}
        imports = _generated(per_job, BENCH_USERS, start) if has_imports else []
        errors = _generated(per_job, BENCH_USER_ERRORS, start) if has_errors else []
        fullstory_jobs.append(
            FullstoryJob(
                f"bench-users-{number:05d}",
                "users",
                "FAILED" if has_errors else "COMPLETED",
                "2024-05-01T08:00:00.000Z",
                "2024-05-01T09:00:00.000Z",
                imports,
                errors,
                page_size=page_size,
            )
        )
    return Dataset(fullstory_jobs=fullstory_jobs)


def _generated(count: int, shape: RowShape, start: int = 0) -> GeneratedRows:
    return GeneratedRows(count, shape.row, start, render=shape.json)


# DruID.


def _bench_druid_fields(index: int) -> tuple[str, str, str]:
    # 4096 ids per millisecond, ordered by the counter within it.
    millis, counter = BASE_EPOCH * 1000 + index // 4096, index % 4096
    row_id = uuid7(millis, counter, mix(index) * 0x9E3779B97F4A7C15)
    return row_id, f"{index:024x}", f"pls-{index:09d}"


def _bench_druid_row(variant: int, fields: Sequence[str]) -> Row:
    by_object = variant % 5 < 3  # noqa: PLR2004 - 60% object_id users
    failed = (variant >> 3) % 10 == 0
    # DruID shows no nulls in a row (seed 003): a field with nothing to say is left out.
    row: Row = {"id": fields[0], "userIdentifierType": "object_id" if by_object else "pulse_id"}
    if by_object:
        row["objectId"] = f"{variant:08x}{fields[1]}"
    else:
        row["pulseId"] = fields[2]
    if failed:
        row["error"] = DRUID_ERRORS[(variant >> 5) % len(DRUID_ERRORS)]
    return row


BENCH_DRUID_ROWS = RowShape(_bench_druid_row, _bench_druid_fields)


def bench_druid_dataset(rows: int) -> Dataset:
    """Build a DruID benchmark dataset: one completed bulk of lazily generated rows.

    Args:
        rows: Number of result rows (about 10% with an error).

    Returns:
        The dataset; the bulk id is ``018f0000-0000-7000-8000-00000000be9c``.
    """
    bulk = DruidBulk(
        "018f0000-0000-7000-8000-00000000be9c",
        "completed",
        "2024-05-01T08:00:00.000Z",
        "2024-05-01T09:00:00.000Z",
        _generated(rows, BENCH_DRUID_ROWS),
    )
    return Dataset(druid_bulks=[bulk])


# SailPoint.

_BENCH_SP_TYPES = ("SOURCE", "TRANSFORM")


def bench_sailpoint_job_id(number: int) -> str:
    """The id of a :func:`bench_sailpoint_dataset` job.

    Args:
        number: 0-based job number.

    Returns:
        32 hex digits, like SailPoint's own ids: ``be5c0000…0000``, ``be5c0000…0001``, ...
    """
    return f"be5c{number:028x}"


def _bench_sp_document(number: int, objects: int) -> Row:
    results: Row = {}
    for object_type in _BENCH_SP_TYPES:
        names = [f"{object_type.title()} {number}-{i}" for i in range(objects)]
        results[object_type] = {
            "infos": [
                {
                    "key": "OBJECT_IMPORTED",
                    "text": f"{object_type} [{name}]: imported",
                    "details": {},
                }
                for name in names
            ],
            "warnings": [
                {"key": "REFERENCE_NOT_FOUND", "text": f"{object_type}: no owner", "details": {}}
            ],
            "errors": [],
            "importedObjects": [
                {"type": object_type, "id": f"{number:016x}{i:016x}", "name": name}
                for i, name in enumerate(names)
            ],
        }
    return {"results": results, "exportJobId": f"{number:08x}-08e1-49fc-ab7f-fa585e96c9e4"}


def bench_sailpoint_rows_per_job(objects: int = 2) -> int:
    """How many ``config_import_results`` rows one :func:`bench_sailpoint_dataset` job has.

    Args:
        objects: The ``objects`` the dataset was built with.

    Returns:
        Messages plus imported objects of one job.
    """
    return len(_BENCH_SP_TYPES) * (2 * objects + 1)


def bench_sailpoint_dataset(jobs: int, *, objects: int = 2) -> Dataset:
    """Build a SailPoint benchmark dataset: COMPLETE import jobs with small result documents.

    Args:
        jobs: Number of jobs (ids from :func:`bench_sailpoint_job_id`).
        objects: Imported objects (and info messages) per object type of each job; each
            type also has one warning (see :func:`bench_sailpoint_rows_per_job`).

    Returns:
        The dataset, with the default SailPoint client credentials.
    """
    return Dataset(
        sailpoint_jobs=[
            SailpointJob(
                bench_sailpoint_job_id(number),
                "COMPLETE",
                created="2024-05-01T09:00:00.000Z",
                modified="2024-05-01T09:01:00.000Z",
                expiration="2099-01-01T00:00:00.000Z",  # Results stay downloadable.
                completed="2024-05-01T09:01:00.000Z",
                document=_bench_sp_document(number, objects),
            )
            for number in range(jobs)
        ]
    )


# Nightly runs.


class NightlySeries:
    """Fullstory users jobs pushed night after night, as a scheduled pipeline meets them.

    Each :meth:`next_night` first finishes the jobs left processing the night before, then
    adds that night's new jobs to the dataset (``night-0001-00``, ``night-0001-01``, ...):
    FAILED jobs with ``rows_per_list`` imported users and as many user-import errors, except
    every ``late_every``-th job of the night, which is still PROCESSING until the next night.
    Created and finished times are taken from the real clock, so a tap's age limit for
    pending jobs never applies. Change the series only while no request is in flight.

    Attributes:
        dataset: The dataset the jobs are added to.
        night: Nights started so far.
        rows_per_list: Imported users, and again errors, of every job.
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        jobs_per_night: int = 20,
        rows_per_list: int = 10,
        late_every: int = 4,
        page_size: int = 1000,
    ) -> None:
        """Describe the series; no job exists before the first :meth:`next_night`.

        Args:
            dataset: Where the jobs go (other jobs in it are left alone).
            jobs_per_night: New jobs each night.
            rows_per_list: Rows of each job's ``/imports``, and again of its ``/errors``.
            late_every: Every n-th job of a night is processing on its first night;
                0 means none.
            page_size: Rows per page.
        """
        self.dataset = dataset
        self.night = 0
        self.rows_per_list = rows_per_list
        self._jobs_per_night = jobs_per_night
        self._late_every = late_every
        self._page_size = page_size
        self._jobs: list[FullstoryJob] = []
        self._processing: list[FullstoryJob] = []

    def next_night(self) -> list[str]:
        """Start the next night: finish last night's processing jobs, push tonight's jobs.

        Returns:
            The ids of tonight's new jobs: all a pipeline hands the tap tonight.
        """
        now = rfc3339(time.time())
        for job in self._processing:
            job.status, job.finished = "FAILED", now
        self._processing = []
        self.night += 1
        ids = []
        for index in range(self._jobs_per_night):
            start = len(self._jobs) * self.rows_per_list
            late = self._late_every > 0 and index % self._late_every == 0
            job = FullstoryJob(
                f"night-{self.night:04d}-{index:02d}",
                "users",
                "PROCESSING" if late else "FAILED",
                created=now,
                finished=None if late else now,
                imports=_generated(self.rows_per_list, BENCH_USERS, start),
                errors=_generated(self.rows_per_list, BENCH_USER_ERRORS, start),
                page_size=self._page_size,
            )
            self._jobs.append(job)
            if late:
                self._processing.append(job)
            ids.append(job.job_id)
        self.dataset.fullstory_jobs.extend(self._jobs[-self._jobs_per_night :])
        return ids

    @property
    def finished(self) -> list[str]:
        """Ids of the series' jobs that are finished now, oldest first."""
        return [job.job_id for job in self._jobs if job.status != "PROCESSING"]

    @property
    def processing(self) -> list[str]:
        """Ids of the series' jobs still processing now."""
        return [job.job_id for job in self._processing]
