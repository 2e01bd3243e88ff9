"""Tagging articles against the watchlist: matching in six languages, scores, evidence, errors.

The example articles come from ../shared/seeds (see its README); the watchlist is the small
hand-written tests/data/watchlist.yaml. At the end, issue 16's acceptance 4: the development
set's test split tagged with the seeds' watchlist, its macro F1 asserted (a slow test).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.records import TopicMatch
from extractors.topics import (
    FEATURES,
    MAX_EVIDENCE,
    Watchlist,
    fold,
    load_watchlist,
    parse_watchlist,
)
from newswatch.errors import ConfigError
from tests.conftest import SHARED, bench_module
from tests.test_topics_devset import devset
from tests.test_topics_devset import needs_shared as needs_devset

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]
SEEDS = SHARED / "seeds"
needs_shared = pytest.mark.skipif(
    not SEEDS.exists(), reason="../shared/seeds is absent: the example articles are not here"
)
TITLE_000 = "The Kremlin media response to the Maduro heist"
TITLE_001 = "Russian Military Bloggers Say Venezuela Raid Shows Moscow Must Move Faster In Ukraine"


@functools.cache
def shared_watchlist() -> Watchlist:
    return load_watchlist(DATA / "watchlist.yaml")


@pytest.fixture
def watchlist() -> Watchlist:
    return shared_watchlist()


def seed_text(prefix: str) -> str:
    """An example article's text: the file less its leading `date YYYY-MM-DD`."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return re.sub(r"\A\s*date \d{4}-\d{2}-\d{2}\s*", "", path.read_text(encoding="utf-8"))


def by_topic(matches: list[TopicMatch]) -> dict[str, TopicMatch]:
    return {m.topic: m for m in matches}


def matched(watchlist: Watchlist, text: str, title: str = "") -> dict[str, list[str]]:
    """Topic → the original substrings that matched."""
    return {m.topic: [e.matched for e in m.evidence] for m in watchlist.tag(title, text)}


def one_topic(alias_yaml: str) -> Watchlist:
    """A watchlist of one topic `t` with the given `aliases:` body."""
    return parse_watchlist(f"topics:\n  t:\n    name: T\n    aliases:\n{alias_yaml}", "inline.yaml")


# --- the example articles -----------------------------------------------------------------


@needs_shared
def test_kremlin_media_article_is_about_venezuela(watchlist: Watchlist) -> None:
    matches = by_topic(watchlist.tag(TITLE_000, seed_text("000"), "en"))
    assert matches["venezuela"].relevance == "about"
    assert matches["venezuela"].score == max(m.score for m in matches.values())
    assert matches["iran"].relevance == "mention"
    print({t: m.score for t, m in matches.items()})


@needs_shared
def test_military_bloggers_article_is_about_venezuela_and_ukraine(watchlist: Watchlist) -> None:
    matches = by_topic(watchlist.tag(TITLE_001, seed_text("001"), "en"))
    assert matches["venezuela"].relevance == "about"
    assert matches["ukraine"].relevance == "about"
    assert matches["taiwan"].relevance == "mention"
    print({t: m.score for t, m in matches.items()})


@needs_shared
def test_results_are_sorted_and_hold_only_matched_topics(watchlist: Watchlist) -> None:
    matches = watchlist.tag(TITLE_001, seed_text("001"))
    keys = [(-m.score, m.topic) for m in matches]
    assert keys == sorted(keys)
    assert all(m.evidence for m in matches)
    assert watchlist.tag("Weather", "Sunny and warm all week.") == []


@needs_shared
def test_explain_gives_the_parts_of_each_score(watchlist: Watchlist) -> None:
    text = seed_text("001")
    explained = watchlist.explain(TITLE_001, text)
    matches = watchlist.tag(TITLE_001, text)
    assert list(explained) == [m.topic for m in matches]
    for match in matches:
        parts = explained[match.topic]
        assert all(0.0 <= parts[p] <= 1.0 for p in FEATURES)
        assert parts["score"] == match.score
    assert explained["ukraine"]["title"] == 1.0
    assert explained["taiwan"]["title"] == 0.0
    assert explained["taiwan"]["lead"] > 0  # Taiwan is in the first paragraph


