"""`make postgres-demo`: a production rehearsal, two scheduled nights into a real PostgreSQL.

1. Starts a throwaway PostgreSQL server on a free loopback port (the server binaries of the
   system's ``postgresql`` package, as CI installs them; see docs/postgresql.md), creates
   the database ``analytics``, the login role ``batchimport_loader`` and the tables
   (``psql -f docs/postgresql-tables.sql``), as an owner would.
2. Starts the vendor emulator with the demo dataset.
3. Night 1: the importing step has appended tonight's jobs to ``job_ids_file``; runs
   ``meltano --environment=prod run tap-batchimport target-postgres``. Some jobs are still
   processing: the state remembers them.
4. Overnight, those jobs finish, and night 2's importing step appends more jobs; the same
   command runs again. It extracts the jobs that finished and the new ones, and nothing twice.
5. Prints the headline query's answer (``psql -f docs/jobs-per-source.sql``), then stops the
   emulator and the server and deletes the server's folder.

The runs read nothing of yours: not your ``.env`` nor ``TAP_BATCHIMPORT_*`` / ``TARGET_*``
variables, and their state lives in a Meltano system database of their own (under
``output/postgres-demo/``), so the ``prod`` state of your project is not touched. Each
night's Meltano log is in ``output/postgres-demo/night-<n>.log``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator import scenarios  # noqa: E402 - needs ROOT on sys.path
from emulator.server import Dataset, VendorEmulator  # noqa: E402
from scripts.meltano_env import quiet_meltano_env  # noqa: E402
from tests.postgres_server import (  # noqa: E402
    PostgresServer,
    PostgresUnavailableError,
)

OUT = ROOT / "output" / "postgres-demo"
TABLES_SQL = ROOT / "docs" / "postgresql-tables.sql"
HEADLINE_SQL = ROOT / "docs" / "jobs-per-source.sql"
DATABASE = "analytics"
LOADER = "batchimport_loader"

#: Jobs the importing step pushed on each night, as ``job_ids_file`` lines. DruID needs no
#: line: its bulks are discovered from the list endpoint.
NIGHTS: tuple[tuple[str, ...], ...] = (
    (
        f"fullstory_users,{scenarios.USERS_COMPLETED}",
        f"fullstory_users,{scenarios.USERS_PROCESSING}",  # still processing on night 1
        f"fullstory_events,{scenarios.EVENTS_COMPLETED}",
        f"sailpoint,{scenarios.SP_COMPLETE}",
        f"sailpoint,{scenarios.SP_IN_PROGRESS}",  # still in progress on night 1
    ),
    (
        f"fullstory_users,{scenarios.USERS_PARTIAL}",
        f"fullstory_events,{scenarios.EVENTS_FAILED}",
        f"sailpoint,{scenarios.SP_NESTED}",
        f"sailpoint,{scenarios.SP_FAILED}",
    ),
)


def finish_overnight(dataset: Dataset) -> None:
    """The jobs still processing on night 1 finish before night 2 (with copies of rows).

    Args:
        dataset: The emulator's dataset (its jobs changed in place while it runs).
    """
    done = scenarios.rfc3339(time.time(), 3)
    fullstory = {job.job_id: job for job in dataset.fullstory_jobs}
    users = fullstory[scenarios.USERS_PROCESSING]
    users.status, users.finished = "COMPLETED", done
    users.imports = list(fullstory[scenarios.USERS_COMPLETED].imports[:80])
    druid = {bulk.bulk_id: bulk for bulk in dataset.druid_bulks}
    bulk = druid[scenarios.DRUID_PROCESSING]
    bulk.status, bulk.updated_on = "completed", done
    bulk.results = list(druid[scenarios.DRUID_FAILED].results)
    sailpoint = {job.job_id: job for job in dataset.sailpoint_jobs}
    config = sailpoint[scenarios.SP_IN_PROGRESS]
    config.status, config.completed, config.modified = "COMPLETE", done, done
    config.document = sailpoint[scenarios.SP_NESTED].document


def meltano_env(emulator: VendorEmulator, server: PostgresServer, password: str) -> dict[str, str]:
    """Meltano's environment: the emulator as the vendors, the server as the warehouse.

    Args:
        emulator: The running emulator.
        server: The running PostgreSQL server.
        password: The login role's password.

    Returns:
        The environment (none of the caller's tap, target or Meltano variables).
    """
    env = quiet_meltano_env("TAP_BATCHIMPORT_", "TARGET_", "MELTANO_", "PG")
    dataset = emulator.dataset
    tap = {
        "fullstory_api_url": emulator.fullstory_url,
        "fullstory_api_key": dataset.fullstory_api_key,
        "druid_api_url": emulator.druid_api_url,
        "druid_auth_url": emulator.druid_auth_url,
        "druid_client_id": dataset.druid_client_id,
        "druid_client_secret": dataset.druid_client_secret,
        "sailpoint_api_url": emulator.sailpoint_url,
        "sailpoint_client_id": dataset.sailpoint_client_id,
        "sailpoint_client_secret": dataset.sailpoint_client_secret,
        "job_ids_file": str(OUT / "job_ids.txt"),
        # prod waits up to 600 s for unfinished jobs; the rehearsal shows a short wait.
        "job_wait_timeout_seconds": "5",
    }
    env.update({f"TAP_BATCHIMPORT_{k.upper()}": v for k, v in tap.items()})
    env.update(
        {
            "TARGET_POSTGRES_HOST": server.host,
            "TARGET_POSTGRES_PORT": str(server.port),
            "TARGET_POSTGRES_DATABASE": DATABASE,
            "TARGET_POSTGRES_USER": LOADER,
            "TARGET_POSTGRES_PASSWORD": password,
            # Its own system database: the state of these nights, not your project's.
            "MELTANO_DATABASE_URI": f"sqlite:///{OUT / 'meltano.db'}",
        }
    )
    return env


def run_night(night: int, meltano: str, env: dict[str, str], env_file: Path) -> int:
    """Append the night's jobs to the job ids file and run the pipeline.

    Args:
        night: 1 or 2.
        meltano: The meltano executable.
        env: Its environment.
        env_file: An empty .env (yours is not read).

    Returns:
        Meltano's exit code.
    """
    lines = NIGHTS[night - 1]
    with (OUT / "job_ids.txt").open("a", encoding="utf-8") as ids:
        ids.write(f"# night {night}\n" + "".join(f"{line}\n" for line in lines))
    log = OUT / f"night-{night}.log"
    command = [meltano, f"--env-file={env_file}", "--environment=prod", "run"]
    command += ["tap-batchimport", "target-postgres"]
    print(f"\nNight {night}: {len(lines)} new job(s) in job_ids_file (DruID: discovered)")
    print(f"$ meltano --environment=prod run tap-batchimport target-postgres  (log: {rel(log)})")
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    print(f"  meltano exited with {code} after {time.monotonic() - started:.1f} s")
    text = log.read_text(encoding="utf-8", errors="replace")
    if code:
        print("\n".join(["  --- last lines of the log ---", *text.splitlines()[-30:]]))
    for line in text.splitlines():
        if "not finished" in line or "jobs seen" in line:
            message = line.split(" tap-batchimport ", 1)[-1].strip()
            print(f"  {message[:110]}{'…' if len(message) > 110 else ''}")
    return code


def rel(path: Path) -> str:
    """A path relative to the repository root, as the commands show it."""
    return str(path.relative_to(ROOT))


def psql(server: PostgresServer, *args: str, user: str | None = None) -> str:
    """Run psql against the demo database (as the superuser unless ``user`` is given).

    Args:
        server: The server.
        args: psql arguments.
        user: Log in as this role (its password in PGPASSWORD) instead.

    Returns:
        What psql printed.

    Raises:
        RuntimeError: psql failed.
    """
    env = {**os.environ, **server.client_env(DATABASE)}
    if user:
        env["PGUSER"] = user
        env["PGPASSWORD"] = os.environ.get("BATCHIMPORT_DEMO_PASSWORD", "")
    proc = subprocess.run(
        [str(server.bindir / "psql"), "-X", "-v", "ON_ERROR_STOP=1", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode:
        msg = f"psql {' '.join(args)} failed: {proc.stderr.strip()}"
        raise RuntimeError(msg)
    return proc.stdout


def prepare_database(server: PostgresServer, password: str) -> None:
    """The database, the login role and the tables, as docs/postgresql.md step 1 does.

    Args:
        server: The running server.
        password: The login role's password.
    """
    server.create_database(DATABASE)
    server.psql(f"create role {LOADER} login password '{password}'", DATABASE)
    psql(server, "-q", "-v", "schema=batchimport", "-v", f"loader={LOADER}", "-f", rel(TABLES_SQL))


def main(argv: list[str] | None = None) -> int:
    """Run the rehearsal.

    Args:
        argv: Command-line arguments.

    Returns:
        Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--meltano", default=str(ROOT / ".meltano" / "cli" / "bin" / "meltano"), help="meltano"
    )
    args = parser.parse_args(argv)

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env_file = OUT / "empty.env"
    env_file.write_text("", encoding="utf-8")
    password = os.urandom(12).hex()
    os.environ["BATCHIMPORT_DEMO_PASSWORD"] = password
    try:
        server = PostgresServer()
    except PostgresUnavailableError as exc:
        print(f"make postgres-demo: {exc}", file=sys.stderr)
        return 1
    code = 0
    emulator = VendorEmulator(scenarios.demo_dataset())
    try:
        server.start()
        print(f"PostgreSQL {server.bindir.parent.name} serving on {server.host}:{server.port}")
        prepare_database(server, password)
        print(f"Database {DATABASE}: tables created with psql -f {rel(TABLES_SQL)}")
        emulator.start()
        print(f"Vendor emulator (Fullstory, DruID, SailPoint) serving on {emulator.base_url}")
        env = meltano_env(emulator, server, password)
        code = run_night(1, args.meltano, env, env_file)
        if not code:
            finish_overnight(emulator.dataset)
            print("\nOvernight: the jobs still processing finished.")
            code = run_night(2, args.meltano, env, env_file)
        if not code:
            print(f"\nThe headline query (psql -f {rel(HEADLINE_SQL)}), after two nights:\n")
            print(psql(server, "-f", rel(HEADLINE_SQL), user=LOADER), end="")
            print(f"\nJob ids file: {rel(OUT / 'job_ids.txt')}; logs: {rel(OUT)}/night-*.log")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"make postgres-demo: {str(exc).splitlines()[0]}", file=sys.stderr)
        code = 1
    finally:
        emulator.stop()
        server.stop()
        print("Vendor emulator and PostgreSQL stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
