"""The `retag` flow: tag stored articles again after the watchlist changed.

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

from prefect import flow

from extractors.topics import load_watchlist
from newswatch.settings import load_settings
from warehouse import load, queries
from warehouse.db import connect

BATCH = 2000
log = logging.getLogger(__name__)


@flow(name="retag")
def retag(
    all_articles: bool = False, watchlist: str | None = None, db: str | None = None
) -> dict[str, int | float | str]:
    """`retag_articles` as a Prefect flow, for deployments and their run history."""
    return retag_articles(all_articles, watchlist, db)


def retag_articles(
    all_articles: bool = False, watchlist: str | None = None, db: str | None = None
) -> dict[str, int | float | str]:
    """Re-tag the stored articles tagged with another watchlist version (all with
    `all_articles`); returns counts, the watchlist version and the time taken. The CLI calls
    this directly: a re-tag takes seconds, less than starting Prefect's temporary server."""
    settings = load_settings(watchlist=watchlist, db=db)
    wl = load_watchlist(settings.watchlist)
    started = time.perf_counter()
    articles = matches = about = 0
    with connect(settings.warehouse_url) as con:
        ids = queries.articles_to_retag(con, None if all_articles else wl.version)
        for first in range(0, len(ids), BATCH):
            rows = queries.article_texts(con, ids[first : first + BATCH])
            tagged = [(aid, wl.tag(title, text, language)) for aid, title, text, language in rows]
            load.replace_topic_matches(con, tagged, wl.version, datetime.now(UTC))
            articles += len(tagged)
            matches += sum(len(ms) for _, ms in tagged)
            about += sum(m.relevance == "about" for _, ms in tagged for m in ms)
    counts = {
        "version": wl.version,
        "articles": articles,
        "matches": matches,
        "about": about,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info("retag done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
