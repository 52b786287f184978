"""Reading a SailPoint import's result: one document, flattened to one record per item."""

from __future__ import annotations

import typing as t

from tap_batchimport.errors import VendorAPIError
from tap_batchimport.pages import Gone, Page
from tap_batchimport.sailpoint.results import MalformedResultError, flatten
from tap_batchimport.timestamps import parse_timestamp, utc_now

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_batchimport.http.client import VendorClient
    from tap_batchimport.http.endpoints import Endpoint
    from tap_batchimport.jobs import JobStatus
    from tap_batchimport.pages import Cursor, Outcome

#: No result to download: gone for good once the status's ``expiration`` has passed,
#: otherwise a failure of this job that the next run tries again.
GONE = 404


class ConfigImportResultsReader:
    """Reads ``GET /{version}/sp-config/import/{id}/download``: the whole result at once.

    The download is one document (no paging), so a job is one page: an interrupted job is
    read again from its start, and no cursor is ever saved.
    """

    def __init__(self, client: VendorClient, endpoint: Endpoint) -> None:
        """Bind the reader to the SailPoint client.

        Args:
            client: The SailPoint client.
            endpoint: The download endpoint of the configured API version.
        """
        self.client = client
        self.endpoint = endpoint

    @staticmethod
    def valid_cursor(cursor: Cursor) -> bool:  # noqa: ARG004
        """No cursor is ever written, so none found in a state is usable."""
        return False

    def read(self, status: JobStatus, cursor: Cursor | None) -> Iterator[Outcome]:  # noqa: ARG002
        """Yield the job's one page, or :class:`Gone` when the result has expired.

        A 404 before the status's ``expiration`` has passed is a failure of this job.

        Args:
            status: The job's status (``COMPLETE``).
            cursor: Unused: the document is read whole.

        Yields:
            One outcome.

        Raises:
            VendorAPIError: The document's ``results`` is not a map of object types, or the
                download answered 404 before the result's expiration.
        """
        job_id = status.ref.job_id
        answer = self.client.request(
            self.endpoint, path_params={"job_id": job_id}, pass_statuses={GONE}
        )
        if answer.status == GONE:
            expiration = status.extra.get("expiration")
            expires = parse_timestamp(expiration)
            if expires is None or expires > utc_now():
                raise VendorAPIError(
                    self.client.vendor,
                    str(self.endpoint).replace("{job_id}", job_id),
                    GONE,
                    "no result to download although the job is COMPLETE and its expiration "
                    f"({expiration or 'not given'}) has not passed",
                )
            yield Gone(
                f"results expired (HTTP 404 on {self.endpoint}; expiration {expiration}); "
                "given up: nothing extracted, and the job is not asked for again "
                "(job_details shows given_up and result_expired)",
                answer.size,
            )
            return
        try:
            records = flatten(job_id, answer.payload)  # checks the shape before any record
        except MalformedResultError as exc:
            raise VendorAPIError(
                self.client.vendor, str(self.endpoint), answer.status, str(exc)
            ) from None
        yield Page(records, None, answer.size)
