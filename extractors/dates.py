"""The publication date of a page: what its markup states, else the feed's, else htmldate's.

The date the page states in its markup (JSON-LD `datePublished`, `article:published_time`,
`itemprop="datePublished"`, ...) comes first, with its time zone; then the feed's date, when
the caller passes it; then htmldate's reading of the page (through trafilatura: URL, visible
dates). Always an aware datetime in UTC; a time without a zone is taken as UTC. A stated date
outside 1990..next year is taken for a template's mistake and ignored.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import htmldate.extractors
from lxml.html import HtmlElement

# The languages htmldate's search of a page's text reads month names in (through dateparser):
# the six newswatch follows, then the most common others of news sites. Numeric dates
# (2026-01-05, 05.01.2026) are read in any language without it. Given no languages,
# dateparser tries every locale it has (about 200) on a string it cannot read, loading and
# compiling each: 40 MB and 1.2 s of CPU in each extraction worker, held for good. These
# fourteen cost about 10 MB (measured on the same strings).
DATE_LANGUAGES = (
    "en",
    "es",
    "ru",
    "uk",
    "zh",
    "fa",
    "ar",
    "de",
    "fr",
    "it",
    "pt",
    "pl",
    "tr",
    "ja",
)

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


def published_date(
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
    return as_utc(feed_published) or guessed


def stated_date(tree: HtmlElement) -> tuple[datetime | None, bool]:
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
            parsed = as_utc(parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError):
            return None
    if parsed is not None and not 1990 <= parsed.year <= datetime.now(UTC).year + 1:
        return None
    return parsed


def as_utc(value: datetime | None) -> datetime | None:
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
    return as_utc(parsed)


@cache
def _date_parser() -> Any:
    """htmldate's own dateparser settings (htmldate.extractors.get_external_parser), with
    `DATE_LANGUAGES` instead of every language."""
    parser = importlib.import_module("dateparser").DateDataParser
    return parser(
        languages=list(DATE_LANGUAGES),
        settings={
            "NORMALIZE": True,
            "PARSERS": ["custom-formats", "absolute-time"],
            "PREFER_DATES_FROM": "past",
            "PREFER_LOCALE_DATE_ORDER": True,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": True,
        },
    )


def limit_date_languages() -> None:
    """Make htmldate read month names in `DATE_LANGUAGES` only. htmldate has no setting for
    this; its parser is one cached function, replaced here once per process."""
    setattr(htmldate.extractors, "get_external_parser", _date_parser)  # noqa: B010
