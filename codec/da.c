/*
 * The DA square. Every Reed–Solomon call codes one line of s-byte shares: a row's shares
 * are adjacent, a column's are 2k·s apart, and ISA-L takes a pointer per shard, so both
 * directions run straight on the row-major square. Coding line by line also keeps each
 * call's working set (2k shares, at most 496 KiB) in the cache, which is about 1.7 times
 * faster at k = 128 than one call over whole rows of 2k·s bytes.
 *
 * The trees are codec/merkle.h's and codec/proof.h's: roots by codec_root_of_leaves(),
 * proofs built by codec_proof_build() and checked by codec_proof_verify(). The encoded
 * proofs leave out what k and the position determine (depths, path flags).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec/da.h"
#include "codec/endian.h"
#include "codec/errors.h"
#include "codec/proof.h"
#include "codec/rs.h"

#define SQ_ALIGN  64
#define BEFP_HEAD 10

static bool valid_k(unsigned k)
{
	return k >= 1 && k <= CODEC_DA_MAX_K && (k & (k - 1)) == 0;
}

static bool valid_share_size(size_t s)
{
	return s >= CODEC_DA_SHARE_ALIGN && s <= CODEC_DA_MAX_SHARE &&
	       s % CODEC_DA_SHARE_ALIGN == 0;
}

static unsigned log2_of(unsigned k)
{
	unsigned l = 0;

	while ((1u << l) < k)
		l++;
	return l;
}

/* ---- running lines on several threads ---- */

/* Works on lines [begin, end); returns 0 or -errno. */
typedef int line_fn(void *ctx, unsigned begin, unsigned end);

struct line_job {
	line_fn *fn;
	void *ctx;
	unsigned begin, end;
	int err;
};

static void *line_worker(void *arg)
{
	struct line_job *j = arg;

	j->err = j->fn(j->ctx, j->begin, j->end);
	return NULL;
}

/* fn over lines [0, n) cut into nthreads runs; the calling thread takes the last run, and
 * any run whose thread cannot be started. Returns the first error of any run. */
static int run_lines(line_fn *fn, void *ctx, unsigned n, unsigned nthreads)
{
	pthread_t tid[CODEC_DA_MAX_THREADS];
	struct line_job jobs[CODEC_DA_MAX_THREADS];
	unsigned started = 0, done = 0, per;
	int err;

	if (nthreads > CODEC_DA_MAX_THREADS)
		nthreads = CODEC_DA_MAX_THREADS;
	if (nthreads > n)
		nthreads = n;
	if (nthreads <= 1)
		return fn(ctx, 0, n);
	per = (n + nthreads - 1) / nthreads;
	for (unsigned t = 0; t + 1 < nthreads && done < n; t++) {
		jobs[t] = (struct line_job){fn, ctx, done, done + per < n ? done + per : n, 0};
		if (pthread_create(&tid[t], NULL, line_worker, &jobs[t]) != 0)
			break;
		started++;
		done = jobs[t].end;
	}
	err = fn(ctx, done, n);
	for (unsigned t = 0; t < started; t++) {
		pthread_join(tid[t], NULL);
		if (!err)
			err = jobs[t].err;
	}
	return err;
}

/* ---- geometry and layout ---- */

int codec_da_geometry(uint64_t len, unsigned *ret_k, size_t *ret_share_size)
{
	uint64_t n = len + 4, per;
	unsigned k = 1;

	if (len > CODEC_DA_MAX_BLOB)
		return -E2BIG;
	while ((uint64_t)k * k * CODEC_DA_MAX_SHARE < n)
		k *= 2;
	per = (uint64_t)k * k * CODEC_DA_SHARE_ALIGN;
	*ret_k = k;
	*ret_share_size = (size_t)((n + per - 1) / per * CODEC_DA_SHARE_ALIGN);
	return 0;
}

int codec_da_square_new(unsigned k, size_t share_size, struct codec_da_square **ret_sq)
{
	const size_t n = (size_t)4 * k * k;
	struct codec_da_square *sq;

	if (!valid_k(k) || !valid_share_size(share_size))
		return -EINVAL;
	/* One block for the struct and its hashes: leaves, then 2k row roots and 2k column
	 * roots side by side, which is the data tree's leaf array. */
	sq = calloc(1, sizeof(*sq) + (n + (size_t)4 * k) * sizeof(codec_hash));
	if (!sq)
		return -ENOMEM;
	/* (2k)² · s is a multiple of 4 · 32, so of SQ_ALIGN as aligned_alloc() wants. */
	sq->shares = aligned_alloc(SQ_ALIGN, n * share_size);
	if (!sq->shares) {
		free(sq);
		return -ENOMEM;
	}
	memset(sq->shares, 0, n * share_size);
	sq->k = k;
	sq->share_size = share_size;
	sq->leaves = (codec_hash *)(sq + 1);
	sq->row_roots = sq->leaves + n;
	sq->col_roots = sq->row_roots + 2 * k;
	*ret_sq = sq;
	return 0;
}

void codec_da_square_free(struct codec_da_square *sq)
{
	if (!sq)
		return;
	free(sq->shares);
	free(sq);
}

