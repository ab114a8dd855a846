/*
 * rpc.h - the node's JSON-RPC 2.0 over HTTP: the server that serves a struct node, the
 * method table behind it, and the small client that node_open_remote() is built on.
 *
 * Wire format: 0G's storage node RPC (../shared/PROTOCOL.md, "Storage node JSON-RPC"):
 * POST / with a JSON-RPC 2.0 request object or a batch array, answered with HTTP 200 and
 * a JSON-RPC response (errors included, as jsonrpsee does), except a body over
 * NODE_RPC_BODY_MAX (HTTP 413, with a JSON-RPC error body) and a method other than POST
 * (HTTP 405). Hashes are "0x" + 64 hex digits, bytes are standard base64 with padding,
 * "not found" is `null`. Binary endpoints under /zgfs/v1/ carry segments between zgfs
 * processes without base64 (below). docs/RPC.md lists every method with its parameters
 * and result.
 *
 * Guarantees:
 *  - Every peer-controlled size has a limit below; exceeding it is an error answer, never
 *    a crash or an unbounded allocation.
 *  - A request that fails to parse or validate changes nothing: uploads are decoded and
 *    checked against their proof (all segments of a batch) before the first one is stored.
 *  - The server binds 127.0.0.1 unless told another host, and serves each connection on its
 *    own thread (at most NODE_RPC_CONNECTIONS_MAX); the node it serves must be thread-safe
 *    (every struct node is).
 *  - Library code prints nothing; errors come back as codes and, for the client, a message
 *    that names the URL.
 *  - Thread-safe: parsing, dispatch and the segment codecs keep no state; a server and a
 *    client may be used from any number of threads.
 *
 * Error codes of the JSON-RPC layer are the spec's negative numbers (NODE_RPC_E* below).
 * Functions here that parse or dispatch return 0 or one of those; functions that do I/O
 * or allocate return 0 or -errno (or a node code).
 */
#ifndef NODE_RPC_H
#define NODE_RPC_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/merkle.h"
#include "codec/proof.h"
#include "node/node.h"

/* ---- Limits on what a peer controls (the RPC section of the node layer's limits) ---- */

/* Largest request body: 16 segments of 256 KiB in base64 (5.6 MiB) with their proofs. */
#define NODE_RPC_BODY_MAX (6u << 20)
/* Largest response body the client accepts (a KV query of NODE_RPC_KV_QUERY_MAX in
 * base64, a list page, a segment with its proof all fit well inside). */
#define NODE_RPC_RESPONSE_MAX (8u << 20)
/* Concurrent connections the server accepts (one thread each); more are closed at once.
 * Clients keep connections alive between requests (the 0G SDK opens one per parallel
 * upload task and keeps them), so this is well above what one client uses at a time. */
#define NODE_RPC_CONNECTIONS_MAX 256
/* The text of one scrape of /metrics, at most. */
#define NODE_RPC_METRICS_MAX (1u << 20)
/* Seconds a server connection may stay idle (between requests, or mid-request): short, so
 * that idle keep-alive connections give their slot back soon. */
#define NODE_RPC_IDLE_TIMEOUT_S 15
/* Memory libmicrohttpd keeps per connection for reading (headers and each piece of a
 * body): at its default (32 KiB) a 4 MiB upload arrives in some 500 pieces, a read and a
 * poll each. */
#define NODE_RPC_CONNECTION_BUFFER (256u << 10)
/* Requests in one batch array. */
#define NODE_RPC_BATCH_MAX 64
/* Segments in one zgs_uploadSegments / zgs_uploadSegmentsByTxSeq call. */
#define NODE_RPC_SEGMENTS_MAX 16
/* Bytes of value one kv_get* call returns (0G KV's max_query_len_in_bytes). */
#define NODE_RPC_KV_QUERY_MAX (1u << 20)
/* Versions one zgfs_kvHistory call returns; keys (with values) one zgfs_kvList call does. */
#define NODE_RPC_HISTORY_MAX 4096
#define NODE_RPC_LIST_MAX    1024
/* Length of a method name. */
#define NODE_RPC_METHOD_MAX 64
/* Client: seconds to connect, and for a whole call (a 16-segment upload that syncs). */
#define NODE_RPC_CLIENT_CONNECT_TIMEOUT_S 10
#define NODE_RPC_CLIENT_TIMEOUT_S	  300

