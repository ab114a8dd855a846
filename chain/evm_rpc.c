/*
 * Ethereum JSON-RPC over libcurl. This file is where CURLcode and HTTP statuses become
 * -errno for the chain layer.
 *
 * A pool of easy handles (rather than one behind a mutex) keeps concurrent callers from
 * queueing behind one another's transfers while still reusing connections. Retrying is
 * limited to failures that say nothing reached the node's JSON-RPC layer, or that a proxy
 * in front of it gave up (5xx, 429): a JSON-RPC answer, even an error, is the node's
 * decision and asking again would not change it. The error text lives in thread-local
 * storage because a handle is shared by threads whose failures must not overwrite each
 * other's message.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "chain/evm_rpc_i.h"
#include "codec/hex.h"
#include "sys/buf.h"
#include "sys/clock.h"

#define DEFAULT_TRIES	   5
#define DEFAULT_BACKOFF_MS 200
#define MAX_BACKOFF_MS	   5000
#define DEFAULT_TIMEOUT_MS 30000
#define CONNECT_TIMEOUT_MS 10000

struct chain_evm_rpc {
	char *url;
	char *shown; /* url for messages: no credentials, no query */
	unsigned tries, backoff_ms, timeout_ms;
	struct curl_slist *headers;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a handle came back */
	CURL *idle[CHAIN_EVM_RPC_HANDLES];
	size_t nidle, nlive;
	uint64_t next_id;
};

static _Thread_local char last_error[512];

__attribute__((format(printf, 2, 3))) static int fail(int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return ret;
}

const char *chain_evm_rpc_error(struct chain_evm_rpc *r)
{
	(void)r;
	return last_error;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* scheme://host[:port]/path of url, without user:password@ or ?query (API keys often ride
 * there, and messages end up in logs). */
static char *shown_url(const char *url)
{
	const char *auth = strstr(url, "://"), *end, *at;
	size_t n = strcspn(url, "?#");
	char *s;

	if (!auth)
		return strndup(url, n);
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (!at)
		return strndup(url, n);
	s = malloc(n + 1);
	if (!s)
		return NULL;
	snprintf(s, n + 1, "%.*s%.*s", (int)(auth - url), url, (int)(url + n - (at + 1)), at + 1);
	return s;
}

int chain_evm_rpc_open(const char *url, const struct chain_evm_rpc_opts *opts,
		       struct chain_evm_rpc **ret)
{
	struct chain_evm_rpc *r;

	if (!url || !ret ||
	    (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
		return fail(-EINVAL, "not an http(s) JSON-RPC URL: %s", url ? url : "(none)");
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return fail(-ENOMEM, "libcurl did not initialize");
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(-ENOMEM, "out of memory");
	r->url = strdup(url);
	r->shown = shown_url(url);
	r->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before larger bodies. */
	if (r->headers && !curl_slist_append(r->headers, "Expect:")) {
		curl_slist_free_all(r->headers);
		r->headers = NULL;
	}
	if (!r->url || !r->shown || !r->headers) {
		curl_slist_free_all(r->headers);
		free(r->shown);
		free(r->url);
		free(r);
		return fail(-ENOMEM, "out of memory");
	}
	r->tries = opts && opts->retries ? opts->retries : DEFAULT_TRIES;
	r->backoff_ms = opts && opts->backoff_ms ? opts->backoff_ms : DEFAULT_BACKOFF_MS;
	r->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->next_id = 1;
	*ret = r;
	return 0;
}

void chain_evm_rpc_close(struct chain_evm_rpc *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nidle; i++)
		curl_easy_cleanup(r->idle[i]);
	curl_slist_free_all(r->headers);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->shown);
	free(r->url);
	free(r);
}

/* ---- handles --------------------------------------------------------------------------- */

