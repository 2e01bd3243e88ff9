"""`extractors.trafilatura_speed`: the same elements, the same articles, at a lower price."""

from __future__ import annotations

import random
import time
from contextlib import nullcontext
from copy import deepcopy

import pytest
import trafilatura
import trafilatura.core
import trafilatura.utils
from lxml import etree
from lxml.html import HtmlElement
from trafilatura import xpaths
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from extractors import articles
from extractors import trafilatura_speed as speed
from tests.conftest import SHARED, corpus_bytes

REPLACED = sorted(speed._PYTHON)


@pytest.fixture(scope="module")
def corpus_pages() -> dict[str, bytes]:
    """Every corpus page's bytes, by file name, read once for the tests of this module."""
    folder = SHARED / "corpus" / "pages" / "html"
    if not folder.is_dir():
        pytest.skip(
            f"needs ../shared/corpus/pages/html: not in this repository (looked in {SHARED})"
        )
    names = sorted(path.name for path in folder.iterdir())
    return {name: corpus_bytes(f"pages/html/{name}") for name in names}


@pytest.fixture(scope="module")
def corpus_trees(corpus_pages: dict[str, bytes]) -> list[HtmlElement]:
    """Each corpus page as trafilatura sees it twice: the raw tree, and cleaned and converted
    (parsed as inside the block)."""
    options = Extractor(fast=True, precision=True, comments=False)
    trees = []
    for raw in corpus_pages.values():
        with speed.faster_trafilatura():
            tree = load_html(articles._decode(raw))
        if tree is not None:
            trees += [tree, convert_tags(tree_cleaning(deepcopy(tree), options), options)]
    return trees


def test_every_replacement_applies_to_the_installed_trafilatura() -> None:
    # Fails when trafilatura changed one of these expressions or `repair_faulty_html`: rewrite
    # the Python version against the new text (meanwhile trafilatura's runs: slower, not wrong).
    assert all(speed.replacements_applied().values()), speed.replacements_applied()


@pytest.mark.parametrize("key", REPLACED, ids=lambda key: f"{key[0]}[{key[1]}]")
def test_python_version_finds_what_the_xpath_finds_on_every_corpus_page(
    key: tuple[str, int], corpus_trees: list[HtmlElement]
) -> None:
    xpath, python = speed._ORIGINAL[key[0]][key[1]], speed._FASTER[key[0]][key[1]]
    trees, found = 0, 0
    for tree in corpus_trees:
        expected = xpath(tree)
        assert python(tree) == expected
        trees, found = trees + 1, found + len(expected)
    assert trees >= 300
    if key != ("RAW_TREE_PRUNE_XPATH", 1):  # no corpus page has this one (generated pages do)
        assert found > 0, "the corpus never exercises this expression"


# Attribute values made of the patterns' own pieces, so every branch is taken somewhere.
_VOCABULARY = (
    "cookie|share|sharing|social|nav|Nav|menu|footer|Footer|sidebar|comment|Comment|comments"
    "|commentary|comol|disqus_thread|dsq-comments|post-comments|article-comments"
    "|mvp-post-add-box|mvp-post-add-wrap|infinite-scroll|infinitescroll|elementor-share-buttons"
    "|reply-to|x-reply-y|hidden|hide-me|a hidden|noprint|bottom|page-bottom|bottom-bar"
    "|padding-bottom-lg|link|permalink|main link|ad-slot|x ad y|dfpAd|related|elated|byline"
    "|meta|content|article-body|entry-content|headline|author-name|story-body|postmeta|tag|"
)
_WORDS = _VOCABULARY.split("|")
_STYLES = ["display:none", "display: none", "border: 1px", "color: red", "visibility: hidden"]
_TAGS = ["div", "section", "aside", "span", "p", "list", "item", "details", "ol", "ul", "h1", "a"]


def _random_attributes(rng: random.Random) -> list[tuple[str, str]]:
    pool = [
        ("id", lambda: rng.choice(_WORDS)),
        ("class", lambda: " ".join(rng.sample(_WORDS, rng.randint(1, 3)))),
        ("style", lambda: rng.choice(_STYLES)),
        ("role", lambda: rng.choice(["navigation", "Navigation", "main", "NAV"])),
        ("aria-hidden", lambda: rng.choice(["true", "false"])),
        ("data-component", lambda: rng.choice(["MostPopularStories", "Story"])),
        ("data-lp-replacement-content", lambda: ""),
    ]
    chosen = rng.sample(pool, rng.randint(0, 4))  # in a random order: `@id|@class` reads it
    return [(name, value()) for name, value in chosen]


