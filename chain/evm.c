/*
 * The EVM backend: settlement through the Flow contract of chain/contracts on any chain
 * that speaks Ethereum JSON-RPC.
 *
 * Following. The node learns entries from the contract's Submit events, whoever sent them,
 * in the order the chain settled them, and applies the Flow rules of chain/flow.c to each
 * one: validity, placement and the flow tree. The contract applies the same rules, so an
 * event whose start position or size differs from ours means the two disagree; the node
 * then stops following (-CHAIN_EDIVERGED) rather than serve a flow it cannot trust.
 * Followed entries and the follower's state are kept in a leveldb under dir ("e" + be64
 * tx seq: an entry; "s": the state), written together per range of blocks, so a restart
 * resumes where it stopped. Nothing here needs fsync: the chain holds the truth and the
 * state can be read again from it.
 *
 * Submitting. chain_submit() is a group commit: a caller queues its submission; if no
 * transaction is in flight it becomes the leader and sends everything queued as one
 * transaction (submit() for one, batchSubmit() for several), waits for the receipt and
 * the confirmations, follows the chain up to that block and wakes the others. While one
 * transaction is in flight, new submissions gather for the next one, so many closes that
 * arrive together cost one transaction. Only the leader uses the nonce, so nonces are
 * never raced; after a crash the next leader reads the account's pending nonce again.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <leveldb/c.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain/abi_i.h"
#include "chain/backend_i.h"
#include "chain/buf_i.h"
#include "chain/contracts_i.h"
#include "chain/da.h"
#include "chain/evm_i.h"
#include "chain/evm_key_i.h"
#include "chain/evm_rpc_i.h"
#include "sys/ldb.h"
#include "sys/clock.h"
#include "chain/evm_tx_i.h"
#include "chain/flow_i.h"
#include "chain/ledger_i.h"
#include "chain/limits.h"
#include "chain/pora_i.h"
#include "chain/registry_i.h"
#include "codec/hex.h"
#include "codec/keccak.h"

#define KEY_STATE     's'
#define KEY_ENTRY     'e'
#define STATE_VERSION 1

static const struct chain_ops evm_ops;

/* --- small helpers ------------------------------------------------------------------ */

static void make_key(char out[9], char prefix, uint64_t n)
{
	out[0] = prefix;
	for (int i = 0; i < 8; i++)
		out[1 + i] = (char)(uint8_t)(n >> (56 - 8 * i));
}

static int ldb_error(char *err)
{
	char text[256];
	int r = sys_ldb_error(err, text, sizeof(text));

	if (r < 0)
		chain_set_detail("follower database: %s", text);
	return r;
}

static uint64_t ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t->tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - t->tv_nsec) / 1000000);
}

static void addr_hex(const uint8_t a[CHAIN_ADDRESS_SIZE], char out[43])
{
	codec_hex_encode(a, CHAIN_ADDRESS_SIZE, out);
}

/* A uint256 that may not fit: saturate (balances of test accounts exceed 2^64 wei). */
uint64_t chain_evm_u256_saturate(const uint8_t w[32])
{
	uint64_t v = 0;

	for (int i = 0; i < 24; i++)
		if (w[i])
			return UINT64_MAX;
	for (int i = 24; i < 32; i++)
		v = v << 8 | w[i];
	return v;
}

/* --- the follower's stored state ---------------------------------------------------- */

static void state_encode(const struct chain_evm *c, uint64_t next_seq, uint64_t scanned,
			 const struct chain_flowtree *t, struct chain_wbuf *w)
{
	chain_wbuf_u8(w, STATE_VERSION);
	chain_wbuf_u64(w, c->chain_id);
	chain_wbuf_put(w, c->flow, CHAIN_ADDRESS_SIZE);
	chain_wbuf_u64(w, next_seq);
	chain_wbuf_u64(w, scanned);
	chain_wbuf_u64(w, t->length);
	chain_wbuf_u8(w, (uint8_t)t->depth);
	for (unsigned i = 0; i < t->depth; i++) {
		chain_wbuf_put(w, t->stack[i].root, CODEC_HASH_SIZE);
		chain_wbuf_u8(w, (uint8_t)t->stack[i].height);
	}
}

/* Loads the stored state into c; -ENOENT for a new directory; -EEXIST for one that follows
 * another contract or chain. */
static int state_load(struct chain_evm *c)
{
	char k[1] = {KEY_STATE}, *err = NULL, *v;
	uint8_t flow[CHAIN_ADDRESS_SIZE];
	struct chain_rbuf r;
	struct chain_flowtree t;
	uint64_t chain_id, next, scanned;
	size_t n;

	v = leveldb_get(c->db, c->ropts, k, 1, &n, &err);
	if (err)
		return ldb_error(err);
	if (!v)
		return -ENOENT;
	chain_rbuf_init(&r, v, n);
	memset(&t, 0, sizeof(t));
	if (chain_rbuf_u8(&r) != STATE_VERSION) {
		leveldb_free(v);
		chain_set_detail("follower state: unknown version");
		return -EIO;
	}
	chain_id = chain_rbuf_u64(&r);
	chain_rbuf_copy(&r, flow, CHAIN_ADDRESS_SIZE);
	next = chain_rbuf_u64(&r);
	scanned = chain_rbuf_u64(&r);
	t.length = chain_rbuf_u64(&r);
	t.depth = chain_rbuf_u8(&r);
	if (t.depth > CHAIN_FLOW_STACK_MAX)
		t.depth = 0;
	for (unsigned i = 0; i < t.depth; i++) {
		chain_rbuf_copy(&r, t.stack[i].root, CODEC_HASH_SIZE);
		t.stack[i].height = chain_rbuf_u8(&r);
	}
	if (!chain_rbuf_done(&r) || !chain_flowtree_consistent(&t)) {
		leveldb_free(v);
		chain_set_detail("follower state does not decode");
		return -EIO;
	}
	leveldb_free(v);
	if (chain_id != c->chain_id || memcmp(flow, c->flow, CHAIN_ADDRESS_SIZE) != 0) {
		char a[43];

		addr_hex(flow, a);
		chain_set_detail("this directory follows flow %s on chain %llu", a,
				 (unsigned long long)chain_id);
		return -EEXIST;
	}
	c->next_seq = next;
	c->scanned = scanned;
	c->tree = t;
	return 0;
}

/* --- following ---------------------------------------------------------------------- */

struct follow {
	struct chain_evm *c;
	leveldb_writebatch_t *batch;
	uint64_t next_seq;
	struct chain_flowtree tree;
	uint64_t ts_block, ts; /* the last block whose timestamp was fetched */
	struct chain_entry *e;
	int err;
};

static int block_timestamp(struct follow *f, uint64_t block, uint64_t *ret)
{
	struct chain_evm_block b;
	int r;

	if (f->ts_block == block && f->ts) {
		*ret = f->ts;
		return 0;
	}
	r = chain_evm_rpc_block(f->c->rpc, block, &b);
	if (r < 0)
		return r;
	f->ts_block = block;
	f->ts = b.timestamp;
	*ret = b.timestamp;
	return 0;
}

static int diverged(struct follow *f, const char *what, uint64_t seq)
{
	chain_set_detail("Submit event %llu: %s", (unsigned long long)seq, what);
	return -CHAIN_EDIVERGED;
}

