"""An ingest run as plain functions: open the run, pick the due sources, poll and store,
process self-contained posts, fetch, extract and load the pages a batch at a time, count.

`ingest_sources` sequences the steps. The three batch steps (poll, fetch a batch of pages,
load a batch) are handed in as `BatchSteps`: plain calls and a thread by default, so a
command can run the pipeline without Prefect; `flows/ingest.py` hands in its Prefect tasks.
Everything a step learns is stored before the next step starts, so a run that dies halfway
leaves its entries `pending` for the next run. Failures are counted and logged (`key=value`)
on the logger the caller passes in; each stage done is one line to the run's `Progress`.

Each step reads or writes the warehouse inside `Run.writing`, and the DuckDB file is closed
between steps, so readers (`newswatch sql`, `search`, a digest) get in between two loads
instead of waiting for the whole run. With `hold_warehouse` it stays open between steps
(each closing checkpoints it, which costs more the larger the file) and the run lets go of
it when a reader asks (`warehouse.holding`): faster at a large warehouse, more memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from events import Precomputed
from extractors.errors import DatabaseInUse
from extractors.near_dups import NearDuplicateIndex
from extractors.records import EntryKey, ProcessedPage, Source
from extractors.topics import Watchlist, load_watchlist
from pipeline.events import (
    compute_links,
    default_embedder,
    read_link_work,
    store_computed_links,
)
from pipeline.extract import (
    ExtractionPool,
    Post,
    process_and_embed,
    process_page,
    process_post,
    start_worker_server,
    trim_heap,
    worker_embeddings,
)
from pipeline.pages import (
    FetchedBatch,
    InThread,
    PageBatch,
    PageFetch,
    PageOptions,
    Pending,
    fetch_batch,
    group_by_page,
)
from pipeline.poll import Poll, PollOptions, poll_sources, store_polls
from pipeline.progress import (
    Progress,
    Silent,
    extracted_line,
    fetched_line,
    plural,
    polled_line,
    since,
    stored_line,
)
from pipeline.stories import build_index, near_duplicates
from pipeline.summary import IngestSummary
from warehouse import load, queries
from warehouse.archive import ArchiveWriter
from warehouse.db import run_lock
from warehouse.holding import HeldWriter

# Pages per fetch-extract task: Prefect's cost per task (tens of ms) stays small against the
# work (~2 s for 100 pages on 2 cores), and the bodies of two batches are held at once (at N
# = 1,000 the feeding process peaked at 470 MB RSS with 500 a batch, ~380 with 100).
PAGE_BATCH = 100
# Fetched batches stored together in one block of the warehouse, while the run is bound by
# the CPU (`_ingest_pages`: a run that waits on the network stores each batch at once). Each
# block opens and closes the file, whose checkpoint costs more the larger the file (its
# indexes), and reads the event window again: with two batches a block the command's CPU at
# N = 10,000 mixed pages fell from 65 to 52 s (bench/pipeline.py) and the warehouse's work
# from 3.9 to 3.3 ms an article at 100k stored (bench/growth.py; bench/README.md, Growth,
# session 26), the peak memory unchanged: what waits for its block is a batch's extracted
# pages (a few MB), not its bodies. A killed run loses the batches not yet stored; their
# entries stay pending.
STORE_BATCHES = 2
# Seconds a run waits between two steps for the file a reader (sql, search, a digest) holds.
REOPEN_WAIT = 60.0
# One DuckDB thread for the run's warehouse work: the cores are the extraction workers',
# busy with the next batch while one is stored (bench/README.md, Pipeline, session 13).
WAREHOUSE_THREADS = 1

Log = logging.Logger | logging.LoggerAdapter[Any]
Shard = Callable[[str], bool]  # whether a source name belongs to this run's shard
Groups = Sequence[Sequence[queries.PendingEntry]]  # pages to fetch, each with its entries
Fetches = Sequence[PageFetch]  # a batch's fetch log: (source, fetch, archive pointer)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """What an ingest run needs besides its sources: polling and page fetching options, the
    watchlist file (each extraction worker loads it), the warehouse and the archive folder,
    extraction workers and time limit per page, entries taken per source per run (the rest
    wait, recorded, for the next runs), and the days of articles near copies are sought in."""

    poll: PollOptions
    pages: PageOptions
    watchlist: Path
    warehouse: str | Path
    archive_dir: Path
    workers: int = 1
    extract_timeout: float = 30.0
    max_entries_per_source: int = 500
    dedup_window_days: int = 14
    link_events: bool = True
    hold_warehouse: bool = False  # keep the file open between steps (`warehouse.holding`)


@dataclass
class Run:
    """What every step of one run works with. The warehouse is `writer`'s: each step that
    reads or writes it does so inside `writing()`; the file is closed between steps, or with
    `hold_warehouse` kept open until a reader asks for it (`warehouse.holding`)."""

    options: IngestOptions
    watchlist: Watchlist
    archive: ArchiveWriter
    summary: IngestSummary
    stories: NearDuplicateIndex
    pool: ExtractionPool
    writer: HeldWriter
    progress: Progress = field(default_factory=Silent)

    def writing(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """The warehouse for a block, opened if a reader had it (waiting for it to let go);
        the open one inside another such block."""
        return self.writer.block()


@contextmanager
def open_run(
    options: IngestOptions, run_id: str, lock_wait: float = 0.0, progress: Progress | None = None
) -> Iterator[Run]:
    """The run's archive, extraction pool (started by `ingest_sources` once there is work)
    and near-duplicate index, with the run recorded in `runs` (waiting up to `lock_wait` s
    for the file, and for another run on it to end): finished with its status when the
    block ends, "failed" with the error when it raises. The warehouse is closed at the end,
    and between steps unless held (`IngestOptions.hold_warehouse`)."""
    summary = IngestSummary(run_id=run_id)
    wl = load_watchlist(options.watchlist)
    writer = HeldWriter(
        options.warehouse, lock_wait, WAREHOUSE_THREADS, hold=options.hold_warehouse
    )
    with (
        run_lock(options.warehouse, lock_wait),
        ArchiveWriter(options.archive_dir, run_id) as archive,
        ExtractionPool(
            options.watchlist,
            options.workers,
            options.extract_timeout,
            extract=process_and_embed if options.link_events else process_page,
        ) as pool,
        writer,
    ):
        with writer.block() as con:
            window = timedelta(days=options.dedup_window_days)
            index = build_index(con, datetime.now(UTC), window)
            load.start_run(con, run_id, "ingest", datetime.now(UTC))
        writer.wait = max(lock_wait, REOPEN_WAIT)  # for a reader, once the run is under way
        run = Run(options, wl, archive, summary, index, pool, writer, progress or Silent())
        try:
            yield run
        except BaseException as exc:
            _record_failure(run, exc)
            raise
        with run.writing() as con:
            load.finish_run(con, run_id, summary.status(), summary.counts(), datetime.now(UTC))


def _record_failure(run: Run, exc: BaseException) -> None:
    """Finish the run's row as failed; a database still held by another process leaves it
    `running`, as a killed run does."""
    try:
        with run.writing() as con:
            load.finish_run(
                con, run.summary.run_id, "failed", run.summary.counts(), datetime.now(UTC), str(exc)
            )
    except DatabaseInUse as busy:
        logging.getLogger(__name__).warning("run not recorded as failed: %s", busy)


@dataclass(frozen=True, slots=True)
class DueWork:
    """The sources to poll now, the feed state of every source, and the guids already
    stored for the Telegram ones (backfilling stops at them)."""

    sources: list[Source]
    states: dict[str, queries.FeedState]
    known_posts: dict[str, set[str]]


def due_work(run: Run, sources: list[Source], all_sources: bool, mine: Shard) -> DueWork:
    """Store the configured sources, then pick those due (every enabled one with
    `all_sources`) in this run's shard."""
    now = datetime.now(UTC)
    with run.writing() as con:
        load.sync_sources(con, sources, now)
        enabled = queries.due_sources(con, None if all_sources else now)
        due = [s for s in sources if s.name in enabled and mine(s.name)]
        telegram = [s.name for s in due if s.kind == "telegram"]
        return DueWork(due, queries.feed_states(con), queries.known_guids(con, telegram))


