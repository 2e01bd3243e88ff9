"""Sitemaps and sitemap indexes to `Sitemap` records: how we read outlets that publish no feed.

The wires (Reuters, AP) publish no public RSS, but they publish Google News sitemaps for
search engines: a `<urlset>` of `<url>` elements, each with the article's `<loc>` and, inside
`<news:news>`, its `<news:title>` and `<news:publication_date>`. Big sites put a
`<sitemapindex>` in front, listing child sitemaps (often gzip files, `.xml.gz`) that the poller
fetches next. Plain sitemaps (`<lastmod>` only, no titles) are read the same way.

Like `parse_feed`, `parse_sitemap` never raises: what went wrong is on the record.

- `not_a_feed`: the body is no sitemap (an HTML page, a feed, other XML, nothing).
- `malformed`: broken XML, or a gzip stream cut off or damaged; what could be read is kept.
- `too_large`: a gzip body that unpacks past `MAX_UNPACKED_BYTES` (a gzip bomb, or a file
  past the protocol's own 50 MB limit).

A bare `&` in a URL (`?a=1&b=2`, the commonest sitemap bug) is escaped before parsing and not
reported: lxml's recovery would drop the `&b` and leave a wrong URL.

Elements are matched by local name, ignoring namespaces: old sitemaps use Google's 0.84
namespace, some none at all, and a `<loc>` means the same in all of them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime

from lxml import etree

from extractors.records import FeedEntry, Sitemap, unique_entries
from extractors.text import collapse_whitespace
from extractors.urls import resolve_http_url

SITEMAP = "sitemap"
SITEMAP_INDEX = "sitemapindex"
_URLSET = "urlset"
GZIP_MAGIC = b"\x1f\x8b"
# The protocol caps a sitemap at 50 MB uncompressed; anything bigger is not one we want.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024

# The root's end tag at the very end: without it the body was cut off (see `_children`).
_CLOSED = re.compile(rb"</(?:[\w.-]+:)?(?:urlset|sitemapindex)\s*>\s*$")
_TAIL_BYTES = 256
_GZIP_SLICE = 16 * 1024
# An "&" that starts no character or entity reference.
_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#[xX][0-9A-Fa-f]+;|[A-Za-z_][\w.-]*;)")


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Parse a fetched sitemap, plain or gzip-compressed. `url` is where it came from
    (relative `<loc>` values, which the protocol forbids but sites send, resolve against it)."""
    gzip_problem = None
    packed = is_gzip(body)
    if packed:
        body, gzip_problem = _gunzip(body, MAX_UNPACKED_BYTES)
        if len(body) > MAX_UNPACKED_BYTES:
            limit = MAX_UNPACKED_BYTES // (1024 * 1024)
            return _failure("too_large", f"gzip body unpacks to more than {limit} MB")
    root, xml_problem = _parse_xml(body)
    if root is None or _local_name(root) not in (_URLSET, SITEMAP_INDEX):
        if gzip_problem:  # the damage, not the little that was unpacked, is the news
            return _failure("malformed", gzip_problem)
        return _not_a_sitemap(root, body, packed)
    problem = gzip_problem or xml_problem
    cut_off = problem is not None and not _CLOSED.search(body[-_TAIL_BYTES:])
    if _local_name(root) == _URLSET:
        entries = unique_entries(_entry(node, url) for node in _children(root, "url", cut_off))
        message = _malformed(problem, len(entries), "entry", "entries")
        return Sitemap(SITEMAP, entries=entries, error_kind=_kind(message), error_message=message)
    sitemaps = _unique_urls(_loc(node, url) for node in _children(root, "sitemap", cut_off))
    message = _malformed(problem, len(sitemaps), "sitemap", "sitemaps")
    return Sitemap(
        SITEMAP_INDEX, sitemaps=sitemaps, error_kind=_kind(message), error_message=message
    )


def is_gzip(body: bytes) -> bool:
    """True for a gzip file (a `.xml.gz` sitemap served as such, not HTTP-compressed)."""
    return body.startswith(GZIP_MAGIC)


# ---------------------------------------------------------------- bytes to a tree


def _gunzip(body: bytes, limit: int) -> tuple[bytes, str | None]:
    """The unpacked bytes, stopping at `limit + 1` (one byte more than allowed tells the
    caller it was too much), and what was wrong with the stream, if anything."""
    out = bytearray()
    rest = body
    # Concatenated gzip files are one valid gzip file: unpack member after member.
    while is_gzip(rest) and len(out) <= limit:
        rest, problem = _inflate_member(rest, out, limit)
        if problem:
            return bytes(out), problem
    return bytes(out), None


