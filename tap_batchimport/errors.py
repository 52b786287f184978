"""Errors the tap reports to its user as one clear line."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


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
        what = f"HTTP {status}" if isinstance(status, int) else f"{status} (no HTTP answer)"
        super().__init__(f"{vendor} {endpoint} failed: {what}: {detail}")
