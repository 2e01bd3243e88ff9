"""Full-text search: DuckDB's fts extension loaded from its wheel, the two indexes kept up to
date by the writer (`newswatch index`), words, phrases, scripts and filters, and `newswatch
search` (issue 7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from extractors.records import EntryKey
from extractors.topics import load_watchlist
from newswatch.cli import app
from newswatch.errors import WarehouseError
from pipeline.extract import Post, process_post
from warehouse import load, search
from warehouse.db import connect
from warehouse.search import SearchFilters, ensure_index, unsearchable

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "seeds" / "watchlist.yaml"
NOW = datetime(2026, 1, 8, tzinfo=UTC)
ARTICLES = [
    # outlet, language, day, title, text
    ("Demo Wire", "en", 5, "Drone attack on Kyiv", "Russia launched dozens of drones at Kyiv."),
    ("Kyiv Post", "uk", 6, "Атака дронів на Київ", "Росія запустила десятки дронів по Україні."),
    ("Vostok", "ru", 6, "Захват Мадуро", "Американские военные захватили Николаса Мадуро."),
    ("Caribe", "es", 7, "Captura de Maduro", "Estados Unidos captura a Nicolás Maduro en Caracas."),
    ("Zhongwen", "zh", 7, "台湾问题", "网友将委内瑞拉事件与台湾问题联系起来。"),
    ("Market Wire", "en", 7, "Oil and Venezuela", "Traders weigh the attack of drones on supply."),
]


def _pages(rows: list[tuple[str, str, int, str, str]], start: int = 0) -> list[Any]:
    wl = load_watchlist(WATCHLIST)
    return [
        process_post(
            Post(
                EntryKey(outlet, f"g{start + i}"),
                outlet,
                f"https://127.0.0.1/{start + i}",
                title,
                text,
                datetime(2026, 1, day, 9, tzinfo=UTC),
                language=language,
            ),
            NOW,
            wl,
        )
        for i, (outlet, language, day, title, text) in enumerate(rows)
    ]


def _store(path: Path, rows: list[tuple[str, str, int, str, str]], start: int = 0) -> None:
    with connect(path) as con:
        load.store_pages(con, _pages(rows, start), "test", NOW)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    _store(path, ARTICLES)
    with connect(path) as con:
        builds = ensure_index(con, NOW)
    assert [(b.tier, b.articles) for b in builds] == [("main", 6), ("recent", 0)]
    return path


def _titles(path: Path, query: str, **filters: Any) -> list[str]:
    with connect(path, read_only=True) as con:
        result = search.search(con, query, SearchFilters(**filters))
    return [h.title for h in result.hits]


def test_words_phrases_scripts_and_accents(warehouse: Path) -> None:
    assert _titles(warehouse, "drones attack") == ["Drone attack on Kyiv", "Oil and Venezuela"]
    assert _titles(warehouse, '"attack on Kyiv"') == ["Drone attack on Kyiv"]
    assert _titles(warehouse, '"Kyiv on attack"') == []  # a phrase keeps its order
    assert _titles(warehouse, "Мадуро") == ["Захват Мадуро"]
    assert _titles(warehouse, "дронів") == ["Атака дронів на Київ"]
    assert _titles(warehouse, "台湾") == ["台湾问题"]  # Chinese has no spaces between words
    assert _titles(warehouse, '"Nicolas Maduro"') == ["Captura de Maduro"]  # accents aside
    assert _titles(warehouse, "nowhere-to-be-found") == []


def test_filters(warehouse: Path) -> None:
    assert _titles(warehouse, "Maduro", language="ES") == ["Captura de Maduro"]
    assert _titles(warehouse, "drones attack", outlet="market") == ["Oil and Venezuela"]
    assert _titles(warehouse, "Maduro", since=date(2026, 1, 7)) == ["Captura de Maduro"]
    assert _titles(warehouse, "drones attack", topic="venezuela") == ["Oil and Venezuela"]
    assert len(_titles(warehouse, "drones attack", limit=1)) == 1


def test_scores_are_the_extensions_bm25(warehouse: Path) -> None:
    """The set-based BM25 gives the scores of the extension's own match_bm25 macro."""
    with connect(warehouse, read_only=True) as con:
        search.load_fts(con)
        for words in ("drones attack", "maduro", "kyiv drone attack"):
            ours = {h.article_id: h.score for h in search.search(con, words).hits}
            theirs = dict(
                con.execute(
                    "SELECT name, score FROM (SELECT name, fts_main_search_docs.match_bm25("
                    "name, ?, conjunctive := 1) AS score FROM fts_main_search_docs.docs) "
                    "WHERE score IS NOT NULL",
                    [words],
                ).fetchall()
            )
            assert ours.keys() == theirs.keys() and ours
            assert all(abs(ours[k] - theirs[k]) < 1e-9 for k in ours)


