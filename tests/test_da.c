/*
 * test_da.c - the DA square (codec/da.h): geometry, round trips up to the largest blob,
 * every row and column a codeword, roots recomputed independently, every share's proof
 * and each kind of tampering, reconstruction from random subsets (and refusal below the
 * threshold), the sampling formula against a simulation, and bad-encoding proofs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec/da.h"
#include "codec/errors.h"
#include "codec/keccak.h"
#include "codec/rs.h"
#include "tests/da_bad_square.h"
#include "tests/tap.h"

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	return p;
}

static struct codec_da_square *encode_random(size_t len, unsigned nthreads)
{
	uint8_t *blob = xmalloc(len);
	struct codec_da_square *sq = NULL;
	int err;

	tap_fill(blob, len);
	err = codec_da_encode(blob, len, nthreads, &sq);
	free(blob);
	if (err) {
		printf("Bail out! codec_da_encode(%zu): %s\n", len, codec_strerror(err));
		exit(1);
	}
	return sq;
}

static size_t square_bytes(const struct codec_da_square *sq)
{
	return (size_t)4 * sq->k * sq->k * sq->share_size;
}

static void check_geometry(void)
{
	static const struct {
		uint64_t len;
		unsigned k;
		size_t s;
	} want[] = {
	    {0, 1, 32},
	    {28, 1, 32},
	    {29, 1, 64},
	    {1024, 1, 1056},
	    {1980, 1, 1984},
	    {1981, 2, 512},
	    {1048576, 32, 1056},
	    {8388608, 128, 544},
	    {8126460, 64, 1984},
	    {8126461, 128, 512},
	    {CODEC_DA_MAX_BLOB, 128, 1984},
	};
	bool good = true, minimal = true;
	unsigned k;
	size_t s;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (codec_da_geometry(want[i].len, &k, &s) != 0 || k != want[i].k ||
		    s != want[i].s) {
			diag("len %llu: k %u s %zu", (unsigned long long)want[i].len, k, s);
			good = false;
		}
	}
	ok(good, "geometry of %zu sizes as docs/DA.md gives them", sizeof(want) / sizeof(want[0]));
	/* Every size: it fits, and neither a smaller k nor a smaller s would. */
	for (uint64_t len = 0; len <= CODEC_DA_MAX_BLOB; len += 1 + len / 64 + tap_rand() % 97) {
		uint64_t n = len + 4;

		if (codec_da_geometry(len, &k, &s) != 0 || (uint64_t)k * k * s < n || s % 32 ||
		    s > CODEC_DA_MAX_SHARE ||
		    (k > 1 && (uint64_t)(k / 2) * (k / 2) * CODEC_DA_MAX_SHARE >= n) ||
		    (uint64_t)k * k * (s - 32) >= n) {
			diag("len %llu: k %u s %zu", (unsigned long long)len, k, s);
			minimal = false;
			break;
		}
	}
	ok(minimal, "every size fits its square, with the smallest k and s");
	k = 7;
	ok(codec_da_geometry(CODEC_DA_MAX_BLOB + 1, &k, &s) == -E2BIG && k == 7,
	   "one byte over the maximum is -E2BIG, nothing written");
}

static void check_round_trip(size_t len)
{
	uint8_t *blob = xmalloc(len), *back = NULL;
	struct codec_da_square *sq = NULL;
	size_t back_len = 0;
	unsigned k;
	size_t s;
	int err;

	tap_fill(blob, len);
	err = codec_da_encode(blob, len, 2, &sq);
	if (!ok(err == 0, "%zu B: encode", len)) {
		free(blob);
		return;
	}
	codec_da_geometry(len, &k, &s);
	err = codec_da_blob(sq, &back, &back_len);
	ok(err == 0 && back_len == len && memcmp(back, blob, len) == 0 && sq->k == k &&
	       sq->share_size == s,
	   "%zu B: k=%u s=%zu, the blob comes back", len, sq->k, sq->share_size);
	free(back);
	codec_da_square_free(sq);
	free(blob);
}

static void check_length_field(void)
{
	struct codec_da_square *sq = encode_random(1000, 1);
	uint8_t *back = (uint8_t *)&back;
	size_t back_len = 12345;
	uint8_t save[4];

	memcpy(save, sq->shares, 4);
	sq->shares[0] ^= 0x40; /* 1000 -> 936: the padding after it is no longer zero */
	ok(codec_da_blob(sq, &back, &back_len) == -CODEC_EDA_LENGTH && back_len == 12345,
	   "a shorter length field over nonzero bytes: CODEC_EDA_LENGTH, nothing written");
	memcpy(sq->shares, save, 4);
	sq->shares[2] = 1; /* 66,536 B: another geometry */
	ok(codec_da_blob(sq, &back, &back_len) == -CODEC_EDA_LENGTH,
	   "a length of another geometry: CODEC_EDA_LENGTH");
	memcpy(sq->shares, save, 4);
	sq->shares[3] = 0xff; /* over the maximum */
	ok(codec_da_blob(sq, &back, &back_len) == -CODEC_EDA_LENGTH,
	   "a length over the maximum: CODEC_EDA_LENGTH");
	memcpy(sq->shares, save, 4);
	codec_da_share(sq, 0, 0)[4 + 1000] = 1;
	ok(codec_da_blob(sq, &back, &back_len) == -CODEC_EDA_LENGTH,
	   "a nonzero padding byte: CODEC_EDA_LENGTH");
	codec_da_square_free(sq);
}

