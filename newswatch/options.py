"""From one `Settings` to the small option records the library packages take.

`fetching`, `pipeline` and `digest` never see `Settings` (nor the environment): each step
takes the few values it uses, as a frozen record. This module is the one place that knows
which setting feeds which option; flows and CLI commands call it at their entry point.
"""

from __future__ import annotations

from fetching.fetch import FetchOptions
from newswatch.settings import Settings
from pipeline.ingest import IngestOptions
from pipeline.pages import PageOptions
from pipeline.poll import PollOptions
from pipeline.schedule import Policy


def fetch_options(settings: Settings, timeout: float | None = None) -> FetchOptions:
    """The fetcher's options; `timeout` defaults to the feeds' (`feed_timeout`)."""
    return FetchOptions(
        user_agent=settings.user_agent,
        timeout=settings.feed_timeout if timeout is None else timeout,
        allowed_hosts=settings.allowed_host_list,
        max_body_bytes=settings.max_body_bytes,
        max_unpacked_bytes=settings.max_unpacked_bytes,
        max_redirects=settings.max_redirects,
        concurrency=settings.concurrency,
        per_host_concurrency=settings.per_host_concurrency,
        per_host_delay=settings.per_host_delay,
    )


def poll_options(settings: Settings) -> PollOptions:
    return PollOptions(
        fetch=fetch_options(settings, settings.feed_timeout),
        workers=settings.workers,
        max_child_sitemaps=settings.max_child_sitemaps,
        telegram_backfill_pages=settings.telegram_backfill_pages,
        policy=Policy(
            settings.min_interval,
            max(settings.min_interval, settings.max_interval),
            settings.slow_retry_score,
            settings.failure_budget,
        ),
    )


def page_options(settings: Settings) -> PageOptions:
    return PageOptions(fetch_options(settings, settings.page_timeout), settings.respect_robots)


def ingest_options(settings: Settings) -> IngestOptions:
    return IngestOptions(
        poll=poll_options(settings),
        pages=page_options(settings),
        watchlist=settings.watchlist,
        warehouse=settings.warehouse_url,
        archive_dir=settings.archive_dir,
        workers=settings.workers,
        extract_timeout=settings.extract_timeout,
        max_entries_per_source=settings.max_entries_per_source,
        dedup_window_days=settings.dedup_window_days,
        link_events=settings.link_events,
        hold_warehouse=settings.hold_warehouse,
    )
