/*
 * The JSON-RPC client on libcurl. A client keeps up to NODE_RPC_CLIENT_HANDLES easy
 * handles, each with its own keep-alive connection; a call borrows a free one (or makes
 * one), so concurrent callers (FUSE threads) never share a handle and never serialize
 * behind one another's transfers. Every response is read into a buffer bounded by
 * NODE_RPC_RESPONSE_MAX. This file is the boundary where CURLcode becomes -errno.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "codec/proof.h"
#include "codec/rs.h"
#include "node/rpc/rpc.h"

struct node_rpc_client {
	char *url;
	struct curl_slist *headers, *bin_headers;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a handle was returned */
	CURL *idle[NODE_RPC_CLIENT_HANDLES];
	size_t nidle, nlive;
	uint64_t next_id;
	long timeout_ms, connect_ms; /* node_rpc_client_set_timeout(); 0: the defaults */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

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
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->url = strdup(url);
	/* No "Expect: 100-continue" round trip before large bodies. */
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->headers && !curl_slist_append(c->headers, "Expect:")) {
		curl_slist_free_all(c->headers);
		c->headers = NULL;
	}
	c->bin_headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (c->bin_headers && !curl_slist_append(c->bin_headers, "Expect:")) {
		curl_slist_free_all(c->bin_headers);
		c->bin_headers = NULL;
	}
	if (!c->url || !c->headers || !c->bin_headers) {
		curl_slist_free_all(c->headers);
		curl_slist_free_all(c->bin_headers);
		free(c->url);
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->next_id = 1;
	*ret_client = c;
	return 0;
}

void node_rpc_client_free(struct node_rpc_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	curl_slist_free_all(c->headers);
	curl_slist_free_all(c->bin_headers);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->url);
	free(c);
}

const char *node_rpc_client_url(const struct node_rpc_client *c)
{
	return c->url;
}

/* A free handle (waiting while all NODE_RPC_CLIENT_HANDLES are busy); NULL on -ENOMEM. */
static CURL *take(struct node_rpc_client *c, uint64_t *ret_id)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->mu);
	while (c->nidle == 0 && c->nlive >= NODE_RPC_CLIENT_HANDLES)
		pthread_cond_wait(&c->cv, &c->mu);
	if (c->nidle > 0)
		h = c->idle[--c->nidle];
	else
		c->nlive++;
	*ret_id = c->next_id++;
	pthread_mutex_unlock(&c->mu);
	if (h)
		return h;
	h = curl_easy_init();
	if (!h) {
		pthread_mutex_lock(&c->mu);
		c->nlive--;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return h;
}

static void give_back(struct node_rpc_client *c, CURL *h)
{
	pthread_mutex_lock(&c->mu);
	c->idle[c->nidle++] = h;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* The response body, bounded. */
struct sink {
	char *buf;
	size_t len, cap;
	bool overflow;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if (n > NODE_RPC_RESPONSE_MAX - s->len) {
		s->overflow = true;
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		char *b;

		while (cap < s->len + n)
			cap *= 2;
		if (cap > NODE_RPC_RESPONSE_MAX)
			cap = NODE_RPC_RESPONSE_MAX;
		b = realloc(s->buf, cap);
		if (!b)
			return 0;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return n;
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

/* CURLcode → -errno. */
static int transport_error(CURL *h, CURLcode cc, const struct sink *s)
{
	long os = 0;

	if (s->overflow)
		return -E2BIG;
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
		return os == EHOSTUNREACH || os == ENETUNREACH || os == ETIMEDOUT ? -(int)os
										  : -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	default:
		return -EIO;
	}
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
 * One POST of body to url on handle h; the answer lands in s. Returns 0 with the HTTP
 * status and whether the answer is binary, or a transport error (err filled).
 */
static int transfer(struct node_rpc_client *c, CURL *h, const char *url, const char *what,
		    const void *body, size_t len, bool binary, struct sink *s, long *ret_status,
		    bool *ret_binary, struct node_rpc_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = binary ? c->bin_headers : c->headers;
	char *ctype = NULL;
	CURLcode cc;
	int r;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	/* Never NULL: libcurl would read the body from stdin. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 c->connect_ms ? c->connect_ms : NODE_RPC_CLIENT_CONNECT_TIMEOUT_S * 1000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			 c->timeout_ms ? c->timeout_ms : NODE_RPC_CLIENT_TIMEOUT_S * 1000L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	if (cc != CURLE_OK) {
		r = transport_error(h, cc, s);
		return fail(err, 0, r, NULL, "%s: %s: %s", c->url, what,
			    r == -E2BIG ? "response larger than NODE_RPC_RESPONSE_MAX"
			    : errbuf[0] ? errbuf
					: curl_easy_strerror(cc));
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	*ret_binary = ctype && strncmp(ctype, "application/octet-stream", 24) == 0;
	return 0;
}

/* A JSON-RPC answer in s: 0 with the result (new reference), or its error's code. */
static int answer(struct node_rpc_client *c, const char *what, const struct sink *s, long status,
		  json_int_t id, json_t **ret_result, struct node_rpc_error *err)
{
	json_t *resp = s->len ? json_loadb(s->buf, s->len, 0, NULL) : NULL, *e;
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
	struct sink s = {0};
	json_t *req = NULL;
	char *body = NULL;
	uint64_t id;
	long status = 0;
	bool binary;
	CURL *h;
	int r;

	h = take(c, &id);
	if (!h) {
		json_decref(params);
		return fail(err, 0, -ENOMEM, NULL, "%s: out of memory", c->url);
	}
	req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
			method, "params", params ? params : json_array());
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		r = fail(err, 0, -ENOMEM, NULL, "%s: out of memory", c->url);
		goto out;
	}
	r = transfer(c, h, c->url, method, body, strlen(body), false, &s, &status, &binary, err);
	if (r == 0)
		r = answer(c, method, &s, status, (json_int_t)id, ret_result, err);
out:
	give_back(c, h);
	json_decref(req);
	free(body);
	free(s.buf);
	return r;
}

int node_rpc_post(struct node_rpc_client *c, const char *path, const void *body, size_t len,
		  uint8_t **ret_body, size_t *ret_len, struct node_rpc_error *err)
{
	struct sink s = {0};
	size_t ul = strlen(c->url);
	char *url = malloc(ul + strlen(path) + 1);
	uint64_t id;
	long status = 0;
	bool binary = false;
	CURL *h;
	int r;

	if (!url)
		return fail(err, 0, -ENOMEM, NULL, "%s: out of memory", c->url);
	memcpy(url, c->url, ul + 1);
	while (ul > 0 && url[ul - 1] == '/')
		url[--ul] = 0;
	memcpy(url + ul, path, strlen(path) + 1);
	h = take(c, &id);
	if (!h) {
		free(url);
		return fail(err, 0, -ENOMEM, NULL, "%s: out of memory", c->url);
	}
	r = transfer(c, h, url, path, body, len, true, &s, &status, &binary, err);
	give_back(c, h);
	free(url);
	if (r == 0 && status == 200 && binary) {
		*ret_body = (uint8_t *)s.buf;
		*ret_len = s.len;
		return 0;
	}
	if (r == 0)
		r = answer(c, path, &s, status, -1, NULL, err);
	if (r == 0) {
		*ret_body = NULL;
		*ret_len = 0;
	}
	free(s.buf);
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
