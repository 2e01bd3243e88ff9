"""Benchmark: does an ingest run cost more per article as the warehouse grows? And the digest.

What it measures, on synthetic warehouses of 100,000 and 1,000,000 stored articles (default;
`--sizes`), built in seconds by DuckDB SQL over `range()`, not by Python loops:

- the time per article of ingesting 1,000 new articles (25 new feeds of 40 entries), through
  the ingest flow's own functions in the flow's order, minus the network, the page
  extraction and Prefect: `sync_sources`, `due_sources` and `feed_states`, `store_polls`
  (entries, feed states, schedules), `pending_entries`, `build_index` (the near-duplicate
  index of the dedup window, rebuilt from DuckDB at the start of every run), then per block
  of `pipeline.ingest.PAGE_BATCH` x `STORE_BATCHES` (200) pages, as ingest stores them:
  tagging and fingerprinting (`process_post`, the same `_processed` step the workers run
  after extraction), `record_page_fetches`,
  `article_ids` (the batch's stored articles found by URL, new ones' ids made),
  `near_duplicates`, `store_pages` and event linking (`read_link_work`, `compute_links`,
  `store_computed_links`, given the embeddings the workers make, computed outside the timer
  as extraction is); then `waiting_entries`. Every stored article of the synthetic history
  has its event, event link and `events` row, as after the runs that stored it. The
  warehouse is written in the same blocks as the flow writes it (`Run.writing`: for the
  dedup index, the sources, the polls, twice a batch (its pages, then their events), at the
  end) through the run's `warehouse.holding.HeldWriter`, which opens and closes the file
  around each block as ingest does by default, or with `--hold` (`NEWSWATCH_HOLD_WAREHOUSE`)
  opens it once and closes it at the end; entering and leaving the blocks (the opening, its
  migrations check, each closing's checkpoint) are timed apart. Each step is printed, so
  what grows shows. Extraction costs the same whatever the warehouse holds
  (bench/pipeline.py measures it), and so does the network.
- the digest of one day: `digest.build.read_day` (the warehouse's queries) and
  `build_digest`, for the last full day (2,000 articles, a quarter of them tagged).

The synthetic warehouse grows the way a real one does: the same rate (2,000 articles a day
from 500 sources) over a longer history (50 days for 100k, 500 days for 1M), so the dedup
window (14 days, ~28,000 articles, with stored MinHash signatures) and a day's digest hold
the same number of articles at both sizes; only the history behind them differs. Rows are
inserted in time order, as runs append them. Every article has its entry and page fetch, 5%
are copies of the one before (same story), a quarter match a topic. Texts are 40 words drawn
from 20,000. The 1,000 new articles are real: the corpus pages' extracted texts, each copy
with every third word replaced (seeded), so none is a copy of another. Each size runs one
ingest first that does not count (the warehouse as ingests leave it, not as the bulk build
did), then `--repeat` more, the sizes taking turns (a slow spell of this shared machine
then falls on both), the fastest of each size counting; a cached warehouse is copied and
written to disk before any of them.

Not measured: the full-text search index (warehouse/search.py), which is not part of ingest
(the search-index flow rebuilds it after each run); building it over 1M articles takes
minutes.

Run: `.venv/bin/python bench/growth.py [--sizes 100000 1000000] [--repeat 2] [--cache DIR]
[--hold]`
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from harness import add_sizes, at_most, corpus_missing, final_table, machine

REPO = Path(__file__).resolve().parents[1]  # ahead of bench/ on the path since harness's import
CORPUS = REPO.parent / "shared" / "corpus" / "pages"
WATCHLIST = REPO / "seeds" / "watchlist.yaml"
RATE = 2_000  # articles a day
SOURCES = 500
NEW_FEEDS, PER_FEED = 25, 40
WINDOW_DAYS = 14
SEED = 20260105
# Of the synthetic warehouse: a cached one of another version is not reused (7: 64 KB blocks).
BUILD_VERSION = 7
GROWTH_LIMIT = 1.2  # issue 19 (issue 9 asked 1.5)
DIGEST_LIMIT_S = 5.0
FIXED = "build_index (dedup window)"  # costs the same at every size: it reads the window
OPEN = "open, close the warehouse (checkpoint)"  # around each block, or once held (--hold)
LINK = "link events (embedding included)"
FIXED_NOTE = "total without build_index"


# --- the synthetic warehouse -------------------------------------------------------------------

_BUILD = """
CREATE TEMP TABLE gen AS
SELECT i,
       'src-' || lpad(CAST(i % {sources} AS VARCHAR), 3, '0') AS source,
       'https://outlet' || (i % {sources}) || '.example/news/' || i AS url,
       substr(md5(url), 1, 16) AS id,
       CASE WHEN i % 20 = 19 THEN substr(md5('https://outlet' || ((i - 1) % {sources})
                                              || '.example/news/' || (i - 1)), 1, 16) END
           AS duplicate_of,
       coalesce(duplicate_of, id) AS story_id,
       TIMESTAMPTZ '{now}' - to_microseconds(CAST(({n} - i) * 86400000000.0 / {rate} AS BIGINT))
           AS published,
       array_to_string(
           list_transform(range(40), k -> 'w' || CAST(hash(i * 40 + k) % 20000 AS VARCHAR)), ' '
       ) AS text,
       'Article ' || i || ' ' || split_part(text, ' ', 1) || ' ' || split_part(text, ' ', 2)
           AS title,
       ['en', 'ru', 'uk', 'es', 'zh', 'fa'][1 + i % 6] AS language
