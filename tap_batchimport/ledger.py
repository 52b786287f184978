"""The job ledger: every job the tap has seen and not yet settled, kept in the state.

Pipelines give each run only the ids of the jobs pushed since the previous run, so a job
still processing at its first run would be lost once nothing names it any more. The
ledger remembers it until it is *settled*: finished and extracted for every selected
results stream, with its final ``job_details`` record written; or answered 404; or given
up after ``job_max_pending_days``. A settled job costs no request on later runs.

It lives in the state under ``bookmarks.job_details.jobs`` (the SDK only carries
``bookmarks`` from one run to the next), as ``{source: {job_id: entry}}`` where an entry
holds only what is true of that job (all keys optional):

- ``seen``: when the tap first saw the job (its age when the vendor gives no ``created``
  time); kept until the job is settled;
- ``done``: results streams whose rows were all written;
- ``cursors``: ``{stream: cursor}`` of a stream being read (resume point);
- ``error`` / ``fails``: why the last attempt to read the job failed, and how many runs in
  a row failed (``job_details.last_error`` / ``failed_attempts``);
- ``unread``: finished, but its results were not ready when asked (its age then counts);
- ``final``: the status of its last ``job_details`` record, once settled;
- ``given_up``: settled without all its results: unfinished or unreadable for too long;
- ``gone``: its results were deleted by the vendor before they could be read.

Beside ``jobs``, ``bookmarks.job_details.file`` remembers how far the job ids file was read:
``{"count": jobs, "digest": of those jobs, "done": {source: streams}}``. The file is
append-only and names every job ever pushed; its jobs up to that position are settled
unless ``jobs`` holds an entry for them, so a year of nightly imports costs the state a few
dozen bytes, not one entry per job (every STATE message carries the whole state).

The SDK's parent->child partitions would keep each job's whole context and re-serialise
all of them in every STATE message; an entry here is a few dozen bytes. And the STATE
message does not re-encode every entry each time either (see :meth:`JobLedger.encoded`):
a run reading one big job with 50,000 jobs remembered costs what it costs with 50.
"""

from __future__ import annotations

import hashlib
import typing as t

import msgspec

from tap_batchimport.jobs import JobRef

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, MutableMapping, Sequence

    from tap_batchimport.pages import Cursor

Entry = dict[str, t.Any]

#: Rough bytes an entry and a cursor add to STATE (for the STATE cadence only).
ENTRY_BYTES = 100
CURSOR_BYTES = 160

_encode = msgspec.json.Encoder().encode


def _members(mapping: dict[str, Entry]) -> bytes:
    """A JSON object's members without its braces (``b""`` for an empty object)."""
    return _encode(mapping)[1:-1]


