/*
 * Fuzz target: bad-encoding proof decoding and verification. Any input must be refused
 * cleanly or verified; against a correctly encoded square no input may ever be accepted
 * (that would let anyone slander a good blob). Inputs are checked against every fixed
 * square, good and bad, of every geometry.
 */
#include <errno.h>
#include <stdlib.h>

#include "codec/errors.h"
#include "tests/fuzz/da_squares.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct da_fuzz_squares *sqs = da_fuzz_squares();

	for (unsigned i = 0; i < DA_FUZZ_NSQ; i++) {
		const struct codec_da_square *good = sqs->good[i], *bad = sqs->bad[i];
		int err;

		if (codec_da_befp_verify(data, size, good->data_root, good->k, good->share_size) ==
		    0)
			abort();
		err = codec_da_befp_verify(data, size, bad->data_root, bad->k, bad->share_size);
		if (err > 0 || err == -EINVAL)
			abort(); /* the geometry is valid: only proof errors are possible */
	}
	return 0;
}
