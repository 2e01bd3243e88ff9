"""The development set (tests/data/topics) and the tagger's quality on its test split."""

from __future__ import annotations

import functools

import pytest

from extractors.topics import parse_watchlist
from tests.conftest import SHARED, bench_module
from tests.test_topics_real import seeds_watchlist

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


# Acceptance 4: the test split's macro F1 as bench/tagging.py printed it when the method last
# changed (0.850 on the 1,931-item set of the sixth round, split by outlet, weights fitted on
# its train split with l2 3.0; session 13: Telegram posts read as ingest reads them, a
# repeated headline counted once; see bench/README.md), less a small margin for ties and
# float noise. The hard negatives tagged `about` as printed then: 12.8% of 266, within issue
# 16's 15% bound; asserted as printed plus the margin, so that a rise fails here.
TEST_MACRO_F1 = 0.850
TEST_HARD_ABOUT = 0.128
MARGIN = 0.01


@pytest.mark.slow  # ~35 s: tags the whole set; CI runs it (make test-slow)
@needs_shared
def test_test_split_macro_f1_holds_and_beats_the_baseline() -> None:
    """The quality bar of bench/tagging.py on the split the fit never saw (nothing timed)."""
    bench = bench_module("tagging")
    items = [i for i in devset() if i["split"] == "test"]
    ours = [bench.newswatch_tagger(seeds_watchlist())(i) for i in items]
    base = [bench.baseline_tagger(parse_watchlist(bench.BASELINE))(i) for i in items]
    ours_f1, base_f1 = (bench.macro_f1(items, p, bench.TOPICS) for p in (ours, base))
    hard = [(i, p) for i, p in zip(items, ours, strict=True) if i["hard"]]
    hard_about = sum(bool(set(i["mentions"]) & p) for i, p in hard) / len(hard)
    print(f"test split: macro F1 {ours_f1:.3f}, baseline {base_f1:.3f}, hard {hard_about:.1%}")
    assert ours_f1 >= TEST_MACRO_F1 - MARGIN
    assert ours_f1 > base_f1 + 0.2
    assert hard_about <= TEST_HARD_ABOUT + MARGIN <= 0.15  # issue 16's bound is 15%


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
