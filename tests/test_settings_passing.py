"""Settings are passed, not smuggled: no import cycle between the settings and the pipeline,
and no library package (fetching, pipeline, digest) that reads `Settings`, imports flows or
Prefect. (Who may import whom across all layers, and that nothing writes os.environ, is
tests/test_layers.py's, on helper A's branch.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ("fetching", "pipeline", "digest")


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
