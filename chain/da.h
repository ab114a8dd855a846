/*
 * da.h - the rules of data availability above the codec (docs/DA.md, "Signers, quorums
 * and certificates"): an epoch's quorum drawn from the signers' stake and VRF proofs, the
 * slots each member holds, what a signer signs, and certificates, their encoding and
 * their check. Pure computation (and secp256k1 signatures): the DA contract, the embedded
 * ledger and every node apply these same functions, so all of them derive the same quorum
 * from public data.
 *
 * Functions return 0 or -errno / -CHAIN_EDA_*; ret_ params are written only on success.
 * Thread-safe.
 */
#ifndef CHAIN_DA_H
#define CHAIN_DA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "codec/vrf.h"

#define CHAIN_DA_SLOTS_MAX	64   /* slots of one quorum (T) */
#define CHAIN_DA_SIGNERS_MAX	1024 /* signers one draw ranks */
#define CHAIN_DA_TICKETS_MAX	1024 /* tickets one signer's stake buys at most */
#define CHAIN_DA_SIGNATURE_SIZE 65   /* r ‖ s ‖ v (0 or 1), Ethereum's recoverable form */
#define CHAIN_DA_ALPHA_SIZE	(15 + 8 + CHAIN_ADDRESS_SIZE + 8 + 32)
#define CHAIN_DA_CERT_MAX	(32 + 8 + 8 + 32 + 1 + CHAIN_DA_SLOTS_MAX * 66)

/* The public inputs of one epoch's draw. */
struct chain_da_epoch {
	uint64_t chain_id;
	uint8_t contract[CHAIN_ADDRESS_SIZE]; /* the DA contract (zero on the embedded ledger) */
	uint64_t epoch;
	uint8_t seed[32];    /* the hash of the epoch's first block */
	uint64_t stake_unit; /* the stake one ticket costs (> 0) */
	unsigned slots;	     /* T, 1 to CHAIN_DA_SLOTS_MAX */
};

/* A registered signer, with the VRF proof it published for the epoch. */
struct chain_da_signer {
	uint8_t account[CHAIN_ADDRESS_SIZE]; /* signs certificates */
	uint8_t vrf_key[CODEC_VRF_PUBLIC_SIZE];
	uint64_t stake;
	uint8_t proof[CODEC_VRF_PROOF_SIZE];
	bool has_proof;			      /* as chain_da_signers() read it */
	char url[CHAIN_REGISTRY_URL_MAX + 1]; /* where its DA methods answer */
};

/* An epoch's quorum: its members in rank order (indexes into the signers given), who holds
 * each slot (a rank), and the digest that commits to it. */
struct chain_da_quorum {
	uint64_t epoch;
	unsigned slots;
	size_t members;
	uint16_t member[CHAIN_DA_SLOTS_MAX]; /* rank → index in the signer list */
	uint8_t account[CHAIN_DA_SLOTS_MAX][CHAIN_ADDRESS_SIZE]; /* rank → account */
	uint8_t slot_rank[CHAIN_DA_SLOTS_MAX];			 /* slot → rank */
	uint8_t digest[32];
};

/*
 * chain_da_holds() - whether the member of rank `rank` holds row `row` of a blob whose
 * extended square has `rows` rows (2k), in quorum q: slot i holds the rows r with
 * r ≡ i (mod m), m = min(T, 2k) (docs/DA.md, "Quorum and slots"), so with 2k ≥ T slot i
 * holds the rows ≡ i (mod T), and with fewer rows than slots every slot still holds one
 * (row i mod 2k) and each row is held by several members. Pure.
 */
bool chain_da_holds(const struct chain_da_quorum *q, unsigned rank, unsigned row, unsigned rows);

/* alpha, the VRF input of an epoch: "zgfs da quorum" 0x00 ‖ be64 chainId ‖ contract ‖
 * be64 epoch ‖ seed. */
