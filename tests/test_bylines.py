"""The body author (`extractors.bylines`) is trafilatura's `extract_author`, found faster.

Small pages written here pin each of trafilatura's tests (the byline classes, the pruned
comments and dates, the order of its three XPaths); every page of ../shared/corpus/pages is
compared with trafilatura's own answer (skipped when the corpus is absent).
"""

from __future__ import annotations

import gzip
import json

import pytest
from lxml.html import HtmlElement
from trafilatura.metadata import extract_author
from trafilatura.utils import load_html

from extractors.articles import extract_article
from extractors.bylines import body_author
from tests.conftest import shared_file


def _tree(body: str) -> HtmlElement:
    tree = load_html(f"<html><head><title>t</title></head><body>{body}</body></html>")
    assert tree is not None
    return tree


CASES = [
    # a specific class (AUTHOR_XPATHS[0]) wins over a generic one that comes first
    ('<div class="byline">Desk Staff</div><span class="author-name">Ana Lima</span>', "Ana Lima"),
    # a generic class (AUTHOR_XPATHS[1]); "By" is cut off
    ('<p class="post-author">By Jan Kowalski</p>', "Jan Kowalski"),
    # inside the comments, not the article's author
    (
        '<div id="comments"><span class="author">Troll Person</span></div>'
        '<span class="writer">Maria Garcia</span>',
        "Maria Garcia",
    ),
    # the date inside the byline is pruned before its text is read
    (
        '<div class="author">Li Wei <time datetime="2026-01-01">1 Jan 2026</time> more</div>',
        "Li Wei more",
    ),
    # an element with `data-component="Byline"` (the last resort)
    ('<section data-component="Byline-block">Pat Doe</section>', "Pat Doe"),
    # an `<author>` element, in document order among the specific ones
    ('<author>Kim Min-jun</author><span class="authorName">Second One</span>', "Kim Min-jun"),
    # too long for a name: the next candidate
    (f'<span class="author">{"word " * 30}</span><a rel="author">Olu Ade</a>', "Olu Ade"),
    # nothing that names an author
    ('<div class="content"><p>Text only.</p></div>', None),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_same_author_as_trafilatura(body: str, expected: str | None) -> None:
    assert body_author(_tree(body)) == expected
    assert extract_author(_tree(body)) == expected


def test_a_child_rel_element_falls_back_to_trafilatura() -> None:
    # trafilatura's first XPath tests `rel='me'`: a child element named <rel>, never an attribute
    tree = _tree('<span class="x">Sam Roe<rel>me</rel></span>')
    assert body_author(tree) == extract_author(tree)


def test_every_corpus_page_gets_trafilaturas_author() -> None:
    # Same answer on every corpus page; its cost (a third of trafilatura's) is measured by
    # bench/extraction.py, not here, where a loaded machine could flip a timing.
    pages = shared_file("corpus/pages/index.json")
    records = json.loads(pages.read_text(encoding="utf-8"))
    compared = 0
    for rec in records:
        tree = load_html(gzip.decompress((pages.parent / rec["file"]).read_bytes()))
        if tree is None:
            continue
        assert body_author(tree) == extract_author(tree), rec["id"]
        compared += 1
    assert compared >= 150


def test_extract_article_reads_the_body_author_when_the_markup_names_none() -> None:
    page = (
        '<html lang="en"><head><title>Storm closes the port</title></head><body><article>'
        "<h1>Storm closes the port</h1>"
        '<p class="byline-text"><span class="author-name">By Ana Lima</span></p>'
        "<p>The harbour master closed the port on Monday as the storm reached the coast, "
        "and ferries stayed in the harbour until the wind dropped in the evening.</p>"
        "</article></body></html>"
    )
    assert extract_article(page.encode(), "https://news.example.org/a").authors == ("Ana Lima",)
