"""Issue 17, acceptance 2, on what `make demo` does (the session's `demo_run`: serve the
snapshot, ingest through the Prefect flow, digest every day): the reports of Maduro's capture
in English, Spanish, Russian and Chinese are one event with the coverage of its aftermath (the
Caracas day-after reports), first under Venezuela in the digests of 3 and 5 January with its
outlets and languages; the Venezuela articles of those days that report other happenings (a
drone strike in Ukraine, the rial's fall, a football match) are not in it. An event is the
happening and the coverage that reports or reacts to it (the lead's definition, session 7:
tests/data/events/README.md)."""

from __future__ import annotations

import json
from typing import Any

from digest.model import from_json
from warehouse.db import connect

CAPTURE = {  # the demo pages reporting the raid (seeds/demo/manifest.json), by language
    "en": "demo-wire/us-forces-seize-maduro-in-overnight-raid.html",
    "es": "caribe-diario/eeuu-captura-a-nicolas-maduro.html",
    "ru": "vostok-vestnik/ssha-zayavili-o-zahvate-maduro.html",
}
CAPTURE_ZH = "zhongwen-demo-news/zhongfang-jiu-weineiruila-biaoming-lichang.html"
COVERAGE = [  # coverage of the raid's aftermath: the "Spanish report from Caracas"
    "demo-wire/caracas-wakes-to-quiet-streets.html",  # the streets the day after (4 January)
    "caribe-diario/caracas-amanece-en-calma-tensa.html",  # the first working day (5 January)
]
UNRELATED = [  # Venezuela articles of the same days that report another happening
    "demo-wire/drone-attack-hits-ukrainian-energy-facilities.html",  # mentions Venezuela
    "demo-wire/iran-rial-record-low-bazaar-strike.html",  # mentions the operation
    "hoy-deportes/atletico-costero-golea-al-real-ciudad.html",  # football
]


def _event_of(con: Any, path: str) -> str:
    row = con.execute(
        "SELECT event_id FROM articles WHERE canonical_url LIKE ?", [f"%/pages/{path}"]
    ).fetchone()
    assert row is not None, path
    return str(row[0])


def test_demo_capture_is_one_event_first_under_venezuela(demo_run: Any) -> None:
    with connect(demo_run.db, read_only=True) as con:
        capture = {lang: _event_of(con, path) for lang, path in CAPTURE.items()}
        unrelated = {path: _event_of(con, path) for path in UNRELATED}
        unlinked = con.execute("SELECT count(*) FROM articles WHERE event_id IS NULL").fetchone()
        spread = con.execute(
            "SELECT outlets, languages, first_outlet FROM event_spread WHERE event_id = ?",
            [capture["en"]],
        ).fetchone()
    event = capture["en"]
    assert set(capture.values()) == {event}, capture
    assert event not in unrelated.values(), unrelated
    assert unlinked == (0,)
    assert spread is not None
    outlets, languages, first_outlet = spread
    assert outlets >= 4 and {"en", "es", "ru"} <= set(languages)

    # The raid's first reports are of 3 and 4 January; the 5 January digest leads with it
    # through the coverage of that day (below).
    folder = demo_run.db.parent / "digests"
    digest = from_json((folder / "2026-01-03.json").read_text(encoding="utf-8"))
    venezuela = next(t for t in digest.topics if t.topic == "venezuela")
    top = venezuela.events[0]
    assert top.event_id == event
    assert top.outlets == outlets and set(top.languages) == set(languages)
    assert top.first_outlet == first_outlet
    assert {o.language for o in top.coverage} >= {"en", "es", "ru"}
    assert len({o.outlet for o in top.coverage}) == outlets
    markdown = (folder / "2026-01-03.md").read_text(encoding="utf-8")
    section = markdown.split("## Venezuela\n", 1)[1].split("\n## ", 1)[0]
    events_part = section.split("### Events", 1)[1].split("### Stories", 1)[0]
    first_item = events_part.split("\n2. ", 1)[0]
    for outlet in ("Demo Wire", "Caribe Diario", "Vostok Vestnik"):
        assert outlet in first_item
    assert f"{outlets} outlets" in first_item
    html = (folder / "2026-01-03.html").read_text(encoding="utf-8")
    assert 'class="events"' in html and "Vostok Vestnik" in html
    assert json.loads((folder / "2026-01-03.json").read_text("utf-8"))["topics"]


def test_demo_capture_reports_name_one_person_and_city_in_four_scripts(demo_run: Any) -> None:
    """What the gazetteer gives the linker: the stored entities of the capture reports in
    English, Spanish, Russian and Chinese share Maduro and Caracas (马杜罗 = Мадуро = Maduro,
    加拉加斯 = Каракас = Caracas) and Trump; the Weibo roundup shares Maduro too."""
    with connect(demo_run.db, read_only=True) as con:
        rows = dict(
            con.execute(
                "SELECT a.canonical_url, l.entities FROM articles a "
                "JOIN event_links l ON l.article_id = a.id"
            ).fetchall()
        )
    by_path = {url.split("/pages/", 1)[-1]: set(ids) for url, ids in rows.items()}
    shared = {"person:maduro", "person:trump", "city:caracas"}
    for path in [*CAPTURE.values(), CAPTURE_ZH]:
        assert shared <= by_path[path], (path, by_path[path])
    assert (
        "person:maduro" in by_path["zhongwen-demo-news/weineiruila-shijian-yinfa-weibo-rejian.html"]
    )


def test_demo_capture_in_chinese_joins_the_event_which_leads_5_january(demo_run: Any) -> None:
    with connect(demo_run.db, read_only=True) as con:
        event = _event_of(con, CAPTURE["en"])
        assert _event_of(con, CAPTURE_ZH) == event
        coverage = {path: _event_of(con, path) for path in COVERAGE}
        languages = con.execute(
            "SELECT languages FROM event_spread WHERE event_id = ?", [event]
        ).fetchone()
    assert set(coverage.values()) == {event}, coverage
    assert languages is not None and {"en", "es", "ru", "zh"} <= set(languages[0])
    digest_day = demo_run.db.parent / "digests" / "2026-01-05.json"
    digest = from_json(digest_day.read_text(encoding="utf-8"))
    venezuela = next(t for t in digest.topics if t.topic == "venezuela")
    top = venezuela.events[0]
    assert top.event_id == event
    assert {"en", "es", "ru", "zh"} <= set(top.languages)
    # Its title is the wire's English headline, and links to that article (the first report,
    # a Russian Telegram post, is named apart as the first outlet).
    assert top.url.endswith("/pages/" + CAPTURE["en"]), top.url
    assert top.first_outlet == "Demo Frontline Notes"


def test_the_5_january_digest_counts_venezuela_by_source_tag_and_country(demo_run: Any) -> None:
    """Issue 17: the digest says which kinds of outlet covered a topic that day, by country
    ("state-media of RU: 1 article"), from the seed sources' `tags`."""
    folder = demo_run.db.parent / "digests"
    digest = from_json((folder / "2026-01-05.json").read_text(encoding="utf-8"))
    venezuela = next(t for t in digest.topics if t.topic == "venezuela")
    counts = {(c.tag, c.country): c.articles for c in venezuela.by_tag}
    assert counts[("state-media", "RU")] == 1  # Vostok Vestnik on the military bloggers
    assert counts[("state-media", "CN")] == 1  # Zhongwen Demo News on the Weibo posts
    assert counts[("wire", "US")] == 2  # Demo Wire and Demo Market Wire
    markdown = (folder / "2026-01-05.md").read_text(encoding="utf-8")
    assert "state-media of RU: 1 article" in markdown
