/*
 * PoRA without the sealing: miner id, context and subtask digests, recall ranges, the
 * scratchpad, recall positions, quality and the target arithmetic. BLAKE2b-512 is
 * libsodium's crypto_generichash (unkeyed, 64-byte digest), which is the BLAKE2b of 0G's
 * node and of the EVM precompile the contract calls.
 *
 * The contract computes in uint256. The few 256-bit operations needed here (compare,
 * shifts, a remainder by a 64-bit divisor, a division, a product by a 64-bit factor) live
 * at the top of this file on little-endian 64-bit limbs; nothing else in codec needs them.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "codec/endian.h"
#include "codec/pora.h"

/* -pedantic rejects a bare __int128; __extension__ marks the use as intended. */
__extension__ typedef unsigned __int128 u128;

/* ---- 256-bit integers: v[0] is the least significant limb ---- */

struct u256 {
	uint64_t v[4];
};

static struct u256 u256_from_be(const uint8_t b[32])
{
	struct u256 a;

	for (int i = 0; i < 4; i++)
		a.v[i] = codec_get_be64(b + 8 * (3 - i));
	return a;
}

static void u256_to_be(const struct u256 *a, uint8_t b[32])
{
	for (int i = 0; i < 4; i++)
		codec_put_be64(b + 8 * (3 - i), a->v[i]);
}

static struct u256 u256_from_u64(uint64_t x)
{
	return (struct u256){{x, 0, 0, 0}};
}

static const struct u256 u256_max = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};

static int u256_cmp(const struct u256 *a, const struct u256 *b)
{
	for (int i = 3; i >= 0; i--)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i] ? -1 : 1;
	return 0;
}

/* a << k, bits above 2^256 dropped (Solidity's shift), k < 256. */
static struct u256 u256_shl(struct u256 a, unsigned k)
{
	struct u256 r = {{0}};

	for (int i = 3; i >= 0; i--) {
		int from = i - (int)(k / 64);

		if (from < 0)
			continue;
		r.v[i] = a.v[from] << (k % 64);
		if (k % 64 && from > 0)
			r.v[i] |= a.v[from - 1] >> (64 - k % 64);
	}
	return r;
}

/* a >> k, k < 256. */
static struct u256 u256_shr(struct u256 a, unsigned k)
{
	struct u256 r = {{0}};

	for (int i = 0; i < 4; i++) {
		unsigned from = i + k / 64;

		if (from > 3)
			continue;
		r.v[i] = a.v[from] >> (k % 64);
		if (k % 64 && from < 3)
			r.v[i] |= a.v[from + 1] << (64 - k % 64);
	}
	return r;
}

/* a - b modulo 2^256. */
static struct u256 u256_sub(struct u256 a, const struct u256 *b)
{
	uint64_t borrow = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t d = a.v[i] - b->v[i] - borrow;

		borrow = a.v[i] < b->v[i] || (a.v[i] == b->v[i] && borrow);
		a.v[i] = d;
	}
	return a;
}

/* a + b; -EOVERFLOW past 2^256 - 1. */
static int u256_add(struct u256 a, const struct u256 *b, struct u256 *ret)
{
	uint64_t carry = 0;

	for (int i = 0; i < 4; i++) {
		u128 s = (u128)a.v[i] + b->v[i] + carry;

		a.v[i] = (uint64_t)s;
		carry = (uint64_t)(s >> 64);
	}
	if (carry)
		return -EOVERFLOW;
	*ret = a;
	return 0;
}

/* a × m in five limbs, p[4] the most significant. */
static void u256_mul_u64(const struct u256 *a, uint64_t m, uint64_t p[5])
{
	uint64_t carry = 0;

	for (int i = 0; i < 4; i++) {
		u128 t = (u128)a->v[i] * m + carry;

		p[i] = (uint64_t)t;
		carry = (uint64_t)(t >> 64);
	}
	p[4] = carry;
}

/* a mod m, m > 0. */
static uint64_t u256_mod_u64(const struct u256 *a, uint64_t m)
{
	u128 r = 0;

	for (int i = 3; i >= 0; i--)
		r = ((r << 64) | a->v[i]) % m;
	return (uint64_t)r;
}

/* a / b by shift and subtract, b > 0. Only called once per context, never per try. */
static struct u256 u256_div(const struct u256 *a, const struct u256 *b)
{
	struct u256 q = {{0}}, r = {{0}};