/* Row r < k of the data quarter holds payload bytes [r·k·s, (r+1)·k·s), contiguous. */
static uint8_t *payload_row(const struct codec_da_square *sq, unsigned r, size_t *ret_off)
{
	*ret_off = (size_t)r * sq->k * sq->share_size;
	return codec_da_share(sq, r, 0);
}

int codec_da_layout(const void *blob, size_t len, struct codec_da_square **ret_sq)
{
	struct codec_da_square *sq;
	unsigned k;
	size_t s, rowlen;
	int err;

	err = codec_da_geometry(len, &k, &s);
	if (err)
		return err;
	err = codec_da_square_new(k, s, &sq);
	if (err)
		return err;
	rowlen = (size_t)k * s;
	codec_put_le32(sq->shares, (uint32_t)len);
	for (unsigned r = 0; r < k; r++) {
		size_t off, lo, hi;
		uint8_t *row = payload_row(sq, r, &off);

		/* The blob is payload bytes [4, 4 + len). */
		lo = off > 4 ? off : 4;
		hi = off + rowlen < 4 + len ? off + rowlen : 4 + len;
		if (lo < hi)
			memcpy(row + (lo - off), (const uint8_t *)blob + (lo - 4), hi - lo);
	}
	*ret_sq = sq;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int codec_da_blob(const struct codec_da_square *sq, uint8_t **ret_blob, size_t *ret_len)
{
	const size_t rowlen = (size_t)sq->k * sq->share_size;
	uint32_t len = codec_get_le32(sq->shares);
	unsigned k;
	size_t s;
	uint8_t *blob;

	if (codec_da_geometry(len, &k, &s) != 0 || k != sq->k || s != sq->share_size)
		return -CODEC_EDA_LENGTH;
	for (unsigned r = 0; r < sq->k; r++) {
		size_t off, from;
		const uint8_t *row = payload_row(sq, r, &off);

		from = off > 4 + (size_t)len ? off : 4 + (size_t)len;
		if (from < off + rowlen && !all_zero(row + (from - off), off + rowlen - from))
			return -CODEC_EDA_LENGTH;
	}
	blob = malloc(len ? len : 1);
	if (!blob)
		return -ENOMEM;
	for (unsigned r = 0; r < sq->k; r++) {
		size_t off, lo, hi;
		const uint8_t *row = payload_row(sq, r, &off);

		lo = off > 4 ? off : 4;
		hi = off + rowlen < 4 + (size_t)len ? off + rowlen : 4 + (size_t)len;
		if (lo < hi)
			memcpy(blob + (lo - 4), row + (lo - off), hi - lo);
	}
	*ret_blob = blob;
	*ret_len = len;
	return 0;
}

/* ---- lines ---- */

/* Share `pos` of line `index` of `axis`, and its place in a (2k)² row-major array. */
static size_t line_at(const struct codec_da_square *sq, enum codec_da_axis axis, unsigned index,
		      unsigned pos)
{
	const size_t side = 2 * (size_t)sq->k;

	return axis == CODEC_DA_ROW ? index * side + pos : pos * side + index;
}

static void line_shares(const struct codec_da_square *sq, enum codec_da_axis axis, unsigned index,
			uint8_t **shards)
{
	for (unsigned i = 0; i < 2 * sq->k; i++)
		shards[i] = sq->shares + line_at(sq, axis, index, i) * sq->share_size;
}

struct code_job {
	struct codec_da_square *sq;
	const struct codec_rs *rs;
	enum codec_da_axis axis;
};

static int encode_lines(void *ctx, unsigned begin, unsigned end)
{
	const struct code_job *j = ctx;
	uint8_t *shards[CODEC_RS_MAX_SHARDS];

	for (unsigned i = begin; i < end; i++) {
		line_shares(j->sq, j->axis, i, shards);
		codec_rs_encode(j->rs, j->sq->share_size, (const uint8_t *const *)shards,
				shards + j->sq->k);
	}
	return 0;
}

int codec_da_extend(struct codec_da_square *sq, unsigned nthreads)
{
	struct code_job j = {sq, NULL, CODEC_DA_ROW};
	struct codec_rs *rs;
	int err;

	err = codec_rs_new(sq->k, sq->k, &rs);
	if (err)
		return err;
	j.rs = rs;
	/* The first k rows, then every column: the parity rows of the columns include the
	 * lower right quarter, which makes rows k..2k-1 codewords as well. */
	err = run_lines(encode_lines, &j, sq->k, nthreads);
	if (!err) {
		j.axis = CODEC_DA_COL;
		err = run_lines(encode_lines, &j, 2 * sq->k, nthreads);
	}
	codec_rs_free(rs);
	return err;
}

/* ---- commitments ---- */

static int hash_rows(void *ctx, unsigned begin, unsigned end)
{
	struct codec_da_square *sq = ctx;
	const size_t side = 2 * (size_t)sq->k;

	for (unsigned r = begin; r < end; r++)
		codec_keccak256_batch(codec_da_share(sq, r, 0), sq->share_size, sq->share_size,
				      side, sq->leaves + r * side);
	return 0;
}

/* The leaves of line `index` of `axis`, 2k hashes: in place for a row, gathered for a
 * column into buf. */
static const uint8_t *line_leaves(const struct codec_da_square *sq, enum codec_da_axis axis,
				  unsigned index, codec_hash *buf)
{
	if (axis == CODEC_DA_ROW)
		return sq->leaves[line_at(sq, axis, index, 0)];
	for (unsigned i = 0; i < 2 * sq->k; i++)
		memcpy(buf[i], sq->leaves[line_at(sq, axis, index, i)], CODEC_HASH_SIZE);
	return buf[0];
}

/* Lines 0..2k-1 are the rows, 2k..4k-1 the columns: the data tree's leaf order. */
static int root_lines(void *ctx, unsigned begin, unsigned end)
{
	struct codec_da_square *sq = ctx;
	codec_hash buf[2 * CODEC_DA_MAX_K];

	for (unsigned i = begin; i < end; i++) {
		const enum codec_da_axis axis = i < 2 * sq->k ? CODEC_DA_ROW : CODEC_DA_COL;
		const unsigned index = axis == CODEC_DA_ROW ? i : i - 2 * sq->k;
		int err = codec_root_of_leaves(line_leaves(sq, axis, index, buf), 2 * sq->k,
					       sq->row_roots[i]);

		if (err)
			return err;
	}
	return 0;
}

int codec_da_commit(struct codec_da_square *sq, unsigned nthreads)
{
	int err;

	err = run_lines(hash_rows, sq, 2 * sq->k, nthreads);
	if (!err)
		err = run_lines(root_lines, sq, 4 * sq->k, nthreads);
	if (!err)
		err = codec_root_of_leaves(sq->row_roots[0], 4 * (size_t)sq->k, sq->data_root);
	return err;
}

int codec_da_encode(const void *blob, size_t len, unsigned nthreads,
		    struct codec_da_square **ret_sq)
{
	struct codec_da_square *sq;
	int err;

	err = codec_da_layout(blob, len, &sq);
	if (err)
		return err;
	err = codec_da_extend(sq, nthreads);
	if (!err)
		err = codec_da_commit(sq, nthreads);
	if (err) {
		codec_da_square_free(sq);
		return err;
	}
	*ret_sq = sq;
	return 0;
}

/* ---- sampling ---- */

double codec_da_sample_confidence(unsigned k, unsigned n)
{
	const double all = 4.0 * k * k, withheld = (double)(k + 1) * (k + 1);
	double miss = 1.0;

	for (unsigned i = 0; i < n; i++) {
		if (all - i <= withheld)
			return 1.0;
		miss *= 1.0 - withheld / (all - i);
	}
	return 1.0 - miss;
}

/* ---- share proofs ---- */

size_t codec_da_proof_size(unsigned k)
{
	return 4 + (size_t)CODEC_HASH_SIZE * (2 * log2_of(k) + 5);
}

/* The codec_proof of leaf `index` in a perfect tree of 2^depth leaves, from its
 * siblings: the path flags are the index's bits. */
static void perfect_proof(const uint8_t leaf[CODEC_HASH_SIZE],
			  const uint8_t (*sib)[CODEC_HASH_SIZE], unsigned depth,
			  const uint8_t root[CODEC_HASH_SIZE], unsigned index,
			  struct codec_proof *p)
{
	p->depth = depth;
	memcpy(p->lemma[0], leaf, CODEC_HASH_SIZE);
	memcpy(p->lemma[1], sib, (size_t)depth * CODEC_HASH_SIZE);
	memcpy(p->lemma[depth + 1], root, CODEC_HASH_SIZE);
	for (unsigned i = 0; i < depth; i++)
		p->path[i] = ((index >> i) & 1) == 0;
}

/* Where a share proof sits: its line's leaf in the data tree, its position in the line. */
static void proof_place(unsigned k, enum codec_da_axis axis, unsigned row, unsigned col,
			unsigned *ret_data_index, unsigned *ret_pos)
{
	*ret_data_index = axis == CODEC_DA_ROW ? row : 2 * k + col;
	*ret_pos = axis == CODEC_DA_ROW ? col : row;
}

/* A share proof from the proofs of its leaf in its line's tree (lp) and of the line's root
 * in the data tree (dp). */
static void assemble(unsigned k, enum codec_da_axis axis, unsigned row, unsigned col,
		     const struct codec_proof *lp, const struct codec_proof *dp,
		     struct codec_da_proof *ret)
{
	const unsigned l2 = log2_of(k);

	memset(ret, 0, sizeof(*ret));
	ret->k = k;
	ret->axis = axis;
	ret->row = row;
	ret->col = col;
	memcpy(ret->line_root, dp->lemma[0], CODEC_HASH_SIZE);
	memcpy(ret->line_sib, lp->lemma[1], (size_t)(l2 + 1) * CODEC_HASH_SIZE);
	memcpy(ret->data_sib, dp->lemma[1], (size_t)(l2 + 2) * CODEC_HASH_SIZE);
	memcpy(ret->data_root, dp->lemma[l2 + 3], CODEC_HASH_SIZE);
}

int codec_da_prove(const struct codec_da_square *sq, unsigned row, unsigned col,
		   enum codec_da_axis axis, struct codec_da_proof *ret_proof)
{
	codec_hash buf[2 * CODEC_DA_MAX_K];
	struct codec_proof lp, dp;
	unsigned di, pos;
	int err;

	if (row >= 2 * sq->k || col >= 2 * sq->k || (axis != CODEC_DA_ROW && axis != CODEC_DA_COL))
		return -EINVAL;
	proof_place(sq->k, axis, row, col, &di, &pos);
	err = codec_proof_build(line_leaves(sq, axis, axis == CODEC_DA_ROW ? row : col, buf),
				2 * sq->k, pos, &lp);
	if (!err)
		err = codec_proof_build(sq->row_roots[0], 4 * (size_t)sq->k, di, &dp);
	if (err)
		return err;
	assemble(sq->k, axis, row, col, &lp, &dp, ret_proof);
	return 0;
}

/* ---- one line at a time ---- */

int codec_da_roots_check(unsigned k, const uint8_t *roots, const uint8_t data_root[CODEC_HASH_SIZE])
{
	uint8_t root[CODEC_HASH_SIZE];
	int err;

	if (!valid_k(k))
		return -EINVAL;
	err = codec_root_of_leaves(roots, 4 * (size_t)k, root);
	if (err)
		return err;
	return memcmp(root, data_root, CODEC_HASH_SIZE) == 0 ? 0 : -CODEC_EDA_DATA_ROOT;
}

int codec_da_line_check(unsigned k, size_t share_size, const uint8_t *line,
			const uint8_t root[CODEC_HASH_SIZE])
{
	const uint8_t *data[CODEC_RS_MAX_SHARDS];
	uint8_t *parity[CODEC_RS_MAX_SHARDS], *buf;
	codec_hash leaves[2 * CODEC_DA_MAX_K];
	uint8_t got[CODEC_HASH_SIZE];
	struct codec_rs *rs;
	int err;

	if (!valid_k(k) || !valid_share_size(share_size))
		return -EINVAL;
	buf = malloc((size_t)k * share_size);
	if (!buf)
		return -ENOMEM;
	err = codec_rs_new(k, k, &rs);
	if (err) {
		free(buf);
		return err;
	}
	for (unsigned i = 0; i < k; i++) {
		data[i] = line + (size_t)i * share_size;
		parity[i] = buf + (size_t)i * share_size;
	}
	codec_rs_encode(rs, share_size, data, parity);
	codec_rs_free(rs);
	if (memcmp(buf, line + (size_t)k * share_size, (size_t)k * share_size) != 0)
		err = -CODEC_EDA_CODEWORD;
	free(buf);
	if (err)
		return err;
	codec_keccak256_batch(line, share_size, share_size, 2 * k, leaves);
	err = codec_root_of_leaves(leaves[0], 2 * k, got);
	if (!err && memcmp(got, root, CODEC_HASH_SIZE) != 0)
		err = -CODEC_EDA_SHARE;
	return err;
}

int codec_da_prove_row(unsigned k, size_t share_size, const uint8_t *row_shares,
		       const uint8_t *roots, unsigned row, unsigned col,
		       struct codec_da_proof *ret_proof)
{
	codec_hash leaves[2 * CODEC_DA_MAX_K];
	struct codec_proof lp, dp;
	int err;

	if (!valid_k(k) || !valid_share_size(share_size) || row >= 2 * k || col >= 2 * k)
		return -EINVAL;
	codec_keccak256_batch(row_shares, share_size, share_size, 2 * k, leaves);
	err = codec_proof_build(leaves[0], 2 * k, col, &lp);
	if (!err)
		err = codec_proof_build(roots, 4 * (size_t)k, row, &dp);
	if (err)
		return err;
	assemble(k, CODEC_DA_ROW, row, col, &lp, &dp, ret_proof);
	return 0;
}

/* That line_root is leaf di of the data tree under data_root. */
static int check_line_root(unsigned k, const uint8_t line_root[CODEC_HASH_SIZE],
			   const uint8_t (*data_sib)[CODEC_HASH_SIZE], unsigned di,
			   const uint8_t data_root[CODEC_HASH_SIZE])
{
	struct codec_proof dp;

	perfect_proof(line_root, data_sib, log2_of(k) + 2, data_root, di, &dp);
	return codec_proof_verify(&dp, data_root, line_root, di, 4 * (uint64_t)k) == 0
		   ? 0
		   : -CODEC_EDA_LINE_ROOT;
}

/* That leaf is at (row, col) under data_root through the proof's line; the checks of
 * codec_da_proof_verify() after the share is hashed. */
static int verify_leaf(const struct codec_da_proof *proof, const uint8_t data_root[CODEC_HASH_SIZE],
		       unsigned k, const uint8_t leaf[CODEC_HASH_SIZE])
{
	struct codec_proof lp;
	unsigned di, pos;
	int err;

	if (memcmp(proof->data_root, data_root, CODEC_HASH_SIZE) != 0)
		return -CODEC_EDA_DATA_ROOT;
	proof_place(k, proof->axis, proof->row, proof->col, &di, &pos);
	err = check_line_root(k, proof->line_root, proof->data_sib, di, data_root);
	if (err)
		return err;
	perfect_proof(leaf, proof->line_sib, log2_of(k) + 1, proof->line_root, pos, &lp);
	if (codec_proof_verify(&lp, proof->line_root, leaf, pos, 2 * (uint64_t)k) != 0)
		return -CODEC_EDA_SHARE;
	return 0;
}

int codec_da_proof_verify(const struct codec_da_proof *proof,
			  const uint8_t data_root[CODEC_HASH_SIZE], unsigned k, unsigned row,
			  unsigned col, const uint8_t *share, size_t share_size)
{
	uint8_t leaf[CODEC_HASH_SIZE];

	if (!valid_k(k) || row >= 2 * k || col >= 2 * k)
		return -EINVAL;
	if (proof->k != k)
		return -CODEC_EPROOF_LENGTH;
	if (proof->row != row || proof->col != col ||
	    (proof->axis != CODEC_DA_ROW && proof->axis != CODEC_DA_COL))
		return -CODEC_EPROOF_POSITION;
	/* Top down, so that each tampered part has its own error. */
	codec_keccak256(share, share_size, leaf);
	return verify_leaf(proof, data_root, k, leaf);
}

size_t codec_da_proof_encode(const struct codec_da_proof *proof, uint8_t *out)
{
	const unsigned l2 = log2_of(proof->k);
	uint8_t *p = out;

	*p++ = (uint8_t)l2;
	*p++ = (uint8_t)proof->axis;
	*p++ = (uint8_t)proof->row;
	*p++ = (uint8_t)proof->col;
	memcpy(p, proof->line_root, CODEC_HASH_SIZE);
	p += CODEC_HASH_SIZE;
	memcpy(p, proof->line_sib, (size_t)(l2 + 1) * CODEC_HASH_SIZE);
	p += (size_t)(l2 + 1) * CODEC_HASH_SIZE;
	memcpy(p, proof->data_sib, (size_t)(l2 + 2) * CODEC_HASH_SIZE);
	p += (size_t)(l2 + 2) * CODEC_HASH_SIZE;
	memcpy(p, proof->data_root, CODEC_HASH_SIZE);
	p += CODEC_HASH_SIZE;
	return (size_t)(p - out);
}

int codec_da_proof_decode(const uint8_t *in, size_t len, struct codec_da_proof *ret_proof)
{
	struct codec_da_proof p;
	unsigned l2;
	const uint8_t *q = in + 4;

	if (len < 4 || in[0] > CODEC_DA_MAX_LOG2K)
		return -CODEC_EFORMAT;
	l2 = in[0];
	memset(&p, 0, sizeof(p));
	p.k = 1u << l2;
	if (len != codec_da_proof_size(p.k) || in[1] > CODEC_DA_COL || in[2] >= 2 * p.k ||
	    in[3] >= 2 * p.k)
		return -CODEC_EFORMAT;
	p.axis = in[1] == 0 ? CODEC_DA_ROW : CODEC_DA_COL;
	p.row = in[2];
	p.col = in[3];
	memcpy(p.line_root, q, CODEC_HASH_SIZE);
	q += CODEC_HASH_SIZE;
	memcpy(p.line_sib, q, (size_t)(l2 + 1) * CODEC_HASH_SIZE);
	q += (size_t)(l2 + 1) * CODEC_HASH_SIZE;
	memcpy(p.data_sib, q, (size_t)(l2 + 2) * CODEC_HASH_SIZE);
	q += (size_t)(l2 + 2) * CODEC_HASH_SIZE;
	memcpy(p.data_root, q, CODEC_HASH_SIZE);
	*ret_proof = p;
	return 0;
}

/* ---- reconstruction ---- */

struct peel_job {
	struct codec_da_square *sq;
	const struct codec_rs *rs; /* NULL: only the flags are updated (the dry run) */
	enum codec_da_axis axis;
	uint8_t *have;	  /* (2k)² presence flags, updated as lines are rebuilt */
	uint8_t *changed; /* per line of this axis: set when the line was rebuilt */
};

/* The positions of a line that are absent; returns how many. */
static unsigned line_lost(const struct peel_job *j, unsigned index, unsigned *lost)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 2 * j->sq->k; i++)
		if (!j->have[line_at(j->sq, j->axis, index, i)])
			lost[n++] = i;
	return n;
}

