"""Ready-made datasets: a small realistic demo and large benchmark datasets.

Everything is deterministic: the demo uses a seeded random generator and the benchmark
rows are computed from their index, lazily, so a million rows cost no memory until served.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

from emulator.druid import DruidBulk
from emulator.fullstory import FullstoryJob
from emulator.sailpoint import SailpointJob
from emulator.server import Dataset

if TYPE_CHECKING:
    from emulator.server import VendorEmulator

Row = dict[str, Any]

DEMO_SEED = 20240501
_BASE_EPOCH = 1714550400  # 2024-05-01T08:00:00Z

# Demo job ids, by vendor and by what each job shows off.
USERS_COMPLETED = "fs-users-7Qd2xk"
USERS_PARTIAL = "fs-users-9Lm4pe"
USERS_PROCESSING = "fs-users-3Hb8vz"
USERS_UNKNOWN = "fs-users-0Zz0no"
EVENTS_COMPLETED = "fs-events-5Ty1qa"
EVENTS_FAILED = "fs-events-2Rk7wm"
DRUID_COMPLETED = "018f3a1c-62a0-7c41-9b1e-5d2f6a7b8c90"
DRUID_FAILED = "018f3b7e-11d4-7a02-8c3f-0e9d8c7b6a51"
DRUID_PROCESSING = "018f3c02-9e57-7f13-a4d6-3b2a19c8d7e6"
SP_COMPLETE = "ef38f94347e94562b5bb8424a56397d8"
SP_NESTED = "3d5c9b1a7e2f4c8d9a0b1c2d3e4f5a6b"
SP_FAILED = "a41c2e7d9b8f4a3c8e1d0f9a7b6c5d4e"
SP_IN_PROGRESS = "7b2e9d4c1a6f4e8b9c3d2a1f0e9d8c7b"
SP_DOWNLOAD_GONE = "c9d8e7f6a5b44c3d8e2f1a0b9c8d7e6f"

#: The job ids the demo configures, under the tap's setting names. The Fullstory users
#: list ends with a job the vendor does not know; ``druid_bulk_ids`` is empty, so the tap
#: discovers the bulks from the list endpoint.
DEMO_CONFIG_IDS: dict[str, list[str]] = {
    "fullstory_user_import_job_ids": [
        USERS_COMPLETED,
        USERS_PARTIAL,
        USERS_PROCESSING,
        USERS_UNKNOWN,
    ],
    "fullstory_event_import_job_ids": [EVENTS_COMPLETED, EVENTS_FAILED],
    "druid_bulk_ids": [],
    "sailpoint_import_job_ids": [
        SP_COMPLETE,
        SP_NESTED,
        SP_FAILED,
        SP_IN_PROGRESS,
        SP_DOWNLOAD_GONE,
    ],
}

# (display name, ASCII slug for the e-mail address)
_PEOPLE = (
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
_CITIES = (
    ("ES", "ES-M", "Madrid", 40.4168, -3.7038),
    ("DE", "DE-BE", "Berlin", 52.52, 13.405),
    ("US", "US-CA", "San Francisco", 37.7749, -122.4194),
    ("JP", "JP-13", "東京", 35.6762, 139.6503),
    ("BR", "BR-SP", "São Paulo", -23.5505, -46.6333),
    ("IS", "IS-1", "Reykjavík", 64.1466, -21.9426),
)
_PLANS = ("free", "starter", "pro", "enterprise")
_TAGS = ("vip", "beta", "churn-risk", "emea", "self-serve", "partner")
_EVENT_NAMES = (
    "Support Ticket",
    "Order Completed",
    "Product Viewed",
    "Signed Up",
    "Cart Abandoned",
)
_USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
)
_DRUID_ERRORS = (
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
        return self._build(_mix(index) % self._variants, self._fields(index))

    def json(self, index: int) -> str:
        """Render row ``index`` as JSON, exactly as ``json.dumps(self.row(index))`` would.

        Args:
            index: Global row index.

        Returns:
            The JSON text.
        """
        variant = _mix(index) % self._variants
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


def _mix(index: int) -> int:
    # Cheap deterministic scrambling of an index (Knuth's multiplicative hash).
    return (index * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF


# Fullstory demo rows.


def _user_properties(rng: random.Random, index: int) -> Row:
    country, _, city, lat, lng = rng.choice(_CITIES)
    properties: Row = {
        "plan": rng.choice(_PLANS),
        "seats": rng.randint(1, 500),
        "mrr": round(rng.uniform(0, 5000), 2),
        "beta_tester": rng.random() < 0.3,  # noqa: PLR2004 - share of beta testers
        "signed_up": rfc3339(_BASE_EPOCH - rng.randint(0, 60_000_000), rng.randint(0, 3)),
        "tags": rng.sample(_TAGS, k=rng.randint(0, 3)),
        "address": {"city": city, "country": country, "geo": {"lat": lat, "lng": lng}},
    }
    if index % 7 == 0:
        properties["referrer"] = None
    return properties


def _demo_user(rng: random.Random, index: int) -> Row:
    name, slug = rng.choice(_PEOPLE)
    user: Row = {
        "id": str(rng.randrange(10**17, 10**18)),
        "uid": f"usr_{index:05d}",
        "display_name": name,
        "email": f"{slug}{index}@example.com",
        "properties": _user_properties(rng, index),
    }
    if index % 9 == 0:
        del user["display_name"]
    if index % 11 == 0:
        del user["email"]
    if index % 5 == 0:
        user["schema"] = {
            "properties": {"seats": "int", "mrr": "real", "signed_up": "date", "tags": "strs"}
        }
    if index % 23 == 0:
        user["type_conflicts"] = {"properties": {"seats": {"expected": "int", "got": "str"}}}
    return user


def _demo_user_error(rng: random.Random, index: int) -> Row:
    user = _demo_user(rng, 10_000 + index)
    user.pop("schema", None)
    user.pop("type_conflicts", None)
    del user["id"]  # Failed users were never assigned a Fullstory id.
    case = index % 5
    if case == 0:
        del user["uid"]
        return {"message": "uid is required", "code": "required_field", "user": user}
    if case == 1:
        user["properties"]["1st_purchase"] = "2024-04-01"
        message = "property name '1st_purchase' must start with a letter"
        return {"message": message, "code": "invalid_property_name", "user": user}
    if case == 2:  # noqa: PLR2004 - one case per error kind
        user["properties"]["bio"] = "ñ" * 300
        message = "property 'bio' exceeds the maximum size of 8192 bytes"
        return {"message": message, "code": "value_too_large", "user": user}
    if case == 3:  # noqa: PLR2004 - one case per error kind
        user["email"] = "zoë@@example"
        return {"message": "email is not a valid address", "code": "invalid_email", "user": user}
    user["properties"] = {"seats": "many"}  # Rejected input may be any shape.
    message = "property 'seats' was declared int but the value is a string"
    return {"message": message, "code": "type_mismatch", "user": user}


def _event_context(rng: random.Random, index: int) -> Row:
    country, region, city, lat, lng = rng.choice(_CITIES)
    context: Row = {}
    if index % 5 == 0:
        context["mobile"] = {
            "app_id": "com.example.shop",
            "app_version": f"4.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
            "app_name": "Example Shop",
            "build_variant": rng.choice(("release", "debug")),
        }
    else:
        context["browser"] = {
            "url": f"https://app.example.com/tickets/{rng.randint(1000, 9999)}?lang=es",
            "user_agent": rng.choice(_USER_AGENTS),
            "initial_referrer": "https://www.google.com/",
        }
    context["device"] = {
        "manufacturer": rng.choice(("Apple", "Samsung", "Google", "Lenovo")),
        "model": rng.choice(("iPhone15,2", "SM-S911B", "Pixel 8", "ThinkPad X1")),
        "screen_width": rng.choice((390, 1440, 1920)),
        "screen_height": rng.choice((844, 900, 1080)),
        "viewport_width": rng.choice((390, 1280, 1800)),
        "viewport_height": rng.choice((664, 760, 960)),
    }
    context["location"] = {
        "country": country,
        "region": region,
        "city": city,
        "ip_address": f"203.0.113.{rng.randint(1, 254)}",
        "latitude": lat,
        "longitude": lng,
    }
    return context


def _demo_event(rng: random.Random, index: int) -> Row:
    user_id = str(rng.randrange(10**17, 10**18))
    session: Row = {"id": f"{user_id}:{rng.randrange(10**18, 10**19)}"}
    if index % 3 == 0:
        session["uid"] = f"sess_{index:05d}"
    event: Row = {
        "user": {"id": user_id, "uid": f"usr_{rng.randrange(250):05d}"},
        "session": session,
        "context": _event_context(rng, index),
        "name": rng.choice(_EVENT_NAMES),
        "timestamp": rfc3339(_BASE_EPOCH + index * 97 + rng.random(), index % 4),
        "properties": {
            "ticket_id": rng.randint(100_000, 999_999),
            "priority": rng.choice(("Low", "Normal", "Urgent")),
            "amount": round(rng.uniform(1, 900), 2),
            "items": rng.randint(1, 12),
            "cart": {
                "currency": "EUR",
                "lines": [{"sku": f"SKU-{rng.randint(1, 99):02d}", "qty": rng.randint(1, 3)}],
            },
            "note": rng.choice(("Account locked out", "Pedido nº 42: entregado", "返品リクエスト")),
        },
    }
    if index % 4 == 0:
        event["schema"] = {"properties": {"amount": "real", "items": "int", "ticket_id": "int"}}
    return event


def _demo_event_error(rng: random.Random, index: int) -> Row:
    event = _demo_event(rng, 5_000 + index)
    event.pop("schema", None)
    shared = {"context": event.pop("context")}
    case = index % 4
    if case == 0:
        del event["name"]
        error: Row = {"message": "name is required", "code": "required_field", "event": event}
    elif case == 1:
        event["timestamp"] = "yesterday"
        message = "timestamp must be an ISO 8601 date-time"
        error = {"message": message, "code": "invalid_timestamp", "event": event}
    elif case == 2:  # noqa: PLR2004 - one case per error kind
        event["properties"] = {"total price": 12.5}
        message = "property name 'total price' contains invalid characters"
        error = {"message": message, "code": "invalid_property_name", "event": event}
    else:
        event["user"] = {}
        message = "user id or uid is required"
        error = {"message": message, "code": "required_field", "event": event}
    if index % 2 == 0:
        error["shared"] = shared
    return error


def _demo_fullstory(rng: random.Random) -> list[FullstoryJob]:
    def at(hours: float) -> str:
        return rfc3339(_BASE_EPOCH + hours * 3600, 3)

    return [
        FullstoryJob(
            USERS_COMPLETED,
            "users",
            "COMPLETED",
            created=at(0),
            finished=at(0.25),
            imports=[_demo_user(rng, i) for i in range(250)],
        ),
        FullstoryJob(
            USERS_PARTIAL,
            "users",
            "FAILED",  # A partial failure: both imports and errors.
            created=at(1),
            finished=at(1.1),
            imports=[_demo_user(rng, 1000 + i) for i in range(120)],
            errors=[_demo_user_error(rng, i) for i in range(30)],
            empty_last_page=True,
        ),
        FullstoryJob(USERS_PROCESSING, "users", "PROCESSING", created=at(2)),
        FullstoryJob(
            EVENTS_COMPLETED,
            "events",
            "COMPLETED",
            created=at(3),
            finished="2024-05-01T11:04:05Z",
            imports=[_demo_event(rng, i) for i in range(150)],
            repeat_last_token=True,
        ),
        FullstoryJob(
            EVENTS_FAILED,
            "events",
            "FAILED",
            created=at(4),
            finished=at(4.5),
            imports=[_demo_event(rng, 2000 + i) for i in range(35)],
            errors=[_demo_event_error(rng, i) for i in range(20)],
        ),
    ]


# DruID demo rows.


def _druid_rows(rng: random.Random, start_ms: int, count: int, error_rate: float) -> list[Row]:
    rows = []
    for i in range(count):
        by_object = rng.random() < 0.6  # noqa: PLR2004 - share of object_id users
        object_id = f"{rng.getrandbits(128):032x}"
        rows.append(
            {
                # 3 ms apart, so the ids increase whatever the random bits.
                "id": uuid7(start_ms + 3 * i, rng.getrandbits(12), rng.getrandbits(62)),
                "userIdentifierType": "object_id" if by_object else "pulse_id",
                "objectId": object_id if by_object or rng.random() < 0.5 else None,  # noqa: PLR2004
                "pulseId": None if by_object else f"pls-{rng.randrange(10**9):09d}",
                "error": rng.choice(_DRUID_ERRORS) if rng.random() < error_rate else None,
            }
        )
    return rows


def _demo_druid(rng: random.Random) -> list[DruidBulk]:
    start_ms = _BASE_EPOCH * 1000
    return [
        DruidBulk(
            DRUID_COMPLETED,
            "completed",
            "2024-05-01T08:00:00.000Z",
            "2024-05-01T08:03:12.345Z",
            _druid_rows(rng, start_ms, 230, 0.3),
        ),
        DruidBulk(
            DRUID_FAILED,
            "failed",
            "2024-05-02T10:00:00.000Z",
            "2024-05-02T10:00:41.007Z",
            _druid_rows(rng, start_ms + 86_400_000, 40, 0.9),
        ),
        DruidBulk(
            DRUID_PROCESSING, "processing", "2024-05-03T12:00:00.000Z", "2024-05-03T12:00:05.000Z"
        ),
    ]


# SailPoint demo documents.

_SP_TYPES = (
    # object type, imported objects, infos, warnings, errors
    ("SOURCE", ("Active Directory", "Workday", "ServiceNow"), 9, 3, 2),
    ("TRANSFORM", ("Lowercase Email", "Country Code", "Manager Lookup", "Hire Date"), 12, 2, 0),
    ("RULE", ("BeforeProvisioning AD", "Correlation HR"), 6, 1, 3),
    ("IDENTITY_PROFILE", ("Employees", "Contractors"), 5, 2, 1),
    ("TRIGGER_SUBSCRIPTION", ("Slack Notifier",), 8, 1, 2),
)
_SP_KEYS = {
    "infos": ("IMPORT_PREVIEW", "OBJECT_IMPORTED", "REFERENCE_RESOLVED"),
    "warnings": ("REFERENCE_NOT_FOUND", "OBJECT_RENAMED"),
    "errors": ("INVALID_REFERENCE", "DUPLICATE_NAME", "VALIDATION_FAILED"),
}


def _sp_message(rng: random.Random, category: str, object_type: str, index: int) -> Row:
    object_id = f"{rng.getrandbits(128):032x}"
    key = _SP_KEYS[category][index % len(_SP_KEYS[category])]
    text = f"{object_type} [{object_id}, «Objekt {index}»]: {key.replace('_', ' ').lower()}"
    if index % 3 == 0:
        return {"key": key, "text": text, "detail": None}  # The spec example's spelling.
    details = None if index % 3 == 1 else {"objectId": object_id, "objectType": object_type}
    return {"key": key, "text": text, "details": details}


def _sp_document(rng: random.Random) -> Row:
    results: Row = {}
    for object_type, names, *counts in _SP_TYPES:
        entry: Row = {
            category: [_sp_message(rng, category, object_type, i) for i in range(count)]
            for category, count in zip(("infos", "warnings", "errors"), counts, strict=True)
        }
        entry["importedObjects"] = [
            {"type": object_type, "id": f"{rng.getrandbits(128):032x}", "name": name}
            for name in names
        ]
        results[object_type] = entry
    return {"results": results, "exportJobId": "be9e116d-08e1-49fc-ab7f-fa585e96c9e4"}


def _sp_nested_document() -> Row:
    # The doubly nested shape of the vendor's own example (seed 004).
    previews = [
        ("c953134c-2224-42f2-a84e-fa5cbb395904", "Test 2"),
        ("be9e116d-08e1-49fc-ab7f-fa585e96c9e4", "Test 1"),
    ]
    infos = [
        {"key": "IMPORT_PREVIEW", "text": f"Object to be imported: [{oid}, {name}]", "detail": None}
        for oid, name in previews
    ]
    subscription = {"infos": infos, "warnings": [], "errors": [], "importedObjects": []}
    return {
        "results": {"results": {"TRIGGER_SUBSCRIPTION": subscription}},
        "exportJobId": "be9e116d-08e1-49fc-ab7f-fa585e96c9e4",
    }


def _demo_sailpoint(rng: random.Random) -> list[SailpointJob]:
    def at(day: int, clock: str) -> str:
        return f"2024-05-0{day}T{clock}Z"

    later = "2099-01-01T00:00:00.000Z"  # Results stay downloadable.
    return [
        SailpointJob(
            SP_COMPLETE,
            "COMPLETE",
            created=at(1, "09:00:00.000"),
            modified=at(1, "09:03:27.512"),
            expiration=later,
            completed=at(1, "09:03:27.512"),
            document=_sp_document(rng),
        ),
        SailpointJob(
            SP_NESTED,
            "COMPLETE",
            created=at(2, "09:00:00.000"),
            modified=at(2, "09:00:09.100"),
            expiration=later,
            completed=at(2, "09:00:09.100"),
            document=_sp_nested_document(),
        ),
        SailpointJob(
            SP_FAILED,
            "FAILED",
            created=at(3, "09:00:00.000"),
            modified=at(3, "09:00:02.250"),
            expiration=later,
            completed=at(3, "09:00:02.250"),
            message="Import failed: SOURCE 'Active Directory' uses unknown cluster 'cl-émea-2'",
        ),
        SailpointJob(
            SP_IN_PROGRESS,
            "IN_PROGRESS",
            created=at(4, "09:00:00.000"),
            modified=at(4, "09:00:30.000"),
            expiration=later,
        ),
        SailpointJob(
            SP_DOWNLOAD_GONE,
            "COMPLETE",
            created="2024-03-01T09:00:00.000Z",
            modified="2024-03-01T09:01:00.000Z",
            expiration="2024-03-02T09:01:00.000Z",
            completed="2024-03-01T09:01:00.000Z",
            document={"results": {}},
            download_gone=True,
        ),
    ]


def demo_dataset(seed: int = DEMO_SEED) -> Dataset:
    """Build the small, realistic demo dataset (the same every time for a seed).

    Fullstory: users jobs COMPLETED (250 imports, 3 pages), FAILED (120 imports and 30
    errors, ending with an empty page) and PROCESSING forever; events jobs COMPLETED (150
    events, the last page echoing its token) and FAILED (35 imports, 20 errors). DruID:
    bulks completed (230 rows, ~30% errors), failed (40 rows, ~90% errors) and processing.
    SailPoint: COMPLETE (5 object types, ~60 messages), COMPLETE in the nested shape of
    seed 004, FAILED with a message, IN_PROGRESS, and COMPLETE with its download gone.

    Args:
        seed: Seed of the random generator.

    Returns:
        The dataset, with the default demo credentials.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
    return Dataset(
        fullstory_jobs=_demo_fullstory(rng),
        druid_bulks=_demo_druid(rng),
        sailpoint_jobs=_demo_sailpoint(rng),
    )