/* A free handle, waiting while all are busy; NULL when a new one cannot be made. */
static CURL *take(struct chain_evm_rpc *r, uint64_t *ret_id)
{
	CURL *h = NULL;

	pthread_mutex_lock(&r->mu);
	while (r->nidle == 0 && r->nlive >= CHAIN_EVM_RPC_HANDLES)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->nidle > 0)
		h = r->idle[--r->nidle];
	else
		r->nlive++;
	*ret_id = r->next_id++;
	pthread_mutex_unlock(&r->mu);
	if (h)
		return h;
	h = curl_easy_init();
	if (!h) {
		pthread_mutex_lock(&r->mu);
		r->nlive--;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	return h;
}

static void give_back(struct chain_evm_rpc *r, CURL *h)
{
	pthread_mutex_lock(&r->mu);
	r->idle[r->nidle++] = h;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ---- one transfer ---------------------------------------------------------------------- */

struct sink {
	struct sys_buf buf; /* at most CHAIN_EVM_RESPONSE_MAX bytes */
	bool overflow, nomem;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;
	int r = sys_buf_append(&s->buf, p, n);

	s->overflow |= r == -E2BIG;
	s->nomem |= r == -ENOMEM;
	return r == 0 ? n : 0; /* else libcurl stops with CURLE_WRITE_ERROR */
}

/* What one try came to. */
enum outcome {
	DONE,	   /* an HTTP answer to read */
	TRANSIENT, /* worth another try */
	FATAL,	   /* no point in trying again */
};

/*
 * POSTs body on h. On DONE, *ret_status is the HTTP status and s the body. Otherwise
 * *ret_err is the -errno and why[] the reason.
 */
static enum outcome transfer(struct chain_evm_rpc *r, CURL *h, const char *body, struct sink *s,
			     long *ret_status, int *ret_err, char *why, size_t why_size)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long os = 0;
	CURLcode cc;

	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	curl_easy_setopt(
	    h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(r->timeout_ms < CONNECT_TIMEOUT_MS ? r->timeout_ms : CONNECT_TIMEOUT_MS));
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CHAIN_EVM_RESPONSE_MAX);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
		return DONE;
	}
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
	if (os > 0 && os < 4096 && cc == CURLE_COULDNT_CONNECT)
		snprintf(why, why_size, "%s", strerror((int)os));
	else
		snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	if (s->overflow || cc == CURLE_FILESIZE_EXCEEDED) {
		*ret_err = -E2BIG;
		snprintf(why, why_size, "answer larger than %u bytes", CHAIN_EVM_RESPONSE_MAX);
		return FATAL;
	}
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		*ret_err = os == EHOSTUNREACH || os == ENETUNREACH ? -EHOSTUNREACH
			   : os == ETIMEDOUT			   ? -ETIMEDOUT
								   : -ECONNREFUSED;
		return TRANSIENT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		*ret_err = -EHOSTUNREACH;
		return TRANSIENT;
	case CURLE_OPERATION_TIMEDOUT:
		*ret_err = -ETIMEDOUT;
		return TRANSIENT;
	case CURLE_OUT_OF_MEMORY:
		*ret_err = -ENOMEM;
		return FATAL;
	case CURLE_WRITE_ERROR:
		*ret_err = s->nomem ? -ENOMEM : -EIO;
		return s->nomem ? FATAL : TRANSIENT;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		*ret_err = -EINVAL;
		return FATAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		*ret_err = -EIO; /* the same certificate will fail the same way */
		return FATAL;
	default:
		*ret_err = -EIO;
		return TRANSIENT;
	}
}

/* ---- the answer ------------------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The number of bytes in a "0x"-prefixed byte string, or -1 when it is not one. */
static ssize_t hex_bytes_len(const char *t)
{
	size_t n;

	if (!t || t[0] != '0' || (t[1] != 'x' && t[1] != 'X'))
		return -1;
	t += 2;
	for (n = 0; t[n]; n++)
		if (hexval(t[n]) < 0)
			return -1;
	return n % 2 ? -1 : (ssize_t)(n / 2);
}

/* Decodes the first n bytes of a string hex_bytes_len() accepted. */
static void hex_bytes(const char *t, uint8_t *out, size_t n)
{
	t += 2;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(hexval(t[2 * i]) << 4 | hexval(t[2 * i + 1]));
}

