/*
 * Merkle trees: the published vectors, the padding rule, submission nodes, and the fast
 * streaming builder against a naive recursive tree built with the reference keccak.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/hex.h"
#include "codec/merkle.h"
#include "tests/tap.h"

/* Naive tree: split at the largest power of two below n, recursively; leaves hashed with
 * the reference keccak over zero-padded chunks of data (len bytes, padded chunk count). */
static void naive_leaf(const uint8_t *data, uint64_t len, uint64_t i, uint8_t out[32])
{
	uint8_t chunk[256] = {0};
	uint64_t off = i * 256;

	if (off < len)
		memcpy(chunk, data + off, len - off < 256 ? len - off : 256);
	codec_keccak256_ref(chunk, 256, out);
}

static void naive_root(const uint8_t *data, uint64_t len, uint64_t first, uint64_t n,
		       uint8_t out[32])
{
	uint64_t left = 1;
	uint8_t l[32], r[32], buf[64];

	if (n == 1) {
		naive_leaf(data, len, first, out);
		return;
	}
	while (left * 2 < n)
		left *= 2;
	naive_root(data, len, first, left, l);
	naive_root(data, len, first + left, n - left, r);
	memcpy(buf, l, 32);
	memcpy(buf + 32, r, 32);
	codec_keccak256_ref(buf, 64, out);
}

static uint8_t *pattern(uint64_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	for (uint64_t i = 0; i < len; i++)
		p[i] = (uint8_t)((7 * i + 3) & 255);
	return p;
}

static void test_padding(void)
{
	static const struct {
		uint64_t n, padded;
	} cases[] = {
		{1, 1}, {2, 2}, {3, 3}, {5, 5}, {15, 15}, {16, 16}, {17, 18}, {33, 36},
		{1024, 1024}, {1025, 1152}, {1153, 1280}, {4097, 4608}, {16385, 18432}, {1000000, 1048576}, {3907, 4096},
	};
	int good = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (codec_padded_chunks(cases[i].n) != cases[i].padded) {
			diag("padded(%llu) = %llu, want %llu", (unsigned long long)cases[i].n,
			     (unsigned long long)codec_padded_chunks(cases[i].n),
			     (unsigned long long)cases[i].padded);
			good = 0;
		}
	}
	ok(good, "padded chunk counts follow the 0G rule");
	ok(codec_num_chunks(0) == 0 && codec_num_chunks(1) == 1 && codec_num_chunks(256) == 1 &&
		   codec_num_chunks(257) == 2,
	   "chunk counts round up");
	ok(codec_num_segments(1) == 1 && codec_num_segments(CODEC_SEGMENT_SIZE) == 1 &&
		   codec_num_segments(CODEC_SEGMENT_SIZE + 1) == 2,
	   "segment counts round up");
}

static void test_vectors(void)
{
	FILE *f = fopen(ZGFS_VECTORS "/merkle-roots.tsv", "r");
	char line[512];
	int rows = 0, good = 0;

	if (!ok(f != NULL, "vectors file opens"))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long size;
		char pat[64], rooth[80], heights[128];
		uint8_t want[32], got[32];
		unsigned h[CODEC_MAX_NODES];
		struct codec_merkle m;
		struct codec_subnode nodes[CODEC_MAX_NODES];
		size_t nn, nh;
		char hs[128] = "";
		uint8_t *data;

		if (line[0] == '#' || sscanf(line, "%llu %63s %79s %127s", &size, pat, rooth,
					     heights) != 4)
			continue;
		rows++;
		if (codec_hex_decode(rooth, want, 32) < 0)
			continue;
		data = pattern(size);
		codec_merkle_init(&m);
		codec_merkle_update(&m, data, size);
		codec_merkle_finish(&m, got, nodes, &nn, NULL);
		codec_merkle_release(&m);
		nh = codec_submission_heights(size, h);
		for (size_t i = 0; i < nn; i++)
			snprintf(hs + strlen(hs), sizeof(hs) - strlen(hs), "%s%u", i ? "," : "",
				 nodes[i].height);
		if (memcmp(got, want, 32) == 0 && strcmp(hs, heights) == 0 && nh == nn)
			good++;
		else
			diag("vector %llu bytes: heights %s want %s", size, hs, heights);
		free(data);
	}
	fclose(f);
	ok(rows >= 13 && good == rows, "all %d vector rows reproduce (root and node heights)",
	   rows);
}

