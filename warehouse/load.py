"""Loading records into the warehouse: idempotent, one transaction per batch, bulk through Arrow.

Loading the same batch twice changes nothing: ids derive from canonical URLs, inserts skip
rows that exist, and entries move from `pending` to `stored`/`duplicate` only once their
article is in. A failed page leaves its entry `failed` with the reason, to be retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from extractors.records import (
    FeedEntry,
    FetchResult,
    ParsedFeed,
    ProcessedPage,
    Source,
    TopicMatch,
    poll_error,
    poll_result,
)
from extractors.urls import canonical_url
from warehouse.archive import Pointer
from warehouse.db import (
    execute_with,
    insert_new_sql,
    keys,
    registered,
    retry_conflicts,
    transaction,
)

MAX_PAGE_ATTEMPTS = 3


def article_id(canonical: str) -> str:
    """The article's id: stable across runs and machines, derived from its canonical URL."""
    return hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:16]


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict[str, Any]], *, mode: str = ""
) -> None:
    """Bulk insert `rows` (dicts keyed by column) through an Arrow table; `mode` is
    "" or "OR IGNORE" (rows whose key is stored already are skipped, on either backend)."""
    select = "SELECT * FROM _batch"
    sql = insert_new_sql(con, table, select) if mode == "OR IGNORE" else None
    execute_with(con, sql or f"INSERT {mode} INTO {table} BY NAME {select}", "_batch", rows)


# --- sources and polls ------------------------------------------------------------------------


@retry_conflicts
def sync_sources(con: duckdb.DuckDBPyConnection, sources: Iterable[Source], now: datetime) -> None:
    """Make the `sources` table match the feeds file; removed sources are kept, flagged."""
    rows = [
        {
            "name": s.name,
            "kind": s.kind,
            "url": s.url,
            "outlet": s.outlet,
            "language": s.language,
            "country": s.country,
            "tags": list(s.tags),
            "min_interval_s": s.min_interval_s,
            "max_interval_s": s.max_interval_s,
            "in_config": True,
            "added_at": now,
            "updated_at": now,
        }
        for s in sources
    ]
    with transaction(con):
        con.execute("UPDATE sources SET in_config = FALSE")
        _insert(con, "sources", rows, mode="OR IGNORE")
        execute_with(
            con,
            """
            UPDATE sources SET kind = c.kind, url = c.url, outlet = c.outlet,
                   language = c.language, country = c.country, tags = c.tags,
                   min_interval_s = c.min_interval_s, max_interval_s = c.max_interval_s,
                   in_config = TRUE,
                   updated_at = CASE WHEN sources.url <> c.url OR sources.kind <> c.kind
                                     THEN c.updated_at ELSE sources.updated_at END
            FROM _cfg c WHERE sources.name = c.name
            """,
            "_cfg",
            rows,
        )
        con.execute(
            insert_new_sql(con, "feed_state", "SELECT name AS source FROM sources WHERE in_config")
        )


def _fetch_row(
    run_id: str, source: str | None, purpose: str, f: FetchResult, pointer: Pointer | None = None
) -> dict[str, Any]:
    return {
        "archive_path": pointer.path if pointer else None,
        "archive_offset": pointer.offset if pointer else None,
        "run_id": run_id,
        "source": source,
        "purpose": purpose,
        "url": f.url,
        "final_url": f.final_url,
        "status": f.status,
        "bytes": len(f.body),
        "elapsed_ms": f.elapsed_ms,
        "content_type": f.content_type,
        "not_modified": f.not_modified,
        "error_kind": f.error_kind,
        "error": f.error_message,
        "fetched_at": f.fetched_at,
    }


def _entry_row(source: str, e: FeedEntry, now: datetime) -> dict[str, Any]:
    try:
        canonical = canonical_url(e.url) if e.url else None
    except ValueError:
        canonical = None
    return {
        "source": source,
        "guid": e.guid,
        "url": e.url,
        "canonical_url": canonical,
        "title": e.title,
        "summary": e.summary,
        "published": e.published,
        "author": e.author,
        "content": e.content,
        "views": e.views,
        "first_seen_at": now,
        # An entry with neither a link nor text of its own has nothing to make an article of.
        "status": "pending" if e.url or e.content else "empty",
        "attempts": 0,
    }


