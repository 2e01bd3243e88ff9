"""Issue 18's paper cuts, each with its test: `index` and `retag` on a mistyped --db, an empty
`sql`, `sql --file` and `sql -`, the README's SQL pasted as it is, article ids in `search`,
defaults and NEWSWATCH_* variables in --help, and `newswatch config`."""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from newswatch.cli import app
from newswatch.settings import Settings
from tests.conftest import DEMO, run_newswatch
from tests.test_search import ARTICLES, _store
from warehouse.db import connect
from warehouse.search import ensure_index

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture
def empty_db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with connect(path):
        pass  # created and migrated: every table and view, no rows
    return path


@pytest.mark.parametrize("command", ["index", "retag"])
def test_a_mistyped_db_creates_nothing_and_fails(tmp_path: Path, command: str) -> None:
    typo = tmp_path / "dta" / "newswatch.duckdb"
    result = runner.invoke(app, [command, "--db", str(typo)])
    assert result.exit_code == 1
    assert "no database here (check --db or NEWSWATCH_DB" in str(result.exception)
    assert not typo.exists() and not typo.parent.exists()


def test_a_mistyped_db_is_one_line_on_stderr(tmp_path: Path) -> None:
    typo = tmp_path / "typo.duckdb"
    done = run_newswatch("index", "--db", str(typo))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"newswatch: error: {typo}: no database here (check --db or NEWSWATCH_DB; "
        "`newswatch ingest` creates one)"
    )
    assert not typo.exists()


@pytest.mark.parametrize("query", ["", "  ;\n", "-- only a comment\n"])
def test_an_empty_query_says_so(empty_db: Path, query: str) -> None:
    result = runner.invoke(app, ["sql", query, "--db", str(empty_db)])
    assert result.exit_code == 1
    assert "no SQL to run" in str(result.exception)


def test_sql_from_a_file_and_from_stdin(empty_db: Path, tmp_path: Path) -> None:
    query = "-- how many\nSELECT 41 + 1 AS answer;\n"
    script = tmp_path / "q.sql"
    script.write_text(query, encoding="utf-8")
    by_file = runner.invoke(app, ["sql", "--file", str(script), "--db", str(empty_db)])
    assert by_file.exit_code == 0, by_file.output
    assert "42" in by_file.output
    by_stdin = runner.invoke(
        app, ["sql", "-", "--format", "csv", "--db", str(empty_db)], input=query
    )
    assert by_stdin.exit_code == 0, by_stdin.output
    assert by_stdin.output.split() == ["answer", "42"]
    both = runner.invoke(app, ["sql", "select 1", "--file", str(script), "--db", str(empty_db)])
    assert both.exit_code == 2 and "not both" in both.output


def test_the_readme_queries_paste_as_they_are(empty_db: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", readme, re.DOTALL)
    # DuckLake's ATTACH is for an analyst's own duckdb session, not for `newswatch sql`.
    blocks = [b for b in blocks if "ATTACH" not in b]
    assert len(blocks) >= 4
    assert any(b.startswith("--") for b in blocks)  # the case that used to fail
    for block in blocks:
        result = runner.invoke(app, ["sql", block, "--db", str(empty_db)], terminal_width=200)
        assert result.exit_code == 0, (block, result.output, result.exception)


def test_search_results_show_the_article_id(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _store(path, ARTICLES)
    with connect(path) as con:
        ensure_index(con, datetime.now(UTC))
        (article_id,) = con.execute(
            "SELECT id FROM articles WHERE title = 'Drone attack on Kyiv'"
        ).fetchone()  # type: ignore[misc]
    result = runner.invoke(app, ["search", "drone", "--db", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"id {article_id}" in result.output
    explained = runner.invoke(app, ["explain", article_id, "--db", str(path)])
    assert explained.exit_code == 0, explained.output


COMMANDS = [
    ["ingest"],
    ["digest"],
    ["reprocess"],
    ["retag"],
    ["explain"],
    ["sql"],
    ["search"],
    ["index"],
    ["config"],
    ["sources"],
    ["sources", "add"],
    ["sources", "remove"],
    ["sources", "pause"],
    ["sources", "resume"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_each_setting_option_s_default_and_variable(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    # The help is a boxed table whose cells wrap: read it as one line of words.
    text = " ".join(result.output.replace("│", " ").split())
    for variable, default in (
        ("NEWSWATCH_FEEDS", "seeds/feeds.yaml"),
        ("NEWSWATCH_WATCHLIST", "seeds/watchlist.yaml"),
        ("NEWSWATCH_DB", "data/newswatch.duckdb"),
    ):
        assert f"[env var: {variable}]" in text, (command, variable)
        assert f"[default: ({default})]" in text, (command, default)


def test_config_prints_each_setting_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [v for v in os.environ if v.startswith("NEWSWATCH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSWATCH_FEED_TIMEOUT", "7")
    monkeypatch.setenv("NEWSWATCH_FEEDS", str(tmp_path / "env-feeds.yaml"))
    monkeypatch.setenv("NEWSWATCH_WAREHOUSE", "ducklake:postgres:dbname=nw password=hunter2")
    result = runner.invoke(
        app, ["config", "--db", str(tmp_path / "cli.duckdb")], terminal_width=240
    )
    assert result.exit_code == 0, result.output
    rows = {
        cells[0]: cells[1:]
        for line in result.output.splitlines()
        if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 3
    }
    assert rows["db"] == [str(tmp_path / "cli.duckdb"), "command line (--db)"]
    assert rows["feeds"] == [str(tmp_path / "env-feeds.yaml"), "environment (NEWSWATCH_FEEDS)"]
    assert rows["feed_timeout"] == ["7.0", "environment (NEWSWATCH_FEED_TIMEOUT)"]
    assert rows["page_timeout"] == ["20.0", "default"]
    assert rows["watchlist"] == ["seeds/watchlist.yaml", "default"]
    assert "hunter2" not in result.output and "password=***" in rows["warehouse"][0]
    assert len(rows) == len(Settings.model_fields)  # every setting
    assert rows["link_events"] == ["True", "default"]


def test_make_demo_runs_again_hours_later(demo_run: Any, tmp_path: Path) -> None:
    """`make demo` a second time, once the snapshot's deliberately broken feed is due again
    and the others are not: the demo polls every source (as it says), so the run is partial,
    not "every one of 1 sources failed"."""
    from newswatch.demo import run_demo

    data = tmp_path / "data"
    shutil.copytree(demo_run.db.parent, data)
    db = data / demo_run.db.name
    with connect(db) as con:  # hours later: the broken feed's retry has come, no other poll
        con.execute(
            "UPDATE feed_state SET next_poll_at = CASE WHEN last_result = 'failed'"
            " THEN now() - INTERVAL 1 HOUR ELSE now() + INTERVAL 1 HOUR END"
        )
    settings = Settings(db=db, watchlist=REPO / "seeds" / "watchlist.yaml")
    report = run_demo(DEMO, settings, lambda _line: None)
    assert report.ingest["status"] == "partial"
    assert report.ingest["sources"] == demo_run.ingest["sources"] >= 10
    assert report.ingest["feeds_failed"] == 1
    assert report.articles == demo_run.articles
