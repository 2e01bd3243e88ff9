"""Builds the event-linking development set from labels.yaml and text read at build time.

- `semeval_pairs(split)`: SemEval-2022 Task 8 article pairs ("fit" or "held_out") with a
  same-event label from the human Overall score, as `Pair` records. The text comes from
  `../shared/corpus/multilingual/semeval2022_task8/` (`SharedMissing` when it is absent).
- `demo_articles()`: the demo snapshot's written pages (seeds/demo, the team's own text) as
  `events.LinkArticle` records with their labelled event.

Used by bench/events.py and tests/test_events_devset.py; nothing here is copied into the repo.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.html
import yaml

from events import OPENING_CHARS, LinkArticle, lead_after_title, lead_of

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SHARED = REPO.parent / "shared"
SEMEVAL = SHARED / "corpus" / "multilingual" / "semeval2022_task8"
DEMO = REPO / "seeds" / "demo"


class SharedMissing(RuntimeError):
    """The third-party text the set is built from is not on this machine."""


def labels() -> dict:
    return yaml.safe_load((HERE / "labels.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled pair: `same` is True (one event) or False (different events)."""

    pair_id: str
    a: LinkArticle
    b: LinkArticle
    overall: float
    same: bool

    @property
    def cross_language(self) -> bool:
        return self.a.language != self.b.language


_TITLE_END = re.compile(r"\n|\s{2,}|(?<=[.?!。？！|])\s")


def split_title(text: str) -> tuple[str, str]:
    """SemEval texts run the headline into the body: the headline ends at the first line
    break, double space or sentence end within 250 characters."""
    text = text.strip()
    match = _TITLE_END.search(text, 10, 250)
    if match is None:
        return text[:120], text[120:]
    return text[: match.start()].strip(" |"), text[match.end() :]


def story_number(article_id: str) -> str:
    """The Media Cloud story an article id names. SemEval added machine translations of some
    articles under the original's number with a language suffix ("1484400727zh" is
    "1484400727" in Chinese): one article, one event."""
    return re.sub(r"\D", "", article_id)


def _fit_stories(rule: dict) -> set[str]:
    """The stories of the "fit" file, translations included: the held-out split leaves out
    every pair that has one of them (a translation of a fitted article is no unseen text)."""
    return {story_number(i) for row in semeval_rows(rule["fit"]) for i in row["pair_id"].split("_")}


def published(article_id: str, clock: dict) -> datetime:
    """When a SemEval article was published, read off its id: a Media Cloud story id, numbered
    as stories were collected (`clock`: labels.yaml's `semeval.story_clock`, fitted by
    bench/events_dates.py; the middle half of the dated articles within about two days)."""
    number = int(story_number(article_id))
    days = (number - clock["id"]) / 1e6 * clock["days_per_million"]
    return datetime.fromisoformat(clock["at"]).astimezone(UTC) + timedelta(days=days)


def _article(article_id: str, language: str, text: str, clock: dict) -> LinkArticle:
    title, body = split_title(text)
    return LinkArticle(
        id=article_id,
        story_id=article_id,
        published=published(article_id, clock),
        language=language,
        title=title,
        lead=lead_of(body),
        opening=lead_of(body, OPENING_CHARS),
    )


def semeval_rows(name: str) -> list[dict[str, str]]:
    """The rows of one SemEval file (labels.yaml names them), as read."""
    path = SEMEVAL / name
    if not path.is_file():
        raise SharedMissing(f"{path} is absent (the shared corpus is not on this machine)")
    csv.field_size_limit(1 << 26)
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def semeval_pairs(split: str) -> list[Pair]:
    """The labelled pairs of one split; "held_out" leaves out pairs sharing an article with
    the "fit" split, or a translation of one (`story_number`), so no article is seen on both
    sides."""
    rule = labels()["semeval"]
    rows = semeval_rows(rule["fit"] if split == "fit" else rule["held_out"])
    seen = _fit_stories(rule) if split == "held_out" else set()
    pairs = []
    for row in rows:
        id1, id2 = row["pair_id"].split("_")
        overall = float(row["Overall"])
        if rule["same_at_most"] < overall < rule["different_at_least"]:
            continue
        if story_number(id1) in seen or story_number(id2) in seen:
            continue
        pairs.append(
            Pair(
                row["pair_id"],
                _article(id1, row["lang1"], row["text1"], rule["story_clock"]),
                _article(id2, row["lang2"], row["text2"], rule["story_clock"]),
                overall,
                overall <= rule["same_at_most"],
            )
        )
    return pairs


