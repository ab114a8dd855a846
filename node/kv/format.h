/*
 * kv_format.h - the 0G-KV stream format: one KV transaction, serialized as the data of a
 * log entry, and the entry tags that mark such an entry and name its streams.
 *
 * Payload (all integers big-endian), as the 0G SDK's StreamData.encode() writes it and
 * 0G's KV node (node/stream/src/stream_manager/stream_replayer.rs) reads it:
 *
 *   u64 version
 *   u32 nReads,  nReads  x { streamId[32], u24 keyLen, key }
 *   u32 nWrites, nWrites x { streamId[32], u24 keyLen, key, u64 dataLen }
 *   the nWrites values, concatenated in the same order
 *   u32 nAcl,    nAcl    x { u8 op, streamId[32], [u24 keyLen, key], [account[20]] }
 *
 * Which ACL ops carry a key and which an account is fixed by the op (see the table at
 * enum node_kv_acl_op); renounce ops name no account: it is the sender of the entry.
 *
 * Tags: SHA256("STREAM") followed by one 32-byte stream id per stream the entry touches.
 *
 * Guarantees: pure computation on caller memory, no I/O, no global state; every function
 * is thread-safe. The decoder checks every length against the bytes that remain before it
 * reads or allocates anything, so no input can make it read out of bounds or allocate more
 * than a small multiple of the input's size. A decoded transaction points into the
 * caller's buffer (keys, values, stream ids and accounts are not copied): the buffer must
 * outlive it. Functions return 0 or a negative code: -errno, or -NODE_KV_E* below.
 */
#ifndef NODE_KV_FORMAT_H
#define NODE_KV_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_KV_STREAM_ID_SIZE 32
#define NODE_KV_ADDRESS_SIZE   20

/* Protocol limits, the same in 0G's SDK (kv/constants.js) and node (MAX_SIZE_LEN). */
#define NODE_KV_MAX_SET_SIZE 65536	      /* items in each of the three sets */
#define NODE_KV_MAX_KEY_SIZE ((1u << 24) - 1) /* a key's length is a u24; at least 1 */

/* The tag prefix of a KV entry: SHA256("STREAM"). */
#define NODE_KV_STREAM_DOMAIN_SIZE 32
extern const uint8_t node_kv_stream_domain[NODE_KV_STREAM_DOMAIN_SIZE];

/*
 * ACL ops and what follows the stream id of each (0G's AccessControlOps):
 *   GRANT_ADMIN, GRANT_WRITER, REVOKE_WRITER          account
 *   SET_KEY_SPECIAL, SET_KEY_NORMAL                   key
 *   GRANT_SPECIAL_WRITER, REVOKE_SPECIAL_WRITER       key, account
 *   RENOUNCE_SPECIAL_WRITER                           key
 *   RENOUNCE_ADMIN, RENOUNCE_WRITER                   nothing
 */
enum node_kv_acl_op {
	NODE_KV_GRANT_ADMIN = 0x00,
	NODE_KV_RENOUNCE_ADMIN = 0x01,
	NODE_KV_SET_KEY_SPECIAL = 0x10,
	NODE_KV_SET_KEY_NORMAL = 0x11,
	NODE_KV_GRANT_WRITER = 0x20,
	NODE_KV_REVOKE_WRITER = 0x21,
	NODE_KV_RENOUNCE_WRITER = 0x22,
	NODE_KV_GRANT_SPECIAL_WRITER = 0x30,
	NODE_KV_REVOKE_SPECIAL_WRITER = 0x31,
	NODE_KV_RENOUNCE_SPECIAL_WRITER = 0x32,
};

/*
 * The KV codes of the node layer. They sit in 12800..12899, above errno, the codec's
 * (4096..) and the chain's (8192..) codes. Codes are only ever appended.
 */
enum node_kv_error {
	NODE_KV_EFIRST = 12800,
	NODE_KV_ETRUNCATED, /* the payload ends inside a field */
	NODE_KV_ETOO_MANY,  /* a set declares more than NODE_KV_MAX_SET_SIZE items */
	NODE_KV_EKEY_EMPTY, /* a key of length 0 */
	NODE_KV_EVALUES,    /* the values' declared lengths run past the end of the payload */
	NODE_KV_EACL_OP,    /* an ACL op code that 0G does not define */
	NODE_KV_ETRAILING,  /* bytes after the last ACL op */
	NODE_KV_ELAST,
};

/* A message for any code a node_kv_* function returns (or any -errno). Never NULL. */
const char *node_kv_strerror(int err);

struct node_kv_read {
	const uint8_t *stream_id; /* NODE_KV_STREAM_ID_SIZE bytes */
	const uint8_t *key;
	uint32_t key_len; /* 1..NODE_KV_MAX_KEY_SIZE */
};

struct node_kv_write {
	const uint8_t *stream_id;
	const uint8_t *key;
	uint32_t key_len;
	const uint8_t *data; /* may be NULL when data_len is 0 */
	uint64_t data_len;   /* 0 is a valid value: 0G treats an empty value as a deletion */
};

struct node_kv_acl {
	uint8_t op; /* enum node_kv_acl_op */
	const uint8_t *stream_id;
	const uint8_t *key; /* NULL (and key_len 0) for ops without a key */
	uint32_t key_len;
	const uint8_t *account; /* NODE_KV_ADDRESS_SIZE bytes; NULL for ops without one */
};

