/*
 * bench_kv - the KV layer through a running node: puts per second in batches, then get
 * latency (p50, p99) of random keys.
 *
 * usage: bench_kv URL [KEYS] [BATCH] [GETS]      (defaults 100000 1000 10000)
 * Prints a markdown table. The keys go into a fresh random stream.
 */
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

int main(int argc, char **argv)
{
	size_t keys = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	size_t batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	size_t gets = argc > 4 ? strtoul(argv[4], NULL, 10) : 10000;
	struct node_put_item *items;
	char(*names)[32];
	uint8_t stream[NODE_STREAM_ID_SIZE], value[64];
	double t0, put_secs, *lat;
	struct node *n;
	int r;

	if (argc < 2 || keys == 0 || batch == 0) {
		fprintf(stderr, "usage: bench_kv URL [KEYS] [BATCH] [GETS]\n");
		return 2;
	}
	r = node_open_remote(argv[1], &n);
	if (r < 0) {
		fprintf(stderr, "bench_kv: %s: %s\n", argv[1], node_strerror(r));
		return 1;
	}
	srand((unsigned)time(NULL));
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)rand();
	memset(value, 'v', sizeof(value));
	items = calloc(batch, sizeof(*items));
	names = calloc(keys, sizeof(*names));
	lat = calloc(gets ? gets : 1, sizeof(*lat));
	if (!items || !names || !lat)
		return 1;
	for (size_t i = 0; i < keys; i++)
		snprintf(names[i], sizeof(names[i]), "key-%08zu", i);

	t0 = now();
	for (size_t done = 0; done < keys;) {
		size_t k = keys - done < batch ? keys - done : batch;

		for (size_t i = 0; i < k; i++)
			items[i] = (struct node_put_item){(const uint8_t *)names[done + i],
							  strlen(names[done + i]), value,
							  sizeof(value)};
		r = node_kv_write(n, stream, items, k, NULL);
		if (r < 0) {
			fprintf(stderr, "bench_kv: put: %s\n", node_strerror(r));
			return 1;
		}
		done += k;
	}
	put_secs = now() - t0;

	for (size_t i = 0; i < gets; i++) {
		const char *key = names[(size_t)rand() % keys];
		struct node_value v;
		double t = now();

		r = node_kv_read(n, stream, (const uint8_t *)key, strlen(key), &v);
		lat[i] = now() - t;
		if (r < 0 || v.len != sizeof(value)) {
			fprintf(stderr, "bench_kv: get %s: %s\n", key, r < 0 ? node_strerror(r) : "wrong size");
			return 1;
		}
		free(v.data);
	}
	qsort(lat, gets, sizeof(*lat), cmp_double);
	printf("| KV over JSON-RPC (%zu keys, 64 B values) | figure |\n|---|---:|\n", keys);
	printf("| puts/s, batches of %zu | %.0f |\n", batch, (double)keys / put_secs);
	if (gets)
		printf("| get latency p50 / p99 (%zu random keys) | %.0f µs / %.0f µs |\n", gets,
		       lat[gets / 2] * 1e6, lat[gets * 99 / 100] * 1e6);
	node_close(n);
	free(items);
	free(names);
	free(lat);
	return 0;
}
