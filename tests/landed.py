"""Compare what the tap emitted with what a target loaded, field by field, from the schemas.

Nothing here names a stream's fields: the columns, their types and the primary keys all come
from the SCHEMA messages the tap wrote, so a field the tap gains is compared without any
change here. A landed row is a mapping of column to value as the target stored it; it is
rebuilt into the record's nesting before the comparison:

- a column ``a__b__c`` (flattening, the SDK's or a pipelinewise target's) is the field
  ``a.b.c``; column names match the schema's property names whatever their case (some
  targets lower-case them);
- a value that is a string where the schema says object or array is JSON text (a whole
  object kept as one column by flattening, or a JSON column read back as text);
- ``_sdc_*`` columns are the targets' own metadata and are ignored.

Both sides are then normalized the same way: date-times (by the schema's ``format``) are
compared as instants, a date-time the target stored without a zone being UTC; numbers by
value (250 == 250.0); and a key whose value is null is the same as a missing key, since a
flattened object cannot tell them apart. An object that only held nulls (the columns of a
flattened object the record did not have) is dropped too. Anything else must be equal:
a value the record had that landed as NULL, as another value or not at all is a mismatch.
"""

from __future__ import annotations

import json
import typing as t
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

SEPARATOR = "__"
METADATA_PREFIX = "_sdc_"


