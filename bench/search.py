"""Benchmark: `newswatch search` finds an article by a phrase in its body, on 100,000 articles.

Builds a fresh warehouse (all migrations) holding `--articles` synthetic articles: 150-600
words each, Zipf-distributed over a 50,000-word vocabulary (so common words are in most
articles, as in real text), 200 outlets, six languages, a year of dates, a fifth of them
tagged with a topic. Rows go in through Arrow tables, 10,000 at a time. Then it builds the
full-text index with `warehouse.search.rebuild_index` (what `newswatch index`, the
search-index flow, does after ingest runs; ingest itself does not build it), adds 1,000
articles and times `ensure_index` (what each later search-index run does), and times:

- newswatch: `warehouse.search.search`, the function `newswatch search` calls, on a fresh
  read-only connection each time (open, load the extension, query, snippets), for a
  "quoted phrase" of 6 consecutive words from the middle of one article's body; then the
  same query with `--topic`/`--since`-style filters; then the real CLI in a subprocess once
  (Python start-up and imports included);
- baseline: the scan an analyst would write without the index,
  `SELECT ... WHERE text ILIKE '%<phrase>%'`, on the same database in the same run.

Each timing is the median of `--repeat` runs. The article must come first in both.

Run: `.venv/bin/python bench/search.py [--articles 100000] [--repeat 5]` (about a minute).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parents[1]
# harness.py from bench/; the repository first, so `events` is the package, not bench/events.py
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from harness import at_least, below, final_table, median_time  # noqa: E402

from warehouse.db import connect  # noqa: E402
from warehouse.search import SearchFilters, ensure_index, rebuild_index, search  # noqa: E402

SEED = 7
CHUNK = 10_000
NEW_ARTICLES = 1_000
MAIN = "fts_main_search_docs"
PHRASE_WORDS = 6
T0 = datetime(2025, 1, 1, tzinfo=UTC)
LANGUAGES = np.array(["en", "ru", "uk", "es", "zh", "fa"])
TOPICS = np.array(["venezuela", "ukraine", "taiwan", "iran"])


def vocabulary(n: int, rng: np.random.Generator) -> pa.Array:
    letters = np.array(list("etaoinshrdlucmfwypvbgkjqxz"))
    words: set[str] = set()
    while len(words) < n:
        words.update("".join(rng.choice(letters, size=k)) for k in rng.integers(2, 11, size=n))
    return pa.array(sorted(words)[:n])


def texts(
    vocab: pa.Array, cdf: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """`count` bodies (Zipf words joined by spaces), with their word ids and offsets."""
    lengths = rng.integers(150, 600, size=count)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.searchsorted(cdf, rng.random(int(offsets[-1])))
    words = pa.ListArray.from_arrays(pa.array(offsets), vocab.take(pa.array(ids)))
    return pc.binary_join(words, " "), ids, offsets


def words(rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    vocab = vocabulary(50_000, rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    return vocab, np.cumsum(weights / weights.sum())


def build(path: Path, total: int) -> tuple[int, str]:
    """Write `total` synthetic articles into a new warehouse; returns the number of the
    target article and a 6-word phrase from the middle of its body."""
    rng = np.random.default_rng(SEED)
    vocab, cdf = words(rng)
    target = total // 2 + 123
    phrase = ""
    with connect(path) as con:
        for start in range(0, total, CHUNK):
            n = min(CHUNK, total - start)
            body, ids, offsets = texts(vocab, cdf, n, rng)
            if start <= target < start + n:
                k = target - start
                middle = int(offsets[k] + (offsets[k + 1] - offsets[k]) // 2)
                phrase = " ".join(
                    vocab.take(pa.array(ids[middle : middle + PHRASE_WORDS])).to_pylist()
                )
            _load_chunk(con, start, n, body, rng)
    return target, phrase


def add_articles(path: Path, start: int, n: int) -> float:
    """Add `n` articles after the first `start`, as an ingest run would, and bring the
    index up to date; returns the seconds `ensure_index` took."""
    rng = np.random.default_rng(SEED + 1)
    vocab, cdf = words(rng)
    body, _, _ = texts(vocab, cdf, n, rng)
    with connect(path) as con:
        _load_chunk(con, start, n, body, rng)
        t = time.perf_counter()
        ensure_index(con, datetime.now(UTC))
        return time.perf_counter() - t


def _url(i: int) -> str:
    return f"https://example.org/a/{i}"


def _id(i: int) -> str:
    return hashlib.sha1(_url(i).encode()).hexdigest()[:16]


def _load_chunk(
    con: duckdb.DuckDBPyConnection, start: int, n: int, body: pa.Array, rng: np.random.Generator
) -> None:
    numbers = range(start, start + n)
    ids = pa.array([_id(i) for i in numbers])
    urls = pa.array([_url(i) for i in numbers])
    outlets = pa.array([f"Outlet {k}" for k in rng.integers(0, 200, size=n)])
    seconds = rng.integers(0, 365 * 86400, size=n)
    published = pa.array(
        [T0 + timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", "UTC")
    )
    articles = pa.table(
        {
            "id": ids,
            "canonical_url": urls,
            "url": urls,
            "source": outlets,
            "outlet": outlets,
            "title": pa.array([f"Synthetic article {i}" for i in numbers]),
            "published": published,
            "language": pa.array(LANGUAGES[rng.integers(0, len(LANGUAGES), size=n)]),
            "text": body,
            "content_hash": ids,
            "story_id": ids,
            "extractor_version": pa.array(["bench"] * n),
            "fetched_at": published,
        }
    )
    tagged = rng.random(n) < 0.2
    matches = pa.table(
        {
            "article_id": ids.filter(pa.array(tagged)),
            "topic": pa.array(TOPICS[rng.integers(0, len(TOPICS), size=int(tagged.sum()))]),
        }
    )
    con.register("_articles", articles)
    con.register("_matches", matches)
    columns = ", ".join(articles.column_names)
    con.execute(f"INSERT INTO articles ({columns}) SELECT {columns} FROM _articles")
    con.execute("INSERT INTO stories SELECT id, title, id, fetched_at FROM _articles")
    con.execute(
        "INSERT INTO topic_matches SELECT article_id, topic, 'about', 0.8, '[]', 'bench', now() "
        "FROM _matches"
    )
    con.unregister("_articles")
    con.unregister("_matches")


def newswatch_search(path: Path, query: str, filters: SearchFilters) -> list[str]:
    with connect(path, read_only=True) as con:
        return [h.article_id for h in search(con, query, filters).hits]


def baseline_scan(path: Path, phrase: str) -> list[str]:
    with connect(path, read_only=True) as con:
        rows = con.execute(
            "SELECT id FROM articles WHERE text ILIKE ? ORDER BY published DESC LIMIT 20",
            [f"%{phrase}%"],
        ).fetchall()
    return [r[0] for r in rows]


def cli_search(path: Path, query: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "newswatch", "search", query, "--db", str(path), "--limit", "5"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        t = time.perf_counter()
        number, phrase = build(path, args.articles)
        target, url = _id(number), _url(number)
        built = time.perf_counter() - t
        size = path.stat().st_size / 2**20
        with connect(path) as con:
            full = sum(b.seconds for b in rebuild_index(con, datetime.now(UTC)))
            n_words = con.execute(f"SELECT sum(len) FROM {MAIN}.docs").fetchone()[0]  # type: ignore[index]
        index_size = path.stat().st_size / 2**20
        print(
            f"{args.articles:,} synthetic articles ({n_words:,} words) written in {built:.1f} s "
            f"({size:.0f} MB); full-text index built in {full:.1f} s "
            f"(database {index_size:.0f} MB with it)"
        )
        recent = add_articles(path, args.articles, NEW_ARTICLES)
        print(
            f"then {NEW_ARTICLES:,} new articles: ensure_index (what each search-index run does) "
            f"rebuilt the recent index in {recent:.2f} s"
        )
        query = f'"{phrase}"'
        print(f"query: {query} (from the body of article {target})\n")
        filters = SearchFilters(limit=20)
        narrow = SearchFilters(since=date(2025, 1, 1), language=None, outlet="Outlet", limit=20)
        rows = []
        for name, fn in (
            ("newswatch search", lambda: newswatch_search(path, query, filters)),
            ("  with --since --outlet", lambda: newswatch_search(path, query, narrow)),
            ("baseline ILIKE scan", lambda: baseline_scan(path, phrase)),
        ):
            seconds, found = median_time(fn, args.repeat)
            ids = list(found)  # type: ignore[call-overload]
            rows.append((name, seconds, len(ids), bool(ids) and ids[0] == target))
        t = time.perf_counter()
        out = cli_search(path, query)
        cli = time.perf_counter() - t
        print(f"{'':<26}{'median s':>10}{'hits':>6}  found first")
        for name, seconds, hits, first in rows:
            print(f"{name:<26}{seconds:>10.3f}{hits:>6}  {'yes' if first else 'NO'}")
        cli_first = url in out.split()[:12]
        print(f"{'CLI process, once':<26}{cli:>10.3f}{'':>6}  {'yes' if cli_first else 'NO'}")
        found_first = sum(r[3] for r in rows) + cli_first
        ok = final_table(
            f"bench/search.py, {args.articles:,} articles",
            [
                below("newswatch search, median s", rows[0][1], 1.0, "{:.3f}"),
                at_least("runs that found the article first", found_first, 4, "{:.0f}"),
            ],
            [
                f"baseline: ILIKE scan, median {rows[2][1]:.3f} s; "
                f"baseline / newswatch {rows[2][1] / rows[0][1]:.1f}x"
            ],
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
