/*
 * keccak_avx2.c - keccak-256 of 4 independent inputs per pass, one input per 64-bit lane
 * of a ymm register: the state is 25 ymm, word w of input i in lane i of s[w].
 *
 * The same layout and loading as keccak_avx512.c, for CPUs without AVX-512. AVX2 has no
 * rotate and no 3-input logic: a rotation is two shifts and an or (a byte shuffle for the
 * rotations by 8 and 56), chi is an andnot and an xor, and the 25 lanes do not fit the 16
 * ymm registers, so the compiler spills part of the state every round.
 */
#include <immintrin.h>
#include <string.h>

#include "codec/keccak.h"
#include "codec/keccak_i.h"

#define LANES	   4
#define RATE_WORDS (CODEC_KECCAK_RATE / 8)

#define XOR(a, b) _mm256_xor_si256((a), (b))
/* chi: a ^ (~b & c) */
#define CHI(a, b, c) XOR((a), _mm256_andnot_si256((b), (c)))
#define ROL(v, n)    _mm256_or_si256(_mm256_slli_epi64((v), (n)), _mm256_srli_epi64((v), 64 - (n)))

/* Rotations by whole bytes are one shuffle instead of three instructions. */
#define ROL8(v)                                                                                    \
	_mm256_shuffle_epi8((v), _mm256_setr_epi8(7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12,    \
						  13, 14, 7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10,    \
						  11, 12, 13, 14))
#define ROL56(v)                                                                                   \
	_mm256_shuffle_epi8((v), _mm256_setr_epi8(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14,   \
						  15, 8, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12,    \
						  13, 14, 15, 8))

#define THETA_RHO(x, d, r) ROL(XOR((x), (d)), (r))

/* One round, the same arrangement as in keccak_avx512.c. */
#define ROUND(rc)                                                                                  \
	do {                                                                                       \
		__m256i c0 = XOR(XOR(XOR(a00, a05), XOR(a10, a15)), a20);                          \
		__m256i c1 = XOR(XOR(XOR(a01, a06), XOR(a11, a16)), a21);                          \
		__m256i c2 = XOR(XOR(XOR(a02, a07), XOR(a12, a17)), a22);                          \
		__m256i c3 = XOR(XOR(XOR(a03, a08), XOR(a13, a18)), a23);                          \
		__m256i c4 = XOR(XOR(XOR(a04, a09), XOR(a14, a19)), a24);                          \
		__m256i d0 = XOR(c4, ROL(c1, 1));                                                  \
		__m256i d1 = XOR(c0, ROL(c2, 1));                                                  \
		__m256i d2 = XOR(c1, ROL(c3, 1));                                                  \
		__m256i d3 = XOR(c2, ROL(c4, 1));                                                  \
		__m256i d4 = XOR(c3, ROL(c0, 1));                                                  \
		__m256i b00 = XOR(a00, d0);                                                        \
		__m256i b01 = THETA_RHO(a06, d1, 44);                                              \
		__m256i b02 = THETA_RHO(a12, d2, 43);                                              \
		__m256i b03 = THETA_RHO(a18, d3, 21);                                              \
		__m256i b04 = THETA_RHO(a24, d4, 14);                                              \
		__m256i b05 = THETA_RHO(a03, d3, 28);                                              \
		__m256i b06 = THETA_RHO(a09, d4, 20);                                              \
		__m256i b07 = THETA_RHO(a10, d0, 3);                                               \
		__m256i b08 = THETA_RHO(a16, d1, 45);                                              \
		__m256i b09 = THETA_RHO(a22, d2, 61);                                              \
		__m256i b10 = THETA_RHO(a01, d1, 1);                                               \
		__m256i b11 = THETA_RHO(a07, d2, 6);                                               \
		__m256i b12 = THETA_RHO(a13, d3, 25);                                              \
		__m256i b13 = ROL8(XOR(a19, d4));                                                  \
		__m256i b14 = THETA_RHO(a20, d0, 18);                                              \
		__m256i b15 = THETA_RHO(a04, d4, 27);                                              \
		__m256i b16 = THETA_RHO(a05, d0, 36);                                              \
		__m256i b17 = THETA_RHO(a11, d1, 10);                                              \
		__m256i b18 = THETA_RHO(a17, d2, 15);                                              \
		__m256i b19 = ROL56(XOR(a23, d3));                                                 \
		__m256i b20 = THETA_RHO(a02, d2, 62);                                              \
		__m256i b21 = THETA_RHO(a08, d3, 55);                                              \
		__m256i b22 = THETA_RHO(a14, d4, 39);                                              \
		__m256i b23 = THETA_RHO(a15, d0, 41);                                              \
		__m256i b24 = THETA_RHO(a21, d1, 2);                                               \
		a00 = XOR(CHI(b00, b01, b02), _mm256_set1_epi64x((long long)(rc)));                \
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
static inline __attribute__((always_inline)) void permute(__m256i s[25])
{
	__m256i a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4];
	__m256i a05 = s[5], a06 = s[6], a07 = s[7], a08 = s[8], a09 = s[9];
	__m256i a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14];
	__m256i a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19];
	__m256i a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];

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
	unsigned live;
};

