"""The `ingest` flow: poll due sources, keep new entries, fetch, archive, extract, tag, load.

The flow only sequences the steps; each task is a batch (all due feeds, or a chunk of pages),
never one article. Everything a step learns is stored before the next step starts, so a run
that dies halfway leaves its entries `pending` and the next run picks them up.

The full-text search index is not built here: it is derived from the stored articles, and
its rebuild runs on one core while the extraction pool would idle, so it is its own flow
(`flows/search_index.py`), run after ingest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.utilities.annotations import quote

from extractors.near_dups import NearDuplicateIndex
from extractors.records import EntryKey, ProcessedPage, Source
from extractors.topics import Watchlist, load_watchlist
from flows import pages as page_stream
from flows.extract import (
    ExtractionPool,
    PageJob,
    process_pages,
    process_post,
    start_worker_server,
)
from flows.poll import Poll, poll_sources, store_polls
from flows.stories import build_index, near_duplicates
from newswatch.config import load_sources, shard_filter
from newswatch.errors import NewswatchError
from newswatch.settings import Settings, load_settings
from warehouse import load, queries
from warehouse.archive import ArchiveWriter
from warehouse.db import connect

# Pages per fetch-extract task: large enough that Prefect's cost per task (tens of ms) stays
# small against the work (~10 s for 500 pages on 2 cores), small enough to bound memory.
PAGE_BATCH = 500


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
    entries_waiting: int = 0  # pending beyond max_entries_per_source, left for the next runs
    failures: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "run_id"}

    def failure(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1

    def loaded(self, counts: dict[str, int]) -> None:
        self.articles_new += counts["stored"]
        self.duplicates += counts["duplicates"]

    def status(self) -> str:
        if self.sources and self.feeds_failed == self.sources:
            return "failed"
        return "partial" if self.feeds_failed or self.pages_failed else "completed"


@dataclass
class Run:
    """What every step of one run works with."""

    con: duckdb.DuckDBPyConnection
    settings: Settings
    watchlist: Watchlist
    archive: ArchiveWriter
    summary: IngestSummary
    stories: NearDuplicateIndex
    pool: ExtractionPool


# --- tasks: one per batch -------------------------------------------------------------------


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
def fetch_pages(
    run: Run, groups: Sequence[Sequence[queries.PendingEntry]]
) -> page_stream.FetchedBatch:
    """Fetch a batch of pages, archiving each one and handing it to the extraction pool as
    it arrives; returns when the last fetch has ended, with the extractions under way."""
    return page_stream.fetch_batch(run.settings, groups, run.archive, run.pool)


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages(settings: Settings, jobs: Sequence[PageJob]) -> list[ProcessedPage]:
    return process_pages(jobs, settings.watchlist, settings.workers, settings.extract_timeout)


@task(name="load-pages", cache_policy=NO_CACHE)
def load_pages(run: Run, pages: Sequence[ProcessedPage]) -> dict[str, int]:
    """Find near copies (the index keeps them for the rest of the run), then store."""
    now = datetime.now(UTC)
    near = near_duplicates(run.stories, pages, now)
    return load.store_pages(run.con, pages, run.watchlist.version, now, near)


# --- the flow -------------------------------------------------------------------------------


@flow(name="ingest")
def ingest(
    feeds: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    all_sources: bool = False,
    shard: str | None = None,
    lock_wait: float = 0.0,
) -> dict:
    """Poll the due sources of `feeds` (every enabled one with `all_sources`), store new
    articles tagged against `watchlist` in `db`. With `shard` "k/n", only the sources of
    shard k of n and their entries: n workers writing to one DuckLake share the sources.
    Waits up to `lock_wait` seconds for another process to release the database file."""
    settings = load_settings(feeds=feeds, watchlist=watchlist, db=db)
    start_worker_server()  # warms up on another core while the feeds are polled
    sources = load_sources(settings.feeds)
    mine = shard_filter(shard)
    wl = load_watchlist(settings.watchlist)
    summary = IngestSummary(run_id=_run_id())
    with (
        connect(settings.warehouse_url, wait=lock_wait) as con,
        ArchiveWriter(settings.archive_dir, summary.run_id) as archive,
        ExtractionPool(settings.watchlist, settings.workers, settings.extract_timeout) as pool,
    ):
        pool.start()  # workers start while the feeds are polled
        window = timedelta(days=settings.dedup_window_days)
        index = build_index(con, datetime.now(UTC), window)
        run = Run(con, settings, wl, archive, summary, index, pool)
        load.start_run(con, summary.run_id, "ingest", datetime.now(UTC))
        try:
            _ingest(run, sources, all_sources, mine)
        except BaseException as exc:
            load.finish_run(
                con, summary.run_id, "failed", summary.counts(), datetime.now(UTC), str(exc)
            )
            raise
        status = summary.status()
        load.finish_run(con, summary.run_id, status, summary.counts(), datetime.now(UTC))
    counts = " ".join(f"{k}={v}" for k, v in summary.counts().items())
    get_run_logger().info("ingest done status=%s %s", status, counts)
    if status == "failed":
        raise NewswatchError(f"every one of {summary.sources} sources failed to poll")
    return summary.counts() | {"status": status, "run_id": summary.run_id}


def _ingest(
    run: Run, sources: list[Source], all_sources: bool, mine: Callable[[str], bool]
) -> None:
    now = datetime.now(UTC)
    load.sync_sources(run.con, sources, now)
    enabled = queries.due_sources(run.con, None if all_sources else now)
    due = [s for s in sources if s.name in enabled and mine(s.name)]
    states = queries.feed_states(run.con)
    telegram = [s.name for s in due if s.kind == "telegram"]
    polls = poll_due_sources(run.settings, due, states, queries.known_guids(run.con, telegram))
    _record_polls(run, polls, states)
    # A bounded number per source, so a feed with 100,000 new entries cannot make one run
    # endless; the rest stay pending (already recorded as seen) for the next runs.
    per_source = run.settings.max_entries_per_source
    pending = [p for p in queries.pending_entries(run.con, per_source=per_source) if mine(p.source)]
    posts = [p for p in pending if p.entry.content is not None]
    pages = [p for p in pending if p.entry.content is None and p.canonical_url]
    if posts:
        languages = {s.name: s.language for s in sources}
        processed = _process_posts(posts, languages, run.watchlist)
        run.summary.loaded(load_pages(run, quote(processed)))
    _ingest_pages(run, pages)
    run.summary.entries_waiting = queries.waiting_entries(run.con)


# --- polls ----------------------------------------------------------------------------------


def _record_polls(run: Run, polls: list[Poll], states: dict[str, queries.FeedState]) -> None:
    """Archive and store the polls and plan each source's next one; count and log them."""
    new, plans = store_polls(
        run.con, run.settings, run.summary.run_id, polls, states, run.archive, datetime.now(UTC)
    )
    run.summary.entries_new += sum(new.values())
    for poll in polls:
        _count_poll(run.summary, poll)
    for plan in plans:
        if plan["disabled_reason"]:
            get_run_logger().warning(
                "source disabled source=%r reason=%s", plan["source"], plan["disabled_reason"]
            )