/* Exactly n bytes, "0x"-prefixed: a hash or an address. */
static int hex_fixed(json_t *v, uint8_t *out, size_t n)
{
	const char *t = json_string_value(v);

	if (hex_bytes_len(t) != (ssize_t)n)
		return -EBADMSG;
	hex_bytes(t, out, n);
	return 0;
}

int chain_evm_parse_quantity(const char *text, uint8_t ret[32])
{
	uint8_t v[32] = {0};
	size_t n;

	if (!text || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
		return -EBADMSG;
	text += 2;
	n = strlen(text);
	if (n < 1 || n > 64)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		int d = hexval(text[n - 1 - i]);

		if (d < 0)
			return -EBADMSG;
		v[31 - i / 2] |= (uint8_t)(i % 2 ? d << 4 : d);
	}
	memcpy(ret, v, 32);
	return 0;
}

int chain_evm_parse_u64(const char *text, uint64_t *ret)
{
	uint8_t v[32];
	uint64_t x = 0;
	int r = chain_evm_parse_quantity(text, v);

	if (r < 0)
		return r;
	for (int i = 0; i < 24; i++)
		if (v[i])
			return -EOVERFLOW;
	for (int i = 24; i < 32; i++)
		x = x << 8 | v[i];
	*ret = x;
	return 0;
}

static int json_u64(json_t *v, uint64_t *ret)
{
	return chain_evm_parse_u64(json_string_value(v), ret);
}

static void sanitize(char *dst, size_t size, const char *src)
{
	size_t k = 0;

	for (; src && src[k] && k + 1 < size; k++)
		dst[k] = src[k] >= 0x20 && src[k] < 0x7f ? src[k] : '?';
	dst[k] = 0;
}

/* A JSON-RPC error object → -EPROTO or -CHAIN_EREVERTED, with the fault. */
static int answer_error(json_t *e, const char *method, struct chain_evm_rpc_fault *ret_fault)
{
	struct chain_evm_rpc_fault f;
	json_t *code = json_object_get(e, "code"), *data = json_object_get(e, "data");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *hex = NULL, *detail = NULL;
	bool reverted = false;
	ssize_t n;

	if (!json_is_object(e) || !json_is_integer(code) || !msg)
		return fail(-EBADMSG, "%s: malformed JSON-RPC error object", method);
	memset(&f, 0, sizeof(f));
	f.code = (long)json_integer_value(code);
	sanitize(f.message, sizeof(f.message), msg);
	/* Revert data: geth and anvil give it as "data": "0x...", others nest it one level. */
	if (json_is_string(data))
		hex = json_string_value(data);
	else if (json_is_object(data) && json_is_string(json_object_get(data, "data")))
		hex = json_string_value(json_object_get(data, "data"));
	n = hex_bytes_len(hex);
	if (n >= 0) {
		f.data_len = (size_t)n < sizeof(f.data) ? (size_t)n : sizeof(f.data);
		hex_bytes(hex, f.data, f.data_len);
		reverted = true;
	} else if (json_is_string(data)) {
		detail = json_string_value(data);
	}
	/* A revert without data ("revert()") has only the message to say so. */
	if (!strncasecmp(msg, "execution reverted", 18) || !strncasecmp(msg, "reverted", 8))
		reverted = true;
	if (ret_fault)
		*ret_fault = f;
	fail(0, "%s: %s%s%.200s (JSON-RPC error %ld)", method, f.message, detail ? ": " : "",
	     detail ? detail : "", f.code);
	return reverted ? -CHAIN_EREVERTED : -EPROTO;
}

/*
 * Reads a JSON-RPC answer. Returns 0 with the result, an answer_error() code, -EBADMSG, or
 * 1 when the body is not a JSON-RPC answer at all (the caller decides by HTTP status).
 */
static int answer(const struct sink *s, uint64_t id, const char *method, json_t **ret_result,
		  struct chain_evm_rpc_fault *ret_fault)
{
	/* anvil's message for a custom error quotes its argument bytes raw, as \u0000:
	 * allowed, and cut there by json_string_value(). */
	json_t *resp = s->buf.len ? json_loadb((const char *)s->buf.data, s->buf.len,
					       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL)
				  : NULL;
	json_t *e, *res, *jid;
	int r;

