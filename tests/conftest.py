"""Run-wide fixtures: real servers on 127.0.0.1, real DuckDB files, one Prefect test harness.

No test talks to any address but 127.0.0.1, and none sleeps to wait: the server's slow route
blocks on an event that the fixture sets when the tests are done.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from newswatch.settings import Settings
from newswatch.snapshot import SnapshotHandler, SnapshotServer, rebase_file, serve_snapshot
from tests import netguard

# From here on nothing in this process connects, sends or looks up a name beyond 127.0.0.1.
netguard.install()

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "seeds" / "demo"
_MANIFEST = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
# What an ingest of the demo snapshot stores: every demo page, and every Telegram post with
# text (seeds/demo/README.md): 51 + 9.
DEMO_ARTICLES = len(_MANIFEST["pages"]) + sum(p["has_text"] for p in _MANIFEST["telegram"]["posts"])
DATA = Path(__file__).resolve().parent / "data"
# Third-party text (the corpus, the example articles) is never in the repository: it is read
# from ../shared beside it. NEWSWATCH_SHARED points elsewhere (e.g. /nonexistent, to run the
# suite as a clone without ../shared would); it is read here, once, before the session fixture
# below clears every NEWSWATCH_* variable.
SHARED = Path(os.environ.get("NEWSWATCH_SHARED") or REPO.parent / "shared")
CORPUS = SHARED / "corpus"

# The corpus feeds the feed, discovery and property tests read, by the name the tests use
# (origins in tests/data/README.md and ../shared/corpus/feeds/index.json).
TEST_FEEDS = {
    "livemint.xml": "feeds/real/netnewswire/livemint.xml",
    "heise.atom": "feeds/real/rss-parser/heise.atom",
    "rss_1.0_iso8859.xml": "feeds/real/feed-rs/rss1/rss_1.0_iso8859.xml",
    "heraldsun.rss": "feeds/real/rss-parser/heraldsun.rss",
    "jsonfeed_elastic_1.1.json": "feeds/real/feed-rs/jsonfeed/jsonfeed_elastic_1.1.json",
    "allthis.json": "feeds/real/netnewswire/allthis.json",
    "allthis-partial.json": "feeds/real/netnewswire/allthis-partial.json",
    "osm-pl.xml": "feeds/real/fastfeedparser/osm-pl.xml",
    "feed-test-ru.xml": "feeds/real/prof18-rssparser/feed-test-ru.xml",
    "http_text_xml_charset_2.xml": "feeds/edge/feedparser/encoding/http_text_xml_charset_2.xml",
    "http_text_xml_charset_overrides_encoding_2.xml": (
        "feeds/edge/feedparser/encoding/http_text_xml_charset_overrides_encoding_2.xml"
    ),
}


def run_newswatch(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `newswatch` command in a process of its own (with `env`, else this process's
    environment), its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def bench_module(name: str) -> ModuleType:
    """`bench/<name>.py` loaded as the module `bench_<name>`, with bench/ on the path last (so
    its siblings import, and bench/events.py does not hide the `events` package)."""
    if str(REPO / "bench") not in sys.path:
        sys.path.append(str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def shared_file(relpath: str) -> Path:
    """`../shared/<relpath>`; skips the calling test, saying why, when it is not there."""
    path = SHARED / relpath
    if not path.is_file():
        pytest.skip(
            f"needs ../shared/{relpath}: the third-party corpus is not in this repository"
            f" (looked in {SHARED})"
        )
    return path


def corpus_bytes(relpath: str) -> bytes:
    """The bytes of `../shared/corpus/<relpath>`, gunzipped when the corpus stores them so
    (pages are `html/*.html.gz`); skips the calling test when the corpus is absent."""
    raw = shared_file(f"corpus/{relpath}").read_bytes()
    return gzip.decompress(raw) if relpath.endswith(".gz") else raw


def feed_bytes(name: str) -> bytes:
    """One of TEST_FEEDS, read from the corpus (skips when it is absent)."""
    return corpus_bytes(TEST_FEEDS[name])


# Released when the session ends, so a hanging route never outlives the tests.
RELEASE = threading.Event()


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Prefect state in a temporary home; no proxies, no stray newswatch settings."""
    home = tmp_path_factory.mktemp("prefect-home")
    saved = dict(os.environ)
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    for name in list(os.environ):
        if name.startswith("NEWSWATCH_") or name.lower().endswith("_proxy"):
            del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _no_traffic_beyond_loopback() -> Iterator[None]:
    """Fail the test during which anything tried to reach beyond 127.0.0.1 (tests/netguard.py
    refused it before a packet left)."""
    before = len(netguard.violations)
    yield
    new = netguard.violations[before:]
    assert not new, f"network traffic beyond 127.0.0.1 attempted: {new}"


