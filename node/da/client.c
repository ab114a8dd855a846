/*
 * client.c - the DA client (node/da.h): dispersal to a quorum, retrieval, sampling.
 *
 * Each member of a quorum is driven by a thread of its own, so a slow or dead signer
 * delays only its own slots: dispersal collects whatever signatures arrive and settles
 * when more than 2/3 of the slots signed; retrieval stops as soon as k rows checked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec/da.h"
#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "node/da.h"
#include "node/limits.h"
#include "node/node.h"
#include "node/rpc/rpc.h"
#include "sys/clock.h"

/* Raw row bytes per zgfs_daPutRows call: in base64 with JSON around it, well under
 * NODE_RPC_BODY_MAX. */
#define PUT_BATCH_BYTES (4u << 20)
#define SAMPLES_MAX	4096u

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why && size) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* --- JSON of a draw ------------------------------------------------------------------ */

static int jhex(json_t *o, const char *key, uint8_t *out, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && codec_hex_decode(s, out, len) == 0 ? 0 : -EBADMSG;
}

static int ju64(json_t *o, const char *key, uint64_t *out)
{
	return node_rpc_get_u64(json_object_get(o, key), out) == 0 ? 0 : -EBADMSG;
}

struct draw {
	struct chain_da_epoch ep;
	struct chain_da_signer *s; /* CHAIN_DA_SIGNERS_MAX */
	size_t n;
	struct chain_da_quorum q;
};

static int parse_signer(json_t *o, struct chain_da_signer *s)
{
	const char *url = json_string_value(json_object_get(o, "url"));

	memset(s, 0, sizeof(*s));
	if (jhex(o, "account", s->account, CHAIN_ADDRESS_SIZE) < 0 ||
	    jhex(o, "vrfKey", s->vrf_key, 32) < 0 || ju64(o, "stake", &s->stake) < 0 || !url ||
	    strlen(url) > CHAIN_REGISTRY_URL_MAX)
		return -EBADMSG;
	snprintf(s->url, sizeof(s->url), "%s", url);
	s->has_proof = jhex(o, "proof", s->proof, CODEC_VRF_PROOF_SIZE) == 0;
	return 0;
}

/* The draw the entry node reports, re-derived here from its public inputs. */
static int parse_draw(json_t *o, struct draw *d, char *why, size_t size)
{
	json_t *signers = json_object_get(o, "signers"), *v;
	uint8_t digest[32];
	uint64_t slots;
	size_t i;
	int r;

	if (ju64(o, "epoch", &d->ep.epoch) < 0 || ju64(o, "chainId", &d->ep.chain_id) < 0 ||
	    jhex(o, "contract", d->ep.contract, CHAIN_ADDRESS_SIZE) < 0 ||
	    jhex(o, "seed", d->ep.seed, 32) < 0 || ju64(o, "stakeUnit", &d->ep.stake_unit) < 0 ||
	    ju64(o, "slots", &slots) < 0 || slots == 0 || slots > CHAIN_DA_SLOTS_MAX ||
	    jhex(o, "quorum", digest, 32) < 0 || !json_is_array(signers) ||
	    json_array_size(signers) > CHAIN_DA_SIGNERS_MAX) {
		fail(why, size, "the node's DA draw does not decode");
		return -EBADMSG;
	}
	d->ep.slots = (unsigned)slots;
	json_array_foreach(signers, i, v) if (parse_signer(v, &d->s[i]) < 0)
	{
		fail(why, size, "the node's DA draw has a signer that does not decode");
		return -EBADMSG;
	}
	d->n = json_array_size(signers);
	r = chain_da_quorum(&d->ep, d->s, d->n, &d->q);
	if (r == 0 && memcmp(d->q.digest, digest, 32) != 0)
		r = -CHAIN_EDA_QUORUM;
	if (r < 0)
		fail(why, size,
		     "the quorum of epoch %llu does not follow from its draw's inputs: %s",
		     (unsigned long long)d->ep.epoch, chain_strerror(r));
	return r;
}

static int call(const char *url, const char *method, json_t *params, json_t **ret, char *why,
		size_t size)
{
	struct node_rpc_client *c = NULL;
	struct node_rpc_error err = {0};
	int r = node_rpc_client_new(url, &c);

	if (r < 0) {
		json_decref(params);
		fail(why, size, "%s: not a node URL", url);
		return r;
	}
	r = node_rpc_call(c, method, params, ret, &err);
	if (r < 0)
		fail(why, size, "%s%s%s", err.message, err.data[0] ? ": " : "", err.data);
	node_rpc_client_free(c);
	return r;
}

