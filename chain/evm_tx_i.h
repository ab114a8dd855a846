/*
 * evm_tx_i.h - signed EIP-1559 (type 2) Ethereum transactions. Internal to chain/.
 *
 * Guarantees: chain_evm_tx_sign() produces the canonical raw transaction
 * 0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value,
 * data, accessList, yParity, r, s]) with an empty access list, signed over
 * keccak256(0x02 ‖ rlp([the first nine fields])) with RFC 6979 nonces and low s, so it is
 * byte-for-byte what ethers or geth produce for the same fields and key, and any node
 * accepts it for eth_sendRawTransaction.
 */
#ifndef CHAIN_EVM_TX_I_H
#define CHAIN_EVM_TX_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chain/buf_i.h"
#include "chain/evm_key_i.h"

#define CHAIN_EVM_TX_TYPE_1559 0x02

/* The fields of a transaction. Integers are as the chain reads them: fees in wei per gas,
 * value in wei. */
struct chain_evm_tx {
	uint64_t chain_id, nonce, max_priority_fee, max_fee, gas; /* max_priority_fee <= max_fee */
	bool create;	     /* contract creation: `to` is encoded empty and ignored */
	uint8_t to[20];	     /* the callee, when !create */
	uint8_t value[32];   /* big-endian uint256 */
	const uint8_t *data; /* calldata, or the init code when create; NULL when data_len 0 */
	size_t data_len;
};

/*
 * chain_evm_tx_sign() - sign tx with key and write the raw transaction.
 * @ret_raw:  the raw transaction (type byte first) is appended; ret_raw->max bounds it
 * @ret_hash: the transaction hash, keccak256 of the raw bytes (what eth_getTransactionByHash
 *            takes)
 * Neither tx nor key is checked against a chain (nonce, fee or balance): that is the
 * caller's business.
 * Returns 0; -E2BIG when the raw transaction does not fit in ret_raw's remaining room;
 * ret_raw->err when ret_raw had already failed; -ENOMEM; -EINVAL when key->secret is not a
 * valid secret, tx->max_priority_fee is above tx->max_fee (no node accepts that), or
 * tx->data is NULL with a non-zero data_len; -ERANGE (see
 * chain_evm_key_sign()). On error, ret_raw and ret_hash are left as they were, except that
 * an -ENOMEM of the final append sticks in ret_raw->err, as writers do.
 * Thread-safe.
 */
__attribute__((warn_unused_result)) int chain_evm_tx_sign(const struct chain_evm_tx *tx,
							  const struct chain_evm_key *key,
							  struct chain_wbuf *ret_raw,
							  uint8_t ret_hash[32]);

/* A big-endian uint256 (chain_evm_tx.value) holding v. */
static inline void chain_u256_from_u64(uint8_t out[32], uint64_t v)
{
	memset(out, 0, 24);
	for (int i = 0; i < 8; i++)
		out[24 + i] = (uint8_t)(v >> (56 - 8 * i));
}

#endif
