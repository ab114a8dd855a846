/*
 * Sealing of 4 KiB units with 0G's keccak mask chain. The _ref twins follow the definition
 * word by word on the reference keccak; the fast forms reshape the same work for the batch
 * keccak kernel: sealing is a chain inside a unit but independent across units, unsealing
 * is independent across words.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "codec/endian.h"
#include "codec/pora.h"

/*
 * Units sealed per batch step. Word i of each unit lies 4 KiB from the next, so all of a
 * step's inputs fall in one set of the L1 cache; 8 of them fit its 8 ways, more thrash.
 * Measured with AVX2 (4 lanes): 8 units reach 0.98 of the kernel's permutation rate, 16
 * 0.96, 64 0.88. With AVX-512, 8 units are one full pass of its 8 lanes.
 */
#define SEAL_GROUP 8

/* Units unsealed per batch call: 2 units are 255 strided hashes, 8 KiB of masks. */
#define UNSEAL_GROUP 2

void codec_seal_seed(const uint8_t miner_id[32], const uint8_t context[32], uint64_t start_sector,
		     uint8_t ret_seed[CODEC_SEAL_SEED_SIZE])
{
	memcpy(ret_seed, miner_id, 32);
	memcpy(ret_seed + 32, context, 32);
	memset(ret_seed + 64, 0, 24);
	codec_put_be64(ret_seed + 88, start_sector);
}

static void xor_word(uint8_t *dst, const uint8_t *mask)
{
	for (int i = 0; i < CODEC_SEAL_WORD; i++)
		dst[i] ^= mask[i];
}

/* Rejects a misaligned start and a run whose last unit's sector does not fit in 64 bits. */
static int check_run(uint64_t start_sector, size_t n)
{
	if (start_sector % CODEC_SEAL_SECTORS)
		return -EINVAL;
	if (n > 1 && (uint64_t)(n - 1) > (UINT64_MAX - start_sector) / CODEC_SEAL_SECTORS)
		return -EINVAL;
	return 0;
}

/*
 * The definition word by word on the reference keccak. Either way the next mask is the
 * hash of a sealed word: the one just sealed, or, unsealing, the one about to change.
 */
static int chain_ref(uint8_t unit[CODEC_SEAL_SIZE], const uint8_t miner_id[32],
		     const uint8_t context[32], uint64_t start_sector, bool sealing)
{
	uint8_t seed[CODEC_SEAL_SEED_SIZE], mask[32], next[32];

	if (check_run(start_sector, 1))
		return -EINVAL;
	codec_seal_seed(miner_id, context, start_sector, seed);
	codec_keccak256_ref(seed, sizeof(seed), mask);
	for (int i = 0; i < CODEC_SEAL_WORDS; i++) {
		uint8_t *w = unit + i * CODEC_SEAL_WORD;

		if (!sealing)
			codec_keccak256_ref(w, CODEC_SEAL_WORD, next);
		xor_word(w, mask);
		if (sealing)
			codec_keccak256_ref(w, CODEC_SEAL_WORD, next);
		memcpy(mask, next, sizeof(mask));
	}
	return 0;
}

int codec_seal_ref(uint8_t unit[CODEC_SEAL_SIZE], const uint8_t miner_id[32],
		   const uint8_t context[32], uint64_t start_sector)
{
	return chain_ref(unit, miner_id, context, start_sector, true);
}

int codec_seal_open_ref(uint8_t unit[CODEC_SEAL_SIZE], const uint8_t miner_id[32],
			const uint8_t context[32], uint64_t start_sector)
{
	return chain_ref(unit, miner_id, context, start_sector, false);
}