/* Epoch's draw (the current epoch's when epoch is UINT64_MAX) through the entry node. */
static int get_draw(const char *url, uint64_t epoch, struct draw *d, char *why, size_t size)
{
	json_t *o = NULL;
	int r;

	d->s = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*d->s));
	if (!d->s)
		return -ENOMEM;
	r = call(url, "zgfs_daDraw",
		 epoch == UINT64_MAX ? json_array() : json_pack("[I]", (json_int_t)epoch), &o, why,
		 size);
	if (r == 0)
		r = parse_draw(o, d, why, size);
	json_decref(o);
	return r;
}

static const char *member_url(const struct draw *d, unsigned rank)
{
	return d->s[d->q.member[rank]].url;
}

/* rows: 2k of the blob at hand. */
static bool holds(const struct draw *d, unsigned rank, unsigned row, unsigned rows)
{
	return chain_da_holds(&d->q, rank, row, rows);
}

/* --- dispersal --------------------------------------------------------------------------- */

struct put_job {
	const char *url;
	const struct codec_da_square *sq;
	uint64_t len;
	const struct draw *d;
	unsigned rank;
	int r;
	uint8_t sig[CHAIN_DA_SIGNATURE_SIZE];
	char why[256];
};

static int put_rows(struct put_job *j)
{
	const struct codec_da_square *sq = j->sq;
	const size_t row_len = 2 * (size_t)sq->k * sq->share_size;
	const size_t per = row_len >= PUT_BATCH_BYTES ? 1 : PUT_BATCH_BYTES / row_len;
	json_t *rows = NULL, *res = NULL;
	int r = 0;

	for (unsigned row = 0; r == 0 && row <= 2 * sq->k; row++) {
		bool last = row == 2 * sq->k;

		if (!last && holds(j->d, j->rank, row, 2 * sq->k)) {
			if (!rows)
				rows = json_array();
			json_array_append_new(
			    rows, json_pack("{s:I, s:o}", "index", (json_int_t)row, "data",
					    node_rpc_base64(codec_da_share(sq, row, 0), row_len)));
		}
		if (rows && (last || json_array_size(rows) >= per)) {
			r = call(j->url, "zgfs_daPutRows",
				 json_pack("[o, o]", node_rpc_hex(sq->data_root, 32), rows), &res,
				 j->why, sizeof(j->why));
			json_decref(res);
			res = NULL;
			rows = NULL;
		}
	}
	json_decref(rows);
	return r;
}

static void *put_main(void *arg)
{
	struct put_job *j = arg;
	const struct codec_da_square *sq = j->sq;
	json_t *res = NULL;
	int r;

	r = call(j->url, "zgfs_daBegin",
		 json_pack("[o, I, o]", node_rpc_hex(sq->data_root, 32), (json_int_t)j->len,
			   node_rpc_base64(sq->row_roots[0], 4 * (size_t)sq->k * CODEC_HASH_SIZE)),
		 &res, j->why, sizeof(j->why));
	json_decref(res);
	res = NULL;
	if (r == 0)
		r = put_rows(j);
	if (r == 0)
		r = call(j->url, "zgfs_daSign",
			 json_pack("[o, I, o]", node_rpc_hex(sq->data_root, 32),
				   (json_int_t)j->d->ep.epoch, node_rpc_hex(j->d->q.digest, 32)),
			 &res, j->why, sizeof(j->why));
	if (r == 0 && (jhex(res, "signature", j->sig, sizeof(j->sig)) < 0 ||
		       json_integer_value(json_object_get(res, "rank")) != (json_int_t)j->rank)) {
		fail(j->why, sizeof(j->why), "zgfs_daSign answered no signature for rank %u",
		     j->rank);
		r = -EBADMSG;
	}
	json_decref(res);
	j->r = r;
	return NULL;
}

