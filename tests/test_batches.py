"""warehouse.batches: rows of Python values into DuckDB as Arrow columns built by nanoarrow,
every type the warehouse stores, and no pyarrow in the process that does it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pytest

from warehouse.batches import column_types, execute_with, insert_rows, keys, registered

NOW = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def test_every_kind_of_value_comes_back_as_it_went_in(con: duckdb.DuckDBPyConnection) -> None:
    rows = [
        {
            "s": "Мадуро",
            "i": 2**40,
            "f": 0.25,
            "b": False,
            "t": NOW,
            "naive": datetime(2026, 1, 5),
            "d": date(2026, 1, 5),
            "blob": b"\x00\x01",
            "names": ["a", "b"],
            "vector": np.array([0.5, -1.0], dtype=np.float32),
        },
        dict.fromkeys(["s", "i", "f", "b", "t", "naive", "d", "blob", "names", "vector"]),
    ]
    with registered(con, "_x", rows):
        got = con.execute("SELECT * FROM _x").fetchall()
        types = [r[1] for r in con.execute("DESCRIBE _x").fetchall()]
    assert got[0][:9] == tuple(rows[0].values())[:9]
    assert got[0][9] == [0.5, -1.0]  # float32 in, FLOAT[] stored
    assert got[1] == (None,) * 10
    assert types == [
        "VARCHAR",
        "BIGINT",
        "DOUBLE",
        "BOOLEAN",
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP",
        "DATE",
        "BLOB",
        "VARCHAR[]",
        "FLOAT[]",
    ]


def test_a_batch_is_read_as_often_as_a_block_likes(con: duckdb.DuckDBPyConnection) -> None:
    # DuckDB reads an Arrow stream once: the batch is a temporary table for its block.
    with registered(con, "_x", [{"k": "a"}, {"k": "b"}]):
        assert con.execute("SELECT count(*) FROM _x a, _x b").fetchone() == (4,)
        assert con.execute("SELECT count(*) FROM _x").fetchone() == (2,)
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM _x")  # gone after the block


def test_a_column_without_values_is_a_typeless_null(con: duckdb.DuckDBPyConnection) -> None:
    # As a pyarrow null column was: usable beside a text or a time, not taken for a number.
    with registered(con, "_x", [{"k": "a", "etag": None}]):
        row = con.execute("SELECT coalesce(etag, 'stored'), coalesce(etag, now()) FROM _x")
        assert row.fetchone()[0] == "stored"


def test_times_with_and_without_a_zone_are_utc(con: duckdb.DuckDBPyConnection) -> None:
    naive, aware = datetime(2026, 1, 5, 12, 30), NOW
    types = column_types("a TIMESTAMPTZ, b TIMESTAMP")
    with registered(con, "_x", [{"a": naive, "b": aware}], types):
        assert con.execute("SELECT a, b FROM _x").fetchone() == (NOW, naive)


def test_named_types_win_over_the_values(con: duckdb.DuckDBPyConnection) -> None:
    types = column_types("source VARCHAR, status INTEGER, now TIMESTAMPTZ, vector FLOAT[]")
    with registered(con, "_x", [{"source": None, "status": 200, "now": NOW}], types):
        described = dict(con.execute("DESCRIBE _x").fetchall()[i][:2] for i in range(4))
    assert described == {
        "source": "VARCHAR",
        "status": "INTEGER",
        "now": "TIMESTAMP WITH TIME ZONE",
        "vector": "FLOAT[]",
    }
    with pytest.raises(ValueError, match="HUGEINT"):
        column_types("n HUGEINT")


def test_inserts_keys_and_statements(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE t (id VARCHAR PRIMARY KEY, n BIGINT)")
    insert_rows(con, "t", [{"id": "a", "n": 1}, {"id": "b", "n": 2}])
    insert_rows(con, "t", [{"id": "a", "n": 9}, {"id": "c", "n": 3}], mode="OR IGNORE")
    execute_with(
        con, "UPDATE t SET n = u.n FROM _u u WHERE t.id = u.id", "_u", [{"id": "b", "n": 5}]
    )
    execute_with(con, "DELETE FROM t", "_none", [])  # no rows: nothing runs
    assert con.execute("SELECT * FROM t ORDER BY id").fetchall() == [("a", 1), ("b", 5), ("c", 3)]
    with keys(con, ["c", "a", "zz"]) as chosen:
        assert con.execute(f"SELECT id FROM t WHERE id IN {chosen} ORDER BY id").fetchall() == [
            ("a",),
            ("c",),
        ]
    with keys(con, []) as chosen:
        assert con.execute(f"SELECT count(*) FROM {chosen}").fetchone() == (0,)


def test_storing_a_batch_does_not_import_pyarrow() -> None:
    # The point of nanoarrow here: pyarrow cost the ingest process ~50-65 MB.
    script = (
        "import sys, duckdb; from warehouse.batches import insert_rows; con = duckdb.connect();"
        "con.execute('CREATE TABLE t (s VARCHAR, v FLOAT[])');"
        "insert_rows(con, 't', [{'s': 'x', 'v': [1.0]}]);"
        "assert con.execute('SELECT count(*) FROM t').fetchone() == (1,);"
        "print('pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
