/*
 * The Ethereum JSON-RPC client (chain/evm_rpc.c) against a fake node: a libmicrohttpd
 * server in this process that answers each method with a canned response. Checks each
 * typed helper's request and its strict parsing of the answer, JSON-RPC errors (with and
 * without revert data), malformed and oversized answers, retries (a refused connection,
 * HTTP 503 that clears up, timeouts), that answers from the node are never retried, the
 * URL in messages without credentials, and concurrent callers on one handle.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "chain/evm_rpc_i.h"
#include "codec/hex.h"
#include "tests/tap.h"

/* ---- the fake node ------------------------------------------------------------------------ */

/*
 * What the fake node answers to a method: `fragment` goes into {"jsonrpc":"2.0","id":ID,
 * FRAGMENT} (e.g. "\"result\":\"0x1\""); a fragment starting with '!' is sent as the whole
 * body, as it is. status is the HTTP status (0: 200). sleep_ms delays the answer.
 */
struct canned {
	char method[64];
	char *fragment;
	unsigned status, sleep_ms;
};

#define MAX_CANNED 32

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct canned canned[MAX_CANNED];
static size_t ncanned;
static atomic_int requests;	   /* requests received */
static atomic_int fail_next;	   /* answer this many requests with HTTP 503 first */
static atomic_int huge_mode;	   /* 1: a body past the limit with its length; 2: chunked */
static char last_request[1 << 16]; /* the last request body */
static char url[64];

static void serve(const char *method, unsigned status, const char *fragment)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < ncanned; i++)
		if (!strcmp(canned[i].method, method)) {
			free(canned[i].fragment);
			canned[i].fragment = strdup(fragment);
			canned[i].status = status;
			canned[i].sleep_ms = 0;
			pthread_mutex_unlock(&mu);
			return;
		}
	snprintf(canned[ncanned].method, sizeof(canned[0].method), "%s", method);
	canned[ncanned].fragment = strdup(fragment);
	canned[ncanned].status = status;
	ncanned++;
	pthread_mutex_unlock(&mu);
}

static void slow(const char *method, unsigned ms)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < ncanned; i++)
		if (!strcmp(canned[i].method, method))
			canned[i].sleep_ms = ms;
	pthread_mutex_unlock(&mu);
}

/* The params of the last request, as compact JSON text (a new string). */
static char *last_params(void)
{
	json_t *req, *p;
	char *s = NULL;

	pthread_mutex_lock(&mu);
	req = json_loads(last_request, 0, NULL);
	pthread_mutex_unlock(&mu);
	p = json_object_get(req, "params");
	if (p)
		s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(req);
	return s ? s : strdup("(none)");
}

static int params_are(const char *want)
{
	char *got = last_params();
	int same = !strcmp(got, want);

	if (!same)
		diag("params %s, want %s", got, want);
	free(got);
	return same;
}

struct body {
	char *p;
	size_t len;
};

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok;

	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* A body of 'x' past the client's limit, produced as it is sent. */
static ssize_t huge_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	uint64_t total = (uint64_t)CHAIN_EVM_RESPONSE_MAX + 4096;

	if (pos >= total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > total - pos)
		max = (size_t)(total - pos);
	memset(buf, 'x', max);
	return (ssize_t)max;
}

static enum MHD_Result answer(struct MHD_Connection *c, const char *body)
{
	json_t *req = json_loads(body, 0, NULL);
	const char *method = json_string_value(json_object_get(req, "method"));
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	char *text = NULL;
	unsigned status = 200, sleep_ms = 0;
	enum MHD_Result ok;
	int mode = atomic_load(&huge_mode);

	if (mode) {
		struct MHD_Response *r = MHD_create_response_from_callback(
		    mode == 1 ? (uint64_t)CHAIN_EVM_RESPONSE_MAX + 4096 : MHD_SIZE_UNKNOWN, 1 << 16,
		    huge_body, NULL, NULL);

		json_decref(req);
		ok = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ok;
	}
	if (atomic_fetch_sub(&fail_next, 1) > 0) {
		json_decref(req);
		return send_text(c, 503, "busy, try later");
	}
	atomic_store(&fail_next, 0);
	pthread_mutex_lock(&mu);
	for (size_t i = 0; method && i < ncanned; i++) {
		if (strcmp(canned[i].method, method) != 0)
			continue;
		status = canned[i].status ? canned[i].status : 200;
		sleep_ms = canned[i].sleep_ms;
		if (canned[i].fragment[0] == '!') {
			text = strdup(canned[i].fragment + 1);
		} else {
			size_t n = strlen(canned[i].fragment) + 64;

			text = malloc(n);
			snprintf(text, n, "{\"jsonrpc\":\"2.0\",\"id\":%lld,%s}", (long long)id,
				 canned[i].fragment);
		}
	}
	pthread_mutex_unlock(&mu);
	json_decref(req);
	if (!text) {
		text = malloc(160);
		snprintf(text, 160,
			 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32601,"
			 "\"message\":\"the method does not exist\"}}",
			 (long long)id);
	}
	if (sleep_ms)
		usleep(sleep_ms * 1000);
	ok = send_text(c, status, text);
	free(text);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *u,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct body *b = *con_cls;
	enum MHD_Result ok;

