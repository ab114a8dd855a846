/*
 * test_place.c - shard placement against 0G's rule and cases, stripes, and every loss
 * pattern of the erasure code decoding byte for byte (node/peer/place.h).
 */
#include <errno.h>

#include "codec/merkle.h"
#include "node/peer/place.h"
#include "tap.h"

#define SEG	 CODEC_SEGMENT_SIZE
#define SH(i, n) ((struct node_shard){.id = (i), .num = (n)})

static void test_rule(void)
{
	/* Which of flow segments 0..15 each shard holds: s mod N == I. */
	static const struct {
		uint32_t id, num;
		uint16_t held; /* bit s set: holds segment s */
	} cases[] = {
	    {0, 1, 0xffff}, {0, 2, 0x5555}, {1, 2, 0xaaaa}, {0, 4, 0x1111},  {1, 4, 0x2222},
	    {2, 4, 0x4444}, {3, 4, 0x8888}, {5, 8, 0x2020}, {0, 16, 0x0001}, {15, 16, 0x8000},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint16_t got = 0;

		for (unsigned s = 0; s < 16; s++)
			if (node_shard_holds(SH(cases[c].id, cases[c].num), s))
				got |= (uint16_t)(1u << s);
		ok(got == cases[c].held, "%u/%u holds segments %#06x", cases[c].id, cases[c].num,
		   got);
	}
	ok(!node_shard_valid(SH(0, 0)) && !node_shard_valid(SH(0, 3)) &&
	       !node_shard_valid(SH(2, 2)) && node_shard_valid(SH(1u << 24, 1u << 25)),
	   "validity as 0G's ShardConfig::validate");
	ok(!node_shard_holds(SH(0, 3), 3) && !node_shard_holds(SH(2, 2), 2),
	   "an invalid shard holds nothing");
	ok(node_shard_holds(SH(1, 2), UINT64_MAX) && !node_shard_holds(SH(0, 2), UINT64_MAX),
	   "the last 64-bit segment");

	/* The SDK's Uploader starts shard (I, N) at its first segment >= start:
	 * floor((start + N - 1 - I) / N) * N + I; that segment must be held, and none before. */
	for (uint32_t n = 1; n <= 8; n *= 2)
		for (uint32_t id = 0; id < n; id++)
			for (uint64_t start = 0; start < 20; start++) {
				uint64_t first = n < 2 ? start : (start + n - 1 - id) / n * n + id;
				bool good = node_shard_holds(SH(id, n), first);

				for (uint64_t s = start; s < first; s++)
					good &= !node_shard_holds(SH(id, n), s);
				if (!good)
					ok(0, "SDK first segment of %u/%u from %llu", id, n,
					   (unsigned long long)start);
			}
	ok(1, "the SDK's nextSgmentIndex agrees for N <= 8, starts 0..19");
}

static void test_intersect(void)
{
	ok(node_shard_intersect(SH(0, 1), SH(1, 2)) && node_shard_intersect(SH(1, 2), SH(0, 1)),
	   "0/1 meets every shard");
	ok(!node_shard_intersect(SH(1, 4), SH(0, 4)) && node_shard_intersect(SH(1, 4), SH(1, 4)),
	   "same count: only the same id");
	/* 1/2 = odd segments; 1/4 and 3/4 are odd, 0/4 and 2/4 even. 0G's intersect says
	 * the opposite for these (it halves the id): the rule decides. */
	ok(node_shard_intersect(SH(1, 2), SH(1, 4)) && node_shard_intersect(SH(1, 2), SH(3, 4)) &&
	       !node_shard_intersect(SH(1, 2), SH(0, 4)) &&
	       !node_shard_intersect(SH(1, 2), SH(2, 4)),
	   "1/2 meets 1/4 and 3/4, not 0/4 or 2/4");
	/* Against brute force on segments 0..63. */
	for (uint32_t na = 1; na <= 16; na *= 2)
		for (uint32_t nb = 1; nb <= 16; nb *= 2)
			for (uint32_t a = 0; a < na; a++)
				for (uint32_t b = 0; b < nb; b++) {
					bool any = false;

					for (unsigned s = 0; s < 64; s++)
						any |= node_shard_holds(SH(a, na), s) &&
						       node_shard_holds(SH(b, nb), s);
					if (any != node_shard_intersect(SH(a, na), SH(b, nb)))
						ok(0, "intersect %u/%u %u/%u", a, na, b, nb);
				}
	ok(1, "intersect matches brute force up to 16 shards");
}

