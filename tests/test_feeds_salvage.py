"""extractors.feeds on what is not quite a feed: cut-off and broken real feeds (what can be
recovered is kept), bodies that are not feeds at all, crashes and huge entries as records,
mutated real feeds, and every feed of the shared corpus (../shared/corpus, skipped when absent)."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.feeds import SUMMARY_LIMIT, parse_feed
from extractors.records import ParsedFeed
from tests.conftest import CORPUS, SHARED, TEST_FEEDS, shared_file
from tests.feedcheck import FEED_URL, assert_well_formed_entries, parse, rss


def test_cut_off_json_feed_keeps_the_complete_items() -> None:
    whole, cut = parse("allthis.json"), parse("allthis-partial.json")
    assert (cut.format, cut.error_kind) == ("jsonfeed", "malformed")
    assert cut.error_message is not None
    assert cut.error_message.startswith("feed is not valid JSON (Unterminated string")
    assert cut.error_message.endswith("2 entries recovered")
    assert cut.title == whole.title
    assert cut.entries == whole.entries[:2]


def test_broken_feed_yields_what_can_be_recovered() -> None:
    feed = parse("osm-pl.xml")
    assert (feed.format, feed.title, feed.error_kind) == (
        "rss20",
        "OpenStreetMap Polska",
        "malformed",
    )
    assert feed.error_message == (
        "feed is not well-formed XML (unclosed CDATA section at line 281, column 0);"
        " 8 entries recovered"
    )
    assert len(feed.entries) == 8
    first = feed.entries[0]
    assert first.title.startswith("Cyfrowy Kanon") and len(first.title) == 65
    assert "będzie" in first.title
    assert first.author == "Włodzimierz Bartczak"
    assert first.published == datetime(2024, 8, 11, 9, 8, 25, tzinfo=UTC)
    assert_well_formed_entries(feed.entries)


# ---------------------------------------------------------------- not feeds


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>",
            "text/html",
            "body is an HTML page, not a feed (content-type text/html)",
        ),
        (
            b"\xef\xbb\xbf\n  <html lang='en'><body><p>moved</p></body></html>",
            "",
            "body is an HTML page, not a feed",
        ),
        (b"", "", "body is empty, not a feed"),
        (b" \r\n\t ", "text/xml", "body is empty, not a feed (content-type text/xml)"),
        (
            b"Service Unavailable",
            "text/plain",
            "body is not a feed (it starts with 'Service Unavailable') (content-type text/plain)",
        ),
        (
            b'<?xml version="1.0"?><opml version="2.0"><body><outline text="x"/></body></opml>',
            "",
            "body is an XML document with root <opml>, not a feed",
        ),
        (
            b"\x00\x01\x02PK\x03\x04" * 50,
            "application/zip",
            "body is binary data, not a feed (content-type application/zip)",
        ),
    ],
)
def test_not_a_feed(body: bytes, content_type: str, message: str) -> None:
    feed = parse_feed(body, FEED_URL, content_type=content_type)
    assert (feed.format, feed.entries, feed.error_kind) == ("unknown", (), "not_a_feed")
    assert feed.error_message == message


def test_a_body_that_names_a_local_file_is_not_read(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open() a body that is a path; this one names a real feed.
    local = tmp_path / "feed.xml"
    local.write_bytes(rss("<item><title>secret</title><link>https://example.org/s</link></item>"))
    feed = parse_feed(str(local).encode(), FEED_URL)
    assert feed.entries == ()
    assert feed.error_kind == "not_a_feed"


def test_binary_garbage_does_not_raise() -> None:
    rng = random.Random(20260105)
    for size in (1, 2, 3, 17, 512, 65_536):
        feed = parse_feed(rng.randbytes(size), FEED_URL, content_type="application/rss+xml")
        assert isinstance(feed, ParsedFeed)
    for body in (b"\xff\xfe" + rng.randbytes(300), b"\xfe\xff\x00<", b"{\xff\xfe", b"<\x00r\x00"):
        assert isinstance(parse_feed(body, FEED_URL), ParsedFeed)


def test_feedparser_crash_becomes_a_record() -> None:
    # feedparser 6.0.14 raises UnicodeDecodeError on a stray byte in the encoding name (and,
    # fuzzing the corpus, TypeError/KeyError/ValueError in ~1% of mutated feeds).
    body = b'<?xml version="1.0" encoding="utf\xac-8"?><rss version="2.0"><channel/></rss>'
    feed = parse_feed(body, FEED_URL)
    assert feed.entries == ()
    assert feed.error_kind == "parser_error"
    assert feed.error_message is not None
    assert feed.error_message.startswith("feedparser failed: UnicodeDecodeError")


def test_huge_entry_does_not_raise_and_is_clipped() -> None:
    huge = "<p>" + "x" * 5_000_000 + "</p>"
    body = rss(
        f"<item><title>big</title><link>https://example.org/big</link><description><![CDATA[{huge}]]></description></item>"
    )
    entry = parse_feed(body, FEED_URL).entries[0]
    assert len(entry.summary) == SUMMARY_LIMIT


# ---------------------------------------------------------------- properties


REAL_BODIES = [
    (CORPUS / rel).read_bytes() for rel in TEST_FEEDS.values() if (CORPUS / rel).is_file()
]


@pytest.mark.skipif(
    not REAL_BODIES,
    reason=f"needs ../shared/corpus/feeds: the third-party corpus is not in this repository"
    f" (looked in {SHARED})",
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncated_or_mutated_real_feeds_never_raise(data: st.DataObject) -> None:
    body = bytearray(data.draw(st.sampled_from(REAL_BODIES)))
    body = body[: data.draw(st.integers(0, len(body)))]
    for _ in range(data.draw(st.integers(0, 8))):
        if body:
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    content_type = data.draw(
        st.sampled_from(["", "text/xml", "application/json", "text/html; charset=utf-8"])
    )
    feed = parse_feed(bytes(body), FEED_URL, content_type=content_type)
    assert isinstance(feed, ParsedFeed)
    assert_well_formed_entries(feed.entries)


# ---------------------------------------------------------------- the shared corpus


def corpus_content_type(record: dict[str, object]) -> str:
    for header in record.get("feedparser_test_http_headers") or []:
        name, _, value = str(header).partition(":")
        if name.strip().lower() == "content-type":
            return value.strip()
    return ""


def feedparser_finds_a_fetchable_link(body: bytes) -> bool:
    result = feedparser.parse(io.BytesIO(body))
    return any(
        urlsplit(str(entry.get("link", "")).strip()).scheme in ("http", "https")
        for entry in result.entries
    )


def test_every_corpus_feed(capsys: pytest.CaptureFixture[str]) -> None:
    index_path = shared_file("corpus/feeds/index.json")
    records = json.loads(index_path.read_text(encoding="utf-8"))
    kinds: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    entries = 0
    lost: list[str] = []
    for record in records:
        body = (CORPUS / "feeds" / record["file"]).read_bytes()
        feed = parse_feed(
            body,
            f"https://corpus.example.org/{record['file']}",
            content_type=corpus_content_type(record),
        )
        assert_well_formed_entries(feed.entries)
        entries += len(feed.entries)
        kinds[feed.error_kind or "ok"] += 1
        formats[feed.format] += 1
        if (
            record["xml_wellformed"]
            and record["fp_entries"] > 0
            and not feed.entries
            and feedparser_finds_a_fetchable_link(body)
        ):
            lost.append(record["file"])
    feedparser_total = sum(record["fp_entries"] for record in records)
    with capsys.disabled():
        print(
            f"\ncorpus: {len(records)} files, {entries} entries "
            f"(feedparser alone: {feedparser_total}), by outcome {dict(kinds)}, "
            f"by format {dict(formats)}"
        )
    assert not lost, f"well-formed feeds with fetchable links yielded nothing: {lost}"
    # more than feedparser alone: what salvage recovers from the broken feeds on top
    assert (entries, feedparser_total) == (1583, 1455)
