/*
 * da_ledger_i.h - the embedded ledger's DA state and transitions: the rules of DA.sol
 * (signers and stake, epoch seeds, VRF proofs, certificates and the blob fee, sampling
 * challenges, answers and rewards, voiding by a bad-encoding proof) applied to the
 * ledger's own state. Internal to chain/; pure computation on memory, no I/O, no clock.
 *
 * Where the embedded ledger differs from the contract (docs/DA.md, "On the embedded
 * ledger"): its blocks come only when something settles, so epochs and sampling periods
 * count seconds of block time (the config's epoch_blocks and sample_blocks are seconds);
 * the seed of an epoch or period is the hash of the block before the first block in it,
 * recorded when that block begins; certify re-derives the epoch's quorum itself (the VRF
 * proofs included) instead of checking the layout the sender names.
 *
 * The fixed part lives in struct chain_ledger, so a block's rollback (a memcpy) rolls it
 * back; the certificates are an array the state owns, like the pools, of which a block
 * changes at most one (a second DA change in one block is -EBUSY).
 */
#ifndef CHAIN_DA_LEDGER_I_H
#define CHAIN_DA_LEDGER_I_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/buf_i.h"
#include "chain/chain.h"
#include "chain/da.h"
#include "codec/vrf.h"

#define CHAIN_DA_LOCAL_SIGNERS	 8	    /* signers one embedded ledger registers */
#define CHAIN_DA_LOCAL_SEEDS	 16	    /* epochs (and periods) whose seed is kept */
#define CHAIN_DA_LOCAL_PROOFS	 3	    /* epochs whose proof a signer keeps */
#define CHAIN_DA_LOCAL_CERTS_MAX (1u << 18) /* certificates one embedded ledger records */

struct chain_da_signer_state {
	uint8_t account[CHAIN_ADDRESS_SIZE]; /* signs certificates (secp256k1) */
	uint8_t payer[CHAIN_ADDRESS_SIZE];   /* the ledger account its stake came from */
	uint8_t vrf_key[CODEC_VRF_PUBLIC_SIZE];
	uint64_t stake, earned, registered; /* registered: the block */
	char url[CHAIN_REGISTRY_URL_MAX + 1];
	struct {
		uint64_t epoch1; /* epoch + 1; 0: empty */
		uint8_t proof[CODEC_VRF_PROOF_SIZE];
	} proofs[CHAIN_DA_LOCAL_PROOFS];
};

struct chain_da_seed_state {
	uint64_t n1; /* epoch or period + 1; 0: empty */
	uint8_t seed[32];
};

struct chain_da_cert_state {
	uint8_t root[32], quorum[32];
	uint64_t epoch, len, block, time, fee;
	uint16_t slots_signed;
	uint8_t members, nsigners;
	bool voided;
	struct {
		uint8_t account[CHAIN_ADDRESS_SIZE];
		uint8_t rank;
		uint64_t answered1; /* the period last answered + 1; 0: never */
	} sig[CHAIN_DA_LOCAL_SIGNERS];
};

struct chain_da_state {
	bool enabled;
	struct chain_da_config cfg; /* epoch_blocks and sample_blocks: seconds */
	uint64_t first_block, first_time, reward_pool;
	size_t nsigners;
	struct chain_da_signer_state signers[CHAIN_DA_LOCAL_SIGNERS];
	struct chain_da_seed_state seeds[CHAIN_DA_LOCAL_SEEDS], sample_seeds[CHAIN_DA_LOCAL_SEEDS];
	/* owned; a rollback keeps the allocation and cuts the count */
	uint64_t ncerts, cap;
	struct chain_da_cert_state *certs;
	/* the block being applied: its one DA change, and the certificate before it */
	bool in_block;
	uint64_t touched1; /* index + 1 of the certificate it changed or added; 0: none */
	struct chain_da_cert_state before;
};

/* A DA transaction (every kind but the setup), as block.c carries it. data is owned by a
 * decoded block (chain_block_release frees it) and borrowed otherwise. */
