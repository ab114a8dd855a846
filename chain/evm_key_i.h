/*
 * evm_key_i.h - the secp256k1 account key that signs EVM transactions. Internal to chain/.
 *
 * A key is its 32-byte secret and the address derived from it: the last 20 bytes of
 * keccak256 of the uncompressed public key without its 0x04 prefix byte. A loaded key is
 * always a valid secp256k1 secret (non-zero, below the group order) and its address always
 * matches it. The secret is caller memory: wipe it with chain_evm_key_wipe() when done.
 *
 * The key file holds the secret as 64 hex digits, with or without "0x", optionally
 * surrounded by whitespace (a trailing newline, say). Like ssh with its keys (and zgfs
 * with node.key), a key file that grants any permission to group or others is refused.
 *
 * All functions are thread-safe: the one libsecp256k1 context is created, and randomized
 * against side channels, once per process.
 */
#ifndef CHAIN_EVM_KEY_I_H
#define CHAIN_EVM_KEY_I_H

#include <stdint.h>

#define CHAIN_EVM_SECRET_SIZE	 32
#define CHAIN_EVM_SIGNATURE_SIZE 65 /* r (32) ‖ s (32) ‖ recovery id (1) */

/* Largest key file read: 64 hex digits, "0x" and whitespace around them. */
#define CHAIN_EVM_KEY_FILE_MAX 1024

struct chain_evm_key {
	uint8_t secret[CHAIN_EVM_SECRET_SIZE];
	uint8_t address[20];
};

/*
 * chain_evm_key_from_hex() - a key from its secret in hex.
 * @hex: exactly 64 hex digits (either case), with or without a "0x" or "0X" prefix, and
 *       nothing else (no whitespace)
 * Returns 0, -EINVAL when hex is not that or is not a valid secp256k1 secret (zero, or not
 * below the group order), -ENOMEM when the secp256k1 context cannot be created.
 */
__attribute__((warn_unused_result)) int chain_evm_key_from_hex(const char *hex,
							       struct chain_evm_key *ret_key);

/*
 * chain_evm_key_load() - read a key file (see the top of this header). A symlink is
 * followed; the permissions checked are those of the file it names.
 * Returns 0, -EPERM when group or others have any permission on the file (read, write or
 * execute: mode & 077; chmod 600 fixes it), -ENOENT when it does not exist, -EINVAL when it
 * is not a regular file or does not hold a valid key (also when it is larger than
 * CHAIN_EVM_KEY_FILE_MAX), -ENOMEM, or another -errno from open() or read().
 */
__attribute__((warn_unused_result)) int chain_evm_key_load(const char *path,
							   struct chain_evm_key *ret_key);

/* chain_evm_key_wipe() - zero the whole key (secret and address), in a way the compiler
 * cannot drop. NULL-safe. */
void chain_evm_key_wipe(struct chain_evm_key *k);

/*
 * chain_evm_key_sign() - recoverable ECDSA signature of a 32-byte digest.
 * The nonce is RFC 6979's deterministic one (libsecp256k1's default, no extra data) and s
 * is in the lower half of the order, as Ethereum requires (EIP-2), so the same key and
 * digest always give the same signature, the one ethers and geth make.
 * @ret_sig: r (32 bytes, big-endian) ‖ s (32, big-endian) ‖ recovery id (0 or 1: the
 *           parity of the y coordinate of R, Ethereum's yParity)
 * Returns 0, -EINVAL when key->secret is not a valid secret, -ENOMEM when the context
 * cannot be created, -ERANGE when R's x coordinate is not below the group order (a
 * recovery id of 2 or 3, which Ethereum cannot express; probability about 2^-128).
 */
__attribute__((warn_unused_result)) int
chain_evm_key_sign(const struct chain_evm_key *key, const uint8_t digest[32],
		   uint8_t ret_sig[CHAIN_EVM_SIGNATURE_SIZE]);

/*
 * chain_evm_key_recover() - the address that made a recoverable signature of digest, as
 * Ethereum's ecrecover finds it. Returns 0, -EINVAL when the signature is malformed (a
 * recovery id other than 0 or 1, r or s out of range, a high s) or recovers no key,
 * -ENOMEM when the context cannot be created.
 */
__attribute__((warn_unused_result)) int
chain_evm_key_recover(const uint8_t digest[32], const uint8_t sig[CHAIN_EVM_SIGNATURE_SIZE],
		      uint8_t ret_address[20]);

#endif
