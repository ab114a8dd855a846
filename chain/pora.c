/*
 * PoRA on the embedded ledger: what 0G's PoraMine.submit (contracts/miner/Mine.sol) checks
 * and pays, applied to struct chain_ledger. Every check runs before the first field
 * changes, as for the other transactions, so a refused answer leaves the state as it was
 * and chain_verify() re-runs exactly these checks when it replays an answer's block.
 */
#include <errno.h>
#include <string.h>

#include "chain/ledger_i.h"
#include "chain/pora_i.h"

#define SEG CHAIN_PRICING_SEGMENT_SECTORS

int chain_pora_params_check(const struct chain_pora_params *p)
{
	if (p->difficulty == 0 || p->epoch_blocks < 2 || p->epoch_blocks >= (1ULL << 32) ||
	    p->target_answers == 0 || p->target_answers > CHAIN_PORA_TARGET_ANSWERS_MAX)
		return -EINVAL;
	return 0;
}

void chain_pora_subtask_digest_of(const struct chain_pora_state *s, uint8_t ret_digest[32])
{
	codec_pora_subtask_digest(s->context, s->blockhash, ret_digest);
}

/* Number of nodes at level k of a flow of `length` sectors: ceil(length / 2^k). */
static uint64_t level_count(uint64_t length, unsigned k)
{
	return k >= 64 ? 1 : (length >> k) + ((length & ((1ULL << k) - 1)) != 0);
}

size_t chain_flow_proof_len(uint64_t index, unsigned level, uint64_t length)
{
	size_t n = 0;

	for (unsigned k = level; level_count(length, k) > 1; k++, index >>= 1)
		if ((index & 1) || index + 1 < level_count(length, k))
			n++;
	return n;
}

int chain_flow_proof_root(const uint8_t node[32], uint64_t index, unsigned level, uint64_t length,
			  const uint8_t (*proof)[32], size_t n, uint8_t ret_root[32])
{
	uint8_t h[32];
	size_t used = 0;

	if (index >= level_count(length, level) || n != chain_flow_proof_len(index, level, length))
		return -EINVAL;
	memcpy(h, node, 32);
	for (unsigned k = level; level_count(length, k) > 1; k++, index >>= 1) {
		if (index & 1)
			codec_hash_pair(proof[used++], h, h);
		else if (index + 1 < level_count(length, k))
			codec_hash_pair(h, proof[used++], h);
		/* else: the odd last node, carried up unchanged */
	}
	memcpy(ret_root, h, 32);
	return 0;
}

int chain_pora_proof_nodes(uint64_t index, unsigned level, uint64_t length,
			   struct chain_flow_node ret_nodes[CHAIN_PORA_PROOF_MAX], size_t *ret_n)
{
	struct chain_flow_node nodes[CHAIN_PORA_PROOF_MAX];
	size_t n = 0;

	if (level >= 64 || index >= level_count(length, level))
		return -EINVAL;
	for (unsigned k = level; level_count(length, k) > 1; k++, index >>= 1) {
		if (index & 1)
			nodes[n++] = (struct chain_flow_node){k, index - 1};
		else if (index + 1 < level_count(length, k))
			nodes[n++] = (struct chain_flow_node){k, index + 1};
	}
	memcpy(ret_nodes, nodes, n * sizeof(nodes[0]));
	*ret_n = n;
	return 0;
}

static const struct chain_pora_miner_state *find_miner(const struct chain_pora_state *s,
							const uint8_t id[32])
{
	for (size_t i = 0; i < s->nminers; i++)
		if (!memcmp(s->miners[i].id, id, 32))
			return &s->miners[i];
	return NULL;
}

int chain_ledger_pora_setup(struct chain_ledger *l, const struct chain_tx *tx)
{
	struct chain_pora_state *s = &l->pora;
	int r;

	if (!l->genesis_done)
		return -EINVAL;
	if (s->enabled)
		return -EEXIST;
	r = chain_pora_params_check(&tx->pora_setup.params);
	if (r < 0)
		return r;
	r = codec_pora_initial_target(tx->pora_setup.params.difficulty, s->target);
	if (r < 0)
		return r;
	s->enabled = true;
	s->params = tx->pora_setup.params;
	return 0;
}

