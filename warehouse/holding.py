"""The warehouse file of a writing run: opened for its blocks, held open between them if
asked to, and let go when a reader asks for it.

DuckDB checkpoints a file when its last connection closes, and a checkpoint costs with the
size of the file (bench/README.md, Growth: at 1M articles about twice what it costs at
100k). By default a run closes the file after each block (a batch's load, the polls, ...),
so readers get in between and the process keeps no DuckDB caches between blocks. With
`hold` (`NEWSWATCH_HOLD_WAREHOUSE`), `HeldWriter` keeps the file open across the run's
blocks and lets go only when another process asks for it or the run ends: ingest at 1M
stored articles is then 1.6-1.7 times as fast (bench/growth.py: 1M / 100k 1.07-1.22,
against 1.40-1.45: no checkpoint per block, and the indexes stay in memory), and at
N = 10,000 pages a fifth faster, but the ingest command keeps DuckDB's caches and
allocations across batches: its memory at N = 10,000 (bench/pipeline.py) 607 MB against
495 (a 64 MB DuckDB limit: 538; 32 MB runs out of memory). Nothing committed is at risk
while held: each block's transactions are in DuckDB's write-ahead log.

The asking is a file beside the warehouse, `<db>.wanted`, whose modification time a process
waiting for the file renews (`warehouse.db.ask_for_file`). A thread of the holder looks at it
every `LOOK_SECONDS` and, when it changed since the file was opened, closes the connection as
soon as no block is under way; the run's next block opens the file again (waiting for the
reader). So a reader waits for at most one block either way. A tool that is not newswatch
(the `duckdb` command) can ask too: `touch <db>.wanted`.

A DuckLake takes several writers at once: it is held for the whole run, nobody asks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.db import open_connection, parse_url, request_path

# How often the holder looks whether a reader asked for the file: a stat, ~10 us.
LOOK_SECONDS = 0.1


class HeldWriter:
    """The warehouse at `url`, opened for writing by a `block()` when it is not open, and
    closed after it unless `hold`; held, it stays open until another process asks for the
    file or `close()` is called. `wait`: seconds an opening waits for a reader to let go;
    `threads`: DuckDB's threads."""

    def __init__(
        self,
        url: str | Path,
        wait: float = 0.0,
        threads: int | None = None,
        *,
        hold: bool = False,
    ) -> None:
        self._url, self._threads = url, threads
        where = parse_url(url)
        self.hold = hold or where.is_lake  # a lake has no lock: nothing to let go of
        self.wait = wait  # seconds an opening waits for the file (a run raises it after its first)
        self._asks = request_path(where)  # None for a DuckLake: nobody asks
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()  # held by a block; the watcher closes only outside one
        self._depth = 0  # blocks under way (a block may hold nested ones)
        self._seen: int | None = None  # the request file's mtime when the file was opened
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.openings = 0  # how many times the file was opened (tests, benches)

    @property
    def is_open(self) -> bool:
        """Whether the file is open now."""
        return self._con is not None

    @contextmanager
    def block(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open warehouse for the block: opened (waiting for a reader to let go) when it
        is not; after it, left open if held and no reader asked for it meanwhile."""
        with self._lock:
            if self._con is None:
                self._open()
            assert self._con is not None
            self._depth += 1
            try:
                yield self._con
            finally:
                self._depth -= 1
                if self._depth == 0 and (not self.hold or self._asked()):
                    self._let_go()

    def release(self) -> None:
        """Close the file now (checkpointing it) unless a block is under way; the next block
        opens it again."""
        with self._lock:
            if self._depth == 0:
                self._let_go()

    def close(self) -> None:
        """Close the file and stop watching for readers (the run is over)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        self.release()

    def __enter__(self) -> HeldWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _open(self) -> None:
        self._con = open_connection(self._url, wait=self.wait, threads=self._threads)
        self._seen = _stamp(self._asks)
        self.openings += 1
        if self.hold and self._asks is not None and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="warehouse-held", daemon=True)
            self._watcher.start()

    def _let_go(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            con.close()

    def _asked(self) -> bool:
        return self._asks is not None and _stamp(self._asks) != self._seen

    def _watch(self) -> None:
        """Close the file, between two blocks, once a reader asked for it."""
        while not self._stop.wait(LOOK_SECONDS):
            if self._con is not None and self._asked() and self._lock.acquire(blocking=False):
                try:
                    if self._depth == 0 and self._asked():
                        self._let_go()
                finally:
                    self._lock.release()


def _stamp(path: Path | None) -> int | None:
    """The request file's modification time (ns), None while nobody has ever asked."""
    if path is None:
        return None
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
