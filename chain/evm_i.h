/*
 * evm_i.h - the EVM backend's state, shared by evm.c (following, submitting, deploying)
 * and evm_pora.c (the Mine contract). Internal to chain/.
 *
 * Thread-safety: as described in evm.c; the helpers below may be called from any thread
 * that holds no lock of struct chain_evm.
 */
#ifndef CHAIN_EVM_I_H
#define CHAIN_EVM_I_H

#include <leveldb/c.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "chain/backend_i.h"
#include "chain/buf_i.h"
#include "chain/evm_key_i.h"
#include "chain/evm_rpc_i.h"
#include "chain/flow_i.h"

struct evm_req {
	const struct chain_submission *sub;
	uint64_t sectors, fee;
	uint8_t digest[CODEC_HASH_SIZE];
	int result;
	uint64_t index;
	bool done;
	char detail[512];
	struct evm_req *next;
};

struct chain_evm {
	struct chain base;
	struct chain_evm_rpc *rpc;
	char url[512];
	bool has_key;
	struct chain_evm_key key;
	uint8_t flow[CHAIN_ADDRESS_SIZE], market[CHAIN_ADDRESS_SIZE];
	uint8_t registry[CHAIN_ADDRESS_SIZE]; /* Flow.registry(); zero: none */
	bool has_registry;
	uint8_t mine[CHAIN_ADDRESS_SIZE]; /* Market.mine(); zero: none (no PoRA) */
	bool has_mine;
	uint64_t first_block, blocks_per_epoch; /* the Flow's epochs, with a Mine */
	struct chain_policy policy;		/* the registry's, immutable: read at open */
	uint8_t topic[CODEC_HASH_SIZE];		/* Submit's topic0 */
	uint64_t chain_id, price, from_block;
	unsigned confirmations;

	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wopts;

	/* Following: sync_mu serializes chain_sync(); mu guards the fields below it, which
	 * readers take briefly. */
	pthread_mutex_t sync_mu;
	pthread_mutex_t mu;
	uint64_t next_seq; /* entries followed */
	uint64_t scanned;  /* every block ≤ scanned has been read (from_block - 1 at first) */
	struct chain_flowtree tree;
	uint64_t head_block;
	uint8_t head_hash[CODEC_HASH_SIZE];
	bool diverged;
	struct timespec last_sync;
	/* the DA contract's immutable parameters, read once per address it is at */
	bool da_known;
	struct chain_da_contract da_params;

	/* Submitting: the group commit queue (qmu), the leader's nonce. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	struct evm_req *qhead, **qtail;
	bool busy;
	uint64_t nonce;
	bool nonce_known;
	uint64_t tip, max_fee; /* the fees offered, read at fees_at */
	struct timespec fees_at;
	bool fees_known;
};

static inline struct chain_evm *to_evm(struct chain *c)
{
	return (struct chain_evm *)c;
}

/* A uint256 that may not fit in 64 bits: saturated. */
uint64_t chain_evm_u256_saturate(const uint8_t w[32]);

/* An eth_call of calldata `in` to `to` at the latest block; the return data in res.
 * Returns 0, or the backend's code with chain_last_detail() naming `what`. */
int chain_evm_view_raw(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE],
		       const struct chain_wbuf *in, const char *what, struct chain_wbuf *res);

/* A view with no argument or one u64 argument, returning at least `words` words. */
int chain_evm_view(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE], const char *sig,
		   bool has_arg, uint64_t arg, uint8_t *out, size_t words);

/* One transaction from the key outside the submission queue (it takes the queue's leader
 * slot, so a nonce is never used twice), waiting for its receipt; its logs go to fn (may
 * be NULL). Reverts come back as their codes (chain_evm_revert_code). */
int chain_evm_send(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE], uint64_t value,
		   const uint8_t *data, size_t len, chain_evm_log_fn *fn, void *ctx);

/* evm_da.c: the DA contract named by Market.da() and its state, for evm_ops. */
int chain_evm_da_contract(struct chain *c, struct chain_da_contract *ret);
int chain_evm_da_register(struct chain *c, const uint8_t vrf_key[32], const char *url,
			  uint64_t stake);
int chain_evm_da_signers(struct chain *c, uint64_t epoch, struct chain_da_signer *signers,
			 size_t max, size_t *ret_n);
int chain_evm_da_seed(struct chain *c, uint64_t epoch, uint8_t ret_seed[32]);
int chain_evm_da_make_seed(struct chain *c);
int chain_evm_da_publish(struct chain *c, uint64_t epoch, const uint8_t proof[80]);
int chain_evm_da_certify(struct chain *c, const struct chain_da_quorum *q,
			 const struct chain_da_cert *cert, unsigned *ret_slots);
int chain_evm_da_certificate(struct chain *c, const uint8_t data_root[32],
			     struct chain_da_record *ret);
int chain_evm_da_void(struct chain *c, const uint8_t data_root[32], const uint8_t *proof,
		      size_t len);
int chain_evm_da_make_sample_seed(struct chain *c);
int chain_evm_da_challenge(struct chain *c, const uint8_t data_root[32],
			   const uint8_t account[CHAIN_ADDRESS_SIZE],
			   struct chain_da_challenge *ret);
int chain_evm_da_answer(struct chain *c, const uint8_t data_root[32], const uint8_t *share,
			size_t share_size, const struct codec_da_proof *proof);
int chain_evm_da_earned(struct chain *c, const uint8_t account[CHAIN_ADDRESS_SIZE],
			uint64_t *ret_wei);
int chain_evm_sign_digest(struct chain *c, const uint8_t digest[32], uint8_t ret_sig[65]);

/* evm_pora.c: reads Market.mine() and the Flow's epochs at open (no Mine: has_mine false). */
int chain_evm_pora_load(struct chain_evm *c);

/* evm_pora.c: the PoRA operations of the EVM backend, for evm_ops. */
int chain_evm_pora_info(struct chain *c, struct chain_pora_info *ret_info);
int chain_evm_pora_register(struct chain *c, uint64_t seed,
			    const uint8_t beneficiary[CHAIN_ADDRESS_SIZE], uint8_t ret_id[32]);
int chain_evm_pora_miner(struct chain *c, const uint8_t id[32],
			 uint8_t ret_beneficiary[CHAIN_ADDRESS_SIZE]);
int chain_evm_pora_miner_of(struct chain *c, const uint8_t beneficiary[CHAIN_ADDRESS_SIZE],
			    uint8_t ret_id[32]);
int chain_evm_pora_contexts(struct chain *c, size_t from, struct chain_pora_context *ctxs,
			    size_t max, size_t *ret_n);
int chain_evm_pora_tick(struct chain *c);
int chain_evm_pora_submit(struct chain *c, const struct chain_pora_answer *a, uint64_t *ret_reward);

#endif
