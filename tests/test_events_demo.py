"""Issue 17, acceptance 2, on what `make demo` does (the session's `demo_run`: serve the
snapshot, ingest through the Prefect flow, digest every day): the reports of Maduro's capture
in English, Spanish and Russian are one event, first under Venezuela in the digest of its day
with its outlets and languages, and the unrelated Venezuela articles of those days are not in
it. The Chinese report names the same people and places, resolved across scripts (checked
below), but does not join yet (a strict xfail: it fails the suite the day it does, so the test
is promoted)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from digest.model import from_json
from warehouse.db import connect

CAPTURE = {  # the demo pages reporting the raid (seeds/demo/manifest.json), by language
    "en": "demo-wire/us-forces-seize-maduro-in-overnight-raid.html",
    "es": "caribe-diario/eeuu-captura-a-nicolas-maduro.html",
    "ru": "vostok-vestnik/ssha-zayavili-o-zahvate-maduro.html",
}
CAPTURE_ZH = "zhongwen-demo-news/zhongfang-jiu-weineiruila-biaoming-lichang.html"
UNRELATED = [  # Venezuela articles of the same days that are not about the raid
    "demo-wire/drone-attack-hits-ukrainian-energy-facilities.html",  # mentions Venezuela
    "demo-wire/caracas-wakes-to-quiet-streets.html",  # the streets the day after
    "demo-wire/iran-rial-record-low-bazaar-strike.html",
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

    # The raid's reports are of 3 and 4 January; the 5 January digest leads with it only once
    # the Chinese report joins (the xfail below).
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


@pytest.mark.xfail(
    strict=True,
    reason="issue 17 open: with names resolved across scripts (it shares Maduro, Trump, Caracas, "
    "US and Venezuela with the capture reports) the SemEval-fitted score of the Chinese report "
    "against them is at most 0.40 (cosine 0.80-0.83), under the 0.75 threshold; the SemEval "
    "pairs give shared people and places little weight (0.28 a shared id), and the Caracas "
    "day-after report, which must stay apart, scores 0.747 against the Spanish capture report, "
    "so no monotone change of the score joins the one without the other",
)
def test_demo_capture_in_chinese_joins_the_event(demo_run: Any) -> None:
    with connect(demo_run.db, read_only=True) as con:
        event = _event_of(con, CAPTURE["en"])
        assert _event_of(con, CAPTURE_ZH) == event
    digest_day = demo_run.db.parent / "digests" / "2026-01-05.json"
    digest = from_json(digest_day.read_text(encoding="utf-8"))
    venezuela = next(t for t in digest.topics if t.topic == "venezuela")
    assert venezuela.events[0].event_id == event
