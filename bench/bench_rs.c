/*
 * bench_rs.c - Reed–Solomon 10+4 on 1 MiB shards (or `bench_rs K M SHARD_KIB`: the
 * cluster's 2+2 on 256 KiB segments, say), one thread, against ISA-L called directly
 * (ec_init_tables + ec_encode_data on the same Cauchy matrix), the baseline.
 *
 * Prints a markdown table: MB/s of data shards consumed (10 MiB per call) and the ratio
 * to the baseline. Each fast row runs ~0.5 s, in short rounds that alternate between the
 * rows so that frequency drift and noisy neighbours hit all of them alike; the best round
 * counts. Exits 1 if any path's output disagrees with the baseline's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <isa-l/erasure_code.h>

#include "codec/rs.h"

/* The shape: 10+4 on 1 MiB shards unless the command line says otherwise. */
static int K = 10, M = 4, N = 14;
static size_t SHARD = (size_t)1 << 20;
#define SHAPE_MAX 64
#define ROUNDS	    25
#define ROUND_SEC   0.02
#define BASE_ROUNDS 5 /* the reference takes ~70 ms a call */

enum { RAW, ENCODE, BASE, RECON, NROWS };

static const char *const row_name[NROWS] = {
    "ISA-L raw ec_encode_data",
    "codec_rs_encode",
    "codec_rs_encode_base",
    "codec_rs_reconstruct, M lost",
};

static uint8_t *shard[SHAPE_MAX]; /* data then parity, what the code paths write into */
static uint8_t *want[SHAPE_MAX];  /* every shard as the baseline left it */
static uint8_t *raw_tbls; /* the baseline's tables, 32 * K * M bytes */
static struct codec_rs *rs;
/* M lost shards: for 10+4 three data shards and one parity; else spread over the code. */
static unsigned lost[SHAPE_MAX];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xalloc(size_t size)
{
	void *p = aligned_alloc(64, size);

	if (!p) {
		fprintf(stderr, "bench_rs: out of memory\n");
		exit(1);
	}
	return p;
}

static void run(int row)
{
	switch (row) {
	case RAW:
		ec_encode_data((int)SHARD, K, M, raw_tbls, shard, shard + K);
		break;
	case ENCODE:
		codec_rs_encode(rs, SHARD, (const uint8_t *const *)shard, shard + K);
		break;
	case BASE:
		codec_rs_encode_base(rs, SHARD, (const uint8_t *const *)shard, shard + K);
		break;
	case RECON:
		if (codec_rs_reconstruct(rs, SHARD, shard, lost, (unsigned)M)) {
			fprintf(stderr, "bench_rs: codec_rs_reconstruct failed\n");
			exit(1);
		}
		break;
	}
}

/* After each row, every shard must hold what the baseline computed: the encoders rewrite
 * the parity, the reconstruction rewrites the lost shards. */
static int check(int row)
{
	for (int i = 0; i < N; i++) {
		if (memcmp(shard[i], want[i], SHARD)) {
			fprintf(stderr, "bench_rs: %s: shard %d differs from the baseline\n",
				row_name[row], i);
			return -1;
		}
	}
	return 0;
}

/* One round of a row: calls for ROUND_SEC, keeps the best rate in *best. */
static int measure(int row, double *best)
{
	unsigned long calls = 0;
	double t0 = now(), t;

	do {
		run(row);
		calls++;
		t = now() - t0;
	} while (t < ROUND_SEC);
	if ((double)calls * K * (double)SHARD / t > *best)
		*best = (double)calls * K * (double)SHARD / t;
	return check(row);
}

int main(int argc, char **argv)
{
	static uint8_t matrix[SHAPE_MAX * SHAPE_MAX];
	double best[NROWS] = {0};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int err;

	if (argc == 4) {
		K = (int)strtol(argv[1], NULL, 10);
		M = (int)strtol(argv[2], NULL, 10);
		SHARD = (size_t)strtoul(argv[3], NULL, 10) << 10;
		N = K + M;
	}
	if (argc != 1 && argc != 4) {
		fprintf(stderr, "usage: bench_rs [K M SHARD_KIB]\n");
		return 2;
	}
	if (K < 1 || M < 1 || N > SHAPE_MAX || SHARD == 0 || SHARD % 64) {
		fprintf(stderr, "bench_rs: K, M >= 1, K + M <= %d, shards a multiple of 64 B\n",
			SHAPE_MAX);
		return 2;
	}
	if (K == 10 && M == 4) {
		static const unsigned l[] = {2, 5, 9, 11};

		memcpy(lost, l, sizeof(l));
	} else {
		for (int i = 0; i < M; i++)
			lost[i] = (unsigned)(i * N / M);
	}
	err = codec_rs_new(K, M, &rs);
	if (err) {
		fprintf(stderr, "bench_rs: codec_rs_new: %d\n", err);
		return 1;
	}
	for (int i = 0; i < N; i++) {
		shard[i] = xalloc(SHARD);
		for (size_t j = 0; j < SHARD; j += 8) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			memcpy(shard[i] + j, &x, 8);
		}
	}

	/* The baseline, as an ISA-L user would write it (tables aligned like ours, so the
	 * comparison measures the wrapper and nothing else). */
	gf_gen_cauchy1_matrix(matrix, N, K);
	raw_tbls = xalloc(32 * K * M);
	ec_init_tables(K, M, matrix + K * K, raw_tbls);
	run(RAW);
	for (int i = 0; i < N; i++) {
		want[i] = xalloc(SHARD);
		memcpy(want[i], shard[i], SHARD);
	}

	/* The fast rows alternate round by round; the scalar reference runs on its own
	 * afterwards: interleaved, it left the row after it 5-10% slow, whichever that was. */
	for (int round = 0; round < ROUNDS; round++) {
		for (int row = 0; row < NROWS; row++) {
			if (row != BASE && measure(row, &best[row]))
				return 1;
		}
	}
	for (int round = 0; round < BASE_ROUNDS; round++) {
		if (measure(BASE, &best[BASE]))
			return 1;
	}

	printf("Reed–Solomon %d+%d, shards of %zu KiB (%zu KiB of data per call), 1 thread, "
	       "best of %d rounds of %.2f s\n\n",
	       K, M, SHARD >> 10, ((size_t)K * SHARD) >> 10, ROUNDS, ROUND_SEC);
	printf("| name | MB/s | x ISA-L raw |\n");
	printf("|---|---:|---:|\n");
	for (int row = 0; row < NROWS; row++)
		printf("| %s | %.0f | %.3f |\n", row_name[row], best[row] / 1e6,
		       best[row] / best[RAW]);

	for (int i = 0; i < N; i++) {
		free(shard[i]);
		free(want[i]);
	}
	free(raw_tbls);
	codec_rs_free(rs);
	return 0;
}
