/*
 * The node's peers. Each peer has its own RPC client (keep-alive connections of its own),
 * its shard once it has said it, and counters for status. The list only grows while the
 * node runs (peers are added from the command line and the registry), so a fetch can
 * walk it holding the lock only to read a peer's state, never during a request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "node/limits.h"
#include "node/peer/peers.h"
#include "node/peer/place.h"
#include "node/rpc/rpc.h"
#include "sys/clock.h"

struct peer {
	char *url;
	struct node_rpc_client *rpc;
	atomic_bool json_only;
	/* under node_peers.mu */
	bool shard_known;
	uint32_t shard_id, num_shard;
	uint64_t skip_until_ms; /* failed: not asked before this (monotonic) */
	unsigned streak;	/* failures since it last gave a segment */
	uint64_t fetched, failures, wrong;
	int last_error;
};

struct node_peers {
	pthread_mutex_t mu;
	struct peer *peers[NODE_PEERS_MAX];
	size_t n;
	atomic_uint_fast64_t turn; /* where the next fetch starts looking */
	/* The policy (node_peers_set_policy), set before other threads start. */
	bool ec_on;
	struct node_ec_layout lay;
	struct node_ec *ec;
	struct node_peer_local local;
	atomic_uint_fast64_t rebuilt, rebuilt_in;
};

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
	node_ec_free(p->ec);
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
	/* Each failure in a row doubles the pause, up to NODE_PEER_RETRY_MAX_MS: a peer that
	 * stays down stops costing every read a timeout. */
	if (pe->streak < 16)
		pe->streak++;
	pe->skip_until_ms = sys_now_ms() + (NODE_PEER_RETRY_MS << (pe->streak - 1) <
						    NODE_PEER_RETRY_MAX_MS
						? (uint64_t)NODE_PEER_RETRY_MS << (pe->streak - 1)
						: NODE_PEER_RETRY_MAX_MS);
	pthread_mutex_unlock(&p->mu);
}

/* pe's shard, asked of it when not known; SKIPPED while it is in its retry pause unless
 * force. */
#define SKIPPED 2
static int peer_shard(struct node_peers *p, struct peer *pe, bool force, uint32_t *ret_id,
		      uint32_t *ret_n)
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
	r = !force && sys_now_ms() < pe->skip_until_ms ? SKIPPED : 0;
	pthread_mutex_unlock(&p->mu);
	if (r)
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

/* The peer the next walk starts with, and the count to look at. */
static size_t turn_start(struct node_peers *p, size_t *ret_n)
{
	*ret_n = node_peers_count(p);
	return *ret_n ? (size_t)(atomic_fetch_add(&p->turn, 1) % *ret_n) : 0;
}

static struct peer *peer_at(struct node_peers *p, size_t i)
{
	struct peer *pe;

	pthread_mutex_lock(&p->mu);
	pe = p->peers[i];
	pthread_mutex_unlock(&p->mu);
	return pe;
}

/* What one walk over the peers looks for, and where the answer goes. */
struct ask {
	const struct node_peer_entry *e;
	uint64_t index;	 /* data segment, or the stripe for parity */
	unsigned pos;	 /* parity position */
	uint8_t *buf;
	size_t *ret_len;
	struct codec_proof *ret_proof;
	struct peer *from; /* who answered */
};

/*
 * Asks the peers in turn, from a start that moves with each walk, until try() gives 0.
 * try() returns 0 (answered), 1 (that peer does not keep it), SKIPPED (in its retry
 * pause) or -errno. Peers skipped for their pause are asked last, once the others could
 * not answer: a peer that came back is used at once rather than after its pause when it
 * is the only one left. -EHOSTUNREACH when none answered.
 */
static int walk(struct node_peers *p, struct ask *a,
		int (*try)(struct node_peers *p, struct peer *pe, bool force, struct ask *a))
{
	bool skipped[NODE_PEERS_MAX] = {false}, any = false;
	size_t n, first = turn_start(p, &n);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = (first + k) % n;
			struct peer *pe;
			int r;

			if (pass == 1 && !skipped[i])
				continue;
			pe = peer_at(p, i);
			r = try(p, pe, pass == 1, a);
			if (r == 0) {
				a->from = pe;
				return 0;
			}
			skipped[i] = r == SKIPPED;
			any |= skipped[i];
		}
		if (!any)
			break;
	}
	return -EHOSTUNREACH;
}

