/*
 * The embedded ledger's DA rules (da_ledger_i.h): DA.sol's checks in DA.sol's order, each
 * refusal with the contract's reason, so that a signer or a client meets the same answers
 * on one machine as on an EVM chain. Every transaction is checked in full before the
 * first field changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/ledger_i.h"
#include "codec/da.h"
#include "codec/endian.h"
#include "codec/errors.h"
#include "codec/keccak.h"

#define CERT_VERSION 1
#define DRAW_VERSION 1
#define SAMPLE_TAG   "zgfs da sample"

/* A refusal as the contract words it. */
#define REVERT(...) (chain_set_detail(__VA_ARGS__), -CHAIN_EREVERTED)

uint64_t chain_da_state_epoch(const struct chain_da_state *s, uint64_t ts)
{
	return ts > s->first_time ? (ts - s->first_time) / s->cfg.epoch_blocks : 0;
}

uint64_t chain_da_state_period(const struct chain_da_state *s, uint64_t ts)
{
	return ts > s->first_time ? (ts - s->first_time) / s->cfg.sample_blocks : 0;
}

const uint8_t *chain_da_state_seed(const struct chain_da_seed_state *ring, uint64_t n)
{
	const struct chain_da_seed_state *e = &ring[n % CHAIN_DA_LOCAL_SEEDS];

	return e->n1 == n + 1 ? e->seed : NULL;
}

static void record_seed(struct chain_da_seed_state *ring, uint64_t n, const uint8_t seed[32])
{
	struct chain_da_seed_state *e = &ring[n % CHAIN_DA_LOCAL_SEEDS];

	if (e->n1 == n + 1)
		return;
	e->n1 = n + 1;
	memcpy(e->seed, seed, 32);
}

struct chain_da_signer_state *chain_da_state_signer(struct chain_da_state *s,
						    const uint8_t account[CHAIN_ADDRESS_SIZE])
{
	for (size_t i = 0; i < s->nsigners; i++)
		if (!memcmp(s->signers[i].account, account, CHAIN_ADDRESS_SIZE))
			return &s->signers[i];
	return NULL;
}

const uint8_t *chain_da_state_proof(const struct chain_da_signer_state *s, uint64_t e)
{
	const __typeof__(s->proofs[0]) *p = &s->proofs[e % CHAIN_DA_LOCAL_PROOFS];

	return p->epoch1 == e + 1 ? p->proof : NULL;
}

struct chain_da_cert_state *chain_da_state_cert(const struct chain_da_state *s,
						const uint8_t root[32])
{
	/* Newest first: a blob is looked at most while it is young. */
	for (uint64_t i = s->ncerts; i-- > 0;)
		if (!memcmp(s->certs[i].root, root, 32))
			return &s->certs[i];
	return NULL;
}

/* (x >> (256 − 8·bytes)) mod m for a 256-bit big-endian x; m is at most 256 here (slots,
 * rows), far below the 2^56 that keeps acc · 256 in range. */
static uint64_t mod_be(const uint8_t *x, size_t bytes, uint64_t m)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < bytes; i++)
		acc = ((acc << 8) | x[i]) % m;
	return acc;
}

