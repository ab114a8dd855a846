/*
 * The log store: entries written through writers and uploaded in segments read back
 * byte-exact with roots, segment roots and proofs that match codec/'s; concurrent writers;
 * corruption caught by verified reads; and, through node/io.h's fault injection and crash
 * simulation, that a failed or interrupted operation leaves the store consistent and that
 * everything acknowledged survives a power cut.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/errors.h"
#include "codec/merkle.h"
#include "codec/proof.h"
#include "node/limits.h"
#include "node/peer/place.h"
#include "node/store/io.h"
#include "node/store/store.h"
#include "tests/tap.h"

#define SEG CODEC_SEGMENT_SIZE
#define KiB 1024u
#define MiB (1024u * 1024u)

static char base[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void dir_for(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", base, name);
}

/* Sum of the sizes of a store's pack files, and their number. */
static uint64_t pack_bytes(const char *dir, unsigned *ret_n)
{
	char path[256];
	DIR *d;
	struct dirent *e;
	uint64_t sum = 0;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/packs", dir);
	d = opendir(path);
	if (!d)
		return UINT64_MAX;
	while ((e = readdir(d))) {
		struct stat st;
		char p[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (stat(p, &st) == 0) {
			sum += (uint64_t)st.st_size;
			n++;
		}
	}
	closedir(d);
	if (ret_n)
		*ret_n = n;
	return sum;
}

/* --- reference values from codec/ ----------------------------------------------------- */

static uint64_t ndata_of(uint64_t len)
{
	return (len + SEG - 1) / SEG;
}

static unsigned chunks_of(uint64_t len, uint64_t i)
{
	uint64_t left = codec_padded_chunks(codec_num_chunks(len)) - i * CODEC_SEGMENT_CHUNKS;

	return left < CODEC_SEGMENT_CHUNKS ? (unsigned)left : CODEC_SEGMENT_CHUNKS;
}

static size_t bytes_of(uint64_t len, uint64_t i)
{
	return len - i * SEG < SEG ? (size_t)(len - i * SEG) : SEG;
}

/* Segment roots of data as 0G defines them: the leaves of segment proofs. */
static uint8_t *ref_roots(const uint8_t *data, uint64_t len)
{
	uint64_t nseg = codec_num_segments(len), nd = ndata_of(len);
	uint8_t *roots = malloc(nseg * CODEC_HASH_SIZE);

	for (uint64_t i = 0; i < nseg; i++) {
		if (i < nd)
			codec_segment_root(data + i * SEG, bytes_of(len, i), chunks_of(len, i),
					   roots + i * CODEC_HASH_SIZE);
		else
			memcpy(roots + i * CODEC_HASH_SIZE, codec_zero_root(CODEC_SEGMENT_HEIGHT),
			       CODEC_HASH_SIZE);
	}
	return roots;
}

static void fold_nodes(const struct chain_submission *sub, uint8_t out[CODEC_HASH_SIZE])
{
	memcpy(out, sub->nodes[sub->nnodes - 1].root, CODEC_HASH_SIZE);
	for (size_t i = sub->nnodes - 1; i-- > 0;)
		codec_hash_pair(sub->nodes[i].root, out, out);
}

static void fake_entry(struct chain_entry *e, uint64_t seq, const uint8_t *root, uint64_t len)
{
	memset(e, 0, sizeof(*e));
	e->tx_seq = seq;
	e->start = 1 + seq * 7;
	e->length = len;
	e->sectors = codec_padded_chunks(codec_num_chunks(len));
	memcpy(e->root, root, CODEC_HASH_SIZE);
	e->block = seq;
}

static bool proofs_equal(const struct codec_proof *a, const struct codec_proof *b)
{
	if (a->depth != b->depth)
		return false;
	for (unsigned i = 0; i < codec_proof_lemma_len(a->depth); i++)
		if (memcmp(a->lemma[i], b->lemma[i], CODEC_HASH_SIZE) != 0)
			return false;
	for (unsigned i = 0; i < a->depth; i++)
		if (a->path[i] != b->path[i])
			return false;
	return true;
}

/* --- entries this test stored in the main store --------------------------------------- */

struct known {
	uint64_t seq;
	uint8_t *data;
	uint64_t len;
	uint8_t root[CODEC_HASH_SIZE];
};
static struct known known[64];
static size_t nknown;

/* Writes data through a writer in random slices, seals, checks the submission, commits as
 * seq. Returns 0 or the first failing step's code. */
static int write_entry(struct node_store *s, const uint8_t *data, size_t len, uint64_t seq,
		       uint8_t ret_root[CODEC_HASH_SIZE])
{
	static struct chain_submission sub;
	static struct chain_entry e;
	struct node_store_writer *w;
	uint8_t want[CODEC_HASH_SIZE], folded[CODEC_HASH_SIZE];
	size_t pos = 0;
	int r;

	codec_file_root(data, len, want);
	r = node_store_writer_new(s, &w);
	if (r < 0)
		return r;
	while (pos < len) {
		size_t left = len - pos, n;

		switch (tap_rand() % 4) {
		case 0:
			n = left;
			break;
		case 1:
			n = 1 + tap_rand() % 300;
			break;
		default:
			n = 1 + tap_rand() % (1500 * KiB);
			break;
		}
		if (n > left)
			n = left;
		r = node_store_writer_write(w, data + pos, n);
		if (r < 0) {
			node_store_writer_abort(w);
			return r;
		}
		pos += n;
	}
	r = node_store_writer_seal(w, &sub);
	if (r < 0) {
		node_store_writer_abort(w);
		return r;
	}
	if (sub.length != len) {
		node_store_writer_abort(w);
		return -1000;
	}
	fold_nodes(&sub, folded);
	if (memcmp(folded, want, CODEC_HASH_SIZE) != 0) {
		node_store_writer_abort(w);
		return -1001;
	}
	fake_entry(&e, seq, want, len); /* the root from codec/, not from the store */
	r = node_store_writer_commit(w, &e);
	if (r == 0 && ret_root)
		memcpy(ret_root, want, CODEC_HASH_SIZE);
	return r;
}

/*
 * A node on a shared chain can learn of its own upload from the chain before its writer
 * records it: the store then expects the entry, and the writer's commit must take that
 * record's place with its complete bytes. If the entry was finalized first (someone
 * else's segments), the writer's copy is dropped and the commit still succeeds.
 */
static void test_commit_over_expected(struct node_store *s)
{
	static const uint64_t lens[] = {700, SEG + 5};
	struct chain_entry *e = malloc(sizeof(*e));
	struct node_store_info info;
	uint8_t root[CODEC_HASH_SIZE];

	for (size_t k = 0; k < 2; k++) {
		uint64_t len = lens[k], seq = 1900 + k;
		uint8_t *data = malloc(len), *back = malloc(len);
		size_t got = 0;
		int r;

		tap_fill(data, len);
		codec_file_root(data, len, root);
		fake_entry(e, seq, root, len);
		ok(node_store_expect(s, e) == 0, "over expected: entry %llu expected first",
		   (unsigned long long)seq);
		if (k == 1) {
			/* Finalized by segments before the writer commits. */
			uint8_t *roots = ref_roots(data, len);
			uint64_t nseg = codec_num_segments(len);
			struct codec_proof pr;
			bool good = true;

			for (uint64_t i = 0; i < ndata_of(len); i++) {
				size_t n = len - i * SEG < SEG ? len - i * SEG : SEG;

				codec_proof_build(roots, nseg, i, &pr);
				good &= node_store_put_segment(s, seq, i, data + i * SEG, n, &pr) ==
					0;
			}
			free(roots);
			ok(good && node_store_info(s, seq, &info) == 0 && info.finalized,
			   "over expected: entry %llu finalized by its segments",
			   (unsigned long long)seq);
		}
		r = write_entry(s, data, len, seq, NULL);
		ok(r == 0, "over expected: the writer's commit of %llu succeeds (%d)",
		   (unsigned long long)seq, r);
		ok(node_store_info(s, seq, &info) == 0 && info.finalized &&
			   node_store_read(s, seq, 0, back, len, true, &got) == 0 && got == len &&
			   memcmp(back, data, len) == 0,
		   "over expected: entry %llu reads back, verified", (unsigned long long)seq);
		free(data);
		free(back);
	}
	free(e);
}

/* Reads the whole entry back (verified or not) and compares. */
static bool reads_back(struct node_store *s, uint64_t seq, const uint8_t *data, uint64_t len,
		       bool verify)
{
	uint8_t *buf = malloc(len + 100);
	size_t got = 0;
	int r = node_store_read(s, seq, 0, buf, len + 100, verify, &got);
	bool same = r == 0 && got == len && memcmp(buf, data, len) == 0;

	free(buf);
	return same;
}

/* Segments and proofs of a finalized entry against codec/'s. */
static bool segments_check(struct node_store *s, uint64_t seq, const uint8_t *data, uint64_t len,
			   const uint8_t root[CODEC_HASH_SIZE])
{
	uint64_t nseg = codec_num_segments(len), nd = ndata_of(len);
	uint8_t *roots = ref_roots(data, len), *buf = malloc(SEG), folded[CODEC_HASH_SIZE];
	struct codec_proof *got = malloc(sizeof(*got)), *want = malloc(sizeof(*want));
	bool good = codec_root_of_leaves(roots, nseg, folded) == 0 &&
		    memcmp(folded, root, CODEC_HASH_SIZE) == 0;
	size_t n;

	for (uint64_t i = 0; good && i < nd; i++) {
		size_t dl = bytes_of(len, i);
		uint8_t leaf[CODEC_HASH_SIZE];

		/* Big entries: the first and last few are enough. */
		if (nd > 12 && i > 3 && i + 4 < nd)
			continue;
		good = node_store_segment(s, seq, i, buf, &n, got) == 0 &&
		       n == codec_num_chunks(dl) * CODEC_CHUNK_SIZE &&
		       memcmp(buf, data + i * SEG, dl) == 0;
		for (size_t k = dl; good && k < n; k++)
			good = buf[k] == 0;
		good = good && codec_segment_root(buf, n, chunks_of(len, i), leaf) == 0 &&
		       codec_proof_verify(got, root, leaf, i, nseg) == 0 &&
		       codec_proof_build(roots, nseg, i, want) == 0 && proofs_equal(got, want);
	}
	good = good && node_store_segment(s, seq, nd, buf, &n, got) == -EINVAL;
	free(roots);
	free(buf);
	free(got);
	free(want);
	return good;
}

/* --- tests ---------------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Deterministic bytes by position, so a large entry never needs to be held. */
static void gen(uint64_t off, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(mix((off + i) >> 3) >> (8 * ((off + i) & 7)));
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A large ingest keeps memory small: no whole-entry buffers anywhere. */
static void test_large(void)
{
	const uint64_t len = 160ull * MiB + 12345;
	static struct chain_submission sub;
	static struct chain_entry e;
	char dir[128];
	struct node_store *s = NULL;
	struct node_store_writer *w;
	struct codec_merkle m;
	uint8_t *buf = malloc(MiB + 4096), *back = malloc(SEG), root[CODEC_HASH_SIZE];
	uint8_t folded[CODEC_HASH_SIZE];
	long rss0;
	bool good = true;
	int r;

	dir_for(dir, sizeof(dir), "large");
	if (!ok(node_store_open(dir, &s) == 0, "large: open"))
		return;
	codec_merkle_init(&m);
	rss0 = maxrss_kib();
	r = node_store_writer_new(s, &w);
	for (uint64_t off = 0; r == 0 && off < len;) {
		size_t n = MiB + (size_t)(tap_rand() % 4096);

		if (n > len - off)
			n = (size_t)(len - off);
		gen(off, buf, n);
		r = node_store_writer_write(w, buf, n);
		codec_merkle_update(&m, buf, n);
		off += n;
	}
	ok(r == 0 && node_store_writer_seal(w, &sub) == 0, "large: %llu bytes written and sealed",
	   (unsigned long long)len);
	ok(maxrss_kib() - rss0 < 24 * 1024, "large: peak memory grew by %ld KiB only",
	   maxrss_kib() - rss0);
	codec_merkle_finish(&m, root, NULL, NULL, NULL);
	codec_merkle_release(&m);
	fold_nodes(&sub, folded);
	ok(memcmp(folded, root, CODEC_HASH_SIZE) == 0, "large: root is codec's");
	fake_entry(&e, 7, root, len);
	ok(node_store_writer_commit(w, &e) == 0, "large: commit");
	for (int i = 0; i < 8 && good; i++) {
		uint64_t off = i == 0 ? len - 1000 : tap_rand() % len;
		size_t n = SEG, got = 0;

		r = node_store_read(s, 7, off, back, n, true, &got);
		if (n > len - off)
			n = (size_t)(len - off);
		gen(off, buf, n);
		good = r == 0 && got == n && memcmp(back, buf, n) == 0;
	}
	ok(good, "large: verified reads at random offsets");
	{
		struct codec_proof proof;
		uint64_t last = ndata_of(len) - 1;
		size_t n;
		uint8_t leaf[CODEC_HASH_SIZE];

		ok(node_store_segment(s, 7, last, back, &n, &proof) == 0 &&
		       codec_segment_root(back, n, chunks_of(len, last), leaf) == 0 &&
		       codec_proof_verify(&proof, root, leaf, last, codec_num_segments(len)) == 0,
		   "large: last segment's proof verifies");
	}
	node_store_close(s);
	free(buf);
	free(back);
}

static const uint64_t sizes[] = {
    1,		 2,	  255,	   256,		  257,	       1000,	    4096,
    65535,	 SEG - 1, SEG,	   SEG + 1,	  SEG + 256,   SEG + 257,   2 * SEG - 1,
    2 * SEG + 1, MiB,	  MiB + 1, 3 * SEG + 100, 4 * MiB + 3, 8 * MiB + 1, /* three segments of
									       padding after the
									       data */
};

static void test_sizes(struct node_store *s)
{
	bool w_ok = true, r_ok = true, rr_ok = true, seg_ok = true, info_ok = true;
	uint64_t entries0, bytes0, entries1, bytes1, seq;

	node_store_totals(s, &entries0, &bytes0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct known *kn = &known[nknown];
		struct node_store_info info;
		int r;

		kn->seq = 100 + k;
		kn->len = sizes[k];
		kn->data = malloc(kn->len);
		tap_fill(kn->data, kn->len);
		r = write_entry(s, kn->data, kn->len, kn->seq, kn->root);
		if (r < 0) {
			diag("size %llu: write_entry %d", (unsigned long long)kn->len, r);
			w_ok = false;
			continue;
		}
		nknown++;
		r_ok &= reads_back(s, kn->seq, kn->data, kn->len, true) &&
			reads_back(s, kn->seq, kn->data, kn->len, false);
		for (int i = 0; i < 20; i++) {
			uint64_t off = tap_rand() % (kn->len + 10);
			size_t n = (size_t)(tap_rand() % (600 * KiB)) + 1, got = 7, want;
			uint8_t *buf = malloc(n);
			int rr = node_store_read(s, kn->seq, off, buf, n, i & 1, &got);

			want = off >= kn->len ? 0 : n < kn->len - off ? n : (size_t)(kn->len - off);
			if (rr != 0 || got != want || (want && memcmp(buf, kn->data + off, want))) {
				diag("size %llu off %llu n %zu: %d got %zu",
				     (unsigned long long)kn->len, (unsigned long long)off, n, rr,
				     got);
				rr_ok = false;
			}
			free(buf);
		}
		seg_ok &= segments_check(s, kn->seq, kn->data, kn->len, kn->root);
		info_ok &= node_store_info(s, kn->seq, &info) == 0 && info.finalized &&
			   info.length == kn->len && info.tx_seq == kn->seq &&
			   info.segments == codec_num_segments(kn->len) &&
			   info.segments_present == info.segments &&
			   memcmp(info.root, kn->root, CODEC_HASH_SIZE) == 0 &&
			   node_store_find_root(s, kn->root, &seq) == 0 && seq == kn->seq;
	}
	ok(w_ok, "writers: every size written, sealed with codec's root and nodes, committed");
	ok(r_ok, "every entry reads back whole, verified and not");
	ok(rr_ok, "reads at random offsets, fewer bytes at the end");
	ok(seg_ok, "segments and proofs equal codec's and verify; roots fold to the root");
	ok(info_ok, "info and find_root");
	node_store_totals(s, &entries1, &bytes1);
	{
		uint64_t sum = 0;

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			sum += sizes[k];
		ok(entries1 == entries0 + sizeof(sizes) / sizeof(sizes[0]) &&
		       bytes1 == bytes0 + sum,
		   "totals count the entries and their bytes");
	}

	/* The same bytes again under a later tx seq: find_root gives the first. */
	{
		uint8_t root[CODEC_HASH_SIZE];
		struct known *kn = &known[2];
		struct chain_entry *e = malloc(sizeof(*e));
		struct node_store_info info;

		ok(write_entry(s, kn->data, kn->len, 900, root) == 0 &&
		       node_store_find_root(s, root, &seq) == 0 && seq == kn->seq,
		   "a second entry with the same root: find_root gives the lowest tx seq");
		ok(node_store_find_root(s, codec_zero_root(5), &seq) == -ENOENT,
		   "unknown root: -ENOENT");
		ok(node_store_info(s, 12345678, &info) == -ENOENT &&
		       node_store_read(s, 12345678, 0, root, 1, true, &(size_t){0}) == -ENOENT,
		   "unknown tx seq: -ENOENT");
		/* Committing other bytes under a tx seq that is taken leaves the entry
		 * pending. */
		{
			struct known *other = &known[3];
			struct node_store_writer *w;
			struct chain_submission *sub = malloc(sizeof(*sub));
			int r1, r2;

			codec_file_root(other->data, other->len, root);
			fake_entry(e, 900, root, other->len);
			node_store_writer_new(s, &w);
			node_store_writer_write(w, other->data, other->len);
			r1 = node_store_writer_seal(w, sub);
			r2 = node_store_writer_commit(w, e);
			ok(r1 == 0 && r2 == -EEXIST, "commit under a taken tx seq: -EEXIST");
			free(sub);
		}
		free(e);
	}
}

struct collect {
	struct node_store_pending p[8];
	size_t n;
};

static int collect_one(void *ctx, const struct node_store_pending *p)
{
	struct collect *c = ctx;

	if (c->n < 8)
		c->p[c->n++] = *p;
	return 0;
}

static void test_commit_errors(struct node_store *s)
{
	struct collect c = {0};
	struct node_store_writer *w;
	struct chain_submission *sub = malloc(sizeof(*sub));
	struct chain_entry *e = malloc(sizeof(*e));
	uint8_t data[5000], root[CODEC_HASH_SIZE];
	struct node_store_info info;
	int r;

	/* The -EEXIST commit of test_sizes left one pending entry. */
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 1 && c.p[0].length == known[3].len,
	   "a failed commit leaves the entry pending");
	ok(c.n == 1 && node_store_pending_resolve(s, c.p[0].id, NULL) == 0, "drop it");
	c.n = 0;
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 0, "nothing pending");

	tap_fill(data, sizeof(data));
	codec_file_root(data, sizeof(data), root);
	node_store_writer_new(s, &w);
	ok(node_store_writer_seal(w, sub) == -EINVAL, "seal with nothing written: -EINVAL");
	node_store_writer_abort(w);

	node_store_writer_new(s, &w);
	node_store_writer_write(w, data, sizeof(data));
	fake_entry(e, 950, root, sizeof(data));
	ok(node_store_writer_commit(w, e) == -EINVAL && node_store_info(s, 950, &info) == -ENOENT,
	   "commit before seal: -EINVAL, nothing stored");

	node_store_writer_new(s, &w);
	node_store_writer_write(w, data, sizeof(data));
	r = node_store_writer_seal(w, sub);
	ok(r == 0 && node_store_writer_write(w, data, 1) == -EINVAL, "no write after seal");
	c.n = 0;
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 0,
	   "a sealed writer still open is not listed as pending");
	fake_entry(e, 951, root, sizeof(data) - 1);
	ok(node_store_writer_commit(w, e) == -EINVAL, "commit with another length: -EINVAL");
	c.n = 0;
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 1, "and it is pending");
	e->length = sizeof(data);
	e->root[0] ^= 1;
	ok(c.n == 1 && node_store_pending_resolve(s, c.p[0].id, e) == -EINVAL,
	   "resolve with another root: -EINVAL");
	e->root[0] ^= 1;
	ok(c.n == 1 && node_store_pending_resolve(s, c.p[0].id, e) == 0 &&
	       reads_back(s, 951, data, sizeof(data), true),
	   "resolve with the right entry commits it");
	ok(c.n == 1 && node_store_pending_resolve(s, c.p[0].id, e) == -ENOENT,
	   "resolving twice: -ENOENT");
	known[nknown].seq = 951;
	known[nknown].len = sizeof(data);
	known[nknown].data = malloc(sizeof(data));
	memcpy(known[nknown].data, data, sizeof(data));
	memcpy(known[nknown].root, root, CODEC_HASH_SIZE);
	nknown++;
	free(sub);
	free(e);
}

