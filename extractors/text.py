"""Plain-text helpers shared by the feed parsers: HTML fragments to text, whitespace, clipping,
and reading HTML pages (bytes in any declared charset) into an lxml tree.

Feed titles and summaries arrive as HTML fragments of every quality (escaped twice, cut
mid-tag, megabytes long). The warehouse and the watchlist want short plain text, so every
parser funnels its strings through here and they all clean text the same way.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

import lxml.html
from lxml import etree

_WHITESPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)

# Tags after which a reader sees a line or block break; without a space there,
# "<p>one</p><p>two</p>" would read "onetwo".
_BREAKING_TAGS = frozenset(
    (
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"),
        *("figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
        *("hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td"),
        *("tfoot", "th", "thead", "tr", "ul"),
    )
)
_INVISIBLE_TAGS = frozenset(("script", "style", "template", "noscript"))

# The stdlib parser is lenient (never raises on str), but it is pure Python: a 10 MB summary
# would cost seconds. Callers that keep 1,000 characters never need more than this much HTML.
DEFAULT_SCAN_LIMIT = 200_000


class _TextCollector(HTMLParser):
    """Collects the visible text of an HTML fragment, decoding entities on the way."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth += 1
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BREAKING_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def collapse_whitespace(text: str) -> str:
    """Turn every run of whitespace (newlines, tabs, NBSP) into one space and trim the ends."""
    return _WHITESPACE.sub(" ", text).strip()


def html_to_text(fragment: str, *, scan_limit: int = DEFAULT_SCAN_LIMIT) -> str:
    """The visible text of an HTML fragment: tags gone, entities decoded, whitespace collapsed."""
    if "<" not in fragment and "&" not in fragment:
        return collapse_whitespace(fragment)
    collector = _TextCollector()
    collector.feed(fragment[:scan_limit])
    collector.close()
    return collapse_whitespace("".join(collector.parts))


def clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, at a word boundary when one is near, marking
    the cut with an ellipsis so a reader knows the text goes on."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = head.rfind(" ")
    # A boundary in the first half would throw away too much (one very long word or URL):
    # then a hard cut reads better.
    if cut > limit // 2:
        head = head[:cut]
    return head.rstrip() + "…"


def repeated_title(title: str, text: str) -> int:
    """How many leading characters of `text` repeat `title`, 0 when it does not open with
    it. A Telegram post's first line is both its title and the start of its text, and many
    feeds' content opens with the headline: the tagger and event linking read the text past
    it, so that one headline is not also weighed (or embedded) as the lead. A title clipped
    by `clip` (with its ellipsis) repeats the text's start."""
    head = title.strip().removesuffix("…").rstrip()
    start = len(text) - len(text.lstrip())
    end = start + len(head)
    if not head or not text.startswith(head, start):
        return 0
    return end if end == len(text) or not text[end].isalnum() else 0


def decode_html(body: bytes) -> str:
    """An HTML page's text, read with its BOM or meta charset, else as UTF-8. lxml would
    guess Latin-1 for bytes without a meta charset, and rejects `str` that still carries an
    encoding declaration; decoding here first avoids both."""
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    declared = _META_CHARSET.search(body[:4096])
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = "utf-8"
    # A meta tag that could be read in ASCII cannot be UTF-16 or -32: HTML says ignore it.
    if name.startswith(("utf-16", "utf-32")):
        name = "utf-8"
    return body.decode(name, errors="replace")


def parse_html(html: bytes | str) -> lxml.html.HtmlElement | None:
    """The page as an lxml tree, or None when there is no document in it. Parsed as UTF-8
    bytes whatever came in: lxml rejects `str` that carries an encoding declaration, and
    guesses Latin-1 for bytes without a meta charset."""
    text = html if isinstance(html, str) else decode_html(html)
    data = text.encode("utf-8", errors="replace")
    try:
        root = lxml.html.document_fromstring(data, parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None  # "Document is empty" and friends
    return root if isinstance(root, lxml.html.HtmlElement) else None
