/*
 * proofcheck - test helper: verify a JSON Merkle proof read from stdin with the codec.
 * usage: proofcheck ROOT INDEX NLEAVES LEAF < proof.json
 * Exit 0 when it verifies; 1 with the reason on stderr when it does not.
 */
#include <stdio.h>
#include <stdlib.h>

#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/proof.h"

int main(int argc, char **argv)
{
	static char text[CODEC_PROOF_JSON_MAX + 1];
	uint8_t root[32], leaf[32];
	struct codec_proof p;
	size_t len;
	int r;

	if (argc != 5 || codec_hex_decode(argv[1], root, 32) < 0 ||
	    codec_hex_decode(argv[4], leaf, 32) < 0) {
		fprintf(stderr, "usage: proofcheck ROOT INDEX NLEAVES LEAF < proof.json\n");
		return 2;
	}
	len = fread(text, 1, sizeof(text), stdin);
	r = codec_proof_from_json(text, len, &p);
	if (r == 0)
		r = codec_proof_verify(&p, root, leaf, strtoull(argv[2], NULL, 10),
				       strtoull(argv[3], NULL, 10));
	if (r < 0) {
		fprintf(stderr, "proofcheck: %s\n", codec_strerror(r));
		return 1;
	}
	return 0;
}
