/*
 * da.h - data availability: a blob as a two-dimensional Reed–Solomon square, its roots,
 * share proofs, reconstruction and bad-encoding proofs. The formats are specified in
 * docs/DA.md.
 *
 * A blob of L ≤ CODEC_DA_MAX_BLOB bytes becomes a k×k square of s-byte shares (k and s
 * follow from L alone: codec_da_geometry()), extended to 2k×2k so that every row and
 * every column is a codeword of codec/rs.h's code with k data and k parity shards. Each
 * extended row and column has a 0G Merkle root over keccak256 of its shares, and one
 * data root covers the 2k row roots then the 2k column roots. A blob is named by (L, data
 * root).
 *
 * Guarantees: pure computation on memory, no I/O. A square is not shared between threads
 * while it is being written; once committed, any number of threads may read it and build
 * proofs from it. Every decoder takes untrusted bytes and either fills its output or
 * returns an error with the output untouched. Verifiers are warn_unused_result.
 */
#ifndef CODEC_DA_H
#define CODEC_DA_H

#include <stddef.h>
#include <stdint.h>

#include "codec/limits.h"
#include "codec/merkle.h"

enum codec_da_axis {
	CODEC_DA_ROW = 0,
	CODEC_DA_COL = 1,
};

/*
 * struct codec_da_square - an extended square and its commitments.
 *
 * shares holds (2k)² shares of share_size bytes, row-major: share (r, c) starts at
 * (r·2k + c)·share_size. leaves[r·2k + c] is keccak256 of share (r, c). The roots and the
 * leaves are valid only after codec_da_commit() (or codec_da_encode(), which calls it)
 * and until the shares change.
 */
struct codec_da_square {
	unsigned k;	       /* data square side, a power of two ≤ CODEC_DA_MAX_K */
	size_t share_size;     /* s, a multiple of CODEC_DA_SHARE_ALIGN ≤ CODEC_DA_MAX_SHARE */
	uint8_t *shares;       /* (2k)² × share_size bytes, 64-byte aligned */
	codec_hash *leaves;    /* (2k)² */
	codec_hash *row_roots; /* 2k */
	codec_hash *col_roots; /* 2k */
	uint8_t data_root[CODEC_HASH_SIZE];
};

/* Share (r, c) of the extended square, r, c < 2k. */
static inline uint8_t *codec_da_share(const struct codec_da_square *sq, unsigned r, unsigned c)
{
	return sq->shares + ((size_t)r * 2 * sq->k + c) * sq->share_size;
}

/*
 * codec_da_geometry() - k and s for a blob of len bytes: k the smallest power of two with
 * k²·CODEC_DA_MAX_SHARE ≥ len + 4, s the smallest multiple of 32 with k²·s ≥ len + 4.
 * Returns 0, or -E2BIG when len > CODEC_DA_MAX_BLOB.
 */
int codec_da_geometry(uint64_t len, unsigned *ret_k, size_t *ret_share_size);

/*
 * codec_da_square_new() - an all-zero square for k (a power of two 1..CODEC_DA_MAX_K) and
 * share_size (a multiple of CODEC_DA_SHARE_ALIGN, 32..CODEC_DA_MAX_SHARE), uncommitted.
 * Returns 0, -EINVAL, -ENOMEM. Free it with codec_da_square_free().
 */
int codec_da_square_new(unsigned k, size_t share_size, struct codec_da_square **ret_sq);

/* Frees a square; NULL is allowed. */
void codec_da_square_free(struct codec_da_square *sq);

/*
 * codec_da_layout() - the blob's payload (u32le length ‖ blob ‖ zeros) into the k×k data
 * quarter of a new square of the blob's geometry. Nothing is extended or committed.
 * Returns 0, -E2BIG (len > CODEC_DA_MAX_BLOB), -ENOMEM.
 */
int codec_da_layout(const void *blob, size_t len, struct codec_da_square **ret_sq);

/*
 * codec_da_extend() - compute the three parity quarters from the data quarter: row parity
 * of the first k rows, then column parity of all 2k columns. Spread over up to nthreads
 * threads (≤ 1: the calling thread only; at most CODEC_DA_MAX_THREADS; a thread that
 * cannot be started leaves its work to the caller); the bytes are the same for any count.
 * Returns 0 or -ENOMEM, the parity then unspecified.
 */
int codec_da_extend(struct codec_da_square *sq, unsigned nthreads);

/*
 * codec_da_commit() - hash every share, then the row roots, column roots and data root.
 * Threads as for codec_da_extend(). Returns 0 or -ENOMEM.
 */
int codec_da_commit(struct codec_da_square *sq, unsigned nthreads);

/* codec_da_layout() + codec_da_extend() + codec_da_commit(). */
int codec_da_encode(const void *blob, size_t len, unsigned nthreads,
		    struct codec_da_square **ret_sq);

