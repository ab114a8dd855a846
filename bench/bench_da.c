/*
 * bench_da.c - the DA square of the largest blob (32,505,852 B: k = 128, 1,984-byte
 * shares): encode and commit, and reconstruction from a quarter, against ISA-L's raw
 * Reed–Solomon encode of the same bytes, the baseline.
 *
 * The baseline codes the blob's 32,505,856-byte payload as 128 data shards and 128
 * parity shards (the same 128+128 Cauchy code, so the same work per byte as one
 * dimension of the square) with ec_init_tables + ec_encode_data, called once over whole
 * shards and, faster, in 2 KiB pieces that stay in the cache. The square does that work
 * three times (rows of the data quarter, then all 2k columns) and hashes 130 MB, so one
 * thread cannot reach half the baseline; the target ratio (≥ 0.5 of the faster baseline)
 * is for both threads. A second reference is the 2D extension alone done with raw ISA-L
 * calls, which shows what the layout, the wrapper and the hashing add.
 *
 * Prints a markdown table: MB/s of blob bytes, ratio to the faster baseline; then the
 * reconstruction time from the lower right quarter (the shares no encoder wrote from the
 * data directly: every line needs a full decode) over the encode time. Best of ROUNDS.
 * Exits 1 if a rebuilt square differs from the encoded one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <isa-l/erasure_code.h>

#include "codec/da.h"
#include "codec/errors.h"

#define K      128
#define BLOB   CODEC_DA_MAX_BLOB
#define ROUNDS 3
#define PIECE  2048

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xalloc(size_t size)
{
	void *p = aligned_alloc(64, (size + 63) / 64 * 64);

	if (!p) {
		fprintf(stderr, "bench_da: out of memory\n");
		exit(1);
	}
	return p;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_da: %s: %s\n", what, codec_strerror(err));
	exit(1);
}

/* Seconds for the raw encode of the payload, whole shards or in PIECE-byte pieces. */
static double raw_encode(uint8_t *payload, uint8_t *parity, size_t shard, size_t piece)
{
	static uint8_t matrix[2 * K * K], tbls[32 * K * K];
	uint8_t *src[K], *dst[K];
	double t0;

	gf_gen_cauchy1_matrix(matrix, 2 * K, K);
	ec_init_tables(K, K, matrix + K * K, tbls);
	t0 = now();
	for (size_t off = 0; off < shard; off += piece) {
		size_t n = shard - off < piece ? shard - off : piece;

		for (int i = 0; i < K; i++) {
			src[i] = payload + (size_t)i * shard + off;
			dst[i] = parity + (size_t)i * shard + off;
		}
		ec_encode_data((int)n, K, K, tbls, src, dst);
	}
	return now() - t0;
}

/* Seconds for the square's extension done with raw ISA-L calls, line by line as
 * codec_da_extend() does: the rows of the data quarter, then every column. */
static double raw_extend(const struct codec_da_square *layout)
{
	static uint8_t matrix[2 * K * K], tbls[32 * K * K];
	const size_t s = layout->share_size;
	uint8_t *sh[2 * K];
	double t0;

	gf_gen_cauchy1_matrix(matrix, 2 * K, K);
	ec_init_tables(K, K, matrix + K * K, tbls);
	t0 = now();
	for (unsigned r = 0; r < K; r++) {
		for (unsigned i = 0; i < 2 * K; i++)
			sh[i] = codec_da_share(layout, r, i);
		ec_encode_data((int)s, K, K, tbls, sh, sh + K);
	}
	for (unsigned c = 0; c < 2 * K; c++) {
		for (unsigned i = 0; i < 2 * K; i++)
			sh[i] = codec_da_share(layout, i, c);
		ec_encode_data((int)s, K, K, tbls, sh, sh + K);
	}
	return now() - t0;
}

static double best_encode(const uint8_t *blob, unsigned nthreads, struct codec_da_square **keep)
{
	double best = 1e9;

	for (int r = 0; r < ROUNDS; r++) {
		struct codec_da_square *sq;
		double t0 = now(), t;
		int err = codec_da_encode(blob, BLOB, nthreads, &sq);

		t = now() - t0;
		if (err)
			die("codec_da_encode", err);
		if (t < best)
			best = t;
		if (keep && !*keep)
			*keep = sq;
		else
			codec_da_square_free(sq);
	}
	return best;
}

