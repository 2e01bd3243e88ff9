"""The `search-index` flow: bring the full-text index of `newswatch search` up to date.

The index is derived from the articles and is not part of landing them: DuckDB's fts index
is rebuilt, not updated, and a rebuild runs on one core (~1 ms an article), so inside an
ingest run it would hold the warehouse while the extraction pool idles. It runs as its own
step instead: the `search-index` deployment runs it five minutes after each scheduled
ingest (prefect.yaml), `newswatch index` by hand, `make demo` after its ingest. Until it has
run, `newswatch search` says how many articles it does not cover yet. What a build redoes
and what it costs: `warehouse/search.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger

from newswatch.settings import load_settings
from warehouse import search
from warehouse.db import connect


@flow(name="search-index")
def search_index(db: str | None = None, lock_wait: float = 0.0) -> dict[str, int]:
    """Index the articles added or changed since the last build; returns the articles each
    rebuilt tier covers (nothing when the index was current). Waits up to `lock_wait`
    seconds for a running ingest to release the database."""
    builds = refresh_index(db, lock_wait)
    for b in builds:
        get_run_logger().info(
            "search index built tier=%s articles=%d seconds=%.2f", b.tier, b.articles, b.seconds
        )
    return {b.tier: b.articles for b in builds}


def refresh_index(db: str | None = None, lock_wait: float = 0.0) -> list[search.IndexBuild]:
    """The flow's work, without Prefect: `newswatch index` calls it directly (a small build
    takes less time than starting Prefect's temporary server). A failed build raises
    `WarehouseError` and keeps the old index."""
    settings = load_settings(db=db)
    with connect(settings.warehouse_url, wait=lock_wait) as con:
        return search.ensure_index(con, datetime.now(UTC))
