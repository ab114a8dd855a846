/*
 * da.c - an epoch's DA quorum, signatures and certificates (da.h; docs/DA.md).
 *
 * The draw ranks signers by the smallest keccak256(beta ‖ ticket) over their tickets: a
 * min over independent uniform keys, so each ticket is equally likely to come first and a
 * signer's chance grows with its stake in exact proportion, with integers only (a weighted
 * draw by -ln(u)/w would need floating point that every node and contract computes alike).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chain/da.h"
#include "chain/evm_key_i.h"
#include "codec/endian.h"
#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/keccak.h"

#define ALPHA_TAG  "zgfs da quorum"
#define DIGEST_TAG "zgfs da quorum digest"
#define SIGN_TAG   "zgfs da sign"

void chain_da_alpha(const struct chain_da_epoch *ep, uint8_t ret_alpha[CHAIN_DA_ALPHA_SIZE])
{
	uint8_t *p = ret_alpha;

	memcpy(p, ALPHA_TAG, sizeof(ALPHA_TAG)); /* with its NUL */
	p += sizeof(ALPHA_TAG);
	codec_put_be64(p, ep->chain_id);
	memcpy(p + 8, ep->contract, CHAIN_ADDRESS_SIZE);
	p += 8 + CHAIN_ADDRESS_SIZE;
	codec_put_be64(p, ep->epoch);
	memcpy(p + 8, ep->seed, 32);
}

struct ranked {
	uint8_t key[32];
	size_t index;
};

static int cmp_ranked(const void *a, const void *b)
{
	return memcmp(((const struct ranked *)a)->key, ((const struct ranked *)b)->key, 32);
}

/* The signer's smallest ticket key, or -EINVAL when its proof fails or it has no ticket. */
static int ticket_key(const struct chain_da_epoch *ep, const uint8_t *alpha,
		      const struct chain_da_signer *s, uint8_t ret[32])
{
	uint8_t beta[CODEC_VRF_OUTPUT_SIZE], buf[CODEC_VRF_OUTPUT_SIZE + 4], k[32];
	uint64_t tickets = s->stake / ep->stake_unit;

	if (tickets == 0 ||
	    codec_vrf_verify(s->vrf_key, s->proof, alpha, CHAIN_DA_ALPHA_SIZE, beta) != 0)
		return -EINVAL;
	if (tickets > CHAIN_DA_TICKETS_MAX)
		tickets = CHAIN_DA_TICKETS_MAX;
	memcpy(buf, beta, sizeof(beta));
	memset(ret, 0xff, 32);
	for (uint32_t t = 0; t < tickets; t++) {
		codec_put_be32(buf + sizeof(beta), t);
		codec_keccak256(buf, sizeof(buf), k);
		if (memcmp(k, ret, 32) < 0)
			memcpy(ret, k, 32);
	}
	return 0;
}

static void quorum_digest(struct chain_da_quorum *q)
{
	struct codec_keccak k;
	uint8_t b[10];

	codec_keccak_init(&k);
	codec_keccak_update(&k, DIGEST_TAG, sizeof(DIGEST_TAG));
	codec_put_be64(b, q->epoch);
	b[8] = (uint8_t)(q->slots >> 8);
	b[9] = (uint8_t)q->slots;
	codec_keccak_update(&k, b, sizeof(b));
	for (unsigned j = 0; j < q->slots; j++)
		codec_keccak_update(&k, q->account[q->slot_rank[j]], CHAIN_ADDRESS_SIZE);
	codec_keccak_final(&k, q->digest);
}

static bool seen_account(const struct chain_da_signer *signers, const struct ranked *r, size_t n,
			 const uint8_t *account)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(signers[r[i].index].account, account, CHAIN_ADDRESS_SIZE) == 0)
			return true;
	return false;
}

