"""The runs the commands and the flows share, as plain functions: from `Settings` to a
finished ingest, digest or reprocess, with no Prefect in sight.

A hand-run command (`newswatch ingest`, `digest`, `reprocess`) calls these directly: no
Prefect server starts, and the run reports through a `Progress` (a line per stage). The
Prefect flows (`flows/`, run by `serve` and workers) call the same functions and hand in
their tasks, their run logger and a publisher for artifacts, so a scheduled run does the
same work with full tracking. Either way the ingest is recorded in the `runs` table.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newswatch.errors import NewswatchError
from newswatch.settings import Settings
from pipeline.progress import Progress, Silent, plural, since

# Each run imports what it needs when it starts: a digest never loads the fetcher, the
# extractors or the ingest steps (half a second of imports a hand-run command would wait for).
if TYPE_CHECKING:
    from digest.model import Digest
    from extractors.records import ProcessedPage
    from pipeline.extract import PageJob
    from pipeline.ingest import BatchSteps

Log = logging.Logger | logging.LoggerAdapter[Any]
Extract = Callable[[Sequence["PageJob"]], list["ProcessedPage"]]
Publish = Callable[["Digest", dict[str, Path]], None]  # a digest day and its written files


def ingest(
    settings: Settings,
    log: Log,
    *,
    all_sources: bool = False,
    shard: str | None = None,
    lock_wait: float = 0.0,
    batch_steps: BatchSteps | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Poll the due sources (every enabled one with `all_sources`; only shard "k/n" of
    them with `shard`), store new articles; returns the run's counts, status and id. Waits
    up to `lock_wait` s for another process to release the database. A run in which every
    source failed is recorded as failed and raises `NewswatchError`."""
    from newswatch.config import load_sources, shard_filter
    from newswatch.options import ingest_options
    from pipeline import ingest as steps

    log.info("ingest %s", settings.describe())
    sources = load_sources(settings.feeds)
    mine = shard_filter(shard)
    run_id = run_id or uuid.uuid4().hex
    with steps.open_run(ingest_options(settings), run_id, lock_wait, progress) as run:
        steps.ingest_sources(run, sources, all_sources, mine, log, batch_steps)
    summary = run.summary
    status = summary.status()
    counts = " ".join(f"{k}={v}" for k, v in summary.counts().items())
    log.info("ingest done status=%s %s", status, counts)
    if status == "failed":
        raise NewswatchError(f"every one of {summary.sources} sources failed to poll")
    return summary.counts() | {"status": status, "run_id": summary.run_id}


def digest(
    settings: Settings,
    log: Log,
    *,
    day: str | None = None,
    all_days: bool = False,
    out: Path | None = None,
    lock_wait: float = 0.0,
    publish: Publish | None = None,
    progress: Progress | None = None,
) -> list[str]:
    """Write the digest of `day` (default yesterday, UTC), or of every day with articles:
    `.md`, `.html` and `.json` side by side, each day handed to `publish` (the flow's
    artifact). Returns the Markdown paths. Waits up to `lock_wait` s for a writer."""
    from digest.build import parse_day, read_days, write_digest
    from extractors.topics import load_watchlist
    from warehouse.db import connect

    log.info("digest %s", settings.describe())
    progress = progress or Silent()
    out_dir = out or settings.digests_dir
    wl = load_watchlist(settings.watchlist)
    started = time.perf_counter()
    with connect(settings.warehouse_url, read_only=True, wait=lock_wait) as con:
        digests = read_days(con, wl, None if all_days else [parse_day(day)])
    days = plural(len(digests), "day")
    progress.stage(f"digest: {days} read from the warehouse in {since(started)}")
    written = []
    for d in digests:
        paths = write_digest(d, out_dir)
        if publish is not None:
            publish(d, paths)
        written.append(str(paths["md"]))
    log.info("digest written days=%d out=%s", len(written), out_dir)
    return written


def reprocess(
    settings: Settings,
    log: Log,
    *,
    since: str | None = None,
    extract: Extract | None = None,
) -> dict[str, int]:
    """Re-extract and re-tag the articles fetched since `since` (ISO date; default: all),
    a batch of pages at a time with `extract` (default: a pool of `settings.workers`)."""
    from extractors.topics import load_watchlist
    from pipeline.extract import process_pages
    from pipeline.reprocess import reprocess_articles
    from warehouse.db import connect

    log.info("reprocess %s", settings.describe())
    wl = load_watchlist(settings.watchlist)
    start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None

    def in_pool(jobs: Sequence[PageJob]) -> list[ProcessedPage]:
        return process_pages(jobs, settings.watchlist, settings.workers, settings.extract_timeout)

    with connect(settings.warehouse_url) as con:
        counts = reprocess_articles(con, settings.archive_dir, wl, start, extract or in_pool, log)
    log.info("reprocess done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