	if (!b) {
		b = calloc(1, sizeof(*b));
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		char *p = realloc(b->p, b->len + *upload_size + 1);

		if (!p)
			return MHD_NO;
		memcpy(p + b->len, upload, *upload_size);
		b->p = p;
		b->len += *upload_size;
		b->p[b->len] = 0;
		*upload_size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&requests, 1);
	pthread_mutex_lock(&mu);
	snprintf(last_request, sizeof(last_request), "%s", b->p ? b->p : "");
	pthread_mutex_unlock(&mu);
	ok = answer(c, b->p ? b->p : "");
	return ok;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	if (b) {
		free(b->p);
		free(b);
		*con_cls = NULL;
	}
}

/* A TCP port nothing listens on: bound, then closed. */
static unsigned closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("closed_port");
		exit(1);
	}
	close(s);
	return ntohs(a.sin_port);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static const struct chain_evm_rpc_opts quick = {.retries = 3, .backoff_ms = 10, .timeout_ms = 5000};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		diag("\"%s\" does not contain \"%s\"", s, part);
	return strstr(s, part) != NULL;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_open(void)
{
	struct chain_evm_rpc *r = NULL;

	ok(chain_evm_rpc_open("ftp://example.org", NULL, &r) == -EINVAL && r == NULL,
	   "an ftp:// URL: -EINVAL");
	ok(chain_evm_rpc_open(NULL, NULL, &r) == -EINVAL, "no URL: -EINVAL");
	chain_evm_rpc_close(NULL);
	ok(1, "close(NULL) is harmless");
}

static void test_hex(void)
{
	uint8_t v[32], want[32] = {0};
	uint64_t x = 99;

	ok(chain_evm_parse_u64("0x0", &x) == 0 && x == 0, "\"0x0\" is 0");
	ok(chain_evm_parse_u64("0xffffffffffffffff", &x) == 0 && x == UINT64_MAX,
	   "\"0xffffffffffffffff\" is 2^64-1");
	ok(chain_evm_parse_u64("0xABCdef", &x) == 0 && x == 0xabcdef, "either case");
	ok(chain_evm_parse_u64("0x0000000000000000000000000000000000000000000000000000000000000001",
			       &x) == 0 &&
	       x == 1,
	   "64 digits with leading zeros");
	x = 99;
	ok(chain_evm_parse_u64("0x10000000000000000", &x) == -EOVERFLOW && x == 99,
	   "2^64: -EOVERFLOW, untouched");
	ok(chain_evm_parse_u64("0x", &x) == -EBADMSG && chain_evm_parse_u64("", &x) == -EBADMSG &&
	       chain_evm_parse_u64("12", &x) == -EBADMSG &&
	       chain_evm_parse_u64("0x1g", &x) == -EBADMSG &&
	       chain_evm_parse_u64(" 0x1", &x) == -EBADMSG &&
	       chain_evm_parse_u64("0x1 ", &x) == -EBADMSG &&
	       chain_evm_parse_u64("-0x1", &x) == -EBADMSG &&
	       chain_evm_parse_u64(NULL, &x) == -EBADMSG && x == 99,
	   "\"0x\", \"\", no prefix, a non-hex digit, spaces, a sign, NULL: -EBADMSG");
	ok(chain_evm_parse_quantity(
	       "0x00000000000000000000000000000000000000000000000000000000000000001", v) ==
	       -EBADMSG,
	   "65 digits: -EBADMSG");
	want[31] = 0x00;
	want[30] = 0x01;
	want[0] = 0xf0;
	ok(chain_evm_parse_quantity(
	       "0xf000000000000000000000000000000000000000000000000000000000000100", v) == 0 &&
	       !memcmp(v, want, 32),
	   "a 256-bit quantity, big-endian");
	memset(want, 0, 32);
	want[31] = 0x0a;
	want[30] = 0x0b;
	ok(chain_evm_parse_quantity("0xb0a", v) == 0 && !memcmp(v, want, 32),
	   "an odd digit count aligns to the right");
}

