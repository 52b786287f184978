"""Fullstory Server API v2: users and events batch imports."""

from __future__ import annotations

from tap_batchimport.fullstory.settings import FULLSTORY_SETTINGS as SETTINGS
from tap_batchimport.fullstory.streams import (
    EventImportErrorsStream,
    ImportedEventsStream,
    ImportedUsersStream,
    UserImportErrorsStream,
)
from tap_batchimport.fullstory.vendor import FullstoryVendor

STREAMS = (
    UserImportErrorsStream,
    ImportedUsersStream,
    ImportedEventsStream,
    EventImportErrorsStream,
)

VENDOR = FullstoryVendor

__all__ = ["SETTINGS", "STREAMS", "VENDOR"]
