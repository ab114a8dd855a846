/*
 * kvdump - test helper: the 0G-KV stream format codec (node/kv_format.c) from the command
 * line, so the SDK compatibility test (sdk_kv_format.js) can compare it with the SDK.
 *
 *   kvdump decode FILE         decode FILE, print the transaction as canonical JSON
 *   kvdump encode JSON OUT     encode the transaction in file JSON, write the bytes to OUT
 *   kvdump tags ID...          print the tags for the stream ids (hex), as 0x-hex
 *
 * Canonical JSON uses the SDK's StreamData field names, every byte string as 0x-hex
 * (lowercase) and the version as a decimal string (it is a u64):
 *   {"Version": "1", "Reads": [{"StreamId", "Key"}], "Writes": [{"StreamId", "Key",
 *    "Data"}], "Controls": [{"Type", "StreamId", "Key"?, "Account"?}]}
 * Exit 0 on success; 1 with the reason on stderr when the input is refused; 2 for usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec/hex.h"
#include "node/kv/format.h"
#include "node/limits.h"

static int usage(void)
{
	fprintf(stderr, "usage: kvdump decode FILE | kvdump encode JSON OUT | kvdump tags ID...\n");
	return 2;
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len == cap) {
			uint8_t *p;

			cap = cap ? 2 * cap : 65536;
			if (cap > NODE_KV_TX_MAX + 1)
				cap = NODE_KV_TX_MAX + 1;
			p = len < cap ? realloc(buf, cap) : NULL;
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*ret_len = len;
	return buf;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_t *j;

	if (!s)
		return NULL;
	codec_hex_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

static int cmd_decode(const char *path)
{
	struct node_kv_tx tx;
	size_t len = 0;
	uint8_t *data = read_file(path, &len);
	json_t *root, *reads, *writes, *controls;
	char version[32];
	int r;

	if (!data) {
		fprintf(stderr, "kvdump: %s: %s\n", path, strerror(errno ? errno : EFBIG));
		return 1;
	}
	r = node_kv_tx_decode(data, len, &tx);
	if (r < 0) {
		fprintf(stderr, "kvdump: %s: %s\n", path, node_kv_strerror(r));
		free(data);
		return 1;
	}
	snprintf(version, sizeof(version), "%" PRIu64, tx.version);
	reads = json_array();
	writes = json_array();
	controls = json_array();
	for (uint32_t i = 0; i < tx.n_reads; i++)
		json_array_append_new(
		    reads, json_pack("{s:o,s:o}", "StreamId", hex_json(tx.reads[i].stream_id, 32),
				     "Key", hex_json(tx.reads[i].key, tx.reads[i].key_len)));
	for (uint32_t i = 0; i < tx.n_writes; i++)
		json_array_append_new(
		    writes,
		    json_pack("{s:o,s:o,s:o}", "StreamId", hex_json(tx.writes[i].stream_id, 32),
			      "Key", hex_json(tx.writes[i].key, tx.writes[i].key_len), "Data",
			      hex_json(tx.writes[i].data, (size_t)tx.writes[i].data_len)));
	for (uint32_t i = 0; i < tx.n_acls; i++) {
		const struct node_kv_acl *a = &tx.acls[i];
		json_t *c =
		    json_pack("{s:i,s:o}", "Type", a->op, "StreamId", hex_json(a->stream_id, 32));

		if (a->key)
			json_object_set_new(c, "Key", hex_json(a->key, a->key_len));
		if (a->account)
			json_object_set_new(c, "Account", hex_json(a->account, 20));
		json_array_append_new(controls, c);
	}
	root = json_pack("{s:s,s:o,s:o,s:o}", "Version", version, "Reads", reads, "Writes", writes,
			 "Controls", controls);
	r = json_dumpf(root, stdout, JSON_COMPACT) == 0 && printf("\n") > 0 ? 0 : 1;
	json_decref(root);
	node_kv_tx_release(&tx);
	free(data);
	return r;
}

/* Byte strings decoded from the JSON; freed together. */
struct pool {
	uint8_t **p;
	size_t n, cap;
};

static uint8_t *hex_bytes(struct pool *pool, json_t *j, size_t want, size_t *ret_len)
{
	const char *s = json_string_value(j);
	size_t len;
	uint8_t *out;

	if (!s)
		return NULL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	len = strlen(s) / 2;
	if (want && len != want)
		return NULL;
	if (pool->n == pool->cap) {
		uint8_t **p = realloc(pool->p, (pool->cap ? 2 * pool->cap : 16) * sizeof(*p));

		if (!p)
			return NULL;
		pool->p = p;
		pool->cap = pool->cap ? 2 * pool->cap : 16;
	}
	out = malloc(len ? len : 1);
	if (!out || codec_hex_decode(s, out, len) < 0) {
		free(out);
		return NULL;
	}
	pool->p[pool->n++] = out;
	*ret_len = len;
	return out;
}

