/*
 * The JSON-RPC server, methods and client, over real HTTP on a node in this process:
 * malformed requests get the right JSON-RPC error and change nothing (oversized bodies,
 * broken JSON, wrong shapes, unknown methods, bad parameters, uploads with truncated
 * base64, wrong proofs, wrong roots, out-of-range indexes); then entries uploaded through
 * node_open_remote() read back byte-exact and verified, segments come with proofs that
 * verify, and KV writes and reads work remotely; the client's calls go through the network
 * door, so its faults (refuse, rpcerror, error, truncate, corrupt) come back as the
 * client's errors, and a segment with any byte flipped is refused.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "codec/hex.h"
#include "codec/merkle.h"
#include "codec/proof.h"
#include "node/node.h"
#include "node/peer/net.h"
#include "node/rpc/rpc.h"
#include "tests/tap.h"

#define SEG CODEC_SEGMENT_SIZE

static char url[64];

/* ---- raw HTTP ---------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len;
};

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	char *q = realloc(b->p, b->len + size * n + 1);

	if (!q)
		return 0;
	memcpy(q + b->len, p, size * n);
	b->p = q;
	b->len += size * n;
	b->p[b->len] = 0;
	return size * n;
}

struct source {
	size_t left;
};

static size_t source(char *p, size_t size, size_t n, void *ctx)
{
	struct source *s = ctx;
	size_t k = size * n < s->left ? size * n : s->left;

	memset(p, ' ', k);
	s->left -= k;
	return k;
}

/* POSTs body (len bytes; chunked from a generator of `chunked` bytes when body is NULL);
 * returns the HTTP status and the parsed answer (NULL when not JSON). */
static long post(const char *body, size_t len, size_t chunked, json_t **ret, const char *verb)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	struct buf b = {0};
	struct source src = {chunked};
	long status = 0;

	hd = curl_slist_append(hd, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	if (verb) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, verb);
	} else if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		hd = curl_slist_append(hd, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, source);
		curl_easy_setopt(h, CURLOPT_READDATA, &src);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*ret = b.p ? json_loads(b.p, 0, NULL) : NULL;
	free(b.p);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return status;
}

static long post_text(const char *text, json_t **ret)
{
	return post(text, strlen(text), 0, ret, NULL);
}

/* The error code of an answer (0 when it has a result). */
static int error_code(json_t *ans)
{
	json_t *e = json_object_get(ans, "error");

	return e ? (int)json_integer_value(json_object_get(e, "code")) : 0;
}

static const char *error_text(json_t *ans)
{
	json_t *e = json_object_get(ans, "error");
	static char s[512];

	snprintf(s, sizeof(s), "%s / %s", json_string_value(json_object_get(e, "message")),
		 json_string_value(json_object_get(e, "data")));
	return s;
}

/* Calls method with params (stolen) over raw HTTP; returns the whole answer. */
static json_t *call(const char *method, json_t *params)
{
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 7, "method", method,
				"params", params ? params : json_array());
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *ans = NULL;

	post_text(text, &ans);
	free(text);
	json_decref(req);
	return ans;
}

static int call_code(const char *method, json_t *params, const char *want_in_message)
{
	json_t *ans = call(method, params);
	int code = error_code(ans);

	if (want_in_message && code && !strstr(error_text(ans), want_in_message))
		diag("%s: error text '%s' lacks '%s'", method, error_text(ans), want_in_message);
	if (want_in_message && code && !strstr(error_text(ans), want_in_message))
		code = 1;
	json_decref(ans);
	return code;
}

/* ---- entries built here -------------------------------------------------------------- */

struct file {
	uint8_t *data;
	uint64_t size;
	uint8_t root[CODEC_HASH_SIZE];
	codec_hash *leaves;
	uint64_t nleaves;
};

static void file_make(struct file *f, uint64_t size)
{
	uint64_t padded;

	f->size = size;
	f->data = malloc(size);
	tap_fill(f->data, size);
	codec_file_root(f->data, size, f->root);
	f->nleaves = codec_num_segments(size);
	f->leaves = calloc(f->nleaves, sizeof(codec_hash));
	padded = codec_padded_chunks(codec_num_chunks(size));
	for (uint64_t i = 0; i < f->nleaves; i++) {
		uint64_t off = i * SEG, len = off < size ? size - off : 0;
		uint64_t chunks = padded - i * CODEC_SEGMENT_CHUNKS;

		if (len > SEG)
			len = SEG;
		if (chunks > CODEC_SEGMENT_CHUNKS)
			chunks = CODEC_SEGMENT_CHUNKS;
		codec_segment_root(f->data + (len ? off : 0), len, (unsigned)chunks, f->leaves[i]);
	}
}

static void file_free(struct file *f)
{
	free(f->data);
	free(f->leaves);
}

/* Segment index of f as SegmentWithProof JSON (data padded to a whole chunk). */
static json_t *segment_json(const struct file *f, uint64_t index)
{
	struct codec_proof p;
	uint64_t off = index * SEG, len = f->size - off < SEG ? f->size - off : SEG;
	uint64_t padded = codec_num_chunks(len) * CODEC_CHUNK_SIZE;
	uint8_t *buf = calloc(1, SEG);
	json_t *j;

	memcpy(buf, f->data + off, len);
	codec_proof_build(f->leaves[0], f->nleaves, index, &p);
	j = node_rpc_segment_to_json(f->root, buf, padded, index, f->size, &p);
	free(buf);
	return j;
}

/* zgfs_submit for f; returns its tx seq (UINT64_MAX on failure). */
static uint64_t submit(const struct file *f)
{
	struct codec_merkle m;
	struct codec_subnode nodes[CODEC_MAX_NODES];
	size_t nn;
	json_t *arr = json_array(), *ans;
	uint64_t seq = UINT64_MAX;

	codec_merkle_init(&m);
	codec_merkle_update(&m, f->data, f->size);
	codec_merkle_finish(&m, NULL, nodes, &nn, NULL);
	codec_merkle_release(&m);
	for (size_t i = 0; i < nn; i++)
		json_array_append_new(arr, json_pack("{s:o, s:i}", "root",
						     node_rpc_hex(nodes[i].root, CODEC_HASH_SIZE),
						     "height", (int)nodes[i].height));
	ans = call("zgfs_submit", json_pack("[{s:I, s:s, s:o}]", "length", (json_int_t)f->size,
					    "tags", "0x", "nodes", arr));
	if (error_code(ans) == 0)
		node_rpc_get_u64(json_object_get(json_object_get(ans, "result"), "txSeq"), &seq);
	else
		diag("zgfs_submit: %s", error_text(ans));
	json_decref(ans);
	return seq;
}

