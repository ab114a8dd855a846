/*
 * Fuzz target: JSON-RPC request bodies, end to end through node_rpc_handle() against a
 * small fake node (one finalized 1000-byte entry at tx 0, nothing else). Any body must
 * come back as a well-formed JSON-RPC answer (or none, for notifications only), never a
 * crash, and the fake node checks that nothing tried to change it. The pure parsing
 * functions are also checked against each other: a body node_rpc_parse() refuses gets the
 * same error code from node_rpc_handle().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec/merkle.h"
#include "codec/proof.h"
#include "node/node_i.h"
#include "node/rpc/rpc.h"
#include "tests/fuzz/fuzz.h"

#define ENTRY_SIZE 1000

static uint8_t entry_data[ENTRY_SIZE];
static uint8_t entry_root[CODEC_HASH_SIZE];

static void fake_close(struct node *n)
{
}

static int fake_status(struct node *n, struct node_status *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->next_tx_seq = 1;
	ret->finalized = 1;
	return 0;
}

static int fake_info(struct node_file_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->entry.length = ENTRY_SIZE;
	ret->entry.sectors = codec_padded_chunks(codec_num_chunks(ENTRY_SIZE));
	memcpy(ret->entry.root, entry_root, CODEC_HASH_SIZE);
	ret->entry.nnodes = 1;
	memcpy(ret->entry.nodes[0].root, entry_root, CODEC_HASH_SIZE);
	ret->entry.nodes[0].height = 2;
	ret->finalized = true;
	ret->uploaded_segments = 1;
	return 0;
}

static int fake_by_seq(struct node *n, uint64_t tx_seq, struct node_file_info *ret)
{
	return tx_seq == 0 ? fake_info(ret) : -ENOENT;
}

static int fake_by_root(struct node *n, const uint8_t root[32], struct node_file_info *ret)
{
	return memcmp(root, entry_root, CODEC_HASH_SIZE) == 0 ? fake_info(ret) : -ENOENT;
}

/* Nothing may try to change the node. */
static int fake_upload_begin(struct node *n, const uint8_t *tags, size_t tags_len,
			     struct node_upload **ret)
{
	abort();
}

static int fake_upload_write(struct node_upload *u, const void *data, size_t len)
{
	abort();
}

static int fake_upload_finish(struct node_upload *u, struct node_file_info *ret)
{
	abort();
}

static void fake_upload_abort(struct node_upload *u)
{
	abort();
}

static int fake_read(struct node *n, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
		     size_t *ret_len)
{
	if (tx_seq != 0)
		return -ENOENT;
	if (offset >= ENTRY_SIZE) {
		*ret_len = 0;
		return 0;
	}
	if (len > ENTRY_SIZE - offset)
		len = ENTRY_SIZE - (size_t)offset;
	memcpy(buf, entry_data + offset, len);
	*ret_len = len;
	return 0;
}

static int fake_segment(struct node *n, uint64_t tx_seq, uint64_t index, uint8_t *buf,
			size_t *ret_len, struct codec_proof *ret_proof)
{
	if (tx_seq != 0)
		return -ENOENT;
	if (index != 0)
		return -EINVAL;
	memset(buf, 0, 1024);
	memcpy(buf, entry_data, ENTRY_SIZE);
	*ret_len = 1024;
	memset(ret_proof, 0, sizeof(*ret_proof));
	memcpy(ret_proof->lemma[0], entry_root, CODEC_HASH_SIZE);
	return 0;
}

static int fake_kv_write(struct node *n, const uint8_t stream[32],
			 const struct node_put_item *items, size_t nitems, uint64_t *ret_tx_seq)
{
	abort();
}

static int fake_kv_read(struct node *n, const uint8_t stream[32], const uint8_t *key,
			size_t key_len, uint64_t version, struct node_value *ret)
{
	return -ENOENT;
}

static int fake_kv_list(struct node *n, const uint8_t stream[32], const uint8_t *after,
			size_t after_len, uint64_t version, size_t max, node_kv_list_fn *fn,
			void *ctx)
{
	static const uint8_t v[] = "value";
	struct node_value val = {.version = 3, .data = (uint8_t *)v, .len = 5};

	return max > 0 ? (fn(ctx, (const uint8_t *)"k", 1, &val) < 0 ? -EIO : 0) : 0;
}

static int fake_kv_versions(struct node *n, const uint8_t stream[32], const uint8_t *key,
			    size_t key_len, node_kv_version_fn *fn, void *ctx)
{
	int r = fn(ctx, 1, 10);

	return r ? r : fn(ctx, 5, 0);
}

static const struct node_ops fake_ops = {
    .close = fake_close,
    .status = fake_status,
    .file_info_by_seq = fake_by_seq,
    .file_info_by_root = fake_by_root,
    .upload_begin = fake_upload_begin,
    .upload_write = fake_upload_write,
    .upload_finish = fake_upload_finish,
    .upload_abort = fake_upload_abort,
    .read = fake_read,
    .segment = fake_segment,
    .kv_write = fake_kv_write,
    .kv_read = fake_kv_read,
    .kv_list = fake_kv_list,
    .kv_versions = fake_kv_versions,
};

/* One answer object must be {"jsonrpc": "2.0", "id", and exactly one of result/error}. */
static void check_answer(json_t *a)
{
	json_t *e = json_object_get(a, "error");

	if (!json_is_object(a) ||
	    strcmp(json_string_value(json_object_get(a, "jsonrpc"))
		       ? json_string_value(json_object_get(a, "jsonrpc"))
		       : "",
		   "2.0") != 0 ||
	    !json_object_get(a, "id") || !!e == !!json_object_get(a, "result"))
		abort();
	if (e && (!json_is_integer(json_object_get(e, "code")) ||
		  !json_is_string(json_object_get(e, "message"))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct node fake = {.ops = &fake_ops};
	static int ready;
	struct node_rpc_error err;
	json_t *doc = NULL, *resp = NULL;
	int pr;

	if (!ready) {
		for (size_t i = 0; i < ENTRY_SIZE; i++)
			entry_data[i] = (uint8_t)(i * 7 + 1);
		codec_file_root(entry_data, ENTRY_SIZE, entry_root);
		ready = 1;
	}
	pr = node_rpc_parse((const char *)data, size, &doc, &err);
	if (pr == 0 && json_is_object(doc)) {
		const char *method;
		json_t *params, *id;

		node_rpc_request_check(doc, &method, &params, &id, &err);
	}
	json_decref(doc);

	if (node_rpc_handle(&fake, (const char *)data, size, &resp) < 0)
		return 0; /* -ENOMEM */
	if (pr < 0) {
		/* Refused by the parser: one error answer with that code and id null. */
		check_answer(resp);
		if (json_integer_value(json_object_get(json_object_get(resp, "error"), "code")) !=
			pr ||
		    !json_is_null(json_object_get(resp, "id")))
			abort();
	} else if (json_is_array(resp)) {
		if (json_array_size(resp) == 0)
			abort();
		for (size_t i = 0; i < json_array_size(resp); i++)
			check_answer(json_array_get(resp, i));
	} else if (resp) {
		check_answer(resp);
	}
	json_decref(resp);
	return 0;
}
