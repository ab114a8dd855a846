/*
 * chain.h - settlement: the only way a log entry gets its tx seq and its place in the flow.
 *
 * One interface, two backends: the embedded ledger ("local", a single-writer chain of
 * signed blocks kept in the data directory, the default) and any EVM chain over JSON-RPC
 * ("evm": the contracts in chain/contracts, docs/EVM.md). A backend implements the state
 * transitions of 0G's Flow and Market contracts:
 * submission validity and placement (../shared/PROTOCOL.md), the fee per sector, reward
 * pools per 8 GiB pricing segment, and donations.
 *
 * Guarantees: every function is thread-safe. chain_submit() returns only once the
 * submission is durable in the backend (for the local ledger: its block is written and
 * synced; for an EVM chain: its transaction is mined with the configured confirmations),
 * so a settled entry survives SIGKILL. Entries are numbered 0, 1, 2, ... without gaps, in
 * the order the chain settled them, whoever submitted them. All functions return 0 or
 * -errno (or -CHAIN_E* below); ret_ parameters are written only on success. When a
 * function fails, chain_last_detail() says more in the calling thread (a revert reason,
 * the URL that did not answer).
 */
#ifndef CHAIN_CHAIN_H
#define CHAIN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/merkle.h"
#include "codec/pora.h"

#define CHAIN_ADDRESS_SIZE 20
#define CHAIN_TAGS_MAX 4096			  /* bytes of tags per submission */
#define CHAIN_PRICING_SEGMENT_SECTORS (1ULL << 25) /* 8 GiB of 256 B sectors */

/* Errors beyond errno (returned negated). Only ever appended. */
enum chain_error {
	CHAIN_EFIRST = 8192,
	CHAIN_EINVALID_SUBMISSION, /* breaks a Flow validity rule; nothing settled */
	CHAIN_EFUNDS,		   /* the account cannot pay the fee */
	CHAIN_ETAMPERED,	   /* chain_verify(): a block's hash, link or signature is wrong */
	CHAIN_EREVERTED,	   /* an EVM transaction reverted (chain_last_detail: why) */
	CHAIN_ENOKEY,		   /* submitting needs a signing key and none was given */
	CHAIN_EDIVERGED, /* the chain's events break the Flow rules as the node applies them */
	/* PoRA answers refused, one code per check of Mine.sol's submit, in its order */
	CHAIN_EPORA_OFF,	  /* this chain has no PoRA (no parameters set) */
	CHAIN_EPORA_MINER,	  /* the miner id is not registered */
	CHAIN_EPORA_WINDOW,	  /* the block is outside the subtask's window */
	CHAIN_EPORA_CONTEXT,	  /* not the current epoch's context (stale) */
	CHAIN_EPORA_RANGE,	  /* the recall range breaks RecallRange.check */
	CHAIN_EPORA_SEAL_CONTEXT, /* the seal context's epoch range does not cover the recall */
	CHAIN_EPORA_MERKLE,	  /* the unsealed unit does not prove into the flow root */
	CHAIN_EPORA_RECALL,	  /* the recall position is not the one the nonce draws */
	CHAIN_EPORA_QUALITY,	  /* the quality misses the target */
	CHAIN_EPORA_REPEAT,	  /* this quality was already paid in the epoch */
	CHAIN_EPORA_CAP,	  /* the epoch already has 2 × targetAnswers answers */
	/* a cluster (shards, a policy, a takeover) asked of the embedded ledger */
	CHAIN_ECLUSTER,
	/* DA certificates refused (chain/da.h), one code per check, in its order */
	CHAIN_EDA_EPOCH,     /* for another epoch than the quorum's */
	CHAIN_EDA_QUORUM,    /* its quorum digest is not the epoch's derived quorum */
	CHAIN_EDA_MEMBER,    /* a signer rank beyond the quorum, or ranks not increasing */
	CHAIN_EDA_SIGNATURE, /* a signature that is not the member's */
	CHAIN_EDA_THRESHOLD, /* valid signatures of not more than 2/3 of the slots */
	CHAIN_EDA_VOIDED,    /* the certificate was voided by a bad-encoding proof */
	CHAIN_ELAST,
};

/* A message for any chain return code (or -errno). Never NULL. */
const char *chain_strerror(int err);

/* More about the last failure of a chain function in the calling thread ("" if nothing
 * more is known): a revert reason, the endpoint that did not answer. Never NULL. */
const char *chain_last_detail(void);

/* Replaces that detail (printf-style), for a layer above that explains a failure of its
 * own choice of chain, such as a data directory that records another one. */