/* Every row and every column: its last k shares are codec_rs's parity of its first k. */
static bool all_codewords(const struct codec_da_square *sq)
{
	const unsigned k = sq->k;
	const size_t s = sq->share_size;
	struct codec_rs *rs;
	uint8_t *parity = xmalloc(k * s);
	const uint8_t *data[CODEC_RS_MAX_SHARDS];
	uint8_t *par[CODEC_RS_MAX_SHARDS];
	bool good = true;

	if (codec_rs_new(k, k, &rs) != 0)
		return false;
	for (unsigned i = 0; i < k; i++)
		par[i] = parity + (size_t)i * s;
	for (int axis = 0; axis < 2 && good; axis++) {
		for (unsigned line = 0; line < 2 * k && good; line++) {
			for (unsigned i = 0; i < k; i++)
				data[i] = axis ? codec_da_share(sq, i, line)
					       : codec_da_share(sq, line, i);
			codec_rs_encode(rs, s, data, par);
			for (unsigned i = 0; i < k && good; i++) {
				const uint8_t *got = axis ? codec_da_share(sq, k + i, line)
							  : codec_da_share(sq, line, k + i);

				if (memcmp(got, par[i], s)) {
					diag("%s %u, parity share %u differs",
					     axis ? "column" : "row", line, i);
					good = false;
				}
			}
		}
	}
	codec_rs_free(rs);
	free(parity);
	return good;
}

/* Roots from the shares with the reference keccak, independently of codec_da_commit(). */
static bool roots_match(const struct codec_da_square *sq)
{
	const unsigned side = 2 * sq->k;
	codec_hash *line = xmalloc(side * sizeof(codec_hash));
	codec_hash *roots = xmalloc(2 * side * sizeof(codec_hash));
	uint8_t data_root[CODEC_HASH_SIZE];
	bool good = true;

	for (unsigned axis = 0; axis < 2; axis++) {
		for (unsigned l = 0; l < side; l++) {
			for (unsigned i = 0; i < side; i++)
				codec_keccak256_ref(axis ? codec_da_share(sq, i, l)
							 : codec_da_share(sq, l, i),
						    sq->share_size, line[i]);
			codec_root_of_leaves(line[0], side, roots[axis * side + l]);
		}
	}
	codec_root_of_leaves(roots[0], 2 * side, data_root);
	good = memcmp(roots, sq->row_roots, side * sizeof(codec_hash)) == 0 &&
	       memcmp(roots + side, sq->col_roots, side * sizeof(codec_hash)) == 0 &&
	       memcmp(data_root, sq->data_root, CODEC_HASH_SIZE) == 0;
	free(line);
	free(roots);
	return good;
}

static void check_extension(size_t len)
{
	struct codec_da_square *one = encode_random(len, 1);

	ok(all_codewords(one), "%zu B, k=%u: every row and column is a codeword", len, one->k);
	ok(roots_match(one), "%zu B, k=%u: row, column and data roots recomputed independently",
	   len, one->k);
	codec_da_square_free(one);
}

static void check_threads(void)
{
	struct codec_da_square *a, *b;

	tap_seed(77);
	a = encode_random(1 << 20, 1);
	tap_seed(77);
	b = encode_random(1 << 20, 5);
	ok(memcmp(a->shares, b->shares, square_bytes(a)) == 0 &&
	       memcmp(a->data_root, b->data_root, CODEC_HASH_SIZE) == 0,
	   "1 and 5 threads give the same square and data root");
	codec_da_square_free(a);
	codec_da_square_free(b);
}

/* Prove, encode, decode, verify one share through one axis. */
static int prove_verify(const struct codec_da_square *sq, unsigned r, unsigned c,
			enum codec_da_axis axis)
{
	uint8_t buf[CODEC_DA_PROOF_MAX];
	struct codec_da_proof p, q;
	size_t n;
	int err;

	err = codec_da_prove(sq, r, c, axis, &p);
	if (err)
		return err;
	n = codec_da_proof_encode(&p, buf);
	if (n != codec_da_proof_size(sq->k))
		return -1000;
	err = codec_da_proof_decode(buf, n, &q);
	if (err)
		return err;
	return codec_da_proof_verify(&q, sq->data_root, sq->k, r, c, codec_da_share(sq, r, c),
				     sq->share_size);
}

