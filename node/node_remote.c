/*
 * A node elsewhere, over JSON-RPC: struct node_ops on top of the client in rpc_client.c.
 *
 * Trust: the remote node is a peer, not a part of us. Every byte node_read() and
 * node_segment() return came with a Merkle proof that was checked here against the
 * entry's root before the bytes were used.
 *
 * Uploads: the bytes are streamed into an unlinked temporary file while the streaming
 * Merkle builder hashes them (collecting every full segment's root), so memory stays
 * bounded whatever the size and the data is hashed once. Finishing settles the submission
 * on the node (zgfs_submit), then sends the segments in batches with proofs made here from
 * the collected segment roots, then checks that the node reports the entry finalized.
 *
 * Entry points and holders: --node URL1,URL2,... names several nodes of one cluster. Calls
 * go to the one in use until it stops answering, then to the next in turn (a call that
 * may be repeated: on any transport failure; a submission or KV write: only when it did
 * not reach the node, so that nothing is settled twice). At open the cluster's nodes and
 * their shards are learned from zgfs_peers: a read then fetches each segment from a node
 * of the shard that keeps it, consecutive segments from different nodes in parallel, and
 * a holder that fails, hangs or sends wrong bytes is left out for a while; the entry
 * points (which fetch or rebuild any segment) come last.
 *
 * Methods: our zgfs_* where they give more (the whole settled entry, the whole status),
 * falling back to 0G's zgs_* forms when the node does not know them (a 0G node), so that
 * reading works against any node that speaks 0G's protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "codec/merkle.h"
#include "node/kv/kv.h"
#include "node/kv/format.h"
#include "node/limits.h"
#include "node/node_i.h"
#include "node/rpc/rpc.h"
#include "sys/clock.h"
#include "sys/threads.h"

/* Finalized entries whose root and size are remembered (entries never change). */
#define REMOTE_ENTRY_CACHE 16
/* Verified segments kept for reads that come back to the same segment. */
#define REMOTE_SEGMENT_CACHE 4
/* How long upload_finish() and kv_write() wait for the node to report the entry complete
 * and replayed, polling. */
#define REMOTE_WAIT_S 60
/* Segments fetched at once by a read that spans several (each on a thread, its proof
 * checked there): the node serves them on as many connections. */
#define REMOTE_READ_THREADS 4
/* Upload batches in flight at once (each NODE_RPC_SEGMENTS_MAX segments, a body of about
 * 4.3 MiB per sender). */
#define REMOTE_UPLOAD_THREADS 4
/* Entry points in one --node list, and nodes of the cluster a read fetches from directly;
 * how long a holder that failed is left out of reads. */
#define REMOTE_URLS_MAX	       8
#define REMOTE_HOLDERS_MAX     64
#define REMOTE_HOLDER_RETRY_MS 5000
#define REMOTE_URL_MAX	       1024

struct cached_entry {
	bool used;
	uint64_t seq, length, start; /* start: the entry's first flow chunk */
	uint8_t root[CODEC_HASH_SIZE];
};

struct cached_segment {
	uint64_t seq, index; /* index UINT64_MAX: empty slot */
	size_t len;
	uint8_t *data;
};

/* A node of the cluster that keeps shard shard_id/num_shard, asked for its segments. */
struct holder {
	struct node_rpc_client *rpc; /* owned, unless it is one of the entry points */
	bool own;
	uint32_t shard_id, num_shard;
	atomic_bool json_only;
	atomic_uint_fast64_t skip_until_ms; /* left out of reads until then */
	atomic_uint_fast64_t knows;	    /* 1 + the newest tx seq it said it knows */
};

struct remote {
	struct node base;
	struct node_rpc_client *eps[REMOTE_URLS_MAX];
	unsigned neps;
	atomic_uint ep; /* the entry point in use */
	struct holder holders[REMOTE_HOLDERS_MAX];
	unsigned nholders;
	pthread_mutex_t mu; /* the caches */
	struct cached_entry entries[REMOTE_ENTRY_CACHE];
	unsigned next_entry;
	struct cached_segment segs[REMOTE_SEGMENT_CACHE];
	unsigned next_seg;
	atomic_bool json_only; /* the node has no binary endpoints (a 0G node) */
};

struct remote_upload {
	struct node_upload base;
	int fd; /* unlinked temporary file holding the bytes */
	struct codec_merkle m;
	codec_hash *roots; /* of the full segments, in order */
	size_t nroots, cap;
	int err; /* sticky: a segment root could not be kept */
	size_t tags_len;
	uint8_t tags[CHAIN_TAGS_MAX];
};

static const struct node_ops remote_ops;

static struct remote *R(struct node *n)
{
	return (struct remote *)n;
}

static struct node_rpc_client *rpc_of(struct remote *rm)
{
	return rm->eps[atomic_load(&rm->ep) % rm->neps];
}

const char *node_remote_url(struct node *n)
{
	return n && n->ops == &remote_ops ? node_rpc_client_url(rpc_of(R(n))) : NULL;
}

/* ---- entry points and failover ---------------------------------------------------------- */

/* The request did not reach the node: it may go to another whatever it is. */
static bool not_reached(int r)
{
	return r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -ENETUNREACH;
}

/* The node is down or hangs: a request that may be repeated goes to another. */
static bool is_down(int r)
{
	return not_reached(r) || r == -ETIMEDOUT || r == -ECONNRESET;
}

/*
 * node_rpc_call() (params stolen) on the entry point in use, then on the next ones in turn
 * while they fail as is_down() says (repeat: a call that may be repeated) or not_reached();
 * the entry point that answered stays in use.
 */
static int call_ex(struct remote *rm, bool repeat, const char *method, json_t *params,
		   json_t **ret_result, struct node_rpc_error *err)
{
	unsigned first = atomic_load(&rm->ep);
	int r = -EHOSTUNREACH;

	for (unsigned k = 0; k < rm->neps; k++) {
		unsigned at = (first + k) % rm->neps;

		r = node_rpc_call(rm->eps[at], method, json_incref(params), ret_result, err);
		if (!(repeat ? is_down(r) : not_reached(r))) {
			if (k)
				atomic_store(&rm->ep, at);
			break;
		}
	}
	json_decref(params);
	return r;
}

static int call(struct remote *rm, const char *method, json_t *params, json_t **ret_result,
		struct node_rpc_error *err)
{
	return call_ex(rm, true, method, params, ret_result, err);
}

/* ---- JSON reading helpers --------------------------------------------------------------- */

static int j_u64(json_t *o, const char *name, uint64_t *v)
{
	return node_rpc_get_u64(json_object_get(o, name), v) < 0 ? -EPROTO : 0;
}

static int j_hex(json_t *o, const char *name, uint8_t *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s && codec_hex_decode(s, buf, len) == 0 ? 0 : -EPROTO;
}

/* A "0x…" string of any even length up to max bytes. */
static int j_hexvar(json_t *o, const char *name, uint8_t *buf, size_t max, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, name));
	size_t n;

	if (!s)
		return -EPROTO;
	if (strncmp(s, "0x", 2) == 0)
		s += 2;
	n = strlen(s);
	if (n % 2 || n / 2 > max || codec_hex_decode(s, buf, n / 2) < 0)
		return -EPROTO;
	*len = n / 2;
	return 0;
}

static void digest_of(struct chain_entry *e)
{
	struct codec_keccak k;

	codec_keccak_init(&k);
	for (size_t i = 0; i < e->nnodes; i++)
		codec_keccak_update(&k, e->nodes[i].root, CODEC_HASH_SIZE);
	codec_keccak_final(&k, e->digest);
}

/* Our zgfs_getFileInfo entry object. */
static int entry_from_json(json_t *o, struct chain_entry *e)
{
	json_t *nodes = json_object_get(o, "nodes");
	int r = 0;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(o) || !json_is_array(nodes) || json_array_size(nodes) == 0 ||
	    json_array_size(nodes) > CODEC_MAX_NODES)
		return -EPROTO;
	r |= j_u64(o, "txSeq", &e->tx_seq);
	r |= j_u64(o, "start", &e->start);
	r |= j_u64(o, "sectors", &e->sectors);
	r |= j_u64(o, "length", &e->length);
	r |= j_hex(o, "root", e->root, CODEC_HASH_SIZE);
	r |= j_hex(o, "digest", e->digest, CODEC_HASH_SIZE);
	r |= j_hex(o, "sender", e->sender, CHAIN_ADDRESS_SIZE);
	r |= j_u64(o, "block", &e->block);
	r |= j_u64(o, "timestamp", &e->timestamp);
	r |= j_u64(o, "fee", &e->fee);
	r |= j_hexvar(o, "tags", e->tags, CHAIN_TAGS_MAX, &e->tags_len);
	e->nnodes = json_array_size(nodes);
	for (size_t i = 0; i < e->nnodes; i++) {
		json_t *nd = json_array_get(nodes, i);
		uint64_t h = 64;

		r |= j_hex(nd, "root", e->nodes[i].root, CODEC_HASH_SIZE);
		r |= j_u64(nd, "height", &h);
		if (h >= 64)
			return -EPROTO;
		e->nodes[i].height = (unsigned)h;
	}
	return r ? -EPROTO : 0;
}

