"""Public Telegram channel previews (`https://t.me/s/<name>`) to `ParsedFeed`.

Telegram offers no feed, but the web preview of a public channel lists its latest posts
(about twenty) as HTML, and `?before=<id>` pages back through older ones. Each post carries its
whole text, so the entries come with `content` set and become articles without another fetch.

What is left out, on purpose: posts without text (a photo or video alone is not something we
can read), service posts ("channel photo updated"), and the quoted text of the post a reply
answers (it belongs to the other post). A channel without a public preview, which t.me
answers with its "View in Telegram" page, is `error_kind="telegram_not_public"`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urljoin, urlsplit

import lxml.html

from extractors.records import FeedEntry, ParsedFeed
from extractors.text import clip, collapse_whitespace, parse_html

TELEGRAM = "telegram"
TITLE_LIMIT = 120
SUMMARY_LIMIT = 300

_DATA_POST = re.compile(r"^([A-Za-z0-9_]+)/(\d+)$")
_COUNT = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)\s*([KMB]?)$", re.IGNORECASE)
_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Elements that start a new line when Telegram renders a post.
_LINE_TAGS = frozenset(("blockquote", "div", "p", "pre"))


def _has_class(name: str) -> str:
    """XPath test for one whole class token (so `tgme_widget_message` skips `..._wrap`)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_MESSAGES = f"//div[{_has_class('tgme_widget_message')}][@data-post]"
_MESSAGE_TEXT = (
    f".//div[{_has_class('js-message_text')} or {_has_class('tgme_widget_message_text')}]"
    f"[not(ancestor::*[{_has_class('tgme_widget_message_reply')}])]"
)
_SERVICE = f"self::*[{_has_class('service_message')}] | .//*[contains(@class, 'message_service')]"
_DATE = (
    f".//a[{_has_class('tgme_widget_message_date')}]//time[@datetime]"
    f" | .//time[@datetime][not(ancestor::*[{_has_class('tgme_widget_message_reply')}])]"
)
_VIEWS = f".//*[{_has_class('tgme_widget_message_views')}]"
_CHANNEL_TITLES = (
    "//meta[@property='og:title']/@content",
    f"//*[{_has_class('tgme_channel_info_header_title')}]",
    f"//*[{_has_class('tgme_page_title')}]",
)
_CLOSED_PAGE = f"//*[{_has_class('tgme_page_extra')}] | //*[contains(@class, 'tgme_action_button')]"
_PREVIEW_BUTTON = "//a[contains(@class, 'tgme_action')][starts-with(@href, '/s/')]/@href"
_CHANNEL_PAGE = (
    "//*[contains(@class, 'tgme_channel_history') or contains(@class, 'tgme_channel_info')]"
)
_OLDER_LINKS = (
    "//link[@rel='prev']/@href",
    f"//a[{_has_class('js-messages_more')}][@data-before]/@href",
)


def parse_channel_page(html: bytes | str, url: str) -> ParsedFeed:
    """The text posts of one channel preview page, newest last as Telegram lists them."""
    root = parse_html(html)
    if root is None:
        return _failure("not_a_feed", "body is empty, not a Telegram channel page")
    title = _channel_title(root)
    messages = root.xpath(_MESSAGES)
    if not messages:
        return _page_without_posts(root, url, title)
    entries: dict[str, FeedEntry] = {}
    for message in messages:
        entry = _entry(message, title)
        if entry is not None:
            entries.setdefault(entry.guid, entry)
    return ParsedFeed(format=TELEGRAM, title=title, entries=tuple(entries.values()))


def older_page_url(html: bytes | str, url: str) -> str | None:
    """The preview page with the posts before this one, or None when there is none: the page's
    own link when it has one, else `?before=<smallest post id>` on the channel's `/s/` page."""
    root = parse_html(html)
    if root is None:
        return None
    return _older_from_links(root, url) or _older_from_posts(root, url)


def _older_from_links(root: lxml.html.HtmlElement, url: str) -> str | None:
    for query in _OLDER_LINKS:
        for href in root.xpath(query):
            older = _resolve(url, href)
            if older:
                return older
    return None


def _older_from_posts(root: lxml.html.HtmlElement, url: str) -> str | None:
    posts = [_DATA_POST.match(p.strip()) for p in root.xpath(f"{_MESSAGES}/@data-post")]
    ids = [(int(m.group(2)), m.group(1)) for m in posts if m]
    if not ids:
        return None
    oldest, channel = min(ids)
    if oldest <= 1:  # post 1 is the first a channel ever has
        return None
    return _resolve(url or "https://t.me/", f"/s/{channel}?before={oldest}")


