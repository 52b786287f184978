"""The page check in C (page_check.py) against conform.py's record-by-record check.

The C check may refuse a record the Python check accepts (that page only takes the slower
path), never the other way round: a value it let through would go out unrepaired. Every
field schema below meets every value below, alone and inside objects and arrays.
"""

from __future__ import annotations

import copy
import datetime as dt
import typing as t

import pytest

from tap_batchimport.conform import RecordConformer, is_rfc3339
from tap_batchimport.druid.streams import BulkResultsStream
from tap_batchimport.fullstory.streams import (
    EventImportErrorsStream,
    ImportedEventsStream,
    ImportedUsersStream,
    UserImportErrorsStream,
)
from tap_batchimport.job_details import JobDetailsStream
from tap_batchimport.sailpoint.streams import ConfigImportResultsStream

VALUES: list[t.Any] = [
    None,
    True,
    False,
    0,
    1,
    -7,
    2**70,
    1.0,
    1.5,
    "",
    "a",
    "1",
    "1.5",
    "a\n",
    "2024-02-29T10:00:00Z",
    "2023-02-29T10:00:00Z",
    "2024-04-31T10:00:00Z",
    "2024-01-31T10:00:00.123456+05:30",
    "2024-01-31 10:00:00Z",
    "2024-01-31T10:00:00",
    "2024-01-31T10:00:00Z\n",
    "0000-01-01T00:00:00Z",
    [],
    [1, 2],
    [None],
    ["a", 1],
    {},
    {"id": "u1"},
    {"id": 1},
    {"id": "u1", "other": [1]},
    {"nested": {"deep": True}},
]

FIELD_SCHEMAS: list[dict[str, t.Any]] = [
    {},
    {"type": "string"},
    {"type": ["string", "null"]},
    {"type": ["string", "null"], "format": "date-time"},
    {"type": "string", "format": "date-time"},
    {"type": ["integer", "null"]},
    {"type": "integer"},
    {"type": ["number", "null"]},
    {"type": ["boolean", "null"]},
    {"type": ["string", "integer", "null"]},
    {"type": ["integer", "number"]},
    {"type": ["object", "null"], "additionalProperties": True},
    {"type": ["object", "null"], "properties": {"id": {"type": ["string", "null"]}}},
    {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False},
    {"type": ["object", "null"], "properties": {}, "additionalProperties": False},
    {"type": ["object", "string"], "properties": {"id": {"type": "string"}}},
    {"type": ["array", "null"]},
    {"type": ["array", "null"], "items": {"type": "integer"}},
    {"type": "array", "items": {"type": ["integer", "null"]}},
    {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
    {"type": ["string", "null"], "enum": ["a", "1"]},
    {"type": ["integer", "null"], "enum": [0, 1, "a"]},
    {"type": ["number", "null"], "enum": [1]},
    {"type": ["null"]},
]


def record_schema(field: dict[str, t.Any], *, required: bool = False) -> dict[str, t.Any]:
    properties = {"key": {"type": "string"}, "value": field}
    return {"properties": properties, "required": ["key", "value"] if required else ["key"]}


def checker(schema: dict[str, t.Any]) -> t.Callable[[list[dict[str, t.Any]]], bool] | None:
    return RecordConformer(schema).page_fits


@pytest.mark.parametrize("field", FIELD_SCHEMAS)
def test_c_check_never_passes_what_python_refuses(field):
    for required in (False, True):
        schema = record_schema(field, required=required)
        check = checker(schema)
        python = RecordConformer(schema).shape.fits
        for value in VALUES:
            for record in ({"key": "k", "value": value}, {"key": "k", "value": [value, value]}):
                if check is not None and check([copy.deepcopy(record)]):
                    assert python(record), (field, record)


@pytest.mark.parametrize("field", FIELD_SCHEMAS)
def test_values_of_the_declared_type_take_the_c_path(field):
    # The check is worth having only if what fits passes it: every value Python accepts
    # passes in C too, for every field schema but the enum of mixed types.
    schema = record_schema(field)
    check = checker(schema)
    assert check is not None
    python = RecordConformer(schema).shape.fits
    fitting = [v for v in VALUES if python({"key": "k", "value": v})]
    assert fitting, field
    passed = [v for v in fitting if check([{"key": "k", "value": v}])]
    if field.get("enum") == [1]:
        assert passed == [v for v in fitting if type(v) is int or v is None]  # 1.0 refused
    else:
        assert passed == fitting


def test_a_record_without_its_key_or_with_an_undeclared_field_is_refused():
    check = checker(record_schema({"type": "string"}))
    assert check is not None
    assert check([{"key": "k", "value": "v"}, {"key": "k2"}])
    assert not check([{"key": "k", "value": "v"}, {"value": "v"}])
    assert not check([{"key": None}])
    assert not check([{"key": "k", "other": 1}])


def test_field_names_that_are_not_python_names():
    schema = {"properties": {"1st-order": {"type": "integer"}, "class": {"type": "string"}}}
    check = checker(schema)
    assert check is not None
    assert check([{"1st-order": 1, "class": "x"}])
    assert not check([{"1st-order": "1"}])


def test_an_enum_msgspec_cannot_express_leaves_the_page_to_python():
    schema = record_schema({"type": ["boolean", "number"], "enum": [True, 1.5]})
    assert checker(schema) is None
    conformer = RecordConformer(schema)
    fit = conformer.page([{"key": "k", "value": 1.5}, {"key": "k", "value": 2.5}])
    assert [r["schema_mismatches"] for r in fit.records] == [
        None,
        {"value": {"value": 2.5, "expected": "boolean or number (one of True, 1.5)"}},
    ]


@pytest.mark.parametrize(
    "stream",
    [
        BulkResultsStream,
        ConfigImportResultsStream,
        EventImportErrorsStream,
        ImportedEventsStream,
        ImportedUsersStream,
        JobDetailsStream,
        UserImportErrorsStream,
    ],
)
def test_every_stream_of_the_tap_has_a_page_check(stream):
    assert RecordConformer(stream.schema).page_fits is not None


def test_a_page_with_one_misfit_comes_out_as_the_python_path_makes_it():
    schema = record_schema({"type": ["integer", "null"]})
    conformer = RecordConformer(schema)
    page = [{"key": str(n), "value": n} for n in range(5)]
    page[3]["value"] = "3"  # converted
    page[4]["value"] = "x"  # set aside
    fit = conformer.page(copy.deepcopy(page))
    assert [r["value"] for r in fit.records] == [0, 1, 2, 3, None]
    assert fit.mismatches == 1
    assert fit.records[4]["schema_mismatches"] == {"value": {"value": "x", "expected": "integer"}}
    assert all(r["undeclared_fields"] is None for r in fit.records)


def test_the_date_time_pattern_knows_the_calendar():
    for year in (1900, 2000, 2023, 2024, 2100, 2400):
        for month in range(1, 13):
            for day in range(1, 32):
                try:
                    dt.date(year, month, day)
                    real = True
                except ValueError:
                    real = False
                text = f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"
                assert is_rfc3339(text) is real, text
    assert not is_rfc3339("0000-01-01T00:00:00Z")  # no year 0 in loaders
