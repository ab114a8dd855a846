/*
 * da_i.h - the node's part in data availability (docs/DA.md, "Dispersal and retrieval"):
 * a DA signer that stores the rows of blobs it is given, checked against their data
 * root, and signs for its slots of an epoch's quorum; the reads that serve those rows and
 * shares with proofs; and, on any node with a chain that has a DA contract, the epoch
 * draws and the settlement of certificates. Internal to node/; node_local.c opens it and
 * the RPC methods (node/rpc/methods_da.c) call it.
 *
 * A signer (`zgfs node --da`) registers its account on the DA contract with its node
 * key's Ed25519 public key as its VRF key, its public URL and a stake, then publishes its
 * VRF proof for the next epoch once in every epoch, from a thread of its own.
 *
 * On disk, under DIR/da/<data root, 64 hex digits>/: `roots` (the blob's length and its
 * 4k line roots, checked against the data root) and `row.<r>` for each row held (its 2k
 * shares, checked to be a codeword under its row root); each written to a temporary name,
 * synced and renamed, so a crash leaves a row whole or absent, and a signature is given
 * only for rows already synced.
 *
 * Functions return 0 or -errno, -CODEC_* (a row or root that does not check) or -CHAIN_*
 * codes. Thread-safe.
 */
#ifndef NODE_DA_DA_I_H
#define NODE_DA_DA_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chain/chain.h"
#include "chain/da.h"
#include "codec/da.h"

struct node_da;

struct node_da_config {
	const char *data_dir;
	/* A signer: the node key's Ed25519 seed (32 bytes) for the VRF, the URL registered for
	 * it and the stake to register with (0: the contract's minStake). NULL: not a signer. */
	const uint8_t *vrf_seed;
	const char *url;
	uint64_t stake;
	unsigned tick_ms;   /* how often the signer looks at the epoch; 0: 500 */
	unsigned max_blobs; /* blobs held at once; 0: NODE_DA_BLOBS_DEFAULT */
};

/* Opens the DA part of a node on chain (which must outlive it). A signer registers (or
 * re-registers, when its key, URL or stake changed) before this returns, and starts its
 * thread. -ENOENT when the chain has no DA contract (an embedded ledger not set up for DA);
 * -CHAIN_ENOKEY for a signer without an account key; the chain's errors. */
int node_da_open(const struct node_da_config *cfg, struct chain *chain, struct node_da **ret);
void node_da_close(struct node_da *d); /* NULL-safe */

bool node_da_is_signer(const struct node_da *d);

/* A blob to hold rows of: its length and its 4k line roots (row roots, then column roots)
 * under data root `root`. -EINVAL: nroots is not 4k for the length's geometry, or len over
 * CODEC_DA_MAX_BLOB; -CODEC_EDA_DATA_ROOT: the roots are not the data root's; -ENOSPC: the
 * signer holds max_blobs already, or the blob's extended square would leave less than
 * NODE_DA_DISK_RESERVE free. Again for a known blob: 0 when it is the same, -EEXIST when
 * the length differs. The signer's thread drops blobs not certified within
 * NODE_DA_PENDING_EPOCHS epochs of their beginning, voided ones, and certified ones once
 * their sampling window is over. */
int node_da_begin(struct node_da *d, const uint8_t root[32], uint64_t len, const codec_hash *roots,
		  size_t nroots);

/* Row r of a begun blob: 2k shares (len bytes). -ENOENT (not begun), -EINVAL (r or len
 * off the geometry), -CODEC_EDA_CODEWORD, -CODEC_EDA_SHARE (not under its row root). */
int node_da_put_row(struct node_da *d, const uint8_t root[32], unsigned r, const uint8_t *data,
		    size_t len);

/*
 * node_da_sign() - sign blob root for epoch's quorum, whose digest the disperser names:
 * checks that the epoch has begun, that quorum is the digest this node derives for it
 * (-CHAIN_EDA_QUORUM), that this node is a member (-CHAIN_EDA_MEMBER) and that it holds
 * every row of its slots (-ENODATA, with the first missing row in *ret_missing when not
 * NULL). Returns its rank and its signature of the sign digest.
 */
int node_da_sign(struct node_da *d, const uint8_t root[32], uint64_t epoch,
		 const uint8_t quorum[32], unsigned *ret_rank,
		 uint8_t ret_sig[CHAIN_DA_SIGNATURE_SIZE], unsigned *ret_missing);

/* The length and the 4k line roots of a held blob (roots: room for 4·CODEC_DA_MAX_K).
 * -ENOENT when it is not held. */
int node_da_roots(struct node_da *d, const uint8_t root[32], uint64_t *ret_len, codec_hash *roots,
		  size_t *ret_n);

/* Row r of a held blob into buf (max bytes): *ret_len bytes. -ENOENT when not held. */
int node_da_row(struct node_da *d, const uint8_t root[32], unsigned r, uint8_t *buf, size_t max,
		size_t *ret_len);

/* Share (r, c) of a held row into share (CODEC_DA_MAX_SHARE bytes), its size and its proof
 * through the row. -ENOENT when the row is not held. */
int node_da_share(struct node_da *d, const uint8_t root[32], unsigned r, unsigned c, uint8_t *share,
		  size_t *ret_size, struct codec_da_proof *ret_proof);

/* Epoch e's draw (chain_da_draw()), kept for epochs that have begun. signers: room for
 * max. */
int node_da_draw(struct node_da *d, uint64_t epoch, struct chain_da_epoch *ret_ep,
		 struct chain_da_signer *signers, size_t max, size_t *ret_n,
		 struct chain_da_quorum *ret_q);

/* Settle an encoded certificate on the chain once it checks against the derived quorum
 * of its epoch (chain_da_cert_verify()); *ret_slots the slots it holds. -EEXIST when the
 * blob is certified already (then *ret_slots is what the chain records). */
int node_da_certify(struct node_da *d, const uint8_t *cert, size_t len, unsigned *ret_slots);

/* Void the certificate of root with a bad-encoding proof (len bytes), checked here first
 * (codec_da_befp_verify() for the certified length's geometry) so that a proof the
 * contract would refuse is never sent. -ENOENT: no certificate; -EALREADY: voided
 * already; the verifier's -CODEC_* errors; the chain's. */
int node_da_void(struct node_da *d, const uint8_t root[32], const uint8_t *proof, size_t len);

/* The certificate the chain records for root, and whether its quorum digest is the one
 * this node derives for its epoch (a certificate whose quorum is not the epoch's draw is
 * not trusted as available). -ENOENT when none is recorded. */
int node_da_certificate(struct node_da *d, const uint8_t root[32], struct chain_da_record *ret,
			bool *ret_quorum_ok);

/* What the signer has done, for zgfs_daStatus: {signer, account, registered, epoch,
 * publishedFor, blobs, rowsStored, signatures, lastError}. NULL: -ENOMEM. */
json_t *node_da_status(struct node_da *d);

#endif