def record_polls(
    run: Run, polls: list[Poll], states: Mapping[str, queries.FeedState], log: Log
) -> None:
    """Archive and store the polls and plan each source's next one; count and log them."""
    with run.writing() as con:
        new, plans = store_polls(
            con,
            run.options.poll.policy,
            run.summary.run_id,
            polls,
            states,
            run.archive,
            datetime.now(UTC),
        )
    run.summary.entries_new += sum(new.values())
    for poll in polls:
        _count_poll(run.summary, poll, log)
    for plan in plans:
        if plan["disabled_reason"]:
            log.warning(
                "source disabled source=%r reason=%s", plan["source"], plan["disabled_reason"]
            )


def _count_poll(summary: IngestSummary, poll: Poll, log: Log) -> None:
    summary.sources += 1
    if poll.fetch.not_modified or poll.unchanged:
        summary.feeds_not_modified += 1
    elif poll.failed:
        summary.feeds_failed += 1
        summary.failure(poll.error_kind or "unknown")
        log.warning(
            "feed failed source=%r url=%s status=%s error_kind=%s error=%s",
            poll.source.name,
            poll.fetch.url,
            poll.fetch.status,
            poll.error_kind,
            poll.error,
        )


def pending_work(
    run: Run, mine: Shard
) -> tuple[list[queries.PendingEntry], list[queries.PendingEntry]]:
    """The pending entries of this shard, a bounded number per source (a feed with 100,000
    new entries cannot make one run endless; the rest stay pending, already recorded as
    seen): those that carry their own text (posts), and those whose page is to be fetched."""
    per_source = run.options.max_entries_per_source
    with run.writing() as con:
        pending = [p for p in queries.pending_entries(con, per_source=per_source) if mine(p.source)]
    posts = [p for p in pending if p.entry.content is not None]
    pages = [p for p in pending if p.entry.content is None and p.canonical_url]
    return posts, pages


