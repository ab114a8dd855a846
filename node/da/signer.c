/*
 * signer.c - the node's DA part (da_i.h): rows on disk, signatures for an epoch's quorum,
 * the draws it checks them against, and the signer's thread that registers it and
 * publishes its VRF proof for the next epoch.
 *
 * The signer checks everything it is given before it writes it: the roots against the
 * data root, each row against its root and the code; and it signs only what it derives
 * itself from the chain (the epoch's quorum) and holds on disk, synced. A disperser that
 * lies gets an error and changes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "codec/endian.h"
#include "codec/errors.h"
#include "codec/hex.h"
#include "codec/vrf.h"
#include "node/da/da_i.h"
#include "node/limits.h"
#include "node/store/io.h"
#include "sys/clock.h"

/* roots: magic, be64 length, be64 the epoch it was begun in (version 2), then the 4k line
 * roots. Version 1 had no epoch. */
#define ROOTS_MAGIC_V1 "zgfsda1\n"
#define ROOTS_MAGIC    "zgfsda2\n"
#define ROOTS_HEAD_V1  16
#define ROOTS_HEAD     24

struct node_da {
	char dir[PATH_MAX]; /* DIR/da */
	struct chain *chain;
	bool signer;
	uint8_t vrf_seed[32], vrf_key[32];
	uint8_t account[CHAIN_ADDRESS_SIZE];
	char url[CHAIN_REGISTRY_URL_MAX + 1];
	uint64_t stake;
	unsigned tick_ms, max_blobs;

	pthread_mutex_t mu; /* the draw cache, the counters, stop */
	pthread_cond_t cv;
	bool stop, thread_started;
	pthread_t thread;
	/* the newest draw of an epoch that has begun */
	bool cached;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	struct chain_da_signer *signers; /* CHAIN_DA_SIGNERS_MAX */
	size_t nsigners;
	/* counters for zgfs_daStatus */
	uint64_t epoch, published_for, rows, signatures;
	int last_error;
	/* sampling: the period whose challenges were all answered or found unanswerable */
	bool swept;
	uint64_t swept_period, answered, missed, dropped;
	int last_sample_error;
};

/* --- paths and files ------------------------------------------------------------------ */

static void blob_dir(const struct node_da *d, const uint8_t root[32], char *out, size_t size)
{
	char hex[67];

	codec_hex_encode(root, 32, hex);
	/* d->dir is short of PATH_MAX by far more than a name: never truncated. */
	if (snprintf(out, size, "%s/%s", d->dir, hex + 2) >= (int)size)
		out[0] = '\0';
}

/* The length, roots and beginning epoch (0 for version 1) of a held blob. */
static int load_roots_at(struct node_da *d, const uint8_t root[32], uint64_t *ret_len,
			 codec_hash *roots, size_t *ret_n, uint64_t *ret_begun)
{
	uint8_t buf[ROOTS_HEAD + 4 * CODEC_DA_MAX_K * CODEC_HASH_SIZE];
	char path[PATH_MAX + 80];
	size_t n, share, head;
	unsigned k;
	uint64_t len;
	int r;

	blob_dir(d, root, path, sizeof(path) - 8);
	strncat(path, "/roots", sizeof(path) - strlen(path) - 1);
	r = node_io_read_file(path, buf, sizeof(buf), &n);
	if (r < 0)
		return r;
	if (n >= ROOTS_HEAD && memcmp(buf, ROOTS_MAGIC, 8) == 0)
		head = ROOTS_HEAD;
	else if (n >= ROOTS_HEAD_V1 && memcmp(buf, ROOTS_MAGIC_V1, 8) == 0)
		head = ROOTS_HEAD_V1;
	else
		return -EIO;
	len = codec_get_be64(buf + 8);
	if (codec_da_geometry(len, &k, &share) < 0 || n != head + 4 * (size_t)k * CODEC_HASH_SIZE)
		return -EIO;
	memcpy(roots, buf + head, n - head);
	*ret_len = len;
	*ret_n = 4 * (size_t)k;
	if (ret_begun)
		*ret_begun = head == ROOTS_HEAD ? codec_get_be64(buf + 16) : 0;
	return 0;
}