@dataclass(frozen=True)
class Emitted:
    """What one tap run wrote, split by message type."""

    messages: list[dict[str, t.Any]]

    @classmethod
    def parse(cls, text: str) -> Emitted:
        """Messages from the tap's stdout (or a file of it)."""
        lines = (line for line in text.splitlines() if line.startswith("{"))
        return cls([json.loads(line) for line in lines])

    @property
    def schemas(self) -> dict[str, dict[str, t.Any]]:
        """Each stream's (last) SCHEMA message."""
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    def records(self, stream: str) -> list[dict[str, t.Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def streams(self) -> list[str]:
        return list(self.schemas)

    @property
    def last_state(self) -> dict[str, t.Any] | None:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else None

    def records_after_last_state(self) -> int:
        """RECORD messages written after the run's last STATE (the contract says none)."""
        after = 0
        for message in self.messages:
            if message["type"] == "STATE":
                after = 0
            elif message["type"] == "RECORD":
                after += 1
        return after


# The schema.


def types_of(node: dict[str, t.Any] | None) -> set[str]:
    """Every JSON type a schema node allows (``anyOf``/``oneOf`` options included)."""
    if not node:
        return set()
    declared = node.get("type", [])
    out = {declared} if isinstance(declared, str) else set(declared)
    for option in [*node.get("anyOf", []), *node.get("oneOf", [])]:
        out |= types_of(option)
    return out


def is_date_time(node: dict[str, t.Any] | None) -> bool:
    if not node:
        return False
    options = [node, *node.get("anyOf", []), *node.get("oneOf", [])]
    return any(option.get("format") == "date-time" for option in options)


def child(node: dict[str, t.Any] | None, name: str) -> tuple[str, dict[str, t.Any] | None]:
    """A property of an object node, matched by name whatever its case, and its spelling."""
    properties = (node or {}).get("properties") or {}
    if name in properties:
        return name, properties[name]
    folded = {key.lower(): key for key in properties}
    if name.lower() in folded:
        key = folded[name.lower()]
        return key, properties[key]
    return name, None  # an open object's own key, or a column the schema does not declare


def rebuild(row: t.Mapping[str, t.Any], schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """A landed row back into the nesting of the record it came from."""
    out: dict[str, t.Any] = {}
    for column, value in row.items():
        if column.startswith(METADATA_PREFIX):
            continue
        node: dict[str, t.Any] | None = schema
        target = out
        segments = column.split(SEPARATOR)
        for depth, segment in enumerate(segments):
            name, node = child(node, segment)
            if depth == len(segments) - 1:
                target[name] = decode(value, node)
            else:
                target = target.setdefault(name, {})
    return out


def decode(value: t.Any, node: dict[str, t.Any] | None) -> t.Any:
    """JSON text where the schema says object or array (flattened, or read back as text)."""
    types = types_of(node)
    if isinstance(value, str) and types & {"object", "array"} and "string" not in types:
        return json.loads(value)
    return value


# Normalization.


def instant(value: t.Any) -> t.Any:
    """A date-time as a UTC instant (naive = UTC); anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat()


def normalize(value: t.Any, node: dict[str, t.Any] | None) -> t.Any:
    """The comparable form of a value of a schema node (see the module's docstring)."""
    if value is None:
        return None
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name, item_node = child(node, key)
            normalized = normalize(item, item_node)
            if normalized is not None:
                out[name] = normalized
        # All nulls: the columns of a flattened object the record did not have.
        return out if out or not value else None
    if isinstance(value, list):
        items = (node or {}).get("items")
        return [normalize(item, items) for item in value]
    if is_date_time(node):
        return instant(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The comparison.


@dataclass
class Landing:
    """One target's rows of every stream, and the state it wrote."""

    name: str
    rows: dict[str, list[dict[str, t.Any]]]
    #: Every row of both runs stays (target-jsonl): compare all emitted records, in order.
    append_only: bool = False


def primary_key(record: t.Mapping[str, t.Any], keys: t.Sequence[str]) -> tuple[t.Any, ...]:
    return tuple(json.dumps(record.get(k), sort_keys=True, default=str) for k in keys)


def compare(
    runs: t.Sequence[Emitted], landing: Landing, reference: Emitted | None = None
) -> list[str]:
    """Every difference between what the runs emitted and what landed, one line each.

    Args:
        runs: The tap runs that loaded into the target, in order.
        landing: What the target holds after the last of them.
        reference: An unflattened run whose records and schemas the landed rows must
            rebuild into, for runs whose tap flattened its own output (their records are
            compared with it, as the tap would have emitted them whole). Its records must
            be those of ``runs[0]``.

    Returns:
        The problems; empty when every record landed whole.
    """
    problems: list[str] = []
    schemas = (reference or runs[0]).schemas
    streams = sorted(schemas)
    missing_tables = sorted(set(streams) - set(landing.rows))
    if missing_tables:
        problems.append(f"{landing.name}: no table for {missing_tables}")
    for stream in streams:
        message = schemas[stream]
        schema, keys = message["schema"], message["key_properties"]
        if reference is not None:
            emitted = reference.records(stream)
            if len(runs) > 1:  # a rerun's records (job_details of pending jobs), rebuilt
                emitted += [rebuild(r, schema) for run in runs[1:] for r in run.records(stream)]
        else:
            emitted = [r for run in runs for r in run.records(stream)]
        landed = [rebuild(row, schema) for row in landing.rows.get(stream, [])]
        problems += compare_stream(
            landing, stream, schema=schema, keys=keys, emitted=emitted, landed=landed
        )
    return problems


def compare_stream(
    landing: Landing,
    stream: str,
    *,
    schema: dict[str, t.Any],
    keys: t.Sequence[str],
    emitted: list[dict[str, t.Any]],
    landed: list[dict[str, t.Any]],
) -> list[str]:
    where = f"{landing.name} {stream}"
    problems = []
    if not emitted:
        problems.append(f"{where}: the tap emitted no record (the demo data covers every stream)")
    key_counts = Counter(primary_key(row, keys) for row in landed)
    if landing.append_only:
        # Every record of every run, once each, in the order emitted.
        pairs = list(zip(emitted, landed, strict=False))  # counts compared just below
        if len(landed) != len(emitted):
            problems.append(f"{where}: {len(emitted)} records emitted, {len(landed)} rows landed")
    else:
        duplicated = [key for key, n in key_counts.items() if n > 1]
        if duplicated:
            problems.append(f"{where}: {len(duplicated)} keys loaded twice, e.g. {duplicated[0]}")
        # An upserting target keeps the last record of each key.
        last = {primary_key(record, keys): record for record in emitted}
        by_key = {primary_key(row, keys): row for row in landed}
        lost = [key for key in last if key not in by_key]
        extra = [key for key in by_key if key not in last]
        if lost:
            problems.append(f"{where}: {len(lost)} records never landed, e.g. {lost[0]}")
        if extra:
            problems.append(f"{where}: {len(extra)} rows nobody emitted, e.g. {extra[0]}")
        pairs = [(record, by_key[key]) for key, record in last.items() if key in by_key]
    properties = schema.get("properties", {})
    for record, row in pairs:
        key = primary_key(record, keys)
        for field in sorted(set(properties) | set(record) | set(row)):
            node = properties.get(field)
            want, got = normalize(record.get(field), node), normalize(row.get(field), node)
            if want != got:
                problem = (
                    "landed NULL" if got is None else "differs" if want is not None else "extra"
                )
                problems.append(
                    f"{where} {key} {field}: {problem}: emitted {short(want)}, landed {short(got)}"
                )
    return problems


def short(value: t.Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."
