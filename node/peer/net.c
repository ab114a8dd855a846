/*
 * net.c - the network door (net.h): libcurl behind two calls, a handle pool, and fault
 * injection in front.
 *
 * Every libcurl call a node makes of another node is in this file (curl_* below): the
 * JSON-RPC client (node/rpc/client.c) is built on node_net_request(), so there is one
 * handle pool (take_handle(), give_handle()), one translation of CURLcode (curl_errno())
 * and one option block (set_options()) for all of it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/limits.h"
#include "node/peer/net.h"

/* --- time ---------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --- fault injection ------------------------------------------------------------------ */

struct fault {
	struct node_net_fault f;
	char url[NODE_NET_FAULT_URL_MAX]; /* f.url points here */
	uint64_t calls;
};

/* What a call is to do, decided once under the lock. */
struct verdict {
	bool fire;
	enum node_net_fault_kind kind;
	uint64_t arg;
	uint64_t rng; /* a seed of the call's own for corrupt offsets */
};

#define DEFAULT_SEED 1

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fault faults[NODE_NET_FAULTS_MAX];
static size_t nfaults;
static uint64_t rng_state = DEFAULT_SEED;
static uint64_t fault_hits[NODE_NET_NKINDS];
static atomic_bool faults_armed;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static const char *const kind_names[NODE_NET_NKINDS] = {
    [NODE_NET_REFUSE] = "refuse",     [NODE_NET_DROP] = "drop",
    [NODE_NET_DELAY] = "delay",	      [NODE_NET_ERROR] = "error",
    [NODE_NET_RPCERROR] = "rpcerror", [NODE_NET_TRUNCATE] = "truncate",
    [NODE_NET_CORRUPT] = "corrupt",
};

/* xorshift64*, the tests' generator: called with fault_mu held or on a call's own copy. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int fault_check_args(const struct node_net_fault *f)
{
	if (!f || f->kind >= NODE_NET_NKINDS || f->percent > 100 || (f->percent && f->nth) ||
	    (f->sticky && !f->nth))
		return -EINVAL;
	if (f->url && strlen(f->url) >= NODE_NET_FAULT_URL_MAX)
		return -EINVAL;
	return 0;
}

static void fault_copy(struct fault *dst, const struct node_net_fault *f)
{
	memset(dst, 0, sizeof(*dst));
	dst->f = *f;
	if (f->url)
		snprintf(dst->url, sizeof(dst->url), "%s", f->url);
	dst->f.url = dst->url;
}

static void fault_relink(void)
{
	for (size_t i = 0; i < nfaults; i++)
		faults[i].f.url = faults[i].url;
	atomic_store(&faults_armed, nfaults != 0);
}

static int spec_apply(const char *spec);

static void env_init(void)
{
	const char *spec = getenv("ZGFS_NET_FAULT");

	/* Malformed: nothing set, and nobody to tell (the layer does not print); the test
	 * that set it sees no faults and notices. */
	if (spec && *spec)
		(void)spec_apply(spec);
}

int node_net_fault_add(const struct node_net_fault *f)
{
	int r = fault_check_args(f);

	pthread_once(&env_once, env_init);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fault_mu);
	if (nfaults == NODE_NET_FAULTS_MAX) {
		pthread_mutex_unlock(&fault_mu);
		return -E2BIG;
	}
	fault_copy(&faults[nfaults++], f);
	fault_relink();
	pthread_mutex_unlock(&fault_mu);
	return 0;
}

void node_net_fault_clear(void)
{
	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&fault_mu);
	nfaults = 0;
	rng_state = DEFAULT_SEED;
	fault_relink();
	pthread_mutex_unlock(&fault_mu);
}

void node_net_fault_seed(uint64_t seed)
{
	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&fault_mu);
	rng_state = seed ? seed : DEFAULT_SEED;
	pthread_mutex_unlock(&fault_mu);
}

