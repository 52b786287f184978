"""`make demo`: run Meltano end to end against the local vendor emulator.

Starts the project's vendor emulator (``emulator/``, demo dataset: Fullstory, DruID and
SailPoint) on a free loopback port inside this process, runs

    meltano --environment=demo run tap-batchimport target-duckdb

with the emulator's URLs passed as ``TAP_BATCHIMPORT_*_URL`` environment variables (the
demo credentials and job ids are in meltano.yml's ``demo`` environment), stops the
emulator, and prints what landed in ``output/demo.duckdb``. Run it again: Meltano passes
the saved state to the tap, which re-reads the jobs' statuses but no finished job's
results, so the second run adds no result rows.

Uses only the standard library; the summary runs under the target-duckdb plugin's Python,
which has the duckdb module. The Makefile installs Meltano and the plugins first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.scenarios import demo_dataset  # noqa: E402 - needs ROOT on sys.path
from emulator.server import VendorEmulator  # noqa: E402
from scripts.meltano_env import quiet_meltano_env  # noqa: E402

DUCKDB_FILE = ROOT / "output" / "demo.duckdb"
LOG_FILE = ROOT / "output" / "demo-meltano.log"
PLUGIN_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
SUMMARY = ROOT / "scripts" / "warehouse_summary.py"

#: What the printed query hint selects (README shows the same command).
HINT_QUERY = "select source, job_id, status, is_finished from batchimport.job_details"


def default_meltano() -> str:
    """The meltano executable: $MELTANO, the Makefile's venv, or the one beside this Python.

    Returns:
        A path or command name.
    """
    for candidate in (
        os.environ.get("MELTANO"),
        ROOT / ".meltano" / "cli" / "bin" / "meltano",
        Path(sys.executable).parent / "meltano",
    ):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return "meltano"


def clean_env(urls: dict[str, str]) -> dict[str, str]:
    """The environment Meltano runs in: demo URLs in, the user's own settings out.

    A ``TAP_BATCHIMPORT_*`` or ``TARGET_DUCKDB_*`` variable in the caller's shell would
    override the demo environment (real credentials sent to the emulator, or the demo
    loaded into a real warehouse), so they are dropped.

    Args:
        urls: The emulator's URLs by setting name.

    Returns:
        The environment.
    """
    env = quiet_meltano_env("TAP_BATCHIMPORT_", "TARGET_DUCKDB_", "MELTANO_ENVIRONMENT")
    env.update({f"TAP_BATCHIMPORT_{key.upper()}": value for key, value in urls.items()})
    return env


def query_hint() -> str:
    """The command the demo prints for querying its DuckDB file.

    It keeps the connection in a variable: with duckdb 1.2,
    ``duckdb.connect(path).sql(...)`` in one expression fails with "Connection has already
    been closed". tests/test_docs_commands.py runs it.

    Returns:
        A shell command, relative to the repository root.
    """
    database = DUCKDB_FILE.relative_to(ROOT)
    code = f"import duckdb; con = duckdb.connect('{database}'); print(con.sql('{HINT_QUERY}'))"
    return f'{PLUGIN_PYTHON.relative_to(ROOT)} -c "{code}"'


def summary(*args: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/warehouse_summary.py on the demo DuckDB file.

    Args:
        args: Extra arguments.

    Returns:
        The finished process (output captured).
    """
    python = str(PLUGIN_PYTHON) if PLUGIN_PYTHON.is_file() else sys.executable
    return subprocess.run(
        [python, str(SUMMARY), str(DUCKDB_FILE.relative_to(ROOT)), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def run_meltano(meltano: str, env: dict[str, str], env_file: Path, loader: str) -> int:
    """Run the pipeline, its log to LOG_FILE; the log's tail is printed if it fails.

    Args:
        meltano: The meltano executable.
        env: Its environment.
        env_file: The .env file Meltano reads (an empty one: the user's .env is not used).
        loader: The loader plugin.

    Returns:
        Meltano's exit code.
    """
    command = [
        meltano,
        f"--env-file={env_file}",
        "--environment=demo",
        "run",
        "tap-batchimport",
        loader,
    ]
    print(f"$ {' '.join(command[:1] + command[2:])}  (log: {LOG_FILE.relative_to(ROOT)})")
    started = time.monotonic()
    with LOG_FILE.open("w", encoding="utf-8") as log:
        code = subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode
    print(f"  meltano exited with {code} after {time.monotonic() - started:.1f} s")
    if code:
        tail = LOG_FILE.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        print("\n".join(["  --- last lines of the log ---", *tail]), file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the demo.

    Args:
        argv: Command-line arguments.

    Returns:
        Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meltano", default=default_meltano(), help="meltano executable")
    parser.add_argument("--loader", default="target-duckdb", help="loader plugin")
    args = parser.parse_args(argv)

    DUCKDB_FILE.parent.mkdir(parents=True, exist_ok=True)
    before = summary("--counts")
    before_counts = before.stdout.strip() if before.returncode == 0 else "{}"

    emulator = VendorEmulator(demo_dataset())
    try:
        emulator.start()
        urls = {
            "fullstory_api_url": emulator.fullstory_url,
            "druid_api_url": emulator.druid_api_url,
            "druid_auth_url": emulator.druid_auth_url,
            "sailpoint_api_url": emulator.sailpoint_url,
        }
        print(f"Vendor emulator (Fullstory, DruID, SailPoint) serving on {emulator.base_url}")
        with tempfile.TemporaryDirectory(prefix="batchimport-demo-") as tmp:
            env_file = Path(tmp) / "empty.env"
            env_file.write_text("", encoding="utf-8")
            code = run_meltano(args.meltano, clean_env(urls), env_file, args.loader)
    finally:
        emulator.stop()
        print("Vendor emulator stopped")
    if code:
        return code
    if args.loader != "target-duckdb":
        return 0

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as counts_file:
        counts_file.write(before_counts)
    try:
        report = summary("--before", counts_file.name)
    finally:
        Path(counts_file.name).unlink()
    print()
    print(report.stdout, end="")
    if report.returncode:
        print(report.stderr, file=sys.stderr, end="")
        return report.returncode
    print(f"\nQuery it: {query_hint()}")
    print("(More queries: docs/meltano.md, 'Querying DuckDB'.)")
    print("Run `make demo` again: it adds no result rows.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