void chain_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What is submitted: 0G's Submission{length, tags, nodes[]}. */
struct chain_submission {
	uint64_t length; /* bytes, > 0 */
	size_t tags_len;
	uint8_t tags[CHAIN_TAGS_MAX];
	size_t nnodes;
	struct codec_subnode nodes[CODEC_MAX_NODES];
};

/* A settled entry. */
struct chain_entry {
	uint64_t tx_seq;
	uint64_t start;	  /* first flow sector of the entry (after alignment) */
	uint64_t sectors; /* padded sectors: the sum of 2^height over the nodes */
	uint64_t length;  /* bytes */
	uint8_t root[CODEC_HASH_SIZE];	 /* the file root, folded from the nodes */
	uint8_t digest[CODEC_HASH_SIZE]; /* keccak256 of the concatenated node roots */
	uint8_t sender[CHAIN_ADDRESS_SIZE];
	uint64_t block;	    /* block that settled it */
	uint64_t timestamp; /* seconds since the epoch, from that block */
	uint64_t fee;	    /* paid, in the chain's smallest unit */
	size_t tags_len;
	uint8_t tags[CHAIN_TAGS_MAX];
	size_t nnodes;
	struct codec_subnode nodes[CODEC_MAX_NODES];
};

/* The flow and chain head. */
struct chain_flow {
	uint64_t next_tx_seq;		 /* number of settled entries */
	uint64_t length;		 /* flow length in sectors (starts at 1: a placeholder) */
	uint8_t root[CODEC_HASH_SIZE];	 /* root over the flow's sectors, 0G tree rule */
	uint64_t height;		 /* block height */
	uint8_t head[CODEC_HASH_SIZE];	 /* hash of the newest block */
	uint64_t chain_id;
	uint64_t price_per_sector;
	uint8_t contract[CHAIN_ADDRESS_SIZE]; /* the Flow contract (zero for the local ledger) */
	uint8_t market[CHAIN_ADDRESS_SIZE];   /* its Market (zero for the local ledger) */
	uint8_t registry[CHAIN_ADDRESS_SIZE]; /* its node Registry (zero: none, or local) */
};

/* One reward pool: the fees of entries that touch pricing segment `index`. */
struct chain_pool {
	uint64_t index;
	uint64_t balance;  /* not yet paid out */
	uint64_t released; /* released so far (release starts when the segment is full) */
	uint64_t claimed;  /* paid to miners out of what was released */
	bool full;
};

struct chain;

/*
 * chain_local_open() - open (creating on first use) the embedded ledger in dir.
 * @dir:       directory for the ledger's leveldb; created 0700 if missing (its parent must
 *             exist)
 * @secret_key: the node's ed25519 secret key (libsodium's 64-byte form); blocks are signed
 *             with it, and the account funded at genesis is the one it controls. Its
 *             address is the last 20 bytes of keccak256(the 32-byte public key).
 * A new ledger starts with a genesis block: chain id, price per sector, and the whole
 * supply in this key's account (docs/LEDGER.md). Opening checks the stored state against
 * the head block; chain_verify() replays everything.
 * Returns 0, -EINVAL for a key whose public half does not match its seed, -EBUSY when
 * another chain handle (this process or another) holds it, -EPERM when the ledger was
 * created with another key, -EIO / -CHAIN_ETAMPERED when the stored ledger cannot be read
 * back consistently, or another -errno from creating the directory.
 */
int chain_local_open(const char *dir, const uint8_t secret_key[64], struct chain **ret_chain);

/* How to settle on an EVM chain (docs/EVM.md). */
struct chain_evm_config {
	const char *rpc_url;		    /* the chain's JSON-RPC endpoint, http(s):// */
	uint8_t flow[CHAIN_ADDRESS_SIZE];   /* the Flow contract (chain_evm_deploy) */
	uint64_t from_block;		    /* Submit events are followed from this block on */
	uint64_t chain_id;		    /* expected chain id; 0 accepts the endpoint's */
	unsigned confirmations;		    /* blocks on top of a Submit before it counts */
	const char *key_hex;		    /* secp256k1 secret key in hex, or NULL */
	const char *key_file;		    /* else a file holding it (mode 0600), or NULL */
};

