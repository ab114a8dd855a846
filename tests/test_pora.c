/*
 * test_pora.c - codec/pora.h: every row of tests/vectors/pora.tsv (made by the JavaScript
 * reference tests/compat/pora_ref.js) under each keccak kernel the CPU has; the plain
 * sealing twins on the vectors' seal rows; the batch sealing, unsealing and scratchpads
 * against their twins on fixed-seed random inputs; and the error contracts of the header.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/hex.h"
#include "codec/pora.h"
#include "tests/pora_rows.h"
#include "tests/tap.h"

static const char *const impl_names[] = {"scalar", "avx2", "avx512"};
#define N_IMPLS (sizeof(impl_names) / sizeof(impl_names[0]))

static char line[PORA_ROW_MAX], copy[PORA_ROW_MAX], row[PORA_ROW_MAX];

static FILE *open_vectors(void)
{
	FILE *f = fopen(ZGFS_VECTORS "/pora.tsv", "r");

	if (!f) {
		ok(0, "open %s/pora.tsv: %s", ZGFS_VECTORS, strerror(errno));
		exit(tap_done());
	}
	return f;
}

/* Every row reproduces with the kernel impl selected; one test point per kind. */
static void check_rows(const char *impl)
{
	static const char *const kinds[] = {"seal",  "miner", "subtask", "range",
					    "check", "try",   "target",	 "initial"};
	int total[8] = {0}, same[8] = {0};
	FILE *f = open_vectors();

	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\r\n");

		if (line[0] == '#' || n == 0)
			continue;
		line[n] = 0;
		memcpy(copy, line, n + 1);
		for (int k = 0; k < 8; k++) {
			size_t kl = strlen(kinds[k]);

			if (strncmp(line, kinds[k], kl) || line[kl] != '\t')
				continue;
			total[k]++;
			if (pora_row(copy, row, sizeof(row)) == 0 && strcmp(row, line) == 0)
				same[k]++;
			else if (total[k] - same[k] == 1)
				diag("%s differs: %.160s", kinds[k], row);
		}
	}
	fclose(f);
	for (int k = 0; k < 8; k++)
		ok(total[k] > 0 && same[k] == total[k], "%s: %d/%d %s rows reproduce", impl,
		   same[k], total[k], kinds[k]);
}

/* The _ref twins on the seal rows: seal gives the row's output, unseal gives back the data. */
static void check_ref_on_rows(void)
{
	static uint8_t data[CODEC_SEAL_SIZE], want[CODEC_SEAL_SIZE], unit[CODEC_SEAL_SIZE];
	int rows = 0, sealed = 0, unsealed = 0;
	FILE *f = open_vectors();

	while (fgets(line, sizeof(line), f)) {
		char *fl[6], *save = NULL;
		uint8_t miner[32], ctx[32];
		int n = 0;

		if (strncmp(line, "seal\t", 5))
			continue;
		for (char *t = strtok_r(line, "\t\r\n", &save); t && n < 6;
		     t = strtok_r(NULL, "\t\r\n", &save))
			fl[n++] = t;
		rows++;
		if (n != 6 || codec_hex_decode(fl[1], miner, 32) ||
		    codec_hex_decode(fl[2], ctx, 32) ||
		    codec_hex_decode(fl[4], data, sizeof(data)) ||
		    codec_hex_decode(fl[5], want, sizeof(want)))
			continue;
		memcpy(unit, data, sizeof(unit));
		if (codec_seal_ref(unit, miner, ctx, strtoull(fl[3], NULL, 10)) == 0 &&
		    memcmp(unit, want, sizeof(unit)) == 0)
			sealed++;
		if (codec_seal_open_ref(unit, miner, ctx, strtoull(fl[3], NULL, 10)) == 0 &&
		    memcmp(unit, data, sizeof(unit)) == 0)
			unsealed++;
	}
	fclose(f);
	ok(rows > 0 && sealed == rows, "codec_seal_ref reproduces %d/%d seal rows", sealed, rows);
	ok(rows > 0 && unsealed == rows, "codec_seal_open_ref inverts %d/%d seal rows", unsealed,
	   rows);
}

