/*
 * sys/: the bounded buffer keeps its maximum and is unchanged by a refused append;
 * leveldb's error strings map to the errnos every layer reports (a full disk is ENOSPC
 * everywhere), a second open of a database is EBUSY, and a missing one ENOENT; the clock
 * helpers move forward and the deadline is in the future by what was asked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/buf.h"
#include "sys/clock.h"
#include "sys/ldb.h"
#include "sys/metrics.h"
#include "sys/threads.h"
#include "tests/tap.h"

/* A malloc'd copy of text, as leveldb hands out its error strings. */
static char *err_of(const char *text)
{
	size_t n = strlen(text) + 1;
	char *e = malloc(n);

	memcpy(e, text, n);
	return e;
}

static void test_buf(void)
{
	struct sys_buf b;
	uint8_t chunk[1000];
	size_t len;
	uint8_t *p;
	bool all = true;

	memset(chunk, 7, sizeof(chunk));
	sys_buf_init(&b, 10000);
	for (int i = 0; i < 10; i++)
		all &= sys_buf_append(&b, chunk, sizeof(chunk)) == 0;
	ok(all && b.len == 10000 && b.cap <= b.max, "appends up to the maximum");
	ok(sys_buf_append(&b, chunk, 1) == -E2BIG && b.len == 10000,
	   "one byte past the maximum is -E2BIG and changes nothing");
	ok(sys_buf_append(&b, NULL, 0) == 0, "an empty append at the maximum is fine");
	p = sys_buf_take(&b, &len);
	ok(p && len == 10000 && p[9999] == 7 && b.data == NULL && b.len == 0 && b.max == 10000,
	   "take hands the bytes over and empties the buffer, keeping its maximum");
	free(p);
	ok(sys_buf_append(&b, chunk, 10) == 0 && b.len == 10, "usable again after take");
	sys_buf_free(&b);
	sys_buf_free(&b);
	sys_buf_free(NULL);
	ok(b.data == NULL, "free is idempotent and NULL-safe");
	sys_buf_init(&b, 0);
	ok(sys_buf_append(&b, chunk, 1) == -E2BIG, "a buffer of maximum 0 takes nothing");
}

static void test_ldb_errors(void)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
	    {"IO error: /d/000005.log: No space left on device", -ENOSPC},
	    {"IO error: /d/MANIFEST-000002: Disk quota exceeded", -EDQUOT},
	    {"IO error: lock /d/LOCK: already held by process", -EBUSY},
	    {"IO error: lock /d/LOCK: Resource temporarily unavailable", -EBUSY},
	    {"Invalid argument: /d/CURRENT: does not exist (create_if_missing is false)", -EIO},
	    {"IO error: /d/CURRENT: No such file or directory", -ENOENT},
	    {"Corruption: checksum mismatch", -EIO},
	};
	char detail[16];
	bool all = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		all &= sys_ldb_error(err_of(cases[i].text), NULL, 0) == cases[i].want;
	ok(all, "leveldb's error strings map to ENOSPC, EDQUOT, EBUSY, ENOENT, EIO");
	ok(sys_ldb_error(NULL, NULL, 0) == 0, "no error string is 0");
	ok(sys_ldb_error(err_of("Corruption: a long story about a block"), detail,
			 sizeof(detail)) == -EIO &&
	       strcmp(detail, "Corruption: a l") == 0,
	   "the text is kept, cut to the caller's room");
}

static void test_ldb_open(void)
{
	char dir[] = "/tmp/zgfs-test-sys-XXXXXX", sub[64], cmd[96];
	struct sys_ldb a, b;
	char *err = NULL;

	if (!mkdtemp(dir)) {
		ok(false, "mkdtemp");
		return;
	}
	snprintf(sub, sizeof(sub), "%s/db", dir);
	ok(sys_ldb_open(sub, &(struct sys_ldb_config){.create = false}, &a, NULL, 0) == -EIO &&
	       a.db == NULL,
	   "opening a missing database without create fails and leaves nothing");
	ok(sys_ldb_open(sub, &(struct sys_ldb_config){.create = true, .paranoid = true}, &a, NULL,
			0) == 0,
	   "creates a database");
	ok(sys_ldb_open(sub, &(struct sys_ldb_config){.create = true}, &b, NULL, 0) == -EBUSY,
	   "a second open of the same database is -EBUSY");
	leveldb_put(a.db, a.wo, "k", 1, "v", 1, &err);
	ok(err == NULL, "the synced write options work");
	sys_ldb_close(&a);
	sys_ldb_close(&a);
	ok(a.db == NULL, "close is idempotent");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleanup");
}

