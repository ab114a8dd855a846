/*
 * zgfs health [ROOT] --node URL [--wait SECONDS] [--json]: how well the cluster keeps one
 * entry, or how the cluster is. The node at URL asks itself and its peers (zgfs_health,
 * docs/PEERS.md "Health"); this prints its answer as one line (and, for the cluster, a
 * line per node) and exits 0 redundant, 1 degraded, 2 unrecoverable or not known.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/hex.h"
#include "codec/merkle.h"
#include "node/rpc/rpc.h"
#include "sys/clock.h"

enum { OPT_NODE = 0x100, OPT_WAIT, OPT_JSON };

static long long num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v)) /* u64 values travel as decimal strings past 2^53 */
		return strtoll(json_string_value(v), NULL, 10);
	return (long long)json_integer_value(v);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "?";
}

/* The state's exit status: 0 redundant, 1 degraded, 2 anything else. */
static int state_status(json_t *o)
{
	const char *s = str(o, "state");

	return strcmp(s, "redundant") == 0 ? 0 : strcmp(s, "degraded") == 0 ? 1 : 2;
}

static void print_policy(json_t *o)
{
	if (num(o, "ecK"))
		printf("policy %lld+%lld", num(o, "ecK"), num(o, "ecM"));
	else
		printf("no policy (copies by shard)");
}

static void print_entry(json_t *o)
{
	long long missing = num(o, "missingSymbols"), lag = num(o, "nodesNotFinalized");

	printf("%s: entry %lld (%s, %lld bytes): ", str(o, "state"), num(o, "txSeq"), str(o, "root"),
	       num(o, "size"));
	if (missing == 0)
		printf("nothing missing");
	else
		printf("%lld segment%s or parity symbols missing, %s", missing, missing == 1 ? "" : "s",
		       json_is_true(json_object_get(o, "decodable")) ? "still decodable"
								 : "not decodable");
	if (lag)
		printf("; %lld node%s not finalized", lag, lag == 1 ? "" : "s");
	printf("; %lld shards, ", num(o, "numShard"));
	print_policy(o);
	printf("\n");
}

/* While --wait waits, on a terminal: one line that says what is still missing. */
static void progress(json_t *o, bool entry, double waited_s)
{
	if (!isatty(STDERR_FILENO))
		return;
	if (entry)
		fprintf(stderr, "\r\033[K%s after %.0f s: %lld segments or parity symbols missing, "
				"%lld nodes not finalized",
			str(o, "state"), waited_s, num(o, "missingSymbols"),
			num(o, "nodesNotFinalized"));
	else
		fprintf(stderr, "\r\033[K%s after %.0f s: %lld nodes down, %lld shards kept by no "
				"live node",
			str(o, "state"), waited_s, num(o, "nodesDown"), num(o, "shardsDown"));
}

static void print_cluster(json_t *o)
{
	json_t *nodes = json_object_get(o, "nodes"), *x;
	size_t i;

	printf("%s: %zu nodes, %lld down; %lld of %lld shards kept by no live node; ",
	       str(o, "state"), json_array_size(nodes), num(o, "nodesDown"), num(o, "shardsDown"),
	       num(o, "numShard"));
	print_policy(o);
	printf("\n");
	json_array_foreach(nodes, i, x)
	{
		json_t *st = json_object_get(x, "status");

		if (!json_is_true(json_object_get(x, "up"))) {
			printf("  %s  down\n", str(x, "url"));
			continue;
		}
		printf("  %s  shard %s, up%s; %lld entries complete, %lld bytes; sync %lld waiting, "
		       "%lld missing, %lld fetched; %lld parity built, %lld rebuilt\n",
		       str(x, "url"), str(x, "shard"),
		       json_is_true(json_object_get(x, "self")) ? " (asked)" : "",
		       num(st, "finalized"), num(st, "bytesStored"), num(st, "syncWaiting"),
		       num(st, "syncMissing"), num(st, "syncFetched"), num(st, "parityBuilt"),
		       num(st, "segmentsRebuilt"));
	}
}

/* The entry with this root, as the node knows it: its tx seq. */
static int seq_of_root(struct node_rpc_client *c, const char *root, uint64_t *ret_seq,
		       struct node_rpc_error *err)
{
	json_t *res = NULL, *tx;
	int r = node_rpc_call(c, "zgs_getFileInfo", json_pack("[sb]", root, 0), &res, err);

