"""Reading what a batch-mode run announced: the rows of the files its BATCH messages name."""

from __future__ import annotations

import gzip
import json
import typing as t
from pathlib import Path
from urllib.parse import unquote, urlsplit


def batch_config(root: Path, *, batch_size: int, compression: str = "gzip") -> dict[str, t.Any]:
    """A ``batch_config`` writing to ``root``."""
    return {
        "encoding": {"format": "jsonl", "compression": compression},
        "storage": {"root": root.as_uri()},
        "batch_size": batch_size,
    }


def file_rows(message: dict[str, t.Any]) -> list[list[dict[str, t.Any]]]:
    """The rows of each file a BATCH message names, file by file."""
    files = []
    for url in message["manifest"]:
        parts = urlsplit(url)
        assert parts.scheme == "file", url
        path = Path(unquote(parts.path))
        data = path.read_bytes()
        if message["encoding"]["compression"] == "gzip":
            data = gzip.decompress(data)
        files.append([json.loads(line) for line in data.splitlines()])
    return files


def as_records(messages: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The messages with every BATCH message replaced by the RECORD messages of its rows.

    What a target that loads BATCH files receives, in RECORD form, so the checks written
    for RECORD mode apply unchanged.
    """
    out: list[dict[str, t.Any]] = []
    for message in messages:
        if message["type"] != "BATCH":
            out.append(message)
            continue
        for rows in file_rows(message):
            out += [{"type": "RECORD", "stream": message["stream"], "record": r} for r in rows]
    return out
