/*
 * keccak.h - Ethereum's keccak-256 (Keccak[c=512] with the original 0x01 padding, not
 * SHA3-256's 0x06).
 *
 * Guarantees: every function here is pure computation on caller memory, thread-safe, and
 * gives the same digest as codec_keccak256_ref() for the same input, whichever
 * implementation the CPU selects. The batch functions are the fast path: they hash several
 * independent inputs at once in SIMD lanes (AVX-512: 8 lanes, AVX2: 4 lanes), selected at
 * run time, with the scalar permutation as the fallback.
 */
#ifndef CODEC_KECCAK_H
#define CODEC_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_HASH_SIZE 32
#define CODEC_KECCAK_RATE 136 /* bytes absorbed per permutation for a 256-bit digest */

/* The plain reference: byte-at-a-time absorb, loop-based permutation. Used to check the
 * fast paths; never on a hot path. */
void codec_keccak256_ref(const void *data, size_t len, uint8_t out[CODEC_HASH_SIZE]);

/* One-shot keccak-256 of one input with the fast scalar permutation. */
void codec_keccak256(const void *data, size_t len, uint8_t out[CODEC_HASH_SIZE]);

/* Incremental hashing of one input. init, any number of updates, final. */
struct codec_keccak {
	uint64_t st[25];
	size_t pos; /* bytes absorbed into the current block */
};
void codec_keccak_init(struct codec_keccak *k);
void codec_keccak_update(struct codec_keccak *k, const void *data, size_t len);
void codec_keccak_final(struct codec_keccak *k, uint8_t out[CODEC_HASH_SIZE]);

/*
 * codec_keccak256_batch() - hash n independent inputs of equal length.
 * @base:   first input; input i starts at base + i * stride
 * @stride: distance in bytes between the starts of consecutive inputs (may equal len)
 * @len:    length of every input in bytes
 * @n:      number of inputs
 * @out:    n digests, out[i] for input i; must not overlap the inputs
 *
 * Merkle leaves (stride 256, len 256) and parent levels (stride 64, len 64) are the
 * intended callers. Uses the widest lanes the CPU has.
 */
void codec_keccak256_batch(const uint8_t *base, size_t stride, size_t len, size_t n,
			   uint8_t (*out)[CODEC_HASH_SIZE]);

/* Implementation names: "scalar", "avx2", "avx512". */
const char *codec_keccak_impl(void);

/* Number of inputs the selected batch implementation hashes per pass (1, 4 or 8). */
unsigned codec_keccak_lanes(void);

/*
 * codec_keccak_select() - choose the batch implementation by name, for tests and benchmarks.
 * Returns 0, -ENOTSUP when the CPU lacks the instructions, -EINVAL for an unknown name.
 * Not thread-safe: call before hashing starts. NULL selects the best the CPU has.
 */
int codec_keccak_select(const char *name);

#endif
