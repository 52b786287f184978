"""Every record fits its stream's schema, whatever the vendor sent: repaired, or set aside.

Vendors change shapes without notice. A record that does not validate against its SCHEMA
stops a loader that validates (the whole nightly load, every night), so each record is
made to fit before it is written:

- a value of the declared type passes as it is;
- a value that can be converted without losing anything is converted: a numeric string
  to an integer (or number), an integral float to an integer, epoch seconds or
  milliseconds (1990 to 2200) and ISO 8601 date-times with a zone to RFC 3339;
- any other value (an object where a string is declared, ``"garbage"`` or ``""`` for a
  date-time, a date-time without a zone) leaves the typed field null and goes verbatim
  into the record's ``schema_mismatches`` as ``{"<path>": {"value": ..., "expected":
  "<declared type>"}}`` (paths join nested names with ``.``);
- top-level fields the schema does not declare go into the record's ``undeclared_fields``;
  inside a declared object they stay where they are when the object is open (it allows
  additional properties, as every object of the tap's schemas does), and go into
  ``undeclared_fields`` by path when it is not;
- a field the schema requires (the primary key) that is missing, null or unrepairable
  makes the row malformed (:class:`MalformedRowError`): the job fails, never a record
  with a null key.

The check is compiled once per stream: a page is checked whole in C first (see
page_check.py), then, if some record of it does not fit, record by record (a type lookup
per field); only a record that does not fit takes the slower repair.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import typing as t
from dataclasses import dataclass, field

import msgspec

from tap_batchimport.open_object import OPEN_OBJECT_SCHEMA
from tap_batchimport.page_check import page_checker
from tap_batchimport.timestamps import RFC3339_PATTERN, parse_timestamp

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

#: ``schema_mismatch_policy`` values: keep the value aside (null it), or fail the job.
KEEP = "keep"
FAIL = "fail"

MISMATCHES = "schema_mismatches"
UNDECLARED = "undeclared_fields"
# The two fields above are open objects (see open_object.py): no ``properties`` key, so a
# target that flattens objects keeps each as one JSON column.
QUALITY_FIELDS: dict[str, dict[str, t.Any]] = {
    MISMATCHES: {
        **OPEN_OBJECT_SCHEMA,
        "description": (
            "Vendor values that did not fit their declared type, by field path: "
            '{"<path>": {"value": <the value as sent>, "expected": "<declared type>"}}; '
            "the typed field is null. Null when every value fitted"
        ),
    },
    UNDECLARED: {
        **OPEN_OBJECT_SCHEMA,
        "description": (
            "Fields the vendor sent that the schema does not declare, by name (by path "
            "inside an object that allows no others). Null when there were none"
        ),
    },
}

#: The two quality fields of a record that fits as it is.
_NO_FINDINGS: dict[str, None] = {MISMATCHES: None, UNDECLARED: None}

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}

#: RFC 3339 as loaders read it (see timestamps.py).
_RFC3339 = re.compile(RFC3339_PATTERN)
#: An ISO 8601 date-time that says its zone (a space for the ``T``, ``z``, ``+hhmm``).
_ISO_WITH_ZONE = re.compile(r".*\d(?:[Zz]|[+-]\d{2}:?\d{2})")
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
#: Epoch numbers read as date-times: 1990-01-01 to 2200-01-01, in seconds or milliseconds.
_EPOCH_SECONDS = (631_152_000, 7_258_118_400)
_MILLIS = 1000


class MalformedRowError(ValueError):
    """A row that cannot become a record: a required (key) field missing, null or unfit."""


def with_quality_fields(schema: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A stream schema with ``schema_mismatches`` and ``undeclared_fields`` added.

    Args:
        schema: The stream's schema.

    Returns:
        A copy with the two open objects added (after the stream's own fields).
    """
    return {**schema, "properties": {**schema.get("properties", {}), **QUALITY_FIELDS}}


def is_rfc3339(value: str) -> bool:
    """Whether a string is an RFC 3339 date-time a loader reads (a real day included).

    Args:
        value: The string.

    Returns:
        True when it is.
    """
    return _RFC3339.match(value) is not None


def as_json(value: t.Any) -> str:  # noqa: ANN401
    """A value as JSON text, shortened for a message.

    Args:
        value: The value.

    Returns:
        At most 80 characters.
    """
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004


