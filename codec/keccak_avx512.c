/*
 * keccak_avx512.c - keccak-256 of 8 independent inputs per pass, one input per 64-bit lane
 * of a zmm register: the state is 25 zmm, word w of input i in lane i of s[w].
 *
 * Only AVX-512F is used (vprolq for rho, vpternlogq for theta's 5-way xor and for chi,
 * masked loads), because keccak.c selects this kernel on the avx512f flag alone.
 *
 * Loading, measured on Zen 5 (bench/bench_keccak.c and a streaming variant of it):
 * transposing 8 x 64-byte rows beats one gather per word by 7 % on data in cache and by
 * 2.4x on Merkle leaves streamed from memory; and plain loads stream twice as fast as the
 * same loads masked, so masked loads are kept for rows that would end past the batch.
 */
#include <immintrin.h>
#include <string.h>

#include "codec/keccak.h"
#include "codec/keccak_i.h"

#define LANES	   8
#define RATE_WORDS (CODEC_KECCAK_RATE / 8)

#define XOR3(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0x96)
/* chi: a ^ (~b & c) in one instruction. */
#define CHI(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0xd2)
#define ROL(v, n)    _mm512_rol_epi64((v), (n))
#define XOR(a, b)    _mm512_xor_si512((a), (b))

/*
 * One round on the 25 lanes a<x + 5y>, in place. theta's d is applied and rho's rotation
 * done as each lane is read into b, in pi's order, so that b00..b04 is output plane 0 and
 * chi works on five consecutive b's. GCC keeps the 25 lanes, 5 d's and the b's of a plane
 * in the 32 zmm registers with a few spills per round; unrolling by 2 was the best of
 * 1, 2, 4 and 24 (24 pushes the kernel out of the op cache), and the 3-way xor variant of
 * theta (a ^ c[x-1] ^ rol(c[x+1], 1) in one vpternlogq) was slower.
 */
#define THETA_RHO(x, d, r) ROL(XOR((x), (d)), (r))

