"""``config_import_results``: every message and imported object of each completed import."""

from __future__ import annotations

import sys

from tap_batchimport.results_stream import JobResultsStream
from tap_batchimport.sailpoint.readers import ConfigImportResultsReader
from tap_batchimport.sailpoint.schemas import CONFIG_IMPORT_RESULTS
from tap_batchimport.sailpoint.vendor import SOURCE, SailpointVendor

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class ConfigImportResultsStream(JobResultsStream):
    """``GET /{version}/sp-config/import/{id}/download`` of every ``COMPLETE`` job, flattened."""

    name = "config_import_results"
    vendor_type = SailpointVendor
    source = SOURCE
    primary_keys = ("job_id", "object_type", "category", "position")
    schema = CONFIG_IMPORT_RESULTS

    @override
    def reader(self) -> ConfigImportResultsReader:
        vendor = self.run.vendor(SailpointVendor)
        return ConfigImportResultsReader(vendor.client, vendor.download_endpoint)
