/*
 * Fuzz target: the embedded ledger's decoders (blocks, PoRA and DA transactions among them,
 * stored entries, pools, state, DA certificates and draws), which read bytes back from disk that a
 * tampered or damaged data directory may have changed. Any input must decode or be refused cleanly;
 * a decoded block must survive release.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/block_i.h"
#include "chain/ledger_i.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chain_block b;
	struct chain_entry *e = malloc(sizeof(*e));
	struct chain_pool_state pool;
	struct chain_da_cert_state cert;
	struct chain_da_draw_record *draw = malloc(sizeof(*draw));
	struct chain_ledger l;
	uint8_t hash[CODEC_HASH_SIZE];
	uint64_t npools;

	if (chain_block_decode(data, size, &b, hash) == 0)
		chain_block_release(&b);
	if (e) {
		chain_entry_decode(data, size, e);
		free(e);
	}
	chain_pool_decode(data, size, &pool);
	chain_da_cert_state_decode(data, size, &cert);
	if (draw) {
		chain_da_draw_record_decode(data, size, draw);
		free(draw);
	}
	chain_ledger_init(&l);
	chain_state_decode(data, size, &l, &npools);
	chain_ledger_release(&l);
	return 0;
}
