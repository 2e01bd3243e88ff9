"""Benchmark (issue 19, acceptance 3): the peak memory of `make demo`'s work on a fresh data
folder: `newswatch demo --db <new folder>/newswatch.duckdb` (serve the offline snapshot on
127.0.0.1, ingest it, link events, write the digests, run a query) and every process below
it, the snapshot's server and the extraction workers included, sampled by
`harness.TreeSampler` (the proportional set size: a page shared by n processes counts 1/n in
each). `make demo` runs the same command after installing; make itself is not counted.

Run: `.venv/bin/python bench/demo_memory.py [--runs 2]` (the largest peak counts)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness import TreeSampler, below, final_table, machine, mb

REPO = Path(__file__).resolve().parents[1]
NEWSWATCH = Path(sys.executable).with_name("newswatch")
LIMIT_MB = 500


def one_demo(folder: Path) -> tuple[float, TreeSampler]:
    """Run the demo into `folder`; its wall seconds and the sampler of its process tree."""
    env = {**os.environ, "PREFECT_HOME": str(folder / "prefect")}
    started = time.perf_counter()
    with subprocess.Popen(
        [str(NEWSWATCH), "demo", "--db", str(folder / "newswatch.duckdb")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as child:
        sampler = TreeSampler(child.pid)
        output, _ = child.communicate()
        sampler.stop()
    if child.returncode != 0:
        raise RuntimeError(f"newswatch demo failed ({child.returncode}):\n{output[-3000:]}")
    return time.perf_counter() - started, sampler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh demos; the largest peak counts")
    args = parser.parse_args(argv)
    print(machine())
    peaks = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="nw-demo-") as tmp:
            wall, sampler = one_demo(Path(tmp))
        roles = ", ".join(f"{k} {mb(v)}" for k, v in sorted(sampler.max_pss_by_role.items()))
        print(
            f"  demo {run}: {wall:.1f} s; peak PSS {mb(sampler.max_pss)} MB ({roles});"
            f" peak RSS {mb(sampler.peak)} MB"
        )
        peaks.append(sampler.max_pss / 2**20)
    target = below(
        "peak memory (PSS) of `newswatch demo`'s process tree, MB", max(peaks), LIMIT_MB, "{:.0f}"
    )
    return 0 if final_table("bench/demo_memory.py", [target]) else 1


if __name__ == "__main__":
    sys.exit(main())
