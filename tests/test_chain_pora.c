/*
 * PoRA on the embedded ledger (chain/pora.c through chain.h): a miner written here from
 * docs/PORA.md seals a small flow, mines it at difficulty 1 and submits answers. Every
 * answer it finds is accepted and paid to the wei; each check of Mine.sol's submit refuses
 * its own forged answer with its own code and changes nothing; data the miner corrupted
 * earns nothing; chain_verify() re-verifies every answer on replay, also after reopening;
 * the difficulty update converges on the target answers per epoch.
 * With --evm URL (and the deployer's key in ZGFS_KEY) the same miner runs against the
 * Flow, Market and Mine contracts deployed there (tests/compat/pora_evm.js starts anvil):
 * the same answers are accepted, the same forgeries refused with the same codes, and the
 * wei add up on the chain's own balances.
 * Usage: test_chain_pora [--epochs N] [--evm URL]   (the convergence simulation: N epochs,
 * default 400)
 */
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/chain.h"
#include "codec/keccak.h"
#include "codec/merkle.h"
#include "codec/pora.h"
#include "tests/flat_dir.h"
#include "tests/tap.h"

#define FLOW_SECTORS 4096 /* placeholder + gap to 2048, then one 512 KiB entry */
#define ENTRY_BYTES  (2048 * 256)
#define BASE_REWARD  1000ULL
#define DONATION     100000ULL
#define TARGET	     4 /* answers per epoch; the cap is 8 */
#define EPOCH_BLOCKS 16
#define EVM_PRICE    1000000000ULL /* wei per sector: pool 0 releases ~65,000 wei a second */

static uint8_t sk[64], pk[32];
static char dir[64];
static const char *evm_url;		 /* NULL: the embedded ledger */
static uint8_t flow[FLOW_SECTORS * 256]; /* the miner's copy of the flow's bytes */
static uint8_t leaves[FLOW_SECTORS][32];

/* Ends the run after a failure that leaves nothing to test. */
__attribute__((noreturn)) static void give_up(const char *why)
{
	diag("%s", why);
	exit(tap_done() ? tap_done() : 1);
}

/* The pool-share part appends an 8 GiB entry nobody has the bytes of (the chain needs
 * only its root) at 2^25, after a zero gap from FLOW_SECTORS: the flow is then 2^26
 * sectors and pricing segment 0 is full. */
#define BIG_START CODEC_PORA_PRICING_SECTORS
static uint8_t big_root[32];
static uint64_t flow_end = FLOW_SECTORS;

/* Root of flow node (level k, index i) over the true bytes (leaves), 0G rule; beyond the
 * bytes: zero subtrees over the gap, big_root for the 8 GiB entry. */
static void node_root(unsigned k, uint64_t i, uint8_t out[32])
{
	uint64_t lo = i << k, hi = (i + 1) << k;
	uint8_t l[32], r[32];

	if (hi > flow_end)
		hi = flow_end;
	if (hi <= FLOW_SECTORS) {
		codec_root_of_leaves(&leaves[lo][0], (size_t)(hi - lo), out);
		return;
	}
	if (lo == BIG_START && hi == 2 * BIG_START) {
		memcpy(out, big_root, 32);
		return;
	}
	if (lo >= FLOW_SECTORS && hi <= BIG_START) {
		codec_keccak256((const uint8_t[256]){0}, 256, out);
		for (unsigned j = 0; j < k; j++)
			codec_hash_pair(out, out, out);
		return;
	}
	node_root(k - 1, 2 * i, l);
	node_root(k - 1, 2 * i + 1, r);
	codec_hash_pair(l, r, out);
}

/* The load at pos as the miner holds it: false inside the 8 GiB entry. */
static bool load_of(uint64_t pos, uint8_t *load)
{
	if (pos + CODEC_PORA_LOAD_SECTORS <= FLOW_SECTORS)
		memcpy(load, flow + pos * 256, CODEC_PORA_LOAD_SIZE);
	else if (pos >= FLOW_SECTORS && pos + CODEC_PORA_LOAD_SECTORS <= BIG_START)
		memset(load, 0, CODEC_PORA_LOAD_SIZE);
	else
		return false;
	return true;
}

struct miner {
	uint8_t id[32], beneficiary[20];
	uint8_t seal_ctx[32];  /* the epoch range holding the entry */
	uint8_t seal_ctx2[32]; /* the one holding the gap, once there is one */
	uint64_t next_nonce;
};

