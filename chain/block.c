/*
 * Block encoding. Written by hand, big-endian and length-prefixed, so that the bytes that
 * are hashed and signed are fixed by this file alone and a reader in any language can
 * check them; every transaction carries its own length so that a later version can add
 * types that an older reader skips cleanly instead of misparsing.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_i.h"

#define BLOCK_MAGIC	"ZGBK"
#define BLOCK_VERSION	1
#define GENESIS_PAYLOAD (4 * 8 + CHAIN_PUBKEY_SIZE)
#define DONATE_PAYLOAD	(CHAIN_ADDRESS_SIZE + 8)

/* PoraAnswer: sender[20] context[32] nonce[32] minerId[32] u64 start, mineLength,
 * shardId, shardMask, recallPosition, sealOffset; sealedContext[32] sealed[4096]
 * u8 nproof, nproof × 32. */
static void answer_payload(const struct chain_tx *tx, struct chain_wbuf *w)
{
	const struct chain_pora_answer *a = &tx->pora_answer.answer;

	chain_wbuf_put(w, tx->pora_answer.sender, CHAIN_ADDRESS_SIZE);
	chain_wbuf_put(w, a->context, 32);
	chain_wbuf_put(w, a->nonce, 32);
	chain_wbuf_put(w, a->miner_id, 32);
	chain_wbuf_u64(w, a->range.start_position);
	chain_wbuf_u64(w, a->range.mine_length);
	chain_wbuf_u64(w, a->range.shard_id);
	chain_wbuf_u64(w, a->range.shard_mask);
	chain_wbuf_u64(w, a->recall_position);
	chain_wbuf_u64(w, a->seal_offset);
	chain_wbuf_put(w, a->sealed_context, 32);
	chain_wbuf_put(w, a->sealed, CODEC_SEAL_SIZE);
	chain_wbuf_u8(w, (uint8_t)a->nproof);
	for (size_t i = 0; i < a->nproof; i++)
		chain_wbuf_put(w, a->proof[i], 32);
}

static int decode_answer(struct chain_rbuf *p, struct chain_tx *tx)
{
	struct chain_pora_answer *a = &tx->pora_answer.answer;

	chain_rbuf_copy(p, tx->pora_answer.sender, CHAIN_ADDRESS_SIZE);
	chain_rbuf_copy(p, a->context, 32);
	chain_rbuf_copy(p, a->nonce, 32);
	chain_rbuf_copy(p, a->miner_id, 32);
	a->range.start_position = chain_rbuf_u64(p);
	a->range.mine_length = chain_rbuf_u64(p);
	a->range.shard_id = chain_rbuf_u64(p);
	a->range.shard_mask = chain_rbuf_u64(p);
	a->recall_position = chain_rbuf_u64(p);
	a->seal_offset = chain_rbuf_u64(p);
	chain_rbuf_copy(p, a->sealed_context, 32);
	chain_rbuf_copy(p, a->sealed, CODEC_SEAL_SIZE);
	a->nproof = chain_rbuf_u8(p);
	if (a->nproof > CHAIN_PORA_PROOF_MAX)
		return -CHAIN_ETAMPERED;
	for (size_t i = 0; i < a->nproof; i++)
		chain_rbuf_copy(p, a->proof[i], 32);
	return 0;
}