/* Uploads in segments, in random order, with every kind of wrong upload refused. */
static void test_expect(struct node_store *s)
{
	static const uint64_t lens[] = {1,	   300,	   SEG,	    SEG + 1,
					SEG + 256, 700000, 2 * MiB, 8 * MiB + 1};
	bool all_ok = true;

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint64_t len = lens[k], seq = 1000 + k, nseg = codec_num_segments(len);
		uint64_t nd = ndata_of(len), order[64];
		uint8_t *data = malloc(len), *roots, root[CODEC_HASH_SIZE],
			*bad = malloc(SEG + 256);
		struct codec_proof *proofs = malloc(nd * sizeof(*proofs)), wrong;
		struct chain_entry *e = malloc(sizeof(*e));
		struct node_store_info info;
		size_t got;
		bool good = true;
		int r;

		tap_fill(data, len);
		codec_file_root(data, len, root);
		roots = ref_roots(data, len);
		for (uint64_t i = 0; i < nd; i++)
			codec_proof_build(roots, nseg, i, &proofs[i]);
		fake_entry(e, seq, root, len);

		good &= node_store_expect(s, e) == 0 && node_store_expect(s, e) == 0;
		e->length++;
		good &= node_store_expect(s, e) == -EEXIST;
		e->length--;
		good &= node_store_info(s, seq, &info) == 0 && !info.finalized &&
			info.segments == nseg && info.segments_present == nseg - nd;
		good &= node_store_read(s, seq, 0, data, 1, true, &got) == -EAGAIN;
		if (!good)
			diag("len %llu: expect", (unsigned long long)len);

		for (uint64_t i = 0; i < nd; i++)
			order[i] = i;
		for (uint64_t i = nd; i > 1; i--) {
			uint64_t j = tap_rand() % i, t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		for (uint64_t n = 0; n < nd; n++) {
			uint64_t i = order[n];
			size_t dl = bytes_of(len, i), sent = dl;
			const uint8_t *seg = data + i * SEG;

			/* The last segment: unpadded, or padded to a whole chunk, by turns. */
			if (i == nd - 1 && (k & 1) && dl % CODEC_CHUNK_SIZE) {
				sent = (size_t)codec_num_chunks(dl) * CODEC_CHUNK_SIZE;
				memset(bad, 0, sent);
				memcpy(bad, seg, dl);
				seg = bad;
			}
			if (n == 0) {
				uint8_t *flip = malloc(sent);

				/* Wrong data, wrong proof, wrong index, short data, unknown entry.
				 */
				memcpy(flip, seg, sent);
				flip[tap_rand() % dl] ^= 0x20;
				r = node_store_put_segment(s, seq, i, flip, sent, &proofs[i]);
				good &= r == -CODEC_EPROOF_LEAF;
				wrong = proofs[i];
				wrong.lemma[codec_proof_lemma_len(wrong.depth) - 1][3] ^= 1;
				good &= node_store_put_segment(s, seq, i, seg, sent, &wrong) < 0;
				if (nd > 1) {
					good &= node_store_put_segment(s, seq, i, seg, sent,
								       &proofs[(i + 1) % nd]) < 0;
					good &= node_store_put_segment(s, seq, (i + 1) % nd, seg,
								       sent, &proofs[i]) < 0;
				}
				good &= node_store_put_segment(s, seq, nd, seg, sent, &proofs[i]) ==
					-EINVAL;
				if (dl > 1)
					good &= node_store_put_segment(s, seq, i, seg, dl - 1,
								       &proofs[i]) == -EINVAL;
				good &= node_store_put_segment(s, 99999, i, seg, sent,
							       &proofs[i]) == -ENOENT;
				good &= node_store_info(s, seq, &info) == 0 &&
					info.segments_present == nseg - nd;
				free(flip);
				if (!good)
					diag("len %llu: refusals", (unsigned long long)len);
			}
			r = node_store_put_segment(s, seq, i, seg, sent, &proofs[i]);
			good &= r == 0;
			if (n == 0) /* twice: harmless, counted once */
				good &=
				    node_store_put_segment(s, seq, i, seg, sent, &proofs[i]) == 0;
			good &= node_store_info(s, seq, &info) == 0 &&
				info.segments_present == nseg - nd + n + 1 &&
				info.finalized == (n + 1 == nd);
			if (!good) {
				diag("len %llu: put %llu -> %d", (unsigned long long)len,
				     (unsigned long long)i, r);
				break;
			}
		}
		good &= reads_back(s, seq, data, len, true);
		good &= segments_check(s, seq, data, len, root);
		good &= node_store_put_segment(s, seq, 0, data, bytes_of(len, 0), &proofs[0]) == 0;
		if (!good)
			diag("len %llu failed", (unsigned long long)len);
		all_ok &= good;
		known[nknown].seq = seq;
		known[nknown].data = data;
		known[nknown].len = len;
		memcpy(known[nknown].root, root, CODEC_HASH_SIZE);
		nknown++;
		free(roots);
		free(bad);
		free(proofs);
		free(e);
	}
	ok(all_ok, "expect + put_segment: any order, padded or not, refusals store nothing, "
		   "finalized exactly when complete");
}

