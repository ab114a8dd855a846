/*
 * The plain reference keccak-256: a loop-based Keccak-f[1600] written straight from the
 * specification, absorbing byte by byte. Slow on purpose; tests compare every fast path
 * against it.
 */
#include <string.h>

#include "codec/keccak.h"
#include "codec/keccak_i.h"

const uint64_t codec_keccak_rc[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets r[x][y], lanes indexed x + 5y. */
static const unsigned rho[25] = {
	0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static uint64_t rotl(uint64_t v, unsigned n)
{
	return n ? (v << n) | (v >> (64 - n)) : v;
}

static void permute_ref(uint64_t a[25])
{
	for (int round = 0; round < 24; round++) {
		uint64_t c[5], d[5], b[25];

		for (int x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		for (int x = 0; x < 5; x++)
			d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
		for (int i = 0; i < 25; i++)
			a[i] ^= d[i % 5];
		/* rho and pi: B[y][2x+3y] = rot(A[x][y], r[x][y]) */
		for (int x = 0; x < 5; x++)
			for (int y = 0; y < 5; y++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rho[x + 5 * y]);
		for (int x = 0; x < 5; x++)
			for (int y = 0; y < 5; y++)
				a[x + 5 * y] = b[x + 5 * y] ^
					       (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
		a[0] ^= codec_keccak_rc[round];
	}
}

static void xor_byte(uint64_t st[25], size_t i, uint8_t v)
{
	st[i / 8] ^= (uint64_t)v << (8 * (i % 8));
}

void codec_keccak256_ref(const void *data, size_t len, uint8_t out[CODEC_HASH_SIZE])
{
	const uint8_t *p = data;
	uint64_t st[25] = {0};
	size_t pos = 0;

	for (size_t i = 0; i < len; i++) {
		xor_byte(st, pos++, p[i]);
		if (pos == CODEC_KECCAK_RATE) {
			permute_ref(st);
			pos = 0;
		}
	}
	xor_byte(st, pos, 0x01);
	xor_byte(st, CODEC_KECCAK_RATE - 1, 0x80);
	permute_ref(st);
	for (size_t i = 0; i < CODEC_HASH_SIZE; i++)
		out[i] = (uint8_t)(st[i / 8] >> (8 * (i % 8)));
}
