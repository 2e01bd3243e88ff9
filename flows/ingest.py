"""The `ingest` flow: poll sources, keep new entries, fetch, extract, dedupe, tag, load.

The flow only sequences the steps; each task is a batch (all feeds, or a chunk of pages), never
one article. Everything a step learns is stored before the next step starts, so a run that
dies halfway leaves its entries `pending` and the next run picks them up.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from extractors.records import EntryKey, FetchResult, ProcessedPage, Source
from extractors.topics import Watchlist, load_watchlist
from flows.extract import PageJob, process_pages, process_post
from flows.fetch import Request, fetch_many
from flows.poll import Poll, poll_sources
from flows.schedule import Outcome, plan_next
from newswatch.config import load_sources
from newswatch.errors import NewswatchError
from newswatch.settings import Settings, load_settings
from warehouse import load, queries
from warehouse.db import connect

PAGE_BATCH = 200


@dataclass
class IngestSummary:
    """What one run did; stored in `runs.counts` and returned by the flow."""

    run_id: str
    sources: int = 0
    feeds_failed: int = 0
    feeds_not_modified: int = 0
    entries_new: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    articles_new: int = 0
    duplicates: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "run_id"}


@task(name="poll-sources", cache_policy=NO_CACHE)
def poll_due_sources(
    settings: Settings,
    sources: Sequence[Source],
    states: dict[str, queries.FeedState],
    known_posts: dict[str, set[str]],
) -> list[Poll]:
    """Fetch each source's feed (conditionally) and parse what changed."""
    return poll_sources(settings, sources, states, known_posts)


@task(name="fetch-pages", cache_policy=NO_CACHE)
def fetch_pages(settings: Settings, urls: Sequence[str]) -> list[FetchResult]:
    requests = [Request(u) for u in urls]
    return fetch_many(settings, requests, settings.page_timeout, robots=settings.respect_robots)


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages(
    settings: Settings, jobs: Sequence[PageJob], watchlist: Watchlist
) -> list[ProcessedPage]:
    return process_pages(jobs, watchlist, settings.watchlist, settings.workers)


@task(name="load-pages", cache_policy=NO_CACHE)
def load_pages(
    con: duckdb.DuckDBPyConnection, pages: Sequence[ProcessedPage], watchlist_version: str
) -> dict[str, int]:
    return load.store_pages(con, pages, watchlist_version, datetime.now(UTC))


@flow(name="ingest")
def ingest(
    feeds: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    all_sources: bool = False,
) -> dict:
    """Poll the due sources of `feeds` (every enabled one with `all_sources`), store new
    articles tagged against `watchlist` in `db`."""
    settings = load_settings(feeds=feeds, watchlist=watchlist, db=db)
    sources = load_sources(settings.feeds)
    wl = load_watchlist(settings.watchlist)
    summary = IngestSummary(run_id=_run_id())
    logger = get_run_logger()
    with connect(settings.db) as con:
        load.start_run(con, summary.run_id, "ingest", datetime.now(UTC))
        try:
            _ingest(con, settings, sources, wl, summary, all_sources)
        except BaseException as exc:
            load.finish_run(
                con, summary.run_id, "failed", summary.counts(), datetime.now(UTC), str(exc)
            )
            raise
        status = _status(summary)
        load.finish_run(con, summary.run_id, status, summary.counts(), datetime.now(UTC))
    logger.info(
        "ingest done status=%s %s",
        status,
        " ".join(f"{k}={v}" for k, v in summary.counts().items()),
    )
    if status == "failed":
        raise NewswatchError(f"every one of {summary.sources} sources failed to poll")
    return summary.counts() | {"status": status, "run_id": summary.run_id}


def _ingest(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    sources: list[Source],
    wl: Watchlist,
    summary: IngestSummary,
    all_sources: bool,
) -> None:
    now = datetime.now(UTC)
    load.sync_sources(con, sources, now)
    enabled = queries.due_sources(con, None if all_sources else now)
    due = [s for s in sources if s.name in enabled]
    states = queries.feed_states(con)
    telegram = [s.name for s in due if s.kind == "telegram"]
    polls = poll_due_sources(settings, due, states, queries.known_guids(con, telegram))
    _record_polls(con, settings, summary, polls, states)
    pending = queries.pending_entries(con)
    by_name = {s.name: s for s in sources}
    posts = [p for p in pending if p.entry.content is not None]
    pages = [p for p in pending if p.entry.content is None and p.canonical_url]
    if posts:
        _count_load(summary, load_pages(con, _process_posts(posts, by_name, wl), wl.version))
    for start in range(0, len(pages), PAGE_BATCH):
        _ingest_pages(con, settings, wl, pages[start : start + PAGE_BATCH], summary)


