"""SIGTERM / SIGINT: stop at once, with a final STATE the next run resumes from.

The SDK's handler writes STATE and exits 0. Here the run still ends at once (the signal
interrupts a stalled read or a ``Retry-After`` sleep), but:

- records buffered by :class:`~tap_batchimport.output.PageBufferedWriter` go out before
  the final STATE, and a signal that lands while a message is being written waits for
  that write to finish, so the target never sees a cut line;
- the exit status is ``128 + signum`` (143 for SIGTERM, 130 for SIGINT): an interrupted
  run did not extract everything, and schedulers should not record it as a success.

Resuming is safe because bookmarks only move after every record of their page has been
handed to the writer: the final STATE names what was written, never more. In batch mode
they move only once the BATCH message of the file holding the page has been written: the
final STATE claims none of the rows of a file still open (that file is never announced,
and is removed as the stop unwinds, see batch_files.py), so the next run reads them again.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import typing as t

from tap_batchimport.output import PageBufferedWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk import Tap


#: Set once a termination signal is being handled (a second one must not interrupt it).
_terminating = threading.Event()


def exit_status(signum: int) -> int:
    """How a run ended by a signal exits: ``128 + signum``, as a shell reports it.

    Args:
        signum: The signal number.

    Returns:
        The exit status.
    """
    return 128 + signum


class SignalSafeWriter(PageBufferedWriter):
    """A :class:`PageBufferedWriter` that a termination signal cannot cut mid-line."""

    def __init__(self) -> None:
        """Create the writer."""
        super().__init__()
        #: A flush is under way: a signal now must wait for it to end.
        self.writing = False
        #: Some message went out: a sync has begun, so a final STATE is due.
        self.started = False
        #: What a signal that arrived mid-write asked for, run when the write ends.
        self.deferred: Callable[[], None] | None = None

    @override
    def flush(self, then: bytes | bytearray = b"") -> None:
        self.writing = True
        try:
            super().flush(then)
        finally:
            self.writing = False
        self.started = self.started or bool(then)
        if self.deferred is not None:
            deferred, self.deferred = self.deferred, None
            deferred()

    def end_cut_record(self) -> None:
        """End a buffered record line that a signal cut between its JSON and its newline.

        ``write_record`` appends a line and its newline in two steps; a signal handled
        between them would otherwise glue the final STATE onto that record's line.
        """
        records = self._records
        if records and not records.endswith(b"\n"):
            records += b"\n"


def write_final_state(tap: Tap) -> bool:
    """End the output with the records written so far, then a STATE naming them.

    Used when a run stops early (a signal, a fatal vendor error): bookmarks only ever
    cover records already handed to the writer (in batch mode: rows of files already
    announced), so this STATE is safe to resume from, and it saves jobs finished since
    the last STATE from being read again.

    Args:
        tap: The running tap.

    Returns:
        Whether a STATE was written (not before a sync began, e.g. during discovery).
    """
    writer = getattr(tap, "message_writer", None)
    if not isinstance(writer, SignalSafeWriter) or not writer.started:
        return False
    writer.end_cut_record()
    # Buffered records first, then STATE (the state writer flushes them before it).
    tap.state_writer.write_state(tap.state)
    return True


def handle_termination(tap: Tap, signum: int) -> None:
    """Stop the run: flush the records, write the final STATE, exit ``128 + signum``.

    Runs as the signal handler, in the main thread, between two bytecodes of whatever
    the tap was doing; ``sys.exit`` then unwinds from there (out of a blocked socket
    read or a back-off sleep at once).

    Args:
        tap: The running tap.
        signum: The signal received.
    """
    writer = getattr(tap, "message_writer", None)
    if _terminating.is_set():
        return  # a second signal while the final STATE is written: let it finish
    if isinstance(writer, SignalSafeWriter) and writer.writing:
        # Mid-write: finish this message first (a cut line would break the target).
        writer.deferred = functools.partial(handle_termination, tap, signum)
        return
    _terminating.set()
    name = signal.Signals(signum).name
    status = exit_status(signum)
    started = isinstance(writer, SignalSafeWriter) and writer.started
    tap.logger.warning(
        "%s received: stopping now%s (exit %d)",
        name,
        "; the final STATE resumes the next run" if started else "",
        status,
    )
    write_final_state(tap)
    sys.exit(status)
