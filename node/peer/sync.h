/*
 * sync.h - filling in what the node's shard should hold from its peers (docs/PEERS.md,
 * "Sync" and "Repair").
 *
 * A thread of its own looks at every entry the store still expects (settled on the chain,
 * its shard's segments not all here) and, once the entry has waited NODE_SYNC_DELAY_MS
 * for its uploader, fetches each missing segment from a peer that keeps it
 * (node_peers_segment: checked by proof against the entry's root from this node's chain)
 * and stores it. The store's own record of which segments are present is the progress, so
 * a sync stopped by a crash resumes where it was; a node that comes back with an empty
 * disk on its old shard is rebuilt the same way. Fetching is paced to at most rate_bps.
 *
 * With a policy (layout), the node also builds the parity symbols its shard keeps: for
 * each such stripe it fetches the stripe's data segments (each checked by its proof, or
 * rebuilt from the stripe when no holder gives it), encodes, and stores its own symbol
 * with the data segments' proofs (node_store_put_parity).
 *
 * Functions are thread-safe.
 */
#ifndef NODE_PEER_SYNC_H
#define NODE_PEER_SYNC_H

#include <stdint.h>

#include "chain/chain.h"
#include "node/peer/peers.h"
#include "node/store/store.h"

struct node_sync;

struct node_sync_config {
	struct node_store *store; /* all three outlive the sync */
	struct node_peers *peers;
	struct chain *chain;
	uint64_t rate_bps;  /* bytes fetched per second at most; 0: NODE_SYNC_RATE_BPS */
	unsigned delay_ms;  /* how long an entry waits for its uploader; 0: NODE_SYNC_DELAY_MS */
	/* The cluster's stripes and this node's shard in it; layout.k == 0: no policy. */
	struct node_ec_layout layout;
	uint32_t shard_id;
};

/* Starts the thread. -ENOMEM, or pthread_create's error. */
int node_sync_start(const struct node_sync_config *cfg, struct node_sync **ret_sync);
/* Stops the thread (a fetch in progress finishes first) and frees; NULL-safe. */
void node_sync_stop(struct node_sync *y);
/* New entries may be waiting: look now rather than at the next interval. */
void node_sync_kick(struct node_sync *y);
/* Entry tx_seq's uploader is done (every data segment is on its shard's nodes): sync it
 * now, without waiting NODE_SYNC_DELAY_MS for the uploader. Thread-safe; NULL-safe. */
void node_sync_hurry(struct node_sync *y, uint64_t tx_seq);

/* What the sync has done since start, for status. */
struct node_sync_report {
	uint64_t entries_waiting;  /* expected entries seen in the last round */
	uint64_t segments_missing; /* of those entries' shard segments, not here yet */
	uint64_t segments_fetched; /* stored from peers */
	uint64_t bytes_fetched;
	uint64_t parity_built;	   /* parity symbols computed and stored */
	uint64_t parity_bytes_in;  /* data bytes fetched to compute them */
	uint64_t failures;	   /* segments no peer gave in a round */
	int last_error;
	uint64_t last_error_seq;
};
void node_sync_report(struct node_sync *y, struct node_sync_report *ret_report);

#endif
