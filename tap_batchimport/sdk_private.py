"""Every override of a private (or final) name of the Meltano Singer SDK, in one place.

Each override says why in one line. ``tests/test_sdk_private.py`` checks that every name
listed in :data:`OVERRIDDEN` still exists in the installed SDK with the parameters these
overrides expect, so an SDK upgrade that renames or removes one fails loudly there,
naming it, instead of silently changing behaviour somewhere else. ``pyproject.toml`` pins
``singer-sdk`` to the releases that test has covered.
"""

from __future__ import annotations

import sys
import typing as t
from functools import cached_property

from singer_sdk import Stream, Tap, metrics
from singer_sdk.exceptions import ConfigValidationError

# Reason: a BATCH message's encoding and config; the SDK exports them from no public module.
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig, StorageTarget
from singer_sdk.mapper import SameRecordTransform

from tap_batchimport.output import PageBufferedWriter
from tap_batchimport.state_writer import LedgerStateWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import FrameType

    from singer_sdk.helpers.types import Context

    from tap_batchimport.ledger import JobLedger

__all__ = [
    "OVERRIDDEN",
    "BaseBatchFileEncoding",
    "BatchConfig",
    "SdkStream",
    "SdkTap",
    "StorageTarget",
]

#: ``(class, private or final method, its parameters)`` overridden or called here; the
#: attributes ``Stream._tap``, ``StreamStateManager.is_flushed`` and ``Tap._state_writer``
#: are used too.
OVERRIDDEN: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (Stream, "_write_record_message", ("self", "record")),
    (Stream, "_process_record", ("self", "record", "child_context", "partition_context")),
    (Stream, "_increment_stream_state", ("self", "latest_record", "context")),
    (Stream, "_write_state_message", ("self",)),
    (Stream, "_write_batch_message", ("self", "encoding", "manifest")),
    (Stream, "_sync_records", ("self", "context", "write_messages")),
    (Stream, "_generate_record_messages", ("self", "record")),
    (Stream, "get_record_counter", ("self", "endpoint", "log_interval")),
    (Tap, "_validate_config", ("self", "raise_errors")),
    (Tap, "load_streams", ("self",)),
    (Tap, "sync_all", ("self",)),
    (Tap, "_handle_termination", ("self", "signum", "frame")),
)


