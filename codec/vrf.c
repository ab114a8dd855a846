/*
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381) on libsodium 1.0.18's edwards25519 core.
 *
 * libsodium gives point addition for any curve point (crypto_core_ed25519_add/sub), but
 * scalar multiplication only for points of the prime-order subgroup
 * (crypto_scalarmult_ed25519_noclamp refuses the others, and a zero scalar or result).
 * The RFC's verifier multiplies the public key and Γ, which a prover chooses, so a point
 * P of any order is split: 8P is in the subgroup, P₀ = 8⁻¹·(8P) is P's prime-order part
 * and T = P − P₀ its torsion part, of order dividing 8, so n·P = n·P₀ + (n mod 8)·T. The
 * points the prover computes (x·H, k·H, with H already multiplied by the cofactor) are
 * all in the subgroup.
 *
 * Every point here is handled as its 32-byte encoding; libsodium's outputs are
 * canonical, and every input is checked to be canonical first (RFC 8032 decoding), so
 * encodings compare as points.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/vrf.h"

#define SUITE 0x03
#define PT    32 /* point encoding, scalar */
#define CLEN  16 /* challenge */

static const uint8_t identity[PT] = {1};

/* The group order L, little-endian. */
static const uint8_t order[PT] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* Little-endian a < b, for 32-byte numbers. */
static int lt(const uint8_t *a, const uint8_t *b)
{
	for (int i = PT - 1; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] < b[i];
	return 0;
}

/*
 * string_to_point's checks (RFC 8032 section 5.1.3): y < p, no "negative zero" x, and a
 * point on the curve (crypto_core_ed25519_add decompresses both operands and refuses
 * what is not on the curve). Returns 0 for a valid encoding.
 */
static int point_valid(const uint8_t s[PT])
{
	static const uint8_t p[PT] = {
	    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	uint8_t y[PT], tmp[PT];

	memcpy(y, s, PT);
	y[31] &= 0x7f;
	if (!lt(y, p))
		return -1;
	/* x = 0 exactly when y = ±1; then the sign bit must be clear. */
	if (s[31] & 0x80) {
		uint8_t pm1[PT];

		memcpy(pm1, p, PT);
		pm1[0] -= 1;
		if (memcmp(y, identity, PT) == 0 || memcmp(y, pm1, PT) == 0)
			return -1;
	}
	return crypto_core_ed25519_add(tmp, s, s) == 0 ? 0 : -1;
}

/* 8·P for a valid point P. */
static void mul_cofactor(uint8_t out[PT], const uint8_t p[PT])
{
	uint8_t t[PT];

	crypto_core_ed25519_add(t, p, p);
	crypto_core_ed25519_add(t, t, t);
	crypto_core_ed25519_add(out, t, t);
}

/* n mod L, for a 32-byte little-endian n. */
static void reduce32(uint8_t out[PT], const uint8_t n[PT])
{
	uint8_t wide[64] = {0};

	memcpy(wide, n, PT);
	crypto_core_ed25519_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof(wide));
}

/* n·B; the identity for n ≡ 0 (libsodium refuses a zero scalar). */
static void mul_base(uint8_t out[PT], const uint8_t n[PT])
{
	uint8_t r[PT];

	reduce32(r, n);
	if (crypto_scalarmult_ed25519_base_noclamp(out, r) != 0)
		memcpy(out, identity, PT);
	sodium_memzero(r, sizeof(r));
}

/* n·P for any valid point P and a 32-byte little-endian n. Returns 0, or -1 if libsodium
 * refuses 8P as a subgroup point, which the group structure rules out. */
static int mul_point(uint8_t out[PT], const uint8_t n[PT], const uint8_t p[PT])
{
	uint8_t p8[PT], p0[PT], t[PT], q0[PT], tn[PT], r[PT];
	uint8_t inv8[PT], eight[PT] = {8};

	mul_cofactor(p8, p);
	if (memcmp(p8, identity, PT) == 0) {
		memcpy(p0, identity, PT); /* P is all torsion */
		memcpy(t, p, PT);
	} else {
		if (crypto_core_ed25519_scalar_invert(inv8, eight) != 0 ||
		    crypto_scalarmult_ed25519_noclamp(p0, inv8, p8) != 0)
			return -1;
		crypto_core_ed25519_sub(t, p, p0);
	}
	reduce32(r, n);
	if (memcmp(p0, identity, PT) == 0 || crypto_scalarmult_ed25519_noclamp(q0, r, p0) != 0)
		memcpy(q0, identity, PT); /* the zero scalar, or P₀ the identity */
	/* (n mod 8)·T: n mod 8 is n's low three bits, since 8 divides 2^8. */
	memcpy(tn, identity, PT);
	for (unsigned i = 0; i < (n[0] & 7u); i++)
		crypto_core_ed25519_add(tn, tn, t);
	crypto_core_ed25519_add(out, q0, tn);
	sodium_memzero(r, sizeof(r));
	return 0;
}