/* Find the next answer at the current context: the first nonce whose load has a unit
 * meeting the target. Sealed data is computed from `flow` (which a test may corrupt); the
 * proof always comes from the true tree, as a forger would have it. */
static int mine(struct chain *c, struct miner *m, struct chain_pora_answer *ret)
{
	static uint8_t pad[CODEC_PORA_PAD_SIZE], load[CODEC_PORA_LOAD_SIZE];
	struct chain_pora_info info;
	struct chain_pora_answer a;
	struct chain_flow_node nodes[CHAIN_PORA_PROOF_MAX];
	uint8_t range_digest[32], pad_seed[64], recall_seed[32], q[64][32], scale[32], bound[32];
	uint64_t pos;
	size_t n;
	int r;

	if ((r = chain_pora_info(c, &info)) < 0)
		return r;
	memset(&a, 0, sizeof(a));
	memcpy(a.context, info.context, 32);
	memcpy(a.miner_id, m->id, 32);
	if ((r = codec_pora_range_make(info.flow_length, 0, 0, 1, &a.range)) < 0)
		return r;
	codec_pora_range_digest(&a.range, range_digest);
	codec_pora_scale_x64(info.flow_length, a.range.shard_mask, scale);
	codec_pora_target_bound(info.target, scale, bound);
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t nonce = m->next_nonce++;

		memset(a.nonce, 0, 32);
		memcpy(a.nonce, &nonce, sizeof(nonce));
		codec_pora_pad_seed(a.miner_id, a.nonce, info.subtask_digest, range_digest, pad_seed);
		codec_pora_scratchpad(pad_seed, pad, recall_seed);
		if (codec_pora_recall_position(&a.range, recall_seed, &pos) < 0)
			continue;
		if (!load_of(pos, load))
			continue;
		memcpy(a.sealed_context, pos < FLOW_SECTORS ? m->seal_ctx : m->seal_ctx2, 32);
		codec_seal_units(load, CODEC_PORA_SEALS_PER_LOAD, m->id, a.sealed_context, pos);
		codec_pora_load_qualities(load, UINT64_MAX, pad_seed, pad, q);
		for (unsigned i = 0; i < CODEC_PORA_SEALS_PER_LOAD; i++) {
			if (!codec_pora_meets_target(q[i], bound))
				continue;
			a.seal_offset = i;
			a.recall_position = pos + 16 * i;
			memcpy(a.sealed, load + i * CODEC_SEAL_SIZE, CODEC_SEAL_SIZE);
			chain_pora_proof_nodes(a.recall_position / 16, 4, info.flow_length, nodes, &n);
			a.nproof = n;
			for (size_t j = 0; j < n; j++)
				node_root(nodes[j].level, nodes[j].index, a.proof[j]);
			*ret = a;
			return 0;
		}
	}
	return -EAGAIN;
}

struct snap {
	uint64_t node_balance, miner_balance, donations, height, accepted, paid, answers;
	struct chain_pool pools[2];
	size_t npools;
};

static void take(struct chain *c, const struct miner *m, struct snap *s)
{
	uint8_t addr[20];
	struct chain_pora_info info;

	memset(s, 0, sizeof(*s));
	chain_account(c, addr, &s->node_balance);
	chain_account_balance(c, m->beneficiary, &s->miner_balance);
	chain_donations(c, &s->donations);
	chain_pools(c, s->pools, 2, &s->npools);
	if (chain_pora_info(c, &info) == 0) {
		s->height = info.height;
		s->accepted = info.accepted;
		s->paid = info.paid;
		s->answers = info.epoch_answers;
	}
}

static int refused(struct chain *c, const struct miner *m, const struct chain_pora_answer *a,
		   int want, const char *what)
{
	struct snap before, after;
	uint64_t reward = 12345;
	int r;

	char why[512];

	take(c, m, &before);
	r = chain_pora_submit(c, a, &reward);
	snprintf(why, sizeof(why), "%s", chain_last_detail());
	take(c, m, &after);
	if (r != want)
		diag("%s: got %d (%s: %s), want %d (%s)", what, r, chain_strerror(r), why, want,
		     chain_strerror(want));
	return ok(r == want && reward == 12345 && !memcmp(&before, &after, sizeof(before)),
		  "%s: refused with \"%s\", nothing changed", what, chain_strerror(want));
}