@dataclass(frozen=True, slots=True)
class PollRow:
    """One poll of one source, as the loader stores it. `unchanged`: the body was the same
    as last time and was not parsed; `pointers`: where each fetch's body is archived."""

    source: str
    fetch: FetchResult
    parsed: ParsedFeed | None
    body_hash: str | None = None
    unchanged: bool = False
    extra_fetches: tuple[FetchResult, ...] = ()
    pointers: tuple[Pointer | None, ...] = ()


@retry_conflicts
def record_polls(
    con: duckdb.DuckDBPyConnection, run_id: str, polls: Sequence[PollRow], now: datetime
) -> dict[str, int]:
    """Store the polls of a run in one transaction, a few statements whatever their number:
    the fetches, each source's feed state, and new entries. Returns new entries per source."""
    if not polls:
        return {}
    names = [p.source for p in polls]
    with transaction(con):
        _insert(con, "fetches", [row for p in polls for row in _poll_fetch_rows(run_id, p)])
        before = _entry_counts(con, names)
        rows = [
            _entry_row(p.source, e, now)
            for p in polls
            for e in (p.parsed.entries if p.parsed else ())
        ]
        _insert_new_entries(con, rows)
        after = _entry_counts(con, names)
        new = {name: after.get(name, 0) - before.get(name, 0) for name in names}
        _update_feed_states(con, [_feed_state_row(p, new[p.source], now) for p in polls])
        _link_known_urls(con)
    return new


def record_poll(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    fetch: FetchResult,
    parsed: ParsedFeed | None,
    now: datetime,
    **poll: Any,
) -> int:
    """Store one poll (see `record_polls`); returns how many entries were new."""
    return record_polls(con, run_id, [PollRow(source, fetch, parsed, **poll)], now)[source]


def _poll_fetch_rows(run_id: str, poll: PollRow) -> list[dict[str, Any]]:
    fetches = (poll.fetch, *poll.extra_fetches)
    pointers = [*poll.pointers, *[None] * (len(fetches) - len(poll.pointers))]
    return [
        _fetch_row(run_id, poll.source, "feed", f, p)
        for f, p in zip(fetches, pointers, strict=True)
    ]


