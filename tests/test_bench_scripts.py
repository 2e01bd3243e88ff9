"""Every bench starts the way bench/README.md runs it (`.venv/bin/python bench/<name>.py`):
its imports find the project's packages, not bench/'s files of the same name. Run as a script,
a bench has bench/ first on its path, where bench/pipeline.py hid the `pipeline` package from
bench/polling.py, which then failed at its imports, before measuring anything."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_file

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


def test_the_polling_bench_judges_the_median_of_its_cycles() -> None:
    """One later cycle's ratio moves by 2-3 between runs here, so the bench runs several
    (each after its own change, each with its own baseline pass) and judges the median."""
    shared_file("corpus/feeds/index.json")
    done = subprocess.run(
        [sys.executable, "bench/polling.py", "--feeds", "20", "--rounds", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "NEWSWATCH_PER_HOST_DELAY": "0"},
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: the target failed
    speedups = [
        float(m) for m in re.findall(r"^  cycle \d: .*speed-up ([\d.]+)$", done.stdout, re.M)
    ]
    assert len(speedups) == 3, done.stdout
    verdict = re.search(r"median of 3\)\s+([\d.]+)\s", done.stdout)
    assert verdict is not None, done.stdout
    assert float(verdict.group(1)) == sorted(speedups)[1]