/* ---- Errors ---- */

/* JSON-RPC 2.0 error codes (negative, as the spec numbers them). */
enum node_rpc_code {
	NODE_RPC_EPARSE = -32700,	    /* not JSON */
	NODE_RPC_EINVALID_REQUEST = -32600, /* JSON, but not a request object */
	NODE_RPC_ENO_METHOD = -32601,	    /* no such method (or not supported here) */
	NODE_RPC_EINVALID_PARAMS = -32602,  /* a parameter is missing, mistyped or out of range */
	NODE_RPC_EINTERNAL = -32603,	    /* the server failed (out of memory) */
	NODE_RPC_ENODE = -32000,	    /* the node returned an error: data holds its code */
};

/*
 * An error answer. For NODE_RPC_ENODE, node_err is the node's return code (negative, as
 * node_strerror() takes it), sent as the error's "data"; otherwise data is a detail text
 * (0G sends invalid params as message "Invalid params: NAME", data "why").
 */
struct node_rpc_error {
	int code;
	int node_err;
	char message[160];
	char data[256];
};

/* ---- Server ---- */

struct node_rpc;

/*
 * node_rpc_start() - serve node n over HTTP on host:port until node_rpc_stop().
 * @host: address to bind ("127.0.0.1", "::1", "0.0.0.0", a name); NULL: 127.0.0.1
 * @port: 0 picks a free port (node_rpc_port() tells which)
 * n must outlive the server. Returns 0, -EADDRINUSE, -EACCES, -EADDRNOTAVAIL, -EINVAL (bad
 * host), -ENOMEM, -EIO (the HTTP daemon failed to start).
 */
int node_rpc_start(struct node *n, const char *host, unsigned port, struct node_rpc **ret_rpc);

/* The port the server listens on. */
unsigned node_rpc_port(const struct node_rpc *rpc);

/* Stops accepting, waits for requests in progress to finish, frees. NULL-safe. */
void node_rpc_stop(struct node_rpc *rpc);

/*
 * GET /metrics answers Prometheus' text format (docs/METRICS.md): the node's counters
 * (node_status) and the server's own, then whatever fn appends (the mount adds its FUSE
 * figures). node_rpc_set_metrics() installs fn before any scrape may call it; fn runs
 * on the server's threads and returns 0 or the buffer's error.
 */
struct sys_buf;
typedef int node_rpc_metrics_fn(void *ctx, struct sys_buf *out);
void node_rpc_set_metrics(struct node_rpc *rpc, node_rpc_metrics_fn *fn, void *ctx);

/* ---- Requests: parsing and dispatch (pure but for the node calls; fuzzed) ---- */

/*
 * node_rpc_parse() - parse a request body into a JSON document that is a request object
 * or a non-empty batch array of at most NODE_RPC_BATCH_MAX elements.
 * Returns 0 (ret_doc: a new reference), NODE_RPC_EPARSE (not JSON, or over
 * NODE_RPC_BODY_MAX), NODE_RPC_EINVALID_REQUEST (JSON of another shape); err, when not
 * NULL, says what was wrong.
 */
int node_rpc_parse(const char *body, size_t len, json_t **ret_doc, struct node_rpc_error *err);

/*
 * node_rpc_request_check() - check one request object: "jsonrpc": "2.0", "method" a string
 * of 1 to NODE_RPC_METHOD_MAX bytes, "params" absent, null, an array or an object, "id"
 * absent (a notification), null, a number or a string. The ret_ pointers borrow from req;
 * ret_params is NULL for absent or null params, ret_id NULL for a notification.
 * Returns 0 or NODE_RPC_EINVALID_REQUEST.
 */
int node_rpc_request_check(json_t *req, const char **ret_method, json_t **ret_params,
			   json_t **ret_id, struct node_rpc_error *err);

/*
 * node_rpc_dispatch() - run one method on node n. params is NULL, an array (positional) or
 * an object (by name, the names docs/RPC.md gives). Returns 0 with ret_result a new
 * reference (json null for "not found"), or a NODE_RPC_E* code with err filled.
 */
int node_rpc_dispatch(struct node *n, const char *method, json_t *params, json_t **ret_result,
		      struct node_rpc_error *err);

