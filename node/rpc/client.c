/*
 * The JSON-RPC client, on the network door (node/peer/net.h): every call goes through
 * node_net_request(), so it shares the door's libcurl handle pool (keep-alive connections
 * reused by whichever caller needs one; concurrent callers, FUSE threads among them, never
 * share a handle), its one translation of CURLcode into -errno, and its fault injection
 * (ZGFS_NET_FAULT reaches every request a node or a command makes of a node). Every
 * response is read into a buffer bounded by NODE_RPC_RESPONSE_MAX. What is left here is
 * JSON-RPC: ids, error answers, and what a segment answer must be.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/proof.h"
#include "codec/rs.h"
#include "node/peer/net.h"
#include "node/rpc/rpc.h"

struct node_rpc_client {
	char *url;
	atomic_uint_fast64_t next_id;
	unsigned timeout_ms, connect_ms; /* node_rpc_client_set_timeout(); 0: the defaults */
};

void node_rpc_client_set_timeout(struct node_rpc_client *c, unsigned connect_ms, unsigned call_ms)
{
	c->connect_ms = connect_ms;
	c->timeout_ms = call_ms;
}

int node_rpc_client_new(const char *url, struct node_rpc_client **ret_client)
{
	struct node_rpc_client *c;

	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->url = strdup(url);
	if (!c->url) {
		free(c);
		return -ENOMEM;
	}
	atomic_init(&c->next_id, 1);
	*ret_client = c;
	return 0;
}

void node_rpc_client_free(struct node_rpc_client *c)
{
	if (!c)
		return;
	free(c->url);
	free(c);
}

const char *node_rpc_client_url(const struct node_rpc_client *c)
{
	return c->url;
}

__attribute__((format(printf, 5, 6))) static int fail(struct node_rpc_error *err, int code, int ret,
						      const char *data, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		err->node_err = code == NODE_RPC_ENODE ? ret : 0;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		snprintf(err->data, sizeof(err->data), "%s", data ? data : "");
	}
	return ret;
}

/* An error answer → the code node_rpc_call() returns. */
static int answer_error(json_t *e, struct node_rpc_client *c, const char *method,
			struct node_rpc_error *err)
{
	json_t *code = json_object_get(e, "code"), *data = json_object_get(e, "data");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *detail = json_string_value(data);
	long long k = json_integer_value(code);
	int ret;

	if (!json_is_integer(code))
		return fail(err, 0, -EPROTO, NULL, "%s: %s: malformed error answer", c->url,
			    method);
	if (k == NODE_RPC_ENODE && json_is_integer(data) && json_integer_value(data) < 0 &&
	    json_integer_value(data) > -100000)
		ret = (int)json_integer_value(data);
	else if (k == NODE_RPC_ENO_METHOD)
		ret = -ENOSYS;
	else if (k == NODE_RPC_EINVALID_PARAMS)
		ret = -EINVAL;
	else if (k == NODE_RPC_EPARSE || k == NODE_RPC_EINVALID_REQUEST)
		ret = -EPROTO;
	else
		ret = -EREMOTEIO;
	return fail(err, (int)k, ret, detail, "%s: %s: %s%s%s", c->url, method, msg ? msg : "error",
		    detail ? ": " : "", detail ? detail : "");
}

/*
 * One POST of body to url through the door; the answer of any HTTP status lands in rep.
 * Returns 0, or a transport error (err filled).
 */
static int transfer(struct node_rpc_client *c, const char *url, const char *what, const void *body,
		    size_t len, bool binary, struct node_net_reply *rep, struct node_rpc_error *err)
{
	struct node_net_request req = {
	    .url = url,
	    .body = body ? body : "", /* never a GET */
	    .len = len,
	    .content_type = binary ? "application/octet-stream" : "application/json",
	    .timeout_ms = c->timeout_ms ? c->timeout_ms : NODE_RPC_CLIENT_TIMEOUT_S * 1000u,
	    .connect_ms = c->connect_ms ? c->connect_ms : NODE_RPC_CLIENT_CONNECT_TIMEOUT_S * 1000u,
	    .max = NODE_RPC_RESPONSE_MAX,
	    .any_status = true};
	int r = node_net_request(&req, rep);

	if (r < 0)
		return fail(err, 0, r, NULL, "%s: %s: %s", c->url, what,
			    r == -E2BIG ? "response larger than NODE_RPC_RESPONSE_MAX"
					: node_strerror(r));
	return 0;
}

/* A JSON-RPC answer in the reply s: 0 with the result (new reference), or its error's code. */
static int answer(struct node_rpc_client *c, const char *what, const struct node_net_reply *s,
		  json_int_t id, json_t **ret_result, struct node_rpc_error *err)
{
	json_t *resp = s->len ? json_loadb((const char *)s->body, s->len, 0, NULL) : NULL, *e;
	long status = s->status;
	int r;

	if (status == 413) {
		r = fail(err, NODE_RPC_EINVALID_REQUEST, -E2BIG, NULL,
			 "%s: %s: request body too large for the node", c->url, what);
		goto out;
	}
	if (!json_is_object(resp)) {
		r = fail(err, 0,
			 status == 404	 ? -ENOSYS
			 : status == 200 ? -EPROTO
					 : -EIO,
			 NULL, "%s: %s: HTTP %ld without a JSON-RPC answer", c->url, what, status);
		goto out;
	}
	e = json_object_get(resp, "error");
	if (e) {
		r = answer_error(e, c, what, err);
		goto out;
	}
	if (!json_object_get(resp, "result") ||
	    (id >= 0 && json_integer_value(json_object_get(resp, "id")) != id)) {
		r = fail(err, 0, -EPROTO, NULL, "%s: %s: malformed JSON-RPC answer", c->url, what);
		goto out;
	}
	if (ret_result)
		*ret_result = json_incref(json_object_get(resp, "result"));
	r = 0;
out:
	json_decref(resp);
	return r;
}

int node_rpc_call(struct node_rpc_client *c, const char *method, json_t *params,
		  json_t **ret_result, struct node_rpc_error *err)
{
	struct node_net_reply rep = {0};
	json_int_t id = (json_int_t)atomic_fetch_add(&c->next_id, 1);
	json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", id, "method",
				method, "params", params ? params : json_array());
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int r;

	if (!body) {
		r = fail(err, 0, -ENOMEM, NULL, "%s: out of memory", c->url);
		goto out;
	}
	r = transfer(c, c->url, method, body, strlen(body), false, &rep, err);
	if (r == 0)
		r = answer(c, method, &rep, id, ret_result, err);
out:
	json_decref(req);
	free(body);
	node_net_reply_release(&rep);
	return r;
}

int node_rpc_post(struct node_rpc_client *c, const char *path, const void *body, size_t len,
		  uint8_t **ret_body, size_t *ret_len, struct node_rpc_error *err)
{
	struct node_net_reply rep = {0};
	size_t ul = strlen(c->url);
	char *url = malloc(ul + strlen(path) + 1);
	int r;

	if (!url)
		return fail(err, 0, -ENOMEM, NULL, "%s: out of memory", c->url);
	memcpy(url, c->url, ul + 1);
	while (ul > 0 && url[ul - 1] == '/')
		url[--ul] = 0;
	memcpy(url + ul, path, strlen(path) + 1);
	r = transfer(c, url, path, body, len, true, &rep, err);
	free(url);
	if (r == 0 && rep.status == 200 && rep.binary) {
		*ret_body = rep.body; /* handed over */
		*ret_len = rep.len;
		return 0;
	}
	if (r == 0)
		r = answer(c, path, &rep, -1, NULL, err);
	if (r == 0) {
		*ret_body = NULL;
		*ret_len = 0;
	}
	node_net_reply_release(&rep);
	return r;
}

