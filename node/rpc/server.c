/*
 * The JSON-RPC server: request parsing and framing (pure, fuzzed), and the HTTP side on
 * libmicrohttpd.
 *
 * HTTP: one thread per connection (handlers block on disk syncs and on the ledger, so a
 * polling thread pool would stall its other connections behind them), at most
 * NODE_RPC_CONNECTIONS_MAX of them, each idle at most NODE_RPC_IDLE_TIMEOUT_S. A body is
 * gathered into a buffer bounded by NODE_RPC_BODY_MAX: a Content-Length over it is refused
 * before any byte is read (413, and the connection closes); a chunked body that grows over
 * it is drained and discarded (the connection is dropped if it goes on for another
 * NODE_RPC_BODY_MAX), then answered 413. The listening socket is made here, not by
 * libmicrohttpd, so that a bind failure comes back as its errno.
 *
 * Routing: /zgfs/v1/upload/TXSEQ and /zgfs/v1/segment/TXSEQ/INDEX are the binary segment
 * endpoints (rpc.h); every other path takes JSON-RPC.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "node/rpc/rpc.h"
#include "sys/buf.h"
#include "sys/metrics.h"

/* ---- parsing and framing --------------------------------------------------------------- */

static int fail(struct node_rpc_error *err, int code, const char *message, const char *data)
{
	if (err) {
		err->code = code;
		err->node_err = 0;
		snprintf(err->message, sizeof(err->message), "%s", message);
		snprintf(err->data, sizeof(err->data), "%s", data ? data : "");
	}
	return code;
}

int node_rpc_parse(const char *body, size_t len, json_t **ret_doc, struct node_rpc_error *err)
{
	json_error_t je;
	json_t *doc;
	char why[sizeof(je.text) + 48];

	if (len > NODE_RPC_BODY_MAX)
		return fail(err, NODE_RPC_EPARSE, "Parse error", "request body too large");
	/* Duplicate keys are refused: which one would win is not something a peer should
	 * get to choose. Any top-level value parses, so that valid JSON of the wrong shape
	 * is an invalid request (-32600), not a parse error. */
	doc = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(why, sizeof(why), "%s at byte %d", je.text, je.position);
		return fail(err, NODE_RPC_EPARSE, "Parse error", why);
	}
	if (json_is_object(doc) || (json_is_array(doc) && json_array_size(doc) > 0 &&
				    json_array_size(doc) <= NODE_RPC_BATCH_MAX)) {
		*ret_doc = doc;
		return 0;
	}
	snprintf(why, sizeof(why), "%s",
		 !json_is_array(doc)	     ? "not a request object or a batch array"
		 : json_array_size(doc) == 0 ? "empty batch"
					     : "batch of more than NODE_RPC_BATCH_MAX requests");
	json_decref(doc);
	return fail(err, NODE_RPC_EINVALID_REQUEST, "Invalid Request", why);
}

/* The request's id if it is one JSON-RPC allows (number, string, null); else NULL. */
static json_t *request_id(json_t *req)
{
	json_t *id = json_object_get(req, "id");

	return json_is_number(id) || json_is_string(id) || json_is_null(id) ? id : NULL;
}

int node_rpc_request_check(json_t *req, const char **ret_method, json_t **ret_params,
			   json_t **ret_id, struct node_rpc_error *err)
{
	json_t *v, *params, *id;
	const char *method;

	if (!json_is_object(req))
		return fail(err, NODE_RPC_EINVALID_REQUEST, "Invalid Request",
			    "a request is a JSON object");
	id = json_object_get(req, "id");
	if (id && !request_id(req))
		return fail(err, NODE_RPC_EINVALID_REQUEST, "Invalid Request",
			    "id must be a number, a string or null");
	v = json_object_get(req, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return fail(err, NODE_RPC_EINVALID_REQUEST, "Invalid Request",
			    "jsonrpc must be \"2.0\"");
	v = json_object_get(req, "method");
	method = json_string_value(v);
	if (!method || json_string_length(v) == 0 || json_string_length(v) > NODE_RPC_METHOD_MAX ||
	    strlen(method) != json_string_length(v))
		return fail(err, NODE_RPC_EINVALID_REQUEST, "Invalid Request",
			    "method must be a method name");
	params = json_object_get(req, "params");
	if (params && !json_is_array(params) && !json_is_object(params) && !json_is_null(params))
		return fail(err, NODE_RPC_EINVALID_REQUEST, "Invalid Request",
			    "params must be an array or an object");
	*ret_method = method;
	*ret_params = json_is_null(params) ? NULL : params;
	*ret_id = id;
	return 0;
}

json_t *node_rpc_error_json(const struct node_rpc_error *err)
{
	json_t *o = json_pack("{s:i, s:s}", "code", err->code, "message", err->message);

	if (!o)
		return NULL;
	if (err->code == NODE_RPC_ENODE) {
		if (json_object_set_new(o, "data", json_integer(err->node_err)) < 0)
			goto fail;
	} else if (err->data[0]) {
		json_t *d = json_string(err->data);

		/* A detail quoting peer bytes may not be UTF-8: then it is left out. */
		if (d && json_object_set_new(o, "data", d) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* {"jsonrpc": "2.0", "result" or "error", "id"}. Steals result. */
static json_t *response(json_t *id, json_t *result, const struct node_rpc_error *err)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "jsonrpc", json_string("2.0")) < 0 ||
	    json_object_set(o, "id", id ? id : json_null()) < 0)
		goto fail;
	if (err) {
		if (json_object_set_new(o, "error", node_rpc_error_json(err)) < 0)
			goto fail;
	} else {
		if (json_object_set_new(o, "result", result) < 0) {
			result = NULL; /* set_new released it */
			goto fail;
		}
		result = NULL;
	}
	return o;
fail:
	json_decref(result);
	json_decref(o);
	return NULL;
}

/* One request of a body: *ret is its response, NULL for a notification. */
static int handle_one(struct node *n, json_t *req, json_t **ret)
{
	struct node_rpc_error err = {0};
	const char *method;
	json_t *params, *id, *result = NULL, *out;
	int r;

	r = node_rpc_request_check(req, &method, &params, &id, &err);
	if (r < 0) {
		/* Invalid requests are answered even without an id: with id null. */
		out = response(json_is_object(req) ? request_id(req) : NULL, NULL, &err);
		if (!out)
			return -ENOMEM;
		*ret = out;
		return 0;
	}
	r = node_rpc_dispatch(n, method, params, &result, &err);
	if (!id) {
		json_decref(result);
		*ret = NULL;
		return 0;
	}
	out = response(id, r == 0 ? result : NULL, r == 0 ? NULL : &err);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

int node_rpc_handle(struct node *n, const char *body, size_t len, json_t **ret_response)
{
	struct node_rpc_error err = {0};
	json_t *doc = NULL, *out = NULL, *one;
	int r;

	r = node_rpc_parse(body, len, &doc, &err);
	if (r < 0) {
		out = response(NULL, NULL, &err);
		if (!out)
			return -ENOMEM;
		*ret_response = out;
		return 0;
	}
	if (json_is_object(doc)) {
		r = handle_one(n, doc, &out);
		goto done;
	}
	out = json_array();
	if (!out) {
		r = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < json_array_size(doc); i++) {
		r = handle_one(n, json_array_get(doc, i), &one);
		if (r < 0)
			goto done;
		if (one && json_array_append_new(out, one) < 0) {
			r = -ENOMEM;
			goto done;
		}
	}
	if (json_array_size(out) == 0) { /* all notifications: nothing to answer */
		json_decref(out);
		out = NULL;
	}
done:
	json_decref(doc);
	if (r < 0) {
		json_decref(out);
		return r;
	}
	*ret_response = out;
	return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

struct node_rpc {
	struct MHD_Daemon *daemon;
	struct node *node;
	unsigned port;
	_Atomic(node_rpc_metrics_fn *) metrics_fn;
	void *metrics_ctx;
	_Atomic uint64_t requests, bad_requests, scrapes;
	struct sys_hist request_time; /* JSON-RPC and binary requests */
};

void node_rpc_set_metrics(struct node_rpc *rpc, node_rpc_metrics_fn *fn, void *ctx)
{
	if (!rpc)
		return;
	rpc->metrics_ctx = ctx;
	atomic_store(&rpc->metrics_fn, fn);
}

/* The miner's figures (docs/PORA.md), when the node mines. */
static int miner_metrics(struct node_rpc *rpc, struct sys_buf *b)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} rows[] = {
#define ROW(name, field, help) {name, help, offsetof(struct node_mine_report, field)}
	    ROW("zgfs_node_pora_tries_total", tries, "PoRA nonces tried."),
	    ROW("zgfs_node_pora_answers_submitted_total", submitted,
		"PoRA answers sent to the chain."),
	    ROW("zgfs_node_pora_answers_accepted_total", accepted,
		"PoRA answers the chain accepted."),
	    ROW("zgfs_node_pora_answers_refused_total", refused, "PoRA answers the chain refused."),
	    ROW("zgfs_node_pora_rewards_total", rewards,
		"Rewards paid for accepted answers, in the chain's smallest unit."),
	    ROW("zgfs_node_pora_corrupt_units_total", corrupt,
		"Mined units whose stored bytes did not prove into the flow root."),
	    ROW("zgfs_node_pora_missing_units_total", missing,
		"Mined units of settled entries the store could not serve."),
#undef ROW
	};
	struct node_mine_report rep;
	int r = node_mine_report(rpc->node, &rep);

	if (r < 0)
		return 0; /* not mining (-ENOENT), or nothing to say */
	for (size_t i = 0; r == 0 && i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)&rep + rows[i].off, sizeof(v));
		r = sys_metrics_single(b, rows[i].name, "counter", rows[i].help, v);
	}
	return r;
}

