/*
 * test_rs.c - Reed–Solomon (codec/rs.h): the fast encoder against ISA-L's reference
 * encoder, reconstruction from every erasure pattern of small codes and random patterns
 * of large ones, and the -EINVAL cases that must leave the shards untouched. Shards are
 * allocated at their exact length, so a sanitizer build catches any write past the end.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/rs.h"
#include "tests/tap.h"

struct set {
	unsigned k, m, n;
	size_t len;
	uint8_t *sh[CODEC_RS_MAX_SHARDS];   /* the shards handed to the code */
	uint8_t *want[CODEC_RS_MAX_SHARDS]; /* what they should hold */
};

/* Lengths around the kernels' 16/32/64-byte steps, plus a few larger ones. */
/* clang-format off */
static const size_t lengths[] = {
	1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 127, 128, 129, 1000, 4096, 4133,
};
/* clang-format on */
#define NLENGTHS (sizeof(lengths) / sizeof(lengths[0]))

static void fill(uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint64_t r = tap_rand();

		memcpy(p, &r, 8);
		p += 8;
		len -= 8;
	}
	if (len)
		tap_fill(p, len);
}

static void set_free(struct set *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		free(s->sh[i]);
		free(s->want[i]);
		s->sh[i] = s->want[i] = NULL;
	}
}

/* Random data shards, parity from the fast encoder, a copy of all of them in want. */
static void set_make(struct set *s, const struct codec_rs *rs, size_t len)
{
	set_free(s);
	s->len = len;
	for (unsigned i = 0; i < s->n; i++) {
		s->sh[i] = malloc(len);
		s->want[i] = malloc(len);
		if (!s->sh[i] || !s->want[i]) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
		fill(s->sh[i], len);
	}
	codec_rs_encode(rs, len, (const uint8_t *const *)s->sh, s->sh + s->k);
	for (unsigned i = 0; i < s->n; i++)
		memcpy(s->want[i], s->sh[i], len);
}

/* Index of the first shard that differs from want, or -1. */
static int set_diff(const struct set *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (memcmp(s->sh[i], s->want[i], s->len))
			return (int)i;
	return -1;
}

static void fmt_lost(char *buf, size_t size, const unsigned *lost, unsigned nlost)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < nlost && pos + 12 < size; i++)
		pos += (size_t)snprintf(buf + pos, size - pos, "%s%u", i ? "," : "", lost[i]);
}

/* Scribble over the lost shards, rebuild, compare everything. Returns true when good. */
static bool try_lost(const struct codec_rs *rs, struct set *s, const unsigned *lost, unsigned nlost,
		     bool *reported)
{
	char buf[1024];
	int err, bad;

	for (unsigned i = 0; i < nlost; i++)
		fill(s->sh[lost[i]], s->len);
	err = codec_rs_reconstruct(rs, s->len, s->sh, lost, nlost);
	bad = err ? -1 : set_diff(s);
	if (!err && bad < 0)
		return true;
	if (!*reported) {
		fmt_lost(buf, sizeof(buf), lost, nlost);
		diag("k=%u m=%u len=%zu lost {%s}: err %d, first wrong shard %d", s->k, s->m,
		     s->len, buf, err, bad);
		*reported = true;
	}
	for (unsigned i = 0; i < s->n; i++)
		memcpy(s->sh[i], s->want[i], s->len);
	return false;
}

/* n distinct random indices below n_all, in random order. */
static void pick_lost(unsigned *lost, unsigned nlost, unsigned n_all)
{
	unsigned perm[CODEC_RS_MAX_SHARDS];

	for (unsigned i = 0; i < n_all; i++)
		perm[i] = i;
	for (unsigned i = 0; i < nlost; i++) {
		unsigned j = i + (unsigned)(tap_rand() % (n_all - i));
		unsigned t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
		lost[i] = perm[i];
	}
}

static void check_encode(const struct codec_rs *rs, struct set *s)
{
	uint8_t *base[CODEC_RS_MAX_SHARDS];
	unsigned count = 0;
	bool good = true;

	for (unsigned t = 0; t < NLENGTHS + 6 && good; t++) {
		size_t len = t < NLENGTHS ? lengths[t] : 1 + tap_rand() % 9000;

		set_make(s, rs, len);
		for (unsigned i = 0; i < s->m; i++) {
			base[i] = malloc(len);
			fill(base[i], len);
		}
		codec_rs_encode_base(rs, len, (const uint8_t *const *)s->sh, base);
		for (unsigned i = 0; i < s->m && good; i++) {
			if (memcmp(base[i], s->sh[s->k + i], len)) {
				diag("len=%zu: parity %u differs between encode and encode_base",
				     len, i);
				good = false;
			}
		}
		for (unsigned i = 0; i < s->m; i++)
			free(base[i]);
		/* Encoding again over stale parity gives the same bytes: nothing is
		 * accumulated into the output. */
		if (good) {
			for (unsigned i = s->k; i < s->n; i++)
				fill(s->sh[i], len);
			codec_rs_encode(rs, len, (const uint8_t *const *)s->sh, s->sh + s->k);
			if (set_diff(s) >= 0) {
				diag("len=%zu: encode over stale parity differs", len);
				good = false;
			}
		}
		count++;
	}
	ok(good, "k=%u m=%u: encode == encode_base over %u lengths", s->k, s->m, count);
}