/* Uploads in batches (node_store_put_segments): a batch with one wrong segment stores
 * nothing; batches in random order, one repeating stored segments, finalize the entry. */
static void test_put_segments(struct node_store *s)
{
	static const uint64_t lens[] = {1, SEG + 1, 2 * MiB, 8 * MiB + 1};
	bool all_ok = true;

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint64_t len = lens[k], seq = 2000 + k, nseg = codec_num_segments(len);
		uint64_t nd = ndata_of(len);
		uint8_t *data = malloc(len), *roots, root[CODEC_HASH_SIZE], *flip = malloc(SEG);
		struct codec_proof *proofs = malloc(nd * sizeof(*proofs));
		struct node_store_segment *g = malloc(nd * sizeof(*g));
		struct chain_entry *e = malloc(sizeof(*e));
		struct node_store_info info;
		bool good = true;

		tap_fill(data, len);
		codec_file_root(data, len, root);
		roots = ref_roots(data, len);
		for (uint64_t i = 0; i < nd; i++) {
			codec_proof_build(roots, nseg, i, &proofs[i]);
			g[i] = (struct node_store_segment){.index = i,
							   .data = data + i * SEG,
							   .len = bytes_of(len, i),
							   .proof = &proofs[i]};
		}
		for (uint64_t i = nd; i > 1; i--) { /* any order */
			uint64_t j = tap_rand() % i;
			struct node_store_segment t = g[i - 1];

			g[i - 1] = g[j];
			g[j] = t;
		}
		fake_entry(e, seq, root, len);
		good &= node_store_expect(s, e) == 0;
		/* The last of a batch is wrong: nothing of it is stored. */
		memcpy(flip, g[nd - 1].data, g[nd - 1].len);
		flip[tap_rand() % g[nd - 1].len] ^= 1;
		{
			struct node_store_segment keep = g[nd - 1];

			g[nd - 1].data = flip;
			good &= node_store_put_segments(s, seq, g, nd) == -CODEC_EPROOF_LEAF;
			g[nd - 1] = keep;
		}
		good &= node_store_info(s, seq, &info) == 0 && info.segments_present == nseg - nd;
		good &= node_store_put_segments(s, seq, g, NODE_STORE_PUT_SEGMENTS_MAX + 1) ==
			-E2BIG;
		for (uint64_t at = 0; at < nd;) {
			size_t n = 1 + tap_rand() % 16;

			if (n > nd - at)
				n = (size_t)(nd - at);
			good &= node_store_put_segments(s, seq, g + at, n) == 0;
			if (at > 0) /* again, with one stored before: harmless */
				good &= node_store_put_segments(s, seq, g + at - 1, n) == 0;
			at += n;
			good &= node_store_info(s, seq, &info) == 0 &&
				info.segments_present == nseg - nd + at && info.finalized == (at == nd);
		}
		good &= reads_back(s, seq, data, len, true);
		good &= segments_check(s, seq, data, len, root);
		good &= node_store_put_segments(s, seq, g, nd < 16 ? nd : 16) == 0;
		if (!good)
			diag("len %llu failed", (unsigned long long)len);
		all_ok &= good;
		free(roots);
		free(data);
		free(flip);
		free(proofs);
		free(g);
		free(e);
	}
	ok(all_ok, "put_segments: a wrong segment stores none of its batch; batches in any "
		   "order, repeats harmless, finalized exactly when complete");
}

