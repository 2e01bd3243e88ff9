"""`newswatch demo`: the whole pipeline on the offline snapshot in `seeds/demo/`.

Serves the snapshot on 127.0.0.1 (port 8765, or any free port when that one is taken), allows
only that address in the fetcher, ingests every source, indexes the articles for search,
writes a digest for every day with articles, and reports where everything is and the answer
to one query.

It runs what the hand-run commands run (`newswatch ingest`, `index`, `digest`: the plain
functions of `newswatch.runs`), not the Prefect flows that `serve` schedules: those call the
same functions (tests/test_flows.py runs them under Prefect), but a flow run without a Prefect
server starts a temporary one, ~8 s and ~200 MB, which a demo has no use for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newswatch.errors import ConfigError
from newswatch.settings import Settings
from newswatch.snapshot import SNAPSHOT_BASE, rebase_file, serve_snapshot
from pipeline.progress import Progress

DEMO_PORT = int(SNAPSHOT_BASE.rsplit(":", 1)[1])
SUMMARY_SQL = (
    "SELECT topic, count(*) FILTER (WHERE relevance = 'about') AS about, "
    "count(*) FILTER (WHERE relevance = 'mention') AS mentions, "
    "count(DISTINCT outlet) AS outlets, min(day) AS first_day, max(day) AS last_day "
    "FROM articles_tagged GROUP BY topic ORDER BY topic"
)


@dataclass(frozen=True, slots=True)
class DemoReport:
    db: Path
    ingest: dict[str, Any]
    articles: int
    sources: int
    digests: list[str]
    columns: list[str]
    rows: list[tuple[Any, ...]]


def run_demo(
    snapshot: Path, settings: Settings, say: Callable[[str], None], progress: Progress | None = None
) -> DemoReport:
    from newswatch import runs
    from pipeline.search_index import refresh_index
    from warehouse.analyst import run_query
    from warehouse.db import connect

    feeds_file = snapshot / "feeds.yaml"
    if not feeds_file.is_file():
        raise ConfigError(
            str(feeds_file), "no demo snapshot here", fix="run from the repository root"
        )
    log = logging.getLogger("newswatch.demo")
    with serve_snapshot(snapshot, DEMO_PORT, any_port_if_taken=True) as server:
        feeds = rebase_file(feeds_file, settings.data_dir / "demo-feeds.yaml", server.base)
        # Only this loopback server may be fetched from, and every demo outlet lives on it:
        # politeness delays between requests to "one host" would only slow the demo down.
        demo = settings.model_copy(
            update={"feeds": feeds, "allowed_hosts": server.host_port, "per_host_delay": 0.0}
        )
        say(f"serving {snapshot} on {server.base}")
        # Every source, due or not: a demo run again later must not be judged on the one
        # source whose retry has come, the snapshot's deliberately broken feed.
        result = runs.ingest(demo, log, all_sources=True, progress=progress)
    refresh_index(demo.warehouse_url, demo.lock_wait)
    paths = runs.digest(demo, log, all_days=True, progress=progress)
    with connect(settings.db, read_only=True) as con:
        columns, rows = run_query(con, SUMMARY_SQL)
        articles, sources = con.execute(
            "SELECT count(*), count(DISTINCT source) FROM articles"
        ).fetchone() or (0, 0)
    return DemoReport(settings.db.resolve(), result, articles, sources, paths, columns, rows)
