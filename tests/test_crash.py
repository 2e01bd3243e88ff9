"""Acceptance: an ingest killed with SIGKILL at any moment, then run again, ends with exactly
the articles of a run that was never killed: no duplicates, no entry lost.

Why it holds (flows/ingest.py, warehouse/load.py): a poll's fetches, entries and feed state
are stored in one transaction, so a kill before the commit leaves the source due again and
one after it leaves the entries `pending`; an entry becomes `stored` in the same transaction
as its article, so a kill in between leaves it pending and the next run fetches it again;
article ids come from canonical URLs, so nothing is stored twice. DuckDB replays its WAL on
the next open and drops a transaction that never committed.

The test: one unkilled `newswatch ingest` over the demo snapshot is the reference; a second
unkilled run must agree with it and gives the run's length. Then runs on fresh databases, each
killed (its whole process group: the extraction workers die with it, as in a crash) at a
moment drawn from a seeded RNG over that length, counted from when the run opened its
database, until ten runs were killed (a run that ends before its moment is not a kill: it is
checked all the same, another is started, at most ten more, and the moments after it are
drawn over that run's length: a warm run measured under a load that has since passed would
otherwise put most moments after the runs' end). After each kill the database
is read (read-only, as the killed run left it) for what was committed: entries, articles and
fetches. A kill counts as landing after a commit only when entries were committed before it;
at least five of the ten must. Each killed run is then run again to the end and must leave
the reference's article URLs and content hashes, and its entries.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from newswatch.errors import WarehouseError
from newswatch.snapshot import SnapshotServer, rebase_file
from tests.conftest import DEMO, DEMO_ARTICLES, REPO
from warehouse.db import connect

KILLS = 10
AFTER_A_COMMIT = 5  # kills that must land after the run committed its first entries
SEED = 20260105
RUN_LIMIT_S = 300


def _env(tmp_path: Path, server: SnapshotServer, db: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    feeds = rebase_file(DEMO / "feeds.yaml", tmp_path / "feeds.yaml", server.base)
    return env | {
        "NEWSWATCH_FEEDS": str(feeds),
        "NEWSWATCH_WATCHLIST": str(REPO / "seeds" / "watchlist.yaml"),
        "NEWSWATCH_DB": str(db),
        "NEWSWATCH_ALLOWED_HOSTS": server.host_port,
        "NEWSWATCH_PER_HOST_DELAY": "0",
        # The runs report to the session's Prefect test server instead of starting their own.
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "NETGUARD_LOG": str(tmp_path / "netguard.log"),
    }


def _start(tmp_path: Path, server: SnapshotServer, db: Path, log: Path) -> subprocess.Popen[bytes]:
    """`newswatch ingest` in its own process group, under the netguard hook."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.netguard", "-m", "newswatch", "ingest"],
            env=_env(tmp_path, server, db),
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_database(run: subprocess.Popen[bytes], db: Path) -> None:
    """Wait until the run has opened its database (or ended): the work starts there."""
    deadline = time.monotonic() + RUN_LIMIT_S
    while not db.exists() and run.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.wait(timeout=0.01)


def _run_to_end(tmp_path: Path, server: SnapshotServer, db: Path, log: Path) -> float:
    """An unkilled run; returns how long it worked once its database was open."""
    run = _start(tmp_path, server, db, log)
    _wait_for_database(run, db)
    opened = time.monotonic()
    _finish(run, log)
    return time.monotonic() - opened


def _finish(run: subprocess.Popen[bytes], log: Path) -> None:
    code = run.wait(timeout=RUN_LIMIT_S)
    assert code == 0, log.read_text(errors="replace")[-3000:]


def _state(db: Path) -> tuple[list[tuple], list[tuple], int]:
    """Articles (canonical URL, content hash), entries (source, guid, status, article),
    and the number of article rows (to see duplicates)."""
    with connect(db, read_only=True) as con:
        articles = con.execute(
            "SELECT canonical_url, content_hash FROM articles ORDER BY ALL"
        ).fetchall()
        entries = con.execute(
            "SELECT source, guid, status, article_id FROM entries ORDER BY ALL"
        ).fetchall()
        rows = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
    return articles, entries, rows


