/*
 * Fees and reward pools. Follows 0G's contracts where they are definite:
 * ChunkRewardBase.fillReward splits a charge over the 8 GiB pricing segments in proportion
 * to the sectors in each and finalizes a segment when the flow reaches its end;
 * ChunkLinearReward releases a finalized pool linearly over releaseSeconds. Unlike 0G's
 * FixedPrice.chargeFee, gap sectors are charged at the full price (PROTOCOL.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/limits.h"
#include "chain/market_i.h"

#define SEG CHAIN_PRICING_SEGMENT_SECTORS

/* -pedantic rejects a bare __int128; __extension__ marks the use as intended. */
__extension__ typedef unsigned __int128 u128;

int chain_market_fee(uint64_t sectors, uint64_t price, uint64_t *ret_fee)
{
	uint64_t fee;

	if (__builtin_mul_overflow(sectors, price, &fee))
		return -EOVERFLOW;
	*ret_fee = fee;
	return 0;
}

int chain_market_reserve(struct chain_market *m, uint64_t npools)
{
	struct chain_pool_state *p;
	uint64_t cap;

	if (npools > CHAIN_POOLS_MAX)
		return -ENOSPC;
	if (npools <= m->cap)
		return 0;
	cap = m->cap ? m->cap : 16;
	while (cap < npools)
		cap *= 2;
	if (cap > CHAIN_POOLS_MAX)
		cap = CHAIN_POOLS_MAX;
	p = realloc(m->pools, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	m->pools = p;
	m->cap = cap;
	return 0;
}

void chain_market_fill(struct chain_market *m, uint64_t before, uint64_t after, uint64_t price,
		       uint64_t timestamp)
{
	uint64_t need = (after + SEG - 1) / SEG;

	if (after <= before)
		return;
	while (m->npools < need)
		memset(&m->pools[m->npools++], 0, sizeof(m->pools[0]));
	for (uint64_t i = before / SEG; i * SEG < after; i++) {
		uint64_t lo = i * SEG > before ? i * SEG : before;
		uint64_t hi = (i + 1) * SEG < after ? (i + 1) * SEG : after;
		struct chain_pool_state *p = &m->pools[i];

		/* Each pool's exact share: the fee is sectors × price, so splitting by sector
		 * counts leaves no rounding remainder (fillReward divides and can lose wei). */
		p->balance += (hi - lo) * price;
		if (!p->full && after >= (i + 1) * SEG) {
			p->full = true;
			p->full_since = timestamp;
		}
	}
}

uint64_t chain_market_released(const struct chain_pool_state *p, uint64_t lifetime, uint64_t now)
{
	uint64_t elapsed, total = p->balance + p->claimed; /* ≤ the supply */

	if (!p->full || now <= p->full_since)
		return 0;
	elapsed = now - p->full_since;
	if (lifetime == 0 || elapsed >= lifetime)
		return total;
	return (uint64_t)((u128)total * elapsed / lifetime);
}

void chain_market_release(struct chain_market *m)
{
	if (!m)
		return;
	free(m->pools);
	m->pools = NULL;
	m->npools = m->cap = 0;
}