FROM range({n}) t(i);

INSERT INTO sources BY NAME
SELECT 'src-' || lpad(CAST(s AS VARCHAR), 3, '0') AS name, 'rss' AS kind,
       'https://outlet' || s || '.example/feed.xml' AS url, 'Outlet ' || s AS outlet,
       ['en', 'ru', 'uk', 'es', 'zh', 'fa'][1 + s % 6] AS language, 'US' AS country,
       TRUE AS in_config, TIMESTAMPTZ '{start}' AS added_at, TIMESTAMPTZ '{start}' AS updated_at
FROM range({sources}) t(s);
INSERT INTO feed_state (source) SELECT name FROM sources;

INSERT INTO stories BY NAME
SELECT id, title, id AS first_article_id, published AS created_at FROM gen
WHERE duplicate_of IS NULL ORDER BY i;

INSERT INTO articles BY NAME
SELECT id, url AS canonical_url, url, source, 'Outlet ' || (i % {sources}) AS outlet, title,
       [] AS authors, published, language, '' AS site_name, '' AS description, text,
       sha256(text) AS content_hash, story_id, duplicate_of, 'synthetic/1' AS extractor_version,
       published AS fetched_at, 'synthetic' AS watchlist_version
FROM gen ORDER BY i;

INSERT INTO entries BY NAME
SELECT source, url AS guid, url, url AS canonical_url, title, '' AS summary, published,
       published AS first_seen_at,
       CASE WHEN duplicate_of IS NULL THEN 'stored' ELSE 'duplicate' END AS status,
       id AS article_id, 1 AS attempts
FROM gen ORDER BY i;

INSERT INTO fetches BY NAME
SELECT 'synthetic' AS run_id, source, 'page' AS purpose, url, url AS final_url, 200 AS status,
       50000 AS bytes, 10.0 AS elapsed_ms, 'text/html' AS content_type, published AS fetched_at
FROM gen ORDER BY i;