/*
 * chain_evm_open() - follow and settle on the Flow contract cfg->flow at cfg->rpc_url.
 * @dir: a directory for the followed entries (leveldb; created 0700; its parent must exist)
 * Without a key every function works but chain_submit() and chain_donate(), which return
 * -CHAIN_ENOKEY. Entries are learned from the contract's Submit events, from every sender:
 * chain_sync() reads new ones; chain_submit() and chain_entry_get() of an unknown tx seq
 * read them too. Returns 0; -ECONNREFUSED / -ETIMEDOUT when the endpoint does not answer
 * (after retries with backoff); -EEXIST when dir follows another contract or chain; -EINVAL
 * for a bad key or URL; -EPERM for a key file others can read; -EBUSY when dir is in use.
 */
int chain_evm_open(const char *dir, const struct chain_evm_config *cfg, struct chain **ret_chain);

/* The cluster's redundancy policy, fixed when the registry is deployed: every stripe of
 * ec_k data segments gets ec_m Reed–Solomon parity segments (codec/rs.h). 0/0 is none:
 * 0G's own replication by shard. Otherwise 1 ≤ ec_k, 1 ≤ ec_m, ec_k + ec_m ≤
 * CHAIN_EC_SYMBOLS_MAX (ISA-L's GF(2^8) Cauchy matrices). */
#define CHAIN_EC_SYMBOLS_MAX 256
struct chain_policy {
	unsigned ec_k, ec_m;
};

/* chain_policy_check() - 0 when p is a policy the registry accepts, else -EINVAL with
 * chain_last_detail() saying which rule it breaks. Pure; any thread. */
int chain_policy_check(const struct chain_policy *p);

struct chain_pora_params; /* below, with PoRA */

/* The DA contract's parameters (docs/DA.md): epochs of epoch_blocks blocks, one ticket per
 * stake_unit wei, signers with at least min_stake, quorums of slots (1 to 64); sampling
 * periods of sample_blocks blocks, each certified blob sampled for sample_window periods;
 * a blob fee of fee_per_kib wei per KiB. */
struct chain_da_config {
	uint64_t epoch_blocks, stake_unit, min_stake;
	unsigned slots;
	uint64_t sample_blocks, sample_window, fee_per_kib;
};
/* The defaults of `zgfs chain deploy`: epochs of 100 blocks, a ticket per 0.001 ETH, that
 * much at least, 16 slots; sampling every 30 blocks (0G's PoDAS period) for 960 periods
 * (28,800 blocks); 1 gwei per KiB. */
#define CHAIN_DA_DEFAULTS                                                                          \
	{                                                                                          \
		100, 1000000000000000ull, 1000000000000000ull, 16, 30, 960, 1000000000ull          \
	}

/* The embedded ledger's defaults (chain_da_setup(); `zgfs node --da` on the embedded
 * ledger): epochs and sampling periods of 60 s of block time, a ticket per token (1e9 of
 * the ledger's unit), that much at least, 16 slots, 960 periods (16 hours), 1000 units
 * per KiB (1 token per GiB). */
#define CHAIN_DA_LOCAL_DEFAULTS                                                                    \
	{                                                                                          \
		60, 1000000000ull, 1000000000ull, 16, 60, 960, 1000                                \
	}

/* What chain_evm_deploy() created. */
struct chain_evm_deployment {
	uint8_t flow[CHAIN_ADDRESS_SIZE];
	uint8_t market[CHAIN_ADDRESS_SIZE];
	uint8_t registry[CHAIN_ADDRESS_SIZE];
	uint8_t mine[CHAIN_ADDRESS_SIZE]; /* Market.mine() names it */
	uint8_t da[CHAIN_ADDRESS_SIZE];	  /* Market.da() names it */
	struct chain_policy policy;
	uint64_t block; /* the block holding the Flow (followers start there) */
	uint64_t chain_id;
	uint64_t price_per_sector; /* wei */
};

/*
 * chain_evm_deploy() - deploy every contract zgfs uses with the key cfg->key_hex or
 * cfg->key_file, at cfg->rpc_url, and wait for cfg->confirmations: first the node Registry
 * with the redundancy policy (NULL: none), then the Flow (which creates its Market) with
 * this price per sector in wei, the Registry's address and pora->epoch_blocks, then the
 * Mine with pora's difficulty and target answers, and Market.setMine(mine, base reward),
 * then the DA contract with da's parameters and Market.setDA(da), so that Flow.registry(),
 * Flow.market().mine() and Flow.market().da() lead another host to everything. pora NULL:
 * CHAIN_PORA_DEFAULTS; da NULL: CHAIN_DA_DEFAULTS. Six transactions; a failure between
 * them leaves contracts nobody records. cfg->flow and from_block are ignored. Returns 0,
 * -EINVAL (and a detail) for a policy chain_policy_check() refuses, mining or DA
 * parameters out of range,
 * -ENOTSUP when this build has no contract bytecode, -CHAIN_ENOKEY, -CHAIN_EREVERTED, or
 * the errors of chain_evm_open().
 */
