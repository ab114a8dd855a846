/* The EVM account key (chain/evm_key_i.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/evm_key_i.h"
#include "codec/hex.h"
#include "codec/keccak.h"

/*
 * One context for the process, never destroyed. Since libsecp256k1 0.2 every context can
 * sign and verify, and a context is only read by signing and key derivation, so threads
 * share it without a lock. It is randomized once (blinding of the secret in the
 * multiplications; signatures are unchanged) before anyone can use it.
 */
static secp256k1_context *secp;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;

static void secp_create(void)
{
	uint8_t seed[32];
	secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);

	if (!c)
		return;
	/* Blinding is a hardening, not a requirement: without entropy the context still
	 * works, unblinded, rather than failing every signature. */
	if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed) &&
	    !secp256k1_context_randomize(c, seed)) {
		secp256k1_context_destroy(c);
		c = NULL;
	}
	sodium_memzero(seed, sizeof(seed));
	secp = c;
}

static const secp256k1_context *secp_get(void)
{
	pthread_once(&secp_once, secp_create);
	return secp;
}

void chain_evm_key_wipe(struct chain_evm_key *k)
{
	if (!k)
		return;
	sodium_memzero(k, sizeof(*k));
}

/* The address of a valid secret. */
static int derive(const secp256k1_context *ctx, const uint8_t secret[32], uint8_t ret[20])
{
	secp256k1_pubkey pub;
	uint8_t ser[65], digest[CODEC_HASH_SIZE];
	size_t len = sizeof(ser);

	if (!secp256k1_ec_pubkey_create(ctx, &pub, secret))
		return -EINVAL;
	secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
	codec_keccak256(ser + 1, 64, digest);
	memcpy(ret, digest + 12, 20);
	return 0;
}

int chain_evm_key_from_hex(const char *hex, struct chain_evm_key *ret_key)
{
	const secp256k1_context *ctx = secp_get();
	struct chain_evm_key k;
	int r = -EINVAL;

	if (!ctx)
		return -ENOMEM;
	if (codec_hex_decode(hex, k.secret, sizeof(k.secret)) < 0)
		return -EINVAL;
	if (!secp256k1_ec_seckey_verify(ctx, k.secret))
		goto out;
	r = derive(ctx, k.secret, k.address);
	if (r == 0)
		*ret_key = k;
out:
	chain_evm_key_wipe(&k);
	return r;
}

int chain_evm_key_load(const char *path, struct chain_evm_key *ret_key)
{
	char text[CHAIN_EVM_KEY_FILE_MAX + 1];
	size_t len = 0, start = 0;
	struct stat st;
	int fd, r;

	/* Unlike node.key, which zgfs creates in its own data directory, this path is the
	 * operator's, and secrets are often mounted as symlinks (container orchestrators
	 * do), so the last component may be one. fstat() checks what was opened. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		r = -EPERM;
		goto out;
	}
	/* Read to EOF (a short read is not the end), one byte past the limit to see it. */
	while (len < sizeof(text)) {
		ssize_t n = read(fd, text + len, sizeof(text) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CHAIN_EVM_KEY_FILE_MAX) {
		r = -EINVAL;
		goto out;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	while (start < len && isspace((unsigned char)text[start]))
		start++;
	/* The decoder reads a C string: a NUL inside would hide whatever follows it. */
	if (memchr(text + start, '\0', len - start)) {
		r = -EINVAL;
		goto out;
	}
	text[len] = '\0';
	r = chain_evm_key_from_hex(text + start, ret_key);
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return r;
}

int chain_evm_key_sign(const struct chain_evm_key *key, const uint8_t digest[32],
		       uint8_t ret_sig[CHAIN_EVM_SIGNATURE_SIZE])
{
	const secp256k1_context *ctx = secp_get();
	secp256k1_ecdsa_recoverable_signature sig;
	uint8_t out[64];
	int recid;

	if (!ctx)
		return -ENOMEM;
	/* NULL nonce function: RFC 6979, what every Ethereum signer uses, so our bytes can be
	 * compared with theirs. libsecp256k1 always returns the low-s form. */
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest, key->secret, NULL, NULL))
		return -EINVAL;
	secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out, &recid, &sig);
	if (recid > 1)
		return -ERANGE;
	memcpy(ret_sig, out, 64);
	ret_sig[64] = (uint8_t)recid;
	return 0;
}

int chain_evm_key_recover(const uint8_t digest[32], const uint8_t sig[CHAIN_EVM_SIGNATURE_SIZE],
			  uint8_t ret_address[20])
{
	const secp256k1_context *ctx = secp_get();
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_ecdsa_signature plain;
	secp256k1_pubkey pub;
	uint8_t ser[65], h[CODEC_HASH_SIZE];
	size_t len = sizeof(ser);

	if (!ctx)
		return -ENOMEM;
	if (sig[64] > 1 ||
	    !secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, sig[64]))
		return -EINVAL;
	/* A high s is the other half of a malleable pair: Ethereum (EIP-2) refuses it. */
	secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rs);
	if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
		return -EINVAL;
	if (!secp256k1_ecdsa_recover(ctx, &pub, &rs, digest))
		return -EINVAL;
	secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
	codec_keccak256(ser + 1, 64, h);
	memcpy(ret_address, h + 12, 20);
	return 0;
}
