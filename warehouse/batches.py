"""Batches of rows into DuckDB as Arrow columns built by nanoarrow: one statement for all
rows, no per-row binding, and no pyarrow in the process.

A batch of dicts becomes a table of the connection's temporary catalog for one block
(`registered`, `execute_with`); a long list of keys a one-column table (`keys`); and
`insert_rows` appends a batch to a table, skipping rows whose key is there already when
asked. Measured: `executemany` is 20-80 times slower.

Why nanoarrow and not pyarrow (before session 10): importing pyarrow and making the first
table cost the ingest process ~50-65 MB (its libraries and its allocator's arenas), for what
DuckDB reads through the Arrow C stream interface from any producer. nanoarrow builds the
columns (~1 MB of library) and DuckDB reads the stream natively, without importing pyarrow.
DuckDB's own numpy scans need no library, but cost ~0.3 ms a value (it tries to import pandas
for each object): 70 times slower than Arrow on our rows.

A column's type comes from its values (`_kind_of`: the first that is not None) unless the
batch names it (`column_types`, DuckDB type names): batches whose columns may be all NULL
and are used where the type matters (a coalesce with a stored column) name theirs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import nanoarrow as na
import numpy as np

from warehouse.migrate import insert_new_sql

# The DuckDB types a batch may name, and the Arrow type each column is built as.
_ARROW_TYPES = {
    "VARCHAR": na.string(),
    "BIGINT": na.int64(),
    "INTEGER": na.int32(),
    "DOUBLE": na.float64(),
    "BOOLEAN": na.bool_(),
    "TIMESTAMPTZ": na.timestamp("us", "UTC"),
    "TIMESTAMP": na.timestamp("us"),
    "DATE": na.date32(),
    "BLOB": na.binary(),
    "FLOAT": na.float32(),
    "FLOAT[]": na.list_(na.float32()),
    "DOUBLE[]": na.list_(na.float64()),
    "VARCHAR[]": na.list_(na.string()),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

ColumnTypes = Mapping[str, str]  # column -> DuckDB type (a key of `_ARROW_TYPES`)


def column_types(columns: str) -> dict[str, str]:
    """`ColumnTypes` from "name TYPE, name TYPE, ..."."""
    pairs = (column.split(maxsplit=1) for column in columns.split(","))
    types = {name: kind.strip().upper() for name, kind in pairs}
    unknown = sorted(set(types.values()) - set(_ARROW_TYPES))
    if unknown:
        raise ValueError(f"column types not known to warehouse.batches: {', '.join(unknown)}")
    return types


def _kind_of(values: Sequence[Any]) -> str | None:
    """The DuckDB type of a column from its values (None when all are None)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    first = present[0]
    if isinstance(first, bool):
        return "BOOLEAN"
    if isinstance(first, int | float):
        return "DOUBLE" if any(isinstance(v, float) for v in present) else "BIGINT"
    if isinstance(first, str):
        return "VARCHAR"
    if isinstance(first, datetime):
        return "TIMESTAMPTZ" if first.tzinfo is not None else "TIMESTAMP"
    if isinstance(first, date):
        return "DATE"
    if isinstance(first, bytes):
        return "BLOB"
    if isinstance(first, np.ndarray):
        return "FLOAT[]" if first.dtype == np.float32 else "DOUBLE[]"
    if isinstance(first, list | tuple):
        items = [i for v in present for i in v]
        return "DOUBLE[]" if items and isinstance(items[0], int | float) else "VARCHAR[]"
    raise TypeError(f"warehouse.batches cannot store a {type(first).__name__}")