/* Ticks until a new epoch's context exists; returns its epoch. */
static uint64_t next_epoch(struct chain *c)
{
	struct chain_pora_info info;
	uint64_t e;

	chain_pora_info(c, &info);
	e = info.epoch;
	do {
		/* anvil makes a block per transaction: a donation of 1 wei is one */
		if (evm_url)
			chain_donate(c, 1);
		chain_pora_tick(c);
		chain_pora_info(c, &info);
	} while (info.epoch == e);
	return info.epoch;
}

/* The embedded ledger: parameters set by a transaction of their own, once. */
static struct chain *open_local(const struct chain_pora_params *p)
{
	struct chain *c;

	ok(chain_local_open(dir, sk, &c) == 0, "a new ledger opens");
	ok(chain_pora_info(c, &(struct chain_pora_info){0}) == -CHAIN_EPORA_OFF,
	   "before setup: no PoRA");
	ok(chain_pora_setup(c, &(struct chain_pora_params){0, 16, 4, 0}) == -EINVAL,
	   "difficulty 0 is refused");
	ok(chain_pora_setup(c, p) == 0, "mining parameters set");
	ok(chain_pora_setup(c, p) == -EEXIST, "and only once");
	return c;
}

/* An EVM chain: the parameters go with the deployment of the Mine. */
static struct chain *open_evm(const struct chain_pora_params *p)
{
	struct chain_evm_config cfg = {.rpc_url = evm_url, .key_hex = getenv("ZGFS_KEY")};
	struct chain_evm_deployment d;
	struct chain_pora_info info;
	struct chain *c = NULL;
	int r;

	ok(chain_evm_deploy(&cfg, 1, NULL, &(struct chain_pora_params){0, 16, 4, 0}, NULL, &d) ==
	       -EINVAL,
	   "difficulty 0 is refused before anything is deployed");
	r = chain_evm_deploy(&cfg, EVM_PRICE, NULL, p, NULL, &d);
	ok(r == 0, "Registry, Flow, Market and Mine deployed (%s)", r ? chain_last_detail() : "");
	if (r < 0)
		return NULL;
	memcpy(cfg.flow, d.flow, CHAIN_ADDRESS_SIZE);
	cfg.from_block = d.block;
	r = chain_evm_open(dir, &cfg, &c);
	ok(r == 0, "the chain opens (%s)", r ? chain_last_detail() : "");
	if (r < 0)
		return NULL;
	ok(chain_pora_setup(c, p) == -ENOTSUP, "its parameters are the Mine's, fixed at deploy");
	ok(chain_pora_info(c, &info) == 0 && info.params.difficulty == 1 &&
	       info.params.epoch_blocks == EPOCH_BLOCKS && info.params.target_answers == TARGET &&
	       info.params.base_reward == BASE_REWARD,
	   "and read back from the Mine");
	return c;
}

static void setup(struct chain **ret_c, struct miner *m)
{
	struct chain_pora_params p = {1, EPOCH_BLOCKS, TARGET, BASE_REWARD};
	struct chain_submission sub;
	struct codec_merkle mk;
	struct chain_entry e;
	struct chain_pora_context ctx[4];
	struct chain *c;
	size_t n;
	int found = -1;

	c = evm_url ? open_evm(&p) : open_local(&p);
	if (!c)
		give_up("no chain to mine on");
	ok(chain_donate(c, DONATION) == 0, "the donation pool is funded");

	memset(flow, 0, sizeof(flow));
	tap_fill(flow + 2048 * 256, ENTRY_BYTES);
	memset(&sub, 0, sizeof(sub));
	codec_merkle_init(&mk);
	codec_merkle_update(&mk, flow + 2048 * 256, ENTRY_BYTES);
	codec_merkle_finish(&mk, NULL, sub.nodes, &sub.nnodes, NULL);
	codec_merkle_release(&mk);
	sub.length = ENTRY_BYTES;
	ok(chain_submit(c, &sub, &e) == 0 && e.start == 2048, "a 512 KiB entry lands at 2048");
	for (size_t i = 0; i < FLOW_SECTORS; i++)
		codec_keccak256(flow + i * 256, 256, leaves[i]);

	memset(m, 0, sizeof(*m));
	tap_fill(m->beneficiary, 20);
	ok(chain_pora_register(c, 7, m->beneficiary, m->id) == 0, "a miner id is registered");
	{
		uint8_t again[32] = {0}, nobody[20] = {0};

		ok(chain_pora_miner_of(c, m->beneficiary, again) == 0 &&
		       !memcmp(again, m->id, 32) && chain_pora_miner_of(c, nobody, again) == -ENOENT,
		   "and found again by its beneficiary");
	}
	next_epoch(c);
	/* The embedded ledger made its first context with the block after setup, over the
	 * placeholder alone; a Flow makes its first one when epoch 1 starts. */
	n = 0;
	if (chain_pora_contexts(c, 0, ctx, 4, &n) < 0)
		n = 0;
	ok(n == (evm_url ? 1u : 2u), "%zu epoch ranges recorded", n);
	for (size_t i = 0; i < n; i++)
		if (ctx[i].start <= 2048 && ctx[i].end == FLOW_SECTORS)
			found = (int)i;
	ok(found >= 0 && ctx[0].start == 0 && (!evm_url || ctx[0].end == FLOW_SECTORS) &&
	       (evm_url || ctx[0].end == 1),
	   "the newest, from the new epoch's context, ends at %d and holds the entry",
	   FLOW_SECTORS);
	if (found < 0)
		give_up("no seal context for the entry");
	memcpy(m->seal_ctx, ctx[found].digest, 32);
	*ret_c = c;
}

