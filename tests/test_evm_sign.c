/*
 * EVM signing (chain/rlp.c, chain/evm_key.c, chain/evm_tx.c): RLP against the Ethereum
 * wiki's examples and the header boundaries, addresses of known keys, CREATE addresses,
 * key parsing and the key file's permission check, the writer's bound, known-answer
 * transactions (made by ethers), and random transactions whose signature must recover to
 * the signer with low s, the same from every thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/evm_key_i.h"
#include "chain/evm_tx_i.h"
#include "chain/rlp_i.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "tests/tap.h"

#define ANVIL0	    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ANVIL0_ADDR "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
#define ORDER	    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
#define HALF_ORDER  "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"

/* Hex (no prefix, any length) to bytes; exits on a malformed literal. */
static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	if (strlen(hex) % 2 || n > max) {
		fprintf(stderr, "bad hex literal %s\n", hex);
		exit(2);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			fprintf(stderr, "bad hex literal %s\n", hex);
			exit(2);
		}
		out[i] = (uint8_t)v;
	}
	return n;
}

/* The writer holds exactly these bytes (given as hex). */
static int holds(const struct chain_wbuf *w, const char *hex)
{
	static uint8_t want[4096];
	size_t n = unhex(hex, want, sizeof(want));

	return w->err == 0 && w->len == n && (n == 0 || memcmp(w->data, want, n) == 0);
}

static int addr_is(const uint8_t a[20], const char *hex)
{
	uint8_t want[20];

	unhex(hex, want, 20);
	return memcmp(a, want, 20) == 0;
}

/* ---- RLP --------------------------------------------------------------------------------- */

static void rlp_str(struct chain_wbuf *w, const char *s)
{
	chain_rlp_bytes(w, (const uint8_t *)s, strlen(s));
}

/* w := rlp(list(inner)), releasing inner. */
static void wrap(struct chain_wbuf *w, struct chain_wbuf *inner)
{
	chain_rlp_list(w, inner->data, inner->len);
	chain_wbuf_release(inner);
}

