"""Connecting to the warehouse, migrated on open: one DuckDB file, or DuckLake.

`connect(url)` picks the backend from `url`:

- a plain path, or `duckdb:///abs/path.duckdb` (`duckdb:rel/path.duckdb`): one DuckDB file,
  the default. DuckDB allows one writing process per file, and no reader in another process
  beside it; a second one gets a `DatabaseInUse` error that says who to wait for, or, given
  `wait` seconds (scheduled flows: the digest of 06:00 meets the ingest of 06:00), asks
  for the file and waits for it to be free (`warehouse.holding`: an ingest run lets go of
  it between two steps when asked).
- `ducklake:postgres:dbname=newswatch host=10.0.0.5 port=5432 user=nw data_path=s3://b/nw/`:
  DuckLake, with its catalog in Postgres (the libpq connection string; a password is better
  kept in PGPASSWORD or ~/.pgpass than in the URL) and its data as Parquet files under
  `data_path` (a folder, or object storage through DuckDB's httpfs). `data_path` is needed
  only when the lake is created; the catalog remembers it. `ducklake:/path/catalog.ducklake
  data_path=/path/files/` keeps the catalog in a DuckDB file instead (one process at a time;
  the tests use it). Several processes on several machines can write to a Postgres-backed
  lake at once; analysts attach it with
  `ATTACH 'ducklake:postgres:dbname=newswatch host=...' AS nw (DATA_PATH '...')`.

The schema (migrations, DuckLake DDL, natural keys) is `warehouse.migrate`'s; transactions
and commit-conflict retries on either backend are `warehouse.transactions`'s; batches of rows
are `warehouse.batches`'s.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

import duckdb

from extractors.errors import DatabaseInUse, WarehouseError
from warehouse.migrate import apply_migrations
from warehouse.transactions import is_lake, remember_backend

MEMORY_LIMIT = "256MB"  # per connection's database instance
# A join whose smaller side has at most this many rows filters the other side's scan by its
# keys (DuckDB's default: 50). On a column with an index (articles.id, content_hash) that
# filter is an index lookup, so looking up a batch's 500 ids costs the same at 1M stored
# articles as at 100k, instead of a scan of the table (bench/growth.py). The same bound as
# DuckDB's `index_scan_max_count`, past which it scans anyway.
INDEX_LOOKUP_KEYS = 2048
# Rows per row group of a warehouse file: what one checkpoint rewrites at most per table
# (`_attach_file`). DuckDB's default is 122,880.
ROW_GROUP_ROWS = 4096
# Bytes per block of a new warehouse file (DuckDB's default: 262,144). Rows a transaction
# appends stay in memory until the checkpoint, in segments of up to a block for each column;
# with 256 KB blocks one batch of 100 pages took 25-30 MB of them over the tables it writes,
# with 16 KB ones 2-5 MB (DuckDB's `duckdb_memory()`, in the ingest of bench/pipeline.py).
# But every opening and closing of the file costs with the number of its blocks: with 16 KB
# blocks an ingest's closings at 1M articles cost 2.1-2.4 ms an article against ~1.0 at 100k
# (bench/growth.py: 1M / 100k 1.41-1.42); with 64 KB ones 1.4-1.6 (1.02, 1.25, 1.15, 1.18,
# 1.19 in five runs), and the ingest tree's peak at N = 10,000 stayed 462-488 MB
# (bench/README.md, Growth and Pipeline, session 23).
BLOCK_BYTES = 65536
# The storage format of a new warehouse file. DuckDB writes a new file in the format of 1.0
# (v1.0.0) unless asked, so that older DuckDBs can read it; in that format each checkpoint
# converts every changed ART index (the keys and indexes of the tables a batch appends to) to
# the old layout, a cost that grows with the table, and the file is checkpointed at each
# closing, after every batch. At 1M articles, closing after 100 rows appended to each of
# three small tables: ~165 ms in v1.0.0, ~70 ms in v1.5.0 (100k: ~40 and ~25). With
# DISABLED_COMPRESSION, the growth bench's openings at 1M: 4.45 -> 2.24 ms an article
# (bench/README.md, Growth, session 15).
# A file keeps the format it was created in. Nothing but this DuckDB (pinned) reads it.
STORAGE_VERSION = "v1.5.0"
# String compression DuckDB may not use (`disabled_compression_methods`). Each checkpoint
# rewrites the row groups a batch appended to, their earlier rows included, and v1.5.0
# compresses strings there (DICT_FSST, or zstd for text that repeats), which a checkpoint at
# each closing paid for again: the ingest command's CPU at N = 10,000 (bench/pipeline.py, d)
# 41 s in v1.0.0, 61 in v1.5.0, 37 with these off. v1.0.0 kept an article's text
# uncompressed too: a file of 6,000 corpus texts is 47 MB in both (16 MB with zstd).
DISABLED_COMPRESSION = "dict_fsst,zstd"
# The longest pause between two tries at a file in use: a run holding it lets go between two
# of its blocks, which may follow each other closely, so a waiting process tries often.
ASK_PAUSE = 0.1
FILE_ALIAS = "warehouse"  # the attached file's catalog name, whatever the file is called

__all__ = [
    "LAKE_ALIAS",
    "Location",
    "apply_migrations",
    "connect",
    "is_lake",
    "load_extension",
    "open_connection",
    "parse_url",
    "run_lock",
]

LAKE_ALIAS = "nw"
log = logging.getLogger("warehouse")


# --- where the warehouse is -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed warehouse URL: a DuckDB `file`, or a DuckLake `catalog` (and `data_path`)."""

    file: Path | None = None
    catalog: str | None = None  # "postgres:<libpq string>" or the path of a DuckDB file
    data_path: str | None = None

    @property
    def is_lake(self) -> bool:
        return self.catalog is not None

    def __str__(self) -> str:
        if self.file is not None:
            return str(self.file)
        # Never print a password that was written into the URL.
        return re.sub(r"password=\S+", "password=***", f"ducklake:{self.catalog}")


