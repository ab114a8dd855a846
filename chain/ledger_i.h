/*
 * ledger_i.h - the embedded ledger's state and its transactions. Internal to chain/.
 *
 * struct chain_ledger is the whole state the blocks produce, except settled entries (which
 * are written once and read from leveldb). chain_ledger_apply() is the only state
 * transition; it checks everything before it changes anything, so a transaction that fails
 * leaves the state as it was. A block is several transactions: take a mark before the
 * first and roll back to it if a later one fails. Pure computation, no I/O, no clock.
 */
#ifndef CHAIN_LEDGER_I_H
#define CHAIN_LEDGER_I_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/buf_i.h"
#include "chain/chain.h"
#include "chain/flow_i.h"
#include "chain/limits.h"
#include "chain/market_i.h"
#include "chain/da_ledger_i.h"
#include "chain/pora_i.h"

#define CHAIN_PUBKEY_SIZE    32
#define CHAIN_SIGNATURE_SIZE 64

/* Genesis parameters of a new local ledger (docs/LEDGER.md explains the numbers). The unit
 * of value is 1e-9 token ("gwei"); uint64 holds 1.8e10 tokens of it. */
#define CHAIN_LOCAL_CHAIN_ID	     0x7a676673ULL /* "zgfs" */
#define CHAIN_LOCAL_PRICE_PER_SECTOR 2384ULL	   /* 10 tokens per GiB-year, for one year */
#define CHAIN_LOCAL_SUPPLY	     1000000000000000000ULL /* 1e9 tokens to the node's account */
#define CHAIN_LOCAL_POOL_LIFETIME    (365ULL * 86400) /* seconds over which a full pool releases */

enum chain_tx_type {
	CHAIN_TX_GENESIS = 1,
	CHAIN_TX_SUBMIT = 2,
	CHAIN_TX_DONATE = 3,
	CHAIN_TX_PORA_SETUP = 4,    /* mining parameters, once, by the authority */
	CHAIN_TX_PORA_REGISTER = 5, /* requestMinerId */
	CHAIN_TX_PORA_ANSWER = 6,   /* submit(PoraAnswer) */
	CHAIN_TX_DA_SETUP = 7,	    /* DA parameters, once (the DA contract's constructor) */
	CHAIN_TX_DA_REGISTER = 8,   /* register(vrfKey, url) with stake */
	CHAIN_TX_DA_PUBLISH = 9,    /* publishProof(e, proof) */
	CHAIN_TX_DA_CERTIFY = 10,   /* certify(...) with the blob fee */
	CHAIN_TX_DA_ANSWER = 11,    /* answerSample(dataRoot, share, proof) */
	CHAIN_TX_DA_VOID = 12,	    /* voidCertificate(dataRoot, proof) */
};

struct chain_tx {
	uint8_t type;
	union {
		struct {
			uint64_t chain_id, price_per_sector, supply, pool_lifetime;
			uint8_t authority[CHAIN_PUBKEY_SIZE]; /* signs every block; funded */
		} genesis;
		struct {
			uint8_t sender[CHAIN_ADDRESS_SIZE];
			struct chain_submission sub;
		} submit;
		struct {
			uint8_t sender[CHAIN_ADDRESS_SIZE];
			uint64_t amount;
		} donate;
		struct {
			struct chain_pora_params params;
		} pora_setup;
		struct {
			uint8_t sender[CHAIN_ADDRESS_SIZE];
			uint64_t seed;
			uint8_t beneficiary[CHAIN_ADDRESS_SIZE];
		} pora_register;
		struct {
			uint8_t sender[CHAIN_ADDRESS_SIZE];
			struct chain_pora_answer answer;
		} pora_answer;
		struct {
			struct chain_da_config cfg;
		} da_setup;
		struct chain_da_tx da;
	};
};

struct chain_account_state {
	uint8_t address[CHAIN_ADDRESS_SIZE];
	uint64_t balance;
};

struct chain_ledger {
	bool genesis_done;
	/* set by the genesis transaction */
	uint64_t chain_id, price_per_sector, supply, pool_lifetime;
	uint8_t authority[CHAIN_PUBKEY_SIZE];
	/* head of the chain (valid once genesis_done) */
	uint64_t height, head_timestamp;
	uint8_t head[CODEC_HASH_SIZE];
	/* Flow */
	uint64_t next_tx_seq;
	struct chain_flowtree flow;
	/* accounts and Market */
	size_t naccounts;
	struct chain_account_state accounts[CHAIN_ACCOUNTS_MAX];
	struct chain_market market; /* owns the pools array */
	struct chain_pora_state pora;
	struct chain_da_state da;
	/* the block being applied: its one PoRA answer, which may have paid from any pool */
	bool answer_in_block;
	uint64_t answer_pool, answer_from_pool;
};

