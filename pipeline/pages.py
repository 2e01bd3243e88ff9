"""The article pages of an ingest run: fetched, archived and extracted as one stream.

A batch of pending entries is fetched concurrently, one request per distinct page (two feeds
linking one article cost one fetch). Each page is archived and handed to the run's
extraction pool the moment it arrives, so the workers extract while the rest of the batch is
still on the wire, instead of waiting for the batch's slowest fetch. Fetching (`fetch_batch`)
and waiting for the extraction (`FetchedBatch.collect`) are two steps, so the flow fetches
the next batch as soon as this one is on the wire, while this one's pages are still being
extracted and then stored (`flows.ingest`): the workers never wait for the warehouse, nor for
the slowest page of a batch. Only one batch is on the wire at a time, so the per-host limits
hold across batches.

A page that could not be fetched, or not extracted, comes back as a failed `ProcessedPage`
with the reason; the fetch of every page, good or bad, is returned for the fetch log.

A batch's fetching is `Pending` while it runs: a Prefect future in the flow, an `InThread`
(a thread of its own) when the command runs without Prefect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from extractors.records import EntryKey, FetchResult, ProcessedPage
from fetching.fetch import Fetcher, FetchOptions, Request
from pipeline.extract import ExtractionPool, PageJob
from warehouse.archive import ArchiveWriter, Pointer
from warehouse.queries import PendingEntry

Group = Sequence[PendingEntry]  # the entries that link one page


PageFetch = tuple[str, FetchResult, Pointer | None]  # source, fetch, where its body is archived


@dataclass(frozen=True, slots=True)
class PageOptions:
    """How article pages are fetched: the fetcher's options (with the pages' time limit),
    and whether each site's robots.txt is asked first."""

    fetch: FetchOptions
    respect_robots: bool = True


@dataclass(frozen=True, slots=True)
class PageBatch:
    """What fetching and extracting a batch of pages gave, in the order of its pages:
    (source, fetch, archive pointer) for the fetch log, and each page processed or failed."""

    fetches: list[PageFetch]
    pages: list[ProcessedPage]


def group_by_page(pending: Sequence[PendingEntry]) -> list[list[PendingEntry]]:
    """Pending entries grouped by the page they link (canonical URL), in first-seen order."""
    groups: dict[str, list[PendingEntry]] = {}
    for p in pending:
        groups.setdefault(p.canonical_url or p.entry.url, []).append(p)
    return list(groups.values())


def fetch_and_extract(
    options: PageOptions, groups: Sequence[Group], archive: ArchiveWriter, pool: ExtractionPool
) -> PageBatch:
    """Fetch the page of each group, archive it and extract it in `pool` as it arrives."""
    return fetch_batch(options, groups, archive, pool).collect(pool)


@dataclass
class FetchedBatch:
    """A batch whose pages are fetched and archived, and being extracted in the pool."""

    groups: Sequence[Group]
    fetched: list[tuple[FetchResult, Pointer | None] | None]
    submitted: dict[int, tuple[PageJob, Future[ProcessedPage]]]
    failed: dict[int, ProcessedPage]

    def collect(self, pool: ExtractionPool) -> PageBatch:
        """Wait for the extraction of the batch's pages (within the pool's deadline)."""
        order = sorted(self.submitted)
        jobs = [self.submitted[i][0] for i in order]
        futures = [self.submitted[i][1] for i in order]
        extracted = dict(zip(order, pool.collect(jobs, futures), strict=True))
        fetches = []
        for group, done in zip(self.groups, self.fetched, strict=True):
            assert done is not None, "every fetch ends with a result"
            fetches.append((group[0].source, done[0], done[1]))
        pages = [
            extracted[i] if i in extracted else self.failed[i] for i in range(len(self.groups))
        ]
        return PageBatch(fetches, pages)


def fetch_batch(
    options: PageOptions,
    groups: Sequence[Group],
    archive: ArchiveWriter,
    pool: ExtractionPool,
    on_page: Callable[[], None] | None = None,
) -> FetchedBatch:
    """Fetch the page of each group, archive it and submit it to `pool` as it arrives
    (then call `on_page`: a progress bar); returns once every fetch has ended, with the
    extractions under way."""
    batch = FetchedBatch(groups, [None] * len(groups), {}, {})

    def arrived(i: int, result: FetchResult) -> None:
        pointer = archive.write(result)
        batch.fetched[i] = (result.without_body(), pointer)
        page = page_job(groups[i], result, pointer)
        if isinstance(page, PageJob):
            # Only the pool holds the body, and only until the page is extracted.
            batch.submitted[i] = (replace(page, body=b""), pool.submit(page))
        else:
            batch.failed[i] = page
        if on_page is not None:
            on_page()

    asyncio.run(_fetch(options, [_request(g[0]) for g in groups], arrived))
    return batch


def _request(first: PendingEntry) -> Request:
    """The page's request, as its source wants it fetched (User-Agent, CA bundle)."""
    return Request(first.entry.url, user_agent=first.user_agent, ca_bundle=first.ca_bundle)


async def _fetch(
    options: PageOptions, requests: Sequence[Request], arrived: Callable[[int, FetchResult], None]
) -> None:
    async with Fetcher(options.fetch) as fetcher:

        async def one(i: int, request: Request) -> None:
            arrived(i, await fetcher.fetch(request, robots=options.respect_robots))

        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))


def page_job(group: Group, result: FetchResult, pointer: Pointer | None) -> PageJob | ProcessedPage:
    """The extraction job of a fetched page, or the failure of a page that was not fetched."""
    keys = tuple(EntryKey(p.source, p.entry.guid) for p in group)
    first = group[0]
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
        # `dates: page`: the feed's dates are not trusted; the page's own (its markup, else
        # htmldate's reading of it) are taken instead.
        None if first.dates == "page" else first.entry.published,
        first.entry.title,
        archive_path=pointer.path if pointer else None,
        archive_offset=pointer.offset if pointer else None,
        country=first.country,
    )


T = TypeVar("T", covariant=True)


class Pending(Protocol[T]):
    """A step under way: a Prefect future, or `InThread`."""

    def result(self) -> T: ...

    def wait(self) -> None: ...

    def done(self) -> bool: ...


class InThread(Generic[T]):
    """A call running in a thread of its own (the plain stand-in for a submitted task)."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-step")
        self._future: Future[T] = pool.submit(fn, *args)
        pool.shutdown(wait=False)  # its one thread ends with the call

    def result(self) -> T:
        return self._future.result()

    def wait(self) -> None:
        wait_for([self._future])

    def done(self) -> bool:
        return self._future.done()
