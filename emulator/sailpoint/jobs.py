"""SailPoint sp-config import jobs as the emulator holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMPLETE = "COMPLETE"


@dataclass
class SailpointJob:
    """A SailPoint sp-config import job and its result document.

    Attributes:
        job_id: The job id.
        status: ``NOT_STARTED``, ``IN_PROGRESS``, ``COMPLETE``, ``CANCELLED`` or ``FAILED``.
        created: Creation time.
        modified: Last modification time.
        expiration: When the result stops being downloadable.
        completed: Completion time, or None.
        message: The job's message (e.g. why it failed), or None.
        document: The download body, ``{results: {...}, exportJobId?}``.
        processing_polls: The first N status requests answer ``IN_PROGRESS`` (and the
            download answers 400 until then).
        download_gone: The download answers 404 (the result expired).
    """

    job_id: str
    status: str = COMPLETE
    created: str = "2024-05-01T09:00:00.000Z"
    modified: str = "2024-05-01T09:02:00.000Z"
    expiration: str = "2024-05-08T09:00:00.000Z"
    completed: str | None = None
    message: str | None = None
    document: dict[str, Any] | None = None
    processing_polls: int = 0
    download_gone: bool = False