static void test_clock(void)
{
	uint64_t t0 = sys_now_ms();
	double s0 = sys_now_s();
	struct timespec d = sys_deadline_ms(1500), now;

	sys_sleep_ms(20);
	ok(sys_now_ms() - t0 >= 20 && sys_now_s() - s0 >= 0.02, "sleep and the clocks agree");
	clock_gettime(CLOCK_REALTIME, &now);
	ok(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L &&
	       (double)(d.tv_sec - now.tv_sec) + (double)(d.tv_nsec - now.tv_nsec) / 1e9 > 1.4,
	   "the deadline is normalized and 1.5 s ahead");
}

/* Items taken from a shared cursor by sys_run_threads() workers, each noted by thread. */
struct work {
	atomic_uint next, done[1000];
	pthread_mutex_t mu;
	pthread_t seen[8];
	unsigned nseen;
};

static void *worker(void *arg)
{
	struct work *w = arg;
	bool known = false;

	pthread_mutex_lock(&w->mu);
	for (unsigned i = 0; i < w->nseen; i++)
		known |= pthread_equal(w->seen[i], pthread_self()) != 0;
	if (!known && w->nseen < 8)
		w->seen[w->nseen++] = pthread_self();
	pthread_mutex_unlock(&w->mu);
	for (unsigned k; (k = atomic_fetch_add(&w->next, 1)) < 1000;) {
		atomic_fetch_add(&w->done[k], 1);
		sys_sleep_ms(k % 100 == 0); /* let the others start */
	}
	return NULL;
}

static void test_threads(void)
{
	static struct work w;
	unsigned once = 0;

	for (unsigned n = 0; n <= 4; n += 4) {
		memset(&w, 0, sizeof(w));
		pthread_mutex_init(&w.mu, NULL);
		sys_run_threads(worker, &w, n);
		once = 0;
		for (unsigned k = 0; k < 1000; k++)
			once += atomic_load(&w.done[k]) == 1;
		ok(once == 1000 && w.nseen >= 1 && w.nseen <= (n ? n : 1) &&
		       (n > 1 || pthread_equal(w.seen[0], pthread_self())),
		   "sys_run_threads(%u): every item once, on %u thread(s)", n, w.nseen);
		pthread_mutex_destroy(&w.mu);
	}
}

/* Histograms and the text they write: each observation in the first bucket that holds
 * it, buckets cumulative, +Inf the count, the sum in seconds; a full buffer is -E2BIG. */
static void test_metrics(void)
{
	static struct sys_hist h;
	struct sys_buf b;
	char *text;
	size_t len;

	sys_hist_observe(&h, 50000);	      /* 50 µs: the first bucket */
	sys_hist_observe(&h, 100000);	      /* exactly 100 µs: still the first (le) */
	sys_hist_observe(&h, 3000000);	      /* 3 ms: le 0.005 */
	sys_hist_observe(&h, 20000000000ULL); /* 20 s: only +Inf */
	sys_buf_init(&b, 1 << 16);
	ok(sys_metrics_family(&b, "zgfs_t_seconds", "histogram", "A test.") == 0 &&
	       sys_metrics_hist(&b, "zgfs_t_seconds", "op=\"x\"", &h) == 0 &&
	       sys_metrics_single(&b, "zgfs_n_total", "counter", "N.", 7) == 0 &&
	       sys_buf_append(&b, "", 1) == 0,
	   "a histogram and a counter written");
	text = (char *)sys_buf_take(&b, &len);
	ok(text &&
	       strstr(text, "# HELP zgfs_t_seconds A test.\n# TYPE zgfs_t_seconds histogram\n") &&
	       strstr(text, "zgfs_t_seconds_bucket{op=\"x\",le=\"0.0001\"} 2\n") &&
	       strstr(text, "zgfs_t_seconds_bucket{op=\"x\",le=\"0.0025\"} 2\n") &&
	       strstr(text, "zgfs_t_seconds_bucket{op=\"x\",le=\"0.005\"} 3\n") &&
	       strstr(text, "zgfs_t_seconds_bucket{op=\"x\",le=\"10\"} 3\n") &&
	       strstr(text, "zgfs_t_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n") &&
	       strstr(text, "zgfs_t_seconds_sum{op=\"x\"} 20.003150000\n") &&
	       strstr(text, "zgfs_t_seconds_count{op=\"x\"} 4\n") &&
	       strstr(text, "# HELP zgfs_n_total N.\n# TYPE zgfs_n_total counter\nzgfs_n_total 7\n"),
	   "buckets cumulative by their upper bounds, +Inf the count, the sum in seconds");
	free(text);
	sys_buf_init(&b, 40);
	ok(sys_metrics_hist(&b, "zgfs_t_seconds", NULL, &h) == -E2BIG, "past the buffer: -E2BIG");
	sys_buf_free(&b);
}

int main(void)
{
	test_buf();
	test_ldb_errors();
	test_ldb_open();
	test_clock();
	test_threads();
	test_metrics();
	return tap_done();
}
