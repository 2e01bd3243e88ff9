"""Named queries that the flows and the CLI use. Values are always bound parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from extractors.records import FeedEntry
from warehouse.batches import keys
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
    last_result: str | None = None  # how its last poll ended (`extractors.records.poll_result`)


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry whose article is not stored yet (new, or failed and due for a retry)."""

    source: str
    outlet: str
    canonical_url: str | None
    entry: FeedEntry
    # What fetching the source's pages needs (feeds.yaml, see `extractors.records.Source`).
    user_agent: str | None = None
    ca_bundle: str | None = None
    dates: str = "feed"
    country: str | None = None  # the source's, for the tagger's home-country phrases


def feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    rows = con.execute(
        """
        SELECT source, etag, last_modified, final_url, body_hash,
               coalesce(failure_score, 0), consecutive_failures, last_result
        FROM feed_state
        """
    ).fetchall()
    return {r[0]: FeedState(*r[1:]) for r in rows}


def due_sources(con: duckdb.DuckDBPyConnection, now: datetime | None) -> set[str]:
    """Configured, enabled, unpaused sources whose next poll time has come (or was never set);
    with `now` None, every enabled source."""
    rows = con.execute(
        """
        SELECT s.name FROM sources s JOIN feed_state f ON f.source = s.name
        WHERE s.in_config AND NOT coalesce(s.paused, FALSE) AND f.disabled_reason IS NULL
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
    con: duckdb.DuckDBPyConnection,
    max_attempts: int = MAX_PAGE_ATTEMPTS,
    per_source: int | None = None,
) -> list[PendingEntry]:
    """Entries to fetch or retry, at most `per_source` of each source: the longest waiting
    first, then the newest, so a backlog drains across runs in the order it came."""
    rows = con.execute(
        """
        SELECT e.source, s.outlet, e.canonical_url, e.guid, e.url, e.title, e.summary,
               e.published, e.author, e.content, e.views, s.user_agent, s.ca_bundle,
               coalesce(s.dates, 'feed'), s.country
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY source ORDER BY first_seen_at, published DESC NULLS LAST, guid
            ) AS nth
            FROM (
                -- Two scans of one equality each: DuckDB filters rows by an equality as it
                -- scans, but an OR of two only skips blocks and reads every entry (110 ms
                -- against 9 at 1M entries; bench/growth.py).
                SELECT * FROM entries WHERE status = 'pending'
                UNION ALL
                SELECT * FROM entries WHERE status = 'failed' AND attempts < ?
            )
            WHERE content IS NOT NULL OR canonical_url IS NOT NULL
        ) e JOIN sources s ON s.name = e.source
        WHERE ? IS NULL OR e.nth <= ?
        ORDER BY e.first_seen_at, e.source, e.guid
        """,
        [max_attempts, per_source, per_source],
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
            user_agent=r[11],
            ca_bundle=r[12],
            dates=r[13],
            country=r[14],
        )
        for r in rows
    ]


def waiting_entries(con: duckdb.DuckDBPyConnection) -> int:
    """Entries still pending: what a run left for the next ones (`max_entries_per_source`)."""
    row = con.execute(
        "SELECT count(*) FROM entries WHERE status = 'pending'"
        " AND (content IS NOT NULL OR canonical_url IS NOT NULL)"
    ).fetchone()
    return int(row[0]) if row else 0


def source_health(con: duckdb.DuckDBPyConnection, now: datetime) -> list[dict[str, Any]]:
    """One row per source ever configured (`in_config` false once it left the feeds file,
    `paused` while paused): its last poll and result, its failure score and next
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
               f.disabled_reason, s.in_config, s.url
        FROM sources s LEFT JOIN feed_state f ON f.source = s.name
        LEFT JOIN volume v ON v.source = s.name
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


# --- the digest (issue 7) -------------------------------------------------------------------
# A day is a UTC day of `coalesce(published, fetched_at)`, as in the `articles_tagged` view.
# These read the tables, not the views, so that a database not yet migrated by a writer
# still gets its digest.

_DAY = "CAST(coalesce(a.published, a.fetched_at) AS DATE)"


