"""The demo dataset: small, realistic, and the same every time; and tap configs for it.

The demo's rows come from a seeded random generator over the shared vocabulary of
:mod:`emulator.rows`. The benchmark datasets live in :mod:`emulator.bench`; their names are
re-exported here, where they used to be.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from emulator.bench import (
    BENCH_DRUID_ROWS,
    BENCH_USER_ERRORS,
    BENCH_USERS,
    bench_druid_dataset,
    bench_fullstory_dataset,
    bench_sailpoint_dataset,
)
from emulator.dataset import Dataset
from emulator.druid.jobs import DruidBulk
from emulator.fullstory.jobs import FullstoryJob
from emulator.rows import (
    BASE_EPOCH,
    CITIES,
    DRUID_ERRORS,
    PEOPLE,
    PLANS,
    TAGS,
    GeneratedRows,
    Row,
    RowShape,
    rfc3339,
    uuid7,
)
from emulator.sailpoint.jobs import SailpointJob

if TYPE_CHECKING:
    from emulator.server import VendorEmulator

__all__ = [
    "BENCH_DRUID_ROWS",
    "BENCH_USERS",
    "BENCH_USER_ERRORS",
    "DEMO_CONFIG_IDS",
    "GeneratedRows",
    "RowShape",
    "bench_druid_dataset",
    "bench_fullstory_dataset",
    "bench_sailpoint_dataset",
    "demo_dataset",
    "demo_tap_config",
    "rfc3339",
    "tap_config",
    "uuid7",
]

DEMO_SEED = 20240501

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

# Fullstory demo rows.


def _user_properties(rng: random.Random, index: int) -> Row:
    country, _, city, lat, lng = rng.choice(CITIES)
    properties: Row = {
        "plan": rng.choice(PLANS),
        "seats": rng.randint(1, 500),
        "mrr": round(rng.uniform(0, 5000), 2),
        "beta_tester": rng.random() < 0.3,  # noqa: PLR2004 - share of beta testers
        "signed_up": rfc3339(BASE_EPOCH - rng.randint(0, 60_000_000), rng.randint(0, 3)),
        "tags": rng.sample(TAGS, k=rng.randint(0, 3)),
        "address": {"city": city, "country": country, "geo": {"lat": lat, "lng": lng}},
    }
    if index % 7 == 0:
        properties["referrer"] = None
    return properties


def _demo_user(rng: random.Random, index: int) -> Row:
    name, slug = rng.choice(PEOPLE)
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
    country, region, city, lat, lng = rng.choice(CITIES)
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
        "timestamp": rfc3339(BASE_EPOCH + index * 97 + rng.random(), index % 4),
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


def tonight() -> str:
    """When the demo's still-running jobs were pushed: today, 00:00 UTC.

    The finished jobs keep their 2024 times; a job still running since 2024 would be
    given up at once (``job_max_pending_days``), which is not what the demo shows.
    Same all day, so the dataset stays deterministic within a day.
    """
    return rfc3339(time.time() // 86400 * 86400, 3)


def _demo_fullstory(rng: random.Random) -> list[FullstoryJob]:
    def at(hours: float) -> str:
        return rfc3339(BASE_EPOCH + hours * 3600, 3)

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
        FullstoryJob(USERS_PROCESSING, "users", "PROCESSING", created=tonight()),
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
        row = {
            # 3 ms apart, so the ids increase whatever the random bits.
            "id": uuid7(start_ms + 3 * i, rng.getrandbits(12), rng.getrandbits(62)),
            "userIdentifierType": "object_id" if by_object else "pulse_id",
            "objectId": object_id if by_object or rng.random() < 0.5 else None,  # noqa: PLR2004
            "pulseId": None if by_object else f"pls-{rng.randrange(10**9):09d}",
            "error": rng.choice(DRUID_ERRORS) if rng.random() < error_rate else None,
        }
        # DruID documents every row field as a string and shows no nulls (seed 003): a
        # field with nothing to say is left out.
        rows.append({key: value for key, value in row.items() if value is not None})
    return rows


def _demo_druid(rng: random.Random) -> list[DruidBulk]:
    start_ms = BASE_EPOCH * 1000
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
        DruidBulk(DRUID_PROCESSING, "processing", tonight(), tonight()),
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
    # `details` is required and an object whose values are objects in SailPoint's schema
    # (SpConfigMessage); only the nested example document below uses its `detail: null`.
    details: Row = {}
    if index % 3 == 1:
        details = {"reference": {"type": object_type, "id": object_id}}
    elif index % 3 == 2:  # noqa: PLR2004 - one case per shape
        details = {"object": {"type": object_type, "id": object_id, "name": f"Objekt {index}"}}
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
            created=tonight(),
            modified=tonight(),
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
