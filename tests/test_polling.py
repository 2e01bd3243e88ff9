"""The poller against a scripted loopback server, and the schedule policy it follows."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from extractors.records import Source
from fetching.fetch import Request, fetch_many
from newswatch.options import fetch_options, poll_options
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer
from pipeline.poll import PollOptions, parsers, poll_sources
from pipeline.schedule import DAY_S, Outcome, Plan, Policy, plan_next
from warehouse.queries import FeedState

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLICY = Policy(min_interval_s=300, max_interval_s=DAY_S, slow_retry_score=10, failure_budget=30)


def rss(*guids: str) -> bytes:
    items = "".join(
        f"<item><title>Item {g}</title><link>http://example.org/{g}</link><guid>{g}</guid>"
        "<pubDate>Mon, 05 Jan 2026 10:00:00 GMT</pubDate></item>"
        for g in guids
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<link>http://example.org/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def route(server: SnapshotServer, path: str, fn: Callable[..., None]) -> None:
    server.routes[path] = fn  # type: ignore[attr-defined]


def answer(
    server: SnapshotServer, path: str, status: int, body: bytes, ctype: str, **headers: str
) -> None:
    """Answer `path` always the same way."""
    route(server, path, lambda h, _q: h.send_body(status, body, ctype, **headers))


def _settings(server: SnapshotServer) -> Settings:
    return Settings(allowed_hosts=server.host_port, per_host_delay=0, feed_timeout=5)


def _options(server: SnapshotServer) -> PollOptions:
    return poll_options(_settings(server))


def _source(server: SnapshotServer, path: str, kind: str = "rss") -> Source:
    return Source(path, kind, f"{server.base}{path}", "en", "US", path)


def _paths(server: SnapshotServer) -> list[str]:
    return [p for p, _ in server.requests]  # type: ignore[attr-defined]


# --- conditional GET, change detection, redirects ------------------------------------------------


def test_a_round_parses_on_every_core_only_when_most_feeds_bring_a_body() -> None:
    sources = [
        Source(f"s{i}", "rss", f"http://127.0.0.1/{i}.xml", "en", "US", "x") for i in range(10)
    ]
    quiet = FeedState(etag='"e"', body_hash="ab", last_result="not_modified")
    same = FeedState(body_hash="ab", last_result="unchanged")
    busy = FeedState(etag='"e"', body_hash="ab", last_result="ok")
    synced = FeedState()  # a source's state before its first fetch: no body on record
    assert parsers(2, sources, {}) == 2
    assert parsers(2, sources, {s.name: synced for s in sources}) == 2
    assert parsers(2, sources, {s.name: busy for s in sources}) == 2
    assert parsers(2, sources, {s.name: quiet for s in sources}) == 1
    assert parsers(2, sources, {s.name: same for s in sources}) == 1
    assert parsers(4, sources, {s.name: quiet for s in sources[:5]}) == 3  # half bring a body
    assert parsers(4, sources, {s.name: quiet for s in sources[:4]}) == 4  # most do
    assert parsers(1, sources, {s.name: quiet for s in sources}) == 1


def test_304_costs_no_parsing(scripted: SnapshotServer) -> None:
    def feed(h, _q):  # type: ignore[no-untyped-def]
        if h.headers.get("If-None-Match") == '"v1"':
            h.send_body(304, b"", "application/rss+xml")
        else:
            h.send_body(200, rss("a", "b"), "application/rss+xml", ETag='"v1"')

    route(scripted, "/feed", feed)
    source = _source(scripted, "/feed")
    first = poll_sources(_options(scripted), [source], {}, {})[0]
    assert first.parsed is not None and len(first.parsed.entries) == 2
    state = FeedState(etag=first.fetch.etag, body_hash=first.body_hash)
    second = poll_sources(_options(scripted), [source], {"/feed": state}, {})[0]
    assert second.fetch.not_modified and second.parsed is None and not second.failed
    assert scripted.requests[-1][1].get("If-None-Match") == '"v1"'  # type: ignore[attr-defined]


def test_same_body_without_validators_is_not_parsed_again(scripted: SnapshotServer) -> None:
    answer(scripted, "/feed", 200, rss("a"), "application/rss+xml")
    source = _source(scripted, "/feed")
    first = poll_sources(_options(scripted), [source], {}, {})[0]
    again = poll_sources(
        _options(scripted), [source], {"/feed": FeedState(body_hash=first.body_hash)}, {}
    )[0]
    assert first.parsed is not None and again.unchanged and again.parsed is None


def test_permanent_redirect_is_remembered(scripted: SnapshotServer) -> None:
    answer(scripted, "/old", 301, b"", "text/plain", Location="/new")
    answer(scripted, "/new", 200, rss("a"), "application/rss+xml")
    source = _source(scripted, "/old")
    poll = poll_sources(_options(scripted), [source], {}, {})[0]
    assert poll.fetch.moved_to == f"{scripted.base}/new" and poll.parsed is not None
    before = len(scripted.requests)  # type: ignore[attr-defined]
    poll_sources(
        _options(scripted), [source], {"/old": FeedState(moved_to=poll.fetch.moved_to)}, {}
    )
    assert _paths(scripted)[before:] == ["/new"]


def test_temporary_redirect_is_not_remembered(scripted: SnapshotServer) -> None:
    answer(scripted, "/a", 302, b"", "text/plain", Location="/b")
    answer(scripted, "/b", 200, rss("a"), "application/rss+xml")
    poll = poll_sources(_options(scripted), [_source(scripted, "/a")], {}, {})[0]
    assert poll.fetch.moved_to is None and poll.parsed is not None


def test_gone_disables_and_retry_after_is_read(scripted: SnapshotServer) -> None:
    answer(scripted, "/gone", 410, b"gone", "text/plain")
    answer(scripted, "/busy", 429, b"slow down", "text/plain", Retry_After="3600")
    gone, busy = poll_sources(
        _options(scripted), [_source(scripted, "/gone"), _source(scripted, "/busy")], {}, {}
    )
    plan = plan_next(
        Outcome(True, gone.error_kind, gone.fetch.status, gone.error), now=NOW, policy=POLICY
    )
    assert plan.disabled_reason and "410" in plan.disabled_reason
    assert busy.fetch.retry_after_s == 3600
    plan = plan_next(
        Outcome(True, busy.error_kind, 429, busy.error, retry_after_s=busy.fetch.retry_after_s),
        now=NOW,
        policy=POLICY,
    )
    assert plan.next_poll_at == NOW + timedelta(seconds=3600) and plan.disabled_reason is None


# --- politeness -----------------------------------------------------------------------------


def test_never_more_than_two_requests_per_host(scripted: SnapshotServer) -> None:
    inflight = {"now": 0, "max": 0}
    changed = threading.Condition()

    def slow(h, _q):  # type: ignore[no-untyped-def]
        with changed:
            inflight["now"] += 1
            inflight["max"] = max(inflight["max"], inflight["now"])
            changed.notify_all()
            # Hold the request until a third one arrives (a violation) or briefly.
            changed.wait_for(lambda: inflight["now"] > 2, timeout=0.2)
            inflight["now"] -= 1
        h.send_body(200, rss("x"), "application/rss+xml")

    sources = []
    for i in range(8):
        route(scripted, f"/f{i}", slow)
        sources.append(_source(scripted, f"/f{i}"))
    polls = poll_sources(_options(scripted), sources, {}, {})
    assert all(p.parsed for p in polls)
    assert inflight["max"] == 2


def test_per_host_delay_spaces_requests(scripted: SnapshotServer) -> None:
    answer(scripted, "/p", 200, b"ok", "text/plain")
    settings = _settings(scripted).model_copy(update={"per_host_delay": 0.2})
    results = fetch_many(
        fetch_options(settings, 5), [Request(f"{scripted.base}/p") for _ in range(3)]
    )
    starts = sorted(r.fetched_at - timedelta(milliseconds=r.elapsed_ms) for r in results)  # type: ignore[operator]
    assert starts[-1] - starts[0] >= timedelta(seconds=0.35)


def test_robots_txt_refuses_pages_without_fetching_them(scripted: SnapshotServer) -> None:
    answer(scripted, "/robots.txt", 200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
    answer(scripted, "/private/a.html", 200, b"<p>secret</p>", "text/html")
    answer(scripted, "/public/b.html", 200, b"<p>open</p>", "text/html")
    urls = [f"{scripted.base}/private/a.html", f"{scripted.base}/public/b.html"]
    refused, allowed = fetch_many(
        fetch_options(_settings(scripted), 5), [Request(u) for u in urls], robots=True
    )
    assert refused.error_kind == "robots_disallowed" and allowed.ok
    assert "/private/a.html" not in _paths(scripted)
    assert _paths(scripted).count("/robots.txt") == 1


# --- formats that need more than one request ------------------------------------------------


def channel_page(name: str, ids: range, older: bool) -> bytes:
    """A channel preview page in t.me's structure with the posts `ids`."""
    posts = "".join(
        '<div class="tgme_widget_message_wrap">'
        f'<div class="tgme_widget_message" data-post="{name}/{i}">'
        f'<div class="tgme_widget_message_text">Post number {i} about the news</div>'
        f'<a class="tgme_widget_message_date" href="https://t.me/{name}/{i}">'
        f'<time datetime="2026-01-05T10:{i % 60:02d}:00+00:00">10:00</time></a></div></div>'
        for i in ids
    )
    prev = f'<link rel="prev" href="/s/{name}?before={ids.start}">' if older else ""
    head = f'<meta property="og:title" content="{name}">{prev}'
    return f"<html><head>{head}</head><body>{posts}</body></html>".encode()


