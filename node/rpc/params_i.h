/*
 * params_i.h - what every table of RPC methods shares (node/rpc/methods*.c): error
 * answers and typed parameter getters. Internal to node/rpc.
 *
 * Error helpers fill err and return the JSON-RPC code (negative); getters return 0 with
 * the value, 1 when the parameter is absent and optional, NODE_RPC_EINVALID_PARAMS
 * (naming it) when it is missing or malformed. Parameters are positional (params an
 * array) or by name (an object). Pure but for allocation; any thread.
 */
#ifndef NODE_RPC_PARAMS_I_H
#define NODE_RPC_PARAMS_I_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "codec/merkle.h"
#include "node/rpc/rpc.h"

__attribute__((format(printf, 3, 4))) int rpc_bad_param(struct node_rpc_error *err,
							const char *name, const char *fmt, ...);

/* node_strerror() for any code the node layer returns, KV codes included. */
const char *rpc_strerror(int r);

int rpc_node_fail(struct node_rpc_error *err, int r, const char *what);

int rpc_no_memory(struct node_rpc_error *err);

int rpc_not_here(struct node_rpc_error *err, const char *what);

/* Sets *ret to result, or fails with -32603 when building it ran out of memory. */
int rpc_done(json_t *result, json_t **ret, struct node_rpc_error *err);

/* Parameter i (positional) or `name` (by name); NULL when absent or JSON null. */
json_t *rpc_arg(json_t *params, size_t i, const char *name);

int rpc_at_most(json_t *params, size_t n, struct node_rpc_error *err);

/*
 * Typed getters: 0 with the value, 1 when the parameter is absent and optional,
 * NODE_RPC_EINVALID_PARAMS (naming it) when it is missing or malformed.
 */
int rpc_missing(bool optional, const char *name, struct node_rpc_error *err);

int rpc_u64(json_t *ps, size_t i, const char *name, bool optional, uint64_t *out,
	    struct node_rpc_error *err);

int rpc_bool(json_t *ps, size_t i, const char *name, bool optional, bool *out,
	     struct node_rpc_error *err);

int rpc_hexn(json_t *ps, size_t i, const char *name, bool optional, uint8_t *out, size_t len,
	     struct node_rpc_error *err);

int rpc_hash(json_t *ps, size_t i, const char *name, bool optional, uint8_t out[CODEC_HASH_SIZE],
	     struct node_rpc_error *err);

int rpc_addr(json_t *ps, size_t i, const char *name, uint8_t out[CHAIN_ADDRESS_SIZE],
	     struct node_rpc_error *err);

/* Base64 bytes into a malloc'd buffer (*out; free it). The body limit bounds the size. */
int rpc_bytes(json_t *ps, size_t i, const char *name, bool optional, uint8_t **out, size_t *out_len,
	      struct node_rpc_error *err);

/* One method of a table: the node, its params (NULL, an array or an object), the result. */
typedef int node_rpc_method_fn(struct node *n, json_t *params, json_t **ret_result,
			       struct node_rpc_error *err);

struct node_rpc_method {
	const char *name;
	node_rpc_method_fn *fn;
};

/* The DA methods (methods_da.c), ended by {NULL, NULL} as every table is. */
extern const struct node_rpc_method node_rpc_da_methods[];

#endif