/* codec_seal_units / codec_seal_open_units against n calls of the twins, several run lengths. */
static void check_fast_against_ref(const char *impl)
{
	static const size_t runs[] = {1, 2, 3, 7, 8, 9, 63, 64, 65, 130};
	size_t max = runs[sizeof(runs) / sizeof(runs[0]) - 1] * CODEC_SEAL_SIZE;
	uint8_t *orig = malloc(max), *fast = malloc(max), *ref = malloc(max);
	bool seal_ok = true, unseal_ok = true;

	if (!orig || !fast || !ref)
		abort();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		size_t n = runs[i], bytes = n * CODEC_SEAL_SIZE;
		uint8_t miner[32], ctx[32];
		uint64_t start = (tap_rand() >> (tap_rand() % 40)) & ~(uint64_t)15;

		tap_fill(miner, 32);
		tap_fill(ctx, 32);
		tap_fill(orig, bytes);
		memcpy(fast, orig, bytes);
		memcpy(ref, orig, bytes);
		seal_ok &= codec_seal_units(fast, n, miner, ctx, start) == 0;
		for (size_t j = 0; j < n; j++)
			seal_ok &= codec_seal_ref(ref + j * CODEC_SEAL_SIZE, miner, ctx,
						  start + j * CODEC_SEAL_SECTORS) == 0;
		seal_ok &= memcmp(fast, ref, bytes) == 0;
		unseal_ok &= codec_seal_open_units(fast, n, miner, ctx, start) == 0;
		unseal_ok &= memcmp(fast, orig, bytes) == 0;
		for (size_t j = 0; j < n; j++)
			unseal_ok &= codec_seal_open_ref(ref + j * CODEC_SEAL_SIZE, miner, ctx,
							 start + j * CODEC_SEAL_SECTORS) == 0;
		unseal_ok &= memcmp(ref, orig, bytes) == 0;
	}
	ok(seal_ok, "%s: codec_seal_units equals codec_seal_ref on runs of 1..130 units", impl);
	ok(unseal_ok, "%s: codec_seal_open_units and codec_seal_open_ref give the data back", impl);
	free(orig);
	free(fast);
	free(ref);
}

/* codec_pora_scratchpads against codec_pora_scratchpad, one group, several, and a tail. */
static void check_pads_against_ref(const char *impl)
{
	static const size_t counts[] = {1, 3, 8, 17, 33};
	static uint8_t seeds[33][CODEC_PORA_PAD_SEED_SIZE], pads[33][CODEC_PORA_PAD_SIZE];
	static uint8_t pad[CODEC_PORA_PAD_SIZE];
	uint8_t recall[33][32], rs[32], recall_only[33][32];
	bool same = true;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t n = counts[i];

		tap_fill(seeds, sizeof(seeds));
		codec_pora_scratchpads(&seeds[0][0], n, &pads[0][0], recall);
		codec_pora_scratchpads(&seeds[0][0], n, NULL, recall_only);
		for (size_t j = 0; j < n; j++) {
			codec_pora_scratchpad(seeds[j], pad, rs);
			same &= memcmp(pad, pads[j], sizeof(pad)) == 0;
			same &=
			    memcmp(rs, recall[j], 32) == 0 && memcmp(rs, recall_only[j], 32) == 0;
		}
	}
	ok(same, "%s: codec_pora_scratchpads equals codec_pora_scratchpad for 1..33 seeds", impl);
}

static void check_seal_errors(void)
{
	uint8_t unit[CODEC_SEAL_SIZE] = {0}, before[CODEC_SEAL_SIZE] = {0}, id[32] = {1},
		ctx[32] = {2};

	ok(codec_seal_ref(unit, id, ctx, 8) == -EINVAL &&
	       codec_seal_open_ref(unit, id, ctx, 8) == -EINVAL &&
	       codec_seal_units(unit, 1, id, ctx, 17) == -EINVAL &&
	       codec_seal_open_units(unit, 1, id, ctx, 1) == -EINVAL &&
	       memcmp(unit, before, sizeof(unit)) == 0,
	   "a start sector off the 16-sector grid is -EINVAL, the unit untouched");
	ok(codec_seal_units(unit, 2, id, ctx, UINT64_MAX - 15) == -EINVAL &&
	       codec_seal_units(unit, 1, id, ctx, UINT64_MAX - 15) == 0 &&
	       codec_seal_units(NULL, 0, id, ctx, 0) == 0,
	   "a run whose last sector overflows is -EINVAL; n == 0 is a no-op");
}