class JobLedger:
    """Every remembered job, inside the SDK's ``job_details`` bookmark."""

    def __init__(self, bookmark: MutableMapping[str, t.Any]) -> None:
        """Wrap (and normalise) the bookmark dict the SDK serialises as is.

        Args:
            bookmark: The writable dict the SDK keeps under ``bookmarks.job_details``.
        """
        jobs = bookmark.get("jobs")
        self._jobs: dict[str, dict[str, Entry]] = {
            str(source): {str(job_id): e for job_id, e in entries.items() if isinstance(e, dict)}
            for source, entries in (jobs.items() if isinstance(jobs, dict) else ())
            if isinstance(entries, dict)
        }
        bookmark["jobs"] = self._jobs
        self._cursors = sum(
            len(e.get("cursors") or {}) for entries in self._jobs.values() for e in entries.values()
        )
        self._bookmark = bookmark
        self.file_rewritten = False
        #: Jobs of the job ids file settled by position unless ``jobs`` says otherwise.
        self._covered: set[JobRef] = set()
        #: Jobs changed by this run, per source: re-encoded in every STATE message.
        self._touched: dict[str, set[str]] = {}
        #: Per source, the encoded members of its untouched jobs (None: to be re-encoded).
        self._untouched: dict[str, bytes | None] = {}

    # -- reading ---------------------------------------------------------------------------

    def entry(self, ref: JobRef) -> Entry | None:
        """The job's entry, if the ledger remembers it."""
        return self._jobs.get(ref.source, {}).get(ref.job_id)

    def remembered(self, sources: Iterable[str]) -> list[JobRef]:
        """Every remembered job of these sources, in the order first seen.

        Args:
            sources: ``job_details.source`` values.

        Returns:
            The jobs.
        """
        return [JobRef(s, job_id) for s in sources for job_id in self._jobs.get(s, {})]

    @staticmethod
    def is_done(entry: Entry | None, stream: str) -> bool:
        """Whether a stream's rows of this job were all written."""
        return entry is not None and stream in (entry.get("done") or ())

    def is_settled(self, ref: JobRef, streams: Iterable[str]) -> bool:
        """Whether the job needs nothing more: final record written, every stream done.

        Args:
            ref: The job.
            streams: The selected results streams of its source.

        Returns:
            True when no request for it is needed.
        """
        entry = self.entry(ref)
        if entry is None:
            return ref in self._covered  # read from the file and settled on an earlier run
        return "final" in entry and self.all_done(ref, streams)

    def all_done(self, ref: JobRef, streams: Iterable[str]) -> bool:
        """Whether every one of these results streams has all the job's rows written.

        Args:
            ref: The job.
            streams: Results streams.

        Returns:
            True when nothing of the job is left to read for them.
        """
        entry = self.entry(ref)
        return all(self.is_done(entry, stream) for stream in streams)

    def cursor(self, ref: JobRef, stream: str) -> Cursor | None:
        """Where an interrupted read of this job's stream resumes, if it was interrupted."""
        entry = self.entry(ref)
        cursors = entry.get("cursors") if entry else None
        cursor = cursors.get(stream) if isinstance(cursors, dict) else None
        return cursor if isinstance(cursor, dict) else None

    @property
    def size_estimate(self) -> int:
        """Rough bytes of the ledger in a STATE message."""
        entries = sum(len(e) for e in self._jobs.values())
        return 64 + ENTRY_BYTES * entries + CURSOR_BYTES * self._cursors

    # -- writing ---------------------------------------------------------------------------

    def see(self, ref: JobRef, *, now: str) -> Entry:
        """Remember a job (again), noting when it was first seen.

        Args:
            ref: The job.
            now: The current time (RFC 3339).

        Returns:
            Its entry.
        """
        entry = self.entry(ref)
        if entry is not None and ("final" in entry or "seen" in entry):
            return entry  # nothing changes: not re-encoded in every STATE for it
        entry = self._write(ref)
        entry["seen"] = now
        return entry

    def _write(self, ref: JobRef) -> Entry:
        # Every change goes through here: the job's entry is re-encoded from now on.
        entries = self._jobs.setdefault(ref.source, {})
        touched = self._touched.setdefault(ref.source, set())
        if ref.job_id not in touched:
            touched.add(ref.job_id)
            if ref.job_id in entries:
                self._untouched[ref.source] = None  # it leaves the untouched part
        return entries.setdefault(ref.job_id, {})

    def save_cursor(self, ref: JobRef, stream: str, cursor: Cursor) -> None:
        """Record a stream's resume point after a page whose records are all written."""
        cursors = self._write(ref).setdefault("cursors", {})
        if stream not in cursors:
            self._cursors += 1
        cursors[stream] = cursor

    def mark_done(self, ref: JobRef, stream: str, *, gone: bool = False) -> None:
        """Record that every row of the job's stream has been written (or is gone for good).

        Args:
            ref: The job.
            stream: The results stream.
            gone: The vendor deleted the results before they could be read.
        """
        entry = self._write(ref)
        # Done first, cursor after: a signal between the two (the final STATE is written
        # from the signal handler) must not leave the job with neither, read again whole.
        done = entry.setdefault("done", [])
        if stream not in done:
            done.append(stream)
        if gone:
            entry["gone"] = True
        self._drop_cursor(entry, stream)

    def settle(
        self, ref: JobRef, status: str, *, streams: Iterable[str] = (), given_up: bool = False
    ) -> None:
        """Record the job's final ``job_details`` status: later runs leave it alone.

        Args:
            ref: The job.
            status: The status of its last ``job_details`` record.
            streams: Results streams with nothing (more) to read for it.
            given_up: It is settled because it stayed unfinished too long.
        """
        entry = self._write(ref)
        for stream in streams:
            self.mark_done(ref, stream)
        entry["final"] = status
        if given_up:
            entry["given_up"] = True
        for key in ("seen", "error", "fails", "unread"):
            entry.pop(key, None)

    def record_failure(self, ref: JobRef, error: str, *, new_run: bool) -> int:
        """Note why reading the job failed; count the run once in ``fails``.

        Args:
            ref: The job.
            error: One line, no secret.
            new_run: The first failure of this job in this run (it counts).

        Returns:
            Runs in a row that failed, this one included.
        """
        entry = self._write(ref)
        entry["error"] = error
        if new_run:
            entry["fails"] = int(entry.get("fails") or 0) + 1
        return int(entry.get("fails") or 0)

    def clear_failure(self, ref: JobRef) -> None:
        """The job was read (or waited for) without an error this run: the streak ends."""
        entry = self.entry(ref)
        if entry is not None and ("error" in entry or "fails" in entry):
            entry = self._write(ref)
            entry.pop("error", None)
            entry.pop("fails", None)

    def mark_unread(self, ref: JobRef) -> None:
        """The job is finished but its results were not ready when asked (202, 428)."""
        entry = self.entry(ref)
        if entry is None or not entry.get("unread"):
            self._write(ref)["unread"] = True

    @staticmethod
    def failures(entry: Entry | None) -> int:
        """Runs in a row that failed to read the job."""
        fails = entry.get("fails") if entry else None
        return fails if type(fails) is int and fails > 0 else 0

    @staticmethod
    def unreadable(entry: Entry | None) -> bool:
        """Whether an earlier attempt to read the job's results failed or found them not ready."""
        return bool(entry and (entry.get("fails") or entry.get("unread")))

    def forget_settled(
        self,
        sources: Iterable[str],
        named: set[JobRef],
        streams: Callable[[str], Iterable[str]],
    ) -> int:
        """Forget settled jobs that nothing of this run names any more.

        Args:
            sources: The sources of one vendor (others are left alone).
            named: Jobs a setting, the job ids file or the list endpoint names.
            streams: ``source -> selected results streams``.

        Returns:
            How many jobs were forgotten.
        """
        forgotten = 0
        for source in sources:
            entries = self._jobs.get(source, {})
            for job_id in list(entries):
                ref = JobRef(source, job_id)
                if (ref not in named or self._covered_as_is(ref)) and self.is_settled(
                    ref, streams(source)
                ):
                    self._drop_cursor(entries.pop(job_id), None)
                    self._touched.get(source, set()).discard(job_id)
                    self._untouched[source] = None
                    forgotten += 1
        return forgotten

    # -- the job ids file -----------------------------------------------------------------------

    def read_file(
        self, refs: Sequence[JobRef], streams: Callable[[str], Iterable[str]], now: str
    ) -> list[JobRef]:
        """Take the job ids file's jobs: those past the position read last time are new.

        Jobs before that position (the file is append-only) are settled unless the ledger
        holds an entry for them; when a newly selected stream was not done for them, they
        get an entry again (its other streams done), so that stream reads them.

        Args:
            refs: Every job of the file, each once, in file order.
            streams: ``source -> selected results streams``.
            now: The current time (RFC 3339).

        Returns:
            The new jobs (entered in the ledger).
        """
        mark = self._bookmark.get("file")
        count = mark.get("count") if isinstance(mark, dict) else None
        digest = hashlib.sha256()
        known = 0
        if type(count) is int and 0 < count <= len(refs):
            for ref in refs[:count]:
                digest.update(_line(ref))
            if digest.hexdigest()[:16] == mark.get("digest"):  # type: ignore[union-attr]
                known = count
        if not known:
            digest = hashlib.sha256()
            #: The file no longer starts with what was read last time (rewritten).
            self.file_rewritten = isinstance(mark, dict) and bool(count)
        done_before: dict[str, list[str]] = (mark or {}).get("done") or {}
        self._covered = set(refs[:known])
        for ref in refs[:known]:
            wanted = list(streams(ref.source))
            old = done_before.get(ref.source) or []
            if self.entry(ref) is None and not set(wanted) <= set(old):
                self._write(ref).update({"done": list(old), "seen": now})
        for ref in refs[known:]:
            digest.update(_line(ref))
        self._covered.update(refs[known:])
        sources = {ref.source for ref in refs} | set(done_before)
        self._bookmark["file"] = {
            "count": len(refs),
            "digest": digest.hexdigest()[:16],
            "done": {source: list(streams(source)) for source in sorted(sources)},
        }
        new = refs[known:]
        for ref in new:
            self.see(ref, now=now)
        return list(new)

    def _covered_as_is(self, ref: JobRef) -> bool:
        # A settled entry the file's position can stand for: its done streams are the ones
        # the position says (anything more would be read again once the entry is gone).
        if ref not in self._covered:
            return False
        mark = self._bookmark.get("file") or {}
        done = (mark.get("done") or {}).get(ref.source) or []
        entry = self.entry(ref) or {}
        return set(entry.get("done") or ()) == set(done)

    # -- STATE ------------------------------------------------------------------------------

    def encoded(self) -> bytes:
        """The ledger as JSON, for a STATE message, without re-encoding untouched jobs.

        Jobs this run has not changed (most of them, once thousands are remembered) are
        encoded once; only the jobs the run touched are encoded again for each STATE.

        Returns:
            The JSON object ``{source: {job_id: entry}}``.
        """
        sources = []
        for source, entries in self._jobs.items():
            touched = self._touched.get(source, set())
            untouched = self._untouched.get(source)
            if untouched is None:
                untouched = _members({k: v for k, v in entries.items() if k not in touched})
                self._untouched[source] = untouched
            changed = _members({k: entries[k] for k in touched if k in entries})
            members = b",".join(part for part in (untouched, changed) if part)
            sources.append(_encode(source) + b":{" + members + b"}")
        return b"{" + b",".join(sources) + b"}"

    def owns(self, jobs: object) -> bool:
        """Whether ``jobs`` (a state's ``bookmarks.job_details.jobs``) is this ledger."""
        return jobs is self._jobs

    def _drop_cursor(self, entry: Entry, stream: str | None) -> None:
        cursors = entry.get("cursors")
        if not isinstance(cursors, dict):
            return
        dropped = list(cursors) if stream is None else [stream] if stream in cursors else []
        for name in dropped:
            del cursors[name]
            self._cursors -= 1
        if not cursors:
            entry.pop("cursors", None)

    # -- the state of earlier releases -------------------------------------------------------

    def migrate(self, stream_state: MutableMapping[str, t.Any], stream: str, source: str) -> int:
        """Move a results stream's bookmark of the previous release into the ledger.

        That release kept ``{"done": [job ids], "progress": {job id: cursor}}`` per results
        stream. Done jobs stay done (never read again); cursors resume where they were.

        Args:
            stream_state: The stream's bookmark (emptied of those keys).
            stream: The stream's name.
            source: Its ``job_details.source``.

        Returns:
            How many jobs were moved.
        """
        done = stream_state.pop("done", None)
        progress = stream_state.pop("progress", None)
        moved = 0
        for job_id in done if isinstance(done, list) else ():
            self.mark_done(JobRef(source, str(job_id)), stream)
            moved += 1
        for job_id, cursor in progress.items() if isinstance(progress, dict) else ():
            ref = JobRef(source, str(job_id))
            entry = self.entry(ref)
            if (
                isinstance(cursor, dict)
                and not self.is_done(entry, stream)
                and self.cursor(ref, stream) is None  # the ledger's own cursor is newer
            ):
                self.save_cursor(ref, stream, cursor)
                moved += 1
        return moved


def _line(ref: JobRef) -> bytes:
    return f"{ref.source},{ref.job_id}\n".encode()
