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

/* Largest stored record the decoders accept: the state record, an entry record. */
#define CHAIN_RECORD_MAX_BYTES (64u << 10)

#endif
