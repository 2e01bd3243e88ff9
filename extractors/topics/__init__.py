"""The watchlist: its file format, compiling it once, and tagging articles against it.

The package splits along those seams: `folding` (text folding per script), `spec` (the file
format and its validation), `frames` (frames.yaml and the fitted weights file beside the
watchlist), `countries` (every country's name from CLDR, through babel), `compile` (the
automaton), `match` (finding spans), `score` (the features, evidence) and `watchlist` (loading,
`Watchlist.tag`, the model's score and about/mention).


Owns `watchlist.yaml` (topics with aliases and weak aliases per language, exclude phrases,
boolean rules with proximity, `home` phrases for the topic's own outlets, and the non-topic
`places`), `frames.yaml` and the weights file beside it, and their validation, where every
error names the file and the line. Loading compiles every phrase of every topic, frame, brand
and hard-news list and every country's CLDR name into one Aho-Corasick automaton, so tagging
an article costs one pass over its folded text whatever the number of phrases; rules and
`NEAR/n` are then settled on the few phrases found. Tagging returns one `TopicMatch` per
matched topic: a 0..1 score (a fitted logistic model's probability), `about` (from the fitted
threshold) or `mention`, and the evidence spans behind it, with offsets into the original
title and text.
`Watchlist.explain` gives the parts each score is made of.

Every phrase is tried on every text: language detection is wrong often enough, and scripts keep
languages apart anyway. Matching happens on a folded copy of the text (lower case; accents
dropped in Latin, Greek and Cyrillic: é→e, ё→е, й→и; Arabic letter variants folded to their
Persian form: ي→ی, ك→ک; Arabic diacritics, tatweel and invisible format characters dropped;
ZWNJ and every whitespace run read as one space). A small offset map takes matches back to the
original string. Phrases match whole words in scripts that put spaces between words; Han, kana
and Hangul phrases match anywhere, as those scripts glue words (and particles) together.
"""

from __future__ import annotations

from extractors.records import Evidence, TopicMatch
from extractors.topics.folding import Folded, fold
from extractors.topics.frames import Frames, Weights
from extractors.topics.score import FEATURES, LEAD_CHARS, MAX_EVIDENCE, SNIPPET_CHARS, WEAK
from extractors.topics.spec import Home, Near, Rule, Term, Topic, TopicRef
from extractors.topics.watchlist import DEFAULT_WEIGHTS, Watchlist, load_watchlist, parse_watchlist

__all__ = [
    "DEFAULT_WEIGHTS",
    "FEATURES",
    "LEAD_CHARS",
    "MAX_EVIDENCE",
    "SNIPPET_CHARS",
    "WEAK",
    "Evidence",
    "Folded",
    "Frames",
    "Home",
    "Near",
    "Rule",
    "Term",
    "Topic",
    "TopicMatch",
    "TopicRef",
    "Watchlist",
    "Weights",
    "fold",
    "load_watchlist",
    "parse_watchlist",
]
