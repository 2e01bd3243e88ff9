"""Feed autodiscovery, for `newswatch sources add URL`: which feeds a web page announces, which
URLs to try when it announces none, and whether a fetched body is a feed at all.

A page announces its feeds with `<link rel="alternate" type="application/rss+xml" href=...>`
(or Atom, or JSON Feed) in its head. We read those in page order, because sites list their
main feed first, except that comment feeds (WordPress announces one per post) go last: a user
adding a news site wants its articles, not the discussion under one of them. When a page
announces nothing, `candidate_urls` lists the paths where blog and CMS engines put feeds.

Everything here works on bytes already fetched; the CLI does the fetching.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import lxml.html

from extractors.feeds import xml_root_name
from extractors.text import collapse_whitespace, parse_html
from extractors.urls import resolve_http_url

# Declared type → the kind of feed. JSON Feed 1.0 asked for plain "application/json"; 1.1
# for "application/feed+json".
FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "jsonfeed",
    "application/json": "jsonfeed",
}

# Where feeds live when a page does not say, most common first: WordPress (/feed, /feed/,
# /?feed=rss2), Substack (/feed), Tumblr (/rss), Jekyll (/feed.xml), Drupal (/rss.xml),
# Hugo (/index.xml), Blogger (/feeds/posts/default), Ghost (/rss/), Squarespace
# (/?format=rss), and the JSON Feed convention (/feed.json).
COMMON_FEED_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/?feed=rss2",
    "/feed/",
    "/rss/",
    "/atom",
    "/index.rss",
    "/feed.json",
    "/?format=rss",
)

_SNIFF_BYTES = 4_096
_FEED_ROOTS = frozenset(("rss", "feed", "RDF"))
# PHP's json_encode writes "https:\/\/jsonfeed.org\/version\/1.1": allow escaped slashes.
_JSON_FEED_VERSION = re.compile(rb'"version"\s*:\s*"https?:\\?/\\?/jsonfeed\.org\\?/version\\?/')
# A file name ("index.html") at the end of a path: its feeds sit beside it, not under it.
_FILE_NAME = re.compile(r"/[^/]+\.[A-Za-z0-9]{1,5}$")


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    """A feed a page announces: its absolute URL, the page's title for it, and its kind
    ("rss", "atom" or "jsonfeed", from the declared type; the feed itself may disagree)."""

    url: str
    title: str
    type: str


def discover_feeds(html: bytes | str, page_url: str) -> list[DiscoveredFeed]:
    """The feeds `html` announces, in page order with comment feeds last, each URL once."""
    root = parse_html(html)
    if root is None:
        return []
    base = _base_url(root, page_url)
    found: dict[str, DiscoveredFeed] = {}
    for link in root.iter("link"):
        feed = _announced_feed(link.attrib, base)
        if feed is not None and feed.url not in found:
            found[feed.url] = feed
    feeds = list(found.values())
    return [f for f in feeds if not _is_comments(f)] + [f for f in feeds if _is_comments(f)]


def candidate_urls(page_url: str) -> list[str]:
    """URLs to try, in order, when a page announces no feed: the common feed paths under the
    site root, then under the page's own path (a section, /world/, may have a feed of its
    own). Root first: under an article's path, WordPress answers /feed with the comments."""
    try:
        parts = urlsplit(page_url.strip())
    except ValueError:
        return []
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return []
    section = _FILE_NAME.sub("", parts.path).rstrip("/")
    # urlunsplit joins its parts as given, so "/?feed=rss2" keeps its query intact.
    urls = (
        urlunsplit((parts.scheme, parts.netloc, base + path, "", ""))
        for base in ("", section)
        for path in COMMON_FEED_PATHS
    )
    return list(dict.fromkeys(urls))


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """True when `body` is an RSS, Atom or RDF document or a JSON Feed, by its bytes: the
    content type is only a hint, because servers label feeds text/html and pages text/xml."""
    head = _head(body)
    if head.startswith(b"{") or ("json" in content_type.lower() and not head.startswith(b"<")):
        # `version` may come after the items (it does in real feeds): search the whole body.
        return _JSON_FEED_VERSION.search(body) is not None
    return xml_root_name(head, local=True) in _FEED_ROOTS


# ---------------------------------------------------------------- <link> elements


def _base_url(root: lxml.html.HtmlElement, page_url: str) -> str:
    """The page URL, or the first `<base href>` resolved against it, as browsers do."""
    for base in root.iter("base"):
        href = base.get("href")
        resolved = resolve_http_url(href, page_url) if href else None
        if resolved:
            return resolved
    return page_url


def _announced_feed(attrib: Mapping[str, str], base: str) -> DiscoveredFeed | None:
    rels = {token.lower() for token in (attrib.get("rel") or "").split()}
    mime = (attrib.get("type") or "").split(";")[0].strip().lower()
    if "alternate" not in rels or mime not in FEED_TYPES:
        return None
    url = resolve_http_url(attrib.get("href"), base)
    if url is None or _is_wordpress_api(url, mime):
        return None
    title = collapse_whitespace(attrib.get("title") or "")
    return DiscoveredFeed(url=url, title=title, type=FEED_TYPES[mime])


def _is_wordpress_api(url: str, mime: str) -> bool:
    # Every WordPress page announces its REST API record as an application/json alternate
    # (/wp-json/wp/v2/posts/123): JSON, but not a feed.
    return mime == "application/json" and "/wp-json/" in urlsplit(url).path


def _is_comments(feed: DiscoveredFeed) -> bool:
    return "comments" in feed.title.lower() or "comments" in feed.url.lower()


# ---------------------------------------------------------------- sniffing


def _head(body: bytes) -> bytes:
    head = body[: 2 * _SNIFF_BYTES]
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16: the markup is ASCII, so dropping the zero bytes leaves it readable.
        head = head[2:].replace(b"\x00", b"")
    return head.lstrip()[:_SNIFF_BYTES]
