"""extractors.feeds on real feeds read from ../shared/corpus (tests/conftest.py's TEST_FEEDS,
origins in tests/data/README.md; those tests skip when it is absent), on small hand-written
bodies for the rules that real files do not cover, and on the whole shared corpus."""

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
from extractors.records import FeedEntry, ParsedFeed
from tests.conftest import CORPUS, SHARED, TEST_FEEDS, feed_bytes, shared_file

DATA = Path(__file__).parent / "data"
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


# ---------------------------------------------------------------- real feeds, one per format


def test_rss20_news_feed() -> None:
    feed = parse("livemint.xml")
    assert (feed.format, feed.title, feed.error_kind) == ("rss20", "Livemint - News", None)
    assert len(feed.entries) == 25
    first = feed.entries[0]
    # Titles and summaries are checked by a fragment and their length: the repository quotes
    # no third-party headline whole (tests/test_no_third_party.py).
    assert first.title.startswith("PM Modi-Xi Jinping") and len(first.title) == 67
    assert first.url == (
        "https://www.livemint.com/news/india/"
        "pm-modi-xi-jinping-informal-summit-in-varanasi-this-october-report-1559104147038.html"
    )
    assert first.published == datetime(2019, 5, 29, 10, 16, tzinfo=UTC)
    assert first.author == "Elizabeth Roche"
    assert first.summary.startswith("PM Modi hosting Xi")
    assert_well_formed_entries(feed.entries)


def test_guids_are_stable_across_runs() -> None:
    # The <guid> values here are bare numbers; feedparser resolves them against the feed URL
    # like links, so the guid depends on the URL the feed was fetched from, and on nothing else.
    first, second = parse("livemint.xml"), parse("livemint.xml")
    assert [e.guid for e in first.entries] == [e.guid for e in second.entries]
    assert first.entries[0].guid == "https://feeds.example.org/news/1559104147038"


def test_atom10_german_feed() -> None:
    feed = parse("heise.atom")
    assert feed.format == "atom10" and feed.title.startswith("heise developer ")
    assert len(feed.entries) == 15
    first = feed.entries[0]
    assert first.guid == "http://heise.de/-3088438"
    assert first.title.startswith("Java-Anwendungsserver:") and len(first.title) == 51
    assert first.url.startswith("http://www.heise.de/developer/meldung/Java-Anwendungsserver-")
    # <published> 17:22+01:00 wins over <updated> 17:54+01:00.
    assert first.published == datetime(2016, 2, 1, 16, 22, tzinfo=UTC)
    assert first.summary.startswith("Die nun verfügbare")
    assert_well_formed_entries(feed.entries)


def test_rss10_rdf_in_latin1_with_escaped_html() -> None:
    feed = parse("rss_1.0_iso8859.xml")
    assert (feed.format, feed.title, len(feed.entries)) == ("rss10", "Golem.de", 1)
    entry = feed.entries[0]
    assert entry.title.startswith("Digitalministerium:") and "Glasfaserförderung" in entry.title
    assert entry.author == "Achim Sawall"
    assert entry.published == datetime(2023, 1, 25, 18, 3, 2, tzinfo=UTC)
    # The description is escaped HTML with links and a tracking pixel: only the words stay.
    assert entry.summary.startswith("Ab April soll es")
    assert entry.summary.endswith(". (Infrastruktur, Glasfaser)")
    assert len(entry.summary) == 156 and "<" not in entry.summary and "  " not in entry.summary


def test_rss092_without_dates() -> None:
    feed = parse("heraldsun.rss")
    assert (feed.format, feed.title) == ("rss092", "RSS0.92 Example")
    assert [e.title for e in feed.entries] == ["The First Item", "The Second Item"]
    assert [e.guid for e in feed.entries] == [
        "http://www.oreilly.com/example/001.html",
        "http://www.oreilly.com/example/002.html",
    ]
    assert all(e.published is None for e in feed.entries)


