/*
 * Reed–Solomon on ISA-L. The encode paths are ISA-L's kernels with nothing in between but
 * the split of very long shards. Reconstruction builds its decode matrix on every call
 * rather than caching it per erasure pattern: with the blockwise inversion below it costs
 * far less than the data pass, and the struct stays immutable, so threads share it freely.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/erasure_code.h>

#include "codec/rs.h"

/* ISA-L counts bytes in an int. Longer shards are coded in pieces of this size, a multiple
 * of 64 so that every piece but the last stays on the kernels' full-width loop. Building
 * with -DCODEC_RS_PIECE=64 sends the unit test through the split path. */
#ifndef CODEC_RS_PIECE
#define CODEC_RS_PIECE ((size_t)1 << 30)
#endif

#define RS_ALIGN 64

struct codec_rs {
	unsigned k, m;
	uint8_t *tbls;	 /* ec_init_tables() of the m parity rows: 32 * k * m bytes */
	uint8_t *matrix; /* (k + m) x k, row-major: identity rows, then the Cauchy rows */
};

typedef void ec_fn(int len, int k, int rows, unsigned char *tbls, unsigned char **src,
		   unsigned char **dst);

static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/* ISA-L's prototypes take non-const pointers but only read tbls and src; the casts drop a
 * const that the library honours. */
static void rs_apply(ec_fn *fn, size_t len, unsigned k, unsigned rows, const uint8_t *tbls,
		     const uint8_t *const *src, uint8_t *const *dst)
{
	if (len == 0)
		return;
	if (len <= CODEC_RS_PIECE) {
		fn((int)len, (int)k, (int)rows, (unsigned char *)tbls, (unsigned char **)src,
		   (unsigned char **)dst);
		return;
	}
	for (size_t off = 0; off < len; off += CODEC_RS_PIECE) {
		unsigned char *s[CODEC_RS_MAX_SHARDS], *d[CODEC_RS_MAX_SHARDS];
		size_t n = len - off < CODEC_RS_PIECE ? len - off : CODEC_RS_PIECE;

		for (unsigned i = 0; i < k; i++)
			s[i] = (unsigned char *)src[i] + off;
		for (unsigned i = 0; i < rows; i++)
			d[i] = dst[i] + off;
		fn((int)n, (int)k, (int)rows, (unsigned char *)tbls, s, d);
	}
}

int codec_rs_new(unsigned k, unsigned m, struct codec_rs **ret_rs)
{
	struct codec_rs *rs;
	size_t head, ntbls, size;

	/* m is compared with what k leaves, so that a huge m cannot wrap k + m. */
	if (k < 1 || m < 1 || k > CODEC_RS_MAX_SHARDS || m > CODEC_RS_MAX_SHARDS - k)
		return -EINVAL;

	/* One block: the struct, then the tables on a cache line of their own (the kernels
	 * load them 32 bytes at a time), then the matrix. */
	head = round_up(sizeof(*rs), RS_ALIGN);
	ntbls = (size_t)32 * k * m;
	size = round_up(head + ntbls + (size_t)(k + m) * k, RS_ALIGN);
	rs = aligned_alloc(RS_ALIGN, size);
	if (!rs)
		return -ENOMEM;
	rs->k = k;
	rs->m = m;
	rs->tbls = (uint8_t *)rs + head;
	rs->matrix = rs->tbls + ntbls;

	/* Cauchy rather than gf_gen_rs_matrix(): ISA-L documents its Vandermonde-style
	 * matrix as invertible for every choice of k surviving rows only in small cases
	 * (k <= 3, m - k <= 3, ...); every square submatrix of a Cauchy matrix is
	 * nonsingular, which is the "any k of k + m" promise. */
	gf_gen_cauchy1_matrix(rs->matrix, (int)(k + m), (int)k);
	ec_init_tables((int)k, (int)m, rs->matrix + (size_t)k * k, rs->tbls);
	*ret_rs = rs;
	return 0;
}

uint8_t codec_rs_parity_byte(unsigned k, unsigned j, const uint8_t *bytes)
{
	uint8_t acc = 0;

	/* gf_gen_cauchy1_matrix(): row j, column d is gf_inv(j ^ d) */
	for (unsigned d = 0; d < k; d++)
		acc ^= gf_mul(gf_inv((unsigned char)(j ^ d)), bytes[d]);
	return acc;
}

void codec_rs_free(struct codec_rs *rs)
{
	free(rs);
}

void codec_rs_encode(const struct codec_rs *rs, size_t len, const uint8_t *const *data,
		     uint8_t **parity)
{
	rs_apply(ec_encode_data, len, rs->k, rs->m, rs->tbls, data, parity);
}

void codec_rs_encode_base(const struct codec_rs *rs, size_t len, const uint8_t *const *data,
			  uint8_t **parity)
{
	rs_apply(ec_encode_data_base, len, rs->k, rs->m, rs->tbls, data, parity);
}

/*
 * The decode rows come from inverting the k x k matrix of the first k surviving rows, done
 * blockwise. Data shards come first, so the survivors are the k - d surviving data shards
 * S (identity rows) and the first d surviving parity shards P, where d is the number of
 * lost data shards L. With B = A[P][L] and C = A[P][S], the parity equations read
 * B x_L = p_P + C x_S (GF(2^8) adds by XOR), so x_L = Binv p_P + Binv C x_S: only the
 * d x d block B is inverted. That is O(d^3 + d^2 k) instead of O(k^3); for k = 254 and one
 * lost shard the whole-matrix inversion took ~50 ms, longer than coding a MiB shard set.
 * B is a square submatrix of the Cauchy part, hence nonsingular.
 */