# --- the six languages --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic", "found"),
    [
        ("Переговоры в Киеве снова зашли в тупик.", "ukraine", "Киеве"),
        ("Ситуація в Україні залишається складною.", "ukraine", "Україні"),
        ("Посол Венесуэлы и венесуэльский министр.", "venezuela", "Венесуэлы"),
        ("Nicolás Maduro llegó a Caracas el lunes.", "venezuela", "Nicolás Maduro"),
        ("Nicolas Maduro llego a Caracas el lunes.", "venezuela", "Nicolas Maduro"),
        ("La flota cruzó el estrecho de Taiwan.", "taiwan", "estrecho de Taiwan"),
        ("美国军队在委内瑞拉首都加拉加斯抓获了马杜罗。", "venezuela", "委内瑞拉"),
        ("賴清德在臺北發表講話，談到台海局勢。", "taiwan", "賴清德"),
        # Arabic yeh (ي) and kaf (ك) where Persian writes ی and ک.
        ("نيكلاس مادورو در كاراكاس بازداشت شد.", "venezuela", "نيكلاس مادورو"),
        ("رئیس‌جمهور ايران سخنرانی کرد.", "iran", "ايران"),
        ("سخنان خامنه‌ای درباره تهران", "iran", "خامنه‌ای"),
    ],
)
def test_languages(watchlist: Watchlist, text: str, topic: str, found: str) -> None:
    assert found in matched(watchlist, text)[topic]


def test_persian_diacritics_and_zwnj_are_folded(watchlist: Watchlist) -> None:
    text = "مادُورو و خامنه ای و کی‌یف"  # a damma in مادورو, a space for the ZWNJ of خامنه‌ای
    assert matched(watchlist, text) == {
        "venezuela": ["مادُورو"],
        "iran": ["خامنه ای"],
        "ukraine": ["کی‌یف"],
    }


def test_chinese_matches_inside_a_run_of_han(watchlist: Watchlist) -> None:
    found = matched(watchlist, "据报道委内瑞拉总统马杜罗已被带离加拉加斯")
    assert found == {"venezuela": ["委内瑞拉", "马杜罗", "加拉加斯"]}


def test_every_language_is_tried_whatever_the_hint(watchlist: Watchlist) -> None:
    text = "Киев, Kyiv, 基辅, کیف"
    assert matched(watchlist, text) == {"ukraine": ["Киев", "Kyiv", "基辅", "کیف"]}
    for language in ("en", "ru", "zh", "fa"):
        assert watchlist.tag("", text, language) == watchlist.tag("", text)


# --- word boundaries, stems, overlaps, excludes ----------------------------------------------


def test_whole_words_only() -> None:
    wl = one_topic("      en: [Iran, Oman]\n")
    assert matched(wl, "Iranian officials met in Romania.") == {}
    assert matched(wl, "Iran's envoy flew to Oman; (Iran) and OMAN.") == {
        "t": ["Iran", "Oman", "Iran", "OMAN"]
    }


def test_a_stem_takes_the_rest_of_the_word() -> None:
    wl = one_topic("      en: [Iranian*]\n      ru: [Венесуэл*]\n")
    assert matched(wl, "Iranians, Iranian, Iran, Венесуэлы, венесуэльский, Венесуэла") == {
        "t": ["Iranians", "Iranian", "Венесуэлы", "венесуэльский", "Венесуэла"]
    }


def test_overlapping_matches_keep_the_longest(watchlist: Watchlist) -> None:
    found = watchlist.tag("", "Nicolás Maduro spoke. Maduro left. The Taiwan Strait is calm.")
    evidence = {m.topic: [(e.matched, e.alias) for e in m.evidence] for m in found}
    assert evidence == {
        "venezuela": [("Nicolás Maduro", "Nicolás Maduro"), ("Maduro", "Maduro")],
        "taiwan": [("Taiwan Strait", "Taiwan Strait")],
    }


def test_multi_word_alias_matches_across_any_whitespace(watchlist: Watchlist) -> None:
    text = "President Nicolás\n   Maduro\u00a0spoke."
    (evidence,) = watchlist.tag("", text)[0].evidence
    assert (evidence.start, evidence.end) == (10, 27)
    assert evidence.matched == "Nicolás\n   Maduro"


def test_shared_alias_counts_for_each_topic() -> None:
    wl = parse_watchlist(
        "topics:\n  a:\n    aliases: {en: [Caracas]}\n  b:\n    aliases: {es: [Caracas]}\n"
    )
    assert [m.topic for m in wl.tag("", "Caracas")] == ["a", "b"]