/* Rebuilds every line in [begin, end) that has k or more of its shares. Lines missing the
 * same positions share one decode plan, which is what makes a withheld quarter cheap. */
static int peel_lines(void *ctx, unsigned begin, unsigned end)
{
	const struct peel_job *j = ctx;
	const unsigned k = j->sq->k;
	unsigned lost[CODEC_RS_MAX_SHARDS], plan_lost[CODEC_RS_MAX_SHARDS], plan_n = 0;
	struct codec_rs_plan *plan = NULL;
	uint8_t *shards[CODEC_RS_MAX_SHARDS];
	int err = 0;

	for (unsigned i = begin; i < end && !err; i++) {
		unsigned n = line_lost(j, i, lost);

		if (n == 0 || n > k)
			continue;
		if (j->rs) {
			if (!plan || n != plan_n || memcmp(lost, plan_lost, n * sizeof(*lost))) {
				codec_rs_plan_free(plan);
				plan = NULL;
				err = codec_rs_plan_new(j->rs, lost, n, &plan);
				if (err)
					break;
				memcpy(plan_lost, lost, n * sizeof(*lost));
				plan_n = n;
			}
			line_shares(j->sq, j->axis, i, shards);
			codec_rs_plan_apply(plan, j->sq->share_size, shards);
		}
		for (unsigned q = 0; q < n; q++)
			j->have[line_at(j->sq, j->axis, i, lost[q])] = 1;
		j->changed[i] = 1;
	}
	codec_rs_plan_free(plan);
	return err;
}

