"""The features of a topic's matches in one article, and the evidence shown for them.

Owns the features the fitted model weighs (`FEATURES`, each 0..1): where the topic is named
(headline, lead, how often, how spread, how dense), how prominent it is against every other
country the text names (its share of all country mentions, against the most-named other
country, whether it is the most named), whether the text is inside a frame (sport,
entertainment, company, markets, culture) close to the topic's name and whether it carries
hard news (politics, security) close by, whether home-country phrases of the outlet's own
country matched, and what the item lacks (a title, a text). The weights are fitted by
bench/fit_tagger.py (`extractors.topics.frames.Weights`). Beside them, and not weighed,
`digest`: the text is a digest of short items (bullets, bold sub-headlines or pictographs) whose
headline does not name the topic, which the watchlist turns into a mention (the labelling
rule). Weak aliases (demonyms) count half a match. And the evidence: the matched span with a
short snippet around it, cut at spaces.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass

from extractors.records import Evidence

LEAD_CHARS = 400  # the part of the text that a reader (and an editor) treats as the lead
MAX_EVIDENCE = 20
SNIPPET_CHARS = 60
# The model's features, in the order of the weights file. See `_features`.
FEATURES = (
    "title",
    "lead",
    "count",
    "spread",
    "density",
    "share",
    "prominence",
    "top",
    "frame",
    "hard",
    "frame_only",
    "framed",
    "hard_near",
    "home",
    "weak_only",
    "untitled",
    "textless",
)
_DENSITY_CHARS = 500
_NEAR_CHARS = 150  # "close by": within about a sentence of the match
_MAX_CHUNKS = 5  # spread: the text is cut in up to 5 chunks of at least LEAD_CHARS each
# A weak alias (a demonym or adjective: "Ukrainian", «українська») counts half a match.
WEAK = 0.5
_SPACE = re.compile(r"\s")
# A line that opens one item of a digest or round-up: a bullet (RIA's ▪️, the BBC's 🔻, •) or
# a bold sub-headline (**...**, as CCTV's 联播快讯 and Telegram channels set them).
_DIGEST_ITEM = re.compile(r"(?m)^[ \t]*(?:[▪•·🔻►▶➖◾◽]|\*\*[^*\n]{8,}\*\*)")
_DIGEST_ITEMS = 3  # a text with this many item openers is a digest


def digest_items(text: str) -> int:
    """How many lines of `text` open a digest item: a bullet, a bold sub-headline, or a
    pictograph (📑, 📌, 🔹: Telegram channels set their round-ups' items so)."""
    pictographs = sum(
        unicodedata.category(line.lstrip()[:1] or " ") == "So"
        for line in text.splitlines()
        if not _DIGEST_ITEM.match(line)
    )
    return len(_DIGEST_ITEM.findall(text)) + pictographs


@dataclass(frozen=True, slots=True)
class _Hit:
    """One matched span in original offsets; it becomes `Evidence` only if it is kept."""

    field: str
    start: int
    end: int
    alias: str
    weak: bool = False
    home: bool = False  # a home phrase, for an outlet of the topic's country

    @property
    def weight(self) -> float:
        return WEAK if self.weak else 1.0


def _evidence(hit: _Hit, original: str, shift: int = 0) -> Evidence:
    """The evidence of `hit`, found `shift` characters into `original` (past a repeated
    title)."""
    start, end = hit.start + shift, hit.end + shift
    snippet = _snippet(original, start, end)
    return Evidence(hit.field, start, end, original[start:end], hit.alias, snippet)


def _snippet(text: str, start: int, end: int) -> str:
    """About SNIPPET_CHARS around the match, cut at spaces, `…` where cut, on one line."""
    lo, hi = max(0, start - SNIPPET_CHARS), min(len(text), end + SNIPPET_CHARS)
    left, right = text[lo:start], text[end:hi]
    if lo > 0 and (cut := _SPACE.search(left)):  # no space at all (CJK): cut mid-run
        left = left[cut.end() :]
    if hi < len(text) and (cut := _SPACE.search(right[::-1])) and cut.start() < len(right) - 1:
        right = right[: len(right) - cut.end()]
    body = " ".join((left + text[start:end] + right).split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


@dataclass(frozen=True, slots=True)
class _Context:
    """What an article holds beside one topic's matches: the matches per topic and per other
    country (a country code, or a `places` phrase), frame and hard-news phrase counts."""

    topics: dict[str, float]
    others: dict[str, float]
    frames: dict[str, list[int]]  # field → start offsets of frame phrases
    hard: dict[str, list[int]]  # field → start offsets of hard-news phrases
    has_title: bool
    has_text: bool
    text_len: int
    digest_items: int = 0  # lines opening an item of a digest (`digest_items`)


def _features(topic: str, hits: list[_Hit], ctx: _Context) -> dict[str, float]:
    """The model's features for one topic (each 0..1; see `FEATURES`), and the counts behind
    them. A weak hit counts as `WEAK` of a match."""
    in_text = [h for h in hits if h.field == "text"]
    in_title = [h for h in hits if h.field == "title"]
    n_text = sum(h.weight for h in in_text)
    n_lead = sum(h.weight for h in in_text if h.start < LEAD_CHARS)
    chunks = min(_MAX_CHUNKS, ctx.text_len // LEAD_CHARS)
    touched = {h.start * chunks // ctx.text_len for h in in_text} if chunks >= 2 else set()
    mine = ctx.topics[topic]
    rivals = [n for t, n in ctx.topics.items() if t != topic] + list(ctx.others.values())
    strongest = max(rivals, default=0.0)
    strong = sum(not h.weak for h in hits)
    n_frames = sum(map(len, ctx.frames.values()))
    n_hard = sum(map(len, ctx.hard.values()))
    return {
        "title": 1.0 if in_title else 0.0,  # a demonym in a headline is no passing word
        "lead": 1 - 0.5**n_lead,  # one match in the lead: 0.5, two: 0.75
        "count": 1 - 0.5 ** (n_text / 3),  # three in the text: 0.5, six: 0.75
        # how many parts of a long text have a match; a short text is one part
        "spread": len(touched) / chunks if chunks >= 2 else float(bool(in_text)),
        # matches per 500 characters of text: one name in a long text is a passing word
        "density": 1 - 0.5 ** (n_text * _DENSITY_CHARS / max(ctx.text_len, _DENSITY_CHARS)),
        # share and prominence count one unknown rival (+1, at least 1): a single passing
        # mention in a text that names no other country is not thereby prominent
        "share": mine / (sum(ctx.topics.values()) + sum(ctx.others.values()) + 1),
        "prominence": mine / (mine + max(strongest, 1)),  # against the most-named other country
        "top": 1.0 if mine >= strongest else 0.0,  # named at least as often as any other
        "frame": 1 - 0.5**n_frames,
        "hard": 1 - 0.5**n_hard,
        "frame_only": 1.0 if n_frames and not n_hard else 0.0,
        # the share of the topic's matches with a frame phrase close by and no hard-news
        # phrase close by (the country inside the frame), and with a hard-news phrase close by
        "framed": _near_share(hits, ctx.frames, unless=ctx.hard),
        "hard_near": _near_share(hits, ctx.hard),
        "home": 1.0 if any(h.home for h in hits) else 0.0,
        "weak_only": 0.0 if strong or in_title else 1.0,
        "untitled": 0.0 if ctx.has_title else 1.0,
        "textless": 0.0 if ctx.has_text else 1.0,
        # not a model feature: a digest of several short items whose headline does not name
        # the topic (the watchlist caps its score, see `Watchlist._analyse`)
        "digest": 1.0 if ctx.digest_items >= _DIGEST_ITEMS and not in_title else 0.0,
        # not a model feature: a home phrase in the headline (the watchlist's frame cap
        # spares such a topic, see `Watchlist._analyse`)
        "home_title": 1.0 if any(h.home for h in in_title) else 0.0,
        "title_matches": float(len(in_title)),
        "text_matches": float(len(in_text)),
        "strong_matches": float(strong),
        "other_countries": float(len(ctx.others)),
    }


def _near_share(
    hits: list[_Hit], starts: dict[str, list[int]], unless: dict[str, list[int]] | None = None
) -> float:
    """The share of `hits` with one of `starts` (offsets in the same field) within
    `_NEAR_CHARS` of them, and none of `unless`; a title is close by throughout."""
    if not hits:
        return 0.0
    close = sum(_close(h, starts) and not (unless and _close(h, unless)) for h in hits)
    return close / len(hits)


def _close(hit: _Hit, starts: dict[str, list[int]]) -> bool:
    found = starts.get(hit.field, [])
    if hit.field == "title":
        return bool(found)
    i = bisect_left(found, hit.start - _NEAR_CHARS)
    return i < len(found) and found[i] <= hit.end + _NEAR_CHARS
