"""The watchlist: its file format, compiling it once, and tagging articles against it.

Owns `watchlist.yaml` (topics with aliases and weak aliases per language, exclude phrases,
boolean rules with proximity, and the non-topic `places`) and its validation, where every
error names the file, the line and the topic. Loading compiles every phrase of every topic
and language into one Aho-Corasick automaton, so tagging an article costs one pass over its
folded text whatever the number of aliases; rules and `NEAR/n` are then settled on the few
phrases found. Tagging returns one `TopicMatch` per matched topic: a 0..1 score, `about`
(score >= 0.5) or `mention`, and the evidence spans behind it, with offsets into the
original title and text.
`Watchlist.explain` gives the parts each score is made of.

Every phrase is tried on every text: language detection is wrong often enough, and scripts keep
languages apart anyway. Matching happens on a folded copy of the text (lower case; accents
dropped in Latin, Greek and Cyrillic: é→e, ё→е, й→и; Arabic letter variants folded to their
Persian form: ي→ی, ك→ک; Arabic diacritics, tatweel and invisible format characters dropped;
ZWNJ and every whitespace run read as one space). A small offset map takes matches back to the
original string. Phrases match whole words in scripts that put spaces between words; Han, kana
and Hangul phrases match anywhere, as those scripts glue words (and particles) together.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick_rs
import yaml

from extractors import seedfile
from extractors.errors import ConfigError
from extractors.records import Evidence, TopicMatch

ABOUT_THRESHOLD = 0.5
LEAD_CHARS = 400  # the part of the text that a reader (and an editor) treats as the lead
MAX_EVIDENCE = 20
SNIPPET_CHARS = 60
# How much each part weighs in the score. Parts that cannot be measured (no title, no text) are
# left out and the rest renormalised, so a title-only feed entry or an untitled Telegram post
# can still be `about` a topic.
WEIGHTS = {"title": 0.35, "lead": 0.20, "count": 0.20, "spread": 0.10, "share": 0.15}
_TEXT_PARTS = ("lead", "count", "spread")
_MAX_CHUNKS = 5  # spread: the text is cut in up to 5 chunks of at least LEAD_CHARS each
# A weak alias (a demonym or adjective: "Ukrainian", «українська») counts half a match, and a
# topic found only through weak aliases, none in the title, has its score scaled by WEAK_ONLY:
# "a Ukrainian playgroup in Melbourne" names Ukraine without being about it.
WEAK = 0.5
WEAK_ONLY = 0.6

_TOPIC_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_LANGUAGE = re.compile(r"[a-z]{2}\Z")
_MIN_STEM = 3  # a shorter stem matches half the dictionary


# --- folding: one char in, one char out (or a deletion marker), so offsets stay mappable -------

_DELETED = "\x00"
_COMBINING = {*range(0x0300, 0x0370), *range(0x0483, 0x048A)}
_ARABIC_MARKS = {*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)}
_ARABIC_MARKS.add(0x0640)  # tatweel: stretches a word for looks, never part of its spelling
# Letters whose variants are one letter to a Persian reader, and characters typed
# interchangeably (curly and straight apostrophes, the many dashes).
_EXTRA_FOLDS = {
    "ي": "ی",
    "ى": "ی",
    "ك": "ک",
    "ة": "ه",
    "ە": "ه",
    "ٱ": "ا",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ħ": "h",
    "ı": "i",
    "ς": "σ",
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    **{dash: "-" for dash in "‐‑‒–—―"},
}


def _is_cjk(cp: int) -> bool:
    """Han, kana and Hangul: scripts where a name sits inside a longer run of letters."""
    return (
        0x2E80 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or cp >= 0x20000
    )


def _strip_accent(c: str) -> str:
    """`é` → `e`, `й` → `и`, `آ` → `ا`; only for Latin, Greek, Cyrillic and Arabic, because
    stripping kana or Hangul this way would merge different syllables."""
    cp = ord(c)
    if not (cp < 0x0700 or 0x1E00 <= cp <= 0x1FFF):
        return c
    decomposed = unicodedata.normalize("NFD", c)
    if len(decomposed) > 1 and all(unicodedata.combining(m) for m in decomposed[1:]):
        return decomposed[0]
    return c


def _fold_char(c: str) -> str:
    cp = ord(c)
    if c.isspace() or c == "\u200c":  # ZWNJ splits Persian words where Latin would put a space
        return " "
    if 0xD800 <= cp <= 0xDFFF:  # a lone surrogate (badly decoded input) cannot go to UTF-8
        return " "
    if cp in _COMBINING or cp in _ARABIC_MARKS or unicodedata.category(c) == "Cf":
        return _DELETED
    lower = c.lower()
    if len(lower) != 1:  # `İ` lowers to two characters
        lower = unicodedata.normalize("NFD", c)[0].lower()
    if 0x0660 <= cp <= 0x0669 or 0x06F0 <= cp <= 0x06F9:
        return str(unicodedata.digit(c))
    base = _strip_accent(lower)
    return _EXTRA_FOLDS.get(base, base)


def _build_fold_table() -> str:
    # A str indexed by code point is the fastest table `str.translate` takes; characters past
    # the BMP raise IndexError, which `translate` reads as "leave unchanged".
    return "".join(_fold_char(chr(cp)) for cp in range(0x10000))


_FOLD_TABLE = _build_fold_table()
# The characters that still need folding once `str.lower` has run. Most text has few of them
# (accents, `’`, newlines), and translating just those runs is 2-3 times faster than
# `str.translate` over the whole text, which allocates a string per non-Latin-1 character.
_UNFOLDED = re.compile(
    "["
    + re.escape(
        "".join(c for c in map(chr, range(0x10000)) if c.lower() == c and _FOLD_TABLE[ord(c)] != c)
    )
    + "]+"
)
# A deleted run or spaces after a space (a space survives once); the second is the common case
# and has a fast form for text without deletions.
_SQUEEZE = re.compile(r"(?<= )[ \x00]+|\x00+")
_EXTRA_SPACES = re.compile(r" ( +)")  # a literal first char: the fast scan
_WORD_TAIL = re.compile(r"[^\W_\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0010ffff]*")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and the map back: `breaks[i]` is a folded position where a deleted run
    ended, `shifts[i]` the number of characters deleted up to there."""

    text: str
    breaks: tuple[int, ...] = ()
    shifts: tuple[int, ...] = ()

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original string that the folded span `start:end` came from."""
        return self._at(start), self._at(end - 1) + 1

    def _at(self, pos: int) -> int:
        i = bisect_right(self.breaks, pos)
        return pos + (self.shifts[i - 1] if i else 0)


def fold(text: str) -> Folded:
    """Fold `text` for matching (see the module docstring) and keep the way back."""
    marked = _mark(text)
    squeeze = _SQUEEZE if _DELETED in marked else _EXTRA_SPACES
    pieces: list[str] = []
    breaks: list[int] = []
    shifts: list[int] = []
    kept = deleted = 0
    for m in squeeze.finditer(marked):
        start, end = m.span(m.lastindex or 0)
        pieces.append(marked[kept:start])
        breaks.append(start - deleted)
        deleted += end - start
        shifts.append(deleted)
        kept = end
    if not breaks:
        return Folded(marked)
    pieces.append(marked[kept:])
    return Folded("".join(pieces), tuple(breaks), tuple(shifts))


def _mark(text: str) -> str:
    """Fold char for char: same length as `text`, deletions marked with NUL."""
    lower = text.lower()
    if len(lower) != len(text):  # `İ` lowers to two characters; the table keeps it to one
        return text.translate(_FOLD_TABLE)
    return _UNFOLDED.sub(_translate_run, lower)


def _translate_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD_TABLE)


def _is_word(c: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return c.isalnum() and not _is_cjk(ord(c))


# --- the watchlist file --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Near:
    """`A NEAR/n B`: a phrase of `left` and one of `right` with at most `words` words between
    them, in either order (`(a | b) NEAR/3 c` gives alternatives). In Han, kana and Hangul
    text every character counts as a word."""

    left: tuple[str, ...]
    right: tuple[str, ...]
    words: int
    written: str


@dataclass(frozen=True, slots=True)
class TopicRef:
    """`@topic` in a rule: any alias of that topic found in the article (after its excludes)."""

    topic: str
    written: str


Term = str | Near | TopicRef


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of a topic: where a `match` term is found, it counts as evidence for the topic,
    but only if every `all` entry (a term, or a list of alternatives), at least one `any` term
    (when given) and no `none` term are found in the same article, title or text."""

    match: tuple[str | Near, ...]
    all: tuple[tuple[Term, ...], ...] = ()
    any: tuple[Term, ...] = ()
    none: tuple[Term, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic as written in the watchlist: aliases and excludes keyed by language, rules."""

    id: str
    name: str
    aliases: dict[str, tuple[str, ...]]
    exclude: dict[str, tuple[str | Near, ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    line: int = 0
    weak: dict[str, tuple[str, ...]] = field(default_factory=dict)


_TOP_KEYS = ("topics", "places")
_TOPIC_KEYS = ("name", "aliases", "weak", "exclude", "rules")
_RULE_KEYS = ("match", "all", "any", "none")
_NEAR = re.compile(r"\s+NEAR/(\S*)\s+")
_MAX_NEAR = 50


def load_watchlist(path: str | Path) -> Watchlist:
    """Read and compile the watchlist file at `path`; `ConfigError` if it is missing or wrong."""
    return parse_watchlist(seedfile.read_text(path, "watchlist"), str(path))


def parse_watchlist(text: str, path: str = "<watchlist>") -> Watchlist:
    """Validate and compile watchlist YAML; `path` only names the source in errors."""
    topics, places = _parse_root(_compose(text, path), path)
    return Watchlist(text, path, topics, places)


def _compose(text: str, path: str) -> yaml.Node:
    # Nodes, not loaded data: they keep their line numbers for errors, and keys stay strings
    # (`no:` would load as False, the Norwegian language key).
    fix = "check indentation and brackets"
    root = seedfile.compose(text, path, near=_topic_before, fix=fix)
    if root is None:
        raise ConfigError(path, "the watchlist is empty", line=1, fix="add a `topics:` mapping")
    return root


def _topic_before(text: str, line: int) -> str:
    """The topic a broken line most likely belongs to ("topic 'x': ", or ""): the last
    least-indented bare key (`  venezuela:`) above it, since the file cannot be parsed."""
    keys = re.findall(r"(?m)^( +)([\w-]+):[ \t]*(?:#.*)?$", "\n".join(text.splitlines()[:line]))
    if not keys:
        return ""
    indent = min(len(spaces) for spaces, _ in keys)
    return f"topic {[key for spaces, key in keys if len(spaces) == indent][-1]!r}: "


_line = seedfile.line_of


def _error(path: str, node: yaml.Node, problem: str, topic: str = "", fix: str = "") -> ConfigError:
    entry = f"topic {topic!r}" if topic else ""
    return seedfile.error_at(node, path, problem, entry=entry, fix=fix)


def _mapping(
    node: yaml.Node, path: str, what: str, topic: str = ""
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """The (key, key node, value node) entries of a mapping node, refusing duplicate keys."""
    return seedfile.mapping_items(node, path, what, entry=f"topic {topic!r}" if topic else "")


class _Refs:
    """`@topic` references seen while parsing, checked once every topic id is known."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, TopicRef, yaml.Node]] = []


def _parse_root(root: yaml.Node, path: str) -> tuple[dict[str, Topic], dict[str, tuple[str, ...]]]:
    entries = {
        key: (key_node, value) for key, key_node, value in _mapping(root, path, "the watchlist")
    }
    for key, (key_node, _) in entries.items():
        if key not in _TOP_KEYS:
            fix = "known keys: " + ", ".join(_TOP_KEYS)
            raise _error(path, key_node, f"unknown top-level key {key!r}", fix=fix)
    if "topics" not in entries:
        raise _error(path, root, "no `topics:` mapping", fix="add `topics:` with one topic")
    topics_node = entries["topics"][1]
    topics = {}
    refs = _Refs()
    for topic_id, key_node, value in _mapping(topics_node, path, "`topics`"):
        if not _TOPIC_ID.match(topic_id):
            fix = "use lower-case letters, digits, `_` or `-`, e.g. `north_korea`"
            raise _error(path, key_node, f"bad topic id {topic_id!r}", fix=fix)
        topics[topic_id] = _parse_topic(topic_id, key_node, value, path, refs)
    if not topics:
        raise _error(path, topics_node, "`topics` is empty", fix="add at least one topic")
    for topic_id, ref, node in refs.seen:
        if ref.topic not in topics:
            fix = "known topics: " + ", ".join(topics)
            raise _error(path, node, f"rule refers to unknown topic {ref.written!r}", topic_id, fix)
    places = {}
    if "places" in entries:
        places = _parse_phrases(entries["places"][1], path, "", "places")
    return topics, places


def _parse_topic(
    topic_id: str, key_node: yaml.Node, node: yaml.Node, path: str, refs: _Refs
) -> Topic:
    no_aliases = ("has no aliases", topic_id, "add `aliases: {en: [...]}`")
    if not isinstance(node, yaml.MappingNode):
        raise _error(path, key_node, *no_aliases)
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, field_node, value in _mapping(node, path, "the topic", topic_id):
        if key not in _TOPIC_KEYS:
            fix = "known keys: " + ", ".join(_TOPIC_KEYS)
            raise _error(path, field_node, f"unknown key {key!r}", topic_id, fix=fix)
        fields[key] = (field_node, value)
    if "aliases" not in fields:
        raise _error(path, key_node, *no_aliases)
    aliases = _parse_phrases(fields["aliases"][1], path, topic_id, "aliases")
    if not any(aliases.values()):
        raise _error(path, fields["aliases"][0], *no_aliases)
    weak = {}
    if "weak" in fields:
        weak = _parse_phrases(fields["weak"][1], path, topic_id, "weak")
    exclude = {}
    if "exclude" in fields:
        exclude = _parse_phrases(fields["exclude"][1], path, topic_id, "exclude", near=True)
    rules: tuple[Rule, ...] = ()
    if "rules" in fields:
        rules = _parse_rules(fields["rules"][1], path, topic_id, refs)
    name = _parse_name(fields["name"][1] if "name" in fields else None, path, topic_id)
    return Topic(topic_id, name, aliases, exclude, rules, _line(key_node), weak)  # type: ignore[arg-type]


def _parse_name(node: yaml.Node | None, path: str, topic_id: str) -> str:
    if node is None:
        return topic_id
    if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
        raise _error(path, node, "`name` must be a non-empty string", topic_id)
    return node.value.strip()


def _parse_phrases(
    node: yaml.Node, path: str, topic_id: str, what: str, *, near: bool = False
) -> dict[str, tuple[Any, ...]]:
    """`{language: [phrase, ...]}`: the shape of `aliases`, `exclude` and `places`."""
    if seedfile.is_null(node):
        return {}
    phrases = {}
    for language, items in _by_language(node, path, topic_id, what):
        phrases[language] = tuple(
            _parse_term(item, path, topic_id, what, near=near) for item in items
        )
    return phrases


def _by_language(
    node: yaml.Node, path: str, topic_id: str, what: str
) -> list[tuple[str, list[yaml.Node]]]:
    """The items of a `{language: [...]}` mapping, language by language."""
    found = []
    for language, key_node, value in _mapping(node, path, f"`{what}`", topic_id):
        if not _LANGUAGE.match(language):
            fix = "use a two-letter ISO 639-1 code in lower case, e.g. en, ru, uk, es, zh, fa"
            raise _error(
                path, key_node, f"{what}: unknown language key {language!r}", topic_id, fix
            )
        if not isinstance(value, yaml.SequenceNode):
            fix = f"write `{language}: [first, second]`"
            raise _error(path, value, f"{what}.{language} must be a list", topic_id, fix)
        found.append((language, value.value))
    return found


def _parse_rules(node: yaml.Node, path: str, topic_id: str, refs: _Refs) -> tuple[Rule, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        fix = "write `rules:` then `- match: [...]` items"
        raise _error(path, node, "`rules` must be a non-empty list of rules", topic_id, fix)
    return tuple(_parse_rule(item, path, topic_id, refs) for item in node.value)


def _parse_rule(node: yaml.Node, path: str, topic_id: str, refs: _Refs) -> Rule:
    parts: dict[str, tuple[Any, ...]] = {}
    for key, key_node, value in _mapping(node, path, "a rule", topic_id):
        if key not in _RULE_KEYS:
            fix = "a rule has `match` and optionally `all`, `any`, `none`"
            raise _error(path, key_node, f"rule: unknown key {key!r}", topic_id, fix)
        parts[key] = _parse_rule_terms(value, path, topic_id, key, refs)
    if "match" not in parts:
        fix = "add `match: [...]`: the phrases this rule adds as evidence"
        raise _error(path, node, "rule has no `match`", topic_id, fix)
    for term in parts["match"]:
        if isinstance(term, TopicRef):
            fix = "`@topic` only goes in `all`, `any` or `none`"
            raise _error(path, node, f"rule: {term.written!r} cannot be matched", topic_id, fix)
    return Rule(
        match=parts["match"],
        all=parts.get("all", ()),
        any=parts.get("any", ()),
        none=parts.get("none", ()),
        line=_line(node),
    )


def _parse_rule_terms(
    node: yaml.Node, path: str, topic_id: str, key: str, refs: _Refs
) -> tuple[Any, ...]:
    """A rule's list of terms: a plain list, or a `{language: [...]}` mapping of lists. In
    `all`, an item may itself be a list: alternatives, any one of which will do."""
    what = f"rule {key}"
    if isinstance(node, yaml.SequenceNode):
        items = node.value
    elif isinstance(node, yaml.MappingNode):
        items = [item for _, group in _by_language(node, path, topic_id, what) for item in group]
    else:
        fix = f"write `{key}: [first, second]` or `{key}: {{en: [...], ru: [...]}}`"
        raise _error(path, node, f"{what} must be a list", topic_id, fix)
    if not items:
        raise _error(path, node, f"{what} is empty", topic_id, fix="list at least one term")
    terms: list[Any] = []
    for item in items:
        if key == "all" and isinstance(item, yaml.SequenceNode):
            if not item.value:
                raise _error(path, item, f"{what}: empty list of alternatives", topic_id)
            group = [_parse_rule_term(i, path, topic_id, what, refs) for i in item.value]
            terms.append(tuple(group))
        else:
            term = _parse_rule_term(item, path, topic_id, what, refs)
            terms.append((term,) if key == "all" else term)
    return tuple(terms)


def _parse_rule_term(node: yaml.Node, path: str, topic_id: str, what: str, refs: _Refs) -> Term:
    term = _parse_term(node, path, topic_id, what, near=True, ref=True)
    if isinstance(term, TopicRef):
        refs.seen.append((topic_id, term, node))
    return term


def _parse_term(
    node: yaml.Node, path: str, topic_id: str, what: str, *, near: bool = False, ref: bool = False
) -> Term:
    """One entry: a phrase (`Kyiv`, `Венесуэл*`), or where allowed `A NEAR/n B` or `@topic`."""
    if not isinstance(node, yaml.ScalarNode):
        raise _error(path, node, f"{what}: every entry must be a string", topic_id)
    written = node.value.strip()
    if seedfile.is_null(node) or not written:
        raise _error(path, node, f"{what}: empty entry", topic_id, fix="remove it")
    if written.startswith("@"):
        if not ref:
            fix = "`@topic` only goes in a rule's `all`, `any` or `none`"
            raise _error(path, node, f"{what}: {written!r} is not a phrase", topic_id, fix)
        if not _TOPIC_ID.match(written[1:]):
            raise _error(path, node, f"{what}: bad topic reference {written!r}", topic_id)
        return TopicRef(written[1:], written)
    if "NEAR/" in written:
        if not near:
            fix = "proximity goes in `exclude` or a rule"
            raise _error(
                path, node, f"{what}: NEAR is not allowed here: {written!r}", topic_id, fix
            )
        return _parse_near(written, node, path, topic_id, what)
    return _check_phrase(written, node, path, topic_id, what)


def _parse_near(written: str, node: yaml.Node, path: str, topic_id: str, what: str) -> Near:
    fix = "write `A NEAR/5 B` (at most 5 words between A and B; `(a | b)` for alternatives)"
    pieces = _NEAR.split(written)
    if len(pieces) != 3:
        problem = "NEAR needs one phrase on each side" if len(pieces) < 3 else "one NEAR per term"
        raise _error(path, node, f"{what}: {problem}: {written!r}", topic_id, fix)
    left, words, right = pieces
    if not words.isdigit() or not 0 <= int(words) <= _MAX_NEAR:
        problem = f"NEAR/{words} needs a number of words from 0 to {_MAX_NEAR}: {written!r}"
        raise _error(path, node, f"{what}: {problem}", topic_id, fix)
    sides = [_near_side(side, node, path, topic_id, what, fix) for side in (left, right)]
    return Near(sides[0], sides[1], int(words), written)


def _near_side(
    side: str, node: yaml.Node, path: str, topic_id: str, what: str, fix: str
) -> tuple[str, ...]:
    side = side.strip()
    if side.startswith("(") and side.endswith(")"):
        options = [o.strip() for o in side[1:-1].split("|")]
    else:
        options = [side]
    if any(not o or "(" in o or ")" in o or "|" in o or o.startswith("@") for o in options):
        raise _error(path, node, f"{what}: bad NEAR side {side!r}", topic_id, fix)
    return tuple(_check_phrase(o, node, path, topic_id, what) for o in options)


def _check_phrase(phrase: str, node: yaml.Node, path: str, topic_id: str, what: str) -> str:
    if not fold(phrase.rstrip("*")).text.strip():
        raise _error(path, node, f"{what}: empty entry", topic_id, fix="remove it")
    if "*" in phrase.rstrip("*") or phrase.endswith("**"):
        raise _error(path, node, f"{what}: `*` only ends a stem: {phrase!r}", topic_id)
    if phrase.endswith("*"):
        stem = fold(phrase[:-1]).text.strip()
        if len(stem) < _MIN_STEM or not _is_word(stem[-1]):
            fix = f"a stem needs {_MIN_STEM}+ letters; CJK aliases match inside words anyway"
            raise _error(
                path, node, f"{what}: stem {phrase!r} too short or not a word", topic_id, fix
            )
    return phrase


# --- compiling ----------------------------------------------------------------------------

_ALIAS, _EXCLUDE, _TERM, _PLACE, _WEAK = range(5)


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

    topic: str  # "" for a place
    role: int
    written: str


@dataclass(frozen=True, slots=True)
class _CNear:
    left: tuple[int, ...]  # phrase ids
    right: tuple[int, ...]
    words: int
    written: str


@dataclass(frozen=True, slots=True)
class _CPhrase:
    pid: int
    written: str


_CTerm = _CPhrase | _CNear | TopicRef


@dataclass(frozen=True, slots=True)
class _CRule:
    match: tuple[_CPhrase | _CNear, ...]
    all: tuple[tuple[_CTerm, ...], ...]
    any: tuple[_CTerm, ...]
    none: tuple[_CTerm, ...]


@dataclass(frozen=True, slots=True)
class _CTopic:
    exclude_near: tuple[_CNear, ...]
    rules: tuple[_CRule, ...]


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

    def near(self, near: Near, topic: str, role: int) -> _CNear:
        left = tuple(self.phrase(p, topic, role) for p in near.left)
        right = tuple(self.phrase(p, topic, role) for p in near.right)
        return _CNear(left, right, near.words, near.written)

    def term(self, term: Term, topic: str) -> _CTerm:
        if isinstance(term, TopicRef):
            return term
        if isinstance(term, Near):
            return self.near(term, topic, _TERM)
        return _CPhrase(self.phrase(term, topic, _TERM), term)


def _compile(topics: Iterable[Topic], places: dict[str, tuple[str, ...]]) -> _Automaton:
    b = _Builder()
    compiled = {}
    for topic in topics:
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
                match=tuple(b.term(t, topic.id) for t in rule.match),  # type: ignore[misc]
                all=tuple(tuple(b.term(t, topic.id) for t in group) for group in rule.all),
                any=tuple(b.term(t, topic.id) for t in rule.any),
                none=tuple(b.term(t, topic.id) for t in rule.none),
            )
            for rule in topic.rules
        )
        compiled[topic.id] = _CTopic(tuple(exclude_near), rules)
    for phrase in (p for ps in places.values() for p in ps):
        b.phrase(phrase, "", _PLACE)
    by_key: dict[str, list[int]] = {}
    for pid, phrase in enumerate(b.phrases):
        by_key.setdefault(phrase.key, []).append(pid)
    search = ahocorasick_rs.AhoCorasick(
        list(by_key), implementation=ahocorasick_rs.Implementation.DFA
    )
    return _Automaton(
        search,
        tuple(tuple(pids) for pids in by_key.values()),
        tuple(b.phrases),
        tuple(tuple(u.values()) for u in b.uses),
        compiled,
    )