def test_json_feed_11() -> None:
    feed = parse("jsonfeed_elastic_1.1.json")
    assert (feed.format, feed.error_kind) == ("jsonfeed", None)
    assert feed.title == "Blog – InfluxData"  # "&#8211;" in the JSON string, decoded
    assert len(feed.entries) == 3
    first = feed.entries[0]
    assert first.title.startswith("InfluxDB vs. Graphite") and len(first.title) == 62
    assert " Data & Metrics " in first.title  # "&amp;" in the JSON string, decoded
    # No "id" in these items: the URL is the guid.
    assert (
        first.guid
        == first.url
        == (
            "https://www.influxdata.com/blog/"
            "influxdb-outperforms-graphite-in-time-series-data-metrics-benchmark"
        )
    )
    # "Fri, 31 May 2019 12:17:58 -0700": RFC 822, not the RFC 3339 the spec asks for.
    assert first.published == datetime(2019, 5, 31, 19, 17, 58, tzinfo=UTC)
    assert first.author == "Chris Churilo, Fake Author 1"  # 1.1 `authors` beats 1.0 `author`
    assert first.summary.startswith("This blog post has been")
    # An item without authors inherits the feed's.
    assert feed.entries[2].author == "Fake Author 3, Fake Author 4"


def test_json_feed_10() -> None:
    feed = parse("allthis.json")
    assert (feed.format, feed.title, len(feed.entries)) == ("jsonfeed", "And now it’s all this", 12)
    first = feed.entries[0]
    assert first.guid == "http://leancrew.com/all-this/2017/11/last-thoughts-on-modifier-keys/"
    assert first.title.startswith("Last thoughts") and len(first.title) == 30
    assert first.summary == "The first shall be last."
    assert first.published == datetime(2017, 11, 23, 21, 8, 29, tzinfo=UTC)
    assert first.author == "Dr. Drang"
    assert_well_formed_entries(feed.entries)


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


def test_russian_feed() -> None:
    feed = parse("feed-test-ru.xml")
    assert (feed.format, feed.title, len(feed.entries)) == ("rss20", "Аргументы и Факты", 1)
    entry = feed.entries[0]
    assert entry.title.startswith("СМИ: собака") and len(entry.title) == 59
    assert entry.summary.startswith("15-летняя мать") and len(entry.summary) == 76
    assert entry.published == datetime(2019, 5, 18, 7, 52, 50, tzinfo=UTC)  # 10:52:50 +0300


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


# ---------------------------------------------------------------- entry rules


def test_links_are_resolved_and_unfetchable_ones_not_followed() -> None:
    body = rss(
        "<item><title>relative</title><link>/story/1</link></item>"
        "<item><title>padded</title><link>\n   https://example.org/story/2  \n</link></item>"
        "<item><title>script</title><link>javascript:alert(1)</link></item>"
        "<item><title>data</title><link>data:text/html,hello</link></item>"
        "<item><title>mail</title><link>mailto:desk@example.org</link></item>"
        "<item><title>ftp</title><link>ftp://example.org/file</link></item>"
        "<item><title>no link</title><description>a podcast episode</description></item>"
    )
    feed = parse_feed(body, "https://feeds.example.org/rss")
    assert [(e.title, e.url, e.content) for e in feed.entries] == [
        ("relative", "https://feeds.example.org/story/1", None),
        ("padded", "https://example.org/story/2", None),
        # No http(s) link: nothing is fetched; an item's own text is its content.
        ("script", "", ""),
        ("data", "", ""),
        ("mail", "", ""),
        ("ftp", "", ""),
        ("no link", "", "a podcast episode"),
    ]
    assert feed.error_kind is None  # link-less items are common and harmless


def test_duplicate_guids_keep_the_first() -> None:
    item = (
        "<item><title>{}</title><link>https://example.org/{}</link>"
        '<guid isPermaLink="false">{}</guid></item>'
    )
    body = rss(
        item.format("first", "a", "g1")
        + item.format("second", "b", "g1")
        + item.format("third", "c", "g2")
    )
    feed = parse_feed(body, FEED_URL)
    assert [(e.guid, e.title) for e in feed.entries] == [("g1", "first"), ("g2", "third")]


def test_guid_falls_back_to_the_link() -> None:
    body = rss("<item><title>t</title><link>https://example.org/a</link></item>")
    assert parse_feed(body, FEED_URL).entries[0].guid == "https://example.org/a"


