"""Record schemas of the Fullstory results streams, typed from the Server API v2 spec.

Objects of a documented shape (an event's ``user``, ``session``, ``context``) keep their
properties, typed where the API guarantees them (the device's sizes are integers, the
location's coordinates numbers), and stay open (``additionalProperties``): Fullstory adds
fields at any level. Objects whose keys are the customer's own or undocumented
(``properties``, ``schema``, ``type_conflicts``) are open objects with no ``properties``
key (see ``tap_batchimport.open_object``). Objects that echo back *rejected* input
(``user`` in user errors, ``event`` and ``shared`` in event errors) are open objects too:
typed no stricter than the API promises, as that input may have been rejected because it
was malformed.
"""

from __future__ import annotations

from singer_sdk import typing as th

from tap_batchimport.open_object import open_object


def _open(*properties: th.Property) -> th.ObjectType:
    """An object of a known shape that may carry more keys: never without ``properties``."""
    return th.ObjectType(*properties, additional_properties=True)


def _keys(*extra: th.Property) -> th.PropertiesList:
    return th.PropertiesList(
        th.Property("job_id", th.StringType, required=True, description="Batch import job id"),
        th.Property(
            "row_number",
            th.IntegerType,
            required=True,
            description="0-based position of the row in the job's result list",
        ),
        *extra,
    )


def _rejected_input(name: str, description: str) -> th.Property:
    return th.Property(name, open_object(), description=description)


PROPERTIES = th.Property(
    "properties",
    open_object(),
    description="Custom properties (open object, up to 500 keys, nested)",
)
SCHEMA = th.Property(
    "schema",
    open_object(),
    description="Schema declaration (only with fullstory_include_schema)",
)

USER_IMPORT_ERRORS = _keys(
    th.Property("message", th.StringType, description="Why the user failed to import"),
    th.Property("code", th.StringType, description="Error code"),
    _rejected_input("user", "The user payload as submitted (id, uid, display_name, email, ...)"),
).to_dict()

IMPORTED_USERS = _keys(
    th.Property("id", th.StringType, description="Fullstory-assigned user id"),
    th.Property("uid", th.StringType, description="Your application's user id"),
    th.Property("display_name", th.StringType),
    th.Property("email", th.StringType),
    PROPERTIES,
    SCHEMA,
    th.Property(
        "type_conflicts",
        open_object(),
        description="Properties whose type conflicted with earlier data (shape not documented)",
    ),
).to_dict()

IMPORTED_EVENTS = _keys(
    th.Property("user", _open(th.Property("id", th.StringType), th.Property("uid", th.StringType))),
    th.Property(
        "session", _open(th.Property("id", th.StringType), th.Property("uid", th.StringType))
    ),
    th.Property(
        "context",
        _open(
            th.Property(
                "browser",
                _open(
                    th.Property("url", th.StringType),
                    th.Property("user_agent", th.StringType),
                    th.Property("initial_referrer", th.StringType),
                ),
            ),
            th.Property(
                "mobile",
                _open(
                    th.Property("app_id", th.StringType),
                    th.Property("app_version", th.StringType),
                    th.Property("app_name", th.StringType),
                    th.Property("build_variant", th.StringType),
                ),
            ),
            th.Property(
                "device",
                _open(
                    th.Property("manufacturer", th.StringType),
                    th.Property("model", th.StringType),
                    th.Property("screen_width", th.IntegerType),
                    th.Property("screen_height", th.IntegerType),
                    th.Property("viewport_width", th.IntegerType),
                    th.Property("viewport_height", th.IntegerType),
                ),
            ),
            th.Property(
                "location",
                _open(
                    th.Property("country", th.StringType),
                    th.Property("region", th.StringType),
                    th.Property("city", th.StringType),
                    th.Property("ip_address", th.StringType),
                    th.Property("latitude", th.NumberType),
                    th.Property("longitude", th.NumberType),
                ),
            ),
        ),
    ),
    th.Property("name", th.StringType, description="Event name"),
    th.Property("timestamp", th.DateTimeType, description="Event time (ISO 8601)"),
    PROPERTIES,
    SCHEMA,
).to_dict()

EVENT_IMPORT_ERRORS = _keys(
    th.Property("message", th.StringType, description="Why the event failed to import"),
    th.Property("code", th.StringType, description="Error code"),
    _rejected_input("event", "The event request as submitted"),
    _rejected_input("shared", "Shared context of the request, if any (as submitted)"),
).to_dict()
