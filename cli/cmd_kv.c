/*
 * zgfs kv: the key-value layer from the command line. STREAM is a 0x-prefixed 32-byte
 * stream id; KEY and VALUE are the argument's bytes (VALUE - reads standard input).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/hex.h"
#include "node/node.h"

#define KV_STDIN_MAX (64u << 20) /* largest value read from standard input */

enum { OPT_NODE = 0x100, OPT_DATA };

static const struct option kv_options[] = {
	{"node", required_argument, NULL, OPT_NODE},
	{"data", required_argument, NULL, OPT_DATA},
	{NULL, 0, NULL, 0},
};

/* Prints bytes as text, escaping what a terminal would not show. */
static void print_bytes(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
}

static int read_stdin(uint8_t **ret, size_t *ret_len)
{
	size_t len = 0, cap = 1 << 16;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *b;

			if (cap >= KV_STDIN_MAX) {
				free(buf);
				return -E2BIG;
			}
			cap *= 2;
			b = realloc(buf, cap);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

struct ls_ctx {
	const uint8_t *prefix;
	size_t prefix_len;
	unsigned long long count;
};

static int ls_one(void *ctx, const uint8_t *key, size_t key_len, const struct node_value *v)
{
	struct ls_ctx *c = ctx;

	if (key_len < c->prefix_len || memcmp(key, c->prefix, c->prefix_len) != 0)
		return 1; /* past the prefix: keys come in order */
	print_bytes(key, key_len);
	putchar('\n');
	c->count++;
	return 0;
}

static int history_one(void *ctx, uint64_t version, uint64_t size)
{
	printf("%llu\t%llu\n", (unsigned long long)version, (unsigned long long)size);
	(*(unsigned long long *)ctx)++;
	return 0;
}

/* zgfs kv verify: rebuild the KV state from the log and compare digests. */
static int kv_verify(const char *url, const char *data)
{
	uint8_t live[32], replayed[32];
	char a[67], b[67];
	uint64_t entries;
	struct node *n;
	int r;

	if (url) {
		cli_error("kv verify: works on a data directory (--data DIR), not over --node");
		return 2;
	}
	if (cli_open_node(NULL, data, &n) < 0)
		return 1;
	r = node_local_kv_verify(n, &entries, live, replayed);
	node_close(n);
	if (r < 0) {
		cli_error("kv verify: %s", node_strerror(r));
		return 1;
	}
	codec_hex_encode(live, 32, a);
	codec_hex_encode(replayed, 32, b);
	if (memcmp(live, replayed, 32) != 0) {
		cli_error("kv verify: the KV state differs from a replay of the log's %llu entries: "
			  "live %s, replayed %s",
			  (unsigned long long)entries, a, b);
		return 1;
	}
	printf("ok: KV state equals a replay of %llu entries (digest %s)\n",
	       (unsigned long long)entries, a);
	return 0;
}

int cmd_kv(int argc, char **argv)
{
	const char *url = NULL, *data = NULL, *verb;
	uint8_t stream[NODE_STREAM_ID_SIZE];
	struct node *n = NULL;
	int c, r, status = 1, nargs;
	char **args;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", kv_options, NULL)) != -1) {
		if (c == OPT_NODE)
			url = optarg;
		else if (c == OPT_DATA)
			data = optarg;
		else
			goto usage;
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs == 1 && strcmp(args[0], "verify") == 0)
		return kv_verify(url, data);
	if (nargs < 2)
		goto usage;
	verb = args[0];
	if (codec_hex_decode(args[1], stream, sizeof(stream)) < 0) {
		cli_error("kv: STREAM must be 0x and 64 hex digits, not '%s'", args[1]);
		return 2;
	}
	if ((strcmp(verb, "put") == 0 && nargs != 4) || (strcmp(verb, "get") == 0 && nargs != 3) ||
	    (strcmp(verb, "history") == 0 && nargs != 3) ||
	    (strcmp(verb, "ls") == 0 && nargs != 2 && nargs != 3))
		goto usage;
	if (strcmp(verb, "put") && strcmp(verb, "get") && strcmp(verb, "history") &&
	    strcmp(verb, "ls"))
		goto usage;
	if (nargs >= 3 && args[2][0] == '\0' && strcmp(verb, "ls") != 0) {
		cli_error("kv: a key is at least one byte");
		return 2;
	}
	if (cli_open_node(url, data, &n) < 0)
		return 1;

	if (strcmp(verb, "put") == 0) {
		struct node_put_item item = {.key = (const uint8_t *)args[2], .key_len = strlen(args[2])};
		uint8_t *value = NULL;
		uint64_t seq = 0;

		if (strcmp(args[3], "-") == 0) {
			size_t len = 0;

			r = read_stdin(&value, &len);
			if (r < 0) {
				cli_error("kv put: standard input: %s", strerror(-r));
				goto out;
			}
			item.value = value;
			item.value_len = len;
		} else {
			item.value = (const uint8_t *)args[3];
			item.value_len = strlen(args[3]);
		}
		r = node_kv_write(n, stream, &item, 1, &seq);
		free(value);
		if (r < 0) {
			cli_error("kv put: %s", node_strerror(r));
			goto out;
		}
		printf("%llu\n", (unsigned long long)seq);
	} else if (strcmp(verb, "get") == 0) {
		struct node_value v;

		r = node_kv_read(n, stream, (const uint8_t *)args[2], strlen(args[2]), &v);
		if (r == -ENOENT) {
			cli_error("kv get: no key '%s' in this stream", args[2]);
			goto out;
		}
		if (r < 0) {
			cli_error("kv get: %s", node_strerror(r));
			goto out;
		}
		fwrite(v.data, 1, v.len, stdout);
		free(v.data);
	} else if (strcmp(verb, "ls") == 0) {
		struct ls_ctx ctx = {0};

		if (nargs == 3) {
			ctx.prefix = (const uint8_t *)args[2];
			ctx.prefix_len = strlen(args[2]);
		}
		r = node_kv_list(n, stream, ctx.prefix_len ? ctx.prefix : NULL, ctx.prefix_len,
				 SIZE_MAX, ls_one, &ctx);
		if (r < 0) {
			cli_error("kv ls: %s", node_strerror(r));
			goto out;
		}
	} else {
		unsigned long long count = 0;

		r = node_kv_versions(n, stream, (const uint8_t *)args[2], strlen(args[2]),
				     history_one, &count);
		if (r < 0 || count == 0) {
			cli_error("kv history: %s", r < 0 ? node_strerror(r) : "no such key");
			goto out;
		}
	}
	status = 0;
out:
	node_close(n);
	return status;
usage:
	cli_usage(stderr, "kv");
	return 2;
}
