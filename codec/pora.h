/*
 * pora.h - 0G's Proof of Random Access: sealing of 4 KiB units, recall ranges, the
 * scratchpad, recall positions, quality, the target test and the difficulty update, byte
 * for byte as 0G's storage node and PoraMine contract compute them (docs/PORA.md).
 *
 * Guarantees: pure computation on caller memory, no allocation, no I/O, thread-safe.
 * Every fast routine (codec_seal_units, codec_seal_open_units) gives the same bytes as its
 * plain twin (codec_seal_ref, codec_seal_open_ref), whichever keccak kernel the CPU selects.
 * 256-bit integers (targets, qualities, scaleX64) are 32-byte big-endian arrays, as the
 * contract's uint256 is encoded. Positions and lengths are in 256-byte sectors.
 * Functions return 0 or a negative errno; out-params are written only on success.
 */
#ifndef CODEC_PORA_H
#define CODEC_PORA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/keccak.h"
#include "codec/merkle.h"

#define CODEC_SEAL_WORD		    32 /* the mask chain's step */
#define CODEC_SEAL_SIZE		    4096
#define CODEC_SEAL_WORDS	    (CODEC_SEAL_SIZE / CODEC_SEAL_WORD)	 /* 128 */
#define CODEC_SEAL_SECTORS	    (CODEC_SEAL_SIZE / CODEC_CHUNK_SIZE) /* 16 */
#define CODEC_SEAL_SEED_SIZE	    96
#define CODEC_PORA_PAD_SIZE	    (16 * 1024)		 /* the scratchpad */
#define CODEC_PORA_PAD_CELL	    64			 /* one BLAKE2b-sized cell */
#define CODEC_PORA_PAD_SEED_SIZE    64			 /* BLAKE2b-512 */
#define CODEC_PORA_LOAD_SIZE	    CODEC_SEGMENT_SIZE	 /* 256 KiB */
#define CODEC_PORA_LOAD_SECTORS	    CODEC_SEGMENT_CHUNKS /* 1024 */
#define CODEC_PORA_SEALS_PER_LOAD   (CODEC_PORA_LOAD_SIZE / CODEC_SEAL_SIZE) /* 64 */
#define CODEC_PORA_SEALS_PER_PAD    (CODEC_PORA_PAD_SIZE / CODEC_SEAL_SIZE)  /* 4 */
#define CODEC_PORA_PRICING_SECTORS  (1ULL << 25) /* 8 GiB, one reward pool */
#define CODEC_PORA_MAX_MINE_SECTORS (1ULL << 35) /* 8 TiB per shard */
#define CODEC_PORA_ADJUST_RATIO	    20		 /* PoraMine's default difficultyAdjustRatio */
#define CODEC_U256_SIZE		    32

/* ---- miner id, epoch context, subtask ---- */

/*
 * codec_pora_miner_id() - keccak(blockhash ‖ sender ‖ seed as 8 bytes): the id
 * PoraMine.requestMinerId registers, with blockhash the hash of the block before the
 * registering transaction and sender its 20-byte address.
 */
void codec_pora_miner_id(const uint8_t blockhash[32], const uint8_t sender[20], uint64_t seed,
			 uint8_t ret_id[32]);

/* codec_pora_context_digest() - keccak(blockhash ‖ flow_root ‖ u256(flow_length)). */
void codec_pora_context_digest(const uint8_t blockhash[32], const uint8_t flow_root[32],
			       uint64_t flow_length, uint8_t ret_digest[32]);

/*
 * codec_pora_subtask() - the miner's subtask in an epoch: index =
 * U256(keccak(context ‖ miner_id)) mod n_subtasks, and the block it starts at, mine_start
 * + index × interval. Answers count while start < block ≤ start + targetMineBlocks.
 * Returns 0; -EINVAL when n_subtasks is 0; -EOVERFLOW when the start block overflows.
 */
int codec_pora_subtask(const uint8_t context[32], const uint8_t miner_id[32], uint64_t n_subtasks,
		       uint64_t mine_start, uint64_t interval, uint64_t *ret_index,
		       uint64_t *ret_start_block);

/* codec_pora_subtask_digest() - keccak(context ‖ hash of the subtask's start block). */
void codec_pora_subtask_digest(const uint8_t context[32], const uint8_t start_blockhash[32],
			       uint8_t ret_digest[32]);

/* ---- sealing ---- */

/*
 * codec_seal_seed() - the 96-byte seed of a unit's mask chain: miner_id ‖ context ‖ 24
 * zero bytes ‖ start_sector as 8 bytes. context is the digest of the epoch range holding
 * the unit's last sector; start_sector its first sector (seal index × 16).
 */
void codec_seal_seed(const uint8_t miner_id[32], const uint8_t context[32], uint64_t start_sector,
		     uint8_t ret_seed[CODEC_SEAL_SEED_SIZE]);

