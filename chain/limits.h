/*
 * limits.h - every bound the chain layer puts on caller- or peer-controlled sizes.
 *
 * The embedded ledger holds its whole state in memory except entries (read from leveldb on
 * demand), so each thing that grows with use has a named ceiling here.
 */
#ifndef CHAIN_LIMITS_H
#define CHAIN_LIMITS_H

#include "chain/chain.h"
#include "codec/limits.h"

/* Transactions one block may hold (batching several submissions per block comes later). */
#define CHAIN_BLOCK_MAX_TXS 1024

/* Largest encoded block accepted by the decoder: CHAIN_BLOCK_MAX_TXS submissions with full
 * tags and 64 nodes each fit (about 6.4 KiB each). */
#define CHAIN_BLOCK_MAX_BYTES (8u << 20)

/* Submissions that arrive together share one block of the embedded ledger, at most this
 * many (a block of them stays far below CHAIN_BLOCK_MAX_TXS and _BYTES). */
#define CHAIN_LOCAL_GROUP_MAX 64

/* Reward pools kept in memory (24 B each, 24 MiB at most). One pool per 8 GiB pricing
 * segment, so this also bounds the flow: CHAIN_FLOW_MAX_SECTORS. */
#define CHAIN_POOLS_MAX (1ULL << 20)

/* Flow length in sectors beyond which chain_submit() answers -ENOSPC: 2^45 sectors = 8 PiB.
 * Keeps every flow position, pool index and subtree height well inside 64 bits. */
#define CHAIN_FLOW_MAX_SECTORS (CHAIN_POOLS_MAX * CHAIN_PRICING_SEGMENT_SECTORS)

/* Largest submission length in bytes: what codec/ can hash (1 PiB). Larger submissions are
 * -CHAIN_EINVALID_SUBMISSION. Bounds the pools one entry touches to 2^17. */
#define CHAIN_ENTRY_MAX_BYTES CODEC_MAX_ENTRY_SIZE

/* Accounts in the ledger state (only the node's own account exists today). */
#define CHAIN_ACCOUNTS_MAX 16

/* PoRA miners one embedded ledger registers (each also gets an account for its beneficiary,
 * so CHAIN_ACCOUNTS_MAX bounds them too). */
#define CHAIN_PORA_MINERS_MAX 8

/* Epoch ranges with data the embedded ledger remembers as seal contexts (48 B each in the
 * state record). Data of epochs past this many is not recorded and cannot be mined
 * (docs/PORA.md, limits); 512 epochs that each add data is far beyond one node's use. */
#define CHAIN_PORA_CONTEXTS_MAX 512

/* Largest stored record the decoders accept: the state record, an entry record. */
#define CHAIN_RECORD_MAX_BYTES (64u << 10)

/* Largest JSON-RPC response body the EVM client reads (chain/evm_rpc.c); a larger one is
 * -E2BIG. eth_getLogs over a wide block range is the big answer: split the range instead. */
#define CHAIN_EVM_RESPONSE_MAX (64u << 20)

/* Easy handles (each with its own keep-alive connection) one EVM RPC client keeps; more
 * concurrent calls wait for one to come back. */
#define CHAIN_EVM_RPC_HANDLES 8

/* Submissions one EVM transaction settles at most (batchSubmit); more queued closes wait
 * for the next transaction. 64 entries of a few nodes stay far below a block's gas. */
#define CHAIN_EVM_BATCH_MAX 64

/* Largest transaction the EVM backend signs: the Flow's creation code, or a batch of
 * CHAIN_EVM_BATCH_MAX submissions with full tags (about 8 KiB each). */
#define CHAIN_EVM_TX_MAX (1u << 20)

/* Blocks asked for in one eth_getLogs while following (endpoints cap the range). */
#define CHAIN_EVM_LOG_BLOCKS 2000

/* Rounds of waiting for a receipt or for confirmations (about 200 ms each, so a minute)
 * before a submission is reported as -ETIMEDOUT. */
#define CHAIN_EVM_WAIT_ROUNDS 300

/* Priority fee (wei per gas) offered when the endpoint suggests none. */
#define CHAIN_EVM_DEFAULT_TIP 1000000000ULL

/* How long the EVM backend reuses the fees it read (base fee and tip) before reading them
 * again; a refused transaction reads them again at once. */
#define CHAIN_EVM_FEE_TTL_MS 2000

/* A lookup of an entry not followed yet reads the chain at most this often. */
#define CHAIN_EVM_SYNC_MIN_MS 20

#endif