/*
 * node_rpc_handle() - a whole HTTP body in, the JSON-RPC answer out: parse, check and
 * dispatch each request, collect the responses (a batch answers with an array in request
 * order; notifications get none). *ret_response is NULL when nothing is to be answered.
 * Returns 0, or -ENOMEM.
 */
int node_rpc_handle(struct node *n, const char *body, size_t len, json_t **ret_response);

/* The error object {"code", "message", "data"} of err, or NULL on -ENOMEM. */
json_t *node_rpc_error_json(const struct node_rpc_error *err);

/* ---- Segments with proofs (0G's SegmentWithProof) ---- */

/* A decoded SegmentWithProof. About 260 KiB: allocate it, do not put it on a stack. */
struct node_rpc_segment {
	uint8_t root[CODEC_HASH_SIZE];
	uint64_t index;
	uint64_t file_size;
	size_t len;
	uint8_t data[CODEC_SEGMENT_SIZE];
	struct codec_proof proof;
};

/*
 * node_rpc_segment_from_json() - decode {root, data (base64), index, proof{lemma, path},
 * fileSize} into *seg: shapes only (hex, base64, integer ranges, data at most one segment).
 * Returns 0, or NODE_RPC_EINVALID_PARAMS with err naming the field; decoding is in place,
 * so *seg is garbage after a failure (a segment is too large to stage twice).
 */
int node_rpc_segment_from_json(const json_t *obj, struct node_rpc_segment *seg,
			       struct node_rpc_error *err);

/*
 * node_rpc_segment_check() - 0G's SegmentWithProof::validate: index below the number of
 * segments holding data, data exactly one segment (the last: the file's remaining bytes
 * padded to a whole chunk; the unpadded remainder is also accepted), and the proof shows
 * the segment's root (the data zero-extended to its chunks in the padded file) at index
 * among codec_num_segments(fileSize) leaves under seg->root. Returns 0 or
 * NODE_RPC_EINVALID_PARAMS with err saying which check failed.
 */
__attribute__((warn_unused_result)) int node_rpc_segment_check(const struct node_rpc_segment *seg,
							       struct node_rpc_error *err);

/* The SegmentWithProof JSON object (new reference), or NULL on -ENOMEM. */
json_t *node_rpc_segment_to_json(const uint8_t root[CODEC_HASH_SIZE], const uint8_t *data,
				 size_t len, uint64_t index, uint64_t file_size,
				 const struct codec_proof *proof);

/*
 * node_rpc_put_segments() - what zgs_uploadSegment(s)(ByTxSeq) do with decoded segments:
 * each is checked against its entry (the one with tx seq *tx_seq, or with the segment's
 * root when tx_seq is NULL): root, size, not yet finalized, node_rpc_segment_check(); only
 * when all pass are they stored, in order, with node_local_put_segments(): the segments
 * of one entry as one batch with one sync, hashed once (by the store, which checks every
 * segment of the batch before storing any; a call with segments of several entries is
 * checked here first). Returns 0,
 * NODE_RPC_EINVALID_PARAMS (0G's wording: "already uploaded and finalized", ...),
 * NODE_RPC_ENO_METHOD (n is not a local node), NODE_RPC_ENODE (storing failed).
 */
int node_rpc_put_segments(struct node *n, const struct node_rpc_segment *segs, size_t count,
			  const uint64_t *tx_seq, struct node_rpc_error *err);

/*
 * node_rpc_put_segments_forward() - what a zgfs upload (/zgfs/v1/upload/TXSEQ) does on a
 * node of a cluster: the segments of this node's shard are stored as node_rpc_put_segments()
 * stores them, the others are checked the same way and handed to the peers that keep them
 * (node_peers_forward), so that one node takes a whole entry. On a node keeping the whole
 * flow it is node_rpc_put_segments(). Returns as node_rpc_put_segments(); NODE_RPC_ENODE
 * with -EHOSTUNREACH when no peer of a segment's shard took it.
 */
int node_rpc_put_segments_forward(struct node *n, const struct node_rpc_segment *segs,
				  size_t count, uint64_t tx_seq, struct node_rpc_error *err);

