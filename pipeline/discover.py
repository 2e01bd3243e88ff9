"""Finding a site's feed for `newswatch sources add URL`.

The URL may be a feed already, a site page that announces its feeds (`<link rel=alternate>`),
a site whose feed sits at a common path (`/feed`, `/rss.xml`, ...), or a Telegram channel
(`t.me/<name>` becomes its public preview `t.me/s/<name>`). A candidate counts only when it
parses to at least one entry, so what gets saved is known to work. Candidates are tried one
at a time, the feeds the page announces first, and the search stops at the first that works:
a site that announces its feed costs two requests, not the dozen common paths besides.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from extractors.discovery import candidate_urls, discover_feeds
from extractors.feeds import parse_feed
from extractors.records import FetchResult, ParsedFeed
from fetching.fetch import Fetcher, FetchOptions, Request

MAX_CANDIDATES = 20
_TELEGRAM_CHANNEL = re.compile(r"^https?://(?:t|telegram)\.me/(?:s/)?([A-Za-z0-9_]{4,64})/?$")


@dataclass(frozen=True, slots=True)
class Discovery:
    """The feed found for a URL (None when there is none), and every URL tried, with why
    it was not taken."""

    feed_url: str | None
    kind: str | None = None
    title: str = ""
    entries: int = 0
    tried: tuple[tuple[str, str], ...] = ()


def discover(options: FetchOptions, url: str) -> Discovery:
    """The feed `url` is, announces, or keeps at a common path; `options` as for feeds."""
    telegram = _TELEGRAM_CHANNEL.match(url)
    if telegram:
        url = f"https://t.me/s/{telegram.group(1)}"
    return asyncio.run(_discover(options, url))


async def _discover(options: FetchOptions, url: str) -> Discovery:
    """One fetcher for the page and its candidates, so the per-host delay holds between them."""
    tried: list[tuple[str, str]] = []
    async with Fetcher(options) as fetcher:
        page = await fetcher.fetch(Request(url))
        candidates: list[str] = []
        if page.ok:
            found = _check(page, tried)
            if found:
                return _found(found, tried)
            candidates = [f.url for f in discover_feeds(page.body, page.final_url)]
        else:
            tried.append((url, _reason(page)))
        base = page.final_url or url
        candidates += [c for c in candidate_urls(base) if c not in candidates and c != base]
        for candidate in candidates[:MAX_CANDIDATES]:
            result = await fetcher.fetch(Request(candidate))
            if not result.ok:
                tried.append((result.url, _reason(result)))
                continue
            found = _check(result, tried)
            if found:
                return _found(found, tried)
    return Discovery(None, tried=tuple(tried))


def _check(result: FetchResult, tried: list[tuple[str, str]]) -> tuple[str, ParsedFeed] | None:
    parsed = parse_feed(result.body, result.final_url, content_type=result.content_type)
    if parsed.entries:
        return result.final_url, parsed
    tried.append((result.url, parsed.error_message or "a feed with no entries"))
    return None


def _found(found: tuple[str, ParsedFeed], tried: list[tuple[str, str]]) -> Discovery:
    url, parsed = found
    return Discovery(url, kind_of(url, parsed), parsed.title, len(parsed.entries), tuple(tried))


def kind_of(url: str, parsed: ParsedFeed) -> str:
    """The `kind` a feeds.yaml entry takes for this feed."""
    host = urlsplit(url).hostname or ""
    if parsed.format == "telegram":
        return "telegram"
    if parsed.format.startswith("sitemap"):
        return "sitemap"
    if parsed.format == "jsonfeed":
        return "jsonfeed"
    if host.endswith(".substack.com"):
        return "substack"
    return "atom" if parsed.format.startswith("atom") else "rss"


def _reason(result: FetchResult) -> str:
    return f"{result.error_kind}: {result.error_message}"
