/*
 * abitool - test helper: the Flow contract's ABI (chain/abi.c) as a filter, so the ethers
 * compatibility test (evm_abi.js) can compare it with ethers and the SDK's ABI.
 *
 * Reads one JSON request per line on stdin and writes one JSON answer per line:
 *   {"op": "submit", "submitter": ADDR, "sub": SUB}      -> {"hex": CALLDATA}
 *   {"op": "batch", "submitter": ADDR, "subs": [SUB...]} -> {"hex": CALLDATA}
 *   {"op": "event", "topics": [HEX...], "data": HEX}     -> {"sender", "identity", "index",
 *        "start", "sectors", "sub": SUB} or {"error": -errno}
 *   {"op": "revert", "data": HEX}                        -> {"reason": TEXT}
 * where SUB is {"length": DECIMAL, "tags": HEX, "nodes": [[ROOT, HEIGHT]...]}, numbers
 * that are u64 travel as decimal strings, and every byte string is 0x-hex (lowercase).
 * Exit 0 at the end of the input; 1 on a request it cannot read; 2 for usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chain/abi_i.h"
#include "codec/hex.h"
#include "codec/limits.h"

#define CALLDATA_MAX (64u << 20)

/* A 0x-hex string as bytes (malloc'd); NULL when it is not one. */
static uint8_t *hex_bytes(json_t *v, size_t *ret_len)
{
	const char *t = json_string_value(v);
	size_t n;
	uint8_t *p;

	if (!t || strncmp(t, "0x", 2) != 0 || strlen(t) % 2)
		return NULL;
	n = (strlen(t) - 2) / 2;
	p = malloc(n + 1);
	if (p && codec_hex_decode(t, p, n) != 0) {
		free(p);
		return NULL;
	}
	*ret_len = n;
	return p;
}

static int hex_fixed(json_t *v, uint8_t *out, size_t n)
{
	size_t len;
	uint8_t *p = hex_bytes(v, &len);
	int ok = p && len == n;

	if (ok)
		memcpy(out, p, n);
	free(p);
	return ok ? 0 : -1;
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

static json_t *json_dec(uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, v);
	return json_string(t);
}

static int read_sub(json_t *o, struct chain_submission *s)
{
	json_t *nodes = json_object_get(o, "nodes");
	const char *len = json_string_value(json_object_get(o, "length"));
	uint8_t *tags;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!len || !json_is_array(nodes) || json_array_size(nodes) > CODEC_MAX_NODES)
		return -1;
	s->length = strtoull(len, NULL, 10);
	tags = hex_bytes(json_object_get(o, "tags"), &n);
	if (!tags || n > CHAIN_TAGS_MAX) {
		free(tags);
		return -1;
	}
	memcpy(s->tags, tags, n);
	s->tags_len = n;
	free(tags);
	s->nnodes = json_array_size(nodes);
	for (size_t i = 0; i < s->nnodes; i++) {
		json_t *nd = json_array_get(nodes, i);

		if (hex_fixed(json_array_get(nd, 0), s->nodes[i].root, 32) < 0 ||
		    !json_is_integer(json_array_get(nd, 1)))
			return -1;
		s->nodes[i].height = (unsigned)json_integer_value(json_array_get(nd, 1));
	}
	return 0;
}

static json_t *write_sub(const struct chain_submission *s)
{
	json_t *nodes = json_array();

	for (size_t i = 0; i < s->nnodes; i++)
		json_array_append_new(nodes, json_pack("[o, i]", json_hex(s->nodes[i].root, 32),
						       (int)s->nodes[i].height));
	return json_pack("{s:o, s:o, s:o}", "length", json_dec(s->length), "tags",
			 json_hex(s->tags, s->tags_len), "nodes", nodes);
}

