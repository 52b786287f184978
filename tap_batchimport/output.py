"""Singer output: msgspec-encoded, flushed once per page instead of once per message.

The SDK's ``MsgSpecWriter`` flushes stdout after every message, a system call per record.
Records are only worth anything once the STATE after their page is out, so buffering them
until the next non-RECORD message loses nothing a resumed run would not re-read.
"""

from __future__ import annotations

import atexit
import sys
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter, enc_hook
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.singerlib.encoding.simple import Message

#: Records are written out at least every this many bytes, to bound memory.
_MAX_BUFFERED_BYTES = 1 << 20

_encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")
_encode_into = _encoder.encode_into
_encode_lines = _encoder.encode_lines


class PageBufferedWriter(MsgSpecWriter):
    """Writes Singer messages with msgspec; flushes on every message but RECORD."""

    def __init__(self) -> None:
        """Create the writer and its buffer of not-yet-written records."""
        super().__init__()
        self._records = bytearray()
        self._line = bytearray(256)
        #: Messages written since the last STATE (a run's output must end with a STATE).
        self.since_state = 0
        atexit.register(self.flush)

    def write_message(self, message: Message) -> None:
        """Write a message; everything but a RECORD is flushed at once, records before it.

        Args:
            message: The Singer message.
        """
        self.since_state += 1
        if isinstance(message, RecordMessage):
            self._records += self.format_message(message)
            return
        self.flush(self.format_message(message))

    def write_state_line(self, line: bytes) -> None:
        """Write an encoded STATE message line, after the records buffered before it.

        Args:
            line: ``{"type":"STATE",...}`` and its newline.
        """
        self.flush(line)
        self.since_state = 0

    def flush(self, then: bytes | bytearray = b"") -> None:
        """Write buffered records (and then ``then``) to stdout and flush it.

        Args:
            then: A message line to write after the buffered records.
        """
        out = sys.stdout.buffer
        if self._records:
            out.write(self._records)
            self._records.clear()
        if then:
            out.write(then)
        out.flush()

    def write_record(self, stream: str, record: dict[str, t.Any], time_extracted: str) -> None:
        """Write one RECORD message from a plain dict, without building a message object.

        Args:
            stream: Stream name.
            record: The record, already in its final shape.
            time_extracted: RFC 3339 time the record's page was read.
        """
        line = self._line
        _encode_into(
            {
                "type": "RECORD",
                "stream": stream,
                "record": record,
                "time_extracted": time_extracted,
            },
            line,
        )
        records = self._records
        records += line
        records += b"\n"
        self.since_state += 1
        if len(records) > _MAX_BUFFERED_BYTES:
            self.flush()

    def write_records(
        self, stream: str, records: Iterable[dict[str, t.Any]], time_extracted: str
    ) -> int:
        """Write a page's RECORD messages at once: the same lines as :meth:`write_record`.

        One ``encode_lines`` call for the whole page instead of a call per record, and the
        page lands in the buffer whole (a signal never finds half a line there).

        Args:
            stream: Stream name.
            records: The page's records, already in their final shape.
            time_extracted: RFC 3339 time the page was read.

        Returns:
            How many records were written.
        """
        messages = [
            {"type": "RECORD", "stream": stream, "record": record, "time_extracted": time_extracted}
            for record in records
        ]
        if messages:
            records_buffer = self._records
            records_buffer += _encode_lines(messages)
            self.since_state += len(messages)
            if len(records_buffer) > _MAX_BUFFERED_BYTES:
                self.flush()
        return len(messages)
