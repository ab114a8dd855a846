/*
 * test_net.c - the network door (node/peer/net.h) against a small HTTP server in this
 * process: real calls, each fault kind as the client sees it, timeouts kept, oversized
 * bodies refused, the fault spec's text form and ZGFS_NET_FAULT.
 *
 * Server routes: POST /rpc echoes the body; POST /octet echoes it as
 * application/octet-stream with the request's Content-Type in front; GET /bin/N answers
 * N bytes (byte i = i*7+3); GET /slow/MS answers "late" after MS ms; GET /status/S answers
 * status S.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/peer/net.h"
#include "tap.h"

static atomic_int requests;
static char url_a[64], url_b[64];

struct body {
	char *p;
	size_t len;
};

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, void *p, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok = MHD_queue_response(c, status, r);

	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result send_octet(struct MHD_Connection *c, struct body *b)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	size_t tl = type ? strlen(type) : 0, bl = b->len < 128 ? b->len : 128;
	char out[256];
	struct MHD_Response *r;
	enum MHD_Result ok;

	if (tl > 100)
		tl = 100;
	memcpy(out, type ? type : "", tl);
	out[tl] = '|';
	if (bl)
		memcpy(out + tl + 1, b->p, bl);
	r = MHD_create_response_from_buffer(tl + 1 + bl, out, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	ok = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result route(struct MHD_Connection *c, const char *u, struct body *b)
{
	unsigned long n;

	atomic_fetch_add(&requests, 1);
	if (strcmp(u, "/rpc") == 0)
		return send_buf(c, 200, b->p ? b->p : "", b->len);
	if (strcmp(u, "/octet") == 0)
		return send_octet(c, b);
	if (sscanf(u, "/bin/%lu", &n) == 1) {
		uint8_t *p = malloc(n ? n : 1);
		enum MHD_Result ok;

		for (unsigned long i = 0; i < n; i++)
			p[i] = (uint8_t)(i * 7 + 3);
		ok = send_buf(c, 200, p, n);
		free(p);
		return ok;
	}
	if (sscanf(u, "/slow/%lu", &n) == 1) {
		usleep((useconds_t)n * 1000);
		return send_buf(c, 200, "late", 4);
	}
	if (sscanf(u, "/status/%lu", &n) == 1)
		return send_buf(c, (unsigned)n, "no", 2);
	return send_buf(c, 404, "", 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *u,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct body *b = *con_cls;

	(void)cls, (void)method, (void)version;
	if (!b) {
		*con_cls = calloc(1, sizeof(*b));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		char *p = realloc(b->p, b->len + *upload_size + 1);

		if (!p)
			return MHD_NO;
		memcpy(p + b->len, upload, *upload_size);
		b->p = p;
		b->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	return route(c, u, b);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (b) {
		free(b->p);
		free(b);
		*con_cls = NULL;
	}
}

static struct MHD_Daemon *start(char *url, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			     NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done,
			     NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	const union MHD_DaemonInfo *info;

	if (!d)
		return NULL;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, len, "http://127.0.0.1:%u", info ? info->port : 0);
	return d;
}

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int get(const char *base, const char *path, unsigned timeout, size_t max,
	       struct node_net_reply *rep)
{
	char u[128];

	snprintf(u, sizeof(u), "%s%s", base, path);
	return node_net_get(u, timeout, max, rep);
}

static bool pattern_ok(const struct node_net_reply *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r->body[i] != (uint8_t)(i * 7 + 3))
			return false;
	return true;
}

static void test_plain(void)
{
	struct node_net_reply rep = {0};
	char u[96];
	const char *body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"zgs_getStatus\"}";
	int r;

	snprintf(u, sizeof(u), "%s/rpc", url_a);
	r = node_net_post_json(u, body, strlen(body), 0, 0, &rep);
	ok(r == 0 && rep.status == 200 && rep.len == strlen(body) &&
	       strcmp((char *)rep.body, body) == 0,
	   "POST: the body echoed, NUL-terminated (%d)", r);
	node_net_reply_release(&rep);
	r = get(url_a, "/bin/100000", 0, 0, &rep);
	ok(r == 0 && rep.len == 100000 && pattern_ok(&rep, 100000), "GET 100000 bytes (%d)", r);
	node_net_reply_release(&rep);
	r = get(url_a, "/bin/0", 0, 0, &rep);
	ok(r == 0 && rep.len == 0 && rep.body && rep.body[0] == 0, "GET an empty body (%d)", r);
	node_net_reply_release(&rep);
	ok(get(url_a, "/status/404", 0, 0, &rep) == -ENOENT &&
	       get(url_a, "/status/503", 0, 0, &rep) == -EAGAIN &&
	       get(url_a, "/status/500", 0, 0, &rep) == -EREMOTEIO && rep.body == NULL,
	   "404, 503, 500 as -ENOENT, -EAGAIN, -EREMOTEIO; no reply written");
	ok(node_net_get("ftp://127.0.0.1/", 0, 0, &rep) == -EINVAL &&
	       node_net_post_json(u, NULL, 0, 0, 0, &rep) == -EINVAL,
	   "not http(s), no body: -EINVAL");
	node_net_reply_release(NULL);
}

static void test_bounds(void)
{
	struct node_net_reply rep = {0};
	uint64_t t0;
	int r;

	ok(get(url_a, "/bin/5000", 0, 4096, &rep) == -E2BIG,
	   "5000 B past a 4096 B maximum: -E2BIG");
	r = get(url_a, "/bin/4096", 0, 4096, &rep);
	ok(r == 0 && rep.len == 4096, "4096 B at a 4096 B maximum (%d)", r);
	node_net_reply_release(&rep);
	t0 = ms();
	r = get(url_a, "/slow/3000", 300, 0, &rep);
	ok(r == -ETIMEDOUT && ms() - t0 < 1500,
	   "a 3 s answer with a 300 ms timeout: -ETIMEDOUT in %llu ms",
	   (unsigned long long)(ms() - t0));
	{
		/* A port nobody listens on: bind, read the port, close. */
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char u[64];

		bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		getsockname(fd, (struct sockaddr *)&sa, &sl);
		close(fd);
		snprintf(u, sizeof(u), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
		r = node_net_get(u, 2000, 0, &rep);
		ok(r == -ECONNREFUSED, "a closed port: -ECONNREFUSED (%d)", r);
	}
}

