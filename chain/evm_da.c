/*
 * evm_da.c - the DA contract (chain/contracts/DA.sol) for the EVM backend: found through
 * Market.da() on every call (nothing cached, so a redeployed Market is followed), its
 * parameters, epoch, seeds, signers and certificates, and the transactions of signers and
 * certifiers (docs/DA.md).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "chain/abi_i.h"
#include "chain/da.h"
#include "chain/evm_i.h"
#include "codec/da.h"

static int da_address(struct chain_evm *c, uint8_t ret[CHAIN_ADDRESS_SIZE])
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	uint8_t w[32], a[CHAIN_ADDRESS_SIZE];
	int r = chain_evm_view(c, c->market, "da()", false, 0, w, 1);

	if (r == -CHAIN_EREVERTED || r == -EBADMSG ||
	    (r == 0 &&
	     (chain_abi_word_address(w, a) < 0 || memcmp(a, zero, CHAIN_ADDRESS_SIZE) == 0))) {
		chain_set_detail("this chain's Market names no DA contract (zgfs chain deploy "
				 "deploys one)");
		return -ENOENT;
	}
	if (r == 0)
		memcpy(ret, a, CHAIN_ADDRESS_SIZE);
	return r;
}

/* One u64 view of the DA contract. */
static int word(struct chain_evm *c, const uint8_t *da, const char *sig, bool has_arg, uint64_t arg,
		uint64_t *ret)
{
	uint8_t w[32];
	int r = chain_evm_view(c, da, sig, has_arg, arg, w, 1);

	if (r == 0)
		*ret = chain_evm_u256_saturate(w);
	return r;
}

/* The parameters the DA contract fixed at deployment, into d (whose address is set): read
 * once for each address Market.da() names. */
