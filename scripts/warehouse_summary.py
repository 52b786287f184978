"""Print what tap-batchimport loaded into a DuckDB file (target-duckdb's tables).

Needs the ``duckdb`` module: run it with the target-duckdb plugin's Python,
``.meltano/loaders/target-duckdb/venv/bin/python scripts/warehouse_summary.py output/demo.duckdb``.

With ``--counts``, prints only ``{table: rows}`` as JSON; give that back with ``--before``
to show how many rows each table gained since (``scripts/demo.py`` does this).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

RESULT_TABLES = (
    "imported_users",
    "user_import_errors",
    "imported_events",
    "event_import_errors",
    "bulk_results",
    "config_import_results",
)

#: Per result table: the job_details source, the job id column and what makes a row a failure.
FAILED_ROWS = {
    "user_import_errors": ("fullstory_users", "job_id", "true"),
    "event_import_errors": ("fullstory_events", "job_id", "true"),
    "bulk_results": ("druid", "bulk_id", "error is not null"),
    "config_import_results": ("sailpoint", "job_id", "category = 'error'"),
}


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Tables of a schema.

    Args:
        con: Connection.
        schema: Schema name.

    Returns:
        Table names, sorted.
    """
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1",
        [schema],
    ).fetchall()
    return [name for (name,) in rows]


def counts(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    """Rows per table.

    Args:
        con: Connection.
        schema: Schema name.

    Returns:
        Row count by table name.
    """
    out = {}
    for table in tables(con, schema):
        query = f'select count(*) from "{schema}"."{table}"'  # noqa: S608 - names from the catalog
        (n,) = con.execute(query).fetchone() or (0,)
        out[table] = int(n)
    return out


def render(headers: list[str], rows: list[list[object]]) -> str:
    """A plain text table.

    Args:
        headers: Column titles.
        rows: Cells.

    Returns:
        The table's lines.
    """
    cells = [headers, *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def failed_rows_per_job(con: duckdb.DuckDBPyConnection, schema: str) -> list[list[object]]:
    """Every job of job_details with its failed result rows.

    Args:
        con: Connection.
        schema: Schema name.

    Returns:
        Rows: source, job id, status, finished, failed rows loaded.
    """
    present = set(tables(con, schema))
    if "job_details" not in present:
        return []
    # Table and column names come from the catalog and FAILED_ROWS, never from input.
    parts = [
        f"select '{source}' as source, {column} as job_id, count(*) as failed "  # noqa: S608
        f'from "{schema}"."{table}" where {where} group by all'
        for table, (source, column, where) in FAILED_ROWS.items()
        if table in present
    ]
    failed = " union all ".join(parts) or "select null as source, null as job_id, 0 as failed"
    query = f"""
        with failed as ({failed})
        select j.source, j.job_id, j.status,
               case when j.is_finished then 'yes' else 'no' end,
               coalesce(f.failed, 0)
        from "{schema}".job_details j
        left join failed f on f.source = j.source and f.job_id = j.job_id
        order by j.source, j.created nulls last, j.job_id
    """  # noqa: S608
    return [list(row) for row in con.execute(query).fetchall()]


def main(argv: list[str] | None = None) -> int:
    """Print the summary.

    Args:
        argv: Command-line arguments.

    Returns:
        Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="DuckDB file")
    parser.add_argument("--schema", default="batchimport", help="target-duckdb's schema")
    parser.add_argument("--counts", action="store_true", help="print {table: rows} as JSON")
    parser.add_argument("--before", type=Path, help="JSON counts from an earlier --counts")
    args = parser.parse_args(argv)

    if not args.database.exists():
        if args.counts:
            print("{}")
            return 0
        print(f"{args.database}: no such file (nothing loaded yet)", file=sys.stderr)
        return 1
    con = duckdb.connect(str(args.database), read_only=True)
    try:
        now = counts(con, args.schema)
        if args.counts:
            print(json.dumps(now))
            return 0
        print(f"Tables in {args.database} (schema {args.schema}):\n")
        if args.before:  # what a run added: the counts now minus those before it
            before = json.loads(args.before.read_text())
            rows = [[t, now[t], now[t] - before.get(t, 0)] for t in sorted(now)]
            new_results = sum(now.get(t, 0) - before.get(t, 0) for t in RESULT_TABLES)
            print(render(["table", "rows", "new this run"], rows))
            print(f"\nnew result rows this run: {new_results}")
        else:  # no earlier counts: totals only
            print(render(["table", "rows"], [[t, now[t]] for t in sorted(now)]))
            print(f"\nresult rows in total: {sum(now.get(t, 0) for t in RESULT_TABLES)}")
        print("(job_details is re-read every run and upserted by (source, job_id))\n")
        print("Failed rows per job:\n")
        print(
            render(
                ["source", "job_id", "status", "finished", "failed rows"],
                failed_rows_per_job(con, args.schema),
            )
        )
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
