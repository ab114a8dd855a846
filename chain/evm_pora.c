/*
 * PoRA on an EVM chain: the Mine contract (chain/contracts/Mine.sol) behind chain.h's
 * chain_pora_* calls. The contract checks and pays; this file only encodes calls and
 * decodes answers. Mine.info() and Flow.makeContext() change state, so the views that
 * need a fresh context are eth_calls of them: the chain runs the function on a copy of
 * its state and forgets it, which is how 0G's node reads computeWorkerContext.
 */
#include <errno.h>
#include <string.h>

#include "chain/abi_i.h"
#include "chain/evm_i.h"
#include "chain/limits.h"
#include "codec/keccak.h"

#define W 32

#define SIG_SUBMIT                                                                                 \
	"submit((bytes32,bytes32,bytes32,(uint256,uint256,uint64,uint64),uint256,uint256,bytes32," \
	"bytes32[128],bytes32[]))"
#define SIG_NEW_MINER_ID   "NewMinerId(bytes32,address)"
#define SIG_NEW_SUBMISSION "NewSubmission(uint256,bytes32,uint256,uint256,uint256)"
#define INFO_WORDS	   15 /* MineInfo: the context (6), then 9 words */
#define RANGES_PER_CALL	   64
#define ANSWER_HEAD_WORDS  (3 + 4 + 3 + 128 + 1)

static int no_mine(struct chain_evm *c)
{
	(void)c;
	chain_set_detail("this chain's contracts have no Mine (deployed without PoRA)");
	return -CHAIN_EPORA_OFF;
}

int chain_evm_pora_load(struct chain_evm *c)
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	uint8_t w[W];
	int r = chain_evm_view(c, c->market, "mine()", false, 0, w, 1);

	/* A Market from before mining answers nothing: no Mine, not an error. */
	if (r == -CHAIN_EREVERTED || r == -EBADMSG ||
	    (r == 0 && chain_abi_word_address(w, c->mine) < 0)) {
		chain_clear_detail();
		memset(c->mine, 0, sizeof(c->mine));
		return 0;
	}
	if (r < 0)
		return r;
	c->has_mine = memcmp(c->mine, zero, CHAIN_ADDRESS_SIZE) != 0;
	if (!c->has_mine)
		return 0;
	r = chain_evm_view(c, c->flow, "blocksPerEpoch()", false, 0, w, 1);
	if (r == 0)
		c->blocks_per_epoch = chain_evm_u256_saturate(w);
	if (r == 0)
		r = chain_evm_view(c, c->flow, "firstBlock()", false, 0, w, 1);
	if (r == 0)
		c->first_block = chain_evm_u256_saturate(w);
	if (r == 0 && c->blocks_per_epoch < 2) {
		chain_set_detail("the Flow has a Mine but no mining epochs");
		r = -EBADMSG;
	}
	return r;
}

/* A view taking one 32-byte word (an id, an address), returning at least `words` words. */
static int view_word(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE], const char *sig,
		     const uint8_t arg[W], uint8_t *out, size_t words)
{
	struct chain_wbuf in, res;
	uint8_t sel[4];
	int r;

	chain_wbuf_init(&in, 64);
	chain_wbuf_init(&res, 4096);
	chain_abi_selector(sig, sel);
	chain_wbuf_put(&in, sel, 4);
	chain_wbuf_put(&in, arg, W);
	r = chain_evm_view_raw(c, to, &in, sig, &res);
	if (r == 0 && res.len < words * W) {
		chain_set_detail("%s returned %zu bytes", sig, res.len);
		r = -EBADMSG;
	} else if (r == 0) {
		memcpy(out, res.data, words * W);
	}
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	return r;
}

/* A word the caller expects to fit 64 bits; -EBADMSG (with a detail) when it does not. */
static int word_u64(const uint8_t w[W], const char *what, uint64_t *ret)
{
	if (chain_abi_word_u64(w, ret) < 0) {
		chain_set_detail("the Mine answered a %s past 64 bits", what);
		return -EBADMSG;
	}
	return 0;
}

int chain_evm_pora_info(struct chain *base, struct chain_pora_info *ret)
{
	struct chain_evm *c = to_evm(base);
	uint8_t w[INFO_WORDS * W];
	struct chain_pora_info i;
	int r;

	if (!c->has_mine)
		return no_mine(c);
	r = chain_evm_view(c, c->mine, "info()", false, 0, w, INFO_WORDS);
	if (r < 0)
		return r;
	memset(&i, 0, sizeof(i));
	r = word_u64(w, "context epoch", &i.epoch);
	if (r == 0)
		r = word_u64(w + W, "mine start", &i.mine_start);
	memcpy(i.flow_root, w + 2 * W, W);
	if (r == 0)
		r = word_u64(w + 3 * W, "flow length", &i.flow_length);
	memcpy(i.context, w + 5 * W, W);
	memcpy(i.subtask_digest, w + 6 * W, W);
	memcpy(i.target, w + 7 * W, W);
	if (r == 0)
		r = word_u64(w + 8 * W, "answer count", &i.epoch_answers);
	if (r == 0)
		r = word_u64(w + 9 * W, "answer count", &i.accepted);
	i.paid = chain_evm_u256_saturate(w + 10 * W);
	if (r == 0)
		r = word_u64(w + 11 * W, "difficulty", &i.params.difficulty);
	if (r == 0)
		r = word_u64(w + 12 * W, "target", &i.params.target_answers);
	if (r == 0)
		r = word_u64(w + 13 * W, "epoch length", &i.params.epoch_blocks);
	i.params.base_reward = chain_evm_u256_saturate(w + 14 * W);
	if (r == 0)
		r = chain_evm_rpc_block_number(c->rpc, &i.height);
	if (r < 0)
		return r;
	*ret = i;
	return 0;
}

