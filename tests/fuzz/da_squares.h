/*
 * da_squares.h - the fixed DA squares the DA fuzz targets check inputs against: one per
 * small k, built from a deterministic blob, and a badly encoded twin of each (one share
 * of the data quarter changed after extension, then committed). The corpus seeds in
 * corpus/da_proof and corpus/da_befp are proofs of these squares.
 */
#ifndef ZGFS_TESTS_FUZZ_DA_SQUARES_H
#define ZGFS_TESTS_FUZZ_DA_SQUARES_H

#include <stdlib.h>

#include "codec/da.h"

/* Blob sizes giving k = 1, 2 and 4. */
#define DA_FUZZ_NSQ 3
static const size_t da_fuzz_len[DA_FUZZ_NSQ] = {20, 3000, 20000};

struct da_fuzz_squares {
	struct codec_da_square *good[DA_FUZZ_NSQ], *bad[DA_FUZZ_NSQ];
};

/* Built once; aborts if the codec fails, which the unit tests would show first. */
static const struct da_fuzz_squares *da_fuzz_squares(void)
{
	static struct da_fuzz_squares sq;
	static int ready;

	if (ready)
		return &sq;
	for (unsigned i = 0; i < DA_FUZZ_NSQ; i++) {
		uint8_t *blob = malloc(da_fuzz_len[i]);

		if (!blob)
			abort();
		for (size_t j = 0; j < da_fuzz_len[i]; j++)
			blob[j] = (uint8_t)(j * 131 + 7);
		if (codec_da_encode(blob, da_fuzz_len[i], 1, &sq.good[i]) != 0 ||
		    codec_da_encode(blob, da_fuzz_len[i], 1, &sq.bad[i]) != 0)
			abort();
		free(blob);
		codec_da_share(sq.bad[i], 0, 0)[5] ^= 0x11;
		if (codec_da_commit(sq.bad[i], 1) != 0)
			abort();
	}
	ready = 1;
	return &sq;
}

#endif