static void check_all_proofs(size_t len)
{
	struct codec_da_square *sq = encode_random(len, 2);
	unsigned failed = 0, count = 0;

	for (unsigned r = 0; r < 2 * sq->k; r++)
		for (unsigned c = 0; c < 2 * sq->k; c++)
			for (int axis = 0; axis < 2; axis++, count++)
				failed +=
				    prove_verify(sq, r, c, axis ? CODEC_DA_COL : CODEC_DA_ROW) != 0;
	ok(!failed, "k=%u: all %u share proofs (both axes) verify after encode/decode (%u failed)",
	   sq->k, count, failed);
	codec_da_square_free(sq);
}

static void check_tampering(void)
{
	struct codec_da_square *sq = encode_random(5000, 1);
	const unsigned r = 3, c = 2;
	uint8_t share[CODEC_DA_MAX_SHARE], root[CODEC_HASH_SIZE];
	uint8_t buf[CODEC_DA_PROOF_MAX];
	enum { T_NONE, T_SHARE, T_LINE_SIB, T_LINE_ROOT, T_DATA_SIB, T_PROOF_ROOT, T_ROOT, T_AXIS };
	static const struct {
		int what, want;
		const char *name;
	} cases[] = {
	    {T_NONE, 0, "the untouched proof"},
	    {T_SHARE, -CODEC_EDA_SHARE, "tampered share"},
	    {T_LINE_SIB, -CODEC_EDA_SHARE, "tampered sibling in the row tree"},
	    {T_LINE_ROOT, -CODEC_EDA_LINE_ROOT, "tampered row root"},
	    {T_DATA_SIB, -CODEC_EDA_LINE_ROOT, "tampered sibling in the data tree"},
	    {T_PROOF_ROOT, -CODEC_EDA_DATA_ROOT, "tampered data root in the proof"},
	    {T_ROOT, -CODEC_EDA_DATA_ROOT, "another expected data root"},
	    {T_AXIS, -CODEC_EDA_LINE_ROOT, "a row proof relabelled as a column proof"},
	};
	struct codec_da_proof p, t;
	size_t n;

	if (codec_da_prove(sq, r, c, CODEC_DA_ROW, &p) != 0) {
		ok(0, "prove");
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = p;
		memcpy(share, codec_da_share(sq, r, c), sq->share_size);
		memcpy(root, sq->data_root, CODEC_HASH_SIZE);
		switch (cases[i].what) {
		case T_SHARE:
			share[17] ^= 1;
			break;
		case T_LINE_SIB:
			t.line_sib[1][0] ^= 1;
			break;
		case T_LINE_ROOT:
			t.line_root[5] ^= 1;
			break;
		case T_DATA_SIB:
			t.data_sib[2][9] ^= 1;
			break;
		case T_PROOF_ROOT:
			t.data_root[0] ^= 1;
			break;
		case T_ROOT:
			root[31] ^= 1;
			break;
		case T_AXIS: /* a row path presented as a column path */
			t.axis = CODEC_DA_COL;
			break;
		default:
			break;
		}
		ok(codec_da_proof_verify(&t, root, sq->k, r, c, share, sq->share_size) ==
		       cases[i].want,
		   "k=%u: %s: %s", sq->k, cases[i].name, codec_strerror(cases[i].want));
	}
	memcpy(share, codec_da_share(sq, r, c), sq->share_size);
	ok(codec_da_proof_verify(&p, root, sq->k, r, c + 1, codec_da_share(sq, r, c + 1),
				 sq->share_size) == -CODEC_EPROOF_POSITION,
	   "the proof of another share: CODEC_EPROOF_POSITION");
	ok(codec_da_proof_verify(&p, root, sq->k * 2, r, c, share, sq->share_size) ==
	       -CODEC_EPROOF_LENGTH,
	   "another k: CODEC_EPROOF_LENGTH");
	n = codec_da_proof_encode(&p, buf);
	ok(codec_da_proof_decode(buf, n - 1, &t) == -CODEC_EFORMAT &&
	       codec_da_proof_decode(buf, n + 1, &t) == -CODEC_EFORMAT,
	   "a proof one byte short or long: CODEC_EFORMAT");
	buf[1] = 2;
	ok(codec_da_proof_decode(buf, n, &t) == -CODEC_EFORMAT, "axis 2: CODEC_EFORMAT");
	buf[1] = 0;
	buf[2] = (uint8_t)(2 * sq->k);
	ok(codec_da_proof_decode(buf, n, &t) == -CODEC_EFORMAT,
	   "a row outside the square: CODEC_EFORMAT");
	codec_da_square_free(sq);
}