/* Rows, then columns, again until a round rebuilds nothing. Returns 0 when every share is
 * present at the end, -CODEC_EDA_UNRECOVERABLE when not. */
static int peel(struct codec_da_square *sq, const struct codec_rs *rs, uint8_t *have,
		unsigned nthreads)
{
	const unsigned side = 2 * sq->k;
	uint8_t changed[2 * CODEC_DA_MAX_K];
	struct peel_job j = {sq, rs, CODEC_DA_ROW, have, changed};
	bool progress = true;
	int err;

	while (progress) {
		progress = false;
		for (int a = 0; a < 2; a++) {
			j.axis = a == 0 ? CODEC_DA_ROW : CODEC_DA_COL;
			memset(changed, 0, side);
			err = run_lines(peel_lines, &j, side, nthreads);
			if (err)
				return err;
			for (unsigned i = 0; i < side; i++)
				progress |= changed[i] != 0;
		}
	}
	for (size_t i = 0; i < (size_t)side * side; i++)
		if (!have[i])
			return -CODEC_EDA_UNRECOVERABLE;
	return 0;
}

/* Whether the square is the extension of its data quarter (every line a codeword):
 * -CODEC_EDA_CODEWORD when not. */
static int product_code_check(const struct codec_da_square *sq, unsigned nthreads)
{
	const size_t rowlen = (size_t)sq->k * sq->share_size;
	struct codec_da_square *t;
	int err = codec_da_square_new(sq->k, sq->share_size, &t);

	if (err)
		return err;
	for (unsigned r = 0; r < sq->k; r++)
		memcpy(codec_da_share(t, r, 0), codec_da_share(sq, r, 0), rowlen);
	err = codec_da_extend(t, nthreads);
	if (!err && memcmp(t->shares, sq->shares, 4 * (size_t)sq->k * rowlen) != 0)
		err = -CODEC_EDA_CODEWORD;
	codec_da_square_free(t);
	return err;
}

