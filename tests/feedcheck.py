"""What the extractors.feeds tests share: parsing a test feed by name, a small RSS body, and the
invariants every parsed entry must hold. The test modules are test_feeds_formats.py,
test_feeds_encodings.py, test_feeds_salvage.py and test_feeds_schedule.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from extractors.feeds import SUMMARY_LIMIT, parse_feed
from extractors.records import FeedEntry, ParsedFeed
from tests.conftest import feed_bytes

FEED_URL = "https://feeds.example.org/news/feed.xml"


def parse(name: str, *, content_type: str = "", url: str = FEED_URL) -> ParsedFeed:
    return parse_feed(feed_bytes(name), url, content_type=content_type)


def rss(items: str, *, channel_title: str = "Test channel") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{channel_title}</title><link>https://example.org/</link>{items}"
        "</channel></rss>"
    ).encode()


def assert_well_formed_entries(entries: tuple[FeedEntry, ...]) -> None:
    """What every consumer of entries relies on, whatever the feed."""
    assert len({e.guid for e in entries}) == len(entries)
    for entry in entries:
        assert entry.guid
        assert urlsplit(entry.url).scheme in ("http", "https") or (
            entry.url == "" and entry.content is not None
        )
        assert entry.url == entry.url.strip()
        assert len(entry.summary) <= SUMMARY_LIMIT
        assert entry.published is None or entry.published.utcoffset() is not None
