/*
 * registry_i.h - the Registry contract's calldata and return data (chain/contracts/
 * Registry.sol), for the EVM backend. Internal to chain/; pure functions, any thread.
 */
#ifndef CHAIN_REGISTRY_I_H
#define CHAIN_REGISTRY_I_H

#include "chain/buf_i.h"
#include "chain/chain.h"

#define CHAIN_REGISTRY_SIG_REGISTER "register(string,uint64,uint64,address)"
#define CHAIN_REGISTRY_SIG_NODE	    "node(uint256)"
#define CHAIN_REGISTRY_SIG_INDEX_OF "indexOf(address)"

/* Append the calldata of register(url, shardId, numShard, replaces) to w; replaces NULL
 * is the zero address. Errors stick in w->err (-E2BIG past w->max). */
void chain_registry_encode_register(const char *url, uint64_t shard_id, uint64_t num_shard,
				    const uint8_t *replaces, struct chain_wbuf *w);

/* Append the calldata of indexOf(id). */
void chain_registry_encode_index_of(const uint8_t id[CHAIN_ADDRESS_SIZE], struct chain_wbuf *w);

/*
 * chain_registry_decode_node() - node(i)'s return data: (address id, string url, uint64
 * shardId, uint64 numShard, uint256 registered). Returns 0; -EBADMSG when it does not
 * decode: too short, an offset or length outside data, a URL over
 * CHAIN_REGISTRY_URL_MAX bytes or holding a NUL, a number past 64 bits, or a shard
 * chain_shard_check() refuses. ret is written only on success.
 */
__attribute__((warn_unused_result)) int chain_registry_decode_node(const uint8_t *data, size_t len,
								   struct chain_node *ret);

/* policy()'s return data: two words, each below 2^16, a policy chain_policy_check()
 * accepts. 0 or -EBADMSG. */
__attribute__((warn_unused_result)) int
chain_registry_decode_policy(const uint8_t *data, size_t len, struct chain_policy *ret);

#endif
