"""Every bench starts the way bench/README.md runs it (`.venv/bin/python bench/<name>.py`):
its imports find the project's packages, not bench/'s files of the same name. Run as a script,
a bench has bench/ first on its path, where bench/pipeline.py hid the `pipeline` package from
bench/polling.py, which then failed at its imports, before measuring anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCHES = sorted(
    p for p in (REPO / "bench").glob("*.py") if 'if __name__ == "__main__":' in p.read_text()
)


def test_the_benches_are_found() -> None:
    assert {"polling", "pipeline", "events", "growth"} <= {p.stem for p in BENCHES}


@pytest.mark.parametrize("script", BENCHES, ids=lambda p: p.stem)
def test_a_bench_starts_as_its_readme_runs_it(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usage:" in done.stdout