/* One Submit event: checked against the Flow rules, then added to the batch. */
static int on_log(void *ctx, const struct chain_evm_log *log)
{
	struct follow *f = ctx;
	struct chain_abi_submit_event *ev;
	struct chain_placement place;
	struct chain_entry *e = f->e;
	struct chain_wbuf w;
	uint64_t sectors;
	char k[9];
	int r;

	if (log->removed || memcmp(log->address, f->c->flow, CHAIN_ADDRESS_SIZE) != 0)
		return 0;
	ev = malloc(sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	r = chain_abi_decode_submit_event((const uint8_t(*)[32])log->topics, log->ntopics,
					  log->data, log->data_len, ev);
	if (r < 0) {
		r = diverged(f, "does not decode", f->next_seq);
		goto out;
	}
	if (ev->index < f->next_seq) /* already followed (a range read twice) */
		goto out;
	if (ev->index > f->next_seq) {
		r = diverged(f, "came before the ones it follows", ev->index);
		goto out;
	}
	if (chain_submission_check(&ev->sub, &sectors) < 0 || sectors != ev->sectors) {
		r = diverged(f, "breaks a Flow validity rule", ev->index);
		goto out;
	}
	r = chain_flowtree_place(&f->tree, ev->sub.nodes[0].height, sectors, &place);
	if (r < 0 || place.start != ev->start) {
		r = diverged(f, "is placed elsewhere than chain/flow.c places it", ev->index);
		goto out;
	}
	memset(e, 0, sizeof(*e));
	chain_submission_roots(&ev->sub, e->root, e->digest);
	if (memcmp(e->digest, ev->identity, CODEC_HASH_SIZE) != 0) {
		r = diverged(f, "has an identity that is not its digest", ev->index);
		goto out;
	}
	r = block_timestamp(f, log->block, &e->timestamp);
	if (r < 0)
		goto out;
	chain_flowtree_append(&f->tree, &place, &ev->sub);
	e->tx_seq = ev->index;
	e->start = place.start;
	e->sectors = sectors;
	e->length = ev->sub.length;
	memcpy(e->sender, ev->sender, CHAIN_ADDRESS_SIZE);
	e->block = log->block;
	if (chain_market_fee(sectors, f->c->price, &e->fee) < 0)
		e->fee = UINT64_MAX;
	e->tags_len = ev->sub.tags_len;
	memcpy(e->tags, ev->sub.tags, ev->sub.tags_len);
	e->nnodes = ev->sub.nnodes;
	memcpy(e->nodes, ev->sub.nodes, ev->sub.nnodes * sizeof(e->nodes[0]));

	chain_wbuf_init(&w, CHAIN_RECORD_MAX_BYTES);
	chain_entry_encode(e, &w);
	r = w.err;
	if (r == 0) {
		make_key(k, KEY_ENTRY, e->tx_seq);
		leveldb_writebatch_put(f->batch, k, sizeof(k), (const char *)w.data, w.len);
		f->next_seq++;
	}
	chain_wbuf_release(&w);
out:
	free(ev);
	return r;
}

/* Reads blocks (scanned, head - confirmations]. Caller holds sync_mu. */
static int sync_locked(struct chain_evm *c)
{
	struct chain_evm_block head;
	struct follow f = {.c = c};
	uint64_t target, scanned;
	int r;

	if (c->diverged) {
		chain_set_detail(
		    "this node stopped following after a Submit event it could not apply");
		return -CHAIN_EDIVERGED;
	}
	r = chain_evm_rpc_block_number(c->rpc, &target);
	if (r < 0)
		return r;
	target = target > c->confirmations ? target - c->confirmations : 0;
	pthread_mutex_lock(&c->mu);
	f.next_seq = c->next_seq;
	f.tree = c->tree;
	scanned = c->scanned;
	pthread_mutex_unlock(&c->mu);
	f.e = malloc(sizeof(*f.e));
	if (!f.e)
		return -ENOMEM;
	while (r == 0 && scanned < target) {
		uint64_t to = target - scanned > CHAIN_EVM_LOG_BLOCKS
				  ? scanned + CHAIN_EVM_LOG_BLOCKS
				  : target;
		struct chain_wbuf w;
		char k[1] = {KEY_STATE}, *err = NULL;

		f.batch = leveldb_writebatch_create();
		r = chain_evm_rpc_logs(c->rpc, c->flow, c->topic, scanned + 1, to, on_log, &f);
		if (r == 0) {
			chain_wbuf_init(&w, CHAIN_RECORD_MAX_BYTES);
			state_encode(c, f.next_seq, to, &f.tree, &w);
			r = w.err;
			if (r == 0)
				leveldb_writebatch_put(f.batch, k, 1, (const char *)w.data, w.len);
			chain_wbuf_release(&w);
		}
		if (r == 0) {
			leveldb_write(c->db, c->wopts, f.batch, &err);
			if (err)
				r = ldb_error(err);
		}
		leveldb_writebatch_destroy(f.batch);
		if (r == -CHAIN_EDIVERGED)
			c->diverged = true;
		if (r < 0)
			break;
		scanned = to;
		pthread_mutex_lock(&c->mu);
		c->next_seq = f.next_seq;
		c->tree = f.tree;
		c->scanned = scanned;
		pthread_mutex_unlock(&c->mu);
	}
	free(f.e);
	if (r == 0 && scanned != c->head_block &&
	    chain_evm_rpc_block(c->rpc, scanned, &head) == 0) {
		pthread_mutex_lock(&c->mu);
		c->head_block = head.number;
		memcpy(c->head_hash, head.hash, CODEC_HASH_SIZE);
		pthread_mutex_unlock(&c->mu);
	}
	clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
	return r;
}

static int evm_sync(struct chain *base)
{
	struct chain_evm *c = to_evm(base);
	int r;

	pthread_mutex_lock(&c->sync_mu);
	r = sync_locked(c);
	pthread_mutex_unlock(&c->sync_mu);
	return r;
}

/* Follows until entry `seq` is known (the leader's own, just mined). */
static int sync_until(struct chain_evm *c, uint64_t seq)
{
	int r = 0;

	for (unsigned i = 0; r == 0; i++) {
		uint64_t next;

		pthread_mutex_lock(&c->mu);
		next = c->next_seq;
		pthread_mutex_unlock(&c->mu);
		if (next > seq)
			return 0;
		if (i == CHAIN_EVM_WAIT_ROUNDS) {
			chain_set_detail("entry %llu is mined but not yet %u blocks deep",
					 (unsigned long long)seq, c->confirmations);
			return -ETIMEDOUT;
		}
		if (i > 0)
			sys_sleep_ms(i < 10 ? 10 : 200);
		r = evm_sync(&c->base);
	}
	return r;
}

/* --- transactions ------------------------------------------------------------------- */

/* A failed estimate or call: the revert reason as the detail, and the code that names it. */
static int revert_error(const struct chain_evm_rpc_fault *fault, const char *what)
{
	char reason[256];

	chain_abi_revert_reason(fault->data, fault->data_len, reason, sizeof(reason));
	chain_set_detail("%s reverted: %s", what, reason);
	return chain_abi_revert_code(fault->data, fault->data_len);
}

static int rpc_fault(struct chain_evm *c, int r, const struct chain_evm_rpc_fault *fault,
		     const char *what)
{
	if (r == -CHAIN_EREVERTED)
		return revert_error(fault, what);
	if (r == -EPROTO) {
		chain_set_detail("%s: %s (%s)", what, fault->message, c->url);
		if (strstr(fault->message, "insufficient funds") ||
		    strstr(fault->message, "Insufficient funds"))
			return -CHAIN_EFUNDS;
		return -EPROTO;
	}
	if (r < 0 && r != -CHAIN_EDIVERGED)
		chain_set_detail("%s: %s", what, chain_evm_rpc_error(c->rpc));
	return r;
}

/* The EIP-1559 fees to offer: twice the latest base fee plus the suggested tip. Read
 * again every CHAIN_EVM_FEE_TTL_MS (twice the base fee leaves room for it to rise between
 * reads), and after a refusal. Only the leader calls this. */
static int fees(struct chain_evm *c, uint64_t *ret_tip, uint64_t *ret_max)
{
	struct chain_evm_block b;
	uint64_t tip;
	int r;

	if (c->fees_known && ms_since(&c->fees_at) < CHAIN_EVM_FEE_TTL_MS) {
		*ret_tip = c->tip;
		*ret_max = c->max_fee;
		return 0;
	}

	r = chain_evm_rpc_max_priority_fee(c->rpc, &tip);
	if (r == -EPROTO)
		tip = CHAIN_EVM_DEFAULT_TIP;
	else if (r < 0)
		return r;
	r = chain_evm_rpc_block(c->rpc, CHAIN_EVM_BLOCK_LATEST, &b);
	if (r < 0)
		return r;
	if (b.base_fee > (UINT64_MAX - tip) / 2)
		return -EOVERFLOW;
	*ret_tip = c->tip = tip;
	*ret_max = c->max_fee = 2 * b.base_fee + tip;
	clock_gettime(CLOCK_MONOTONIC, &c->fees_at);
	c->fees_known = true;
	return 0;
}

struct sent {
	uint8_t hash[CODEC_HASH_SIZE];
	struct chain_evm_receipt receipt;
};

/*
 * Sends one transaction from the key (to = NULL: contract creation), waits until it is
 * mined and `confirmations` deep, and hands its logs to fn. The caller serializes calls
 * (the leader, or deploy). Estimates gas first, so most reverts are known before anything
 * is paid.
 */
static int send_tx(struct chain_evm *c, const uint8_t *to, uint64_t value, const uint8_t *data,
		   size_t len, chain_evm_log_fn *fn, void *ctx, struct sent *ret)
{
	struct chain_evm_rpc_fault fault;
	struct chain_evm_call call;
	struct chain_evm_tx tx = {0};
	struct chain_wbuf raw;
	uint8_t v[32];
	uint64_t gas;
	int r;

	if (!c->has_key)
		return -CHAIN_ENOKEY;
	chain_u256_from_u64(v, value);
	memset(&fault, 0, sizeof(fault));
	call = (struct chain_evm_call){c->key.address, to, v, data, len};
	r = chain_evm_rpc_estimate_gas(c->rpc, &call, &gas, &fault);
	if (r < 0)
		return rpc_fault(c, r, &fault, "the transaction's gas estimate");
	tx.chain_id = c->chain_id;
	tx.gas = gas + gas / 4 + 10000;
	tx.create = to == NULL;
	if (to)
		memcpy(tx.to, to, CHAIN_ADDRESS_SIZE);
	memcpy(tx.value, v, 32);
	tx.data = data;
	tx.data_len = len;
	r = fees(c, &tx.max_priority_fee, &tx.max_fee);
	if (r < 0)
		return rpc_fault(c, r, &fault, "fee data");

	for (int attempt = 0;; attempt++) {
		if (!c->nonce_known) {
			r = chain_evm_rpc_nonce(c->rpc, c->key.address, true, &c->nonce);
			if (r < 0)
				return rpc_fault(c, r, &fault, "the account's nonce");
			c->nonce_known = true;
		}
		tx.nonce = c->nonce;
		chain_wbuf_init(&raw, CHAIN_EVM_TX_MAX);
		r = chain_evm_tx_sign(&tx, &c->key, &raw, ret->hash);
		if (r == 0) {
			uint8_t hash[CODEC_HASH_SIZE];

			memset(&fault, 0, sizeof(fault));
			r = chain_evm_rpc_send_raw(c->rpc, raw.data, raw.len, hash, &fault);
		}
		chain_wbuf_release(&raw);
		if (r == 0) {
			c->nonce++;
			break;
		}
		c->nonce_known = false;
		c->fees_known = false;
		/* Another process with this key, or a transaction sent before a crash, took
		 * the nonce: read it again and retry once. */
		if (r == -EPROTO && attempt == 0 && strstr(fault.message, "nonce"))
			continue;
		return rpc_fault(c, r, &fault, "sending the transaction");
	}

	/* Mined? Poll, quickly at first. */
	for (unsigned i = 0;; i++) {
		r = chain_evm_rpc_receipt(c->rpc, ret->hash, &ret->receipt, fn, ctx);
		if (r != -ENOENT)
			break;
		if (i == CHAIN_EVM_WAIT_ROUNDS * 4) {
			char h[2 * CODEC_HASH_SIZE + 3];

			codec_hex_encode(ret->hash, CODEC_HASH_SIZE, h);
			chain_set_detail("transaction %s was not mined in time", h);
			return -ETIMEDOUT;
		}
		sys_sleep_ms(i < 20 ? 2 + i : 100);
	}
	if (r < 0)
		return rpc_fault(c, r, &fault, "the transaction's receipt");
	if (ret->receipt.status != 1) {
		/* Replay it as a call for the reason (at the latest block: near enough). */
		struct chain_wbuf out;

		chain_wbuf_init(&out, 4096);
		memset(&fault, 0, sizeof(fault));
		r = chain_evm_rpc_eth_call(c->rpc, &call, &out, &fault);
		chain_wbuf_release(&out);
		if (r == -CHAIN_EREVERTED)
			return revert_error(&fault, "the transaction");
		chain_set_detail("the transaction reverted in block %llu",
				 (unsigned long long)ret->receipt.block);
		return -CHAIN_EREVERTED;
	}
	return 0;
}

/* Submit events of the leader's own transaction, in order. */
struct own_events {
	struct chain_evm *c;
	size_t n, max;
	uint64_t *index;
	uint8_t (*identity)[CODEC_HASH_SIZE];
};

static int on_own_log(void *ctx, const struct chain_evm_log *log)
{
	struct own_events *o = ctx;

	if (memcmp(log->address, o->c->flow, CHAIN_ADDRESS_SIZE) != 0 || log->ntopics < 3 ||
	    memcmp(log->topics[0], o->c->topic, CODEC_HASH_SIZE) != 0)
		return 0;
	if (o->n == o->max)
		return -EPROTO;
	/* Only the index is needed here (the word after the static head); the follower
	 * decodes and checks the whole event. */
	if (log->data_len < 32 || chain_abi_word_u64(log->data, &o->index[o->n]) < 0)
		return -EPROTO;
	memcpy(o->identity[o->n], log->topics[2], CODEC_HASH_SIZE);
	o->n++;
	return 0;
}

/* Settles reqs[0..n) in one transaction; sets each one's result. */
static void run_batch(struct chain_evm *c, struct evm_req **reqs, size_t n)
{
	const struct chain_submission *subs[CHAIN_EVM_BATCH_MAX];
	uint64_t index[CHAIN_EVM_BATCH_MAX];
	uint8_t identity[CHAIN_EVM_BATCH_MAX][CODEC_HASH_SIZE];
	struct own_events o = {c, 0, n, index, identity};
	struct chain_wbuf w;
	struct sent s;
	uint64_t value = 0;
	int r;

	chain_clear_detail();
	for (size_t i = 0; i < n; i++) {
		subs[i] = reqs[i]->sub;
		value += reqs[i]->fee; /* each fee fits; CHAIN_EVM_BATCH_MAX of them do too */
	}
	chain_wbuf_init(&w, CHAIN_EVM_TX_MAX);
	if (n == 1)
		chain_abi_encode_submit(subs[0], c->key.address, &w);
	else
		chain_abi_encode_batch_submit(subs, n, c->key.address, &w);
	r = w.err;
	if (r == 0)
		r = send_tx(c, c->flow, value, w.data, w.len, on_own_log, &o, &s);
	chain_wbuf_release(&w);
	if (r < 0 && n > 1 &&
	    (r == -CHAIN_EREVERTED || r == -CHAIN_EINVALID_SUBMISSION || r == -E2BIG)) {
		/* One bad submission fails the whole batch: settle each alone, so that each
		 * gets its own answer. Nothing was paid for the batch (its estimate failed). */
		for (size_t i = 0; i < n; i++)
			run_batch(c, &reqs[i], 1);
		return;
	}
	if (r == 0 && o.n != n) {
		chain_set_detail("the transaction settled %zu submissions, not %zu", o.n, n);
		r = -EPROTO;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (memcmp(identity[i], reqs[i]->digest, CODEC_HASH_SIZE) != 0) {
			chain_set_detail("submission %llu has another digest than ours",
					 (unsigned long long)index[i]);
			r = -EPROTO;
		}
	if (r == 0)
		r = sync_until(c, index[n - 1]);
	for (size_t i = 0; i < n; i++) {
		reqs[i]->result = r;
		reqs[i]->index = index[i];
		snprintf(reqs[i]->detail, sizeof(reqs[i]->detail), "%s", chain_last_detail());
	}
}

static int evm_entry_get(struct chain *base, uint64_t tx_seq, struct chain_entry *ret);

static int evm_submit(struct chain *base, const struct chain_submission *sub,
		      struct chain_entry *ret_entry)
{
	struct chain_evm *c = to_evm(base);
	struct evm_req q = {.sub = sub};
	uint8_t root[CODEC_HASH_SIZE];

	chain_clear_detail();
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	if (chain_submission_check(sub, &q.sectors) < 0)
		return -CHAIN_EINVALID_SUBMISSION;
	if (chain_market_fee(q.sectors, c->price, &q.fee) < 0 ||
	    q.fee > UINT64_MAX / CHAIN_EVM_BATCH_MAX)
		return -EOVERFLOW;
	chain_submission_roots(sub, root, q.digest);

	pthread_mutex_lock(&c->qmu);
	*c->qtail = &q;
	c->qtail = &q.next;
	while (!q.done) {
		struct evm_req *batch[CHAIN_EVM_BATCH_MAX];
		size_t n = 0;

		if (c->busy) {
			pthread_cond_wait(&c->qcv, &c->qmu);
			continue;
		}
		c->busy = true;
		while (c->qhead && n < CHAIN_EVM_BATCH_MAX) {
			batch[n++] = c->qhead;
			c->qhead = c->qhead->next;
		}
		if (!c->qhead)
			c->qtail = &c->qhead;
		pthread_mutex_unlock(&c->qmu);
		run_batch(c, batch, n);
		pthread_mutex_lock(&c->qmu);
		for (size_t i = 0; i < n; i++)
			batch[i]->done = true;
		c->busy = false;
		pthread_cond_broadcast(&c->qcv);
	}
	pthread_mutex_unlock(&c->qmu);
	if (q.result < 0) {
		chain_set_detail("%s", q.detail);
		return q.result;
	}
	return evm_entry_get(base, q.index, ret_entry);
}

/* --- reading ------------------------------------------------------------------------ */

static int evm_entry_get(struct chain *base, uint64_t tx_seq, struct chain_entry *ret)
{
	struct chain_evm *c = to_evm(base);
	char k[9], *err = NULL, *v;
	size_t n;
	int r;

	make_key(k, KEY_ENTRY, tx_seq);
	v = leveldb_get(c->db, c->ropts, k, sizeof(k), &n, &err);
	if (err)
		return ldb_error(err);
	if (!v) {
		bool again;

		/* Not followed yet: read the chain once, at most every few milliseconds. */
		pthread_mutex_lock(&c->mu);
		again = tx_seq >= c->next_seq && ms_since(&c->last_sync) >= CHAIN_EVM_SYNC_MIN_MS;
		pthread_mutex_unlock(&c->mu);
		if (!again || evm_sync(base) < 0)
			return -ENOENT;
		v = leveldb_get(c->db, c->ropts, k, sizeof(k), &n, &err);
		if (err)
			return ldb_error(err);
		if (!v)
			return -ENOENT;
	}
	{
		struct chain_entry *e = malloc(sizeof(*e));

		r = e ? chain_entry_decode((const uint8_t *)v, n, e) : -ENOMEM;
		if (r == 0)
			*ret = *e;
		free(e);
	}
	leveldb_free(v);
	return r == -CHAIN_ETAMPERED ? -EIO : r;
}

static int evm_flow_info(struct chain *base, struct chain_flow *ret)
{
	struct chain_evm *c = to_evm(base);
	struct chain_flow f;

	memset(&f, 0, sizeof(f));
	pthread_mutex_lock(&c->mu);
	f.next_tx_seq = c->next_seq;
	f.length = c->tree.length;
	chain_flowtree_root(&c->tree, f.root);
	f.height = c->head_block;
	memcpy(f.head, c->head_hash, CODEC_HASH_SIZE);
	pthread_mutex_unlock(&c->mu);
	f.chain_id = c->chain_id;
	f.price_per_sector = c->price;
	memcpy(f.contract, c->flow, CHAIN_ADDRESS_SIZE);
	memcpy(f.market, c->market, CHAIN_ADDRESS_SIZE);
	memcpy(f.registry, c->registry, CHAIN_ADDRESS_SIZE);
	*ret = f;
	return 0;
}

static int evm_account_balance(struct chain *base, const uint8_t address[CHAIN_ADDRESS_SIZE],
			       uint64_t *ret_balance)
{
	struct chain_evm *c = to_evm(base);
	uint8_t bal[32];
	int r = chain_evm_rpc_balance(c->rpc, address, bal);

	if (r < 0)
		return rpc_fault(c, r, &(struct chain_evm_rpc_fault){0}, "a balance");
	*ret_balance = chain_evm_u256_saturate(bal);
	return 0;
}

static int evm_account(struct chain *base, uint8_t ret_address[CHAIN_ADDRESS_SIZE],
		       uint64_t *ret_balance)
{
	struct chain_evm *c = to_evm(base);
	uint8_t bal[32];
	int r;

	chain_clear_detail();
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	r = chain_evm_rpc_balance(c->rpc, c->key.address, bal);
	if (r < 0)
		return rpc_fault(c, r, &(struct chain_evm_rpc_fault){0}, "the account's balance");
	memcpy(ret_address, c->key.address, CHAIN_ADDRESS_SIZE);
	*ret_balance = chain_evm_u256_saturate(bal);
	return 0;
}

/* The return data is at most what res was initialised for (64 KiB here). */
int chain_evm_view_raw(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE],
		       const struct chain_wbuf *in, const char *what, struct chain_wbuf *res)
{
	struct chain_evm_rpc_fault fault = {0};
	int r = in->err;

	if (r == 0)
		r = chain_evm_rpc_eth_call(
		    c->rpc, &(struct chain_evm_call){NULL, to, NULL, in->data, in->len}, res,
		    &fault);
	return r < 0 ? rpc_fault(c, r, &fault, what) : 0;
}

int chain_evm_view(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE], const char *sig,
		   bool has_arg, uint64_t arg, uint8_t *out, size_t words)
{
	struct chain_wbuf in, res;
	int r;

	chain_wbuf_init(&in, 64);
	chain_wbuf_init(&res, 4096);
	if (has_arg)
		chain_abi_encode_call_u64(sig, arg, &in);
	else
		chain_abi_encode_call0(sig, &in);
	r = chain_evm_view_raw(c, to, &in, sig, &res);
	if (r == 0 && res.len < words * 32) {
		chain_set_detail("%s returned %zu bytes", sig, res.len);
		r = -EBADMSG;
	} else if (r == 0) {
		memcpy(out, res.data, words * 32);
	}
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	return r;
}

