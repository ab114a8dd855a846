/*
 * bench_pora.c - single-thread PoRA throughput: sealing and unsealing of 4 KiB units on
 * each batch keccak kernel the CPU has, against the ideal that kernel allows, measured in
 * the same run; and PoRA tries per second on one core.
 *
 *   bench_pora [seconds per row, default 0.5]
 *
 * Sealing or unsealing 4 KiB costs 128 Keccak-f[1600] permutations (the seed's and 127
 * words'; the last sealed word's hash is not needed), each over 32 or 96 bytes. The ideal
 * rate is therefore the kernel's permutation rate on 32-byte inputs, measured here, times
 * 4096 / 128 bytes: what sealing would reach if it cost nothing but hashing.
 *
 * A try is what a miner does per nonce with a load already in memory: padSeed, the 16 KiB
 * scratchpad (512 chained keccaks), the recall position, 64 qualities (BLAKE2b-512 of
 * 4224 bytes each) and the target test. No disk: the load is a fixed buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "codec/pora.h"

#define SEAL_BYTES ((size_t)4 << 20) /* 1024 units per call */
#define REF_UNITS  16
#define PERM_N	   (SEAL_BYTES / CODEC_SEAL_WORD) /* 32-byte inputs per call of the raw kernel */
#define ROUNDS	   5				  /* kernel rows alternate in this many rounds */
#define TRIES	   16				  /* per call */
#define DASHES	   "--------------------------------"

static double run_seconds = 0.5;

struct job {
	uint8_t *buf;
	size_t n; /* units, inputs or tries per call */
	uint8_t (*out)[CODEC_HASH_SIZE];
	int err;
};

static const uint8_t miner[32] = {1}, ctx[32] = {2};

static void run_seal(void *arg)
{
	struct job *j = arg;

	j->err |= codec_seal_units(j->buf, j->n, miner, ctx, 0);
}

static void run_unseal(void *arg)
{
	struct job *j = arg;

	j->err |= codec_seal_open_units(j->buf, j->n, miner, ctx, 0);
}

static void run_seal_ref(void *arg)
{
	struct job *j = arg;

	for (size_t u = 0; u < j->n; u++)
		j->err |= codec_seal_ref(j->buf + u * CODEC_SEAL_SIZE, miner, ctx,
					 u * CODEC_SEAL_SECTORS);
}

static void run_unseal_ref(void *arg)
{
	struct job *j = arg;

	for (size_t u = 0; u < j->n; u++)
		j->err |= codec_seal_open_ref(j->buf + u * CODEC_SEAL_SIZE, miner, ctx,
					      u * CODEC_SEAL_SECTORS);
}

/* The raw kernel on 32-byte inputs side by side: one permutation each. */
static void run_perms(void *arg)
{
	struct job *j = arg;

	codec_keccak256_batch(j->buf, CODEC_SEAL_WORD, CODEC_SEAL_WORD, j->n, j->out);
}

/* The miner's inner loop on one load, without I/O; counts wins so nothing is dropped. */
static void run_tries(void *arg)
{
	struct job *j = arg;
	static uint8_t pad[CODEC_PORA_PAD_SIZE], q[CODEC_PORA_SEALS_PER_LOAD][32];
	struct codec_pora_range r = {0, 1ULL << 30, 0, ~0ULL};
	uint8_t rd[32], nonce[32] = {0}, sub[32] = {3}, seed[CODEC_PORA_PAD_SEED_SIZE];
	uint8_t recall[32], scale[32], target[32], bound[32];
	uint64_t pos;

	codec_pora_range_digest(&r, rd);
	j->err |= codec_pora_scale_x64(1ULL << 30, r.shard_mask, scale);
	j->err |= codec_pora_initial_target(180000, target);
	j->err |= codec_pora_target_bound(target, scale, bound);
	for (size_t t = 0; t < j->n; t++) {
		nonce[0] = (uint8_t)t, nonce[1] = (uint8_t)(t >> 8);
		codec_pora_pad_seed(miner, nonce, sub, rd, seed);
		codec_pora_scratchpad(seed, pad, recall);
		j->err |= codec_pora_recall_position(&r, recall, &pos);
		codec_pora_load_qualities(j->buf, ~0ULL, seed, pad, q);
		for (unsigned i = 0; i < CODEC_PORA_SEALS_PER_LOAD; i++)
			if (codec_pora_meets_target(q[i], bound))
				j->out[0][0]++;
	}
}