static void test_rlp(void)
{
	static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
	struct chain_wbuf w, a, b, c;
	uint8_t u[32], big[1024], one;

	chain_wbuf_init(&w, 1 << 20);
	rlp_str(&w, "dog");
	ok(holds(&w, "83646f67"), "rlp \"dog\"");

	w.len = 0;
	chain_wbuf_init(&a, 1 << 20);
	rlp_str(&a, "cat");
	rlp_str(&a, "dog");
	wrap(&w, &a);
	ok(holds(&w, "c88363617483646f67"), "rlp [\"cat\", \"dog\"]");

	w.len = 0;
	chain_rlp_bytes(&w, NULL, 0);
	ok(holds(&w, "80"), "rlp empty string");

	w.len = 0;
	chain_rlp_list(&w, NULL, 0);
	ok(holds(&w, "c0"), "rlp empty list");

	w.len = 0;
	chain_rlp_u64(&w, 0);
	ok(holds(&w, "80"), "rlp integer 0");

	w.len = 0;
	one = 0;
	chain_rlp_bytes(&w, &one, 1);
	ok(holds(&w, "00"), "rlp byte string \\x00");

	w.len = 0;
	chain_rlp_u64(&w, 15);
	ok(holds(&w, "0f"), "rlp integer 15");

	w.len = 0;
	chain_rlp_u64(&w, 1024);
	ok(holds(&w, "820400"), "rlp integer 1024");

	w.len = 0;
	chain_rlp_u64(&w, 0x7f);
	chain_rlp_u64(&w, 0x80);
	chain_rlp_u64(&w, UINT64_MAX);
	ok(holds(&w, "7f"
		     "8180"
		     "88ffffffffffffffff"),
	   "rlp integers 127, 128, 2^64-1");

	/* [ [], [[]], [ [], [[]] ] ] */
	w.len = 0;
	chain_wbuf_init(&a, 1 << 20);
	chain_rlp_list(&a, NULL, 0); /* [] */
	chain_wbuf_init(&b, 1 << 20);
	chain_rlp_list(&b, NULL, 0);
	chain_wbuf_init(&c, 1 << 20);
	wrap(&c, &b);			   /* [[]] */
	chain_wbuf_put(&a, c.data, c.len); /* an encoded item joins the payload as is */
	chain_wbuf_init(&b, 1 << 20);
	chain_rlp_list(&b, NULL, 0);
	chain_wbuf_put(&b, c.data, c.len);
	chain_wbuf_release(&c);
	wrap(&a, &b); /* [ [], [[]] ] */
	wrap(&w, &a);
	ok(holds(&w, "c7c0c1c0c3c0c1c0"), "rlp set-theoretic three");

	w.len = 0;
	rlp_str(&w, lorem);
	ok(holds(&w, "b838"
		     "4c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465"
		     "747572206164697069736963696e6720656c6974"),
	   "rlp 56-byte string has a long header");

	w.len = 0;
	chain_wbuf_init(&a, 1 << 20);
	rlp_str(&a, lorem);
	wrap(&w, &a);
	ok(w.len == 60 && w.data[0] == 0xf8 && w.data[1] == 58 && w.data[2] == 0xb8,
	   "rlp list of 58 payload bytes has a long header");

	w.len = 0;
	memset(big, 0x55, 55);
	chain_rlp_bytes(&w, big, 55);
	ok(w.len == 56 && w.data[0] == 0xb7, "rlp 55-byte string keeps the short header");

	w.len = 0;
	memset(big, 0xab, sizeof(big));
	chain_rlp_bytes(&w, big, sizeof(big));
	ok(w.len == 1027 && w.data[0] == 0xb9 && w.data[1] == 0x04 && w.data[2] == 0x00 &&
	       w.data[3] == 0xab,
	   "rlp 1024-byte string: b9 0400");

	w.len = 0;
	one = 0x80;
	chain_rlp_bytes(&w, &one, 1);
	ok(holds(&w, "8180"), "rlp single byte 0x80 gets a header");

	w.len = 0;
	memset(u, 0, 32);
	chain_rlp_u256(&w, u);
	chain_u256_from_u64(u, 1024);
	chain_rlp_u256(&w, u);
	ok(holds(&w, "80820400"), "rlp uint256 0 and 1024 are minimal");

	w.len = 0;
	memset(u, 0xff, 32);
	chain_rlp_u256(&w, u);
	ok(w.len == 33 && w.data[0] == 0xa0 && w.data[32] == 0xff, "rlp uint256 2^256-1");

	ok(chain_rlp_header_size(0) == 1 && chain_rlp_header_size(55) == 1 &&
	       chain_rlp_header_size(56) == 2 && chain_rlp_header_size(255) == 2 &&
	       chain_rlp_header_size(256) == 3 && chain_rlp_header_size(1 << 24) == 5,
	   "rlp header sizes at the boundaries");

	/* The writer's bound: a failed write changes nothing and sticks. */
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 3);
	rlp_str(&w, "dog");
	ok(w.err == -E2BIG && w.len <= 3, "rlp past the writer's max is -E2BIG");
	{
		size_t len = w.len;

		chain_rlp_u64(&w, 1);
		chain_rlp_list(&w, NULL, 0);
		ok(w.err == -E2BIG && w.len == len, "later writes after -E2BIG do nothing");
	}
	chain_wbuf_release(&w);
}

