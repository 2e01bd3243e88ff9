"""Properties over mutated real input: the feed parser, the article extractor and the tagger
return a result or their recorded error, never raise, and never outrun their time limit.

Input is the real feeds and pages of ../shared/corpus/, mutated by hypothesis: cut short,
bytes flipped, hostile snippets inserted (XML entity bombs, external entities pointing at
files and private addresses, stray CDATA and comments, NULs, BOMs, surrogates), slices
deleted or repeated (deep nesting), two files spliced. Runs are deterministic (`derandomize`,
no example database) and bounded, so `make test` stays quick and repeatable.
"""

from __future__ import annotations

import gzip
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.articles import extract_article
from extractors.feeds import parse_feed
from extractors.records import Article, ParsedFeed, TopicMatch
from extractors.topics import Watchlist, load_watchlist
from newswatch.errors import ExtractionError
from tests.conftest import CORPUS, REPO

FEEDS_DIR = CORPUS / "feeds"
PAGES_DIR = CORPUS / "pages" / "html"

pytestmark = pytest.mark.skipif(
    not FEEDS_DIR.is_dir() or not PAGES_DIR.is_dir(),
    reason=f"the shared corpus is absent ({CORPUS}): property tests need its feeds and pages",
)

# Time limits: a page gets the pipeline's extraction limit (NEWSWATCH_EXTRACT_TIMEOUT's
# default); a feed body and a tagging call, which have no limit of their own, get a few
# seconds, far above what any real input takes (milliseconds).
EXTRACT_LIMIT_S = 30.0
PARSE_LIMIT_S = 10.0
TAG_LIMIT_S = 5.0

HOSTILE = (
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"&#xD800;&#0;&#x110000;",
    b"<script>alert(1)</script>",
    b"<" * 200,
    b"<div>" * 300,
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>'
    b"<r>&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;</r>",
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://10.1.2.3/secret">]><title>&x;</title>',
    b'<!DOCTYPE r SYSTEM "http://169.254.169.254/latest/meta-data/">',
)
COMMON = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class OverTime(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail the example if the call runs longer than `seconds` (SIGALRM, main thread)."""

    def expire(_signum: int, _frame: object) -> None:
        raise OverTime(f"took longer than its {seconds:g} s limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@cache
def _files(folder: Path, pattern: str) -> tuple[Path, ...]:
    return tuple(sorted(p for p in folder.rglob(pattern) if p.is_file()))


@cache
def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


@cache
def _watchlist() -> Watchlist:
    return load_watchlist(REPO / "seeds" / "watchlist.yaml")


@st.composite
def mutated(draw: st.DrawFn, folder: Path, pattern: str) -> bytes:
    files = _files(folder, pattern)
    body = _bytes(draw(st.sampled_from(files)))
    for _ in range(draw(st.integers(1, 3))):
        body = _mutate(draw, body, files)
    return body


def _mutate(draw: st.DrawFn, body: bytes, files: tuple[Path, ...]) -> bytes:
    at = draw(st.integers(0, len(body)))
    kind = draw(st.sampled_from(("cut", "flip", "insert", "delete", "repeat", "splice")))
    if kind == "cut":
        return body[:at]
    if kind == "flip":
        flipped = bytearray(body)
        for position in draw(st.lists(st.integers(0, max(0, len(body) - 1)), max_size=16)):
            if flipped:
                flipped[position] = draw(st.integers(0, 255))
        return bytes(flipped)
    if kind == "insert":
        snippet = draw(st.sampled_from(HOSTILE) | st.binary(max_size=64))
        return body[:at] + snippet + body[at:]
    end = min(len(body), at + draw(st.integers(1, 4096)))
    if kind == "delete":
        return body[:at] + body[end:]
    if kind == "repeat":
        return body[:end] + body[at:end] * draw(st.integers(2, 50)) + body[end:]
    other = _bytes(draw(st.sampled_from(files)))
    return body[:at] + other[draw(st.integers(0, len(other))) :]


@settings(COMMON, max_examples=200)
@given(body=mutated(FEEDS_DIR, "*.*"))
def test_parse_feed_returns_a_record(body: bytes) -> None:
    with time_limit(PARSE_LIMIT_S):
        parsed = parse_feed(body, "https://feeds.example.org/feed.xml")
    assert isinstance(parsed, ParsedFeed)
    # it says what it found: entries, what went wrong, or at least the format it read
    assert parsed.entries or parsed.error_kind or parsed.format != "unknown"
    for entry in parsed.entries:
        assert not entry.url or entry.url.startswith(("http://", "https://")), entry.url
        assert "root:x:0:0" not in f"{entry.title} {entry.summary} {entry.content}"


@settings(COMMON, max_examples=50)
@given(body=mutated(PAGES_DIR, "*.html.gz"))
def test_extract_article_returns_an_article_or_its_error(body: bytes) -> None:
    try:
        with time_limit(EXTRACT_LIMIT_S):
            article = extract_article(body, "https://news.example.org/2026/01/05/story")
    except ExtractionError as exc:
        assert str(exc)  # the recorded reason
        return
    assert isinstance(article, Article) and article.text
    assert "root:x:0:0" not in article.text


@settings(COMMON, max_examples=100)
@given(
    body=mutated(PAGES_DIR, "*.html.gz"),
    language=st.sampled_from([None, "en", "ru", "uk", "es", "zh", "fa", "xx"]),
)
def test_tag_returns_matches(body: bytes, language: str | None) -> None:
    text = body[:200_000].decode("utf-8", "replace")
    title = text[:200]
    with time_limit(TAG_LIMIT_S):
        matches = _watchlist().tag(title, text, language)
    assert all(isinstance(m, TopicMatch) and m.relevance in ("about", "mention") for m in matches)
    for match in matches:
        for evidence in match.evidence:
            source = title if evidence.field == "title" else text
            assert 0 <= evidence.start <= evidence.end <= len(source)