#define ROUND(rc)                                                                                  \
	do {                                                                                       \
		__m512i c0 = XOR3(XOR3(a00, a05, a10), a15, a20);                                  \
		__m512i c1 = XOR3(XOR3(a01, a06, a11), a16, a21);                                  \
		__m512i c2 = XOR3(XOR3(a02, a07, a12), a17, a22);                                  \
		__m512i c3 = XOR3(XOR3(a03, a08, a13), a18, a23);                                  \
		__m512i c4 = XOR3(XOR3(a04, a09, a14), a19, a24);                                  \
		__m512i d0 = XOR(c4, ROL(c1, 1));                                                  \
		__m512i d1 = XOR(c0, ROL(c2, 1));                                                  \
		__m512i d2 = XOR(c1, ROL(c3, 1));                                                  \
		__m512i d3 = XOR(c2, ROL(c4, 1));                                                  \
		__m512i d4 = XOR(c3, ROL(c0, 1));                                                  \
		__m512i b00 = XOR(a00, d0);                                                        \
		__m512i b01 = THETA_RHO(a06, d1, 44);                                              \
		__m512i b02 = THETA_RHO(a12, d2, 43);                                              \
		__m512i b03 = THETA_RHO(a18, d3, 21);                                              \
		__m512i b04 = THETA_RHO(a24, d4, 14);                                              \
		__m512i b05 = THETA_RHO(a03, d3, 28);                                              \
		__m512i b06 = THETA_RHO(a09, d4, 20);                                              \
		__m512i b07 = THETA_RHO(a10, d0, 3);                                               \
		__m512i b08 = THETA_RHO(a16, d1, 45);                                              \
		__m512i b09 = THETA_RHO(a22, d2, 61);                                              \
		__m512i b10 = THETA_RHO(a01, d1, 1);                                               \
		__m512i b11 = THETA_RHO(a07, d2, 6);                                               \
		__m512i b12 = THETA_RHO(a13, d3, 25);                                              \
		__m512i b13 = THETA_RHO(a19, d4, 8);                                               \
		__m512i b14 = THETA_RHO(a20, d0, 18);                                              \
		__m512i b15 = THETA_RHO(a04, d4, 27);                                              \
		__m512i b16 = THETA_RHO(a05, d0, 36);                                              \
		__m512i b17 = THETA_RHO(a11, d1, 10);                                              \
		__m512i b18 = THETA_RHO(a17, d2, 15);                                              \
		__m512i b19 = THETA_RHO(a23, d3, 56);                                              \
		__m512i b20 = THETA_RHO(a02, d2, 62);                                              \
		__m512i b21 = THETA_RHO(a08, d3, 55);                                              \
		__m512i b22 = THETA_RHO(a14, d4, 39);                                              \
		__m512i b23 = THETA_RHO(a15, d0, 41);                                              \
		__m512i b24 = THETA_RHO(a21, d1, 2);                                               \
		a00 = XOR(CHI(b00, b01, b02), _mm512_set1_epi64((long long)(rc)));                 \
		a01 = CHI(b01, b02, b03);                                                          \
		a02 = CHI(b02, b03, b04);                                                          \
		a03 = CHI(b03, b04, b00);                                                          \
		a04 = CHI(b04, b00, b01);                                                          \
		a05 = CHI(b05, b06, b07);                                                          \
		a06 = CHI(b06, b07, b08);                                                          \
		a07 = CHI(b07, b08, b09);                                                          \
		a08 = CHI(b08, b09, b05);                                                          \
		a09 = CHI(b09, b05, b06);                                                          \
		a10 = CHI(b10, b11, b12);                                                          \
		a11 = CHI(b11, b12, b13);                                                          \
		a12 = CHI(b12, b13, b14);                                                          \
		a13 = CHI(b13, b14, b10);                                                          \
		a14 = CHI(b14, b10, b11);                                                          \
		a15 = CHI(b15, b16, b17);                                                          \
		a16 = CHI(b16, b17, b18);                                                          \
		a17 = CHI(b17, b18, b19);                                                          \
		a18 = CHI(b18, b19, b15);                                                          \
		a19 = CHI(b19, b15, b16);                                                          \
		a20 = CHI(b20, b21, b22);                                                          \
		a21 = CHI(b21, b22, b23);                                                          \
		a22 = CHI(b22, b23, b24);                                                          \
		a23 = CHI(b23, b24, b20);                                                          \
		a24 = CHI(b24, b20, b21);                                                          \
	} while (0)

/* The state lives in memory between permutations, where absorbing can index it. */
static inline __attribute__((always_inline)) void permute(__m512i s[25])
{
	__m512i a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4];
	__m512i a05 = s[5], a06 = s[6], a07 = s[7], a08 = s[8], a09 = s[9];
	__m512i a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14];
	__m512i a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19];
	__m512i a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];

	for (int r = 0; r < 24; r += 2) {
		ROUND(codec_keccak_rc[r]);
		ROUND(codec_keccak_rc[r + 1]);
	}
	s[0] = a00, s[1] = a01, s[2] = a02, s[3] = a03, s[4] = a04;
	s[5] = a05, s[6] = a06, s[7] = a07, s[8] = a08, s[9] = a09;
	s[10] = a10, s[11] = a11, s[12] = a12, s[13] = a13, s[14] = a14;
	s[15] = a15, s[16] = a16, s[17] = a17, s[18] = a18, s[19] = a19;
	s[20] = a20, s[21] = a21, s[22] = a22, s[23] = a23, s[24] = a24;
}

/* The inputs of one pass: lane i reads base + i * stride when bit i of live is set. */
struct pass {
	const uint8_t *base;
	size_t stride;
	const uint8_t *end; /* end of the batch's last input: nothing at or past it is read */
	__mmask8 live;
};

/*
 * Transpose 8 rows of 8 words (row i = 64 bytes of input i) into 8 columns (column j =
 * word j of every input). unpack pairs words, then two rounds of 128-bit shuffles.
 */
