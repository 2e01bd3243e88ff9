"""Named queries that the flows and the CLI use. Values are always bound parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from extractors.records import FeedEntry
from warehouse.db import keys
from warehouse.load import MAX_PAGE_ATTEMPTS


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the poller remembers of a source between runs."""

    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # where a permanent redirect moved the feed
    body_hash: str | None = None
    failure_score: float = 0.0
    consecutive_failures: int = 0


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry whose article is not stored yet (new, or failed and due for a retry)."""

    source: str
    outlet: str
    canonical_url: str | None
    entry: FeedEntry


def feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    rows = con.execute(
        """
        SELECT source, etag, last_modified, final_url, body_hash,
               coalesce(failure_score, 0), consecutive_failures
        FROM feed_state
        """
    ).fetchall()
    return {r[0]: FeedState(*r[1:]) for r in rows}


def due_sources(con: duckdb.DuckDBPyConnection, now: datetime | None) -> set[str]:
    """Configured, enabled sources whose next poll time has come (or was never set);
    with `now` None, every enabled source."""
    rows = con.execute(
        """
        SELECT s.name FROM sources s JOIN feed_state f ON f.source = s.name
        WHERE s.in_config AND f.disabled_reason IS NULL
          AND (? IS NULL OR f.next_poll_at IS NULL OR f.next_poll_at <= ?)
        """,
        [now, now],
    ).fetchall()
    return {r[0] for r in rows}


def known_guids(
    con: duckdb.DuckDBPyConnection, sources: list[str], limit: int = 500
) -> dict[str, set[str]]:
    """The latest `limit` entry guids of each of `sources` (for Telegram backfill)."""
    with keys(con, sources) as names:
        rows = con.execute(
            f"""
            SELECT source, guid FROM (
                SELECT source, guid,
                       row_number() OVER (PARTITION BY source ORDER BY first_seen_at DESC) AS n
                FROM entries WHERE source IN {names}
            ) WHERE n <= ?
            """,
            [limit],
        ).fetchall()
    known: dict[str, set[str]] = {s: set() for s in sources}
    for source, guid in rows:
        known[source].add(guid)
    return known


def published_last_week(
    con: duckdb.DuckDBPyConnection, sources: list[str], now: datetime
) -> dict[str, int]:
    """Entries each source published in the 7 days before `now` (by the feed's date, else
    when we first saw them): the rate its polling interval follows."""
    with keys(con, sources) as names:
        rows = con.execute(
            f"""
            SELECT source, count(*) FROM entries
            WHERE source IN {names}
              AND coalesce(published, first_seen_at) > ? - INTERVAL 7 DAY
              AND coalesce(published, first_seen_at) <= ?
            GROUP BY source
            """,
            [now, now],
        ).fetchall()
    return {s: 0 for s in sources} | {r[0]: int(r[1]) for r in rows}


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


def source_health(con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source: its last poll and result, its failure score and next
    poll, and its entries of the last 7 days against its usual weekly volume (the weekly
    average of the 4 weeks before), so that a source gone quiet stands out."""
    cur = con.execute(
        """
        WITH volume AS (
            SELECT source,
                   count(*) FILTER (WHERE seen > ? - INTERVAL 7 DAY) AS week,
                   count(*) FILTER (WHERE seen <= ? - INTERVAL 7 DAY
                                      AND seen > ? - INTERVAL 35 DAY) / 4.0 AS usual
            FROM (SELECT source, coalesce(published, first_seen_at) AS seen FROM entries)
            WHERE seen <= ?
            GROUP BY source
        )
        SELECT s.name, s.kind, s.language, f.last_poll_at, f.last_result, f.last_status,
               f.last_error_kind, f.last_error, f.consecutive_failures,
               coalesce(f.failure_score, 0) AS failure_score, f.slow_retry, f.next_poll_at,
               f.schedule_note, coalesce(v.week, 0) AS entries_7d,
               coalesce(v.usual, 0) AS usual_7d,
               (SELECT count(*) FROM entries e WHERE e.source = s.name) AS entries,
               (SELECT count(*) FROM articles a WHERE a.source = s.name) AS articles,
               f.disabled_reason
        FROM sources s LEFT JOIN feed_state f ON f.source = s.name
        LEFT JOIN volume v ON v.source = s.name
        WHERE s.in_config
        ORDER BY f.disabled_reason IS NULL, f.slow_retry DESC, s.name
        """,
        [now, now, now, now],
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


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """What reprocessing needs of a stored article."""

    id: str
    url: str
    source: str
    outlet: str
    title: str
    text: str
    language: str | None
    published: datetime | None
    fetched_at: datetime
    archive_path: str | None
    archive_offset: int | None
    feed_published: datetime | None


def stored_articles(con: duckdb.DuckDBPyConnection, since: datetime | None) -> list[StoredArticle]:
    """Articles fetched since `since` (all with None), with their archive pointers and the
    date their feed entry gave (the fallback when the page has none)."""
    rows = con.execute(
        """
        SELECT a.id, a.url, a.source, a.outlet, a.title, a.text, a.language, a.published,
               a.fetched_at, a.archive_path, a.archive_offset,
               (SELECT min(e.published) FROM entries e WHERE e.article_id = a.id)
        FROM articles a
        WHERE ? IS NULL OR a.fetched_at >= ?
        ORDER BY a.fetched_at, a.id
        """,
        [since, since],
    ).fetchall()
    return [StoredArticle(*r) for r in rows]


def dedup_window(
    con: duckdb.DuckDBPyConnection, since: datetime
) -> list[tuple[str, datetime, str, bytes | None]]:
    """(id, published, text, signature) of the articles published since `since`: what the
    near-duplicate index is rebuilt from."""
    rows = con.execute(
        """
        SELECT id, coalesce(published, fetched_at) AS seen, text, near_dup_signature
        FROM articles WHERE coalesce(published, fetched_at) >= ?
        ORDER BY seen, id
        """,
        [since],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
