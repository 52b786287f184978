"""Fullstory settings."""

from __future__ import annotations

from singer_sdk import typing as th

FULLSTORY_SETTINGS = th.PropertiesList(
    th.Property(
        "fullstory_api_key",
        th.StringType,
        secret=True,
        title="Fullstory API key",
        description=(
            "Server API key (Settings > Integrations > API Keys), sent as "
            "'Authorization: Basic <key>'. Absent: Fullstory is not extracted."
        ),
        examples=["na1.1234567890abcdef..."],
    ),
    th.Property(
        "fullstory_api_url",
        th.StringType,
        default="https://api.fullstory.com",
        title="Fullstory API URL",
        description=(
            "Base URL. https://api.fullstory.com routes every account, EU ones included, "
            "to its region; EU accounts may also use https://api.eu1.fullstory.com."
        ),
        examples=["https://api.fullstory.com", "https://api.eu1.fullstory.com"],
    ),
    th.Property(
        "fullstory_user_import_job_ids",
        th.ArrayType(th.StringType),
        default=[],
        title="Fullstory users import job ids",
        description="Ids of users batch import jobs (POST /v2/users/batch answers them).",
        examples=[["MTIzNDU2Nzg5"]],
    ),
    th.Property(
        "fullstory_event_import_job_ids",
        th.ArrayType(th.StringType),
        default=[],
        title="Fullstory events import job ids",
        description="Ids of events batch import jobs (POST /v2/events/batch answers them).",
        examples=[["OTg3NjU0MzIx"]],
    ),
    th.Property(
        "fullstory_include_schema",
        th.BooleanType,
        default=False,
        title="Fullstory: include schema",
        description="Pass include_schema=true to the /imports endpoints.",
    ),
)
