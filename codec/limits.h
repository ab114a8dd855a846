/*
 * limits.h - every bound the codec layer puts on caller- or peer-controlled sizes.
 */
#ifndef CODEC_LIMITS_H
#define CODEC_LIMITS_H

/* Deepest Merkle proof accepted: a flow of 2^64 chunks. */
#define CODEC_PROOF_MAX_DEPTH 64

/* Largest JSON text codec_proof_from_json() parses (a 64-deep proof is about 4.5 KiB). */
#define CODEC_PROOF_JSON_MAX (16 * 1024)

/* Submission nodes: heights are strictly decreasing and below 64. */
#define CODEC_MAX_NODES 64

/* Largest entry the padding rule is defined for here: 2^63 chunks would overflow. */
#define CODEC_MAX_ENTRY_SIZE (1ULL << 50) /* 1 PiB */

/* Data availability (docs/DA.md). The largest blob is 0G's: with its 4-byte length it
 * fills a 128×128 square of 1,984-byte shares exactly. 2k ≤ 256 is the Reed–Solomon
 * code's limit (codec/rs.h). */
#define CODEC_DA_MAX_BLOB    32505852
#define CODEC_DA_MAX_K	     128
#define CODEC_DA_MAX_LOG2K   7
#define CODEC_DA_MAX_SHARE   1984
#define CODEC_DA_SHARE_ALIGN 32
/* Threads one DA call may start. */
#define CODEC_DA_MAX_THREADS 64
/* Encoded share proof at k = 128: 4 + 32·(2·7 + 5). */
#define CODEC_DA_PROOF_MAX (4 + 32 * (2 * CODEC_DA_MAX_LOG2K + 5))
/* Encoded bad-encoding proof at k = 128, s = 1984, the larger kind (CODEWORD): header, line
 * root and its 9 siblings, then 129 × (share proof + share). 335,214 bytes. */
#define CODEC_DA_BEFP_MAX                                                                          \
	(10 + 32 * (CODEC_DA_MAX_LOG2K + 3) +                                                      \
	 (CODEC_DA_MAX_K + 1) * (CODEC_DA_PROOF_MAX + CODEC_DA_MAX_SHARE))

#endif
