"""The layers of docs/architecture.md, checked on the source: who may import whom, module size,
and that nothing but tests writes the process environment.

Each test parses the modules with `ast` (no imports run) and lists every offender in its
message, so one run shows the whole list to fix.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("extractors", "warehouse", "flows", "newswatch")
PACKAGES += ("fetching", "pipeline", "digest", "events")  # as they come to exist
MAX_LINES = 500

# What each lower layer must never import (top-level package names).
FORBIDDEN = {
    "extractors": {"warehouse", "flows", "newswatch", "fetching", "pipeline", "digest", "events"},
    "warehouse": {"flows", "newswatch", "fetching", "pipeline", "digest"},
    "fetching": {"warehouse", "flows", "newswatch", "pipeline", "digest", "events"},
    "events": {"warehouse", "flows", "newswatch", "fetching", "pipeline", "digest"},
    "digest": {"flows", "newswatch", "fetching", "pipeline"},
    "pipeline": {"flows", "newswatch", "digest"},
}

_ENVIRON_WRITERS = {"update", "setdefault", "pop", "popitem", "clear"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import, wherever it is in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_lower_layers_import_nothing_above_them() -> None:
    offenders = [
        f"{_rel(path)}:{line} imports {name}"
        for package, forbidden in FORBIDDEN.items()
        for path in _modules(package)
        for line, name in _imported(_parse(path))
        if name in forbidden
    ]
    assert _modules("extractors") and _modules("warehouse")
    assert offenders == [], "layer violations:\n" + "\n".join(offenders)


def test_no_module_over_500_lines() -> None:
    paths = [path for package in PACKAGES for path in _modules(package)]
    offenders = [f"{_rel(p)}: {n} lines" for p in paths if (n := _count(p)) > MAX_LINES]
    assert len(paths) > 20
    assert offenders == [], f"modules over {MAX_LINES} lines:\n" + "\n".join(offenders)


def _count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _is_environ(node: ast.expr) -> bool:
    text = ast.unparse(node)
    return text in ("os.environ", "environ")


def _environ_writes(tree: ast.Module) -> Iterator[int]:
    """Lines that assign, delete or update an `os.environ` item, or call `os.putenv`."""
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        written = [t.value if isinstance(t, ast.Subscript) else t for t in targets]
        if any(_is_environ(target) for target in written) or _writes_by_call(node):
            yield node.lineno


def _writes_by_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    called = node.func
    if called.attr in ("putenv", "unsetenv"):
        return ast.unparse(called.value) == "os"
    return called.attr in _ENVIRON_WRITERS and _is_environ(called.value)


def test_nothing_outside_tests_writes_the_environment() -> None:
    paths = [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not {".venv", "tests", "data", ".git"} & set(path.relative_to(ROOT).parts)
    ]
    offenders = [f"{_rel(p)}:{line}" for p in paths for line in _environ_writes(_parse(p))]
    assert len(paths) > 20
    assert offenders == [], "os.environ written outside tests/:\n" + "\n".join(offenders)
