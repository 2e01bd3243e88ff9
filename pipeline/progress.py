"""What a run tells the person watching it, as it goes: one line per stage done, and the
pages of the run one by one (for a progress bar).

The pipeline calls a `Progress`; it never prints. `Silent` is the default; `Logged` turns
the lines into log records (the flows' run logs); the CLI's printer (`newswatch.cli_progress`)
prints the lines and, on a terminal, draws a bar while pages are fetched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # a digest reports through this module: it must not load the fetcher
    from pipeline.pages import FetchedBatch, PageBatch
    from pipeline.poll import Poll


class Progress(Protocol):
    """Where a run reports: `stage` once a stage is done, `pages` before fetching a run's
    pages, `page` as each one arrives (from the fetching thread), `pages_done` after."""

    def stage(self, line: str) -> None: ...

    def pages(self, total: int) -> None: ...

    def page(self) -> None: ...

    def pages_done(self) -> None: ...


class Silent:
    """Reports nothing."""

    def stage(self, line: str) -> None:
        pass

    def pages(self, total: int) -> None:
        pass

    def page(self) -> None:
        pass

    def pages_done(self) -> None:
        pass


class Logged(Silent):
    """Each stage's line as an INFO record on `log`."""

    def __init__(self, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self._log = log

    def stage(self, line: str) -> None:
        self._log.info("%s", line)


# --- an ingest run's lines -------------------------------------------------------------------


def polled_line(sources: int, polls: Sequence[Poll], entries_new: int) -> str:
    """`polled 13 sources: 1 failed (broken), 2 not modified, 34 new entries`."""
    quiet = [p for p in polls if p.fetch.not_modified or p.unchanged]
    failed = [p.source.name for p in polls if p.failed and p not in quiet]
    names = ", ".join(failed[:3]) + (", ..." if len(failed) > 3 else "")
    return (
        f"polled {plural(sources, 'source')}: {len(failed)} failed"
        + (f" ({names})" if failed else "")
        + f", {len(quiet)} not modified, {plural(entries_new, 'new entry', 'new entries')}"
    )


def fetched_line(fetched: FetchedBatch, started: float) -> str:
    failed = sum(1 for done in fetched.fetched if done is not None and not done[0].ok)
    return f"fetched {plural(len(fetched.groups), 'page')} ({failed} failed) in {since(started)}"


def extracted_line(batch: PageBatch, started: float) -> str:
    fetch_failed = sum(1 for _, result, _ in batch.fetches if not result.ok)
    failed = sum(1 for page in batch.pages if page.error_kind) - fetch_failed
    extracted = len(batch.pages) - fetch_failed
    return f"extracted {plural(extracted, 'page')} ({failed} failed) in {since(started)}"


def stored_line(counts: Mapping[str, int]) -> str:
    return f"{plural(counts['stored'], 'new article')} stored, {counts['duplicates']} duplicates"


def since(started: float) -> str:
    """Seconds since `started` (a `time.perf_counter()`), as `1.2 s`."""
    return f"{time.perf_counter() - started:.1f} s"


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 page`, `2 pages`; `1 new entry`, `2 new entries` given the plural."""
    return f"{n} {word if n == 1 else words or word + 's'}"
