/*
 * The ledger's state transitions and its stored records. Every transaction is checked in
 * full before the first field changes: that is what makes "bad input changes nothing" hold
 * without copying the state, and what lets chain_verify() replay the same code.
 */
#include <errno.h>
#include <string.h>

#include "chain/ledger_i.h"

/* Version 1 records are still written while they can say everything (no PoRA, nothing
 * claimed), so a ledger from before PoRA verifies byte for byte. */
#define STATE_VERSION 1
#define STATE_VERSION_PORA 2
#define STATE_VERSION_DA     3 /* u8 PoRA enabled, [the PoRA part], the DA part */
#define POOL_VERSION  1
#define POOL_VERSION_CLAIMED 2
#define ENTRY_VERSION 1

void chain_ledger_init(struct chain_ledger *l)
{
	memset(l, 0, sizeof(*l));
}

void chain_ledger_release(struct chain_ledger *l)
{
	if (!l)
		return;
	chain_market_release(&l->market);
	chain_da_state_release(&l->da);
}

void chain_ledger_mark(const struct chain_ledger *l, struct chain_ledger_mark *ret_mark)
{
	memcpy(&ret_mark->saved, l, sizeof(*l));
	if (l->market.npools)
		ret_mark->last_pool = l->market.pools[l->market.npools - 1];
	else
		memset(&ret_mark->last_pool, 0, sizeof(ret_mark->last_pool));
}

void chain_ledger_rollback(struct chain_ledger *l, const struct chain_ledger_mark *mark)
{
	/* The pools array may have moved (reserve) and grown since the mark: keep the current
	 * allocation, cut it back to the old count and restore the one pool that could have
	 * changed. Pools before it were already full of charged sectors and are untouched. */
	struct chain_pool_state *pools = l->market.pools;
	uint64_t cap = l->market.cap;
	struct chain_da_cert_state *certs;
	uint64_t certs_cap;

	/* An answer may have paid from any pool; it is the block's only one. */
	if (l->answer_in_block) {
		pools[l->answer_pool].balance += l->answer_from_pool;
		pools[l->answer_pool].claimed -= l->answer_from_pool;
	}
	chain_ledger_da_rollback(l, mark->saved.da.ncerts);
	certs = l->da.certs;
	certs_cap = l->da.cap;
	memcpy(l, &mark->saved, sizeof(*l));
	l->market.pools = pools;
	l->market.cap = cap;
	l->da.certs = certs;
	l->da.cap = certs_cap;
	if (l->market.npools)
		l->market.pools[l->market.npools - 1] = mark->last_pool;
}

void chain_address_of(const uint8_t pk[CHAIN_PUBKEY_SIZE], uint8_t ret_address[CHAIN_ADDRESS_SIZE])
{
	uint8_t h[CODEC_HASH_SIZE];

	codec_keccak256(pk, CHAIN_PUBKEY_SIZE, h);
	memcpy(ret_address, h + CODEC_HASH_SIZE - CHAIN_ADDRESS_SIZE, CHAIN_ADDRESS_SIZE);
}

struct chain_account_state *chain_ledger_account(struct chain_ledger *l,
						 const uint8_t address[CHAIN_ADDRESS_SIZE])
{
	for (size_t i = 0; i < l->naccounts; i++)
		if (!memcmp(l->accounts[i].address, address, CHAIN_ADDRESS_SIZE))
			return &l->accounts[i];
	return NULL;
}

static int apply_genesis(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
			 uint64_t timestamp)
{
	int r;

	if (l->genesis_done || height != 0)
		return -EINVAL;
	r = chain_market_reserve(&l->market, 1);
	if (r < 0)
		return r;
	l->genesis_done = true;
	l->chain_id = tx->genesis.chain_id;
	l->price_per_sector = tx->genesis.price_per_sector;
	l->supply = tx->genesis.supply;
	l->pool_lifetime = tx->genesis.pool_lifetime;
	memcpy(l->authority, tx->genesis.authority, CHAIN_PUBKEY_SIZE);
	l->naccounts = 1;
	chain_address_of(l->authority, l->accounts[0].address);
	l->accounts[0].balance = l->supply;
	l->next_tx_seq = 0;
	chain_flowtree_init(&l->flow);
	/* The placeholder sector lies in pool 0, uncharged. */
	l->market.npools = 0;
	chain_market_fill(&l->market, 0, 1, 0, timestamp);
	return 0;
}