	if (!json_is_object(resp)) {
		r = 1;
		goto out;
	}
	e = json_object_get(resp, "error");
	res = json_object_get(resp, "result");
	jid = json_object_get(resp, "id");
	if ((!e || json_is_null(e)) && !res) {
		r = 1;
		goto out;
	}
	/* An error about the request itself (parse error, invalid request) may carry id null. */
	if (!(e && !json_is_null(e) && json_is_null(jid)) &&
	    (!json_is_integer(jid) || (uint64_t)json_integer_value(jid) != id)) {
		r = fail(-EBADMSG, "%s: the node answered another request (id mismatch)", method);
		goto out;
	}
	if (e && !json_is_null(e)) {
		r = answer_error(e, method, ret_fault);
		goto out;
	}
	*ret_result = json_incref(res);
	r = 0;
out:
	json_decref(resp);
	return r;
}

int chain_evm_rpc_call(struct chain_evm_rpc *r, const char *method, json_t *params,
		       json_t **ret_result, struct chain_evm_rpc_fault *ret_fault)
{
	char why[CURL_ERROR_SIZE + 64] = "";
	unsigned backoff, tries = 0;
	json_t *req = NULL, *result = NULL;
	char *body = NULL;
	struct sink s = {0};
	long status = 0;
	uint64_t id;
	CURL *h;
	int ret = 0;

	sys_buf_init(&s.buf, CHAIN_EVM_RESPONSE_MAX);
	if (!r || !method || !ret_result) {
		json_decref(params);
		return fail(-EINVAL, "JSON-RPC call without a handle, method or result");
	}
	if (params && !json_is_array(params)) {
		json_decref(params);
		return fail(-EINVAL, "%s: parameters must be an array", method);
	}
	h = take(r, &id);
	if (!h) {
		json_decref(params);
		return fail(-ENOMEM, "out of memory");
	}
	req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
			method, "params", params ? params : json_array());
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		ret = fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (backoff = r->backoff_ms;;
	     backoff = backoff > MAX_BACKOFF_MS / 2 ? MAX_BACKOFF_MS : backoff * 2) {
		bool answered = false;
		enum outcome o;
		int k;

		sys_buf_reset(&s.buf);
		s.overflow = s.nomem = false;
		tries++;
		o = transfer(r, h, body, &s, &status, &ret, why, sizeof(why));
		if (o == DONE) {
			k = answer(&s, id, method, &result, ret_fault);
			if (k <= 0) {
				ret = k;
				break;
			}
			/* Not a JSON-RPC answer: a proxy or a node that is not up yet. */
			if (status >= 500 || status == 429) {
				ret = -EIO;
				snprintf(why, sizeof(why), "HTTP %ld", status);
				answered = true;
				o = TRANSIENT;
			} else {
				ret = fail(status == 200 ? -EBADMSG : -EIO,
					   "%s: %s: HTTP %ld without a JSON-RPC answer", r->shown,
					   method, status);
				break;
			}
		}
		if (o == FATAL || tries >= r->tries) {
			if (ret == -E2BIG || ret == -ENOMEM || ret == -EINVAL)
				fail(ret, "%s: %s: %s", r->shown, method, why);
			else if (answered && o == TRANSIENT)
				fail(ret, "%s answered %s to %s (after %u %s)", r->shown, why,
				     method, tries, tries == 1 ? "try" : "tries");
			else
				fail(ret, "cannot reach %s: %s (after %u %s)", r->shown, why, tries,
				     tries == 1 ? "try" : "tries");
			break;
		}
		sys_sleep_ms(backoff);
	}
out:
	give_back(r, h);
	json_decref(req);
	free(body);
	sys_buf_free(&s.buf);
	if (ret == 0) {
		last_error[0] = 0;
		*ret_result = result;
	}
	return ret;
}

/* ---- typed helpers --------------------------------------------------------------------- */