static void check_proofs_large(void)
{
	struct codec_da_square *sq = encode_random(CODEC_DA_MAX_BLOB, 2);
	unsigned failed = 0;

	ok(sq->k == 128 && sq->share_size == 1984, "the largest blob: k=128, s=1984");
	for (unsigned i = 0; i < 200; i++) {
		unsigned r = (unsigned)(tap_rand() % 256), c = (unsigned)(tap_rand() % 256);

		failed += prove_verify(sq, r, c, i & 1 ? CODEC_DA_COL : CODEC_DA_ROW) != 0;
	}
	ok(!failed, "k=128: 200 random share proofs verify (%u failed)", failed);
	ok(all_codewords(sq), "k=128: every row and column is a codeword");
	codec_da_square_free(sq);
}

/* ---- reconstruction ---- */

/* a[0..n) = 0..n-1 with its first m entries a uniformly random choice, in random order. */
static void partial_shuffle(unsigned *a, unsigned n, unsigned m)
{
	for (unsigned i = 0; i < n; i++)
		a[i] = i;
	for (unsigned i = 0; i < m; i++) {
		unsigned j = i + (unsigned)(tap_rand() % (n - i)), t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

/* The test's own peeling on flags only, as the oracle for "sufficient". */
static bool sufficient(unsigned k, const uint8_t *have_in)
{
	const unsigned side = 2 * k;
	uint8_t *have = xmalloc((size_t)side * side);
	bool progress = true, all = true;

	memcpy(have, have_in, (size_t)side * side);
	while (progress) {
		progress = false;
		for (unsigned axis = 0; axis < 2; axis++) {
			for (unsigned l = 0; l < side; l++) {
				unsigned n = 0;

				for (unsigned i = 0; i < side; i++)
					n += have[axis ? i * side + l : l * side + i];
				if (n >= k && n < side) {
					for (unsigned i = 0; i < side; i++)
						have[axis ? i * side + l : l * side + i] = 1;
					progress = true;
				}
			}
		}
	}
	for (size_t i = 0; i < (size_t)side * side; i++)
		all &= have[i] != 0;
	free(have);
	return all;
}

/* Copies the present shares into a fresh square (the absent ones filled with noise) and
 * reconstructs. Returns the error; *ret_exact says whether the result equals want where
 * it must: everywhere on success, on the present shares and absent ones as they were
 * otherwise. */
static int try_reconstruct(const struct codec_da_square *want, const uint8_t *have, bool *ret_exact)
{
	const size_t side = 2 * want->k, s = want->share_size;
	struct codec_da_square *sq;
	uint8_t *before;
	int err;

	if (codec_da_square_new(want->k, s, &sq) != 0)
		exit(1);
	tap_fill(sq->shares, square_bytes(sq));
	for (size_t i = 0; i < side * side; i++)
		if (have[i])
			memcpy(sq->shares + i * s, want->shares + i * s, s);
	before = xmalloc(square_bytes(sq));
	memcpy(before, sq->shares, square_bytes(sq));
	err = codec_da_reconstruct(sq, have, want->data_root, 2);
	if (err == 0)
		*ret_exact = memcmp(sq->shares, want->shares, square_bytes(sq)) == 0 &&
			     memcmp(sq->data_root, want->data_root, CODEC_HASH_SIZE) == 0;
	else
		*ret_exact = memcmp(sq->shares, before, square_bytes(sq)) == 0;
	free(before);
	codec_da_square_free(sq);
	return err;
}

static void check_reconstruct(void)
{
	struct codec_da_square *sq = encode_random(40000, 1); /* k = 8 */
	const unsigned k = sq->k, side = 2 * k;
	uint8_t *have = xmalloc((size_t)side * side);
	unsigned good = 0, refused = 0, wrong = 0, tries = 0;

	while ((good < 100 || refused < 100) && tries < 5000) {
		/* Density between 1/4 and 3/4: both outcomes are common. */
		unsigned p = 25 + (unsigned)(tap_rand() % 51);
		bool exact, suff;
		int err;

		tries++;
		for (unsigned i = 0; i < side * side; i++)
			have[i] = tap_rand() % 100 < p;
		suff = sufficient(k, have);
		if ((suff && good >= 100) || (!suff && refused >= 100))
			continue;
		err = try_reconstruct(sq, have, &exact);
		if (suff) {
			good++;
			wrong += err != 0 || !exact;
		} else {
			refused++;
			wrong += err != -CODEC_EDA_UNRECOVERABLE || !exact;
		}
	}
	ok(good == 100 && refused == 100 && !wrong,
	   "k=%u: %u random sufficient subsets rebuilt exactly, %u insufficient refused with "
	   "nothing written (%u wrong)",
	   k, good, refused, wrong);

	/* The least that stops it: a (k+1)×(k+1) sub-square withheld; one share fewer
	 * withheld, and it rebuilds. */
	{
		unsigned rows[CODEC_DA_MAX_K * 2], cols[CODEC_DA_MAX_K * 2];
		bool exact1, exact2;
		int e1, e2;

		partial_shuffle(rows, side, k + 1);
		partial_shuffle(cols, side, k + 1);
		memset(have, 1, (size_t)side * side);
		for (unsigned i = 0; i <= k; i++)
			for (unsigned j = 0; j <= k; j++)
				have[rows[i] * side + cols[j]] = 0;
		e1 = try_reconstruct(sq, have, &exact1);
		have[rows[0] * side + cols[0]] = 1;
		e2 = try_reconstruct(sq, have, &exact2);
		ok(e1 == -CODEC_EDA_UNRECOVERABLE && exact1 && e2 == 0 && exact2,
		   "k=%u: a withheld %u×%u sub-square is unrecoverable, one share fewer is not", k,
		   k + 1, k + 1);
	}

	/* Structured subsets: each quarter alone; k random shares per row; per column. */
	{
		unsigned bad = 0;

		for (unsigned q = 0; q < 4; q++) {
			bool exact;

			for (unsigned r = 0; r < side; r++)
				for (unsigned c = 0; c < side; c++)
					have[r * side + c] =
					    (r >= k) == (q >> 1) && (c >= k) == (q & 1);
			bad += try_reconstruct(sq, have, &exact) != 0 || !exact;
		}
		for (unsigned axis = 0; axis < 2; axis++) {
			bool exact;

			memset(have, 0, (size_t)side * side);
			for (unsigned l = 0; l < side; l++) {
				unsigned n = 0;

				while (n < k) {
					unsigned i = (unsigned)(tap_rand() % side);
					uint8_t *h = &have[axis ? i * side + l : l * side + i];

					n += !*h;
					*h = 1;
				}
			}
			bad += try_reconstruct(sq, have, &exact) != 0 || !exact;
		}
		ok(!bad,
		   "k=%u: each quarter alone, and k random shares of every row or of every "
		   "column, rebuild the square",
		   k);
	}

	/* A present share that is wrong: refused against the data root, the absent shares
	 * zeroed, never returned as data. */
	{
		struct codec_da_square *t;
		bool zeroed = true;
		int err;

		memset(have, 0, (size_t)side * side);
		for (unsigned r = 0; r < k; r++)
			for (unsigned c = 0; c < k; c++)
				have[r * side + c] = 1;
		codec_da_square_new(k, sq->share_size, &t);
		memcpy(t->shares, sq->shares, square_bytes(sq));
		codec_da_share(t, 1, 1)[3] ^= 0x80;
		err = codec_da_reconstruct(t, have, sq->data_root, 1);
		for (unsigned r = 0; r < side; r++)
			for (unsigned c = 0; c < side; c++)
				if (!have[r * side + c])
					for (size_t b = 0; b < sq->share_size; b++)
						zeroed &= codec_da_share(t, r, c)[b] == 0;
		ok(err == -CODEC_EDA_DATA_ROOT && zeroed,
		   "a wrong share among those present: CODEC_EDA_DATA_ROOT, the rebuilt shares "
		   "zeroed");
		codec_da_square_free(t);
	}
	free(have);
	codec_da_square_free(sq);
}

static void check_reconstruct_large(void)
{
	struct codec_da_square *sq = encode_random(CODEC_DA_MAX_BLOB, 2);
	const unsigned k = sq->k, side = 2 * k;
	uint8_t *have = xmalloc((size_t)side * side);
	bool exact;
	int err;

	/* Only the parity-of-parity quarter. */
	for (unsigned r = 0; r < side; r++)
		for (unsigned c = 0; c < side; c++)
			have[r * side + c] = r >= k && c >= k;
	err = try_reconstruct(sq, have, &exact);
	ok(err == 0 && exact, "k=128: the lower right quarter alone rebuilds the largest blob");
	free(have);
	codec_da_square_free(sq);
}

/* ---- sampling ---- */

static void check_sampling(void)
{
	const unsigned k = 4, side = 2 * k, all = side * side, trials = 40000;
	uint8_t withheld[64];
	bool good = true, floor99 = true;

	for (unsigned kk = 1; kk <= CODEC_DA_MAX_K; kk *= 2)
		floor99 &= codec_da_sample_confidence(kk, 16) >= 0.99;
	ok(floor99 && codec_da_sample_confidence(128, 16) < 0.992,
	   "16 samples give ≥ 99 %% for every k ≤ 128 (k=128: %.4f %%)",
	   100 * codec_da_sample_confidence(128, 16));
	for (unsigned n = 1; n <= 8; n *= 2) {
		double want = codec_da_sample_confidence(k, n), got, var, d;
		unsigned hit = 0;

		for (unsigned t = 0; t < trials; t++) {
			unsigned rows[8], cols[8], pick[64];
			bool caught = false;

			partial_shuffle(rows, side, k + 1);
			partial_shuffle(cols, side, k + 1);
			memset(withheld, 0, sizeof(withheld));
			for (unsigned i = 0; i <= k; i++)
				for (unsigned j = 0; j <= k; j++)
					withheld[rows[i] * side + cols[j]] = 1;
			/* n distinct shares uniformly at random. */
			partial_shuffle(pick, all, n);
			for (unsigned i = 0; i < n; i++)
				caught |= withheld[pick[i]] != 0;
			hit += caught;
		}
		got = (double)hit / trials;
		var = want * (1 - want) / trials;
		d = got - want;
		if (d * d > 25 * var + 1e-8) { /* five standard deviations */
			diag("n=%u: simulated %.4f, formula %.4f", n, got, want);
			good = false;
		}
	}
	ok(good,
	   "k=%u: the confidence formula matches %u simulated withholdings for n = 1, 2, "
	   "4, 8",
	   k, trials);
}

/* ---- bad-encoding proofs ---- */

/* A square in which one row was swapped for another codeword: every row is a codeword
 * under its root, the columns are not. Rebuilt from all its rows but a few shares, it
 * commits to its data root but is no product code: CODEC_EDA_CODEWORD, and the square,
 * complete, gives an accepted proof of a column. */
static void check_reconstruct_bad_columns(void)
{
	struct codec_da_square *sq = encode_random(40000, 1), *got;
	const unsigned k = sq->k, side = 2 * k, row = k + 1;
	uint8_t *have = xmalloc((size_t)side * side), *buf;
	size_t len;
	int err;

	da_swap_row(sq, row, 1);
	codec_da_square_new(k, sq->share_size, &got);
	memcpy(got->shares, sq->shares, (size_t)side * side * sq->share_size);
	memset(have, 1, (size_t)side * side);
	for (unsigned c = 0; c < 3; c++) { /* row 2 loses three shares: they are decoded */
		have[2 * side + c] = 0;
		memset(codec_da_share(got, 2, c), 0, sq->share_size);
	}
	err = codec_da_reconstruct(got, have, sq->data_root, 1);
	ok(err == -CODEC_EDA_CODEWORD &&
	       memcmp(got->data_root, sq->data_root, CODEC_HASH_SIZE) == 0,
	   "k=%u, row %u swapped for another codeword: the square rebuilds under its data root "
	   "but is no product code (%d)",
	   k, row, err);
	err = codec_da_befp_build(got, CODEC_DA_COL, 0, &buf, &len);
	ok(err == 0 && buf[3] == CODEC_DA_BEFP_CODEWORD && buf[6] == row &&
	       codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size) == 0,
	   "and the rebuilt square proves column 0 breaks the code at row %u", row);
	if (err == 0)
		free(buf);
	free(have);
	codec_da_square_free(got);
	codec_da_square_free(sq);
}

/* A square whose lines are codewords but whose committed column root is not its column's:
 * a proof of kind ROOT; and what a client with only some rows can build. */
static void check_befp_root(void)
{
	struct codec_da_square *sq = encode_random(40000, 1); /* k = 8 */
	const unsigned k = sq->k, c = 3;
	uint8_t present[2 * CODEC_DA_MAX_K], *buf;
	size_t len;
	int err;

	memset(present, 1, sizeof(present));
	sq->col_roots[c][0] ^= 1;
	codec_root_of_leaves(sq->row_roots[0], 4 * (size_t)k, sq->data_root);
	codec_da_befp_build(sq, CODEC_DA_COL, c, &buf, &len);
	err = codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size);
	ok(err == 0 && buf[3] == CODEC_DA_BEFP_ROOT &&
	       len == 10 + 32 * 6 + 2 * k * (codec_da_proof_size(k) + 32),
	   "k=%u, a column root that is not its column's: the proof of its %u leaves (%zu "
	   "bytes) is accepted (%d)",
	   k, 2 * k, len, err);
	free(buf);
	codec_da_befp_build(sq, CODEC_DA_COL, c + 1, &buf, &len);
	ok(codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size) == -CODEC_EDA_GOOD_LINE,
	   "the same square: the next column's is refused");
	free(buf);
	present[2 * k - 1] = 0;
	ok(codec_da_befp_build_partial(sq, CODEC_DA_COL, c, present, &buf, &len) == -ENODATA,
	   "a ROOT proof needs every row of the column: one missing is ENODATA");
	present[2 * k - 1] = 1;
	present[0] = 0;
	codec_da_share(sq, 2 * k - 1, c)[0] ^= 1; /* breaks the code in row 2k - 1 */
	codec_da_commit(sq, 1);
	ok(codec_da_befp_build_partial(sq, CODEC_DA_COL, c, present, &buf, &len) == -ENODATA,
	   "a CODEWORD proof needs the k data rows: row 0 missing is ENODATA");
	present[0] = 1;
	present[5] = 0; /* a data row missing: ENODATA; a parity row other than j may be */
	present[k + 1] = 0;
	err = codec_da_befp_build_partial(sq, CODEC_DA_COL, c, present, &buf, &len);
	present[5] = 1;
	ok(err == -ENODATA, "nor any other data row");
	err = codec_da_befp_build_partial(sq, CODEC_DA_COL, c, present, &buf, &len);
	ok(err == 0 && buf[3] == CODEC_DA_BEFP_CODEWORD && buf[6] == 2 * k - 1 &&
	       codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size) == 0,
	   "with the data rows and the breaking row present, parity row %u absent: a CODEWORD "
	   "proof naming row %u, accepted",
	   k + 1, 2 * k - 1);
	if (err == 0)
		free(buf);
	codec_da_square_free(sq);
}

