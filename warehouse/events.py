"""Events in the warehouse (issue 17): the SQL of linking articles to events and of reading
events back, for `pipeline/events.py` and the digest.

Linking reads the articles not yet in an event (`unlinked_articles`) and what was stored of
the articles linked in the last days (`recent_links`: their embedding and entity ids, so no
article is embedded twice), and writes each article's event (`store_links`: `event_links`,
`articles.event_id`, then `refresh_events`). `events` rows are derived from their articles
and topic matches by one statement, so retag and reprocess only call `refresh_events` again.
Ids are never touched after the link is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from warehouse.batches import column_types, execute_with, keys, registered
from warehouse.transactions import retry_conflicts, transaction

_LINK_TYPES = column_types(
    "article_id VARCHAR, event_id VARCHAR, reason VARCHAR, score DOUBLE, embedder VARCHAR,"
    " vector FLOAT[], entities VARCHAR[], numbers VARCHAR[], linked_at TIMESTAMPTZ"
)


def _topics_of(chosen: str) -> str:
    """The topics (all, and those the article is about) of the articles whose ids the
    subquery `chosen` (in parentheses) selects, aggregated over their matches only: a
    correlated subquery per article was decorrelated into an aggregate over every match of
    the warehouse, which ran out of memory at a million stored articles (bench/growth.py)."""
    return f"""
    SELECT m.article_id,
           list(m.topic ORDER BY m.topic) AS topics,
           list(m.topic ORDER BY m.topic) FILTER (WHERE m.relevance = 'about') AS about
    FROM topic_matches m
    WHERE m.article_id IN {chosen}
    GROUP BY m.article_id
    """


def unlinked_articles(
    con: duckdb.DuckDBPyConnection, lead_chars: int, among: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The stored articles without an event (only those of `among`, article ids, if given:
    an index lookup, where finding them all searches the table, ~50 ms at 1M articles),
    oldest first: id, story_id, published, fetched_at, language, title, lead (the text's
    first `lead_chars` characters), country (of the source), topics and the topics it is
    about."""
    if among is None:
        rows = _articles(con, lead_chars, "(SELECT id FROM articles WHERE event_id IS NULL)")
    else:
        with keys(con, list(among)) as ids:
            rows = _articles(con, lead_chars, ids)
    # `event_id IS NULL` is checked on the rows: a second condition on `articles` would turn
    # the lookup of the ids into a search of the table (warehouse.db.INDEX_LOOKUP_KEYS)
    return [r for r in rows if r.pop("event_id") is None]


def _articles(con: duckdb.DuckDBPyConnection, lead_chars: int, chosen: str) -> list[dict[str, Any]]:
    """The columns linking reads of the articles whose ids the subquery `chosen` (in
    parentheses) selects, and their event_id, oldest first."""
    return _dicts(
        con.execute(
            f"""
            SELECT a.id, a.story_id, coalesce(a.published, a.fetched_at) AS published,
                   a.fetched_at, a.language, coalesce(a.title, '') AS title,
                   substr(a.text, 1, {int(lead_chars)}) AS lead, s.country,
                   coalesce(t.topics, []::VARCHAR[]) AS topics,
                   coalesce(t.about, []::VARCHAR[]) AS about, a.event_id
            FROM articles a
            LEFT JOIN sources s ON s.name = a.source
            LEFT JOIN ({_topics_of(chosen)}) t ON t.article_id = a.id
            WHERE a.id IN {chosen}
            ORDER BY published, a.id
            """
        )
    )


def recent_links(
    con: duckdb.DuckDBPyConnection, since: datetime, embedder: str
) -> tuple[list[dict[str, Any]], Sequence[np.ndarray]]:
    """The articles published (else fetched) since `since` that `embedder` embedded when they
    were linked, with what a new article is compared on: id, story_id, published, language,
    and what linking stored of them, event_id, reason (new, copy, link, anchor, ...),
    entities (their topics among them), numbers; and their vectors, a float32 array a row
    (not stacked: the members' views are slices of them, and a stacked copy of a window of
    3,600 rows of two 384-float views cost ~11 MB more at the peak). Articles linked without
    a vector (about no topic, copies, backfills) are left out: nothing to compare with."""
    params = {"since": since, "embedder": embedder}
    columns = (
        "a.id, a.story_id, coalesce(a.published, a.fetched_at) AS published, a.language,"
        " l.event_id, l.reason, l.entities, l.numbers"
    )
    rows = _dicts(con.execute(f"SELECT {columns} {_RECENT_LINKS} {_IN_ORDER}", params))
    # The vectors come as numpy arrays, in a query of their own over the same rows: as Python
    # lists (fetchall) each one costs 384 float objects, ~10 KB (~100 MB for a window of
    # 10,000 linked articles). Unsorted, and put in the rows' order here: sorted, DuckDB held
    # every vector in its sort's buffers as well as in the result, ~16 MB more of the ingest
    # process at a window of 3,300 vectors of 512 floats (bench/README.md, Pipeline, session 31).
    vectors = con.execute(f"SELECT a.id, l.vector {_RECENT_LINKS}", params).fetchnumpy()
    by_id = dict(zip(vectors["id"], vectors["vector"], strict=True))
    return rows, [np.asarray(by_id[row["id"]], dtype=np.float32) for row in rows]


