/*
 * pora_i.h - the node's PoRA miner (docs/PORA.md, "The miner"). Internal to node/; the
 * in-process node (node_local.c) starts and stops it.
 *
 * The miner registers a miner id on the chain once (kept in a file, so a restart mines
 * under the same id), follows the chain's epoch contexts, seals the loads of its range
 * as they are needed (kept in a bounded cache of sealed loads; the store keeps the
 * plain bytes, so reads never unseal), runs tries in `threads` threads and submits every
 * answer that meets the target, up to the epoch's cap. Before it submits, it checks its
 * own answer as the chain will (unseal, Merkle proof to the context's flow root): a unit
 * whose bytes on disk no longer match is a corruption report, never an answer.
 *
 * It reads only its own store and asks the chain for entries, contexts and the target.
 * Its state for `zgfs mine status` is written to DIR/pora/status.json after every change
 * (temporary file, rename), so the status is readable while the node holds the data
 * directory's lock. Thread-safe: node_pora_report() may be called from any thread.
 */
#ifndef NODE_PORA_PORA_I_H
#define NODE_PORA_PORA_I_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "chain/chain.h"
#include "node/store/store.h"

struct node_pora;

struct node_pora_config {
	const char *data_dir; /* status and the default id file live under DIR/pora */
	const char *id_file;  /* the miner id (hex); NULL: DIR/pora/miner.id */
	unsigned threads;     /* mining threads, ≥ 1 (NODE_PORA_THREADS_MAX at most) */
	unsigned tick_ms;     /* how often an idle embedded ledger gets a block; 0: 1000 */
	/* The shard the store keeps (0G's rule, num_shard a power of two; 0/0 or 0/1: the
	 * whole flow): the miner mines that shard's range and proves units by the proofs
	 * of its own segments. */
	uint64_t shard_id, num_shard;
};

/* What the daemon logs: counters only grow. */
struct node_pora_report {
	uint8_t miner_id[32];
	uint64_t tries, submitted, accepted, rewards;
	uint64_t refused;	     /* answers the chain refused */
	int last_refusal;	     /* its code */
	uint64_t corrupt;	     /* units that did not prove into the flow root */
	uint64_t last_corrupt_sector; /* the first sector of the latest such unit */
	uint64_t missing;	     /* unit reads of settled entries the store could not serve */
	uint64_t last_missing_sector;
	int last_error;		     /* the latest chain or store error, 0 if none */
};

/*
 * node_pora_start() - register (or load) the miner id and start mining. Returns 0; the
 * errors of chain_pora_register() (-CHAIN_EPORA_OFF when the chain has no PoRA);
 * -EINVAL for a malformed id file or threads out of range; -ENOMEM; -errno of the id file.
 */
int node_pora_start(const struct node_pora_config *cfg, struct chain *chain,
		    struct node_store *store, struct node_pora **ret_miner);

/* Stops the threads (within one try batch) and frees the miner. NULL-safe. */
void node_pora_stop(struct node_pora *m);

void node_pora_report(struct node_pora *m, struct node_pora_report *ret_report);

/* The record DIR/pora/status.json holds, as of now (zgfs_mineStatus). NULL: -ENOMEM. */
json_t *node_pora_status(struct node_pora *m);

#endif
