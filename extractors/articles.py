"""Article extraction: page bytes in, an `Article` (text and metadata) out.

Built on trafilatura's `bare_extraction`, fed the bytes our fetcher already has (its own
downloader is never used). The page is decoded and parsed once, here; trafilatura works on a
copy of that tree, and the rules below read the original.

Rules on top of trafilatura's defaults, each kept because it measured better on the real pages
of `../shared/corpus/pages` without costing any language with 10 or more pages. The numbers
are `bench/extraction.py`'s, with the rule and without it (the other rules on): mean shingle
F1 on the 15 pages with a full expected text, and trafilatura's snippet F-score on its 129
evaluation pages.

- Comments under an article are not the article (`include_comments=False`).
- Precision mode (`favor_precision=True`) drops the newsletter boxes, "related" blocks and
  reader comments the default mode keeps: F1 0.900 -> 0.971, snippet F 0.923 -> 0.930. It
  runs first without trafilatura's external comparators (`fast`), which gives the same text on
  all but a few pages in two thirds of the time; a result under 1000 characters gets the full
  cascade (readability, justext), and an empty one the default mode with its rescues, so the
  stricter mode never loses a page that has text.
- The standfirst comes back: precision mode prunes `<header>`, and with it the lead paragraph
  many sites put there. A block of the body whose text is the page's own description, when
  it is missing from the text, goes back in front: F1 0.965 -> 0.971, snippet F 0.916 -> 0.930.
- Lines that are nothing but page furniture ("Advertisement", "Read more", "Auch
  interessant:", a newsletter call) are dropped: snippet F 0.925 -> 0.930. A "Read more:
  <headline>" line stays: full reference texts keep those (dropping them cost en F1 0.005).
- Zero-width (non-)joiners survive: trafilatura deletes every character `str.isprintable()`
  rejects, which breaks Persian spelling ("دانشگاه‌های" becomes "دانشگاههای"). They are
  swapped for printable stand-ins before trafilatura sees the page, and back after.
- The title loses the site's name around it ("Headline - Site", "Site | Headline"), only when
  that part names the site (its `og:site_name` or host): titles matching trafilatura's
  evaluation data 62/108 -> 82/108.

Dates: the publication date the page states in its markup (JSON-LD `datePublished`,
`article:published_time`, `itemprop="datePublished"`, ...) comes first, with its time zone;
then the feed's date, when the caller passes it; then htmldate's reading of the page (through
trafilatura: URL, visible dates). Always an aware datetime in UTC; a time without a zone is
taken as UTC.

Language: what the page declares (`<html lang>`, `Content-Language`), unless the text is long
enough to tell and py3langid finds the declared language implausible: a site template's
`lang="en"` on a Spanish page, for one. Read from the parsed tree, so an `<html lang="en">`
inside an old-IE conditional comment is not taken for the page's (4 corpus pages).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.utils import decode_file, load_html

from extractors.errors import ExtractionError
from extractors.records import Article
from extractors.urls import choose_canonical, is_http_url

EXTRACTOR_VERSION = "traf-2.3/2"
# Less than this is a menu or a caption, not an article (40 characters is a short Chinese
# paragraph, or a sentence in a language with spaces).
MIN_TEXT_CHARS = 40

# Keep the time of day and the original publication date, not the last-modified one.
_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": True,
}
_QUICK_DATE_PARAMS = {**_DATE_PARAMS, "extensive_search": False}
# Extraction modes tried in turn, each with the text length that makes the next unnecessary.
# Comments under an article are not the article, in every mode.
_MODES: tuple[tuple[dict[str, Any], int], ...] = (
    ({"include_comments": False, "favor_precision": True, "fast": True}, 1000),
    ({"include_comments": False, "favor_precision": True}, MIN_TEXT_CHARS),
    ({"include_comments": False, "favor_precision": False}, 0),
)

# --- decoding: keep the zero-width joiners ------------------------------------------------

# Printable symbols no news page uses (Tai Xuan Jing), standing in for ZWNJ and ZWJ while
# trafilatura runs: it deletes every character that `str.isprintable()` rejects.
_JOINERS = {"\u200c": "\U0001d301", "\u200d": "\U0001d302"}
_JOINER_ENTITIES = re.compile(r"&(?:zwn?j;|#8204;|#8205;|#x200[cd];)", re.IGNORECASE)
_ENTITY_CHAR = {"&zwnj;": "\u200c", "&zwj;": "\u200d", "&#8204;": "\u200c", "&#8205;": "\u200d"}
_ENTITY_CHAR |= {"&#x200c;": "\u200c", "&#x200d;": "\u200d"}
_RESTORE = str.maketrans({v: k for k, v in _JOINERS.items()})


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
    return (value or "").translate(_RESTORE).strip()


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
    tree = load_html(_decode(raw))
    if tree is None:
        raise ExtractionError(f"no HTML document in {url or 'page'}")
    stated, stated_time = _stated_date(tree)
    # htmldate's search of the whole text is only needed when the markup gives no time.
    dates = _DATE_PARAMS if stated is None or not stated_time else _QUICK_DATE_PARAMS
    meta, text = None, ""
    # Precision mode without the external comparators first; a short result gets the full
    # cascade (readability, justext), and nothing at all the default mode with its rescues.
    for mode, enough in _MODES:
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=meta is None, date_extraction_params=dates, **mode
        )
        meta = meta or doc
        extracted = _restore(doc.text) if doc is not None else ""
        # A precision run's answer stands; the default mode's only when it found more.
        if extracted and (mode["favor_precision"] or len(extracted) > len(text)):
            text = extracted
        if len(text) >= enough:
            break
    if meta is None or len(text) < MIN_TEXT_CHARS:
        found = f"only {len(text)} characters of text" if text else "no article text"
        raise ExtractionError(f"{found} in {url or 'page'} (a home page or an empty page?)")
    doc = meta

    title = _restore(doc.title)
    description = _restore(doc.description)
    page_url = url or doc.url or ""
    site_name = _restore(doc.sitename)
    text = _clean_text(text, title, _lead(tree, doc.description or ""))
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"only page furniture in {url or 'page'}")
    return Article(
        url=page_url,
        canonical_url=_canonical(page_url, doc.url),
        title=_clean_title(title, site_name, page_url),
        text=text,
        authors=_authors(_restore(doc.author)),
        published=_published(stated, stated_time, doc.date, feed_published),
        language=_language(tree, text),
        site_name=site_name,
        description=description,
    )


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


def _clean_text(text: str, title: str, lead: str | None) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not _is_furniture(line)]
    if lead and _fold(lead) != _fold(title):
        body = _spaces("\n".join(lines))
        if _spaces(lead)[:80] not in body:
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
# Text nodes holding `$needle`, spaces normalised (no-break spaces too, as `str.split` does).
_TEXT_WITH = etree.XPath(
    ".//text()[contains(normalize-space(translate(., '\u00a0', ' ')), $needle)]"
)


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
    for node in _TEXT_WITH(body, needle=needle):
        block = node.getparent()
        if block is None or not isinstance(block.tag, str):
            continue
        while block.tag in _INLINE and block.getparent() is not None:
            block = block.getparent()
        if block.tag in _NOT_TEXT or block.tag in _HEADINGS:
            continue
        if any(a.tag in _NOT_TEXT for a in block.iterancestors()):
            continue
        text = _spaces(block.text_content())
        if needle in text and len(text) <= 1.5 * len(wanted) + 50:
            return text.translate(_RESTORE)
    return None


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


# --- dates ----------------------------------------------------------------------------------

_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|WebPage|ItemPage", re.IGNORECASE)
_META_DATES = (
    "article:published_time",
    "og:article:published_time",
    "article.published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
)


def _published(
    stated: datetime | None,
    stated_time: bool,
    htmldate: str | None,
    feed_published: datetime | None,
) -> datetime | None:
    """The page's stated date, else the feed's, else htmldate's; a date-only statement takes
    htmldate's time of day when htmldate found the same day."""
    guessed = parse_datetime(htmldate)
    if stated is not None:
        if not stated_time and guessed is not None and guessed.date() == stated.date():
            return guessed
        return stated
    return _as_utc(feed_published) or guessed


