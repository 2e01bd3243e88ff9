"""Polling sources: conditional fetches, change detection, sitemap indexes, Telegram backfill.

One poll of a batch of sources is a few rounds of concurrent fetches: the feeds themselves
(with If-None-Match / If-Modified-Since, at the URL a permanent redirect moved them to), then
the child sitemaps of sitemap indexes and the older pages of Telegram channels whose newest
page held no post we knew. A body identical to the last one parsed (some servers send no
validators, or the same ETag for a changed feed) is not parsed again. `store_polls` stores
a batch of polls and plans each source's next poll (`pipeline.schedule`).
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import partial
from typing import Any

import duckdb

from extractors.feeds import parse_feed
from extractors.records import (
    FetchResult,
    ParsedFeed,
    Source,
    poll_error,
    poll_result,
    unique_entries,
)
from extractors.telegram import older_page_url
from fetching.fetch import Fetcher, FetchOptions, Request, fetch_many
from pipeline.schedule import Outcome, Policy, plan_next, policy_for
from warehouse import load, queries
from warehouse.archive import ArchiveWriter
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
        return poll_result(self.fetch, self.parsed, self.unchanged) == "failed"

    @property
    def error_kind(self) -> str | None:
        return poll_error(self.fetch, self.parsed)[0]

    @property
    def error(self) -> str | None:
        return poll_error(self.fetch, self.parsed)[1]


# Below this many feeds, starting parser processes costs more than it saves.
MIN_FEEDS_FOR_PARSER_POOL = 50


@dataclass(frozen=True, slots=True)
class PollOptions:
    """How a batch of sources is polled and its next polls planned: the fetcher's options
    (with the feeds' time limit), processes (`workers`: one a core; how many of them parse:
    `parsers`), child sitemaps followed per source, older Telegram pages fetched per poll,
    and the default polling policy (a source's own bounds in feeds.yaml override it)."""

    fetch: FetchOptions
    workers: int = 1
    max_child_sitemaps: int = 50
    telegram_backfill_pages: int = 3
    policy: Policy = field(default_factory=Policy)


def poll_sources(
    options: PollOptions,
    sources: Sequence[Source],
    states: Mapping[str, FeedState],
    known_posts: Mapping[str, set[str]],
) -> list[Poll]:
    """Poll `sources` (results in the same order). `known_posts`: guids already stored for
    Telegram sources, so backfilling stops at the first page that reaches them."""
    polls = asyncio.run(_first_round(options, sources, states))
    polls = _follow_sitemap_indexes(options, polls)
    return _backfill_telegram(options, polls, known_posts)


async def _first_round(
    options: PollOptions, sources: Sequence[Source], states: Mapping[str, FeedState]
) -> list[Poll]:
    """Fetch every feed; each changed body is parsed as soon as it arrives, in a process
    pool when there are many, so parsing overlaps with the fetches still in flight."""
    pool = None
    if len(sources) >= MIN_FEEDS_FOR_PARSER_POOL and options.workers > 1:
        # Workers need only the parser: forked from a server that imported just that, they
        # start in milliseconds instead of importing the whole pipeline each.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["extractors.feeds"])
        pool = ProcessPoolExecutor(parsers(options.workers, sources, states), mp_context=context)
    try:
        async with Fetcher(options.fetch) as fetcher:
            looks = (_poll_one(fetcher, s, states.get(s.name), pool) for s in sources)
            return list(await asyncio.gather(*looks))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def parsers(workers: int, sources: Sequence[Source], states: Mapping[str, FeedState]) -> int:
    """How many parser processes a round gets, of `workers` (one a core). Where most sources
    are expected to send a body to parse (no body on record yet, or a body parsed at their
    last poll: a source polled at the pace it publishes), parsing is the work: a parser a
    core (the 250 new feeds of bench/pipeline.py's N = 10,000 polled in 2.8-3.0 s, against
    4.0 with a core left to the fetching). Where most answered 304 or an unchanged body last
    time, the fetching is the work and keeps a core (a later cycle of bench/polling.py, 2,000
    feeds of which 200 changed: 1.8-2.0 s with one parser on two cores, 2.2-2.4 s with two)."""
    expected = sum(1 for s in sources if _expects_body(states.get(s.name)))
    return workers if 2 * expected > len(sources) else max(1, workers - 1)


def _expects_body(state: FeedState | None) -> bool:
    """Whether a source's next poll will likely bring a body to parse, judged by its last."""
    return state is None or not state.body_hash or state.last_result in ("ok", "partial")


async def _poll_one(
    fetcher: Fetcher, source: Source, state: FeedState | None, pool: Executor | None
) -> Poll:
    fetch = await fetcher.fetch(_request(source, state))
    if not fetch.ok:
        return Poll(source, fetch, None)
    body_hash = hashlib.sha256(fetch.body).hexdigest()
    if state is not None and state.body_hash == body_hash:
        return Poll(source, fetch, None, body_hash, unchanged=True)
    parse = partial(
        parse_feed, fetch.body, fetch.final_url, content_type=fetch.content_type, kind=source.kind
    )
    if pool is None:
        parsed = parse()
    else:
        parsed = await asyncio.get_running_loop().run_in_executor(pool, parse)
    return Poll(source, fetch, parsed, body_hash)


def _request(source: Source, state: FeedState | None) -> Request:
    if state is None:
        return Request(source.url, user_agent=source.user_agent, ca_bundle=source.ca_bundle)
    # A permanent redirect moved the feed: poll its new home, with its validators.
    return Request(
        state.moved_to or source.url,
        state.etag,
        state.last_modified,
        user_agent=source.user_agent,
        ca_bundle=source.ca_bundle,
    )


def _follow(source: Source, url: str) -> Request:
    """A further fetch for `source` (a child sitemap, an older Telegram page)."""
    return Request(url, user_agent=source.user_agent, ca_bundle=source.ca_bundle)


def _follow_sitemap_indexes(options: PollOptions, polls: list[Poll]) -> list[Poll]:
    """Replace each sitemap index's poll by one holding the entries of its child sitemaps
    (two levels deep at most, `max_child_sitemaps` per source)."""
    for _depth in range(2):
        wanted = [
            (i, url)
            for i, p in enumerate(polls)
            if p.parsed and p.parsed.children
            for url in p.parsed.children[: options.max_child_sitemaps]
        ]
        if not wanted:
            break
        fetches = fetch_many(options.fetch, [_follow(polls[i].source, u) for i, u in wanted])
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
    options: PollOptions, polls: list[Poll], known_posts: Mapping[str, set[str]]
) -> list[Poll]:
    """Fetch older pages of channels (`?before=`) until a page reaches a known post."""
    for _page in range(options.telegram_backfill_pages):
        wanted = {
            i: url
            for i, p in enumerate(polls)
            if (url := _older_page(p, known_posts.get(p.source.name, set())))
        }
        if not wanted:
            break
        requests = [_follow(polls[i].source, u) for i, u in wanted.items()]
        fetches = fetch_many(options.fetch, requests)
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
    newest = poll.parsed
    assert newest is not None
    poll = replace(poll, extra_fetches=(*poll.extra_fetches, fetch), older_page=None)
    if not fetch.ok:
        return poll  # the newest page is in; older posts wait for the next poll
    older = parse_feed(fetch.body, url, content_type=fetch.content_type, kind="telegram")
    have = {e.guid for e in newest.entries}
    if not older.entries or older.entries[-1].guid in have:
        return poll  # the channel's beginning, or a page we already have
    parsed = replace(newest, entries=unique_entries([*older.entries, *newest.entries]))
    return replace(poll, parsed=parsed, older_page=older_page_url(fetch.body, url))