/* pe answered a request well: its failures in a row are over. */
static void peer_ok(struct node_peers *p, struct peer *pe)
{
	pthread_mutex_lock(&p->mu);
	pe->streak = 0;
	pthread_mutex_unlock(&p->mu);
}

static void count_fetched(struct node_peers *p, struct peer *pe)
{
	pthread_mutex_lock(&p->mu);
	pe->fetched++;
	pe->streak = 0;
	pthread_mutex_unlock(&p->mu);
}

/* One try at pe for a copy of data segment a->index (checked against the entry's root). */
static int try_copy(struct node_peers *p, struct peer *pe, bool force, struct ask *a)
{
	uint64_t flow_seg = node_place_start_seg(a->e->start) + a->index;
	struct node_rpc_segment *s;
	uint32_t id, n;
	int r = peer_shard(p, pe, force, &id, &n);

	if (r)
		return r;
	if (!node_shard_holds((struct node_shard){.id = id, .num = n}, flow_seg))
		return 1;
	r = node_rpc_fetch_segment(pe->rpc, &pe->json_only, a->e->tx_seq, a->index, a->e->root,
				   a->e->length, &s);
	if (r < 0) {
		/* -EAGAIN: it keeps that shard but not (yet) this segment; not its fault. */
		if (r != -EAGAIN)
			peer_failed(p, pe, r, r == -EIO);
		return r;
	}
	memcpy(a->buf, s->data, s->len);
	*a->ret_len = (size_t)codec_num_chunks(s->len) * CODEC_CHUNK_SIZE;
	memset(a->buf + s->len, 0, *a->ret_len - s->len);
	*a->ret_proof = s->proof;
	free(s);
	count_fetched(p, pe);
	return 0;
}

/* The segment from a peer keeping a copy; -EHOSTUNREACH when none gave it. */
static int copies(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		  uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof)
{
	struct ask a = {.e = e, .index = index, .buf = buf, .ret_len = ret_len,
			.ret_proof = ret_proof};

	return walk(p, &a, try_copy);
}

static int rebuild(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		   uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof);

int node_peers_segment(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		       uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof)
{
	int r;

	if (index * CODEC_SEGMENT_SIZE >= e->length)
		return -EINVAL;
	r = copies(p, e, index, buf, ret_len, ret_proof);
	if (r == -EHOSTUNREACH && p->ec_on)
		r = rebuild(p, e, index, buf, ret_len, ret_proof);
	return r;
}

/* ---- stripes -------------------------------------------------------------------------- */

int node_peers_set_policy(struct node_peers *p, const struct node_ec_layout *l,
			  const struct node_peer_local *local)
{
	int r;

	if (!node_ec_layout_valid(l) || l->k + l->m > NODE_EC_SYMBOLS_MAX)
		return -EINVAL;
	r = node_ec_new(l->k, l->m, &p->ec);
	if (r < 0)
		return r;
	p->lay = *l;
	p->local = *local;
	p->ec_on = true;
	return 0;
}

/* Whether shard (id, n) keeps a parity symbol of stripe j of e. */
static bool keeps_parity(struct node_peers *p, const struct node_peer_entry *e, uint32_t id,
			 uint32_t n, uint64_t j)
{
	uint64_t start_seg = node_place_start_seg(e->start);

	if (!p->ec_on || n != p->lay.num)
		return false;
	for (unsigned q = p->lay.k; q < p->lay.k + p->lay.m; q++)
		if (node_ec_shard_of(&p->lay, start_seg, j, q) == id)
			return true;
	return false;
}