static void test_accept_and_refuse(struct chain *c, struct miner *m)
{
	struct chain_pora_answer a, b;
	struct snap s0, s1;
	uint64_t reward = 0, paid = 0;
	uint8_t nodeaddr[20];
	uint64_t nodebal;
	int accepted = 0, r;

	take(c, m, &s0);
	ok(mine(c, m, &a) == 0, "the miner finds an answer");
	b = a;
	b.sealed[100] ^= 1;
	refused(c, m, &b, -CHAIN_EPORA_MERKLE, "a flipped sealed byte");
	b = a;
	b.seal_offset = (a.seal_offset + 1) % 64;
	refused(c, m, &b, -CHAIN_EPORA_RECALL, "a wrong seal offset");
	b = a;
	b.range.start_position = CODEC_PORA_PRICING_SECTORS;
	refused(c, m, &b, -CHAIN_EPORA_RANGE, "a wrong range");
	b = a;
	b.range.shard_id = 1;
	refused(c, m, &b, -CHAIN_EPORA_RANGE, "a wrong shard");
	b = a;
	tap_fill(b.miner_id, 32);
	refused(c, m, &b, -CHAIN_EPORA_MINER, "an unregistered miner");
	b = a;
	b.sealed_context[0] ^= 1;
	refused(c, m, &b, -CHAIN_EPORA_SEAL_CONTEXT, "a seal context the chain does not know");
	b = a;
	b.nproof--;
	refused(c, m, &b, -CHAIN_EPORA_MERKLE, "a short Merkle proof");
	b = a;
	b.context[5] ^= 1;
	refused(c, m, &b, -CHAIN_EPORA_CONTEXT, "another context");

	r = chain_pora_submit(c, &a, &reward);
	ok(r == 0 && reward == BASE_REWARD, "the answer is accepted and pays the base reward (%d)",
	   r);
	refused(c, m, &a, -CHAIN_EPORA_REPEAT, "the same answer again");
	accepted = 1;
	paid = reward;
	/* Up to the cap of 2 × target answers per epoch, then refused. */
	for (int i = 1; i < 2 * TARGET; i++) {
		if (mine(c, m, &b) < 0 || chain_pora_submit(c, &b, &reward) < 0)
			break;
		accepted++;
		paid += reward;
	}
	ok(accepted == 2 * TARGET, "%d answers accepted in the epoch", accepted);
	ok(mine(c, m, &b) == 0, "one more is found");
	refused(c, m, &b, -CHAIN_EPORA_CAP, "an answer over the epoch cap");

	take(c, m, &s1);
	chain_account(c, nodeaddr, &nodebal);
	(void)nodebal;
	/* On an EVM chain the node's own account pays gas for every answer. */
	ok(s1.miner_balance - s0.miner_balance == paid && paid == accepted * BASE_REWARD &&
	       s0.donations - s1.donations == paid &&
	       (evm_url || s1.node_balance == s0.node_balance) && s1.paid - s0.paid == paid &&
	       s1.accepted - s0.accepted == (uint64_t)accepted,
	   "exact accounting: the beneficiary got %llu, the donation pool gave exactly that",
	   (unsigned long long)paid);

	{
		struct chain_pora_info i0, i1;
		uint8_t want[32];
		uint64_t steps;

		chain_pora_info(c, &i0);
		next_epoch(c);
		chain_pora_info(c, &i1);
		/* The update of the epoch that ended (at its cap), then one with no answers for
		 * each epoch skipped: codec_pora_next_target(), on either backend. */
		memcpy(want, i0.target, 32);
		steps = i1.epoch - i0.epoch;
		for (uint64_t k = 0; k < steps && k < 256; k++)
			codec_pora_next_target(want, TARGET, k == 0 ? i0.epoch_answers : 0,
					       CODEC_PORA_ADJUST_RATIO, 0, want);
		ok(i0.epoch_answers == 2 * TARGET && steps >= 1 && !memcmp(want, i1.target, 32) &&
		       memcmp(i0.target, i1.target, 32) != 0 && i1.epoch_answers == 0,
		   "the new epoch's target is codec_pora_next_target() of the last one's %llu "
		   "answers (%llu step%s)",
		   (unsigned long long)i0.epoch_answers, (unsigned long long)steps,
		   steps == 1 ? "" : "s");
	}
	refused(c, m, &b, -CHAIN_EPORA_CONTEXT, "a stale context (the epoch moved on)");
}