/* Waits for an epoch whose draw exists (a cluster just started has none for a while). */
static int wait_draw(const char *url, unsigned wait_s, struct draw *d, char *why, size_t size)
{
	const uint64_t until = sys_now_ms() + (uint64_t)wait_s * 1000;
	int r;

	for (;;) {
		free(d->s);
		r = get_draw(url, UINT64_MAX, d, why, size);
		if (r != -ENOENT)
			return r;
		if (sys_now_ms() >= until)
			return r;
		sys_sleep_ms(250);
	}
}

static int certify(const char *url, const struct draw *d, struct put_job *jobs,
		   const struct codec_da_square *sq, uint64_t len, unsigned *ret_slots, char *why,
		   size_t size)
{
	struct chain_da_cert cert = {0};
	uint8_t enc[CHAIN_DA_CERT_MAX];
	json_t *res = NULL;
	unsigned slots = 0;
	int r;

	memcpy(cert.data_root, sq->data_root, 32);
	cert.len = len;
	cert.epoch = d->ep.epoch;
	memcpy(cert.quorum, d->q.digest, 32);
	for (unsigned rank = 0; rank < d->q.members; rank++) {
		if (jobs[rank].r != 0)
			continue;
		cert.rank[cert.nsigs] = (uint8_t)rank;
		memcpy(cert.sig[cert.nsigs++], jobs[rank].sig, CHAIN_DA_SIGNATURE_SIZE);
	}
	if (cert.nsigs == 0) {
		fail(why, size, "no member of epoch %llu's quorum signed: %s",
		     (unsigned long long)d->ep.epoch, jobs[0].why);
		return -CHAIN_EDA_THRESHOLD;
	}
	r = chain_da_cert_verify(&d->ep, &d->q, &cert, &slots);
	if (r < 0) {
		for (unsigned rank = 0; rank < d->q.members; rank++)
			if (jobs[rank].r != 0)
				return fail(why, size,
					    "signed %u of %u slots, not more than 2/3: %s "
					    "(rank %u)",
					    slots, d->q.slots, jobs[rank].why, rank),
				       r;
		fail(why, size, "the signatures do not certify: %s", chain_strerror(r));
		return r;
	}
	r = call(url, "zgfs_daCertify",
		 json_pack("[o]", node_rpc_base64(enc, chain_da_cert_encode(&cert, enc))), &res,
		 why, size);
	if (r == 0)
		*ret_slots = (unsigned)json_integer_value(json_object_get(res, "slotsSigned"));
	json_decref(res);
	return r;
}

/* The extended square, row-major, as one log entry through the entry node, tagged
 * NODE_DA_LOG_TAG ‖ data root. */
static int store_square(const char *url, const struct codec_da_square *sq,
			struct node_da_put_report *rep, char *why, size_t why_size)
{
	const size_t size = 4 * (size_t)sq->k * sq->k * sq->share_size;
	uint8_t tags[sizeof(NODE_DA_LOG_TAG) - 1 + 32];
	struct node_file_info info;
	struct node_upload *u = NULL;
	struct node *n = NULL;
	int r = node_open_remote(url, &n);

	memcpy(tags, NODE_DA_LOG_TAG, sizeof(NODE_DA_LOG_TAG) - 1);
	memcpy(tags + sizeof(NODE_DA_LOG_TAG) - 1, sq->data_root, 32);
	if (r == 0)
		r = node_upload_begin(n, tags, sizeof(tags), &u);
	if (r == 0)
		r = node_upload_write(u, sq->shares, size);
	if (r == 0)
		r = node_upload_finish(u, &info);
	else if (u)
		node_upload_abort(u);
	node_close(n);
	if (r < 0) {
		fail(why, why_size, "storing the extended square in the log: %s", node_strerror(r));
		return r;
	}
	rep->log_tx_seq = info.entry.tx_seq;
	memcpy(rep->log_root, info.entry.root, 32);
	return 0;
}

