"""From a `LinkArticle` to its `Features`: entity ids and numbers of the title and lead, and
the embedding of the title and opening (`events.leads`). Pure apart from the embedder handed
in; batches embed in one call."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from events.embed import Embedder, language_axes, split_views, view_widths, views
from events.gazetteer import resolved_ids
from events.leads import OPENING_CHARS, lead_after_title
from events.names import TopicTagger, country_ids, name_ids, watchlist_topics
from events.numbers import numbers
from events.records import Features, LinkArticle


def embedding_text(article: LinkArticle) -> str:
    """What the embedder is given: the title, then the opening (the lead when there is none);
    the embedder cuts it to its token budget (`events.leads.within_tokens`)."""
    return f"{article.title}\n{article.opening or article.lead}".strip()


# What linking reads of a stored text to cut its opening from, a repeat of the title included
# (`warehouse.events.unlinked_articles`).
LEAD_READ_CHARS = OPENING_CHARS + 200


def stored_embedding_text(title: str, text: str) -> str:
    """`embedding_text` of an article as linking will read it back from the warehouse: the
    same string, so a vector computed before the article was stored can be looked up by it."""
    opening = lead_after_title(title, text[:LEAD_READ_CHARS], OPENING_CHARS)
    return f"{title}\n{opening}".strip()


# A sentence ends at . ! ? before a capital or another script (not "U.S. forces"), or at the
# full stops of Chinese and Persian; the first must be 40 characters long (not a dateline).
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[^\Wa-z0-9])|[。！？؟]")
SUBJECT = "subject:"


def first_sentence(text: str) -> str:
    """The first sentence of `text` (at least 40 characters of it)."""
    end = _SENTENCE_END.search(text, 40)
    return text if end is None else text[: end.end()]


def subject_ids(article: LinkArticle) -> set[str]:
    """`subject:` ids: the people and cities of the title and the lead's first sentence, what
    the article is about (a name further down is context: "a day after the strike on Kyiv")."""
    return {SUBJECT + i for i in resolved_ids(f"{article.title}\n{first_sentence(article.lead)}")}


def entities(article: LinkArticle, watchlist: TopicTagger | None = None) -> frozenset[str]:
    """Language-independent ids of the people and places in the title and lead (`country:`,
    `city:`, `person:`, and `name:` keys of other Latin and Cyrillic names), with the
    article's watchlist topics, and the `subject:` ids of `subject_ids`."""
    text = f"{article.title}\n{article.lead}"
    found = country_ids(text) | name_ids(text) | resolved_ids(text) | subject_ids(article)
    found |= {f"topic:{topic}" for topic in article.topics}
    if watchlist is not None:
        found |= watchlist_topics(watchlist, article.title, article.lead, article.language)
    return frozenset(found)


def extract(
    articles: Sequence[LinkArticle], embedder: Embedder, watchlist: TopicTagger | None = None
) -> list[Features]:
    """The features of each article, in order; one call to the embedder for the batch."""
    rows = embedder.embed([embedding_text(a) for a in articles])
    return [
        Features(a, entities(a, watchlist), numbers(f"{a.title}\n{a.lead}"), *vectors)
        for a, vectors in zip(articles, view_fields(rows, embedder), strict=True)
    ]


def view_fields(rows: np.ndarray, embedder: Embedder) -> list[tuple[Any, ...]]:
    """Each row of the embedder's (`Embedder`: one or two views) as the fields of `Features`
    from `vector` on: (vector, axis) or (vector, axis, middle, middle_axis); each view scaled
    to unit length first."""
    if len(rows) == 0:
        return []
    if views(embedder) not in (1, 2):
        raise ValueError(f"an embedder of {views(embedder)} views: linking reads one or two")
    widths, axes = view_widths(embedder), language_axes(embedder)
    rows = np.asarray(rows, np.float32).reshape(len(rows), -1)
    unit = np.hstack(split_views(rows, widths))
    return [stored_fields(row, widths, axes) for row in unit]


def stored_fields(
    stored: np.ndarray, widths: tuple[int, ...] | None, axes: Sequence[np.ndarray | None]
) -> tuple[Any, ...]:
    """The fields of `Features` from `vector` on for one row whose views are of unit length
    already (the warehouse keeps them so: `Features.stored_vector`; `widths`, the embedder's
    `view_widths`), its views slices of it, not copies."""
    fields: list[Any] = []
    start = 0
    for width, axis in zip(widths or (len(stored),), axes, strict=True):
        part = stored[start : start + width]
        fields += [part, 0.0 if axis is None else float(part @ axis)]
        start += width
    return tuple(fields)


def axes_of(vectors: np.ndarray, axis: np.ndarray | None) -> list[float]:
    """Each row's component along the language direction `axis` (zeros when None)."""
    if axis is None or len(vectors) == 0:
        return [0.0] * len(vectors)
    return [float(v) for v in np.asarray(vectors, dtype=np.float32) @ axis]
