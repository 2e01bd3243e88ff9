"""The warehouse on DuckLake: the same loads and queries as on one DuckDB file, and two
writers whose transactions overlap.

These lakes keep their catalog in a DuckDB file (no Postgres needed); the Postgres catalog and
two worker processes are exercised by `scripts/cluster_demo.py` (tests/test_cluster_demo.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tests.test_warehouse as single
from newswatch.errors import WarehouseError
from newswatch.settings import Settings
from tests.conftest import DEMO_ARTICLES
from warehouse import load, polls
from warehouse.db import connect, is_lake, parse_url
from warehouse.migrate import lake_ddl, natural_keys

NOW = single.NOW


def _lake(path: Path) -> str:
    return f"ducklake:{path}.ducklake data_path={path}.files/"


@pytest.fixture
def on_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    """test_warehouse's tests open `connect(tmp_path / "w.duckdb")`: make that a lake."""
    monkeypatch.setattr(single, "connect", lambda path, **kw: connect(_lake(path), **kw))


SAME_AS_ONE_FILE: list[Callable[[Path], None]] = [
    single.test_migrations_apply_once,
    single.test_loading_twice_changes_nothing,
    single.test_same_text_elsewhere_joins_the_story,
    single.test_failed_page_is_kept_for_retry,
    single.test_schedule_disabling_and_enabling,
    single.test_rewritten_guid_is_not_a_new_entry,
]


@pytest.mark.usefixtures("on_lake")
@pytest.mark.parametrize("case", SAME_AS_ONE_FILE, ids=lambda case: case.__name__)
def test_warehouse_cases_on_a_lake(case: Callable[[Path], None], tmp_path: Path) -> None:
    case(tmp_path)


def test_urls_pick_the_backend(tmp_path: Path) -> None:
    assert parse_url(tmp_path / "a.duckdb").file == tmp_path / "a.duckdb"
    assert parse_url("data/a.duckdb").file == Path("data/a.duckdb")
    assert parse_url("duckdb:///srv/a.duckdb").file == Path("/srv/a.duckdb")
    lake = parse_url("ducklake:postgres:dbname=nw host=127.0.0.1 password=s3cret data_path=/x/")
    assert lake.catalog == "postgres:dbname=nw host=127.0.0.1 password=s3cret"
    assert lake.data_path == "/x/" and "s3cret" not in str(lake)
    with pytest.raises(WarehouseError, match="no catalog"):
        parse_url("ducklake: data_path=/x/")
    with connect(tmp_path / "a.duckdb") as con:
        assert not is_lake(con)
    with connect(_lake(tmp_path / "a")) as con:
        assert is_lake(con)


def test_lake_ddl_keeps_columns_and_drops_constraints() -> None:
    sql = lake_ddl(
        "CREATE SEQUENCE s; -- PRIMARY KEY in a comment\n"
        "CREATE TABLE t (id BIGINT PRIMARY KEY DEFAULT nextval('s'), u VARCHAR NOT NULL UNIQUE,"
        " k INTEGER CHECK (k = 1), f BOOLEAN DEFAULT FALSE, PRIMARY KEY (id, u));\n"
        "CREATE INDEX t_u ON t (u);"
    )
    assert " ".join(sql.split()) == (
        "CREATE TABLE t (id BIGINT, u VARCHAR NOT NULL, k INTEGER, f BOOLEAN DEFAULT 'FALSE');"
    )
    assert natural_keys()["entries"] == ("source", "guid")