def parse_count(text: str) -> int | None:
    """Telegram's rounded counters as integers: "987" → 987, "12.4K" → 12400, "1.2M" → 1200000."""
    match = _COUNT.match(text.strip())
    if match is None:
        return None
    # Decimal, not float: 1.1 * 1000 is 1100.0000000000002 in binary floating point.
    number = Decimal(match.group(1).replace(",", "."))
    return int(number * _MULTIPLIERS[match.group(2).upper()])


# ---------------------------------------------------------------- pages


def _channel_title(root: lxml.html.HtmlElement) -> str:
    for query in _CHANNEL_TITLES:
        for found in root.xpath(query):
            text = collapse_whitespace(found if isinstance(found, str) else found.text_content())
            if text:
                return text
    return ""


def _page_without_posts(root: lxml.html.HtmlElement, url: str, title: str) -> ParsedFeed:
    if root.xpath(_CHANNEL_PAGE):
        return ParsedFeed(format=TELEGRAM, title=title)  # a public channel with no posts yet
    if root.xpath(_CLOSED_PAGE):
        return _info_page_failure(root, url, title)
    return _failure("not_a_feed", "body is an HTML page, not a Telegram channel preview", title)


def _info_page_failure(root: lxml.html.HtmlElement, url: str, title: str) -> ParsedFeed:
    """t.me's "View in Telegram" page, which is all a channel without a preview has."""
    # The handle from the URL is what the user configured; the title is the fallback.
    name = _handle(url) or title
    preview = root.xpath(_PREVIEW_BUTTON)
    if preview:
        # t.me/<name> of a public channel: the same page, plus a "Preview channel" button.
        return _failure(
            "not_a_feed",
            f"this is the info page of Telegram channel {name!r}, not its preview;"
            f" poll {_resolve(url, preview[0]) or preview[0]} instead",
            title,
        )
    return _failure(
        "telegram_not_public",
        f"Telegram channel {name!r} has no public preview: it is private or its owner turned"
        " web previews off, and t.me only offers 'View in Telegram'",
        title,
    )


def _handle(url: str) -> str:
    """The last path segment: "closed_demo" for https://t.me/closed_demo."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return path.rstrip("/").rsplit("/", 1)[-1]


def _resolve(base: str, href: str) -> str | None:
    """`href` from the page resolved against the page URL; None when it is empty or broken
    (the page is untrusted: "http://[::1" makes urljoin raise)."""
    try:
        return urljoin(base, href.strip()) if href.strip() else None
    except ValueError:
        return None


def _failure(kind: str, message: str, title: str = "") -> ParsedFeed:
    return ParsedFeed(format=TELEGRAM, title=title, error_kind=kind, error_message=message)


# ---------------------------------------------------------------- posts


def _entry(message: lxml.html.HtmlElement, channel_title: str) -> FeedEntry | None:
    post = _DATA_POST.match(message.get("data-post", "").strip())
    if post is None or message.xpath(_SERVICE):
        return None
    text_nodes = message.xpath(_MESSAGE_TEXT)
    content = _flatten(text_nodes[0]) if text_nodes else ""
    if not content:
        return None
    channel, post_id = post.groups()
    return FeedEntry(
        guid=f"{channel}/{post_id}",
        url=f"https://t.me/{channel}/{post_id}",
        title=post_title(content),
        summary=clip(collapse_whitespace(content), SUMMARY_LIMIT),
        published=_published(message),
        author=channel_title,
        content=content,
        views=_views(message),
    )


def post_title(content: str) -> str:
    """A post's title: its first line, clipped to TITLE_LIMIT. Channels put the headline
    there, and a post of one line is its own headline. The post's text is all of it."""
    return clip(content.split("\n", 1)[0], TITLE_LIMIT)


def _flatten(element: lxml.html.HtmlElement) -> str:
    """The post text as a reader sees it: `<br>` and blocks become line breaks, other tags
    (bold, links, emoji images with their character inside) are flattened to their text."""
    parts: list[str] = []
    _collect(element, parts)
    lines = (line.strip() for line in "".join(parts).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _collect(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    tag = element.tag
    if tag == "br":
        parts.append("\n")
        return
    if not isinstance(tag, str):  # comments and processing instructions have no text to show
        return
    if tag in _LINE_TAGS:
        parts.append("\n")
    # Source newlines are layout, not line breaks; only <br> and blocks break lines.
    parts.append(_SPACES.sub(" ", element.text or ""))
    for child in element:
        _collect(child, parts)
        parts.append(_SPACES.sub(" ", child.tail or ""))
    if tag in _LINE_TAGS:
        parts.append("\n")


def _published(message: lxml.html.HtmlElement) -> datetime | None:
    for node in message.xpath(_DATE):
        try:
            parsed = datetime.fromisoformat(node.get("datetime", "").strip())
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _views(message: lxml.html.HtmlElement) -> int | None:
    for node in message.xpath(_VIEWS):
        return parse_count(node.text_content())
    return None
