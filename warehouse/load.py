"""Loading records into the warehouse: idempotent, one transaction per batch, bulk through Arrow.

Loading the same batch twice changes nothing: an article is found by its canonical URL and
keeps the id it was stored with, inserts skip rows that exist, and entries move from
`pending` to `stored`/`duplicate` only once their article is in. A failed page leaves its
entry `failed` with the reason, to be retried.

The polling side (sources, polls, feed state, schedules, fetch logs) is `warehouse.polls`'s;
its names are re-exported here for the callers that still reach them as `load.*`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from extractors.records import Article, ProcessedPage, TopicMatch
from warehouse.batches import execute_with, insert_rows, keys
from warehouse.polls import (
    PollRow,
    enable_source,
    record_page_fetches,
    record_poll,
    record_polls,
    record_schedules,
    sync_sources,
)
from warehouse.transactions import retry_conflicts, transaction

__all__ = [
    "MAX_PAGE_ATTEMPTS",
    "ArticleIds",
    "PollRow",
    "article_id",
    "article_ids",
    "enable_source",
    "finish_run",
    "record_page_fetches",
    "record_poll",
    "record_polls",
    "record_schedules",
    "replace_topic_matches",
    "rewrite_articles",
    "start_run",
    "store_pages",
    "sync_sources",
]

MAX_PAGE_ATTEMPTS = 3


def article_id(canonical: str, first_seen: datetime) -> str:
    """A new article's id: "a", the hour it was first seen (UTC), "-", 12 characters of its
    canonical URL's sha1, e.g. `a2026010514-3f9c2a1b7d4e`.

    Why the time: the id keys the article, its story, topic matches, event link and event,
    and each of those tables has an index on it. Keys made of a hash alone land all over each
    index, so a batch's 100 new ones touched pages across the whole index, read back and
    written out at every closing of the file, at a cost that grew with the warehouse (1.50x
    from 100k to 1M rows for one table; 0.62x with keys that grow: bench/growth_keys.py).
    Keys that start with the hour land together at the index's recent end. The URL's hash
    keeps two processes that first see one URL within the same hour (shards of a lake) on
    one id. Articles stored earlier keep their ids (16 hex characters, sha1 of the URL):
    an article is looked up by its URL (`article_ids`), never recomputed."""
    hour = first_seen.astimezone(UTC).strftime("%Y%m%d%H")
    return f"a{hour}-{hashlib.sha1(canonical.encode('utf-8')).hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class ArticleIds:
    """The ids of a batch's articles, by canonical URL, and which of them are stored."""

    by_url: Mapping[str, str]
    stored: frozenset[str]

    def of(self, page: ProcessedPage) -> str:
        """The id of `page`'s article (a page with one)."""
        return self.by_url[_article(page).canonical_url]

    def of_pages(self, pages: Sequence[ProcessedPage]) -> list[str]:
        """The ids of the pages' articles (pages that failed have none)."""
        return [self.of(p) for p in pages if p.article is not None]


def article_ids(
    con: duckdb.DuckDBPyConnection, pages: Sequence[ProcessedPage], now: datetime
) -> ArticleIds:
    """The ids of the pages' articles: a stored article's own (found by its canonical URL,
    one index lookup for the batch), a new one's from `now` (`article_id`)."""
    urls = sorted({p.article.canonical_url for p in pages if p.article is not None})
    stored: dict[str, str] = {}
    if urls:
        with keys(con, urls) as wanted:
            rows = con.execute(
                f"SELECT canonical_url, id FROM articles WHERE canonical_url IN {wanted}"
            ).fetchall()
        stored = dict(rows)
    by_url = {url: stored.get(url) or article_id(url, now) for url in urls}
    return ArticleIds(by_url, frozenset(stored.values()))


# --- articles -----------------------------------------------------------------------------------


@retry_conflicts
def store_pages(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[ProcessedPage],
    watchlist_version: str,
    now: datetime,
    near: Mapping[str, str] | None = None,
    ids: ArticleIds | None = None,
) -> dict[str, int]:
    """Store a batch of processed pages in one transaction: new articles, their stories and
    topic matches, duplicates folded into the story of their original, and the entries' new
    status. Exact copies are found here by content hash; `near` maps the ids of near copies
    (found by `pipeline.stories`) to the article each copies. `ids`: the batch's
    `article_ids`, looked up here when not given. Returns counts: stored, duplicates,
    failed."""
    good = [p for p in pages if p.article is not None]
    failed = [p for p in pages if p.article is None]
    with transaction(con):
        ids = ids or article_ids(con, good, now)
        stored, duplicates = _store_articles(con, good, watchlist_version, now, near or {}, ids)
        _mark_failed(con, failed)
    return {"stored": stored, "duplicates": duplicates, "failed": len(failed)}