static void test_simple(struct chain_evm_rpc *r)
{
	uint64_t v = 0;
	int k;

	serve("eth_chainId", 0, "\"result\":\"0x4e4\"");
	ok(chain_evm_rpc_chain_id(r, &v) == 0 && v == 1252 && params_are("[]"),
	   "eth_chainId: 1252, sent with []");
	ok(chain_evm_rpc_error(r)[0] == 0, "no error text after a success");
	serve("eth_blockNumber", 0, "\"result\":\"0x1b4\"");
	ok(chain_evm_rpc_block_number(r, &v) == 0 && v == 436, "eth_blockNumber: 436");
	serve("eth_gasPrice", 0, "\"result\":\"0x3b9aca00\"");
	ok(chain_evm_rpc_gas_price(r, &v) == 0 && v == 1000000000, "eth_gasPrice: 1 gwei");
	serve("eth_maxPriorityFeePerGas", 0, "\"result\":\"0x59682f00\"");
	ok(chain_evm_rpc_max_priority_fee(r, &v) == 0 && v == 1500000000,
	   "eth_maxPriorityFeePerGas: 1.5 gwei");
	serve("eth_maxPriorityFeePerGas", 0,
	      "\"error\":{\"code\":-32601,\"message\":\"the method eth_maxPriorityFeePerGas does "
	      "not exist/is not available\"}");
	v = 5;
	ok(chain_evm_rpc_max_priority_fee(r, &v) == -EPROTO && v == 5,
	   "eth_maxPriorityFeePerGas unsupported: -EPROTO");
	ok(contains(chain_evm_rpc_error(r), "does not exist"), "  the message is the node's: %s",
	   chain_evm_rpc_error(r));

	serve("eth_chainId", 0, "\"result\":\"0x10000000000000000\"");
	ok(chain_evm_rpc_chain_id(r, &v) == -EOVERFLOW && v == 5,
	   "a chain id past 64 bits: -EOVERFLOW");
	serve("eth_chainId", 0, "\"result\":1252");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "a JSON number instead of hex: -EBADMSG");
	serve("eth_chainId", 0, "\"result\":\"0x\"");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "\"0x\": -EBADMSG");
	serve("eth_chainId", 0, "\"result\":\"4e4\"");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "no 0x prefix: -EBADMSG");
	serve("eth_chainId", 0, "\"result\":null");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "null: -EBADMSG");

	serve("eth_chainId", 0, "!{\"jsonrpc\":\"2.0\",\"id\":");
	k = chain_evm_rpc_chain_id(r, &v);
	ok(k == -EBADMSG, "malformed JSON: -EBADMSG (%d)", k);
	serve("eth_chainId", 0, "!{\"jsonrpc\":\"2.0\",\"id\":1}");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "neither result nor error: -EBADMSG");
	serve("eth_chainId", 0, "!{\"jsonrpc\":\"2.0\",\"id\":123456789,\"result\":\"0x1\"}");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "another request's id: -EBADMSG");
	serve("eth_chainId", 0,
	      "!{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"result\":\"0x2\"}");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "a duplicated key: -EBADMSG");
	serve("eth_chainId", 0,
	      "!{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":"
	      "\"invalid request\"}}");
	ok(chain_evm_rpc_chain_id(r, &v) == -EPROTO &&
	       contains(chain_evm_rpc_error(r), "invalid request"),
	   "an error with id null (about the request itself): -EPROTO");
	serve("eth_chainId", 0, "!{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"x\"}}");
	ok(chain_evm_rpc_chain_id(r, &v) == -EBADMSG, "an error without a code: -EBADMSG");
	serve("eth_chainId", 404, "!not found");
	ok(chain_evm_rpc_chain_id(r, &v) == -EIO, "HTTP 404 without JSON-RPC: -EIO");
	ok(contains(chain_evm_rpc_error(r), "HTTP 404"), "  the message says HTTP 404");
	serve("eth_chainId", 0, "\"result\":\"0x4e4\"");
}

static void test_block(struct chain_evm_rpc *r)
{
	struct chain_evm_block b, keep;
	uint8_t h[32];

	serve("eth_getBlockByNumber", 0,
	      "\"result\":{\"number\":\"0x1b4\",\"timestamp\":\"0x6553f100\","
	      "\"baseFeePerGas\":\"0x7\",\"hash\":"
	      "\"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae\","
	      "\"transactions\":[]}");
	memset(&b, 0, sizeof(b));
	(void)!codec_hex_decode(
	    "0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae", h, 32);
	ok(chain_evm_rpc_block(r, CHAIN_EVM_BLOCK_LATEST, &b) == 0 && b.number == 436 &&
	       b.timestamp == 0x6553f100 && b.has_base_fee && b.base_fee == 7 &&
	       !memcmp(b.hash, h, 32),
	   "latest block: number, timestamp, base fee, hash");
	ok(params_are("[\"latest\",false]"), "  asked for [\"latest\", false]");
	ok(chain_evm_rpc_block(r, 436, &b) == 0 && params_are("[\"0x1b4\",false]"),
	   "block 436: asked for [\"0x1b4\", false]");
	memcpy(&keep, &b, sizeof(b));
	ok(chain_evm_rpc_block(r, 437, &b) == -EBADMSG && !memcmp(&b, &keep, sizeof(b)),
	   "asked for 437, answered 436: -EBADMSG, untouched");
	serve("eth_getBlockByNumber", 0,
	      "\"result\":{\"number\":\"0x2\",\"timestamp\":\"0x10\",\"hash\":"
	      "\"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae\"}");
	ok(chain_evm_rpc_block(r, 2, &b) == 0 && !b.has_base_fee && b.timestamp == 16,
	   "a block before London: no base fee");
	serve("eth_getBlockByNumber", 0, "\"result\":null");
	ok(chain_evm_rpc_block(r, 99, &b) == -ENOENT, "a block not there yet: -ENOENT");
	serve("eth_getBlockByNumber", 0,
	      "\"result\":{\"number\":\"0x2\",\"timestamp\":\"0x10\",\"hash\":\"0xdc08\"}");
	ok(chain_evm_rpc_block(r, 2, &b) == -EBADMSG, "a short hash: -EBADMSG");
	serve("eth_getBlockByNumber", 0,
	      "\"result\":{\"number\":\"0x2\",\"timestamp\":\"0x10\",\"baseFeePerGas\":\"0x1"
	      "0000000000000000\",\"hash\":"
	      "\"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae\"}");
	ok(chain_evm_rpc_block(r, 2, &b) == -EOVERFLOW, "a base fee past 64 bits: -EOVERFLOW");
}