static void test_cover(void)
{
	/* 0g-storage-node node/storage/src/config.rs test_all_shards_available. */
	struct node_shard yes[] = {SH(3, 8), SH(7, 8), SH(0, 4),
				   SH(1, 4), SH(0, 2), SH(0, 1u << 25)};
	struct node_shard no[] = {SH(0, 4), SH(1, 4), SH(3, 8), SH(0, 2)};
	struct node_shard halves[] = {SH(0, 2), SH(1, 2)};
	struct node_shard mixed[] = {SH(0, 2), SH(1, 4), SH(3, 4)};
	struct node_shard gap[] = {SH(0, 2), SH(1, 4)};
	struct node_shard two[] = {SH(0, 1), SH(1, 2), SH(0, 4), SH(2, 4), SH(0, 2)};
	struct node_shard bad[] = {SH(0, 3), SH(1, 3), SH(2, 3)};
	struct node_shard one = SH(0, 1);

	ok(node_shards_cover(yes, 6), "0G's covered case");
	ok(!node_shards_cover(no, 4), "0G's uncovered case");
	ok(node_shards_cover(&one, 1) && !node_shards_cover(NULL, 0),
	   "0/1 covers; nothing does not");
	ok(node_shards_cover(halves, 2) && !node_shards_cover(halves, 1),
	   "0/2 + 1/2 cover, 0/2 alone not");
	ok(node_shards_cover(mixed, 3) && !node_shards_cover(gap, 2),
	   "0/2 + 1/4 + 3/4; 3/4 missing");
	ok(node_shards_replicas(two, 5) == 2,
	   "replicas: 0/1 + (1/2) + (0/4 + 2/4 | 0/2) = 2, got %u", node_shards_replicas(two, 5));
	ok(node_shards_replicas(two, 2) == 1 && node_shards_replicas(halves, 2) == 1, "replicas 1");
	ok(!node_shards_cover(bad, 3), "invalid configs are ignored");

	/* Brute force: random lists of shards up to 8, replicas = min over residues mod 8. */
	tap_seed(7);
	for (int t = 0; t < 500; t++) {
		struct node_shard l[6];
		size_t n = 1 + tap_rand() % 6;
		unsigned minr = ~0u;

		for (size_t i = 0; i < n; i++) {
			uint32_t num = 1u << (tap_rand() % 4);

			l[i] = SH((uint32_t)(tap_rand() % num), num);
		}
		for (unsigned s = 0; s < 8; s++) {
			unsigned c = (unsigned)node_shards_holding(l, n, s, NULL, 0);

			minr = c < minr ? c : minr;
		}
		if (node_shards_replicas(l, n) != minr) {
			ok(0, "replicas of random list %d", t);
			break;
		}
	}
	ok(1, "replicas match brute force on 500 random lists");
}

static void test_holding(void)
{
	struct node_shard l[] = {SH(0, 1), SH(0, 2), SH(1, 4), SH(3, 4), SH(1, 2)};
	size_t idx[5], n;

	n = node_shards_holding(l, 5, 5, idx, 5);
	ok(n == 3 && idx[0] == 0 && idx[1] == 2 && idx[2] == 4, "segment 5: 0/1, 1/4, 1/2");
	n = node_shards_holding(l, 5, 4, idx, 1);
	ok(n == 2 && idx[0] == 0, "segment 4: two holders, cut at one");
	n = node_shards_holding(l + 1, 1, 7, idx, 5);
	ok(n == 0, "segment 7 not on 0/2");
}