/* zgs_getFileInfoByTxSeq: uploadedSegNum and finalized, as one number (segments, or
 * 1000000 + segments when finalized); -1 when null. */
static long file_state(uint64_t seq)
{
	json_t *ans = call("zgs_getFileInfoByTxSeq", json_pack("[I]", (json_int_t)seq));
	json_t *res = json_object_get(ans, "result");
	long v = -1;

	if (json_is_object(res))
		v = (long)json_integer_value(json_object_get(res, "uploadedSegNum")) +
		    (json_is_true(json_object_get(res, "finalized")) ? 1000000 : 0);
	json_decref(ans);
	return v;
}

/* POSTs a binary body to url + path; the HTTP status, and the answer as JSON (*ret_json)
 * or bytes (*ret_raw, malloc'd). */
static long post_binary(const char *path, const void *body, size_t len, json_t **ret_json,
			struct buf *ret_raw)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	struct buf b = {0};
	char full[256];
	char *ctype = NULL;
	long status = 0;

	snprintf(full, sizeof(full), "%s%s", url, path);
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	}
	*ret_json = NULL;
	memset(ret_raw, 0, sizeof(*ret_raw));
	if (ctype && strstr(ctype, "octet-stream"))
		*ret_raw = b;
	else {
		*ret_json = b.p ? json_loads(b.p, 0, NULL) : NULL;
		free(b.p);
	}
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return status;
}

/* ---- the checks ------------------------------------------------------------------------ */

