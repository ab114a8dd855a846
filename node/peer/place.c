/*
 * place.c - shard and stripe placement (place.h). Pure arithmetic; the one subtle part is
 * the replica count over shards of mixed sizes, explained at node_shards_replicas().
 */
#include "node/peer/place.h"

#include "codec/merkle.h"
#include "codec/rs.h"

bool node_shard_valid(struct node_shard sh)
{
	return sh.num != 0 && (sh.num & (sh.num - 1)) == 0 && sh.id < sh.num;
}

bool node_shard_holds(struct node_shard sh, uint64_t seg)
{
	return node_shard_valid(sh) && seg % sh.num == sh.id;
}

bool node_shard_intersect(struct node_shard a, struct node_shard b)
{
	/* The class s ≡ a.id (mod a.num) contains the finer class of b iff the residues
	 * agree modulo the smaller count. */
	uint32_t n = a.num < b.num ? a.num : b.num;

	if (!node_shard_valid(a) || !node_shard_valid(b))
		return false;
	return a.id % n == b.id % n;
}

uint64_t node_place_start_seg(uint64_t start_sector)
{
	return start_sector / CODEC_SEGMENT_CHUNKS;
}

uint64_t node_place_nsegs(uint64_t start_sector, uint64_t size)
{
	uint64_t chunks = size / CODEC_CHUNK_SIZE + (size % CODEC_CHUNK_SIZE != 0);

	if (size == 0)
		return 0;
	return (start_sector + chunks - 1) / CODEC_SEGMENT_CHUNKS -
	       start_sector / CODEC_SEGMENT_CHUNKS + 1;
}

size_t node_place_seg_len(uint64_t size, uint64_t i)
{
	uint64_t off;

	if (i >= size / CODEC_SEGMENT_SIZE + 1)
		return 0;
	off = i * CODEC_SEGMENT_SIZE;
	if (off >= size)
		return 0;
	return size - off < CODEC_SEGMENT_SIZE ? (size_t)(size - off) : CODEC_SEGMENT_SIZE;
}

/*
 * Replicas of the residue class r mod num (num a power of two): the shards that are that
 * class exactly, plus the fewest of its two halves (r and r + num mod 2·num), counted
 * the same way, when any finer shard lies inside it. Coarser shards are counted by the
 * caller's level. This is the SDK's segment tree without the tree: each level visits only
 * classes some finer shard lies in, so the cost is O(shards² · 32).
 */
static unsigned replicas_at(const struct node_shard *list, size_t n, uint64_t num, uint64_t r)
{
	unsigned here = 0, lo, hi;
	bool finer = false;

	for (size_t i = 0; i < n; i++) {
		if (!node_shard_valid(list[i]))
			continue;
		if (list[i].num == num && list[i].id == r)
			here++;
		else if (list[i].num > num && list[i].id % num == r)
			finer = true;
	}
	if (!finer)
		return here;
	lo = replicas_at(list, n, num * 2, r);
	hi = replicas_at(list, n, num * 2, r + num);
	return here + (lo < hi ? lo : hi);
}

unsigned node_shards_replicas(const struct node_shard *list, size_t n)
{
	return replicas_at(list, n, 1, 0);
}

bool node_shards_cover(const struct node_shard *list, size_t n)
{
	return node_shards_replicas(list, n) >= 1;
}

size_t node_shards_holding(const struct node_shard *list, size_t n, uint64_t seg, size_t *ret_idx,
			   size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		if (!node_shard_holds(list[i], seg))
			continue;
		if (count < max)
			ret_idx[count] = i;
		count++;
	}
	return count;
}

/* ---- stripes ----------------------------------------------------------------------- */

bool node_ec_layout_valid(const struct node_ec_layout *l)
{
	return l && l->k >= 1 && l->m >= 1 && l->k + l->m <= CODEC_RS_MAX_SHARDS &&
	       node_shard_valid((struct node_shard){.id = 0, .num = l->num}) &&
	       l->num >= l->k + l->m;
}

uint64_t node_ec_nstripes(const struct node_ec_layout *l, uint64_t nsegs)
{
	return nsegs / l->k + (nsegs % l->k != 0);
}

uint64_t node_ec_stripe_of(const struct node_ec_layout *l, uint64_t i)
{
	return i / l->k;
}

unsigned node_ec_stripe_ndata(const struct node_ec_layout *l, uint64_t nsegs, uint64_t j)
{
	uint64_t first = j * l->k;

	if (j >= node_ec_nstripes(l, nsegs))
		return 0;
	return nsegs - first < l->k ? (unsigned)(nsegs - first) : l->k;
}

uint32_t node_ec_shard_of(const struct node_ec_layout *l, uint64_t start_seg, uint64_t j,
			  unsigned pos)
{
	/* num is a power of two: the mask is the mod, and wrap-around of the sum in 64 bits
	 * keeps the low bits right. */
	return (uint32_t)((start_seg + j * l->k + pos) & (l->num - 1));
}

size_t node_ec_shard_symbols(const struct node_ec_layout *l, uint64_t start_seg, uint64_t nsegs,
			     uint32_t id, struct node_ec_sym *ret, size_t max)
{
	uint64_t nstripes = node_ec_nstripes(l, nsegs);
	size_t count = 0;

	if (id >= l->num)
		return 0;

	for (uint64_t j = 0; j < nstripes; j++) {
		unsigned ndata = node_ec_stripe_ndata(l, nsegs, j);
		/* The position of shard id in this stripe's run of num consecutive shards. */
		unsigned pos =
		    (unsigned)((id - node_ec_shard_of(l, start_seg, j, 0)) & (l->num - 1));

		if (pos < ndata || (pos >= l->k && pos < l->k + l->m)) {
			if (count < max)
				ret[count] = (struct node_ec_sym){.stripe = j, .pos = pos};
			count++;
		}
	}
	return count;
}

static bool is_up(const uint32_t *up, size_t nup, uint32_t id)
{
	for (size_t i = 0; i < nup; i++)
		if (up[i] == id)
			return true;
	return false;
}

unsigned node_ec_stripe_lost(const struct node_ec_layout *l, uint64_t start_seg, uint64_t nsegs,
			     uint64_t j, const uint32_t *up, size_t nup, unsigned *ret_lost)
{
	unsigned ndata = node_ec_stripe_ndata(l, nsegs, j), nlost = 0;

	if (ndata == 0)
		return 0;
	for (unsigned pos = 0; pos < l->k + l->m; pos++) {
		if (pos >= ndata && pos < l->k)
			continue; /* a zero symbol: known without anyone */
		if (!is_up(up, nup, node_ec_shard_of(l, start_seg, j, pos)))
			ret_lost[nlost++] = pos;
	}
	return nlost;
}

bool node_ec_stripe_decodable(const struct node_ec_layout *l, uint64_t start_seg, uint64_t nsegs,
			      uint64_t j, const uint32_t *up, size_t nup)
{
	unsigned lost[CODEC_RS_MAX_SHARDS];

	if (l->k + l->m > CODEC_RS_MAX_SHARDS)
		return false;
	return node_ec_stripe_lost(l, start_seg, nsegs, j, up, nup, lost) <= l->m;
}
