"""Article extraction: page bytes in, an `Article` (text and metadata) out.

Built on trafilatura's `bare_extraction`, fed the bytes our fetcher already has (its own
downloader is never used). The page is decoded and parsed once, here; the rules below read
what they need of the tree first, then trafilatura prunes it in place (no copy).

One pass for the common page, cheaper than `trafilatura.extract`: trafilatura's text in
precision mode without its external comparators (`fast`), its costliest XPath expressions run
in Python and its parser without lxml.html's Python element lookup
(`extractors.trafilatura_speed`: the same output, about 30% less CPU a page), and its
metadata read here without what we never use (categories, tags, licence). The expensive
paths run only on pages that need them: a page with no text gets a second pass in the default
mode; htmldate runs only when its answer is used, and searches the whole text only when
neither the markup nor the feed gives a date.

Where the time goes (median ms a page on the tuning half, each step timed in place, best of 5,
2 shared cores, 2026-12-05): decoding 0.27 and parsing 1.50, the text pass 9.4, the markup date
0.23, the meta tags 0.21 and JSON-LD 0.35, the text rules 0.30 (the standfirst search
included), the language 0.6, the title 0.04; 14.3 ms in all where plain trafilatura takes 15.6
(the same run). Two steps run on some pages only: the author named in the page's body
(`extractors.bylines`; the 40% of pages whose markup names none, 2.1 ms there, where
trafilatura's `extract_author` took 6 to 10 for the same answer) and htmldate (pages stating no
date, when no feed date is given: 1 to 4 ms, 76 on one page). The standfirst's text nodes are
found by one word of it and checked in Python (0.5 ms where `normalize-space` on every node
took 0.9), and the language is told from 300 characters, not 600 (0.3 ms, was 1.0; see
`extractors.language`): the output is the same on every corpus page as before these three
changes.

Each rule was chosen on the tuning half of `../shared/corpus/pages` (split by site, see
`bench/extraction.py`) and kept only if it also helped the test half. Numbers: mean shingle F1
on the pages with a full expected text / trafilatura's snippet F-score, without -> with the
rule (the others on), tuning half then test half, and its median cost.

- Comments under an article are not the article (`include_comments=False`); precision mode
  without the comparators (`favor_precision=True, fast=True`) against the default mode with
  them, both without comments, no other rule: F1 tune 0.865 -> 0.960, test 0.941 -> 0.970;
  snippet F tune 0.891 -> 0.889, test 0.931 -> 0.924 (the rules below more than win that
  back); a quarter to a third cheaper.
- A second pass (the default mode with the comparators) for text under half of the page's
  `<p>` text was dropped: tune F1 0.960 -> 0.874 (snippet 0.911 -> 0.917), test F1 0.984 ->
  0.943; at a third of the page, tune snippet +0.004, test snippet -0.004. Only a page with no
  text at all (under 40 characters) gets a second pass, in the default mode without the
  comparators: 2 tuning pages, no test page; with the comparators (readability, justext) it
  found no more text (tune snippet F 0.911 vs 0.910) and cost each worker ~30 MB.
- The standfirst comes back: precision mode prunes `<header>`, and with it the lead paragraph
  many sites put there. A block of the body whose text is the page's own description, when
  it is missing from the text, goes back in front: snippet F tune 0.901 -> 0.917, test 0.933
  -> 0.941 (F1 unchanged). The page is searched before the text pass, which prunes the
  tree in place (0.42 ms a corpus page; 140 of 153 have a description of 40 characters or
  more); until session 24 only when the description's start was missing from the text (0.36
  ms a page), on a copy of the tree that cost 0.8 ms a page.
- Lines that are nothing but page furniture ("Advertisement", "Read more", "Auch
  interessant:", a newsletter call) are dropped: snippet F tune 0.910 -> 0.917, test 0.939 ->
  0.941; under 0.1 ms. A "Read more: <headline>" line stays: full reference texts keep those.
- Zero-width (non-)joiners survive: trafilatura deletes every character `str.isprintable()`
  rejects, which breaks Persian spelling ("دانشگاه‌های" becomes "دانشگاههای"). They are
  swapped for printable stand-ins before trafilatura sees the page, and back after.
- The title loses the site's name around it ("Headline - Site", "Site | Headline"), only when
  that part names the site (its `og:site_name` or host): titles matching trafilatura's
  evaluation data 62/108 -> 82/108 (metadata, not text; no measurable cost).

The publication date is `extractors.dates`'s (the page's markup, then the feed, then
htmldate) and the language `extractors.language`'s (the page's declaration, unless its text
plainly says otherwise).
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document
from trafilatura.utils import decode_file, load_html

from extractors.bylines import body_author
from extractors.dates import limit_date_languages, published_date, stated_date
from extractors.errors import ExtractionError
from extractors.language import declared_language, page_language
from extractors.records import Article
from extractors.trafilatura_speed import Disposable, faster_trafilatura, handed_over
from extractors.urls import choose_canonical, is_http_url

limit_date_languages()  # htmldate's text search: month names of 14 languages, not 200

EXTRACTOR_VERSION = "traf-2.3/3"
# Less than this is a menu or a caption, not an article (40 characters is a short Chinese
# paragraph, or a sentence in a language with spaces).
MIN_TEXT_CHARS = 40

# Keep the time of day and the original publication date, not the last-modified one.
# htmldate's extensive search of the page's text runs only when the markup states no date.
_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": True,
}
_QUICK_DATE_PARAMS = {**_DATE_PARAMS, "extensive_search": False}
# The one pass every page takes: precision mode, comments left out, without trafilatura's
# external comparators (readability, justext), which cost a third more for the same text on
# nearly every page.
_FIRST_PASS: dict[str, Any] = {"include_comments": False, "favor_precision": True, "fast": True}
# The second pass, for pages where the first found no article text: the default mode, still
# without the comparators (with them, justext's stop words of every language cost each worker
# ~30 MB, for no more text on the corpus's pages).
_SECOND_PASS: dict[str, Any] = {"include_comments": False, "favor_precision": False, "fast": True}

# --- decoding: keep the zero-width joiners ------------------------------------------------

# Printable symbols no news page uses (Tai Xuan Jing), standing in for ZWNJ and ZWJ while
# trafilatura runs: it deletes every character that `str.isprintable()` rejects.
_JOINERS = {"\u200c": "\U0001d301", "\u200d": "\U0001d302"}
_JOINER_ENTITIES = re.compile(r"&(?:zwn?j;|#8204;|#8205;|#x200[cd];)", re.IGNORECASE)
_ENTITY_CHAR = {"&zwnj;": "\u200c", "&zwj;": "\u200d", "&#8204;": "\u200c", "&#8205;": "\u200d"}
_ENTITY_CHAR |= {"&#x200c;": "\u200c", "&#x200d;": "\u200d"}


def _decode(raw: bytes) -> str:
    """The page as text (decoded as trafilatura decodes it), joiners swapped for stand-ins."""
    source = decode_file(raw)
    if any(stand_in in source for stand_in in _JOINERS.values()):
        return source  # cannot happen on a real page; if it does, do not mangle it
    if "&" in source:
        source = _JOINER_ENTITIES.sub(lambda m: _ENTITY_CHAR[m.group(0).lower()], source)
    for joiner, stand_in in _JOINERS.items():
        if joiner in source:
            source = source.replace(joiner, stand_in)
    return source


def _restore(value: str | None) -> str:
    text = value or ""
    for joiner, stand_in in _JOINERS.items():
        if stand_in in text:  # `in` and `replace` cost a tenth of `translate` on a long text
            text = text.replace(stand_in, joiner)
    return text.strip()


# --- the extraction -------------------------------------------------------------------------


def extract_article(
    html: str | bytes, url: str | None = None, *, feed_published: datetime | None = None
) -> Article:
    """Extract the main text and metadata of one article page.

    `feed_published` is the date the feed gave for the item, trusted below the date the page
    states in its markup and above htmldate's reading of the page.
    Raises `ExtractionError` when the page holds no article text (a home page, an empty page).
    """
    raw = html.encode("utf-8") if isinstance(html, str) else html
    with faster_trafilatura():
        return _extract(raw, url, feed_published)


def _extract(raw: bytes, url: str | None, feed_published: datetime | None) -> Article:
    source = _decode(raw)
    tree = load_html(source)
    if tree is None:
        raise ExtractionError(f"no HTML document in {url or 'page'}")
    stated, stated_time = stated_date(tree)
    doc = _metadata(tree, url, _date_search(stated, stated_time, feed_published))
    # What the rules read of the page, read before the text pass prunes the tree in place:
    # a copy for it cost 0.8 ms a page, the standfirst looked for on every page 0.06 more.
    declared = declared_language(tree)
    lead = _lead(tree, doc.description or "")
    text = _text(handed_over(tree), url or doc.url, _FIRST_PASS)
    if len(text) < MIN_TEXT_CHARS:  # rare: parsed again, the first pass pruned the tree
        more = _text(handed_over(load_html(source)), url or doc.url, _SECOND_PASS)
        text = more if len(more) > len(text) else text
    if len(text) < MIN_TEXT_CHARS:
        found = f"only {len(text)} characters of text" if text else "no article text"
        raise ExtractionError(f"{found} in {url or 'page'} (a home page or an empty page?)")

    title = _restore(doc.title)
    description = _restore(doc.description)
    page_url = url or doc.url or ""
    site_name = _restore(doc.sitename)
    text = _clean_text(text, title, lead, doc.description or "")
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"only page furniture in {url or 'page'}")
    return Article(
        url=page_url,
        canonical_url=_canonical(page_url, doc.url),
        title=_clean_title(title, site_name, page_url),
        text=text,
        authors=_authors(_restore(doc.author)),
        published=published_date(stated, stated_time, doc.date, feed_published),
        language=page_language(declared, text),
        site_name=site_name,
        description=description,
    )


def _text(tree: HtmlElement | Disposable, url: str | None, mode: dict[str, Any]) -> str:
    """trafilatura's main text of `tree` in `mode`, joiners restored ("" when none)."""
    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, **mode)
    if isinstance(doc, dict):
        raise TypeError("trafilatura returned a dict without as_dict=True")
    return _restore(doc.text) if doc is not None else ""