	for (int bit = 255; bit >= 0; bit--) {
		bool carry = r.v[3] >> 63; /* r << 1 passes 2^256, so it is above b */

		r = u256_shl(r, 1);
		r.v[0] |= a->v[bit / 64] >> (bit % 64) & 1;
		if (carry || u256_cmp(&r, b) >= 0) {
			r = u256_sub(r, b); /* modulo 2^256, right also after a carry */
			q.v[bit / 64] |= 1ULL << (bit % 64);
		}
	}
	return q;
}

/* OpenZeppelin's Math.mulDiv(a, m, d), exact; -EOVERFLOW when the quotient needs > 256 bits. */
static int u256_mul_div_u64(const struct u256 *a, uint64_t m, uint64_t d, struct u256 *ret)
{
	uint64_t p[5];
	u128 r = 0;
	struct u256 q;

	u256_mul_u64(a, m, p);
	if (p[4] / d)
		return -EOVERFLOW;
	r = p[4] % d;
	for (int i = 3; i >= 0; i--) {
		u128 cur = (r << 64) | p[i];

		q.v[i] = (uint64_t)(cur / d);
		r = cur % d;
	}
	*ret = q;
	return 0;
}

/* ---- miner id, context, subtask ---- */

void codec_pora_miner_id(const uint8_t blockhash[32], const uint8_t sender[20], uint64_t seed,
			 uint8_t ret_id[32])
{
	uint8_t in[60];

	memcpy(in, blockhash, 32);
	memcpy(in + 32, sender, 20);
	codec_put_be64(in + 52, seed);
	codec_keccak256(in, sizeof(in), ret_id);
}

static void put_u256_u64(uint8_t out[32], uint64_t x)
{
	memset(out, 0, 24);
	codec_put_be64(out + 24, x);
}

void codec_pora_context_digest(const uint8_t blockhash[32], const uint8_t flow_root[32],
			       uint64_t flow_length, uint8_t ret_digest[32])
{
	uint8_t in[96];

	memcpy(in, blockhash, 32);
	memcpy(in + 32, flow_root, 32);
	put_u256_u64(in + 64, flow_length);
	codec_keccak256(in, sizeof(in), ret_digest);
}

/* keccak(a ‖ b) of two 32-byte words. */
static void hash_pair(const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
	uint8_t in[64];

	memcpy(in, a, 32);
	memcpy(in + 32, b, 32);
	codec_keccak256(in, sizeof(in), out);
}

int codec_pora_subtask(const uint8_t context[32], const uint8_t miner_id[32], uint64_t n_subtasks,
		       uint64_t mine_start, uint64_t interval, uint64_t *ret_index,
		       uint64_t *ret_start_block)
{
	uint8_t h[32];
	struct u256 x;
	uint64_t idx;

	if (n_subtasks == 0)
		return -EINVAL;
	hash_pair(context, miner_id, h);
	x = u256_from_be(h);
	idx = u256_mod_u64(&x, n_subtasks);
	if (idx && interval > (UINT64_MAX - mine_start) / idx)
		return -EOVERFLOW;
	*ret_index = idx;
	*ret_start_block = mine_start + idx * interval;
	return 0;
}

void codec_pora_subtask_digest(const uint8_t context[32], const uint8_t start_blockhash[32],
			       uint8_t ret_digest[32])
{
	hash_pair(context, start_blockhash, ret_digest);
}

/* ---- recall range ---- */

void codec_pora_range_digest(const struct codec_pora_range *r, uint8_t ret_digest[32])
{
	uint8_t in[128];

	put_u256_u64(in, r->start_position);
	put_u256_u64(in + 32, r->mine_length);
	put_u256_u64(in + 64, r->shard_id);
	put_u256_u64(in + 96, r->shard_mask);
	codec_keccak256(in, sizeof(in), ret_digest);
}

int codec_pora_shard_mask(uint64_t num_shards, uint64_t *ret_mask)
{
	if (num_shards == 0 || (num_shards & (num_shards - 1)))
		return -EINVAL;
	*ret_mask = ~(num_shards - 1);
	return 0;
}