void chain_da_state_challenge(const struct chain_da_state *s, const struct chain_da_cert_state *c,
			      const uint8_t account[CHAIN_ADDRESS_SIZE], uint64_t p,
			      const uint8_t seed[32], struct chain_da_challenge *ret)
{
	struct codec_keccak k;
	uint8_t x[32];
	uint64_t cp, slots = s->cfg.slots, members, rank, j, m, r0;
	unsigned side;
	size_t size;
	int i;

	*ret = (struct chain_da_challenge){.period = p};
	if (!c || c->voided)
		return;
	for (i = 0; i < c->nsigners; i++)
		if (!memcmp(c->sig[i].account, account, CHAIN_ADDRESS_SIZE))
			break;
	if (i == c->nsigners || c->sig[i].answered1 == p + 1)
		return;
	cp = chain_da_state_period(s, c->time);
	if (p <= cp || p > cp + s->cfg.sample_window || codec_da_geometry(c->len, &side, &size) < 0)
		return;
	codec_keccak_init(&k);
	codec_keccak_update(&k, SAMPLE_TAG, sizeof(SAMPLE_TAG)); /* with its NUL */
	codec_keccak_update(&k, seed, 32);
	codec_keccak_update(&k, c->root, 32);
	codec_keccak_update(&k, account, CHAIN_ADDRESS_SIZE);
	codec_keccak_final(&k, x);
	/* DA.challenge(): a slot of the signer's, then one of that slot's rows, then a column. */
	members = c->members;
	rank = c->sig[i].rank;
	j = rank + members * mod_be(x, 32, (slots - rank - 1 + members) / members);
	m = 2ull * side < slots ? 2ull * side : slots;
	r0 = j % m;
	ret->row = (unsigned)(r0 + m * mod_be(x, 24, (2ull * side - r0 + m - 1) / m));
	ret->col = (unsigned)mod_be(x, 16, 2ull * side);
	ret->due = true;
}

int chain_da_state_fee(const struct chain_da_state *s, uint64_t len, uint64_t *ret_fee)
{
	uint64_t kib = len / 1024 + (len % 1024 != 0);

	if (__builtin_mul_overflow(s->cfg.fee_per_kib, kib ? kib : 1, ret_fee))
		return -EOVERFLOW;
	return 0;
}

int chain_da_config_check(const struct chain_da_config *cfg)
{
	if (cfg->epoch_blocks < 1 || cfg->stake_unit < 1 || cfg->slots < 1 ||
	    cfg->slots > CHAIN_DA_SLOTS_MAX || cfg->sample_blocks < 1 || cfg->sample_window < 1) {
		chain_set_detail(
		    "DA parameters: an epoch, a stake unit, a sampling period and window "
		    "of at least 1, and 1 to %d slots",
		    CHAIN_DA_SLOTS_MAX);
		return -EINVAL;
	}
	return 0;
}