static int da_params(struct chain_evm *c, struct chain_da_contract *d)
{
	struct chain_da_contract p;
	uint64_t slots = 0;
	int r;

	pthread_mutex_lock(&c->mu);
	p = c->da_params;
	r = c->da_known && memcmp(p.address, d->address, CHAIN_ADDRESS_SIZE) == 0;
	pthread_mutex_unlock(&c->mu);
	if (r) {
		*d = p;
		return 0;
	}
	r = word(c, d->address, "epochBlocks()", false, 0, &d->epoch_blocks);
	if (r == 0)
		r = word(c, d->address, "firstBlock()", false, 0, &d->first_block);
	if (r == 0)
		r = word(c, d->address, "stakeUnit()", false, 0, &d->stake_unit);
	if (r == 0)
		r = word(c, d->address, "minStake()", false, 0, &d->min_stake);
	if (r == 0)
		r = word(c, d->address, "slots()", false, 0, &slots);
	if (r == 0)
		r = word(c, d->address, "samplePeriod()", false, 0, &d->sample_blocks);
	if (r == 0)
		r = word(c, d->address, "sampleWindow()", false, 0, &d->sample_window);
	if (r == 0)
		r = word(c, d->address, "feePerKiB()", false, 0, &d->fee_per_kib);
	if (r < 0)
		return r;
	d->slots = (unsigned)slots;
	pthread_mutex_lock(&c->mu);
	c->da_params = *d;
	c->da_known = true;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

int chain_evm_da_contract(struct chain *base, struct chain_da_contract *ret)
{
	struct chain_evm *c = to_evm(base);
	struct chain_da_contract d = {0};
	uint8_t w[32];
	int r = da_address(c, d.address);

	if (r == 0)
		r = da_params(c, &d);
	if (r == 0)
		r = word(c, d.address, "epoch()", false, 0, &d.epoch);
	if (r == 0)
		r = word(c, d.address, "signerCount()", false, 0, &d.signers);
	if (r == 0)
		r = chain_evm_view(c, d.address, "seedOf(uint256)", true, d.epoch, d.seed, 1);
	if (r == 0)
		r = word(c, d.address, "rewardPool()", false, 0, &d.reward_pool);
	if (r == 0)
		r = word(c, d.address, "period()", false, 0, &d.period);
	if (r == 0)
		r = chain_evm_view(c, d.address, "sampleSeedOf(uint256)", true, d.period, w, 1);
	if (r < 0)
		return r;
	d.has_seed = memcmp(d.seed, (const uint8_t[32]){0}, 32) != 0;
	d.has_sample_seed = memcmp(w, (const uint8_t[32]){0}, 32) != 0;
	*ret = d;
	return 0;
}

/* --- the DA contract's operations ------------------------------------------------------- */

/* Send calldata w to the DA contract with value, once w holds it. */
static int da_send(struct chain_evm *c, uint64_t value, struct chain_wbuf *w)
{
	uint8_t da[CHAIN_ADDRESS_SIZE];
	int r = w->err;

	if (r == 0 && !c->has_key)
		r = -CHAIN_ENOKEY;
	if (r == 0)
		r = da_address(c, da);
	if (r == 0)
		r = chain_evm_send(c, da, value, w->data, w->len, NULL, NULL);
	chain_wbuf_release(w);
	return r;
}

int chain_evm_da_register(struct chain *base, const uint8_t vrf_key[32], const char *url,
			  uint64_t stake)
{
	struct chain_wbuf w;

	chain_wbuf_init(&w, 1024);
	chain_abi_append_selector(&w, "register(bytes32,string)");
	chain_wbuf_put(&w, vrf_key, 32);
	chain_abi_append_u64(&w, 2 * CHAIN_ABI_WORD);
	chain_abi_put_dynamic(&w, url, strlen(url));
	return da_send(to_evm(base), stake, &w);
}

int chain_evm_da_make_seed(struct chain *base)
{
	struct chain_wbuf w;

	chain_wbuf_init(&w, 64);
	chain_abi_append_selector(&w, "makeSeed()");
	return da_send(to_evm(base), 0, &w);
}

int chain_evm_da_publish(struct chain *base, uint64_t epoch, const uint8_t proof[80])
{
	struct chain_wbuf w;

	chain_wbuf_init(&w, 512);
	chain_abi_append_selector(&w, "publishProof(uint256,bytes)");
	chain_abi_append_u64(&w, epoch);
	chain_abi_append_u64(&w, 2 * CHAIN_ABI_WORD);
	chain_abi_put_dynamic(&w, proof, CODEC_VRF_PROOF_SIZE);
	return da_send(to_evm(base), 0, &w);
}

int chain_evm_da_seed(struct chain *base, uint64_t epoch, uint8_t ret_seed[32])
{
	struct chain_evm *c = to_evm(base);
	uint8_t da[CHAIN_ADDRESS_SIZE], w[32];
	int r = da_address(c, da);

	if (r == 0)
		r = chain_evm_view(c, da, "seedOf(uint256)", true, epoch, w, 1);
	if (r == 0 && memcmp(w, (const uint8_t[32]){0}, 32) == 0)
		r = -ENOENT;
	if (r == 0)
		memcpy(ret_seed, w, 32);
	return r;
}

/* signerAt(i) into s, and proofOf(epoch, s->account). */
static int read_signer(struct chain_evm *c, const uint8_t *da, uint64_t i, uint64_t epoch,
		       struct chain_wbuf *in, struct chain_wbuf *res, struct chain_da_signer *s)
{
	const uint8_t *p;
	uint8_t word[CHAIN_ABI_WORD];
	size_t n;
	int r;

	in->len = res->len = 0;
	chain_abi_encode_call_u64("signerAt(uint256)", i, in);
	r = chain_evm_view_raw(c, da, in, "signerAt(uint256)", res);
	if (r < 0)
		return r;
	memset(s, 0, sizeof(*s));
	if (res->len < 4 * CHAIN_ABI_WORD || chain_abi_word_address(res->data, s->account) < 0 ||
	    chain_abi_decode_dynamic(res->data, res->len, 3, 4, CHAIN_REGISTRY_URL_MAX, &p, &n) <
		0 ||
	    memchr(p, '\0', n))
		goto bad;
	memcpy(s->vrf_key, res->data + CHAIN_ABI_WORD, 32);
	s->stake = chain_evm_u256_saturate(res->data + 2 * CHAIN_ABI_WORD);
	memcpy(s->url, p, n);
	in->len = res->len = 0;
	chain_abi_append_selector(in, "proofOf(uint256,address)");
	chain_abi_append_u64(in, epoch);
	chain_abi_put_address(word, s->account);
	chain_wbuf_put(in, word, sizeof(word));
	r = in->err ? in->err : chain_evm_view_raw(c, da, in, "proofOf(uint256,address)", res);
	if (r < 0)
		return r;
	if (chain_abi_decode_dynamic(res->data, res->len, 0, 1, CODEC_VRF_PROOF_SIZE, &p, &n) < 0)
		goto bad;
	s->has_proof = n == CODEC_VRF_PROOF_SIZE;
	if (s->has_proof)
		memcpy(s->proof, p, n);
	return 0;
bad:
	chain_set_detail("the DA contract's signer %llu does not decode", (unsigned long long)i);
	return -EBADMSG;
}

int chain_evm_da_signers(struct chain *base, uint64_t epoch, struct chain_da_signer *signers,
			 size_t max, size_t *ret_n)
{
	struct chain_evm *c = to_evm(base);
	struct chain_wbuf in, res;
	uint8_t da[CHAIN_ADDRESS_SIZE];
	uint64_t count = 0;
	size_t i = 0;
	int r = da_address(c, da);

	if (r == 0)
		r = word(c, da, "signerCount()", false, 0, &count);
	chain_wbuf_init(&in, 256);
	chain_wbuf_init(&res, 4096);
	for (; r == 0 && i < max && i < count; i++)
		r = read_signer(c, da, i, epoch, &in, &res, &signers[i]);
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	if (r == 0)
		*ret_n = i;
	return r;
}

/* certify(bytes32 dataRoot, uint64 length, uint64 e, address[] slotAccounts, uint256
 * members, uint8[] ranks, bytes sigs): seven head words, then the three arrays. */
static void encode_certify(const struct chain_da_quorum *q, const struct chain_da_cert *cert,
			   struct chain_wbuf *w)
{
	uint8_t word[CHAIN_ABI_WORD];
	uint64_t off = 7 * CHAIN_ABI_WORD;

	chain_abi_append_selector(w,
				  "certify(bytes32,uint64,uint64,address[],uint256,uint8[],bytes)");
	chain_wbuf_put(w, cert->data_root, 32);
	chain_abi_append_u64(w, cert->len);
	chain_abi_append_u64(w, cert->epoch);
	chain_abi_append_u64(w, off);
	off += (1 + q->slots) * CHAIN_ABI_WORD;
	chain_abi_append_u64(w, q->members);
	chain_abi_append_u64(w, off);
	off += (1 + cert->nsigs) * CHAIN_ABI_WORD;
	chain_abi_append_u64(w, off);
	chain_abi_append_u64(w, q->slots);
	for (unsigned j = 0; j < q->slots; j++) {
		chain_abi_put_address(word, q->account[q->slot_rank[j]]);
		chain_wbuf_put(w, word, sizeof(word));
	}
	chain_abi_append_u64(w, cert->nsigs);
	for (size_t i = 0; i < cert->nsigs; i++)
		chain_abi_append_u64(w, cert->rank[i]);
	chain_abi_append_u64(w, cert->nsigs * CHAIN_DA_SIGNATURE_SIZE);
	for (size_t i = 0; i < cert->nsigs; i++)
		chain_wbuf_put(w, cert->sig[i], CHAIN_DA_SIGNATURE_SIZE);
	memset(word, 0, sizeof(word));
	chain_wbuf_put(w, word,
		       (CHAIN_ABI_WORD - cert->nsigs * CHAIN_DA_SIGNATURE_SIZE % CHAIN_ABI_WORD) %
			   CHAIN_ABI_WORD);
}

int chain_evm_da_certificate(struct chain *base, const uint8_t data_root[32],
			     struct chain_da_record *ret)
{
	struct chain_evm *c = to_evm(base);
	struct chain_wbuf in, res;
	uint8_t da[CHAIN_ADDRESS_SIZE];
	struct chain_da_record d = {0};
	uint64_t slots = 0, members = 0, signers = 0, voided = 0;
	int r = da_address(c, da);

	chain_wbuf_init(&in, 64);
	chain_wbuf_init(&res, 1024);
	chain_abi_append_selector(&in, "certificate(bytes32)");
	chain_wbuf_put(&in, data_root, 32);
	if (r == 0)
		r = in.err ? in.err : chain_evm_view_raw(c, da, &in, "certificate(bytes32)", &res);
	if (r == 0 &&
	    (res.len != 9 * CHAIN_ABI_WORD || chain_abi_word_u64(res.data, &d.epoch) < 0 ||
	     chain_abi_word_u64(res.data + 32, &d.len) < 0 ||
	     chain_abi_word_u64(res.data + 96, &slots) < 0 || slots > CHAIN_DA_SLOTS_MAX ||
	     chain_abi_word_u64(res.data + 128, &d.block) < 0 ||
	     chain_abi_word_u64(res.data + 192, &members) < 0 || members > CHAIN_DA_SLOTS_MAX ||
	     chain_abi_word_u64(res.data + 224, &signers) < 0 || signers > members ||
	     chain_abi_word_u64(res.data + 256, &voided) < 0 || voided > 1)) {
		chain_set_detail("the DA contract's certificate() does not decode");
		r = -EBADMSG;
	}
	if (r == 0) {
		memcpy(d.quorum, res.data + 64, 32);
		d.slots_signed = (unsigned)slots;
		d.fee = chain_evm_u256_saturate(res.data + 160);
		d.members = (unsigned)members;
		d.signers = (unsigned)signers;
		d.voided = voided == 1;
		if (d.block == 0)
			r = -ENOENT;
	}
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	if (r == 0)
		*ret = d;
	return r;
}

int chain_evm_da_certify(struct chain *base, const struct chain_da_quorum *q,
			 const struct chain_da_cert *cert, unsigned *ret_slots)
{
	struct chain_evm *c = to_evm(base);
	struct chain_da_record rec;
	struct chain_wbuf w;
	uint8_t da[CHAIN_ADDRESS_SIZE];
	uint64_t fee = 0;
	int r = da_address(c, da);

	if (r == 0)
		r = word(c, da, "blobFee(uint64)", true, cert->len, &fee);
	if (r < 0)
		return r;
	chain_wbuf_init(&w, 16384);
	encode_certify(q, cert, &w);
	r = da_send(c, fee, &w);
	if (r == 0)
		r = chain_evm_da_certificate(base, cert->data_root, &rec);
	if (r == 0)
		*ret_slots = rec.slots_signed;
	return r;
}

int chain_evm_sign_digest(struct chain *base, const uint8_t digest[32], uint8_t ret_sig[65])
{
	struct chain_evm *c = to_evm(base);

	if (!c->has_key)
		return -CHAIN_ENOKEY;
	return chain_evm_key_sign(&c->key, digest, ret_sig);
}

int chain_evm_da_void(struct chain *base, const uint8_t data_root[32], const uint8_t *proof,
		      size_t len)
{
	struct chain_wbuf w;

	chain_wbuf_init(&w, len + 256);
	chain_abi_append_selector(&w, "voidCertificate(bytes32,bytes)");
	chain_wbuf_put(&w, data_root, 32);
	chain_abi_append_u64(&w, 2 * CHAIN_ABI_WORD);
	chain_abi_put_dynamic(&w, proof, len);
	return da_send(to_evm(base), 0, &w);
}

/* --- sampling rewards -------------------------------------------------------------------- */

int chain_evm_da_make_sample_seed(struct chain *base)
{
	struct chain_wbuf w;

	chain_wbuf_init(&w, 64);
	chain_abi_append_selector(&w, "makeSampleSeed()");
	return da_send(to_evm(base), 0, &w);
}

int chain_evm_da_challenge(struct chain *base, const uint8_t data_root[32],
			   const uint8_t account[CHAIN_ADDRESS_SIZE],
			   struct chain_da_challenge *ret)
{
	struct chain_evm *c = to_evm(base);
	struct chain_wbuf in, res;
	uint8_t da[CHAIN_ADDRESS_SIZE], word[CHAIN_ABI_WORD];
	struct chain_da_challenge ch = {0};
	uint64_t due = 0, row = 0, col = 0;
	int r = da_address(c, da);

	chain_wbuf_init(&in, 128);
	chain_wbuf_init(&res, 256);
	chain_abi_append_selector(&in, "challenge(bytes32,address)");
	chain_wbuf_put(&in, data_root, 32);
	chain_abi_put_address(word, account);
	chain_wbuf_put(&in, word, sizeof(word));
	if (r == 0)
		r = in.err ? in.err
			   : chain_evm_view_raw(c, da, &in, "challenge(bytes32,address)", &res);
	/* The one refusal of the view: no seed for the period yet. */
	if (r == -CHAIN_EREVERTED && strstr(chain_last_detail(), "no sampling seed"))
		r = -ENOENT;
	if (r == 0 && (res.len != 4 * CHAIN_ABI_WORD || chain_abi_word_u64(res.data, &due) < 0 ||
		       due > 1 || chain_abi_word_u64(res.data + 32, &ch.period) < 0 ||
		       chain_abi_word_u64(res.data + 64, &row) < 0 || row >= 2 * CODEC_DA_MAX_K ||
		       chain_abi_word_u64(res.data + 96, &col) < 0 || col >= 2 * CODEC_DA_MAX_K)) {
		chain_set_detail("the DA contract's challenge() does not decode");
		r = -EBADMSG;
	}
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	if (r < 0)
		return r;
	ch.due = due == 1;
	ch.row = (unsigned)row;
	ch.col = (unsigned)col;
	*ret = ch;
	return 0;
}

/* answerSample(bytes32 dataRoot, bytes share, bytes32[] proof): the proof is the row root,
 * its log2(2k) siblings in the row tree, then log2(4k) in the data tree. */
int chain_evm_da_answer(struct chain *base, const uint8_t data_root[32], const uint8_t *share,
			size_t share_size, const struct codec_da_proof *p)
{
	unsigned depth = 0;
	struct chain_wbuf w;

	while ((1u << depth) < 2 * p->k)
		depth++;
	chain_wbuf_init(&w, 4096);
	chain_abi_append_selector(&w, "answerSample(bytes32,bytes,bytes32[])");
	chain_wbuf_put(&w, data_root, 32);
	chain_abi_append_u64(&w, 3 * CHAIN_ABI_WORD);
	chain_abi_append_u64(&w, (4 + (share_size + CHAIN_ABI_WORD - 1) / CHAIN_ABI_WORD) *
				     CHAIN_ABI_WORD);
	chain_abi_put_dynamic(&w, share, share_size);
	chain_abi_append_u64(&w, 2 * (uint64_t)depth + 2);
	chain_wbuf_put(&w, p->line_root, 32);
	for (unsigned i = 0; i < depth; i++)
		chain_wbuf_put(&w, p->line_sib[i], 32);
	for (unsigned i = 0; i <= depth; i++)
		chain_wbuf_put(&w, p->data_sib[i], 32);
	return da_send(to_evm(base), 0, &w);
}

int chain_evm_da_earned(struct chain *base, const uint8_t account[CHAIN_ADDRESS_SIZE],
			uint64_t *ret_wei)
{
	struct chain_evm *c = to_evm(base);
	struct chain_wbuf in, res;
	uint8_t da[CHAIN_ADDRESS_SIZE], word[CHAIN_ABI_WORD];
	int r = da_address(c, da);

	chain_wbuf_init(&in, 64);
	chain_wbuf_init(&res, 64);
	chain_abi_append_selector(&in, "earned(address)");
	chain_abi_put_address(word, account);
	chain_wbuf_put(&in, word, sizeof(word));
	if (r == 0)
		r = in.err ? in.err : chain_evm_view_raw(c, da, &in, "earned(address)", &res);
	if (r == 0 && res.len != CHAIN_ABI_WORD) {
		chain_set_detail("the DA contract's earned() does not decode");
		r = -EBADMSG;
	}
	if (r == 0)
		*ret_wei = chain_evm_u256_saturate(res.data);
	chain_wbuf_release(&in);
	chain_wbuf_release(&res);
	return r;
}
