/*
 * ec.c - one stripe's parity and its decoding (place.h), on codec/rs.h.
 *
 * Every symbol is CODEC_SEGMENT_SIZE bytes. The zero symbols of a short stripe and the
 * zero tail of a short last segment are real inputs of the code, so they come from a
 * shared zero buffer or a zero-filled copy; nothing here guesses lengths.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/merkle.h"
#include "codec/rs.h"
#include "node/peer/place.h"

struct node_ec {
	unsigned k, m;
	struct codec_rs *rs;
	uint8_t *zero; /* CODEC_SEGMENT_SIZE zero bytes, read only */
};

int node_ec_new(unsigned k, unsigned m, struct node_ec **ret_ec)
{
	struct node_ec *ec = calloc(1, sizeof(*ec));
	int r;

	if (!ec)
		return -ENOMEM;
	ec->k = k;
	ec->m = m;
	r = codec_rs_new(k, m, &ec->rs);
	if (r < 0)
		goto fail;
	ec->zero = calloc(1, CODEC_SEGMENT_SIZE);
	if (!ec->zero) {
		r = -ENOMEM;
		goto fail;
	}
	*ret_ec = ec;
	return 0;
fail:
	node_ec_free(ec);
	return r;
}

void node_ec_free(struct node_ec *ec)
{
	if (!ec)
		return;
	codec_rs_free(ec->rs);
	free(ec->zero);
	free(ec);
}

int node_ec_encode(const struct node_ec *ec, const uint8_t *const *data, const size_t *len,
		   unsigned ndata, uint8_t **parity)
{
	const uint8_t *in[CODEC_RS_MAX_SHARDS];
	uint8_t *tail = NULL; /* the short segment, zero-filled (at most one per stripe) */

	if (ndata < 1 || ndata > ec->k)
		return -EINVAL;
	for (unsigned i = 0; i < ndata; i++) {
		if (len[i] > CODEC_SEGMENT_SIZE || (len[i] < CODEC_SEGMENT_SIZE && tail)) {
			free(tail);
			return -EINVAL;
		}
		in[i] = data[i];
		if (len[i] < CODEC_SEGMENT_SIZE) {
			tail = calloc(1, CODEC_SEGMENT_SIZE);
			if (!tail)
				return -ENOMEM;
			memcpy(tail, data[i], len[i]);
			in[i] = tail;
		}
	}
	for (unsigned i = ndata; i < ec->k; i++)
		in[i] = ec->zero;
	codec_rs_encode(ec->rs, CODEC_SEGMENT_SIZE, in, parity);
	free(tail);
	return 0;
}

int node_ec_decode(const struct node_ec *ec, uint8_t **sym, const bool *have, unsigned ndata)
{
	uint8_t *shards[CODEC_RS_MAX_SHARDS];
	unsigned lost[CODEC_RS_MAX_SHARDS], nlost = 0, n = ec->k + ec->m;
	uint8_t *scratch = NULL;
	int r;

	if (ndata < 1 || ndata > ec->k)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (i >= ndata && i < ec->k) {
			/* Known zeros. rs reads them and never writes a surviving shard, so the
			 * shared buffer may appear once per position. */
			shards[i] = ec->zero;
			continue;
		}
		if (!sym[i])
			return -EINVAL;
		shards[i] = sym[i];
		if (!have[i])
			lost[nlost++] = i;
	}
	if (nlost > ec->m)
		return -ENODATA;
	if (nlost == 0)
		return 0;
	/* rs wants distinct pointers: with several zero positions, give each its own copy
	 * (only in short stripes, once). */
	if (ec->k - ndata > 1) {
		scratch = calloc(ec->k - ndata, CODEC_SEGMENT_SIZE);
		if (!scratch)
			return -ENOMEM;
		for (unsigned i = ndata; i < ec->k; i++)
			shards[i] = scratch + (size_t)(i - ndata) * CODEC_SEGMENT_SIZE;
	}
	r = codec_rs_reconstruct(ec->rs, CODEC_SEGMENT_SIZE, shards, lost, nlost);
	free(scratch);
	return r;
}
