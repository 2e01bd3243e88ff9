"""Issue 18, acceptance 1 and 2: hand-run commands without a Prefect server, and readers that
are not locked out by an ingest run.

Everything goes through the real console script (`.venv/bin/newswatch`) in a subprocess, as
a user types it, against servers on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from newswatch.errors import DatabaseInUse
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer
from warehouse.db import connect, run_lock

# Console-script runs of the demo and a 200-page ingest: about a minute; CI runs them with the
# other slow tests (make test-slow).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NEWSWATCH = Path(sys.executable).parent / "newswatch"  # the installed console script


def _closed_port_url() -> str:
    """A Prefect API URL on a loopback port nobody listens on: any contact with a Prefect
    server (or an attempt to start a flow run) fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ) | {"PREFECT_API_URL": _closed_port_url()} | extra


@dataclass(frozen=True)
class Timed:
    wall: float  # seconds, as `time` says "real"
    cpu: float  # user + system seconds of the command's process
    done: subprocess.CompletedProcess[str]


def _newswatch(*args: str, env: dict[str, str] | None = None) -> Timed:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(NEWSWATCH), *args],
        cwd=REPO,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Timed(wall, cpu, done)


def _imported(stderr: str) -> set[str]:
    """Top-level packages a run imported, from PYTHONPROFILEIMPORTTIME's report."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


# --- acceptance 1: quick commands, no Prefect server ------------------------------------------


@pytest.fixture
def demo_db(settings: Settings) -> Settings:
    """The demo snapshot ingested by `newswatch ingest` (the `settings` fixture put the
    loopback server's settings in the environment)."""
    done = _newswatch("ingest").done
    assert done.returncode == 0, done.stderr[-3000:]
    return settings


def test_digest_and_idle_ingest_are_quick_and_start_no_prefect_server(demo_db: Settings) -> None:
    # Best of three: the machine is shared, a run can lose time to someone else's work.
    digests = [_newswatch("digest", "--day", "2026-01-08") for _ in range(3)]
    ingests = [_newswatch("ingest") for _ in range(3)]
    for run in digests + ingests:
        # PREFECT_API_URL points at a closed port: a flow run would fail to be created.
        assert run.done.returncode == 0, run.done.stderr[-3000:]
    digest = min(digests, key=lambda r: r.wall)
    ingest = min(ingests, key=lambda r: r.wall)
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(
        f"\nnewswatch digest: {digest.wall:.2f} s ({digest.cpu:.2f} s CPU); newswatch ingest, "
        f"nothing due: {ingest.wall:.2f} s ({ingest.cpu:.2f} s CPU); load {load:.1f} per core"
    )
    assert digest.wall < 2.0, [round(r.wall, 2) for r in digests]
    assert ingest.wall < 5.0, [round(r.wall, 2) for r in ingests]
    assert digest.cpu < 2.0 and ingest.cpu < 5.0, (digest, ingest)

    digest_out = digest.done.stdout
    assert "2026-01-08.md (+ .html, .json)" in digest_out
    assert "digest: 1 day written in" in digest_out
    idle = ingest.done.stdout.splitlines()
    assert idle[0].endswith(", 0 due"), idle
    assert idle[-1].startswith("ingest completed: 0 sources polled"), idle
    assert "INFO" not in ingest.done.stderr + ingest.done.stdout  # no log lines

    # Prefect is never imported, so no server can have been started by it.
    for args in (("digest", "--day", "2026-01-08"), ("ingest",), ("retag",)):
        done = _newswatch(*args, env=_env(PYTHONPROFILEIMPORTTIME="1")).done
        assert done.returncode == 0, done.stderr[-3000:]
        imported = _imported(done.stderr)
        assert "duckdb" in imported and "newswatch" in imported  # the report is read right
        assert "prefect" not in imported, args
        assert "uvicorn" not in imported, args


def test_verbose_shows_the_log(demo_db: Settings) -> None:
    done = _newswatch("ingest", "--verbose").done
    assert done.returncode == 0, done.stderr[-3000:]
    assert "INFO newswatch.run: ingest version=" in done.stderr
    assert "ingest done status=completed" in done.stderr


def test_one_ingest_run_at_a_time(settings: Settings) -> None:
    # A run opens the database only for its steps; a second run waits for the whole first
    # one, then says who is running.
    with run_lock(settings.db):
        busy = _newswatch("ingest", env=_env(NEWSWATCH_LOCK_WAIT="0.5")).done
    assert busy.returncode == 1
    assert f"another ingest run is under way (process {os.getpid()})" in busy.stderr
    waited = re.search(r"\(waited (\d+\.\d) s\)", busy.stderr)
    assert waited and 0.5 <= float(waited.group(1)) < 5.0, busy.stderr
    free = _newswatch("ingest").done
    assert free.returncode == 0, free.stderr[-3000:]


# --- acceptance 2: readers during an ingest of 200 pages ---------------------------------------

PAGES = 200
GATE = 100  # the page whose answer waits until reads have succeeded while pages are fetched
WAIT = 5.0  # --wait of every read
WORDS = [
    "harbour",
    "council",
    "minister",
    "budget",
    "rail",
    "election",
    "drought",
    "vaccine",
    "court",
    "strike",
    "port",
    "tariff",
    "treaty",
    "summit",
    "protest",
    "reform",
    "inflation",
    "satellite",
    "pipeline",
    "border",
    "festival",
    "museum",
    "bridge",
    "refinery",
    "airline",
    "wildfire",
    "shipyard",
    "parliament",
    "coalition",
    "archive",
    "orchestra",
    "glacier",
]


def _page(i: int) -> bytes:
    rng = random.Random(i)
    paras = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + ".</p>" for _ in range(5)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Report {i}</title>"
        f"</head><body><article><h1>Report number {i}</h1>{paras}</article></body></html>"
    ).encode()