int codec_da_reconstruct(struct codec_da_square *sq, const uint8_t *have,
			 const uint8_t data_root[CODEC_HASH_SIZE], unsigned nthreads)
{
	const size_t n = (size_t)4 * sq->k * sq->k;
	struct codec_rs *rs = NULL;
	uint8_t *flags;
	int err;

	flags = malloc(n);
	if (!flags)
		return -ENOMEM;
	/* The dry run on the flags alone decides, before any byte is written. */
	for (size_t i = 0; i < n; i++)
		flags[i] = have[i] != 0;
	err = peel(sq, NULL, flags, 1);
	if (err)
		goto out;
	err = codec_rs_new(sq->k, sq->k, &rs);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++)
		flags[i] = have[i] != 0;
	err = peel(sq, rs, flags, nthreads);
	if (!err)
		err = codec_da_commit(sq, nthreads);
	if (!err && memcmp(sq->data_root, data_root, CODEC_HASH_SIZE) != 0)
		err = -CODEC_EDA_DATA_ROOT;
	/* Lines with more than k shares present were decoded from k of them: the others
	 * must agree, or another reader's k would give another square under the same root. */
	if (!err)
		err = product_code_check(sq, nthreads);
	if (err == -CODEC_EDA_CODEWORD)
		goto out; /* complete and committed: what a bad-encoding proof is built from */
	if (err) /* past the dry run: the rebuilt shares are not to be trusted */
		for (size_t i = 0; i < n; i++)
			if (!have[i])
				memset(sq->shares + i * sq->share_size, 0, sq->share_size);
