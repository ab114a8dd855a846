/*
 * The embedded ledger (chain/local.c): Flow validity rules, placement worked out by hand,
 * the flow root against an independent recomputation, fees and reward pools, donations,
 * reopening, chain_verify() against tampering, locking, concurrent submitters, and an
 * acknowledged submission surviving SIGKILL.
 */
#include <dirent.h>
#include <errno.h>
#include <leveldb/c.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/chain.h"
#include "chain/flow_i.h"
#include "chain/ledger_i.h"
#include "chain/market_i.h"
#include "codec/keccak.h"
#include "codec/merkle.h"
#include "tests/flat_dir.h"
#include "tests/tap.h"

#define SEG    CHAIN_PRICING_SEGMENT_SECTORS
#define PRICE  2384ULL		      /* chain/ledger_i.h: CHAIN_LOCAL_PRICE_PER_SECTOR */
#define SUPPLY 1000000000000000000ULL /* CHAIN_LOCAL_SUPPLY */

static uint8_t sk[64], pk[32];
static char dirs[4][64];
static int ndirs;

static const char *new_dir(void)
{
	char *d = dirs[ndirs++];

	snprintf(d, sizeof(dirs[0]), "/tmp/zgfs-chain-XXXXXX");
	if (!mkdtemp(d)) {
		perror("mkdtemp");
		exit(1);
	}
	return d;
}

/* ---- building submissions ---------------------------------------------------------------- */

static void sub_from_data(const uint8_t *data, size_t len, struct chain_submission *s)
{
	struct codec_merkle m;

	memset(s, 0, sizeof(*s));
	codec_merkle_init(&m);
	codec_merkle_update(&m, data, len);
	codec_merkle_finish(&m, NULL, s->nodes, &s->nnodes, NULL);
	codec_merkle_release(&m);
	s->length = len;
}

static void sub_fake(struct chain_submission *s, uint64_t length, size_t n, ...)
{
	va_list ap;

	memset(s, 0, sizeof(*s));
	s->length = length;
	s->nnodes = n;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		s->nodes[i].height = va_arg(ap, unsigned);
		tap_fill(s->nodes[i].root, 32);
	}
	va_end(ap);
}

/* ---- snapshots: "nothing changed" ------------------------------------------------------- */

struct snap {
	struct chain_flow flow;
	uint64_t balance, donations;
	size_t npools;
	struct chain_pool pools[8];
};

static void take(struct chain *c, struct snap *s)
{
	uint8_t addr[CHAIN_ADDRESS_SIZE];

	memset(s, 0, sizeof(*s));
	chain_flow_info(c, &s->flow);
	chain_account(c, addr, &s->balance);
	chain_donations(c, &s->donations);
	chain_pools(c, s->pools, 8, &s->npools);
}

static int same(const struct snap *a, const struct snap *b)
{
	return !memcmp(&a->flow, &b->flow, sizeof(a->flow)) && a->balance == b->balance &&
	       a->donations == b->donations && a->npools == b->npools &&
	       !memcmp(a->pools, b->pools, a->npools * sizeof(a->pools[0]));
}

static int rejects(struct chain *c, const struct chain_submission *s, int want)
{
	struct snap before, after;
	struct chain_entry e;
	int r;

	take(c, &before);
	r = chain_submit(c, s, &e);
	take(c, &after);
	if (r != want)
		diag("got %d (%s), want %d", r, chain_strerror(r), want);
	return r == want && same(&before, &after);
}

/* ---- an independent flow root ------------------------------------------------------------ */

struct placed {
	uint64_t start;
	unsigned height;
	uint8_t root[32];
};

/* Top down by the 0G rule (left subtree = largest power of two below n), with a node's root
 * where a range is exactly a placed node and zero subtrees where nothing was placed. */
