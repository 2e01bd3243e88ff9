"""The layers import as drawn (docs: DESIGN's layout table), and settings are passed, not
smuggled: no import cycle between settings and the pipeline, no library package that reads
`Settings`, no `os.environ` written by the application."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ("fetching", "pipeline", "digest")
APPLICATION = ("fetching", "pipeline", "digest", "flows", "newswatch", "extractors", "warehouse")


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (REPO / package).rglob("*.py"))


def test_settings_import_nothing_of_the_pipeline() -> None:
    imported = _imports(REPO / "newswatch" / "settings.py")
    offending = {m for m in imported if m.split(".")[0] in ("flows", *LIBRARIES)}
    assert not offending


@pytest.mark.parametrize("path", _modules(*LIBRARIES), ids=lambda p: str(p.relative_to(REPO)))
def test_library_packages_take_options_not_settings(path: Path) -> None:
    """fetching/, pipeline/ and digest/ import neither flows/ nor Prefect nor the settings
    (nor the CLI): they take option records and explicit arguments."""
    imported = _imports(path)
    offending = {
        m
        for m in imported
        if m.split(".")[0] in ("flows", "prefect")
        or m.startswith(("newswatch.settings", "newswatch.cli", "newswatch.options"))
    }
    assert not offending, offending


def _writes_environ(tree: ast.AST) -> list[int]:
    """The lines that assign, delete or change an item of `os.environ`, or call putenv."""
    changes = ("environ.pop", "environ.setdefault", "environ.update", "environ.clear")
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = ast.unparse(node.func)
            if name.endswith(changes) or name in ("os.putenv", "os.unsetenv"):
                lines.append(node.lineno)
            continue
        else:
            continue
        if any(isinstance(t, ast.Subscript) and "environ" in ast.unparse(t.value) for t in targets):
            lines.append(node.lineno)
    return lines


def test_nothing_writes_the_environment() -> None:
    """Settings reach flows as arguments, Prefect's own settings as Prefect settings."""
    found = {
        f"{path.relative_to(REPO)}:{line}"
        for path in _modules(*APPLICATION)
        for line in _writes_environ(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert not found


@pytest.mark.parametrize(
    "order",
    [
        ("newswatch.settings", "pipeline.poll", "flows.ingest"),
        ("flows.ingest", "pipeline.poll", "newswatch.settings"),
        ("pipeline.ingest", "newswatch.options", "newswatch.cli"),
        ("newswatch.cli", "newswatch.options", "pipeline.ingest"),
        ("digest.build", "flows.digest"),
        ("fetching.fetch", "newswatch.settings"),
    ],
)
def test_packages_import_in_any_order(order: tuple[str, ...]) -> None:
    """A fresh interpreter imports them in this order (an import cycle fails one order)."""
    code = "; ".join(f"import {m}" for m in order)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