class FaultyHandler(SnapshotHandler):
    """The snapshot plus the bad answers real feeds and pages give."""

    def route(self, path: str) -> bool:
        self.server.hits.append(path)  # type: ignore[attr-defined]
        if path == "/faults/500.xml":
            self.send_body(500, b"<h1>Internal Server Error</h1>", "text/html")
        elif path == "/faults/not-xml.xml":
            self.send_body(200, b"this is not a feed, just text\n", "application/rss+xml")
        elif path == "/faults/hang.html":
            RELEASE.wait(timeout=60)  # longer than any page timeout in the tests
            self.send_body(200, b"<html><body>too late</body></html>", "text/html")
        elif path == "/faults/hang-feed.xml":
            self.send_body(200, _hang_feed(self.server.base), "application/rss+xml")
        elif path == "/faults/redirect-loop":
            self.send_body(302, b"", "text/plain", Location="/faults/redirect-loop")
        elif path == "/faults/big.xml":
            self.send_body(200, b"<rss>" + b" " * 2_000_000 + b"</rss>", "application/rss+xml")
        else:
            return False
        return True


def _hang_feed(base: str) -> bytes:
    """A feed whose only item links to the page that never answers in time."""
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Hangs</title>'
        f"<link>{base}/</link><description>x</description>"
        f"<item><title>Slow page</title><link>{base}/faults/hang.html</link>"
        "<guid>hang-1</guid><pubDate>Mon, 05 Jan 2026 10:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    ).encode()


@pytest.fixture(scope="session")
def server() -> Iterator[SnapshotServer]:
    """The demo snapshot served on 127.0.0.1 (any free port), with fault routes."""
    with serve_snapshot(DEMO, 0, FaultyHandler) as srv:
        srv.hits = []  # type: ignore[attr-defined]
        yield srv
        RELEASE.set()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (a temporary API database) for every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def settings(tmp_path: Path, server: SnapshotServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings aimed at a fresh database in tmp_path and the loopback server only.

    Flows build their settings from the environment, so the same values are set there."""
    feeds = rebase_file(DEMO / "feeds.yaml", tmp_path / "feeds.yaml", server.base)
    env = {
        "NEWSWATCH_FEEDS": str(feeds),
        "NEWSWATCH_WATCHLIST": str(REPO / "seeds" / "watchlist.yaml"),
        "NEWSWATCH_DB": str(tmp_path / "data" / "newswatch.duckdb"),
        "NEWSWATCH_ALLOWED_HOSTS": server.host_port,
        "NEWSWATCH_PAGE_TIMEOUT": "2",
        "NEWSWATCH_FEED_TIMEOUT": "2",
        # One loopback server stands in for every host: no politeness delay against it.
        "NEWSWATCH_PER_HOST_DELAY": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


class ScriptedHandler(SnapshotHandler):
    """Answers each path with the function a test registered for it in `server.routes`
    (called with the handler and the query string), else 404. Records every request."""

    def route(self, path: str) -> bool:
        srv = self.server
        with srv.lock:  # type: ignore[attr-defined]
            srv.requests.append((path, dict(self.headers)))  # type: ignore[attr-defined]
        answer = srv.routes.get(path)  # type: ignore[attr-defined]
        if answer is None:
            self.send_body(404, b"not found", "text/plain")
        else:
            answer(self, self.path.partition("?")[2])
        return True


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[SnapshotServer]:
    """A loopback server whose answers the test scripts: `scripted.routes[path] = fn`."""
    with serve_snapshot(tmp_path, 0, ScriptedHandler) as srv:
        srv.routes = {}  # type: ignore[attr-defined]
        srv.requests = []  # type: ignore[attr-defined]
        srv.lock = threading.Lock()  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What `make demo` does (`newswatch.demo.run_demo`: serve the snapshot, ingest, digest
    every day), run once for the session in a temporary folder: the demo database and its
    digests, for the tests that read them (issue 7). Returns the `DemoReport`."""
    from newswatch.demo import run_demo

    home = tmp_path_factory.mktemp("demo")
    settings = Settings(
        db=home / "data" / "newswatch.duckdb", watchlist=REPO / "seeds" / "watchlist.yaml"
    )
    # run_demo sets these for its own run; keep them from leaking into other tests.
    saved = {k: os.environ.get(k) for k in ("NEWSWATCH_ALLOWED_HOSTS", "NEWSWATCH_PER_HOST_DELAY")}
    try:
        return run_demo(DEMO, settings, lambda _line: None)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