/* The Mine's events in our own transaction's receipt. */
struct mine_event {
	const struct chain_evm *c;
	uint8_t topic[W];
	bool found;
	uint8_t topic1[W];
	uint8_t data[3 * W];
};

static int on_mine_log(void *ctx, const struct chain_evm_log *log)
{
	struct mine_event *e = ctx;

	if (memcmp(log->address, e->c->mine, CHAIN_ADDRESS_SIZE) != 0 || log->ntopics < 2 ||
	    memcmp(log->topics[0], e->topic, W) != 0)
		return 0;
	if (log->data_len > sizeof(e->data))
		return -EPROTO;
	memcpy(e->topic1, log->topics[1], W);
	memset(e->data, 0, sizeof(e->data));
	if (log->data_len)
		memcpy(e->data, log->data, log->data_len);
	e->found = true;
	return 0;
}

int chain_evm_pora_register(struct chain *base, uint64_t seed,
			    const uint8_t beneficiary[CHAIN_ADDRESS_SIZE], uint8_t ret_id[32])
{
	struct chain_evm *c = to_evm(base);
	struct mine_event e = {.c = c};
	uint8_t call[4 + 2 * W];
	int r;

	if (!c->has_mine)
		return no_mine(c);
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	chain_abi_selector("requestMinerId(address,uint64)", call);
	chain_abi_put_address(call + 4, beneficiary);
	chain_abi_put_u64(call + 4 + W, seed);
	chain_abi_topic(SIG_NEW_MINER_ID, e.topic);
	r = chain_evm_send(c, c->mine, 0, call, sizeof(call), on_mine_log, &e);
	if (r == 0 && !e.found) {
		chain_set_detail("the registration's receipt has no NewMinerId event");
		r = -EPROTO;
	}
	if (r == 0)
		memcpy(ret_id, e.topic1, W);
	return r;
}

int chain_evm_pora_miner(struct chain *base, const uint8_t id[32],
			 uint8_t ret_beneficiary[CHAIN_ADDRESS_SIZE])
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	struct chain_evm *c = to_evm(base);
	uint8_t w[W], a[CHAIN_ADDRESS_SIZE];
	int r;

	if (!c->has_mine)
		return no_mine(c);
	r = view_word(c, c->mine, "beneficiaries(bytes32)", id, w, 1);
	if (r == 0 && chain_abi_word_address(w, a) < 0)
		r = -EBADMSG;
	if (r == 0 && !memcmp(a, zero, sizeof(a)))
		r = -ENOENT;
	if (r == 0)
		memcpy(ret_beneficiary, a, sizeof(a));
	return r;
}

int chain_evm_pora_miner_of(struct chain *base, const uint8_t beneficiary[CHAIN_ADDRESS_SIZE],
			    uint8_t ret_id[32])
{
	static const uint8_t zero[W];
	struct chain_evm *c = to_evm(base);
	uint8_t arg[W], w[W];
	int r;

	if (!c->has_mine)
		return no_mine(c);
	chain_abi_put_address(arg, beneficiary);
	r = view_word(c, c->mine, "minerOf(address)", arg, w, 1);
	if (r == 0 && !memcmp(w, zero, W))
		r = -ENOENT;
	if (r == 0)
		memcpy(ret_id, w, W);
	return r;
}

/* Flow.epochRangesFrom(from, max): an array of (start, end, digest). */
static int ranges_from(struct chain_evm *c, uint64_t from, uint64_t max,
		       struct chain_pora_context *out, size_t *ret_n)
{
	struct chain_wbuf in, res;
	uint8_t call[4 + 2 * W];
	uint64_t off, n = 0;
	int r;

	chain_abi_selector("epochRangesFrom(uint256,uint256)", call);
	chain_abi_put_u64(call + 4, from);
	chain_abi_put_u64(call + 4 + W, max);
	chain_wbuf_init(&in, sizeof(call));
	chain_wbuf_init(&res, 64 + RANGES_PER_CALL * 3 * W);
	chain_wbuf_put(&in, call, sizeof(call));
	r = chain_evm_view_raw(c, c->flow, &in, "epochRangesFrom()", &res);
	if (r == 0 && (res.len < 2 * W || chain_abi_word_u64(res.data, &off) < 0 ||
		       off > res.len - W || chain_abi_word_u64(res.data + off, &n) < 0 || n > max ||
		       (res.len - off - W) / (3 * W) < n))
		r = -EBADMSG;
	for (uint64_t i = 0; r == 0 && i < n; i++) {
		const uint8_t *p = res.data + off + W + i * 3 * W;

		if (chain_abi_word_u64(p, &out[i].start) < 0 ||
		    chain_abi_word_u64(p + W, &out[i].end) < 0)
			r = -EBADMSG;
		memcpy(out[i].digest, p + 2 * W, W);
	}
	if (r == -EBADMSG)
		chain_set_detail("the Flow's epochRangesFrom() answers no list of ranges");
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	if (r == 0)
		*ret_n = (size_t)n;
	return r;
}

