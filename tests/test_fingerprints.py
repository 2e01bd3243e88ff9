"""Near-duplicate fingerprints on the demo snapshot: copies found, same-event articles kept
apart, the time window, stored signatures, Chinese text and short texts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from extractors.articles import extract_article
from extractors.fingerprints import (
    BANDS,
    SIGNATURE_BYTES,
    SIGNATURE_VERSION,
    content_hash,
    fingerprint,
    shingles,
    signature,
    signature_from_bytes,
    tokens,
)
from extractors.near_dups import MERGE_EVERY, DedupRule, NearDuplicateIndex, overlap

DEMO = Path(__file__).resolve().parents[1] / "seeds" / "demo"
MANIFEST = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
PAGES = {p["key"]: p for p in MANIFEST["pages"]}
# Every demo article about the Maduro capture, in six languages, that copies no other.
SAME_EVENT = [
    p["key"]
    for p in MANIFEST["pages"]
    if "copy_of" not in p and "venezuela" in p["main"] + p["mentions"]
]
T0 = datetime(2026, 1, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """Extracted text of the demo pages, by manifest key."""
    keys = [*SAME_EVENT, "copy-trimmed", "copy-identical"]
    return {
        k: extract_article((DEMO / PAGES[k]["path"]).read_bytes(), f"http://demo/{k}").text
        for k in keys
    }


def _published(key: str) -> datetime:
    return datetime.fromisoformat(PAGES[key]["published"].replace("Z", "+00:00"))


def test_the_trimmed_demo_copy_is_found_in_either_order(texts: dict[str, str]) -> None:
    original, copy = texts["en-02"], texts["copy-trimmed"]
    assert content_hash(original) != content_hash(copy)  # not an exact duplicate
    index = NearDuplicateIndex()
    index.add("en-02", original, _published("en-02"))
    found = index.match(copy)
    assert found is not None and found.article_id == "en-02"
    assert found.overlap.containment == 1.0  # every shingle of the copy is in the original
    assert found.overlap.jaccard < 0.8  # what a fixed Jaccard of 0.8 would have missed

    other = NearDuplicateIndex()
    other.add("copy-trimmed", copy, _published("copy-trimmed"))
    assert other.find(original) == "copy-trimmed"


def test_edited_copies_of_a_demo_article_are_found(texts: dict[str, str]) -> None:
    original = texts["en-01"]
    paragraphs = original.split("\n")
    new_lead = (
        "Venezuelan President Nicolás Maduro is in U.S. custody after an overnight raid, "
        "the White House said, as allies in the region demanded an explanation and markets "
        "braced for a turbulent week in Latin American oil."
    )
    edited = {
        "identical": texts["copy-identical"],
        "new headline and lead": "\n".join(
            ["Maduro flown out of Venezuela", new_lead, *paragraphs[1:]]
        ),
        "house style": original.replace("“", '"')
        .replace("”", '"')
        .replace("defence", "defense")
        .replace("said", "stated")
        .replace("U.S.", "US"),
        "a paragraph changed": "\n".join(
            [*paragraphs[:3], texts["en-08"].split("\n")[1], *paragraphs[4:]]
        ),
    }
    index = NearDuplicateIndex()
    index.add("en-01", original, _published("en-01"))
    for kind, text in edited.items():
        assert index.find(text) == "en-01", kind


def test_distinct_articles_on_the_same_event_stay_apart(texts: dict[str, str]) -> None:
    assert len(SAME_EVENT) >= 15
    index = NearDuplicateIndex()
    for key in sorted(SAME_EVENT, key=_published):
        assert index.find(texts[key]) is None, key
        index.add(key, texts[key], _published(key))
    assert len(index) == len(SAME_EVENT)
    # And the copies still find their originals among all of them, earliest first.
    assert index.find(texts["copy-trimmed"]) == "en-02"
    assert index.find(texts["copy-identical"]) == "en-01"


def test_the_earliest_published_match_is_returned(texts: dict[str, str]) -> None:
    index = NearDuplicateIndex()
    index.add("copy-identical", texts["copy-identical"], T0 + timedelta(hours=2))
    index.add("en-01", texts["en-01"], T0)
    assert index.find(texts["en-01"]) == "en-01"


def test_window_eviction(texts: dict[str, str]) -> None:
    index = NearDuplicateIndex()
    for day, key in enumerate(("en-01", "en-02", "en-08")):
        index.add(key, texts[key], T0 + timedelta(days=day))
    index.add("en-01", texts["en-01"], T0)  # already there: nothing changes
    assert len(index) == 3 and "en-01" in index

    assert index.evict_before(T0 + timedelta(days=1)) == 1
    assert "en-01" not in index and len(index) == 2
    assert index.find(texts["copy-identical"]) is None  # its original left the window
    assert index.find(texts["copy-trimmed"]) == "en-02"

    assert index.evict_before(T0 + timedelta(days=30)) == 2
    assert len(index) == 0 and len(index._buckets) == 0  # no bucket outlives its articles
    index.add("en-01", texts["en-01"], T0 + timedelta(days=31))  # and it can come back
    assert index.find(texts["copy-identical"]) == "en-01"


def test_index_of_more_articles_than_one_merge() -> None:
    """Past `MERGE_EVERY` articles the buckets live in sorted arrays: copies are found there
    as in the dict of the latest articles, and an eviction leaves only live articles' entries."""
    rng = np.random.default_rng(19)
    vocabulary = [f"w{i}" for i in range(5000)]
    n = 2 * MERGE_EVERY + 100  # two merges, and a dict of 100 articles
    originals = [" ".join(rng.choice(vocabulary, 120)) for _ in range(n)]
    index = NearDuplicateIndex()
    for i, text in enumerate(originals):
        index.add(f"a{i}", text, T0 + timedelta(hours=i))

    def copy_of(i: int) -> str:
        return originals[i] + " and one sentence more for the copy"

    assert [index.find(copy_of(i)) for i in (0, MERGE_EVERY + 7, n - 1)] == [
        "a0",
        f"a{MERGE_EVERY + 7}",
        f"a{n - 1}",
    ]
    assert index.find(" ".join(rng.choice(vocabulary, 120))) is None

    assert index.evict_before(T0 + timedelta(hours=MERGE_EVERY)) == MERGE_EVERY
    assert index.find(copy_of(0)) is None and index.find(copy_of(n - 1)) == f"a{n - 1}"
    assert len(index._buckets) == BANDS * (n - MERGE_EVERY)  # the evicted ones' entries went


