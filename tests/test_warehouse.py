"""The warehouse on real DuckDB files: migrations, idempotent loads, exact-duplicate folding."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extractors.records import (
    Article,
    EntryKey,
    Evidence,
    FeedEntry,
    FetchResult,
    ParsedFeed,
    ProcessedPage,
    Source,
    TopicMatch,
)
from newswatch.errors import DatabaseInUse, WarehouseError
from tests.waiting import wait_until
from warehouse import load, queries
from warehouse.db import FILE_ALIAS, STORAGE_VERSION, connect
from warehouse.migrate import migrations

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SOURCES = [
    Source("Wire", "rss", "http://127.0.0.1:1/wire.xml", "en", "GB", "Wire"),
    Source("Copycat", "rss", "http://127.0.0.1:1/copy.xml", "en", "US", "Copycat"),
]


def _page(source: str, guid: str, url: str, text: str, hours: int = 0) -> ProcessedPage:
    article = Article(
        url=url,
        canonical_url=url,
        title=f"Title of {guid}",
        text=text,
        published=NOW + timedelta(hours=hours),
        language="en",
    )
    match = TopicMatch("iran", "about", 0.8, (Evidence("text", 0, 4, "Iran", "Iran", "Iran …"),))
    return ProcessedPage(
        entries=(EntryKey(source, guid),),
        source=source,
        outlet=source,
        fetched_at=NOW,
        article=article,
        content_hash=f"hash-of-{text}",
        matches=(match,),
        extractor_version="test",
    )


def _poll(con: duckdb.DuckDBPyConnection, source: str, *guids: str) -> int:
    fetch = FetchResult(url="u", final_url="u", status=200, body=b"x", fetched_at=NOW)
    entries = tuple(FeedEntry(guid=g, url=f"http://127.0.0.1:1/{g}.html") for g in guids)
    return load.record_poll(con, "run", source, fetch, ParsedFeed("rss20", entries=entries), NOW)


def test_migrations_apply_once(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        applied = con.execute("SELECT name FROM schema_migrations").fetchall()
    with connect(db) as con:
        again = con.execute("SELECT name FROM schema_migrations").fetchall()
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert [r[0] for r in applied] == [name for _, name, _ in migrations()] == [r[0] for r in again]
    expected = {
        "sources",
        "feed_state",
        "fetches",
        "entries",
        "articles",
        "stories",
        "topic_matches",
        "runs",
    }
    assert expected | {"articles_tagged", "daily_topic_counts", "story_spread"} <= tables


def test_an_opening_can_cap_duckdbs_threads(tmp_path: Path) -> None:
    # the ingest stores on one thread (pipeline.ingest.WAREHOUSE_THREADS); others use the cores
    with connect(tmp_path / "nw.duckdb", threads=1) as con:
        assert con.execute("SELECT current_setting('threads')").fetchone() == (1,)
    with connect(tmp_path / "nw.duckdb") as con:
        default = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()
        assert con.execute("SELECT current_setting('threads')").fetchone() == default


def test_an_opening_looks_up_a_batchs_keys_by_index(tmp_path: Path) -> None:
    # a join with up to INDEX_LOOKUP_KEYS keys filters the other side's scan by them, an index
    # lookup on an indexed column (DuckDB's default is 50 keys: a batch of 500 read the table)
    from pipeline.ingest import PAGE_BATCH, STORE_BATCHES
    from warehouse.db import INDEX_LOOKUP_KEYS

    with connect(tmp_path / "nw.duckdb") as con:
        setting = con.execute("SELECT current_setting('dynamic_or_filter_threshold')").fetchone()
    assert setting == (INDEX_LOOKUP_KEYS,) and INDEX_LOOKUP_KEYS >= PAGE_BATCH * STORE_BATCHES


def test_a_new_file_is_written_in_the_format_whose_checkpoints_stay_cheap(tmp_path: Path) -> None:
    # DuckDB's default for a new file, v1.0.0, converts every changed index to its old layout
    # at each checkpoint, and the file is closed (checkpointed) after each batch
    # at each closing; and v1.5.0's string compression, paid again at each checkpoint, is off
    with connect(tmp_path / "nw.duckdb") as con:
        version = con.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = ?",
            [FILE_ALIAS],
        ).fetchone()
        con.execute(
            "CREATE TABLE outlets AS SELECT 'Outlet ' || (i % 3) AS name FROM range(5000) t(i)"
        )
        con.execute("CHECKPOINT")
        kinds = con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('outlets')"
            " WHERE segment_type = 'VARCHAR' AND compression <> 'Constant'"
        ).fetchall()
    assert version == (f"{STORAGE_VERSION}+",) and STORAGE_VERSION == "v1.5.0"
    assert kinds == [("Uncompressed",)]


def test_loading_twice_changes_nothing(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        load.sync_sources(con, SOURCES, NOW)
        assert _poll(con, "Wire", "a", "b") == 2
        assert _poll(con, "Wire", "a", "b") == 0
        pages = [_page("Wire", "a", "http://127.0.0.1:1/a.html", "alpha")]
        first = load.store_pages(con, pages, "v1", NOW)
        second = load.store_pages(con, pages, "v1", NOW)
        counts = con.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM topic_matches),"
            " (SELECT count(*) FROM stories)"
        ).fetchone()
        pending = [p.entry.guid for p in queries.pending_entries(con)]
    assert first == {"stored": 1, "duplicates": 0, "failed": 0}
    assert second == {"stored": 0, "duplicates": 0, "failed": 0}
    assert counts == (1, 1, 1)
    assert pending == ["b"]


def test_an_article_keeps_its_id_whenever_it_is_seen_again(tmp_path: Path) -> None:
    """A new article's id starts with the hour it was first seen; seen again in another hour,
    or stored by an earlier version with the URL's bare hash, it keeps the id it has."""
    later = NOW + timedelta(hours=30)
    with connect(tmp_path / "w.duckdb") as con:
        load.sync_sources(con, SOURCES, NOW)
        _poll(con, "Wire", "a", "b")
        _poll(con, "Copycat", "a2")
        fresh = _page("Wire", "a", "http://127.0.0.1:1/a.html", "alpha")
        load.store_pages(con, [fresh], "v1", NOW)
        # an article as an earlier version stored it: its id the URL's sha1, 16 characters
        con.execute(
            "INSERT INTO articles (id, canonical_url, url, source, outlet, text, content_hash,"
            " story_id, extractor_version, fetched_at) VALUES ('0123456789abcdef',"
            " 'http://127.0.0.1:1/old.html', 'http://127.0.0.1:1/old.html', 'Wire', 'Wire',"
            " 'older', 'hash-of-older', '0123456789abcdef', 'test', ?)",
            [NOW - timedelta(days=400)],
        )
        again = _page("Copycat", "a2", "http://127.0.0.1:1/a.html", "alpha, edited")
        old = _page("Wire", "b", "http://127.0.0.1:1/old.html", "older")
        ids = load.article_ids(con, [again, old], later)
        counts = load.store_pages(con, [again, old], "v1", later, ids=ids)
        rows = dict(con.execute("SELECT canonical_url, id FROM articles").fetchall())
        entries = dict(con.execute("SELECT guid, article_id FROM entries").fetchall())
    first = rows["http://127.0.0.1:1/a.html"]
    assert first == load.article_id("http://127.0.0.1:1/a.html", NOW)
    assert first.startswith("a2026010512-") and len(first) == 24
    assert ids.by_url == {
        "http://127.0.0.1:1/a.html": first,
        "http://127.0.0.1:1/old.html": "0123456789abcdef",
    }
    assert ids.stored == {first, "0123456789abcdef"}
    assert counts == {"stored": 0, "duplicates": 0, "failed": 0} and len(rows) == 2
    assert entries == {"a": first, "a2": first, "b": "0123456789abcdef"}


