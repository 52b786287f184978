"""What a Meltano run of the demo must load, from the emulator's demo data; and Meltano.

Shared by the DuckDB and PostgreSQL end-to-end tests.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest

from emulator.scenarios import DEMO_CONFIG_IDS

if t.TYPE_CHECKING:
    from emulator.server import Dataset

ROOT = Path(__file__).resolve().parent.parent

#: The contract's primary keys, by stream (= table).
PRIMARY_KEYS = {
    "job_details": ["source", "job_id"],
    "user_import_errors": ["job_id", "row_number"],
    "imported_users": ["job_id", "row_number"],
    "imported_events": ["job_id", "row_number"],
    "event_import_errors": ["job_id", "row_number"],
    "bulk_results": ["bulk_id", "id"],
    "config_import_results": ["job_id", "object_type", "category", "position"],
}
RESULT_TABLES = sorted(set(PRIMARY_KEYS) - {"job_details"})


def meltano_executable() -> str:
    """The project's Meltano (``make meltano`` installs it); fails the test when missing."""
    for candidate in (os.environ.get("MELTANO"), ROOT / ".meltano" / "cli" / "bin" / "meltano"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(
        "Meltano is not installed (.meltano/cli/bin/meltano is missing): run `make test`, "
        "which installs it and its plugins, or `make meltano` before running pytest directly"
    )


def sailpoint_rows(document: dict[str, t.Any] | None) -> int:
    """Messages and imported objects in a SailPoint download document."""
    results = (document or {}).get("results") or {}
    if set(results) == {"results"}:  # the vendor example's doubly nested shape
        results = results["results"]
    lists = ("infos", "warnings", "errors", "importedObjects")
    return sum(len(entry.get(name) or []) for entry in results.values() for name in lists)


def finished_user_jobs(dataset: Dataset) -> list[t.Any]:
    """The demo's configured Fullstory users jobs that have finished."""
    ids = DEMO_CONFIG_IDS["fullstory_user_import_job_ids"]
    return [
        j
        for j in dataset.fullstory_jobs
        if j.kind == "users" and j.job_id in ids and j.status in {"COMPLETED", "FAILED"}
    ]


def expected_rows(dataset: Dataset) -> dict[str, int]:
    """Rows per table implied by the emulator's data and the demo's configured job ids."""
    event_ids = DEMO_CONFIG_IDS["fullstory_event_import_job_ids"]
    user_ids = DEMO_CONFIG_IDS["fullstory_user_import_job_ids"]
    sp_ids = DEMO_CONFIG_IDS["sailpoint_import_job_ids"]
    assert DEMO_CONFIG_IDS["druid_bulk_ids"] == []  # every bulk is discovered
    events = [
        j
        for j in dataset.fullstory_jobs
        if j.kind == "events" and j.job_id in event_ids and j.status in {"COMPLETED", "FAILED"}
    ]
    users = finished_user_jobs(dataset)
    bulks = [b for b in dataset.druid_bulks if b.status in {"completed", "failed"}]
    imports = [
        j
        for j in dataset.sailpoint_jobs
        if j.job_id in sp_ids and j.status == "COMPLETE" and not j.download_gone
    ]
    return {
        "job_details": len(user_ids) + len(event_ids) + len(dataset.druid_bulks) + len(sp_ids),
        "imported_users": sum(len(j.imports) for j in users),
        "user_import_errors": sum(len(j.errors) for j in users),
        "imported_events": sum(len(j.imports) for j in events),
        "event_import_errors": sum(len(j.errors) for j in events),
        "bulk_results": sum(len(b.results) for b in bulks),
        "config_import_results": sum(sailpoint_rows(j.document) for j in imports),
    }
