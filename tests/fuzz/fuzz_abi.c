/*
 * Fuzz target: the Flow contract's ABI decoders (chain/abi.c), which read what a remote
 * Ethereum node sends. The input is a Submit log's data under valid topics; the same bytes
 * also go through the revert-reason formatter and the return-data decoders. Any input must
 * decode or be refused with a documented code, and whatever decodes must respect the
 * limits (tags, node count, heights).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/abi_i.h"
#include "codec/limits.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chain_abi_submit_event ev, again;
	static uint8_t topics[3][CHAIN_ABI_WORD];
	struct chain_abi_submit_return sr;
	char reason[256];
	uint8_t addr[CHAIN_ADDRESS_SIZE], word[CHAIN_ABI_WORD];
	uint64_t v;
	int r;

	chain_abi_topic(CHAIN_ABI_SIG_SUBMIT_EVENT, topics[0]);
	memset(topics[1] + 12, 0xab, 20);
	memset(topics[2], 0xcd, CHAIN_ABI_WORD);
	r = chain_abi_decode_submit_event((const uint8_t(*)[CHAIN_ABI_WORD])topics, 3, data, size,
					  &ev);
	if (r != 0 && r != -EINVAL && r != -E2BIG && r != -EOVERFLOW)
		abort();
	if (r == 0) {
		if (ev.sub.tags_len > CHAIN_TAGS_MAX || ev.sub.nnodes > CODEC_MAX_NODES ||
		    ev.sender[0] != 0xab || ev.identity[0] != 0xcd)
			abort();
		for (size_t i = 0; i < ev.sub.nnodes; i++)
			if (ev.sub.nodes[i].height >= 64)
				abort();
		/* Decoding is a function of the bytes: a second pass agrees. */
		if (chain_abi_decode_submit_event((const uint8_t(*)[CHAIN_ABI_WORD])topics, 3, data,
						  size, &again) != 0 ||
		    memcmp(&again, &ev, sizeof(ev)) != 0)
			abort();
	}

	if (chain_abi_revert_reason(data, size, reason, sizeof(reason)) != 0 ||
	    strlen(reason) >= sizeof(reason) || reason[0] == 0)
		abort();
	(void)!chain_abi_decode_u64(data, size, &v);
	(void)!chain_abi_decode_address(data, size, addr);
	(void)!chain_abi_decode_bytes32(data, size, word);
	(void)!chain_abi_decode_submit_return(data, size, &sr);
	return 0;
}