static int apply_submit(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
			uint64_t timestamp, struct chain_entry *ret_entry)
{
	const struct chain_submission *sub = &tx->submit.sub;
	struct chain_account_state *acct;
	struct chain_placement place;
	uint64_t sectors, fee, before, after;
	int r;

	if (!l->genesis_done)
		return -EINVAL;
	r = chain_submission_check(sub, &sectors);
	if (r < 0)
		return r;
	r = chain_flowtree_place(&l->flow, sub->nodes[0].height, sectors, &place);
	if (r < 0)
		return r;
	before = l->flow.length;
	after = place.start + place.sectors;
	/* The gap is charged like data (PROTOCOL.md), so the fee covers [before, after). */
	r = chain_market_fee(after - before, l->price_per_sector, &fee);
	if (r < 0)
		return r;
	acct = chain_ledger_account(l, tx->submit.sender);
	if (!acct)
		return -CHAIN_EFUNDS;
	if (acct->balance < fee)
		return -CHAIN_EFUNDS;
	r = chain_market_reserve(&l->market, (after + CHAIN_PRICING_SEGMENT_SECTORS - 1) /
						 CHAIN_PRICING_SEGMENT_SECTORS);
	if (r < 0)
		return r;

	/* Nothing can fail from here on. */
	acct->balance -= fee;
	chain_market_fill(&l->market, before, after, l->price_per_sector, timestamp);
	chain_flowtree_append(&l->flow, &place, sub);

	if (ret_entry) {
		memset(ret_entry, 0, sizeof(*ret_entry));
		ret_entry->tx_seq = l->next_tx_seq;
		ret_entry->start = place.start;
		ret_entry->sectors = place.sectors;
		ret_entry->length = sub->length;
		chain_submission_roots(sub, ret_entry->root, ret_entry->digest);
		memcpy(ret_entry->sender, tx->submit.sender, CHAIN_ADDRESS_SIZE);
		ret_entry->block = height;
		ret_entry->timestamp = timestamp;
		ret_entry->fee = fee;
		ret_entry->tags_len = sub->tags_len;
		memcpy(ret_entry->tags, sub->tags, sub->tags_len);
		ret_entry->nnodes = sub->nnodes;
		memcpy(ret_entry->nodes, sub->nodes, sub->nnodes * sizeof(sub->nodes[0]));
	}
	l->next_tx_seq++;
	return 0;
}

static int apply_donate(struct chain_ledger *l, const struct chain_tx *tx)
{
	struct chain_account_state *acct;

	if (!l->genesis_done || tx->donate.amount == 0)
		return -EINVAL;
	acct = chain_ledger_account(l, tx->donate.sender);
	if (!acct || acct->balance < tx->donate.amount)
		return -CHAIN_EFUNDS;
	acct->balance -= tx->donate.amount;
	l->market.donation += tx->donate.amount;
	return 0;
}

int chain_ledger_apply(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
		       uint64_t timestamp, struct chain_entry *ret_entry)
{
	switch (tx->type) {
	case CHAIN_TX_GENESIS:
		return apply_genesis(l, tx, height, timestamp);
	case CHAIN_TX_SUBMIT:
		return apply_submit(l, tx, height, timestamp, ret_entry);
	case CHAIN_TX_DONATE:
		return apply_donate(l, tx);
	case CHAIN_TX_PORA_SETUP:
		return chain_ledger_pora_setup(l, tx);
	case CHAIN_TX_PORA_REGISTER:
		return chain_ledger_pora_register(l, tx);
	case CHAIN_TX_PORA_ANSWER:
		return chain_ledger_pora_answer(l, tx, height, timestamp);
	case CHAIN_TX_DA_SETUP:
	case CHAIN_TX_DA_REGISTER:
	case CHAIN_TX_DA_PUBLISH:
	case CHAIN_TX_DA_CERTIFY:
	case CHAIN_TX_DA_ANSWER:
	case CHAIN_TX_DA_VOID:
		return chain_ledger_da_apply(l, tx, height, timestamp);
	default:
		return -EINVAL;
	}
}