/* A call whose result must be a hex quantity that fits in a u64. */
static int call_u64(struct chain_evm_rpc *r, const char *method, json_t *params, uint64_t *ret)
{
	json_t *res = NULL;
	uint64_t v;
	int k = chain_evm_rpc_call(r, method, params, &res, NULL);

	if (k < 0)
		return k;
	k = json_u64(res, &v);
	json_decref(res);
	if (k < 0)
		return fail(k, "%s: %s", method,
			    k == -EOVERFLOW ? "the number does not fit in 64 bits"
					    : "the result is not a hex quantity");
	*ret = v;
	return 0;
}

static json_t *json_hex(const uint8_t *p, size_t n)
{
	char *t = malloc(2 * n + 3);
	json_t *v;

	if (!t)
		return NULL;
	codec_hex_encode(p, n, t);
	v = json_string(t);
	free(t);
	return v;
}

static json_t *json_quantity(uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "0x%" PRIx64, v);
	return json_string(t);
}

/* A 32-byte big-endian number as a hex quantity (no leading zeros; "0x0" for zero). */
static json_t *json_quantity256(const uint8_t v[32])
{
	static const char digits[] = "0123456789abcdef";
	char t[67] = "0x";
	size_t k = 2, i = 0;

	while (i < 32 && v[i] == 0)
		i++;
	if (i == 32)
		return json_string("0x0");
	if (v[i] < 16)
		t[k++] = digits[v[i++]];
	for (; i < 32; i++) {
		t[k++] = digits[v[i] >> 4];
		t[k++] = digits[v[i] & 15];
	}
	t[k] = 0;
	return json_string(t);
}