int chain_da_quorum(const struct chain_da_epoch *ep, const struct chain_da_signer *signers,
		    size_t n, struct chain_da_quorum *ret)
{
	uint8_t alpha[CHAIN_DA_ALPHA_SIZE];
	struct chain_da_quorum q = {.epoch = ep->epoch, .slots = ep->slots};
	struct ranked *r;
	size_t m = 0;

	if (ep->stake_unit == 0 || ep->slots == 0 || ep->slots > CHAIN_DA_SLOTS_MAX ||
	    n > CHAIN_DA_SIGNERS_MAX || (n && !signers))
		return -EINVAL;
	r = malloc((n ? n : 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	chain_da_alpha(ep, alpha);
	for (size_t i = 0; i < n; i++) {
		/* One account, one place in the draw: a second registration of it is left
		 * out rather than trusted to be the same signer. */
		if (seen_account(signers, r, m, signers[i].account) ||
		    ticket_key(ep, alpha, &signers[i], r[m].key) < 0)
			continue;
		r[m++].index = i;
	}
	if (m == 0) {
		free(r);
		return -ENOENT;
	}
	/* Equal keys need a keccak collision; then the list order decides, the same for
	 * every node given the signers in registration order. */
	qsort(r, m, sizeof(*r), cmp_ranked);
	q.members = m < q.slots ? m : q.slots;
	for (size_t i = 0; i < q.members; i++) {
		q.member[i] = (uint16_t)r[i].index;
		memcpy(q.account[i], signers[r[i].index].account, CHAIN_ADDRESS_SIZE);
	}
	for (unsigned j = 0; j < q.slots; j++)
		q.slot_rank[j] = (uint8_t)(j % q.members);
	free(r);
	quorum_digest(&q);
	*ret = q;
	return 0;
}

bool chain_da_holds(const struct chain_da_quorum *q, unsigned rank, unsigned row, unsigned rows)
{
	const unsigned m = rows < q->slots ? rows : q->slots;

	if (m == 0)
		return false;
	for (unsigned i = row % m; i < q->slots; i += m)
		if (q->slot_rank[i] == rank)
			return true;
	return false;
}

void chain_da_sign_digest(const struct chain_da_epoch *ep, const struct chain_da_quorum *q,
			  const uint8_t data_root[32], uint64_t len, uint8_t ret_digest[32])
{
	struct codec_keccak k;
	uint8_t b[8];

	codec_keccak_init(&k);
	codec_keccak_update(&k, SIGN_TAG, sizeof(SIGN_TAG));
	codec_put_be64(b, ep->chain_id);
	codec_keccak_update(&k, b, 8);
	codec_keccak_update(&k, ep->contract, CHAIN_ADDRESS_SIZE);
	codec_keccak_update(&k, data_root, 32);
	codec_put_be64(b, len);
	codec_keccak_update(&k, b, 8);
	codec_put_be64(b, q->epoch);
	codec_keccak_update(&k, b, 8);
	codec_keccak_update(&k, q->digest, 32);
	codec_keccak_final(&k, ret_digest);
}

static int key_of(const uint8_t secret[32], struct chain_evm_key *k)
{
	char hex[67];
	int r;

	codec_hex_encode(secret, 32, hex);
	r = chain_evm_key_from_hex(hex, k);
	memset(hex, 0, sizeof(hex));
	return r;
}

int chain_da_sign(const uint8_t secret[32], const uint8_t digest[32],
		  uint8_t ret_sig[CHAIN_DA_SIGNATURE_SIZE])
{
	struct chain_evm_key k;
	int r = key_of(secret, &k);

	if (r == 0)
		r = chain_evm_key_sign(&k, digest, ret_sig);
	chain_evm_key_wipe(&k);
	return r;
}

int chain_da_account(const uint8_t secret[32], uint8_t ret[CHAIN_ADDRESS_SIZE])
{
	struct chain_evm_key k;
	int r = key_of(secret, &k);

	if (r == 0)
		memcpy(ret, k.address, CHAIN_ADDRESS_SIZE);
	chain_evm_key_wipe(&k);
	return r;
}

/* --- certificates -------------------------------------------------------------------- */

size_t chain_da_cert_encode(const struct chain_da_cert *c, uint8_t *out)
{
	uint8_t *p = out;

	if (c->nsigs == 0 || c->nsigs > CHAIN_DA_SLOTS_MAX)
		return 0;
	memcpy(p, c->data_root, 32);
	codec_put_be64(p + 32, c->len);
	codec_put_be64(p + 40, c->epoch);
	memcpy(p + 48, c->quorum, 32);
	p[80] = (uint8_t)c->nsigs;
	p += 81;
	for (size_t i = 0; i < c->nsigs; i++) {
		*p++ = c->rank[i];
		memcpy(p, c->sig[i], CHAIN_DA_SIGNATURE_SIZE);
		p += CHAIN_DA_SIGNATURE_SIZE;
	}
	return (size_t)(p - out);
}

int chain_da_cert_decode(const uint8_t *p, size_t len, struct chain_da_cert *ret)
{
	struct chain_da_cert c;

	if (len < 81)
		return -CODEC_EFORMAT;
	memset(&c, 0, sizeof(c));
	memcpy(c.data_root, p, 32);
	c.len = codec_get_be64(p + 32);
	c.epoch = codec_get_be64(p + 40);
	memcpy(c.quorum, p + 48, 32);
	c.nsigs = p[80];
	if (c.nsigs == 0 || c.nsigs > CHAIN_DA_SLOTS_MAX || len != 81 + c.nsigs * 66)
		return -CODEC_EFORMAT;
	for (size_t i = 0; i < c.nsigs; i++) {
		const uint8_t *s = p + 81 + i * 66;

		c.rank[i] = s[0];
		if (i && c.rank[i] <= c.rank[i - 1])
			return -CODEC_EFORMAT;
		memcpy(c.sig[i], s + 1, CHAIN_DA_SIGNATURE_SIZE);
	}
	*ret = c;
	return 0;
}

int chain_da_cert_verify(const struct chain_da_epoch *ep, const struct chain_da_quorum *q,
			 const struct chain_da_cert *c, unsigned *ret_slots)
{
	uint8_t digest[32], who[CHAIN_ADDRESS_SIZE];
	unsigned held = 0;

	if (c->epoch != q->epoch || ep->epoch != q->epoch)
		return -CHAIN_EDA_EPOCH;
	if (memcmp(c->quorum, q->digest, 32) != 0)
		return -CHAIN_EDA_QUORUM;
	for (size_t i = 0; i < c->nsigs; i++)
		if (c->rank[i] >= q->members || (i && c->rank[i] <= c->rank[i - 1]))
			return -CHAIN_EDA_MEMBER;
	chain_da_sign_digest(ep, q, c->data_root, c->len, digest);
	for (size_t i = 0; i < c->nsigs; i++) {
		if (chain_evm_key_recover(digest, c->sig[i], who) != 0 ||
		    memcmp(who, q->account[c->rank[i]], CHAIN_ADDRESS_SIZE) != 0)
			return -CHAIN_EDA_SIGNATURE;
		for (unsigned j = 0; j < q->slots; j++)
			held += q->slot_rank[j] == c->rank[i];
	}
	if (ret_slots)
		*ret_slots = held;
	return 3 * held > 2 * q->slots ? 0 : -CHAIN_EDA_THRESHOLD;
}

/* --- the draw as the chain records it ---------------------------------------------------- */

int chain_da_draw(struct chain *c, uint64_t epoch, struct chain_da_epoch *ret_ep,
		  struct chain_da_signer *signers, size_t max, size_t *ret_n,
		  struct chain_da_quorum *ret_q)
{
	struct chain_da_contract d;
	struct chain_da_epoch ep = {.epoch = epoch};
	struct chain_flow f;
	size_t n = 0;
	int r = chain_da_contract(c, &d);

	if (r == 0)
		r = chain_flow_info(c, &f);
	if (r < 0)
		return r;
	if (epoch == 0) {
		chain_set_detail("DA epoch 0 has no draw (it needs the seed of the epoch before)");
		return -ENOENT;
	}
	ep.chain_id = f.chain_id;
	memcpy(ep.contract, d.address, CHAIN_ADDRESS_SIZE);
	ep.stake_unit = d.stake_unit;
	ep.slots = d.slots;
	r = chain_da_seed(c, epoch - 1, ep.seed);
	if (r == -ENOENT)
		chain_set_detail("DA epoch %llu has no seed yet, so epoch %llu has no draw",
				 (unsigned long long)(epoch - 1), (unsigned long long)epoch);
	if (r == 0)
		r = chain_da_signers(c, epoch, signers, max, &n);
	if (r == 0) {
		r = chain_da_quorum(&ep, signers, n, ret_q);
		if (r == -ENOENT)
			chain_set_detail("no DA signer published a valid proof for epoch %llu",
					 (unsigned long long)epoch);
	}
	if (r < 0)
		return r;
	*ret_ep = ep;
	*ret_n = n;
	return 0;
}