static void test_framing(void)
{
	json_t *ans = NULL;
	char *big;
	long st;

	big = malloc(NODE_RPC_BODY_MAX + 1);
	memset(big, ' ', NODE_RPC_BODY_MAX + 1);
	st = post(big, NODE_RPC_BODY_MAX + 1, 0, &ans, NULL);
	ok(st == 413 && error_code(ans) == NODE_RPC_EINVALID_REQUEST,
	   "a body over NODE_RPC_BODY_MAX: HTTP 413 with a JSON-RPC error (got %ld)", st);
	json_decref(ans);
	free(big);
	st = post(NULL, 0, NODE_RPC_BODY_MAX + 4096, &ans, NULL);
	ok(st == 413 || st == 0, "a chunked body over the limit is refused (HTTP %ld)", st);
	json_decref(ans);
	ans = call("zgs_getStatus", NULL);
	ok(error_code(ans) == 0 && json_is_object(json_object_get(ans, "result")),
	   "the node still serves after oversized bodies");
	json_decref(ans);

	st = post(NULL, 0, 0, &ans, "GET");
	ok(st == 405, "GET: HTTP 405 (%ld)", st);
	json_decref(ans);

	st = post_text("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":", &ans);
	ok(st == 200 && error_code(ans) == NODE_RPC_EPARSE &&
	       json_is_null(json_object_get(ans, "id")),
	   "broken JSON: -32700 with id null");
	json_decref(ans);
	post_text("\x01\x02garbage", &ans);
	ok(error_code(ans) == NODE_RPC_EPARSE, "garbage: -32700");
	json_decref(ans);
	post_text("", &ans);
	ok(error_code(ans) == NODE_RPC_EPARSE, "empty body: -32700");
	json_decref(ans);

	post_text("\"zgs_getStatus\"", &ans);
	ok(error_code(ans) == NODE_RPC_EINVALID_REQUEST, "a string: -32600");
	json_decref(ans);
	post_text("[]", &ans);
	ok(error_code(ans) == NODE_RPC_EINVALID_REQUEST, "an empty batch: -32600");
	json_decref(ans);
	post_text("{\"jsonrpc\":\"2.0\",\"id\":1}", &ans);
	ok(error_code(ans) == NODE_RPC_EINVALID_REQUEST &&
	       json_integer_value(json_object_get(ans, "id")) == 1,
	   "no method: -32600, id echoed");
	json_decref(ans);
	post_text("{\"id\":1,\"method\":\"zgs_getStatus\"}", &ans);
	ok(error_code(ans) == NODE_RPC_EINVALID_REQUEST, "no jsonrpc member: -32600");
	json_decref(ans);
	post_text("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", &ans);
	ok(error_code(ans) == NODE_RPC_EINVALID_REQUEST, "method not a string: -32600");
	json_decref(ans);
	post_text("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"zgs_getStatus\",\"params\":3}", &ans);
	ok(error_code(ans) == NODE_RPC_EINVALID_REQUEST, "params a number: -32600");
	json_decref(ans);
	post_text("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"zgs_getStatus\"}", &ans);
	ok(error_code(ans) == NODE_RPC_EPARSE, "duplicate keys: -32700");
	json_decref(ans);

	ok(call_code("zgs_noSuchMethod", NULL, NULL) == NODE_RPC_ENO_METHOD,
	   "unknown method: -32601");
	ok(call_code("zgs_getSectorProof", json_pack("[i]", 0), "getSectorProof") ==
	       NODE_RPC_ENO_METHOD,
	   "zgs_getSectorProof: -32601 with a reason");

	/* The SDK's ids are fractional numbers: echoed as they came. */
	post_text(
	    "{\"jsonrpc\":\"2.0\",\"id\":17234567890123.25,\"method\":\"zgs_getShardConfig\"}",
	    &ans);
	ok(json_real_value(json_object_get(ans, "id")) == 17234567890123.25 &&
	       json_integer_value(json_object_get(json_object_get(ans, "result"), "numShard")) == 1,
	   "a real id is echoed; zgs_getShardConfig answers numShard 1");
	json_decref(ans);

	st = post_text("{\"jsonrpc\":\"2.0\",\"method\":\"zgs_getStatus\"}", &ans);
	ok(st == 204 && !ans, "a notification gets no answer (HTTP %ld)", st);
	json_decref(ans);
	post_text("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"zgs_getShardConfig\"},"
		  "{\"jsonrpc\":\"2.0\",\"method\":\"zgs_getStatus\"},"
		  "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}, 5]",
		  &ans);
	ok(json_array_size(ans) == 3 && error_code(json_array_get(ans, 0)) == 0 &&
	       error_code(json_array_get(ans, 1)) == NODE_RPC_ENO_METHOD &&
	       error_code(json_array_get(ans, 2)) == NODE_RPC_EINVALID_REQUEST,
	   "a batch answers each request but the notification, in order");
	json_decref(ans);
}

static void test_params(void)
{
	ok(call_code("zgs_getFileInfoByTxSeq", json_pack("[s]", "x"), "txSeq") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "a string tx seq: -32602 naming txSeq");
	ok(call_code("zgs_getFileInfoByTxSeq", json_pack("[i]", -1), "txSeq") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "a negative tx seq: -32602");
	ok(call_code("zgs_getFileInfo", NULL, "root") == NODE_RPC_EINVALID_PARAMS,
	   "a missing root: -32602 naming root");
	ok(call_code("zgs_getFileInfo", json_pack("[ib]", 5, 1), "root") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "a number as root: -32602");
	ok(call_code("zgs_getFileInfo", json_pack("[sb]", "0x1234", 1), "root") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "a short root: -32602");
	ok(call_code("zgs_getStatus", json_pack("[i]", 1), "params") == NODE_RPC_EINVALID_PARAMS,
	   "extra parameters: -32602");
	ok(call_code("zgs_downloadSegment",
		     json_pack("[sii]",
			       "0x0000000000000000000000000000000000000000000000000000000000000000",
			       5, 5),
		     "end_index") == NODE_RPC_EINVALID_PARAMS,
	   "downloadSegment with start == end: -32602");
	ok(call_code("zgs_downloadSegment",
		     json_pack("[sii]",
			       "0x0000000000000000000000000000000000000000000000000000000000000000",
			       0, 1025),
		     "end_index") == NODE_RPC_EINVALID_PARAMS,
	   "downloadSegment over 1024 chunks: -32602");
	ok(call_code("kv_getValue", json_pack("[ssii]", "0x00", "AA==", 0, 10), "streamId") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "kv_getValue with a short stream id: -32602");
	ok(call_code("kv_getValue",
		     json_pack("[ssii]",
			       "0x0000000000000000000000000000000000000000000000000000000000000001",
			       "", 0, 10),
		     "key") == NODE_RPC_EINVALID_PARAMS,
	   "kv_getValue with an empty key: -32602 (key is empty)");
	ok(call_code("kv_getValue",
		     json_pack("[ssii]",
			       "0x0000000000000000000000000000000000000000000000000000000000000001",
			       "AA==", 0, NODE_RPC_KV_QUERY_MAX + 1),
		     "len") == NODE_RPC_EINVALID_PARAMS,
	   "kv_getValue over the query limit: -32602");
	ok(call_code("zgfs_submit", json_pack("[{s:i, s:[]}]", "length", 10, "nodes"), "nodes") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "zgfs_submit without nodes: -32602");
}

/* Each malformed upload is refused and stores nothing. */
static void test_bad_uploads(void)
{
	struct file f;
	uint64_t seq;
	json_t *seg, *p, *lemma;
	char *s;
	size_t n;
	long before;

	file_make(&f, 2 * SEG + 1000); /* 3 data segments */
	seq = submit(&f);
	ok(seq != UINT64_MAX, "zgfs_submit settles an entry (tx %llu)", (unsigned long long)seq);
	before = file_state(seq);
	ok(before == 0, "a submitted entry: no segments yet (%ld)", before);

	/* Truncated base64. */
	seg = segment_json(&f, 0);
	s = strdup(json_string_value(json_object_get(seg, "data")));
	n = strlen(s);
	s[n - 1] = 0;
	json_object_set_new(seg, "data", json_string(s));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "data") == NODE_RPC_EINVALID_PARAMS,
	   "truncated base64: -32602 naming data");
	/* Characters outside base64. */
	seg = segment_json(&f, 0);
	s[0] = '*';
	s[n - 1] = '=';
	json_object_set_new(seg, "data", json_string(s));
	free(s);
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "data") == NODE_RPC_EINVALID_PARAMS,
	   "invalid base64: -32602");
	/* A sibling in the proof changed. */
	seg = segment_json(&f, 1);
	p = json_object_get(seg, "proof");
	lemma = json_object_get(p, "lemma");
	json_array_set_new(
	    lemma, 1,
	    json_string("0x1111111111111111111111111111111111111111111111111111111111111111"));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "proof") == NODE_RPC_EINVALID_PARAMS,
	   "a wrong proof: -32602 naming proof");
	/* The right proof of another segment. */
	seg = segment_json(&f, 1);
	p = segment_json(&f, 0);
	json_object_set(seg, "proof", json_object_get(p, "proof"));
	json_decref(p);
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "proof") == NODE_RPC_EINVALID_PARAMS,
	   "a proof of another segment: -32602");
	/* Another root. */
	seg = segment_json(&f, 0);
	json_object_set_new(
	    seg, "root",
	    json_string("0x2222222222222222222222222222222222222222222222222222222222222222"));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "root") == NODE_RPC_EINVALID_PARAMS,
	   "a wrong root: -32602 naming root");
	seg = segment_json(&f, 0);
	json_object_set_new(
	    seg, "root",
	    json_string("0x2222222222222222222222222222222222222222222222222222222222222222"));
	ok(call_code("zgs_uploadSegment", json_pack("[o]", seg), "root") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "zgs_uploadSegment for a root nobody settled: -32602");
	/* Index past the data. */
	seg = segment_json(&f, 2);
	json_object_set_new(seg, "index", json_integer(3));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "index") == NODE_RPC_EINVALID_PARAMS,
	   "an index out of range: -32602 naming index");
	/* The size of another file. */
	seg = segment_json(&f, 0);
	json_object_set_new(seg, "fileSize", json_integer((json_int_t)f.size + 1));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "file_size") == NODE_RPC_EINVALID_PARAMS,
	   "a wrong fileSize: -32602");
	/* The last segment cut short. */
	seg = segment_json(&f, 2);
	json_object_set_new(seg, "data", node_rpc_base64(f.data + 2 * SEG, 500));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     "data") == NODE_RPC_EINVALID_PARAMS,
	   "a short last segment: -32602");
	/* A tx seq nobody settled. */
	ok(call_code("zgs_uploadSegmentsByTxSeq",
		     json_pack("[[o]I]", segment_json(&f, 0), (json_int_t)seq + 1000),
		     "tx_seq") == NODE_RPC_EINVALID_PARAMS,
	   "an unknown tx seq: -32602");
	/* A good segment and a bad one in one call: neither is stored. */
	seg = segment_json(&f, 1);
	json_object_set_new(seg, "index", json_integer(0));
	ok(call_code("zgs_uploadSegmentsByTxSeq",
		     json_pack("[[oo]I]", segment_json(&f, 2), seg, (json_int_t)seq),
		     "proof") == NODE_RPC_EINVALID_PARAMS,
	   "a batch with one bad segment is refused");
	ok(file_state(seq) == before, "after all of these, nothing was stored (%ld)",
	   file_state(seq));

	/* Now the right segments, the last one unpadded (accepted too), two calls. */
	seg = segment_json(&f, 2);
	json_object_set_new(seg, "data", node_rpc_base64(f.data + 2 * SEG, 1000));
	ok(call_code("zgs_uploadSegmentsByTxSeq", json_pack("[[o]I]", seg, (json_int_t)seq),
		     NULL) == 0,
	   "the last segment uploads");
	ok(file_state(seq) == 1, "one segment stored (%ld)", file_state(seq));
	ok(call_code("zgs_uploadSegmentByTxSeq",
		     json_pack("[oI]", segment_json(&f, 1), (json_int_t)seq), NULL) == 0,
	   "zgs_uploadSegmentByTxSeq");
	/* By root, as the SDK's Uploader does: the node finds an entry that is not finalized
	 * yet by its root (0G's get_tx_by_data_root does). */
	ok(call_code("zgs_uploadSegment", json_pack("[o]", segment_json(&f, 0)), NULL) == 0,
	   "zgs_uploadSegment by root to an entry not finalized yet");
	ok(file_state(seq) == 1000003, "finalized with 3 segments (%ld)", file_state(seq));
	ok(call_code("zgs_uploadSegmentsByTxSeq",
		     json_pack("[[o]I]", segment_json(&f, 0), (json_int_t)seq),
		     "already uploaded and finalized") == NODE_RPC_EINVALID_PARAMS,
	   "uploading to a finalized entry: 0G's 'already uploaded and finalized'");
	file_free(&f);
}

