"""`make cluster-demo`: two Prefect workers ingest the demo at once into one DuckLake.

What it starts, all on 127.0.0.1 and all stopped at the end (Ctrl-C too):
- a throwaway Postgres cluster (Debian's `postgresql`, installed with apt-get when it is
  missing and we are root) in a temporary folder, on a free port: the DuckLake catalog;
- a folder standing in for object storage, where the lake's Parquet files go;
- the demo snapshot (seeds/demo) served over HTTP, the only address the fetcher may reach;
- a local Prefect server, a process work pool and two workers, and the `ingest` deployment
  of prefect.yaml on that pool (without its concurrency limit of 1: the lake takes writers
  side by side).

It then runs two ingest flow runs at once, over the two halves of the demo sources
(`shard` 1/2 and 2/2), waits for both on the Prefect server, checks that every demo article
is stored exactly once, and runs a query through DuckDB after the one ATTACH line analysts use.

The two runs overlap by construction, not by luck: the snapshot server holds every request
(a gate) until the Prefect server reports both runs RUNNING, so neither can get past its first
fetch, let alone end, before the other has started. The runs' recorded start and end times
are printed, and the test checks the overlap from them.
With --compare it also times one run over all sources into a second lake, for docs/scaling.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx

from flows.serve import (
    api_client,
    free_port,
    local_server,
    read_deployments,
    stop_process_group,
    to_deployment,
)
from newswatch.snapshot import SnapshotHandler, rebase_file, serve_snapshot
from warehouse.db import connect, load_extension

REPO = Path(__file__).resolve().parents[1]

POOL = "newswatch-demo"
TIMEOUT = 600.0  # seconds for the workers to come up and for the runs to finish
GATE_TIMEOUT = 120.0  # the longest a request is held waiting for the second run to start
QUERY = """
SELECT topic,
       count(*) FILTER (WHERE relevance = 'about') AS about,
       count(*) FILTER (WHERE relevance = 'mention') AS mentions,
       count(DISTINCT outlet) AS outlets,
       count(DISTINCT language) AS languages
FROM nw.articles_tagged GROUP BY topic ORDER BY topic
"""


def say(text: str) -> None:
    print(f"cluster-demo: {text}", flush=True)


# --- Postgres -------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The folder of pg_ctl and initdb, installing Debian's postgresql when it is missing."""
    for _ in range(2):
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_version)
        if found:
            return found[-1].parent
        if shutil.which("pg_ctl") and shutil.which("initdb"):
            return Path(shutil.which("pg_ctl") or "").parent
        if os.geteuid() != 0:
            sys.exit("cluster-demo: needs Postgres: sudo apt-get install postgresql, then again")
        say("installing Debian's postgresql (apt-get)")
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
            check=True,
            env=env,
        )
    sys.exit("cluster-demo: postgresql installed, but no pg_ctl found")


def _version(pg_ctl: Path) -> float:
    try:
        return float(pg_ctl.parts[-3])
    except ValueError:
        return 0.0


@dataclass(frozen=True, slots=True)
class Postgres:
    port: int
    log: Path  # every statement is logged: the catalog's round trips are counted from it

    def statements(self) -> int:
        text = self.log.read_text(errors="replace")
        return text.count("LOG:  statement: ") + text.count("LOG:  execute ")


