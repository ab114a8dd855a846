/*
 * pora_rows.c - one vector row through codec/pora.h. Inputs are parsed strictly (a field
 * that is not what its column says makes the row malformed), so that a format drift
 * between the reference and this file fails loudly instead of comparing garbage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/hex.h"
#include "codec/pora.h"
#include "tests/pora_rows.h"

#define MAX_FIELDS 16

struct out {
	char *p;
	size_t cap, len;
	int err;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->err)
		return;
	if (o->len + n + 2 > o->cap) {
		o->err = -E2BIG;
		return;
	}
	if (o->len)
		o->p[o->len++] = '\t';
	memcpy(o->p + o->len, s, n + 1);
	o->len += n;
}

static void put_hex(struct out *o, const uint8_t *b, size_t n)
{
	char buf[2 * CODEC_SEAL_SIZE + 3];

	codec_hex_encode(b, n, buf);
	put(o, buf);
}

static void put_u64(struct out *o, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	put(o, buf);
}

/* Decimal, no sign, no leading garbage, fits in 64 bits. */
static int get_u64(const char *s, uint64_t *ret)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

struct fields {
	char *f[MAX_FIELDS];
	int n;
	int err;
};

static const char *field(struct fields *fs, int i)
{
	if (i >= fs->n) {
		fs->err = -EINVAL;
		return "";
	}
	return fs->f[i];
}

static uint64_t u64_at(struct fields *fs, int i)
{
	uint64_t v = 0;

	if (get_u64(field(fs, i), &v))
		fs->err = -EINVAL;
	return v;
}

static void bytes_at(struct fields *fs, int i, uint8_t *b, size_t n)
{
	if (codec_hex_decode(field(fs, i), b, n))
		fs->err = -EINVAL;
}

static void range_at(struct fields *fs, int i, struct codec_pora_range *r)
{
	r->start_position = u64_at(fs, i);
	r->mine_length = u64_at(fs, i + 1);
	r->shard_id = u64_at(fs, i + 2);
	r->shard_mask = u64_at(fs, i + 3);
}

static void row_seal(struct fields *fs, struct out *o)
{
	uint8_t miner[32], ctx[32], unit[CODEC_SEAL_SIZE];
	uint64_t start = u64_at(fs, 3);

	bytes_at(fs, 1, miner, 32);
	bytes_at(fs, 2, ctx, 32);
	bytes_at(fs, 4, unit, sizeof(unit));
	if (fs->err || codec_seal_units(unit, 1, miner, ctx, start))
		put(o, "-");
	else
		put_hex(o, unit, sizeof(unit));
}

static void row_miner(struct fields *fs, struct out *o)
{
	uint8_t block[32], sender[20], id[32];
	uint64_t seed = u64_at(fs, 3);

	bytes_at(fs, 1, block, 32);
	bytes_at(fs, 2, sender, 20);
	codec_pora_miner_id(block, sender, seed, id);
	put_hex(o, id, 32);
}

static void row_subtask(struct fields *fs, struct out *o)
{
	uint8_t block[32], root[32], miner[32], start_hash[32], ctx[32], digest[32];
	uint64_t flow = u64_at(fs, 3), n = u64_at(fs, 5), mine_start = u64_at(fs, 6);
	uint64_t interval = u64_at(fs, 7), index, start;

	bytes_at(fs, 1, block, 32);
	bytes_at(fs, 2, root, 32);
	bytes_at(fs, 4, miner, 32);
	bytes_at(fs, 8, start_hash, 32);
	codec_pora_context_digest(block, root, flow, ctx);
	put_hex(o, ctx, 32);
	if (codec_pora_subtask(ctx, miner, n, mine_start, interval, &index, &start) == 0) {
		put_u64(o, index);
		put_u64(o, start);
	} else {
		put(o, "-");
		put(o, "-");
	}
	codec_pora_subtask_digest(ctx, start_hash, digest);
	put_hex(o, digest, 32);
}

static void row_range(struct fields *fs, struct out *o)
{
	struct codec_pora_range r;
	uint8_t digest[32];

	if (codec_pora_range_make(u64_at(fs, 1), u64_at(fs, 2), u64_at(fs, 3), u64_at(fs, 4), &r)) {
		for (int i = 0; i < 4; i++)
			put(o, "-");
		return;
	}
	codec_pora_range_digest(&r, digest);
	put_u64(o, r.start_position);
	put_u64(o, r.mine_length);
	put_u64(o, r.shard_mask);
	put_hex(o, digest, 32);
}

