/* Merkle proofs: build and verify for every position of many tree sizes, the JSON form,
 * and each way a proof can be wrong, each with its own error code. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/proof.h"
#include "tests/tap.h"

static void leaves_for(codec_hash *leaves, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tap_fill(leaves[i], 32);
}

static void test_all_positions(void)
{
	static const size_t big[] = {127, 128, 129, 1000, 1025, 4099};
	int good = 1, roots = 1, json = 1, checked = 0;

	for (size_t t = 0; t < 70 + sizeof(big) / sizeof(big[0]); t++) {
		size_t n = t < 70 ? t + 1 : big[t - 70];
		codec_hash *leaves = malloc(n * sizeof(codec_hash));
		uint8_t root[32];

		leaves_for(leaves, n);
		codec_root_of_leaves(leaves[0], n, root);
		for (size_t i = 0; i < n; i++) {
			struct codec_proof p, q;
			char *s;
			int r;

			if (codec_proof_build(leaves[0], n, i, &p) < 0) {
				good = 0;
				continue;
			}
			roots &= memcmp(p.lemma[codec_proof_lemma_len(p.depth) - 1], root, 32) == 0;
			r = codec_proof_verify(&p, root, leaves[i], i, n);
			if (r != 0) {
				diag("n=%zu i=%zu: %s", n, i, codec_strerror(r));
				good = 0;
			}
			s = codec_proof_to_json(&p);
			json &= s && codec_proof_from_json(s, strlen(s), &q) == 0 &&
				q.depth == p.depth &&
				memcmp(q.lemma, p.lemma, sizeof(p.lemma)) == 0 &&
				memcmp(q.path, p.path, sizeof(p.path)) == 0;
			free(s);
			checked++;
		}
		free(leaves);
	}
	ok(good, "%d proofs over trees of 1..70 and larger leaves verify", checked);
	ok(roots, "each proof ends at the tree's root");
	ok(json, "JSON round trip keeps every proof");
}

static void test_wrong(void)
{
	size_t n = 37;
	codec_hash leaves[37];
	uint8_t root[32], other[32];
	struct codec_proof p, q;

	leaves_for(leaves, n);
	codec_root_of_leaves(leaves[0], n, root);
	codec_proof_build(leaves[0], n, 9, &p);
	memset(other, 0x42, 32);

	ok(codec_proof_verify(&p, root, leaves[10], 9, n) == -CODEC_EPROOF_LEAF, "wrong leaf");
	ok(codec_proof_verify(&p, other, leaves[9], 9, n) == -CODEC_EPROOF_ROOT, "wrong root");
	ok(codec_proof_verify(&p, root, leaves[9], 10, n) == -CODEC_EPROOF_POSITION,
	   "wrong position of the same depth");
	ok(codec_proof_verify(&p, root, leaves[9], 36, n) == -CODEC_EPROOF_LENGTH,
	   "a position of another depth is a length error");
	q = p;
	q.lemma[2][5] ^= 1;
	ok(codec_proof_verify(&q, root, leaves[9], 9, n) == -CODEC_EPROOF_HASH,
	   "a tampered sibling does not hash to the root");
	q = p;
	q.depth--;
	memcpy(q.lemma[q.depth + 1], root, 32);
	ok(codec_proof_verify(&q, root, leaves[9], 9, n) == -CODEC_EPROOF_LENGTH,
	   "a cut proof has the wrong length");
	{
		codec_hash more[38];
		uint8_t root38[32];

		memcpy(more, leaves, sizeof(leaves));
		tap_fill(more[37], 32);
		codec_root_of_leaves(more[0], 38, root38);
		ok(codec_proof_verify(&p, root38, leaves[9], 9, 38) == -CODEC_EPROOF_ROOT,
		   "a proof from a 37-leaf tree does not hold in the 38-leaf tree");
	}
	ok(codec_proof_verify(&p, root, leaves[9], 37, n) == -EINVAL, "index past the end");
	ok(codec_proof_build(leaves[0], n, 37, &q) == -EINVAL, "build refuses index past the end");
}

static void test_single(void)
{
	codec_hash leaf;
	struct codec_proof p;
	char *s;

	tap_fill(leaf, 32);
	ok(codec_proof_build(leaf, 1, 0, &p) == 0 && p.depth == 0 &&
		   memcmp(p.lemma[0], leaf, 32) == 0,
	   "a one-leaf tree's proof is [root]");
	ok(codec_proof_verify(&p, leaf, leaf, 0, 1) == 0, "and verifies");
	s = codec_proof_to_json(&p);
	ok(s && strstr(s, "\"path\":[]") != NULL, "its JSON path is empty");
	free(s);
}

static void test_json_errors(void)
{
	struct codec_proof p;
	const char *z = "\"0x0000000000000000000000000000000000000000000000000000000000000000\"";
	char buf[CODEC_PROOF_JSON_MAX + 64];
	size_t at;

	ok(codec_proof_from_json("{", 1, &p) == -CODEC_EFORMAT, "broken JSON");
	ok(codec_proof_from_json("[]", 2, &p) == -CODEC_EFORMAT, "not an object");
	snprintf(buf, sizeof(buf), "{\"lemma\":[%s,%s],\"path\":[true]}", z, z);
	ok(codec_proof_from_json(buf, strlen(buf), &p) == -CODEC_EFORMAT,
	   "lemma one short of path + 2");
	snprintf(buf, sizeof(buf), "{\"lemma\":[%s,%s,%s],\"path\":[1]}", z, z, z);
	ok(codec_proof_from_json(buf, strlen(buf), &p) == -CODEC_EFORMAT, "path not boolean");
	snprintf(buf, sizeof(buf), "{\"lemma\":[\"0x00\",%s,%s],\"path\":[true]}", z, z);
	ok(codec_proof_from_json(buf, strlen(buf), &p) == -CODEC_EFORMAT, "short hash");
	snprintf(buf, sizeof(buf), "{\"lemma\":[%s],\"path\":[],\"path\":[]}", z);
	ok(codec_proof_from_json(buf, strlen(buf), &p) == -CODEC_EFORMAT, "duplicate keys");
	at = (size_t)snprintf(buf, sizeof(buf), "{\"lemma\":[%s],\"path\":[", z);
	for (int i = 0; i < 65; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%strue", i ? "," : "");
	snprintf(buf + at, sizeof(buf) - at, "]}");
	ok(codec_proof_from_json(buf, strlen(buf), &p) == -E2BIG, "deeper than 64 refused");
	memset(buf, ' ', sizeof(buf));
	ok(codec_proof_from_json(buf, CODEC_PROOF_JSON_MAX + 1, &p) == -E2BIG,
	   "text over the size limit refused");
}

int main(void)
{
	tap_seed(77);
	test_all_positions();
	test_wrong();
	test_single();
	test_json_errors();
	return tap_done();
}