int node_da_put(const char *url, const void *blob, size_t len, unsigned wait_s, bool store,
		node_da_root_fn *progress, void *ctx, struct node_da_put_report *ret, char *why,
		size_t why_size)
{
	struct node_da_put_report rep = {0};
	struct codec_da_square *sq = NULL;
	struct put_job jobs[CHAIN_DA_SLOTS_MAX];
	pthread_t threads[CHAIN_DA_SLOTS_MAX];
	struct draw d = {0};
	double t0 = sys_now_s();
	int r;

	if (len > CODEC_DA_MAX_BLOB) {
		fail(why, why_size,
		     "a blob holds at most %u bytes (0G's maximum), this one has %zu",
		     (unsigned)CODEC_DA_MAX_BLOB, len);
		return -E2BIG;
	}
	r = codec_da_encode(blob, len, 2, &sq);
	if (r < 0)
		return fail(why, why_size, "encoding: %s", codec_strerror(r)), r;
	rep.encode_s = sys_now_s() - t0;
	memcpy(rep.root, sq->data_root, 32);
	if (progress)
		progress(ctx, sq->data_root);
	r = wait_draw(url, wait_s, &d, why, why_size);
	if (r < 0)
		goto out;
	t0 = sys_now_s();
	for (unsigned rank = 0; rank < d.q.members; rank++) {
		jobs[rank] = (struct put_job){.url = member_url(&d, rank),
					      .sq = sq,
					      .len = len,
					      .d = &d,
					      .rank = rank,
					      .r = -EAGAIN};
		if (pthread_create(&threads[rank], NULL, put_main, &jobs[rank]) != 0)
			put_main(&jobs[rank]), threads[rank] = 0;
	}
	for (unsigned rank = 0; rank < d.q.members; rank++)
		if (threads[rank])
			pthread_join(threads[rank], NULL);
	rep.disperse_s = sys_now_s() - t0;
	t0 = sys_now_s();
	r = certify(url, &d, jobs, sq, len, &rep.slots_signed, why, why_size);
	rep.certify_s = sys_now_s() - t0;
	t0 = sys_now_s();
	if (r == 0 && store)
		r = store_square(url, sq, &rep, why, why_size);
	rep.store_s = sys_now_s() - t0;
	rep.len = len;
	rep.epoch = d.ep.epoch;
	memcpy(rep.quorum, d.q.digest, 32);
	rep.k = sq->k;
	rep.slots = d.q.slots;
	rep.members = (unsigned)d.q.members;
out:
	free(d.s);
	codec_da_square_free(sq);
	if (r == 0)
		*ret = rep;
	return r;
}

/* --- the certificate and its draw ---------------------------------------------------------- */

struct blob_info {
	struct draw d;
	uint64_t len;
	unsigned k;
	size_t share;
	codec_hash roots[4 * CODEC_DA_MAX_K];
	bool voided, allow_voided; /* the certificate's state; whether to go on when it is */
};

/* The certificate of root, its epoch's draw, and the roots from the first member that has
 * them right. */
static int blob_info(const char *url, const uint8_t root[32], struct blob_info *b, char *why,
		     size_t size)
{
	json_t *o = NULL, *res = NULL;
	uint8_t quorum[32];
	uint64_t epoch;
	int r = call(url, "zgfs_daCertificate", json_pack("[o]", node_rpc_hex(root, 32)), &o, why,
		     size);

	if (r < 0)
		return r;
	if (json_is_null(o)) {
		json_decref(o);
		fail(why, size, "no certificate for this data root on the chain");
		return -ENOENT;
	}
	if (ju64(o, "epoch", &epoch) < 0 || ju64(o, "size", &b->len) < 0 ||
	    jhex(o, "quorum", quorum, 32) < 0 || codec_da_geometry(b->len, &b->k, &b->share) < 0) {
		json_decref(o);
		fail(why, size, "the certificate does not decode");
		return -EBADMSG;
	}
	b->voided = json_is_true(json_object_get(o, "voided"));
	json_decref(o);
	if (b->voided && !b->allow_voided) {
		fail(why, size, "%s", chain_strerror(-CHAIN_EDA_VOIDED));
		return -CHAIN_EDA_VOIDED;
	}
	r = get_draw(url, epoch, &b->d, why, size);
	if (r < 0)
		return r;
	if (memcmp(b->d.q.digest, quorum, 32) != 0) {
		fail(why, size, "the certificate's quorum is not epoch %llu's draw",
		     (unsigned long long)epoch);
		return -CHAIN_EDA_QUORUM;
	}
	for (unsigned rank = 0; rank < b->d.q.members; rank++) {
		uint8_t buf[4 * CODEC_DA_MAX_K * CODEC_HASH_SIZE];
		uint64_t len;
		size_t n;

		res = NULL;
		if (call(member_url(&b->d, rank), "zgfs_daGetRoots",
			 json_pack("[o]", node_rpc_hex(root, 32)), &res, NULL, 0) < 0)
			continue;
		r = ju64(res, "size", &len) == 0 && len == b->len &&
		    node_rpc_unbase64(json_object_get(res, "roots"), buf, sizeof(buf), &n) == 0 &&
		    n == 4 * (size_t)b->k * CODEC_HASH_SIZE &&
		    codec_da_roots_check(b->k, buf, root) == 0;
		json_decref(res);
		if (r) {
			memcpy(b->roots, buf, n);
			return 0;
		}
	}
	fail(why, size, "no signer of the blob answered its roots");
	return -CODEC_EDA_UNRECOVERABLE;
}