static int try_parity(struct node_peers *p, struct peer *pe, bool force, struct ask *a)
{
	uint32_t want = node_ec_shard_of(&p->lay, node_place_start_seg(a->e->start), a->index,
					 a->pos);
	uint32_t id, num;
	unsigned got;
	int r = peer_shard(p, pe, force, &id, &num);

	if (r)
		return r;
	if (num != p->lay.num || id != want)
		return 1;
	r = node_rpc_fetch_parity(pe->rpc, a->e->tx_seq, a->index, a->buf, &got);
	if (r == 0 && got != a->pos)
		r = -EIO;
	if (r < 0) {
		if (r != -EAGAIN)
			peer_failed(p, pe, r, r == -EIO);
		return r;
	}
	count_fetched(p, pe);
	return 0;
}

/* Parity pos of stripe j from a peer keeping it; *ret_peer says which (for blame). */
static int parity_from(struct node_peers *p, const struct node_peer_entry *e, uint64_t j,
		       unsigned pos, uint8_t *buf, struct peer **ret_peer)
{
	struct ask a = {.e = e, .index = j, .pos = pos, .buf = buf};
	int r = walk(p, &a, try_parity);

	if (r == 0)
		*ret_peer = a.from;
	return r;
}

int node_peers_parity(struct node_peers *p, const struct node_peer_entry *e, uint64_t stripe,
		      unsigned pos, uint8_t *buf)
{
	struct peer *pe;

	if (!p->ec_on || pos < p->lay.k || pos >= p->lay.k + p->lay.m)
		return -EINVAL;
	return parity_from(p, e, stripe, pos, buf, &pe);
}

static int try_proof(struct node_peers *p, struct peer *pe, bool force, struct ask *a)
{
	uint64_t flow_seg = node_place_start_seg(a->e->start) + a->index;
	uint64_t j = p->ec_on ? node_ec_stripe_of(&p->lay, a->index) : 0;
	uint32_t id, num;
	int r = peer_shard(p, pe, force, &id, &num);

	if (r)
		return r;
	if (!node_shard_holds((struct node_shard){.id = id, .num = num}, flow_seg) &&
	    !keeps_parity(p, a->e, id, num, j))
		return 1;
	r = node_rpc_fetch_proof(pe->rpc, a->e->tx_seq, a->index, a->e->root,
				 codec_num_segments(a->e->length), a->ret_proof);
	if (r < 0 && r != -EAGAIN)
		peer_failed(p, pe, r, r == -EIO);
	else if (r == 0)
		peer_ok(p, pe);
	return r;
}

int node_peers_proof(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		     struct codec_proof *ret_proof)
{
	struct ask a = {.e = e, .index = index, .ret_proof = ret_proof};

	return walk(p, &a, try_proof);
}

void node_peers_rebuilt(struct node_peers *p, uint64_t *ret_segments, uint64_t *ret_bytes_in)
{
	*ret_segments = atomic_load(&p->rebuilt);
	*ret_bytes_in = atomic_load(&p->rebuilt_in);
}

/* Bytes of data segment i of an entry of len bytes, and the chunks its root is over. */
static size_t seg_bytes(uint64_t len, uint64_t i, unsigned *ret_chunks)
{
	uint64_t padded = codec_padded_chunks(codec_num_chunks(len));
	uint64_t left = len - i * CODEC_SEGMENT_SIZE, cleft = padded - i * CODEC_SEGMENT_CHUNKS;

	*ret_chunks = cleft < CODEC_SEGMENT_CHUNKS ? (unsigned)cleft : CODEC_SEGMENT_CHUNKS;
	return left < CODEC_SEGMENT_SIZE ? (size_t)left : CODEC_SEGMENT_SIZE;
}

/* One stripe being rebuilt: k + m symbol buffers, which are known, and who gave parity. */
struct stripe {
	unsigned k, m, ndata, target;
	uint64_t j;
	uint8_t *mem, *sym[NODE_EC_SYMBOLS_MAX];
	bool have[NODE_EC_SYMBOLS_MAX];
	struct peer *from[NODE_EC_SYMBOLS_MAX]; /* parity's peer; NULL: this node's own */
	unsigned known;				/* zero positions count */
};

