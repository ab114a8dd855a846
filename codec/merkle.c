/*
 * 0G Merkle trees. The cost is all in keccak, so every level of every tree is hashed in
 * SIMD batches (codec_keccak256_batch): 1024 leaves of a segment at once, then 512 parent
 * pairs, and so on. The streaming builder keeps a binary-counter stack of perfect subtrees;
 * after the 0G padding that stack is exactly the list of submission nodes, and folding it
 * from the right gives the file root.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec/merkle.h"

uint64_t codec_num_chunks(uint64_t size)
{
	return size / CODEC_CHUNK_SIZE + (size % CODEC_CHUNK_SIZE != 0);
}

static uint64_t next_pow2(uint64_t n)
{
	uint64_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

uint64_t codec_padded_chunks(uint64_t n)
{
	uint64_t p2 = next_pow2(n), unit;

	if (n == p2)
		return n;
	unit = p2 < 16 ? 1 : p2 / 16;
	return (n + unit - 1) / unit * unit;
}

uint64_t codec_num_segments(uint64_t size)
{
	uint64_t padded = codec_padded_chunks(codec_num_chunks(size));

	return (padded + CODEC_SEGMENT_CHUNKS - 1) / CODEC_SEGMENT_CHUNKS;
}

void codec_hash_pair(const uint8_t left[CODEC_HASH_SIZE], const uint8_t right[CODEC_HASH_SIZE],
		     uint8_t out[CODEC_HASH_SIZE])
{
	uint8_t buf[2 * CODEC_HASH_SIZE];

	memcpy(buf, left, CODEC_HASH_SIZE);
	memcpy(buf + CODEC_HASH_SIZE, right, CODEC_HASH_SIZE);
	codec_keccak256(buf, sizeof(buf), out);
}

static codec_hash zero_roots[64];
static pthread_once_t zero_once = PTHREAD_ONCE_INIT;

static void zero_init(void)
{
	static const uint8_t zero_chunk[CODEC_CHUNK_SIZE];

	codec_keccak256(zero_chunk, sizeof(zero_chunk), zero_roots[0]);
	for (unsigned h = 1; h < 64; h++)
		codec_hash_pair(zero_roots[h - 1], zero_roots[h - 1], zero_roots[h]);
}

const uint8_t *codec_zero_root(unsigned height)
{
	pthread_once(&zero_once, zero_init);
	return height < 64 ? zero_roots[height] : NULL;
}

/* One level up: n nodes in, ceil(n/2) out; the odd last node is carried. in != out. */
static size_t level_up(const uint8_t *in, size_t n, codec_hash *out)
{
	size_t pairs = n / 2;

	codec_keccak256_batch(in, 2 * CODEC_HASH_SIZE, 2 * CODEC_HASH_SIZE, pairs, out);
	if (n & 1)
		memcpy(out[pairs], in + (n - 1) * CODEC_HASH_SIZE, CODEC_HASH_SIZE);
	return pairs + (n & 1);
}

/* Root of n ≥ 1 nodes in a, using b (n/2+1 entries) as the other half of a ping-pong.
 * Destroys a. */
static void reduce(codec_hash *a, codec_hash *b, size_t n, uint8_t out[CODEC_HASH_SIZE])
{
	while (n > 1) {
		codec_hash *t;

		n = level_up(a[0], n, b);
		t = a, a = b, b = t;
	}
	memcpy(out, a[0], CODEC_HASH_SIZE);
}

int codec_root_of_leaves(const uint8_t *leaves, size_t n, uint8_t ret_root[CODEC_HASH_SIZE])
{
	codec_hash *a, *b;
	size_t m;

	if (n == 0)
		return -EINVAL;
	if (n == 1) {
		memcpy(ret_root, leaves, CODEC_HASH_SIZE);
		return 0;
	}
	a = malloc((n / 2 + 1) * sizeof(codec_hash));
	b = malloc((n / 4 + 1) * sizeof(codec_hash));
	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	m = level_up(leaves, n, a);
	reduce(a, b, m, ret_root);
	free(a);
	free(b);
	return 0;
}