out:
	codec_rs_free(rs);
	free(flags);
	return err;
}

/* ---- bad-encoding proofs ---- */

/* Members of a proof of kind: k + 1 shares, or 2k leaves. */
static unsigned befp_members_of(unsigned k, unsigned kind)
{
	return kind == CODEC_DA_BEFP_CODEWORD ? k + 1 : 2 * k;
}

static size_t befp_size(unsigned k, size_t share_size, unsigned kind)
{
	const size_t body = kind == CODEC_DA_BEFP_CODEWORD ? share_size : CODEC_HASH_SIZE;

	return BEFP_HEAD + (size_t)CODEC_HASH_SIZE * (log2_of(k) + 3) +
	       befp_members_of(k, kind) * (codec_da_proof_size(k) + body);
}

/* Share `pos` of line (axis, index). */
static const uint8_t *line_share(const struct codec_da_square *sq, enum codec_da_axis axis,
				 unsigned index, unsigned pos)
{
	return axis == CODEC_DA_ROW ? codec_da_share(sq, index, pos)
				    : codec_da_share(sq, pos, index);
}

/* The first parity position j and byte b at which the line's shares break the code; false
 * when its data positions and every present parity position agree. */
static bool find_break(const struct codec_da_square *sq, enum codec_da_axis axis, unsigned index,
		       const uint8_t *present, unsigned *ret_j, size_t *ret_b)
{
	const unsigned k = sq->k;
	uint8_t col[CODEC_DA_MAX_K];

	for (size_t b = 0; b < sq->share_size; b++) {
		for (unsigned d = 0; d < k; d++)
			col[d] = line_share(sq, axis, index, d)[b];
		for (unsigned j = k; j < 2 * k; j++) {
			if (present && !present[j])
				continue;
			if (codec_rs_parity_byte(k, j, col) != line_share(sq, axis, index, j)[b]) {
				*ret_j = j;
				*ret_b = b;
				return true;
			}
		}
	}
	return false;
}

