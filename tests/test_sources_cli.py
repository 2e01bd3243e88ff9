"""`newswatch sources add`, `import-opml` and `export-opml` against a scripted loopback site."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from newswatch.cli import app
from newswatch.config import load_sources
from newswatch.snapshot import SnapshotServer
from tests.test_polling import answer, rss

runner = CliRunner()
PAGE = """<html><head><title>Example News</title>
<link rel="alternate" type="application/rss+xml" title="Example News" href="/news/rss.xml">
<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed">
</head><body><h1>Example News</h1></body></html>"""


@pytest.fixture
def feeds_file(tmp_path: Path, scripted: SnapshotServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSWATCH_ALLOWED_HOSTS", scripted.host_port)
    monkeypatch.setenv("NEWSWATCH_PER_HOST_DELAY", "0")
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "# my sources\nsources:\n  - name: Existing\n    kind: rss\n"
        "    url: https://example.org/feed\n    language: en\n    country: GB\n",
        encoding="utf-8",
    )
    return path


def _add(feeds: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    args = ["sources", "add", url, "--language", "en", "--country", "US", "--feeds", str(feeds)]
    return runner.invoke(app, [*args, *extra], terminal_width=200)


def test_add_finds_the_feed_a_page_announces(scripted: SnapshotServer, feeds_file: Path) -> None:
    answer(scripted, "/", 200, PAGE.encode(), "text/html")
    answer(scripted, "/news/rss.xml", 200, rss("a", "b"), "application/rss+xml")
    result = _add(feeds_file, f"{scripted.base}/")
    assert result.exit_code == 0, result.output
    sources = load_sources(feeds_file)
    assert [s.name for s in sources] == ["Existing", "T"]
    assert sources[1].url == f"{scripted.base}/news/rss.xml" and sources[1].kind == "rss"
    assert feeds_file.read_text(encoding="utf-8").startswith("# my sources")


def test_add_tries_common_paths(scripted: SnapshotServer, feeds_file: Path) -> None:
    answer(scripted, "/blog/", 200, b"<html><body>No link here</body></html>", "text/html")
    answer(scripted, "/feed", 200, rss("a"), "application/rss+xml")
    result = _add(feeds_file, f"{scripted.base}/blog/", "--name", "The Blog")
    assert result.exit_code == 0, result.output
    assert load_sources(feeds_file)[-1].url == f"{scripted.base}/feed"


def test_add_without_a_feed_saves_nothing(scripted: SnapshotServer, feeds_file: Path) -> None:
    answer(scripted, "/", 200, b"<html><body>Nothing</body></html>", "text/html")
    before = feeds_file.read_text(encoding="utf-8")
    result = _add(feeds_file, f"{scripted.base}/")
    assert result.exit_code == 1 and "no working feed" in str(result.exception)
    assert feeds_file.read_text(encoding="utf-8") == before


def test_opml_round_trip(tmp_path: Path, feeds_file: Path) -> None:
    opml = tmp_path / "out.opml"
    repo_feeds = Path(__file__).resolve().parents[1] / "seeds" / "feeds.yaml"
    result = runner.invoke(
        app, ["sources", "export-opml", "--output", str(opml), "--feeds", str(repo_feeds)]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sources", "import-opml", str(opml), "--feeds", str(feeds_file)])
    assert result.exit_code == 0, result.output
    imported = {s.url: s for s in load_sources(feeds_file)}
    for source in load_sources(repo_feeds):
        copy = imported[source.url]
        assert (copy.kind, copy.language, copy.country) == (
            source.kind,
            source.language,
            source.country,
        )
    again = runner.invoke(app, ["sources", "import-opml", str(opml), "--feeds", str(feeds_file)])
    assert "0 sources added" in again.output