/*
 * codec_da_blob() - the blob back out of a square's data quarter, malloc'd (a 0-byte blob
 * gives a 1-byte allocation and *ret_len 0). Checks the length field against the square:
 * -CODEC_EDA_LENGTH when it is over CODEC_DA_MAX_BLOB, is not of this square's geometry, or
 * the padding after the blob is not zero. -ENOMEM. ret_ written only on success.
 */
int codec_da_blob(const struct codec_da_square *sq, uint8_t **ret_blob, size_t *ret_len);

/*
 * codec_da_sample_confidence() - the chance that n distinct shares drawn uniformly from
 * the (2k)² of a square hit at least one withheld share, when the (k+1)² shares that are
 * the least an adversary must withhold to stop reconstruction are withheld:
 * 1 − ∏_{i<n} (1 − (k+1)² / (4k² − i)). 1.0 once n exceeds the shares not withheld.
 */
double codec_da_sample_confidence(unsigned k, unsigned n);

/*
 * struct codec_da_proof - share (row, col) of a square with side k under a data root,
 * through its row root (axis CODEC_DA_ROW) or its column root (CODEC_DA_COL).
 * line_sib: log2(2k) siblings in the line's tree, bottom-up; data_sib: log2(4k) siblings
 * in the data tree, bottom-up.
 */
struct codec_da_proof {
	unsigned k;
	enum codec_da_axis axis;
	unsigned row, col;
	uint8_t line_root[CODEC_HASH_SIZE];
	uint8_t line_sib[CODEC_DA_MAX_LOG2K + 1][CODEC_HASH_SIZE];
	uint8_t data_sib[CODEC_DA_MAX_LOG2K + 2][CODEC_HASH_SIZE];
	uint8_t data_root[CODEC_HASH_SIZE];
};

/* Bytes of the encoded proof for side k: 4 + 32·(2·log2 k + 5). */
size_t codec_da_proof_size(unsigned k);

/*
 * codec_da_prove() - the proof of share (row, col) of a committed square through the
 * line of `axis`. Returns 0, -EINVAL (position or axis out of range), -ENOMEM.
 */
int codec_da_prove(const struct codec_da_square *sq, unsigned row, unsigned col,
		   enum codec_da_axis axis, struct codec_da_proof *ret_proof);

/*
 * codec_da_proof_verify() - check that proof shows `share` (share_size bytes) at (row,
 * col) of a square of side k with data_root. Returns 0 when it does, else, checked in
 * this order: -CODEC_EPROOF_LENGTH (the proof is for another k), -CODEC_EPROOF_POSITION
 * (another position), -CODEC_EDA_DATA_ROOT (it ends at another data root),
 * -CODEC_EDA_LINE_ROOT (its row or column root is not under the data root),
 * -CODEC_EDA_SHARE (the share is not under that line root); -EINVAL for a k that is not a
 * valid side or a position outside the square.
 */
__attribute__((warn_unused_result)) int
codec_da_proof_verify(const struct codec_da_proof *proof, const uint8_t data_root[CODEC_HASH_SIZE],
		      unsigned k, unsigned row, unsigned col, const uint8_t *share,
		      size_t share_size);

/* Encodes proof into out (codec_da_proof_size(proof->k) bytes, at most
 * CODEC_DA_PROOF_MAX). Returns the number of bytes written. */
size_t codec_da_proof_encode(const struct codec_da_proof *proof, uint8_t *out);

/*
 * codec_da_proof_decode() - parse an encoded proof of exactly len bytes. Checks the shape
 * only (k, axis, position in range, length exact). Returns 0 or -CODEC_EFORMAT.
 */
__attribute__((warn_unused_result)) int codec_da_proof_decode(const uint8_t *in, size_t len,
							      struct codec_da_proof *ret_proof);

/* ---- one line at a time (a signer holds rows, not squares) ---- */

/*
 * codec_da_roots_check() - that roots, the 4k line roots of a square of side k (4k × 32
 * bytes: the 2k row roots, then the 2k column roots), are the leaves of the data tree under
 * data_root. Returns 0, -CODEC_EDA_DATA_ROOT, or -EINVAL for a k that is not a valid side.
 */
__attribute__((warn_unused_result)) int
codec_da_roots_check(unsigned k, const uint8_t *roots, const uint8_t data_root[CODEC_HASH_SIZE]);

/*
 * codec_da_line_check() - that line, the 2k shares of one row or column (share_size bytes
 * each, contiguous), is a codeword of the code (its last k shares are the parity of its
 * first k) and that its shares hash to root. Returns 0, -CODEC_EDA_CODEWORD,
 * -CODEC_EDA_SHARE (another root), -EINVAL (geometry), -ENOMEM.
 */
__attribute__((warn_unused_result)) int codec_da_line_check(unsigned k, size_t share_size,
							    const uint8_t *line,
							    const uint8_t root[CODEC_HASH_SIZE]);

/*
 * codec_da_line_rebuild() - a whole line (2k shares, into line) from at least k of its
 * shares (present[pos] non-NULL for each one given, 2k pointers), and the root of what
 * was rebuilt, for the caller to compare with the committed one. Returns 0, -EINVAL
 * (fewer than k given, or bad geometry), -ENOMEM.
 */