static void check_ranges(void)
{
	struct codec_pora_range r = {0};
	uint64_t v = 0, pos = 0;
	uint8_t seed[32] = {0};

	ok(codec_pora_shard_mask(8, &v) == 0 && v == ~7ULL &&
	       codec_pora_shard_mask(0, &v) == -EINVAL && codec_pora_shard_mask(6, &v) == -EINVAL,
	   "shard mask = ~(n - 1) for a power of two, -EINVAL otherwise");
	ok(codec_pora_num_shards(~7ULL, &v) == 0 && v == 8 &&
	       codec_pora_num_shards(~(1ULL << 40 | 1), &v) == 0 && v == 4 &&
	       codec_pora_num_shards(0, &v) == -ERANGE,
	   "shards = 2^(zero bits of the mask), wherever they are; mask 0 is -ERANGE");
	ok(codec_pora_range_make(1023, 0, 0, 1, &r) == -ENODATA &&
	       codec_pora_range_make(1 << 20, 0, 4, 4, &r) == -EINVAL &&
	       codec_pora_range_make(1 << 20, 0, 0, 3, &r) == -EINVAL,
	   "range_make: -ENODATA below one load, -EINVAL for a bad shard");
	ok(codec_pora_range_make(3ULL << 35, UINT64_MAX, 1, 2, &r) == 0 &&
	       r.start_position == 1ULL << 35 && r.mine_length == 2ULL << 35 && r.shard_id == 1 &&
	       r.shard_mask == ~1ULL && codec_pora_range_check(&r, 3ULL << 35, 32) == 0 &&
	       codec_pora_range_check(&r, 3ULL << 35, 1) == -EINVAL,
	   "a range a node makes passes the contract's check, unless it has too many shards");
	r = (struct codec_pora_range){0, 1024, 0, ~0ULL};
	ok(codec_pora_recall_position(&r, seed, &pos) == 0 && pos == 0,
	   "one-load range recalls load 0");
	r.mine_length = 1023;
	ok(codec_pora_recall_position(&r, seed, &pos) == -ENODATA,
	   "a range below one load: -ENODATA");
	r = (struct codec_pora_range){0, 5120, 7, ~7ULL};
	ok(codec_pora_recall_position(&r, seed, &pos) == -ERANGE,
	   "a shard id past the range: -ERANGE (0G's \"Recall position out of bound\")");
}

/*
 * 0G's test/mine.spec.ts, "basic checks" and "Sharded mine range checks": ranges against
 * flow lengths in its units (TB and GB of sectors), with the outcome that test expects.
 */
static void check_mine_spec_ranges(void)
{
	const uint64_t TB = (1ULL << 40) / 256, GB = (1ULL << 30) / 256, KB = 4, ALL = ~0ULL;
	const struct {
		uint64_t start, length, mask, flow;
		bool pass;
	} cases[] = {
	    {3 * TB, 8 * TB, ALL, 10 * TB, false},	    /* "Mining range overflow" */
	    {2 * TB - GB, 8 * TB, ALL, 10 * TB, false},	    /* "Start position is not aligned" */
	    {2 * TB, 8 * TB - 8 * GB, ALL, 10 * TB, false}, /* "Mining range too short" */
	    {2 * TB, 8 * TB, ALL, 10 * TB, true},
	    {8 * GB, 8 * TB, ALL, 10 * TB, true},
	    {0, 8 * TB - 256 * KB, ALL, 8 * TB - 1, true},
	    {8 * GB, 8 * TB - 16 * GB, ALL, 8 * TB - 1, false},
	    {6 * TB, 16 * TB, ALL - 1, 20 * TB, false},
	    {4 * TB - GB, 16 * TB, ALL - 1, 20 * TB, false},
	    {4 * TB, 16 * TB - 8 * GB, ALL - 1, 20 * TB, false},
	    {4 * TB, 16 * TB, ALL - 1, 20 * TB, true},
	    {16 * GB, 16 * TB, ALL - 1, 20 * TB, true},
	    {0, 16 * TB - 256 * KB, ALL - 1, 16 * TB - 1, true},
	    {8 * GB, 16 * TB - 16 * GB, ALL - 1, 16 * TB - 1, false},
	};
	int same = 0, n = (int)(sizeof(cases) / sizeof(cases[0]));

	for (int i = 0; i < n; i++) {
		struct codec_pora_range r = {cases[i].start, cases[i].length,
					     cases[i].mask == ALL ? 0 : 1, cases[i].mask};

		same += (codec_pora_range_check(&r, cases[i].flow, 32) == 0) == cases[i].pass;
	}
	ok(same == n, "0G's mine.spec.ts range checks: %d/%d as that test expects", same, n);
}