def test_overlapping_writers_store_an_article_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two writers store the same article from two sources; the second one's transaction was
    open while the first committed. Its commit conflicts, its batch is retried on the newer
    snapshot, and the article is stored once, both entries pointing at it."""
    url = "http://127.0.0.1:1/same.html"
    with connect(_lake(tmp_path / "w")) as a:
        b = a.cursor()  # a second connection to the lake, with transactions of its own
        b.execute("USE nw")
        load.sync_sources(a, single.SOURCES, NOW)
        single._poll(a, "Wire", "w1")
        single._poll(a, "Copycat", "c1")
        real_store = load._store_articles

        def store_while_a_commits(con: Any, *args: Any) -> tuple[int, int]:
            result = real_store(con, *args)
            if con is b and not attempts:
                attempts.append("a commits first")
                load.store_pages(a, [single._page("Wire", "w1", url, "same")], "v1", NOW)
            return result

        attempts: list[str] = []
        monkeypatch.setattr(load, "_store_articles", store_while_a_commits)
        with caplog.at_level(logging.WARNING, logger="warehouse"):
            counts = load.store_pages(b, [single._page("Copycat", "c1", url, "same")], "v1", NOW)
        articles = a.execute("SELECT count(*), count(DISTINCT id) FROM articles").fetchone()
        entries = a.execute("SELECT source, status, article_id FROM entries ORDER BY 1").fetchall()
    assert "commit conflict in store_pages" in caplog.text
    assert counts == {"stored": 0, "duplicates": 0, "failed": 0}
    assert articles == (1, 1)
    assert [e[1] for e in entries] == ["stored", "stored"] and entries[0][2] == entries[1][2]


def test_overlapping_first_syncs_add_each_source_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers start on a new lake at once and both add the sources: only inserts, which
    DuckLake never finds in conflict by themselves. The turn each writing transaction takes
    makes the second one retry, and its anti-join then finds the sources there."""
    with connect(_lake(tmp_path / "w")) as a:
        b = a.cursor()
        b.execute("USE nw")
        real_insert = polls.insert_rows
        attempts: list[str] = []

        def insert_while_a_commits(con: Any, table: str, *args: Any, **kwargs: Any) -> None:
            real_insert(con, table, *args, **kwargs)
            if con is b and table == "sources" and not attempts:
                attempts.append("a commits first")
                load.sync_sources(a, single.SOURCES, NOW)

        monkeypatch.setattr(polls, "insert_rows", insert_while_a_commits)
        load.sync_sources(b, single.SOURCES, NOW)
        counts = a.execute(
            "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM feed_state)"
        ).fetchone()
    assert counts == (2, 2)


@pytest.mark.slow  # ~20 s of flows on a lake; CI runs it (make test-slow)
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_and_digest_flows_on_a_lake(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real flows over the demo snapshot, with NEWSWATCH_WAREHOUSE naming a lake."""
    from flows.digest import digest
    from flows.ingest import ingest

    lake = _lake(tmp_path / "lake")
    monkeypatch.setenv("NEWSWATCH_WAREHOUSE", lake)
    paths = {"feeds": str(settings.feeds), "watchlist": str(settings.watchlist)}
    first = ingest(**paths, db=str(settings.db))
    again = ingest(**paths, db=str(settings.db), all_sources=True)
    days = digest(all_days=True, watchlist=paths["watchlist"], db=str(settings.db))
    with connect(lake, read_only=True) as con:
        articles = con.execute("SELECT count(*), count(DISTINCT canonical_url) FROM articles")
        total, distinct = articles.fetchone()  # type: ignore[misc]
        runs = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
        events = con.execute(  # issue 17: every article linked, the views work on a lake
            "SELECT count(*) FILTER (WHERE event_id IS NULL), count(DISTINCT event_id), "
            "(SELECT count(*) FROM event_spread), (SELECT count(*) FROM events) FROM articles"
        ).fetchone()
    assert events == (0, 40, 40, 40)  # the demo's 40 events, as in the single file
    assert first["status"] == "partial" and total == distinct == DEMO_ARTICLES
    assert again["articles_new"] == 0 and again["entries_new"] == 0
    assert [r[0] for r in runs] == [first["status"], again["status"]]
    assert len(days) == 7 and not settings.db.exists()  # the single file was never made
