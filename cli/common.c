/* What several commands share: finding the data directory, opening a node, progress. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sys/clock.h"
#include "node/node.h"

int cli_data_dir(const char *opt, char *buf, size_t size)
{
	const char *env = getenv("ZGFS_DATA"), *home = getenv("HOME");
	int n;

	if (opt && *opt)
		n = snprintf(buf, size, "%s", opt);
	else if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (home && *home)
		n = snprintf(buf, size, "%s/.local/share/zgfs", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cli_open_node(const char *url, const char *data_dir, struct node **ret_node)
{
	char dir[PATH_MAX];
	int r;

	if (url) {
		r = node_open_remote(url, ret_node);
		if (r < 0)
			cli_error("cannot reach the node at %s: %s", url, node_strerror(r));
		return r < 0 ? -1 : 0;
	}
	if (cli_data_dir(data_dir, dir, sizeof(dir)) < 0) {
		cli_error("no data directory: give --data DIR or set ZGFS_DATA");
		return -1;
	}
	r = node_open_local(&(struct node_config){.data_dir = dir,
						  .evm_key_hex = getenv("ZGFS_KEY"),
						  .verify_reads = true},
			    ret_node);
	if (r == -EBUSY)
		cli_error("%s is in use by a running node or mount; talk to it with --node URL, "
			  "or stop it first",
			  dir);
	else if (r < 0)
		cli_error("cannot open the node in %s: %s", dir, cli_why(r));
	return r < 0 ? -1 : 0;
}

const char *cli_why(int r)
{
	static char buf[768];
	const char *d = chain_last_detail();

	snprintf(buf, sizeof(buf), d[0] ? "%s: %s" : "%s", node_strerror(r), d);
	return buf;
}

static void human(char *buf, size_t size, double v)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void draw(struct cli_progress *p, bool final)
{
	char done[32], total[32], rate[32];
	double t = sys_now_s(), elapsed = t - p->start;
	double bps = elapsed > 0 ? (double)p->done / elapsed : 0;

	human(done, sizeof(done), (double)p->done);
	human(total, sizeof(total), (double)p->total);
	human(rate, sizeof(rate), bps);
	if (p->total && bps > 0 && !final) {
		unsigned long long left = (unsigned long long)((double)(p->total - p->done) / bps);

		fprintf(stderr, "\r%s: %s / %s  %s/s  ETA %llu:%02llu   ", p->what, done, total,
			rate, left / 60, left % 60);
	} else {
		fprintf(stderr, "\r%s: %s  %s/s   ", p->what, done, rate);
	}
	if (final)
		fputc('\n', stderr);
	p->last = t;
}

void cli_progress_start(struct cli_progress *p, const char *what, unsigned long long total)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->start = p->last = sys_now_s();
	p->on = isatty(STDERR_FILENO);
}

void cli_progress_add(struct cli_progress *p, unsigned long long n)
{
	p->done += n;
	if (p->on && sys_now_s() - p->last >= 0.1)
		draw(p, false);
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->on)
		draw(p, true);
}

int cli_pora_option(struct cli_pora *p, int opt, const char *arg)
{
	unsigned long long v;
	const char *name;

	switch (opt) {
	case CLI_OPT_PORA_DIFFICULTY:
		name = "--pora-difficulty";
		break;
	case CLI_OPT_EPOCH_BLOCKS:
		name = "--epoch-blocks";
		break;
	case CLI_OPT_TARGET_ANSWERS:
		name = "--target-answers";
		break;
	case CLI_OPT_BASE_REWARD:
		name = "--base-reward";
		break;
	case CLI_OPT_DONATE:
		name = "--donate";
		break;
	default:
		return -ENOENT;
	}
	if (cli_parse_u64(arg, &v) < 0) {
		cli_error("%s takes a decimal number, not '%s'", name, arg);
		return -EINVAL;
	}
	p->set = true;
	switch (opt) {
	case CLI_OPT_PORA_DIFFICULTY:
		p->params.difficulty = v;
		break;
	case CLI_OPT_EPOCH_BLOCKS:
		p->params.epoch_blocks = v;
		break;
	case CLI_OPT_TARGET_ANSWERS:
		p->params.target_answers = v;
		break;
	case CLI_OPT_BASE_REWARD:
		p->params.base_reward = v;
		break;
	default:
		p->donate = v;
		break;
	}
	if (opt != CLI_OPT_DONATE && opt != CLI_OPT_BASE_REWARD &&
	    (p->params.difficulty == 0 || p->params.epoch_blocks < 2 ||
	     p->params.target_answers == 0 || p->params.target_answers > 64)) {
		cli_error("%s %s is out of range (difficulty >= 1, epoch blocks >= 2, target "
			  "answers 1 to 64)",
			  name, arg);
		return -EINVAL;
	}
	return 0;
}
