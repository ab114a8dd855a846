/*
 * da.h - a DA client over the zgfs_da* methods (docs/DA.md, "Dispersal and retrieval"):
 * disperse a blob to the current epoch's quorum and have its certificate settled, rebuild
 * a certified blob from whichever signers answer, and sample shares with proofs.
 *
 * The client trusts no one it talks to: it re-derives the quorum from the draw's public
 * inputs (chain_da_quorum), checks every signature (chain_da_cert_verify) before it asks
 * for a certificate, and checks every row and share it reads against the data root. The
 * entry node (url) only relays the chain's state and settles the certificate.
 *
 * Functions return 0 or -errno / -CODEC_* / -CHAIN_*, and write a sentence a user can act
 * on into why (why_size bytes) on failure. Thread-safe (no shared state).
 */
#ifndef NODE_DA_H
#define NODE_DA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/da.h"

struct node_da_put_report {
	uint8_t root[32];
	uint64_t len, epoch;
	uint8_t quorum[32]; /* the epoch's quorum digest */
	unsigned k, slots, members, slots_signed;
	double encode_s, disperse_s, certify_s, store_s; /* seconds spent in each step */
	uint64_t log_tx_seq; /* the extended square's log entry, when stored */
	uint8_t log_root[32];
};

/* The tag of a DA square's log entry, followed by its 32-byte data root. */
#define NODE_DA_LOG_TAG "zgfs-da-square"

/*
 * node_da_put() - encode blob (len ≤ CODEC_DA_MAX_BLOB bytes), disperse its rows to the
 * quorum of the current DA epoch (waiting up to wait_s seconds for an epoch with a
 * draw), collect signatures and have the entry node settle the certificate; with store,
 * then upload the extended square ((2k)²·s bytes, row-major) through the entry node as one
 * log entry tagged NODE_DA_LOG_TAG ‖ data root (its tx seq and 0G root in the report). 0
 * once certified (and stored); -CHAIN_EDA_THRESHOLD when not more than 2/3 of the slots
 * signed.
 * progress (may be NULL) is told the data root as soon as it is known.
 */
typedef void node_da_root_fn(void *ctx, const uint8_t root[32]);
int node_da_put(const char *url, const void *blob, size_t len, unsigned wait_s, bool store,
		node_da_root_fn *progress, void *ctx, struct node_da_put_report *ret, char *why,
		size_t why_size);

struct node_da_get_report {
	uint64_t len, epoch;
	unsigned k, rows_fetched, rows_bad;
	double fetch_s, rebuild_s;
};

/*
 * node_da_get() - the certified blob with data root `root`, rebuilt from any k of its 2k
 * rows as the epoch's signers serve them, each checked against its root (malloc'd into
 * *ret_blob). -ENOENT: no certificate; -CODEC_EDA_UNRECOVERABLE: too few rows answered;
 * -CHAIN_EDA_QUORUM: the certificate's quorum is not its epoch's draw.
 */
int node_da_get(const char *url, const uint8_t root[32], uint8_t **ret_blob, size_t *ret_len,
		struct node_da_get_report *ret, char *why, size_t why_size);

struct node_da_sample_report {
	unsigned k, asked, verified;
	unsigned missed;   /* shares their holder did not serve right ... */
	unsigned rebuilt;  /* ... and of those, the ones shown through their column */
	double confidence; /* of availability, when all verified (codec_da_sample_confidence) */
	double latency_s;
	char failed[256]; /* the first failures: "(r,c) from URL: reason; …" */
};

/*
 * node_da_sample() - n random distinct shares of the certified blob `root`, each asked
 * of the signer whose slot holds its row and checked with its proof; a share its holder
 * does not serve right is shown available when k shares of its column, from the other
 * signers and each checked, rebuild the committed column root (the holder is still named
 * in report.failed). 0 when every share verified (available, with the confidence
 * reached); 1 when any did not (unavailable); <0 when sampling could not start.
 */
int node_da_sample(const char *url, const uint8_t root[32], unsigned n,
		   struct node_da_sample_report *ret, char *why, size_t why_size);

#endif
