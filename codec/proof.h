/*
 * proof.h - Merkle proofs in 0G's form, built, verified and carried as JSON.
 *
 * A proof of leaf `index` in a tree of `n` leaves (0G rule, odd node carried up) is
 * lemma = [leaf, sibling hashes bottom-up..., root] and path[i] = true when the node at
 * level i is a left child. A tree of one leaf has lemma = [root] and an empty path. Levels
 * where the node is carried up have no sibling and no entry. The JSON form is the SDK's:
 * {"lemma": ["0x…", …], "path": [true, …]}.
 */
#ifndef CODEC_PROOF_H
#define CODEC_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/merkle.h"

struct codec_proof {
	unsigned depth;					/* entries in path */
	uint8_t lemma[CODEC_PROOF_MAX_DEPTH + 2][CODEC_HASH_SIZE]; /* depth+2 (1 if depth 0) */
	bool path[CODEC_PROOF_MAX_DEPTH];
};

/* Number of lemma entries a proof of this depth has. */
static inline unsigned codec_proof_lemma_len(unsigned depth)
{
	return depth ? depth + 2 : 1;
}

/*
 * codec_proof_build() - the proof of leaf `index` in the tree over n leaf hashes (n × 32
 * bytes at leaves).
 * Returns 0, -EINVAL (index ≥ n, n == 0), -ENOMEM. ret_proof written only on success.
 */
int codec_proof_build(const uint8_t *leaves, size_t n, size_t index,
		      struct codec_proof *ret_proof);

/*
 * codec_proof_verify() - check that proof shows `leaf` at `index` of an n-leaf tree with
 * `root`. Returns 0 when it does, else the first problem found, in this order:
 * -CODEC_EPROOF_LENGTH (depth not the one this position has in such a tree),
 * -CODEC_EPROOF_LEAF, -CODEC_EPROOF_ROOT, -CODEC_EPROOF_POSITION (the path leads
 * elsewhere), -CODEC_EPROOF_HASH (siblings do not hash to the root); -EINVAL if index ≥ n.
 */
__attribute__((warn_unused_result)) int
codec_proof_verify(const struct codec_proof *proof, const uint8_t root[CODEC_HASH_SIZE],
		   const uint8_t leaf[CODEC_HASH_SIZE], uint64_t index, uint64_t n);

/*
 * codec_proof_from_json() - parse {"lemma": [...], "path": [...]} (at most
 * CODEC_PROOF_JSON_MAX bytes). Checks the shape only: hex of 32 bytes, booleans,
 * lemma length = path length + 2 (or 1 and 0). Returns 0, -CODEC_EFORMAT, -E2BIG.
 */
__attribute__((warn_unused_result)) int codec_proof_from_json(const char *text, size_t len,
							       struct codec_proof *ret_proof);

/* The proof as compact JSON, malloc'd and NUL-terminated; NULL on -ENOMEM. */
char *codec_proof_to_json(const struct codec_proof *proof);

/* Parsing from and rendering to a jansson object, for callers that embed proofs in larger
 * JSON documents (the RPC layer). `obj` is a json_t *. */
__attribute__((warn_unused_result)) int codec_proof_from_jansson(const void *obj,
								  struct codec_proof *ret_proof);
void *codec_proof_to_jansson(const struct codec_proof *proof);

#endif
