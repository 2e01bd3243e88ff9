"""The page stream of an ingest run: each distinct page fetched once, archived, extracted in
the run's pool as it arrives; failures come back as data, in the order of the pages."""

from __future__ import annotations

from pathlib import Path

from extractors.records import FeedEntry
from extractors.urls import canonical_url
from newswatch.options import page_options
from newswatch.settings import Settings
from newswatch.snapshot import SnapshotServer
from pipeline.extract import ExtractionPool
from pipeline.pages import fetch_and_extract, group_by_page
from warehouse.archive import ArchiveWriter, Pointer, read_body
from warehouse.queries import PendingEntry

PAGE = "/pages/demo-wire/caracas-wakes-to-quiet-streets.html"


def _pending(source: str, url: str) -> PendingEntry:
    return PendingEntry(source, source, canonical_url(url), FeedEntry(guid=url, url=url))


def test_pages_are_fetched_once_archived_extracted_and_failures_kept(
    settings: Settings, server: SnapshotServer, tmp_path: Path
) -> None:
    good, missing = f"{server.base}{PAGE}", f"{server.base}/pages/no-such-page.html"
    # Two feeds link the same page (one with a tracking parameter): one fetch for both.
    pending = [
        _pending("A", good),
        _pending("B", missing),
        _pending("C", f"{good}?utm_source=rss"),
    ]
    groups = group_by_page(pending)
    assert [[p.source for p in g] for g in groups] == [["A", "C"], ["B"]]
    with (
        ArchiveWriter(tmp_path / "archive", "run") as archive,
        ExtractionPool(settings.watchlist, 2, settings.extract_timeout) as pool,
    ):
        batch = fetch_and_extract(page_options(settings), groups, archive, pool)
    (a, fetch_a, pointer_a), (b, fetch_b, pointer_b) = batch.fetches
    assert (a, fetch_a.status, b, fetch_b.status, pointer_b) == ("A", 200, "B", 404, None)
    assert isinstance(pointer_a, Pointer)
    archived = read_body(tmp_path / "archive", pointer_a).body
    # The batch keeps only the fetch's size: the body is in the archive, not held twice.
    assert fetch_a.body == b"" and fetch_a.size == len(archived) > 1000
    page, failed = batch.pages
    assert [(k.source, k.guid) for k in page.entries] == [
        ("A", good),
        ("C", f"{good}?utm_source=rss"),
    ]
    assert page.article is not None and "Shops stayed shuttered" in page.article.text
    assert (page.archive_path, page.archive_offset) == (pointer_a.path, pointer_a.offset)
    assert page.fingerprint is not None and page.signature == page.fingerprint.signature_bytes()
    assert (failed.source, failed.article, failed.error_kind) == ("B", None, "http_status")
