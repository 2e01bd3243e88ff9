"""The watchlist: its file format, compiling it once, and tagging articles against it.

Owns `watchlist.yaml` (topics, their aliases per language, exclude phrases) and its validation,
where every error names the file, the line and the topic. Loading compiles all aliases of all
languages into one Aho-Corasick automaton, so tagging an article costs one pass over its folded
text whatever the number of aliases. Tagging returns one `TopicMatch` per matched topic: a 0..1
score, `about` (score >= 0.5) or `mention`, and the evidence spans behind it, with offsets into
the original title and text. `Watchlist.explain` gives the parts each score is made of.

Every alias is tried on every text: language detection is wrong often enough, and scripts keep
languages apart anyway. Matching happens on a folded copy of the text (lower case; accents
dropped in Latin, Greek and Cyrillic: é→e, ё→е, й→и; Arabic letter variants folded to their
Persian form: ي→ی, ك→ک; Arabic diacritics, tatweel and invisible format characters dropped;
ZWNJ and every whitespace run read as one space). A small offset map takes matches back to the
original string. Aliases match whole words in scripts that put spaces between words; Han, kana
and Hangul aliases match anywhere, as those scripts glue words (and particles) together.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick_rs
import yaml

from extractors.records import Evidence, TopicMatch
from newswatch.errors import ConfigError

ABOUT_THRESHOLD = 0.5
LEAD_CHARS = 400  # the part of the text that a reader (and an editor) treats as the lead
MAX_EVIDENCE = 20
SNIPPET_CHARS = 60
# How much each part weighs in the score. Parts that cannot be measured (no title, no text) are
# left out and the rest renormalised, so a title-only feed entry or an untitled Telegram post
# can still be `about` a topic.
WEIGHTS = {"title": 0.30, "lead": 0.20, "count": 0.20, "spread": 0.15, "share": 0.15}
_TEXT_PARTS = ("lead", "count", "spread")
_MAX_CHUNKS = 5  # spread: the text is cut in up to 5 chunks of at least LEAD_CHARS each

_TOPIC_KEYS = ("name", "aliases", "exclude")
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
class Topic:
    """One topic as written in the watchlist: aliases and excludes keyed by language."""

    id: str
    name: str
    aliases: dict[str, tuple[str, ...]]
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class _Pattern:
    """What one automaton key means for one topic: an alias or an exclude phrase."""

    topic: str
    alias: str  # as written in the file, `*` included
    stem: bool  # `Venezuel*`: extend the match over the rest of the word
    left: bool  # needs a word boundary before it (its first char is a spaced-script letter)
    right: bool  # needs a word boundary after it
    exclude: bool


def load_watchlist(path: str | Path) -> Watchlist:
    """Read and compile the watchlist file at `path`; `ConfigError` if it is missing or wrong."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the watchlist: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "not UTF-8 text", fix="save the file as UTF-8") from exc
    return parse_watchlist(text, str(path))


def parse_watchlist(text: str, path: str = "<watchlist>") -> Watchlist:
    """Validate and compile watchlist YAML; `path` only names the source in errors."""
    topics = _parse_topics(_compose(text, path), path)
    return Watchlist(text, path, topics)


def _compose(text: str, path: str) -> yaml.Node:
    # compose, not load: nodes keep their line numbers for errors, and keys stay strings
    # (`no:` would load as False, the Norwegian language key).
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        near = _topic_before(text, line) if line else None
        problem = (f"topic {near!r}: " if near else "") + f"YAML syntax error: {exc.problem}"
        raise ConfigError(path, problem, line=line, fix="check indentation and brackets") from exc
    if root is None:
        raise ConfigError(path, "the watchlist is empty", fix="add a `topics:` mapping")
    return root


def _topic_before(text: str, line: int) -> str | None:
    """The topic id a broken line most likely belongs to: the last least-indented bare key
    (`  venezuela:`) above it, since the file itself cannot be parsed."""
    keys = re.findall(r"(?m)^( +)([\w-]+):[ \t]*(?:#.*)?$", "\n".join(text.splitlines()[:line]))
    if not keys:
        return None
    indent = min(len(spaces) for spaces, _ in keys)
    return [key for spaces, key in keys if len(spaces) == indent][-1]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _error(path: str, node: yaml.Node, problem: str, topic: str = "", fix: str = "") -> ConfigError:
    where = f"topic {topic!r}: " if topic else ""
    return ConfigError(path, where + problem, line=_line(node), fix=fix)


