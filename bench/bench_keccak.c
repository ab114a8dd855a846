/*
 * bench_keccak.c - single-thread keccak-256 throughput, against OpenSSL's SHA3-256 (the
 * same permutation and rate, so MB/s compare directly) measured in the same run.
 *
 *   bench_keccak [seconds per row, default 0.5]
 *
 * Rows: OpenSSL on one 64 MiB stream (the baseline), the reference and the fast scalar
 * one-stream code, then for each batch kernel the CPU has, 256-byte Merkle leaves (stride
 * 256) and 64-byte parent nodes (stride 64) over 64 MiB, and the file-root rate those two
 * imply: a file of B bytes has B / 256 leaves and about as many 64-byte parents, so its
 * root costs 3 permutations per 256 bytes against SHA3's 256 / 136 = 1.9.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench/bench.h"
#include "codec/keccak.h"

#define STREAM_BYTES ((size_t)64 << 20)
#define REF_BYTES    ((size_t)1 << 20)
#define LEAF	     256
#define NODE	     64
#define DASHES	     "--------------------------------"

static double run_seconds = 0.5;

/* What one call of a measured function does. */
struct job {
	const uint8_t *in;
	size_t stride, len, n; /* n inputs of len bytes; n == 1 for a stream */
	uint8_t (*out)[CODEC_HASH_SIZE];
	const EVP_MD *md;
};

struct rate {
	double mbs;   /* input bytes, 10^6 per second */
	double perms; /* Keccak-f[1600] permutations per second */
};

static void run_openssl(void *arg)
{
	const struct job *j = arg;
	unsigned int dlen;

	if (!EVP_Digest(j->in, j->len, j->out[0], &dlen, j->md, NULL)) {
		fprintf(stderr, "bench_keccak: EVP_Digest failed\n");
		exit(1);
	}
}

static void run_ref(void *arg)
{
	const struct job *j = arg;

	codec_keccak256_ref(j->in, j->len, j->out[0]);
}

static void run_scalar(void *arg)
{
	const struct job *j = arg;

	codec_keccak256(j->in, j->len, j->out[0]);
}

static void run_batch(void *arg)
{
	const struct job *j = arg;

	codec_keccak256_batch(j->in, j->stride, j->len, j->n, j->out);
}

/* Rates the fastest call of fn on j (bench_fastest()). */
static struct rate measure(void (*fn)(void *), const struct job *j)
{
	double perms_per_call = (double)j->n * (double)(j->len / CODEC_KECCAK_RATE + 1);
	double best = bench_fastest(fn, (void *)j, run_seconds);

	return (struct rate){
	    .mbs = (double)j->n * (double)j->len / best / 1e6,
	    .perms = perms_per_call / best,
	};
}

static struct rate base;

static void row(const char *what, const char *input, struct rate r)
{
	printf("| %-30s | %-26s | %8.1f | %16.2f | %8.2f | %12.2f |\n", what, input, r.mbs,
	       r.mbs / base.mbs, r.perms / 1e6, r.perms / base.perms);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const char *const impls[] = {"scalar", "avx2", "avx512"};
	uint8_t *buf, (*out)[CODEC_HASH_SIZE];
	EVP_MD *md;

	if (argc > 1)
		run_seconds = strtod(argv[1], NULL);
	if (!(run_seconds > 0))
		run_seconds = 0.5;
	buf = malloc(STREAM_BYTES);
	out = malloc(STREAM_BYTES / NODE * CODEC_HASH_SIZE);
	md = EVP_MD_fetch(NULL, "SHA3-256", NULL);
	if (!buf || !out || !md) {
		fprintf(stderr, "bench_keccak: %s\n",
			md ? "out of memory" : "no SHA3-256 in OpenSSL");
		return 1;
	}
	/* any bytes will do; writing them also faults the pages in */
	for (size_t i = 0; i < STREAM_BYTES; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 11));
	memset(out, 0, STREAM_BYTES / NODE * CODEC_HASH_SIZE);

	printf("keccak-256, one thread, fastest call in %.2f s per row; best batch kernel here: %s "
	       "(%u lanes)\n\n",
	       run_seconds, codec_keccak_impl(), codec_keccak_lanes());
	printf("| %-30s | %-26s | %8s | %16s | %8s | %12s |\n", "implementation", "input", "MB/s",
	       "ratio to OpenSSL", "Mperm/s", "perm/s ratio");
	printf("|%.32s|%.28s|%.9s:|%.17s:|%.9s:|%.13s:|\n", DASHES, DASHES, DASHES, DASHES, DASHES,
	       DASHES);

	struct job stream = {
	    .in = buf, .stride = STREAM_BYTES, .len = STREAM_BYTES, .n = 1, .out = out, .md = md};
	struct job small = stream;

	small.len = small.stride = REF_BYTES;
	base = measure(run_openssl, &stream);
	row("OpenSSL EVP sha3-256", "one 64 MiB stream", base);
	row("codec_keccak256_ref", "one 1 MiB stream", measure(run_ref, &small));
	row("codec_keccak256 (scalar)", "one 64 MiB stream", measure(run_scalar, &stream));

	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		struct job leaves = {
		    .in = buf, .stride = LEAF, .len = LEAF, .n = STREAM_BYTES / LEAF, .out = out};
		struct job nodes = {
		    .in = buf, .stride = NODE, .len = NODE, .n = STREAM_BYTES / NODE, .out = out};
		char name[64];
		struct rate l, p, root;
		int ret = codec_keccak_select(impls[i]);

		if (ret == -ENOTSUP) {
			printf("| batch %-24s | %-26s | %8s | %16s | %8s | %12s |\n", impls[i],
			       "not supported by this CPU", "-", "-", "-", "-");
			continue;
		}
		snprintf(name, sizeof(name), "batch %s (%u lane%s)", impls[i], codec_keccak_lanes(),
			 codec_keccak_lanes() > 1 ? "s" : "");
		l = measure(run_batch, &leaves);
		row(name, "256 B leaves, stride 256", l);
		p = measure(run_batch, &nodes);
		row(name, "64 B nodes, stride 64", p);
		/* per 256 bytes of file: one leaf, and about one parent node of 64 bytes */
		root.mbs = 1.0 / (1.0 / l.mbs + 0.25 / p.mbs);
		root.perms = root.mbs * 1e6 / LEAF * 3;
		row(name, "file root (leaves + nodes)", root);
	}
	codec_keccak_select(NULL);
	EVP_MD_free(md);
	free(out);
	free(buf);
	return 0;
}
