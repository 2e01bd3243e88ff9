"""No third-party text in the repository (issue 15, acceptance 4): no title of a corpus page, no
title of a corpus feed or of its entries, appears in any tracked file.

Third-party text is read from ../shared (tests/conftest.py's `shared_file`), never copied in.
Titles shorter than MIN_TITLE characters are left out: "Home", "News" or "RSS0.92 Example" say
nothing about where a file came from. A title is looked for as written and HTML-escaped, with its
runs of white space folded to one space, in every file `git ls-files` lists (read as the working
tree holds it, so uncommitted copies are caught too).
"""

from __future__ import annotations

import gzip
import html
import io
import json
import re
import subprocess

import feedparser
import pytest
from lxml import html as lxml_html

from tests.conftest import CORPUS, REPO, shared_file

MIN_TITLE = 25
_SPACE = re.compile(r"\s+")
# How a page's <title> joins the headline and the site's name.
_TITLE_PARTS = re.compile(r"\s+[|–—-]\s+|_")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _page_titles(body: bytes) -> set[str]:
    """The page's <title> (whole and split at its separators), og:title and <h1>s."""
    try:
        tree = lxml_html.fromstring(body)
    except (ValueError, lxml_html.etree.ParserError):
        return set()
    found = {t.text_content() for t in tree.iterfind(".//title")}
    found |= {t.text_content() for t in tree.iterfind(".//h1")}
    found |= {m.get("content", "") for m in tree.iterfind(".//meta[@property='og:title']")}
    parts = {p for t in found for p in _TITLE_PARTS.split(t)}
    return found | parts


def corpus_page_titles() -> set[str]:
    """Titles of the pages listed in ../shared/corpus/pages/index.json, and those recorded in
    pages/expected/*.meta.json."""
    records = json.loads(shared_file("corpus/pages/index.json").read_text(encoding="utf-8"))
    titles: set[str] = set()
    for record in records:
        titles |= _page_titles(gzip.decompress((CORPUS / "pages" / record["file"]).read_bytes()))
    for meta in sorted((CORPUS / "pages" / "expected").glob("*.meta.json")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("title"), str):
            titles.add(data["title"])
    return titles


def corpus_feed_titles() -> set[str]:
    """Titles of the feeds listed in ../shared/corpus/feeds/index.json and of their entries."""
    records = json.loads(shared_file("corpus/feeds/index.json").read_text(encoding="utf-8"))
    titles: set[str] = set()
    for record in records:
        titles.add(record.get("fp_feed_title") or "")
        parsed = feedparser.parse(io.BytesIO((CORPUS / "feeds" / record["file"]).read_bytes()))
        titles.add(str(parsed.feed.get("title", "")))
        titles |= {str(entry.get("title", "")) for entry in parsed.entries}
    return titles


def tracked_text() -> dict[str, str]:
    """Every tracked file of the repository, as text, white space folded."""
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = {}
    for name in filter(None, names):
        path = REPO / name.decode()
        if path.is_file():
            raw = path.read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            files[name.decode()] = _fold(raw.decode("utf-8", errors="replace"))
    return files


def found_in(titles: set[str], files: dict[str, str]) -> dict[str, list[str]]:
    """For each file, the titles (MIN_TITLE characters or more) it holds."""
    wanted = {_fold(t) for t in titles if len(_fold(t)) >= MIN_TITLE}
    forms = {form: t for t in wanted for form in (t, html.escape(t), html.escape(t, quote=False))}
    hits: dict[str, list[str]] = {}
    for name, text in files.items():
        held = sorted({t for form, t in forms.items() if form in text})
        if held:
            hits[name] = held
    return hits


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    if not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout: no tracked files to read")
    return tracked_text()


def test_no_corpus_page_title_in_the_repository(files: dict[str, str]) -> None:
    titles = corpus_page_titles()
    # the check has teeth: the titles, headings and og:titles of the 155 corpus pages
    assert len([t for t in titles if len(_fold(t)) >= MIN_TITLE]) == 400
    assert found_in(titles, files) == {}


def test_no_corpus_feed_title_in_the_repository(files: dict[str, str]) -> None:
    titles = corpus_feed_titles()
    assert len([t for t in titles if len(_fold(t)) >= MIN_TITLE]) == 1094  # and of the feeds
    assert found_in(titles, files) == {}


def test_the_check_finds_a_title() -> None:
    """found_in sees a title through line breaks and HTML escaping, and ignores short ones."""
    titles = {"Ministers meet on the harbour's new ferry routes", "Short title"}
    files = {
        "a.html": _fold("<h1>Ministers meet on the harbour&#x27;s\n new ferry routes</h1>"),
        "b.md": "Short title, and nothing else",
    }
    assert found_in(titles, files) == {
        "a.html": ["Ministers meet on the harbour's new ferry routes"]
    }
