/*
 * The node's peers. Each peer has its own RPC client (keep-alive connections of its own),
 * its shard once it has said it, and counters for status. The list only grows while the
 * node runs (peers are added from the command line and the registry), so a fetch can
 * walk it holding the lock only to read a peer's state, never during a request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "node/limits.h"
#include "node/peer/peers.h"
#include "node/peer/place.h"
#include "node/rpc/rpc.h"

struct peer {
	char *url;
	struct node_rpc_client *rpc;
	atomic_bool json_only;
	/* under node_peers.mu */
	bool shard_known;
	uint32_t shard_id, num_shard;
	uint64_t skip_until_ms; /* failed: not asked before this (monotonic) */
	uint64_t fetched, failures, wrong;
	int last_error;
};

struct node_peers {
	pthread_mutex_t mu;
	struct peer *peers[NODE_PEERS_MAX];
	size_t n;
	atomic_uint_fast64_t turn; /* where the next fetch starts looking */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node_peers_new(struct node_peers **ret_peers)
{
	struct node_peers *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	*ret_peers = p;
	return 0;
}

void node_peers_free(struct node_peers *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		node_rpc_client_free(p->peers[i]->rpc);
		free(p->peers[i]->url);
		free(p->peers[i]);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int node_peers_add(struct node_peers *p, const char *url)
{
	struct peer *pe;
	int r = 0;

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->peers[i]->url, url) == 0)
			goto out;
	r = -E2BIG;
	if (p->n == NODE_PEERS_MAX)
		goto out;
	r = -ENOMEM;
	pe = calloc(1, sizeof(*pe));
	if (!pe)
		goto out;
	pe->url = strdup(url);
	r = pe->url ? node_rpc_client_new(url, &pe->rpc) : -ENOMEM;
	if (r < 0) {
		free(pe->url);
		free(pe);
		goto out;
	}
	node_rpc_client_set_timeout(pe->rpc, NODE_PEER_CONNECT_MS, NODE_PEER_FETCH_MS);
	atomic_init(&pe->json_only, false);
	p->peers[p->n++] = pe;
out:
	pthread_mutex_unlock(&p->mu);
	return r;
}

size_t node_peers_count(struct node_peers *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* A request to pe failed with r: skip it for a while, and ask its shard again after. */
static void peer_failed(struct node_peers *p, struct peer *pe, int r, bool wrong)
{
	pthread_mutex_lock(&p->mu);
	if (wrong)
		pe->wrong++;
	else
		pe->failures++;
	pe->last_error = r;
	pe->shard_known = false;
	pe->skip_until_ms = now_ms() + NODE_PEER_RETRY_MS;
	pthread_mutex_unlock(&p->mu);
}

/* pe's shard, asked of it when not known. */
static int peer_shard(struct node_peers *p, struct peer *pe, uint32_t *ret_id, uint32_t *ret_n)
{
	json_t *res = NULL, *jid, *jn;
	json_int_t id, n;
	int r;

	pthread_mutex_lock(&p->mu);
	if (pe->shard_known) {
		*ret_id = pe->shard_id;
		*ret_n = pe->num_shard;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	r = now_ms() < pe->skip_until_ms ? -EHOSTUNREACH : 0;
	pthread_mutex_unlock(&p->mu);
	if (r < 0)
		return r;
	r = node_rpc_call(pe->rpc, "zgs_getShardConfig", json_array(), &res, NULL);
	if (r < 0) {
		peer_failed(p, pe, r, false);
		return r;
	}
	jid = json_object_get(res, "shardId");
	jn = json_object_get(res, "numShard");
	id = json_is_integer(jid) ? json_integer_value(jid) : -1;
	n = json_is_integer(jn) ? json_integer_value(jn) : -1;
	json_decref(res);
	if (n < 1 || n > (json_int_t)1 << 30 || (n & (n - 1)) || id < 0 || id >= n) {
		peer_failed(p, pe, -EPROTO, true);
		return -EPROTO;
	}
	pthread_mutex_lock(&p->mu);
	pe->shard_known = true;
	pe->shard_id = (uint32_t)id;
	pe->num_shard = (uint32_t)n;
	pthread_mutex_unlock(&p->mu);
	*ret_id = (uint32_t)id;
	*ret_n = (uint32_t)n;
	return 0;
}

/* One try at pe: 1 when it does not keep the segment, 0 when it gave it (checked). */
static int try_peer(struct node_peers *p, struct peer *pe, const struct node_peer_entry *e,
		    uint64_t index, uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof)
{
	uint64_t flow_seg = node_place_start_seg(e->start) + index;
	struct node_rpc_segment *s;
	uint32_t id, n;
	int r = peer_shard(p, pe, &id, &n);

	if (r < 0)
		return r;
	if (!node_shard_holds((struct node_shard){.id = id, .num = n}, flow_seg))
		return 1;
	r = node_rpc_fetch_segment(pe->rpc, &pe->json_only, e->tx_seq, index, e->root, e->length,
				   &s);
	if (r < 0) {
		/* -EAGAIN: it keeps that shard but not (yet) this segment; not its fault. */
		if (r != -EAGAIN)
			peer_failed(p, pe, r, r == -EIO);
		return r;
	}
	memcpy(buf, s->data, s->len);
	*ret_len = (size_t)codec_num_chunks(s->len) * CODEC_CHUNK_SIZE;
	memset(buf + s->len, 0, *ret_len - s->len);
	*ret_proof = s->proof;
	free(s);
	pthread_mutex_lock(&p->mu);
	pe->fetched++;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int node_peers_segment(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		       uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof)
{
	size_t n = node_peers_count(p), first;

	if (index * CODEC_SEGMENT_SIZE >= e->length)
		return -EINVAL;
	if (n == 0)
		return -EHOSTUNREACH;
	first = (size_t)(atomic_fetch_add(&p->turn, 1) % n);
	for (size_t k = 0; k < n; k++) {
		struct peer *pe;

		pthread_mutex_lock(&p->mu);
		pe = p->peers[(first + k) % n];
		pthread_mutex_unlock(&p->mu);
		if (try_peer(p, pe, e, index, buf, ret_len, ret_proof) == 0)
			return 0;
	}
	return -EHOSTUNREACH;
}

int node_peers_list(struct node_peers *p, node_peer_report_fn *fn, void *ctx)
{
	size_t n = node_peers_count(p);
	uint64_t now = now_ms();

	for (size_t i = 0; i < n; i++) {
		struct node_peer_report rep;
		struct peer *pe;
		int r;

		pthread_mutex_lock(&p->mu);
		pe = p->peers[i];
		rep = (struct node_peer_report){.url = pe->url,
						.shard_known = pe->shard_known,
						.shard_id = pe->shard_id,
						.num_shard = pe->num_shard,
						.up = now >= pe->skip_until_ms,
						.fetched = pe->fetched,
						.failures = pe->failures,
						.wrong = pe->wrong,
						.last_error = pe->last_error};
		pthread_mutex_unlock(&p->mu);
		r = fn(ctx, &rep);
		if (r)
			return r;
	}
	return 0;
}