/* node_net_request(): any body type, the binary flag, statuses handed back, faults. */
static void test_request(void)
{
	struct node_net_reply rep = {0};
	char u[96], s500[96];
	struct node_net_request req = {
	    .url = u, .body = "ab\0cd", .len = 5, .content_type = "application/octet-stream"};
	int r;

	snprintf(u, sizeof(u), "%s/octet", url_a);
	snprintf(s500, sizeof(s500), "%s/status/500", url_a);
	r = node_net_request(&req, &rep);
	ok(r == 0 && rep.binary && rep.len == 30 &&
	       memcmp(rep.body, "application/octet-stream|ab\0cd", 30) == 0,
	   "a binary POST: its Content-Type sent, its NUL byte kept, the answer binary (%d)", r);
	node_net_reply_release(&rep);
	req.content_type = "text/plain";
	r = node_net_request(&req, &rep);
	ok(r == 0 && rep.len == 16 && memcmp(rep.body, "text/plain|ab\0cd", 16) == 0,
	   "another Content-Type (%d)", r);
	node_net_reply_release(&rep);
	snprintf(u, sizeof(u), "%s/rpc", url_a);
	r = node_net_request(&(struct node_net_request){.url = u, .body = "{}", .len = 2}, &rep);
	ok(r == 0 && !rep.binary && strcmp((char *)rep.body, "{}") == 0,
	   "no Content-Type named: JSON, and a JSON answer is not binary (%d)", r);
	node_net_reply_release(&rep);
	r = node_net_request(&(struct node_net_request){.url = s500, .any_status = true}, &rep);
	ok(r == 0 && rep.status == 500 && rep.len == 2 && memcmp(rep.body, "no", 2) == 0,
	   "any_status: HTTP 500 is 0 with the status and body (%d, %ld)", r, rep.status);
	node_net_reply_release(&rep);
	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_ERROR, .arg = 503, .url = u});
	r = node_net_request(
	    &(struct node_net_request){.url = u, .body = "{}", .len = 2, .any_status = true}, &rep);
	ok(r == 0 && rep.status == 503 && rep.len == 0,
	   "any_status: an injected error:503 is an empty HTTP 503 answer (%d, %ld)", r,
	   rep.status);
	node_net_reply_release(&rep);
	ok(node_net_post_json(u, "{}", 2, 0, 0, &rep) == -EAGAIN,
	   "without any_status the same fault is -EAGAIN");
	node_net_fault_clear();
	ok(node_net_request(NULL, &rep) == -EINVAL &&
	       node_net_request(&(struct node_net_request){.url = "file:///x"}, &rep) == -EINVAL,
	   "no request, not http(s): -EINVAL");
}

