/*
 * Fuzz target: the 0G-KV stream format decoder (node/kv_format.c). Any input must decode
 * or be refused cleanly. What decodes must be consistent: every pointer lies inside the
 * input, each prefix decode agrees with the full one, and encoding the result gives back
 * exactly the input (the format has one encoding per transaction). The tags parser runs
 * on the same bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/kv/format.h"
#include "tests/fuzz/fuzz.h"

static int inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
	const uint8_t *q = p;

	if (!q)
		return n == 0;
	return q >= data && n <= size && q <= data + size - n;
}

static void check_decoded(const struct node_kv_tx *tx, const uint8_t *data, size_t size)
{
	for (uint32_t i = 0; i < tx->n_reads; i++)
		if (!inside(tx->reads[i].stream_id, 32, data, size) ||
		    !inside(tx->reads[i].key, tx->reads[i].key_len, data, size) ||
		    tx->reads[i].key_len == 0)
			abort();
	for (uint32_t i = 0; i < tx->n_writes; i++)
		if (!inside(tx->writes[i].stream_id, 32, data, size) ||
		    !inside(tx->writes[i].key, tx->writes[i].key_len, data, size) ||
		    !inside(tx->writes[i].data, (size_t)tx->writes[i].data_len, data, size))
			abort();
	for (uint32_t i = 0; i < tx->n_acls; i++) {
		const struct node_kv_acl *a = &tx->acls[i];

		if (!node_kv_acl_op_valid(a->op) || !inside(a->stream_id, 32, data, size) ||
		    !inside(a->key, a->key_len, data, size) ||
		    (a->account && !inside(a->account, 20, data, size)) ||
		    node_kv_acl_op_has_account(a->op) != (a->account != NULL) ||
		    node_kv_acl_op_has_key(a->op) != (a->key_len != 0))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node_kv_tx tx, part;
	uint64_t enc_size;
	uint8_t *buf;
	size_t len;
	int r = node_kv_tx_decode(data, size, &tx);

	/* Tags: the count and each id must stay inside the input. */
	for (size_t i = 0, n = node_kv_tags_stream_count(data, size); i < n; i++)
		if (!inside(node_kv_tags_stream_id(data, size, i), 32, data, size))
			abort();

	if (r != 0) {
		/* Refused: with one of the format's own codes (or out of memory). */
		if (r != -ENOMEM && (-r <= NODE_KV_EFIRST || -r >= NODE_KV_ELAST))
			abort();
		return 0;
	}
	check_decoded(&tx, data, size);
	for (int s = NODE_KV_SECTION_READS; s <= NODE_KV_SECTION_WRITES; s++) {
		if (node_kv_tx_decode_prefix(data, size, (enum node_kv_section)s, &part) != 0)
			abort();
		if (part.n_reads != tx.n_reads || part.version != tx.version ||
		    (s == NODE_KV_SECTION_WRITES && part.n_writes != tx.n_writes))
			abort();
		node_kv_tx_release(&part);
	}
	if (node_kv_tx_encoded_size(&tx, &enc_size) != 0 || enc_size != size)
		abort();
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	if (node_kv_tx_encode(&tx, buf, size, &len) != 0 || len != size ||
	    memcmp(buf, data, size) != 0)
		abort();
	free(buf);
	node_kv_tx_release(&tx);
	return 0;
}