/* ECVRF_encode_to_curve_try_and_increment (RFC 9381 section 5.4.1.1), salt = PK. */
static int hash_to_curve(const uint8_t pk[PT], const void *alpha, size_t alpha_len,
			 uint8_t ret_h[PT])
{
	const uint8_t front[2] = {SUITE, 0x01}, back = 0x00;

	for (unsigned ctr = 0; ctr < 256; ctr++) {
		crypto_hash_sha512_state st;
		uint8_t h[crypto_hash_sha512_BYTES], c = (uint8_t)ctr;

		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, front, sizeof(front));
		crypto_hash_sha512_update(&st, pk, PT);
		if (alpha_len)
			crypto_hash_sha512_update(&st, alpha, alpha_len);
		crypto_hash_sha512_update(&st, &c, 1);
		crypto_hash_sha512_update(&st, &back, 1);
		crypto_hash_sha512_final(&st, h);
		if (point_valid(h) != 0)
			continue;
		mul_cofactor(ret_h, h);
		if (memcmp(ret_h, identity, PT) != 0)
			return 0;
	}
	return -EIO;
}

/* ECVRF_challenge_generation (section 5.4.3): the first 16 bytes of
 * SHA-512(suite ‖ 0x02 ‖ Y ‖ H ‖ Γ ‖ U ‖ V ‖ 0x00), as a 32-byte scalar. */
static void challenge(const uint8_t y[PT], const uint8_t h[PT], const uint8_t gamma[PT],
		      const uint8_t u[PT], const uint8_t v[PT], uint8_t ret_c[PT])
{
	const uint8_t front[2] = {SUITE, 0x02}, back = 0x00;
	const uint8_t *pts[5] = {y, h, gamma, u, v};
	crypto_hash_sha512_state st;
	uint8_t out[crypto_hash_sha512_BYTES];

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, front, sizeof(front));
	for (int i = 0; i < 5; i++)
		crypto_hash_sha512_update(&st, pts[i], PT);
	crypto_hash_sha512_update(&st, &back, 1);
	crypto_hash_sha512_final(&st, out);
	memset(ret_c, 0, PT);
	memcpy(ret_c, out, CLEN);
}

int codec_vrf_public_key(const uint8_t sk[CODEC_VRF_SECRET_SIZE],
			 uint8_t ret_pk[CODEC_VRF_PUBLIC_SIZE])
{
	uint8_t az[crypto_hash_sha512_BYTES];

	if (sodium_init() < 0)
		return -EIO;
	/* RFC 8032 section 5.1.5: the clamped first half of SHA-512(SK) is x. */
	crypto_hash_sha512(az, sk, CODEC_VRF_SECRET_SIZE);
	az[0] &= 248;
	az[31] &= 127;
	az[31] |= 64;
	mul_base(ret_pk, az);
	sodium_memzero(az, sizeof(az));
	return 0;
}

