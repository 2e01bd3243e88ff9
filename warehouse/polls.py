"""Recording polls: the configured sources, each poll's fetches and new entries, feed state,
the schedule of the next poll, and the log of page fetches.

Idempotent like every load: sources are upserted by name, entries are inserted only when their
guid (or, within a source, their canonical URL) is new, and a new entry whose URL is already a
stored article is linked to it at once instead of being fetched again. Each call is one
transaction, a few statements whatever the number of polls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from extractors.records import FeedEntry, FetchResult, ParsedFeed, Source, poll_error, poll_result
from extractors.urls import canonical_url
from warehouse.archive import Pointer
from warehouse.batches import column_types, execute_with, insert_rows, keys, registered
from warehouse.migrate import insert_new_sql
from warehouse.transactions import retry_conflicts, transaction


@retry_conflicts
def sync_sources(con: duckdb.DuckDBPyConnection, sources: Iterable[Source], now: datetime) -> None:
    """Make the `sources` table match the feeds file: removed sources are kept with their
    history, flagged (`in_config` false, `removed_at` when they left); paused ones are
    kept and flagged `paused`."""
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
            "paused": s.paused,
            "user_agent": s.user_agent,
            "ca_bundle": s.ca_bundle,
            "dates": s.dates,
            "in_config": True,
            "added_at": now,
            "updated_at": now,
        }
        for s in sources
    ]
    with transaction(con):
        with keys(con, [str(r["name"]) for r in rows]) as names:
            con.execute(
                f"""
                UPDATE sources SET in_config = FALSE, removed_at = coalesce(removed_at, ?)
                WHERE in_config AND name NOT IN {names}
                """,
                [now],
            )
        insert_rows(con, "sources", rows, mode="OR IGNORE")
        execute_with(
            con,
            """
            UPDATE sources SET kind = c.kind, url = c.url, outlet = c.outlet,
                   language = c.language, country = c.country, tags = c.tags,
                   min_interval_s = c.min_interval_s, max_interval_s = c.max_interval_s,
                   paused = c.paused, user_agent = c.user_agent, ca_bundle = c.ca_bundle,
                   dates = c.dates, in_config = TRUE, removed_at = NULL,
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
        "bytes": f.size,
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
        insert_rows(con, "fetches", [row for p in polls for row in _poll_fetch_rows(run_id, p)])
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
    types = column_types(
        "source VARCHAR, etag VARCHAR, last_modified VARCHAR, moved_to VARCHAR,"
        " body_hash VARCHAR, now TIMESTAMPTZ, status INTEGER, result VARCHAR,"
        " error_kind VARCHAR, error VARCHAR, failed BOOLEAN, parsed_ok BOOLEAN,"
        " entries BIGINT, new BIGINT"
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
        types,
    )


def _insert_new_entries(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert entries not seen before: by guid, and by canonical URL within the source, so a
    feed that rewrites its guids does not make us fetch the same article again. The stored
    entries with one of the batch's URLs are found first, by the index on the URL (migration
    010): matching on source and URL at once read every stored entry's URL."""
    new = """
        SELECT * FROM _entries b
        WHERE b.canonical_url IS NULL OR NOT EXISTS (
            SELECT 1 FROM (
                SELECT source, canonical_url FROM entries
                WHERE canonical_url IN (SELECT canonical_url FROM _entries)
            ) e
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
    types = column_types(
        "source VARCHAR, next_poll_at TIMESTAMPTZ, interval_s BIGINT, failure_score DOUBLE,"
        " consecutive_failures BIGINT, slow_retry BOOLEAN, disabled_reason VARCHAR,"
        " note VARCHAR"
    )
    with registered(con, "_plans", plans, types):
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
    if not rows:
        return
    with transaction(con):
        insert_rows(con, "fetches", rows)