/*
 * node_rpc_get_segment() - what zgs_downloadSegmentWithProof(ByTxSeq) answer: segment index
 * of the entry with root (or, root NULL, tx seq tx_seq) with its proof, into *seg (used as
 * scratch: garbage unless this returns 0). Returns 0, 1 for 0G's null (no such entry, or
 * not finalized here), NODE_RPC_EINVALID_PARAMS (index past the data), NODE_RPC_ENODE.
 */
int node_rpc_get_segment(struct node *n, const uint8_t *root, uint64_t tx_seq, uint64_t index,
			 struct node_rpc_segment *seg, struct node_rpc_error *err);

/*
 * Binary segments: bulk transfer between zgfs nodes without base64 and JSON (which cost
 * more than hashing and storing). Endpoints of the same server (not JSON-RPC methods):
 *
 *   POST /zgfs/v1/upload/TXSEQ          body: a segment list; answer: a JSON-RPC answer
 *                                       (result null, or the error zgs_uploadSegmentsByTxSeq
 *                                       would give)
 *   POST /zgfs/v1/segment/TXSEQ/INDEX   answer: a one-segment list (application/
 *                                       octet-stream), or a JSON-RPC answer (null, error)
 *
 * A segment list is NODE_RPC_BINARY_MAGIC (8 bytes), u32 count (1..NODE_RPC_SEGMENTS_MAX),
 * then count records, big-endian: u64 index, u64 fileSize, root[32], u32 len (at most one
 * segment), data[len], u8 depth (at most CODEC_PROOF_MAX_DEPTH), lemma[32] ×
 * codec_proof_lemma_len(depth), path[depth] (bytes 0 or 1). Nothing may follow.
 */
#define NODE_RPC_BINARY_MAGIC	    "ZGFSSEG1"
#define NODE_RPC_BINARY_HEADER_SIZE 12

/* Writes the list header to out (when not NULL); returns its size. */
size_t node_rpc_binary_header(uint32_t count, uint8_t *out);
/* Writes one record to out (when not NULL); returns its size. */
size_t node_rpc_segment_encode(const uint8_t root[CODEC_HASH_SIZE], const uint8_t *data, size_t len,
			       uint64_t index, uint64_t file_size, const struct codec_proof *proof,
			       uint8_t *out);
/*
 * node_rpc_segments_decode() - decode a segment list into segs (room for max) with every
 * length checked before it is used; shapes only, like node_rpc_segment_from_json(). Returns
 * 0 with *ret_count, or NODE_RPC_EINVALID_PARAMS (segs then garbage).
 */
int node_rpc_segments_decode(const uint8_t *body, size_t len, struct node_rpc_segment *segs,
			     size_t max, size_t *ret_count, struct node_rpc_error *err);

/* ---- Small JSON helpers shared by the server and the client ---- */

/* Standard base64 (with padding) of len bytes as a JSON string; NULL on -ENOMEM. */
json_t *node_rpc_base64(const uint8_t *data, size_t len);
/*
 * Decodes a JSON string of standard base64 (padding required, no whitespace) into at most
 * max bytes. Returns 0, -CODEC_EFORMAT (not a string, not base64), -E2BIG (over max).
 */
int node_rpc_unbase64(const json_t *s, uint8_t *buf, size_t max, size_t *ret_len);
/* A "0x…" hex JSON string of len bytes; NULL on -ENOMEM. */
json_t *node_rpc_hex(const uint8_t *data, size_t len);
/* A u64 as a JSON integer (as a decimal string above INT64_MAX). */
json_t *node_rpc_u64(uint64_t v);
/* Reads a non-negative JSON integer or a decimal string (0G's SDK sends tx seqs both
 * ways). Returns 0 or -CODEC_EFORMAT. */
int node_rpc_get_u64(const json_t *v, uint64_t *ret);

/* ---- Client ---- */

struct node_rpc_client;

/*
 * node_rpc_client_new() - a client for the node at url ("http://host:port", a path is
 * allowed). Makes no connection yet. Returns 0, -EINVAL (not an http(s) URL), -ENOMEM.
 */
int node_rpc_client_new(const char *url, struct node_rpc_client **ret_client);
void node_rpc_client_free(struct node_rpc_client *c); /* NULL-safe */
const char *node_rpc_client_url(const struct node_rpc_client *c);
/* Bounds for every later call of c, in ms: to connect, and for a whole call (0: the
 * NODE_RPC_CLIENT_* defaults). Set before the client is shared between threads. */