static int load_roots(struct node_da *d, const uint8_t root[32], uint64_t *ret_len,
		      codec_hash *roots, size_t *ret_n)
{
	return load_roots_at(d, root, ret_len, roots, ret_n, NULL);
}

/* The blobs held: names of 64 hex digits under DIR/da. */
static unsigned count_blobs(const struct node_da *d)
{
	uint8_t root[32];
	struct dirent *e;
	unsigned n = 0;
	DIR *dir = opendir(d->dir);

	while (dir && (e = readdir(dir)) != NULL)
		n += strlen(e->d_name) == 64 && codec_hex_decode(e->d_name, root, 32) == 0;
	if (dir)
		closedir(dir);
	return n;
}

/* Room for a new blob: under the count bound, and its whole extended square above the
 * disk reserve. */
static int room_for(struct node_da *d, unsigned k, size_t share)
{
	const uint64_t square = 4 * (uint64_t)k * k * share;
	struct statvfs st;

	if (count_blobs(d) >= d->max_blobs)
		return -ENOSPC;
	if (node_io_statvfs(d->dir, &st) == 0 &&
	    (uint64_t)st.f_bavail * st.f_frsize < square + NODE_DA_DISK_RESERVE)
		return -ENOSPC;
	return 0;
}

/* Drop a blob: its rows, then its roots, then the directory, so that a crash between
 * leaves a directory the next sweep finishes. */
static int remove_blob(struct node_da *d, const uint8_t root[32])
{
	char dir_path[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	DIR *dir;
	int r = 0;

	blob_dir(d, root, dir_path, sizeof(dir_path));
	dir = opendir(dir_path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "roots") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, e->d_name);
		if (r == 0)
			r = node_io_unlink(path);
	}
	closedir(dir);
	snprintf(path, sizeof(path), "%s/roots", dir_path);
	if (r == 0)
		r = node_io_unlink(path);
	if (r == 0 || r == -ENOENT)
		r = node_io_rmdir(dir_path);
	return r;
}

static void row_path(const struct node_da *d, const uint8_t root[32], unsigned r, char *out,
		     size_t size)
{
	char dir[PATH_MAX];

	blob_dir(d, root, dir, sizeof(dir));
	if (snprintf(out, size, "%s/row.%u", dir, r) >= (int)size)
		out[0] = '\0';
}

static int mkdir_p(const char *path)
{
	int r = node_io_mkdir(path, 0700);

	return r == -EEXIST ? 0 : r;
}

/* --- begin, rows, reads ----------------------------------------------------------------- */

int node_da_begin(struct node_da *d, const uint8_t root[32], uint64_t len, const codec_hash *roots,
		  size_t nroots)
{
	uint8_t buf[ROOTS_HEAD + 4 * CODEC_DA_MAX_K * CODEC_HASH_SIZE];
	codec_hash held[4 * CODEC_DA_MAX_K];
	struct chain_da_contract c;
	char path[PATH_MAX + 80];
	uint64_t held_len;
	size_t share, n;
	unsigned k;
	int r;

	if (codec_da_geometry(len, &k, &share) < 0 || nroots != 4 * (size_t)k)
		return -EINVAL;
	r = codec_da_roots_check(k, roots[0], root);
	if (r < 0)
		return r;
	r = load_roots(d, root, &held_len, held, &n);
	if (r == 0)
		return held_len == len ? 0 : -EEXIST;
	r = room_for(d, k, share);
	if (r == 0)
		r = chain_da_contract(d->chain, &c);
	if (r < 0)
		return r;
	blob_dir(d, root, path, sizeof(path) - 8);
	r = mkdir_p(path);
	if (r < 0)
		return r;
	strncat(path, "/roots", sizeof(path) - strlen(path) - 1);
	memcpy(buf, ROOTS_MAGIC, 8);
	codec_put_be64(buf + 8, len);
	codec_put_be64(buf + 16, c.epoch);
	memcpy(buf + ROOTS_HEAD, roots, nroots * CODEC_HASH_SIZE);
	return node_io_write_file(path, buf, ROOTS_HEAD + nroots * CODEC_HASH_SIZE, 0600, true);
}