/* --- retrieval ------------------------------------------------------------------------------ */

struct get_job {
	const struct blob_info *b;
	struct codec_da_square *sq;
	uint8_t *have_row;   /* 2k, under *mu */
	pthread_mutex_t *mu; /* have_row and the square's rows */
	atomic_uint *rows, *bad;
	unsigned rank, want; /* stop once want rows are in */
	const uint8_t *root;
};

/* A row checked in buf goes into the square unless another member's copy is there. */
static void keep_row(struct get_job *j, unsigned row, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(j->mu);
	if (!j->have_row[row]) {
		memcpy(codec_da_share(j->sq, row, 0), buf, len);
		j->have_row[row] = 1;
		atomic_fetch_add(j->rows, 1);
	}
	pthread_mutex_unlock(j->mu);
}

/* Rows held by several members (small squares) may come from any of them: each is
 * fetched into a buffer of this thread's own and checked there, so a lying copy never
 * touches the square. */
static void *get_main(void *arg)
{
	struct get_job *j = arg;
	const struct blob_info *b = j->b;
	const size_t row_len = 2 * (size_t)b->k * b->share;
	uint8_t *buf = malloc(row_len);

	for (unsigned row = 0; buf && row < 2 * b->k && atomic_load(j->rows) < j->want; row++) {
		json_t *res = NULL;
		size_t n;
		bool ok, have;

		if (!holds(&b->d, j->rank, row, 2 * b->k))
			continue;
		pthread_mutex_lock(j->mu);
		have = j->have_row[row];
		pthread_mutex_unlock(j->mu);
		if (have)
			continue;
		if (call(member_url(&b->d, j->rank), "zgfs_daGetRow",
			 json_pack("[o, I]", node_rpc_hex(j->root, 32), (json_int_t)row), &res,
			 NULL, 0) < 0)
			break; /* a signer that does not answer: the others' rows are asked */
		ok = !json_is_null(res) && node_rpc_unbase64(res, buf, row_len, &n) == 0 &&
		     n == row_len && codec_da_line_check(b->k, b->share, buf, b->roots[row]) == 0;
		json_decref(res);
		if (ok)
			keep_row(j, row, buf, row_len);
		else
			atomic_fetch_add(j->bad, 1);
	}
	free(buf);
	return NULL;
}

static int rebuild(struct blob_info *b, struct codec_da_square *sq, const uint8_t *have_row,
		   const uint8_t root[32], uint8_t **ret_blob, size_t *ret_len)
{
	const size_t side = 2 * (size_t)b->k;
	uint8_t *have = calloc(side * side, 1);
	int r;

	if (!have)
		return -ENOMEM;
	for (size_t row = 0; row < side; row++)
		memset(have + row * side, have_row[row], side);
	r = codec_da_reconstruct(sq, have, root, 2);
	free(have);
	if (r == 0)
		r = codec_da_blob(sq, ret_blob, ret_len);
	return r;
}

/* Rows from every member, one thread each, until want rows are in the square (have_row
 * marks them; those present already are not fetched again). */
static void fetch_rows(const struct blob_info *b, struct codec_da_square *sq, uint8_t *have_row,
		       const uint8_t root[32], unsigned want, atomic_uint *rows, atomic_uint *bad)
{
	struct get_job jobs[CHAIN_DA_SLOTS_MAX];
	pthread_t threads[CHAIN_DA_SLOTS_MAX];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

	for (unsigned rank = 0; rank < b->d.q.members; rank++) {
		jobs[rank] = (struct get_job){.b = b,
					      .sq = sq,
					      .have_row = have_row,
					      .mu = &mu,
					      .rows = rows,
					      .bad = bad,
					      .rank = rank,
					      .want = want,
					      .root = root};
		if (pthread_create(&threads[rank], NULL, get_main, &jobs[rank]) != 0)
			get_main(&jobs[rank]), threads[rank] = 0;
	}
	for (unsigned rank = 0; rank < b->d.q.members; rank++)
		if (threads[rank])
			pthread_join(threads[rank], NULL);
}