int codec_vrf_prove(const uint8_t sk[CODEC_VRF_SECRET_SIZE], const void *alpha, size_t alpha_len,
		    uint8_t ret_pi[CODEC_VRF_PROOF_SIZE])
{
	uint8_t az[crypto_hash_sha512_BYTES], kh[crypto_hash_sha512_BYTES];
	uint8_t y[PT], h[PT], gamma[PT], x[PT], k[PT], u[PT], v[PT], c[PT], cx[PT], s[PT];
	crypto_hash_sha512_state st;
	int err;

	err = codec_vrf_public_key(sk, y);
	if (err)
		return err;
	crypto_hash_sha512(az, sk, CODEC_VRF_SECRET_SIZE);
	az[0] &= 248;
	az[31] &= 127;
	az[31] |= 64;
	err = hash_to_curve(y, alpha, alpha_len, h);
	if (err)
		goto out;
	/* Γ = x·H; H is in the prime-order subgroup, so libsodium multiplies it. */
	reduce32(x, az);
	if (crypto_scalarmult_ed25519_noclamp(gamma, x, h) != 0) {
		err = -EIO;
		goto out;
	}
	/* ECVRF_nonce_generation_RFC8032 (section 5.4.2.2). */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, az + 32, 32);
	crypto_hash_sha512_update(&st, h, PT);
	crypto_hash_sha512_final(&st, kh);
	crypto_core_ed25519_scalar_reduce(k, kh);
	mul_base(u, k);
	if (mul_point(v, k, h) != 0) {
		err = -EIO;
		goto out;
	}
	challenge(y, h, gamma, u, v, c);
	crypto_core_ed25519_scalar_mul(cx, c, x);
	crypto_core_ed25519_scalar_add(s, k, cx);
	memcpy(ret_pi, gamma, PT);
	memcpy(ret_pi + PT, c, CLEN);
	memcpy(ret_pi + PT + CLEN, s, PT);
out:
	sodium_memzero(az, sizeof(az));
	sodium_memzero(kh, sizeof(kh));
	sodium_memzero(x, sizeof(x));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(cx, sizeof(cx));
	sodium_memzero(&st, sizeof(st));
	return err;
}

/* ECVRF_decode_proof (section 5.4.4): Γ a valid point, s < L. */
static int decode_proof(const uint8_t pi[CODEC_VRF_PROOF_SIZE], uint8_t c[PT])
{
	if (point_valid(pi) != 0 || !lt(pi + PT + CLEN, order))
		return -CODEC_EVRF_PROOF;
	memset(c, 0, PT);
	memcpy(c, pi + PT, CLEN);
	return 0;
}

int codec_vrf_proof_to_hash(const uint8_t pi[CODEC_VRF_PROOF_SIZE],
			    uint8_t ret_beta[CODEC_VRF_OUTPUT_SIZE])
{
	const uint8_t front[2] = {SUITE, 0x03}, back = 0x00;
	crypto_hash_sha512_state st;
	uint8_t c[PT], g8[PT];

	if (sodium_init() < 0)
		return -EIO;
	if (decode_proof(pi, c) != 0)
		return -CODEC_EVRF_PROOF;
	mul_cofactor(g8, pi);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, front, sizeof(front));
	crypto_hash_sha512_update(&st, g8, PT);
	crypto_hash_sha512_update(&st, &back, 1);
	crypto_hash_sha512_final(&st, ret_beta);
	return 0;
}

int codec_vrf_verify(const uint8_t pk[CODEC_VRF_PUBLIC_SIZE],
		     const uint8_t pi[CODEC_VRF_PROOF_SIZE], const void *alpha, size_t alpha_len,
		     uint8_t ret_beta[CODEC_VRF_OUTPUT_SIZE])
{
	uint8_t y8[PT], h[PT], c[PT], c2[PT], sb[PT], cy[PT], sh[PT], cg[PT], u[PT], v[PT];
	const uint8_t *gamma = pi, *s = pi + PT + CLEN;

	if (sodium_init() < 0)
		return -EIO;
	/* ECVRF_validate_key (section 5.4.5): a point, and not of small order. */
	if (point_valid(pk) != 0)
		return -CODEC_EVRF_KEY;
	mul_cofactor(y8, pk);
	if (memcmp(y8, identity, PT) == 0)
		return -CODEC_EVRF_KEY;
	if (decode_proof(pi, c) != 0)
		return -CODEC_EVRF_PROOF;
	if (hash_to_curve(pk, alpha, alpha_len, h) != 0)
		return -CODEC_EVRF_PROOF;
	/* U = s·B − c·Y, V = s·H − c·Γ. */
	mul_base(sb, s);
	if (mul_point(cy, c, pk) != 0 || mul_point(sh, s, h) != 0 || mul_point(cg, c, gamma) != 0)
		return -CODEC_EVRF_PROOF;
	crypto_core_ed25519_sub(u, sb, cy);
	crypto_core_ed25519_sub(v, sh, cg);
	challenge(pk, h, gamma, u, v, c2);
	if (sodium_memcmp(c, c2, CLEN) != 0)
		return -CODEC_EVRF_PROOF;
	if (ret_beta && codec_vrf_proof_to_hash(pi, ret_beta) != 0)
		return -CODEC_EVRF_PROOF;
	return 0;
}