/* What a rollback needs: the plain fields, and the one pool a block can have changed among
 * those that existed before it (the flow only grows, so only the last one). */
struct chain_ledger_mark {
	struct chain_ledger saved;
	struct chain_pool_state last_pool;
};

/* An empty state (no genesis yet). */
void chain_ledger_init(struct chain_ledger *l);
void chain_ledger_release(struct chain_ledger *l); /* NULL-safe */

void chain_ledger_mark(const struct chain_ledger *l, struct chain_ledger_mark *ret_mark);
void chain_ledger_rollback(struct chain_ledger *l, const struct chain_ledger_mark *mark);

/* The account address of an ed25519 public key: the last 20 bytes of keccak256(pk). */
void chain_address_of(const uint8_t pk[CHAIN_PUBKEY_SIZE], uint8_t ret_address[CHAIN_ADDRESS_SIZE]);

/* The account with this address, or NULL. */
struct chain_account_state *chain_ledger_account(struct chain_ledger *l,
						 const uint8_t address[CHAIN_ADDRESS_SIZE]);

/*
 * chain_ledger_apply() - apply one transaction of block (height, timestamp).
 * @ret_entry: for a submission, the settled entry (may be NULL otherwise)
 * Returns 0; -CHAIN_EINVALID_SUBMISSION, -CHAIN_EFUNDS, -ENOSPC, -EOVERFLOW for a
 * submission; -EINVAL for a transaction that does not fit the state (a second genesis, a
 * donation of 0, an unknown sender); -ENOMEM. On error nothing changed.
 */
int chain_ledger_apply(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
		       uint64_t timestamp, struct chain_entry *ret_entry);

/*
 * chain_ledger_begin_block() - what happens at the start of block `height`, before its
 * transactions: a new PoRA epoch when the height enters one (context digest over the
 * previous block's hash and the flow as it stands, difficulty update), and the DA seeds of
 * the epoch and sampling period its timestamp enters. Returns 0 or the
 * -EOVERFLOW of the difficulty update. Call it once per block, between mark and apply.
 */
int chain_ledger_begin_block(struct chain_ledger *l, uint64_t height, uint64_t timestamp);

/* The PoRA transactions (chain/pora.c), with chain_ledger_apply()'s contract. An answer
 * fails with its -CHAIN_EPORA_* code; a second answer in one block with -EBUSY. */
int chain_ledger_pora_setup(struct chain_ledger *l, const struct chain_tx *tx);
int chain_ledger_pora_register(struct chain_ledger *l, const struct chain_tx *tx);
int chain_ledger_pora_answer(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
			     uint64_t timestamp);

/* The DA transactions (chain/da_ledger.c), with chain_ledger_apply()'s contract. A refusal
 * the contract would revert with is -CHAIN_EREVERTED with its reason in chain_last_detail()
 * (certify: the -CHAIN_EDA_* code of chain_da_cert_verify()); a second DA change in one
 * block is -EBUSY. */
int chain_ledger_da_apply(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
			  uint64_t timestamp);
/* At the start of each block: the seeds of the epoch and period it enters. */
void chain_ledger_da_begin_block(struct chain_ledger *l, uint64_t timestamp);
/* Rollback's half for the certificates (called with the mark's saved count). */
void chain_ledger_da_rollback(struct chain_ledger *l, uint64_t saved_ncerts);

/* The PoRA part of the state record (version 2). */
void chain_pora_state_encode(const struct chain_pora_state *s, struct chain_wbuf *w);
int chain_pora_state_decode(struct chain_rbuf *r, struct chain_pora_state *s);

/* Sum of balances, donations and pools: always the genesis supply. */
bool chain_ledger_conserved(const struct chain_ledger *l);

/*
 * Stored records, each versioned and length-checked:
 * state: everything in struct chain_ledger except the pools (npools is in it);
 * pool:  one struct chain_pool_state;
 * entry: one struct chain_entry.
 * Encoders leave their error in w->err; decoders return 0 or -CHAIN_ETAMPERED.
 */
void chain_state_encode(const struct chain_ledger *l, struct chain_wbuf *w);
int chain_state_decode(const uint8_t *p, size_t n, struct chain_ledger *l, uint64_t *ret_npools);
void chain_pool_encode(const struct chain_pool_state *p, struct chain_wbuf *w);
int chain_pool_decode(const uint8_t *p, size_t n, struct chain_pool_state *ret_pool);
void chain_entry_encode(const struct chain_entry *e, struct chain_wbuf *w);
int chain_entry_decode(const uint8_t *p, size_t n, struct chain_entry *e); /* e: scratch */

#endif
