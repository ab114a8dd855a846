/*
 * vrf.h - ECVRF-EDWARDS25519-SHA512-TAI, the verifiable random function of RFC 9381
 * (suite string 0x03), on libsodium's edwards25519 core. DA quorums are drawn with it.
 *
 * Keys are Ed25519 keys: a 32-byte secret seed and the 32-byte public key libsodium's
 * crypto_sign_seed_keypair() gives for it. A proof is 80 bytes (Γ ‖ c ‖ s), an output β
 * 64 bytes. Every proof that verifies for one key and input gives the same β: a
 * deterministic function of (public key, input) that only the secret key can compute and
 * anyone can check.
 *
 * Verification follows RFC 9381 section 5.3 with key validation: the public key must be
 * a canonical encoding of a curve point that is not of small order; Γ a canonical curve
 * point (of any order: its torsion part is handled, and β multiplies it away); s < L.
 *
 * Guarantees: pure computation, thread-safe, no global state beyond sodium_init().
 * Secrets on the stack are wiped before return. Verify and proof_to_hash are
 * warn_unused_result; the challenge is compared in constant time.
 */
#ifndef CODEC_VRF_H
#define CODEC_VRF_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_VRF_SECRET_SIZE 32 /* the Ed25519 seed */
#define CODEC_VRF_PUBLIC_SIZE 32
#define CODEC_VRF_PROOF_SIZE  80
#define CODEC_VRF_OUTPUT_SIZE 64

/* The public key of a secret seed (the same bytes as Ed25519's). Returns 0, or -EIO if
 * libsodium cannot initialise. */
int codec_vrf_public_key(const uint8_t sk[CODEC_VRF_SECRET_SIZE],
			 uint8_t ret_pk[CODEC_VRF_PUBLIC_SIZE]);

/*
 * codec_vrf_prove() - the proof for input alpha (alpha_len bytes, any length, NULL when
 * 0) under secret seed sk. Deterministic. Returns 0; -EIO if libsodium cannot initialise
 * or the hash to the curve finds no point in 256 tries (probability about 2^-256).
 */
int codec_vrf_prove(const uint8_t sk[CODEC_VRF_SECRET_SIZE], const void *alpha, size_t alpha_len,
		    uint8_t ret_pi[CODEC_VRF_PROOF_SIZE]);

/*
 * codec_vrf_verify() - check proof pi for input alpha under public key pk; on success
 * write the output β to ret_beta (may be NULL). Returns 0 when valid;
 * -CODEC_EVRF_KEY (pk not a canonical point, or of small order), -CODEC_EVRF_PROOF (pi
 * malformed or not a proof for this key and input), -EIO (libsodium cannot initialise).
 */
__attribute__((warn_unused_result)) int codec_vrf_verify(const uint8_t pk[CODEC_VRF_PUBLIC_SIZE],
							 const uint8_t pi[CODEC_VRF_PROOF_SIZE],
							 const void *alpha, size_t alpha_len,
							 uint8_t ret_beta[CODEC_VRF_OUTPUT_SIZE]);

/*
 * codec_vrf_proof_to_hash() - the output β of a proof, without verifying it (RFC 9381
 * section 5.2: only for proofs already verified, or one's own). Returns 0, or
 * -CODEC_EVRF_PROOF when pi does not decode (Γ not a canonical point, s ≥ L).
 */
__attribute__((warn_unused_result)) int
codec_vrf_proof_to_hash(const uint8_t pi[CODEC_VRF_PROOF_SIZE],
			uint8_t ret_beta[CODEC_VRF_OUTPUT_SIZE]);

#endif