@dataclass
class Findings:
    """What the repair of one record found."""

    mismatches: dict[str, dict[str, t.Any]] = field(default_factory=dict)
    undeclared: dict[str, t.Any] = field(default_factory=dict)

    def mismatch(self, path: str, value: t.Any, expected: str) -> None:  # noqa: ANN401
        """Note a value that does not fit (its field becomes null).

        Args:
            path: The field's path.
            value: The value as sent.
            expected: The declared type.
        """
        self.mismatches[path] = {"value": value, "expected": expected}


#: A value that does not fit and cannot be converted (a repair's "no").
_UNFIT = object()


class _AnyType(frozenset[type]):
    """The types of a field declared without a type: every one."""

    def __contains__(self, item: object) -> bool:
        return True


_ANYTHING = _AnyType()


class _Field:
    """One declared field (or array item), compiled from its JSON schema."""

    def __init__(self, schema: Mapping[str, t.Any]) -> None:
        declared = schema.get("type")
        names = [declared] if isinstance(declared, str) else list(declared or [])
        self.nullable = not names or "null" in names
        kinds = [n for n in names if n != "null"]
        #: Python types of a value that fits without a closer look; None: anything fits.
        self.types: frozenset[type] | None = (
            frozenset(tp for n in names for tp in _JSON_TYPES.get(n, ())) if names else None
        )
        self.kind = kinds[0] if len(kinds) == 1 else None
        self.date_time = self.kind == "string" and schema.get("format") == "date-time"
        self.enum = frozenset(schema["enum"]) if isinstance(schema.get("enum"), list) else None
        self.expected = (
            "date-time"
            if self.date_time
            else (" or ".join(kinds) if kinds else "anything")
            + (f" (one of {', '.join(map(str, schema['enum']))})" if self.enum else "")
        )
        properties = schema.get("properties") or {}
        self.shape = (
            _Shape(properties, open_=schema.get("additionalProperties") is not False)
            if self.kind == "object" and (properties or schema.get("additionalProperties") is False)
            else None
        )
        items = schema.get("items")
        self.items = _Field(items) if self.kind == "array" and isinstance(items, dict) else None
        #: A closer look than the type is needed (format, enum, nested fields, items).
        self.deep = bool(self.date_time or self.enum or self.shape or self.items)
        #: That closer look, given a non-null value of a fitting type.
        self.deep_fits: Callable[[t.Any], bool] = (
            is_rfc3339
            if self.date_time
            else self.shape.fits
            if self.shape is not None and self.enum is None
            else self._deep_fits
        )

    def fits(self, value: t.Any) -> bool:  # noqa: ANN401
        """Whether a value fits as it is (a non-null value of a fitting type).

        Args:
            value: The value.

        Returns:
            True when it can be emitted unchanged.
        """
        if self.types is not None and type(value) not in self.types:
            return False
        return value is None or not self.deep or self.deep_fits(value)

    def _deep_fits(self, value: t.Any) -> bool:  # noqa: ANN401
        if self.date_time:
            return is_rfc3339(value)
        if self.enum is not None and value not in self.enum:
            return False
        if self.shape is not None:
            return self.shape.fits(value)
        item = self.items
        return item is None or all(item.fits(x) for x in value)

    def repair(self, value: t.Any, path: str, found: Findings) -> t.Any:  # noqa: ANN401
        """The value made to fit, or :data:`_UNFIT`.

        Args:
            value: The value (not null).
            path: Its path, for findings inside it.
            found: Where findings inside it go.

        Returns:
            The value as it is, converted, or ``_UNFIT``.
        """
        if self.types is None or (type(value) in self.types and not self.deep):
            return value
        if self.shape is not None and isinstance(value, dict):
            return self.shape.repair(value, path + ".", found)
        if self.items is not None and isinstance(value, list):
            return self._repair_items(value, path, found)
        if self.fits(value):
            return value
        convert = _CONVERSIONS.get("date-time" if self.date_time else (self.kind or ""))
        converted = convert(value) if convert is not None else _UNFIT
        if converted is not _UNFIT and self.enum is not None and converted not in self.enum:
            return _UNFIT
        return converted

    def _repair_items(self, items: list[t.Any], path: str, found: Findings) -> t.Any:  # noqa: ANN401
        item = t.cast("_Field", self.items)
        inner = Findings()
        repaired = []
        for position, value in enumerate(items):
            fixed = (
                value
                if value is None and item.nullable
                else item.repair(value, f"{path}.{position}", inner)
            )
            if fixed is _UNFIT or fixed is None or inner.mismatches:
                return _UNFIT  # an array is kept or set aside whole
            repaired.append(fixed)
        found.undeclared.update(inner.undeclared)
        return repaired


