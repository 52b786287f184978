"""DruID settings."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_batchimport.settings import client_credentials_settings

#: Largest page DruID is asked for (``limit``).
MAX_PAGE_SIZE = 1000

DRUID_SETTINGS = th.PropertiesList(
    th.Property(
        "druid_api_url",
        th.StringType,
        title="DruID API URL",
        description=(
            "Base URL of the DruID graph host that serves /activityid/v1/user/bulk. "
            "Absent: DruID is not extracted."
        ),
        examples=["https://graph.example.com"],
    ),
    th.Property(
        "druid_auth_url",
        th.StringType,
        title="DruID auth URL",
        description=(
            "Base URL of the DruID auth host; access tokens come from "
            "{druid_auth_url}/oauth2/token."
        ),
        examples=["https://auth.example.com"],
    ),
    *client_credentials_settings(
        "druid",
        "DruID",
        id_description="OAuth2 client id of a client allowed the client_credentials grant.",
        secret_description="OAuth2 client secret of that client.",  # noqa: S106
        id_example="my-etl-client",
    ),
    th.Property(
        "druid_bulk_ids",
        th.ArrayType(th.StringType),
        default=[],
        title="DruID bulk ids",
        description=(
            "Ids of the bulk jobs to extract. Empty: every bulk the list endpoint "
            "(GET /activityid/v1/user/bulk) returns."
        ),
        examples=[["0190c3c4-8f2a-7b3e-9d41-6a1f0e2b7c55"]],
    ),
    th.Property(
        "druid_page_size",
        th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
        default=100,
        title="DruID page size",
        description="Result rows per request, sent as 'limit' (1-1000).",
        examples=[100, 1000],
    ),
    th.Property(
        "druid_failed_only",
        th.BooleanType,
        default=False,
        title="DruID: failed rows only",
        description="Sent as 'failedOnly': extract only the rows whose update failed.",
    ),
)
