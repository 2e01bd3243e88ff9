"""A run's warehouse file (`warehouse.holding`): closed after each block by default; held
across its blocks with `hold`, and let go when a reader asks. Real DuckDB files, readers in
other processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from newswatch.errors import DatabaseInUse
from tests.waiting import wait_until
from warehouse import load
from warehouse.db import connect
from warehouse.holding import HeldWriter

REPO = Path(__file__).resolve().parents[1]


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])  # type: ignore[index]


def _add_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    load.start_run(con, run_id, "ingest", datetime.now(UTC))


def _read_in_another_process(db: Path, wait: float) -> subprocess.Popen[str]:
    """`connect(db, read_only=True, wait=wait)` in a child process, which prints the count
    of runs it read."""
    code = (
        "from warehouse.db import connect\n"
        f"with connect({str(db)!r}, read_only=True, wait={wait}) as con:\n"
        "    print(con.execute('SELECT count(*) FROM runs').fetchone()[0], flush=True)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


@pytest.fixture
def held(db: Path) -> Iterator[HeldWriter]:
    with HeldWriter(db, hold=True) as writer:
        yield writer


def test_by_default_each_block_opens_and_closes_the_file(db: Path) -> None:
    with HeldWriter(db) as writer:
        for n in range(3):
            with writer.block() as con:
                _add_run(con, f"r{n}")
            assert not writer.is_open
            with connect(db, read_only=True) as con:  # a reader gets in at once
                assert _count(con) == n + 1
        assert writer.openings == 3


def test_blocks_share_one_opening_while_nobody_asks(held: HeldWriter, db: Path) -> None:
    for n in range(5):
        with held.block() as con:
            _add_run(con, f"r{n}")
            with held.block() as inner:  # a nested block is the same connection
                assert inner is con
    assert held.openings == 1
    assert held.is_open
    held.close()
    assert not held.is_open
    with connect(db, read_only=True) as con:
        assert _count(con) == 5
    assert not db.with_name(db.name + ".wal").exists()  # closing folded the log into the file


def test_a_reader_in_another_process_gets_the_file_between_two_blocks(
    held: HeldWriter, db: Path
) -> None:
    with held.block() as con:
        _add_run(con, "first")
    reader = _read_in_another_process(db, wait=30)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.split() == ["1"]
    assert not held.is_open  # the holder let go while idle, asked
    with held.block() as con:  # and the next block opens it again
        _add_run(con, "second")
        assert _count(con) == 2
    assert held.openings == 2


def test_a_reader_waits_for_the_block_under_way(held: HeldWriter, db: Path) -> None:
    with held.block() as con:
        _add_run(con, "first")
    asks = db.with_name(db.name + ".wanted")
    inside, finish = threading.Event(), threading.Event()

    def long_block() -> None:
        with held.block() as con:
            inside.set()
            finish.wait(timeout=60)
            _add_run(con, "written while the reader waited")

    writer = threading.Thread(target=long_block)
    writer.start()
    assert inside.wait(timeout=30)
    reader = _read_in_another_process(db, wait=30)
    try:
        assert wait_until(asks.exists, timeout=30), "the reader never asked"
        assert reader.poll() is None and held.is_open  # the block keeps the file
    finally:
        finish.set()
        writer.join(timeout=60)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.split() == ["2"]  # it read after the block ended, its row included


def test_a_reader_in_this_process_is_told_who_holds_the_file(held: HeldWriter, db: Path) -> None:
    with held.block():
        pass
    with (
        pytest.raises(DatabaseInUse, match="another connection of this process"),
        connect(db, read_only=True),
    ):
        pass
    with connect(db, read_only=True, wait=30) as con:  # asking, it gets the file
        assert _count(con) == 0


def test_rows_of_a_held_file_survive_its_holder_being_killed(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    code = (
        "import sys; from datetime import UTC, datetime\n"
        "from warehouse import load; from warehouse.holding import HeldWriter\n"
        f"w = HeldWriter({str(db)!r}, hold=True)\n"
        "for n in range(3):\n"
        "    with w.block() as con:\n"
        "        load.start_run(con, str(n), 'ingest', datetime.now(UTC))\n"
        "print('stored', flush=True); sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "stored"
    os.kill(holder.pid, signal.SIGKILL)  # the file never closed: the rows are in the log
    holder.wait(timeout=30)
    with connect(db, read_only=True) as con:
        assert _count(con) == 3
