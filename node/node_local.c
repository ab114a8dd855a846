/*
 * The node in this process: a data directory holding the node key, the embedded ledger
 * (DIR/chain), the log store (DIR/store) and the KV state (DIR/kv), behind one lock.
 *
 * An upload is stored first and settled second: the writer's bytes are synced and
 * recorded as pending before chain_submit(), and the store records the settled tx seq
 * after it. A crash between the two leaves a pending writer that open() resolves against
 * the ledger: settled → committed, not settled → dropped. So an acknowledged upload is
 * always complete, and an unacknowledged one is complete or absent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "node/key.h"
#include "node/kv/kv.h"
#include "node/kv/format.h"
#include "node/limits.h"
#include "node/node_i.h"
#include "node/store/store.h"
#include "node/da/da_i.h"
#include "node/pora/pora_i.h"
#include "node/peer/peers.h"
#include "node/peer/sync.h"
#include "sys/clock.h"

/* An upload sealed and being settled: the follower leaves its entry to the writer. */
struct inflight {
	uint64_t length;
	uint8_t root[CODEC_HASH_SIZE];
	struct inflight *next;
};

struct local {
	struct node base;
	char dir[PATH_MAX];
	int lock_fd;
	uint8_t sk[64], pk[32];
	struct chain *chain;
	struct node_store *store;
	struct node_kv *kv;
	bool verify;
	pthread_mutex_t kv_mu; /* serializes replay; kv_cv announces progress */
	pthread_cond_t kv_cv;
	struct node_recovery recovery;
	/* Following a shared chain (EVM): the thread, its stop flag (under follow_mu), the
	 * first tx seq it has not yet handed to the store, and uploads in flight. */
	bool following;
	pthread_t follower;
	pthread_mutex_t follow_mu;
	pthread_cond_t follow_cv;
	bool stop;
	uint64_t follow_next;
	struct inflight *inflight;
	int follow_err;
	struct node_pora *miner; /* --mine */
	struct node_da *da;	 /* a DA contract on the chain; a signer with --da */
	/* The shard of the flow kept here (0/1: all of it), the cluster's stripes (k 0: no
	 * policy) and the other nodes. */
	uint32_t shard_id, num_shard;
	struct node_ec_layout layout;
	struct node_peers *peers;
	struct node_sync *sync; /* filling in the shard from peers (EVM chains) */
	atomic_uint_fast64_t served, relayed; /* node_status' segments_served, _relayed */
	char url[CHAIN_REGISTRY_URL_MAX + 1]; /* registered as, or empty */
	unsigned follow_rounds;
};

struct local_upload {
	struct node_upload base;
	struct node_store_writer *w;
	size_t tags_len;
	uint8_t tags[CHAIN_TAGS_MAX];
};

static const struct node_ops local_ops;

static struct local *L(struct node *n)
{
	return n->ops == &local_ops ? (struct local *)n : NULL;
}

struct node_store *node_local_store(struct node *n)
{
	return L(n) ? L(n)->store : NULL;
}

struct chain *node_local_chain(struct node *n)
{
	return L(n) ? L(n)->chain : NULL;
}

struct node_da *node_local_da(struct node *n)
{
	return L(n) ? L(n)->da : NULL;
}

/* The DA part: on a chain with DA (an EVM chain whose Market names a DA contract, an
 * embedded ledger set up for it); a signer with cfg->da. */
