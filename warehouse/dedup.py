"""What the near-duplicate index (`extractors.near_dups`) reads of the stored articles: the
window's signatures to rebuild it from at start, and the texts of candidates whose shingle sets
it no longer holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from warehouse.batches import keys


def dedup_window(
    con: duckdb.DuckDBPyConnection, since: datetime
) -> list[tuple[str, datetime, bytes | None]]:
    """(id, published, signature) of the articles published since `since`, oldest first. The
    bound on `fetched_at` (an article is fetched after it is published, give or take a time
    zone) lets DuckDB skip the row groups of older fetches, which are appended in fetch order,
    so the query reads the window and not the whole table. No text is read: the index is
    rebuilt from signatures (bench/growth.py: reading the window's 29,000 texts was what the
    rebuild cost at 1M articles)."""
    rows = con.execute(
        """
        SELECT id, coalesce(published, fetched_at) AS seen, near_dup_signature
        FROM articles
        WHERE coalesce(published, fetched_at) >= ? AND fetched_at >= ? - INTERVAL 1 DAY
        ORDER BY seen, id
        """,
        [since, since],
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def article_texts(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, str]:
    """id -> text of the stored articles among `ids` (those with a text)."""
    if not ids:
        return {}
    with keys(con, list(ids)) as chosen:
        rows = con.execute(
            f"SELECT id, text FROM articles WHERE id IN {chosen} AND text IS NOT NULL"
        ).fetchall()
    return dict(rows)
