/*
 * The PoRA miner. One round per epoch context: thread 0 follows the chain (ticks an idle
 * embedded ledger, reads the context, new entries and seal contexts) between try batches;
 * every thread runs tries on its own nonces against a snapshot of the round.
 *
 * Sealing: the store keeps plain bytes and the miner seals a load when a try first
 * recalls it, keeping up to NODE_PORA_SEALED_LOADS sealed loads in memory. 0G stores
 * sealed data and unseals on every read; zgfs keeps the read path free of unsealing
 * (docs/PORA.md has the figures behind that choice). A sealed load depends only on its
 * seal contexts, which never change for data already in an epoch, so the cache is kept
 * across rounds and dropped only when the flow grows (a load may become complete).
 *
 * Proofs: the siblings of a unit's path are roots of flow nodes; a node that is one of an
 * entry's submission nodes takes its root from the chain, a node over gap or placeholder
 * sectors only is a zero root, and other nodes are hashed from the store's bytes (at most
 * a segment's 1024 sectors at a time).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/hex.h"
#include "codec/keccak.h"
#include "codec/merkle.h"
#include "codec/pora.h"
#include "node/store/io.h"
#include "node/limits.h"
#include "node/pora/pora_i.h"

#define LOAD_SECTORS CODEC_PORA_LOAD_SECTORS
#define LEAF_LEVEL   10 /* nodes up to a segment are hashed from bytes */

struct flow_entry {
	uint64_t tx_seq, start, sectors, length;
	size_t nnodes;
	struct codec_subnode nodes[CODEC_MAX_NODES];
};

struct sealed_load {
	bool valid;
	uint64_t pos, avail;
	uint8_t *data; /* CODEC_PORA_LOAD_SIZE */
};

/* What every try of a round needs. */
struct round {
	struct chain_pora_info info;
	struct codec_pora_range range;
	uint8_t range_digest[32], bound[32];
	bool minable;
};

struct node_pora {
	char dir[4096];
	unsigned threads, tick_ms;
	uint64_t shard_id, num_shard;
	struct timespec followed; /* when thread 0 last asked the chain */
	struct chain *chain;
	struct node_store *store;
	uint8_t id[32], nonce_base[24];
	pthread_t tids[NODE_PORA_THREADS_MAX];
	unsigned started;

	pthread_mutex_t mu; /* report, last answer, stop; cv wakes idle threads */
	pthread_cond_t cv;
	bool stop;
	struct node_pora_report rep;
	bool have_last;
	struct chain_pora_answer last;
	uint8_t last_quality[32], last_target[32], last_subtask[32];
	uint64_t epoch_submitted, round_epoch;
	struct timespec t0;
	time_t status_at; /* monotonic second of the last periodic status write */

	pthread_rwlock_t rw; /* the round, entries and contexts: written by thread 0 */
	struct round round;
	struct flow_entry *entries;
	size_t nentries;
	struct chain_pora_context *ctxs;
	size_t nctxs;

	pthread_mutex_t cache_mu;
	struct sealed_load cache[NODE_PORA_SEALED_LOADS];
	uint64_t sealed_sectors;
};

/* ---- the flow's bytes, from the store ----------------------------------------------- */

/* The first entry that ends after sector s, or NULL. Entries are in flow order. */
static const struct flow_entry *entry_from(const struct node_pora *m, uint64_t s)
{
	size_t lo = 0, hi = m->nentries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->entries[mid].start + m->entries[mid].sectors <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nentries ? &m->entries[lo] : NULL;
}

/* The entry holding sector s, or NULL (gap, placeholder). */
static const struct flow_entry *entry_at(const struct node_pora *m, uint64_t s)
{
	const struct flow_entry *e = entry_from(m, s);

	return e && e->start <= s ? e : NULL;
}

/* Sectors [lo, lo + n) into buf. -EAGAIN while an entry's upload is not complete;
 * -ENODATA when the store lacks bytes of a settled entry (unknown, or a short read). */