static void expect_root(const struct placed *p, size_t np, uint64_t lo, uint64_t n, uint8_t out[32])
{
	uint64_t left = 1;
	int pow2 = (n & (n - 1)) == 0, touched = 0;
	uint8_t l[32], r[32];

	for (size_t i = 0; i < np; i++) {
		uint64_t s = p[i].start, e = s + (1ULL << p[i].height);

		if (s == lo && e == lo + n) {
			memcpy(out, p[i].root, 32);
			return;
		}
		touched |= s < lo + n && e > lo;
	}
	if (!touched && pow2) {
		memcpy(out, codec_zero_root((unsigned)__builtin_ctzll(n)), 32);
		return;
	}
	while (left * 2 < n)
		left *= 2;
	expect_root(p, np, lo, left, l);
	expect_root(p, np, lo + left, n - left, r);
	codec_hash_pair(l, r, out);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_open(const char *dir)
{
	struct chain *c = NULL, *c2 = NULL;
	struct chain_flow f;
	struct chain_pool pools[4];
	uint8_t addr[20], h[32];
	uint64_t bal, don;
	size_t n;
	uint8_t bad[64];

	ok(chain_local_open(dir, sk, &c) == 0, "a new ledger opens");
	ok(chain_flow_info(c, &f) == 0 && f.length == 1 && f.next_tx_seq == 0 && f.height == 0,
	   "genesis: flow length 1 (the placeholder), no entries, block 0");
	ok(!memcmp(f.root, codec_zero_root(0), 32), "genesis flow root is one zero sector");
	ok(f.price_per_sector == PRICE && f.chain_id != 0, "price %llu per sector, chain id %llu",
	   (unsigned long long)f.price_per_sector, (unsigned long long)f.chain_id);
	codec_keccak256(pk, 32, h);
	ok(chain_account(c, addr, &bal) == 0 && !memcmp(addr, h + 12, 20) && bal == SUPPLY,
	   "account = last 20 bytes of keccak256(public key), funded with the supply");
	ok(chain_pools(c, pools, 4, &n) == 0 && n == 1 && pools[0].balance == 0 && !pools[0].full &&
	       pools[0].released == 0,
	   "one empty pool");
	ok(chain_donations(c, &don) == 0 && don == 0, "no donations");
	ok(chain_local_open(dir, sk, &c2) == -EBUSY && c2 == NULL,
	   "a second open of the same directory is -EBUSY");
	memcpy(bad, sk, 64);
	bad[40] ^= 1;
	ok(chain_local_open("/tmp", bad, &c2) == -EINVAL, "a key whose halves disagree: -EINVAL");
	chain_close(c);
	chain_close(NULL);
}

static void test_validity(struct chain *c)
{
	struct chain_submission *s = malloc(sizeof(*s));
	struct chain_entry e;

	sub_fake(s, 1, 0);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "no nodes: rejected, nothing changed");
	sub_fake(s, 16 * 256, 2, 3u, 3u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "equal heights: rejected");
	sub_fake(s, 12 * 256, 2, 2u, 3u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "increasing heights: rejected");
	sub_fake(s, 34 * 256, 2, 5u, 1u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "first - last = 4: rejected");
	sub_fake(s, 1ULL << 40, 1, 64u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "first height 64: rejected");
	sub_fake(s, 257, 1, 0u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "length > capacity * 256: rejected");
	sub_fake(s, 15 * 256, 1, 4u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION),
	   "16 sectors for 15 sectors of data: not minimal, rejected");
	sub_fake(s, 30 * 256, 1, 5u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION),
	   "one node of 32 for 30 sectors (previous capacity 30): rejected");
	sub_fake(s, 16 * 256, 2, 4u, 1u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION),
	   "16 + 2 sectors for 16 sectors (previous capacity 16): rejected");
	sub_fake(s, 0, 1, 0u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "length 0: rejected");
	sub_fake(s, 1ULL << 51, 1, 43u);
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION),
	   "2 PiB (over the 1 PiB entry bound): rejected");
	sub_fake(s, 200, 1, 0u);
	s->tags_len = CHAIN_TAGS_MAX + 1;
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "tags longer than CHAIN_TAGS_MAX: rejected");
	s->tags_len = 0;
	s->nnodes = CODEC_MAX_NODES + 1;
	ok(rejects(c, s, -CHAIN_EINVALID_SUBMISSION), "more than CODEC_MAX_NODES nodes: rejected");
	ok(chain_submit(c, NULL, &e) == -EINVAL && chain_submit(c, s, NULL) == -EINVAL,
	   "NULL arguments: -EINVAL");
	ok(chain_entry_get(c, 0, &e) == -ENOENT, "no entry was settled");
	free(s);
}

