"""SailPoint results stream: every message and imported object of each completed import."""

from __future__ import annotations

import sys
import typing as t

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.sailpoint import schemas
from tap_batchimport.sailpoint.results import MalformedResultError, flatten
from tap_batchimport.sailpoint.vendor import SOURCE, SailpointVendor
from tap_batchimport.streams import JobResultsStream

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_batchimport.jobs import JobStatus

#: The result is gone: deleted after its ``expiration``.
GONE = 404


class ConfigImportResultsStream(JobResultsStream):
    """``GET /{version}/sp-config/import/{id}/download`` of every ``COMPLETE`` job, flattened.

    The download is one document (no paging), so a job is one "page": it is bookmarked
    done after its last record, and an interrupted job is read again from its start.
    """

    name = "config_import_results"
    vendor_key = "sailpoint"
    sources = frozenset({SOURCE})
    primary_keys = ("job_id", "object_type", "category", "position")
    schema = schemas.CONFIG_IMPORT_RESULTS

    @override
    def extract_job(self, status: JobStatus) -> Iterator[dict[str, t.Any]]:
        job_id = status.ref.job_id
        vendor = t.cast("SailpointVendor", self.vendor)
        endpoint = vendor.download_endpoint
        answer = vendor.client.request(
            endpoint, path_params={"job_id": job_id}, pass_statuses={GONE}
        )
        if answer.status == GONE:
            self.logger.warning(
                "SailPoint job %s: result no longer available (HTTP 404 on %s; expiration %s); "
                "nothing extracted, and the job is not asked for again (job_details shows "
                "result_expired)",
                job_id,
                endpoint,
                status.extra.get("expiration") or "unknown",
            )
            vendor.record_download(status, gone=True)
            # Bookmarked as done: the result will not come back, so later runs skip it.
            self.page_written(job_id, cursor=None, size=answer.size)
            return
        vendor.record_download(status, gone=False)
        self.start_page()
        try:
            records = flatten(job_id, answer.payload)
        except MalformedResultError as exc:
            raise VendorAPIError(
                vendor.display_name, str(endpoint), answer.status, str(exc)
            ) from None
        yield from records
        self.page_written(job_id, cursor=None, size=answer.size)
