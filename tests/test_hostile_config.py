"""Bad config and a busy database: one line naming the file, the entry and the fix; exit 1.

The config cases run the CLI's `main()` in this process (the same code path as the console
script, without an interpreter start per case); the lock cases run real processes, since a
lock held by another process is the point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch import cli
from tests.conftest import REPO, run_newswatch

WATCHLIST = REPO / "seeds" / "watchlist.yaml"
GOOD_SOURCE = (
    "  - name: A\n    kind: rss\n    url: http://x.org/f\n    language: en\n    country: US\n"
)


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    saved = sys.argv
    sys.argv = ["newswatch", *argv]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = saved
    return code, capsys.readouterr().err


def _one_line_error(code: int, err: str) -> str:
    assert code == 1, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newswatch: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe\x00binary", ["not UTF-8", "save the file as UTF-8"]),
        (b"", [":1:", "sources:"]),
        (b"sources: [unclosed\n", ["YAML syntax error"]),
        (b"sources:\n  - !!python/object/apply:os.system [echo]\n", ["YAML syntax error"]),
        (b"sources: &a\n  - *a\n", [":1:", "anchor", "alias refers to"]),
        (
            GOOD_SOURCE.replace("http://x.org/f", "javascript:alert(1)").encode(),
            [":4:", "(A)", "url", "http"],
        ),
        ((GOOD_SOURCE + GOOD_SOURCE).encode(), [":7:", "defined twice", "unique name"]),
        (GOOD_SOURCE.replace("kind: rss", "knd: rss").encode(), [":3:", "'knd'", "known key"]),
    ],
)
def test_bad_feeds_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: list[str]
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_bytes(b"sources:\n" + content if content.startswith(b"  -") else content)
    argv = ["ingest", "--feeds", str(feeds), "--watchlist", str(WATCHLIST)]
    line = _one_line_error(*_main([*argv, "--db", str(tmp_path / "n.duckdb")], capsys))
    assert str(feeds) in line
    for word in words:
        assert word in line, line


def test_feeds_path_that_is_not_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ingest", "--feeds", str(tmp_path), "--db", str(tmp_path / "n.duckdb")]
    assert "pass --feeds PATH" in _one_line_error(*_main(argv, capsys))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe\x00binary", ["not UTF-8", "save the file as UTF-8"]),
        (b"", [":1:", "the watchlist is empty", "topics:"]),
        (b"topics: [unclosed\n", [":2:", "YAML syntax error"]),
        (b"topics:\n  x: 5\n", [":2:", "topic 'x'", "has no aliases"]),
    ],
)
def test_bad_watchlist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: list[str]
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("sources:\n" + GOOD_SOURCE, encoding="utf-8")
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_bytes(content)
    argv = ["ingest", "--feeds", str(feeds), "--watchlist", str(watchlist)]
    line = _one_line_error(*_main([*argv, "--db", str(tmp_path / "n.duckdb")], capsys))
    assert str(watchlist) in line  # the file, where in it, and what to do
    for word in words:
        assert word in line, line


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("NEWSWATCH_CONCURRENCY", "many", ["NEWSWATCH_CONCURRENCY='many'", "integer"]),
        ("NEWSWATCH_PAGE_TIMEOUT", "-1", ["NEWSWATCH_PAGE_TIMEOUT='-1'", "greater than 0"]),
        ("NEWSWATCH_MAX_UNPACKED_BYTES", "0", ["NEWSWATCH_MAX_UNPACKED_BYTES"]),
        ("NEWSWATCH_RESPECT_ROBOTS", "perhaps", ["NEWSWATCH_RESPECT_ROBOTS", "boolean"]),
        ("NEWSWATCH_PAGE_TIMOUT", "5", ["not a setting", "did you mean NEWSWATCH_PAGE_TIMEOUT?"]),
    ],
)
def test_bad_setting(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    words: list[str],
) -> None:
    monkeypatch.setenv(variable, value)
    line = _one_line_error(*_main(["sql", "select 1", "--db", str(tmp_path / "n.db")], capsys))
    assert line.startswith("newswatch: error: settings: ")
    for word in words:
        assert word in line, line


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newswatch.errors import ConfigError

    monkeypatch.setenv("NEWSWATCH_CONCURRENCY", "many")
    monkeypatch.setattr(sys, "argv", ["newswatch", "--debug", "sql", "select 1"])
    with pytest.raises(ConfigError):
        cli.main()


# --- a database locked by another process ------------------------------------------------------


@pytest.fixture
def locked_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A DuckDB file held open for writing by another process, as a running ingest holds it."""
    db = tmp_path / "data" / "newswatch.duckdb"
    db.parent.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(db)!r}); con.execute('CREATE TABLE t (x INT)')\n"
            "print('holding', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    try:
        yield db, holder.pid
    finally:
        holder.communicate("")


@pytest.mark.usefixtures("prefect_harness")
def test_locked_database_is_one_clear_line(locked_db: tuple[Path, int], tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    db, pid = locked_db
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("sources:\n" + GOOD_SOURCE, encoding="utf-8")
    # The ingest's flow reports to the test harness's API instead of starting its own server.
    # Half a second's wait, not the default 5: the message is checked here, the wait in
    # tests/test_hand_run.py.
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "NEWSWATCH_LOCK_WAIT": "0.5",
    }
    for argv in (
        ["sql", "select 1"],
        ["ingest", "--feeds", str(feeds), "--watchlist", str(WATCHLIST)],
    ):
        run = run_newswatch(*argv, "--db", str(db), env=env)
        assert run.returncode == 1, run.stderr
        output = run.stdout + run.stderr
        assert "Traceback" not in output, output
        errors = [line for line in output.splitlines() if line.startswith("newswatch: error:")]
        assert len(errors) == 1, output
        assert f"in use by another newswatch process (process {pid})" in errors[0]
        assert "try again" in errors[0]