def _date_search(
    stated: datetime | None, stated_time: bool, feed_published: datetime | None
) -> dict[str, Any] | None:
    """htmldate's settings for this page, or None when its answer would not be used: the
    markup states a date and time, or it states none and the feed gives one. Its search of
    the whole text runs only when neither markup nor feed has a date."""
    if stated is not None:
        return None if stated_time else _QUICK_DATE_PARAMS
    return None if feed_published is not None else _DATE_PARAMS


def _metadata(tree: HtmlElement, url: str | None, dates: dict[str, Any] | None) -> Document:
    """trafilatura's `extract_metadata` without what we never read (categories, tags,
    licence: a fifth of its time) and without htmldate when `dates` is None."""
    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None  # trafilatura's rule: a one-word author is a handle
    with contextlib.suppress(Exception):  # trafilatura's own guard: its JSON-LD reader's bugs
        doc = extract_meta_json(tree, doc)
    doc.title = doc.title or extract_title(tree)
    doc.author = doc.author or body_author(tree)
    doc.url = doc.url or extract_url(tree, url)
    if dates is not None:
        doc.date = find_date(tree, **dates, url=doc.url)
    doc.sitename = (doc.sitename or extract_sitename(tree) or "").lstrip("@") or None
    if doc.sitename and "." not in doc.sitename and not doc.sitename[0].isupper():
        doc.sitename = doc.sitename.title()
    elif not doc.sitename and doc.url and (match := META_URL.match(doc.url)):
        doc.sitename = match[1]
    doc.clean_and_trim()
    return doc


