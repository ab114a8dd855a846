/*
 * poratool - test helper: PoRA vector rows computed by codec/pora.h (tests/pora_rows.c),
 * for tests/compat/pora_ref.js.
 *
 *   poratool rows          one row per input line (kind and inputs; outputs are ignored):
 *                          print the row with the outputs computed here
 *   poratool gen SEED N    print N rows of random inputs drawn here from SEED, with outputs
 *
 * Exit 0, or 2 for a malformed line or usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/hex.h"
#include "codec/pora.h"
#include "tests/pora_rows.h"
#include "tests/tap.h"

static char line[PORA_ROW_MAX], row[PORA_ROW_MAX];

static int emit(void)
{
	int r = pora_row(line, row, sizeof(row));

	if (r < 0) {
		fprintf(stderr, "poratool: malformed row: %s\n", strerror(-r));
		return 2;
	}
	puts(row);
	return 0;
}

/* Appends "\t" and text to line. */
static void add(const char *text)
{
	size_t n = strlen(line);

	snprintf(line + n, sizeof(line) - n, "%s%s", n ? "\t" : "", text);
}

static void add_u64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	add(buf);
}

static void add_bytes(size_t n)
{
	uint8_t b[CODEC_SEAL_SIZE];
	char h[2 * CODEC_SEAL_SIZE + 3];

	tap_fill(b, n);
	codec_hex_encode(b, n, h);
	add(h);
}

/* A value whose bit length is itself random, so that small ones are as common as large. */
static uint64_t rand_bits(void)
{
	unsigned w = (unsigned)(tap_rand() % 65);

	return w == 0 ? 0 : tap_rand() >> (64 - w);
}

/*
 * A 256-bit target: all ones or random, shifted right by a few bits (so that some tries
 * win) or by any amount.
 */
static void add_target(void)
{
	uint8_t t[32];
	char h[67];
	unsigned shift = (unsigned)(tap_rand() % (tap_rand() % 2 ? 4 : 256));

	memset(t, 0xff, sizeof(t));
	if (tap_rand() % 3 == 0)
		tap_fill(t, sizeof(t));
	for (unsigned i = 0; i < 32; i++) {
		if (8 * (i + 1) <= shift)
			t[i] = 0;
		else if (8 * i < shift)
			t[i] &= (uint8_t)(0xff >> (shift - 8 * i));
	}
	codec_hex_encode(t, sizeof(t), h);
	add(h);
}

static uint64_t rand_shards(void)
{
	return 1ULL << (tap_rand() % 7); /* 1 .. 64 */
}

static void gen_range_inputs(struct codec_pora_range *r, uint64_t *flow)
{
	uint64_t n = rand_shards();

	*flow = (tap_rand() >> (12 + tap_rand() % 48)) + CODEC_PORA_LOAD_SECTORS;
	if (codec_pora_range_make(*flow, tap_rand() % 2 ? tap_rand() : 0, tap_rand() % n, n, r))
		abort(); /* flow ≥ one load and a valid shard: cannot fail */
}

static void gen_seal(void)
{
	add("seal");
	add_bytes(32);
	add_bytes(32);
	add_u64((tap_rand() >> (tap_rand() % 64)) & ~(uint64_t)(CODEC_SEAL_SECTORS - 1));
	add_bytes(CODEC_SEAL_SIZE);
}

static void gen_miner(void)
{
	add("miner");
	add_bytes(32);
	add_bytes(20);
	add_u64(rand_bits());
}

static void gen_subtask(void)
{
	add("subtask");
	add_bytes(32);
	add_bytes(32);
	add_u64(rand_bits());
	add_bytes(32);
	add_u64(1 + rand_bits() % 4096);
	add_u64(rand_bits() >> 8);
	add_u64(rand_bits() >> 16);
	add_bytes(32);
}

static void gen_range(void)
{
	uint64_t n = tap_rand() % 8 ? rand_shards() : tap_rand() % 9; /* some invalid counts */

	add("range");
	add_u64(rand_bits());
	add_u64(rand_bits());
	add_u64(n ? tap_rand() % (n + 1) : 0);
	add_u64(n);
}

/* A range a node makes, as it is or broken one way. */
static void gen_check(void)
{
	struct codec_pora_range r;
	uint64_t flow;

	gen_range_inputs(&r, &flow);
	switch (tap_rand() % 6) {
	case 1:
		r.start_position += CODEC_PORA_PRICING_SECTORS / 2;
		break;
	case 2:
		r.mine_length += CODEC_PORA_LOAD_SECTORS;
		break;
	case 3:
		r.mine_length -= CODEC_PORA_LOAD_SECTORS;
		break;
	case 4:
		r.shard_id |= 1ULL << (tap_rand() % 64);
		break;
	case 5:
		flow = rand_bits();
		break;
	}
	add("check");
	add_u64(r.start_position);
	add_u64(r.mine_length);
	add_u64(r.shard_id);
	add_u64(r.shard_mask);
	add_u64(flow);
	add_u64(tap_rand() % 4 ? 32 : 1ULL << (tap_rand() % 7));
}

static void gen_try(void)
{
	struct codec_pora_range r;
	uint64_t flow;

	gen_range_inputs(&r, &flow);
	if (tap_rand() % 8 == 0)
		r.shard_id = tap_rand() & ~r.shard_mask & 0xff; /* maybe past the range */
	add("try");
	add_bytes(32);
	add_bytes(32);
	add_bytes(32);
	add_u64(r.start_position);
	add_u64(r.mine_length);
	add_u64(r.shard_id);
	add_u64(r.shard_mask);
	add_u64(tap_rand() % 4 ? flow : rand_bits());
	add_target();
	add_u64(tap_rand() % CODEC_PORA_SEALS_PER_LOAD);
	add_bytes(CODEC_SEAL_SIZE);
}

static void gen_target(void)
{
	add("target");
	add_target();
	add_u64(1 + rand_bits() % 64);
	add_u64(rand_bits() % 128);
	add_u64(tap_rand() % 4 ? CODEC_PORA_ADJUST_RATIO : rand_bits());
	add_u64(rand_bits() % 3 ? 0 : rand_bits());
}

static void gen_initial(void)
{
	add("initial");
	add_u64(rand_bits());
}

static void (*const gens[])(void) = {gen_seal,	gen_miner, gen_subtask, gen_range,
				     gen_check, gen_try,   gen_target,	gen_initial};

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "rows") == 0) {
		while (fgets(line, sizeof(line), stdin)) {
			if (line[0] == '#' || line[0] == '\n')
				continue;
			if (emit())
				return 2;
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "gen") == 0) {
		long n = strtol(argv[3], NULL, 10);

		tap_seed(strtoull(argv[2], NULL, 0));
		for (long i = 0; i < n; i++) {
			line[0] = 0;
			gens[i % (long)(sizeof(gens) / sizeof(gens[0]))]();
			if (emit())
				return 2;
		}
		return 0;
	}
	fprintf(stderr, "usage: poratool rows < ROWS | poratool gen SEED N\n");
	return 2;
}
