/*
 * rlp_i.h - Ethereum's Recursive Length Prefix encoding, written onto a chain_wbuf.
 * Internal to chain/ (the EVM backend's transactions and addresses).
 *
 * Guarantees: the output is the canonical encoding (the shortest header, integers without
 * leading zero bytes), so equal values encode to equal bytes and decoders that reject
 * non-canonical input (geth, ethers) accept it. Every function appends to the writer and
 * follows its rules: a failure (-E2BIG past w->max, -ENOMEM) sticks in w->err and later
 * writes do nothing. Pure computation on caller memory; thread-safe on distinct writers.
 */
#ifndef CHAIN_RLP_I_H
#define CHAIN_RLP_I_H

#include <stddef.h>
#include <stdint.h>

#include "chain/buf_i.h"

/* A byte string: one byte below 0x80 as itself; otherwise 0x80+len (len <= 55) or
 * 0xb7+len-of-len and the big-endian length, then the bytes. p may be NULL when n is 0. */
void chain_rlp_bytes(struct chain_wbuf *w, const uint8_t *p, size_t n);

/* An unsigned integer as its minimal big-endian byte string: 0 is the empty string (0x80),
 * 1..127 a single byte. */
void chain_rlp_u64(struct chain_wbuf *w, uint64_t v);

/* The same for a 256-bit integer given as 32 big-endian bytes. */
void chain_rlp_u256(struct chain_wbuf *w, const uint8_t be[32]);

/* A list whose items are already encoded, concatenated, in payload (n bytes): the list
 * header 0xc0+n (n <= 55) or 0xf7+len-of-len and the big-endian length, then payload.
 * Nested lists are built inside out: encode the items into one writer, wrap them with
 * this into another. payload may be NULL when n is 0 (the empty list, 0xc0). */
void chain_rlp_list(struct chain_wbuf *w, const uint8_t *payload, size_t n);

/* Bytes chain_rlp_list() or chain_rlp_bytes() puts before a payload of n bytes (for the
 * string form, when it is not a single byte below 0x80): 1 up to 55, 1 + len-of-len
 * above. */
size_t chain_rlp_header_size(size_t n);

/*
 * chain_evm_create_address() - the address of a contract deployed by a plain CREATE
 * transaction (or the CREATE opcode): keccak256(rlp([sender, nonce]))[12:], where nonce is
 * the sender's nonce when deploying. Pure, thread-safe.
 */
void chain_evm_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t ret[20]);

#endif