/*
 * codec_seal_ref() / codec_seal_open_ref() - seal or unseal (open, as libsodium names the
 * inverse of a seal) one 4 KiB unit in place, word by word as the definition reads: mask0 =
 * keccak(seed), sealed_i = word_i XOR mask_i, mask_{i+1} = keccak(sealed_i). The plain twins of the
 * functions below; not for hot paths. Returns 0; -EINVAL when start_sector is not a multiple of
 * CODEC_SEAL_SECTORS.
 */
int codec_seal_ref(uint8_t unit[CODEC_SEAL_SIZE], const uint8_t miner_id[32],
		   const uint8_t context[32], uint64_t start_sector);
int codec_seal_open_ref(uint8_t unit[CODEC_SEAL_SIZE], const uint8_t miner_id[32],
			const uint8_t context[32], uint64_t start_sector);

/*
 * codec_seal_units() - seal n consecutive units in place: unit j at units + j × 4096
 * starts at sector start_sector + 16 j, and all share one seal context (split a run at an
 * epoch boundary). The units' chains are independent, so each of the 128 steps (the seed,
 * then words 0..126) hashes one input of every unit in a call of the batch keccak kernel.
 * codec_seal_open_units() - the inverse. Every mask of unsealing depends only on the sealed
 * word before it, so the masks of a group of units are one batch call across words.
 * Same bytes as n calls of the _ref twins. Returns 0; -EINVAL when start_sector is not a
 * multiple of 16 or the last unit's sector would overflow 64 bits. n == 0 is a no-op.
 */
int codec_seal_units(uint8_t *units, size_t n, const uint8_t miner_id[32],
		     const uint8_t context[32], uint64_t start_sector);
int codec_seal_open_units(uint8_t *units, size_t n, const uint8_t miner_id[32],
			  const uint8_t context[32], uint64_t start_sector);

/* ---- recall range ---- */

struct codec_pora_range {
	uint64_t start_position; /* sector; a multiple of CODEC_PORA_PRICING_SECTORS */
	uint64_t mine_length;	 /* sectors */
	uint64_t shard_id;
	uint64_t shard_mask; /* ~(num_shards - 1) */
};

/* keccak(u256 start ‖ u256 mine_length ‖ u256 shard_id ‖ u256 shard_mask). */
void codec_pora_range_digest(const struct codec_pora_range *r, uint8_t ret_digest[32]);

/*
 * codec_pora_shard_mask() - ~(num_shards - 1). Returns 0; -EINVAL unless num_shards is a
 * power of two.
 */
int codec_pora_shard_mask(uint64_t num_shards, uint64_t *ret_mask);

/*
 * codec_pora_num_shards() - 2^(zero bits of mask), as the contract counts them. Returns
 * 0; -ERANGE for mask 0 (2^64 shards).
 */
int codec_pora_num_shards(uint64_t shard_mask, uint64_t *ret_num);

/*
 * codec_pora_range_make() - the range a node holding shard shard_id of num_shards mines
 * in a context of flow_length sectors (0G's MineRangeConfig with start_hint as its start
 * position): mine_length = min(flow_length rounded down to 1024, 2^35 × num_shards); start
 * = min(start_hint, that rounded length - mine_length), rounded down to 8 GiB.
 * Returns 0; -EINVAL for num_shards not a power of two or shard_id ≥ num_shards; -ENODATA
 * when the flow holds less than one load.
 */
int codec_pora_range_make(uint64_t flow_length, uint64_t start_hint, uint64_t shard_id,
			  uint64_t num_shards, struct codec_pora_range *ret_range);

/*
 * codec_pora_range_check() - the contract's checks of an answer's range in a context of
 * flow_length sectors: start aligned to 8 GiB, start + mine_length within the flow rounded
 * down to 1024, mine_length at most 2^35 × shards and at least min(that flow, 2^35 ×
 * shards), no shard id bit under the mask, and at most max_shards shards.
 * Returns 0 when it passes, -EINVAL otherwise.
 */
__attribute__((warn_unused_result)) int
codec_pora_range_check(const struct codec_pora_range *r, uint64_t flow_length, uint64_t max_shards);

/* ---- one try ---- */

/* codec_pora_pad_seed() - BLAKE2b-512(miner_id ‖ nonce ‖ subtask_digest ‖ range_digest). */
void codec_pora_pad_seed(const uint8_t miner_id[32], const uint8_t nonce[32],
			 const uint8_t subtask_digest[32], const uint8_t range_digest[32],
			 uint8_t ret_pad_seed[CODEC_PORA_PAD_SEED_SIZE]);

/*
 * codec_pora_scratchpad() - the 16 KiB pad of a try and its recall seed: d = pad_seed;
 * 256 times d[0..32) = keccak(d), d[32..64) = keccak(d), append d; recall seed =
 * keccak(final d). ret_pad may be NULL when only the recall seed is wanted.
 */
