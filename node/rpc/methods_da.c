/*
 * methods_da.c - the zgfs_da* methods (docs/RPC.md, "DA"): what a disperser calls on the
 * signers (begin, rows, sign), what a reader calls on any of them (roots, rows, shares with
 * proofs), and what anyone asks of a node on the chain (an epoch's draw, settling a
 * certificate, the certificate recorded). Served by a node whose chain has a DA contract;
 * elsewhere they answer "not supported".
 *
 * Everything a peer sends is checked before anything is stored (node/da/signer.c): roots
 * against the data root, rows against their roots and the code, certificates against the
 * derived quorum.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/da.h"
#include "codec/da.h"
#include "codec/errors.h"
#include "node/da/da_i.h"
#include "node/limits.h"
#include "node/node_i.h"
#include "node/rpc/params_i.h"

static int need_da(struct node *n, struct node_da **ret, struct node_rpc_error *err)
{
	*ret = node_local_da(n);
	return *ret ? 0
		    : rpc_not_here(err, "this node's chain has no DA contract (zgfs chain deploy "
					"--rpc URL deploys one)");
}

/* zgfs_daDraw(epoch?): the public inputs of an epoch's draw and the quorum derived from
 * them, for a disperser to check (chain_da_quorum() on the signers gives the same). */
static json_t *draw_json(const struct chain_da_epoch *ep, const struct chain_da_signer *s, size_t n,
			 const struct chain_da_quorum *q)
{
	json_t *signers = json_array(), *members = json_array(), *slots = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    signers, json_pack("{s:o, s:o, s:o, s:s, s:o?}", "account",
				       node_rpc_hex(s[i].account, CHAIN_ADDRESS_SIZE), "vrfKey",
				       node_rpc_hex(s[i].vrf_key, 32), "stake",
				       node_rpc_u64(s[i].stake), "url", s[i].url, "proof",
				       s[i].has_proof ? node_rpc_hex(s[i].proof, 80) : NULL));
	for (size_t r = 0; r < q->members; r++)
		json_array_append_new(
		    members, json_pack("{s:I, s:o, s:s}", "index", (json_int_t)q->member[r],
				       "account", node_rpc_hex(q->account[r], CHAIN_ADDRESS_SIZE),
				       "url", s[q->member[r]].url));
	for (unsigned j = 0; j < q->slots; j++)
		json_array_append_new(slots, json_integer(q->slot_rank[j]));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "epoch",
			 node_rpc_u64(ep->epoch), "chainId", node_rpc_u64(ep->chain_id), "contract",
			 node_rpc_hex(ep->contract, CHAIN_ADDRESS_SIZE), "seed",
			 node_rpc_hex(ep->seed, 32), "stakeUnit", node_rpc_u64(ep->stake_unit),
			 "slots", (json_int_t)ep->slots, "quorum", node_rpc_hex(q->digest, 32),
			 "members", members, "slotRanks", slots, "signers", signers);
}

static int m_draw(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct chain_da_signer *s = NULL;
	struct chain_da_contract c;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	struct node_da *d;
	uint64_t epoch;
	size_t count;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 || (r = need_da(n, &d, err)) < 0)
		return r;
	r = rpc_u64(ps, 0, "epoch", true, &epoch, err);
	if (r < 0)
		return r;
	if (r == 1) {
		r = chain_da_contract(node_local_chain(n), &c);
		if (r < 0)
			return rpc_node_fail(err, r, "zgfs_daDraw");
		epoch = c.epoch;
	}
	s = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*s));
	if (!s)
		return rpc_no_memory(err);
	r = node_da_draw(d, epoch, &ep, s, CHAIN_DA_SIGNERS_MAX, &count, &q);
	if (r < 0)
		r = rpc_node_fail(err, r, "zgfs_daDraw");
	else
		r = rpc_done(draw_json(&ep, s, count, &q), ret, err);
	free(s);
	return r;
}