def _count_poll(summary: IngestSummary, poll: Poll) -> None:
    summary.sources += 1
    if poll.fetch.not_modified or poll.unchanged:
        summary.feeds_not_modified += 1
    elif poll.failed:
        summary.feeds_failed += 1
        summary.failure(poll.error_kind or "unknown")
        get_run_logger().warning(
            "feed failed source=%r url=%s status=%s error_kind=%s error=%s",
            poll.source.name,
            poll.fetch.url,
            poll.fetch.status,
            poll.error_kind,
            poll.error,
        )


# --- articles -------------------------------------------------------------------------------


def _process_posts(
    pending: Sequence[queries.PendingEntry], languages: dict[str, str], wl: Watchlist
) -> list[ProcessedPage]:
    """Entries that carry their own text (Telegram posts, items without links)."""
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
            language=languages.get(p.source),
        )
        for p in pending
    ]


def _ingest_pages(run: Run, pending: Sequence[queries.PendingEntry]) -> None:
    """Fetch, archive, extract and load the pages of `pending`, a batch at a time; each
    distinct page is fetched once. A batch's fetching starts (in a task thread) as soon as
    the previous batch is fetched, while that one is still extracted and then stored: the
    pool always has pages queued, so the workers wait neither for the warehouse nor for the
    slowest page of a batch. At most two batches' pages wait in the pool."""
    groups = page_stream.group_by_page(pending)
    batches = [groups[i : i + PAGE_BATCH] for i in range(0, len(groups), PAGE_BATCH)]
    if not batches:
        return
    # quote(): Prefect would otherwise walk every entry and page of a batch looking for
    # futures in the task's arguments (~0.5 ms a page).
    ahead = fetch_pages.submit(run, quote(batches[0]))
    try:
        for following in [*batches[1:], None]:
            assert ahead is not None, "each round starts with a batch on the wire"
            fetched = ahead.result()
            ahead = fetch_pages.submit(run, quote(following)) if following else None
            _store_pages(run, fetched.collect(run.pool))
    finally:
        if ahead is not None:
            ahead.wait()  # nothing may still write the archive once the run closes it


def _store_pages(run: Run, batch: page_stream.PageBatch) -> None:
    """Log a batch's fetches, store its pages, and count and log its failures."""
    load.record_page_fetches(run.con, run.summary.run_id, batch.fetches)
    run.summary.pages_fetched += len(batch.fetches)
    run.summary.loaded(load_pages(run, quote(batch.pages)))
    for page in batch.pages:
        if page.error_kind:
            run.summary.pages_failed += 1
            run.summary.failure(page.error_kind)
            get_run_logger().warning(
                "page failed source=%r entry=%s error_kind=%s error=%s",
                page.source,
                page.entries[0].guid,
                page.error_kind,
                page.error_message,
            )


def _run_id() -> str:
    try:
        return str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    except (RuntimeError, AttributeError):
        return uuid.uuid4().hex