int node_rpc_fetch_segment(struct node_rpc_client *c, atomic_bool *json_only, uint64_t seq,
			   uint64_t index, const uint8_t root[CODEC_HASH_SIZE], uint64_t length,
			   struct node_rpc_segment **ret)
{
	struct node_rpc_segment *s = malloc(sizeof(*s));
	struct node_rpc_error err;
	json_t *res = NULL;
	uint8_t *body = NULL;
	size_t len = 0, count = 0;
	char path[64];
	int r = -ENOSYS;

	if (!s)
		return -ENOMEM;
	if (!json_only || !atomic_load(json_only)) {
		snprintf(path, sizeof(path), "/zgfs/v1/segment/%llu/%llu", (unsigned long long)seq,
			 (unsigned long long)index);
		r = node_rpc_post(c, path, NULL, 0, &body, &len, NULL);
		if (r == 0 && !body)
			r = -EAGAIN; /* answered null */
		else if (r == 0 && (node_rpc_segments_decode(body, len, s, 1, &count, &err) < 0))
			r = -EIO;
		free(body);
		if (r == -ENOSYS && json_only)
			atomic_store(json_only, true);
	}
	if (r == -ENOSYS) {
		r = node_rpc_call(c, "zgs_downloadSegmentWithProofByTxSeq",
				  json_pack("[oo]", node_rpc_u64(seq), node_rpc_u64(index)), &res,
				  NULL);
		if (r == 0 && json_is_null(res))
			r = -EAGAIN;
		if (r == 0 && node_rpc_segment_from_json(res, s, &err) < 0)
			r = -EIO;
		json_decref(res);
	}
	if (r == 0 && (memcmp(s->root, root, CODEC_HASH_SIZE) != 0 || s->index != index ||
		       s->file_size != length || node_rpc_segment_check(s, &err) != 0))
		r = -EIO;
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int node_rpc_fetch_parity(struct node_rpc_client *c, uint64_t seq, uint64_t stripe, uint8_t *buf,
			  unsigned *ret_pos)
{
	json_t *res = NULL, *jpos;
	size_t len = 0;
	int r = node_rpc_call(c, "zgfs_getParityByTxSeq",
			      json_pack("[oo]", node_rpc_u64(seq), node_rpc_u64(stripe)), &res, NULL);

	if (r == 0 && json_is_null(res))
		r = -EAGAIN;
	jpos = r == 0 ? json_object_get(res, "position") : NULL;
	if (r == 0 && (!json_is_integer(jpos) || json_integer_value(jpos) < 1 ||
		       json_integer_value(jpos) >= CODEC_RS_MAX_SHARDS ||
		       node_rpc_unbase64(json_object_get(res, "data"), buf, CODEC_SEGMENT_SIZE,
					 &len) < 0 ||
		       len != CODEC_SEGMENT_SIZE))
		r = -EIO;
	if (r == 0)
		*ret_pos = (unsigned)json_integer_value(jpos);
	json_decref(res);
	return r;
}

int node_rpc_fetch_proof(struct node_rpc_client *c, uint64_t seq, uint64_t index,
			 const uint8_t root[CODEC_HASH_SIZE], uint64_t nseg,
			 struct codec_proof *ret_proof)
{
	struct codec_proof *p = malloc(sizeof(*p));
	json_t *res = NULL;
	int r = p ? node_rpc_call(c, "zgfs_getSegmentProofByTxSeq",
				  json_pack("[oo]", node_rpc_u64(seq), node_rpc_u64(index)), &res, NULL)
		  : -ENOMEM;

	if (r == 0 && json_is_null(res))
		r = -EAGAIN;
	if (r == 0 && (codec_proof_from_jansson(res, p) != 0 || index >= nseg ||
		       codec_proof_verify(p, root, p->lemma[0], index, nseg) != 0))
		r = -EIO;
	if (r == 0)
		*ret_proof = *p;
	json_decref(res);
	free(p);
	return r;
}