/* Honesty: the miner corrupts the second half of the entry in its copy; over many answers
 * none whose unit lies there is accepted, and the others still are. */
static void test_honesty(struct chain *c, struct miner *m)
{
	struct chain_pora_answer a;
	uint64_t reward;
	int bad_refused = 0, bad_accepted = 0, good = 0, guard = 0;

	tap_fill(flow + 3072 * 256, 1024 * 256);
	while (bad_refused + bad_accepted < 20 && guard++ < 400) {
		int r;

		if (mine(c, m, &a) < 0)
			break;
		if (a.recall_position < 3072) {
			/* a healthy unit: spend it only while the cap leaves room */
			continue;
		}
		r = chain_pora_submit(c, &a, &reward);
		if (r == -CHAIN_EPORA_MERKLE)
			bad_refused++;
		else if (r == 0)
			bad_accepted++;
		else if (r == -CHAIN_EPORA_CAP)
			next_epoch(c);
	}
	ok(bad_refused >= 20 && bad_accepted == 0,
	   "corrupted data: %d answers refused as not proving into the flow root, %d accepted",
	   bad_refused, bad_accepted);
	next_epoch(c);
	for (int i = 0; i < 50 && !good; i++)
		if (mine(c, m, &a) == 0 && a.recall_position < 3072 &&
		    chain_pora_submit(c, &a, &reward) == 0)
			good = 1;
	ok(good, "intact data still earns");
}

/* Pool share: an 8 GiB entry fills pricing segment 0; once its pool has released
 * something, each answer hitting it is paid half of what was released and not claimed,
 * plus the base reward, and the pool, the donations and the beneficiary add up to the
 * wei. */