def _random_page(rng: random.Random) -> HtmlElement:
    def block(depth: int) -> str:
        tag = rng.choice(_TAGS)
        attrs = "".join(f' {k}="{v}"' for k, v in _random_attributes(rng))
        attrs += ' href="/a"' if tag == "a" else ""  # links: what the tag and category paths read
        inner = "".join(block(depth + 1) for _ in range(rng.randint(0, 3) if depth < 4 else 0))
        return f"<{tag}{attrs}>text {inner}</{tag}>"

    body = "".join(block(0) for _ in range(8))
    return etree.fromstring(f"<html><body>{body}</body></html>", speed._PARSER)


def test_python_versions_agree_with_the_xpaths_on_generated_pages() -> None:
    rng = random.Random(20261206)
    found = dict.fromkeys(REPLACED, 0)
    for _ in range(300):
        tree = _random_page(rng)
        for key in REPLACED:
            expected = speed._ORIGINAL[key[0]][key[1]](tree)
            assert speed._FASTER[key[0]][key[1]](tree) == expected, key
            found[key] += len(expected)
    # each expression matched often, so both ways were tested: the rarest 88 times (seeded)
    assert min(found.values()) == 88, found


def test_guarded_expressions_agree_with_the_originals() -> None:
    rng = random.Random(7)
    trees = [_random_page(rng) for _ in range(100)]
    found: dict[tuple[str, int], int] = {}
    for name, items in speed._ORIGINAL.items():
        for i, xpath in enumerate(items):
            faster = speed._FASTER[name][i]
            if not isinstance(faster, etree.XPath) or faster is xpath:
                continue
            found[name, i] = 0
            for tree in trees:
                expected = xpath(tree)
                assert faster(tree) == expected, (name, i)
                found[name, i] += len(expected)
    assert len(found) == 14  # every guarded expression, each seen matching on the pages
    assert min(found.values()) > 0, found


def test_a_pattern_that_matches_nothing_keeps_its_call_unguarded() -> None:
    path = "//*[re:test(@id, 'a|') or re:test(@class, 'b')]"
    assert speed._guarded(path) == "//*[re:test(@id, 'a|') or (@class and re:test(@class, 'b'))]"


def _extract_each_way(raw: bytes, plain_first: bool) -> dict[str, tuple[object, float]]:
    """The page's `Article` (or error) and the CPU it took, without and within the block."""
    contenders = [("plain", nullcontext), ("faster", speed.faster_trafilatura)]
    done = {}
    for label, block in contenders if plain_first else contenders[::-1]:
        started = time.thread_time()
        with block():
            try:
                result: object = articles._extract(raw, "https://example.com/a", None)
            except Exception as error:  # the same error either way
                result = repr(error)
        done[label] = (result, time.thread_time() - started)
    return done


_REPAIR_CASES = [
    "<html><body><p>plain</p></body></html>",
    "<!DOCTYPE html>\n<html><body><p>a</p></body></html>",
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x.dtd">\n<html><p>b</p></html>',
    "<!doctype html><html><body><p>one line, no newline</p></body></html>",
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN"><html><p>one line</p></html>',
    "<html/>\n<body><p>self-closing html</p></body>",
    "<html><p>control \x00\x08\x0b\x0c\x1f characters, tab\t newline\n return\r</p></html>",
    "<html><p>\ufffe and \uffff, \u00e9, \u0416, \u4e2d, \U0001d301</p></html>",
    "<!DOCTYPE html>\x01\n<html><p>\ud800 a lone surrogate</p></html>",
    "",
]


@pytest.mark.parametrize("page", _REPAIR_CASES)
def test_repair_gives_trafilaturas_string(page: str) -> None:
    beginning = page[:50].lower()
    assert speed._repair_faulty_html(page, beginning) == speed._ORIGINAL_REPAIR(page, beginning)


def test_repair_gives_trafilaturas_string_on_every_corpus_page(
    corpus_pages: dict[str, bytes],
) -> None:
    for name, raw in corpus_pages.items():
        page = articles._decode(raw)
        beginning = page[:50].lower()
        assert speed._repair_faulty_html(page, beginning) == speed._ORIGINAL_REPAIR(
            page, beginning
        ), name
    assert len(corpus_pages) >= 150


