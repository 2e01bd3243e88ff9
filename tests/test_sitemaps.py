"""extractors.sitemaps on the sitemaps in tests/data/sitemaps (written for this project: the
shared corpus has none; see tests/data/README.md), plain and gzip-compressed, broken and
hostile; and their dispatch through `parse_feed`."""

from __future__ import annotations

import gzip
import random
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.feeds import parse_feed
from extractors.records import ParsedFeed, Sitemap
from extractors.sitemaps import MAX_UNPACKED_BYTES, parse_sitemap, parse_w3c_datetime

SITEMAPS = Path(__file__).parent / "data" / "sitemaps"
URL = "https://news.example.com/sitemaps/news-sitemap-1.xml"


def body(name: str) -> bytes:
    return (SITEMAPS / name).read_bytes()


# ---------------------------------------------------------------- news sitemaps


def test_news_sitemap() -> None:
    sitemap = parse_sitemap(body("news-sitemap.xml"), URL)
    assert (sitemap.format, sitemap.error_kind, sitemap.sitemaps) == ("sitemap", None, ())
    assert [(e.url, e.title, e.published) for e in sitemap.entries] == [
        (
            "https://news.example.com/world/europe/ukraine-grain-corridor-talks-resume-2026-01-05/",
            "Ukraine grain corridor talks resume in Istanbul",
            # news:publication_date (10:42+01:00) wins over lastmod (11:20Z).
            datetime(2026, 1, 5, 9, 42, 17, tzinfo=UTC),
        ),
        (
            # The loc and the title are padded with newlines; the title carries entities.
            "https://news.example.com/world/americas/venezuela-opposition-primary-results-2026-01-05/",
            "Venezuela’s opposition counts primary votes & braces for appeals",
            datetime(2026, 1, 5, tzinfo=UTC),  # a date alone is midnight UTC
        ),
        (
            "https://news.example.com/markets/taiwan-chip-exports-record-2026-01-04/",
            "Taiwan chip exports hit a record in December",
            datetime(2026, 1, 4, 22, 5, 9, tzinfo=UTC),  # no publication_date: lastmod
        ),
        (
            # A relative loc (the protocol forbids them; sites send them) resolves.
            "https://news.example.com/world/middle-east/iran-nuclear-inspectors-return-2026-01-04/",
            "IAEA inspectors return to Iranian sites",
            datetime(2026, 1, 4, 23, 0, 0, 250_000, tzinfo=UTC),
        ),
        # The repeated loc keeps its first entry; javascript: and a url without loc are dropped.
        ("https://news.example.com/sport/late-result-2026-01-04/", "", None),  # "yesterday"
    ]
    for entry in sitemap.entries:
        assert entry.guid == entry.url
        assert (entry.summary, entry.author, entry.content) == ("", "", None)


def test_plain_sitemap_in_googles_old_namespace() -> None:
    sitemap = parse_sitemap(body("plain-sitemap.xml"), "https://blog.example.org/sitemap.xml")
    assert (sitemap.format, sitemap.error_kind) == ("sitemap", None)
    assert [(e.url, e.title, e.published) for e in sitemap.entries] == [
        ("https://blog.example.org/", "", datetime(2025, 12, 30, tzinfo=UTC)),
        (
            "https://blog.example.org/2025/12/why-we-moved-to-duckdb/",
            "",
            datetime(2025, 12, 30, 7, 15, tzinfo=UTC),
        ),
        (
            "https://blog.example.org/2025/12/notes-on-feeds/",
            "",
            datetime(2025, 12, 29, 17, 3, 41, tzinfo=UTC),  # no zone: taken as UTC
        ),
    ]


def test_sitemap_index_lists_children() -> None:
    index = parse_sitemap(body("sitemap-index.xml"), "https://news.example.com/sitemap.xml")
    assert (index.format, index.entries, index.error_kind) == ("sitemapindex", (), None)
    # Resolved, deduplicated in order, ftp: dropped.
    assert index.sitemaps == (
        "https://news.example.com/sitemaps/news-sitemap-1.xml",
        "https://news.example.com/sitemaps/news-sitemap-2.xml.gz",
        "https://news.example.com/sitemaps/archive-2025-12.xml.gz",
    )


