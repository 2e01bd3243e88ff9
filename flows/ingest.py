"""The `ingest` flow: poll due sources, keep new entries, fetch, archive, extract, tag, load.

The flow only sequences the steps; each task is a batch (all due feeds, or a chunk of pages),
never one article. Everything a step learns is stored before the next step starts, so a run
that dies halfway leaves its entries `pending` and the next run picks them up.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from extractors.fingerprints import NearDuplicateIndex
from extractors.records import EntryKey, FetchResult, ProcessedPage, Source
from extractors.topics import Watchlist, load_watchlist
from flows.extract import PageJob, process_pages, process_post
from flows.fetch import Request, fetch_many
from flows.poll import Poll, poll_sources, store_polls
from flows.stories import build_index, near_duplicates
from newswatch.config import load_sources
from newswatch.errors import NewswatchError
from newswatch.settings import Settings, load_settings
from warehouse import load, queries
from warehouse.archive import ArchiveWriter, Pointer
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
def fetch_pages(settings: Settings, urls: Sequence[str]) -> list[FetchResult]:
    requests = [Request(u) for u in urls]
    return fetch_many(settings, requests, settings.page_timeout, robots=settings.respect_robots)


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
) -> dict:
    """Poll the due sources of `feeds` (every enabled one with `all_sources`), store new
    articles tagged against `watchlist` in `db`."""
    settings = load_settings(feeds=feeds, watchlist=watchlist, db=db)
    sources = load_sources(settings.feeds)
    wl = load_watchlist(settings.watchlist)
    summary = IngestSummary(run_id=_run_id())
    with (
        connect(settings.db) as con,
        ArchiveWriter(settings.archive_dir, summary.run_id) as archive,
    ):
        window = timedelta(days=settings.dedup_window_days)
        run = Run(con, settings, wl, archive, summary, build_index(con, datetime.now(UTC), window))
        load.start_run(con, summary.run_id, "ingest", datetime.now(UTC))
        try:
            _ingest(run, sources, all_sources)
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


def _ingest(run: Run, sources: list[Source], all_sources: bool) -> None:
    now = datetime.now(UTC)
    load.sync_sources(run.con, sources, now)
    enabled = queries.due_sources(run.con, None if all_sources else now)
    due = [s for s in sources if s.name in enabled]
    states = queries.feed_states(run.con)
    telegram = [s.name for s in due if s.kind == "telegram"]
    polls = poll_due_sources(run.settings, due, states, queries.known_guids(run.con, telegram))
    _record_polls(run, polls, states)
    pending = queries.pending_entries(run.con)
    posts = [p for p in pending if p.entry.content is not None]
    pages = [p for p in pending if p.entry.content is None and p.canonical_url]
    if posts:
        languages = {s.name: s.language for s in sources}
        processed = _process_posts(posts, languages, run.watchlist)
        run.summary.loaded(load_pages(run, processed))
    for start in range(0, len(pages), PAGE_BATCH):
        _ingest_pages(run, pages[start : start + PAGE_BATCH])


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
    """One batch: fetch each distinct URL once, archive and log the fetches, extract, load."""
    groups: dict[str, list[queries.PendingEntry]] = defaultdict(list)
    for p in pending:
        groups[p.canonical_url or p.entry.url].append(p)
    firsts = [entries[0] for entries in groups.values()]
    results = fetch_pages(run.settings, [p.entry.url for p in firsts])
    pointers = [run.archive.write(r) for r in results]
    load.record_page_fetches(
        run.con,
        run.summary.run_id,
        [(p.source, r, ptr) for p, r, ptr in zip(firsts, results, pointers, strict=True)],
    )
    jobs, failed = [], []
    for entries, result, pointer in zip(groups.values(), results, pointers, strict=True):
        run.summary.pages_fetched += 1
        page = _page_job(entries, result, pointer)
        (jobs if isinstance(page, PageJob) else failed).append(page)
    processed = extract_pages(run.settings, jobs) + failed
    run.summary.loaded(load_pages(run, processed))
    for page in processed:
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


def _page_job(
    entries: list[queries.PendingEntry], result: FetchResult, pointer: Pointer | None
) -> PageJob | ProcessedPage:
    """The extraction job of a fetched page, or the failure of a page that was not fetched."""
    keys = tuple(EntryKey(p.source, p.entry.guid) for p in entries)
    first = entries[0]
    fetched_at = result.fetched_at or datetime.now(UTC)
    if not result.ok:
        return ProcessedPage(
            keys,
            first.source,
            first.outlet,
            fetched_at,
            error_kind=result.error_kind or "http_status",
            error_message=result.error_message or f"HTTP {result.status}",
        )
    return PageJob(
        keys,
        first.source,
        first.outlet,
        result.final_url or first.entry.url,
        result.body,
        fetched_at,
        first.entry.published,
        first.entry.title,
        archive_path=pointer.path if pointer else None,
        archive_offset=pointer.offset if pointer else None,
    )


def _run_id() -> str:
    try:
        return str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    except (RuntimeError, AttributeError):
        return uuid.uuid4().hex