def _inflate_member(data: bytes, out: bytearray, limit: int) -> tuple[bytes, str | None]:
    """Unpack the gzip member that starts `data` into `out`; return the bytes after it. Fed in
    slices: zlib drops the output of a call that fails, and a damaged stream should still
    yield what came before the damage."""
    stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    for start in range(0, len(data), _GZIP_SLICE):
        pending = data[start : start + _GZIP_SLICE]
        try:
            while pending and not stream.eof and len(out) <= limit:
                out += stream.decompress(pending, limit + 1 - len(out))
                pending = stream.unconsumed_tail
        except zlib.error as exc:
            return b"", f"gzip data is corrupt ({exc})"
        if len(out) > limit:
            return b"", None
        if stream.eof:
            return stream.unused_data + data[start + _GZIP_SLICE :], None
    return b"", "gzip data is cut off"


def _parse_xml(data: bytes) -> tuple[etree._Element | None, str | None]:
    """The root element lxml could recover, and the first XML error, if any."""
    # A parser per call: lxml parsers keep their error log and must not be shared by threads.
    # No entities, DTDs or network: the body is untrusted.
    parser = etree.XMLParser(
        recover=True,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(_escape_bare_ampersands(data), parser)
    except etree.XMLSyntaxError:
        return None, None  # lxml gives up only on an empty document
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if not errors:
        return root, None
    first = errors[0]
    where = f"line {first.line}, column {first.column}"
    return root, f"sitemap is not well-formed XML ({first.message.strip()} at {where})"


def _escape_bare_ampersands(data: bytes) -> bytes:
    # Byte-wise replacement is safe in UTF-8 and the other ASCII-compatible encodings only;
    # UTF-16 and UTF-32 (BOM or zero bytes) are left to lxml as they are.
    if b"&" not in data or b"\x00" in data[:64] or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data
    return _BARE_AMPERSAND.sub(b"&amp;", data)


def _local_name(node: etree._Element) -> str:
    """The tag without its namespace. By hand, not `etree.QName`: the recovering parser can
    build tags QName rejects (`sitemap:` from a mangled prefix), and a broken sitemap is
    a recorded error, never an exception."""
    if not isinstance(node.tag, str):
        return ""
    return node.tag.rpartition("}")[2]


def _not_a_sitemap(root: etree._Element | None, data: bytes, packed: bool) -> Sitemap:
    """Name what the bytes are, in words a user who configured the URL understands."""
    if not data.strip():
        what = "nothing" if packed else "empty"
    elif root is None:
        what = "text that is not XML"
    elif _local_name(root) == "html":
        what = "an HTML page"
    else:
        what = f"an XML document with root <{_local_name(root)}>"
    body = "gzip body unpacks to" if packed else "body is"
    return _failure("not_a_feed", f"{body} {what}, not a sitemap")


def _failure(kind: str, message: str) -> Sitemap:
    return Sitemap("unknown", error_kind=kind, error_message=message)


def _malformed(problem: str | None, count: int, one: str, many: str) -> str | None:
    """The error message for a broken body, saying how much was recovered all the same."""
    if problem is None:
        return None
    return f"{problem}; {count} {one if count == 1 else many} recovered"


def _kind(message: str | None) -> str | None:
    return "malformed" if message else None


# ---------------------------------------------------------------- tree to records


def _children(root: etree._Element, name: str, cut_off: bool) -> list[etree._Element]:
    """The root's `<url>` (or `<sitemap>`) elements. In a body that was cut off, the last one
    is dropped: its `<loc>` may be cut mid-URL, and a wrong URL would be stored as a new
    article forever, while a dropped one comes back whole on the next poll."""
    nodes = list(root.iterchildren(f"{{*}}{name}"))
    return nodes[:-1] if cut_off else nodes


def _loc(node: etree._Element, base: str) -> str | None:
    return resolve_http_url(node.findtext("{*}loc"), base)


def _entry(node: etree._Element, base: str) -> FeedEntry | None:
    url = _loc(node, base)
    if url is None:
        return None
    news = node.find("{*}news")
    title = news.findtext("{*}title") if news is not None else None
    published = news.findtext("{*}publication_date") if news is not None else None
    return FeedEntry(
        guid=url,
        url=url,
        title=collapse_whitespace(title or ""),
        published=parse_w3c_datetime(published) or parse_w3c_datetime(node.findtext("{*}lastmod")),
    )


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A sitemap date (W3C Datetime: "2026-01-05", "2026-01-05T10:00Z",
    "2026-01-05T10:00:00.5+01:00") as an aware UTC datetime; None when it is not one."""
    if not value or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # A date without a zone is taken as UTC: guessing the publisher's zone is worse.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _unique_urls(urls: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(url for url in urls if url is not None))