static int read_sectors(struct node_pora *m, uint64_t lo, uint64_t n, uint8_t *buf)
{
	uint64_t s = lo, end = lo + n;

	memset(buf, 0, n * CODEC_CHUNK_SIZE);
	while (s < end) {
		const struct flow_entry *e = entry_at(m, s);
		uint64_t b, off, stop;
		size_t got;
		int r;

		if (!e) {
			/* a gap: up to the next entry */
			const struct flow_entry *next = entry_from(m, s);

			s = next && next->start < end ? next->start : end;
			continue;
		}
		b = e->start + e->sectors < end ? e->start + e->sectors : end;
		off = (s - e->start) * CODEC_CHUNK_SIZE;
		stop = (b - e->start) * CODEC_CHUNK_SIZE;
		if (stop > e->length)
			stop = e->length;
		if (off < stop) {
			r = node_store_read(m->store, e->tx_seq, off, buf + (s - lo) * CODEC_CHUNK_SIZE,
					    (size_t)(stop - off), false, &got);
			if (r == -EAGAIN)
				return r;
			if (r == -ENOENT || (r == 0 && got < stop - off))
				return -ENODATA;
			if (r < 0)
				return r;
		}
		s = b;
	}
	return 0;
}

static uint64_t level_count(uint64_t length, unsigned k)
{
	return (length >> k) + ((length & ((1ULL << k) - 1)) != 0);
}

/* The chain's root for the perfect node [lo, lo + 2^k) when it is a submission node. */
static bool submission_node(const struct node_pora *m, uint64_t lo, unsigned k, uint8_t out[32])
{
	const struct flow_entry *e = entry_at(m, lo);
	uint64_t at;

	if (!e)
		return false;
	at = e->start;
	for (size_t i = 0; i < e->nnodes; i++) {
		if (at == lo && e->nodes[i].height == k) {
			memcpy(out, e->nodes[i].root, 32);
			return true;
		}
		at += 1ULL << e->nodes[i].height;
	}
	return false;
}

static bool overlaps_entry(const struct node_pora *m, uint64_t lo, uint64_t hi)
{
	const struct flow_entry *e = entry_from(m, lo);

	return e && e->start < hi;
}

/* Root of flow node (k, i) in a flow of `length` sectors (0G rule). */
static int node_root(struct node_pora *m, unsigned k, uint64_t i, uint64_t length, uint8_t out[32])
{
	uint64_t lo = i << k, hi = lo + (1ULL << k);
	uint8_t left[32], right[32];
	int r;

	if (hi > length)
		hi = length;
	if (hi - lo == 1ULL << k) {
		if (!overlaps_entry(m, lo, hi)) {
			memcpy(out, codec_zero_root(k), 32);
			return 0;
		}
		if (submission_node(m, lo, k, out))
			return 0;
	}
	if (k <= LEAF_LEVEL) {
		uint64_t n = hi - lo;
		uint8_t *buf = malloc(n * CODEC_CHUNK_SIZE), *leaves = malloc(n * 32);

		r = buf && leaves ? read_sectors(m, lo, n, buf) : -ENOMEM;
		for (uint64_t j = 0; r == 0 && j < n; j++)
			codec_keccak256(buf + j * CODEC_CHUNK_SIZE, CODEC_CHUNK_SIZE, leaves + j * 32);
		if (r == 0)
			r = codec_root_of_leaves(leaves, (size_t)n, out);
		free(buf);
		free(leaves);
		return r;
	}
	r = node_root(m, k - 1, 2 * i, length, left);
	if (r < 0 || 2 * i + 1 >= level_count(length, k - 1)) {
		if (r == 0)
			memcpy(out, left, 32);
		return r;
	}
	r = node_root(m, k - 1, 2 * i + 1, length, right);
	if (r == 0)
		codec_hash_pair(left, right, out);
	return r;
}

/*
 * Siblings at segment level and above inside the unit's own submission node: the lemma of
 * the proof its segment arrived with (node_store_proof). Within one submission node the
 * entry's segment tree and the flow tree pair the same perfect subtrees, so lemma 1 + j is
 * the flow node at level LEAF_LEVEL + j next to the path. A sharded node keeps only its own
 * segments, so this is how it proves a unit without the bytes of the others; a whole
 * entry's holder saves hashing up to half of it. Returns 1 and the root, or 0 when the
 * node is not such a sibling or the store has no usable proof for the segment.
 */
