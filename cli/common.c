/* What several commands share: finding the data directory, opening a node, progress. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "cli/cli.h"
#include "codec/hex.h"
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

void cli_running_url_set(const char *dir, const char *url)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/" CLI_RUNNING_URL, dir);
	if (!url) {
		unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = dprintf(fd, "%s\n", url) > 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

int cli_running_url(const char *dir, char *buf, size_t size)
{
	char path[PATH_MAX + 16];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/" CLI_RUNNING_URL, dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return strncmp(buf, "http://", 7) == 0 ? 0 : -ENOENT;
}

int cli_open_node_any(const char *url, const char *data_dir, struct node **ret_node)
{
	char dir[PATH_MAX], running[256];
	int r;

	if (url || cli_data_dir(data_dir, dir, sizeof(dir)) < 0)
		return cli_open_node(url, data_dir, ret_node);
	/* Reading must not create a data directory or a key. */
	if (access(dir, F_OK) != 0) {
		cli_error(
		    "no zgfs data directory at %s; give --data DIR, --node URL or --mount PATH",
		    dir);
		return -1;
	}
	r = node_open_local(&(struct node_config){.data_dir = dir,
						  .evm_key_hex = getenv("ZGFS_KEY"),
						  .verify_reads = true},
			    ret_node);
	if (r != -EBUSY || cli_running_url(dir, running, sizeof(running)) < 0)
		return r < 0 ? cli_open_node(url, data_dir, ret_node) : 0;
	return cli_open_node(running, NULL, ret_node);
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

	if (p->unit) {
		snprintf(done, sizeof(done), "%llu", p->done);
		snprintf(total, sizeof(total), "%llu %s", p->total, p->unit);
		snprintf(rate, sizeof(rate), "%.0f", bps);
	} else {
		human(done, sizeof(done), (double)p->done);
		human(total, sizeof(total), (double)p->total);
		human(rate, sizeof(rate), bps);
	}
	if (p->total && bps > 0 && !final) {
		unsigned long long left = (unsigned long long)((double)(p->total - p->done) / bps);

		fprintf(stderr, "\r%s: %s / %s  %s/s  ETA %llu:%02llu   ", p->what, done, total,
			rate, left / 60, left % 60);
	} else {
		fprintf(stderr, "\r%s: %s%s%s  %s/s   ", p->what, done, p->unit ? " " : "",
			p->unit ? p->unit : "", rate);
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

void cli_progress_count(struct cli_progress *p, const char *what, const char *unit,
			unsigned long long total)
{
	cli_progress_start(p, what, total);
	p->unit = unit;
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

/* A user.zg.* attribute of path, NUL-terminated, malloc'd; NULL with errno set. */
char *cli_get_attr(const char *path, const char *name)
{
	ssize_t len = getxattr(path, name, NULL, 0);
	char *buf;

	if (len < 0)
		return NULL;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return NULL;
	len = getxattr(path, name, buf, (size_t)len);
	if (len < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The node, volume stream and inode of a path on a mount (from user.zg.node and
 * user.zg.inode). Returns 0, or -1 after saying why. */
int cli_open_path(const char *cmd, const char *path, struct node **ret_node,
		  uint8_t stream[NODE_STREAM_ID_SIZE], uint64_t *ret_ino)
{
	char *url = cli_get_attr(path, "user.zg.node"),
	     *inode = cli_get_attr(path, "user.zg.inode");
	char *sp = inode ? strchr(inode, ' ') : NULL;
	int r = -1;

	if (!url || !inode) {
		cli_error("%s: %s is not a file on a zgfs mount (%s)", cmd, path,
			  errno == ENODATA || errno == ENOTSUP ? "no zgfs attributes"
							       : strerror(errno));
		goto out;
	}
	if (!sp || (*sp = '\0', codec_hex_decode(inode, stream, NODE_STREAM_ID_SIZE) < 0)) {
		cli_error("%s: %s: unexpected user.zg.inode", cmd, path);
		goto out;
	}
	if (cli_open_node(url, NULL, ret_node) < 0)
		goto out;
	*ret_ino = strtoull(sp + 1, NULL, 10);
	r = 0;
out:
	free(url);
	free(inode);
	return r;
}