static json_t *op_encode(json_t *req, int batch)
{
	struct chain_submission **subs = NULL;
	uint8_t submitter[CHAIN_ADDRESS_SIZE];
	json_t *list = batch ? json_object_get(req, "subs") : NULL, *ans = NULL;
	size_t n = batch ? json_array_size(list) : 1;
	struct chain_wbuf w;

	chain_wbuf_init(&w, CALLDATA_MAX);
	if (hex_fixed(json_object_get(req, "submitter"), submitter, CHAIN_ADDRESS_SIZE) < 0 ||
	    (batch && !json_is_array(list)))
		return NULL;
	subs = calloc(n ? n : 1, sizeof(*subs));
	for (size_t i = 0; subs && i < n; i++) {
		subs[i] = malloc(sizeof(**subs));
		if (!subs[i] ||
		    read_sub(batch ? json_array_get(list, i) : json_object_get(req, "sub"),
			     subs[i]) < 0)
			goto out;
	}
	if (!subs)
		goto out;
	if (batch)
		chain_abi_encode_batch_submit((const struct chain_submission *const *)subs, n,
					      submitter, &w);
	else
		chain_abi_encode_submit(subs[0], submitter, &w);
	ans = w.err ? json_pack("{s:i}", "error", w.err)
		    : json_pack("{s:o}", "hex", json_hex(w.data, w.len));
out:
	for (size_t i = 0; subs && i < n; i++)
		free(subs[i]);
	free(subs);
	chain_wbuf_release(&w);
	return ans;
}

static json_t *op_event(json_t *req)
{
	static struct chain_abi_submit_event ev;
	json_t *topics = json_object_get(req, "topics"), *ans = NULL;
	uint8_t t[4][32];
	size_t nt = json_array_size(topics), len = 0;
	uint8_t *data = hex_bytes(json_object_get(req, "data"), &len);
	int r;

	if (!data || !json_is_array(topics) || nt > 4)
		goto out;
	for (size_t i = 0; i < nt; i++)
		if (hex_fixed(json_array_get(topics, i), t[i], 32) < 0)
			goto out;
	r = chain_abi_decode_submit_event((const uint8_t(*)[32])t, nt, data, len, &ev);
	if (r < 0)
		ans = json_pack("{s:i}", "error", r);
	else
		ans = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "sender",
				json_hex(ev.sender, CHAIN_ADDRESS_SIZE), "identity",
				json_hex(ev.identity, 32), "index", json_dec(ev.index), "start",
				json_dec(ev.start), "sectors", json_dec(ev.sectors), "sub",
				write_sub(&ev.sub));
out:
	free(data);
	return ans;
}

static json_t *op_revert(json_t *req)
{
	char reason[512];
	size_t len = 0;
	uint8_t *data = hex_bytes(json_object_get(req, "data"), &len);
	json_t *ans = NULL;

	if (data && chain_abi_revert_reason(data, len, reason, sizeof(reason)) == 0)
		ans = json_pack("{s:s}", "reason", reason);
	free(data);
	return ans;
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;

	if (argc != 1) {
		fprintf(stderr, "usage: abitool < requests (one JSON object per line)\n");
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_t *req = json_loadb(line, (size_t)n, 0, NULL), *ans = NULL;
		const char *op = json_string_value(json_object_get(req, "op"));
		char *text;

		lineno++;
		if (op && !strcmp(op, "submit"))
			ans = op_encode(req, 0);
		else if (op && !strcmp(op, "batch"))
			ans = op_encode(req, 1);
		else if (op && !strcmp(op, "event"))
			ans = op_event(req);
		else if (op && !strcmp(op, "revert"))
			ans = op_revert(req);
		json_decref(req);
		text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
		json_decref(ans);
		if (!text) {
			fprintf(stderr, "abitool: line %d: cannot read the request\n", lineno);
			free(line);
			return 1;
		}
		printf("%s\n", text);
		free(text);
	}
	free(line);
	return fflush(stdout) == 0 ? 0 : 1;
}
