/*
 * The log store. Entry bytes live in pack files (DIR/packs/NNNNNNNN.pack) that only grow at
 * their end; everything else is in a leveldb index (DIR/index). docs/STORE.md has the
 * layout and the crash-safety argument; the short form:
 *
 *  - A byte range of a pack is referenced by an index record only after the bytes are
 *    synced (writers: fdatasync before the pending record; segments: fdatasync before the
 *    presence record), and every index change is one synced leveldb batch. So after a
 *    crash every record points at durable bytes, and bytes that no record covers are past
 *    the pack's committed end, which open() cuts.
 *  - Each pack has one appender at a time: a writer owns its pack from new() to
 *    commit()/abort(); expect() takes a pack only for the moment it reserves a region.
 *    Packs not owned and not full wait in `avail`.
 *
 * Index keys (big-endian numbers, so leveldb's byte order is numeric order):
 *   "V"                  format version (u32)
 *   "N"                  next entry id (u64)
 *   "C"                  totals: finalized entries (u64), their bytes (u64)
 *   "P" pack(u32)        committed end of the pack (u64)
 *   "E" id(u64)          entry record (struct rec: REC_SIZE bytes, REC_SHARD_SIZE when the
 *                        store holds one shard of the entry)
 *   "T" seq(u64)         entry id of a settled tx seq
 *   "R" root(32) seq     root → tx seqs (empty value)
 *   "Q" id               pending: sealed, not committed (empty value)
 *   "X" id               expected: settled, segments still missing (empty value)
 *   "S" id blk(u64)      segment roots [blk·256, blk·256 + 256) of an entry, 32 B each;
 *                        32 zero bytes = not stored yet (keccak never gives that)
 *   "F" id seg(u64)      a held segment's proof, for an entry held in part (one shard):
 *                        u8 depth, the lemma, the path (one byte per level); also the
 *                        proofs of the data segments of a stripe whose parity is here
 *   "G" id stripe(u64)   a stored parity symbol of the stripe: keccak-256 of its bytes
 *                        (kept in its first data segment's slot of the entry's region)
 *
 * Entries are keyed by an id of the store's own, not by tx seq: a writer's entry exists
 * (pending) before the chain gives it a tx seq, and its segment roots need not move when
 * it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "codec/keccak.h"
#include "codec/merkle.h"
#include "codec/proof.h"
#include "node/store/io.h"
#include "node/limits.h"
#include "node/store/store.h"
#include "sys/ldb.h"

#define SEG		CODEC_SEGMENT_SIZE
#define ROOTS_PER_BLOCK 256
#define FORMAT_VERSION	1u
#define PACK_NAME_MAX	32

enum { ST_PENDING = 1, ST_EXPECTED = 2, ST_FINAL = 3, ST_PRUNED = 4 };

/* An entry record: "E" id → these fields, big-endian, REC_SIZE bytes. */
struct rec {
	uint8_t state;
	uint32_t pack;
	uint64_t offset; /* in the pack */
	uint64_t length;
	uint64_t tx_seq;  /* 0 while pending */
	uint64_t present; /* data segments stored */
	uint8_t root[CODEC_HASH_SIZE];
	/* Held in part: data segment i is here iff (first_seg + i) mod num_shard == shard_id
	 * (0G's rule on flow segments). num_shard ≤ 1: the whole entry. */
	uint32_t shard_id, num_shard;
	uint64_t first_seg;
	/* With a policy (ec_k ≥ 1): parity symbols of the stripes this shard holds parity
	 * of (rec_parity_pos), and how many of them are stored. */
	unsigned ec_k, ec_m;
	uint64_t parity_present;
};
#define REC_SIZE       (1 + 1 + 4 + 4 * 8 + CODEC_HASH_SIZE)
#define REC_SHARD_SIZE (REC_SIZE + 4 + 4 + 8)
#define REC_EC_SIZE    (REC_SHARD_SIZE + 1 + 1 + 8)

struct pack {
	uint32_t num;
	uint64_t end;	/* committed end: every byte below is covered or dead; none above */
	int fd;		/* -1 while closed */
	unsigned users; /* holders of fd (owner, readers); fd stays open while > 0 */
	bool owned;	/* by a writer, or by expect() for a moment */
};

/* A Merkle tree over one finalized entry's segment roots, for proofs. */
struct tree {
	struct tree *next; /* most recently used first */
	uint64_t id;
	unsigned nlevels;
	uint64_t count[CODEC_PROOF_MAX_DEPTH + 2];
	codec_hash *lvl[CODEC_PROOF_MAX_DEPTH + 2];
	size_t bytes;
	codec_hash data[];
};

struct node_store {
	char packdir[PATH_MAX];
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ro;
	leveldb_writeoptions_t *wo; /* sync = true: every write is a synced write */
	leveldb_writeoptions_t *wo_lazy; /* sync = false: for commit records only */
	uint64_t pack_size;

	pthread_mutex_t mu;  /* everything below, and every read-modify-write of the index */
	struct pack **packs; /* by number; numbers are 0..npacks-1 */
	size_t npacks, packs_cap;
	struct pack **avail; /* neither owned nor full */
	size_t navail, avail_cap;
	unsigned open_fds;
	size_t clock; /* where the search for an idle descriptor to close resumes */
	uint64_t next_id;
	uint64_t total_entries, total_bytes;
	struct node_store_writer *writers; /* live writers */
	struct node_store_recovery recovery;
	struct node_store_health health;

	pthread_mutex_t tree_mu;
	struct tree *trees;
	size_t tree_bytes;
};

struct node_store_writer {
	struct node_store *s;
	struct node_store_writer *next, *prev; /* in s->writers */
	struct pack *pack;
	uint64_t id;
	uint64_t offset; /* where the entry starts in the pack */
	uint64_t length; /* bytes taken, buffered ones included */
	uint8_t *buf;
	size_t buffered; /* the last `buffered` bytes taken, not yet written */
	struct codec_merkle m;
	uint8_t *roots; /* full segments' roots so far */
	size_t nroots, roots_cap;
	int err; /* first error: the writer only accepts abort */
	/* Hashing beside the writer (large entries only): copies of the written bytes go into
	 * a ring of NODE_STORE_HASH_QUEUE_MAX bytes, allocated once, and a thread of the
	 * writer's own hashes them in order while the caller goes on to its next write. Bytes
	 * [hq_done, hq_put) of the stream are in the ring. hmu guards the counters, hq_stop
	 * and hash_err. */
	bool hashing_async;
	pthread_t hasher;
	pthread_mutex_t hmu;
	pthread_cond_t hcv;
	uint8_t *hq_ring;
	uint64_t hq_put, hq_done;
	bool hq_stop;
	int hash_err; /* first error of the hashing, wherever it ran */
	bool sealed;
	bool lazy; /* node_store_writer_set_lazy() */
	bool maybe_recorded; /* a seal's index write failed: it may still have landed */
	uint8_t root[CODEC_HASH_SIZE];
};

/* --- small helpers -------------------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Key "c" + a big-endian u64: 9 bytes. */
static size_t key_id(uint8_t *k, char c, uint64_t v)
{
	k[0] = (uint8_t)c;
	put_be64(k + 1, v);
	return 9;
}

static size_t key_blk(uint8_t *k, uint64_t id, uint64_t blk)
{
	key_id(k, 'S', id);
	put_be64(k + 9, blk);
	return 17;
}

static size_t key_proof(uint8_t *k, uint64_t id, uint64_t seg)
{
	key_id(k, 'F', id);
	put_be64(k + 9, seg);
	return 17;
}

static size_t key_parity(uint8_t *k, uint64_t id, uint64_t stripe)
{
	key_id(k, 'G', id);
	put_be64(k + 9, stripe);
	return 17;
}

static size_t key_root(uint8_t *k, const uint8_t root[CODEC_HASH_SIZE], uint64_t seq)
{
	k[0] = 'R';
	memcpy(k + 1, root, CODEC_HASH_SIZE);
	put_be64(k + 1 + CODEC_HASH_SIZE, seq);
	return 1 + CODEC_HASH_SIZE + 8;
}

static size_t key_pack(uint8_t *k, uint32_t num)
{
	k[0] = 'P';
	put_be32(k + 1, num);
	return 5;
}

/* Writes REC_SIZE bytes, REC_SHARD_SIZE for an entry held in part, REC_EC_SIZE for one
 * with a policy; returns which. */
static size_t rec_encode(const struct rec *r, uint8_t out[REC_EC_SIZE])
{
	out[0] = r->ec_k ? 3 : r->num_shard > 1 ? 2 : 1; /* record version */
	out[1] = r->state;
	put_be32(out + 2, r->pack);
	put_be64(out + 6, r->offset);
	put_be64(out + 14, r->length);
	put_be64(out + 22, r->tx_seq);
	put_be64(out + 30, r->present);
	memcpy(out + 38, r->root, CODEC_HASH_SIZE);
	if (r->num_shard <= 1)
		return REC_SIZE;
	put_be32(out + REC_SIZE, r->shard_id);
	put_be32(out + REC_SIZE + 4, r->num_shard);
	put_be64(out + REC_SIZE + 8, r->first_seg);
	if (!r->ec_k)
		return REC_SHARD_SIZE;
	out[REC_SHARD_SIZE] = (uint8_t)(r->ec_k - 1);
	out[REC_SHARD_SIZE + 1] = (uint8_t)(r->ec_m - 1);
	put_be64(out + REC_SHARD_SIZE + 2, r->parity_present);
	return REC_EC_SIZE;
}

static int rec_decode(const uint8_t *p, size_t len, struct rec *ret)
{
	if (!(len == REC_SIZE && p[0] == 1) && !(len == REC_SHARD_SIZE && p[0] == 2) &&
	    !(len == REC_EC_SIZE && p[0] == 3))
		return -EIO;
	if (p[1] < ST_PENDING || p[1] > ST_PRUNED)
		return -EIO;
	ret->shard_id = 0;
	ret->num_shard = 1;
	ret->first_seg = 0;
	ret->ec_k = ret->ec_m = 0;
	ret->parity_present = 0;
	if (p[0] == 3) {
		ret->ec_k = (unsigned)p[REC_SHARD_SIZE] + 1;
		ret->ec_m = (unsigned)p[REC_SHARD_SIZE + 1] + 1;
		ret->parity_present = get_be64(p + REC_SHARD_SIZE + 2);
		if (ret->ec_k + ret->ec_m > get_be32(p + REC_SIZE + 4))
			return -EIO;
	}
	if (p[0] >= 2) {
		ret->shard_id = get_be32(p + REC_SIZE);
		ret->num_shard = get_be32(p + REC_SIZE + 4);
		ret->first_seg = get_be64(p + REC_SIZE + 8);
		if (ret->num_shard < 2 || (ret->num_shard & (ret->num_shard - 1)) ||
		    ret->shard_id >= ret->num_shard)
			return -EIO;
	}
	ret->state = p[1];
	ret->pack = get_be32(p + 2);
	ret->offset = get_be64(p + 6);
	ret->length = get_be64(p + 14);
	ret->tx_seq = get_be64(p + 22);
	ret->present = get_be64(p + 30);
	memcpy(ret->root, p + 38, CODEC_HASH_SIZE);
	return 0;
}

/* Data segments: the ones holding at least one byte of the entry. */
static uint64_t data_segments(uint64_t length)
{
	return length / SEG + (length % SEG != 0);
}

/* Chunks segment i is hashed over: the last data segment is padded within itself. */
static unsigned segment_chunks(uint64_t length, uint64_t i)
{
	uint64_t padded = codec_padded_chunks(codec_num_chunks(length));
	uint64_t left = padded - i * CODEC_SEGMENT_CHUNKS;

	return left < CODEC_SEGMENT_CHUNKS ? (unsigned)left : CODEC_SEGMENT_CHUNKS;
}