# FROM ... WHERE of `recent_links`. The bounds on `fetched_at` and `linked_at` (an article
# is fetched, then linked, after it is published, give or take a time zone: as
# `warehouse.dedup.dedup_window`) let DuckDB skip the blocks of older rows, appended in that
# order, so the query reads the window, not both tables (~100 ms a batch at 1M articles).
_RECENT_LINKS = """
    FROM event_links l
    JOIN articles a ON a.id = l.article_id
    WHERE coalesce(a.published, a.fetched_at) >= $since AND l.embedder = $embedder
      AND a.fetched_at >= $since - INTERVAL 1 DAY AND l.linked_at >= $since - INTERVAL 1 DAY
    """
_IN_ORDER = "ORDER BY coalesce(a.published, a.fetched_at), a.id"


@retry_conflicts
def store_links(
    con: duckdb.DuckDBPyConnection, links: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Store each article's event (rows with the columns of `event_links`, `vector` a float
    array) in one transaction: `event_links`, `articles.event_id` (only where it is still
    NULL: an id once given stays), then the events they touched, with any left pending
    (`refresh_pending`)."""
    if not links:
        refresh_pending(con, now)
        return
    rows = [
        {**link, "vector": np.asarray(link["vector"], dtype=np.float32), "linked_at": now}
        for link in links
    ]
    with transaction(con):
        with registered(con, "_links", rows, _LINK_TYPES):
            # those already linked found by their ids, an index lookup (NOT EXISTS would read
            # every link: ~40 ms a batch at 1M articles)
            con.execute(
                "INSERT INTO event_links BY NAME SELECT * FROM _links l WHERE l.article_id NOT IN"
                " (SELECT article_id FROM event_links WHERE article_id IN"
                " (SELECT article_id FROM _links))"
            )
        # coalesce, not `WHERE event_id IS NULL`: a second condition on `articles` turns the
        # index lookup of the ids into a scan of the table (warehouse.db.INDEX_LOOKUP_KEYS).
        execute_with(
            con,
            "UPDATE articles SET event_id = coalesce(articles.event_id, l.event_id) FROM _set l "
            "WHERE articles.id = l.article_id",
            "_set",
            [{"article_id": r["article_id"], "event_id": r["event_id"]} for r in rows],
        )
        _refresh_with_pending(con, sorted({r["event_id"] for r in rows}), now)


@retry_conflicts
def refresh_pending(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Derive the events left pending in `events_pending` (no transaction when none is: on a
    lake each one takes a turn that other writers wait for). Sessions 12 and 13 stored a
    batch's links in up to three transactions and left the events of the first two pending
    there; a run killed between them left a warehouse that this finishes. Nothing writes it
    now: a batch's links are stored in one transaction."""
    if con.execute("SELECT 1 FROM events_pending LIMIT 1").fetchone() is None:
        return
    with transaction(con):
        _refresh_with_pending(con, [], now)


def _refresh_with_pending(con: duckdb.DuckDBPyConnection, ids: list[str], now: datetime) -> None:
    """`_refresh` of `ids` and of the pending events, which are then no longer pending
    (inside the caller's transaction)."""
    pending = [r[0] for r in con.execute("SELECT DISTINCT event_id FROM events_pending").fetchall()]
    _refresh(con, sorted(set(ids) | set(pending)), now)
    if pending:
        con.execute("DELETE FROM events_pending")


@retry_conflicts
def refresh_events(
    con: duckdb.DuckDBPyConnection, event_ids: Sequence[str] | None, now: datetime
) -> int:
    """Derive the `events` rows of `event_ids` (None: every event) from their articles and
    topic matches again (after retag or reprocess); returns the events refreshed."""
    with transaction(con):
        if event_ids is None:
            event_ids = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT event_id FROM articles WHERE event_id IS NOT NULL"
                ).fetchall()
            ]
        _refresh(con, list(event_ids), now)
    return len(event_ids)