class SdkStream(Stream):
    """A stream that writes plain records page by page and bookmarks per page itself."""

    @cached_property
    def records_unmapped(self) -> bool:
        """Whether records go out exactly as extracted: no stream map, flattening or deselection."""
        maps = self.stream_maps
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
            and all(self.mask.values())
        )

    @cached_property
    def _writes_plain_records(self) -> bool:
        # Unmapped records through our writer skip the SDK's per-record path (a walk of
        # schema and selection mask, a message object, a JSON encoder per record): it
        # was 80% of the run time in the profile (docs/performance.md).
        return self.records_unmapped and isinstance(self._tap.message_writer, PageBufferedWriter)

    #: The time the page being written was read: its records' ``time_extracted``.
    page_read_at: str
    #: The record counter of the SDK's record loop running now (None before the first).
    _record_counter: metrics.Counter | None = None

    @override
    def get_record_counter(
        self,
        *,
        endpoint: str | None = None,
        log_interval: float = metrics.DEFAULT_LOG_INTERVAL,
    ) -> metrics.Counter:
        # Reason: pages written at once (write_page) count their records on the very
        # counter the SDK's record loop logs as the stream's record_count.
        counter = super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        self._record_counter = counter
        return counter

    def writes_pages(self) -> bool:
        """Whether a page's records may be written at once by :meth:`write_page`.

        True for plain records in RECORD mode within the SDK's record loop: no batch
        files (their records must reach the SDK), no dry-run record limit (the SDK counts
        it record by record).

        Returns:
            Whether :meth:`write_page` may be used for this sync.
        """
        return (
            self._writes_plain_records
            and self._record_counter is not None
            and self.ABORT_AT_RECORD_COUNT is None
            and not self.get_batch_config(self.config)
        )

    def write_page(self, records: Iterable[dict[str, t.Any]]) -> int:
        """Write a page's records straight to the output, counted as the SDK counts them.

        What the SDK's record loop does per record, once per page: its per-record calls
        (limit check, post-processing, state increment, counter, message) were half the
        tap's CPU time on a million-row job (docs/performance.md).

        Args:
            records: The page's records, in their final shape.

        Returns:
            How many were written.
        """
        writer = t.cast("PageBufferedWriter", self._tap.message_writer)
        count = writer.write_records(self.name, records, self.page_read_at)
        self.state_manager.is_flushed = False
        if self._record_counter is not None:
            self._record_counter.increment(count)
        return count

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        # Reason: the plain-record fast path above; anything else goes the SDK's way.
        if self._writes_plain_records:
            self._tap.message_writer.write_record(  # type: ignore[attr-defined]
                self.name, record, self.page_read_at
            )
        else:
            super()._write_record_message(record)
        self.state_manager.is_flushed = False

    @override
    def _process_record(
        self,
        record: dict[str, t.Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        # Reason: no child streams and no partitions, so nothing to add or sync per record.
        return

    @override
    def _increment_stream_state(
        self,
        latest_record: dict[str, t.Any],
        *,
        context: Context | None = None,
    ) -> None:
        # Reason: bookmarks move once per page, in the job ledger, not per record.
        return

    @override
    def _write_batch_message(self, encoding: BaseBatchFileEncoding, manifest: list[str]) -> None:
        # Reason: the state may claim a file's rows only once its BATCH message is out.
        super()._write_batch_message(encoding=encoding, manifest=manifest)
        self.batch_written()

    def batch_written(self) -> None:
        """A BATCH message was just written (override); the SDK writes STATE next."""

    def records_for_batches(self, context: Context | None) -> Iterator[dict[str, t.Any]]:
        """The stream's records as the SDK's own ``get_batches`` reads them (no RECORD).

        Args:
            context: The sync's context.

        Returns:
            The records, counted in the SDK's metrics.
        """
        # Reason: the SDK's record loop (metrics, limits, state finalised) without RECORD
        # messages has no public name; the SDK's get_batches calls it the same way.
        return self._sync_records(context, write_messages=False)

    def shaped_record(self, record: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """A record as its RECORD message would carry it: selection, stream map, flattening.

        Args:
            record: The record as extracted (changed in place, as the SDK does).

        Returns:
            The record to write, or None when the stream map filters it out.
        """
        # Reason: the SDK shapes records only on its way to a RECORD message; a batch file's
        # rows must be shaped the same way.
        for message in self._generate_record_messages(record):
            return message.record
        return None

    def write_state_now(self) -> None:
        """Write a STATE message now (the SDK only writes one when a stream ends)."""
        # Reason: the SDK has no public way to emit STATE mid-stream.
        self.state_manager.is_flushed = False
        self._write_state_message()


class SdkTap(Tap):
    """A tap with extra config checks, its own STATE writer and termination handling."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the tap (arguments as for ``singer_sdk.Tap``).

        Args:
            *args: Positional arguments of ``Tap``.
            **kwargs: Keyword arguments of ``Tap``.
        """
        super().__init__(*args, **kwargs)
        if isinstance(self.message_writer, PageBufferedWriter):
            # Reason: the SDK's StateWriter deep-copies the state per STATE and skips the
            # final STATE of a run that changed nothing (see state_writer.py).
            self._state_writer = LedgerStateWriter(  # type: ignore[assignment]
                self.message_writer, self.state_ledger
            )

    def before_sync(self) -> None:
        """Prepare the run before the SDK writes its first STATE (override)."""

    @override  # type: ignore[misc]  # final in the SDK
    def sync_all(self) -> None:
        # Reason: final in the SDK, which writes the input state as the run's first STATE
        # before any stream: the jobs this run names must be in it already.
        self.before_sync()
        super().sync_all()

    def state_ledger(self) -> JobLedger | None:
        """The job ledger inside the state, once the run has built it (override).

        Returns:
            The ledger, or None.
        """
        return None

    def extra_config_errors(self) -> list[str]:
        """Checks the JSON schema cannot express (override).

        Returns:
            One line per problem.
        """
        return []

    def mask_secrets(self, messages: list[str]) -> list[str]:
        """Hide secret setting values in messages (override).

        Args:
            messages: Messages about the config.

        Returns:
            The messages, masked.
        """
        return messages

    def on_termination(self, signum: int) -> None:
        """Handle SIGTERM / SIGINT (override).

        Args:
            signum: The signal.
        """

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Reason: the SDK's only hook where config errors stop the run before any request.
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            # JSON-schema messages quote the value: a secret of the wrong type must not show.
            masked = self.mask_secrets(exc.errors)
            raise ConfigValidationError(str(exc), errors=masked, schema=exc.schema) from None
        errors = self.mask_secrets(errors + self.extra_config_errors())
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors)
        return errors

    @override  # type: ignore[misc]  # final in the SDK
    def load_streams(self) -> list[Stream]:
        # Reason: the SDK (final method) syncs streams in name order; ours come in the
        # order discover_streams gives: job_details after the results streams, whose
        # findings its records report and whose completion they settle.
        return list(self.discover_streams())

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # Reason: the SDK's handler exits 0 without flushing our page-buffered records.
        self.on_termination(signum)
