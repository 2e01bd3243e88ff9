"""Study (issue 19, session 22): does a closing block cost more at 1M rows because its keys
are random? One table with a primary key, built at each size, then blocks as a closing run
writes them: open the file, append 100 new rows, close (DuckDB checkpoints). Two kinds of key:

- random: `sha1` of a number, as the warehouse's ids are (`sha1(canonical_url)`): each new
  key lands somewhere else in the index;
- growing: the number zero-padded, then part of its `sha1` (the same length): each new key
  lands after every key stored, as an id that starts with the time would.

Rows carry a 200-character text, so a row group's rewrite is priced too. Each phase is the
median of `--blocks` blocks after one that does not count. No target: it prints milliseconds.

Run: `.venv/bin/python bench/growth_keys.py [--sizes 100000 1000000] [--blocks 10]`
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
from harness import add_sizes, machine  # the repository ahead of bench/ on the path

KEYS = {
    "random": "sha1(i::VARCHAR)",
    "growing": "lpad(i::VARCHAR, 12, '0') || sha1(i::VARCHAR)[:28]",
}


def key(kind: str, i: int) -> str:
    """What `KEYS[kind]` computes in SQL, for a row added later."""
    digest = hashlib.sha1(str(i).encode()).hexdigest()
    return digest if kind == "random" else f"{i:012d}{digest[:28]}"


def build(path: Path, rows: int, kind: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (id VARCHAR PRIMARY KEY, body VARCHAR)")
        con.execute(f"INSERT INTO t SELECT {KEYS[kind]}, repeat('x', 200) FROM range({rows}) r(i)")


def block_ms(path: Path, kind: str, first: int) -> tuple[float, float, float]:
    """Open, append 100 rows (keys `first`...), close: milliseconds of each."""
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    opened = time.perf_counter()
    rows = [(key(kind, i), "y" * 200) for i in range(first, first + 100)]
    con.execute("CREATE TEMP TABLE new (id VARCHAR, body VARCHAR)")
    con.executemany("INSERT INTO new VALUES (?, ?)", rows)
    con.execute("INSERT INTO t SELECT * FROM new")
    appended = time.perf_counter()
    con.close()
    closed = time.perf_counter()
    return tuple(1000 * d for d in (opened - started, appended - opened, closed - appended))  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_sizes(parser, "--sizes", [100_000, 1_000_000], "rows in the table")
    parser.add_argument("--blocks", type=int, default=10, help="blocks timed per table")
    args = parser.parse_args(argv)
    print(machine())
    print("one block, ms (median): open / append 100 rows / close (checkpoint)")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.sizes:
            for kind in KEYS:
                path = Path(tmp) / f"{kind}-{rows}.duckdb"
                build(path, rows, kind)
                times = [block_ms(path, kind, rows + 1000 * b) for b in range(args.blocks + 1)]
                o, a, c = (statistics.median(phase) for phase in zip(*times[1:], strict=True))
                print(
                    f"  {rows:>9,} rows, {kind:7} keys: {o:6.1f} / {a:6.1f} / {c:6.1f}"
                    f"   sum {o + a + c:6.1f}",
                    flush=True,
                )
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
