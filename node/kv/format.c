/*
 * kv_format.c - decoder and encoder of the 0G-KV stream format.
 *
 * The decoder is a single forward pass over a cursor that knows how many bytes remain;
 * every read goes through cur_take(), which refuses to pass the end. Set counts are
 * checked twice before anything is allocated: against the protocol limit (what 0G reports
 * as "list too long"), and against the smallest number of bytes that many items could
 * occupy, so a short input cannot make us allocate 65,536 items.
 *
 * This file deliberately depends on nothing but libc: the fuzz target and the compat
 * helper compile it on its own. That is why SHA256("STREAM") is a constant here rather
 * than computed; tests/test_kv_format.c recomputes it with libsodium.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/kv/format.h"

/* SHA256("STREAM"), as 0G's kv_types::STREAM_DOMAIN and the SDK's kv/constants.js. */
const uint8_t node_kv_stream_domain[NODE_KV_STREAM_DOMAIN_SIZE] = {
    0xdf, 0x2f, 0xf3, 0xbb, 0x0a, 0xf3, 0x6c, 0x63, 0x84, 0xe6, 0x20, 0x65, 0x52, 0xa4, 0xed, 0x80,
    0x7f, 0x6f, 0x6a, 0x26, 0xe7, 0xd0, 0xaa, 0x6b, 0xff, 0x77, 0x2d, 0xdc, 0x9d, 0x43, 0x07, 0xaa,
};

/* Smallest encoded size of one item of each set (a key is at least one byte). */
#define READ_MIN  (NODE_KV_STREAM_ID_SIZE + 3 + 1)
#define WRITE_MIN (NODE_KV_STREAM_ID_SIZE + 3 + 1 + 8)
#define ACL_MIN	  (1 + NODE_KV_STREAM_ID_SIZE)

const char *node_kv_strerror(int err)
{
	switch (-err) {
	case NODE_KV_ETRUNCATED:
		return "KV transaction: data ends inside a field";
	case NODE_KV_ETOO_MANY:
		return "KV transaction: a read, write or ACL set has more than 65536 items";
	case NODE_KV_EKEY_EMPTY:
		return "KV transaction: empty key";
	case NODE_KV_EVALUES:
		return "KV transaction: the values' lengths run past the end of the data";
	case NODE_KV_EACL_OP:
		return "KV transaction: unknown ACL operation";
	case NODE_KV_ETRAILING:
		return "KV transaction: bytes after the last ACL operation";
	default:
		return err < 0 && -err < 4096 ? strerror(-err) : "unknown error";
	}
}

bool node_kv_acl_op_valid(uint8_t op)
{
	switch (op) {
	case NODE_KV_GRANT_ADMIN:
	case NODE_KV_RENOUNCE_ADMIN:
	case NODE_KV_SET_KEY_SPECIAL:
	case NODE_KV_SET_KEY_NORMAL:
	case NODE_KV_GRANT_WRITER:
	case NODE_KV_REVOKE_WRITER:
	case NODE_KV_RENOUNCE_WRITER:
	case NODE_KV_GRANT_SPECIAL_WRITER:
	case NODE_KV_REVOKE_SPECIAL_WRITER:
	case NODE_KV_RENOUNCE_SPECIAL_WRITER:
		return true;
	default:
		return false;
	}
}

bool node_kv_acl_op_has_key(uint8_t op)
{
	return op == NODE_KV_SET_KEY_SPECIAL || op == NODE_KV_SET_KEY_NORMAL ||
	       op == NODE_KV_GRANT_SPECIAL_WRITER || op == NODE_KV_REVOKE_SPECIAL_WRITER ||
	       op == NODE_KV_RENOUNCE_SPECIAL_WRITER;
}

bool node_kv_acl_op_has_account(uint8_t op)
{
	return op == NODE_KV_GRANT_ADMIN || op == NODE_KV_GRANT_WRITER ||
	       op == NODE_KV_REVOKE_WRITER || op == NODE_KV_GRANT_SPECIAL_WRITER ||
	       op == NODE_KV_REVOKE_SPECIAL_WRITER;
}