def test_titles_and_summaries_become_plain_text() -> None:
    long_text = "word " * 400
    body = rss(
        "<item><title>Tom &amp;amp; Jerry</title><link>https://example.org/a</link>"
        "<description><![CDATA[<p>One&nbsp;<b>bold</b></p><p>two</p><script>x()</script>"
        f"<ul><li>three</li></ul>]]></description></item>"
        f"<item><title>long</title><link>https://example.org/b</link>"
        f"<description>{long_text}</description></item>"
    )
    first, second = parse_feed(body, FEED_URL).entries
    assert first.title == "Tom & Jerry"
    assert first.summary == "One bold two three"
    assert len(second.summary) <= SUMMARY_LIMIT
    assert second.summary.endswith("word…")


def test_published_falls_back_to_updated() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><id>urn:x:1</id><title>e</title><link href="https://example.org/e"/>'
        b"<updated>2024-03-01T12:00:00+05:00</updated></entry></feed>"
    )
    feed = parse_feed(body, FEED_URL)
    assert feed.format == "atom10"
    assert feed.entries[0].published == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)


def test_feed_wrapped_in_xhtml_is_parsed() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x">'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>wrapped</title><entry><id>urn:x:1</id><title>e</title>"
        b'<link href="https://example.org/e"/></entry></feed></body></html>'
    )
    feed = parse_feed(body, FEED_URL)
    assert [e.url for e in feed.entries] == ["https://example.org/e"]


# ---------------------------------------------------------------- JSON Feed rules


def json_feed(items: list[dict[str, object]], **top: object) -> bytes:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items, **top}
    return json.dumps(doc).encode()


def test_json_feed_item_rules() -> None:
    body = json_feed(
        [
            {"id": 17, "url": "/posts/17", "title": "Numbers &amp; ids"},
            {"id": "x", "url": "javascript:alert(1)", "title": "script"},
            {"id": "linked", "external_url": "https://other.example/story", "title": "external"},
            {"id": 17, "url": "https://example.org/dup", "title": "duplicate"},
            {"id": "text", "url": "https://example.org/t", "content_text": "if a<b then   b>a"},
            {
                "id": "html",
                "url": "https://example.org/h",
                "content_html": "<p>Hello <i>you</i></p>",
            },
            {
                "id": "naive",
                "url": "https://example.org/n",
                "date_published": "2024-01-02T03:04:05",
            },
            {"id": "bad-date", "url": "https://example.org/d", "date_published": "yesterday"},
            "not an object",
        ]
    )
    feed = parse_feed(body, "https://example.org/feed.json", content_type="application/feed+json")
    by_guid = {e.guid: e for e in feed.entries}
    assert list(by_guid) == ["17", "x", "linked", "text", "html", "naive", "bad-date"]
    assert by_guid["x"].url == "" and by_guid["x"].content == ""
    assert by_guid["17"].url == "https://example.org/posts/17"
    assert by_guid["17"].title == "Numbers & ids"
    assert by_guid["linked"].url == "https://other.example/story"
    assert by_guid["text"].summary == "if a<b then b>a"  # plain text: a "<" is not a tag
    assert by_guid["html"].summary == "Hello you"
    assert by_guid["naive"].published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert by_guid["bad-date"].published is None


def test_json_that_is_not_a_json_feed() -> None:
    rss_in_json = b'{"rss": {"version": "2.0", "channel": {"title": "Scripting News"}}}'
    feed = parse_feed(rss_in_json, FEED_URL, content_type="application/json")
    assert (feed.entries, feed.error_kind) == ((), "not_a_feed")
    assert feed.error_message == (
        "body is JSON but not a JSON Feed (no jsonfeed.org version and no items list)"
        " (content-type application/json)"
    )
    array = parse_feed(b"[1, 2, 3]", FEED_URL, content_type="application/json")
    assert array.error_kind == "not_a_feed"


def test_xml_labelled_as_json_is_parsed_as_xml() -> None:
    feed = parse_feed(feed_bytes("heraldsun.rss"), FEED_URL, content_type="application/json")
    assert (feed.format, len(feed.entries)) == ("rss092", 2)


def test_deeply_nested_json_does_not_raise() -> None:
    feed = parse_feed(b'{"items": ' + b"[" * 100_000, FEED_URL)
    assert feed.entries == ()


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


# ---------------------------------------------------------------- schedule hints