/* Placement with real data: every sector's leaf is known, so the flow root can be checked
 * against codec_root_of_leaves() over the whole flow. */
struct small_case {
	size_t bytes;
	uint64_t start, gap;
	const char *why;
};

static void test_placement(struct chain *c)
{
	static const struct small_case cases[] = {
	    {700, 2, 1, "3 sectors (2+1) after the placeholder: aligned to 2, start 2, gap 1"},
	    {5000, 16, 11, "20 sectors (16+4): aligned to 16, start 16, gap 11"},
	    {768 * 256, 1024, 988,
	     "768 sectors (512+256): 512 would cross 1024, so start 1024, gap 988"},
	    {1, 1792, 0, "1 sector: right after, no gap"},
	    {15 * 256 + 1, 1808, 15, "15 sectors + 1 byte = 16 (minimal): start 1808, gap 15"},
	    {1025 * 256, 2048, 224, "1025 sectors (1024+128): aligned to 1024, start 2048"},
	    {60 * 256, 3200, 0, "60 sectors (32+16+8+4, spread 3): start 3200"},
	};
	size_t ncase = sizeof(cases) / sizeof(cases[0]);
	size_t cap = 4096, nleaves = 1;
	codec_hash *leaves = malloc(cap * sizeof(codec_hash));
	struct chain_submission *s = malloc(sizeof(*s));
	struct chain_entry e;
	struct chain_flow f;
	uint64_t bal0, bal, fees = 0;
	uint8_t addr[20], root[32], digest[32];
	int roots_ok = 1;

	memcpy(leaves[0], codec_zero_root(0), 32);
	chain_account(c, addr, &bal0);
	for (size_t i = 0; i < ncase; i++) {
		const struct small_case *k = &cases[i];
		uint64_t chunks = codec_padded_chunks(codec_num_chunks(k->bytes));
		uint8_t *data = malloc(chunks * 256);
		struct codec_keccak kc;

		memset(data, 0, chunks * 256);
		tap_fill(data, k->bytes);
		sub_from_data(data, k->bytes, s);
		s->tags_len = 3;
		memcpy(s->tags, "abc", 3);
		if (!ok(chain_submit(c, s, &e) == 0, "entry %zu settles", i)) {
			free(data);
			break;
		}
		ok(e.tx_seq == i && e.start == k->start && e.start - (nleaves) == k->gap &&
		       e.sectors == chunks && e.length == k->bytes,
		   "%s (got start %llu)", k->why, (unsigned long long)e.start);
		ok(e.fee == (k->gap + chunks) * PRICE, "fee = (gap %llu + %llu sectors) x price",
		   (unsigned long long)k->gap, (unsigned long long)chunks);
		fees += e.fee;
		codec_file_root(data, k->bytes, root);
		codec_keccak_init(&kc);
		for (size_t j = 0; j < s->nnodes; j++)
			codec_keccak_update(&kc, s->nodes[j].root, 32);
		codec_keccak_final(&kc, digest);
		ok(!memcmp(e.root, root, 32) && !memcmp(e.digest, digest, 32) && e.tags_len == 3 &&
		       !memcmp(e.tags, "abc", 3) && e.nnodes == s->nnodes && e.block == i + 1,
		   "entry %zu: file root, digest of node roots, tags, nodes, block", i);

		/* The flow: zero leaves for the gap, then the entry's padded sectors. */
		while (nleaves < e.start)
			memcpy(leaves[nleaves++], codec_zero_root(0), 32);
		for (uint64_t j = 0; j < chunks; j++)
			codec_keccak256(data + j * 256, 256, leaves[nleaves++]);
		codec_root_of_leaves(leaves[0], nleaves, root);
		chain_flow_info(c, &f);
		roots_ok &= f.length == nleaves && !memcmp(f.root, root, 32);
		free(data);
	}
	ok(roots_ok,
	   "after each entry the flow root equals codec_root_of_leaves over all %zu sector leaves",
	   nleaves);
	chain_account(c, addr, &bal);
	ok(bal == bal0 - fees, "the account paid exactly the fees (%llu)",
	   (unsigned long long)fees);
	{
		struct chain_pool p[2];
		size_t n;

		chain_pools(c, p, 2, &n);
		ok(n == 1 && p[0].balance == fees && p[0].balance == (nleaves - 1) * PRICE &&
		       !p[0].full,
		   "pool 0 holds every charged sector (all but the placeholder)");
	}
	free(leaves);
	free(s);
}