uint64_t node_net_fault_hits(enum node_net_fault_kind kind)
{
	uint64_t n;

	if (kind >= NODE_NET_NKINDS)
		return 0;
	pthread_mutex_lock(&fault_mu);
	n = fault_hits[kind];
	pthread_mutex_unlock(&fault_mu);
	return n;
}

static bool fault_fires(struct fault *f)
{
	if (f->f.percent)
		return rng_next(&rng_state) % 100 < f->f.percent;
	if (!f->f.nth)
		return true;
	return f->calls == f->f.nth || (f->f.sticky && f->calls > f->f.nth);
}

static struct verdict fault_decide(const char *url)
{
	struct verdict v = {0};

	pthread_once(&env_once, env_init);
	if (!atomic_load_explicit(&faults_armed, memory_order_relaxed))
		return v;
	pthread_mutex_lock(&fault_mu);
	for (size_t i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];

		if (f->url[0] && strncmp(url, f->url, strlen(f->url)) != 0)
			continue;
		f->calls++;
		/* Every matching fault counts the call; the first that fires applies. */
		if (!v.fire && fault_fires(f)) {
			v.fire = true;
			v.kind = f->f.kind;
			v.arg = f->f.arg;
			v.rng = rng_next(&rng_state) | 1;
			fault_hits[v.kind]++;
		}
	}
	pthread_mutex_unlock(&fault_mu);
	return v;
}

/* --- the spec's text form --- */

static bool parse_u64(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

/* One KIND[:ARG][@WHEN][=URL] in [s, end). */
static int parse_item(const char *s, const char *end, struct node_net_fault *ret, char *url_buf)
{
	const char *eq = memchr(s, '=', (size_t)(end - s)), *head_end = eq ? eq : end;
	const char *at = memchr(s, '@', (size_t)(head_end - s)), *kind_end = at ? at : head_end;
	const char *colon = memchr(s, ':', (size_t)(kind_end - s)),
		   *name_end = colon ? colon : kind_end;
	struct node_net_fault f = {0};
	size_t k;

	for (k = 0; k < NODE_NET_NKINDS; k++)
		if (strlen(kind_names[k]) == (size_t)(name_end - s) &&
		    memcmp(s, kind_names[k], (size_t)(name_end - s)) == 0)
			break;
	if (k == NODE_NET_NKINDS)
		return -EINVAL;
	f.kind = (enum node_net_fault_kind)k;
	if (colon && !parse_u64(colon + 1, kind_end, &f.arg))
		return -EINVAL;
	if (at) {
		const char *w = at + 1, *we = head_end;
		uint64_t n;

		if (we > w && we[-1] == '%') {
			if (!parse_u64(w, we - 1, &n) || n < 1 || n > 100)
				return -EINVAL;
			f.percent = (unsigned)n;
		} else {
			f.sticky = we > w && we[-1] == '+';
			if (!parse_u64(w, we - f.sticky, &n) || n < 1)
				return -EINVAL;
			f.nth = n;
		}
	}
	if (eq) {
		size_t n = (size_t)(end - eq - 1);

		if (n == 0 || n >= NODE_NET_FAULT_URL_MAX)
			return -EINVAL;
		memcpy(url_buf, eq + 1, n);
		url_buf[n] = 0;
		f.url = url_buf;
	}
	*ret = f;
	return fault_check_args(&f);
}

static int spec_apply(const char *spec)
{
	static char urls[NODE_NET_FAULTS_MAX][NODE_NET_FAULT_URL_MAX]; /* under spec_mu */
	static pthread_mutex_t spec_mu = PTHREAD_MUTEX_INITIALIZER;
	struct node_net_fault parsed[NODE_NET_FAULTS_MAX];
	size_t n = 0;
	uint64_t seed = 0;
	bool have_seed = false;
	int r = 0;

	pthread_mutex_lock(&spec_mu);
	for (const char *s = spec; *s;) {
		const char *end = strchr(s, ',');

		if (!end)
			end = s + strlen(s);
		if (end - s > 5 && memcmp(s, "seed:", 5) == 0) {
			if (!parse_u64(s + 5, end, &seed)) {
				r = -EINVAL;
				break;
			}
			have_seed = true;
		} else if (n == NODE_NET_FAULTS_MAX) {
			r = -EINVAL;
			break;
		} else if ((r = parse_item(s, end, &parsed[n], urls[n])) < 0) {
			break;
		} else {
			n++;
		}
		s = *end ? end + 1 : end;
	}
	if (r == 0) {
		pthread_mutex_lock(&fault_mu);
		for (size_t i = 0; i < n; i++)
			fault_copy(&faults[i], &parsed[i]);
		nfaults = n;
		rng_state = have_seed && seed ? seed : DEFAULT_SEED;
		fault_relink();
		pthread_mutex_unlock(&fault_mu);
	}
	pthread_mutex_unlock(&spec_mu);
	return r;
}

int node_net_fault_spec(const char *spec)
{
	pthread_once(&env_once, env_init);
	return spec ? spec_apply(spec) : -EINVAL;
}

/* --- the handle pool ------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ok;
static struct curl_slist *json_headers, *bin_headers;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static CURL *idle[NODE_NET_HANDLES];
static size_t nidle, nlive;

static void curl_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return;
	/* No "Expect: 100-continue" round trip before a large body. */
	json_headers = curl_slist_append(NULL, "Content-Type: application/json");
	bin_headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (json_headers && curl_slist_append(json_headers, "Expect:") && bin_headers &&
	    curl_slist_append(bin_headers, "Expect:"))
		curl_ok = true;
}

