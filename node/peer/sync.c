/*
 * The sync thread. Each round walks the store's expected entries (a snapshot), fetches
 * what is missing of those that waited long enough, and sleeps until kicked or
 * NODE_SYNC_INTERVAL_MS passed. When an entry was first seen is kept in memory only; an
 * entry the chain settled more than NODE_SYNC_DELAY_MS before the sync started has no
 * uploader left to wait for (a restart, a node rebuilding its shard) and is synced at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/limits.h"
#include "node/peer/place.h"
#include "node/peer/sync.h"
#include "sys/clock.h"
#include "sys/threads.h"

struct seen {
	uint64_t seq, at_ms;
};

struct node_sync {
	struct node_sync_config cfg;
	pthread_t thread;
	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;
	bool stop, kicked;
	uint64_t hurry[NODE_SYNC_HURRY_MAX]; /* node_sync_hurry() since the last round */
	size_t nhurry;
	struct node_sync_report rep;
	/* the thread's own */
	struct seen *seen;
	size_t nseen;
	uint64_t window_start_ms, window_bytes; /* pacing, under mu */
	uint64_t *missing;
	struct node_ec *ec; /* with a policy */
	struct chain_entry *entry;
	uint64_t started_s; /* wall clock, seconds, when the sync started */
};

/* When the sync first saw entry seq waiting (at_ms, when it had not); with force, at_ms
 * whatever it was. */
static uint64_t seen_at(struct node_sync *y, uint64_t seq, uint64_t at_ms, bool force)
{
	for (size_t i = 0; i < y->nseen; i++) {
		if (y->seen[i].seq == seq) {
			if (force)
				y->seen[i].at_ms = at_ms;
			return y->seen[i].at_ms;
		}
	}
	if (y->nseen == NODE_SYNC_TRACK_MAX) /* forget the oldest */
		memmove(y->seen, y->seen + 1, (y->nseen - 1) * sizeof(*y->seen));
	else
		y->nseen++;
	y->seen[y->nseen - 1] = (struct seen){seq, at_ms};
	return at_ms;
}

static uint64_t first_seen(struct node_sync *y, uint64_t seq)
{
	for (size_t i = 0; i < y->nseen; i++)
		if (y->seen[i].seq == seq)
			return y->seen[i].at_ms;
	/* Settled well before this sync started: its uploader is long done. */
	if (chain_entry_get(y->cfg.chain, seq, y->entry) == 0 &&
	    y->entry->timestamp + (y->cfg.delay_ms + 999) / 1000 < y->started_s)
		return seen_at(y, seq, 0, true);
	return seen_at(y, seq, sys_now_ms(), false);
}

/* Sleeps as long as keeps the bytes fetched in this second under the rate (the workers
 * share one window). */
static void pace(struct node_sync *y, size_t bytes)
{
	uint64_t now = sys_now_ms(), nap = 0;

	pthread_mutex_lock(&y->mu);
	if (now - y->window_start_ms >= 1000) {
		y->window_start_ms = now;
		y->window_bytes = 0;
	}
	y->window_bytes += bytes;
	if (y->window_bytes >= y->cfg.rate_bps)
		nap = 1000 - (now - y->window_start_ms);
	pthread_mutex_unlock(&y->mu);
	if (nap)
		sys_sleep_ms(nap);
}

static bool stopping(struct node_sync *y)
{
	bool s;

	pthread_mutex_lock(&y->mu);
	s = y->stop;
	pthread_mutex_unlock(&y->mu);
	return s;
}

static void note_error(struct node_sync *y, int r, uint64_t seq)
{
	pthread_mutex_lock(&y->mu);
	y->rep.failures++;
	y->rep.last_error = r;
	y->rep.last_error_seq = seq;
	pthread_mutex_unlock(&y->mu);
}