static void test_account(struct chain_evm_rpc *r)
{
	uint8_t addr[20], bal[32], want[32] = {0};
	uint64_t n = 0;

	memset(addr, 0xab, 20);
	serve("eth_getBalance", 0, "\"result\":\"0x56bc75e2d63100000\"");
	/* 100 ether = 10^20 wei = 0x56bc75e2d63100000 */
	want[23] = 0x05;
	want[24] = 0x6b;
	want[25] = 0xc7;
	want[26] = 0x5e;
	want[27] = 0x2d;
	want[28] = 0x63;
	want[29] = 0x10;
	ok(chain_evm_rpc_balance(r, addr, bal) == 0 && !memcmp(bal, want, 32),
	   "eth_getBalance: 10^20 wei as a 256-bit number");
	ok(params_are("[\"0xabababababababababababababababababababab\",\"latest\"]"),
	   "  asked for [address, \"latest\"]");
	serve("eth_getTransactionCount", 0, "\"result\":\"0x2a\"");
	ok(chain_evm_rpc_nonce(r, addr, true, &n) == 0 && n == 42 &&
	       params_are("[\"0xabababababababababababababababababababab\",\"pending\"]"),
	   "eth_getTransactionCount pending: 42");
	ok(chain_evm_rpc_nonce(r, addr, false, &n) == 0 &&
	       params_are("[\"0xabababababababababababababababababababab\",\"latest\"]"),
	   "eth_getTransactionCount latest");
}

/* NotEnoughFee(2384, 16, 1000) */
#define FEE_REVERT                                                                                 \
	"0xf85c6482"                                                                               \
	"0000000000000000000000000000000000000000000000000000000000000950"                         \
	"0000000000000000000000000000000000000000000000000000000000000010"                         \
	"00000000000000000000000000000000000000000000000000000000000003e8"

