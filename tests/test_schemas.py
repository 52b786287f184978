"""The streams' schemas type open objects so that flattening keeps them (issue 18).

An object whose keys belong to the vendor or the user is ``{"type": ["object", "null"],
"additionalProperties": true}`` with no ``properties`` key; every other object lists its
properties. Checked on the tap's catalog, then through the SDK's own flattening: the tap's
real CLI with ``flattening_enabled`` (depths 1 and 3) against the emulator's demo data
emits records whose every key is a column of its flattened schema, and that rebuild into
the records of the same run unflattened (tests/landed.py does the rebuilding).
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t

import jsonschema
import pytest

from emulator.scenarios import demo_dataset, demo_tap_config
from emulator.server import VendorEmulator
from tap_batchimport.open_object import OPEN_OBJECT_SCHEMA
from tests.landed import Emitted, Landing, compare, rebuild

if t.TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import TapRun

#: The open objects issue 18 names (a stream's further open objects are checked too).
OPEN_OBJECTS = {
    "imported_users": {"properties", "schema", "type_conflicts"},
    "imported_events": {"properties", "schema"},
    "user_import_errors": {"user"},
    "event_import_errors": {"event", "shared"},
    "job_details": {"vendor_status", "row_count_mismatch"},
    "config_import_results": {"details"},
}


def catalog() -> dict[str, dict[str, t.Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "tap_batchimport", "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {s["tap_stream_id"]: s["schema"] for s in json.loads(proc.stdout)["streams"]}


def objects(node: dict[str, t.Any], path: str = "") -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    """Every object node below a schema node, with its dotted path."""
    for name, prop in node.get("properties", {}).items():
        types = prop.get("type", [])
        if "object" in types or "properties" in prop:
            yield f"{path}{name}", prop
            yield from objects(prop, f"{path}{name}.")


def test_open_objects_have_no_properties_key_and_others_list_theirs() -> None:
    schemas = catalog()
    assert set(OPEN_OBJECTS) <= set(schemas)
    found: dict[str, set[str]] = {}
    for stream, schema in schemas.items():
        for path, node in objects(schema):
            if "properties" in node:
                # A known shape: its properties, typed; an empty map is the flattening bug.
                assert node["properties"], f"{stream}.{path}: open object with properties {{}}"
            else:
                assert {k: v for k, v in node.items() if k != "description"} == OPEN_OBJECT_SCHEMA
                found.setdefault(stream, set()).add(path)
    # Every stream also has the two open objects of data that doesn't fit (issue 24).
    quality = {"schema_mismatches", "undeclared_fields"}
    assert found == {stream: OPEN_OBJECTS.get(stream, set()) | quality for stream in schemas}


def test_known_shapes_keep_their_types() -> None:
    events = catalog()["imported_events"]["properties"]
    context = events["context"]["properties"]
    assert set(context) == {"browser", "mobile", "device", "location"}
    for name in ("screen_width", "screen_height", "viewport_width", "viewport_height"):
        assert "integer" in context["device"]["properties"][name]["type"], name
    for name in ("latitude", "longitude"):
        assert "number" in context["location"]["properties"][name]["type"], name
    assert events["timestamp"]["format"] == "date-time"
    assert set(events["user"]["properties"]) == {"id", "uid"}


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, TapRun]:
    """The demo data extracted whole (depth 0) and with the tap flattening at depths 1, 3."""
    from tests.conftest import run_tap  # noqa: PLC0415 - conftest is not a package module

    tmp_path: Path = tmp_path_factory.mktemp("flattening")
    runs = {}
    with VendorEmulator(demo_dataset()) as emulator:
        config = demo_tap_config(emulator)
        runs[0] = run_tap(tmp_path, config)
        for depth in (1, 3):
            flattening = {"flattening_enabled": True, "flattening_max_depth": depth}
            runs[depth] = run_tap(tmp_path, {**config, **flattening})
    for depth, run in runs.items():
        assert run.returncode == 0, (depth, run.stderr[-3000:])
    return runs


@pytest.mark.parametrize("depth", [1, 3])
def test_tap_flattening_keeps_every_field(demo_runs: dict[int, TapRun], depth: int) -> None:
    whole, flat = Emitted(demo_runs[0].messages), Emitted(demo_runs[depth].messages)
    assert set(flat.streams) == set(whole.streams)
    for stream in whole.streams:
        schema = flat.schemas[stream]["schema"]
        records = flat.records(stream)
        assert records, stream
        for record in records:
            # A key the flattened schema does not declare is dropped by every target.
            undeclared = set(record) - set(schema["properties"])
            assert not undeclared, (stream, sorted(undeclared))
            jsonschema.validate(record, schema)
    # And the flattened records hold all the data: rebuilt, they are the whole records.
    landing = Landing(
        f"tap flattening depth {depth}",
        {stream: flat.records(stream) for stream in flat.streams},
    )
    problems = compare([flat], landing, reference=whole)
    assert not problems, "\n".join(problems[:30])


def test_open_objects_are_one_json_column_when_flattened(demo_runs: dict[int, TapRun]) -> None:
    whole, flat = Emitted(demo_runs[0].messages), Emitted(demo_runs[3].messages)
    for stream, fields in OPEN_OBJECTS.items():
        schema = flat.schemas[stream]["schema"]["properties"]
        whole_schema = whole.schemas[stream]["schema"]
        for field in fields:
            assert schema[field] == {"type": ["string", "null"]}, (stream, field)
            assert not [c for c in schema if c.startswith(f"{field}__")], (stream, field)
        values = [
            (r.get(field), rebuild(f, whole_schema).get(field))
            for r, f in zip(whole.records(stream), flat.records(stream), strict=True)
            for field in fields
        ]
        assert any(value is not None for value, _ in values), stream  # the demo fills them
        assert all(value == rebuilt for value, rebuilt in values), stream
