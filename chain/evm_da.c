/*
 * evm_da.c - the DA contract (chain/contracts/DA.sol) as the EVM backend reads it: found
 * through Market.da(), its parameters, epoch, seed and signers (docs/DA.md).
 */
#include <errno.h>
#include <string.h>

#include "chain/abi_i.h"
#include "chain/evm_i.h"

/* One u64 view of the DA contract. */
static int word(struct chain_evm *c, const uint8_t *da, const char *sig, bool has_arg, uint64_t arg,
		uint64_t *ret)
{
	uint8_t w[32];
	int r = chain_evm_view(c, da, sig, has_arg, arg, w, 1);

	if (r == 0)
		*ret = chain_evm_u256_saturate(w);
	return r;
}

int chain_evm_da_contract(struct chain *base, struct chain_da_contract *ret)
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	struct chain_evm *c = to_evm(base);
	struct chain_da_contract d = {0};
	uint64_t slots = 0;
	uint8_t w[32];
	int r = chain_evm_view(c, c->market, "da()", false, 0, w, 1);

	/* A Market from before DA has no da(): no contract, not an error. */
	if (r == -CHAIN_EREVERTED || r == -EBADMSG ||
	    (r == 0 && (chain_abi_word_address(w, d.address) < 0 ||
			memcmp(d.address, zero, CHAIN_ADDRESS_SIZE) == 0))) {
		chain_clear_detail();
		return -ENOENT;
	}
	if (r == 0)
		r = word(c, d.address, "epochBlocks()", false, 0, &d.epoch_blocks);
	if (r == 0)
		r = word(c, d.address, "firstBlock()", false, 0, &d.first_block);
	if (r == 0)
		r = word(c, d.address, "stakeUnit()", false, 0, &d.stake_unit);
	if (r == 0)
		r = word(c, d.address, "minStake()", false, 0, &d.min_stake);
	if (r == 0)
		r = word(c, d.address, "slots()", false, 0, &slots);
	if (r == 0)
		r = word(c, d.address, "epoch()", false, 0, &d.epoch);
	if (r == 0)
		r = word(c, d.address, "signerCount()", false, 0, &d.signers);
	if (r == 0)
		r = chain_evm_view(c, d.address, "seedOf(uint256)", true, d.epoch, d.seed, 1);
	if (r < 0)
		return r;
	d.slots = (unsigned)slots;
	d.has_seed = memcmp(d.seed, (const uint8_t[32]){0}, 32) != 0;
	*ret = d;
	return 0;
}