def test_persian_wallet_is_not_kyiv(watchlist: Watchlist) -> None:
    assert matched(watchlist, "کیف پول دیجیتال خود را گم کرد.") == {}
    assert matched(watchlist, "کیف‌پول دیجیتال خود را گم کرد.") == {}  # with a ZWNJ
    assert matched(watchlist, "حمله پهپادی به کیف و یک کیف پول") == {"ukraine": ["کیف"]}


def test_a_cased_name_counts_only_where_capitalised() -> None:
    """Spanish «irán» is "they will go": written in lower case it is not the country, by
    whichever alias finds it (accents fold: `Iran` finds it too), nor for a rule's `@iran`."""
    wl = parse_watchlist(
        "topics:\n"
        "  iran:\n    aliases: {en: [Iran], es: [Irán]}\n    cased: {es: [Irán]}\n"
        "  gulf:\n    aliases: {en: [Hormuz]}\n    rules:\n"
        "      - match: [strait]\n        all: ['@iran']\n"
    )
    assert matched(wl, "Los ciudadanos irán a votar.") == {}
    assert matched(wl, "Irán votó; los ciudadanos irán a votar.") == {"iran": ["Irán"]}
    assert matched(wl, "IRÁN VOTA") == {"iran": ["IRÁN"]}
    assert matched(wl, "Iran and the strait") == {"iran": ["Iran"], "gulf": ["strait"]}
    assert matched(wl, "they irán to the strait") == {}


def test_exclude_cancels_only_its_own_topic() -> None:
    wl = parse_watchlist(
        "topics:\n"
        "  a:\n    aliases: {fa: [کیف]}\n    exclude: {fa: [کیف پول]}\n"
        "  b:\n    aliases: {fa: [کیف]}\n"
    )
    assert [m.topic for m in wl.tag("", "کیف پول")] == ["b"]


# --- evidence -----------------------------------------------------------------------------


def test_evidence_offsets_point_into_the_original(watchlist: Watchlist) -> None:
    # Deletions and squeezed spaces before the matches shift folded offsets away from these.
    title = "Kyiv\u00ad and  \u200bCaracas"
    text = "Первый  абзац.\n\n\u200fرئيس‌جمهور ايران\u064e و كاراكاس\n\nİstanbul: Nicolás   Maduro"
    for match in watchlist.tag(title, text):
        for e in match.evidence:
            original = title if e.field == "title" else text
            assert original[e.start : e.end] == e.matched
    found = {(e.field, e.matched) for m in watchlist.tag(title, text) for e in m.evidence}
    assert found == {
        ("title", "Kyiv"),
        ("title", "Caracas"),
        ("text", "ايران"),
        ("text", "كاراكاس"),
        ("text", "Nicolás   Maduro"),
    }


def test_a_text_that_opens_with_its_headline_counts_it_once(watchlist: Watchlist) -> None:
    # A Telegram post as ingest reads it: its first line is its title and opens its text.
    first, rest = "Maduro captured in Caracas", "More from Caracas later."
    post = f"{first}\n{rest}"
    once = watchlist.explain(first, post)["venezuela"]
    assert (once["title_matches"], once["text_matches"]) == (2, 1)
    assert once["lead"] == watchlist.explain(first, rest)["venezuela"]["lead"] == 0.5
    (match,) = watchlist.tag(first, post)
    in_text = [e for e in match.evidence if e.field == "text"]
    assert [(e.start, e.matched) for e in in_text] == [(post.rindex("Caracas"), "Caracas")]
    # a title clipped with an ellipsis repeats the start of the text: the rest of the line
    # is read as text
    clipped = watchlist.explain("Maduro captured…", post)["venezuela"]
    assert (clipped["title_matches"], clipped["text_matches"]) == (1, 2)
    # a title that is only the start of the text's first word is no repeat
    assert watchlist.explain("Каракас", "Каракасе тихо")["venezuela"]["text_matches"] == 1
    assert watchlist.explain("Каракас", "Каракас: тихо")["venezuela"]["text_matches"] == 0


WORDS = ["Caracas", "Maduro", "Nicolás", "Nicolas", "Киеве", "كاراكاس", "委内瑞拉", "کیف", "پول"]
# Spaces, ZWNJ, ZWSP, soft hyphen, fatha, a combining acute, `İ` (lowers to two chars), a lone
# surrogate (badly decoded input) and an emoji (outside the BMP).
GLUE = [
    " ",
    "  ",
    "\n",
    "\u200c",
    "\u200b",
    "\u00ad",
    "\u064e",
    "\u0301",
    "İ",
    "a",
    ".",
    "-",
    "\ud800",
    "😀",
]
fragments = st.sampled_from(WORDS + GLUE)


