"""Incremental, stable assignment of articles to events.

`assign(events, batch, model)` takes the events of the last days (with their members'
features) and a batch of new articles' features, and puts each article in an event:
1. an article already in an event stays there (re-running a batch changes nothing);
2. a copy of a story that is in an event joins that event (copies always share an event);
3. otherwise it joins the event whose best-linked member (within the time window) scores
   highest, if that score reaches the model's threshold; a link to a member of an event whose
   anchors the article names (people and cities that several of the event's stories name:
   `score.ANCHOR_STORIES`) counts the event-level evidence too (`LinkModel.anchor_bonus`):
   an event is its happening's storyline (first reports, the day after, reactions, market
   moves, roundups), which share its subject more than its wording. Such a link's reason is
   "anchor", and the names of the members that joined that way make no anchors: anchors do
   not breed anchors;
4. otherwise it opens a new event whose id derives from its own id.
Articles go in order of (published, id), and ties between events go to the smaller id, so
the same inputs always give the same events and ids.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from events.features import SUBJECT
from events.records import Assignment, Event, Features
from events.score import (
    ANCHOR_STORIES,
    LinkModel,
    cosines,
    hours_apart,
    log_odds_beside_vectors,
    score_ceiling,
    vector_floor,
    vector_part,
)

# An article id that starts with the hour it was first seen (warehouse.load.article_id).
_STARTS_WITH_TIME = re.compile(r"a\d{10}-[0-9a-f]{12}")


def event_id(first_article_id: str) -> str:
    """The id of the event an article opens: a stable function of that article's id. An
    article id that starts with the time (`warehouse.load.article_id`) is kept in it, so
    that the events of a batch, like its articles, land together in the events' index; an
    older article's (a bare hash) is hashed again, as the events it opened were numbered."""
    if _STARTS_WITH_TIME.fullmatch(first_article_id):
        return "ev-" + first_article_id
    return "ev-" + hashlib.sha256(first_article_id.encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class _Open:
    """An event while a batch is assigned (events are frozen records outside)."""

    id: str
    members: list[Features] = field(default_factory=list)
    anchored: set[str] = field(default_factory=set)  # members that joined through an anchor
    # resolved id -> the stories that name it, of the members that joined on their own evidence
    core_named_by: dict[str, set[str]] = field(default_factory=dict)

    def add(self, member: Features, through_anchor: bool) -> None:
        self.members.append(member)
        if through_anchor:
            self.anchored.add(member.article.id)
        else:
            for entity in _resolved(member):
                self.core_named_by.setdefault(entity, set()).add(member.article.story_id)

    def owns(self, names: Sequence[str], named_by: dict[str, set[str]]) -> bool:
        """Whether one of `names` is an anchor of this event: a person or city that at least
        `ANCHOR_STORIES` of its stories that joined on their own evidence name (so anchors do
        not breed anchors), and that are most of the stories of the window naming it
        (`named_by`: id -> stories, over every open event). A name many events share (a
        capital, a head of state in the news every day) is nobody's anchor."""
        for name in names:
            core = self.core_named_by.get(name, ())
            if len(core) >= ANCHOR_STORIES and 2 * len(core) > len(named_by[name]):
                return True
        return False


def _resolved(member: Features) -> list[str]:
    """The people and cities an article is about (`features.subject_ids`): what anchors are
    made of and matched against."""
    return [e for e in member.entities if e.startswith(SUBJECT)]


class _Index:
    """Members of all open events, their vectors as the rows of one growing matrix (capacity
    doubles), so each new article costs one matrix-vector product, not a copy."""

    def __init__(self, events: Sequence[Event], room: int = 0) -> None:
        """`room`: how many more members will be added (a batch's articles). The matrix is
        made at its final size at once: grown by doubling, it held up to twice the rows it
        needed, and both copies while it grew (~4 MB more for a window of 3,600 members)."""
        self.events: dict[str, _Open] = {}
        self.by_article: dict[str, str] = {}
        self.by_story: dict[str, str] = {}
        self.named_by: dict[str, set[str]] = {}  # resolved id -> stories, every open event
        self.members: list[tuple[str, Features]] = []
        size = sum(len(e.members) for e in events) + room
        first = next((e.members[0] for e in events if e.members), None)
        dim = 0 if first is None else len(first.stored_vector())
        # each member's views side by side (`Features.stored_vector`), and each view's axis
        self._rows = np.zeros((size if dim else 0, dim), dtype=np.float32)
        self._axes = np.zeros((len(self._rows), 2), dtype=np.float32)
        self._languages = np.zeros(len(self._rows), dtype=np.int32)  # and its language code
        self._codes: dict[str, int] = {}
        for event in sorted(events, key=lambda e: e.id):
            self.events[event.id] = _Open(event.id)
            for member in event.members:
                self.add(event.id, member, member.article.id in event.anchored)

    def add(self, eid: str, member: Features, through_anchor: bool = False) -> None:
        self.events.setdefault(eid, _Open(eid)).add(member, through_anchor)
        for entity in _resolved(member):
            self.named_by.setdefault(entity, set()).add(member.article.story_id)
        self.by_article[member.article.id] = eid
        self.by_story.setdefault(member.article.story_id, eid)
        n = len(self.members)
        stored = member.stored_vector()
        if n == self._rows.shape[0]:
            grown = np.zeros((max(64, 2 * n), stored.shape[0]), dtype=np.float32)
            if n:
                grown[:n] = self._rows[:n]
            self._rows = grown
            self._axes = np.resize(self._axes, (len(grown), 2))
            self._languages = np.resize(self._languages, len(grown))
        self._rows[n] = stored
        self._axes[n] = (member.axis, member.middle_axis)
        self._languages[n] = self._code(member)
        self.members.append((eid, member))

    def _code(self, item: Features) -> int:
        return self._codes.setdefault(item.article.language or "", len(self._codes))

    def matrix(self) -> np.ndarray:
        return self._rows[: len(self.members)]

    def cosines(self, item: Features) -> tuple[np.ndarray, np.ndarray]:
        """`score.cosine` and `score.middle_cosine` of `item` with every member, in one pass
        (the second all 0 where `item` or the members have no second view)."""
        n = len(self.members)
        cross = self._languages[:n] != self._code(item)
        rows, axes, width = self.matrix(), self._axes[:n], len(item.vector)
        sims = cosines(rows[:, :width] @ item.vector, item.axis, axes[:, 0], cross)
        if item.middle is None or rows.shape[1] != width + len(item.middle):
            return np.asarray(sims), np.zeros(n)
        dots = rows[:, width:] @ item.middle
        return np.asarray(sims), np.asarray(cosines(dots, item.middle_axis, axes[:, 1], cross))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _best_event(index: _Index, item: Features, model: LinkModel) -> tuple[str, float, bool] | None:
    """The event `item` links best to: its id, the score, and whether the link needed the
    event's anchors (its score without them is under the threshold)."""
    if not index.members:
        return None
    known = vector_part(model, *index.cosines(item))  # the log-odds the vectors give
    names = _resolved(item) if model.anchor_bonus > 0 else []
    plain = vector_floor(model, anchored=False)  # under it, only an anchored event can link
    best: tuple[float, str, bool] | None = None
    anchored: dict[str, bool] = {}
    rows = np.flatnonzero(known >= (vector_floor(model) if names else plain))
    rows = rows[np.argsort(-known[rows], kind="stable")]  # most alike first
    ceilings = score_ceiling(model, known[rows], anchored=bool(names))
    for row, ceiling in zip(rows.tolist(), ceilings.tolist(), strict=True):
        if best is not None and ceiling < best[0]:
            break  # no member further down can score above the best link (a window of
            # same-language posts has hundreds of members over the cosine floor)
        eid, member = index.members[row]
        if hours_apart(item, member) > model.window_hours:
            continue
        if eid not in anchored:
            anchored[eid] = bool(names) and index.events[eid].owns(names, index.named_by)
        if known[row] < plain and not anchored[eid]:
            continue
        # `link_score`, from the vectors' part already computed (`vector_part`)
        base = float(known[row]) + log_odds_beside_vectors(model, item, member)
        score = _sigmoid(base + (model.anchor_bonus if anchored[eid] else 0.0))
        if score < model.threshold:
            continue
        if best is None or score > best[0] or (score == best[0] and eid < best[1]):
            alone = _sigmoid(base) if anchored[eid] else score
            best = (score, eid, alone < model.threshold)
    return None if best is None else (best[1], best[0], best[2])


def assign(
    events: Sequence[Event], batch: Sequence[Features], model: LinkModel
) -> tuple[list[Assignment], list[Event]]:
    """Assign every article of `batch` to an event. Returns the assignments (in the batch's
    order of time, then id) and every event touched or created, with its members."""
    index = _Index(events, room=len(batch))
    touched: set[str] = set()
    assignments: list[Assignment] = []
    for item in sorted(batch, key=lambda f: (f.article.published, f.article.id)):
        article = item.article
        if article.id in index.by_article:
            eid = index.by_article[article.id]
            assignments.append(Assignment(article.id, eid, False, None, "known"))
            continue
        if article.story_id in index.by_story:
            eid = index.by_story[article.story_id]
            assignments.append(Assignment(article.id, eid, False, None, "copy"))
        elif (best := _best_event(index, item, model)) is not None:
            eid, score, through_anchor = best
            reason = "anchor" if through_anchor else "link"
            assignments.append(Assignment(article.id, eid, False, score, reason))
        else:
            eid = event_id(article.id)
            assignments.append(Assignment(article.id, eid, True, None, "new"))
        index.add(eid, item, assignments[-1].reason == "anchor")
        touched.add(eid)
    out = [
        Event(eid, tuple(index.events[eid].members), frozenset(index.events[eid].anchored))
        for eid in sorted(touched)
    ]
    return assignments, out