def _store_articles(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[ProcessedPage],
    watchlist_version: str,
    now: datetime,
    near: Mapping[str, str],
    batch_ids: ArticleIds,
) -> tuple[int, int]:
    # Earliest first, so that within a batch the original comes before its copies.
    ordered = sorted(
        pages, key=lambda p: (_article(p).published is None, _article(p).published or now)
    )
    ids = [batch_ids.of(p) for p in ordered]
    existing = set(batch_ids.stored)
    by_hash = _originals_by_hash(con, [p.content_hash for p in ordered])
    # article id -> (the original it copies or itself, its story), for near copies' lookups
    families = _families(con, list(set(near.values())))
    article_rows: list[dict[str, Any]] = []
    story_rows: list[dict[str, Any]] = []
    match_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    stored = duplicates = 0
    for page, aid in zip(ordered, ids, strict=True):
        entry_status = "stored"
        if aid not in existing:
            existing.add(aid)
            original = by_hash.get(page.content_hash) or families.get(near.get(aid, ""))
            if original is None:
                story_id, duplicate_of = aid, None
                by_hash[page.content_hash] = (aid, aid)
                story_rows.append(_story_row(page, aid, now))
            else:
                duplicate_of, story_id = original
                duplicates += 1
                entry_status = "duplicate"
            families[aid] = (duplicate_of or aid, story_id)
            row = _article_row(page, aid, story_id, duplicate_of, now)
            article_rows.append(row | {"watchlist_version": watchlist_version})
            match_rows.extend(_match_rows(page, aid, watchlist_version, now))
            stored += 1
        entry_rows.extend(
            {"source": e.source, "guid": e.guid, "status": entry_status, "article_id": aid}
            for e in page.entries
        )
    insert_rows(con, "stories", story_rows, mode="OR IGNORE")
    # A plain INSERT: these URLs were looked up and found absent (`article_ids`). DuckDB's
    # INSERT OR IGNORE checks every row against both unique indexes of `articles` at a cost
    # that grows with the table (1.3 s for 500 rows at 1M articles, 13 ms plain; growth.py).
    insert_rows(con, "articles", article_rows)
    insert_rows(con, "topic_matches", match_rows, mode="OR IGNORE")
    _update_entries(con, entry_rows)
    return stored - duplicates, duplicates


