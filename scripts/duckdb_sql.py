"""Run SQL on a DuckDB file and print each result as psql does (``scripts/duckdb`` runs it).

``scripts/duckdb output/demo.duckdb <<'SQL' … SQL`` runs the statements read from stdin;
``-c 'select …'`` or ``-f file.sql`` give them instead. The file is opened read-only (so a
query never changes the warehouse), with the DuckDB module of the target-duckdb plugin,
which ``make meltano`` installs. Each result is an aligned table followed by ``(N rows)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb


def cell(value: object) -> str:
    """A value as psql shows it (empty for NULL).

    Args:
        value: One value of a row.

    Returns:
        Its text.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def table(columns: list[str], rows: list[tuple[object, ...]]) -> str:
    """An aligned table: numbers right-aligned, text left-aligned, then ``(N rows)``.

    Args:
        columns: Column names.
        rows: The rows.

    Returns:
        The table's text.
    """
    cells = [[cell(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and bool(rows)
        for i in range(len(columns))
    ]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]

    def line(values: list[str], *, header: bool = False) -> str:
        parts = [
            v.rjust(w) if numeric[i] and not header else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return (" " + " | ".join(parts)).rstrip()

    out = [line(columns, header=True), "-" + "-+-".join("-" * w for w in widths) + "-"]
    out += [line(row) for row in cells]
    out.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the statements.

    Args:
        argv: Command-line arguments.

    Returns:
        Exit code: 1 on a missing file or an SQL error (one line, no traceback).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="DuckDB file, e.g. output/demo.duckdb")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("-c", "--command", help="SQL to run (default: read stdin)")
    source.add_argument("-f", "--file", type=Path, help="file of SQL to run")
    args = parser.parse_args(argv)

    if not args.database.is_file():
        print(f"{args.database}: no such file (nothing loaded yet?)", file=sys.stderr)
        return 1
    if args.command is not None:
        sql = args.command
    elif args.file is not None:
        sql = args.file.read_text(encoding="utf-8")
    else:
        sql = sys.stdin.read()
    con = duckdb.connect(str(args.database), read_only=True)
    try:
        for statement in con.extract_statements(sql):
            result = con.execute(statement.query)
            if result.description is None:
                continue
            columns = [d[0] for d in result.description]
            print(table(columns, result.fetchall()))
            print()
    except duckdb.Error as exc:
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