/* A view of the Market. */
static int market_call(struct chain_evm *c, const char *sig, bool has_arg, uint64_t arg,
		       uint8_t *out, size_t words)
{
	return chain_evm_view(c, c->market, sig, has_arg, arg, out, words);
}

int chain_evm_send(struct chain_evm *c, const uint8_t to[CHAIN_ADDRESS_SIZE], uint64_t value,
		   const uint8_t *data, size_t len, chain_evm_log_fn *fn, void *ctx)
{
	struct sent s;
	int r;

	pthread_mutex_lock(&c->qmu);
	while (c->busy)
		pthread_cond_wait(&c->qcv, &c->qmu);
	c->busy = true;
	pthread_mutex_unlock(&c->qmu);
	r = send_tx(c, to, value, data, len, fn, ctx, &s);
	pthread_mutex_lock(&c->qmu);
	c->busy = false;
	pthread_cond_broadcast(&c->qcv);
	pthread_mutex_unlock(&c->qmu);
	return r;
}

static int evm_donate(struct chain *base, uint64_t amount)
{
	struct chain_evm *c = to_evm(base);
	uint8_t data[4];

	chain_clear_detail();
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	chain_abi_selector("donate()", data);
	return chain_evm_send(c, c->market, amount, data, sizeof(data), NULL, NULL);
}