static void test_pool_share(struct chain *c, struct miner *m)
{
	struct chain_submission sub;
	struct chain_entry e;
	struct chain_pora_context ctx[8];
	struct chain_pora_answer a;
	struct snap s0, s1;
	uint64_t reward, paid = 0, above_base = 0;
	int accepted = 0;
	size_t n = 0;
	bool found = false;

	memset(&sub, 0, sizeof(sub));
	sub.length = CODEC_PORA_PRICING_SECTORS * 256;
	sub.nnodes = 1;
	sub.nodes[0].height = 25;
	tap_fill(sub.nodes[0].root, 32);
	memcpy(big_root, sub.nodes[0].root, 32);
	ok(chain_submit(c, &sub, &e) == 0 && e.start == BIG_START,
	   "an 8 GiB entry (a root only) lands at 2^25, behind a zero gap");
	flow_end = 2 * BIG_START;
	next_epoch(c);
	if (chain_pora_contexts(c, 0, ctx, 8, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (ctx[i].start <= FLOW_SECTORS && FLOW_SECTORS < ctx[i].end) {
			memcpy(m->seal_ctx2, ctx[i].digest, 32);
			found = true;
		}
	ok(found, "a new epoch range covers the gap and the entry");
	sleep(2); /* the pool releases by the second */
	next_epoch(c);
	take(c, m, &s0);
	ok(s0.npools == 2 && s0.pools[0].full && s0.pools[0].released > 0,
	   "pool 0 is full and has released %llu of %llu wei",
	   (unsigned long long)s0.pools[0].released, (unsigned long long)s0.pools[0].balance);
	for (int tries = 0; accepted < TARGET && tries < 50; tries++) {
		if (mine(c, m, &a) < 0 || chain_pora_submit(c, &a, &reward) < 0)
			continue;
		accepted++;
		paid += reward;
		above_base += reward > BASE_REWARD;
	}
	take(c, m, &s1);
	ok(accepted == TARGET && above_base > 0,
	   "%d answers in pool 0 accepted, %llu of them paid more than the base reward", accepted,
	   (unsigned long long)above_base);
	ok(s1.miner_balance - s0.miner_balance == paid &&
	       s0.donations - s1.donations == (uint64_t)accepted * BASE_REWARD &&
	       s1.pools[0].claimed - s0.pools[0].claimed == paid - accepted * BASE_REWARD &&
	       s0.pools[0].balance - s1.pools[0].balance == paid - accepted * BASE_REWARD,
	   "exact accounting: %llu wei to the beneficiary = %llu from pool 0's claims + %llu "
	   "base rewards from the donations",
	   (unsigned long long)paid, (unsigned long long)(paid - accepted * BASE_REWARD),
	   (unsigned long long)(accepted * BASE_REWARD));
}

static void test_verify(struct chain **pc)
{
	struct chain_verify_report rep;
	struct chain_pora_info i1, i2;
	int r;

	r = chain_verify(*pc, &rep);
	ok(r == 0 && rep.answers > 0, "chain verify re-verifies %llu answers on replay (%s)",
	   (unsigned long long)rep.answers, r ? rep.reason : "ok");
	chain_pora_info(*pc, &i1);
	chain_close(*pc);
	ok(chain_local_open(dir, sk, pc) == 0, "the ledger reopens");
	ok(chain_pora_info(*pc, &i2) == 0 && !memcmp(&i1, &i2, sizeof(i1)),
	   "with the same mining state");
	r = chain_verify(*pc, &rep);
	ok(r == 0, "and verifies (%s)", r ? rep.reason : "ok");
}

/* chain_pora_proof_nodes() and chain_pora_answer_proves() on random flows of random
 * lengths: a unit sealed from random sector bytes, with the named nodes' roots taken from
 * an independent level-by-level tree (odd node carried), proves into
 * codec_root_of_leaves() over all sectors; a flipped proof hash or sealed byte does not. */
static void fold_level(uint8_t (*lv)[32], uint64_t *n)
{
	uint64_t m = 0;

	for (uint64_t i = 0; i < *n; i += 2, m++)
		if (i + 1 < *n)
			codec_hash_pair(lv[i], lv[i + 1], lv[m]);
		else
			memcpy(lv[m], lv[i], 32);
	*n = m;
}

static void test_proof_nodes(void)
{
	static uint8_t lv[14][FLOW_SECTORS][32];
	struct chain_pora_answer a;
	int good = 0, bad = 0, rounds = 100;

	for (int t = 0; t < rounds; t++) {
		uint64_t len = 16 + tap_rand() % (FLOW_SECTORS - 16), n = len, counts[14], idx;
		struct chain_flow_node nodes[CHAIN_PORA_PROOF_MAX];
		uint8_t flow_root[32];
		unsigned top = 0;
		size_t np;
		bool fine = true;

		tap_fill(flow, len * 256);
		for (uint64_t i = 0; i < len; i++)
			codec_keccak256(flow + i * 256, 256, lv[0][i]);
		counts[0] = n;
		while (n > 1) {
			memcpy(lv[top + 1], lv[top], n * 32);
			fold_level(lv[top + 1], &n);
			counts[++top] = n;
		}
		codec_root_of_leaves(&lv[0][0][0], (size_t)len, flow_root);
		idx = tap_rand() % (len / 16);
		memset(&a, 0, sizeof(a));
		tap_fill(a.miner_id, 32);
		tap_fill(a.sealed_context, 32);
		a.recall_position = idx * 16;
		memcpy(a.sealed, flow + idx * 16 * 256, CODEC_SEAL_SIZE);
		codec_seal_units(a.sealed, 1, a.miner_id, a.sealed_context, a.recall_position);
		fine = chain_pora_proof_nodes(idx, 4, len, nodes, &np) == 0 &&
		       !memcmp(lv[top][0], flow_root, 32);
		for (size_t j = 0; fine && j < np; j++) {
			fine = nodes[j].level <= top && nodes[j].index < counts[nodes[j].level];
			if (fine)
				memcpy(a.proof[j], lv[nodes[j].level][nodes[j].index], 32);
		}
		a.nproof = np;
		good += fine && chain_pora_answer_proves(&a, flow_root, len);
		if (np) {
			a.proof[tap_rand() % np][tap_rand() % 32] ^= 1;
			bad += !chain_pora_answer_proves(&a, flow_root, len);
		} else {
			a.sealed[tap_rand() % CODEC_SEAL_SIZE] ^= 1;
			bad += !chain_pora_answer_proves(&a, flow_root, len);
		}
	}
	ok(good == rounds && bad == rounds,
	   "random flows: a unit with the proof the named nodes make proves into the flow root "
	   "(%d/%d); one flipped bit never does (%d/%d)",
	   good, rounds, bad, rounds);
}

/* The difficulty update of codec_pora_next_target(), driven by miners whose answers
 * follow the target: each epoch, answers ~ Binomial(2000, tries × target / 2^256 / 2000),
 * capped at 2 × T as the chain caps them. From a target 100× too hard, over 5 seeds, the
 * mean over the last quarter settles between T and 1.5 T: the update steers T / answers
 * to 1 on average, E[1/s] > 1/E[s], and an epoch at the cap reports fewer answers than it
 * would have had, so 0G's rule settles about 30 % above T (docs/PORA.md). */
static double simulate(uint64_t seed, int epochs, int *ret_capped)
{
	const double tries = 1e6;
	uint8_t target[32];
	double sum = 0;
	int counted = 0, capped = 0;

	tap_seed(seed);
	codec_pora_initial_target(100 * 1000000ULL / TARGET, target);
	for (int e = 0; e < epochs; e++) {
		double t = 0, p;
		uint64_t k = 0;

		for (int i = 0; i < 8; i++)
			t = t * 256 + target[i];
		p = tries * t / 18446744073709551616.0 / 2000;
		for (int i = 0; i < 2000; i++)
			k += (double)(tap_rand() >> 11) / 9007199254740992.0 < p;
		if (k > 2 * TARGET)
			k = 2 * TARGET;
		if (e >= epochs * 3 / 4) {
			sum += (double)k;
			counted++;
			capped += k == 2 * TARGET;
		}
		codec_pora_next_target(target, TARGET, k, CODEC_PORA_ADJUST_RATIO, 0, target);
	}
	*ret_capped += capped;
	return counted ? sum / counted : 0;
}

static void test_convergence(int epochs)
{
	double lo = 1e9, hi = 0;
	int capped = 0;

	for (uint64_t seed = 1; seed <= 5; seed++) {
		double mean = simulate(seed, epochs, &capped);

		lo = mean < lo ? mean : lo;
		hi = mean > hi ? mean : hi;
	}
	ok(lo >= 1.0 * TARGET && hi <= 1.5 * TARGET,
	   "difficulty converges: %.2f to %.2f answers per epoch over the last quarter of %d "
	   "epochs (target %d), %d epochs at the cap",
	   lo, hi, epochs, TARGET, capped);
}

int main(int argc, char **argv)
{
	uint8_t seed[32] = {4, 5, 6};
	struct chain *c = NULL;
	struct miner m;
	int epochs = 400;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--epochs")) {
			long v = strtol(argv[i + 1], NULL, 10);

			if (v > 0 && v < 1000000)
				epochs = (int)v;
		} else if (!strcmp(argv[i], "--evm")) {
			evm_url = argv[i + 1];
		}
	if (sodium_init() < 0)
		skip_all("libsodium does not initialise");
	crypto_sign_seed_keypair(pk, sk, seed);
	snprintf(dir, sizeof(dir), "/tmp/zgfs-pora-XXXXXX");
	if (!mkdtemp(dir))
		skip_all("mkdtemp failed");
	tap_seed(12);
	setup(&c, &m);
	test_accept_and_refuse(c, &m);
	test_honesty(c, &m);
	test_pool_share(c, &m);
	if (!evm_url)
		test_verify(&c);
	chain_close(c);
	remove_dir(dir);
	if (evm_url)
		return tap_done(); /* the rest is pure and runs in the unit test */
	test_proof_nodes();
	test_convergence(epochs);
	return tap_done();
}
