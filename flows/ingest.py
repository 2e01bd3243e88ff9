"""The `ingest` flow: poll due sources, keep new entries, fetch, archive, extract, tag, load.

The flow only sequences the steps of `pipeline.ingest`; each task is a batch (all due feeds,
or a chunk of pages), never one article, and calls one library function. Everything a step
learns is stored before the next step starts, so a run that dies halfway leaves its entries
`pending` and the next run picks them up.

The full-text search index is not built here: it is derived from the stored articles, and
its rebuild runs on one core while the extraction pool would idle, so it is its own flow
(`flows/search_index.py`), run after ingest.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from extractors.records import ProcessedPage, Source
from newswatch.config import load_sources, shard_filter
from newswatch.errors import NewswatchError
from newswatch.options import ingest_options
from newswatch.settings import Settings, load_settings
from pipeline import ingest as steps
from pipeline.extract import PageJob, process_pages, start_worker_server
from pipeline.pages import FetchedBatch, fetch_batch
from pipeline.poll import Poll, PollOptions, poll_sources
from warehouse import queries

# --- tasks: one per batch -------------------------------------------------------------------


@task(name="poll-sources", cache_policy=NO_CACHE)
def poll_due_sources(options: PollOptions, due: steps.DueWork) -> list[Poll]:
    """Fetch each source's feed (conditionally) and parse what changed."""
    return poll_sources(options, due.sources, due.states, due.known_posts)


@task(name="fetch-pages", cache_policy=NO_CACHE)
def fetch_pages(run: steps.Run, groups: Sequence[Sequence[queries.PendingEntry]]) -> FetchedBatch:
    """Fetch a batch of pages, archiving each one and handing it to the extraction pool as
    it arrives; returns when the last fetch has ended, with the extractions under way."""
    return fetch_batch(run.options.pages, groups, run.archive, run.pool)


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages(
    jobs: Sequence[PageJob], watchlist: Path, workers: int, timeout: float
) -> list[ProcessedPage]:
    return process_pages(jobs, watchlist, workers, timeout)


@task(name="load-pages", cache_policy=NO_CACHE)
def load_pages(run: steps.Run, pages: Sequence[ProcessedPage]) -> dict[str, int]:
    """Find near copies (the index keeps them for the rest of the run), then store."""
    return steps.load_pages(run, pages)


# --- the flow -------------------------------------------------------------------------------


@flow(name="ingest")
def ingest(
    feeds: str | None = None,
    watchlist: str | None = None,
    db: str | None = None,
    all_sources: bool = False,
    shard: str | None = None,
    lock_wait: float = 0.0,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Poll the due sources of `feeds` (every enabled one with `all_sources`), store new
    articles tagged against `watchlist` in `db`. With `shard` "k/n", only the sources of
    shard k of n and their entries: n workers writing to one DuckLake share the sources.
    Waits up to `lock_wait` seconds for another process to release the database file.
    `settings` (default: from the environment) with `feeds`, `watchlist` and `db` on top."""
    settings = load_settings(base=settings, feeds=feeds, watchlist=watchlist, db=db)
    log = get_run_logger()
    log.info("ingest %s", settings.describe())
    start_worker_server()  # warms up on another core while the feeds are polled
    sources = load_sources(settings.feeds)
    mine = shard_filter(shard)
    with steps.open_run(ingest_options(settings), _run_id(), lock_wait) as run:
        _ingest(run, sources, all_sources, mine)
    summary = run.summary
    status = summary.status()
    counts = " ".join(f"{k}={v}" for k, v in summary.counts().items())
    log.info("ingest done status=%s %s", status, counts)
    if status == "failed":
        raise NewswatchError(f"every one of {summary.sources} sources failed to poll")
    return summary.counts() | {"status": status, "run_id": summary.run_id}


def _ingest(run: steps.Run, sources: list[Source], all_sources: bool, mine: steps.Shard) -> None:
    log = get_run_logger()
    due = steps.due_work(run, sources, all_sources, mine)
    polls = poll_due_sources(run.options.poll, due)
    steps.record_polls(run, polls, due.states, log)
    posts, pages = steps.pending_work(run, mine)
    if posts:
        processed = steps.process_posts(posts, sources, run.watchlist)
        run.summary.loaded(load_pages(run, quote(processed)))
    _ingest_pages(run, pages)
    steps.finish(run)


def _ingest_pages(run: steps.Run, pending: Sequence[queries.PendingEntry]) -> None:
    """Fetch, archive, extract and load the pages of `pending`, a batch at a time. A batch's
    fetching starts (in a task thread) as soon as the previous batch is fetched, while that
    one is still extracted and then stored: the pool always has pages queued, so the workers
    wait neither for the warehouse nor for the slowest page of a batch. At most two batches'
    pages wait in the pool."""
    batches = steps.page_batches(pending)
    if not batches:
        return
    # quote(): Prefect would otherwise walk every entry and page of a batch looking for
    # futures in the task's arguments (~0.5 ms a page).
    ahead: PrefectFuture[FetchedBatch] | None = fetch_pages.submit(run, quote(batches[0]))
    try:
        for following in [*batches[1:], None]:
            assert ahead is not None, "each round starts with a batch on the wire"
            fetched = ahead.result()
            ahead = fetch_pages.submit(run, quote(following)) if following else None
            batch = fetched.collect(run.pool)
            steps.record_page_fetches(run, batch)
            run.summary.loaded(load_pages(run, quote(batch.pages)))
            steps.count_failed_pages(run, batch.pages, get_run_logger())
    finally:
        if ahead is not None:
            ahead.wait()  # nothing may still write the archive once the run closes it


def _run_id() -> str:
    """The flow run's id (a fresh one when the flow body runs outside a flow run)."""
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        return str(context.flow_run.id)
    return uuid.uuid4().hex
