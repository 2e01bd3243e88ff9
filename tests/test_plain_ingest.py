"""The ingest pipeline as plain functions, without Prefect (what issue 18's hand-run commands
build on): the same steps the flow runs, over the demo snapshot on 127.0.0.1, in a fresh
interpreter that never imports Prefect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from newswatch.settings import Settings
from warehouse.db import connect

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, logging, sys, uuid
from newswatch.config import load_sources, shard_filter
from newswatch.options import ingest_options
from newswatch.settings import load_settings
from pipeline import ingest as steps
from pipeline.extract import start_worker_server

settings = load_settings()
start_worker_server()
with steps.open_run(ingest_options(settings), uuid.uuid4().hex) as run:
    sources = load_sources(settings.feeds)
    steps.ingest_sources(run, sources, False, shard_filter(None), logging.getLogger("plain"))
print(json.dumps(run.summary.counts() | {"prefect": "prefect" in sys.modules,
                                         "openings": run.writer.openings}))
"""


# The run with fetch batches of 10 pages, counting the pages each block stores; the next
# batch's fetch reads as finished when a batch is extracted (a run bound by the CPU) or, with
# ON_WIRE=1, as still under way (a run that waits on the network).
SMALL_BATCHES = """
import json, logging, os, uuid
from newswatch.config import load_sources, shard_filter
from newswatch.options import ingest_options
from newswatch.settings import load_settings
from pipeline import ingest as steps
from pipeline.extract import start_worker_server
from pipeline.pages import InThread

class Fetching(InThread):
    def done(self):
        if os.environ.get("ON_WIRE"):
            return False
        self.wait()
        return True

blocks = []
def load(run, pages, fetches):
    if fetches:  # a block of pages, not of feed-borne posts
        blocks.append(len(fetches))
    return steps.load_pages(run, pages, fetches)

def fetch(run, groups):
    o = run.options.pages
    return Fetching(steps.fetch_batch, o, groups, run.archive, run.pool, run.progress.page)

settings = load_settings()
steps.PAGE_BATCH = 10
start_worker_server()
with steps.open_run(ingest_options(settings), uuid.uuid4().hex) as run:
    sources = load_sources(settings.feeds)
    steps.ingest_sources(run, sources, False, shard_filter(None), logging.getLogger("plain"),
                         steps.BatchSteps(fetch_pages=fetch, load_pages=load))
print(json.dumps(run.summary.counts() | {"blocks": blocks}))
"""


def _ingest(env: dict[str, str] | None = None, script: str = SCRIPT) -> dict[str, Any]:
    """`script`'s run in a fresh interpreter: its counts, and how often it opened the file."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def test_ingest_runs_as_plain_functions(settings: Settings) -> None:
    # The `settings` fixture put the loopback server's settings in this process's environment.
    summary = _ingest()
    with connect(settings.db, read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        runs = con.execute("SELECT status FROM runs").fetchall()
    assert summary["prefect"] is False
    assert summary["articles_new"] + summary["duplicates"] == articles >= 40
    assert summary["duplicates"] >= 2
    assert runs == [("partial",)]  # the demo's broken feed fails on purpose
    assert summary["openings"] >= 5  # closed after each step: start, sources, polls, ...


def test_a_held_warehouse_is_opened_once_and_stores_the_same(settings: Settings) -> None:
    # NEWSWATCH_HOLD_WAREHOUSE=true: nobody asks for the file, so the run opens it once.
    summary = _ingest(dict(os.environ, NEWSWATCH_HOLD_WAREHOUSE="true"))
    with connect(settings.db, read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        linked = con.execute("SELECT count(event_id) FROM articles").fetchone()[0]  # type: ignore[index]
    assert summary["openings"] == 1
    assert summary["articles_new"] + summary["duplicates"] == articles == linked >= 40


def test_event_linking_can_be_turned_off(settings: Settings) -> None:
    # NEWSWATCH_LINK_EVENTS=false: the articles land without an event (a cheap run); the next
    # batch stored with linking on gives them theirs (tests/test_events_pipeline.py).
    _ingest(dict(os.environ, NEWSWATCH_LINK_EVENTS="false"))
    with connect(settings.db, read_only=True) as con:
        stored, linked = con.execute("SELECT count(*), count(event_id) FROM articles").fetchone()  # type: ignore[misc]
        links = con.execute("SELECT count(*) FROM event_links").fetchone()[0]  # type: ignore[index]
    assert stored >= 40
    assert linked == 0 and links == 0


def _blocks(settings: Settings, on_wire: bool) -> list[int]:
    """The pages of each block of SMALL_BATCHES's run; every page stored once."""
    env = dict(os.environ, ON_WIRE="1") if on_wire else None
    summary = _ingest(env, script=SMALL_BATCHES)
    with connect(settings.db, read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        fetched = con.execute("SELECT count(*) FROM fetches WHERE purpose = 'page'").fetchone()[0]  # type: ignore[index]
    blocks: list[int] = summary["blocks"]
    assert sum(blocks) == fetched >= 40
    assert summary["articles_new"] + summary["duplicates"] == articles
    return blocks


def test_two_fetched_batches_are_stored_in_one_block(settings: Settings) -> None:
    # STORE_BATCHES: while the run is bound by the CPU (the next batch is fetched by the time
    # one is extracted) a block of the warehouse (an opening, a checkpoint) stores two fetched
    # batches; the last block takes what is left. Batches of 10 pages here.
    from pipeline.ingest import STORE_BATCHES

    blocks = _blocks(settings, on_wire=False)
    pages = sum(blocks)
    assert STORE_BATCHES == 2
    assert blocks == [20] * (pages // 20) + ([pages % 20] if pages % 20 else [])


def test_a_run_that_waits_on_the_network_stores_each_batch_at_once(settings: Settings) -> None:
    # The next batch still on the wire when one is extracted: nothing to gain by waiting
    # (the block's cost hides behind the network), so each batch is stored at once.
    blocks = _blocks(settings, on_wire=True)
    pages = sum(blocks)
    assert blocks == [10] * (pages // 10) + ([pages % 10] if pages % 10 else [])
