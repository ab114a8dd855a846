/*
 * peers.h - the other nodes of a cluster as one node sees them, and segments fetched from
 * them (docs/PEERS.md).
 *
 * A peer is a URL; the shard it keeps is asked of it (zgs_getShardConfig) the first time
 * it matters and again after it failed. A segment is fetched from the peers whose shard
 * holds its flow segment (0G's rule: flow segment s on shard I/N iff s mod N == I), in
 * turn from a starting point that moves with each fetch (so reads spread over replicas),
 * and used only when its proof leads to the root the caller knows from its own chain: a
 * peer's word about an entry is never trusted. A peer that fails is skipped for
 * NODE_PEER_RETRY_MS; one that answers wrong bytes is counted as lying.
 *
 * Thread-safe; functions return 0 or -errno.
 */
#ifndef NODE_PEER_PEERS_H
#define NODE_PEER_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/merkle.h"
#include "codec/proof.h"

struct node_peers;

int node_peers_new(struct node_peers **ret_peers);
void node_peers_free(struct node_peers *p); /* NULL-safe */

/* Adds a peer at url ("http://host:port"); the same URL twice is one peer. -EINVAL for a
 * URL that is not http(s)://, -E2BIG past NODE_PEERS_MAX. */
int node_peers_add(struct node_peers *p, const char *url);

/* What one entry is, as this node's chain says: what fetched segments are checked with. */
struct node_peer_entry {
	uint64_t tx_seq;
	uint64_t start; /* first flow sector */
	uint64_t length;
	uint8_t root[CODEC_HASH_SIZE];
};

/*
 * node_peers_segment() - data segment `index` of entry e from a peer that keeps it: the
 * segment's bytes as 0G sends them (padded to a whole chunk, in buf of CODEC_SEGMENT_SIZE),
 * their length and proof. -EHOSTUNREACH when no peer that keeps it gave it (none known,
 * all down, all wrong); -EINVAL for an index past the entry's data.
 */
int node_peers_segment(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		       uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof);

/* One peer as node_peers_list() reports it. */
struct node_peer_report {
	const char *url;     /* valid during the callback */
	bool shard_known;
	uint32_t shard_id, num_shard;
	bool up;	     /* answered its last request */
	uint64_t fetched;    /* segments it gave */
	uint64_t failures;   /* requests that failed (down, timeout, error) */
	uint64_t wrong;	     /* answers whose bytes or proof were wrong */
	int last_error;
};

typedef int node_peer_report_fn(void *ctx, const struct node_peer_report *r);
/* Calls fn for each peer, in the order they were added; fn returning non-zero stops. */
int node_peers_list(struct node_peers *p, node_peer_report_fn *fn, void *ctx);
size_t node_peers_count(struct node_peers *p);

#endif
