"""The events part of a topic's digest (issue 17): the day's events on the topic, ranked by
outlets and languages, each with its first outlet and time, every outlet's own headline (by
country and language) and the other watchlist topics its articles tie it to; and the day's
articles on the topic by source tag and country ("state-media of RU: 12 articles").

Pure: rows from `warehouse.events` in, `digest.model` records out, sorted on stable keys.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from digest.model import DigestEvent, EventOutlet, TagCount, TopicLink

EVENT_LIMIT = 10
# Tag-and-country lines a topic's day shows, most articles first: a day of a busy topic
# reaches ten and more (demo, 5 January: eleven for Venezuela).
TAG_LIMIT = 12


def topic_events(
    day: date, topic: str, events: list[dict[str, Any]], members: list[dict[str, Any]]
) -> tuple[int, tuple[DigestEvent, ...]]:
    """How many events the topic had that day, and the top `EVENT_LIMIT` (rows come ranked)."""
    rows = [r for r in events if r["topic"] == topic]
    by_event: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        by_event.setdefault(m["event_id"], []).append(m)
    return len(rows), tuple(
        _event(day, topic, r, by_event.get(r["event_id"], [])) for r in rows[:EVENT_LIMIT]
    )


def spread_fields(day: date, row: dict[str, Any]) -> dict[str, Any]:
    """What a story and an event say alike of their spread, from a digest query's row: title,
    relevance, new or continuing on `day`, outlets and articles (all and today's), languages,
    the first outlet and when, the first URL."""
    first = _utc(row["first_published"])
    return {
        "title": row["title"] or "(untitled)",
        "url": row["first_url"],
        "relevance": "about" if row["about"] else "mention",
        "status": "new" if first.date() >= day else "continuing",
        "outlets": row["outlets"],
        "articles": row["articles"],
        "outlets_today": row["outlets_today"],
        "articles_today": row["articles_today"],
        "languages": tuple(row["languages"]),
        "first_outlet": row["first_outlet"],
        "first_published": first,
    }


def _event(
    day: date, topic: str, row: dict[str, Any], members: list[dict[str, Any]]
) -> DigestEvent:
    return DigestEvent(
        event_id=row["event_id"],
        countries=tuple(row["countries"]),
        **(spread_fields(day, row) | {"url": row["title_url"]}),
        coverage=_coverage(members),
        other_topics=_links(topic, members),
    )


def _coverage(members: list[dict[str, Any]]) -> tuple[EventOutlet, ...]:
    """One entry per outlet: its first article of the event (members come in time order)."""
    counts = Counter(m["outlet"] for m in members)
    firsts: dict[str, dict[str, Any]] = {}
    for m in members:
        firsts.setdefault(m["outlet"], m)
    outlets = [
        EventOutlet(
            outlet=m["outlet"],
            country=m["country"],
            language=m["language"],
            tags=tuple(m["tags"] or ()),
            headline=m["headline"] or "(untitled)",
            url=m["url"],
            published=_utc(m["published"]),
            articles=counts[m["outlet"]],
        )
        for m in firsts.values()
    ]
    return tuple(
        sorted(outlets, key=lambda o: (o.country or "~", o.language or "~", o.published, o.outlet))
    )


def _links(topic: str, members: list[dict[str, Any]]) -> tuple[TopicLink, ...]:
    counts = Counter(t for m in members for t in set(m["topics"] or ()) if t != topic)
    return tuple(TopicLink(t, n) for t, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])))


def topic_tags(topic: str, rows: list[dict[str, Any]]) -> tuple[TagCount, ...]:
    """The topic's articles that day by source tag and country, most first (rows come so)."""
    return tuple(
        TagCount(r["tag"], r["country"], r["articles"]) for r in rows if r["topic"] == topic
    )[:TAG_LIMIT]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