static void tx_payload_core(const struct chain_tx *tx, struct chain_wbuf *w)
{
	const struct chain_submission *s;

	switch (tx->type) {
	case CHAIN_TX_GENESIS:
		chain_wbuf_u64(w, tx->genesis.chain_id);
		chain_wbuf_u64(w, tx->genesis.price_per_sector);
		chain_wbuf_u64(w, tx->genesis.supply);
		chain_wbuf_u64(w, tx->genesis.pool_lifetime);
		chain_wbuf_put(w, tx->genesis.authority, CHAIN_PUBKEY_SIZE);
		break;
	case CHAIN_TX_SUBMIT:
		s = &tx->submit.sub;
		chain_wbuf_put(w, tx->submit.sender, CHAIN_ADDRESS_SIZE);
		chain_wbuf_u64(w, s->length);
		chain_wbuf_u32(w, (uint32_t)s->tags_len);
		chain_wbuf_put(w, s->tags, s->tags_len);
		chain_wbuf_u8(w, (uint8_t)s->nnodes);
		for (size_t i = 0; i < s->nnodes; i++) {
			chain_wbuf_put(w, s->nodes[i].root, CODEC_HASH_SIZE);
			chain_wbuf_u8(w, (uint8_t)s->nodes[i].height);
		}
		break;
	case CHAIN_TX_DONATE:
		chain_wbuf_put(w, tx->donate.sender, CHAIN_ADDRESS_SIZE);
		chain_wbuf_u64(w, tx->donate.amount);
		break;
	case CHAIN_TX_PORA_SETUP:
		chain_wbuf_u64(w, tx->pora_setup.params.difficulty);
		chain_wbuf_u64(w, tx->pora_setup.params.epoch_blocks);
		chain_wbuf_u64(w, tx->pora_setup.params.target_answers);
		chain_wbuf_u64(w, tx->pora_setup.params.base_reward);
		break;
	case CHAIN_TX_PORA_REGISTER:
		chain_wbuf_put(w, tx->pora_register.sender, CHAIN_ADDRESS_SIZE);
		chain_wbuf_u64(w, tx->pora_register.seed);
		chain_wbuf_put(w, tx->pora_register.beneficiary, CHAIN_ADDRESS_SIZE);
		break;
	case CHAIN_TX_PORA_ANSWER:
		answer_payload(tx, w);
		break;
	}
}

static bool is_da(uint8_t type)
{
	return type >= CHAIN_TX_DA_REGISTER && type <= CHAIN_TX_DA_VOID;
}

/* DA transactions but the setup: sender[20] account[20] root[32] key[32] u64 value, epoch;
 * u32 len, data[len]. */
static void da_payload(const struct chain_da_tx *t, struct chain_wbuf *w)
{
	chain_wbuf_put(w, t->sender, CHAIN_ADDRESS_SIZE);
	chain_wbuf_put(w, t->account, CHAIN_ADDRESS_SIZE);
	chain_wbuf_put(w, t->root, 32);
	chain_wbuf_put(w, t->key, 32);
	chain_wbuf_u64(w, t->value);
	chain_wbuf_u64(w, t->epoch);
	chain_wbuf_u32(w, t->len);
	if (t->len)
		chain_wbuf_put(w, t->data, t->len);
}

static int decode_da(struct chain_rbuf *p, struct chain_da_tx *t)
{
	const uint8_t *data;

	chain_rbuf_copy(p, t->sender, CHAIN_ADDRESS_SIZE);
	chain_rbuf_copy(p, t->account, CHAIN_ADDRESS_SIZE);
	chain_rbuf_copy(p, t->root, 32);
	chain_rbuf_copy(p, t->key, 32);
	t->value = chain_rbuf_u64(p);
	t->epoch = chain_rbuf_u64(p);
	t->len = chain_rbuf_u32(p);
	if (t->len > CHAIN_DA_TX_DATA_MAX)
		return -CHAIN_ETAMPERED;
	data = chain_rbuf_get(p, t->len);
	if (!data)
		return -CHAIN_ETAMPERED;
	if (t->len) {
		t->data = malloc(t->len);
		if (!t->data)
			return -ENOMEM;
		memcpy(t->data, data, t->len);
	}
	return 0;
}

/* DA setup: u64 epoch, stake unit, min stake, slots, sample period, window, fee per KiB. */
static void da_setup_payload(const struct chain_da_config *c, struct chain_wbuf *w)
{
	chain_wbuf_u64(w, c->epoch_blocks);
	chain_wbuf_u64(w, c->stake_unit);
	chain_wbuf_u64(w, c->min_stake);
	chain_wbuf_u64(w, c->slots);
	chain_wbuf_u64(w, c->sample_blocks);
	chain_wbuf_u64(w, c->sample_window);
	chain_wbuf_u64(w, c->fee_per_kib);
}