int chain_evm_deploy(const struct chain_evm_config *cfg, uint64_t price_per_sector,
		     const struct chain_policy *policy, const struct chain_pora_params *pora,
		     const struct chain_da_config *da, struct chain_evm_deployment *ret_deployment);

/*
 * chain_sync() - read what the chain settled since the last call (an EVM chain: new
 * Submit events). The local ledger has nothing to read: 0. -ECONNREFUSED etc. when the
 * endpoint is down (the state stays as it was), -CHAIN_EDIVERGED when an event breaks the
 * Flow rules as chain/flow.c applies them (the events stop being followed).
 */
int chain_sync(struct chain *c);

void chain_close(struct chain *c); /* NULL-safe */

/*
 * chain_submit() - validate, charge and settle one submission.
 * The fee is (gap sectors + entry sectors) × price_per_sector, paid from the node's
 * account into the reward pools of the pricing segments the gap and entry cover.
 * Returns 0 and the settled entry, or -CHAIN_EINVALID_SUBMISSION (a Flow validity rule, a
 * tags_len over CHAIN_TAGS_MAX, a length over 1 PiB), -CHAIN_EFUNDS, -EOVERFLOW (the fee
 * does not fit in 64 bits), -ENOSPC (the flow would pass its bound, or the disk is full),
 * -EIO, -EINVAL (NULL argument); on error nothing is settled.
 */
int chain_submit(struct chain *c, const struct chain_submission *sub,
		 struct chain_entry *ret_entry);

/*
 * chain_submit_lazy() - chain_submit(), except that the settlement may become durable only
 * with the next durable one of this chain (anyone's chain_submit()): for a caller whose
 * next submission depends on this one and is waited for. A crash before then leaves it
 * settled or absent, never in part. A chain that settles remotely treats it as
 * chain_submit().
 */
int chain_submit_lazy(struct chain *c, const struct chain_submission *sub,
		      struct chain_entry *ret_entry);

/* chain_entry_get() - the entry with this tx seq; -ENOENT if not settled (yet). */
int chain_entry_get(struct chain *c, uint64_t tx_seq, struct chain_entry *ret_entry);

int chain_flow_info(struct chain *c, struct chain_flow *ret_flow);

/* The node's own account: its address and balance. */
int chain_account(struct chain *c, uint8_t ret_address[CHAIN_ADDRESS_SIZE],
		  uint64_t *ret_balance);

/* Move amount from the node's account into the donation pool that pays base rewards.
 * Returns 0, -EINVAL for amount 0, -CHAIN_EFUNDS (nothing moved), -EIO, -ENOSPC. */
int chain_donate(struct chain *c, uint64_t amount);

/* The donation pool's balance. */
int chain_donations(struct chain *c, uint64_t *ret_balance);

/* Up to max pools, from pricing segment 0; *ret_n is how many were written. There is one
 * pool per segment the flow has reached: ceil(flow length / CHAIN_PRICING_SEGMENT_SECTORS).
 * `released` is measured at the current time (informational until mining pays out). */
int chain_pools(struct chain *c, struct chain_pool *pools, size_t max, size_t *ret_n);

/* ---- Proof of Random Access (docs/PORA.md, "Verification and rewards") ---- */

#define CHAIN_PORA_PROOF_MAX 64 /* Merkle proof hashes: one per level above the seal unit */

/* Mining parameters, fixed when PoRA is set up (chain_pora_setup, `zgfs chain deploy`). */
struct chain_pora_params {
	uint64_t difficulty;	 /* initial: target = (2^256 - 1) / difficulty; ≥ 1 */
	uint64_t epoch_blocks;	 /* blocks per epoch; ≥ 2 */
	uint64_t target_answers; /* answers per epoch the difficulty steers towards; ≥ 1 */
	uint64_t base_reward;	 /* paid from the donation pool for every accepted answer */
};

/* The defaults of `zgfs chain deploy` and of a new embedded ledger: difficulty 1,000,000,
 * 0G's 1200 blocks per epoch and 5 target answers, no base reward (docs/PORA.md). */
#define CHAIN_PORA_DEFAULTS                                                                        \
	{                                                                                          \
		1000000, 1200, 5, 0                                                                \
	}

