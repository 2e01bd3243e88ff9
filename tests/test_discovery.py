"""extractors.discovery on the real blog pages NetNewsWire tests its autodiscovery with and on
newspaper4k's feed-discovery sample (which is a feed, not a page), all read from
../shared/corpus/pages (origins in tests/data/README.md; skipped when it is absent), and on
small hand-written pages for the rules."""

from __future__ import annotations

import json

import pytest

from extractors.discovery import (
    COMMON_FEED_PATHS,
    DiscoveredFeed,
    candidate_urls,
    discover_feeds,
    looks_like_feed,
)
from extractors.feeds import parse_feed
from tests.conftest import TEST_FEEDS, corpus_bytes, feed_bytes


def page(name: str) -> bytes:
    return corpus_bytes(f"pages/html/{name}.html.gz")


# ---------------------------------------------------------------- real pages

# The pages were saved without their URLs; these are where they were served from.
REAL_PAGES = [
    (
        "nnw-coco",
        "https://www.theatlantic.com/entertainment/archive/2017/11/coco-is-among-pixars-best-movies-in-years/546695/",
        [
            DiscoveredFeed("https://www.theatlantic.com/feed/all/", "The Atlantic", "rss"),
            DiscoveredFeed(
                "https://www.theatlantic.com/feed/best-of/", "Best of The Atlantic", "rss"
            ),
        ],
    ),
    (
        "nnw-daringfireball",
        "https://daringfireball.net/",
        [DiscoveredFeed("https://daringfireball.net/feeds/main", "", "atom")],
    ),
    (
        "nnw-furbo",
        "http://furbo.org/",
        [DiscoveredFeed("http://furbo.org/feed/", "Iconfactory News Feed", "rss")],
    ),
    (
        "nnw-inessential",
        "http://inessential.com/",
        [DiscoveredFeed("http://inessential.com/xml/rss.xml", "RSS", "rss")],
    ),
    (
        "nnw-sixcolors",
        "https://sixcolors.com/",
        [DiscoveredFeed("http://feedpress.me/sixcolors", "RSS", "rss")],
    ),
]


@pytest.mark.parametrize(("name", "url", "expected"), REAL_PAGES)
def test_real_pages(name: str, url: str, expected: list[DiscoveredFeed]) -> None:
    body = page(name)
    assert discover_feeds(body, url) == expected
    assert discover_feeds(body.decode("utf-8"), url) == expected  # str in, same answer
    assert not looks_like_feed(body, "text/html; charset=utf-8")


def test_feed_discovery_sample_is_a_feed() -> None:
    # newspaper4k's "sample_rss.html" is an RSS document: a URL a user adds may be the feed
    # itself, and then there is nothing to discover but the body to use.
    body = page("n4k-sample_rss")
    assert looks_like_feed(body, "text/html")
    assert discover_feeds(body, "https://www.edumock.com/mocktests") == []
    feed = parse_feed(body, "https://www.edumock.com/mocktests")
    assert (feed.format, len(feed.entries), feed.ttl_seconds) == ("rss20", 3, 3600)


# ---------------------------------------------------------------- rules


def test_link_rules() -> None:
    html = """<!doctype html><html><head>
    <base href="/blog/">
    <link rel="stylesheet" href="/style.css" type="text/css">
    <link rel="Alternate  Home" type="Application/RSS+XML; charset=utf-8" title=" Main
       feed " href="feed.xml">
    <link rel="alternate" type="application/rss+xml" title="Comments on: A post"
          href="/blog/a-post/feed/">
    <link rel="alternate" type="application/atom+xml" title="Atom" href="atom.xml">
    <link rel="alternate" type="application/rss+xml" title="Again" href="/blog/feed.xml">
    <link rel="alternate" type="application/feed+json" href="https://cdn.example.net/feed.json">
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/42">
    <link rel="alternate" type="application/json" title="JSON Feed 1.0" href="/feed.json">
    <link rel="alternate" type="text/html" hreflang="es" href="/es/">
    <link rel="alternate" type="application/json+oembed" href="/oembed?url=x">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="data:text/xml,<rss/>">
    <link rel="alternate" type="application/rss+xml" href="">
    <link rel="alternate" type="application/atom+xml" href="https://example.org/comments/feed">
    <link rel="alternate" type="application/rss+xml" href="http://[::1">
    </head><body><p>Hello</p>
    <link rel="alternate" type="application/rss+xml" title="In the body" href="/late.xml">
    </body></html>"""
    feeds = discover_feeds(html, "https://example.org/blog/2026/01/a-post/")
    assert [(f.url, f.title, f.type) for f in feeds] == [
        ("https://example.org/blog/feed.xml", "Main feed", "rss"),  # first title wins
        ("https://example.org/blog/atom.xml", "Atom", "atom"),
        ("https://cdn.example.net/feed.json", "", "jsonfeed"),
        ("https://example.org/feed.json", "JSON Feed 1.0", "jsonfeed"),
        ("https://example.org/late.xml", "In the body", "rss"),
        # Comment feeds last, in page order.
        ("https://example.org/blog/a-post/feed/", "Comments on: A post", "rss"),
        ("https://example.org/comments/feed", "", "atom"),
    ]