static int evm_donations(struct chain *base, uint64_t *ret_balance)
{
	uint8_t w[32];
	int r = market_call(to_evm(base), "donations()", false, 0, w, 1);

	if (r == 0)
		*ret_balance = chain_evm_u256_saturate(w);
	return r;
}

static int evm_pools(struct chain *base, struct chain_pool *pools, size_t max, size_t *ret_n)
{
	struct chain_evm *c = to_evm(base);
	/* A Market with a Mine also answers what was claimed and released (5 words). */
	size_t words = c->has_mine ? 5 : 3;
	uint8_t w[5 * 32] = {0};
	uint64_t count;
	size_t i;
	int r;

	r = market_call(c, "poolCount()", false, 0, w, 1);
	if (r < 0)
		return r;
	count = chain_evm_u256_saturate(w);
	for (i = 0; i < max && i < count; i++) {
		r = market_call(c, "pools(uint256)", true, i, w, words);
		if (r < 0)
			return r;
		pools[i] = (struct chain_pool){.index = i,
					       .balance = chain_evm_u256_saturate(w),
					       .claimed = chain_evm_u256_saturate(w + 3 * 32),
					       .released = chain_evm_u256_saturate(w + 4 * 32),
					       .full = w[95] != 0};
	}
	*ret_n = i;
	return 0;
}