def _scalar(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("TIMESTAMPTZ", "TIMESTAMP"):
        # A time without a zone is UTC's, as pyarrow took it: the warehouse keeps UTC.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - _EPOCH) // _MICROSECOND
    if kind == "DATE":
        return (value - date(1970, 1, 1)).days
    if kind in ("DOUBLE", "FLOAT"):
        return float(value)
    return value


def _array(values: Sequence[Any], kind: str | None) -> Any:
    """One column as a nanoarrow array: typeless NULLs when `kind` is None."""
    if kind is None:
        return na.c_array_from_buffers(na.null(), len(values), [])
    if kind.endswith("[]"):
        return _list_array(values, kind)
    return na.c_array([_scalar(v, kind) for v in values], _ARROW_TYPES[kind])


def _list_array(values: Sequence[Any], kind: str) -> Any:
    """A column of lists: the offsets of each row's items in one child array of them all."""
    lists = [() if v is None else v for v in values]
    offsets = np.cumsum([0] + [len(v) for v in lists], dtype=np.int32)
    item_kind = kind[:-2]
    if item_kind in ("FLOAT", "DOUBLE") and offsets[-1]:  # vectors: one buffer, no floats
        dtype = np.float32 if item_kind == "FLOAT" else np.float64
        child = na.c_array(np.concatenate([np.asarray(v, dtype=dtype) for v in lists]))
    else:  # nanoarrow refuses an empty numpy array (0.9)
        items = [_scalar(i, item_kind) for v in lists for i in v]
        child = na.c_array(items, _ARROW_TYPES[item_kind])
    nulls = any(v is None for v in values)
    valid = na.c_buffer([v is not None for v in values], na.bool_()) if nulls else None
    return na.c_array_from_buffers(
        _ARROW_TYPES[kind], len(values), [valid, na.c_buffer(offsets)], children=[child]
    )


def _stream(rows: Sequence[Mapping[str, Any]], types: ColumnTypes | None) -> tuple[Any, list[str]]:
    """The rows as one struct array whose children are the columns (those of `types`, else
    every key of the rows in order of appearance; a key a row lacks is None), and the names of
    the columns without a type (all None, not named in `types`)."""
    names = list(types) if types else list(dict.fromkeys(k for row in rows for k in row))
    columns, typeless = [], []
    for name in names:
        values = [row.get(name) for row in rows]
        kind = types[name] if types else _kind_of(values)
        columns.append(_array(values, kind))
        if kind is None:
            typeless.append(name)
    schema = na.struct({n: c.schema for n, c in zip(names, columns, strict=True)})
    return na.Array(na.c_array_from_buffers(schema, len(rows), [None], children=columns)), typeless


@contextmanager
def registered(
    con: duckdb.DuckDBPyConnection,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    types: ColumnTypes | None = None,
) -> Iterator[None]:
    """Make `rows` (dicts keyed by column) queryable as the table `name` for the block.

    DuckDB reads an Arrow stream once, so the rows are copied into a temporary table that
    the block's statements may read as often as they like. A column without a type is a
    typeless NULL in a view over that table (a table would make it an INTEGER, which a
    coalesce with a text column refuses), as it was when the batch was a pyarrow table."""
    array, typeless = _stream(rows, types)
    table = f"{name}_rows" if typeless else name
    con.register(f"{name}_stream", array.__arrow_c_stream__())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {name}_stream")
    finally:
        con.unregister(f"{name}_stream")
    try:
        if typeless:
            nulls = ", ".join(f"NULL AS {_quoted(c)}" for c in typeless)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * REPLACE ({nulls}) FROM {table}"
            )
        yield
    finally:
        if typeless:
            con.execute(f"DROP VIEW IF EXISTS temp.main.{name}")
        con.execute(f"DROP TABLE IF EXISTS temp.main.{table}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def execute_with(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    types: ColumnTypes | None = None,
) -> None:
    """Run `sql`, which reads `rows` as the table `name`; nothing to do without rows."""
    if rows:
        with registered(con, name, rows, types):
            con.execute(sql)


@contextmanager
def keys(con: duckdb.DuckDBPyConnection, values: list[str]) -> Iterator[str]:
    """Make `values` queryable as the one-column table `_keys(k)` for the block.

    Binding a long Python list as a parameter costs DuckDB several failed imports per element
    (it probes for pandas and numpy): measured 0.74 s for 2 queries over 2,000 names. An
    Arrow column costs nothing of the kind."""
    with registered(con, "_keys", [{"k": v} for v in values], {"k": "VARCHAR"}):
        yield "(SELECT k FROM _keys)"


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    mode: str = "",
) -> None:
    """Bulk insert `rows` (dicts keyed by column); `mode` is "" or "OR IGNORE" (rows whose
    key is stored already are skipped, on either backend)."""
    select = "SELECT * FROM _batch"
    sql = insert_new_sql(con, table, select) if mode == "OR IGNORE" else None
    execute_with(con, sql or f"INSERT {mode} INTO {table} BY NAME {select}", "_batch", rows)