static void row_check(struct fields *fs, struct out *o)
{
	struct codec_pora_range r;

	range_at(fs, 1, &r);
	put(o, codec_pora_range_check(&r, u64_at(fs, 5), u64_at(fs, 6)) ? "fail" : "pass");
}

/* One try on one seal unit: everything the miner and the contract compute for it. */
static void row_try(struct fields *fs, struct out *o)
{
	static uint8_t pad[CODEC_PORA_PAD_SIZE]; /* the tests are single-threaded */
	uint8_t miner[32], nonce[32], sub[32], target[32], sealed[CODEC_SEAL_SIZE];
	uint8_t rd[32], seed[CODEC_PORA_PAD_SEED_SIZE], pad_hash[32], recall[32], q[32];
	uint8_t scale[32], bound[32];
	struct codec_pora_range r;
	uint64_t flow = u64_at(fs, 8), offset = u64_at(fs, 10), load;

	bytes_at(fs, 1, miner, 32);
	bytes_at(fs, 2, nonce, 32);
	bytes_at(fs, 3, sub, 32);
	range_at(fs, 4, &r);
	bytes_at(fs, 9, target, 32);
	bytes_at(fs, 11, sealed, sizeof(sealed));
	if (fs->err || offset >= CODEC_PORA_SEALS_PER_LOAD) {
		fs->err = -EINVAL;
		return;
	}
	codec_pora_range_digest(&r, rd);
	codec_pora_pad_seed(miner, nonce, sub, rd, seed);
	codec_pora_scratchpad(seed, pad, recall);
	codec_keccak256(pad, sizeof(pad), pad_hash);
	put_hex(o, rd, 32);
	put_hex(o, seed, sizeof(seed));
	put_hex(o, pad_hash, 32);
	put_hex(o, recall, 32);
	if (codec_pora_recall_position(&r, recall, &load) == 0) {
		put_u64(o, load);
		put_u64(o, load + offset * CODEC_SEAL_SECTORS);
	} else {
		put(o, "-");
		put(o, "-");
	}
	(void)codec_pora_quality((unsigned)offset, seed, pad, sealed, q);
	put_hex(o, q, 32);
	if (codec_pora_scale_x64(flow, r.shard_mask, scale) ||
	    codec_pora_target_bound(target, scale, bound)) {
		put(o, "-");
		put(o, "-");
		put(o, "-");
		return;
	}
	put_hex(o, scale, 32);
	put_hex(o, bound, 32);
	put(o, codec_pora_meets_target(q, bound) ? "1" : "0");
}

static void row_target(struct fields *fs, struct out *o)
{
	uint8_t target[32], next[32];

	bytes_at(fs, 1, target, 32);
	if (codec_pora_next_target(target, u64_at(fs, 2), u64_at(fs, 3), u64_at(fs, 4),
				   u64_at(fs, 5), next))
		put(o, "-");
	else
		put_hex(o, next, 32);
}

static void row_initial(struct fields *fs, struct out *o)
{
	uint8_t target[32];

	if (codec_pora_initial_target(u64_at(fs, 1), target))
		put(o, "-");
	else
		put_hex(o, target, 32);
}

static const struct kind {
	const char *name;
	int inputs;
	void (*fn)(struct fields *, struct out *);
} kinds[] = {
    {"seal", 4, row_seal},     {"miner", 3, row_miner},	    {"subtask", 8, row_subtask},
    {"range", 4, row_range},   {"check", 6, row_check},	    {"try", 11, row_try},
    {"target", 5, row_target}, {"initial", 1, row_initial},
};

int pora_row(char *line, char *out, size_t cap)
{
	struct fields fs = {.n = 0};
	struct out o = {.p = out, .cap = cap};
	char *save = NULL;

	for (char *t = strtok_r(line, "\t\r\n", &save); t && fs.n < MAX_FIELDS;
	     t = strtok_r(NULL, "\t\r\n", &save))
		fs.f[fs.n++] = t;
	if (fs.n == 0)
		return -EINVAL;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (strcmp(fs.f[0], kinds[k].name))
			continue;
		if (fs.n < 1 + kinds[k].inputs)
			return -EINVAL;
		fs.n = 1 + kinds[k].inputs; /* outputs on the line are not read */
		for (int i = 0; i < fs.n; i++)
			put(&o, fs.f[i]);
		kinds[k].fn(&fs, &o);
		return fs.err ? fs.err : o.err;
	}
	return -EINVAL;
}
