"""The extraction pool: order kept, and a page that hangs the extractor is cut off and
recorded as failed while the others land."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from extractors.records import EntryKey, ProcessedPage
from extractors.topics import Watchlist
from pipeline.extract import ExtractionPool, PageJob, process_page, process_pages

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "seeds" / "watchlist.yaml"
PAGE = (
    REPO
    / "seeds"
    / "demo"
    / "pages"
    / "demo-wire"
    / "us-forces-seize-maduro-in-overnight-raid.html"
)


def _job(name: str) -> PageJob:
    return PageJob(
        (EntryKey("s", name),),
        "s",
        "S",
        f"http://127.0.0.1:1/{name}.html",
        PAGE.read_bytes(),
        datetime.now(UTC),
    )


def test_the_pool_lets_go_of_a_page_body_once_extracted() -> None:
    """A page waiting for its batch to be collected costs its metadata, not its body: only a
    page the pool lost would need its body again."""
    with ExtractionPool(WATCHLIST, 1, 20) as pool:
        future = pool.submit(_job("p0"))
        callbacks_ran = threading.Event()  # a future's callbacks run in the order added:
        future.add_done_callback(lambda _: callbacks_ran.set())  # this one after the pool's
        assert future.result().article is not None and callbacks_ran.wait(10)
        held = list(pool._outstanding.values())
        assert [(job.url, len(job.body)) for job in held] == [("http://127.0.0.1:1/p0.html", 0)]


def hanging_extract(job: PageJob, watchlist: Watchlist) -> ProcessedPage:
    """Runs in a worker: a Python-level hang for pages named 'loop', a hang no timer can
    interrupt for pages named 'stuck' (the alarm signal blocked), else the real work."""
    if job.url.endswith("/loop.html"):
        while True:
            pass
    if job.url.endswith("/stuck.html"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(120)
    return process_page(job, watchlist)


def dying_extract(job: PageJob, watchlist: Watchlist) -> ProcessedPage:
    """Runs in a worker: the worker process dies on pages named 'die'."""
    if job.url.endswith("/die.html"):
        os._exit(1)
    return process_page(job, watchlist)


def slow_extract(job: PageJob, watchlist: Watchlist) -> ProcessedPage:
    """Runs in a worker: pages named 'slow' take a second, as a long page does."""
    if job.url.endswith("/slow.html"):
        time.sleep(1.0)
    return process_page(job, watchlist)


def test_closing_the_pool_while_a_page_is_extracted_does_not_hang() -> None:
    """A run that fails with pages in flight closes the pool at once: the page finishing
    during the shutdown calls back into the pool, which must not be locked meanwhile."""
    pool = ExtractionPool(WATCHLIST, 1, 20, extract=slow_extract)
    future = pool.submit(_job("slow"))
    closer = threading.Thread(target=pool.close)
    closer.start()
    closer.join(timeout=60)
    assert not closer.is_alive(), "close() and the finishing page wait for each other"
    assert future.done()


def test_pages_come_back_in_order() -> None:
    jobs = [_job(f"p{i}") for i in range(5)]
    pages = process_pages(jobs, WATCHLIST, 2, 20)
    assert [p.entries for p in pages] == [j.entries for j in jobs]
    assert all(p.article is not None and p.matches for p in pages)


def test_a_hanging_page_is_cut_off_by_its_timer() -> None:
    jobs = [_job("a"), _job("loop"), _job("b")]
    # 3 s a page: the real pages take ~30 ms, but a loaded 2-core machine stretched them past 1 s.
    pages = process_pages(jobs, WATCHLIST, 2, 3.0, extract=hanging_extract)
    assert [p.error_kind for p in pages] == [None, "extraction_timeout", None]
    assert "3 s" in (pages[1].error_message or "")


def test_a_hang_no_timer_stops_is_cut_off_by_the_batch_deadline() -> None:
    jobs = [_job("stuck"), _job("a")]
    started = time.monotonic()
    pages = process_pages(jobs, WATCHLIST, 2, 1.0, extract=hanging_extract, start_allowance=4)
    assert [p.error_kind for p in pages] == ["extraction_timeout", None]
    assert time.monotonic() - started < 30  # the stuck worker was killed, not waited for


def test_a_dead_worker_is_recorded_and_the_next_batch_gets_a_new_pool() -> None:
    with ExtractionPool(WATCHLIST, 2, 20, extract=dying_extract) as pool:
        jobs = [_job("die"), _job("a")]
        pages = pool.collect(jobs, [pool.submit(job) for job in jobs])
        assert pages[0].error_kind == "extraction_crash"
        assert pages[1].error_kind in (None, "extraction_crash")  # the pool broke under it
        later = [_job("b"), _job("c")]
        again = pool.collect(later, [pool.submit(job) for job in later])
    assert [p.error_kind for p in again] == [None, None]


def test_pages_queued_behind_a_killed_batch_are_extracted_again_not_failed() -> None:
    # The flow submits the next batch before it collects this one: when this one's stuck page
    # costs the pool, the next batch's pages (queued, or running on the killed workers) are
    # submitted to the new pool.
    with ExtractionPool(WATCHLIST, 2, 1.0, extract=hanging_extract, start_allowance=4) as pool:
        first = [_job("stuck"), _job("stuck")]  # both workers stuck: the next batch waits
        first_futures = [pool.submit(job) for job in first]
        second = [_job(f"n{i}") for i in range(4)]
        second_futures = [pool.submit(job) for job in second]
        assert [p.error_kind for p in pool.collect(first, first_futures)] == [
            "extraction_timeout",
            "extraction_timeout",
        ]
        again = pool.collect(second, second_futures)
    assert [p.error_kind for p in again] == [None] * 4
    assert [p.entries for p in again] == [j.entries for j in second]
