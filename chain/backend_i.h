/*
 * backend_i.h - what a chain backend provides. Internal to chain/.
 *
 * struct chain is the first member of each backend's own struct; chain.c checks the
 * arguments of the public functions and forwards to these operations, so a backend sees
 * only valid pointers. Each operation has the contract of its public function in chain.h.
 */
#ifndef CHAIN_BACKEND_I_H
#define CHAIN_BACKEND_I_H

#include "chain/chain.h"

struct chain_ops {
	void (*close)(struct chain *c);
	int (*submit)(struct chain *c, const struct chain_submission *sub,
		      struct chain_entry *ret_entry);
	/* NULL: submit does it (a remote chain has nothing to defer) */
	int (*submit_lazy)(struct chain *c, const struct chain_submission *sub,
			   struct chain_entry *ret_entry);
	int (*entry_get)(struct chain *c, uint64_t tx_seq, struct chain_entry *ret_entry);
	int (*flow_info)(struct chain *c, struct chain_flow *ret_flow);
	int (*account)(struct chain *c, uint8_t ret_address[CHAIN_ADDRESS_SIZE],
		       uint64_t *ret_balance);
	int (*donate)(struct chain *c, uint64_t amount);
	int (*donations)(struct chain *c, uint64_t *ret_balance);
	int (*pools)(struct chain *c, struct chain_pool *pools, size_t max, size_t *ret_n);
	int (*verify)(struct chain *c, chain_progress_fn *fn, void *ctx,
		      struct chain_verify_report *ret_report);
	int (*sync)(struct chain *c); /* NULL: nothing to follow */
	/* PoRA; NULL where the backend has none yet (-ENOTSUP) */
	int (*pora_setup)(struct chain *c, const struct chain_pora_params *params);
	int (*pora_info)(struct chain *c, struct chain_pora_info *ret_info);
	int (*pora_register)(struct chain *c, uint64_t seed,
			     const uint8_t beneficiary[CHAIN_ADDRESS_SIZE], uint8_t ret_id[32]);
	int (*pora_miner)(struct chain *c, const uint8_t id[32],
			  uint8_t ret_beneficiary[CHAIN_ADDRESS_SIZE]);
	int (*pora_miner_of)(struct chain *c, const uint8_t beneficiary[CHAIN_ADDRESS_SIZE],
			     uint8_t ret_id[32]);
	int (*pora_contexts)(struct chain *c, size_t from, struct chain_pora_context *ctxs,
			     size_t max, size_t *ret_n);
	int (*pora_tick)(struct chain *c);
	int (*pora_submit)(struct chain *c, const struct chain_pora_answer *a, uint64_t *ret_reward);
	int (*account_balance)(struct chain *c, const uint8_t address[CHAIN_ADDRESS_SIZE],
			       uint64_t *ret_balance);
	/* The node registry. chain.c has checked url (1 to CHAIN_REGISTRY_URL_MAX bytes) and
	 * the shard (chain_shard_check), and passes replaces as NULL when it is all zero. */
	int (*registry_policy)(struct chain *c, struct chain_policy *ret_policy);
	int (*registry_register)(struct chain *c, const char *url, uint64_t shard_id,
				 uint64_t num_shard, const uint8_t *replaces, uint64_t *ret_index);
	int (*registry_nodes)(struct chain *c, struct chain_node *nodes, size_t max, size_t *ret_n);
	int (*da_contract)(struct chain *c, struct chain_da_contract *ret); /* NULL: -ENOTSUP */
	/* The DA contract's operations (chain.c has checked the arguments); NULL: -ENOTSUP */
	int (*da_register)(struct chain *c, const uint8_t vrf_key[32], const char *url,
			   uint64_t stake);
	int (*da_signers)(struct chain *c, uint64_t epoch, struct chain_da_signer *signers,
			  size_t max, size_t *ret_n);
	int (*da_seed)(struct chain *c, uint64_t epoch, uint8_t ret_seed[32]);
	int (*da_make_seed)(struct chain *c);
	int (*da_publish)(struct chain *c, uint64_t epoch, const uint8_t proof[80]);
	int (*da_certify)(struct chain *c, const struct chain_da_quorum *q,
			  const struct chain_da_cert *cert, unsigned *ret_slots);
	int (*da_certificate)(struct chain *c, const uint8_t data_root[32],
			      struct chain_da_record *ret);
	int (*da_void)(struct chain *c, const uint8_t data_root[32], const uint8_t *proof,
		       size_t len);
	int (*da_make_sample_seed)(struct chain *c);
	int (*da_challenge)(struct chain *c, const uint8_t data_root[32],
			    const uint8_t account[CHAIN_ADDRESS_SIZE],
			    struct chain_da_challenge *ret);
	int (*da_answer)(struct chain *c, const uint8_t data_root[32], const uint8_t *share,
			 size_t share_size, const struct codec_da_proof *proof);
	int (*da_earned)(struct chain *c, const uint8_t account[CHAIN_ADDRESS_SIZE],
			 uint64_t *ret_wei);
	int (*sign_digest)(struct chain *c, const uint8_t digest[32], uint8_t ret_sig[65]);
	int (*da_setup)(struct chain *c, const struct chain_da_config *cfg); /* NULL: -ENOTSUP */
	/* NULL: the account of account() */
	int (*da_account)(struct chain *c, uint8_t ret[CHAIN_ADDRESS_SIZE]);
};

/* Empties what chain_last_detail() returns in this thread. */
void chain_clear_detail(void);

struct chain {
	const struct chain_ops *ops;
};

#endif