def test_telegram_pages_back_until_a_known_post(scripted: SnapshotServer) -> None:
    def channel(h, query):  # type: ignore[no-untyped-def]
        before = int(query.removeprefix("before=")) if query else 131
        h.send_body(
            200,
            channel_page("chan", range(max(before - 10, 101), before), before > 111),
            "text/html",
        )

    route(scripted, "/s/chan", channel)
    source = _source(scripted, "/s/chan", kind="telegram")
    first = poll_sources(_options(scripted), [source], {}, {})[0]
    guids = {e.guid for e in first.parsed.entries}  # type: ignore[union-attr]
    assert guids == {f"chan/{i}" for i in range(101, 131)}  # 3 pages: newest + 2 older
    pages = [f.url.rpartition("?")[2] for f in first.extra_fetches]
    assert pages[:2] == ["before=121", "before=111"]
    assert len(pages) <= _settings(scripted).telegram_backfill_pages
    known = {"/s/chan": {"chan/125"}}
    again = poll_sources(_options(scripted), [source], {}, known)[0]
    assert not again.extra_fetches  # the newest page already reaches a known post


SITEMAP_INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/news-1.xml</loc></sitemap><sitemap><loc>{base}/news-2.xml</loc></sitemap>
</sitemapindex>"""
NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/articles/{n}.html</loc><news:news>
<news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-01-05T10:00:00Z</news:publication_date>
<news:title>Article {n}</news:title></news:news></url>
</urlset>"""


