/*
 * datool - chain/da.h on the command line, for tests/compat/da_contract.js: what a signer
 * and a node compute beside the DA contract.
 *
 *   datool key VRFSEED                          the VRF public key of a seed
 *   datool prove VRFSEED CHAIN DA EPOCH SEED    the proof for epoch EPOCH's draw, SEED the
 *                                               previous epoch's seed (DA.seedOf)
 *   datool quorum CHAIN DA EPOCH SEED UNIT T    the draw among the signers on standard
 *                                               input, one per line "0xACCOUNT 0xVRFKEY
 *                                               STAKE 0xPROOF": prints "digest 0x…",
 *                                               "members M", then "slot J 0xACCOUNT"
 *   datool digest CHAIN DA EPOCH QDIGEST ROOT LEN   the digest signers sign
 *   datool sign SECRET DIGEST                   a signer's signature (65 bytes, hex)
 *   datool verify CHAIN DA EPOCH SEED UNIT T CERT   the quorum as for `quorum`, then the
 *                                               certificate (hex) checked against it:
 *                                               "ok SLOTS", or "refused CODE: MESSAGE"
 *   datool share LEN [ROW COL]                  the blob of LEN bytes i·7 mod 251 encoded:
 *                                               "root 0x…", and with ROW COL that share
 *                                               ("share 0x…") and its proof through its
 *                                               row as DA.answerSample takes it ("proof
 *                                               0x… 0x…": row root, row tree siblings,
 *                                               data tree siblings)
 *   datool befp LEN HOW AXIS INDEX               the same blob's square made bad (HOW:
 *                                               "good", "share:R:C" one byte of share
 *                                               (R, C) changed, "colroot:C" column root C
 *                                               changed, each then committed): "root 0x…"
 *                                               and the bad-encoding proof of line INDEX
 *                                               of AXIS (row or col), "proof 0x…"
 *   datool square LEN R DIR                      the same blob's square with row R changed
 *                                               to another codeword (its first share
 *                                               altered, its parity half re-encoded), so
 *                                               every row is a codeword and the columns
 *                                               are not; committed, written as DIR/roots
 *                                               (4k line roots) and DIR/row.N; prints
 *                                               "root 0x…", "k K"
 *
 * Numbers are decimal, byte strings 0x-hex. Exit 0 on success, 1 on a refusal or
 * failure, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/da.h"
#include "codec/da.h"
#include "codec/hex.h"
#include "codec/merkle.h"
#include "codec/vrf.h"
#include "tests/da_bad_square.h"

static void hex_out(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 3);

	if (!h)
		exit(1);
	codec_hex_encode(p, n, h);
	printf("%s\n", h);
	free(h);
}

static void hex_in(const char *s, uint8_t *p, size_t n)
{
	if (codec_hex_decode(s, p, n) != 0) {
		fprintf(stderr, "datool: %s is not %zu bytes of hex\n", s, n);
		exit(2);
	}
}

/* CHAIN DA EPOCH SEED [UNIT T] */
static struct chain_da_epoch epoch_args(char **a, bool draw)
{
	struct chain_da_epoch ep = {0};

	ep.chain_id = strtoull(a[0], NULL, 10);
	hex_in(a[1], ep.contract, CHAIN_ADDRESS_SIZE);
	ep.epoch = strtoull(a[2], NULL, 10);
	hex_in(a[3], ep.seed, 32);
	if (draw) {
		ep.stake_unit = strtoull(a[4], NULL, 10);
		ep.slots = (unsigned)strtoul(a[5], NULL, 10);
	}
	return ep;
}

static int draw(const struct chain_da_epoch *ep, struct chain_da_quorum *q)
{
	static struct chain_da_signer s[CHAIN_DA_SIGNERS_MAX];
	char acc[64], key[80], proof[200];
	unsigned long long stake;
	size_t n = 0;
	int r;

	while (n < CHAIN_DA_SIGNERS_MAX &&
	       scanf("%63s %79s %llu %199s", acc, key, &stake, proof) == 4) {
		hex_in(acc, s[n].account, CHAIN_ADDRESS_SIZE);
		hex_in(key, s[n].vrf_key, CODEC_VRF_PUBLIC_SIZE);
		hex_in(proof, s[n].proof, CODEC_VRF_PROOF_SIZE);
		s[n++].stake = stake;
	}
	r = chain_da_quorum(ep, s, n, q);
	if (r < 0)
		printf("refused %d: %s\n", r, chain_strerror(r));
	return r;
}

