"""Reading the seed files a user edits (`feeds.yaml`, `watchlist.yaml`) with a line for every part.

Both files are YAML written by hand, so every error must say where: the file, the line, the
entry and the field, and what was expected. This module is the one place that reads such a
file: it decodes it (UTF-8 or a `ConfigError`), composes the YAML into nodes (which keep their
line numbers; a syntax error becomes a `ConfigError` with its line), and turns the nodes into
plain data (`Located`: the value plus the line of every mapping value and sequence item), so a
pydantic `ValidationError` on that data can be turned back into a `ConfigError` at the line of
the field that failed (`validation_error`).

Two choices differ from `yaml.safe_load`, on purpose: a mapping that repeats a key is an
error (plain YAML silently keeps the last one), and every scalar stays the string as written
(YAML 1.1 would read `no:`, the Norwegian language key, as `False`, and `NO` as a country
likewise); only an empty value or `~`/`null` becomes None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from extractors.errors import ConfigError

Loc = tuple[str | int, ...]


def read_text(path: str | Path, what: str, *, fix_missing: str = "") -> str:
    """The text of the seed file at `path`; `ConfigError` when it is missing, unreadable or
    not UTF-8. `what` names the file in messages ("feeds file", "watchlist")."""
    path = Path(path)
    if not path.is_file():
        problem = "a directory, not a file" if path.is_dir() else "not found"
        raise ConfigError(str(path), f"cannot read the {what}: {problem}", fix=fix_missing)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        fix = "save the file as UTF-8"
        raise ConfigError(str(path), f"not UTF-8 text (byte {exc.start})", fix=fix) from exc
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the {what}: {exc.strerror}") from exc


# libyaml's parser when PyYAML was built with it: the same nodes and line numbers as the
# pure-Python one (`tests/test_seedfile.py` compares them on every seed file), a twelfth of
# the time (the watchlist and its frames: 170 -> 14 ms, paid by every command and worker).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(
    text: str, path: str, *, near: Callable[[str, int], str] | None = None, fix: str = ""
) -> yaml.Node | None:
    """The YAML node tree of `text` (None for an empty file). A syntax error is a
    `ConfigError` at its line; `near(text, line)` may name the entry it is in."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        where = near(text, line) if near and line else ""
        problem = f"{where}YAML syntax error: {exc.problem}"
        raise ConfigError(path, problem, line=line, fix=fix) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"YAML syntax error: {exc}", fix=fix) from exc
    if root is not None:
        _check_tags(root, path, set())
    return root


# The tags plain YAML data may carry; anything else (`!!python/object`, custom `!tags`) is a
# mistake or an attack in a file that should hold names and URLs.
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


def _check_tags(node: yaml.Node, path: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias: checked where its anchor is
        return
    seen.add(id(node))
    if node.tag not in _PLAIN_TAGS:
        problem = f"YAML syntax error: the tag {node.tag} is not allowed in this file"
        raise error_at(node, path, problem, fix="remove the tag; write plain values")
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _check_tags(key, path, seen)
            _check_tags(value, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_tags(item, path, seen)


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def error_at(
    node: yaml.Node, path: str, problem: str, *, entry: str = "", fix: str = ""
) -> ConfigError:
    """A `ConfigError` at the node's line; `entry` ("topic 'iran'") goes before the problem."""
    where = f"{entry}: " if entry else ""
    return ConfigError(path, where + problem, line=line_of(node), fix=fix)


def mapping_items(
    node: yaml.Node, path: str, what: str, *, entry: str = ""
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """The (key, key node, value node) entries of a mapping node, in order. Refuses a node
    that is not a mapping, a key that is not a plain string, and a repeated key."""
    if not isinstance(node, yaml.MappingNode):
        raise error_at(node, path, f"{what} must be a mapping", entry=entry)
    entries: list[tuple[str, yaml.Node, yaml.Node]] = []
    for key_node, value in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise error_at(
                key_node, path, f"{what} has a key that is not a plain string", entry=entry
            )
        if any(key_node.value == key for key, _, _ in entries):
            raise error_at(
                key_node, path, f"{what} repeats the key {key_node.value!r}", entry=entry
            )
        entries.append((str(key_node.value), key_node, value))
    return entries


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and str(node.tag).endswith(":null")


@dataclass(frozen=True, slots=True)
class Located:
    """Plain data from a YAML node tree, and the line of every part: `lines[loc]` for the
    location `loc` (keys and indexes from the root, as pydantic reports them)."""

    data: Any
    lines: dict[Loc, int]

    def line(self, loc: Iterable[str | int]) -> int | None:
        """The line of `loc`, or of the deepest part of it that has one."""
        parts = tuple(loc)
        for end in range(len(parts), -1, -1):
            if parts[:end] in self.lines:
                return self.lines[parts[:end]]
        return None


def to_data(node: yaml.Node | None, path: str) -> Located:
    """The node tree as dicts, lists, strings and None, with the line of every part. A node
    reached again through an alias is the same object (no exponential copies); an alias to
    a node that contains it is an error."""
    lines: dict[Loc, int] = {}
    data = _Plain(path, lines).convert(node, ()) if node is not None else None
    return Located(data, lines)


class _Plain:
    def __init__(self, path: str, lines: dict[Loc, int]) -> None:
        self.path = path
        self.lines = lines
        self.done: dict[int, Any] = {}
        self.open: set[int] = set()

    def convert(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines.setdefault(loc, line_of(node))
        if id(node) in self.open:
            problem = "the anchor here is used inside itself: an alias refers to what contains it"
            raise error_at(node, self.path, problem, fix="remove the alias")
        if id(node) in self.done:
            return self.done[id(node)]
        self.open.add(id(node))
        value = self._value(node, loc)
        self.open.discard(id(node))
        self.done[id(node)] = value
        return value

    def _value(self, node: yaml.Node, loc: Loc) -> Any:
        if isinstance(node, yaml.MappingNode):
            found = {}
            for key, key_node, value in mapping_items(node, self.path, "a mapping"):
                self.lines[(*loc, key)] = line_of(key_node)
                found[key] = self.convert(value, (*loc, key))
            return found
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*loc, i)) for i, item in enumerate(node.value)]
        return None if is_null(node) else str(node.value)


def validation_error(
    exc: ValidationError,
    path: str,
    located: Located,
    base: Loc,
    entry: str,
    known: Iterable[str] = (),
) -> ConfigError:
    """A `ConfigError` for a pydantic failure on the data at `base`: a line, the entry's
    label, and every problem with what was expected."""
    errors = exc.errors()
    # The line of the first problem that has one of its own (a wrong or unknown field), else
    # the entry's (a missing field).
    places = [(*base, *error["loc"]) for error in errors]
    line = next((located.lines[p] for p in places if p in located.lines), located.line(base))
    problems = "; ".join(_describe(error, known) for error in errors)
    return ConfigError(path, f"{entry}: {problems}", line=line)


_VALUE_ERROR = re.compile(r"^(Value|Assertion) error, ")


def _describe(error: Any, known: Iterable[str]) -> str:
    field = ".".join(str(p) for p in error["loc"])
    if error["type"] == "missing":
        return f"field '{field}' is missing"
    if error["type"] == "extra_forbidden":
        return f"'{field}' is not a known key ({', '.join(known)})"
    message = _VALUE_ERROR.sub("", error["msg"])
    message = message[:1].lower() + message[1:]
    return f"field '{field}' {message}" if field else message