def test_prepared_tree_is_trafilaturas_without_the_unread_backup(
    corpus_pages: dict[str, bytes],
) -> None:
    """In fast mode without comments the cleaned tree is trafilatura's and no backup is made
    (the raw tree cleaned in place in the precision focus, left whole in the balanced one);
    in the modes that read the backup, trafilatura's own function runs."""
    first_pass = Extractor(fast=True, precision=True, comments=False)
    second_pass = Extractor(fast=True, comments=False)  # the balanced focus
    for name, raw in corpus_pages.items():
        tree = load_html(articles._decode(raw))
        if tree is None:
            continue
        for options in (first_pass, second_pass):
            given = deepcopy(tree)
            before = etree.tostring(given)
            cleaned, backup = speed._prepare_tree(given, options, None)
            expected, _ = speed._ORIGINAL_PREPARE(deepcopy(tree), options, None)
            assert backup is None, name
            assert etree.tostring(cleaned) == etree.tostring(expected), name
            # cleaned in place in the precision focus only: the balanced one reads it after
            in_place = options.focus == "precision"
            assert (cleaned is given) == in_place, name
            if not in_place:
                assert etree.tostring(given) == before, name
    for options in (Extractor(fast=True, comments=True), Extractor(fast=False, comments=False)):
        _, backup = speed._prepare_tree(etree.fromstring("<html><p>a</p></html>"), options, None)
        assert backup is not None, options


def test_modes_that_read_the_backup_extract_the_same_in_the_block(
    corpus_pages: dict[str, bytes],
) -> None:
    """Comments on, or the comparators on (not fast): the same text as plain trafilatura."""
    pages = list(corpus_pages.values())[::10]
    for mode in ({"include_comments": True, "fast": True}, {"include_comments": False}):
        for raw in pages:
            html = articles._decode(raw)
            plain = trafilatura.extract(html, **mode)
            with speed.faster_trafilatura():
                assert trafilatura.extract(html, **mode) == plain, mode


def test_articles_are_the_same_and_cheaper_on_every_corpus_page(
    corpus_pages: dict[str, bytes],
) -> None:
    """The whole extraction, each page with and without the block: the same `Article` (or the
    same error); then, timed in a second pass (the first loads dateparser's languages and
    such, whichever contender meets them first), at most 0.85x the CPU over all pages (0.76x
    when measured without the repair step, session 21; 0.71x by page with it)."""
    pages = list(corpus_pages.values())
    for turn, raw in enumerate(pages):
        done = _extract_each_way(raw, plain_first=turn % 2 == 0)
        assert done["faster"][0] == done["plain"][0], turn
    spent = {"plain": 0.0, "faster": 0.0}
    for turn, raw in enumerate(pages):
        for label, (_, cpu) in _extract_each_way(raw, plain_first=turn % 2 == 1).items():
            spent[label] += cpu
    assert len(pages) >= 150
    assert spent["faster"] <= 0.85 * spent["plain"], spent


def test_trafilatura_is_as_published_outside_the_block() -> None:
    before = {name: list(items) for name, items in speed._expression_lists().items()}
    with speed.faster_trafilatura():
        with speed.faster_trafilatura():  # nested: the outer block still holds
            pass
        assert xpaths.OVERALL_DISCARD_XPATH[0] is speed._FASTER["OVERALL_DISCARD_XPATH"][0]
        assert trafilatura.utils.HTML_PARSER is speed._PARSER
        assert trafilatura.utils.repair_faulty_html is speed._repair_faulty_html
        assert trafilatura.core._prepare_tree is speed._prepare_tree
        assert trafilatura.core.load_html is speed._load_html
        assert isinstance(speed.handed_over(etree.fromstring("<html/>")), speed.Disposable)
    assert speed._expression_lists() == before
    assert trafilatura.utils.HTML_PARSER is speed._ORIGINAL_PARSER
    assert trafilatura.utils.repair_faulty_html is speed._ORIGINAL_REPAIR
    assert trafilatura.core._prepare_tree is speed._ORIGINAL_PREPARE
    assert trafilatura.core.load_html is speed._ORIGINAL_LOAD
    # outside the block a tree is handed over as it is, for trafilatura to copy
    assert not isinstance(speed.handed_over(etree.fromstring("<html/>")), speed.Disposable)


def test_a_handed_over_tree_is_pruned_in_place_to_the_same_text(
    corpus_pages: dict[str, bytes],
) -> None:
    """`Disposable`: no copy (the given tree is what trafilatura pruned), the same text."""
    for raw in list(corpus_pages.values())[::10]:
        tree = load_html(articles._decode(raw))
        before = etree.tostring(tree)
        with speed.faster_trafilatura():
            copied = trafilatura.bare_extraction(deepcopy(tree), **articles._FIRST_PASS)
            pruned = trafilatura.bare_extraction(speed.handed_over(tree), **articles._FIRST_PASS)
        assert etree.tostring(tree) != before  # pruned in place: nothing was copied
        assert (pruned and pruned.text) == (copied and copied.text)