# Tap configuration.


def tap_config(emulator: VendorEmulator, *, discover_druid: bool = True) -> dict[str, Any]:
    """Build the tap config for an emulator: URLs, credentials and its dataset's job ids.

    A vendor without jobs in the dataset is left out, so the tap does not extract it.

    Args:
        emulator: A started emulator.
        discover_druid: Send an empty ``druid_bulk_ids`` (discovery) instead of the ids.

    Returns:
        The config, with the contract's setting names.
    """
    dataset = emulator.dataset
    config: dict[str, Any] = {}
    if dataset.fullstory_jobs:
        config |= {
            "fullstory_api_key": dataset.fullstory_api_key,
            "fullstory_api_url": emulator.fullstory_url,
            "fullstory_user_import_job_ids": [
                job.job_id for job in dataset.fullstory_jobs if job.kind == "users"
            ],
            "fullstory_event_import_job_ids": [
                job.job_id for job in dataset.fullstory_jobs if job.kind == "events"
            ],
        }
    if dataset.druid_bulks:
        config |= {
            "druid_api_url": emulator.druid_api_url,
            "druid_auth_url": emulator.druid_auth_url,
            "druid_client_id": dataset.druid_client_id,
            "druid_client_secret": dataset.druid_client_secret,
            "druid_bulk_ids": [] if discover_druid else [b.bulk_id for b in dataset.druid_bulks],
        }
    if dataset.sailpoint_jobs:
        config |= {
            "sailpoint_api_url": emulator.sailpoint_url,
            "sailpoint_client_id": dataset.sailpoint_client_id,
            "sailpoint_client_secret": dataset.sailpoint_client_secret,
            "sailpoint_import_job_ids": [job.job_id for job in dataset.sailpoint_jobs],
        }
    return config


