"""Folding near copies into stories, across runs.

At the start of a run the near-duplicate index is rebuilt from the articles of the window
(default 14 days) stored in DuckDB, with their stored MinHash signatures; each new article is
looked up before it is stored and then added, so a copy arriving tomorrow joins yesterday's
story. Exact copies (same canonical URL or content hash) are folded by the loader itself.

When a copy was stored before its original (fetched first), `duplicate_of` points at the
article stored first; `story_spread.first_outlet` still names the outlet that published first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb

from extractors.fingerprints import fingerprint
from extractors.near_dups import NearDuplicateIndex
from extractors.records import ProcessedPage
from warehouse import queries
from warehouse.load import article_id


def build_index(
    con: duckdb.DuckDBPyConnection, now: datetime, window: timedelta
) -> NearDuplicateIndex:
    """The index of the articles published (or fetched) within `window` before `now`."""
    index = NearDuplicateIndex()
    for aid, when, text, signature in queries.dedup_window(con, now - window):
        index.add(aid, text, when, signature=signature)
    return index


def near_duplicates(
    index: NearDuplicateIndex, pages: Sequence[ProcessedPage], now: datetime
) -> dict[str, str]:
    """For each new article in `pages` that is a near copy of an indexed one, its id ->
    the id of that one. Pages are taken earliest first and indexed as they go, so copies
    within the batch find each other."""
    found: dict[str, str] = {}
    dated = [(p, p.article) for p in pages if p.article is not None]
    dated.sort(key=lambda pair: pair[1].published or now)
    for page, article in dated:
        aid = article_id(article.canonical_url)
        if aid in index:
            continue  # stored already, or seen earlier in this batch
        fp = page.fingerprint or fingerprint(article.text, page.signature)
        hit = index.find(fp)
        if hit is not None and hit != aid:
            found[aid] = hit
        index.add(aid, fp, article.published or now)
    return found