/* Large entries without data: the pool split at 8 GiB boundaries, and the flow root from a
 * top-down recomputation over the placed nodes. */
static void test_pools(struct chain *c)
{
	struct chain_submission *s = malloc(sizeof(*s));
	struct placed placed[80];
	size_t np = 0;
	struct chain_entry e;
	struct chain_flow f;
	struct chain_pool p[8];
	uint64_t len0, bal, don, sum;
	uint8_t addr[20], root[32];
	size_t n;
	int r;

	chain_flow_info(c, &f);
	len0 = f.length;
	/* Re-place what test_placement settled, from the entries themselves. */
	for (uint64_t t = 0; t < f.next_tx_seq; t++) {
		uint64_t at;

		chain_entry_get(c, t, &e);
		at = e.start;
		for (size_t j = 0; j < e.nnodes; j++) {
			placed[np].start = at;
			placed[np].height = e.nodes[j].height;
			memcpy(placed[np].root, e.nodes[j].root, 32);
			at += 1ULL << e.nodes[j].height;
			np++;
		}
	}

	sub_fake(s, SEG * 256, 1, 25u);
	r = chain_submit(c, s, &e);
	ok(r == 0 && e.start == SEG && e.fee == (2 * SEG - len0) * PRICE,
	   "one 8 GiB node: start %llu (aligned to 2^25), gap charged",
	   (unsigned long long)e.start);
	placed[np].start = e.start, placed[np].height = 25;
	memcpy(placed[np++].root, s->nodes[0].root, 32);
	chain_pools(c, p, 8, &n);
	ok(n == 2 && p[0].full && p[0].balance == (SEG - 1) * PRICE && p[1].full &&
	       p[1].balance == SEG * PRICE,
	   "pools 0 and 1 are full: pool 0 got the gap, pool 1 the entry");

	sub_fake(s, (SEG / 2) * 256, 1, 24u);
	ok(chain_submit(c, s, &e) == 0 && e.start == 2 * SEG && e.fee == SEG / 2 * PRICE,
	   "4 GiB at the start of pool 2");
	placed[np].start = e.start, placed[np].height = 24;
	memcpy(placed[np++].root, s->nodes[0].root, 32);

	sub_fake(s, (SEG / 2 + SEG / 4) * 256, 2, 24u, 23u);
	ok(chain_submit(c, s, &e) == 0 && e.start == 2 * SEG + SEG / 2 &&
	       e.fee == (SEG / 2 + SEG / 4) * PRICE,
	   "4 GiB + 2 GiB from the middle of pool 2, crossing into pool 3");
	placed[np].start = e.start, placed[np].height = 24;
	memcpy(placed[np++].root, s->nodes[0].root, 32);
	placed[np].start = e.start + SEG / 2, placed[np].height = 23;
	memcpy(placed[np++].root, s->nodes[1].root, 32);
	chain_pools(c, p, 8, &n);
	ok(n == 4 && p[2].full && p[2].balance == SEG * PRICE && !p[3].full &&
	       p[3].balance == SEG / 4 * PRICE,
	   "the fee is split by sectors: pool 2 gets 4 GiB worth and is full, pool 3 2 GiB");
	ok(p[3].released == 0 && p[2].released <= p[2].balance,
	   "a pool that is not full releases nothing");

	chain_flow_info(c, &f);
	expect_root(placed, np, 0, f.length, root);
	ok(f.length == 3 * SEG + SEG / 4 && !memcmp(f.root, root, 32),
	   "flow root over 2^26 sectors equals a top-down recomputation");

	ok(chain_donate(c, 1000) == 0, "donate 1000");
	chain_account(c, addr, &bal);
	chain_donations(c, &don);
	ok(don == 1000, "the donation pool holds it");
	ok(chain_donate(c, 0) == -EINVAL, "donating 0: -EINVAL");
	{
		struct snap a, b;

		take(c, &a);
		ok(chain_donate(c, bal + 1) == -CHAIN_EFUNDS,
		   "donating more than the balance: -CHAIN_EFUNDS");
		take(c, &b);
		ok(same(&a, &b), "... and nothing changed");
	}
	chain_pools(c, p, 8, &n);
	sum = bal + don;
	for (size_t i = 0; i < n; i++)
		sum += p[i].balance;
	ok(sum == SUPPLY, "balance + donations + pools = supply");
	free(s);
}

