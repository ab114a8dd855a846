/*
 * evm_rpc_i.h - an Ethereum JSON-RPC client over libcurl, and typed helpers for the
 * methods the EVM backend calls. Internal to chain/.
 *
 * Guarantees: a handle is safe to use from several threads at once. It keeps up to
 * CHAIN_EVM_RPC_HANDLES libcurl easy handles, each with its own keep-alive connection; a
 * call borrows a free one (waiting when all are busy), so calls never share a transfer.
 * Every response body is bounded by CHAIN_EVM_RESPONSE_MAX. Transport failures (no
 * connection, timeout, HTTP 5xx or 429 without a JSON-RPC answer) are retried with
 * doubling backoff; an answer from the node, error or not, is never retried. All hex the
 * node sends is parsed strictly: quantities are "0x" then 1 to 64 hex digits, byte strings
 * "0x" then an even number of hex digits, hashes and addresses exactly 32 and 20 bytes.
 *
 * Return codes common to every call below:
 *   -ECONNREFUSED, -EHOSTUNREACH (name not resolved), -ETIMEDOUT, -EIO (HTTP 5xx, broken
 *   transfer): the node could not be reached, after every try;
 *   -EPROTO: the node answered with a JSON-RPC error (the fault, when asked for, has it);
 *   -CHAIN_EREVERTED: that error carries revert data (fault->data) or says the execution
 *   reverted;
 *   -EBADMSG: the answer is not JSON-RPC, or its result does not have the expected shape;
 *   -E2BIG: the answer is larger than CHAIN_EVM_RESPONSE_MAX;
 *   -EOVERFLOW: a number the caller wants as u64 does not fit;
 *   -ENOMEM; -EINVAL for a NULL argument.
 * After any failure, chain_evm_rpc_error() says what happened in words. ret_ parameters
 * are written only on success.
 */
#ifndef CHAIN_EVM_RPC_I_H
#define CHAIN_EVM_RPC_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chain/buf_i.h"
#include "chain/chain.h"
#include "chain/limits.h"

struct chain_evm_rpc;

struct chain_evm_rpc_opts {
	unsigned retries;    /* tries in all, the first one included; 0: 5 */
	unsigned backoff_ms; /* wait before the second try, doubling after (at most 5 s); 0: 200 */
	unsigned timeout_ms; /* of one try, connecting included; 0: 30 s */
};

/*
 * chain_evm_rpc_open() - a client for the JSON-RPC endpoint at url (http:// or https://).
 * Nothing is sent until the first call. opts may be NULL (all defaults).
 * Returns 0, -EINVAL for a NULL or non-http(s) url, -ENOMEM.
 */
int chain_evm_rpc_open(const char *url, const struct chain_evm_rpc_opts *opts,
		       struct chain_evm_rpc **ret);

/* Closes the connections and frees r. No call may be in progress. NULL-safe. */
void chain_evm_rpc_close(struct chain_evm_rpc *r);

/*
 * chain_evm_rpc_error() - the last failure of a call in the calling thread, in words, for
 * the caller's message: "cannot reach http://host:8545: Connection refused (after 5
 * tries)", or "eth_call: execution reverted: ..." with the node's own message. The URL is
 * shown without user:password@ and without the query string. "" when the thread's last
 * call succeeded. The text is the calling thread's (whichever handle it used) and stays
 * valid until the thread's next call. Never NULL.
 */
const char *chain_evm_rpc_error(struct chain_evm_rpc *r);

/* A JSON-RPC error object. */
struct chain_evm_rpc_fault {
	long code;
	char message[256];  /* the node's message, truncated, non-printable bytes as '?' */
	uint8_t data[1024]; /* revert data, when the node gave it as hex (at most this much) */
	size_t data_len;
};

/*
 * chain_evm_rpc_call() - one JSON-RPC call.
 * @params:     the parameters (an array); the reference is stolen, even on failure. NULL
 *              sends [].
 * @ret_result: the result, a new reference the caller releases (JSON null is a result)
 * @ret_fault:  filled when the return is -EPROTO or -CHAIN_EREVERTED; may be NULL
 * Returns 0 or one of the codes above.
 */
int chain_evm_rpc_call(struct chain_evm_rpc *r, const char *method, json_t *params,
		       json_t **ret_result, struct chain_evm_rpc_fault *ret_fault);

/* ---- strict hex ------------------------------------------------------------------------- */

/* A hex quantity ("0x" then 1 to 64 hex digits) as a 32-byte big-endian number.
 * Returns 0 or -EBADMSG. */
__attribute__((warn_unused_result)) int chain_evm_parse_quantity(const char *text, uint8_t ret[32]);

/* The same, as a u64: -EOVERFLOW when the value does not fit. */
__attribute__((warn_unused_result)) int chain_evm_parse_u64(const char *text, uint64_t *ret);

/* ---- typed helpers ---------------------------------------------------------------------- */

/* eth_chainId. */
int chain_evm_rpc_chain_id(struct chain_evm_rpc *r, uint64_t *ret);

/* eth_blockNumber: the newest block. */
int chain_evm_rpc_block_number(struct chain_evm_rpc *r, uint64_t *ret);

/* eth_gasPrice, in wei per gas. */
int chain_evm_rpc_gas_price(struct chain_evm_rpc *r, uint64_t *ret);

