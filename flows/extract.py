"""CPU work of an ingest run: extraction, fingerprinting and tagging of fetched pages.

Extraction costs tens of milliseconds a page, so a batch runs in a process pool sized to the
cores, inside one Prefect task (a task per page would cost more in orchestration than the
work). Each worker compiles the watchlist once, at start. A page that fails comes back as a
`ProcessedPage` with the reason, never as an exception that would sink the batch.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from extractors.articles import EXTRACTOR_VERSION, extract_article
from extractors.fingerprints import content_hash
from extractors.records import Article, EntryKey, ProcessedPage
from extractors.topics import Watchlist, load_watchlist
from extractors.urls import canonical_url, is_http_url
from newswatch.errors import ExtractionError

TELEGRAM_EXTRACTOR_VERSION = "telegram/1"
# Below this many pages, starting processes costs more than it saves.
MIN_PAGES_FOR_POOL = 8


@dataclass(frozen=True, slots=True)
class PageJob:
    """A fetched page to process, with what the feed said about it."""

    entries: tuple[EntryKey, ...]
    source: str
    outlet: str
    url: str
    body: bytes
    fetched_at: datetime
    feed_published: datetime | None = None
    feed_title: str = ""


def process_page(job: PageJob, watchlist: Watchlist) -> ProcessedPage:
    """Extract, fingerprint and tag one page."""
    try:
        article = extract_article(job.body, job.url)
    except ExtractionError as exc:
        return _failed(job, exc.kind, str(exc))
    except (ValueError, TypeError, LookupError) as exc:
        # trafilatura and lxml raise these on some malformed pages; keep them as data.
        return _failed(job, "extraction_crash", f"{type(exc).__name__}: {exc}")
    article = replace(
        article,
        title=article.title or job.feed_title,
        published=article.published or job.feed_published,  # the page is trusted over the feed
    )
    return _processed(job.entries, job.source, job.outlet, job.fetched_at, article, watchlist)


def process_post(
    key: EntryKey,
    outlet: str,
    url: str,
    title: str,
    text: str,
    published: datetime | None,
    views: int | None,
    fetched_at: datetime,
    watchlist: Watchlist,
    language: str | None = None,
) -> ProcessedPage:
    """A self-contained entry (a Telegram post, a feed item without a link): its text is the
    article, nothing to fetch."""
    article = Article(
        url=url,
        canonical_url=canonical_url(url) if is_http_url(url) else entry_urn(key),
        title=title,
        text=text,
        published=published,
        language=language,
        site_name=outlet,
    )
    page = _processed((key,), key.source, outlet, fetched_at, article, watchlist)
    return replace(page, views=views, extractor_version=TELEGRAM_EXTRACTOR_VERSION)


def entry_urn(key: EntryKey) -> str:
    """The stable identity of an article that has no URL of its own."""
    digest = hashlib.sha1(f"{key.source}\n{key.guid}".encode()).hexdigest()
    return f"urn:newswatch:entry:{digest}"


def _processed(
    entries: tuple[EntryKey, ...],
    source: str,
    outlet: str,
    fetched_at: datetime,
    article: Article,
    watchlist: Watchlist,
) -> ProcessedPage:
    return ProcessedPage(
        entries=entries,
        source=source,
        outlet=outlet,
        fetched_at=fetched_at,
        article=article,
        content_hash=content_hash(article.text),
        matches=tuple(watchlist.tag(article.title, article.text, article.language)),
        extractor_version=EXTRACTOR_VERSION,
    )


def _failed(job: PageJob, kind: str, message: str) -> ProcessedPage:
    return ProcessedPage(
        entries=job.entries,
        source=job.source,
        outlet=job.outlet,
        fetched_at=job.fetched_at,
        error_kind=kind,
        error_message=message,
    )


# --- the process pool -------------------------------------------------------------------------

_worker_watchlist: Watchlist | None = None


def _init_worker(watchlist_path: str) -> None:
    global _worker_watchlist
    _worker_watchlist = load_watchlist(watchlist_path)


def _process_in_worker(job: PageJob) -> ProcessedPage:
    assert _worker_watchlist is not None, "worker started without its watchlist"
    return process_page(job, _worker_watchlist)


def process_pages(
    jobs: Sequence[PageJob], watchlist: Watchlist, watchlist_path: Path, workers: int
) -> list[ProcessedPage]:
    """Process `jobs` (in order), in a pool of `workers` processes when it pays off."""
    if workers <= 1 or len(jobs) < MIN_PAGES_FOR_POOL:
        return [process_page(job, watchlist) for job in jobs]
    # forkserver: workers fork from a clean process, not from one running Prefect's threads.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(str(watchlist_path),),
    ) as pool:
        return list(pool.map(_process_in_worker, jobs, chunksize=4))
