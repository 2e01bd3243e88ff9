"""What the feed parsers of every format share: turning an item into a `FeedEntry`, and
naming a body that is not a feed.

An item becomes an entry the same way whatever the format (`feed_entry`, `entry_guid`): its
own id, else its link, else a hash of title and date is its guid, so the same item gets the
same guid on every poll. A body that is no feed gets an error message a user who configured
the URL can act on (`not_a_feed`: "an HTML page", "empty", "an XML document with root <opml>").
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from extractors.records import FeedEntry, ParsedFeed
from extractors.text import clip

SUMMARY_LIMIT = 1_000

# One comment, which cannot contain "-->". With a lazy ".*?" a run of comments could also be
# read as one long comment, so a failed match retried every split: 2^n steps for n comments,
# minutes for a body of 30 "<!---->" (untrusted input must not stall a poll).
_COMMENT = rb"<!--(?:[^-]|-(?!->))*-->"
HTML_START = re.compile(
    rb"^(?:<\?xml[^>]*>\s*)?(?:"
    + _COMMENT
    + rb"\s*)*(?:<!doctype\s+html|<(?:html|head|body)[\s>])",
    re.IGNORECASE,
)
# An XHTML wrapper around a feed (seen in the wild) must still reach feedparser.
# The first element name after the prolog: processing instructions, comments, a doctype
# (with its internal subset). Each alternative starts differently, so each reads one way.
XML_ROOT = re.compile(
    rb"^(?:(?:<\?[^>]*>|"
    + _COMMENT
    + rb"|<![A-Za-z][^\[>]*(?:\[[^\]]*\]\s*)?>)\s*)*<([A-Za-z_][\w.:-]*)"
)


def xml_root_name(head: bytes, *, local: bool = False) -> str | None:
    """The name of the root element of the XML document starting `head` ("rss", "rdf:RDF";
    with `local`, without its namespace prefix: "RDF"), or None when no element starts it."""
    root = XML_ROOT.match(head)
    if root is None:
        return None
    name = root.group(1).decode("ascii", errors="replace")
    return name.rpartition(":")[2] if local else name


def not_a_feed(head: bytes, content_type: str, what: str | None = None) -> ParsedFeed:
    message = f"body is {what or describe_body(head)}"
    if content_type:
        message += f" (content-type {content_type})"
    return ParsedFeed(format="unknown", error_kind="not_a_feed", error_message=message)


def describe_body(head: bytes) -> str:
    """Name what the bytes are, in words a user who configured the URL understands."""
    if not head:
        return "empty, not a feed"
    if HTML_START.match(head):
        return "an HTML page, not a feed"
    if b"\x00" in head[:512]:
        return "binary data, not a feed"
    root = xml_root_name(head)
    if root:
        return f"an XML document with root <{root}>, not a feed"
    snippet = head[:40].decode("utf-8", errors="replace")
    return f"not a feed (it starts with {snippet!r})"


def feed_entry(
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


def entry_guid(raw_id: Any, link: str, title: str, raw_date: str) -> str:
    """The entry's own id, else its link, else a hash of title and date: the same item gets
    the same guid on every poll, so the warehouse can tell new entries from seen ones."""
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)  # JSON Feed ids should be strings; some feeds send numbers
    if isinstance(raw_id, str) and raw_id.strip():
        return raw_id.strip()
    if link:
        return link
    return "sha1:" + hashlib.sha1(f"{title}\n{raw_date}".encode()).hexdigest()


def recovered_note(count: int) -> str:
    return f"{count} {'entry' if count == 1 else 'entries'} recovered"