static void test_entry_segments(void)
{
	/* The SDK's SegmentRange. */
	ok(node_place_nsegs(0, 1) == 1 && node_place_nsegs(0, SEG) == 1 &&
	       node_place_nsegs(0, SEG + 1) == 2 && node_place_nsegs(0, 0) == 0,
	   "aligned entries: 1 B, 256 KiB, 256 KiB + 1");
	ok(node_place_nsegs(1030, 256 * 5) == 1 && node_place_start_seg(1030) == 1,
	   "an unaligned small entry is in one segment");
	ok(node_place_start_seg(3 * 1024) == 3 && node_place_nsegs(3 * 1024, 10 * SEG - 5) == 10,
	   "start segment 3, 10 segments");
	ok(node_place_seg_len(SEG * 2 + 7, 0) == SEG && node_place_seg_len(SEG * 2 + 7, 2) == 7 &&
	       node_place_seg_len(SEG * 2 + 7, 3) == 0 && node_place_seg_len(SEG * 2, 2) == 0 &&
	       node_place_seg_len(SEG * 2, 1) == SEG,
	   "segment lengths, short last");
}

static void test_stripes(void)
{
	struct node_ec_layout l = {.k = 4, .m = 2, .num = 8};
	const uint64_t start = 3, nsegs = 10;
	unsigned seen[10] = {0}, parity_seen[3][2] = {{0}};
	bool all_good = true;

	ok(node_ec_layout_valid(&l), "4+2 on 8 shards is valid");
	ok(!node_ec_layout_valid(&(struct node_ec_layout){.k = 4, .m = 2, .num = 4}) &&
	       !node_ec_layout_valid(&(struct node_ec_layout){.k = 4, .m = 2, .num = 6}) &&
	       !node_ec_layout_valid(&(struct node_ec_layout){.k = 0, .m = 2, .num = 8}),
	   "too few shards, not a power of two, k = 0: invalid");
	ok(node_ec_nstripes(&l, nsegs) == 3 && node_ec_stripe_ndata(&l, nsegs, 0) == 4 &&
	       node_ec_stripe_ndata(&l, nsegs, 2) == 2 && node_ec_stripe_ndata(&l, nsegs, 3) == 0,
	   "10 segments: stripes of 4, 4, 2");
	ok(node_ec_stripe_of(&l, 9) == 2 && node_ec_stripe_of(&l, 3) == 0, "stripe of a segment");
	ok(node_ec_shard_of(&l, start, 1, 0) == 7 && node_ec_shard_of(&l, start, 1, 4) == 3 &&
	       node_ec_shard_of(&l, start, 1, 5) == 4,
	   "stripe 1: data on 7,0,1,2, parity on 3,4");
	/* Data symbols where 0G puts them; the k+m symbols of a stripe on distinct shards. */
	for (uint64_t j = 0; j < 3; j++) {
		unsigned used = 0;

		for (unsigned pos = 0; pos < 6; pos++) {
			uint32_t sh = node_ec_shard_of(&l, start, j, pos);

			if (pos < 4)
				all_good &= node_shard_holds(SH(sh, 8), start + j * 4 + pos);
			all_good &= !(used & (1u << sh));
			used |= 1u << sh;
		}
	}
	ok(all_good, "data on the 0G shard; no shard twice in a stripe");
	/* Every stored symbol is held by exactly one shard's list. */
	for (uint32_t id = 0; id < 8; id++) {
		struct node_ec_sym syms[8];
		size_t n = node_ec_shard_symbols(&l, start, nsegs, id, syms, 8);

		for (size_t i = 0; i < n && i < 8; i++) {
			all_good &= node_ec_shard_of(&l, start, syms[i].stripe, syms[i].pos) == id;
			if (syms[i].pos < 4)
				seen[syms[i].stripe * 4 + syms[i].pos]++;
			else
				parity_seen[syms[i].stripe][syms[i].pos - 4]++;
		}
	}
	for (int i = 0; i < 10; i++)
		all_good &= seen[i] == 1;
	for (int j = 0; j < 3; j++)
		all_good &= parity_seen[j][0] == 1 && parity_seen[j][1] == 1;
	ok(all_good, "each data segment and parity symbol on exactly one shard's list");
	{
		struct node_ec_sym one;

		struct node_ec_sym three[3];

		ok(node_ec_shard_symbols(&l, start, nsegs, 5, &one, 1) == 1 && one.stripe == 0 &&
		       one.pos == 2,
		   "shard 5: data 2 only (its place in stripe 2 is a zero symbol, not stored)");
		ok(node_ec_shard_symbols(&l, start, nsegs, 0, three, 3) == 3 && three[0].pos == 5 &&
		       three[1].stripe == 1 && three[1].pos == 1 && three[2].stripe == 2 &&
		       three[2].pos == 5,
		   "shard 0: parity 1 of stripe 0, segment 5, parity 1 of stripe 2");
	}

	ok(node_ec_shard_symbols(&l, start, nsegs, 8, NULL, 0) == 0, "shard 8 of 8 holds nothing");

	/* Any 2 of 8 shards down: every stripe decodes; 3 shards of one stripe: it does not. */
	all_good = true;
	for (uint32_t a = 0; a < 8; a++)
		for (uint32_t b = a + 1; b < 8; b++) {
			uint32_t up[8];
			size_t nup = 0;

			for (uint32_t s = 0; s < 8; s++)
				if (s != a && s != b)
					up[nup++] = s;
			for (uint64_t j = 0; j < 3; j++)
				all_good &= node_ec_stripe_decodable(&l, start, nsegs, j, up, nup);
		}
	ok(all_good, "any 2 of 8 shards lost: all 3 stripes decodable");
	{
		uint32_t up[] = {0, 1, 2, 6, 7}; /* stripe 0 is on 3,4,5,6 + 7,0 */
		uint32_t up2[] = {1, 2, 3,
				  4, 5, 6}; /* stripe 2: data on 3,4, zeros 5,6, parity 7,0 */
		unsigned lost[6];

		ok(!node_ec_stripe_decodable(&l, start, nsegs, 0, up, 5) &&
		       node_ec_stripe_lost(&l, start, nsegs, 0, up, 5, lost) == 3 && lost[0] == 0 &&
		       lost[1] == 1 && lost[2] == 2,
		   "3 of stripe 0's shards lost: not decodable, data 0..2 named");
		ok(node_ec_stripe_decodable(&l, start, nsegs, 2, up2, 6) &&
		       node_ec_stripe_lost(&l, start, nsegs, 2, up2, 6, lost) == 2 &&
		       lost[0] == 4 && lost[1] == 5,
		   "short stripe 2: its zero-symbol shards do not count, parity holders lost");
	}
}

