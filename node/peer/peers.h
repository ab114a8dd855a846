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
#include "node/peer/place.h"

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
 * their length and proof; with a policy (node_peers_set_policy), rebuilt from its stripe
 * when no holder gives it. -EHOSTUNREACH when it could not be had (no peer that keeps it
 * gave it and, with a policy, fewer than K right symbols of its stripe answered); -EINVAL
 * for an index past the entry's data.
 */
int node_peers_segment(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		       uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof);

/*
 * What this node keeps itself, for rebuilding a segment from its stripe: symbol() writes
 * symbol pos of stripe j of entry e (data: the segment's bytes zero-filled to
 * CODEC_SEGMENT_SIZE, verified; parity: the stored symbol) and proof() the proof of data
 * segment index; both return 0 or -errno (anything but 0 means "not here").
 */
struct node_peer_local {
	int (*symbol)(void *ctx, const struct node_peer_entry *e, uint64_t stripe, unsigned pos,
		      uint8_t *buf);
	int (*proof)(void *ctx, const struct node_peer_entry *e, uint64_t index,
		     struct codec_proof *ret_proof);
	void *ctx;
};

/*
 * node_peers_set_policy() - the cluster's stripes (a valid layout: node_ec_layout_valid),
 * and what this node keeps: from then on node_peers_segment() rebuilds a data segment that
 * no holder gives from K symbols of its stripe (this node's own, copies and parity from
 * peers), and uses it only when its root matches a proof that leads to the entry's root;
 * a parity symbol that made a wrong segment is counted against its peer and left out.
 * Call once, before other threads use p. -EINVAL invalid layout, -ENOMEM.
 */
int node_peers_set_policy(struct node_peers *p, const struct node_ec_layout *l,
			  const struct node_peer_local *local);

/*
 * node_peers_parity() - parity symbol pos (k … k+m−1) of stripe j of entry e from the peer
 * whose shard keeps it: CODEC_SEGMENT_SIZE bytes into buf. Unverifiable alone. 0,
 * -EHOSTUNREACH when none gave it, -EINVAL without a policy or for a bad position.
 */
int node_peers_parity(struct node_peers *p, const struct node_peer_entry *e, uint64_t stripe,
		      unsigned pos, uint8_t *buf);

/* node_peers_proof() - the proof of data segment index of e from a peer that keeps the
 * segment or parity of its stripe, checked against e's root (its leaf is lemma[0]).
 * 0, -EHOSTUNREACH. */
int node_peers_proof(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		     struct codec_proof *ret_proof);

/* Segments rebuilt from stripes since start, and the bytes fetched for them. */
void node_peers_rebuilt(struct node_peers *p, uint64_t *ret_segments, uint64_t *ret_bytes_in);

/*
 * node_peers_call_each() - call a JSON-RPC method on every peer, one after the other, with
 * the same params (a JSON array text, e.g. "[5]"; NULL: none), and give each answer to fn:
 * fn(ctx, url, result, r) with r 0 and the result (borrowed; JSON null possible), or r < 0
 * and result NULL when the call failed (down, timeout, an error answer). Peers in their
 * retry pause are called too (this asks whether they are back). For health reports, not
 * for data: nothing is checked. fn returning non-zero stops. 0, -EINVAL (params not JSON).
 */
struct json_t;
typedef int node_peer_answer_fn(void *ctx, const char *url, struct json_t *result, int r);
int node_peers_call_each(struct node_peers *p, const char *method, const char *params,
			 node_peer_answer_fn *fn, void *ctx);

/*
 * node_peers_forward() - hand uploaded segments of entry e that another shard keeps to
 * every peer of that shard (zgs_uploadSegmentsByTxSeq: each checks them against its own
 * chain; one that has the entry finalized already counts as having them). For a node that
 * takes a zgfs upload of a whole entry. 0 when each segment reached at least one holder,
 * -EHOSTUNREACH (and *ret_missing, may be NULL, the first one that did not) otherwise.
 */
struct node_rpc_segment;
int node_peers_forward(struct node_peers *p, const struct node_peer_entry *e,
		       const struct node_rpc_segment *const *segs, size_t n,
		       uint64_t *ret_missing);

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