def process_posts(
    pending: Sequence[queries.PendingEntry], sources: Sequence[Source], wl: Watchlist
) -> list[ProcessedPage]:
    """Entries that carry their own text (Telegram posts, items without links), tagged in
    the language their source declares."""
    languages = {s.name: s.language for s in sources}
    now = datetime.now(UTC)
    return [process_post(_post(p, languages.get(p.source)), now, wl) for p in pending]


def _post(p: queries.PendingEntry, language: str | None) -> Post:
    entry = p.entry
    key = EntryKey(p.source, entry.guid)
    return Post(
        key=key,
        outlet=p.outlet,
        url=entry.url,
        title=entry.title,
        text=entry.content or "",
        published=entry.published,
        views=entry.views,
        language=language,
        country=p.country,
    )


def page_batches(pending: Sequence[queries.PendingEntry]) -> list[list[list[queries.PendingEntry]]]:
    """The pages to fetch (each distinct page once, with the entries linking it), in batches
    of `PAGE_BATCH`."""
    groups = group_by_page(pending)
    return [groups[i : i + PAGE_BATCH] for i in range(0, len(groups), PAGE_BATCH)]


def load_pages(run: Run, pages: Sequence[ProcessedPage], fetches: Fetches = ()) -> dict[str, int]:
    """Log the batch's fetches, find near copies (kept for the run), store; then link them."""
    now = datetime.now(UTC)
    with run.writing() as con:
        load.record_page_fetches(con, run.summary.run_id, fetches)
        run.summary.pages_fetched += len(fetches)
        ids = load.article_ids(con, pages, now)
        near = near_duplicates(con, run.stories, pages, now, ids)
        stored = load.store_pages(con, pages, run.watchlist.version, now, near, ids)
    if run.options.link_events:
        # Every stored article gets its event (issue 17): all that lack one (a killed run's
        # too) until the run has stored an article, then each batch its own (finding them all
        # searches the table: ~50 ms a batch at 1M articles).
        link_pages(run, pages, ids.of_pages(pages) if run.summary.articles_new else None)
    return stored


