"""``bulk_results``: the per-row results of every finished DruID bulk."""

from __future__ import annotations

import sys

from tap_batchimport.druid.readers import BulkResultsReader
from tap_batchimport.druid.schemas import BULK_RESULTS
from tap_batchimport.druid.vendor import SOURCE, DruidVendor
from tap_batchimport.results_stream import JobResultsStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class BulkResultsStream(JobResultsStream):
    """One row per result of a bulk: ``GET /activityid/v1/user/bulk/{bulk_id}/results``."""

    name = "bulk_results"
    vendor_type = DruidVendor
    source = SOURCE
    primary_keys = ("bulk_id", "id")
    schema = BULK_RESULTS

    @override
    def reader(self) -> BulkResultsReader:
        return BulkResultsReader(
            self.vendor.client,
            page_size=int(self.config.get("druid_page_size") or 100),
            failed_only=bool(self.config.get("druid_failed_only")),
            logger=self.logger,
        )