int chain_da_state_reserve(struct chain_da_state *s, uint64_t n)
{
	struct chain_da_cert_state *p;
	uint64_t cap;

	if (n <= s->cap)
		return 0;
	if (n > CHAIN_DA_LOCAL_CERTS_MAX)
		return -ENOSPC;
	cap = s->cap ? s->cap : 64;
	while (cap < n)
		cap *= 2;
	if (cap > CHAIN_DA_LOCAL_CERTS_MAX)
		cap = CHAIN_DA_LOCAL_CERTS_MAX;
	p = realloc(s->certs, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->certs = p;
	s->cap = cap;
	return 0;
}

void chain_da_state_release(struct chain_da_state *s)
{
	if (!s)
		return;
	free(s->certs);
	s->certs = NULL;
	s->cap = s->ncerts = 0;
}

bool chain_da_state_value(const struct chain_da_state *s, uint64_t *sum)
{
	if (__builtin_add_overflow(*sum, s->reward_pool, sum))
		return false;
	for (size_t i = 0; i < s->nsigners; i++)
		if (__builtin_add_overflow(*sum, s->signers[i].stake, sum) ||
		    __builtin_add_overflow(*sum, s->signers[i].earned, sum))
			return false;
	return true;
}

/* ---- transactions ---------------------------------------------------------------------- */

void chain_ledger_da_begin_block(struct chain_ledger *l, uint64_t timestamp)
{
	struct chain_da_state *s = &l->da;

	s->in_block = false;
	s->touched1 = 0;
	if (!s->enabled)
		return;
	/* The head is the block before this one: nobody could choose its hash for the time
	 * this block lands in, short of the ledger's own key (docs/DA.md). */
	record_seed(s->seeds, chain_da_state_epoch(s, timestamp), l->head);
	record_seed(s->sample_seeds, chain_da_state_period(s, timestamp), l->head);
}

void chain_ledger_da_rollback(struct chain_ledger *l, uint64_t saved_ncerts)
{
	struct chain_da_state *s = &l->da;

	if (s->touched1 && s->touched1 - 1 < saved_ncerts)
		s->certs[s->touched1 - 1] = s->before;
}

/* Keep certificate i as it is before the block's one change to it. */
static void touch(struct chain_da_state *s, uint64_t i)
{
	s->in_block = true;
	s->touched1 = i + 1;
	if (i < s->ncerts)
		s->before = s->certs[i];
}

static int da_setup(struct chain_ledger *l, const struct chain_da_config *cfg, uint64_t height,
		    uint64_t ts)
{
	struct chain_da_state *s = &l->da;
	int r;

	if (s->enabled)
		return -EEXIST;
	r = chain_da_config_check(cfg);
	if (r < 0)
		return r;
	s->enabled = true;
	s->cfg = *cfg;
	if (s->cfg.min_stake < s->cfg.stake_unit)
		s->cfg.min_stake = s->cfg.stake_unit;
	s->first_block = height;
	s->first_time = ts;
	record_seed(s->seeds, 0, l->head);
	record_seed(s->sample_seeds, 0, l->head);
	return 0;
}

static int da_register(struct chain_ledger *l, const struct chain_da_tx *t, uint64_t height)
{
	struct chain_da_state *s = &l->da;
	struct chain_account_state *payer = chain_ledger_account(l, t->sender);
	struct chain_da_signer_state *g = chain_da_state_signer(s, t->account);
	static const uint8_t zero[32];
	uint64_t stake;

	if (!payer)
		return -EINVAL;
	if (t->len == 0 || t->len > CHAIN_REGISTRY_URL_MAX || memchr(t->data, 0, t->len))
		return REVERT("DA: URL must be 1 to 256 bytes");
	if (!memcmp(t->key, zero, 32))
		return REVERT("DA: no VRF key");
	if (!g && s->nsigners == CHAIN_DA_LOCAL_SIGNERS)
		return REVERT("DA: the embedded ledger registers at most %d signers",
			      CHAIN_DA_LOCAL_SIGNERS);
	if (payer->balance < t->value)
		return -CHAIN_EFUNDS;
	if (__builtin_add_overflow(g ? g->stake : 0, t->value, &stake))
		return -EOVERFLOW;
	if (stake < s->cfg.min_stake)
		return REVERT("DA: stake below minStake");
	if (!g) {
		g = &s->signers[s->nsigners++];
		memset(g, 0, sizeof(*g));
		memcpy(g->account, t->account, CHAIN_ADDRESS_SIZE);
	}
	payer->balance -= t->value;
	memcpy(g->payer, t->sender, CHAIN_ADDRESS_SIZE);
	memcpy(g->vrf_key, t->key, 32);
	g->stake = stake;
	memcpy(g->url, t->data, t->len);
	g->url[t->len] = '\0';
	g->registered = height;
	return 0;
}

static int da_publish(struct chain_ledger *l, const struct chain_da_tx *t, uint64_t ts)
{
	struct chain_da_signer_state *g = chain_da_state_signer(&l->da, t->account);
	__typeof__(g->proofs[0]) *p;

	if (!g)
		return REVERT("DA: not a registered signer");
	if (t->epoch != chain_da_state_epoch(&l->da, ts) + 1)
		return REVERT("DA: proofs are published for the next epoch");
	if (t->len != CODEC_VRF_PROOF_SIZE)
		return REVERT("DA: a VRF proof is 80 bytes");
	p = &g->proofs[t->epoch % CHAIN_DA_LOCAL_PROOFS];
	p->epoch1 = t->epoch + 1;
	memcpy(p->proof, t->data, CODEC_VRF_PROOF_SIZE);
	return 0;
}

/* Epoch e's draw from the ledger's own signers, proofs and seed (as chain_da_draw()). */
static int da_draw(const struct chain_ledger *l, uint64_t e, struct chain_da_epoch *ret_ep,
		   struct chain_da_quorum *ret_q)
{
	const struct chain_da_state *s = &l->da;
	struct chain_da_signer list[CHAIN_DA_LOCAL_SIGNERS];
	const uint8_t *seed = e ? chain_da_state_seed(s->seeds, e - 1) : NULL;
	size_t n = 0;

	if (!seed)
		return REVERT("DA: no seed for the epoch before this one");
	*ret_ep = (struct chain_da_epoch){.chain_id = l->chain_id,
					  .epoch = e,
					  .stake_unit = s->cfg.stake_unit,
					  .slots = s->cfg.slots};
	memcpy(ret_ep->seed, seed, 32);
	for (size_t i = 0; i < s->nsigners; i++) {
		const struct chain_da_signer_state *g = &s->signers[i];
		const uint8_t *proof = chain_da_state_proof(g, e);

		if (!proof || g->stake < s->cfg.min_stake)
			continue;
		memset(&list[n], 0, sizeof(list[n]));
		memcpy(list[n].account, g->account, CHAIN_ADDRESS_SIZE);
		memcpy(list[n].vrf_key, g->vrf_key, 32);
		memcpy(list[n].proof, proof, CODEC_VRF_PROOF_SIZE);
		list[n].stake = g->stake;
		list[n++].has_proof = true;
	}
	return chain_da_quorum(ret_ep, list, n, ret_q) < 0
		   ? REVERT("DA: no staked signer with a proof for the epoch")
		   : 0;
}

static int da_certify(struct chain_ledger *l, const struct chain_da_tx *t, uint64_t height,
		      uint64_t ts)
{
	struct chain_da_state *s = &l->da;
	struct chain_account_state *payer = chain_ledger_account(l, t->sender);
	struct chain_da_cert cert;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	struct chain_da_cert_state *c;
	unsigned slots = 0, side;
	uint64_t fee;
	size_t size;
	int r;

	if (!payer)
		return -EINVAL;
	if (chain_da_cert_decode(t->data, t->len, &cert) < 0)
		return REVERT("DA: the certificate does not decode");
	if (cert.epoch > chain_da_state_epoch(s, ts))
		return REVERT("DA: a future epoch");
	if (chain_da_state_cert(s, cert.data_root))
		return REVERT("DA: already certified");
	if (codec_da_geometry(cert.len, &side, &size) < 0)
		return REVERT("DA: a blob of at most %u bytes", CODEC_DA_MAX_BLOB);
	if (chain_da_state_fee(s, cert.len, &fee) < 0 || payer->balance < fee)
		return -CHAIN_EFUNDS;
	r = da_draw(l, cert.epoch, &ep, &q);
	if (r < 0)
		return r;
	r = chain_da_cert_verify(&ep, &q, &cert, &slots);
	if (r < 0)
		return r;
	if (cert.nsigs > CHAIN_DA_LOCAL_SIGNERS)
		return -EINVAL; /* ranks are below members, at most the signers registered */
	r = chain_da_state_reserve(s, s->ncerts + 1);
	if (r < 0)
		return r;
	touch(s, s->ncerts);
	c = &s->certs[s->ncerts++];
	memset(c, 0, sizeof(*c));
	memcpy(c->root, cert.data_root, 32);
	memcpy(c->quorum, cert.quorum, 32);
	c->epoch = cert.epoch;
	c->len = cert.len;
	c->block = height;
	c->time = ts;
	c->fee = fee;
	c->slots_signed = (uint16_t)slots;
	c->members = (uint8_t)q.members;
	c->nsigners = (uint8_t)cert.nsigs;
	for (size_t i = 0; i < cert.nsigs; i++) {
		memcpy(c->sig[i].account, q.account[cert.rank[i]], CHAIN_ADDRESS_SIZE);
		c->sig[i].rank = cert.rank[i];
	}
	payer->balance -= fee;
	s->reward_pool += fee;
	return 0;
}

static int da_answer(struct chain_ledger *l, const struct chain_da_tx *t, uint64_t ts)
{
	struct chain_da_state *s = &l->da;
	struct chain_da_cert_state *c = chain_da_state_cert(s, t->root);
	struct chain_da_signer_state *g = chain_da_state_signer(s, t->account);
	uint64_t p = chain_da_state_period(s, ts), reward;
	const uint8_t *seed = chain_da_state_seed(s->sample_seeds, p);
	struct chain_da_challenge ch;
	struct codec_da_proof proof;
	unsigned side;
	size_t size;

	if (!seed)
		return REVERT("DA: no sampling seed for this period yet (makeSampleSeed)");
	chain_da_state_challenge(s, c, t->account, p, seed, &ch);
	if (!ch.due || !g)
		return REVERT("DA: no sample due from this account for this blob");
	if (codec_da_geometry(c->len, &side, &size) < 0 || t->value != size || t->len < size)
		return REVERT("DA: a share of the blob's share size");
	if (codec_da_proof_decode(t->data + size, t->len - size, &proof) < 0 || proof.k != side ||
	    proof.axis != CODEC_DA_ROW)
		return REVERT("DA: a proof of the square's depth");
	if (codec_da_proof_verify(&proof, c->root, side, ch.row, ch.col, t->data, size) != 0)
		return REVERT("DA: the share is not under the row root");
	touch(s, (uint64_t)(c - s->certs));
	for (int i = 0; i < c->nsigners; i++)
		if (!memcmp(c->sig[i].account, t->account, CHAIN_ADDRESS_SIZE))
			c->sig[i].answered1 = p + 1;
	reward = c->fee / (s->cfg.sample_window * c->nsigners);
	if (reward > s->reward_pool)
		reward = s->reward_pool;
	s->reward_pool -= reward;
	g->earned += reward;
	return 0;
}

static int da_void(struct chain_ledger *l, const struct chain_da_tx *t)
{
	struct chain_da_state *s = &l->da;
	struct chain_da_cert_state *c = chain_da_state_cert(s, t->root);
	unsigned side;
	size_t size;

	if (!c)
		return REVERT("DA: no certificate for this blob");
	if (c->voided)
		return REVERT("DA: already voided");
	if (codec_da_geometry(c->len, &side, &size) < 0)
		return -EINVAL;
	switch (codec_da_befp_verify(t->data, t->len, c->root, side, size)) {
	case 0:
		break;
	case -CODEC_EDA_GOOD_LINE:
		return REVERT("DA: the line is correctly encoded");
	case -CODEC_EDA_DATA_ROOT:
	case -CODEC_EDA_LINE_ROOT:
		return REVERT("DA: the line root is not under the data root");
	case -CODEC_EDA_SHARE:
		return REVERT("DA: a member's share is not under its line root");
	default:
		return REVERT("DA: the proof is not one of this blob's geometry");
	}
	touch(s, (uint64_t)(c - s->certs));
	c->voided = true;
	return 0;
}

int chain_ledger_da_apply(struct chain_ledger *l, const struct chain_tx *tx, uint64_t height,
			  uint64_t timestamp)
{
	const struct chain_da_tx *t = &tx->da;

	if (!l->genesis_done)
		return -EINVAL;
	if (tx->type == CHAIN_TX_DA_SETUP)
		return da_setup(l, &tx->da_setup.cfg, height, timestamp);
	if (!l->da.enabled)
		return REVERT("the embedded ledger has no DA set up");
	if (l->da.in_block)
		return -EBUSY;
	if (t->len > CHAIN_DA_TX_DATA_MAX || (t->len && !t->data))
		return -EINVAL;
	switch (tx->type) {
	case CHAIN_TX_DA_REGISTER:
		return da_register(l, t, height);
	case CHAIN_TX_DA_PUBLISH:
		return da_publish(l, t, timestamp);
	case CHAIN_TX_DA_CERTIFY:
		return da_certify(l, t, height, timestamp);
	case CHAIN_TX_DA_ANSWER:
		return da_answer(l, t, timestamp);
	case CHAIN_TX_DA_VOID:
		return da_void(l, t);
	default:
		return -EINVAL;
	}
}

/* ---- records ----------------------------------------------------------------------------- */

/* Certificate record: u8 version; root[32] quorum[32]; u64 epoch, len, block, time, fee;
 * u16 slots signed (as two u8); u8 members, nsigners, voided; nsigners × (account[20],
 * u8 rank, u64 answered + 1). */
void chain_da_cert_state_encode(const struct chain_da_cert_state *c, struct chain_wbuf *w)
{
	chain_wbuf_u8(w, CERT_VERSION);
	chain_wbuf_put(w, c->root, 32);
	chain_wbuf_put(w, c->quorum, 32);
	chain_wbuf_u64(w, c->epoch);
	chain_wbuf_u64(w, c->len);
	chain_wbuf_u64(w, c->block);
	chain_wbuf_u64(w, c->time);
	chain_wbuf_u64(w, c->fee);
	chain_wbuf_u8(w, (uint8_t)(c->slots_signed >> 8));
	chain_wbuf_u8(w, (uint8_t)c->slots_signed);
	chain_wbuf_u8(w, c->members);
	chain_wbuf_u8(w, c->nsigners);
	chain_wbuf_u8(w, c->voided);
	for (int i = 0; i < c->nsigners; i++) {
		chain_wbuf_put(w, c->sig[i].account, CHAIN_ADDRESS_SIZE);
		chain_wbuf_u8(w, c->sig[i].rank);
		chain_wbuf_u64(w, c->sig[i].answered1);
	}
}

int chain_da_cert_state_decode(const uint8_t *p, size_t n, struct chain_da_cert_state *ret)
{
	struct chain_da_cert_state c;
	struct chain_rbuf r;
	uint8_t voided;

	memset(&c, 0, sizeof(c));
	chain_rbuf_init(&r, p, n);
	if (chain_rbuf_u8(&r) != CERT_VERSION)
		return -CHAIN_ETAMPERED;
	chain_rbuf_copy(&r, c.root, 32);
	chain_rbuf_copy(&r, c.quorum, 32);
	c.epoch = chain_rbuf_u64(&r);
	c.len = chain_rbuf_u64(&r);
	c.block = chain_rbuf_u64(&r);
	c.time = chain_rbuf_u64(&r);
	c.fee = chain_rbuf_u64(&r);
	c.slots_signed = (uint16_t)(chain_rbuf_u8(&r) << 8);
	c.slots_signed |= chain_rbuf_u8(&r);
	c.members = chain_rbuf_u8(&r);
	c.nsigners = chain_rbuf_u8(&r);
	voided = chain_rbuf_u8(&r);
	if (c.nsigners > CHAIN_DA_LOCAL_SIGNERS || c.nsigners > c.members ||
	    c.members > CHAIN_DA_SLOTS_MAX || voided > 1)
		return -CHAIN_ETAMPERED;
	c.voided = voided;
	for (int i = 0; i < c.nsigners; i++) {
		chain_rbuf_copy(&r, c.sig[i].account, CHAIN_ADDRESS_SIZE);
		c.sig[i].rank = chain_rbuf_u8(&r);
		c.sig[i].answered1 = chain_rbuf_u64(&r);
	}
	if (!chain_rbuf_done(&r))
		return -CHAIN_ETAMPERED;
	*ret = c;
	return 0;
}

int chain_da_draw_record(const struct chain_da_state *s, uint64_t e, struct chain_wbuf *w)
{
	const uint8_t *seed = e ? chain_da_state_seed(s->seeds, e - 1) : NULL;
	size_t at;
	uint8_t n = 0;

	if (!seed)
		return -ENOENT;
	chain_wbuf_u8(w, DRAW_VERSION);
	chain_wbuf_put(w, seed, 32);
	at = w->len;
	chain_wbuf_u8(w, 0); /* n, patched below */
	for (size_t i = 0; i < s->nsigners; i++) {
		const uint8_t *proof = chain_da_state_proof(&s->signers[i], e);

		if (!proof)
			continue;
		chain_wbuf_put(w, s->signers[i].account, CHAIN_ADDRESS_SIZE);
		chain_wbuf_put(w, proof, CODEC_VRF_PROOF_SIZE);
		n++;
	}
	if (!w->err)
		w->data[at] = n;
	return w->err;
}

int chain_da_draw_record_decode(const uint8_t *p, size_t n, struct chain_da_draw_record *ret)
{
	struct chain_da_draw_record d;
	struct chain_rbuf r;

	memset(&d, 0, sizeof(d));
	chain_rbuf_init(&r, p, n);
	if (chain_rbuf_u8(&r) != DRAW_VERSION)
		return -CHAIN_ETAMPERED;
	chain_rbuf_copy(&r, d.seed, 32);
	d.n = chain_rbuf_u8(&r);
	if (d.n > CHAIN_DA_LOCAL_SIGNERS)
		return -CHAIN_ETAMPERED;
	for (int i = 0; i < d.n; i++) {
		chain_rbuf_copy(&r, d.p[i].account, CHAIN_ADDRESS_SIZE);
		chain_rbuf_copy(&r, d.p[i].proof, CODEC_VRF_PROOF_SIZE);
	}
	if (!chain_rbuf_done(&r))
		return -CHAIN_ETAMPERED;
	*ret = d;
	return 0;
}

static void seeds_encode(const struct chain_da_seed_state *ring, struct chain_wbuf *w)
{
	for (int i = 0; i < CHAIN_DA_LOCAL_SEEDS; i++) {
		chain_wbuf_u64(w, ring[i].n1);
		chain_wbuf_put(w, ring[i].seed, 32);
	}
}

static void seeds_decode(struct chain_rbuf *r, struct chain_da_seed_state *ring)
{
	for (int i = 0; i < CHAIN_DA_LOCAL_SEEDS; i++) {
		ring[i].n1 = chain_rbuf_u64(r);
		chain_rbuf_copy(r, ring[i].seed, 32);
	}
}

/* DA part: u64 epoch, stake unit, min stake, slots, sample period, window, fee per KiB;
 * u64 first block, first time, reward pool; u32 nsigners × (account[20] payer[20] vrf[32]
 * u64 stake, earned, registered; u32 url length, url; 3 × (u64 epoch + 1, proof[80]));
 * 16 × (u64 epoch + 1, seed[32]); 16 × (u64 period + 1, seed[32]); u64 ncerts. */
void chain_da_state_encode(const struct chain_da_state *s, struct chain_wbuf *w)
{
	chain_wbuf_u64(w, s->cfg.epoch_blocks);
	chain_wbuf_u64(w, s->cfg.stake_unit);
	chain_wbuf_u64(w, s->cfg.min_stake);
	chain_wbuf_u64(w, s->cfg.slots);
	chain_wbuf_u64(w, s->cfg.sample_blocks);
	chain_wbuf_u64(w, s->cfg.sample_window);
	chain_wbuf_u64(w, s->cfg.fee_per_kib);
	chain_wbuf_u64(w, s->first_block);
	chain_wbuf_u64(w, s->first_time);
	chain_wbuf_u64(w, s->reward_pool);
	chain_wbuf_u32(w, (uint32_t)s->nsigners);
	for (size_t i = 0; i < s->nsigners; i++) {
		const struct chain_da_signer_state *g = &s->signers[i];
		size_t n = strlen(g->url);

		chain_wbuf_put(w, g->account, CHAIN_ADDRESS_SIZE);
		chain_wbuf_put(w, g->payer, CHAIN_ADDRESS_SIZE);
		chain_wbuf_put(w, g->vrf_key, 32);
		chain_wbuf_u64(w, g->stake);
		chain_wbuf_u64(w, g->earned);
		chain_wbuf_u64(w, g->registered);
		chain_wbuf_u32(w, (uint32_t)n);
		chain_wbuf_put(w, g->url, n);
		for (int j = 0; j < CHAIN_DA_LOCAL_PROOFS; j++) {
			chain_wbuf_u64(w, g->proofs[j].epoch1);
			chain_wbuf_put(w, g->proofs[j].proof, CODEC_VRF_PROOF_SIZE);
		}
	}
	seeds_encode(s->seeds, w);
	seeds_encode(s->sample_seeds, w);
	chain_wbuf_u64(w, s->ncerts);
}

int chain_da_state_decode(struct chain_rbuf *r, struct chain_da_state *s)
{
	uint64_t slots;
	uint32_t n, len;

	memset(s, 0, sizeof(*s));
	s->enabled = true;
	s->cfg.epoch_blocks = chain_rbuf_u64(r);
	s->cfg.stake_unit = chain_rbuf_u64(r);
	s->cfg.min_stake = chain_rbuf_u64(r);
	slots = chain_rbuf_u64(r);
	s->cfg.slots = slots > CHAIN_DA_SLOTS_MAX ? 0 : (unsigned)slots;
	s->cfg.sample_blocks = chain_rbuf_u64(r);
	s->cfg.sample_window = chain_rbuf_u64(r);
	s->cfg.fee_per_kib = chain_rbuf_u64(r);
	if (chain_da_config_check(&s->cfg) < 0)
		return -CHAIN_ETAMPERED;
	s->first_block = chain_rbuf_u64(r);
	s->first_time = chain_rbuf_u64(r);
	s->reward_pool = chain_rbuf_u64(r);
	n = chain_rbuf_u32(r);
	if (n > CHAIN_DA_LOCAL_SIGNERS)
		return -CHAIN_ETAMPERED;
	s->nsigners = n;
	for (size_t i = 0; i < n; i++) {
		struct chain_da_signer_state *g = &s->signers[i];

		chain_rbuf_copy(r, g->account, CHAIN_ADDRESS_SIZE);
		chain_rbuf_copy(r, g->payer, CHAIN_ADDRESS_SIZE);
		chain_rbuf_copy(r, g->vrf_key, 32);
		g->stake = chain_rbuf_u64(r);
		g->earned = chain_rbuf_u64(r);
		g->registered = chain_rbuf_u64(r);
		len = chain_rbuf_u32(r);
		if (len == 0 || len > CHAIN_REGISTRY_URL_MAX)
			return -CHAIN_ETAMPERED;
		chain_rbuf_copy(r, g->url, len);
		if (memchr(g->url, 0, len))
			return -CHAIN_ETAMPERED;
		for (int j = 0; j < CHAIN_DA_LOCAL_PROOFS; j++) {
			g->proofs[j].epoch1 = chain_rbuf_u64(r);
			chain_rbuf_copy(r, g->proofs[j].proof, CODEC_VRF_PROOF_SIZE);
		}
	}
	seeds_decode(r, s->seeds);
	seeds_decode(r, s->sample_seeds);
	s->ncerts = chain_rbuf_u64(r);
	if (s->ncerts > CHAIN_DA_LOCAL_CERTS_MAX)
		return -CHAIN_ETAMPERED;
	return 0;
}