static void test_downloads(void)
{
	struct file f;
	struct node_rpc_segment *s = malloc(sizeof(*s));
	struct node_rpc_error err;
	uint64_t seq;
	json_t *ans, *res;
	uint8_t *buf = malloc(SEG + 256);
	size_t len = 0;
	int good = 0;
	char root[67];

	file_make(&f, 5 * SEG + 77);
	seq = submit(&f);
	for (uint64_t i = 0; i < 6; i += 3)
		call_code("zgs_uploadSegmentsByTxSeq",
			  json_pack("[[ooo]I]", segment_json(&f, i), segment_json(&f, i + 1),
				    segment_json(&f, i + 2), (json_int_t)seq),
			  NULL);
	ok(file_state(seq) == 1000006, "a 6-segment entry uploaded in two batches");
	codec_hex_encode(f.root, CODEC_HASH_SIZE, root);
	for (uint64_t i = 0; i < 6; i++) {
		ans = call(i % 2 ? "zgs_downloadSegmentWithProof"
				 : "zgs_downloadSegmentWithProofByTxSeq",
			   i % 2 ? json_pack("[sI]", root, (json_int_t)i)
				 : json_pack("[II]", (json_int_t)seq, (json_int_t)i));
		res = json_object_get(ans, "result");
		if (node_rpc_segment_from_json(res, s, &err) == 0 &&
		    node_rpc_segment_check(s, &err) == 0 &&
		    memcmp(s->data, f.data + i * SEG, i < 5 ? SEG : 77) == 0 &&
		    s->len == (i < 5 ? SEG : 256))
			good++;
		else
			diag("segment %llu: %s", (unsigned long long)i, error_text(ans));
		json_decref(ans);
	}
	ok(good == 6, "every segment downloads with a proof that verifies (%d/6)", good);
	ok(call_code("zgs_downloadSegmentWithProof", json_pack("[si]", root, 6), "index") ==
	       NODE_RPC_EINVALID_PARAMS,
	   "a segment index past the data: -32602");
	ans = call("zgs_downloadSegmentByTxSeq",
		   json_pack("[Iii]", (json_int_t)seq, 5 * 1024, 5 * 1024 + 1));
	res = json_object_get(ans, "result");
	ok(node_rpc_unbase64(res, buf, SEG + 256, &len) == 0 && len == 256 &&
	       memcmp(buf, f.data + 5 * SEG, 77) == 0 && buf[77] == 0 && buf[255] == 0,
	   "zgs_downloadSegment of the last chunk: 256 bytes, zero-padded (%zu)", len);
	json_decref(ans);
	ans = call("zgs_downloadSegment", json_pack("[sii]", root, 100, 1124));
	res = json_object_get(ans, "result");
	ok(node_rpc_unbase64(res, buf, SEG + 256, &len) == 0 && len == SEG &&
	       memcmp(buf, f.data + 100 * 256, SEG) == 0,
	   "zgs_downloadSegment across a segment boundary");
	json_decref(ans);
	ans = call("zgs_getFileInfo", json_pack("[sb]", root, 1));
	res = json_object_get(json_object_get(ans, "result"), "tx");
	ok(json_integer_value(json_object_get(res, "size")) == (json_int_t)f.size &&
	       json_integer_value(json_object_get(res, "seq")) == (json_int_t)seq &&
	       strcmp(json_string_value(json_object_get(res, "dataMerkleRoot")), root) == 0 &&
	       json_is_array(json_object_get(res, "merkleNodes")) &&
	       json_is_true(json_object_get(json_object_get(ans, "result"), "finalized")),
	   "zgs_getFileInfo: 0G's FileInfo shape");
	json_decref(ans);
	ans = call("zgs_getFileInfo",
		   json_pack("[sb]",
			     "0x3333333333333333333333333333333333333333333333333333333333333333",
			     1));
	ok(json_is_null(json_object_get(ans, "result")) && !json_object_get(ans, "error"),
	   "zgs_getFileInfo of an unknown root: null");
	json_decref(ans);
	ans = call("zgs_checkFileFinalized", json_pack("[I]", (json_int_t)seq));
	ok(json_is_true(json_object_get(ans, "result")), "zgs_checkFileFinalized");
	json_decref(ans);

	/* The binary endpoints. */
	{
		struct buf raw;
		char path[96];
		size_t count = 0;
		long st;

		snprintf(path, sizeof(path), "/zgfs/v1/segment/%llu/5", (unsigned long long)seq);
		st = post_binary(path, NULL, 0, &ans, &raw);
		ok(st == 200 && raw.p &&
		       node_rpc_segments_decode((uint8_t *)raw.p, raw.len, s, 1, &count, &err) ==
			   0 &&
		       count == 1 && node_rpc_segment_check(s, &err) == 0 && s->index == 5 &&
		       memcmp(s->data, f.data + 5 * SEG, 77) == 0,
		   "/zgfs/v1/segment: one segment in binary whose proof verifies");
		free(raw.p);
		json_decref(ans);
		snprintf(path, sizeof(path), "/zgfs/v1/segment/%llu/6", (unsigned long long)seq);
		post_binary(path, NULL, 0, &ans, &raw);
		ok(error_code(ans) == NODE_RPC_EINVALID_PARAMS && !raw.p,
		   "/zgfs/v1/segment past the data: a JSON-RPC -32602 answer");
		json_decref(ans);
		post_binary("/zgfs/v1/segment/999999/0", NULL, 0, &ans, &raw);
		ok(ans && json_is_null(json_object_get(ans, "result")) && !raw.p,
		   "/zgfs/v1/segment of an unknown tx: result null");
		json_decref(ans);
		st = post_binary("/zgfs/v1/nothing", NULL, 0, &ans, &raw);
		ok(st == 404 && error_code(ans) == NODE_RPC_ENO_METHOD,
		   "an unknown /zgfs/v1/ endpoint: HTTP 404");
		json_decref(ans);
		snprintf(path, sizeof(path), "/zgfs/v1/upload/%llu", (unsigned long long)seq);
		post_binary(path, "ZGFSSEG1\0\0\0\1garbage", 19, &ans, &raw);
		ok(error_code(ans) == NODE_RPC_EINVALID_PARAMS,
		   "/zgfs/v1/upload of garbage: -32602 (%s)", error_text(ans));
		json_decref(ans);
		post_binary("/zgfs/v1/upload/12x", NULL, 0, &ans, &raw);
		ok(error_code(ans) == NODE_RPC_ENO_METHOD, "/zgfs/v1/upload/12x: not an endpoint");
		json_decref(ans);
	}
	file_free(&f);
	free(buf);
	free(s);
}

