"""Article extraction, canonical URLs and fingerprints on the demo snapshot's real HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from extractors.articles import extract_article
from extractors.fingerprints import content_hash
from extractors.topics import load_watchlist
from extractors.urls import canonical_url, choose_canonical
from newswatch.errors import ExtractionError

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "seeds" / "demo"
MANIFEST = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
WRITTEN = [p for p in MANIFEST["pages"] if p["kind"] == "written"]
BASE = "http://127.0.0.1:8765"


def _extract(path: str):
    return extract_article((DEMO / path).read_bytes(), f"{BASE}/{path}")


@pytest.mark.parametrize("page", WRITTEN, ids=[p["key"] for p in WRITTEN])
def test_written_pages_extract_with_metadata(page: dict) -> None:
    article = _extract(page["path"])
    assert article.title == page["headline"]  # Persian zero-width non-joiners included
    assert article.language == page["lang"]
    assert article.published == datetime.fromisoformat(page["published"].replace("Z", "+00:00"))
    assert article.canonical_url == f"{BASE}/{page['path']}"
    assert len(article.text) > 200
    for boilerplate in ("All rights reserved", "Cookie", "Subscribe"):
        assert boilerplate not in article.text


@pytest.mark.parametrize("page", WRITTEN, ids=[p["key"] for p in WRITTEN])
def test_written_pages_are_about_their_topics(page: dict) -> None:
    watchlist = load_watchlist(REPO / "seeds" / "watchlist.yaml")
    article = _extract(page["path"])
    about = {
        m.topic
        for m in watchlist.tag(article.title, article.text, article.language)
        if m.relevance == "about"
    }
    assert set(page["main"]) <= about


def test_syndicated_copy_has_the_same_fingerprint() -> None:
    original = _extract("pages/demo-wire/us-forces-seize-maduro-in-overnight-raid.html")
    copy = _extract("pages/harbour-herald/us-forces-seize-maduro-in-overnight-raid-on-caracas.html")
    assert original.canonical_url != copy.canonical_url
    assert content_hash(original.text) == content_hash(copy.text)


def test_page_without_text_raises() -> None:
    with pytest.raises(ExtractionError):
        extract_article(b"<html><body><nav>Home</nav></body></html>", "http://x.org/")


def test_canonical_urls() -> None:
    assert (
        canonical_url("HTTPS://Example.COM:443/a/?utm_source=rss&b=1&fbclid=x#top")
        == "https://example.com/a/?b=1"
    )
    assert canonical_url("http://example.com") == "http://example.com/"
    with pytest.raises(ValueError):
        canonical_url("javascript:alert(1)")
    assert (
        choose_canonical("https://www.site.org/a?utm_medium=x", "https://site.org/a")
        == "https://site.org/a"
    )
    assert choose_canonical("https://site.org/a", "https://other.org/a") == "https://site.org/a"


def test_item_without_a_link_becomes_an_article_from_its_own_text() -> None:
    from datetime import UTC

    from extractors.records import EntryKey
    from pipeline.extract import Post, process_post

    watchlist = load_watchlist(REPO / "seeds" / "watchlist.yaml")
    text = "Iran's foreign minister said in Tehran that talks would resume. " * 3
    page, other = (
        process_post(
            Post(EntryKey("Notices", guid), "Notices", "", "Tehran notice", text),
            datetime.now(UTC),
            watchlist,
        )
        for guid in ("n-1", "n-2")
    )
    assert page.article is not None and other.article is not None
    assert page.article.canonical_url.startswith("urn:newswatch:entry:")
    assert page.article.canonical_url != other.article.canonical_url
    assert [m.topic for m in page.matches] == ["iran"]


def test_manifest_matches_the_demo_sources() -> None:
    """manifest.json's sources are demo/feeds.yaml's sources, and each feed file lists as many
    entries as the manifest says; every page it lists is there and is linked from one feed."""
    from extractors.feeds import parse_feed

    sources = yaml.safe_load((DEMO / "feeds.yaml").read_text(encoding="utf-8"))["sources"]
    assert [(f["name"], f["url"]) for f in MANIFEST["sources"]] == [
        (s["name"], s["url"]) for s in sources
    ]
    linked: list[str] = []
    for feed in MANIFEST["sources"]:
        if feed["kind"] in ("rss", "atom", "jsonfeed"):
            parsed = parse_feed((DEMO / feed["file"]).read_bytes(), feed["url"])
            assert len(parsed.entries) == feed["n"], feed["name"]
            linked += [e.url.removeprefix(f"{BASE}/") for e in parsed.entries]
    pages = [p["path"] for p in MANIFEST["pages"]]
    assert all((DEMO / path).is_file() for path in pages)
    assert sorted(linked) == sorted(pages)


def test_htmldate_reads_month_names_of_the_date_languages_only() -> None:
    """Without a date in its markup or feed, a page's text is searched for one; dateparser
    (behind htmldate) then reads month names in `DATE_LANGUAGES` only, not in every locale it
    has (40 MB and 1.2 s a worker)."""
    import htmldate.extractors

    from extractors.dates import DATE_LANGUAGES

    assert htmldate.extractors.get_external_parser().languages == list(DATE_LANGUAGES)
    body = "<p>The committee met on Monday to review the harbour project and its costs.</p>" * 8
    for stated in ("Published 5 January 2026", "Veröffentlicht am 5. Januar 2026"):
        page = f"<html><body><article><h1>A title</h1><p>{stated}</p>{body}</article></body></html>"
        article = extract_article(page.encode(), "https://example.org/news/harbour")
        assert article.published == datetime(2026, 1, 5, tzinfo=UTC), stated