def demo_tap_config(emulator: VendorEmulator) -> dict[str, Any]:
    """Build the tap config for an emulator serving :func:`demo_dataset`.

    Args:
        emulator: A started emulator.

    Returns:
        The config: every vendor, the ids of :data:`DEMO_CONFIG_IDS` (with one unknown
        Fullstory job), DruID bulks discovered.
    """
    config = tap_config(emulator, discover_druid=True)
    config.update({name: list(ids) for name, ids in DEMO_CONFIG_IDS.items()})
    return config


# Benchmark datasets.

_BENCH_ERRORS = (
    ("required_field", "uid is required"),
    ("invalid_property_name", "property name '1st_order' must start with a letter"),
    ("value_too_large", "property 'bio' exceeds the maximum size of 8192 bytes"),
    ("invalid_email", "email is not a valid address"),
    ("type_mismatch", "property 'seats' was declared int but the value is a string"),
)
_BENCH_KEYS = (
    "plan",
    "address",
    "seats",
    "mrr",
    "beta_tester",
    "signed_up",
    "tags",
    "score",
    "locale",
    "last_order",
)
_BENCH_ENDPOINTS = ("errors", "imports", "both")


def _bench_properties(h: int) -> Row:
    country, _, city, lat, lng = _CITIES[h % len(_CITIES)]
    values = (
        _PLANS[h % 4],
        {"city": city, "country": country, "geo": {"lat": lat, "lng": lng}},
        h % 500,
        (h % 500_000) / 100,
        bool(h & 1),
        f"2023-{1 + h % 12:02d}-{1 + h % 28:02d}T{h % 24:02d}:{h % 60:02d}:{h % 59:02d}Z",
        [_TAGS[h % 6], _TAGS[(h >> 3) % 6]],
        None if h % 10 == 0 else (h % 1000) / 10,
        ("es-ES", "de-DE", "en-US", "ja-JP")[(h >> 7) % 4],
        {"id": f"ord-{h % 100_000:05d}", "total": (h % 90_000) / 100, "currency": "EUR"},
    )
    count = 5 + (h >> 5) % 6  # 5 to 10 keys, the nested address always among them
    return dict(zip(_BENCH_KEYS[:count], values[:count], strict=True))


