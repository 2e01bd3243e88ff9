"""Editing one source of `feeds.yaml` in place: removing it, pausing it, resuming it.

The file is the user's, written by hand with comments, so it is edited as text, not dumped
again from data: the lines of the source's item (from its `- name:` line to its last value)
are cut, or one `paused:` line is added to or taken from them, and every other line stays
as it was. The edit is then checked: the file must load (`newswatch.config.load_sources`)
and give exactly the sources expected (the same list with that one source changed); if it
does not (an anchor, a flow-style list, two items on one line), the file is put back and a
`NewswatchError` says to edit it by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from extractors import seedfile
from extractors.records import Source
from newswatch.config import load_sources
from newswatch.errors import NewswatchError


@dataclass(frozen=True, slots=True)
class _Item:
    """Where one source's item is: its first and last line (0-based, inclusive), the column
    of its keys, and its `paused:` key's line and value node when it has one."""

    first: int
    last: int
    column: int
    paused_line: int | None


def remove_source(path: Path, name: str) -> Source:
    """Cut the source `name` out of the feeds file; returns it."""
    sources = load_sources(path)
    gone = _named(sources, name, path)

    def edit(lines: list[str], item: _Item) -> list[str]:
        before, after = lines[: item.first], lines[item.last + 1 :]
        # One blank line between the neighbours, not two.
        if before and after and not before[-1].strip() and not after[0].strip():
            after = after[1:]
        return before + after

    _edit(path, name, edit, [s for s in sources if s.name != name])
    return gone


def set_paused(path: Path, name: str, paused: bool) -> bool:
    """Pause or resume the source `name` (`paused: true` in its item, or no such line);
    returns False when it already was so (the file is left alone)."""
    sources = load_sources(path)
    if _named(sources, name, path).paused == paused:
        return False

    def edit(lines: list[str], item: _Item) -> list[str]:
        if item.paused_line is not None:
            if paused:  # `paused: false` written by hand
                line = lines[item.paused_line]
                return _replace_line(lines, item.paused_line, _set_value(line, "true"))
            return lines[: item.paused_line] + lines[item.paused_line + 1 :]
        new = " " * item.column + "paused: true\n"
        return [*lines[: item.last + 1], new, *lines[item.last + 1 :]]

    expected = [replace(s, paused=paused) if s.name == name else s for s in sources]
    _edit(path, name, edit, expected)
    return True


def _named(sources: list[Source], name: str, path: Path) -> Source:
    for source in sources:
        if source.name == name:
            return source
    raise NewswatchError(f"no source named {name!r} in {path} (see `newswatch sources`)")


def _edit(
    path: Path,
    name: str,
    edit: Callable[[list[str], _Item], list[str]],
    expected: list[Source],
) -> None:
    before = path.read_text(encoding="utf-8")
    lines = before.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    item = _find(before, str(path), name)
    path.write_text("".join(edit(lines, item)), encoding="utf-8")
    try:
        ok = load_sources(path) == expected
    except NewswatchError:
        ok = False
    if not ok:
        path.write_text(before, encoding="utf-8")
        raise NewswatchError(
            f"{path}: cannot edit the item of {name!r} safely (it shares lines with another "
            "item, or uses YAML anchors or flow style); the file is unchanged: edit it by hand"
        )


def _find(text: str, path: str, name: str) -> _Item:
    root = seedfile.compose(text, path)
    items = _items(root)
    for i, node in enumerate(items):
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            continue
        values = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        named = values.get("name")
        if not isinstance(named, yaml.ScalarNode) or named.value != name:
            continue
        first = node.start_mark.line
        last = _item_last(node)
        shared = (i > 0 and _item_last(items[i - 1]) >= first) or (
            i + 1 < len(items) and items[i + 1].start_mark.line <= last
        )
        if not shared:
            paused = values.get("paused")
            paused_line: int | None = None
            if paused is not None and _last_line(paused) == paused.start_mark.line:
                paused_line = paused.start_mark.line  # a one-line `paused:` can be rewritten
            return _Item(first, last, node.start_mark.column, paused_line)
    raise NewswatchError(
        f"{path}: cannot find the item of {name!r} in block style; the file is unchanged: "
        "edit it by hand"
    )


def _items(root: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            is_list = isinstance(value, yaml.SequenceNode)
            if isinstance(key, yaml.ScalarNode) and key.value == "sources" and is_list:
                return list(value.value)
    return []


def _item_last(node: yaml.Node) -> int:
    """The last line of an item: of its last value (a block mapping's own end mark lies at
    the next item, past the comments between them)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return max(_last_line(v) for _k, v in node.value)
    return _last_line(node)


def _last_line(node: yaml.Node) -> int:
    """The last line (0-based) a node's text is on: its end mark, unless that is the start
    of the next line (a block scalar ends there)."""
    end = node.end_mark
    return int(end.line) - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _replace_line(lines: list[str], index: int, line: str) -> list[str]:
    return [*lines[:index], line, *lines[index + 1 :]]


def _set_value(line: str, value: str) -> str:
    key, _colon, rest = line.partition(":")
    comment = rest[rest.index("#") :] if "#" in rest else ""
    return f"{key}: {value}" + (f"  {comment.rstrip()}" if comment else "") + "\n"
