"""DruID's cursor paging: ``content.lastId`` goes back as ``last``."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.pagination import BaseAPIPaginator

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override


class LastIdPaginator(BaseAPIPaginator[str | None]):
    """Follows ``content.lastId``; stops when it is absent or empty.

    A ``lastId`` already sent would make the server repeat itself for ever; the SDK's
    ``advance`` only catches the token just sent, so every cursor is remembered and a
    repeated one ends the list (``looped`` tells the caller).
    """

    def __init__(self, start_value: str | None = None) -> None:
        """Start at a cursor (a resumed run) or at the first page.

        Args:
            start_value: ``last`` of the first page to read, or None.
        """
        super().__init__(start_value)
        self._seen: set[str] = {start_value} if start_value else set()
        self.looped = False

    @override
    def advance(self, response: t.Any) -> None:
        """Move to the next page; takes the decoded page, not a ``requests.Response``.

        Args:
            response: The decoded page body.
        """
        super().advance(response)

    @override
    def get_next(self, response: t.Any) -> str | None:
        """Read the next cursor from a decoded page.

        Args:
            response: The decoded page body (``{content: {lastId?, results}}``).

        Returns:
            The next cursor, or None at the end.
        """
        content = response.get("content") if isinstance(response, dict) else None
        last_id = content.get("lastId") if isinstance(content, dict) else None
        if last_id is None or last_id == "":
            return None
        last_id = str(last_id)
        if last_id in self._seen:
            self.looped = True
            return None
        self._seen.add(last_id)
        return last_id