/* A handle, waiting until deadline while all NODE_NET_HANDLES are busy; NULL with
 * *ret_err set on failure. */
static CURL *take_handle(uint64_t deadline, int *ret_err)
{
	CURL *h = NULL;

	pthread_mutex_lock(&pool_mu);
	while (!nidle && nlive == NODE_NET_HANDLES) {
		uint64_t t = now_ms();
		struct timespec ts;

		if (t >= deadline) {
			pthread_mutex_unlock(&pool_mu);
			*ret_err = -ETIMEDOUT;
			return NULL;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)((deadline - t) / 1000);
		ts.tv_nsec += (long)((deadline - t) % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pool_cv, &pool_mu, &ts);
	}
	if (nidle) {
		h = idle[--nidle];
	} else {
		h = curl_easy_init();
		if (h)
			nlive++;
	}
	pthread_mutex_unlock(&pool_mu);
	if (!h)
		*ret_err = -ENOMEM;
	else
		curl_easy_reset(h); /* options off; connections and DNS cache kept */
	return h;
}

static void give_handle(CURL *h)
{
	pthread_mutex_lock(&pool_mu);
	idle[nidle++] = h;
	pthread_cond_signal(&pool_cv);
	pthread_mutex_unlock(&pool_mu);
}

/* The one translation of libcurl's errors into -errno, for every request a node makes of
 * another (node/rpc/client.c goes through this door too). */
static int curl_errno(CURL *h, CURLcode c, bool over)
{
	long os = 0;

	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_WRITE_ERROR:
		return over ? -E2BIG : -EIO;
	case CURLE_FILESIZE_EXCEEDED:
		return -E2BIG;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		/* What the system said, when it said more than "refused". */
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
		return os == EHOSTUNREACH || os == ENETUNREACH || os == ETIMEDOUT ? -(int)os
										  : -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	if (status == 404)
		return -ENOENT;
	if (status == 503)
		return -EAGAIN;
	return -EREMOTEIO;
}

/* --- calls ---------------------------------------------------------------------------- */

/* The reply body as it arrives, bounded by max. */
struct sink {
	uint8_t *p;
	size_t len, cap, max;
	bool over, nomem;
};

