/*
 * net.h - the node's one door to its peers: every request one zgfs node makes of another
 * goes through these functions, so that tests can make any of them fail, late or wrong,
 * as node/store/io.h does for the disk (docs/PEERS.md, "The network door").
 *
 * Guarantees:
 *  - Two calls: node_net_post_json() (HTTP POST of a JSON-RPC body) and node_net_get()
 *    (HTTP GET of a binary body), to an http:// or https:// URL, each bounded by a
 *    timeout over the whole call (connect included) and a maximum body size.
 *  - Functions return 0 or -errno and never print: -ETIMEDOUT (the timeout passed),
 *    -ECONNREFUSED, -EHOSTUNREACH (name not resolved, no route), -ECONNRESET (the peer
 *    closed or reset the connection, or sent nothing), -E2BIG (the body is larger than
 *    max), -ENOENT (HTTP 404), -EAGAIN (HTTP 503), -EREMOTEIO (any other status outside
 *    2xx), -EPROTO (not HTTP), -EINVAL (bad URL or arguments), -ENOMEM, -EIO (anything
 *    else libcurl reports). The reply is written only on success.
 *  - Fault injection: node_net_fault_add(), node_net_fault_spec() or the environment
 *    variable ZGFS_NET_FAULT (read once, at the first call of any function here) make
 *    calls to one peer (a URL prefix) or to all fail in a chosen way: refused, dropped
 *    (no answer until the timeout), delayed, answered with an HTTP or JSON-RPC error, or
 *    answered with a truncated or corrupted body; every call, only the n-th (from when the
 *    fault was set), the n-th and later, or with a probability drawn from a fixed seed.
 *    An injected refusal, drop or error is decided before anything is sent: the peer sees
 *    no request. Truncation and corruption change the peer's real answer, and the call
 *    then succeeds, as with a peer that answers short or wrong: the caller's checks
 *    (proofs, parsers) are what such a fault exercises.
 *
 * Thread-safety: every function may be called from any thread. libcurl handles are kept
 * in a pool and reused (their connections with them); at most NODE_NET_HANDLES calls are
 * in flight at once, further ones wait for a handle (their wait counts against their
 * timeout). Fault settings are process-wide, meant for tests, and cost one relaxed atomic
 * load per call when none is set.
 */
#ifndef NODE_PEER_NET_H
#define NODE_PEER_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A peer's answer: len bytes of body (followed by one NUL byte not counted, so a JSON
 * body is a C string), the HTTP status, and whether the body is binary (Content-Type
 * application/octet-stream). Owned by the caller. */
struct node_net_reply {
	uint8_t *body;
	size_t len;
	long status;
	bool binary;
};

/* Frees the body and zeroes the reply; NULL and a zeroed reply are fine. */
void node_net_reply_release(struct node_net_reply *r);

/*
 * node_net_post_json() - POST body (len bytes, Content-Type application/json) to url.
 * @timeout_ms: bound on the whole call; 0 means NODE_NET_TIMEOUT_MS
 * @max:        largest reply body accepted; 0 means NODE_NET_BODY_MAX
 */
int node_net_post_json(const char *url, const char *body, size_t len, unsigned timeout_ms,
		       size_t max, struct node_net_reply *ret_reply);

/* node_net_get() - GET url; the rest as node_net_post_json(). */
int node_net_get(const char *url, unsigned timeout_ms, size_t max,
		 struct node_net_reply *ret_reply);

/* One request in full, for callers that need more than the two calls above (the JSON-RPC
 * client, node/rpc/client.c, whose errors travel in the body of any HTTP status). */
struct node_net_request {
	const char *url;
	const void *body; /* POST len bytes of it; NULL: a GET */
	size_t len;
	const char *content_type; /* of the body; NULL: application/json */
	unsigned timeout_ms;	  /* the whole call; 0: NODE_NET_TIMEOUT_MS */
	unsigned connect_ms;	  /* its connect phase; 0: NODE_NET_CONNECT_MS (never past
				     the call's timeout) */
	size_t max;		  /* largest reply body; 0: NODE_NET_BODY_MAX */
	bool any_status;	  /* an HTTP answer of any status is 0 and the reply (its
				     status in it), not an error; an injected error fault is
				     then such an answer, with an empty body */
};