struct job {
	struct node_store *s;
	unsigned t;
	int err;
	uint8_t *data[4];
	uint64_t len[4];
	uint64_t seed;
};

static void *writer_thread(void *arg)
{
	struct job *j = arg;
	uint64_t rng = j->seed;

	for (int k = 0; k < 4 && !j->err; k++) {
		static _Thread_local struct chain_submission sub;
		static _Thread_local struct chain_entry e;
		struct node_store_writer *w;
		uint8_t root[CODEC_HASH_SIZE];
		size_t pos = 0;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		j->len[k] = 1 + (rng >> 33) % (1536 * KiB);
		j->data[k] = malloc(j->len[k]);
		for (uint64_t i = 0; i < j->len[k]; i++)
			j->data[k][i] = (uint8_t)(mix(rng + i) >> 11);
		j->err = node_store_writer_new(j->s, &w);
		while (!j->err && pos < j->len[k]) {
			size_t n = 1 + (size_t)(mix(rng + pos) % (200 * KiB));

			if (n > j->len[k] - pos)
				n = j->len[k] - pos;
			j->err = node_store_writer_write(w, j->data[k] + pos, n);
			pos += n;
		}
		if (!j->err)
			j->err = node_store_writer_seal(w, &sub);
		if (!j->err) {
			fold_nodes(&sub, root);
			fake_entry(&e, 5000 + j->t * 10 + (unsigned)k, root, j->len[k]);
			j->err = node_store_writer_commit(w, &e);
		} else {
			node_store_writer_abort(w);
		}
	}
	return NULL;
}

struct reader {
	struct node_store *s;
	const uint8_t *data;
	uint64_t len;
	volatile int stop;
	int err;
	unsigned rounds;
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;
	uint8_t *buf = malloc(rd->len);

	while (!rd->stop && !rd->err) {
		size_t got;

		rd->err = node_store_read(rd->s, 1, 0, buf, rd->len, true, &got);
		if (!rd->err && (got != rd->len || memcmp(buf, rd->data, rd->len)))
			rd->err = -1;
		rd->rounds++;
	}
	free(buf);
	return NULL;
}