static void test_env(void)
{
	struct node_net_reply rep = {0};
	int r1 = node_net_get("http://env.invalid/x", 2000, 0, &rep);
	int r2 = node_net_get("http://env.invalid/x", 2000, 0, &rep);

	ok(r1 == -ECONNREFUSED && r2 < 0 && r2 != -ECONNREFUSED,
	   "ZGFS_NET_FAULT refuse@1=URL: the first call refused (%d), the second real (%d)", r1,
	   r2);
	ok(node_net_fault_hits(NODE_NET_REFUSE) == 1, "one refusal counted");
}

static void test_kinds(void)
{
	struct node_net_reply rep = {0};
	char u[96];
	const char *body = "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"zgs_getStatus\"}";
	int before, r;
	uint64_t t0;

	snprintf(u, sizeof(u), "%s/rpc", url_a);
	node_net_fault_clear();
	before = atomic_load(&requests);
	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_REFUSE});
	r = get(url_a, "/bin/10", 0, 0, &rep);
	ok(r == -ECONNREFUSED && atomic_load(&requests) == before,
	   "refuse: -ECONNREFUSED, nothing sent (%d)", r);
	node_net_fault_clear();

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_DROP});
	t0 = ms();
	r = get(url_a, "/bin/10", 250, 0, &rep);
	ok(r == -ETIMEDOUT && ms() - t0 >= 240 && ms() - t0 < 1000,
	   "drop: -ETIMEDOUT at the 250 ms timeout (%llu ms)", (unsigned long long)(ms() - t0));
	node_net_fault_clear();

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_DELAY, .arg = 150});
	t0 = ms();
	r = get(url_a, "/bin/10", 1000, 0, &rep);
	ok(r == 0 && ms() - t0 >= 150 && pattern_ok(&rep, 10), "delay:150: the answer, >= 150 ms");
	node_net_reply_release(&rep);
	t0 = ms();
	r = get(url_a, "/slow/200", 250, 0, &rep);
	ok(r == -ETIMEDOUT && ms() - t0 < 700,
	   "delay:150 + a 200 ms answer > 250 ms timeout: -ETIMEDOUT in %llu ms",
	   (unsigned long long)(ms() - t0));
	node_net_fault_clear();
	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_DELAY, .arg = 5000});
	t0 = ms();
	r = get(url_a, "/bin/10", 300, 0, &rep);
	ok(r == -ETIMEDOUT && ms() - t0 < 800, "delay:5000, timeout 300: -ETIMEDOUT in %llu ms",
	   (unsigned long long)(ms() - t0));
	node_net_fault_clear();

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_ERROR});
	ok(get(url_a, "/bin/10", 0, 0, &rep) == -EREMOTEIO, "error: -EREMOTEIO (HTTP 500)");
	node_net_fault_clear();
	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_ERROR, .arg = 404});
	ok(get(url_a, "/bin/10", 0, 0, &rep) == -ENOENT, "error:404: -ENOENT");
	node_net_fault_clear();

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_RPCERROR});
	r = node_net_post_json(u, body, strlen(body), 0, 0, &rep);
	ok(r == 0 && rep.status == 200 && strstr((char *)rep.body, "\"id\":42") &&
	       strstr((char *)rep.body, "\"error\":{") && strstr((char *)rep.body, "-32603"),
	   "rpcerror: a JSON-RPC error with the request's id: %s",
	   rep.body ? (char *)rep.body : "");
	node_net_reply_release(&rep);
	ok(get(url_a, "/bin/10", 0, 0, &rep) == -EREMOTEIO, "rpcerror on a GET: -EREMOTEIO");
	node_net_fault_clear();

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_TRUNCATE, .arg = 10});
	r = get(url_a, "/bin/1000", 0, 0, &rep);
	ok(r == 0 && rep.len == 10 && pattern_ok(&rep, 10) && rep.body[10] == 0,
	   "truncate:10: the first 10 bytes");
	node_net_reply_release(&rep);
	node_net_fault_clear();
	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_TRUNCATE});
	r = get(url_a, "/bin/1000", 0, 0, &rep);
	ok(r == 0 && rep.len == 500 && pattern_ok(&rep, 500), "truncate: half");
	node_net_reply_release(&rep);
	node_net_fault_clear();

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_CORRUPT, .arg = 3});
	r = get(url_a, "/bin/1000", 0, 0, &rep);
	if (r == 0) {
		size_t diff = 0;

		for (size_t i = 0; i < rep.len; i++)
			diff += rep.body[i] != (uint8_t)(i * 7 + 3);
		ok(rep.len == 1000 && diff == 3, "corrupt:3: same length, 3 bytes differ (%zu)",
		   diff);
	} else {
		ok(0, "corrupt:3: %d", r);
	}
	node_net_reply_release(&rep);
	node_net_fault_clear();
	ok(node_net_fault_hits(NODE_NET_CORRUPT) == 1 &&
	       node_net_fault_hits(NODE_NET_TRUNCATE) == 2,
	   "hits counted per kind");
}

