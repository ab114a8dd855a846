/*
 * Fuzz target: DA share proof decoding and verification. Any input must decode or be
 * refused cleanly; what decodes must encode back to the same bytes; and a proof that
 * verifies for a share of one of the fixed squares must be the proof the builder makes
 * for that share (so no other share, position or root can pass).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/da_squares.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct da_fuzz_squares *sqs = da_fuzz_squares();
	uint8_t again[CODEC_DA_PROOF_MAX], built[CODEC_DA_PROOF_MAX];
	struct codec_da_proof p, want;

	if (codec_da_proof_decode(data, size, &p) != 0)
		return 0;
	if (codec_da_proof_encode(&p, again) != size || memcmp(again, data, size) != 0)
		abort();
	for (unsigned i = 0; i < DA_FUZZ_NSQ; i++) {
		const struct codec_da_square *sq = sqs->good[i];

		if (sq->k != p.k)
			continue;
		if (codec_da_proof_verify(&p, sq->data_root, sq->k, p.row, p.col,
					  codec_da_share(sq, p.row, p.col), sq->share_size) != 0)
			continue;
		if (codec_da_prove(sq, p.row, p.col, p.axis, &want) != 0 ||
		    codec_da_proof_encode(&want, built) != size || memcmp(built, data, size) != 0)
			abort();
	}
	return 0;
}