int codec_da_befp_build_partial(const struct codec_da_square *sq, enum codec_da_axis axis,
				unsigned index, const uint8_t *present, uint8_t **ret_buf,
				size_t *ret_len)
{
	const unsigned k = sq->k, l2 = log2_of(k);
	const enum codec_da_axis other = axis == CODEC_DA_ROW ? CODEC_DA_COL : CODEC_DA_ROW;
	struct codec_da_proof line;
	unsigned kind = CODEC_DA_BEFP_ROOT, j = 0, nm;
	size_t b = 0, size;
	uint8_t *buf, *p;
	int err;

	if (index >= 2 * k || (axis != CODEC_DA_ROW && axis != CODEC_DA_COL))
		return -EINVAL;
	for (unsigned pos = 0; present && pos < k; pos++)
		if (!present[pos])
			return -ENODATA;
	if (find_break(sq, axis, index, present, &j, &b))
		kind = CODEC_DA_BEFP_CODEWORD;
	for (unsigned pos = 0; kind == CODEC_DA_BEFP_ROOT && present && pos < 2 * k; pos++)
		if (!present[pos])
			return -ENODATA;
	/* The line root's path to the data root is the upper half of any of its shares'
	 * proofs through it. */
	err = codec_da_prove(sq, axis == CODEC_DA_ROW ? index : 0, axis == CODEC_DA_ROW ? 0 : index,
			     axis, &line);
	if (err)
		return err;
	size = befp_size(k, sq->share_size, kind);
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	p = buf;
	*p++ = (uint8_t)l2;
	*p++ = (uint8_t)axis;
	*p++ = (uint8_t)index;
	*p++ = (uint8_t)kind;
	*p++ = (uint8_t)sq->share_size;
	*p++ = (uint8_t)(sq->share_size >> 8);
	*p++ = (uint8_t)j;
	*p++ = (uint8_t)b;
	*p++ = (uint8_t)(b >> 8);
	*p++ = 0;
	memcpy(p, line.line_root, CODEC_HASH_SIZE);
	p += CODEC_HASH_SIZE;
	memcpy(p, line.data_sib, (size_t)(l2 + 2) * CODEC_HASH_SIZE);
	p += (size_t)(l2 + 2) * CODEC_HASH_SIZE;
	nm = befp_members_of(k, kind);
	for (unsigned m = 0; m < nm; m++) {
		const unsigned pos = kind == CODEC_DA_BEFP_CODEWORD && m == k ? j : m;
		const unsigned r = axis == CODEC_DA_ROW ? index : pos;
		const unsigned c = axis == CODEC_DA_ROW ? pos : index;
		struct codec_da_proof member;

		err = codec_da_prove(sq, r, c, other, &member);
		if (err) {
			free(buf);
			return err;
		}
		p += codec_da_proof_encode(&member, p);
		if (kind == CODEC_DA_BEFP_CODEWORD) {
			memcpy(p, codec_da_share(sq, r, c), sq->share_size);
			p += sq->share_size;
		} else {
			memcpy(p, sq->leaves[(size_t)r * 2 * k + c], CODEC_HASH_SIZE);
			p += CODEC_HASH_SIZE;
		}
	}
	*ret_buf = buf;
	*ret_len = size;
	return 0;
}

int codec_da_befp_build(const struct codec_da_square *sq, enum codec_da_axis axis, unsigned index,
			uint8_t **ret_buf, size_t *ret_len)
{
	return codec_da_befp_build_partial(sq, axis, index, NULL, ret_buf, ret_len);
}