# --- matching -----------------------------------------------------------------------------

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

    def __init__(self, automaton: _Automaton, folded: str) -> None:
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
                else:
                    self.places.extend((s, e, use.written) for s, e in spans)
        for topic, compiled in automaton.topics.items():
            for near in compiled.exclude_near:
                # A NEAR exclude cancels what overlaps its two phrases, not the words between:
                # in "Atlanta, Georgia, near Tbilisi" only the state's Georgia goes.
                for a, b in self.near_pairs(near, self.raw):
                    excluded.setdefault(topic, []).extend((a, b))
        for topic, spans in excluded.items():
            self._exclude(topic, spans)

    def _exclude(self, topic: str, spans: list[_Span]) -> None:
        if topic in self.aliases:
            kept = [a for a in self.aliases[topic] if not _overlaps(a[:2], spans)]
            self.aliases[topic] = kept
        for pid, found in self.terms.get(topic, {}).items():
            self.terms[topic][pid] = [t for t in found if not _overlaps(t, spans)]

    def near(self, near: _CNear, found: dict[int, list[_Span]]) -> list[_Span]:
        """The spans (from the first phrase's start to the other's end) where `near` holds."""
        return [(first[0], second[1]) for first, second in self.near_pairs(near, found)]

    def near_pairs(self, near: _CNear, found: dict[int, list[_Span]]) -> list[tuple[_Span, _Span]]:
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

    def term_spans(self, topic: str, term: _CPhrase | _CNear) -> list[_Span]:
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