static void test_when(void)
{
	struct node_net_reply rep = {0};
	int r[4], fails = 0, seq1[50], seq2[50];
	bool same = true;

	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_ERROR, .nth = 2});
	for (int i = 0; i < 4; i++) {
		r[i] = get(url_a, "/bin/1", 0, 0, &rep);
		node_net_reply_release(&rep);
	}
	ok(r[0] == 0 && r[1] == -EREMOTEIO && r[2] == 0 && r[3] == 0, "@2: only the 2nd call");
	node_net_fault_clear();
	node_net_fault_add(
	    &(struct node_net_fault){.kind = NODE_NET_ERROR, .nth = 2, .sticky = true});
	for (int i = 0; i < 4; i++) {
		r[i] = get(url_a, "/bin/1", 0, 0, &rep);
		node_net_reply_release(&rep);
	}
	ok(r[0] == 0 && r[1] < 0 && r[2] < 0 && r[3] < 0, "@2+: the 2nd and every later");
	node_net_fault_clear();

	/* Per URL: a fault on b leaves a alone. */
	node_net_fault_add(&(struct node_net_fault){.kind = NODE_NET_REFUSE, .url = url_b});
	ok(get(url_a, "/bin/1", 0, 0, &rep) == 0 &&
	       get(url_b, "/bin/1", 0, 0, &rep) == -ECONNREFUSED,
	   "refuse=URL_B: B refused, A answers");
	node_net_reply_release(&rep);
	node_net_fault_clear();

	/* P%: about half, and the same decisions for the same seed. */
	for (int pass = 0; pass < 2; pass++) {
		node_net_fault_clear();
		node_net_fault_seed(99);
		node_net_fault_add(
		    &(struct node_net_fault){.kind = NODE_NET_REFUSE, .percent = 50});
		for (int i = 0; i < 50; i++) {
			int x = get(url_a, "/bin/1", 0, 0, &rep);

			node_net_reply_release(&rep);
			(pass ? seq2 : seq1)[i] = x;
		}
	}
	for (int i = 0; i < 50; i++) {
		same &= seq1[i] == seq2[i];
		fails += seq1[i] == -ECONNREFUSED;
	}
	ok(same && fails > 10 && fails < 40, "@50%%: %d of 50 refused, same sequence twice", fails);
	node_net_fault_clear();
}

static void test_spec(void)
{
	struct node_net_reply rep = {0};
	char spec[256];
	int r1, r2, r3;

	snprintf(spec, sizeof(spec), "truncate:4@2=%s,corrupt@1=%s/bin,seed:5", url_a, url_a);
	ok(node_net_fault_spec(spec) == 0, "spec %s", spec);
	r1 = get(url_a, "/bin/100", 0, 0, &rep);
	ok(r1 == 0 && rep.len == 100 && !pattern_ok(&rep, 100), "1st call: corrupt");
	node_net_reply_release(&rep);
	r2 = get(url_a, "/bin/100", 0, 0, &rep);
	ok(r2 == 0 && rep.len == 4, "2nd call: truncate:4");
	node_net_reply_release(&rep);
	r3 = get(url_a, "/bin/100", 0, 0, &rep);
	ok(r3 == 0 && rep.len == 100 && pattern_ok(&rep, 100), "3rd call: clean");
	node_net_reply_release(&rep);
	ok(node_net_fault_spec("error@1+") == 0, "spec error@1+");
	ok(node_net_fault_spec("refuse@0") == -EINVAL && node_net_fault_spec("boom") == -EINVAL &&
	       node_net_fault_spec("delay:x") == -EINVAL &&
	       node_net_fault_spec("error@101%") == -EINVAL &&
	       node_net_fault_spec("drop=") == -EINVAL &&
	       node_net_fault_spec("seed:q") == -EINVAL &&
	       node_net_fault_spec("refuse,boom") == -EINVAL,
	   "malformed specs refused");
	ok(get(url_a, "/bin/100", 0, 0, &rep) == -EREMOTEIO,
	   "a refused spec changes nothing: error@1+ still applies");
	ok(node_net_fault_spec("delay:100@3+,error:503@10%,drop") == 0 &&
	       get(url_a, "/bin/1", 200, 0, &rep) == -ETIMEDOUT,
	   "a list of three; the last (drop) applies to the 1st call");
	ok(node_net_fault_spec("") == 0 && get(url_a, "/bin/1", 0, 0, &rep) == 0,
	   "the empty spec clears");
	node_net_reply_release(&rep);
}