def link_pages(run: Run, pages: Sequence[ProcessedPage], ours: list[str] | None) -> None:
    """Link the stored articles of `ours` (None: all without an event) to events in a block of
    their own: closing the one that stored them, DuckDB hands back what storing took (~40 MB
    at 10,000 articles), on which linking's made the ingest's peak (bench/README.md, Pipeline,
    session 31). Linking that must embed does so with the file closed (a reader may have it)."""
    embedder = Precomputed(default_embedder(), worker_embeddings(pages))
    with run.writing() as con:
        work = read_link_work(con, embedder, among=ours)
        if embedder.has_all(work.texts_to_embed()):  # the workers embedded them all
            links, counts = compute_links(work, embedder)
            trim_heap()  # the window's pages back (`compute_links` lets go of it)
            store_computed_links(con, links, counts)
            trim_heap()
            return
    links, counts = compute_links(work, embedder)  # embedding: readers may have the file
    trim_heap()
    with run.writing() as con:
        store_computed_links(con, links, counts)
    trim_heap()


def count_failed_pages(run: Run, pages: Sequence[ProcessedPage], log: Log) -> None:
    for page in pages:
        if page.error_kind:
            run.summary.pages_failed += 1
            run.summary.failure(page.error_kind)
            log.warning(
                "page failed source=%r entry=%s error_kind=%s error=%s",
                page.source,
                page.entries[0].guid,
                page.error_kind,
                page.error_message,
            )


def finish(run: Run) -> None:
    """Count the entries left pending for the next runs."""
    with run.writing() as con:
        run.summary.entries_waiting = queries.waiting_entries(con)


# --- the run's sequence ---------------------------------------------------------------------


def poll_due(options: PollOptions, due: DueWork) -> list[Poll]:
    """Fetch each due source's feed (conditionally) and parse what changed."""
    return poll_sources(options, due.sources, due.states, due.known_posts)


def fetch_pages_in_thread(run: Run, groups: Groups) -> Pending[FetchedBatch]:
    """Fetch a batch of pages in a thread, each page handed to the pool as it arrives."""
    return InThread(
        fetch_batch, run.options.pages, groups, run.archive, run.pool, run.progress.page
    )


@dataclass(frozen=True, slots=True)
class BatchSteps:
    """How the batch steps run: plain calls (and a thread for the fetching that overlaps
    the previous batch's extraction) by default; the flow hands in its Prefect tasks."""

    poll: Callable[[PollOptions, DueWork], list[Poll]] = poll_due
    fetch_pages: Callable[[Run, Groups], Pending[FetchedBatch]] = fetch_pages_in_thread
    load_pages: Callable[[Run, Sequence[ProcessedPage], Fetches], dict[str, int]] = load_pages


def ingest_sources(
    run: Run,
    sources: list[Source],
    all_sources: bool,
    mine: Shard,
    log: Log,
    steps: BatchSteps | None = None,
) -> None:
    """The run: poll the due sources of this shard (every enabled one with `all_sources`),
    store what they brought, then process the posts and fetch, extract and load the pages."""
    steps = steps or BatchSteps()
    polled_any, (posts, pages) = poll_and_record(run, sources, all_sources, mine, log, steps)
    if pages and not polled_any:
        start_extraction(run)  # pages left pending by earlier runs
    if posts:
        ingest_posts(run, posts, sources, steps)
    del posts  # their texts are stored: not kept while the pages are fetched
    _ingest_pages(run, pages, steps, log)
    finish(run)


def ingest_posts(
    run: Run, posts: list[queries.PendingEntry], sources: list[Source], steps: BatchSteps
) -> None:
    """Tag and store the entries that carry their own text (Telegram posts, full-content
    feeds): no page to fetch."""
    processed = process_posts(posts, sources, run.watchlist)
    counts = steps.load_pages(run, processed, ())
    run.summary.loaded(counts)
    run.progress.stage(f"posts: {plural(len(processed), 'post')} tagged, {stored_line(counts)}")