@dataclass(frozen=True, slots=True)
class DemoArticle:
    article: LinkArticle
    event: str  # the labelled event, or the key itself for an event of one


def _page_text(path: Path) -> str:
    doc = lxml.html.parse(str(path)).getroot()
    body = doc.find(".//article")
    root = body if body is not None else doc
    return "\n".join(p.text_content().strip() for p in root.iter("p"))


def demo_articles() -> list[DemoArticle]:
    """The demo's written and example pages with their labelled events (real pages left out:
    they are not about the demo's days)."""
    manifest = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
    event_of = {key: name for name, keys in labels()["demo"].items() for key in keys}
    out = []
    for page in manifest["pages"]:
        if page["kind"] == "real":
            continue
        key = page["key"]
        text = _page_text(DEMO / page["path"])
        out.append(
            DemoArticle(
                LinkArticle(
                    id=key,
                    story_id=page.get("copy_of") or key,
                    published=datetime.fromisoformat(page["published"].replace("Z", "+00:00")),
                    language=page["lang"],
                    title=page["headline"],
                    lead=lead_after_title(page["headline"], text),
                    topics=tuple(page.get("main", ())),
                    opening=lead_after_title(page["headline"], text, OPENING_CHARS),
                ),
                event_of.get(key, key),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Stream:
    """A split's articles as a stream to cluster: `cluster` maps each article to its
    same-event component (connected components of the pairs scored <= `same_at_most` and of
    each article with its translations; an article in no such pair is a cluster of one) and
    `ambiguous` holds the pairs scored
    between the two bars, which are counted neither way.

    The assumption: two articles that SemEval never paired are different events. Its error
    runs one way (a true same-event pair counted as a false link), so precision measured on
    this stream is a lower bound; the pairs SemEval did sample were chosen as similar."""

    articles: tuple[LinkArticle, ...]
    cluster: dict[str, str]
    ambiguous: frozenset[frozenset[str]]


def semeval_stream(split: str, keep: set[str] | None = None) -> Stream:
    """Every article of a split's pairs (only those in `keep`, when given), with its
    same-event component; "held_out" leaves out articles of the "fit" file, as above."""
    rule = labels()["semeval"]
    rows = semeval_rows(rule["fit"] if split == "fit" else rule["held_out"])
    seen = _fit_stories(rule) if split == "held_out" else set()
    articles: dict[str, LinkArticle] = {}
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ambiguous: set[frozenset[str]] = set()
    for row in rows:
        id1, id2 = row["pair_id"].split("_")
        if story_number(id1) in seen or story_number(id2) in seen:
            continue
        if keep is not None and not {id1, id2} <= keep:
            continue
        for i, lang, text in ((id1, row["lang1"], row["text1"]), (id2, row["lang2"], row["text2"])):
            if i not in articles:
                articles[i] = _article(i, lang, text, rule["story_clock"])
                parent[i] = i
        overall = float(row["Overall"])
        if overall <= rule["same_at_most"]:
            parent[root(id1)] = root(id2)
        elif overall < rule["different_at_least"]:
            ambiguous.add(frozenset((id1, id2)))
    originals: dict[str, str] = {}
    for i in sorted(articles):  # an article and its translations: one event
        parent[root(i)] = root(originals.setdefault(story_number(i), i))
    ordered = tuple(articles[i] for i in sorted(articles))
    return Stream(ordered, {i: root(i) for i in articles}, frozenset(ambiguous))
