/*
 * The public functions of chain.h: argument checks in one place, then the backend's
 * operation. Backends therefore never see NULL where chain.h forbids it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain/backend_i.h"
#include "codec/da.h"

static _Thread_local char detail[512];

const char *chain_last_detail(void)
{
	return detail;
}

void chain_set_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

void chain_clear_detail(void)
{
	detail[0] = '\0';
}

int chain_sync(struct chain *c)
{
	if (!c)
		return -EINVAL;
	return c->ops->sync ? c->ops->sync(c) : 0;
}

void chain_close(struct chain *c)
{
	if (!c)
		return;
	c->ops->close(c);
}

int chain_submit(struct chain *c, const struct chain_submission *sub, struct chain_entry *ret_entry)
{
	if (!c || !sub || !ret_entry)
		return -EINVAL;
	return c->ops->submit(c, sub, ret_entry);
}

int chain_submit_lazy(struct chain *c, const struct chain_submission *sub,
		      struct chain_entry *ret_entry)
{
	if (!c || !sub || !ret_entry)
		return -EINVAL;
	return c->ops->submit_lazy ? c->ops->submit_lazy(c, sub, ret_entry)
				   : c->ops->submit(c, sub, ret_entry);
}

int chain_entry_get(struct chain *c, uint64_t tx_seq, struct chain_entry *ret_entry)
{
	if (!c || !ret_entry)
		return -EINVAL;
	return c->ops->entry_get(c, tx_seq, ret_entry);
}

int chain_flow_info(struct chain *c, struct chain_flow *ret_flow)
{
	if (!c || !ret_flow)
		return -EINVAL;
	return c->ops->flow_info(c, ret_flow);
}

int chain_account(struct chain *c, uint8_t ret_address[CHAIN_ADDRESS_SIZE], uint64_t *ret_balance)
{
	if (!c || !ret_address || !ret_balance)
		return -EINVAL;
	return c->ops->account(c, ret_address, ret_balance);
}

int chain_donate(struct chain *c, uint64_t amount)
{
	if (!c || amount == 0)
		return -EINVAL;
	return c->ops->donate(c, amount);
}

int chain_donations(struct chain *c, uint64_t *ret_balance)
{
	if (!c || !ret_balance)
		return -EINVAL;
	return c->ops->donations(c, ret_balance);
}

int chain_pools(struct chain *c, struct chain_pool *pools, size_t max, size_t *ret_n)
{
	if (!c || (!pools && max) || !ret_n)
		return -EINVAL;
	return c->ops->pools(c, pools, max, ret_n);
}

int chain_verify(struct chain *c, struct chain_verify_report *ret_report)
{
	return chain_verify_progress(c, NULL, NULL, ret_report);
}

int chain_verify_progress(struct chain *c, chain_progress_fn *fn, void *ctx,
			  struct chain_verify_report *ret_report)
{
	if (!c || !ret_report)
		return -EINVAL;
	return c->ops->verify(c, fn, ctx, ret_report);
}

int chain_pora_setup(struct chain *c, const struct chain_pora_params *params)
{
	if (!c || !params)
		return -EINVAL;
	return c->ops->pora_setup ? c->ops->pora_setup(c, params) : -ENOTSUP;
}

int chain_pora_info(struct chain *c, struct chain_pora_info *ret_info)
{
	if (!c || !ret_info)
		return -EINVAL;
	return c->ops->pora_info ? c->ops->pora_info(c, ret_info) : -ENOTSUP;
}

int chain_pora_register(struct chain *c, uint64_t seed,
			const uint8_t beneficiary[CHAIN_ADDRESS_SIZE], uint8_t ret_id[32])
{
	if (!c || !beneficiary || !ret_id)
		return -EINVAL;
	return c->ops->pora_register ? c->ops->pora_register(c, seed, beneficiary, ret_id)
				     : -ENOTSUP;
}

int chain_pora_miner(struct chain *c, const uint8_t id[32],
		     uint8_t ret_beneficiary[CHAIN_ADDRESS_SIZE])
{
	if (!c || !id || !ret_beneficiary)
		return -EINVAL;
	return c->ops->pora_miner ? c->ops->pora_miner(c, id, ret_beneficiary) : -ENOTSUP;
}

int chain_pora_miner_of(struct chain *c, const uint8_t beneficiary[CHAIN_ADDRESS_SIZE],
			uint8_t ret_id[32])
{
	if (!c || !beneficiary || !ret_id)
		return -EINVAL;
	return c->ops->pora_miner_of ? c->ops->pora_miner_of(c, beneficiary, ret_id) : -ENOTSUP;
}

int chain_pora_contexts(struct chain *c, size_t from, struct chain_pora_context *ctxs, size_t max,
			size_t *ret_n)
{
	if (!c || (!ctxs && max) || !ret_n)
		return -EINVAL;
	return c->ops->pora_contexts ? c->ops->pora_contexts(c, from, ctxs, max, ret_n) : -ENOTSUP;
}

int chain_pora_tick(struct chain *c)
{
	if (!c)
		return -EINVAL;
	return c->ops->pora_tick ? c->ops->pora_tick(c) : -ENOTSUP;
}

int chain_pora_submit(struct chain *c, const struct chain_pora_answer *a, uint64_t *ret_reward)
{
	if (!c || !a || !ret_reward)
		return -EINVAL;
	return c->ops->pora_submit ? c->ops->pora_submit(c, a, ret_reward) : -ENOTSUP;
}

int chain_account_balance(struct chain *c, const uint8_t address[CHAIN_ADDRESS_SIZE],
			  uint64_t *ret_balance)
{
	if (!c || !address || !ret_balance)
		return -EINVAL;
	return c->ops->account_balance ? c->ops->account_balance(c, address, ret_balance)
				       : -ENOTSUP;
}

int chain_registry_policy(struct chain *c, struct chain_policy *ret_policy)
{
	if (!c || !ret_policy)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->registry_policy ? c->ops->registry_policy(c, ret_policy) : -ENOTSUP;
}

int chain_registry_register(struct chain *c, const char *url, uint64_t shard_id, uint64_t num_shard,
			    const uint8_t replaces[CHAIN_ADDRESS_SIZE], uint64_t *ret_index)
{
	static const uint8_t zero[CHAIN_ADDRESS_SIZE];
	uint64_t index;
	size_t n;
	int r;

	if (!c || !url)
		return -EINVAL;
	chain_clear_detail();
	n = strnlen(url, CHAIN_REGISTRY_URL_MAX + 1);
	if (n == 0 || n > CHAIN_REGISTRY_URL_MAX) {
		chain_set_detail(n ? "a node URL has at most %d bytes" : "a node URL is needed",
				 CHAIN_REGISTRY_URL_MAX);
		return -EINVAL;
	}
	r = chain_shard_check(shard_id, num_shard);
	if (r < 0)
		return r;
	if (replaces && memcmp(replaces, zero, CHAIN_ADDRESS_SIZE) == 0)
		replaces = NULL;
	if (!c->ops->registry_register)
		return -ENOTSUP;
	r = c->ops->registry_register(c, url, shard_id, num_shard, replaces, &index);
	if (r == 0 && ret_index)
		*ret_index = index;
	return r;
}

int chain_da_contract(struct chain *c, struct chain_da_contract *ret)
{
	if (!c || !ret)
		return -EINVAL;
	return c->ops->da_contract ? c->ops->da_contract(c, ret) : -ENOTSUP;
}

int chain_da_setup(struct chain *c, const struct chain_da_config *cfg)
{
	if (!c || !cfg)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_setup ? c->ops->da_setup(c, cfg) : -ENOTSUP;
}

int chain_da_signing_account(struct chain *c, uint8_t ret[CHAIN_ADDRESS_SIZE])
{
	uint64_t balance;

	if (!c || !ret)
		return -EINVAL;
	chain_clear_detail();
	if (c->ops->da_account)
		return c->ops->da_account(c, ret);
	return c->ops->account ? c->ops->account(c, ret, &balance) : -ENOTSUP;
}

int chain_da_register(struct chain *c, const uint8_t vrf_key[32], const char *url, uint64_t stake)
{
	size_t n;

	if (!c || !vrf_key || !url)
		return -EINVAL;
	chain_clear_detail();
	n = strnlen(url, CHAIN_REGISTRY_URL_MAX + 1);
	if (n == 0 || n > CHAIN_REGISTRY_URL_MAX) {
		chain_set_detail(n ? "a signer URL has at most %d bytes" : "a signer URL is needed",
				 CHAIN_REGISTRY_URL_MAX);
		return -EINVAL;
	}
	return c->ops->da_register ? c->ops->da_register(c, vrf_key, url, stake) : -ENOTSUP;
}

int chain_da_signers(struct chain *c, uint64_t epoch, struct chain_da_signer *signers, size_t max,
		     size_t *ret_n)
{
	if (!c || (!signers && max) || !ret_n)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_signers ? c->ops->da_signers(c, epoch, signers, max, ret_n) : -ENOTSUP;
}

int chain_da_seed(struct chain *c, uint64_t epoch, uint8_t ret_seed[32])
{
	if (!c || !ret_seed)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_seed ? c->ops->da_seed(c, epoch, ret_seed) : -ENOTSUP;
}

int chain_da_make_seed(struct chain *c)
{
	if (!c)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_make_seed ? c->ops->da_make_seed(c) : -ENOTSUP;
}

int chain_da_publish(struct chain *c, uint64_t epoch, const uint8_t proof[80])
{
	if (!c || !proof)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_publish ? c->ops->da_publish(c, epoch, proof) : -ENOTSUP;
}

int chain_da_certify(struct chain *c, const struct chain_da_quorum *q,
		     const struct chain_da_cert *cert, unsigned *ret_slots)
{
	unsigned slots = 0;
	int r;

	if (!c || !q || !cert)
		return -EINVAL;
	chain_clear_detail();
	if (!c->ops->da_certify)
		return -ENOTSUP;
	r = c->ops->da_certify(c, q, cert, &slots);
	if (r == 0 && ret_slots)
		*ret_slots = slots;
	return r;
}

int chain_da_certificate(struct chain *c, const uint8_t data_root[32], struct chain_da_record *ret)
{
	if (!c || !data_root || !ret)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_certificate ? c->ops->da_certificate(c, data_root, ret) : -ENOTSUP;
}

int chain_da_void(struct chain *c, const uint8_t data_root[32], const uint8_t *proof, size_t len)
{
	if (!c || !data_root || !proof || len == 0 || len > CODEC_DA_BEFP_MAX)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_void ? c->ops->da_void(c, data_root, proof, len) : -ENOTSUP;
}

int chain_da_make_sample_seed(struct chain *c)
{
	if (!c)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_make_sample_seed ? c->ops->da_make_sample_seed(c) : -ENOTSUP;
}

int chain_da_challenge(struct chain *c, const uint8_t data_root[32],
		       const uint8_t account[CHAIN_ADDRESS_SIZE], struct chain_da_challenge *ret)
{
	if (!c || !data_root || !account || !ret)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_challenge ? c->ops->da_challenge(c, data_root, account, ret) : -ENOTSUP;
}

int chain_da_answer(struct chain *c, const uint8_t data_root[32], const uint8_t *share,
		    size_t share_size, const struct codec_da_proof *proof)
{
	if (!c || !data_root || !share || !proof || share_size == 0 ||
	    share_size > CODEC_DA_MAX_SHARE || proof->axis != CODEC_DA_ROW)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_answer ? c->ops->da_answer(c, data_root, share, share_size, proof)
				 : -ENOTSUP;
}

int chain_da_earned(struct chain *c, const uint8_t account[CHAIN_ADDRESS_SIZE], uint64_t *ret_wei)
{
	if (!c || !account || !ret_wei)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->da_earned ? c->ops->da_earned(c, account, ret_wei) : -ENOTSUP;
}

int chain_sign_digest(struct chain *c, const uint8_t digest[32], uint8_t ret_sig[65])
{
	if (!c || !digest || !ret_sig)
		return -EINVAL;
	return c->ops->sign_digest ? c->ops->sign_digest(c, digest, ret_sig) : -ENOTSUP;
}

int chain_registry_nodes(struct chain *c, struct chain_node *nodes, size_t max, size_t *ret_n)
{
	if (!c || (!nodes && max) || !ret_n)
		return -EINVAL;
	chain_clear_detail();
	return c->ops->registry_nodes ? c->ops->registry_nodes(c, nodes, max, ret_n) : -ENOTSUP;
}
