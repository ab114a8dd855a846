/*
 * node.h - the storage node as its clients see it: the one interface the mount (fs/) and
 * the command line use.
 *
 * Two implementations: the node in this process (node_open_local: log store, embedded
 * ledger and KV state in a data directory) and a node elsewhere over JSON-RPC
 * (node_open_remote: a running `zgfs node` or any node speaking the same methods). Both
 * behave the same for every function here.
 *
 * Guarantees: every function is thread-safe on one struct node. A function that settles
 * (node_upload_finish, node_kv_write) returns 0 only once the entry's data and its
 * settlement are durable: they survive SIGKILL of either process (node_upload_finish_lazy
 * leaves power-loss durability to the next settling call). Bytes returned by
 * node_read() have been checked against the entry's Merkle root. All functions return 0
 * or a negative code (-errno, or a layer's own code; node_strerror() names it) and write
 * ret_ parameters only on success.
 */
#ifndef NODE_NODE_H
#define NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "codec/proof.h"

#define NODE_STREAM_ID_SIZE 32

struct node;

/* How to open the node in this process. */
struct node_config {
	const char *data_dir; /* created 0700 with its ed25519 key (0600) on first use */
	const char *chain;    /* "local", or an EVM JSON-RPC URL; NULL: what DIR/chain.json
				 records, else "local" */
	const char *evm_key_hex;  /* EVM signing key (hex), or NULL */
	const char *evm_key_file; /* else a file holding it, or NULL (follow and serve only) */
	bool verify_reads;    /* check every segment read from disk against its root */
	/* PoRA (docs/PORA.md) */
	bool mine;		    /* run the miner */
	const char *miner_key;	    /* file keeping the miner id; NULL: DIR/pora/miner.id */
	unsigned mine_threads;	    /* 0: one */
	unsigned mine_tick_ms;	    /* an idle embedded ledger gets a block this often; 0: 1 s */
	/* mining parameters for a new embedded ledger (NULL: PoRA stays off until set) */
	const struct chain_pora_params *pora;
	uint64_t pora_donate;	    /* moved into the donation pool of a new embedded ledger */
	/* A cluster (docs/PEERS.md): the shard kept here (num_shard 0 or 1: the whole flow;
	 * more needs an EVM chain) and peers given by hand. */
	uint32_t shard_id, num_shard;
	const char *const *peers;
	size_t npeers;
	/* The URL peers and clients reach this node at: registered with its shard in the
	 * chain's registry at open (needs the EVM key); NULL: not registered. Peers are also
	 * learned from the registry, registered or not. */
	const char *public_url;
	/* DA (docs/DA.md): sign as a DA signer (needs public_url, and on an EVM chain a DA
	 * contract and the EVM key), with this stake (0: the contract's minimum). Every node
	 * on a chain with DA serves the DA reads and settles certificates, signer or not. An
	 * embedded ledger gets its DA rules when a signer first starts on it: da_config, or
	 * CHAIN_DA_LOCAL_DEFAULTS when NULL. */
	bool da;
	uint64_t da_stake;
	const struct chain_da_config *da_config;
	unsigned da_max_blobs; /* blobs a signer holds at once; 0: NODE_DA_BLOBS_DEFAULT */
};

/* What the miner has done, for the daemon's log (node_mine_report). */
struct node_mine_report {
	uint8_t miner_id[32];
	uint64_t tries, submitted, accepted, rewards, refused, corrupt, missing;
	int last_refusal, last_error;
	uint64_t last_corrupt_sector, last_missing_sector;
};

/* -ENOENT when the node does not mine. */
int node_mine_report(struct node *n, struct node_mine_report *ret_report);

/*
 * node_open_local() - open the node in this process. Takes the data directory's lock:
 * -EBUSY (with the holder's pid in the log) if another process has it. Recovers from a
 * crash by itself: an entry that was acknowledged is there, one that was not is either
 * complete or absent.
 * On an EVM chain the contracts are those DIR/chain.json records (`zgfs chain deploy`);
 * cfg->chain overrides its endpoint. The node then follows the Flow's Submit events from
 * every sender in a thread of its own: it expects the data of each new entry, so that
 * anyone's segments are accepted, finalized and served, and replays KV transactions.
 * -ENOENT (chain_last_detail() says what to run) when an EVM chain is asked for and DIR
 * records none; -EEXIST when DIR already settles on the other kind of chain.
 */
int node_open_local(const struct node_config *cfg, struct node **ret_node);

/*
 * node_open_remote() - a node at urls ("http://127.0.0.1:5678"), or several nodes of one
 * cluster as a comma-separated list: entry points used in turn when the one in use stops
 * answering (a submission or KV write goes to another only when it did not reach the
 * first). Reads fetch each segment from a node of its shard first (the cluster's nodes
 * are learned from the entry point at open), then from the entry points. Checks that one
 * answers: -EINVAL for an empty or malformed list, else the error of the last one tried.
 */
