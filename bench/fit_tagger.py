"""Fit the tagger's weights on the development set's TRAIN split; write them beside the watchlist.

    .venv/bin/python bench/fit_tagger.py [--watchlist seeds/watchlist.yaml] [--l2 L2] [--dry-run]

How it is fitted: every (item, topic) pair where the watchlist finds the topic at all is one
example; its features are `extractors.topics.FEATURES` as `Watchlist.explain` computes them
(with the item's outlet country as `source_country`), its label whether people labelled the
item `about` the topic. A logistic regression with an L2 penalty (on the weights, not the
bias) is fitted by Newton's method (iteratively reweighted least squares) in numpy until the
step is below 1e-8, with the signs the design fixes held (`SIGNS`: a demonym alone is not
stronger evidence than the name). The penalty is `--l2`, or the one of 0.1, 0.3, 1, 3, 10
with the best mean F1 over 8 5-fold cross-validations on the train split, folds made of
whole outlets (each repeat deals the outlets into folds differently; under the secondary
`--split-rule time-for-lone-outlets`, the lone Persian outlet by calendar month). The `about`
threshold is then the probability, from 0.20 to 0.80 in steps of 0.01, that gives the best
mean F1 of `about` over the out-of-fold probabilities of those dealings
(`held_out_threshold`). Items of the test split are never seen: the split is by outlet
(tests/data/topics/build_devset.py; by default the Persian outlet is wholly in test).

Writes `<watchlist stem>.weights.yaml` (seeds/watchlist.weights.yaml), which `load_watchlist`
reads, and prints the train and test F1 of `about` over the examples.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# harness.py from bench/; the repository first, so `events` is the package, not bench/events.py
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from tagging import add_split_rule, load_devset  # noqa: E402

from extractors.topics import FEATURES, Watchlist, parse_watchlist  # noqa: E402
from extractors.topics.frames import frames_path, weights_path  # noqa: E402


def unit(item: dict) -> str:
    """The unit dealt into cross-validation folds: the outlet, as the split is by outlet; the
    lone Persian outlet (in train only under the secondary time split) by calendar month."""
    if item["source"] == "persian_instagram":
        return f"{item['outlet']}@{item['published'][:7]}"
    return str(item["outlet"])


def examples(wl: Watchlist, items: list[dict]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (one row per item and matched topic), labels (1 = about), fold units."""
    rows, labels, outlets = [], [], []
    for item in items:
        explained = wl.explain(item["title"], item["text"], item["language"], item["country"])
        for topic, parts in explained.items():
            rows.append([parts[f] for f in FEATURES])
            labels.append(1.0 if topic in item["about"] else 0.0)
            outlets.append(unit(item))
    return np.array(rows), np.array(labels), outlets


def cross_validated_l2(x: np.ndarray, y: np.ndarray, outlets: list[str]) -> float:
    """The L2 penalty with the best mean F1 over `REPEATS` 5-fold cross-validations of the
    train split, by outlet (a fold holds whole outlets, as the split does; each repeat deals
    the outlets into folds by a differently salted hash), each fold's threshold chosen on the
    others. One dealing alone is noisy: a few large outlets (Telegram channels) make a fold,
    and its F1 moved by 0.06 when five examples changed; the mean over dealings does not."""
    scores = {}
    for l2 in L2_GRID:
        runs = [f1(y, _held_out(x, y, _folds(outlets, r), l2)) for r in range(REPEATS)]
        scores[l2] = float(np.mean(runs))
        print(f"  l2 {l2:<5} cross-validated F1 {scores[l2]:.3f} (mean of {REPEATS})")
    return max(L2_GRID, key=lambda l2: (round(scores[l2], 3), l2))


def _folds(outlets: list[str], repeat: int) -> np.ndarray:
    salt = f"{repeat}:" if repeat else ""  # the first dealing is the one used before repeats
    return np.array(
        [int(hashlib.sha256(f"{salt}{o}".encode()).hexdigest(), 16) % 5 for o in outlets]
    )


Column = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _with(x: np.ndarray, column: Column | None, train: np.ndarray, held: np.ndarray) -> np.ndarray:
    """`x` with its last column (the context score) remade for this split of the rows: the
    `train` rows' out of fold, the `held` rows' from a model of the `train` rows only."""
    if column is None:
        return x
    out = x.copy()
    out[:, -1] = column(train, held)
    return out


def _held_out(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, l2: float, column: Column | None = None
) -> np.ndarray:
    """Each example's prediction by the model fitted on the other folds (with `column`, the
    context score stacked inside each fold: see bench/fit_context.py)."""
    predicted = np.zeros(len(y), dtype=bool)
    for k in range(5):
        train, held = fold != k, fold == k
        x = _with(x, column, train, held)
        w = fit(x[train], y[train], l2)
        threshold = best_threshold(y[train], probabilities(w, x[train]))
        predicted[held] = probabilities(w, x[held]) >= threshold
    return predicted


L2_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
REPEATS = 8  # dealings of the outlets into folds, averaged