void codec_pora_scratchpad(const uint8_t pad_seed[CODEC_PORA_PAD_SEED_SIZE],
			   uint8_t ret_pad[CODEC_PORA_PAD_SIZE], uint8_t ret_recall_seed[32]);

/*
 * codec_pora_scratchpads() - codec_pora_scratchpad() of n pad seeds at once, for a miner
 * that runs n tries together: the n chains advance side by side in the batch keccak
 * kernel's lanes. pad_seeds holds the n seeds back to back (seed j at j × 64); try j's pad
 * goes to ret_pads + j × CODEC_PORA_PAD_SIZE (ret_pads may be NULL), its recall seed to
 * ret_recall_seeds[j]. Same bytes as n calls of codec_pora_scratchpad(), its plain twin.
 */
void codec_pora_scratchpads(const uint8_t *pad_seeds, size_t n, uint8_t *ret_pads,
			    uint8_t (*ret_recall_seeds)[32]);

/*
 * codec_pora_recall_position() - the first sector of the load a try reads:
 * start + (((U256(recall_seed) mod (mine_length / 1024)) & shard_mask) | shard_id) × 1024.
 * Returns 0; -ENODATA when the range is shorter than one load; -ERANGE when the chunk
 * lies past mine_length (the contract's "Recall position out of bound") or the position
 * overflows.
 */
int codec_pora_recall_position(const struct codec_pora_range *r, const uint8_t recall_seed[32],
			       uint64_t *ret_position);

/*
 * codec_pora_quality() - the quality of seal unit seal_offset (0..63) of a load: the
 * first 32 bytes of BLAKE2b-512(u256(seal_offset) ‖ pad_seed ‖ 32 zero bytes ‖
 * (sealed XOR pad quarter seal_offset mod 4)). sealed is the unit as stored (sealed).
 * Returns 0; -EINVAL when seal_offset ≥ 64.
 */
int codec_pora_quality(unsigned seal_offset, const uint8_t pad_seed[CODEC_PORA_PAD_SEED_SIZE],
		       const uint8_t pad[CODEC_PORA_PAD_SIZE],
		       const uint8_t sealed[CODEC_SEAL_SIZE], uint8_t ret_quality[32]);

/*
 * codec_pora_load_qualities() - codec_pora_quality() of every unit i of a 256 KiB load
 * whose bit i is set in available (bit 0 = first unit); the others are left untouched.
 */
void codec_pora_load_qualities(const uint8_t load[CODEC_PORA_LOAD_SIZE], uint64_t available,
			       const uint8_t pad_seed[CODEC_PORA_PAD_SEED_SIZE],
			       const uint8_t pad[CODEC_PORA_PAD_SIZE], uint8_t (*ret_quality)[32]);

/* ---- target and difficulty ---- */

/*
 * codec_pora_scale_x64() - (min(flow_length, 2^35) << 64) / min(flow_length / shards,
 * 2^35), the sharded miner's handicap in 64.64 fixed point, as 32 big-endian bytes.
 * Returns 0; -ERANGE when flow_length / shards is 0 (the contract divides by zero) or
 * shard_mask is 0.
 */
int codec_pora_scale_x64(uint64_t flow_length, uint64_t shard_mask, uint8_t ret_scale[32]);

/*
 * codec_pora_target_bound() - (target / scale_x64) << 64, the largest winning quality.
 * Returns 0; -EINVAL when scale_x64 is below 2^64 (never from codec_pora_scale_x64()).
 */
int codec_pora_target_bound(const uint8_t target[32], const uint8_t scale_x64[32],
			    uint8_t ret_bound[32]);

/* codec_pora_meets_target() - quality ≤ bound, as 256-bit integers. */
__attribute__((warn_unused_result)) bool codec_pora_meets_target(const uint8_t quality[32],
								 const uint8_t bound[32]);

/*
 * codec_pora_initial_target() - (2^256 - 1) / difficulty. Returns 0; -EINVAL for 0.
 */
int codec_pora_initial_target(uint64_t difficulty, uint8_t ret_target[32]);

/*
 * codec_pora_next_target() - PoraMine's target for the next epoch after one with
 * submissions accepted answers (0 also stands for a skipped epoch), towards
 * target × target_submissions / submissions by 1/ratio (CODEC_PORA_ADJUST_RATIO), in
 * steps of at most 2x, on the target without its low 16 bits; then capped at
 * (2^256 - 1) / min_difficulty unless min_difficulty is 0.
 * Returns 0; -EINVAL when ratio is 0; -EOVERFLOW where the contract's checked arithmetic
 * reverts.
 */
int codec_pora_next_target(const uint8_t target[32], uint64_t target_submissions,
			   uint64_t submissions, uint64_t ratio, uint64_t min_difficulty,
			   uint8_t ret_target[32]);

#endif
