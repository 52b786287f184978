"""``job_ids_file``: new jobs handed over by the importing step, one ``source,job_id`` a line.

The step that pushes an import appends a line; every run reads the whole file and merges
it with the job-id settings, so no config needs editing when new jobs arrive.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from tap_batchimport.jobs import JobRef
from tap_batchimport.settings import job_id_errors, unique

if t.TYPE_CHECKING:
    from collections.abc import Collection


class JobIdsFileError(ValueError):
    """A line of the file is not ``source,job_id`` with a known source and a sane id."""


def read_job_ids_file(path: str, sources: Collection[str]) -> list[JobRef] | None:
    """Read the file: every job it names, each once, in file order.

    Args:
        path: The file (``~`` is expanded).
        sources: Known ``job_details.source`` values.

    Returns:
        The jobs, or None when the file does not exist (nothing new).

    Raises:
        JobIdsFileError: On the first line that is not usable, naming file and line.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8-sig")  # a BOM (PowerShell) is not data
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"job_ids_file {path}: cannot be read ({exc})"
        raise JobIdsFileError(msg) from None
    refs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"job_ids_file {path} line {number}"
        source, comma, job_id = (part.strip() for part in line.partition(","))
        if not comma or not source or "," in job_id:
            msg = f"{where}: expected 'source,job_id', got {line[:80]!r}"
            raise JobIdsFileError(msg)
        if source not in sources:
            msg = f"{where}: unknown source {source!r} (one of {', '.join(sorted(sources))})"
            raise JobIdsFileError(msg)
        if problems := job_id_errors(where, [job_id]):
            raise JobIdsFileError(problems[0].replace(f"{where}[0]", where))
        refs.append(JobRef(source, job_id))
    return unique(refs)
