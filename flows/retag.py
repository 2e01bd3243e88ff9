"""The `retag` flow: tag stored articles again after the watchlist changed
(`pipeline.retag`, as a Prefect flow for deployments and their run history)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from newswatch.settings import Settings, load_settings
from pipeline.retag import retag_articles


@flow(name="retag")
def retag(
    all_articles: bool = False,
    watchlist: str | None = None,
    db: str | None = None,
    settings: Settings | None = None,
) -> dict[str, int | float | str]:
    """Re-tag the articles tagged with another watchlist version (all with `all_articles`)."""
    settings = load_settings(base=settings, watchlist=watchlist, db=db)
    get_run_logger().info("retag %s", settings.describe())
    return retag_articles(settings.warehouse_url, settings.watchlist, all_articles)
