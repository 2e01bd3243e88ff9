"""Article extraction: page bytes in, an `Article` (text and metadata) out.

Built on trafilatura's `bare_extraction`, fed the bytes our fetcher already has (its own
downloader is never used). Dates come from the page itself (htmldate, through trafilatura,
with the time of day kept); the flow falls back to the feed's date when the page has none.
The language is what the page declares, else what the text looks like (py3langid).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import py3langid
import trafilatura

from extractors.records import Article
from extractors.urls import choose_canonical, is_http_url
from newswatch.errors import ExtractionError

EXTRACTOR_VERSION = "traf-2.3/1"
# Less than this is a menu or a caption, not an article (40 characters is a short Chinese
# paragraph, or a sentence in a language with spaces).
MIN_TEXT_CHARS = 40

# Keep the time of day and the original publication date, not the last-modified one.
_DATE_PARAMS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": True,
}
_HTML_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})\b", re.IGNORECASE)
# py3langid names some Chinese varieties apart; for monitoring they are all Chinese text.
_LANG_ALIASES = {"wuu": "zh", "yue": "zh", "cmn": "zh"}


def extract_article(html: str | bytes, url: str | None = None) -> Article:
    """Extract the main text and metadata of one article page.

    Raises `ExtractionError` when the page holds no article text (a home page, an empty page).
    """
    raw = html.encode("utf-8") if isinstance(html, str) else html
    doc = trafilatura.bare_extraction(
        raw,
        url=url,
        with_metadata=True,
        include_comments=False,  # comments under an article are not the article
        date_extraction_params=_DATE_PARAMS,
    )
    text = (doc.text or "").strip() if doc is not None else ""
    if len(text) < MIN_TEXT_CHARS:
        found = f"only {len(text)} characters of text" if text else "no article text"
        raise ExtractionError(f"{found} in {url or 'page'} (a home page or an empty page?)")
    page_url = url or doc.url or ""
    return Article(
        url=page_url,
        canonical_url=_canonical(page_url, doc.url),
        title=(doc.title or "").strip(),
        text=text,
        authors=_authors(doc.author),
        published=parse_datetime(doc.date),
        language=_declared_language(raw) or detect_language(text),
        site_name=(doc.sitename or "").strip(),
        description=(doc.description or "").strip(),
    )


def _canonical(page_url: str, declared: str | None) -> str:
    if is_http_url(page_url):
        return choose_canonical(page_url, declared)
    return declared or page_url


def _authors(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(name.strip() for name in value.split(";") if name.strip())


def parse_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from an ISO string; a date without a zone is taken as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _declared_language(raw: bytes) -> str | None:
    match = _HTML_LANG.search(raw[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def detect_language(text: str) -> str | None:
    """The language of `text` as an ISO 639-1 code, or None for text too short to tell."""
    sample = text[:2000]
    if len(sample.strip()) < 20:
        return None
    code, _score = py3langid.classify(sample)
    return _LANG_ALIASES.get(code, code)
