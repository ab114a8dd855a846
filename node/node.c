/* The node interface: dispatch to the implementation behind each struct node. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "codec/errors.h"
#include "node/kv/format.h"
#include "node/limits.h"
#include "node/node_i.h"

const char *node_strerror(int err)
{
	int e = err < 0 ? -err : err;

	if (e >= NODE_KV_EFIRST)
		return node_kv_strerror(err);
	if (e >= CHAIN_EFIRST)
		return chain_strerror(err);
	/* The system's words for these say nothing of what the node means by them. */
	switch (e) {
	case EXDEV:
		return "segment belongs to another shard than this node keeps";
	case EREMOTE:
		return "segment is kept by another shard";
	case EHOSTUNREACH:
		return "no node that keeps the data could be reached";
	}
	return codec_strerror(err);
}

void node_close(struct node *n)
{
	if (n)
		n->ops->close(n);
}

int node_status(struct node *n, struct node_status *ret_status)
{
	return n->ops->status(n, ret_status);
}

int node_file_info_by_seq(struct node *n, uint64_t tx_seq, struct node_file_info *ret_info)
{
	return n->ops->file_info_by_seq(n, tx_seq, ret_info);
}

int node_file_info_by_root(struct node *n, const uint8_t root[CODEC_HASH_SIZE],
			   struct node_file_info *ret_info)
{
	return n->ops->file_info_by_root(n, root, ret_info);
}

int node_upload_begin(struct node *n, const uint8_t *tags, size_t tags_len,
		      struct node_upload **ret_upload)
{
	if (tags_len > CHAIN_TAGS_MAX)
		return -E2BIG;
	return n->ops->upload_begin(n, tags, tags_len, ret_upload);
}

int node_upload_write(struct node_upload *u, const void *data, size_t len)
{
	return u->node->ops->upload_write(u, data, len);
}

int node_upload_read(struct node_upload *u, uint64_t off, void *buf, size_t len,
		     size_t *ret_len)
{
	return u->node->ops->upload_read(u, off, buf, len, ret_len);
}

int node_upload_finish(struct node_upload *u, struct node_file_info *ret_info)
{
	return u->node->ops->upload_finish(u, ret_info);
}

int node_upload_finish_lazy(struct node_upload *u, struct node_file_info *ret_info)
{
	const struct node_ops *ops = u->node->ops;

	return ops->upload_finish_lazy ? ops->upload_finish_lazy(u, ret_info)
				       : ops->upload_finish(u, ret_info);
}

int node_upload_file(struct node *n, int fd, const uint8_t *tags, size_t tags_len,
		     struct node_file_info *ret_info)
{
	if (tags_len > CHAIN_TAGS_MAX)
		return -E2BIG;
	return n->ops->upload_file ? n->ops->upload_file(n, fd, tags, tags_len, ret_info)
				   : -EOPNOTSUPP;
}

void node_upload_abort(struct node_upload *u)
{
	if (u)
		u->node->ops->upload_abort(u);
}

int node_read(struct node *n, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
	      size_t *ret_len)
{
	return n->ops->read(n, tx_seq, offset, buf, len, ret_len);
}

int node_segment(struct node *n, uint64_t tx_seq, uint64_t index, uint8_t *buf, size_t *ret_len,
		 struct codec_proof *ret_proof)
{
	return n->ops->segment(n, tx_seq, index, buf, ret_len, ret_proof);
}

int node_kv_write(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		  const struct node_put_item *items, size_t nitems, uint64_t *ret_tx_seq)
{
	if (nitems == 0)
		return -EINVAL;
	return n->ops->kv_write(n, stream, items, nitems, ret_tx_seq);
}

int node_kv_read(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], const uint8_t *key,
		 size_t key_len, struct node_value *ret_value)
{
	return n->ops->kv_read(n, stream, key, key_len, UINT64_MAX, ret_value);
}

int node_kv_read_at(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		    const uint8_t *key, size_t key_len, uint64_t version,
		    struct node_value *ret_value)
{
	return n->ops->kv_read(n, stream, key, key_len, version, ret_value);
}

int node_kv_list(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], const uint8_t *from,
		 size_t from_len, size_t max, node_kv_list_fn *fn, void *ctx)
{
	return n->ops->kv_list(n, stream, from, from_len, UINT64_MAX, max, fn, ctx);
}

int node_kv_list_at(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], const uint8_t *from,
		    size_t from_len, uint64_t version, size_t max, node_kv_list_fn *fn, void *ctx)
{
	return n->ops->kv_list(n, stream, from, from_len, version, max, fn, ctx);
}

int node_kv_versions(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		     const uint8_t *key, size_t key_len, node_kv_version_fn *fn, void *ctx)
{
	return n->ops->kv_versions(n, stream, key, key_len, fn, ctx);
}

int node_prune(struct node *n, uint64_t tx_seq, uint64_t *ret_bytes)
{
	return n->ops->prune ? n->ops->prune(n, tx_seq, ret_bytes) : -ENOTSUP;
}

int node_kv_encode_puts(const uint8_t stream[NODE_STREAM_ID_SIZE],
			const struct node_put_item *items, size_t nitems, uint8_t **ret_payload,
			size_t *ret_len, uint8_t ret_tags[2 * NODE_STREAM_ID_SIZE],
			size_t *ret_tags_len)
{
	struct node_kv_tx tx = {.version = UINT64_MAX};
	struct node_kv_write *w;
	uint8_t *buf = NULL;
	uint64_t size;
	int r;

	if (nitems == 0)
		return -EINVAL;
	if (nitems > NODE_KV_MAX_SET_SIZE)
		return -E2BIG;
	w = calloc(nitems, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < nitems; i++) {
		if (items[i].key_len == 0 || items[i].key_len > NODE_KV_MAX_KEY_SIZE) {
			r = items[i].key_len ? -E2BIG : -EINVAL;
			goto out;
		}
		w[i] = (struct node_kv_write){stream, items[i].key, (uint32_t)items[i].key_len,
					      items[i].value, items[i].value_len};
	}
	tx.n_writes = (uint32_t)nitems;
	tx.writes = w;
	r = node_kv_tx_encoded_size(&tx, &size);
	if (r == 0 && size > NODE_KV_TX_MAX)
		r = -E2BIG;
	if (r < 0)
		goto out;
	buf = malloc(size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = node_kv_tx_encode(&tx, buf, size, ret_len);
	if (r == 0)
		r = node_kv_tags_build(stream, 1, ret_tags, 2 * NODE_STREAM_ID_SIZE, ret_tags_len);
	if (r == 0) {
		*ret_payload = buf;
		buf = NULL;
	}
out:
	free(buf);
	free(w);
	return r;
}