def test_elements_without_namespace() -> None:
    plain = b"<urlset><url><loc>https://a.example/1</loc></url></urlset>"
    assert [e.url for e in parse_sitemap(plain, URL).entries] == ["https://a.example/1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
        ("2026-01-05T10:00Z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        (" 2026-01-05T10:00:00+05:30 ", datetime(2026, 1, 5, 4, 30, tzinfo=UTC)),
        ("2026-01-05T10:00:00.123456-01:00", datetime(2026, 1, 5, 11, 0, 0, 123456, tzinfo=UTC)),
        ("05/01/2026", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_datetimes(value: str | None, expected: datetime | None) -> None:
    assert parse_w3c_datetime(value) == expected


# ---------------------------------------------------------------- gzip


def test_gzip_sitemap_equals_the_plain_one() -> None:
    plain = parse_sitemap(body("news-sitemap.xml"), URL)
    assert parse_sitemap(gzip.compress(body("news-sitemap.xml")), URL) == plain


def test_concatenated_gzip_members_are_one_file() -> None:
    xml = body("plain-sitemap.xml")
    half = len(xml) // 2
    two_members = gzip.compress(xml[:half]) + gzip.compress(xml[half:])
    assert parse_sitemap(two_members, URL) == parse_sitemap(xml, URL)


def test_gzip_bomb_is_too_large() -> None:
    # 51 MB of zeros packs into ~50 KB.
    bomb = gzip.compress(b"\0" * (MAX_UNPACKED_BYTES + 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    sitemap = parse_sitemap(bomb, URL)
    assert (sitemap.format, sitemap.entries, sitemap.error_kind) == ("unknown", (), "too_large")
    assert sitemap.error_message == "gzip body unpacks to more than 50 MB"


def test_cut_off_gzip_keeps_complete_entries() -> None:
    xml = body("news-sitemap.xml")
    packed = gzip.compress(xml)
    cut = packed[: len(packed) * 3 // 4]
    sitemap = parse_sitemap(cut, URL)
    assert (sitemap.format, sitemap.error_kind) == ("sitemap", "malformed")
    assert sitemap.error_message == "gzip data is cut off; 2 entries recovered"
    whole = parse_sitemap(xml, URL).entries
    assert len(whole) == 5 and sitemap.entries == whole[:2]  # the entries before the cut


def test_corrupt_gzip_is_malformed() -> None:
    packed = bytearray(gzip.compress(body("plain-sitemap.xml")))
    packed[40:60] = b"\xff" * 20
    sitemap = parse_sitemap(bytes(packed), URL)
    assert (sitemap.format, sitemap.entries, sitemap.error_kind) == ("unknown", (), "malformed")
    assert sitemap.error_message is not None
    assert sitemap.error_message.startswith("gzip data is corrupt (Error -3 ")


def test_bad_gzip_checksum_keeps_what_was_unpacked() -> None:
    # A large sitemap (several slices of gzip input) with a wrong CRC in its trailer.
    rng = random.Random(20260105)
    urls = "".join(
        f"<url><loc>https://a.example/{rng.randbytes(12).hex()}</loc></url>" for _ in range(3000)
    )
    packed = bytearray(gzip.compress(f"<urlset>{urls}</urlset>".encode()))
    assert len(packed) > 40_000
    packed[-8:-4] = b"\0\0\0\0"
    sitemap = parse_sitemap(bytes(packed), URL)
    assert sitemap.error_kind == "malformed"
    assert sitemap.error_message is not None
    assert sitemap.error_message.startswith("gzip data is corrupt (Error -3 ")
    assert len(sitemap.entries) > 1000  # every slice before the last one


def test_gzip_that_is_not_a_sitemap() -> None:
    sitemap = parse_sitemap(gzip.compress(b'<rss version="2.0"><channel/></rss>'), URL)
    assert (sitemap.error_kind, sitemap.error_message) == (
        "not_a_feed",
        "gzip body unpacks to an XML document with root <rss>, not a sitemap",
    )


# ---------------------------------------------------------------- broken and not sitemaps


def test_cut_off_sitemap_drops_the_half_written_last_entry() -> None:
    xml = body("news-sitemap.xml")
    # Cut inside the third <loc>: ".../markets/taiwan-chip-exp"
    cut = xml[: xml.index(b"taiwan-chip-exp") + len(b"taiwan-chip-exp")]
    sitemap = parse_sitemap(cut, URL)
    assert sitemap.error_kind == "malformed"
    assert sitemap.error_message is not None
    assert sitemap.error_message.startswith("sitemap is not well-formed XML (")
    assert sitemap.error_message.endswith("; 2 entries recovered")
    assert [e.url for e in sitemap.entries] == [e.url for e in parse_sitemap(xml, URL).entries[:2]]


def test_bare_ampersands_are_repaired_not_reported() -> None:
    sitemap = parse_sitemap(
        b"<urlset><url><loc>https://a.example/search?q=iran&amp;page=2</loc></url>"
        b"<url><loc>https://a.example/story?id=7&ref=rss&#38;x=1</loc></url></urlset>",
        URL,
    )
    assert sitemap.error_kind is None
    assert [e.url for e in sitemap.entries] == [
        "https://a.example/search?q=iran&page=2",
        "https://a.example/story?id=7&ref=rss&x=1",
    ]


def test_broken_but_complete_sitemap_keeps_every_entry() -> None:
    broken = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        b' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        b"<url><loc>https://a.example/1</loc>"
        b"<news:news><news:title>One&nbsp;two</news:title></news:news></url>"  # HTML entity
        b"<url><loc>https://a.example/2</loc></url>"
        b"</urlset>"
    )
    sitemap = parse_sitemap(broken, URL)
    assert sitemap.error_kind == "malformed"
    assert sitemap.error_message == (
        "sitemap is not well-formed XML (Entity 'nbsp' not defined at line 1, column 188);"
        " 2 entries recovered"
    )
    assert [e.url for e in sitemap.entries] == ["https://a.example/1", "https://a.example/2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "body is empty, not a sitemap"),
        (b"  \n", "body is empty, not a sitemap"),
        (b"Service Unavailable", "body is text that is not XML, not a sitemap"),
        (b"<!DOCTYPE html><html><body>Hi</body></html>", "body is an HTML page, not a sitemap"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
            "body is an XML document with root <rss>, not a sitemap",
        ),
        (gzip.compress(b""), "gzip body unpacks to nothing, not a sitemap"),
    ],
)
def test_not_a_sitemap(data: bytes, message: str) -> None:
    assert parse_sitemap(data, URL) == Sitemap(
        "unknown", error_kind="not_a_feed", error_message=message
    )


def test_entities_are_not_expanded() -> None:
    # A billion-laughs body must not expand; the entity reference is left out of the loc.
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<urlset><url><loc>https://a.example/&c;</loc></url></urlset>"
    )
    sitemap = parse_sitemap(laughs, URL)
    assert [e.url for e in sitemap.entries] == ["https://a.example/"]


# ---------------------------------------------------------------- through parse_feed


def test_parse_feed_dispatches_sitemaps_by_root() -> None:
    feed = parse_feed(body("news-sitemap.xml"), URL, content_type="application/xml")
    sitemap = parse_sitemap(body("news-sitemap.xml"), URL)
    assert feed == ParsedFeed(format="sitemap", entries=sitemap.entries)
    index = parse_feed(body("sitemap-index.xml"), "https://news.example.com/sitemap.xml")
    assert (index.format, index.entries) == ("sitemapindex", ())
    assert len(index.children) == 3


def test_parse_feed_dispatches_gzip_without_a_kind() -> None:
    # The poller fetches the children of an index without a kind; some are .xml.gz files.
    feed = parse_feed(gzip.compress(body("plain-sitemap.xml")), URL, content_type="")
    assert (feed.format, len(feed.entries)) == ("sitemap", 3)


def test_kind_sitemap_forces_the_sitemap_parser() -> None:
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    feed = parse_feed(rss, URL, kind="sitemap")
    assert (feed.format, feed.error_kind) == ("unknown", "not_a_feed")
    assert feed.error_message == "body is an XML document with root <rss>, not a sitemap"


def test_prefixed_root_is_a_sitemap() -> None:
    prefixed = (
        b'<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sm:url><sm:loc>https://a.example/1</sm:loc></sm:url></sm:urlset>"
    )
    feed = parse_feed(prefixed, URL)
    assert (feed.format, [e.url for e in feed.entries]) == ("sitemap", ["https://a.example/1"])


# ---------------------------------------------------------------- properties


REAL_BODIES = [path.read_bytes() for path in sorted(SITEMAPS.iterdir())]
REAL_BODIES += [gzip.compress(b) for b in REAL_BODIES]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncated_or_mutated_sitemaps_never_raise(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(REAL_BODIES)))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    for _ in range(data.draw(st.integers(0, 8))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    sitemap = parse_sitemap(bytes(raw), URL)
    assert isinstance(sitemap, Sitemap)
    assert sitemap.format in ("sitemap", "sitemapindex", "unknown")
    for entry in sitemap.entries:
        assert entry.url.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.utcoffset() is not None


def test_deflate_stream_is_not_gzip() -> None:
    # HTTP "deflate" is undone by the HTTP client; a raw zlib body here is just binary.
    sitemap = parse_sitemap(zlib.compress(body("plain-sitemap.xml")), URL)
    assert sitemap.error_kind == "not_a_feed"
