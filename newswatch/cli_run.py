"""`newswatch ingest`, `digest`, `reprocess`, `retag` and `rebuild`: the commands that write.

They run it as plain functions (`newswatch.runs`), not as Prefect flows: no Prefect server
starts and Prefect is not even imported, so a digest takes a fraction of a second. Each
prints a line per stage and a summary (`newswatch.cli_progress`); `--verbose` adds the log.
Scheduled runs (`serve`, workers) run the same functions inside flows, tracked by Prefect.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from newswatch.cli_common import (
    DbOption,
    FeedsOption,
    VerboseOption,
    WaitOption,
    WatchlistOption,
    cli_settings,
    console,
    parse_day,
    require_warehouse,
)
from newswatch.cli_progress import Printer, run_log
from newswatch.settings import Settings


def ingest(
    all_sources: Annotated[
        bool, typer.Option("--all-sources", help="Poll every enabled source, due or not.")
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(help="Only shard k/n of the sources, e.g. 1/2 (workers sharing a lake)."),
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Poll the sources that are due, fetch new articles, tag them and load them into DuckDB.

    Each source has its own next poll time, which follows how often it publishes and backs
    off when it fails (see `newswatch sources`).

    Example: newswatch ingest --feeds seeds/feeds.yaml --db data/newswatch.duckdb
    """
    from newswatch import runs

    started = time.perf_counter()
    settings = cli_settings(feeds, watchlist, db)
    check_config(settings)
    result = runs.ingest(
        settings,
        run_log(verbose),
        all_sources=all_sources,
        shard=shard,
        lock_wait=settings.lock_wait,
        progress=Printer(console),
    )
    print_ingest(result, time.perf_counter() - started)


def check_config(settings: Settings) -> None:
    """Fail on a bad feeds or watchlist file before any flow starts, with one clear line."""
    from extractors.topics import load_watchlist
    from newswatch.config import load_sources

    load_sources(settings.feeds)
    load_watchlist(settings.watchlist)


def print_ingest(result: dict[str, Any], seconds: float | None = None) -> None:
    failures = ", ".join(f"{k} {v}" for k, v in sorted(result["failures"].items())) or "none"
    # Beyond NEWSWATCH_MAX_ENTRIES_PER_SOURCE: recorded, fetched by the next runs.
    waiting = result.get("entries_waiting", 0)
    console.print(
        f"ingest {result['status']}: {result['sources']} sources polled "
        f"({result['feeds_failed']} failed, {result['feeds_not_modified']} not modified), "
        f"{result['entries_new']} new entries, {result['articles_new']} new articles, "
        f"{result['duplicates']} duplicates, failures: {failures}"
        + (f"; {waiting} entries wait for the next runs" if waiting else "")
        + (f"; {seconds:.1f} s" if seconds is not None else ""),
        markup=False,
        highlight=False,
    )


def digest(
    day: Annotated[
        str | None, typer.Option(help="Day to digest, YYYY-MM-DD (default: yesterday, UTC).")
    ] = None,
    all_days: Annotated[
        bool, typer.Option("--all-days", help="Write a digest for every day with articles.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for digest files (default: digests/ beside the database)."),
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    wait: WaitOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Write the daily digest as Markdown, HTML and JSON: per topic, the top stories by
    outlets, new and continuing, a spike flag, a 14-day chart, quotes and outlets.

    Example: newswatch digest --day 2026-01-05
    """
    from newswatch import runs

    started = time.perf_counter()
    if day is not None:
        parse_day(day)
    settings = cli_settings(feeds, watchlist, db, wait)
    paths = runs.digest(
        settings,
        run_log(verbose),
        day=day,
        all_days=all_days,
        out=out,
        lock_wait=settings.lock_wait,
        progress=Printer(console),
    )
    for path in paths:  # the Markdown; the HTML and JSON of the same day lie beside it
        console.print(f"{path} (+ .html, .json)", markup=False)
    days = f"{len(paths)} day{'s' if len(paths) != 1 else ''}"
    console.print(f"digest: {days} written in {time.perf_counter() - started:.1f} s")


def reprocess(
    since: Annotated[
        str | None, typer.Option(help="Only articles fetched since this day, YYYY-MM-DD.")
    ] = None,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Re-extract and re-tag stored articles from the raw archive, with no network: rows are
    updated in place, so counts do not change.

    Example: newswatch reprocess --since 2026-01-01
    """
    from newswatch import runs

    if since is not None:
        parse_day(since)
    settings = cli_settings(feeds, watchlist, db)
    counts = runs.reprocess(settings, run_log(verbose), since=since)
    console.print(
        f"reprocess: {counts['pages']} pages re-extracted from the archive, "
        f"{counts['posts']} posts re-tagged, {counts['unchanged_missing']} not in the archive "
        f"and {counts['unchanged_failed']} no longer extracting (left as they were)"
    )


def retag(
    all_articles: Annotated[
        bool, typer.Option("--all", help="Re-tag every article, whatever it was tagged with.")
    ] = False,
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Tag stored articles again from their stored title and text, after the watchlist
    changed: only those tagged with another watchlist version, unless --all.

    Example: newswatch retag --watchlist seeds/watchlist.yaml
    """
    from extractors.topics import load_watchlist
    from pipeline.retag import retag_articles

    settings = cli_settings(feeds, watchlist, db)
    require_warehouse(settings)
    load_watchlist(settings.watchlist)  # a broken watchlist fails here, in one line
    run_log(verbose)
    counts = retag_articles(settings.warehouse_url, settings.watchlist, all_articles)
    console.print(
        f"retag: {counts['articles']} articles re-tagged with watchlist {counts['version']} "
        f"({counts['matches']} topic matches, {counts['about']} about) "
        f"in {counts['seconds']:.2f} s"
    )


def rebuild(
    feeds: FeedsOption = None,
    watchlist: WatchlistOption = None,
    db: DbOption = None,
    wait: WaitOption = None,
) -> None:
    """Copy the warehouse into a new file in today's layout (64 KB blocks: a warehouse created
    before keeps 16 KB ones, and ingest into it slows as it grows) and put it in the old
    one's place; the old file stays beside it as <db>.before-rebuild until you remove it.
    No ingest runs meanwhile; readers can read.

    Example: newswatch rebuild --db data/newswatch.duckdb
    """
    from warehouse.rebuild import rebuild_file

    settings = cli_settings(feeds, watchlist, db, wait)
    done = rebuild_file(settings.warehouse_url, settings.lock_wait)
    console.print(
        f"rebuild: {done.path}, {done.tables} tables, {done.rows:,} rows copied in "
        f"{done.seconds:.1f} s; blocks {done.block_bytes_before // 1024} KB -> "
        f"{done.block_bytes_after // 1024} KB, {done.bytes_before / 1e6:,.1f} MB -> "
        f"{done.bytes_after / 1e6:,.1f} MB; the old file is {done.backup} (remove it once "
        "you are content)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
