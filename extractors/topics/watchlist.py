"""The compiled watchlist: loading it, and tagging an article against it.

Owns `load_watchlist`/`parse_watchlist` and `Watchlist`, which ties the other modules
together: the files are checked (`spec`, `frames`), compiled with every country's name
(`countries`, `compile`), and each article is folded (`folding`), searched (`match`), turned
into features (`score`) and scored by the fitted logistic model into one `TopicMatch` per
topic. Overlapping spans keep the longest, so a brand around a country's name cancels it; the
outlet's `source_country` turns on the home phrases of the topic of that country; and issue
16's frame rule caps the score of a topic named inside a frame in a text without hard news,
as the development set's digest rule caps a topic that a digest of short items (three or
more lines opening with a bullet or a bold sub-headline) names in its items but not in its
headline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path

from extractors import seedfile
from extractors.records import TopicMatch
from extractors.text import repeated_title
from extractors.topics.compile import _Automaton, _compile, _CRule
from extractors.topics.countries import country_names
from extractors.topics.folding import Folded, fold
from extractors.topics.frames import (
    Frames,
    Weights,
    frames_path,
    parse_frames,
    parse_weights,
    weights_path,
)
from extractors.topics.match import _Field, _fires, _longest, _Span
from extractors.topics.score import (
    FEATURES,
    MAX_EVIDENCE,
    _Context,
    _evidence,
    _features,
    _Hit,
    digest_items,
)
from extractors.topics.spec import Topic, parse_spec

FRAMED = 0.2  # the share of a topic's matches close to a frame phrase that makes it framed:
# chosen on the train split (outlet-grouped CV: 0.5, 0.4, 0.34, 0.3, 0.25, 0.2, 0.1, 0.01 tried)
# The fitted model used when no weights file sits beside the watchlist (a watchlist built in
# code, a test's): the values bench/fit_tagger.py last wrote to seeds/watchlist.weights.yaml.
DEFAULT_WEIGHTS = Weights(
    bias=-3.3991,
    weights={
        "title": 2.5415,
        "lead": 0.7928,
        "count": 0.2736,
        "spread": 0.1263,
        "density": 0.4726,
        "share": 1.3794,
        "prominence": 0.6708,
        "top": 0.8464,
        "frame": -1.5923,
        "hard": -0.0023,
        "frame_only": -0.8615,
        "framed": -0.3113,
        "hard_near": 0.5897,
        "home": -0.4016,
        "weak_only": 0.0,
        "untitled": 0.3208,
        "textless": 0.0,
    },
    threshold=0.39,
)


def load_watchlist(
    path: str | Path, *, frames: str | Path | None = None, weights: str | Path | None = None
) -> Watchlist:
    """Read and compile the watchlist file at `path`, with the frames file and the fitted
    weights beside it (`frames.yaml`, `<stem>.weights.yaml`; or the paths given). A missing
    side file falls back to no frames / `DEFAULT_WEIGHTS`; `ConfigError` if a file is wrong."""
    frames_file = Path(frames) if frames else frames_path(path)
    weights_file = Path(weights) if weights else weights_path(path)
    side = [
        (seedfile.read_text(f, what), str(f)) if explicit or f.is_file() else None
        for f, what, explicit in (
            (frames_file, "frames file", frames),
            (weights_file, "weights file", weights),
        )
    ]
    return parse_watchlist(seedfile.read_text(path, "watchlist"), str(path), *side)


# The same texts compile to the same watchlist: a command that checks the files before its
# run and then runs holds one compiled copy (~7 MB), not two. A Watchlist is not changed
# after it is built, so sharing it is safe.
@lru_cache(maxsize=4)
def parse_watchlist(
    text: str,
    path: str = "<watchlist>",
    frames: tuple[str, str] | None = None,
    weights: tuple[str, str] | None = None,
) -> Watchlist:
    """Validate and compile watchlist YAML; `path` only names the source in errors. `frames`
    and `weights` are (text, path) of the side files, when there are any."""
    topics, places = parse_spec(text, path)
    return Watchlist(text, path, topics, places, frames=frames, weights=weights)


_QUALIFIER = 12  # characters between a home phrase and a country name that qualifies it


def _foreign(keys: dict[str, tuple[str, bool]]) -> bool:
    """A span that is another country's name (CLDR or `places`) and no topic's."""
    return all(k[:1] == "=" or k == "" for k in keys)


def _qualified(written: str, start: int, end: int, foreign: list[_Span]) -> bool:
    """A home phrase (written with a NUL first) with another country's name right next to
    it: "the government of Germany", «уряд Німеччини» is that country's institution."""
    return written.startswith("\0") and any(
        s - _QUALIFIER <= end and start <= e + _QUALIFIER for s, e in foreign
    )