bool chain_ledger_conserved(const struct chain_ledger *l)
{
	uint64_t sum = l->market.donation;

	for (size_t i = 0; i < l->naccounts; i++)
		if (__builtin_add_overflow(sum, l->accounts[i].balance, &sum))
			return false;
	for (uint64_t i = 0; i < l->market.npools; i++)
		if (__builtin_add_overflow(sum, l->market.pools[i].balance, &sum))
			return false;
	if (!chain_da_state_value(&l->da, &sum))
		return false;
	return sum == l->supply;
}

/*
 * State record, big-endian:
 *   u8 version; u8 genesis_done; u64 chain_id, price, supply, lifetime; pk[32];
 *   u64 height, head_timestamp; head[32]; u64 next_tx_seq;
 *   u64 flow length; u8 depth; depth × (root[32], u8 height);
 *   u32 naccounts; naccounts × (address[20], u64 balance);
 *   u64 donation; u64 npools
 * then version 2: the PoRA part; version 3: u8 PoRA enabled, [the PoRA part], the DA part.
 */
void chain_state_encode(const struct chain_ledger *l, struct chain_wbuf *w)
{
	chain_wbuf_u8(w, l->da.enabled	   ? STATE_VERSION_DA
			 : l->pora.enabled ? STATE_VERSION_PORA
					   : STATE_VERSION);
	chain_wbuf_u8(w, l->genesis_done);
	chain_wbuf_u64(w, l->chain_id);
	chain_wbuf_u64(w, l->price_per_sector);
	chain_wbuf_u64(w, l->supply);
	chain_wbuf_u64(w, l->pool_lifetime);
	chain_wbuf_put(w, l->authority, CHAIN_PUBKEY_SIZE);
	chain_wbuf_u64(w, l->height);
	chain_wbuf_u64(w, l->head_timestamp);
	chain_wbuf_put(w, l->head, CODEC_HASH_SIZE);
	chain_wbuf_u64(w, l->next_tx_seq);
	chain_wbuf_u64(w, l->flow.length);
	chain_wbuf_u8(w, (uint8_t)l->flow.depth);
	for (unsigned i = 0; i < l->flow.depth; i++) {
		chain_wbuf_put(w, l->flow.stack[i].root, CODEC_HASH_SIZE);
		chain_wbuf_u8(w, (uint8_t)l->flow.stack[i].height);
	}
	chain_wbuf_u32(w, (uint32_t)l->naccounts);
	for (size_t i = 0; i < l->naccounts; i++) {
		chain_wbuf_put(w, l->accounts[i].address, CHAIN_ADDRESS_SIZE);
		chain_wbuf_u64(w, l->accounts[i].balance);
	}
	chain_wbuf_u64(w, l->market.donation);
	chain_wbuf_u64(w, l->market.npools);
	if (l->da.enabled)
		chain_wbuf_u8(w, l->pora.enabled);
	if (l->pora.enabled)
		chain_pora_state_encode(&l->pora, w);
	if (l->da.enabled)
		chain_da_state_encode(&l->da, w);
}