static size_t sink_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t add = size * n;

	if (add > s->max - s->len) {
		s->over = true;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		uint8_t *p;

		while (cap < s->len + add + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		p = realloc(s->p, cap);
		if (!p) {
			s->nomem = true;
			return 0;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, add);
	s->len += add;
	s->p[s->len] = 0;
	return add;
}

struct call {
	const struct node_net_request *req;
	unsigned timeout_ms;
	uint64_t deadline;
	size_t max;
};

/* The Content-Type list for a body: the two kept ones, or one made for this call
 * (*ret_own, freed by the caller). */
static struct curl_slist *body_headers(const char *type, struct curl_slist **ret_own)
{
	char line[128];

	*ret_own = NULL;
	if (!type || strcmp(type, "application/json") == 0)
		return json_headers;
	if (strcmp(type, "application/octet-stream") == 0)
		return bin_headers;
	snprintf(line, sizeof(line), "Content-Type: %s", type);
	*ret_own = curl_slist_append(NULL, line);
	if (*ret_own && !curl_slist_append(*ret_own, "Expect:")) {
		curl_slist_free_all(*ret_own);
		*ret_own = NULL;
	}
	return *ret_own;
}

static void set_options(CURL *h, const struct call *c, long left, struct sink *s)
{
	long connect = c->req->connect_ms ? (long)c->req->connect_ms : (long)NODE_NET_CONNECT_MS;

	curl_easy_setopt(h, CURLOPT_URL, c->req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left < connect ? left : connect);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
}

/* The real call; the reply as net.h says (status mapped unless any_status). */
static int perform(const struct call *c, struct node_net_reply *ret)
{
	struct curl_slist *own = NULL, *headers = NULL;
	struct sink s = {.max = c->max};
	uint64_t t = now_ms();
	long left, status = 0;
	char *ctype = NULL;
	bool binary = false;
	CURLcode cc;
	CURL *h;
	int r = 0;

	if (t >= c->deadline)
		return -ETIMEDOUT;
	if (c->req->body && !(headers = body_headers(c->req->content_type, &own)))
		return -ENOMEM;
	h = take_handle(c->deadline, &r);
	if (!h) {
		curl_slist_free_all(own);
		return r;
	}
	left = (long)(c->deadline - now_ms());
	set_options(h, c, left < 1 ? 1 : left, &s);
	if (c->req->body) {
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req->len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(h);
	r = s.nomem ? -ENOMEM : curl_errno(h, cc, s.over);
	if (r == 0) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
		binary = ctype && strncmp(ctype, "application/octet-stream", 24) == 0;
	}
	give_handle(h);
	curl_slist_free_all(own);
	if (r == 0 && !c->req->any_status)
		r = status_errno(status);
	if (r == 0 && !s.p) {
		s.p = calloc(1, 1); /* an empty body is still a string */
		if (!s.p)
			r = -ENOMEM;
	}
	if (r < 0) {
		free(s.p);
		return r;
	}
	*ret =
	    (struct node_net_reply){.body = s.p, .len = s.len, .status = status, .binary = binary};
	return 0;
}

/* An HTTP answer of status with an empty body, as perform() gives under any_status. */
static int status_reply(long status, struct node_net_reply *ret)
{
	uint8_t *p = calloc(1, 1);

	if (!p)
		return -ENOMEM;
	*ret = (struct node_net_reply){.body = p, .status = status};
	return 0;
}

/* The JSON-RPC error answer for body's request (its id, or null). */
static int rpc_error_reply(const char *body, size_t len, struct node_net_reply *ret)
{
	json_t *req = json_loadb(body, len, 0, NULL);
	json_t *id = json_is_object(req) ? json_object_get(req, "id") : NULL;
	json_t *rep =
	    json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
		      "error", "code", -32603, "message", "injected fault");
	char *text = rep ? json_dumps(rep, JSON_COMPACT) : NULL;

	json_decref(rep);
	json_decref(req);
	if (!text)
		return -ENOMEM;
	*ret = (struct node_net_reply){.body = (uint8_t *)text, .len = strlen(text), .status = 200};
	return 0;
}

