"""Fullstory test data: realistic rows with unicode, nesting and missing fields."""

from __future__ import annotations

import random
import typing as t

from emulator.fullstory import FullstoryJob

NAMES = ["Zoë Ñúñez", "李小龍", "Ørjan Ålesund", "Amélie", "O'Brien", "Джон", None]


def user(i: int, rng: random.Random) -> dict[str, t.Any]:
    row: dict[str, t.Any] = {"id": f"fs-{i}", "uid": f"u{i}"}
    if (name := rng.choice(NAMES)) is not None:
        row["display_name"] = name
    if i % 3:
        row["email"] = f"user{i}@example.com"
    row["properties"] = {
        "plan": rng.choice(["free", "pro"]),
        "seats": i % 7,
        "nested": {"a": [1, 2]},
    }
    row["schema"] = {"properties": {"seats": "int"}}
    return row


def user_error(i: int, rng: random.Random) -> dict[str, t.Any]:
    submitted = {"uid": f"bad{i}", "email": 12345 if i % 5 == 0 else f"bad{i}@x"}
    if i % 4 == 0:
        submitted["properties"] = {"rewards_status": "platinum", "ünïcode": "✓"}
    return {
        "message": rng.choice(["uid is required", "invalid email", "property too large"]),
        "code": rng.choice(["required_field", "invalid_argument"]),
        "user": submitted,
    }


def event(i: int, rng: random.Random) -> dict[str, t.Any]:
    frac = ["", ".1", ".12", ".123"][i % 4]
    return {
        "user": {"id": f"fs-{i % 17}", "uid": f"u{i % 17}"},
        "session": {"id": f"fs-{i % 17}:{i}"},
        "context": {
            "browser": {"url": "https://app.example.com/ü", "user_agent": "UA"},
            "device": {"manufacturer": "ACME", "screen_width": 1920, "screen_height": 1080},
            "location": {"country": "ES", "city": "Málaga", "latitude": 36.72, "longitude": -4.42},
        },
        "name": rng.choice(["Support Ticket", "Checkout ✓"]),
        "timestamp": f"2024-05-01T10:{i % 60:02d}:00{frac}Z",
        "properties": {"id": i, "priority": "Normal", "new_field": {"deep": True}},
    }


def event_error(i: int, rng: random.Random) -> dict[str, t.Any]:
    return {
        "message": "name is required",
        "code": "required_field",
        "event": {"properties": {"n": i}, "timestamp": "not-a-time" if i % 2 else None},
    }


def jobs(seed: int = 7) -> list[FullstoryJob]:
    """Users and events jobs in every state the tap must handle."""
    rng = random.Random(seed)
    return [
        FullstoryJob(
            "U-DONE",
            "users",
            "COMPLETED",
            finished="2024-05-01T10:00:00Z",
            imports=[user(i, rng) for i in range(250)],
            page_size=100,
        ),
        FullstoryJob(
            "U-PART",
            "users",
            "FAILED",
            finished="2024-05-01T11:00:00.5Z",
            imports=[user(i, rng) for i in range(1000, 1120)],
            errors=[user_error(i, rng) for i in range(30)],
            page_size=25,
        ),
        FullstoryJob(
            "U-BUSY",
            "users",
            "PROCESSING",
            processing_polls=10**9,
            imports=[user(i, rng) for i in range(5)],
        ),
        FullstoryJob(
            "E-DONE",
            "events",
            "COMPLETED",
            finished="2024-05-01T12:00:00Z",
            imports=[event(i, rng) for i in range(150)],
            page_size=40,
        ),
        FullstoryJob(
            "E-FAIL",
            "events",
            "FAILED",
            finished="2024-05-01T12:30:00Z",
            errors=[event_error(i, rng) for i in range(20)],
            page_size=7,
        ),
    ]


def config(emulator: t.Any, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "fullstory_api_key": emulator.dataset.fullstory_api_key,
        "fullstory_api_url": emulator.fullstory_url,
        "fullstory_user_import_job_ids": ["U-DONE", "U-PART", "U-BUSY", "U-NONE"],
        "fullstory_event_import_job_ids": ["E-DONE", "E-FAIL"],
        **extra,
    }
