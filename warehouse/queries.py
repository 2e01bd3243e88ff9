"""Named queries that the flows and the CLI use. Values are always bound parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from extractors.records import FeedEntry
from warehouse.load import MAX_PAGE_ATTEMPTS


@dataclass(frozen=True, slots=True)
class FeedState:
    etag: str | None
    last_modified: str | None
    final_url: str | None


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry whose article is not stored yet (new, or failed and due for a retry)."""

    source: str
    outlet: str
    canonical_url: str | None
    entry: FeedEntry


def feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    rows = con.execute("SELECT source, etag, last_modified, final_url FROM feed_state").fetchall()
    return {r[0]: FeedState(r[1], r[2], r[3]) for r in rows}


def pending_entries(
    con: duckdb.DuckDBPyConnection, max_attempts: int = MAX_PAGE_ATTEMPTS
) -> list[PendingEntry]:
    rows = con.execute(
        """
        SELECT e.source, s.outlet, e.canonical_url, e.guid, e.url, e.title, e.summary,
               e.published, e.author, e.content, e.views
        FROM entries e JOIN sources s ON s.name = e.source
        WHERE e.status = 'pending' OR (e.status = 'failed' AND e.attempts < ?)
        ORDER BY e.first_seen_at, e.source, e.guid
        """,
        [max_attempts],
    ).fetchall()
    return [
        PendingEntry(
            source=r[0],
            outlet=r[1],
            canonical_url=r[2],
            entry=FeedEntry(
                guid=r[3],
                url=r[4] or "",
                title=r[5] or "",
                summary=r[6] or "",
                published=r[7],
                author=r[8] or "",
                content=r[9],
                views=r[10],
            ),
        )
        for r in rows
    ]


def source_health(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One row per configured source: its last poll and result, and what it has given us."""
    cur = con.execute(
        """
        SELECT s.name, s.kind, s.language, f.last_poll_at, f.last_result, f.last_status,
               f.last_error_kind, f.last_error, f.consecutive_failures, f.last_entries,
               (SELECT count(*) FROM entries e WHERE e.source = s.name) AS entries,
               (SELECT count(*) FROM articles a WHERE a.source = s.name) AS articles,
               f.disabled_reason
        FROM sources s LEFT JOIN feed_state f ON f.source = s.name
        WHERE s.in_config
        ORDER BY s.name
        """
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def article_days(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The days (UTC) on which stored articles were published, oldest first."""
    rows = con.execute(
        """
        SELECT DISTINCT CAST(coalesce(published, fetched_at) AS DATE) AS day
        FROM articles ORDER BY day
        """
    ).fetchall()
    return [r[0] for r in rows]


def day_articles(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    """The articles of one day with each topic they matched, for the digest.

    One row per article and topic; copies (`duplicate_of`) are folded into their story,
    which carries the count of outlets."""
    cur = con.execute(
        """
        SELECT m.topic, m.relevance, m.score, m.evidence,
               a.id, a.title, a.outlet, a.language, a.canonical_url,
               coalesce(a.published, a.fetched_at) AS published,
               sp.articles AS story_articles, sp.outlets AS story_outlets,
               sp.first_outlet AS story_first_outlet
        FROM articles a
        JOIN topic_matches m ON m.article_id = a.id
        JOIN story_spread sp ON sp.story_id = a.story_id
        WHERE CAST(coalesce(a.published, a.fetched_at) AS DATE) = ? AND a.duplicate_of IS NULL
        ORDER BY m.topic, m.relevance, sp.outlets DESC, m.score DESC, published, a.id
        """,
        [day],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """An analyst's own SQL: column names and rows."""
    cur = con.execute(sql)
    if cur.description is None:
        return [], []
    return [d[0] for d in cur.description], cur.fetchall()


def latest_run(con: duckdb.DuckDBPyConnection, flow: str) -> datetime | None:
    row = con.execute("SELECT max(started_at) FROM runs WHERE flow = ?", [flow]).fetchone()
    return row[0] if row else None
