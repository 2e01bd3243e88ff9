"""The warehouse schema: numbered migrations, their DuckLake form, and the keys a lake keeps.

Migrations are the numbered files in `warehouse/migrations/`, applied in order inside one
transaction each (or one per statement, for a file that says so) and recorded in
`schema_migrations`. DuckLake has no primary keys, unique constraints, indexes, sequences or
CHECK constraints, so on a lake they are left out of the DDL (`lake_ddl`), and the writers
keep rows unique themselves: `insert_new_sql` turns DuckDB's `INSERT OR IGNORE` into an
anti-join on the table's primary key (taken from the same migrations applied to an in-memory
DuckDB, `natural_keys`).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from importlib import resources

import duckdb

from extractors.errors import WarehouseError
from warehouse.transactions import is_conflict, is_lake, retry_conflicts, transaction

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration shipped with the package, in order."""
    found = []
    for item in resources.files("warehouse").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    return sorted(found)


_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
)


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded; returns the names applied."""
    lake = is_lake(con)
    if lake:
        _create_turns(con)
    _execute(con, lake_ddl(_MIGRATIONS_TABLE) if lake else _MIGRATIONS_TABLE)
    done = {row[0] for row in con.execute("SELECT number FROM schema_migrations").fetchall()}
    applied = []
    for number, name, sql in migrations():
        if number not in done and _apply(con, number, name, lake_ddl(sql) if lake else sql):
            applied.append(name)
    return applied


@retry_conflicts
def _execute(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    con.execute(sql)


# A migration that marks itself so runs each statement in a transaction of its own (its
# statements must then be idempotent): DuckDB 1.5 cannot commit two ALTERs of one table that
# has rows and an index in one transaction.
_STATEMENT_PER_TRANSACTION = "-- newswatch: one transaction per statement"


@retry_conflicts
def _apply(con: duckdb.DuckDBPyConnection, number: int, name: str, sql: str) -> bool:
    """Apply one migration, unless a concurrent writer did it first; False then."""
    steps = [sql]
    if _STATEMENT_PER_TRANSACTION in sql:
        steps = [statement.query for statement in con.extract_statements(sql)]
    try:
        for i, step in enumerate(steps):
            with transaction(con):
                row = con.execute(
                    "SELECT count(*) FROM schema_migrations WHERE number = ?", [number]
                ).fetchone()
                if row and row[0]:
                    return False
                con.execute(step)
                if i == len(steps) - 1:
                    con.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        [number, name, datetime.now(UTC)],
                    )
    except duckdb.Error as exc:
        if is_conflict(exc):
            raise
        raise WarehouseError(f"migration {name} failed: {exc}") from exc
    return True


@retry_conflicts
def _create_turns(con: duckdb.DuckDBPyConnection) -> None:
    """The one-row table every writing transaction on a lake updates (see the module doc)."""
    con.execute("CREATE TABLE IF NOT EXISTS lake_turns (n BIGINT NOT NULL)")
    row = con.execute("SELECT count(*) FROM lake_turns").fetchone()
    if not (row and row[0]):
        con.execute("INSERT INTO lake_turns VALUES (0)")


@functools.cache
def natural_keys() -> dict[str, tuple[str, ...]]:
    """Each table's primary key as the migrations declare it on DuckDB: what the writers
    keep unique themselves on a lake."""
    con = duckdb.connect()
    try:
        apply_migrations(con)
        rows = con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    finally:
        con.close()
    return {table: tuple(columns) for table, columns in rows}


_LAKE_REWRITES = (
    (re.compile(r"--[^\n]*"), ""),  # comments first, so that the patterns below see plain SQL
    (re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?(?:SEQUENCE|INDEX)\b[^;]*;", re.I), ""),
    (re.compile(r"\bDROP\s+INDEX\b[^;]*;", re.I), ""),
    (re.compile(r",\s*(?:PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.I), ""),  # table constraints
    (re.compile(r"\s+PRIMARY\s+KEY\b|\s+UNIQUE\b", re.I), ""),  # column constraints
    (re.compile(r"\s+DEFAULT\s+nextval\s*\([^)]*\)", re.I), ""),
    (re.compile(r"\s+CHECK\s*\((?:[^()]|\([^()]*\))*\)", re.I), ""),
    # ADD COLUMN takes only literal defaults, and TRUE/FALSE do not count as literals there.
    (re.compile(r"\bDEFAULT\s+(TRUE|FALSE)\b", re.I), r"DEFAULT '\1'"),
)


def lake_ddl(sql: str) -> str:
    """A migration as DuckLake takes it: without primary keys, unique constraints, indexes,
    sequences and checks, which DuckLake does not have. An id that a sequence filled stays
    NULL there (`fetches.id`); DuckLake's own `rowid` identifies the row instead."""
    for pattern, replacement in _LAKE_REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


def insert_new_sql(con: duckdb.DuckDBPyConnection, table: str, select: str) -> str:
    """SQL that inserts the rows of `select` (matched to columns by name) whose primary key
    is not in `table` yet: DuckDB's INSERT OR IGNORE, or on a lake an anti-join on the key
    that also keeps one row per key of the batch."""
    if not is_lake(con):
        return f"INSERT OR IGNORE INTO {table} BY NAME {select}"
    key = natural_keys()[table]
    match = " AND ".join(f"t.{c} = n.{c}" for c in key)
    return (
        f"INSERT INTO {table} BY NAME SELECT * FROM ({select}) n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match}) "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join('n.' + c for c in key)}) = 1"
    )
