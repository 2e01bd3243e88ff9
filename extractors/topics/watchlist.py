"""The compiled watchlist: loading it, and tagging an article against it.

Owns `load_watchlist`/`parse_watchlist` and `Watchlist`, which ties the other modules
together: the file is checked (`spec`), compiled (`compile`), and each article is folded
(`folding`), searched (`match`) and scored (`score`) into one `TopicMatch` per topic.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from extractors import seedfile
from extractors.records import TopicMatch
from extractors.topics.compile import _compile, _CRule
from extractors.topics.folding import fold
from extractors.topics.match import _Field, _fires, _longest, _Span
from extractors.topics.score import (
    ABOUT_THRESHOLD,
    MAX_EVIDENCE,
    _evidence,
    _Hit,
    _parts,
    _score,
)
from extractors.topics.spec import Topic, parse_spec


def load_watchlist(path: str | Path) -> Watchlist:
    """Read and compile the watchlist file at `path`; `ConfigError` if it is missing or wrong."""
    return parse_watchlist(seedfile.read_text(path, "watchlist"), str(path))


def parse_watchlist(text: str, path: str = "<watchlist>") -> Watchlist:
    """Validate and compile watchlist YAML; `path` only names the source in errors."""
    topics, places = parse_spec(text, path)
    return Watchlist(text, path, topics, places)


class Watchlist:
    """A compiled watchlist; build it with `load_watchlist` or `parse_watchlist`.

    It pickles as its source text and recompiles on arrival, so a process pool can receive it.
    """

    def __init__(
        self,
        text: str,
        path: str,
        topics: dict[str, Topic],
        places: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._source = (text, path)
        self._topics = topics
        self.places: dict[str, tuple[str, ...]] = places or {}
        self._automaton = _compile(topics.values(), self.places)
        # First 12 hex chars of the sha256 of the file text: stored with every match, so a
        # changed watchlist shows in the warehouse.
        self.version: str = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        self.topics: tuple[str, ...] = tuple(topics)  # ids in file order

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return parse_watchlist, self._source

    def __repr__(self) -> str:
        return (
            f"Watchlist(path={self._source[1]!r}, version={self.version!r}, topics={self.topics})"
        )

    def name(self, topic: str) -> str:
        """The display name of a topic id (KeyError for an unknown id)."""
        return self._topics[topic].name

    def topic(self, topic: str) -> Topic:
        """The topic as written in the file (KeyError for an unknown id)."""
        return self._topics[topic]

    def tag(self, title: str, text: str, language: str | None = None) -> list[TopicMatch]:
        """The topics `title` and `text` match, by score (high first), then topic id.

        `language` is accepted as a hint and not used: every alias is tried on every text,
        since detection is often wrong and scripts keep the languages apart anyway."""
        return [match for match, _ in self._analyse(title, text)]

    def explain(
        self, title: str, text: str, language: str | None = None
    ) -> dict[str, dict[str, float]]:
        """For each matched topic, in `tag` order: the score parts (title, lead, count, spread,
        share; each 0..1 and weighed by `WEIGHTS`), the match counts behind them, the score."""
        return {match.topic: parts for match, parts in self._analyse(title, text)}

    def _analyse(self, title: str, text: str) -> list[tuple[TopicMatch, dict[str, float]]]:
        originals = {"title": title, "text": text}
        hits, places = self._hits(originals)
        all_hits = sum(h.weight for hs in hits.values() for h in hs) + places
        has_title, has_text = bool(title.strip()), bool(text.strip())
        results = []
        for topic, topic_hits in hits.items():
            parts = _parts(topic_hits, len(text), all_hits)
            parts["score"] = score = _score(parts, has_title, has_text)
            relevance = "about" if score >= ABOUT_THRESHOLD else "mention"
            evidence = tuple(_evidence(h, originals[h.field]) for h in topic_hits[:MAX_EVIDENCE])
            results.append((TopicMatch(topic, relevance, score, evidence), parts))
        results.sort(key=lambda r: (-r[0].score, r[0].topic))
        return results

    def _hits(self, originals: dict[str, str]) -> tuple[dict[str, list[_Hit]], int]:
        """Each topic's kept matches in reading order (title first), and the count of place
        mentions that are no topic's."""
        folded = {name: fold(value) for name, value in originals.items() if value}
        fields = {name: _Field(self._automaton, f.text) for name, f in folded.items()}
        fired = self._fired_rules(list(fields.values()))
        hits: dict[str, list[_Hit]] = {}
        places = 0
        for name, found in fields.items():
            candidates: dict[_Span, dict[str, tuple[str, bool]]] = {}
            for topic, spans in found.aliases.items():
                for s, e, written, weak in spans:
                    here = candidates.setdefault((s, e), {})
                    if topic not in here or (here[topic][1] and not weak):  # strong wins
                        here[topic] = (written, weak)
            for topic, rule in fired:
                for term in rule.match:
                    for span in found.term_spans(topic, term):
                        candidates.setdefault(span, {}).setdefault(topic, (term.written, False))
            for s, e, written in found.places:
                candidates.setdefault((s, e), {}).setdefault("", (written, False))
            for start, end, topics in _longest(candidates, len(found.folded)):
                if "" in topics:  # a place, unless a topic has the same span
                    places += len(topics) == 1
                    topics.pop("")
                o_start, o_end = folded[name].original(start, end)
                for topic, (written, weak) in topics.items():
                    hits.setdefault(topic, []).append(_Hit(name, o_start, o_end, written, weak))
        return hits, places

    def _fired_rules(self, fields: list[_Field]) -> list[tuple[str, _CRule]]:
        """The rules whose match terms are found and whose conditions hold."""
        fired = []
        for topic, compiled in self._automaton.topics.items():
            for rule in compiled.rules:
                if any(f.term_spans(topic, t) for t in rule.match for f in fields) and _fires(
                    rule, topic, fields
                ):
                    fired.append((topic, rule))
        return fired
