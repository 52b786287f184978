"""What a vendor's result reader yields for a job, one outcome at a time.

A reader is given a job's status and the cursor to resume from, and yields:

- :class:`Page`: records, and the cursor of the next page (None after the last);
- :data:`NOT_READY`: the vendor says the results are not ready yet (Fullstory 202,
  DruID 428). When the reader is resumed after it, it asks again for the same page;
  the results loop decides whether to wait or to leave the job to a later run;
- :class:`Gone`: the results will never be available (deleted after retention).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_batchimport.http.endpoints import Endpoint
    from tap_batchimport.jobs import JobStatus

Cursor = dict[str, t.Any]


@dataclass(frozen=True)
class Page:
    """One page of a job's results.

    Attributes:
        records: The page's records, in the stream's final shape.
        cursor: Where the next page starts; None when this page was the last.
        size: Bytes of the response (budgets STATE messages).
    """

    records: Iterable[dict[str, t.Any]]
    cursor: Cursor | None
    size: int


@dataclass(frozen=True)
class NotReady:
    """The vendor says the results are not ready yet.

    Attributes:
        reason: What the vendor answered, for the log (``HTTP 202``).
    """

    reason: str


@dataclass(frozen=True)
class Gone:
    """The results are gone for good.

    Attributes:
        reason: What the vendor answered, for the log.
        size: Bytes of the response.
    """

    reason: str
    size: int = 0


Outcome = Page | NotReady | Gone


class ResultReader(t.Protocol):
    """Reads one results list of a job, page by page."""

    #: The results endpoint, named in errors about what its pages hold.
    endpoint: Endpoint

    def valid_cursor(self, cursor: Cursor) -> bool:
        """Whether a saved cursor has the shape this reader writes."""

    def read(self, status: JobStatus, cursor: Cursor | None) -> Iterator[Outcome]:
        """Yield the outcomes of reading a finished job's results from ``cursor`` on."""