static void test_calls(struct chain_evm_rpc *r)
{
	uint8_t from[20], to[20], value[32] = {0}, data[3] = {1, 2, 3}, raw[5] = {2, 0xf8, 1, 2, 3};
	uint8_t hash[32], want[100];
	struct chain_evm_call call = {from, to, value, data, sizeof(data)};
	struct chain_evm_rpc_fault f;
	struct chain_wbuf w;
	uint64_t gas = 0;
	int k;

	memset(from, 0x11, 20);
	memset(to, 0x22, 20);
	value[31] = 0x10; /* 0x2710 = 10000 wei */
	value[30] = 0x27;
	serve("eth_estimateGas", 0, "\"result\":\"0x5208\"");
	ok(chain_evm_rpc_estimate_gas(r, &call, &gas, NULL) == 0 && gas == 21000,
	   "eth_estimateGas: 21000");
	ok(params_are(
	       "[{\"data\":\"0x010203\",\"from\":\"0x1111111111111111111111111111111111111111\","
	       "\"to\":\"0x2222222222222222222222222222222222222222\",\"value\":\"0x2710\"}]"),
	   "  the call object: from, to, value as a quantity, data");
	call.to = NULL;
	call.value = NULL;
	ok(chain_evm_rpc_estimate_gas(r, &call, &gas, NULL) == 0 &&
	       params_are("[{\"data\":\"0x010203\",\"from\":"
			  "\"0x1111111111111111111111111111111111111111\"}]"),
	   "  a creation: no to, no value");
	call.to = to;
	call.value = value;
	memset(value, 0, 32);
	ok(chain_evm_rpc_estimate_gas(r, &call, &gas, NULL) == 0 &&
	       params_are(
		   "[{\"data\":\"0x010203\",\"from\":"
		   "\"0x1111111111111111111111111111111111111111\","
		   "\"to\":\"0x2222222222222222222222222222222222222222\",\"value\":\"0x0\"}]"),
	   "  a zero value is \"0x0\"");

	/* reverts */
	serve("eth_estimateGas", 0,
	      "\"error\":{\"code\":3,\"message\":\"execution reverted\",\"data\":\"" FEE_REVERT
	      "\"}");
	memset(&f, 0, sizeof(f));
	gas = 1;
	k = chain_evm_rpc_estimate_gas(r, &call, &gas, &f);
	(void)!codec_hex_decode(FEE_REVERT, want, 100);
	ok(k == -CHAIN_EREVERTED && gas == 1 && f.code == 3 && f.data_len == 100 &&
	       !memcmp(f.data, want, 100) && !strcmp(f.message, "execution reverted"),
	   "a revert with data: -CHAIN_EREVERTED, the fault has code 3 and the 100 bytes");
	ok(contains(chain_evm_rpc_error(r), "eth_estimateGas: execution reverted"),
	   "  the message: %s", chain_evm_rpc_error(r));
	serve(
	    "eth_call", 0,
	    "\"error\":{\"code\":-32603,\"message\":\"Error: VM Exception\",\"data\":{\"message\":"
	    "\"revert\",\"data\":\"0xf956cee4\"}}");
	memset(&f, 0, sizeof(f));
	chain_wbuf_init(&w, 1024);
	ok(chain_evm_rpc_eth_call(r, &call, &w, &f) == -CHAIN_EREVERTED && f.data_len == 4 &&
	       f.data[0] == 0xf9 && f.data[3] == 0xe4 && w.len == 0,
	   "revert data nested in data.data: -CHAIN_EREVERTED with it");
	/* anvil quotes a custom error's argument bytes raw in the message */
	serve("eth_estimateGas", 0,
	      "\"error\":{\"code\":3,\"message\":\"execution reverted: custom error 0x422ef64a: "
	      "\\u0000\\u0002\",\"data\":\"0x422ef64a"
	      "0000000000000000000000000000000000000000000000000000000000000002\"}");
	memset(&f, 0, sizeof(f));
	ok(chain_evm_rpc_estimate_gas(r, &call, &gas, &f) == -CHAIN_EREVERTED && f.data_len == 36 &&
	       f.data[0] == 0x42 && f.data[35] == 2 &&
	       !strcmp(f.message, "execution reverted: custom error 0x422ef64a: "),
	   "a message with \\u0000 in it (anvil's custom errors): the revert and its data");
	serve("eth_call", 0, "\"error\":{\"code\":-32000,\"message\":\"execution reverted\"}");
	memset(&f, 0xee, sizeof(f));
	ok(chain_evm_rpc_eth_call(r, &call, &w, &f) == -CHAIN_EREVERTED && f.data_len == 0 &&
	       f.code == -32000,
	   "\"execution reverted\" without data: -CHAIN_EREVERTED, no data");
	serve("eth_call", 0,
	      "\"error\":{\"code\":-32000,\"message\":\"out of gas\",\"data\":\"not hex\"}");
	ok(chain_evm_rpc_eth_call(r, &call, &w, &f) == -EPROTO && f.data_len == 0 &&
	       contains(chain_evm_rpc_error(r), "out of gas: not hex"),
	   "an error whose data is text: -EPROTO, the text in the message");

	/* return data */
	serve("eth_call", 0,
	      "\"result\":\"0x000000000000000000000000000000000000000000000000000000000000002a\"");
	ok(chain_evm_rpc_eth_call(r, &call, &w, NULL) == 0 && w.len == 32 && w.data[31] == 42 &&
	       params_are(
		   "[{\"data\":\"0x010203\",\"from\":"
		   "\"0x1111111111111111111111111111111111111111\","
		   "\"to\":\"0x2222222222222222222222222222222222222222\",\"value\":\"0x0\"},"
		   "\"latest\"]"),
	   "eth_call: 32 bytes appended; asked with \"latest\"");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 16);
	ok(chain_evm_rpc_eth_call(r, &call, &w, NULL) == -E2BIG && w.len == 0 && w.err == 0,
	   "return data past the buffer's max: -E2BIG, the buffer untouched");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 16);
	serve("eth_call", 0, "\"result\":\"0x\"");
	ok(chain_evm_rpc_eth_call(r, &call, &w, NULL) == 0 && w.len == 0, "\"0x\": no bytes");
	serve("eth_call", 0, "\"result\":\"0x123\"");
	ok(chain_evm_rpc_eth_call(r, &call, &w, NULL) == -EBADMSG, "an odd digit count: -EBADMSG");
	chain_wbuf_release(&w);

	/* raw transactions */
	serve("eth_sendRawTransaction", 0,
	      "\"result\":\"0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b\"");
	ok(chain_evm_rpc_send_raw(r, raw, sizeof(raw), hash, NULL) == 0 && hash[0] == 0x88 &&
	       hash[31] == 0x4b && params_are("[\"0x02f8010203\"]"),
	   "eth_sendRawTransaction: the raw bytes as hex, the hash back");
	serve("eth_sendRawTransaction", 0,
	      "\"error\":{\"code\":-32000,\"message\":\"nonce too low\"}");
	memset(&f, 0, sizeof(f));
	ok(chain_evm_rpc_send_raw(r, raw, sizeof(raw), hash, &f) == -EPROTO && f.code == -32000 &&
	       !strcmp(f.message, "nonce too low") &&
	       contains(chain_evm_rpc_error(r), "nonce too low"),
	   "a refused transaction: -EPROTO, the node's message");
	serve("eth_sendRawTransaction", 0, "\"result\":\"0x88df\"");
	ok(chain_evm_rpc_send_raw(r, raw, sizeof(raw), hash, NULL) == -EBADMSG,
	   "a short hash: -EBADMSG");
}

/* ---- receipts and logs ---- */

struct seen {
	int n, stop_at;
	uint64_t block[8], index[8];
	size_t data_len[8], ntopics[8];
	uint8_t data0[8];
	bool removed[8];
};

static int on_log(void *ctx, const struct chain_evm_log *l)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->block[s->n] = l->block;
		s->index[s->n] = l->log_index;
		s->data_len[s->n] = l->data_len;
		s->ntopics[s->n] = l->ntopics;
		s->data0[s->n] = l->data_len ? l->data[0] : 0;
		s->removed[s->n] = l->removed;
	}
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

#define ADDR  "0x2222222222222222222222222222222222222222"
#define H(c)  "0x" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define TOPIC "0x167ce04d2aa1981994d3a31695da0d785373335b1078cec239a1a3a2c7675555"

/* One log object; block and index as hex quantities. */
#define LOG(block, index, topics, data)                                                            \
	"{\"address\":\"" ADDR "\",\"topics\":[" topics "],\"data\":\"" data                       \
	"\",\"blockNumber\":\"" block "\",\"logIndex\":\"" index                                   \
	"\",\"transactionHash\":\"" H("ab") "\",\"blockHash\":\"" H("cd") "\",\"removed\":false}"