/* Leaf hashes of a segment's bytes, zero chunks after len up to chunks. */
static void segment_leaves(const uint8_t *data, size_t len, unsigned chunks, codec_hash *leaves)
{
	size_t full = len / CODEC_CHUNK_SIZE, i = full;

	codec_keccak256_batch(data, CODEC_CHUNK_SIZE, CODEC_CHUNK_SIZE, full, leaves);
	if (len % CODEC_CHUNK_SIZE) {
		uint8_t last[CODEC_CHUNK_SIZE] = {0};

		memcpy(last, data + full * CODEC_CHUNK_SIZE, len % CODEC_CHUNK_SIZE);
		codec_keccak256(last, sizeof(last), leaves[i++]);
	}
	for (; i < chunks; i++)
		memcpy(leaves[i], codec_zero_root(0), CODEC_HASH_SIZE);
}

/* Scratch for one segment: 1024 leaves plus 512 for the ping-pong. 48 KiB. */
struct seg_scratch {
	codec_hash a[CODEC_SEGMENT_CHUNKS];
	codec_hash b[CODEC_SEGMENT_CHUNKS / 2 + 1];
};

int codec_segment_root(const uint8_t *data, size_t len, unsigned chunks,
		       uint8_t ret_root[CODEC_HASH_SIZE])
{
	struct seg_scratch *s;

	if (len > CODEC_SEGMENT_SIZE || chunks > CODEC_SEGMENT_CHUNKS || chunks == 0 ||
	    codec_num_chunks(len) > chunks)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	segment_leaves(data, len, chunks, s->a);
	reduce(s->a, s->b, chunks, ret_root);
	free(s);
	return 0;
}

static void full_segment_root(const uint8_t *seg, struct seg_scratch *s,
			      uint8_t out[CODEC_HASH_SIZE])
{
	codec_keccak256_batch(seg, CODEC_CHUNK_SIZE, CODEC_CHUNK_SIZE, CODEC_SEGMENT_CHUNKS, s->a);
	reduce(s->a, s->b, CODEC_SEGMENT_CHUNKS, out);
}

void codec_segment_roots(const uint8_t *data, size_t nseg, codec_hash *out)
{
	struct seg_scratch *s = malloc(sizeof(*s));
	struct seg_scratch fallback;

	/* 48 KiB fits on any thread's stack too; the heap is only preferred. */
	if (!s)
		s = &fallback;
	for (size_t i = 0; i < nseg; i++)
		full_segment_root(data + i * CODEC_SEGMENT_SIZE, s, out[i]);
	if (s != &fallback)
		free(s);
}

struct seg_job {
	const uint8_t *data;
	size_t nseg;
	codec_hash *out;
};

static void *seg_worker(void *arg)
{
	struct seg_job *j = arg;

	codec_segment_roots(j->data, j->nseg, j->out);
	return NULL;
}

int codec_segment_roots_parallel(const uint8_t *data, size_t nseg, codec_hash *out,
				 unsigned nthreads)
{
	enum { MAX_THREADS = 64 };
	pthread_t tid[MAX_THREADS];
	struct seg_job jobs[MAX_THREADS];
	unsigned started = 0;
	size_t per, done = 0;

	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if (nthreads <= 1 || nseg < 2) {
		codec_segment_roots(data, nseg, out);
		return 0;
	}
	if (nthreads > nseg)
		nthreads = (unsigned)nseg;
	per = (nseg + nthreads - 1) / nthreads;
	/* The calling thread takes the last share instead of waiting idle. */
	for (unsigned t = 0; t + 1 < nthreads && done < nseg; t++) {
		size_t n = per < nseg - done ? per : nseg - done;

		jobs[t] = (struct seg_job){data + done * CODEC_SEGMENT_SIZE, n, out + done};
		if (pthread_create(&tid[t], NULL, seg_worker, &jobs[t]) != 0)
			break;
		started++;
		done += n;
	}
	codec_segment_roots(data + done * CODEC_SEGMENT_SIZE, nseg - done, out + done);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	return 0;
}

