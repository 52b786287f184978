"""Errors the tap reports to its user as one clear line."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError

#: The status of an error about an answer whose body could not be read as sent.
MALFORMED = "malformed answer"


class VendorAPIError(FatalAPIError):
    """A vendor answered in a way retrying cannot fix (bad credentials, 403, retries exhausted).

    The message names vendor, endpoint, HTTP status and the vendor's own message, and never
    a secret, token or ``Authorization`` header.
    """

    def __init__(self, vendor: str, endpoint: str, status: int | str, detail: str) -> None:
        """Build the one-line message.

        Args:
            vendor: Vendor name, e.g. ``Fullstory``.
            endpoint: Endpoint path template, e.g. ``GET /v2/users/batch/{job_id}/errors``.
            status: HTTP status, or a short word when there was no response.
            detail: The vendor's message (already free of secrets).
        """
        self.vendor = vendor
        self.endpoint = endpoint
        self.status = status
        self.detail = detail
        #: Set where the error stops the whole vendor whatever its status (a token refused).
        self.vendor_wide = False
        if isinstance(status, int):
            what = f"HTTP {status}"
        else:
            what = status if status == MALFORMED else f"{status} (no HTTP answer)"
        super().__init__(f"{vendor} {endpoint} failed: {what}: {detail}")


#: Answers that concern the vendor as a whole, not one job: credentials refused (401 after
#: a fresh token, 403), a proxy asking for credentials (407), a rate limit (429, whose
#: pause every request of the vendor shares).
_VENDOR_WIDE_STATUSES = frozenset({401, 403, 407, 429})


def is_vendor_wide(error: VendorAPIError) -> bool:
    """Whether an error stops the whole vendor rather than the one job it happened on.

    Credentials, permissions, rate limits, a refused redirect (the base URL is wrong) and
    a token endpoint that fails stop the vendor: every other job would fail the same way.
    A 5xx, a malformed body, a timeout or a 404 on a job's results stop that job only.

    Args:
        error: The error.

    Returns:
        True when the vendor's other jobs cannot succeed either.
    """
    status = error.status
    if error.vendor_wide:
        return True
    return isinstance(status, int) and (
        status in _VENDOR_WIDE_STATUSES or 300 <= status < 400  # noqa: PLR2004
    )


def job_error_line(source: str, job_id: str, error: VendorAPIError) -> str:
    """The one line that says why a job failed, naming it by its real id.

    Args:
        source: ``job_details.source``.
        job_id: The job's id.
        error: What failed.

    Returns:
        ``<source> job <id>: <what failed>``, the endpoint with the id in place.
    """
    text = str(error)
    for placeholder in ("{job_id}", "{bulk_id}"):
        text = text.replace(placeholder, job_id)
    return f"{source} job {job_id}: {text}"
