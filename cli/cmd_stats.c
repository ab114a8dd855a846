/*
 * zgfs stats MOUNTPOINT [--interval S] [--count N]: live figures of a mount, one line per
 * interval, from the `/metrics` of the mount's own loopback listener (found by the mount
 * root's user.zg.metrics attribute): FUSE operations per second, MB/s read and written,
 * commits per second and their latency (p50 and p99, the upper bound of the histogram
 * bucket each falls in), operations in flight.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sys/buf.h"
#include "sys/clock.h"
#include "sys/metrics.h"

#define METRICS_MAX (1u << 20)

int cli_mount_node_url(const char *mountpoint, char *buf, size_t size)
{
	ssize_t n = getxattr(mountpoint, "user.zg.node", buf, size - 1);

	if (n <= 0) {
		cli_error("%s is not a zgfs mount (no user.zg.node: %s)", mountpoint,
			  n < 0 ? strerror(errno) : "empty");
		return -1;
	}
	buf[n] = 0;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	return sys_buf_append(ctx, p, size * n) == 0 ? size * n : 0;
}

/* GET url/metrics into b, NUL-terminated. */
static int scrape(const char *url, struct sys_buf *b)
{
	char full[600];
	CURL *h = curl_easy_init();
	long status = 0;
	CURLcode rc;

	if (!h)
		return -ENOMEM;
	sys_buf_reset(b);
	snprintf(full, sizeof(full), "%s/metrics", url);
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK || status != 200 || sys_buf_append(b, "", 1) < 0) {
		cli_error("stats: %s/metrics: %s", url,
			  rc != CURLE_OK ? curl_easy_strerror(rc) : "no metrics in the answer");
		return -EIO;
	}
	return 0;
}

/* The figures one line needs, from one scrape. */
struct sample {
	double ops, read, write, in_flight, commits;
	double commit_le[SYS_HIST_BUCKETS + 1]; /* cumulative, the last +Inf */
	double t;
};

/* Sum of every sample of `name` whose labels hold `labels` (NULL: any) in the text. */
static double sum_of(const char *text, const char *name, const char *labels)
{
	size_t n = strlen(name);
	double sum = 0;

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n'), *v;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char row[512];

		if (len < sizeof(row) && strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
			memcpy(row, p, len);
			row[len] = 0;
			v = strrchr(row, ' ');
			if (v && (!labels || strstr(row, labels)))
				sum += strtod(v + 1, NULL);
		}
		p += len + (eol != NULL);
	}
	return sum;
}

static void parse(const char *text, struct sample *s)
{
	char le[48];

	s->ops = sum_of(text, "zgfs_fs_ops_total", NULL);
	s->read = sum_of(text, "zgfs_fs_read_bytes_total", NULL);
	s->write = sum_of(text, "zgfs_fs_write_bytes_total", NULL);
	s->in_flight = sum_of(text, "zgfs_fs_ops_in_flight", NULL);
	s->commits = sum_of(text, "zgfs_fs_commit_duration_seconds_count", NULL);
	for (unsigned i = 0; i <= SYS_HIST_BUCKETS; i++) {
		if (i < SYS_HIST_BUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"", sys_hist_bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		s->commit_le[i] = sum_of(text, "zgfs_fs_commit_duration_seconds_bucket", le);
	}
	s->t = sys_now_s();
}

/* The bucket bound (ms) under which fraction q of the commits between a and b fell. */
static double quantile_ms(const struct sample *a, const struct sample *b, double q)
{
	double total = b->commit_le[SYS_HIST_BUCKETS] - a->commit_le[SYS_HIST_BUCKETS];

	if (total <= 0)
		return NAN;
	for (unsigned i = 0; i < SYS_HIST_BUCKETS; i++)
		if (b->commit_le[i] - a->commit_le[i] >= q * total)
			return sys_hist_bounds[i] * 1000;
	return INFINITY;
}

/* A latency for the table: "-" for none, ">10000" past the last bucket. */
static void fmt_ms(double ms, char out[16])
{
	if (isnan(ms))
		snprintf(out, 16, "-");
	else if (isinf(ms))
		snprintf(out, 16, ">10000");
	else
		snprintf(out, 16, "%g", ms);
}

static void line(const struct sample *a, const struct sample *b)
{
	double dt = b->t - a->t > 0 ? b->t - a->t : 1;
	char c50[16], c99[16];

	fmt_ms(quantile_ms(a, b, 0.5), c50);
	fmt_ms(quantile_ms(a, b, 0.99), c99);
	printf("%9.0f %10.1f %10.1f %9.1f %10s %10s %9.0f\n", (b->ops - a->ops) / dt,
	       (b->read - a->read) / dt / 1e6, (b->write - a->write) / dt / 1e6,
	       (b->commits - a->commits) / dt, c50, c99, b->in_flight);
	fflush(stdout);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interval", required_argument, NULL, 'i'},
	    {"count", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	struct sample prev, cur;
	struct sys_buf b;
	char url[512];
	double interval = 1;
	unsigned long long count = 0;
	int ch, status = 1;
	ssize_t n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		switch (ch) {
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || end == optarg || !(interval >= 0.1 && interval <= 3600)) {
				cli_error("stats: --interval takes seconds, 0.1 to 3600");
				return 2;
			}
			break;
		case 'c':
			if (cli_parse_u64(optarg, &count) < 0) {
				cli_error("stats: --count takes a number of lines");
				return 2;
			}
			break;
		default:
			cli_usage(stderr, "stats");
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli_usage(stderr, "stats");
		return 2;
	}
	/* The mount's own listener (user.zg.metrics); older mounts name only their node. */
	n = getxattr(argv[optind], "user.zg.metrics", url, sizeof(url) - 1);
	if (n > 0)
		url[n] = 0;
	else if (cli_mount_node_url(argv[optind], url, sizeof(url)) < 0)
		return 1;
	sys_buf_init(&b, METRICS_MAX);
	if (scrape(url, &b) < 0)
		goto out;
	parse((const char *)b.data, &prev);
	printf("%9s %10s %10s %9s %10s %10s %9s\n", "ops/s", "read MB/s", "write MB/s", "commits/s",
	       "p50 ms", "p99 ms", "in flight");
	for (unsigned long long i = 0; count == 0 || i < count; i++) {
		sys_sleep_ms((unsigned)(interval * 1000));
		if (scrape(url, &b) < 0)
			goto out;
		parse((const char *)b.data, &cur);
		line(&prev, &cur);
		prev = cur;
	}
	status = 0;
out:
	sys_buf_free(&b);
	return status;
}
