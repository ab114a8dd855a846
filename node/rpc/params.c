/*
 * params.c - error answers and parameter getters of the RPC method tables (params_i.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/hex.h"
#include "node/kv/kv.h"
#include "node/rpc/params_i.h"

/* ---- errors ------------------------------------------------------------------------ */

int rpc_bad_param(struct node_rpc_error *err, const char *name, const char *fmt, ...)
{
	va_list ap;

	err->code = NODE_RPC_EINVALID_PARAMS;
	err->node_err = 0;
	snprintf(err->message, sizeof(err->message), "Invalid params: %s", name);
	va_start(ap, fmt);
	vsnprintf(err->data, sizeof(err->data), fmt, ap);
	va_end(ap);
	return NODE_RPC_EINVALID_PARAMS;
}

/* node_strerror() for any code the node layer returns, KV codes included. */
const char *rpc_strerror(int r)
{
	int e = r < 0 ? -r : r;

	if (e > NODE_KV_EFIRST && e < NODE_KV_ELAST)
		return node_kv_strerror(r);
	return node_strerror(r);
}

int rpc_node_fail(struct node_rpc_error *err, int r, const char *what)
{
	err->code = NODE_RPC_ENODE;
	err->node_err = r;
	snprintf(err->message, sizeof(err->message), "%s: %s", what, rpc_strerror(r));
	/* What the chain said about it, when it was the chain that failed: a revert reason,
	 * an endpoint that does not answer. */
	snprintf(err->data, sizeof(err->data), "%s", chain_last_detail());
	return NODE_RPC_ENODE;
}

int rpc_no_memory(struct node_rpc_error *err)
{
	err->code = NODE_RPC_EINTERNAL;
	err->node_err = 0;
	snprintf(err->message, sizeof(err->message), "Internal error");
	snprintf(err->data, sizeof(err->data), "out of memory");
	return NODE_RPC_EINTERNAL;
}

int rpc_not_here(struct node_rpc_error *err, const char *what)
{
	err->code = NODE_RPC_ENO_METHOD;
	err->node_err = 0;
	snprintf(err->message, sizeof(err->message), "Not supported");
	snprintf(err->data, sizeof(err->data), "%s", what);
	return NODE_RPC_ENO_METHOD;
}

/* Sets *ret to result, or fails with -32603 when building it ran out of memory. */
int rpc_done(json_t *result, json_t **ret, struct node_rpc_error *err)
{
	if (!result)
		return rpc_no_memory(err);
	*ret = result;
	return 0;
}

/* ---- parameters --------------------------------------------------------------------- */

/* Parameter i (positional) or `name` (by name); NULL when absent or JSON null. */
json_t *rpc_arg(json_t *params, size_t i, const char *name)
{
	json_t *v = NULL;

	if (json_is_array(params))
		v = json_array_get(params, i);
	else if (json_is_object(params))
		v = json_object_get(params, name);
	return json_is_null(v) ? NULL : v;
}

int rpc_at_most(json_t *params, size_t n, struct node_rpc_error *err)
{
	if (json_is_array(params) && json_array_size(params) > n)
		return rpc_bad_param(err, "params", "expected at most %zu parameters, got %zu", n,
				     json_array_size(params));
	return 0;
}

/*
 * Typed getters: 0 with the value, 1 when the parameter is absent and optional,
 * NODE_RPC_EINVALID_PARAMS (naming it) when it is missing or malformed.
 */
int rpc_missing(bool optional, const char *name, struct node_rpc_error *err)
{
	return optional ? 1 : rpc_bad_param(err, name, "missing");
}

int rpc_u64(json_t *ps, size_t i, const char *name, bool optional, uint64_t *out,
	    struct node_rpc_error *err)
{
	json_t *v = rpc_arg(ps, i, name);

	if (!v)
		return rpc_missing(optional, name, err);
	if (node_rpc_get_u64(v, out) < 0)
		return rpc_bad_param(err, name, "expected a non-negative integer");
	return 0;
}

int rpc_bool(json_t *ps, size_t i, const char *name, bool optional, bool *out,
	     struct node_rpc_error *err)
{
	json_t *v = rpc_arg(ps, i, name);

	if (!v)
		return rpc_missing(optional, name, err);
	if (!json_is_boolean(v))
		return rpc_bad_param(err, name, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

int rpc_hexn(json_t *ps, size_t i, const char *name, bool optional, uint8_t *out, size_t len,
	     struct node_rpc_error *err)
{
	json_t *v = rpc_arg(ps, i, name);
	const char *s = json_string_value(v);

	if (!v)
		return rpc_missing(optional, name, err);
	if (!s || codec_hex_decode(s, out, len) < 0)
		return rpc_bad_param(err, name, "expected 0x and %zu hex digits", 2 * len);
	return 0;
}

int rpc_hash(json_t *ps, size_t i, const char *name, bool optional, uint8_t out[CODEC_HASH_SIZE],
	     struct node_rpc_error *err)
{
	return rpc_hexn(ps, i, name, optional, out, CODEC_HASH_SIZE, err);
}

int rpc_addr(json_t *ps, size_t i, const char *name, uint8_t out[CHAIN_ADDRESS_SIZE],
	     struct node_rpc_error *err)
{
	return rpc_hexn(ps, i, name, false, out, CHAIN_ADDRESS_SIZE, err);
}

/* Base64 bytes into a malloc'd buffer (*out; free it). The body limit bounds the size. */
int rpc_bytes(json_t *ps, size_t i, const char *name, bool optional, uint8_t **out, size_t *out_len,
	      struct node_rpc_error *err)
{
	json_t *v = rpc_arg(ps, i, name);
	size_t max, len;
	uint8_t *buf;

	if (!v)
		return rpc_missing(optional, name, err);
	if (!json_is_string(v))
		return rpc_bad_param(err, name, "expected base64");
	max = json_string_length(v) / 4 * 3;
	buf = malloc(max ? max : 1);
	if (!buf)
		return rpc_no_memory(err);
	if (node_rpc_unbase64(v, buf, max, &len) < 0) {
		free(buf);
		return rpc_bad_param(err, name, "expected base64");
	}
	*out = buf;
	*out_len = len;
	return 0;
}