static void check_try(void)
{
	static uint8_t pad[CODEC_PORA_PAD_SIZE], load[CODEC_PORA_LOAD_SIZE];
	uint8_t seed[CODEC_PORA_PAD_SEED_SIZE], rs1[32], rs2[32], q[64][32], one[32];
	uint64_t avail = 0x8000000000000005ULL;
	bool same = true;

	tap_fill(seed, sizeof(seed));
	tap_fill(load, sizeof(load));
	codec_pora_scratchpad(seed, pad, rs1);
	codec_pora_scratchpad(seed, NULL, rs2);
	ok(memcmp(rs1, rs2, 32) == 0, "the recall seed does not need the pad stored");
	memset(q, 0xee, sizeof(q));
	codec_pora_load_qualities(load, avail, seed, pad, q);
	for (unsigned i = 0; i < CODEC_PORA_SEALS_PER_LOAD; i++) {
		if (avail >> i & 1) {
			same &=
			    codec_pora_quality(i, seed, pad, load + i * CODEC_SEAL_SIZE, one) == 0;
			same &= memcmp(one, q[i], 32) == 0;
		} else {
			same &= q[i][0] == 0xee && q[i][31] == 0xee;
		}
	}
	ok(same, "load qualities: each available unit as codec_pora_quality, the rest untouched");
	ok(codec_pora_quality(64, seed, pad, load, one) == -EINVAL, "seal offset 64: -EINVAL");
}

static void check_targets(void)
{
	uint8_t t[32], next[32], scale[32], bound[32], small[32] = {0}, q[32];

	ok(codec_pora_initial_target(0, t) == -EINVAL &&
	       codec_pora_next_target(t, 5, 5, 0, 0, next) == -EINVAL,
	   "difficulty 0 and ratio 0: -EINVAL");
	small[31] = 1;
	ok(codec_pora_scale_x64(1 << 20, ~0ULL, scale) == 0 &&
	       codec_pora_target_bound(t, small, bound) == -EINVAL,
	   "a scale below 2^64: -EINVAL");
	ok(codec_pora_scale_x64(3, ~3ULL, scale) == -ERANGE &&
	       codec_pora_scale_x64(4, 0, scale) == -ERANGE,
	   "scaleX64 of a flow shorter than its shard count: -ERANGE");
	/* one unsharded miner: scale 1.0, bound = target with its low 64 bits cleared */
	ok(codec_pora_initial_target(1, t) == 0 &&
	       codec_pora_scale_x64(1 << 20, ~0ULL, scale) == 0 &&
	       codec_pora_target_bound(t, scale, bound) == 0 && bound[23] == 0xff &&
	       bound[24] == 0 && bound[31] == 0,
	   "scale 1.0 keeps the target but its low 64 bits");
	memset(q, 0, sizeof(q));
	ok(codec_pora_meets_target(q, bound) && !codec_pora_meets_target(t, bound) &&
	       codec_pora_meets_target(bound, bound),
	   "the target test is quality <= bound");
	/* ratio 1: the target moves all the way, but at most by 2x each epoch */
	memset(t, 0xff, sizeof(t));
	ok(codec_pora_next_target(t, 5, 100, 1, 0, next) == 0 && next[0] == 0x7f &&
	       next[29] == 0xff && next[30] == 0 && next[31] == 0,
	   "far too many answers halve the target (without its low 16 bits), no more");
	ok(codec_pora_next_target(next, 5, 0, 1, 0, t) == 0 && t[0] == 0xff && t[29] == 0xfe &&
	       t[30] == 0 && t[31] == 0,
	   "none double it, no more");
	ok(codec_pora_next_target(next, 5, 5, 20, 0, t) == 0 && memcmp(t, next, 32) == 0,
	   "as many answers as targeted keep it");
}

int main(void)
{
	for (size_t i = 0; i < N_IMPLS; i++) {
		if (codec_keccak_select(impl_names[i]) == -ENOTSUP) {
			ok(1, "%s kernel # SKIP not supported by this CPU", impl_names[i]);
			continue;
		}
		tap_seed(0x706f7261);
		check_rows(impl_names[i]);
		check_fast_against_ref(impl_names[i]);
		check_pads_against_ref(impl_names[i]);
	}
	codec_keccak_select(NULL);
	check_ref_on_rows();
	check_seal_errors();
	check_ranges();
	check_mine_spec_ranges();
	check_try();
	check_targets();
	return tap_done();
}
