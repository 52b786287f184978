"""A pytest plugin for ``make test``: one line per test file when its last test is done.

``make test`` runs ``pytest -n 2 --dist loadfile -p tests.file_progress``: each file runs on
one worker, and instead of a dot per test the log shows, as files finish::

    [ 3/28]  0:41  tests/test_druid.py: 31 passed in 12.4 s

(files done, time since the start, the file, its outcomes and the time its tests took).
Failures and errors still print their letter as they happen, and their details at the end.
Without pytest-xdist it works the same in one process.
"""

from __future__ import annotations

import time
import typing as t
from collections import Counter, defaultdict

import pytest

if t.TYPE_CHECKING:
    from collections.abc import Sequence


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class FileProgress:
    """Counts each file's finished tests and prints a line when a file is complete."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()
        self.expected: dict[str, int] = {}
        self.done: dict[str, set[str]] = defaultdict(set)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.seconds: dict[str, float] = defaultdict(float)
        self.finished = 0

    def expect(self, nodeids: Sequence[str]) -> None:
        if self.expected:
            return  # every worker collects the same tests
        counts = Counter(_file_of(n) for n in nodeids)
        self.expected = dict(counts)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: Sequence[str]) -> None:  # noqa: ARG002
        self.expect(ids)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not hasattr(self.config, "workerinput"):
            self.expect([item.nodeid for item in session.items])

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        # No dot per passed (or skipped) test: the file's line says it. Failures keep theirs.
        if report.passed and report.when == "call":
            return "passed", "", ""
        if report.skipped:
            return "skipped", "", ""
        if report.passed:
            return "", "", ""
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = _file_of(report.nodeid)
        self.seconds[path] += report.duration
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.outcomes[path][report.outcome] += 1
        elif report.when == "teardown" and report.failed:
            self.outcomes[path]["error"] += 1
        if report.when != "teardown":
            return
        self.done[path].add(report.nodeid)
        if len(self.done[path]) == self.expected.get(path, -1):
            self.finished += 1
            self.report_file(path)

    def report_file(self, path: str) -> None:
        elapsed = int(time.monotonic() - self.started)
        outcomes = ", ".join(f"{n} {name}" for name, n in sorted(self.outcomes[path].items()))
        width = len(str(len(self.expected)))
        line = (
            f"[{self.finished:>{width}}/{len(self.expected)}] {elapsed // 60:>3}:{elapsed % 60:02}"
            f"  {path}: {outcomes or 'nothing ran'} in {self.seconds[path]:.1f} s"
        )
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin in the process that reports (not in xdist's workers)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(FileProgress(config), "file-progress")