def _canonical(page_url: str, declared: str | None) -> str:
    if is_http_url(page_url):
        return choose_canonical(page_url, declared)
    return declared or page_url


# --- text -----------------------------------------------------------------------------------

# Lines that are page furniture in the languages we watch: the phrase alone on its line,
# with punctuation at most. Only whole lines are dropped.
_FURNITURE = re.compile(
    r"""^\W*(?:
    advertisement|advertisements|sponsored|anzeige|werbung|publicidad|publicité|pubblicità
    |reklama|реклама|реклама\ 18\+|تبلیغات|广告
    |scroll\ to\ continue(?:\ with\ content)?
    |share(?:\ this)?(?:\ (?:article|story|post|page))?(?:\ on\ \w+)?|teilen|partager|compartir
    |(?:click\ here\ to\ )?read\ more|read\ next|see\ more|more\ on\ this\ story
    |weiterlesen|mehr\ lesen|lire\ la\ suite|leer\ más|leia\ mais|czytaj\ dalej|читать\ далее
    |skip\ advert(?:isement)?|back\ to\ top|nach\ oben|print|drucken|imprimer|imprimir
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_SEE_ALSO = re.compile(
    r"""^\W*(?:
    read\ also|also\ read|read\ more|see\ also|related(?:\ articles?|\ stories|\ posts)?
    |recommended|you\ may\ also\ like|more\ from|more\ stories
    |lesen\ sie\ (?:auch|mehr)|auch\ interessant|schon\ gelesen|mehr\ zum\ thema
    |das\ könnte\ sie\ auch\ interessieren
    |(?:à\ )?lire\ (?:aussi|également)|voir\ aussi|sur\ le\ même\ sujet
    |lee\ también|leer\ también|lea\ también|te\ puede\ interesar|ver\ también
    |noticias\ relacionadas
    |leia\ também|veja\ também|leggi\ anche|zie\ ook|lees\ ook
    |czytaj\ (?:też|także|również)|zobacz\ (?:też|także|również)|dowiedz\ się\ więcej
    |читайте\ (?:также|також)|смотрите\ также|дивіться\ також|по\ теме|на\ тему
    |همچنین\ بخوانید|بیشتر\ بخوانید|مطالب\ مرتبط|بیشتر\ بخوانید
    |相关阅读|延伸阅读|相关新闻|推荐阅读|相關閱讀|延伸閱讀
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_NEWSLETTER = re.compile(
    r"newsletter|рассылк|розсилк|خبرنامه|boletín|infolettre|biuletyn", re.IGNORECASE
)
_SIGN_UP = re.compile(
    r"sign(?:ing)?\ up|subscribe|abonnier|anmelden|inscri|suscr[ií]b|zapisz|подпиш|підпиш|عضو",
    re.IGNORECASE | re.VERBOSE,
)
_SHORT_LINE = 160


def _is_furniture(line: str) -> bool:
    stripped = line.strip()
    if len(stripped) > _SHORT_LINE + 40:
        return False
    if _FURNITURE.match(stripped) or _SEE_ALSO.match(stripped):
        return True
    return bool(
        len(stripped) <= _SHORT_LINE and _NEWSLETTER.search(stripped) and _SIGN_UP.search(stripped)
    )


def _clean_text(text: str, title: str, lead: str | None, description: str) -> str:
    """The text without furniture lines, and with the standfirst (`_lead`) in front when the
    text lacks it."""
    lines = [line for line in text.splitlines() if line.strip() and not _is_furniture(line)]
    body = _spaces("\n".join(lines))
    if _spaces(_restore(description))[:_LEAD_PREFIX] in body:
        return "\n".join(lines).strip()
    if lead and _fold(lead) != _fold(title) and _spaces(lead)[:_LEAD_PREFIX] not in body:
        lines.insert(0, lead)
    return "\n".join(lines).strip()


def _spaces(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    return _spaces(text).casefold()


_INLINE = {"span", "strong", "em", "b", "i", "a", "font", "small", "u"}
_NOT_TEXT = {"script", "style", "noscript", "template", "textarea", "head", "title", "button"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_MIN_LEAD = 40
_LEAD_PREFIX = 80  # a lead whose first 80 characters are in the text is there already
# Text nodes holding `$token` as it is: a word of the needle, found without building each
# node's normalised text (XPath's `normalize-space` on every node costs twice as much).
_TEXT_HAS = etree.XPath(".//text()[contains(., $token)]")
_XPATH_SPACE = re.compile(r"[ \t\n\r]+")


def _text_with(body: HtmlElement, needle: str) -> list[object]:
    """The text nodes under `body` holding `needle`, spaces normalised as XPath's
    `normalize-space` does (no-break spaces too). A node holding the needle holds each of its
    words as they are, so the XPath looks for the longest one and Python checks the rest."""
    found = _TEXT_HAS(body, token=max(needle.split(), key=len))
    nodes = found if isinstance(found, list) else []
    return [
        node
        for node in nodes
        if isinstance(node, str)
        and needle in _XPATH_SPACE.sub(" ", node.replace("\u00a0", " ")).strip(" \t\n\r")
    ]


def _lead(tree: HtmlElement, description: str) -> str | None:
    """The block of the page body that says what the page's description says (the standfirst),
    when there is one: a `<p>`-like block, not a heading, not much longer than the description.
    `description` is as trafilatura gave it, joiners still swapped, as in the tree."""
    wanted = _spaces(description)
    if len(wanted) < _MIN_LEAD:
        return None
    body = tree.find("body")
    if body is None:
        return None
    needle = wanted[:_MIN_LEAD]
    for node in _text_with(body, needle):
        block = _block_of(node)
        if block is None or block.tag in _NOT_TEXT or block.tag in _HEADINGS:
            continue
        if any(a.tag in _NOT_TEXT for a in block.iterancestors()):
            continue
        text = _spaces(block.text_content())
        if needle in text and len(text) <= 1.5 * len(wanted) + 50:
            return _restore(text)
    return None


def _block_of(node: object) -> HtmlElement | None:
    """The block element (not an inline one like `<span>`) a text node of the tree is in."""
    block = node.getparent() if isinstance(node, etree._ElementUnicodeResult) else None
    if not isinstance(block, HtmlElement):
        return None
    while block.tag in _INLINE:
        parent = block.getparent()
        if not isinstance(parent, HtmlElement):
            break
        block = parent
    return block


# --- title and authors ----------------------------------------------------------------------

# " - ", " | ", " — ", " » ", " :: ", a bare "|", or a hyphen between two non-Latin
# characters ("标题-新华网").
_TITLE_SEPARATORS = re.compile(
    r"\s+[|–—·»:/-]{1,2}\s+|\s*[|｜_]\s*|(?<=[^\x00-\x7f])-(?=[^\x00-\x7f])"
)


def _clean_title(title: str, site_name: str, page_url: str) -> str:
    """The title without the site's name around it ("Headline - Site", "Site | Headline")."""
    names = {_alnum(site_name)} if site_name else set()
    host = urlsplit(page_url).hostname or ""
    labels = [p for p in host.split(".") if p not in ("www", "m", "amp")]
    if labels:
        names.add(_alnum(".".join(labels)))
        names.add(_alnum(max(labels[:-1] or labels, key=len)))
    names.discard("")
    if not names:
        return title
    parts = _TITLE_SEPARATORS.split(title)
    seps = _TITLE_SEPARATORS.findall(title)
    while len(parts) > 1 and _names_site(parts[-1], names):
        parts, seps = parts[:-1], seps[:-1]
    while len(parts) > 1 and _names_site(parts[0], names):
        parts, seps = parts[1:], seps[1:]
    kept = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
    return kept.strip() or title


def _alnum(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _names_site(segment: str, names: set[str]) -> bool:
    folded = _alnum(segment)
    if not folded or len(segment.split()) > 6:
        return False
    return any(
        folded == n or (min(len(folded), len(n)) >= 4 and (n in folded or folded in n))
        for n in names
    )


_AUTHOR_PREFIX = re.compile(
    r"^(?:view\ all\ posts\ by|posted\ by|written\ by|by|von|par|por|di|door|av|przez"
    r"|автор|автори|редактор|نویسنده|责任编辑|编辑|作者|記者|记者)\s*[:：]?\s+",
    re.IGNORECASE | re.VERBOSE,
)


def _authors(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names = (_AUTHOR_PREFIX.sub("", name.strip()).strip() for name in value.split(";"))
    return tuple(dict.fromkeys(name for name in names if name))
