"""A whole page checked against its stream's schema in one C call, before any Python loop.

Nearly every page a vendor sends fits its schema as it is. Checking that record by record
in Python costs about a microsecond a record, a second per million rows; msgspec checks
a page converted to typed objects (``msgspec.convert``) in about a sixth of that. The
types built here only *check*: what they build is thrown away, and a page they refuse
takes conform.py's record-by-record path, which decides what each value becomes.

So a type here must never accept a value conform.py's check refuses (that value would
go out unrepaired); refusing one it accepts only costs time. ``tests/test_page_check.py``
compares the two on every kind of value and schema. A schema these types cannot express
gets no page check (None), and its pages all take the Python path.
"""

from __future__ import annotations

import typing as t
from itertools import count

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: JSON type names and the Python types of a decoded value of each.
_SCALARS: dict[str, t.Any] = {
    "string": str,
    "integer": int,
    "number": int | float,
    "boolean": bool,
    "object": dict,
    "array": list,
}
#: Struct class names must differ only for repr; a counter keeps them apart.
_names = count()


class UnsupportedSchemaError(TypeError):
    """A schema the page check cannot express exactly (its pages take the Python path)."""


def page_checker(
    properties: Mapping[str, Mapping[str, t.Any]],
    required: Sequence[str],
    date_time_pattern: str,
) -> Callable[[list[dict[str, t.Any]]], bool] | None:
    """Compile a record schema (no other fields allowed) into a check of whole pages.

    Args:
        properties: The record's declared fields.
        required: Fields that must be there and not null.
        date_time_pattern: A regular expression a ``date-time`` string must match whole.

    Returns:
        ``check(records) -> bool`` (True: every record fits as it is), or None when the
        schema has something the check cannot express.
    """
    try:
        row = _struct(
            properties, closed=True, required=frozenset(required), pattern=date_time_pattern
        )
        page_type = list[row]  # type: ignore[valid-type]
        msgspec.json.Decoder(page_type)  # refuses a type msgspec cannot check, now
    except (UnsupportedSchemaError, TypeError):
        return None

    def check(records: list[dict[str, t.Any]]) -> bool:
        try:
            msgspec.convert(records, page_type)
        except msgspec.ValidationError:
            return False
        return True

    return check


def _struct(
    properties: Mapping[str, Mapping[str, t.Any]],
    *,
    closed: bool,
    required: frozenset[str],
    pattern: str,
) -> type[msgspec.Struct]:
    # An object's declared fields; an open object ignores others, as conform.py does.
    fields: list[tuple[str, t.Any] | tuple[str, t.Any, t.Any]] = []
    rename: dict[str, str] = {}
    for position, (name, schema) in enumerate(properties.items()):
        attribute = f"f{position}"  # JSON names need not be Python identifiers
        rename[attribute] = name
        if name in required:
            fields.append((attribute, _value_type(schema, pattern, nullable=False)))
        else:
            fields.append((attribute, _value_type(schema, pattern, nullable=True), None))
    return msgspec.defstruct(
        f"Checked{next(_names)}",
        fields,
        rename=rename,
        kw_only=True,  # required fields may follow optional ones
        forbid_unknown_fields=closed,
        gc=False,
    )


def _value_type(schema: Mapping[str, t.Any], pattern: str, *, nullable: bool) -> t.Any:  # noqa: ANN401
    # The type of one field, read from its schema as conform._Field reads it.
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    if not names:
        return t.Any  # declared without a type: anything fits
    kinds = [name for name in names if name != "null"]
    if any(kind not in _SCALARS for kind in kinds):
        raise UnsupportedSchemaError(str(declared))
    single = kinds[0] if len(kinds) == 1 else None
    members: list[t.Any] = [_kind_type(kind, schema, pattern, single=single) for kind in kinds]
    enum = schema.get("enum")
    if isinstance(enum, list) and not (single == "string" and schema.get("format") == "date-time"):
        members = [_enum_type(enum, kinds)]
    if "null" in names and nullable:
        members.append(None)
    if not members:
        msg = "a required field that can only be null"
        raise UnsupportedSchemaError(msg)
    union = members[0]
    for member in members[1:]:
        union = t.Union[union, member]  # noqa: UP007 - members are types built at run time
    return union


def _kind_type(  # noqa: ANN202 - a type built at run time
    kind: str, schema: Mapping[str, t.Any], pattern: str, *, single: str | None
):
    # Nested shapes, items and formats count only when the field has one kind (conform.py).
    if single == "string" and schema.get("format") == "date-time":
        return t.Annotated[str, msgspec.Meta(pattern=pattern)]
    if single == "object":
        properties = schema.get("properties") or {}
        closed = schema.get("additionalProperties") is False
        if properties or closed:
            return _struct(properties, closed=closed, required=frozenset(), pattern=pattern)
    if single == "array" and isinstance(schema.get("items"), dict):
        return list[_value_type(schema["items"], pattern, nullable=True)]  # type: ignore[misc]
    return _SCALARS[kind]


def _enum_type(enum: list[t.Any], kinds: list[str]) -> t.Any:  # noqa: ANN401
    # conform.py wants a value of a declared type *and* in the enum; a Literal of the
    # members of a declared type is that (msgspec's Literal takes str and int only).
    types = {tp for kind in kinds for tp in t.get_args(_SCALARS[kind]) or (_SCALARS[kind],)}
    members = [value for value in enum if type(value) in types]
    if not members or any(type(value) not in (str, int) for value in members):
        msg = f"enum {enum}"
        raise UnsupportedSchemaError(msg)
    return t.Literal[tuple(members)]