static void test_funds(const char *dir)
{
	struct chain *c;
	struct chain_submission s;
	uint8_t addr[20];
	uint64_t bal;

	if (!ok(chain_local_open(dir, sk, &c) == 0, "a second ledger opens"))
		return;
	chain_account(c, addr, &bal);
	ok(chain_donate(c, bal - 100) == 0, "donate all but 100");
	sub_fake(&s, 1, 1, 0u);
	ok(rejects(c, &s, -CHAIN_EFUNDS),
	   "a fee of %llu with 100 left: -CHAIN_EFUNDS, nothing changed", PRICE);
	ok(chain_donate(c, 100) == 0, "donate the rest");
	ok(rejects(c, &s, -CHAIN_EFUNDS), "an empty account: -CHAIN_EFUNDS");
	chain_close(c);
}

static void test_market_unit(void)
{
	struct chain_pool_state p = {.balance = 1000, .full_since = 100, .full = true};
	uint64_t fee;

	ok(chain_market_fee(1ULL << 40, 1ULL << 30, &fee) == -EOVERFLOW,
	   "a fee over 2^64: -EOVERFLOW");
	ok(chain_market_fee(3, PRICE, &fee) == 0 && fee == 3 * PRICE, "fee = sectors x price");
	ok(chain_market_released(&p, 1000, 100) == 0 &&
	       chain_market_released(&p, 1000, 350) == 250 &&
	       chain_market_released(&p, 1000, 5000) == 1000,
	   "release is linear over the lifetime from when the pool filled, capped");
	p.full = false;
	ok(chain_market_released(&p, 1000, 5000) == 0, "not full: nothing released");
}

/* Several transactions in one block: a failing one rolls back the ones before it. */
static void test_rollback(void)
{
	struct chain_ledger *l = calloc(1, sizeof(*l));
	struct chain_ledger_mark *mark = malloc(sizeof(*mark));
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	struct chain_entry *e = malloc(sizeof(*e));
	struct chain_wbuf before, after;
	uint64_t n;
	int r1, r2, r3;

	chain_ledger_init(l);
	tx->type = CHAIN_TX_GENESIS;
	tx->genesis.chain_id = 7;
	tx->genesis.price_per_sector = 1;
	tx->genesis.supply = 3 * SEG;
	memcpy(tx->genesis.authority, pk, 32);
	r1 = chain_ledger_apply(l, tx, 0, 100, e);
	r2 = chain_ledger_apply(l, tx, 1, 100, e);
	ok(r1 == 0 && r2 == -EINVAL, "genesis applies once");

	memset(tx, 0, sizeof(*tx));
	tx->type = CHAIN_TX_SUBMIT;
	memcpy(tx->submit.sender, l->accounts[0].address, 20);
	sub_fake(&tx->submit.sub, 100, 1, 0u);
	chain_ledger_apply(l, tx, 1, 100, e); /* the flow ends mid-pool: pool 0 can change */

	chain_wbuf_init(&before, 1 << 16);
	chain_wbuf_init(&after, 1 << 16);
	chain_state_encode(l, &before);
	for (n = 0; n < l->market.npools; n++)
		chain_pool_encode(&l->market.pools[n], &before);
	chain_ledger_mark(l, mark);
	sub_fake(&tx->submit.sub, SEG * 256, 1, 25u);
	r1 = chain_ledger_apply(l, tx, 2, 200, e); /* fills pools 0 and 1 */
	sub_fake(&tx->submit.sub, 100, 1, 0u);
	r2 = chain_ledger_apply(l, tx, 2, 200, e); /* opens pool 2 */
	sub_fake(&tx->submit.sub, 2 * SEG * 256, 1, 26u);
	r3 = chain_ledger_apply(l, tx, 2, 200, e); /* costs more than is left */
	ok(r1 == 0 && r2 == 0 && r3 == -CHAIN_EFUNDS && l->next_tx_seq == 3 &&
	       l->market.npools == 3,
	   "two submissions apply in one block, the third cannot pay");
	chain_ledger_rollback(l, mark);
	chain_state_encode(l, &after);
	for (n = 0; n < l->market.npools; n++)
		chain_pool_encode(&l->market.pools[n], &after);
	ok(!before.err && before.len == after.len && !memcmp(before.data, after.data, before.len),
	   "rolling the block back restores the state and the pools exactly");
	chain_wbuf_release(&before);
	chain_wbuf_release(&after);
	chain_ledger_release(l);
	free(l);
	free(mark);
	free(tx);
	free(e);
}