const char *node_kv_acl_op_name(uint8_t op)
{
	switch (op) {
	case NODE_KV_GRANT_ADMIN:
		return "GRANT_ADMIN_ROLE";
	case NODE_KV_RENOUNCE_ADMIN:
		return "RENOUNCE_ADMIN_ROLE";
	case NODE_KV_SET_KEY_SPECIAL:
		return "SET_KEY_TO_SPECIAL";
	case NODE_KV_SET_KEY_NORMAL:
		return "SET_KEY_TO_NORMAL";
	case NODE_KV_GRANT_WRITER:
		return "GRANT_WRITER_ROLE";
	case NODE_KV_REVOKE_WRITER:
		return "REVOKE_WRITER_ROLE";
	case NODE_KV_RENOUNCE_WRITER:
		return "RENOUNCE_WRITER_ROLE";
	case NODE_KV_GRANT_SPECIAL_WRITER:
		return "GRANT_SPECIAL_WRITER_ROLE";
	case NODE_KV_REVOKE_SPECIAL_WRITER:
		return "REVOKE_SPECIAL_WRITER_ROLE";
	case NODE_KV_RENOUNCE_SPECIAL_WRITER:
		return "RENOUNCE_SPECIAL_WRITER_ROLE";
	default:
		return "UNKNOWN";
	}
}

/* ---- decoding ---- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *cur_take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static uint64_t be_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int cur_uint(struct cursor *c, unsigned n, uint64_t *ret)
{
	const uint8_t *p = cur_take(c, n);

	if (!p)
		return -NODE_KV_ETRUNCATED;
	*ret = be_get(p, n);
	return 0;
}

/* A set's count: the protocol limit first (0G's ListTooLong), then whether that many
 * items could fit in what is left at all. */
static int cur_count(struct cursor *c, size_t item_min, uint32_t *ret)
{
	uint64_t n;
	int r = cur_uint(c, 4, &n);

	if (r < 0)
		return r;
	if (n > NODE_KV_MAX_SET_SIZE)
		return -NODE_KV_ETOO_MANY;
	if (n * item_min > c->left)
		return -NODE_KV_ETRUNCATED;
	*ret = (uint32_t)n;
	return 0;
}

static int cur_key(struct cursor *c, const uint8_t **ret_key, uint32_t *ret_len)
{
	uint64_t n;
	const uint8_t *k;
	int r = cur_uint(c, 3, &n);

	if (r < 0)
		return r;
	if (n == 0)
		return -NODE_KV_EKEY_EMPTY;
	k = cur_take(c, n);
	if (!k)
		return -NODE_KV_ETRUNCATED;
	*ret_key = k;
	*ret_len = (uint32_t)n;
	return 0;
}

static int cur_stream(struct cursor *c, const uint8_t **ret)
{
	const uint8_t *p = cur_take(c, NODE_KV_STREAM_ID_SIZE);

	if (!p)
		return -NODE_KV_ETRUNCATED;
	*ret = p;
	return 0;
}

static int decode_reads(struct cursor *c, struct node_kv_tx *tx)
{
	int r = cur_count(c, READ_MIN, &tx->n_reads);

	if (r < 0 || tx->n_reads == 0)
		return r;
	tx->reads = calloc(tx->n_reads, sizeof(*tx->reads));
	if (!tx->reads)
		return -ENOMEM;
	for (uint32_t i = 0; i < tx->n_reads; i++) {
		struct node_kv_read *rd = &tx->reads[i];

		r = cur_stream(c, &rd->stream_id);
		if (r == 0)
			r = cur_key(c, &rd->key, &rd->key_len);
		if (r < 0)
			return r;
	}
	return 0;
}

static int decode_writes(struct cursor *c, struct node_kv_tx *tx)
{
	int r = cur_count(c, WRITE_MIN, &tx->n_writes);

	if (r < 0 || tx->n_writes == 0)
		return r;
	tx->writes = calloc(tx->n_writes, sizeof(*tx->writes));
	if (!tx->writes)
		return -ENOMEM;
	for (uint32_t i = 0; i < tx->n_writes; i++) {
		struct node_kv_write *w = &tx->writes[i];

		r = cur_stream(c, &w->stream_id);
		if (r == 0)
			r = cur_key(c, &w->key, &w->key_len);
		if (r == 0)
			r = cur_uint(c, 8, &w->data_len);
		if (r < 0)
			return r;
	}
	/* The values follow all the metadata, in the same order. Each length is checked
	 * against what is left, so their sum cannot overflow. */
	for (uint32_t i = 0; i < tx->n_writes; i++) {
		struct node_kv_write *w = &tx->writes[i];

		if (w->data_len > c->left)
			return -NODE_KV_EVALUES;
		w->data = cur_take(c, (size_t)w->data_len);
	}
	return 0;
}

static int decode_acls(struct cursor *c, struct node_kv_tx *tx)
{
	int r = cur_count(c, ACL_MIN, &tx->n_acls);

	if (r < 0 || tx->n_acls == 0)
		return r;
	tx->acls = calloc(tx->n_acls, sizeof(*tx->acls));
	if (!tx->acls)
		return -ENOMEM;
	for (uint32_t i = 0; i < tx->n_acls; i++) {
		struct node_kv_acl *a = &tx->acls[i];
		const uint8_t *op = cur_take(c, 1);

		if (!op)
			return -NODE_KV_ETRUNCATED;
		a->op = *op;
		/* Checked before the stream id, where 0G's parser checks it. */
		if (!node_kv_acl_op_valid(a->op))
			return -NODE_KV_EACL_OP;
		r = cur_stream(c, &a->stream_id);
		if (r == 0 && node_kv_acl_op_has_key(a->op))
			r = cur_key(c, &a->key, &a->key_len);
		if (r < 0)
			return r;
		if (node_kv_acl_op_has_account(a->op)) {
			a->account = cur_take(c, NODE_KV_ADDRESS_SIZE);
			if (!a->account)
				return -NODE_KV_ETRUNCATED;
		}
	}
	return 0;
}

int node_kv_tx_decode_prefix(const uint8_t *data, size_t len, enum node_kv_section upto,
			     struct node_kv_tx *ret_tx)
{
	struct cursor c = {data, len};
	struct node_kv_tx tx = {0};
	int r;

	if (!data && len)
		return -EINVAL;
	r = cur_uint(&c, 8, &tx.version);
	if (r == 0)
		r = decode_reads(&c, &tx);
	if (r == 0 && upto >= NODE_KV_SECTION_WRITES)
		r = decode_writes(&c, &tx);
	if (r == 0 && upto >= NODE_KV_SECTION_ALL) {
		r = decode_acls(&c, &tx);
		if (r == 0 && c.left)
			r = -NODE_KV_ETRAILING;
	}
	if (r < 0) {
		node_kv_tx_release(&tx);
		return r;
	}
	*ret_tx = tx;
	return 0;
}

int node_kv_tx_decode(const uint8_t *data, size_t len, struct node_kv_tx *ret_tx)
{
	return node_kv_tx_decode_prefix(data, len, NODE_KV_SECTION_ALL, ret_tx);
}

void node_kv_tx_release(struct node_kv_tx *tx)
{
	if (!tx)
		return;
	free(tx->reads);
	free(tx->writes);
	free(tx->acls);
	memset(tx, 0, sizeof(*tx));
}

/* ---- encoding ---- */

static int check_key(const uint8_t *key, uint32_t len)
{
	if (len == 0)
		return -NODE_KV_EKEY_EMPTY;
	if (len > NODE_KV_MAX_KEY_SIZE)
		return -E2BIG;
	return key ? 0 : -EINVAL;
}

static int add_size(uint64_t *total, uint64_t n)
{
	if (*total > UINT64_MAX - n)
		return -EOVERFLOW;
	*total += n;
	return 0;
}

int node_kv_tx_encoded_size(const struct node_kv_tx *tx, uint64_t *ret_size)
{
	uint64_t size = 8 + 4 + 4 + 4;
	int r = 0;

	if (!tx)
		return -EINVAL;
	if (tx->n_reads > NODE_KV_MAX_SET_SIZE || tx->n_writes > NODE_KV_MAX_SET_SIZE ||
	    tx->n_acls > NODE_KV_MAX_SET_SIZE)
		return -NODE_KV_ETOO_MANY;
	if ((tx->n_reads && !tx->reads) || (tx->n_writes && !tx->writes) ||
	    (tx->n_acls && !tx->acls))
		return -EINVAL;
	for (uint32_t i = 0; i < tx->n_reads && r == 0; i++) {
		const struct node_kv_read *rd = &tx->reads[i];

		r = rd->stream_id ? check_key(rd->key, rd->key_len) : -EINVAL;
		if (r == 0)
			r = add_size(&size, READ_MIN - 1 + (uint64_t)rd->key_len);
	}
	for (uint32_t i = 0; i < tx->n_writes && r == 0; i++) {
		const struct node_kv_write *w = &tx->writes[i];

		r = w->stream_id ? check_key(w->key, w->key_len) : -EINVAL;
		if (r == 0 && w->data_len && !w->data)
			r = -EINVAL;
		if (r == 0)
			r = add_size(&size, WRITE_MIN - 1 + (uint64_t)w->key_len);
		if (r == 0)
			r = add_size(&size, w->data_len);
	}
	for (uint32_t i = 0; i < tx->n_acls && r == 0; i++) {
		const struct node_kv_acl *a = &tx->acls[i];

		if (!node_kv_acl_op_valid(a->op))
			return -NODE_KV_EACL_OP;
		if (!a->stream_id)
			return -EINVAL;
		if (node_kv_acl_op_has_key(a->op))
			r = check_key(a->key, a->key_len);
		else if (a->key || a->key_len)
			r = -EINVAL;
		if (r == 0 && node_kv_acl_op_has_account(a->op) != (a->account != NULL))
			r = -EINVAL;
		if (r == 0)
			r = add_size(&size, ACL_MIN);
		if (r == 0 && a->key_len)
			r = add_size(&size, 3 + (uint64_t)a->key_len);
		if (r == 0 && a->account)
			r = add_size(&size, NODE_KV_ADDRESS_SIZE);
	}
	if (r < 0)
		return r;
	*ret_size = size;
	return 0;
}

