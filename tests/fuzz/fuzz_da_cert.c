/*
 * Fuzz target: the DA certificate decoder (chain/da.h). Any input decodes or is refused
 * cleanly; one that decodes encodes to the same bytes (the format has one encoding), and
 * checking it against a quorum refuses it or counts its slots without reading past it.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/da.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chain_da_epoch ep = {.epoch = 1, .stake_unit = 1, .slots = 16};
	struct chain_da_quorum q = {.epoch = 1, .slots = 16, .members = 4};
	struct chain_da_cert c;
	uint8_t enc[CHAIN_DA_CERT_MAX];
	unsigned slots = 0;

	if (chain_da_cert_decode(data, size, &c) != 0)
		return 0;
	if (chain_da_cert_encode(&c, enc) != size || memcmp(enc, data, size) != 0)
		abort();
	for (unsigned j = 0; j < 16; j++)
		q.slot_rank[j] = (uint8_t)(j % 4);
	memcpy(q.digest, c.quorum, 32);
	if (chain_da_cert_verify(&ep, &q, &c, &slots) == 0 && 3 * slots <= 2 * q.slots)
		abort();
	return 0;
}
