/*
 * abi_i.h - the Solidity ABI of the Flow contract, as far as the EVM backend uses it:
 * calldata for submit/batchSubmit and the views, the Submit event, view and submit return
 * data, and revert data. Internal to chain/.
 *
 * The contract is ABI-identical to 0G's FixedPriceFlow as the SDK sees it
 * (../shared/PROTOCOL.md, "Flow contract"):
 *
 *   struct SubmissionNode { bytes32 root; uint256 height; }
 *   struct Submission { uint256 length; bytes tags; SubmissionNode[] nodes; }
 *   struct SubmissionData { Submission data; address submitter; }
 *   submit(SubmissionData) payable returns (uint256, bytes32, uint256, uint256)
 *   batchSubmit(SubmissionData[]) payable returns (uint256[], bytes32[], uint256[], uint256[])
 *   event Submit(address indexed sender, bytes32 indexed identity, uint256 submissionIndex,
 *                uint256 startPos, uint256 length, Submission submission)
 *
 * Guarantees: encoders write the canonical encoding (what solc and ethers produce: heads in
 * order, dynamic parts in order right after their head, bytes zero-padded to 32) onto a
 * chain_wbuf and follow its rules (a failure sticks in w->err; check once at the end).
 * Decoders take bytes from a remote node, which may be hostile: every offset and length is
 * checked against the input without overflow, numbers that do not fit the C type are
 * -EOVERFLOW, and ret_ parameters are written only on success. Everything here is pure
 * computation on caller memory and thread-safe.
 */
#ifndef CHAIN_ABI_I_H
#define CHAIN_ABI_I_H

#include <stddef.h>
#include <stdint.h>

#include "chain/buf_i.h"
#include "chain/chain.h"

#define CHAIN_ABI_WORD 32

/* Canonical signatures: the selectors and the topic below are their keccak256. */
#define CHAIN_ABI_SIG_SUBMIT	      "submit(((uint256,bytes,(bytes32,uint256)[]),address))"
#define CHAIN_ABI_SIG_BATCH_SUBMIT    "batchSubmit(((uint256,bytes,(bytes32,uint256)[]),address)[])"
#define CHAIN_ABI_SIG_MARKET	      "market()"
#define CHAIN_ABI_SIG_PRICE	      "pricePerSector()" /* on the Market */
#define CHAIN_ABI_SIG_NUM_SUBMISSIONS "numSubmissions()"
#define CHAIN_ABI_SIG_FLOW_LENGTH     "flowLength()"
#define CHAIN_ABI_SIG_FLOW_ROOT	      "flowRoot()"
#define CHAIN_ABI_SIG_SUBMIT_EVENT                                                                 \
	"Submit(address,bytes32,uint256,uint256,uint256,(uint256,bytes,(bytes32,uint256)[]))"
#define CHAIN_ABI_SIG_INVALID_SUBMISSION "InvalidSubmission()"
#define CHAIN_ABI_SIG_NOT_ENOUGH_FEE	 "NotEnoughFee(uint256,uint256,uint256)"
#define CHAIN_ABI_SIG_ERROR		 "Error(string)"
#define CHAIN_ABI_SIG_PANIC		 "Panic(uint256)"
#define CHAIN_ABI_SIG_PORA_REFUSED	 "PoraRefused(uint8)" /* on the Mine */
#define CHAIN_ABI_SIG_MINER_ID_TAKEN	 "MinerIdTaken(bytes32)"

/* The same as big-endian 32-bit numbers (the first four bytes of keccak256(signature)). */
#define CHAIN_ABI_SEL_SUBMIT		 0xbc8c11f8u
#define CHAIN_ABI_SEL_BATCH_SUBMIT	 0x49aa3395u
#define CHAIN_ABI_SEL_MARKET		 0x80f55605u
#define CHAIN_ABI_SEL_INVALID_SUBMISSION 0xf956cee4u
#define CHAIN_ABI_SEL_NOT_ENOUGH_FEE	 0xf85c6482u
#define CHAIN_ABI_SEL_ERROR		 0x08c379a0u
#define CHAIN_ABI_SEL_PANIC		 0x4e487b71u
#define CHAIN_ABI_SEL_PORA_REFUSED	 0x422ef64au
#define CHAIN_ABI_SEL_MINER_ID_TAKEN	 0x38543621u

/* topic0 of Submit: keccak256(CHAIN_ABI_SIG_SUBMIT_EVENT). */
#define CHAIN_ABI_SUBMIT_TOPIC "0x167ce04d2aa1981994d3a31695da0d785373335b1078cec239a1a3a2c7675555"

/* ---- hashes of signatures ------------------------------------------------------------ */

/* The function (or error) selector: the first 4 bytes of keccak256(signature). signature
 * is the canonical form, without spaces or parameter names. */
void chain_abi_selector(const char *signature, uint8_t ret[4]);