void node_rpc_client_set_timeout(struct node_rpc_client *c, unsigned connect_ms, unsigned call_ms);

/*
 * node_rpc_call() - call method with params (an array, stolen: the call releases it even
 * on error; NULL for none). Thread-safe: concurrent calls use separate keep-alive
 * connections from the network door's pool (node/peer/net.h: up to NODE_NET_HANDLES in
 * the process, then they wait, the wait counting against the call's timeout); the door's
 * faults (ZGFS_NET_FAULT) apply to every call.
 * Returns 0 with ret_result (new reference; json null for a null result; ret_result may be
 * NULL when the result is not wanted), or:
 *  - transport, as the door maps it: -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH,
 *    -ETIMEDOUT, -ECONNRESET (closed, reset, nothing or part sent), -E2BIG (response over
 *    NODE_RPC_RESPONSE_MAX), -EPROTO (not a JSON-RPC response), -EIO;
 *  - an error answer: the node's own code for NODE_RPC_ENODE, -ENOSYS for an unknown
 *    method, -EINVAL for invalid params, -EPROTO for a request the server could not parse,
 *    -EREMOTEIO otherwise.
 * err (may be NULL) then holds the JSON-RPC code (0 for transport errors) and a message
 * naming the URL and method.
 */
int node_rpc_call(struct node_rpc_client *c, const char *method, json_t *params,
		  json_t **ret_result, struct node_rpc_error *err);

/*
 * node_rpc_post() - POST body (len bytes, application/octet-stream) to the client's URL
 * plus path ("/zgfs/v1/..."). An application/octet-stream answer comes back in *ret_body
 * (malloc'd) and *ret_len; a JSON-RPC answer with a result gives *ret_body NULL, *ret_len
 * 0; a JSON-RPC error answer the codes node_rpc_call() returns; HTTP 404 -ENOSYS (a node
 * without the endpoint). Thread-safe like node_rpc_call().
 */
int node_rpc_post(struct node_rpc_client *c, const char *path, const void *body, size_t len,
		  uint8_t **ret_body, size_t *ret_len, struct node_rpc_error *err);

/*
 * node_rpc_fetch_segment() - segment `index` of entry seq from the node behind c, checked
 * against what the caller knows of the entry: the answer must be for root and length at
 * that index, and its proof must lead from the segment's bytes to root. The binary
 * endpoint is tried first unless *json_only (a flag the caller keeps per node; NULL: try
 * it every time), which is set when the node has none (0G's nodes). Returns 0 (*ret
 * malloc'd), -EAGAIN (the node answered that it has no such segment), -EIO (a wrong
 * answer: never use its bytes), or an error of the call. Thread-safe.
 */
int node_rpc_fetch_segment(struct node_rpc_client *c, atomic_bool *json_only, uint64_t seq,
			   uint64_t index, const uint8_t root[CODEC_HASH_SIZE], uint64_t length,
			   struct node_rpc_segment **ret);

/*
 * node_rpc_fetch_parity() - the parity symbol of stripe `stripe` of entry seq that the
 * node behind c keeps (zgfs_getParityByTxSeq): CODEC_SEGMENT_SIZE bytes into buf and its
 * position in the stripe. Parity cannot be checked by itself: callers check what they
 * rebuild from it. Returns 0, -EAGAIN (it has none stored), -EIO (an answer of the wrong
 * shape), or an error of the call. Thread-safe.
 */
int node_rpc_fetch_parity(struct node_rpc_client *c, uint64_t seq, uint64_t stripe, uint8_t *buf,
			  unsigned *ret_pos);

/*
 * node_rpc_fetch_proof() - the proof of data segment index of entry seq, as the node behind
 * c has it (zgfs_getSegmentProofByTxSeq), checked to show some leaf at index among nseg
 * segments under root; the leaf it shows is ret_proof->lemma[0]. Returns 0, -EAGAIN (it
 * has none), -EIO (wrong or malformed), or an error of the call. Thread-safe.
 */
int node_rpc_fetch_proof(struct node_rpc_client *c, uint64_t seq, uint64_t index,
			 const uint8_t root[CODEC_HASH_SIZE], uint64_t nseg,
			 struct codec_proof *ret_proof);

#endif
