"""A whole page checked against its stream's schema in one C call, before any Python loop.

Nearly every page a vendor sends fits its schema as it is. Checking that record by record
in Python costs about a microsecond a record, a second per million rows; msgspec checks
a page converted to typed objects (``msgspec.convert``) in about a sixth of that. The
types built here only *check*: what they build is thrown away, and a page they refuse
takes conform.py's record-by-record path, which decides what each value becomes.

The types are built from conform.py's compiled shape, not from the schema again, so the
two read a schema the one way. A type here must never accept a value conform.py's check
refuses (that value would go out unrepaired); refusing one it accepts only costs time.
``tests/test_page_check.py`` compares the two on every kind of value and schema. A shape
these types cannot express gets no page check (None), and its pages all take the Python
path.
"""

from __future__ import annotations

import typing as t
from itertools import count

import msgspec

from tap_batchimport.timestamps import RFC3339_PATTERN

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: Struct class names must differ only for repr; a counter keeps them apart.
_names = count()
_NONE = type(None)


class CheckedField(t.Protocol):
    """What the page check reads of one compiled field (conform.py's ``_Field``)."""

    @property
    def types(self) -> frozenset[type] | None:
        """Python types of a value that fits (None: anything fits)."""

    @property
    def date_time(self) -> bool:
        """Whether a string must be an RFC 3339 date-time."""

    @property
    def enum(self) -> frozenset[t.Any] | None:
        """The values allowed, if the schema lists them."""

    @property
    def shape(self) -> CheckedShape | None:
        """The declared fields of an object value, if checked."""

    @property
    def items(self) -> CheckedField | None:
        """The field of an array's items, if checked."""


class CheckedShape(t.Protocol):
    """What the page check reads of a compiled object (conform.py's ``_Shape``)."""

    @property
    def fields(self) -> Mapping[str, CheckedField]:
        """The declared fields, by name."""

    @property
    def open(self) -> bool:
        """Whether fields it does not declare are allowed."""

    @property
    def required(self) -> tuple[str, ...]:
        """Fields that must be there and not null."""


class UnsupportedSchemaError(TypeError):
    """A shape the page check cannot express exactly (its pages take the Python path)."""


def page_checker(shape: CheckedShape) -> Callable[[list[dict[str, t.Any]]], bool] | None:
    """Compile a record's shape into a check of whole pages.

    Args:
        shape: The record's compiled shape.

    Returns:
        ``check(records) -> bool`` (True: every record fits as it is), or None when the
        shape has something the check cannot express.
    """
    try:
        page_type = list[_struct(shape)]  # type: ignore[misc, valid-type]
        msgspec.json.Decoder(page_type)  # refuses a type msgspec cannot check, now
    except TypeError:  # UnsupportedSchemaError included
        return None

    def check(records: list[dict[str, t.Any]]) -> bool:
        try:
            msgspec.convert(records, page_type)
        except msgspec.ValidationError:
            return False
        return True

    return check


def _struct(shape: CheckedShape) -> type[msgspec.Struct]:
    # An object's declared fields; an open one ignores others, as conform.py does.
    fields: list[tuple[str, t.Any] | tuple[str, t.Any, t.Any]] = []
    rename: dict[str, str] = {}
    for position, (name, declared) in enumerate(shape.fields.items()):
        attribute = f"f{position}"  # JSON names need not be Python identifiers
        rename[attribute] = name
        if name in shape.required:
            fields.append((attribute, _value_type(declared, nullable=False)))
        else:
            fields.append((attribute, _value_type(declared, nullable=True), None))
    return msgspec.defstruct(
        f"Checked{next(_names)}",
        fields,
        rename=rename,
        kw_only=True,  # required fields may follow optional ones
        forbid_unknown_fields=not shape.open,
        gc=False,
    )


def _value_type(declared: CheckedField, *, nullable: bool) -> t.Any:  # noqa: ANN401
    # The type of one field: its types, and its closer look (conform._Field.fits) as types.
    types = declared.types
    if types is None:
        return t.Any
    members: list[t.Any]
    if declared.date_time:  # conform.py checks the format alone (enum or not)
        members = [t.Annotated[str, msgspec.Meta(pattern=RFC3339_PATTERN)]]
    elif declared.enum is not None:
        members = [_enum_type(declared.enum, types)]
    else:
        members = [_container(tp, declared) for tp in types if tp is not _NONE]
    if _NONE in types and nullable:
        members.append(None)
    if not members:
        msg = "a field nothing fits, or a required one that can only be null"
        raise UnsupportedSchemaError(msg)
    union = members[0]
    for member in members[1:]:
        union = t.Union[union, member]  # noqa: UP007 - members are types built at run time
    return union


def _container(tp: type, declared: CheckedField) -> t.Any:  # noqa: ANN401
    # An object's declared fields or an array's items are checked inside it.
    if tp is dict and declared.shape is not None:
        return _struct(declared.shape)
    if tp is list and declared.items is not None:
        return list[_value_type(declared.items, nullable=True)]  # type: ignore[misc]
    return tp


def _enum_type(enum: frozenset[t.Any], types: frozenset[type]) -> t.Any:  # noqa: ANN401
    # conform.py wants a value of a declared type *and* in the enum; a Literal of the
    # members of a declared type is that (msgspec's Literal takes str and int only).
    members = sorted((v for v in enum if type(v) in types and v is not None), key=repr)
    if not members or any(type(value) not in (str, int) for value in members):
        msg = f"enum {sorted(enum, key=repr)}"
        raise UnsupportedSchemaError(msg)
    return t.Literal[tuple(members)]
