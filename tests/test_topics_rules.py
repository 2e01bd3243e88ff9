"""Watchlist rules: all, any, none, `NEAR/n`, `@topic`, and their errors."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from extractors.topics import Watchlist, load_watchlist, parse_watchlist
from newswatch.errors import ConfigError
from tests.test_topics import (
    matched,
)

# --- rules: all, any, none, NEAR/n, @topic -------------------------------------------------

RULES = """topics:
  georgia:
    name: Georgia (the country)
    aliases:
      en: [Tbilisi, Georgian Dream]
    exclude:
      # "the state of Georgia", "Atlanta, Georgia": the US state, wherever it appears
      en: ["(state | Atlanta | Savannah | Macon) NEAR/3 Georgia"]
    rules:
      - match: [Georgia]
        none: [Peach State, Georgia Bulldogs, Brian Kemp]
  jordan:
    name: Jordan
    aliases:
      en: [Amman, Jordanian*]
    rules:
      # "Jordan" alone is often a name (Michael Jordan, Jordan Peterson)
      - match: [Jordan]
        any: ["@jordan", "(king | kingdom | border | government) NEAR/4 Jordan"]
        none: [Michael Jordan, Air Jordan]
  sanctions:
    name: Iran sanctions
    aliases:
      en: [JCPOA]
    rules:
      - match: [sanctions NEAR/5 Iran]
        all: [[Treasury, OFAC], United States]
"""


@functools.cache
def rules_watchlist() -> Watchlist:
    return parse_watchlist(RULES, "rules.yaml")


def rules_matched(text: str) -> dict[str, list[str]]:
    return matched(rules_watchlist(), text)


def test_rule_with_none_keeps_the_us_state_out() -> None:
    assert rules_matched("Protests in Georgia: crowds filled Tbilisi.") == {
        "georgia": ["Georgia", "Tbilisi"]
    }
    assert rules_matched("Brian Kemp, governor of Georgia, signed the bill.") == {}
    # the exclude (NEAR) removes the state's Georgia, leaving the country's
    text = "Born in Atlanta, Georgia, she now lives in Tbilisi, the capital of Georgia."
    assert rules_matched(text) == {"georgia": ["Tbilisi", "Georgia"]}


def test_rule_with_any_and_none_keeps_the_name_jordan_out() -> None:
    assert rules_matched("Jordan scored 30 points last night.") == {}
    # `none` vetoes the whole rule in that article: only the alias Amman is left
    assert rules_matched("Michael Jordan visited Jordan and Amman.") == {"jordan": ["Amman"]}
    assert rules_matched("The king of Jordan spoke.") == {"jordan": ["Jordan"]}
    assert rules_matched("Jordan closed its border with Syria.") == {"jordan": ["Jordan"]}


def test_rule_all_takes_lists_of_alternatives() -> None:
    text = "The Treasury imposed sanctions on Iran; the United States said more would come."
    assert rules_matched(text) == {"sanctions": ["sanctions on Iran"]}
    assert rules_matched(text.replace("Treasury", "OFAC")) == {"sanctions": ["sanctions on Iran"]}
    assert rules_matched(text.replace("The Treasury", "Brussels")) == {}
    assert rules_matched(text.replace("the United States", "it")) == {}


@pytest.mark.parametrize(
    ("text", "near"),
    [
        ("sanctions Iran", True),  # 0 words between
        ("sanctions on the oil of Iran", True),  # 4
        ("sanctions were placed on the oil of Iran", True),  # 6
        ("Iran faces new sanctions", True),  # either order
        ("sanctions, placed yesterday on exports of crude from Iran", False),  # 7
    ],
)
def test_near_counts_words_between(text: str, near: bool) -> None:
    wl = parse_watchlist(
        "topics:\n  t:\n    aliases: {en: [nothing-here]}\n    rules:\n"
        "      - match: [sanctions NEAR/6 Iran]\n",
        "near.yaml",
    )
    assert bool(wl.tag("", text)) is near


def test_near_in_chinese_counts_characters() -> None:
    wl = parse_watchlist(
        "topics:\n  t:\n    aliases: {en: [nothing-here]}\n    rules:\n"
        "      - match: [制裁 NEAR/3 伊朗]\n",
        "near.yaml",
    )
    assert wl.tag("", "美国制裁伊朗") and wl.tag("", "制裁了的伊朗")
    assert not wl.tag("", "制裁这个国家伊朗")  # four characters between


def test_rule_evidence_points_at_the_whole_near_span() -> None:
    (match,) = rules_watchlist().tag(
        "", "New sanctions on Iran: the Treasury and the United States."
    )
    (evidence,) = match.evidence
    assert (evidence.matched, evidence.alias) == ("sanctions on Iran", "sanctions NEAR/5 Iran")


RULES_HEAD = "topics:\n  a:\n    aliases:\n      en: [Alpha]\n"


@pytest.mark.parametrize(
    ("tail", "line", "problem"),
    [
        ("    rules:\n      - any: [x]\n", 6, "rule has no `match`"),
        ("    rules:\n      - match: [x]\n        nope: [y]\n", 7, "unknown key 'nope'"),
        ("    rules:\n      - match: [x NEAR/y z]\n", 6, "NEAR/y needs a number"),
        ("    rules:\n      - match: [x NEAR/3]\n", 6, "NEAR needs one phrase on each side"),
        ("    rules:\n      - match: [a NEAR/3 b NEAR/2 c]\n", 6, "one NEAR per term"),
        ("    rules:\n      - match: [x]\n        none: ['@b']\n", 7, "unknown topic '@b'"),
        ("    rules:\n      - match: ['@a']\n", 6, "cannot be matched"),
        ("    rules: []\n", 5, "non-empty list of rules"),
        ("    rules:\n      - match: []\n", 6, "rule match is empty"),
        ("    rules:\n      - match: [x]\n        all: [[]]\n", 7, "empty list of alternatives"),
        ("    exclude:\n      en: ['@a']\n", 6, "is not a phrase"),
        ("    weak:\n      eng: [Alphan]\n", 6, "unknown language key"),
        ("    weak:\n      en: [Al*]\n", 6, "too short"),
        ("  b:\n    aliases:\n      en: [Beta, 'Beta NEAR/2 Gamma']\n", 7, "NEAR is not allowed"),
    ],
)
def test_bad_rules_name_file_line_and_topic(
    tmp_path: Path, tail: str, line: int, problem: str
) -> None:
    path = tmp_path / "watchlist.yaml"
    path.write_text(RULES_HEAD + tail, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    message = str(caught.value)
    print(message)
    assert message.startswith(f"{path}:{line}: topic ")
    assert problem in message


def test_bad_places_name_the_line() -> None:
    with pytest.raises(ConfigError, match=r"w.yaml:6: places: `\*` only ends a stem"):
        parse_watchlist(RULES_HEAD + "places:\n  en: [Rus*sia]\n", "w.yaml")
