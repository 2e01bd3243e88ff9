"""extractors.telegram on hand-written pages with the structure of real t.me pages
(tests/data/telegram, described in tests/data/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.records import ParsedFeed
from extractors.telegram import (
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    older_page_url,
    parse_channel_page,
    parse_count,
)

TELEGRAM = Path(__file__).parent / "data" / "telegram"
CHANNEL = (TELEGRAM / "channel.html").read_bytes()
NOT_PUBLIC = (TELEGRAM / "not_public.html").read_bytes()
URL = "https://t.me/s/newswatch_demo"


@pytest.fixture(scope="module")
def channel() -> ParsedFeed:
    return parse_channel_page(CHANNEL, URL)


def test_channel_page(channel: ParsedFeed) -> None:
    assert (channel.format, channel.title, channel.error_kind) == (
        "telegram",
        "Newswatch Demo",
        None,
    )
    # 1042 (photo only), 1044 (service) and 1046 (video only) have no text to read.
    assert [e.guid for e in channel.entries] == [
        "newswatch_demo/1040",
        "newswatch_demo/1041",
        "newswatch_demo/1043",
        "newswatch_demo/1045",
        "newswatch_demo/1047",
    ]
    for entry in channel.entries:
        assert entry.url == f"https://t.me/{entry.guid}"
        assert entry.author == "Newswatch Demo"
        assert entry.published is not None and entry.published.tzinfo is UTC


def test_ukrainian_post_with_markup_and_emoji(channel: ParsedFeed) -> None:
    post = channel.entries[0]
    assert post.content == (
        "🔥 Уряд затвердив програму відновлення енергетики\n\n"
        "Кабінет міністрів ухвалив план ремонту теплоелектростанцій до осені. "
        "Деталі — у нашому матеріалі."
    )
    assert post.title == "🔥 Уряд затвердив програму відновлення енергетики"
    assert post.summary == post.content.replace("\n\n", " ")
    assert post.published == datetime(2026, 1, 5, 9, 14, tzinfo=UTC)
    assert post.views == 12_400


def test_russian_post(channel: ParsedFeed) -> None:
    post = channel.entries[1]
    assert post.title == "Центробанк сохранил ключевую ставку на уровне 16% годовых."
    assert post.content == (
        "Центробанк сохранил ключевую ставку на уровне 16% годовых.\n"
        "Аналитики ожидали снижения на один процентный пункт 📈"
    )
    assert post.views == 1_200_000


def test_reply_quote_is_not_part_of_the_post(channel: ParsedFeed) -> None:
    post = channel.entries[2]
    assert (
        post.content
        == "Оновлення: Міненерго опублікувало перелік станцій, які відремонтують першими."
    )
    assert post.views == 987


def test_forwarded_long_post(channel: ParsedFeed) -> None:
    post = channel.entries[3]
    assert post.content is not None
    assert post.content.startswith("Parliament passed the budget amendment late on Monday night")
    assert "Forwarded from" not in post.content
    assert "Link preview text" not in post.content  # the link preview card is not the post
    assert post.content.count("\n") == 1
    assert post.title == (
        "Parliament passed the budget amendment late on Monday night after a session that "
        "lasted more than fourteen hours and…"
    )
    assert len(post.title) <= TITLE_LIMIT
    assert len(post.summary) <= SUMMARY_LIMIT
    assert post.summary.endswith("the procedure was rushed and that…")
    assert post.published == datetime(2026, 1, 5, 14, 14, tzinfo=UTC)  # 16:14 +02:00
    assert post.views == 3_700


def test_photo_with_caption_is_a_post(channel: ParsedFeed) -> None:
    post = channel.entries[4]
    assert post.content == "Фото дня: черга біля пункту незламності у Харкові 📷"
    assert post.views == 8


def test_str_and_bytes_give_the_same_result(channel: ParsedFeed) -> None:
    assert parse_channel_page(CHANNEL.decode("utf-8"), URL) == channel


@pytest.mark.parametrize(
    "meta", [b"", b'<meta charset="utf-16">', b'<meta charset="no-such-charset">']
)
def test_bytes_without_a_usable_meta_charset_are_read_as_utf8(
    channel: ParsedFeed, meta: bytes
) -> None:
    page = CHANNEL.replace(b'<meta charset="utf-8">', meta)
    assert parse_channel_page(page, URL) == channel
    assert parse_channel_page(b"\xef\xbb\xbf" + page, URL) == channel


def test_meta_charset_is_honoured() -> None:
    text = CHANNEL.decode("utf-8").replace("🔥", "").replace("📈", "").replace("📷", "")
    cp1251 = text.replace('<meta charset="utf-8">', '<meta charset="windows-1251">').encode(
        "windows-1251"
    )
    post = parse_channel_page(cp1251, URL).entries[0]
    assert post.title == "Уряд затвердив програму відновлення енергетики"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("987", 987),
        ("12.4K", 12_400),
        ("1.2M", 1_200_000),
        ("3K", 3_000),
        (" 0 ", 0),
        ("2,5K", 2_500),
        ("", None),
        ("many", None),
        ("1.2.3K", None),
    ],
)
def test_parse_count(text: str, count: int | None) -> None:
    assert parse_count(text) == count


def test_not_public_channel() -> None:
    feed = parse_channel_page(NOT_PUBLIC, "https://t.me/closed_demo")
    assert (feed.format, feed.title, feed.entries) == ("telegram", "Closed Demo", ())
    assert feed.error_kind == "telegram_not_public"
    assert feed.error_message == (
        "Telegram channel 'closed_demo' has no public preview: it is private or its owner turned"
        " web previews off, and t.me only offers 'View in Telegram'"
    )


def test_info_page_of_a_public_channel_points_to_the_preview() -> None:
    button = (
        b'<a class="tgme_action_button_new tgme_action_web_button" href="/s/closed_demo">'
        b"Preview channel</a>"
    )
    page = NOT_PUBLIC.replace(
        b"</a>\n          </div>", b"</a>" + button + b"\n          </div>", 1
    )
    feed = parse_channel_page(page, "https://t.me/closed_demo")
    assert feed.error_kind == "not_a_feed"
    assert feed.error_message is not None
    assert feed.error_message.endswith("poll https://t.me/s/closed_demo instead")


def test_public_channel_without_posts_is_not_an_error() -> None:
    start, end = (
        CHANNEL.index(b'<div class="tgme_widget_message_wrap'),
        CHANNEL.index(b"</section>"),
    )
    feed = parse_channel_page(CHANNEL[:start] + CHANNEL[end:], URL)
    assert (feed.title, feed.entries, feed.error_kind) == ("Newswatch Demo", (), None)


@pytest.mark.parametrize(
    "body", [b"", b"   ", "", b"\x00\x00", "<p>just a page</p>", b"\xff\xfe<html>"]
)
def test_not_a_channel_page(body: bytes | str) -> None:
    feed = parse_channel_page(body, URL)
    assert (feed.entries, feed.error_kind) == ((), "not_a_feed")


def test_older_page_from_the_link() -> None:
    assert older_page_url(CHANNEL, URL) == "https://t.me/s/newswatch_demo?before=1040"
    # Resolved against the page's own URL, as a browser would.
    mirror = older_page_url(CHANNEL, "http://127.0.0.1:8000/s/newswatch_demo")
    assert mirror == "http://127.0.0.1:8000/s/newswatch_demo?before=1040"


def test_broken_older_link_is_skipped() -> None:
    page = CHANNEL.replace(b'href="/s/newswatch_demo?before=1040">', b'href="http://[::1">', 1)
    assert older_page_url(page, URL) == "https://t.me/s/newswatch_demo?before=1040"


def test_older_page_from_the_load_more_anchor() -> None:
    page = CHANNEL.replace(b'<link rel="prev" href="/s/newswatch_demo?before=1040">', b"")
    assert older_page_url(page, URL) == "https://t.me/s/newswatch_demo?before=1040"


def test_older_page_built_from_the_smallest_post_id() -> None:
    page = (
        CHANNEL.replace(b'<link rel="prev" href="/s/newswatch_demo?before=1040">', b"")
        .replace(b'data-before="1040" ', b"")
        .replace(b'data-post="newswatch_demo/1040"', b'data-post="newswatch_demo/1039"')
    )
    assert older_page_url(page, URL + "?before=1050") == "https://t.me/s/newswatch_demo?before=1039"


def test_no_older_page() -> None:
    assert older_page_url(NOT_PUBLIC, "https://t.me/closed_demo") is None
    assert older_page_url(b"", URL) is None
    first_post = (
        b'<html><body><div class="tgme_widget_message js-widget_message" data-post="demo/1">'
        b'<div class="tgme_widget_message_text js-message_text">hello</div></div></body></html>'
    )
    assert older_page_url(first_post, URL) is None


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, len(CHANNEL)), noise=st.binary(max_size=64))
def test_cut_or_noisy_pages_never_raise(cut: int, noise: bytes) -> None:
    page = CHANNEL[:cut] + noise
    feed = parse_channel_page(page, URL)
    assert isinstance(feed, ParsedFeed)
    assert all(e.content and e.guid.startswith("newswatch_demo/") for e in feed.entries)
    older_page_url(page, URL)
