"""`make cluster-demo`: Postgres, a Prefect server, two workers, two ingest runs at once into
one DuckLake (overlapping in time, checked from the runs' recorded start and end times);
every demo article stored once; a query through DuckDB; everything stopped."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_ARTICLES, REPO

pytestmark = pytest.mark.slow


def _postgres_available() -> bool:
    return bool(list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")) or shutil.which("pg_ctl"))


def test_cluster_demo() -> None:
    if not _postgres_available() and os.geteuid() != 0:
        pytest.skip("needs Debian's postgresql, or root to install it")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "cluster_demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    # The demo holds the snapshot's answers until both runs are running, so they must overlap:
    # each started (entered RUNNING) before the other ended, by the times Prefect recorded.
    runs = re.findall(r"shard=(\d)/2: COMPLETED in [\d.]+ s \(start (\S+), end (\S+)\)", out)
    assert sorted(shard for shard, _, _ in runs) == ["1", "2"], out
    starts = [datetime.fromisoformat(start) for _, start, _ in runs]
    ends = [datetime.fromisoformat(end) for _, _, end in runs]
    assert max(starts) < min(ends), f"the two runs did not overlap: {runs}"
    assert "both runs overlapped" in out, out
    stored = re.search(r"every demo article stored exactly once: (\d+) articles", out)
    assert stored and int(stored.group(1)) == DEMO_ARTICLES, out
    assert re.search(r"ATTACH 'ducklake:postgres:dbname=newswatch host=127\.0\.0\.1 port=\d+", out)
    topics = {
        line.split()[0] for line in out.splitlines() if re.match(r"^[a-z]+\s+\d+\s+\d+", line)
    }
    assert topics == {"iran", "taiwan", "ukraine", "venezuela"}
    # Everything it started is gone: the Prefect server and Postgres no longer answer.
    api = re.search(r"Prefect server at (\S+);", out)
    port = re.search(r"Postgres catalog on 127\.0\.0\.1:(\d+)", out)
    assert api and port
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{api.group(1)}/health", timeout=2, trust_env=False)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(port.group(1))), timeout=2).close()
