"""The `reprocess` flow: re-extract stored articles from the raw archive, with no network.

An improved extractor or watchlist should improve history too. Every page article is read
back from its WARC record and extracted, fingerprinted and tagged again with the current
code; its row is updated in place (same id, story and duplicate link), so no count changes.
Articles that never had a page (Telegram posts, feed items without links) are re-tagged from
their stored text. A page missing from the archive, or that no longer extracts, keeps its
row as it was and is counted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
from prefect import flow, get_run_logger

from extractors.records import EntryKey, ProcessedPage
from extractors.topics import Watchlist, load_watchlist
from flows.extract import PageJob, process_post
from flows.ingest import extract_pages
from newswatch.errors import WarehouseError
from newswatch.settings import Settings, load_settings
from warehouse import load, queries, search
from warehouse.archive import Pointer, read_body
from warehouse.db import connect

BATCH = 500


@flow(name="reprocess")
def reprocess(
    since: str | None = None, watchlist: str | None = None, db: str | None = None
) -> dict[str, int]:
    """Re-extract and re-tag the articles fetched since `since` (ISO date; default: all)."""
    settings = load_settings(watchlist=watchlist, db=db)
    wl = load_watchlist(settings.watchlist)
    start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None
    counts = {"pages": 0, "posts": 0, "unchanged_missing": 0, "unchanged_failed": 0}
    with connect(settings.warehouse_url) as con:
        stored = queries.stored_articles(con, start)
        for first in range(0, len(stored), BATCH):
            batch = stored[first : first + BATCH]
            rewritten = _reprocess_batch(settings, wl, batch, counts)
            load.rewrite_articles(con, rewritten, wl.version, datetime.now(UTC))
        _reindex(con)
    get_run_logger().info("reprocess done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def _reindex(con: duckdb.DuckDBPyConnection) -> None:
    """Texts changed in place: the search index follows at once (a failure leaves it to the
    next `search-index` run; the rewritten articles are stored either way)."""
    try:
        search.ensure_index(con, datetime.now(UTC))
    except WarehouseError as exc:
        get_run_logger().warning("search index not rebuilt error=%s", exc)


def _reprocess_batch(
    settings: Settings,
    wl: Watchlist,
    batch: list[queries.StoredArticle],
    counts: dict[str, int],
) -> list[tuple[str, ProcessedPage]]:
    jobs, ids, rewritten = [], [], []
    for article in batch:
        if article.archive_path is None or article.archive_offset is None:
            rewritten.append((article.id, _retag(article, wl)))
            counts["posts"] += 1
            continue
        try:
            body = read_body(
                settings.archive_dir, Pointer(article.archive_path, article.archive_offset)
            )
        except WarehouseError as exc:
            get_run_logger().warning("archive missing article=%s error=%s", article.id, exc)
            counts["unchanged_missing"] += 1
            continue
        jobs.append(_job(article, body.body))
        ids.append(article.id)
    for aid, page in zip(ids, extract_pages(settings, jobs), strict=True):
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
    )


def _retag(article: queries.StoredArticle, wl: Watchlist) -> ProcessedPage:
    page = process_post(
        EntryKey(article.source, article.id),
        article.outlet,
        article.url,
        article.title,
        article.text,
        article.published,
        None,
        article.fetched_at,
        wl,
        language=article.language,
    )
    return page  # its canonical URL is not rewritten: the stored identity stays