int node_da_put_row(struct node_da *d, const uint8_t root[32], unsigned r, const uint8_t *data,
		    size_t len)
{
	codec_hash roots[4 * CODEC_DA_MAX_K];
	char path[PATH_MAX + 80];
	uint64_t blob_len;
	size_t n, share;
	unsigned k;
	int err = load_roots(d, root, &blob_len, roots, &n);

	if (err < 0)
		return err;
	if (codec_da_geometry(blob_len, &k, &share) < 0)
		return -EIO;
	if (r >= 2 * k || len != 2 * (size_t)k * share)
		return -EINVAL;
	err = codec_da_line_check(k, share, data, roots[r]);
	if (err < 0)
		return err;
	row_path(d, root, r, path, sizeof(path));
	err = node_io_write_file(path, data, len, 0600, true);
	if (err == 0) {
		pthread_mutex_lock(&d->mu);
		d->rows++;
		pthread_mutex_unlock(&d->mu);
	}
	return err;
}

int node_da_roots(struct node_da *d, const uint8_t root[32], uint64_t *ret_len, codec_hash *roots,
		  size_t *ret_n)
{
	return load_roots(d, root, ret_len, roots, ret_n);
}

int node_da_row(struct node_da *d, const uint8_t root[32], unsigned r, uint8_t *buf, size_t max,
		size_t *ret_len)
{
	char path[PATH_MAX + 80];

	row_path(d, root, r, path, sizeof(path));
	return node_io_read_file(path, buf, max, ret_len);
}

int node_da_share(struct node_da *d, const uint8_t root[32], unsigned r, unsigned c, uint8_t *share,
		  size_t *ret_size, struct codec_da_proof *ret_proof)
{
	codec_hash roots[4 * CODEC_DA_MAX_K];
	uint64_t len;
	size_t n, s, got;
	unsigned k;
	uint8_t *row;
	int err = load_roots(d, root, &len, roots, &n);

	if (err < 0)
		return err;
	if (codec_da_geometry(len, &k, &s) < 0)
		return -EIO;
	if (r >= 2 * k || c >= 2 * k)
		return -EINVAL;
	row = malloc(2 * (size_t)k * s);
	if (!row)
		return -ENOMEM;
	err = node_da_row(d, root, r, row, 2 * (size_t)k * s, &got);
	if (err == 0 && got != 2 * (size_t)k * s)
		err = -EIO;
	if (err == 0)
		err = codec_da_prove_row(k, s, row, roots[0], r, c, ret_proof);
	if (err == 0) {
		memcpy(share, row + (size_t)c * s, s);
		*ret_size = s;
	}
	free(row);
	return err;
}

/* --- draws, signatures, certificates ------------------------------------------------------ */

int node_da_draw(struct node_da *d, uint64_t epoch, struct chain_da_epoch *ret_ep,
		 struct chain_da_signer *signers, size_t max, size_t *ret_n,
		 struct chain_da_quorum *ret_q)
{
	struct chain_da_contract c;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	size_t n;
	int r;