def digest_stories(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    """One row per topic and story with an article tagged with the topic on `day` (copies
    count for their story): how it was tagged that day and the evidence of its best-matching
    article that day; how far it spread over all days (outlets, articles, languages, who had
    it first, the outlets in the order they carried it). Best first within each topic."""
    cur = con.execute(
        f"""
        WITH day_matches AS (
            SELECT m.topic, m.relevance, m.score, m.evidence, a.id, a.story_id, a.outlet,
                   a.language
            FROM articles a JOIN topic_matches m ON m.article_id = a.id
            WHERE {_DAY} = ?
        ), per_story AS (
            SELECT topic, story_id,
                   bool_or(relevance = 'about') AS about,
                   count(*) AS articles_today,
                   count(DISTINCT outlet) AS outlets_today,
                   max(score) AS best_score,
                   arg_max(evidence, (score, id)) AS evidence,
                   arg_max(outlet, (score, id)) AS quote_outlet,
                   arg_max(language, (score, id)) AS quote_language
            FROM day_matches GROUP BY topic, story_id
        ), story_articles AS (
            SELECT a.story_id, a.id, a.outlet, a.language, a.canonical_url,
                   coalesce(a.published, a.fetched_at) AS seen
            FROM articles a WHERE a.story_id IN (SELECT story_id FROM per_story)
        ), spread AS (
            SELECT story_id,
                   count(*) AS articles,
                   count(DISTINCT outlet) AS outlets,
                   list(DISTINCT language ORDER BY language)
                       FILTER (WHERE language IS NOT NULL) AS languages,
                   arg_min(outlet, (seen, id)) AS first_outlet,
                   arg_min(canonical_url, (seen, id)) AS first_url,
                   min(seen) AS first_published
            FROM story_articles GROUP BY story_id
        ), carriers AS (
            SELECT story_id, list(outlet ORDER BY first_seen, outlet) AS carried_by
            FROM (
                SELECT story_id, outlet, min(seen) AS first_seen
                FROM story_articles GROUP BY story_id, outlet
            ) GROUP BY story_id
        )
        SELECT p.topic, p.story_id, coalesce(s.title, '') AS title, sp.first_url,
               p.about, p.articles_today, p.outlets_today, p.best_score, p.evidence,
               p.quote_outlet, p.quote_language,
               sp.articles, sp.outlets, coalesce(sp.languages, []) AS languages,
               sp.first_outlet, sp.first_published, c.carried_by
        FROM per_story p
        JOIN spread sp ON sp.story_id = p.story_id
        JOIN carriers c ON c.story_id = p.story_id
        LEFT JOIN stories s ON s.id = p.story_id
        ORDER BY p.topic, p.about DESC, sp.outlets DESC, sp.articles DESC, p.best_score DESC,
                 sp.first_published, p.story_id
        """,
        [day],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def digest_topic_totals(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, dict[str, Any]]:
    """Per topic, the articles tagged with it on `day` (copies included): how many, about and
    mentioning, from how many outlets, in which languages."""
    cur = con.execute(
        f"""
        SELECT m.topic, count(*) AS articles,
               count(*) FILTER (WHERE m.relevance = 'about') AS about,
               count(*) FILTER (WHERE m.relevance = 'mention') AS mentions,
               count(DISTINCT a.outlet) AS outlets,
               coalesce(list(DISTINCT a.language ORDER BY a.language)
                            FILTER (WHERE a.language IS NOT NULL), []) AS languages
        FROM articles a JOIN topic_matches m ON m.article_id = a.id
        WHERE {_DAY} = ?
        GROUP BY m.topic
        """,
        [day],
    )
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def digest_day_totals(con: duckdb.DuckDBPyConnection, day: date) -> tuple[int, int]:
    """(articles, outlets) of `day` tagged with any topic."""
    row = con.execute(
        f"""
        SELECT count(DISTINCT a.id), count(DISTINCT a.outlet)
        FROM articles a WHERE {_DAY} = ?
          AND EXISTS (SELECT 1 FROM topic_matches m WHERE m.article_id = a.id)
        """,
        [day],
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def digest_outlets(con: duckdb.DuckDBPyConnection, day: date) -> list[tuple[str, str, int]]:
    """(topic, outlet, articles) on `day`, the outlets with most articles first."""
    rows = con.execute(
        f"""
        SELECT m.topic, a.outlet, count(*) AS articles
        FROM articles a JOIN topic_matches m ON m.article_id = a.id
        WHERE {_DAY} = ?
        GROUP BY m.topic, a.outlet
        ORDER BY m.topic, articles DESC, a.outlet
        """,
        [day],
    ).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]


def topic_counts_by_day(
    con: duckdb.DuckDBPyConnection, first: date, last: date
) -> dict[tuple[str, date], int]:
    """Articles tagged with each topic on each day from `first` to `last` (copies included);
    days without any are left out."""
    rows = con.execute(
        f"""
        SELECT m.topic, {_DAY} AS day, count(*)
        FROM articles a JOIN topic_matches m ON m.article_id = a.id
        WHERE {_DAY} BETWEEN ? AND ?
        GROUP BY ALL
        """,
        [first, last],
    ).fetchall()
    return {(r[0], r[1]): int(r[2]) for r in rows}


def topic_spread_by_day(
    con: duckdb.DuckDBPyConnection, first: date, last: date
) -> dict[tuple[str, date], tuple[int, int]]:
    """(distinct outlets, distinct stories) on each topic each day from `first` to `last`."""
    rows = con.execute(
        f"""
        SELECT m.topic, {_DAY} AS day, count(DISTINCT a.outlet),
               count(DISTINCT coalesce(a.story_id, a.id))
        FROM articles a JOIN topic_matches m ON m.article_id = a.id
        WHERE {_DAY} BETWEEN ? AND ? GROUP BY ALL
        """,
        [first, last],
    ).fetchall()
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


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
    country: str | None = None  # the source's, for the tagger's home-country phrases


def stored_articles(con: duckdb.DuckDBPyConnection, since: datetime | None) -> list[StoredArticle]:
    """Articles fetched since `since` (all with None), with their archive pointers and the
    date their feed entry gave (the fallback when the page has none)."""
    rows = con.execute(
        """
        SELECT a.id, a.url, a.source, a.outlet, a.title, a.text, a.language, a.published,
               a.fetched_at, a.archive_path, a.archive_offset,
               (SELECT min(e.published) FROM entries e WHERE e.article_id = a.id),
               (SELECT s.country FROM sources s WHERE s.name = a.source)
        FROM articles a
        WHERE ? IS NULL OR a.fetched_at >= ?
        ORDER BY a.fetched_at, a.id
        """,
        [since, since],
    ).fetchall()
    return [StoredArticle(*r) for r in rows]


# --- re-tagging and explaining matches (issue 6) ------------------------------------------------


def articles_to_retag(con: duckdb.DuckDBPyConnection, watchlist_version: str | None) -> list[str]:
    """Ids of the articles last tagged with a watchlist version other than `watchlist_version`
    (or never tagged); every article with None."""
    rows = con.execute(
        """
        SELECT id FROM articles
        WHERE ?::VARCHAR IS NULL OR watchlist_version IS DISTINCT FROM ?::VARCHAR
        ORDER BY id
        """,
        [watchlist_version, watchlist_version],
    ).fetchall()
    return [r[0] for r in rows]


def article_texts(
    con: duckdb.DuckDBPyConnection, ids: list[str]
) -> list[tuple[str, str, str, str | None]]:
    """(id, title, text, language) of the articles `ids`, in id order."""
    with keys(con, ids) as wanted:
        return con.execute(
            f"SELECT id, title, text, language FROM articles WHERE id IN {wanted} ORDER BY id"
        ).fetchall()


def article_countries(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, str | None]:
    """{article id: its source's country} for the articles `ids` (what `retag` passes the
    tagger for home-country phrases)."""
    with keys(con, ids) as wanted:
        rows = con.execute(
            f"""
            SELECT a.id, s.country FROM articles a LEFT JOIN sources s ON s.name = a.source
            WHERE a.id IN {wanted}
            """
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def find_articles(con: duckdb.DuckDBPyConnection, ref: str, limit: int = 5) -> list[dict[str, Any]]:
    """The articles whose id is `ref` or starts with it, or whose id's hash (after the hour:
    `a2026010514-3f9c2a1b7d4e`) starts with it (at most `limit`), with what `newswatch
    explain` shows about them. The hash's first characters are the short name of an
    article, as a commit's are."""
    cur = con.execute(
        """
        SELECT id, title, text, language, outlet, canonical_url, published, watchlist_version,
               (SELECT s.country FROM sources s WHERE s.name = articles.source) AS country
        FROM articles
        WHERE id = $ref OR starts_with(id, $ref) OR starts_with(split_part(id, '-', 2), $ref)
        ORDER BY id = $ref DESC, id LIMIT $limit
        """,
        {"ref": ref, "limit": limit},
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def stored_matches(con: duckdb.DuckDBPyConnection, article: str) -> list[dict[str, Any]]:
    """The stored topic matches of one article, best first."""
    cur = con.execute(
        """
        SELECT topic, relevance, score, watchlist_version, tagged_at, evidence
        FROM topic_matches WHERE article_id = ? ORDER BY score DESC, topic
        """,
        [article],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