static int decode_da_setup(struct chain_rbuf *p, struct chain_da_config *c)
{
	uint64_t slots;

	c->epoch_blocks = chain_rbuf_u64(p);
	c->stake_unit = chain_rbuf_u64(p);
	c->min_stake = chain_rbuf_u64(p);
	slots = chain_rbuf_u64(p);
	c->sample_blocks = chain_rbuf_u64(p);
	c->sample_window = chain_rbuf_u64(p);
	c->fee_per_kib = chain_rbuf_u64(p);
	if (slots > CHAIN_DA_SLOTS_MAX)
		return -CHAIN_ETAMPERED;
	c->slots = (unsigned)slots;
	return 0;
}

static void tx_payload(const struct chain_tx *tx, struct chain_wbuf *w)
{
	if (tx->type == CHAIN_TX_DA_SETUP)
		da_setup_payload(&tx->da_setup.cfg, w);
	else if (is_da(tx->type))
		da_payload(&tx->da, w);
	else
		tx_payload_core(tx, w);
}

/* Only what the wire can carry: one-byte counts and heights, bounded tags. Validity in the
 * Flow sense is the ledger's business, not the encoder's. */
static bool tx_encodable(const struct chain_tx *tx)
{
	const struct chain_submission *s = &tx->submit.sub;

	switch (tx->type) {
	case CHAIN_TX_GENESIS:
	case CHAIN_TX_DONATE:
	case CHAIN_TX_PORA_SETUP:
	case CHAIN_TX_PORA_REGISTER:
		return true;
	case CHAIN_TX_PORA_ANSWER:
		return tx->pora_answer.answer.nproof <= CHAIN_PORA_PROOF_MAX;
	case CHAIN_TX_DA_SETUP:
		return tx->da_setup.cfg.slots <= CHAIN_DA_SLOTS_MAX;
	case CHAIN_TX_DA_REGISTER:
	case CHAIN_TX_DA_PUBLISH:
	case CHAIN_TX_DA_CERTIFY:
	case CHAIN_TX_DA_ANSWER:
	case CHAIN_TX_DA_VOID:
		return tx->da.len <= CHAIN_DA_TX_DATA_MAX && (tx->da.len == 0 || tx->da.data);
	case CHAIN_TX_SUBMIT:
		if (s->tags_len > CHAIN_TAGS_MAX || s->nnodes > CODEC_MAX_NODES)
			return false;
		for (size_t i = 0; i < s->nnodes; i++)
			if (s->nodes[i].height > UINT8_MAX)
				return false;
		return true;
	default:
		return false;
	}
}

static void header(const struct chain_block *b, struct chain_wbuf *w)
{
	chain_wbuf_put(w, BLOCK_MAGIC, 4);
	chain_wbuf_u8(w, BLOCK_VERSION);
	chain_wbuf_u64(w, b->chain_id);
	chain_wbuf_u64(w, b->height);
	chain_wbuf_put(w, b->prev, CODEC_HASH_SIZE);
	chain_wbuf_u64(w, b->timestamp);
	chain_wbuf_u64(w, b->flow_length);
	chain_wbuf_put(w, b->flow_root, CODEC_HASH_SIZE);
	chain_wbuf_u64(w, b->next_tx_seq);
	chain_wbuf_u32(w, (uint32_t)b->ntx);
}