/* 0G's FileInfo (zgs_getFileInfo*): what it tells of the entry. */
static int zgs_info_from_json(json_t *o, struct node_file_info *fi)
{
	json_t *tx = json_object_get(o, "tx"), *nodes = json_object_get(tx, "merkleNodes");
	json_t *ids = json_object_get(tx, "streamIds");
	int r = 0;

	memset(fi, 0, sizeof(*fi));
	if (!json_is_object(tx) || !json_is_array(nodes) || json_array_size(nodes) == 0 ||
	    json_array_size(nodes) > CODEC_MAX_NODES)
		return -EPROTO;
	r |= j_u64(tx, "seq", &fi->entry.tx_seq);
	r |= j_u64(tx, "startEntryIndex", &fi->entry.start);
	r |= j_u64(tx, "size", &fi->entry.length);
	r |= j_hex(tx, "dataMerkleRoot", fi->entry.root, CODEC_HASH_SIZE);
	fi->entry.nnodes = json_array_size(nodes);
	for (size_t i = 0; i < fi->entry.nnodes; i++) {
		json_t *nd = json_array_get(nodes, i);
		const char *root = json_string_value(json_array_get(nd, 1));
		uint64_t depth = 0;

		if (node_rpc_get_u64(json_array_get(nd, 0), &depth) < 0 || depth < 1 ||
		    depth > 64 || !root ||
		    codec_hex_decode(root, fi->entry.nodes[i].root, CODEC_HASH_SIZE) < 0)
			return -EPROTO;
		fi->entry.nodes[i].height = (unsigned)depth - 1; /* 0G: depth = height + 1 */
		fi->entry.sectors += 1ULL << fi->entry.nodes[i].height;
	}
	digest_of(&fi->entry);
	if (json_is_array(ids) && json_array_size(ids) > 0 &&
	    json_array_size(ids) < CHAIN_TAGS_MAX / NODE_KV_STREAM_ID_SIZE) {
		memcpy(fi->entry.tags, node_kv_stream_domain, NODE_KV_STREAM_DOMAIN_SIZE);
		fi->entry.tags_len = NODE_KV_STREAM_DOMAIN_SIZE;
		for (size_t i = 0; i < json_array_size(ids); i++) {
			const char *s = json_string_value(json_array_get(ids, i));

			if (!s || codec_hex_decode(s, fi->entry.tags + fi->entry.tags_len,
						   NODE_KV_STREAM_ID_SIZE) < 0)
				return -EPROTO;
			fi->entry.tags_len += NODE_KV_STREAM_ID_SIZE;
		}
	}
	fi->finalized = json_is_true(json_object_get(o, "finalized"));
	fi->pruned = json_is_true(json_object_get(o, "pruned"));
	node_rpc_get_u64(json_object_get(o, "uploadedSegNum"), &fi->uploaded_segments);
	return r ? -EPROTO : 0;
}

/* ---- status and file info ----------------------------------------------------------------- */

/* The cluster fields of zgfs_status (nodes without them keep the whole flow). */
static void remote_cluster_status(json_t *res, struct node_status *st)
{
	uint64_t id = 0, num = 1, k = 0, m = 0;

	(void)j_u64(res, "shardId", &id);
	(void)j_u64(res, "numShard", &num);
	(void)j_u64(res, "ecK", &k);
	(void)j_u64(res, "ecM", &m);
	st->shard_id = (uint32_t)id;
	st->num_shard = (uint32_t)num;
	st->ec_k = (unsigned)k;
	st->ec_m = (unsigned)m;
	(void)j_u64(res, "syncWaiting", &st->sync_waiting);
	(void)j_u64(res, "syncMissing", &st->sync_missing);
	(void)j_u64(res, "syncFetched", &st->sync_fetched);
	(void)j_u64(res, "syncFetchedBytes", &st->sync_fetched_bytes);
	(void)j_u64(res, "parityBuilt", &st->parity_built);
	(void)j_u64(res, "segmentsRebuilt", &st->segments_rebuilt);
	(void)j_u64(res, "rebuiltBytesIn", &st->rebuilt_bytes_in);
	(void)j_u64(res, "parityBytesIn", &st->parity_bytes_in);
	(void)j_u64(res, "segmentsServed", &st->segments_served);
	(void)j_u64(res, "segmentsRelayed", &st->segments_relayed);
}

static int remote_status(struct node *n, struct node_status *ret)
{
	struct node_status st = {0};
	json_t *res = NULL, *id;
	int r, x = 0;

	r = call(R(n), "zgfs_status", NULL, &res, NULL);
	if (r == 0) {
		uint64_t peers = 0;

		x |= j_u64(res, "nextTxSeq", &st.next_tx_seq);
		x |= j_u64(res, "logSyncHeight", &st.log_sync_height);
		x |= j_hex(res, "logSyncBlock", st.log_sync_block, CODEC_HASH_SIZE);
		x |= j_u64(res, "finalized", &st.finalized);
		x |= j_u64(res, "kvNextTxSeq", &st.kv_next_tx_seq);
		x |= j_u64(res, "flowLength", &st.flow_length);
		x |= j_hex(res, "flowRoot", st.flow_root, CODEC_HASH_SIZE);
		x |= j_u64(res, "chainId", &st.chain_id);
		x |= j_hex(res, "flowAddress", st.flow_address, CHAIN_ADDRESS_SIZE);
		x |= j_u64(res, "connectedPeers", &peers);
		x |= j_u64(res, "bytesStored", &st.bytes_stored);
		x |= j_u64(res, "diskFree", &st.disk_free);
		/* Older zgfs nodes do not say: then the mount reports free space as its size. */
		if (j_u64(res, "diskTotal", &st.disk_total) < 0)
			st.disk_total = st.disk_free + st.bytes_stored;
		/* Newer still: free blocks and inodes as statvfs says; else 0 (unknown). */
		(void)j_u64(res, "diskFreeAll", &st.disk_free_all);
		(void)j_u64(res, "filesTotal", &st.files_total);
		(void)j_u64(res, "filesFree", &st.files_free);
		remote_cluster_status(res, &st);
		st.connected_peers = (unsigned)peers;
	} else if (r == -ENOSYS) {
		/* A 0G node: what zgs_getStatus tells. */
		uint64_t peers = 0;

		r = call(R(n), "zgs_getStatus", NULL, &res, NULL);
		if (r < 0)
			return r;
		id = json_object_get(res, "networkIdentity");
		x |= j_u64(res, "nextTxSeq", &st.next_tx_seq);
		x |= j_u64(res, "logSyncHeight", &st.log_sync_height);
		x |= j_hex(res, "logSyncBlock", st.log_sync_block, CODEC_HASH_SIZE);
		x |= j_u64(res, "connectedPeers", &peers);
		st.connected_peers = (unsigned)peers;
		if (id) {
			j_u64(id, "chainId", &st.chain_id);
			j_hex(id, "flowAddress", st.flow_address, CHAIN_ADDRESS_SIZE);
		}
	}
	json_decref(res);
	if (r < 0)
		return r;
	if (x)
		return -EPROTO;
	*ret = st;
	return 0;
}

/* File info by seq (root NULL) or by root. */
static int info(struct remote *rm, const uint8_t *root, uint64_t seq, struct node_file_info *ret)
{
	struct node_file_info *fi = malloc(sizeof(*fi));
	json_t *res = NULL;
	int r;

	if (!fi)
		return -ENOMEM;
	r = call(
	    rm, "zgfs_getFileInfo",
	    json_pack("[o]", root ? node_rpc_hex(root, CODEC_HASH_SIZE) : node_rpc_u64(seq)), &res,
	    NULL);
	if (r == 0 && !json_is_null(res)) {
		memset(fi, 0, sizeof(*fi));
		r = entry_from_json(json_object_get(res, "entry"), &fi->entry);
		fi->finalized = json_is_true(json_object_get(res, "finalized"));
		fi->pruned = json_is_true(json_object_get(res, "pruned"));
		if (r == 0)
			r = j_u64(res, "uploadedSegments", &fi->uploaded_segments);
	} else if (r == -ENOSYS) {
		json_decref(res);
		res = NULL;
		r = root ? call(rm, "zgs_getFileInfo",
					 json_pack("[ob]", node_rpc_hex(root, CODEC_HASH_SIZE), 1),
					 &res, NULL)
			 : call(rm, "zgs_getFileInfoByTxSeq",
					 json_pack("[o]", node_rpc_u64(seq)), &res, NULL);
		if (r == 0 && !json_is_null(res))
			r = zgs_info_from_json(res, fi);
	}
	if (r == 0 && json_is_null(res))
		r = -ENOENT;
	if (r == 0)
		*ret = *fi;
	json_decref(res);
	free(fi);
	return r;
}

static int remote_info_by_seq(struct node *n, uint64_t tx_seq, struct node_file_info *ret)
{
	return info(R(n), NULL, tx_seq, ret);
}