/* The same tries with their scratchpads made together by codec_pora_scratchpads(). */
static void run_tries_batched(void *arg)
{
	struct job *j = arg;
	static uint8_t pads[TRIES][CODEC_PORA_PAD_SIZE], q[CODEC_PORA_SEALS_PER_LOAD][32];
	struct codec_pora_range r = {0, 1ULL << 30, 0, ~0ULL};
	uint8_t rd[32], nonce[32] = {0}, sub[32] = {3}, seeds[TRIES][CODEC_PORA_PAD_SEED_SIZE];
	uint8_t recall[TRIES][32], scale[32], target[32], bound[32];
	uint64_t pos;

	codec_pora_range_digest(&r, rd);
	j->err |= codec_pora_scale_x64(1ULL << 30, r.shard_mask, scale);
	j->err |= codec_pora_initial_target(180000, target);
	j->err |= codec_pora_target_bound(target, scale, bound);
	for (size_t t = 0; t < TRIES; t++) {
		nonce[0] = (uint8_t)t;
		codec_pora_pad_seed(miner, nonce, sub, rd, seeds[t]);
	}
	codec_pora_scratchpads(&seeds[0][0], TRIES, &pads[0][0], recall);
	for (size_t t = 0; t < TRIES; t++) {
		j->err |= codec_pora_recall_position(&r, recall[t], &pos);
		codec_pora_load_qualities(j->buf, ~0ULL, seeds[t], pads[t], q);
		for (unsigned i = 0; i < CODEC_PORA_SEALS_PER_LOAD; i++)
			if (codec_pora_meets_target(q[i], bound))
				j->out[0][0]++;
	}
}

/* Just the scratchpad, to split a try's cost into keccak and BLAKE2b. */
static void run_pads(void *arg)
{
	struct job *j = arg;
	static uint8_t pad[CODEC_PORA_PAD_SIZE];
	uint8_t seed[CODEC_PORA_PAD_SEED_SIZE] = {5};

	for (size_t t = 0; t < j->n; t++) {
		seed[0] = (uint8_t)t;
		codec_pora_scratchpad(seed, pad, j->out[0]);
	}
}

static double measure(void (*fn)(void *), struct job *j)
{
	return bench_fastest(fn, j, run_seconds);
}

static void row(const char *what, const char *kernel, double mbs, double ideal)
{
	printf("| %-34s | %-16s | %9.1f | %14.2f |\n", what, kernel, mbs, mbs / ideal);
	fflush(stdout);
}

/* The best (shortest) of t and the fastest call of fn in one round. */
static double best_round(double t, void (*fn)(void *), struct job *j)
{
	double r = bench_fastest(fn, j, run_seconds / ROUNDS);

	return r < t ? r : t;
}

/*
 * The rows of one kernel; returns its ideal sealing rate in MB/s. The three rows alternate
 * in short rounds, so that frequency drift and noisy neighbours hit them alike and the
 * ratios hold even when the absolute figures wander.
 */
static double kernel_rows(const char *impl, struct job *seal, struct job *perms)
{
	char name[48];
	double t_perm = 1e30, t_seal = 1e30, t_unseal = 1e30, perm_rate, ideal;

	snprintf(name, sizeof(name), "%s (%u lane%s)", impl, codec_keccak_lanes(),
		 codec_keccak_lanes() > 1 ? "s" : "");
	for (int round = 0; round < ROUNDS; round++) {
		t_perm = best_round(t_perm, run_perms, perms);
		t_seal = best_round(t_seal, run_seal, seal);
		t_unseal = best_round(t_unseal, run_unseal, seal);
	}
	perm_rate = (double)perms->n / t_perm;
	ideal = perm_rate * CODEC_SEAL_SIZE / 128 / 1e6;
	printf("| %-34s | %-16s | %9.1f | %14.2f |\n", "ideal: permutations/s × 4096 / 128", name,
	       ideal, 1.0);
	row("codec_seal_units, 1024 units", name, (double)SEAL_BYTES / t_seal / 1e6, ideal);
	row("codec_seal_open_units, 1024 units", name, (double)SEAL_BYTES / t_unseal / 1e6, ideal);
	printf("| %-34s | %-16s | %9.2f | %14s |\n", "  (kernel Mperm/s, 32-byte inputs)", name,
	       perm_rate / 1e6, "");
	return ideal;
}