/* Fetches symbol pos into st (this node's own first); true when it is known now. */
static bool get_symbol(struct node_peers *p, const struct node_peer_entry *e, struct stripe *st,
		       unsigned pos, struct codec_proof *scratch)
{
	uint8_t *b = st->sym[pos];
	size_t len;

	if (st->have[pos])
		return true;
	st->from[pos] = NULL;
	if (p->local.symbol && p->local.symbol(p->local.ctx, e, st->j, pos, b) == 0) {
		st->have[pos] = true;
		st->known++;
		return true;
	}
	if (pos < st->k) {
		st->have[pos] = copies(p, e, st->j * st->k + pos, b, &len, scratch) == 0;
		if (st->have[pos])
			memset(b + len, 0, CODEC_SEGMENT_SIZE - len);
	} else {
		st->have[pos] = parity_from(p, e, st->j, pos, b, &st->from[pos]) == 0;
		len = CODEC_SEGMENT_SIZE;
	}
	if (st->have[pos]) {
		st->known++;
		atomic_fetch_add(&p->rebuilt_in, len);
	}
	return st->have[pos];
}

/*
 * Decodes st's target from its known symbols but `skip` (a parity position, or k + m for
 * none) into out, and checks it against leaf; 0 when it matches.
 */
static int decode_check(struct node_peers *p, const struct node_peer_entry *e, struct stripe *st,
			unsigned skip, uint8_t *scratch, uint8_t *out, const uint8_t *leaf)
{
	uint8_t *sym[NODE_EC_SYMBOLS_MAX], got[CODEC_HASH_SIZE];
	bool have[NODE_EC_SYMBOLS_MAX];
	unsigned n = st->k + st->m, spare = 0, chunks;
	uint64_t index = st->j * st->k + st->target;
	size_t dl = seg_bytes(e->length, index, &chunks);
	int r;

	for (unsigned i = 0; i < n; i++) {
		have[i] = st->have[i] && i != skip;
		sym[i] = st->sym[i];
		if (i >= st->ndata && i < st->k)
			continue; /* zeros */
		if (!have[i]) { /* written by the decoder: never over a symbol kept for a retry */
			if (spare > st->m)
				return -ENODATA;
			sym[i] = i == st->target ? out : scratch + (size_t)spare++ * CODEC_SEGMENT_SIZE;
		}
	}
	r = node_ec_decode(p->ec, sym, have, st->ndata);
	if (r < 0)
		return r;
	r = codec_segment_root(out, dl, chunks, got);
	if (r < 0)
		return r;
	return memcmp(got, leaf, CODEC_HASH_SIZE) == 0 ? 0 : -EIO;
}

/*
 * Rebuilds data segment index from its stripe: its proof first (without one the result
 * could not be checked), then K known symbols (this node's, copies of the other data
 * segments, parity); a result that fails the proof means a wrong parity symbol, so the
 * rest of the parity is fetched and each one left out in turn; the one whose absence
 * gives the right segment is counted against its peer.
 */