/* zgfs_daBegin(root, size, roots): the 4k line roots, base64 (32 bytes each). */
static int m_begin(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint8_t root[32], *roots = NULL;
	struct node_da *d;
	uint64_t size;
	size_t len;
	int r;

	if ((r = rpc_at_most(ps, 3, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "size", false, &size, err)) < 0 ||
	    (r = rpc_bytes(ps, 2, "roots", false, &roots, &len, err)) < 0)
		return r;
	if (len % CODEC_HASH_SIZE || len > 4 * CODEC_DA_MAX_K * CODEC_HASH_SIZE)
		r = rpc_bad_param(err, "roots", "expected 4k roots of 32 bytes");
	else if ((r = node_da_begin(d, root, size, (const codec_hash *)roots,
				    len / CODEC_HASH_SIZE)) < 0)
		r = r == -EINVAL
			? rpc_bad_param(err, "roots",
					"expected the 4k line roots of a blob of this size")
			: rpc_node_fail(err, r, "zgfs_daBegin");
	else
		r = rpc_done(json_true(), ret, err);
	free(roots);
	return r;
}

/* zgfs_daPutRows(root, rows: [{index, data}]): each row checked, then stored synced. */
static int m_put_rows(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	json_t *rows = rpc_arg(ps, 1, "rows"), *row;
	uint8_t root[32], *data;
	struct node_da *d;
	size_t i, len;
	uint64_t index;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0)
		return r;
	if (!json_is_array(rows) || json_array_size(rows) == 0 ||
	    json_array_size(rows) > 2 * CODEC_DA_MAX_K)
		return rpc_bad_param(err, "rows", "expected 1 to %d rows", 2 * CODEC_DA_MAX_K);
	json_array_foreach(rows, i, row)
	{
		if (!json_is_object(row))
			return rpc_bad_param(err, "rows", "expected {index, data} objects");
		if ((r = rpc_u64(row, 0, "index", false, &index, err)) < 0 ||
		    (r = rpc_bytes(row, 1, "data", false, &data, &len, err)) < 0)
			return r;
		r = index >= 2 * CODEC_DA_MAX_K
			? -EINVAL
			: node_da_put_row(d, root, (unsigned)index, data, len);
		free(data);
		if (r == -EINVAL)
			return rpc_bad_param(err, "rows",
					     "row %zu: index or length off the blob's "
					     "square",
					     i);
		if (r < 0)
			return rpc_node_fail(err, r, "zgfs_daPutRows");
	}
	return rpc_done(json_pack("{s:I}", "stored", (json_int_t)json_array_size(rows)), ret, err);
}

/* zgfs_daSign(root, epoch, quorum) → {rank, signature}. */
static int m_sign(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint8_t root[32], quorum[32], sig[CHAIN_DA_SIGNATURE_SIZE];
	struct node_da *d;
	unsigned rank, missing = 0;
	uint64_t epoch;
	char what[96];
	int r;

	if ((r = rpc_at_most(ps, 3, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "epoch", false, &epoch, err)) < 0 ||
	    (r = rpc_hash(ps, 2, "quorum", false, quorum, err)) < 0)
		return r;
	if (!node_da_is_signer(d))
		return rpc_not_here(err, "this node is not a DA signer (zgfs node --da)");
	r = node_da_sign(d, root, epoch, quorum, &rank, sig, &missing);
	if (r == -ENODATA) {
		snprintf(what, sizeof(what), "zgfs_daSign: row %u of this signer's slots", missing);
		return rpc_node_fail(err, r, what);
	}
	if (r < 0)
		return rpc_node_fail(err, r, "zgfs_daSign");
	return rpc_done(json_pack("{s:I, s:o}", "rank", (json_int_t)rank, "signature",
				  node_rpc_hex(sig, sizeof(sig))),
			ret, err);
}

static int m_get_roots(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	codec_hash roots[4 * CODEC_DA_MAX_K];
	uint8_t root[32];
	struct node_da *d;
	uint64_t size;
	size_t count;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0)
		return r;
	r = node_da_roots(d, root, &size, roots, &count);
	if (r == -ENOENT)
		return rpc_done(json_null(), ret, err);
	if (r < 0)
		return rpc_node_fail(err, r, "zgfs_daGetRoots");
	return rpc_done(json_pack("{s:o, s:o}", "size", node_rpc_u64(size), "roots",
				  node_rpc_base64(roots[0], count * CODEC_HASH_SIZE)),
			ret, err);
}

