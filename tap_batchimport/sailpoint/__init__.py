"""SailPoint Identity Security Cloud: SP-Config import job results."""

from __future__ import annotations

from tap_batchimport.sailpoint.settings import SAILPOINT_SETTINGS as SETTINGS
from tap_batchimport.sailpoint.streams import ConfigImportResultsStream
from tap_batchimport.sailpoint.vendor import SailpointVendor

STREAMS = (ConfigImportResultsStream,)
VENDOR = SailpointVendor

__all__ = ["SETTINGS", "STREAMS", "VENDOR"]
