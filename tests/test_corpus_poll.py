"""Every feed of the shared corpus through the real poller, over HTTP, with its recorded headers.

The corpus (`../shared/corpus/feeds/`) holds 347 real and hand-made feeds, 28 of them broken
on purpose. Each is served on 127.0.0.1 with the HTTP headers feedparser's own tests pair
with it, polled, and stored in a real DuckDB file: nothing may raise, every well-formed feed
with entries must give entries, and every failure must be stored with its reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.records import Source
from newswatch.options import poll_options
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotHandler, serve_snapshot
from pipeline.poll import poll_sources
from tests.conftest import CORPUS
from warehouse import load
from warehouse.db import connect

FEEDS = CORPUS / "feeds"
TYPES = {".json": "application/json", ".opml": "text/x-opml", ".txt": "text/plain"}


class CorpusHandler(SnapshotHandler):
    """Serves corpus files with the headers index.json records for them."""

    def route(self, path: str) -> bool:
        record = self.server.records.get(path.lstrip("/"))  # type: ignore[attr-defined]
        if record is None:
            return False
        headers = dict(_header(h) for h in record.get("feedparser_test_http_headers") or [])
        ctype = headers.pop("content-type", TYPES.get(Path(path).suffix, "application/xml"))
        body = (FEEDS / record["file"]).read_bytes()
        self.send_body(200, body, ctype, **{k.replace("-", "_"): v for k, v in headers.items()})
        return True


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


@pytest.mark.slow  # ~16 s: every corpus feed through the poller; CI runs it
@pytest.mark.skipif(
    not FEEDS.is_dir(),
    reason="needs ../shared/corpus/feeds: the third-party corpus is not in this repository"
    f" (looked in {FEEDS})",
)
def test_every_corpus_feed_through_the_poller(tmp_path: Path) -> None:
    records = json.loads((FEEDS / "index.json").read_text(encoding="utf-8"))
    with serve_snapshot(FEEDS, 0, CorpusHandler) as server:
        server.records = {r["file"]: r for r in records}  # type: ignore[attr-defined]
        settings = Settings(allowed_hosts=server.host_port, per_host_delay=0, concurrency=10)
        sources = [
            Source(r["file"], "rss", f"{server.base}/{r['file']}", "en", "US", "corpus")
            for r in records
        ]
        polls = poll_sources(poll_options(settings), sources, {}, {})
    now = datetime.now(UTC)
    with connect(tmp_path / "corpus.duckdb") as con:
        load.sync_sources(con, sources, now)
        for poll in polls:
            load.record_poll(con, "corpus", poll.source.name, poll.fetch, poll.parsed, now)
        stored = dict(
            con.execute(
                "SELECT source, last_result || coalesce(' ' || last_error_kind, '') FROM feed_state"
            ).fetchall()
        )
        failures_without_reason = con.execute(
            "SELECT count(*) FROM feed_state WHERE last_result IN ('failed', 'partial')"
            " AND (last_error_kind IS NULL OR last_error IS NULL)"
        ).fetchone()[0]
        entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]

    by_file = {p.source.name: p for p in polls}
    wellformed_with_entries = [r for r in records if r["xml_wellformed"] and r["fp_entries"] > 0]
    empty = [r["file"] for r in wellformed_with_entries if not by_file[r["file"]].parsed.entries]  # type: ignore[union-attr]
    outcomes: dict[str, int] = {}
    for value in stored.values():
        outcomes[value] = outcomes.get(value, 0) + 1
    print(
        f"\ncorpus through the poller: served {len(records)}, fetched "
        f"{sum(p.fetch.ok for p in polls)}, parsed {sum(p.parsed is not None for p in polls)}, "
        f"entries stored {entries}, recorded failures "
        f"{sum(v.startswith('failed') for v in stored.values())}; "
        f"outcomes {sorted(outcomes.items())}"
    )
    assert all(p.fetch.ok for p in polls)
    assert len(stored) == len(records)
    assert failures_without_reason == 0
    assert empty == [], f"well-formed feeds with entries that gave none: {empty}"
    parsed = sum(len(p.parsed.entries) for p in polls if p.parsed is not None)
    assert entries == parsed == 1583  # every entry parsed is stored