static void put_byte(const char *dir, char prefix, uint64_t n, size_t at, int restore,
		     uint8_t *saved)
{
	leveldb_options_t *o = leveldb_options_create();
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char key[9], *err = NULL, *val;
	size_t len = 0;
	leveldb_t *db = leveldb_open(o, dir, &err);

	if (err) {
		diag("leveldb_open: %s", err);
		leveldb_free(err);
		goto out;
	}
	key[0] = prefix;
	for (int i = 0; i < 8; i++)
		key[1 + i] = (char)(uint8_t)(n >> (56 - 8 * i));
	val = leveldb_get(db, ro, key, prefix == 's' ? 1 : 9, &len, &err);
	if (val && at < len) {
		if (restore) {
			val[at] = (char)*saved;
		} else {
			*saved = (uint8_t)val[at];
			val[at] ^= prefix == 'p' && at == 1 ? 0x01 : 0x20;
		}
		leveldb_put(db, wo, key, prefix == 's' ? 1 : 9, val, len, &err);
		if (err) {
			diag("leveldb_put: %s", err);
			leveldb_free(err);
		}
	} else {
		diag("no record %c%llu", prefix, (unsigned long long)n);
	}
	leveldb_free(val);
	leveldb_close(db);
out:
	leveldb_options_destroy(o);
	leveldb_readoptions_destroy(ro);
	leveldb_writeoptions_destroy(wo);
}

static int verify_at(const char *dir, uint64_t *ret_bad, char *reason)
{
	struct chain *c;
	struct chain_verify_report rep;
	int r = chain_local_open(dir, sk, &c);

	if (r < 0)
		return r;
	memset(&rep, 0, sizeof(rep));
	r = chain_verify(c, &rep);
	*ret_bad = rep.bad_block;
	snprintf(reason, 160, "%s", rep.reason);
	chain_close(c);
	return r;
}

