"""Rows for the emulator's datasets: generated on demand, and the words they are made of.

Benchmark rows are computed from their index, lazily (:class:`GeneratedRows`), and rendered
from per-variant JSON templates (:class:`RowShape`), so a million rows cost no memory until
served and little CPU when they are. The vocabulary (people, cities, plans, ...) is shared
by the demo (:mod:`emulator.scenarios`) and the benchmark datasets (:mod:`emulator.bench`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, overload

Row = dict[str, Any]

#: 2024-05-01T08:00:00Z: the time the datasets' fixed timestamps start from.
BASE_EPOCH = 1714550400

# (display name, ASCII slug for the e-mail address)
PEOPLE = (
    ("Zoë Ñúñez", "zoe.nunez"),
    ("Søren Kierkegaard", "soren.k"),
    ("李小龙", "li.xiaolong"),
    ("Émilie Dupont", "emilie.dupont"),
    ("Björk Guðmundsdóttir", "bjork.g"),
    ("Ana María Pérez", "ana.perez"),
    ("Jürgen Weiß", "juergen.weiss"),
    ("Olúwaseun Adébáyọ̀", "oluwaseun.a"),
    ("Siobhán Ó Briain", "siobhan.obriain"),
    ("Nguyễn Văn An", "nguyen.van.an"),
    ("Chloé Lefèvre", "chloe.lefevre"),
    ("Ahmed Al-Farsi", "ahmed.alfarsi"),
    ("Ólafur Arnalds", "olafur.a"),
    ("Grace O'Malley", "grace.omalley"),
    ('Bob "Bobby" Tables', "bobby.tables"),
)
CITIES = (
    ("ES", "ES-M", "Madrid", 40.4168, -3.7038),
    ("DE", "DE-BE", "Berlin", 52.52, 13.405),
    ("US", "US-CA", "San Francisco", 37.7749, -122.4194),
    ("JP", "JP-13", "東京", 35.6762, 139.6503),
    ("BR", "BR-SP", "São Paulo", -23.5505, -46.6333),
    ("IS", "IS-1", "Reykjavík", 64.1466, -21.9426),
)
PLANS = ("free", "starter", "pro", "enterprise")
TAGS = ("vip", "beta", "churn-risk", "emea", "self-serve", "partner")
DRUID_ERRORS = (
    "User not found",
    "Invalid value for field 'birthDate': expected yyyy-MM-dd",
    "Duplicated user in bulk request",
    "Field 'email' must be unique: zoë@example.com already exists",
    "Usuario bloqueado: demasiados intentos de acceso",
)


class GeneratedRows(Sequence[Row]):
    """Rows computed from their index on demand, so large datasets cost no memory.

    The vendor modules serialise a page of these through :meth:`json_slice`, which uses the
    ``render`` function when given (see :class:`RowShape`) instead of ``json.dumps``.
    Rows rendered this way must not carry a ``schema`` key (it would not be stripped).
    """

    def __init__(
        self,
        count: int,
        make: Callable[[int], Row],
        start: int = 0,
        *,
        render: Callable[[int], str] | None = None,
    ) -> None:
        """Describe ``count`` rows ``make(start)``, ``make(start + 1)``, ….

        Args:
            count: Number of rows.
            make: Builds the row with a given global index; must be deterministic.
            start: Global index of the first row.
            render: Returns the JSON text of ``make(index)``; None serialises ``make``.
        """
        self._count = count
        self._make = make
        self._start = start
        self._render = render

    def __len__(self) -> int:
        """Return the number of rows."""
        return self._count

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        """Build one row, or a list of rows for a slice."""
        if isinstance(index, slice):
            return [self._make(self._start + i) for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            msg = "row index out of range"
            raise IndexError(msg)
        return self._make(self._start + index)

    def json_slice(self, start: int, stop: int) -> str:
        """Return the rows ``[start:stop]`` as JSON array items, without the brackets.

        Args:
            start: First row (relative to this sequence).
            stop: End of the slice (clamped to the length).

        Returns:
            E.g. ``{"a":1},{"a":2}``.
        """
        indices = range(self._start + start, self._start + min(stop, self._count))
        if self._render is not None:
            return ",".join(map(self._render, indices))
        return ",".join(
            json.dumps(self._make(i), separators=(",", ":"), ensure_ascii=False) for i in indices
        )


class RowShape:
    """Rows that differ by index only in a few plain ASCII fields, rendered from templates.

    Row ``index`` is ``build(variant, fields(index))``, where the variant (one of
    ``variants``, picked by hashing the index) fixes everything but the fields. Its JSON is
    the variant's template (serialised once, with placeholders) with the fields filled in:
    many times faster than building and serialising a dict. Fields must need no JSON
    escaping (no quotes, backslashes or control characters).
    """

    def __init__(
        self,
        build: Callable[[int, Sequence[str]], Row],
        fields: Callable[[int], Sequence[str]],
        variants: int = 4096,
    ) -> None:
        """Describe the rows.

        Args:
            build: Builds a row from a variant number and the index's fields.
            fields: Computes an index's fields.
            variants: Number of variants.
        """
        self._build = build
        self._fields = fields
        self._variants = variants
        self._templates: dict[int, tuple[str, list[tuple[int, str]]]] = {}

    def row(self, index: int) -> Row:
        """Build row ``index``.

        Args:
            index: Global row index.

        Returns:
            The row.
        """
        return self._build(mix(index) % self._variants, self._fields(index))

    def json(self, index: int) -> str:
        """Render row ``index`` as JSON, exactly as ``json.dumps(self.row(index))`` would.

        Args:
            index: Global row index.

        Returns:
            The JSON text.
        """
        variant = mix(index) % self._variants
        template = self._templates.get(variant)
        if template is None:
            template = self._templates[variant] = self._template(variant)
        head, pieces = template
        fields = self._fields(index)
        return head + "".join([fields[slot] + text for slot, text in pieces])

    def _template(self, variant: int) -> tuple[str, list[tuple[int, str]]]:
        placeholders = [f"\ue000{slot}\ue001" for slot in range(len(self._fields(0)))]
        text = json.dumps(
            self._build(variant, placeholders), separators=(",", ":"), ensure_ascii=False
        )
        parts = re.split("\ue000(\\d+)\ue001", text)
        pieces = [(int(parts[i]), parts[i + 1]) for i in range(1, len(parts), 2)]
        return parts[0], pieces


# Small formatting helpers.


def rfc3339(epoch: float, digits: int = 3) -> str:
    """Format a UTC time as RFC 3339 with 0-3 fractional digits and a ``Z``.

    Args:
        epoch: Seconds since the epoch.
        digits: Fractional digits, 0 to 3.

    Returns:
        E.g. ``2024-05-01T08:00:00.12Z``.
    """
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))
    if digits > 0:
        millis = int(round(epoch % 1, 3) * 1000) % 1000
        text += "." + f"{millis:03d}"[:digits]
    return text + "Z"


def uuid7(millis: int, counter: int, tail: int) -> str:
    """Build a UUIDv7 string; ids sort (as strings) by ``millis``, then ``counter``.

    Args:
        millis: Unix time in milliseconds (48 bits).
        counter: 12-bit sequence within the millisecond.
        tail: 62 random-looking bits.

    Returns:
        The UUID in its canonical lower-case form.
    """
    value = (millis & (1 << 48) - 1) << 80 | 7 << 76 | (counter & 0xFFF) << 64
    value |= 2 << 62 | tail & (1 << 62) - 1
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def mix(index: int) -> int:
    """Scramble an index cheaply and deterministically (Knuth's multiplicative hash).

    Args:
        index: Any integer.

    Returns:
        A 32-bit number.
    """
    return (index * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF
