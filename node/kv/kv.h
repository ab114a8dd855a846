/*
 * kv.h - the node's KV state: a materialized view of the log, built by replaying every
 * entry in tx-seq order with 0G's KV rules, and the queries 0G's KV node answers
 * (kv_getValue, kv_getNext/Prev/First/Last, kv_getTransactionResult, kv_isAdmin, ...).
 *
 * Replay (node_kv_apply): an entry whose tags are not a KV transaction's (kv_format.h) is
 * recorded as skipped; a KV transaction is checked as 0G's node checks it and either
 * committed or rejected, and its result recorded. The version of everything a transaction
 * commits is its tx seq. docs/KV.md gives the rules with their sources in 0G's code.
 *
 * Guarantees:
 * - Deterministic: the state depends only on the sequence of applied entries. Deleting the
 *   directory and applying the same entries again gives the same node_kv_digest().
 * - Atomic and durable: one apply (its writes, ACL changes, result and the next-seq
 *   pointer) is one synced leveldb write batch; after SIGKILL either all of it is there or
 *   none of it, and an apply that returned 0 is there.
 * - History is kept: every query takes a version (a tx seq; NODE_KV_LATEST for the
 *   latest) and answers as of the state right after that tx.
 * - Bounded: caller-controlled sizes are capped by node/limits.h (NODE_KV_*).
 * - Thread-safe: every function may be called from any thread on one struct node_kv; a
 *   mutex serializes them.
 *
 * All functions return 0 or a negative code (-errno, or -NODE_KV_E* from kv_format.h) and
 * write ret_ parameters only on success. -EIO means leveldb failed (corruption, disk).
 * Values are stored in the KV leveldb itself, next to the index, so the state directory is
 * self-contained.
 */
#ifndef NODE_KV_H
#define NODE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/kv/format.h"
#include "node/limits.h"

#define NODE_KV_LATEST UINT64_MAX /* the version argument meaning "latest" */

struct node_kv;

/*
 * node_kv_open() - open (creating it if needed) the KV state in directory dir, whose
 * parent must exist. -EBUSY when another process has it open; -EIO for a damaged or
 * foreign database.
 */
int node_kv_open(const char *dir, struct node_kv **ret_kv);

/* Closes it. NULL-safe. No other call on kv may be running or follow. */
void node_kv_close(struct node_kv *kv);

/* What happened to one entry. Names are 0G's ReplayResult variants, plus "Skipped" for the
 * entries 0G's replayer passes over without recording anything. */
enum node_kv_outcome {
	NODE_KV_COMMIT,
	NODE_KV_DATA_PARSE_ERROR,
	NODE_KV_VERSION_CONFLICTION,
	NODE_KV_TAGS_MISMATCH,
	NODE_KV_WRITE_PERMISSION_DENIED,
	NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED,
	NODE_KV_SKIPPED,
};

/* "Commit", "DataParseError", "VersionConfliction", "TagsMismatch",
 * "WritePermissionDenied", "AccessControlPermissionDenied", "Skipped"; never NULL. */
const char *node_kv_outcome_name(enum node_kv_outcome outcome);

/*
 * node_kv_apply() - replay one log entry.
 * @tx_seq:   must be exactly the next seq (node_kv_next_tx_seq(); 0 on a new state), else
 *            -EINVAL and nothing changes; every entry of the log is applied, KV or not
 * @sender:   the submitter of the entry (NODE_KV_ADDRESS_SIZE bytes)
 * @tags:     the entry's tags (may be NULL when tags_len is 0)
 * @data:     the entry's bytes, exactly its length; not read (may be NULL) when the tags
 *            are not a KV transaction's, or when len > NODE_KV_TX_MAX
 * @ret_outcome: the recorded outcome; may be NULL
 *
 * Returns 0 once the outcome is recorded, whatever it is (a rejected transaction is a
 * normal outcome, not an error); -EINVAL (out of order, NULL sender, NULL data that had
 * to be read), -ENOMEM, -EIO.
 */
__attribute__((warn_unused_result)) int
node_kv_apply(struct node_kv *kv, uint64_t tx_seq, const uint8_t *sender, const uint8_t *tags,
	      size_t tags_len, const uint8_t *data, size_t len, enum node_kv_outcome *ret_outcome);

/*
 * node_kv_set_lazy() - apply without syncing. The state is a view of the log, so a
 * caller that replays the log from node_kv_next_tx_seq() after a crash (the node does, at
 * open) loses nothing; it saves a sync per entry. Each apply stays atomic. Default: off.
 */
void node_kv_set_lazy(struct node_kv *kv, bool lazy);

/* The seq node_kv_apply() expects next: the number of entries applied. */
int node_kv_next_tx_seq(struct node_kv *kv, uint64_t *ret_seq);

/* The recorded result of entry tx_seq: -ENOENT when it has not been applied yet. text is
 * 0G's result string ("Commit", "DataParseError: Invalid stream data",
 * "WritePermissionDenied: stream: 0x…, key: …", ...), NUL-terminated, cut at the first
 * NUL byte of a key it quotes. */
