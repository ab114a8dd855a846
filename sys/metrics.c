/*
 * Counters and histograms in Prometheus' text format. The buckets are stored apart and
 * summed when written, so an observation is two or three relaxed atomic adds; a scrape
 * that races an observation may see count one ahead of the buckets, which Prometheus
 * tolerates between scrapes, and the next scrape is exact.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sys/metrics.h"

const double sys_hist_bounds[SYS_HIST_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

uint64_t sys_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

void sys_hist_observe(struct sys_hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	unsigned i = 0;

	while (i < SYS_HIST_BUCKETS && s > sys_hist_bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

__attribute__((format(printf, 2, 3))) static int put(struct sys_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	return sys_buf_append(b, line, (size_t)n);
}

int sys_metrics_family(struct sys_buf *b, const char *name, const char *type, const char *help)
{
	int r = put(b, "# HELP %s %s\n", name, help);

	return r < 0 ? r : put(b, "# TYPE %s %s\n", name, type);
}

int sys_metrics_value(struct sys_buf *b, const char *name, const char *labels, uint64_t v)
{
	if (labels && *labels)
		return put(b, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
	return put(b, "%s %llu\n", name, (unsigned long long)v);
}

int sys_metrics_single(struct sys_buf *b, const char *name, const char *type, const char *help,
		       uint64_t v)
{
	int r = sys_metrics_family(b, name, type, help);

	return r < 0 ? r : sys_metrics_value(b, name, NULL, v);
}

int sys_metrics_hist(struct sys_buf *b, const char *name, const char *labels,
		     const struct sys_hist *h)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cum = 0, count = atomic_load_explicit(&h->count, memory_order_relaxed);
	int r = 0;

	if (!labels)
		labels = "";
	for (unsigned i = 0; r == 0 && i < SYS_HIST_BUCKETS; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		r = put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, sys_hist_bounds[i],
			(unsigned long long)cum);
	}
	cum += atomic_load_explicit(&h->bucket[SYS_HIST_BUCKETS], memory_order_relaxed);
	/* +Inf is the count by definition; the buckets may trail it during a scrape. */
	if (cum > count)
		count = cum;
	if (r == 0)
		r = put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
			(unsigned long long)count);
	if (r == 0)
		r = put(b, "%s_sum%s%s%s %.9f\n", name, *labels ? "{" : "", labels,
			*labels ? "}" : "",
			(double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
	if (r == 0)
		r = put(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
			*labels ? "}" : "", (unsigned long long)count);
	return r;
}
