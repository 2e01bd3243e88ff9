"""Polling sources: conditional fetches, change detection, sitemap indexes, Telegram backfill.

One poll of a batch of sources is a few rounds of concurrent fetches: the feeds themselves
(with If-None-Match / If-Modified-Since, at the URL a permanent redirect moved them to), then
the child sitemaps of sitemap indexes and the older pages of Telegram channels whose newest
page held no post we knew. A body identical to the last one parsed (some servers send no
validators, or the same ETag for a changed feed) is not parsed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from extractors.feeds import parse_feed
from extractors.records import FetchResult, ParsedFeed, Source, unique_entries
from extractors.telegram import older_page_url
from flows.fetch import Request, fetch_many
from newswatch.settings import Settings
from warehouse.queries import FeedState


@dataclass(frozen=True, slots=True)
class Poll:
    """One source's poll: the fetch of its feed, what it parsed to (None when the body was
    not parsed: a failure, a 304, or the same body as last time), and the body's hash."""

    source: Source
    fetch: FetchResult
    parsed: ParsedFeed | None
    body_hash: str | None = None
    unchanged: bool = False
    older_page: str | None = None  # Telegram: the next page of older posts to fetch
    extra_fetches: tuple[FetchResult, ...] = ()  # child sitemaps, older Telegram pages

    @property
    def failed(self) -> bool:
        if self.fetch.error_kind:
            return True
        return bool(self.parsed and not self.parsed.entries and self.parsed.error_kind)

    @property
    def error_kind(self) -> str | None:
        return self.fetch.error_kind or (self.parsed.error_kind if self.parsed else None)

    @property
    def error(self) -> str | None:
        return self.fetch.error_message or (self.parsed.error_message if self.parsed else None)


def poll_sources(
    settings: Settings,
    sources: Sequence[Source],
    states: Mapping[str, FeedState],
    known_posts: Mapping[str, set[str]],
) -> list[Poll]:
    """Poll `sources` (results in the same order). `known_posts`: guids already stored for
    Telegram sources, so backfilling stops at the first page that reaches them."""
    requests = [_request(s, states.get(s.name)) for s in sources]
    fetches = fetch_many(settings, requests, settings.feed_timeout)
    polls = [_first_look(s, f, states.get(s.name)) for s, f in zip(sources, fetches, strict=True)]
    polls = _follow_sitemap_indexes(settings, polls)
    return _backfill_telegram(settings, polls, known_posts)


def _request(source: Source, state: FeedState | None) -> Request:
    if state is None:
        return Request(source.url)
    # A permanent redirect moved the feed: poll its new home, with its validators.
    return Request(state.moved_to or source.url, state.etag, state.last_modified)


def _first_look(source: Source, fetch: FetchResult, state: FeedState | None) -> Poll:
    if not fetch.ok:
        return Poll(source, fetch, None)
    body_hash = hashlib.sha256(fetch.body).hexdigest()
    if state is not None and state.body_hash == body_hash:
        return Poll(source, fetch, None, body_hash, unchanged=True)
    parsed = parse_feed(
        fetch.body, fetch.final_url, content_type=fetch.content_type, kind=source.kind
    )
    return Poll(source, fetch, parsed, body_hash)


def _follow_sitemap_indexes(settings: Settings, polls: list[Poll]) -> list[Poll]:
    """Replace each sitemap index's poll by one holding the entries of its child sitemaps
    (two levels deep at most, `max_child_sitemaps` per source)."""
    for _depth in range(2):
        wanted = [
            (i, url)
            for i, p in enumerate(polls)
            if p.parsed and p.parsed.children
            for url in p.parsed.children[: settings.max_child_sitemaps]
        ]
        if not wanted:
            break
        fetches = fetch_many(settings, [Request(u) for _, u in wanted], settings.feed_timeout)
        children: dict[int, list[ParsedFeed]] = {}
        for (i, _url), fetch in zip(wanted, fetches, strict=True):
            polls[i] = replace(polls[i], extra_fetches=(*polls[i].extra_fetches, fetch))
            if fetch.ok:
                parsed = parse_feed(fetch.body, fetch.final_url, content_type=fetch.content_type)
                children.setdefault(i, []).append(parsed)
        polls = [
            _merge_children(p, children.get(i, [])) if p.parsed and p.parsed.children else p
            for i, p in enumerate(polls)
        ]
    return polls


def _merge_children(poll: Poll, children: list[ParsedFeed]) -> Poll:
    assert poll.parsed is not None
    entries = unique_entries([*poll.parsed.entries, *(e for c in children for e in c.entries)])
    grandchildren = tuple(url for c in children for url in c.children)
    error = None if children else "no child sitemap could be fetched"
    parsed = replace(
        poll.parsed,
        entries=entries,
        children=grandchildren,
        error_kind=poll.parsed.error_kind or ("malformed" if error else None),
        error_message=poll.parsed.error_message or error,
    )
    return replace(poll, parsed=parsed)


def _backfill_telegram(
    settings: Settings, polls: list[Poll], known_posts: Mapping[str, set[str]]
) -> list[Poll]:
    """Fetch older pages of channels (`?before=`) until a page reaches a known post."""
    for _page in range(settings.telegram_backfill_pages):
        wanted = {
            i: url
            for i, p in enumerate(polls)
            if (url := _older_page(p, known_posts.get(p.source.name, set())))
        }
        if not wanted:
            break
        fetches = fetch_many(settings, [Request(u) for u in wanted.values()], settings.feed_timeout)
        for (i, url), fetch in zip(wanted.items(), fetches, strict=True):
            polls[i] = _add_older(polls[i], url, fetch)
    return polls


def _older_page(poll: Poll, known: set[str]) -> str | None:
    parsed = poll.parsed
    if poll.source.kind != "telegram" or not parsed or not parsed.entries:
        return None
    if any(e.guid in known for e in parsed.entries):
        return None
    if poll.extra_fetches:
        return poll.older_page  # already paging back: from the last page fetched
    return older_page_url(poll.fetch.body, poll.fetch.final_url)


def _add_older(poll: Poll, url: str, fetch: FetchResult) -> Poll:
    assert poll.parsed is not None
    poll = replace(poll, extra_fetches=(*poll.extra_fetches, fetch), older_page=None)
    if not fetch.ok:
        return poll  # the newest page is in; older posts wait for the next poll
    older = parse_feed(fetch.body, url, content_type=fetch.content_type, kind="telegram")
    if not older.entries or any(
        e.guid in {x.guid for x in poll.parsed.entries} for e in older.entries[-1:]
    ):
        return poll  # the channel's beginning, or a page we already have
    parsed = replace(poll.parsed, entries=unique_entries([*older.entries, *poll.parsed.entries]))
    return replace(poll, parsed=parsed, older_page=older_page_url(fetch.body, url))
