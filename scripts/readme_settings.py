"""Write the settings table of `tap-batchimport --about --format=markdown` into README.md.

Usage: python scripts/readme_settings.py [--check]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def about_settings_table() -> str:
    """The settings table as `--about --format=markdown` prints it."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_batchimport", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = about.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| Setting"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table)


def readme_settings_table(text: str) -> str:
    """The table between the markers in README.md."""
    match = re.search(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), text, re.DOTALL)
    return match.group(1).strip() if match else ""


def main() -> int:
    """Update (or with --check, compare) the README's settings table."""
    text = README.read_text(encoding="utf-8")
    table = about_settings_table()
    if "--check" in sys.argv:
        same = readme_settings_table(text) == table
        print("README settings table is up to date" if same else "README settings table differs")
        return 0 if same else 1
    pattern = re.escape(START) + r".*?" + re.escape(END)
    README.write_text(
        re.sub(pattern, lambda _: f"{START}\n{table}\n{END}", text, flags=re.DOTALL),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