static int rebuild(struct node_peers *p, const struct node_peer_entry *e, uint64_t index,
		   uint8_t *buf, size_t *ret_len, struct codec_proof *ret_proof)
{
	struct codec_proof *proof = malloc(2 * sizeof(*proof));
	struct stripe *st = calloc(1, sizeof(*st));
	uint64_t nd = e->length / CODEC_SEGMENT_SIZE + (e->length % CODEC_SEGMENT_SIZE != 0);
	uint8_t *scratch = NULL, *out = NULL;
	unsigned chunks;
	size_t dl;
	int r = -ENOMEM;

	if (!proof || !st)
		goto out;
	st->k = p->lay.k;
	st->m = p->lay.m;
	st->j = node_ec_stripe_of(&p->lay, index);
	st->target = (unsigned)(index % st->k);
	st->ndata = node_ec_stripe_ndata(&p->lay, nd, st->j);
	st->known = st->k - st->ndata;
	st->mem = calloc(st->k + st->m, CODEC_SEGMENT_SIZE);
	scratch = malloc((size_t)(st->m + 1) * CODEC_SEGMENT_SIZE);
	out = malloc(CODEC_SEGMENT_SIZE);
	if (!st->mem || !scratch || !out)
		goto out;
	for (unsigned i = 0; i < st->k + st->m; i++)
		st->sym[i] = st->mem + (size_t)i * CODEC_SEGMENT_SIZE;
	r = p->local.proof ? p->local.proof(p->local.ctx, e, index, proof) : -ENOENT;
	if (r != 0)
		r = node_peers_proof(p, e, index, proof);
	if (r != 0)
		goto out;
	st->have[st->target] = false;
	for (unsigned i = 0; i < st->k + st->m && st->known < st->k; i++)
		if (i != st->target && (i < st->ndata || i >= st->k))
			get_symbol(p, e, st, i, proof + 1);
	r = -EHOSTUNREACH;
	if (st->known < st->k)
		goto out;
	r = decode_check(p, e, st, st->k + st->m, scratch, out, proof->lemma[0]);
	if (r == -EIO) {
		for (unsigned q = st->k; q < st->k + st->m; q++)
			get_symbol(p, e, st, q, proof + 1);
		for (unsigned q = st->k; r == -EIO && q < st->k + st->m; q++) {
			if (!st->have[q])
				continue;
			r = decode_check(p, e, st, q, scratch, out, proof->lemma[0]);
			if (r == 0 && st->from[q])
				peer_failed(p, st->from[q], -EIO, true);
			if (r != 0 && r != -EIO)
				r = -EIO;
		}
	}
	if (r != 0) {
		r = -EHOSTUNREACH;
		goto out;
	}
	dl = seg_bytes(e->length, index, &chunks);
	memcpy(buf, out, dl);
	*ret_len = (size_t)codec_num_chunks(dl) * CODEC_CHUNK_SIZE;
	memset(buf + dl, 0, *ret_len - dl);
	*ret_proof = proof[0];
	atomic_fetch_add(&p->rebuilt, 1);
out:
	if (st)
		free(st->mem);
	free(st);
	free(scratch);
	free(out);
	free(proof);
	return r;
}

