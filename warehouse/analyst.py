"""An analyst's own SQL (`newswatch sql`): run it, or write its result to a file.

Kept apart from `warehouse.queries`, whose named queries bind every value: here the SQL is
the analyst's, run as given on a read-only connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import sql_literal


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """An analyst's own SQL: column names and rows."""
    cur = con.execute(sql)
    if cur.description is None:
        return [], []
    return [d[0] for d in cur.description], cur.fetchall()


EXPORT_FORMATS = {
    "csv": "FORMAT csv, HEADER",
    "json": "FORMAT json, ARRAY true",  # one JSON array of objects
    "parquet": "FORMAT parquet",
}


def export_query(con: duckdb.DuckDBPyConnection, sql: str, fmt: str, path: Path) -> int:
    """Write the result of an analyst's SQL to `path` as csv, json or parquet; returns the
    rows. The result comes back as Arrow and DuckDB's own writers write it (COPY), so any
    statement with rows works (SHOW, PRAGMA, ...) and lists and timestamps keep their form;
    writing a file needs no write access to the database."""
    table = con.execute(sql).to_arrow_table()
    con.register("_export", table)
    try:
        con.execute(f"COPY _export TO {sql_literal(str(path))} ({EXPORT_FORMATS[fmt]})")
    finally:
        con.unregister("_export")
    return int(table.num_rows)