static void test_concurrent(void)
{
	enum { T = 6 };
	struct node_store_config cfg = {.pack_size = 512 * KiB};
	struct job jobs[T];
	pthread_t tid[T], rt;
	struct reader rd = {0};
	char dir[128];
	struct node_store *s = NULL;
	uint8_t first[300000];
	unsigned npacks = 0;
	bool good = true;

	dir_for(dir, sizeof(dir), "concurrent");
	if (!ok(node_store_open_config(dir, &cfg, &s) == 0, "concurrent: open with 512 KiB packs"))
		return;
	tap_fill(first, sizeof(first));
	ok(write_entry(s, first, sizeof(first), 1, NULL) == 0, "concurrent: a first entry");
	rd = (struct reader){.s = s, .data = first, .len = sizeof(first)};
	pthread_create(&rt, NULL, reader_thread, &rd);
	for (unsigned t = 0; t < T; t++) {
		jobs[t] = (struct job){.s = s, .t = t, .seed = 1000 + t};
		pthread_create(&tid[t], NULL, writer_thread, &jobs[t]);
	}
	for (unsigned t = 0; t < T; t++)
		pthread_join(tid[t], NULL);
	rd.stop = 1;
	pthread_join(rt, NULL);
	for (unsigned t = 0; t < T; t++) {
		good &= jobs[t].err == 0;
		for (int k = 0; k < 4 && jobs[t].data[k]; k++) {
			good &= reads_back(s, 5000 + t * 10 + (unsigned)k, jobs[t].data[k],
					   jobs[t].len[k], true);
			free(jobs[t].data[k]);
		}
	}
	ok(good, "concurrent: %d writers' entries intact", T);
	ok(rd.err == 0, "concurrent: verified reads meanwhile (%u rounds)", rd.rounds);
	pack_bytes(dir, &npacks);
	ok(npacks >= T, "concurrent: packs rolled over and pooled (%u packs)", npacks);
	node_store_close(s);
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* More packs than descriptors kept open: idle ones are closed and reopened on demand. */
static void test_many_packs(void)
{
	enum { N = 320 };
	struct node_store_config cfg = {.pack_size = 1}; /* one entry per pack */
	static uint8_t data[N][100];
	char dir[128];
	struct node_store *s = NULL;
	unsigned npacks = 0, fds;
	bool good = true;

	dir_for(dir, sizeof(dir), "many");
	if (!ok(node_store_open_config(dir, &cfg, &s) == 0, "many: open with 1-byte packs"))
		return;
	for (unsigned i = 0; i < N && good; i++) {
		tap_fill(data[i], sizeof(data[i]));
		good = write_entry(s, data[i], sizeof(data[i]), i, NULL) == 0;
	}
	fds = open_fds();
	for (unsigned i = 0; i < N && good; i++)
		good = reads_back(s, i, data[i], sizeof(data[i]), true);
	pack_bytes(dir, &npacks);
	ok(good && npacks == N, "many: %u entries in %u packs read back", N, npacks);
	ok(fds < 256 + 64, "many: descriptors stay bounded (%u open)", fds);
	node_store_close(s);
	ok(node_store_open_config(dir, &cfg, &s) == 0 &&
	       reads_back(s, N - 1, data[N - 1], 100, true),
	   "many: reopen");
	node_store_close(s);
}

/* Prune: three entries in one pack, the middle one dropped; its blocks go, its
 * neighbours' bytes stay, and all of it survives a reopen. */
static void test_prune(void)
{
	enum { LEN = 3 * SEG + 1000 };
	static uint8_t data[3][LEN];
	struct node_store_info si;
	char dir[128], path[200];
	struct node_store *s = NULL;
	struct stat st0, st1;
	uint64_t e0, b0, e1, b1, freed = 7;
	uint8_t buf[16];
	size_t got;
	bool good = true;

	dir_for(dir, sizeof(dir), "prune");
	if (!ok(node_store_open(dir, &s) == 0, "prune: open"))
		return;
	for (unsigned i = 0; i < 3 && good; i++) {
		tap_fill(data[i], LEN);
		good = write_entry(s, data[i], LEN, 100 + i, NULL) == 0;
	}
	snprintf(path, sizeof(path), "%s/packs/00000000.pack", dir);
	node_store_totals(s, &e0, &b0);
	ok(good && stat(path, &st0) == 0, "prune: three entries written in one pack");
	ok(node_store_prune(s, 101, &freed) == 0 && freed == LEN, "prune: the middle entry");
	if (stat(path, &st1) < 0)
		memset(&st1, 0, sizeof(st1));
	ok(st1.st_size == st0.st_size &&
	       (st0.st_blocks - st1.st_blocks) * 512 >= LEN - 2 * 4096,
	   "prune: its whole blocks are given back, the pack keeps its length (%lld -> %lld "
	   "blocks)",
	   (long long)st0.st_blocks, (long long)st1.st_blocks);
	ok(node_store_read(s, 101, 0, buf, sizeof(buf), true, &got) == -ENODATA,
	   "prune: reading it gives -ENODATA");
	ok(node_store_info(s, 101, &si) == 0 && si.pruned && !si.finalized,
	   "prune: info says pruned");
	ok(reads_back(s, 100, data[0], LEN, true) && reads_back(s, 102, data[2], LEN, true),
	   "prune: the neighbours read back verified");
	node_store_totals(s, &e1, &b1);
	ok(e1 == e0 - 1 && b1 == b0 - LEN, "prune: totals drop by the entry");
	ok(node_store_prune(s, 101, &freed) == 0 && freed == 0,
	   "prune: again is harmless and counts nothing");
	ok(node_store_prune(s, 999, &freed) == -ENOENT, "prune: an unknown entry: -ENOENT");
	node_store_close(s);
	s = NULL;
	ok(node_store_open(dir, &s) == 0 && node_store_info(s, 101, &si) == 0 && si.pruned &&
	       reads_back(s, 102, data[2], LEN, true),
	   "prune: after a reopen, still pruned, the others intact");
	node_store_close(s);
}

/*
 * One shard of an entry: only its segments are taken (others: -EXDEV), it is finalized
 * when they are here (at once when it has none), reads and segments of the others give
 * -EREMOTE, proofs are the ones the segments came with, and a reopen keeps all of it.
 */
static void test_expect_shard(struct node_store **sp, const char *dir)
{
	static const struct {
		uint64_t len, start;
		uint32_t id, n;
	} cases[] = {
	    {9 * SEG + 5, 0, 0, 2},	 {9 * SEG + 5, 0, 1, 2},     {9 * SEG + 5, 3 * 1024, 1, 4},
	    {9 * SEG, 1024, 3, 4},	 {SEG / 2, 5 * 1024 + 64, 1, 2}, {SEG / 2, 5 * 1024 + 64, 0, 2},
	    {2 * SEG, 8 * 1024, 2, 8},
	};
	bool all = true;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct node_store *s = *sp;
		uint64_t len = cases[c].len, seq = 3000 + c, nseg = codec_num_segments(len);
		uint64_t nd = ndata_of(len), first = cases[c].start / 1024, held = 0, got_held = 0;
		uint8_t *data = malloc(len), *roots, root[CODEC_HASH_SIZE], *buf = malloc(SEG);
		struct codec_proof *proofs = malloc(nd * sizeof(*proofs)), *p = malloc(sizeof(*p));
		struct chain_entry *e = malloc(sizeof(*e));
		struct node_store_info info;
		bool good = true;
		size_t n;

		tap_fill(data, len);
		codec_file_root(data, len, root);
		roots = ref_roots(data, len);
		for (uint64_t i = 0; i < nd; i++) {
			codec_proof_build(roots, nseg, i, &proofs[i]);
			held += (first + i) % cases[c].n == cases[c].id;
		}
		fake_entry(e, seq, root, len);
		e->start = cases[c].start;
		good &= node_store_expect_shard(s, e, cases[c].id, 3) == -EINVAL;
		good &= node_store_expect_shard(s, e, cases[c].n, cases[c].n) == -EINVAL;
		good &= node_store_expect_shard(s, e, cases[c].id, cases[c].n) == 0;
		good &= node_store_info(s, seq, &info) == 0 && info.num_shard == cases[c].n &&
			info.shard_id == cases[c].id && info.segments_held == held &&
			info.finalized == (held == 0);
		for (uint64_t i = 0; i < nd; i++) {
			bool mine = (first + i) % cases[c].n == cases[c].id;
			size_t dl = bytes_of(len, i);
			int r = node_store_put_segment(s, seq, i, data + i * SEG, dl, &proofs[i]);

			good &= mine ? r == 0 : r == -EXDEV;
			got_held += mine ? 1 : 0;
			good &= node_store_info(s, seq, &info) == 0 &&
				info.finalized == (got_held == held);
		}
		if (c == 2) { /* reopened: the record and the proofs are still there */
			node_store_close(s);
			good &= node_store_open(dir, sp) == 0;
			s = *sp;
		}
		for (uint64_t i = 0; good && i < nd; i++) {
			bool mine = (first + i) % cases[c].n == cases[c].id;
			size_t dl = bytes_of(len, i);
			int r = node_store_segment(s, seq, i, buf, &n, p);

			if (!mine) {
				good &= r == -EREMOTE &&
					node_store_read(s, seq, i * SEG, buf, 1, true, &n) == -EREMOTE;
				continue;
			}
			good &= r == 0 && memcmp(buf, data + i * SEG, dl) == 0 &&
				proofs_equal(p, &proofs[i]);
			good &= node_store_read(s, seq, i * SEG, buf, dl, true, &n) == 0 && n == dl &&
				memcmp(buf, data + i * SEG, dl) == 0;
		}
		if (!good)
			diag("shard case %zu failed", c);
		all &= good;
		free(data);
		free(roots);
		free(buf);
		free(proofs);
		free(p);
		free(e);
	}
	ok(all, "expect shard: only the shard's segments, finalized when they are here");
}

