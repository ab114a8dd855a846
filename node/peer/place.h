/*
 * place.h - which shard holds which segment of an entry: 0G's shard rule for data, and
 * zgfs's erasure-coded stripes for parity (docs/PEERS.md, "Placement").
 *
 * Guarantees: pure computation, no I/O, no allocation except in node_ec_new(); every
 * function may be called from any thread (a struct node_ec is read-only once made).
 *
 * Data (0G's rule, as 0g-storage-node's ShardConfig::in_range and the SDK's
 * nodeForSegment): flow segment s is held by shard (I, N) iff s mod N == I, N a power of
 * two. An entry's segment i is flow segment start_seg + i, start_seg = the entry's first
 * flow sector / 1024 (an entry that does not start on a 1024 boundary fits in one
 * segment, by the Flow's placement).
 *
 * Parity (policy K+M over a cluster of N shards, N >= K+M): an entry's segments form
 * stripes of K consecutive entry segments, stripe j = segments jK .. jK+K-1; the last may
 * be short and is completed with zero symbols. Symbols of a stripe are numbered as in
 * codec/rs.h: 0..K-1 data (position d is entry segment jK+d), K..K+M-1 parity. Symbol
 * pos of stripe j is held by shard (start_seg + jK + pos) mod N: data where 0G puts it,
 * parity p on the M shards after the stripe's data shards, so no shard holds two symbols
 * of one stripe and any M lost shards leave K symbols of every stripe. Every symbol is
 * CODEC_SEGMENT_SIZE bytes; a short last segment is zero-filled for the code.
 */
#ifndef NODE_PEER_PLACE_H
#define NODE_PEER_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One node's shard: it holds flow segment s iff s mod num == id. */
struct node_shard {
	uint32_t id;
	uint32_t num;
};

/* num a power of two >= 1 and id < num (0G's ShardConfig::validate). */
bool node_shard_valid(struct node_shard sh);

/* Whether sh holds flow segment seg. An invalid sh holds nothing. */
bool node_shard_holds(struct node_shard sh, uint64_t seg);

/* Whether two valid shards hold a flow segment in common (one's residue class contains
 * the other's). Note: 0G's ShardConfig::intersect halves the shard id (id / 2) where the
 * rule s mod N == I needs id mod N/2; this is the rule's answer, not that function's. */
bool node_shard_intersect(struct node_shard a, struct node_shard b);

/* An entry's first flow segment: start sector / 1024. */
uint64_t node_place_start_seg(uint64_t start_sector);

/* How many flow segments an entry of size bytes at start_sector touches (the SDK's
 * SegmentRange: last - first + 1 over its unpadded chunks); 0 for size 0. */
uint64_t node_place_nsegs(uint64_t start_sector, uint64_t size);

/* Bytes of entry segment i of an entry of size bytes (CODEC_SEGMENT_SIZE except the last,
 * which may be short; 0 past the end). For an aligned entry (start_sector % 1024 == 0). */
size_t node_place_seg_len(uint64_t size, uint64_t i);

/*
 * node_shards_replicas() - how many times the least-held flow segment is held by the
 * shards in list (invalid configs are ignored): 0 when some segment is held by none.
 * The SDK's checkReplica(list, R) is node_shards_replicas(list) >= R.
 */
unsigned node_shards_replicas(const struct node_shard *list, size_t n);

/* 0G's all_shards_available: every flow segment held at least once. */
bool node_shards_cover(const struct node_shard *list, size_t n);

/*
 * node_shards_holding() - which entries of list hold flow segment seg.
 * Writes the indices (ascending) of up to max of them to ret_idx (may be NULL with max 0)
 * and returns how many hold it in all (more than max means the list was cut).
 */
size_t node_shards_holding(const struct node_shard *list, size_t n, uint64_t seg, size_t *ret_idx,
			   size_t max);

/* ---- erasure-coded stripes ------------------------------------------------------------ */

/* A policy K+M for a cluster of num shards. The node_ec_* functions below that take one
 * expect it valid (node_ec_layout_valid()): they divide by k and mask by num - 1. */
struct node_ec_layout {
	unsigned k, m;
	uint32_t num; /* shards in the cluster: a power of two >= k + m */
};

/* k >= 1, m >= 1, k + m <= CODEC_RS_MAX_SHARDS, num a power of two >= k + m. */
bool node_ec_layout_valid(const struct node_ec_layout *l);

