"""The development set (tests/data/topics): real, labelled, split by outlet. The tagger's quality
on its test split (issue 16, acceptance 4) is asserted in tests/test_topics.py."""

from __future__ import annotations

import functools

import pytest

from tests.conftest import SHARED, bench_module

# --- the development set ------------------------------------------------------------------

needs_shared = pytest.mark.skipif(
    not (SHARED / "corpus").is_dir(),
    reason="the development set reads its text from ../shared/corpus, which is absent",
)


@functools.cache
def devset() -> tuple[dict, ...]:
    return tuple(bench_module("tagging").load_devset(SHARED))


@needs_shared
def test_devset_is_real_labelled_split_and_large_enough() -> None:
    items = devset()
    assert len(items) >= 1000
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        assert item["origin"].startswith(("shared/", "pypi:")), item["id"]
        assert set(item["about"]) <= {"venezuela", "ukraine", "taiwan", "iran"}
        assert not set(item["about"]) & set(item["mentions"])
        assert item["split"] in ("train", "test") and item["outlet"], item["id"]
    outlets: dict[str, set[str]] = {}
    for item in items:  # split by outlet (build_devset.py), the acceptance split
        outlets.setdefault(item["outlet"], set()).add(item["split"])
    assert all(len(splits) == 1 for splits in outlets.values())
    for language in ("en", "es", "zh"):
        test = [i for i in items if i["language"] == language and i["split"] == "test"]
        assert len(test) >= 50 and sum(bool(i["about"]) for i in test) >= 5, language
    for language in ("en", "es", "ru", "uk", "zh", "fa"):  # issue 16: 100 items a language
        assert sum(i["language"] == language for i in items) >= 100, language
    # 335 hard negatives (17% of 1,931): short of the third issue 16 asks, the sources hold no
    # more (every item near a frame word was read; see the README)
    assert sum(bool(i["hard"]) for i in items) >= 335
    assert all(i["country"] is not None and i["origin"] for i in items)


@needs_shared
def test_every_language_has_test_items_and_no_outlet_is_split() -> None:
    items = devset()
    for language in ("en", "es", "ru", "uk", "zh", "fa"):
        test = [i for i in items if i["language"] == language and i["split"] == "test"]
        assert sum(bool(i["about"]) for i in test) >= 5, language
    # single-outlet sources, the lone Persian outlet among them, are wholly in test
    for source in ("persian_instagram", "cctv_zh", "people_daily"):
        assert all(i["split"] == "test" for i in items if i["source"] == source)


@needs_shared
def test_the_secondary_time_split_cuts_only_the_persian_outlet() -> None:
    by_outlet = devset()
    by_time = tuple(bench_module("tagging").load_devset(SHARED, rule="time-for-lone-outlets"))
    for a, b in zip(by_outlet, by_time, strict=True):
        if a["source"] != "persian_instagram":
            assert a["split"] == b["split"], a["id"]
        else:  # its first three months train the fit, the later three test it
            assert b["split"] == ("train" if b["published"] < "2019-11" else "test"), b["id"]