static void check_reconstruct(const struct codec_rs *rs, struct set *s)
{
	unsigned lost[CODEC_RS_MAX_SHARDS];
	unsigned count = 0, failed = 0;
	bool reported = false;

	if (s->n <= 14) {
		/* Small codes: every pattern of 1..m lost shards, on a few lengths. */
		for (unsigned li = 0; li < NLENGTHS; li += 4) {
			set_make(s, rs, lengths[li]);
			for (uint32_t mask = 1; mask < (1u << s->n); mask++) {
				unsigned nlost = 0;

				for (unsigned i = 0; i < s->n; i++)
					if (mask & (1u << i))
						lost[nlost++] = i;
				if (nlost > s->m)
					continue;
				/* Reverse order on odd masks: the order of lost must not matter. */
				if (mask & 1)
					for (unsigned i = 0; i < nlost / 2; i++) {
						unsigned t = lost[i];

						lost[i] = lost[nlost - 1 - i];
						lost[nlost - 1 - i] = t;
					}
				failed += !try_lost(rs, s, lost, nlost, &reported);
				count++;
			}
		}
		ok(!failed, "k=%u m=%u: every pattern of 1..m lost rebuilt, %u cases (%u failed)",
		   s->k, s->m, count, failed);
		return;
	}

	/* Large codes: the all-data, all-parity and first/last-m patterns, then random
	 * patterns cycling through every count 1..m. */
	set_make(s, rs, 1 + tap_rand() % 5000);
	for (unsigned i = 0; i < s->m; i++)
		lost[i] = s->n - 1 - i;
	failed += !try_lost(rs, s, lost, s->m, &reported);
	for (unsigned i = 0; i < s->m; i++)
		lost[i] = i;
	failed += !try_lost(rs, s, lost, s->m, &reported);
	count += 2;
	if (s->k >= s->m) {
		for (unsigned i = 0; i < s->m; i++)
			lost[i] = s->k - 1 - i;
		failed += !try_lost(rs, s, lost, s->m, &reported);
		count++;
	}
	for (unsigned t = 0; t < 120; t++) {
		unsigned nlost = 1 + t % s->m;

		if (t % 8 == 0)
			set_make(s, rs,
				 t % 16 ? lengths[tap_rand() % NLENGTHS] : 1 + tap_rand() % 5000);
		pick_lost(lost, nlost, s->n);
		failed += !try_lost(rs, s, lost, nlost, &reported);
		count++;
	}
	ok(!failed, "k=%u m=%u: %u random erasure patterns of 1..m rebuilt (%u failed)", s->k, s->m,
	   count, failed);
}

static void check_refused(const struct codec_rs *rs, struct set *s)
{
	unsigned lost[CODEC_RS_MAX_SHARDS + 1];
	bool good = true;
	int err, bad;

	set_make(s, rs, 77);

	/* m + 1 lost (always possible: k >= 1). */
	pick_lost(lost, s->m + 1, s->n);
	for (unsigned i = 0; i < s->m + 1; i++)
		fill(s->sh[lost[i]], s->len);
	for (unsigned i = 0; i < s->n; i++)
		memcpy(s->want[i], s->sh[i], s->len);
	err = codec_rs_reconstruct(rs, s->len, s->sh, lost, s->m + 1);
	bad = set_diff(s);
	if (err != -EINVAL || bad >= 0) {
		diag("m+1 lost: err %d (want %d), shard %d changed", err, -EINVAL, bad);
		good = false;
	}

	/* A repeated index, with the count within m. */
	if (s->m >= 2) {
		pick_lost(lost, s->m, s->n);
		lost[s->m - 1] = lost[0];
		err = codec_rs_reconstruct(rs, s->len, s->sh, lost, s->m);
		bad = set_diff(s);
		if (err != -EINVAL || bad >= 0) {
			diag("repeated index: err %d, shard %d changed", err, bad);
			good = false;
		}
	}

	/* Out of range, as the last entry so that the valid ones come first. */
	pick_lost(lost, s->m, s->n);
	lost[s->m - 1] = s->n;
	err = codec_rs_reconstruct(rs, s->len, s->sh, lost, s->m);
	lost[s->m - 1] = UINT_MAX;
	err = err == -EINVAL ? codec_rs_reconstruct(rs, s->len, s->sh, lost, s->m) : err;
	bad = set_diff(s);
	if (err != -EINVAL || bad >= 0) {
		diag("index out of range: err %d, shard %d changed", err, bad);
		good = false;
	}

	/* Nothing lost, or zero-length shards: nothing to do, success. */
	lost[0] = 0;
	err = codec_rs_reconstruct(rs, s->len, s->sh, lost, 0);
	if (!err)
		err = codec_rs_reconstruct(rs, 0, s->sh, lost, 1);
	bad = set_diff(s);
	if (err || bad >= 0) {
		diag("nlost 0 / len 0: err %d, shard %d changed", err, bad);
		good = false;
	}

	ok(good,
	   "k=%u m=%u: m+1 lost, repeated and out-of-range indices -> -EINVAL, "
	   "shards unchanged",
	   s->k, s->m);
}