/*
 * The rows rebuilt a square that is not the data root's, or that is but whose lines are not
 * all codewords: the blob is badly encoded. Fetch every row the signers still serve (none
 * when the square is complete), look for a column whose rows break the code or hash
 * to another root than its committed one (codec_da_befp_build_partial), and have the entry
 * node void the certificate with that proof. -CHAIN_EDA_VOIDED once it is (or was); else
 * -CODEC_EDA_DATA_ROOT, with why saying the proof could not be made from the rows served.
 */
static int prove_bad(const char *url, const struct blob_info *b, struct codec_da_square *sq,
		     uint8_t *have_row, const uint8_t root[32], atomic_uint *rows, atomic_uint *bad,
		     char *why, size_t size)
{
	const unsigned side = 2 * b->k;
	uint8_t *proof = NULL;
	size_t n = 0;
	unsigned c;
	int r = -ENODATA;

	fetch_rows(b, sq, have_row, root, side, rows, bad);
	memcpy(sq->row_roots, b->roots, 4 * (size_t)b->k * CODEC_HASH_SIZE);
	memcpy(sq->data_root, root, CODEC_HASH_SIZE);
	for (unsigned row = 0; row < side; row++)
		if (have_row[row])
			codec_keccak256_batch(codec_da_share(sq, row, 0), b->share, b->share, side,
					      &sq->leaves[(size_t)row * side]);
	for (c = 0; c < side && r < 0; c++) {
		r = codec_da_befp_build_partial(sq, CODEC_DA_COL, c, have_row, &proof, &n);
		if (r == 0 && codec_da_befp_verify(proof, n, root, b->k, b->share) != 0) {
			free(proof);
			r = -ENODATA;
		}
	}
	if (r < 0) {
		fail(why, size,
		     "the %u rows served rebuild a square that is not the data root's, and no "
		     "column of them proves why (%u of %u rows)",
		     atomic_load(rows), atomic_load(rows), side);
		return -CODEC_EDA_DATA_ROOT;
	}
	r = call(url, "zgfs_daVoid",
		 json_pack("[o, o]", node_rpc_hex(root, 32), node_rpc_base64(proof, n)), NULL, why,
		 size);
	free(proof);
	if (r < 0)
		return r;
	fail(why, size,
	     "the blob is badly encoded: column %u of its rows is not what the data root "
	     "commits to; the bad-encoding proof voided its certificate on the chain",
	     c - 1);
	return -CHAIN_EDA_VOIDED;
}

int node_da_get(const char *url, const uint8_t root[32], uint8_t **ret_blob, size_t *ret_len,
		struct node_da_get_report *ret, char *why, size_t why_size)
{
	struct node_da_get_report rep = {0};
	uint8_t have_row[2 * CODEC_DA_MAX_K] = {0};
	struct codec_da_square *sq = NULL;
	struct blob_info *b = calloc(1, sizeof(*b));
	atomic_uint rows = 0, bad = 0;
	double t0 = sys_now_s();
	int r;

	if (!b)
		return -ENOMEM;
	r = blob_info(url, root, b, why, why_size);
	if (r == 0)
		r = codec_da_square_new(b->k, b->share, &sq);
	if (r < 0)
		goto out;
	fetch_rows(b, sq, have_row, root, b->k, &rows, &bad);
	rep.fetch_s = sys_now_s() - t0;
	rep.rows_fetched = atomic_load(&rows);
	rep.rows_bad = atomic_load(&bad);
	if (rep.rows_fetched < b->k) {
		fail(why, why_size,
		     "only %u of the %u rows could be fetched and checked (%u wrong); "
		     "%u rebuild the blob",
		     rep.rows_fetched, 2 * b->k, rep.rows_bad, b->k);
		r = -CODEC_EDA_UNRECOVERABLE;
		goto out;
	}
	t0 = sys_now_s();
	r = rebuild(b, sq, have_row, root, ret_blob, ret_len);
	rep.rebuild_s = sys_now_s() - t0;
	if (r == -CODEC_EDA_CODEWORD) /* the square is complete: every row is at hand */
		memset(have_row, 1, 2 * (size_t)b->k);
	if (r == -CODEC_EDA_DATA_ROOT || r == -CODEC_EDA_CODEWORD)
		r = prove_bad(url, b, sq, have_row, root, &rows, &bad, why, why_size);
	else if (r < 0)
		fail(why, why_size, "rebuilding the square: %s", codec_strerror(r));
	rep.len = b->len;
	rep.epoch = b->d.ep.epoch;
	rep.k = b->k;
out:
	codec_da_square_free(sq);
	free(b->d.s);
	free(b);
	if (r == 0 && ret)
		*ret = rep;
	return r;
}

