"""`newswatch retag` and `newswatch explain`, through the CLI, on a real DuckDB file.

The warehouse is filled the way ingest fills it (`pipeline.extract.process_post` tags each post,
`warehouse.load.store_pages` stores it with the watchlist's version); then the watchlist
changes and the commands run against the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractors.records import EntryKey
from extractors.topics import load_watchlist
from newswatch.cli import app
from pipeline.extract import Post, process_post
from warehouse import load
from warehouse.db import connect
from warehouse.load import article_ids

runner = CliRunner()
NOW = datetime(2026, 1, 7, 12, tzinfo=UTC)
OLD = """topics:
  venezuela:
    name: Venezuela
    aliases: {en: [Venezuela, Caracas], es: [Venezuela]}
"""
NEW = """topics:
  venezuela:
    name: Venezuela
    aliases: {en: [Venezuela, Caracas, Maduro], es: [Venezuela]}
  iran:
    name: Iran
    aliases: {en: [Iran, Tehran]}
    weak: {en: [Iranian*]}
"""
POSTS = [
    ("Maduro captured", "Maduro was flown out of Caracas overnight, officials in Caracas said."),
    ("Tehran reacts", "Iran condemned the raid; Iranian officials in Tehran spoke of piracy."),
    ("Weather", "Sunny and warm all week, with a light breeze."),
]


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A DuckDB file with three posts tagged under OLD, and the path of the NEW watchlist."""
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(OLD, encoding="utf-8")
    new.write_text(NEW, encoding="utf-8")
    wl = load_watchlist(old)
    pages = [
        process_post(
            Post(
                EntryKey("Demo Wire", f"guid-{n}"),
                "Demo Wire",
                f"https://wire.example/{n}",
                title,
                text,
                NOW,
                language="en",
            ),
            NOW,
            wl,
        )
        for n, (title, text) in enumerate(POSTS)
    ]
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        load.store_pages(con, pages, wl.version, NOW)
        ids = article_ids(con, pages, NOW).of_pages(pages)
    return db, new, ids


def _matches(db: Path) -> dict[tuple[str, str], tuple[str, str]]:
    with connect(db, read_only=True) as con:
        rows = con.execute(
            "SELECT article_id, topic, relevance, watchlist_version FROM topic_matches"
        ).fetchall()
    return {(a, t): (r, v) for a, t, r, v in rows}


def _versions(db: Path) -> set[str | None]:
    with connect(db, read_only=True) as con:
        return {r[0] for r in con.execute("SELECT watchlist_version FROM articles").fetchall()}


def test_retag_takes_only_articles_of_another_version(warehouse) -> None:
    db, new, (maduro, tehran, _weather) = warehouse
    before = _matches(db)
    assert set(before) == {(maduro, "venezuela")}  # OLD knew neither Maduro nor Iran

    result = runner.invoke(app, ["retag", "--db", str(db), "--watchlist", str(new)])
    assert result.exit_code == 0, result.output
    assert "3 articles re-tagged" in result.output  # the weather post too: it had no version
    version = load_watchlist(new).version
    after = _matches(db)
    assert after == {
        (maduro, "venezuela"): ("about", version),
        (tehran, "iran"): ("about", version),
    }
    assert _versions(db) == {version}

    again = runner.invoke(app, ["retag", "--db", str(db), "--watchlist", str(new)])
    assert again.exit_code == 0 and "0 articles re-tagged" in again.output
    every = runner.invoke(app, ["retag", "--all", "--db", str(db), "--watchlist", str(new)])
    assert every.exit_code == 0 and "3 articles re-tagged" in every.output
    assert _matches(db) == after


def test_retag_with_a_broken_watchlist_changes_nothing(warehouse, tmp_path: Path) -> None:
    db, _, _ = warehouse
    broken = tmp_path / "broken.yaml"
    broken.write_text(NEW.replace("aliases: {en: [Iran, Tehran]}", "aliases: {en: Iran}"), "utf-8")
    before = _matches(db)
    result = runner.invoke(app, ["retag", "--db", str(db), "--watchlist", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:7: topic 'iran'" in str(result.exception)
    assert _matches(db) == before


def test_explain_shows_parts_spans_and_snippets(warehouse) -> None:
    db, new, (maduro, tehran, _) = warehouse
    stale = runner.invoke(
        app, ["explain", maduro, "--db", str(db), "--watchlist", str(new)], terminal_width=240
    )
    assert stale.exit_code == 0, stale.output
    out = stale.output
    assert "Maduro captured" in out and maduro in out
    # OLD did not know Maduro: the headline did not count, so the post scored lower
    assert "Stored: venezuela" in out and "not the current" in out
    assert "venezuela (Venezuela): about" in out
    for part in ("title", "lead", "count", "spread", "share", "prominence", "frame", "home"):
        assert part in out
    # every span, with its offsets into the title or text, the alias and the snippet
    assert "title │ 0     │ 6   │ Maduro" in out
    assert "…officials in Caracas said." in out or "officials in Caracas said." in out

    runner.invoke(app, ["retag", "--db", str(db), "--watchlist", str(new)])
    # the start of the id's hash names it; the start of the id (its hour) is shared
    short = tehran.split("-")[1][:6]
    fresh = runner.invoke(
        app, ["explain", short, "--db", str(db), "--watchlist", str(new)], terminal_width=240
    )
    assert fresh.exit_code == 0, fresh.output
    assert "the current one" in fresh.output and "iran (Iran): about" in fresh.output
    assert "Iranian*" in fresh.output  # the weak alias behind "Iranian"


def test_explain_unknown_article_is_one_clear_error(warehouse) -> None:
    db, new, _ = warehouse
    result = runner.invoke(app, ["explain", "ffffffff", "--db", str(db), "--watchlist", str(new)])
    assert result.exit_code == 1
    assert "no article 'ffffffff'" in str(result.exception)


def test_explain_names_an_ambiguous_start_and_its_articles(warehouse) -> None:
    db, new, ids = warehouse
    hour = ids[0][:6]  # "a2026…": every article of the fixture was first seen in one hour
    result = runner.invoke(app, ["explain", hour, "--db", str(db), "--watchlist", str(new)])
    assert result.exit_code == 1
    message = str(result.exception)
    assert f"'{hour}' starts several article ids" in message
    assert all(aid in message for aid in ids)