def _bench_user_fields(index: int) -> tuple[str, str, str]:
    return f"{index:08d}", str(index), str(10**17 + index)


def _bench_user(variant: int, fields: Sequence[str]) -> Row:
    h = _mix(variant)
    name, slug = _PEOPLE[h % len(_PEOPLE)]
    return {
        "id": fields[2],
        "uid": f"user-{fields[0]}",
        "display_name": name,
        "email": f"{slug}.{fields[1]}@example.com",
        "properties": _bench_properties(h),
    }


def _bench_user_error(variant: int, fields: Sequence[str]) -> Row:
    h = _mix(variant)
    code, message = _BENCH_ERRORS[(h >> 9) % len(_BENCH_ERRORS)]
    user = _bench_user(variant, fields)
    del user["id"]  # Failed users were never assigned a Fullstory id.
    return {"message": message, "code": code, "user": user}


BENCH_USERS = RowShape(_bench_user, _bench_user_fields)
BENCH_USER_ERRORS = RowShape(_bench_user_error, _bench_user_fields)


def bench_fullstory_dataset(
    rows: int, *, jobs: int = 1, page_size: int = 1000, endpoint: str = "errors"
) -> Dataset:
    """Build a Fullstory benchmark dataset of users jobs with lazily generated rows.

    Args:
        rows: Rows in all, split evenly: each job gets ``rows // jobs`` rows per endpoint.
        jobs: Number of users import jobs (``bench-users-00000``, …).
        page_size: Rows per page.
        endpoint: Which results the jobs have: ``errors`` (FAILED jobs with user import
            errors), ``imports`` (COMPLETED jobs with imported users) or ``both`` (FAILED
            jobs with both lists, so ``2 * rows`` rows in all).

    Returns:
        The dataset.

    Raises:
        ValueError: If ``endpoint`` or ``jobs`` is not valid.
    """
    if endpoint not in _BENCH_ENDPOINTS or jobs < 1:
        msg = f"endpoint must be one of {_BENCH_ENDPOINTS} and jobs at least 1"
        raise ValueError(msg)
    per_job = rows // jobs
    fullstory_jobs = []
    for number in range(jobs):
        start = number * per_job
        has_errors = endpoint in {"errors", "both"}
        has_imports = endpoint in {"imports", "both"}
        imports = _generated(per_job, BENCH_USERS, start) if has_imports else []
        errors = _generated(per_job, BENCH_USER_ERRORS, start) if has_errors else []
        fullstory_jobs.append(
            FullstoryJob(
                f"bench-users-{number:05d}",
                "users",
                "FAILED" if has_errors else "COMPLETED",
                "2024-05-01T08:00:00.000Z",
                "2024-05-01T09:00:00.000Z",
                imports,
                errors,
                page_size=page_size,
            )
        )
    return Dataset(fullstory_jobs=fullstory_jobs)