/* Whether a GET of /bin/100 with a 200 ms timeout looks faulted by kind, and clean. */
static int sweep_call(enum node_net_fault_kind kind, bool *ret_clean)
{
	struct node_net_reply rep = {0};
	int r = get(url_a, "/bin/100", 200, 0, &rep);
	bool clean = r == 0 && rep.len == 100 && pattern_ok(&rep, 100), faulted;

	switch (kind) {
	case NODE_NET_REFUSE:
		faulted = r == -ECONNREFUSED;
		break;
	case NODE_NET_DROP:
	case NODE_NET_DELAY:
		faulted = r == -ETIMEDOUT;
		break;
	case NODE_NET_ERROR:
	case NODE_NET_RPCERROR:
		faulted = r == -EREMOTEIO;
		break;
	case NODE_NET_TRUNCATE:
		faulted = r == 0 && rep.len == 50 && pattern_ok(&rep, 50);
		break;
	default:
		faulted = r == 0 && rep.len == 100 && !pattern_ok(&rep, 100);
		break;
	}
	node_net_reply_release(&rep);
	*ret_clean = clean;
	return faulted;
}

/* Every kind at call 1, 2, 3 of 4: exactly that call is hit, the others are clean. */
static void test_sweep(void)
{
	int bad = 0, runs = 0;

	for (unsigned k = 0; k < NODE_NET_NKINDS; k++)
		for (uint64_t nth = 1; nth <= 3; nth++) {
			node_net_fault_clear();
			node_net_fault_add(
			    &(struct node_net_fault){.kind = (enum node_net_fault_kind)k,
						     .arg = k == NODE_NET_DELAY ? 5000 : 0,
						     .nth = nth});
			for (uint64_t call = 1; call <= 4; call++) {
				bool clean,
				    faulted = sweep_call((enum node_net_fault_kind)k, &clean);

				if (call == nth ? !faulted : !clean)
					bad++;
			}
			runs++;
		}
	node_net_fault_clear();
	ok(bad == 0 && runs == 3 * NODE_NET_NKINDS,
	   "sweep: %d kinds at calls 1..3 of 4, %d calls not as expected", NODE_NET_NKINDS, bad);
}

struct worker {
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 20; i++) {
		struct node_net_reply rep = {0};
		char path[32];
		size_t n = 1000 + (size_t)i * 313;

		snprintf(path, sizeof(path), "/bin/%zu", n);
		if (get(i % 2 ? url_a : url_b, path, 5000, 0, &rep) != 0 || rep.len != n ||
		    !pattern_ok(&rep, n))
			w->failures++;
		node_net_reply_release(&rep);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[8];
	struct worker w[8] = {{0}};
	int failures = 0;

	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, work, &w[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	ok(failures == 0, "8 threads x 20 calls over two peers: %d failures", failures);
}

int main(void)
{
	struct MHD_Daemon *a, *b;

	/* Read at the first call: the door must see it before anything else here. */
	setenv("ZGFS_NET_FAULT", "refuse@1=http://env.invalid", 1);
	a = start(url_a, sizeof(url_a));
	b = start(url_b, sizeof(url_b));
	if (!a || !b)
		skip_all("libmicrohttpd cannot start a server here");
	test_env();
	test_plain();
	test_bounds();
	test_request();
	test_kinds();
	test_when();
	test_spec();
	test_sweep();
	test_threads();
	MHD_stop_daemon(a);
	MHD_stop_daemon(b);
	return tap_done();
}