static void check_befp(void)
{
	struct codec_da_square *sq = encode_random(40000, 1); /* k = 8 */
	const unsigned k = sq->k;
	uint8_t *buf, root[CODEC_HASH_SIZE];
	size_t len;
	int e_row, e_col;

	codec_da_befp_build(sq, CODEC_DA_ROW, 3, &buf, &len);
	e_row = codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size);
	free(buf);
	codec_da_befp_build(sq, CODEC_DA_COL, 2 * k - 1, &buf, &len);
	e_col = codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size);
	ok(e_row == -CODEC_EDA_GOOD_LINE && e_col == -CODEC_EDA_GOOD_LINE,
	   "k=%u, a good square: bad-encoding proofs of a row and a column are refused "
	   "(CODEC_EDA_GOOD_LINE)",
	   k);
	free(buf);

	/* A square committed with one wrong share in the data quarter: its row and its
	 * column are no codewords. */
	codec_da_share(sq, 2, 5)[100] ^= 0x5a;
	codec_da_commit(sq, 1);
	codec_da_befp_build(sq, CODEC_DA_ROW, 2, &buf, &len);
	e_row = codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size);
	ok(len == 10 + 32 * 6 + (k + 1) * (codec_da_proof_size(k) + sq->share_size) &&
	       buf[3] == CODEC_DA_BEFP_CODEWORD,
	   "the proof is %zu bytes: header, line root and path, %u + 1 shares with proofs", len, k);
	memcpy(root, sq->data_root, CODEC_HASH_SIZE);
	root[0] ^= 1;
	ok(codec_da_befp_verify(buf, len, root, k, sq->share_size) == -CODEC_EDA_LINE_ROOT,
	   "against another data root: refused");
	ok(codec_da_befp_verify(buf, len - 1, sq->data_root, k, sq->share_size) == -CODEC_EFORMAT &&
	       codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size + 32) ==
		   -CODEC_EFORMAT &&
	       codec_da_befp_verify(buf, len, sq->data_root, k * 2, sq->share_size) ==
		   -CODEC_EFORMAT,
	   "truncated, or for another geometry: CODEC_EFORMAT");
	buf[len - 1] ^= 1; /* the last member's share */
	ok(codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size) == -CODEC_EDA_SHARE,
	   "a member share changed: CODEC_EDA_SHARE");
	free(buf);
	codec_da_befp_build(sq, CODEC_DA_COL, 5, &buf, &len);
	e_col = codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size);
	free(buf);
	ok(e_row == 0 && e_col == 0,
	   "a badly encoded square: the proofs of its bad row and bad column are accepted");
	codec_da_befp_build(sq, CODEC_DA_ROW, 6, &buf, &len);
	ok(codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size) == -CODEC_EDA_GOOD_LINE,
	   "the same square: a proof of one of its good rows is refused");
	free(buf);

	/* The wrong share in a parity position: the first k shares rebuild the true row. */
	codec_da_share(sq, 2, 5)[100] ^= 0x5a;
	codec_da_share(sq, 1, 2 * k - 2)[0] ^= 1;
	codec_da_commit(sq, 1);
	codec_da_befp_build(sq, CODEC_DA_ROW, 1, &buf, &len);
	ok(codec_da_befp_verify(buf, len, sq->data_root, k, sq->share_size) == 0,
	   "a wrong parity share: the row's proof is accepted");
	free(buf);
	codec_da_square_free(sq);

	check_befp_root();

	sq = encode_random(CODEC_DA_MAX_BLOB, 2);
	codec_da_befp_build(sq, CODEC_DA_COL, 200, &buf, &len);
	ok(buf[3] == CODEC_DA_BEFP_ROOT &&
	       codec_da_befp_verify(buf, len, sq->data_root, sq->k, sq->share_size) ==
		   -CODEC_EDA_GOOD_LINE,
	   "k=128, a good square: a column's proof (%zu bytes, of its 256 leaves) is refused", len);
	free(buf);
	codec_da_share(sq, 130, 200)[1983] ^= 0x80;
	codec_da_commit(sq, 2);
	codec_da_befp_build(sq, CODEC_DA_COL, 200, &buf, &len);
	ok(len == CODEC_DA_BEFP_MAX && buf[3] == CODEC_DA_BEFP_CODEWORD && buf[6] == 130 &&
	       (buf[7] | buf[8] << 8) == 1983 &&
	       codec_da_befp_verify(buf, len, sq->data_root, sq->k, sq->share_size) == 0,
	   "k=128, one parity byte changed: the column's proof names row 130, byte 1983, is "
	   "CODEC_DA_BEFP_MAX = %zu bytes and is accepted",
	   len);
	free(buf);
	codec_da_square_free(sq);
}

