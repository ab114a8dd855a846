/*
 * test_keccak.c - keccak-256: published vectors, the permutation against OpenSSL's
 * SHA3-256, and every fast path (one-shot, incremental, each batch kernel the CPU has)
 * against the reference on fixed-seed random inputs of every length 0..1000.
 *
 * Batch inputs are placed so that the last one ends right before a PROT_NONE page: a
 * kernel that reads past base + (n - 1) * stride + len crashes the test instead of passing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "codec/keccak.h"
#include "tests/tap.h"

#define MAX_LEN	   1000
#define MAX_N	   13
#define MAX_STRIDE (MAX_LEN + 13)

static const char *const impl_names[] = {"scalar", "avx2", "avx512"};
#define N_IMPLS (sizeof(impl_names) / sizeof(impl_names[0]))

static const size_t batch_sizes[] = {1, 3, 8, 13};
#define N_SIZES (sizeof(batch_sizes) / sizeof(batch_sizes[0]))

/* Length groups reported by one test point each: one block, two blocks, more. */
static const size_t group_end[] = {CODEC_KECCAK_RATE, 2 * CODEC_KECCAK_RATE, MAX_LEN + 1};
#define N_GROUPS (sizeof(group_end) / sizeof(group_end[0]))

static void hex(const uint8_t *d, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", d[i]);
}

static bool digest_is(const uint8_t d[CODEC_HASH_SIZE], const char *want)
{
	char got[2 * CODEC_HASH_SIZE + 1];

	hex(d, CODEC_HASH_SIZE, got);
	return strcmp(got, want) == 0;
}

/* Every entry point on one input, the batch kernels with n = 1. */
static void check_vector(const char *name, const uint8_t *msg, size_t len, const char *want)
{
	uint8_t d[CODEC_HASH_SIZE];
	struct codec_keccak k;
	bool all = true;

	codec_keccak256_ref(msg, len, d);
	ok(digest_is(d, want), "reference: %s", name);
	codec_keccak256(msg, len, d);
	all &= digest_is(d, want);
	codec_keccak_init(&k);
	for (size_t at = 0; at < len; at += 1000)
		codec_keccak_update(&k, msg + at, len - at < 1000 ? len - at : 1000);
	codec_keccak_final(&k, d);
	all &= digest_is(d, want);
	for (size_t i = 0; i < N_IMPLS; i++) {
		if (codec_keccak_select(impl_names[i]) != 0)
			continue;
		codec_keccak256_batch(msg, len, len, 1, &d);
		if (!digest_is(d, want)) {
			diag("%s: batch %s differs", name, impl_names[i]);
			all = false;
		}
	}
	codec_keccak_select(NULL);
	ok(all, "one-shot, incremental and batch kernels: %s", name);
}

