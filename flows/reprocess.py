"""The `reprocess` flow: re-extract stored articles from the raw archive, with no network
(`newswatch.runs.reprocess`, what `newswatch reprocess` runs without Prefect), the pages
extracted by the ingest's `extract-pages` task."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import flow, get_run_logger

from extractors.records import ProcessedPage
from flows.ingest import extract_pages
from newswatch import runs
from newswatch.settings import Settings, load_settings
from pipeline.extract import PageJob


@flow(name="reprocess")
def reprocess(
    since: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Re-extract and re-tag the articles fetched since `since` (ISO date; default: all)."""
    settings = load_settings(base=settings, watchlist=watchlist, db=db)

    def extract(jobs: Sequence[PageJob]) -> list[ProcessedPage]:
        return extract_pages(jobs, settings.watchlist, settings.workers, settings.extract_timeout)

    return runs.reprocess(settings, get_run_logger(), since=since, extract=extract)