static int proof_sibling(struct node_pora *m, uint64_t recall, unsigned k, uint64_t i,
			 uint8_t out[32])
{
	const struct flow_entry *e = entry_at(m, recall);
	struct codec_proof proof;
	uint64_t lo = i << k, at, seg;
	int r;

	if (!e || k < LEAF_LEVEL)
		return 0;
	at = e->start;
	for (size_t n = 0; n < e->nnodes; n++) {
		uint64_t end = at + (1ULL << e->nodes[n].height);

		if (recall >= at && recall < end) {
			if (k >= e->nodes[n].height || lo < at || lo >= end)
				return 0;
			break;
		}
		at = end;
	}
	seg = (recall - e->start) >> LEAF_LEVEL;
	/* Without a usable proof, node_root() hashes the sibling from the store's bytes
	 * (which a node without them cannot, and then the unit is not answered). */
	r = node_store_proof(m->store, e->tx_seq, seg, &proof);
	if (r < 0 || k - LEAF_LEVEL >= proof.depth)
		return 0;
	memcpy(out, proof.lemma[1 + k - LEAF_LEVEL], 32);
	return 1;
}

/* ---- sealing ------------------------------------------------------------------------ */

/* The seal context of the unit whose last sector is `last`, or NULL. */
static const struct chain_pora_context *seal_context(const struct node_pora *m, uint64_t last)
{
	for (size_t i = 0; i < m->nctxs; i++)
		if (m->ctxs[i].start <= last && last < m->ctxs[i].end)
			return &m->ctxs[i];
	return NULL;
}

/* Read and seal the load at pos: every unit whose bytes are here and whose epoch has
 * closed. Returns its availability mask (bit i: unit i sealed). */
static uint64_t seal_load(struct node_pora *m, uint64_t pos, uint8_t *load)
{
	uint64_t avail = 0;
	/* One read for the whole load; unit by unit only when part of it is missing. */
	bool whole = read_sectors(m, pos, LOAD_SECTORS, load) == 0;

	for (unsigned u = 0; u < CODEC_PORA_SEALS_PER_LOAD;) {
		uint64_t first = pos + (uint64_t)u * CODEC_SEAL_SECTORS;
		const struct chain_pora_context *c = seal_context(m, first + CODEC_SEAL_SECTORS - 1);
		unsigned run = 1;

		if (!c) {
			u++;
			continue;
		}
		if (!whole) {
			int r = read_sectors(m, first, CODEC_SEAL_SECTORS,
					     load + (size_t)u * CODEC_SEAL_SIZE);

			if (r < 0) {
				/* Bytes of a settled entry that the disk no longer has. */
				if (r != -EAGAIN) {
					pthread_mutex_lock(&m->mu);
					m->rep.missing++;
					m->rep.last_missing_sector = first;
					pthread_mutex_unlock(&m->mu);
				}
				u++;
				continue;
			}
		}
		/* Consecutive units of one seal context go through the batch kernel together. */
		while (whole && u + run < CODEC_PORA_SEALS_PER_LOAD &&
		       seal_context(m, first + (run + 1) * CODEC_SEAL_SECTORS - 1) == c)
			run++;
		if (codec_seal_units(load + (size_t)u * CODEC_SEAL_SIZE, run, m->id, c->digest,
				     first) == 0)
			avail |= (run == 64 ? UINT64_MAX : ((1ULL << run) - 1)) << u;
		u += run;
	}
	return avail;
}

/* The sealed load at pos into load, from the cache or sealed now. */
static uint64_t sealed_load(struct node_pora *m, uint64_t pos, uint8_t *load)
{
	struct sealed_load *slot = &m->cache[(pos / LOAD_SECTORS) % NODE_PORA_SEALED_LOADS];
	uint64_t avail;

	pthread_mutex_lock(&m->cache_mu);
	if (slot->valid && slot->pos == pos) {
		memcpy(load, slot->data, CODEC_PORA_LOAD_SIZE);
		avail = slot->avail;
		pthread_mutex_unlock(&m->cache_mu);
		return avail;
	}
	pthread_mutex_unlock(&m->cache_mu);
	avail = seal_load(m, pos, load);
	pthread_mutex_lock(&m->cache_mu);
	if (!slot->data)
		slot->data = malloc(CODEC_PORA_LOAD_SIZE);
	if (slot->data) {
		if (slot->valid)
			m->sealed_sectors -= (uint64_t)__builtin_popcountll(slot->avail) * 16;
		memcpy(slot->data, load, CODEC_PORA_LOAD_SIZE);
		slot->valid = true;
		slot->pos = pos;
		slot->avail = avail;
		m->sealed_sectors += (uint64_t)__builtin_popcountll(avail) * 16;
	}
	pthread_mutex_unlock(&m->cache_mu);
	return avail;
}