/* Uploads through node_open_remote(), reads back through it. */
static void test_remote(void)
{
	static const uint64_t sizes[] = {
	    1,	 255,	  256,		 257,	       SEG - 1,
	    SEG, SEG + 1, 3 * SEG + 123, 17 * SEG + 1, 8 * 1024 * 1024 + 1};
	struct node *r = NULL;
	struct node_status st;
	int good_up = 0, good_read = 0, good_seg = 0;

	ok(node_open_remote("http://127.0.0.1:1", &r) == -ECONNREFUSED,
	   "node_open_remote of a port nobody serves: -ECONNREFUSED");
	ok(node_open_remote(url, &r) == 0, "node_open_remote(%s)", url);
	if (!r)
		return;
	ok(node_status(r, &st) == 0 && st.next_tx_seq >= 2, "remote node_status (next tx %llu)",
	   (unsigned long long)st.next_tx_seq);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct node_upload *u;
		struct node_file_info fi, fi2;
		struct file f;
		uint8_t *back = malloc(sizes[k]), *seg = malloc(SEG);
		size_t got = 0, done = 0;
		int rr;

		file_make(&f, sizes[k]);
		rr = node_upload_begin(r, NULL, 0, &u);
		for (uint64_t off = 0; rr == 0 && off < f.size; off += 100000) /* odd slices */
			rr = node_upload_write(u, f.data + off,
					       f.size - off < 100000 ? f.size - off : 100000);
		if (rr == 0)
			rr = node_upload_finish(u, &fi);
		else
			node_upload_abort(u);
		if (rr == 0 && fi.finalized && fi.entry.length == f.size &&
		    memcmp(fi.entry.root, f.root, CODEC_HASH_SIZE) == 0)
			good_up++;
		else
			diag("upload of %llu bytes: %s", (unsigned long long)f.size,
			     node_strerror(rr));
		/* Read back in 300000-byte pieces, plus a few odd ranges. */
		rr = 0;
		while (rr == 0 && done < f.size) {
			rr = node_read(r, fi.entry.tx_seq, done, back + done, 300000, &got);
			done += got;
			if (got == 0)
				break;
		}
		if (rr == 0 && done == f.size && memcmp(back, f.data, f.size) == 0 &&
		    node_read(r, fi.entry.tx_seq, f.size, back, 10, &got) == 0 && got == 0 &&
		    node_read(r, fi.entry.tx_seq, f.size / 2, back, f.size, &got) == 0 &&
		    got == f.size - f.size / 2 && memcmp(back, f.data + f.size / 2, got) == 0)
			good_read++;
		else
			diag("read back of %llu bytes: %s", (unsigned long long)f.size,
			     node_strerror(rr));
		{
			uint64_t last = (f.size - 1) / SEG;
			struct codec_proof p;
			size_t len;

			rr = node_segment(r, fi.entry.tx_seq, last, seg, &len, &p);
			if (rr == 0 && len == codec_num_chunks(f.size - last * SEG) * 256 &&
			    memcmp(seg, f.data + last * SEG, f.size - last * SEG) == 0 &&
			    codec_proof_verify(&p, f.root, f.leaves[last], last, f.nleaves) == 0 &&
			    node_segment(r, fi.entry.tx_seq, last + 1, seg, &len, &p) == -EINVAL &&
			    node_file_info_by_root(r, f.root, &fi2) == 0 &&
			    fi2.entry.length == f.size)
				good_seg++;
			else
				diag("segment %llu of %llu bytes: %s", (unsigned long long)last,
				     (unsigned long long)f.size, node_strerror(rr));
		}
		free(back);
		free(seg);
		file_free(&f);
	}
	ok(good_up == 10, "uploads through the remote node settle and finalize (%d/10)", good_up);
	ok(good_read == 10, "reads through the remote node are byte-exact (%d/10)", good_read);
	ok(good_seg == 10, "remote node_segment proofs verify; past the end: -EINVAL (%d/10)",
	   good_seg);
	{
		struct node_upload *u;
		struct node_file_info fi;
		uint8_t b[1];
		size_t got;

		ok(node_upload_begin(r, NULL, 0, &u) == 0 && node_upload_finish(u, &fi) == -EINVAL,
		   "an empty remote upload: -EINVAL");
		ok(node_read(r, 999999, 0, b, 1, &got) == -ENOENT,
		   "remote read of an unknown tx: -ENOENT");
	}
	node_close(r);

	/* 0G's JSON methods only (as against a 0G node): the same round trip. */
	setenv("ZGFS_RPC_JSON_ONLY", "1", 1);
	r = NULL;
	if (node_open_remote(url, &r) == 0) {
		struct node_upload *u;
		struct node_file_info fi;
		struct file f;
		uint8_t *back;
		size_t got = 0, done = 0;
		int rr;

		file_make(&f, 5 * SEG + 999);
		back = malloc(f.size);
		rr = node_upload_begin(r, NULL, 0, &u);
		if (rr == 0)
			rr = node_upload_write(u, f.data, f.size);
		if (rr == 0)
			rr = node_upload_finish(u, &fi);
		while (rr == 0 && done < f.size) {
			rr = node_read(r, fi.entry.tx_seq, done, back + done, f.size - done, &got);
			done += got;
			if (got == 0)
				break;
		}
		ok(rr == 0 && done == f.size && memcmp(back, f.data, f.size) == 0,
		   "with ZGFS_RPC_JSON_ONLY: upload and read back over JSON only (%s)",
		   node_strerror(rr));
		free(back);
		file_free(&f);
		node_close(r);
	}
	unsetenv("ZGFS_RPC_JSON_ONLY");
}

/* The client goes through the network door: its faults reach every kind of call. */
static void test_client_door(void)
{
	struct node *r = NULL;
	struct node_rpc_client *c = NULL;
	struct node_rpc_segment *seg = NULL;
	struct node_rpc_error err;
	struct node_upload *u;
	struct node_file_info fi;
	struct file f;
	atomic_bool json_only = false;
	char spec[160];
	uint64_t hits = node_net_fault_hits(NODE_NET_REFUSE);
	int rr;

	file_make(&f, 2 * SEG + 5);
	rr = node_open_remote(url, &r);
	if (rr == 0)
		rr = node_upload_begin(r, NULL, 0, &u);
	if (rr == 0 && (rr = node_upload_write(u, f.data, f.size)) < 0)
		node_upload_abort(u);
	if (rr == 0)
		rr = node_upload_finish(u, &fi);
	if (rr == 0)
		rr = node_rpc_client_new(url, &c);
	ok(rr == 0, "a file to fetch, and a client (%s)", node_strerror(rr));
	if (rr < 0)
		goto out;
	snprintf(spec, sizeof(spec), "refuse=%s", url);
	rr = node_net_fault_spec(spec) == 0 ? node_rpc_call(c, "zgs_getStatus", NULL, NULL, &err)
					    : -EINVAL;
	ok(rr == -ECONNREFUSED && err.code == 0 && node_net_fault_hits(NODE_NET_REFUSE) == hits + 1,
	   "refuse: node_rpc_call -ECONNREFUSED, counted by the door (%s)", err.message);
	snprintf(spec, sizeof(spec), "rpcerror=%s", url);
	rr = node_net_fault_spec(spec) == 0 ? node_rpc_call(c, "zgs_getStatus", NULL, NULL, &err)
					    : -EINVAL;
	ok(rr == -EREMOTEIO && err.code == -32603,
	   "rpcerror: the injected JSON-RPC error comes back as one (%d, %d)", rr, err.code);
	snprintf(spec, sizeof(spec), "error:500=%s", url);
	rr = node_net_fault_spec(spec) == 0 ? node_rpc_call(c, "zgs_getStatus", NULL, NULL, &err)
					    : -EINVAL;
	ok(rr == -EIO, "error:500: an HTTP 500 without a JSON-RPC answer, -EIO (%s)", err.message);
	snprintf(spec, sizeof(spec), "truncate:10=%s", url);
	rr = node_net_fault_spec(spec) == 0 ? node_rpc_call(c, "zgs_getStatus", NULL, NULL, &err)
					    : -EINVAL;
	ok(rr == -EPROTO, "truncate: a cut answer is not JSON-RPC, -EPROTO (%s)", err.message);
	{
		uint64_t corrupted = node_net_fault_hits(NODE_NET_CORRUPT);
		int caught = 0;

		snprintf(spec, sizeof(spec), "corrupt:1=%s/zgfs/v1/segment", url);
		ok(node_net_fault_spec(spec) == 0, "corrupt: the spec is taken");
		/* 30 seeded offsets over the header, the data and the proof. */
		for (int k = 0; k < 30; k++) {
			rr = node_rpc_fetch_segment(c, &json_only, fi.entry.tx_seq, (uint64_t)k % 3,
						    f.root, f.size, &seg);
			if (rr == 0)
				free(seg);
			caught += rr == -EIO;
		}
		ok(caught == 30 && !atomic_load(&json_only) &&
		       node_net_fault_hits(NODE_NET_CORRUPT) == corrupted + 30,
		   "corrupt: 30 segment fetches with one byte flipped, each -EIO (%d)", caught);
	}
	snprintf(spec, sizeof(spec), "error:404=%s/zgfs/v1/segment", url);
	rr = node_net_fault_spec(spec) == 0
		 ? node_rpc_fetch_segment(c, &json_only, fi.entry.tx_seq, 1, f.root, f.size, &seg)
		 : -EINVAL;
	ok(rr == 0 && atomic_load(&json_only) && seg->index == 1 &&
	       memcmp(seg->data, f.data + SEG, SEG) == 0,
	   "error:404 on the binary endpoint: the fetch falls back to JSON and remembers (%s)",
	   node_strerror(rr));
	if (rr == 0)
		free(seg);
	node_net_fault_clear();
	atomic_store(&json_only, false);
	rr = node_rpc_fetch_segment(c, &json_only, fi.entry.tx_seq, 2, f.root, f.size, &seg);
	ok(rr == 0 && !atomic_load(&json_only) && seg->len == 256,
	   "no faults: the binary fetch again (%s)", node_strerror(rr));
	if (rr == 0)
		free(seg);
out:
	node_net_fault_clear();
	node_rpc_client_free(c);
	node_close(r);
	file_free(&f);
}