# Weights whose sign the design fixes: a demonym alone ("Ukrainian", weak_only) is weaker
# evidence than the name, never stronger. Unconstrained, the train split's UA-GEC essays pull
# weak_only above zero (+1.45 at l2 0.3), and "Ukrainian playgroup opens in Melbourne" came out
# `about` Ukraine while "Ukraine playgroup ..." did not. The constraint left the cross-validated
# train F1 where it was (0.912 either way, outlet-grouped, item-level macro F1).
SIGNS = {"weak_only": -1}


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """`_fit` with the `SIGNS` held: a weight of the wrong sign is fixed at 0 and the rest
    refitted without its feature, until none is of the wrong sign. Column 0 is the bias."""
    sign = np.array([SIGNS.get(f, 0) for f in FEATURES] + [0] * (x.shape[1] - len(FEATURES)))
    free = np.ones(x.shape[1], dtype=bool)
    while True:
        w = np.zeros(x.shape[1] + 1)
        w[np.r_[True, free]] = _fit(x[:, free], y, l2)
        wrong = free & (sign * w[1:] < 0)
        if not wrong.any():
            return w
        free &= ~wrong


def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Newton's method (IRLS) for L2-penalised logistic regression; column 0 is the bias."""
    x1 = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x1.shape[1])
    penalty = np.full(x1.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x1 @ w)))
        gradient = x1.T @ (p - y) + penalty * w
        hessian = (x1.T * (p * (1 - p))) @ x1 + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def probabilities(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(w[0] + x @ w[1:])))


def f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float((predicted & (y == 1)).sum())
    fp, fn = float((predicted & (y == 0)).sum()), float((~predicted & (y == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


THRESHOLDS = np.round(np.arange(0.20, 0.801, 0.01), 2)


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    return float(max(THRESHOLDS, key=lambda t: (f1(y, p >= t), -abs(t - 0.5))))


def held_out_threshold(x: np.ndarray, y: np.ndarray, outlets: list[str], l2: float) -> float:
    """The `about` threshold with the best mean F1 over the out-of-fold probabilities of the
    `REPEATS` outlet-grouped dealings: what the model gives outlets it was not fitted on. The
    in-sample probabilities are too sure of themselves and put it lower (0.31 where held-out
    F1 is 0.835, against 0.847 at 0.38)."""
    runs = []
    for r in range(REPEATS):
        fold, p = _folds(outlets, r), np.zeros(len(y))
        for k in range(5):
            train, held = fold != k, fold == k
            p[held] = probabilities(fit(x[train], y[train], l2), x[held])
        runs.append(p)
    mean_f1 = {t: float(np.mean([f1(y, p >= t) for p in runs])) for t in THRESHOLDS}
    return float(max(THRESHOLDS, key=lambda t: (round(mean_f1[t], 3), -abs(t - 0.5))))


def weights_yaml(w: np.ndarray, threshold: float, l2: float, n: int) -> str:
    lines = [
        "# Fitted by bench/fit_tagger.py (logistic regression, L2, Newton/IRLS) on the train",
        f"# split of the development set: {n} (item, topic) examples, l2 = {l2}. Do not edit by",
        "# hand: rerun the script after changing the watchlist, frames.yaml or the labels.",
        "# A matched topic's score is sigmoid(bias + sum(weight * feature)); `about` from the",
        "# threshold up. Features: see extractors/topics/score.py (`_features`).",
        f"bias: {w[0]:.4f}",
        f"threshold: {threshold:.2f}",
        "weights:",
        *(f"  {name}: {value:.4f}" for name, value in zip(FEATURES, w[1:], strict=True)),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchlist", type=Path, default=REPO / "seeds" / "watchlist.yaml")
    parser.add_argument("--l2", type=float, help="default: chosen by cross-validation")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    add_split_rule(parser)
    parser.add_argument("--out", type=Path, help="default: <watchlist stem>.weights.yaml")
    args = parser.parse_args()
    # The features do not depend on the weights: read the watchlist and frames only, so a
    # stale weights file (a feature added since) is no obstacle to refitting it.
    frames = frames_path(args.watchlist)
    wl = parse_watchlist(
        args.watchlist.read_text(encoding="utf-8"),
        str(args.watchlist),
        (frames.read_text(encoding="utf-8"), str(frames)) if frames.is_file() else None,
    )
    items = load_devset(rule=args.split_rule)
    train = [i for i in items if i["split"] == "train"]
    test = [i for i in items if i["split"] == "test"]
    x, y, outlets = examples(wl, train)
    l2 = args.l2 if args.l2 is not None else cross_validated_l2(x, y, outlets)
    w = fit(x, y, l2)
    threshold = held_out_threshold(x, y, outlets, l2)
    xt, yt, _ = examples(wl, test)
    print(f"train: {len(train)} items, {len(y)} examples ({int(y.sum())} about)")
    print(f"test:  {len(test)} items, {len(yt)} examples ({int(yt.sum())} about)")
    print(f"l2 {l2}  bias {w[0]:+.3f}  threshold {threshold:.2f}")
    for name, value in zip(FEATURES, w[1:], strict=True):
        print(f"  {name:<11} {value:+.3f}")
    for split, (xs, ys) in {"train": (x, y), "test": (xt, yt)}.items():
        print(f"F1 of about over {split} examples: {f1(ys, probabilities(w, xs) >= threshold):.3f}")
    text = weights_yaml(w, threshold, l2, len(y))
    if args.dry_run:
        print(text)
    else:
        out = args.out or weights_path(args.watchlist)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
