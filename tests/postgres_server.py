"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, pg_ctl start.

Uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``,
or ``initdb``/``pg_ctl`` on PATH). PostgreSQL refuses to run as root, so under root (as CI runs)
every server command runs as the ``postgres`` user the package creates (``runuser -u postgres``);
as any other user it runs as that user. The server listens on a free loopback port only, with
password (scram-sha-256) authentication, its socket in its own folder, and is deleted on stop.

Missing binaries are an error (``PostgresUnavailableError``) that names the package to install:
the tests that use this server fail rather than skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Sequence

SERVER_USER = "postgres"  # the OS user Debian's package creates; used only under root
SUPERUSER = "batchimport_test"  # the database superuser initdb creates
DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
START_TIMEOUT = 60


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are not installed (or cannot run here)."""


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl, postgres and psql.

    Returns:
        The folder: PG_BINDIR if set, else that of initdb/pg_ctl on PATH, else the newest
        /usr/lib/postgresql/<version>/bin.

    Raises:
        PostgresUnavailableError: None found.
    """
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    if (on_path := shutil.which("pg_ctl")) and shutil.which("initdb"):
        candidates.append(Path(on_path).resolve().parent)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in path.parent.name.split(".") if p.isdigit())

    candidates += sorted(Path("/").glob(DEBIAN_BINDIRS.lstrip("/")), key=version, reverse=True)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres", "psql")):
            return bindir
    msg = (
        "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found on PATH, in "
        f"PG_BINDIR or in {DEBIAN_BINDIRS}: install Debian's postgresql package "
        "(apt-get install -y postgresql; .ci/run does this)"
    )
    raise PostgresUnavailableError(msg)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, listening on 127.0.0.1."""

    def __init__(self, bindir: Path | None = None) -> None:
        """Prepare (not start) the server.

        Args:
            bindir: Folder of the server binaries; found with ``find_bindir`` if None.

        Raises:
            PostgresUnavailableError: Running as root and there is no ``postgres`` user.
        """
        self.bindir = bindir or find_bindir()
        self.run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVER_USER)
            except KeyError:
                msg = (
                    "PostgreSQL refuses to run as root and there is no 'postgres' user to "
                    "run it as: install Debian's postgresql package, or run as another user"
                )
                raise PostgresUnavailableError(msg) from None
            self.run_as = SERVER_USER
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(16)
        self.host = "127.0.0.1"
        self.port = 0
        self.root: Path | None = None

    @property
    def datadir(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "server.log"

    def _as_server_user(self, args: Sequence[str]) -> list[str]:
        if self.run_as is None:
            return list(args)
        return ["runuser", "-u", self.run_as, "--", *args]

    def _server_cmd(self, name: str, *args: str, timeout: float = START_TIMEOUT) -> str:
        command = self._as_server_user([str(self.bindir / name), *args])
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            cwd=self.root,  # readable by the server user, unlike the caller's folder maybe
        )
        if proc.returncode:
            log = self.logfile.read_text(errors="replace") if self.logfile.is_file() else ""
            msg = f"{name} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}\n{log[-3000:]}"
            raise RuntimeError(msg)
        return proc.stdout

    def start(self) -> PostgresServer:
        """initdb and start the server; retried on another port if the port was taken.

        Returns:
            The server.
        """
        # Not under pytest's tmp_path: that is private to the calling user (0700), and the
        # server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="batchimport-pg-"))
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.root, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._server_cmd(
            "initdb",
            f"--pgdata={self.datadir}",
            f"--username={self.user}",
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()
        for attempt in range(3):
            self.port = free_port()
            options = (
                f"-c listen_addresses={self.host} -c port={self.port} "
                f"-c unix_socket_directories='{self.root}' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC "
                "-c max_connections=50"
            )
            try:
                self._server_cmd(
                    "pg_ctl",
                    "start",
                    "--wait",
                    f"--timeout={START_TIMEOUT}",
                    f"--pgdata={self.datadir}",
                    f"--log={self.logfile}",
                    f"--options={options}",
                )
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(0.5)
        return self

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        if self.root is None:
            return
        if (self.datadir / "postmaster.pid").is_file():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._server_cmd("pg_ctl", "stop", "--mode=fast", f"--pgdata={self.datadir}")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresServer:  # noqa: PYI034 - Self needs Python 3.11
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_env(self, database: str = "postgres") -> dict[str, str]:
        """libpq variables that connect psql to this server."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": database,
        }

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL with psql (as the calling user, over TCP) and return its unaligned output.

        Args:
            sql: One or more statements.
            database: The database to connect to.

        Returns:
            What psql printed (tuples only, unaligned).
        """
        proc = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
            input=sql,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **self.client_env(database)},
        )
        if proc.returncode:
            msg = f"psql failed ({proc.returncode}) on:\n{sql}\n{proc.stderr}"
            raise RuntimeError(msg)
        return proc.stdout.strip()

    def query_json(self, sql: str, database: str = "postgres") -> t.Any:
        """The value of a query that returns one JSON value (one row, one column)."""
        return json.loads(self.psql(sql, database) or "null")

    def create_database(self, name: str) -> None:
        """Create a database (dropping it first if it exists)."""
        self.psql(f'drop database if exists "{name}" with (force); create database "{name}";')
