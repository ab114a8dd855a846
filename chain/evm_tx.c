/* EIP-1559 transactions (chain/evm_tx_i.h). */
#include <errno.h>

#include "chain/evm_tx_i.h"
#include "chain/rlp_i.h"
#include "codec/keccak.h"

/* 0x02 ‖ rlp(list of the encoded fields in f) into w. */
static void typed_envelope(struct chain_wbuf *w, const struct chain_wbuf *f)
{
	chain_wbuf_u8(w, CHAIN_EVM_TX_TYPE_1559);
	chain_rlp_list(w, f->data, f->len);
}

int chain_evm_tx_sign(const struct chain_evm_tx *tx, const struct chain_evm_key *key,
		      struct chain_wbuf *ret_raw, uint8_t ret_hash[32])
{
	struct chain_wbuf f, raw;
	uint8_t digest[CODEC_HASH_SIZE], sig[CHAIN_EVM_SIGNATURE_SIZE];
	size_t room;
	int r;

	if (ret_raw->err)
		return ret_raw->err;
	/* A priority fee above the fee cap makes a transaction every node refuses (and
	 * ethers will not serialize): refusing it here surfaces the caller's bug at once. */
	if ((tx->data_len && !tx->data) || tx->max_priority_fee > tx->max_fee)
		return -EINVAL;
	/* Both scratch writers are bounded by what ret_raw can still take, which the fields
	 * and the raw transaction must fit in anyway: an oversized transaction fails here
	 * with -E2BIG before any signing, and ret_raw stays untouched until the end. */
	room = ret_raw->max - ret_raw->len;
	chain_wbuf_init(&f, room);
	chain_wbuf_init(&raw, room);

	chain_rlp_u64(&f, tx->chain_id);
	chain_rlp_u64(&f, tx->nonce);
	chain_rlp_u64(&f, tx->max_priority_fee);
	chain_rlp_u64(&f, tx->max_fee);
	chain_rlp_u64(&f, tx->gas);
	if (tx->create)
		chain_rlp_bytes(&f, NULL, 0);
	else
		chain_rlp_bytes(&f, tx->to, sizeof(tx->to));
	chain_rlp_u256(&f, tx->value);
	chain_rlp_bytes(&f, tx->data, tx->data_len);
	chain_rlp_list(&f, NULL, 0); /* access list */
	typed_envelope(&raw, &f);
	if (raw.err || f.err) {
		r = f.err ? f.err : raw.err;
		goto out;
	}
	codec_keccak256(raw.data, raw.len, digest);
	r = chain_evm_key_sign(key, digest, sig);
	if (r < 0)
		goto out;

	/* r and s are integers, so they lose their leading zero bytes like any other. */
	chain_rlp_u64(&f, sig[64]);
	chain_rlp_u256(&f, sig);
	chain_rlp_u256(&f, sig + 32);
	raw.len = 0;
	typed_envelope(&raw, &f);
	if (raw.err || f.err) {
		r = f.err ? f.err : raw.err;
		goto out;
	}
	chain_wbuf_put(ret_raw, raw.data, raw.len);
	if (ret_raw->err) {
		r = ret_raw->err;
		goto out;
	}
	codec_keccak256(raw.data, raw.len, ret_hash);
	r = 0;
out:
	chain_wbuf_release(&f);
	chain_wbuf_release(&raw);
	return r;
}