struct codec_rs_plan {
	unsigned k, nlost;
	unsigned surv[CODEC_RS_MAX_SHARDS]; /* the k shards read, in index order */
	unsigned lost[CODEC_RS_MAX_SHARDS]; /* the shards written, in the caller's order */
	uint8_t *tbls;			    /* ec_init_tables() of the nlost decode rows */
};

int codec_rs_plan_new(const struct codec_rs *rs, const unsigned *lost, unsigned nlost,
		      struct codec_rs_plan **ret_plan)
{
	const unsigned k = rs->k, n = rs->k + rs->m;
	bool is_lost[CODEC_RS_MAX_SHARDS] = {false};
	unsigned lrow[CODEC_RS_MAX_SHARDS]; /* lrow[l]: row of lost data shard l in x */
	unsigned ldata[CODEC_RS_MAX_SHARDS];
	struct codec_rs_plan *plan;
	uint8_t *mem, *b, *binv, *x, *dec;
	unsigned d = 0, ns = 0;
	int err = 0;

	if (nlost > rs->m)
		return -EINVAL;
	for (unsigned i = 0; i < nlost; i++) {
		if (lost[i] >= n || is_lost[lost[i]])
			return -EINVAL;
		is_lost[lost[i]] = true;
	}
	plan = malloc(sizeof(*plan) + (size_t)32 * k * nlost);
	if (!plan)
		return -ENOMEM;
	plan->k = k;
	plan->nlost = nlost;
	plan->tbls = (uint8_t *)(plan + 1);
	memcpy(plan->lost, lost, nlost * sizeof(*lost));

	for (unsigned i = 0; i < k; i++) {
		if (is_lost[i]) {
			lrow[i] = d;
			ldata[d++] = i;
		}
	}
	/* Survivors in index order: S (ns = k - d of them), then P. */
	for (unsigned i = 0; ns < k && nlost; i++)
		if (!is_lost[i])
			plan->surv[ns++] = i;

	mem = malloc((size_t)2 * d * d + (size_t)d * k + (size_t)k * nlost + 1);
	if (!mem) {
		free(plan);
		return -ENOMEM;
	}
	b = mem;
	binv = b + (size_t)d * d;
	x = binv + (size_t)d * d;
	dec = x + (size_t)d * k;

	if (d) {
		const unsigned *p = plan->surv + (k - d);

		for (unsigned q = 0; q < d; q++)
			for (unsigned r = 0; r < d; r++)
				b[q * d + r] = rs->matrix[(size_t)p[q] * k + ldata[r]];
		/* Cannot fail for a Cauchy code; checked so that a broken invariant shows as
		 * an error instead of garbage written over the caller's shards. */
		if (gf_invert_matrix(b, binv, (int)d) != 0) {
			err = -EIO;
			goto out;
		}
		/* Row r of x gives x_L[r] over the survivors: (Binv C) on the S columns,
		 * Binv on the P columns. */
		for (unsigned r = 0; r < d; r++) {
			uint8_t *xr = x + (size_t)r * k;

			for (unsigned c = 0; c < k - d; c++) {
				uint8_t acc = 0;

				for (unsigned q = 0; q < d; q++)
					acc ^= gf_mul(binv[r * d + q],
						      rs->matrix[(size_t)p[q] * k + plan->surv[c]]);
				xr[c] = acc;
			}
			memcpy(xr + (k - d), binv + (size_t)r * d, d);
		}
	}

	for (unsigned i = 0; i < nlost; i++) {
		const unsigned l = lost[i];
		const uint8_t *erow = rs->matrix + (size_t)l * k;
		uint8_t *row = dec + (size_t)i * k;

		if (l < k) {
			memcpy(row, x + (size_t)lrow[l] * k, k);
			continue;
		}
		/* A lost parity shard is its encoding row applied to the data: the S terms
		 * directly, the L terms through their rows of x. */
		for (unsigned c = 0; c < k; c++)
			row[c] = c < k - d ? erow[plan->surv[c]] : 0;
		for (unsigned r = 0; r < d; r++) {
			const uint8_t coef = erow[ldata[r]];
			const uint8_t *xr = x + (size_t)r * k;

			for (unsigned c = 0; c < k; c++)
				row[c] ^= gf_mul(coef, xr[c]);
		}
	}
	if (nlost)
		ec_init_tables((int)k, (int)nlost, dec, plan->tbls);
out:
	free(mem);
	if (err) {
		free(plan);
		return err;
	}
	*ret_plan = plan;
	return 0;
}

void codec_rs_plan_free(struct codec_rs_plan *plan)
{
	free(plan);
}

void codec_rs_plan_apply(const struct codec_rs_plan *plan, size_t len, uint8_t **shards)
{
	const uint8_t *src[CODEC_RS_MAX_SHARDS];
	uint8_t *dst[CODEC_RS_MAX_SHARDS];

	if (plan->nlost == 0 || len == 0)
		return;
	for (unsigned i = 0; i < plan->k; i++)
		src[i] = shards[plan->surv[i]];
	for (unsigned i = 0; i < plan->nlost; i++)
		dst[i] = shards[plan->lost[i]];
	rs_apply(ec_encode_data, len, plan->k, plan->nlost, plan->tbls, src, dst);
}

int codec_rs_reconstruct(const struct codec_rs *rs, size_t len, uint8_t **shards,
			 const unsigned *lost, unsigned nlost)
{
	struct codec_rs_plan *plan;
	int err;

	/* Everything is checked before anything is written: a caller that passes a bad
	 * list keeps its shards as they were. */
	err = codec_rs_plan_new(rs, lost, nlost, &plan);
	if (err)
		return err;
	codec_rs_plan_apply(plan, len, shards);
	codec_rs_plan_free(plan);
	return 0;
}