int chain_block_seal(struct chain_block *b, const uint8_t sk[64], struct chain_wbuf *w,
		     uint8_t ret_hash[CODEC_HASH_SIZE])
{
	uint8_t hash[CODEC_HASH_SIZE], sig[CHAIN_SIGNATURE_SIZE];

	if (b->ntx > CHAIN_BLOCK_MAX_TXS)
		return -E2BIG;
	w->max = CHAIN_BLOCK_MAX_BYTES;
	header(b, w);
	for (size_t i = 0; i < b->ntx; i++) {
		size_t at;
		uint32_t len;

		if (!tx_encodable(&b->txs[i]))
			return -EINVAL;
		chain_wbuf_u8(w, b->txs[i].type);
		at = w->len;
		chain_wbuf_u32(w, 0); /* length, patched below */
		tx_payload(&b->txs[i], w);
		if (w->err)
			return w->err;
		len = (uint32_t)(w->len - at - 4);
		for (int k = 0; k < 4; k++)
			w->data[at + (size_t)k] = (uint8_t)(len >> (24 - 8 * k));
	}
	if (w->err)
		return w->err;
	codec_keccak256(w->data, w->len, hash);
	crypto_sign_detached(sig, NULL, hash, sizeof(hash), sk);
	chain_wbuf_put(w, sig, sizeof(sig));
	if (w->err)
		return w->err;
	memcpy(b->signature, sig, sizeof(sig));
	memcpy(ret_hash, hash, sizeof(hash));
	return 0;
}

static int decode_tx(struct chain_rbuf *r, struct chain_tx *tx)
{
	struct chain_rbuf p;
	const uint8_t *payload;
	uint32_t len, tags_len;
	uint8_t nnodes;
	struct chain_submission *s;
	int e;

	memset(tx, 0, sizeof(*tx));
	tx->type = chain_rbuf_u8(r);
	len = chain_rbuf_u32(r);
	payload = chain_rbuf_get(r, len);
	if (!payload)
		return -CHAIN_ETAMPERED;
	chain_rbuf_init(&p, payload, len);
	switch (tx->type) {
	case CHAIN_TX_GENESIS:
		tx->genesis.chain_id = chain_rbuf_u64(&p);
		tx->genesis.price_per_sector = chain_rbuf_u64(&p);
		tx->genesis.supply = chain_rbuf_u64(&p);
		tx->genesis.pool_lifetime = chain_rbuf_u64(&p);
		chain_rbuf_copy(&p, tx->genesis.authority, CHAIN_PUBKEY_SIZE);
		break;
	case CHAIN_TX_SUBMIT:
		s = &tx->submit.sub;
		chain_rbuf_copy(&p, tx->submit.sender, CHAIN_ADDRESS_SIZE);
		s->length = chain_rbuf_u64(&p);
		tags_len = chain_rbuf_u32(&p);
		if (tags_len > CHAIN_TAGS_MAX)
			return -CHAIN_ETAMPERED;
		s->tags_len = tags_len;
		chain_rbuf_copy(&p, s->tags, tags_len);
		nnodes = chain_rbuf_u8(&p);
		if (nnodes > CODEC_MAX_NODES)
			return -CHAIN_ETAMPERED;
		s->nnodes = nnodes;
		for (size_t i = 0; i < nnodes; i++) {
			chain_rbuf_copy(&p, s->nodes[i].root, CODEC_HASH_SIZE);
			s->nodes[i].height = chain_rbuf_u8(&p);
		}
		break;
	case CHAIN_TX_DONATE:
		chain_rbuf_copy(&p, tx->donate.sender, CHAIN_ADDRESS_SIZE);
		tx->donate.amount = chain_rbuf_u64(&p);
		break;
	case CHAIN_TX_PORA_SETUP:
		tx->pora_setup.params.difficulty = chain_rbuf_u64(&p);
		tx->pora_setup.params.epoch_blocks = chain_rbuf_u64(&p);
		tx->pora_setup.params.target_answers = chain_rbuf_u64(&p);
		tx->pora_setup.params.base_reward = chain_rbuf_u64(&p);
		break;
	case CHAIN_TX_PORA_REGISTER:
		chain_rbuf_copy(&p, tx->pora_register.sender, CHAIN_ADDRESS_SIZE);
		tx->pora_register.seed = chain_rbuf_u64(&p);
		chain_rbuf_copy(&p, tx->pora_register.beneficiary, CHAIN_ADDRESS_SIZE);
		break;
	case CHAIN_TX_PORA_ANSWER:
		if (decode_answer(&p, tx) < 0)
			return -CHAIN_ETAMPERED;
		break;
	case CHAIN_TX_DA_SETUP:
		if (decode_da_setup(&p, &tx->da_setup.cfg) < 0)
			return -CHAIN_ETAMPERED;
		break;
	case CHAIN_TX_DA_REGISTER:
	case CHAIN_TX_DA_PUBLISH:
	case CHAIN_TX_DA_CERTIFY:
	case CHAIN_TX_DA_ANSWER:
	case CHAIN_TX_DA_VOID:
		e = decode_da(&p, &tx->da);
		if (e < 0)
			return e;
		break;
	default:
		return -CHAIN_ETAMPERED;
	}
	return chain_rbuf_done(&p) ? 0 : -CHAIN_ETAMPERED;
}