/* A view of the Flow returning one word. */
static int flow_word(struct chain_evm *c, const char *sig, uint8_t out[32])
{
	return chain_evm_view(c, c->flow, sig, false, 0, out, 1);
}

/* Whether stored entry e is what the Flow rules make of its submission when appended to t
 * (which it then is). sub is scratch. */
static bool replays(struct chain_flowtree *t, const struct chain_entry *e,
		    struct chain_submission *sub)
{
	struct chain_placement p;
	uint8_t root[CODEC_HASH_SIZE], digest[CODEC_HASH_SIZE];
	uint64_t sectors;

	sub->length = e->length;
	sub->tags_len = e->tags_len;
	memcpy(sub->tags, e->tags, e->tags_len);
	sub->nnodes = e->nnodes;
	memcpy(sub->nodes, e->nodes, e->nnodes * sizeof(e->nodes[0]));
	if (chain_submission_check(sub, &sectors) < 0 ||
	    chain_flowtree_place(t, sub->nodes[0].height, sectors, &p) < 0)
		return false;
	chain_submission_roots(sub, root, digest);
	if (p.start != e->start || sectors != e->sectors ||
	    memcmp(root, e->root, CODEC_HASH_SIZE) != 0)
		return false;
	chain_flowtree_append(t, &p, sub);
	return true;
}

/*
 * Replays every followed entry through chain/flow.c from an empty flow, checks each
 * stored entry against it, and compares the result with what the contract says now:
 * numSubmissions(), flowLength(), flowRoot(). The node and the chain agree when they
 * match (once the follower has caught up, which this does first).
 */
static int evm_verify(struct chain *base, chain_progress_fn *fn, void *ctx,
		      struct chain_verify_report *ret)
{
	struct chain_evm *c = to_evm(base);
	struct chain_verify_report rep = {0};
	struct chain_flowtree t;
	struct chain_entry *e = malloc(sizeof(*e));
	struct chain_submission *sub = malloc(sizeof(*sub));
	uint8_t w[32], root[CODEC_HASH_SIZE];
	uint64_t next, n;
	int r;

	if (!e || !sub) {
		free(e);
		free(sub);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->sync_mu);
	r = sync_locked(c);
	if (r < 0)
		goto out;
	chain_flowtree_init(&t);
	pthread_mutex_lock(&c->mu);
	next = c->next_seq;
	rep.blocks = c->scanned;
	pthread_mutex_unlock(&c->mu);
	for (uint64_t seq = 0; seq < next; seq++) {
		r = evm_entry_get(base, seq, e);
		if (r < 0) {
			snprintf(rep.reason, sizeof(rep.reason), "entry %llu cannot be read",
				 (unsigned long long)seq);
			rep.bad_block = rep.blocks;
			r = -CHAIN_ETAMPERED;
			break;
		}
		if (e->tx_seq != seq || !replays(&t, e, sub)) {
			snprintf(rep.reason, sizeof(rep.reason),
				 "entry %llu does not replay as stored", (unsigned long long)seq);
			rep.bad_block = e->block;
			r = -CHAIN_ETAMPERED;
			break;
		}
		rep.entries++;
		if (fn)
			fn(ctx, seq + 1, next);
	}
	if (r < 0)
		goto out;
	chain_flowtree_root(&t, root);
	r = flow_word(c, "numSubmissions()", w);
	if (r == 0 && (n = chain_evm_u256_saturate(w)) != next) {
		snprintf(rep.reason, sizeof(rep.reason),
			 "the contract has %llu submissions, the node followed %llu",
			 (unsigned long long)n, (unsigned long long)next);
		r = -CHAIN_ETAMPERED;
	}
	if (r == 0)
		r = flow_word(c, "flowLength()", w);
	if (r == 0 && chain_evm_u256_saturate(w) != t.length) {
		snprintf(rep.reason, sizeof(rep.reason),
			 "the contract's flow length is %llu, the node's %llu",
			 (unsigned long long)chain_evm_u256_saturate(w),
			 (unsigned long long)t.length);
		r = -CHAIN_ETAMPERED;
	}
	if (r == 0)
		r = flow_word(c, "flowRoot()", w);
	if (r == 0 && memcmp(w, root, CODEC_HASH_SIZE) != 0) {
		snprintf(rep.reason, sizeof(rep.reason),
			 "the contract's flow root differs from the node's");
		r = -CHAIN_ETAMPERED;
	}
	if (r == -CHAIN_ETAMPERED && !rep.bad_block)
		rep.bad_block = rep.blocks;
out:
	pthread_mutex_unlock(&c->sync_mu);
	free(e);
	free(sub);
	if (r == 0 || r == -CHAIN_ETAMPERED)
		*ret = rep;
	return r;
}