def poll_and_record(
    run: Run, sources: list[Source], all_sources: bool, mine: Shard, log: Log, steps: BatchSteps
) -> tuple[bool, tuple[list[queries.PendingEntry], list[queries.PendingEntry]]]:
    """Poll the due sources and store what they brought; whether any was due, and the
    pending posts and pages. A function of its own so that the polls (every feed's body and
    parsed entries: tens of MB for a large feed) are freed before the pages are fetched."""
    due = due_work(run, sources, all_sources, mine)
    run.progress.stage(f"sources: {len(sources)} configured, {len(due.sources)} due")
    if due.sources:
        start_extraction(run)  # the workers start while the feeds are polled
    polls = steps.poll(run.options.poll, due)
    with run.writing():
        record_polls(run, polls, due.states, log)
        pending = pending_work(run, mine)
    run.progress.stage(polled_line(run.summary.sources, polls, run.summary.entries_new))
    return bool(due.sources), pending


def start_extraction(run: Run) -> None:
    """Start the extraction workers in the background (forked from a warm server). Only
    when the run has work: an ingest with nothing due ends in a second."""
    start_worker_server()
    run.pool.start()


def _ingest_pages(
    run: Run, pending: Sequence[queries.PendingEntry], steps: BatchSteps, log: Log
) -> None:
    """Fetch, archive, extract and load the pages of `pending`, a batch at a time. A batch's
    fetching starts (in a thread) as soon as the previous batch is fetched, while that one
    is still extracted and then stored: the pool always has pages queued, so the workers
    wait neither for the warehouse nor for the slowest page of a batch. At most two
    batches' pages wait in the pool. `STORE_BATCHES` batches are stored in one block of
    `Run.writing`."""
    batches = page_batches(pending)
    if not batches:
        return
    run.progress.pages(sum(len(b) for b in batches))
    on_wire = time.perf_counter()  # when the batch under way started: its pages are
    # extracted as they arrive, so its fetch and extraction times both count from there
    ahead: Pending[FetchedBatch] | None = steps.fetch_pages(run, batches[0])
    unstored: list[PageBatch] = []  # extracted, waiting for their block (STORE_BATCHES)
    try:
        for n, following in enumerate([*batches[1:], None], 1):
            assert ahead is not None, "each round starts with a batch on the wire"
            fetched = ahead.result()
            started, on_wire = on_wire, time.perf_counter()
            ahead = steps.fetch_pages(run, following) if following else None
            if ahead is None:
                run.progress.pages_done()
            where = f"batch {n}/{len(batches)}: " if len(batches) > 1 else ""
            run.progress.stage(where + fetched_line(fetched, started))
            unstored.append(fetched.collect(run.pool))
            run.progress.stage(where + extracted_line(unstored[-1], started))
            # A batch waits for the next only while the run is bound by the CPU (the next is
            # fetched by the time this one is extracted); a run that waits on the network (a
            # politeness delay, slow servers) hides the block's cost and stores each at once.
            if len(unstored) == STORE_BATCHES or ahead is None or not ahead.done():
                store_batches(run, unstored, steps, log, where)
                unstored = []
    finally:
        if ahead is not None:
            ahead.wait()  # nothing may still write the archive once the run closes it
            run.progress.pages_done()


def store_batches(
    run: Run, batches: Sequence[PageBatch], steps: BatchSteps, log: Log, where: str
) -> None:
    """Store the extracted pages of `batches` in one block."""
    pages = [page for batch in batches for page in batch.pages]
    fetches = [fetch for batch in batches for fetch in batch.fetches]
    loading = time.perf_counter()
    counts = steps.load_pages(run, pages, fetches)
    run.summary.loaded(counts)
    count_failed_pages(run, pages, log)
    run.progress.stage(where + f"{stored_line(counts)} in {since(loading)}")