/* Root and nodes by the streaming builder, fed in random slices. */
static void stream_root(const uint8_t *data, uint64_t len, uint8_t root[32],
			struct codec_subnode *nodes, size_t *nn)
{
	struct codec_merkle m;
	uint64_t off = 0;

	codec_merkle_init(&m);
	while (off < len) {
		uint64_t take = 1 + tap_rand() % (tap_rand() % 2 ? 700 : 600000);

		if (take > len - off)
			take = len - off;
		codec_merkle_update(&m, data + off, take);
		off += take;
	}
	codec_merkle_finish(&m, root, nodes, nn, NULL);
	codec_merkle_release(&m);
}

static void test_against_naive(void)
{
	static const uint64_t sizes[] = {
		1, 2, 255, 256, 257, 511, 512, 513, 4095, 4096, 4097, 65535, 65536, 65537,
		262143, 262144, 262145, 262144 + 256 * 384, 524288 + 1, 1048576 - 1,
		4 * 262144 + 1, 17 * 262144, 17 * 262144 + 5, 16 * 262144 + 1,
	};
	int good_root = 1, good_nodes = 1, good_stream = 1;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) + 12; i++) {
		uint64_t len = i < sizeof(sizes) / sizeof(sizes[0]) ? sizes[i]
								    : 1 + tap_rand() % 6000000;
		uint8_t *data = malloc(len);
		uint8_t want[32], got[32], sr[32];
		struct codec_subnode nodes[CODEC_MAX_NODES], snodes[CODEC_MAX_NODES];
		size_t nn = 0, snn = 0;
		uint64_t padded = codec_padded_chunks(codec_num_chunks(len)), first = 0;
		struct codec_merkle m;

		tap_fill(data, len);
		naive_root(data, len, 0, padded, want);
		codec_merkle_init(&m);
		codec_merkle_update(&m, data, len);
		codec_merkle_finish(&m, got, nodes, &nn, NULL);
		codec_merkle_release(&m);
		if (memcmp(want, got, 32) != 0) {
			diag("root differs from the naive tree at %llu bytes",
			     (unsigned long long)len);
			good_root = 0;
		}
		for (size_t k = 0; k < nn; k++) {
			uint8_t r[32];

			naive_root(data, len, first, 1ULL << nodes[k].height, r);
			if (memcmp(r, nodes[k].root, 32) != 0) {
				diag("node %zu differs at %llu bytes", k, (unsigned long long)len);
				good_nodes = 0;
			}
			first += 1ULL << nodes[k].height;
		}
		if (first != padded)
			good_nodes = 0;
		stream_root(data, len, sr, snodes, &snn);
		if (memcmp(sr, got, 32) != 0 || snn != nn ||
		    memcmp(snodes, nodes, nn * sizeof(nodes[0])) != 0) {
			diag("sliced stream differs at %llu bytes", (unsigned long long)len);
			good_stream = 0;
		}
		free(data);
	}
	ok(good_root, "file roots equal a naive recursive tree over padded chunks");
	ok(good_nodes, "submission nodes cover the padded chunks and equal naive subtree roots");
	ok(good_stream, "any slicing of the input gives the same root and nodes");
}

static void test_growing(void)
{
	uint64_t len = 3 * CODEC_SEGMENT_SIZE + 1234;
	uint8_t *data = malloc(len);
	struct codec_merkle m;
	uint64_t off = 0;
	int good = 1, points = 0;

	tap_fill(data, len);
	codec_merkle_init(&m);
	while (off < len) {
		uint64_t take = 1 + tap_rand() % 90000;
		uint8_t a[32], b[32];

		if (take > len - off)
			take = len - off;
		codec_merkle_update(&m, data + off, take);
		off += take;
		codec_merkle_finish(&m, a, NULL, NULL, NULL);
		codec_file_root(data, off, b);
		good &= memcmp(a, b, 32) == 0;
		points++;
	}
	codec_merkle_release(&m);
	free(data);
	ok(good, "root of a growing stream equals the root of each prefix (%d points)", points);
}