def test_relative_hrefs_resolve_against_the_page_without_base() -> None:
    html = b'<html><head><link rel="alternate" type="application/rss+xml" href="rss"></head></html>'
    assert discover_feeds(html, "https://example.org/news/world/") == [
        DiscoveredFeed("https://example.org/news/world/rss", "", "rss")
    ]


def test_unusable_base_is_ignored() -> None:
    html = (
        b'<html><head><base href="javascript:void(0)"><link rel="alternate"'
        b' type="application/atom+xml" href="/atom.xml"></head></html>'
    )
    assert [f.url for f in discover_feeds(html, "https://example.org/x")] == [
        "https://example.org/atom.xml"
    ]


def test_titles_in_the_pages_charset() -> None:
    html = (
        '<html><head><meta charset="windows-1251"><link rel="alternate"'
        ' type="application/rss+xml" title="Новости" href="/rss"></head></html>'
    ).encode("windows-1251")
    assert discover_feeds(html, "https://example.ru/")[0].title == "Новости"


@pytest.mark.parametrize("body", [b"", b"   ", b"\x00\x01\x02", b"not html at all"])
def test_nothing_to_discover(body: bytes) -> None:
    assert discover_feeds(body, "https://example.org/") == []


# ---------------------------------------------------------------- candidate URLs


def test_candidate_urls_root_then_section() -> None:
    urls = candidate_urls("https://Example.org/news/world/index.html?page=2#top")
    root = [f"https://Example.org{path}" for path in COMMON_FEED_PATHS]
    section = [f"https://Example.org/news/world{path}" for path in COMMON_FEED_PATHS]
    assert urls == root + section
    assert "https://Example.org/?feed=rss2" in urls
    assert "https://Example.org/news/world/?feed=rss2" in urls


def test_candidate_urls_of_a_site_root() -> None:
    expected = [f"https://example.org{path}" for path in COMMON_FEED_PATHS]
    assert candidate_urls("https://example.org") == expected
    assert candidate_urls("https://example.org/") == expected


def test_candidate_urls_section_without_trailing_slash() -> None:
    urls = candidate_urls("http://example.org:8080/politics")
    assert urls[len(COMMON_FEED_PATHS)] == "http://example.org:8080/politics/feed"


@pytest.mark.parametrize("url", ["ftp://example.org/", "example.org/feed", "", "http://[::1"])
def test_no_candidates_for_non_http_urls(url: str) -> None:
    assert candidate_urls(url) == []


def test_common_paths_are_unique() -> None:
    assert len(set(COMMON_FEED_PATHS)) == len(COMMON_FEED_PATHS)
    assert COMMON_FEED_PATHS[:9] == (
        "/feed",
        "/rss",
        "/feed.xml",
        "/rss.xml",
        "/atom.xml",
        "/index.xml",
        "/feeds/posts/default",
        "/?feed=rss2",
        "/feed/",
    )


# ---------------------------------------------------------------- sniffing


@pytest.mark.parametrize("name", sorted(TEST_FEEDS))
def test_every_test_feed_looks_like_a_feed(name: str) -> None:
    # Except the JSON Feed cut off before its `version` (which comes after the items there):
    # without it, JSON with an "items" list could be any API's answer. parse_feed, which
    # only ever sees configured feeds, still reads it.
    expected = name != "allthis-partial.json"
    assert looks_like_feed(feed_bytes(name), "") is expected


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', ""),
        (b'<?xml version="1.0"?><!-- a -->\n<feed xmlns="http://www.w3.org/2005/Atom"/>', ""),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "text/xml"),
        (b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>\n<rss version="0.91"/>', ""),
        ('<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16"), ""),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/json"),
        (b'{"items": [], "version": "https:\\/\\/jsonfeed.org\\/version\\/1"}', ""),
        (b'  {"version":"https://jsonfeed.org/version/1", "items"', "text/plain"),  # cut off
    ],
)
def test_looks_like_feed(body: bytes, content_type: str) -> None:
    assert looks_like_feed(body, content_type)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", ""),
        (b"<!doctype html><html><head><title>x</title></head></html>", "application/rss+xml"),
        (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', "text/xml"),
        (b'<?xml version="1.0"?><urlset/>', "application/xml"),
        (json.dumps({"version": "1.0", "items": []}).encode(), "application/json"),
        (b'{"rss": {"version": "2.0"}}', "application/json"),
        (b"<!---->" * 2_000 + b"x", ""),  # many comments: answered at once, not in 2^n steps
    ],
)
def test_does_not_look_like_a_feed(body: bytes, content_type: str) -> None:
    assert not looks_like_feed(body, content_type)