def _stated_date(tree: HtmlElement) -> tuple[datetime | None, bool]:
    """The publication date in the page's markup, and whether it had a time of day."""
    for value in _date_values(tree):
        parsed = _parse_stated(value)
        if parsed is not None:
            return parsed, ("T" in value or ":" in value or value.strip().isdigit())
    return None, False


def _date_values(tree: HtmlElement) -> Iterator[str]:
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" in (script.get("type") or "").lower() and script.text:
            yield from _json_ld_dates(script.text)
    head = tree.find("head")
    metas = list(head.iterfind("meta")) if head is not None else []
    for key in _META_DATES:
        for meta in metas:
            name = meta.get("property") or meta.get("name") or meta.get("itemprop") or ""
            if name.lower() == key and meta.get("content"):
                yield meta.get("content", "")
    for elem in tree.iterfind(".//*[@itemprop='datePublished']"):
        value = elem.get("datetime") or elem.get("content")
        if value:
            yield value


def _json_ld_dates(payload: str) -> Iterator[str]:
    try:
        data = json.loads(payload, strict=False)
    except (ValueError, RecursionError):
        return
    items = data if isinstance(data, list) else [data]
    for item in list(items):
        if isinstance(item, dict) and isinstance(item.get("@graph"), list):
            items.extend(item["@graph"])
    for item in items:
        if not isinstance(item, dict):
            continue
        types = item.get("@type")
        types = types if isinstance(types, list) else [types]
        kinds = " ".join(k for k in types if isinstance(k, str))
        value = item.get("datePublished")
        if isinstance(value, str) and _ARTICLE_TYPES.search(kinds):
            yield value