def test_ttl_from_real_feeds() -> None:
    assert parse("feed-test-ru.xml").ttl_seconds == 24 * 60  # <ttl>24</ttl>
    # <sy:updatePeriod>\n\thourly\t</sy:updatePeriod>, frequency 1; in a broken feed.
    assert parse("osm-pl.xml").ttl_seconds == 3600
    assert parse("livemint.xml").ttl_seconds is None
    assert parse("heise.atom").ttl_seconds is None
    assert parse("allthis.json").ttl_seconds is None


SY = 'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'


def with_hints(hints: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0" {SY}><channel><title>t</title>{hints}'
        "<item><link>https://example.org/1</link></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("hints", "seconds"),
    [
        ("<ttl>15</ttl>", 900),
        ("<ttl> 60 </ttl>", 3600),
        ("<ttl>30</ttl><sy:updatePeriod>daily</sy:updatePeriod>", 1800),  # ttl first
        (
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
            21_600,
        ),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
            1800,
        ),
        ("<sy:updatePeriod>Weekly</sy:updatePeriod>", 7 * 86_400),  # frequency defaults to 1
        ("<sy:updatePeriod>monthly</sy:updatePeriod>", 30 * 86_400),
        ("<sy:updatePeriod>yearly</sy:updatePeriod>", 365 * 86_400),
        # Nonsense is no hint: the next one is used, or none.
        ("<ttl>0</ttl>", None),
        ("<ttl>-5</ttl>", None),
        ("<ttl>sixty</ttl>", None),
        ("<ttl>1.5</ttl>", None),
        ("<ttl></ttl>", None),
        ("<ttl>99999999999</ttl>", None),
        ("<ttl>600000</ttl>", None),  # 416 days: past a year
        ("<ttl>0</ttl><sy:updatePeriod>hourly</sy:updatePeriod>", 3600),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>0</sy:updateFrequency>",
            3600,
        ),
        (
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>x</sy:updateFrequency>",
            86_400,
        ),
        ("<sy:updateFrequency>4</sy:updateFrequency>", None),  # a frequency of no period
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>7200</sy:updateFrequency>",
            1,
        ),
    ],
)
def test_ttl_hints(hints: str, seconds: int | None) -> None:
    assert parse_feed(with_hints(hints), FEED_URL).ttl_seconds == seconds


def test_atom_and_rdf_feeds_with_the_syndication_module() -> None:
    atom = (
        f'<feed xmlns="http://www.w3.org/2005/Atom" {SY}><title>a</title>'
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
        '<entry><id>urn:x:1</id><link href="https://example.org/1"/></entry></feed>'
    ).encode()
    assert parse_feed(atom, FEED_URL).ttl_seconds == 900
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns="http://purl.org/rss/1.0/" {SY}><channel rdf:about="https://example.org/">'
        "<title>r</title><sy:updatePeriod>daily</sy:updatePeriod></channel>"
        '<item rdf:about="https://example.org/1"><link>https://example.org/1</link></item>'
        "</rdf:RDF>"
    ).encode()
    assert parse_feed(rdf, FEED_URL).ttl_seconds == 86_400


def test_many_comments_before_a_non_element_are_answered_at_once() -> None:
    # The prolog patterns used to backtrack through every way of splitting a run of comments:
    # 2^n steps, minutes for 30 of them. Hostile bodies must not stall a poll.
    for body in (b"<!---->" * 2_000 + b"x", b"<?xml version='1.0'?>" + b"<!-- - -->" * 2_000):
        assert parse_feed(body, FEED_URL).error_kind == "not_a_feed"


# ---------------------------------------------------------------- dispatch to Telegram


def test_telegram_pages_go_to_the_telegram_parser() -> None:
    page = (DATA / "telegram" / "channel.html").read_bytes()
    by_marker = parse_feed(
        page, "https://mirror.example.org/s/newswatch_demo", content_type="text/html"
    )
    assert (by_marker.format, len(by_marker.entries)) == ("telegram", 5)
    by_kind = parse_feed(page, "https://example.org/anything", kind="telegram")
    assert by_kind == by_marker


def test_telegram_host_without_posts_is_not_public() -> None:
    page = (DATA / "telegram" / "not_public.html").read_bytes()
    assert parse_feed(page, "https://t.me/closed_demo").error_kind == "telegram_not_public"
    # Anywhere else the same page is just an HTML page.
    assert parse_feed(page, "https://example.org/closed").error_kind == "not_a_feed"


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
    assert entries >= 0.9 * feedparser_total
