"""The author named in a page's body, when its markup (meta tags, JSON-LD) names none.

The same answer as trafilatura's `extract_author`, in under a third of its time. trafilatura
copies the whole tree, prunes it with one XPath and tries three more, each testing the `class`
and `id` of every element with a regular expression called back into Python: about 6 ms a
page (median over the corpus), paid on the 40% of pages whose markup names no author. Here one
plain XPath lists the attribute values those tests read, one regular expression over all of
them at once picks the few elements any test could match, and the tests run in Python on
those only (1.9 ms). Nothing is copied but a candidate that holds a pruned element, to read
its text as trafilatura would after pruning.

`tests/test_bylines.py` checks the answer is trafilatura's on every corpus page, so a
trafilatura release that changes its XPaths shows up there; the tests below follow
`trafilatura.xpaths.AUTHOR_XPATHS` and `AUTHOR_DISCARD_XPATHS` (trafilatura 2.3)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from itertools import accumulate

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_author
from trafilatura.utils import trim
from trafilatura.xml import delete_element

_LEN_LIMIT = 120  # trafilatura's: a longer "author" is a paragraph

# The attributes the tests read and the elements they pick by name, in document order.
_MARKS = etree.XPath(
    "//@class | //@id | //@rel | //@itemprop | //@data-testid | //@data-component"
    " | //author | //time | //figure"
)
# What some test needs in an attribute (each test's own pattern contains one of these), or
# `_NAMED`, an element picked by its name: the elements worth testing.
_NAMED = "\x01"
_SIGNS = re.compile(
    r"uthor|[Bb]yl|BBL|username|zuozhe|bianji|xiaobian|channel-name|submitted-by|posted-by"
    r"|journalist-name|screenname|writer|omment|ProductReviews|title|date|sidebar|is-hidden"
    r"|quote|embedly-instagram|article-s(?:hare|upport)|print|category|meta-reviewer|Figure"
    r"|\x01"  # _NAMED
)

_NAME_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_ID_1 = re.compile(r"author|zuozhe|bianji|xiaobian")
_CLASS_1 = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_ID_2 = re.compile(r"[Aa]uthor")
_CLASS_2 = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    r"|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
_TAGS_0 = {"a", "address", "div", "link", "p", "span", "strong"}
_TAGS_1 = {"a", "div", "h3", "h4", "p", "span"}
_DISCARD_TAGS = {"a", "div", "section", "span"}


@dataclass(frozen=True, slots=True)
class _Attrs:
    """The attributes the tests read, read once."""

    tag: str
    cls: str
    id: str
    rel: str
    itemprop: str
    testid: str
    component: str

    @classmethod
    def of(cls, el: HtmlElement) -> _Attrs:
        get = el.get
        return cls(
            str(el.tag),
            get("class") or "",
            get("id") or "",
            get("rel") or "",
            get("itemprop") or "",
            get("data-testid") or "",
            get("data-component") or "",
        )


def _specific(a: _Attrs) -> bool:
    """AUTHOR_XPATHS[0]: specific and almost specific."""
    if a.tag == "author":
        return True
    return a.tag in _TAGS_0 and bool(
        a.rel == "author"
        or a.id == "author"
        or a.cls == "author"
        or a.itemprop == "author name"
        or a.testid in ("AuthorCard", "AuthorURL")
        or _NAME_CLASS.search(a.cls)
    )


def _generic(a: _Attrs) -> bool:
    """AUTHOR_XPATHS[1]: almost generic and generic."""
    return a.tag in _TAGS_1 and bool(
        a.cls in ("byline", "username", "byl", "BBL")
        or "author" in a.itemprop
        or _ID_1.search(a.id)
        or _CLASS_1.search(a.cls)
    )


def _last_resort(a: _Attrs) -> bool:
    """AUTHOR_XPATHS[2]: any element."""
    return bool(
        "Byline" in a.component
        or "author" in a.itemprop
        or _ID_2.search(a.id)
        or _CLASS_2.search(a.cls)
    )


_TESTS: tuple[Callable[[_Attrs], bool], ...] = (_specific, _generic, _last_resort)


def _discarded(a: _Attrs) -> bool:
    """AUTHOR_DISCARD_XPATHS[0]: comments, sidebars, dates and the like."""
    return a.tag in _DISCARD_TAGS and bool(
        a.id == "comments"
        or a.cls in ("comments", "title", "date")
        or _DISCARD_ID.search(a.id)
        or _DISCARD_CLASS.search(a.cls)
        or "Figure" in a.component
    )


def _marked(tree: HtmlElement) -> list[HtmlElement]:
    """The elements some test could pick, in document order: their attribute values are
    joined and searched at once, so only those elements are read one by one."""
    found = _MARKS(tree)
    items = found if isinstance(found, list) else []
    texts = [item if isinstance(item, str) else _NAMED for item in items]
    starts = list(accumulate((len(text) + 1 for text in texts), initial=0))
    marked: list[HtmlElement] = []
    for match in _SIGNS.finditer("\x00".join(texts)):
        item = items[bisect_right(starts, match.start()) - 1]
        el = item.getparent() if isinstance(item, etree._ElementUnicodeResult) else item
        if isinstance(el, HtmlElement) and (not marked or el is not marked[-1]):
            marked.append(el)
    return marked


def body_author(tree: HtmlElement) -> str | None:
    """trafilatura's `extract_author(tree)`, computed faster (see the module docstring)."""
    if tree.find(".//rel") is not None:  # its `rel='me'` test reads a child <rel> element
        return extract_author(tree)
    marked = [(el, _Attrs.of(el)) for el in _marked(tree)]
    found = [[el for el, attrs in marked if test(attrs)] for test in _TESTS]
    if not any(found):
        return None  # pruning only removes elements: nothing can match after it either
    root = tree.getroottree().getroot()
    dropped = {id(el): el for el, attrs in marked if el is not root and _discarded(attrs)}
    for el, attrs in marked:  # then `//time|//figure` on what is left
        if attrs.tag in ("time", "figure") and not _inside(el, dropped):
            dropped[id(el)] = el
    for candidates in found:
        kept = (el for el in candidates if not _inside(el, dropped))
        author = _first_name(kept, dropped)
        if author:
            return normalize_authors(None, author)
    return None


def _inside(el: HtmlElement, dropped: dict[int, HtmlElement]) -> bool:
    """Whether `el` or one of its ancestors is pruned."""
    return id(el) in dropped or any(id(a) in dropped for a in el.iterancestors())


def _first_name(candidates: Iterable[HtmlElement], dropped: dict[int, HtmlElement]) -> str | None:
    """trafilatura's `extract_metainfo` on the pruned tree: the first candidate with a short
    enough text. A candidate holding pruned elements is pruned on a copy of it first."""
    for el in candidates:
        content = trim(" ".join(_pruned(el, dropped).itertext()))
        if content and 2 < len(content) < _LEN_LIMIT:
            return content
    return None


def _pruned(el: HtmlElement, dropped: dict[int, HtmlElement]) -> HtmlElement:
    """`el` as it reads once the pruned elements under it are gone (`el` itself when none are:
    deleting an element outside `el` changes at most `el`'s own tail, which is not its text)."""
    inner = {i for i, d in enumerate(el.iter()) if id(d) in dropped}
    if not inner:
        return el
    copy = deepcopy(el)  # the same shape: the i-th element of each is the same element
    doomed = [d for i, d in enumerate(copy.iter()) if i in inner]
    for d in doomed:
        delete_element(d)
    return copy