/*
 * One KV transaction. Decoded: the three arrays are allocated (node_kv_tx_release() frees
 * them), what they point to is in the decoded buffer. For encoding: the caller fills it
 * with its own arrays and pointers and never calls release.
 */
struct node_kv_tx {
	uint64_t version;
	uint32_t n_reads, n_writes, n_acls;
	struct node_kv_read *reads;
	struct node_kv_write *writes;
	struct node_kv_acl *acls;
};

/* How far node_kv_tx_decode_prefix() decodes. */
enum node_kv_section {
	NODE_KV_SECTION_READS,	/* version and read set */
	NODE_KV_SECTION_WRITES, /* ... and the write set with its values */
	NODE_KV_SECTION_ALL,	/* ... and the ACL set, and nothing may follow */
};

/*
 * node_kv_tx_decode() - decode a whole payload.
 * @data, @len: the entry's bytes, exactly (0G pads entries to whole chunks in the flow; the
 *              padding is not part of the payload)
 * @ret_tx:     the transaction; written only on success; release with node_kv_tx_release()
 *
 * Returns 0; -NODE_KV_ETRUNCATED, -NODE_KV_ETOO_MANY, -NODE_KV_EKEY_EMPTY,
 * -NODE_KV_EVALUES, -NODE_KV_EACL_OP or -NODE_KV_ETRAILING for a malformed payload (the
 * first problem met, reading front to back); -ENOMEM.
 */
__attribute__((warn_unused_result)) int node_kv_tx_decode(const uint8_t *data, size_t len,
							  struct node_kv_tx *ret_tx);

/*
 * node_kv_tx_decode_prefix() - decode only up to and including section @upto, with the
 * same checks as node_kv_tx_decode(); what follows that section is not looked at. The
 * sets after @upto are empty in *ret_tx. Replay uses it to check the sets in the order
 * 0G's node parses and validates them (reads, then writes, then ACL), so that a payload
 * that is both conflicting and malformed gets the same result as on 0G.
 */
__attribute__((warn_unused_result)) int node_kv_tx_decode_prefix(const uint8_t *data, size_t len,
								 enum node_kv_section upto,
								 struct node_kv_tx *ret_tx);

/* Frees a decoded transaction's arrays and zeroes it. NULL-safe; safe to call twice. */
void node_kv_tx_release(struct node_kv_tx *tx);

/*
 * node_kv_tx_encoded_size() - bytes node_kv_tx_encode() writes for tx, after checking tx
 * the way the decoder would: -NODE_KV_ETOO_MANY for a set over NODE_KV_MAX_SET_SIZE,
 * -NODE_KV_EKEY_EMPTY / -E2BIG for a key of length 0 / over NODE_KV_MAX_KEY_SIZE,
 * -NODE_KV_EACL_OP for an unknown op, -EINVAL for a NULL pointer where the format needs
 * bytes, or a key or account given to an op that carries none, -EOVERFLOW when the size
 * does not fit in 64 bits.
 */
__attribute__((warn_unused_result)) int node_kv_tx_encoded_size(const struct node_kv_tx *tx,
								uint64_t *ret_size);

/*
 * node_kv_tx_encode() - serialize tx into buf (cap bytes). Same checks as
 * node_kv_tx_encoded_size(); -ENOSPC when cap is too small (nothing meaningful written).
 * The bytes are identical to the 0G SDK's StreamData.encode() for the same items in the
 * same order.
 */
__attribute__((warn_unused_result)) int node_kv_tx_encode(const struct node_kv_tx *tx, uint8_t *buf,
							  size_t cap, size_t *ret_len);

/* ACL op properties. Unknown ops: not valid, no key, no account, name "UNKNOWN". */
bool node_kv_acl_op_valid(uint8_t op);
bool node_kv_acl_op_has_key(uint8_t op);
bool node_kv_acl_op_has_account(uint8_t op);
const char *node_kv_acl_op_name(uint8_t op); /* 0G's names: "GRANT_ADMIN_ROLE", ... */

/*
 * Tags. An entry is a KV transaction when its tags are SHA256("STREAM") followed by at
 * least one stream id: the length is a multiple of 32 and at least 64 (0G's
 * submission_topic_to_stream_ids(), and its replayer skips an entry with no stream id).
 * Stream ids may repeat; they are listed as given.
 */
bool node_kv_tags_is_kv(const uint8_t *tags, size_t tags_len);

/* Number of stream ids in KV tags; 0 when the tags are not a KV transaction's. */
size_t node_kv_tags_stream_count(const uint8_t *tags, size_t tags_len);

/* The i-th stream id of KV tags (points into tags); NULL when out of range or not KV. */
const uint8_t *node_kv_tags_stream_id(const uint8_t *tags, size_t tags_len, size_t i);

/* Bytes of the tags for n stream ids: 32 * (n + 1). */
size_t node_kv_tags_size(size_t n);

/*
 * node_kv_tags_build() - SHA256("STREAM") followed by the n stream ids (n * 32 bytes at
 * ids) into buf. Returns 0, -EINVAL for n == 0 or NULL ids, -ENOSPC when cap is too small.
 */
__attribute__((warn_unused_result)) int
node_kv_tags_build(const uint8_t *ids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len);

#endif
