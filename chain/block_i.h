/*
 * block_i.h - the ledger's blocks: binary encoding, hash, ed25519 signature. Internal to
 * chain/.
 *
 * Encoding, version 1, integers big-endian (docs/LEDGER.md has the table):
 *   "ZGBK" u8 version u64 chain_id u64 height prev[32] u64 timestamp
 *   u64 flow_length flow_root[32] u64 next_tx_seq     (state after the block)
 *   u32 ntx, ntx × (u8 type, u32 len, payload[len])
 *   signature[64]
 * The block hash is keccak256 of every byte before the signature; the signature is
 * ed25519 (libsodium, detached) over that hash. The decoder checks every length, rejects
 * unknown versions, types and trailing bytes, and bounds everything by chain/limits.h.
 */
#ifndef CHAIN_BLOCK_I_H
#define CHAIN_BLOCK_I_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/buf_i.h"
#include "chain/ledger_i.h"

struct chain_block {
	uint64_t chain_id, height, timestamp;
	uint8_t prev[CODEC_HASH_SIZE];
	uint64_t flow_length, next_tx_seq;
	uint8_t flow_root[CODEC_HASH_SIZE];
	size_t ntx;
	struct chain_tx *txs; /* decode: allocated, freed by chain_block_release() */
	uint8_t signature[CHAIN_SIGNATURE_SIZE];
};

/*
 * chain_block_seal() - encode b into w (which must be empty), sign it with sk and copy the
 * signature into b->signature. Returns 0 and the block hash, or -E2BIG past
 * CHAIN_BLOCK_MAX_BYTES / CHAIN_BLOCK_MAX_TXS, -ENOMEM, -EINVAL for an unencodable tx.
 */
int chain_block_seal(struct chain_block *b, const uint8_t sk[64], struct chain_wbuf *w,
		     uint8_t ret_hash[CODEC_HASH_SIZE]);

/*
 * chain_block_decode() - parse an encoded block. Returns 0, the block (txs allocated) and
 * its hash; -CHAIN_ETAMPERED when the bytes are not a well-formed block; -ENOMEM.
 * Does not check the signature.
 */
int chain_block_decode(const uint8_t *p, size_t n, struct chain_block *ret_block,
		       uint8_t ret_hash[CODEC_HASH_SIZE]);

/* True when signature is pk's signature of hash. */
__attribute__((warn_unused_result)) bool chain_block_signed_by(const struct chain_block *b,
							       const uint8_t hash[CODEC_HASH_SIZE],
							       const uint8_t pk[CHAIN_PUBKEY_SIZE]);

void chain_block_release(struct chain_block *b); /* frees txs; NULL-safe */

#endif
