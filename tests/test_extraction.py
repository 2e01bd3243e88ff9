"""Article extraction on pages in the languages we watch: language, dates, text rules.

The ru, uk and fa pages were written for these tests (tests/data/pages); the es and zh pages
are real pages read from ../shared/corpus/pages (see tests/data/README.md; those cases skip
when it is absent).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from extractors.articles import extract_article
from tests.conftest import corpus_bytes

PAGES = Path(__file__).resolve().parent / "data" / "pages"
URL = "https://news.example.org/article/1"

# file, language, page declares it (es: traf-d6bbe3fa53 declares lang="en", a template's)
LANGUAGE_PAGES = [
    ("ru-metro.html", "ru"),
    ("uk-library.html", "uk"),
    ("fa-water.html", "fa"),
    ("n4k-spanish_article.html.gz", "es"),
    ("traf-d6bbe3fa53.html.gz", "es"),
    ("n4k-chinese_article_002.html.gz", "zh"),
    ("traf-e3ace56ad8.html.gz", "zh"),
]
_HTML_LANG = re.compile(rb"(<html\b[^>]*?)\s+lang\s*=\s*[\"']?[\w-]+[\"']?", re.IGNORECASE)


def _page(name: str) -> bytes:
    """A page of tests/data/pages, or a corpus page (`*.html.gz`) from ../shared."""
    if name.endswith(".gz"):
        return corpus_bytes(f"pages/html/{name}")
    return (PAGES / name).read_bytes()


def _with_lang(raw: bytes, lang: str | None) -> bytes:
    """The page with its `<html lang>` removed (None) or set to `lang`."""
    stripped = _HTML_LANG.sub(rb"\1", raw, count=1)
    if lang is None:
        return stripped
    return re.sub(rb"<html\b", f'<html lang="{lang}"'.encode(), stripped, count=1, flags=re.I)


@pytest.mark.parametrize(("name", "lang"), LANGUAGE_PAGES)
def test_language_as_the_page_is(name: str, lang: str) -> None:
    assert extract_article(_page(name), URL).language == lang


@pytest.mark.parametrize(("name", "lang"), LANGUAGE_PAGES)
def test_language_detected_without_html_lang(name: str, lang: str) -> None:
    raw = _with_lang(_page(name), None)
    assert not _HTML_LANG.search(raw)
    assert extract_article(raw, URL).language == lang


@pytest.mark.parametrize(("name", "lang"), LANGUAGE_PAGES)
def test_language_detected_over_an_english_template(name: str, lang: str) -> None:
    # `<html lang="en">` left in a site template is common on pages in other languages.
    assert extract_article(_with_lang(_page(name), "en"), URL).language == lang


def test_declared_language_wins_on_short_text() -> None:
    # Too little text to overrule the page: a Ukrainian site's short notice in Russian words.
    page = (
        '<html lang="uk"><head><title>Оголошення</title></head><body><article>'
        "<p>Завтра с 10:00 до 14:00 не будет воды на улице Шевченко.</p>"
        "</article></body></html>"
    )
    assert extract_article(page.encode(), URL).language == "uk"


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("ru-metro.html", datetime(2026, 1, 14, 2, 30, tzinfo=UTC)),  # 09:30+07:00, JSON-LD
        ("uk-library.html", datetime(2026, 2, 3, 12, 10, tzinfo=UTC)),  # 14:10+02:00, @graph
        ("fa-water.html", datetime(2026, 1, 20, 6, 45, tzinfo=UTC)),  # 10:15+03:30, meta
    ],
)
def test_published_is_the_stated_instant_in_utc(name: str, published: datetime) -> None:
    article = extract_article(_page(name), URL)
    assert article.published == published
    assert article.published is not None and article.published.tzinfo is UTC


@pytest.mark.parametrize("name", [n for n, _ in LANGUAGE_PAGES])
def test_published_is_always_aware_utc(name: str) -> None:
    published = extract_article(_page(name), URL).published
    assert published is not None
    assert published.utcoffset() == timedelta(0)


_UNDATED = (
    "<html><head><title>Notice</title></head><body><article><h1>Notice</h1>"
    + "<p>The harbour office says the ferry timetable changes next week for repairs.</p>" * 4
    + "</article></body></html>"
)


def test_feed_date_when_the_page_states_none() -> None:
    feed = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    article = extract_article(_UNDATED.encode(), URL, feed_published=feed)
    assert article.published == feed and article.published.tzinfo is UTC
    assert extract_article(_UNDATED.encode(), URL).published is None


def test_stated_date_wins_over_the_feed() -> None:
    feed = datetime(2026, 1, 15, tzinfo=UTC)
    article = extract_article(_page("ru-metro.html"), URL, feed_published=feed)
    assert article.published == datetime(2026, 1, 14, 2, 30, tzinfo=UTC)


def test_htmldate_when_neither_page_markup_nor_feed_has_a_date() -> None:
    page = _UNDATED.replace("<h1>Notice</h1>", "<h1>Notice</h1><p>Published 5 March 2026</p>")
    article = extract_article(page.encode(), "https://news.example.org/2026/03/05/notice")
    assert article.published == datetime(2026, 3, 5, tzinfo=UTC)


def test_persian_zero_width_non_joiners_survive() -> None:
    article = extract_article(_page("fa-water.html"), URL)
    assert article.title == "ذخایر سدهای اصفهان به کمترین سطح ده سال گذشته رسید"
    assert "زاینده\u200cرود" in article.text
    assert "هفته\u200cهای اخیر" in article.text
    assert "زایندهرود" not in article.text
    # The same page with the joiner written as an entity.
    entities = _page("fa-water.html").replace("\u200c".encode(), b"&zwnj;")
    assert "زاینده\u200cرود" in extract_article(entities, URL).text


@pytest.mark.parametrize(
    ("name", "title", "lead", "furniture"),
    [
        (
            "ru-metro.html",
            "В Новосибирске открыли станцию метро «Спортивная» после восьми лет стройки",
            "Первые пассажиры прошли через турникеты в 5:45 утра.",
            ["Наконец-то!", "Читайте также", "Реклама", "Подпишитесь", "Все права защищены"],
        ),
        (
            "uk-library.html",
            "У Львові після ремонту відкрили обласну бібліотеку для юнацтва",
            None,
            ["Ходив туди ще школярем", "Поділитися", "cookie", "Усі права захищено"],
        ),
        (
            "fa-water.html",
            "ذخایر سدهای اصفهان به کمترین سطح ده سال گذشته رسید",
            "حجم آب پشت سد زاینده\u200cرود به کمتر از دوازده درصد ظرفیت رسیده است",
            ["هر سال همین خبر", "همچنین بخوانید", "تمامی حقوق", "پربازدیدها"],
        ),
    ],
)
def test_text_is_the_article_only(
    name: str, title: str, lead: str | None, furniture: list[str]
) -> None:
    article = extract_article(_page(name), URL)
    assert article.title == title  # without the site's name
    assert len(article.text.split()) >= 150
    if lead is not None:  # the standfirst, which sits in the page's <header>
        assert article.text.startswith(lead)
    for boilerplate in furniture:
        assert boilerplate not in article.text


def test_standfirst_found_across_line_breaks_and_no_break_spaces() -> None:
    # The description says it on one line; the page's <header> splits it over lines, tabs and
    # a no-break space. Precision mode prunes the header; the lead goes back in front.
    lead = "Divers found the wreck of the ferry that sank in 1962 off the northern cape."
    body = " ".join(
        f"The {n} sentence of the article says something long enough about the ferry."
        for n in ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")
    )
    page = (
        f'<html lang="en"><head><title>Ferry wreck found</title>'
        f'<meta name="description" content="{lead}"></head><body><article>'
        "<header><h1>Ferry wreck found</h1><p>Divers found the wreck\n\t of the\u00a0ferry "
        "that sank in 1962\n off the northern cape.</p></header>"
        f"<div><p>{body}</p><p>{body}</p></div></article></body></html>"
    )
    text = extract_article(page.encode(), URL).text
    assert text.startswith(lead)
    assert text.count("northern cape") == 1