void chain_da_alpha(const struct chain_da_epoch *ep, uint8_t ret_alpha[CHAIN_DA_ALPHA_SIZE]);

/*
 * chain_da_quorum() - the draw of epoch ep among n signers: each signer's proof is
 * verified against alpha (a signer whose proof fails, whose stake buys no ticket, or that
 * repeats an account is left out), ranked by its smallest ticket key, and the first
 * min(T, ranked) ranks are the members; slot j is held by rank j mod members. -EINVAL:
 * bad parameters or n over CHAIN_DA_SIGNERS_MAX; -ENOENT: no signer qualifies.
 */
int chain_da_quorum(const struct chain_da_epoch *ep, const struct chain_da_signer *signers,
		    size_t n, struct chain_da_quorum *ret);

/* The digest a signer signs for a blob (data root D, length len) in quorum q. */
void chain_da_sign_digest(const struct chain_da_epoch *ep, const struct chain_da_quorum *q,
			  const uint8_t data_root[32], uint64_t len, uint8_t ret_digest[32]);

/* A signature of digest by the account whose secret is given (32 bytes), as a DA signer
 * makes it. -EINVAL for an invalid secret. */
__attribute__((warn_unused_result)) int chain_da_sign(const uint8_t secret[32],
						      const uint8_t digest[32],
						      uint8_t ret_sig[CHAIN_DA_SIGNATURE_SIZE]);

/* The account of a secret (its EVM address). */
__attribute__((warn_unused_result)) int chain_da_account(const uint8_t secret[32],
							 uint8_t ret[CHAIN_ADDRESS_SIZE]);

/* A certificate: a blob, its epoch and quorum, and signatures by rank (increasing). */
struct chain_da_cert {
	uint8_t data_root[32];
	uint64_t len, epoch;
	uint8_t quorum[32];
	size_t nsigs;
	uint8_t rank[CHAIN_DA_SLOTS_MAX];
	uint8_t sig[CHAIN_DA_SLOTS_MAX][CHAIN_DA_SIGNATURE_SIZE];
};

/* The encoding of docs/DA.md: returns the bytes written to out (CHAIN_DA_CERT_MAX), or 0
 * when the certificate holds no signature or more than CHAIN_DA_SLOTS_MAX. */
size_t chain_da_cert_encode(const struct chain_da_cert *c, uint8_t *out);

/* Parses exactly len bytes: -CODEC_EFORMAT when they are not one certificate (lengths,
 * no signature, ranks not strictly increasing). */
__attribute__((warn_unused_result)) int chain_da_cert_decode(const uint8_t *p, size_t len,
							     struct chain_da_cert *ret);

/*
 * chain_da_cert_verify() - whether c certifies its blob in quorum q of epoch ep: 0, or
 * the first refusal of docs/DA.md ("Refusals"). *ret_slots (may be NULL) gets the slots
 * the valid signatures hold, when the checks reached that far.
 */
__attribute__((warn_unused_result)) int chain_da_cert_verify(const struct chain_da_epoch *ep,
							     const struct chain_da_quorum *q,
							     const struct chain_da_cert *c,
							     unsigned *ret_slots);

/*
 * chain_da_draw() - epoch e's draw as chain c now records it: the DA contract's
 * parameters and the seed of e − 1 in *ret_ep, the registered signers with the proofs they
 * published for e (up to max, *ret_n of them, in registration order), and the quorum
 * chain_da_quorum() derives from them. -ENOENT (a detail says which) when the chain has no
 * DA contract, e − 1 has no seed yet or no signer qualifies; the errors of the reads.
 * Not pure: it reads the chain (a few eth_calls per signer on EVM).
 */
int chain_da_draw(struct chain *c, uint64_t epoch, struct chain_da_epoch *ret_ep,
		  struct chain_da_signer *signers, size_t max, size_t *ret_n,
		  struct chain_da_quorum *ret_q);

#endif