def _mapping(
    node: yaml.Node, path: str, what: str, topic: str = ""
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """The (key, key node, value node) entries of a mapping node, refusing duplicate keys
    (plain YAML would silently keep the last one)."""
    if not isinstance(node, yaml.MappingNode):
        raise _error(path, node, f"{what} must be a mapping", topic)
    entries: list[tuple[str, yaml.Node, yaml.Node]] = []
    for key_node, value in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _error(path, key_node, f"{what} has a key that is not a plain string", topic)
        if any(key_node.value == key for key, _, _ in entries):
            raise _error(path, key_node, f"{what} repeats the key {key_node.value!r}", topic)
        entries.append((key_node.value, key_node, value))
    return entries


def _parse_topics(root: yaml.Node, path: str) -> dict[str, Topic]:
    entries = _mapping(root, path, "the watchlist")
    for key, key_node, _ in entries:
        if key != "topics":
            raise _error(path, key_node, f"unknown top-level key {key!r}", fix="only `topics:`")
    if not entries:
        raise _error(path, root, "no `topics:` mapping", fix="add `topics:` with one topic")
    topics_node = entries[0][2]
    topics = {}
    for topic_id, key_node, value in _mapping(topics_node, path, "`topics`"):
        if not _TOPIC_ID.match(topic_id):
            fix = "use lower-case letters, digits, `_` or `-`, e.g. `north_korea`"
            raise _error(path, key_node, f"bad topic id {topic_id!r}", fix=fix)
        topics[topic_id] = _parse_topic(topic_id, key_node, value, path)
    if not topics:
        raise _error(path, topics_node, "`topics` is empty", fix="add at least one topic")
    return topics


def _parse_topic(topic_id: str, key_node: yaml.Node, node: yaml.Node, path: str) -> Topic:
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
    exclude = {}
    if "exclude" in fields:
        exclude = _parse_phrases(fields["exclude"][1], path, topic_id, "exclude")
    name = _parse_name(fields["name"][1] if "name" in fields else None, path, topic_id)
    return Topic(topic_id, name, aliases, exclude, _line(key_node))


def _parse_name(node: yaml.Node | None, path: str, topic_id: str) -> str:
    if node is None:
        return topic_id
    if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
        raise _error(path, node, "`name` must be a non-empty string", topic_id)
    return node.value.strip()


def _parse_phrases(
    node: yaml.Node, path: str, topic_id: str, what: str
) -> dict[str, tuple[str, ...]]:
    """`{language: [phrase, ...]}`: the shape shared by `aliases` and `exclude`."""
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return {}
    phrases = {}
    for language, key_node, value in _mapping(node, path, f"`{what}`", topic_id):
        if not _LANGUAGE.match(language):
            fix = "use a two-letter ISO 639-1 code in lower case, e.g. en, ru, uk, es, zh, fa"
            raise _error(
                path, key_node, f"{what}: unknown language key {language!r}", topic_id, fix
            )
        if not isinstance(value, yaml.SequenceNode):
            fix = f"write `{language}: [first, second]`"
            raise _error(path, value, f"{what}.{language} must be a list", topic_id, fix)
        phrases[language] = tuple(_parse_phrase(item, path, topic_id, what) for item in value.value)
    return phrases


def _parse_phrase(node: yaml.Node, path: str, topic_id: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _error(path, node, f"{what}: every entry must be a string", topic_id)
    phrase = node.value.strip()
    if node.tag.endswith(":null") or not fold(phrase.rstrip("*")).text.strip():
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


@dataclass(frozen=True, slots=True)
class _Automaton:
    """Every folded alias and exclude phrase of every topic and language in one Aho-Corasick
    automaton; `patterns[i]` says what key `i` means, for each topic that has it (topics may
    share an alias, and one folded key may be a whole word in one topic and a stem in another)."""

    search: ahocorasick_rs.AhoCorasick
    patterns: tuple[tuple[_Pattern, ...], ...]


def _compile(topics: Iterable[Topic]) -> _Automaton:
    by_key: dict[str, dict[tuple[str, bool, bool], _Pattern]] = {}
    for topic in topics:
        for phrases, exclude in ((topic.aliases, False), (topic.exclude, True)):
            for phrase in (p for ps in phrases.values() for p in ps):
                key, pattern = _pattern(topic.id, phrase, exclude)
                # Same folded key twice in a topic (`Kiev` in en and es): keep the first.
                by_key.setdefault(key, {}).setdefault((topic.id, pattern.stem, exclude), pattern)
    search = ahocorasick_rs.AhoCorasick(
        list(by_key), implementation=ahocorasick_rs.Implementation.DFA
    )
    return _Automaton(search, tuple(tuple(p.values()) for p in by_key.values()))


def _pattern(topic_id: str, phrase: str, exclude: bool) -> tuple[str, _Pattern]:
    stem = phrase.endswith("*")
    key = fold(phrase.rstrip("*")).text.strip()
    left, right = _is_word(key[0]), _is_word(key[-1]) and not stem
    return key, _Pattern(topic_id, phrase, stem, left, right, exclude)


# --- matching -----------------------------------------------------------------------------

_Span = tuple[int, int, tuple[_Pattern, ...]]


def _find(automaton: _Automaton, folded: str) -> list[_Span]:
    """The accepted matches in `folded`, by start, once exclusions and overlaps are settled."""
    found: dict[tuple[int, int], list[_Pattern]] = {}
    # Overlapping search: a key that fails its boundary check must not hide a shorter one.
    for index, start, end in automaton.search.find_matches_as_indexes(folded, overlapping=True):
        for pattern in automaton.patterns[index]:
            stop = _accept(folded, start, end, pattern)
            if stop is not None:
                found.setdefault((start, stop), []).append(pattern)
    return _longest(_drop_excluded(found), len(folded))


def _accept(folded: str, start: int, end: int, pattern: _Pattern) -> int | None:
    """The end of the match if `pattern` found at `start:end` respects word boundaries."""
    if pattern.left and start > 0 and _is_word(folded[start - 1]):
        return None
    if pattern.stem:
        match = _WORD_TAIL.match(folded, end)
        return match.end() if match else end
    if pattern.right and end < len(folded) and _is_word(folded[end]):
        return None
    return end


def _drop_excluded(found: dict[tuple[int, int], list[_Pattern]]) -> list[_Span]:
    """Alias matches, less those overlapping an exclude phrase of their own topic, one pattern
    per topic and span."""
    excluded = [(s, e, p.topic) for (s, e), ps in found.items() for p in ps if p.exclude]
    spans = []
    for (start, end), patterns in found.items():
        kept: dict[str, _Pattern] = {}
        for p in patterns:
            if p.exclude or any(t == p.topic and s < end and start < e for s, e, t in excluded):
                continue
            kept.setdefault(p.topic, p)
        if kept:
            spans.append((start, end, tuple(kept.values())))
    return spans


def _longest(spans: list[_Span], size: int) -> list[_Span]:
    """Of overlapping spans keep the longest (then the first); a span shared by several topics
    counts for each of them."""
    taken = bytearray(size)
    chosen = []
    for span in sorted(spans, key=lambda sp: (sp[0] - sp[1], sp[0])):
        start, end, _ = span
        if taken.find(1, start, end) < 0:
            taken[start:end] = b"\x01" * (end - start)
            chosen.append(span)
    return sorted(chosen, key=lambda sp: sp[0])


# --- scoring and evidence -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hit:
    """One matched span in original offsets; it becomes `Evidence` only if it is kept."""

    field: str
    start: int
    end: int
    alias: str


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


def _parts(hits: list[_Hit], text_len: int, all_hits: int) -> dict[str, float]:
    """The score parts, each in 0..1, with the counts they come from."""
    in_text = [h.start for h in hits if h.field == "text"]
    n_title = len(hits) - len(in_text)
    n_lead = sum(1 for start in in_text if start < LEAD_CHARS)
    chunks = max(1, min(_MAX_CHUNKS, text_len // LEAD_CHARS))
    touched = {start * chunks // text_len for start in in_text}
    return {
        "title": 1.0 if n_title else 0.0,
        "lead": 1 - 0.5**n_lead,  # one match in the lead: 0.5, two: 0.75
        "count": 1 - 0.5 ** (len(in_text) / 3),  # three in the text: 0.5, six: 0.75
        "spread": len(touched) / chunks,
        "share": len(hits) / all_hits,
        "title_matches": float(n_title),
        "text_matches": float(len(in_text)),
    }


def _score(parts: dict[str, float], has_title: bool, has_text: bool) -> float:
    used = [
        p for p in WEIGHTS if (p != "title" or has_title) and (p not in _TEXT_PARTS or has_text)
    ]
    total = sum(WEIGHTS[p] for p in used)
    return round(sum(WEIGHTS[p] * parts[p] for p in used) / total, 4)


# --- the compiled watchlist ---------------------------------------------------------------


class Watchlist:
    """A compiled watchlist; build it with `load_watchlist` or `parse_watchlist`.

    It pickles as its source text and recompiles on arrival, so a process pool can receive it.
    """

    def __init__(self, text: str, path: str, topics: dict[str, Topic]) -> None:
        self._source = (text, path)
        self._topics = topics
        self._automaton = _compile(topics.values())
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
        hits: dict[str, list[_Hit]] = {}
        self._collect("title", title, hits)
        self._collect("text", text, hits)
        all_hits = sum(len(h) for h in hits.values())
        has_title, has_text = bool(title.strip()), bool(text.strip())
        results = []
        for topic, topic_hits in hits.items():
            parts = _parts(topic_hits, len(text), all_hits)
            parts["score"] = score = _score(parts, has_title, has_text)
            relevance = "about" if score >= ABOUT_THRESHOLD else "mention"
            originals = {"title": title, "text": text}
            evidence = tuple(_evidence(h, originals[h.field]) for h in topic_hits[:MAX_EVIDENCE])
            results.append((TopicMatch(topic, relevance, score, evidence), parts))
        results.sort(key=lambda r: (-r[0].score, r[0].topic))
        return results

    def _collect(self, where: str, original: str, hits: dict[str, list[_Hit]]) -> None:
        """Add the matches in one field; title first, so hits stay in reading order."""
        if not original:
            return
        folded = fold(original)
        for start, end, patterns in _find(self._automaton, folded.text):
            o_start, o_end = folded.original(start, end)
            for pattern in patterns:
                hits.setdefault(pattern.topic, []).append(
                    _Hit(where, o_start, o_end, pattern.alias)
                )