@contextmanager
def postgres(bin_dir: Path) -> Iterator[Postgres]:
    """A throwaway cluster on 127.0.0.1 (trust authentication, user postgres) for the block.
    As root, its files belong to the postgres user, since Postgres refuses to run as root."""
    root = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "postgres.log"
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run([*as_owner, *initdb, "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    pg_ctl = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        for _ in range(5):  # a free port can be taken between looking and listening
            port = free_port()
            options = f"-h 127.0.0.1 -p {port} -k {root} -c log_statement=all"
            started = subprocess.run(
                [*pg_ctl, "-o", options, "-l", str(log), "-w", "start"], capture_output=True
            )
            if started.returncode == 0:
                break
        else:
            sys.exit(f"cluster-demo: Postgres did not start:\n{log.read_text()[-2000:]}")
        psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        for db in ("newswatch", "newswatch_one"):
            subprocess.run([*psql, "-q", "-c", f"CREATE DATABASE {db}"], check=True)
        yield Postgres(port, log)
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- Prefect --------------------------------------------------------------------------------


def deploy_ingest(api: str) -> str:
    """The ingest deployment of prefect.yaml on the demo's process pool; returns its id."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    spec = next(s for s in read_deployments(REPO / "prefect.yaml") if s.name == "ingest")
    with temporary_settings({PREFECT_API_URL: api}):
        deployment = to_deployment(
            spec,
            work_pool_name=POOL,
            schedules=[],  # runs are started by hand below
            concurrency_limit=None,
            job_variables={"working_dir": str(REPO)},  # what the pull step does
        )
        return str(deployment.apply())


def start_worker(stack: ExitStack, name: str, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "worker",
                "start",
                "--pool",
                POOL,
                "--type",
                "process",
                "--limit",
                "1",
                "--name",
                name,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
    stack.callback(stop_process_group, worker)


def wait_until(what: str, check: Any, timeout: float = TIMEOUT) -> Any:
    """Poll `check()` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.5)
    sys.exit(f"cluster-demo: timed out waiting for {what}")


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class GatedHandler(SnapshotHandler):
    """The demo snapshot, each request held until `gate` opens (or GATE_TIMEOUT passes)."""

    gate = threading.Event()

    def route(self, path: str) -> bool:
        self.gate.wait(GATE_TIMEOUT)
        return False


def run_flows(api: httpx.Client, deployment: str, shards: list[str | None]) -> list[dict]:
    """Start one ingest run per shard at once; open the snapshot's gate once all of them are
    running (or one has already ended); wait until all are final; the runs' records."""
    ids = []
    for shard in shards:
        parameters = {"shard": shard} if shard else {}
        response = api.post(
            f"/deployments/{deployment}/create_flow_run", json={"parameters": parameters}
        )
        response.raise_for_status()
        ids.append(response.json()["id"])

    def states() -> list[str]:
        return [api.get(f"/flow_runs/{i}").json()["state"]["type"] for i in ids]

    wait_until("the flow runs to start", lambda: all(s in {"RUNNING", *FINAL} for s in states()))
    say(f"runs {', '.join(states())}: the snapshot answers from now on")
    GatedHandler.gate.set()

    def finished() -> list[dict] | None:
        runs = [api.get(f"/flow_runs/{i}").json() for i in ids]
        return runs if all(r["state"]["type"] in FINAL for r in runs) else None

    return wait_until("the flow runs", finished)


def conflicts(api: httpx.Client, runs: list[dict]) -> int:
    """Commit conflicts the runs retried (the warehouse logs each one)."""
    body = {"logs": {"flow_run_id": {"any_": [r["id"] for r in runs]}}, "limit": 200}
    logs = api.post("/logs/filter", json=body).json()
    return sum("commit conflict" in entry["message"] for entry in logs)


def span(runs: list[dict]) -> tuple[float, bool]:
    """Seconds from the first start to the last end, and whether all the runs overlapped."""
    starts = [datetime.fromisoformat(r["start_time"]) for r in runs]
    ends = [datetime.fromisoformat(r["end_time"]) for r in runs]
    return (max(ends) - min(starts)).total_seconds(), max(starts) < min(ends)


# --- the lake -------------------------------------------------------------------------------


def check_exactly_once(lake: str) -> dict[str, int]:
    """Every demo article stored once: no id or canonical URL twice, every entry that named
    an article pointing at a stored one, none left pending, every source polled."""
    with connect(lake, read_only=True) as con:
        row = con.execute(
            """
            SELECT (SELECT count(*) FROM articles),
                   (SELECT count(DISTINCT id) FROM articles),
                   (SELECT count(DISTINCT canonical_url) FROM articles),
                   (SELECT count(*) FROM entries),
                   (SELECT count(*) FROM entries WHERE status = 'pending'),
                   (SELECT count(*) FROM entries e WHERE e.article_id IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = e.article_id)),
                   (SELECT count(*) FROM entries WHERE status = 'failed'),
                   (SELECT count(*) FROM sources),
                   (SELECT count(*) FROM feed_state WHERE last_poll_at IS NOT NULL),
                   (SELECT count(*) FROM ducklake_snapshots('nw'))
            """
        ).fetchone()
    assert row is not None
    names = [
        "articles",
        "ids",
        "urls",
        "entries",
        "pending",
        "dangling",
        "failed",
        "sources",
        "polled",
        "snapshots",
    ]
    counts = dict(zip(names, row, strict=True))
    problems = [
        counts["articles"] != counts["ids"] and "an article id stored twice",
        counts["articles"] != counts["urls"] and "a canonical URL stored twice",
        counts["pending"] and "entries left pending",
        counts["dangling"] and "entries pointing at no article",
        counts["polled"] != counts["sources"] and "sources never polled",
        counts["articles"] == 0 and "no articles at all",
    ]
    if any(problems):
        sys.exit(f"cluster-demo: FAILED: {[p for p in problems if p]} {counts}")
    return counts


def analyst_query(attach: str) -> list[tuple[Any, ...]]:
    """What an analyst does: a plain DuckDB, the ATTACH line, SQL."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        for extension in ("ducklake", "postgres"):  # offline here: from their pip wheels
            load_extension(con, extension)
        con.execute(attach)
        say(f"query: {' '.join(QUERY.split())}")
        return con.execute(QUERY).fetchall()
    finally:
        con.close()


def parquet_files(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.parquet"))


# --- the demo -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--compare", action="store_true", help="also time one run over all sources, alone"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop everything on SIGTERM too
    began = time.monotonic()
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="newswatch-cluster-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        pg = stack.enter_context(postgres(postgres_bin()))
        catalog = f"postgres:dbname=newswatch host=127.0.0.1 port={pg.port} user=postgres"
        store = work / "object-store"  # stands in for s3://bucket/newswatch/
        lake = f"ducklake:{catalog} data_path={store}/"
        say(f"Postgres catalog on 127.0.0.1:{pg.port}, Parquet files under {store}")
        with connect(lake):  # creates the catalog's tables and applies the migrations
            pass
        snapshot = stack.enter_context(serve_snapshot(REPO / "seeds" / "demo", 0, GatedHandler))
        feeds = rebase_file(REPO / "seeds/demo/feeds.yaml", work / "feeds.yaml", snapshot.base)
        server = stack.enter_context(local_server(work / "prefect", ui=False))
        say(f"Prefect server at {server.api_url}; demo snapshot at {snapshot.base}")
        api = stack.enter_context(api_client(server.api_url))
        api.post("/work_pools/", json={"name": POOL, "type": "process"}).raise_for_status()
        deployment = deploy_ingest(server.api_url)
        for n in (1, 2):
            env = worker_env(work / f"worker-{n}", server.api_url, lake, feeds, snapshot.host_port)
            start_worker(stack, f"worker-{n}", env, work / f"worker-{n}.log")
        wait_until("two workers online", lambda: len(online_workers(api)) == 2)
        say(f"two workers online in pool {POOL}; starting ingest shard=1/2 and shard=2/2")
        before = pg.statements()
        runs = run_flows(api, deployment, ["1/2", "2/2"])
        report_runs(api, runs)
        counts = check_exactly_once(lake)
        say(
            f"every demo article stored exactly once: {counts['articles']} articles, "
            f"{counts['entries']} entries ({counts['failed']} failed pages), "
            f"{counts['polled']}/{counts['sources']} sources polled; "
            f"{parquet_files(store)} Parquet files; catalog: {counts['snapshots']} snapshots, "
            f"{pg.statements() - before} Postgres statements during the runs"
        )
        attach = f"ATTACH 'ducklake:{catalog}' AS nw (DATA_PATH '{store}/')"
        say(f"analysts attach it with: {attach}")
        rows = analyst_query(attach)
        print_table(["topic", "about", "mentions", "outlets", "languages"], rows)
        if args.compare:
            compare(api, deployment, work, pg, counts["articles"], runs)
    say(f"done in {time.monotonic() - began:.0f} s; Postgres, Prefect and workers stopped")
    return 0


def worker_env(home: Path, api: str, lake: str, feeds: Path, host_port: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
    return env | {
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "warehouse",  # commit conflicts in the runs' logs
        "NEWSWATCH_WAREHOUSE": lake,
        "NEWSWATCH_DB": str(home / "newswatch.duckdb"),  # the raw archive goes beside it
        "NEWSWATCH_FEEDS": str(feeds),
        "NEWSWATCH_WATCHLIST": str(REPO / "seeds" / "watchlist.yaml"),
        "NEWSWATCH_ALLOWED_HOSTS": host_port,
        "NEWSWATCH_PER_HOST_DELAY": "0",  # one loopback server stands in for every outlet
        "NEWSWATCH_EXTRACT_WORKERS": "1",  # two workers share this machine's cores
        # The first requests wait at the snapshot's gate until both runs are running.
        "NEWSWATCH_FEED_TIMEOUT": str(GATE_TIMEOUT + 30),
        "NEWSWATCH_PAGE_TIMEOUT": str(GATE_TIMEOUT + 30),
    }


def online_workers(api: httpx.Client) -> list[dict]:
    workers = api.post(f"/work_pools/{POOL}/workers/filter", json={}).json()
    return [w for w in workers if w.get("status") == "ONLINE"]


def report_runs(api: httpx.Client, runs: list[dict]) -> None:
    for r in runs:
        say(
            f"flow run {r['name']} shard={r['parameters'].get('shard')}: "
            f"{r['state']['type']} in {r['total_run_time']:.1f} s "
            f"(start {r['start_time']}, end {r['end_time']})"
        )
    seconds, overlapped = span(runs)
    say(
        f"both runs {'overlapped' if overlapped else 'did NOT overlap'}; {seconds:.1f} s from "
        f"first start to last end; {conflicts(api, runs)} commit conflicts retried"
    )
    failed = [r for r in runs if r["state"]["type"] != "COMPLETED"]
    for r in failed:
        body = {"logs": {"flow_run_id": {"any_": [r["id"]]}}, "limit": 200}
        for entry in api.post("/logs/filter", json=body).json()[-30:]:
            print(f"  {r['name']}: {entry['message']}", flush=True)
    if failed:
        sys.exit("cluster-demo: FAILED: a flow run did not complete (its logs are above)")


def compare(
    api: httpx.Client, deployment: str, work: Path, pg: Postgres, articles: int, two: list[dict]
) -> None:
    """One run over every source into a second, empty lake: what the second worker saves."""
    say("--compare: one run over all sources into a second lake")
    catalog = f"postgres:dbname=newswatch_one host=127.0.0.1 port={pg.port} user=postgres"
    lake = f"ducklake:{catalog} data_path={work / 'object-store-one'}/"
    with connect(lake):
        pass
    before = pg.statements()
    # The workers were started for the first lake: point this run at the second one.
    response = api.post(
        f"/deployments/{deployment}/create_flow_run",
        json={"job_variables": {"env": {"NEWSWATCH_WAREHOUSE": lake}}},
    )
    response.raise_for_status()
    run_id = response.json()["id"]

    def finished() -> dict | None:
        run = api.get(f"/flow_runs/{run_id}").json()
        return run if run["state"]["type"] in FINAL else None

    one = wait_until("the single run", finished)  # the gate is open since the two runs
    statements = pg.statements() - before
    counts = check_exactly_once(lake)
    (two_seconds, _), (one_seconds, _) = span(two), span([one])
    say(
        f"one run over all sources: {one_seconds:.1f} s, {counts['articles']} articles, "
        f"{counts['snapshots']} snapshots, {statements} Postgres statements; two runs at once: "
        f"{two_seconds:.1f} s, {articles} articles; one/two = {one_seconds / two_seconds:.2f}"
    )


def print_table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    widths = [max(len(str(v)) for v in [c, *(r[i] for r in rows)]) for i, c in enumerate(columns)]
    for line in [columns, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