	pthread_mutex_lock(&d->mu);
	if (d->cached && d->ep.epoch == epoch) {
		*ret_ep = d->ep;
		*ret_q = d->q;
		n = d->nsigners < max ? d->nsigners : max;
		memcpy(signers, d->signers, n * sizeof(*signers));
		*ret_n = n;
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	pthread_mutex_unlock(&d->mu);
	r = chain_da_contract(d->chain, &c);
	if (r < 0)
		return r;
	r = chain_da_draw(d->chain, epoch, &ep, signers, max, &n, &q);
	if (r < 0)
		return r;
	/* Proofs for an epoch are published before it begins: once it has, its draw is fixed. */
	if (epoch <= c.epoch && n <= CHAIN_DA_SIGNERS_MAX) {
		pthread_mutex_lock(&d->mu);
		d->cached = true;
		d->ep = ep;
		d->q = q;
		memcpy(d->signers, signers, n * sizeof(*signers));
		d->nsigners = n;
		pthread_mutex_unlock(&d->mu);
	}
	*ret_ep = ep;
	*ret_q = q;
	*ret_n = n;
	return 0;
}

/* The draw without its signer list, into memory of its own. */
static int draw(struct node_da *d, uint64_t epoch, struct chain_da_epoch *ep,
		struct chain_da_quorum *q)
{
	struct chain_da_signer *s = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*s));
	size_t n;
	int r;

	if (!s)
		return -ENOMEM;
	r = node_da_draw(d, epoch, ep, s, CHAIN_DA_SIGNERS_MAX, &n, q);
	free(s);
	return r;
}

/* The first row of rank's slots that is not held, or -1. */
static int first_missing(struct node_da *d, const uint8_t root[32], unsigned k,
			 const struct chain_da_quorum *q, unsigned rank)
{
	char path[PATH_MAX + 80];
	struct stat st;

	for (unsigned r = 0; r < 2 * k; r++) {
		if (!chain_da_holds(q, rank, r, 2 * k))
			continue;
		row_path(d, root, r, path, sizeof(path));
		if (stat(path, &st) != 0)
			return (int)r;
	}
	return -1;
}

int node_da_sign(struct node_da *d, const uint8_t root[32], uint64_t epoch,
		 const uint8_t quorum[32], unsigned *ret_rank,
		 uint8_t ret_sig[CHAIN_DA_SIGNATURE_SIZE], unsigned *ret_missing)
{
	codec_hash roots[4 * CODEC_DA_MAX_K];
	struct chain_da_contract c;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	uint8_t digest[32];
	uint64_t len;
	size_t n, s;
	unsigned k, rank;
	int r, missing;

	if (!d->signer)
		return -EPERM;
	r = load_roots(d, root, &len, roots, &n);
	if (r == 0)
		r = chain_da_contract(d->chain, &c);
	if (r < 0)
		return r;
	if (epoch > c.epoch)
		return -CHAIN_EDA_EPOCH;
	r = draw(d, epoch, &ep, &q);
	if (r < 0)
		return r;
	if (memcmp(q.digest, quorum, 32) != 0)
		return -CHAIN_EDA_QUORUM;
	for (rank = 0; rank < q.members; rank++)
		if (memcmp(q.account[rank], d->account, CHAIN_ADDRESS_SIZE) == 0)
			break;
	if (rank == q.members)
		return -CHAIN_EDA_MEMBER;
	if (codec_da_geometry(len, &k, &s) < 0)
		return -EIO;
	missing = first_missing(d, root, k, &q, rank);
	if (missing >= 0) {
		if (ret_missing)
			*ret_missing = (unsigned)missing;
		return -ENODATA;
	}
	chain_da_sign_digest(&ep, &q, root, len, digest);
	r = chain_sign_digest(d->chain, digest, ret_sig);
	if (r < 0)
		return r;
	pthread_mutex_lock(&d->mu);
	d->signatures++;
	pthread_mutex_unlock(&d->mu);
	*ret_rank = rank;
	return 0;
}

int node_da_certify(struct node_da *d, const uint8_t *cert, size_t len, unsigned *ret_slots)
{
	struct chain_da_cert c;
	struct chain_da_record rec;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	unsigned slots = 0;
	int r = chain_da_cert_decode(cert, len, &c);

	if (r < 0)
		return r;
	if (chain_da_certificate(d->chain, c.data_root, &rec) == 0) {
		*ret_slots = rec.slots_signed;
		return -EEXIST;
	}
	r = draw(d, c.epoch, &ep, &q);
	if (r == 0)
		r = chain_da_cert_verify(&ep, &q, &c, &slots);
	if (r == 0)
		r = chain_da_certify(d->chain, &q, &c, &slots);
	if (r == 0)
		*ret_slots = slots;
	return r;
}

