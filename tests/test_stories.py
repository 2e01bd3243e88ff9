"""Near copies join their original's story, across runs, through the real warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from extractors.articles import extract_article
from extractors.fingerprints import content_hash, signature
from extractors.records import EntryKey, ProcessedPage, Source
from pipeline.stories import build_index, near_duplicates
from warehouse import load
from warehouse.db import connect
from warehouse.dedup import article_texts
from warehouse.load import article_ids

DEMO = Path(__file__).resolve().parents[1] / "seeds" / "demo" / "pages"
NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)


def _page(path: str, source: str) -> ProcessedPage:
    article = extract_article((DEMO / path).read_bytes(), f"http://127.0.0.1:8765/pages/{path}")
    return ProcessedPage(
        (EntryKey(source, path),),
        source,
        source,
        NOW,
        article,
        content_hash(article.text),
        signature=signature(article.text),
        extractor_version="test",
    )


def _store(db: Path, *pages: ProcessedPage) -> dict[str, int]:
    with connect(db) as con:
        load.sync_sources(
            con,
            [Source(p.source, "rss", "http://127.0.0.1:1/f", "en", "US", p.source) for p in pages],
            NOW,
        )
        index = build_index(con, NOW, WINDOW)  # rebuilt from DuckDB, as at the start of a run
        return load.store_pages(con, pages, "v", NOW, near_duplicates(con, index, pages, NOW))


def test_trimmed_copy_tomorrow_joins_yesterdays_story(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    original = _page("demo-wire/caracas-wakes-to-quiet-streets.html", "Demo Wire")
    copy = _page(
        "taipei-demo-times/caracas-wakes-to-quiet-streets-as-questions-mount.html", "Taipei"
    )
    same_event = _page("demo-wire/us-forces-seize-maduro-in-overnight-raid.html", "Demo Wire")
    assert original.content_hash != copy.content_hash  # not an exact copy
    assert _store(db, original, same_event) == {"stored": 2, "duplicates": 0, "failed": 0}
    assert _store(db, copy) == {"stored": 0, "duplicates": 1, "failed": 0}  # the next run
    with connect(db, read_only=True) as con:
        rows = dict(
            con.execute(
                "SELECT source, duplicate_of IS NOT NULL FROM articles WHERE source = 'Taipei'"
            ).fetchall()
        )
        spread = con.execute(
            "SELECT articles, outlets FROM story_spread ORDER BY articles DESC"
        ).fetchall()
        signatures = con.execute(
            "SELECT count(*) FROM articles WHERE near_dup_signature IS NULL"
        ).fetchone()[0]
    assert rows == {"Taipei": True}
    assert spread == [(2, 2), (1, 1)]  # the same-event article stays its own story
    assert signatures == 0


def test_the_index_is_rebuilt_from_signatures_and_old_versions_from_texts(tmp_path: Path) -> None:
    """At start the index reads signatures, not texts; an article whose stored signature is of
    another version is indexed from its text. Both originals' copies are then found, their
    texts read back from the warehouse."""
    db = tmp_path / "w.duckdb"
    first = _page("demo-wire/caracas-wakes-to-quiet-streets.html", "Demo Wire")
    second = _page("demo-wire/us-forces-seize-maduro-in-overnight-raid.html", "Demo Wire")
    assert _store(db, first, second) == {"stored": 2, "duplicates": 0, "failed": 0}
    with connect(db) as con:
        con.execute(  # `second`'s signature as an older version would have written it
            "UPDATE articles SET near_dup_signature = '\\x00'::BLOB WHERE url LIKE '%seize%'"
        )
        index = build_index(con, NOW, WINDOW)
        assert len(index) == 2 and index.held == 1  # only the old version's text was read
        read = partial(article_texts, con)
        ids = article_ids(con, [first, second], NOW)
        assert ids.stored == {ids.of(first), ids.of(second)}
        assert index.find(first.article.text, read) == ids.of(first)
        assert index.find(second.article.text, read) == ids.of(second)
