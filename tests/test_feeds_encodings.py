"""extractors.feeds and character encodings: the HTTP charset against the XML declaration
(feedparser's own cases, read from ../shared/corpus), declared, undeclared and wrongly declared
encodings, and content types that do not match the body."""

from __future__ import annotations

import pytest

from extractors.feeds import parse_feed
from tests.feedcheck import FEED_URL, parse, rss


@pytest.mark.parametrize(
    "name", ["http_text_xml_charset_2.xml", "http_text_xml_charset_overrides_encoding_2.xml"]
)
def test_http_charset_from_feedparser_suite(name: str) -> None:
    # feedparser's own expectation, with its own header: 'This is a \xa3\u201ctest.\u201d'
    feed = parse(name, content_type="text/xml; charset=windows-1252")
    assert (feed.format, feed.error_kind) == ("rss20", None)
    assert feed.entries[0].summary == "This is a £“test.”"


def test_declared_charset_is_used() -> None:
    body = rss(
        "<item><title>\xcf\xf0\xe8\xe2\xe5\xf2</title><link>https://example.org/1</link></item>"
    )
    cp1251 = body.decode().encode("latin-1")  # the bytes a windows-1251 server sends for "Привет"
    declared = parse_feed(
        cp1251, FEED_URL, content_type="application/rss+xml; charset=windows-1251"
    )
    assert declared.entries[0].title == "Привет"
    undeclared = parse_feed(cp1251, FEED_URL)
    assert undeclared.entries[0].title != "Привет"


def test_undeclared_encoding_means_utf8() -> None:
    # No XML declaration, no charset: XML says UTF-8.
    title = "Розслідування: “тіньовий” бюджет — 5 €"
    body = rss(f"<item><title>{title}</title><link>https://example.org/1</link></item>")
    body = body.removeprefix(b'<?xml version="1.0" encoding="utf-8"?>')
    for content_type in ("", "text/xml", "application/rss+xml"):
        feed = parse_feed(body, FEED_URL, content_type=content_type)
        assert (feed.entries[0].title, feed.error_kind) == (title, None)


def test_wrongly_declared_encoding_is_reported() -> None:
    # Given a Content-Location but no Content-Type, feedparser would switch to ISO-8859-1 and
    # report only "no Content-type specified", hiding this.
    body = rss("<item><title>Caf\u00e9 \u201cnews\u201d</title><link>https://x.org/1</link></item>")
    cp1252 = body.decode().encode("windows-1252")  # but the declaration still says utf-8
    feed = parse_feed(cp1252, FEED_URL)
    assert feed.entries[0].title == "Café “news”"
    assert feed.error_kind == "malformed"
    assert feed.error_message == (
        "feed declares the wrong character encoding (document declared as utf-8, but parsed as"
        " windows-1252); 1 entry recovered"
    )


def test_bare_text_xml_does_not_flag_a_good_utf8_feed() -> None:
    # RFC 3023 says text/xml without charset means us-ascii; nobody serves feeds that way.
    feed = parse("feed-test-ru.xml", content_type="text/xml")
    assert feed.error_kind is None
    assert feed.entries[0].title.startswith("СМИ: собака")


def test_feed_served_as_html_is_still_a_feed() -> None:
    feed = parse("heise.atom", content_type="text/html; charset=utf-8")
    assert (feed.format, feed.error_kind, len(feed.entries)) == ("atom10", None, 15)
