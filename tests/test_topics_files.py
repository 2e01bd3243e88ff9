"""The files beside the watchlist: `home` blocks, frames.yaml, the fitted weights, the version.

Errors name the file and the line; the version covers all three files; a watchlist pickles
with its side files; the weights in code are the ones the fit wrote.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from extractors.topics import DEFAULT_WEIGHTS, FEATURES, load_watchlist, parse_watchlist
from extractors.topics.countries import country_names
from newswatch.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
HOME = """topics:
  iran:
    name: Iran
    aliases: {en: [Iran, Tehran], ru: [Иран]}
    home:
      country: IR
      en: [Majlis, Guardian Council]
      fa: [مجلس]
"""
FRAMES = """frames:
  sport:
    en: [football match, World Cup]
brands:
  en: [Iran Air]
hard_news:
  en: [missile*, sanctions]
"""


def weights_text(**change: float) -> str:
    weights = {name: 0.0 for name in FEATURES}
    weights.update({"title": 4.0, "count": 2.0})
    weights.update(change)
    return yaml.safe_dump({"bias": -2.0, "threshold": 0.5, "weights": weights})


def write_watchlist(folder: Path, watchlist: str, frames: str) -> Path:
    """A watchlist folder: the watchlist, its frames and the test weights."""
    (folder / "watchlist.yaml").write_text(watchlist, encoding="utf-8")
    (folder / "frames.yaml").write_text(frames, encoding="utf-8")
    (folder / "watchlist.weights.yaml").write_text(weights_text(), encoding="utf-8")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_watchlist(tmp_path, HOME, FRAMES)


def test_home_phrases_count_only_for_an_outlet_of_that_country(folder: Path) -> None:
    wl = load_watchlist(folder / "watchlist.yaml")
    assert wl.topic("iran").home is not None and wl.topic("iran").home.country == "IR"
    title, text = "Majlis passes budget", "The Guardian Council must now approve it."
    assert [m.topic for m in wl.tag(title, text, "en", "IR")] == ["iran"]
    assert wl.tag(title, text, "en", "FR") == [] and wl.tag(title, text) == []
    (match,) = wl.tag(title, text, source_country="IR")
    assert [e.matched for e in match.evidence] == ["Majlis", "Guardian Council"]
    assert wl.explain(title, text, source_country="IR")["iran"]["home"] == 1.0


def test_side_files_are_read_beside_the_watchlist_or_from_given_paths(
    folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wl = load_watchlist(folder / "watchlist.yaml")
    assert wl.frames.frames["sport"]["en"] == ("football match", "World Cup")
    assert wl.weights.weights["title"] == 4.0 and wl.weights.threshold == 0.5
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "w.yaml").write_text(weights_text(title=1.0), encoding="utf-8")
    (elsewhere / "f.yaml").write_text("brands:\n  en: [Iran Air]\n", encoding="utf-8")
    given = load_watchlist(
        folder / "watchlist.yaml", frames=elsewhere / "f.yaml", weights=elsewhere / "w.yaml"
    )
    assert given.weights.weights["title"] == 1.0 and not given.frames.frames
    with pytest.raises(ConfigError, match="cannot read the weights file"):
        load_watchlist(folder / "watchlist.yaml", weights=elsewhere / "missing.yaml")
    # no side files at all: no frames, the weights the fit last wrote
    bare = parse_watchlist(HOME)
    assert bare.weights == DEFAULT_WEIGHTS and not bare.frames.brands


def test_version_covers_watchlist_frames_and_weights(folder: Path) -> None:
    path = folder / "watchlist.yaml"
    versions = {load_watchlist(path).version}
    (folder / "frames.yaml").write_text(FRAMES + "  # edited\n", encoding="utf-8")
    versions.add(load_watchlist(path).version)
    (folder / "watchlist.weights.yaml").write_text(weights_text(lead=1.0), encoding="utf-8")
    versions.add(load_watchlist(path).version)
    assert len(versions) == 3


def test_pickles_with_its_side_files(folder: Path) -> None:
    wl = load_watchlist(folder / "watchlist.yaml")
    copy = pickle.loads(pickle.dumps(wl))
    assert copy.version == wl.version and copy.weights == wl.weights
    args = ("Iran Air flight lands", "An Iran Air flight landed in Tehran.", None, "IR")
    assert copy.tag(*args) == wl.tag(*args)


def test_the_matcher_is_built_on_the_first_tag_not_on_load(folder: Path) -> None:
    # An ingest's command stores the version and leaves tagging to its workers: loading
    # must not build the matcher (~8 MB and ~0.2 s for seeds/watchlist.yaml), and a file
    # error must still show on load.
    wl = load_watchlist(folder / "watchlist.yaml")
    assert wl.version and wl.name("iran") == "Iran"
    assert "_automaton" not in vars(wl)
    assert [m.topic for m in wl.tag("Tehran talks", "Iran said.")] == ["iran"]
    assert "_automaton" in vars(wl)
    (folder / "frames.yaml").write_text("frames: [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"frames\.yaml"):
        load_watchlist(folder / "watchlist.yaml")


def test_a_brand_cancels_the_country_inside_it(folder: Path) -> None:
    wl = load_watchlist(folder / "watchlist.yaml")
    assert wl.tag("", "Iran Air ordered new planes.") == []
    (match,) = wl.tag("", "Iran Air flew again to Tehran.")
    assert [e.matched for e in match.evidence] == ["Tehran"]


def test_frame_and_hard_news_features(folder: Path) -> None:
    wl = load_watchlist(folder / "watchlist.yaml")
    match = wl.explain("", "Iran won the football match 2-0 in the World Cup.")["iran"]
    assert match["frame"] > 0 and match["framed"] == 1.0 and match["hard"] == 0
    assert match["in_frame"] == 1.0 and match["score"] < wl.weights.threshold
    struck = wl.explain("", "Iran won the football match; missiles hit Tehran later.")["iran"]
    assert struck["hard"] > 0 and struck["in_frame"] == 0.0


def test_every_other_country_lowers_the_share() -> None:
    wl = parse_watchlist(HOME)
    alone = wl.explain("", "Oil output in Iran rose.")["iran"]
    crowded = wl.explain(
        "", "Oil output in Iran rose, while Saudi Arabia, Russia and Norway cut theirs."
    )["iran"]
    # smoothed: one mention against no rival is half-prominent (as against one unknown rival)
    assert alone["prominence"] == 0.5 and alone["top"] == 1.0
    assert crowded["prominence"] == 0.5 and crowded["other_countries"] == 3
    # the share counts every country named: 1 of 2 (the unknown rival) alone, 1 of 5 crowded
    assert alone["share"] == 0.5 and crowded["share"] == pytest.approx(1 / 5)
    # names from CLDR in the six languages, declined Russian forms through stems
    ru = wl.explain("", "Иран и Саудовская Аравия; в России и Франции тоже.")["iran"]
    assert ru["other_countries"] == 3
    assert "Франци*" in country_names()["FR"] and "法国" in country_names()["FR"]


def test_the_outlets_own_country_is_no_rival_whether_a_place_or_a_country_name() -> None:
    wl = parse_watchlist(HOME + "places:\n  ru: [России, Москва]\n")
    text = "Иран и Россия: в России заявили, что Москва против."
    anywhere = wl.explain("", text)["iran"]
    russian = wl.explain("", text, source_country="RU")["iran"]
    assert anywhere["other_countries"] == 2  # RU (Россия, России: CLDR's, and a place), Москва
    # a Russian outlet's Россия and России are its viewpoint, not a rival, though России is
    # also a place; its capital is a place only, and still counts
    assert russian["other_countries"] == 1 and russian["share"] > anywhere["share"]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (HOME.replace("country: IR", "country: Iran"), 6, "home.country must be a country"),
        (HOME.replace("      country: IR\n", ""), 6, "home has no `country`"),
        (HOME.replace("fa: [مجلس]", "farsi: [مجلس]"), 8, "home: unknown language key"),
    ],
)
def test_bad_home_names_file_line_and_topic(text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_watchlist(text, "w.yaml")
    assert info.value.path == "w.yaml" and info.value.line == line
    assert problem in str(info.value) and "topic 'iran'" in str(info.value)


@pytest.mark.parametrize(
    ("name", "text", "line", "problem"),
    [
        ("frames.yaml", FRAMES + "colours:\n  en: [red]\n", 8, "unknown top-level key"),
        ("frames.yaml", FRAMES.replace("[missile*, sanctions]", "missiles"), 7, "must be a list"),
        ("frames.yaml", FRAMES.replace("World Cup]", "W*]"), 3, "too short"),
        ("watchlist.weights.yaml", weights_text().replace("threshold: 0.5", "threshold: 2"), 2,
         "threshold must be between 0 and 1"),
        ("watchlist.weights.yaml", weights_text() + "  colour: 1.0\n", 21, "unknown feature"),
        ("watchlist.weights.yaml", weights_text().replace("title: 4.0", "title: high"), None,
         "title must be a number"),
    ],
)  # fmt: skip
def test_bad_side_files_name_file_and_line(
    folder: Path, name: str, text: str, line: int | None, problem: str
) -> None:
    (folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_watchlist(folder / "watchlist.yaml")
    assert info.value.path == str(folder / name) and problem in str(info.value)
    if line:
        assert info.value.line == line


def test_the_weights_in_code_are_the_fitted_ones() -> None:
    wl = load_watchlist(REPO / "seeds" / "watchlist.yaml")
    assert wl.weights == DEFAULT_WEIGHTS  # rerun bench/fit_tagger.py, then copy them over
    assert wl.frames.frames.keys() >= {"sport", "entertainment", "company", "markets", "culture"}
    assert all(wl.topic(t).home for t in wl.topics)


HOME_ECONOMY = HOME.replace(
    "en: [Majlis, Guardian Council]", "en: [Majlis, Guardian Council, coin price, rial*]"
)
MARKETS = FRAMES.replace("brands:", "  markets:\n    en: [coin price, gold price]\nbrands:")


@pytest.fixture
def economy(tmp_path: Path) -> Path:
    return write_watchlist(tmp_path, HOME_ECONOMY, MARKETS)


def test_a_frame_phrase_inside_a_home_phrase_is_the_outlets_economy(economy: Path) -> None:
    wl = load_watchlist(economy / "watchlist.yaml")
    text = "The coin price rose again as the rial fell."
    home = wl.explain("", text, source_country="IR")["iran"]
    assert home["home"] == 1.0 and home["frame"] == 0.0 and home["in_frame"] == 0.0
    # a foreign outlet's market report naming Iran: the same phrase is a markets frame
    foreign = wl.explain("", "In Iran the coin price rose again.", source_country="FR")["iran"]
    assert foreign["frame"] > 0 and foreign["framed"] == 1.0 and foreign["in_frame"] == 1.0


def test_the_frame_cap_spares_a_topic_its_outlets_home_phrases_matched(folder: Path) -> None:
    wl = load_watchlist(folder / "watchlist.yaml")
    title, text = "Majlis on the World Cup", "The Majlis debated the football match ban."
    (home,) = wl.tag(title, text, source_country="IR")
    parts = wl.explain(title, text, source_country="IR")["iran"]
    assert parts["framed"] > 0 and parts["hard"] == 0 and parts["home"] == 1.0
    assert parts["in_frame"] == 0.0 and home.relevance == "about"
    # named, not home: the sport frame makes the country incidental, whatever the score
    (named,) = wl.tag("Iran at the World Cup", "Iran won the football match.", None, "FR")
    assert named.relevance == "mention"
