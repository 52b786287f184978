"""When a page boundary is worth a STATE message.

A page that leaves its job unfinished always gets one (so an interrupted run re-emits at
most that page). After a job's last page, STATE is written only once the bytes read
since the last STATE reach ``STATE_AMORTISATION`` times the state's size: re-running a
job that ended since then re-emits at most its last page, while thousands of small jobs
no longer cost one full STATE each.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable

#: A completed job's STATE is only written once this many times the state's size in
#: response bytes has been read since the last STATE (a mid-job cursor always is).
STATE_AMORTISATION = 20


class StateCadence:
    """Counts bytes read since the last STATE and says when the next one is due."""

    def __init__(self, state_size: Callable[[], int]) -> None:
        """Start with nothing read.

        Args:
            state_size: Rough bytes of the state now.
        """
        self._state_size = state_size
        self._bytes_since_state = 0

    def page_written(self, size: int, *, job_finished: bool) -> bool:
        """Account for a page and say whether to write STATE now.

        Args:
            size: Bytes of the page's response body.
            job_finished: Whether that page was the job's last.

        Returns:
            True if a STATE message should follow this page.
        """
        self._bytes_since_state += size
        if not job_finished:
            return True
        return self._bytes_since_state >= STATE_AMORTISATION * self._state_size()

    def state_written(self) -> None:
        """Restart the count after a STATE message."""
        self._bytes_since_state = 0
