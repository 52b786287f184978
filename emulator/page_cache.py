"""A bounded cache of serialised result pages, shared by every vendor.

Rendering a page of thousands of rows costs more than serving it; benchmarks read the same
pages night after night, so the vendors keep their rendered pages here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

#: Default bound of the page cache shared by all vendors.
DEFAULT_PAGE_CACHE_BYTES = 768 * 1024 * 1024


class PageCache:
    """A thread-safe LRU of serialised pages, bounded by total size in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_PAGE_CACHE_BYTES) -> None:
        """Create an empty cache.

        Args:
            max_bytes: Evict the least recently used pages beyond this total size.
        """
        self._max_bytes = max_bytes
        self._size = 0
        self._pages: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: tuple[object, ...], build: Callable[[], bytes]) -> bytes:
        """Return the cached page for a key, building and caching it on a miss.

        Args:
            key: Identifies the page; include everything the bytes depend on.
            build: Renders the page.

        Returns:
            The page bytes.
        """
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        # Render outside the lock: a rare duplicate render is cheaper than serialising all.
        page = build()
        if len(page) <= self._max_bytes:
            with self._lock:
                if key not in self._pages:
                    self._pages[key] = page
                    self._size += len(page)
                while self._size > self._max_bytes:
                    _, evicted = self._pages.popitem(last=False)
                    self._size -= len(evicted)
        return page

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Total bytes cached."""
        return self._size
