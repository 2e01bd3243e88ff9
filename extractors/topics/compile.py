"""Compiling a watchlist once: every phrase of every topic into one Aho-Corasick automaton.

Owns the compiled form: each folded phrase gets an id and says, per topic, what it means there
(an alias, a weak alias, an exclude, a rule term, a place); rules and `NEAR` terms are kept as
phrase ids. Tagging an article then costs one pass over its folded text whatever the number of
aliases, and rules are settled on the few phrases found (`extractors.topics.match`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick_rs

from extractors.topics.folding import _is_word, fold
from extractors.topics.frames import Frames
from extractors.topics.spec import Near, Term, Topic, TopicRef

_ALIAS, _EXCLUDE, _TERM, _PLACE, _WEAK, _HOME, _BRAND, _FRAME, _HARD, _COUNTRY = range(10)


@dataclass(frozen=True, slots=True)
class _Phrase:
    """One folded phrase as the automaton finds it."""

    key: str
    stem: bool  # `Venezuel*`: extend the match over the rest of the word
    left: bool  # needs a word boundary before it (its first char is a spaced-script letter)
    right: bool  # needs a word boundary after it


@dataclass(frozen=True, slots=True)
class _Use:
    """What a phrase means to one topic: an alias, an exclude, a rule term, or a place."""

    topic: str  # the topic id; a frame's name; a country's code; "" for places, brands, hard
    role: int
    written: str


@dataclass(frozen=True, slots=True)
class _CPhrase:
    """A phrase term of a rule, by its phrase id."""

    pid: int
    written: str


_CTerm = _CPhrase | Near[int] | TopicRef


@dataclass(frozen=True, slots=True)
class _CRule:
    """A `Rule` with its terms compiled."""

    match: tuple[_CPhrase | Near[int], ...]
    all: tuple[tuple[_CTerm, ...], ...]
    any: tuple[_CTerm, ...]
    none: tuple[_CTerm, ...]


@dataclass(frozen=True, slots=True)
class _CTopic:
    """What a topic needs beyond its phrases: its NEAR excludes and its rules, compiled."""

    exclude_near: tuple[Near[int], ...]
    rules: tuple[_CRule, ...]
    cased: frozenset[str] = frozenset()  # folded names that count only where capitalised


@dataclass(frozen=True, slots=True)
class _Automaton:
    """Every folded phrase of every topic, language and role in one Aho-Corasick automaton.
    `keys[i]` are the phrase ids of automaton key `i` (one folded key may be a whole word in
    one place and a stem in another); `uses[p]` say what phrase `p` means, for each topic."""

    search: ahocorasick_rs.AhoCorasick
    keys: tuple[tuple[int, ...], ...]
    phrases: tuple[_Phrase, ...]
    uses: tuple[tuple[_Use, ...], ...]
    topics: dict[str, _CTopic]


class _Builder:
    def __init__(self) -> None:
        self.ids: dict[tuple[str, bool], int] = {}
        self.phrases: list[_Phrase] = []
        self.uses: list[dict[tuple[str, int], _Use]] = []

    def phrase(self, written: str, topic: str, role: int) -> int:
        stem = written.endswith("*")
        key = fold(written.rstrip("*")).text.strip()
        pid = self.ids.get((key, stem))
        if pid is None:
            pid = self.ids[(key, stem)] = len(self.phrases)
            left, right = _is_word(key[0]), _is_word(key[-1]) and not stem
            self.phrases.append(_Phrase(key, stem, left, right))
            self.uses.append({})
        # The same phrase twice in a topic and role (`Kiev` in en and es): keep the first.
        self.uses[pid].setdefault((topic, role), _Use(topic, role, written))
        return pid

    def near(self, near: Near[str], topic: str, role: int) -> Near[int]:
        left = tuple(self.phrase(p, topic, role) for p in near.left)
        right = tuple(self.phrase(p, topic, role) for p in near.right)
        return Near(left, right, near.words, near.written)

    def term(self, term: Term, topic: str) -> _CTerm:
        return term if isinstance(term, TopicRef) else self.match_term(term, topic)

    def match_term(self, term: str | Near[str], topic: str) -> _CPhrase | Near[int]:
        if isinstance(term, Near):
            return self.near(term, topic, _TERM)
        return _CPhrase(self.phrase(term, topic, _TERM), term)


def _compile(
    topics: Iterable[Topic],
    places: dict[str, tuple[str, ...]],
    frames: Frames | None = None,
    countries: dict[str, tuple[str, ...]] | None = None,
) -> _Automaton:
    b = _Builder()
    compiled = {}
    for topic in topics:
        if topic.home:
            for phrase in (p for ps in topic.home.phrases.values() for p in ps):
                b.phrase(phrase, topic.id, _HOME)
        for phrase in (p for ps in topic.aliases.values() for p in ps):
            b.phrase(phrase, topic.id, _ALIAS)
        for phrase in (p for ps in topic.weak.values() for p in ps):
            b.phrase(phrase, topic.id, _WEAK)
        exclude_near = []
        for term in (t for ts in topic.exclude.values() for t in ts):
            if isinstance(term, Near):
                # NEAR sides are looked up raw (`_TERM` uses are not cancelled by excludes
                # before the exclude spans are known: see `_Field`).
                exclude_near.append(b.near(term, topic.id, _TERM))
            else:
                b.phrase(term, topic.id, _EXCLUDE)
        rules = tuple(
            _CRule(
                match=tuple(b.match_term(t, topic.id) for t in rule.match),
                all=tuple(tuple(b.term(t, topic.id) for t in group) for group in rule.all),
                any=tuple(b.term(t, topic.id) for t in rule.any),
                none=tuple(b.term(t, topic.id) for t in rule.none),
            )
            for rule in topic.rules
        )
        cased = frozenset(fold(p).text.strip() for ps in topic.cased.values() for p in ps)
        compiled[topic.id] = _CTopic(tuple(exclude_near), rules, cased)
    for phrase in (p for ps in places.values() for p in ps):
        b.phrase(phrase, "", _PLACE)
    frames = frames or Frames()
    for name, by_language in frames.frames.items():
        for phrase in (p for ps in by_language.values() for p in ps):
            b.phrase(phrase, name, _FRAME)
    for phrase in (p for ps in frames.brands.values() for p in ps):
        b.phrase(phrase, "", _BRAND)
    for phrase in (p for ps in frames.hard_news.values() for p in ps):
        b.phrase(phrase, "", _HARD)
    for code, names in (countries or {}).items():
        for phrase in names:
            b.phrase(phrase, code, _COUNTRY)
    by_key: dict[str, list[int]] = {}
    for pid, compiled_phrase in enumerate(b.phrases):
        by_key.setdefault(compiled_phrase.key, []).append(pid)
    # A contiguous NFA, not a DFA: with ~7,000 phrases in six scripts the DFA took 67 MB in
    # every process that loads the watchlist (the ingest command and each extraction worker),
    # this 2 MB, and tagged the seeds' articles at the same speed (5,600 a second either way).
    search = ahocorasick_rs.AhoCorasick(
        list(by_key), implementation=ahocorasick_rs.Implementation.ContiguousNFA
    )
    return _Automaton(
        search,
        tuple(tuple(pids) for pids in by_key.values()),
        tuple(b.phrases),
        tuple(tuple(u.values()) for u in b.uses),
        compiled,
    )