/* Bytes of the entry in data segment i. */
static size_t segment_bytes(uint64_t length, uint64_t i)
{
	uint64_t left = length - i * SEG;

	return left < SEG ? (size_t)left : SEG;
}

/* Whether data segment i of the entry is kept here. */
static bool rec_holds(const struct rec *r, uint64_t i)
{
	return r->num_shard <= 1 || (r->first_seg + i) % r->num_shard == r->shard_id;
}

/* Data segments of the entry kept here: the ones it must have to be finalized. */
static uint64_t rec_held(const struct rec *r)
{
	uint64_t n = data_segments(r->length), first, count = 0;

	if (r->num_shard <= 1)
		return n;
	first = (r->shard_id + r->num_shard - r->first_seg % r->num_shard) % r->num_shard;
	if (first < n)
		count = (n - 1 - first) / r->num_shard + 1;
	return count;
}

/* Whether every data segment touching [offset, end) is kept here. */
static bool rec_holds_range(const struct rec *r, uint64_t offset, uint64_t end)
{
	if (r->num_shard <= 1)
		return true;
	for (uint64_t i = offset / SEG; i * SEG < end; i++)
		if (!rec_holds(r, i))
			return false;
	return true;
}

/* Stripes of the entry under its policy: ceil(data segments / ec_k); 0 without one. */
static uint64_t rec_stripes(const struct rec *r)
{
	uint64_t n = data_segments(r->length);

	return r->ec_k ? n / r->ec_k + (n % r->ec_k != 0) : 0;
}

/*
 * The symbol of stripe j this shard holds, when it is a parity symbol: its position
 * (ec_k .. ec_k + ec_m - 1), else -1. Symbol pos of stripe j is on shard (first_seg +
 * j·k + pos) mod num_shard: node/peer/place.h's node_ec_shard_of(), which
 * tests/test_store.c checks this against.
 */
static int rec_parity_pos(const struct rec *r, uint64_t j)
{
	uint64_t num = r->num_shard, base;

	if (!r->ec_k || j >= rec_stripes(r))
		return -1;
	base = (r->shard_id + num - (r->first_seg + j * r->ec_k) % num) % num;
	return base >= r->ec_k && base < (uint64_t)r->ec_k + r->ec_m ? (int)base : -1;
}

/* Parity symbols the entry must have here: the residue (first_seg + j·k) mod num repeats
 * with period num / gcd(k, num), so one period is counted and multiplied. */
static uint64_t rec_parity_held(const struct rec *r)
{
	uint64_t n = rec_stripes(r), period, full, count = 0, in_period = 0;

	if (!n)
		return 0;
	period = r->num_shard;
	for (unsigned k = r->ec_k; period > 1 && k % 2 == 0; k /= 2)
		period /= 2;
	full = n / period;
	for (uint64_t j = 0; j < period && j < n; j++) {
		bool held = rec_parity_pos(r, j) >= 0;

		in_period += held;
		if (j < n % period)
			count += held;
	}
	return count + full * in_period;
}

/* Bytes of stripe j's parity symbol that are stored: those of its first data segment
 * (a full segment unless the stripe is a lone short last segment, past whose end every
 * data symbol is zero, and so is the parity). It lives in that segment's slot of the
 * entry's region, which a shard holding parity of the stripe holds no data of. */
static size_t parity_bytes(const struct rec *r, uint64_t j)
{
	return segment_bytes(r->length, j * r->ec_k);
}

/* Whether everything this store keeps of the entry is here. */
static bool rec_complete(const struct rec *r)
{
	return r->present == rec_held(r) && r->parity_present == rec_parity_held(r);
}

static bool is_zero_hash(const uint8_t *h)
{
	static const uint8_t zero[CODEC_HASH_SIZE];

	return memcmp(h, zero, CODEC_HASH_SIZE) == 0;
}

/* --- leveldb: the boundary where its error strings become -errno ------------------------ */

static int db_error(char *err)
{
	return sys_ldb_error(err, NULL, 0);
}

/* 0 and a malloc'd value (free with leveldb_free), -ENOENT, or -EIO. */
static int db_get(struct node_store *s, const uint8_t *key, size_t klen, char **ret_val,
		  size_t *ret_len)
{
	char *err = NULL, *v;
	size_t len = 0;

	v = leveldb_get(s->db, s->ro, (const char *)key, klen, &len, &err);
	if (err)
		return db_error(err);
	if (!v)
		return -ENOENT;
	*ret_val = v;
	*ret_len = len;
	return 0;
}

static int db_write_with(struct node_store *s, leveldb_writebatch_t *b,
			 const leveldb_writeoptions_t *wo)
{
	char *err = NULL;

	leveldb_write(s->db, wo, b, &err);
	return db_error(err);
}

static int db_write(struct node_store *s, leveldb_writebatch_t *b)
{
	return db_write_with(s, b, s->wo);
}

static void batch_put(leveldb_writebatch_t *b, const uint8_t *k, size_t klen, const void *v,
		      size_t vlen)
{
	leveldb_writebatch_put(b, (const char *)k, klen, (const char *)v, vlen);
}

static void batch_del(leveldb_writebatch_t *b, const uint8_t *k, size_t klen)
{
	leveldb_writebatch_delete(b, (const char *)k, klen);
}

static int get_u64(struct node_store *s, const uint8_t *key, size_t klen, uint64_t *ret)
{
	char *v = NULL;
	size_t len = 0;
	int r = db_get(s, key, klen, &v, &len);

	if (r < 0)
		return r;
	if (len != 8)
		r = -EIO;
	else
		*ret = get_be64((const uint8_t *)v);
	leveldb_free(v);
	return r;
}

static int load_rec(struct node_store *s, uint64_t id, struct rec *ret)
{
	uint8_t k[9];
	char *v = NULL;
	size_t len = 0;
	int r = db_get(s, k, key_id(k, 'E', id), &v, &len);

	if (r < 0)
		return r;
	r = rec_decode((const uint8_t *)v, len, ret);
	leveldb_free(v);
	return r;
}

static int load_by_seq(struct node_store *s, uint64_t seq, uint64_t *ret_id, struct rec *ret)
{
	uint8_t k[9];
	uint64_t id;
	int r = get_u64(s, k, key_id(k, 'T', seq), &id);

	if (r == 0)
		r = load_rec(s, id, ret);
	if (r == -ENOENT)
		return -ENOENT;
	if (r == 0 && ret_id)
		*ret_id = id;
	return r;
}

static void batch_rec(leveldb_writebatch_t *b, uint64_t id, const struct rec *r)
{
	uint8_t k[9], v[REC_EC_SIZE];
	size_t n = rec_encode(r, v);

	batch_put(b, k, key_id(k, 'E', id), v, n);
}

static void batch_u64(leveldb_writebatch_t *b, char c, uint64_t v)
{
	uint8_t k[1] = {(uint8_t)c}, val[8];

	put_be64(val, v);
	batch_put(b, k, 1, val, 8);
}

static void batch_pack_end(leveldb_writebatch_t *b, uint32_t num, uint64_t end)
{
	uint8_t k[5], v[8];

	put_be64(v, end);
	batch_put(b, k, key_pack(k, num), v, 8);
}

static void batch_totals(leveldb_writebatch_t *b, uint64_t entries, uint64_t bytes)
{
	uint8_t k[1] = {'C'}, v[16];

	put_be64(v, entries);
	put_be64(v + 8, bytes);
	batch_put(b, k, 1, v, 16);
}

/* Roots of blocks covering nseg segments, from roots[0..nseg). */
static void batch_roots(leveldb_writebatch_t *b, uint64_t id, const uint8_t *roots, uint64_t nseg)
{
	for (uint64_t blk = 0; blk * ROOTS_PER_BLOCK < nseg; blk++) {
		uint64_t first = blk * ROOTS_PER_BLOCK, n = nseg - first;
		uint8_t k[17];

		if (n > ROOTS_PER_BLOCK)
			n = ROOTS_PER_BLOCK;
		batch_put(b, k, key_blk(k, id, blk), roots + first * CODEC_HASH_SIZE,
			  (size_t)n * CODEC_HASH_SIZE);
	}
}

static void batch_drop_roots(leveldb_writebatch_t *b, uint64_t id, uint64_t nseg)
{
	for (uint64_t blk = 0; blk * ROOTS_PER_BLOCK < nseg; blk++) {
		uint8_t k[17];

		batch_del(b, k, key_blk(k, id, blk));
	}
}

/* The proof a held segment of an entry held in part arrived with ("F"). */
static void batch_proof(leveldb_writebatch_t *b, uint64_t id, uint64_t seg,
			const struct codec_proof *proof)
{
	uint8_t k[17], v[1 + (CODEC_PROOF_MAX_DEPTH + 2) * CODEC_HASH_SIZE + CODEC_PROOF_MAX_DEPTH];
	unsigned nl = codec_proof_lemma_len(proof->depth);
	size_t n = 0;

	v[n++] = (uint8_t)proof->depth;
	memcpy(v + n, proof->lemma, (size_t)nl * CODEC_HASH_SIZE);
	n += (size_t)nl * CODEC_HASH_SIZE;
	for (unsigned i = 0; i < proof->depth; i++)
		v[n++] = proof->path[i];
	batch_put(b, k, key_proof(k, id, seg), v, n);
}

static int load_proof(struct node_store *s, uint64_t id, uint64_t seg, struct codec_proof *ret)
{
	uint8_t k[17];
	char *v = NULL;
	size_t len = 0, nl;
	int r = db_get(s, k, key_proof(k, id, seg), &v, &len);

	if (r < 0)
		return r; /* -ENOENT: no proof kept for that segment */
	r = -EIO;
	if (len < 1 || v[0] > CODEC_PROOF_MAX_DEPTH)
		goto out;
	ret->depth = (uint8_t)v[0];
	nl = codec_proof_lemma_len(ret->depth);
	if (len != 1 + nl * CODEC_HASH_SIZE + ret->depth)
		goto out;
	memcpy(ret->lemma, v + 1, nl * CODEC_HASH_SIZE);
	for (unsigned i = 0; i < ret->depth; i++)
		ret->path[i] = v[1 + nl * CODEC_HASH_SIZE + i] != 0;
	r = 0;
out:
	leveldb_free(v);
	return r;
}

/* Segment roots [first, first + n) of entry id into out; missing blocks read as zeros. */
static int load_roots(struct node_store *s, uint64_t id, uint64_t first, uint64_t n, uint8_t *out)
{
	uint64_t i = first;

	while (i < first + n) {
		uint64_t blk = i / ROOTS_PER_BLOCK, in = i % ROOTS_PER_BLOCK;
		uint64_t take = ROOTS_PER_BLOCK - in;
		uint8_t k[17];
		char *v = NULL;
		size_t len = 0;
		int r;

		if (take > first + n - i)
			take = first + n - i;
		r = db_get(s, k, key_blk(k, id, blk), &v, &len);
		if (r == -ENOENT) {
			memset(out + (i - first) * CODEC_HASH_SIZE, 0, take * CODEC_HASH_SIZE);
		} else if (r < 0) {
			return r;
		} else {
			if (len < (in + take) * CODEC_HASH_SIZE) {
				leveldb_free(v);
				return -EIO;
			}
			memcpy(out + (i - first) * CODEC_HASH_SIZE, v + in * CODEC_HASH_SIZE,
			       take * CODEC_HASH_SIZE);
			leveldb_free(v);
		}
		i += take;
	}
	return 0;
}

/* --- packs ---------------------------------------------------------------------------- */

static void pack_path(const struct node_store *s, uint32_t num, char *out, size_t size)
{
	snprintf(out, size, "%s/%08" PRIu32 ".pack", s->packdir, num);
}

