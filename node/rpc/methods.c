/*
 * The JSON-RPC method table: 0G's zgs_* and kv_* methods with their exact names, parameter
 * order and result shapes (the SDK's node/StorageNode.js, node/StorageKv.js, and 0G's
 * node/rpc/src in 0g-storage-node and 0g-storage-kv), plus our zgfs_* methods.
 *
 * Where 0G answers "not found" with null, so do we; where it answers invalid params, we
 * use its wording ("Invalid params: NAME" with the reason as data), because the SDK
 * matches on some of it ("already uploaded and finalized"). Everything a request carries
 * is decoded and checked before the node is asked to change anything.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chain/chain.h"
#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/merkle.h"
#include "node/kv/kv.h"
#include "node/kv/format.h"
#include "node/limits.h"
#include "node/node_i.h"
#include "node/peer/peers.h"
#include "node/peer/place.h"
#include "node/rpc/params_i.h"
#include "node/rpc/rpc.h"

/* ---- JSON helpers (rpc.h) ---------------------------------------------------------- */

json_t *node_rpc_base64(const uint8_t *data, size_t len)
{
	static const uint8_t empty[1];
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_t *j;

	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, len ? data : empty, len, sodium_base64_VARIANT_ORIGINAL);
	/* Base64 is ASCII: no need for jansson's UTF-8 check over a 350 KiB string. */
	j = json_stringn_nocheck(s, cap - 1);
	free(s);
	return j;
}

int node_rpc_unbase64(const json_t *s, uint8_t *buf, size_t max, size_t *ret_len)
{
	const char *text = json_string_value(s);
	size_t len = json_string_length(s), want, got = 0;

	if (!text || len % 4 != 0)
		return -CODEC_EFORMAT;
	want = len / 4 * 3;
	if (len > 0 && text[len - 1] == '=')
		want--;
	if (len > 1 && text[len - 2] == '=')
		want--;
	if (want > max)
		return -E2BIG;
	if (len == 0) {
		*ret_len = 0;
		return 0;
	}
	if (sodium_base642bin(buf, max, text, len, NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != want)
		return -CODEC_EFORMAT;
	*ret_len = got;
	return 0;
}

json_t *node_rpc_hex(const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 3);
	json_t *j;

	if (!s)
		return NULL;
	codec_hex_encode(data, len, s);
	j = json_stringn_nocheck(s, 2 * len + 2);
	free(s);
	return j;
}

json_t *node_rpc_u64(uint64_t v)
{
	char s[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return json_string(s);
}

int node_rpc_get_u64(const json_t *v, uint64_t *ret)
{
	const char *s;
	uint64_t x = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -CODEC_EFORMAT;
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (!s || !*s || json_string_length(v) > 20)
		return -CODEC_EFORMAT;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -CODEC_EFORMAT;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*ret = x;
	return 0;
}

/* A KV key: base64, not empty (0G: "key is empty"). */
static int p_key(json_t *ps, size_t i, uint8_t **out, size_t *out_len, struct node_rpc_error *err)
{
	int r = rpc_bytes(ps, i, "key", false, out, out_len, err);

	if (r == 0 && *out_len == 0) {
		free(*out);
		return rpc_bad_param(err, "key", "key is empty");
	}
	if (r == 0 && *out_len > NODE_KV_MAX_KEY_SIZE) {
		free(*out);
		return rpc_bad_param(err, "key", "key longer than %u bytes", NODE_KV_MAX_KEY_SIZE);
	}
	return r;
}

/* ---- shapes ------------------------------------------------------------------------- */

static uint64_t data_segments(uint64_t size)
{
	return (size + CODEC_SEGMENT_SIZE - 1) / CODEC_SEGMENT_SIZE;
}

/* 0G's Transaction: {streamIds, data, dataMerkleRoot, merkleNodes, startEntryIndex, size,
 * seq}. merkleNodes carry depth = height + 1 (0G's log_entry_fetcher); data is the
 * in-place data, always empty here. */
static json_t *tx_json(const struct chain_entry *e)
{
	json_t *ids = json_array(), *nodes = json_array();
	size_t nids = node_kv_tags_stream_count(e->tags, e->tags_len);

	for (size_t i = 0; ids && i < nids; i++)
		if (json_array_append_new(
			ids, node_rpc_hex(node_kv_tags_stream_id(e->tags, e->tags_len, i),
					  NODE_KV_STREAM_ID_SIZE)) < 0)
			goto fail;
	for (size_t i = 0; nodes && i < e->nnodes; i++)
		if (json_array_append_new(
			nodes, json_pack("[Io]", (json_int_t)e->nodes[i].height + 1,
					 node_rpc_hex(e->nodes[i].root, CODEC_HASH_SIZE))) < 0)
			goto fail;
	return json_pack("{s:o, s:[], s:o, s:o, s:o, s:o, s:o}", "streamIds", ids, "data",
			 "dataMerkleRoot", node_rpc_hex(e->root, CODEC_HASH_SIZE), "merkleNodes",
			 nodes, "startEntryIndex", node_rpc_u64(e->start), "size",
			 node_rpc_u64(e->length), "seq", node_rpc_u64(e->tx_seq));
fail:
	json_decref(ids);
	json_decref(nodes);
	return NULL;
}

/* 0G's FileInfo. uploadedSegNum: all data segments once finalized, as 0G counts. */
static json_t *file_info_json(const struct node_file_info *fi)
{
	uint64_t up = fi->finalized ? data_segments(fi->entry.length) : fi->uploaded_segments;

	return json_pack("{s:o, s:b, s:b, s:o, s:b}", "tx", tx_json(&fi->entry), "finalized",
			 fi->finalized, "isCached", 0, "uploadedSegNum", node_rpc_u64(up), "pruned",
			 fi->pruned);
}

/* Our full entry, everything struct chain_entry holds (zgfs_submit, zgfs_getFileInfo). */
static json_t *entry_json(const struct chain_entry *e)
{
	json_t *nodes = json_array();

	for (size_t i = 0; nodes && i < e->nnodes; i++)
		if (json_array_append_new(
			nodes, json_pack("{s:o, s:I}", "root",
					 node_rpc_hex(e->nodes[i].root, CODEC_HASH_SIZE), "height",
					 (json_int_t)e->nodes[i].height)) < 0) {
			json_decref(nodes);
			return NULL;
		}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "txSeq",
			 node_rpc_u64(e->tx_seq), "start", node_rpc_u64(e->start), "sectors",
			 node_rpc_u64(e->sectors), "length", node_rpc_u64(e->length), "root",
			 node_rpc_hex(e->root, CODEC_HASH_SIZE), "digest",
			 node_rpc_hex(e->digest, CODEC_HASH_SIZE), "sender",
			 node_rpc_hex(e->sender, CHAIN_ADDRESS_SIZE), "block",
			 node_rpc_u64(e->block), "timestamp", node_rpc_u64(e->timestamp), "fee",
			 node_rpc_u64(e->fee), "tags", node_rpc_hex(e->tags, e->tags_len), "nodes",
			 nodes);
}

/* ---- segments (rpc.h) --------------------------------------------------------------- */

json_t *node_rpc_segment_to_json(const uint8_t root[CODEC_HASH_SIZE], const uint8_t *data,
				 size_t len, uint64_t index, uint64_t file_size,
				 const struct codec_proof *proof)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "root", node_rpc_hex(root, CODEC_HASH_SIZE),
			 "data", node_rpc_base64(data, len), "index", node_rpc_u64(index), "proof",
			 codec_proof_to_jansson(proof), "fileSize", node_rpc_u64(file_size));
}

int node_rpc_segment_from_json(const json_t *obj, struct node_rpc_segment *s,
			       struct node_rpc_error *err)
{
	json_t *o = (json_t *)obj; /* rpc_arg() takes non-const; nothing is changed */
	int r;

	if (!json_is_object(o))
		return rpc_bad_param(err, "segment", "expected a SegmentWithProof object");
	/* Decoded in place (a segment is too large to stage): *s is scratch on failure. */
	if ((r = rpc_hash(o, 0, "root", false, s->root, err)) < 0)
		return r;
	if ((r = rpc_u64(o, 0, "index", false, &s->index, err)) < 0)
		return r;
	if ((r = rpc_u64(o, 0, "fileSize", false, &s->file_size, err)) < 0)
		return r;
	if (!json_object_get(o, "data"))
		return rpc_bad_param(err, "data", "missing");
	r = node_rpc_unbase64(json_object_get(o, "data"), s->data, sizeof(s->data), &s->len);
	if (r == -E2BIG)
		return rpc_bad_param(err, "data", "longer than one segment (%u bytes)",
				     CODEC_SEGMENT_SIZE);
	if (r < 0)
		return rpc_bad_param(err, "data", "expected base64 (standard alphabet, padded)");
	if (!json_object_get(o, "proof"))
		return rpc_bad_param(err, "proof", "missing");
	r = codec_proof_from_jansson(json_object_get(o, "proof"), &s->proof);
	if (r < 0)
		return rpc_bad_param(err, "proof", "invalid proof: %s", codec_strerror(r));
	return 0;
}

/* The checks of node_rpc_segment_check() that need no hashing; the segment's chunks in
 * the padded file. */
static int segment_shape(const struct node_rpc_segment *seg, uint64_t *ret_chunks,
			 struct node_rpc_error *err)
{
	uint64_t nseg, rest, padded_len, chunks;

	if (seg->file_size == 0)
		return rpc_bad_param(err, "file_size", "file is empty");
	if (seg->file_size > CODEC_MAX_ENTRY_SIZE)
		return rpc_bad_param(err, "file_size", "larger than %llu bytes",
				     (unsigned long long)CODEC_MAX_ENTRY_SIZE);
	nseg = data_segments(seg->file_size);
	if (seg->index >= nseg)
		return rpc_bad_param(err, "index", "index out of bound");
	rest = seg->file_size - seg->index * CODEC_SEGMENT_SIZE;
	if (rest > CODEC_SEGMENT_SIZE)
		rest = CODEC_SEGMENT_SIZE;
	padded_len = codec_num_chunks(rest) * CODEC_CHUNK_SIZE;
	if (seg->len != padded_len && seg->len != rest)
		return rpc_bad_param(err, "data", "invalid data length");
	/* The segment's chunks in the padded file: a whole segment, or what the padding rule
	 * leaves of the last one; the bytes after len are zeros. */
	chunks = codec_padded_chunks(codec_num_chunks(seg->file_size)) -
		 seg->index * CODEC_SEGMENT_CHUNKS;
	if (chunks > CODEC_SEGMENT_CHUNKS)
		chunks = CODEC_SEGMENT_CHUNKS;
	*ret_chunks = chunks;
	return 0;
}

/* The error 0G gives for a proof that does not verify (r: -CODEC_EPROOF_*). */
static int bad_proof(struct node_rpc_error *err, int r)
{
	return rpc_bad_param(err, "proof", "validation failed: %s", codec_strerror(r));
}

int node_rpc_segment_check(const struct node_rpc_segment *seg, struct node_rpc_error *err)
{
	uint64_t chunks, leaves;
	uint8_t leaf[CODEC_HASH_SIZE];
	int r = segment_shape(seg, &chunks, err);

	if (r < 0)
		return r;
	r = codec_segment_root(seg->data, seg->len, (unsigned)chunks, leaf);
	if (r < 0)
		return rpc_bad_param(err, "data", "invalid data length");
	leaves = codec_num_segments(seg->file_size);
	r = codec_proof_verify(&seg->proof, seg->root, leaf, seg->index, leaves);
	return r < 0 ? bad_proof(err, r) : 0;
}

/* ---- segments in binary (rpc.h) ------------------------------------------------------ */

static uint8_t *put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return p + bytes;
}

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

size_t node_rpc_binary_header(uint32_t count, uint8_t *out)
{
	if (out) {
		memcpy(out, NODE_RPC_BINARY_MAGIC, 8);
		put_be(out + 8, count, 4);
	}
	return NODE_RPC_BINARY_HEADER_SIZE;
}

size_t node_rpc_segment_encode(const uint8_t root[CODEC_HASH_SIZE], const uint8_t *data, size_t len,
			       uint64_t index, uint64_t file_size, const struct codec_proof *proof,
			       uint8_t *out)
{
	size_t lemma = codec_proof_lemma_len(proof->depth);
	uint8_t *p = out;

	if (out) {
		p = put_be(p, index, 8);
		p = put_be(p, file_size, 8);
		memcpy(p, root, CODEC_HASH_SIZE);
		p = put_be(p + CODEC_HASH_SIZE, len, 4);
		if (len)
			memcpy(p, data, len);
		p += len;
		*p++ = (uint8_t)proof->depth;
		memcpy(p, proof->lemma, lemma * CODEC_HASH_SIZE);
		p += lemma * CODEC_HASH_SIZE;
		for (unsigned i = 0; i < proof->depth; i++)
			*p++ = proof->path[i];
	}
	return 8 + 8 + CODEC_HASH_SIZE + 4 + len + 1 + lemma * CODEC_HASH_SIZE + proof->depth;
}

int node_rpc_segments_decode(const uint8_t *body, size_t len, struct node_rpc_segment *segs,
			     size_t max, size_t *ret_count, struct node_rpc_error *err)
{
	const uint8_t *p = body, *end = body + len;
	uint64_t count;

	if (len < NODE_RPC_BINARY_HEADER_SIZE || memcmp(p, NODE_RPC_BINARY_MAGIC, 8) != 0)
		return rpc_bad_param(err, "body", "not a binary segment list (%s)",
				     NODE_RPC_BINARY_MAGIC);
	count = get_be(p + 8, 4);
	p += NODE_RPC_BINARY_HEADER_SIZE;
	if (count == 0 || count > max || count > NODE_RPC_SEGMENTS_MAX)
		return rpc_bad_param(err, "body", "1 to %d segments", NODE_RPC_SEGMENTS_MAX);
	for (uint64_t i = 0; i < count; i++) {
		struct node_rpc_segment *s = &segs[i];
		size_t n, lemma;

		if ((size_t)(end - p) < 8 + 8 + CODEC_HASH_SIZE + 4)
			return rpc_bad_param(err, "body", "segment %llu: truncated",
					     (unsigned long long)i);
		s->index = get_be(p, 8);
		s->file_size = get_be(p + 8, 8);
		memcpy(s->root, p + 16, CODEC_HASH_SIZE);
		n = (size_t)get_be(p + 16 + CODEC_HASH_SIZE, 4);
		p += 8 + 8 + CODEC_HASH_SIZE + 4;
		if (n > CODEC_SEGMENT_SIZE)
			return rpc_bad_param(err, "data", "longer than one segment (%u bytes)",
					     CODEC_SEGMENT_SIZE);
		if ((size_t)(end - p) < n + 1)
			return rpc_bad_param(err, "body", "segment %llu: truncated",
					     (unsigned long long)i);
		memcpy(s->data, p, n);
		s->len = n;
		p += n;
		memset(&s->proof, 0, sizeof(s->proof));
		s->proof.depth = *p++;
		if (s->proof.depth > CODEC_PROOF_MAX_DEPTH)
			return rpc_bad_param(err, "proof", "deeper than %d", CODEC_PROOF_MAX_DEPTH);
		lemma = codec_proof_lemma_len(s->proof.depth);
		if ((size_t)(end - p) < lemma * CODEC_HASH_SIZE + s->proof.depth)
			return rpc_bad_param(err, "body", "segment %llu: truncated",
					     (unsigned long long)i);
		memcpy(s->proof.lemma, p, lemma * CODEC_HASH_SIZE);
		p += lemma * CODEC_HASH_SIZE;
		for (unsigned k = 0; k < s->proof.depth; k++) {
			if (p[k] > 1)
				return rpc_bad_param(err, "proof", "path entries are 0 or 1");
			s->proof.path[k] = p[k];
		}
		p += s->proof.depth;
	}
	if (p != end)
		return rpc_bad_param(err, "body", "bytes after the last segment");
	*ret_count = (size_t)count;
	return 0;
}

/* ---- zgs_*: status and file info ----------------------------------------------------- */

static int m_get_status(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_status st;
	int r = rpc_at_most(ps, 0, err);

	if (r < 0)
		return r;
	r = node_status(n, &st);
	if (r < 0)
		return rpc_node_fail(err, r, "status");
	return rpc_done(json_pack("{s:I, s:o, s:o, s:o, s:{s:o, s:o, s:{s:i, s:i, s:i}}}",
				  "connectedPeers", (json_int_t)st.connected_peers, "logSyncHeight",
				  node_rpc_u64(st.log_sync_height), "logSyncBlock",
				  node_rpc_hex(st.log_sync_block, CODEC_HASH_SIZE), "nextTxSeq",
				  node_rpc_u64(st.next_tx_seq), "networkIdentity", "chainId",
				  node_rpc_u64(st.chain_id), "flowAddress",
				  node_rpc_hex(st.flow_address, CHAIN_ADDRESS_SIZE),
				  "p2pProtocolVersion", "major", 0, "minor", 0, "build", 0),
			ret, err);
}

static int m_get_shard_config(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_status st;
	int r = rpc_at_most(ps, 0, err);

	if (r < 0)
		return r;
	r = node_status(n, &st);
	if (r < 0)
		return rpc_node_fail(err, r, "status");
	if (st.num_shard == 0) /* a node that does not say keeps everything */
		st.num_shard = 1;
	return rpc_done(json_pack("{s:I, s:I}", "shardId", (json_int_t)st.shard_id, "numShard",
				  (json_int_t)st.num_shard),
			ret, err);
}

/* The entry for a root or a seq; 1 when there is none (the answer is null). */
static int lookup(struct node *n, const uint8_t *root, uint64_t seq, struct node_file_info *fi,
		  struct node_rpc_error *err)
{
	int r = root ? node_file_info_by_root(n, root, fi) : node_file_info_by_seq(n, seq, fi);

	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return rpc_node_fail(err, r, "file info");
	return 0;
}

static int file_info_reply(struct node *n, const uint8_t *root, uint64_t seq, json_t **ret,
			   struct node_rpc_error *err)
{
	struct node_file_info *fi = malloc(sizeof(*fi));
	int r;

	if (!fi)
		return rpc_no_memory(err);
	r = lookup(n, root, seq, fi, err);
	if (r == 1)
		r = rpc_done(json_null(), ret, err);
	else if (r == 0)
		r = rpc_done(file_info_json(fi), ret, err);
	free(fi);
	return r;
}

static int m_get_file_info(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint8_t root[CODEC_HASH_SIZE];
	bool need_available;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0 ||
	    (r = rpc_bool(ps, 1, "needAvailable", true, &need_available, err)) < 0)
		return r;
	return file_info_reply(n, root, 0, ret, err);
}

static int m_get_file_info_by_seq(struct node *n, json_t *ps, json_t **ret,
				  struct node_rpc_error *err)
{
	uint64_t seq;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 ||
	    (r = rpc_u64(ps, 0, "txSeq", false, &seq, err)) < 0)
		return r;
	return file_info_reply(n, NULL, seq, ret, err);
}

/* A tx seq (number or decimal string) or a root (0x + 64 hex): 0G's TxSeqOrRoot. */
static int p_seq_or_root(json_t *ps, size_t i, const char *name, uint64_t *seq,
			 uint8_t root[CODEC_HASH_SIZE], bool *is_root, struct node_rpc_error *err)
{
	json_t *v = rpc_arg(ps, i, name);
	const char *s = json_string_value(v);

	if (!v)
		return rpc_bad_param(err, name, "missing");
	if (s && strncmp(s, "0x", 2) == 0) {
		if (codec_hex_decode(s, root, CODEC_HASH_SIZE) < 0)
			return rpc_bad_param(err, name,
					     "expected a tx seq or 0x and 64 hex digits");
		*is_root = true;
		return 0;
	}
	if (node_rpc_get_u64(v, seq) < 0)
		return rpc_bad_param(err, name, "expected a tx seq or 0x and 64 hex digits");
	*is_root = false;
	return 0;
}

/*
 * The entry named by the one parameter txSeqOrRoot: 0 with *ret_fi (malloc'd: free it),
 * 1 when there is no such entry (*ret_fi still set), or an error answer.
 */
static int lookup_seq_or_root(struct node *n, json_t *ps, struct node_file_info **ret_fi,
			      struct node_rpc_error *err)
{
	uint8_t root[CODEC_HASH_SIZE];
	uint64_t seq = 0;
	bool is_root = false;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 ||
	    (r = p_seq_or_root(ps, 0, "txSeqOrRoot", &seq, root, &is_root, err)) < 0)
		return r;
	*ret_fi = malloc(sizeof(**ret_fi));
	if (!*ret_fi)
		return rpc_no_memory(err);
	r = lookup(n, is_root ? root : NULL, seq, *ret_fi, err);
	if (r < 0) {
		free(*ret_fi);
		*ret_fi = NULL;
	}
	return r;
}

static int m_check_file_finalized(struct node *n, json_t *ps, json_t **ret,
				  struct node_rpc_error *err)
{
	struct node_file_info *fi = NULL;
	int r = lookup_seq_or_root(n, ps, &fi, err);

	if (r == 1)
		r = rpc_done(json_null(), ret, err);
	else if (r == 0)
		r = rpc_done(json_boolean(fi->finalized), ret, err);
	free(fi);
	return r;
}

/* ---- zgs_*: uploads ------------------------------------------------------------------ */

int node_rpc_put_segments(struct node *n, const struct node_rpc_segment *segs, size_t count,
			  const uint64_t *tx_seq, struct node_rpc_error *err)
{
	struct node_store_segment batch[NODE_RPC_SEGMENTS_MAX];
	struct node_file_info *fi = NULL;
	struct node_status st;
	uint64_t *seqs = NULL, chunks;
	bool one_entry = true;
	int r = 0;

	if (!node_local_store(n))
		return rpc_not_here(err, "this node takes uploads only into a local store");
	if (count > NODE_RPC_SEGMENTS_MAX)
		return rpc_bad_param(err, "segments", "at most %d segments per call",
				     NODE_RPC_SEGMENTS_MAX);
	if (count == 0)
		return 0;
	seqs = calloc(count, sizeof(*seqs));
	fi = malloc(sizeof(*fi));
	if (!seqs || !fi) {
		r = rpc_no_memory(err);
		goto out;
	}
	r = node_status(n, &st);
	if (r < 0) {
		r = rpc_node_fail(err, r, "status");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		r = lookup(n, tx_seq ? NULL : segs[i].root, tx_seq ? *tx_seq : 0, fi, err);
		if (r == 1)
			r = tx_seq
				? rpc_bad_param(err, "tx_seq", "no entry with tx seq %llu",
						(unsigned long long)*tx_seq)
				: rpc_bad_param(err, "root",
						"no entry with this root is settled on this node");
		if (r < 0)
			goto out;
		if (memcmp(fi->entry.root, segs[i].root, CODEC_HASH_SIZE) != 0) {
			r = rpc_bad_param(err, "root", "segment root does not match tx %llu",
					  (unsigned long long)fi->entry.tx_seq);
			goto out;
		}
		if (fi->entry.length != segs[i].file_size) {
			r = rpc_bad_param(err, "file_size",
					  "segment file size not matched with tx file size");
			goto out;
		}
		if (st.num_shard > 1 &&
		    (fi->entry.start / CODEC_SEGMENT_CHUNKS + segs[i].index) % st.num_shard !=
			st.shard_id) {
			uint64_t flow_seg = fi->entry.start / CODEC_SEGMENT_CHUNKS + segs[i].index;

			r = rpc_bad_param(
			    err, "index",
			    "segment %llu is flow segment %llu, of shard %llu/%u; this node "
			    "keeps shard %u/%u",
			    (unsigned long long)segs[i].index, (unsigned long long)flow_seg,
			    (unsigned long long)(flow_seg % st.num_shard), st.num_shard,
			    st.shard_id, st.num_shard);
			goto out;
		}
		if (fi->finalized) {
			r = rpc_bad_param(err, "root", "already uploaded and finalized");
			goto out;
		}
		r = segment_shape(&segs[i], &chunks, err);
		if (r < 0)
			goto out;
		seqs[i] = fi->entry.tx_seq;
		one_entry &= seqs[i] == seqs[0];
	}
	/* Segments of one entry are hashed and checked by the store, all before any is
	 * stored; segments of several entries are checked here first, so that a call
	 * stores all or nothing either way. */
	for (size_t i = 0; i < count && !one_entry; i++)
		if ((r = node_rpc_segment_check(&segs[i], err)) < 0)
			goto out;
	for (size_t i = 0, j; i < count; i = j) {
		for (j = i; j < count && seqs[j] == seqs[i]; j++)
			batch[j - i] = (struct node_store_segment){.index = segs[j].index,
								   .data = segs[j].data,
								   .len = segs[j].len,
								   .proof = &segs[j].proof};
		r = node_local_put_segments(n, seqs[i], batch, j - i);
		if (r <= -CODEC_EPROOF_LENGTH && r >= -CODEC_EPROOF_HASH)
			r = bad_proof(err, r);
		else if (r < 0)
			r = rpc_node_fail(err, r, "storing the segment");
		if (r < 0)
			goto out;
	}
out:
	free(fi);
	free(seqs);
	return r;
}

int node_rpc_put_segments_forward(struct node *n, const struct node_rpc_segment *segs,
				  size_t count, uint64_t tx_seq, struct node_rpc_error *err)
{
	const struct node_rpc_segment **others = NULL;
	struct node_rpc_segment *mine = NULL;
	struct node_file_info *fi = NULL;
	struct node_peer_entry pe;
	struct node_status st;
	size_t nothers = 0, nmine = 0;
	uint64_t missing = 0;
	int r = node_status(n, &st);

	if (r < 0)
		return rpc_node_fail(err, r, "status");
	if (st.num_shard <= 1 || !node_local_peers(n) || count == 0 ||
	    count > NODE_RPC_SEGMENTS_MAX)
		return node_rpc_put_segments(n, segs, count, &tx_seq, err);
	others = malloc(count * sizeof(*others));
	mine = malloc(count * sizeof(*mine));
	fi = malloc(sizeof(*fi));
	if (!others || !mine || !fi) {
		r = rpc_no_memory(err);
		goto out;
	}
	r = lookup(n, NULL, tx_seq, fi, err);
	if (r == 1)
		r = rpc_bad_param(err, "tx_seq", "no entry with tx seq %llu",
				  (unsigned long long)tx_seq);
	if (r < 0)
		goto out;
	for (size_t i = 0; r == 0 && i < count; i++) {
		uint64_t flow_seg = fi->entry.start / CODEC_SEGMENT_CHUNKS + segs[i].index;

		/* This shard's, stored below as one batch (copied: 1/N of the bytes). */
		if (flow_seg % st.num_shard == st.shard_id) {
			mine[nmine++] = segs[i];
			continue;
		}
		/* Checked here too, so that nothing wrong is passed on. */
		if (memcmp(segs[i].root, fi->entry.root, CODEC_HASH_SIZE) != 0 ||
		    segs[i].file_size != fi->entry.length)
			r = rpc_bad_param(err, "root", "segment does not belong to tx %llu",
					  (unsigned long long)tx_seq);
		else
			r = node_rpc_segment_check(&segs[i], err);
		others[nothers++] = &segs[i];
	}
	if (r == 0 && nmine)
		r = node_rpc_put_segments(n, mine, nmine, &tx_seq, err);
	if (r < 0 || nothers == 0)
		goto out;
	pe = (struct node_peer_entry){.tx_seq = tx_seq, .start = fi->entry.start,
				      .length = fi->entry.length};
	memcpy(pe.root, fi->entry.root, CODEC_HASH_SIZE);
	r = node_peers_forward(node_local_peers(n), &pe, others, nothers, &missing);
	if (r < 0)
		r = rpc_node_fail(err, r,
				  missing ? "handing a segment to the shard that keeps it"
					  : "handing segments to the shards that keep them");
out:
	free(others);
	free(mine);
	free(fi);
	return r;
}

/* Decodes segments (one object, or an array of them), then node_rpc_put_segments(). */
static int put_segments(struct node *n, json_t *segs, bool by_seq, uint64_t tx_seq, json_t **ret,
			struct node_rpc_error *err)
{
	struct node_rpc_segment *s;
	size_t count = json_is_array(segs) ? json_array_size(segs) : 1;
	int r = 0;

	if (!node_local_store(n))
		return rpc_not_here(err, "this node takes uploads only into a local store");
	if (count > NODE_RPC_SEGMENTS_MAX)
		return rpc_bad_param(err, "segments", "at most %d segments per call",
				     NODE_RPC_SEGMENTS_MAX);
	if (count == 0)
		return rpc_done(json_null(), ret, err);
	s = malloc(count * sizeof(*s));
	if (!s)
		return rpc_no_memory(err);
	for (size_t i = 0; i < count && r == 0; i++)
		r = node_rpc_segment_from_json(json_is_array(segs) ? json_array_get(segs, i) : segs,
					       &s[i], err);
	if (r == 0)
		r = node_rpc_put_segments(n, s, count, by_seq ? &tx_seq : NULL, err);
	if (r == 0)
		r = rpc_done(json_null(), ret, err);
	free(s);
	return r;
}

static int m_upload_segment(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	json_t *seg = rpc_arg(ps, 0, "segment");
	int r = rpc_at_most(ps, 1, err);

	if (r < 0)
		return r;
	if (!json_is_object(seg))
		return rpc_bad_param(err, "segment", "expected a SegmentWithProof object");
	return put_segments(n, seg, false, 0, ret, err);
}

static int m_upload_segments(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	json_t *segs = rpc_arg(ps, 0, "segments");
	int r = rpc_at_most(ps, 1, err);

	if (r < 0)
		return r;
	if (!json_is_array(segs))
		return rpc_bad_param(err, "segments", "expected an array of SegmentWithProof");
	return put_segments(n, segs, false, 0, ret, err);
}

static int m_upload_segment_by_seq(struct node *n, json_t *ps, json_t **ret,
				   struct node_rpc_error *err)
{
	json_t *seg = rpc_arg(ps, 0, "segment");
	uint64_t seq;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "txSeq", false, &seq, err)) < 0)
		return r;
	if (!json_is_object(seg))
		return rpc_bad_param(err, "segment", "expected a SegmentWithProof object");
	return put_segments(n, seg, true, seq, ret, err);
}

static int m_upload_segments_by_seq(struct node *n, json_t *ps, json_t **ret,
				    struct node_rpc_error *err)
{
	json_t *segs = rpc_arg(ps, 0, "segments");
	uint64_t seq;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "txSeq", false, &seq, err)) < 0)
		return r;
	if (!json_is_array(segs))
		return rpc_bad_param(err, "segments", "expected an array of SegmentWithProof");
	return put_segments(n, segs, true, seq, ret, err);
}

/* ---- zgs_*: downloads ---------------------------------------------------------------- */

/* Chunks [start, end) of an entry, base64, the last chunk of the file zero-padded to 256 B
 * (0G sends whole chunks); null when the entry is unknown or not finalized here. */
static int download_chunks(struct node *n, const uint8_t *root, uint64_t seq, json_t *ps,
			   json_t **ret, struct node_rpc_error *err)
{
	struct node_file_info *fi = NULL;
	uint64_t start, end, padded;
	uint8_t *buf = NULL;
	size_t got = 0, len;
	int r;

	if ((r = rpc_at_most(ps, 3, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "startIndex", false, &start, err)) < 0 ||
	    (r = rpc_u64(ps, 2, "endIndex", false, &end, err)) < 0)
		return r;
	if (start >= end)
		return rpc_bad_param(err, "end_index", "invalid chunk index");
	if (end - start > CODEC_SEGMENT_CHUNKS)
		return rpc_bad_param(err, "end_index", "exceeds maximum chunks %d",
				     CODEC_SEGMENT_CHUNKS);
	fi = malloc(sizeof(*fi));
	if (!fi)
		return rpc_no_memory(err);
	r = lookup(n, root, seq, fi, err);
	if (r < 0)
		goto out;
	if (r == 1 || !fi->finalized) {
		r = rpc_done(json_null(), ret, err);
		goto out;
	}
	padded = codec_padded_chunks(codec_num_chunks(fi->entry.length));
	if (end > padded) {
		r = rpc_bad_param(err, "end_index", "past the end of the entry (%llu chunks)",
				  (unsigned long long)padded);
		goto out;
	}
	len = (size_t)(end - start) * CODEC_CHUNK_SIZE;
	buf = calloc(1, len);
	if (!buf) {
		r = rpc_no_memory(err);
		goto out;
	}
	r = node_read(n, fi->entry.tx_seq, start * CODEC_CHUNK_SIZE, buf, len, &got);
	if (r == -EAGAIN || r == -ENOENT) {
		r = rpc_done(json_null(), ret, err);
		goto out;
	}
	if (r < 0) {
		r = rpc_node_fail(err, r, "reading the entry");
		goto out;
	}
	r = rpc_done(node_rpc_base64(buf, len), ret, err); /* bytes past `got` are the zeros */
out:
	free(buf);
	free(fi);
	return r;
}

static int m_download_segment(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint8_t root[CODEC_HASH_SIZE];
	int r = rpc_hash(ps, 0, "root", false, root, err);

	return r < 0 ? r : download_chunks(n, root, 0, ps, ret, err);
}

static int m_download_segment_by_seq(struct node *n, json_t *ps, json_t **ret,
				     struct node_rpc_error *err)
{
	uint64_t seq;
	int r = rpc_u64(ps, 0, "txSeq", false, &seq, err);

	return r < 0 ? r : download_chunks(n, NULL, seq, ps, ret, err);
}

int node_rpc_get_segment(struct node *n, const uint8_t *root, uint64_t tx_seq, uint64_t index,
			 struct node_rpc_segment *s, struct node_rpc_error *err)
{
	struct node_file_info *fi = malloc(sizeof(*fi));
	int r;

	if (!fi)
		return rpc_no_memory(err);
	r = lookup(n, root, tx_seq, fi, err);
	if (r != 0)
		goto out;
	/* Not gated on finalized: a node of a cluster serves the segments it has stored while
	 * it waits for the rest of its shard (peers build parity from them); the store says
	 * -EAGAIN for one it does not have yet. */
	if (index >= data_segments(fi->entry.length)) {
		r = rpc_bad_param(err, "index", "index out of bound");
		goto out;
	}
	r = node_segment(n, fi->entry.tx_seq, index, s->data, &s->len, &s->proof);
	if (r == -EAGAIN || r == -ENOENT) {
		r = 1;
		goto out;
	}
	if (r < 0) {
		r = rpc_node_fail(err, r, "reading the segment");
		goto out;
	}
	memcpy(s->root, fi->entry.root, CODEC_HASH_SIZE);
	s->index = index;
	s->file_size = fi->entry.length;
out:
	free(fi);
	return r;
}

/* Segment `index` with its proof; null when the entry is unknown or not finalized. */
static int download_proof(struct node *n, const uint8_t *root, uint64_t seq, json_t *ps,
			  json_t **ret, struct node_rpc_error *err)
{
	struct node_rpc_segment *s;
	uint64_t index;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "index", false, &index, err)) < 0)
		return r;
	s = malloc(sizeof(*s));
	if (!s)
		return rpc_no_memory(err);
	r = node_rpc_get_segment(n, root, seq, index, s, err);
	if (r == 1)
		r = rpc_done(json_null(), ret, err);
	else if (r == 0)
		r = rpc_done(node_rpc_segment_to_json(s->root, s->data, s->len, s->index,
						      s->file_size, &s->proof),
			     ret, err);
	free(s);
	return r;
}

static int m_download_segment_with_proof(struct node *n, json_t *ps, json_t **ret,
					 struct node_rpc_error *err)
{
	uint8_t root[CODEC_HASH_SIZE];
	int r = rpc_hash(ps, 0, "root", false, root, err);

	return r < 0 ? r : download_proof(n, root, 0, ps, ret, err);
}

static int m_download_segment_with_proof_by_seq(struct node *n, json_t *ps, json_t **ret,
						struct node_rpc_error *err)
{
	uint64_t seq;
	int r = rpc_u64(ps, 0, "txSeq", false, &seq, err);

	return r < 0 ? r : download_proof(n, NULL, seq, ps, ret, err);
}

/* zgfs_getParityByTxSeq(txSeq, stripe): a parity symbol this node keeps (docs/PEERS.md):
 * {stripe, position, data (base64, one whole segment)}; null when not stored (yet). */
static int m_zgfs_parity(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_store *st = node_local_store(n);
	uint64_t seq, stripe;
	unsigned pos;
	uint8_t *buf;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_u64(ps, 0, "txSeq", false, &seq, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "stripe", false, &stripe, err)) < 0)
		return r;
	if (!st)
		return rpc_not_here(err, "zgfs_getParityByTxSeq: not a node with a store");
	buf = malloc(CODEC_SEGMENT_SIZE);
	if (!buf)
		return rpc_no_memory(err);
	r = node_store_parity(st, seq, stripe, buf, &pos);
	if (r == -ENOENT || r == -ENODATA)
		r = rpc_done(json_null(), ret, err);
	else if (r == -EXDEV)
		r = rpc_bad_param(err, "stripe",
				  "this node keeps no parity of stripe %llu of entry %llu",
				  (unsigned long long)stripe, (unsigned long long)seq);
	else if (r < 0)
		r = rpc_node_fail(err, r, "reading parity");
	else
		r = rpc_done(json_pack("{s:o, s:I, s:o}", "stripe", node_rpc_u64(stripe),
				       "position", (json_int_t)pos, "data",
				       node_rpc_base64(buf, CODEC_SEGMENT_SIZE)),
			     ret, err);
	free(buf);
	return r;
}

/* zgfs_getSegmentProofByTxSeq(txSeq, index): the proof of a data segment that this node
 * has (its own segments', and those kept with its parity): {lemma, path}; null if none. */
static int m_zgfs_segment_proof(struct node *n, json_t *ps, json_t **ret,
				struct node_rpc_error *err)
{
	struct node_store *st = node_local_store(n);
	struct codec_proof *proof;
	uint64_t seq, index;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_u64(ps, 0, "txSeq", false, &seq, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "index", false, &index, err)) < 0)
		return r;
	if (!st)
		return rpc_not_here(err, "zgfs_getSegmentProofByTxSeq: not a node with a store");
	proof = malloc(sizeof(*proof));
	if (!proof)
		return rpc_no_memory(err);
	r = node_store_proof(st, seq, index, proof);
	if (r == -ENOENT)
		r = rpc_done(json_null(), ret, err);
	else if (r == -EINVAL)
		r = rpc_bad_param(err, "index", "index out of bound");
	else if (r < 0)
		r = rpc_node_fail(err, r, "reading the proof");
	else
		r = rpc_done(codec_proof_to_jansson(proof), ret, err);
	free(proof);
	return r;
}

static int m_get_sector_proof(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return rpc_not_here(err,
			    "zgs_getSectorProof: this node keeps no Merkle tree over the whole "
			    "flow yet; use zgs_downloadSegmentWithProof for proofs within an "
			    "entry");
}

/* ---- zgfs_*: our own ------------------------------------------------------------------ */

/* The cluster part of zgfs_status: shard, policy, sync, parity and rebuilds. */
static json_t *cluster_status(const struct node_status *st)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
			      "s:o}",
			      "shardId",
			      (json_int_t)st->shard_id, "numShard",
			      (json_int_t)(st->num_shard ? st->num_shard : 1), "ecK",
			      (json_int_t)st->ec_k, "ecM", (json_int_t)st->ec_m, "syncWaiting",
			      node_rpc_u64(st->sync_waiting), "syncMissing",
			      node_rpc_u64(st->sync_missing), "syncFetched",
			      node_rpc_u64(st->sync_fetched), "syncFetchedBytes",
			      node_rpc_u64(st->sync_fetched_bytes), "parityBuilt",
			      node_rpc_u64(st->parity_built), "parityBytesIn",
			      node_rpc_u64(st->parity_bytes_in), "segmentsRebuilt",
			      node_rpc_u64(st->segments_rebuilt), "rebuiltBytesIn",
			      node_rpc_u64(st->rebuilt_bytes_in), "segmentsServed",
			      node_rpc_u64(st->segments_served), "segmentsRelayed",
			      node_rpc_u64(st->segments_relayed));

	return o ? o : json_object();
}

static int m_zgfs_status(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_status st;
	int r = rpc_at_most(ps, 0, err);

	if (r < 0)
		return r;
	r = node_status(n, &st);
	if (r < 0)
		return rpc_node_fail(err, r, "status");
	r = rpc_done(
	    json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
		"nextTxSeq", node_rpc_u64(st.next_tx_seq), "logSyncHeight",
		node_rpc_u64(st.log_sync_height), "logSyncBlock",
		node_rpc_hex(st.log_sync_block, CODEC_HASH_SIZE), "finalized",
		node_rpc_u64(st.finalized), "kvNextTxSeq", node_rpc_u64(st.kv_next_tx_seq),
		"flowLength", node_rpc_u64(st.flow_length), "flowRoot",
		node_rpc_hex(st.flow_root, CODEC_HASH_SIZE), "chainId", node_rpc_u64(st.chain_id),
		"flowAddress", node_rpc_hex(st.flow_address, CHAIN_ADDRESS_SIZE), "connectedPeers",
		(json_int_t)st.connected_peers, "bytesStored", node_rpc_u64(st.bytes_stored),
		"diskFree", node_rpc_u64(st.disk_free), "diskTotal", node_rpc_u64(st.disk_total),
		"diskFreeAll", node_rpc_u64(st.disk_free_all), "filesTotal",
		node_rpc_u64(st.files_total), "filesFree", node_rpc_u64(st.files_free)),
	    ret, err);
	if (r == 0) {
		json_t *cs = cluster_status(&st);

		if (json_object_update(*ret, cs) < 0)
			r = rpc_no_memory(err);
		json_decref(cs);
	}
	return r;
}

/* ---- zgfs_health ------------------------------------------------------------------- */

/* Every node of the cluster as one health report sees it. */
struct hnode {
	char url[CHAIN_REGISTRY_URL_MAX + 1];
	bool up, self, finalized;
	uint32_t shard_id, num_shard;
	json_t *status; /* zgfs_status, or NULL */
};

struct hreport {
	struct hnode *nodes;
	size_t n, max;
};

static int took_status(void *ctx, const char *url, json_t *res, int r)
{
	struct hreport *h = ctx;
	struct hnode *x;
	json_t *id, *num;

	if (h->n == h->max)
		return 1;
	x = &h->nodes[h->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->url, sizeof(x->url), "%s", url);
	id = json_object_get(res, "shardId");
	num = json_object_get(res, "numShard");
	x->up = r == 0 && json_is_integer(id) && json_is_integer(num);
	if (x->up) {
		x->shard_id = (uint32_t)json_integer_value(id);
		x->num_shard = (uint32_t)json_integer_value(num);
		x->status = json_incref(res);
	}
	return 0;
}

struct hentry {
	struct hreport *h;
	size_t i;
};

static int took_info(void *ctx, const char *url, json_t *res, int r)
{
	struct hentry *he = ctx;
	struct hnode *x = &he->h->nodes[he->i++];

	(void)url;
	if (r == 0 && json_is_object(res))
		x->finalized = json_is_true(json_object_get(res, "finalized"));
	return he->i == he->h->n;
}

/* Whether shard (id, n) of a cluster of num shards is held whole by node x. */
static bool node_keeps(const struct hnode *x, uint32_t id, uint32_t num)
{
	return x->num_shard == 1 || (x->num_shard == num && x->shard_id == id) ||
	       (x->num_shard < num && id % x->num_shard == x->shard_id);
}

/*
 * One entry's state across the cluster: a shard is up for it when some node keeping the
 * shard reports it finalized (its data and parity there). Missing: the stored symbols on
 * shards not up; decodable: every stripe has K left (no policy: nothing missing).
 * Redundant: nothing missing and every node of the shards it touches finalized.
 */
static json_t *entry_health(const struct hreport *h, const struct node_status *st,
			    const struct node_file_info *fi)
{
	uint32_t num = st->num_shard ? st->num_shard : 1, up[NODE_PEERS_MAX + 1];
	struct node_ec_layout lay = {.k = st->ec_k, .m = st->ec_m, .num = num};
	uint64_t start_seg = fi->entry.start / CODEC_SEGMENT_CHUNKS;
	uint64_t nd = fi->entry.length / CODEC_SEGMENT_SIZE +
		      (fi->entry.length % CODEC_SEGMENT_SIZE != 0);
	uint64_t missing = 0, lagging = 0;
	size_t nup = 0;
	bool decodable = true;
	const char *state;
	json_t *nodes = json_array();

	for (uint32_t sh = 0; sh < num && nup <= NODE_PEERS_MAX; sh++)
		for (size_t i = 0; i < h->n; i++)
			if (h->nodes[i].finalized && node_keeps(&h->nodes[i], sh, num)) {
				up[nup++] = sh;
				break;
			}
	if (st->ec_k && node_ec_layout_valid(&lay)) {
		for (uint64_t j = 0, ns = node_ec_nstripes(&lay, nd); j < ns; j++) {
			unsigned lost[NODE_EC_SYMBOLS_MAX];
			unsigned l = node_ec_stripe_lost(&lay, start_seg, nd, j, up, nup, lost);

			missing += l;
			decodable &= l <= lay.m;
		}
	} else {
		for (uint64_t i = 0; i < nd; i++) {
			bool have = false;

			for (size_t u = 0; u < nup && !have; u++)
				have = (start_seg + i) % num == up[u];
			missing += !have;
		}
		decodable = missing == 0;
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct hnode *x = &h->nodes[i];

		lagging += !x->finalized;
		json_array_append_new(nodes,
				      json_pack("{s:s, s:s, s:b, s:b}", "url", x->url, "shard",
						x->up ? "" : "?", "up", x->up, "finalized",
						x->finalized));
		if (x->up) {
			char shard[32];

			snprintf(shard, sizeof(shard), "%u/%u", x->shard_id, x->num_shard);
			json_object_set_new(json_array_get(nodes, json_array_size(nodes) - 1),
					    "shard", json_string(shard));
		}
	}
	state = missing == 0 ? (lagging == 0 ? "redundant" : "degraded")
			     : decodable ? "degraded" : "unrecoverable";
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:I, s:I, s:I, s:o}", "state", state,
			 "txSeq", node_rpc_u64(fi->entry.tx_seq), "root",
			 node_rpc_hex(fi->entry.root, CODEC_HASH_SIZE), "size",
			 node_rpc_u64(fi->entry.length), "missingSymbols", node_rpc_u64(missing),
			 "decodable", decodable, "nodesNotFinalized", node_rpc_u64(lagging),
			 "numShard", (json_int_t)num, "ecK", (json_int_t)st->ec_k, "ecM",
			 (json_int_t)st->ec_m, "nodes", nodes);
}

/* The cluster: every node, up or not, its shard and its sync and rebuild progress. */
static json_t *cluster_health(const struct hreport *h, const struct node_status *st)
{
	uint32_t num = st->num_shard ? st->num_shard : 1;
	struct node_ec_layout lay = {.k = st->ec_k, .m = st->ec_m, .num = num};
	unsigned shards_down = 0, nodes_down = 0;
	json_t *nodes = json_array();
	const char *state;

	for (uint32_t sh = 0; sh < num; sh++) {
		bool kept = false;

		for (size_t i = 0; i < h->n && !kept; i++)
			kept = h->nodes[i].up && node_keeps(&h->nodes[i], sh, num);
		shards_down += !kept;
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct hnode *x = &h->nodes[i];
		json_t *o = json_pack("{s:s, s:b, s:b}", "url", x->url, "up", x->up, "self", x->self);

		nodes_down += !x->up;
		if (x->up) {
			char shard[32];

			snprintf(shard, sizeof(shard), "%u/%u", x->shard_id, x->num_shard);
			json_object_set_new(o, "shard", json_string(shard));
			json_object_set(o, "status", x->status);
		}
		json_array_append_new(nodes, o);
	}
	if (shards_down == 0)
		state = nodes_down == 0 ? "redundant" : "degraded";
	else
		state = st->ec_k && node_ec_layout_valid(&lay) && shards_down <= lay.m
				? "degraded"
				: "unrecoverable";
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "state", state, "numShard",
			 (json_int_t)num, "ecK", (json_int_t)st->ec_k, "ecM", (json_int_t)st->ec_m,
			 "shardsDown", (json_int_t)shards_down, "nodesDown",
			 (json_int_t)nodes_down, "nodes", nodes);
}

/*
 * zgfs_health([txSeq]) - asks this node and every peer (zgfs_status, and for an entry
 * zgs_getFileInfoByTxSeq) and reports the cluster or the entry: state redundant,
 * degraded or unrecoverable (docs/PEERS.md, "Health").
 */
static int m_zgfs_health(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_peers *peers = node_local_peers(n);
	struct hreport h = {.max = NODE_PEERS_MAX + 1};
	struct node_file_info *fi = NULL;
	struct node_status st;
	json_t *self = NULL, *res = NULL;
	uint64_t seq = 0;
	bool by_seq = rpc_arg(ps, 0, "txSeq") != NULL;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 ||
	    (by_seq && (r = rpc_u64(ps, 0, "txSeq", false, &seq, err)) < 0))
		return r;
	if (!peers)
		return rpc_not_here(err, "zgfs_health: not a node with a store");
	r = node_status(n, &st);
	if (r < 0)
		return rpc_node_fail(err, r, "status");
	h.nodes = calloc(h.max, sizeof(*h.nodes));
	fi = malloc(sizeof(*fi));
	if (!h.nodes || !fi) {
		r = rpc_no_memory(err);
		goto out;
	}
	r = m_zgfs_status(n, NULL, &self, err);
	if (r < 0)
		goto out;
	took_status(&h, node_local_url(n) ? node_local_url(n) : "(this node)", self, 0);
	h.nodes[0].self = true;
	node_peers_call_each(peers, "zgfs_status", NULL, took_status, &h);
	if (by_seq) {
		struct hentry he = {.h = &h, .i = 1};
		char params[32];

		r = node_file_info_by_seq(n, seq, fi);
		if (r == -ENOENT) {
			r = rpc_bad_param(err, "txSeq", "no entry %llu is settled",
					  (unsigned long long)seq);
			goto out;
		}
		if (r < 0) {
			r = rpc_node_fail(err, r, "file info");
			goto out;
		}
		h.nodes[0].finalized = fi->finalized;
		snprintf(params, sizeof(params), "[%llu]", (unsigned long long)seq);
		if (h.n > 1)
			node_peers_call_each(peers, "zgs_getFileInfoByTxSeq", params, took_info, &he);
		res = entry_health(&h, &st, fi);
	} else {
		res = cluster_health(&h, &st);
	}
	r = rpc_done(res, ret, err);
out:
	for (size_t i = 0; h.nodes && i < h.n; i++)
		json_decref(h.nodes[i].status);
	json_decref(self);
	free(h.nodes);
	free(fi);
	return r;
}

static int peer_json(void *ctx, const struct node_peer_report *p)
{
	json_t *o =
	    json_pack("{s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:i}", "url", p->url, "shardId",
		      p->shard_known ? json_integer(p->shard_id) : json_null(), "numShard",
		      p->shard_known ? json_integer(p->num_shard) : json_null(), "up", p->up,
		      "fetched", node_rpc_u64(p->fetched), "failures", node_rpc_u64(p->failures),
		      "wrong", node_rpc_u64(p->wrong), "lastError", p->last_error);

	return o ? json_array_append_new(ctx, o) : -ENOMEM;
}

/* zgfs_peers() → the node's peers as it sees them, in the order it learned them
 * (docs/PEERS.md, "Failures and what they leave"); [] for a node without peers. */
static int m_zgfs_peers(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_peers *peers = node_local_peers(n);
	json_t *a;
	int r = rpc_at_most(ps, 0, err);

	if (r < 0)
		return r;
	a = json_array();
	if (!a)
		return rpc_node_fail(err, -ENOMEM, "peers");
	r = peers ? node_peers_list(peers, peer_json, a) : 0;
	if (r) {
		json_decref(a);
		return rpc_node_fail(err, -ENOMEM, "peers");
	}
	*ret = a;
	return 0;
}

/* zgfs_syncNow(txSeq[, relay = true]) → null: the uploader of entry txSeq is done (every
 * data segment landed on its shard's nodes), so this node, and with relay every peer,
 * syncs it (builds its parity) now rather than after NODE_SYNC_DELAY_MS. */
static int m_zgfs_sync_now(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint64_t seq;
	bool relay = true;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_u64(ps, 0, "txSeq", false, &seq, err)) < 0 ||
	    (r = rpc_bool(ps, 1, "relay", true, &relay, err)) < 0)
		return r;
	r = node_local_sync_now(n, seq, relay);
	if (r == -ENOTSUP)
		return rpc_not_here(err, "zgfs_syncNow: this node does not sync from peers");
	if (r < 0)
		return rpc_node_fail(err, r, "sync");
	return rpc_done(json_null(), ret, err);
}

/* zgfs_mineStatus() → what `zgfs mine status --json` prints (docs/PORA.md). */
static int m_zgfs_mine_status(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	json_t *o;
	int r = rpc_at_most(ps, 0, err);

	if (r < 0)
		return r;
	r = node_local_mine_status(n, &o);
	if (r == -ENOENT)
		return rpc_not_here(err,
				    "zgfs_mineStatus: this node does not mine (zgfs node --mine)");
	if (r < 0)
		return rpc_node_fail(err, r, "mine status");
	*ret = o;
	return 0;
}

static int m_zgfs_file_info(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_file_info *fi = NULL;
	int r = lookup_seq_or_root(n, ps, &fi, err);

	if (r == 1)
		r = rpc_done(json_null(), ret, err);
	else if (r == 0)
		r = rpc_done(json_pack("{s:o, s:b, s:o, s:b}", "entry", entry_json(&fi->entry),
				       "finalized", fi->finalized, "uploadedSegments",
				       node_rpc_u64(fi->uploaded_segments), "pruned", fi->pruned),
			     ret, err);
	free(fi);
	return r;
}

/* zgfs_submit({length, tags, nodes: [{root, height}]}): settle a submission whose bytes
 * will follow in segments by tx seq. */
static int m_zgfs_submit(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	json_t *o = rpc_arg(ps, 0, "submission"), *nodes, *tags;
	struct chain_submission *sub = NULL;
	struct chain_entry *e = NULL;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0)
		return r;
	if (!node_local_store(n))
		return rpc_not_here(err, "this node settles submissions only for a local store");
	if (!json_is_object(o))
		return rpc_bad_param(err, "submission", "expected {length, tags, nodes}");
	sub = calloc(1, sizeof(*sub));
	e = malloc(sizeof(*e));
	if (!sub || !e) {
		r = rpc_no_memory(err);
		goto out;
	}
	if ((r = rpc_u64(o, 0, "length", false, &sub->length, err)) < 0)
		goto out;
	if (sub->length == 0) {
		r = rpc_bad_param(err, "length", "0G has no empty entries");
		goto out;
	}
	tags = json_object_get(o, "tags");
	if (tags && !json_is_null(tags)) {
		const char *s = json_string_value(tags);
		size_t hex = s ? strlen(s) : 0;

		if (s && strncmp(s, "0x", 2) == 0)
			hex -= 2;
		if (!s || hex % 2 || hex / 2 > CHAIN_TAGS_MAX ||
		    codec_hex_decode(s, sub->tags, hex / 2) < 0) {
			r = rpc_bad_param(err, "tags", "expected 0x and at most %d bytes of hex",
					  CHAIN_TAGS_MAX);
			goto out;
		}
		sub->tags_len = hex / 2;
	}
	nodes = json_object_get(o, "nodes");
	if (!json_is_array(nodes) || json_array_size(nodes) == 0 ||
	    json_array_size(nodes) > CODEC_MAX_NODES) {
		r = rpc_bad_param(err, "nodes", "expected 1 to %d nodes {root, height}",
				  CODEC_MAX_NODES);
		goto out;
	}
	sub->nnodes = json_array_size(nodes);
	for (size_t i = 0; i < sub->nnodes; i++) {
		json_t *nd = json_array_get(nodes, i);
		uint64_t h;

		if (!json_is_object(nd) ||
		    (r = rpc_hash(nd, 0, "root", false, sub->nodes[i].root, err)) < 0 ||
		    (r = rpc_u64(nd, 0, "height", false, &h, err)) < 0 || h >= 64) {
			r = rpc_bad_param(err, "nodes", "node %zu: expected {root, height < 64}",
					  i);
			goto out;
		}
		sub->nodes[i].height = (unsigned)h;
	}
	r = node_local_submit(n, sub, e);
	if (r < 0) {
		r = rpc_node_fail(err, r, "settling the submission");
		goto out;
	}
	r = rpc_done(entry_json(e), ret, err);
out:
	free(e);
	free(sub);
	return r;
}

struct history_ctx {
	json_t *list;
	uint64_t after;
	bool has_after;
	size_t limit;
	int err;
};

static int history_one(void *ctx, uint64_t version, uint64_t size)
{
	struct history_ctx *c = ctx;

	if (c->has_after && version <= c->after)
		return 0;
	if (json_array_size(c->list) >= c->limit)
		return 1;
	if (json_array_append_new(c->list, json_pack("{s:o, s:o}", "version", node_rpc_u64(version),
						     "size", node_rpc_u64(size))) < 0) {
		c->err = -ENOMEM;
		return 1;
	}
	return 0;
}

/* zgfs_kvHistory(streamId, key, after?, limit?) → [{version, size}], oldest first. */
/*
 * zgfs_kvWrite(streamId, [{key, value}, ...]) → {txSeq, result, error}: the node builds the KV
 * transaction (a blind write, like `zgfs kv put`), settles it with its own account and
 * replays it, all before answering. One call, so a client that dies halfway never leaves
 * a settled KV transaction whose data is missing (which would hold up the replay of every
 * later entry). Keys and values are base64; the body limit bounds them. A rejected write
 * (permission, conflict) is still an answer: result names it and error is its -errno.
 */
static int m_zgfs_kv_write(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint8_t stream[NODE_STREAM_ID_SIZE];
	struct node_put_item *items = NULL;
	uint8_t **bufs = NULL;
	json_t *list;
	size_t nitems = 0;
	uint64_t seq = 0;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "streamId", false, stream, err)) < 0)
		return r;
	list = rpc_arg(ps, 1, "items");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return rpc_bad_param(err, "items", "expected a non-empty array of {key, value}");
	if (json_array_size(list) > NODE_KV_MAX_SET_SIZE)
		return rpc_bad_param(err, "items", "at most %u items", NODE_KV_MAX_SET_SIZE);
	nitems = json_array_size(list);
	items = calloc(nitems, sizeof(*items));
	bufs = calloc(2 * nitems, sizeof(*bufs));
	if (!items || !bufs) {
		r = rpc_no_memory(err);
		goto out;
	}
	for (size_t i = 0; i < nitems; i++) {
		json_t *it = json_array_get(list, i);

		if (!json_is_object(it)) {
			r = rpc_bad_param(err, "items", "item %zu is not an object", i);
			goto out;
		}
		if ((r = p_key(it, 0, &bufs[2 * i], &items[i].key_len, err)) < 0 ||
		    (r = rpc_bytes(it, 1, "value", false, &bufs[2 * i + 1], &items[i].value_len,
				   err)) < 0)
			goto out;
		items[i].key = bufs[2 * i];
		items[i].value = bufs[2 * i + 1];
	}
	r = node_kv_write(n, stream, items, nitems, &seq);
	if (r < 0 && r != -EACCES && r != -ESTALE && r != -EINVAL) {
		r = rpc_node_fail(err, r, "KV write");
		goto out;
	}
	r = rpc_done(json_pack("{s:o, s:s, s:i}", "txSeq", node_rpc_u64(seq), "result",
			       r == 0 ? "Commit" : rpc_strerror(r), "error", r),
		     ret, err);
out:
	for (size_t i = 0; bufs && i < 2 * nitems; i++)
		free(bufs[i]);
	free(bufs);
	free(items);
	return r;
}

static int m_zgfs_kv_history(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct history_ctx c = {.limit = NODE_RPC_HISTORY_MAX};
	uint8_t stream[NODE_STREAM_ID_SIZE], *key = NULL;
	uint64_t limit;
	size_t key_len;
	int r;

	if ((r = rpc_at_most(ps, 4, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "streamId", false, stream, err)) < 0)
		return r;
	r = rpc_u64(ps, 2, "after", true, &c.after, err);
	if (r < 0)
		return r;
	c.has_after = r == 0;
	r = rpc_u64(ps, 3, "limit", true, &limit, err);
	if (r < 0)
		return r;
	if (r == 0 && (limit == 0 || limit > NODE_RPC_HISTORY_MAX))
		return rpc_bad_param(err, "limit", "1 to %d", NODE_RPC_HISTORY_MAX);
	if (r == 0)
		c.limit = (size_t)limit;
	if ((r = p_key(ps, 1, &key, &key_len, err)) < 0)
		return r;
	c.list = json_array();
	if (!c.list) {
		free(key);
		return rpc_no_memory(err);
	}
	r = node_kv_versions(n, stream, key, key_len, history_one, &c);
	free(key);
	if (r == 0 || r == 1)
		r = c.err;
	if (r == -ENOMEM) {
		json_decref(c.list);
		return rpc_no_memory(err);
	}
	if (r < 0 && r != -ENOENT) {
		json_decref(c.list);
		return rpc_node_fail(err, r, "key history");
	}
	*ret = c.list;
	return 0;
}

struct list_ctx {
	json_t *items;
	const uint8_t *after;
	size_t after_len, limit, bytes;
	bool more; /* stopped with keys left: by the limit or the byte budget */
	int err;
};

static int list_one(void *ctx, const uint8_t *key, size_t key_len, const struct node_value *v)
{
	struct list_ctx *c = ctx;
	json_t *data;

	/* Strictly after `after`, whether the node's listing starts at it or after it. */
	if (c->after && key_len == c->after_len && memcmp(key, c->after, key_len) == 0)
		return 0;
	if (json_array_size(c->items) == c->limit ||
	    (json_array_size(c->items) > 0 && c->bytes + v->len > NODE_RPC_KV_QUERY_MAX)) {
		c->more = true;
		return 1;
	}
	/* A value too large for one answer goes without its bytes: the client reads it in
	 * slices with kv_getValue. */
	data = v->len > NODE_RPC_KV_QUERY_MAX ? json_null() : node_rpc_base64(v->data, v->len);
	c->bytes += v->len > NODE_RPC_KV_QUERY_MAX ? 0 : v->len;
	if (json_array_append_new(c->items, json_pack("{s:o, s:o, s:o, s:o}", "key",
						      node_rpc_base64(key, key_len), "version",
						      node_rpc_u64(v->version), "size",
						      node_rpc_u64(v->len), "data", data)) < 0) {
		c->err = -ENOMEM;
		return 1;
	}
	return 0;
}

/* zgfs_kvList(streamId, after?, limit?, version?) → {items: [{key, version, size, data}],
 * complete}: keys in order strictly after `after` (base64; absent or null: from the first),
 * at most limit of them and about NODE_RPC_KV_QUERY_MAX bytes of values, as the stream
 * stood right after tx seq `version` (absent: the latest); complete when the stream's end
 * was reached. */
static int m_zgfs_kv_list(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct list_ctx c = {0};
	uint8_t stream[NODE_STREAM_ID_SIZE], *after = NULL;
	uint64_t limit = NODE_RPC_LIST_MAX, version = UINT64_MAX;
	int r;

	if ((r = rpc_at_most(ps, 4, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "streamId", false, stream, err)) < 0)
		return r;
	r = rpc_u64(ps, 2, "limit", true, &limit, err);
	if (r == 0)
		r = rpc_u64(ps, 3, "version", true, &version, err);
	if (r < 0)
		return r;
	if (limit == 0 || limit > NODE_RPC_LIST_MAX)
		return rpc_bad_param(err, "limit", "1 to %d", NODE_RPC_LIST_MAX);
	r = rpc_bytes(ps, 1, "after", true, &after, &c.after_len, err);
	if (r < 0)
		return r;
	c.after = after;
	c.limit = (size_t)limit;
	c.items = json_array();
	if (!c.items) {
		free(after);
		return rpc_no_memory(err);
	}
	/* Two more than the limit: `after` itself, and one to tell whether more follow. */
	r = node_kv_list_at(n, stream, after, c.after_len, version, (size_t)limit + 2, list_one,
			    &c);
	free(after);
	if (r >= 0)
		r = c.err;
	if (r < 0 && r != -ENOENT) {
		json_decref(c.items);
		return r == -ENOMEM ? rpc_no_memory(err) : rpc_node_fail(err, r, "key list");
	}
	return rpc_done(json_pack("{s:o, s:b}", "items", c.items, "complete", !c.more), ret, err);
}

/* ---- kv_*: 0G's KV node queries over node/kv.h --------------------------------------- */

static int need_kv(struct node *n, struct node_kv **kv, struct node_rpc_error *err)
{
	*kv = node_local_kv(n);
	return *kv ? 0 : rpc_not_here(err, "this node answers kv_* only for its own KV state");
}

/* Version parameter at position i: absent means the latest. */
static int p_version(json_t *ps, size_t i, uint64_t *v, struct node_rpc_error *err)
{
	int r = rpc_u64(ps, i, "version", true, v, err);

	if (r == 1)
		*v = NODE_KV_LATEST;
	return r < 0 ? r : 0;
}

/* kv_* len parameter: at most NODE_RPC_KV_QUERY_MAX (0G: max_query_len_in_bytes). */
static int p_len(json_t *ps, size_t i, size_t *len, struct node_rpc_error *err)
{
	uint64_t v;
	int r = rpc_u64(ps, i, "len", false, &v, err);

	if (r < 0)
		return r;
	if (v > NODE_RPC_KV_QUERY_MAX)
		return rpc_bad_param(err, "len", "query length too large");
	*len = (size_t)v;
	return 0;
}

static int kv_fail(struct node_rpc_error *err, int r, const char *what)
{
	if (r == -EINVAL)
		return rpc_bad_param(err, "start_index",
				     "start index is greater than value length");
	if (r == -E2BIG)
		return rpc_bad_param(err, "len", "query length too large");
	return rpc_node_fail(err, r, what);
}

static json_t *value_json(const struct node_kv_value *v)
{
	return json_pack("{s:o, s:o, s:o}", "version", node_rpc_u64(v->version), "data",
			 node_rpc_base64(v->data, v->len), "size", node_rpc_u64(v->size));
}

static json_t *pair_json(const struct node_kv_pair *p)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "version", node_rpc_u64(p->value.version), "key",
			 node_rpc_base64(p->key, p->key_len), "data",
			 node_rpc_base64(p->value.data, p->value.len), "size",
			 node_rpc_u64(p->value.size));
}

/* kv_getValue(streamId, key, startIndex, len, version?) → {version, data, size}. Like 0G's
 * KV node, a key never written answers {version: 0, data: "", size: 0}, not null: the
 * SDK's KvClient.getValue() reads the fields of whatever comes back. */
static int m_kv_get_value(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_kv *kv;
	struct node_kv_value v;
	uint8_t stream[NODE_STREAM_ID_SIZE], *key = NULL;
	uint64_t start, version;
	size_t key_len, len = 0;
	int r;

	if ((r = rpc_at_most(ps, 5, err)) < 0 || (r = need_kv(n, &kv, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "streamId", false, stream, err)) < 0 ||
	    (r = rpc_u64(ps, 2, "startIndex", false, &start, err)) < 0 ||
	    (r = p_len(ps, 3, &len, err)) < 0 || (r = p_version(ps, 4, &version, err)) < 0 ||
	    (r = p_key(ps, 1, &key, &key_len, err)) < 0)
		return r;
	r = node_kv_get(kv, stream, key, key_len, start, len, version, &v);
	free(key);
	if (r == -ENOENT)
		return rpc_done(json_pack("{s:i, s:s, s:i}", "version", 0, "data", "", "size", 0),
				ret, err);
	if (r < 0)
		return kv_fail(err, r, "kv get");
	r = rpc_done(value_json(&v), ret, err);
	node_kv_value_release(&v);
	return r;
}

enum kv_walk { WALK_NEXT, WALK_PREV, WALK_FIRST, WALK_LAST };

/* kv_getNext/Prev(streamId, key, startIndex, len, inclusive, version?) and
 * kv_getFirst/Last(streamId, startIndex, len, version?) → {version, key, data, size} or
 * null. */
static int kv_walk(struct node *n, json_t *ps, enum kv_walk how, json_t **ret,
		   struct node_rpc_error *err)
{
	bool keyed = how == WALK_NEXT || how == WALK_PREV, inclusive = false;
	size_t k = keyed ? 1 : 0, key_len = 0, len = 0;
	struct node_kv *kv;
	struct node_kv_pair p;
	uint8_t stream[NODE_STREAM_ID_SIZE], *key = NULL;
	uint64_t start, version;
	int r;

	if ((r = rpc_at_most(ps, keyed ? 6 : 4, err)) < 0 || (r = need_kv(n, &kv, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "streamId", false, stream, err)) < 0 ||
	    (r = rpc_u64(ps, k + 1, "startIndex", false, &start, err)) < 0 ||
	    (r = p_len(ps, k + 2, &len, err)) < 0)
		return r;
	if (keyed && (r = rpc_bool(ps, 4, "inclusive", false, &inclusive, err)) < 0)
		return r;
	if ((r = p_version(ps, keyed ? 5 : 3, &version, err)) < 0)
		return r;
	if (keyed && (r = p_key(ps, 1, &key, &key_len, err)) < 0)
		return r;
	switch (how) {
	case WALK_NEXT:
		r = node_kv_get_next(kv, stream, key, key_len, inclusive, start, len, version, &p);
		break;
	case WALK_PREV:
		r = node_kv_get_prev(kv, stream, key, key_len, inclusive, start, len, version, &p);
		break;
	case WALK_FIRST:
		r = node_kv_get_first(kv, stream, start, len, version, &p);
		break;
	default:
		r = node_kv_get_last(kv, stream, start, len, version, &p);
		break;
	}
	free(key);
	if (r == -ENOENT)
		return rpc_done(json_null(), ret, err);
	if (r < 0)
		return kv_fail(err, r, "kv iteration");
	r = rpc_done(pair_json(&p), ret, err);
	node_kv_pair_release(&p);
	return r;
}