def _parse_stated(value: str) -> datetime | None:
    value = value.strip()
    if value.isdigit() and len(value) in (10, 13):  # seconds or milliseconds since the epoch
        return datetime.fromtimestamp(int(value[:10]), UTC)
    parsed = parse_datetime(value)
    if parsed is None:
        try:
            parsed = _as_utc(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError):
            return None
    if parsed is not None and not 1990 <= parsed.year <= datetime.now(UTC).year + 1:
        return None
    return parsed


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from an ISO string; a date without a zone is taken as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return _as_utc(parsed)


# --- language -------------------------------------------------------------------------------

# py3langid names some Chinese varieties apart; for monitoring they are all Chinese text.
_LANG_ALIASES = {"wuu": "zh", "yue": "zh", "cmn": "zh", "iw": "he", "in": "id", "ji": "yi"}
_LANG_TAG = re.compile(r"^([a-z]{2,3})(?:[-_]|$)")
# The text must be this long, and the declared language this unlikely to the detector, to
# overrule the page. Not a threshold on the detector's confidence in its own answer: that is
# often below 0.95 on Chinese text that is plainly not the English a template declared.
_OVERRULE_CHARS = 250
_IMPLAUSIBLE = 0.01
_DETECT_CHARS = 600  # enough to tell, and detection time grows with the sample
# Languages a detector mixes up with a neighbour; the declaration wins between these.
_CLOSE = [{"no", "nb", "nn", "da"}, {"hr", "sr", "bs"}, {"ms", "id"}, {"gl", "pt"}, {"ca", "es"}]


def _language(tree: HtmlElement, text: str) -> str | None:
    declared = _declared_language(tree)
    scores = _detect(text)
    detected = next(iter(scores), None)
    if declared is None or detected is None or detected == declared:
        return declared or detected
    if (
        len(text) >= _OVERRULE_CHARS
        and scores.get(declared, 0.0) < _IMPLAUSIBLE
        and not any({declared, detected} <= group for group in _CLOSE)
    ):
        return detected
    return declared


def _declared_language(tree: HtmlElement) -> str | None:
    values = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    head = tree.find("head")
    if head is not None:
        values += [
            m.get("content")
            for m in head.iterfind("meta[@http-equiv]")
            if (m.get("http-equiv") or "").lower() == "content-language"
        ]
    for value in values:
        match = _LANG_TAG.match((value or "").strip().lower())
        if match and match.group(1) not in ("und", "mul", "zxx"):
            return _LANG_ALIASES.get(match.group(1), match.group(1))
    return None


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _detect(text: str) -> dict[str, float]:
    """Language -> probability for the start of `text`, most likely first; empty when the
    text is too short to tell."""
    sample = text[:_DETECT_CHARS]
    if len(sample.strip()) < 20:
        return {}
    scores: dict[str, float] = {}
    for code, probability in _identifier().rank(sample):
        lang = _LANG_ALIASES.get(code, code)
        scores[lang] = scores.get(lang, 0.0) + probability
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def detect_language(text: str) -> str | None:
    """The language of `text` as an ISO 639-1 code, or None for text too short to tell."""
    return next(iter(_detect(text)), None)