/* --- the node registry ---------------------------------------------------------------- */

static int no_registry(struct chain_evm *c)
{
	char a[43];

	addr_hex(c->flow, a);
	chain_set_detail("the Flow %s names no node registry (deployed without one)", a);
	return -ENOTSUP;
}

/*
 * Which registry the Flow names, and its policy (both fixed at deployment). A Flow that
 * has no registry() at all (deployed before there was one) reverts or answers nothing:
 * that is no registry, not an error; an endpoint that does not answer is one.
 */
static int registry_load(struct chain_evm *c)
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	struct chain_wbuf in, res;
	uint8_t w[32];
	int r = flow_word(c, "registry()", w);

	if (r == -CHAIN_EREVERTED || r == -EBADMSG ||
	    (r == 0 && chain_abi_word_address(w, c->registry) < 0)) {
		chain_clear_detail();
		memset(c->registry, 0, sizeof(c->registry));
		return 0;
	}
	if (r < 0)
		return r;
	c->has_registry = memcmp(c->registry, zero, CHAIN_ADDRESS_SIZE) != 0;
	if (!c->has_registry)
		return 0;
	chain_wbuf_init(&in, 64);
	chain_wbuf_init(&res, 4096);
	chain_abi_encode_call0("policy()", &in);
	r = chain_evm_view_raw(c, c->registry, &in, "policy()", &res);
	if (r == 0 && chain_registry_decode_policy(res.data, res.len, &c->policy) < 0) {
		chain_set_detail("the registry's policy() answers no policy");
		r = -EBADMSG;
	}
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	return r;
}

static int evm_registry_policy(struct chain *base, struct chain_policy *ret_policy)
{
	struct chain_evm *c = to_evm(base);

	if (!c->has_registry)
		return no_registry(c);
	*ret_policy = c->policy;
	return 0;
}

static int evm_registry_register(struct chain *base, const char *url, uint64_t shard_id,
				 uint64_t num_shard, const uint8_t *replaces, uint64_t *ret_index)
{
	struct chain_evm *c = to_evm(base);
	struct chain_wbuf w, res;
	int r;

	if (!c->has_registry)
		return no_registry(c);
	if (!c->has_key)
		return -CHAIN_ENOKEY;
	chain_wbuf_init(&w, 1024);
	chain_wbuf_init(&res, 4096);
	chain_registry_encode_register(url, shard_id, num_shard, replaces, &w);
	r = w.err ? w.err : chain_evm_send(c, c->registry, 0, w.data, w.len, NULL, NULL);
	if (r == 0) {
		w.len = 0;
		chain_registry_encode_index_of(c->key.address, &w);
		r = chain_evm_view_raw(c, c->registry, &w, "indexOf(address)", &res);
	}
	if (r == 0 && chain_abi_decode_u64(res.data, res.len, ret_index) < 0) {
		chain_set_detail("the registry's indexOf() answers no index");
		r = -EBADMSG;
	}
	chain_wbuf_release(&w);
	chain_wbuf_release(&res);
	return r;
}

static int evm_registry_nodes(struct chain *base, struct chain_node *nodes, size_t max,
			      size_t *ret_n)
{
	struct chain_evm *c = to_evm(base);
	struct chain_wbuf in, res;
	uint8_t w[32];
	uint64_t count;
	size_t i;
	int r;

	if (!c->has_registry)
		return no_registry(c);
	r = chain_evm_view(c, c->registry, "nodeCount()", false, 0, w, 1);
	if (r < 0)
		return r;
	count = chain_evm_u256_saturate(w);
	chain_wbuf_init(&in, 64);
	chain_wbuf_init(&res, 4096);
	for (i = 0; r == 0 && i < max && i < count; i++) {
		in.len = res.len = 0;
		chain_abi_encode_call_u64(CHAIN_REGISTRY_SIG_NODE, i, &in);
		r = chain_evm_view_raw(c, c->registry, &in, CHAIN_REGISTRY_SIG_NODE, &res);
		if (r == 0 && chain_registry_decode_node(res.data, res.len, &nodes[i]) < 0) {
			chain_set_detail("the registry's node(%zu) answers no node entry", i);
			r = -EBADMSG;
		}
	}
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	if (r == 0)
		*ret_n = i;
	return r;
}

/* --- open, close, deploy ------------------------------------------------------------ */

static void evm_close(struct chain *base)
{
	struct chain_evm *c = to_evm(base);

	sys_ldb_close(&(struct sys_ldb){
	    .db = c->db, .opts = c->opts, .ro = c->ropts, .wo_lazy = c->wopts});
	chain_evm_rpc_close(c->rpc);
	chain_evm_key_wipe(&c->key);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->sync_mu);
	pthread_mutex_destroy(&c->qmu);
	pthread_cond_destroy(&c->qcv);
	free(c);
}

/* The endpoint, the key and the chain id: what open and deploy share. */
static int connect_chain(const struct chain_evm_config *cfg, struct chain_evm **ret)
{
	struct chain_evm *c;
	int r;

	if (!cfg || !cfg->rpc_url || strlen(cfg->rpc_url) >= sizeof(c->url))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base.ops = &evm_ops;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->sync_mu, NULL);
	pthread_mutex_init(&c->qmu, NULL);
	pthread_cond_init(&c->qcv, NULL);
	c->qtail = &c->qhead;
	chain_abi_topic(CHAIN_ABI_SIG_SUBMIT_EVENT, c->topic);
	snprintf(c->url, sizeof(c->url), "%s", cfg->rpc_url);
	c->confirmations = cfg->confirmations;
	r = 0;
	if (cfg->key_hex) {
		r = chain_evm_key_from_hex(cfg->key_hex, &c->key);
		if (r < 0)
			chain_set_detail("ZGFS_KEY is not a secp256k1 secret key in hex");
	} else if (cfg->key_file) {
		r = chain_evm_key_load(cfg->key_file, &c->key);
		if (r == -EPERM)
			chain_set_detail("%s can be read by others: chmod 600 it", cfg->key_file);
		else if (r < 0)
			chain_set_detail("cannot load the key %s", cfg->key_file);
	}
	c->has_key = r == 0 && (cfg->key_hex || cfg->key_file);
	if (r == 0)
		r = chain_evm_rpc_open(c->url, NULL, &c->rpc);
	if (r == 0) {
		r = chain_evm_rpc_chain_id(c->rpc, &c->chain_id);
		if (r < 0)
			chain_set_detail("%s", chain_evm_rpc_error(c->rpc));
	}
	if (r == 0 && cfg->chain_id && cfg->chain_id != c->chain_id) {
		chain_set_detail("%s is chain %llu, not %llu", c->url,
				 (unsigned long long)c->chain_id,
				 (unsigned long long)cfg->chain_id);
		r = -EEXIST;
	}
	if (r < 0) {
		evm_close(&c->base);
		return r;
	}
	*ret = c;
	return 0;
}

