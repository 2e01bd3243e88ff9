"""trafilatura at a lower price and with the same output: `faster_trafilatura()`.

trafilatura spends about a third of an extraction in its XPath expressions (which parts of the
page to drop), and most of that in `re:test`, lxml's regular expressions in XPath: a call
back into Python for every element and every pattern, whether or not the element has the
attribute. Inside `faster_trafilatura()`:

- the costliest expressions are evaluated in Python (`_PYTHON`): the same elements, in the
  same order, with trafilatura's own patterns read out of its expressions, each written
  against the exact text of one expression of trafilatura 2.3.1 (its SHA-1 below). An
  expression whose text differs (another trafilatura) stays an XPath: nothing changes but
  the speed, and `tests/test_trafilatura_speed.py` says which replacement no longer applies;
- every other `re:test(@a, 'p')` is asked only of elements that have the attribute
  (`(@a and re:test(@a, 'p'))`, when `p` cannot match an empty string: then the answer is
  the same);
- pages are parsed with lxml's C element-class lookup instead of lxml.html's, which calls
  Python for each element object lxml hands out (every `iter()`); each is still an
  `HtmlElement` (lxml.html's special classes for forms and inputs are not used by trafilatura);
- `repair_faulty_html`, which `load_html` runs on every page, leaves a page that needs no
  repair as it is without a regular expression over all its characters and a copy of it
  (0.7 -> 0.2 ms a page; `_repair_faulty_html`, written against its source's SHA-1);
- trees are not copied when nothing reads the copy: trafilatura keeps a "backup" of the
  cleaned tree for its comments capture and its external comparators, neither of which runs
  in fast mode without comments, ours, and cleans a copy of a raw tree that, in the precision
  focus, nothing reads afterwards (`_prepare_tree`, written against the SHA-1 of
  `trafilatura.core`'s source, where every reader of both is; ~7% of an extraction).
- a caller done with its tree hands it over as `Disposable(tree)`: `bare_extraction` then
  prunes that tree in place instead of a copy of it (`_load_html`; 0.8 ms a corpus page).

The same text, title and metadata on every corpus page (`tests/test_trafilatura_speed.py`
checks each replaced expression against its XPath, and the repair against trafilatura's, on
every corpus page and on generated input). The swap is scoped: plain `trafilatura.extract`
outside the block, as in the benchmarks' baseline, runs as published.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass

import trafilatura.core
import trafilatura.utils
from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
)
from trafilatura import xpaths
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor
from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, INVALID_XML_CHARS

REGEXP_NS = "http://exslt.org/regular-expressions"
_RE_TEST = re.compile(r"re:test\((@[\w-]+(?:\|@[\w-]+)*),\s*'([^']*)'\)")

# trafilatura's parser settings (`trafilatura.utils.HTML_PARSER`), with a C class lookup.
_PARSER = HTMLParser(  # type: ignore[call-arg]  # lxml-stubs lack default_doctype
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    )
)

# --- load_html's repair ---------------------------------------------------------------------

# In UTF-8 a character of INVALID_XML_CHARS's class below U+0020 is one byte of that value,
# and no other character's encoding holds such a byte.
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20))
REPAIR_SHA = "e2c5230791ae458204e4238aaca0941a1b438d8f"  # of its source in trafilatura 2.3.1


def _has_invalid_chars(text: str) -> bool:
    """Whether `INVALID_XML_CHARS` finds anything in `text`, at under half its cost."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded.translate(None, _CONTROL_BYTES)) != len(encoded):
        return True
    return "\ufffe" in text or "\uffff" in text


