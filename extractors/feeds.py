"""Feed bodies to `ParsedFeed`: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 (through feedparser),
JSON Feed 1.0/1.1 (parsed here), public Telegram channel pages (handed to
`extractors.telegram`), and sitemaps and sitemap indexes, plain or gzip (handed to
`extractors.sitemaps`; an index's child sitemaps are in `children`, for the poller to fetch).

RSS and Atom feeds may say how long they stay fresh (`<ttl>` minutes, or the syndication
module's `sy:updatePeriod`/`sy:updateFrequency`); that hint is `ttl_seconds`.

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

import hashlib
import io
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax import SAXParseException

import feedparser

from extractors.records import FeedEntry, ParsedFeed, Sitemap, unique_entries
from extractors.sitemaps import is_gzip, parse_sitemap
from extractors.telegram import parse_channel_page
from extractors.text import clip, collapse_whitespace, html_to_text
from extractors.urls import resolve_http_url

SUMMARY_LIMIT = 1_000
JSON_FEED = "jsonfeed"

_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 4_096
# One comment, which cannot contain "-->". With a lazy ".*?" a run of comments could also be
# read as one long comment, so a failed match retried every split: 2^n steps for n comments,
# minutes for a body of 30 "<!---->" (untrusted input must not stall a poll).
_COMMENT = rb"<!--(?:[^-]|-(?!->))*-->"
_HTML_START = re.compile(
    rb"^(?:<\?xml[^>]*>\s*)?(?:"
    + _COMMENT
    + rb"\s*)*(?:<!doctype\s+html|<(?:html|head|body)[\s>])",
    re.IGNORECASE,
)
# An XHTML wrapper around a feed (seen in the wild) must still reach feedparser.
_FEED_ELEMENT = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)[\s>]")
# The first element name after the prolog: processing instructions, comments, a doctype
# (with its internal subset). Each alternative starts differently, so each reads one way.
_XML_ROOT = re.compile(
    rb"^(?:(?:<\?[^>]*>|"
    + _COMMENT
    + rb"|<![A-Za-z][^\[>]*(?:\[[^\]]*\]\s*)?>)\s*)*<([A-Za-z_][\w.:-]*)"
)
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
        return _parse_json_feed(body, url, content_type)
    if _HTML_START.match(head) and not _FEED_ELEMENT.search(body):
        return _not_a_feed(head, content_type)
    return _parse_with_feedparser(body, url, content_type)


# ---------------------------------------------------------------- sniffing


def _sniff_head(body: bytes) -> bytes:
    """The start of the body without BOM and leading whitespace, for cheap format checks."""
    return body[: _SNIFF_BYTES + 64].removeprefix(_BOM).lstrip()[:_SNIFF_BYTES]


def _is_telegram_page(body: bytes, head: bytes, url: str) -> bool:
    if not _HTML_START.match(head):
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


def xml_root_name(head: bytes, *, local: bool = False) -> str | None:
    """The name of the root element of the XML document starting `head` ("rss", "rdf:RDF";
    with `local`, without its namespace prefix: "RDF"), or None when no element starts it."""
    root = _XML_ROOT.match(head)
    if root is None:
        return None
    name = root.group(1).decode("ascii", errors="replace")
    return name.rpartition(":")[2] if local else name


def _is_json(head: bytes, content_type: str) -> bool:
    # A server that labels XML as JSON is wrong about the label, not the bytes.
    return head.startswith(b"{") or ("json" in content_type.lower() and not head.startswith(b"<"))


def _not_a_feed(head: bytes, content_type: str, what: str | None = None) -> ParsedFeed:
    message = f"body is {what or _describe_body(head)}"
    if content_type:
        message += f" (content-type {content_type})"
    return ParsedFeed(format="unknown", error_kind="not_a_feed", error_message=message)


def _describe_body(head: bytes) -> str:
    """Name what the bytes are, in words a user who configured the URL understands."""
    if not head:
        return "empty, not a feed"
    if _HTML_START.match(head):
        return "an HTML page, not a feed"
    if b"\x00" in head[:512]:
        return "binary data, not a feed"
    root = xml_root_name(head)
    if root:
        return f"an XML document with root <{root}>, not a feed"
    snippet = head[:40].decode("utf-8", errors="replace")
    return f"not a feed (it starts with {snippet!r})"


# ---------------------------------------------------------------- XML feeds via feedparser


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
        return _not_a_feed(_sniff_head(body), content_type)
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
    return _entry(
        guid=_guid(raw.get("id"), link or "", title, raw_date),
        link=link,
        title=title,
        text=text,
        published=_struct_to_utc(parsed),
        author=_feedparser_author(raw),
    )


def _entry(
    *, guid: str, link: str | None, title: str, text: str, published: datetime | None, author: str
) -> FeedEntry:
    """An entry with a link is an article to fetch. One without a link carries its own text
    as its content (the feed is all there is of it); one with neither is still an entry the
    feed had, stored but with nothing to make an article of."""
    return FeedEntry(
        guid=guid,
        url=link or "",
        title=title,
        summary=clip(text, SUMMARY_LIMIT),
        published=published,
        author=author,
        content=None if link else text,
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
        return datetime(*parsed[:6], tzinfo=UTC)
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
    return f"{reason}; {_recovered(recovered)}"


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


def _parse_json_feed(body: bytes, url: str, content_type: str) -> ParsedFeed:
    # JSON on the wire is UTF-8 (RFC 8259); a stray bad byte costs one character, not the feed.
    text = body.decode("utf-8-sig", errors="replace")
    doc, problem = _load_json(text)
    if not isinstance(doc, dict) or not _is_json_feed(doc):
        what = "JSON but not a JSON Feed (no jsonfeed.org version and no items list)"
        return _not_a_feed(b"{", content_type, what if doc is not None else None)
    raw_items = doc.get("items")
    items = raw_items if isinstance(raw_items, list) else []
    entries = unique_entries(
        _entry_from_json(item, doc, url) for item in items if isinstance(item, dict)
    )
    return ParsedFeed(
        format=JSON_FEED,
        title=html_to_text(_string(doc.get("title"))),
        entries=entries,
        error_kind="malformed" if problem else None,
        error_message=f"{problem}; {_recovered(len(entries))}" if problem else None,
    )


def _load_json(text: str) -> tuple[Any, str | None]:
    """The decoded document and None, or what could be salvaged and the reason it broke."""
    try:
        # strict=False lets raw control characters inside strings through, as browsers do.
        return json.loads(text, strict=False), None
    except json.JSONDecodeError as exc:
        salvaged = _salvage_object(text)
        problem = f"feed is not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})"
        return (salvaged or None), problem
    except RecursionError:
        return None, "feed is not valid JSON (nested too deeply)"


def _salvage_object(text: str) -> dict[str, Any]:
    """Decode a broken JSON object member by member, up to the break. The `items` array is
    decoded item by item, so a feed cut off in its tenth item still yields nine."""
    decoder = json.JSONDecoder(strict=False)
    found: dict[str, Any] = {}
    pos = _skip_space(text, 0)
    if not text.startswith("{", pos):
        return found
    pos += 1
    while True:
        try:
            key, pos = decoder.raw_decode(text, _skip_space(text, pos))
            pos = _skip_space(text, pos)
            if not isinstance(key, str) or not text.startswith(":", pos):
                return found
            pos = _skip_space(text, pos + 1)
            if key == "items":
                found[key], pos, complete = _salvage_array(decoder, text, pos)
                if not complete:
                    return found
            else:
                found[key], pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return found
        pos = _skip_space(text, pos)
        if not text.startswith(",", pos):
            return found
        pos += 1


def _salvage_array(decoder: json.JSONDecoder, text: str, pos: int) -> tuple[list[Any], int, bool]:
    """The elements of the array at `pos` that decode, the position after them, and whether
    the array closed properly."""
    values: list[Any] = []
    if not text.startswith("[", pos):
        return values, pos, False
    pos = _skip_space(text, pos + 1)
    if text.startswith("]", pos):
        return values, pos + 1, True
    while True:
        try:
            value, pos = decoder.raw_decode(text, _skip_space(text, pos))
        except (ValueError, RecursionError):
            return values, pos, False
        values.append(value)
        pos = _skip_space(text, pos)
        if text.startswith("]", pos):
            return values, pos + 1, True
        if not text.startswith(",", pos):
            return values, pos, False
        pos += 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _is_json_feed(doc: Mapping[str, Any]) -> bool:
    version = doc.get("version")
    if isinstance(version, str):
        return "jsonfeed.org/version/" in version
    # `version` is required, but some feeds put it after `items`, where a cut-off body
    # never reaches it.
    return version is None and isinstance(doc.get("items"), list)


def _entry_from_json(
    item: Mapping[str, Any], feed: Mapping[str, Any], feed_url: str
) -> FeedEntry | None:
    link = resolve_http_url(item.get("url") or item.get("external_url"), feed_url)
    title = html_to_text(_string(item.get("title")))
    raw_date = _string(item.get("date_published")) or _string(item.get("date_modified"))
    return _entry(
        guid=_guid(item.get("id"), link or "", title, raw_date),
        link=link,
        title=title,
        text=_json_summary(item),
        published=_parse_date(raw_date),
        author=_json_author(item) or _json_author(feed),
    )


def _json_summary(item: Mapping[str, Any]) -> str:
    # `summary` should be plain text but is often HTML in the wild; `content_text` is plain
    # text that may contain a literal "<", which an HTML parser would eat.
    summary = html_to_text(_string(item.get("summary")))
    if summary:
        return summary
    content_text = collapse_whitespace(_string(item.get("content_text")))
    return content_text or html_to_text(_string(item.get("content_html")))


def _json_author(node: Mapping[str, Any]) -> str:
    """Names from JSON Feed 1.1 `authors`, else 1.0 `author`. Items without either inherit the
    feed's, as the 1.1 spec says."""
    candidates = node.get("authors")
    if not isinstance(candidates, list):
        candidates = [node.get("author")]
    names = [_string(a.get("name")) for a in candidates if isinstance(a, dict)]
    return collapse_whitespace(", ".join(name for name in names if name))


def _parse_date(value: str) -> datetime | None:
    """RFC 3339 (what JSON Feed specifies), else RFC 822 (what some JSON Feeds send anyway)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    # A date without a zone is taken as UTC: guessing the publisher's zone is worse.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- shared


def _guid(raw_id: Any, link: str, title: str, raw_date: str) -> str:
    """The entry's own id, else its link, else a hash of title and date: the same item gets
    the same guid on every poll, so the warehouse can tell new entries from seen ones."""
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)  # JSON Feed ids should be strings; some feeds send numbers
    if isinstance(raw_id, str) and raw_id.strip():
        return raw_id.strip()
    if link:
        return link
    return "sha1:" + hashlib.sha1(f"{title}\n{raw_date}".encode()).hexdigest()


def _recovered(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'} recovered"
