"""The real flows under Prefect's test harness, over the demo snapshot served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from flows.digest import digest
from flows.ingest import ingest
from flows.reprocess import reprocess
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer
from tests.conftest import DEMO_ARTICLES
from warehouse.db import connect

pytestmark = pytest.mark.usefixtures("prefect_harness")

TOPICS = {"venezuela", "ukraine", "taiwan", "iran"}


def _run_ingest(settings: Settings) -> dict:
    return ingest(feeds=str(settings.feeds), watchlist=str(settings.watchlist), db=str(settings.db))


def _table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = ("sources", "entries", "articles", "stories", "topic_matches")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def _table_counts_with_text(settings: Settings) -> dict[str, int]:
    with connect(settings.db, read_only=True) as con:
        return _table_counts(con) | {
            "with_text": con.execute(
                "SELECT count(*) FROM articles WHERE length(text) > 0"
            ).fetchone()[0]  # type: ignore[index]
        }


def test_demo_ingest_digest_and_rerun(
    settings: Settings, server: SnapshotServer, tmp_path: Path
) -> None:
    first = _run_ingest(settings)
    with connect(settings.db, read_only=True) as con:
        counts = _table_counts(con)
        with_text = con.execute(
            "SELECT count(*) FROM articles WHERE length(text) > 200"
        ).fetchone()[0]
        sources = con.execute("SELECT count(DISTINCT source) FROM articles").fetchone()[0]
        topics = {r[0] for r in con.execute("SELECT DISTINCT topic FROM topic_matches").fetchall()}
        languages = {r[0] for r in con.execute("SELECT DISTINCT language FROM articles").fetchall()}
        duplicates = con.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"
        ).fetchone()[0]
    assert first["status"] == "partial"  # the demo's one broken feed
    assert DEMO_ARTICLES == 60
    assert counts["articles"] == DEMO_ARTICLES
    assert with_text == DEMO_ARTICLES - 1  # one Telegram post is a single short line
    assert sources == 13  # all 14 but the broken feed
    assert topics == TOPICS
    assert {"en", "ru", "uk", "es", "zh", "fa"} <= languages
    assert duplicates == 2  # the identical and the trimmed copy joined their originals' stories

    second = _run_ingest(settings)  # nothing is due yet
    third = ingest(
        feeds=str(settings.feeds),
        watchlist=str(settings.watchlist),
        db=str(settings.db),
        all_sources=True,
    )
    with connect(settings.db, read_only=True) as con:
        assert _table_counts(con) == counts
        runs = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
        next_polls = con.execute(
            "SELECT count(*) FROM feed_state WHERE next_poll_at > now()"
        ).fetchone()[0]
    assert second["sources"] == 0 and second["articles_new"] == 0
    assert next_polls == counts["sources"]
    # Every feed answers with the same bytes: none is parsed again, nothing is added.
    assert third["sources"] == counts["sources"] and third["entries_new"] == 0
    assert third["feeds_not_modified"] == counts["sources"] - third["feeds_failed"]
    assert len(runs) == 3

    # Reprocess: every page article comes back from the archive, with no request at all.
    hits = len(server.hits)  # type: ignore[attr-defined]
    counts_before = _table_counts_with_text(settings)
    redone = reprocess(watchlist=str(settings.watchlist), db=str(settings.db))
    assert len(server.hits) == hits  # type: ignore[attr-defined]
    assert _table_counts_with_text(settings) == counts_before
    with connect(settings.db, read_only=True) as con:
        pages, posts = con.execute(
            "SELECT count(*) FILTER (WHERE archive_path IS NOT NULL),"
            " count(*) FILTER (WHERE archive_path IS NULL) FROM articles"
        ).fetchone()
        archived_fetches = con.execute(
            "SELECT count(*) FROM fetches WHERE bytes > 0 AND archive_path IS NULL"
        ).fetchone()[0]
    assert (redone["pages"], redone["posts"]) == (pages, posts) == (51, 9)
    assert redone["unchanged_missing"] == redone["unchanged_failed"] == 0
    assert archived_fetches == 0  # every body that was fetched is in the archive

    out = tmp_path / "digests"
    paths = digest(
        all_days=True, watchlist=str(settings.watchlist), db=str(settings.db), out=str(out)
    )
    assert len(paths) == 7  # a digest for each day the demo's articles were published
    texts = [Path(p).read_text(encoding="utf-8") for p in paths]
    assert any("Top story:" in t for t in texts)
    for name in ("Venezuela", "Ukraine", "Taiwan", "Iran"):
        assert any(f"## {name}" in t for t in texts)


def test_bad_sources_are_recorded_and_others_land(
    settings: Settings, server: SnapshotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = yaml.safe_load(settings.feeds.read_text(encoding="utf-8"))["sources"]
    good = next(s for s in demo if s["kind"] == "rss" and "broken" not in s["url"])
    broken = [
        {
            "name": "Server Error",
            "kind": "rss",
            "url": f"{server.base}/faults/500.xml",
            "language": "en",
            "country": "US",
        },
        {
            "name": "Not XML",
            "kind": "rss",
            "url": f"{server.base}/faults/not-xml.xml",
            "language": "en",
            "country": "US",
        },
        {
            "name": "Slow Pages",
            "kind": "rss",
            "url": f"{server.base}/faults/hang-feed.xml",
            "language": "en",
            "country": "US",
        },
    ]
    feeds = tmp_path / "faulty-feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [good, *broken]}), encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_PAGE_TIMEOUT", "1")
    faulty = settings.model_copy(update={"feeds": feeds, "page_timeout": 1.0})

    result = _run_ingest(faulty)

    with connect(faulty.db, read_only=True) as con:
        state = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT source, last_result, last_status, last_error_kind, last_error"
                " FROM feed_state"
            ).fetchall()
        }
        page = con.execute(
            "SELECT status, error_kind, error FROM fetches"
            " WHERE purpose = 'page' AND url LIKE '%hang.html'"
        ).fetchone()
        entry = con.execute(
            "SELECT status, last_error_kind FROM entries WHERE source = 'Slow Pages'"
        ).fetchone()
        landed, good_entries = con.execute(
            "SELECT (SELECT count(*) FROM articles WHERE source = $1),"
            " (SELECT count(*) FROM entries WHERE source = $1)",
            [good["name"]],
        ).fetchone()
    assert result["status"] == "partial"
    assert state["Server Error"][:3] == ("failed", 500, "http_status")
    assert state["Not XML"][0] == "failed" and state["Not XML"][2] == "not_a_feed"
    assert state["Not XML"][3]  # the reason, in words
    assert state["Slow Pages"][0] == "ok"
    assert page == (None, "timeout", "no complete answer in 1 s")
    assert entry == ("failed", "timeout")
    assert landed == good_entries == 5  # every entry of the good source landed
    assert state[good["name"]][0] == "ok"


def test_a_submitted_fetch_tells_when_it_is_done() -> None:
    # The batch loop asks the flow's fetch task whether it has finished (pipeline.ingest,
    # STORE_BATCHES); Prefect's futures have no done(), so flows.ingest wraps them.
    import threading

    from prefect import flow, task

    from flows.ingest import _Submitted

    release = threading.Event()

    @task
    def held() -> int:
        release.wait(30)
        return 7

    @flow
    def asks() -> tuple[bool, bool, int]:
        fetching = _Submitted(held.submit())
        before = fetching.done()
        release.set()
        fetching.wait()
        return before, fetching.done(), fetching.result()

    assert asks() == (False, True, 7)
