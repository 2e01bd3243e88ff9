"""feeds.yaml and settings: the shipped files are valid, and errors name file, line and fix."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from extractors.topics import load_watchlist
from newswatch.config import load_sources
from newswatch.errors import ConfigError
from newswatch.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = {"en", "ru", "uk", "es", "zh", "fa"}


def test_shipped_feeds_cover_outlets_and_languages() -> None:
    sources = load_sources(REPO / "seeds" / "feeds.yaml")
    assert len(sources) >= 40
    assert {s.language for s in sources} >= LANGUAGES
    kinds = Counter(s.kind for s in sources)
    assert kinds["telegram"] >= 3 and kinds["substack"] >= 1
    assert all(s.url.startswith("https://t.me/s/") for s in sources if s.kind == "telegram")
    names = " ".join(f"{s.name} {s.outlet}" for s in sources)
    for outlet in ("RT", "Strategic Culture", "Mehr", "Sky News", "Reuters"):
        assert outlet in names, outlet


def test_shipped_watchlist_has_six_languages_per_topic() -> None:
    watchlist = load_watchlist(REPO / "seeds" / "watchlist.yaml")
    assert set(watchlist.topics) == {"venezuela", "ukraine", "taiwan", "iran"}
    for name in watchlist.topics:
        topic = watchlist.topic(name)
        # its names, and its home country's institutions and office holders, in all six
        assert set(topic.aliases) >= LANGUAGES, name
        assert {lang for lang, phrases in topic.home.phrases.items() if phrases} >= LANGUAGES, name


def test_demo_feeds_are_valid() -> None:
    sources = load_sources(REPO / "seeds" / "demo" / "feeds.yaml")
    assert {"rss", "atom", "jsonfeed", "telegram"} <= {s.kind for s in sources}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "  - name: A\n    kind: rss\n    url: http://x.org/f\n    language: en\n    country: US\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # A field's error is at the field's line; a missing field's at its entry's.
        (GOOD.replace("http://x.org/f", "ftp://x"), 4, ["(A)", "url", "http"]),
        (GOOD.replace("kind: rss", "kind: blog"), 3, ["kind", "rss"]),
        (GOOD.replace("    language: en\n", ""), 2, ["language", "missing"]),
        (GOOD + "    colour: red\n", 7, ["'colour' is not a known key"]),
        (GOOD + GOOD.replace("/f", "/g"), 7, ["defined twice"]),
        (GOOD.replace("kind: rss", "kind: telegram"), 2, ["https://t.me/s/<channel>"]),
        ("  - name: A\n    kind: [rss\n", 4, ["YAML syntax"]),
    ],
)
def test_feeds_errors_name_the_line(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    path = _write(tmp_path, "sources:\n" + text)
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert f"{path}:{line}" in message
    for word in words:
        assert word in message


def test_feeds_file_without_sources_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'sources:' list"):
        load_sources(_write(tmp_path, "feeds: []\n"))


def test_missing_feeds_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found.*--feeds"):
        load_sources(tmp_path / "nope.yaml")


def test_settings_from_env_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_DB", "/tmp/x/a.duckdb")
    monkeypatch.setenv("NEWSWATCH_ALLOWED_HOSTS", "127.0.0.1:8765, Example.org")
    settings = load_settings(feeds=Path("f.yaml"))
    assert settings.db == Path("/tmp/x/a.duckdb") and settings.feeds == Path("f.yaml")
    assert settings.allowed_host_list == ("127.0.0.1:8765", "example.org")
    assert settings.archive_dir == Path("/tmp/x/archive")
    monkeypatch.setenv("NEWSWATCH_CONCURRENCY", "many")
    with pytest.raises(ConfigError, match="NEWSWATCH_CONCURRENCY='many'"):
        load_settings()


def test_feeds_keep_scalars_as_written(tmp_path: Path) -> None:
    # YAML 1.1 reads NO (Norway) as false and `yes` as true; a seed file means the letters.
    text = GOOD.replace("country: US", "country: NO") + "    tags: [yes, 2024]\n"
    (source,) = load_sources(_write(tmp_path, "sources:\n" + text))
    assert (source.country, source.tags) == ("NO", ("yes", "2024"))


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("sources:\n  - !!python/object/apply:os.system [echo]\n", 2, ["tag", "not allowed"]),
        ("sources:\n" + GOOD + "    url: http://x.org/again\n", 7, ["repeats the key 'url'"]),
        ("sources:\n" + GOOD.replace("[", "") + "    tags: {a: b}\n", 7, ["tags", "list"]),
    ],
)
def test_seed_file_errors_name_the_line(
    tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sources(_write(tmp_path, text))
    assert caught.value.line == line, str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_empty_watchlist_names_line_one(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"watchlist.yaml:1: the watchlist is empty"):
        load_watchlist(path)