INSERT INTO topic_matches BY NAME
SELECT id AS article_id, ['venezuela', 'ukraine', 'taiwan', 'iran'][1 + (i // 4) % 4] AS topic,
       CASE WHEN i % 8 = 0 THEN 'about' ELSE 'mention' END AS relevance,
       CASE WHEN i % 8 = 0 THEN 0.8 ELSE 0.3 END AS score,
       '[{{"field": "text", "start": 0, "end": 2, "matched": "w1", "alias": "w1", '
       || '"snippet": "' || split_part(text, ' ', 3) || '"}}]' AS evidence,
       'synthetic' AS watchlist_version, published AS tagged_at
FROM gen WHERE i % 4 = 0 ORDER BY i;
DROP TABLE gen;
"""


def build_warehouse(path: Path, n: int, now: datetime) -> float:
    """A warehouse of `n` articles ending at `now`; returns the seconds it took."""
    from extractors.fingerprints import signature
    from warehouse.db import connect

    started = time.perf_counter()
    start = now - timedelta(days=n / RATE + 1)
    with connect(path) as con:
        # Building a million rows in one statement needs more than ingest's buffer pool.
        con.execute("SET memory_limit = '4GB'")
        con.execute(_BUILD.format(n=n, sources=SOURCES, rate=RATE, now=now, start=start))
        # The dedup window's articles carry their MinHash signature, as stored ones do.
        recent = con.execute(
            "SELECT id, text FROM articles WHERE published >= ?", [now - timedelta(WINDOW_DAYS)]
        ).fetchall()
        signatures = pa.table(
            {"id": [r[0] for r in recent], "sig": [signature(r[1]) for r in recent]}
        )
        con.register("_sigs", signatures)
        con.execute(
            "UPDATE articles SET near_dup_signature = s.sig FROM _sigs s WHERE articles.id = s.id"
        )
        con.unregister("_sigs")
        # Every stored article has its event, as after the ingests that stored them (an event
        # of its own: `events.event_id` of its id); only the new ones are linked by the run.
        con.execute("UPDATE articles SET event_id = 'ev-' || substr(sha256(id), 1, 16)")
        # ... with its link and its `events` row, as `store_links` writes them (linked without
        # an embedding: no vector, so no new article links to them)
        con.execute(
            "INSERT INTO event_links SELECT id, event_id, 'new', NULL, 'none', []::FLOAT[],"
            " []::VARCHAR[], []::VARCHAR[], fetched_at FROM articles"
        )
        con.execute(
            "INSERT INTO events SELECT event_id, coalesce(published, fetched_at),"
            " coalesce(published, fetched_at), title, language, []::VARCHAR[], 1, 1, 1,"
            " fetched_at FROM articles"
        )
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


# --- the 1,000 new articles --------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def corpus_texts() -> list[tuple[str, str, str | None]]:
    """(title, text, language) of the corpus pages newswatch extracts text from."""
    from extractors.articles import extract_article
    from newswatch.errors import ExtractionError

    texts = []
    for rec in json.loads((CORPUS / "index.json").read_text(encoding="utf-8")):
        html = gzip.decompress((CORPUS / rec["file"]).read_bytes())
        try:
            article = extract_article(html, rec.get("url") or "https://corpus.example/")
        except ExtractionError:
            continue
        texts.append((article.title, article.text, article.language))
    return texts


def variant(text: str, number: int) -> str:
    """`text` with every third word replaced by a word of its own, drawn with a seed."""
    words = _WORD.findall(text)
    if not words:
        return f"{text} {number}"
    rng = random.Random(SEED + number)
    position = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal position
        position += 1
        return rng.choice(words) if position % 3 == 1 else match.group()

    return _WORD.sub(swap, text)


@dataclass(frozen=True, slots=True)
class NewArticle:
    source: str
    url: str
    title: str
    text: str
    language: str | None


def new_articles(texts: Sequence[tuple[str, str, str | None]], run: int) -> list[NewArticle]:
    out = []
    for k in range(NEW_FEEDS * PER_FEED):
        title, text, language = texts[k % len(texts)]
        number = run * 100_000 + k
        source = f"bench-{k // PER_FEED:02d}"
        url = f"https://bench{k // PER_FEED}.example/run{run}/a/{k}"
        out.append(NewArticle(source, url, f"{title} ({number})", variant(text, number), language))
    return out


# --- one ingest, step by step ------------------------------------------------------------------


@dataclass(slots=True)
class Timings:
    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started

    @property
    def total(self) -> float:
        return sum(self.steps.values())


def ingest(
    path: Path, articles: Sequence[NewArticle], now: datetime, hold: bool = False
) -> Timings:
    """The ingest flow's warehouse, dedup and tagging steps for `articles`, timed, in the
    same blocks as the flow writes the warehouse (pipeline/ingest.py: `Run.writing`),
    entering and leaving them timed as "open, close the warehouse"; the file held open
    between blocks with `hold` (`NEWSWATCH_HOLD_WAREHOUSE`)."""
    from events import Precomputed
    from extractors.records import EntryKey, FeedEntry, FetchResult, ParsedFeed, Source
    from extractors.topics import load_watchlist
    from newswatch.options import poll_options
    from newswatch.settings import Settings
    from pipeline.events import (
        compute_links,
        default_embedder,
        read_link_work,
        store_computed_links,
    )
    from pipeline.extract import (
        Post,
        needs_embedding,
        process_post,
        with_embedding,
        worker_embeddings,
    )
    from pipeline.ingest import PAGE_BATCH, STORE_BATCHES, WAREHOUSE_THREADS
    from pipeline.poll import Poll, store_polls
    from pipeline.stories import build_index, near_duplicates
    from warehouse import load, queries
    from warehouse.holding import HeldWriter

    t = Timings()

    # The run's writer (pipeline.ingest.open_run): the file opened and closed around each
    # block, or with `hold` held across them (nobody asks for it here) and closed at the
    # run's end. Entering and leaving each block is timed, the final close too.
    writer = HeldWriter(path, threads=WAREHOUSE_THREADS, hold=hold)

    @contextmanager
    def opened() -> Iterator[Any]:
        block = writer.block()
        with t.step(OPEN):
            con = block.__enter__()
        try:
            yield con
        finally:
            with t.step(OPEN):
                block.__exit__(None, None, None)

    settings = Settings(db=path, watchlist=WATCHLIST)
    watchlist = load_watchlist(WATCHLIST)
    embedder = default_embedder()
    run_id = f"growth-{now:%H%M%S%f}"
    feeds = sorted({a.source for a in articles})
    sources = [
        *(
            Source(f"src-{s:03d}", "rss", f"https://outlet{s}.example/feed.xml", "en", "US", "o")
            for s in range(SOURCES)
        ),
        *(Source(f, "rss", f"https://{f}.example/feed.xml", "en", "US", f) for f in feeds),
    ]
    with opened() as con, t.step(FIXED):  # open_run
        index = build_index(con, now, timedelta(days=WINDOW_DAYS))
    with opened() as con:  # due_work
        with t.step("sync_sources"):
            load.sync_sources(con, sources, now)
        with t.step("due_sources, feed_states"):
            due = queries.due_sources(con, None)
            states = queries.feed_states(con)
    polls = []
    for source in (s for s in sources if s.name in feeds and s.name in due):
        entries = tuple(
            FeedEntry(a.url, a.url, a.title, published=now - timedelta(minutes=k))
            for k, a in enumerate(x for x in articles if x.source == source.name)
        )
        fetch = FetchResult(source.url, source.url, 200, b"<rss/>", fetched_at=now)
        polls.append(Poll(source, fetch, ParsedFeed("rss", source.name, entries), "hash"))
    with opened() as con:  # record_polls, pending_work
        with t.step("store_polls (entries, feed states, schedules)"):
            store_polls(con, poll_options(settings).policy, run_id, polls, states, None, now)
        with t.step("pending_entries"):
            pending = queries.pending_entries(con, per_source=settings.max_entries_per_source)
    by_url = {a.url: a for a in articles}
    block = PAGE_BATCH * STORE_BATCHES  # the pages ingest stores in one block
    for first in range(0, len(pending), block):
        batch = pending[first : first + block]
        with t.step("tag + fingerprint (as in the workers)"):
            pages = [
                process_post(
                    Post(
                        EntryKey(p.source, p.entry.guid),
                        p.outlet,
                        p.entry.url,
                        p.entry.title,
                        by_url[p.entry.url].text,
                        p.entry.published,
                        language=by_url[p.entry.url].language,
                    ),
                    now,
                    watchlist,
                )
                for p in batch
            ]
        fetches = [
            (p.source, FetchResult(p.entry.url, p.entry.url, 200, b"x", fetched_at=now), None)
            for p in batch
        ]
        # the workers' embeddings (pipeline.extract.process_and_embed): not timed, as extraction
        pages = [with_embedding(p, embedder) if needs_embedding(p) else p for p in pages]
        with opened() as con:  # load_pages, as pipeline/ingest.py runs it
            with t.step("record_page_fetches"):
                load.record_page_fetches(con, run_id, fetches)
            with t.step("article_ids (by URL)"):
                ids = load.article_ids(con, pages, now)
            with t.step("near_duplicates"):
                near = near_duplicates(con, index, pages, now, ids)
            with t.step("store_pages"):
                counts = load.store_pages(con, pages, watchlist.version, now, near, ids)
            assert counts["stored"] + counts["duplicates"] == len(batch), counts
        with opened() as con, t.step(LINK):  # link_pages: a block of its own
            linking = Precomputed(embedder, worker_embeddings(pages))
            ours = ids.of_pages(pages) if first else None  # as load_pages reads them
            work = read_link_work(con, linking, among=ours)
            assert linking.has_all(work.texts_to_embed()), "the workers embedded them all"
            store_computed_links(con, *compute_links(work, linking))
    with opened() as con, t.step("waiting_entries"):  # finish
        queries.waiting_entries(con)
    with t.step(OPEN):
        writer.close()
    stored = len(pending)
    assert stored == len(articles), f"{stored} pending of {len(articles)} new"
    return t


def digest_day(path: Path, day: date) -> tuple[float, dict[str, Any]]:
    """Seconds to read and build the digest of `day`, and what it held."""
    from digest.build import build_digest, read_day
    from extractors.topics import load_watchlist
    from warehouse.db import connect

    watchlist = load_watchlist(WATCHLIST)
    with connect(path, read_only=True) as con:
        started = time.perf_counter()
        digest = build_digest(day, watchlist, read_day(con, day))
        seconds = time.perf_counter() - started
    return seconds, {"articles": digest.articles, "outlets": digest.outlets}


# --- the run -----------------------------------------------------------------------------------


@dataclass(slots=True)
class SizeResult:
    size: int
    build_s: float
    file_mb: float
    runs: list[Timings]
    digest_s: float
    digest_info: dict[str, Any]

    @property
    def best(self) -> Timings:
        return min(self.runs, key=lambda t: t.total)


def warehouse_of(size: int, tmp: Path, cache: Path | None, now: datetime) -> tuple[Path, float]:
    """A synthetic warehouse of `size` articles in `tmp` (a copy of the cached one, if any),
    and the seconds its build took."""
    path = tmp / f"growth-{size}.duckdb"
    cached = cache / f"growth-{size}-{now:%Y%m%d}-v{BUILD_VERSION}.duckdb" if cache else None
    if cached and cached.exists():
        shutil.copyfile(cached, path)
        # On disk before the ingests start: else the first checkpoint's fsync writes out the
        # whole copy (a gigabyte at 1M), which a warehouse that grew by ingests never does.
        with path.open("rb+") as copied:
            os.fsync(copied.fileno())
        return path, float(cached.with_suffix(".seconds").read_text())
    build_s = build_warehouse(path, size, now)
    if cached:
        shutil.copyfile(path, cached)
        cached.with_suffix(".seconds").write_text(f"{build_s}")
    return path, build_s


def measure(
    sizes: Sequence[int],
    tmp: Path,
    cache: Path | None,
    texts: Sequence[tuple[str, str, str | None]],
    repeat: int,
    now: datetime,
    hold: bool = False,
) -> list[SizeResult]:
    """Each size's warehouse, one ingest on it that does not count, then the counted ingests,
    the sizes taking turns (100k, 1M, 100k, 1M, ...), then each size's digest.

    Why turns: this machine is shared, and its speed drifts within a run. Tagging, which
    costs the same at every size (CPU only), took 1.36 ms an article at 100k and 2.04 at 1M
    in one run of session 23, when all of one size's ingests ran before the other's: a slow
    spell fell on one size. Taking turns, a spell falls on both; the fastest ingest of each
    size counts, as before."""
    paths = []
    for size in sizes:
        path, build_s = warehouse_of(size, tmp, cache, now)
        file_mb = path.stat().st_size / 2**20
        print(f"  {size:>9,} articles: built in {build_s:.1f} s, {file_mb:,.0f} MB")
        # One ingest first, not counted: the warehouse as ingests leave it, not as the bulk
        # build did (one checkpoint of tightly packed tables; the first ingest on it was up
        # to 20% faster than the next ones at 1M).
        warm = ingest(path, new_articles(texts, 0), now, hold)
        print(f"    ingest 0 (not counted): {warm.total:.2f} s for {NEW_FEEDS * PER_FEED} articles")
        paths.append((path, build_s, file_mb))
    runs: dict[int, list[Timings]] = {size: [] for size in sizes}
    for run in range(1, repeat + 1):
        later = now + timedelta(seconds=run)
        for size, (path, _, _) in zip(sizes, paths, strict=True):
            runs[size].append(ingest(path, new_articles(texts, run), later, hold))
            print(
                f"  {size:>9,} articles, ingest {run}: {runs[size][-1].total:.2f} s"
                f" for {NEW_FEEDS * PER_FEED} articles"
            )
    day = (now - timedelta(days=1)).date()
    results = []
    for size, (path, build_s, file_mb) in zip(sizes, paths, strict=True):
        digests = [digest_day(path, day) for _ in range(2)]
        digest_s = min(s for s, _ in digests)
        results.append(SizeResult(size, build_s, file_mb, runs[size], digest_s, digests[0][1]))
    return results


def _value(t: Timings, name: str) -> float:
    """A step's seconds; the total; or the total without the dedup window's rebuild, which
    costs the same at every size (it holds the window, not the warehouse)."""
    if name == "total":
        return t.total
    if name == FIXED_NOTE:
        return t.total - t.steps.get(FIXED, 0.0)
    return t.steps.get(name, 0.0)


def report(results: Sequence[SizeResult]) -> bool:
    new = NEW_FEEDS * PER_FEED
    names = list(results[0].best.steps)
    head = ["step (ms per article)", *(f"{r.size:,}" for r in results)]
    if len(results) > 1:
        head.append("ratio")
    rows = [head]
    for name in [*names, "total", FIXED_NOTE]:
        values = [_value(r.best, name) * 1000 / new for r in results]
        row = [name, *(f"{v:.3f}" for v in values)]
        if len(results) > 1:
            row.append(f"{values[-1] / values[0]:.2f}" if values[0] else "-")
        rows.append(row)
    digest = ["digest of one day (s)", *(f"{r.digest_s:.3f}" for r in results)]
    if len(results) > 1:
        digest.append(f"{results[-1].digest_s / results[0].digest_s:.2f}")
    rows.append(digest)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    print()
    for row in rows:
        if row[0] in ("total", "digest of one day (s)"):
            print("  ".join("-" * w for w in widths))
        print(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for r in results:
        print(f"digest at {r.size:,}: {r.digest_info}")
    first, last = results[0], results[-1]
    growth = last.best.total / first.best.total if len(results) > 1 else None
    without = _value(last.best, FIXED_NOTE) / _value(first.best, FIXED_NOTE) if growth else None
    return final_table(
        "bench/growth.py",
        [
            at_most(
                f"per-article ingest time, {last.size:,} / {first.size:,}", growth, GROWTH_LIMIT
            ),
            at_most(
                f"digest of one day over {last.size:,} articles, s", last.digest_s, DIGEST_LIMIT_S
            ),
        ],
        [
            f"baseline: the same 1,000-article ingest at {first.size:,} stored articles, "
            f"{first.best.total * 1000 / (NEW_FEEDS * PER_FEED):.3f} ms an article"
            + (
                f"; without the dedup window's rebuild (fixed per run) {without:.2f}x"
                if without
                else ""
            )
            + ("" if growth else "; one size only: the growth ratio needs two (--sizes)")
        ],
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_sizes(parser, "--sizes", [100_000, 1_000_000], "stored articles")
    parser.add_argument("--repeat", type=int, default=2, help="ingests per size; the best counts")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="hold the file open between blocks (NEWSWATCH_HOLD_WAREHOUSE; default: as ingest)",
    )
    parser.add_argument("--cache", type=Path, help="keep built warehouses here and reuse them")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if corpus_missing(CORPUS / "index.json"):
        return 0
    # A fixed "now" at a day boundary plus a bit, so both sizes digest the same kind of day.
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    print(machine())
    texts = corpus_texts()
    print(f"{len(texts)} corpus texts; {NEW_FEEDS * PER_FEED} new articles per ingest")
    held = "held open between blocks (--hold)" if args.hold else "closed after each block"
    print(f"the warehouse file {held}")
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nw-growth-") as tmp:
        results = measure(args.sizes, Path(tmp), args.cache, texts, args.repeat, now, args.hold)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
