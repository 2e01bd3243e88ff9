"""Building a day's digest: the warehouse's rows of a day become a `Digest` record, written
as `digests/YYYY-MM-DD.json`, `.md` and `.html`.

The digest is built in three steps: the warehouse's rows of a day (`DayRows`, from
`warehouse.queries`) become a `Digest` record (`build_digest`, the content: the JSON file is
that record, see `digest/model.py`), which `digest/render.py` renders as Markdown
and HTML (the form). Output is deterministic for the same database: rows are sorted on stable
keys and no clock is read (`yesterday` aside, which only picks the default day). The flow
(`flows/digest.py`) sequences these and publishes the Markdown as a Prefect artifact.

Topics come most active first (articles that day, then outlets, then name); the quiet ones
(no article that day) last, with zero counts, and the renderers fold them into one line.
Per topic: the day's events (digest/events.py); how many articles, about and mentioning,
from which outlets and languages; a spike flag counted in distinct outlets (and stories)
against the week before, so one outlet's many copies are not a spike; a 14-day chart; the
top stories, ranked by how many outlets carried them (stories about the topic before stories
that only mention it), each with who had it first and when, the languages it crossed, whether
it is new that day, and a quote of an evidence line from the body (never the headline);
the outlets that covered the topic most.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from digest.events import spread_fields, topic_events, topic_tags
from digest.model import (
    CHART_DAYS,
    SCHEMA_VERSION,
    TRAILING_DAYS,
    DayCount,
    Digest,
    DigestStory,
    OutletCount,
    Quote,
    Spike,
    TopicDigest,
    to_json,
)
from digest.render import render_html, render_markdown
from extractors.topics import Watchlist
from warehouse import events as event_queries
from warehouse import queries

STORY_LIMIT = 10
OUTLET_LIMIT = 5
SPIKE_MIN_ARTICLES = 3
SPIKE_MIN_OUTLETS = 3
SPIKE_RATIO = 2.0
FORMATS = ("md", "html", "json")


@dataclass(frozen=True, slots=True)
class DayRows:
    """What the warehouse holds about one day, as `warehouse.queries` returns it."""

    stories: list[dict[str, Any]]
    totals: dict[str, dict[str, Any]]
    outlets: list[tuple[str, str, int]]
    counts: dict[tuple[str, date], int]  # (topic, day) -> articles, over the chart's days
    day_totals: tuple[int, int]  # articles, outlets
    events: list[dict[str, Any]] = field(default_factory=list)  # per topic, ranked
    members: list[dict[str, Any]] = field(default_factory=list)  # the articles of those events
    tags: list[dict[str, Any]] = field(default_factory=list)  # per topic, tag and country
    # (topic, day) -> (distinct outlets, distinct stories), over the spike's days
    spread: dict[tuple[str, date], tuple[int, int]] = field(default_factory=dict)


def read_day(con: duckdb.DuckDBPyConnection, day: date) -> DayRows:
    events = event_queries.digest_events(con, day)
    return DayRows(
        stories=queries.digest_stories(con, day),
        totals=queries.digest_topic_totals(con, day),
        outlets=queries.digest_outlets(con, day),
        counts=queries.topic_counts_by_day(con, day - timedelta(days=CHART_DAYS - 1), day),
        day_totals=queries.digest_day_totals(con, day),
        events=events,
        members=event_queries.event_members(con, sorted({r["event_id"] for r in events})),
        tags=event_queries.tagged_outlet_counts(con, day),
        spread=queries.topic_spread_by_day(con, day - timedelta(days=TRAILING_DAYS), day),
    )


def build_digest(day: date, watchlist: Watchlist, rows: DayRows) -> Digest:
    stories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.stories:
        stories[row["topic"]].append(row)
    outlets: dict[str, list[OutletCount]] = defaultdict(list)
    for topic, outlet, count in rows.outlets:
        outlets[topic].append(OutletCount(outlet, count))
    topics = _by_activity(
        _topic(day, topic, watchlist.name(topic), rows, stories[topic], outlets[topic])
        for topic in watchlist.topics
    )
    articles, outlet_count = rows.day_totals
    return Digest(
        schema_version=SCHEMA_VERSION,
        day=day,
        watchlist_version=watchlist.version,
        articles=articles,
        outlets=outlet_count,
        empty=articles == 0,
        spikes=tuple(t.topic for t in topics if t.spike.spiking),
        topics=topics,
    )


def _by_activity(topics: Iterable[TopicDigest]) -> tuple[TopicDigest, ...]:
    """Most articles that day first, then most outlets, then by name (quiet topics last)."""
    return tuple(sorted(topics, key=lambda t: (-t.articles, -t.outlets, t.name.casefold())))


def _topic(
    day: date,
    topic: str,
    name: str,
    rows: DayRows,
    story_rows: list[dict[str, Any]],
    outlets: list[OutletCount],
) -> TopicDigest:
    totals = rows.totals.get(topic, {})
    chart = tuple(
        DayCount(d, rows.counts.get((topic, d), 0))
        for d in (day - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1))
    )
    stories = [_story(day, r) for r in story_rows]
    new = sum(s.status == "new" for s in stories)
    events_total, events = topic_events(day, topic, rows.events, rows.members)
    return TopicDigest(
        topic=topic,
        name=name,
        articles=totals.get("articles", 0),
        about=totals.get("about", 0),
        mentions=totals.get("mentions", 0),
        outlets=totals.get("outlets", 0),
        languages=tuple(totals.get("languages", ())),
        stories_total=len(stories),
        new_stories=new,
        continuing_stories=len(stories) - new,
        spike=_topic_spike(day, topic, rows, totals.get("articles", 0)),
        stories=tuple(stories[:STORY_LIMIT]),
        top_outlets=tuple(outlets[:OUTLET_LIMIT]),
        chart=chart,
        events_total=events_total,
        events=events,
        by_tag=topic_tags(topic, rows.tags),
    )


def _topic_spike(day: date, topic: str, rows: DayRows, articles: int) -> Spike:
    days = (day - timedelta(days=n) for n in range(TRAILING_DAYS, -1, -1))
    spread = [rows.spread.get((topic, d), (0, 0)) for d in days]
    return spike([outlets for outlets, _ in spread], articles, stories=spread[-1][1])


def spike(outlets_by_day: Sequence[int], articles: int, stories: int) -> Spike:
    """The last day's distinct outlets against the mean of the `TRAILING_DAYS` days before
    it (`outlets_by_day` ends on the digest's day); `articles` and `stories` are that day's."""
    today = outlets_by_day[-1]
    mean = sum(outlets_by_day[-1 - TRAILING_DAYS : -1]) / TRAILING_DAYS
    return Spike(
        spiking=today >= SPIKE_MIN_OUTLETS
        and articles >= SPIKE_MIN_ARTICLES
        and today >= SPIKE_RATIO * max(mean, 1.0),
        articles=articles,
        trailing_mean=round(mean, 2),
        ratio=round(today / mean, 2) if mean else None,
        min_articles=SPIKE_MIN_ARTICLES,
        ratio_needed=SPIKE_RATIO,
        outlets=today,
        stories=stories,
        min_outlets=SPIKE_MIN_OUTLETS,
    )


def _story(day: date, row: dict[str, Any]) -> DigestStory:
    return DigestStory(
        story_id=row["story_id"],
        carried_by=tuple(row["carried_by"]),
        quote=_quote(row),
        **spread_fields(day, row),
    )


def _quote(row: dict[str, Any]) -> Quote | None:
    """The first evidence line from the body that says more than the headline: a snippet
    equal to the title or inside it (whitespace and case aside) is skipped. No quote rather
    than the headline, which is already on the line."""
    title = _flat(row["title"] or "")
    for e in json.loads(row["evidence"]) if row["evidence"] else []:
        snippet = e.get("snippet") or ""
        if e.get("field") == "text" and _flat(snippet) and _flat(snippet) not in title:
            return Quote(snippet, "text", row["quote_outlet"], row["quote_language"])
    return None


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def write_digest(digest: Digest, out_dir: Path) -> dict[str, Path]:
    """Write the three files of one digest; returns them by format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {"md": render_markdown(digest), "html": render_html(digest), "json": to_json(digest)}
    paths = {}
    for fmt in FORMATS:
        paths[fmt] = digest_path(out_dir, digest.day, fmt)
        paths[fmt].write_text(texts[fmt], encoding="utf-8")
    return paths


def digest_path(out_dir: Path, day: date, fmt: str = "md") -> Path:
    return out_dir / f"{day.isoformat()}.{fmt}"


def yesterday() -> date:
    return (datetime.now(UTC) - timedelta(days=1)).date()


def read_days(
    con: duckdb.DuckDBPyConnection, watchlist: Watchlist, days: list[date] | None
) -> list[Digest]:
    """The digests of `days` (None: every day with articles)."""
    chosen = queries.article_days(con) if days is None else days
    return [build_digest(d, watchlist, read_day(con, d)) for d in chosen]


def parse_day(value: str | None) -> date:
    """An ISO day, or yesterday (UTC) when None."""
    return date.fromisoformat(value) if value else yesterday()