static inline __attribute__((always_inline)) void transpose8(__m512i r[8])
{
	__m512i t0 = _mm512_unpacklo_epi64(r[0], r[1]);
	__m512i t1 = _mm512_unpackhi_epi64(r[0], r[1]);
	__m512i t2 = _mm512_unpacklo_epi64(r[2], r[3]);
	__m512i t3 = _mm512_unpackhi_epi64(r[2], r[3]);
	__m512i t4 = _mm512_unpacklo_epi64(r[4], r[5]);
	__m512i t5 = _mm512_unpackhi_epi64(r[4], r[5]);
	__m512i t6 = _mm512_unpacklo_epi64(r[6], r[7]);
	__m512i t7 = _mm512_unpackhi_epi64(r[6], r[7]);
	/* 0x88 takes 128-bit blocks 0 and 2 of each source, 0xdd blocks 1 and 3 */
	__m512i u0 = _mm512_shuffle_i64x2(t0, t2, 0x88);
	__m512i u1 = _mm512_shuffle_i64x2(t1, t3, 0x88);
	__m512i u2 = _mm512_shuffle_i64x2(t0, t2, 0xdd);
	__m512i u3 = _mm512_shuffle_i64x2(t1, t3, 0xdd);
	__m512i u4 = _mm512_shuffle_i64x2(t4, t6, 0x88);
	__m512i u5 = _mm512_shuffle_i64x2(t5, t7, 0x88);
	__m512i u6 = _mm512_shuffle_i64x2(t4, t6, 0xdd);
	__m512i u7 = _mm512_shuffle_i64x2(t5, t7, 0xdd);

	r[0] = _mm512_shuffle_i64x2(u0, u4, 0x88);
	r[1] = _mm512_shuffle_i64x2(u1, u5, 0x88);
	r[2] = _mm512_shuffle_i64x2(u2, u6, 0x88);
	r[3] = _mm512_shuffle_i64x2(u3, u7, 0x88);
	r[4] = _mm512_shuffle_i64x2(u0, u4, 0xdd);
	r[5] = _mm512_shuffle_i64x2(u1, u5, 0xdd);
	r[6] = _mm512_shuffle_i64x2(u2, u6, 0xdd);
	r[7] = _mm512_shuffle_i64x2(u3, u7, 0xdd);
}

/*
 * Words 8g .. 8g + 7 of every live input, as columns; only the first nw (1..8) of them are
 * used. A row is loaded whole when its 64 bytes lie before p->end (its tail then holds the
 * next input's bytes, which go to columns nobody uses), masked to its nw words otherwise.
 */
static void load_group(const struct pass *p, size_t g, unsigned nw, __m512i col[8])
{
	const uint8_t *at = p->base + 64 * g;
	__mmask8 m = (__mmask8)((1u << nw) - 1);

	for (unsigned i = 0; i < LANES; i++) {
		const uint8_t *row = at + i * p->stride;

		if (!(p->live >> i & 1))
			col[i] = _mm512_setzero_si512();
		else if ((size_t)(p->end - row) >= 64)
			col[i] = _mm512_loadu_si512(row);
		else
			col[i] = _mm512_maskz_loadu_epi64(m, row);
	}
	transpose8(col);
}

/*
 * Hash up to 8 inputs, lane i for bit i of p->live.
 *
 * The input is read as a stream of 64-byte groups, each transposed once, whatever the
 * block boundaries: a 256-byte leaf is 4 transposes of plain loads and no gather, a block
 * taking words 17b .. 17b + 16 from the groups that hold them. The last len % 8 bytes are
 * copied per lane. Nothing at or past p->end is read: the bytes before it belong to the
 * caller's one array of inputs (base + i * stride must be valid for every i < n).
 */