int node_da_void(struct node_da *d, const uint8_t root[32], const uint8_t *proof, size_t len)
{
	struct chain_da_record rec;
	unsigned k;
	size_t s;
	int r = chain_da_certificate(d->chain, root, &rec);

	if (r < 0)
		return r;
	if (rec.voided)
		return -EALREADY;
	if (codec_da_geometry(rec.len, &k, &s) < 0)
		return -EIO;
	r = codec_da_befp_verify(proof, len, root, k, s);
	if (r == 0)
		r = chain_da_void(d->chain, root, proof, len);
	return r;
}

int node_da_certificate(struct node_da *d, const uint8_t root[32], struct chain_da_record *ret,
			bool *ret_quorum_ok)
{
	struct chain_da_record rec;
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	int r = chain_da_certificate(d->chain, root, &rec);

	if (r < 0)
		return r;
	r = draw(d, rec.epoch, &ep, &q);
	*ret_quorum_ok = r == 0 && memcmp(q.digest, rec.quorum, 32) == 0;
	*ret = rec;
	return 0;
}

/* --- the signer's thread ------------------------------------------------------------------ */

/* Publish the proof for the next epoch once per epoch; c is the contract as just read. */
static int tick(struct node_da *d, struct chain_da_contract c)
{
	struct chain_da_epoch ep = {0};
	uint8_t alpha[CHAIN_DA_ALPHA_SIZE], proof[CODEC_VRF_PROOF_SIZE];
	struct chain_flow f;
	int r = chain_flow_info(d->chain, &f);

	if (r < 0)
		return r;
	pthread_mutex_lock(&d->mu);
	d->epoch = c.epoch;
	r = d->published_for == c.epoch + 1 && c.epoch + 1 != 0;
	pthread_mutex_unlock(&d->mu);
	if (r)
		return 0;
	if (!c.has_seed) {
		r = chain_da_make_seed(d->chain);
		if (r == 0)
			r = chain_da_seed(d->chain, c.epoch, c.seed);
		if (r < 0)
			return r;
	}
	ep.chain_id = f.chain_id;
	memcpy(ep.contract, c.address, CHAIN_ADDRESS_SIZE);
	ep.epoch = c.epoch + 1;
	memcpy(ep.seed, c.seed, 32);
	ep.stake_unit = c.stake_unit;
	ep.slots = c.slots;
	chain_da_alpha(&ep, alpha);
	r = codec_vrf_prove(d->vrf_seed, alpha, sizeof(alpha), proof);
	/* An epoch that turned meanwhile is refused ("for the next epoch"): the next tick
	 * publishes for the new one. */
	if (r == 0)
		r = chain_da_publish(d->chain, ep.epoch, proof);
	if (r == 0) {
		pthread_mutex_lock(&d->mu);
		d->published_for = ep.epoch;
		pthread_mutex_unlock(&d->mu);
	}
	return r;
}

/* Answer this period's challenge for one held blob, if it has one: 1 when answered, 0 when
 * nothing is due, -ENODATA when the share is not here (a lost row: nothing to answer
 * with, and nothing earned), or the chain's error (retried at the next tick). */
static int answer(struct node_da *d, const uint8_t root[32], uint64_t period)
{
	struct chain_da_challenge ch;
	struct codec_da_proof proof;
	uint8_t share[CODEC_DA_MAX_SHARE];
	size_t size;
	int r = chain_da_challenge(d->chain, root, d->account, &ch);

	if (r < 0)
		return r;
	if (!ch.due || ch.period != period)
		return 0;
	if (node_da_share(d, root, ch.row, ch.col, share, &size, &proof) < 0)
		return -ENODATA;
	r = chain_da_answer(d->chain, root, share, size, &proof);
	return r < 0 ? r : 1;
}