#define RECEIPT(status, contract, logs)                                                            \
	"\"result\":{\"status\":\"" status "\",\"blockNumber\":\"0x10\",\"gasUsed\":\"0x5208\","   \
	"\"blockHash\":\"" H("cd") "\",\"contractAddress\":" contract ",\"logs\":[" logs "]}"

static void test_receipt(struct chain_evm_rpc *r)
{
	struct chain_evm_receipt rc, keep;
	struct seen s;
	uint8_t hash[32];

	memset(hash, 0xab, 32);
	serve("eth_getTransactionReceipt", 0, "\"result\":null");
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == -ENOENT, "not mined: -ENOENT");
	ok(params_are("[\"" H("ab") "\"]"), "  asked for the hash");
	serve("eth_getTransactionReceipt", 0,
	      RECEIPT("0x1", "null",
		      LOG("0x10", "0x0", "\"" TOPIC "\",\"" H("01") "\"",
			  "0xaabb") "," LOG("0x10", "0x1", "", "0x")));
	memset(&s, 0, sizeof(s));
	memset(&rc, 0, sizeof(rc));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == 0 && rc.status == 1 &&
	       rc.block == 16 && rc.gas_used == 21000 && !rc.has_contract &&
	       rc.block_hash[0] == 0xcd,
	   "a receipt: status 1, block 16, gas 21000, no contract");
	ok(s.n == 2 && s.index[0] == 0 && s.index[1] == 1 && s.ntopics[0] == 2 &&
	       s.ntopics[1] == 0 && s.data_len[0] == 2 && s.data0[0] == 0xaa &&
	       s.data_len[1] == 0 && !s.removed[0],
	   "  its 2 logs, in order, with topics and data");
	ok(chain_evm_rpc_receipt(r, hash, &rc, NULL, NULL) == 0, "  without a callback");
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	memcpy(&keep, &rc, sizeof(rc));
	memset(&rc, 0x77, sizeof(rc));
	memcpy(&keep, &rc, sizeof(rc));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == 7 && s.n == 1 &&
	       !memcmp(&rc, &keep, sizeof(rc)),
	   "a callback returning 7 stops the logs: 7, the receipt untouched");

	serve("eth_getTransactionReceipt", 0, RECEIPT("0x0", "\"" ADDR "\"", ""));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == 0 && rc.status == 0 &&
	       rc.has_contract && rc.contract[0] == 0x22,
	   "a reverted creation: status 0, the contract address");
	serve("eth_getTransactionReceipt", 0,
	      RECEIPT("0x1", "null",
		      LOG("0x10", "0x0", "\"" TOPIC "\"", "0x") "," LOG("0x10", "0x1", "\"0x1234\"",
									"0x")));
	memset(&s, 0, sizeof(s));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == -EBADMSG && s.n == 0,
	   "a log with a 2-byte topic: -EBADMSG before any log is delivered");
	serve("eth_getTransactionReceipt", 0,
	      RECEIPT("0x1", "null", LOG("0x11", "0x0", "\"" TOPIC "\"", "0x")));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == -EBADMSG && s.n == 0,
	   "a log from another block: -EBADMSG");
	serve("eth_getTransactionReceipt", 0,
	      "\"result\":{\"blockNumber\":\"0x10\",\"gasUsed\":\"0x5208\",\"blockHash\":\"" H(
		  "cd") "\",\"contractAddress\":null,\"logs\":[]}");
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == -EBADMSG, "no status: -EBADMSG");
	serve("eth_getTransactionReceipt", 0,
	      RECEIPT("0x1", "null",
		      LOG("0x10", "0x0",
			  "\"" TOPIC "\",\"" TOPIC "\",\"" TOPIC "\",\"" TOPIC "\",\"" TOPIC "\"",
			  "0x")));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == -EBADMSG, "5 topics: -EBADMSG");
	serve("eth_getTransactionReceipt", 0,
	      RECEIPT("0x1", "null", LOG("0x10", "0x0", "\"" TOPIC "\"", "0xabc")));
	ok(chain_evm_rpc_receipt(r, hash, &rc, on_log, &s) == -EBADMSG,
	   "odd-length data: -EBADMSG");
}

