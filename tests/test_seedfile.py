"""`extractors.seedfile` reads YAML with libyaml's parser: the nodes, lines and syntax errors
of the pure-Python parser, at a twelfth of the time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from extractors import seedfile
from extractors.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
YAML_FILES = sorted(
    path
    for folder in ("seeds", "tests")
    for path in (REPO / folder).rglob("*.yaml")
    if ".venv" not in path.parts
)


def _shape(node: yaml.Node) -> object:
    """A node as plain data: tag, where it starts and ends, value. A plain scalar's style is
    None in one parser and "" in the other; nothing here reads it."""
    where = (node.start_mark.line, node.start_mark.column, node.end_mark.line, node.end_mark.column)
    if isinstance(node, yaml.MappingNode):
        return node.tag, where, [(_shape(k), _shape(v)) for k, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return node.tag, where, [_shape(item) for item in node.value]
    return node.tag, where, node.value


def test_libyaml_is_what_reads_seed_files() -> None:
    assert yaml.__with_libyaml__, "PyYAML without libyaml: seed files are read 12x slower"
    assert seedfile._LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_file_composes_as_the_pure_python_parser_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = seedfile.compose(text, str(path))
    theirs = yaml.compose(text, Loader=yaml.SafeLoader)
    assert (ours is None) == (theirs is None)
    if ours is not None and theirs is not None:
        assert _shape(ours) == _shape(theirs)


BROKEN = [
    "topics:\n  - name: a\n   bad: indent\n",
    "a: [1, 2\nb: 3\n",
    'a: "unterminated\nb: 2\n',
    "a: b: c\n",
    "- a\nb: c\n",
    "a:\n  - x\n  y: z\n",
]


@pytest.mark.parametrize("text", BROKEN)
def test_a_syntax_error_is_reported_at_the_pure_python_parsers_line(text: str) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as python:
        yaml.compose(text, Loader=yaml.SafeLoader)
    mark = python.value.problem_mark or python.value.context_mark
    assert mark is not None
    with pytest.raises(ConfigError) as ours:
        seedfile.compose(text, "watchlist.yaml")
    assert ours.value.line == mark.line + 1, (str(ours.value), str(python.value))
