"""Finding a compiled watchlist's phrases in one folded field, and settling excludes and rules.

Owns the spans: the automaton's hits checked against word boundaries (phrases match whole
words in spaced scripts, anywhere in Han, kana and Hangul; a stem runs to the end of its
word), each topic's excludes applied (a `NEAR` exclude cancels only its two phrases), rule
conditions checked, and overlapping spans reduced to the longest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from extractors.topics.compile import (
    _ALIAS,
    _BRAND,
    _COUNTRY,
    _EXCLUDE,
    _FRAME,
    _HARD,
    _HOME,
    _PLACE,
    _TERM,
    _WEAK,
    _Automaton,
    _CPhrase,
    _CRule,
    _CTerm,
    _Phrase,
    _Use,
)
from extractors.topics.folding import _WORD_TAIL, _is_word
from extractors.topics.spec import Near, TopicRef

_Span = tuple[int, int]
# Words for NEAR/n: a run of letters or digits of a spaced script, or one Han/kana/Hangul char.
_TOKEN = re.compile(
    r"[^\W_\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0010ffff]+"
    r"|[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0010ffff]"
)


def _accept(folded: str, start: int, end: int, phrase: _Phrase) -> int | None:
    """The end of the match if `phrase` found at `start:end` respects word boundaries."""
    if phrase.left and start > 0 and _is_word(folded[start - 1]):
        return None
    if phrase.stem:
        match = _WORD_TAIL.match(folded, end)
        return match.end() if match else end
    if phrase.right and end < len(folded) and _is_word(folded[end]):
        return None
    return end


def _overlaps(span: _Span, others: list[_Span]) -> bool:
    return any(s < span[1] and span[0] < e for s, e in others)


class _Field:
    """What the automaton found in one folded field (title or text), sorted by topic: alias
    spans, rule-term spans and place spans, with each topic's excludes already applied."""

    def __init__(self, automaton: _Automaton, folded: str, capital: Callable[[int], bool]) -> None:
        """`capital(i)`: whether the original character at folded offset `i` is upper case
        (for a topic's `cased` names)."""
        self.folded = folded
        self.raw: dict[int, list[_Span]] = {}
        phrases = automaton.phrases
        # Overlapping search: a key that fails its boundary check must not hide a shorter one.
        for index, start, end in automaton.search.find_matches_as_indexes(folded, overlapping=True):
            for pid in automaton.keys[index]:
                stop = _accept(folded, start, end, phrases[pid])
                if stop is not None:
                    self.raw.setdefault(pid, []).append((start, stop))
        self.aliases: dict[str, list[tuple[int, int, str, bool]]] = {}  # (.., weak)
        self.terms: dict[str, dict[int, list[_Span]]] = {}
        self.places: list[tuple[int, int, str]] = []
        self.home: dict[str, list[tuple[int, int, str]]] = {}
        self.countries: list[tuple[int, int, str]] = []  # (.., country code)
        self.frames: dict[str, list[_Span]] = {}
        self.brands: list[_Span] = []
        self.hard: list[_Span] = []
        excluded: dict[str, list[_Span]] = {}
        for pid, spans in self.raw.items():
            for use in automaton.uses[pid]:
                if use.role in (_ALIAS, _WEAK):
                    found = self.aliases.setdefault(use.topic, [])
                    weak = use.role == _WEAK
                    found.extend((s, e, use.written, weak) for s, e in spans)
                elif use.role == _TERM:
                    self.terms.setdefault(use.topic, {})[pid] = spans
                elif use.role == _EXCLUDE:
                    excluded.setdefault(use.topic, []).extend(spans)
                elif use.role == _PLACE:
                    self.places.extend((s, e, use.written) for s, e in spans)
                else:
                    self._other(use.role, use, spans)
        for topic, compiled in automaton.topics.items():
            for near in compiled.exclude_near:
                # A NEAR exclude cancels what overlaps its two phrases, not the words between:
                # in "Atlanta, Georgia, near Tbilisi" only the state's Georgia goes.
                for a, b in self.near_pairs(near, self.raw):
                    excluded.setdefault(topic, []).extend((a, b))
        self._uncapitalised(automaton, capital, excluded)
        if self.brands:  # a brand name cancels the topic matches inside it, for every topic
            for topic in {*self.aliases, *self.terms}:
                excluded.setdefault(topic, []).extend(self.brands)
            for topic, homes in self.home.items():
                self.home[topic] = [h for h in homes if not _overlaps(h[:2], self.brands)]
        for topic, spans in excluded.items():
            self._exclude(topic, spans)

    def _uncapitalised(
        self,
        automaton: _Automaton,
        capital: Callable[[int], bool],
        excluded: dict[str, list[_Span]],
    ) -> None:
        """A topic's `cased` name written in lower case (Spanish «irán», "they will go") is
        another word: its spans go with the topic's excludes."""
        for topic, compiled in automaton.topics.items():
            if not compiled.cased:
                continue
            spans = [a[:2] for a in self.aliases.get(topic, ())]
            spans += [s for ss in self.terms.get(topic, {}).values() for s in ss]
            lower = [
                (s, e) for s, e in spans if self.folded[s:e] in compiled.cased and not capital(s)
            ]
            if lower:
                excluded.setdefault(topic, []).extend(lower)

    def _other(self, role: int, use: _Use, spans: list[_Span]) -> None:
        """Home phrases, country names, frames, brands and hard-news words."""
        if role == _HOME:
            self.home.setdefault(use.topic, []).extend((s, e, use.written) for s, e in spans)
        elif role == _COUNTRY:
            self.countries.extend((s, e, use.topic) for s, e in spans)
        elif role == _FRAME:
            self.frames.setdefault(use.topic, []).extend(spans)
        elif role == _BRAND:
            self.brands.extend(spans)
        elif role == _HARD:
            self.hard.extend(spans)

    def _exclude(self, topic: str, spans: list[_Span]) -> None:
        if topic in self.aliases:
            kept = [a for a in self.aliases[topic] if not _overlaps(a[:2], spans)]
            self.aliases[topic] = kept
        for pid, found in self.terms.get(topic, {}).items():
            self.terms[topic][pid] = [t for t in found if not _overlaps(t, spans)]

    def near(self, near: Near[int], found: dict[int, list[_Span]]) -> list[_Span]:
        """The spans (from the first phrase's start to the other's end) where `near` holds."""
        return [(first[0], second[1]) for first, second in self.near_pairs(near, found)]

    def near_pairs(
        self, near: Near[int], found: dict[int, list[_Span]]
    ) -> list[tuple[_Span, _Span]]:
        """The (first, second) phrase spans, in text order, that `near` brings together."""
        lefts = [s for pid in near.left for s in found.get(pid, ())]
        rights = [s for pid in near.right for s in found.get(pid, ())] if lefts else []
        pairs = []
        for a in lefts:
            for b in rights:
                first, second = (a, b) if a[0] <= b[0] else (b, a)
                if first[1] > second[0]:  # overlapping: the same words, not two phrases
                    continue
                gap = self.folded[first[1] : second[0]]
                if len(gap) <= 40 * (near.words + 1) and len(_TOKEN.findall(gap)) <= near.words:
                    pairs.append((first, second))
        return pairs

    def term_spans(self, topic: str, term: _CPhrase | Near[int]) -> list[_Span]:
        found = self.terms.get(topic, {})
        if isinstance(term, _CPhrase):
            return found.get(term.pid, [])
        return self.near(term, found)

    def has(self, topic: str, term: _CTerm) -> bool:
        if isinstance(term, TopicRef):
            return bool(self.aliases.get(term.topic))
        return bool(self.term_spans(topic, term))


def _fires(rule: _CRule, topic: str, fields: list[_Field]) -> bool:
    def found(term: _CTerm) -> bool:
        return any(f.has(topic, term) for f in fields)

    return (
        all(any(found(t) for t in group) for group in rule.all)
        and (not rule.any or any(found(t) for t in rule.any))
        and not any(found(t) for t in rule.none)
    )


def _longest(
    spans: dict[_Span, dict[str, tuple[str, bool]]], size: int
) -> list[tuple[int, int, dict[str, tuple[str, bool]]]]:
    """Of overlapping spans keep the longest (then the first); a span shared by several topics
    counts for each of them."""
    taken = bytearray(size)
    chosen = []
    for (start, end), topics in sorted(
        spans.items(), key=lambda sp: (sp[0][0] - sp[0][1], sp[0][0])
    ):
        if taken.find(1, start, end) < 0:
            taken[start:end] = b"\x01" * (end - start)
            chosen.append((start, end, topics))
    return sorted(chosen, key=lambda sp: sp[0])