int node_open_remote(const char *urls, struct node **ret_node);

/* The URL of the entry point a node opened with node_open_remote() uses now; NULL for any
 * other node. */
const char *node_remote_url(struct node *n);

void node_close(struct node *n); /* NULL-safe */

/* A message for any code a node function returns. Never NULL. */
const char *node_strerror(int err);

/* What zgs_getStatus reports, and a little more. */
struct node_status {
	uint64_t next_tx_seq;	  /* entries settled on the chain */
	uint64_t log_sync_height; /* chain block height the node has followed */
	uint8_t log_sync_block[CODEC_HASH_SIZE];
	uint64_t finalized;	  /* entries whose data is complete here */
	uint64_t kv_next_tx_seq;  /* entries replayed by the KV layer */
	uint64_t flow_length;
	uint8_t flow_root[CODEC_HASH_SIZE];
	uint64_t chain_id;
	uint8_t flow_address[CHAIN_ADDRESS_SIZE];
	unsigned connected_peers; /* peers known */
	uint32_t shard_id, num_shard; /* the shard of the flow kept here; 0/1: all */
	/* Sync from peers (docs/PEERS.md): entries still waiting for segments of this shard,
	 * those segments, and what was fetched from peers since the node started. */
	uint64_t sync_waiting, sync_missing, sync_fetched, sync_fetched_bytes;
	/* The cluster's policy K+M (0/0: none), the parity symbols this node built, and the
	 * data segments it rebuilt from stripes (for reads or sync) and the bytes that cost. */
	unsigned ec_k, ec_m;
	uint64_t parity_built, segments_rebuilt, rebuilt_bytes_in;
	uint64_t parity_bytes_in; /* data bytes fetched from peers to build that parity */
	/* Segments this node gave out (zgs_downloadSegment*, /zgfs/v1/segment, reads) since it
	 * started: from its own store, and fetched or rebuilt from peers for the asker. */
	uint64_t segments_served, segments_relayed;
	uint64_t bytes_stored;	  /* data bytes of finalized entries */
	uint64_t disk_free;	  /* bytes free on the data directory's filesystem */
	uint64_t disk_total;	  /* that filesystem's size */
	/* That filesystem as statvfs(3) reports it, for the mount's statfs: bytes free in all
	 * (disk_free is what an unprivileged writer may still use), inodes in all and free.
	 * 0 when a remote node does not say. */
	uint64_t disk_free_all, files_total, files_free;
};

int node_status(struct node *n, struct node_status *ret_status);

/* What zgs_getFileInfo reports for one entry. */
struct node_file_info {
	struct chain_entry entry;
	bool finalized;		   /* all of its data is here and durable */
	uint64_t uploaded_segments;
	bool pruned;
};

/* -ENOENT when no such entry is settled. By root: the first entry with that root. */
int node_file_info_by_seq(struct node *n, uint64_t tx_seq, struct node_file_info *ret_info);
int node_file_info_by_root(struct node *n, const uint8_t root[CODEC_HASH_SIZE],
			   struct node_file_info *ret_info);

/*
 * Uploading one entry as a stream of bytes of unknown length: begin, write any number of
 * times, then finish (settle) or abort. Memory stays bounded whatever the size. The root
 * is computed from the same bytes that are stored.
 * @tags: the submission's tags (KV transactions carry stream ids here); may be NULL/0.
 * node_upload_finish() returns -EINVAL for an empty upload (0G has no empty entries) and
 * frees the upload whatever it returns; node_upload_abort() discards it (NULL-safe).
 */
struct node_upload;
int node_upload_begin(struct node *n, const uint8_t *tags, size_t tags_len,
		      struct node_upload **ret_upload);
int node_upload_write(struct node_upload *u, const void *data, size_t len);
int node_upload_finish(struct node_upload *u, struct node_file_info *ret_info);

/*
 * node_upload_finish_lazy() - node_upload_finish(), except that the entry may become
 * durable only with the node's next durable write: for an entry that a KV transaction the
 * caller settles next (node_kv_write) refers to, which makes both durable. Until that
 * returns, the caller must not report the entry durable; a crash before it leaves the
 * entry settled or absent. A remote node does node_upload_finish().
 */
int node_upload_finish_lazy(struct node_upload *u, struct node_file_info *ret_info);
/* node_upload_read() - bytes [off, off + len) of what was written to the upload so far
 * (fewer at its end, *ret_len). The caller keeps one thread at a time on an upload. */
int node_upload_read(struct node_upload *u, uint64_t off, void *buf, size_t len,
		     size_t *ret_len);
void node_upload_abort(struct node_upload *u);
/*
 * node_upload_file() - upload the bytes of regular file fd, from offset 0 to its size, as
 * one entry: what begin, write and finish do with them. A remote node hashes the file where
 * it is and sends its segments from it (write() would copy every byte into a temporary
 * file first). The file must not change until this returns; fd is not closed. Returns as
 * node_upload_finish(), or -EOPNOTSUPP when fd is not a regular file or the node takes
 * uploads only as a stream (the in-process node): then use begin, write and finish.
 */