/* Stripes of an entry of nsegs segments: ceil(nsegs / k). */
uint64_t node_ec_nstripes(const struct node_ec_layout *l, uint64_t nsegs);

/* The stripe of entry segment i: i / k (its position in it: i % k). */
uint64_t node_ec_stripe_of(const struct node_ec_layout *l, uint64_t i);

/* Data symbols stripe j really has (k except in a short last stripe; 0 past the end). The
 * rest, up to k, are zeros that nobody stores. */
unsigned node_ec_stripe_ndata(const struct node_ec_layout *l, uint64_t nsegs, uint64_t j);

/* The shard holding symbol pos (0..k+m-1) of stripe j of an entry whose first flow segment
 * is start_seg: (start_seg + j*k + pos) mod num. */
uint32_t node_ec_shard_of(const struct node_ec_layout *l, uint64_t start_seg, uint64_t j,
			  unsigned pos);

/* One symbol an entry needs stored: stripe j, position pos (< k: entry segment j*k + pos;
 * otherwise parity pos - k). */
struct node_ec_sym {
	uint64_t stripe;
	unsigned pos;
};

/*
 * node_ec_shard_symbols() - what shard id must hold of an entry of nsegs segments at
 * start_seg: its data segments and parity symbols, stripe by stripe, data before parity
 * within a stripe (at most one symbol per stripe, as no shard holds two; none for id >=
 * num). Writes up to max to ret (may be NULL with max 0) and returns how many in all.
 */
size_t node_ec_shard_symbols(const struct node_ec_layout *l, uint64_t start_seg, uint64_t nsegs,
			     uint32_t id, struct node_ec_sym *ret, size_t max);

/*
 * node_ec_stripe_lost() - the stored symbols of stripe j lost when only the shards in
 * up[0..nup) answer (ids of the cluster's num shards): writes their positions ascending to
 * ret_lost (room for k + m) and returns how many. Zero symbols of a short stripe are never
 * lost.
 */
unsigned node_ec_stripe_lost(const struct node_ec_layout *l, uint64_t start_seg, uint64_t nsegs,
			     uint64_t j, const uint32_t *up, size_t nup, unsigned *ret_lost);

/* Whether stripe j can be decoded from the shards in up: at most m stored symbols lost. */
bool node_ec_stripe_decodable(const struct node_ec_layout *l, uint64_t start_seg, uint64_t nsegs,
			      uint64_t j, const uint32_t *up, size_t nup);

/* ---- encoding and decoding (node/peer/ec.c) ----------------------------------------- */

struct node_ec;

/* A code for k+m: 0, -EINVAL (as codec_rs_new) or -ENOMEM; *ret_ec written on success. */
int node_ec_new(unsigned k, unsigned m, struct node_ec **ret_ec);
void node_ec_free(struct node_ec *ec); /* NULL-safe */

/*
 * node_ec_encode() - the m parity symbols of one stripe.
 * @data:   ndata (1..k) data segments, data[i] of len[i] <= CODEC_SEGMENT_SIZE bytes (a
 *          short one is read as zero-filled); positions ndata..k-1 are zeros
 * @parity: m buffers of CODEC_SEGMENT_SIZE bytes, overwritten
 * Returns 0, -EINVAL (ndata or a length out of range) or -ENOMEM; on error parity is
 * untouched.
 */
int node_ec_encode(const struct node_ec *ec, const uint8_t *const *data, const size_t *len,
		   unsigned ndata, uint8_t **parity);

/*
 * node_ec_decode() - rebuild the missing symbols of one stripe.
 * @sym:   k + m pointers to CODEC_SEGMENT_SIZE-byte buffers, data then parity; positions
 *         ndata..k-1 (zero symbols of a short stripe) may be NULL; a present symbol is read
 *         (a short last data segment must be zero-filled to the full size), a missing
 *         one is overwritten with its contents
 * @have:  k + m flags, true where sym[i] holds the symbol (ignored for zero positions)
 * @ndata: data symbols the stripe really has, 1..k
 * Returns 0; -ENODATA when fewer than k symbols are known (more than m of the stored ones
 * missing), with nothing written; -EINVAL for bad arguments; -ENOMEM. Only a wrong
 * present symbol can make the output wrong: callers check rebuilt data against the
 * entry's Merkle root.
 */
__attribute__((warn_unused_result)) int node_ec_decode(const struct node_ec *ec, uint8_t **sym,
						       const bool *have, unsigned ndata);

#endif
