/*
 * da_bad_square.h - badly encoded DA squares for tests: a committed square in which one
 * row is swapped for another codeword, so that every row is a codeword under its root and
 * the columns are not (what a signer, which checks only its rows, cannot see). Used by
 * tests/test_da.c and tests/compat/datool.c.
 */
#ifndef ZGFS_TESTS_DA_BAD_SQUARE_H
#define ZGFS_TESTS_DA_BAD_SQUARE_H

#include <errno.h>

#include "codec/da.h"
#include "codec/rs.h"

/* Change the first byte of share (row, 0), re-encode the row's parity half, commit.
 * Returns 0 or the codec's error. */
static inline int da_swap_row(struct codec_da_square *sq, unsigned row, unsigned nthreads)
{
	const unsigned k = sq->k;
	const uint8_t *data[CODEC_DA_MAX_K];
	uint8_t *parity[CODEC_DA_MAX_K];
	struct codec_rs *rs;
	int err;

	if (row >= 2 * k)
		return -EINVAL;
	err = codec_rs_new(k, k, &rs);
	if (err)
		return err;
	codec_da_share(sq, row, 0)[0] ^= 0x5a;
	for (unsigned c = 0; c < k; c++) {
		data[c] = codec_da_share(sq, row, c);
		parity[c] = codec_da_share(sq, row, k + c);
	}
	codec_rs_encode(rs, sq->share_size, data, parity);
	codec_rs_free(rs);
	return codec_da_commit(sq, nthreads);
}

#endif