static void test_logs(struct chain_evm_rpc *r)
{
	uint8_t addr[20], topic[32];
	struct seen s;

	memset(addr, 0x22, 20);
	(void)!codec_hex_decode(TOPIC, topic, 32);
	serve("eth_getLogs", 0,
	      "\"result\":[" LOG("0x10", "0x3", "\"" TOPIC "\"", "0x01") "," LOG(
		  "0x10", "0x7", "\"" TOPIC "\"",
		  "0x02") "," LOG("0x15", "0x0", "\"" TOPIC "\",\"" H("09") "\"", "0x03") "]");
	memset(&s, 0, sizeof(s));
	ok(chain_evm_rpc_logs(r, addr, topic, 0x10, 0x20, on_log, &s) == 0 && s.n == 3 &&
	       s.block[0] == 16 && s.index[1] == 7 && s.block[2] == 21 && s.data0[2] == 3,
	   "eth_getLogs: 3 logs in order");
	ok(params_are("[{\"address\":\"" ADDR "\",\"fromBlock\":\"0x10\",\"toBlock\":\"0x20\","
		      "\"topics\":[\"" TOPIC "\"]}]"),
	   "  the filter: address, topic0, fromBlock, toBlock");
	memset(&s, 0, sizeof(s));
	ok(chain_evm_rpc_logs(r, addr, topic, 0x10, CHAIN_EVM_BLOCK_LATEST, on_log, &s) == 0 &&
	       params_are("[{\"address\":\"" ADDR "\",\"fromBlock\":\"0x10\",\"toBlock\":"
			  "\"latest\",\"topics\":[\"" TOPIC "\"]}]"),
	   "  up to \"latest\"");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	ok(chain_evm_rpc_logs(r, addr, topic, 0x10, 0x20, on_log, &s) == 7 && s.n == 2,
	   "a callback returning 7 after 2 logs: 7");
	memset(&s, 0, sizeof(s));
	ok(chain_evm_rpc_logs(r, addr, topic, 0x11, 0x20, on_log, &s) == -EBADMSG && s.n == 0,
	   "a log before fromBlock: -EBADMSG, nothing delivered");
	ok(chain_evm_rpc_logs(r, addr, topic, 0x10, 0x14, on_log, &s) == -EBADMSG && s.n == 0,
	   "a log after toBlock: -EBADMSG");
	serve("eth_getLogs", 0,
	      "\"result\":[" LOG("0x10", "0x3", "\"" TOPIC "\"",
				 "0x01") "," LOG("0x10", "0x3", "\"" TOPIC "\"", "0x02") "]");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == -EBADMSG && s.n == 0,
	   "a repeated (block, index): -EBADMSG");
	serve("eth_getLogs", 0,
	      "\"result\":[" LOG("0x11", "0x0", "\"" TOPIC "\"",
				 "0x01") "," LOG("0x10", "0x3", "\"" TOPIC "\"", "0x02") "]");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == -EBADMSG && s.n == 0,
	   "logs out of block order: -EBADMSG");
	serve("eth_getLogs", 0, "\"result\":[" LOG("0x10", "0x3", "\"" H("09") "\"", "0x01") "]");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == -EBADMSG && s.n == 0,
	   "another topic0: -EBADMSG");
	memset(addr, 0x33, 20);
	serve("eth_getLogs", 0, "\"result\":[" LOG("0x10", "0x3", "\"" TOPIC "\"", "0x01") "]");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == -EBADMSG && s.n == 0,
	   "another address: -EBADMSG");
	memset(addr, 0x22, 20);
	serve("eth_getLogs", 0, "\"result\":[]");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == 0 && s.n == 0, "no logs: 0");
	serve("eth_getLogs", 0, "\"result\":{}");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == -EBADMSG,
	   "an object instead of a list: -EBADMSG");
	serve("eth_getLogs", 0,
	      "\"error\":{\"code\":-32005,\"message\":\"query returned more than 10000 results\"}");
	ok(chain_evm_rpc_logs(r, addr, topic, 0, 0x20, on_log, &s) == -EPROTO &&
	       contains(chain_evm_rpc_error(r), "more than 10000"),
	   "the node's range cap: -EPROTO with its message");
	ok(chain_evm_rpc_logs(r, addr, topic, 5, 4, on_log, &s) == -EINVAL,
	   "an empty range: -EINVAL");
}

/* ---- transport ---- */

