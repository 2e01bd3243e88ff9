"""extractors.feeds, one real feed per format (RSS 0.92, 1.0, 2.0, Atom, JSON Feed 1.0 and 1.1,
read from ../shared/corpus through tests/conftest.py's TEST_FEEDS, origins in
tests/data/README.md; those tests skip when it is absent), then the rules for entries and JSON
Feed items on small hand-written bodies, and the dispatch of t.me pages to the Telegram parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from extractors.feeds import SUMMARY_LIMIT, parse_feed
from tests.conftest import feed_bytes
from tests.feedcheck import FEED_URL, assert_well_formed_entries, parse, rss

DATA = Path(__file__).parent / "data"


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


def test_russian_feed() -> None:
    feed = parse("feed-test-ru.xml")
    assert (feed.format, feed.title, len(feed.entries)) == ("rss20", "Аргументы и Факты", 1)
    entry = feed.entries[0]
    assert entry.title.startswith("СМИ: собака") and len(entry.title) == 59
    assert entry.summary.startswith("15-летняя мать") and len(entry.summary) == 76
    assert entry.published == datetime(2019, 5, 18, 7, 52, 50, tzinfo=UTC)  # 10:52:50 +0300


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


def test_url_joins_are_memoised_with_the_same_results() -> None:
    """extractors.feeds memoises feedparser's two URL joins (a quarter of a feed's parse):
    in place, the same results as the joins themselves, xml:base still honoured per element,
    and long strings passed through uncached, so a feed cannot fill the memo."""
    import feedparser.mixin
    import feedparser.urls

    from extractors.feeds import URL_JOIN_MAX_CHARS

    memoised = feedparser.mixin.make_safe_absolute_uri
    assert memoised.cache_info is not None  # installed at import
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xml:base="https://example.org/news/"><title>t</title>'
        b'<entry xml:base="world/"><id>a</id><title>a</title><link href="one.html"/></entry>'
        b'<entry><id>b</id><title>b</title><link href="two.html"/></entry></feed>'
    )
    before = memoised.cache_info().hits
    feed = parse_feed(atom, "https://feeds.example.org/atom")
    assert [e.url for e in feed.entries] == [
        "https://example.org/news/world/one.html",
        "https://example.org/news/two.html",
    ]
    assert memoised.cache_info().hits > before
    for base, rel in [("https://a.example/x/", "../y"), ("https://a.example/", "javascript:1")]:
        assert memoised(base, rel) == feedparser.urls.make_safe_absolute_uri(base, rel)
    size = memoised.cache_info().currsize
    long = "https://a.example/" + "x" * URL_JOIN_MAX_CHARS
    assert memoised(long, "b") == feedparser.urls.make_safe_absolute_uri(long, "b")
    assert memoised.cache_info().currsize == size


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
