"""The watchlist file format: its records and its validation, with a line in every error.

Owns what `watchlist.yaml` may say (topics with aliases and weak aliases per language, exclude
phrases, boolean rules with `NEAR/n` proximity and `@topic` references, and the non-topic
`places`) as the records `Topic`, `Rule`, `Near` and `TopicRef`, and `parse_spec`, which
checks a composed file node by node so every error names the file, the line and the topic.
Reading and composing the file is `extractors.seedfile`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import yaml

from extractors import seedfile
from extractors.errors import ConfigError
from extractors.topics.folding import _is_word, fold

_TOPIC_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_LANGUAGE = re.compile(r"[a-z]{2}\Z")
_MIN_STEM = 3  # a shorter stem matches half the dictionary


# The phrases of a NEAR term: as written (`Near[str]`, in the file's records) or as the
# compiled automaton's phrase ids (`Near[int]`).
P = TypeVar("P", str, int)


@dataclass(frozen=True, slots=True)
class Near(Generic[P]):
    """`A NEAR/n B`: a phrase of `left` and one of `right` with at most `words` words between
    them, in either order (`(a | b) NEAR/3 c` gives alternatives). In Han, kana and Hangul
    text every character counts as a word."""

    left: tuple[P, ...]
    right: tuple[P, ...]
    words: int
    written: str


@dataclass(frozen=True, slots=True)
class TopicRef:
    """`@topic` in a rule: any alias of that topic found in the article (after its excludes)."""

    topic: str
    written: str


Term = str | Near[str] | TopicRef


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of a topic: where a `match` term is found, it counts as evidence for the topic,
    but only if every `all` entry (a term, or a list of alternatives), at least one `any` term
    (when given) and no `none` term are found in the same article, title or text."""

    match: tuple[str | Near[str], ...]
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
    exclude: dict[str, tuple[str | Near[str], ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    line: int = 0
    weak: dict[str, tuple[str, ...]] = field(default_factory=dict)
    home: Home | None = None
    # Names that are another word in lower case (Spanish «irán» "they will go", «maduro»
    # "ripe"): where the text does not capitalise them, they are not the topic.
    cased: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Home:
    """A topic's own state, for outlets of its country: `country` (ISO 3166 alpha-2, as in
    feeds.yaml) and per-language phrases (institutions, office holders, the currency) that
    mean the topic when, and only when, the article's source is of that country."""

    country: str
    phrases: dict[str, tuple[str, ...]]


_TOP_KEYS = ("topics", "places")
_TOPIC_KEYS = ("name", "aliases", "weak", "exclude", "rules", "home", "cased")
_COUNTRY = re.compile(r"[A-Z]{2}\Z")
_RULE_KEYS = ("match", "all", "any", "none")
_NEAR = re.compile(r"\s+NEAR/(\S*)\s+")
_MAX_NEAR = 50


def parse_spec(text: str, path: str) -> tuple[dict[str, Topic], dict[str, tuple[str, ...]]]:
    """The topics (by id, in file order) and places of watchlist YAML; `ConfigError` at the
    line of the first problem. `path` only names the file in errors."""
    return _parse_root(_compose(text, path), path)


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
    exclude: dict[str, tuple[str | Near[str], ...]] = {}
    if "exclude" in fields:
        exclude = _parse_phrases(fields["exclude"][1], path, topic_id, "exclude", near=True)
    rules: tuple[Rule, ...] = ()
    if "rules" in fields:
        rules = _parse_rules(fields["rules"][1], path, topic_id, refs)
    name = _parse_name(fields["name"][1] if "name" in fields else None, path, topic_id)
    home = _parse_home(fields["home"][1], path, topic_id) if "home" in fields else None
    cased = _parse_cased(fields["cased"][1], path, topic_id) if "cased" in fields else {}
    return Topic(topic_id, name, aliases, exclude, rules, _line(key_node), weak, home, cased)


def _parse_cased(node: yaml.Node, path: str, topic_id: str) -> dict[str, tuple[str, ...]]:
    """`cased: {<language>: [Name, ...]}`: whole names, each written with its capital."""
    cased = _parse_phrases(node, path, topic_id, "cased")
    for language, items in _by_language(node, path, topic_id, "cased"):
        for phrase, item in zip(cased[language], items, strict=True):
            if phrase.endswith("*") or not phrase[:1].isupper():
                fix = "write the name as it is capitalised, whole (no `*`): `Irán`, `Maduro`"
                raise _error(path, item, f"cased: {phrase!r} is no capitalised name", topic_id, fix)
    return cased


def _parse_home(node: yaml.Node, path: str, topic_id: str) -> Home:
    """`home: {country: XX, <language>: [...], ...}`."""
    country = ""
    phrases: dict[str, tuple[str, ...]] = {}
    for key, key_node, value in _mapping(node, path, "`home`", topic_id):
        if key == "country":
            if not isinstance(value, yaml.ScalarNode) or not _COUNTRY.match(value.value):
                fix = "write the ISO 3166 alpha-2 code of the outlets, e.g. `country: UA`"
                raise _error(path, value, "home.country must be a country code", topic_id, fix)
            country = value.value
            continue
        language_map = yaml.MappingNode("tag:yaml.org,2002:map", [(key_node, value)])
        phrases.update(_parse_phrases(language_map, path, topic_id, "home"))
    if not country:
        fix = "add `country: XX`, the `country` of this topic's outlets in feeds.yaml"
        raise _error(path, node, "home has no `country`", topic_id, fix)
    return Home(country, phrases)


def _parse_name(node: yaml.Node | None, path: str, topic_id: str) -> str:
    if node is None:
        return topic_id
    if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
        raise _error(path, node, "`name` must be a non-empty string", topic_id)
    return str(node.value).strip()


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


def _parse_near(written: str, node: yaml.Node, path: str, topic_id: str, what: str) -> Near[str]:
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