int node_upload_file(struct node *n, int fd, const uint8_t *tags, size_t tags_len,
		     struct node_file_info *ret_info);

/*
 * node_read() - bytes [offset, offset + len) of a finalized entry's data, verified.
 * Reading past the end returns fewer bytes (*ret_len). -ENOENT: no such entry; -EAGAIN:
 * not finalized; -EIO: stored bytes do not match the root (the log names the entry).
 */
int node_read(struct node *n, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
	      size_t *ret_len);

/*
 * node_segment() - segment `index` of an entry as zgs_downloadSegmentWithProof gives it:
 * the segment's bytes (the last one padded only to a whole chunk, as 0G sends it; buf
 * holds CODEC_SEGMENT_SIZE) and its proof against the entry's root over the padded
 * segment count.
 */
int node_segment(struct node *n, uint64_t tx_seq, uint64_t index, uint8_t *buf, size_t *ret_len,
		 struct codec_proof *ret_proof);

/* KV: one write of the key-value layer. */
struct node_put_item {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
};

/* A value read back. data is malloc'd (free it); NULL when len is 0. */
struct node_value {
	uint64_t version; /* tx seq of the write */
	uint8_t *data;
	size_t len;
};

/*
 * node_kv_write() - write items to a stream in one KV transaction (atomic), settle it, and
 * wait until the KV layer has replayed it. Returns 0 when it committed; -EACCES, -ESTALE
 * (version conflict) or -EINVAL (malformed) when the KV layer rejected it, with the tx seq
 * in *ret_tx_seq either way (may be NULL).
 */
int node_kv_write(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		  const struct node_put_item *items, size_t nitems, uint64_t *ret_tx_seq);

/* node_kv_read() - the latest value of key; -ENOENT if never written. */
int node_kv_read(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], const uint8_t *key,
		 size_t key_len, struct node_value *ret_value);

/* node_kv_read_at() - the value key had right after tx seq `version` (an empty value for a
 * deletion); -ENOENT if it had none then. */
int node_kv_read_at(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		    const uint8_t *key, size_t key_len, uint64_t version,
		    struct node_value *ret_value);

/*
 * node_kv_list() - keys of a stream in byte order, from the key `from` on (inclusive; NULL:
 * from the first), with their latest values, calling fn for each until it returns non-zero
 * or max keys were listed. Returns 0 or the first error.
 */
typedef int node_kv_list_fn(void *ctx, const uint8_t *key, size_t key_len,
			    const struct node_value *value);
int node_kv_list(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], const uint8_t *from,
		 size_t from_len, size_t max, node_kv_list_fn *fn, void *ctx);

/* node_kv_list_at() - node_kv_list() as the stream stood right after tx seq `version`
 * (UINT64_MAX: the latest): keys deleted by then are passed over, values are those of
 * then. */
int node_kv_list_at(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], const uint8_t *from,
		    size_t from_len, uint64_t version, size_t max, node_kv_list_fn *fn, void *ctx);

/* node_kv_versions() - every version of a key, oldest first: fn gets (version, size). */
typedef int node_kv_version_fn(void *ctx, uint64_t version, uint64_t size);
int node_kv_versions(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		     const uint8_t *key, size_t key_len, node_kv_version_fn *fn, void *ctx);

/*
 * node_prune() - drop this node's copy of the bytes of finalized entry tx_seq (it stays
 * settled on chain): node_store_prune() for a node in this process; -ENOTSUP for a remote
 * one. *ret_bytes (may be NULL): the entry's length when this call dropped it, else 0.
 * The caller decides that nothing still needs the entry (fs/prune.h).
 */
int node_prune(struct node *n, uint64_t tx_seq, uint64_t *ret_bytes);

/* ---- A node in this process: its parts, for the daemon and maintenance commands ---- */

struct node_store; /* node/store/store.h */
struct node_kv;	   /* node/kv/kv.h */

/* The store and the KV state of a node opened with node_open_local(); NULL for a remote
 * node. Owned by the node, valid until node_close(). */
struct node_store *node_local_store(struct node *n);
struct node_kv *node_local_kv(struct node *n);

/* What node_open_local() found and did after a crash; NULL for a remote node. */
struct node_recovery {
	uint64_t committed; /* sealed uploads found settled on the ledger and committed */
	uint64_t dropped;   /* sealed uploads never settled, dropped */
};
const struct node_recovery *node_local_recovery(struct node *n);

/*
 * node_local_kv_verify() - rebuild the KV state from the log in a scratch directory (inside
 * the data directory) and return both digests: the live state's and the rebuilt one's, over
 * the first *ret_entries entries. Equal digests mean the live state is exactly a replay.
 * -EINVAL for a remote node.
 */
int node_local_kv_verify(struct node *n, uint64_t *ret_entries, uint8_t ret_live[32],
			 uint8_t ret_replayed[32]);

#endif
