"""The `ingest` flow: poll due sources, keep new entries, fetch, archive, extract, tag, load.

The run itself is `newswatch.runs.ingest` (what `newswatch ingest` runs without Prefect,
around `pipeline.ingest.ingest_sources`); the flow hands it the batch steps as
Prefect tasks, each a batch (all due feeds, or a chunk of pages), never one article, and
each a one-line call into the pipeline. Everything a step learns is stored before the next
step starts, so a run that dies halfway leaves its entries `pending` and the next run picks
them up.

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

from extractors.records import ProcessedPage
from newswatch import runs
from newswatch.settings import Settings, load_settings
from pipeline import ingest as steps
from pipeline.extract import PageJob, process_pages
from pipeline.pages import FetchedBatch, PageFetch, fetch_batch
from pipeline.poll import Poll, PollOptions
from pipeline.progress import Logged

# --- tasks: one per batch -------------------------------------------------------------------


@task(name="poll-sources", cache_policy=NO_CACHE)
def poll_due_sources(options: PollOptions, due: steps.DueWork) -> list[Poll]:
    """Fetch each source's feed (conditionally) and parse what changed."""
    return steps.poll_due(options, due)


@task(name="fetch-pages", cache_policy=NO_CACHE)
def fetch_pages(run: steps.Run, groups: steps.Groups) -> FetchedBatch:
    """Fetch a batch of pages, archiving each one and handing it to the extraction pool as
    it arrives; returns when the last fetch has ended, with the extractions under way."""
    return fetch_batch(run.options.pages, groups, run.archive, run.pool, run.progress.page)


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages(
    jobs: Sequence[PageJob], watchlist: Path, workers: int, timeout: float
) -> list[ProcessedPage]:
    return process_pages(jobs, watchlist, workers, timeout)


@task(name="load-pages", cache_policy=NO_CACHE)
def load_pages(
    run: steps.Run, pages: Sequence[ProcessedPage], fetches: Sequence[PageFetch] = ()
) -> dict[str, int]:
    """Log the batch's fetches, find near copies (the index keeps them for the rest of the
    run), store, link events."""
    return steps.load_pages(run, pages, fetches)


class _Submitted:
    """A submitted fetch task as the batch loop's `Pending`: Prefect's future has no done()."""

    def __init__(self, future: PrefectFuture[FetchedBatch]) -> None:
        self.future = future

    def result(self) -> FetchedBatch:
        return self.future.result()

    def wait(self) -> None:
        self.future.wait()

    def done(self) -> bool:
        wrapped = getattr(self.future, "wrapped_future", None)  # the thread pool runner's
        return bool(wrapped.done()) if wrapped is not None else self.future.state.is_final()


# quote(): Prefect would otherwise walk every entry and page of a batch looking for futures
# in the task's arguments (~0.5 ms a page).
def _submit_fetch(run: steps.Run, groups: steps.Groups) -> _Submitted:
    return _Submitted(fetch_pages.submit(run, quote(groups)))


def _load(
    run: steps.Run, pages: Sequence[ProcessedPage], fetches: Sequence[PageFetch]
) -> dict[str, int]:
    return load_pages(run, quote(pages), quote(fetches))


TASKS = steps.BatchSteps(poll=poll_due_sources, fetch_pages=_submit_fetch, load_pages=_load)


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
    return runs.ingest(
        settings,
        log,
        all_sources=all_sources,
        shard=shard,
        lock_wait=lock_wait,
        batch_steps=TASKS,
        run_id=_run_id(),
        progress=Logged(log),
    )


def _run_id() -> str:
    """The flow run's id (a fresh one when the flow body runs outside a flow run)."""
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        return str(context.flow_run.id)
    return uuid.uuid4().hex