static int remote_info_by_root(struct node *n, const uint8_t root[32], struct node_file_info *ret)
{
	return info(R(n), root, 0, ret);
}

/* A finalized entry's root and length, from the cache or the node. -EAGAIN: not
 * finalized. */
static int entry_of(struct remote *rm, uint64_t seq, struct cached_entry *ret)
{
	struct node_file_info *fi;
	int r;

	pthread_mutex_lock(&rm->mu);
	for (unsigned i = 0; i < REMOTE_ENTRY_CACHE; i++) {
		if (rm->entries[i].used && rm->entries[i].seq == seq) {
			*ret = rm->entries[i];
			pthread_mutex_unlock(&rm->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&rm->mu);
	fi = malloc(sizeof(*fi));
	if (!fi)
		return -ENOMEM;
	r = info(rm, NULL, seq, fi);
	if (r == 0 && !fi->finalized)
		r = -EAGAIN;
	if (r == 0) {
		struct cached_entry ce = {.used = true,
					  .seq = seq,
					  .length = fi->entry.length,
					  .start = fi->entry.start};

		memcpy(ce.root, fi->entry.root, CODEC_HASH_SIZE);
		pthread_mutex_lock(&rm->mu);
		rm->entries[rm->next_entry++ % REMOTE_ENTRY_CACHE] = ce;
		pthread_mutex_unlock(&rm->mu);
		*ret = ce;
	}
	free(fi);
	return r;
}

/* ---- verified segments -------------------------------------------------------------------- */

/*
 * Segment `index` of entry ce from the node, checked: it must be that entry's segment at
 * that index, of the right length, and its proof must lead from the data to the root.
 * Returns the decoded segment (malloc'd; free it), -EAGAIN (the node has no data for it),
 * -EINVAL (index past the data), -EIO (the node sent something that does not verify).
 */
static int fetch_segment(struct remote *rm, const struct cached_entry *ce, uint64_t index,
			 struct node_rpc_segment **ret)
{
	uint64_t flow_seg = ce->start / CODEC_SEGMENT_CHUNKS + index;
	unsigned first = atomic_load(&rm->ep);
	int r = -EHOSTUNREACH;

	/* A node of the segment's shard first: it has it without asking anyone. */
	for (unsigned i = 0; i < rm->nholders; i++) {
		struct holder *h = &rm->holders[i];

		if (flow_seg % h->num_shard != h->shard_id ||
		    sys_now_ms() < atomic_load(&h->skip_until_ms))
			continue;
		r = node_rpc_fetch_segment(h->rpc, &h->json_only, ce->seq, index, ce->root,
					   ce->length, ret);
		if (r == 0 || r == -EINVAL)
			return r;
		/* Down, hanging or wrong: left out for a while (not having it yet is no fault). */
		if (r != -EAGAIN)
			atomic_store(&h->skip_until_ms, sys_now_ms() + REMOTE_HOLDER_RETRY_MS);
	}
	for (unsigned k = 0; k < rm->neps; k++) {
		unsigned at = (first + k) % rm->neps;

		r = node_rpc_fetch_segment(rm->eps[at], &rm->json_only, ce->seq, index, ce->root,
					   ce->length, ret);
		if (!is_down(r)) {
			if (k)
				atomic_store(&rm->ep, at);
			break;
		}
	}
	return r;
}

/* Copies bytes [from, from + len) of a verified segment, through a small cache. */
static int segment_bytes(struct remote *rm, const struct cached_entry *ce, uint64_t index,
			 size_t from, uint8_t *out, size_t len)
{
	struct node_rpc_segment *s;
	struct cached_segment *slot;
	uint8_t *copy;
	int r;

	pthread_mutex_lock(&rm->mu);
	for (unsigned i = 0; i < REMOTE_SEGMENT_CACHE; i++) {
		slot = &rm->segs[i];
		if (slot->index == index && slot->seq == ce->seq && from + len <= slot->len) {
			memcpy(out, slot->data + from, len);
			pthread_mutex_unlock(&rm->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&rm->mu);
	r = fetch_segment(rm, ce, index, &s);
	if (r < 0)
		return r;
	if (from + len > s->len) {
		/* The node sent the unpadded tail and the reader wants bytes of the padding
		 * chunk: the zeros the data is padded with. */
		memset(s->data + s->len, 0, from + len - s->len);
	}
	memcpy(out, s->data + from, len);
	copy = malloc(s->len ? s->len : 1);
	if (copy) {
		memcpy(copy, s->data, s->len);
		pthread_mutex_lock(&rm->mu);
		slot = &rm->segs[rm->next_seg++ % REMOTE_SEGMENT_CACHE];
		free(slot->data);
		*slot = (struct cached_segment){
		    .seq = ce->seq, .index = index, .len = s->len, .data = copy};
		pthread_mutex_unlock(&rm->mu);
	}
	free(s);
	return 0;
}

/* A read of several segments, fetched and verified on REMOTE_READ_THREADS threads. */
struct read_job {
	struct remote *rm;
	const struct cached_entry *ce;
	uint64_t offset, end; /* bytes [offset, end) of the entry, into buf */
	uint8_t *buf;
	atomic_uint_fast64_t next; /* the next segment to fetch */
	atomic_int err;		   /* the first error; the others stop */
};

static void *read_worker(void *arg)
{
	struct read_job *j = arg;

	for (;;) {
		uint64_t i = atomic_fetch_add(&j->next, 1), seg0 = i * CODEC_SEGMENT_SIZE;
		uint64_t a = j->offset > seg0 ? j->offset : seg0;
		uint64_t z = j->end < seg0 + CODEC_SEGMENT_SIZE ? j->end : seg0 + CODEC_SEGMENT_SIZE;
		struct node_rpc_segment *s;
		int r, zero = 0;

		if (seg0 >= j->end || atomic_load(&j->err) != 0)
			return NULL;
		r = fetch_segment(j->rm, j->ce, i, &s);
		if (r == 0) {
			size_t from = (size_t)(a - seg0), take = (size_t)(z - a);
			size_t have = s->len > from ? s->len - from : 0;

			/* Past the unpadded tail the node sent: the zeros it is padded with. */
			memcpy(j->buf + (a - j->offset), s->data + from, have < take ? have : take);
			if (have < take)
				memset(j->buf + (a - j->offset) + have, 0, take - have);
			free(s);
		}
		if (r < 0) {
			atomic_compare_exchange_strong(&j->err, &zero, r == -EINVAL ? -EIO : r);
			return NULL;
		}
	}
}

/* Bytes [offset, end) spanning several segments: fetched in parallel, each verified. */
static int read_parallel(struct remote *rm, const struct cached_entry *ce, uint64_t offset,
			 uint64_t end, uint8_t *buf)
{
	struct read_job j = {.rm = rm, .ce = ce, .offset = offset, .end = end, .buf = buf};
	uint64_t nseg = (end - 1) / CODEC_SEGMENT_SIZE - offset / CODEC_SEGMENT_SIZE + 1;

	atomic_init(&j.next, offset / CODEC_SEGMENT_SIZE);
	atomic_init(&j.err, 0);
	sys_run_threads(read_worker, &j,
			nseg < REMOTE_READ_THREADS ? (unsigned)nseg : REMOTE_READ_THREADS);
	return atomic_load(&j.err);
}

static int remote_read(struct node *n, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
		       size_t *ret_len)
{
	struct remote *rm = R(n);
	struct cached_entry ce;
	uint64_t end, pos;
	int r;

	r = entry_of(rm, tx_seq, &ce);
	if (r < 0)
		return r;
	if (offset >= ce.length || len == 0) {
		*ret_len = 0;
		return 0;
	}
	end = ce.length - offset < len ? ce.length : offset + len;
	if (offset / CODEC_SEGMENT_SIZE != (end - 1) / CODEC_SEGMENT_SIZE) {
		r = read_parallel(rm, &ce, offset, end, buf);
		if (r < 0)
			return r;
		*ret_len = (size_t)(end - offset);
		return 0;
	}
	for (pos = offset; pos < end;) {
		uint64_t index = pos / CODEC_SEGMENT_SIZE;
		size_t from = (size_t)(pos % CODEC_SEGMENT_SIZE);
		size_t take = CODEC_SEGMENT_SIZE - from;

		if (take > end - pos)
			take = (size_t)(end - pos);
		r = segment_bytes(rm, &ce, index, from, (uint8_t *)buf + (pos - offset), take);
		if (r == -EINVAL)
			r = -EIO; /* the node claims data it then will not serve */
		if (r < 0)
			return r;
		pos += take;
	}
	*ret_len = (size_t)(end - offset);
	return 0;
}

static int remote_segment(struct node *n, uint64_t tx_seq, uint64_t index, uint8_t *buf,
			  size_t *ret_len, struct codec_proof *ret_proof)
{
	struct remote *rm = R(n);
	struct node_rpc_segment *s;
	struct cached_entry ce;
	int r;

	r = entry_of(rm, tx_seq, &ce);
	if (r < 0)
		return r;
	if (index >= (ce.length + CODEC_SEGMENT_SIZE - 1) / CODEC_SEGMENT_SIZE)
		return -EINVAL;
	r = fetch_segment(rm, &ce, index, &s);
	if (r < 0)
		return r;
	/* As 0G sends it: padded to a whole chunk. */
	memcpy(buf, s->data, s->len);
	*ret_len = (size_t)codec_num_chunks(s->len) * CODEC_CHUNK_SIZE;
	memset(buf + s->len, 0, *ret_len - s->len);
	*ret_proof = s->proof;
	free(s);
	return 0;
}

/* ---- uploads -------------------------------------------------------------------------------- */

static void keep_root(void *ctx, uint64_t index, const uint8_t root[CODEC_HASH_SIZE])
{
	struct remote_upload *u = ctx;

	if (u->err)
		return;
	if (index != u->nroots) {
		u->err = -EIO;
		return;
	}
	if (u->nroots == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		codec_hash *p = realloc(u->roots, cap * sizeof(*p));

		if (!p) {
			u->err = -ENOMEM;
			return;
		}
		u->roots = p;
		u->cap = cap;
	}
	memcpy(u->roots[u->nroots++], root, CODEC_HASH_SIZE);
}

/* An unlinked file in $TMPDIR (else /tmp). */
static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: create, then unlink at once. */
	if ((size_t)snprintf(path, sizeof(path), "%s/zgfs-upload-XXXXXX", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* An upload whose bytes are (or will be) in file fd, which it owns from now on. */
static int upload_new(struct node *n, const uint8_t *tags, size_t tags_len, int fd,
		      struct remote_upload **ret)
{
	struct remote_upload *u;
	int r = fd;

	if (tags_len > CHAIN_TAGS_MAX)
		r = -E2BIG;
	u = r < 0 ? NULL : calloc(1, sizeof(*u));
	if (!u) {
		if (fd >= 0)
			close(fd);
		return r < 0 ? r : -ENOMEM;
	}
	u->base.node = n;
	u->fd = fd;
	u->tags_len = tags_len;
	if (tags_len)
		memcpy(u->tags, tags, tags_len);
	r = codec_merkle_init(&u->m);
	if (r < 0) {
		close(fd);
		free(u);
		return r;
	}
	u->m.on_segment = keep_root;
	u->m.on_segment_ctx = u;
	*ret = u;
	return 0;
}

static int remote_upload_begin(struct node *n, const uint8_t *tags, size_t tags_len,
			       struct node_upload **ret)
{
	struct remote_upload *u;
	int r = upload_new(n, tags, tags_len, temp_file(), &u);

	if (r == 0)
		*ret = &u->base;
	return r;
}

static int remote_upload_write(struct node_upload *base, const void *data, size_t len)
{
	struct remote_upload *u = (struct remote_upload *)base;
	const uint8_t *p = data;
	uint64_t at = u->m.size;
	size_t left = len;
	int r;

	if (u->err)
		return u->err;
	if (len > NODE_STORE_ENTRY_MAX - at)
		return -E2BIG;
	while (left > 0) {
		ssize_t w = pwrite(u->fd, p, left, (off_t)at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return u->err = -errno; /* sticky: the file and the hash disagree now */
		p += w;
		at += (uint64_t)w;
		left -= (size_t)w;
	}
	r = codec_merkle_update(&u->m, data, len);
	if (r < 0)
		u->err = r;
	return u->err;
}

static int remote_upload_read(struct node_upload *base, uint64_t off, void *buf, size_t len,
			      size_t *ret_len)
{
	struct remote_upload *u = (struct remote_upload *)base;
	uint8_t *out = buf;
	size_t done = 0;

	if (u->err)
		return u->err;
	if (off >= u->m.size) {
		*ret_len = 0;
		return 0;
	}
	if (len > u->m.size - off)
		len = (size_t)(u->m.size - off);
	while (done < len) {
		ssize_t r = pread(u->fd, out + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	*ret_len = len;
	return 0;
}

static void remote_upload_abort(struct node_upload *base)
{
	struct remote_upload *u = (struct remote_upload *)base;

	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	codec_merkle_release(&u->m);
	free(u->roots);
	free(u);
}

/* Every level of the tree over the segment roots, so that each segment's proof is a walk
 * up (codec_proof_build() would rebuild the whole tree for every segment). */
struct tree {
	unsigned nlevels;
	size_t size[CODEC_PROOF_MAX_DEPTH + 1];
	codec_hash *level[CODEC_PROOF_MAX_DEPTH + 1];
};

static void tree_free(struct tree *t)
{
	for (unsigned i = 0; i < t->nlevels; i++)
		free(t->level[i]);
	t->nlevels = 0;
}

static int tree_build(struct tree *t, codec_hash *leaves, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->level[0] = leaves;
	t->size[0] = n;
	t->nlevels = 1;
	while (t->size[t->nlevels - 1] > 1) {
		size_t m = t->size[t->nlevels - 1], pairs = m / 2;
		codec_hash *up = malloc((pairs + 1) * sizeof(*up));

		if (!up || t->nlevels > CODEC_PROOF_MAX_DEPTH) {
			free(up);
			tree_free(t);
			return -ENOMEM;
		}
		codec_keccak256_batch(t->level[t->nlevels - 1][0], 2 * CODEC_HASH_SIZE,
				      2 * CODEC_HASH_SIZE, pairs, up);
		if (m & 1) /* the odd node is carried up unchanged */
			memcpy(up[pairs], t->level[t->nlevels - 1][m - 1], CODEC_HASH_SIZE);
		t->level[t->nlevels] = up;
		t->size[t->nlevels] = pairs + (m & 1);
		t->nlevels++;
	}
	return 0;
}

/* The same proof codec_proof_build() gives. */
static void tree_proof(const struct tree *t, size_t index, struct codec_proof *p)
{
	size_t i = index;

	memset(p, 0, sizeof(*p));
	memcpy(p->lemma[0], t->level[0][index], CODEC_HASH_SIZE);
	if (t->nlevels == 1)
		return;
	for (unsigned l = 0; l + 1 < t->nlevels; l++) {
		size_t m = t->size[l];

		if (!(m & 1 && i == m - 1)) {
			p->path[p->depth] = (i & 1) == 0;
			memcpy(p->lemma[p->depth + 1], t->level[l][i ^ 1], CODEC_HASH_SIZE);
			p->depth++;
		}
		i /= 2;
	}
	memcpy(p->lemma[p->depth + 1], t->level[t->nlevels - 1][0], CODEC_HASH_SIZE);
}

/* zgfs_submit: settle the submission on the node; returns the settled entry. */
static int submit(struct remote *rm, uint64_t length, const uint8_t *tags, size_t tags_len,
		  const struct codec_subnode *nodes, size_t nnodes, struct chain_entry *ret)
{
	json_t *arr = json_array(), *res = NULL;
	int r;

	for (size_t i = 0; arr && i < nnodes; i++)
		if (json_array_append_new(arr,
					  json_pack("{s:o, s:I}", "root",
						    node_rpc_hex(nodes[i].root, CODEC_HASH_SIZE),
						    "height", (json_int_t)nodes[i].height)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	if (!arr)
		return -ENOMEM;
	r = call_ex(rm, false, "zgfs_submit",
			  json_pack("[{s:o, s:o, s:o}]", "length", node_rpc_u64(length), "tags",
				    node_rpc_hex(tags, tags_len), "nodes", arr),
			  &res, NULL);
	if (r == 0)
		r = entry_from_json(res, ret);
	json_decref(res);
	return r;
}

/* Reads segment index of the upload into buf, zero-padded to a whole chunk; its length. */
static int read_segment(struct remote_upload *u, uint64_t size, uint64_t index, uint8_t *buf,
			size_t *ret_len)
{
	uint64_t off = index * CODEC_SEGMENT_SIZE;
	size_t len = size - off < CODEC_SEGMENT_SIZE ? (size_t)(size - off) : CODEC_SEGMENT_SIZE;
	size_t padded = (size_t)codec_num_chunks(len) * CODEC_CHUNK_SIZE, got = 0;

	while (got < len) {
		ssize_t n = pread(u->fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	memset(buf + len, 0, padded - len);
	*ret_len = padded;
	return 0;
}

/* One call's worth of an upload: segments idx[0..count) of the file, sent to holder h (a
 * node of the shard that keeps them all) or, h NULL, to the entry point in use. */
struct batch {
	struct holder *h;
	size_t count;
	uint64_t idx[NODE_RPC_SEGMENTS_MAX];
};

/* zgs_uploadSegmentsByTxSeq for batch b, in JSON, to the entry points (any 0G node). */
static int send_json(struct remote *rm, struct remote_upload *u, const struct tree *t,
		     const struct chain_entry *e, const struct batch *b, uint8_t *buf,
		     struct node_rpc_error *err)
{
	struct codec_proof proof;
	json_t *segs = json_array();
	size_t len;
	int r = 0;

	if (!segs)
		return -ENOMEM;
	for (size_t k = 0; k < b->count && r == 0; k++) {
		r = read_segment(u, e->length, b->idx[k], buf, &len);
		if (r < 0)
			break;
		tree_proof(t, (size_t)b->idx[k], &proof);
		if (json_array_append_new(segs,
					  node_rpc_segment_to_json(e->root, buf, len, b->idx[k],
								   e->length, &proof)) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		json_decref(segs);
		return r;
	}
	return call(rm, "zgs_uploadSegmentsByTxSeq",
		    json_pack("[oo]", segs, node_rpc_u64(e->tx_seq)), NULL, err);
}

/* Batch b as one /zgfs/v1/upload body (malloc'd) and its length. */
static int encode_batch(struct remote_upload *u, const struct tree *t, const struct chain_entry *e,
			const struct batch *b, uint8_t *buf, uint8_t **ret_body, size_t *ret_len)
{
	struct codec_proof proof;
	size_t cap = NODE_RPC_BINARY_HEADER_SIZE, at, len;
	uint8_t *body;
	int r = 0;

	/* Room for count whole segments with the deepest proofs. */
	for (size_t k = 0; k < b->count; k++)
		cap += 8 + 8 + CODEC_HASH_SIZE + 4 + CODEC_SEGMENT_SIZE + 1 +
		       (CODEC_PROOF_MAX_DEPTH + 2) * CODEC_HASH_SIZE + CODEC_PROOF_MAX_DEPTH;
	body = malloc(cap);
	if (!body)
		return -ENOMEM;
	at = node_rpc_binary_header((uint32_t)b->count, body);
	for (size_t k = 0; k < b->count && r == 0; k++) {
		r = read_segment(u, e->length, b->idx[k], buf, &len);
		if (r < 0)
			break;
		tree_proof(t, (size_t)b->idx[k], &proof);
		at += node_rpc_segment_encode(e->root, buf, len, b->idx[k], e->length, &proof,
					      body + at);
	}
	if (r < 0) {
		free(body);
		return r;
	}
	*ret_body = body;
	*ret_len = at;
	return 0;
}

/* 0G's words when the node has the whole entry already (a retry after a lost answer, or
 * segments a holder synced first): its SDK also takes them as success. */
static int done_already(int r, const struct node_rpc_error *err)
{
	return r == -EINVAL && strstr(err->data, "already uploaded and finalized") ? 0 : r;
}

/* Waits (NODE_PEER_FORWARD_WAIT_MS at most) until holder h knows entry tx_seq: it follows
 * the chain a little behind the entry point that settled it. A small question, asked
 * before a batch rather than the batch sent again and again. */
static int holder_knows(struct holder *h, uint64_t tx_seq)
{
	uint64_t deadline = sys_now_ms() + NODE_PEER_FORWARD_WAIT_MS;

	while (atomic_load(&h->knows) < tx_seq + 1) {
		json_t *res = NULL;
		int r = node_rpc_call(h->rpc, "zgs_getFileInfoByTxSeq",
				      json_pack("[o]", node_rpc_u64(tx_seq)), &res, NULL);
		bool known = r == 0 && !json_is_null(res);

		json_decref(res);
		if (r < 0)
			return r;
		if (known) {
			atomic_store(&h->knows, tx_seq + 1);
			break;
		}
		if (sys_now_ms() >= deadline)
			return -ETIMEDOUT;
		sys_sleep_ms(NODE_PEER_FORWARD_POLL_MS);
	}
	return 0;
}

/* The body to holder h directly, once it knows the entry. */
static int post_holder(struct holder *h, uint64_t tx_seq, const char *path, const uint8_t *body,
		       size_t len, struct node_rpc_error *err)
{
	uint64_t deadline = sys_now_ms() + NODE_PEER_FORWARD_WAIT_MS;
	int r = holder_knows(h, tx_seq);

	while (r == 0) {
		uint8_t *answer = NULL;
		size_t alen;

		r = node_rpc_post(h->rpc, path, body, len, &answer, &alen, err);
		free(answer);
		r = done_already(r, err);
		/* Its chain follower knew the entry before its store expected it: a moment. */
		if (!(r == -ENOENT || (r == -EINVAL && strstr(err->data, "no entry"))) ||
		    sys_now_ms() >= deadline)
			break;
		r = 0;
		sys_sleep_ms(NODE_PEER_FORWARD_POLL_MS);
	}
	return r;
}

/* The body to the entry points, the one in use first (segments may be sent again: another
 * entry point takes them as well). -ENOSYS when the node lacks the endpoint. */
static int post_entry(struct remote *rm, const char *path, const uint8_t *body, size_t len,
		      struct node_rpc_error *err)
{
	unsigned from = atomic_load(&rm->ep);
	int r = -EHOSTUNREACH;

	for (unsigned k = 0; k < rm->neps; k++) {
		unsigned ep = (from + k) % rm->neps;
		uint8_t *answer = NULL;
		size_t alen;

		r = node_rpc_post(rm->eps[ep], path, body, len, &answer, &alen, err);
		free(answer);
		if (!is_down(r)) {
			if (k)
				atomic_store(&rm->ep, ep);
			break;
		}
	}
	return done_already(r, err);
}

/* Sends batch b with its proofs: to its holder when it has one (the entry point, which
 * would hand the segments to that holder, if the holder fails), else to the entry point. */
static int send_segments(struct remote *rm, struct remote_upload *u, const struct tree *t,
			 const struct chain_entry *e, const struct batch *b, uint8_t *buf)
{
	struct node_rpc_error err = {0};
	uint8_t *body = NULL;
	size_t len = 0;
	char path[64];
	int r = -ENOSYS;

	snprintf(path, sizeof(path), "/zgfs/v1/upload/%llu", (unsigned long long)e->tx_seq);
	if (b->h && sys_now_ms() >= atomic_load(&b->h->skip_until_ms) &&
	    !atomic_load(&b->h->json_only)) {
		r = encode_batch(u, t, e, b, buf, &body, &len);
		if (r == 0)
			r = post_holder(b->h, e->tx_seq, path, body, len, &err);
		if (r < 0 && r != -ENOMEM) {
			if (r == -ENOSYS)
				atomic_store(&b->h->json_only, true);
			else
				atomic_store(&b->h->skip_until_ms,
					     sys_now_ms() + REMOTE_HOLDER_RETRY_MS);
			r = -ENOSYS; /* then through the entry point */
		}
	}
	if (r == -ENOSYS && !atomic_load(&rm->json_only)) {
		if (!body)
			r = encode_batch(u, t, e, b, buf, &body, &len);
		if (body)
			r = post_entry(rm, path, body, len, &err);
		if (r == -ENOSYS)
			atomic_store(&rm->json_only, true);
	}
	free(body);
	if (r == -ENOSYS)
		r = done_already(send_json(rm, u, t, e, b, buf, &err), &err);
	return r;
}

/* Polls until the node reports tx_seq finalized (REMOTE_WAIT_S at most). */
static int wait_finalized(struct remote *rm, uint64_t tx_seq, struct node_file_info *fi)
{
	unsigned waited = 0, step = 2;
	int r;

	for (;;) {
		r = info(rm, NULL, tx_seq, fi);
		if (r < 0 || fi->finalized)
			return r;
		if (waited >= REMOTE_WAIT_S * 1000)
			return -ETIMEDOUT;
		sys_sleep_ms(step);
		waited += step;
		step = step < 200 ? step * 2 : 200;
	}
}

/* The batches handed out to REMOTE_UPLOAD_THREADS senders. */
struct senders {
	struct remote *rm;
	struct remote_upload *u;
	const struct tree *t;
	const struct chain_entry *e;
	const struct batch *batches;
	size_t nbatches;
	atomic_size_t next; /* the next batch to send */
	atomic_int err;	    /* the first error; the others stop */
};

static void *sender_thread(void *arg)
{
	struct senders *s = arg;
	uint8_t *buf = malloc(CODEC_SEGMENT_SIZE);
	int zero = 0;

	if (!buf) {
		atomic_compare_exchange_strong(&s->err, &zero, -ENOMEM);
		return NULL;
	}
	for (;;) {
		size_t k = atomic_fetch_add(&s->next, 1);
		int r;

		if (k >= s->nbatches || atomic_load(&s->err) != 0)
			break;
		r = send_segments(s->rm, s->u, s->t, s->e, &s->batches[k], buf);
		if (r < 0) {
			atomic_compare_exchange_strong(&s->err, &zero, r);
			break;
		}
	}
	free(buf);
	return NULL;
}

/* A holder of the shard that keeps flow segment flow_seg, not in its pause; NULL: none. */
static struct holder *holder_of(struct remote *rm, uint64_t flow_seg)
{
	for (unsigned i = 0; i < rm->nholders; i++) {
		struct holder *h = &rm->holders[i];

		if (flow_seg % h->num_shard == h->shard_id &&
		    sys_now_ms() >= atomic_load(&h->skip_until_ms))
			return h;
	}
	return NULL;
}

/*
 * Plans the batches of all ndata segments: in a cluster, each shard's segments go straight
 * to a node of that shard (as the SDK's Uploader sends them), so the entry point hands
 * nothing on; else runs of NODE_RPC_SEGMENTS_MAX to the entry point. *ret malloc'd.
 */
static int plan_batches(struct remote *rm, const struct chain_entry *e, uint64_t ndata,
			struct batch **ret, size_t *ret_n)
{
	uint32_t num = rm->nholders ? rm->holders[0].num_shard : 1;
	uint64_t start_seg = e->start / CODEC_SEGMENT_CHUNKS;
	size_t cap = (size_t)(ndata / NODE_RPC_SEGMENTS_MAX) + num + 1, n = 0;
	struct batch *bs = calloc(cap, sizeof(*bs));

	if (!bs)
		return -ENOMEM;
	for (uint32_t sh = 0; sh < num; sh++) {
		struct batch *b = NULL;
		/* The first segment of shard sh: flow segment start_seg + i ≡ sh (mod num). */
		uint64_t i = (sh + num - start_seg % num) % num;

		for (; i < ndata; i += num) {
			if (!b || b->count == NODE_RPC_SEGMENTS_MAX) {
				b = &bs[n++];
				b->h = num > 1 ? holder_of(rm, start_seg + i) : NULL;
			}
			b->idx[b->count++] = i;
		}
	}
	*ret = bs;
	*ret_n = n;
	return 0;
}

/*
 * Sends all ndata segments, REMOTE_UPLOAD_THREADS batches in flight: while a node syncs
 * one batch, it hashes and writes others (on as many cores as it has), and the next is on
 * its way.
 */
static int send_all(struct remote *rm, struct remote_upload *u, const struct tree *t,
		    const struct chain_entry *e, uint64_t ndata, uint8_t *buf)
{
	struct senders s = {.rm = rm, .u = u, .t = t, .e = e};
	struct batch *bs = NULL;
	size_t n = 0;
	int r = plan_batches(rm, e, ndata, &bs, &n);

	(void)buf;
	if (r < 0)
		return r;
	s.batches = bs;
	s.nbatches = n;
	atomic_init(&s.next, 0);
	atomic_init(&s.err, 0);
	sys_run_threads(sender_thread, &s, n < REMOTE_UPLOAD_THREADS ? (unsigned)n
								   : REMOTE_UPLOAD_THREADS);
	free(bs);
	return atomic_load(&s.err);
}

static int remote_upload_finish(struct node_upload *base, struct node_file_info *ret)
{
	struct remote_upload *u = (struct remote_upload *)base;
	struct remote *rm = R(base->node);
	struct node_file_info *fi = NULL;
	struct chain_entry *e = NULL;
	struct codec_subnode *nodes = NULL;
	struct tree t = {0};
	codec_hash *leaves = NULL;
	uint8_t root[CODEC_HASH_SIZE], last[CODEC_HASH_SIZE], *buf = NULL;
	uint64_t size = u->m.size, ndata, nleaves;
	size_t nnodes;
	int r;

	r = u->err;
	if (r < 0)
		goto out;
	nodes = malloc(CODEC_MAX_NODES * sizeof(*nodes));
	e = malloc(sizeof(*e));
	fi = malloc(sizeof(*fi));
	buf = malloc(CODEC_SEGMENT_SIZE);
	if (!nodes || !e || !fi || !buf) {
		r = -ENOMEM;
		goto out;
	}
	r = codec_merkle_finish(&u->m, root, nodes, &nnodes, last);
	if (r < 0)
		goto out; /* -EINVAL: nothing was written */
	ndata = (size + CODEC_SEGMENT_SIZE - 1) / CODEC_SEGMENT_SIZE;
	nleaves = codec_num_segments(size);
	if (u->nroots != size / CODEC_SEGMENT_SIZE) {
		r = -EIO;
		goto out;
	}
	/* The leaves of the entry's tree: the full segments' roots, the last data segment's
	 * (partial, padded within its segment), then whole segments of zero padding. */
	leaves = malloc(nleaves * sizeof(*leaves));
	if (!leaves) {
		r = -ENOMEM;
		goto out;
	}
	if (u->nroots)
		memcpy(leaves, u->roots, u->nroots * sizeof(*leaves));
	if (size % CODEC_SEGMENT_SIZE)
		memcpy(leaves[ndata - 1], last, CODEC_HASH_SIZE);
	for (uint64_t i = ndata; i < nleaves; i++)
		memcpy(leaves[i], codec_zero_root(CODEC_SEGMENT_HEIGHT), CODEC_HASH_SIZE);
	r = tree_build(&t, leaves, (size_t)nleaves);
	if (r < 0)
		goto out;
	leaves = NULL; /* owned by the tree now */
	if (memcmp(t.level[t.nlevels - 1][0], root, CODEC_HASH_SIZE) != 0) {
		r = -EIO; /* cannot happen unless hashing is broken: do not send */
		goto out;
	}
	r = submit(rm, size, u->tags, u->tags_len, nodes, nnodes, e);
	if (r < 0)
		goto out;
	if (e->length != size || memcmp(e->root, root, CODEC_HASH_SIZE) != 0) {
		r = -EPROTO;
		goto out;
	}
	r = send_all(rm, u, &t, e, ndata, buf);
	if (r < 0)
		goto out;
	/* Every segment landed: a cluster builds the parity now (a node alone, or one
	 * without the method, says so; it needs nothing). */
	(void)call(rm, "zgfs_syncNow", json_pack("[o]", node_rpc_u64(e->tx_seq)), NULL, NULL);
	r = wait_finalized(rm, e->tx_seq, fi);
	if (r == 0 && ret)
		*ret = *fi;
out:
	tree_free(&t);
	free(leaves);
	free(buf);
	free(fi);
	free(e);
	free(nodes);
	remote_upload_abort(base);
	return r;
}

/* Threads hashing a file for node_upload_file() (the node is idle meanwhile), and the bytes
 * of the file mapped at once. */
#define REMOTE_HASH_THREADS 8u
#define REMOTE_HASH_WINDOW  (64u << 20)

/* Hashes bytes [0, size) of fd into u: whole segments on threads, straight into u->roots. */
static int hash_file(struct remote_upload *u, int fd, uint64_t size)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cpus < 1 ? 1 : cpus > REMOTE_HASH_THREADS ? REMOTE_HASH_THREADS
								       : (unsigned)cpus;
	uint64_t nfull = size / CODEC_SEGMENT_SIZE;
	int r = 0;

	if (size > NODE_STORE_ENTRY_MAX)
		return -E2BIG;
	u->roots = nfull ? malloc((size_t)nfull * sizeof(*u->roots)) : NULL;
	if (nfull && !u->roots)
		return -ENOMEM;
	u->cap = (size_t)nfull;
	u->m.on_segment = NULL; /* the roots go to u->roots directly */
	for (uint64_t off = 0; off < size && r == 0; off += REMOTE_HASH_WINDOW) {
		size_t len = size - off < REMOTE_HASH_WINDOW ? (size_t)(size - off)
							     : REMOTE_HASH_WINDOW;
		size_t nseg = len / CODEC_SEGMENT_SIZE;
		uint8_t *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);

		if (p == MAP_FAILED)
			return -errno;
		madvise(p, len, MADV_SEQUENTIAL | MADV_WILLNEED);
		r = codec_segment_roots_parallel(p, nseg, u->roots + u->nroots, threads);
		if (r == 0)
			r = codec_merkle_push_segments(&u->m, u->roots[u->nroots], nseg);
		if (r == 0) {
			u->nroots += nseg;
			r = codec_merkle_update(&u->m, p + nseg * CODEC_SEGMENT_SIZE,
						len - nseg * CODEC_SEGMENT_SIZE);
		}
		munmap(p, len);
	}
	return r < 0 ? r : u->err;
}

/*
 * The file where it is: hashed in place (mapped, on every core), then its segments are read
 * from it to be sent. No temporary copy, so the bytes are read twice and written nowhere.
 */
static int remote_upload_file(struct node *n, int fd, const uint8_t *tags, size_t tags_len,
			      struct node_file_info *ret)
{
	struct remote_upload *u;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EOPNOTSUPP;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	r = fd < 0 ? -errno : upload_new(n, tags, tags_len, fd, &u);
	if (r < 0)
		return r;
	r = hash_file(u, u->fd, (uint64_t)st.st_size);
	if (r < 0) {
		remote_upload_abort(&u->base);
		return r;
	}
	return remote_upload_finish(&u->base, ret);
}

/* ---- KV ------------------------------------------------------------------------------------- */

/* Waits for the KV layer's result of tx_seq; 0 for "Commit", else the errno node.h gives. */
static int wait_kv_result(struct remote *rm, uint64_t tx_seq)
{
	unsigned waited = 0, step = 1;
	json_t *res = NULL;
	const char *s;
	int r;

	for (;;) {
		r = call(rm, "kv_getTransactionResult",
				  json_pack("[o]", node_rpc_u64(tx_seq)), &res, NULL);
		if (r < 0)
			return r;
		s = json_string_value(res);
		if (s) {
			r = strcmp(s, "Commit") == 0			? 0
			    : strncmp(s, "VersionConfliction", 18) == 0 ? -ESTALE
			    : strstr(s, "PermissionDenied")		? -EACCES
									: -EINVAL;
			json_decref(res);
			return r;
		}
		json_decref(res);
		res = NULL;
		if (waited >= REMOTE_WAIT_S * 1000)
			return -ETIMEDOUT;
		sys_sleep_ms(step);
		waited += step;
		step = step < 200 ? step * 2 : 200;
	}
}

/* zgfs_kvWrite: the node settles and replays the write in one call. -ENOSYS when the node
 * has no such method (a 0G node). */
static int kv_write_one_call(struct remote *rm, const uint8_t stream[32],
			     const struct node_put_item *items, size_t nitems,
			     uint64_t *ret_tx_seq)
{
	json_t *list = json_array(), *res = NULL;
	json_int_t code;
	json_int_t seq;
	int r;

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < nitems; i++) {
		json_t *it = json_pack("{s:o, s:o}", "key", node_rpc_base64(items[i].key,
									    items[i].key_len),
				       "value", node_rpc_base64(items[i].value, items[i].value_len));

		if (!it || json_array_append_new(list, it) < 0) {
			json_decref(list);
			return -ENOMEM;
		}
	}
	r = call_ex(rm, false, "zgfs_kvWrite",
			  json_pack("[oo]", node_rpc_hex(stream, NODE_KV_STREAM_ID_SIZE), list), &res,
			  NULL);
	if (r < 0)
		return r;
	if (json_unpack(res, "{s:I, s:I}", "txSeq", &seq, "error", &code) < 0 || seq < 0 ||
	    code > 0) {
		json_decref(res);
		return -EPROTO;
	}
	json_decref(res);
	if (ret_tx_seq)
		*ret_tx_seq = (uint64_t)seq;
	return (int)code;
}

static int remote_kv_write(struct node *n, const uint8_t stream[32],
			   const struct node_put_item *items, size_t nitems, uint64_t *ret_tx_seq)
{
	struct node_upload *up = NULL;
	struct node_file_info *fi = NULL;
	uint8_t tags[2 * NODE_KV_STREAM_ID_SIZE], *payload = NULL;
	size_t tags_len, len;
	int r;

	r = kv_write_one_call(R(n), stream, items, nitems, ret_tx_seq);
	if (r != -ENOSYS && r != -E2BIG)
		return r;
	/* Too large for one call, or a node without zgfs_kvWrite: upload the transaction as
	 * an entry, then wait for the node to replay it. */
	fi = malloc(sizeof(*fi));
	if (!fi)
		return -ENOMEM;
	r = node_kv_encode_puts(stream, items, nitems, &payload, &len, tags, &tags_len);
	if (r == 0)
		r = remote_upload_begin(n, tags, tags_len, &up);
	if (r == 0)
		r = remote_upload_write(up, payload, len);
	if (r < 0) {
		remote_upload_abort(up);
		goto out;
	}
	r = remote_upload_finish(up, fi);
	if (r == 0)
		r = wait_kv_result(R(n), fi->entry.tx_seq);
	if ((r == 0 || r == -EACCES || r == -ESTALE || r == -EINVAL) && ret_tx_seq)
		*ret_tx_seq = fi->entry.tx_seq;
out:
	free(payload);
	free(fi);
	return r;
}

/*
 * The whole value of (stream, key) at version (latest: NODE_KV_LATEST), read in slices of
 * NODE_RPC_KV_QUERY_MAX with kv_getValue, each slice pinned to the version of the first.
 * Returns -ENOENT when 0G's "never written" answer comes ({version 0, size 0}) and the
 * key has no history (a tx 0 that wrote an empty value looks the same otherwise).
 */
static int kv_value(struct remote *rm, const uint8_t stream[32], const uint8_t *key, size_t key_len,
		    uint64_t version, struct node_value *ret)
{
	json_t *res = NULL, *jkey = node_rpc_base64(key, key_len), *jstream;
	struct node_value v = {0};
	uint64_t size = 0, got = 0;
	int r = 0;

	jstream = node_rpc_hex(stream, NODE_STREAM_ID_SIZE);
	if (!jkey || !jstream) {
		r = -ENOMEM;
		goto out;
	}
	do {
		uint64_t ver = 0, sz = 0;
		size_t len = 0;

		json_decref(res);
		res = NULL;
		r = call(rm, "kv_getValue",
				  version == NODE_KV_LATEST
				      ? json_pack("[OOoi]", jstream, jkey, node_rpc_u64(got),
						  NODE_RPC_KV_QUERY_MAX)
				      : json_pack("[OOoio]", jstream, jkey, node_rpc_u64(got),
						  NODE_RPC_KV_QUERY_MAX, node_rpc_u64(version)),
				  &res, NULL);
		if (r < 0)
			goto out;
		if (j_u64(res, "version", &ver) < 0 || j_u64(res, "size", &sz) < 0) {
			r = -EPROTO;
			goto out;
		}
		if (got == 0) {
			if (ver == 0 && sz == 0) {
				/* Written (emptied) at tx 0, or never written? */
				json_t *h = NULL;

				r = call(rm, "zgfs_kvHistory",
						  json_pack("[OOni]", jstream, jkey, 1), &h, NULL);
				/* No history (or a 0G node, which has no zgfs_kvHistory):
				 * never written. */
				if (r < 0 || json_array_size(h) == 0) {
					json_decref(h);
					r = -ENOENT;
					goto out;
				}
				json_decref(h);
			}
			size = sz;
			version = ver;
			v.version = ver;
			if (size > SIZE_MAX - 1) {
				r = -E2BIG;
				goto out;
			}
			v.data = size ? malloc((size_t)size) : NULL;
			if (size && !v.data) {
				r = -ENOMEM;
				goto out;
			}
		} else if (ver != version || sz != size) {
			r = -EPROTO;
			goto out;
		}
		if (size - got > 0) {
			r = node_rpc_unbase64(json_object_get(res, "data"), v.data + got,
					      (size_t)(size - got), &len);
			if (r < 0 || len == 0) {
				r = -EPROTO;
				goto out;
			}
		}
		got += len;
	} while (got < size);
	v.len = (size_t)size;
	*ret = v;
	v.data = NULL;
	r = 0;
out:
	free(v.data);
	json_decref(res);
	json_decref(jkey);
	json_decref(jstream);
	return r;
}

static int remote_kv_read(struct node *n, const uint8_t stream[32], const uint8_t *key,
			  size_t key_len, uint64_t version, struct node_value *ret)
{
	if (key_len == 0)
		return -EINVAL;
	return kv_value(R(n), stream, key, key_len, version, ret);
}

static int remote_kv_list(struct node *n, const uint8_t stream[32], const uint8_t *from,
			  size_t from_len, uint64_t version, size_t max, node_kv_list_fn *fn,
			  void *ctx)
{
	struct remote *rm = R(n);
	json_t *res = NULL, *last;
	size_t listed = 0;
	int r = 0;

	if (max == 0)
		return 0;
	if (from) {
		/* `from` itself first: zgfs_kvList lists keys strictly after the one it is
		 * given. A deleted (empty) value is passed over, as the listing does. */
		struct node_value v = {0};

		r = kv_value(rm, stream, from, from_len, version, &v);
		if (r == 0 && v.len > 0) {
			r = fn(ctx, from, from_len, &v);
			listed++;
		} else if (r == -ENOENT || r == 0) {
			r = 0;
		}
		free(v.data);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	last = from ? node_rpc_base64(from, from_len) : json_null();
	if (!last)
		return -ENOMEM;
	while (listed < max) {
		size_t want = max - listed < NODE_RPC_LIST_MAX ? max - listed : NODE_RPC_LIST_MAX;
		json_t *items;

		r = call(rm, "zgfs_kvList",
			 version == NODE_KV_LATEST
			     ? json_pack("[oOI]", node_rpc_hex(stream, NODE_STREAM_ID_SIZE), last,
					 (json_int_t)want)
			     : json_pack("[oOIo]", node_rpc_hex(stream, NODE_STREAM_ID_SIZE), last,
					 (json_int_t)want, node_rpc_u64(version)),
			 &res, NULL);
		if (r < 0)
			break;
		items = json_object_get(res, "items");
		if (!json_is_array(items)) {
			r = -EPROTO;
			break;
		}
		if (json_array_size(items) == 0)
			break; /* the end (whatever "complete" says: no progress, no loop) */
		for (size_t i = 0; i < json_array_size(items) && listed < max; i++) {
			json_t *it = json_array_get(items, i), *jk = json_object_get(it, "key");
			struct node_value v = {0};
			uint8_t *key = NULL;
			size_t key_len = 0, max_key = json_string_length(jk) / 4 * 3;
			uint64_t size = 0;

			key = malloc(max_key ? max_key : 1);
			if (!key) {
				r = -ENOMEM;
				break;
			}
			if (node_rpc_unbase64(jk, key, max_key, &key_len) < 0 || key_len == 0 ||
			    j_u64(it, "version", &v.version) < 0 || j_u64(it, "size", &size) < 0 ||
			    size > SIZE_MAX - 1) {
				free(key);
				r = -EPROTO;
				break;
			}
			if (json_is_string(json_object_get(it, "data"))) {
				v.data = size ? malloc((size_t)size) : NULL;
				if (size && !v.data)
					r = -ENOMEM;
				else if (node_rpc_unbase64(json_object_get(it, "data"), v.data,
							   (size_t)size, &v.len) < 0 ||
					 v.len != size)
					r = -EPROTO;
			} else {
				/* Too large for the page: read on its own, at its version. */
				r = kv_value(rm, stream, key, key_len, v.version, &v);
			}
			if (r == 0)
				r = fn(ctx, key, key_len, &v);
			json_decref(last);
			last = json_incref(jk);
			free(v.data);
			free(key);
			listed++;
			if (r != 0)
				break;
		}
		if (r != 0 || json_is_true(json_object_get(res, "complete")))
			break;
		json_decref(res);
		res = NULL;
	}
	json_decref(res);
	json_decref(last);
	return r < 0 ? r : 0;
}

static int remote_kv_versions(struct node *n, const uint8_t stream[32], const uint8_t *key,
			      size_t key_len, node_kv_version_fn *fn, void *ctx)
{
	struct remote *rm = R(n);
	json_t *res = NULL, *jkey = node_rpc_base64(key, key_len);
	json_t *jstream = node_rpc_hex(stream, NODE_STREAM_ID_SIZE);
	uint64_t after = 0;
	bool first = true;
	int r = 0;

	if (!jkey || !jstream) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		size_t count;

		r = call(rm, "zgfs_kvHistory",
				  first ? json_pack("[OO]", jstream, jkey)
					: json_pack("[OOo]", jstream, jkey, node_rpc_u64(after)),
				  &res, NULL);
		if (r < 0)
			goto out;
		count = json_array_size(res);
		for (size_t i = 0; i < count; i++) {
			json_t *it = json_array_get(res, i);
			uint64_t version, size;

			if (j_u64(it, "version", &version) < 0 || j_u64(it, "size", &size) < 0 ||
			    (!(first && i == 0) && version <= after)) {
				r = -EPROTO; /* not oldest first: a loop otherwise */
				goto out;
			}
			r = fn(ctx, version, size);
			if (r != 0)
				goto out;
			after = version;
		}
		json_decref(res);
		res = NULL;
		if (count < NODE_RPC_HISTORY_MAX)
			break;
		first = false;
	}
out:
	json_decref(res);
	json_decref(jkey);
	json_decref(jstream);
	return r < 0 ? r : 0;
}

/* ---- open and close ----------------------------------------------------------------------- */

static void remote_close(struct node *n)
{
	struct remote *rm = R(n);

	for (unsigned i = 0; i < REMOTE_SEGMENT_CACHE; i++)
		free(rm->segs[i].data);
	for (unsigned i = 0; i < rm->nholders; i++)
		if (!rm->holders[i].own)
			node_rpc_client_free(rm->holders[i].rpc);
	for (unsigned i = 0; i < rm->neps; i++)
		node_rpc_client_free(rm->eps[i]);
	pthread_mutex_destroy(&rm->mu);
	free(rm);
}

static const struct node_ops remote_ops = {
    .close = remote_close,
    .status = remote_status,
    .file_info_by_seq = remote_info_by_seq,
    .file_info_by_root = remote_info_by_root,
    .upload_begin = remote_upload_begin,
    .upload_write = remote_upload_write,
    .upload_finish = remote_upload_finish,
    .upload_read = remote_upload_read,
    .upload_abort = remote_upload_abort,
    .upload_file = remote_upload_file,
    .read = remote_read,
    .segment = remote_segment,
    .kv_write = remote_kv_write,
    .kv_read = remote_kv_read,
    .kv_list = remote_kv_list,
    .kv_versions = remote_kv_versions,
};

/* Adds a holder of shard id/num (rpc owned unless own); false when there is no room. */
static bool add_holder(struct remote *rm, struct node_rpc_client *rpc, bool own, json_int_t id,
		       json_int_t num)
{
	struct holder *h;

	if (rm->nholders == REMOTE_HOLDERS_MAX || num < 2 || num > (json_int_t)1 << 30 ||
	    (num & (num - 1)) || id < 0 || id >= num)
		return false;
	h = &rm->holders[rm->nholders++];
	h->rpc = rpc;
	h->own = own;
	h->shard_id = (uint32_t)id;
	h->num_shard = (uint32_t)num;
	atomic_init(&h->json_only, false);
	atomic_init(&h->skip_until_ms, 0);
	atomic_init(&h->knows, 0);
	/* Bounded like a node's requests to its peers, so that a hanging one costs little. */
	if (!own)
		node_rpc_client_set_timeout(rpc, NODE_PEER_CONNECT_MS, NODE_PEER_FETCH_MS);
	return true;
}

static bool known_url(struct remote *rm, const char *url)
{
	for (unsigned i = 0; i < rm->neps; i++)
		if (strcmp(node_rpc_client_url(rm->eps[i]), url) == 0)
			return true;
	for (unsigned i = 0; i < rm->nholders; i++)
		if (strcmp(node_rpc_client_url(rm->holders[i].rpc), url) == 0)
			return true;
	return false;
}

/*
 * The cluster's nodes and shards: each entry point's own (zgs_getShardConfig), then the
 * peers the one in use reports (zgfs_peers). Nothing for a node alone or a node without
 * these methods (a 0G node): reads then go to the entry points only.
 */
static void learn_holders(struct remote *rm)
{
	json_t *res = NULL, *pe;
	size_t i;

	for (unsigned k = 0; k < rm->neps; k++) {
		json_int_t id = -1, num = -1;

		if (node_rpc_call(rm->eps[k], "zgs_getShardConfig", json_array(), &res, NULL) == 0)
			(void)json_unpack(res, "{s:I, s:I}", "shardId", &id, "numShard", &num);
		json_decref(res);
		res = NULL;
		add_holder(rm, rm->eps[k], true, id, num);
	}
	if (rm->nholders == 0 || call(rm, "zgfs_peers", json_array(), &res, NULL) < 0)
		return;
	json_array_foreach(res, i, pe) {
		const char *url = json_string_value(json_object_get(pe, "url"));
		json_t *jid = json_object_get(pe, "shardId"), *jn = json_object_get(pe, "numShard");
		struct node_rpc_client *c;

		json_int_t id = -1, num = -1;
		json_t *sc = NULL;

		if (!url || known_url(rm, url) || node_rpc_client_new(url, &c) < 0)
			continue;
		node_rpc_client_set_timeout(c, NODE_PEER_CONNECT_MS, NODE_PEER_FETCH_MS);
		if (json_is_integer(jid) && json_is_integer(jn)) {
			id = json_integer_value(jid);
			num = json_integer_value(jn);
		} else if (node_rpc_call(c, "zgs_getShardConfig", json_array(), &sc, NULL) == 0) {
			/* The entry point has not asked it yet: ask it here. */
			(void)json_unpack(sc, "{s:I, s:I}", "shardId", &id, "numShard", &num);
		}
		json_decref(sc);
		if (!add_holder(rm, c, false, id, num))
			node_rpc_client_free(c);
	}
	json_decref(res);
}

int node_open_remote(const char *urls, struct node **ret_node)
{
	struct remote *rm;
	json_t *res = NULL;
	const char *at = urls;
	int r = 0;

	rm = calloc(1, sizeof(*rm));
	if (!rm)
		return -ENOMEM;
	rm->base.ops = &remote_ops;
	pthread_mutex_init(&rm->mu, NULL);
	for (unsigned i = 0; i < REMOTE_SEGMENT_CACHE; i++)
		rm->segs[i].index = UINT64_MAX;
	/* 0G's JSON methods only, as with a 0G node: for tests, and to compare. */
	atomic_init(&rm->json_only, getenv("ZGFS_RPC_JSON_ONLY") != NULL);
	atomic_init(&rm->ep, 0);
	/* URL[,URL]...: every one an entry point. */
	while (r == 0 && *at) {
		size_t len = strcspn(at, ",");
		char url[REMOTE_URL_MAX];

		if (len == 0 || len >= sizeof(url) || rm->neps == REMOTE_URLS_MAX) {
			r = -EINVAL;
			break;
		}
		memcpy(url, at, len);
		url[len] = 0;
		r = node_rpc_client_new(url, &rm->eps[rm->neps]);
		if (r == 0)
			rm->neps++;
		at += len + (at[len] == ',');
	}
	if (r == 0 && rm->neps == 0)
		r = -EINVAL;
	if (r == 0)
		r = call(rm, "zgs_getStatus", NULL, &res, NULL);
	json_decref(res);
	if (r < 0) {
		remote_close(&rm->base);
		return r;
	}
	/* Reads through the entry points only, as through a 0G node: for tests of a node's
	 * own peer path, and for clients that cannot reach the holders' URLs. */
	if (!getenv("ZGFS_REMOTE_ENTRY_ONLY"))
		learn_holders(rm);
	*ret_node = &rm->base;
	return 0;
}
