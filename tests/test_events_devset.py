"""The event-linking development set (tests/data/events): labels match what they label, and
the builder reads the shared corpus into the splits bench/events.py measures."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _devset():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "events_devset", HERE / "data" / "events" / "devset.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


dev = _devset()
needs_semeval = pytest.mark.skipif(
    not (dev.SEMEVAL / "training_set.csv").is_file(),
    reason=f"{dev.SEMEVAL} is absent (the shared corpus is not on this machine)",
)


def test_demo_labels_name_existing_pages_once() -> None:
    manifest = json.loads((REPO / "seeds" / "demo" / "manifest.json").read_text("utf-8"))
    keys = {page["key"] for page in manifest["pages"]}
    labelled = [key for members in dev.labels()["demo"].values() for key in members]
    assert len(labelled) == len(set(labelled))
    assert set(labelled) <= keys


def test_demo_articles_carry_their_events_and_copies() -> None:
    articles = {d.article.id: d for d in dev.demo_articles()}
    assert len(articles) == 51  # 47 written, 2 examples, 2 copies (seeds/demo/manifest.json)
    assert articles["copy-identical"].article.story_id == "en-01"
    assert articles["copy-identical"].event == articles["zh-01"].event == "maduro-capture"
    assert articles["en-03"].event != articles["uk-01"].event  # two strikes
    assert {d.article.language for d in articles.values()} == {"en", "es", "ru", "uk", "zh", "fa"}
    assert all(0 < len(d.article.lead) <= 400 for d in articles.values())


@needs_semeval
def test_semeval_splits_are_labelled_and_disjoint() -> None:
    fit, held = dev.semeval_pairs("fit"), dev.semeval_pairs("held_out")
    assert (len(fit), sum(p.same for p in fit)) == (1048, 289)
    assert (len(held), sum(p.same for p in held)) == (791, 195)
    assert sum(p.cross_language and p.same for p in held) == 46
    # disjoint by story: a translation of a fitted article ("1484400727zh") is not held out
    fit_stories = {dev.story_number(i) for p in fit for i in (p.a.id, p.b.id)}
    assert not fit_stories & {dev.story_number(i) for p in held for i in (p.a.id, p.b.id)}
    assert all(p.overall <= 1.5 if p.same else p.overall >= 3 for p in fit + held)


def test_titles_split_from_the_text() -> None:
    assert dev.split_title("Headline here\nBody text.") == ("Headline here", "Body text.")
    assert dev.split_title("A long enough headline.  Body") == ("A long enough headline.", "Body")


@needs_semeval
def test_semeval_stream_clusters_are_the_same_event_components() -> None:
    held = dev.semeval_pairs("held_out")
    keep = {i for p in held for i in (p.a.id, p.b.id)}
    stream = dev.semeval_stream("held_out", keep)
    fit_ids = {i for p in dev.semeval_pairs("fit") for i in (p.a.id, p.b.id)}
    assert {a.id for a in stream.articles} == keep
    assert not keep & fit_ids
    for pair in held:  # every labelled pair agrees with the components
        same = stream.cluster[pair.a.id] == stream.cluster[pair.b.id]
        assert same or not pair.same, pair.pair_id
    sizes = sorted(
        (list(stream.cluster.values()).count(c) for c in set(stream.cluster.values())),
        reverse=True,
    )
    assert sizes[0] >= 3 and sizes.count(1) > 900  # components merge chains; most stand alone
    translations = [a.id for a in stream.articles if dev.story_number(a.id) in keep - {a.id}]
    assert len(translations) == 82  # each in its original's event
    assert all(stream.cluster[t] == stream.cluster[dev.story_number(t)] for t in translations)


@needs_semeval
def test_the_story_clock_dates_the_articles_that_carry_their_own_date() -> None:
    # labels.yaml's clock (what bench/events.py's time gate reads) against the dates written
    # in the articles' own text: half of them within a day of it, three in four within 3 days
    # (a text also names other days than its own)
    spec = importlib.util.spec_from_file_location(
        "events_dates", REPO / "bench" / "events_dates.py"
    )
    assert spec and spec.loader
    dates = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dates)
    clock = dev.labels()["semeval"]["story_clock"]
    dated = dates.dated_articles()
    assert len(dated) >= 150
    off = sorted(
        abs((dev.published(str(number), clock).date() - day).days) for number, day in dated
    )
    assert off[len(off) // 2] <= 1 and off[len(off) * 3 // 4] <= 3, off