static void cache_drop(struct node_pora *m)
{
	pthread_mutex_lock(&m->cache_mu);
	for (unsigned i = 0; i < NODE_PORA_SEALED_LOADS; i++)
		m->cache[i].valid = false;
	m->sealed_sectors = 0;
	pthread_mutex_unlock(&m->cache_mu);
}

/* ---- status file -------------------------------------------------------------------- */

static json_t *hexj(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_t *j;

	if (!s)
		return json_null();
	codec_hex_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

static json_t *answer_json(const struct node_pora *m)
{
	const struct chain_pora_answer *a = &m->last;
	json_t *proof = json_array(), *o;
	char mask[2 + 16 + 1];
	uint8_t mb[8];

	for (size_t i = 0; i < a->nproof; i++)
		json_array_append_new(proof, hexj(a->proof[i], 32));
	for (int i = 0; i < 8; i++)
		mb[i] = (uint8_t)(a->range.shard_mask >> (56 - 8 * i));
	codec_hex_encode(mb, 8, mask);
	o = json_pack("{s:o, s:o, s:o, s:{s:I, s:I, s:I, s:s}, s:I, s:I, s:o, s:o, s:o}",
		      "contextDigest", hexj(a->context, 32), "nonce", hexj(a->nonce, 32), "minerId",
		      hexj(a->miner_id, 32), "range", "startPosition",
		      (json_int_t)a->range.start_position, "mineLength",
		      (json_int_t)a->range.mine_length, "shardId", (json_int_t)a->range.shard_id,
		      "shardMask", mask, "recallPosition", (json_int_t)a->recall_position,
		      "sealOffset", (json_int_t)a->seal_offset, "sealedContextDigest",
		      hexj(a->sealed_context, 32), "sealedData", hexj(a->sealed, CODEC_SEAL_SIZE),
		      "merkleProof", proof);
	if (o) {
		json_object_set_new(o, "subtaskDigest", hexj(m->last_subtask, 32));
		json_object_set_new(o, "quality", hexj(m->last_quality, 32));
		json_object_set_new(o, "target", hexj(m->last_target, 32));
	}
	return o;
}

/* The status record; called with rw held for reading and mu held. */
static json_t *status_json(struct node_pora *m)
{
	const struct round *rd = &m->round;
	struct timespec now;
	double secs;
	char rewards[24];
	json_t *o;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - m->t0.tv_sec) + (double)(now.tv_nsec - m->t0.tv_nsec) / 1e9;
	snprintf(rewards, sizeof(rewards), "%llu", (unsigned long long)m->rep.rewards);
	o = json_pack("{s:o, s:I, s:I, s:f, s:I, s:o, s:o, s:I, s:I, s:s, s:I, s:I, s:I}", "minerId",
		      hexj(m->id, 32), "sealedSectors", (json_int_t)m->sealed_sectors,
		      "totalSectors", (json_int_t)(rd->minable ? rd->range.mine_length : 0),
		      "hashRate", secs > 0 ? (double)m->rep.tries / secs : 0.0, "epoch",
		      (json_int_t)rd->info.epoch, "context", hexj(rd->info.context, 32), "target",
		      hexj(rd->info.target, 32), "submitted", (json_int_t)m->rep.submitted,
		      "accepted", (json_int_t)m->rep.accepted, "rewards", rewards, "refused",
		      (json_int_t)m->rep.refused, "corrupt", (json_int_t)m->rep.corrupt, "tries",
		      (json_int_t)m->rep.tries);
	if (!o)
		return NULL;
	json_object_set_new(o, "difficulty", json_integer((json_int_t)rd->info.params.difficulty));
	json_object_set_new(o, "missing", json_integer((json_int_t)m->rep.missing));
	json_object_set_new(o, "lastAnswer", m->have_last ? answer_json(m) : json_null());
	return o;
}

