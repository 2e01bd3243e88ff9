"""Rebuilding a warehouse file in today's layout: `newswatch rebuild`.

A DuckDB file keeps the block size and storage format it was created with
(`warehouse.db.BLOCK_BYTES`, `STORAGE_VERSION`). A warehouse created before session 23 has
16 KB blocks, and every opening and closing of it costs with their number: an ingest at 1M
stored articles cost 1.41x what it cost at 100k, against ~1.15x with 64 KB blocks
(bench/README.md, Growth). A monitor that has run for months gets today's layout only from a
new file.

`rebuild_file` copies everything of the file (every schema, table in its row order, view,
sequence at its current value, macro, index and constraint: DuckDB's `COPY FROM DATABASE`)
into a new file created as `warehouse.db` creates one, checks the copy (the same tables with
the same number of rows, the same sequences, views and indexes), then puts it in the old
one's place in one step (a rename). The old file stays beside it as `<db>.before-rebuild`,
until the user removes it. While it works it holds the run lock (no ingest starts) and the
old file read-only (readers get in, writers wait); the raw archive is not touched. At 1M
articles it takes about half a minute (`REBUILD_MEMORY`).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extractors.errors import WarehouseError
from warehouse.db import (
    DISABLED_COMPRESSION,
    attach_options,
    connect,
    parse_url,
    run_lock,
    sql_literal,
)

_OLD, _NEW = "old_file", "new_file"  # the two files' catalog names while copying
# DuckDB's memory for the copy, on one thread: the new file's indexes are built in memory
# (ingest's 256 MB ran out at 1M articles); the rest spills to `<db>.rebuilding.tmp`. A
# warehouse of 1M articles (bench/growth.py's, 1.9 GB): 29 s, 1.38 GB peak RSS.
REBUILD_MEMORY = "1GB"


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild did: the files, what was copied and the block sizes before and after."""

    path: Path
    backup: Path
    tables: int
    rows: int
    block_bytes_before: int
    block_bytes_after: int
    bytes_before: int
    bytes_after: int
    seconds: float


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".before-rebuild")


def rebuild_file(url: str | Path, wait: float = 0.0) -> Rebuilt:
    """Rebuild the warehouse DuckDB file at `url` in today's layout (see the module's doc),
    waiting up to `wait` s for an ingest run or a writer that holds it. Raises
    `WarehouseError` with what to do when it cannot (no such file, a DuckLake, a backup of an
    earlier rebuild in the way, a copy that does not match)."""
    path = _file_of(url)
    backup, new = backup_path(path), path.with_name(path.name + ".rebuilding")
    if backup.exists():
        raise WarehouseError(
            f"{backup} exists (an earlier rebuild's old file): remove or move it, then run again"
        )
    started = time.monotonic()
    with run_lock(path, wait):
        # Opened for writing once first: pending migrations are applied and a WAL left by a
        # killed process is folded in, so the file alone holds everything.
        with connect(path, wait=wait):
            pass
        for leftover in (new, _wal(new)):  # of a rebuild that was killed
            leftover.unlink(missing_ok=True)
        con = duckdb.connect(config={"temp_directory": f"{new}.tmp"})
        try:
            con.execute(f"SET memory_limit = '{REBUILD_MEMORY}'")
            con.execute("SET threads = 1")
            # As warehouse.db writes it: strings uncompressed (its DISABLED_COMPRESSION)
            con.execute(f"SET disabled_compression_methods = '{DISABLED_COMPRESSION}'")
            for name, file, read_only in ((_OLD, path, True), (_NEW, new, False)):
                options = attach_options(file, read_only)  # `new`: made as warehouse.db makes one
                con.execute(f"ATTACH {sql_literal(str(file))} AS {name} ({options})")
            con.execute(f"COPY FROM DATABASE {_OLD} TO {_NEW}")
            tables, rows = _check_copy(con)
            blocks = dict(
                con.execute(
                    "SELECT database_name, block_size FROM pragma_database_size()"
                ).fetchall()
            )
            con.execute(f"DETACH {_NEW}")  # checkpointed and closed: the file is whole
            if _wal(path).exists():
                raise WarehouseError(f"{_wal(path)} appeared during the rebuild; run it again")
            # Swapped in one step while the old file is still held: a second name for it
            # first, then the new file over its name (a crash leaves one or the other there).
            bytes_before = path.stat().st_size
            os.link(path, backup)
            try:
                os.replace(new, path)
            except BaseException:
                backup.unlink()
                raise
        except BaseException:
            new.unlink(missing_ok=True)
            _wal(new).unlink(missing_ok=True)
            raise
        finally:
            con.close()
            shutil.rmtree(f"{new}.tmp", ignore_errors=True)
    return Rebuilt(
        path=path,
        backup=backup,
        tables=tables,
        rows=rows,
        block_bytes_before=blocks[_OLD],
        block_bytes_after=blocks[_NEW],
        bytes_before=bytes_before,
        bytes_after=path.stat().st_size,
        seconds=time.monotonic() - started,
    )


def _file_of(url: str | Path) -> Path:
    where = parse_url(url)
    if where.file is None:
        raise WarehouseError(
            f"{where}: a DuckLake stores Parquet files, there is no file to rebuild"
        )
    if not where.file.is_file():
        raise WarehouseError(f"{where.file}: no database here (check --db or NEWSWATCH_DB)")
    return where.file


def _check_copy(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The tables and rows copied, once the copy is checked against the old file: the same
    tables with as many rows each, the same sequences at the same values, the same views,
    indexes and macros. A mismatch is a `WarehouseError` (the old file stays as it is)."""
    catalog = {
        "tables": "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
        "views": "SELECT schema_name, view_name, sql FROM duckdb_views()"
        " WHERE database_name = ? AND NOT internal",
        "indexes": "SELECT schema_name, index_name, table_name FROM duckdb_indexes()"
        " WHERE database_name = ?",
        "sequences": "SELECT schema_name, sequence_name, last_value FROM duckdb_sequences()"
        " WHERE database_name = ?",
        "macros": "SELECT schema_name, function_name FROM duckdb_functions()"
        " WHERE database_name = ? AND function_type LIKE '%macro%'",
    }
    for kind, query in catalog.items():
        old, new = (sorted(con.execute(query, [db]).fetchall()) for db in (_OLD, _NEW))
        if old != new:
            raise WarehouseError(f"the rebuilt file's {kind} differ from the old file's: {new}")
    tables = con.execute(catalog["tables"], [_OLD]).fetchall()
    rows = 0
    for schema, table in tables:
        before, after = (_count(con, f'{db}."{schema}"."{table}"') for db in (_OLD, _NEW))
        if before != after:
            raise WarehouseError(f"{schema}.{table}: {after} rows copied of {before}")
        rows += before
    return len(tables), rows


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")
