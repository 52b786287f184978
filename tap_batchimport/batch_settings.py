"""The ``batch_config`` this tap accepts: JSON Lines files on a local disk, checked up front.

The SDK reads ``batch_config`` leniently (any format, any fsspec root, unknown keys
ignored) and its JSON Lines writer gzips whatever ``compression`` says. Here every key is
checked before any request, and whatever the tap cannot write safely is refused with
one line: a setting that silently did nothing (a typo such as ``batch_size_rows``) would
leave the user believing files roll over when they do not.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from singer_sdk import typing as th

from tap_batchimport.sdk_private import BaseBatchFileEncoding, BatchConfig, StorageTarget

if t.TYPE_CHECKING:
    from collections.abc import Mapping

#: Rows per file unless ``batch_config.batch_size`` says otherwise (the SDK's default).
DEFAULT_BATCH_SIZE = 10_000

#: The setting, described for ``--about`` and Meltano. No constraints here on purpose:
#: :func:`batch_config_errors` says what is wrong in words a user can act on.
BATCH_SETTINGS = th.PropertiesList(
    th.Property(
        "batch_config",
        th.ObjectType(
            th.Property(
                "encoding",
                th.ObjectType(
                    th.Property("format", th.StringType, description="jsonl (the only one)"),
                    th.Property("compression", th.StringType, description="gzip (default) or none"),
                ),
            ),
            th.Property(
                "storage",
                th.ObjectType(
                    th.Property(
                        "root",
                        th.StringType,
                        description="Local folder of the files: file:///path or a path",
                    ),
                    th.Property("prefix", th.StringType, description="Start of file names"),
                ),
                description="Where files are written (required)",
            ),
            th.Property(
                "batch_size",
                th.IntegerType,
                description=(
                    f"Rows after which a file is closed and announced, at the next page "
                    f"end (default {DEFAULT_BATCH_SIZE:,})"
                ),
            ),
        ),
        title="Batch configuration",
        description=(
            "Write rows to JSON Lines files announced by BATCH messages instead of RECORD "
            "messages (docs/batch.md). The state moves only after each file's BATCH message."
        ),
    ),
)

_KEYS = {"encoding", "storage", "batch_size"}
_ENCODING_KEYS = {"format", "compression"}
_STORAGE_KEYS = {"root", "prefix"}
_COMPRESSIONS = ("gzip", "none")


@dataclass(frozen=True)
class BatchSettings:
    """Where and how the tap writes batch files.

    Attributes:
        root: The folder the files are written to.
        prefix: Start of every file name.
        gzip: Whether files are gzip-compressed.
        size: Rows after which a file is closed at the next page boundary.
    """

    root: Path
    prefix: str
    gzip: bool
    size: int

    @property
    def encoding(self) -> BaseBatchFileEncoding:
        """The encoding BATCH messages announce (what the target decodes by)."""
        return BaseBatchFileEncoding(format="jsonl", compression="gzip" if self.gzip else "none")

    def sdk_config(self) -> BatchConfig:
        """The same settings as the SDK's ``BatchConfig`` (which has no defaults)."""
        return BatchConfig(
            encoding=self.encoding,
            storage=StorageTarget(root=self.root.as_uri(), prefix=self.prefix),
            batch_size=self.size,
        )

    @property
    def suffix(self) -> str:
        """The files' name extension."""
        return ".jsonl.gz" if self.gzip else ".jsonl"


def batch_config_errors(config: Mapping[str, t.Any]) -> list[str]:
    """Why ``batch_config`` cannot be used as given (empty when it can, or is not set).

    Args:
        config: The tap config.

    Returns:
        One line per problem.
    """
    raw = config.get("batch_config")
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return ["batch_config must be an object (see docs/batch.md)"]
    errors = [
        f"batch_config.{key} is not a setting this tap knows (it knows "
        f"{', '.join(sorted(_KEYS))}; the file size is batch_config.batch_size)"
        for key in sorted(set(raw) - _KEYS)
    ]
    encoding = raw.get("encoding") or {}
    storage = raw.get("storage")
    if not isinstance(encoding, dict):
        errors.append("batch_config.encoding must be an object")
        encoding = {}
    errors += [
        f"batch_config.encoding.{key} is not supported (only format and compression)"
        for key in sorted(set(encoding) - _ENCODING_KEYS)
    ]
    if encoding.get("format", "jsonl") != "jsonl":
        errors.append(
            f"batch_config.encoding.format {encoding['format']!r} is not supported: "
            "this tap writes jsonl batch files only"
        )
    if encoding.get("compression", "gzip") not in _COMPRESSIONS:
        errors.append(
            f"batch_config.encoding.compression {encoding['compression']!r} is not "
            "supported: use gzip or none"
        )
    if not isinstance(storage, dict) or not storage.get("root"):
        errors.append("batch_config.storage.root is required: the folder batch files go to")
    else:
        errors += [
            f"batch_config.storage.{key} is not supported (only root and prefix)"
            for key in sorted(set(storage) - _STORAGE_KEYS)
        ]
        if _local_path(str(storage["root"])) is None:
            errors.append(
                f"batch_config.storage.root {storage['root']!r} is not supported: batch "
                "files go to a local folder (file:///path or a path)"
            )
        if not isinstance(storage.get("prefix", ""), str) or "/" in storage.get("prefix", ""):
            errors.append("batch_config.storage.prefix must be a file name prefix (no '/')")
    size = raw.get("batch_size", DEFAULT_BATCH_SIZE)
    if type(size) is not int or size < 1:
        errors.append(f"batch_config.batch_size must be an integer >= 1, not {size!r}")
    return errors


def batch_settings(config: Mapping[str, t.Any]) -> BatchSettings | None:
    """The batch settings of a config checked by :func:`batch_config_errors`.

    Args:
        config: The tap config.

    Returns:
        The settings, or None when the tap writes RECORD messages (or the config was not
        checked, as for ``--discover``, and cannot be used).
    """
    raw = config.get("batch_config")
    if not raw or batch_config_errors(config):
        return None
    encoding = raw.get("encoding") or {}
    storage = raw["storage"]
    root = _local_path(str(storage["root"]))
    assert root is not None  # noqa: S101  # refused by batch_config_errors otherwise
    return BatchSettings(
        root=root,
        prefix=str(storage.get("prefix") or ""),
        gzip=encoding.get("compression", "gzip") == "gzip",
        size=int(raw.get("batch_size", DEFAULT_BATCH_SIZE)),
    )


def _local_path(root: str) -> Path | None:
    # file:///abs, file://localhost/abs or a plain path; any other scheme is remote.
    parts = urlsplit(root)
    if parts.scheme == "file" and parts.netloc in {"", "localhost"}:
        return Path(unquote(parts.path)).absolute()
    if parts.scheme == "" or (len(parts.scheme) == 1 and root[1:3] in {":\\", ":/"}):
        return Path(root).expanduser().absolute()
    return None