/* Whether a held blob is still kept: begun less than NODE_DA_PENDING_EPOCHS ago and not
 * yet certified, or certified, not voided and within its sampling window. A chain error
 * keeps it. */
static bool retained(struct node_da *d, const uint8_t root[32], const struct chain_da_contract *c)
{
	codec_hash roots[4 * CODEC_DA_MAX_K];
	struct chain_da_record rec;
	uint64_t len, begun;
	size_t n;
	int r = chain_da_certificate(d->chain, root, &rec);

	if (r == -ENOENT)
		return load_roots_at(d, root, &len, roots, &n, &begun) != 0 ||
		       c->epoch <= begun + NODE_DA_PENDING_EPOCHS;
	if (r < 0)
		return true;
	if (rec.voided)
		return false;
	return rec.block < c->first_block ||
	       c->period <= (rec.block - c->first_block) / c->sample_blocks + c->sample_window;
}

/* Once per sampling period: record its seed if no one has, drop the blobs no longer kept
 * (retained()), and answer the challenge of every other blob held under DIR/da. */
static int sample_tick(struct node_da *d, const struct chain_da_contract *cp)
{
	const struct chain_da_contract c = *cp;
	uint64_t answered = 0, missed = 0;
	uint8_t root[32];
	struct dirent *e;
	DIR *dir;
	int r, first = 0;

	pthread_mutex_lock(&d->mu);
	r = d->swept && d->swept_period == c.period;
	pthread_mutex_unlock(&d->mu);
	if (r)
		return 0;
	if (!c.has_sample_seed) {
		r = chain_da_make_sample_seed(d->chain);
		if (r < 0)
			return r;
	}
	dir = opendir(d->dir);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		if (strlen(e->d_name) != 64 || codec_hex_decode(e->d_name, root, 32) < 0)
			continue;
		if (!retained(d, root, &c)) {
			if (remove_blob(d, root) == 0) {
				pthread_mutex_lock(&d->mu);
				d->dropped++;
				pthread_mutex_unlock(&d->mu);
			}
			continue;
		}
		r = answer(d, root, c.period);
		if (r == 1)
			answered++;
		else if (r == -ENODATA)
			missed++;
		else if (r < 0 && first == 0)
			first = r;
	}
	closedir(dir);
	pthread_mutex_lock(&d->mu);
	d->answered += answered;
	/* A sweep cut short by a chain error is done again, and its misses counted then. */
	d->missed += first == 0 ? missed : 0;
	/* A chain error leaves the period to sweep again; answered blobs are no longer due. */
	d->swept = first == 0;
	d->swept_period = c.period;
	pthread_mutex_unlock(&d->mu);
	return first;
}

static void *signer_main(void *arg)
{
	struct node_da *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		struct chain_da_contract c;
		int r, rs;

		pthread_mutex_unlock(&d->mu);
		r = rs = chain_da_contract(d->chain, &c);
		if (r == 0) {
			r = tick(d, c);
			rs = sample_tick(d, &c);
		}
		pthread_mutex_lock(&d->mu);
		d->last_error = r;
		d->last_sample_error = rs;
		if (!d->stop) {
			struct timespec until = sys_deadline_ms(d->tick_ms);

			pthread_cond_timedwait(&d->cv, &d->mu, &until);
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* Register unless the contract has this account with the same key and URL already. */
static int register_signer(struct node_da *d)
{
	struct chain_da_signer *s = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*s));
	struct chain_da_contract c;
	size_t n = 0;
	uint64_t stake;
	int r;

	if (!s)
		return -ENOMEM;
	r = chain_da_contract(d->chain, &c);
	if (r == 0)
		r = chain_da_signers(d->chain, 0, s, CHAIN_DA_SIGNERS_MAX, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (memcmp(s[i].account, d->account, CHAIN_ADDRESS_SIZE) != 0)
			continue;
		stake = d->stake > s[i].stake ? d->stake - s[i].stake : 0;
		if (stake == 0 && memcmp(s[i].vrf_key, d->vrf_key, 32) == 0 &&
		    strcmp(s[i].url, d->url) == 0) {
			free(s);
			return 0;
		}
		free(s);
		return chain_da_register(d->chain, d->vrf_key, d->url, stake);
	}
	free(s);
	if (r < 0)
		return r;
	stake = d->stake ? d->stake : c.min_stake;
	return chain_da_register(d->chain, d->vrf_key, d->url,
				 stake < c.min_stake ? c.min_stake : stake);
}