def _feed(base: str) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>Report number {i}</title><link>{base}/a/{i}.html</link>"
        f"<guid>report-{i}</guid><pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate>"
        "</item>"
        for i in range(PAGES)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Generated</title>'
        f"<link>{base}/</link><description>200 pages</description>{items}</channel></rss>"
    ).encode()


@dataclass
class Read:
    started: float  # time.monotonic() in this process
    ended: float
    ok: bool
    how: str  # "cli" or "connect"
    error: str = ""


@dataclass
class Fetching:
    """What the page server saw: when the first page was asked for, when the gated page
    was let go, and the event the readers set once reads succeeded meanwhile."""

    first_page: float | None = None
    released: float | None = None
    reads_seen: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def generated(
    scripted: SnapshotServer, tmp_path: Path
) -> Iterator[tuple[SnapshotServer, Fetching]]:
    fetching = Fetching()
    routes: dict[str, Any] = scripted.routes  # type: ignore[attr-defined]
    routes["/feed.xml"] = lambda h, _q: h.send_body(
        200, _feed(scripted.base), "application/rss+xml"
    )

    def page(i: int) -> Any:
        def answer(handler: Any, _query: str) -> None:
            if fetching.first_page is None:
                fetching.first_page = time.monotonic()
            if i == GATE:
                # Fetching cannot end before reads got through; 120 s bounds a broken run.
                fetching.reads_seen.wait(timeout=120)
                fetching.released = time.monotonic()
            handler.send_body(200, _page(i), "text/html; charset=utf-8")

        return answer

    for i in range(PAGES):
        routes[f"/a/{i}.html"] = page(i)
    yield scripted, fetching
    fetching.reads_seen.set()


def test_reads_succeed_while_an_ingest_fetches_200_pages(
    generated: tuple[SnapshotServer, Fetching], tmp_path: Path
) -> None:
    server, fetching = generated
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "sources:\n"
        '  - name: "Generated"\n    kind: rss\n'
        f"    url: {server.base}/feed.xml\n"
        "    language: en\n    country: US\n    outlet: Generated\n",
        encoding="utf-8",
    )
    db = tmp_path / "data" / "newswatch.duckdb"
    env = _env(
        NEWSWATCH_FEEDS=str(feeds),
        NEWSWATCH_WATCHLIST=str(REPO / "seeds" / "watchlist.yaml"),
        NEWSWATCH_DB=str(db),
        NEWSWATCH_ALLOWED_HOSTS=server.host_port,
        NEWSWATCH_PER_HOST_DELAY="0",
        NEWSWATCH_PER_HOST_CONCURRENCY="4",
        NEWSWATCH_PAGE_TIMEOUT="150",
        NEWSWATCH_EXTRACT_WORKERS="2",
    )
    with connect(db):
        pass  # the warehouse exists (migrated) before the first read
    reads: list[Read] = []
    ingest = subprocess.Popen(
        [str(NEWSWATCH), "ingest"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = threading.Thread(target=_read_until_done, args=(db, env, ingest, fetching, reads))
    reader.start()
    try:
        out, err = ingest.communicate(timeout=600)
    finally:
        fetching.reads_seen.set()
        reader.join(timeout=120)
    assert ingest.returncode == 0, err[-3000:]
    fetched = [int(n) for n in re.findall(r"fetched (\d+) pages \(0 failed\)", out)]
    assert sum(fetched) == 200, out  # one line per batch of pages

    assert fetching.first_page is not None and fetching.released is not None
    during = [
        r
        for r in reads
        if r.ok and fetching.first_page <= r.started and r.ended <= fetching.released
    ]
    assert sum(r.how == "cli" for r in during) >= 1, (reads, fetching)
    assert sum(r.how == "connect" for r in during) >= 2, (reads, fetching)
    failed = [r for r in reads if not r.ok]
    assert failed == [], failed
    waits = [r.ended - r.started for r in reads if r.how == "connect"]
    assert max(waits) <= WAIT + 1.0, max(waits)  # opening and one count(*) take milliseconds
    print(
        f"\n{len(reads)} reads during the ingest, {len(during)} while pages were fetched, "
        f"none failed; longest read-only open and query {max(waits):.2f} s (--wait {WAIT:g})"
    )

    with connect(db, read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        runs = con.execute("SELECT status FROM runs").fetchall()
    assert articles == PAGES
    assert runs == [("completed",)]


def _read_until_done(
    db: Path,
    env: dict[str, str],
    ingest: subprocess.Popen[str],
    fetching: Fetching,
    reads: list[Read],
) -> None:
    """Read in a loop until the ingest ends: `newswatch sql --wait` (a new process each
    time: the file is free while it starts) and a read-only connect with the same wait in
    this process. Once both got through while pages are being fetched, let the gated page
    go."""
    query = "SELECT count(*) FROM articles"
    while ingest.poll() is None:
        started = time.monotonic()
        done = subprocess.run(
            [str(NEWSWATCH), "sql", query, "--wait", str(WAIT), "--db", str(db)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        reads.append(Read(started, time.monotonic(), done.returncode == 0, "cli", done.stderr))
        started = time.monotonic()
        try:
            with connect(db, read_only=True, wait=WAIT) as con:
                con.execute(query).fetchall()
            reads.append(Read(started, time.monotonic(), True, "connect"))
        except DatabaseInUse as exc:
            reads.append(Read(started, time.monotonic(), False, "connect", str(exc)))
        if fetching.first_page is not None and fetching.released is None:
            after = [r for r in reads if r.ok and r.started >= fetching.first_page]
            if {r.how for r in after} == {"cli", "connect"} and len(after) >= 3:
                fetching.reads_seen.set()
