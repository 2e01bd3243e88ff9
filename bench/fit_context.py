"""A learned context feature for the tagger, tried in session 11 and NOT kept: the featurizer,
its fit, and stacking its score into the tagger's regression inside each CV fold.

    .venv/bin/python bench/tagging_cv.py --context 0.3     # the by-outlet train CV with it

The frames are hand lists, and hand lists do not carry across outlets; this was to be their
learned counterpart. For one topic in one item, the words within `WINDOW` tokens of each of
its first `MAX_WINDOWS` matches (the evidence spans `Watchlist.tag` returns, title and text)
become a set of hashed features (words, word pairs and five-letter stems, so Russian and
Ukrainian inflections share one; a Han run as character pairs), CRC-32 into `BUCKETS`
buckets. Had it been kept, the weights (2^16 float16, 128 KB) would ship beside the watchlist
and the tagger would compute the windows from its hits. It was not: on the train split the
stacked score moved the by-outlet CV by nothing or down, whatever the window, n-grams or
penalty (bench/README.md, Tagging, session 11).

The model is an L2-penalised logistic regression over the hashed window features of each
(item, topic) example, about (1) vs mention (0). Examples are few (hundreds) and buckets many
(2^16), so it is fitted in its dual: the weights are a combination of the examples' feature
vectors (w = X^T a, the representer theorem), and Newton's method runs over `a` and the bias
with the examples' Gram matrix K = X X^T (each row of X is the example's bucket set, scaled to
unit length). One Gram matrix of all the examples serves every fold: a fold's fit is a
sub-matrix.

Stacking, so that cross-validation does not lie: the tagger's regression weighs the context
score, so the score it is fitted on must come from context models that did not see the
example. `stacked_column` gives, for one split into fitting rows and held rows, the fitting
rows' scores out of fold (inner folds of whole units, as the outer ones) and the held rows'
scores from the model fitted on all the fitting rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from itertools import pairwise
from zlib import crc32

import numpy as np

from extractors.topics import Watchlist

BUCKETS = 1 << 16
WINDOW = 12  # tokens on each side of a match
MAX_WINDOWS = 8  # the first matches (title first) whose windows are read
_REACH = 160  # characters cut on each side before tokenising (WINDOW words fit in it)
_STEM = 5  # letters of a word's stem feature
_TOKEN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]+|[^\W\d_\u2e80-\u9fff\uf900-\ufaff]+")
_HAN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")


def _tokens(text: str) -> list[str]:
    """Words (casefolded); a Han run as its character pairs (one char alone as itself)."""
    out: list[str] = []
    for run in _TOKEN.findall(text.casefold()):
        if _HAN.match(run) and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def window_ids(spans: Iterable[tuple[str, int, int]], fields: dict[str, str]) -> frozenset[int]:
    """The hashed features of the windows around `spans` ((field, start, end) in the original
    strings of `fields`: a match's evidence), the first `MAX_WINDOWS` of them."""
    words: set[str] = set()
    for k, (name, start, end) in enumerate(spans):
        if k == MAX_WINDOWS:
            break
        text = fields[name]
        left = _tokens(text[max(0, start - _REACH) : start])[-WINDOW:]
        right = _tokens(text[end : end + _REACH])[:WINDOW]
        seq = [*left, "\0", *right]  # the match itself: a marker, not its spelling
        words.update(seq)
        words.update(f"{a} {b}" for a, b in pairwise(seq))
        words.update("~" + w[:_STEM] for w in seq if len(w) > _STEM)
    return frozenset(crc32(w.encode("utf-8")) & (BUCKETS - 1) for w in words)


def contexts(wl: Watchlist, item: dict) -> dict[str, frozenset[int]]:
    """Each matched topic's window features, from the evidence of `wl.tag` (its hits in
    reading order, title first)."""
    fields = {"title": item["title"], "text": item["text"]}
    matches = wl.tag(item["title"], item["text"], item["language"], item["country"])
    return {
        m.topic: window_ids(((e.field, e.start, e.end) for e in m.evidence), fields)
        for m in matches
    }


CONTEXT_L2 = 0.3  # the dual fit's penalty (0.01 to 3 tried: bench/README.md, Tagging)
_INNER = 5


def design(ids: list[frozenset[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The examples' unit-length rows over the buckets they use, and those buckets."""
    used = np.array(sorted(set().union(*ids)), dtype=np.int64)
    column = {int(b): c for c, b in enumerate(used)}
    x = np.zeros((len(ids), len(used)), dtype=np.float32)
    for r, row in enumerate(ids):
        if row:
            x[r, [column[b] for b in row]] = 1.0 / np.sqrt(len(row))
    return x, used


def gram(ids: list[frozenset[int]]) -> np.ndarray:
    x, _ = design(ids)
    return (x @ x.T).astype(np.float64)


def fit_dual(k: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Newton's method for the dual logistic regression: f = K a + b, penalty l2/2 a'Ka."""
    n = len(y)
    a, b = np.zeros(n), 0.0
    for _ in range(50):
        f = k @ a + b
        p = 1 / (1 + np.exp(-f))
        r = p - y + l2 * a  # the gradient in a is K r
        wgt = p * (1 - p)
        # Newton's system, divided through by K on the a rows: (W K + l2 I) da + W db = r
        top = np.hstack([wgt[:, None] * k + l2 * np.eye(n), wgt[:, None]])
        bottom = np.r_[wgt @ k, wgt.sum() + 1e-9]
        step = np.linalg.solve(np.vstack([top, bottom]), np.r_[r, (p - y).sum()])
        a, b = a - step[:n], b - step[n]
        if np.abs(step).max() < 1e-7:
            break
    return a, b


def scores(k_rows: np.ndarray, a: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(k_rows @ a + b, -30, 30)))


def _inner_folds(units: list[str]) -> np.ndarray:
    return np.array(
        [int(hashlib.sha256(f"inner:{u}".encode()).hexdigest(), 16) % _INNER for u in units]
    )


def stacked_column(
    k: np.ndarray,
    y: np.ndarray,
    units: list[str],
    fitting: np.ndarray,
    held: np.ndarray,
    l2: float = CONTEXT_L2,
) -> np.ndarray:
    """The context score of every row: the `fitting` rows' out of inner folds of whole units,
    the `held` rows' from the model fitted on all `fitting` rows (others left 0.5)."""
    column = np.full(len(y), 0.5)
    idx = np.flatnonzero(fitting)
    inner = _inner_folds([units[i] for i in idx])
    for j in range(_INNER):
        fit_i, out_i = idx[inner != j], idx[inner == j]
        if len(out_i) and len(set(y[fit_i])) == 2:
            a, b = fit_dual(k[np.ix_(fit_i, fit_i)], y[fit_i], l2)
            column[out_i] = scores(k[np.ix_(out_i, fit_i)], a, b)
    hidx = np.flatnonzero(held)
    if len(hidx):
        a, b = fit_dual(k[np.ix_(idx, idx)], y[idx], l2)
        column[hidx] = scores(k[np.ix_(hidx, idx)], a, b)
    return column