int codec_pora_num_shards(uint64_t shard_mask, uint64_t *ret_num)
{
	/* RecallRangeLib.numShards counts the zero bits, wherever they are */
	if (shard_mask == 0)
		return -ERANGE;
	*ret_num = 1ULL << __builtin_popcountll(~shard_mask);
	return 0;
}

/* 2^35 × shards, saturating as 0G's node does (Rust's saturating_mul). */
static uint64_t max_mine_length(uint64_t num_shards)
{
	if (num_shards > UINT64_MAX / CODEC_PORA_MAX_MINE_SECTORS)
		return UINT64_MAX;
	return CODEC_PORA_MAX_MINE_SECTORS * num_shards;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int codec_pora_range_make(uint64_t flow_length, uint64_t start_hint, uint64_t shard_id,
			  uint64_t num_shards, struct codec_pora_range *ret_range)
{
	uint64_t mask, minable = flow_length / CODEC_PORA_LOAD_SECTORS * CODEC_PORA_LOAD_SECTORS;
	struct codec_pora_range r;

	if (codec_pora_shard_mask(num_shards, &mask) || shard_id >= num_shards)
		return -EINVAL;
	if (minable == 0)
		return -ENODATA;
	r.mine_length = min_u64(minable, max_mine_length(num_shards));
	r.start_position = min_u64(start_hint, minable - r.mine_length);
	r.start_position -= r.start_position % CODEC_PORA_PRICING_SECTORS;
	r.shard_id = shard_id;
	r.shard_mask = mask;
	*ret_range = r;
	return 0;
}

int codec_pora_range_check(const struct codec_pora_range *r, uint64_t flow_length,
			   uint64_t max_shards)
{
	uint64_t shards, max_len,
	    minable = flow_length / CODEC_PORA_LOAD_SECTORS * CODEC_PORA_LOAD_SECTORS;

	/* in PoraMine's order; the shard count is checked after RecallRangeLib.check */
	if (r->start_position % CODEC_PORA_PRICING_SECTORS)
		return -EINVAL;
	if (r->mine_length > minable || r->start_position > minable - r->mine_length)
		return -EINVAL;
	if (codec_pora_num_shards(r->shard_mask, &shards))
		return -EINVAL;
	max_len = max_mine_length(shards);
	if (r->mine_length > max_len || r->mine_length < min_u64(minable, max_len))
		return -EINVAL;
	if (r->shard_id & r->shard_mask)
		return -EINVAL;
	if (shards > max_shards)
		return -EINVAL;
	return 0;
}

/* ---- one try ---- */

/*
 * libsodium picks its fastest BLAKE2b compression (AVX2, SSSE3) in sodium_init(); before
 * that it runs the portable one, which gives the same digests more slowly. sodium_init()
 * is idempotent and thread-safe; the flag only saves its lock on every call.
 */
static void blake2b_ready(void)
{
	static int ready;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		int r = sodium_init();

		(void)r; /* -1 (its lock failed) leaves the portable BLAKE2b: same digests */
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
}

void codec_pora_pad_seed(const uint8_t miner_id[32], const uint8_t nonce[32],
			 const uint8_t subtask_digest[32], const uint8_t range_digest[32],
			 uint8_t ret_pad_seed[CODEC_PORA_PAD_SEED_SIZE])
{
	uint8_t in[128];

	memcpy(in, miner_id, 32);
	memcpy(in + 32, nonce, 32);
	memcpy(in + 64, subtask_digest, 32);
	memcpy(in + 96, range_digest, 32);
	blake2b_ready();
	crypto_generichash(ret_pad_seed, CODEC_PORA_PAD_SEED_SIZE, in, sizeof(in), NULL, 0);
}

void codec_pora_scratchpad(const uint8_t pad_seed[CODEC_PORA_PAD_SEED_SIZE],
			   uint8_t ret_pad[CODEC_PORA_PAD_SIZE], uint8_t ret_recall_seed[32])
{
	uint8_t d[CODEC_PORA_PAD_CELL], h[32];

	memcpy(d, pad_seed, sizeof(d));
	for (int k = 0; k < CODEC_PORA_PAD_SIZE / CODEC_PORA_PAD_CELL; k++) {
		codec_keccak256(d, sizeof(d), h);
		memcpy(d, h, 32);
		codec_keccak256(d, sizeof(d), h);
		memcpy(d + 32, h, 32);
		if (ret_pad)
			memcpy(ret_pad + k * CODEC_PORA_PAD_CELL, d, sizeof(d));
	}
	codec_keccak256(d, sizeof(d), ret_recall_seed);
}

/* Chains advanced together per batch call: two passes of AVX-512's 8 lanes, 1 KiB of state. */
#define PAD_GROUP 16

static void scratchpad_group(const uint8_t *seeds, size_t n, uint8_t *pads, uint8_t (*recall)[32])
{
	uint8_t d[PAD_GROUP][CODEC_PORA_PAD_CELL], h[PAD_GROUP][32];

	memcpy(d, seeds, n * CODEC_PORA_PAD_CELL);
	for (int k = 0; k < CODEC_PORA_PAD_SIZE / CODEC_PORA_PAD_CELL; k++) {
		for (int half = 0; half < 2; half++) {
			codec_keccak256_batch(&d[0][0], CODEC_PORA_PAD_CELL, CODEC_PORA_PAD_CELL, n,
					      h);
			for (size_t j = 0; j < n; j++)
				memcpy(d[j] + 32 * half, h[j], 32);
		}
		for (size_t j = 0; pads && j < n; j++)
			memcpy(pads + j * CODEC_PORA_PAD_SIZE + k * CODEC_PORA_PAD_CELL, d[j],
			       CODEC_PORA_PAD_CELL);
	}
	codec_keccak256_batch(&d[0][0], CODEC_PORA_PAD_CELL, CODEC_PORA_PAD_CELL, n, recall);
}

void codec_pora_scratchpads(const uint8_t *pad_seeds, size_t n, uint8_t *ret_pads,
			    uint8_t (*ret_recall_seeds)[32])
{
	for (size_t j = 0; j < n; j += PAD_GROUP)
		scratchpad_group(
		    pad_seeds + j * CODEC_PORA_PAD_SEED_SIZE, n - j < PAD_GROUP ? n - j : PAD_GROUP,
		    ret_pads ? ret_pads + j * CODEC_PORA_PAD_SIZE : NULL, ret_recall_seeds + j);
}

int codec_pora_recall_position(const struct codec_pora_range *r, const uint8_t recall_seed[32],
			       uint64_t *ret_position)
{
	uint64_t chunks = r->mine_length / CODEC_PORA_LOAD_SECTORS, chunk;
	struct u256 seed = u256_from_be(recall_seed);

	if (chunks == 0)
		return -ENODATA;
	chunk = (u256_mod_u64(&seed, chunks) & r->shard_mask) | r->shard_id;
	/* RecallRangeLib.recallChunk: chunk × 1024 ≤ mineLength (≤, as the contract has it) */
	if (chunk > r->mine_length / CODEC_PORA_LOAD_SECTORS)
		return -ERANGE;
	if (chunk * CODEC_PORA_LOAD_SECTORS > UINT64_MAX - r->start_position)
		return -ERANGE;
	*ret_position = r->start_position + chunk * CODEC_PORA_LOAD_SECTORS;
	return 0;
}

int codec_pora_quality(unsigned seal_offset, const uint8_t pad_seed[CODEC_PORA_PAD_SEED_SIZE],
		       const uint8_t pad[CODEC_PORA_PAD_SIZE],
		       const uint8_t sealed[CODEC_SEAL_SIZE], uint8_t ret_quality[32])
{
	const uint8_t *quarter;
	uint8_t head[128], mixed[CODEC_SEAL_SIZE], digest[64];
	crypto_generichash_state st;

	if (seal_offset >= CODEC_PORA_SEALS_PER_LOAD)
		return -EINVAL;
	quarter = pad + (seal_offset % CODEC_PORA_SEALS_PER_PAD) * CODEC_SEAL_SIZE;
	put_u256_u64(head, seal_offset);
	memcpy(head + 32, pad_seed, CODEC_PORA_PAD_SEED_SIZE);
	memset(head + 96, 0, 32);
	for (size_t i = 0; i < CODEC_SEAL_SIZE; i++)
		mixed[i] = sealed[i] ^ quarter[i];
	blake2b_ready();
	crypto_generichash_init(&st, NULL, 0, sizeof(digest));
	crypto_generichash_update(&st, head, sizeof(head));
	crypto_generichash_update(&st, mixed, sizeof(mixed));
	crypto_generichash_final(&st, digest, sizeof(digest));
	memcpy(ret_quality, digest, 32);
	return 0;
}

void codec_pora_load_qualities(const uint8_t load[CODEC_PORA_LOAD_SIZE], uint64_t available,
			       const uint8_t pad_seed[CODEC_PORA_PAD_SEED_SIZE],
			       const uint8_t pad[CODEC_PORA_PAD_SIZE], uint8_t (*ret_quality)[32])
{
	for (unsigned i = 0; i < CODEC_PORA_SEALS_PER_LOAD; i++)
		if (available >> i & 1)
			(void)codec_pora_quality(i, pad_seed, pad, load + i * CODEC_SEAL_SIZE,
						 ret_quality[i]);
}

/* ---- target and difficulty ---- */

int codec_pora_scale_x64(uint64_t flow_length, uint64_t shard_mask, uint8_t ret_scale[32])
{
	uint64_t shards, sharded;
	struct u256 num, den, q;

	if (codec_pora_num_shards(shard_mask, &shards))
		return -ERANGE;
	sharded = min_u64(flow_length / shards, CODEC_PORA_MAX_MINE_SECTORS);
	if (sharded == 0)
		return -ERANGE;
	num = u256_shl(u256_from_u64(min_u64(flow_length, CODEC_PORA_MAX_MINE_SECTORS)), 64);
	den = u256_from_u64(sharded);
	q = u256_div(&num, &den);
	u256_to_be(&q, ret_scale);
	return 0;
}

int codec_pora_target_bound(const uint8_t target[32], const uint8_t scale_x64[32],
			    uint8_t ret_bound[32])
{
	struct u256 t = u256_from_be(target), s = u256_from_be(scale_x64), q;

	if (!(s.v[1] | s.v[2] | s.v[3])) /* below 2^64: the shift could drop bits */
		return -EINVAL;
	q = u256_div(&t, &s);
	q = u256_shl(q, 64);
	u256_to_be(&q, ret_bound);
	return 0;
}

bool codec_pora_meets_target(const uint8_t quality[32], const uint8_t bound[32])
{
	/* big-endian bytes compare as the integers do */
	return memcmp(quality, bound, 32) <= 0;
}

int codec_pora_initial_target(uint64_t difficulty, uint8_t ret_target[32])
{
	struct u256 d = u256_from_u64(difficulty), q;

	if (difficulty == 0)
		return -EINVAL;
	q = u256_div(&u256_max, &d);
	u256_to_be(&q, ret_target);
	return 0;
}

int codec_pora_next_target(const uint8_t target[32], uint64_t target_submissions,
			   uint64_t submissions, uint64_t ratio, uint64_t min_difficulty,
			   uint8_t ret_target[32])
{
	struct u256 scaled = u256_shr(u256_from_be(target), 16), expected, adj, lim;
	uint64_t p[5];
	int ret;

	if (ratio == 0)
		return -EINVAL;
	if (submissions > 0) {
		ret = u256_mul_div_u64(&scaled, target_submissions, submissions, &expected);
		if (ret < 0)
			return ret;
	} else {
		expected = u256_shr(u256_max, 16);
	}
	/* (scaled × (ratio - 1) + expected) / ratio, each step checked as Solidity does */
	u256_mul_u64(&scaled, ratio - 1, p);
	if (p[4])
		return -EOVERFLOW;
	memcpy(adj.v, p, sizeof(adj.v));
	ret = u256_add(adj, &expected, &adj);
	if (ret < 0)
		return ret;
	ret = u256_mul_div_u64(&adj, 1, ratio, &adj);
	if (ret < 0)
		return ret;
	lim = u256_shl(scaled, 1); /* scaled < 2^240: no bit lost */
	if (u256_cmp(&adj, &lim) > 0)
		adj = lim;
	lim = u256_shr(scaled, 1);
	if (u256_cmp(&adj, &lim) < 0)
		adj = lim;
	lim = u256_shr(u256_max, 16);
	if (u256_cmp(&adj, &lim) > 0)
		adj = lim;
	adj = u256_shl(adj, 16);
	if (min_difficulty) {
		struct u256 d = u256_from_u64(min_difficulty);

		lim = u256_div(&u256_max, &d);
		if (u256_cmp(&adj, &lim) > 0)
			adj = lim;
	}
	u256_to_be(&adj, ret_target);
	return 0;
}