/* Seconds to rebuild the square from its lower right quarter. */
static double best_reconstruct(const struct codec_da_square *want, unsigned nthreads)
{
	const size_t side = 2 * K, s = want->share_size;
	struct codec_da_square *sq;
	uint8_t *have = xalloc(side * side);
	double best = 1e9;
	int err;

	for (size_t r = 0; r < side; r++)
		for (size_t c = 0; c < side; c++)
			have[r * side + c] = r >= K && c >= K;
	err = codec_da_square_new(K, s, &sq);
	if (err)
		die("codec_da_square_new", err);
	for (int round = 0; round < ROUNDS; round++) {
		double t0, t;

		memset(sq->shares, 0, side * side * s);
		for (size_t r = K; r < side; r++)
			memcpy(codec_da_share(sq, (unsigned)r, K),
			       codec_da_share(want, (unsigned)r, K), K * s);
		t0 = now();
		err = codec_da_reconstruct(sq, have, want->data_root, nthreads);
		t = now() - t0;
		if (err)
			die("codec_da_reconstruct", err);
		if (memcmp(sq->shares, want->shares, side * side * s) != 0) {
			fprintf(stderr, "bench_da: the rebuilt square differs\n");
			exit(1);
		}
		if (t < best)
			best = t;
	}
	codec_da_square_free(sq);
	free(have);
	return best;
}

int main(void)
{
	const size_t payload_size = (size_t)K * K * CODEC_DA_MAX_SHARE, shard = payload_size / K;
	uint8_t *blob = xalloc(BLOB), *payload = xalloc(payload_size),
		*parity = xalloc(payload_size);
	struct codec_da_square *sq = NULL;
	double raw_whole = 1e9, raw_piece = 1e9, raw2d = 1e9, raw, enc1, enc2, rec1, rec2;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t j = 0; j + 8 <= BLOB; j += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		memcpy(blob + j, &x, 8);
	}
	memset(payload, 0, payload_size);
	memcpy(payload + 4, blob, BLOB);
	for (int r = 0; r < ROUNDS; r++) {
		double a = raw_encode(payload, parity, shard, shard);
		double b = raw_encode(payload, parity, shard, PIECE);

		raw_whole = a < raw_whole ? a : raw_whole;
		raw_piece = b < raw_piece ? b : raw_piece;
	}
	raw = raw_piece < raw_whole ? raw_piece : raw_whole;
	{
		struct codec_da_square *layout;
		int err = codec_da_layout(blob, BLOB, &layout);

		if (err)
			die("codec_da_layout", err);
		for (int r = 0; r < ROUNDS; r++) {
			double t = raw_extend(layout);

			raw2d = t < raw2d ? t : raw2d;
		}
		codec_da_square_free(layout);
	}
	enc1 = best_encode(blob, 1, NULL);
	enc2 = best_encode(blob, 2, &sq);
	rec1 = best_reconstruct(sq, 1);
	rec2 = best_reconstruct(sq, 2);

	printf("DA square of a %d-byte blob: k = %u, %zu-byte shares, extended square %zu MB; "
	       "best of %d\n\n",
	       BLOB, sq->k, sq->share_size, 4 * payload_size / 1000000, ROUNDS);
	printf("| what | ms | MB/s of blob | x ISA-L raw encode (baseline) | target | x raw 2D "
	       "extension |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	printf("| ISA-L raw ec_encode_data 128+128, whole shards | %.0f | %.0f | %.2f | | |\n",
	       raw_whole * 1e3, BLOB / raw_whole / 1e6, raw / raw_whole);
	printf("| ISA-L raw ec_encode_data 128+128, %d B pieces | %.0f | %.0f | %.2f | | |\n",
	       PIECE, raw_piece * 1e3, BLOB / raw_piece / 1e6, raw / raw_piece);
	printf("| ISA-L raw, the square's 2D extension, line by line | %.0f | %.0f | %.2f | | 1.00 "
	       "|\n",
	       raw2d * 1e3, BLOB / raw2d / 1e6, raw / raw2d);
	printf("| codec_da_encode (layout, extend, commit), 1 thread | %.0f | %.0f | %.2f | | %.2f "
	       "|\n",
	       enc1 * 1e3, BLOB / enc1 / 1e6, raw / enc1, raw2d / enc1);
	printf("| codec_da_encode (layout, extend, commit), 2 threads | %.0f | %.0f | %.2f | ≥ 0.5 "
	       "| %.2f |\n",
	       enc2 * 1e3, BLOB / enc2 / 1e6, raw / enc2, raw2d / enc2);
	printf("\n| reconstruct from the lower right quarter | ms | / encode, same threads |\n");
	printf("|---|---:|---:|\n");
	printf("| 1 thread | %.0f | %.2f |\n", rec1 * 1e3, rec1 / enc1);
	printf("| 2 threads | %.0f | %.2f |\n", rec2 * 1e3, rec2 / enc2);

	codec_da_square_free(sq);
	free(blob);
	free(payload);
	free(parity);
	return 0;
}