/* One line at a time, as a signer and a sampler work: every row checks against its root
 * and is a codeword, a changed byte or parity is caught, the roots check against the data
 * root, a row's proof from the row alone equals codec_da_prove()'s, and a column rebuilt
 * from k of its shares has the committed root. */
static void check_lines(size_t len)
{
	struct codec_da_square *sq = encode_random(len, 2);
	const unsigned k = sq->k, side = 2 * k;
	const size_t s = sq->share_size, row_len = side * s;
	const uint8_t *present[2 * CODEC_DA_MAX_K] = {NULL};
	uint8_t *line = xmalloc(row_len), *col = xmalloc(row_len), root[CODEC_HASH_SIZE];
	unsigned bad = 0, proofs = 0, c = (unsigned)(tap_rand() % side);
	codec_hash roots[4 * CODEC_DA_MAX_K];
	int err;

	for (unsigned r = 0; r < side; r++)
		bad += codec_da_line_check(k, s, codec_da_share(sq, r, 0), sq->row_roots[r]) != 0;
	ok(bad == 0, "k=%u: every row is a codeword under its root", k);
	memcpy(line, codec_da_share(sq, 1, 0), row_len);
	line[row_len - 1] ^= 1; /* in the parity half: still hashes differently */
	err = codec_da_line_check(k, s, line, sq->row_roots[1]);
	ok(err == -CODEC_EDA_CODEWORD, "k=%u: a parity byte changed is not a codeword (%d)", k,
	   err);
	memcpy(line, codec_da_share(sq, 1, 0), row_len);
	err = codec_da_line_check(k, s, line, sq->data_root);
	ok(err == -CODEC_EDA_SHARE, "k=%u: a good row under another root is refused (%d)", k, err);
	memcpy(roots, sq->row_roots, 4 * (size_t)k * CODEC_HASH_SIZE);
	ok(codec_da_roots_check(k, roots[0], sq->data_root) == 0, "k=%u: the roots check", k);
	roots[2 * k + 1][3] ^= 1;
	ok(codec_da_roots_check(k, roots[0], sq->data_root) == -CODEC_EDA_DATA_ROOT,
	   "k=%u: a column root changed is caught", k);
	memcpy(roots, sq->row_roots, 4 * (size_t)k * CODEC_HASH_SIZE);
	for (unsigned i = 0; i < 16; i++) {
		unsigned r = (unsigned)(tap_rand() % side), cc = (unsigned)(tap_rand() % side);
		struct codec_da_proof a, b;

		proofs +=
		    codec_da_prove_row(k, s, codec_da_share(sq, r, 0), roots[0], r, cc, &a) == 0 &&
		    codec_da_prove(sq, r, cc, CODEC_DA_ROW, &b) == 0 &&
		    memcmp(&a, &b, sizeof(a)) == 0 &&
		    codec_da_proof_verify(&a, sq->data_root, k, r, cc, codec_da_share(sq, r, cc),
					  s) == 0;
	}
	ok(proofs == 16, "k=%u: proofs from a row alone are codec_da_prove()'s and verify", k);
	for (unsigned r = 0; r < side; r += 2) /* every other share of column c: k of them */
		present[r] = codec_da_share(sq, r, c);
	err = codec_da_line_rebuild(k, s, present, col, root);
	ok(err == 0 && memcmp(root, sq->col_roots[c], CODEC_HASH_SIZE) == 0 &&
	       memcmp(col + s, codec_da_share(sq, 1, c), s) == 0,
	   "k=%u: column %u rebuilt from k shares has its committed root", k, c);
	present[0] = NULL;
	ok(codec_da_line_rebuild(k, s, present, col, root) == -EINVAL,
	   "k=%u: k - 1 shares do not rebuild a line", k);
	free(line);
	free(col);
	codec_da_square_free(sq);
}

int main(void)
{
	tap_seed(0x5eed0da);
	check_geometry();
	check_round_trip(0);
	check_round_trip(1);
	check_round_trip(1 << 20);
	check_round_trip(CODEC_DA_MAX_BLOB);
	check_length_field();
	check_extension(1);
	check_extension(5000);
	check_extension(1 << 20);
	check_threads();
	check_all_proofs(100);	 /* k = 1 */
	check_all_proofs(5000);	 /* k = 2 */
	check_all_proofs(40000); /* k = 8 */
	check_tampering();
	check_proofs_large();
	check_reconstruct();
	check_reconstruct_large();
	check_sampling();
	check_befp();
	check_reconstruct_bad_columns();
	check_lines(1);
	check_lines(1 << 20);
	return tap_done();
}