def _families(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Stored article id -> (the original it copies, or itself; its story)."""
    if not ids:
        return {}
    with keys(con, ids) as wanted:
        rows = con.execute(
            f"SELECT id, coalesce(duplicate_of, id), story_id FROM articles WHERE id IN {wanted}"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _originals_by_hash(
    con: duckdb.DuckDBPyConnection, hashes: list[str]
) -> dict[str, tuple[str, str]]:
    """content hash -> (id, story id) of the first stored article with that text."""
    if not hashes:
        return {}
    # `duplicate_of IS NULL` is an aggregate's FILTER, not a WHERE: a second condition on
    # `articles` turns the index lookup of the hashes into a scan of the table (80 ms against
    # 13 at 1M articles; warehouse.db.INDEX_LOOKUP_KEYS).
    first = "(coalesce(published, fetched_at), id)"
    with keys(con, hashes) as wanted:
        rows = con.execute(
            f"""
            SELECT content_hash,
                   arg_min(id, {first}) FILTER (WHERE duplicate_of IS NULL),
                   arg_min(story_id, {first}) FILTER (WHERE duplicate_of IS NULL)
            FROM articles
            WHERE content_hash IN {wanted}
            GROUP BY content_hash
            """
        ).fetchall()
    return {h: (aid, sid) for h, aid, sid in rows if aid is not None}


def _published_order(article: Article, now: datetime) -> tuple[bool, datetime]:
    """Sort key: earliest published first, articles without a date last (taken as `now`)."""
    return article.published is None, article.published or now


def _article(page: ProcessedPage) -> Article:
    """The article of a page that has one: `store_pages` hands on only those."""
    assert page.article is not None
    return page.article


def _story_row(page: ProcessedPage, aid: str, now: datetime) -> dict[str, Any]:
    assert page.article is not None
    return {"id": aid, "title": page.article.title, "first_article_id": aid, "created_at": now}


def _article_row(
    page: ProcessedPage, aid: str, story_id: str, duplicate_of: str | None, now: datetime
) -> dict[str, Any]:
    a = page.article
    assert a is not None
    return {
        "id": aid,
        "canonical_url": a.canonical_url,
        "url": a.url,
        "source": page.source,
        "outlet": page.outlet,
        **_extracted_columns(page),
        "story_id": story_id,
        "duplicate_of": duplicate_of,
        "archive_path": page.archive_path,
        "archive_offset": page.archive_offset,
        "views": page.views,
        "fetched_at": page.fetched_at,
    }


def _extracted_columns(page: ProcessedPage) -> dict[str, Any]:
    """The columns of `articles` that extraction produces: what a rewrite replaces."""
    a = page.article
    assert a is not None
    return {
        "title": a.title,
        "authors": list(a.authors),
        "published": a.published,
        "language": a.language,
        "site_name": a.site_name,
        "description": a.description,
        "text": a.text,
        "content_hash": page.content_hash,
        "near_dup_signature": page.signature,
        "extractor_version": page.extractor_version,
    }


def _match_rows(
    page: ProcessedPage, aid: str, watchlist_version: str, now: datetime
) -> list[dict[str, Any]]:
    return [_topic_match_row(aid, m, watchlist_version, now) for m in page.matches]


def _topic_match_row(
    aid: str, m: TopicMatch, watchlist_version: str, now: datetime
) -> dict[str, Any]:
    return {
        "article_id": aid,
        "topic": m.topic,
        "relevance": m.relevance,
        "score": m.score,
        "evidence": json.dumps([asdict(e) for e in m.evidence], ensure_ascii=False),
        "watchlist_version": watchlist_version,
        "tagged_at": now,
    }


def _update_entries(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    execute_with(
        con,
        """
        UPDATE entries SET status = d.status, article_id = d.article_id,
               attempts = attempts + 1, last_error_kind = NULL, last_error = NULL
        FROM _done d WHERE entries.source = d.source AND entries.guid = d.guid
        """,
        "_done",
        rows,
    )


def _mark_failed(con: duckdb.DuckDBPyConnection, pages: Sequence[ProcessedPage]) -> None:
    rows = [
        {
            "source": e.source,
            "guid": e.guid,
            "error_kind": p.error_kind or "unknown",
            "error": p.error_message or "",
        }
        for p in pages
        for e in p.entries
    ]
    execute_with(
        con,
        """
        UPDATE entries SET status = 'failed', attempts = attempts + 1,
               last_error_kind = f.error_kind, last_error = f.error
        FROM _failed f WHERE entries.source = f.source AND entries.guid = f.guid
        """,
        "_failed",
        rows,
    )


# --- runs ---------------------------------------------------------------------------------------


@retry_conflicts
def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, now: datetime) -> None:
    with transaction(con):  # a flow run that Prefect retries starts its row over
        con.execute("DELETE FROM runs WHERE id = ?", [run_id])
        con.execute(
            "INSERT INTO runs (id, flow, started_at, status) VALUES (?, ?, ?, 'running')",
            [run_id, flow, now],
        )


@retry_conflicts
def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: dict[str, Any],
    now: datetime,
    error: str | None = None,
) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ? WHERE id = ?",
        [now, status, json.dumps(counts, sort_keys=True), error, run_id],
    )


@retry_conflicts
def rewrite_articles(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[tuple[str, ProcessedPage]],
    watchlist_version: str,
    now: datetime,
) -> None:
    """Update stored articles in place from a new extraction or tagging, in one transaction:
    (article id, processed page) pairs. Ids, stories and duplicate links stay as they are."""
    rows = [
        {"id": aid, **_extracted_columns(page), "watchlist_version": watchlist_version}
        for aid, page in pages
    ]
    if not rows:
        return
    with transaction(con):
        execute_with(
            con,
            """
            UPDATE articles SET title = r.title, authors = r.authors,
                   published = r.published, language = r.language,
                   site_name = r.site_name, description = r.description, text = r.text,
                   content_hash = r.content_hash, extractor_version = r.extractor_version,
                   near_dup_signature = r.near_dup_signature,
                   watchlist_version = r.watchlist_version
            FROM _rewrite r WHERE articles.id = r.id
            """,
            "_rewrite",
            rows,
        )
        ids = [aid for aid, _ in pages]
        with keys(con, ids) as rewritten:
            con.execute(f"DELETE FROM topic_matches WHERE article_id IN {rewritten}")
        matches = [r for aid, p in pages for r in _match_rows(p, aid, watchlist_version, now)]
        insert_rows(con, "topic_matches", matches)


# --- re-tagging (issue 6) -----------------------------------------------------------------------


@retry_conflicts
def replace_topic_matches(
    con: duckdb.DuckDBPyConnection,
    tagged: Sequence[tuple[str, Sequence[TopicMatch]]],
    watchlist_version: str,
    now: datetime,
) -> None:
    """Replace the topic matches of stored articles, (article id, new matches) pairs, and
    record the watchlist version on each article, in one transaction."""
    if not tagged:
        return
    rows = [_topic_match_row(aid, m, watchlist_version, now) for aid, ms in tagged for m in ms]
    with transaction(con):
        with keys(con, [aid for aid, _ in tagged]) as retagged:
            con.execute(f"DELETE FROM topic_matches WHERE article_id IN {retagged}")
            con.execute(
                f"UPDATE articles SET watchlist_version = ? WHERE id IN {retagged}",
                [watchlist_version],
            )
        insert_rows(con, "topic_matches", rows)