/* The node's figures, in the order of struct node_status. */
static int node_metrics(struct node_rpc *rpc, struct sys_buf *b)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} rows[] = {
#define ROW(name, type, field, help) {name, type, help, offsetof(struct node_status, field)}
	    ROW("zgfs_node_entries_settled", "gauge", next_tx_seq,
		"Entries the chain settled (next tx seq)."),
	    ROW("zgfs_node_entries_complete", "gauge", finalized,
		"Entries this node holds completely."),
	    ROW("zgfs_node_kv_replayed_entries", "gauge", kv_next_tx_seq,
		"Entries the KV state has replayed."),
	    ROW("zgfs_node_chain_height", "gauge", log_sync_height,
		"The chain's height as followed."),
	    ROW("zgfs_node_flow_sectors", "gauge", flow_length,
		"The flow's length in 256-byte sectors."),
	    ROW("zgfs_node_stored_bytes", "gauge", bytes_stored, "Bytes of entries stored."),
	    ROW("zgfs_node_disk_free_bytes", "gauge", disk_free,
		"Free bytes on the data directory's disk."),
	    ROW("zgfs_node_sync_waiting_entries", "gauge", sync_waiting,
		"Entries waiting for segments from peers."),
	    ROW("zgfs_node_sync_missing_segments", "gauge", sync_missing,
		"Segments of this shard still missing."),
	    ROW("zgfs_node_sync_fetched_segments_total", "counter", sync_fetched,
		"Segments fetched from peers."),
	    ROW("zgfs_node_sync_fetched_bytes_total", "counter", sync_fetched_bytes,
		"Bytes fetched from peers by the sync."),
	    ROW("zgfs_node_parity_built_total", "counter", parity_built, "Parity symbols built."),
	    ROW("zgfs_node_parity_in_bytes_total", "counter", parity_bytes_in,
		"Bytes fetched to build parity."),
	    ROW("zgfs_node_segments_rebuilt_total", "counter", segments_rebuilt,
		"Segments rebuilt from stripes."),
	    ROW("zgfs_node_rebuilt_in_bytes_total", "counter", rebuilt_bytes_in,
		"Bytes fetched to rebuild segments."),
	    ROW("zgfs_node_segments_served_total", "counter", segments_served,
		"Segments served from this node's store."),
	    ROW("zgfs_node_segments_relayed_total", "counter", segments_relayed,
		"Segments served after fetching or rebuilding them from peers."),
#undef ROW
	};
	struct node_status st;
	int r = node_status(rpc->node, &st);

	for (size_t i = 0; r == 0 && i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)&st + rows[i].off, sizeof(v));
		r = sys_metrics_single(b, rows[i].name, rows[i].type, rows[i].help, v);
	}
	if (r == 0)
		r = sys_metrics_single(b, "zgfs_node_peers", "gauge", "Peers connected.",
				       st.connected_peers);
	if (r == 0)
		r = miner_metrics(rpc, b);
	return r;
}

/* One request's body, gathered as it arrives (at most NODE_RPC_BODY_MAX bytes). */
struct body {
	struct sys_buf buf;
	bool too_large;
	size_t dropped;
	uint64_t t0; /* sys_now_ns() when the request began */
};

static int body_add(struct body *b, const char *data, size_t len)
{
	if (!b->too_large && sys_buf_append(&b->buf, data, len) == -E2BIG)
		b->too_large = true;
	if (b->too_large) {
		/* Read and dropped, so the answer can say why: up to the limit again. */
		b->dropped += len;
		return b->dropped > NODE_RPC_BODY_MAX ? -E2BIG : 0;
	}
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;

	resp = MHD_create_response_from_buffer(
	    text ? strlen(text) : 0, text, text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
	ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ok;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, int code,
				   const char *message, const char *data)
{
	struct node_rpc_error err;
	json_t *o;
	char *text;

	fail(&err, code, message, data);
	o = response(NULL, NULL, &err);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return reply(c, status, text);
}

/* A JSON-RPC answer (id null) with result null or err, as HTTP 200. */
static enum MHD_Result reply_answer(struct MHD_Connection *c, int r,
				    const struct node_rpc_error *err)
{
	json_t *o = response(NULL, r == 0 ? json_null() : NULL, r == 0 ? NULL : err);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!text)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
				   "Internal error", "out of memory");
	return reply(c, MHD_HTTP_OK, text);
}

/* Decimal digits up to the next '/' or the end; *s moves past them. */
static bool path_u64(const char **s, uint64_t *ret)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p && *p != '/')
		return false;
	*s = p;
	*ret = v;
	return true;
}

/* The binary endpoints (rpc.h): /zgfs/v1/upload/TXSEQ and /zgfs/v1/segment/TXSEQ/INDEX. */
static enum MHD_Result binary_request(struct node_rpc *rpc, struct MHD_Connection *c,
				      const char *path, const struct body *b)
{
	struct node_rpc_error err = {0};
	struct node_rpc_segment *segs;
	struct MHD_Response *resp;
	enum MHD_Result ok;
	uint64_t seq, index;
	size_t count, len;
	uint8_t *out;
	int r;

	if (strncmp(path, "upload/", 7) == 0) {
		path += 7;
		if (!path_u64(&path, &seq) || *path)
			goto not_found;
		segs = malloc(NODE_RPC_SEGMENTS_MAX * sizeof(*segs));
		if (!segs)
			return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
					   "Internal error", "out of memory");
		r = node_rpc_segments_decode(b->buf.data, b->buf.len, segs,
					     NODE_RPC_SEGMENTS_MAX, &count, &err);
		if (r == 0)
			r = node_rpc_put_segments_forward(rpc->node, segs, count, seq, &err);
		free(segs);
		return reply_answer(c, r, &err);
	}
	if (strncmp(path, "segment/", 8) != 0)
		goto not_found;
	path += 8;
	if (!path_u64(&path, &seq) || *path++ != '/' || !path_u64(&path, &index) || *path)
		goto not_found;
	segs = malloc(sizeof(*segs));
	if (!segs)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
				   "Internal error", "out of memory");
	r = node_rpc_get_segment(rpc->node, NULL, seq, index, segs, &err);
	if (r != 0) {
		free(segs);
		return reply_answer(c, r == 1 ? 0 : r, &err);
	}
	len = node_rpc_binary_header(1, NULL) +
	      node_rpc_segment_encode(segs->root, segs->data, segs->len, segs->index,
				      segs->file_size, &segs->proof, NULL);
	out = malloc(len);
	if (!out) {
		free(segs);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
				   "Internal error", "out of memory");
	}
	node_rpc_segment_encode(segs->root, segs->data, segs->len, segs->index, segs->file_size,
				&segs->proof, out + node_rpc_binary_header(1, out));
	free(segs);
	resp = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(out);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok;
not_found:
	return reply_error(c, MHD_HTTP_NOT_FOUND, NODE_RPC_ENO_METHOD, "Method not found",
			   "no such endpoint under /zgfs/v1/");
}

/* GET /metrics. */
static enum MHD_Result metrics_request(struct node_rpc *rpc, struct MHD_Connection *c)
{
	node_rpc_metrics_fn *fn = atomic_load(&rpc->metrics_fn);
	struct MHD_Response *resp;
	struct sys_buf b;
	enum MHD_Result ok;
	uint8_t *text;
	size_t len;
	int r;