/* The blob of len bytes i·7 mod 251, encoded. */
static struct codec_da_square *test_square(size_t len)
{
	struct codec_da_square *sq = NULL;
	uint8_t *blob = malloc(len ? len : 1);

	if (!blob)
		exit(1);
	for (size_t i = 0; i < len; i++)
		blob[i] = (uint8_t)(i * 7 % 251);
	if (codec_da_encode(blob, len, 2, &sq) < 0)
		exit(1);
	free(blob);
	return sq;
}

/* datool befp LEN HOW AXIS INDEX */
static int befp(size_t len, const char *how, const char *axis, unsigned index)
{
	struct codec_da_square *sq = test_square(len);
	unsigned r, c;
	uint8_t *buf;
	size_t n;

	if (sscanf(how, "share:%u:%u", &r, &c) == 2 && r < 2 * sq->k && c < 2 * sq->k) {
		codec_da_share(sq, r, c)[0] ^= 0x5a;
		codec_da_commit(sq, 2);
	} else if (sscanf(how, "colroot:%u", &c) == 1 && c < 2 * sq->k) {
		sq->col_roots[c][0] ^= 1;
		codec_root_of_leaves(sq->row_roots[0], 4 * (size_t)sq->k, sq->data_root);
	} else if (strcmp(how, "good") != 0) {
		return 2;
	}
	printf("root ");
	hex_out(sq->data_root, 32);
	if (codec_da_befp_build(sq, strcmp(axis, "col") == 0 ? CODEC_DA_COL : CODEC_DA_ROW, index,
				&buf, &n) < 0)
		return 1;
	printf("proof ");
	hex_out(buf, n);
	free(buf);
	codec_da_square_free(sq);
	return 0;
}

/* datool square LEN R DIR */
static int square(size_t len, unsigned row, const char *dir)
{
	struct codec_da_square *sq = test_square(len);
	const unsigned k = sq->k;
	char path[4096];
	FILE *f;

	if (da_swap_row(sq, row, 2) < 0)
		return 2;
	snprintf(path, sizeof(path), "%s/roots", dir);
	f = fopen(path, "wb");
	if (!f || fwrite(sq->row_roots, CODEC_HASH_SIZE, 4 * (size_t)k, f) != 4 * (size_t)k)
		return 1;
	fclose(f);
	for (unsigned r = 0; r < 2 * k; r++) {
		snprintf(path, sizeof(path), "%s/row.%u", dir, r);
		f = fopen(path, "wb");
		if (!f || fwrite(codec_da_share(sq, r, 0), sq->share_size, 2 * k, f) != 2 * k)
			return 1;
		fclose(f);
	}
	printf("root ");
	hex_out(sq->data_root, 32);
	printf("k %u\n", k);
	codec_da_square_free(sq);
	return 0;
}

