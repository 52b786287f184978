"""DruID bulk jobs as the emulator holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

FINISHED = frozenset({"completed", "failed"})


@dataclass
class DruidBulk:
    """A DruID bulk job and its result rows.

    Attributes:
        bulk_id: The bulk id.
        status: ``received``, ``scheduled``, ``processing``, ``completed`` or ``failed``.
        created_on: Creation time.
        updated_on: Last update time.
        results: Rows ``{id, userIdentifierType, objectId?, pulseId?, error?}`` (strings;
            a field with nothing to say left out, as DruID documents no nulls) in
            increasing ``id`` order (a plain list is sorted if needed; other sequences
            must be sorted).
        processing_polls: The first N status requests answer ``processing`` and results
            answer 428 until then.
    """

    bulk_id: str
    status: str = "completed"
    created_on: str = "2024-05-01T09:00:00.000Z"
    updated_on: str = "2024-05-01T09:05:00.000Z"
    results: Sequence[dict[str, Any]] = field(default_factory=list)
    processing_polls: int = 0