static void test_create_address(void)
{
	static const struct {
		uint64_t nonce;
		const char *addr;
	} v[] = {
	    {0, "5fbdb2315678afecb367f032d93f642f64180aa3"},
	    {1, "e7f1725e7734ce288f8367e1bb143e90bb3f0512"},
	    {2, "9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"},
	    {127, "5fc748f1feb28d7b76fa1c6b07d8ba2d5535177c"},
	    {128, "b82008565fdc7e44609fa118a4a681e92581e680"},
	    {255, "01e21d7b8c39dc4c764c19b308bd8b14b1ba139e"},
	    {256, "3c1cb427d20f15563ada8c249e71db76d7183b6c"},
	    {16777215, "fd80d07a37da01a9d9032229d34ce78591901109"},
	    {9007199254740991ULL, "3c55aaa972bb2b7514c34c660b49eb822fe93764"},
	};
	uint8_t sender[20], out[20];

	unhex(ANVIL0_ADDR, sender, 20);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		chain_evm_create_address(sender, v[i].nonce, out);
		ok(addr_is(out, v[i].addr), "CREATE address of anvil account 0, nonce %llu",
		   (unsigned long long)v[i].nonce);
	}
}

/* ---- keys -------------------------------------------------------------------------------- */

static void test_key_hex(void)
{
	struct chain_evm_key k, untouched;

	ok(chain_evm_key_from_hex(
	       "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", &k) == 0 &&
	       addr_is(k.address, "2c7536e3605d9c16a7a3d7b1898e529396a65c23"),
	   "address of 0x4c0883a6... is 0x2c7536E3...");
	ok(chain_evm_key_from_hex(ANVIL0, &k) == 0 && addr_is(k.address, ANVIL0_ADDR),
	   "address of anvil's first key is 0xf39Fd6e5...");
	ok(chain_evm_key_from_hex(
	       "0000000000000000000000000000000000000000000000000000000000000001", &k) == 0 &&
	       addr_is(k.address, "7e5f4552091a69125d5dfcb7b8c2659029395bdf"),
	   "secret 1 without 0x");
	ok(chain_evm_key_from_hex(
	       "0XFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140", &k) == 0 &&
	       addr_is(k.address, "80c0dbf239224071c59dd8970ab9d542e3414ab2"),
	   "secret n-1, upper case with 0X");

	memset(&untouched, 0x5a, sizeof(untouched));
	k = untouched;
	ok(chain_evm_key_from_hex("0x" ORDER, &k) == -EINVAL, "secret equal to the order refused");
	ok(chain_evm_key_from_hex(
	       "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &k) == -EINVAL,
	   "secret above the order refused");
	ok(chain_evm_key_from_hex(
	       "0x0000000000000000000000000000000000000000000000000000000000000000", &k) == -EINVAL,
	   "zero secret refused");
	ok(chain_evm_key_from_hex(ANVIL0 "0", &k) == -EINVAL, "65 digits refused");
	ok(chain_evm_key_from_hex(
	       "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8", &k) == -EINVAL,
	   "63 digits refused");
	ok(chain_evm_key_from_hex(
	       "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ffg0", &k) == -EINVAL,
	   "non-hex digit refused");
	ok(chain_evm_key_from_hex(" " ANVIL0, &k) == -EINVAL, "whitespace refused in hex form");
	ok(chain_evm_key_from_hex("", &k) == -EINVAL && chain_evm_key_from_hex("0x", &k) == -EINVAL,
	   "empty refused");
	ok(memcmp(&k, &untouched, sizeof(k)) == 0, "ret_key untouched on failure");

	chain_evm_key_wipe(NULL);
	ok(chain_evm_key_from_hex(ANVIL0, &k) == 0, "reload");
	chain_evm_key_wipe(&k);
	memset(&untouched, 0, sizeof(untouched));
	ok(memcmp(&k, &untouched, sizeof(k)) == 0, "wipe zeroes the key; wipe(NULL) is a no-op");
}

static char dir[64];

static const char *key_file(const char *name, const void *content, size_t len, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
	return path;
}

static void test_key_file(void)
{
	static const char good[] = "  \n" ANVIL0 "\n\n";
	char big[CHAIN_EVM_KEY_FILE_MAX + 100], link_path[160], sub[128];
	struct chain_evm_key k;
	const char *p;

	snprintf(dir, sizeof(dir), "/tmp/zgfs-evmkey-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}

	p = key_file("k", good, strlen(good), 0600);
	ok(chain_evm_key_load(p, &k) == 0 && addr_is(k.address, ANVIL0_ADDR),
	   "key file 0600 with surrounding whitespace loads");
	p = key_file("k", &ANVIL0[2], 64, 0400);
	ok(chain_evm_key_load(p, &k) == 0 && addr_is(k.address, ANVIL0_ADDR),
	   "key file 0400, no 0x, no newline loads");
	p = key_file("k", good, strlen(good), 0640);
	ok(chain_evm_key_load(p, &k) == -EPERM, "key file readable by group: -EPERM");
	p = key_file("k", good, strlen(good), 0604);
	ok(chain_evm_key_load(p, &k) == -EPERM, "key file readable by others: -EPERM");
	p = key_file("k", good, strlen(good), 0620);
	ok(chain_evm_key_load(p, &k) == -EPERM, "key file writable by group: -EPERM");

	p = key_file("k", good, strlen(good), 0600);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	unlink(link_path);
	ok(symlink(p, link_path) == 0 && chain_evm_key_load(link_path, &k) == 0 &&
	       addr_is(k.address, ANVIL0_ADDR),
	   "a symlink to a 0600 key file loads");
	chmod(p, 0644);
	ok(chain_evm_key_load(link_path, &k) == -EPERM,
	   "a symlink to a 0644 key file: -EPERM (the target's mode counts)");
	unlink(link_path);

	snprintf(sub, sizeof(sub), "%s/missing", dir);
	ok(chain_evm_key_load(sub, &k) == -ENOENT, "missing key file: -ENOENT");
	snprintf(sub, sizeof(sub), "%s/d", dir);
	mkdir(sub, 0700);
	ok(chain_evm_key_load(sub, &k) == -EINVAL, "a directory: -EINVAL");
	rmdir(sub);

	p = key_file("k", "hello\n", 6, 0600);
	ok(chain_evm_key_load(p, &k) == -EINVAL, "garbage: -EINVAL");
	p = key_file("k", "", 0, 0600);
	ok(chain_evm_key_load(p, &k) == -EINVAL, "empty file: -EINVAL");
	p = key_file("k", ANVIL0 " " ANVIL0, 2 * strlen(ANVIL0) + 1, 0600);
	ok(chain_evm_key_load(p, &k) == -EINVAL, "two keys: -EINVAL");
	{
		char nul[80];

		memcpy(nul, ANVIL0, 66);
		nul[66] = '\0';
		memcpy(nul + 67, "ff", 2);
		p = key_file("k", nul, 69, 0600);
		ok(chain_evm_key_load(p, &k) == -EINVAL, "a NUL then more bytes: -EINVAL");
	}
	p = key_file("k", "0x" ORDER "\n", 67, 0600);
	ok(chain_evm_key_load(p, &k) == -EINVAL, "invalid secret in a file: -EINVAL");

	memset(big, ' ', sizeof(big));
	memcpy(big, ANVIL0, 66);
	p = key_file("k", big, CHAIN_EVM_KEY_FILE_MAX, 0600);
	ok(chain_evm_key_load(p, &k) == 0,
	   "key file of exactly CHAIN_EVM_KEY_FILE_MAX bytes loads");
	p = key_file("k", big, sizeof(big), 0600);
	ok(chain_evm_key_load(p, &k) == -EINVAL, "larger key file: -EINVAL");

	unlink(p);
	rmdir(dir);
	chain_evm_key_wipe(&k);
}

/* ---- transactions ------------------------------------------------------------------------ */

/* A decoded RLP item: where its payload is, and the whole item's span. */
struct item {
	const uint8_t *p, *whole;
	size_t n, whole_n;
	int list;
};

/* One RLP item at *pos in buf[0..len); strict about canonical form. 0 or -1. */
static int rlp_item(const uint8_t *buf, size_t len, size_t *pos, struct item *it)
{
	size_t i = *pos, n, k = 0;
	uint8_t b;

	if (i >= len)
		return -1;
	b = buf[i++];
	it->whole = buf + *pos;
	it->list = b >= 0xc0;
	if (b < 0x80) {
		it->p = buf + i - 1;
		it->n = 1;
		*pos = i;
		it->whole_n = 1;
		return 0;
	}
	if (b < 0xb8 || (b >= 0xc0 && b < 0xf8)) {
		n = b - (b >= 0xc0 ? 0xc0 : 0x80);
	} else {
		k = b - (b >= 0xc0 ? 0xf7 : 0xb7);
		if (k > 8 || len - i < k || buf[i] == 0)
			return -1;
		n = 0;
		for (size_t j = 0; j < k; j++)
			n = n << 8 | buf[i + j];
		i += k;
		if (n < 56)
			return -1;
	}
	if (len - i < n)
		return -1;
	if (!it->list && n == 1 && buf[i] < 0x80)
		return -1; /* should have been the byte itself */
	it->p = buf + i;
	it->n = n;
	*pos = i + n;
	it->whole_n = *pos - (size_t)(it->whole - buf);
	return 0;
}

/* A big-endian integer item into 32 bytes, requiring the minimal form. */
static int item_u256(const struct item *it, uint8_t out[32])
{
	if (it->list || it->n > 32 || (it->n && it->p[0] == 0))
		return -1;
	memset(out, 0, 32);
	memcpy(out + 32 - it->n, it->p, it->n);
	return 0;
}

static uint64_t item_u64(const struct item *it)
{
	uint64_t v = 0;

	for (size_t i = 0; i < it->n; i++)
		v = v << 8 | it->p[i];
	return v;
}

/*
 * Check a raw transaction against its fields and signer: structure, every field, the
 * hash, low s, and that the signature recovers to the signer's address. Returns NULL or
 * what was wrong.
 */
static const char *check_raw(const uint8_t *raw, size_t len, const uint8_t hash[32],
			     const struct chain_evm_tx *tx, const uint8_t signer[20])
{
	static secp256k1_context *ctx;
	struct item outer, f[12];
	size_t pos = 1, ipos;
	uint8_t u[32], half[32], digest[32], compact[64], ser[65];
	secp256k1_ecdsa_recoverable_signature sig;
	secp256k1_pubkey pub;
	struct chain_wbuf w;
	size_t serlen = sizeof(ser);

	if (!ctx)
		ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (len < 2 || raw[0] != 0x02)
		return "type byte";
	if (rlp_item(raw, len, &pos, &outer) < 0 || !outer.list || pos != len)
		return "outer list";
	ipos = 0;
	for (int i = 0; i < 12; i++)
		if (rlp_item(outer.p, outer.n, &ipos, &f[i]) < 0)
			return "item";
	if (ipos != outer.n)
		return "item count";
	if (item_u64(&f[0]) != tx->chain_id || item_u64(&f[1]) != tx->nonce ||
	    item_u64(&f[2]) != tx->max_priority_fee || item_u64(&f[3]) != tx->max_fee ||
	    item_u64(&f[4]) != tx->gas)
		return "integer fields";
	for (int i = 0; i < 5; i++)
		if (item_u256(&f[i], u) < 0 || f[i].n > 8)
			return "integer not minimal";
	if (tx->create ? f[5].n != 0 : (f[5].n != 20 || memcmp(f[5].p, tx->to, 20)))
		return "to";
	if (item_u256(&f[6], u) < 0 || memcmp(u, tx->value, 32))
		return "value";
	if (f[7].list || f[7].n != tx->data_len ||
	    (tx->data_len && memcmp(f[7].p, tx->data, f[7].n)))
		return "data";
	if (!f[8].list || f[8].n != 0)
		return "access list";
	if (f[9].list || f[9].n > 1 || item_u64(&f[9]) > 1)
		return "yParity";
	codec_keccak256(raw, len, u);
	if (memcmp(u, hash, 32))
		return "hash";
	if (item_u256(&f[10], compact) < 0 || item_u256(&f[11], compact + 32) < 0)
		return "r/s not minimal";
	unhex(HALF_ORDER, half, 32);
	if (memcmp(compact + 32, half, 32) > 0)
		return "high s";

	/* The signing hash, rebuilt from the first nine items as they are in the raw bytes. */
	chain_wbuf_init(&w, 1 << 20);
	chain_wbuf_u8(&w, 0x02);
	chain_rlp_list(&w, f[0].whole, (size_t)(f[8].whole + f[8].whole_n - f[0].whole));
	codec_keccak256(w.data, w.len, digest);
	chain_wbuf_release(&w);
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, compact,
								 (int)item_u64(&f[9])) ||
	    !secp256k1_ecdsa_recover(ctx, &pub, &sig, digest))
		return "recover";
	secp256k1_ec_pubkey_serialize(ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
	codec_keccak256(ser + 1, 64, u);
	if (memcmp(u + 12, signer, 20))
		return "recovered address";
	return NULL;
}

static void test_known_answers(void)
{
	static const uint8_t init[] = {0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15, 0x60, 0x0f,
				       0x57, 0x60, 0x00, 0x80, 0xfd, 0x5b, 0x50, 0x60, 0x3f, 0x80,
				       0x60, 0x1d, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0xfe, 0x60,
				       0x80, 0x60, 0x40, 0x52, 0x60, 0x00, 0x80, 0xfd, 0xfe, 0xa2,
				       0x64, 0x69, 0x70, 0x66, 0x73, 0x58, 0x22, 0x12, 0x20};
	struct chain_evm_tx tx = {
	    .chain_id = 31337,
	    .nonce = 0,
	    .max_priority_fee = 1000000000,
	    .max_fee = 2000000000,
	    .gas = 21000,
	};
	struct chain_evm_key k;
	struct chain_wbuf w;
	uint8_t hash[32];
	const char *why;

	if (chain_evm_key_from_hex(ANVIL0, &k) < 0)
		exit(1);
	unhex("70997970c51812dc3a010c7d01b50e0d17dc79c8", tx.to, 20);
	chain_u256_from_u64(tx.value, 1000000000000000000ULL);
	chain_wbuf_init(&w, 1 << 20);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0 &&
	       holds(&w, "02f874827a6980843b9aca0084773594008252089470997970c51812dc3a010c7d01b50e"
			 "0d17dc79c8880de0b6b3a764000080c080a074128fd7d42631897474d93692787a2e56b8"
			 "13754468caaca4993c641c986a37a06d5a3b027177cc2841199b70400fece0a29ac5eabe"
			 "e2fa9cbf9b6aa213716c48"),
	   "1 ETH transfer on chain 31337 signed as ethers signs it");
	{
		uint8_t want[32];

		unhex("7d4c13ed95c0cee830d7457ec5a5976db1fc301cfa7a23fef0039a7ccf6aea87", want, 32);
		ok(memcmp(hash, want, 32) == 0, "its hash is ethers' tx.hash");
	}
	why = check_raw(w.data, w.len, hash, &tx, k.address);
	ok(!why, "it recovers to anvil's account 0%s%s", why ? ": " : "", why ? why : "");

	w.len = 0;
	tx = (struct chain_evm_tx){.chain_id = 16600, .nonce = 5, .gas = 3000000, .create = true};
	tx.data = init;
	tx.data_len = sizeof(init);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0 &&
	       holds(&w, "02f8828240d8058080832dc6c08080b16080604052348015600f57600080fd5b50603f80"
			 "601d6000396000f3fe6080604052600080fdfea2646970667358221220c080a0d73b7c65"
			 "3d6498eca2fcb3251164a9c3c6d9e1c835bb693a278a83128860ccb5a06fc23f2ca238d6"
			 "38fa345faa8361d04014fdd4d1617ec0edc34b74c1dbc08047"),
	   "contract creation with zero fees and value signed as ethers signs it");
	{
		uint8_t want[32];

		unhex("daeee5ab2e23754630d3cfdc7ad97f773d85c078ccd647c48e75b6db38e72171", want, 32);
		ok(memcmp(hash, want, 32) == 0, "its hash is ethers' tx.hash");
	}
	chain_wbuf_release(&w);
	chain_evm_key_wipe(&k);
}

