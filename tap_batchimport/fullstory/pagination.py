"""Fullstory's token paging: ``next_page_token`` goes back as ``page_token``."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.pagination import BaseAPIPaginator

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class PageTokenPaginator(BaseAPIPaginator["str | None"]):
    """Follows ``next_page_token``; stops when it is missing, empty, or already seen.

    The SDK's ``advance`` raises on a repeated token; Fullstory documents a repeated
    token as the end of the list, so this paginator stops instead.
    """

    def __init__(self, start_value: str | None = None) -> None:
        """Start at a page token (a resumed run) or at the first page.

        Args:
            start_value: Token of the first page to read, or None.
        """
        super().__init__(start_value)
        self._seen: set[str] = {start_value} if start_value else set()

    @override
    def get_next(self, response: t.Any) -> str | None:
        """Read the next token from a decoded page.

        Args:
            response: The decoded page body (a dict).

        Returns:
            The next token, or None at the end.
        """
        token = response.get("next_page_token") if isinstance(response, dict) else None
        if not isinstance(token, str) or not token or token in self._seen:
            return None
        self._seen.add(token)
        return token