static uint8_t *be_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p + n;
}

static uint8_t *put_bytes(uint8_t *p, const uint8_t *src, size_t n)
{
	if (n)
		memcpy(p, src, n);
	return p + n;
}

static uint8_t *put_key(uint8_t *p, const uint8_t *key, uint32_t len)
{
	p = be_put(p, len, 3);
	return put_bytes(p, key, len);
}

int node_kv_tx_encode(const struct node_kv_tx *tx, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint64_t size;
	uint8_t *p = buf;
	int r = node_kv_tx_encoded_size(tx, &size);

	if (r < 0)
		return r;
	if (size > cap || !buf)
		return -ENOSPC;
	p = be_put(p, tx->version, 8);
	p = be_put(p, tx->n_reads, 4);
	for (uint32_t i = 0; i < tx->n_reads; i++) {
		p = put_bytes(p, tx->reads[i].stream_id, NODE_KV_STREAM_ID_SIZE);
		p = put_key(p, tx->reads[i].key, tx->reads[i].key_len);
	}
	p = be_put(p, tx->n_writes, 4);
	for (uint32_t i = 0; i < tx->n_writes; i++) {
		p = put_bytes(p, tx->writes[i].stream_id, NODE_KV_STREAM_ID_SIZE);
		p = put_key(p, tx->writes[i].key, tx->writes[i].key_len);
		p = be_put(p, tx->writes[i].data_len, 8);
	}
	for (uint32_t i = 0; i < tx->n_writes; i++)
		p = put_bytes(p, tx->writes[i].data, (size_t)tx->writes[i].data_len);
	p = be_put(p, tx->n_acls, 4);
	for (uint32_t i = 0; i < tx->n_acls; i++) {
		const struct node_kv_acl *a = &tx->acls[i];

		*p++ = a->op;
		p = put_bytes(p, a->stream_id, NODE_KV_STREAM_ID_SIZE);
		if (node_kv_acl_op_has_key(a->op))
			p = put_key(p, a->key, a->key_len);
		if (node_kv_acl_op_has_account(a->op))
			p = put_bytes(p, a->account, NODE_KV_ADDRESS_SIZE);
	}
	*ret_len = (size_t)(p - buf);
	return 0;
}

/* ---- tags ---- */

size_t node_kv_tags_stream_count(const uint8_t *tags, size_t tags_len)
{
	if (!tags || tags_len < 2 * NODE_KV_STREAM_DOMAIN_SIZE ||
	    tags_len % NODE_KV_STREAM_ID_SIZE != 0 ||
	    memcmp(tags, node_kv_stream_domain, NODE_KV_STREAM_DOMAIN_SIZE) != 0)
		return 0;
	return tags_len / NODE_KV_STREAM_ID_SIZE - 1;
}

bool node_kv_tags_is_kv(const uint8_t *tags, size_t tags_len)
{
	return node_kv_tags_stream_count(tags, tags_len) > 0;
}

const uint8_t *node_kv_tags_stream_id(const uint8_t *tags, size_t tags_len, size_t i)
{
	if (i >= node_kv_tags_stream_count(tags, tags_len))
		return NULL;
	return tags + NODE_KV_STREAM_DOMAIN_SIZE + i * NODE_KV_STREAM_ID_SIZE;
}

size_t node_kv_tags_size(size_t n)
{
	return NODE_KV_STREAM_DOMAIN_SIZE + n * NODE_KV_STREAM_ID_SIZE;
}

int node_kv_tags_build(const uint8_t *ids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t need;

	if (!ids || n == 0 || n > (SIZE_MAX - NODE_KV_STREAM_DOMAIN_SIZE) / NODE_KV_STREAM_ID_SIZE)
		return -EINVAL;
	need = node_kv_tags_size(n);
	if (!buf || cap < need)
		return -ENOSPC;
	memcpy(buf, node_kv_stream_domain, NODE_KV_STREAM_DOMAIN_SIZE);
	memcpy(buf + NODE_KV_STREAM_DOMAIN_SIZE, ids, n * NODE_KV_STREAM_ID_SIZE);
	*ret_len = need;
	return 0;
}