int chain_ledger_pora_register(struct chain_ledger *l, const struct chain_tx *tx)
{
	struct chain_pora_state *s = &l->pora;
	struct chain_account_state *a;
	uint8_t id[32];

	if (!s->enabled)
		return -CHAIN_EPORA_OFF;
	codec_pora_miner_id(l->head, tx->pora_register.sender, tx->pora_register.seed, id);
	if (find_miner(s, id))
		return -EEXIST;
	if (s->nminers == CHAIN_PORA_MINERS_MAX)
		return -ENOSPC;
	a = chain_ledger_account(l, tx->pora_register.beneficiary);
	if (!a && l->naccounts == CHAIN_ACCOUNTS_MAX)
		return -ENOSPC;
	/* The beneficiary's account exists from here on, so paying it cannot fail later. */
	if (!a) {
		a = &l->accounts[l->naccounts++];
		memcpy(a->address, tx->pora_register.beneficiary, CHAIN_ADDRESS_SIZE);
		a->balance = 0;
	}
	memcpy(s->miners[s->nminers].id, id, 32);
	memcpy(s->miners[s->nminers].beneficiary, tx->pora_register.beneficiary,
	       CHAIN_ADDRESS_SIZE);
	s->nminers++;
	return 0;
}

/* A new epoch: the difficulty update for the epoch that ended (and for every epoch skipped
 * without a block, as _adjustDifficultyOnSkippedEpoch), then the new context. */
static int new_epoch(struct chain_ledger *l, uint64_t height, uint64_t epoch)
{
	struct chain_pora_state *s = &l->pora;
	uint8_t target[32];
	int r;

	memcpy(target, s->target, 32);
	if (s->have_context) {
		uint64_t steps = epoch - s->epoch;

		/* Each step at least doubles a target that had no answers; 256 reach the top. */
		if (steps > 256)
			steps = 256;
		for (uint64_t i = 0; i < steps; i++) {
			r = codec_pora_next_target(target, s->params.target_answers,
						   i == 0 ? s->epoch_answers : 0,
						   CODEC_PORA_ADJUST_RATIO, 0, target);
			if (r < 0)
				return r;
		}
	}
	memcpy(s->target, target, 32);
	s->have_context = true;
	s->epoch = epoch;
	s->mine_start = height;
	s->flow_length = l->flow.length;
	memcpy(s->blockhash, l->head, 32);
	chain_flowtree_root(&l->flow, s->flow_root);
	codec_pora_context_digest(s->blockhash, s->flow_root, s->flow_length, s->context);
	s->epoch_answers = 0;
	memset(s->qualities, 0, sizeof(s->qualities));
	if (s->flow_length > s->range_end && s->ncontexts < CHAIN_PORA_CONTEXTS_MAX) {
		struct chain_pora_context *c = &s->contexts[s->ncontexts++];

		memcpy(c->digest, s->context, 32);
		c->start = s->range_end;
		c->end = s->flow_length;
		s->range_end = s->flow_length;
	}
	return 0;
}

int chain_ledger_begin_block(struct chain_ledger *l, uint64_t height, uint64_t timestamp)
{
	struct chain_pora_state *s = &l->pora;
	uint64_t epoch;

	l->answer_in_block = false;
	chain_ledger_da_begin_block(l, timestamp);
	if (!s->enabled || height == 0)
		return 0;
	epoch = height / s->params.epoch_blocks;
	if (s->have_context && epoch <= s->epoch)
		return 0;
	return new_epoch(l, height, epoch);
}

static const struct chain_pora_context *find_context(const struct chain_pora_state *s,
						      const uint8_t digest[32])
{
	for (uint64_t i = 0; i < s->ncontexts; i++)
		if (!memcmp(s->contexts[i].digest, digest, 32))
			return &s->contexts[i];
	return NULL;
}

bool chain_pora_answer_proves(const struct chain_pora_answer *a, const uint8_t flow_root[32],
			      uint64_t flow_length)
{
	uint8_t unit[CODEC_SEAL_SIZE], leaves[CODEC_SEAL_SECTORS][32], node[32], root[32];

	memcpy(unit, a->sealed, sizeof(unit));
	if (codec_seal_open_units(unit, 1, a->miner_id, a->sealed_context, a->recall_position) < 0)
		return false;
	for (unsigned i = 0; i < CODEC_SEAL_SECTORS; i++)
		codec_keccak256(unit + i * CODEC_CHUNK_SIZE, CODEC_CHUNK_SIZE, leaves[i]);
	if (codec_root_of_leaves(&leaves[0][0], CODEC_SEAL_SECTORS, node) < 0)
		return false;
	if (a->nproof > CHAIN_PORA_PROOF_MAX ||
	    chain_flow_proof_root(node, a->recall_position / CODEC_SEAL_SECTORS, 4, flow_length,
				  (const uint8_t(*)[32])a->proof, a->nproof, root) < 0)
		return false;
	return !memcmp(root, flow_root, 32);
}