static int cmd_encode(const char *in, const char *out)
{
	json_error_t jerr;
	json_t *root = json_load_file(in, 0, &jerr), *v, *item;
	struct node_kv_tx tx = {0};
	struct pool pool = {0};
	uint64_t size;
	uint8_t *buf = NULL;
	size_t len, n, i;
	FILE *f;
	int r = 1;

	if (!root) {
		fprintf(stderr, "kvdump: %s: %s\n", in, jerr.text);
		return 1;
	}
	v = json_object_get(root, "Version");
	if (json_is_string(v))
		tx.version = strtoull(json_string_value(v), NULL, 10);
	else
		tx.version = (uint64_t)json_integer_value(v);
	tx.n_reads = (uint32_t)json_array_size(json_object_get(root, "Reads"));
	tx.n_writes = (uint32_t)json_array_size(json_object_get(root, "Writes"));
	tx.n_acls = (uint32_t)json_array_size(json_object_get(root, "Controls"));
	tx.reads = calloc(tx.n_reads + 1, sizeof(*tx.reads));
	tx.writes = calloc(tx.n_writes + 1, sizeof(*tx.writes));
	tx.acls = calloc(tx.n_acls + 1, sizeof(*tx.acls));
	if (!tx.reads || !tx.writes || !tx.acls)
		goto out;
	json_array_foreach(json_object_get(root, "Reads"), i, item)
	{
		tx.reads[i].stream_id = hex_bytes(&pool, json_object_get(item, "StreamId"), 32, &n);
		tx.reads[i].key = hex_bytes(&pool, json_object_get(item, "Key"), 0, &n);
		tx.reads[i].key_len = (uint32_t)n;
	}
	json_array_foreach(json_object_get(root, "Writes"), i, item)
	{
		tx.writes[i].stream_id =
		    hex_bytes(&pool, json_object_get(item, "StreamId"), 32, &n);
		tx.writes[i].key = hex_bytes(&pool, json_object_get(item, "Key"), 0, &n);
		tx.writes[i].key_len = (uint32_t)n;
		tx.writes[i].data = hex_bytes(&pool, json_object_get(item, "Data"), 0, &n);
		tx.writes[i].data_len = n;
	}
	json_array_foreach(json_object_get(root, "Controls"), i, item)
	{
		struct node_kv_acl *a = &tx.acls[i];

		a->op = (uint8_t)json_integer_value(json_object_get(item, "Type"));
		a->stream_id = hex_bytes(&pool, json_object_get(item, "StreamId"), 32, &n);
		if (json_object_get(item, "Key")) {
			a->key = hex_bytes(&pool, json_object_get(item, "Key"), 0, &n);
			a->key_len = (uint32_t)n;
		}
		if (json_object_get(item, "Account"))
			a->account = hex_bytes(&pool, json_object_get(item, "Account"), 20, &n);
	}
	r = node_kv_tx_encoded_size(&tx, &size);
	if (r == 0 && size > NODE_KV_TX_MAX)
		r = -E2BIG;
	if (r == 0) {
		buf = malloc(size ? size : 1);
		r = buf ? node_kv_tx_encode(&tx, buf, size, &len) : -ENOMEM;
	}
	if (r < 0) {
		fprintf(stderr, "kvdump: %s: %s\n", in, node_kv_strerror(r));
		r = 1;
		goto out;
	}
	f = fopen(out, "wb");
	r = f && fwrite(buf, 1, len, f) == len ? 0 : 1;
	if (f && fclose(f) != 0)
		r = 1;
	if (r)
		fprintf(stderr, "kvdump: %s: cannot write\n", out);
out:
	for (size_t k = 0; k < pool.n; k++)
		free(pool.p[k]);
	free(pool.p);
	free(tx.reads);
	free(tx.writes);
	free(tx.acls);
	free(buf);
	json_decref(root);
	return r;
}

static int cmd_tags(int n, char **ids)
{
	uint8_t *raw = malloc((size_t)n * 32), *tags = malloc(((size_t)n + 1) * 32);
	char *text = malloc(((size_t)n + 1) * 64 + 3);
	size_t len;
	int r = 1;

	if (!raw || !tags || !text)
		goto out;
	for (int i = 0; i < n; i++)
		if (codec_hex_decode(ids[i], raw + 32 * i, 32) < 0) {
			fprintf(stderr, "kvdump: not a 32-byte hex stream id: %s\n", ids[i]);
			goto out;
		}
	if (node_kv_tags_build(raw, (size_t)n, tags, ((size_t)n + 1) * 32, &len) < 0)
		goto out;
	codec_hex_encode(tags, len, text);
	printf("%s\n", text);
	r = 0;
out:
	free(raw);
	free(tags);
	free(text);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "decode") == 0)
		return cmd_decode(argv[2]);
	if (argc == 4 && strcmp(argv[1], "encode") == 0)
		return cmd_encode(argv[2], argv[3]);
	if (argc >= 3 && strcmp(argv[1], "tags") == 0)
		return cmd_tags(argc - 2, argv + 2);
	return usage();
}