def _committed(db: Path) -> tuple[int, int, int] | None:
    """(entries, articles, fetches) a killed run committed, read-only so that nothing is
    recovered on the rerun's behalf; None when the database cannot be read that way."""
    try:
        with connect(db, read_only=True) as con:
            counts = [
                con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in ("entries", "articles", "fetches")
            ]
    except (duckdb.Error, WarehouseError):  # a WAL left mid-migration: read-write opens replay it
        return None
    return counts[0], counts[1], counts[2]


def _kill_at(run: subprocess.Popen[bytes], delay: float) -> bool:
    """Kill the run's process group `delay` s from now; False when it ended first."""
    try:
        run.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        return True
    return False


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_killed_runs_end_with_the_articles_of_an_unkilled_run(
    tmp_path: Path, server: SnapshotServer
) -> None:
    log = tmp_path / "runs.log"
    reference_db = tmp_path / "reference" / "newswatch.duckdb"
    cold = _run_to_end(tmp_path, server, reference_db, log)
    reference = _state(reference_db)
    assert len(reference[0]) == reference[2] == DEMO_ARTICLES
    # The first run against the session's Prefect server pays one-time costs (the flow's
    # registration, cold caches) and can take half again as long as the runs after it:
    # the kill moments are drawn over the length of a warm run, so that most land inside one.
    warm_db = tmp_path / "warm" / "newswatch.duckdb"
    window = _run_to_end(tmp_path, server, warm_db, log)
    assert _state(warm_db) == reference, "two unkilled runs disagree"

    rng = random.Random(SEED)
    kills: list[tuple[float, tuple[int, int, int] | None]] = []  # moment, what was committed
    for trial in range(2 * KILLS):
        if len(kills) == KILLS:
            break
        db = tmp_path / f"trial-{trial}" / "newswatch.duckdb"
        delay = rng.uniform(0, window)
        run = _start(tmp_path, server, db, log)
        _wait_for_database(run, db)
        opened = time.monotonic()
        if _kill_at(run, delay):
            kills.append((delay, _committed(db)))
        else:  # it ended first: runs are shorter now than the warm run (a load that passed),
            # so the next moments are drawn over this run's length
            window = min(window, time.monotonic() - opened)
        _finish(_start(tmp_path, server, db, log), log)
        articles, entries, rows = _state(db)
        assert rows == len(articles), f"trial {trial}: duplicate article rows"
        assert articles == reference[0], f"trial {trial} (killed at {delay:.2f} s): articles"
        assert entries == reference[1], f"trial {trial} (killed at {delay:.2f} s): entries"

    report = ", ".join(f"{d:.2f} s: {c}" for d, c in sorted(kills, key=lambda k: k[0]))
    print(
        f"unkilled runs {cold:.1f} s (first) and {window:.1f} s after opening the database; "
        f"kills (entries, articles, fetches committed): {report}"
    )
    assert len(kills) == KILLS, f"only {len(kills)} runs were killed before they ended"
    after_a_commit = [c for _, c in kills if c is not None and c[0] > 0]
    assert len(after_a_commit) >= AFTER_A_COMMIT, report
    netguard_log = tmp_path / "netguard.log"
    assert not netguard_log.exists(), netguard_log.read_text()


def test_killed_after_a_migration_the_database_still_opens(tmp_path: Path) -> None:
    """A process killed after the schema was written to the WAL, before any checkpoint (the
    WAL DuckDB 1.5.5 cannot replay on open: warehouse/db.py, _replay_wal_attached)."""
    db = tmp_path / "w.duckdb"
    # What a run killed between applying migrations and the checkpoint after them leaves.
    script = f"""
import duckdb, os
from warehouse.db import apply_migrations
con = duckdb.connect({str(db)!r})
apply_migrations(con)
con.execute("INSERT INTO fetches (purpose, url, fetched_at) VALUES ('feed', 'u', now())")
os.kill(os.getpid(), 9)
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert (tmp_path / "w.duckdb.wal").exists()
    with connect(db) as con:
        assert con.execute("SELECT url FROM fetches").fetchall() == [("u",)]