	atomic_fetch_add(&rpc->scrapes, 1);
	sys_buf_init(&b, NODE_RPC_METRICS_MAX);
	r = node_metrics(rpc, &b);
	if (r == 0)
		r = sys_metrics_single(&b, "zgfs_node_rpc_requests_total", "counter",
				       "Requests served (JSON-RPC and binary).",
				       atomic_load(&rpc->requests));
	if (r == 0)
		r = sys_metrics_single(&b, "zgfs_node_rpc_bad_requests_total", "counter",
				       "Requests refused before dispatch (method, size, body).",
				       atomic_load(&rpc->bad_requests));
	if (r == 0)
		r = sys_metrics_family(&b, "zgfs_node_rpc_request_duration_seconds", "histogram",
				       "Time to answer a request.");
	if (r == 0)
		r = sys_metrics_hist(&b, "zgfs_node_rpc_request_duration_seconds", NULL,
				     &rpc->request_time);
	if (r == 0)
		r = sys_metrics_single(&b, "zgfs_node_metrics_scrapes_total", "counter",
				       "Scrapes of /metrics.", atomic_load(&rpc->scrapes));
	if (r == 0 && fn)
		r = fn(rpc->metrics_ctx, &b);
	if (r < 0) {
		sys_buf_free(&b);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
				   "Internal error", "the metrics did not fit");
	}
	text = sys_buf_take(&b, &len);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct node_rpc *rpc = cls;
	struct body *b = *con_cls;
	json_t *resp = NULL;
	char *text;
	int r;

	if (!b) {
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 && strcmp(url, "/metrics") == 0)
			return metrics_request(rpc, c);
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
			atomic_fetch_add(&rpc->bad_requests, 1);
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					   NODE_RPC_EINVALID_REQUEST, "Invalid Request",
					   "send a JSON-RPC 2.0 request with POST");
		}
		if (cl && strtoull(cl, NULL, 10) > NODE_RPC_BODY_MAX) {
			atomic_fetch_add(&rpc->bad_requests, 1);
			return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NODE_RPC_EINVALID_REQUEST,
					   "Invalid Request",
					   "request body larger than NODE_RPC_BODY_MAX (6 MiB)");
		}
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		b->t0 = sys_now_ns();
		sys_buf_init(&b->buf, NODE_RPC_BODY_MAX);
		/* The whole body at once when its length is known (bounded above); a failed
		 * reservation only means the body grows as it comes. */
		if (cl && strtoull(cl, NULL, 10) > 0)
			(void)sys_buf_reserve(&b->buf, (size_t)strtoull(cl, NULL, 10));
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		r = body_add(b, upload_data, *upload_size);
		*upload_size = 0;
		return r < 0 ? MHD_NO : MHD_YES;
	}
	if (b->too_large)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NODE_RPC_EINVALID_REQUEST,
				   "Invalid Request",
				   "request body larger than NODE_RPC_BODY_MAX (6 MiB)");
	atomic_fetch_add(&rpc->requests, 1);
	if (strncmp(url, "/zgfs/v1/", 9) == 0) {
		enum MHD_Result res = binary_request(rpc, c, url + 9, b);

		sys_hist_observe(&rpc->request_time, sys_now_ns() - b->t0);
		return res;
	}
	r = node_rpc_handle(rpc->node, b->buf.data ? (const char *)b->buf.data : "", b->buf.len,
			    &resp);
	sys_hist_observe(&rpc->request_time, sys_now_ns() - b->t0);
	if (r < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
				   "Internal error", "out of memory");
	if (!resp)
		return reply(c, MHD_HTTP_NO_CONTENT, NULL);
	text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!text)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NODE_RPC_EINTERNAL,
				   "Internal error", "out of memory");
	return reply(c, MHD_HTTP_OK, text);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	if (b) {
		sys_buf_free(&b->buf);
		free(b);
		*con_cls = NULL;
	}
}

/* A listening TCP socket on host:port. */
static int listen_on(const char *host, unsigned port, int *ret_fd, unsigned *ret_port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char service[8];
	int fd = -1, one = 1, r;

	if (port > 65535)
		return -EINVAL;
	snprintf(service, sizeof(service), "%u", port);
	r = getaddrinfo(host ? host : "127.0.0.1", service, &hints, &res);
	if (r != 0)
		return r == EAI_MEMORY ? -ENOMEM : r == EAI_SYSTEM ? -errno : -EINVAL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, NODE_RPC_CONNECTIONS_MAX * 2) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		r = -errno;
		goto out;
	}
	*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return r;
}

int node_rpc_start(struct node *n, const char *host, unsigned port, struct node_rpc **ret_rpc)
{
	struct node_rpc *rpc;
	int fd = -1, r;

	if (!n)
		return -EINVAL;
	rpc = calloc(1, sizeof(*rpc));
	if (!rpc)
		return -ENOMEM;
	rpc->node = n;
	r = listen_on(host, port, &fd, &rpc->port);
	if (r < 0) {
		free(rpc);
		return r;
	}
	rpc->daemon = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL,
	    NULL, on_request, rpc, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)NODE_RPC_CONNECTIONS_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)NODE_RPC_IDLE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)NODE_RPC_CONNECTION_BUFFER,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (!rpc->daemon) {
		close(fd);
		free(rpc);
		return -EIO;
	}
	*ret_rpc = rpc;
	return 0;
}

unsigned node_rpc_port(const struct node_rpc *rpc)
{
	return rpc->port;
}

void node_rpc_stop(struct node_rpc *rpc)
{
	if (!rpc)
		return;
	MHD_stop_daemon(rpc->daemon); /* closes the listening socket, joins the threads */
	free(rpc);
}
