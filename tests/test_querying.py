"""The analyst's SQL: every query of the README's "Querying" section runs on the demo database
(issue 7, acceptance 3); `newswatch sql` writes csv, json and parquet, and says in one line
when a writer holds the database."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from newswatch.cli import app
from tests.conftest import run_newswatch
from warehouse.analyst import run_query
from warehouse.db import connect

REPO = Path(__file__).resolve().parents[1]


def readme_queries() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Querying\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, re.S)


QUERIES = readme_queries()


def test_the_readme_has_at_least_ten_queries() -> None:
    assert len(QUERIES) >= 10


@pytest.mark.parametrize("sql", QUERIES, ids=[f"query{i + 1}" for i in range(len(QUERIES))])
def test_readme_query_runs_on_the_demo(demo_run: Any, sql: str) -> None:
    with connect(demo_run.db, read_only=True) as con:
        columns, rows = run_query(con, sql)
    assert columns
    if "no rows in the demo" not in sql:
        assert rows, sql


def test_sql_writes_csv_json_and_parquet(demo_run: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(demo_run.db)
    query = "select story_id, title, outlets, languages from story_spread order by story_id"
    with connect(demo_run.db, read_only=True) as con:
        expected = con.execute(query).fetchall()
    out = {fmt: tmp_path / f"spread.{fmt}" for fmt in ("csv", "json", "parquet")}
    for fmt, path in out.items():
        result = runner.invoke(
            app, ["sql", query, "--format", fmt, "--output", str(path), "--db", db]
        )
        assert result.exit_code == 0, result.output
        assert f"wrote {len(expected)} rows to {path}" in result.output
    with out["csv"].open(encoding="utf-8") as fh:
        assert [r["story_id"] for r in csv.DictReader(fh)] == [r[0] for r in expected]
    data = json.loads(out["json"].read_text(encoding="utf-8"))
    assert [(r["story_id"], r["languages"]) for r in data] == [(r[0], r[3]) for r in expected]
    assert duckdb.sql(f"select * from '{out['parquet']}'").fetchall() == expected

    printed = runner.invoke(app, ["sql", query, "--format", "json", "--db", db])
    assert printed.exit_code == 0 and json.loads(printed.output) == data
    binary = runner.invoke(app, ["sql", query, "--format", "parquet", "--db", db])
    assert binary.exit_code == 2 and "--output" in binary.output


def test_sql_says_in_one_line_when_a_writer_holds_the_database(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass  # a migrated warehouse
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; con = duckdb.connect(sys.argv[1]); "
            "con.execute('CREATE TABLE held (x INT)'); print('holding', flush=True); "
            "sys.stdin.readline()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        # Half a second's wait, not the default 5: the message is checked here, the wait in
        # tests/test_hand_run.py.
        result = run_newswatch("sql", "select 1", "--db", str(db), "--wait", "0.5")
    finally:
        holder.communicate("done\n", timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{db}: the database is in use by another newswatch process" in result.stderr
    assert f"(process {holder.pid})" in result.stderr