/* datool share LEN [ROW COL] */
static int share(size_t len, int nrc, char **rc)
{
	struct codec_da_square *sq = test_square(len);
	struct codec_da_proof p;
	unsigned depth = 0;
	int r = 0;

	printf("root ");
	hex_out(sq->data_root, 32);
	if (nrc == 2) {
		unsigned row = (unsigned)strtoul(rc[0], NULL, 10),
			 col = (unsigned)strtoul(rc[1], NULL, 10);

		r = codec_da_prove(sq, row, col, CODEC_DA_ROW, &p);
		if (r == 0) {
			printf("share ");
			hex_out(codec_da_share(sq, row, col), sq->share_size);
			while ((1u << depth) < 2 * sq->k)
				depth++;
			printf("proof");
			for (unsigned i = 0; i < 2 * depth + 2; i++) {
				const uint8_t *h = i == 0	? p.line_root
						   : i <= depth ? p.line_sib[i - 1]
								: p.data_sib[i - 1 - depth];
				char x[67];

				codec_hex_encode(h, 32, x);
				printf(" %s", x);
			}
			printf("\n");
		}
	}
	codec_da_square_free(sq);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	uint8_t seed[32], pk[32], pi[80], digest[32], sig[65], root[32];
	struct chain_da_epoch ep;
	struct chain_da_quorum q;

	if (strcmp(cmd, "key") == 0 && argc == 3) {
		hex_in(argv[2], seed, 32);
		if (codec_vrf_public_key(seed, pk) != 0)
			return 1;
		hex_out(pk, 32);
	} else if (strcmp(cmd, "prove") == 0 && argc == 7) {
		uint8_t alpha[CHAIN_DA_ALPHA_SIZE];

		hex_in(argv[2], seed, 32);
		ep = epoch_args(argv + 3, false);
		chain_da_alpha(&ep, alpha);
		if (codec_vrf_prove(seed, alpha, sizeof(alpha), pi) != 0)
			return 1;
		hex_out(pi, 80);
	} else if (strcmp(cmd, "quorum") == 0 && argc == 8) {
		ep = epoch_args(argv + 2, true);
		if (draw(&ep, &q) < 0)
			return 1;
		printf("digest ");
		hex_out(q.digest, 32);
		printf("members %zu\n", q.members);
		for (unsigned j = 0; j < q.slots; j++) {
			printf("slot %u ", j);
			hex_out(q.account[q.slot_rank[j]], CHAIN_ADDRESS_SIZE);
		}
	} else if (strcmp(cmd, "digest") == 0 && argc == 8) {
		memset(&q, 0, sizeof(q));
		ep = epoch_args((char *[]){argv[2], argv[3], argv[4], argv[5]}, false);
		q.epoch = ep.epoch;
		hex_in(argv[5], q.digest, 32);
		hex_in(argv[6], root, 32);
		chain_da_sign_digest(&ep, &q, root, strtoull(argv[7], NULL, 10), digest);
		hex_out(digest, 32);
	} else if (strcmp(cmd, "sign") == 0 && argc == 4) {
		hex_in(argv[2], seed, 32);
		hex_in(argv[3], digest, 32);
		if (chain_da_sign(seed, digest, sig) != 0)
			return 1;
		hex_out(sig, 65);
	} else if (strcmp(cmd, "verify") == 0 && argc == 9) {
		static uint8_t bin[CHAIN_DA_CERT_MAX];
		struct chain_da_cert c;
		size_t len = strlen(argv[8]) / 2 - 1;
		unsigned slots = 0;
		int r;

		ep = epoch_args(argv + 2, true);
		if (len > sizeof(bin) || codec_hex_decode(argv[8], bin, len) != 0 ||
		    chain_da_cert_decode(bin, len, &c) != 0) {
			printf("refused: not a certificate\n");
			return 1;
		}
		if (draw(&ep, &q) < 0)
			return 1;
		r = chain_da_cert_verify(&ep, &q, &c, &slots);
		if (r == 0)
			printf("ok %u\n", slots);
		else
			printf("refused %d: %s\n", r, chain_strerror(r));
		return r == 0 ? 0 : 1;
	} else if (strcmp(cmd, "square") == 0 && argc == 5) {
		return square(strtoull(argv[2], NULL, 10), (unsigned)strtoul(argv[3], NULL, 10),
			      argv[4]);
	} else if (strcmp(cmd, "befp") == 0 && argc == 6) {
		return befp(strtoull(argv[2], NULL, 10), argv[3], argv[4],
			    (unsigned)strtoul(argv[5], NULL, 10));
	} else if (strcmp(cmd, "share") == 0 && (argc == 3 || argc == 5)) {
		return share(strtoull(argv[2], NULL, 10), argc - 3, argv + 3);
	} else {
		fprintf(stderr, "datool: bad usage (see the top of tests/compat/datool.c)\n");
		return 2;
	}
	return 0;
}