def _entry_counts(con: duckdb.DuckDBPyConnection, sources: list[str]) -> dict[str, int]:
    with keys(con, sources) as names:
        rows = con.execute(
            f"SELECT source, count(*) FROM entries WHERE source IN {names} GROUP BY source"
        ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _feed_state_row(poll: PollRow, new: int, now: datetime) -> dict[str, Any]:
    fetch, parsed = poll.fetch, poll.parsed
    result = poll_result(fetch, parsed, poll.unchanged)
    parsed_ok = result in ("ok", "partial")
    error_kind, error = poll_error(fetch, parsed)
    return {
        "source": poll.source,
        "etag": fetch.etag,
        "last_modified": fetch.last_modified,
        "moved_to": fetch.moved_to,
        "body_hash": poll.body_hash if parsed_ok else None,
        "now": now,
        "status": fetch.status,
        "result": result,
        "error_kind": error_kind,
        "error": error,
        "failed": result == "failed",
        "parsed_ok": parsed_ok,
        "entries": len(parsed.entries) if parsed else 0,
        "new": new,
    }


def _update_feed_states(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    schema = pa.schema(
        [
            ("source", pa.string()),
            ("etag", pa.string()),
            ("last_modified", pa.string()),
            ("moved_to", pa.string()),
            ("body_hash", pa.string()),
            ("now", pa.timestamp("us", tz="UTC")),
            ("status", pa.int32()),
            ("result", pa.string()),
            ("error_kind", pa.string()),
            ("error", pa.string()),
            ("failed", pa.bool_()),
            ("parsed_ok", pa.bool_()),
            ("entries", pa.int64()),
            ("new", pa.int64()),
        ]
    )
    execute_with(
        con,
        """
            UPDATE feed_state SET
                etag = coalesce(p.etag, feed_state.etag),
                last_modified = coalesce(p.last_modified, feed_state.last_modified),
                final_url = coalesce(p.moved_to, feed_state.final_url),
                body_hash = coalesce(p.body_hash, feed_state.body_hash),
                last_poll_at = p.now, last_status = p.status, last_result = p.result,
                last_error_kind = p.error_kind, last_error = p.error,
                last_success_at = CASE WHEN p.failed THEN feed_state.last_success_at
                                       ELSE p.now END,
                last_entries = CASE WHEN p.parsed_ok THEN p.entries
                                    ELSE feed_state.last_entries END,
                last_new_entries = p.new
            FROM _polls p WHERE feed_state.source = p.source
        """,
        "_polls",
        rows,
        schema,
    )


def _insert_new_entries(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert entries not seen before: by guid, and by canonical URL within the source, so a
    feed that rewrites its guids does not make us fetch the same article again."""
    new = """
        SELECT * FROM _entries b
        WHERE b.canonical_url IS NULL OR NOT EXISTS (
            SELECT 1 FROM entries e
            WHERE e.source = b.source AND e.canonical_url = b.canonical_url
        )
    """
    execute_with(con, insert_new_sql(con, "entries", new), "_entries", rows)


@retry_conflicts
def record_schedules(
    con: duckdb.DuckDBPyConnection, plans: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Store when each source is to be polled next, and why, in one statement: dicts with
    source, next_poll_at, interval_s, failure_score, consecutive_failures, slow_retry,
    disabled_reason, note. A disabling reason disables the source."""
    if not plans:
        return
    schema = pa.schema(
        [
            ("source", pa.string()),
            ("next_poll_at", pa.timestamp("us", tz="UTC")),
            ("interval_s", pa.int64()),
            ("failure_score", pa.float64()),
            ("consecutive_failures", pa.int64()),
            ("slow_retry", pa.bool_()),
            ("disabled_reason", pa.string()),
            ("note", pa.string()),
        ]
    )
    with registered(con, "_plans", plans, schema):
        con.execute(
            """
            UPDATE feed_state SET next_poll_at = p.next_poll_at, poll_interval_s = p.interval_s,
                   failure_score = p.failure_score,
                   consecutive_failures = p.consecutive_failures, slow_retry = p.slow_retry,
                   schedule_note = p.note,
                   disabled_reason = coalesce(p.disabled_reason, feed_state.disabled_reason),
                   disabled_at = CASE WHEN p.disabled_reason IS NOT NULL
                                       AND feed_state.disabled_reason IS NULL THEN ?
                                      ELSE feed_state.disabled_at END
            FROM _plans p WHERE feed_state.source = p.source
            """,
            [now],
        )


@retry_conflicts
def enable_source(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """Re-enable a disabled source and forget its failures; False when there is no such
    source. It is polled on the next run."""
    row = con.execute(
        """
        UPDATE feed_state SET disabled_reason = NULL, disabled_at = NULL, failure_score = 0,
               consecutive_failures = 0, slow_retry = FALSE, next_poll_at = NULL,
               schedule_note = 're-enabled by hand'
        WHERE source = ?
        """,
        [source],
    ).fetchone()
    return bool(row and row[0])  # rows updated (DuckLake has no UPDATE ... RETURNING)


def _link_known_urls(con: duckdb.DuckDBPyConnection) -> None:
    """A new entry whose URL is already an article needs no fetch: link it to that article."""
    con.execute(
        """
        UPDATE entries SET status = 'duplicate', article_id = a.id
        FROM articles a
        WHERE entries.status = 'pending' AND entries.canonical_url = a.canonical_url
        """
    )


@retry_conflicts
def record_page_fetches(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    fetches: Sequence[tuple[str, FetchResult, Pointer | None]],
) -> None:
    """Log the page fetches of a run: (source, fetch, where its body is archived)."""
    rows = [_fetch_row(run_id, source, "page", f, p) for source, f, p in fetches]
    with transaction(con):
        _insert(con, "fetches", rows)


# --- articles -----------------------------------------------------------------------------------


@retry_conflicts
def store_pages(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[ProcessedPage],
    watchlist_version: str,
    now: datetime,
    near: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Store a batch of processed pages in one transaction: new articles, their stories and
    topic matches, duplicates folded into the story of their original, and the entries' new
    status. Exact copies are found here by content hash; `near` maps the ids of near copies
    (found by `flows.stories`) to the article each copies. Returns counts: stored,
    duplicates, failed."""
    good = [p for p in pages if p.article is not None]
    failed = [p for p in pages if p.article is None]
    with transaction(con):
        stored, duplicates = _store_articles(con, good, watchlist_version, now, near or {})
        _mark_failed(con, failed)
    return {"stored": stored, "duplicates": duplicates, "failed": len(failed)}


def _store_articles(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[ProcessedPage],
    watchlist_version: str,
    now: datetime,
    near: Mapping[str, str],
) -> tuple[int, int]:
    # Earliest first, so that within a batch the original comes before its copies.
    ordered = sorted(pages, key=lambda p: (p.article.published is None, p.article.published or now))  # type: ignore[union-attr]
    ids = [article_id(p.article.canonical_url) for p in ordered]  # type: ignore[union-attr]
    existing = _existing_ids(con, ids)
    by_hash = _originals_by_hash(con, [p.content_hash for p in ordered])
    # article id -> (the original it copies or itself, its story), for near copies' lookups
    families = _families(con, list(set(near.values())))
    article_rows, story_rows, match_rows, entry_rows = [], [], [], []
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
    _insert(con, "stories", story_rows, mode="OR IGNORE")
    # A plain INSERT: these ids were checked absent above, in this transaction. DuckDB's
    # INSERT OR IGNORE checks every row against both unique indexes of `articles` at a cost
    # that grows with the table (1.3 s for 500 rows at 1M articles, 13 ms plain; growth.py).
    _insert(con, "articles", article_rows)
    _insert(con, "topic_matches", match_rows, mode="OR IGNORE")
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


def _existing_ids(con: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    with keys(con, ids) as wanted:
        rows = con.execute(f"SELECT id FROM articles WHERE id IN {wanted}").fetchall()
    return {r[0] for r in rows}


def _originals_by_hash(
    con: duckdb.DuckDBPyConnection, hashes: list[str]
) -> dict[str, tuple[str, str]]:
    """content hash -> (id, story id) of the first stored article with that text."""
    if not hashes:
        return {}
    with keys(con, hashes) as wanted:
        rows = con.execute(
            f"""
            SELECT content_hash, arg_min(id, coalesce(published, fetched_at)),
                   arg_min(story_id, coalesce(published, fetched_at))
            FROM articles
            WHERE content_hash IN {wanted} AND duplicate_of IS NULL
            GROUP BY content_hash
            """
        ).fetchall()
    return {h: (aid, sid) for h, aid, sid in rows}


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
        "title": a.title,
        "authors": list(a.authors),
        "published": a.published,
        "language": a.language,
        "site_name": a.site_name,
        "description": a.description,
        "text": a.text,
        "content_hash": page.content_hash,
        "near_dup_signature": page.signature,
        "story_id": story_id,
        "duplicate_of": duplicate_of,
        "extractor_version": page.extractor_version,
        "archive_path": page.archive_path,
        "archive_offset": page.archive_offset,
        "views": page.views,
        "fetched_at": page.fetched_at,
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
    rows = []
    for aid, page in pages:
        a = page.article
        assert a is not None
        rows.append(
            {
                "id": aid,
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
                "watchlist_version": watchlist_version,
            }
        )
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
        _insert(con, "topic_matches", matches)


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
        _insert(con, "topic_matches", rows)
