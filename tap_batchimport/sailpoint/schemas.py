"""Record schema of ``config_import_results``: one message or imported object per record."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_batchimport.open_object import open_object
from tap_batchimport.sailpoint.results import IMPORTED_OBJECT, MESSAGE_LISTS

CONFIG_IMPORT_RESULTS = th.PropertiesList(
    th.Property("job_id", th.StringType, required=True, description="SP-Config import job id"),
    th.Property(
        "export_job_id",
        th.StringType,
        description="exportJobId: the backup export made before the import, if any",
    ),
    th.Property(
        "object_type",
        th.StringType,
        required=True,
        description="Key of the results map: TRIGGER_SUBSCRIPTION, SOURCE, TRANSFORM, RULE, ...",
    ),
    th.Property(
        "category",
        th.StringType(allowed_values=[*MESSAGE_LISTS.values(), IMPORTED_OBJECT]),
        required=True,
        description=(
            "info, warning, error (from infos, warnings, errors) or imported_object "
            "(from importedObjects)"
        ),
    ),
    th.Property(
        "position",
        th.IntegerType,
        required=True,
        description="0-based index of the item within its list",
    ),
    th.Property("key", th.StringType, description="Message key, e.g. IMPORT_PREVIEW"),
    th.Property("text", th.StringType, description="Message text"),
    th.Property(
        "details",
        open_object(),
        description=(
            "Message details (from 'details' or 'detail'); a value that is not an object "
            'is kept as {"value": ...}'
        ),
    ),
    th.Property("imported_object_type", th.StringType, description="Imported object's type"),
    th.Property("imported_object_id", th.StringType, description="Imported object's id"),
    th.Property("imported_object_name", th.StringType, description="Imported object's name"),
).to_dict()
