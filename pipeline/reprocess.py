"""Re-extracting stored articles from the raw archive, with no network (the `reprocess`
flow's work).

An improved extractor or watchlist should improve history too. Every page article is read
back from its WARC record and extracted, fingerprinted and tagged again with the current
code; its row is updated in place (same id, story and duplicate link), so no count changes.
Articles that never had a page (Telegram posts, feed items without links) are re-tagged from
their stored text. A page missing from the archive, or that no longer extracts, keeps its
row as it was and is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from extractors.errors import WarehouseError
from extractors.records import EntryKey, ProcessedPage
from extractors.topics import Watchlist
from pipeline.events import refresh_events_of
from pipeline.extract import PageJob, Post, process_post
from warehouse import load, queries, search
from warehouse.archive import Pointer, read_body

BATCH = 500
Extract = Callable[[Sequence[PageJob]], list[ProcessedPage]]
Log = logging.Logger | logging.LoggerAdapter[Any]


def reprocess_articles(
    con: duckdb.DuckDBPyConnection,
    archive_dir: Path,
    wl: Watchlist,
    since: datetime | None,
    extract: Extract,
    log: Log,
) -> dict[str, int]:
    """Re-extract (with `extract`, a batch of pages at a time) and re-tag the articles
    fetched since `since` (None: all), then bring the search index up to date. Returns
    counts: pages, posts, unchanged_missing, unchanged_failed."""
    counts = {"pages": 0, "posts": 0, "unchanged_missing": 0, "unchanged_failed": 0}
    stored = queries.stored_articles(con, since)
    for first in range(0, len(stored), BATCH):
        batch = stored[first : first + BATCH]
        rewritten = _reprocess_batch(archive_dir, wl, batch, counts, extract, log)
        load.rewrite_articles(con, rewritten, wl.version, datetime.now(UTC))
    refresh_events_of(con, [a.id for a in stored])  # same ids; titles, topics follow
    _reindex(con, log)
    return counts


def _reindex(con: duckdb.DuckDBPyConnection, log: Log) -> None:
    """Texts changed in place: the search index follows at once (a failure leaves it to the
    next `search-index` run; the rewritten articles are stored either way)."""
    try:
        search.ensure_index(con, datetime.now(UTC))
    except WarehouseError as exc:
        log.warning("search index not rebuilt error=%s", exc)


def _reprocess_batch(
    archive_dir: Path,
    wl: Watchlist,
    batch: list[queries.StoredArticle],
    counts: dict[str, int],
    extract: Extract,
    log: Log,
) -> list[tuple[str, ProcessedPage]]:
    jobs, ids, rewritten = [], [], []
    for article in batch:
        if article.archive_path is None or article.archive_offset is None:
            rewritten.append((article.id, _retag(article, wl)))
            counts["posts"] += 1
            continue
        try:
            body = read_body(archive_dir, Pointer(article.archive_path, article.archive_offset))
        except WarehouseError as exc:
            log.warning("archive missing article=%s error=%s", article.id, exc)
            counts["unchanged_missing"] += 1
            continue
        jobs.append(_job(article, body.body))
        ids.append(article.id)
    for aid, page in zip(ids, extract(jobs), strict=True):
        if page.article is None:
            counts["unchanged_failed"] += 1
            continue
        rewritten.append((aid, page))
        counts["pages"] += 1
    return rewritten


def _job(article: queries.StoredArticle, body: bytes) -> PageJob:
    return PageJob(
        entries=(),
        source=article.source,
        outlet=article.outlet,
        url=article.url,
        body=body,
        fetched_at=article.fetched_at,
        feed_published=article.feed_published,
        feed_title=article.title,
        country=article.country,
    )


def _retag(article: queries.StoredArticle, wl: Watchlist) -> ProcessedPage:
    post = Post(
        key=EntryKey(article.source, article.id),
        outlet=article.outlet,
        url=article.url,
        title=article.title,
        text=article.text,
        published=article.published,
        language=article.language,
        country=article.country,
    )
    # Its canonical URL is not rewritten: the stored identity stays.
    return process_post(post, article.fetched_at, wl)