def parse_url(url: str | Path) -> Location:
    """Where `url` (see the module's doc) says the warehouse is."""
    if isinstance(url, Path):
        return Location(file=url)
    if url.startswith("duckdb:"):
        path = url.removeprefix("duckdb:")
        return Location(file=Path(path[2:] if path.startswith("//") else path))
    if not url.startswith("ducklake:"):
        return Location(file=Path(url))
    words = url.removeprefix("ducklake:").split()
    data = [w for w in words if w.lower().startswith("data_path=")]
    catalog = " ".join(w for w in words if w not in data)
    if not catalog:
        raise WarehouseError(f"{url}: no catalog after 'ducklake:' (see warehouse/db.py)")
    return Location(catalog=catalog, data_path=data[-1].split("=", 1)[1] if data else None)


# --- connecting -----------------------------------------------------------------------------


@contextmanager
def connect(
    url: str | Path,
    *,
    read_only: bool = False,
    wait: float = 0.0,
    threads: int | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating and migrating it when writable) and close it afterwards.
    A DuckDB file that another process holds is waited for up to `wait` seconds; `threads`
    caps DuckDB's threads for this opening (default: one per core)."""
    con = open_connection(url, read_only=read_only, wait=wait, threads=threads)
    try:
        yield con
    finally:
        con.close()


