"""Re-tagging stored articles after the watchlist changed (the `retag` flow's work).

It reads each article's stored title and text (no archive, no network), so it is cheap next
to `reprocess`: only the watchlist runs. By default it takes the articles whose stored
watchlist version is not the current one, including those that matched nothing; `all_articles`
takes every article. Batches of articles are re-tagged and written in one transaction each, so
an interrupted run leaves every article either as it was or fully re-tagged, and a second run
picks up where it stopped.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from extractors.topics import load_watchlist
from pipeline.events import refresh_events_of
from warehouse import load, queries
from warehouse.db import connect

BATCH = 2000
log = logging.getLogger(__name__)


def retag_articles(
    warehouse: str | Path, watchlist: Path, all_articles: bool = False
) -> dict[str, int | float | str]:
    """Re-tag the articles of `warehouse` tagged with another version of `watchlist` (all
    with `all_articles`); returns counts, the watchlist version and the time taken. The CLI
    calls this directly: a re-tag takes seconds, less than starting Prefect's server."""
    wl = load_watchlist(watchlist)
    started = time.perf_counter()
    articles = matches = about = 0
    with connect(warehouse) as con:
        ids = queries.articles_to_retag(con, None if all_articles else wl.version)
        for first in range(0, len(ids), BATCH):
            rows = queries.article_texts(con, ids[first : first + BATCH])
            country = queries.article_countries(con, ids[first : first + BATCH])
            tagged = [
                (aid, wl.tag(title, text, language, country.get(aid)))
                for aid, title, text, language in rows
            ]
            load.replace_topic_matches(con, tagged, wl.version, datetime.now(UTC))
            articles += len(tagged)
            matches += sum(len(ms) for _, ms in tagged)
            about += sum(m.relevance == "about" for _, ms in tagged for m in ms)
        refresh_events_of(con, ids)  # the events' topics follow their articles' (issue 17)
    counts: dict[str, int | float | str] = {
        "version": wl.version,
        "articles": articles,
        "matches": matches,
        "about": about,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info("retag done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