int codec_da_line_rebuild(unsigned k, size_t s, const uint8_t *const *present, uint8_t *line,
			  uint8_t root[CODEC_HASH_SIZE])
{
	unsigned lost[CODEC_RS_MAX_SHARDS], nlost = 0;
	uint8_t *shards[CODEC_RS_MAX_SHARDS];
	codec_hash leaves[2 * CODEC_DA_MAX_K];
	struct codec_rs *rs;
	int err;

	if (!valid_k(k) || !valid_share_size(s))
		return -EINVAL;
	for (unsigned i = 0; i < 2 * k; i++) {
		shards[i] = line + (size_t)i * s;
		if (present[i])
			memcpy(shards[i], present[i], s);
		else
			lost[nlost++] = i;
	}
	if (nlost > k)
		return -EINVAL;
	err = codec_rs_new(k, k, &rs);
	if (err)
		return err;
	err = codec_rs_reconstruct(rs, s, shards, lost, nlost);
	codec_rs_free(rs);
	if (err)
		return err;
	codec_keccak256_batch(line, s, s, 2 * k, leaves);
	return codec_root_of_leaves(leaves[0], 2 * k, root);
}

/* Checks every member of a decoded proof's body, at the positions its kind names, and
 * collects their bodies (shares or leaves) by member. */
static int befp_members(const uint8_t *p, const uint8_t data_root[CODEC_HASH_SIZE], unsigned k,
			size_t s, enum codec_da_axis axis, unsigned index, unsigned kind,
			unsigned j, const uint8_t **body)
{
	const size_t psize = codec_da_proof_size(k);
	const size_t bsize = kind == CODEC_DA_BEFP_CODEWORD ? s : CODEC_HASH_SIZE;
	const unsigned nm = befp_members_of(k, kind);

	for (unsigned m = 0; m < nm; m++, p += psize + bsize) {
		const unsigned want = kind == CODEC_DA_BEFP_CODEWORD && m == k ? j : m;
		uint8_t leaf[CODEC_HASH_SIZE];
		struct codec_da_proof member;
		unsigned on, pos;
		int err;

		if (codec_da_proof_decode(p, psize, &member) != 0 || member.k != k ||
		    member.axis == axis)
			return -CODEC_EFORMAT;
		on = axis == CODEC_DA_ROW ? member.row : member.col;
		pos = axis == CODEC_DA_ROW ? member.col : member.row;
		if (on != index || pos != want)
			return -CODEC_EFORMAT;
		if (kind == CODEC_DA_BEFP_CODEWORD)
			codec_keccak256(p + psize, s, leaf);
		else
			memcpy(leaf, p + psize, CODEC_HASH_SIZE);
		err = verify_leaf(&member, data_root, k, leaf);
		if (err)
			return err;
		body[m] = p + psize;
	}
	return 0;
}

int codec_da_befp_verify(const uint8_t *buf, size_t len, const uint8_t data_root[CODEC_HASH_SIZE],
			 unsigned k, size_t share_size)
{
	const unsigned l2 = log2_of(k);
	const uint8_t *body[2 * CODEC_DA_MAX_K];
	uint8_t col[CODEC_DA_MAX_K], root[CODEC_HASH_SIZE];
	codec_hash leaves[2 * CODEC_DA_MAX_K];
	const uint8_t *line_root, *p;
	enum codec_da_axis axis;
	unsigned index, kind, j;
	size_t b;
	int err;

	if (!valid_k(k) || !valid_share_size(share_size))
		return -EINVAL;
	if (len < BEFP_HEAD || buf[0] != l2 || buf[1] > CODEC_DA_COL || buf[2] >= 2 * k ||
	    buf[3] > CODEC_DA_BEFP_ROOT || (size_t)(buf[4] | buf[5] << 8) != share_size ||
	    buf[9] != 0 || len != befp_size(k, share_size, buf[3]))
		return -CODEC_EFORMAT;
	axis = buf[1] == 0 ? CODEC_DA_ROW : CODEC_DA_COL;
	index = buf[2];
	kind = buf[3];
	j = buf[6];
	b = (size_t)(buf[7] | buf[8] << 8);
	if (kind == CODEC_DA_BEFP_CODEWORD ? j < k || j >= 2 * k || b >= share_size
					   : j != 0 || b != 0)
		return -CODEC_EFORMAT;
	line_root = buf + BEFP_HEAD;
	p = line_root + CODEC_HASH_SIZE;
	err = check_line_root(k, line_root, (const uint8_t(*)[CODEC_HASH_SIZE])p,
			      axis == CODEC_DA_ROW ? index : 2 * k + index, data_root);
	if (err)
		return err;
	p += (size_t)(l2 + 2) * CODEC_HASH_SIZE;
	err = befp_members(p, data_root, k, share_size, axis, index, kind, j, body);
	if (err)
		return err;
	if (kind == CODEC_DA_BEFP_CODEWORD) {
		/* One symbol of the code: the data members' bytes at b determine parity j's. */
		for (unsigned d = 0; d < k; d++)
			col[d] = body[d][b];
		return codec_rs_parity_byte(k, j, col) != body[k][b] ? 0 : -CODEC_EDA_GOOD_LINE;
	}
	for (unsigned m = 0; m < 2 * k; m++)
		memcpy(leaves[m], body[m], CODEC_HASH_SIZE);
	err = codec_root_of_leaves(leaves[0], 2 * k, root);
	if (err)
		return err;
	return memcmp(root, line_root, CODEC_HASH_SIZE) != 0 ? 0 : -CODEC_EDA_GOOD_LINE;
}
