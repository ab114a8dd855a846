/*
 * merkle.h - 0G Merkle trees over 256-byte chunks: padding, file roots, segment roots,
 * submission nodes, and a streaming builder.
 *
 * The rules (../shared/PROTOCOL.md): leaf = keccak256(chunk), parent = keccak256(left ‖
 * right); levels pair left to right and an odd last node is carried up unchanged, so the
 * left subtree always holds the largest power of two below the leaf count. A file of S
 * bytes is zero-padded to codec_padded_chunks(ceil(S/256)) chunks and its root is the tree
 * over those chunks. The tree over segment roots (1024 chunks each, the last one shorter)
 * gives the same root as the flat tree.
 *
 * Everything here is pure computation and thread-safe on distinct objects.
 */
#ifndef CODEC_MERKLE_H
#define CODEC_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/keccak.h"
#include "codec/limits.h"

#define CODEC_CHUNK_SIZE 256
#define CODEC_SEGMENT_CHUNKS 1024
#define CODEC_SEGMENT_SIZE (CODEC_CHUNK_SIZE * CODEC_SEGMENT_CHUNKS)
#define CODEC_SEGMENT_HEIGHT 10

typedef uint8_t codec_hash[CODEC_HASH_SIZE];

/* ceil(size / 256). */
uint64_t codec_num_chunks(uint64_t size);

/* The 0G padded chunk count for a file of n chunks (n ≥ 1): n if a power of two, else n
 * rounded up to a multiple of max(1, nextpow2(n)/16). */
uint64_t codec_padded_chunks(uint64_t n);

/* Segments of a file of size bytes once padded: ceil(padded chunks / 1024). */
uint64_t codec_num_segments(uint64_t size);

/* Root of a perfect subtree of 2^height zero chunks (height ≤ 63). Static storage. */
const uint8_t *codec_zero_root(unsigned height);

/* keccak256(left ‖ right). */
void codec_hash_pair(const uint8_t left[CODEC_HASH_SIZE], const uint8_t right[CODEC_HASH_SIZE],
		     uint8_t out[CODEC_HASH_SIZE]);

/*
 * codec_root_of_leaves() - root over n ≥ 1 leaf hashes (n × 32 bytes at leaves) by the 0G
 * rule (odd node carried).
 * Hashes each level in SIMD batches. Allocates n/2+1 hashes of scratch; -ENOMEM, -EINVAL
 * for n == 0. ret_root written only on success.
 */
int codec_root_of_leaves(const uint8_t *leaves, size_t n, uint8_t ret_root[CODEC_HASH_SIZE]);

/*
 * codec_segment_root() - root of one segment's bytes as 0G hashes it.
 * @data:   the segment's bytes, len ≤ CODEC_SEGMENT_SIZE
 * @chunks: chunk count the segment is padded to (ceil(len/256) ≤ chunks ≤ 1024); the
 *          bytes after len are taken as zeros
 * Returns 0 or -EINVAL.
 */
int codec_segment_root(const uint8_t *data, size_t len, unsigned chunks,
		       uint8_t ret_root[CODEC_HASH_SIZE]);

/* Roots of nseg full segments at data, data + 256 KiB, ... */
void codec_segment_roots(const uint8_t *data, size_t nseg, codec_hash *out);

/* The same spread over up to nthreads threads (≤ 1: the calling thread only). */
int codec_segment_roots_parallel(const uint8_t *data, size_t nseg, codec_hash *out,
				 unsigned nthreads);

/* One submission node: the root of an aligned run of 2^height chunks. */
struct codec_subnode {
	uint8_t root[CODEC_HASH_SIZE];
	unsigned height;
};

/*
 * codec_submission_heights() - the heights of a file's submission nodes: its padded chunk
 * count split greedily into strictly decreasing powers of two. Returns the count (0 for
 * size 0), writes heights[0..count).
 */
size_t codec_submission_heights(uint64_t size, unsigned heights[CODEC_MAX_NODES]);

/*
 * struct codec_merkle - streaming root builder.
 *
 * Takes the bytes of a file in any slicing and keeps O(log n) hashes plus one segment
 * buffer (256 KiB, heap), so a file of any size is hashed in bounded memory. The root,
 * submission nodes and last segment root of the bytes so far can be read at any point
 * without disturbing the stream, which is what appends need.
 */
struct codec_merkle {
	uint64_t size;		/* bytes taken so far */
	uint8_t *pending;	/* bytes of the segment in progress (size % 256 KiB of them) */
	unsigned depth;		/* entries on the stack */
	struct codec_subnode stack[CODEC_MAX_NODES + 1]; /* perfect subtrees, heights decreasing */
	uint8_t last_seg[CODEC_HASH_SIZE]; /* root of the last full segment taken */
	void (*on_segment)(void *ctx, uint64_t index, const uint8_t root[CODEC_HASH_SIZE]);
	void *on_segment_ctx;	/* called for each full segment as it completes, if set */
};

/* Returns 0 or -ENOMEM. */
int codec_merkle_init(struct codec_merkle *m);
void codec_merkle_release(struct codec_merkle *m);

/* Add bytes. Returns 0, or -E2BIG past CODEC_MAX_ENTRY_SIZE (nothing taken). */
int codec_merkle_update(struct codec_merkle *m, const void *data, size_t len);

/*
 * codec_merkle_push_segments() - add n full segments whose roots (n × 32 bytes at roots)
 * were computed elsewhere
 * (for example by codec_segment_roots_parallel()). Only when m->size is a multiple of
 * CODEC_SEGMENT_SIZE: else -EINVAL and nothing changes.
 */
int codec_merkle_push_segments(struct codec_merkle *m, const uint8_t *roots, size_t n);

/*
 * codec_merkle_finish() - the file root and submission nodes of the bytes taken so far, as
 * if the file ended here. Does not change the stream. Any ret_ pointer may be NULL.
 * @ret_nodes:    room for CODEC_MAX_NODES nodes
 * @ret_nnodes:   number of nodes written
 * @ret_last_seg: root of the last segment holding data: the partial one, padded within
 *                its segment, or else the last full one. Whole segments of zero padding
 *                that may follow (codec_num_segments() counts them) are not it.
 * Returns 0, or -EINVAL when no byte was taken (an empty file is not a valid entry).
 */
int codec_merkle_finish(const struct codec_merkle *m, uint8_t ret_root[CODEC_HASH_SIZE],
			struct codec_subnode *ret_nodes, size_t *ret_nnodes,
			uint8_t ret_last_seg[CODEC_HASH_SIZE]);

/* One-shot: root of a whole buffer. Returns 0, -EINVAL for len 0, -ENOMEM. */
int codec_file_root(const void *data, size_t len, uint8_t ret_root[CODEC_HASH_SIZE]);

#endif
