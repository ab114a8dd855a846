/*
 * rs.h - systematic Reed–Solomon erasure coding over GF(2^8), on ISA-L.
 *
 * A code has k data shards and m parity shards of equal length; shards are numbered
 * 0..k-1 (data) then k..k+m-1 (parity). The encoding matrix is the identity over a Cauchy
 * matrix (ISA-L's gf_gen_cauchy1_matrix), so any k of the k+m shards determine the others:
 * up to m lost shards, data or parity, are rebuilt exactly.
 *
 * Guarantees: pure computation on caller memory, no I/O. A struct codec_rs is read-only
 * after codec_rs_new() returns, so one code may be shared by any number of threads. For
 * the same code and input, codec_rs_encode() (ISA-L's CPU-dispatched kernels) and
 * codec_rs_encode_base() (its plain reference) produce the same bytes. Shard lengths are
 * size_t; the 2 GiB limit of ISA-L's int lengths is handled here.
 */
#ifndef CODEC_RS_H
#define CODEC_RS_H

#include <stddef.h>
#include <stdint.h>

/* k + m at most. A Cauchy matrix 1/(x_i + y_j) needs k + m distinct field elements (ISA-L
 * takes x_i = k..k+m-1 for the parity rows, y_j = 0..k-1), and GF(2^8) has 256. So 128 + 128
 * is a valid code, the one the DA square uses. */
#define CODEC_RS_MAX_SHARDS 256

struct codec_rs;

/*
 * codec_rs_new() - create a code with k data and m parity shards.
 * Returns 0, -EINVAL unless k >= 1, m >= 1 and k + m <= CODEC_RS_MAX_SHARDS, or -ENOMEM.
 * *ret_rs is written only on success; release it with codec_rs_free().
 */
int codec_rs_new(unsigned k, unsigned m, struct codec_rs **ret_rs);

/* Frees a code; NULL is allowed. */
void codec_rs_free(struct codec_rs *rs);

/*
 * codec_rs_encode() - compute the m parity shards of k data shards.
 * @len:    length in bytes of every shard (0 does nothing)
 * @data:   k pointers to the data shards, read only
 * @parity: m pointers to the parity shards, overwritten; must not overlap the data
 *
 * The fast path: the widest kernel the CPU has (ISA-L's dispatch). No alignment needed,
 * though 64-byte aligned shards are fastest.
 */
void codec_rs_encode(const struct codec_rs *rs, size_t len, const uint8_t *const *data,
		     uint8_t **parity);

/* The plain reference twin of codec_rs_encode(): same parameters, same output, scalar
 * table lookups (ISA-L's ec_encode_data_base). For tests and benchmarks. */
void codec_rs_encode_base(const struct codec_rs *rs, size_t len, const uint8_t *const *data,
			  uint8_t **parity);

/*
 * codec_rs_reconstruct() - rebuild lost shards from the surviving ones.
 * @len:    length in bytes of every shard
 * @shards: k + m pointers, data shards then parity shards; the surviving ones are read,
 *          the lost ones overwritten with their rebuilt contents (all pointers must be
 *          valid, lost ones included, and no two may overlap)
 * @lost:   indices (0..k+m-1) of the lost shards, distinct, in any order
 * @nlost:  number of indices in lost; 0 does nothing
 *
 * Returns 0; -EINVAL when nlost > m or an index is out of range or repeated, in which case
 * no shard has been written; -ENOMEM (nothing written either); -EIO if the surviving rows
 * proved singular, which a Cauchy code rules out (nothing written). Builds the decode
 * matrix on each call; its cost grows with (lost data shards)^2 * k, small beside the data
 * pass for shards of kilobytes or more. Allocates O(k * nlost) bytes of scratch.
 */
__attribute__((warn_unused_result)) int codec_rs_reconstruct(const struct codec_rs *rs, size_t len,
							     uint8_t **shards, const unsigned *lost,
							     unsigned nlost);

/*
 * codec_rs_parity_byte() - one byte of parity shard j (k <= j < 256) of a code with k data
 * shards, from the byte at the same offset of each data shard (bytes[0..k-1]): the sum over
 * d of 1/(j + d) · bytes[d] in GF(2^8), the row of ISA-L's Cauchy matrix that
 * codec_rs_encode() applies, whatever m is. For checks that need one symbol of a codeword,
 * such as a bad-encoding proof (docs/DA.md); the chain's DA contract computes the same.
 */
uint8_t codec_rs_parity_byte(unsigned k, unsigned j, const uint8_t *bytes);

/*
 * A reconstruction plan: the decode tables for one set of lost shards, built once and
 * applied to any number of shard sets with that same loss (the rows or columns of a DA
 * square that miss the same positions). Read-only once built; threads may share it.
 *
 * codec_rs_plan_new() checks lost as codec_rs_reconstruct() does and returns 0, -EINVAL,
 * -ENOMEM or -EIO; *ret_plan is written only on success. codec_rs_plan_apply() takes
 * shards as codec_rs_reconstruct() does and rebuilds the plan's lost shards.
 * codec_rs_plan_free() accepts NULL. codec_rs_reconstruct() is new + apply + free.
 */
struct codec_rs_plan;

__attribute__((warn_unused_result)) int codec_rs_plan_new(const struct codec_rs *rs,
							  const unsigned *lost, unsigned nlost,
							  struct codec_rs_plan **ret_plan);
void codec_rs_plan_apply(const struct codec_rs_plan *plan, size_t len, uint8_t **shards);
void codec_rs_plan_free(struct codec_rs_plan *plan);

#endif