/* eth_maxPriorityFeePerGas, in wei per gas; -EPROTO when the node does not support it. */
int chain_evm_rpc_max_priority_fee(struct chain_evm_rpc *r, uint64_t *ret);

#define CHAIN_EVM_BLOCK_LATEST UINT64_MAX

struct chain_evm_block {
	uint64_t number;
	uint64_t timestamp; /* seconds since the epoch */
	bool has_base_fee;  /* false before London (no baseFeePerGas) */
	uint64_t base_fee;  /* wei per gas */
	uint8_t hash[32];
};

/* eth_getBlockByNumber(number, false); number CHAIN_EVM_BLOCK_LATEST asks for "latest".
 * -ENOENT when the node has no such block (yet). */
int chain_evm_rpc_block(struct chain_evm_rpc *r, uint64_t number, struct chain_evm_block *ret);

/* eth_getBalance(address, "latest") as a 32-byte big-endian uint256, in wei. */
int chain_evm_rpc_balance(struct chain_evm_rpc *r, const uint8_t address[CHAIN_ADDRESS_SIZE],
			  uint8_t ret[32]);

/* eth_getTransactionCount(address, "pending" or "latest"): the next nonce. */
int chain_evm_rpc_nonce(struct chain_evm_rpc *r, const uint8_t address[CHAIN_ADDRESS_SIZE],
			bool pending, uint64_t *ret);

/* A message call (or, without `to`, a contract creation) for eth_estimateGas / eth_call. */
struct chain_evm_call {
	const uint8_t *from;  /* 20 bytes, or NULL */
	const uint8_t *to;    /* 20 bytes; NULL: a creation, data is the init code */
	const uint8_t *value; /* 32-byte big-endian wei, or NULL for none */
	const uint8_t *data;  /* may be NULL when data_len is 0 */
	size_t data_len;
};

/* eth_estimateGas(call): the gas it needs. A call that would revert is -CHAIN_EREVERTED
 * with the revert data in ret_fault (may be NULL). */
int chain_evm_rpc_estimate_gas(struct chain_evm_rpc *r, const struct chain_evm_call *call,
			       uint64_t *ret_gas, struct chain_evm_rpc_fault *ret_fault);

/* eth_call(call, "latest"): the return bytes are appended to ret (bounded by ret->max:
 * -E2BIG, and ret untouched, when they do not fit). Reverts as for estimate_gas. */
int chain_evm_rpc_eth_call(struct chain_evm_rpc *r, const struct chain_evm_call *call,
			   struct chain_wbuf *ret, struct chain_evm_rpc_fault *ret_fault);

/* eth_sendRawTransaction(raw): the transaction hash the node reports. The node's refusal
 * ("nonce too low", "insufficient funds", "already known") is -EPROTO with the fault. A
 * transport failure is retried like any call: resending the same raw transaction is
 * harmless, and may then be answered "already known". */
int chain_evm_rpc_send_raw(struct chain_evm_rpc *r, const uint8_t *raw, size_t len,
			   uint8_t ret_hash[32], struct chain_evm_rpc_fault *ret_fault);

struct chain_evm_log {
	uint64_t block, log_index;
	uint8_t tx_hash[32], block_hash[32];
	uint8_t address[CHAIN_ADDRESS_SIZE];
	size_t ntopics;
	uint8_t topics[4][32];
	const uint8_t *data; /* valid during the callback only */
	size_t data_len;
	bool removed;
};

/* Called once per log; a nonzero return stops the delivery and is returned. */
typedef int chain_evm_log_fn(void *ctx, const struct chain_evm_log *log);

struct chain_evm_receipt {
	uint64_t status; /* 1 success, 0 reverted */
	uint64_t block, gas_used;
	bool has_contract; /* a creation: contract is the new contract's address */
	uint8_t contract[CHAIN_ADDRESS_SIZE];
	uint8_t block_hash[32];
};

/*
 * chain_evm_rpc_receipt() - eth_getTransactionReceipt(tx_hash).
 * The whole receipt is checked before anything is delivered; then each log goes to fn (fn
 * may be NULL) in the receipt's order, and ret is written once every call returned 0.
 * Returns 0; -ENOENT while the transaction is not mined (the node answers null); fn's
 * nonzero return; -EBADMSG for a receipt without status, or with a log from another block.
 */
int chain_evm_rpc_receipt(struct chain_evm_rpc *r, const uint8_t tx_hash[32],
			  struct chain_evm_receipt *ret, chain_evm_log_fn *fn, void *ctx);

/*
 * chain_evm_rpc_logs() - eth_getLogs for the logs of `address` with topic0, in blocks
 * from_block..to_block (both included; to_block CHAIN_EVM_BLOCK_LATEST: "latest").
 * Every log is checked before any is delivered: it must come from address, carry topic0,
 * lie in the range, and follow the previous one in (block, log index) order, as nodes give
 * them; otherwise -EBADMSG. Then fn sees them in that order; its nonzero return stops the
 * delivery and is returned. Nodes cap the range or the count of one query (an -EPROTO
 * whose fault says so): ask for smaller ranges.
 */
int chain_evm_rpc_logs(struct chain_evm_rpc *r, const uint8_t address[CHAIN_ADDRESS_SIZE],
		       const uint8_t topic0[32], uint64_t from_block, uint64_t to_block,
		       chain_evm_log_fn *fn, void *ctx);

#endif
