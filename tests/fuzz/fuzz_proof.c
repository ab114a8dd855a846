/*
 * Fuzz target: JSON proof decoding and verification. Any input must parse or be refused
 * cleanly, and a proof that verifies must really be the proof of that leaf: verification
 * is checked for soundness against a tree whose leaves the target knows.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/proof.h"
#include "tests/fuzz/fuzz.h"

#define NLEAVES 37

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static codec_hash leaves[NLEAVES];
	static uint8_t root[CODEC_HASH_SIZE];
	static int ready;
	struct codec_proof p;

	if (!ready) {
		for (unsigned i = 0; i < NLEAVES; i++)
			codec_keccak256(&i, sizeof(i), leaves[i]);
		codec_root_of_leaves(leaves[0], NLEAVES, root);
		ready = 1;
	}
	if (codec_proof_from_json((const char *)data, size, &p) != 0)
		return 0;
	for (uint64_t n = 1; n <= NLEAVES; n++) {
		for (uint64_t i = 0; i < n; i++) {
			uint8_t r[CODEC_HASH_SIZE];

			codec_root_of_leaves(leaves[0], n, r);
			if (codec_proof_verify(&p, r, leaves[i], i, n) == 0) {
				struct codec_proof want;

				/* Sound only if it is the proof we would build. */
				codec_proof_build(leaves[0], n, i, &want);
				if (want.depth != p.depth ||
				    memcmp(want.lemma, p.lemma,
					   codec_proof_lemma_len(p.depth) * CODEC_HASH_SIZE) ||
				    memcmp(want.path, p.path, p.depth * sizeof(p.path[0])))
					abort();
			}
		}
		if (n > 4 && n < NLEAVES - 1)
			n = NLEAVES - 2; /* a few small trees and the full one keep runs fast */
	}
	return 0;
}