size_t codec_submission_heights(uint64_t size, unsigned heights[CODEC_MAX_NODES])
{
	uint64_t padded;
	size_t n = 0;

	if (size == 0)
		return 0;
	padded = codec_padded_chunks(codec_num_chunks(size));
	for (int h = 63; h >= 0; h--)
		if (padded & (1ULL << h))
			heights[n++] = (unsigned)h;
	return n;
}

/* Push a perfect subtree; equal heights on top merge, like a carry in a binary counter.
 * The caller keeps pushes aligned, so the top is never lower than what is pushed. */
static void stack_push(struct codec_subnode *stack, unsigned *depth, const uint8_t root[32],
		       unsigned height)
{
	uint8_t cur[CODEC_HASH_SIZE];

	memcpy(cur, root, CODEC_HASH_SIZE);
	while (*depth && stack[*depth - 1].height == height) {
		codec_hash_pair(stack[*depth - 1].root, cur, cur);
		(*depth)--;
		height++;
	}
	memcpy(stack[*depth].root, cur, CODEC_HASH_SIZE);
	stack[*depth].height = height;
	(*depth)++;
}

int codec_merkle_init(struct codec_merkle *m)
{
	memset(m, 0, sizeof(*m));
	m->pending = malloc(CODEC_SEGMENT_SIZE);
	return m->pending ? 0 : -ENOMEM;
}

void codec_merkle_release(struct codec_merkle *m)
{
	if (!m)
		return;
	free(m->pending);
	m->pending = NULL;
}

static void take_segment_root(struct codec_merkle *m, const uint8_t root[CODEC_HASH_SIZE])
{
	uint64_t index = m->size / CODEC_SEGMENT_SIZE;

	stack_push(m->stack, &m->depth, root, CODEC_SEGMENT_HEIGHT);
	memcpy(m->last_seg, root, CODEC_HASH_SIZE);
	m->size += CODEC_SEGMENT_SIZE;
	if (m->on_segment)
		m->on_segment(m->on_segment_ctx, index, root);
}

int codec_merkle_update(struct codec_merkle *m, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct seg_scratch *s = NULL;
	uint8_t root[CODEC_HASH_SIZE];

	if (len > CODEC_MAX_ENTRY_SIZE || m->size > CODEC_MAX_ENTRY_SIZE - len)
		return -E2BIG;
	while (len > 0) {
		size_t off = m->size % CODEC_SEGMENT_SIZE;

		if (off == 0 && len >= CODEC_SEGMENT_SIZE) {
			/* Whole segments straight from the caller's memory: no copy. */
			if (!s && !(s = malloc(sizeof(*s))))
				return -ENOMEM;
			full_segment_root(p, s, root);
			take_segment_root(m, root);
			p += CODEC_SEGMENT_SIZE;
			len -= CODEC_SEGMENT_SIZE;
			continue;
		}
		size_t take = CODEC_SEGMENT_SIZE - off;

		if (take > len)
			take = len;
		memcpy(m->pending + off, p, take);
		p += take;
		len -= take;
		if (off + take < CODEC_SEGMENT_SIZE) {
			m->size += take;
			break;
		}
		if (!s && !(s = malloc(sizeof(*s))))
			return -ENOMEM;
		m->size -= off; /* take_segment_root() counts the whole segment */
		full_segment_root(m->pending, s, root);
		take_segment_root(m, root);
	}
	free(s);
	return 0;
}

int codec_merkle_push_segments(struct codec_merkle *m, const uint8_t *roots, size_t n)
{
	if (m->size % CODEC_SEGMENT_SIZE)
		return -EINVAL;
	if (n > (CODEC_MAX_ENTRY_SIZE - m->size) / CODEC_SEGMENT_SIZE)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		take_segment_root(m, roots + i * CODEC_HASH_SIZE);
	return 0;
}