/* --- sampling ------------------------------------------------------------------------------- */

/* One share (r, c) from the signer at url, checked: 0, or why it is not. */
static int ask_share(const struct blob_info *b, const uint8_t root[32], const char *url,
		     unsigned row, unsigned col, char *why, size_t size)
{
	uint8_t share[CODEC_DA_MAX_SHARE], enc[CODEC_DA_PROOF_MAX];
	struct codec_da_proof proof;
	json_t *res = NULL;
	size_t n, pn;
	int r =
	    call(url, "zgfs_daGetShare",
		 json_pack("[o, I, I]", node_rpc_hex(root, 32), (json_int_t)row, (json_int_t)col),
		 &res, why, size);

	if (r == 0 && json_is_null(res)) {
		fail(why, size, "%s has no such share", url);
		r = -ENOENT;
	}
	if (r == 0 &&
	    (node_rpc_unbase64(json_object_get(res, "share"), share, sizeof(share), &n) < 0 ||
	     n != b->share ||
	     node_rpc_unbase64(json_object_get(res, "proof"), enc, sizeof(enc), &pn) < 0 ||
	     codec_da_proof_decode(enc, pn, &proof) < 0)) {
		fail(why, size, "%s: an answer that does not decode", url);
		r = -EBADMSG;
	}
	if (r == 0) {
		r = codec_da_proof_verify(&proof, root, b->k, row, col, share, n);
		if (r < 0)
			fail(why, size, "%s: %s", url, codec_strerror(r));
	}
	json_decref(res);
	return r;
}

/* Share (r, c) from the members that hold its row, in rank order: 0 when the first one
 * answered it right, 1 when a later one did, -1 when none did; the first failure (its
 * signer's URL and why) goes to why. */
static int sample_one(const struct blob_info *b, const uint8_t root[32], unsigned row, unsigned col,
		      char *why, size_t size)
{
	bool failed = false;

	for (unsigned rank = 0; rank < b->d.q.members; rank++) {
		char one[200];

		if (!holds(&b->d, rank, row, 2 * b->k))
			continue;
		if (ask_share(b, root, member_url(&b->d, rank), row, col, one, sizeof(one)) == 0)
			return failed ? 1 : 0;
		if (!failed)
			fail(why, size, "(%u,%u): %s", row, col, one);
		failed = true;
	}
	return -1;
}

/* Check one answer of zgfs_daGetShares for (row, col) and keep its share in col_shares. */
static bool take_share(const struct blob_info *b, const uint8_t root[32], json_t *a, unsigned row,
		       unsigned col, uint8_t *dst)
{
	uint8_t enc[CODEC_DA_PROOF_MAX];
	struct codec_da_proof proof;
	size_t n, pn;

	return json_is_object(a) &&
	       node_rpc_unbase64(json_object_get(a, "share"), dst, b->share, &n) == 0 &&
	       n == b->share &&
	       node_rpc_unbase64(json_object_get(a, "proof"), enc, sizeof(enc), &pn) == 0 &&
	       codec_da_proof_decode(enc, pn, &proof) == 0 &&
	       codec_da_proof_verify(&proof, root, b->k, row, col, dst, n) == 0;
}

/* Share (row, col) shown available without its holders: k shares of column col from the
 * signers, each checked through its row, rebuild the column, whose root must be the
 * committed column root. 0 when it is. */