/* 0G's PoraAnswer. */
struct chain_pora_answer {
	uint8_t context[32]; /* contextDigest */
	uint8_t nonce[32];
	uint8_t miner_id[32];
	struct codec_pora_range range;
	uint64_t recall_position; /* sector: load position + 16 × seal_offset */
	uint64_t seal_offset;	  /* 0..63 */
	uint8_t sealed_context[32];
	uint8_t sealed[CODEC_SEAL_SIZE]; /* sealedData: 128 words */
	size_t nproof;
	uint8_t proof[CHAIN_PORA_PROOF_MAX][32]; /* merkleProof: seal subtree to flow root */
};

/* The mining state as of the newest block. */
struct chain_pora_info {
	struct chain_pora_params params;
	uint64_t height;	  /* newest block */
	uint64_t epoch;		  /* epoch of the current context */
	uint8_t context[32];	  /* its contextDigest */
	uint8_t flow_root[32];	  /* the flow the context fixes */
	uint64_t flow_length;	  /* sectors */
	uint64_t mine_start;	  /* block that made the context */
	uint8_t subtask_digest[32];
	uint8_t target[32];	  /* poraTarget, big-endian */
	uint64_t epoch_answers;	  /* accepted in the current epoch */
	uint64_t accepted;	  /* accepted since genesis */
	uint64_t paid;		  /* rewards paid since genesis */
};

/* An epoch's flow range, as Flow.getEpochRange answers for a context digest. */
struct chain_pora_context {
	uint8_t digest[32];
	uint64_t start, end; /* sectors [start, end) */
};

/* chain_pora_setup() - set the mining parameters, once. Returns 0, -EINVAL for values out
 * of range, -EEXIST when already set, -ENOTSUP on a backend that sets them at deploy. */
int chain_pora_setup(struct chain *c, const struct chain_pora_params *params);

/* chain_pora_info() - -CHAIN_EPORA_OFF before chain_pora_setup(). */
int chain_pora_info(struct chain *c, struct chain_pora_info *ret_info);

/*
 * chain_pora_register() - PoraMine.requestMinerId: id = keccak(hash of the block before
 * the registering one ‖ sender ‖ seed); rewards go to beneficiary. Returns 0 and the id;
 * -EEXIST for an id already taken; -ENOSPC past CHAIN_PORA_MINERS_MAX.
 */
int chain_pora_register(struct chain *c, uint64_t seed,
			const uint8_t beneficiary[CHAIN_ADDRESS_SIZE], uint8_t ret_id[32]);

/* chain_pora_miner() - 0 and the beneficiary of a registered miner id, or -ENOENT. */
int chain_pora_miner(struct chain *c, const uint8_t id[32],
		     uint8_t ret_beneficiary[CHAIN_ADDRESS_SIZE]);

/* chain_pora_miner_of() - 0 and the first registered miner id paying beneficiary, or
 * -ENOENT: how a miner that lost its id file finds the id it registered before. */
int chain_pora_miner_of(struct chain *c, const uint8_t beneficiary[CHAIN_ADDRESS_SIZE],
			uint8_t ret_id[32]);

/*
 * chain_pora_contexts() - the epoch ranges with data, oldest first (from index `from`), up
 * to max; *ret_n written. A unit is sealed with the context whose range holds its last
 * sector.
 */
int chain_pora_contexts(struct chain *c, size_t from, struct chain_pora_context *ctxs, size_t max,
			size_t *ret_n);

/* chain_pora_tick() - add a block with no transactions, so epochs advance on an idle
 * ledger (the embedded ledger makes blocks only when something happens). */
int chain_pora_tick(struct chain *c);

/*
 * chain_pora_submit() - check an answer as Mine.sol's submit does, in its order (the
 * CHAIN_EPORA_* codes), pay the reward to the miner's beneficiary and count it. Returns 0
 * and the reward; a -CHAIN_EPORA_* code (nothing changed, nothing paid); -EIO, -ENOSPC.
 */
int chain_pora_submit(struct chain *c, const struct chain_pora_answer *a, uint64_t *ret_reward);

/*
 * chain_pora_proof_nodes() - which flow nodes a merkleProof holds, bottom-up, for the
 * level-`level` node `index` of a flow of `length` sectors (0G tree rule: the level-k node
 * i covers sectors [i·2^k, min((i+1)·2^k, length)); an odd last node is carried up and
 * has no sibling). A prover hashes each into its root. Returns 0 and the count; -EINVAL
 * when index lies past the flow.
 */
struct chain_flow_node {
	unsigned level;
	uint64_t index;
};
int chain_pora_proof_nodes(uint64_t index, unsigned level, uint64_t length,
			   struct chain_flow_node ret_nodes[CHAIN_PORA_PROOF_MAX], size_t *ret_n);

