/*
 * node_i.h - inside the node layer: the in-process node's parts, for the RPC methods
 * (which serve what a local node holds) and for tests. Not for other layers.
 */
#ifndef NODE_NODE_I_H
#define NODE_NODE_I_H

#include "chain/chain.h"
#include "node/node.h"
#include "node/store/store.h"

struct node_kv;	   /* node/kv.h */
struct node_peers; /* node/peer/peers.h */

/* Implementation table behind struct node (node.c dispatches through it). */
struct node_ops {
	void (*close)(struct node *n);
	int (*status)(struct node *n, struct node_status *ret);
	int (*file_info_by_seq)(struct node *n, uint64_t tx_seq, struct node_file_info *ret);
	int (*file_info_by_root)(struct node *n, const uint8_t root[32],
				 struct node_file_info *ret);
	int (*upload_begin)(struct node *n, const uint8_t *tags, size_t tags_len,
			    struct node_upload **ret);
	int (*upload_write)(struct node_upload *u, const void *data, size_t len);
	int (*upload_read)(struct node_upload *u, uint64_t off, void *buf, size_t len,
			   size_t *ret_len);
	int (*upload_finish)(struct node_upload *u, struct node_file_info *ret);
	/* NULL: upload_finish does it */
	int (*upload_finish_lazy)(struct node_upload *u, struct node_file_info *ret);
	void (*upload_abort)(struct node_upload *u);
	/* NULL: node_upload_file() gives -EOPNOTSUPP */
	int (*upload_file)(struct node *n, int fd, const uint8_t *tags, size_t tags_len,
			   struct node_file_info *ret);
	int (*read)(struct node *n, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
		    size_t *ret_len);
	int (*segment)(struct node *n, uint64_t tx_seq, uint64_t index, uint8_t *buf,
		       size_t *ret_len, struct codec_proof *ret_proof);
	int (*kv_write)(struct node *n, const uint8_t stream[32], const struct node_put_item *items,
			size_t nitems, uint64_t *ret_tx_seq);
	int (*kv_read)(struct node *n, const uint8_t stream[32], const uint8_t *key,
		       size_t key_len, uint64_t version, struct node_value *ret);
	int (*kv_list)(struct node *n, const uint8_t stream[32], const uint8_t *from,
		       size_t from_len, uint64_t version, size_t max, node_kv_list_fn *fn,
		       void *ctx);
	int (*kv_versions)(struct node *n, const uint8_t stream[32], const uint8_t *key,
			   size_t key_len, node_kv_version_fn *fn, void *ctx);
	int (*prune)(struct node *n, uint64_t tx_seq, uint64_t *ret_bytes); /* NULL: -ENOTSUP */
};

/* Every struct node starts with this. */
struct node {
	const struct node_ops *ops;
};

/* Every struct node_upload starts with this. */
struct node_upload {
	struct node *node;
};

/*
 * node_kv_encode_puts() - the KV transaction of a blind write of items to one stream, as
 * both implementations settle it: no read set, version UINT64_MAX (no later write can
 * conflict with it; the newest write wins), and its tags. *ret_payload is malloc'd.
 * -EINVAL (no items, empty key), -E2BIG (a key, the item count or the whole transaction
 * over its limit), -ENOMEM.
 */
int node_kv_encode_puts(const uint8_t stream[NODE_STREAM_ID_SIZE],
			const struct node_put_item *items, size_t nitems, uint8_t **ret_payload,
			size_t *ret_len, uint8_t ret_tags[2 * NODE_STREAM_ID_SIZE],
			size_t *ret_tags_len);

/* The parts of a node opened with node_open_local(); NULL for a remote node (the store,
 * the KV state and the recovery record are in node.h, for the daemon's commands). */
struct chain *node_local_chain(struct node *n);

/* The DA part of an in-process node (node/da/da_i.h): NULL for another node, or when its
 * chain has no DA contract. */
struct node_da;
struct node_da *node_local_da(struct node *n);
struct node_peers *node_local_peers(struct node *n); /* node/peer/peers.h */
/* The URL the node registered with (--url), or NULL. */
const char *node_local_url(struct node *n);
/* Entry tx_seq's uploader is done: this node syncs it now (node_sync_hurry), and with relay
 * every peer is told the same (zgfs_syncNow). -ENOTSUP for a node without sync. */
int node_local_sync_now(struct node *n, uint64_t tx_seq, bool relay);

/*
 * node_local_submit() - settle a submission whose bytes will arrive later in segments
 * (zgfs_submit over RPC), and make the store expect them. Returns the settled entry.
 */
int node_local_submit(struct node *n, const struct chain_submission *sub,
		      struct chain_entry *ret_entry);

/*
 * node_local_put_segments() - store uploaded segments of entry tx_seq, checked and synced
 * as one batch (node_store_put_segments: one wrong segment, nothing stored), and when
 * that finalizes the entry, let the KV layer replay whatever became available.
 */
int node_local_put_segments(struct node *n, uint64_t tx_seq,
			    const struct node_store_segment *segs, size_t count);

/* The miner's status record (zgfs_mineStatus, docs/PORA.md); -ENOENT when the node does not
 * mine, -ENOMEM. *ret_status is the caller's (json_decref). */
struct json_t;
int node_local_mine_status(struct node *n, struct json_t **ret_status);

/* The node's ed25519 public key. */
int node_local_public_key(struct node *n, uint8_t ret_pk[32]);

#endif