static void hash_pass(const struct pass *p, size_t len, uint8_t (*out)[32])
{
	size_t words = len / 8, nblocks = len / CODEC_KECCAK_RATE, w = 0, have = SIZE_MAX;
	unsigned tail = (unsigned)(len % 8);
	__m512i s[25], col[8];

	for (int i = 0; i < 25; i++)
		s[i] = _mm512_setzero_si512();
	for (size_t b = 0; b <= nblocks; b++) {
		size_t end = b < nblocks ? w + RATE_WORDS : words;
		unsigned j = 0;

		for (; w < end; w++, j++) {
			if (w / 8 != have) {
				have = w / 8;
				load_group(p, have, words - 8 * have < 8 ? words - 8 * have : 8,
					   col);
			}
			s[j] = _mm512_xor_si512(s[j], col[w % 8]);
		}
		if (b == nblocks) {
			/* the final block: the partial word, then the padding */
			if (tail) {
				uint64_t t[LANES] = {0};

				for (unsigned i = 0; i < LANES; i++)
					if (p->live >> i & 1)
						memcpy(&t[i], p->base + i * p->stride + 8 * words,
						       tail);
				s[j] = _mm512_xor_si512(s[j], _mm512_loadu_si512(t));
			}
			s[j] = _mm512_xor_si512(s[j],
						_mm512_set1_epi64((long long)(1ULL << (8 * tail))));
			s[RATE_WORDS - 1] = _mm512_xor_si512(
			    s[RATE_WORDS - 1], _mm512_set1_epi64((long long)(0x80ULL << 56)));
		}
		permute(s);
	}

	/*
	 * Digest i is word 0..3 of lane i: transpose the 4 x 8 words into 4 registers of two
	 * digests each. Stored as 32-byte halves, which also serves partial passes.
	 */
	__m512i t0 = _mm512_unpacklo_epi64(s[0], s[1]); /* lanes 0 2 4 6: w0 w1 */
	__m512i t1 = _mm512_unpackhi_epi64(s[0], s[1]); /* lanes 1 3 5 7: w0 w1 */
	__m512i t2 = _mm512_unpacklo_epi64(s[2], s[3]); /* lanes 0 2 4 6: w2 w3 */
	__m512i t3 = _mm512_unpackhi_epi64(s[2], s[3]); /* lanes 1 3 5 7: w2 w3 */
	/* 128-bit blocks: lane 0 w0w1, lane 2 w0w1, lane 0 w2w3, lane 2 w2w3 */
	__m512i p0 = _mm512_shuffle_i64x2(t0, t2, 0x44);
	__m512i q0 = _mm512_shuffle_i64x2(t1, t3, 0x44);
	__m512i p1 = _mm512_shuffle_i64x2(t0, t2, 0xee);
	__m512i q1 = _mm512_shuffle_i64x2(t1, t3, 0xee);
	__m512i o[4] = {
	    _mm512_shuffle_i64x2(p0, q0, 0x88), /* digests 0, 1 */
	    _mm512_shuffle_i64x2(p0, q0, 0xdd), /* digests 2, 3 */
	    _mm512_shuffle_i64x2(p1, q1, 0x88), /* digests 4, 5 */
	    _mm512_shuffle_i64x2(p1, q1, 0xdd), /* digests 6, 7 */
	};

	for (unsigned k = 0; k < 4; k++) {
		if (p->live >> (2 * k) & 1)
			_mm256_storeu_si256((__m256i *)out[2 * k], _mm512_castsi512_si256(o[k]));
		if (p->live >> (2 * k + 1) & 1)
			_mm256_storeu_si256((__m256i *)out[2 * k + 1],
					    _mm512_extracti64x4_epi64(o[k], 1));
	}
}

void codec_keccak_batch_avx512(const uint8_t *base, size_t stride, size_t len, size_t n,
			       uint8_t (*out)[32])
{
	struct pass p = {.stride = stride, .live = 0xff};
	size_t i = 0;

	if (!n)
		return;
	p.end = base + (n - 1) * stride + len;
	for (; n - i >= LANES; i += LANES) {
		p.base = base + i * stride;
		hash_pass(&p, len, out + i);
	}
	/* The remainder runs as one partly filled pass: a full 8-lane permutation costs less
	 * than two scalar ones. */
	if (i < n) {
		p.base = base + i * stride;
		p.live = (__mmask8)((1u << (n - i)) - 1);
		hash_pass(&p, len, out + i);
	}
}