def test_sitemap_index_is_followed(scripted: SnapshotServer) -> None:
    base = scripted.base
    answer(
        scripted, "/sitemap.xml", 200, SITEMAP_INDEX.format(base=base).encode(), "application/xml"
    )
    for n in (1, 2):
        body = NEWS_SITEMAP.format(base=base, n=n).encode()
        answer(scripted, f"/news-{n}.xml", 200, body, "application/xml")
    poll = poll_sources(
        _options(scripted), [_source(scripted, "/sitemap.xml", kind="sitemap")], {}, {}
    )[0]
    assert poll.parsed is not None
    assert sorted(e.title for e in poll.parsed.entries) == ["Article 1", "Article 2"]
    assert len(poll.extra_fetches) == 2


# --- the schedule policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "hint", "expected"),
    [
        (0, None, DAY_S),  # dormant: once a day
        (7, None, DAY_S),  # a post a day
        (168, None, 3600),  # a post an hour
        (5000, None, 300),  # a busy wire: the lower bound
        (168, 7200, 7200),  # the feed asks for 2 hours between polls
        (168, 10 * DAY_S, DAY_S),  # ...but never past the upper bound
    ],
)
def test_interval_follows_the_publishing_rate(
    published: int, hint: float | None, expected: int
) -> None:
    plan = plan_next(
        Outcome(False, hint_s=hint, published_last_week=published), now=NOW, policy=POLICY
    )
    assert plan.interval_s == expected and plan.next_poll_at == NOW + timedelta(seconds=expected)


def _backoff(policy: Policy, tries: int) -> list[Plan]:
    """The plans of `tries` timeouts in a row, each planned from the last."""
    rng, score, failures, plans = random.Random(7), 0.0, 0, []
    for _ in range(tries):
        plan = plan_next(
            Outcome(True, "timeout"),
            now=NOW,
            policy=policy,
            failure_score=score,
            consecutive_failures=failures,
            rng=rng,
        )
        score, failures = plan.failure_score, plan.consecutive_failures
        plans.append(plan)
    return plans


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    plans = _backoff(POLICY, 12)
    ratios = [p.interval_s / (300 * 2**n) for n, p in enumerate(plans[:5])]
    assert all(0.75 <= r <= 1.25 for r in ratios)  # doubling, within the jitter's band
    assert len({round(r, 2) for r in ratios}) == 5  # and jittered: no two draws alike
    assert plans[-1].slow_retry and plans[-1].interval_s == DAY_S  # score 12 >= 10: once a day
    # Without the slow retry, the doubling itself stops at a day.
    growing = _backoff(replace(POLICY, slow_retry_score=1000), 14)
    assert not any(p.slow_retry for p in growing)
    assert max(p.interval_s for p in growing) == DAY_S
    assert [p.interval_s for p in growing[-3:]] == [DAY_S] * 3


def test_failures_are_graded_and_the_budget_disables() -> None:
    timeout = plan_next(Outcome(True, "timeout"), now=NOW, policy=POLICY)
    missing = plan_next(Outcome(True, "http_status", 404), now=NOW, policy=POLICY)
    dns = plan_next(Outcome(True, "dns"), now=NOW, policy=POLICY)
    assert timeout.failure_score < missing.failure_score == dns.failure_score
    score, failures, plan = 0.0, 0, timeout
    while not plan.disabled_reason:
        plan = plan_next(
            Outcome(True, "http_status", 404, "HTTP 404 Not Found"),
            now=NOW,
            policy=POLICY,
            failure_score=score,
            consecutive_failures=failures,
        )
        score, failures = plan.failure_score, plan.consecutive_failures
    assert failures == 10 and "budget" in plan.disabled_reason and "404" in plan.disabled_reason


def test_success_forgets_failures() -> None:
    plan = plan_next(
        Outcome(False, published_last_week=7),
        now=NOW,
        policy=POLICY,
        failure_score=9,
        consecutive_failures=5,
    )
    assert (plan.failure_score, plan.consecutive_failures, plan.slow_retry) == (0.0, 0, False)
