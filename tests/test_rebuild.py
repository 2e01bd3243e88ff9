"""`newswatch rebuild` (issue 19): a warehouse created with 16 KB blocks, as before session 23,
copied into today's 64 KB layout and put in its place, nothing lost; the old file kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from extractors.errors import WarehouseError
from tests.conftest import run_newswatch
from warehouse.db import BLOCK_BYTES, connect, run_lock
from warehouse.rebuild import backup_path, rebuild_file

OLD_BLOCK_BYTES = 16384


def _old_layout_copy(demo_db: Path, path: Path) -> None:
    """The demo's warehouse in a file with the block size of warehouses made before."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{demo_db}' AS demo (READ_ONLY)")
        con.execute(f"ATTACH '{path}' AS old (BLOCK_SIZE {OLD_BLOCK_BYTES})")
        con.execute("COPY FROM DATABASE demo TO old")
    finally:
        con.close()


def _block_bytes(path: Path) -> int:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
        row = con.execute(
            "SELECT block_size FROM pragma_database_size() WHERE database_name = 'w'"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])


def _rows_per_table(path: Path) -> dict[str, int]:
    with connect(path, read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'warehouse'"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]  # type: ignore[index]
            for s, t in tables
        }


def test_rebuild_moves_an_old_warehouse_to_64k_blocks_and_keeps_everything(
    demo_run: Any, tmp_path: Path
) -> None:
    path = tmp_path / "newswatch.duckdb"
    _old_layout_copy(demo_run.db, path)
    before = _rows_per_table(path)
    assert _block_bytes(path) == OLD_BLOCK_BYTES and before["main.articles"] >= 40

    done = run_newswatch("rebuild", "--db", str(path))

    assert done.returncode == 0, done.stderr
    assert "16 KB -> 64 KB" in done.stdout
    assert _block_bytes(path) == BLOCK_BYTES == 65536
    assert _block_bytes(backup_path(path)) == OLD_BLOCK_BYTES
    assert _rows_per_table(path) == before == _rows_per_table(backup_path(path))
    with connect(path) as con:  # writable: the sequences go on where they were
        fresh, highest = con.execute(
            "SELECT nextval('fetches_id_seq'), (SELECT max(id) FROM fetches)"
        ).fetchone()  # type: ignore[misc]
        assert fresh > highest
        assert con.execute("SELECT count(*) FROM event_spread").fetchone()[0] > 0  # type: ignore[index]
    assert not list(tmp_path.glob("*.rebuilding*"))


def test_rebuild_refuses_with_the_reason_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "newswatch.duckdb"
    with connect(path):
        pass
    with pytest.raises(WarehouseError, match="no database here"):
        rebuild_file(tmp_path / "missing.duckdb")
    with pytest.raises(WarehouseError, match="DuckLake"):
        rebuild_file(f"ducklake:{tmp_path / 'catalog.duckdb'}")

    with run_lock(path):  # an ingest run under way
        busy = run_newswatch("rebuild", "--db", str(path), "--wait", "0")
    assert busy.returncode == 1 and "another ingest run is under way" in busy.stderr

    rebuild_file(path)
    again = run_newswatch("rebuild", "--db", str(path))
    assert again.returncode == 1 and "before-rebuild exists" in again.stderr
    assert "Traceback" not in again.stderr and again.stderr.strip().count("\n") == 0
    assert _block_bytes(path) == BLOCK_BYTES
