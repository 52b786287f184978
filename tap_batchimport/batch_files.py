"""One stream's batch files, and the ledger updates that wait for their BATCH messages.

In batch mode a stream's rows go to JSON Lines files that a BATCH message announces to
the target; until then no target has them. Every ledger update that claims rows (a
page's cursor, a job's done mark, its settlement) is therefore held here until the file
holding those rows has been announced, and only then applied: the STATE written after
the BATCH message names exactly the rows of the files announced so far.

A file is closed once it holds ``batch_size`` rows, at the next page boundary, so a
job interrupted mid-way re-emits at most one file. It is written under a ``.part``
name and renamed when complete: a manifest never names a file being written, and a run
that dies mid-file leaves only a ``.part`` file that no BATCH message names (removed at
once when the run stops by an exception or a signal; left behind by ``kill -9``).
"""

from __future__ import annotations

import contextlib
import gzip
import typing as t
from uuid import uuid4

import msgspec
from singer_sdk.contrib.msgspec import enc_hook

if t.TYPE_CHECKING:
    from pathlib import Path

    from tap_batchimport.batch_settings import BatchSettings

#: A ledger update to apply once the rows it claims are out.
Update = t.Callable[[], object]

#: Encoded rows are handed to the file (and its compressor) in chunks of about this size.
_CHUNK_BYTES = 1 << 20

#: zlib level of gzip files: the files are read once, soon, by a target on the same
#: network; level 1 costs a third of the default's CPU time for files ~15% larger.
GZIP_LEVEL = 1

_encode_into = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number").encode_into


class BatchFileError(Exception):
    """A batch file could not be written (one line: the file and the system's reason)."""


class BatchFiles:
    """The files of one sync of one stream, written one after another."""

    def __init__(self, settings: BatchSettings, tap_name: str, stream_name: str) -> None:
        """Prepare to write files; the first one is opened with the first row.

        Args:
            settings: Where and how to write files.
            tap_name: The tap's name (starts every file name, as the SDK's files do).
            stream_name: The stream's name.
        """
        self._settings = settings
        self._base = f"{settings.prefix}{tap_name}--{stream_name}-{uuid4().hex}"
        self._files_closed = 0
        self._file: t.BinaryIO | None = None
        self._raw: t.BinaryIO | None = None
        self._path: Path | None = None
        self._buffer = bytearray()
        self._line = bytearray(256)
        #: Rows written to the open file.
        self.rows = 0
        #: Rows of the open file when the last page ended (a file closes only there).
        self._page_boundary = 0
        #: Updates whose rows are all in the open file (or were in no file at all).
        self._waiting: list[Update] = []
        #: Updates of the file just closed: applied once its BATCH message is out.
        self._closed: list[Update] = []

    # -- rows -------------------------------------------------------------------------------

    def write(self, record: dict[str, t.Any]) -> None:
        """Add a row to the open file (opening one if needed).

        Args:
            record: The record, in its final shape.
        """
        if self._file is None:
            self._open()
        line = self._line
        _encode_into(record, line)
        buffer = self._buffer
        buffer += line
        buffer += b"\n"
        self.rows += 1
        if len(buffer) >= _CHUNK_BYTES:
            self._flush_buffer()

    def page_end(self, update: Update) -> None:
        """A page's rows are all written: its update waits for the file's BATCH message.

        Args:
            update: The ledger update claiming the page's rows.
        """
        self._waiting.append(update)
        self._page_boundary = self.rows

    @property
    def full(self) -> bool:
        """Whether the open file should be closed before the next row: full, at a page end."""
        return self.rows >= self._settings.size and self._page_boundary == self.rows

    # -- files ------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Finish the open file; its updates wait for :meth:`announced`.

        Returns:
            The BATCH message's manifest: the file's URL.

        Raises:
            BatchFileError: The file could not be finished.
        """
        file, path = self._file, self._path
        assert file is not None  # noqa: S101  # a file is open once a row is written
        assert path is not None  # noqa: S101  # idem
        try:
            self._flush_buffer()
            file.close()
            if self._raw is not None:
                self._raw.close()
            self._part(path).replace(path)
        except OSError as exc:
            raise _error(path, exc) from None
        url = path.as_uri()
        self._file = self._raw = self._path = None
        self.rows = self._page_boundary = 0
        self._closed, self._waiting = self._waiting, []
        return [url]

    def announced(self) -> None:
        """The closed file's BATCH message is out: apply the updates claiming its rows."""
        closed, self._closed = self._closed, []
        for update in closed:
            update()

    def apply_without_file(self) -> bool:
        """Apply the waiting updates when the open file holds no row (nothing to announce).

        Returns:
            Whether any update was applied.
        """
        if self.rows or not self._waiting:
            return False
        self._closed, self._waiting = self._waiting, []
        self.announced()
        return True

    def discard(self) -> None:
        """Remove a file left unfinished (the sync stopped early); its updates are dropped."""
        if self._path is None:
            return
        part = self._part(self._path)
        with contextlib.suppress(OSError):
            if self._file is not None:
                self._file.close()
            if self._raw is not None:
                self._raw.close()
        with contextlib.suppress(OSError):
            part.unlink()
        self._file = self._raw = self._path = None
        self._waiting.clear()

    def _open(self) -> None:
        settings = self._settings
        self._files_closed += 1
        path = settings.root / f"{self._base}-{self._files_closed}{settings.suffix}"
        try:
            settings.root.mkdir(parents=True, exist_ok=True)
            raw: t.BinaryIO = self._part(path).open("wb")
        except OSError as exc:
            raise _error(path, exc) from None
        self._path = path
        if settings.gzip:
            self._raw = raw
            self._file = t.cast(
                "t.BinaryIO", gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL)
            )
        else:
            self._file = raw

    def _flush_buffer(self) -> None:
        if not self._buffer:
            return
        file, path = self._file, self._path
        assert file is not None  # noqa: S101  # a file is open once a row is written
        assert path is not None  # noqa: S101  # idem
        try:
            file.write(self._buffer)
        except OSError as exc:
            raise _error(path, exc) from None
        self._buffer.clear()

    @staticmethod
    def _part(path: Path) -> Path:
        return path.with_name(path.name + ".part")


def _error(path: Path, exc: OSError) -> BatchFileError:
    return BatchFileError(f"Cannot write batch file {path}: {exc.strerror or exc}")