int chain_block_decode(const uint8_t *p, size_t n, struct chain_block *ret_block,
		       uint8_t ret_hash[CODEC_HASH_SIZE])
{
	struct chain_block b;
	struct chain_rbuf r;
	const uint8_t *magic;
	uint32_t ntx;
	int err = -CHAIN_ETAMPERED;

	memset(&b, 0, sizeof(b));
	if (n > CHAIN_BLOCK_MAX_BYTES || n < CHAIN_SIGNATURE_SIZE)
		return -CHAIN_ETAMPERED;
	/* The signature is the tail; everything before it is what was hashed. */
	chain_rbuf_init(&r, p, n - CHAIN_SIGNATURE_SIZE);
	magic = chain_rbuf_get(&r, 4);
	if (!magic || memcmp(magic, BLOCK_MAGIC, 4) || chain_rbuf_u8(&r) != BLOCK_VERSION)
		return -CHAIN_ETAMPERED;
	b.chain_id = chain_rbuf_u64(&r);
	b.height = chain_rbuf_u64(&r);
	chain_rbuf_copy(&r, b.prev, CODEC_HASH_SIZE);
	b.timestamp = chain_rbuf_u64(&r);
	b.flow_length = chain_rbuf_u64(&r);
	chain_rbuf_copy(&r, b.flow_root, CODEC_HASH_SIZE);
	b.next_tx_seq = chain_rbuf_u64(&r);
	ntx = chain_rbuf_u32(&r);
	if (r.bad || ntx > CHAIN_BLOCK_MAX_TXS)
		return -CHAIN_ETAMPERED;
	if (ntx) {
		b.txs = calloc(ntx, sizeof(*b.txs));
		if (!b.txs)
			return -ENOMEM;
	}
	b.ntx = ntx;
	for (size_t i = 0; i < ntx; i++) {
		int e = decode_tx(&r, &b.txs[i]);

		if (e < 0) {
			err = e == -ENOMEM ? e : -CHAIN_ETAMPERED;
			goto out;
		}
	}
	if (!chain_rbuf_done(&r))
		goto out;
	memcpy(b.signature, p + n - CHAIN_SIGNATURE_SIZE, CHAIN_SIGNATURE_SIZE);
	codec_keccak256(p, n - CHAIN_SIGNATURE_SIZE, ret_hash);
	*ret_block = b;
	return 0;
out:
	chain_block_release(&b);
	return err;
}

bool chain_block_signed_by(const struct chain_block *b, const uint8_t hash[CODEC_HASH_SIZE],
			   const uint8_t pk[CHAIN_PUBKEY_SIZE])
{
	return crypto_sign_verify_detached(b->signature, hash, CODEC_HASH_SIZE, pk) == 0;
}

void chain_block_release(struct chain_block *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->ntx && b->txs; i++)
		if (is_da(b->txs[i].type))
			free(b->txs[i].da.data);
	free(b->txs);
	b->txs = NULL;
	b->ntx = 0;
}
