"""Folding near copies into stories, across runs.

At the start of a run the near-duplicate index is rebuilt from the stored MinHash signatures of
the window's articles (default 14 days); each new article is looked up before it is stored and
then added, so a copy arriving tomorrow joins yesterday's story. The index holds the shingle
sets of the last `HELD` articles it met; an older candidate is verified on its stored text,
read back in one query a batch. Exact copies (same canonical URL or content hash) are folded
by the loader itself.

When a copy was stored before its original (fetched first), `duplicate_of` points at the
article stored first; `story_spread.first_outlet` still names the outlet that published first.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

import duckdb

from extractors.fingerprints import fingerprint
from extractors.near_dups import NearDuplicateIndex
from extractors.records import ProcessedPage
from warehouse.dedup import article_texts, dedup_window
from warehouse.load import ArticleIds, article_ids

# Shingle sets the index holds (~3.7 KB each for a 900-word article): a few batches' worth.
# Copies mostly arrive within hours of their original; an older candidate costs a read.
HELD = 2000


def build_index(
    con: duckdb.DuckDBPyConnection, now: datetime, window: timedelta
) -> NearDuplicateIndex:
    """The index of the articles published (or fetched) within `window` before `now`, from
    their stored signatures (the few of an older signature version from their texts)."""
    index = NearDuplicateIndex(held=HELD)
    stale: dict[str, datetime] = {}
    with _collector_paused():
        for aid, when, signature in dedup_window(con, now - window):
            if signature is None or not index.add_signature(aid, when, signature):
                stale[aid] = when
        for aid, text in article_texts(con, sorted(stale)).items():
            index.add(aid, text, stale[aid])
    return index


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block. The index makes millions of small
    objects and no cycles; each collection those allocations trigger walks every object
    alive, which was half the rebuild's time (1.0 s against 2.0 for a 28,000-article
    window, bench/growth.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def near_duplicates(
    con: duckdb.DuckDBPyConnection,
    index: NearDuplicateIndex,
    pages: Sequence[ProcessedPage],
    now: datetime,
    ids: ArticleIds | None = None,
) -> dict[str, str]:
    """For each new article in `pages` that is a near copy of an indexed one, its id ->
    the id of that one. Pages are taken earliest first and indexed as they go, so copies
    within the batch find each other; stored candidates' texts are read from `con`. `ids`:
    the batch's `warehouse.load.article_ids`, looked up here when not given."""
    ids = ids or article_ids(con, pages, now)
    found: dict[str, str] = {}
    dated = [(p, p.article) for p in pages if p.article is not None]
    dated.sort(key=lambda pair: pair[1].published or now)
    fps = [p.fingerprint or fingerprint(a.text, p.signature) for p, a in dated]
    read = partial(article_texts, con)
    index.hold(fps, read)  # one read for the batch's stored candidates
    for (_, article), fp in zip(dated, fps, strict=True):
        aid = ids.by_url[article.canonical_url]
        if aid in index:
            continue  # stored already, or seen earlier in this batch
        hit = index.find(fp, read)
        if hit is not None and hit != aid:
            found[aid] = hit
        index.add(aid, fp, article.published or now)
    return found
