"""JSON Feed 1.0/1.1 bodies to `ParsedFeed`, salvaging what a cut-off or broken body still holds.

Parsed here, not by feedparser: a JSON body cut off in its tenth item still yields nine (the
object is decoded member by member, the `items` array item by item), raw control characters
inside strings are let through as browsers do, and a date is RFC 3339 or, as some feeds send
anyway, RFC 822. Items without an author inherit the feed's, as JSON Feed 1.1 says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from extractors.feed_common import entry_guid, feed_entry, not_a_feed, recovered_note
from extractors.records import FeedEntry, ParsedFeed, unique_entries
from extractors.text import collapse_whitespace, html_to_text
from extractors.urls import resolve_http_url

JSON_FEED = "jsonfeed"


def parse_json_feed(body: bytes, url: str, content_type: str) -> ParsedFeed:
    # JSON on the wire is UTF-8 (RFC 8259); a stray bad byte costs one character, not the feed.
    text = body.decode("utf-8-sig", errors="replace")
    doc, problem = _load_json(text)
    if not isinstance(doc, dict) or not _is_json_feed(doc):
        what = "JSON but not a JSON Feed (no jsonfeed.org version and no items list)"
        return not_a_feed(b"{", content_type, what if doc is not None else None)
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
        error_message=f"{problem}; {recovered_note(len(entries))}" if problem else None,
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
    return feed_entry(
        guid=entry_guid(item.get("id"), link or "", title, raw_date),
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
