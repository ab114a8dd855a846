/*
 * The Flow contract's state transitions, as 0G's contracts write them:
 * contracts/interfaces/Submission.sol (SubmissionLibrary.valid) for validity and
 * contracts/dataFlow/FlowTreeLib.sol (pad, insertNode, nextAlign) for placement.
 * docs/LEDGER.md walks through both and says where zgfs differs.
 */
#include <errno.h>
#include <string.h>

#include "chain/flow_i.h"
#include "chain/limits.h"

/* SubmissionLibrary.MAX_LENGTH: the spread of heights, and the padding granularity. */
#define SUBMISSION_MAX_SPREAD 4

void chain_flowtree_init(struct chain_flowtree *t)
{
	memset(t, 0, sizeof(*t));
	t->length = 1;
	t->depth = 1;
	memcpy(t->stack[0].root, codec_zero_root(0), CODEC_HASH_SIZE);
	t->stack[0].height = 0;
}

int chain_submission_check(const struct chain_submission *sub, uint64_t *ret_sectors)
{
	uint64_t capacity = 0, last_capacity, chunks;
	size_t n = sub->nnodes;
	unsigned first, last;

	if (n == 0 || n > CODEC_MAX_NODES || sub->tags_len > CHAIN_TAGS_MAX)
		return -CHAIN_EINVALID_SUBMISSION;
	if (sub->length == 0 || sub->length > CHAIN_ENTRY_MAX_BYTES)
		return -CHAIN_EINVALID_SUBMISSION;
	first = sub->nodes[0].height;
	last = sub->nodes[n - 1].height;
	if (first >= 64)
		return -CHAIN_EINVALID_SUBMISSION;
	for (size_t i = 0; i + 1 < n; i++)
		if (sub->nodes[i + 1].height >= sub->nodes[i].height)
			return -CHAIN_EINVALID_SUBMISSION;
	/* Heights are now strictly decreasing, so first ≥ last and this cannot wrap (in
	 * Solidity the subtraction would revert, which is also "invalid"). */
	if (first - last >= SUBMISSION_MAX_SPREAD)
		return -CHAIN_EINVALID_SUBMISSION;
	/* Distinct heights below 64: the sum is below 2^64. */
	for (size_t i = 0; i < n; i++)
		capacity += 1ULL << sub->nodes[i].height;

	/* length ≤ capacity·256 and length > last·256, compared in whole sectors so that
	 * capacity·256 cannot overflow: length > L·256 ⇔ ceil(length/256) > L. */
	chunks = codec_num_chunks(sub->length);
	if (chunks > capacity)
		return -CHAIN_EINVALID_SUBMISSION;
	/* The largest capacity the 0G padding rule would have chosen for a shorter file: with
	 * fewer than 16 sectors every count is its own padding; a single node 2^h is padded
	 * in units of 2^(h-4); several nodes in units of 2^(first-3), the unit of the next
	 * power of two above the capacity. */
	if (capacity < (1ULL << SUBMISSION_MAX_SPREAD))
		last_capacity = capacity - 1;
	else if (n == 1)
		last_capacity = capacity - (capacity >> SUBMISSION_MAX_SPREAD);
	else
		last_capacity = capacity - (1ULL << (first - SUBMISSION_MAX_SPREAD + 1));
	if (chunks <= last_capacity)
		return -CHAIN_EINVALID_SUBMISSION;

	*ret_sectors = capacity;
	return 0;
}

void chain_submission_roots(const struct chain_submission *sub, uint8_t ret_root[CODEC_HASH_SIZE],
			    uint8_t ret_digest[CODEC_HASH_SIZE])
{
	struct codec_keccak k;
	uint8_t r[CODEC_HASH_SIZE];
	size_t n = sub->nnodes;

	codec_keccak_init(&k);
	for (size_t i = 0; i < n; i++)
		codec_keccak_update(&k, sub->nodes[i].root, CODEC_HASH_SIZE);
	codec_keccak_final(&k, ret_digest);

	memcpy(r, sub->nodes[n - 1].root, CODEC_HASH_SIZE);
	for (size_t i = n - 1; i-- > 0;)
		codec_hash_pair(sub->nodes[i].root, r, r);
	memcpy(ret_root, r, CODEC_HASH_SIZE);
}

