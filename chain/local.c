/*
 * The embedded ledger: a single-writer chain of signed blocks in one leveldb.
 *
 * Keys: "s" the state record; "b" + be64(height) a block; "e" + be64(tx seq) an entry;
 * "p" + be64(index) a reward pool; "a" + be64(index) a DA certificate; "q" + be64(epoch) the inputs
 * of a DA epoch's draw (written by each block that certifies in it). A block and every record it
 * changes go into one WriteBatch written with sync, so after SIGKILL or power loss the database
 * holds either the whole block and its effects or none of it; the in-memory state is changed first
 * and rolled back if that write fails. All access is under one mutex: writes are a few microseconds
 * of hashing plus one fsync, and a second writer could not overlap the fsync anyway.
 *
 * leveldb is the only disk I/O here and its C API reports errors as strings, which
 * ldb_error() turns into -errno once.
 */
#include <errno.h>
#include <fcntl.h>
#include <leveldb/c.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain/backend_i.h"
#include "chain/limits.h"
#include "chain/block_i.h"
#include "chain/da.h"
#include "chain/ledger_i.h"
#include "codec/da.h"
#include "codec/keccak.h"
#include "sys/ldb.h"

#define KEY_STATE 's'
#define KEY_BLOCK 'b'
#define KEY_ENTRY 'e'
#define KEY_POOL  'p'
#define KEY_CERT  'a' /* + be64(index): a DA certificate */
#define KEY_DRAW  'q' /* + be64(epoch): a DA epoch's draw inputs */
#define KEY_SIZE  9
#define LOCK_NAME "ledger.lock"

/* A submission waiting for a block (group commit: see local_submit). */
struct submit_req {
	struct chain_tx tx;
	struct chain_entry entry;
	int r;
	bool done;
	bool lazy; /* chain_submit_lazy() */
	struct submit_req *next;
};

struct chain_local {
	struct chain base;
	pthread_mutex_t lock;
	/* Group commit: submissions queue here (qmu); one of their callers, the leader,
	 * settles all that are waiting in one block, so they share one synced write. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	struct submit_req *qhead, **qtail;
	bool leading;
	int lock_fd;
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wopts;
	leveldb_writeoptions_t *wopts_lazy; /* a block of lazy submissions only */
	bool lazy_block;		    /* the block being written is one (under lock) */
	uint8_t sk[64];
	uint8_t pk[CHAIN_PUBKEY_SIZE];
	uint8_t address[CHAIN_ADDRESS_SIZE];
	uint8_t da_secret[32]; /* DA signatures (derive_da_key) */
	uint8_t da_account[CHAIN_ADDRESS_SIZE];
	struct chain_ledger ledger;
	/* The node's own registration (chain_registry_register), in this handle only. */
	bool registered;
	struct chain_node self;
};

static const struct chain_ops local_ops;
static int derive_da_key(struct chain_local *c);

static struct chain_local *to_local(struct chain *c)
{
	return (struct chain_local *)c;
}

static void make_key(char out[KEY_SIZE], char prefix, uint64_t n)
{
	out[0] = prefix;
	for (int i = 0; i < 8; i++)
		out[1 + i] = (char)(uint8_t)(n >> (56 - 8 * i));
}

/* The boundary for leveldb's error strings (sys/ldb.h). Frees err. */
static int ldb_error(char *err)
{
	return sys_ldb_error(err, NULL, 0);
}

/* Returns 0 and a malloc'd value (free with leveldb_free), -ENOENT, -EIO. */
static int db_get(struct chain_local *c, const char *key, size_t klen, char **ret_val,
		  size_t *ret_len)
{
	char *err = NULL, *val;
	size_t len = 0;

	val = leveldb_get(c->db, c->ropts, key, klen, &len, &err);
	if (err) {
		leveldb_free(val);
		return ldb_error(err);
	}
	if (!val)
		return -ENOENT;
	*ret_val = val;
	*ret_len = len;
	return 0;
}

/* True when the database holds no key at all. */
static int db_empty(struct chain_local *c, bool *ret_empty)
{
	leveldb_iterator_t *it = leveldb_create_iterator(c->db, c->ropts);
	char *err = NULL;
	bool empty;

	leveldb_iter_seek_to_first(it);
	empty = !leveldb_iter_valid(it);
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	if (err)
		return ldb_error(err);
	*ret_empty = empty;
	return 0;
}

/* True when a key with this prefix exists at or after (prefix, n). */
static int db_has_from(struct chain_local *c, char prefix, uint64_t n, bool *ret_has)
{
	leveldb_iterator_t *it = leveldb_create_iterator(c->db, c->ropts);
	char key[KEY_SIZE], *err = NULL;
	bool has = false;

	make_key(key, prefix, n);
	leveldb_iter_seek(it, key, sizeof(key));
	if (leveldb_iter_valid(it)) {
		size_t klen;
		const char *k = leveldb_iter_key(it, &klen);

		has = klen >= 1 && k[0] == prefix;
	}
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	if (err)
		return ldb_error(err);
	*ret_has = has;
	return 0;
}

static uint64_t wall_clock(void)
{
	time_t t = time(NULL);

	return t > 0 ? (uint64_t)t : 0;
}

static uint64_t pool_index_of(uint64_t sector)
{
	return sector / CHAIN_PRICING_SEGMENT_SECTORS;
}

/* The epoch a certify transaction names (its certificate's bytes 40..48), or UINT64_MAX. */
static uint64_t certify_epoch(const struct chain_tx *tx)
{
	const uint8_t *p = tx->da.data;
	uint64_t e = 0;

	if (tx->type != CHAIN_TX_DA_CERTIFY || tx->da.len < 48)
		return UINT64_MAX;
	for (int i = 40; i < 48; i++)
		e = e << 8 | p[i];
	return e;
}

/* The draw record of the epoch tx certifies in, into w (emptied first): 1 when tx is no
 * certify, 0, or -errno. */
static int draw_record_of(const struct chain_ledger *l, const struct chain_tx *tx,
			  struct chain_wbuf *w, uint64_t *ret_epoch)
{
	uint64_t e = certify_epoch(tx);

	if (e == UINT64_MAX)
		return 1;
	w->len = 0;
	*ret_epoch = e;
	return chain_da_draw_record(&l->da, e, w);
}

/*
 * Settle one block of transactions: apply them, seal the block, and write the block, the
 * state and every record the block changed in one synced batch. entries[i] receives the
 * entry of txs[i] when it is a submission. On any error the ledger is as before.
 */
static int commit_block(struct chain_local *c, const struct chain_tx *txs, size_t ntx,
			struct chain_entry *entries)
{
	struct chain_ledger *l = &c->ledger;
	struct chain_ledger_mark *mark = NULL;
	struct chain_block b;
	struct chain_wbuf blk, rec;
	leveldb_writebatch_t *batch = NULL;
	uint8_t hash[CODEC_HASH_SIZE];
	char key[KEY_SIZE], *err = NULL;
	uint64_t height, ts, first_pool;
	int r;

	chain_wbuf_init(&blk, CHAIN_BLOCK_MAX_BYTES);
	chain_wbuf_init(&rec, CHAIN_RECORD_MAX_BYTES);
	mark = malloc(sizeof(*mark));
	if (!mark)
		return -ENOMEM;
	height = l->genesis_done ? l->height + 1 : 0;
	/* Block times never go backwards, whatever the wall clock does. */
	ts = wall_clock();
	if (l->genesis_done && ts < l->head_timestamp)
		ts = l->head_timestamp;
	/* The flow only grows: pools before the one holding the current end are final. */
	first_pool = l->genesis_done ? pool_index_of(l->flow.length) : 0;

