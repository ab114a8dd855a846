/*
 * Fuzz target: VRF proof decoding and verification. The input is an 80-byte proof and
 * then the VRF input alpha. Anything must be refused cleanly or verified, and a proof
 * that verifies under the fixed key must give the honest proof's output for that alpha
 * (β is a function of key and input alone).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/vrf.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sk[CODEC_VRF_SECRET_SIZE] = {0x5e, 0xed};
	uint8_t pk[CODEC_VRF_PUBLIC_SIZE], honest[CODEC_VRF_PROOF_SIZE];
	uint8_t beta[CODEC_VRF_OUTPUT_SIZE], want[CODEC_VRF_OUTPUT_SIZE];

	if (size < CODEC_VRF_PROOF_SIZE)
		return 0;
	if (codec_vrf_public_key(sk, pk) != 0)
		abort();
	if (codec_vrf_verify(pk, data, data + CODEC_VRF_PROOF_SIZE, size - CODEC_VRF_PROOF_SIZE,
			     beta) != 0)
		return 0;
	if (codec_vrf_prove(sk, data + CODEC_VRF_PROOF_SIZE, size - CODEC_VRF_PROOF_SIZE, honest) !=
		0 ||
	    codec_vrf_proof_to_hash(honest, want) != 0 || memcmp(beta, want, sizeof(want)) != 0 ||
	    codec_vrf_proof_to_hash(data, want) != 0 || memcmp(beta, want, sizeof(want)) != 0)
		abort();
	return 0;
}