def open_connection(
    url: str | Path,
    *,
    read_only: bool = False,
    wait: float = 0.0,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    where = parse_url(url)
    if where.is_lake:
        con = _open_lake(where, read_only)  # many writers at once: nothing to wait for
    else:
        con = _open_file_when_free(where, read_only, wait)
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB draws a progress bar on stdout, pipe or not, once a statement runs past 2 s: into
    # the CSV of `newswatch query ... > out.csv`, or over a command's own lines.
    con.execute("SET enable_progress_bar_print = false")
    # DuckDB's buffer pool may grow to 80% of the machine's memory by default; the ingest's
    # batches need a fraction of this, and larger work spills to disk (bench/README.md,
    # "How memory grows with the number of workers").
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET dynamic_or_filter_threshold = {INDEX_LOOKUP_KEYS}")
    con.execute(f"SET disabled_compression_methods = '{DISABLED_COMPRESSION}'")
    if threads is not None:
        con.execute(f"SET threads = {max(1, int(threads))}")
    if not read_only and apply_migrations(con) and not where.is_lake:
        # Schema changes go to the file at once, not only to the WAL: see _replay_wal_attached.
        con.execute("CHECKPOINT")
    return con


def _open_file_when_free(
    where: Location, read_only: bool, wait: float
) -> duckdb.DuckDBPyConnection:
    """Open the file, trying again while another process holds it, for up to `wait` s, and
    asking it to let go (`ask_for_file`): an ingest run lets go between two of its blocks,
    which hold the file for a second or two. The wait is logged once; past it, the error
    says who holds the file and for how long it was waited for."""
    started = time.monotonic()
    asks = request_path(where)
    pause = 0.05
    while True:
        try:
            return _open_file(where, read_only)
        except DatabaseInUse as exc:
            waited = time.monotonic() - started
            if waited >= wait:
                if wait > 0:
                    raise DatabaseInUse(f"{exc} (waited {waited:.1f} s)") from exc.__cause__
                raise
            if pause == 0.05:  # info: a reader meeting an ingest run waits as a rule
                log.info("waiting up to %.1f s for the database: %s", wait, exc)
            if asks is not None:
                ask_for_file(asks)  # renewed at each try: a run lets go between two blocks
            time.sleep(min(pause, wait - waited))
            pause = min(pause * 2, ASK_PAUSE)


def request_path(where: Location) -> Path | None:
    """`<db>.wanted`: the file whose modification time a process waiting for the DuckDB file
    renews, asking the run that holds it to let go (`warehouse.holding`); None for a lake."""
    return None if where.file is None else where.file.with_name(where.file.name + ".wanted")


def ask_for_file(asks: Path) -> None:
    """Ask the run holding the warehouse to let go of it (`warehouse.holding.HeldWriter`)."""
    try:
        asks.touch()
    except OSError as exc:  # a read-only folder: the holder lets go at its run's end anyway
        log.debug("cannot ask for the database through %s: %s", asks, exc)


@contextmanager
def run_lock(url: str | Path, wait: float = 0.0) -> Iterator[None]:
    """One ingest run at a time on a DuckDB file, for the whole run (waiting up to `wait`
    s for the one under way). A run lets go of the file between two of its steps when a
    reader asks (`warehouse.holding`); two runs must not interleave theirs (both would poll
    the same due sources). The lock is `<db>.run-lock` beside the file, released by the system
    when its holder dies; a DuckLake takes several writers at once and needs none."""
    where = parse_url(url)
    if where.file is None:
        yield
        return
    path = where.file.with_name(where.file.name + ".run-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as held:
        _flock_when_free(held, path, where.file, wait)
        held.seek(0)
        held.truncate()
        held.write(f"{os.getpid()}\n")
        held.flush()
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def _flock_when_free(held: IO[str], path: Path, db: Path, wait: float) -> None:
    started = time.monotonic()
    while True:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            waited = time.monotonic() - started
            if waited >= wait:
                pid = path.read_text(encoding="utf-8").strip()
                holder = f" (process {pid}){_command_of(pid)}" if pid.isdigit() else ""
                raise DatabaseInUse(
                    f"{db}: another ingest run is under way{holder}; wait for it to finish "
                    f"and try again (waited {waited:.1f} s)"
                ) from None
            time.sleep(min(0.5, wait - waited))


def _open_file(where: Location, read_only: bool) -> duckdb.DuckDBPyConnection:
    path = where.file
    assert path is not None
    if read_only and not path.exists():
        raise WarehouseError(
            f"{path}: no database here yet (run `newswatch ingest` or `make demo`)"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            con = _attach_file(path, read_only)
        except duckdb.InternalException as exc:
            if "replaying WAL" not in str(exc):
                raise
            _replay_wal_attached(path)
            con = _attach_file(path, read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseInUse(_lock_message(path, exc)) from exc
        raise WarehouseError(f"{path}: cannot open the database: {exc}") from exc
    except duckdb.BinderException as exc:
        if "file handle conflict" not in str(exc):
            raise
        # Held by a connection of this process (a flow's run, `warehouse.holding`): asking
        # for the file works the same way.
        raise DatabaseInUse(
            f"{path}: the database is in use by another connection of this process"
        ) from exc
    remember_backend(con, lake=False)
    return con


def _attach_file(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The file attached as the default database, its row groups `ROW_GROUP_ROWS` long.

    Why: a checkpoint rewrites the row groups that changed, and with DuckDB's default of
    122,880 rows every table of a warehouse under that size is one row group. Each close
    after a batch (the file was closed between steps then, so readers got in) rewrote all the
    articles' text, and the ingest's peak memory grew with the size of the warehouse
    (measured in a probe appending 100-row batches of 4 KB texts, closing after each: the
    peak grew by 64 MB over 10,000 rows; flat with 2,048-row groups). A new file is created
    with `BLOCK_BYTES` blocks."""
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        con.execute(
            f"ATTACH {sql_literal(str(path))} AS {FILE_ALIAS} ({attach_options(path, read_only)})"
        )
    except BaseException:
        con.close()
        raise
    con.execute(f"USE {FILE_ALIAS}")
    return con


def attach_options(path: Path, read_only: bool) -> str:
    """The options of ATTACH for the warehouse file `path`: its row groups `ROW_GROUP_ROWS`
    long, and a file not made yet made with `BLOCK_BYTES` blocks in `STORAGE_VERSION` (a file
    keeps the block size and format it was created with)."""
    options = f"ROW_GROUP_SIZE {ROW_GROUP_ROWS}" + (", READ_ONLY" if read_only else "")
    if not path.exists():
        options += f", BLOCK_SIZE {BLOCK_BYTES}, STORAGE_VERSION '{STORAGE_VERSION}'"
    return options


def _replay_wal_attached(path: Path) -> None:
    """Fold the WAL a killed process left into the file, from another connection.

    DuckDB 1.5.5 cannot replay, while opening a file, a WAL that holds `ALTER TABLE ... ADD
    COLUMN` on a table with a default that calls a function (`fetches.id`: nextval): binding
    it needs a default database, which is not set yet while that file is being opened, so
    the open fails with an internal error. A run killed after a migration and before the
    checkpoint that follows it leaves such a WAL. Attached from an in-memory database the
    same WAL replays, and a checkpoint writes it into the file."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_literal(str(path))} AS _recover")
        con.execute("CHECKPOINT _recover")
    finally:
        con.close()


def _open_lake(where: Location, read_only: bool) -> duckdb.DuckDBPyConnection:
    assert where.catalog is not None
    # Extensions come from their pip wheels: never let DuckDB try to download one.
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extension(con, "ducklake")
    if where.catalog.startswith("postgres:"):
        load_extension(con, "postgres")
    elif not read_only:
        Path(where.catalog).parent.mkdir(parents=True, exist_ok=True)
    options = []
    if where.data_path:
        if "://" in where.data_path:
            # Object storage (s3://, gs://, ...) goes through httpfs; credentials come from
            # DuckDB's persistent secrets on the machine (docs/scaling.md).
            load_extension(con, "httpfs")
        elif not read_only:
            Path(where.data_path).mkdir(parents=True, exist_ok=True)
        options.append(f"DATA_PATH {sql_literal(where.data_path)}")
    if read_only:
        options.append("READ_ONLY")
    attach = f"ATTACH {sql_literal('ducklake:' + where.catalog)} AS {LAKE_ALIAS}"
    try:
        con.execute(attach + (f" ({', '.join(options)})" if options else ""))
    except duckdb.Error as exc:
        con.close()
        first = str(exc).strip().splitlines()[0]
        raise WarehouseError(f"{where}: cannot attach the DuckLake catalog: {first}") from exc
    con.execute(f"USE {LAKE_ALIAS}")
    remember_backend(con, lake=True)
    return con


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load a DuckDB extension from the file in its pip wheel `duckdb-extension-<name>`;
    nothing is downloaded. The first time, INSTALL copies it into DuckDB's extension folder
    (under its own name, which `LOAD '<file>'` would not find for postgres_scanner)."""
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    package = f"duckdb-extension-{name}=={duckdb.__version__}"
    try:
        folder = resources.files(f"duckdb_extension_{name}")
    except ModuleNotFoundError as exc:
        raise WarehouseError(f"the {name} extension is missing: pip install {package}") from exc
    path = folder / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise WarehouseError(f"{path}: missing; pip install {package}")
    try:
        con.execute(f"INSTALL {sql_literal(str(path))}")
        con.execute(f"LOAD {name}")
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot load the {name} extension from {path}: {exc}") from exc


def sql_literal(value: str) -> str:
    """`value` as a quoted SQL string (a path in ATTACH, COPY, INSTALL)."""
    return "'" + value.replace("'", "''") + "'"


def _lock_message(path: Path, exc: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f" (process {pid.group(1)}){_command_of(pid.group(1))}" if pid else ""
    return (
        f"{path}: the database is in use by another newswatch process{holder}; "
        "wait for it to finish (an ingest run holds it while it writes) and try again"
    )


def _command_of(pid: str) -> str:
    """` running newswatch ingest`: the command line of process `pid`, where /proc has it."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    if len(words) > 1 and Path(words[0]).name.startswith("python"):
        words = words[1:]  # `python -m ...`, `python .venv/bin/newswatch ...`
    if not words:
        return ""
    command = " ".join(" ".join([Path(words[0]).name, *words[1:]]).split())  # one line
    return " running " + (command if len(command) <= 60 else command[:57] + "...")
