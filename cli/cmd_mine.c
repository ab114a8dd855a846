/*
 * zgfs mine status: what the node's PoRA miner has done, from DIR/pora/status.json, which
 * the miner rewrites after every change (so it can be read while the node runs and holds
 * the data directory's lock). --json prints the record as the miner wrote it.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "node/rpc/rpc.h"

enum { OPT_DATA = 0x100, OPT_NODE, OPT_JSON };

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void print_human(json_t *o)
{
	json_t *a = json_object_get(o, "lastAnswer");

	printf("miner id        %s\n", str(o, "minerId"));
	printf("sealed          %lld of %lld sectors\n", num(o, "sealedSectors"),
	       num(o, "totalSectors"));
	printf("hash rate       %.1f tries/s (%lld tries)\n",
	       json_real_value(json_object_get(o, "hashRate")), num(o, "tries"));
	printf("epoch           %lld, context %s\n", num(o, "epoch"), str(o, "context"));
	printf("difficulty      %lld (initial), target %s\n", num(o, "difficulty"), str(o, "target"));
	printf("answers         %lld submitted, %lld accepted, %lld refused\n", num(o, "submitted"),
	       num(o, "accepted"), num(o, "refused"));
	printf("corrupt units   %lld, missing %lld\n", num(o, "corrupt"), num(o, "missing"));
	printf("rewards         %s\n", str(o, "rewards"));
	if (json_is_object(a))
		printf("last answer     recall position %lld, seal offset %lld, quality %s\n"
		       "                (zgfs mine status --json shows it in full)\n",
		       num(a, "recallPosition"), num(a, "sealOffset"), str(a, "quality"));
}

/* The running node's record, over JSON-RPC (zgfs_mineStatus). */
static json_t *from_node(const char *url)
{
	struct node_rpc_client *c = NULL;
	struct node_rpc_error err = {0};
	json_t *o = NULL;
	int r = node_rpc_client_new(url, &c);

	if (r == 0)
		r = node_rpc_call(c, "zgfs_mineStatus", NULL, &o, &err);
	node_rpc_client_free(c);
	if (r < 0) {
		cli_error("mine status: %s: %s%s%s", url, err.message[0] ? err.message : strerror(-r),
			  err.data[0] ? ": " : "", err.data);
		return NULL;
	}
	return o;
}

static int mine_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"node", required_argument, NULL, OPT_NODE},
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL, *url = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	json_error_t jerr;
	json_t *o;
	bool as_json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_NODE:
			url = optarg;
			break;
		case OPT_JSON:
			as_json = true;
			break;
		default:
			cli_usage(stderr, "mine");
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage(stderr, "mine");
		return 2;
	}
	if (url && data) {
		cli_error("mine status: give --data DIR or --node URL, not both");
		return 2;
	}
	if (url) {
		o = from_node(url);
		if (!o)
			return 1;
		goto print;
	}
	if (cli_data_dir(data, dir, sizeof(dir)) < 0) {
		cli_error("mine status: no data directory: give --data DIR or set ZGFS_DATA");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/pora/status.json", dir);
	o = json_load_file(path, 0, &jerr);
	if (!o) {
		if (access(path, F_OK) != 0)
			cli_error("mine status: %s has never mined (no %s): start zgfs node --mine",
				  dir, path);
		else
			cli_error("mine status: %s: %s", path, jerr.text);
		return 1;
	}
print:
	if (as_json) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		print_human(o);
	}
	json_decref(o);
	return 0;
}

int cmd_mine(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return mine_status(argc - 1, argv + 1);
	cli_usage(stderr, "mine");
	return 2;
}