def _capital(original: str, folded: Folded) -> Callable[[int], bool]:
    """Whether the original character at a folded offset is upper case."""
    return lambda i: original[folded.original(i, i + 1)[0]].isupper()


def _in_frame(parts: dict[str, float]) -> bool:
    """At least `FRAMED` of the topic's matches sit close to a frame phrase (sport,
    entertainment, company, markets, culture) and the text has no hard-news phrase at all: the
    country is a label of the story, not its subject, whatever the model's probability (issue
    16's rule). Hard news anywhere lifts it: requiring it close to the name was the same on
    the train split and turned a market story on Venezuelan supply, with sanctions two
    paragraphs from the name, into a mention (tests/test_articles.py, en-08). Nor does it
    cap a topic whose outlet's home phrases are in the headline: an Iranian outlet's
    gold-coin and dollar rates, or its government spokesman on women in stadiums, are its
    country's economy and politics inside a markets or sport frame, not a label of the
    story (an advert pricing in tomans, the currency in its text only, stays capped)."""
    return parts["framed"] >= FRAMED and parts["hard"] == 0 and parts["home_title"] == 0


class Watchlist:
    """A compiled watchlist; build it with `load_watchlist` or `parse_watchlist`.

    It pickles as its source texts and recompiles on arrival, so a process pool can receive it.
    """

    def __init__(
        self,
        text: str,
        path: str,
        topics: dict[str, Topic],
        places: dict[str, tuple[str, ...]] | None = None,
        *,
        frames: tuple[str, str] | None = None,
        weights: tuple[str, str] | None = None,
    ) -> None:
        self._source = (text, path, frames, weights)
        self._topics = topics
        self.places: dict[str, tuple[str, ...]] = places or {}
        self.frames = parse_frames(*frames) if frames else Frames()
        self.weights = parse_weights(*weights, FEATURES) if weights else DEFAULT_WEIGHTS
        self._home = {t.home.country: t.id for t in topics.values() if t.home}
        # First 12 hex chars of the sha256 of the file texts (watchlist, frames, weights):
        # stored with every match, so a changed watchlist shows in the warehouse.
        digest = hashlib.sha256(text.encode("utf-8"))
        for side in (frames, weights):
            digest.update(b"\0" + (side[0].encode("utf-8") if side else b""))
        self.version: str = digest.hexdigest()[:12]
        self.topics: tuple[str, ...] = tuple(topics)  # ids in file order

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return parse_watchlist, self._source

    @cached_property
    def _automaton(self) -> _Automaton:
        # Compiled on the first `tag`, not when loaded (~8 MB and ~0.2 s): a process that
        # only names topics or stores the version, like an ingest whose workers do the
        # tagging, never builds it. Every error in the files is raised when they are parsed.
        return _compile(self._topics.values(), self.places, self.frames, country_names())

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

    def tag(
        self,
        title: str,
        text: str,
        language: str | None = None,
        source_country: str | None = None,
    ) -> list[TopicMatch]:
        """The topics `title` and `text` match, by score (high first), then topic id.

        `language` is accepted as a hint and not used: every alias is tried on every text,
        since detection is often wrong and scripts keep the languages apart anyway.
        `source_country` (the source's `country` in feeds.yaml) turns on the `home` phrases
        of the topic whose home country it is: an outlet's own politics, unnamed."""
        return [match for match, _ in self._analyse(title, text, source_country)]

    def explain(
        self,
        title: str,
        text: str,
        language: str | None = None,
        source_country: str | None = None,
    ) -> dict[str, dict[str, float]]:
        """For each matched topic, in `tag` order: the model's features (`FEATURES`, each
        0..1, weighed by `self.weights`), the match counts behind them, and the score."""
        return {m.topic: parts for m, parts in self._analyse(title, text, source_country)}

    def _analyse(
        self, title: str, text: str, source_country: str | None = None
    ) -> list[tuple[TopicMatch, dict[str, float]]]:
        originals = {"title": title, "text": text}
        # the text is read past a repeat of the title: one headline is not also its lead
        skip = repeated_title(title, text)
        own = (source_country or "").upper()
        hits, ctx = self._hits({**originals, "text": text[skip:]}, self._home.get(own), own)
        results = []
        for topic, topic_hits in hits.items():
            parts = _features(topic, topic_hits, ctx)
            score = round(self.weights.probability(parts), 4)
            if _in_frame(parts) or parts["digest"]:  # a mention whatever the model says
                score = min(score, round(self.weights.threshold * 0.99, 4))
            parts["in_frame"] = float(_in_frame(parts))
            parts["score"] = score
            relevance = "about" if score >= self.weights.threshold else "mention"
            evidence = tuple(
                _evidence(h, originals[h.field], skip if h.field == "text" else 0)
                for h in topic_hits[:MAX_EVIDENCE]
            )
            results.append((TopicMatch(topic, relevance, score, evidence), parts))
        results.sort(key=lambda r: (-r[0].score, r[0].topic))
        return results

    def _hits(
        self, originals: dict[str, str], home: str | None, own: str = ""
    ) -> tuple[dict[str, list[_Hit]], _Context]:
        """Each topic's kept matches in reading order (title first), and the article's context:
        other countries named, frame and hard-news phrases. Overlapping spans keep the
        longest: a brand phrase around a topic's name (`Kyiv Post`) cancels it."""
        folded = {name: fold(value) for name, value in originals.items() if value}
        fields = {
            name: _Field(self._automaton, f.text, _capital(originals[name], f))
            for name, f in folded.items()
        }
        fired = self._fired_rules(list(fields.values()))
        hits: dict[str, list[_Hit]] = {}
        others: dict[str, float] = {}
        frames: dict[str, list[int]] = {}  # field → where frame phrases start (original)
        hard: dict[str, list[int]] = {}
        for name, found in fields.items():
            back = folded[name].original
            # a frame phrase inside one of the outlet's home phrases is its state's economy
            # (an Iranian outlet's «قیمت سکه», the coin's price in rials), not a frame
            own_spans = found.home.get(home, ()) if home else ()
            frames[name] = sorted(
                back(s, e)[0]
                for ss in found.frames.values()
                for s, e in ss
                if not any(hs <= s and e <= he for hs, he, _ in own_spans)
            )
            hard[name] = sorted(back(s, e)[0] for s, e in found.hard)
            chosen = _longest(self._candidates(found, fired, home, own), len(found.folded))
            foreign = [(s, e) for s, e, keys in chosen if _foreign(keys)]
            for start, end, keys in chosen:
                topics = {k: v for k, v in keys.items() if k[:1] not in "#=" and k}
                if home in topics and _qualified(topics[home][0], start, end, foreign):
                    del topics[home]
                    if not topics:
                        continue
                if not topics:
                    code = next((k[1:] for k in keys if k[:1] == "="), None)
                    key = code or (keys[""][0].casefold() if "" in keys else None)
                    if key and "#" not in keys:
                        others[key] = others.get(key, 0.0) + 1.0
                    continue
                if "#" in keys:  # a brand's name: not the country
                    continue
                o_start, o_end = folded[name].original(start, end)
                for topic, (written, weak) in topics.items():
                    is_home = written.startswith("\0")
                    hit = _Hit(name, o_start, o_end, written.lstrip("\0"), weak, is_home)
                    hits.setdefault(topic, []).append(hit)
        ctx = _Context(
            topics={t: sum(h.weight for h in hs) for t, hs in hits.items()},
            others=others,
            frames=frames,
            hard=hard,
            has_title=bool(originals["title"].strip()),
            has_text=bool(originals["text"].strip()),
            text_len=len(originals["text"]),
            digest_items=digest_items(originals["text"]),
        )
        return hits, ctx

    def _candidates(
        self, found: _Field, fired: list[tuple[str, _CRule]], home: str | None, own: str = ""
    ) -> dict[_Span, dict[str, tuple[str, bool]]]:
        """Every span found in one field, with what it may be: `{topic: (written, weak)}`, ""
        for a place, `=CODE` for a country name, `#` for a brand. A home
        phrase's written form starts with NUL."""
        candidates: dict[_Span, dict[str, tuple[str, bool]]] = {}
        for topic, spans in found.aliases.items():
            for s, e, written, weak in spans:
                here = candidates.setdefault((s, e), {})
                if topic not in here or (here[topic][1] and not weak):  # strong wins
                    here[topic] = (written, weak)
        if home:
            for s, e, written in found.home.get(home, ()):
                candidates.setdefault((s, e), {}).setdefault(home, ("\0" + written, False))
        for topic, rule in fired:
            for term in rule.match:
                for span in found.term_spans(topic, term):
                    candidates.setdefault(span, {}).setdefault(topic, (term.written, False))
        # a topic's own country is counted by its aliases; the outlet's own country is the
        # viewpoint of its news, not a rival subject (中国 in Chinese outlets, Россия in
        # Russian ones), whether `places` or CLDR's names find it
        own_spans = {(s, e) for s, e, code in found.countries if code == own}
        for s, e, written in found.places:
            if (s, e) not in own_spans:
                candidates.setdefault((s, e), {}).setdefault("", (written, False))
        for s, e, code in found.countries:
            if code not in self._home and code != own:
                candidates.setdefault((s, e), {}).setdefault("=" + code, (code, False))
        for span in found.brands:  # a country's name inside a brand is not the country
            candidates.setdefault(span, {}).setdefault("#", ("", False))
        return candidates

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