int codec_da_line_rebuild(unsigned k, size_t share_size, const uint8_t *const *present,
			  uint8_t *line, uint8_t root[CODEC_HASH_SIZE]);

/*
 * codec_da_prove_row() - the proof of share (row, col) through its row, from the row's 2k
 * shares and the square's 4k line roots (as codec_da_roots_check() takes them), without
 * the rest of the square: the same proof codec_da_prove() gives for axis CODEC_DA_ROW.
 * Returns 0, -EINVAL (geometry or position), -ENOMEM.
 */
int codec_da_prove_row(unsigned k, size_t share_size, const uint8_t *row_shares,
		       const uint8_t *roots, unsigned row, unsigned col,
		       struct codec_da_proof *ret_proof);

/*
 * codec_da_reconstruct() - rebuild a square from some of its shares.
 * @sq:   a square of the right geometry (codec_da_square_new()) holding the shares present
 * @have: (2k)² flags, nonzero for each share of sq present, row-major like the shares
 * @data_root: what the rebuilt square must commit to
 * @nthreads: as for codec_da_extend()
 *
 * Decodes every row and column that has at least k of its 2k shares, repeatedly, until
 * nothing changes. Returns 0 with sq complete and committed (roots equal to data_root);
 * -CODEC_EDA_UNRECOVERABLE when the shares present cannot rebuild the square (nothing
 * written); -CODEC_EDA_DATA_ROOT when the rebuilt square does not commit to data_root (the
 * shares that were absent are zeroed again); -CODEC_EDA_CODEWORD when it does but is not
 * the extension of its data quarter (a line with more than k shares present whose other
 * shares disagree with the k it was decoded from): sq is then complete and committed, for
 * codec_da_befp_build(); -ENOMEM.
 */
__attribute__((warn_unused_result)) int
codec_da_reconstruct(struct codec_da_square *sq, const uint8_t *have,
		     const uint8_t data_root[CODEC_HASH_SIZE], unsigned nthreads);

/*
 * Bad-encoding proofs (docs/DA.md, "Bad-encoding proofs"). A proof shows that line `index`
 * of `axis`, as the shares proved through the other axis give it, is not what the data
 * root commits to, in one of two ways:
 *   CODEC_DA_BEFP_CODEWORD: the line is no codeword: its k data shares and one parity
 *     share j, each with its proof through the other axis, disagree at one byte b;
 *   CODEC_DA_BEFP_ROOT: the line is a codeword, but the root over its 2k leaves, each
 *     proved through the other axis, is not the committed line root.
 * Either needs only keccak and one symbol of the code (codec_rs_parity_byte()) to verify,
 * so the chain's DA contract checks the same bytes.
 */
enum { CODEC_DA_BEFP_CODEWORD = 0, CODEC_DA_BEFP_ROOT = 1 };

/*
 * codec_da_befp_build() - the bad-encoding proof of line `index` of `axis` in a committed
 * square: of kind CODEWORD when a parity share of the line breaks the code (the first
 * such j and byte b), else of kind ROOT. Malloc'd into *ret_buf (*ret_len bytes, at most
 * CODEC_DA_BEFP_MAX). It proves something only if the line is badly encoded, which
 * codec_da_befp_verify() decides. Returns 0, -EINVAL, -ENOMEM.
 *
 * codec_da_befp_build_partial() - the same from a square of which only some shares of the
 * line are known: present[pos] (2k flags along the line) nonzero for each, and sq's leaves
 * of the other axis's lines through them and all its roots as committed (a client that
 * fetched some rows). A CODEWORD proof needs the k data positions and a breaking parity
 * position present; a ROOT proof all 2k. -ENODATA when those are not present.
 */
int codec_da_befp_build(const struct codec_da_square *sq, enum codec_da_axis axis, unsigned index,
			uint8_t **ret_buf, size_t *ret_len);
int codec_da_befp_build_partial(const struct codec_da_square *sq, enum codec_da_axis axis,
				unsigned index, const uint8_t *present, uint8_t **ret_buf,
				size_t *ret_len);

/*
 * codec_da_befp_verify() - check a bad-encoding proof (len bytes) against data_root for a
 * blob of geometry (k, share_size). Returns 0 when it proves that the line is badly
 * encoded: every proof holds, and the members break the code at the byte named (CODEWORD)
 * or hash to another root than the committed one (ROOT). Else -CODEC_EFORMAT (malformed,
 * or not of this geometry), -CODEC_EDA_DATA_ROOT, -CODEC_EDA_LINE_ROOT or -CODEC_EDA_SHARE
 * (a proof fails, as in codec_da_proof_verify()), -CODEC_EDA_GOOD_LINE (the members agree
 * with the code and the root), -EINVAL (k or share_size invalid).
 */
__attribute__((warn_unused_result)) int
codec_da_befp_verify(const uint8_t *buf, size_t len, const uint8_t data_root[CODEC_HASH_SIZE],
		     unsigned k, size_t share_size);

#endif