static int da_setup(struct local *l, const struct node_config *cfg)
{
	int r;

	if (cfg->da && !cfg->public_url) {
		chain_set_detail(
		    "a DA signer needs the public URL clients reach it at (--url URL)");
		return -EINVAL;
	}
	/* One machine: the first signer gives the embedded ledger its DA rules. */
	if (cfg->da && !l->following) {
		struct chain_da_config dflt = CHAIN_DA_LOCAL_DEFAULTS;

		r = chain_da_setup(l->chain, cfg->da_config ? cfg->da_config : &dflt);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	r = node_da_open(&(struct node_da_config){.data_dir = l->dir,
						  .vrf_seed = cfg->da ? l->sk : NULL,
						  .url = cfg->public_url,
						  .stake = cfg->da_stake,
						  .max_blobs = cfg->da_max_blobs},
			 l->chain, &l->da);
	/* A chain without a DA contract serves no DA unless a signer was asked for. */
	if ((r == -ENOENT || r == -ENOTSUP) && !cfg->da)
		return 0;
	return r;
}

/* Peers that do not answer are not waited for: their sync finds the entry by itself. */
static int ignore_answer(void *ctx, const char *url, json_t *res, int r)
{
	(void)ctx, (void)url, (void)res, (void)r;
	return 0;
}

int node_local_sync_now(struct node *n, uint64_t tx_seq, bool relay)
{
	struct local *l = L(n);
	char params[48];

	if (!l || !l->sync)
		return -ENOTSUP;
	node_sync_hurry(l->sync, tx_seq);
	if (!relay)
		return 0;
	snprintf(params, sizeof(params), "[%llu, false]", (unsigned long long)tx_seq);
	return node_peers_call_each(l->peers, "zgfs_syncNow", params, ignore_answer, NULL);
}

struct node_peers *node_local_peers(struct node *n)
{
	return L(n) ? L(n)->peers : NULL;
}

const char *node_local_url(struct node *n)
{
	return L(n) && L(n)->url[0] ? L(n)->url : NULL;
}

struct node_kv *node_local_kv(struct node *n)
{
	return L(n) ? L(n)->kv : NULL;
}

int node_local_public_key(struct node *n, uint8_t ret_pk[32])
{
	if (!L(n))
		return -EINVAL;
	memcpy(ret_pk, L(n)->pk, 32);
	return 0;
}

const struct node_recovery *node_local_recovery(struct node *n)
{
	return L(n) ? &L(n)->recovery : NULL;
}

/* --- KV replay ---------------------------------------------------------------------- */

/*
 * Applies entry seq to kv. Entries that are not KV transactions need no data (their tags
 * say so). -EAGAIN when it is a KV entry whose data is not complete here (yet); with
 * wait_data false that is -EIO instead, for a replay that must see everything.
 * *data is a scratch buffer reallocated as needed.
 */
static int read_any(struct local *l, uint64_t seq, uint64_t offset, void *buf, size_t len,
		    size_t *ret_len);

static int replay_one(struct local *l, struct node_kv *kv, uint64_t seq, struct chain_entry *e,
		      uint8_t **data, bool wait_data)
{
	struct node_store_info si;
	size_t got = 0;
	uint8_t *d;
	int r;

	r = chain_entry_get(l->chain, seq, e);
	if (r < 0)
		return r;
	if (!node_kv_tags_is_kv(e->tags, e->tags_len))
		return node_kv_apply(kv, seq, e->sender, e->tags, e->tags_len, NULL, 0, NULL);
	if (node_store_info(l->store, seq, &si) < 0 || !si.finalized)
		return wait_data ? -EAGAIN : -EIO;
	if (e->length > NODE_KV_TX_MAX) /* recorded as a parse failure without being read */
		return node_kv_apply(kv, seq, e->sender, e->tags, e->tags_len, NULL, e->length,
				     NULL);
	d = realloc(*data, e->length ? e->length : 1);
	if (!d)
		return -ENOMEM;
	*data = d;
	r = read_any(l, seq, 0, d, e->length, &got);
	if (r == -EHOSTUNREACH && wait_data)
		r = -EAGAIN; /* the peers that keep it may not have it yet */
	if (r == 0 && got != e->length)
		r = -EIO;
	if (r == 0)
		r = node_kv_apply(kv, seq, e->sender, e->tags, e->tags_len, d, got, NULL);
	return r;
}

/*
 * Replays settled entries into the KV state in tx-seq order for as long as their data is
 * here. Stops at the first KV entry not yet finalized: its bytes may still be arriving in
 * segments.
 */
static int kv_catch_up(struct local *l)
{
	struct chain_flow f;
	struct chain_entry *e = malloc(sizeof(*e));
	uint8_t *data = NULL;
	uint64_t seq = 0;
	int r = 0;

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&l->kv_mu);
	r = chain_flow_info(l->chain, &f);
	if (r == 0)
		r = node_kv_next_tx_seq(l->kv, &seq);
	for (; r == 0 && seq < f.next_tx_seq; seq++) {
		r = replay_one(l, l->kv, seq, e, &data, true);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
	}
	pthread_cond_broadcast(&l->kv_cv);
	pthread_mutex_unlock(&l->kv_mu);
	free(data);
	free(e);
	return r;
}

static void remove_tree(const char *dir)
{
	char path[PATH_MAX + 16];
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path); /* leveldb directories hold only files */
	}
	closedir(d);
	rmdir(dir);
}

int node_local_kv_verify(struct node *n, uint64_t *ret_entries, uint8_t ret_live[32],
			 uint8_t ret_replayed[32])
{
	struct local *l = L(n);
	struct node_kv *fresh = NULL;
	struct chain_entry *e = NULL;
	uint8_t *data = NULL, live[32], replayed[32];
	char dir[PATH_MAX + 16];
	uint64_t upto = 0;
	int r;

	if (!l)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/kv-verify.tmp", l->dir);
	remove_tree(dir);
	e = malloc(sizeof(*e));
	r = e ? node_kv_open(dir, &fresh) : -ENOMEM;
	if (r < 0)
		goto out;
	/* The live state cannot move while kv_mu is held. */
	pthread_mutex_lock(&l->kv_mu);
	r = node_kv_next_tx_seq(l->kv, &upto);
	if (r == 0)
		r = node_kv_digest(l->kv, live);
	for (uint64_t seq = 0; r == 0 && seq < upto; seq++)
		r = replay_one(l, fresh, seq, e, &data, false);
	pthread_mutex_unlock(&l->kv_mu);
	if (r == 0)
		r = node_kv_digest(fresh, replayed);
	if (r == 0) {
		*ret_entries = upto;
		memcpy(ret_live, live, 32);
		memcpy(ret_replayed, replayed, 32);
	}
out:
	node_kv_close(fresh);
	remove_tree(dir);
	free(data);
	free(e);
	return r;
}

/* --- open, close, recovery ---------------------------------------------------------- */