int main(int argc, char **argv)
{
	static const char *const impls[] = {"scalar", "avx2", "avx512"};
	uint8_t *buf = malloc(SEAL_BYTES), (*out)[CODEC_HASH_SIZE] = malloc(PERM_N * 32);
	struct job seal = {.n = SEAL_BYTES / CODEC_SEAL_SIZE}, ref = {.n = REF_UNITS};
	struct job perms = {.n = PERM_N}, tries = {.n = TRIES}, pads = {.n = TRIES};
	double t_try, t_batched, t_pad, ideal_best = 0;

	if (argc > 1)
		run_seconds = strtod(argv[1], NULL);
	if (!(run_seconds > 0))
		run_seconds = 0.5;
	if (!buf || !out) {
		fprintf(stderr, "bench_pora: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < SEAL_BYTES; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 11));
	memset(out, 0, PERM_N * 32);
	seal.buf = ref.buf = perms.buf = tries.buf = pads.buf = buf;
	seal.out = ref.out = perms.out = tries.out = pads.out = out;

	printf("PoRA, one thread, fastest call in %.2f s per row (rows alternate in %d "
	       "rounds); best batch kernel here: %s (%u lanes)\n\n",
	       run_seconds, ROUNDS, codec_keccak_impl(), codec_keccak_lanes());
	printf("| %-34s | %-16s | %9s | %14s |\n", "what", "keccak kernel", "MB/s",
	       "ratio to ideal");
	printf("|%.36s|%.18s|%.10s:|%.15s:|\n", DASHES DASHES, DASHES, DASHES, DASHES);
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		if (codec_keccak_select(impls[i]) == -ENOTSUP) {
			printf("| %-34s | %-16s | %9s | %14s |\n", "not supported by this CPU",
			       impls[i], "-", "-");
			continue;
		}
		ideal_best =
		    kernel_rows(impls[i], &seal, &perms); /* the widest kernel comes last */
	}
	codec_keccak_select(NULL);
	row("codec_seal_ref (plain twin)", "reference",
	    (double)REF_UNITS * CODEC_SEAL_SIZE / measure(run_seal_ref, &ref) / 1e6, ideal_best);
	row("codec_seal_open_ref (plain twin)", "reference",
	    (double)REF_UNITS * CODEC_SEAL_SIZE / measure(run_unseal_ref, &ref) / 1e6, ideal_best);

	t_try = t_batched = t_pad = 1e30;
	for (int round = 0; round < ROUNDS; round++) {
		t_try = best_round(t_try, run_tries, &tries);
		t_batched = best_round(t_batched, run_tries_batched, &tries);
		t_pad = best_round(t_pad, run_pads, &pads);
	}
	t_try /= TRIES, t_batched /= TRIES, t_pad /= TRIES;
	printf("\n| %-40s | %12s | %14s |\n", "PoRA try, load in memory, one core", "tries/s",
	       "µs per try");
	printf("|%.42s|%.13s:|%.15s:|\n", DASHES DASHES, DASHES, DASHES);
	printf("| %-40s | %12.0f | %14.1f |\n", "whole try (pad + 64 qualities)", 1 / t_try,
	       t_try * 1e6);
	printf("| %-40s | %12.0f | %14.1f |\n", "  of which the scratchpad (512 keccaks)",
	       1 / t_pad, t_pad * 1e6);
	printf("| %-40s | %12s | %14.1f |\n", "  of which 64 qualities (BLAKE2b)", "",
	       (t_try - t_pad) * 1e6);
	printf("| %-40s | %12.0f | %14.1f |\n", "16 tries, scratchpads side by side", 1 / t_batched,
	       t_batched * 1e6);
	free(out);
	free(buf);
	if (seal.err | ref.err | tries.err) {
		fprintf(stderr, "bench_pora: a call failed\n");
		return 1;
	}
	return 0;
}