int codec_merkle_finish(const struct codec_merkle *m, uint8_t ret_root[CODEC_HASH_SIZE],
			struct codec_subnode *ret_nodes, size_t *ret_nnodes,
			uint8_t ret_last_seg[CODEC_HASH_SIZE])
{
	struct codec_subnode stack[CODEC_MAX_NODES + 1];
	unsigned depth = m->depth;
	uint64_t padded, covered, pend;
	uint8_t last_seg[CODEC_HASH_SIZE], root[CODEC_HASH_SIZE];
	bool have_last = false;

	if (m->size == 0)
		return -EINVAL;
	memcpy(stack, m->stack, sizeof(stack));
	padded = codec_padded_chunks(codec_num_chunks(m->size));
	covered = m->size / CODEC_SEGMENT_SIZE * CODEC_SEGMENT_CHUNKS;
	pend = m->size % CODEC_SEGMENT_SIZE;

	if (pend) {
		/* The segment in progress, padded within itself to at most 1024 chunks. */
		uint64_t tail = padded - covered;
		struct seg_scratch *s = malloc(sizeof(*s));
		codec_hash pieces[CODEC_SEGMENT_HEIGHT + 1];
		unsigned npieces = 0;
		uint64_t off = 0;

		if (!s)
			return -ENOMEM;
		if (tail > CODEC_SEGMENT_CHUNKS)
			tail = CODEC_SEGMENT_CHUNKS;
		segment_leaves(m->pending, pend, (unsigned)tail, s->a);
		for (int h = CODEC_SEGMENT_HEIGHT; h >= 0; h--) {
			uint64_t span = 1ULL << h;

			if (!(tail & span))
				continue;
			/* Perfect subtree over leaves [off, off + span): reduce a copy. */
			codec_hash *a = s->a + off;

			if (span == 1) {
				memcpy(pieces[npieces], a[0], CODEC_HASH_SIZE);
			} else {
				size_t n = level_up(a[0], span, s->b);

				/* Results go back over the consumed leaves, which are dead. */
				reduce(s->b, a, n, pieces[npieces]);
			}
			stack_push(stack, &depth, pieces[npieces], (unsigned)h);
			npieces++;
			off += span;
		}
		free(s);
		memcpy(last_seg, pieces[npieces - 1], CODEC_HASH_SIZE);
		for (int i = (int)npieces - 2; i >= 0; i--)
			codec_hash_pair(pieces[i], last_seg, last_seg);
		have_last = true;
		covered += tail;
	}
	/* Whole zero segments of padding, pushed as the largest aligned zero subtrees. */
	while (covered < padded) {
		uint64_t seg = covered / CODEC_SEGMENT_CHUNKS;
		uint64_t left = (padded - covered) / CODEC_SEGMENT_CHUNKS;
		unsigned h = 0;

		while (h < 53 && !(seg & (1ULL << h)) && (2ULL << h) <= left)
			h++;
		stack_push(stack, &depth, codec_zero_root(CODEC_SEGMENT_HEIGHT + h),
			   CODEC_SEGMENT_HEIGHT + h);
		covered += (1ULL << h) * CODEC_SEGMENT_CHUNKS;
	}
	if (!have_last)
		memcpy(last_seg, m->last_seg, CODEC_HASH_SIZE);

	memcpy(root, stack[depth - 1].root, CODEC_HASH_SIZE);
	for (int i = (int)depth - 2; i >= 0; i--)
		codec_hash_pair(stack[i].root, root, root);
	if (ret_root)
		memcpy(ret_root, root, CODEC_HASH_SIZE);
	if (ret_nodes)
		memcpy(ret_nodes, stack, depth * sizeof(stack[0]));
	if (ret_nnodes)
		*ret_nnodes = depth;
	if (ret_last_seg)
		memcpy(ret_last_seg, last_seg, CODEC_HASH_SIZE);
	return 0;
}

int codec_file_root(const void *data, size_t len, uint8_t ret_root[CODEC_HASH_SIZE])
{
	struct codec_merkle m;
	int r;

	if (len == 0)
		return -EINVAL;
	r = codec_merkle_init(&m);
	if (r < 0)
		return r;
	r = codec_merkle_update(&m, data, len);
	if (r == 0)
		r = codec_merkle_finish(&m, ret_root, NULL, NULL, NULL);
	codec_merkle_release(&m);
	return r;
}