static int m_kv_get_next(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return kv_walk(n, ps, WALK_NEXT, ret, err);
}

static int m_kv_get_prev(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return kv_walk(n, ps, WALK_PREV, ret, err);
}

static int m_kv_get_first(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return kv_walk(n, ps, WALK_FIRST, ret, err);
}

static int m_kv_get_last(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return kv_walk(n, ps, WALK_LAST, ret, err);
}

/* kv_getTransactionResult(txSeq) → 0G's result string, or null when not replayed yet (and
 * for entries that are not KV transactions: 0G's replayer records nothing for them). */
static int m_kv_tx_result(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_kv *kv;
	struct node_kv_result res;
	json_t *text;
	uint64_t seq;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 || (r = need_kv(n, &kv, err)) < 0 ||
	    (r = rpc_u64(ps, 0, "txSeq", false, &seq, err)) < 0)
		return r;
	r = node_kv_result(kv, seq, &res);
	if (r == -ENOENT || (r == 0 && res.outcome == NODE_KV_SKIPPED))
		return rpc_done(json_null(), ret, err);
	if (r < 0)
		return rpc_node_fail(err, r, "kv transaction result");
	res.text[sizeof(res.text) - 1] = 0;
	/* The text may quote a key's bytes: json_string() refuses invalid UTF-8. */
	text = json_string(res.text);
	if (!text)
		text = json_string(node_kv_outcome_name(res.outcome));
	return rpc_done(text, ret, err);
}

static int stream_one(void *ctx, const uint8_t *stream)
{
	json_t *list = ctx;

	if (json_array_size(list) >= NODE_RPC_LIST_MAX * 16)
		return -E2BIG;
	return json_array_append_new(list, node_rpc_hex(stream, NODE_KV_STREAM_ID_SIZE)) < 0
		   ? -ENOMEM
		   : 0;
}

static int m_kv_holding_streams(struct node *n, json_t *ps, json_t **ret,
				struct node_rpc_error *err)
{
	struct node_kv *kv;
	json_t *list;
	int r;

	if ((r = rpc_at_most(ps, 0, err)) < 0 || (r = need_kv(n, &kv, err)) < 0)
		return r;
	list = json_array();
	if (!list)
		return rpc_no_memory(err);
	r = node_kv_holding_stream_ids(kv, stream_one, list);
	if (r < 0) {
		json_decref(list);
		return r == -ENOMEM ? rpc_no_memory(err) : rpc_node_fail(err, r, "stream ids");
	}
	*ret = list;
	return 0;
}

enum kv_acl_query {
	ACL_WRITE_PERMISSION,
	ACL_ADMIN,
	ACL_SPECIAL_KEY,
	ACL_WRITER_OF_KEY,
	ACL_WRITER_OF_STREAM
};

/*
 * kv_hasWritePermission(account, streamId, key, version?), kv_isAdmin(account, streamId,
 * version?), kv_isSpecialKey(streamId, key, version?), kv_isWriterOfKey(account, streamId,
 * key, version?), kv_isWriterOfStream(account, streamId, version?) → bool.
 */
static int kv_acl(struct node *n, json_t *ps, enum kv_acl_query q, json_t **ret,
		  struct node_rpc_error *err)
{
	bool has_account = q != ACL_SPECIAL_KEY;
	bool has_key = q == ACL_WRITE_PERMISSION || q == ACL_SPECIAL_KEY || q == ACL_WRITER_OF_KEY;
	size_t i = 0, key_len = 0;
	struct node_kv *kv;
	uint8_t account[CHAIN_ADDRESS_SIZE], stream[NODE_STREAM_ID_SIZE], *key = NULL;
	uint64_t version;
	bool is = false;
	int r;

	if ((r = rpc_at_most(ps, has_account + has_key + 2, err)) < 0 ||
	    (r = need_kv(n, &kv, err)) < 0)
		return r;
	if (has_account && (r = rpc_addr(ps, i++, "account", account, err)) < 0)
		return r;
	if ((r = rpc_hash(ps, i++, "streamId", false, stream, err)) < 0)
		return r;
	if (has_key && (r = p_version(ps, i + 1, &version, err)) < 0)
		return r;
	if (!has_key && (r = p_version(ps, i, &version, err)) < 0)
		return r;
	if (has_key && (r = p_key(ps, i, &key, &key_len, err)) < 0)
		return r;
	switch (q) {
	case ACL_WRITE_PERMISSION:
		r = node_kv_has_write_permission(kv, account, stream, key, key_len, version, &is);
		break;
	case ACL_ADMIN:
		r = node_kv_is_admin(kv, account, stream, version, &is);
		break;
	case ACL_SPECIAL_KEY:
		r = node_kv_is_special_key(kv, stream, key, key_len, version, &is);
		break;
	case ACL_WRITER_OF_KEY:
		r = node_kv_is_writer_of_key(kv, account, stream, key, key_len, version, &is);
		break;
	default:
		r = node_kv_is_writer_of_stream(kv, account, stream, version, &is);
		break;
	}
	free(key);
	if (r < 0)
		return rpc_node_fail(err, r, "kv access control");
	return rpc_done(json_boolean(is), ret, err);
}

static int m_kv_has_write_permission(struct node *n, json_t *ps, json_t **ret,
				     struct node_rpc_error *err)
{
	return kv_acl(n, ps, ACL_WRITE_PERMISSION, ret, err);
}

static int m_kv_is_admin(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return kv_acl(n, ps, ACL_ADMIN, ret, err);
}

static int m_kv_is_special_key(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	return kv_acl(n, ps, ACL_SPECIAL_KEY, ret, err);
}

static int m_kv_is_writer_of_key(struct node *n, json_t *ps, json_t **ret,
				 struct node_rpc_error *err)
{
	return kv_acl(n, ps, ACL_WRITER_OF_KEY, ret, err);
}

static int m_kv_is_writer_of_stream(struct node *n, json_t *ps, json_t **ret,
				    struct node_rpc_error *err)
{
	return kv_acl(n, ps, ACL_WRITER_OF_STREAM, ret, err);
}

static int m_kv_get_status(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_kv *kv;
	int r;

	if ((r = rpc_at_most(ps, 0, err)) < 0 || (r = need_kv(n, &kv, err)) < 0)
		return r;
	return rpc_done(json_true(), ret, err);
}

/* ---- the table ------------------------------------------------------------------------ */

static const struct node_rpc_method methods[] = {
    {"zgs_getStatus", m_get_status},
    {"zgs_getShardConfig", m_get_shard_config},
    {"zgs_getFileInfo", m_get_file_info},
    {"zgs_getFileInfoByTxSeq", m_get_file_info_by_seq},
    {"zgs_checkFileFinalized", m_check_file_finalized},
    {"zgs_uploadSegment", m_upload_segment},
    {"zgs_uploadSegments", m_upload_segments},
    {"zgs_uploadSegmentByTxSeq", m_upload_segment_by_seq},
    {"zgs_uploadSegmentsByTxSeq", m_upload_segments_by_seq},
    {"zgs_downloadSegment", m_download_segment},
    {"zgs_downloadSegmentByTxSeq", m_download_segment_by_seq},
    {"zgs_downloadSegmentWithProof", m_download_segment_with_proof},
    {"zgs_downloadSegmentWithProofByTxSeq", m_download_segment_with_proof_by_seq},
    {"zgs_getSectorProof", m_get_sector_proof},
    {"kv_getStatus", m_kv_get_status},
    {"kv_getValue", m_kv_get_value},
    {"kv_getNext", m_kv_get_next},
    {"kv_getPrev", m_kv_get_prev},
    {"kv_getFirst", m_kv_get_first},
    {"kv_getLast", m_kv_get_last},
    {"kv_getTransactionResult", m_kv_tx_result},
    {"kv_getHoldingStreamIds", m_kv_holding_streams},
    {"kv_hasWritePermission", m_kv_has_write_permission},
    {"kv_isAdmin", m_kv_is_admin},
    {"kv_IsAdmin", m_kv_is_admin}, /* the name the SDK's StorageKv.isAdmin() calls */
    {"kv_isSpecialKey", m_kv_is_special_key},
    {"kv_isWriterOfKey", m_kv_is_writer_of_key},
    {"kv_isWriterOfStream", m_kv_is_writer_of_stream},
    {"zgfs_status", m_zgfs_status},
    {"zgfs_mineStatus", m_zgfs_mine_status},
    {"zgfs_health", m_zgfs_health},
    {"zgfs_peers", m_zgfs_peers},
    {"zgfs_syncNow", m_zgfs_sync_now},
    {"zgfs_getFileInfo", m_zgfs_file_info},
    {"zgfs_getParityByTxSeq", m_zgfs_parity},
    {"zgfs_getSegmentProofByTxSeq", m_zgfs_segment_proof},
    {"zgfs_submit", m_zgfs_submit},
    {"zgfs_kvHistory", m_zgfs_kv_history},
    {"zgfs_kvList", m_zgfs_kv_list},
    {"zgfs_kvWrite", m_zgfs_kv_write},
    {NULL, NULL},
};

int node_rpc_dispatch(struct node *n, const char *method, json_t *params, json_t **ret_result,
		      struct node_rpc_error *err)
{
	const struct node_rpc_method *const tables[] = {methods, node_rpc_da_methods};

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct node_rpc_method *m = tables[t]; m->name; m++) {
			if (strcmp(m->name, method) != 0)
				continue;
			if (params && !json_is_array(params) && !json_is_object(params))
				return rpc_bad_param(err, "params",
						     "expected an array or an object");
			return m->fn(n, params, ret_result, err);
		}
	}
	err->code = NODE_RPC_ENO_METHOD;
	err->node_err = 0;
	snprintf(err->message, sizeof(err->message), "Method not found");
	snprintf(err->data, sizeof(err->data), "%.200s", method);
	return NODE_RPC_ENO_METHOD;
}
