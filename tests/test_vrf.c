/*
 * test_vrf.c - ECVRF-EDWARDS25519-SHA512-TAI (codec/vrf.h): keys against libsodium's
 * Ed25519, prove/verify round trips, every wrong key, input and proof refused, the s < L
 * and small-order key checks, and a proof whose Γ carries a torsion component (accepted
 * exactly when the RFC's equations hold, with the honest proof's output).
 *
 * RFC 9381's own test vectors (appendix B.3, examples 16-18) are not in this file: they
 * are to be copied from the RFC's text, which was not at hand when it was written.
 */
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/vrf.h"
#include "tests/tap.h"

static const uint8_t identity[32] = {1};

static void check_keys(void)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < 50; i++) {
		uint8_t sk[32], pk[32], want[32], sodium_sk[64];

		tap_fill(sk, sizeof(sk));
		crypto_sign_seed_keypair(want, sodium_sk, sk);
		bad += codec_vrf_public_key(sk, pk) != 0 || memcmp(pk, want, 32) != 0;
	}
	ok(!bad, "50 public keys equal libsodium's Ed25519 keys for the same seeds (%u differ)",
	   bad);
}

static void check_round_trips(void)
{
	unsigned bad = 0, rejected = 0, count = 0;

	for (unsigned i = 0; i < 40; i++) {
		uint8_t sk[32], pk[32], other[32], pi[80], pi2[80], beta[64], beta2[64];
		uint8_t alpha[300];
		size_t len = i < 4 ? i : (size_t)(tap_rand() % sizeof(alpha));

		tap_fill(sk, sizeof(sk));
		tap_fill(alpha, sizeof(alpha));
		codec_vrf_public_key(sk, pk);
		if (codec_vrf_prove(sk, alpha, len, pi) != 0 ||
		    codec_vrf_prove(sk, alpha, len, pi2) != 0 || memcmp(pi, pi2, 80) != 0 ||
		    codec_vrf_verify(pk, pi, alpha, len, beta) != 0 ||
		    codec_vrf_proof_to_hash(pi, beta2) != 0 || memcmp(beta, beta2, 64) != 0)
			bad++;
		/* Another key; the input changed or one byte longer. */
		tap_fill(other, sizeof(other));
		codec_vrf_public_key(other, other);
		rejected += codec_vrf_verify(other, pi, alpha, len, NULL) == -CODEC_EVRF_PROOF;
		alpha[0] ^= 1;
		rejected +=
		    codec_vrf_verify(pk, pi, alpha, len ? len : 1, NULL) == -CODEC_EVRF_PROOF;
		alpha[0] ^= 1;
		rejected += codec_vrf_verify(pk, pi, alpha, len + 1, NULL) == -CODEC_EVRF_PROOF;
		count += 3;
	}
	ok(!bad,
	   "40 keys and inputs of 0-299 bytes: proofs are deterministic, verify, and "
	   "give proof_to_hash's output (%u bad)",
	   bad);
	ok(rejected == count, "%u of %u proofs refused for another key or another input", rejected,
	   count);
}