static int m_get_row(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	const size_t max = 2 * CODEC_DA_MAX_K * CODEC_DA_MAX_SHARE;
	uint8_t root[32], *buf;
	struct node_da *d;
	uint64_t index;
	size_t len;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "index", false, &index, err)) < 0)
		return r;
	if (index >= 2 * CODEC_DA_MAX_K)
		return rpc_done(json_null(), ret, err);
	buf = malloc(max);
	if (!buf)
		return rpc_no_memory(err);
	r = node_da_row(d, root, (unsigned)index, buf, max, &len);
	if (r == -ENOENT)
		r = rpc_done(json_null(), ret, err);
	else if (r < 0)
		r = rpc_node_fail(err, r, "zgfs_daGetRow");
	else
		r = rpc_done(node_rpc_base64(buf, len), ret, err);
	free(buf);
	return r;
}

static int m_get_share(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	uint8_t root[32], share[CODEC_DA_MAX_SHARE], enc[CODEC_DA_PROOF_MAX];
	struct codec_da_proof proof;
	struct node_da *d;
	uint64_t row, col;
	size_t size;
	int r;

	if ((r = rpc_at_most(ps, 3, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0 ||
	    (r = rpc_u64(ps, 1, "row", false, &row, err)) < 0 ||
	    (r = rpc_u64(ps, 2, "col", false, &col, err)) < 0)
		return r;
	if (row >= 2 * CODEC_DA_MAX_K || col >= 2 * CODEC_DA_MAX_K)
		return rpc_bad_param(err, "row", "row and col are below 2k ≤ %d",
				     2 * CODEC_DA_MAX_K);
	r = node_da_share(d, root, (unsigned)row, (unsigned)col, share, &size, &proof);
	if (r == -ENOENT)
		return rpc_done(json_null(), ret, err);
	if (r == -EINVAL)
		return rpc_bad_param(err, "row", "outside the blob's square");
	if (r < 0)
		return rpc_node_fail(err, r, "zgfs_daGetShare");
	return rpc_done(json_pack("{s:o, s:o}", "share", node_rpc_base64(share, size), "proof",
				  node_rpc_base64(enc, codec_da_proof_encode(&proof, enc))),
			ret, err);
}

/* zgfs_daGetShares(root, [[row, col], ...]): up to 2k shares with proofs at once (a
 * sampler rebuilding a column asks each signer for its shares of it); null for each share
 * whose row is not held here. */
static int m_get_shares(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	json_t *pos = rpc_arg(ps, 1, "positions"), *p, *out;
	uint8_t root[32];
	struct node_da *d;
	size_t i;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0)
		return r;
	if (!json_is_array(pos) || json_array_size(pos) == 0 ||
	    json_array_size(pos) > 2 * CODEC_DA_MAX_K)
		return rpc_bad_param(err, "positions", "expected 1 to %d [row, col] pairs",
				     2 * CODEC_DA_MAX_K);
	out = json_array();
	json_array_foreach(pos, i, p)
	{
		uint8_t share[CODEC_DA_MAX_SHARE], enc[CODEC_DA_PROOF_MAX];
		struct codec_da_proof proof;
		json_int_t row = json_integer_value(json_array_get(p, 0));
		json_int_t col = json_integer_value(json_array_get(p, 1));
		size_t size;

		if (!json_is_array(p) || json_array_size(p) != 2 || row < 0 || col < 0 ||
		    row >= 2 * CODEC_DA_MAX_K || col >= 2 * CODEC_DA_MAX_K) {
			json_decref(out);
			return rpc_bad_param(err, "positions", "expected [row, col] below 2k");
		}
		r = node_da_share(d, root, (unsigned)row, (unsigned)col, share, &size, &proof);
		if (r < 0 && r != -ENOENT && r != -EINVAL) {
			json_decref(out);
			return rpc_node_fail(err, r, "zgfs_daGetShares");
		}
		json_array_append_new(
		    out,
		    r < 0 ? json_null()
			  : json_pack("{s:o, s:o}", "share", node_rpc_base64(share, size), "proof",
				      node_rpc_base64(enc, codec_da_proof_encode(&proof, enc))));
	}
	return rpc_done(out, ret, err);
}

static int m_certify(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct chain_da_contract c;
	struct node_da *d;
	uint8_t *cert;
	unsigned slots = 0;
	size_t len;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_bytes(ps, 0, "certificate", false, &cert, &len, err)) < 0)
		return r;
	r = len > CHAIN_DA_CERT_MAX ? -CODEC_EFORMAT : node_da_certify(d, cert, len, &slots);
	free(cert);
	if (r == -CODEC_EFORMAT)
		return rpc_bad_param(err, "certificate", "not a certificate (docs/DA.md)");
	if (r < 0 && r != -EEXIST)
		return rpc_node_fail(err, r, "zgfs_daCertify");
	if (chain_da_contract(node_local_chain(n), &c) < 0)
		c.slots = 0;
	return rpc_done(json_pack("{s:I, s:I, s:b}", "slotsSigned", (json_int_t)slots, "slots",
				  (json_int_t)c.slots, "already", r == -EEXIST),
			ret, err);
}