/*
 * chain_pora_answer_proves() - the answer's unit, unsealed, hashed into its 16-sector
 * subtree and folded with its merkleProof, gives flow_root for a flow of flow_length
 * sectors: the Merkle check of submit, for a miner to run on its own answer first.
 */
__attribute__((warn_unused_result)) bool
chain_pora_answer_proves(const struct chain_pora_answer *a, const uint8_t flow_root[32],
			 uint64_t flow_length);

/* ---- The cluster's storage nodes and policy (docs/CONTRACTS.md, "Registry") ----
 *
 * On an EVM chain the Registry contract named by Flow.registry() records each storage
 * node: its id (the address of the key that registered it), its public URL and its shard
 * (shard_id of num_shard, the 0G rule: flow segment s belongs to the node with
 * s mod num_shard == shard_id), and the cluster's policy. An id holds at most one entry.
 *
 * The embedded ledger is one machine: its policy is none, and it registers only 0/1 with
 * no takeover, held by this chain handle alone (not written to the ledger; a node
 * registers again when it starts). Its node list is that one entry, or empty before.
 * Anything more is -CHAIN_ECLUSTER.
 */
#define CHAIN_REGISTRY_URL_MAX	 256  /* bytes of a node's public URL, ≥ 1 */
#define CHAIN_REGISTRY_NODES_MAX 1024 /* entries one registry holds */

struct chain_node {
	uint8_t id[CHAIN_ADDRESS_SIZE];	      /* the node's account */
	char url[CHAIN_REGISTRY_URL_MAX + 1]; /* NUL-terminated, as registered */
	uint64_t shard_id, num_shard;	      /* num_shard a power of two, shard_id < it */
	uint64_t block;			      /* block of the registration that wrote it */
};

/* chain_shard_check() - 0 when num_shard is a power of two (≥ 1) and shard_id < num_shard,
 * else -EINVAL with chain_last_detail() saying which. Pure; any thread. */
int chain_shard_check(uint64_t shard_id, uint64_t num_shard);

/* chain_registry_policy() - the cluster's redundancy policy ({0, 0} for none, and always
 * on the embedded ledger). -ENOTSUP on an EVM chain whose Flow names no Registry. */
int chain_registry_policy(struct chain *c, struct chain_policy *ret_policy);

/*
 * chain_registry_register() - register this chain handle's account as a storage node.
 * @url:       its public URL (the JSON-RPC endpoint peers and clients call), 1 to
 *             CHAIN_REGISTRY_URL_MAX bytes, NUL-terminated
 * @shard_id, @num_shard: its shard (chain_shard_check)
 * @replaces:  NULL (or all zero, or the own id): write the own entry — replace it if the
 *             account has one, else append one. Another id: take over that node's entry
 *             in place (a new node, with a new key, for a lost one): allowed when that entry
 *             has the same shard_id and num_shard and this account has no entry of its own.
 *             Anyone may take over; the data is verified against the chain's Merkle roots
 *             whoever holds it, so a wrong entry costs availability, never integrity.
 * Returns 0 once the transaction is mined with the configured confirmations, and the
 * entry's index in *ret_index (NULL: not wanted). -EINVAL (nothing sent; a detail says
 * which argument) for a URL or shard out of range; -CHAIN_EREVERTED when the contract
 * refuses (chain_last_detail: its reason, e.g. "Registry: replaced node has another
 * shard"); -CHAIN_ENOKEY; -ENOTSUP when the Flow names no Registry; -CHAIN_ECLUSTER on the
 * embedded ledger for anything but 0/1 without a takeover; or the RPC errors of
 * chain_submit(). A refusal (before sending, or a revert) changes no entry; after a
 * timeout once the transaction was sent, chain_registry_nodes() tells whether it landed.
 */
int chain_registry_register(struct chain *c, const char *url, uint64_t shard_id, uint64_t num_shard,
			    const uint8_t replaces[CHAIN_ADDRESS_SIZE], uint64_t *ret_index);

/*
 * chain_registry_nodes() - the registered nodes in index order, up to max of them, read
 * from the chain now (nothing is cached); *ret_n is how many were written. Entries keep
 * their index: a re-registration or a takeover rewrites one in place, nothing is removed.
 * Pass max = CHAIN_REGISTRY_NODES_MAX for all (about 300 KiB of struct chain_node: heap,
 * not stack). On an EVM chain this costs one eth_call for the count and one per entry.
 * -ENOTSUP when the Flow names no Registry; -EBADMSG when the contract answers something
 * that is not an entry.
 */
int chain_registry_nodes(struct chain *c, struct chain_node *nodes, size_t max, size_t *ret_n);

