"""Writing on either backend: one transaction at a time, retried when it loses to another writer.

DuckLake gives each transaction a snapshot and two writers' appends never conflict, so an
anti-join alone (`warehouse.migrate.insert_new_sql`) could let two writers insert the same
article; every writing transaction on a lake therefore also bumps the one row of
`lake_turns`, which makes any two overlapping writing transactions conflict at commit. The
loser's whole batch is retried on the new snapshot (`retry_conflicts`), where its anti-joins
see the winner's rows. On one DuckDB file there is one writer, and none of this fires.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import duckdb

from extractors.errors import WarehouseError

# A writer that loses a commit to another one tries again, up to this many times, backing off
# from 20 ms to 2 s with jitter.
MAX_COMMIT_ATTEMPTS = 30
log = logging.getLogger("warehouse")
P = ParamSpec("P")
T = TypeVar("T")

# Which connections are lakes: set when we open them, asked of DuckDB for any other.
_LAKES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, bool] = weakref.WeakKeyDictionary()


def remember_backend(con: duckdb.DuckDBPyConnection, *, lake: bool) -> None:
    """Note whether a connection we opened writes to a lake, so `is_lake` need not ask."""
    _LAKES[con] = lake


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """True when `con` writes to DuckLake (its default database is a DuckLake catalog)."""
    known = _LAKES.get(con)
    if known is None:
        row = con.execute(
            "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        known = _LAKES[con] = bool(row and row[0] == "ducklake")
    return known


def is_conflict(exc: BaseException) -> bool:
    """A commit that lost to a concurrent writer (DuckLake's optimistic concurrency)."""
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def retry_conflicts(fn: Callable[P, T]) -> Callable[P, T]:
    """Run the writer `fn` (which opens its own transactions) again when its commit loses to a
    concurrent writer: it then reads everything again on the newer snapshot. On one DuckDB
    file there is one writer, so this never fires there."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, MAX_COMMIT_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except duckdb.TransactionException as exc:
                if not is_conflict(exc):
                    raise
                reason = str(exc).strip().splitlines()[-1]
                if attempt == MAX_COMMIT_ATTEMPTS:
                    raise WarehouseError(
                        f"{fn.__name__}: gave up after {attempt} commit conflicts with other "
                        f"writers ({reason}); too many writers for one lake?"
                    ) from exc
                log.warning("commit conflict in %s, retry %d: %s", fn.__name__, attempt, reason)
                time.sleep(min(2.0, 0.01 * 2**attempt) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")

    return run


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction, rolled back when the block fails. On a lake it first takes a turn
    (bumps `lake_turns`), so that it conflicts with any overlapping writing transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        if is_lake(con):
            con.execute("UPDATE lake_turns SET n = n + 1")
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