def _repair_faulty_html(htmlstring: str, beginning: str) -> str:
    """`trafilatura.utils.repair_faulty_html`, the same string: its regular expression runs
    only when there is something to remove, and a first line the doctype rule leaves alone
    is not copied back onto the rest."""
    if _has_invalid_chars(htmlstring):
        htmlstring = INVALID_XML_CHARS.sub("", htmlstring)
    if "doctype" in beginning:
        end = htmlstring.find("\n")
        firstline = htmlstring if end < 0 else htmlstring[:end]
        repaired, changed = DOCTYPE_TAG.subn("", firstline, count=1)
        if changed or end < 0:  # the original appends "\n" to a page of one line
            htmlstring = repaired + "\n" + ("" if end < 0 else htmlstring[end + 1 :])
    for line in htmlstring[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            htmlstring = FAULTY_HTML.sub(r"\1>", htmlstring, count=1)
            break
    return htmlstring


# --- the copies of the tree nothing reads --------------------------------------------------

CORE_SHA = "cf52ce203d121b1a7295ce7ee30808ab3952aa26"  # of trafilatura.core's source, 2.3.1
_ORIGINAL_PREPARE = trafilatura.core._prepare_tree


def _prepare_tree(
    tree: HtmlElement, options: Extractor, url: str | None
) -> tuple[HtmlElement, HtmlElement | None]:
    """`trafilatura.core._prepare_tree` without the copies nothing will read, in fast mode
    without comments (trafilatura's own function otherwise). In trafilatura.core only the
    comments capture and the comparators (not `fast`) read the backup of the cleaned tree;
    and after this step only the baseline rescue and the recall escalation read the raw tree,
    neither in the precision focus: there the raw tree (`bare_extraction`'s own copy of the
    caller's) is cleaned in place."""
    if options.comments or not options.fast:
        return _ORIGINAL_PREPARE(tree, options, url)
    raw = tree if options.focus == "precision" else copy(tree)
    return convert_tags(tree_cleaning(raw, options), options, url), None


@dataclass(frozen=True, slots=True)
class Disposable:
    """A parsed page its owner will not read again, for `trafilatura.bare_extraction` inside
    `faster_trafilatura()`: trafilatura copies a tree it is given (`tree is filecontent`)
    before pruning it; given this, it prunes the tree itself."""

    tree: HtmlElement


_ORIGINAL_LOAD = trafilatura.utils.load_html  # what trafilatura.core imported


def _load_html(htmlobject: object, max_size: int | None = None) -> HtmlElement | None:
    """`trafilatura.utils.load_html`, and the tree of a `Disposable` as it is."""
    if isinstance(htmlobject, Disposable):
        return htmlobject.tree
    return _ORIGINAL_LOAD(htmlobject, max_size)


def handed_over(tree: HtmlElement) -> HtmlElement | Disposable:
    """`tree` for `bare_extraction` to prune in place: a `Disposable` inside
    `faster_trafilatura()` where this trafilatura's core is the one `_load_html` was written
    against (its SHA-1), else the tree itself, which trafilatura copies as published."""
    return Disposable(tree) if _depth > 0 and _FASTER_PREPARE is _prepare_tree else tree


def _sha1(text: str) -> str:
    """What the Python versions below are checked against: the SHA-1 of trafilatura's own
    text (an expression, or a function's source)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# --- trafilatura's expressions in Python ----------------------------------------------------

Predicate = Callable[[HtmlElement], bool]


def _first(element: HtmlElement, names: tuple[str, ...]) -> str:
    """XPath's string value of `@a|@b`: the first of those attributes in the element's own
    order (not the order of the union), "" when it has none."""
    for key, value in element.items():
        if key in names:
            return str(value)
    return ""


@dataclass(frozen=True, slots=True)
class _InPython:
    """One of trafilatura's expressions, `.//*[tags][predicate]`, evaluated in Python: called
    as the XPath is, it returns the same elements in document order."""

    tags: tuple[str, ...]  # empty: any element
    predicate: Predicate

    def __call__(self, tree: HtmlElement) -> list[HtmlElement]:
        found = (
            tree.iterdescendants(*self.tags) if self.tags else tree.iterdescendants(etree.Element)
        )
        return [element for element in found if self.predicate(element)]


Expression = etree.XPath | _InPython
_BLOCKS = ("div", "item", "list", "p", "section", "span")


def _raw_tree_prune(p: list[re.Pattern[str]]) -> _InPython:
    either, mvp = p[0], p[2]  # p[1] is p[0] again, p[3] is p[2] again

    def predicate(e: HtmlElement) -> bool:
        i, c = e.get("id", ""), e.get("class", "")
        if not (either.search(i) or either.search(c)):
            return False
        return e.find(".//h1") is None or bool(mvp.search(i) or mvp.search(c))

    return _InPython(("div", "section", "aside"), predicate)


def _share_buttons(_: list[re.Pattern[str]]) -> _InPython:
    return _InPython(
        ("div", "section", "aside"), lambda e: "elementor-share-buttons" in e.get("class", "")
    )


def _remove_comments(p: list[re.Pattern[str]]) -> _InPython:
    ids, classes = p

    def predicate(e: HtmlElement) -> bool:
        return bool(ids.search(e.get("id", "")) or classes.search(e.get("class", "")))

    return _InPython(("div", "list", "section", "details"), predicate)


def _remove_comments_and_lists(p: list[re.Pattern[str]]) -> _InPython:
    ids, classes, list_ids = p[0], p[1], p[2]  # p[3] is p[1] again

    def predicate(e: HtmlElement) -> bool:
        i, c = e.get("id", ""), e.get("class", "")
        if not (ids.search(i) or classes.search(c)):
            return False
        return e.tag not in ("ol", "ul") or bool(list_ids.search(i) or classes.search(c))

    return _InPython(("div", "list", "section", "details", "ol", "ul"), predicate)


def _overall_discard(p: list[re.Pattern[str]]) -> _InPython:
    consent, ids, classes = p

    def predicate(e: HtmlElement) -> bool:
        get = e.get
        return bool(
            get("data-lp-replacement-content") is not None
            or "nav" in get("role", "").replace("N", "n")
            or "MostPopularStories" in get("data-component", "")
            or consent.search(_first(e, ("id", "class")))
            or ids.search(get("id", ""))
            or classes.search(get("class", ""))
        )

    return _InPython(_BLOCKS, predicate)


def _hidden(p: list[re.Pattern[str]]) -> _InPython:
    hidden, ids, classes = p

    def predicate(e: HtmlElement) -> bool:
        get = e.get
        style = get("style", "")
        return bool(
            get("class") == "comments-title"
            or _first(e, ("id", "class")).startswith("reply-")
            or hidden.search(_first(e, ("id", "style")))
            or "display:none" in style
            or "display: none" in style
            or ids.search(get("id", ""))
            or classes.search(get("class", ""))
            or get("aria-hidden") == "true"
        )

    return _InPython((), predicate)


def _precision_discard(p: list[re.Pattern[str]]) -> _InPython:
    bottom, link = p

    def predicate(e: HtmlElement) -> bool:
        first = _first(e, ("id", "class"))
        return bool(bottom.search(first) or link.search(first) or "border" in e.get("style", ""))

    return _InPython(_BLOCKS, predicate)


# (list in trafilatura.xpaths, index) -> (SHA-1 of the expression's text in trafilatura 2.3.1,
# the Python version, given the expression's `re:test` patterns in order)
_PYTHON: dict[tuple[str, int], tuple[str, Callable[[list[re.Pattern[str]]], _InPython]]] = {
    ("RAW_TREE_PRUNE_XPATH", 0): ("c15751070b078a647446175f714fc52b5d51ca8c", _raw_tree_prune),
    ("RAW_TREE_PRUNE_XPATH", 1): ("12b073ccb20e96330059aff8a9782a769ecf22e6", _share_buttons),
    ("REMOVE_COMMENTS_XPATH", 0): ("97b3a45900e751deb0c5446b7456a1274778d954", _remove_comments),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", 0): (
        "7e7d885e629a511978658d1420f16b1a4ac09d85",
        _remove_comments_and_lists,
    ),
    ("OVERALL_DISCARD_XPATH", 0): ("d00545c1e3acd7dd0585191cc70e0104d49e5586", _overall_discard),
    ("OVERALL_DISCARD_XPATH", 1): ("8c88600b03181df7a8d96c7c92ca3b0351f47e78", _hidden),
    ("PRECISION_DISCARD_XPATH", 1): (
        "1333a88a43255a90e57fad382aa978fb9b88f8bd",
        _precision_discard,
    ),
}


def _patterns(path: str) -> list[re.Pattern[str]]:
    # lxml compiles `re:test` patterns with Python's `re` and calls `search`
    return [re.compile(pattern) for _, pattern in _RE_TEST.findall(path)]


def _guarded(path: str) -> str:
    """`path` with each `re:test(@a, 'p')` asked only when the element has `@a`."""

    def guard(match: re.Match[str]) -> str:
        attributes, pattern = match.groups()
        if re.search(pattern, ""):
            return match.group(0)  # it matches an absent attribute: keep the call as it is
        return f"({attributes} and {match.group(0)})"

    return _RE_TEST.sub(guard, path)


def _faster(name: str, index: int, xpath: etree.XPath) -> Expression:
    path = xpath.path
    sha, build = _PYTHON.get((name, index), ("", None))
    if build is not None and _sha1(path) == sha:
        return build(_patterns(path))
    if "re:test" not in path:
        return xpath
    return etree.XPath(_guarded(path), namespaces={"re": REGEXP_NS})


def _expression_lists() -> dict[str, list[etree.XPath]]:
    return {
        name: value
        for name, value in vars(xpaths).items()
        if name.isupper()
        and isinstance(value, list)
        and value
        and all(isinstance(item, etree.XPath) for item in value)
    }


_ORIGINAL = {name: list(items) for name, items in _expression_lists().items()}
_FASTER = {
    name: [_faster(name, i, xpath) for i, xpath in enumerate(items)]
    for name, items in _ORIGINAL.items()
}
_ORIGINAL_PARSER = trafilatura.utils.HTML_PARSER
_ORIGINAL_REPAIR = trafilatura.utils.repair_faulty_html
_FASTER_REPAIR = (
    _repair_faulty_html
    if _sha1(inspect.getsource(_ORIGINAL_REPAIR)) == REPAIR_SHA
    else _ORIGINAL_REPAIR
)
_FASTER_PREPARE = (
    _prepare_tree if _sha1(inspect.getsource(trafilatura.core)) == CORE_SHA else _ORIGINAL_PREPARE
)


def replacements_applied() -> dict[tuple[str, int], bool]:
    """Whether each Python version applies to this trafilatura (its expression's text is the
    one it was written against)."""
    applied = {key: isinstance(_FASTER[key[0]][key[1]], _InPython) for key in _PYTHON}
    return applied | {
        ("repair_faulty_html", 0): _FASTER_REPAIR is _repair_faulty_html,
        ("_prepare_tree", 0): _FASTER_PREPARE is _prepare_tree,
    }


_lock = threading.Lock()
_depth = 0


def _install(
    lists: Mapping[str, Sequence[Expression]],
    parser: HTMLParser,
    repair: Callable[[str, str], str],
    prepare: Callable[..., object],
    load: Callable[..., HtmlElement | None],
) -> None:
    # trafilatura's modules imported these lists by name: change them in place
    for name, items in lists.items():
        getattr(xpaths, name)[:] = items
    trafilatura.utils.HTML_PARSER = parser
    # load_html reads it from its module; the replacement has its exact signature
    trafilatura.utils.repair_faulty_html = repair  # type: ignore[assignment]
    trafilatura.core._prepare_tree = prepare  # type: ignore[assignment]  # read by name
    trafilatura.core.load_html = load  # type: ignore[attr-defined]  # imported by name


@contextmanager
def faster_trafilatura() -> Iterator[None]:
    """trafilatura's faster expressions and parser for the duration of the block (safe across
    threads: outside every block, trafilatura is as published)."""
    global _depth
    with _lock:
        if _depth == 0:
            _install(_FASTER, _PARSER, _FASTER_REPAIR, _FASTER_PREPARE, _load_html)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _install(
                    _ORIGINAL, _ORIGINAL_PARSER, _ORIGINAL_REPAIR, _ORIGINAL_PREPARE, _ORIGINAL_LOAD
                )