def _record_polls(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    summary: IngestSummary,
    polls: list[Poll],
    states: dict[str, queries.FeedState],
) -> None:
    """Store each poll, then plan each source's next one from what it found."""
    now = datetime.now(UTC)
    for poll in polls:
        summary.entries_new += load.record_poll(
            con,
            summary.run_id,
            poll.source.name,
            poll.fetch,
            poll.parsed,
            now,
            body_hash=poll.body_hash,
            unchanged=poll.unchanged,
            extra_fetches=poll.extra_fetches,
        )
        _count_poll(summary, poll)
    rates = queries.published_last_week(con, [p.source.name for p in polls], now)
    for poll in polls:
        state = states.get(poll.source.name, queries.FeedState())
        plan = plan_next(
            _outcome(poll, rates[poll.source.name]),
            now=now,
            policy=settings.policy(poll.source),
            failure_score=state.failure_score,
            consecutive_failures=state.consecutive_failures,
        )
        load.record_schedule(con, poll.source.name, **asdict(plan), now=now)
        if plan.disabled_reason:
            get_run_logger().warning(
                "source disabled source=%r reason=%s", poll.source.name, plan.disabled_reason
            )


def _outcome(poll: Poll, published_last_week: int) -> Outcome:
    hints = [h for h in (poll.fetch.max_age_s, poll.parsed and poll.parsed.ttl_seconds) if h]
    return Outcome(
        failed=poll.failed,
        error_kind=poll.error_kind,
        status=poll.fetch.status,
        error=poll.error,
        retry_after_s=poll.fetch.retry_after_s,
        hint_s=max(hints) if hints else None,
        published_last_week=published_last_week,
    )


def _count_poll(summary: IngestSummary, poll: Poll) -> None:
    summary.sources += 1
    if poll.fetch.not_modified or poll.unchanged:
        summary.feeds_not_modified += 1
    elif poll.failed:
        summary.feeds_failed += 1
        _count_failure(summary, poll.error_kind or "unknown")
        get_run_logger().warning(
            "feed failed source=%r url=%s status=%s error_kind=%s error=%s",
            poll.source.name,
            poll.fetch.url,
            poll.fetch.status,
            poll.error_kind,
            poll.error,
        )


def _process_posts(
    pending: Sequence[queries.PendingEntry], sources: dict[str, Source], wl: Watchlist
) -> list[ProcessedPage]:
    now = datetime.now(UTC)
    return [
        process_post(
            EntryKey(p.source, p.entry.guid),
            p.outlet,
            p.entry.url,
            p.entry.title,
            p.entry.content or "",
            p.entry.published,
            p.entry.views,
            now,
            wl,
            language=sources[p.source].language if p.source in sources else None,
        )
        for p in pending
    ]


def _ingest_pages(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    wl: Watchlist,
    pending: Sequence[queries.PendingEntry],
    summary: IngestSummary,
) -> None:
    """One batch: fetch each distinct URL once, log the fetches, extract, load."""
    groups: dict[str, list[queries.PendingEntry]] = defaultdict(list)
    for p in pending:
        groups[p.canonical_url or p.entry.url].append(p)
    firsts = [entries[0] for entries in groups.values()]
    results = fetch_pages(settings, [p.entry.url for p in firsts])
    load.record_page_fetches(
        con, summary.run_id, [(p.source, r) for p, r in zip(firsts, results, strict=True)]
    )
    jobs, failed = [], []
    for (key, entries), result in zip(groups.items(), results, strict=True):
        keys = tuple(EntryKey(p.source, p.entry.guid) for p in entries)
        first = entries[0]
        summary.pages_fetched += 1
        if result.ok:
            jobs.append(
                PageJob(
                    keys,
                    first.source,
                    first.outlet,
                    result.final_url or key,
                    result.body,
                    result.fetched_at or datetime.now(UTC),
                    first.entry.published,
                    first.entry.title,
                )
            )
        else:
            failed.append(
                ProcessedPage(
                    keys,
                    first.source,
                    first.outlet,
                    result.fetched_at or datetime.now(UTC),
                    error_kind=result.error_kind or "http_status",
                    error_message=result.error_message or f"HTTP {result.status}",
                )
            )
    processed = extract_pages(settings, jobs, wl) + failed
    _count_load(summary, load_pages(con, processed, wl.version))
    for page in processed:
        if page.error_kind:
            summary.pages_failed += 1
            _count_failure(summary, page.error_kind)
            get_run_logger().warning(
                "page failed source=%r url=%s error_kind=%s error=%s",
                page.source,
                page.entries[0].guid,
                page.error_kind,
                page.error_message,
            )


def _count_load(summary: IngestSummary, counts: dict[str, int]) -> None:
    summary.articles_new += counts["stored"]
    summary.duplicates += counts["duplicates"]


def _count_failure(summary: IngestSummary, kind: str) -> None:
    summary.failures[kind] = summary.failures.get(kind, 0) + 1


def _status(summary: IngestSummary) -> str:
    if summary.sources and summary.feeds_failed == summary.sources:
        return "failed"
    if summary.feeds_failed or summary.pages_failed:
        return "partial"
    return "completed"


def _run_id() -> str:
    try:
        return str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    except (RuntimeError, AttributeError):
        return uuid.uuid4().hex
