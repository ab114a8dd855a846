/*
 * market_i.h - fees and reward pools of the embedded ledger. Internal to chain/; pure
 * computation on memory.
 *
 * Pool i collects the fees for flow sectors [i·2^25, (i+1)·2^25) (one 8 GiB pricing
 * segment). Every sector after the placeholder is charged once, when the entry (or the gap
 * before it) covering it is settled, so pool i's balance is price × its charged sectors.
 * A pool is full once the flow length reaches its end; it then releases linearly over the
 * chain's pool lifetime (0G's ChunkLinearReward).
 */
#ifndef CHAIN_MARKET_I_H
#define CHAIN_MARKET_I_H

#include <stdbool.h>
#include <stdint.h>

struct chain_pool_state {
	uint64_t balance;    /* fees received, not yet paid out */
	uint64_t full_since; /* timestamp of the block that filled the segment, when full */
	uint64_t claimed;    /* paid to PoRA miners; balance + claimed = fees received */
	bool full;
};

struct chain_market {
	struct chain_pool_state *pools; /* pools[0..npools), one per segment the flow touches */
	uint64_t npools, cap;
	uint64_t donation; /* the donation pool that will pay base rewards */
};

/* fee = sectors × price. Returns 0, or -EOVERFLOW when it does not fit in 64 bits. */
int chain_market_fee(uint64_t sectors, uint64_t price, uint64_t *ret_fee);

/* Make room for npools pools. Returns 0, -ENOSPC past CHAIN_POOLS_MAX, -ENOMEM. Changes
 * nothing visible (only capacity), so callers reserve before they mutate. */
int chain_market_reserve(struct chain_market *m, uint64_t npools);

/*
 * chain_market_fill() - charge flow sectors [before, after) at price into the pools they
 * fall in, and mark full every pool whose end the flow now reaches. Room for
 * ceil(after / 2^25) pools must have been reserved; pool sums cannot overflow because
 * value is conserved (their total never exceeds the genesis supply).
 */
void chain_market_fill(struct chain_market *m, uint64_t before, uint64_t after, uint64_t price,
		       uint64_t timestamp);

/* How much of a pool has been released at time now: (balance + claimed) × elapsed /
 * lifetime once full, capped at that sum; 0 before. Linear over the lifetime, the one
 * release rule of both backends (docs/PORA.md, rewards). */
uint64_t chain_market_released(const struct chain_pool_state *p, uint64_t lifetime, uint64_t now);

void chain_market_release(struct chain_market *m); /* frees the pools; NULL-safe */

#endif