struct node_kv_result {
	enum node_kv_outcome outcome;
	char text[NODE_KV_RESULT_TEXT_MAX];
};
int node_kv_result(struct node_kv *kv, uint64_t tx_seq, struct node_kv_result *ret_result);

/* A value, or a slice of it. data is malloc'd (NULL when len is 0). */
struct node_kv_value {
	uint64_t version; /* tx seq of the write that set it */
	uint64_t size;	  /* the whole value's size; 0 for a deleted (empty) value */
	uint8_t *data;	  /* bytes [start, start + len) of it */
	size_t len;
};
void node_kv_value_release(struct node_kv_value *v); /* NULL-safe; zeroes it */

/*
 * node_kv_get() - the value of (stream, key) as of version (kv_getValue): bytes
 * [start, min(start + len, size)). An empty value (0G's deletion) is returned with its
 * version and size 0. -ENOENT: never written at or before version; -EINVAL: empty key or
 * start > size; -E2BIG: key over NODE_KV_MAX_KEY_SIZE or len over NODE_KV_QUERY_MAX.
 */
int node_kv_get(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		uint64_t start, size_t len, uint64_t version, struct node_kv_value *ret_value);

/* A key and (a slice of) its value. key is malloc'd. */
struct node_kv_pair {
	uint8_t *key;
	size_t key_len;
	struct node_kv_value value;
};
void node_kv_pair_release(struct node_kv_pair *p); /* NULL-safe; zeroes it */

/*
 * Iteration over a stream's keys in byte order, as of version (kv_getNext, kv_getPrev,
 * kv_getFirst, kv_getLast): the first key after key (at or after it when inclusive), the
 * last key before it (at or before it when inclusive), the first key, the last key. Keys
 * whose value as of version is empty (deleted) are passed over, as 0G's node does. The
 * value is sliced by (start, len) as in node_kv_get(). -ENOENT: no such key; -EINVAL,
 * -E2BIG: as node_kv_get().
 */
int node_kv_get_next(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		     bool inclusive, uint64_t start, size_t len, uint64_t version,
		     struct node_kv_pair *ret_pair);
int node_kv_get_prev(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		     bool inclusive, uint64_t start, size_t len, uint64_t version,
		     struct node_kv_pair *ret_pair);
int node_kv_get_first(struct node_kv *kv, const uint8_t *stream, uint64_t start, size_t len,
		      uint64_t version, struct node_kv_pair *ret_pair);
int node_kv_get_last(struct node_kv *kv, const uint8_t *stream, uint64_t start, size_t len,
		     uint64_t version, struct node_kv_pair *ret_pair);

/*
 * node_kv_history() - every version of (stream, key), oldest first, for `zgfs kv history`.
 * fn is called once per version, under kv's lock (it must not call back into kv); a
 * non-zero return stops the walk and is returned. tx_seq equals version (0G versions are
 * tx seqs); size is the value's size, 0 for a deletion.
 */
struct node_kv_version {
	uint64_t version;
	uint64_t tx_seq;
	uint64_t size;
};
typedef int node_kv_history_fn(void *ctx, const struct node_kv_version *v);
int node_kv_history(struct node_kv *kv, const uint8_t *stream, const uint8_t *key, size_t key_len,
		    node_kv_history_fn *fn, void *ctx);

/*
 * ACL queries as of version, with 0G's meanings (kv_isAdmin, kv_isSpecialKey,
 * kv_isWriterOfKey, kv_isWriterOfStream, kv_hasWritePermission). account is
 * NODE_KV_ADDRESS_SIZE bytes, stream NODE_KV_STREAM_ID_SIZE. has_write_permission: true on
 * a stream no committed transaction has touched yet, for its admins, and otherwise for a
 * special key's special writers or a normal key's stream writers. Keys: -EINVAL when
 * empty, -E2BIG when over NODE_KV_MAX_KEY_SIZE.
 */
int node_kv_is_admin(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
		     uint64_t version, bool *ret_is);
int node_kv_is_special_key(struct node_kv *kv, const uint8_t *stream, const uint8_t *key,
			   size_t key_len, uint64_t version, bool *ret_is);
int node_kv_is_writer_of_key(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
			     const uint8_t *key, size_t key_len, uint64_t version, bool *ret_is);
int node_kv_is_writer_of_stream(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
				uint64_t version, bool *ret_is);
int node_kv_has_write_permission(struct node_kv *kv, const uint8_t *account, const uint8_t *stream,
				 const uint8_t *key, size_t key_len, uint64_t version,
				 bool *ret_has);

/*
 * node_kv_holding_stream_ids() - the streams this node replays (kv_getHoldingStreamIds):
 * all of them, so every stream id seen in the tags of a KV transaction, in byte order.
 * fn is called under kv's lock; a non-zero return stops the walk and is returned.
 */
typedef int node_kv_stream_fn(void *ctx, const uint8_t *stream);
int node_kv_holding_stream_ids(struct node_kv *kv, node_kv_stream_fn *fn, void *ctx);

/*
 * node_kv_digest() - keccak-256 over the whole state (every record, in key order, each as
 * u64 key length, key, u64 value length, value). Equal digests mean equal states.
 */
int node_kv_digest(struct node_kv *kv, uint8_t ret_digest[32]);

#endif