static int take_lock(struct local *l)
{
	char path[PATH_MAX + 8], pid[32];
	int n;

	snprintf(path, sizeof(path), "%s/lock", l->dir);
	l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lock_fd < 0)
		return -errno;
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(l->lock_fd, 0) < 0 || pwrite(l->lock_fd, pid, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

struct pending_ctx {
	struct local *l;
	int err;
};

/* The last entries the ledger settled that the store has no record of: where a pending
 * writer's settlement would be. Crashes leave at most a few, all near the end. */
static int resolve_one(void *ctx, const struct node_store_pending *p)
{
	struct pending_ctx *c = ctx;
	struct local *l = c->l;
	struct chain_flow f;
	struct chain_entry *e = malloc(sizeof(*e));
	const struct chain_entry *match = NULL;
	int r;

	if (!e)
		return c->err = -ENOMEM;
	r = chain_flow_info(l->chain, &f);
	for (uint64_t i = 0; r == 0 && i < NODE_RECOVERY_WINDOW && i < f.next_tx_seq; i++) {
		uint64_t seq = f.next_tx_seq - 1 - i;
		struct node_store_info si;

		if (node_store_info(l->store, seq, &si) == 0)
			continue;
		if (chain_entry_get(l->chain, seq, e) == 0 && e->length == p->length &&
		    memcmp(e->root, p->root, CODEC_HASH_SIZE) == 0) {
			match = e;
			break;
		}
	}
	if (r == 0)
		r = node_store_pending_resolve(l->store, p->id, match);
	if (r == 0 && match)
		l->recovery.committed++;
	else if (r == 0)
		l->recovery.dropped++;
	free(e);
	if (r < 0)
		c->err = r;
	return r < 0;
}

/*
 * The chain DIR settles on: DIR/chain.json names an EVM chain's contracts (zgfs chain
 * deploy), else the embedded ledger in DIR/chain. A directory never switches between the
 * two: its entries are numbered by one chain.
 */
static int open_chain(struct local *l, const struct node_config *cfg)
{
	struct chain_evm_record rec;
	struct chain_evm_config ec = {0};
	char sub[PATH_MAX + 16];
	bool evm, has_ledger;
	int r;

	r = chain_evm_record_load(l->dir, &rec);
	if (r < 0 && r != -ENOENT)
		return r;
	snprintf(sub, sizeof(sub), "%s/chain", l->dir);
	has_ledger = access(sub, F_OK) == 0;
	if (!cfg->chain) {
		evm = r == 0;
	} else if (strcmp(cfg->chain, "local") == 0) {
		if (r == 0) {
			chain_set_detail("%s settles on the EVM chain at %s (%s/chain.json), not "
					     "on an embedded ledger",
					     l->dir, rec.rpc, l->dir);
			return -EEXIST;
		}
		evm = false;
	} else {
		if (r == -ENOENT) {
			chain_set_detail("%s records no contracts: run zgfs chain deploy --rpc "
					     "%s --data %s (or zgfs chain attach)",
					     l->dir, cfg->chain, l->dir);
			return -ENOENT;
		}
		evm = true;
	}
	if (!evm)
		return chain_local_open(sub, l->sk, &l->chain);
	if (has_ledger) {
		chain_set_detail("%s already holds an embedded ledger; an EVM chain needs a "
				     "data directory of its own",
				     l->dir);
		return -EEXIST;
	}
	ec.rpc_url = cfg->chain ? cfg->chain : rec.rpc;
	memcpy(ec.flow, rec.flow, CHAIN_ADDRESS_SIZE);
	ec.from_block = rec.block;
	ec.chain_id = rec.chain_id;
	ec.confirmations = rec.confirmations;
	ec.key_hex = cfg->evm_key_hex;
	ec.key_file = cfg->evm_key_hex ? NULL : cfg->evm_key_file;
	snprintf(sub, sizeof(sub), "%s/chain-evm", l->dir);
	r = chain_evm_open(sub, &ec, &l->chain);
	if (r == 0)
		l->following = true;
	return r;
}

static bool is_inflight(struct local *l, const struct chain_entry *e)
{
	for (struct inflight *f = l->inflight; f; f = f->next)
		if (f->length == e->length && memcmp(f->root, e->root, CODEC_HASH_SIZE) == 0)
			return true;
	return false;
}

/*
 * One round of following: read the chain, then hand every new entry to the store as
 * expected, except one whose upload is being settled here (its writer records it, with
 * its bytes); stop there until it has. Then replay the KV layer as far as data allows.
 */
static int follow_once(struct local *l)
{
	struct chain_entry *e = malloc(sizeof(*e));
	struct chain_flow f;
	unsigned expected = 0;
	int r;

	if (!e)
		return -ENOMEM;
	r = chain_sync(l->chain);
	if (r == 0)
		r = chain_flow_info(l->chain, &f);
	pthread_mutex_lock(&l->follow_mu);
	for (; r == 0 && l->follow_next < f.next_tx_seq; l->follow_next++) {
		struct node_store_info si;
		uint64_t seq = l->follow_next;

		if (node_store_info(l->store, seq, &si) == 0)
			continue;
		r = chain_entry_get(l->chain, seq, e);
		if (r < 0 || is_inflight(l, e))
			break;
		r = node_store_expect_hold(l->store, e,
					   &(struct node_store_hold){.shard_id = l->shard_id,
								     .num_shard = l->num_shard,
								     .ec_k = l->layout.k,
								     .ec_m = l->layout.m});
		expected++;
	}
	l->follow_err = r;
	pthread_mutex_unlock(&l->follow_mu);
	if (expected)
		node_sync_kick(l->sync);
	free(e);
	if (r == 0)
		r = kv_catch_up(l);
	return r;
}

/* Adds every node the chain's registry names, but this one, to the peers. */
static void learn_peers(struct local *l)
{
	struct chain_node *nodes = malloc(NODE_PEERS_MAX * sizeof(*nodes));
	size_t n = 0;

	if (nodes && chain_registry_nodes(l->chain, nodes, NODE_PEERS_MAX, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (strcmp(nodes[i].url, l->url) != 0)
				(void)node_peers_add(l->peers, nodes[i].url);
	free(nodes);
}

static void *follow_main(void *arg)
{
	struct local *l = arg;

	pthread_mutex_lock(&l->follow_mu);
	while (!l->stop) {
		struct timespec until;

		pthread_mutex_unlock(&l->follow_mu);
		/* Peers first: the entries the first round hands to the store are synced from
		 * them at once (a node that comes back empty expects its whole history). */
		if (l->follow_rounds++ % (NODE_PEER_REFRESH_MS / NODE_FOLLOW_INTERVAL_MS) == 0)
			learn_peers(l);
		follow_once(l);
		pthread_mutex_lock(&l->follow_mu);
		until = sys_deadline_ms(NODE_FOLLOW_INTERVAL_MS);
		if (!l->stop)
			pthread_cond_timedwait(&l->follow_cv, &l->follow_mu, &until);
	}
	pthread_mutex_unlock(&l->follow_mu);
	return NULL;
}

static void local_close(struct node *n)
{
	struct local *l = L(n);

	node_pora_stop(l->miner);
	node_da_close(l->da);
	node_sync_stop(l->sync);
	if (l->following) {
		pthread_mutex_lock(&l->follow_mu);
		l->stop = true;
		pthread_cond_broadcast(&l->follow_cv);
		pthread_mutex_unlock(&l->follow_mu);
		pthread_join(l->follower, NULL);
	}
	node_kv_close(l->kv);
	node_store_close(l->store);
	node_peers_free(l->peers);
	chain_close(l->chain);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* releases the flock */
	pthread_mutex_destroy(&l->kv_mu);
	pthread_cond_destroy(&l->kv_cv);
	pthread_mutex_destroy(&l->follow_mu);
	pthread_cond_destroy(&l->follow_cv);
	sodium_memzero(l->sk, sizeof(l->sk));
	free(l);
}

/* Mining parameters (and the donation that pays base rewards) for an embedded ledger that
 * has none yet: set once, by the first open that gives them. */
static int pora_setup(struct local *l, const struct node_config *cfg)
{
	struct chain_pora_info info;
	int r;

	if (!cfg->pora || l->following)
		return 0;
	r = chain_pora_info(l->chain, &info);
	if (r != -CHAIN_EPORA_OFF)
		return r;
	r = chain_pora_setup(l->chain, cfg->pora);
	if (r == 0 && cfg->pora_donate)
		r = chain_donate(l->chain, cfg->pora_donate);
	return r;
}

int node_local_mine_status(struct node *n, struct json_t **ret_status)
{
	json_t *o;

	if (!n || !ret_status || n->ops != &local_ops || !L(n)->miner)
		return -ENOENT;
	o = node_pora_status(L(n)->miner);
	if (!o)
		return -ENOMEM;
	*ret_status = o;
	return 0;
}

int node_mine_report(struct node *n, struct node_mine_report *ret_report)
{
	struct node_pora_report p;

	if (!n || !ret_report || n->ops != &local_ops || !L(n)->miner)
		return -ENOENT;
	node_pora_report(L(n)->miner, &p);
	memcpy(ret_report->miner_id, p.miner_id, 32);
	ret_report->tries = p.tries;
	ret_report->submitted = p.submitted;
	ret_report->accepted = p.accepted;
	ret_report->rewards = p.rewards;
	ret_report->refused = p.refused;
	ret_report->corrupt = p.corrupt;
	ret_report->last_refusal = p.last_refusal;
	ret_report->last_error = p.last_error;
	ret_report->last_corrupt_sector = p.last_corrupt_sector;
	ret_report->missing = p.missing;
	ret_report->last_missing_sector = p.last_missing_sector;
	return 0;
}

/* What this node keeps of a stripe, for rebuilding one (node_peers_set_policy). */
static int own_symbol(void *ctx, const struct node_peer_entry *e, uint64_t stripe, unsigned pos,
		      uint8_t *buf)
{
	struct local *l = ctx;
	struct codec_proof *proof;
	unsigned got;
	size_t len;
	int r;

	if (pos >= l->layout.k) {
		r = node_store_parity(l->store, e->tx_seq, stripe, buf, &got);
		return r == 0 && got != pos ? -EIO : r;
	}
	proof = malloc(sizeof(*proof));
	r = proof ? node_store_segment(l->store, e->tx_seq, stripe * l->layout.k + pos, buf, &len,
				       proof)
		  : -ENOMEM;
	if (r == 0)
		memset(buf + len, 0, CODEC_SEGMENT_SIZE - len);
	free(proof);
	return r;
}

static int own_proof(void *ctx, const struct node_peer_entry *e, uint64_t index,
		     struct codec_proof *ret_proof)
{
	struct local *l = ctx;

	return node_store_proof(l->store, e->tx_seq, index, ret_proof);
}

/*
 * The cluster's redundancy policy, from the chain's registry: with K+M, a node of shard
 * I/N keeps parity too, and rebuilds what no holder gives. A node keeping the whole flow
 * (0/1) needs none. N must leave room for a stripe: N ≥ K + M.
 */
static int policy_setup(struct local *l)
{
	struct chain_policy pol;
	int r = chain_registry_policy(l->chain, &pol);

	if (r == -ENOTSUP || (r == 0 && !pol.ec_k) || l->num_shard == 1)
		return 0;
	if (r < 0)
		return r;
	l->layout = (struct node_ec_layout){.k = pol.ec_k, .m = pol.ec_m, .num = l->num_shard};
	if (!node_ec_layout_valid(&l->layout) || pol.ec_k + pol.ec_m > NODE_EC_SYMBOLS_MAX) {
		chain_set_detail("the cluster's policy is %u+%u: a node keeping shard %u/%u "
				 "needs a cluster of N ≥ %u shards (N a power of two, K+M at most "
				 "%u)",
				 pol.ec_k, pol.ec_m, l->shard_id, l->num_shard,
				 pol.ec_k + pol.ec_m, NODE_EC_SYMBOLS_MAX);
		l->layout.k = l->layout.m = 0;
		return -EINVAL;
	}
	return node_peers_set_policy(l->peers, &l->layout,
				     &(struct node_peer_local){.symbol = own_symbol,
							       .proof = own_proof,
							       .ctx = l});
}

int node_open_local(const struct node_config *cfg, struct node **ret_node)
{
	struct local *l;
	char sub[PATH_MAX + 8];
	struct pending_ctx pc;
	int r;

	if (!cfg || !cfg->data_dir || strlen(cfg->data_dir) >= PATH_MAX)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = &local_ops;
	l->lock_fd = -1;
	l->verify = cfg->verify_reads;
	pthread_mutex_init(&l->kv_mu, NULL);
	pthread_cond_init(&l->kv_cv, NULL);
	pthread_mutex_init(&l->follow_mu, NULL);
	pthread_cond_init(&l->follow_cv, NULL);
	snprintf(l->dir, sizeof(l->dir), "%s", cfg->data_dir);
	l->shard_id = cfg->shard_id;
	l->num_shard = cfg->num_shard ? cfg->num_shard : 1;
	if ((l->num_shard & (l->num_shard - 1)) || l->shard_id >= l->num_shard) {
		free(l);
		return -EINVAL;
	}

	r = node_peers_new(&l->peers);
	for (size_t i = 0; r == 0 && i < cfg->npeers; i++)
		r = node_peers_add(l->peers, cfg->peers[i]);
	if (r == 0)
		r = node_data_dir_create(l->dir);
	if (r == 0)
		r = take_lock(l);
	if (r == 0)
		r = node_key_load(l->dir, true, l->sk, l->pk);
	if (r < 0)
		goto fail;
	r = open_chain(l, cfg);
	if (r == 0 && l->num_shard > 1 && !l->following) {
		chain_set_detail("the embedded ledger is one machine: a node keeping shard %u/%u "
				 "needs an EVM chain that its peers settle on too (zgfs chain "
				 "deploy --rpc URL)",
				 l->shard_id, l->num_shard);
		r = -EINVAL;
	}
	if (r == 0 && l->following)
		r = policy_setup(l);
	if (r == 0 && cfg->public_url) {
		snprintf(l->url, sizeof(l->url), "%s", cfg->public_url);
		r = chain_registry_register(l->chain, cfg->public_url, l->shard_id, l->num_shard,
					    NULL, NULL);
	}
	if (r == 0)
		r = pora_setup(l, cfg);
	if (r == 0)
		r = da_setup(l, cfg);
	if (r < 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/store", l->dir);
	r = node_store_open(sub, &l->store);
	if (r < 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/kv", l->dir);
	r = node_kv_open(sub, &l->kv);
	if (r < 0)
		goto fail;
	/* The KV state is replayed from the log below and after every crash: no sync. */
	node_kv_set_lazy(l->kv, true);

	pc = (struct pending_ctx){.l = l};
	r = node_store_pending(l->store, resolve_one, &pc);
	if (r == 0)
		r = pc.err;
	if (r == 0)
		r = kv_catch_up(l);
	if (r == 0 && l->following) {
		follow_once(l);
		r = -pthread_create(&l->follower, NULL, follow_main, l);
		if (r < 0)
			l->following = false;
	}
	if (r == 0 && l->following)
		r = node_sync_start(&(struct node_sync_config){.store = l->store,
								.peers = l->peers,
								.chain = l->chain,
								.layout = l->layout,
								.shard_id = l->shard_id},
				    &l->sync);
	if (r == 0 && cfg->mine)
		r = node_pora_start(
		    &(struct node_pora_config){.data_dir = l->dir,
					       .id_file = cfg->miner_key,
					       .threads = cfg->mine_threads ? cfg->mine_threads : 1,
					       .tick_ms = cfg->mine_tick_ms,
					       .shard_id = l->shard_id,
					       .num_shard = l->num_shard},
		    l->chain, l->store, &l->miner);
	if (r < 0)
		goto fail;
	*ret_node = &l->base;
	return 0;
fail:
	local_close(&l->base);
	return r;
}

/* --- status and entries ------------------------------------------------------------- */

static int local_status(struct node *n, struct node_status *ret)
{
	struct local *l = L(n);
	struct node_status st = {0};
	struct chain_flow f;
	struct statvfs vfs;
	int r;

	r = chain_flow_info(l->chain, &f);
	if (r == 0)
		r = node_store_totals(l->store, &st.finalized, &st.bytes_stored);
	if (r < 0)
		return r;
	st.next_tx_seq = f.next_tx_seq;
	st.log_sync_height = f.height;
	memcpy(st.log_sync_block, f.head, CODEC_HASH_SIZE);
	st.flow_length = f.length;
	memcpy(st.flow_root, f.root, CODEC_HASH_SIZE);
	st.chain_id = f.chain_id;
	memcpy(st.flow_address, f.contract, CHAIN_ADDRESS_SIZE);
	st.shard_id = l->shard_id;
	st.num_shard = l->num_shard;
	st.connected_peers = (unsigned)node_peers_count(l->peers);
	if (l->sync) {
		struct node_sync_report sr;

		node_sync_report(l->sync, &sr);
		st.sync_waiting = sr.entries_waiting;
		st.sync_missing = sr.segments_missing;
		st.sync_fetched = sr.segments_fetched;
		st.sync_fetched_bytes = sr.bytes_fetched;
		st.parity_built = sr.parity_built;
		st.parity_bytes_in = sr.parity_bytes_in;
	}
	st.ec_k = l->layout.k;
	st.ec_m = l->layout.m;
	node_peers_rebuilt(l->peers, &st.segments_rebuilt, &st.rebuilt_bytes_in);
	st.segments_served = atomic_load(&l->served);
	st.segments_relayed = atomic_load(&l->relayed);
	r = node_kv_next_tx_seq(l->kv, &st.kv_next_tx_seq);
	if (r < 0)
		return r;
	if (statvfs(l->dir, &vfs) == 0) {
		st.disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		st.disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		st.disk_free_all = (uint64_t)vfs.f_bfree * vfs.f_frsize;
		st.files_total = vfs.f_files;
		st.files_free = vfs.f_ffree;
	}
	*ret = st;
	return 0;
}

static int file_info(struct local *l, uint64_t seq, struct node_file_info *ret)
{
	struct node_file_info *fi = malloc(sizeof(*fi));
	struct node_store_info si;
	int r;

	if (!fi)
		return -ENOMEM;
	memset(fi, 0, sizeof(*fi));
	r = chain_entry_get(l->chain, seq, &fi->entry);
	if (r == 0) {
		if (node_store_info(l->store, seq, &si) == 0) {
			fi->finalized = si.finalized;
			fi->pruned = si.pruned;
			fi->uploaded_segments = si.segments_present;
		}
		*ret = *fi;
	}
	free(fi);
	return r;
}

static int local_info_by_seq(struct node *n, uint64_t tx_seq, struct node_file_info *ret)
{
	return file_info(L(n), tx_seq, ret);
}

static int local_info_by_root(struct node *n, const uint8_t root[32], struct node_file_info *ret)
{
	uint64_t seq;
	int r = node_store_find_root(L(n)->store, root, &seq);

	return r < 0 ? r : file_info(L(n), seq, ret);
}

/* --- uploads ------------------------------------------------------------------------ */

static int local_upload_begin(struct node *n, const uint8_t *tags, size_t tags_len,
			      struct node_upload **ret)
{
	struct local_upload *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->base.node = n;
	u->tags_len = tags_len;
	if (tags_len)
		memcpy(u->tags, tags, tags_len);
	r = node_store_writer_new(L(n)->store, &u->w);
	if (r < 0) {
		free(u);
		return r;
	}
	*ret = &u->base;
	return 0;
}

static int local_upload_write(struct node_upload *base, const void *data, size_t len)
{
	return node_store_writer_write(((struct local_upload *)base)->w, data, len);
}

static int local_upload_read(struct node_upload *base, uint64_t off, void *buf, size_t len,
			     size_t *ret_len)
{
	return node_store_writer_read(((struct local_upload *)base)->w, off, buf, len, ret_len);
}

static void local_upload_abort(struct node_upload *base)
{
	struct local_upload *u = (struct local_upload *)base;

	node_store_writer_abort(u->w);
	free(u);
}

/* Store, then settle, then record: see the comment at the top. Lazy: the pending record
 * and the settlement become durable with the next synced ones (node_upload_finish_lazy). */
static int settle(struct local *l, struct local_upload *u, bool lazy, struct chain_entry *ret_entry)
{
	struct chain_submission *sub = malloc(sizeof(*sub));
	int r;

	if (!sub)
		return -ENOMEM;
	struct inflight me = {0}, **pp;

	if (lazy)
		node_store_writer_set_lazy(u->w);
	r = node_store_writer_seal(u->w, sub);
	if (r < 0)
		goto out;
	sub->tags_len = u->tags_len;
	memcpy(sub->tags, u->tags, u->tags_len);
	if (l->following) {
		me.length = sub->length;
		memcpy(me.root, sub->nodes[sub->nnodes - 1].root, CODEC_HASH_SIZE);
		for (size_t i = sub->nnodes - 1; i-- > 0;)
			codec_hash_pair(sub->nodes[i].root, me.root, me.root);
		pthread_mutex_lock(&l->follow_mu);
		me.next = l->inflight;
		l->inflight = &me;
		pthread_mutex_unlock(&l->follow_mu);
	}
	r = lazy ? chain_submit_lazy(l->chain, sub, ret_entry) : chain_submit(l->chain, sub, ret_entry);
	if (r == 0) {
		r = node_store_writer_commit(u->w, ret_entry);
		u->w = NULL;
	}
	if (l->following) {
		pthread_mutex_lock(&l->follow_mu);
		for (pp = &l->inflight; *pp != &me; pp = &(*pp)->next)
			;
		*pp = me.next;
		pthread_cond_broadcast(&l->follow_cv);
		pthread_mutex_unlock(&l->follow_mu);
	}
out:
	free(sub);
	return r;
}

static int finish(struct node_upload *base, bool lazy, struct node_file_info *ret)
{
	struct local_upload *u = (struct local_upload *)base;
	struct local *l = L(base->node);
	struct chain_entry *e = malloc(sizeof(*e));
	int r;

	if (!e) {
		local_upload_abort(base);
		return -ENOMEM;
	}
	r = settle(l, u, lazy, e);
	if (r < 0 && u->w) {
		node_store_writer_abort(u->w);
		u->w = NULL;
	}
	if (r == 0)
		r = kv_catch_up(l);
	if (r == 0 && ret)
		r = file_info(l, e->tx_seq, ret);
	free(e);
	free(u);
	return r;
}

static int local_upload_finish(struct node_upload *base, struct node_file_info *ret)
{
	return finish(base, false, ret);
}

static int local_upload_finish_lazy(struct node_upload *base, struct node_file_info *ret)
{
	return finish(base, true, ret);
}

int node_local_submit(struct node *n, const struct chain_submission *sub,
		      struct chain_entry *ret_entry)
{
	struct local *l = L(n);
	int r;

	if (!l)
		return -EINVAL;
	r = chain_submit(l->chain, sub, ret_entry);
	if (r == 0)
		r = node_store_expect_hold(l->store, ret_entry,
					   &(struct node_store_hold){.shard_id = l->shard_id,
								     .num_shard = l->num_shard,
								     .ec_k = l->layout.k,
								     .ec_m = l->layout.m});
	return r;
}

int node_local_put_segments(struct node *n, uint64_t tx_seq,
			    const struct node_store_segment *segs, size_t count)
{
	struct local *l = L(n);
	struct node_store_info si;
	int r;

	if (!l)
		return -EINVAL;
	r = node_store_put_segments(l->store, tx_seq, segs, count);
	/* Settled, but the follower has not yet told the store to expect it (it reads the
	 * chain's events a moment after the chain has them): wait for it here rather than
	 * have the sender send the whole batch again. */
	for (uint64_t until = sys_now_ms() + NODE_PUT_FOLLOW_WAIT_MS;
	     r == -ENOENT && l->following && sys_now_ms() < until;) {
		sys_sleep_ms(20);
		r = node_store_put_segments(l->store, tx_seq, segs, count);
	}
	if (r == 0 && node_store_info(l->store, tx_seq, &si) == 0 && si.finalized)
		r = kv_catch_up(l);
	return r;
}

/* --- reads -------------------------------------------------------------------------- */

/* What this node's chain says entry seq is, for checking what peers send. */
static int peer_entry(struct local *l, uint64_t seq, struct node_peer_entry *ret)
{
	struct chain_entry *e = malloc(sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	r = chain_entry_get(l->chain, seq, e);
	if (r == 0) {
		*ret = (struct node_peer_entry){.tx_seq = seq, .start = e->start, .length = e->length};
		memcpy(ret->root, e->root, CODEC_HASH_SIZE);
	}
	free(e);
	return r;
}

/*
 * A range of which some segments are kept by other shards: each segment from here when it
 * is, else from a peer, checked against the entry's root by its proof.
 */
static int read_remote(struct local *l, uint64_t seq, uint64_t offset, uint8_t *out, size_t len,
		       size_t *ret_len)
{
	struct codec_proof *proof = malloc(sizeof(*proof));
	uint8_t *seg = malloc(CODEC_SEGMENT_SIZE);
	struct node_peer_entry pe;
	uint64_t end;
	size_t got;
	int r = proof && seg ? peer_entry(l, seq, &pe) : -ENOMEM;

	if (r < 0)
		goto out;
	if (offset >= pe.length || len == 0) {
		*ret_len = 0;
		goto out;
	}
	end = offset + (len < pe.length - offset ? len : pe.length - offset);
	for (uint64_t i = offset / CODEC_SEGMENT_SIZE; r == 0 && i * CODEC_SEGMENT_SIZE < end; i++) {
		uint64_t seg0 = i * CODEC_SEGMENT_SIZE, seg1 = seg0 + CODEC_SEGMENT_SIZE;
		uint64_t a = offset > seg0 ? offset : seg0, z = end < seg1 ? end : seg1;

		r = node_store_read(l->store, seq, a, out + (a - offset), (size_t)(z - a), l->verify,
				    &got);
		if (r == -EREMOTE) {
			r = node_peers_segment(l->peers, &pe, i, seg, &got, proof);
			if (r == 0 && got < z - seg0)
				r = -EIO;
			if (r == 0)
				memcpy(out + (a - offset), seg + (a - seg0), (size_t)(z - a));
		}
	}
	if (r == 0)
		*ret_len = (size_t)(end - offset);
out:
	free(proof);
	free(seg);
	return r;
}

static int read_any(struct local *l, uint64_t seq, uint64_t offset, void *buf, size_t len,
		    size_t *ret_len)
{
	int r = node_store_read(l->store, seq, offset, buf, len, l->verify, ret_len);

	return r == -EREMOTE ? read_remote(l, seq, offset, buf, len, ret_len) : r;
}

static int local_read(struct node *n, uint64_t tx_seq, uint64_t offset, void *buf, size_t len,
		      size_t *ret_len)
{
	return read_any(L(n), tx_seq, offset, buf, len, ret_len);
}

static int local_segment(struct node *n, uint64_t tx_seq, uint64_t index, uint8_t *buf,
			 size_t *ret_len, struct codec_proof *ret_proof)
{
	struct local *l = L(n);
	struct node_peer_entry pe;
	int r = node_store_segment(l->store, tx_seq, index, buf, ret_len, ret_proof);

	if (r != -EREMOTE) {
		if (r == 0)
			atomic_fetch_add(&l->served, 1);
		return r;
	}
	r = peer_entry(l, tx_seq, &pe);
	if (r == 0)
		r = node_peers_segment(l->peers, &pe, index, buf, ret_len, ret_proof);
	if (r == 0)
		atomic_fetch_add(&l->relayed, 1);
	return r;
}

/* --- KV ----------------------------------------------------------------------------- */

/* Maps a recorded rejection to the errno node_kv_write() promises. */
static int outcome_errno(enum node_kv_outcome o)
{
	switch (o) {
	case NODE_KV_COMMIT:
		return 0;
	case NODE_KV_VERSION_CONFLICTION:
		return -ESTALE;
	case NODE_KV_WRITE_PERMISSION_DENIED:
	case NODE_KV_ACCESS_CONTROL_PERMISSION_DENIED:
		return -EACCES;
	default:
		return -EINVAL;
	}
}

/* A blind write (node_kv_encode_puts), settled by the node's own account. */
static int local_kv_write(struct node *n, const uint8_t stream[32],
			  const struct node_put_item *items, size_t nitems, uint64_t *ret_tx_seq)
{
	struct local *l = L(n);
	struct node_upload *u = NULL;
	struct node_file_info *fi = malloc(sizeof(*fi));
	struct node_kv_result res;
	uint8_t tags[64], *buf = NULL;
	size_t len, tags_len;
	int r;

	if (!fi)
		return -ENOMEM;
	r = node_kv_encode_puts(stream, items, nitems, &buf, &len, tags, &tags_len);
	if (r == 0)
		r = node_upload_begin(n, tags, tags_len, &u);
	if (r == 0)
		r = node_upload_write(u, buf, len);
	if (r < 0) {
		node_upload_abort(u);
		goto out;
	}
	/* finish replays the KV layer up to this entry, whose data is here. */
	r = node_upload_finish(u, fi);
	if (r < 0)
		goto out;
	r = node_kv_result(l->kv, fi->entry.tx_seq, &res);
	if (r == 0)
		r = outcome_errno(res.outcome);
	if (ret_tx_seq)
		*ret_tx_seq = fi->entry.tx_seq;
out:
	free(buf);
	free(fi);
	return r;
}

static int local_kv_read(struct node *n, const uint8_t stream[32], const uint8_t *key,
			 size_t key_len, uint64_t version, struct node_value *ret)
{
	struct node_kv_value v;
	int r;

	r = node_kv_get(L(n)->kv, stream, key, key_len, 0, NODE_KV_QUERY_MAX, version, &v);
	if (r < 0)
		return r;
	if (v.size > v.len) {
		node_kv_value_release(&v);
		return -E2BIG;
	}
	*ret = (struct node_value){v.version, v.data, v.len};
	return 0;
}

static int local_kv_list(struct node *n, const uint8_t stream[32], const uint8_t *from,
			 size_t from_len, uint64_t version, size_t max, node_kv_list_fn *fn,
			 void *ctx)
{
	struct node_kv *kv = L(n)->kv;
	struct node_kv_pair p;
	int r;

	if (max == 0)
		return 0;
	r = from ? node_kv_get_next(kv, stream, from, from_len, true, 0, NODE_KV_QUERY_MAX, version,
				    &p)
		 : node_kv_get_first(kv, stream, 0, NODE_KV_QUERY_MAX, version, &p);
	for (size_t i = 0; r == 0; i++) {
		struct node_value v = {p.value.version, p.value.data, p.value.len};
		int stop = fn(ctx, p.key, p.key_len, &v);
		struct node_kv_pair next;

		if (stop || i + 1 == max) {
			node_kv_pair_release(&p);
			return 0;
		}
		r = node_kv_get_next(kv, stream, p.key, p.key_len, false, 0, NODE_KV_QUERY_MAX,
				     version, &next);
		node_kv_pair_release(&p);
		p = next;
	}
	return r == -ENOENT ? 0 : r;
}

struct versions_ctx {
	node_kv_version_fn *fn;
	void *ctx;
};

static int one_version(void *ctx, const struct node_kv_version *v)
{
	struct versions_ctx *c = ctx;

	return c->fn(c->ctx, v->version, v->size);
}

static int local_kv_versions(struct node *n, const uint8_t stream[32], const uint8_t *key,
			     size_t key_len, node_kv_version_fn *fn, void *ctx)
{
	struct versions_ctx c = {fn, ctx};

	return node_kv_history(L(n)->kv, stream, key, key_len, one_version, &c);
}

static int local_prune(struct node *n, uint64_t tx_seq, uint64_t *ret_bytes)
{
	return node_store_prune(L(n)->store, tx_seq, ret_bytes);
}

static const struct node_ops local_ops = {
	.close = local_close,
	.status = local_status,
	.file_info_by_seq = local_info_by_seq,
	.file_info_by_root = local_info_by_root,
	.upload_begin = local_upload_begin,
	.upload_write = local_upload_write,
	.upload_read = local_upload_read,
	.upload_finish = local_upload_finish,
	.upload_finish_lazy = local_upload_finish_lazy,
	.upload_abort = local_upload_abort,
	.read = local_read,
	.segment = local_segment,
	.kv_write = local_kv_write,
	.kv_read = local_kv_read,
	.kv_list = local_kv_list,
	.kv_versions = local_kv_versions,
	.prune = local_prune,
};
