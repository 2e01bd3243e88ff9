"""Study (issue 19, session 17): what one block of a closing run costs per table as the
warehouse grows, and so where bench/growth.py's "open, close the warehouse" goes.

On bench/growth.py's synthetic warehouses (100,000 and 1,000,000 articles; `--cache` reuses
the ones it built), for each table an ingest appends to: open the file as a run's block does
(`warehouse.db.open_connection`, one DuckDB thread), append 100 rows copied from the table
with new keys, close (DuckDB checkpoints the file when its last connection closes). Each phase
is the best of `--tries`; "nothing" opens and closes without writing. No target: it prints
the milliseconds and their ratio, for reading beside bench/growth.py's steps.

Run: `.venv/bin/python bench/growth_blocks.py [--sizes 100000 1000000] [--cache DIR]`
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from growth import warehouse_of
from harness import add_sizes, machine  # the repository ahead of bench/ on the path

from warehouse.db import open_connection

# 100 rows of each table with new keys ({k}: a suffix of the try), as a batch appends them.
APPENDS = {
    "nothing": None,
    "articles": "INSERT INTO articles SELECT * REPLACE (id || '{k}' AS id,"
    " canonical_url || '{k}' AS canonical_url) FROM articles LIMIT 100",
    "entries": "INSERT INTO entries SELECT * REPLACE (guid || '{k}' AS guid)"
    " FROM entries LIMIT 100",
    "stories": "INSERT INTO stories SELECT * REPLACE (id || '{k}' AS id) FROM stories LIMIT 100",
    "topic_matches": "INSERT INTO topic_matches SELECT * REPLACE (article_id || '{k}' AS"
    " article_id) FROM topic_matches LIMIT 100",
    "event_links": "INSERT INTO event_links SELECT * REPLACE (article_id || '{k}' AS"
    " article_id) FROM event_links LIMIT 100",
    "events": "INSERT INTO events SELECT * REPLACE (id || '{k}' AS id) FROM events LIMIT 100",
}


def block_ms(path: Path, append: str | None, tries: int) -> tuple[float, float, float]:
    """The best (open, append, close) of `tries` blocks, in ms."""
    best: tuple[float, float, float] | None = None
    for k in range(tries):
        t0 = time.perf_counter()
        con = open_connection(path, threads=1)
        t1 = time.perf_counter()
        if append:
            con.execute(append.format(k=f"-{time.time_ns()}-{k}"))
        t2 = time.perf_counter()
        con.close()
        t3 = time.perf_counter()
        phases = ((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000)
        if best is None or sum(phases) < sum(best):
            best = phases
    assert best is not None
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_sizes(parser, "--sizes", [100_000, 1_000_000], "stored articles")
    parser.add_argument("--cache", type=Path, help="bench/growth.py's cache of warehouses")
    parser.add_argument("--tries", type=int, default=4, help="blocks per table; the best counts")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    print(machine())
    results: dict[int, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="nw-blocks-") as tmp:
        for size in args.sizes:
            path, _ = warehouse_of(size, Path(tmp), args.cache, now)
            results[size] = {t: block_ms(path, sql, args.tries) for t, sql in APPENDS.items()}
            path.unlink()
    small, large = min(results), max(results)
    print(f"\none block, ms (best of {args.tries}): open / append 100 rows / close (checkpoint)")
    print(f"  {'table':<14} {small:>9,} articles      {large:>9,} articles      ratio of the sum")
    for table in APPENDS:
        a, b = results[small][table], results[large][table]
        cells = [" / ".join(f"{v:5.1f}" for v in r) for r in (a, b)]
        print(f"  {table:<14} {cells[0]:>22}  {cells[1]:>22}  {sum(b) / sum(a):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
