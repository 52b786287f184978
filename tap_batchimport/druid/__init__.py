"""DruID bulk user API: per-row results of bulk jobs."""

from __future__ import annotations

from tap_batchimport.druid.settings import DRUID_SETTINGS as SETTINGS
from tap_batchimport.druid.streams import BulkResultsStream
from tap_batchimport.druid.vendor import DruidVendor

STREAMS = (BulkResultsStream,)
VENDOR = DruidVendor

__all__ = ["SETTINGS", "STREAMS", "VENDOR"]