/* Transpose 4 rows of 4 words (row i = 32 bytes of input i) into 4 columns. */
static inline __attribute__((always_inline)) void transpose4(__m256i r[4])
{
	__m256i t0 = _mm256_unpacklo_epi64(r[0], r[1]); /* r0w0 r1w0 r0w2 r1w2 */
	__m256i t1 = _mm256_unpackhi_epi64(r[0], r[1]); /* r0w1 r1w1 r0w3 r1w3 */
	__m256i t2 = _mm256_unpacklo_epi64(r[2], r[3]);
	__m256i t3 = _mm256_unpackhi_epi64(r[2], r[3]);

	r[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
	r[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
	r[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
	r[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}

/*
 * Words 4g .. 4g + 3 of every live input, as columns; only the first nw (1..4) of them are
 * used. A row is loaded whole when its 32 bytes lie before p->end, masked to its nw words
 * otherwise (vpmaskmovq does not fault on the words it skips).
 */
static void load_group(const struct pass *p, size_t g, unsigned nw, __m256i col[4])
{
	const uint8_t *at = p->base + 32 * g;
	__m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(nw), _mm256_setr_epi64x(0, 1, 2, 3));

	for (unsigned i = 0; i < LANES; i++) {
		const uint8_t *row = at + i * p->stride;

		if (!(p->live >> i & 1))
			col[i] = _mm256_setzero_si256();
		else if ((size_t)(p->end - row) >= 32)
			col[i] = _mm256_loadu_si256((const __m256i *)row);
		else
			col[i] = _mm256_maskload_epi64((const long long *)row, m);
	}
	transpose4(col);
}

/*
 * Hash up to 4 inputs, lane i for bit i of p->live: the input as a stream of 32-byte
 * groups, each transposed once, a block taking words 17b .. 17b + 16 from the groups that
 * hold them; the last len % 8 bytes copied per lane. Nothing at or past p->end is read.
 */
static void hash_pass(const struct pass *p, size_t len, uint8_t (*out)[32])
{
	size_t words = len / 8, nblocks = len / CODEC_KECCAK_RATE, w = 0, have = SIZE_MAX;
	unsigned tail = (unsigned)(len % 8);
	__m256i s[25], col[4];

	for (int i = 0; i < 25; i++)
		s[i] = _mm256_setzero_si256();
	for (size_t b = 0; b <= nblocks; b++) {
		size_t end = b < nblocks ? w + RATE_WORDS : words;
		unsigned j = 0;

		for (; w < end; w++, j++) {
			if (w / 4 != have) {
				have = w / 4;
				load_group(p, have, words - 4 * have < 4 ? words - 4 * have : 4,
					   col);
			}
			s[j] = XOR(s[j], col[w % 4]);
		}
		if (b == nblocks) {
			/* the final block: the partial word, then the padding */
			if (tail) {
				uint64_t t[LANES] = {0};

				for (unsigned i = 0; i < LANES; i++)
					if (p->live >> i & 1)
						memcpy(&t[i], p->base + i * p->stride + 8 * words,
						       tail);
				s[j] = XOR(s[j], _mm256_loadu_si256((const __m256i *)t));
			}
			s[j] = XOR(s[j], _mm256_set1_epi64x((long long)(1ULL << (8 * tail))));
			s[RATE_WORDS - 1] =
			    XOR(s[RATE_WORDS - 1], _mm256_set1_epi64x((long long)(0x80ULL << 56)));
		}
		permute(s);
	}

	/* digest i is word 0..3 of lane i: the transpose of s[0..3] */
	transpose4(s);
	for (unsigned i = 0; i < LANES; i++)
		if (p->live >> i & 1)
			_mm256_storeu_si256((__m256i *)out[i], s[i]);
}

void codec_keccak_batch_avx2(const uint8_t *base, size_t stride, size_t len, size_t n,
			     uint8_t (*out)[32])
{
	struct pass p = {.stride = stride, .live = 0xf};
	size_t i = 0;

	if (!n)
		return;
	p.end = base + (n - 1) * stride + len;
	for (; n - i >= LANES; i += LANES) {
		p.base = base + i * stride;
		hash_pass(&p, len, out + i);
	}
	/* the remainder as one partly filled pass, cheaper than scalar from 2 inputs on */
	if (i < n) {
		p.base = base + i * stride;
		p.live = (1u << (n - i)) - 1;
		hash_pass(&p, len, out + i);
	}
}