/* segs[pick[at..end)] to pe in JSON (zgs_uploadSegmentsByTxSeq): a 0G node as a peer. */
static int forward_json(struct peer *pe, const struct node_peer_entry *e,
			const struct node_rpc_segment *const *segs, const size_t *pick, size_t at,
			size_t end, struct node_rpc_error *err)
{
	json_t *arr = json_array();

	for (size_t i = at; arr && i < end; i++) {
		const struct node_rpc_segment *sg = segs[pick[i]];

		if (json_array_append_new(arr, node_rpc_segment_to_json(sg->root, sg->data, sg->len,
									sg->index, sg->file_size,
									&sg->proof)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (!arr)
		return -ENOMEM;
	return node_rpc_call(pe->rpc, "zgs_uploadSegmentsByTxSeq",
			     json_pack("[oo]", arr, node_rpc_u64(e->tx_seq)), NULL, err);
}

/* The same through the peer's /zgfs/v1/upload endpoint: no base64; -ENOSYS without it. */
static int forward_binary(struct peer *pe, const struct node_peer_entry *e,
			  const struct node_rpc_segment *const *segs, const size_t *pick,
			  size_t at, size_t end, struct node_rpc_error *err)
{
	size_t len = node_rpc_binary_header((uint32_t)(end - at), NULL), off, alen;
	uint8_t *body, *answer = NULL;
	char path[64];
	int r;

	for (size_t i = at; i < end; i++) {
		const struct node_rpc_segment *sg = segs[pick[i]];

		len += node_rpc_segment_encode(sg->root, sg->data, sg->len, sg->index,
					       sg->file_size, &sg->proof, NULL);
	}
	body = malloc(len);
	if (!body)
		return -ENOMEM;
	off = node_rpc_binary_header((uint32_t)(end - at), body);
	for (size_t i = at; i < end; i++) {
		const struct node_rpc_segment *sg = segs[pick[i]];

		off += node_rpc_segment_encode(sg->root, sg->data, sg->len, sg->index,
					       sg->file_size, &sg->proof, body + off);
	}
	snprintf(path, sizeof(path), "/zgfs/v1/upload/%llu", (unsigned long long)e->tx_seq);
	r = node_rpc_post(pe->rpc, path, body, len, &answer, &alen, err);
	free(answer);
	free(body);
	return r;
}

/* One batch, segs[pick[at..end)], to pe. A peer that has not yet read the entry's
 * submission from the chain follows it a little behind the node that took the upload (a
 * store without the entry says -ENOENT; a node without its submission, "no entry"), so
 * the call is repeated until NODE_PEER_FORWARD_WAIT_MS have passed. */
static int forward_batch(struct peer *pe, const struct node_peer_entry *e,
			 const struct node_rpc_segment *const *segs, const size_t *pick, size_t at,
			 size_t end)
{
	uint64_t deadline = sys_now_ms() + NODE_PEER_FORWARD_WAIT_MS;
	int r;

	for (;;) {
		struct node_rpc_error err = {0};

		r = -ENOSYS;
		if (!atomic_load(&pe->json_only)) {
			r = forward_binary(pe, e, segs, pick, at, end, &err);
			if (r == -ENOSYS)
				atomic_store(&pe->json_only, true);
		}
		if (r == -ENOSYS)
			r = forward_json(pe, e, segs, pick, at, end, &err);
		/* 0G's words when the peer has the whole entry already. */
		if (r == -EINVAL && strstr(err.message, "finalized"))
			r = 0;
		if (!(r == -ENOENT || (r == -EINVAL && strstr(err.data, "no entry"))) ||
		    sys_now_ms() >= deadline)
			break;
		sys_sleep_ms(NODE_PEER_FORWARD_POLL_MS);
	}
	return r;
}

/* Sends segs[pick[0..np)] to pe in calls of NODE_PEER_FORWARD_BATCH; 0 when all landed. */
static int forward_to(struct peer *pe, const struct node_peer_entry *e,
		      const struct node_rpc_segment *const *segs, const size_t *pick, size_t np)
{
	for (size_t at = 0; at < np; at += NODE_PEER_FORWARD_BATCH) {
		size_t end = at + NODE_PEER_FORWARD_BATCH < np ? at + NODE_PEER_FORWARD_BATCH : np;
		int r = forward_batch(pe, e, segs, pick, at, end);

		if (r < 0)
			return r;
	}
	return 0;
}

int node_peers_forward(struct node_peers *p, const struct node_peer_entry *e,
		       const struct node_rpc_segment *const *segs, size_t n,
		       uint64_t *ret_missing)
{
	size_t np = node_peers_count(p), *pick = malloc((n ? n : 1) * sizeof(*pick));
	bool *landed = calloc(n ? n : 1, sizeof(*landed));
	uint64_t start_seg = node_place_start_seg(e->start);
	int r = pick && landed ? 0 : -ENOMEM;

	for (size_t k = 0; r == 0 && k < np; k++) {
		struct peer *pe = peer_at(p, k);
		uint32_t id, num;
		size_t m = 0;

		if (peer_shard(p, pe, true, &id, &num) != 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (node_shard_holds((struct node_shard){.id = id, .num = num},
					     start_seg + segs[i]->index))
				pick[m++] = i;
		if (m == 0)
			continue;
		if (forward_to(pe, e, segs, pick, m) < 0) {
			peer_failed(p, pe, -EIO, false);
			continue;
		}
		peer_ok(p, pe);
		for (size_t i = 0; i < m; i++)
			landed[pick[i]] = true;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!landed[i]) {
			if (ret_missing)
				*ret_missing = segs[i]->index;
			r = -EHOSTUNREACH;
		}
	free(pick);
	free(landed);
	return r;
}

int node_peers_call_each(struct node_peers *p, const char *method, const char *params,
			 node_peer_answer_fn *fn, void *ctx)
{
	size_t n = node_peers_count(p);

	for (size_t i = 0; i < n; i++) {
		struct peer *pe = peer_at(p, i);
		json_t *ps = params ? json_loads(params, 0, NULL) : json_array();
		json_t *res = NULL;
		int r, stop;

		if (!ps)
			return -EINVAL;
		r = node_rpc_call(pe->rpc, method, ps, &res, NULL);
		stop = fn(ctx, pe->url, r == 0 ? res : NULL, r);
		json_decref(res);
		if (stop)
			return 0;
	}
	return 0;
}

int node_peers_list(struct node_peers *p, node_peer_report_fn *fn, void *ctx)
{
	size_t n = node_peers_count(p);
	uint64_t now = sys_now_ms();

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