static void test_vectors(void)
{
	static uint8_t buf[1000000];

	check_vector("\"\"", (const uint8_t *)"", 0,
		     "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	check_vector("\"abc\"", (const uint8_t *)"abc", 3,
		     "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
	/* The next two were checked against pycryptodome's Keccak-256, an independent
	 * implementation; the second is the classic one million 'a'. */
	memset(buf, 0xa3, 200);
	check_vector("200 x 0xa3", buf, 200,
		     "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a");
	memset(buf, 'a', sizeof(buf));
	check_vector("1000000 x 'a'", buf, sizeof(buf),
		     "fadae6b49f129bbb812be8407b7b2894f34aecf6dbd1f9b0f0c7e9853098fc96");
}

/*
 * The permutation against OpenSSL: SHA3-256 is the same sponge with padding 0x06 instead
 * of 0x01. Absorbing M followed by SHA3's padding through codec_keccak_update() ends
 * exactly on a block boundary, so update() runs the final permutation itself and the
 * SHA3-256 digest is the first 32 bytes of the state.
 */
static void test_against_openssl(void)
{
	uint8_t msg[MAX_LEN], pad[CODEC_KECCAK_RATE], want[CODEC_HASH_SIZE];
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA3-256", NULL);
	size_t bad = SIZE_MAX;

	if (!md) {
		ok(true, "permutation against OpenSSL # SKIP OpenSSL has no SHA3-256");
		return;
	}
	tap_seed(3);
	tap_fill(msg, sizeof(msg));
	for (size_t len = 0; len <= MAX_LEN && bad == SIZE_MAX; len++) {
		struct codec_keccak k;
		size_t npad = CODEC_KECCAK_RATE - len % CODEC_KECCAK_RATE;
		unsigned int wlen = 0;

		EVP_Digest(msg, len, want, &wlen, md, NULL);
		memset(pad, 0, npad);
		pad[0] = 0x06;
		pad[npad - 1] |= 0x80;
		codec_keccak_init(&k);
		codec_keccak_update(&k, msg, len);
		codec_keccak_update(&k, pad, npad);
		if (wlen != CODEC_HASH_SIZE || k.pos != 0 || memcmp(k.st, want, CODEC_HASH_SIZE))
			bad = len;
	}
	EVP_MD_free(md);
	if (bad != SIZE_MAX)
		diag("first mismatch with OpenSSL SHA3-256 at length %zu", bad);
	ok(bad == SIZE_MAX, "permutation matches OpenSSL SHA3-256, lengths 0..%d", MAX_LEN);
}

/* codec_keccak256() and the incremental API, updated in random slices, against the
 * reference. */
static void test_one_stream(void)
{
	static uint8_t msg[MAX_LEN];
	size_t bad_oneshot = SIZE_MAX, bad_incr = SIZE_MAX;

	tap_seed(4);
	for (size_t len = 0; len <= MAX_LEN; len++) {
		uint8_t want[CODEC_HASH_SIZE], got[CODEC_HASH_SIZE];
		struct codec_keccak k;

		tap_fill(msg, len);
		codec_keccak256_ref(msg, len, want);
		codec_keccak256(msg, len, got);
		if (memcmp(got, want, sizeof(want)) && bad_oneshot == SIZE_MAX)
			bad_oneshot = len;
		/* slices of 0..300 bytes, so some span two blocks and some are empty */
		codec_keccak_init(&k);
		for (size_t at = 0; at < len;) {
			size_t take = tap_rand() % 301;

			if (take > len - at)
				take = len - at;
			codec_keccak_update(&k, msg + at, take);
			at += take;
		}
		codec_keccak_final(&k, got);
		if (memcmp(got, want, sizeof(want)) && bad_incr == SIZE_MAX)
			bad_incr = len;
	}
	if (bad_oneshot != SIZE_MAX)
		diag("codec_keccak256: first failing length %zu", bad_oneshot);
	ok(bad_oneshot == SIZE_MAX, "codec_keccak256 = reference, lengths 0..%d", MAX_LEN);
	if (bad_incr != SIZE_MAX)
		diag("incremental: first failing length %zu", bad_incr);
	ok(bad_incr == SIZE_MAX, "incremental, random slices = reference, lengths 0..%d", MAX_LEN);
}

/* Memory whose last byte is followed by a PROT_NONE page. */
struct guarded {
	uint8_t *map;
	size_t size;  /* mapping, guard page included */
	uint8_t *end; /* first byte of the guard page */
};

static int guarded_alloc(struct guarded *g, size_t usable)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (usable + page - 1) / page * page;

	g->size = body + page;
	g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return -errno;
	g->end = g->map + body;
	if (mprotect(g->end, page, PROT_NONE)) {
		munmap(g->map, g->size);
		return -errno;
	}
	return 0;
}

struct failure {
	bool failed;
	size_t len, n, stride, index;
};

/* Strides equal to len (packed), a little more, or odd, so that loads are unaligned. */
static size_t pick_stride(size_t len)
{
	static const size_t extra[] = {0, 8, 13, 1};

	return len + extra[len % 4];
}