static void test_sign_errors(void)
{
	static uint8_t data[600];
	struct chain_evm_tx tx = {.chain_id = 1, .gas = 21000, .data = data, .data_len = 600};
	struct chain_evm_key k, zero = {{0}, {0}};
	struct chain_wbuf w;
	uint8_t hash[32], h0[32];
	size_t full;

	if (chain_evm_key_from_hex(ANVIL0, &k) < 0)
		exit(1);
	chain_wbuf_init(&w, 1 << 20);
	chain_wbuf_put(&w, "abc", 3);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0 && w.len > 603 && !memcmp(w.data, "abc", 3) &&
	       w.data[3] == 0x02,
	   "the raw transaction is appended after what the writer held");
	full = w.len - 3;
	memcpy(h0, hash, 32);

	chain_wbuf_release(&w);
	chain_wbuf_init(&w, full);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0 && w.len == full,
	   "a writer of exactly its size");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, full + 2);
	chain_wbuf_put(&w, "ab", 2);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0 && w.len == full + 2,
	   "fits exactly after a prefix");
	chain_wbuf_release(&w);

	memset(hash, 0x77, 32);
	chain_wbuf_init(&w, full - 1);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == -E2BIG && w.len == 0 && w.err == 0 &&
	       hash[0] == 0x77 && hash[31] == 0x77,
	   "one byte short: -E2BIG, writer and hash untouched");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 100);
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == -E2BIG && w.len == 0,
	   "data larger than the writer: -E2BIG");
	w.err = -ENOMEM;
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == -ENOMEM, "a writer that already failed");
	chain_wbuf_release(&w);

	chain_wbuf_init(&w, 1 << 20);
	ok(chain_evm_tx_sign(&tx, &zero, &w, hash) == -EINVAL && w.len == 0,
	   "zero secret: -EINVAL");
	memset(zero.secret, 0xff, 32);
	ok(chain_evm_tx_sign(&tx, &zero, &w, hash) == -EINVAL && w.len == 0,
	   "secret above the order: -EINVAL");
	tx.max_priority_fee = 2;
	tx.max_fee = 1;
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == -EINVAL && w.len == 0,
	   "priority fee above the fee cap: -EINVAL");
	tx.max_fee = 2;
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0, "priority fee equal to the fee cap is fine");
	w.len = 0;
	tx.max_priority_fee = tx.max_fee = 0;
	tx.data = NULL;
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == -EINVAL, "NULL data with a length: -EINVAL");
	tx.data_len = 0;
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0, "NULL data of length 0 is fine");
	tx.data = data;
	tx.data_len = 600;
	w.len = 0;
	ok(chain_evm_tx_sign(&tx, &k, &w, hash) == 0 && w.len == full && !memcmp(hash, h0, 32),
	   "signing again gives the same transaction");
	chain_wbuf_release(&w);
	chain_evm_key_wipe(&k);
}

