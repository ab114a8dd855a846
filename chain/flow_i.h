/*
 * flow_i.h - the Flow contract's rules: submission validity, placement, and the flow's
 * incremental Merkle tree. Internal to chain/; pure computation, no I/O.
 *
 * The flow tree covers sectors [0, length): sector 0 is the placeholder, gap sectors are
 * zero padding, both hashed as zero sectors (codec_zero_root(0)). Its root follows the 0G
 * tree rule (codec/merkle.h: the left subtree holds the largest power of two below n), so
 * it is the fold from the right of the perfect subtrees of the binary decomposition of
 * length. That decomposition is the whole state: at most 64 (root, height) pairs, heights
 * strictly decreasing, and appending an aligned subtree is a binary-counter increment.
 */
#ifndef CHAIN_FLOW_I_H
#define CHAIN_FLOW_I_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/chain.h"

#define CHAIN_FLOW_STACK_MAX 64

struct chain_flowtree {
	uint64_t length;				  /* sectors, ≥ 1 */
	unsigned depth;					  /* entries on the stack */
	struct codec_subnode stack[CHAIN_FLOW_STACK_MAX]; /* perfect subtrees, left to right */
};

/* Where a submission lands: computed before anything changes. */
struct chain_placement {
	uint64_t start;	  /* first sector of the entry */
	uint64_t gap;	  /* zero sectors inserted before it */
	uint64_t sectors; /* the entry's sectors: sum of 2^height */
};

/* A flow holding only the placeholder sector: length 1. */
void chain_flowtree_init(struct chain_flowtree *t);

/*
 * chain_submission_check() - 0G's SubmissionLibrary.valid() plus the local limits: ≥ 1 and
 * ≤ CODEC_MAX_NODES nodes; heights strictly decreasing; first − last < 4; first < 64;
 * length ≤ capacity·256; length > the previous capacity·256 (minimal padding); 0 < length
 * ≤ CHAIN_ENTRY_MAX_BYTES; tags_len ≤ CHAIN_TAGS_MAX. Returns 0 and the capacity in
 * sectors, or -CHAIN_EINVALID_SUBMISSION.
 */
int chain_submission_check(const struct chain_submission *sub, uint64_t *ret_sectors);

/* The file root (nodes folded from the right) and digest (keccak256 of the node roots). */
void chain_submission_roots(const struct chain_submission *sub, uint8_t ret_root[CODEC_HASH_SIZE],
			    uint8_t ret_digest[CODEC_HASH_SIZE]);

/*
 * chain_flowtree_place() - where a valid submission of `sectors` whose first node has
 * height h0 would start (FlowTreeLib.pad + insertNode): the next multiple of 2^h0 at or
 * after length; if that is not a multiple of 1024 and the entry would cross a 1024-sector
 * segment boundary, the next multiple of 1024. Returns 0, -ENOSPC when the entry would
 * end beyond CHAIN_FLOW_MAX_SECTORS, -EINVAL for h0 ≥ 64 or no sectors.
 */
int chain_flowtree_place(const struct chain_flowtree *t, unsigned h0, uint64_t sectors,
			 struct chain_placement *ret_place);

/* Append the gap (zero sectors) and the submission's nodes as placed. O(log length). */
void chain_flowtree_append(struct chain_flowtree *t, const struct chain_placement *place,
			   const struct chain_submission *sub);

/* The flow root. O(depth) hashes. */
void chain_flowtree_root(const struct chain_flowtree *t, uint8_t ret_root[CODEC_HASH_SIZE]);

/* True when the stack is the binary decomposition of length (for decoded state). */
bool chain_flowtree_consistent(const struct chain_flowtree *t);

#endif