/* Parity of every stripe of data (as node/peer/ec.c computes it), m symbols each. */
static uint8_t *stripe_parity(const struct node_ec *ec, const uint8_t *data, uint64_t len,
			      unsigned k, unsigned m, uint64_t j)
{
	uint64_t nd = ndata_of(len);
	unsigned have = nd - j * k < k ? (unsigned)(nd - j * k) : k;
	const uint8_t *d[256];
	size_t dl[256];
	uint8_t *par = malloc((size_t)m * SEG), *pp[256];

	for (unsigned i = 0; i < have; i++) {
		d[i] = data + (j * k + i) * SEG;
		dl[i] = bytes_of(len, j * k + i);
	}
	for (unsigned p = 0; p < m; p++)
		pp[p] = par + (size_t)p * SEG;
	if (node_ec_encode(ec, d, dl, have, pp) != 0) {
		free(par);
		return NULL;
	}
	return par;
}

/*
 * Entries held with a policy: every shard of a k+m cluster expects its data segments and
 * parity symbols as node/peer/place.h lays them out, is finalized only when both are
 * here, serves its stored segments before that, keeps and serves the stripe's proofs with
 * its parity, and refuses parity that is not its own or comes with wrong proofs.
 */
static void test_expect_ec(struct node_store *s)
{
	static const struct {
		uint64_t len, start;
		unsigned k, m;
		uint32_t n;
	} cases[] = {
	    {9 * SEG + 5, 0, 2, 2, 4},	       {9 * SEG + 5, 3 * 1024, 2, 2, 4},
	    {7 * SEG, 1024, 4, 2, 8},	       {SEG / 2, 5 * 1024 + 64, 2, 2, 4},
	    {3 * SEG + 77, 6 * 1024, 3, 1, 4}, {17 * SEG + 1, 2 * 1024, 1, 1, 2},
	};
	bool all = true;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t len = cases[c].len, nseg = codec_num_segments(len), nd = ndata_of(len);
		unsigned k = cases[c].k, m = cases[c].m;
		struct node_ec_layout lay = {.k = k, .m = m, .num = cases[c].n};
		uint64_t first = cases[c].start / 1024, nst = node_ec_nstripes(&lay, nd);
		uint8_t *data = malloc(len), *roots, root[CODEC_HASH_SIZE], *buf = malloc(SEG);
		struct codec_proof *proofs = malloc(nd * sizeof(*proofs)), *p = malloc(sizeof(*p));
		struct chain_entry *e = malloc(sizeof(*e));
		struct node_ec *ec = NULL;
		bool good = node_ec_new(k, m, &ec) == 0;

		tap_fill(data, len);
		codec_file_root(data, len, root);
		roots = ref_roots(data, len);
		for (uint64_t i = 0; i < nd; i++)
			codec_proof_build(roots, nseg, i, &proofs[i]);
		for (uint32_t id = 0; good && id < cases[c].n; id++) {
			struct node_store_hold h = {.shard_id = id, .num_shard = cases[c].n,
						    .ec_k = k, .ec_m = m};
			uint64_t seq = 6000 + c * 16 + id, parity = 0, data_held = 0;
			struct node_ec_sym syms[64];
			size_t nsym = node_ec_shard_symbols(&lay, first, nd, id, syms, 64), n;
			struct node_store_info info;
			unsigned pos;

			fake_entry(e, seq, root, len);
			e->start = cases[c].start;
			good &= node_store_expect_hold(s, e, &(struct node_store_hold){
							  .shard_id = id, .num_shard = cases[c].n,
							  .ec_k = k, .ec_m = cases[c].n}) == -EINVAL;
			good &= node_store_expect_hold(s, e, &h) == 0;
			for (size_t q = 0; q < nsym; q++)
				syms[q].pos >= k ? parity++ : data_held++;
			good &= node_store_info(s, seq, &info) == 0 && info.ec_k == k &&
				info.ec_m == m && info.parity_held == parity &&
				info.segments_held == data_held && info.parity_present == 0 &&
				info.finalized == (nsym == 0);
			for (uint64_t i = 0; i < nd; i++) {
				int r = node_store_put_segment(s, seq, i, data + i * SEG,
							       bytes_of(len, i), &proofs[i]);

				good &= (first + i) % cases[c].n == id ? r == 0 : r == -EXDEV;
				if (r == 0) /* served before the entry is finalized */
					good &= node_store_segment(s, seq, i, buf, &n, p) == 0 &&
						memcmp(buf, data + i * SEG, bytes_of(len, i)) == 0;
			}
			good &= node_store_info(s, seq, &info) == 0 &&
				info.finalized == (parity == 0);
			for (uint64_t j = 0; good && j < nst; j++) {
				uint8_t *par = stripe_parity(ec, data, len, k, m, j);
				unsigned have = node_ec_stripe_ndata(&lay, nd, j);
				int mine = -1, r;

				for (size_t q = 0; q < nsym; q++)
					if (syms[q].stripe == j && syms[q].pos >= k)
						mine = (int)syms[q].pos;
				good &= par != NULL;
				if (!good)
					break;
				if (mine < 0) {
					good &= node_store_put_parity(s, seq, j, par, &proofs[j * k],
								      have) == -EXDEV &&
						node_store_parity(s, seq, j, buf, &pos) == -EXDEV;
					free(par);
					continue;
				}
				good &= node_store_parity(s, seq, j, buf, &pos) == -ENOENT;
				good &= node_store_put_parity(s, seq, j, par + (mine - k) * SEG,
							      &proofs[j * k], have - 1 + (have == 1 ? 2 : 0)) ==
					-EINVAL;
				if (have > 1) /* proofs swapped: each shows another position */
					good &= node_store_put_parity(s, seq, j, par + (mine - k) * SEG,
								      &proofs[j * k + 1], have) != 0;
				r = node_store_put_parity(s, seq, j, par + (mine - k) * SEG,
							  &proofs[j * k], have);
				good &= r == 0;
				good &= node_store_parity(s, seq, j, buf, &pos) == 0 &&
					pos == (unsigned)mine &&
					memcmp(buf, par + (mine - k) * SEG, SEG) == 0;
				for (unsigned d = 0; d < have; d++)
					good &= node_store_proof(s, seq, j * k + d, p) == 0 &&
						proofs_equal(p, &proofs[j * k + d]);
				/* again: harmless */
				good &= node_store_put_parity(s, seq, j, par + (mine - k) * SEG,
							      &proofs[j * k], have) == 0;
				free(par);
			}
			good &= node_store_info(s, seq, &info) == 0 && info.finalized &&
				info.parity_present == parity;
			if (!good)
				diag("ec case %zu shard %u failed", c, id);
		}
		all &= good;
		node_ec_free(ec);
		free(data);
		free(roots);
		free(buf);
		free(proofs);
		free(p);
		free(e);
	}
	ok(all, "expect with a policy: data and parity as placed, finalized when both are here");
}

static void test_reopen(struct node_store **sp, const char *dir)
{
	uint64_t e0, b0, e1, b1, seq;
	struct node_store_recovery rep;
	bool good = true;

	node_store_totals(*sp, &e0, &b0);
	node_store_close(*sp);
	*sp = NULL;
	ok(node_store_open(dir, sp) == 0, "reopen");
	{
		struct node_store *twice = NULL;

		ok(node_store_open(dir, &twice) == -EBUSY && twice == NULL,
		   "a second open of the same store: -EBUSY");
	}
	node_store_recovery_report(*sp, &rep);
	ok(rep.packs > 0 && rep.packs_truncated == 0 && rep.pending == 0 && rep.expected == 0 &&
	       rep.packs_missing == 0,
	   "reopen after a clean close: nothing to repair");
	for (size_t k = 0; k < nknown; k++)
		good &= reads_back(*sp, known[k].seq, known[k].data, known[k].len, true) &&
			node_store_find_root(*sp, known[k].root, &seq) == 0;
	ok(good, "reopen: all %zu entries intact", nknown);
	node_store_totals(*sp, &e1, &b1);
	ok(e0 == e1 && b0 == b1, "reopen: totals kept");
	ok(segments_check(*sp, known[nknown - 1].seq, known[nknown - 1].data, known[nknown - 1].len,
			  known[nknown - 1].root),
	   "reopen: proofs");
}