/* This shard's parity position in stripe j of entry pe (k … k+m−1); -1 when none. */
static int own_parity_pos(const struct node_sync *y, const struct node_peer_entry *pe,
			  uint64_t j)
{
	const struct node_ec_layout *l = &y->cfg.layout;

	for (unsigned q = l->k; q < l->k + l->m; q++)
		if (node_ec_shard_of(l, node_place_start_seg(pe->start), j, q) == y->cfg.shard_id)
			return (int)q;
	return -1;
}

/*
 * Computes and stores this shard's parity symbol of stripe j: the stripe's data segments
 * from peers (checked, or rebuilt), their proofs kept with the symbol. 0 or -errno.
 */
static int build_parity(struct node_sync *y, const struct node_peer_entry *pe, uint64_t j)
{
	const struct node_ec_layout *l = &y->cfg.layout;
	uint64_t nd = pe->length / CODEC_SEGMENT_SIZE + (pe->length % CODEC_SEGMENT_SIZE != 0);
	unsigned have = node_ec_stripe_ndata(l, nd, j);
	int pos = own_parity_pos(y, pe, j), r = -ENOMEM;
	uint8_t *mem = malloc((size_t)(l->k + l->m) * CODEC_SEGMENT_SIZE);
	struct codec_proof *proofs = malloc(l->k * sizeof(*proofs));
	const uint8_t *data[NODE_EC_SYMBOLS_MAX];
	uint8_t *parity[NODE_EC_SYMBOLS_MAX];
	size_t len[NODE_EC_SYMBOLS_MAX], in = 0;

	if (pos < 0) {
		r = -EXDEV;
		goto out;
	}
	if (!mem || !proofs)
		goto out;
	r = 0;
	for (unsigned d = 0; r == 0 && d < have && !stopping(y); d++) {
		uint8_t *b = mem + (size_t)d * CODEC_SEGMENT_SIZE;

		r = node_peers_segment(y->cfg.peers, pe, j * l->k + d, b, &len[d], &proofs[d]);
		data[d] = b;
		in += r == 0 ? len[d] : 0;
	}
	if (r == 0 && stopping(y))
		r = -EINTR;
	for (unsigned q = 0; q < l->m; q++)
		parity[q] = mem + (size_t)(l->k + q) * CODEC_SEGMENT_SIZE;
	if (r == 0)
		r = node_ec_encode(y->ec, data, len, have, parity);
	if (r == 0)
		r = node_store_put_parity(y->cfg.store, pe->tx_seq, j, parity[pos - l->k], proofs,
					  have);
	if (r == 0) {
		pthread_mutex_lock(&y->mu);
		y->rep.parity_built++;
		y->rep.parity_bytes_in += in;
		pthread_mutex_unlock(&y->mu);
		pace(y, in);
	}
out:
	free(mem);
	free(proofs);
	return r;
}

/*
 * One batch of work on NODE_SYNC_THREADS threads: the missing data segments idx[0..n) of
 * entry pe fetched (copied or rebuilt) and stored, or (parity) the parity symbols of
 * stripes idx[0..n) built and stored. Rebuilds are a chain of requests to peers, each
 * waiting on the network: several at once keep the peers and the cores busy.
 */
struct job {
	struct node_sync *y;
	const struct node_peer_entry *pe;
	const uint64_t *idx;
	size_t n;
	bool parity;
	atomic_size_t next;
	atomic_uint_fast64_t left; /* items that failed */
};

static int fetch_one(struct node_sync *y, const struct node_peer_entry *pe, uint64_t index,
		     uint8_t *buf, struct codec_proof *proof)
{
	size_t len;
	int g = node_peers_segment(y->cfg.peers, pe, index, buf, &len, proof);

	if (g == 0)
		g = node_store_put_segment(y->cfg.store, pe->tx_seq, index, buf, len, proof);
	pthread_mutex_lock(&y->mu);
	if (g == 0) {
		y->rep.segments_fetched++;
		y->rep.bytes_fetched += len;
	} else {
		y->rep.failures++;
		y->rep.last_error = g;
		y->rep.last_error_seq = pe->tx_seq;
	}
	pthread_mutex_unlock(&y->mu);
	if (g == 0)
		pace(y, len);
	return g;
}