struct reader {
	struct node *r;
	const struct file *f;
	uint64_t seq, seed;
	int bad;
};

static void *read_many(void *arg)
{
	struct reader *rd = arg;
	uint8_t *buf = malloc(300000);
	uint64_t x = rd->seed;

	for (int i = 0; i < 30; i++) {
		uint64_t off, len;
		size_t got = 0;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		off = (x >> 20) % rd->f->size;
		len = 1 + (x >> 40) % 300000;
		if (node_read(rd->r, rd->seq, off, buf, len, &got) != 0 ||
		    got != (rd->f->size - off < len ? rd->f->size - off : len) ||
		    memcmp(buf, rd->f->data + off, got) != 0)
			rd->bad++;
	}
	free(buf);
	return NULL;
}

/* Four threads reading one remote node at random offsets: the handle pool and the caches
 * under concurrency. */
static void test_concurrent(void)
{
	struct reader rd[4];
	pthread_t th[4];
	struct node *r = NULL;
	struct node_upload *u;
	struct node_file_info fi;
	struct file f;
	int bad = 0;

	if (node_open_remote(url, &r) < 0)
		return;
	file_make(&f, 3 * 1024 * 1024 + 12345);
	if (node_upload_begin(r, NULL, 0, &u) == 0 && node_upload_write(u, f.data, f.size) == 0 &&
	    node_upload_finish(u, &fi) == 0) {
		for (int i = 0; i < 4; i++) {
			rd[i] = (struct reader){r, &f, fi.entry.tx_seq, (uint64_t)i + 1, 0};
			pthread_create(&th[i], NULL, read_many, &rd[i]);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			bad += rd[i].bad;
		}
		ok(bad == 0, "4 threads, 120 random remote reads: all byte-exact (%d bad)", bad);
	} else {
		ok(0, "upload for the concurrent reads");
	}
	file_free(&f);
	node_close(r);
}

struct collect {
	int n;
	char keys[8][16];
	uint64_t versions[8];
};

static int on_key(void *ctx, const uint8_t *key, size_t key_len, const struct node_value *v)
{
	struct collect *c = ctx;

	if (c->n < 8 && key_len < 16) {
		memcpy(c->keys[c->n], key, key_len);
		c->keys[c->n][key_len] = 0;
		c->versions[c->n] = v->len;
	}
	c->n++;
	return 0;
}

static int on_version(void *ctx, uint64_t version, uint64_t size)
{
	struct collect *c = ctx;

	if (c->n < 8)
		c->versions[c->n] = size;
	c->n++;
	return 0;
}

/* node_kv_list_at() over RPC: the keys and values a stream had at an older version. */
static void test_kv_list_at(struct node *r)
{
	static const uint8_t stream[32] = {0xab, 0xcd, 2};
	struct node_put_item put[2] = {
	    {(const uint8_t *)"k1", 2, (const uint8_t *)"old", 3},
	    {(const uint8_t *)"k2", 2, (const uint8_t *)"gone", 4},
	};
	struct collect c = {0};
	uint64_t first = 0;

	ok(node_kv_write(r, stream, put, 2, &first) == 0, "list-at stream: k1, k2");
	put[0].value = (const uint8_t *)"newer";
	put[0].value_len = 5;
	put[1].value_len = 0;
	ok(node_kv_write(r, stream, put, 2, NULL) == 0, "k1 rewritten, k2 deleted");
	ok(node_kv_list_at(r, stream, NULL, 0, first, 100, on_key, &c) == 0 && c.n == 2 &&
	       strcmp(c.keys[1], "k2") == 0 && c.versions[0] == 3,
	   "remote node_kv_list_at an older version: the deleted key and the old value (%d)", c.n);
	memset(&c, 0, sizeof(c));
	ok(node_kv_list_at(r, stream, NULL, 0, UINT64_MAX, 100, on_key, &c) == 0 && c.n == 1 &&
	       c.versions[0] == 5,
	   "remote node_kv_list_at the latest: k1's new value only (%d)", c.n);
	memset(&c, 0, sizeof(c));
	ok(node_kv_list_at(r, stream, NULL, 0, first - 1, 100, on_key, &c) == 0 && c.n == 0,
	   "remote node_kv_list_at before the first write: nothing (%d)", c.n);
}

