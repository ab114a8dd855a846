/* keccak_i.h - internals shared by the keccak implementations. Not for other layers. */
#ifndef CODEC_KECCAK_I_H
#define CODEC_KECCAK_I_H

#include <stddef.h>
#include <stdint.h>

extern const uint64_t codec_keccak_rc[24];

/* The scalar Keccak-f[1600] permutation (unrolled). */
void codec_keccak_f1600(uint64_t st[25]);

/* A batch kernel: same contract as codec_keccak256_batch(). */
typedef void codec_keccak_batch_fn(const uint8_t *base, size_t stride, size_t len, size_t n,
				   uint8_t (*out)[32]);

codec_keccak_batch_fn codec_keccak_batch_scalar;
codec_keccak_batch_fn codec_keccak_batch_avx2;
codec_keccak_batch_fn codec_keccak_batch_avx512;

#endif