static void test_reopen_verify(const char *dir, struct chain *c)
{
	struct chain_flow f1, f2;
	struct chain_pool p1[8], p2[8];
	struct chain_verify_report rep;
	struct chain_entry *e1 = malloc(sizeof(*e1)), *e2 = malloc(sizeof(*e2));
	struct chain *other = NULL;
	uint8_t a1[20], a2[20], saved = 0, osk[64], opk[32], seed[32] = {9};
	uint64_t b1, b2, d1, d2, bad = 0;
	size_t n1, n2;
	char reason[160];
	int same_entries = 1, r;

	ok(chain_verify(c, &rep) == 0, "chain_verify passes: %s", rep.reason);
	chain_flow_info(c, &f1);
	ok(rep.blocks == f1.height + 1 && rep.entries == f1.next_tx_seq,
	   "it replayed %llu blocks and %llu entries", (unsigned long long)rep.blocks,
	   (unsigned long long)rep.entries);
	chain_account(c, a1, &b1);
	chain_donations(c, &d1);
	chain_pools(c, p1, 8, &n1);
	chain_close(c);

	ok(chain_local_open(dir, sk, &c) == 0, "the ledger reopens");
	chain_flow_info(c, &f2);
	chain_account(c, a2, &b2);
	chain_donations(c, &d2);
	chain_pools(c, p2, 8, &n2);
	ok(!memcmp(&f1, &f2, sizeof(f1)), "same flow, head and parameters after reopening");
	ok(!memcmp(a1, a2, 20) && b1 == b2 && d1 == d2, "same account and donations");
	ok(n1 == n2 && n1 > 0, "same number of pools");
	for (size_t i = 0; i < n1 && i < n2; i++)
		same_entries &= p1[i].balance == p2[i].balance && p1[i].full == p2[i].full;
	for (uint64_t t = 0; t < f2.next_tx_seq; t++)
		same_entries &= chain_entry_get(c, t, e1) == 0 && e1->tx_seq == t;
	ok(same_entries, "same pools; entries 0..%llu all readable, numbered without gaps",
	   (unsigned long long)f2.next_tx_seq - 1);
	ok(chain_entry_get(c, f2.next_tx_seq, e2) == -ENOENT, "the next tx seq is not settled");
	chain_close(c);

	crypto_sign_seed_keypair(opk, osk, seed);
	ok(chain_local_open(dir, osk, &other) == -EPERM && !other,
	   "opening with another key: -EPERM");

	/* Tamper with block 3 through leveldb itself. */
	put_byte(dir, 'b', 3, 60, 0, &saved);
	r = verify_at(dir, &bad, reason);
	ok(r == -CHAIN_ETAMPERED && bad == 3,
	   "a flipped byte in block 3: verify fails at block %llu (%s)", (unsigned long long)bad,
	   reason);
	put_byte(dir, 'b', 3, 60, 1, &saved);
	ok(verify_at(dir, &bad, reason) == 0, "restored: verify passes again");

	put_byte(dir, 'b', 2, 5 + 8 + 8 + 1, 0, &saved); /* inside prev hash */
	r = verify_at(dir, &bad, reason);
	ok(r == -CHAIN_ETAMPERED && bad == 2, "a changed link in block 2: fails at block %llu (%s)",
	   (unsigned long long)bad, reason);
	put_byte(dir, 'b', 2, 5 + 8 + 8 + 1, 1, &saved);

	put_byte(dir, 'e', 1, 20, 0, &saved);
	r = verify_at(dir, &bad, reason);
	ok(r == -CHAIN_ETAMPERED && bad == 2,
	   "a changed stored entry 1: fails at the block that settled it, %llu (%s)",
	   (unsigned long long)bad, reason);
	put_byte(dir, 'e', 1, 20, 1, &saved);

	/* A pool marked full early still balances, so the ledger opens; the replay finds it. */
	put_byte(dir, 'p', 3, 1, 0, &saved);
	r = verify_at(dir, &bad, reason);
	ok(r == -CHAIN_ETAMPERED && bad == f2.height,
	   "a pool record marked full: the state check fails at the head, %llu (%s)",
	   (unsigned long long)bad, reason);
	put_byte(dir, 'p', 3, 1, 1, &saved);
	/* A changed balance breaks conservation, which every open checks. */
	put_byte(dir, 'p', 2, 5, 0, &saved);
	ok(chain_local_open(dir, sk, &c) == -CHAIN_ETAMPERED,
	   "a changed pool balance: open refuses with -CHAIN_ETAMPERED");
	put_byte(dir, 'p', 2, 5, 1, &saved);

	/* The state's flow stack no longer matches the head block's flow root. */
	put_byte(dir, 's', 0, 140, 0, &saved);
	ok(chain_local_open(dir, sk, &c) == -CHAIN_ETAMPERED,
	   "a changed flow in the state record: open refuses with -CHAIN_ETAMPERED");
	put_byte(dir, 's', 0, 140, 1, &saved);

	put_byte(dir, 'b', f2.height, 60, 0, &saved);
	ok(chain_local_open(dir, sk, &c) == -CHAIN_ETAMPERED,
	   "a changed head block: open refuses with -CHAIN_ETAMPERED");
	put_byte(dir, 'b', f2.height, 60, 1, &saved);
	ok(verify_at(dir, &bad, reason) == 0, "all restored: verify passes");
	free(e1);
	free(e2);
}

struct worker {
	struct chain *c;
	int fails;
	uint64_t seqs[10];
};

static void *submitter(void *arg)
{
	struct worker *w = arg;
	struct chain_submission s;
	struct chain_entry e;

	memset(&s, 0, sizeof(s));
	s.length = 100;
	s.nnodes = 1;
	for (int i = 0; i < 10; i++) {
		s.nodes[0].root[0] = (uint8_t)i;
		if (chain_submit(w->c, &s, &e) < 0)
			w->fails++;
		else
			w->seqs[i] = e.tx_seq;
	}
	return NULL;
}