int chain_state_decode(const uint8_t *p, size_t n, struct chain_ledger *l, uint64_t *ret_npools)
{
	struct chain_rbuf r;
	uint32_t naccounts;
	uint64_t npools;
	uint8_t version, pora;

	chain_rbuf_init(&r, p, n);
	version = chain_rbuf_u8(&r);
	if (version != STATE_VERSION && version != STATE_VERSION_PORA &&
	    version != STATE_VERSION_DA)
		return -CHAIN_ETAMPERED;
	l->genesis_done = chain_rbuf_u8(&r) != 0;
	l->chain_id = chain_rbuf_u64(&r);
	l->price_per_sector = chain_rbuf_u64(&r);
	l->supply = chain_rbuf_u64(&r);
	l->pool_lifetime = chain_rbuf_u64(&r);
	chain_rbuf_copy(&r, l->authority, CHAIN_PUBKEY_SIZE);
	l->height = chain_rbuf_u64(&r);
	l->head_timestamp = chain_rbuf_u64(&r);
	chain_rbuf_copy(&r, l->head, CODEC_HASH_SIZE);
	l->next_tx_seq = chain_rbuf_u64(&r);
	l->flow.length = chain_rbuf_u64(&r);
	l->flow.depth = chain_rbuf_u8(&r);
	if (l->flow.depth > CHAIN_FLOW_STACK_MAX)
		return -CHAIN_ETAMPERED;
	for (unsigned i = 0; i < l->flow.depth; i++) {
		chain_rbuf_copy(&r, l->flow.stack[i].root, CODEC_HASH_SIZE);
		l->flow.stack[i].height = chain_rbuf_u8(&r);
	}
	naccounts = chain_rbuf_u32(&r);
	if (naccounts > CHAIN_ACCOUNTS_MAX)
		return -CHAIN_ETAMPERED;
	l->naccounts = naccounts;
	for (size_t i = 0; i < naccounts; i++) {
		chain_rbuf_copy(&r, l->accounts[i].address, CHAIN_ADDRESS_SIZE);
		l->accounts[i].balance = chain_rbuf_u64(&r);
	}
	l->market.donation = chain_rbuf_u64(&r);
	npools = chain_rbuf_u64(&r);
	memset(&l->pora, 0, sizeof(l->pora));
	pora = version == STATE_VERSION_PORA;
	if (version == STATE_VERSION_DA) {
		pora = chain_rbuf_u8(&r);
		if (pora > 1)
			return -CHAIN_ETAMPERED;
	}
	if (pora && chain_pora_state_decode(&r, &l->pora) < 0)
		return -CHAIN_ETAMPERED;
	chain_da_state_release(&l->da);
	if (version == STATE_VERSION_DA && chain_da_state_decode(&r, &l->da) < 0)
		return -CHAIN_ETAMPERED;
	if (!chain_rbuf_done(&r) || !l->genesis_done || !chain_flowtree_consistent(&l->flow) ||
	    npools > CHAIN_POOLS_MAX ||
	    npools != (l->flow.length + CHAIN_PRICING_SEGMENT_SECTORS - 1) /
			  CHAIN_PRICING_SEGMENT_SECTORS)
		return -CHAIN_ETAMPERED;
	*ret_npools = npools;
	return 0;
}

/* Pool record: u8 version; u8 full; u64 balance; u64 full_since; version 2: u64 claimed. */
void chain_pool_encode(const struct chain_pool_state *p, struct chain_wbuf *w)
{
	chain_wbuf_u8(w, p->claimed ? POOL_VERSION_CLAIMED : POOL_VERSION);
	chain_wbuf_u8(w, p->full);
	chain_wbuf_u64(w, p->balance);
	chain_wbuf_u64(w, p->full_since);
	if (p->claimed)
		chain_wbuf_u64(w, p->claimed);
}

