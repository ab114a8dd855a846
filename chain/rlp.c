/* RLP encoding (chain/rlp_i.h). */
#include <string.h>

#include "chain/rlp_i.h"
#include "codec/keccak.h"

/* v as its minimal big-endian bytes into out; the count (0 for v == 0). */
static size_t be_minimal(uint64_t v, uint8_t out[8])
{
	size_t n = 0;

	for (uint64_t t = v; t; t >>= 8)
		n++;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return n;
}

size_t chain_rlp_header_size(size_t n)
{
	uint8_t len[8];

	return n <= 55 ? 1 : 1 + be_minimal(n, len);
}

/* The header of a string (offset 0x80) or list (0xc0) of n payload bytes. */
static void header(struct chain_wbuf *w, uint8_t offset, size_t n)
{
	uint8_t h[9];
	size_t k;

	if (n <= 55) {
		chain_wbuf_u8(w, (uint8_t)(offset + n));
		return;
	}
	k = be_minimal(n, h + 1);
	h[0] = (uint8_t)(offset + 55 + k);
	chain_wbuf_put(w, h, 1 + k);
}

void chain_rlp_bytes(struct chain_wbuf *w, const uint8_t *p, size_t n)
{
	if (n == 1 && p[0] < 0x80) {
		chain_wbuf_u8(w, p[0]);
		return;
	}
	header(w, 0x80, n);
	chain_wbuf_put(w, p, n);
}

void chain_rlp_u64(struct chain_wbuf *w, uint64_t v)
{
	uint8_t b[8];

	chain_rlp_bytes(w, b, be_minimal(v, b));
}

void chain_rlp_u256(struct chain_wbuf *w, const uint8_t be[32])
{
	size_t skip = 0;

	while (skip < 32 && be[skip] == 0)
		skip++;
	chain_rlp_bytes(w, be + skip, 32 - skip);
}

void chain_rlp_list(struct chain_wbuf *w, const uint8_t *payload, size_t n)
{
	header(w, 0xc0, n);
	chain_wbuf_put(w, payload, n);
}

void chain_evm_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t ret[20])
{
	/* At most 1 + 21 + 9 bytes, so no writer (and no allocation that could fail): the
	 * list header is one byte, the sender a 0x94-prefixed 20-byte string. */
	uint8_t enc[32], digest[CODEC_HASH_SIZE], nb[8];
	size_t k = be_minimal(nonce, nb), pos = 1;

	enc[pos++] = 0x80 + 20;
	memcpy(enc + pos, sender, 20);
	pos += 20;
	if (k == 1 && nb[0] < 0x80) {
		enc[pos++] = nb[0];
	} else {
		enc[pos++] = (uint8_t)(0x80 + k);
		memcpy(enc + pos, nb, k);
		pos += k;
	}
	enc[0] = (uint8_t)(0xc0 + (pos - 1));
	codec_keccak256(enc, pos, digest);
	memcpy(ret, digest + 12, 20);
}