int chain_evm_pora_contexts(struct chain *base, size_t from, struct chain_pora_context *ctxs,
			    size_t max, size_t *ret_n)
{
	struct chain_evm *c = to_evm(base);
	size_t total = 0;

	if (!c->has_mine)
		return no_mine(c);
	while (total < max) {
		size_t want = max - total < RANGES_PER_CALL ? max - total : RANGES_PER_CALL,
		       got = 0;
		int r = ranges_from(c, from + total, want, ctxs + total, &got);

		if (r < 0)
			return r;
		total += got;
		if (got < want)
			break;
	}
	*ret_n = total;
	return 0;
}

/*
 * A context is made by the first transaction after its epoch starts; on a chain that
 * makes blocks by itself nothing else may come soon enough (256 blocks), so a miner sends
 * Flow.makeContext() when the next block opens an epoch that has none. Otherwise nothing.
 */
int chain_evm_pora_tick(struct chain *base)
{
	struct chain_evm *c = to_evm(base);
	uint8_t w[W], call[4];
	uint64_t head, epoch, due;
	int r;

	if (!c->has_mine)
		return no_mine(c);
	r = chain_evm_rpc_block_number(c->rpc, &head);
	if (r == 0)
		r = chain_evm_view(c, c->flow, "getContext()", false, 0, w, 1);
	if (r == 0)
		r = word_u64(w, "context epoch", &epoch);
	if (r < 0)
		return r;
	if (head < c->first_block)
		return 0;
	due = (head - c->first_block) / c->blocks_per_epoch;
	if (due <= epoch)
		return 0;
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	chain_abi_selector("makeContext()", call);
	return chain_evm_send(c, c->flow, 0, call, sizeof(call), NULL, NULL);
}

/* submit(PoraAnswer): the tuple is dynamic (merkleProof), so it sits behind one offset. */
static void encode_answer(const struct chain_pora_answer *a, struct chain_wbuf *w)
{
	uint8_t word[W];

	chain_abi_selector(SIG_SUBMIT, word);
	chain_wbuf_put(w, word, 4);
	chain_abi_put_u64(word, W);
	chain_wbuf_put(w, word, W);
	chain_wbuf_put(w, a->context, W);
	chain_wbuf_put(w, a->nonce, W);
	chain_wbuf_put(w, a->miner_id, W);
	chain_abi_put_u64(word, a->range.start_position);
	chain_wbuf_put(w, word, W);
	chain_abi_put_u64(word, a->range.mine_length);
	chain_wbuf_put(w, word, W);
	chain_abi_put_u64(word, a->range.shard_id);
	chain_wbuf_put(w, word, W);
	chain_abi_put_u64(word, a->range.shard_mask);
	chain_wbuf_put(w, word, W);
	chain_abi_put_u64(word, a->recall_position);
	chain_wbuf_put(w, word, W);
	chain_abi_put_u64(word, a->seal_offset);
	chain_wbuf_put(w, word, W);
	chain_wbuf_put(w, a->sealed_context, W);
	chain_wbuf_put(w, a->sealed, CODEC_SEAL_SIZE);
	chain_abi_put_u64(word, ANSWER_HEAD_WORDS * W);
	chain_wbuf_put(w, word, W);
	chain_abi_put_u64(word, a->nproof);
	chain_wbuf_put(w, word, W);
	for (size_t i = 0; i < a->nproof; i++)
		chain_wbuf_put(w, a->proof[i], W);
}

int chain_evm_pora_submit(struct chain *base, const struct chain_pora_answer *a,
			  uint64_t *ret_reward)
{
	struct chain_evm *c = to_evm(base);
	struct mine_event e = {.c = c};
	struct chain_wbuf w;
	int r;

	if (!c->has_mine)
		return no_mine(c);
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	if (a->nproof > CHAIN_PORA_PROOF_MAX)
		return -EINVAL;
	chain_wbuf_init(&w, 4 + (2 + ANSWER_HEAD_WORDS + CHAIN_PORA_PROOF_MAX) * W);
	encode_answer(a, &w);
	chain_abi_topic(SIG_NEW_SUBMISSION, e.topic);
	r = w.err ? w.err : chain_evm_send(c, c->mine, 0, w.data, w.len, on_mine_log, &e);
	chain_wbuf_release(&w);
	if (r == 0 && !e.found) {
		chain_set_detail("the answer's receipt has no NewSubmission event");
		r = -EPROTO;
	}
	if (r == 0)
		*ret_reward = chain_evm_u256_saturate(e.data + 2 * W);
	return r;
}