int chain_pool_decode(const uint8_t *p, size_t n, struct chain_pool_state *ret_pool)
{
	struct chain_rbuf r;
	struct chain_pool_state s;
	uint8_t full, version;

	chain_rbuf_init(&r, p, n);
	version = chain_rbuf_u8(&r);
	if (version != POOL_VERSION && version != POOL_VERSION_CLAIMED)
		return -CHAIN_ETAMPERED;
	full = chain_rbuf_u8(&r);
	s.balance = chain_rbuf_u64(&r);
	s.full_since = chain_rbuf_u64(&r);
	s.claimed = version == POOL_VERSION_CLAIMED ? chain_rbuf_u64(&r) : 0;
	if (!chain_rbuf_done(&r) || full > 1 || (version == POOL_VERSION_CLAIMED && !s.claimed))
		return -CHAIN_ETAMPERED;
	s.full = full;
	*ret_pool = s;
	return 0;
}

/*
 * Entry record: u8 version; u64 tx_seq, start, sectors, length; root[32]; digest[32];
 * sender[20]; u64 block, timestamp, fee; u32 tags_len, tags; u8 nnodes,
 * nnodes × (root[32], u8 height).
 */
void chain_entry_encode(const struct chain_entry *e, struct chain_wbuf *w)
{
	chain_wbuf_u8(w, ENTRY_VERSION);
	chain_wbuf_u64(w, e->tx_seq);
	chain_wbuf_u64(w, e->start);
	chain_wbuf_u64(w, e->sectors);
	chain_wbuf_u64(w, e->length);
	chain_wbuf_put(w, e->root, CODEC_HASH_SIZE);
	chain_wbuf_put(w, e->digest, CODEC_HASH_SIZE);
	chain_wbuf_put(w, e->sender, CHAIN_ADDRESS_SIZE);
	chain_wbuf_u64(w, e->block);
	chain_wbuf_u64(w, e->timestamp);
	chain_wbuf_u64(w, e->fee);
	chain_wbuf_u32(w, (uint32_t)e->tags_len);
	chain_wbuf_put(w, e->tags, e->tags_len);
	chain_wbuf_u8(w, (uint8_t)e->nnodes);
	for (size_t i = 0; i < e->nnodes; i++) {
		chain_wbuf_put(w, e->nodes[i].root, CODEC_HASH_SIZE);
		chain_wbuf_u8(w, (uint8_t)e->nodes[i].height);
	}
}

int chain_entry_decode(const uint8_t *p, size_t n, struct chain_entry *e)
{
	struct chain_rbuf r;
	uint32_t tags_len;
	uint8_t nnodes;

	/* Decoded in place (an entry is 6.7 KiB; no second copy): callers pass scratch that
	 * they discard on error. */
	chain_rbuf_init(&r, p, n);
	if (chain_rbuf_u8(&r) != ENTRY_VERSION)
		return -CHAIN_ETAMPERED;
	memset(e, 0, sizeof(*e));
	e->tx_seq = chain_rbuf_u64(&r);
	e->start = chain_rbuf_u64(&r);
	e->sectors = chain_rbuf_u64(&r);
	e->length = chain_rbuf_u64(&r);
	chain_rbuf_copy(&r, e->root, CODEC_HASH_SIZE);
	chain_rbuf_copy(&r, e->digest, CODEC_HASH_SIZE);
	chain_rbuf_copy(&r, e->sender, CHAIN_ADDRESS_SIZE);
	e->block = chain_rbuf_u64(&r);
	e->timestamp = chain_rbuf_u64(&r);
	e->fee = chain_rbuf_u64(&r);
	tags_len = chain_rbuf_u32(&r);
	if (tags_len > CHAIN_TAGS_MAX)
		return -CHAIN_ETAMPERED;
	e->tags_len = tags_len;
	chain_rbuf_copy(&r, e->tags, tags_len);
	nnodes = chain_rbuf_u8(&r);
	if (nnodes == 0 || nnodes > CODEC_MAX_NODES)
		return -CHAIN_ETAMPERED;
	e->nnodes = nnodes;
	for (size_t i = 0; i < nnodes; i++) {
		chain_rbuf_copy(&r, e->nodes[i].root, CODEC_HASH_SIZE);
		e->nodes[i].height = chain_rbuf_u8(&r);
	}
	return chain_rbuf_done(&r) ? 0 : -CHAIN_ETAMPERED;
}
