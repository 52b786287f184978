"""What every record must be, whatever the vendor sent: valid against its stream's SCHEMA.

Checked with JSON Schema Draft 7 and a strict RFC 3339 ``date-time`` (a ``T``, seconds, a
zone, a real day), as a validating loader reads it.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

import jsonschema

#: The two fields every record carries, as a record that fits its schema has them.
CLEAN: dict[str, t.Any] = {"schema_mismatches": None, "undeclared_fields": None}

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))"
)

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def is_rfc3339(value: object) -> bool:
    """Strict RFC 3339 (no lowercase ``t``/``z`` leniency, no space, no missing zone)."""
    if not isinstance(value, str):
        return True  # the type keyword speaks for other types
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if match.group(9) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    try:
        dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001
    except ValueError:
        return False
    return True


def validator(schema: dict[str, t.Any]) -> jsonschema.Draft7Validator:
    """A Draft 7 validator of a stream's SCHEMA, date-times checked strictly."""
    body = {k: v for k, v in schema.items() if k != "$schema"}
    return jsonschema.Draft7Validator(body, format_checker=FORMATS)


def invalid_records(messages: t.Iterable[dict[str, t.Any]]) -> list[str]:
    """Every RECORD that does not validate against its stream's SCHEMA, with why."""
    validators: dict[str, jsonschema.Draft7Validator] = {}
    problems = []
    for message in messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = validator(message["schema"])
        elif message["type"] == "RECORD":
            check = validators[message["stream"]]
            problems.extend(
                f"{message['stream']} {message['record']!r:.200}: {error.message}"
                for error in check.iter_errors(message["record"])
            )
    return problems
