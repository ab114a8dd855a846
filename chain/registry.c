/*
 * The Registry's rules as the C side checks them before sending anything (the contract
 * checks them again: chain/contracts/Registry.sol), and its ABI.
 */
#include <errno.h>
#include <string.h>

#include "chain/abi_i.h"
#include "chain/backend_i.h"
#include "chain/registry_i.h"

int chain_policy_check(const struct chain_policy *p)
{
	if (!p)
		return -EINVAL;
	if (p->ec_k == 0 && p->ec_m == 0)
		return 0;
	if (p->ec_k < 1 || p->ec_m < 1) {
		chain_set_detail("an erasure-code policy needs K ≥ 1 data and M ≥ 1 parity "
				 "segments (K+M; 0+0 is none)");
		return -EINVAL;
	}
	if (p->ec_k > CHAIN_EC_SYMBOLS_MAX || p->ec_m > CHAIN_EC_SYMBOLS_MAX - p->ec_k) {
		chain_set_detail("K+M = %u+%u exceeds the %d symbols of ISA-L's Cauchy code",
				 p->ec_k, p->ec_m, CHAIN_EC_SYMBOLS_MAX);
		return -EINVAL;
	}
	return 0;
}

int chain_shard_check(uint64_t shard_id, uint64_t num_shard)
{
	if (num_shard == 0 || (num_shard & (num_shard - 1)) != 0) {
		chain_set_detail("the number of shards (%llu) must be a power of two",
				 (unsigned long long)num_shard);
		return -EINVAL;
	}
	if (shard_id >= num_shard) {
		chain_set_detail("shard %llu does not exist among %llu shards (0 to %llu)",
				 (unsigned long long)shard_id, (unsigned long long)num_shard,
				 (unsigned long long)(num_shard - 1));
		return -EINVAL;
	}
	return 0;
}

void chain_registry_encode_register(const char *url, uint64_t shard_id, uint64_t num_shard,
				    const uint8_t *replaces, struct chain_wbuf *w)
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	uint8_t sel[4], word[CHAIN_ABI_WORD];

	chain_abi_selector(CHAIN_REGISTRY_SIG_REGISTER, sel);
	chain_wbuf_put(w, sel, sizeof(sel));
	chain_abi_append_u64(w, 4 * CHAIN_ABI_WORD); /* the string after the four head words */
	chain_abi_append_u64(w, shard_id);
	chain_abi_append_u64(w, num_shard);
	chain_abi_put_address(word, replaces ? replaces : zero);
	chain_wbuf_put(w, word, sizeof(word));
	chain_abi_put_dynamic(w, url, strlen(url));
}

void chain_registry_encode_index_of(const uint8_t id[CHAIN_ADDRESS_SIZE], struct chain_wbuf *w)
{
	uint8_t sel[4], word[CHAIN_ABI_WORD];

	chain_abi_selector(CHAIN_REGISTRY_SIG_INDEX_OF, sel);
	chain_wbuf_put(w, sel, sizeof(sel));
	chain_abi_put_address(word, id);
	chain_wbuf_put(w, word, sizeof(word));
}

/* Word i of data as a u64, if data has it and it fits. */
static int word_u64(const uint8_t *data, size_t len, size_t i, uint64_t *ret)
{
	if (len / CHAIN_ABI_WORD <= i)
		return -EBADMSG;
	return chain_abi_word_u64(data + i * CHAIN_ABI_WORD, ret) < 0 ? -EBADMSG : 0;
}

int chain_registry_decode_node(const uint8_t *data, size_t len, struct chain_node *ret)
{
	struct chain_node n;
	const uint8_t *url;
	size_t ulen;

	memset(&n, 0, sizeof(n));
	if (!data || len < 5 * CHAIN_ABI_WORD || chain_abi_word_address(data, n.id) < 0 ||
	    word_u64(data, len, 2, &n.shard_id) < 0 || word_u64(data, len, 3, &n.num_shard) < 0 ||
	    word_u64(data, len, 4, &n.block) < 0 ||
	    chain_abi_decode_dynamic(data, len, 1, 5, CHAIN_REGISTRY_URL_MAX, &url, &ulen) < 0)
		return -EBADMSG;
	memcpy(n.url, url, ulen);
	if (memchr(n.url, '\0', ulen))
		return -EBADMSG;
	if (chain_shard_check(n.shard_id, n.num_shard) < 0) {
		chain_clear_detail();
		return -EBADMSG;
	}
	*ret = n;
	return 0;
}

int chain_registry_decode_policy(const uint8_t *data, size_t len, struct chain_policy *ret)
{
	uint64_t k, m;
	struct chain_policy p;

	if (!data || len < 2 * CHAIN_ABI_WORD || word_u64(data, len, 0, &k) < 0 ||
	    word_u64(data, len, 1, &m) < 0 || k > 0xffff || m > 0xffff)
		return -EBADMSG;
	p = (struct chain_policy){(unsigned)k, (unsigned)m};
	if (chain_policy_check(&p) < 0) {
		chain_clear_detail();
		return -EBADMSG;
	}
	*ret = p;
	return 0;
}