def test_shingle_sets_beyond_held_are_read_back_from_stored_texts(
    texts: dict[str, str],
) -> None:
    """An index that holds two shingle sets still finds the copy of the first of three
    originals: the candidate's text is read back, once, through the reader it is given."""
    stored = {k: texts[k] for k in ("en-02", "en-01", "en-08")}
    asked: list[list[str]] = []

    def read(ids: Sequence[str]) -> dict[str, str]:
        asked.append(list(ids))
        return {i: stored[i] for i in ids if i in stored}

    index = NearDuplicateIndex(held=2)
    for hour, key in enumerate(stored):
        index.add(key, stored[key], T0 + timedelta(hours=hour))
    assert index.held == 2  # en-02's set was let go
    with pytest.raises(LookupError, match="no reader"):
        index.find(texts["copy-trimmed"])
    index.hold([texts["copy-trimmed"]], read)
    assert asked == [["en-02"]] and index.texts_read == 1
    assert index.find(texts["copy-trimmed"], read) == "en-02"
    assert asked == [["en-02"]]  # held now: not read again
    assert index.held == 2

    del stored["en-01"]  # gone from the store: no longer anything to be a copy of
    gone = NearDuplicateIndex(held=0)
    gone.add("en-01", texts["en-01"], T0)
    assert gone.find(texts["copy-identical"], read) is None


def test_an_index_rebuilt_from_signatures_alone_finds_copies(texts: dict[str, str]) -> None:
    original = texts["en-02"]
    index = NearDuplicateIndex(held=10)
    assert index.add_signature("en-02", T0, signature(original))
    assert index.held == 0 and "en-02" in index
    assert index.find(texts["copy-trimmed"], lambda ids: {"en-02": original}) == "en-02"
    old_version = bytes([SIGNATURE_VERSION + 1]) + signature(original)[1:]
    assert not index.add_signature("en-01", T0, old_version)  # the caller adds it with its text
    assert "en-01" not in index