# --- scoring and evidence -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hit:
    """One matched span in original offsets; it becomes `Evidence` only if it is kept."""

    field: str
    start: int
    end: int
    alias: str
    weak: bool = False

    @property
    def weight(self) -> float:
        return WEAK if self.weak else 1.0


def _evidence(hit: _Hit, original: str) -> Evidence:
    snippet = _snippet(original, hit.start, hit.end)
    return Evidence(
        hit.field, hit.start, hit.end, original[hit.start : hit.end], hit.alias, snippet
    )


def _snippet(text: str, start: int, end: int) -> str:
    """About SNIPPET_CHARS around the match, cut at spaces, `…` where cut, on one line."""
    lo, hi = max(0, start - SNIPPET_CHARS), min(len(text), end + SNIPPET_CHARS)
    left, right = text[lo:start], text[end:hi]
    if lo > 0 and (cut := _SPACE.search(left)):  # no space at all (CJK): cut mid-run
        left = left[cut.end() :]
    if hi < len(text) and (cut := _SPACE.search(right[::-1])) and cut.start() < len(right) - 1:
        right = right[: len(right) - cut.end()]
    body = " ".join((left + text[start:end] + right).split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def _parts(hits: list[_Hit], text_len: int, all_hits: float) -> dict[str, float]:
    """The score parts, each in 0..1, with the counts they come from. A weak hit counts as
    `WEAK` of a match; `spread` is -1 (not measured) for a text too short to have parts."""
    in_text = [h for h in hits if h.field == "text"]
    in_title = [h for h in hits if h.field == "title"]
    n_text = sum(h.weight for h in in_text)
    n_lead = sum(h.weight for h in in_text if h.start < LEAD_CHARS)
    chunks = min(_MAX_CHUNKS, text_len // LEAD_CHARS)
    touched = {h.start * chunks // text_len for h in in_text} if chunks >= 2 else set()
    return {
        "title": 1.0 if in_title else 0.0,  # a demonym in a headline is no passing word
        "lead": 1 - 0.5**n_lead,  # one match in the lead: 0.5, two: 0.75
        "count": 1 - 0.5 ** (n_text / 3),  # three in the text: 0.5, six: 0.75
        "spread": len(touched) / chunks if chunks >= 2 else -1.0,
        "share": sum(h.weight for h in hits) / all_hits,
        "title_matches": float(len(in_title)),
        "text_matches": float(len(in_text)),
        "strong_matches": float(sum(not h.weak for h in hits)),
    }


def _score(parts: dict[str, float], has_title: bool, has_text: bool) -> float:
    """The weighed mean of the parts that could be measured (no title, no text, or a text too
    short to have parts leave theirs out); scaled by `WEAK_ONLY` when only weak aliases, none
    in the title, were found."""
    used = [
        p
        for p in WEIGHTS
        if (p != "title" or has_title) and (p not in _TEXT_PARTS or has_text) and parts[p] >= 0
    ]
    total = sum(WEIGHTS[p] for p in used)
    score = sum(WEIGHTS[p] * parts[p] for p in used) / total
    if not parts["strong_matches"] and not parts["title"]:
        score *= WEAK_ONLY
    return round(score, 4)


# --- the compiled watchlist ---------------------------------------------------------------


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