class _Shape:
    """The declared fields of an object: a record, or an object inside one."""

    def __init__(
        self,
        properties: Mapping[str, Mapping[str, t.Any]],
        *,
        open_: bool,
        required: Sequence[str] = (),
    ) -> None:
        self.fields = {name: _Field(schema) for name, schema in properties.items()}
        self.open = open_
        self.required = tuple(required)
        #: The same as a set: ``set <= dict.keys()`` checks them all in C.
        self._required_set = frozenset(self.required)
        #: name -> types that fit without a closer look.
        self.types = {name: f.types or _ANYTHING for name, f in self.fields.items()}
        self.deep = tuple((name, f.deep_fits) for name, f in self.fields.items() if f.deep)
        #: Every (name, type) that fits: one C-level set lookup per field decides most
        #: objects (a field declared without a type leaves it to the loop).
        self.pairs = frozenset(
            (name, tp) for name, f in self.fields.items() if f.types is not None for tp in f.types
        )

    def fits(self, value: dict[str, t.Any]) -> bool:
        """Whether an object fits as it is (the fast path: a type lookup per field).

        Args:
            value: The object.

        Returns:
            True when nothing in it needs repair or setting aside.
        """
        if not self.pairs.issuperset(zip(value, map(type, value.values()), strict=True)):
            return self._fits_field_by_field(value)
        for name, deep_fits in self.deep:
            item = value.get(name)
            if item is not None and not deep_fits(item):
                return False
        return self._required_set <= value.keys()

    def _fits_field_by_field(self, value: dict[str, t.Any]) -> bool:
        # Undeclared fields in an open object, or fields declared without a type.
        types = self.types
        for name, item in value.items():
            fitting = types.get(name)
            if fitting is None:  # not declared
                if self.open:
                    continue
                return False
            if type(item) not in fitting:
                return False
        for name, deep_fits in self.deep:
            item = value.get(name)
            if item is not None and not deep_fits(item):
                return False
        required = self.required
        return not required or all(name in value for name in required)

    def repair(self, value: dict[str, t.Any], prefix: str, found: Findings) -> dict[str, t.Any]:
        """A copy of an object with every field made to fit.

        Args:
            value: The object.
            prefix: Its path and a ``.`` (``""`` for a record).
            found: Where mismatches and undeclared fields go.

        Returns:
            The repaired copy.

        Raises:
            MalformedRowError: A required field is missing, null or cannot be made to fit.
        """
        out: dict[str, t.Any] = {}
        for name, item in value.items():
            declared = self.fields.get(name)
            path = prefix + name
            if declared is None:
                if self.open:
                    out[name] = item
                else:
                    found.undeclared[path] = item
                continue
            fixed = None if item is None else declared.repair(item, path, found)
            if fixed is _UNFIT:
                if name in self.required:
                    msg = f"field {path} is {as_json(item)}, expected {declared.expected}"
                    raise MalformedRowError(msg)
                found.mismatch(path, item, declared.expected)
                fixed = None
            out[name] = fixed
        for name in self.required:
            if out.get(name) is None:
                msg = f"field {prefix + name} is {'null' if name in out else 'missing'}"
                raise MalformedRowError(msg)
        return out


@dataclass
class PageFit:
    """A page's records, each made to fit, and what that took.

    Attributes:
        records: The records, in order.
        mismatches: Values set aside (nulled) in all.
        rows_with_undeclared: Records that carry ``undeclared_fields``.
        first_mismatch: The first value set aside, with its row, field and value.
        undeclared_names: Undeclared field paths seen, in order.
    """

    records: list[dict[str, t.Any]]
    mismatches: int = 0
    rows_with_undeclared: int = 0
    first_mismatch: str | None = None
    undeclared_names: list[str] = field(default_factory=list)