/* Encodes a stripe of ndata segments (the last last_len bytes), then for every set of
 * lost stored symbols of size nlost checks the decode: byte for byte within m, -ENODATA
 * and nothing written beyond. Returns how many patterns passed, via *ret_patterns. */
static bool sweep(unsigned k, unsigned m, unsigned ndata, size_t last_len, unsigned nlost,
		  unsigned *ret_patterns)
{
	struct node_ec *ec;
	unsigned n = k + m, patterns = 0;
	uint8_t *orig[16], *work[16], *data_ptrs[16];
	size_t lens[16];
	bool good = true;

	if (node_ec_new(k, m, &ec) < 0)
		return false;
	for (unsigned i = 0; i < n; i++) {
		orig[i] = calloc(1, SEG);
		work[i] = malloc(SEG);
	}
	for (unsigned i = 0; i < ndata; i++) {
		lens[i] = i == ndata - 1 ? last_len : SEG;
		tap_fill(orig[i], lens[i]);
		data_ptrs[i] = orig[i];
	}
	if (node_ec_encode(ec, (const uint8_t *const *)data_ptrs, lens, ndata, orig + k) < 0)
		good = false;
	/* Every subset of the stored positions (0..ndata-1, k..n-1) of size nlost. */
	for (unsigned mask = 0; mask < (1u << n) && good; mask++) {
		bool have[16];
		int r;

		if (mask & (((1u << k) - 1) & ~((1u << ndata) - 1)))
			continue; /* zero positions are never lost */
		if ((unsigned)__builtin_popcount(mask) != nlost)
			continue;
		for (unsigned i = 0; i < n; i++) {
			have[i] = !(mask & (1u << i));
			if (have[i])
				memcpy(work[i], orig[i], SEG);
			else
				memset(work[i], 0xaa, SEG);
		}
		r = node_ec_decode(ec, work, have, ndata);
		if (nlost <= m) {
			good &= r == 0;
			for (unsigned i = 0; i < n; i++)
				if (i < ndata || i >= k)
					good &= memcmp(work[i], orig[i], SEG) == 0;
		} else {
			good &= r == -ENODATA;
			for (unsigned i = 0; i < n; i++)
				if (!have[i])
					for (size_t b = 0; b < SEG; b += 4093)
						good &= work[i][b] == 0xaa;
		}
		patterns++;
	}
	for (unsigned i = 0; i < n; i++) {
		free(orig[i]);
		free(work[i]);
	}
	node_ec_free(ec);
	*ret_patterns = patterns;
	return good;
}