/* Inverts count bytes (default 1) from a seeded offset on, wrapping: distinct bytes, so
 * the body differs in exactly min(count, len) places. */
static void corrupt(struct node_net_reply *rep, uint64_t count, uint64_t rng)
{
	size_t off;

	if (!rep->len)
		return;
	off = (size_t)(rng_next(&rng) % rep->len);
	for (uint64_t i = 0; i < (count ? count : 1) && i < rep->len; i++)
		rep->body[(off + i) % rep->len] ^= 0xff;
}

/* What an injected fault does before the real call: a result (1: go on with the call). */
static int fault_before(const struct call *c, const struct verdict *v, struct node_net_reply *ret)
{
	long status;
	int r;

	switch (v->kind) {
	case NODE_NET_REFUSE:
		return -ECONNREFUSED;
	case NODE_NET_DROP:
		sleep_ms(c->timeout_ms);
		return -ETIMEDOUT;
	case NODE_NET_DELAY:
		if (v->arg >= c->timeout_ms) {
			sleep_ms(c->timeout_ms);
			return -ETIMEDOUT;
		}
		sleep_ms(v->arg);
		return 1;
	case NODE_NET_ERROR:
		status = v->arg ? (long)v->arg : 500;
		if (c->req->any_status)
			return status_reply(status, ret);
		r = status_errno(status);
		return r < 0 ? r : -EREMOTEIO;
	case NODE_NET_RPCERROR:
		if (!c->req->body)
			return c->req->any_status ? status_reply(500, ret) : -EREMOTEIO;
		return rpc_error_reply((const char *)c->req->body, c->req->len, ret);
	default:
		return 1;
	}
}

int node_net_request(const struct node_net_request *req, struct node_net_reply *ret_reply)
{
	struct node_net_reply rep;
	struct verdict v;
	struct call c;
	int r;

	if (!req || !req->url || !ret_reply ||
	    (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0))
		return -EINVAL;
	c = (struct call){.req = req,
			  .timeout_ms = req->timeout_ms ? req->timeout_ms : NODE_NET_TIMEOUT_MS,
			  .max = req->max ? req->max : NODE_NET_BODY_MAX};
	c.deadline = now_ms() + c.timeout_ms;
	pthread_once(&curl_once, curl_init);
	if (!curl_ok)
		return -ENOMEM;
	v = fault_decide(req->url);
	if (v.fire && (r = fault_before(&c, &v, ret_reply)) <= 0)
		return r;
	r = perform(&c, &rep);
	if (r < 0)
		return r;
	if (v.fire && v.kind == NODE_NET_TRUNCATE) {
		rep.len = v.arg ? (v.arg < rep.len ? (size_t)v.arg : rep.len) : rep.len / 2;
		rep.body[rep.len] = 0;
	} else if (v.fire && v.kind == NODE_NET_CORRUPT) {
		corrupt(&rep, v.arg, v.rng);
	}
	*ret_reply = rep;
	return 0;
}

int node_net_post_json(const char *url, const char *body, size_t len, unsigned timeout_ms,
		       size_t max, struct node_net_reply *ret_reply)
{
	if (!body)
		return -EINVAL;
	return node_net_request(
	    &(struct node_net_request){
		.url = url, .body = body, .len = len, .timeout_ms = timeout_ms, .max = max},
	    ret_reply);
}

int node_net_get(const char *url, unsigned timeout_ms, size_t max, struct node_net_reply *ret_reply)
{
	return node_net_request(
	    &(struct node_net_request){.url = url, .timeout_ms = timeout_ms, .max = max},
	    ret_reply);
}

void node_net_reply_release(struct node_net_reply *r)
{
	if (!r)
		return;
	free(r->body);
	*r = (struct node_net_reply){0};
}