	chain_ledger_mark(l, mark);
	r = chain_ledger_begin_block(l, height, ts);
	if (r < 0)
		goto rollback;
	for (size_t i = 0; i < ntx; i++) {
		r = chain_ledger_apply(l, &txs[i], height, ts, &entries[i]);
		if (r < 0)
			goto rollback;
	}

	memset(&b, 0, sizeof(b));
	b.chain_id = l->chain_id;
	b.height = height;
	if (height > 0)
		memcpy(b.prev, l->head, CODEC_HASH_SIZE);
	b.timestamp = ts;
	b.flow_length = l->flow.length;
	chain_flowtree_root(&l->flow, b.flow_root);
	b.next_tx_seq = l->next_tx_seq;
	b.ntx = ntx;
	b.txs = (struct chain_tx *)txs; /* only read by the encoder */
	r = chain_block_seal(&b, c->sk, &blk, hash);
	if (r < 0)
		goto rollback;
	l->height = height;
	l->head_timestamp = ts;
	memcpy(l->head, hash, CODEC_HASH_SIZE);

	batch = leveldb_writebatch_create();
	make_key(key, KEY_BLOCK, height);
	leveldb_writebatch_put(batch, key, sizeof(key), (const char *)blk.data, blk.len);
	for (size_t i = 0; i < ntx; i++) {
		if (txs[i].type != CHAIN_TX_SUBMIT)
			continue;
		rec.len = 0;
		chain_entry_encode(&entries[i], &rec);
		if ((r = rec.err) < 0)
			goto rollback;
		make_key(key, KEY_ENTRY, entries[i].tx_seq);
		leveldb_writebatch_put(batch, key, sizeof(key), (const char *)rec.data, rec.len);
	}
	/* An answer may have paid from a pool before first_pool. */
	if (l->answer_in_block && l->answer_pool < first_pool) {
		rec.len = 0;
		chain_pool_encode(&l->market.pools[l->answer_pool], &rec);
		if ((r = rec.err) < 0)
			goto rollback;
		make_key(key, KEY_POOL, l->answer_pool);
		leveldb_writebatch_put(batch, key, sizeof(key), (const char *)rec.data, rec.len);
	}
	for (uint64_t i = first_pool; i < l->market.npools; i++) {
		rec.len = 0;
		chain_pool_encode(&l->market.pools[i], &rec);
		if ((r = rec.err) < 0)
			goto rollback;
		make_key(key, KEY_POOL, i);
		leveldb_writebatch_put(batch, key, sizeof(key), (const char *)rec.data, rec.len);
	}
	for (size_t i = 0; i < ntx; i++) {
		uint64_t e;

		r = draw_record_of(l, &txs[i], &rec, &e);
		if (r < 0)
			goto rollback;
		if (r == 1)
			continue;
		make_key(key, KEY_DRAW, e);
		leveldb_writebatch_put(batch, key, sizeof(key), (const char *)rec.data, rec.len);
	}
	if (l->da.touched1) {
		rec.len = 0;
		chain_da_cert_state_encode(&l->da.certs[l->da.touched1 - 1], &rec);
		if ((r = rec.err) < 0)
			goto rollback;
		make_key(key, KEY_CERT, l->da.touched1 - 1);
		leveldb_writebatch_put(batch, key, sizeof(key), (const char *)rec.data, rec.len);
	}
	rec.len = 0;
	chain_state_encode(l, &rec);
	if ((r = rec.err) < 0)
		goto rollback;
	key[0] = KEY_STATE;
	leveldb_writebatch_put(batch, key, 1, (const char *)rec.data, rec.len);

	leveldb_write(c->db, c->lazy_block ? c->wopts_lazy : c->wopts, batch, &err);
	if (err) {
		r = ldb_error(err);
		goto rollback;
	}
	r = 0;
	goto out;
rollback:
	chain_ledger_rollback(l, mark);
out:
	leveldb_writebatch_destroy(batch);
	chain_wbuf_release(&blk);
	chain_wbuf_release(&rec);
	free(mark);
	return r;
}

static int create_genesis(struct chain_local *c)
{
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	struct chain_entry *unused = malloc(sizeof(*unused));
	int r = -ENOMEM;

	if (!tx || !unused)
		goto out;
	tx->type = CHAIN_TX_GENESIS;
	tx->genesis.chain_id = CHAIN_LOCAL_CHAIN_ID;
	tx->genesis.price_per_sector = CHAIN_LOCAL_PRICE_PER_SECTOR;
	tx->genesis.supply = CHAIN_LOCAL_SUPPLY;
	tx->genesis.pool_lifetime = CHAIN_LOCAL_POOL_LIFETIME;
	memcpy(tx->genesis.authority, c->pk, CHAIN_PUBKEY_SIZE);
	r = commit_block(c, tx, 1, unused);
out:
	free(tx);
	free(unused);
	return r;
}

/* The DA certificates the state record counts. */
static int load_certs(struct chain_local *c)
{
	struct chain_da_state *s = &c->ledger.da;
	uint64_t n = s->ncerts;
	char key[KEY_SIZE], *val = NULL;
	size_t len;
	int r;

	s->ncerts = 0;
	r = chain_da_state_reserve(s, n);
	for (uint64_t i = 0; r == 0 && i < n; i++) {
		make_key(key, KEY_CERT, i);
		r = db_get(c, key, sizeof(key), &val, &len);
		if (r < 0)
			return r == -ENOENT ? -CHAIN_ETAMPERED : r;
		r = chain_da_cert_state_decode((const uint8_t *)val, len, &s->certs[i]);
		leveldb_free(val);
		if (r == 0)
			s->ncerts = i + 1;
	}
	return r;
}

/* Read back the stored state, its pools and its head block, and check that they agree.
 * The full replay is chain_verify(); this is what every open can afford. */
static int load_state(struct chain_local *c)
{
	struct chain_ledger *l = &c->ledger;
	struct chain_block b;
	uint8_t hash[CODEC_HASH_SIZE], root[CODEC_HASH_SIZE];
	uint64_t npools;
	char key[KEY_SIZE], *val = NULL;
	size_t len;
	bool empty = false;
	int r;

	key[0] = KEY_STATE;
	r = db_get(c, key, 1, &val, &len);
	if (r == -ENOENT) {
		/* A new ledger, unless something is already in the database. */
		r = db_empty(c, &empty);
		if (r < 0)
			return r;
		return empty ? create_genesis(c) : -CHAIN_ETAMPERED;
	}
	if (r < 0)
		return r;
	r = chain_state_decode((const uint8_t *)val, len, l, &npools);
	leveldb_free(val);
	if (r < 0)
		return r;
	if (memcmp(l->authority, c->pk, CHAIN_PUBKEY_SIZE))
		return -EPERM;
	r = chain_market_reserve(&l->market, npools);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < npools; i++) {
		make_key(key, KEY_POOL, i);
		r = db_get(c, key, sizeof(key), &val, &len);
		if (r < 0)
			return r == -ENOENT ? -CHAIN_ETAMPERED : r;
		r = chain_pool_decode((const uint8_t *)val, len, &l->market.pools[i]);
		leveldb_free(val);
		if (r < 0)
			return r;
		l->market.npools = i + 1;
	}
	r = load_certs(c);
	if (r < 0)
		return r;
	if (!chain_ledger_conserved(l))
		return -CHAIN_ETAMPERED;

	make_key(key, KEY_BLOCK, l->height);
	r = db_get(c, key, sizeof(key), &val, &len);
	if (r < 0)
		return r == -ENOENT ? -CHAIN_ETAMPERED : r;
	r = chain_block_decode((const uint8_t *)val, len, &b, hash);
	leveldb_free(val);
	if (r < 0)
		return r;
	chain_flowtree_root(&l->flow, root);
	if (memcmp(hash, l->head, CODEC_HASH_SIZE) || b.height != l->height ||
	    b.timestamp != l->head_timestamp || b.flow_length != l->flow.length ||
	    memcmp(b.flow_root, root, CODEC_HASH_SIZE) || b.next_tx_seq != l->next_tx_seq ||
	    !chain_block_signed_by(&b, hash, c->pk))
		r = -CHAIN_ETAMPERED;
	chain_block_release(&b);
	return r;
}

