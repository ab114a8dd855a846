/*
 * bench_settle - settlement through the node: small uploads (4 KiB, what one close() of a
 * small file settles) per second and their latency, one at a time and from many threads
 * at once, on the embedded ledger and on an EVM chain, in the same run.
 *
 * usage: bench_settle LOCAL_DIR EVM_DIR [UPLOADS] [THREADS]     (defaults 200 and 16)
 * LOCAL_DIR is a fresh data directory (embedded ledger); EVM_DIR one that `zgfs chain
 * deploy` recorded contracts in; the key comes from ZGFS_KEY. Many threads settling at
 * once on the EVM chain share transactions (batchSubmit): the table says how many uploads
 * each transaction carried, from the blocks the run took (anvil mines one block per
 * transaction). Prints a markdown table; ratios are against the embedded ledger.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/node.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct run {
	struct node *n;
	size_t per_thread;
	unsigned seed;
	double *lat; /* per_thread slots */
	int err;
};

static void *worker(void *arg)
{
	struct run *w = arg;
	uint8_t buf[4096];

	for (size_t i = 0; i < w->per_thread && !w->err; i++) {
		struct node_upload *u = NULL;
		double t0 = now();
		int r;

		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)rand_r(&w->seed);
		r = node_upload_begin(w->n, NULL, 0, &u);
		if (r == 0)
			r = node_upload_write(u, buf, sizeof(buf));
		if (r == 0)
			r = node_upload_finish(u, NULL);
		else
			node_upload_abort(u);
		if (r < 0) {
			fprintf(stderr, "bench_settle: upload: %s: %s\n", node_strerror(r),
				chain_last_detail());
			w->err = r;
		}
		w->lat[i] = now() - t0;
	}
	return NULL;
}

struct result {
	double per_sec, p50_ms, p99_ms, per_block;
};

static int measure(struct node *n, size_t uploads, unsigned threads, struct result *res)
{
	struct run *w = calloc(threads, sizeof(*w));
	pthread_t *t = calloc(threads, sizeof(*t));
	size_t per = uploads / threads, total = per * threads, k = 0;
	double *all = calloc(total, sizeof(double)), t0, secs;
	struct node_status s0, s1;
	int err = 0;

	if (!w || !t || !all || node_status(n, &s0) < 0)
		return -1;
	t0 = now();
	for (unsigned i = 0; i < threads; i++) {
		w[i] = (struct run){n, per, 1234u + i, all + (size_t)i * per, 0};
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err)
			err = w[i].err;
	}
	secs = now() - t0;
	if (err || node_status(n, &s1) < 0)
		return -1;
	k = total;
	qsort(all, k, sizeof(double), cmp_double);
	res->per_sec = (double)total / secs;
	res->p50_ms = all[k / 2] * 1e3;
	res->p99_ms = all[k * 99 / 100] * 1e3;
	res->per_block = s1.log_sync_height > s0.log_sync_height
			     ? (double)total / (double)(s1.log_sync_height - s0.log_sync_height)
			     : 0;
	free(all);
	free(w);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	size_t uploads = argc > 3 ? strtoul(argv[3], NULL, 10) : 200;
	unsigned threads = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 16;
	const char *dirs[2];
	struct result res[2][2];
	const char *names[2] = {"embedded ledger", "EVM chain (anvil)"};

	if (argc < 3 || threads == 0 || uploads < threads) {
		fprintf(stderr, "usage: bench_settle LOCAL_DIR EVM_DIR [UPLOADS] [THREADS]\n");
		return 2;
	}
	dirs[0] = argv[1];
	dirs[1] = argv[2];
	for (int c = 0; c < 2; c++) {
		struct node *n;
		int r = node_open_local(&(struct node_config){.data_dir = dirs[c],
							      .evm_key_hex = getenv("ZGFS_KEY"),
							      .verify_reads = true},
					&n);

		if (r < 0) {
			fprintf(stderr, "bench_settle: %s: %s %s\n", dirs[c], node_strerror(r),
				chain_last_detail());
			return 1;
		}
		if (measure(n, uploads, 1, &res[c][0]) < 0 ||
		    measure(n, uploads, threads, &res[c][1]) < 0) {
			node_close(n);
			return 1;
		}
		node_close(n);
	}
	printf("| chain | closers | uploads/s | ratio to embedded | p50 latency (ms) | p99 (ms) | "
	       "uploads per block |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|\n");
	for (int m = 0; m < 2; m++)
		for (int c = 0; c < 2; c++) {
			char per_block[32] = "";

			if (c == 1)
				snprintf(per_block, sizeof(per_block), "%.1f", res[c][m].per_block);
			printf("| %s | %u | %.0f | %.2f | %.2f | %.2f | %s |\n", names[c],
			       m ? threads : 1, res[c][m].per_sec,
			       res[c][m].per_sec / res[0][m].per_sec, res[c][m].p50_ms,
			       res[c][m].p99_ms, per_block);
		}
	return 0;
}
