"""Per-job bookmarks: which jobs are fully extracted, and where an unfinished one resumes.

The SDK's parent->child partitions keep one state entry per partition with its whole
context, and every STATE message re-serialises all of them, so 2,000 jobs cost 170 MB of
STATE. Here a stream's bookmark is ``{"done": [job ids], "progress": {job id: cursor}}``:
a finished job costs its id, and only the job being read carries a cursor.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import MutableMapping

#: Rough bytes a cursor entry adds to STATE (id, token and row count).
_CURSOR_BYTES = 160

#: A completed job's STATE is only written once this many times its own size in
#: records has been written since the last STATE (a mid-job cursor is always written).
STATE_AMORTISATION = 20


class JobBookmarks:
    """The bookmark of one results stream, kept inside the SDK's stream state dict."""

    def __init__(self, stream_state: MutableMapping[str, t.Any]) -> None:
        """Wrap (and normalise) a stream's state dict, which the SDK serialises as is.

        Args:
            stream_state: The writable dict the SDK keeps under ``bookmarks[<stream>]``.
        """
        done = stream_state.get("done")
        progress = stream_state.get("progress")
        self._done: list[str] = [str(j) for j in done] if isinstance(done, list) else []
        self._progress: dict[str, dict[str, t.Any]] = (
            {str(k): v for k, v in progress.items() if isinstance(v, dict)}
            if isinstance(progress, dict)
            else {}
        )
        stream_state["done"] = self._done
        stream_state["progress"] = self._progress
        self._done_set = set(self._done)
        self.size_estimate = sum(len(j) + 3 for j in self._done) + 64

    def is_done(self, job_id: str) -> bool:
        """Whether the job's results were fully extracted by this or an earlier run."""
        return job_id in self._done_set

    def cursor(self, job_id: str) -> dict[str, t.Any] | None:
        """Where an interrupted extraction of this job resumes, if it was interrupted."""
        return self._progress.get(job_id)

    def save_cursor(self, job_id: str, cursor: dict[str, t.Any]) -> None:
        """Record the resume point after a page whose records are all written."""
        if job_id not in self._progress:
            self.size_estimate += _CURSOR_BYTES
        self._progress[job_id] = cursor

    def mark_done(self, job_id: str) -> None:
        """Record that every row of the job has been written."""
        if self._progress.pop(job_id, None) is not None:
            self.size_estimate -= _CURSOR_BYTES
        if job_id not in self._done_set:
            self._done_set.add(job_id)
            self._done.append(job_id)
            self.size_estimate += len(job_id) + 3


class StateBudget:
    """Decides when a page boundary is worth a STATE message.

    A page that leaves its job unfinished always gets one (so an interrupted run re-emits
    at most that page). After a job's last page, STATE is written only once the bytes
    read since the last STATE reach ``STATE_AMORTISATION`` times the state's size:
    re-running a job that ended since then re-emits at most its last page, while
    thousands of small jobs no longer cost one full STATE each.
    """

    def __init__(self) -> None:
        """Start with nothing read."""
        self._bookmarks: list[JobBookmarks] = []
        self._bytes_since_state = 0

    def track(self, bookmarks: JobBookmarks) -> JobBookmarks:
        """Count a stream's bookmark in the state size.

        Args:
            bookmarks: The stream's bookmark.

        Returns:
            The same bookmark.
        """
        self._bookmarks.append(bookmarks)
        return bookmarks

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
        state_size = sum(b.size_estimate for b in self._bookmarks)
        return self._bytes_since_state >= STATE_AMORTISATION * state_size

    def state_written(self) -> None:
        """Restart the count after a STATE message."""
        self._bytes_since_state = 0
