"""The `search-index` flow: `pipeline.search_index` as a Prefect flow, run by the
`search-index` deployment five minutes after each scheduled ingest (prefect.yaml)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from newswatch.settings import Settings, load_settings
from pipeline.search_index import refresh_index


@flow(name="search-index")
def search_index(
    db: str | None = None, lock_wait: float = 0.0, settings: Settings | None = None
) -> dict[str, int]:
    """Index the articles added or changed since the last build; returns the articles each
    rebuilt tier covers (nothing when the index was current). Waits up to `lock_wait`
    seconds for a running ingest to release the database."""
    settings = load_settings(base=settings, db=db)
    log = get_run_logger()
    log.info("search-index %s", settings.describe())
    builds = refresh_index(settings.warehouse_url, lock_wait)
    for b in builds:
        log.info(
            "search index built tier=%s articles=%d seconds=%.2f", b.tier, b.articles, b.seconds
        )
    return {b.tier: b.articles for b in builds}