static int m_certificate(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct chain_da_record rec;
	struct node_da *d;
	uint8_t root[32];
	bool ok;
	int r;

	if ((r = rpc_at_most(ps, 1, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0)
		return r;
	r = node_da_certificate(d, root, &rec, &ok);
	if (r == -ENOENT)
		return rpc_done(json_null(), ret, err);
	if (r < 0)
		return rpc_node_fail(err, r, "zgfs_daCertificate");
	return rpc_done(json_pack("{s:o, s:o, s:o, s:I, s:o, s:b, s:o, s:I, s:b}", "epoch",
				  node_rpc_u64(rec.epoch), "size", node_rpc_u64(rec.len), "quorum",
				  node_rpc_hex(rec.quorum, 32), "slotsSigned",
				  (json_int_t)rec.slots_signed, "block", node_rpc_u64(rec.block),
				  "quorumMatchesDraw", ok, "feeWei", node_rpc_u64(rec.fee),
				  "signers", (json_int_t)rec.signers, "voided", rec.voided),
			ret, err);
}

static int m_void(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_da *d;
	uint8_t root[32], *proof;
	size_t len;
	int r;

	if ((r = rpc_at_most(ps, 2, err)) < 0 || (r = need_da(n, &d, err)) < 0 ||
	    (r = rpc_hash(ps, 0, "root", false, root, err)) < 0 ||
	    (r = rpc_bytes(ps, 1, "proof", false, &proof, &len, err)) < 0)
		return r;
	r = len > CODEC_DA_BEFP_MAX ? -CODEC_EFORMAT : node_da_void(d, root, proof, len);
	free(proof);
	if (r == -CODEC_EFORMAT)
		return rpc_bad_param(err, "proof",
				     "not a bad-encoding proof of this blob's square (docs/DA.md)");
	if (r < 0 && r != -EALREADY)
		return rpc_node_fail(err, r, "zgfs_daVoid");
	return rpc_done(json_pack("{s:b, s:b}", "voided", true, "already", r == -EALREADY), ret,
			err);
}

static int m_status(struct node *n, json_t *ps, json_t **ret, struct node_rpc_error *err)
{
	struct node_da *d;
	int r;

	if ((r = rpc_at_most(ps, 0, err)) < 0 || (r = need_da(n, &d, err)) < 0)
		return r;
	return rpc_done(node_da_status(d), ret, err);
}

const struct node_rpc_method node_rpc_da_methods[] = {
    {"zgfs_daDraw", m_draw},
    {"zgfs_daBegin", m_begin},
    {"zgfs_daPutRows", m_put_rows},
    {"zgfs_daSign", m_sign},
    {"zgfs_daGetRoots", m_get_roots},
    {"zgfs_daGetRow", m_get_row},
    {"zgfs_daGetShare", m_get_share},
    {"zgfs_daGetShares", m_get_shares},
    {"zgfs_daCertify", m_certify},
    {"zgfs_daCertificate", m_certificate},
    {"zgfs_daStatus", m_status},
    {"zgfs_daVoid", m_void},
    {NULL, NULL},
};
