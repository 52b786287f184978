"""What a vendor request names (an endpoint) and what the caller gets back (an answer)."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Endpoint:
    """One vendor endpoint, named by its path template (the name used in errors and logs).

    Attributes:
        path: Path template relative to the vendor base URL, e.g.
            ``/v2/users/batch/{job_id}/errors``. Placeholders are URL-encoded as
            whole path segments, so a job id can never add or escape path segments.
        method: HTTP method.
        envelope: Top-level key a successful body must have; a 200 without it is
            malformed and retried like a 5xx.
    """

    path: str
    method: str = "GET"
    envelope: str | None = None

    def url(self, base_url: str, **params: str) -> str:
        """Join the base URL (keeping any path prefix) and the encoded path.

        Args:
            base_url: Vendor base URL, possibly with a path prefix.
            **params: Path placeholder values.

        Returns:
            The absolute URL.
        """
        encoded = {k: quote(str(v), safe="") for k, v in params.items()}
        return base_url.rstrip("/") + self.path.format(**encoded)

    def __str__(self) -> str:
        """Return e.g. ``GET /v2/users/batch/{job_id}``."""
        return f"{self.method} {self.path}"


@dataclass
class ApiResponse:
    """A vendor answer the caller has to act on.

    Attributes:
        status: HTTP status.
        payload: Decoded JSON body for 2xx answers (None for statuses the caller passes).
        size: Bytes of the body, used to budget STATE messages.
    """

    status: int
    payload: t.Any = None
    size: int = 0
