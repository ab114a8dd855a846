/*
 * bench.h - what the single-thread codec benchmarks share: a monotonic clock and the
 * fastest of repeated calls.
 */
#ifndef ZGFS_BENCH_H
#define ZGFS_BENCH_H

#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * bench_fastest() - call fn(arg) for seconds (after one untimed call that faults pages in)
 * and return the fastest call's duration in seconds. The fastest rather than the mean,
 * because a shared 2-core machine stretches random calls by 2x and more; every baseline is
 * measured the same way.
 */
static inline double bench_fastest(void (*fn)(void *), void *arg, double seconds)
{
	double start, best = 1e30;

	fn(arg);
	start = bench_now();
	do {
		double t0 = bench_now(), t;

		fn(arg);
		t = bench_now() - t0;
		if (t < best)
			best = t;
	} while (bench_now() - start < seconds);
	return best;
}

#endif
