"""Record schema of ``bulk_results``: one row of a bulk job's results.

Item fields beyond seed 003 are unconfirmed, so each is a nullable string and fields
DruID adds later pass through untyped.
"""

from __future__ import annotations

from singer_sdk import typing as th

BULK_RESULTS = th.PropertiesList(
    th.Property("bulk_id", th.StringType, required=True, description="DruID bulk id"),
    th.Property(
        "id",
        th.StringType,
        required=True,
        description="Id of the bulk row (a UUIDv7, so ids sort in time order)",
    ),
    th.Property(
        "userIdentifierType",
        th.StringType,
        description="How the row identified its user: object_id or pulse_id",
    ),
    th.Property("objectId", th.StringType, description="The user's objectId"),
    th.Property("pulseId", th.StringType, description="The user's pulseId"),
    th.Property(
        "error",
        th.StringType,
        description="Why updating this user failed; null when the update succeeded",
    ),
    additional_properties=True,
).to_dict()