/* Steals v into o under key; false (and o unchanged) when v is NULL or setting fails. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

int chain_evm_rpc_chain_id(struct chain_evm_rpc *r, uint64_t *ret)
{
	return call_u64(r, "eth_chainId", NULL, ret);
}

int chain_evm_rpc_block_number(struct chain_evm_rpc *r, uint64_t *ret)
{
	return call_u64(r, "eth_blockNumber", NULL, ret);
}

int chain_evm_rpc_gas_price(struct chain_evm_rpc *r, uint64_t *ret)
{
	return call_u64(r, "eth_gasPrice", NULL, ret);
}

int chain_evm_rpc_max_priority_fee(struct chain_evm_rpc *r, uint64_t *ret)
{
	return call_u64(r, "eth_maxPriorityFeePerGas", NULL, ret);
}

int chain_evm_rpc_block(struct chain_evm_rpc *r, uint64_t number, struct chain_evm_block *ret)
{
	struct chain_evm_block b = {0};
	json_t *params, *res = NULL, *fee;
	int k;

	if (!ret)
		return fail(-EINVAL, "eth_getBlockByNumber: no result to fill");
	params = json_pack(
	    "[o, b]",
	    number == CHAIN_EVM_BLOCK_LATEST ? json_string("latest") : json_quantity(number), 0);
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_getBlockByNumber", params, &res, NULL);
	if (k < 0)
		return k;
	if (json_is_null(res)) {
		json_decref(res);
		return fail(-ENOENT, "eth_getBlockByNumber: no block %" PRIu64 " yet", number);
	}
	fee = json_object_get(res, "baseFeePerGas");
	k = json_is_object(res) && json_u64(json_object_get(res, "number"), &b.number) == 0 &&
		    json_u64(json_object_get(res, "timestamp"), &b.timestamp) == 0 &&
		    hex_fixed(json_object_get(res, "hash"), b.hash, 32) == 0
		? 0
		: -EBADMSG;
	if (k == 0 && fee && !json_is_null(fee)) {
		k = json_u64(fee, &b.base_fee);
		k = k == -EOVERFLOW ? k : k < 0 ? -EBADMSG : 0;
		b.has_base_fee = true;
	}
	json_decref(res);
	if (k < 0)
		return fail(k, "eth_getBlockByNumber: %s",
			    k == -EOVERFLOW ? "a number does not fit in 64 bits"
					    : "malformed block (number, timestamp, hash)");
	if (number != CHAIN_EVM_BLOCK_LATEST && b.number != number)
		return fail(-EBADMSG,
			    "eth_getBlockByNumber: asked for block %" PRIu64 ", got %" PRIu64,
			    number, b.number);
	*ret = b;
	return 0;
}

int chain_evm_rpc_balance(struct chain_evm_rpc *r, const uint8_t address[CHAIN_ADDRESS_SIZE],
			  uint8_t ret[32])
{
	json_t *params, *res = NULL;
	int k;

	if (!address || !ret)
		return fail(-EINVAL, "eth_getBalance: no address or result");
	params = json_pack("[o, s]", json_hex(address, CHAIN_ADDRESS_SIZE), "latest");
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_getBalance", params, &res, NULL);
	if (k < 0)
		return k;
	k = chain_evm_parse_quantity(json_string_value(res), ret);
	json_decref(res);
	return k < 0 ? fail(k, "eth_getBalance: the result is not a hex quantity") : 0;
}

int chain_evm_rpc_nonce(struct chain_evm_rpc *r, const uint8_t address[CHAIN_ADDRESS_SIZE],
			bool pending, uint64_t *ret)
{
	json_t *params;

	if (!address || !ret)
		return fail(-EINVAL, "eth_getTransactionCount: no address or result");
	params = json_pack("[o, s]", json_hex(address, CHAIN_ADDRESS_SIZE),
			   pending ? "pending" : "latest");
	if (!params)
		return fail(-ENOMEM, "out of memory");
	return call_u64(r, "eth_getTransactionCount", params, ret);
}

/* The transaction object of eth_call / eth_estimateGas. */
static json_t *call_object(const struct chain_evm_call *c)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if ((c->from && !put(o, "from", json_hex(c->from, CHAIN_ADDRESS_SIZE))) ||
	    (c->to && !put(o, "to", json_hex(c->to, CHAIN_ADDRESS_SIZE))) ||
	    (c->value && !put(o, "value", json_quantity256(c->value))) ||
	    !put(o, "data", json_hex(c->data, c->data ? c->data_len : 0))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int chain_evm_rpc_estimate_gas(struct chain_evm_rpc *r, const struct chain_evm_call *call,
			       uint64_t *ret_gas, struct chain_evm_rpc_fault *ret_fault)
{
	json_t *params, *res = NULL;
	uint64_t v;
	int k;

	if (!call || !ret_gas || (!call->data && call->data_len))
		return fail(-EINVAL, "eth_estimateGas: no call or result");
	params = json_pack("[o]", call_object(call));
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_estimateGas", params, &res, ret_fault);
	if (k < 0)
		return k;
	k = json_u64(res, &v);
	json_decref(res);
	if (k < 0)
		return fail(k == -EOVERFLOW ? k : -EBADMSG,
			    "eth_estimateGas: the result is not a 64-bit hex quantity");
	*ret_gas = v;
	return 0;
}

int chain_evm_rpc_eth_call(struct chain_evm_rpc *r, const struct chain_evm_call *call,
			   struct chain_wbuf *ret, struct chain_evm_rpc_fault *ret_fault)
{
	json_t *params, *res = NULL;
	uint8_t *tmp;
	ssize_t n;
	int k;

	if (!call || !ret || (!call->data && call->data_len))
		return fail(-EINVAL, "eth_call: no call or result");
	params = json_pack("[o, s]", call_object(call), "latest");
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_call", params, &res, ret_fault);
	if (k < 0)
		return k;
	n = hex_bytes_len(json_string_value(res));
	if (n < 0) {
		json_decref(res);
		return fail(-EBADMSG, "eth_call: the result is not hex bytes");
	}
	if (ret->err || (size_t)n > ret->max - ret->len) {
		json_decref(res);
		return fail(ret->err ? ret->err : -E2BIG,
			    "eth_call: %zd bytes of return data do not fit", n);
	}
	tmp = malloc(n ? (size_t)n : 1);
	if (!tmp) {
		json_decref(res);
		return fail(-ENOMEM, "out of memory");
	}
	hex_bytes(json_string_value(res), tmp, (size_t)n);
	json_decref(res);
	chain_wbuf_put(ret, tmp, (size_t)n);
	free(tmp);
	return ret->err ? fail(ret->err, "eth_call: out of memory") : 0;
}

int chain_evm_rpc_send_raw(struct chain_evm_rpc *r, const uint8_t *raw, size_t len,
			   uint8_t ret_hash[32], struct chain_evm_rpc_fault *ret_fault)
{
	json_t *params, *res = NULL;
	uint8_t hash[32];
	int k;

	if (!raw || !len || !ret_hash)
		return fail(-EINVAL, "eth_sendRawTransaction: no transaction");
	params = json_pack("[o]", json_hex(raw, len));
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_sendRawTransaction", params, &res, ret_fault);
	if (k < 0)
		return k;
	k = hex_fixed(res, hash, 32);
	json_decref(res);
	if (k < 0)
		return fail(k, "eth_sendRawTransaction: the result is not a transaction hash");
	memcpy(ret_hash, hash, 32);
	return 0;
}

/* ---- logs ------------------------------------------------------------------------------- */

/* Room for one log's data, reused from log to log. */
struct logbuf {
	uint8_t *p;
	size_t cap;
};

/* One log object into l (its data into b). -EBADMSG when malformed. */
static int parse_log(json_t *o, struct chain_evm_log *l, struct logbuf *b)
{
	json_t *topics = json_object_get(o, "topics"), *removed = json_object_get(o, "removed");
	const char *data = json_string_value(json_object_get(o, "data"));
	ssize_t n;

	memset(l, 0, sizeof(*l));
	if (!json_is_object(o) || json_u64(json_object_get(o, "blockNumber"), &l->block) < 0 ||
	    json_u64(json_object_get(o, "logIndex"), &l->log_index) < 0 ||
	    hex_fixed(json_object_get(o, "transactionHash"), l->tx_hash, 32) < 0 ||
	    hex_fixed(json_object_get(o, "blockHash"), l->block_hash, 32) < 0 ||
	    hex_fixed(json_object_get(o, "address"), l->address, CHAIN_ADDRESS_SIZE) < 0 ||
	    !json_is_array(topics) || json_array_size(topics) > 4 ||
	    (removed && !json_is_boolean(removed)))
		return -EBADMSG;
	l->ntopics = json_array_size(topics);
	for (size_t i = 0; i < l->ntopics; i++)
		if (hex_fixed(json_array_get(topics, i), l->topics[i], 32) < 0)
			return -EBADMSG;
	l->removed = json_is_true(removed);
	n = hex_bytes_len(data);
	if (n < 0)
		return -EBADMSG;
	if ((size_t)n > b->cap) {
		uint8_t *p = realloc(b->p, (size_t)n);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = (size_t)n;
	}
	hex_bytes(data, b->p, (size_t)n);
	l->data = b->p;
	l->data_len = (size_t)n;
	return 0;
}

/* What every log of a list must satisfy, beyond parsing. */
struct log_rule {
	const uint8_t *address, *topic0; /* NULL: any */
	uint64_t from, to;
	bool ordered;
};

/*
 * Checks every log of arr against rule, then delivers them all to fn. Returns 0, fn's
 * nonzero return, -EBADMSG (nothing delivered), -ENOMEM.
 */
static int deliver_logs(json_t *arr, const char *method, const struct log_rule *rule,
			chain_evm_log_fn *fn, void *ctx)
{
	struct logbuf b = {0};
	struct chain_evm_log l;
	uint64_t pb = 0, pi = 0;
	int k = 0;

	if (!json_is_array(arr))
		return fail(-EBADMSG, "%s: the logs are not a list", method);
	for (int pass = 0; pass < 2 && k == 0; pass++) {
		for (size_t i = 0; i < json_array_size(arr); i++) {
			k = parse_log(json_array_get(arr, i), &l, &b);
			if (k < 0) {
				fail(k, "%s: log %zu is malformed", method, i);
				break;
			}
			if (pass == 1) {
				k = fn ? fn(ctx, &l) : 0;
				if (k)
					break;
				continue;
			}
			if ((rule->address && memcmp(l.address, rule->address, 20) != 0) ||
			    (rule->topic0 &&
			     (l.ntopics == 0 || memcmp(l.topics[0], rule->topic0, 32) != 0)) ||
			    l.block < rule->from || l.block > rule->to ||
			    (rule->ordered && i > 0 &&
			     (l.block < pb || (l.block == pb && l.log_index <= pi)))) {
				k = fail(-EBADMSG,
					 "%s: log %zu (block %" PRIu64 ", index %" PRIu64
					 ") is not one asked for, or out of order",
					 method, i, l.block, l.log_index);
				break;
			}
			pb = l.block;
			pi = l.log_index;
		}
	}
	free(b.p);
	return k;
}

int chain_evm_rpc_receipt(struct chain_evm_rpc *r, const uint8_t tx_hash[32],
			  struct chain_evm_receipt *ret, chain_evm_log_fn *fn, void *ctx)
{
	struct chain_evm_receipt rc = {0};
	struct log_rule rule = {0};
	json_t *params, *res = NULL, *ca;
	int k;

	if (!tx_hash || !ret)
		return fail(-EINVAL, "eth_getTransactionReceipt: no hash or result");
	params = json_pack("[o]", json_hex(tx_hash, 32));
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_getTransactionReceipt", params, &res, NULL);
	if (k < 0)
		return k;
	if (json_is_null(res)) {
		json_decref(res);
		return fail(-ENOENT, "eth_getTransactionReceipt: not mined yet");
	}
	ca = json_object_get(res, "contractAddress");
	if (!json_is_object(res) || json_u64(json_object_get(res, "status"), &rc.status) < 0 ||
	    json_u64(json_object_get(res, "blockNumber"), &rc.block) < 0 ||
	    json_u64(json_object_get(res, "gasUsed"), &rc.gas_used) < 0 ||
	    hex_fixed(json_object_get(res, "blockHash"), rc.block_hash, 32) < 0 ||
	    (ca && !json_is_null(ca) && hex_fixed(ca, rc.contract, CHAIN_ADDRESS_SIZE) < 0)) {
		json_decref(res);
		return fail(-EBADMSG, "eth_getTransactionReceipt: malformed receipt");
	}
	rc.has_contract = ca && !json_is_null(ca);
	rule.from = rule.to = rc.block;
	rule.ordered = true;
	k = deliver_logs(json_object_get(res, "logs"), "eth_getTransactionReceipt", &rule, fn, ctx);
	json_decref(res);
	if (k == 0)
		*ret = rc;
	return k;
}

int chain_evm_rpc_logs(struct chain_evm_rpc *r, const uint8_t address[CHAIN_ADDRESS_SIZE],
		       const uint8_t topic0[32], uint64_t from_block, uint64_t to_block,
		       chain_evm_log_fn *fn, void *ctx)
{
	struct log_rule rule = {address, topic0, from_block, to_block, true};
	json_t *filter, *params, *res = NULL;
	int k;

	if (!address || !topic0 || from_block > to_block)
		return fail(-EINVAL, "eth_getLogs: no address or topic, or an empty range");
	filter = json_pack(
	    "{s:o, s:[o], s:o, s:o}", "address", json_hex(address, CHAIN_ADDRESS_SIZE), "topics",
	    json_hex(topic0, 32), "fromBlock", json_quantity(from_block), "toBlock",
	    to_block == CHAIN_EVM_BLOCK_LATEST ? json_string("latest") : json_quantity(to_block));
	params = filter ? json_pack("[o]", filter) : NULL;
	if (!params)
		return fail(-ENOMEM, "out of memory");
	k = chain_evm_rpc_call(r, "eth_getLogs", params, &res, NULL);
	if (k < 0)
		return k;
	k = deliver_logs(res, "eth_getLogs", &rule, fn, ctx);
	json_decref(res);
	return k;
}