/* Close idle descriptors while more than the limit are open. Caller holds mu. */
static void packs_trim(struct node_store *s)
{
	for (size_t seen = 0; s->open_fds > NODE_STORE_OPEN_PACKS_MAX && seen < s->npacks; seen++) {
		struct pack *p = s->packs[s->clock];

		s->clock = (s->clock + 1) % s->npacks;
		if (p->fd >= 0 && p->users == 0) {
			node_io_close(p->fd);
			p->fd = -1;
			s->open_fds--;
		}
	}
}

/* Take a hold on p's descriptor, opening it if needed. Caller holds mu. */
static int pack_hold(struct node_store *s, struct pack *p)
{
	if (p->fd < 0) {
		char path[PATH_MAX + PACK_NAME_MAX];
		int fd;

		pack_path(s, p->num, path, sizeof(path));
		fd = node_io_open(path, O_RDWR, 0);
		if (fd < 0)
			return fd;
		p->fd = fd;
		s->open_fds++;
	}
	p->users++;
	return 0;
}

static void pack_unhold(struct node_store *s, struct pack *p)
{
	p->users--;
	packs_trim(s);
}

static int avail_push(struct node_store *s, struct pack *p)
{
	if (s->navail == s->avail_cap) {
		size_t cap = s->avail_cap ? 2 * s->avail_cap : 16;
		struct pack **a = realloc(s->avail, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		s->avail = a;
		s->avail_cap = cap;
	}
	s->avail[s->navail++] = p;
	return 0;
}

/* Give p back to the pool. Caller holds mu. A full pack is simply not offered again; a
 * pack that cannot be offered for want of memory is only wasted space. */
static void pack_release(struct node_store *s, struct pack *p)
{
	p->owned = false;
	if (p->end < s->pack_size)
		(void)avail_push(s, p);
	pack_unhold(s, p);
}

static int packs_add(struct node_store *s, uint32_t num, uint64_t end, struct pack **ret)
{
	struct pack *p;

	if (s->npacks == s->packs_cap) {
		size_t cap = s->packs_cap ? 2 * s->packs_cap : 16;
		struct pack **a = realloc(s->packs, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		s->packs = a;
		s->packs_cap = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->num = num;
	p->end = end;
	p->fd = -1;
	s->packs[s->npacks++] = p;
	*ret = p;
	return 0;
}

/*
 * A pack for a new appender, owned and held on return. Caller holds mu. A new pack is
 * recorded in the index before its file exists, so a crash in between leaves a record
 * that open() completes (an empty pack) rather than a file nobody knows.
 */
static int pack_take(struct node_store *s, struct pack **ret)
{
	leveldb_writebatch_t *b;
	char path[PATH_MAX + PACK_NAME_MAX];
	struct pack *p;
	int r, fd;

	while (s->navail) {
		p = s->avail[--s->navail];
		if (p->owned || p->end >= s->pack_size)
			continue;
		r = pack_hold(s, p);
		if (r < 0) {
			(void)avail_push(s, p);
			return r;
		}
		p->owned = true;
		*ret = p;
		return 0;
	}
	if (s->npacks >= UINT32_MAX)
		return -ENOSPC;
	b = leveldb_writebatch_create();
	batch_pack_end(b, (uint32_t)s->npacks, 0);
	r = db_write(s, b);
	leveldb_writebatch_destroy(b);
	if (r < 0)
		return r;
	r = packs_add(s, (uint32_t)s->npacks, 0, &p);
	if (r < 0)
		return r;
	pack_path(s, p->num, path, sizeof(path));
	fd = node_io_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fd; /* the pack stays known, empty, and is created at the next open */
	r = node_io_fsync_dir(s->packdir);
	if (r < 0) {
		node_io_close(fd);
		return r;
	}
	p->fd = fd;
	s->open_fds++;
	p->users = 1;
	p->owned = true;
	*ret = p;
	return 0;
}

/* --- open and recovery ---------------------------------------------------------------- */

static int mkdir_durable(const char *path)
{
	char parent[PATH_MAX];
	char *slash;
	int r = node_io_mkdir(path, 0700);

	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return r;
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	return node_io_fsync_dir(parent);
}

/* Number of keys with this prefix. */
static uint64_t count_prefix(struct node_store *s, char c)
{
	leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
	char k[1] = {c};
	uint64_t n = 0;

	for (leveldb_iter_seek(it, k, 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t klen;
		const char *key = leveldb_iter_key(it, &klen);

		if (klen == 0 || key[0] != c)
			break;
		n++;
	}
	leveldb_iter_destroy(it);
	return n;
}

/* Bring one pack file to exactly its committed end. */
static int recover_pack(struct node_store *s, struct pack *p, bool *created)
{
	char path[PATH_MAX + PACK_NAME_MAX];
	struct stat st;
	bool changed = false, made = false;
	int fd, r;

	pack_path(s, p->num, path, sizeof(path));
	fd = node_io_open(path, O_RDWR, 0);
	if (fd == -ENOENT) {
		fd = node_io_open(path, O_RDWR | O_CREAT, 0600);
		if (fd >= 0) {
			*created = made = true;
			if (p->end > 0)
				s->recovery.packs_missing++;
		}
	}
	if (fd < 0)
		return fd;
	r = node_io_fstat(fd, &st);
	if (r == 0 && (uint64_t)st.st_size != p->end) {
		if ((uint64_t)st.st_size > p->end) {
			s->recovery.packs_truncated++;
			s->recovery.bytes_truncated += (uint64_t)st.st_size - p->end;
		} else if (!made) {
			s->recovery.packs_extended++;
		}
		r = node_io_ftruncate(fd, p->end);
		changed = true;
	}
	/* Synced so that the cut is not undone by a second crash after new bytes land past
	 * the end and get referenced. */
	if (r == 0 && changed)
		r = node_io_fsync(fd);
	s->recovery.packs++;
	node_io_close(fd);
	return r;
}

static int load_packs(struct node_store *s)
{
	leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
	bool created = false;
	int r = 0;

	for (leveldb_iter_seek(it, "P", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t klen, vlen;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
		const uint8_t *v = (const uint8_t *)leveldb_iter_value(it, &vlen);
		struct pack *p;

		if (klen == 0 || k[0] != 'P')
			break;
		/* Packs are numbered without gaps from 0; anything else is not our index. */
		if (klen != 5 || vlen != 8 || get_be32(k + 1) != s->npacks) {
			r = -EIO;
			break;
		}
		r = packs_add(s, get_be32(k + 1), get_be64(v), &p);
		if (r < 0)
			break;
	}
	leveldb_iter_destroy(it);
	for (size_t i = 0; r == 0 && i < s->npacks; i++) {
		r = recover_pack(s, s->packs[i], &created);
		if (r == 0 && s->packs[i]->end < s->pack_size)
			r = avail_push(s, s->packs[i]);
	}
	if (r == 0 && created)
		r = node_io_fsync_dir(s->packdir);
	return r;
}

static int load_meta(struct node_store *s)
{
	uint8_t k[1];
	char *v = NULL;
	size_t len = 0;
	uint64_t u;
	int r;

	k[0] = 'V';
	r = db_get(s, k, 1, &v, &len);
	if (r == -ENOENT) {
		/* A new index (or one written before "V" was: there is no such thing). */
		leveldb_writebatch_t *b = leveldb_writebatch_create();
		uint8_t val[4];

		put_be32(val, FORMAT_VERSION);
		batch_put(b, k, 1, val, 4);
		r = db_write(s, b);
		leveldb_writebatch_destroy(b);
		if (r < 0)
			return r;
	} else if (r < 0) {
		return r;
	} else {
		r = len == 4 && get_be32((const uint8_t *)v) == FORMAT_VERSION ? 0 : -ENOTSUP;
		leveldb_free(v);
		if (r < 0)
			return r;
	}
	k[0] = 'N';
	r = get_u64(s, k, 1, &u);
	if (r == 0)
		s->next_id = u;
	else if (r != -ENOENT)
		return r;
	k[0] = 'C';
	r = db_get(s, k, 1, &v, &len);
	if (r == 0) {
		if (len == 16) {
			s->total_entries = get_be64((const uint8_t *)v);
			s->total_bytes = get_be64((const uint8_t *)v + 8);
		}
		r = len == 16 ? 0 : -EIO;
		leveldb_free(v);
	} else if (r == -ENOENT) {
		r = 0;
	}
	return r;
}

int node_store_open(const char *dir, struct node_store **ret_store)
{
	return node_store_open_config(dir, NULL, ret_store);
}

int node_store_open_config(const char *dir, const struct node_store_config *cfg,
			   struct node_store **ret_store)
{
	struct node_store *s;
	char path[PATH_MAX];
	struct sys_ldb ldb;
	int r;

	if (!dir || strlen(dir) + 16 >= PATH_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->tree_mu, NULL);
	s->pack_size = cfg && cfg->pack_size ? cfg->pack_size : NODE_STORE_PACK_SIZE;
	snprintf(s->packdir, sizeof(s->packdir), "%s/packs", dir);

	r = mkdir_durable(dir);
	if (r == 0)
		r = mkdir_durable(s->packdir);
	if (r < 0)
		goto fail;

	snprintf(path, sizeof(path), "%s/index", dir);
	r = sys_ldb_open(path, &(struct sys_ldb_config){.create = true}, &ldb, NULL, 0);
	if (r < 0)
		goto fail;
	s->db = ldb.db;
	s->opts = ldb.opts;
	s->ro = ldb.ro;
	s->wo = ldb.wo;
	s->wo_lazy = ldb.wo_lazy;
	r = load_meta(s);
	if (r == 0)
		r = load_packs(s);
	if (r < 0)
		goto fail;
	s->recovery.pending = count_prefix(s, 'Q');
	s->recovery.expected = count_prefix(s, 'X');
	*ret_store = s;
	return 0;
fail:
	node_store_close(s);
	return r;
}

static void tree_free_all(struct node_store *s)
{
	while (s->trees) {
		struct tree *t = s->trees;

		s->trees = t->next;
		free(t);
	}
}

static void hasher_stop(struct node_store_writer *w);

static void writer_free(struct node_store_writer *w)
{
	hasher_stop(w);
	codec_merkle_release(&w->m);
	free(w->buf);
	free(w->roots);
	free(w);
}

void node_store_close(struct node_store *s)
{
	if (!s)
		return;
	while (s->writers) {
		struct node_store_writer *w = s->writers;

		s->writers = w->next;
		writer_free(w);
	}
	for (size_t i = 0; i < s->npacks; i++) {
		node_io_close(s->packs[i]->fd);
		free(s->packs[i]);
	}
	free(s->packs);
	free(s->avail);
	tree_free_all(s);
	sys_ldb_close(&(struct sys_ldb){
	    .db = s->db, .opts = s->opts, .ro = s->ro, .wo = s->wo, .wo_lazy = s->wo_lazy});
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->tree_mu);
	free(s);
}

void node_store_recovery_report(struct node_store *s, struct node_store_recovery *ret_report)
{
	pthread_mutex_lock(&s->mu);
	*ret_report = s->recovery;
	pthread_mutex_unlock(&s->mu);
}

void node_store_health(struct node_store *s, struct node_store_health *ret_health)
{
	pthread_mutex_lock(&s->mu);
	*ret_health = s->health;
	pthread_mutex_unlock(&s->mu);
}

int node_store_totals(struct node_store *s, uint64_t *ret_entries, uint64_t *ret_bytes)
{
	pthread_mutex_lock(&s->mu);
	if (ret_entries)
		*ret_entries = s->total_entries;
	if (ret_bytes)
		*ret_bytes = s->total_bytes;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* --- writers -------------------------------------------------------------------------- */

/* Called by the Merkle builder, on the thread that hashes (the writer's caller, or its
 * hasher): errors go to hash_err, which only that thread writes until the hashing is
 * drained. */
static void writer_on_segment(void *ctx, uint64_t index, const uint8_t root[CODEC_HASH_SIZE])
{
	struct node_store_writer *w = ctx;

	if (w->hash_err)
		return;
	if (index != w->nroots) {
		w->hash_err = -EIO; /* cannot happen: the builder counts from 0 */
		return;
	}
	if (w->nroots == w->roots_cap) {
		size_t cap = w->roots_cap ? 2 * w->roots_cap : 64;
		uint8_t *a = realloc(w->roots, cap * CODEC_HASH_SIZE);

		if (!a) {
			w->hash_err = -ENOMEM;
			return;
		}
		w->roots = a;
		w->roots_cap = cap;
	}
	memcpy(w->roots + w->nroots * CODEC_HASH_SIZE, root, CODEC_HASH_SIZE);
	w->nroots++;
}

/* The hasher takes at most this much of the ring at a time, so that room frees steadily. */
#define HASH_SPAN (1u << 20)

static void *hasher_main(void *arg)
{
	struct node_store_writer *w = arg;

	pthread_mutex_lock(&w->hmu);
	for (;;) {
		uint64_t at;
		size_t n;
		bool failed;
		int r;

		while (w->hq_done == w->hq_put && !w->hq_stop)
			pthread_cond_wait(&w->hcv, &w->hmu);
		if (w->hq_stop)
			break;
		at = w->hq_done % NODE_STORE_HASH_QUEUE_MAX;
		failed = w->hash_err != 0;
		n = (size_t)(w->hq_put - w->hq_done);
		if (n > NODE_STORE_HASH_QUEUE_MAX - at)
			n = (size_t)(NODE_STORE_HASH_QUEUE_MAX - at);
		if (n > HASH_SPAN)
			n = HASH_SPAN;
		pthread_mutex_unlock(&w->hmu);
		/* The writer only fills room past hq_put and before hq_done + the ring's size,
		 * so these bytes stay put while they are hashed without the lock. */
		r = failed ? 0 : codec_merkle_update(&w->m, w->hq_ring + at, n);
		pthread_mutex_lock(&w->hmu);
		if (r < 0 && !w->hash_err)
			w->hash_err = r;
		w->hq_done += n;
		pthread_cond_broadcast(&w->hcv);
	}
	pthread_mutex_unlock(&w->hmu);
	return NULL;
}

/* Waits until every queued byte is hashed; returns the hashing's first error. */
static int hasher_drain(struct node_store_writer *w)
{
	int r;

	if (!w->hashing_async)
		return w->hash_err;
	pthread_mutex_lock(&w->hmu);
	while (w->hq_done != w->hq_put && !w->hq_stop)
		pthread_cond_wait(&w->hcv, &w->hmu);
	r = w->hash_err;
	pthread_mutex_unlock(&w->hmu);
	return r;
}

/* Stops the hasher and frees its ring, dropping what it had not hashed (abort) or nothing
 * (after a drain). */
static void hasher_stop(struct node_store_writer *w)
{
	if (!w->hashing_async)
		return;
	pthread_mutex_lock(&w->hmu);
	w->hq_stop = true; /* the hasher ends after the span it is on */
	pthread_cond_broadcast(&w->hcv);
	pthread_mutex_unlock(&w->hmu);
	pthread_join(w->hasher, NULL);
	pthread_mutex_destroy(&w->hmu);
	pthread_cond_destroy(&w->hcv);
	free(w->hq_ring);
	w->hq_ring = NULL;
	w->hashing_async = false;
}

/* Starts the hasher for a writer whose entry has grown large. false: hash here instead. */
static bool hasher_start(struct node_store_writer *w)
{
	w->hq_ring = malloc(NODE_STORE_HASH_QUEUE_MAX);
	if (!w->hq_ring)
		return false;
	w->hq_put = w->hq_done = 0;
	w->hq_stop = false;
	pthread_mutex_init(&w->hmu, NULL);
	pthread_cond_init(&w->hcv, NULL);
	if (pthread_create(&w->hasher, NULL, hasher_main, w) != 0) {
		pthread_mutex_destroy(&w->hmu);
		pthread_cond_destroy(&w->hcv);
		free(w->hq_ring);
		w->hq_ring = NULL;
		return false;
	}
	w->hashing_async = true;
	return true;
}

/* Copies len bytes into the hasher's ring, starting it for the first large write; waits
 * while the ring is full. 1: hash them here instead. */
static int hash_async(struct node_store_writer *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	int r;

	if (!w->hashing_async &&
	    (w->length + len < NODE_STORE_HASH_ASYNC_MIN || !hasher_start(w)))
		return 1;
	pthread_mutex_lock(&w->hmu);
	while (len > 0) {
		uint64_t at = w->hq_put % NODE_STORE_HASH_QUEUE_MAX;
		size_t room;

		while (w->hq_put - w->hq_done == NODE_STORE_HASH_QUEUE_MAX && !w->hash_err)
			pthread_cond_wait(&w->hcv, &w->hmu);
		if (w->hash_err)
			break;
		room = (size_t)(NODE_STORE_HASH_QUEUE_MAX - (w->hq_put - w->hq_done));
		if (room > NODE_STORE_HASH_QUEUE_MAX - at)
			room = (size_t)(NODE_STORE_HASH_QUEUE_MAX - at);
		if (room > len)
			room = len;
		pthread_mutex_unlock(&w->hmu);
		memcpy(w->hq_ring + at, p, room); /* room the hasher does not read */
		pthread_mutex_lock(&w->hmu);
		w->hq_put += room;
		p += room;
		len -= room;
		pthread_cond_signal(&w->hcv);
	}
	r = w->hash_err;
	pthread_mutex_unlock(&w->hmu);
	return r;
}

int node_store_writer_new(struct node_store *s, struct node_store_writer **ret_writer)
{
	struct node_store_writer *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->s = s;
	w->buf = malloc(NODE_STORE_WRITE_BUFFER);
	r = w->buf ? codec_merkle_init(&w->m) : -ENOMEM;
	if (r < 0) {
		free(w->buf);
		free(w);
		return r;
	}
	w->m.on_segment = writer_on_segment;
	w->m.on_segment_ctx = w;

	pthread_mutex_lock(&s->mu);
	r = pack_take(s, &w->pack);
	if (r == 0) {
		w->offset = w->pack->end;
		w->id = s->next_id++;
		w->next = s->writers;
		if (s->writers)
			s->writers->prev = w;
		s->writers = w;
	}
	pthread_mutex_unlock(&s->mu);
	if (r < 0) {
		writer_free(w);
		return r;
	}
	*ret_writer = w;
	return 0;
}

/* Unlink from the live list and release the pack. Caller holds mu. */
static void writer_detach(struct node_store_writer *w)
{
	struct node_store *s = w->s;

	if (w->prev)
		w->prev->next = w->next;
	else
		s->writers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pack_release(s, w->pack);
}

static int writer_flush(struct node_store_writer *w)
{
	int r;

	if (!w->buffered)
		return 0;
	r = node_io_pwrite(w->pack->fd, w->buf, w->buffered, w->offset + w->length - w->buffered);
	if (r < 0)
		return r;
	w->buffered = 0;
	return 0;
}

int node_store_writer_read(struct node_store_writer *w, uint64_t off, void *buf, size_t len,
			   size_t *ret_len)
{
	uint64_t on_disk = w->length - w->buffered;
	uint8_t *out = buf;
	size_t done = 0;

	if (w->err)
		return w->err;
	if (off >= w->length) {
		*ret_len = 0;
		return 0;
	}
	if (len > w->length - off)
		len = (size_t)(w->length - off);
	while (done < len && off + done < on_disk) {
		size_t want = len - done;
		ssize_t r;

		if (want > on_disk - (off + done))
			want = (size_t)(on_disk - (off + done));
		r = node_io_pread(w->pack->fd, out + done, want, w->offset + off + done);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO; /* the pack is shorter than what was written to it */
		done += (size_t)r;
	}
	if (done < len)
		memcpy(out + done, w->buf + (off + done - on_disk), len - done);
	*ret_len = len;
	return 0;
}

int node_store_writer_write(struct node_store_writer *w, const void *data, size_t len)
{
	int r, hashed;

	if (w->err)
		return w->err;
	if (w->sealed)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (len > NODE_STORE_ENTRY_MAX || w->length > NODE_STORE_ENTRY_MAX - len)
		return -E2BIG;
	/* Hashed from the very bytes that are stored: a copy taken before they are. */
	hashed = hash_async(w, data, len);
	if (hashed < 0)
		return w->err = hashed;
	if (w->buffered + len <= NODE_STORE_WRITE_BUFFER) {
		memcpy(w->buf + w->buffered, data, len);
		w->buffered += len;
	} else {
		r = writer_flush(w);
		if (r == 0 && len >= NODE_STORE_WRITE_BUFFER) {
			/* Large writes go straight from the caller's memory. */
			r = node_io_pwrite(w->pack->fd, data, len, w->offset + w->length);
		} else if (r == 0) {
			memcpy(w->buf, data, len);
			w->buffered = len;
		}
		if (r < 0)
			return w->err = r;
	}
	if (hashed == 1) {
		/* Hashed from the very bytes that were just stored or buffered. */
		r = codec_merkle_update(&w->m, data, len);
		if (r == 0)
			r = w->hash_err;
		if (r < 0)
			return w->err = r;
	}
	w->length += len;
	return 0;
}

void node_store_writer_set_lazy(struct node_store_writer *w)
{
	w->lazy = true;
}

int node_store_writer_seal(struct node_store_writer *w, struct chain_submission *ret_sub)
{
	struct node_store *s = w->s;
	struct codec_subnode nodes[CODEC_MAX_NODES];
	uint8_t last[CODEC_HASH_SIZE], k[9];
	uint64_t nseg, full;
	size_t nnodes;
	leveldb_writebatch_t *b;
	struct rec rec;
	int r;

	if (w->err)
		return w->err;
	if (w->sealed || w->length == 0)
		return -EINVAL;
	r = writer_flush(w);
	if (r == 0)
		r = node_io_fdatasync(w->pack->fd); /* while the hasher catches up */
	if (r == 0)
		r = hasher_drain(w);
	hasher_stop(w);
	if (r == 0)
		r = codec_merkle_finish(&w->m, w->root, nodes, &nnodes, last);
	if (r < 0)
		return w->err = r;

	/* All segment roots: full segments from the builder, then the last data segment
	 * (padded within itself), then whole segments of padding. */
	nseg = codec_num_segments(w->length);
	full = w->length / SEG;
	if (w->nroots != full)
		return w->err = -EIO;
	if (nseg > w->roots_cap) {
		uint8_t *a = realloc(w->roots, nseg * CODEC_HASH_SIZE);

		if (!a)
			return w->err = -ENOMEM;
		w->roots = a;
		w->roots_cap = nseg;
	}
	for (uint64_t i = full; i < nseg; i++)
		memcpy(w->roots + i * CODEC_HASH_SIZE,
		       i == full && w->length % SEG ? last : codec_zero_root(CODEC_SEGMENT_HEIGHT),
		       CODEC_HASH_SIZE);

	rec = (struct rec){.state = ST_PENDING,
			   .pack = w->pack->num,
			   .offset = w->offset,
			   .length = w->length,
			   .present = data_segments(w->length)};
	memcpy(rec.root, w->root, CODEC_HASH_SIZE);
	b = leveldb_writebatch_create();
	pthread_mutex_lock(&s->mu);
	batch_rec(b, w->id, &rec);
	batch_put(b, k, key_id(k, 'Q', w->id), "", 0);
	batch_roots(b, w->id, w->roots, nseg);
	batch_pack_end(b, w->pack->num, w->offset + w->length);
	batch_u64(b, 'N', s->next_id);
	r = db_write_with(s, b, w->lazy ? s->wo_lazy : s->wo);
	if (r == 0)
		w->pack->end = w->offset + w->length;
	pthread_mutex_unlock(&s->mu);
	leveldb_writebatch_destroy(b);
	if (r < 0) {
		w->maybe_recorded = true;
		return w->err = r;
	}

	w->sealed = true;
	free(w->roots);
	w->roots = NULL;
	w->nroots = w->roots_cap = 0;
	codec_merkle_release(&w->m);
	free(w->buf);
	w->buf = NULL;
	ret_sub->length = w->length;
	ret_sub->nnodes = nnodes;
	memcpy(ret_sub->nodes, nodes, nnodes * sizeof(nodes[0]));
	return 0;
}

/*
 * Make pending entry id (record r) the settled entry `settled`, finalized. Caller holds mu
 * and has checked root and length.
 */
static bool settled_matches(const struct rec *r, const struct chain_entry *e)
{
	return e->length == r->length && memcmp(e->root, r->root, CODEC_HASH_SIZE) == 0;
}

static int drop_locked(struct node_store *s, uint64_t id, const struct rec *r, bool own_pack);

static int commit_locked(struct node_store *s, uint64_t id, struct rec *r,
			 const struct chain_entry *settled, bool own_pack)
{
	leveldb_writebatch_t *b;
	uint8_t k[1 + CODEC_HASH_SIZE + 8], v[8];
	uint64_t other;
	int ret;

	struct rec o;
	bool replace = false;

	/* A node that follows a shared chain may have seen this settlement before the writer
	 * could record it, and expects the entry's segments from peers: the writer's complete
	 * bytes take its place. If someone else's segments finalized it first, the writer's
	 * copy is not needed. */
	ret = get_u64(s, k, key_id(k, 'T', settled->tx_seq), &other);
	if (ret == 0) {
		ret = load_rec(s, other, &o);
		if (ret < 0)
			return ret;
		if (!settled_matches(&o, settled))
			return -EEXIST;
		if (o.state == ST_FINAL)
			return drop_locked(s, id, r, own_pack);
		replace = true;
	} else if (ret != -ENOENT) {
		return ret;
	}
	r->state = ST_FINAL;
	r->tx_seq = settled->tx_seq;
	b = leveldb_writebatch_create();
	if (replace) {
		batch_del(b, k, key_id(k, 'E', other));
		batch_del(b, k, key_id(k, 'X', other));
		batch_drop_roots(b, other, codec_num_segments(o.length));
	}
	batch_rec(b, id, r);
	put_be64(v, id);
	batch_put(b, k, key_id(k, 'T', settled->tx_seq), v, 8);
	batch_put(b, k, key_root(k, r->root, settled->tx_seq), "", 0);
	batch_del(b, k, key_id(k, 'Q', id));
	batch_totals(b, s->total_entries + 1, s->total_bytes + r->length);
	/* Not synced: the pending record it replaces was, and the settlement it records is in
	 * the ledger. A crash that loses this write leaves the entry pending, and the next
	 * open reports it (node_store_pending) for the node to commit again. The next synced
	 * write of this log makes it durable anyway. */
	{
		char *err = NULL;

		leveldb_write(s->db, s->wo_lazy, b, &err);
		ret = db_error(err);
	}
	leveldb_writebatch_destroy(b);
	if (ret == 0) {
		s->total_entries++;
		s->total_bytes += r->length;
	}
	return ret;
}

int node_store_writer_commit(struct node_store_writer *w, const struct chain_entry *settled)
{
	struct node_store *s = w->s;
	struct rec rec;
	int r;

	if (!w->sealed) {
		r = w->err ? w->err : -EINVAL;
		node_store_writer_abort(w);
		return r;
	}
	pthread_mutex_lock(&s->mu);
	r = load_rec(s, w->id, &rec);
	if (r == 0 && (rec.state != ST_PENDING || !settled_matches(&rec, settled)))
		r = -EINVAL;
	if (r == 0)
		r = commit_locked(s, w->id, &rec, settled, true);
	/* On failure the entry stays pending, now without an owner: node_store_pending()
	 * lists it. */
	writer_detach(w);
	pthread_mutex_unlock(&s->mu);
	writer_free(w);
	return r;
}

/*
 * Drop sealed entry id from the index and, when its bytes are the tail of a pack nobody
 * appends to, give the space back. Caller holds mu.
 */
static int drop_locked(struct node_store *s, uint64_t id, const struct rec *r, bool own_pack)
{
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	struct pack *p = r->pack < s->npacks ? s->packs[r->pack] : NULL;
	bool tail = p && (own_pack || !p->owned) && p->end == r->offset + r->length;
	uint8_t k[9];
	int ret;

	batch_del(b, k, key_id(k, 'E', id));
	batch_del(b, k, key_id(k, 'Q', id));
	batch_drop_roots(b, id, codec_num_segments(r->length));
	if (tail)
		batch_pack_end(b, p->num, r->offset);
	ret = db_write(s, b);
	leveldb_writebatch_destroy(b);
	if (ret < 0 || !tail)
		return ret; /* not the tail: the bytes stay, unreferenced */
	p->end = r->offset;
	/* Best effort: bytes past the committed end are cut at the next open anyway. */
	if (pack_hold(s, p) == 0) {
		(void)node_io_ftruncate(p->fd, p->end);
		pack_unhold(s, p);
	}
	return 0;
}

void node_store_writer_abort(struct node_store_writer *w)
{
	struct node_store *s;
	struct rec rec;

	if (!w)
		return;
	s = w->s;
	pthread_mutex_lock(&s->mu);
	if (w->sealed) {
		/* If this fails the entry stays pending, listed by node_store_pending(). */
		if (load_rec(s, w->id, &rec) == 0 && rec.state == ST_PENDING)
			(void)drop_locked(s, w->id, &rec, true);
	} else if (!w->maybe_recorded) {
		/* Nothing in the index refers to these bytes; cutting them is tidiness (a
		 * failure here leaves bytes past the committed end, cut at the next open, and
		 * overwritten by the pack's next appender before that). After a failed seal
		 * write the record may exist on disk all the same (leveldb can fail the sync
		 * of a log write that lands): then the bytes stay for recovery to judge. */
		(void)node_io_ftruncate(w->pack->fd, w->offset);
	} else {
		w->pack->end = w->offset + w->length; /* in memory only: never overwrite them */
	}
	writer_detach(w);
	pthread_mutex_unlock(&s->mu);
	writer_free(w);
}

/* --- pending writers ------------------------------------------------------------------ */

static bool writer_live(struct node_store *s, uint64_t id)
{
	for (struct node_store_writer *w = s->writers; w; w = w->next)
		if (w->id == id)
			return true;
	return false;
}

int node_store_pending(struct node_store *s,
		       int (*fn)(void *ctx, const struct node_store_pending *p), void *ctx)
{
	/* The iterator reads a snapshot, so fn may resolve entries while we walk. */
	leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
	char *err = NULL;
	int r = 0;

	for (leveldb_iter_seek(it, "Q", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t klen;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
		struct node_store_pending p;
		struct rec rec;
		bool live;

		if (klen == 0 || k[0] != 'Q')
			break;
		if (klen != 9) {
			r = -EIO;
			break;
		}
		p.id = get_be64(k + 1);
		pthread_mutex_lock(&s->mu);
		live = writer_live(s, p.id);
		pthread_mutex_unlock(&s->mu);
		if (live)
			continue;
		r = load_rec(s, p.id, &rec);
		if (r == -ENOENT) { /* resolved by fn meanwhile */
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (rec.state != ST_PENDING)
			continue;
		p.length = rec.length;
		memcpy(p.root, rec.root, CODEC_HASH_SIZE);
		if (fn(ctx, &p))
			break;
	}
	leveldb_iter_get_error(it, &err);
	if (r == 0)
		r = db_error(err);
	else if (err)
		leveldb_free(err);
	leveldb_iter_destroy(it);
	return r;
}

int node_store_expected(struct node_store *s,
			int (*fn)(void *ctx, const struct node_store_info *info), void *ctx)
{
	leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
	char *err = NULL;
	int r = 0;

	for (leveldb_iter_seek(it, "X", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t klen;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
		struct node_store_info info;
		struct rec rec;

		if (klen == 0 || k[0] != 'X')
			break;
		if (klen != 9) {
			r = -EIO;
			break;
		}
		r = load_rec(s, get_be64(k + 1), &rec);
		if (r == -ENOENT) { /* dropped meanwhile */
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (rec.state != ST_EXPECTED)
			continue;
		r = node_store_info(s, rec.tx_seq, &info);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0 || fn(ctx, &info))
			break;
	}
	leveldb_iter_get_error(it, &err);
	if (r == 0)
		r = db_error(err);
	else if (err)
		leveldb_free(err);
	leveldb_iter_destroy(it);
	return r;
}

int node_store_missing(struct node_store *s, uint64_t tx_seq, uint64_t from, uint64_t *ret,
		       size_t max, size_t *ret_n)
{
	uint8_t roots[ROOTS_PER_BLOCK * CODEC_HASH_SIZE];
	uint64_t id, nd, blk_loaded = UINT64_MAX;
	struct rec rec;
	size_t n = 0;
	int r = load_by_seq(s, tx_seq, &id, &rec);

	if (r < 0)
		return r;
	nd = data_segments(rec.length);
	for (uint64_t i = from; rec.state == ST_EXPECTED && i < nd && n < max; i++) {
		if (!rec_holds(&rec, i))
			continue;
		if (i / ROOTS_PER_BLOCK != blk_loaded) {
			uint64_t first = i / ROOTS_PER_BLOCK * ROOTS_PER_BLOCK, cnt = nd - first;

			if (cnt > ROOTS_PER_BLOCK)
				cnt = ROOTS_PER_BLOCK;
			r = load_roots(s, id, first, cnt, roots);
			if (r < 0)
				return r;
			blk_loaded = i / ROOTS_PER_BLOCK;
		}
		if (is_zero_hash(roots + (i % ROOTS_PER_BLOCK) * CODEC_HASH_SIZE))
			ret[n++] = i;
	}
	*ret_n = n;
	return 0;
}

int node_store_pending_resolve(struct node_store *s, uint64_t id, const struct chain_entry *settled)
{
	struct rec rec;
	int r;

	pthread_mutex_lock(&s->mu);
	if (writer_live(s, id)) {
		r = -EBUSY;
		goto out;
	}
	r = load_rec(s, id, &rec);
	if (r == 0 && rec.state != ST_PENDING)
		r = -ENOENT;
	if (r < 0)
		goto out;
	if (settled)
		r = settled_matches(&rec, settled) ? commit_locked(s, id, &rec, settled, false) : -EINVAL;
	else
		r = drop_locked(s, id, &rec, false);
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* --- entries settled elsewhere -------------------------------------------------------- */

int node_store_expect(struct node_store *s, const struct chain_entry *settled)
{
	return node_store_expect_shard(s, settled, 0, 1);
}

/* Bytes of the entry kept here: what the totals count for it once finalized. */
static uint64_t rec_held_bytes(const struct rec *r)
{
	uint64_t n = data_segments(r->length), bytes = 0;

	if (r->num_shard <= 1)
		return r->length;
	for (uint64_t i = 0; i < n; i++)
		if (rec_holds(r, i))
			bytes += segment_bytes(r->length, i);
	for (uint64_t j = 0, ns = rec_stripes(r); j < ns; j++)
		if (rec_parity_pos(r, j) >= 0)
			bytes += parity_bytes(r, j);
	return bytes;
}

int node_store_expect_shard(struct node_store *s, const struct chain_entry *settled,
			    uint32_t shard_id, uint32_t num_shard)
{
	return node_store_expect_hold(
	    s, settled, &(struct node_store_hold){.shard_id = shard_id, .num_shard = num_shard});
}

int node_store_expect_hold(struct node_store *s, const struct chain_entry *settled,
			   const struct node_store_hold *h)
{
	uint32_t shard_id = h->shard_id, num_shard = h->num_shard;
	leveldb_writebatch_t *b;
	uint64_t len = settled->length, nseg, ndata, id;
	uint8_t k[1 + CODEC_HASH_SIZE + 8], v[8];
	struct pack *p;
	struct rec rec;
	int r;

	if (len == 0)
		return -EINVAL;
	if (len > NODE_STORE_ENTRY_MAX)
		return -E2BIG;
	if (num_shard == 0 || (num_shard & (num_shard - 1)) || shard_id >= num_shard)
		return -EINVAL;
	if ((h->ec_k || h->ec_m) && (!h->ec_k || !h->ec_m || h->ec_k > 256 || h->ec_m > 256 ||
				     h->ec_k + h->ec_m > num_shard))
		return -EINVAL;
	nseg = codec_num_segments(len);
	ndata = data_segments(len);

	pthread_mutex_lock(&s->mu);
	r = load_by_seq(s, settled->tx_seq, NULL, &rec);
	if (r == 0) {
		r = settled_matches(&rec, settled) ? 0 : -EEXIST;
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	r = pack_take(s, &p);
	if (r < 0)
		goto out;
	/* Sparse until the segments arrive; a full disk shows at put_segment. */
	r = node_io_ftruncate(p->fd, p->end + len);
	if (r < 0) {
		pack_release(s, p);
		goto out;
	}
	id = s->next_id++;
	rec = (struct rec){.state = ST_EXPECTED,
			   .pack = p->num,
			   .offset = p->end,
			   .length = len,
			   .tx_seq = settled->tx_seq,
			   .shard_id = shard_id,
			   .num_shard = num_shard,
			   .first_seg = settled->start / CODEC_SEGMENT_CHUNKS,
			   .ec_k = h->ec_k,
			   .ec_m = h->ec_m};
	memcpy(rec.root, settled->root, CODEC_HASH_SIZE);
	/* A shard holding none of the entry's symbols has all it needs already. */
	if (rec_complete(&rec))
		rec.state = ST_FINAL;

	b = leveldb_writebatch_create();
	batch_rec(b, id, &rec);
	put_be64(v, id);
	batch_put(b, k, key_id(k, 'T', settled->tx_seq), v, 8);
	batch_put(b, k, key_root(k, settled->root, settled->tx_seq), "", 0);
	if (rec.state == ST_FINAL)
		batch_totals(b, s->total_entries + 1, s->total_bytes);
	else
		batch_put(b, k, key_id(k, 'X', id), "", 0);
	batch_pack_end(b, p->num, p->end + len);
	batch_u64(b, 'N', s->next_id);
	/* Segments wholly inside the padding are never uploaded: their roots are known. */
	for (uint64_t blk = ndata / ROOTS_PER_BLOCK; blk * ROOTS_PER_BLOCK < nseg && ndata < nseg;
	     blk++) {
		uint64_t first = blk * ROOTS_PER_BLOCK, n = nseg - first;
		uint8_t roots[ROOTS_PER_BLOCK * CODEC_HASH_SIZE] = {0};
		uint8_t kb[17];

		if (n > ROOTS_PER_BLOCK)
			n = ROOTS_PER_BLOCK;
		for (uint64_t i = 0; i < n; i++)
			if (first + i >= ndata)
				memcpy(roots + i * CODEC_HASH_SIZE,
				       codec_zero_root(CODEC_SEGMENT_HEIGHT), CODEC_HASH_SIZE);
		batch_put(b, kb, key_blk(kb, id, blk), roots, (size_t)n * CODEC_HASH_SIZE);
	}
	r = db_write(s, b);
	leveldb_writebatch_destroy(b);
	if (r == 0) {
		p->end += len;
		if (rec.state == ST_FINAL)
			s->total_entries++;
	} else {
		(void)node_io_ftruncate(p->fd, p->end); /* tidiness, as in abort */
	}
	pack_release(s, p);
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int hold_rec_pack(struct node_store *s, const struct rec *rec, struct pack **ret_pack);
static void read_end(struct node_store *s, struct pack *p);

/* Adds rec to b, finalized when everything kept here is here (s->mu held). */
static void batch_finish(struct node_store *s, leveldb_writebatch_t *b, uint64_t id,
			 struct rec *rec)
{
	if (rec_complete(rec)) {
		uint8_t kx[9];

		rec->state = ST_FINAL;
		batch_del(b, kx, key_id(kx, 'X', id));
		batch_totals(b, s->total_entries + 1, s->total_bytes + rec_held_bytes(rec));
	}
	batch_rec(b, id, rec);
}

/* After the batch of batch_finish() was written with result r (s->mu held). */
static void count_final(struct node_store *s, int r, const struct rec *rec)
{
	if (r == 0 && rec->state == ST_FINAL) {
		s->total_entries++;
		s->total_bytes += rec_held_bytes(rec);
	}
}

/* Writes len bytes of data (unless NULL) at off of entry rec's region, then syncs its pack
 * when sync is set (no lock held). */
static int region_write(struct node_store *s, const struct rec *rec, const void *data, size_t len,
			uint64_t off, bool sync)
{
	struct pack *p;
	int r = hold_rec_pack(s, rec, &p);

	if (r < 0)
		return r;
	if (data)
		r = node_io_pwrite(p->fd, data, len, rec->offset + off);
	if (r == 0 && sync)
		r = node_io_fdatasync(p->fd);
	read_end(s, p);
	return r;
}

/* What put_one() does of storing a segment, in this order, whichever are asked for: hash
 * it (else its root is given), write its bytes, sync the pack after them, record it. */
enum { PUT_HASH = 1, PUT_BYTES = 2, PUT_SYNC = 4, PUT_RECORD = 8, PUT_ALL = 15 };

/*
 * node_store_put_segment() in parts, so that node_store_put_segments() can check every
 * segment, then write them all, sync once and record them. The proof is always checked
 * against leaf, the segment's root (PUT_HASH: computed here into leaf).
 */
static int put_one(struct node_store *s, uint64_t tx_seq, uint64_t index, const uint8_t *data,
		   size_t len, const struct codec_proof *proof, uint8_t leaf[CODEC_HASH_SIZE],
		   unsigned what)
{
	uint8_t have[CODEC_HASH_SIZE], k[17];
	uint64_t id, nseg;
	size_t dl;
	unsigned chunks;
	struct rec rec;
	char *v = NULL;
	size_t vlen = 0;
	int r;

	r = load_by_seq(s, tx_seq, &id, &rec);
	if (r < 0)
		return r;
	nseg = codec_num_segments(rec.length);
	if (index >= data_segments(rec.length))
		return -EINVAL;
	if (!rec_holds(&rec, index))
		return -EXDEV;
	dl = segment_bytes(rec.length, index);
	chunks = segment_chunks(rec.length, index);
	if (len < dl || len > (size_t)chunks * CODEC_CHUNK_SIZE)
		return -EINVAL;
	if ((what & PUT_HASH) && (r = codec_segment_root(data, len, chunks, leaf)) < 0)
		return r;
	r = codec_proof_verify(proof, rec.root, leaf, index, nseg);
	if (r != 0 || what == PUT_HASH)
		return r;
	if (rec.state == ST_FINAL && what != PUT_SYNC)
		return 0;
	r = load_roots(s, id, index, 1, have);
	if (r < 0)
		return r;
	if (!is_zero_hash(have) && what != PUT_SYNC) /* a sync alone syncs the batch */
		return 0;

	/* The bytes, synced, before the record that says they are here. Writes of different
	 * segments (or the same one twice: identical bytes) run in parallel. */
	if (what & (PUT_BYTES | PUT_SYNC))
		r = region_write(s, &rec, (what & PUT_BYTES) ? data : NULL, dl, index * SEG,
				 what & PUT_SYNC);
	if (r < 0 || !(what & PUT_RECORD))
		return r;
	pthread_mutex_lock(&s->mu);

	/* Again under the lock: another put may have stored it or finalized the entry. */
	r = load_rec(s, id, &rec);
	if (r < 0 || rec.state == ST_FINAL)
		goto out;
	r = db_get(s, k, key_blk(k, id, index / ROOTS_PER_BLOCK), &v, &vlen);
	{
		uint64_t first = index / ROOTS_PER_BLOCK * ROOTS_PER_BLOCK, n = nseg - first;
		uint8_t roots[ROOTS_PER_BLOCK * CODEC_HASH_SIZE] = {0};
		uint8_t *slot = roots + (index % ROOTS_PER_BLOCK) * CODEC_HASH_SIZE;
		leveldb_writebatch_t *b;

		if (n > ROOTS_PER_BLOCK)
			n = ROOTS_PER_BLOCK;
		if (r == 0) {
			if (vlen != n * CODEC_HASH_SIZE) {
				leveldb_free(v);
				r = -EIO;
				goto out;
			}
			memcpy(roots, v, vlen);
			leveldb_free(v);
		} else if (r != -ENOENT) {
			goto out;
		}
		r = 0;
		if (!is_zero_hash(slot))
			goto out;
		memcpy(slot, leaf, CODEC_HASH_SIZE);
		rec.present++;
		b = leveldb_writebatch_create();
		batch_put(b, k, key_blk(k, id, index / ROOTS_PER_BLOCK), roots,
			  (size_t)n * CODEC_HASH_SIZE);
		if (rec.num_shard > 1)
			batch_proof(b, id, index, proof);
		/* Every segment's bytes were synced before its record: once all are here the
		 * entry is complete and durable. */
		batch_finish(s, b, id, &rec);
		if (rec.state == ST_FINAL) {
			r = db_write(s, b);
		} else {
			/* Not synced: the bytes it points at were synced above, so a record that
			 * survives a crash is always right, and one that is lost only means the
			 * segment is asked for again. Finalizing (above) is synced. */
			char *err = NULL;

			leveldb_write(s->db, s->wo_lazy, b, &err);
			r = db_error(err);
		}
		leveldb_writebatch_destroy(b);
		count_final(s, r, &rec);
	}
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

int node_store_put_segment(struct node_store *s, uint64_t tx_seq, uint64_t index,
			   const uint8_t *data, size_t len, const struct codec_proof *proof)
{
	uint8_t leaf[CODEC_HASH_SIZE];

	return put_one(s, tx_seq, index, data, len, proof, leaf, PUT_ALL);
}

int node_store_put_segments(struct node_store *s, uint64_t tx_seq,
			    const struct node_store_segment *segs, size_t count)
{
	uint8_t leaves[NODE_STORE_PUT_SEGMENTS_MAX][CODEC_HASH_SIZE];
	int r = 0;

	if (count == 0)
		return 0;
	if (count > NODE_STORE_PUT_SEGMENTS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < count && r == 0; i++)
		r = put_one(s, tx_seq, segs[i].index, segs[i].data, segs[i].len, segs[i].proof,
			    leaves[i], PUT_HASH);
	/* All bytes, then one sync of the entry's pack (every segment of an entry is in one
	 * pack), then the records: put_segment's rule, once per batch. */
	for (size_t i = 0; i < count && r == 0; i++)
		r = put_one(s, tx_seq, segs[i].index, segs[i].data, segs[i].len, segs[i].proof,
			    leaves[i], PUT_BYTES);
	if (r == 0)
		r = put_one(s, tx_seq, segs[0].index, segs[0].data, segs[0].len, segs[0].proof,
			    leaves[0], PUT_SYNC);
	for (size_t i = 0; i < count && r == 0; i++)
		r = put_one(s, tx_seq, segs[i].index, segs[i].data, segs[i].len, segs[i].proof,
			    leaves[i], PUT_RECORD);
	return r;
}

/* --- parity --------------------------------------------------------------------------- */

static void note_corrupt(struct node_store *s, uint64_t tx_seq, uint64_t segment);
static int segment_proof(struct node_store *s, uint64_t id, uint64_t nseg, uint64_t index,
			 struct codec_proof *ret);

/* Whether every byte of buf[from, to) is zero. */
static bool all_zero(const uint8_t *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (buf[i])
			return false;
	return true;
}

int node_store_put_parity(struct node_store *s, uint64_t tx_seq, uint64_t stripe,
			  const uint8_t *data, const struct codec_proof *proofs, unsigned nproofs)
{
	uint8_t k[17], hash[CODEC_HASH_SIZE];
	uint64_t id, nseg, first;
	struct rec rec;
	size_t len;
	char *v = NULL;
	size_t vlen = 0;
	int r = load_by_seq(s, tx_seq, &id, &rec);

	if (r < 0)
		return r;
	if (rec.state == ST_PRUNED)
		return -ENODATA;
	if (stripe >= rec_stripes(&rec))
		return -EINVAL;
	if (rec_parity_pos(&rec, stripe) < 0)
		return -EXDEV;
	nseg = codec_num_segments(rec.length);
	first = stripe * rec.ec_k;
	if (nproofs != (unsigned)(data_segments(rec.length) - first < rec.ec_k
					  ? data_segments(rec.length) - first
					  : rec.ec_k))
		return -EINVAL;
	for (unsigned d = 0; d < nproofs; d++) {
		r = codec_proof_verify(&proofs[d], rec.root, proofs[d].lemma[0], first + d, nseg);
		if (r != 0)
			return r;
	}
	len = parity_bytes(&rec, stripe);
	if (!all_zero(data, len, SEG))
		return -EINVAL; /* not the parity of this stripe: its data is zero there */
	codec_keccak256(data, len, hash);
	r = db_get(s, k, key_parity(k, id, stripe), &v, &vlen);
	leveldb_free(v);
	if (r == 0 || rec.state == ST_FINAL)
		return 0;
	if (r != -ENOENT)
		return r;

	r = region_write(s, &rec, data, len, first * SEG, true);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->mu);
	r = load_rec(s, id, &rec);
	if (r < 0 || rec.state != ST_EXPECTED)
		goto out;
	r = db_get(s, k, key_parity(k, id, stripe), &v, &vlen);
	leveldb_free(v);
	if (r != -ENOENT)
		goto out; /* stored meanwhile (0), or an error */
	{
		leveldb_writebatch_t *b = leveldb_writebatch_create();

		rec.parity_present++;
		batch_put(b, k, key_parity(k, id, stripe), hash, CODEC_HASH_SIZE);
		for (unsigned d = 0; d < nproofs; d++)
			if (!rec_holds(&rec, first + d))
				batch_proof(b, id, first + d, &proofs[d]);
		batch_finish(s, b, id, &rec);
		/* Synced: parity is stored once and its record must outlive a crash (it is
		 * rebuilt from K data segments, which costs more than the sync). */
		r = db_write(s, b);
		leveldb_writebatch_destroy(b);
		count_final(s, r, &rec);
	}
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

int node_store_parity(struct node_store *s, uint64_t tx_seq, uint64_t stripe, uint8_t *buf,
		      unsigned *ret_pos)
{
	uint8_t k[17], got[CODEC_HASH_SIZE];
	uint64_t id;
	struct rec rec;
	struct pack *p;
	char *v = NULL;
	size_t vlen = 0, len;
	ssize_t n;
	int pos, r = load_by_seq(s, tx_seq, &id, &rec);

	if (r < 0)
		return r;
	if (rec.state == ST_PRUNED)
		return -ENODATA;
	pos = rec_parity_pos(&rec, stripe);
	if (pos < 0)
		return -EXDEV;
	r = db_get(s, k, key_parity(k, id, stripe), &v, &vlen);
	if (r < 0)
		return r;
	if (vlen != CODEC_HASH_SIZE) {
		leveldb_free(v);
		return -EIO;
	}
	r = hold_rec_pack(s, &rec, &p);
	if (r < 0) {
		leveldb_free(v);
		return r;
	}
	len = parity_bytes(&rec, stripe);
	n = node_io_pread(p->fd, buf, len, rec.offset + stripe * rec.ec_k * SEG);
	read_end(s, p);
	r = n < 0 ? (int)n : 0;
	if (r == 0) {
		codec_keccak256(buf, len, got);
		if ((size_t)n != len || memcmp(got, v, CODEC_HASH_SIZE) != 0) {
			note_corrupt(s, tx_seq, stripe * rec.ec_k);
			r = -EIO;
		}
	}
	leveldb_free(v);
	if (r < 0)
		return r;
	memset(buf + len, 0, SEG - len);
	*ret_pos = (unsigned)pos;
	return 0;
}

int node_store_proof(struct node_store *s, uint64_t tx_seq, uint64_t index,
		     struct codec_proof *ret_proof)
{
	struct codec_proof *proof = malloc(sizeof(*proof));
	uint64_t id;
	struct rec rec;
	int r = proof ? load_by_seq(s, tx_seq, &id, &rec) : -ENOMEM;

	if (r < 0)
		goto out;
	if (index >= data_segments(rec.length)) {
		r = -EINVAL;
	} else if (rec.num_shard <= 1) {
		r = rec.state == ST_FINAL || rec.state == ST_PRUNED
			    ? segment_proof(s, id, codec_num_segments(rec.length), index, proof)
			    : -ENOENT;
	} else {
		r = load_proof(s, id, index, proof);
	}
	if (r == 0)
		*ret_proof = *proof;
out:
	free(proof);
	return r;
}

int node_store_missing_parity(struct node_store *s, uint64_t tx_seq, uint64_t from,
			      uint64_t *ret, size_t max, size_t *ret_n)
{
	uint64_t id, ns;
	struct rec rec;
	size_t n = 0;
	int r = load_by_seq(s, tx_seq, &id, &rec);

	if (r < 0)
		return r;
	ns = rec_stripes(&rec);
	for (uint64_t j = from; rec.state == ST_EXPECTED && j < ns && n < max; j++) {
		uint8_t k[17];
		char *v = NULL;
		size_t vlen;

		if (rec_parity_pos(&rec, j) < 0)
			continue;
		r = db_get(s, k, key_parity(k, id, j), &v, &vlen);
		leveldb_free(v);
		if (r == -ENOENT)
			ret[n++] = j;
		else if (r < 0)
			return r;
	}
	*ret_n = n;
	return 0;
}

/* --- prune ---------------------------------------------------------------------------- */

static void read_end(struct node_store *s, struct pack *p);

/*
 * The record says PRUNED (one synced write, with the totals) before any block is given
 * back, so a crash in between leaves an entry nobody reads whose blocks are still there;
 * pruning it again gives them back (the punch is idempotent).
 */
int node_store_prune(struct node_store *s, uint64_t tx_seq, uint64_t *ret_bytes)
{
	leveldb_writebatch_t *b;
	struct pack *p = NULL;
	struct rec rec;
	uint64_t id, freed = 0;
	int r;

	pthread_mutex_lock(&s->mu);
	r = load_by_seq(s, tx_seq, &id, &rec);
	if (r == 0 && rec.state != ST_FINAL && rec.state != ST_PRUNED)
		r = -EAGAIN;
	if (r == 0 && rec.pack >= s->npacks)
		r = -EIO;
	if (r == 0 && rec.state == ST_FINAL) {
		rec.state = ST_PRUNED;
		b = leveldb_writebatch_create();
		batch_rec(b, id, &rec);
		batch_totals(b, s->total_entries - 1, s->total_bytes - rec.length);
		r = db_write(s, b);
		leveldb_writebatch_destroy(b);
		if (r == 0) {
			s->total_entries--;
			s->total_bytes -= rec.length;
			freed = rec.length;
		}
	}
	if (r == 0) {
		p = s->packs[rec.pack];
		r = pack_hold(s, p);
	}
	pthread_mutex_unlock(&s->mu);
	if (r < 0)
		return r;
	r = node_io_punch(p->fd, rec.offset, rec.length);
	read_end(s, p);
	if (r == 0 && ret_bytes)
		*ret_bytes = freed;
	return r;
}

/* --- queries -------------------------------------------------------------------------- */

int node_store_info(struct node_store *s, uint64_t tx_seq, struct node_store_info *ret_info)
{
	struct rec rec;
	uint64_t nseg;
	int r = load_by_seq(s, tx_seq, NULL, &rec);

	if (r < 0)
		return r;
	nseg = codec_num_segments(rec.length);
	ret_info->tx_seq = tx_seq;
	ret_info->length = rec.length;
	memcpy(ret_info->root, rec.root, CODEC_HASH_SIZE);
	ret_info->finalized = rec.state == ST_FINAL;
	ret_info->pruned = rec.state == ST_PRUNED;
	ret_info->segments = nseg;
	ret_info->segments_present = rec.present + (nseg - data_segments(rec.length));
	ret_info->shard_id = rec.shard_id;
	ret_info->num_shard = rec.num_shard;
	ret_info->segments_held = rec_held(&rec);
	ret_info->ec_k = rec.ec_k;
	ret_info->ec_m = rec.ec_m;
	ret_info->parity_held = rec_parity_held(&rec);
	ret_info->parity_present = rec.parity_present;
	return 0;
}

int node_store_find_root(struct node_store *s, const uint8_t root[CODEC_HASH_SIZE],
			 uint64_t *ret_tx_seq)
{
	leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ro);
	uint8_t prefix[1 + CODEC_HASH_SIZE + 8];
	uint64_t waiting = 0;
	bool have_waiting = false;
	int r = -ENOENT;

	key_root(prefix, root, 0);
	for (leveldb_iter_seek(it, (const char *)prefix, sizeof(prefix)); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t klen;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
		struct rec rec;
		uint64_t seq;

		if (klen != sizeof(prefix) || memcmp(k, prefix, 1 + CODEC_HASH_SIZE) != 0)
			break;
		seq = get_be64(k + 1 + CODEC_HASH_SIZE);
		if (load_by_seq(s, seq, NULL, &rec) < 0)
			continue;
		if (rec.state == ST_FINAL) {
			*ret_tx_seq = seq;
			r = 0;
			break;
		}
		if (rec.state == ST_EXPECTED && !have_waiting) {
			waiting = seq;
			have_waiting = true;
		}
	}
	leveldb_iter_destroy(it);
	if (r == -ENOENT && have_waiting) {
		/* None complete: the first still receiving segments, so that an uploader that
		 * settled by root can find where its segments go (0G answers the same). */
		*ret_tx_seq = waiting;
		r = 0;
	}
	return r;
}

/* A hold on the descriptor of the pack of entry rec (release with read_end). */
static int hold_rec_pack(struct node_store *s, const struct rec *rec, struct pack **ret_pack)
{
	int r;

	pthread_mutex_lock(&s->mu);
	if (rec->pack >= s->npacks) {
		r = -EIO;
	} else {
		*ret_pack = s->packs[rec->pack];
		r = pack_hold(s, *ret_pack);
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* A finalized entry and a hold on its pack's descriptor (release with read_end). */
static int read_begin(struct node_store *s, uint64_t tx_seq, uint64_t *ret_id, struct rec *ret_rec,
		      struct pack **ret_pack)
{
	int r = load_by_seq(s, tx_seq, ret_id, ret_rec);

	if (r < 0)
		return r;
	if (ret_rec->state == ST_PRUNED)
		return -ENODATA;
	if (ret_rec->state != ST_FINAL)
		return -EAGAIN;
	return hold_rec_pack(s, ret_rec, ret_pack);
}

static void read_end(struct node_store *s, struct pack *p)
{
	pthread_mutex_lock(&s->mu);
	pack_unhold(s, p);
	pthread_mutex_unlock(&s->mu);
}

/*
 * For one data segment: read_begin(), except that an entry held in part need not be
 * finalized when this segment of it is stored (its bytes were synced before its root
 * was recorded): peers building parity fetch segments from holders that are themselves
 * still waiting for parity. -EINVAL past the data, -EREMOTE another shard's, -EAGAIN
 * not stored yet.
 */
static int read_begin_part(struct node_store *s, uint64_t tx_seq, uint64_t index,
			   uint64_t *ret_id, struct rec *ret_rec, struct pack **ret_pack)
{
	uint8_t root[CODEC_HASH_SIZE];
	int r = load_by_seq(s, tx_seq, ret_id, ret_rec);

	if (r < 0)
		return r;
	if (index >= data_segments(ret_rec->length))
		return -EINVAL;
	if (!rec_holds(ret_rec, index))
		return -EREMOTE;
	if (ret_rec->state == ST_EXPECTED && ret_rec->num_shard > 1) {
		r = load_roots(s, *ret_id, index, 1, root);
		if (r < 0)
			return r;
		if (is_zero_hash(root))
			return -EAGAIN;
		return hold_rec_pack(s, ret_rec, ret_pack);
	}
	if (ret_rec->state == ST_PRUNED)
		return -ENODATA;
	if (ret_rec->state != ST_FINAL)
		return -EAGAIN;
	return hold_rec_pack(s, ret_rec, ret_pack);
}

static void note_corrupt(struct node_store *s, uint64_t tx_seq, uint64_t segment)
{
	pthread_mutex_lock(&s->mu);
	s->health.corrupt_reads++;
	s->health.last_tx_seq = tx_seq;
	s->health.last_segment = segment;
	pthread_mutex_unlock(&s->mu);
}

/* Reads all dl bytes of data segment i into buf and checks them against stored root want. */
static int read_segment_verified(struct node_store *s, const struct rec *rec, struct pack *p,
				 uint64_t i, uint8_t *buf, const uint8_t want[CODEC_HASH_SIZE])
{
	size_t dl = segment_bytes(rec->length, i);
	uint8_t got[CODEC_HASH_SIZE];
	ssize_t n = node_io_pread(p->fd, buf, dl, rec->offset + i * SEG);
	int r;

	if (n < 0)
		return (int)n;
	if ((size_t)n != dl)
		goto bad; /* the pack is shorter than its committed end: bytes lost */
	r = codec_segment_root(buf, dl, segment_chunks(rec->length, i), got);
	if (r < 0)
		return r;
	if (memcmp(got, want, CODEC_HASH_SIZE) == 0)
		return 0;
bad:
	note_corrupt(s, rec->tx_seq, i);
	return -EIO;
}

#define STORE_READ_AHEAD (4u << 20) /* bytes hinted ahead of each read */

int node_store_read(struct node_store *s, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
		    bool verify, size_t *ret_len)
{
	uint8_t *out = buf, *scratch = NULL;
	uint8_t roots[ROOTS_PER_BLOCK * CODEC_HASH_SIZE];
	uint64_t id, end, blk_loaded = UINT64_MAX;
	struct rec rec;
	struct pack *p;
	size_t n;
	int r;

	r = read_begin(s, tx_seq, &id, &rec, &p);
	if (r < 0)
		return r;
	if (offset >= rec.length || len == 0) {
		read_end(s, p);
		*ret_len = 0;
		return 0;
	}
	n = len < rec.length - offset ? len : (size_t)(rec.length - offset);
	end = offset + n;
	if (!rec_holds_range(&rec, offset, end)) {
		read_end(s, p);
		return -EREMOTE;
	}
	/* Sequential readers come back for what follows: have the kernel start reading it
	 * now, so that the next read finds it in memory instead of waiting for the disk. */
	if (end < rec.length)
		posix_fadvise(p->fd, (off_t)(rec.offset + end),
			      (off_t)(rec.length - end < STORE_READ_AHEAD ? rec.length - end
								  : STORE_READ_AHEAD),
			      POSIX_FADV_WILLNEED);
	if (!verify) {
		ssize_t got = node_io_pread(p->fd, out, n, rec.offset + offset);

		r = got < 0 ? (int)got : (size_t)got != n ? -EIO : 0;
		goto out;
	}
	for (uint64_t i = offset / SEG; i * SEG < end; i++) {
		uint64_t seg0 = i * SEG, seg1 = seg0 + segment_bytes(rec.length, i);
		uint64_t a = offset > seg0 ? offset : seg0, z = end < seg1 ? end : seg1;
		const uint8_t *want;

		if (i / ROOTS_PER_BLOCK != blk_loaded) {
			uint64_t first = i / ROOTS_PER_BLOCK * ROOTS_PER_BLOCK;
			uint64_t cnt = data_segments(rec.length) - first;

			if (cnt > ROOTS_PER_BLOCK)
				cnt = ROOTS_PER_BLOCK;
			r = load_roots(s, id, first, cnt, roots);
			if (r < 0)
				goto out;
			blk_loaded = i / ROOTS_PER_BLOCK;
		}
		want = roots + (i % ROOTS_PER_BLOCK) * CODEC_HASH_SIZE;
		if (a == seg0 && z == seg1) {
			/* The whole segment is wanted: read and hash it in place. */
			r = read_segment_verified(s, &rec, p, i, out + (a - offset), want);
		} else {
			if (!scratch && !(scratch = malloc(SEG))) {
				r = -ENOMEM;
				goto out;
			}
			r = read_segment_verified(s, &rec, p, i, scratch, want);
			if (r == 0)
				memcpy(out + (a - offset), scratch + (a - seg0), (size_t)(z - a));
		}
		if (r < 0)
			goto out;
	}
out:
	read_end(s, p);
	free(scratch);
	if (r == 0)
		*ret_len = n;
	return r;
}

/* --- segment proofs ------------------------------------------------------------------- */

/* The tree over an entry's nseg segment roots, every level kept. */
static int tree_build(struct node_store *s, uint64_t id, uint64_t nseg, struct tree **ret)
{
	uint64_t total = 0, c = nseg;
	unsigned nlevels = 0;
	struct tree *t;
	int r;

	for (;;) {
		total += c;
		nlevels++;
		if (c == 1)
			break;
		c = (c + 1) / 2;
	}
	if (total > (SIZE_MAX - sizeof(*t)) / CODEC_HASH_SIZE)
		return -ENOMEM;
	t = malloc(sizeof(*t) + (size_t)total * CODEC_HASH_SIZE);
	if (!t)
		return -ENOMEM;
	t->next = NULL;
	t->id = id;
	t->nlevels = nlevels;
	t->bytes = sizeof(*t) + (size_t)total * CODEC_HASH_SIZE;
	t->lvl[0] = t->data;
	t->count[0] = nseg;
	r = load_roots(s, id, 0, nseg, t->data[0]);
	if (r < 0) {
		free(t);
		return r;
	}
	for (unsigned l = 1; l < nlevels; l++) {
		uint64_t below = t->count[l - 1], pairs = below / 2;

		t->lvl[l] = t->lvl[l - 1] + below;
		t->count[l] = pairs + (below & 1);
		codec_keccak256_batch(t->lvl[l - 1][0], 2 * CODEC_HASH_SIZE, 2 * CODEC_HASH_SIZE,
				      (size_t)pairs, t->lvl[l]);
		if (below & 1)
			memcpy(t->lvl[l][pairs], t->lvl[l - 1][below - 1], CODEC_HASH_SIZE);
	}
	*ret = t;
	return 0;
}

/* The proof of leaf index in the 0G form: the same as codec_proof_build() gives. */
static void tree_proof(const struct tree *t, uint64_t index, struct codec_proof *ret)
{
	unsigned d = 0;
	uint64_t j = index;

	memcpy(ret->lemma[0], t->lvl[0][index], CODEC_HASH_SIZE);
	for (unsigned l = 0; l + 1 < t->nlevels; l++, j >>= 1) {
		if (j & 1) {
			memcpy(ret->lemma[d + 1], t->lvl[l][j - 1], CODEC_HASH_SIZE);
			ret->path[d++] = false;
		} else if (j + 1 < t->count[l]) {
			memcpy(ret->lemma[d + 1], t->lvl[l][j + 1], CODEC_HASH_SIZE);
			ret->path[d++] = true;
		} /* else: the last, odd node is carried up; no sibling, no entry */
	}
	ret->depth = d;
	if (d)
		memcpy(ret->lemma[d + 1], t->lvl[t->nlevels - 1][0], CODEC_HASH_SIZE);
}

/* Proof of segment index of entry id, through the cache of recently used trees. */
static int segment_proof(struct node_store *s, uint64_t id, uint64_t nseg, uint64_t index,
			 struct codec_proof *ret)
{
	struct tree **pp, *t;
	int r;

	pthread_mutex_lock(&s->tree_mu);
	for (pp = &s->trees; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			t = *pp;
			*pp = t->next;
			t->next = s->trees;
			s->trees = t;
			tree_proof(t, index, ret);
			pthread_mutex_unlock(&s->tree_mu);
			return 0;
		}
	pthread_mutex_unlock(&s->tree_mu);

	r = tree_build(s, id, nseg, &t);
	if (r < 0)
		return r;
	tree_proof(t, index, ret);
	if (t->bytes > NODE_STORE_TREE_CACHE_MAX) {
		free(t);
		return 0;
	}
	pthread_mutex_lock(&s->tree_mu);
	for (pp = &s->trees; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id)
			break;
	if (*pp) { /* built twice by racing readers: keep the first */
		free(t);
	} else {
		while (s->trees && s->tree_bytes + t->bytes > NODE_STORE_TREE_CACHE_MAX) {
			struct tree **last = &s->trees;

			while ((*last)->next)
				last = &(*last)->next;
			s->tree_bytes -= (*last)->bytes;
			free(*last);
			*last = NULL;
		}
		t->next = s->trees;
		s->trees = t;
		s->tree_bytes += t->bytes;
	}
	pthread_mutex_unlock(&s->tree_mu);
	return 0;
}

int node_store_segment(struct node_store *s, uint64_t tx_seq, uint64_t index, uint8_t *buf,
		       size_t *ret_len, struct codec_proof *ret_proof)
{
	struct codec_proof *proof = malloc(sizeof(*proof));
	uint64_t id;
	struct rec rec;
	struct pack *p;
	size_t dl, padded;
	int r;

	if (!proof)
		return -ENOMEM;
	r = read_begin_part(s, tx_seq, index, &id, &rec, &p);
	if (r < 0)
		goto out_free;
	if (rec.num_shard > 1)
		r = load_proof(s, id, index, proof);
	else
		r = segment_proof(s, id, codec_num_segments(rec.length), index, proof);
	if (r == -ENOENT)
		r = rec.state == ST_FINAL ? -EIO : -EAGAIN;
	if (r == 0)
		r = read_segment_verified(s, &rec, p, index, buf, proof->lemma[0]);
	if (r < 0)
		goto out;
	dl = segment_bytes(rec.length, index);
	padded = (size_t)codec_num_chunks(dl) * CODEC_CHUNK_SIZE;
	memset(buf + dl, 0, padded - dl);
	*ret_len = padded;
	*ret_proof = *proof;
out:
	read_end(s, p);
out_free:
	free(proof);
	return r;
}
