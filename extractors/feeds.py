"""Feed bodies to `ParsedFeed`: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 (through feedparser),
JSON Feed 1.0/1.1 (parsed here), public Telegram channel pages (handed to
`extractors.telegram`), and sitemaps and sitemap indexes, plain or gzip (handed to
`extractors.sitemaps`; an index's child sitemaps are in `children`, for the poller to fetch).

RSS and Atom feeds may say how long they stay fresh (`<ttl>` minutes, or the syndication
module's `sy:updatePeriod`/`sy:updateFrequency`); that hint is `ttl_seconds`.

JSON Feed is parsed by `extractors.jsonfeed`; what every format shares (entries, guids, naming
a body that is not a feed) is `extractors.feed_common`'s.

`parse_feed` never raises, whatever the bytes: a feed is untrusted input and one bad feed must
not stop a poll. What went wrong is put on the record instead:

- `malformed`: the body is a feed but broken (bad XML, wrong declared encoding, cut-off
  JSON); the entries a lenient parser could recover are still returned.
- `not_a_feed`: an HTML page, plain text, binary data, an empty body, JSON that is not a JSON
  Feed, XML that is not a feed (OPML, say); the message says which, for a user to act on.
- `parser_error`: feedparser itself failed, which it is built never to do.
- `telegram_not_public`: see `extractors.telegram`; `too_large`: see `extractors.sitemaps`.

Only http(s) links are followed: a `javascript:`, `data:` or `mailto:` link counts as none.
An item without a link is still an entry: its own text (summary or content) is its content,
and it becomes an article without a fetch, like a Telegram post (many feeds carry whole
notices without links); with no text either, it is stored as an entry and no more. Within one
feed the first entry with a given guid wins.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax import SAXParseException

import feedparser
import feedparser.mixin

from extractors.feed_common import (
    HTML_START,
    SUMMARY_LIMIT,
    entry_guid,
    feed_entry,
    not_a_feed,
    recovered_note,
    xml_root_name,
)
from extractors.jsonfeed import parse_json_feed
from extractors.records import FeedEntry, ParsedFeed, Sitemap, unique_entries
from extractors.sitemaps import is_gzip, parse_sitemap
from extractors.telegram import parse_channel_page
from extractors.text import collapse_whitespace, html_to_text
from extractors.urls import resolve_http_url

_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 4_096
_FEED_ELEMENT = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)[\s>]")
_CHARSET_PARAM = re.compile(r";\s*charset\s*=\s*\S", re.IGNORECASE)
_TELEGRAM_HOSTS = frozenset(("t.me", "telegram.me"))
_SITEMAP_ROOTS = frozenset(("urlset", "sitemapindex"))
# sy:updatePeriod in seconds (a month and a year as 30 and 365 days: it is only a hint).
_SY_PERIODS = {
    "hourly": 3_600,
    "daily": 86_400,
    "weekly": 7 * 86_400,
    "monthly": 30 * 86_400,
    "yearly": 365 * 86_400,
}
# A feed asking not to be polled for more than a year means something else went wrong.
_MAX_TTL_S = 366 * 86_400
_POSITIVE_INT = re.compile(r"[0-9]{1,9}")

__all__ = ["SUMMARY_LIMIT", "parse_feed", "xml_root_name"]


def parse_feed(
    body: bytes, url: str, *, content_type: str = "", kind: str | None = None
) -> ParsedFeed:
    """Parse a fetched feed body. `url` is where it came from (relative links resolve against
    it); `content_type` is the HTTP header, whose charset wins over the XML declaration as
    RFC 3023 says; `kind="telegram"` forces the Telegram channel-page parser and
    `kind="sitemap"` the sitemap parser."""
    head = _sniff_head(body)
    if kind == "telegram" or _is_telegram_page(body, head, url):
        return parse_channel_page(body, url)
    if kind == "sitemap" or _is_sitemap(body, head):
        return _from_sitemap(parse_sitemap(body, url))
    if _is_json(head, content_type):
        return parse_json_feed(body, url, content_type)
    if HTML_START.match(head) and not _FEED_ELEMENT.search(body):
        return not_a_feed(head, content_type)
    return _parse_with_feedparser(body, url, content_type)


# ---------------------------------------------------------------- sniffing


def _sniff_head(body: bytes) -> bytes:
    """The start of the body without BOM and leading whitespace, for cheap format checks."""
    return body[: _SNIFF_BYTES + 64].removeprefix(_BOM).lstrip()[:_SNIFF_BYTES]


def _is_telegram_page(body: bytes, head: bytes, url: str) -> bool:
    if not HTML_START.match(head):
        return False
    return b"tgme_widget_message" in body or _hostname(url) in _TELEGRAM_HOSTS


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        return None


def _is_sitemap(body: bytes, head: bytes) -> bool:
    # Of the formats we read, only sitemaps are published as gzip files (`.xml.gz`): a child
    # of a sitemap index may be one, and the poller fetches children without a kind.
    if is_gzip(body):
        return True
    return xml_root_name(head, local=True) in _SITEMAP_ROOTS


def _is_json(head: bytes, content_type: str) -> bool:
    # A server that labels XML as JSON is wrong about the label, not the bytes.
    return head.startswith(b"{") or ("json" in content_type.lower() and not head.startswith(b"<"))


# ---------------------------------------------------------------- XML feeds via feedparser

# URL joins memoised (`_memoise_url_joins`): how many, and up to what length of their strings.
URL_JOINS_KEPT = 1_024
URL_JOIN_MAX_CHARS = 512


def _memoised_join(join: Callable[..., str]) -> Callable[..., str]:
    """`join(base, rel)` with its results kept for strings up to `URL_JOIN_MAX_CHARS` long
    together: a result is at most as long as both, and a character takes at most 4 bytes, so
    the memo holds at most ~`URL_JOINS_KEPT` x 4 KB, whatever a feed holds (a feed's base URIs
    and links are mostly under 200 characters)."""
    kept = functools.lru_cache(maxsize=URL_JOINS_KEPT)(join)

    @functools.wraps(join)
    def memoised(base: str, rel: str | None = None) -> str:
        if len(base or "") + len(rel or "") > URL_JOIN_MAX_CHARS:
            return join(base, rel)
        return kept(base, rel)

    memoised.cache_info = kept.cache_info  # type: ignore[attr-defined]
    return memoised


def _memoise_url_joins() -> None:
    """feedparser works out the base URI of every element it opens, joining the parent's base
    with the element's `xml:base` or, mostly, with itself (`mixin.unknown_starttag`), and joins
    each link against it: a fifth of a feed's parse, on the same few strings again and again.
    Both joins are pure functions of their two strings, so they are memoised where
    feedparser's parser looks them up: the same results, and a parse ~20% cheaper (5.4 ->
    4.4 ms a feed on the corpus's real feeds). Done once, at import; a feedparser that no
    longer has these names is left as it is (tests/test_feeds_formats.py checks the memo is
    in place)."""
    for name in ("make_safe_absolute_uri", "_urljoin"):
        join = getattr(feedparser.mixin, name, None)
        if callable(join) and not hasattr(join, "cache_info"):
            setattr(feedparser.mixin, name, _memoised_join(join))


_memoise_url_joins()


def _parse_with_feedparser(body: bytes, url: str, content_type: str) -> ParsedFeed:
    # Only a declared charset is worth passing on. A bare "text/xml" makes feedparser apply
    # RFC 3023's us-ascii default and flag every UTF-8 feed served that way (most of them)
    # as wrongly encoded. And some content-type must be there: with headers but none,
    # feedparser assumes ISO-8859-1 where XML says UTF-8. "application/xml" means: trust the
    # BOM and the XML declaration, else UTF-8, as feedparser does when given no headers.
    declared = _CHARSET_PARAM.search(content_type)
    headers = {
        "content-location": url,
        "content-type": content_type if declared else "application/xml",
    }
    try:
        # BytesIO, never bare bytes: feedparser tries `open(data)` on bytes and str, so a body
        # that happens to be a path ("/etc/passwd") would be read from the local disk.
        # No sanitising and no rewriting of relative URIs inside content: every piece of feed
        # HTML becomes plain text here (`html_to_text` drops scripts and styles), and is never
        # kept or shown as HTML. Both passes cost 40% of feedparser's time and change no text.
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:
        # feedparser is built never to raise; if it does anyway, one feed must not stop a poll.
        # Not swallowed: the failure is the record, stored and counted like any other.
        return ParsedFeed(
            format="unknown",
            error_kind="parser_error",
            error_message=f"feedparser failed: {type(exc).__name__}: {exc}",
        )
    version = result.get("version") or ""
    raw_entries = result.get("entries") or []
    if not version and not raw_entries:
        return not_a_feed(_sniff_head(body), content_type)
    entries = unique_entries(_entry_from_feedparser(raw, url) for raw in raw_entries)
    problem = _bozo_problem(result, len(entries))
    channel = result.get("feed") or {}
    return ParsedFeed(
        format=version or "unknown",
        title=_detail_text(channel, "title"),
        entries=entries,
        error_kind="malformed" if problem else None,
        error_message=problem,
        ttl_seconds=_ttl_seconds(channel),
    )


def _entry_from_feedparser(raw: dict[str, Any], feed_url: str) -> FeedEntry | None:
    link = resolve_http_url(raw.get("link"), feed_url)
    title = _detail_text(raw, "title")
    # dict.get, not raw.get: FeedParserDict maps a missing "updated" to "published" with a
    # DeprecationWarning, and we want each value only when the feed really has it.
    raw_date = dict.get(raw, "published") or dict.get(raw, "updated") or ""
    parsed = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
    text = _summary_text(raw)
    return feed_entry(
        guid=entry_guid(raw.get("id"), link or "", title, raw_date),
        link=link,
        title=title,
        text=text,
        published=_struct_to_utc(parsed),
        author=_feedparser_author(raw),
    )


def _detail_text(node: Mapping[str, Any], key: str) -> str:
    """Plain text of a feedparser text construct: HTML is stripped only when feedparser says
    the value is HTML, so a plain-text title like "Why <div> soup" keeps its words."""
    value = node.get(key)
    if not isinstance(value, str):
        return ""
    detail = node.get(f"{key}_detail") or {}
    return _text(value, str(detail.get("type", "")))


def _text(value: str, mime: str) -> str:
    return html_to_text(value) if "html" in mime else collapse_whitespace(value)


def _summary_text(raw: Mapping[str, Any]) -> str:
    summary = _detail_text(raw, "summary")
    if summary:
        return summary
    # Atom entries may carry only <content>; its text is the best summary there is.
    for content in raw.get("content") or ():
        value = content.get("value")
        if isinstance(value, str) and value.strip():
            return _text(value, str(content.get("type", "")))
    return ""


def _feedparser_author(raw: Mapping[str, Any]) -> str:
    names = [a["name"] for a in raw.get("authors") or () if isinstance(a.get("name"), str)]
    if len(names) > 1:
        return collapse_whitespace(", ".join(names))
    author = raw.get("author")
    return collapse_whitespace(author) if isinstance(author, str) else ""


def _struct_to_utc(parsed: Any) -> datetime | None:
    """feedparser's `*_parsed` values are `time.struct_time` already converted to UTC."""
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _ttl_seconds(channel: Mapping[str, Any]) -> int | None:
    """How long the feed says it stays fresh: RSS `<ttl>` (minutes), else the syndication
    module's period divided by its frequency ("hourly" and "2": every 30 minutes). Values
    that make no sense (zero, negative, not a number, over a year) are no hint at all."""
    minutes = _positive_int(channel.get("ttl"))
    if minutes is not None and minutes * 60 <= _MAX_TTL_S:
        return minutes * 60
    period = _SY_PERIODS.get(str(channel.get("sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    # updateFrequency defaults to 1; a nonsense one is ignored like a missing one.
    frequency = _positive_int(channel.get("sy_updatefrequency")) or 1
    return max(1, period // frequency)


def _positive_int(value: Any) -> int | None:
    if not isinstance(value, str) or not _POSITIVE_INT.fullmatch(value.strip()):
        return None
    number = int(value.strip())
    return number if number > 0 else None


def _bozo_problem(result: Mapping[str, Any], recovered: int) -> str | None:
    """Why feedparser flagged the feed, or None when the flag is not about the feed."""
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    # A feed served as text/html or text/plain is a server setting, not a broken feed: the
    # XML was parsed strictly all the same (a real XML error would have replaced this one).
    if isinstance(exc, feedparser.NonXMLContentType):
        return None
    if isinstance(exc, SAXParseException):
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        reason = f"feed is not well-formed XML ({exc.getMessage()} at {where})"
    elif isinstance(exc, feedparser.CharacterEncodingOverride):
        reason = f"feed declares the wrong character encoding ({exc})"
    else:
        reason = f"feed is broken ({type(exc).__name__}: {exc})"
    return f"{reason}; {recovered_note(recovered)}"


# ---------------------------------------------------------------- sitemaps


def _from_sitemap(sitemap: Sitemap) -> ParsedFeed:
    return ParsedFeed(
        format=sitemap.format,
        entries=sitemap.entries,
        error_kind=sitemap.error_kind,
        error_message=sitemap.error_message,
        children=sitemap.sitemaps,
    )


# ---------------------------------------------------------------- JSON Feed
