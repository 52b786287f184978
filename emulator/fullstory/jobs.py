"""Fullstory batch import jobs as the emulator holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

PROCESSING = "PROCESSING"


@dataclass
class FullstoryJob:
    """A Fullstory batch import job and its results.

    Attributes:
        job_id: The job id.
        kind: ``users`` or ``events``.
        status: ``PROCESSING``, ``COMPLETED``, ``FAILED`` or any other string.
        created: RFC 3339 time the job was accepted.
        finished: RFC 3339 time the job finished; sent only once the job is done.
        imports: Items of ``/imports`` (may carry a ``schema`` key, sent only on request).
        errors: Items of ``/errors``.
        page_size: Items per page.
        processing_polls: The first N status requests answer ``PROCESSING``; until then
            ``/imports`` and ``/errors`` answer 202.
        results_processing_polls: The first N results requests after that still answer 202.
        empty_last_page: End the list with an extra page holding no results.
        repeat_last_token: The last page echoes the page token it was asked with.
        expire_tokens: Reject every page token with 400.
        total_records: The ``total_records`` the pages of a list report, by list
            (``{"errors": 5}``); a list not named tells the truth (its length). Lets a
            test make a list shorter or longer than its count.
    """

    job_id: str
    kind: str = "users"
    status: str = "COMPLETED"
    created: str = "2024-05-01T09:00:00.000Z"
    finished: str | None = None
    imports: Sequence[dict[str, Any]] = field(default_factory=list)
    errors: Sequence[dict[str, Any]] = field(default_factory=list)
    page_size: int = 100
    processing_polls: int = 0
    results_processing_polls: int = 0
    empty_last_page: bool = False
    repeat_last_token: bool = False
    expire_tokens: bool = False
    total_records: dict[str, int] = field(default_factory=dict)
