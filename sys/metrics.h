/*
 * metrics.h - counters and latency histograms, written in Prometheus' text exposition
 * format (version 0.0.4) for the node's and the mount's `/metrics`. Invariants: a
 * histogram's buckets are cumulative only when written (each observation lands in one
 * bucket); count and sum_ns move with every observation; all fields are atomics, so any
 * thread may observe while another writes the text. No project types.
 *
 * Names follow Prometheus' conventions: `zgfs_` first, the unit in the name, counters end
 * in `_total` (bytes in `_bytes_total`), durations in seconds.
 */
#ifndef SYS_METRICS_H
#define SYS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sys/buf.h"

/* Upper bounds of the buckets in seconds, 100 µs to 10 s (then +Inf). */
#define SYS_HIST_BUCKETS 16
extern const double sys_hist_bounds[SYS_HIST_BUCKETS];

struct sys_hist {
	_Atomic uint64_t bucket[SYS_HIST_BUCKETS + 1]; /* the last one: above every bound */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
};

/* Records one duration in nanoseconds. Any thread. */
void sys_hist_observe(struct sys_hist *h, uint64_t ns);

/* A monotonic clock in nanoseconds, for durations. */
uint64_t sys_now_ns(void);

/*
 * Writing the text, into a bounded buffer; each returns 0 or the buffer's error (-E2BIG,
 * -ENOMEM), and a caller may check only the last. labels is NULL or the inside of the
 * braces, e.g. `op="read"` (the caller quotes; values must not hold '"', '\' or newlines).
 *   sys_metrics_family() - the # HELP and # TYPE lines of a family (type "counter",
 *                          "gauge" or "histogram"), once before its samples;
 *   sys_metrics_value()  - one sample;
 *   sys_metrics_hist()   - a histogram's _bucket (cumulative, le="..."), _sum, _count.
 */
int sys_metrics_family(struct sys_buf *b, const char *name, const char *type, const char *help);
int sys_metrics_value(struct sys_buf *b, const char *name, const char *labels, uint64_t v);
int sys_metrics_hist(struct sys_buf *b, const char *name, const char *labels,
		     const struct sys_hist *h);
/* sys_metrics_single() - a family of one sample without labels: its two comment lines
 * and the value. */
int sys_metrics_single(struct sys_buf *b, const char *name, const char *type, const char *help,
		       uint64_t v);

#endif
