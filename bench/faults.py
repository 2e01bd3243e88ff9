"""Benchmark: every fault of tests/faults.py through real `newswatch ingest` runs, with memory.

What it measures, per fault: the ingest runs made, whether every run survived (exited 0, its
database opens, the control source beside the fault stored its articles), the articles the
fault source should have given and did give, how many were lost (must be 0), and the peak
memory of the ingest process tree, its extraction workers included (the gzip bomb and the
2 GB bodies must stay under 500 MB). The baseline, measured in the same process, is a run
over the control source alone; the ratio column compares each fault's peak memory with it.

How: the fault server (tests/faults.py) runs here on 127.0.0.1; each run is a child process,
`python -m tests.netguard -m newswatch ingest`, on a fresh database, with a feeds file listing
the fault source and a control source (a good two-article feed), reporting to one Prefect
test server started here (so no run pays for starting its own). Limits are the defaults
(10 MB body, 50 MB unpacked, 500 entries per source per run) except the time limits (5 s,
so the 1-byte-a-second bodies end quickly) and the per-host delay (0: one loopback server
stands in for every host). Peak memory is the largest proportional set size of the run's
process tree, sampled every 0.3 s (bench/harness.py: a page shared by the forked workers and
the server they fork from counts once in all; the sum of resident sets would count it once
per process). The feed with
100,000 entries gets two runs: each takes 500, the rest wait, none is lost. The netguard hook
refuses, in every run, any connection beyond 127.0.0.1.

Run: `.venv/bin/python bench/faults.py [--only NAME ...]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# harness.py from bench/; the repository first, so `events` is the package, not bench/events.py
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from harness import TreeSampler, at_most, below, final_table  # noqa: E402

from tests import netguard  # noqa: E402
from tests.faults import FAULTS, Fault, FaultServer, fault_sources, serve_faults  # noqa: E402
from warehouse.db import connect  # noqa: E402

MEMORY_LIMIT_MB = 500
PER_SOURCE = 500  # the default max_entries_per_source
CONTROL = "control"


@dataclass
class Row:
    fault: str
    runs: int
    survived: bool
    expected: int
    stored: int
    peak_mb: float
    seconds: float

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.stored)


def _env(server: FaultServer, db: Path, api_url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    return env | {
        "NEWSWATCH_FEEDS": str(db.parent / "feeds.yaml"),
        "NEWSWATCH_WATCHLIST": str(REPO / "seeds" / "watchlist.yaml"),
        "NEWSWATCH_DB": str(db),
        "NEWSWATCH_ALLOWED_HOSTS": server.host_port,
        "NEWSWATCH_PER_HOST_DELAY": "0",
        "NEWSWATCH_FEED_TIMEOUT": "5",
        "NEWSWATCH_PAGE_TIMEOUT": "5",
        "PREFECT_API_URL": api_url,
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "NETGUARD_LOG": str(tmp / "netguard.log"),
    }


def _run_ingest(env: dict[str, str], log: Path) -> tuple[int, float]:
    """One ingest in a child process: (exit code, peak PSS of its process tree in MB)."""
    with log.open("ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.netguard", "-m", "newswatch", "ingest"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        sampler = TreeSampler(child.pid)
        code = child.wait()
        sampler.stop()
    return code, sampler.max_pss / 2**20


def _stored(db: Path) -> dict[str, int]:
    with connect(db, read_only=True) as con:
        rows = con.execute("SELECT source, count(*) FROM articles GROUP BY source").fetchall()
    return {r[0]: int(r[1]) for r in rows}


def measure(server: FaultServer, fault: Fault | None, runs: int, api_url: str, tmp: Path) -> Row:
    name = fault.name if fault else CONTROL
    folder = tmp / name
    folder.mkdir()
    control = {
        "name": CONTROL,
        "kind": "rss",
        "url": f"{server.base}/f/control.xml",
        "language": "en",
        "country": "US",
    }
    sources = [control, *(fault_sources(server.base, (fault,)) if fault else [])]
    db = folder / "data" / "newswatch.duckdb"
    db.parent.mkdir()
    (db.parent / "feeds.yaml").write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    env = _env(server, db, api_url, tmp)
    started = time.perf_counter()
    codes, peaks = [], []
    for _ in range(runs):
        code, peak = _run_ingest(env, folder / "ingest.log")
        codes.append(code)
        peaks.append(peak)
    seconds = time.perf_counter() - started
    try:
        stored = _stored(db)
    except Exception:  # a database that does not open is exactly what this bench looks for
        stored = {}
    expected = 2 if fault is None else (fault.articles if fault.articles is not None else 0)
    if fault is not None and fault.articles is None:
        expected = PER_SOURCE * runs
    survived = all(c == 0 for c in codes) and stored.get(CONTROL, 0) == 2
    return Row(name, runs, survived, expected, stored.get(name, 0), max(peaks), seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="fault names to run (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders and logs")
    args = parser.parse_args()
    faults = [f for f in FAULTS if not args.only or f.name in args.only]
    netguard.install()  # this process too: the fault server and Prefect's test server

    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_HOME,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    tmp = Path(tempfile.mkdtemp(prefix="newswatch-faults-"))
    # Prefect's own state in the run's folder, and no telemetry from the server started here
    # (it would look up a public name): settings for this process, not environment writes.
    prefect_settings = {PREFECT_HOME: tmp / "prefect", PREFECT_SERVER_ANALYTICS_ENABLED: False}
    with (
        temporary_settings(updates=prefect_settings),
        serve_faults() as server,
        prefect_test_harness(server_startup_timeout=60),
    ):
        api_url = str(PREFECT_API_URL.value())
        baseline = measure(server, None, 1, api_url, tmp)
        rows = [measure(server, f, 2 if f.articles is None else 1, api_url, tmp) for f in faults]
        log = tmp / "netguard.log"
    refused = [*netguard.violations, *(log.read_text().splitlines() if log.exists() else [])]

    if args.keep:
        print(f"runs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"baseline (control source alone): peak {baseline.peak_mb:.0f} MB, "
        f"{baseline.seconds:.1f} s, survived {baseline.survived}\n"
    )
    header = (
        f"{'fault':<20} {'runs':>4} {'survived':>8} {'expected':>8} {'stored':>6} {'lost':>4} "
        f"{'peak MB':>7} {'x base':>6} {'secs':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.fault:<20} {r.runs:>4} {'yes' if r.survived else 'NO':>8} {r.expected:>8} "
            f"{r.stored:>6} {r.lost:>4} {r.peak_mb:>7.0f} {r.peak_mb / baseline.peak_mb:>6.2f} "
            f"{r.seconds:>5.1f}"
        )
    over = [r.fault for r in rows if r.peak_mb >= MEMORY_LIMIT_MB]
    failed = [r.fault for r in rows if not r.survived or r.lost]
    print(
        f"\nover {MEMORY_LIMIT_MB} MB: {', '.join(over) or 'none'}; not survived or lost: "
        f"{', '.join(failed) or 'none'}; connections refused by netguard: {refused or 'none'}"
    )
    worst = max(rows, key=lambda r: r.peak_mb)
    ok = final_table(
        f"bench/faults.py, {len(rows)} faults",
        [
            at_most("articles lost", sum(r.lost for r in rows), 0, "{:.0f}"),
            at_most("faults not survived", sum(not r.survived for r in rows), 0, "{:.0f}"),
            below(f"peak MB of a run's process tree ({worst.fault})", worst.peak_mb, 500, "{:.0f}"),
            at_most("connections refused by netguard", len(refused), 0, "{:.0f}"),
        ],
        [f"baseline: the control source alone, peak {baseline.peak_mb:.0f} MB"],
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