def test_signature_round_trip_through_bytes(texts: dict[str, str]) -> None:
    fp = fingerprint(texts["en-02"])
    stored = fp.signature_bytes()
    assert len(stored) == SIGNATURE_BYTES and stored[0] == SIGNATURE_VERSION
    assert stored == signature(texts["en-02"])
    assert np.array_equal(signature_from_bytes(stored), fp.signature)
    for bad in (b"", stored[:-1], bytes([SIGNATURE_VERSION + 1]) + stored[1:]):
        with pytest.raises(ValueError):
            signature_from_bytes(bad)

    # Rebuilt from stored rows (text + signature) the index answers as before; a stale
    # signature is recomputed from the text.
    rebuilt = NearDuplicateIndex()
    rebuilt.add("en-02", texts["en-02"], _published("en-02"), signature=stored)
    rebuilt.add("en-01", texts["en-01"], _published("en-01"), signature=b"\x00stale")
    assert rebuilt.find(texts["copy-trimmed"]) == "en-02"
    assert rebuilt.find(texts["copy-identical"]) == "en-01"


def test_signatures_are_stable_across_processes_and_versions() -> None:
    """Stored signatures must keep their meaning: a change to shingling or hashing that
    changes this value must come with a new SIGNATURE_VERSION."""
    text = "The quick brown fox jumps over the lazy dog near the river bank at dawn."
    assert signature(text)[:9].hex() == "01b3d28317f1413701"


def test_typography_and_digit_groups_do_not_matter() -> None:
    a = "The “minister” said 1,000 people — and 2.500 more — came; it cost €3.5m."
    b = 'the "minister" said 1000 people - and 2500 more - came, it cost €3.5m'
    assert np.array_equal(shingles(a), shingles(b))
    assert tokens("Hindi: हिन्दी")[0] == ["hindi", "हनद"]  # a vowel sign does not cut a word


def test_chinese_text_is_shingled_by_characters(texts: dict[str, str]) -> None:
    words, chars = tokens("委内瑞拉事件 2026 年 CNN 报道")
    assert words == ["2026", "cnn"] and "".join(chars) == "委内瑞拉事件年报道"

    chinese = [k for k in SAME_EVENT if PAGES[k]["lang"] == "zh"]
    assert len(chinese) >= 2
    index = NearDuplicateIndex()
    for key in chinese:  # distinct articles on the same event stay apart
        assert index.find(texts[key]) is None, key
        index.add(key, texts[key], _published(key))
    original = texts[chinese[0]]
    trimmed = original[: int(len(original) * 0.7)]
    edited = original.replace("，", ",").replace("。", ".").replace("的", "")
    assert index.find(trimmed) == chinese[0]
    assert index.find(edited) == chinese[0]


def test_short_texts() -> None:
    rng = np.random.default_rng(7)
    vocabulary = [f"w{i}" for i in range(5000)]
    article = " ".join(rng.choice(vocabulary, size=400))
    excerpt = " ".join(article.split()[100:130])  # 30 words, wholly contained
    found = overlap(fingerprint(excerpt), fingerprint(article))
    assert found.containment == 1.0 and found.shorter_words == 30
    assert not DedupRule().accepts(found)  # a quote is not a copy
    index = NearDuplicateIndex()
    index.add("long", article, T0)
    assert index.find(excerpt) is None

    post = " ".join(article.split()[:40])  # a short post, reposted with a credit line
    index.add("post", post, T0)
    assert index.find(post + " via telegram") == "post"
    assert index.find("") is None and len(fingerprint("").shingles) == 0
    assert fingerprint("one two").shingles.size == 1


def test_the_rule_on_its_own() -> None:
    rule = DedupRule()
    a, b = fingerprint("alpha beta gamma delta " * 30), fingerprint("alpha beta gamma " * 30)
    assert overlap(a, b) == overlap(b, a)
    assert not rule.accepts(overlap(a, b))
    assert DedupRule(min_containment=0.0, min_words=0, min_length_ratio=0.0).accepts(overlap(a, b))