static void *job_worker(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = j->parity ? NULL : malloc(CODEC_SEGMENT_SIZE);
	struct codec_proof *proof = j->parity ? NULL : malloc(sizeof(*proof));

	for (;;) {
		size_t k = atomic_fetch_add(&j->next, 1);
		int r;

		if (k >= j->n || stopping(j->y))
			break;
		if (j->parity) {
			r = build_parity(j->y, j->pe, j->idx[k]);
			if (r < 0)
				note_error(j->y, r, j->pe->tx_seq);
		} else {
			r = buf && proof ? fetch_one(j->y, j->pe, j->idx[k], buf, proof) : -ENOMEM;
		}
		if (r < 0)
			atomic_fetch_add(&j->left, 1);
	}
	free(buf);
	free(proof);
	return NULL;
}

/* Runs idx[0..n) (see struct job); how many failed. */
static uint64_t run_job(struct node_sync *y, const struct node_peer_entry *pe,
			const uint64_t *idx, size_t n, bool parity)
{
	struct job j = {.y = y, .pe = pe, .idx = idx, .n = n, .parity = parity};

	atomic_init(&j.next, 0);
	atomic_init(&j.left, 0);
	sys_run_threads(job_worker, &j, n < NODE_SYNC_THREADS ? (unsigned)n : NODE_SYNC_THREADS);
	return atomic_load(&j.left);
}

/* Builds the parity symbols entry pe misses here; how many are still missing. */
static uint64_t fill_parity(struct node_sync *y, const struct node_peer_entry *pe)
{
	uint64_t from = 0, left = 0;
	size_t n;
	int r;

	while (!stopping(y)) {
		r = node_store_missing_parity(y->cfg.store, pe->tx_seq, from, y->missing,
					      NODE_SYNC_BATCH, &n);
		if (r < 0) {
			note_error(y, r, pe->tx_seq);
			return left + 1;
		}
		if (n == 0)
			break;
		left += run_job(y, pe, y->missing, n, true);
		from = y->missing[n - 1] + 1;
	}
	return left;
}

/* Fetches and stores what entry info misses; the count of segments still missing. */
static uint64_t fill_entry(struct node_sync *y, const struct node_store_info *info)
{
	struct chain_entry *e = malloc(sizeof(*e));
	struct node_peer_entry pe;
	uint64_t from = 0, left = 0;
	size_t n;
	int r;

	if (!e)
		return 1;
	r = chain_entry_get(y->cfg.chain, info->tx_seq, e);
	if (r == 0) {
		pe = (struct node_peer_entry){.tx_seq = e->tx_seq, .start = e->start,
					      .length = e->length};
		memcpy(pe.root, e->root, CODEC_HASH_SIZE);
	}
	free(e);
	while (r == 0 && !stopping(y)) {
		r = node_store_missing(y->cfg.store, info->tx_seq, from, y->missing,
				       NODE_SYNC_BATCH, &n);
		if (r < 0 || n == 0)
			break;
		left += run_job(y, &pe, y->missing, n, false);
		from = y->missing[n - 1] + 1;
	}
	if (r == 0 && y->ec)
		left += fill_parity(y, &pe);
	if (r < 0) {
		note_error(y, r, info->tx_seq);
		left++;
	}
	return left;
}

struct round {
	struct node_sync *y;
	uint64_t waiting, missing;
};

static int one_entry(void *ctx, const struct node_store_info *info)
{
	struct round *rd = ctx;
	struct node_sync *y = rd->y;

	rd->waiting++;
	if (sys_now_ms() - first_seen(y, info->tx_seq) < y->cfg.delay_ms) {
		rd->missing += info->segments_held + info->parity_held - info->parity_present;
		return 0;
	}
	rd->missing += fill_entry(y, info);
	return stopping(y);
}