static void test_codec(void)
{
	static const struct {
		unsigned k, m, ndata;
		size_t last_len;
		unsigned nlost, patterns;
		const char *what;
	} cases[] = {
	    {4, 2, 4, SEG, 2, 15, "4+2: every 2 of 6 lost decodes"},
	    {4, 2, 4, SEG, 1, 6, "4+2: every single loss decodes"},
	    {4, 2, 4, SEG, 3, 20, "4+2: every 3 lost fails cleanly"},
	    {2, 2, 2, SEG, 2, 6, "2+2: every 2 of 4 lost decodes"},
	    {2, 2, 2, SEG, 3, 4, "2+2: every 3 lost fails cleanly"},
	    {1, 1, 1, SEG, 1, 2, "1+1: either lost decodes"},
	    {1, 1, 1, SEG, 2, 1, "1+1: both lost fails cleanly"},
	    {4, 2, 4, 1000, 2, 15, "4+2, last segment 1000 B: every 2 lost"},
	    {4, 2, 2, 77, 2, 6, "4+2, short stripe of 2 (last 77 B): every 2 of 4 stored"},
	    {4, 2, 1, SEG, 2, 3, "4+2, short stripe of 1: every 2 of 3 stored"},
	    {4, 2, 1, 5, 3, 1, "4+2, short stripe of 1: all 3 lost fails cleanly"},
	    {8, 4, 5, 12345, 4, 126, "8+4, stripe of 5: every 4 of 9 stored"},
	};

	tap_seed(42);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned p = 0;
		bool g = sweep(cases[c].k, cases[c].m, cases[c].ndata, cases[c].last_len,
			       cases[c].nlost, &p);

		ok(g && p == cases[c].patterns, "%s (%u patterns)", cases[c].what, p);
	}
}

static void test_codec_args(void)
{
	struct node_ec *ec;
	uint8_t *buf = calloc(1, SEG), *par[2] = {calloc(1, SEG), calloc(1, SEG)};
	const uint8_t *d[1] = {buf};
	size_t big = SEG + 1;

	ok(node_ec_new(0, 2, &ec) == -EINVAL && node_ec_new(200, 100, &ec) == -EINVAL,
	   "bad codes refused");
	if (node_ec_new(4, 2, &ec) == 0) {
		ok(node_ec_encode(ec, d, &big, 1, par) == -EINVAL,
		   "a segment past 256 KiB refused");
		ok(node_ec_encode(ec, d, &(size_t){1}, 0, par) == -EINVAL, "no data refused");
		node_ec_free(ec);
	}
	node_ec_free(NULL);
	free(buf);
	free(par[0]);
	free(par[1]);
}

int main(void)
{
	test_rule();
	test_intersect();
	test_cover();
	test_holding();
	test_entry_segments();
	test_stripes();
	test_codec();
	test_codec_args();
	return tap_done();
}