static void test_segments(void)
{
	size_t nseg = 37;
	uint8_t *data = malloc(nseg * CODEC_SEGMENT_SIZE);
	codec_hash *a = malloc(nseg * sizeof(codec_hash)), *b = malloc(nseg * sizeof(codec_hash));
	struct codec_merkle m1, m2;
	uint8_t r1[32], r2[32], seg[32], last1[32], last2[32];
	int good = 1;

	tap_fill(data, nseg * CODEC_SEGMENT_SIZE);
	codec_segment_roots(data, nseg, a);
	codec_segment_roots_parallel(data, nseg, b, 3);
	ok(memcmp(a, b, nseg * sizeof(codec_hash)) == 0,
	   "parallel segment roots equal serial ones");
	for (size_t i = 0; i < nseg; i++) {
		codec_segment_root(data + i * CODEC_SEGMENT_SIZE, CODEC_SEGMENT_SIZE, 1024, seg);
		good &= memcmp(seg, a[i], 32) == 0;
	}
	ok(good, "codec_segment_root of a full segment equals the batch roots");
	codec_merkle_init(&m1);
	codec_merkle_init(&m2);
	codec_merkle_update(&m1, data, nseg * CODEC_SEGMENT_SIZE);
	codec_merkle_update(&m1, "tail", 4);
	ok(codec_merkle_push_segments(&m2, a[0], nseg) == 0, "pushing precomputed segment roots");
	codec_merkle_update(&m2, "tail", 4);
	ok(codec_merkle_push_segments(&m2, a[0], 1) == -EINVAL,
	   "pushing segments at an unaligned size is refused");
	codec_merkle_finish(&m1, r1, NULL, NULL, last1);
	codec_merkle_finish(&m2, r2, NULL, NULL, last2);
	ok(memcmp(r1, r2, 32) == 0 && memcmp(last1, last2, 32) == 0,
	   "pushed segment roots give the same file root");
	/* 37 segments and 4 bytes pad to 40 segments; the last with data is the 38th. */
	{
		uint8_t want[32];

		codec_segment_root((const uint8_t *)"tail", 4, 1024, want);
		ok(memcmp(last1, want, 32) == 0,
		   "last data segment root comes before whole zero segments of padding");
	}
	{
		/* 5 segments and 4 bytes pad to 5632 chunks: a tail of 512 chunks. */
		struct codec_merkle m3;
		uint8_t want[32], last3[32];

		codec_merkle_init(&m3);
		codec_merkle_update(&m3, data, 5 * CODEC_SEGMENT_SIZE);
		codec_merkle_update(&m3, "tail", 4);
		codec_merkle_finish(&m3, NULL, NULL, NULL, last3);
		codec_merkle_release(&m3);
		codec_segment_root((const uint8_t *)"tail", 4, 512, want);
		ok(memcmp(want, last3, 32) == 0,
		   "last segment root is the tail's root, padded within its segment");
	}
	codec_merkle_release(&m1);
	codec_merkle_release(&m2);
	free(data);
	free(a);
	free(b);
}

static void test_errors(void)
{
	struct codec_merkle m;
	uint8_t r[32];

	codec_merkle_init(&m);
	ok(codec_merkle_finish(&m, r, NULL, NULL, NULL) == -EINVAL,
	   "an empty stream has no root (-EINVAL)");
	codec_merkle_release(&m);
	ok(codec_file_root("", 0, r) == -EINVAL, "an empty buffer has no root");
	ok(codec_segment_root((const uint8_t *)"x", 1, 0, r) == -EINVAL &&
		   codec_segment_root((const uint8_t *)"x", 1, 1025, r) == -EINVAL,
	   "segment roots refuse impossible chunk counts");
}

int main(void)
{
	tap_seed(20261122);
	test_padding();
	test_vectors();
	test_against_naive();
	test_growing();
	test_segments();
	test_errors();
	return tap_done();
}