/* One plan, built once, rebuilds the same loss in several different shard sets. */
static void check_plan(const struct codec_rs *rs, struct set *s)
{
	unsigned lost[CODEC_RS_MAX_SHARDS], nlost = 1 + (unsigned)(tap_rand() % s->m);
	struct codec_rs_plan *plan = NULL;
	unsigned failed = 0;
	int err;

	pick_lost(lost, nlost, s->n);
	err = codec_rs_plan_new(rs, lost, nlost, &plan);
	if (!ok(err == 0, "k=%u m=%u: codec_rs_plan_new, %u lost", s->k, s->m, nlost))
		return;
	for (unsigned t = 0; t < 4; t++) {
		set_make(s, rs, lengths[tap_rand() % NLENGTHS]);
		for (unsigned i = 0; i < nlost; i++)
			fill(s->sh[lost[i]], s->len);
		codec_rs_plan_apply(plan, s->len, s->sh);
		failed += set_diff(s) >= 0;
	}
	codec_rs_plan_free(plan);
	ok(!failed, "k=%u m=%u: one plan rebuilds 4 shard sets (%u wrong)", s->k, s->m, failed);
}

/* codec_rs_parity_byte() gives every byte of every parity shard that the encoder wrote. */
static void check_parity_byte(const struct codec_rs *rs, struct set *s)
{
	uint8_t col[CODEC_RS_MAX_SHARDS];
	const size_t len = 97;
	bool good = true;

	set_make(s, rs, len);
	for (size_t b = 0; b < len && good; b++) {
		for (unsigned d = 0; d < s->k; d++)
			col[d] = s->sh[d][b];
		for (unsigned j = s->k; j < s->n && good; j++)
			good = codec_rs_parity_byte(s->k, j, col) == s->sh[j][b];
	}
	ok(good, "k=%u m=%u: codec_rs_parity_byte() is every parity byte the encoder wrote", s->k,
	   s->m);
}

static void check_code(unsigned k, unsigned m)
{
	struct codec_rs *rs = NULL;
	struct set s = {.k = k, .m = m, .n = k + m};
	int err = codec_rs_new(k, m, &rs);

	if (!ok(!err && rs, "k=%u m=%u: codec_rs_new", k, m)) {
		diag("err %d", err);
		return;
	}
	check_encode(rs, &s);
	check_parity_byte(rs, &s);
	check_reconstruct(rs, &s);
	check_plan(rs, &s);
	check_refused(rs, &s);
	set_free(&s);
	codec_rs_free(rs);
}

static void check_params(void)
{
	/* k or m zero, k + m over 256, and sums that wrap an unsigned. */
	/* clang-format off */
	static const unsigned bad[][2] = {
		{0, 0}, {0, 1}, {1, 0}, {256, 1}, {1, 256}, {128, 129}, {129, 128}, {256, 0},
		{257, 0}, {UINT_MAX, 1},
		{1, UINT_MAX}, {UINT_MAX, UINT_MAX}, {2, UINT_MAX - 1},
	};
	/* clang-format on */
	struct codec_rs *sentinel = (struct codec_rs *)&sentinel, *rs;
	bool good = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err;

		rs = sentinel;
		err = codec_rs_new(bad[i][0], bad[i][1], &rs);
		if (err != -EINVAL || rs != sentinel) {
			diag("k=%u m=%u: err %d, ret_rs %s", bad[i][0], bad[i][1], err,
			     rs == sentinel ? "untouched" : "written");
			good = false;
			if (rs != sentinel)
				codec_rs_free(rs);
		}
	}
	ok(good, "bad k, m -> -EINVAL, ret_rs untouched");
	codec_rs_free(NULL);
	ok(1, "codec_rs_free(NULL)");
}

int main(void)
{
	static const unsigned codes[][2] = {
	    {1, 1}, {4, 2}, {10, 4}, {2, 12}, {16, 16}, {200, 55}, {254, 1}, {1, 254},
	    {255, 1}, {1, 255}, {128, 128},
	};

	tap_seed(0x5eed0f25u);
	check_params();
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		check_code(codes[i][0], codes[i][1]);
	return tap_done();
}