/*
 * node_net_request() - the call req describes, through the same pool, faults and error
 * mapping as node_net_post_json() and node_net_get() (which are this with the defaults).
 * A failed connect is -ECONNREFUSED, or -EHOSTUNREACH / -ENETUNREACH / -ETIMEDOUT when
 * the system said so.
 */
int node_net_request(const struct node_net_request *req, struct node_net_reply *ret_reply);

/* --- fault injection (tests) ---------------------------------------------------------- */

/* Kinds of fault. Names in ZGFS_NET_FAULT are in brackets; ARG is the fault's arg. */
enum node_net_fault_kind {
	NODE_NET_REFUSE,   /* [refuse] -ECONNREFUSED at once */
	NODE_NET_DROP,	   /* [drop] no answer: waits the call's timeout, -ETIMEDOUT */
	NODE_NET_DELAY,	   /* [delay:MS] waits MS ms, then the real call in what time is left
			      (-ETIMEDOUT without sending if MS reaches the timeout) */
	NODE_NET_ERROR,	   /* [error:STATUS] an HTTP STATUS answer (default 500), mapped
			      as a real one: 404 -ENOENT, 503 -EAGAIN, others (2xx too)
			      -EREMOTEIO */
	NODE_NET_RPCERROR, /* [rpcerror] a JSON-RPC error answer, HTTP 200, 0 returned: {"jsonrpc":
			      "2.0","id":<the request's id>,"error":{"code":-32603,...}}; on a
			      GET, as error:500 */
	NODE_NET_TRUNCATE, /* [truncate:BYTES] the real body cut to BYTES (default half) */
	NODE_NET_CORRUPT,  /* [corrupt:COUNT] COUNT consecutive bytes of the real body
			      (default 1, wrapping at its end) from a seeded random offset,
			      inverted (XOR 0xff) */
	NODE_NET_NKINDS
};

struct node_net_fault {
	enum node_net_fault_kind kind;
	uint64_t arg;	  /* as above; 0: the default */
	const char *url;  /* calls whose URL starts with this; NULL or "": all (copied) */
	uint64_t nth;	  /* 0: every call; n >= 1: the n-th matching call from now ... */
	bool sticky;	  /* ... and, with sticky, every one after it */
	unsigned percent; /* 1..100: instead of nth, each matching call with this chance */
};

/*
 * node_net_fault_add() - add a fault after the others (at most NODE_NET_FAULTS_MAX). Each
 * fault counts the calls its URL matches from when it was added; of the faults that fire
 * on a call, the first added applies. Returns 0, -EINVAL or -E2BIG.
 */
int node_net_fault_add(const struct node_net_fault *f);

/* Removes every fault; resets the seeded generator to the default seed. */
void node_net_fault_clear(void);

/*
 * node_net_fault_spec() - replace every fault with those in text, the form ZGFS_NET_FAULT
 * takes: a comma-separated list of KIND[:ARG][@WHEN][=URL], where KIND is a name from
 * enum node_net_fault_kind, WHEN is N (only the N-th call), N+ (the N-th and later) or P%
 * (each call with chance P, 1..100), and URL (the rest of the item) a prefix of the URLs
 * concerned (all calls without it); an item seed:S sets the generator's seed instead.
 * Example: "drop=http://10.0.0.2:5678,corrupt:4@3+,error:503@25%,seed:7".
 * Returns 0, or -EINVAL and changes nothing when the text is malformed.
 */
int node_net_fault_spec(const char *spec);

/* Seeds the generator behind P% faults and corrupt offsets (default 1): one seed, one
 * sequence of decisions for calls made in the same order. */
void node_net_fault_seed(uint64_t seed);

/* How many calls a fault of kind has hit since the process started. */
uint64_t node_net_fault_hits(enum node_net_fault_kind kind);

#endif
