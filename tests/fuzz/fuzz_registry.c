/*
 * Fuzz target: the node Registry's return-data decoders (chain/registry.c), which read
 * what a remote Ethereum node answers for node(i) and policy(). Any input must decode or
 * be -EBADMSG, and whatever decodes must hold the rules a node relies on: a URL of at
 * most CHAIN_REGISTRY_URL_MAX bytes without a NUL, a shard chain_shard_check() accepts, a
 * policy chain_policy_check() accepts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/registry_i.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chain_node n, again;
	struct chain_policy p;
	int r;

	r = chain_registry_decode_node(data, size, &n);
	if (r != 0 && r != -EBADMSG)
		abort();
	if (r == 0) {
		if (strnlen(n.url, sizeof(n.url)) > CHAIN_REGISTRY_URL_MAX ||
		    chain_shard_check(n.shard_id, n.num_shard) != 0)
			abort();
		if (chain_registry_decode_node(data, size, &again) != 0 ||
		    memcmp(&again, &n, sizeof(n)) != 0)
			abort();
	}
	r = chain_registry_decode_policy(data, size, &p);
	if (r != 0 && r != -EBADMSG)
		abort();
	if (r == 0 && chain_policy_check(&p) != 0)
		abort();
	return 0;
}