int chain_local_open(const char *dir, const uint8_t secret_key[64], struct chain **ret_chain)
{
	struct chain_local *c = NULL;
	uint8_t pk[CHAIN_PUBKEY_SIZE], sk[64];
	char *path = NULL;
	struct sys_ldb ldb;
	struct stat st;
	int r;

	if (!dir || !*dir || !secret_key || !ret_chain)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	/* A libsodium secret key is seed ‖ public key; one that does not derive its own
	 * public key would sign blocks nobody can verify. */
	crypto_sign_seed_keypair(pk, sk, secret_key);
	sodium_memzero(sk, sizeof(sk));
	if (sodium_memcmp(pk, secret_key + 32, CHAIN_PUBKEY_SIZE) != 0)
		return -EINVAL;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base.ops = &local_ops;
	c->lock_fd = -1;
	chain_ledger_init(&c->ledger);
	memcpy(c->sk, secret_key, sizeof(c->sk));
	memcpy(c->pk, pk, sizeof(c->pk));
	chain_address_of(c->pk, c->address);
	if (derive_da_key(c) < 0) {
		sodium_memzero(c->sk, sizeof(c->sk));
		free(c);
		return -EINVAL;
	}
	pthread_mutex_init(&c->qmu, NULL);
	pthread_cond_init(&c->qcv, NULL);
	c->qtail = &c->qhead;
	r = pthread_mutex_init(&c->lock, NULL);
	if (r) {
		sodium_memzero(c->sk, sizeof(c->sk));
		free(c);
		return -r;
	}

	/* Our own lock beside leveldb's: flock() also refuses a second open from this
	 * process (leveldb's fcntl lock would not), and gives a clean -EBUSY. */
	if (asprintf(&path, "%s/%s", dir, LOCK_NAME) < 0) {
		path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}

	r = sys_ldb_open(dir, &(struct sys_ldb_config){.create = true, .paranoid = true}, &ldb,
			 NULL, 0);
	if (r < 0)
		goto fail;
	c->db = ldb.db;
	c->opts = ldb.opts;
	c->ropts = ldb.ro;
	c->wopts = ldb.wo;
	c->wopts_lazy = ldb.wo_lazy;
	r = load_state(c);
	if (r < 0)
		goto fail;
	free(path);
	*ret_chain = &c->base;
	return 0;
fail:
	free(path);
	local_ops.close(&c->base);
	return r;
}

static void local_close(struct chain *base)
{
	struct chain_local *c = to_local(base);

	sys_ldb_close(&(struct sys_ldb){.db = c->db,
					.opts = c->opts,
					.ro = c->ropts,
					.wo = c->wopts,
					.wo_lazy = c->wopts_lazy});
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* releases the flock */
	chain_ledger_release(&c->ledger);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->qmu);
	pthread_cond_destroy(&c->qcv);
	sodium_memzero(c->sk, sizeof(c->sk));
	sodium_memzero(c->da_secret, sizeof(c->da_secret));
	free(c);
}

/*
 * Settles n queued submissions: one block holding them all, or, when that block is
 * refused (one bad submission refuses the whole block), one block each, so that each
 * gets its own answer. c->lock held.
 */
static void settle_group(struct chain_local *c, struct submit_req **reqs, size_t n)
{
	struct chain_tx *txs = n > 1 ? malloc(n * sizeof(*txs)) : NULL;
	struct chain_entry *entries = n > 1 ? malloc(n * sizeof(*entries)) : NULL;
	int r = -ENOMEM;

	/* A block of lazy submissions only is not synced: the next synced block of this
	 * ledger (the same leveldb log) makes it durable with it. */
	c->lazy_block = true;
	for (size_t i = 0; i < n; i++)
		c->lazy_block &= reqs[i]->lazy;

	if (txs && entries) {
		for (size_t i = 0; i < n; i++)
			txs[i] = reqs[i]->tx;
		r = commit_block(c, txs, n, entries);
		for (size_t i = 0; r == 0 && i < n; i++) {
			reqs[i]->entry = entries[i];
			reqs[i]->r = 0;
		}
	}
	for (size_t i = 0; r != 0 && i < n; i++)
		reqs[i]->r = commit_block(c, &reqs[i]->tx, 1, &reqs[i]->entry);
	c->lazy_block = false;
	free(txs);
	free(entries);
}

/*
 * Group commit: the caller queues its submission; if no other caller is settling, it
 * becomes the leader and settles everything queued, in queue order, a block at a time,
 * until the queue is empty; otherwise it waits for the leader to settle it. Submissions
 * that arrive while a block is being written share the next one (one synced write).
 */
static int submit(struct chain *base, const struct chain_submission *sub, bool lazy,
		  struct chain_entry *ret_entry)
{
	struct chain_local *c = to_local(base);
	struct submit_req *req, *batch[CHAIN_LOCAL_GROUP_MAX];
	int r;

	if (sub->tags_len > CHAIN_TAGS_MAX || sub->nnodes > CODEC_MAX_NODES)
		return -CHAIN_EINVALID_SUBMISSION;
	req = malloc(sizeof(*req));
	if (!req)
		return -ENOMEM;
	memset(&req->tx, 0, sizeof(req->tx));
	req->tx.type = CHAIN_TX_SUBMIT;
	memcpy(req->tx.submit.sender, c->address, CHAIN_ADDRESS_SIZE);
	/* Only the used parts: a submission's arrays are mostly unused. */
	req->tx.submit.sub.length = sub->length;
	req->tx.submit.sub.tags_len = sub->tags_len;
	req->tx.submit.sub.nnodes = sub->nnodes;
	memcpy(req->tx.submit.sub.tags, sub->tags, sub->tags_len);
	memcpy(req->tx.submit.sub.nodes, sub->nodes, sub->nnodes * sizeof(sub->nodes[0]));
	req->done = false;
	req->lazy = lazy;
	req->next = NULL;

	pthread_mutex_lock(&c->qmu);
	*c->qtail = req;
	c->qtail = &req->next;
	while (!req->done) {
		size_t n = 0;

		if (c->leading) {
			pthread_cond_wait(&c->qcv, &c->qmu);
			continue;
		}
		c->leading = true;
		while (c->qhead && n < CHAIN_LOCAL_GROUP_MAX) {
			batch[n++] = c->qhead;
			c->qhead = c->qhead->next;
		}
		if (!c->qhead)
			c->qtail = &c->qhead;
		pthread_mutex_unlock(&c->qmu);
		pthread_mutex_lock(&c->lock);
		settle_group(c, batch, n);
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_lock(&c->qmu);
		for (size_t i = 0; i < n; i++)
			batch[i]->done = true;
		c->leading = false;
		pthread_cond_broadcast(&c->qcv);
	}
	pthread_mutex_unlock(&c->qmu);
	r = req->r;
	if (r == 0)
		memcpy(ret_entry, &req->entry, sizeof(*ret_entry));
	free(req);
	return r;
}