def story_events(con: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> dict[str, str]:
    """The event of each story that has one. A story's id is that of its first article,
    which is linked no later than any other of the story (a link step links every unlinked
    article, and stores the links in one transaction), and copies share their story's event:
    so the first article's event is the story's. Looked up by article id, an index
    lookup, where a search of `story_id` reads the whole table (45 ms at 1M articles)."""
    with keys(con, list(story_ids)) as ids:
        rows = con.execute(f"SELECT id, event_id FROM articles WHERE id IN {ids}").fetchall()
    return {story: event for story, event in rows if event is not None}


def events_of_articles(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> list[str]:
    """The events the given articles belong to."""
    with keys(con, list(article_ids)) as ids:
        rows = con.execute(
            f"SELECT DISTINCT event_id FROM articles WHERE id IN {ids} AND event_id IS NOT NULL"
        ).fetchall()
    return sorted(r[0] for r in rows)


def _refresh(con: duckdb.DuckDBPyConnection, event_ids: list[str], now: datetime) -> None:
    """The `events` rows of `event_ids`, derived again (inside the caller's transaction). The
    title is the first headline in the language most outlets used (ties: the language whose
    first article came first, then the language code)."""
    if not event_ids:
        return
    with keys(con, event_ids) as ids:
        con.execute(f"DELETE FROM events WHERE id IN {ids}")
        con.execute(
            f"""
            INSERT INTO events BY NAME
            WITH m AS (
                -- the members by `event_links`' index on event_id, then each by its id:
                -- `articles.event_id` has no index, and searching it reads the whole table
                SELECT a.event_id, a.id, a.outlet, a.language, a.title,
                       coalesce(a.published, a.fetched_at) AS t
                FROM articles a
                WHERE a.id IN (SELECT article_id FROM event_links WHERE event_id IN {ids})
            ), lang AS (
                SELECT event_id, language, count(DISTINCT outlet) AS n, min((t, id)) AS first,
                       arg_min(title, (t, id)) AS title
                FROM m WHERE title IS NOT NULL AND title <> '' GROUP BY event_id, language
            ), best AS (
                SELECT event_id,
                       arg_min(struct_pack(title := title, language := language),
                               (-n, first, language)) AS pick
                FROM lang GROUP BY event_id
            ), tops AS (
                -- The members' matches by the index on their article ids (migration 010),
                -- which DuckDB uses only when the ids come from a lookup of their own (not
                -- from `m`, a materialised CTE) and the matches have no other condition
                -- (`about` is in the aggregate): else it reads every match, ~20 ms at 1M.
                SELECT a.event_id,
                       list(DISTINCT tm.topic ORDER BY tm.topic)
                           FILTER (WHERE tm.relevance = 'about') AS topics
                FROM articles a JOIN topic_matches tm ON tm.article_id = a.id
                WHERE a.id IN (SELECT article_id FROM event_links WHERE event_id IN {ids})
                GROUP BY a.event_id
            )
            SELECT m.event_id AS id, min(m.t) AS first_seen, max(m.t) AS last_seen,
                   any_value(b.pick.title) AS title, any_value(b.pick.language) AS title_language,
                   coalesce(any_value(tops.topics), []::VARCHAR[]) AS topics,
                   count(*) AS articles, count(DISTINCT m.outlet) AS outlets,
                   count(DISTINCT m.language) AS languages, ?::TIMESTAMPTZ AS updated_at
            FROM m LEFT JOIN best b USING (event_id) LEFT JOIN tops USING (event_id)
            GROUP BY m.event_id
            """,
            [now],
        )


# --- the digest -------------------------------------------------------------------------------


def digest_events(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    """Per topic, the events with an article tagged with that topic on `day` (UTC; published,
    else fetched), with the event's totals over all days. Rows: topic, event_id, title,
    about (an article of the event is about the topic), articles, outlets, languages (list),
    countries (list), first_outlet, first_published, first_url, title_url (the article the
    title is the headline of; the first URL when none is), articles_today, outlets_today.
    Ranked per topic by `about`, outlets, languages, then first seen. Reads the tables, not
    the views, so only the day's events are aggregated."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _dicts(
        con.execute(
            """
            WITH today AS (
                SELECT DISTINCT m.topic, a.event_id
                FROM articles a JOIN topic_matches m ON m.article_id = a.id
                WHERE a.event_id IS NOT NULL
                  AND coalesce(a.published, a.fetched_at) >= $start
                  AND coalesce(a.published, a.fetched_at) < $end
            ), members AS (
                SELECT a.event_id, a.id, a.outlet, a.language, s.country, a.canonical_url,
                       a.title, coalesce(a.published, a.fetched_at) AS t
                FROM articles a LEFT JOIN sources s ON s.name = a.source
                WHERE a.event_id IN (SELECT event_id FROM today)
            ), titled AS (
                -- the article the event's title is the headline of (the first with it), so
                -- that the title links to the text it names
                SELECT mb.event_id, arg_min(mb.canonical_url, (mb.t, mb.id)) AS title_url
                FROM members mb JOIN events e ON e.id = mb.event_id
                WHERE mb.title = e.title AND mb.language IS NOT DISTINCT FROM e.title_language
                GROUP BY mb.event_id
            ), spread AS (
                SELECT event_id, count(*) AS articles, count(DISTINCT outlet) AS outlets,
                       coalesce(list(DISTINCT language ORDER BY language)
                                FILTER (WHERE language IS NOT NULL), []) AS languages,
                       coalesce(list(DISTINCT country ORDER BY country)
                                FILTER (WHERE country IS NOT NULL), []) AS countries,
                       arg_min(outlet, (t, id)) AS first_outlet, min(t) AS first_published,
                       arg_min(canonical_url, (t, id)) AS first_url,
                       count(*) FILTER (WHERE t >= $start AND t < $end) AS articles_today,
                       count(DISTINCT outlet) FILTER (WHERE t >= $start AND t < $end)
                           AS outlets_today
                FROM members GROUP BY event_id
            ), about AS (
                SELECT t.topic, t.event_id, bool_or(m.relevance = 'about') AS about
                FROM today t
                JOIN members mb ON mb.event_id = t.event_id
                JOIN topic_matches m ON m.article_id = mb.id AND m.topic = t.topic
                GROUP BY t.topic, t.event_id
            )
            SELECT ab.topic, ab.event_id, e.title, ab.about, sp.articles, sp.outlets,
                   sp.languages, sp.countries, sp.first_outlet, sp.first_published,
                   sp.first_url, coalesce(ti.title_url, sp.first_url) AS title_url,
                   sp.articles_today, sp.outlets_today
            FROM about ab
            JOIN spread sp ON sp.event_id = ab.event_id
            JOIN events e ON e.id = ab.event_id
            LEFT JOIN titled ti ON ti.event_id = ab.event_id
            ORDER BY ab.topic, ab.about DESC, sp.outlets DESC, len(sp.languages) DESC,
                     sp.first_published, ab.event_id
            """,
            {"start": start, "end": start + timedelta(days=1)},
        )
    )


def event_members(con: duckdb.DuckDBPyConnection, event_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The articles of `event_ids` in the order they came: event_id, article_id, outlet,
    country, tags, language, headline, published, url, topics (list of the watchlist topics
    the article matched). The columns of the `event_articles` view, read from the tables for
    these events' members only (found by `event_links`' index): the view's topics, over a
    million articles, ran out of the connection's memory (bench/growth.py)."""
    if not event_ids:
        return []
    with keys(con, list(event_ids)) as ids:
        members = f"(SELECT article_id FROM event_links WHERE event_id IN {ids})"
        return _dicts(
            con.execute(
                f"""
                SELECT a.event_id, a.id AS article_id, a.outlet, s.country,
                       coalesce(s.tags, []::VARCHAR[]) AS tags, a.language,
                       a.title AS headline, coalesce(a.published, a.fetched_at) AS published,
                       a.canonical_url AS url, coalesce(t.topics, []::VARCHAR[]) AS topics
                FROM articles a
                LEFT JOIN sources s ON s.name = a.source
                LEFT JOIN ({_topics_of(members)}) t ON t.article_id = a.id
                WHERE a.id IN {members}
                ORDER BY a.event_id, published, a.id
                """
            )
        )


def tagged_outlet_counts(con: duckdb.DuckDBPyConnection, day: date) -> list[dict[str, Any]]:
    """Per topic, tag and country, the articles of `day` tagged with the topic whose source
    carries that tag ("state-media of RU: 12 articles")."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _dicts(
        con.execute(
            """
            SELECT m.topic, tag, s.country, count(DISTINCT a.id) AS articles
            FROM articles a
            JOIN topic_matches m ON m.article_id = a.id
            JOIN sources s ON s.name = a.source, unnest(s.tags) AS t(tag)
            WHERE coalesce(a.published, a.fetched_at) >= ?
              AND coalesce(a.published, a.fetched_at) < ?
            GROUP BY ALL ORDER BY m.topic, articles DESC, tag, s.country
            """,
            [start, start + timedelta(days=1)],
        )
    )


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


__all__ = [
    "digest_events",
    "event_members",
    "events_of_articles",
    "recent_links",
    "refresh_events",
    "refresh_pending",
    "store_links",
    "story_events",
    "tagged_outlet_counts",
    "unlinked_articles",
]
