"""STATE messages: the job ledger spliced in pre-encoded, and never one missing at the end.

The SDK's own state writer deep-compares the whole state with the last one it wrote and
deep-copies it, for every STATE message, then skips a STATE equal to the last: with
50,000 jobs remembered that is most of a page's cost, and a run in which nothing changed
ended with ``job_details`` records *after* its last STATE (a plain Singer pipe saving the
last line then saved a record). This writer compares encoded bytes instead (the ledger's
untouched jobs are encoded once, see ``JobLedger.encoded``) and writes a STATE whenever
anything (records, schemas) went out since the last one, even if the state did not change.
"""

from __future__ import annotations

import typing as t

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tap_batchimport.ledger import JobLedger
    from tap_batchimport.output import PageBufferedWriter

_encode = msgspec.json.Encoder(decimal_format="number").encode


class LedgerStateWriter:
    """Writes STATE messages for the tap (what the SDK's ``StateWriter`` does, cheaper)."""

    def __init__(self, writer: PageBufferedWriter, ledger: Callable[[], JobLedger | None]) -> None:
        """Write through the tap's message writer.

        Args:
            writer: The tap's message writer.
            ledger: The run's job ledger, once it exists.
        """
        self._writer = writer
        self._ledger = ledger
        self._last: bytes | None = None

    def write_state(self, state: Mapping[str, t.Any]) -> None:
        """Write a STATE message, unless it would repeat the last one with nothing between.

        Args:
            state: The tap's state.
        """
        line = state_line(state, self._ledger())
        if line == self._last and not self._writer.since_state:
            return
        self._writer.write_state_line(line)
        self._last = line


def state_line(state: Mapping[str, t.Any], ledger: JobLedger | None) -> bytes:
    """Encode a STATE message line, the ledger's jobs from its own encoding.

    Args:
        state: The tap's state.
        ledger: The run's job ledger (None before it exists).

    Returns:
        The line, newline included.
    """
    bookmarks = state.get("bookmarks")
    details = bookmarks.get("job_details") if isinstance(bookmarks, dict) else None
    if (
        ledger is not None
        and isinstance(bookmarks, dict)
        and isinstance(details, dict)
        and ledger.owns(details.get("jobs"))
    ):
        jobs = msgspec.Raw(ledger.encoded())
        state = {**state, "bookmarks": {**bookmarks, "job_details": {**details, "jobs": jobs}}}
    return b'{"type":"STATE","value":' + _encode(state) + b"}\n"
