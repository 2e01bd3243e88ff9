"""Cross-validate the whole tagger on the development set's TRAIN split, and list its errors.

    .venv/bin/python bench/tagging_cv.py [--l2 3.0] [--repeats 8] [--errors] [--language ru]

What `bench/fit_tagger.py` does once on the whole train split, done here fold by fold: the
train items are dealt into 5 folds of whole units (an outlet; under the secondary `--split-rule
time-for-lone-outlets`, the lone Persian outlet by calendar month), the model is fitted on four
folds (its `about` threshold the best F1 on them) and tags the fifth, with the frame rule and
the digest cap of `Watchlist._analyse`. Every train item thus gets an out-of-fold prediction
from a model that never saw its outlet. Repeated over `--repeats` dealings; prints the
item-level macro F1 over the four topics (the number `bench/tagging.py` reports on test)
overall and per language, and the hard negatives tagged `about`, each as the mean over the
dealings; with `--errors`, the items wrong in at least half of the dealings, with the features
that decided. This is the score a method change is kept or dropped on; the test split is never
read.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from fit_context import CONTEXT_L2, gram, stacked_column  # noqa: E402
from fit_context import contexts as window_contexts  # noqa: E402
from fit_tagger import _folds, _held_out, unit  # noqa: E402
from tagging import SIX, TOPICS, add_split_rule, language, load_devset, macro_f1  # noqa: E402

from extractors.topics import FEATURES, Watchlist, parse_watchlist  # noqa: E402
from extractors.topics.frames import frames_path  # noqa: E402


def _language_terms(item: dict, p: dict[str, float], feature: str | None) -> list[float]:
    ru, uk = float(item["language"] == "ru"), float(item["language"] == "uk")
    return [ru, uk] + ([ru * p[feature], uk * p[feature]] if feature else [])


# Extra columns tried in session 11 and not kept (bench/README.md, Tagging): per-language
# terms (a bias for ru and uk, the two train languages with several outlets and many
# examples, alone or with that language times one feature), per-topic biases (Ukraine's
# alone, or Ukraine's, Iran's and Taiwan's), and a topic named in the headline only (none
# in a non-empty text). Each gets the item, the topic and its features.
EXTRAS: dict[str, Callable[[dict, str, dict[str, float]], list[float]]] = {
    "language-bias": lambda i, t, p: _language_terms(i, p, None),
    "language-title": lambda i, t, p: _language_terms(i, p, "title"),
    "language-home": lambda i, t, p: _language_terms(i, p, "home"),
    "topic-ukraine": lambda i, t, p: [float(t == "ukraine")],
    "topic-all": lambda i, t, p: [float(t == x) for x in ("ukraine", "iran", "taiwan")],
    "title-only": lambda i, t, p: [
        float(p["title"] == 1 and p["text_matches"] == 0 and p["textless"] == 0)
    ],
}
SHOWN = ("title", "lead", "count", "share", "prominence", "top", "framed", "hard_near", "home")


def watchlist(path: Path) -> Watchlist:
    frames = frames_path(path)
    return parse_watchlist(
        path.read_text(encoding="utf-8"),
        str(path),
        (frames.read_text(encoding="utf-8"), str(frames)) if frames.is_file() else None,
    )


def explained(wl: Watchlist, items: list[dict]) -> list[dict[str, dict[str, float]]]:
    return [wl.explain(i["title"], i["text"], i["language"], i["country"]) for i in items]


def out_of_fold(
    items: list[dict],
    parts: list[dict[str, dict[str, float]]],
    l2: float,
    repeat: int,
    contexts: list[dict[str, frozenset[int]]] | None = None,
    extra: str | None = None,
    context_l2: float = CONTEXT_L2,
) -> list[set[str]]:
    """Each item's `about` topics from the model fitted on the folds without its unit; with
    `contexts`, the context score is stacked inside each fold (bench/fit_context.py)."""
    rows = [(k, t, p) for k, by_topic in enumerate(parts) for t, p in by_topic.items()]
    x = np.array([[p[f] for f in FEATURES] for _, _, p in rows]).reshape(len(rows), -1)
    if extra:
        x = np.hstack([x, np.array([EXTRAS[extra](items[k], t, p) for k, t, p in rows])])
    y = np.array([float(t in items[k]["about"]) for k, t, _ in rows])
    units = [unit(items[k]) for k, _, _ in rows]
    fold = _folds(units, repeat)
    column = None
    if contexts is not None:
        k_all = gram([contexts[k][t] for k, t, _ in rows])
        x = np.hstack([x, np.full((len(rows), 1), 0.5)])

        def column(train: np.ndarray, held: np.ndarray) -> np.ndarray:
            return stacked_column(k_all, y, units, train, held, context_l2)

    about = _held_out(x, y, fold, l2, column)
    predicted: list[set[str]] = [set() for _ in items]
    for (k, topic, p), yes in zip(rows, about, strict=True):
        if yes and not p["in_frame"] and not p["digest"]:
            predicted[k].add(topic)
    return predicted


def hard_about(items: list[dict], predicted: list[set[str]]) -> float:
    hard = [(i, p) for i, p in zip(items, predicted, strict=True) if i["hard"]]
    return sum(bool(set(i["mentions"]) & p) for i, p in hard) / max(len(hard), 1)


def report(items: list[dict], runs: list[list[set[str]]]) -> dict[str, float]:
    """The mean over dealings of macro F1 (overall, per language) and hard negatives about."""
    result = {"all": float(np.mean([macro_f1(items, r, TOPICS) for r in runs]))}
    for name in (*SIX, "other"):
        pick = [k for k, i in enumerate(items) if language(i) == name]
        sub = [items[k] for k in pick]
        if any(i["about"] for i in sub):
            result[name] = float(
                np.mean([macro_f1(sub, [r[k] for k in pick], TOPICS) for r in runs])
            )
    result["hard"] = float(np.mean([hard_about(items, r) for r in runs]))
    return result


def print_errors(
    items: list[dict],
    parts: list[dict[str, dict[str, float]]],
    runs: list[list[set[str]]],
    only: str | None,
) -> None:
    kinds: Counter[str] = Counter()
    for k, item in enumerate(items):
        if only and language(item) != only:
            continue
        truth = set(item["about"])
        wrong = Counter(t for r in runs for t in r[k] ^ truth)
        for topic, n in sorted(wrong.items()):
            if n * 2 < len(runs):
                continue
            sign = "-" if topic in truth else "+"
            kinds[f"{language(item)} {sign}{topic}"] += 1
            p = parts[k].get(topic, {})
            feats = " ".join(f"{f}={p[f]:.2f}" for f in SHOWN if p) if p else "not matched"
            cap = " FRAME" if p.get("in_frame") else (" DIGEST" if p.get("digest") else "")
            print(f"{sign}{topic:<9} {item['id']:<40} {item['title'][:60]!r}")
            print(f"           {feats}{cap} | {item['note'][:100]}")
    print("\nerrors by language and kind:", dict(kinds.most_common()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchlist", type=Path, default=REPO / "seeds" / "watchlist.yaml")
    parser.add_argument("--l2", type=float, default=3.0, help="the committed fit's")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--language", help="errors of this language only")
    parser.add_argument("--context", type=float, help="stack the context model (its l2)")
    parser.add_argument("--extra", choices=sorted(EXTRAS), help="one more set of columns")
    add_split_rule(parser)
    args = parser.parse_args()
    items = [i for i in load_devset(rule=args.split_rule) if i["split"] == "train"]
    wl = watchlist(args.watchlist)
    parts = explained(wl, items)
    contexts = None
    if args.context is not None:
        contexts = [window_contexts(wl, i) for i in items]
    runs = [
        out_of_fold(items, parts, args.l2, r, contexts, args.extra, args.context or CONTEXT_L2)
        for r in range(args.repeats)
    ]
    if args.errors:
        print_errors(items, parts, runs, args.language)
    result = report(items, runs)
    counts = Counter(map(language, items))
    print(
        f"train split ({args.split_rule}), {len(items)} items, out-of-fold over "
        f"{args.repeats} dealings, l2 {args.l2}"
    )
    print(
        "  "
        + "  ".join(
            f"{k} {v:.3f}" + (f" ({counts[k]})" if k in counts else "") for k, v in result.items()
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
