"""The digest as data: the records of `digests/YYYY-MM-DD.json`, the contract.

The Markdown and HTML digests render these records and nothing else, so the three files
always say the same thing. `digest/digest.schema.json` is the JSON Schema of the file,
generated from these records (`python -m digest.model` writes it again after a change;
a test fails while the two differ). A change that drops or renames a field is a new
`SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("digest.schema.json")
CHART_DAYS = 14
TRAILING_DAYS = 7


@dataclass(frozen=True, slots=True)
class Quote:
    """An evidence line: where the topic was found in the story's best-matching article."""

    text: str
    field: Literal["title", "text"]
    outlet: str
    language: str | None


@dataclass(frozen=True, slots=True)
class DigestStory:
    """A story (one article and its copies) with an article on the topic that day."""

    story_id: str
    title: str
    url: str  # the first article's
    relevance: Literal["about", "mention"]  # the day's strongest for the topic
    status: Literal["new", "continuing"]  # continuing: its first article came on an earlier day
    outlets: int  # that carried the story, all days
    articles: int
    outlets_today: int
    articles_today: int
    languages: tuple[str, ...]  # that the story crossed, all days
    first_outlet: str
    first_published: datetime
    carried_by: tuple[str, ...]  # outlets, in the order they carried it
    quote: Quote | None


@dataclass(frozen=True, slots=True)
class EventOutlet:
    """One outlet's coverage of an event: its first article's headline (what it called it)."""

    outlet: str
    country: str | None
    language: str | None
    tags: tuple[str, ...]  # the source's tags in feeds.yaml (state-media, wire, ...)
    headline: str
    url: str
    published: datetime
    articles: int  # of the event, from this outlet


@dataclass(frozen=True, slots=True)
class TopicLink:
    """Another watchlist topic the event's articles tie this one to, and in how many."""

    topic: str
    articles: int


@dataclass(frozen=True, slots=True)
class DigestEvent:
    """An event (one happening, across outlets and languages) with an article on the topic
    that day; totals are over all its days."""

    event_id: str
    title: str  # the first headline in the language most of its outlets used
    relevance: Literal["about", "mention"]  # about: an article of the event is about the topic
    status: Literal["new", "continuing"]
    outlets: int
    articles: int
    outlets_today: int
    articles_today: int
    languages: tuple[str, ...]
    countries: tuple[str, ...]
    first_outlet: str
    first_published: datetime
    url: str  # the article the title is the headline of (the first with it)
    coverage: tuple[EventOutlet, ...]  # one per outlet, by country, language, then time
    other_topics: tuple[TopicLink, ...]  # most articles first


@dataclass(frozen=True, slots=True)
class TagCount:
    """Articles on the topic that day from sources with one tag in one country."""

    tag: str
    country: str | None
    articles: int


@dataclass(frozen=True, slots=True)
class OutletCount:
    outlet: str
    articles: int


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    articles: int


@dataclass(frozen=True, slots=True)
class Spike:
    """The day's distinct outlets on the topic against the mean of distinct outlets a day in
    the `TRAILING_DAYS` before: a spike when at least `min_outlets` outlets (and
    `min_articles` articles) and `ratio_needed` times that mean (a mean under 1 counts as 1).
    Outlets, not articles, so one outlet's many copies of a story are not a spike."""

    spiking: bool
    articles: int  # that day, copies included (shown, and held to `min_articles`)
    trailing_mean: float  # distinct outlets a day in the week before
    ratio: float | None  # outlets / trailing mean; None when the week before had none
    min_articles: int
    ratio_needed: float
    outlets: int = 0  # distinct outlets on the topic that day
    stories: int = 0  # distinct stories on the topic that day
    min_outlets: int = 0


@dataclass(frozen=True, slots=True)
class TopicDigest:
    topic: str
    name: str
    articles: int  # tagged with the topic that day, copies included
    about: int
    mentions: int
    outlets: int
    languages: tuple[str, ...]
    stories_total: int
    new_stories: int
    continuing_stories: int
    spike: Spike
    stories: tuple[DigestStory, ...]  # the top ones: about before mention, most outlets first
    top_outlets: tuple[OutletCount, ...]
    chart: tuple[DayCount, ...]  # the `CHART_DAYS` days ending on the digest's day
    events_total: int = 0
    # the top events: about before mention, then most outlets, most languages, first seen
    events: tuple[DigestEvent, ...] = ()
    by_tag: tuple[TagCount, ...] = ()  # most articles first

    @property
    def top_story(self) -> DigestStory | None:
        return self.stories[0] if self.stories else None


@dataclass(frozen=True, slots=True)
class Digest:
    schema_version: int
    day: date
    watchlist_version: str
    articles: int  # tagged with any topic that day
    outlets: int
    empty: bool  # no watchlist article at all that day
    spikes: tuple[str, ...]  # topic ids
    # most articles that day first, then most outlets, then name; quiet topics (none) last
    topics: tuple[TopicDigest, ...]


_ADAPTER: TypeAdapter[Digest] = TypeAdapter(Digest)


def to_json(digest: Digest) -> str:
    return _ADAPTER.dump_json(digest, indent=2).decode("utf-8") + "\n"


def from_json(text: str) -> Digest:
    return _ADAPTER.validate_json(text)


def json_schema() -> dict[str, Any]:
    schema = _ADAPTER.json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/newswatch/newswatch/digest/digest.schema.json",
        "title": "newswatch daily digest",
        "description": f"digests/YYYY-MM-DD.json, schema_version {SCHEMA_VERSION}",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