struct chain_da_tx {
	uint8_t sender[CHAIN_ADDRESS_SIZE];  /* the ledger account that pays */
	uint8_t account[CHAIN_ADDRESS_SIZE]; /* the signer it acts for */
	uint8_t root[32];		     /* a blob's data root */
	uint8_t key[32];		     /* register: the VRF key */
	uint64_t value;			     /* register: stake; answer: the share's size */
	uint64_t epoch;			     /* publish: the epoch */
	uint32_t len;			     /* data: */
	uint8_t
	    *data; /* register: URL; publish: proof; certify: certificate (chain_da_cert_encode);
	      answer: share ‖ codec_da_proof_encode(); void: bad-encoding proof */
};
#define CHAIN_DA_TX_DATA_MAX CODEC_DA_BEFP_MAX

/* The epoch and the sampling period of block time ts. */
uint64_t chain_da_state_epoch(const struct chain_da_state *s, uint64_t ts);
uint64_t chain_da_state_period(const struct chain_da_state *s, uint64_t ts);

/* The seed recorded for epoch (or period) n, or NULL. */
const uint8_t *chain_da_state_seed(const struct chain_da_seed_state *ring, uint64_t n);

/* The signer with this account, or NULL. */
struct chain_da_signer_state *chain_da_state_signer(struct chain_da_state *s,
						    const uint8_t account[CHAIN_ADDRESS_SIZE]);
/* The proof signer published for epoch e, or NULL. */
const uint8_t *chain_da_state_proof(const struct chain_da_signer_state *s, uint64_t e);

/* The certificate of data_root, or NULL. */
struct chain_da_cert_state *chain_da_state_cert(const struct chain_da_state *s,
						const uint8_t root[32]);

/* What account owes for certificate c in period p whose seed is seed (DA.challenge()). */
void chain_da_state_challenge(const struct chain_da_state *s, const struct chain_da_cert_state *c,
			      const uint8_t account[CHAIN_ADDRESS_SIZE], uint64_t p,
			      const uint8_t seed[32], struct chain_da_challenge *ret);

/* The blob fee of a blob of len bytes: -EOVERFLOW past uint64. */
int chain_da_state_fee(const struct chain_da_state *s, uint64_t len, uint64_t *ret_fee);

/* Checks a DA configuration for the embedded ledger: 0 or -EINVAL (a detail says which). */
int chain_da_config_check(const struct chain_da_config *cfg);

/* The record of certificate c (version 1) and its decoder (-CHAIN_ETAMPERED). */
void chain_da_cert_state_encode(const struct chain_da_cert_state *c, struct chain_wbuf *w);
int chain_da_cert_state_decode(const uint8_t *p, size_t n, struct chain_da_cert_state *ret);

/*
 * The record of epoch e's draw inputs, written with every block that certifies in e (the
 * same bytes each time: nothing of them changes once e has begun), so that a certificate
 * of an old epoch can still be checked against its draw after the rings have moved on:
 * u8 version; seed of e − 1 [32]; u8 n; n × (account[20], proof[80]) of the signers with a
 * proof for e. chain_da_draw_record() returns -ENOENT when s has no seed of e − 1.
 */
struct chain_da_draw_record {
	uint8_t seed[32];
	uint8_t n;
	struct {
		uint8_t account[CHAIN_ADDRESS_SIZE];
		uint8_t proof[CODEC_VRF_PROOF_SIZE];
	} p[CHAIN_DA_LOCAL_SIGNERS];
};
int chain_da_draw_record(const struct chain_da_state *s, uint64_t e, struct chain_wbuf *w);
int chain_da_draw_record_decode(const uint8_t *p, size_t n, struct chain_da_draw_record *ret);

/* The DA part of the state record (version 3), without the certificates (ncerts only). */
void chain_da_state_encode(const struct chain_da_state *s, struct chain_wbuf *w);
int chain_da_state_decode(struct chain_rbuf *r, struct chain_da_state *s);

/* Room for n certificates: 0, -ENOSPC past CHAIN_DA_LOCAL_CERTS_MAX, -ENOMEM. */
int chain_da_state_reserve(struct chain_da_state *s, uint64_t n);
void chain_da_state_release(struct chain_da_state *s);

/* Stake, earnings and the reward pool, added to *sum: false on overflow. */
bool chain_da_state_value(const struct chain_da_state *s, uint64_t *sum);

#endif