@settings(max_examples=300, deadline=None)
@given(st.lists(fragments, max_size=30).map("".join))
def test_evidence_always_matches_its_alias(text: str) -> None:
    for match in shared_watchlist().tag(text, text):
        for e in match.evidence:
            assert text[e.start : e.end] == e.matched
            key = fold(e.alias.rstrip("*")).text
            assert fold(e.matched).text.strip().startswith(key)


def test_evidence_is_capped_and_keeps_the_earliest(watchlist: Watchlist) -> None:
    text = " ".join(f"Caracas {i}." for i in range(30))
    (match,) = watchlist.tag("From Caracas", text)
    assert len(match.evidence) == MAX_EVIDENCE
    assert match.evidence[0].field == "title"
    assert [e.start for e in match.evidence[1:]] == [m.start() for m in re.finditer("C", text)][:19]
    assert watchlist.explain("From Caracas", text)["venezuela"]["text_matches"] == 30


def test_snippet_is_cut_at_words_with_ellipses(watchlist: Watchlist) -> None:
    words = " ".join(f"word{i}" for i in range(40))
    text = f"{words} Caracas {words}"
    (evidence,) = watchlist.tag("", text)[0].evidence
    assert evidence.snippet.startswith("…word") and evidence.snippet.endswith("…")
    assert " Caracas " in evidence.snippet
    left, right = evidence.snippet[1:-1].split(" Caracas ")
    assert 45 <= len(left) <= 60 and 45 <= len(right) <= 60
    assert text[evidence.start - len(left) - 1 : evidence.start - 1] == left  # whole words
    (short,) = watchlist.tag("", "In Caracas\ntoday.")[0].evidence
    assert short.snippet == "In Caracas today."


# --- scores -------------------------------------------------------------------------------


def test_title_only_entry_can_be_about_a_topic(watchlist: Watchlist) -> None:
    (match,) = watchlist.tag("Maduro captured in Caracas", "")
    assert match.relevance == "about"


def test_short_untitled_post_naming_one_topic_is_about_it(watchlist: Watchlist) -> None:
    (match,) = watchlist.tag("", "Мадуро вывезли из Каракаса. Подробности позже.")
    assert match.relevance == "about"


def test_passing_mention_deep_in_a_long_text_is_a_mention(watchlist: Watchlist) -> None:
    filler = "The council met again to discuss the budget and the roads. " * 40
    (match,) = watchlist.tag("Budget talks", filler + "Iran was not discussed. " + filler)
    assert match.relevance == "mention"
    assert match.score < watchlist.weights.threshold - 0.05  # clearly below `about`


# --- the watchlist file -------------------------------------------------------------------


def test_topics_names_and_version(watchlist: Watchlist) -> None:
    raw = (DATA / "watchlist.yaml").read_bytes()
    assert watchlist.topics == ("venezuela", "ukraine", "taiwan", "iran")
    assert watchlist.name("ukraine") == "Ukraine"
    assert watchlist.topic("ukraine").exclude == {"fa": ("کیف پول", "کیف دستی")}
    # no frames or weights file beside tests/data/watchlist.yaml: their parts hash as empty
    assert watchlist.version == hashlib.sha256(raw + b"\0\0").hexdigest()[:12]
    text = raw.decode("utf-8")
    assert parse_watchlist(text).version == watchlist.version
    assert parse_watchlist(text + "\n# edited\n").version != watchlist.version


@needs_shared
def test_watchlist_pickles_for_a_process_pool(watchlist: Watchlist) -> None:
    copy = pickle.loads(pickle.dumps(watchlist))
    assert copy.version == watchlist.version
    assert copy.tag(TITLE_001, seed_text("001")) == watchlist.tag(TITLE_001, seed_text("001"))


def test_norwegian_key_stays_a_string() -> None:
    wl = parse_watchlist("topics:\n  t:\n    aliases:\n      no: [Venezuela]\n")
    assert wl.topic("t").aliases == {"no": ("Venezuela",)}


GOOD_HEAD = "topics:\n  venezuela:\n    name: Venezuela\n    aliases:\n      en: [Venezuela]\n"