def test_same_text_elsewhere_joins_the_story(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        load.sync_sources(con, SOURCES, NOW)
        _poll(con, "Wire", "orig")
        _poll(con, "Copycat", "copy")
        original = _page("Wire", "orig", "http://127.0.0.1:1/orig.html", "same words", hours=0)
        copy = _page("Copycat", "copy", "http://127.0.0.1:1/copy.html", "same words", hours=5)
        counts = load.store_pages(
            con, [copy, original], "v1", NOW
        )  # order in the batch is not time
        rows = con.execute(
            "SELECT source, duplicate_of IS NULL, story_id FROM articles ORDER BY source"
        ).fetchall()
        spread = con.execute("SELECT articles, outlets, first_outlet FROM story_spread").fetchall()
    assert counts == {"stored": 1, "duplicates": 1, "failed": 0}
    assert rows[0][:2] == ("Copycat", False) and rows[1][:2] == ("Wire", True)
    assert rows[0][2] == rows[1][2]
    assert spread == [(2, 2, "Wire")]


def test_failed_page_is_kept_for_retry(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        load.sync_sources(con, SOURCES, NOW)
        _poll(con, "Wire", "x")
        failure = ProcessedPage(
            (EntryKey("Wire", "x"),),
            "Wire",
            "Wire",
            NOW,
            error_kind="timeout",
            error_message="slow",
        )
        for _ in range(load.MAX_PAGE_ATTEMPTS - 1):
            load.store_pages(con, [failure], "v1", NOW)
            assert [p.entry.guid for p in queries.pending_entries(con)] == ["x"]
        load.store_pages(con, [failure], "v1", NOW)
        assert queries.pending_entries(con) == []
        row = con.execute("SELECT status, attempts, last_error_kind FROM entries").fetchone()
    assert row == ("failed", load.MAX_PAGE_ATTEMPTS, "timeout")


def _hold(db: Path) -> subprocess.Popen[str]:
    """Another process holding `db` open for writing until its stdin closes."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(db)!r}); print('ok', flush=True);"
            " sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
    return holder


def test_locked_database_gives_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    holder = _hold(db)
    try:
        with (
            pytest.raises(DatabaseInUse, match="in use by another newswatch process"),
            connect(db, read_only=True),
        ):
            pass
    finally:
        holder.communicate("")


def test_a_scheduled_flow_waits_for_the_database(tmp_path: Path) -> None:
    # The digest of 06:00 meets the ingest of 06:00: it waits for the file instead of failing.
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    holder = _hold(db)
    asks = db.with_name(db.name + ".wanted")  # a waiting process asks for the file there
    opened: list[int] = []

    def read() -> None:
        with connect(db, read_only=True, wait=300) as con:
            opened.append(con.execute("SELECT count(*) FROM articles").fetchone()[0])  # type: ignore[index]

    reader = threading.Thread(target=read)
    try:
        reader.start()
        assert wait_until(asks.exists, timeout=60), "the reader never waited"
        assert opened == []
        holder.communicate("")  # the writer ends: the reader gets the file
        reader.join(timeout=60)
    finally:
        if holder.poll() is None:
            holder.communicate("")
    assert opened == [0]


def test_schedule_disabling_and_enabling(tmp_path: Path) -> None:
    later = NOW + timedelta(hours=1)
    with connect(tmp_path / "w.duckdb") as con:
        load.sync_sources(con, SOURCES, NOW)
        assert queries.due_sources(con, NOW) == {"Wire", "Copycat"}
        plan = {"next_poll_at": later, "interval_s": 3600, "failure_score": 0.0}
        plan |= {"consecutive_failures": 0, "slow_retry": False, "note": "weekly rate"}
        load.record_schedules(
            con,
            [
                plan | {"source": "Wire", "disabled_reason": None},
                plan | {"source": "Copycat", "disabled_reason": "HTTP 410 Gone"},
            ],
            NOW,
        )
        assert queries.due_sources(con, NOW) == set()
        assert queries.due_sources(con, later) == {"Wire"}
        assert queries.due_sources(con, None) == {"Wire"}
        health = {r["name"]: r for r in queries.source_health(con, NOW)}
        assert health["Copycat"]["disabled_reason"] == "HTTP 410 Gone"
        assert load.enable_source(con, "Copycat") and not load.enable_source(con, "Nobody")
        assert queries.due_sources(con, NOW) == {"Copycat"}


def test_rewritten_guid_is_not_a_new_entry(tmp_path: Path) -> None:
    fetch = FetchResult(url="u", final_url="u", status=200, body=b"x", fetched_at=NOW)
    same_url = [FeedEntry(guid=g, url="http://127.0.0.1:1/a.html?utm_source=rss") for g in "12"]
    with connect(tmp_path / "w.duckdb") as con:
        load.sync_sources(con, SOURCES, NOW)
        first = load.record_poll(
            con, "r", "Wire", fetch, ParsedFeed("rss20", entries=(same_url[0],)), NOW
        )
        second = load.record_poll(
            con, "r", "Wire", fetch, ParsedFeed("rss20", entries=(same_url[1],)), NOW
        )
    assert (first, second) == (1, 0)


def test_archive_round_trip(tmp_path: Path) -> None:
    from warehouse.archive import ArchiveWriter, read_body

    bodies = [b"<html>one</html>", b"", "<p>два</p>".encode()]
    with ArchiveWriter(tmp_path, "run-1", NOW) as archive:
        pointers = [
            archive.write(
                FetchResult(
                    url=f"http://127.0.0.1:1/{i}",
                    final_url=f"http://127.0.0.1:1/{i}",
                    status=200,
                    body=body,
                    content_type="text/html; charset=utf-8",
                    fetched_at=NOW,
                )
            )
            for i, body in enumerate(bodies)
        ]
    assert pointers[1] is None  # nothing to keep
    assert {p.path for p in pointers if p} == {"2026-01-05/run-1.warc.gz"}
    third = read_body(tmp_path, pointers[2])  # type: ignore[arg-type]
    assert (third.url, third.status, third.body) == ("http://127.0.0.1:1/2", 200, bodies[2])
    assert third.content_type == "text/html; charset=utf-8" and third.fetched_at == NOW
    with pytest.raises(WarehouseError, match="cannot read"):
        read_body(tmp_path, type(pointers[0])("2026-01-05/missing.warc.gz", 0))  # type: ignore[arg-type]


def test_a_warehouse_with_sources_upgrades_through_every_later_migration(tmp_path: Path) -> None:
    # Migration 007 alters `sources` five times: in one transaction DuckDB 1.5 refused to commit
    # that on a table with rows, so every warehouse with sources failed the upgrade. Built here
    # as a warehouse of migration 006 with a source in it, then opened as ingest opens it.
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE schema_migrations "
            "(number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        for number, name, sql in migrations():
            if number <= 6:
                con.execute(sql)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [number, name])
        con.execute(
            "INSERT INTO sources (name, kind, url, outlet, added_at, updated_at) "
            "VALUES ('wire', 'rss', 'https://wire.example/feed.xml', 'Wire', now(), now())"
        )
    with connect(path) as con:
        applied = con.execute("SELECT max(number) FROM schema_migrations").fetchone()
        row = con.execute("SELECT name, paused, dates FROM sources").fetchall()
        indexes = con.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'articles'"
        ).fetchall()
    assert applied == (max(n for n, _, _ in migrations()),)
    assert row == [("wire", False, "feed")]
    # 011: the index on `published` that no query read, paid for at every stored batch
    assert indexes == [("articles_content_hash",)]


def test_a_long_statement_draws_no_progress_bar_on_the_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # DuckDB draws its progress bar on stdout once a statement runs past `progress_bar_time`
    # (2 s), even when stdout is a pipe: a long query through `newswatch query > out.csv`
    # would write it into the CSV. 0 s here.
    with connect(tmp_path / "nw.duckdb") as con:
        con.execute("SET progress_bar_time = 0")
        con.execute("SELECT count(*) FROM range(50000000) t(x) WHERE x % 7 = 1").fetchall()
    assert capfd.readouterr().out == ""
