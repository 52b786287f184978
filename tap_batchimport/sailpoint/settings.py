"""SailPoint Identity Security Cloud settings."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_batchimport.settings import client_credentials_settings

#: ``v1``: the per-API layout ``/sp-config/v1/import/...`` SailPoint's current SDKs call;
#: the others are the prefixes of ``/{version}/sp-config/import/...`` (``v3`` has none).
V1 = "v1"
API_VERSIONS = (V1, "beta", "v2024", "v2025", "v2026")
DEFAULT_API_VERSION = "v2025"

SAILPOINT_SETTINGS = th.PropertiesList(
    th.Property(
        "sailpoint_api_url",
        th.StringType,
        title="SailPoint API URL",
        description=(
            "Tenant API base URL, https://{tenant}.api.identitynow.com (demo tenants use "
            "other hosts). The token is requested from {sailpoint_api_url}/oauth/token. "
            "Absent: SailPoint is not extracted."
        ),
        examples=["https://acme.api.identitynow.com"],
    ),
    th.Property(
        "sailpoint_api_version",
        th.StringType(allowed_values=list(API_VERSIONS)),
        default=DEFAULT_API_VERSION,
        title="SailPoint API version",
        description=(
            "Which SP-Config endpoints to call. v1: SailPoint's newer layout "
            "{sailpoint_api_url}/sp-config/v1/import/{id}[/download]; beta, v2024, v2025 or "
            "v2026: the path prefix of {sailpoint_api_url}/{version}/sp-config/import/{id}. "
            "If every job answers 404 with a prefix, the tenant has retired it: use v1."
        ),
        examples=["v2025", "v1"],
    ),
    *client_credentials_settings(
        "sailpoint",
        "SailPoint",
        id_description=(
            "Client id of a personal access token (PAT) of an ORG_ADMIN user with scope "
            "sp:config:manage (Preferences > Personal Access Tokens)."
        ),
        secret_description=(  # noqa: S106  (a description, not a secret)
            "Secret of that personal access token (shown once, when it is created)."
        ),
        id_example="2c9180835d2e5168015d32f890ca1581",
    ),
    th.Property(
        "sailpoint_import_job_ids",
        th.ArrayType(th.StringType),
        default=[],
        title="SailPoint import job ids",
        description=(
            "Ids of SP-Config import jobs (POST /{version}/sp-config/import answers them; "
            "there is no endpoint listing them)."
        ),
        examples=[["ef38f94347e94562b5bb8424a56397d8"]],
    ),
)