@pytest.mark.parametrize(
    ("tail", "line", "topic", "problem"),
    [
        ("  ukraine:\n    name: Ukraine\n", 6, "ukraine", "has no aliases"),
        ("  ukraine:\n    aliases:\n      en: []\n", 7, "ukraine", "has no aliases"),
        ("  ukraine:\n    aliases:\n      en: Ukraine\n", 8, "ukraine", "must be a list"),
        ("  ukraine:\n    aliases:\n      eng: [Ukraine]\n", 8, "ukraine", "unknown language"),
        ("  ukraine:\n    aliases:\n      en: [Kyiv, '']\n", 8, "ukraine", "empty entry"),
        (
            "  ukraine:\n    aliases:\n      en:\n        - Kyiv\n        -\n",
            10,
            "ukraine",
            "empty",
        ),
        ("  ukraine:\n    aliases:\n      en: [Kyiv\n      ru: [Киев]\n", 9, "ukraine", "syntax"),
        ("  ukraine:\n    name: Ukraine\n     aliases: {}\n", 8, "ukraine", "syntax"),
        ("  ukraine:\n    alias:\n      en: [Kyiv]\n", 7, "ukraine", "unknown key 'alias'"),
        ("  ukraine:\n    aliases:\n      en: [Uk*]\n", 8, "ukraine", "stem"),
        ("  ukraine:\n    aliases:\n      en: [U*kraine]\n", 8, "ukraine", "`*` only"),
        ("  venezuela:\n    aliases:\n      en: [Caracas]\n", 6, "venezuela", "repeats the key"),
        ("  Ukraine:\n    aliases:\n      en: [Kyiv]\n", 6, "Ukraine", "bad topic id"),
        ("  iran:\n    aliases: {es: [Irán]}\n    cased: {es: [irán]}\n", 8, "iran", "cased"),
        ("  iran:\n    aliases: {es: [Irán]}\n    cased: {es: [Irá*]}\n", 8, "iran", "cased"),
    ],
)
def test_bad_watchlist_names_file_line_and_topic(
    tmp_path: Path, tail: str, line: int, topic: str, problem: str
) -> None:
    path = tmp_path / "watchlist.yaml"
    path.write_text(GOOD_HEAD + tail, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    message = str(caught.value)
    print(message)
    assert caught.value.path == str(path) and caught.value.line == line
    assert message.startswith(f"{path}:{line}: ")
    assert problem in message
    assert f"{topic!r}" in message


def test_missing_or_empty_watchlist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_watchlist(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="empty"):
        parse_watchlist("# nothing yet\n", "w.yaml")
    with pytest.raises(ConfigError, match="unknown top-level key 'topic'"):
        parse_watchlist("topic:\n  a:\n    aliases: {en: [A]}\n", "w.yaml")


# --- speed --------------------------------------------------------------------------------


@needs_shared
def test_long_text_is_fast(watchlist: Watchlist) -> None:
    """Not a benchmark (nothing asserted on time): shows the cost of a 50,000-char text."""
    paragraph = seed_text("001")
    text = (paragraph * (50_000 // len(paragraph) + 1))[:50_000]
    started = time.perf_counter()
    runs = 20
    for _ in range(runs):
        matches = watchlist.tag(TITLE_001, text)
    elapsed = (time.perf_counter() - started) / runs
    print(f"50,000 chars: {elapsed * 1000:.2f} ms per article, {1 / elapsed:.0f} articles/s")
    assert {m.topic for m in matches} == {"venezuela", "ukraine", "taiwan", "iran"}


# --- the development set's test split (issue 16, acceptance 4) ---------------------------

# Acceptance 4: the test split's macro F1 as bench/tagging.py printed it when the method last
# changed (0.853 on the 1,931-item set of the sixth round, split by outlet, weights fitted on
# its train split with l2 3.0; session 13: Telegram posts read as ingest reads them, a
# repeated headline counted once; session 19: places in Russia named after Ukraine's cities
# excluded, names that are another word in lower case (`cased:`), then refitted; session 34:
# 0.855 and 13.5%, Russian aliases for Ukraine's soldiers and recruitment centres, refitted; see
# bench/README.md), less a small margin for ties and float noise. The hard negatives tagged
# `about` as printed then: 13.5% of 266 (12.8% before session 34), within issue 16's 15%
# bound; asserted as printed plus the margin, so that a rise fails here.
TEST_MACRO_F1 = 0.855
TEST_HARD_ABOUT = 0.135
MARGIN = 0.01


@pytest.mark.slow  # ~35 s: tags the whole set; CI runs it (make test-slow)
@needs_devset
def test_test_split_macro_f1_holds_and_beats_the_baseline() -> None:
    """The quality bar of bench/tagging.py on the split the fit never saw (nothing timed)."""
    from tests.test_topics_real import seeds_watchlist  # here: that module imports this one

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