/* An event's topic0: keccak256(signature). */
void chain_abi_topic(const char *signature, uint8_t ret[CHAIN_ABI_WORD]);

/* ---- words ------------------------------------------------------------------------------ */

/* v as a uint256: 24 zero bytes, then v big-endian. */
void chain_abi_put_u64(uint8_t w[CHAIN_ABI_WORD], uint64_t v);

/* An address: 12 zero bytes, then the 20 bytes. */
void chain_abi_put_address(uint8_t w[CHAIN_ABI_WORD], const uint8_t address[CHAIN_ADDRESS_SIZE]);

/* A bytes32 as itself. */
void chain_abi_put_bytes32(uint8_t w[CHAIN_ABI_WORD], const uint8_t b[CHAIN_ABI_WORD]);

/* A uint256 word as a u64. Returns 0, or -EOVERFLOW when any of its 24 high bytes is set. */
__attribute__((warn_unused_result)) int chain_abi_word_u64(const uint8_t w[CHAIN_ABI_WORD],
							   uint64_t *ret);

/* An address word. Returns 0, or -EINVAL when any of its 12 high bytes is set. */
__attribute__((warn_unused_result)) int chain_abi_word_address(const uint8_t w[CHAIN_ABI_WORD],
							       uint8_t ret[CHAIN_ADDRESS_SIZE]);

/* ---- calldata by hand ---------------------------------------------------------------------- */

/* Append the selector of sig, or one uint256 word holding v (errors stick in w->err). */
void chain_abi_append_selector(struct chain_wbuf *w, const char *sig);
void chain_abi_append_u64(struct chain_wbuf *w, uint64_t v);

/* ---- dynamic parts ------------------------------------------------------------------------ */

/* Append the tail of a `bytes` or `string` value: its length as a word, then its n bytes
 * zero-padded to a multiple of 32. Errors stick in w->err. */
void chain_abi_put_dynamic(struct chain_wbuf *w, const void *p, size_t n);

/*
 * chain_abi_decode_dynamic() - the `bytes` or `string` value whose offset is word `word`
 * of a head of `head` words at the start of data (len bytes): *ret_p points into data,
 * *ret_n is its length. Returns 0, or -EBADMSG when the word is missing or past 64 bits,
 * the offset is not a multiple of 32 or points outside data or into the head, or the value
 * is longer than max or runs past the end. Pure.
 */
__attribute__((warn_unused_result)) int chain_abi_decode_dynamic(const uint8_t *data, size_t len,
								 size_t word, size_t head,
								 size_t max, const uint8_t **ret_p,
								 size_t *ret_n);

/* ---- calldata ---------------------------------------------------------------------------- */

/*
 * chain_abi_encode_submit() - append the calldata of submit(SubmissionData{sub, submitter})
 * to w: the selector, then the one tuple argument. Nothing else about sub is checked
 * (validity is the contract's business). Errors stick in w->err: -EINVAL when tags_len is
 * over CHAIN_TAGS_MAX or nnodes over CODEC_MAX_NODES, -E2BIG past w->max, -ENOMEM.
 */
void chain_abi_encode_submit(const struct chain_submission *sub,
			     const uint8_t submitter[CHAIN_ADDRESS_SIZE], struct chain_wbuf *w);

/*
 * chain_abi_encode_batch_submit() - append the calldata of batchSubmit() with n
 * SubmissionData{subs[i], submitter} (n may be 0: an empty array). Same rules as
 * chain_abi_encode_submit().
 */
void chain_abi_encode_batch_submit(const struct chain_submission *const *subs, size_t n,
				   const uint8_t submitter[CHAIN_ADDRESS_SIZE],
				   struct chain_wbuf *w);

/* Append the calldata of a call without arguments (market(), pricePerSector(),
 * numSubmissions(), flowLength(), flowRoot()): just the selector of sig. */
void chain_abi_encode_call0(const char *sig, struct chain_wbuf *w);

/* Append the calldata of a call with one uint256 argument: the selector, then v. */
void chain_abi_encode_call_u64(const char *sig, uint64_t v, struct chain_wbuf *w);

/* Append a contract's creation data: code (len bytes of init code), then the constructor's
 * one uint256 argument (the Flow's pricePerSector_). */
void chain_abi_encode_create_u64(const uint8_t *code, size_t len, uint64_t arg,
				 struct chain_wbuf *w);

/* Append creation data with n constructor arguments, 32·n bytes of ABI words (static
 * types only: the Registry's (ecK, ecM), the Flow's (pricePerSector_, registry_)). */
void chain_abi_encode_create(const uint8_t *code, size_t len, const uint8_t *words, size_t n,
			     struct chain_wbuf *w);

/* ---- the Submit event ---------------------------------------------------------------------- */