static void test_corrupt(void)
{
	char dir[128], pack[256];
	struct node_store *s = NULL;
	struct node_store_health h;
	struct codec_proof proof;
	uint8_t *data = malloc(700000), *buf = malloc(700000), b = 0;
	size_t got;
	int fd;

	dir_for(dir, sizeof(dir), "corrupt");
	tap_fill(data, 700000);
	if (!ok(node_store_open(dir, &s) == 0 && write_entry(s, data, 700000, 0, NULL) == 0,
		"corrupt: one entry")) {
		node_store_close(s);
		free(data);
		free(buf);
		return;
	}
	/* The only entry starts at offset 0 of the first pack. Flip a byte of segment 1. */
	snprintf(pack, sizeof(pack), "%s/packs/00000000.pack", dir);
	fd = open(pack, O_RDWR);
	ok(fd >= 0 && pread(fd, &b, 1, 300000) == 1, "corrupt: pack file found");
	b ^= 0x40;
	ok(pwrite(fd, &b, 1, 300000) == 1, "corrupt: byte 300000 flipped");
	close(fd);
	ok(node_store_read(s, 0, 0, buf, 700000, true, &got) == -EIO, "verified read: -EIO");
	ok(node_store_read(s, 0, 299990, buf, 20, true, &got) == -EIO,
	   "verified read of a few bytes of that segment: -EIO");
	ok(node_store_read(s, 0, 0, buf, SEG, true, &got) == 0 && got == SEG &&
	       memcmp(buf, data, SEG) == 0,
	   "the segment before it still reads");
	ok(node_store_read(s, 0, 0, buf, 700000, false, &got) == 0 && got == 700000 &&
	       buf[300000] == (data[300000] ^ 0x40) && memcmp(buf, data, 300000) == 0,
	   "unverified read returns the wrong byte");
	ok(node_store_segment(s, 0, 1, buf, &got, &proof) == -EIO &&
	       node_store_segment(s, 0, 2, buf, &got, &proof) == 0,
	   "segment(): the bad one -EIO, the next fine");
	node_store_health(s, &h);
	ok(h.corrupt_reads == 3 && h.last_tx_seq == 0 && h.last_segment == 1,
	   "health names the entry and segment (%llu reads)", (unsigned long long)h.corrupt_reads);
	node_store_close(s);
	free(data);
	free(buf);
}

/* Crash: what was synced survives, what was not is cut, sealed writers are pending. */
static void test_crash(void)
{
	enum {
		LA = 600000,
		L1 = 300000,
		L2 = 500000,
		LU = 3 * MiB + 5,
		LE = MiB + 100,
		LC = 200000,
		L3 = 400000,
		LE2 = 700000
	};
	char dir[128];
	struct node_store *s = NULL;
	struct node_store_writer *b1, *b2, *b3, *u, *u2;
	struct chain_submission *sub = malloc(sizeof(*sub));
	struct chain_entry *e = malloc(sizeof(*e));
	struct node_store_recovery rep;
	struct node_store_info info;
	struct collect c = {0};
	uint8_t *a = malloc(LA), *d1 = malloc(L1), *d2 = malloc(L2), *du = malloc(LU);
	uint8_t *de = malloc(LE), *dc = malloc(LC), *d3 = malloc(L3), *de2 = malloc(LE2);
	uint8_t *roots, *roots2;
	uint8_t r1[CODEC_HASH_SIZE], r2[CODEC_HASH_SIZE], r3[CODEC_HASH_SIZE];
	uint8_t re[CODEC_HASH_SIZE], re2[CODEC_HASH_SIZE];
	struct codec_proof proof;
	uint64_t nseg_e = codec_num_segments(LE), nseg_e2 = codec_num_segments(LE2), live;
	bool good = true;
	int r;

	tap_fill(a, LA);
	tap_fill(d1, L1);
	tap_fill(d2, L2);
	tap_fill(du, LU);
	tap_fill(de, LE);
	tap_fill(dc, LC);
	tap_fill(d3, L3);
	tap_fill(de2, LE2);
	codec_file_root(d1, L1, r1);
	codec_file_root(d2, L2, r2);
	codec_file_root(d3, L3, r3);
	codec_file_root(de, LE, re);
	codec_file_root(de2, LE2, re2);
	roots = ref_roots(de, LE);
	roots2 = ref_roots(de2, LE2);
	dir_for(dir, sizeof(dir), "crash");

	/* 1. The process dies (kill -9): unsynced bytes are in the page cache, not lost. */
	if (!ok(node_io_crash_sim(true) == 0 && node_store_open(dir, &s) == 0,
		"crash: simulation on"))
		return;
	ok(write_entry(s, a, LA, 0, NULL) == 0, "crash: entry 0 committed");
	ok(node_store_writer_new(s, &b1) == 0 && node_store_writer_write(b1, d1, L1) == 0 &&
	       node_store_writer_seal(b1, sub) == 0,
	   "crash: writer 1 sealed");
	ok(node_store_writer_new(s, &b2) == 0 && node_store_writer_write(b2, d2, L2) == 0 &&
	       node_store_writer_seal(b2, sub) == 0,
	   "crash: writer 2 sealed");
	r = node_store_writer_new(s, &u);
	for (size_t off = 0; r == 0 && off < LU; off += 100000)
		r = node_store_writer_write(u, du + off, LU - off < 100000 ? LU - off : 100000);
	ok(r == 0, "crash: writer 3 wrote 3 MiB, not sealed");
	fake_entry(e, 10, re, LE);
	ok(node_store_expect(s, e) == 0, "crash: entry 10 expected");
	for (uint64_t i = 0; i < 5; i += 2) {
		codec_proof_build(roots, nseg_e, i, &proof);
		good &=
		    node_store_put_segment(s, 10, i, de + i * SEG, bytes_of(LE, i), &proof) == 0;
	}
	ok(good, "crash: segments 0, 2, 4 of it stored");
	node_store_close(s); /* frees the writers without touching the disk */

	ok(node_store_open(dir, &s) == 0, "kill: reopen");
	node_store_recovery_report(s, &rep);
	ok(rep.pending == 2 && rep.expected == 1 && rep.packs_truncated == 1 &&
	       rep.bytes_truncated >= 2 * MiB && rep.packs_missing == 0,
	   "kill: report: 2 pending, 1 expected, %llu unsealed bytes cut",
	   (unsigned long long)rep.bytes_truncated);
	live = LA + L1 + L2 + LE;
	ok(pack_bytes(dir, NULL) == live, "kill: packs hold exactly the recorded entries");
	ok(reads_back(s, 0, a, LA, true), "kill: committed entry intact");
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 2, "kill: two pending listed");
	for (size_t i = 0; i < c.n; i++)
		if (c.p[i].length == L2 && !memcmp(c.p[i].root, r2, CODEC_HASH_SIZE))
			good &= node_store_pending_resolve(s, c.p[i].id, NULL) == 0;
	live -= L2;
	ok(good && pack_bytes(dir, NULL) == live,
	   "kill: writer 2 dropped, and its space (a pack's tail) given back");
	ok(node_store_info(s, 10, &info) == 0 && !info.finalized &&
	       info.segments_present == nseg_e - 5 + 3,
	   "kill: the expected entry kept its segments");

	/* 2. The power fails: what was not synced is gone. */
	ok(write_entry(s, dc, LC, 2, NULL) == 0, "power: entry 2 committed");
	ok(node_store_writer_new(s, &b3) == 0 && node_store_writer_write(b3, d3, L3) == 0 &&
	       node_store_writer_seal(b3, sub) == 0,
	   "power: writer 4 sealed");
	ok(node_store_writer_new(s, &u2) == 0 && node_store_writer_write(u2, du, 2 * MiB) == 0,
	   "power: writer 5 wrote 2 MiB, not sealed");
	fake_entry(e, 11, re2, LE2);
	ok(node_store_expect(s, e) == 0, "power: entry 11 expected, no segment yet");
	ok(node_io_crash() == 0, "power: cut");
	node_store_close(s);
	ok(node_store_open(dir, &s) == 0, "power: reopen");
	node_store_recovery_report(s, &rep);
	ok(rep.pending == 2 && rep.expected == 2 && rep.packs_extended >= 1 &&
	       rep.packs_missing == 0,
	   "power: report: 2 pending, 2 expected, reserved space regrown");
	live += LC + L3 + LE2;
	ok(pack_bytes(dir, NULL) == live, "power: packs hold exactly the recorded entries");
	ok(reads_back(s, 0, a, LA, true) && reads_back(s, 2, dc, LC, true),
	   "power: committed entries intact");
	c.n = 0;
	good = node_store_pending(s, collect_one, &c) == 0 && c.n == 2;
	for (size_t i = 0; good && i < c.n; i++) {
		if (c.p[i].length == L1 && !memcmp(c.p[i].root, r1, CODEC_HASH_SIZE))
			fake_entry(e, 1, r1, L1);
		else if (c.p[i].length == L3 && !memcmp(c.p[i].root, r3, CODEC_HASH_SIZE))
			fake_entry(e, 3, r3, L3);
		else
			good = false;
		good = good && node_store_pending_resolve(s, c.p[i].id, e) == 0;
	}
	ok(good && reads_back(s, 1, d1, L1, true) && reads_back(s, 3, d3, L3, true),
	   "power: both sealed writers survived, committed, read back");
	c.n = 0;
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 0, "power: nothing pending");
	ok(node_store_info(s, 10, &info) == 0 && info.segments_present == nseg_e - 5 + 3,
	   "power: synced segments survived");
	for (uint64_t i = 1; i < 5; i += 2) {
		codec_proof_build(roots, nseg_e, i, &proof);
		good &=
		    node_store_put_segment(s, 10, i, de + i * SEG, bytes_of(LE, i), &proof) == 0;
	}
	for (uint64_t i = 0; i < ndata_of(LE2); i++) {
		codec_proof_build(roots2, nseg_e2, i, &proof);
		good &=
		    node_store_put_segment(s, 11, i, de2 + i * SEG, bytes_of(LE2, i), &proof) == 0;
	}
	ok(good && reads_back(s, 10, de, LE, true) && reads_back(s, 11, de2, LE2, true),
	   "power: both expected entries complete");

	/* A power cut right after these: all of it holds. */
	ok(node_io_crash() == 0, "power: second cut");
	node_store_close(s);
	ok(node_store_open(dir, &s) == 0 && reads_back(s, 0, a, LA, true) &&
	       reads_back(s, 1, d1, L1, true) && reads_back(s, 2, dc, LC, true) &&
	       reads_back(s, 3, d3, L3, true) && reads_back(s, 10, de, LE, true) &&
	       reads_back(s, 11, de2, LE2, true),
	   "power: every acknowledged entry intact");
	node_store_close(s);
	node_io_crash_sim(false);
	free(a), free(d1), free(d2), free(du), free(de), free(dc), free(d3), free(de2);
	free(roots), free(roots2), free(sub), free(e);
}