/* mask0 of n units, unit j at start_sector + 16 j: one batch call over the seeds. */
static void first_masks(size_t n, const uint8_t miner_id[32], const uint8_t context[32],
			uint64_t start_sector, uint8_t (*ret_masks)[32])
{
	/* zeroed only because GCC's -Wmaybe-uninitialized cannot see that n ≤ SEAL_GROUP */
	uint8_t seeds[SEAL_GROUP][CODEC_SEAL_SEED_SIZE] = {{0}};

	for (size_t j = 0; j < n; j++)
		codec_seal_seed(miner_id, context, start_sector + j * CODEC_SEAL_SECTORS, seeds[j]);
	codec_keccak256_batch(&seeds[0][0], CODEC_SEAL_SEED_SIZE, CODEC_SEAL_SEED_SIZE, n,
			      ret_masks);
}

/*
 * One group: step i XORs mask i into word i of every unit, then hashes those sealed words
 * side by side (stride 4096) into the masks of step i + 1. The last word's hash is not
 * needed, so a unit costs 127 word hashes plus its seed's.
 */
static void seal_group(uint8_t *units, size_t n, const uint8_t miner_id[32],
		       const uint8_t context[32], uint64_t start_sector)
{
	uint8_t masks[SEAL_GROUP][32];

	first_masks(n, miner_id, context, start_sector, masks);
	for (int i = 0; i < CODEC_SEAL_WORDS; i++) {
		uint8_t *w = units + i * CODEC_SEAL_WORD;

		for (size_t j = 0; j < n; j++)
			xor_word(w + j * CODEC_SEAL_SIZE, masks[j]);
		if (i + 1 < CODEC_SEAL_WORDS)
			codec_keccak256_batch(w, CODEC_SEAL_SIZE, CODEC_SEAL_WORD, n, masks);
	}
}

/*
 * One group of contiguous units: hash every sealed word but the group's last in one batch
 * call (stride 32), so that masks[k] = keccak(word k) is the mask of word k + 1; the first
 * word of each unit takes its seed's mask instead. All hashes are taken before any word
 * changes.
 */
static void unseal_group(uint8_t *units, size_t n, const uint8_t miner_id[32],
			 const uint8_t context[32], uint64_t start_sector)
{
	uint8_t masks[UNSEAL_GROUP * CODEC_SEAL_WORDS][32], first[UNSEAL_GROUP][32];
	size_t words = n * CODEC_SEAL_WORDS;

	first_masks(n, miner_id, context, start_sector, first);
	codec_keccak256_batch(units, CODEC_SEAL_WORD, CODEC_SEAL_WORD, words - 1, masks);
	for (size_t k = 0; k < words; k++) {
		const uint8_t *mask =
		    k % CODEC_SEAL_WORDS ? masks[k - 1] : first[k / CODEC_SEAL_WORDS];

		xor_word(units + k * CODEC_SEAL_WORD, mask);
	}
}

/* A group's worker: n ≤ its group size contiguous units, unit 0 at start_sector. */
typedef void group_fn(uint8_t *units, size_t n, const uint8_t miner_id[32],
		      const uint8_t context[32], uint64_t start_sector);

static int run_groups(group_fn *fn, size_t group, uint8_t *units, size_t n,
		      const uint8_t miner_id[32], const uint8_t context[32], uint64_t start_sector)
{
	if (check_run(start_sector, n))
		return -EINVAL;
	for (size_t j = 0; j < n; j += group) {
		size_t g = n - j < group ? n - j : group;

		fn(units + j * CODEC_SEAL_SIZE, g, miner_id, context,
		   start_sector + j * CODEC_SEAL_SECTORS);
	}
	return 0;
}

int codec_seal_units(uint8_t *units, size_t n, const uint8_t miner_id[32],
		     const uint8_t context[32], uint64_t start_sector)
{
	return run_groups(seal_group, SEAL_GROUP, units, n, miner_id, context, start_sector);
}

int codec_seal_open_units(uint8_t *units, size_t n, const uint8_t miner_id[32],
			  const uint8_t context[32], uint64_t start_sector)
{
	return run_groups(unseal_group, UNSEAL_GROUP, units, n, miner_id, context, start_sector);
}
