"""extractors.opml on NetNewsWire's two real subscription lists (read from ../shared/corpus,
origins in tests/data/README.md; skipped when it is absent), on a round trip of the project's
own seeds/feeds.yaml, and on small hand-written files for the rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from extractors.opml import NEWSWATCH_NS, OpmlOutline, parse_opml, write_opml
from extractors.records import Source
from newswatch.config import load_sources
from newswatch.errors import ConfigError
from tests.conftest import corpus_bytes

ROOT = Path(__file__).resolve().parents[1]


def opml(name: str) -> bytes:
    return corpus_bytes(f"feeds/real/netnewswire/{name}")


def as_source(outline: OpmlOutline) -> Source:
    """What `newswatch sources import` would build from an outline newswatch wrote."""
    assert outline.kind and outline.language and outline.country and outline.outlet
    return Source(
        name=outline.title,
        kind=outline.kind,
        url=outline.xml_url,
        language=outline.language,
        country=outline.country,
        outlet=outline.outlet,
    )


# ---------------------------------------------------------------- real files


def test_netnewswire_subscriptions() -> None:
    outlines = parse_opml(opml("Subs.opml"), "Subs.opml")
    assert len(outlines) == 207
    assert Counter(o.category for o in outlines) == {
        None: 69,  # top-level feeds, outside any folder
        "Weblogs": 97,
        "Programming": 33,
        "Macintosh": 5,
        "Writers": 3,
    }
    assert outlines[0] == OpmlOutline(
        title="Daring Fireball",
        xml_url="http://daringfireball.net/feeds/main",
        html_url="http://daringfireball.net/",
    )
    chat = next(o for o in outlines if o.xml_url.startswith("http://corinnekrych"))
    assert chat.title == "chat & code"  # "chat &amp; code" in the file
    julia = next(o for o in outlines if o.title == "Julia Evans")
    assert julia.html_url is None  # htmlUrl="" in the file
    assert all(o.language is None and o.kind is None for o in outlines)
    assert len({o.xml_url for o in outlines}) == 207


def test_titles_fall_back_to_text() -> None:
    # The same list, exported without `title` attributes (OPML 2.0, with an <editor> comment).
    with_titles = parse_opml(opml("Subs.opml"))
    without = parse_opml(opml("SubsNoTitleAttributes.opml"))
    assert [(o.title, o.xml_url, o.category) for o in without] == [
        (o.title, o.xml_url, o.category) for o in with_titles
    ]


# ---------------------------------------------------------------- round trips


def test_seed_sources_round_trip() -> None:
    sources = load_sources(ROOT / "seeds" / "feeds.yaml")
    document = write_opml(sources)
    outlines = parse_opml(document, "export.opml")
    # Tags, poll-interval bounds and fetch options have no place in OPML: the rest survives.
    assert [as_source(o) for o in outlines] == [
        replace(
            s,
            tags=(),
            min_interval_s=None,
            max_interval_s=None,
            user_agent=None,
            ca_bundle=None,
            dates="feed",
        )
        for s in sorted(sources, key=lambda s: _first_seen(sources, s.language))
    ]
    assert all(o.category == o.language for o in outlines)
    assert {o.kind for o in outlines} == {s.kind for s in sources}


def _first_seen(sources: list[Source], language: str) -> int:
    return next(i for i, s in enumerate(sources) if s.language == language)


def test_written_document_shape() -> None:
    sources = [
        Source("Meduza", "rss", "https://meduza.io/rss/all", "ru", "LV", "Meduza"),
        Source(
            "BBC News World",
            "rss",
            "https://feeds.bbci.co.uk/news/world/rss.xml",
            "en",
            "GB",
            "BBC",
        ),
        Source(
            "Kyiv Independent",
            "rss",
            "https://kyivindependent.com/feed",
            "en",
            "UA",
            "Kyiv Independent",
        ),
    ]
    document = write_opml(sources, title="My <watch> & list")
    assert document.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<opml ")
    root = etree.fromstring(document.encode())
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.nsmap == {"newswatch": NEWSWATCH_NS}
    assert root.findtext("head/title") == "My <watch> & list"
    folders = root.findall("body/outline")
    assert [f.get("text") for f in folders] == ["ru", "en"]  # languages in order of appearance
    assert [o.get("text") for o in folders[1]] == ["BBC News World", "Kyiv Independent"]
    bbc = folders[1][0]
    assert dict(bbc.attrib) == {
        "text": "BBC News World",
        "title": "BBC News World",
        "type": "rss",
        "xmlUrl": "https://feeds.bbci.co.uk/news/world/rss.xml",
        "language": "en",
        f"{{{NEWSWATCH_NS}}}kind": "rss",
        f"{{{NEWSWATCH_NS}}}country": "GB",
        f"{{{NEWSWATCH_NS}}}outlet": "BBC",
    }


def test_awkward_values_are_escaped() -> None:
    source = Source(
        name='"Quotes" & <angles> \u2014 Ünïcödé \U0001f4f0\x07',
        kind="telegram",
        url="https://t.me/s/some_channel?x=1&y=<2>",
        language="uk",
        country="UA",
        outlet="O'Brien & Sons",
    )
    (outline,) = parse_opml(write_opml([source]))
    # The bell character cannot be written in XML 1.0 at all: it is the one thing dropped.
    assert as_source(outline) == replace(source, name=source.name.removesuffix("\x07"))


@given(
    st.lists(
        st.builds(
            Source,
            name=st.text(min_size=1).map(str.strip).filter(bool),
            kind=st.sampled_from(["rss", "atom", "jsonfeed", "telegram", "sitemap"]),
            url=st.sampled_from(["https://a.example/feed", "http://b.example/rss?x=1&y=2"]),
            language=st.sampled_from(["en", "ru", "uk", "fa"]),
            country=st.sampled_from(["GB", "RU", "UA", "IR"]),
            outlet=st.text(min_size=1).map(str.strip).filter(bool),
        ),
        max_size=6,
    )
)
def test_round_trip_keeps_what_xml_can_carry(sources: list[Source]) -> None:
    outlines = parse_opml(write_opml(sources))
    # Grouped by language in order of appearance; text comes back with its whitespace
    # collapsed and the characters XML 1.0 cannot hold dropped.
    grouped = sorted(sources, key=lambda s: _first_seen(sources, s.language))
    assert [(o.title, o.xml_url, o.language, o.kind, o.outlet) for o in outlines] == [
        (_cleaned(s.name) or "", s.url, s.language, s.kind, _cleaned(s.outlet)) for s in grouped
    ]


def _cleaned(text: str) -> str | None:
    kept = "".join(c for c in text if c in "\t\n\r" or not (c < " " or c in "\ufffe\uffff"))
    return " ".join(kept.split()) or None


# ---------------------------------------------------------------- reading rules


def test_nested_folders_and_odd_outlines() -> None:
    document = """<?xml version="1.0" encoding="ISO-8859-1"?>
    <opml version="1.0"><head><title>t</title></head><body>
      <outline text="News">
        <outline text="Europe">
          <outline text="Caf\xe9 Babel" XMLURL=" https://cafebabel.example/feed
            " htmlUrl="https://cafebabel.example/" language="fr"/>
        </outline>
        <outline title="Only a title" type="rss" xmlUrl="https://t.example/rss"/>
        <outline text="Podcast feed with episodes" xmlUrl="https://p.example/rss">
          <outline text="An episode" xmlUrl="https://p.example/ep1.xml"/>
        </outline>
        <outline text="No feed URL" htmlUrl="https://x.example/"/>
        <outline text="Relative" xmlUrl="/feed"/>
        <outline text="Scripted" xmlUrl="javascript:alert(1)"/>
        <outline text="FTP" xmlUrl="ftp://f.example/feed"/>
      </outline>
      <outline text="Top" xmlUrl="https://top.example/feed" language=""/>
    </body></opml>""".encode("latin-1")
    outlines = parse_opml(document)
    assert [(o.title, o.xml_url, o.category, o.language) for o in outlines] == [
        ("Café Babel", "https://cafebabel.example/feed", "Europe", "fr"),
        ("Only a title", "https://t.example/rss", "News", None),
        ("Podcast feed with episodes", "https://p.example/rss", "News", None),
        ("An episode", "https://p.example/ep1.xml", "News", None),
        ("Top", "https://top.example/feed", None, None),
    ]


def test_text_input_ignores_its_encoding_declaration() -> None:
    document = (
        '<?xml version="1.0" encoding="windows-1251"?><opml version="2.0"><body>'
        '<outline text="Новая газета" xmlUrl="https://novayagazeta.example/rss"/></body></opml>'
    )
    assert parse_opml(document)[0].title == "Новая газета"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "subs.opml: the file is empty (export the subscriptions as OPML)"),
        (
            b"<opml><body><outline text='x'",
            "subs.opml:1: not well-formed XML: attributes construct error",
        ),
        (
            b"<!DOCTYPE html><html><body><p>Sign in</body></html>",
            "subs.opml:1: not well-formed XML: Opening and ending tag mismatch: p line 1 and body",
        ),
        (
            b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
            "subs.opml: not an OPML file: the root element is <rss>"
            " (export the subscriptions from your feed reader as OPML)",
        ),
        (
            b'<?xml version="1.0"?>\n\n<opml version="2.0"><head/></opml>',
            "subs.opml:3: not an OPML file: it has no <body>",
        ),
    ],
)
def test_not_opml_raises_config_error(body: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_opml(body, "subs.opml")
    assert str(raised.value) == message
    assert raised.value.path == "subs.opml"


def test_default_path_in_errors() -> None:
    with pytest.raises(ConfigError, match=r"^<opml>: the file is empty"):
        parse_opml("")


def test_entity_bomb_is_refused() -> None:
    # lxml expands internal entities in attribute values even with resolve_entities=False
    # (that setting covers text only), and OPML keeps everything in attributes; libxml2's
    # amplification limit is what stops a billion laughs.
    entities = '<!ENTITY a0 "xxxxxxxxxx">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE opml [{entities}]><opml><body>'
        '<outline text="&a9;" xmlUrl="https://a.example/feed"/></body></opml>'
    )
    with pytest.raises(ConfigError, match="Maximum entity amplification factor exceeded"):
        parse_opml(bomb)