json_t *node_pora_status(struct node_pora *m)
{
	json_t *o;

	pthread_rwlock_rdlock(&m->rw);
	pthread_mutex_lock(&m->mu);
	o = status_json(m);
	pthread_mutex_unlock(&m->mu);
	pthread_rwlock_unlock(&m->rw);
	return o;
}

/* Called with rw held for reading and mu held. */
static void write_status(struct node_pora *m)
{
	char path[4200], *text;
	json_t *o = status_json(m);

	if (!o)
		return;
	text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!text)
		return;
	snprintf(path, sizeof(path), "%s/pora/status.json", m->dir);
	/* A status, not a promise: no sync. */
	(void)node_io_write_file(path, text, strlen(text), 0644, false);
	free(text);
}

/* ---- following the chain (thread 0) -------------------------------------------------- */

static int refresh_entries(struct node_pora *m)
{
	struct chain_flow f;
	struct chain_entry *e = malloc(sizeof(*e));
	int r = chain_flow_info(m->chain, &f);

	if (!e)
		return -ENOMEM;
	while (r == 0 && m->nentries < f.next_tx_seq && m->nentries < NODE_PORA_ENTRIES_MAX) {
		struct flow_entry *n;

		if ((m->nentries & (m->nentries - 1)) == 0) {
			n = realloc(m->entries, (m->nentries ? 2 * m->nentries : 1) * sizeof(*n));
			if (!n) {
				r = -ENOMEM;
				break;
			}
			m->entries = n;
		}
		r = chain_entry_get(m->chain, m->nentries, e);
		if (r < 0)
			break;
		n = &m->entries[m->nentries++];
		n->tx_seq = e->tx_seq;
		n->start = e->start;
		n->sectors = e->sectors;
		n->length = e->length;
		n->nnodes = e->nnodes;
		memcpy(n->nodes, e->nodes, e->nnodes * sizeof(e->nodes[0]));
	}
	free(e);
	return r;
}

static int refresh_contexts(struct node_pora *m)
{
	struct chain_pora_context batch[64];
	size_t n;
	int r;

	do {
		r = chain_pora_contexts(m->chain, m->nctxs, batch, 64, &n);
		if (r < 0 || n == 0)
			return r;
		struct chain_pora_context *c = realloc(m->ctxs, (m->nctxs + n) * sizeof(*c));

		if (!c)
			return -ENOMEM;
		m->ctxs = c;
		memcpy(m->ctxs + m->nctxs, batch, n * sizeof(batch[0]));
		m->nctxs += n;
	} while (n == 64);
	return 0;
}

/* Thread 0, between batches: a new context starts a new round. */
static void follow(struct node_pora *m, struct timespec *last_tick)
{
	struct chain_pora_info info;
	struct timespec now;
	struct round rd;
	uint64_t before;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* The chain is asked at most every NODE_PORA_FOLLOW_MS: on an EVM chain each question
	 * is an eth_call. */
	if (m->round.info.height && (now.tv_sec - m->followed.tv_sec) * 1000 +
					    (now.tv_nsec - m->followed.tv_nsec) / 1000000 <
					NODE_PORA_FOLLOW_MS)
		return;
	m->followed = now;
	if ((now.tv_sec - last_tick->tv_sec) * 1000 + (now.tv_nsec - last_tick->tv_nsec) / 1000000 >=
	    (long)m->tick_ms) {
		*last_tick = now;
		r = chain_pora_tick(m->chain);
		if (r < 0 && r != -ENOTSUP) {
			pthread_mutex_lock(&m->mu);
			m->rep.last_error = r;
			pthread_mutex_unlock(&m->mu);
		}
	}
	if (chain_pora_info(m->chain, &info) < 0)
		return;
	if (m->round.info.height && !memcmp(info.context, m->round.info.context, 32) &&
	    info.epoch_answers == m->round.info.epoch_answers) {
		/* Nothing new on chain: refresh the hash rate in the status once a second. */
		if (now.tv_sec > m->status_at) {
			pthread_rwlock_rdlock(&m->rw);
			pthread_mutex_lock(&m->mu);
			m->status_at = now.tv_sec;
			write_status(m);
			pthread_mutex_unlock(&m->mu);
			pthread_rwlock_unlock(&m->rw);
		}
		return;
	}
	memset(&rd, 0, sizeof(rd));
	rd.info = info;
	/* An EVM chain answers a zero subtask digest outside the window of the subtask. */
	if (codec_pora_range_make(info.flow_length, 0, m->shard_id, m->num_shard, &rd.range) == 0 &&
	    !sodium_is_zero(info.subtask_digest, 32)) {
		uint8_t scale[32];

		codec_pora_range_digest(&rd.range, rd.range_digest);
		rd.minable = codec_pora_scale_x64(info.flow_length, rd.range.shard_mask, scale) == 0 &&
			     codec_pora_target_bound(info.target, scale, rd.bound) == 0;
	}
	pthread_rwlock_wrlock(&m->rw);
	before = m->round.info.flow_length;
	if (refresh_entries(m) == 0)
		refresh_contexts(m);
	m->round = rd;
	pthread_rwlock_unlock(&m->rw);
	if (before != info.flow_length)
		cache_drop(m);
	/* The workers' order: the round's lock, then mu. */
	pthread_rwlock_rdlock(&m->rw);
	pthread_mutex_lock(&m->mu);
	if (m->round_epoch != info.epoch || before != info.flow_length)
		m->epoch_submitted = 0;
	m->round_epoch = info.epoch;
	write_status(m);
	pthread_mutex_unlock(&m->mu);
	pthread_rwlock_unlock(&m->rw);
}