/* padSeed, the scratchpad, the recall position and the quality; 0 or a CHAIN_EPORA code. */
static int check_work(const struct chain_pora_state *s, const struct chain_pora_answer *a,
		      uint8_t ret_quality[32])
{
	static _Thread_local uint8_t pad[CODEC_PORA_PAD_SIZE];
	uint8_t subtask[32], range_digest[32], pad_seed[CODEC_PORA_PAD_SEED_SIZE];
	uint8_t recall_seed[32], quality[32], scale[32], bound[32];
	uint64_t load;

	chain_pora_subtask_digest_of(s, subtask);
	codec_pora_range_digest(&a->range, range_digest);
	codec_pora_pad_seed(a->miner_id, a->nonce, subtask, range_digest, pad_seed);
	codec_pora_scratchpad(pad_seed, pad, recall_seed);
	if (a->seal_offset >= CODEC_PORA_SEALS_PER_LOAD ||
	    codec_pora_recall_position(&a->range, recall_seed, &load) < 0 ||
	    load + a->seal_offset * CODEC_SEAL_SECTORS != a->recall_position)
		return -CHAIN_EPORA_RECALL;
	if (codec_pora_quality((unsigned)a->seal_offset, pad_seed, pad, a->sealed, quality) < 0 ||
	    codec_pora_scale_x64(s->flow_length, a->range.shard_mask, scale) < 0 ||
	    codec_pora_target_bound(s->target, scale, bound) < 0 ||
	    !codec_pora_meets_target(quality, bound))
		return -CHAIN_EPORA_QUALITY;
	memcpy(ret_quality, quality, 32);
	return 0;
}

/* Every check of Mine.sol's submit, in its order. Returns 0 and the quality, or the code
 * of the first check that fails. */
static int check_answer(const struct chain_ledger *l, const struct chain_pora_answer *a,
			uint64_t height, uint8_t ret_quality[32])
{
	const struct chain_pora_state *s = &l->pora;
	const struct chain_pora_context *sc;
	uint8_t quality[32];
	int r;

	if (!s->enabled || !s->have_context)
		return -CHAIN_EPORA_OFF;
	if (!find_miner(s, a->miner_id))
		return -CHAIN_EPORA_MINER;
	/* The context before the window: an answer to the previous epoch's context that
	 * lands in the block opening the next one is stale, not early. With one subtask per
	 * epoch, an answer to the current context is always inside its window. */
	if (memcmp(a->context, s->context, 32))
		return -CHAIN_EPORA_CONTEXT;
	if (!(s->mine_start < height && height <= s->mine_start + s->params.epoch_blocks))
		return -CHAIN_EPORA_WINDOW;
	if (codec_pora_range_check(&a->range, s->flow_length, CHAIN_PORA_MAX_SHARDS) < 0)
		return -CHAIN_EPORA_RANGE;
	sc = find_context(s, a->sealed_context);
	if (!sc || a->recall_position > UINT64_MAX - CODEC_SEAL_SECTORS ||
	    !(sc->start < a->recall_position + CODEC_SEAL_SECTORS &&
	      a->recall_position + CODEC_SEAL_SECTORS <= sc->end))
		return -CHAIN_EPORA_SEAL_CONTEXT;
	if (!chain_pora_answer_proves(a, s->flow_root, s->flow_length))
		return -CHAIN_EPORA_MERKLE;
	r = check_work(s, a, quality);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < s->epoch_answers; i++)
		if (!memcmp(s->qualities[i], quality, 32))
			return -CHAIN_EPORA_REPEAT;
	if (s->epoch_answers >= 2 * s->params.target_answers)
		return -CHAIN_EPORA_CAP;
	memcpy(ret_quality, quality, 32);
	return 0;
}

int chain_ledger_pora_answer(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
			     uint64_t timestamp)
{
	struct chain_pora_state *s = &l->pora;
	const struct chain_pora_answer *a = &tx->pora_answer.answer;
	struct chain_account_state *to;
	struct chain_pool_state *pool;
	uint8_t quality[32];
	uint64_t idx, released, from_pool, base;
	int r;

	if (!l->genesis_done)
		return -EINVAL;
	if (l->answer_in_block)
		return -EBUSY; /* one answer per block: see chain_ledger_rollback() */
	r = check_answer(l, a, height, quality);
	if (r < 0)
		return r;
	to = chain_ledger_account(l, find_miner(s, a->miner_id)->beneficiary);
	idx = a->recall_position / SEG;
	if (!to || idx >= l->market.npools)
		return -EINVAL;

	/* Half of what the hit pool has released and not paid yet, plus the base reward
	 * while the donation pool lasts (docs/PORA.md, rewards). */
	pool = &l->market.pools[idx];
	released = chain_market_released(pool, l->pool_lifetime, timestamp);
	from_pool = released > pool->claimed ? (released - pool->claimed) / 2 : 0;
	if (from_pool > pool->balance)
		from_pool = pool->balance;
	base = s->params.base_reward < l->market.donation ? s->params.base_reward
							  : l->market.donation;
	pool->balance -= from_pool;
	pool->claimed += from_pool;
	l->market.donation -= base;
	to->balance += from_pool + base;
	l->answer_in_block = true;
	l->answer_pool = idx;
	l->answer_from_pool = from_pool;
	memcpy(s->qualities[s->epoch_answers++], quality, 32);
	s->accepted++;
	s->paid += from_pool + base;
	return 0;
}