/* chain_account_balance() - the balance of any account (0 for one never seen). */
int chain_account_balance(struct chain *c, const uint8_t address[CHAIN_ADDRESS_SIZE],
			  uint64_t *ret_balance);

/* Report of chain_verify(). */
struct chain_verify_report {
	uint64_t blocks;
	uint64_t entries;
	uint64_t answers;   /* PoRA answers re-verified in the replay */
	uint64_t bad_block; /* first block that failed, when the result is an error */
	char reason[160];   /* what was wrong with it */
};

/*
 * chain_verify() - replay every block from genesis: check each block's hash, its link to
 * the previous block and its signature, re-apply its transactions to an empty state and
 * compare the result with the stored state (entries, pools, balances, flow, head).
 * Returns 0 with the report, -CHAIN_ETAMPERED with the report naming the first bad block
 * (the head block when only the stored state differs), or -EIO / -ENOMEM (no report).
 * Holds the chain's lock for the whole replay.
 */
int chain_verify(struct chain *c, struct chain_verify_report *ret_report);

/* The DA contract a chain has (docs/DA.md), as chain_da_contract() reads it. */
struct chain_da_contract {
	uint8_t address[CHAIN_ADDRESS_SIZE];
	uint64_t epoch_blocks, first_block, stake_unit, min_stake;
	unsigned slots;
	uint64_t epoch;	  /* the current DA epoch */
	uint64_t signers; /* registered */
	bool has_seed;	  /* the current epoch's seed is recorded ... */
	uint8_t seed[32]; /* ... and is this */
	uint64_t sample_blocks, sample_window, fee_per_kib;
	uint64_t period;      /* the current sampling period */
	bool has_sample_seed; /* whose seed is recorded */
	uint64_t reward_pool; /* wei, saturated */
	bool seconds;	      /* epochs and periods count seconds of block time (embedded) */
};

/* chain_da_contract() - the chain's DA contract and its state: -ENOENT when the chain has
 * none (a Market from before DA, Market.da() zero; an embedded ledger before
 * chain_da_setup()). The embedded ledger's address is zero. */
int chain_da_contract(struct chain *c, struct chain_da_contract *ret);

/* chain_da_setup() - give the embedded ledger its DA rules, once (a transaction): cfg's
 * epoch_blocks and sample_blocks count seconds of block time there, because its blocks
 * come only when something settles (docs/DA.md, "On the embedded ledger"). -EEXIST when it
 * has them, -EINVAL for parameters out of range (a detail says which); -ENOTSUP on an EVM
 * chain, whose DA contract `zgfs chain deploy` creates. */
int chain_da_setup(struct chain *c, const struct chain_da_config *cfg);

/* The account this handle's DA signatures recover to: its EVM account; on the embedded
 * ledger, the secp256k1 key it derives from its ed25519 key (its ledger account, which
 * pays, is chain_account()'s). */
int chain_da_signing_account(struct chain *c, uint8_t ret[CHAIN_ADDRESS_SIZE]);

/* ---- DA on the chain (docs/DA.md, "Signers, quorums and certificates") ----
 *
 * The DA contract's operations, for a signer (register, publish its VRF proof for the next
 * epoch) and for whoever settles a certificate. The EVM backend sends them to the contract
 * Market.da() names; the embedded ledger applies the same rules in its own blocks
 * (chain_da_setup()). Reads are fresh
 * (nothing cached). Transactions return once mined; a refusal is -CHAIN_EREVERTED with
 * the contract's reason in chain_last_detail(). */
struct chain_da_signer; /* chain/da.h */
struct chain_da_quorum;
struct chain_da_cert;

/* A certificate as the contract records it. */
struct chain_da_record {
	uint64_t epoch, len;
	uint8_t quorum[32];
	unsigned slots_signed;
	uint64_t block;		   /* where it was recorded */
	uint64_t fee;		   /* wei paid into the reward pool, saturated */
	unsigned members, signers; /* of the quorum; who signed */
	bool voided;		   /* by a bad-encoding proof: not available */
};

/* Register this handle's account as a DA signer with its VRF public key and URL, adding
 * stake (the value sent; 0 keeps the stake). -EINVAL for a URL of 0 or more than
 * CHAIN_REGISTRY_URL_MAX bytes; -CHAIN_ENOKEY. */
int chain_da_register(struct chain *c, const uint8_t vrf_key[32], const char *url, uint64_t stake);

/* The registered signers in registration order (up to max), each with the proof it
 * published for epoch (has_proof false when none). */
