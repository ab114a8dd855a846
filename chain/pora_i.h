/*
 * pora_i.h - the embedded ledger's PoRA state and transitions: epochs and their context
 * digests, registered miners, the checks of Mine.sol's submit in its order, rewards and
 * the difficulty update. Internal to chain/; pure computation on memory, no I/O, no clock.
 *
 * The state is plain fixed-size data inside struct chain_ledger, so a block's rollback
 * (a memcpy of the ledger) also rolls it back. docs/PORA.md ("Verification and rewards")
 * says where the embedded ledger differs from PoraMine (one subtask per epoch; the
 * context's block hash is that of the block before the epoch's first block).
 */
#ifndef CHAIN_PORA_I_H
#define CHAIN_PORA_I_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/buf_i.h"
#include "chain/chain.h"
#include "chain/limits.h"

/* PoraMine's maxShards as deployed. */
#define CHAIN_PORA_MAX_SHARDS 32

struct chain_pora_miner_state {
	uint8_t id[32];
	uint8_t beneficiary[CHAIN_ADDRESS_SIZE];
};

struct chain_pora_state {
	bool enabled;
	struct chain_pora_params params;
	uint8_t target[32];
	/* the current context */
	bool have_context;
	uint64_t epoch, mine_start, flow_length;
	uint8_t context[32], blockhash[32], flow_root[32];
	uint64_t epoch_answers;
	uint8_t qualities[2 * 64][32]; /* accepted this epoch, for the repeat check */
	/* epoch ranges with data, oldest first */
	uint64_t ncontexts;
	struct chain_pora_context contexts[CHAIN_PORA_CONTEXTS_MAX];
	uint64_t range_end; /* end of the newest recorded range */
	size_t nminers;
	struct chain_pora_miner_state miners[CHAIN_PORA_MINERS_MAX];
	uint64_t accepted, paid;
};

/* The per-epoch cap 2 × target_answers is bounded by the qualities array. */
#define CHAIN_PORA_TARGET_ANSWERS_MAX 64

/* Checks parameters: difficulty ≥ 1, epoch_blocks in [2, 2^32), target_answers in
 * [1, CHAIN_PORA_TARGET_ANSWERS_MAX]. Returns 0 or -EINVAL. */
int chain_pora_params_check(const struct chain_pora_params *p);

/* The subtask digest of the current context: keccak(context ‖ its block hash). */
void chain_pora_subtask_digest_of(const struct chain_pora_state *s, uint8_t ret_digest[32]);

/*
 * Flow proofs over the 0G tree rule (a level-k node covers [i·2^k, min((i+1)·2^k, L)); an
 * odd last node is carried up): chain_flow_proof_root() folds proof[0..n) onto the root of
 * the level-`level` node `index` of a flow of `length` sectors. Returns 0 and the root, or
 * -EINVAL when n is not the number of siblings that path has.
 */
int chain_flow_proof_root(const uint8_t node[32], uint64_t index, unsigned level, uint64_t length,
			  const uint8_t (*proof)[32], size_t n, uint8_t ret_root[32]);

/* How many siblings the path of that node has (what a prover must supply). */
size_t chain_flow_proof_len(uint64_t index, unsigned level, uint64_t length);

#endif