static void *sync_main(void *arg)
{
	struct node_sync *y = arg;

	pthread_mutex_lock(&y->mu);
	while (!y->stop) {
		struct round rd = {.y = y};
		struct timespec until;

		y->kicked = false;
		/* Hurried entries count as seen long ago: no wait for their uploader. */
		for (size_t i = 0; i < y->nhurry; i++)
			seen_at(y, y->hurry[i], 0, true);
		y->nhurry = 0;
		pthread_mutex_unlock(&y->mu);
		node_store_expected(y->cfg.store, one_entry, &rd);
		pthread_mutex_lock(&y->mu);
		y->rep.entries_waiting = rd.waiting;
		y->rep.segments_missing = rd.missing;
		until = sys_deadline_ms(NODE_SYNC_INTERVAL_MS);
		while (!y->stop && !y->kicked)
			if (pthread_cond_timedwait(&y->cv, &y->mu, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&y->mu);
	return NULL;
}

static void sync_free(struct node_sync *y)
{
	pthread_mutex_destroy(&y->mu);
	pthread_cond_destroy(&y->cv);
	free(y->seen);
	free(y->missing);
	free(y->entry);
	node_ec_free(y->ec);
	free(y);
}

int node_sync_start(const struct node_sync_config *cfg, struct node_sync **ret_sync)
{
	struct node_sync *y = calloc(1, sizeof(*y));
	int r;

	if (!y)
		return -ENOMEM;
	y->cfg = *cfg;
	if (!y->cfg.rate_bps)
		y->cfg.rate_bps = NODE_SYNC_RATE_BPS;
	if (!y->cfg.delay_ms)
		y->cfg.delay_ms = NODE_SYNC_DELAY_MS;
	pthread_mutex_init(&y->mu, NULL);
	pthread_cond_init(&y->cv, NULL);
	y->seen = malloc(NODE_SYNC_TRACK_MAX * sizeof(*y->seen));
	y->missing = malloc(NODE_SYNC_BATCH * sizeof(*y->missing));
	y->entry = malloc(sizeof(*y->entry));
	y->started_s = (uint64_t)time(NULL);
	if (y->cfg.layout.k && (r = node_ec_new(y->cfg.layout.k, y->cfg.layout.m, &y->ec)) < 0) {
		sync_free(y);
		return r;
	}
	if (!y->seen || !y->missing || !y->entry) {
		sync_free(y);
		return -ENOMEM;
	}
	y->window_start_ms = sys_now_ms();
	r = -pthread_create(&y->thread, NULL, sync_main, y);
	if (r < 0) {
		sync_free(y);
		return r;
	}
	*ret_sync = y;
	return 0;
}

void node_sync_stop(struct node_sync *y)
{
	if (!y)
		return;
	pthread_mutex_lock(&y->mu);
	y->stop = true;
	pthread_cond_broadcast(&y->cv);
	pthread_mutex_unlock(&y->mu);
	pthread_join(y->thread, NULL);
	sync_free(y);
}

void node_sync_kick(struct node_sync *y)
{
	if (!y)
		return;
	pthread_mutex_lock(&y->mu);
	y->kicked = true;
	pthread_cond_broadcast(&y->cv);
	pthread_mutex_unlock(&y->mu);
}

void node_sync_hurry(struct node_sync *y, uint64_t tx_seq)
{
	if (!y)
		return;
	pthread_mutex_lock(&y->mu);
	if (y->nhurry < NODE_SYNC_HURRY_MAX)
		y->hurry[y->nhurry++] = tx_seq;
	y->kicked = true;
	pthread_cond_broadcast(&y->cv);
	pthread_mutex_unlock(&y->mu);
}

void node_sync_report(struct node_sync *y, struct node_sync_report *ret_report)
{
	pthread_mutex_lock(&y->mu);
	*ret_report = y->rep;
	pthread_mutex_unlock(&y->mu);
}