/* Injected disk errors: the call fails, the store stays consistent. */
static void test_faults(void)
{
	char dir[128];
	struct node_store *s = NULL;
	struct node_store_writer *w;
	struct chain_submission *sub = malloc(sizeof(*sub));
	struct chain_entry *e = malloc(sizeof(*e));
	struct node_store_info info;
	struct node_store_recovery rep;
	struct collect c = {0};
	uint8_t *a = malloc(400000), *big = malloc(2 * MiB), *de = malloc(600000), *roots;
	uint8_t rd[CODEC_HASH_SIZE], buf[100];
	struct codec_proof proof;
	uint64_t nseg = codec_num_segments(600000);
	size_t got;
	int r;

	tap_fill(a, 400000);
	tap_fill(big, 2 * MiB);
	tap_fill(de, 600000);
	codec_file_root(de, 600000, rd);
	roots = ref_roots(de, 600000);
	dir_for(dir, sizeof(dir), "faults");
	if (!ok(node_store_open(dir, &s) == 0, "faults: open"))
		return;

	node_io_fault_set(NODE_IO_OPEN, 1, EACCES, false);
	ok(node_store_writer_new(s, &w) == -EACCES, "faults: new pack cannot be created: -EACCES");
	ok(write_entry(s, a, 400000, 0, NULL) == 0, "faults: entry 0 committed after");

	ok(node_store_writer_new(s, &w) == 0, "faults: writer");
	node_io_fault_set(NODE_IO_WRITE, 1, ENOSPC, false);
	r = node_store_writer_write(w, big, 2 * MiB);
	ok(r == -ENOSPC && node_store_writer_write(w, big, 10) == -ENOSPC &&
	       node_store_writer_seal(w, sub) == -ENOSPC,
	   "faults: ENOSPC in write: write fails, and so does everything after");
	node_store_writer_abort(w);

	node_store_writer_new(s, &w);
	node_store_writer_write(w, big, 1000);
	node_io_fault_set(NODE_IO_WRITE, 1, ENOSPC, false);
	ok(node_store_writer_seal(w, sub) == -ENOSPC, "faults: ENOSPC flushing at seal");
	node_store_writer_abort(w);

	node_store_writer_new(s, &w);
	node_store_writer_write(w, big, 5000);
	node_io_fault_set(NODE_IO_FSYNC, 1, EIO, false);
	ok(node_store_writer_seal(w, sub) == -EIO && node_store_writer_seal(w, sub) == -EIO,
	   "faults: EIO at fsync in seal, and seal never pretends after");
	node_store_writer_abort(w);
	ok(node_store_pending(s, collect_one, &c) == 0 && c.n == 0, "faults: nothing pending");
	ok(reads_back(s, 0, a, 400000, true), "faults: entry 0 intact");
	ok(write_entry(s, big, 2 * MiB, 1, NULL) == 0 && reads_back(s, 1, big, 2 * MiB, true),
	   "faults: a new writer works");

	fake_entry(e, 2, rd, 600000);
	node_io_fault_set(NODE_IO_TRUNCATE, 1, EIO, false);
	ok(node_store_expect(s, e) == -EIO && node_store_info(s, 2, &info) == -ENOENT,
	   "faults: EIO reserving space: nothing expected");
	ok(node_store_expect(s, e) == 0, "faults: expect after");
	codec_proof_build(roots, nseg, 0, &proof);
	node_io_fault_set(NODE_IO_WRITE, 1, ENOSPC, false);
	r = node_store_put_segment(s, 2, 0, de, SEG, &proof);
	ok(r == -ENOSPC && node_store_info(s, 2, &info) == 0 && info.segments_present == 0,
	   "faults: ENOSPC in put_segment: not stored");
	node_io_fault_set(NODE_IO_FSYNC, 1, EIO, false);
	r = node_store_put_segment(s, 2, 0, de, SEG, &proof);
	ok(r == -EIO && node_store_info(s, 2, &info) == 0 && info.segments_present == 0,
	   "faults: EIO at fsync in put_segment: not stored");
	r = 0;
	for (uint64_t i = 0; i < 3 && r == 0; i++) {
		codec_proof_build(roots, nseg, i, &proof);
		r = node_store_put_segment(s, 2, i, de + i * SEG, bytes_of(600000, i), &proof);
	}
	ok(r == 0 && reads_back(s, 2, de, 600000, true), "faults: retried segments complete it");

	node_io_fault_set(NODE_IO_READ, 1, EIO, false);
	ok(node_store_read(s, 0, 0, buf, sizeof(buf), true, &got) == -EIO &&
	       node_store_read(s, 0, 0, buf, sizeof(buf), true, &got) == 0,
	   "faults: EIO reading: -EIO, then fine");
	node_io_fault_clear();
	node_store_close(s);

	ok(node_store_open(dir, &s) == 0, "faults: reopen");
	node_store_recovery_report(s, &rep);
	ok(rep.pending == 0 && rep.expected == 0 && rep.packs_missing == 0,
	   "faults: nothing pending or half-done");
	ok(reads_back(s, 0, a, 400000, true) && reads_back(s, 1, big, 2 * MiB, true) &&
	       reads_back(s, 2, de, 600000, true),
	   "faults: every committed entry intact");
	ok(pack_bytes(dir, NULL) == 400000 + 2 * MiB + 600000,
	   "faults: aborted writers' bytes are gone from the packs");
	node_store_close(s);
	free(a), free(big), free(de), free(roots), free(sub), free(e);
}

int main(void)
{
	char dir[128];
	struct node_store *s = NULL;

	snprintf(base, sizeof(base), "/tmp/zgfs-store-XXXXXX");
	if (!mkdtemp(base))
		skip_all("cannot create a temporary directory");
	tap_seed(42);

	test_large();

	dir_for(dir, sizeof(dir), "main");
	if (!ok(node_store_open(dir, &s) == 0, "open a new store"))
		return tap_done();
	test_sizes(s);
	test_commit_errors(s);
	test_expect(s);
	test_put_segments(s);
	test_commit_over_expected(s);
	test_expect_shard(&s, dir);
	test_expect_ec(s);
	test_concurrent();
	test_many_packs();
	test_prune();
	test_reopen(&s, dir);
	node_store_close(s);
	test_corrupt();
	test_crash();
	test_faults();

	for (size_t k = 0; k < nknown; k++)
		free(known[k].data);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
