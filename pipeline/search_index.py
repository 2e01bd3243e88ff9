"""Bringing the full-text index of `newswatch search` up to date (the `search-index` flow's
work, and `newswatch index`'s).

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
from pathlib import Path

from warehouse import search
from warehouse.db import connect


def refresh_index(warehouse: str | Path, lock_wait: float = 0.0) -> list[search.IndexBuild]:
    """Index the articles of `warehouse` added or changed since the last build, waiting up
    to `lock_wait` seconds for the database; returns the tiers rebuilt (none when the index
    was current). A failed build raises `WarehouseError` and keeps the old index."""
    with connect(warehouse, wait=lock_wait) as con:
        return search.ensure_index(con, datetime.now(UTC))