	if (r < 0)
		return r;
	tx = json_object_get(res, "tx");
	r = json_is_object(tx) ? 0 : -ENOENT;
	if (r == 0)
		*ret_seq = (uint64_t)num(tx, "seq");
	json_decref(res);
	return r;
}

int cli_wait_redundant(const char *url, uint64_t tx_seq, unsigned timeout_s, char *why,
		       size_t why_size)
{
	struct node_rpc_client *c = NULL;
	struct node_rpc_error err = {0};
	double until = sys_now_s() + timeout_s;
	char params[32];
	json_t *o = NULL;
	int r = node_rpc_client_new(url, &c), status = -1;

	snprintf(params, sizeof(params), "[%llu]", (unsigned long long)tx_seq);
	while (r == 0) {
		json_decref(o);
		o = NULL;
		r = node_rpc_call(c, "zgfs_health", json_loads(params, 0, NULL), &o, &err);
		if (r < 0)
			break;
		status = num(o, "numShard") <= 1 ? 0 : state_status(o) == 0 ? 0 : 1;
		if (status == 0 || sys_now_s() >= until)
			break;
		sys_sleep_ms(250);
	}
	if (status == 1)
		snprintf(why, why_size, "%s, %lld segments or parity symbols not stored, %lld nodes not "
			 "finalized, after %u s",
			 str(o, "state"), num(o, "missingSymbols"), num(o, "nodesNotFinalized"),
			 timeout_s);
	json_decref(o);
	node_rpc_client_free(c);
	return status;
}

int cmd_health(int argc, char **argv)
{
	static const struct option opts[] = {
		{"node", required_argument, NULL, OPT_NODE},
		{"wait", required_argument, NULL, OPT_WAIT},
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	struct node_rpc_client *c = NULL;
	struct node_rpc_error err = {0};
	const char *url = NULL, *root = NULL;
	unsigned long long wait_s = 0;
	uint8_t bin[CODEC_HASH_SIZE];
	uint64_t seq = 0;
	bool as_json = false;
	double until;
	json_t *o = NULL;
	int ch, r, status = 2;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_NODE:
			url = optarg;
			break;
		case OPT_WAIT:
			if (cli_parse_u64(optarg, &wait_s) < 0) {
				cli_error("health: --wait takes a number of seconds, not '%s'", optarg);
				return 2;
			}
			break;
		case OPT_JSON:
			as_json = true;
			break;
		default:
			cli_usage(stderr, "health");
			return 2;
		}
	}
	if (optind < argc)
		root = argv[optind++];
	if (optind != argc || !url) {
		if (!url)
			cli_error("health: give --node URL, a node of the cluster to ask");
		cli_usage(stderr, "health");
		return 2;
	}
	if (root && codec_hex_decode(root, bin, sizeof(bin)) != 0) {
		cli_error("health: '%s' is not a root (0x and 64 hex digits)", root);
		return 2;
	}
	r = node_rpc_client_new(url, &c);
	if (r == 0 && root)
		r = seq_of_root(c, root, &seq, &err);
	if (r == -ENOENT) {
		cli_error("health: %s knows no entry with root %s", url, root);
		goto out;
	}
	until = sys_now_s() + (double)wait_s;
	while (r == 0) {
		char params[32];

		snprintf(params, sizeof(params), "[%llu]", (unsigned long long)seq);
		json_decref(o);
		o = NULL;
		r = node_rpc_call(c, "zgfs_health", root ? json_loads(params, 0, NULL) : NULL, &o,
				  &err);
		if (r < 0 || state_status(o) == 0 || sys_now_s() >= until)
			break;
		progress(o, root != NULL, sys_now_s() - (until - (double)wait_s));
		sys_sleep_ms(500);
	}
	if (wait_s && isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");
	if (r < 0) {
		cli_error("health: %s: %s%s%s", url, err.message[0] ? err.message : strerror(-r),
			  err.data[0] ? ": " : "", err.data);
		goto out;
	}
	status = state_status(o);
	if (as_json) {
		char *text = json_dumps(o, JSON_COMPACT);

		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (root) {
		print_entry(o);
	} else {
		print_cluster(o);
	}
out:
	json_decref(o);
	node_rpc_client_free(c);
	return status;
}