/* ---- random transactions, also from several threads at once ----------------------------- */

#define NRANDOM	 96
#define NTHREADS 4

struct rnd {
	struct chain_evm_key key;
	struct chain_evm_tx tx;
	uint8_t data[3000];
	uint8_t hash[32];
	uint8_t raw[4096];
	size_t raw_len;
};

static struct rnd rnds[NRANDOM];

/* A value of a random byte length, so small and large integers both occur. */
static uint64_t rand_width(void)
{
	unsigned bits = (unsigned)(tap_rand() % 65);

	return bits == 0 ? 0 : bits == 64 ? tap_rand() : tap_rand() & ((1ULL << bits) - 1);
}

static void make_random(struct rnd *r)
{
	char hex[67];
	uint8_t secret[32];

	do {
		tap_fill(secret, 32);
		codec_hex_encode(secret, 32, hex);
	} while (chain_evm_key_from_hex(hex, &r->key) < 0);
	r->tx.chain_id = rand_width();
	r->tx.nonce = rand_width();
	r->tx.max_priority_fee = rand_width();
	r->tx.max_fee = rand_width();
	if (r->tx.max_priority_fee > r->tx.max_fee) {
		uint64_t t = r->tx.max_fee;

		r->tx.max_fee = r->tx.max_priority_fee;
		r->tx.max_priority_fee = t;
	}
	r->tx.gas = rand_width();
	r->tx.create = tap_rand() % 4 == 0;
	tap_fill(r->tx.to, 20);
	memset(r->tx.value, 0, 32);
	{
		unsigned nb = (unsigned)(tap_rand() % 33);

		tap_fill(r->tx.value + 32 - nb, nb);
	}
	r->tx.data_len = tap_rand() % 4 == 0 ? tap_rand() % 60 : tap_rand() % sizeof(r->data);
	tap_fill(r->data, r->tx.data_len);
	r->tx.data = r->data;
}