static int local_submit(struct chain *base, const struct chain_submission *sub,
			struct chain_entry *ret_entry)
{
	return submit(base, sub, false, ret_entry);
}

static int local_submit_lazy(struct chain *base, const struct chain_submission *sub,
			     struct chain_entry *ret_entry)
{
	return submit(base, sub, true, ret_entry);
}

static int local_entry_get(struct chain *base, uint64_t tx_seq, struct chain_entry *ret_entry)
{
	struct chain_local *c = to_local(base);
	struct chain_entry *e = malloc(sizeof(*e));
	char key[KEY_SIZE], *val = NULL;
	size_t len;
	int r;

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	if (tx_seq >= c->ledger.next_tx_seq) {
		r = -ENOENT;
	} else {
		make_key(key, KEY_ENTRY, tx_seq);
		r = db_get(c, key, sizeof(key), &val, &len);
		if (r == -ENOENT)
			r = -CHAIN_ETAMPERED; /* counted but not stored */
	}
	pthread_mutex_unlock(&c->lock);
	if (r == 0) {
		r = chain_entry_decode((const uint8_t *)val, len, e);
		if (r == 0 && e->tx_seq != tx_seq)
			r = -CHAIN_ETAMPERED;
		leveldb_free(val);
	}
	if (r == 0)
		memcpy(ret_entry, e, sizeof(*e));
	free(e);
	return r;
}

static int local_flow_info(struct chain *base, struct chain_flow *ret_flow)
{
	struct chain_local *c = to_local(base);
	const struct chain_ledger *l = &c->ledger;
	struct chain_flow f;

	memset(&f, 0, sizeof(f));
	pthread_mutex_lock(&c->lock);
	f.next_tx_seq = l->next_tx_seq;
	f.length = l->flow.length;
	chain_flowtree_root(&l->flow, f.root);
	f.height = l->height;
	memcpy(f.head, l->head, CODEC_HASH_SIZE);
	f.chain_id = l->chain_id;
	f.price_per_sector = l->price_per_sector;
	pthread_mutex_unlock(&c->lock);
	*ret_flow = f;
	return 0;
}

static int local_account(struct chain *base, uint8_t ret_address[CHAIN_ADDRESS_SIZE],
			 uint64_t *ret_balance)
{
	struct chain_local *c = to_local(base);
	struct chain_account_state *a;
	uint64_t balance;

	pthread_mutex_lock(&c->lock);
	a = chain_ledger_account(&c->ledger, c->address);
	balance = a ? a->balance : 0;
	pthread_mutex_unlock(&c->lock);
	memcpy(ret_address, c->address, CHAIN_ADDRESS_SIZE);
	*ret_balance = balance;
	return 0;
}

static int local_donate(struct chain *base, uint64_t amount)
{
	struct chain_local *c = to_local(base);
	struct chain_tx tx;
	struct chain_entry *unused = malloc(sizeof(*unused));
	int r;

	if (!unused)
		return -ENOMEM;
	memset(&tx, 0, sizeof(tx));
	tx.type = CHAIN_TX_DONATE;
	memcpy(tx.donate.sender, c->address, CHAIN_ADDRESS_SIZE);
	tx.donate.amount = amount;
	pthread_mutex_lock(&c->lock);
	r = commit_block(c, &tx, 1, unused);
	pthread_mutex_unlock(&c->lock);
	free(unused);
	return r;
}

static int local_donations(struct chain *base, uint64_t *ret_balance)
{
	struct chain_local *c = to_local(base);

	pthread_mutex_lock(&c->lock);
	*ret_balance = c->ledger.market.donation;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int local_pools(struct chain *base, struct chain_pool *pools, size_t max, size_t *ret_n)
{
	struct chain_local *c = to_local(base);
	const struct chain_ledger *l = &c->ledger;
	uint64_t now;
	size_t n;

	pthread_mutex_lock(&c->lock);
	/* Released is informational until mining pays out: measured at the wall clock, never
	 * before the newest block. */
	now = wall_clock();
	if (now < l->head_timestamp)
		now = l->head_timestamp;
	n = l->market.npools < max ? (size_t)l->market.npools : max;
	for (size_t i = 0; i < n; i++) {
		const struct chain_pool_state *p = &l->market.pools[i];

		pools[i].index = i;
		pools[i].balance = p->balance;
		pools[i].released = chain_market_released(p, l->pool_lifetime, now);
		pools[i].claimed = p->claimed;
		pools[i].full = p->full;
	}
	pthread_mutex_unlock(&c->lock);
	*ret_n = n;
	return 0;
}

/* ---- PoRA ---------------------------------------------------------------------------- */

/* Commit one transaction in a block of its own. */
static int commit_one(struct chain_local *c, const struct chain_tx *tx)
{
	struct chain_entry *unused = malloc(sizeof(*unused));
	int r;

	if (!unused)
		return -ENOMEM;
	r = commit_block(c, tx, tx ? 1 : 0, unused);
	free(unused);
	return r;
}

static int local_pora_setup(struct chain *base, const struct chain_pora_params *params)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	int r;

	if (!tx)
		return -ENOMEM;
	tx->type = CHAIN_TX_PORA_SETUP;
	tx->pora_setup.params = *params;
	pthread_mutex_lock(&c->lock);
	r = c->ledger.pora.enabled ? -EEXIST : chain_pora_params_check(params);
	if (r == 0)
		r = commit_one(c, tx);
	pthread_mutex_unlock(&c->lock);
	free(tx);
	return r;
}

static int local_pora_info(struct chain *base, struct chain_pora_info *ret_info)
{
	struct chain_local *c = to_local(base);
	const struct chain_pora_state *s = &c->ledger.pora;
	struct chain_pora_info i;
	int r = 0;

	memset(&i, 0, sizeof(i));
	pthread_mutex_lock(&c->lock);
	if (!s->enabled) {
		r = -CHAIN_EPORA_OFF;
		goto out;
	}
	i.params = s->params;
	i.height = c->ledger.height;
	i.epoch = s->epoch;
	memcpy(i.context, s->context, 32);
	memcpy(i.flow_root, s->flow_root, 32);
	i.flow_length = s->flow_length;
	i.mine_start = s->mine_start;
	if (s->have_context)
		chain_pora_subtask_digest_of(s, i.subtask_digest);
	memcpy(i.target, s->target, 32);
	i.epoch_answers = s->epoch_answers;
	i.accepted = s->accepted;
	i.paid = s->paid;
out:
	pthread_mutex_unlock(&c->lock);
	if (r == 0)
		*ret_info = i;
	return r;
}

static int local_pora_register(struct chain *base, uint64_t seed,
			       const uint8_t beneficiary[CHAIN_ADDRESS_SIZE], uint8_t ret_id[32])
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	uint8_t id[32];
	int r;

	if (!tx)
		return -ENOMEM;
	tx->type = CHAIN_TX_PORA_REGISTER;
	memcpy(tx->pora_register.sender, c->address, CHAIN_ADDRESS_SIZE);
	tx->pora_register.seed = seed;
	memcpy(tx->pora_register.beneficiary, beneficiary, CHAIN_ADDRESS_SIZE);
	pthread_mutex_lock(&c->lock);
	/* The id hashes the block before the registering one: the current head. */
	codec_pora_miner_id(c->ledger.head, c->address, seed, id);
	r = commit_one(c, tx);
	pthread_mutex_unlock(&c->lock);
	free(tx);
	if (r == 0)
		memcpy(ret_id, id, 32);
	return r;
}