class RecordConformer:
    """Makes a stream's records fit its schema (compiled once per stream)."""

    def __init__(self, schema: Mapping[str, t.Any], row_keys: Sequence[str] = ()) -> None:
        """Compile a stream's schema.

        Args:
            schema: The stream's schema (with or without the two quality fields).
            row_keys: Fields that name a row in messages (its key, the job's id aside).
        """
        properties = {
            name: spec
            for name, spec in schema.get("properties", {}).items()
            if name not in QUALITY_FIELDS  # the tap's own: a vendor field so named is not
        }
        self.shape = _Shape(properties, open_=False, required=schema.get("required", ()))
        #: Checks a whole page at once, in C (None: this schema's pages go record by record).
        self.page_fits = page_checker(self.shape)
        self.row_keys = tuple(row_keys)

    def conform(self, record: dict[str, t.Any]) -> tuple[dict[str, t.Any], Findings | None]:
        """Make one record fit.

        Args:
            record: The record as read (changed in place when it fits).

        Returns:
            The record (with the two quality fields), and what its repair found, if any.

        Raises:
            MalformedRowError: Its key is missing, null or of another type.
        """
        if self.shape.fits(record):
            record |= _NO_FINDINGS
            return record, None
        found = Findings()
        fixed = self.shape.repair(record, "", found)
        fixed[MISMATCHES] = found.mismatches or None
        fixed[UNDECLARED] = found.undeclared or None
        return fixed, found

    def page(self, records: Iterable[dict[str, t.Any]]) -> PageFit:
        """Make a page's records fit, all of them before any is written.

        Args:
            records: The page's records.

        Returns:
            The records and what it took.

        Raises:
            MalformedRowError: A row is malformed (the message names it).
        """
        if not isinstance(records, list):
            records = list(records)
        if self.page_fits is not None and self.page_fits(records):
            for record in records:  # the fast path: every value of every record fits
                record |= _NO_FINDINGS  # noqa: PLW2901 - in place: one C call per record
            return PageFit(records)
        out = PageFit([])  # some record does not fit: each one is looked at alone
        append = out.records.append
        for position, record in enumerate(records):
            try:
                fixed, found = self.conform(record)
            except MalformedRowError as exc:
                msg = f"{self.describe(record, position)}: {exc}"
                raise MalformedRowError(msg) from None
            append(fixed)
            if found is not None:
                self._count(out, found, fixed, position)
        return out

    def _count(self, out: PageFit, found: Findings, record: dict[str, t.Any], at: int) -> None:
        if found.mismatches:
            out.mismatches += len(found.mismatches)
            if out.first_mismatch is None:
                path, seen = next(iter(found.mismatches.items()))
                out.first_mismatch = (
                    f"{self.describe(record, at)}: field {path} is {as_json(seen['value'])}, "
                    f"expected {seen['expected']}"
                )
        if found.undeclared:
            out.rows_with_undeclared += 1
            out.undeclared_names.extend(
                name for name in found.undeclared if name not in out.undeclared_names
            )

    def describe(self, record: Mapping[str, t.Any], position: int) -> str:
        """Name a row in a message: by its key when it has one, else by its position.

        Args:
            record: The row.
            position: Its 0-based position in its page.

        Returns:
            E.g. ``row row_number 5`` or ``row 3 of its page``.
        """
        keys = [k for k in self.row_keys if record.get(k) is not None]
        if keys and len(keys) == len(self.row_keys):
            return "row " + ", ".join(f"{k} {as_json(record[k])}" for k in keys)
        return f"row {position} of its page"


def _to_integer(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return _UNFIT


def _to_number(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        number = float(value)
        if math.isfinite(number):
            return int(value) if _INTEGER.fullmatch(value) else number
    return _UNFIT


def _to_date_time(value: t.Any) -> t.Any:  # noqa: ANN401
    if isinstance(value, str) and _ISO_WITH_ZONE.fullmatch(value.strip()):
        moment = parse_timestamp(value)
        return _rfc3339_utc(moment) if moment is not None else _UNFIT
    epoch: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        epoch = value
    elif isinstance(value, str) and _NUMBER.fullmatch(value):
        epoch = float(value)
    if epoch is None or not math.isfinite(epoch):
        return _UNFIT
    low, high = _EPOCH_SECONDS
    if not low <= epoch < high:
        epoch /= _MILLIS
        if not low <= epoch < high:
            return _UNFIT  # too small or too large to be a time of these jobs
    return _rfc3339_utc(dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc))


def _rfc3339_utc(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.timezone.utc)
    spec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


_CONVERSIONS: dict[str, Callable[[t.Any], t.Any]] = {
    "integer": _to_integer,
    "number": _to_number,
    "date-time": _to_date_time,
}