/* State record, version 2 only: the PoRA part after the version 1 fields. */
void chain_pora_state_encode(const struct chain_pora_state *s, struct chain_wbuf *w)
{
	chain_wbuf_u64(w, s->params.difficulty);
	chain_wbuf_u64(w, s->params.epoch_blocks);
	chain_wbuf_u64(w, s->params.target_answers);
	chain_wbuf_u64(w, s->params.base_reward);
	chain_wbuf_put(w, s->target, 32);
	chain_wbuf_u8(w, s->have_context);
	chain_wbuf_u64(w, s->epoch);
	chain_wbuf_u64(w, s->mine_start);
	chain_wbuf_u64(w, s->flow_length);
	chain_wbuf_put(w, s->context, 32);
	chain_wbuf_put(w, s->blockhash, 32);
	chain_wbuf_put(w, s->flow_root, 32);
	chain_wbuf_u64(w, s->epoch_answers);
	for (uint64_t i = 0; i < s->epoch_answers; i++)
		chain_wbuf_put(w, s->qualities[i], 32);
	chain_wbuf_u64(w, s->range_end);
	chain_wbuf_u64(w, s->ncontexts);
	for (uint64_t i = 0; i < s->ncontexts; i++) {
		chain_wbuf_put(w, s->contexts[i].digest, 32);
		chain_wbuf_u64(w, s->contexts[i].start);
		chain_wbuf_u64(w, s->contexts[i].end);
	}
	chain_wbuf_u32(w, (uint32_t)s->nminers);
	for (size_t i = 0; i < s->nminers; i++) {
		chain_wbuf_put(w, s->miners[i].id, 32);
		chain_wbuf_put(w, s->miners[i].beneficiary, CHAIN_ADDRESS_SIZE);
	}
	chain_wbuf_u64(w, s->accepted);
	chain_wbuf_u64(w, s->paid);
}

int chain_pora_state_decode(struct chain_rbuf *r, struct chain_pora_state *s)
{
	uint32_t nminers;

	memset(s, 0, sizeof(*s));
	s->enabled = true;
	s->params.difficulty = chain_rbuf_u64(r);
	s->params.epoch_blocks = chain_rbuf_u64(r);
	s->params.target_answers = chain_rbuf_u64(r);
	s->params.base_reward = chain_rbuf_u64(r);
	if (chain_pora_params_check(&s->params) < 0)
		return -CHAIN_ETAMPERED;
	chain_rbuf_copy(r, s->target, 32);
	s->have_context = chain_rbuf_u8(r) != 0;
	s->epoch = chain_rbuf_u64(r);
	s->mine_start = chain_rbuf_u64(r);
	s->flow_length = chain_rbuf_u64(r);
	chain_rbuf_copy(r, s->context, 32);
	chain_rbuf_copy(r, s->blockhash, 32);
	chain_rbuf_copy(r, s->flow_root, 32);
	s->epoch_answers = chain_rbuf_u64(r);
	if (s->epoch_answers > 2 * s->params.target_answers)
		return -CHAIN_ETAMPERED;
	for (uint64_t i = 0; i < s->epoch_answers; i++)
		chain_rbuf_copy(r, s->qualities[i], 32);
	s->range_end = chain_rbuf_u64(r);
	s->ncontexts = chain_rbuf_u64(r);
	if (s->ncontexts > CHAIN_PORA_CONTEXTS_MAX)
		return -CHAIN_ETAMPERED;
	for (uint64_t i = 0; i < s->ncontexts; i++) {
		chain_rbuf_copy(r, s->contexts[i].digest, 32);
		s->contexts[i].start = chain_rbuf_u64(r);
		s->contexts[i].end = chain_rbuf_u64(r);
	}
	nminers = chain_rbuf_u32(r);
	if (nminers > CHAIN_PORA_MINERS_MAX)
		return -CHAIN_ETAMPERED;
	s->nminers = nminers;
	for (size_t i = 0; i < nminers; i++) {
		chain_rbuf_copy(r, s->miners[i].id, 32);
		chain_rbuf_copy(r, s->miners[i].beneficiary, CHAIN_ADDRESS_SIZE);
	}
	s->accepted = chain_rbuf_u64(r);
	s->paid = chain_rbuf_u64(r);
	return 0;
}