int chain_evm_open(const char *dir, const struct chain_evm_config *cfg, struct chain **ret_chain)
{
	struct chain_evm *c = NULL;
	uint8_t w[32];
	int r;

	chain_clear_detail();
	if (!dir || !ret_chain)
		return -EINVAL;
	r = connect_chain(cfg, &c);
	if (r < 0)
		return r;
	memcpy(c->flow, cfg->flow, CHAIN_ADDRESS_SIZE);
	c->from_block = cfg->from_block;
	/* The market and its price never change after deployment. */
	r = flow_word(c, "market()", w);
	if (r == 0 && chain_abi_word_address(w, c->market) < 0)
		r = -EBADMSG;
	if (r == 0) {
		r = market_call(c, "pricePerSector()", false, 0, w, 1);
		c->price = chain_evm_u256_saturate(w);
	}
	if (r == 0)
		r = registry_load(c);
	if (r == 0)
		r = chain_evm_pora_load(c);
	if (r < 0) {
		char a[43], why[512];

		snprintf(why, sizeof(why), "%s", chain_last_detail());
		addr_hex(cfg->flow, a);
		chain_set_detail("no zgfs Flow contract answers at %s on %s: %s", a, c->url, why);
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	{
		struct sys_ldb ldb;
		char why[256];

		r = sys_ldb_open(dir, &(struct sys_ldb_config){.create = true}, &ldb, why,
				 sizeof(why));
		if (r < 0) {
			chain_set_detail("follower database: %s", why);
			goto fail;
		}
		/* What the follower writes is re-read from the chain after a crash: no sync. */
		c->db = ldb.db;
		c->opts = ldb.opts;
		c->ropts = ldb.ro;
		c->wopts = ldb.wo_lazy;
		leveldb_writeoptions_destroy(ldb.wo);
	}
	chain_flowtree_init(&c->tree);
	c->scanned = c->from_block ? c->from_block - 1 : 0;
	r = state_load(c);
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = evm_sync(&c->base);
	if (r < 0)
		goto fail;
	*ret_chain = &c->base;
	return 0;
fail:
	evm_close(&c->base);
	return r;
}

/* Creates a contract: hex creation code (chain/contracts_i.h) followed by n constructor
 * words. Returns 0 and the new contract's address and block. */
static int create(struct chain_evm *c, const char *hex, const uint8_t *words, size_t n,
		  uint8_t ret_address[CHAIN_ADDRESS_SIZE], uint64_t *ret_block)
{
	size_t hexlen = strlen(hex);
	uint8_t *code = malloc(hexlen / 2 + 1);
	struct chain_wbuf w;
	struct sent s;
	int r;

	chain_wbuf_init(&w, CHAIN_EVM_TX_MAX);
	r = code ? codec_hex_decode(hex, code, hexlen / 2) : -ENOMEM;
	if (r == 0) {
		chain_abi_encode_create(code, hexlen / 2, words, n, &w);
		r = w.err;
	}
	free(code);
	if (r == 0)
		r = send_tx(c, NULL, 0, w.data, w.len, NULL, NULL, &s);
	chain_wbuf_release(&w);
	if (r == 0 && !s.receipt.has_contract) {
		chain_set_detail("the deployment's receipt names no contract");
		r = -EPROTO;
	}
	if (r == 0) {
		memcpy(ret_address, s.receipt.contract, CHAIN_ADDRESS_SIZE);
		*ret_block = s.receipt.block;
	}
	return r;
}

/* The DA contract with its parameters, then Market.setDA (docs/DA.md). */
static int deploy_da(struct chain_evm *c, const struct chain_da_config *da, uint8_t ret[20])
{
	uint8_t words[7][32], call[4 + 32];
	uint64_t block;
	struct sent s;
	int r;

	chain_abi_put_u64(words[0], da->epoch_blocks);
	chain_abi_put_u64(words[1], da->stake_unit);
	chain_abi_put_u64(words[2], da->min_stake);
	chain_abi_put_u64(words[3], da->slots);
	chain_abi_put_u64(words[4], da->sample_blocks);
	chain_abi_put_u64(words[5], da->sample_window);
	chain_abi_put_u64(words[6], da->fee_per_kib);
	r = create(c, chain_evm_da_bytecode, words[0], 7, ret, &block);
	if (r < 0)
		return r;
	chain_abi_selector("setDA(address)", call);
	chain_abi_put_address(call + 4, ret);
	return send_tx(c, c->market, 0, call, sizeof(call), NULL, NULL, &s);
}

int chain_evm_deploy(const struct chain_evm_config *cfg, uint64_t price_per_sector,
		     const struct chain_policy *policy, const struct chain_pora_params *pora,
		     const struct chain_da_config *da, struct chain_evm_deployment *ret)
{
	static const struct chain_policy none = {0, 0};
	static const struct chain_pora_params defaults = CHAIN_PORA_DEFAULTS;
	static const struct chain_da_config da_defaults = CHAIN_DA_DEFAULTS;
	struct chain_evm *c = NULL;
	uint8_t words[3][32], word[32], call[4 + 2 * 32];
	uint64_t block;
	int r;

	chain_clear_detail();
	if (!ret)
		return -EINVAL;
	if (!policy)
		policy = &none;
	r = chain_policy_check(policy);
	if (r < 0)
		return r;
	if (!pora)
		pora = &defaults;
	r = chain_pora_params_check(pora);
	if (r < 0) {
		chain_set_detail("mining parameters out of range (difficulty >= 1, epoch blocks "
				 ">= 2, target answers 1 to %d)",
				 CHAIN_PORA_TARGET_ANSWERS_MAX);
		return r;
	}
	if (!da)
		da = &da_defaults;
	if (da->epoch_blocks < 1 || da->stake_unit < 1 || da->slots < 1 ||
	    da->slots > CHAIN_DA_SLOTS_MAX || da->sample_blocks < 1 || da->sample_window < 1) {
		chain_set_detail("DA parameters out of range (epoch blocks >= 1, stake unit >= 1, "
				 "slots 1 to 64, sample blocks and window >= 1)");
		return -EINVAL;
	}
	if (strlen(chain_evm_flow_bytecode) % 2 || !chain_evm_flow_bytecode[0] ||
	    strlen(chain_evm_da_bytecode) % 2 || !chain_evm_da_bytecode[0] ||
	    strlen(chain_evm_mine_bytecode) % 2 || !chain_evm_mine_bytecode[0] ||
	    strlen(chain_evm_registry_bytecode) % 2 || !chain_evm_registry_bytecode[0]) {
		chain_set_detail("this build has no contract bytecode; run ./setup.sh");
		return -ENOTSUP;
	}
	r = connect_chain(cfg, &c);
	if (r < 0)
		return r;
	/* The registry first, so that the Flow can name it (immutable, like the market). */
	chain_abi_put_u64(words[0], policy->ec_k);
	chain_abi_put_u64(words[1], policy->ec_m);
	r = create(c, chain_evm_registry_bytecode, words[0], 2, ret->registry, &block);
	if (r == 0) {
		chain_abi_put_u64(words[0], price_per_sector);
		chain_abi_put_address(words[1], ret->registry);
		chain_abi_put_u64(words[2], pora->epoch_blocks);
		r = create(c, chain_evm_flow_bytecode, words[0], 3, c->flow, &block);
	}
	if (r == 0)
		r = flow_word(c, "market()", word);
	if (r == 0 && chain_abi_word_address(word, ret->market) < 0)
		r = -EBADMSG;
	/* The Mine after the Flow (it reads the epochs), then the Market learns it. */
	if (r == 0) {
		uint64_t mine_block;

		chain_abi_put_address(words[0], c->flow);
		chain_abi_put_u64(words[1], pora->difficulty);
		chain_abi_put_u64(words[2], pora->target_answers);
		r = create(c, chain_evm_mine_bytecode, words[0], 3, ret->mine, &mine_block);
	}
	if (r == 0) {
		struct sent s;

		memcpy(c->market, ret->market, CHAIN_ADDRESS_SIZE);
		chain_abi_selector("setMine(address,uint256)", call);
		chain_abi_put_address(call + 4, ret->mine);
		chain_abi_put_u64(call + 4 + 32, pora->base_reward);
		r = send_tx(c, c->market, 0, call, sizeof(call), NULL, NULL, &s);
	}
	if (r == 0)
		r = deploy_da(c, da, ret->da);
	if (r == 0) {
		memcpy(ret->flow, c->flow, CHAIN_ADDRESS_SIZE);
		ret->policy = *policy;
		ret->block = block;
		ret->chain_id = c->chain_id;
		ret->price_per_sector = price_per_sector;
		/* Deep enough, as the node will want it. */
		for (unsigned i = 0; c->confirmations && i < CHAIN_EVM_WAIT_ROUNDS; i++) {
			uint64_t head;

			if (chain_evm_rpc_block_number(c->rpc, &head) == 0 &&
			    head >= block + c->confirmations)
				break;
			sys_sleep_ms(200);
		}
	}
	evm_close(&c->base);
	return r;
}

/* --- the data directory's record ---------------------------------------------------- */

static int parse_address(const char *s, uint8_t out[CHAIN_ADDRESS_SIZE])
{
	if (!s || strlen(s) != 42)
		return -EINVAL;
	return codec_hex_decode(s, out, CHAIN_ADDRESS_SIZE) < 0 ? -EINVAL : 0;
}

int chain_evm_record_load(const char *data_dir, struct chain_evm_record *ret)
{
	char path[4096];
	json_error_t jerr;
	json_t *o;
	struct chain_evm_record rec = {0};
	const char *rpc = NULL, *flow = NULL, *market = NULL, *registry = NULL;
	json_int_t chain_id = 0, block = 0, conf = 0;
	int r = 0;

	chain_clear_detail();
	if (!data_dir || !ret)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/chain.json", data_dir);
	o = json_load_file(path, 0, &jerr);
	if (!o) {
		if (access(path, F_OK) < 0)
			return -ENOENT;
		chain_set_detail("%s: %s (line %d)", path, jerr.text, jerr.line);
		return -EINVAL;
	}
	if (json_unpack_ex(o, &jerr, 0, "{s:s, s:I, s:s, s:s, s:I, s?I, s?s}", "rpc", &rpc,
			   "chain_id", &chain_id, "flow", &flow, "market", &market, "block", &block,
			   "confirmations", &conf, "registry", &registry) < 0 ||
	    strlen(rpc) >= sizeof(rec.rpc) || chain_id < 0 || block < 0 || conf < 0 ||
	    conf > 1000 || parse_address(flow, rec.flow) < 0 ||
	    parse_address(market, rec.market) < 0 ||
	    (registry && parse_address(registry, rec.registry) < 0)) {
		chain_set_detail("%s is not a chain record (rpc, chain_id, flow, market, block)",
				 path);
		r = -EINVAL;
	} else {
		snprintf(rec.rpc, sizeof(rec.rpc), "%s", rpc);
		rec.chain_id = (uint64_t)chain_id;
		rec.block = (uint64_t)block;
		rec.confirmations = (unsigned)conf;
		*ret = rec;
	}
	json_decref(o);
	return r;
}

int chain_evm_record_save(const char *data_dir, const struct chain_evm_record *rec)
{
	char path[4096], tmp[4200], flow[43], market[43], registry[43];
	json_t *o;
	FILE *f;
	int r = 0, fd;

	if (!data_dir || !rec)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/chain.json", data_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	addr_hex(rec->flow, flow);
	addr_hex(rec->market, market);
	addr_hex(rec->registry, registry);
	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I}", "rpc", rec->rpc, "chain_id",
		      (json_int_t)rec->chain_id, "flow", flow, "market", market, "registry",
		      registry, "block", (json_int_t)rec->block, "confirmations",
		      (json_int_t)rec->confirmations);
	if (!o)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		r = -errno;
		if (fd >= 0)
			close(fd);
	} else {
		if (json_dumpf(o, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF ||
		    fflush(f) != 0 || fdatasync(fileno(f)) < 0)
			r = -errno ? -errno : -EIO;
		if (fclose(f) != 0 && r == 0)
			r = -errno;
		if (r == 0 && rename(tmp, path) < 0)
			r = -errno;
		if (r < 0)
			unlink(tmp);
	}
	json_decref(o);
	return r;
}