static void test_kv(void)
{
	static const uint8_t stream[32] = {0xab, 0xcd, 1};
	struct node *r = NULL;
	struct node_value v = {0};
	struct collect c = {0};
	struct node_put_item items[3] = {
	    {(const uint8_t *)"alpha", 5, (const uint8_t *)"one", 3},
	    {(const uint8_t *)"beta", 4, (const uint8_t *)"two!", 4},
	    {(const uint8_t *)"gamma", 5, (const uint8_t *)"", 0},
	};
	uint64_t seq = 0;
	json_t *ans;
	char sid[67];

	if (node_open_remote(url, &r) < 0)
		return;
	ok(node_kv_write(r, stream, items, 3, &seq) == 0, "remote node_kv_write commits (tx %llu)",
	   (unsigned long long)seq);
	ok(node_kv_read(r, stream, (const uint8_t *)"beta", 4, &v) == 0 && v.len == 4 &&
	       memcmp(v.data, "two!", 4) == 0 && v.version == seq,
	   "remote node_kv_read");
	free(v.data);
	items[0].value = (const uint8_t *)"uno";
	ok(node_kv_write(r, stream, items, 1, NULL) == 0, "a second version of alpha");
	ok(node_kv_read(r, stream, (const uint8_t *)"nope", 4, &v) == -ENOENT,
	   "remote read of a key never written: -ENOENT");
	ok(node_kv_list(r, stream, NULL, 0, 100, on_key, &c) == 0 && c.n == 2 &&
	       strcmp(c.keys[0], "alpha") == 0 && strcmp(c.keys[1], "beta") == 0,
	   "remote node_kv_list: the keys in order, the empty (deleted) one left out (%d)", c.n);
	memset(&c, 0, sizeof(c));
	ok(node_kv_list(r, stream, (const uint8_t *)"alpha", 5, 100, on_key, &c) == 0 && c.n == 2 &&
	       strcmp(c.keys[0], "alpha") == 0 && strcmp(c.keys[1], "beta") == 0,
	   "remote node_kv_list from a key includes that key (%d)", c.n);
	memset(&c, 0, sizeof(c));
	ok(node_kv_list(r, stream, (const uint8_t *)"b", 1, 100, on_key, &c) == 0 && c.n == 1 &&
	       strcmp(c.keys[0], "beta") == 0,
	   "remote node_kv_list from a key that is not there starts at the next (%d)", c.n);
	memset(&c, 0, sizeof(c));
	test_kv_list_at(r);
	ok(node_kv_versions(r, stream, (const uint8_t *)"alpha", 5, on_version, &c) == 0 &&
	       c.n == 2,
	   "remote node_kv_versions: two versions (%d)", c.n);

	codec_hex_encode(stream, 32, sid);
	ans = call("kv_getValue", json_pack("[ssii]", sid, "YWxwaGE=", 0, 100));
	ok(strcmp(json_string_value(json_object_get(json_object_get(ans, "result"), "data")),
		  "dW5v") == 0,
	   "kv_getValue: base64 key in, base64 value out");
	json_decref(ans);
	ans = call("kv_getValue", json_pack("[ssii]", sid, "bm9wZQ==", 0, 100));
	ok(json_integer_value(json_object_get(json_object_get(ans, "result"), "version")) == 0 &&
	       json_integer_value(json_object_get(json_object_get(ans, "result"), "size")) == 0,
	   "kv_getValue of a missing key: 0G's {version: 0, data: \"\", size: 0}");
	json_decref(ans);
	ans = call("kv_getValue", json_pack("[ssiiI]", sid, "YWxwaGE=", 0, 100, (json_int_t)seq));
	ok(strcmp(json_string_value(json_object_get(json_object_get(ans, "result"), "data")),
		  "b25l") == 0,
	   "kv_getValue at the first version: the old value");
	json_decref(ans);
	ans = call("kv_getNext", json_pack("[ssiib]", sid, "YWxwaGE=", 0, 100, 0));
	ok(strcmp(json_string_value(json_object_get(json_object_get(ans, "result"), "key")),
		  "YmV0YQ==") == 0,
	   "kv_getNext after alpha: beta");
	json_decref(ans);
	ans = call("kv_getFirst", json_pack("[sii]", sid, 0, 0));
	ok(strcmp(json_string_value(json_object_get(json_object_get(ans, "result"), "key")),
		  "YWxwaGE=") == 0,
	   "kv_getFirst: alpha");
	json_decref(ans);
	ans = call("kv_getTransactionResult", json_pack("[s]", "0"));
	ok(json_is_null(json_object_get(ans, "result")) ||
	       json_is_string(json_object_get(ans, "result")),
	   "kv_getTransactionResult takes the SDK's string tx seq");
	json_decref(ans);
	ans = call("kv_getTransactionResult", json_pack("[I]", (json_int_t)seq));
	ok(json_string_value(json_object_get(ans, "result")) &&
	       strcmp(json_string_value(json_object_get(ans, "result")), "Commit") == 0,
	   "kv_getTransactionResult: Commit");
	json_decref(ans);
	ans = call("kv_getHoldingStreamIds", NULL);
	ok(json_array_size(json_object_get(ans, "result")) >= 1, "kv_getHoldingStreamIds");
	json_decref(ans);
	ans = call("kv_IsAdmin",
		   json_pack("[ss]", "0x0000000000000000000000000000000000000000", sid));
	ok(json_is_boolean(json_object_get(ans, "result")), "kv_IsAdmin (the SDK's spelling)");
	json_decref(ans);
	node_close(r);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	char dir[] = "/tmp/zgfs-test-rpc-XXXXXX";
	struct node *n = NULL;
	struct node_rpc *rpc = NULL;
	int r;

	if (!mkdtemp(dir))
		skip_all("cannot make a temporary directory");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = node_open_local(&(struct node_config){.data_dir = dir}, &n);
	if (r < 0) {
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		printf("# node_open_local: %s\n", node_strerror(r));
		skip_all("the in-process node does not open");
	}
	r = node_rpc_start(n, NULL, 0, &rpc);
	ok(r == 0 && node_rpc_port(rpc) > 0, "node_rpc_start on port 0 picks a port (%u)",
	   rpc ? node_rpc_port(rpc) : 0);
	if (r == 0) {
		struct node_rpc *again = NULL;

		snprintf(url, sizeof(url), "http://127.0.0.1:%u", node_rpc_port(rpc));
		ok(node_rpc_start(n, "127.0.0.1", node_rpc_port(rpc), &again) == -EADDRINUSE,
		   "a second server on the same port: -EADDRINUSE");
		node_rpc_stop(again);
		ok(node_rpc_start(n, "no such host.invalid", 0, &again) < 0, "a bad host fails");
		test_framing();
		test_params();
		test_bad_uploads();
		test_downloads();
		test_remote();
		test_client_door();
		test_concurrent();
		test_kv();
	}
	node_rpc_stop(rpc);
	node_close(n);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	curl_global_cleanup();
	return tap_done();
}