static int from_column(const struct blob_info *b, const uint8_t root[32], unsigned row,
		       unsigned col)
{
	const unsigned side = 2 * b->k;
	const uint8_t *present[2 * CODEC_DA_MAX_K] = {NULL};
	uint8_t *shares = malloc((size_t)side * b->share * 2), got[CODEC_HASH_SIZE];
	unsigned have = 0;
	int r = -CODEC_EDA_UNRECOVERABLE;

	if (!shares)
		return -ENOMEM;
	for (unsigned rank = 0; rank < b->d.q.members && have < b->k; rank++) {
		json_t *pos = json_array(), *res = NULL, *a;
		size_t i;

		for (unsigned x = 0; x < side; x++)
			if (holds(&b->d, rank, x, side))
				json_array_append_new(
				    pos, json_pack("[I, I]", (json_int_t)x, (json_int_t)col));
		if (json_array_size(pos) == 0) {
			json_decref(pos);
			continue;
		}
		if (call(member_url(&b->d, rank), "zgfs_daGetShares",
			 json_pack("[o, o]", node_rpc_hex(root, 32), json_incref(pos)), &res, NULL,
			 0) == 0 &&
		    json_is_array(res)) {
			json_array_foreach(res, i, a)
			{
				unsigned x = (unsigned)json_integer_value(
				    json_array_get(json_array_get(pos, i), 0));
				uint8_t *dst = shares + (size_t)x * b->share;

				if (i < json_array_size(pos) && !present[x] &&
				    take_share(b, root, a, x, col, dst)) {
					present[x] = dst;
					have++;
				}
			}
		}
		json_decref(res);
		json_decref(pos);
	}
	if (have >= b->k) {
		r = codec_da_line_rebuild(b->k, b->share, present, shares + (size_t)side * b->share,
					  got);
		if (r == 0 && memcmp(got, b->roots[side + col], CODEC_HASH_SIZE) != 0)
			r = -CODEC_EDA_LINE_ROOT;
	}
	free(shares);
	return r;
}

int node_da_sample(const char *url, const uint8_t root[32], unsigned n,
		   struct node_da_sample_report *ret, char *why, size_t why_size)
{
	struct node_da_sample_report rep = {0};
	struct blob_info *b = calloc(1, sizeof(*b));
	uint32_t *picked = NULL;
	double t0;
	unsigned side2;
	int r;

	if (!b)
		return -ENOMEM;
	if (n == 0 || n > SAMPLES_MAX) {
		free(b);
		fail(why, why_size, "samples must be 1 to %u", SAMPLES_MAX);
		return -EINVAL;
	}
	r = blob_info(url, root, b, why, why_size);
	if (r < 0)
		goto out;
	side2 = 4 * b->k * b->k;
	if (n > side2)
		n = side2;
	picked = calloc(n, sizeof(*picked));
	if (!picked) {
		r = -ENOMEM;
		goto out;
	}
	t0 = sys_now_s();
	rep.k = b->k;
	for (unsigned i = 0; i < n; i++) {
		char one[256];
		uint32_t x;
		bool again;

		do { /* distinct shares, uniformly */
			x = randombytes_uniform(side2);
			again = false;
			for (unsigned j = 0; j < i; j++)
				again |= picked[j] == x;
		} while (again);
		picked[i] = x;
		rep.asked++;
		r = sample_one(b, root, x / (2 * b->k), x % (2 * b->k), one, sizeof(one));
		if (r == 0) {
			rep.verified++;
			continue;
		}
		/* A holder did not answer it right: the share is still available from another
		 * holder, or when the signers rebuild its column. The failure is reported either
		 * way. */
		rep.missed++;
		if (r == 1 || from_column(b, root, x / (2 * b->k), x % (2 * b->k)) == 0) {
			rep.verified++;
			rep.rebuilt += r != 1;
		}
		if (strlen(rep.failed) < sizeof(rep.failed) - 8) {
			size_t at = strlen(rep.failed);

			/* The first failures only: a long list is cut. */
			if (snprintf(rep.failed + at, sizeof(rep.failed) - at, "%s%s",
				     at ? "; " : "", one) >= (int)(sizeof(rep.failed) - at))
				rep.failed[sizeof(rep.failed) - 1] = '\0';
		}
	}
	rep.latency_s = sys_now_s() - t0;
	rep.confidence = rep.verified == rep.asked ? codec_da_sample_confidence(b->k, n) : 0;
	r = rep.verified == rep.asked ? 0 : 1;
out:
	free(picked);
	free(b->d.s);
	free(b);
	if (r >= 0)
		*ret = rep;
	return r;
}