static void check_bit_flips(void)
{
	uint8_t sk[32], pk[32], pi[80];
	const char alpha[] = "quorum epoch 7";
	unsigned accepted = 0;

	tap_fill(sk, sizeof(sk));
	codec_vrf_public_key(sk, pk);
	codec_vrf_prove(sk, alpha, sizeof(alpha) - 1, pi);
	for (unsigned bit = 0; bit < 640; bit++) {
		pi[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		accepted += codec_vrf_verify(pk, pi, alpha, sizeof(alpha) - 1, NULL) == 0;
		pi[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ok(!accepted, "each of the proof's 640 bits flipped: refused (%u accepted)", accepted);
	pk[3] ^= 0x20;
	ok(codec_vrf_verify(pk, pi, alpha, sizeof(alpha) - 1, NULL) != 0,
	   "the public key with one bit flipped: refused");
}

/* s + L is the same scalar, and RFC 9381 still refuses it: s must be below L. */
static void check_s_range(void)
{
	static const uint8_t order[32] = {
	    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
	    0xa2, 0xde, 0xf9, 0xde, 0x14, 0,	0,    0,    0,	  0,	0,
	    0,	  0,	0,    0,    0,	  0,	0,    0,    0,	  0x10,
	};
	uint8_t sk[32] = {42}, pk[32], pi[80], beta[64];
	unsigned carry = 0;

	codec_vrf_public_key(sk, pk);
	codec_vrf_prove(sk, "x", 1, pi);
	for (int i = 0; i < 32; i++) {
		unsigned v = pi[48 + i] + order[i] + carry;

		pi[48 + i] = (uint8_t)v;
		carry = v >> 8;
	}
	ok(codec_vrf_verify(pk, pi, "x", 1, NULL) == -CODEC_EVRF_PROOF &&
	       codec_vrf_proof_to_hash(pi, beta) == -CODEC_EVRF_PROOF,
	   "s + L in place of s: refused by verify and proof_to_hash");
}

static void check_bad_keys(void)
{
	/* Small-order points: the identity, order 2, order 4 (both), order 8 (two of them);
	 * their orders are checked below, so the list proves itself. */
	static const uint8_t small[][32] = {
	    {1},
	    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	    {0},
	    {[31] = 0x80},
	    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
	     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
	     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
	     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
	     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	};
	/* y = 1 + p: the identity's non-canonical encoding; y = 1 with the sign bit. */
	static const uint8_t noncanon[][32] = {
	    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	    {1, [31] = 0x80},
	};
	uint8_t sk[32] = {7}, pk[32], pi[80];
	unsigned wrong = 0, small_order = 0;

	codec_vrf_public_key(sk, pk);
	codec_vrf_prove(sk, NULL, 0, pi);
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		uint8_t t[32];

		/* On the curve, and 8·P is the identity. */
		if (crypto_core_ed25519_add(t, small[i], small[i]) == 0 &&
		    crypto_core_ed25519_add(t, t, t) == 0 &&
		    crypto_core_ed25519_add(t, t, t) == 0 && memcmp(t, identity, 32) == 0)
			small_order++;
		wrong += codec_vrf_verify(small[i], pi, NULL, 0, NULL) != -CODEC_EVRF_KEY;
	}
	for (size_t i = 0; i < sizeof(noncanon) / sizeof(noncanon[0]); i++)
		wrong += codec_vrf_verify(noncanon[i], pi, NULL, 0, NULL) != -CODEC_EVRF_KEY;
	ok(small_order == 6 && !wrong,
	   "6 small-order keys and 2 non-canonical encodings refused as keys (%u wrong)", wrong);
	memcpy(pi, noncanon[0], 32);
	ok(codec_vrf_verify(pk, pi, NULL, 0, NULL) == -CODEC_EVRF_PROOF,
	   "a non-canonical Γ: refused");
}

/* ---- a proof with a torsion component in Γ ---- */

/* The suite's hash to the curve, written out here from RFC 9381 section 5.4.1.1. */
static void tai(const uint8_t pk[32], const void *alpha, size_t len, uint8_t h[32])
{
	for (unsigned ctr = 0;; ctr++) {
		uint8_t buf[64 + 300], out[64], t[32];
		size_t n = 0;

		buf[n++] = 0x03;
		buf[n++] = 0x01;
		memcpy(buf + n, pk, 32);
		n += 32;
		memcpy(buf + n, alpha, len);
		n += len;
		buf[n++] = (uint8_t)ctr;
		buf[n++] = 0x00;
		crypto_hash_sha512(out, buf, n);
		if (crypto_core_ed25519_add(t, out, out) != 0)
			continue;
		crypto_core_ed25519_add(t, t, t);
		crypto_core_ed25519_add(h, t, t);
		return;
	}
}

/*
 * Γ' = Γ + T with T of order 2, and a nonce k for which the challenge c comes out even:
 * then c·T is the identity, U = k·B and V = k·H satisfy the verifier's equations, and the
 * RFC accepts (Γ', c, s = k + c·x). Its output must be the honest proof's, since 8Γ' = 8Γ.
 * With an odd c the same construction fails the equations and must be refused.
 */
static void check_torsion(void)
{
	static const uint8_t t2[32] = {
	    0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	const char alpha[] = "torsion";
	uint8_t sk[32] = {9}, az[64], x[32], wide[64] = {0}, pk[32], h[32], gamma[32], g2[32];
	uint8_t honest[80], beta[64], beta2[64];
	bool even_ok = false, odd_refused = false, same_beta = false;

	codec_vrf_public_key(sk, pk);
	codec_vrf_prove(sk, alpha, sizeof(alpha) - 1, honest);
	if (codec_vrf_proof_to_hash(honest, beta) != 0)
		return;
	crypto_hash_sha512(az, sk, 32);
	az[0] &= 248;
	az[31] &= 127;
	az[31] |= 64;
	memcpy(wide, az, 32);
	crypto_core_ed25519_scalar_reduce(x, wide);
	tai(pk, alpha, sizeof(alpha) - 1, h);
	if (crypto_scalarmult_ed25519_noclamp(gamma, x, h) != 0 || memcmp(gamma, honest, 32) ||
	    crypto_core_ed25519_add(g2, gamma, t2) != 0) {
		ok(0, "the test's own H and Γ agree with codec_vrf_prove()");
		return;
	}
	for (unsigned tries = 0; tries < 64 && !(even_ok && odd_refused); tries++) {
		uint8_t k[32], u[32], v[32], c[32] = {0}, cx[32], pi[80], buf[163], out[64];

		crypto_core_ed25519_scalar_random(k);
		if (crypto_scalarmult_ed25519_base_noclamp(u, k) != 0 ||
		    crypto_scalarmult_ed25519_noclamp(v, k, h) != 0)
			continue;
		buf[0] = 0x03;
		buf[1] = 0x02;
		memcpy(buf + 2, pk, 32);
		memcpy(buf + 34, h, 32);
		memcpy(buf + 66, g2, 32);
		memcpy(buf + 98, u, 32);
		memcpy(buf + 130, v, 32);
		buf[162] = 0x00;
		crypto_hash_sha512(out, buf, sizeof(buf));
		memcpy(c, out, 16);
		crypto_core_ed25519_scalar_mul(cx, c, x);
		memcpy(pi, g2, 32);
		memcpy(pi + 32, c, 16);
		crypto_core_ed25519_scalar_add(pi + 48, k, cx);
		if (c[0] & 1) {
			odd_refused = codec_vrf_verify(pk, pi, alpha, sizeof(alpha) - 1, NULL) ==
				      -CODEC_EVRF_PROOF;
		} else {
			even_ok = codec_vrf_verify(pk, pi, alpha, sizeof(alpha) - 1, beta2) == 0;
			same_beta = even_ok && memcmp(beta, beta2, 64) == 0;
		}
	}
	ok(even_ok && same_beta && odd_refused,
	   "Γ with an order-2 component: accepted when c·T vanishes (same output as the honest "
	   "proof), refused when it does not");
}

int main(void)
{
	if (sodium_init() < 0)
		skip_all("libsodium cannot initialise");
	tap_seed(0x5eedf00d);
	check_keys();
	check_round_trips();
	check_bit_flips();
	check_s_range();
	check_bad_keys();
	check_torsion();
	return tap_done();
}