struct chain_abi_submit_event {
	uint8_t sender[CHAIN_ADDRESS_SIZE]; /* topic 1 */
	uint8_t identity[CHAIN_ABI_WORD];   /* topic 2: keccak256 of the concatenated node roots */
	uint64_t index;			    /* submissionIndex: the tx seq */
	uint64_t start;			    /* startPos: first flow sector of the entry */
	uint64_t sectors;		    /* length: the entry's padded sectors */
	struct chain_submission sub;
};

/*
 * chain_abi_decode_submit_event() - decode one Submit log.
 * @topics:  ntopics topics as the log gives them; there must be 3: the event's topic0,
 *           the sender (an address word) and the identity
 * @data:    the log's data (len bytes): (submissionIndex, startPos, length, submission)
 *
 * Offsets are followed wherever they point (they need not be canonical) as long as every
 * part lies inside data and after the head that refers to it. The tags' padding to 32 bytes
 * must be zero; after the furthest part, data may carry fewer than 32 more bytes, all zero,
 * and nothing else.
 * Returns 0; -EINVAL for a wrong topic count or topic0, a sender with high bytes set, an
 * offset or length outside data, nonzero padding, trailing bytes, or a node height of 64
 * or more; -E2BIG for tags over CHAIN_TAGS_MAX bytes or more than CODEC_MAX_NODES nodes;
 * -EOVERFLOW for a number (index, start, sectors, length) that does not fit in 64 bits.
 * ret is written only on success.
 */
__attribute__((warn_unused_result)) int
chain_abi_decode_submit_event(const uint8_t topics[][CHAIN_ABI_WORD], size_t ntopics,
			      const uint8_t *data, size_t len, struct chain_abi_submit_event *ret);

/* ---- return data ------------------------------------------------------------------------- */

/* The return data of a view returning one uint256 / address / bytes32: exactly one word.
 * Return 0; -EINVAL when len is not 32 (or, for an address, its high bytes are set);
 * -EOVERFLOW when the uint256 does not fit in 64 bits. */
__attribute__((warn_unused_result)) int chain_abi_decode_u64(const uint8_t *data, size_t len,
							     uint64_t *ret);
__attribute__((warn_unused_result)) int chain_abi_decode_address(const uint8_t *data, size_t len,
								 uint8_t ret[CHAIN_ADDRESS_SIZE]);
__attribute__((warn_unused_result)) int chain_abi_decode_bytes32(const uint8_t *data, size_t len,
								 uint8_t ret[CHAIN_ABI_WORD]);

/* What submit() returns. */
struct chain_abi_submit_return {
	uint64_t index;			/* the tx seq */
	uint8_t digest[CHAIN_ABI_WORD]; /* keccak256 of the concatenated node roots */
	uint64_t start;			/* startIndex: first flow sector */
	uint64_t sectors;		/* length: the entry's padded sectors */
};

/* submit()'s return data: exactly four words. Returns 0, -EINVAL for another length,
 * -EOVERFLOW for a number that does not fit in 64 bits. */
__attribute__((warn_unused_result)) int
chain_abi_decode_submit_return(const uint8_t *data, size_t len,
			       struct chain_abi_submit_return *ret);

/* ---- revert data ------------------------------------------------------------------------- */

/*
 * chain_abi_revert_reason() - a message a person can read for a call's revert data.
 *   Error(string)                  the string, with anything but printable ASCII as '?'
 *   Panic(uint256)                 "panic 0x11 (arithmetic overflow)"
 *   InvalidSubmission()            "invalid submission (a Flow validity rule)"
 *   NotEnoughFee(price, n, paid)   "not enough fee: N sectors at P wei per sector need X
 *                                  wei, paid Y" (a number past 64 bits in hex)
 *   PoraRefused(code)              chain_strerror() of the code chain_abi_revert_code gives
 *   MinerIdTaken(id)               "miner id 0x... is already registered"
 *   anything else                  "reverted (selector 0x12345678)"; no data at all:
 *                                  "reverted without a reason"
 * A known selector whose arguments do not decode is reported as an unknown one, with
 * "malformed" added. The message is truncated to fit buf (size bytes, NUL included).
 * Returns 0, or -EINVAL when buf is NULL or size is 0 (or data is NULL with len > 0).
 */
int chain_abi_revert_reason(const uint8_t *data, size_t len, char *buf, size_t size);

/*
 * chain_abi_revert_code() - the chain code a revert stands for: InvalidSubmission() is
 * -CHAIN_EINVALID_SUBMISSION, PoraRefused(k) for k in 1..11 is -(CHAIN_EPORA_OFF + k - 1)
 * (the Mine's codes follow chain.h's list), MinerIdTaken(id) is -EEXIST; anything else,
 * malformed arguments included, is -CHAIN_EREVERTED. Pure.
 */
int chain_abi_revert_code(const uint8_t *data, size_t len);

#endif
