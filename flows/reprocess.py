"""The `reprocess` flow: re-extract stored articles from the raw archive, with no network
(`pipeline.reprocess`), the pages extracted by the ingest's `extract-pages` task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prefect import flow, get_run_logger

from extractors.records import ProcessedPage
from extractors.topics import load_watchlist
from flows.ingest import extract_pages
from newswatch.settings import Settings, load_settings
from pipeline.extract import PageJob
from pipeline.reprocess import reprocess_articles
from warehouse.db import connect


@flow(name="reprocess")
def reprocess(
    since: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Re-extract and re-tag the articles fetched since `since` (ISO date; default: all)."""
    settings = load_settings(base=settings, watchlist=watchlist, db=db)
    log = get_run_logger()
    log.info("reprocess %s", settings.describe())
    wl = load_watchlist(settings.watchlist)
    start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None

    def extract(jobs: Sequence[PageJob]) -> list[ProcessedPage]:
        return extract_pages(jobs, settings.watchlist, settings.workers, settings.extract_timeout)

    with connect(settings.warehouse_url) as con:
        counts = reprocess_articles(con, settings.archive_dir, wl, start, extract, log)
    log.info("reprocess done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