def test_indexes_follow_new_and_changed_articles(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = [("Late Wire", "en", 8, "Ceasefire talk", "A ceasefire was discussed in Kyiv.")]
    _store(warehouse, new, start=100)
    with connect(warehouse, read_only=True) as con:
        assert unsearchable(con) == 1
        assert search.search(con, "ceasefire").unsearchable == 1
    with connect(warehouse) as con:
        assert [(b.tier, b.articles) for b in ensure_index(con, NOW)] == [("recent", 1)]
        assert ensure_index(con, NOW) == []  # nothing changed since
    assert _titles(warehouse, "ceasefire") == ["Ceasefire talk"]
    assert set(_titles(warehouse, "Kyiv")) == {"Ceasefire talk", "Drone attack on Kyiv"}

    # A text rewritten in place (reprocessing) inside the main index: both are rebuilt.
    with connect(warehouse) as con:
        con.execute(
            "UPDATE articles SET text = 'Peace talks in Geneva.', content_hash = 'x' "
            "WHERE title = 'Oil and Venezuela'"
        )
        assert unsearchable(con) == 1
        assert [b.tier for b in ensure_index(con, NOW)] == ["main", "recent"]
    assert _titles(warehouse, "Geneva") == ["Oil and Venezuela"]
    assert _titles(warehouse, "drones attack") == ["Drone attack on Kyiv"]

    # Past MERGE_SHARE of the main index, new articles go into a new main index.
    monkeypatch.setattr(search, "MERGE_MIN", 0)
    _store(warehouse, [("Late Wire", "en", 8, "Truce", "A truce in Kyiv.")], start=200)
    with connect(warehouse) as con:
        assert [(b.tier, b.articles) for b in ensure_index(con, NOW)] == [
            ("main", 8),
            ("recent", 0),
        ]


def test_search_without_an_index_says_what_builds_it(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _store(path, ARTICLES[:1])
    with (
        connect(path, read_only=True) as con,
        pytest.raises(WarehouseError, match="newswatch index` builds it"),
    ):
        search.search(con, "drone")


def test_newswatch_index_builds_what_search_misses(tmp_path: Path) -> None:
    # Ingest stores articles without indexing them; `newswatch index` (the search-index
    # flow's work) brings the index up to date, and says so when there is nothing to do.
    path = tmp_path / "w.duckdb"
    _store(path, ARTICLES)
    runner = CliRunner()
    first = runner.invoke(app, ["index", "--db", str(path)])
    assert first.exit_code == 0, first.output
    assert "main rebuilt over 6 articles" in first.output
    assert _titles(path, "drones attack") == ["Drone attack on Kyiv", "Oil and Venezuela"]
    _store(path, [("Late Wire", "en", 8, "Truce", "A truce in Kyiv.")], start=100)
    with connect(path, read_only=True) as con:
        assert search.search(con, "truce").unsearchable == 1
    second = runner.invoke(app, ["index", "--db", str(path)])
    assert "recent rebuilt over 1 article in" in second.output
    assert _titles(path, "truce") == ["Truce"]
    again = runner.invoke(app, ["index", "--db", str(path)])
    assert again.exit_code == 0 and "already up to date" in again.output


def test_fts_loads_from_the_wheel_without_install() -> None:
    con = duckdb.connect()
    search.load_fts(con)
    assert con.execute("SELECT stem('attacks', 'porter')").fetchone() == ("attack",)


def test_demo_indexes_after_ingest_and_cli_searches(demo_run: Any) -> None:
    runner = CliRunner()
    db = str(demo_run.db)
    result = runner.invoke(
        app,
        ["search", '"launched dozens of drones"', "--topic", "ukraine", "--db", db],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1. 2026-01-05 07:30 Demo Wire (en)")
    assert "Overnight drone attack hits Ukrainian energy facilities" in result.output
    since = (date(2026, 1, 9) + timedelta(days=1)).isoformat()
    later = runner.invoke(app, ["search", "drones", "--since", since, "--db", db])
    assert later.exit_code == 0 and "no article matches" in later.output
    bad = runner.invoke(app, ["search", "drones", "--since", "yesterday", "--db", db])
    assert bad.exit_code == 2 and "--since" in bad.output