static int local_pora_miner(struct chain *base, const uint8_t id[32],
			    uint8_t ret_beneficiary[CHAIN_ADDRESS_SIZE])
{
	struct chain_local *c = to_local(base);
	const struct chain_pora_state *s = &c->ledger.pora;
	int r = -ENOENT;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < s->nminers; i++)
		if (!memcmp(s->miners[i].id, id, 32)) {
			memcpy(ret_beneficiary, s->miners[i].beneficiary, CHAIN_ADDRESS_SIZE);
			r = 0;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_pora_miner_of(struct chain *base, const uint8_t beneficiary[CHAIN_ADDRESS_SIZE],
			       uint8_t ret_id[32])
{
	struct chain_local *c = to_local(base);
	const struct chain_pora_state *s = &c->ledger.pora;
	int r = -ENOENT;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < s->nminers; i++)
		if (!memcmp(s->miners[i].beneficiary, beneficiary, CHAIN_ADDRESS_SIZE)) {
			memcpy(ret_id, s->miners[i].id, 32);
			r = 0;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_pora_contexts(struct chain *base, size_t from, struct chain_pora_context *ctxs,
			       size_t max, size_t *ret_n)
{
	struct chain_local *c = to_local(base);
	const struct chain_pora_state *s = &c->ledger.pora;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (uint64_t i = from; i < s->ncontexts && n < max; i++)
		ctxs[n++] = s->contexts[i];
	pthread_mutex_unlock(&c->lock);
	*ret_n = n;
	return 0;
}

static int local_pora_tick(struct chain *base)
{
	struct chain_local *c = to_local(base);
	int r;

	pthread_mutex_lock(&c->lock);
	r = commit_one(c, NULL);
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_pora_submit(struct chain *base, const struct chain_pora_answer *a,
			     uint64_t *ret_reward)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	uint64_t before;
	int r;

	if (!tx)
		return -ENOMEM;
	tx->type = CHAIN_TX_PORA_ANSWER;
	memcpy(tx->pora_answer.sender, c->address, CHAIN_ADDRESS_SIZE);
	tx->pora_answer.answer = *a;
	pthread_mutex_lock(&c->lock);
	before = c->ledger.pora.paid;
	r = commit_one(c, tx);
	if (r == 0)
		*ret_reward = c->ledger.pora.paid - before;
	pthread_mutex_unlock(&c->lock);
	free(tx);
	return r;
}

static int local_account_balance(struct chain *base, const uint8_t address[CHAIN_ADDRESS_SIZE],
				 uint64_t *ret_balance)
{
	struct chain_local *c = to_local(base);
	struct chain_account_state *a;

	pthread_mutex_lock(&c->lock);
	a = chain_ledger_account(&c->ledger, address);
	*ret_balance = a ? a->balance : 0;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* ---- the node registry ------------------------------------------------------------------ */

/*
 * One machine is a cluster of one: no policy, and the only registration is 0/1 without a
 * takeover. It is kept in this handle and not in the ledger, whose blocks then stay what
 * they are: there is nobody else to read it, and a node registers again when it starts.
 */
static int local_registry_policy(struct chain *base, struct chain_policy *ret_policy)
{
	(void)base;
	*ret_policy = (struct chain_policy){0, 0};
	return 0;
}

static int local_registry_register(struct chain *base, const char *url, uint64_t shard_id,
				   uint64_t num_shard, const uint8_t *replaces, uint64_t *ret_index)
{
	struct chain_local *c = to_local(base);

	if (num_shard != 1 || (replaces && memcmp(replaces, c->address, CHAIN_ADDRESS_SIZE))) {
		chain_set_detail(num_shard != 1 ? "shard %llu/%llu" : "a takeover of another node",
				 (unsigned long long)shard_id, (unsigned long long)num_shard);
		return -CHAIN_ECLUSTER;
	}
	pthread_mutex_lock(&c->lock);
	memset(&c->self, 0, sizeof(c->self));
	memcpy(c->self.id, c->address, CHAIN_ADDRESS_SIZE);
	snprintf(c->self.url, sizeof(c->self.url), "%s", url);
	c->self.shard_id = 0;
	c->self.num_shard = 1;
	c->self.block = c->ledger.height;
	c->registered = true;
	pthread_mutex_unlock(&c->lock);
	*ret_index = 0;
	return 0;
}

static int local_registry_nodes(struct chain *base, struct chain_node *nodes, size_t max,
				size_t *ret_n)
{
	struct chain_local *c = to_local(base);
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	if (c->registered && max > 0)
		nodes[n++] = c->self;
	pthread_mutex_unlock(&c->lock);
	*ret_n = n;
	return 0;
}

/* ---- DA (chain/da_ledger.c applies the rules) ------------------------------------------ */

/* The time a transaction sent now lands at: block times never go backwards. */
static uint64_t now_ts(const struct chain_local *c)
{
	uint64_t ts = wall_clock();

	return ts < c->ledger.head_timestamp ? c->ledger.head_timestamp : ts;
}

static int da_enabled(const struct chain_local *c)
{
	if (c->ledger.da.enabled)
		return 0;
	chain_set_detail("the embedded ledger has no DA set up (zgfs node --da sets it up)");
	return -ENOENT;
}

static int local_da_setup(struct chain *base, const struct chain_da_config *cfg)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	int r;

	if (!tx)
		return -ENOMEM;
	tx->type = CHAIN_TX_DA_SETUP;
	tx->da_setup.cfg = *cfg;
	pthread_mutex_lock(&c->lock);
	r = c->ledger.da.enabled ? -EEXIST : chain_da_config_check(cfg);
	if (r == 0)
		r = commit_one(c, tx);
	pthread_mutex_unlock(&c->lock);
	free(tx);
	return r;
}

static int local_da_account(struct chain *base, uint8_t ret[CHAIN_ADDRESS_SIZE])
{
	memcpy(ret, to_local(base)->da_account, CHAIN_ADDRESS_SIZE);
	return 0;
}

static int local_da_contract(struct chain *base, struct chain_da_contract *ret)
{
	struct chain_local *c = to_local(base);
	const struct chain_da_state *s = &c->ledger.da;
	struct chain_da_contract d = {.seconds = true};
	const uint8_t *seed;
	uint64_t ts;
	int r;

	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	if (r == 0) {
		ts = now_ts(c);
		d.epoch_blocks = s->cfg.epoch_blocks;
		d.first_block = s->first_block;
		d.stake_unit = s->cfg.stake_unit;
		d.min_stake = s->cfg.min_stake;
		d.slots = s->cfg.slots;
		d.epoch = chain_da_state_epoch(s, ts);
		d.signers = s->nsigners;
		seed = chain_da_state_seed(s->seeds, d.epoch);
		d.has_seed = seed != NULL;
		if (seed)
			memcpy(d.seed, seed, 32);
		d.sample_blocks = s->cfg.sample_blocks;
		d.sample_window = s->cfg.sample_window;
		d.fee_per_kib = s->cfg.fee_per_kib;
		d.period = chain_da_state_period(s, ts);
		d.has_sample_seed = chain_da_state_seed(s->sample_seeds, d.period) != NULL;
		d.reward_pool = s->reward_pool;
	}
	pthread_mutex_unlock(&c->lock);
	if (r == 0)
		*ret = d;
	return r;
}

/* Commit DA transaction tx (its type and payload set here and by the caller). */
static int da_commit(struct chain_local *c, struct chain_tx *tx, uint8_t type)
{
	int r;

	tx->type = type;
	memcpy(tx->da.sender, c->address, CHAIN_ADDRESS_SIZE);
	memcpy(tx->da.account, c->da_account, CHAIN_ADDRESS_SIZE);
	r = da_enabled(c);
	return r < 0 ? r : commit_one(c, tx);
}

static int local_da_register(struct chain *base, const uint8_t vrf_key[32], const char *url,
			     uint64_t stake)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	int r;

	if (!tx)
		return -ENOMEM;
	memcpy(tx->da.key, vrf_key, 32);
	tx->da.value = stake;
	tx->da.len = (uint32_t)strlen(url);
	tx->da.data = (uint8_t *)url;
	pthread_mutex_lock(&c->lock);
	r = da_commit(c, tx, CHAIN_TX_DA_REGISTER);
	pthread_mutex_unlock(&c->lock);
	free(tx);
	return r;
}

/* The draw record of epoch e: 0, -ENOENT, or -errno (c->lock held). */
static int load_draw(struct chain_local *c, uint64_t e, struct chain_da_draw_record *ret)
{
	char key[KEY_SIZE], *val = NULL;
	size_t len;
	int r;

	make_key(key, KEY_DRAW, e);
	r = db_get(c, key, sizeof(key), &val, &len);
	if (r < 0)
		return r;
	r = chain_da_draw_record_decode((const uint8_t *)val, len, ret);
	leveldb_free(val);
	return r;
}

static int local_da_signers(struct chain *base, uint64_t epoch, struct chain_da_signer *signers,
			    size_t max, size_t *ret_n)
{
	struct chain_local *c = to_local(base);
	const struct chain_da_state *s = &c->ledger.da;
	struct chain_da_draw_record *d = malloc(sizeof(*d));
	size_t n = 0;
	bool old;
	int r;

	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	/* An epoch the proof rings have left: its draw record, when something certified in
	 * it. */
	old = r == 0 && load_draw(c, epoch, d) == 0;
	for (size_t i = 0; r == 0 && i < s->nsigners && n < max; i++, n++) {
		const struct chain_da_signer_state *g = &s->signers[i];
		const uint8_t *proof = chain_da_state_proof(g, epoch);

		for (int j = 0; old && !proof && j < d->n; j++)
			if (!memcmp(d->p[j].account, g->account, CHAIN_ADDRESS_SIZE))
				proof = d->p[j].proof;

		memset(&signers[n], 0, sizeof(signers[n]));
		memcpy(signers[n].account, g->account, CHAIN_ADDRESS_SIZE);
		memcpy(signers[n].vrf_key, g->vrf_key, 32);
		signers[n].stake = g->stake;
		signers[n].has_proof = proof != NULL;
		if (proof)
			memcpy(signers[n].proof, proof, CODEC_VRF_PROOF_SIZE);
		snprintf(signers[n].url, sizeof(signers[n].url), "%s", g->url);
	}
	pthread_mutex_unlock(&c->lock);
	free(d);
	if (r == 0)
		*ret_n = n;
	return r;
}

static int local_da_seed(struct chain *base, uint64_t epoch, uint8_t ret_seed[32])
{
	struct chain_local *c = to_local(base);
	struct chain_da_draw_record d[1];
	const uint8_t *seed;
	int r;

	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	if (r == 0) {
		seed = chain_da_state_seed(c->ledger.da.seeds, epoch);
		if (seed)
			memcpy(ret_seed, seed, 32);
		else if (load_draw(c, epoch + 1, d) == 0)
			memcpy(ret_seed, d->seed, 32);
		else
			r = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* makeSeed() and makeSampleSeed(): a block records the seeds of the epoch and the period
 * it lands in when it begins, so an empty block when the current one has none. */
static int da_make_seeds(struct chain *base, bool sample)
{
	struct chain_local *c = to_local(base);
	const struct chain_da_state *s = &c->ledger.da;
	uint64_t ts;
	int r;

	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	ts = now_ts(c);
	if (r == 0 && !(sample ? chain_da_state_seed(s->sample_seeds, chain_da_state_period(s, ts))
			       : chain_da_state_seed(s->seeds, chain_da_state_epoch(s, ts))))
		r = commit_one(c, NULL);
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_da_make_seed(struct chain *base)
{
	return da_make_seeds(base, false);
}

static int local_da_make_sample_seed(struct chain *base)
{
	return da_make_seeds(base, true);
}

static int local_da_publish(struct chain *base, uint64_t epoch, const uint8_t proof[80])
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	int r;

	if (!tx)
		return -ENOMEM;
	tx->da.epoch = epoch;
	tx->da.len = CODEC_VRF_PROOF_SIZE;
	tx->da.data = (uint8_t *)proof;
	pthread_mutex_lock(&c->lock);
	r = da_commit(c, tx, CHAIN_TX_DA_PUBLISH);
	pthread_mutex_unlock(&c->lock);
	free(tx);
	return r;
}

static int local_da_certify(struct chain *base, const struct chain_da_quorum *q,
			    const struct chain_da_cert *cert, unsigned *ret_slots)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	uint8_t *enc = malloc(CHAIN_DA_CERT_MAX);
	const struct chain_da_cert_state *rec;
	int r = -ENOMEM;

	(void)q; /* the ledger draws the quorum itself */
	if (!tx || !enc)
		goto out;
	tx->da.len = (uint32_t)chain_da_cert_encode(cert, enc);
	tx->da.data = enc;
	memcpy(tx->da.root, cert->data_root, 32);
	if (tx->da.len == 0) {
		r = -EINVAL;
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	r = da_commit(c, tx, CHAIN_TX_DA_CERTIFY);
	rec = r == 0 ? chain_da_state_cert(&c->ledger.da, cert->data_root) : NULL;
	if (rec)
		*ret_slots = rec->slots_signed;
	pthread_mutex_unlock(&c->lock);
out:
	free(tx);
	free(enc);
	return r;
}

static int local_da_certificate(struct chain *base, const uint8_t data_root[32],
				struct chain_da_record *ret)
{
	struct chain_local *c = to_local(base);
	const struct chain_da_cert_state *s;
	int r;

	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	s = r == 0 ? chain_da_state_cert(&c->ledger.da, data_root) : NULL;
	if (r == 0 && !s)
		r = -ENOENT;
	if (s) {
		*ret = (struct chain_da_record){.epoch = s->epoch,
						.len = s->len,
						.slots_signed = s->slots_signed,
						.block = s->block,
						.fee = s->fee,
						.members = s->members,
						.signers = s->nsigners,
						.voided = s->voided};
		memcpy(ret->quorum, s->quorum, 32);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_da_void(struct chain *base, const uint8_t data_root[32], const uint8_t *proof,
			 size_t len)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	int r;

	if (!tx)
		return -ENOMEM;
	memcpy(tx->da.root, data_root, 32);
	tx->da.len = (uint32_t)len;
	tx->da.data = (uint8_t *)proof;
	pthread_mutex_lock(&c->lock);
	r = da_commit(c, tx, CHAIN_TX_DA_VOID);
	pthread_mutex_unlock(&c->lock);
	free(tx);
	return r;
}

static int local_da_challenge(struct chain *base, const uint8_t data_root[32],
			      const uint8_t account[CHAIN_ADDRESS_SIZE],
			      struct chain_da_challenge *ret)
{
	struct chain_local *c = to_local(base);
	const struct chain_da_state *s = &c->ledger.da;
	const uint8_t *seed;
	uint64_t p;
	int r;

	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	if (r == 0) {
		p = chain_da_state_period(s, now_ts(c));
		seed = chain_da_state_seed(s->sample_seeds, p);
		if (seed)
			chain_da_state_challenge(s, chain_da_state_cert(s, data_root), account, p,
						 seed, ret);
		else
			r = -ENOENT;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_da_answer(struct chain *base, const uint8_t data_root[32], const uint8_t *share,
			   size_t share_size, const struct codec_da_proof *proof)
{
	struct chain_local *c = to_local(base);
	struct chain_tx *tx = calloc(1, sizeof(*tx));
	uint8_t *buf = malloc(share_size + CODEC_DA_PROOF_MAX);
	int r = -ENOMEM;

	if (!tx || !buf)
		goto out;
	memcpy(buf, share, share_size);
	tx->da.len = (uint32_t)(share_size + codec_da_proof_encode(proof, buf + share_size));
	tx->da.data = buf;
	tx->da.value = share_size;
	memcpy(tx->da.root, data_root, 32);
	pthread_mutex_lock(&c->lock);
	r = da_commit(c, tx, CHAIN_TX_DA_ANSWER);
	pthread_mutex_unlock(&c->lock);
out:
	free(tx);
	free(buf);
	return r;
}

static int local_da_earned(struct chain *base, const uint8_t account[CHAIN_ADDRESS_SIZE],
			   uint64_t *ret_wei)
{
	struct chain_local *c = to_local(base);
	const struct chain_da_signer_state *g;
	int r;

	pthread_mutex_lock(&c->lock);
	r = da_enabled(c);
	g = r == 0 ? chain_da_state_signer(&c->ledger.da, account) : NULL;
	if (r == 0)
		*ret_wei = g ? g->earned : 0;
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int local_sign_digest(struct chain *base, const uint8_t digest[32], uint8_t ret_sig[65])
{
	return chain_da_sign(to_local(base)->da_secret, digest, ret_sig);
}

/* The secp256k1 key of DA signatures: keccak256(tag ‖ ed25519 seed ‖ counter), the first
 * counter that gives a valid secret. */
static int derive_da_key(struct chain_local *c)
{
	static const char tag[] = "zgfs embedded ledger da key";
	uint8_t buf[sizeof(tag) + 32 + 1];

	memcpy(buf, tag, sizeof(tag));
	memcpy(buf + sizeof(tag), c->sk, 32);
	for (unsigned i = 0; i < 256; i++) {
		buf[sizeof(buf) - 1] = (uint8_t)i;
		codec_keccak256(buf, sizeof(buf), c->da_secret);
		if (chain_da_account(c->da_secret, c->da_account) == 0) {
			sodium_memzero(buf, sizeof(buf));
			return 0;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	return -EINVAL;
}

/* ---- chain_verify ---------------------------------------------------------------------- */

struct verifier {
	struct chain_local *c;
	struct chain_ledger replay;
	struct chain_verify_report rep;
	struct chain_entry entry; /* scratch for one settled entry */
	struct chain_wbuf w;	  /* scratch for one record */
};

__attribute__((format(printf, 3, 4))) static int tampered(struct verifier *v, uint64_t block,
							  const char *fmt, ...)
{
	va_list ap;

	v->rep.bad_block = block;
	va_start(ap, fmt);
	vsnprintf(v->rep.reason, sizeof(v->rep.reason), fmt, ap);
	va_end(ap);
	return -CHAIN_ETAMPERED;
}

/* The stored record under key must be exactly the bytes the replay produces. Returns 0,
 * 1 for a difference or a missing record, or -errno. */
static int differs(struct verifier *v, const char *key, size_t klen)
{
	char *val = NULL;
	size_t len;
	int r;

	if (v->w.err)
		return v->w.err;
	r = db_get(v->c, key, klen, &val, &len);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	r = len != v->w.len || memcmp(val, v->w.data, len) != 0;
	leveldb_free(val);
	return r;
}

/* Replay block h onto v->replay. Returns 0, 1 when there is no block h, -CHAIN_ETAMPERED
 * (report filled), or -errno. */
static int replay_block(struct verifier *v, uint64_t h)
{
	struct chain_ledger *l = &v->replay;
	struct chain_block b;
	const uint8_t *signer;
	uint8_t hash[CODEC_HASH_SIZE], root[CODEC_HASH_SIZE];
	char key[KEY_SIZE], *val = NULL;
	size_t len;
	int r;

	make_key(key, KEY_BLOCK, h);
	r = db_get(v->c, key, sizeof(key), &val, &len);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	r = chain_block_decode((const uint8_t *)val, len, &b, hash);
	leveldb_free(val);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return tampered(v, h, "block %llu is malformed", (unsigned long long)h);

	if (b.height != h) {
		r = tampered(v, h, "block %llu claims height %llu", (unsigned long long)h,
			     (unsigned long long)b.height);
		goto out;
	}
	if (h == 0) {
		/* Genesis names the key that signs everything; it must be this node's. */
		if (b.ntx != 1 || b.txs[0].type != CHAIN_TX_GENESIS) {
			r = tampered(v, h, "block 0 is not a genesis block");
			goto out;
		}
		if (memcmp(b.txs[0].genesis.authority, v->c->pk, CHAIN_PUBKEY_SIZE)) {
			r = tampered(v, h, "genesis names another signing key");
			goto out;
		}
		signer = b.txs[0].genesis.authority;
	} else {
		signer = l->authority;
		if (memcmp(b.prev, l->head, CODEC_HASH_SIZE)) {
			r = tampered(v, h, "block %llu does not link to block %llu",
				     (unsigned long long)h, (unsigned long long)(h - 1));
			goto out;
		}
		if (b.timestamp < l->head_timestamp) {
			r = tampered(v, h, "block %llu is older than its parent",
				     (unsigned long long)h);
			goto out;
		}
	}
	if (!chain_block_signed_by(&b, hash, signer)) {
		r = tampered(v, h, "block %llu: signature does not verify (hash or bytes altered)",
			     (unsigned long long)h);
		goto out;
	}
	if (chain_ledger_begin_block(l, h, b.timestamp) < 0) {
		r = tampered(v, h, "block %llu: the epoch's difficulty update overflows",
			     (unsigned long long)h);
		goto out;
	}
	for (size_t i = 0; i < b.ntx; i++) {
		r = chain_ledger_apply(l, &b.txs[i], h, b.timestamp, &v->entry);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			r = tampered(v, h, "block %llu: transaction %zu does not apply: %s",
				     (unsigned long long)h, i, chain_strerror(r));
			goto out;
		}
		/* An answer that applies has passed every check of submit again. */
		if (b.txs[i].type == CHAIN_TX_PORA_ANSWER)
			v->rep.answers++;
		if (b.txs[i].type == CHAIN_TX_DA_CERTIFY) {
			uint64_t e = 0;

			r = draw_record_of(l, &b.txs[i], &v->w, &e);
			make_key(key, KEY_DRAW, e);
			r = r < 0 ? r : differs(v, key, sizeof(key));
			if (r < 0)
				goto out;
			if (r) {
				r = tampered(v, h,
					     "block %llu: the stored draw of DA epoch %llu differs",
					     (unsigned long long)h, (unsigned long long)e);
				goto out;
			}
		}
		if (b.txs[i].type != CHAIN_TX_SUBMIT)
			continue;
		v->w.len = 0;
		chain_entry_encode(&v->entry, &v->w);
		make_key(key, KEY_ENTRY, v->entry.tx_seq);
		r = differs(v, key, sizeof(key));
		if (r < 0)
			goto out;
		if (r) {
			r = tampered(v, h, "block %llu: stored entry %llu differs from the block",
				     (unsigned long long)h, (unsigned long long)v->entry.tx_seq);
			goto out;
		}
	}
	chain_flowtree_root(&l->flow, root);
	if (b.chain_id != l->chain_id || b.flow_length != l->flow.length ||
	    memcmp(b.flow_root, root, CODEC_HASH_SIZE) || b.next_tx_seq != l->next_tx_seq) {
		r = tampered(v, h, "block %llu: its flow commitment differs from the replay",
			     (unsigned long long)h);
		goto out;
	}
	l->height = h;
	l->head_timestamp = b.timestamp;
	memcpy(l->head, hash, CODEC_HASH_SIZE);
	v->rep.blocks++;
	r = 0;
out:
	chain_block_release(&b);
	return r;
}

/* Which field of the stored state differs from the replay, for the report. */
static const char *state_difference(const struct chain_ledger *s, const struct chain_ledger *l)
{
	if (s->height != l->height || memcmp(s->head, l->head, CODEC_HASH_SIZE) ||
	    s->head_timestamp != l->head_timestamp)
		return "chain head";
	if (s->flow.length != l->flow.length)
		return "flow length";
	if (s->flow.depth != l->flow.depth ||
	    memcmp(s->flow.stack, l->flow.stack, s->flow.depth * sizeof(s->flow.stack[0])))
		return "flow root";
	if (s->next_tx_seq != l->next_tx_seq)
		return "next tx seq";
	if (s->naccounts != l->naccounts ||
	    memcmp(s->accounts, l->accounts, s->naccounts * sizeof(s->accounts[0])))
		return "account balances";
	if (s->market.donation != l->market.donation)
		return "donation pool";
	if (memcmp(&s->pora, &l->pora, sizeof(s->pora)))
		return "PoRA state";
	if (s->da.enabled != l->da.enabled || s->da.ncerts != l->da.ncerts ||
	    s->da.reward_pool != l->da.reward_pool || s->da.nsigners != l->da.nsigners ||
	    memcmp(s->da.signers, l->da.signers, s->da.nsigners * sizeof(s->da.signers[0])))
		return "DA state";
	return "chain parameters";
}

static int verify_state(struct verifier *v)
{
	struct chain_ledger *l = &v->replay, *stored;
	uint64_t head = l->height, npools;
	char key[KEY_SIZE], *val = NULL;
	size_t len;
	bool has;
	int r;

	/* Records beyond what the replay produced. */
	r = db_has_from(v->c, KEY_ENTRY, l->next_tx_seq, &has);
	if (r < 0)
		return r;
	if (has)
		return tampered(v, head, "an entry is stored beyond tx seq %llu",
				(unsigned long long)l->next_tx_seq);
	r = db_has_from(v->c, KEY_POOL, l->market.npools, &has);
	if (r < 0)
		return r;
	if (has)
		return tampered(v, head, "a pool is stored beyond pool %llu",
				(unsigned long long)l->market.npools);
	for (uint64_t i = 0; i < l->market.npools; i++) {
		v->w.len = 0;
		chain_pool_encode(&l->market.pools[i], &v->w);
		make_key(key, KEY_POOL, i);
		r = differs(v, key, sizeof(key));
		if (r < 0)
			return r;
		if (r)
			return tampered(v, head, "stored reward pool %llu differs from the replay",
					(unsigned long long)i);
	}
	r = db_has_from(v->c, KEY_CERT, l->da.ncerts, &has);
	if (r < 0)
		return r;
	if (has)
		return tampered(v, head, "a DA certificate is stored beyond %llu",
				(unsigned long long)l->da.ncerts);
	for (uint64_t i = 0; i < l->da.ncerts; i++) {
		v->w.len = 0;
		chain_da_cert_state_encode(&l->da.certs[i], &v->w);
		make_key(key, KEY_CERT, i);
		r = differs(v, key, sizeof(key));
		if (r < 0)
			return r;
		if (r)
			return tampered(v, head,
					"stored DA certificate %llu differs from the replay",
					(unsigned long long)i);
	}
	if (!chain_ledger_conserved(l))
		return tampered(v, head, "value is not conserved");

	key[0] = KEY_STATE;
	v->w.len = 0;
	chain_state_encode(l, &v->w);
	r = differs(v, key, 1);
	if (r <= 0)
		return r;
	/* Name the field, when the record decodes at all. */
	r = db_get(v->c, key, 1, &val, &len);
	if (r < 0)
		return r == -ENOENT ? tampered(v, head, "the state record is missing") : r;
	stored = malloc(sizeof(*stored));
	if (!stored) {
		leveldb_free(val);
		return -ENOMEM;
	}
	chain_ledger_init(stored);
	r = chain_state_decode((const uint8_t *)val, len, stored, &npools);
	leveldb_free(val);
	if (r < 0)
		r = tampered(v, head, "the state record is malformed");
	else if (stored->height > head)
		r = tampered(v, head + 1, "block %llu is missing", (unsigned long long)(head + 1));
	else
		r = tampered(v, head, "stored %s differs from the replay",
			     state_difference(stored, l));
	free(stored);
	return r;
}

static int local_verify(struct chain *base, chain_progress_fn *fn, void *ctx,
			struct chain_verify_report *ret_report)
{
	struct chain_local *c = to_local(base);
	struct verifier *v = calloc(1, sizeof(*v));
	int r = 0;

	if (!v)
		return -ENOMEM;
	v->c = c;
	chain_ledger_init(&v->replay);
	chain_wbuf_init(&v->w, CHAIN_RECORD_MAX_BYTES);
	pthread_mutex_lock(&c->lock);
	for (uint64_t h = 0;; h++) {
		r = replay_block(v, h);
		if (r == 1 && h == 0)
			r = tampered(v, 0, "block 0 is missing");
		if (r)
			break;
		if (fn)
			fn(ctx, h + 1, c->ledger.height + 1);
	}
	if (r == 1)
		r = verify_state(v);
	pthread_mutex_unlock(&c->lock);
	v->rep.entries = v->replay.next_tx_seq;
	if (r == 0 || r == -CHAIN_ETAMPERED)
		*ret_report = v->rep;
	chain_wbuf_release(&v->w);
	chain_ledger_release(&v->replay);
	free(v);
	return r;
}

static const struct chain_ops local_ops = {
    .close = local_close,
    .submit = local_submit,
    .submit_lazy = local_submit_lazy,
    .entry_get = local_entry_get,
    .flow_info = local_flow_info,
    .account = local_account,
    .donate = local_donate,
    .donations = local_donations,
    .pools = local_pools,
    .verify = local_verify,
    .pora_setup = local_pora_setup,
    .pora_info = local_pora_info,
    .pora_register = local_pora_register,
    .pora_miner = local_pora_miner,
    .pora_miner_of = local_pora_miner_of,
    .pora_contexts = local_pora_contexts,
    .pora_tick = local_pora_tick,
    .pora_submit = local_pora_submit,
    .account_balance = local_account_balance,
    .registry_policy = local_registry_policy,
    .registry_register = local_registry_register,
    .registry_nodes = local_registry_nodes,
    .da_contract = local_da_contract,
    .da_register = local_da_register,
    .da_signers = local_da_signers,
    .da_seed = local_da_seed,
    .da_make_seed = local_da_make_seed,
    .da_publish = local_da_publish,
    .da_certify = local_da_certify,
    .da_certificate = local_da_certificate,
    .da_void = local_da_void,
    .da_make_sample_seed = local_da_make_sample_seed,
    .da_challenge = local_da_challenge,
    .da_answer = local_da_answer,
    .da_earned = local_da_earned,
    .sign_digest = local_sign_digest,
    .da_setup = local_da_setup,
    .da_account = local_da_account,
};