static void test_batches(void)
{
	static uint8_t master[MAX_N * MAX_STRIDE];
	static uint8_t want[MAX_N][CODEC_HASH_SIZE];
	uint8_t got[MAX_N + 1][CODEC_HASH_SIZE];
	struct failure fail[N_IMPLS][N_GROUPS] = {{{0}}};
	bool usable[N_IMPLS];
	struct guarded g = {0};
	int ret;

	ret = guarded_alloc(&g, sizeof(master));
	if (ret) {
		ok(false, "guarded buffer: %s", strerror(-ret));
		return;
	}
	for (size_t i = 0; i < N_IMPLS; i++) {
		ret = codec_keccak_select(impl_names[i]);
		usable[i] = ret == 0;
		if (ret == -ENOTSUP)
			diag("%s: not supported by this CPU, skipped", impl_names[i]);
		else if (ret)
			diag("%s: codec_keccak_select: %s", impl_names[i], strerror(-ret));
	}

	tap_seed(5);
	for (size_t len = 0, grp = 0; len <= MAX_LEN; len++) {
		size_t stride = pick_stride(len);

		if (len == group_end[grp])
			grp++;
		tap_fill(master, (MAX_N - 1) * stride + len);
		for (size_t i = 0; i < MAX_N; i++)
			codec_keccak256_ref(master + i * stride, len, want[i]);

		for (size_t s = 0; s < N_SIZES; s++) {
			size_t n = batch_sizes[s], span = (n - 1) * stride + len;
			uint8_t *base = g.end - span;

			memcpy(base, master, span);
			for (size_t m = 0; m < N_IMPLS; m++) {
				struct failure *f = &fail[m][grp];

				if (!usable[m] || f->failed)
					continue;
				codec_keccak_select(impl_names[m]);
				memset(got, 0x5a, sizeof(got));
				codec_keccak256_batch(base, stride, len, n, got);
				for (size_t i = 0; i <= n && !f->failed; i++) {
					/* got[n] must be untouched: no write past out[n - 1] */
					bool bad = i < n ? memcmp(got[i], want[i], CODEC_HASH_SIZE)
							 : got[n][0] != 0x5a || got[n][31] != 0x5a;

					if (bad)
						*f = (struct failure){true, len, n, stride, i};
				}
			}
		}
	}
	codec_keccak_select(NULL);
	munmap(g.map, g.size);

	for (size_t m = 0; m < N_IMPLS; m++) {
		for (size_t grp = 0; grp < N_GROUPS; grp++) {
			size_t lo = grp ? group_end[grp - 1] : 0, hi = group_end[grp] - 1;
			const struct failure *f = &fail[m][grp];

			if (!usable[m]) {
				ok(true, "batch %s, lengths %zu..%zu # SKIP not supported",
				   impl_names[m], lo, hi);
				continue;
			}
			if (f->failed)
				diag("batch %s: first failure at len %zu, n %zu, stride %zu, "
				     "input %zu%s",
				     impl_names[m], f->len, f->n, f->stride, f->index,
				     f->index == f->n ? " (wrote past out[n - 1])" : "");
			ok(!f->failed, "batch %s = reference, n 1/3/8/13, lengths %zu..%zu",
			   impl_names[m], lo, hi);
		}
	}
}

/* The Merkle shapes with many inputs, against codec_keccak256(). */
static void test_merkle_shapes(void)
{
	static const struct {
		size_t stride, len;
	} shapes[] = {{256, 256}, {64, 64}, {64, 32}};
	enum { N = 1001 };
	static uint8_t data[N * 256], want[N][CODEC_HASH_SIZE], got[N][CODEC_HASH_SIZE];

	tap_seed(6);
	tap_fill(data, sizeof(data));
	for (size_t m = 0; m < N_IMPLS; m++) {
		if (codec_keccak_select(impl_names[m]) != 0)
			continue;
		for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
			size_t stride = shapes[s].stride, len = shapes[s].len, bad = SIZE_MAX;

			for (size_t i = 0; i < N; i++)
				codec_keccak256(data + i * stride, len, want[i]);
			codec_keccak256_batch(data, stride, len, N, got);
			for (size_t i = 0; i < N && bad == SIZE_MAX; i++)
				if (memcmp(got[i], want[i], CODEC_HASH_SIZE))
					bad = i;
			if (bad != SIZE_MAX)
				diag("first wrong digest: input %zu", bad);
			ok(bad == SIZE_MAX, "batch %s, %d inputs, stride %zu, len %zu",
			   impl_names[m], N, stride, len);
		}
	}
	codec_keccak_select(NULL);
}

/* n = 0 reads and writes nothing, whatever base is. */
static void test_empty_batch(void)
{
	uint8_t out[1][CODEC_HASH_SIZE];
	bool good = true;

	for (size_t m = 0; m < N_IMPLS; m++) {
		if (codec_keccak_select(impl_names[m]) != 0)
			continue;
		memset(out, 0x5a, sizeof(out));
		codec_keccak256_batch(NULL, 256, 256, 0, out);
		good &= out[0][0] == 0x5a && out[0][31] == 0x5a;
	}
	codec_keccak_select(NULL);
	ok(good, "batch of 0 inputs writes nothing");
}

static void test_select(void)
{
	static const unsigned lanes[] = {1, 4, 8};
	bool good = true;

	for (size_t i = 0; i < N_IMPLS; i++) {
		int ret = codec_keccak_select(impl_names[i]);

		if (ret == -ENOTSUP)
			continue;
		good &= ret == 0 && strcmp(codec_keccak_impl(), impl_names[i]) == 0 &&
			codec_keccak_lanes() == lanes[i];
	}
	ok(good, "select sets the implementation and its lane count");
	ok(codec_keccak_select("sse9") == -EINVAL, "select an unknown name: -EINVAL");
	ok(codec_keccak_select(NULL) == 0, "select NULL picks the best: %s, %u lanes",
	   codec_keccak_impl(), codec_keccak_lanes());
}

int main(void)
{
	test_vectors();
	test_against_openssl();
	test_one_stream();
	test_batches();
	test_merkle_shapes();
	test_empty_batch();
	test_select();
	return tap_done();
}
