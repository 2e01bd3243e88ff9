"""`newswatch serve` in a subprocess: a local Prefect server, the deployments of prefect.yaml
with their schedules, one run of ingest over the demo snapshot, and a clean stop."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from flows.serve import api_client
from newswatch.snapshot import SnapshotServer, rebase_file
from tests.conftest import DEMO, DEMO_ARTICLES, REPO
from warehouse.db import connect
from warehouse.search import unsearchable

pytestmark = pytest.mark.slow

BOOT = 180.0  # seconds: a Prefect server and a flow run's subprocess on a busy 2-core machine


def _env(tmp_path: Path, server: SnapshotServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
    return env | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # pick up the triggered run at once
        "NEWSWATCH_FEEDS": str(rebase_file(DEMO / "feeds.yaml", tmp_path / "f.yaml", server.base)),
        "NEWSWATCH_DB": str(tmp_path / "data" / "newswatch.duckdb"),
        "NEWSWATCH_ALLOWED_HOSTS": server.host_port,
        "NEWSWATCH_PER_HOST_DELAY": "0",
        "NEWSWATCH_EXTRACT_WORKERS": "1",
    }


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output, line by line, read by a thread (so that waits can time out)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], pattern: str, seen: list[str]) -> re.Match[str]:
    deadline = time.monotonic() + BOOT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"  # exited, waiting to be reaped by whoever inherited it


def test_serve_runs_the_deployments_on_a_local_server(
    tmp_path: Path, server: SnapshotServer
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "newswatch", "serve", "--project", str(REPO)],
        env=_env(tmp_path, server),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines, seen = _lines(process), []
    try:
        started = _wait_for(lines, r"Prefect server at (\S+) \(pid (\d+)", seen)
        api, server_pid = started.group(1), int(started.group(2))
        _wait_for(lines, r"being served", seen)
        with api_client(api) as client:
            found = client.post("/deployments/filter", json={}).json()
            deployments = {d["name"]: d for d in found}
            parameters = {name: d["parameters"] for name, d in deployments.items()}
            schedules = {
                name: [s["schedule"] for s in d["schedules"]] for name, d in deployments.items()
            }
            # What the schedules do every quarter hour: ingest, then index for search.
            states = [
                _final_state(client, _start(client, deployments[name]["id"]))
                for name in ("ingest", "search-index")
            ]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    with connect(tmp_path / "data" / "newswatch.duckdb", read_only=True) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]  # type: ignore[index]
        not_indexed = unsearchable(con)
    assert schedules == {
        "ingest": [{"cron": "*/15 * * * *", "timezone": "UTC", "day_or": True}],
        "digest": [{"cron": "0 6 * * *", "timezone": "UTC", "day_or": True}],
        "search-index": [{"cron": "5-59/15 * * * *", "timezone": "UTC", "day_or": True}],
    }
    assert states == ["COMPLETED", "COMPLETED"], "".join(seen)
    # serve hands the settings' paths to the flows as parameters (not through os.environ).
    db = str((tmp_path / "data" / "newswatch.duckdb").resolve())
    assert {name: p.get("db") for name, p in parameters.items()} == dict.fromkeys(
        ("ingest", "digest", "search-index"), db
    )
    assert parameters["ingest"]["feeds"] == str((tmp_path / "f.yaml").resolve())
    assert "feeds" not in parameters["search-index"]
    assert articles == DEMO_ARTICLES
    assert not_indexed == 0
    assert process.returncode == 0
    deadline = time.monotonic() + 30
    while not _gone(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(server_pid), f"the Prefect server (pid {server_pid}) outlived serve"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{api}/health", timeout=2, trust_env=False)


def _start(client: httpx.Client, deployment_id: str) -> str:
    run = client.post(f"/deployments/{deployment_id}/create_flow_run", json={})
    assert run.status_code == 201, run.text
    return str(run.json()["id"])


def _final_state(client: httpx.Client, run_id: str) -> str:
    deadline = time.monotonic() + BOOT
    while time.monotonic() < deadline:
        state = client.get(f"/flow_runs/{run_id}").json()["state"]["type"]
        if state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return str(state)
        time.sleep(0.5)
    return "TIMED OUT"