static void *sign_all(void *arg)
{
	int *fails = arg;

	for (int i = 0; i < NRANDOM; i++) {
		struct chain_wbuf w;
		uint8_t hash[32];

		chain_wbuf_init(&w, 1 << 20);
		if (chain_evm_tx_sign(&rnds[i].tx, &rnds[i].key, &w, hash) < 0 ||
		    w.len != rnds[i].raw_len || memcmp(w.data, rnds[i].raw, w.len) ||
		    memcmp(hash, rnds[i].hash, 32))
			(*fails)++;
		chain_wbuf_release(&w);
	}
	return NULL;
}

static void test_random(void)
{
	int bad = 0, lens[4] = {0}, fails[NTHREADS] = {0}, total = 0;
	pthread_t th[NTHREADS];

	tap_seed(0x45564d5349474e);
	for (int i = 0; i < NRANDOM; i++) {
		struct rnd *r = &rnds[i];
		struct chain_wbuf w;
		const char *why;

		make_random(r);
		chain_wbuf_init(&w, sizeof(r->raw));
		if (chain_evm_tx_sign(&r->tx, &r->key, &w, r->hash) < 0) {
			ok(0, "random transaction %d signs", i);
			bad++;
			continue;
		}
		memcpy(r->raw, w.data, w.len);
		r->raw_len = w.len;
		why = check_raw(w.data, w.len, r->hash, &r->tx, r->key.address);
		if (why) {
			ok(0, "random transaction %d: %s", i, why);
			bad++;
		}
		lens[w.len < 56 ? 0 : w.len < 256 ? 1 : w.len < 65536 ? 2 : 3]++;
		chain_wbuf_release(&w);
	}
	ok(bad == 0, "%d random transactions: fields, hash, low s, recovered signer", NRANDOM);
	ok(lens[1] > 0 && lens[2] > 0, "list lengths of one and of two bytes both covered (%d, %d)",
	   lens[1], lens[2]);
	{
		struct rnd *r = &rnds[0];

		r->raw[r->raw_len - 40] ^= 1; /* inside s */
		ok(check_raw(r->raw, r->raw_len, r->hash, &r->tx, r->key.address) != NULL,
		   "the check notices a changed signature");
		r->raw[r->raw_len - 40] ^= 1;
	}

	for (int t = 0; t < NTHREADS; t++)
		pthread_create(&th[t], NULL, sign_all, &fails[t]);
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		total += fails[t];
	}
	ok(total == 0, "%d threads signing at once give the same bytes", NTHREADS);
	for (int i = 0; i < NRANDOM; i++)
		chain_evm_key_wipe(&rnds[i].key);
}

int main(void)
{
	test_rlp();
	test_create_address();
	test_key_hex();
	test_key_file();
	test_known_answers();
	test_sign_errors();
	test_random();
	return tap_done();
}