static void test_transport(void)
{
	struct chain_evm_rpc_opts fast = {.retries = 3, .backoff_ms = 10, .timeout_ms = 300};
	struct chain_evm_rpc *r = NULL;
	char bad[160];
	uint64_t v = 0;
	unsigned port = closed_port();
	double t0;
	int k, before;

	snprintf(bad, sizeof(bad), "http://127.0.0.1:%u", port);
	if (!ok(chain_evm_rpc_open(bad, &quick, &r) == 0, "a client for a closed port"))
		return;
	t0 = now_ms();
	k = chain_evm_rpc_chain_id(r, &v);
	ok(k == -ECONNREFUSED, "connection refused: -ECONNREFUSED (%d)", k);
	ok(contains(chain_evm_rpc_error(r), bad) &&
	       contains(chain_evm_rpc_error(r), "after 3 tries") &&
	       contains(chain_evm_rpc_error(r), "cannot reach"),
	   "  the message names the URL and the tries: %s", chain_evm_rpc_error(r));
	ok(now_ms() - t0 >= 25, "  with backoff between the tries (10 + 20 ms)");
	chain_evm_rpc_close(r);

	snprintf(bad, sizeof(bad), "http://user:secret@127.0.0.1:%u/v3/path?apikey=hidden", port);
	ok(chain_evm_rpc_open(bad, &(struct chain_evm_rpc_opts){.retries = 1}, &r) == 0 &&
	       chain_evm_rpc_chain_id(r, &v) == -ECONNREFUSED,
	   "a URL with credentials: refused");
	ok(!strstr(chain_evm_rpc_error(r), "secret") && !strstr(chain_evm_rpc_error(r), "hidden") &&
	       contains(chain_evm_rpc_error(r), "/v3/path") &&
	       contains(chain_evm_rpc_error(r), "after 1 try"),
	   "  the message shows it without user:password or query: %s", chain_evm_rpc_error(r));
	chain_evm_rpc_close(r);

	/* a server that is busy twice, then answers */
	if (chain_evm_rpc_open(url, &quick, &r) < 0)
		return;
	serve("eth_chainId", 0, "\"result\":\"0x4e4\"");
	atomic_store(&fail_next, 2);
	before = atomic_load(&requests);
	k = chain_evm_rpc_chain_id(r, &v);
	ok(k == 0 && v == 1252 && atomic_load(&requests) - before == 3,
	   "HTTP 503 twice, then an answer: success on the third try (%d requests)",
	   atomic_load(&requests) - before);
	atomic_store(&fail_next, 1000);
	before = atomic_load(&requests);
	k = chain_evm_rpc_chain_id(r, &v);
	atomic_store(&fail_next, 0);
	ok(k == -EIO && atomic_load(&requests) - before == 3 &&
	       contains(chain_evm_rpc_error(r), "answered HTTP 503 to eth_chainId (after 3 tries)"),
	   "HTTP 503 every time: -EIO after 3 tries: %s", chain_evm_rpc_error(r));
	serve("eth_gasPrice", 0, "\"error\":{\"code\":-32000,\"message\":\"no\"}");
	before = atomic_load(&requests);
	ok(chain_evm_rpc_gas_price(r, &v) == -EPROTO && atomic_load(&requests) - before == 1,
	   "a JSON-RPC error is not retried");
	serve("eth_gasPrice", 500, "\"error\":{\"code\":-32000,\"message\":\"internal trouble\"}");
	before = atomic_load(&requests);
	ok(chain_evm_rpc_gas_price(r, &v) == -EPROTO && atomic_load(&requests) - before == 1,
	   "nor a JSON-RPC error sent with HTTP 500");
	serve("eth_gasPrice", 0, "!{broken");
	before = atomic_load(&requests);
	ok(chain_evm_rpc_gas_price(r, &v) == -EBADMSG && atomic_load(&requests) - before == 1,
	   "nor malformed JSON");
	chain_evm_rpc_close(r);

	/* oversized */
	if (chain_evm_rpc_open(url, &quick, &r) < 0)
		return;
	atomic_store(&huge_mode, 1);
	before = atomic_load(&requests);
	k = chain_evm_rpc_chain_id(r, &v);
	ok(k == -E2BIG && atomic_load(&requests) - before == 1,
	   "an answer past CHAIN_EVM_RESPONSE_MAX with its length: -E2BIG, not retried (%d)", k);
	atomic_store(&huge_mode, 2);
	k = chain_evm_rpc_chain_id(r, &v);
	ok(k == -E2BIG, "the same sent chunked (no length): -E2BIG (%d)", k);
	ok(contains(chain_evm_rpc_error(r), "larger than"), "  the message: %s",
	   chain_evm_rpc_error(r));
	atomic_store(&huge_mode, 0);
	ok(chain_evm_rpc_chain_id(r, &v) == 0, "the next call on the same handle works");
	chain_evm_rpc_close(r);

	/* timeouts */
	if (chain_evm_rpc_open(url, &fast, &r) < 0)
		return;
	serve("eth_blockNumber", 0, "\"result\":\"0x1\"");
	slow("eth_blockNumber", 1500);
	before = atomic_load(&requests);
	t0 = now_ms();
	k = chain_evm_rpc_block_number(r, &v);
	ok(k == -ETIMEDOUT && atomic_load(&requests) - before == 3,
	   "an answer slower than timeout_ms: -ETIMEDOUT after 3 tries (%d)", k);
	ok(now_ms() - t0 < 1500 * 3, "  each try gives up at its timeout (%.0f ms)", now_ms() - t0);
	slow("eth_blockNumber", 0);
	chain_evm_rpc_close(r);
}

struct worker {
	struct chain_evm_rpc *r;
	int good;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t v;

	w->good = 1;
	for (int i = 0; i < 40; i++) {
		w->good &= chain_evm_rpc_chain_id(w->r, &v) == 0 && v == 1252;
		w->good &= chain_evm_rpc_error(w->r)[0] == 0;
	}
	return NULL;
}

static void test_threads(void)
{
	struct chain_evm_rpc *r;
	struct worker w[12];
	pthread_t t[12];
	int good = 1;

	serve("eth_chainId", 0, "\"result\":\"0x4e4\"");
	if (chain_evm_rpc_open(url, &quick, &r) < 0)
		return;
	for (int i = 0; i < 12; i++) {
		w[i].r = r;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 12; i++) {
		pthread_join(t[i], NULL);
		good &= w[i].good;
	}
	ok(good, "12 threads x 40 calls on one handle (more threads than handles): all answered");
	chain_evm_rpc_close(r);
}

int main(void)
{
	struct MHD_Daemon *d;
	struct chain_evm_rpc *r;
	const union MHD_DaemonInfo *info;

	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			     NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done,
			     NULL, MHD_OPTION_SOCK_ADDR,
			     (struct sockaddr *)&(struct sockaddr_in){
				 .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
			     MHD_OPTION_END);
	if (!d)
		skip_all("libmicrohttpd cannot start a server here");
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", info ? info->port : 0);

	test_open();
	test_hex();
	if (chain_evm_rpc_open(url, &quick, &r) == 0) {
		test_simple(r);
		test_block(r);
		test_account(r);
		test_calls(r);
		test_receipt(r);
		test_logs(r);
		chain_evm_rpc_close(r);
	} else {
		ok(0, "a client for the fake node");
	}
	test_transport();
	test_threads();

	MHD_stop_daemon(d);
	for (size_t i = 0; i < ncanned; i++)
		free(canned[i].fragment);
	return tap_done();
}
