/*
 * The public functions of chain.h: argument checks in one place, then the backend's
 * operation. Backends therefore never see NULL where chain.h forbids it.
 */
#include <errno.h>

#include "chain/backend_i.h"

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
	if (!c || !ret_report)
		return -EINVAL;
	return c->ops->verify(c, ret_report);
}
