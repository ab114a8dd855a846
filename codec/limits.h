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

#endif