/* ---- tries --------------------------------------------------------------------------- */

/* Build the answer for unit u of the load at pos, check it as the chain will, submit. */
/* The answer's merkleProof: siblings from the segment proofs where there are (use_proofs),
 * else hashed from the store, or known from the chain. */
static int prove(struct node_pora *m, struct chain_pora_answer *a,
		 const struct chain_flow_node *nodes, const struct round *rd, bool use_proofs)
{
	for (size_t i = 0; i < a->nproof; i++) {
		int r = use_proofs ? proof_sibling(m, a->recall_position, nodes[i].level,
						   nodes[i].index, a->proof[i])
				   : 0;

		if (r == 0)
			r = node_root(m, nodes[i].level, nodes[i].index, rd->info.flow_length,
				      a->proof[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void answer(struct node_pora *m, const struct round *rd, const uint8_t nonce[32],
		   uint64_t pos, unsigned u, const uint8_t *load, const uint8_t quality[32])
{
	struct chain_pora_answer *a = calloc(1, sizeof(*a));
	struct chain_flow_node nodes[CHAIN_PORA_PROOF_MAX];
	const struct chain_pora_context *c;
	uint64_t reward = 0;
	size_t n;
	int r = 0;

	if (!a)
		return;
	memcpy(a->context, rd->info.context, 32);
	memcpy(a->nonce, nonce, 32);
	memcpy(a->miner_id, m->id, 32);
	a->range = rd->range;
	a->seal_offset = u;
	a->recall_position = pos + (uint64_t)u * CODEC_SEAL_SECTORS;
	c = seal_context(m, a->recall_position + CODEC_SEAL_SECTORS - 1);
	if (c)
		memcpy(a->sealed_context, c->digest, 32);
	memcpy(a->sealed, load + (size_t)u * CODEC_SEAL_SIZE, CODEC_SEAL_SIZE);
	r = chain_pora_proof_nodes(a->recall_position / CODEC_SEAL_SECTORS, 4, rd->info.flow_length,
				   nodes, &n);
	a->nproof = n;
	r = r == 0 ? prove(m, a, nodes, rd, true) : r;
	/* A holder of the whole entry can hash every sibling itself: the bytes decide. */
	if (r == 0 && !chain_pora_answer_proves(a, rd->info.flow_root, rd->info.flow_length))
		(void)prove(m, a, nodes, rd, false); /* checked below, whatever it gives */

	pthread_mutex_lock(&m->mu);
	if (r == 0 && (!c || !chain_pora_answer_proves(a, rd->info.flow_root, rd->info.flow_length))) {
		/* The bytes on disk do not hash into the flow root the chain fixed. */
		m->rep.corrupt++;
		m->rep.last_corrupt_sector = a->recall_position;
		r = -EIO;
	}
	if (r < 0 || m->epoch_submitted >= 2 * rd->info.params.target_answers) {
		pthread_mutex_unlock(&m->mu);
		free(a);
		return;
	}
	m->epoch_submitted++;
	m->rep.submitted++;
	pthread_mutex_unlock(&m->mu);

	r = chain_pora_submit(m->chain, a, &reward);

	pthread_mutex_lock(&m->mu);
	if (r == 0) {
		m->rep.accepted++;
		m->rep.rewards += reward;
		m->have_last = true;
		m->last = *a;
		memcpy(m->last_quality, quality, 32);
		memcpy(m->last_target, rd->info.target, 32);
		memcpy(m->last_subtask, rd->info.subtask_digest, 32);
	} else {
		m->rep.refused++;
		m->rep.last_refusal = r;
		if (r == -CHAIN_EPORA_CAP || r == -CHAIN_EPORA_CONTEXT)
			m->epoch_submitted = 2 * rd->info.params.target_answers;
	}
	write_status(m);
	pthread_mutex_unlock(&m->mu);
	free(a);
}

struct worker {
	struct node_pora *m;
	unsigned index;
};

static void try_batch(struct node_pora *m, unsigned index, uint64_t *counter, uint8_t *pad,
		      uint8_t *load)
{
	const struct round *rd = &m->round;
	uint8_t nonce[32], pad_seed[64], recall_seed[32], q[CODEC_PORA_SEALS_PER_LOAD][32];
	uint64_t pos, avail;

	for (unsigned t = 0; t < NODE_PORA_TRIES_PER_BATCH; t++) {
		uint64_t k = (*counter)++;

		memcpy(nonce, m->nonce_base, 24);
		for (int i = 0; i < 4; i++)
			nonce[24 + i] = (uint8_t)(index >> (24 - 8 * i));
		for (int i = 0; i < 4; i++)
			nonce[28 + i] = (uint8_t)(k >> (24 - 8 * i));
		if (k >> 32)
			nonce[0] ^= (uint8_t)(k >> 32); /* 2^32 tries per thread per start */
		codec_pora_pad_seed(m->id, nonce, rd->info.subtask_digest, rd->range_digest,
				    pad_seed);
		codec_pora_scratchpad(pad_seed, pad, recall_seed);
		if (codec_pora_recall_position(&rd->range, recall_seed, &pos) < 0)
			continue;
		avail = sealed_load(m, pos, load);
		codec_pora_load_qualities(load, avail, pad_seed, pad, q);
		for (unsigned u = 0; u < CODEC_PORA_SEALS_PER_LOAD; u++)
			if ((avail >> u & 1) && codec_pora_meets_target(q[u], rd->bound))
				answer(m, rd, nonce, pos, u, load, q[u]);
	}
	pthread_mutex_lock(&m->mu);
	m->rep.tries += NODE_PORA_TRIES_PER_BATCH;
	pthread_mutex_unlock(&m->mu);
}

static bool idle_wait(struct node_pora *m, long ms)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&m->mu);
	if (!m->stop)
		pthread_cond_timedwait(&m->cv, &m->mu, &until);
	stop = m->stop;
	pthread_mutex_unlock(&m->mu);
	return stop;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct node_pora *m = w->m;
	struct timespec last_tick = {0, 0};
	uint8_t *pad = malloc(CODEC_PORA_PAD_SIZE), *load = malloc(CODEC_PORA_LOAD_SIZE);
	uint64_t counter = 0;

	/* Mining takes only CPU time nothing else wants: the read path, uploads and the mount
	 * run first (docs/PORA.md has the figures). Where SCHED_IDLE is refused, the thread
	 * runs at normal priority. */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &(struct sched_param){0});
	while (pad && load) {
		bool busy, stop;

		if (w->index == 0)
			follow(m, &last_tick);
		pthread_mutex_lock(&m->mu);
		stop = m->stop;
		busy = m->epoch_submitted < 2 * m->round.info.params.target_answers;
		pthread_mutex_unlock(&m->mu);
		if (stop)
			break;
		pthread_rwlock_rdlock(&m->rw);
		busy = busy && m->round.minable;
		if (busy)
			try_batch(m, w->index, &counter, pad, load);
		pthread_rwlock_unlock(&m->rw);
		if (!busy && idle_wait(m, 50))
			break;
	}
	free(pad);
	free(load);
	free(w);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------------ */

static int load_or_register(struct node_pora *m, const char *path)
{
	uint8_t addr[CHAIN_ADDRESS_SIZE], beneficiary[CHAIN_ADDRESS_SIZE];
	char text[80];
	uint64_t balance, seed;
	ssize_t n;
	int fd, r;

	fd = node_io_open(path, O_RDONLY, 0);
	if (fd >= 0) {
		n = node_io_pread(fd, text, sizeof(text) - 1, 0);
		node_io_close(fd);
		if (n < 0)
			return (int)n;
		text[n] = '\0';
		text[strcspn(text, "\r\n")] = '\0';
		if (codec_hex_decode(text, m->id, 32) < 0)
			return -EINVAL;
		/* A ledger started afresh does not know the id: register a new one. */
		if (chain_pora_miner(m->chain, m->id, beneficiary) == 0)
			return 0;
	} else if (fd != -ENOENT) {
		return fd;
	}
	r = chain_account(m->chain, addr, &balance);
	if (r < 0)
		return r;
	/* An id registered before a crash that lost the file is found again by its
	 * beneficiary, this node's account; only a ledger without one registers anew. */
	r = chain_pora_miner_of(m->chain, addr, m->id);
	if (r == -ENOENT) {
		randombytes_buf(&seed, sizeof(seed));
		r = chain_pora_register(m->chain, seed, addr, m->id);
	}
	if (r < 0)
		return r;
	codec_hex_encode(m->id, 32, text);
	text[2 * 32 + 2] = '\n'; /* "0x" and 64 digits, then a newline */
	text[2 * 32 + 3] = '\0';
	return node_io_write_file(path, text, strlen(text), 0600, true);
}

int node_pora_start(const struct node_pora_config *cfg, struct chain *chain,
		    struct node_store *store, struct node_pora **ret_miner)
{
	struct node_pora *m;
	char path[4200];
	int r;

	if (!cfg || !cfg->data_dir || strlen(cfg->data_dir) >= sizeof(m->dir) || cfg->threads == 0 ||
	    cfg->threads > NODE_PORA_THREADS_MAX)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	snprintf(m->dir, sizeof(m->dir), "%s", cfg->data_dir);
	m->threads = cfg->threads;
	m->tick_ms = cfg->tick_ms ? cfg->tick_ms : 1000;
	m->shard_id = cfg->num_shard > 1 ? cfg->shard_id : 0;
	m->num_shard = cfg->num_shard > 1 ? cfg->num_shard : 1;
	m->chain = chain;
	m->store = store;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	pthread_rwlock_init(&m->rw, NULL);
	pthread_mutex_init(&m->cache_mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	randombytes_buf(m->nonce_base, sizeof(m->nonce_base));

	snprintf(path, sizeof(path), "%s/pora", m->dir);
	r = node_io_mkdir(path, 0700);
	if (r == -EEXIST)
		r = 0;
	if (r == 0) {
		if (cfg->id_file)
			snprintf(path, sizeof(path), "%s", cfg->id_file);
		else
			snprintf(path, sizeof(path), "%s/pora/miner.id", m->dir);
		r = load_or_register(m, path);
	}
	if (r < 0)
		goto fail;
	memcpy(m->rep.miner_id, m->id, 32);
	for (; m->started < m->threads; m->started++) {
		struct worker *w = malloc(sizeof(*w));

		if (!w) {
			r = -ENOMEM;
			goto fail;
		}
		*w = (struct worker){m, m->started};
		r = -pthread_create(&m->tids[m->started], NULL, worker_main, w);
		if (r < 0) {
			free(w);
			goto fail;
		}
	}
	*ret_miner = m;
	return 0;
fail:
	node_pora_stop(m);
	return r;
}

void node_pora_stop(struct node_pora *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	for (unsigned i = 0; i < m->started; i++)
		pthread_join(m->tids[i], NULL);
	for (unsigned i = 0; i < NODE_PORA_SEALED_LOADS; i++)
		free(m->cache[i].data);
	free(m->entries);
	free(m->ctxs);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	pthread_rwlock_destroy(&m->rw);
	pthread_mutex_destroy(&m->cache_mu);
	free(m);
}

void node_pora_report(struct node_pora *m, struct node_pora_report *ret_report)
{
	pthread_mutex_lock(&m->mu);
	*ret_report = m->rep;
	pthread_mutex_unlock(&m->mu);
}