def _generated(count: int, shape: RowShape, start: int = 0) -> GeneratedRows:
    return GeneratedRows(count, shape.row, start, render=shape.json)


def _bench_druid_fields(index: int) -> tuple[str, str, str]:
    # 4096 ids per millisecond, ordered by the counter within it.
    millis, counter = _BASE_EPOCH * 1000 + index // 4096, index % 4096
    row_id = uuid7(millis, counter, _mix(index) * 0x9E3779B97F4A7C15)
    return row_id, f"{index:024x}", f"pls-{index:09d}"


def _bench_druid_row(variant: int, fields: Sequence[str]) -> Row:
    by_object = variant % 5 < 3  # noqa: PLR2004 - 60% object_id users
    failed = (variant >> 3) % 10 == 0
    return {
        "id": fields[0],
        "userIdentifierType": "object_id" if by_object else "pulse_id",
        "objectId": f"{variant:08x}{fields[1]}" if by_object else None,
        "pulseId": None if by_object else fields[2],
        "error": _DRUID_ERRORS[(variant >> 5) % len(_DRUID_ERRORS)] if failed else None,
    }


BENCH_DRUID_ROWS = RowShape(_bench_druid_row, _bench_druid_fields)


def bench_druid_dataset(rows: int) -> Dataset:
    """Build a DruID benchmark dataset: one completed bulk of lazily generated rows.

    Args:
        rows: Number of result rows (about 10% with an error).

    Returns:
        The dataset; the bulk id is ``018f0000-0000-7000-8000-00000000be9c``.
    """
    bulk = DruidBulk(
        "018f0000-0000-7000-8000-00000000be9c",
        "completed",
        "2024-05-01T08:00:00.000Z",
        "2024-05-01T09:00:00.000Z",
        _generated(rows, BENCH_DRUID_ROWS),
    )
    return Dataset(druid_bulks=[bulk])
