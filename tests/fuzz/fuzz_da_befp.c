/*
 * Fuzz target: bad-encoding proof decoding and verification. Against a correctly encoded
 * square no input may ever be accepted (that would let anyone slander a good blob); any
 * input must be refused cleanly or verified.
 *
 * Each input is used twice: as a proof by itself, checked against every fixed square,
 * good and bad; and as patches to a valid proof of a good square (3 bytes each: a 16-bit
 * offset, little-endian, and a byte to XOR there), so that the mutations reach the proofs'
 * hashes and the decoding of the line instead of stopping at the length check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/errors.h"
#include "tests/fuzz/da_squares.h"
#include "tests/fuzz/fuzz.h"

static void check_as_proof(const struct da_fuzz_squares *sqs, const uint8_t *data, size_t size)
{
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
}

static void check_as_patch(const struct da_fuzz_squares *sqs, const uint8_t *data, size_t size)
{
	/* The square (by the first byte) and a line of it, valid proofs to start from. */
	const struct codec_da_square *good = sqs->good[data[0] % DA_FUZZ_NSQ];
	const enum codec_da_axis axis = data[0] & 0x80 ? CODEC_DA_COL : CODEC_DA_ROW;
	uint8_t *buf;
	size_t len;

	if (codec_da_befp_build(good, axis, data[0] % (2 * good->k), &buf, &len) != 0)
		abort();
	for (size_t i = 1; i + 3 <= size; i += 3)
		buf[(data[i] | (size_t)data[i + 1] << 8) % len] ^= data[i + 2];
	if (codec_da_befp_verify(buf, len, good->data_root, good->k, good->share_size) == 0)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct da_fuzz_squares *sqs = da_fuzz_squares();

	check_as_proof(sqs, data, size);
	if (size >= 1)
		check_as_patch(sqs, data, size);
	return 0;
}
