/*
 * zgfs prune: give back the disk space of log entries that no kept version of any file
 * needs (fs/prune.h decides, node_store_prune() drops). The log stays settled on chain;
 * only this machine's copy of those bytes goes. Works on a data directory (the node runs
 * in this process; a mount or node using it must be stopped first).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "fs/prune.h"
#include "node/kv/kv.h"
#include "node/node.h"

enum { OPT_DATA = 0x100, OPT_NODE, OPT_KEEP, OPT_SINCE, OPT_DRY };

/* 30s, 15m, 12h, 7d, 2w, or plain seconds. */
static int parse_duration(const char *s, int64_t *ret)
{
	char *end;
	unsigned long long n;
	uint64_t mul = 1;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (end == s || errno || *s == '-')
		return -1;
	if (*end && end[1])
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	case 'w':
		mul = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (n > (uint64_t)INT64_MAX / mul)
		return -1;
	*ret = (int64_t)(n * mul);
	return 0;
}

/* Bytes of disk blocks the files under path take (what du counts). */
static uint64_t du(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *e;
	struct stat st;
	uint64_t total = 0;
	DIR *d;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_blocks * 512;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < (int)sizeof(sub))
			total += du(sub);
	}
	closedir(d);
	return total;
}

struct streams {
	uint8_t (*v)[NODE_STREAM_ID_SIZE];
	size_t n, cap;
};

static int add_stream(void *ctx, const uint8_t *stream)
{
	struct streams *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		void *v = realloc(s->v, cap * sizeof(*s->v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memcpy(s->v[s->n++], stream, NODE_STREAM_ID_SIZE);
	return 0;
}

int cli_prune_all(struct node *n, const struct fs_prune_policy *p, bool dry,
		  fs_prune_entry_fn *each, struct fs_prune_stats *st)
{
	struct streams ss = {0};
	int r = node_kv_holding_stream_ids(node_local_kv(n), add_stream, &ss);

	if (r == 0)
		r = fs_prune_run(n, (const uint8_t *)ss.v, ss.n, p, dry, each, NULL, st);
	free(ss.v);
	return r;
}

/* The bytes dropped so far, on a terminal (cli_progress; the callback has no context). */
static struct cli_progress prune_progress;

static void count_one(void *ctx, uint64_t tx_seq, uint64_t length)
{
	(void)ctx;
	(void)tx_seq;
	cli_progress_add(&prune_progress, length);
}

static void list_one(void *ctx, uint64_t tx_seq, uint64_t length)
{
	(void)ctx;
	printf("would drop entry %" PRIu64 " (%" PRIu64 " bytes)\n", tx_seq, length);
}

int cmd_prune(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, OPT_DATA},
	    {"node", required_argument, NULL, OPT_NODE},
	    {"keep", required_argument, NULL, OPT_KEEP},
	    {"keep-since", required_argument, NULL, OPT_SINCE},
	    {"dry-run", no_argument, NULL, OPT_DRY},
	    {NULL, 0, NULL, 0},
	};
	struct fs_prune_policy p = {0};
	struct fs_prune_stats st = {0};
	const char *data = NULL;
	char dir[PATH_MAX], store_dir[PATH_MAX + 8];
	struct node *n = NULL;
	uint64_t before;
	unsigned long long k;
	bool dry = false;
	int c, r, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_NODE:
			cli_error("prune: frees the disk of the node in this process: give --data "
				  "DIR (stop the mount or node using it first); --node is not "
				  "supported");
			return 2;
		case OPT_KEEP:
			if (cli_parse_u64(optarg, &k) < 0 || k == 0) {
				cli_error(
				    "prune: --keep takes a number of versions, at least 1 (the "
				    "current one)");
				return 2;
			}
			p.by_count = true;
			p.keep = k;
			break;
		case OPT_SINCE: {
			int64_t d;

			if (parse_duration(optarg, &d) < 0) {
				cli_error(
				    "prune: --keep-since takes a duration: N, Ns, Nm, Nh, Nd or "
				    "Nw");
				return 2;
			}
			p.by_time = true;
			p.keep_since = (int64_t)time(NULL) - d;
			break;
		}
		case OPT_DRY:
			dry = true;
			break;
		default:
			cli_usage(stderr, "prune");
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage(stderr, "prune");
		return 2;
	}
	if (!p.by_count && !p.by_time) {
		printf("prune: the policy keeps every version (the default): nothing to drop; give "
		       "--keep N or --keep-since DURATION\n");
		return 0;
	}
	if (cli_data_dir(data, dir, sizeof(dir)) < 0) {
		cli_error("prune: no data directory: give --data DIR or set ZGFS_DATA");
		return 2;
	}
	if (cli_open_node(NULL, dir, &n) < 0)
		return 1;
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	before = du(store_dir);
	if (!dry)
		cli_progress_start(&prune_progress, "prune: dropped", 0);
	r = cli_prune_all(n, &p, dry, dry ? list_one : count_one, &st);
	if (!dry)
		cli_progress_end(&prune_progress);
	if (r < 0) {
		cli_error("prune: stopped: %s; what was dropped before stays dropped, nothing a "
			  "kept version needs was touched",
			  cli_why(r));
		goto out;
	}
	printf("prune: %" PRIu64 " files, %" PRIu64 " versions of live files, %" PRIu64
	       " of them kept\n",
	       st.files, st.versions, st.kept);
	node_close(n);
	n = NULL;
	if (dry) {
		printf("prune: would drop %" PRIu64 " entries, %" PRIu64 " bytes (dry run)\n",
		       st.entries, st.bytes);
	} else {
		uint64_t after = du(store_dir);

		printf("prune: dropped %" PRIu64 " entries, %" PRIu64 " bytes of entry data%s; "
		       "disk used by %s: %" PRIu64 " -> %" PRIu64 " bytes (%" PRIu64 " freed)\n",
		       st.entries, st.bytes, st.again ? " (and entries pruned before, again)" : "",
		       store_dir, before, after, before > after ? before - after : 0);
	}
	ret = 0;
out:
	node_close(n);
	return ret;
}
