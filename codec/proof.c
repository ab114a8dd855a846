/*
 * Merkle proofs. Verification recomputes the path the position must take in a tree of n
 * leaves rather than trusting the proof's own path flags, so a proof cannot move a leaf to
 * another position, nor be padded or cut, and still pass.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/proof.h"

/* The path flags, bottom-up, that leaf `index` has in an n-leaf tree; returns depth.
 * Top-down, a node of m leaves splits into a left part of the largest power of two below
 * m and the rest; a part of one leaf is where the walk stops. */
static unsigned expected_path(uint64_t index, uint64_t n, bool path[CODEC_PROOF_MAX_DEPTH])
{
	bool top_down[CODEC_PROOF_MAX_DEPTH];
	unsigned depth = 0;

	while (n > 1 && depth < CODEC_PROOF_MAX_DEPTH) {
		uint64_t left = 1;

		while (left * 2 < n)
			left *= 2;
		if (index < left) {
			top_down[depth++] = true;
			n = left;
		} else {
			top_down[depth++] = false;
			index -= left;
			n -= left;
		}
	}
	for (unsigned i = 0; i < depth; i++)
		path[i] = top_down[depth - 1 - i];
	return depth;
}

int codec_proof_build(const uint8_t *leaves, size_t n, size_t index,
		      struct codec_proof *ret_proof)
{
	struct codec_proof p;
	codec_hash *level, *next;
	size_t m = n, i = index;

	if (n == 0 || index >= n)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	if (n == 1) {
		memcpy(p.lemma[0], leaves, CODEC_HASH_SIZE);
		*ret_proof = p;
		return 0;
	}
	level = malloc(n * sizeof(codec_hash));
	next = malloc((n / 2 + 1) * sizeof(codec_hash));
	if (!level || !next) {
		free(level);
		free(next);
		return -ENOMEM;
	}
	memcpy(level, leaves, n * sizeof(codec_hash));
	memcpy(p.lemma[0], leaves + index * CODEC_HASH_SIZE, CODEC_HASH_SIZE);
	while (m > 1) {
		size_t pairs = m / 2;

		if (!(m & 1 && i == m - 1)) {
			/* Has a sibling at this level (else it is carried up unchanged). */
			p.path[p.depth] = (i & 1) == 0;
			memcpy(p.lemma[p.depth + 1], level[i ^ 1], CODEC_HASH_SIZE);
			p.depth++;
		}
		codec_keccak256_batch(level[0], 2 * CODEC_HASH_SIZE, 2 * CODEC_HASH_SIZE, pairs,
				      next);
		if (m & 1)
			memcpy(next[pairs], level[m - 1], CODEC_HASH_SIZE);
		m = pairs + (m & 1);
		i /= 2;
		memcpy(level, next, m * sizeof(codec_hash));
	}
	memcpy(p.lemma[p.depth + 1], level[0], CODEC_HASH_SIZE);
	free(level);
	free(next);
	*ret_proof = p;
	return 0;
}

int codec_proof_verify(const struct codec_proof *proof, const uint8_t root[CODEC_HASH_SIZE],
		       const uint8_t leaf[CODEC_HASH_SIZE], uint64_t index, uint64_t n)
{
	bool want[CODEC_PROOF_MAX_DEPTH];
	uint8_t h[CODEC_HASH_SIZE];
	unsigned depth;

	if (n == 0 || index >= n)
		return -EINVAL;
	depth = expected_path(index, n, want);
	if (proof->depth != depth || depth > CODEC_PROOF_MAX_DEPTH)
		return -CODEC_EPROOF_LENGTH;
	if (memcmp(proof->lemma[0], leaf, CODEC_HASH_SIZE) != 0)
		return -CODEC_EPROOF_LEAF;
	if (memcmp(proof->lemma[codec_proof_lemma_len(depth) - 1], root, CODEC_HASH_SIZE) != 0)
		return -CODEC_EPROOF_ROOT;
	for (unsigned i = 0; i < depth; i++)
		if (proof->path[i] != want[i])
			return -CODEC_EPROOF_POSITION;
	memcpy(h, leaf, CODEC_HASH_SIZE);
	for (unsigned i = 0; i < depth; i++) {
		if (proof->path[i])
			codec_hash_pair(h, proof->lemma[i + 1], h);
		else
			codec_hash_pair(proof->lemma[i + 1], h, h);
	}
	return memcmp(h, root, CODEC_HASH_SIZE) == 0 ? 0 : -CODEC_EPROOF_HASH;
}

int codec_proof_from_jansson(const void *obj, struct codec_proof *ret_proof)
{
	const json_t *o = obj;
	json_t *lemma, *path;
	struct codec_proof p;
	size_t nl, np;

	if (!json_is_object(o))
		return -CODEC_EFORMAT;
	lemma = json_object_get(o, "lemma");
	path = json_object_get(o, "path");
	if (!json_is_array(lemma) || !json_is_array(path))
		return -CODEC_EFORMAT;
	nl = json_array_size(lemma);
	np = json_array_size(path);
	if (np > CODEC_PROOF_MAX_DEPTH)
		return -E2BIG;
	if (nl != codec_proof_lemma_len((unsigned)np))
		return -CODEC_EFORMAT;
	memset(&p, 0, sizeof(p));
	p.depth = (unsigned)np;
	for (size_t i = 0; i < nl; i++) {
		const char *s = json_string_value(json_array_get(lemma, i));

		if (!s || codec_hex_decode(s, p.lemma[i], CODEC_HASH_SIZE) < 0)
			return -CODEC_EFORMAT;
	}
	for (size_t i = 0; i < np; i++) {
		json_t *b = json_array_get(path, i);

		if (!json_is_boolean(b))
			return -CODEC_EFORMAT;
		p.path[i] = json_is_true(b);
	}
	*ret_proof = p;
	return 0;
}

int codec_proof_from_json(const char *text, size_t len, struct codec_proof *ret_proof)
{
	json_error_t err;
	json_t *o;
	int r;

	if (len > CODEC_PROOF_JSON_MAX)
		return -E2BIG;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		return -CODEC_EFORMAT;
	r = codec_proof_from_jansson(o, ret_proof);
	json_decref(o);
	return r;
}

void *codec_proof_to_jansson(const struct codec_proof *proof)
{
	json_t *o = json_object(), *lemma = json_array(), *path = json_array();
	char hex[2 * CODEC_HASH_SIZE + 3];

	if (!o || !lemma || !path)
		goto fail;
	for (unsigned i = 0; i < codec_proof_lemma_len(proof->depth); i++) {
		codec_hex_encode(proof->lemma[i], CODEC_HASH_SIZE, hex);
		if (json_array_append_new(lemma, json_string(hex)) < 0)
			goto fail;
	}
	for (unsigned i = 0; i < proof->depth; i++)
		if (json_array_append_new(path, json_boolean(proof->path[i])) < 0)
			goto fail;
	if (json_object_set_new(o, "lemma", lemma) < 0) {
		lemma = NULL;
		goto fail;
	}
	lemma = NULL;
	if (json_object_set_new(o, "path", path) < 0) {
		path = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(lemma);
	json_decref(path);
	json_decref(o);
	return NULL;
}

char *codec_proof_to_json(const struct codec_proof *proof)
{
	json_t *o = codec_proof_to_jansson(proof);
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