int node_da_open(const struct node_da_config *cfg, struct chain *chain, struct node_da **ret)
{
	struct chain_da_contract c;
	struct node_da *d;
	int r = chain_da_contract(chain, &c);

	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->signers = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*d->signers));
	if (!d->signers) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->chain = chain;
	d->tick_ms = cfg->tick_ms ? cfg->tick_ms : 500;
	d->max_blobs = cfg->max_blobs ? cfg->max_blobs : NODE_DA_BLOBS_DEFAULT;
	snprintf(d->dir, sizeof(d->dir), "%s/da", cfg->data_dir);
	r = mkdir_p(d->dir);
	if (r == 0 && cfg->vrf_seed) {
		d->signer = true;
		memcpy(d->vrf_seed, cfg->vrf_seed, 32);
		d->stake = cfg->stake;
		snprintf(d->url, sizeof(d->url), "%s", cfg->url ? cfg->url : "");
		r = codec_vrf_public_key(d->vrf_seed, d->vrf_key);
		if (r == 0)
			r = chain_da_signing_account(chain, d->account);
		if (r == 0)
			r = register_signer(d);
		/* The first proof now, so that the next epoch can draw this signer; a failure
		 * (an epoch that turned meanwhile) is the thread's to retry. */
		if (r == 0)
			d->last_error = chain_da_contract(chain, &c);
		if (r == 0 && d->last_error == 0)
			d->last_error = tick(d, c);
		if (r == 0) {
			r = -pthread_create(&d->thread, NULL, signer_main, d);
			d->thread_started = r == 0;
		}
	}
	if (r < 0) {
		node_da_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

void node_da_close(struct node_da *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (d->thread_started)
		pthread_join(d->thread, NULL);
	sodium_memzero(d->vrf_seed, sizeof(d->vrf_seed));
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d->signers);
	free(d);
}

bool node_da_is_signer(const struct node_da *d)
{
	return d && d->signer;
}

json_t *node_da_status(struct node_da *d)
{
	char account[67], earned[24] = "";
	uint64_t wei;
	json_t *o;

	codec_hex_encode(d->account, CHAIN_ADDRESS_SIZE, account);
	/* wei can pass what a JSON integer holds: a decimal string */
	if (d->signer && chain_da_earned(d->chain, d->account, &wei) == 0)
		snprintf(earned, sizeof(earned), "%llu", (unsigned long long)wei);
	pthread_mutex_lock(&d->mu);
	o = json_pack(
	    "{s:b, s:s?, s:s?, s:I, s:I, s:I, s:I, s:s?, s:I, s:I, s:s?, s:s?, s:I, s:I}", "signer",
	    d->signer, "account", d->signer ? account : NULL, "url", d->signer ? d->url : NULL,
	    "epoch", (json_int_t)d->epoch, "publishedFor", (json_int_t)d->published_for,
	    "rowsStored", (json_int_t)d->rows, "signatures", (json_int_t)d->signatures, "lastError",
	    d->last_error ? chain_strerror(d->last_error) : NULL, "samplesAnswered",
	    (json_int_t)d->answered, "samplesMissed", (json_int_t)d->missed, "earnedWei",
	    earned[0] ? earned : NULL, "lastSampleError",
	    d->last_sample_error ? chain_strerror(d->last_sample_error) : NULL, "blobsHeld",
	    (json_int_t)count_blobs(d), "blobsDropped", (json_int_t)d->dropped);
	pthread_mutex_unlock(&d->mu);
	return o;
}