int chain_da_signers(struct chain *c, uint64_t epoch, struct chain_da_signer *signers, size_t max,
		     size_t *ret_n);

/* The seed recorded for epoch e: -ENOENT when none is (yet). */
int chain_da_seed(struct chain *c, uint64_t epoch, uint8_t ret_seed[32]);

/* Record the current epoch's seed (makeSeed(); nothing changes when it is recorded). */
int chain_da_make_seed(struct chain *c);

/* Publish this account's VRF proof for epoch (the current one + 1). */
int chain_da_publish(struct chain *c, uint64_t epoch, const uint8_t proof[80]);

/* Settle certificate cert of quorum q (the slots' accounts and members come from q):
 * *ret_slots (may be NULL) the slots the contract counted. */
int chain_da_certify(struct chain *c, const struct chain_da_quorum *q,
		     const struct chain_da_cert *cert, unsigned *ret_slots);

/* The certificate recorded for a data root: -ENOENT when none is. */
int chain_da_certificate(struct chain *c, const uint8_t data_root[32], struct chain_da_record *ret);

/* Void the certificate of data_root with a bad-encoding proof of one of its lines
 * (codec_da_befp_build(), len bytes, at most CODEC_DA_BEFP_MAX); the contract verifies it
 * itself. A proof it refuses is -CHAIN_EREVERTED with the reason; -EINVAL for an empty or
 * oversized proof. */
int chain_da_void(struct chain *c, const uint8_t data_root[32], const uint8_t *proof, size_t len);

/* ---- DA sampling rewards (docs/DA.md, "Sampling rewards") ----
 *
 * certify() pays the blob fee into the reward pool (chain_da_certify sends it). Every
 * sampling period the signers of each blob certified within the last sample_window
 * periods are challenged for one share of their rows; an answer with its proof earns a
 * part of the blob's fee. */
struct codec_da_proof;

/* What the contract asks of account for data_root in the current period: due false when
 * nothing (not a signer of it, outside its window, answered already). -ENOENT when the
 * period's seed is not recorded yet (chain_da_make_sample_seed()). */
struct chain_da_challenge {
	bool due;
	uint64_t period;
	unsigned row, col;
};
int chain_da_make_sample_seed(struct chain *c);
int chain_da_challenge(struct chain *c, const uint8_t data_root[32],
		       const uint8_t account[CHAIN_ADDRESS_SIZE], struct chain_da_challenge *ret);

/* Answer this account's challenge for data_root with the share (share_size bytes) and its
 * proof through its row (codec_da_prove_row()). A wrong answer is -CHAIN_EREVERTED. */
int chain_da_answer(struct chain *c, const uint8_t data_root[32], const uint8_t *share,
		    size_t share_size, const struct codec_da_proof *proof);

/* What account's answers earned and it has not withdrawn, in wei (saturated). */
int chain_da_earned(struct chain *c, const uint8_t account[CHAIN_ADDRESS_SIZE], uint64_t *ret_wei);

/* A recoverable secp256k1 signature (r ‖ s ‖ v, v 0 or 1, low s) of digest by this
 * handle's account key, as chain_da_sign() makes one. -CHAIN_ENOKEY without a key. */
__attribute__((warn_unused_result)) int chain_sign_digest(struct chain *c, const uint8_t digest[32],
							  uint8_t ret_sig[65]);

/* chain_verify() telling fn (on the caller's thread, may be NULL) how far it got: blocks
 * replayed of the head's (embedded ledger) or entries checked of all (EVM). */
typedef void chain_progress_fn(void *ctx, uint64_t done, uint64_t total);
int chain_verify_progress(struct chain *c, chain_progress_fn *fn, void *ctx,
			  struct chain_verify_report *ret_report);

/*
 * The chain a data directory settles on, kept in DIR/chain.json by `zgfs chain deploy`
 * (or `zgfs chain attach`) so that later commands need only --data DIR.
 */
struct chain_evm_record {
	char rpc[512];
	uint64_t chain_id;
	uint8_t flow[CHAIN_ADDRESS_SIZE];
	uint8_t market[CHAIN_ADDRESS_SIZE];
	uint8_t registry[CHAIN_ADDRESS_SIZE]; /* zero: the Flow names none (older records) */
	uint64_t block;
	unsigned confirmations;
};

/* -ENOENT when dir has none, -EINVAL (chain_last_detail says what) when it is malformed. */
int chain_evm_record_load(const char *data_dir, struct chain_evm_record *ret_record);
/* Written to a temporary file, synced and renamed: the old record or the new one. */
int chain_evm_record_save(const char *data_dir, const struct chain_evm_record *record);

#endif
