"""The CLI: every command has help with an example and is in the README; errors are one line."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from typer.testing import CliRunner

from newswatch.cli import app
from tests.conftest import run_newswatch

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    "ingest",
    "digest",
    "rebuild",
    "sql",
    "search",
    "sources",
    "sources enable",
    "sources add",
    "sources import-opml",
    "sources export-opml",
    "reprocess",
    "retag",
    "explain",
    "demo",
]
runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example_and_common_options(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Example:" in result.output and f"newswatch {command}" in result.output
    if command != "demo":
        for option in ("--feeds", "--watchlist", "--db"):
            assert option in result.output


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"newswatch {command}" in readme


def test_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run_newswatch("sql", "select 1", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "no database here yet" in result.stderr and "Traceback" not in result.stderr


def test_bad_feeds_file_names_the_line(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"sources": [{"name": "x", "kind": "rss"}]}), encoding="utf-8")
    result = run_newswatch("ingest", "--feeds", str(feeds), "--db", str(tmp_path / "n.duckdb"))
    assert result.returncode == 1
    assert f"{feeds}:2" in result.stderr and "field 'url' is missing" in result.stderr


def test_sql_and_sources_print_tables(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from extractors.records import Source
    from warehouse import load
    from warehouse.db import connect

    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        load.sync_sources(
            con,
            [Source("Demo Wire", "rss", "http://127.0.0.1:1/f.xml", "en", "GB", "Demo Wire")],
            datetime.now(UTC),
        )
    result = runner.invoke(
        app, ["sql", "select name, kind from sources", "--db", str(db)], terminal_width=200
    )
    assert result.exit_code == 0 and "Demo Wire" in result.output and "1 row" in result.output
    result = runner.invoke(app, ["sources", "--db", str(db)], terminal_width=200)
    assert result.exit_code == 0 and "Demo Wire" in result.output
    bad = runner.invoke(app, ["sql", "select nope from sources", "--db", str(db)])
    assert bad.exit_code == 1 and "SQL error" in str(bad.exception)


def test_prefect_yaml_defines_the_deployments() -> None:
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert deployments["ingest"]["schedules"][0]["cron"] == "*/15 * * * *"
    assert deployments["digest"]["schedules"][0]["cron"] == "0 6 * * *"
    assert deployments["search-index"]["schedules"][0]["cron"] == "5-59/15 * * * *"
    for deployment in deployments.values():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, name), Flow), deployment["entrypoint"]
