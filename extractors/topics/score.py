"""Scoring a topic's matches in one article, and the evidence shown for them.

Owns the score: a weighed mean of parts that can each be measured (a match in the title, in
the lead, how many in the text, how spread out, the topic's share of all matches), `about`
from `ABOUT_THRESHOLD` up, else `mention`; weak aliases (demonyms) count for less. And the
evidence: the matched span with a short snippet around it, cut at spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.records import Evidence

ABOUT_THRESHOLD = 0.5
LEAD_CHARS = 400  # the part of the text that a reader (and an editor) treats as the lead
MAX_EVIDENCE = 20
SNIPPET_CHARS = 60
# How much each part weighs in the score. Parts that cannot be measured (no title, no text) are
# left out and the rest renormalised, so a title-only feed entry or an untitled Telegram post
# can still be `about` a topic.
WEIGHTS = {"title": 0.35, "lead": 0.20, "count": 0.20, "spread": 0.10, "share": 0.15}
_TEXT_PARTS = ("lead", "count", "spread")
_MAX_CHUNKS = 5  # spread: the text is cut in up to 5 chunks of at least LEAD_CHARS each
# A weak alias (a demonym or adjective: "Ukrainian", «українська») counts half a match, and a
# topic found only through weak aliases, none in the title, has its score scaled by WEAK_ONLY:
# "a Ukrainian playgroup in Melbourne" names Ukraine without being about it.
WEAK = 0.5
WEAK_ONLY = 0.6
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class _Hit:
    """One matched span in original offsets; it becomes `Evidence` only if it is kept."""

    field: str
    start: int
    end: int
    alias: str
    weak: bool = False

    @property
    def weight(self) -> float:
        return WEAK if self.weak else 1.0


def _evidence(hit: _Hit, original: str) -> Evidence:
    snippet = _snippet(original, hit.start, hit.end)
    return Evidence(
        hit.field, hit.start, hit.end, original[hit.start : hit.end], hit.alias, snippet
    )


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


def _parts(hits: list[_Hit], text_len: int, all_hits: float) -> dict[str, float]:
    """The score parts, each in 0..1, with the counts they come from. A weak hit counts as
    `WEAK` of a match; `spread` is -1 (not measured) for a text too short to have parts."""
    in_text = [h for h in hits if h.field == "text"]
    in_title = [h for h in hits if h.field == "title"]
    n_text = sum(h.weight for h in in_text)
    n_lead = sum(h.weight for h in in_text if h.start < LEAD_CHARS)
    chunks = min(_MAX_CHUNKS, text_len // LEAD_CHARS)
    touched = {h.start * chunks // text_len for h in in_text} if chunks >= 2 else set()
    return {
        "title": 1.0 if in_title else 0.0,  # a demonym in a headline is no passing word
        "lead": 1 - 0.5**n_lead,  # one match in the lead: 0.5, two: 0.75
        "count": 1 - 0.5 ** (n_text / 3),  # three in the text: 0.5, six: 0.75
        "spread": len(touched) / chunks if chunks >= 2 else -1.0,
        "share": sum(h.weight for h in hits) / all_hits,
        "title_matches": float(len(in_title)),
        "text_matches": float(len(in_text)),
        "strong_matches": float(sum(not h.weak for h in hits)),
    }


def _score(parts: dict[str, float], has_title: bool, has_text: bool) -> float:
    """The weighed mean of the parts that could be measured (no title, no text, or a text too
    short to have parts leave theirs out); scaled by `WEAK_ONLY` when only weak aliases, none
    in the title, were found."""
    used = [
        p
        for p in WEIGHTS
        if (p != "title" or has_title) and (p not in _TEXT_PARTS or has_text) and parts[p] >= 0
    ]
    total = sum(WEIGHTS[p] for p in used)
    score = sum(WEIGHTS[p] * parts[p] for p in used) / total
    if not parts["strong_matches"] and not parts["title"]:
        score *= WEAK_ONLY
    return round(score, 4)