static void test_threads(const char *dir)
{
	struct chain *c;
	struct worker w[4];
	pthread_t t[4];
	struct chain_flow f;
	struct chain_verify_report rep;
	uint8_t seen[40] = {0};
	int fails = 0, distinct = 1, verified;

	if (!ok(chain_local_open(dir, sk, &c) == 0, "a third ledger opens"))
		return;
	for (int i = 0; i < 4; i++) {
		w[i].c = c;
		w[i].fails = 0;
		pthread_create(&t[i], NULL, submitter, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		fails += w[i].fails;
		for (int j = 0; j < 10; j++) {
			if (w[i].seqs[j] >= 40 || seen[w[i].seqs[j]])
				distinct = 0;
			else
				seen[w[i].seqs[j]] = 1;
		}
	}
	chain_flow_info(c, &f);
	ok(fails == 0 && distinct && f.next_tx_seq == 40 && f.length == 41,
	   "4 threads x 10 submissions: tx seqs 0..39, each once; flow length 41");
	/* Submissions that meet share a block (group commit): 40 in at most 40 blocks. */
	memset(&rep, 0, sizeof(rep));
	verified = chain_verify(c, &rep);
	ok(verified == 0 && rep.blocks >= 2 && rep.blocks <= 41,
	   "and the chain verifies (%llu blocks for 40 submissions)",
	   (unsigned long long)rep.blocks);
	chain_close(c);
}

/* A child settles entries and reports each acknowledgement; it is killed mid-stream. Every
 * acknowledged entry must be there afterwards, and the ledger must verify. */
static void test_sigkill(const char *dir)
{
	int fd[2];
	pid_t pid;
	uint64_t acked = 0, seq;
	struct chain *c;
	struct chain_flow f;
	struct chain_verify_report rep;

	if (pipe(fd) < 0) {
		ok(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct chain_submission s;
		struct chain_entry e;

		close(fd[0]);
		if (chain_local_open(dir, sk, &c) < 0)
			_exit(1);
		memset(&s, 0, sizeof(s));
		s.length = 256;
		s.nnodes = 1;
		for (uint64_t i = 0;; i++) {
			s.nodes[0].root[0] = (uint8_t)i;
			if (chain_submit(c, &s, &e) < 0)
				_exit(1);
			if (write(fd[1], &e.tx_seq, sizeof(e.tx_seq)) != sizeof(e.tx_seq))
				_exit(1);
		}
	}
	close(fd[1]);
	while (acked < 5 && read(fd[0], &seq, sizeof(seq)) == sizeof(seq))
		acked = seq + 1;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd[0]);
	ok(acked == 5, "the child acknowledged 5 entries before SIGKILL");
	if (!ok(chain_local_open(dir, sk, &c) == 0,
		"the killed ledger reopens (its locks died with it)"))
		return;
	chain_flow_info(c, &f);
	ok(f.next_tx_seq >= acked, "all %llu acknowledged entries survived (%llu settled)",
	   (unsigned long long)acked, (unsigned long long)f.next_tx_seq);
	ok(chain_verify(c, &rep) == 0, "and it verifies: %s", rep.reason);
	chain_close(c);
}

static void test_strerror(void)
{
	int good = 1;

	for (int e = CHAIN_EFIRST + 1; e < CHAIN_ELAST; e++)
		good &=
		    chain_strerror(-e) != NULL && strcmp(chain_strerror(-e), "unknown chain error");
	ok(good && chain_strerror(-ENOENT) && chain_strerror(0), "chain_strerror names every code");
}

int main(void)
{
	uint8_t seed[32] = {1, 2, 3};
	struct chain *c;
	const char *d1, *d2, *d3, *d4;

	if (sodium_init() < 0)
		skip_all("libsodium does not initialise");
	crypto_sign_seed_keypair(pk, sk, seed);
	d1 = new_dir();
	d2 = new_dir();
	d3 = new_dir();
	d4 = new_dir();

	test_strerror();
	test_market_unit();
	test_rollback();
	test_open(d1);
	if (chain_local_open(d1, sk, &c) == 0) {
		test_validity(c);
		test_placement(c);
		test_pools(c);
		test_reopen_verify(d1, c); /* closes c */
	} else {
		ok(0, "reopen for the flow tests");
	}
	test_funds(d2);
	test_threads(d3);
	test_sigkill(d4);

	for (int i = 0; i < ndirs; i++)
		remove_dir(dirs[i]);
	return tap_done();
}