/* FlowTreeLib.nextAlign: the first multiple of 2^exp at or after length (length ≥ 1). */
static uint64_t next_align(uint64_t length, unsigned exp)
{
	return (((length - 1) >> exp) + 1) << exp;
}

int chain_flowtree_place(const struct chain_flowtree *t, unsigned h0, uint64_t sectors,
			 struct chain_placement *ret_place)
{
	const uint64_t seg = CODEC_SEGMENT_CHUNKS;
	uint64_t start;

	/* With length ≤ 2^45 and h0 < 64, next_align() is at most 2^63 and nothing below can
	 * wrap; an entry ending past the bound is refused afterwards. */
	if (h0 >= 64 || sectors == 0 || t->length == 0)
		return -EINVAL;
	if (sectors > CHAIN_FLOW_MAX_SECTORS || t->length > CHAIN_FLOW_MAX_SECTORS)
		return -ENOSPC;
	start = next_align(t->length, h0);
	if (start % seg != 0 && start / seg != (start + sectors - 1) / seg)
		start += seg - start % seg;
	if (start > CHAIN_FLOW_MAX_SECTORS || sectors > CHAIN_FLOW_MAX_SECTORS - start)
		return -ENOSPC;
	ret_place->start = start;
	ret_place->gap = start - t->length;
	ret_place->sectors = sectors;
	return 0;
}

/* Push a perfect subtree of height h at position t->length (a multiple of 2^h), then merge
 * equal neighbours: the carry of a binary counter. */
static void push(struct chain_flowtree *t, const uint8_t root[CODEC_HASH_SIZE], unsigned h)
{
	struct codec_subnode *s = t->stack;
	unsigned d = t->depth;

	memcpy(s[d].root, root, CODEC_HASH_SIZE);
	s[d].height = h;
	d++;
	while (d >= 2 && s[d - 2].height == s[d - 1].height) {
		codec_hash_pair(s[d - 2].root, s[d - 1].root, s[d - 2].root);
		s[d - 2].height++;
		d--;
	}
	t->depth = d;
	t->length += 1ULL << h;
}

/* Zero sectors up to `end`: the largest aligned zero subtrees that fit, O(log) of them. */
static void pad_to(struct chain_flowtree *t, uint64_t end)
{
	while (t->length < end) {
		unsigned h = (unsigned)__builtin_ctzll(t->length);

		while ((1ULL << h) > end - t->length)
			h--;
		push(t, codec_zero_root(h), h);
	}
}

void chain_flowtree_append(struct chain_flowtree *t, const struct chain_placement *place,
			   const struct chain_submission *sub)
{
	pad_to(t, place->start);
	/* Heights decrease and start is aligned to the first, so each node is aligned. */
	for (size_t i = 0; i < sub->nnodes; i++)
		push(t, sub->nodes[i].root, sub->nodes[i].height);
}

void chain_flowtree_root(const struct chain_flowtree *t, uint8_t ret_root[CODEC_HASH_SIZE])
{
	uint8_t r[CODEC_HASH_SIZE];

	memcpy(r, t->stack[t->depth - 1].root, CODEC_HASH_SIZE);
	for (unsigned i = t->depth - 1; i-- > 0;)
		codec_hash_pair(t->stack[i].root, r, r);
	memcpy(ret_root, r, CODEC_HASH_SIZE);
}

bool chain_flowtree_consistent(const struct chain_flowtree *t)
{
	uint64_t sum = 0;

	if (t->depth == 0 || t->depth > CHAIN_FLOW_STACK_MAX || t->length == 0 ||
	    t->length > CHAIN_FLOW_MAX_SECTORS)
		return false;
	for (unsigned i = 0; i < t->depth; i++) {
		if (t->stack[i].height >= 64)
			return false;
		if (i > 0 && t->stack[i].height >= t->stack[i - 1].height)
			return false;
		sum += 1ULL << t->stack[i].height;
	}
	return sum == t->length;
}