static const struct chain_ops evm_ops = {
    .close = evm_close,
    .submit = evm_submit,
    .entry_get = evm_entry_get,
    .flow_info = evm_flow_info,
    .account = evm_account,
    .donate = evm_donate,
    .donations = evm_donations,
    .pools = evm_pools,
    .verify = evm_verify,
    .sync = evm_sync,
    .registry_policy = evm_registry_policy,
    .registry_register = evm_registry_register,
    .registry_nodes = evm_registry_nodes,
    .da_contract = chain_evm_da_contract,
    .da_register = chain_evm_da_register,
    .da_signers = chain_evm_da_signers,
    .da_seed = chain_evm_da_seed,
    .da_make_seed = chain_evm_da_make_seed,
    .da_publish = chain_evm_da_publish,
    .da_certify = chain_evm_da_certify,
    .da_certificate = chain_evm_da_certificate,
    .da_void = chain_evm_da_void,
    .da_make_sample_seed = chain_evm_da_make_sample_seed,
    .da_challenge = chain_evm_da_challenge,
    .da_answer = chain_evm_da_answer,
    .da_earned = chain_evm_da_earned,
    .sign_digest = chain_evm_sign_digest,
    .account_balance = evm_account_balance,
    .pora_info = chain_evm_pora_info,
    .pora_register = chain_evm_pora_register,
    .pora_miner = chain_evm_pora_miner,
    .pora_miner_of = chain_evm_pora_miner_of,
    .pora_contexts = chain_evm_pora_contexts,
    .pora_tick = chain_evm_pora_tick,
    .pora_submit = chain_evm_pora_submit,
};