def store_polls(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    run_id: str,
    polls: Sequence[Poll],
    states: Mapping[str, FeedState],
    archive: ArchiveWriter | None,
    now: datetime,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Archive the bodies, store the polls, and plan and store each source's next poll, in a
    few statements for the whole batch (`policy`: the default bounds, see `PollOptions`).
    Returns new entries per source and the plans."""
    rows = [
        load.PollRow(
            poll.source.name,
            poll.fetch,
            poll.parsed,
            poll.body_hash,
            poll.unchanged,
            poll.extra_fetches,
            tuple(archive.write(f) for f in (poll.fetch, *poll.extra_fetches)) if archive else (),
        )
        for poll in polls
    ]
    new = load.record_polls(con, run_id, rows, now)
    rates = queries.published_last_week(con, [p.source.name for p in polls], now)
    plans = [_plan(policy, poll, states.get(poll.source.name), rates, now) for poll in polls]
    load.record_schedules(con, plans, now)
    return new, plans


def _plan(
    policy: Policy,
    poll: Poll,
    state: FeedState | None,
    rates: Mapping[str, int],
    now: datetime,
) -> dict[str, Any]:
    state = state or FeedState()
    hints = [h for h in (poll.fetch.max_age_s, poll.parsed and poll.parsed.ttl_seconds) if h]
    outcome = Outcome(
        failed=poll.failed,
        error_kind=poll.error_kind,
        status=poll.fetch.status,
        error=poll.error,
        retry_after_s=poll.fetch.retry_after_s,
        hint_s=max(hints) if hints else None,
        published_last_week=rates.get(poll.source.name, 0),
    )
    plan = plan_next(
        outcome,
        now=now,
        policy=policy_for(poll.source, policy),
        failure_score=state.failure_score,
        consecutive_failures=state.consecutive_failures,
    )
    # Field by field: `asdict` deep-copies every value, a quarter of storing 2,000 polls.
    return {"source": poll.source.name, **{f.name: getattr(plan, f.name) for f in fields(plan)}}
