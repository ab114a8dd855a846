/*
 * test_chain_da.c - DA on the embedded ledger (chain/da_ledger.c through chain.h): the
 * setup, a signer's registration and stake, VRF proofs for the next epoch, the epoch's
 * draw, certificates and the blob fee, sampling challenges, answers and rewards, voiding
 * by a bad-encoding proof, each refusal changing nothing; then chain_verify() replays
 * every DA transaction and a reopened ledger has the same state. Epochs and periods are
 * seconds of block time here, so the test waits a few seconds.
 */
#include <dirent.h>
#include <errno.h>
#include <leveldb/c.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain/chain.h"
#include "chain/da.h"
#include "codec/da.h"
#include "codec/vrf.h"
#include "tests/da_bad_square.h"
#include "tests/flat_dir.h"
#include "tests/tap.h"

#define STAKE_UNIT 1000000000ULL
#define SLOTS	   4
#define WINDOW	   100
#define FEE	   1000ULL /* per KiB */
#define BLOB	   5000	   /* bytes: a fee of 5 KiB */

static uint8_t sk[64], pk[32], vrf_sk[32], vrf_pk[32];
static char dir[64];

__attribute__((noreturn)) static void fail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

static uint64_t balance(struct chain *c)
{
	uint8_t a[CHAIN_ADDRESS_SIZE];
	uint64_t b = 0;

	return chain_account(c, a, &b) == 0 ? b : UINT64_MAX;
}

static struct chain_da_contract contract(struct chain *c)
{
	struct chain_da_contract d = {0};

	if (chain_da_contract(c, &d) < 0)
		fail("chain_da_contract");
	return d;
}

/* Publish this signer's proof for the next epoch (retried across an epoch's turn). */
static int publish_next(struct chain *c, uint64_t *ret_epoch)
{
	for (int t = 0; t < 10; t++) {
		struct chain_da_contract d;
		struct chain_da_epoch ep = {0};
		struct chain_flow f;
		uint8_t alpha[CHAIN_DA_ALPHA_SIZE], proof[CODEC_VRF_PROOF_SIZE];

		if (chain_da_make_seed(c) < 0 || chain_da_contract(c, &d) < 0 ||
		    chain_flow_info(c, &f) < 0)
			return -EIO;
		ep.chain_id = f.chain_id;
		ep.epoch = d.epoch + 1;
		ep.stake_unit = d.stake_unit;
		ep.slots = d.slots;
		if (chain_da_seed(c, d.epoch, ep.seed) < 0)
			return -EIO;
		chain_da_alpha(&ep, alpha);
		if (codec_vrf_prove(vrf_sk, alpha, sizeof(alpha), proof) < 0)
			return -EIO;
		if (chain_da_publish(c, d.epoch + 1, proof) == 0) {
			*ret_epoch = d.epoch + 1;
			return 0;
		}
	}
	return -EIO;
}

/* Wait until the chain's epoch (or period, when period) reaches n. */
static void wait_for(struct chain *c, uint64_t n, bool period)
{
	for (int t = 0; t < 100; t++) {
		struct chain_da_contract d = contract(c);

		if ((period ? d.period : d.epoch) >= n)
			return;
		nap_ms(100);
	}
	fail("the chain's clock did not move");
}

/* A certificate of sq's blob (len bytes) in epoch e's draw, signed by this handle. */
static int make_cert(struct chain *c, uint64_t e, const struct codec_da_square *sq, uint64_t len,
		     struct chain_da_cert *ret, struct chain_da_quorum *ret_q)
{
	struct chain_da_signer *s = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*s));
	struct chain_da_epoch ep;
	uint8_t digest[32];
	size_t n;
	int r = s ? chain_da_draw(c, e, &ep, s, CHAIN_DA_SIGNERS_MAX, &n, ret_q) : -ENOMEM;

	free(s);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->data_root, sq->data_root, 32);
	ret->len = len;
	ret->epoch = e;
	memcpy(ret->quorum, ret_q->digest, 32);
	ret->nsigs = 1;
	ret->rank[0] = 0;
	chain_da_sign_digest(&ep, ret_q, sq->data_root, len, digest);
	return chain_sign_digest(c, digest, ret->sig[0]);
}

static void test_setup(struct chain *c)
{
	struct chain_da_config bad = {1, STAKE_UNIT, STAKE_UNIT, 0, 1, WINDOW, FEE};
	struct chain_da_config cfg = {1, STAKE_UNIT, 2 * STAKE_UNIT, SLOTS, 1, WINDOW, FEE};
	struct chain_da_contract d;
	struct chain_flow f0, f1;

	ok(chain_da_contract(c, &d) == -ENOENT, "a new ledger has no DA rules");
	chain_flow_info(c, &f0);
	ok(chain_da_setup(c, &bad) == -EINVAL, "0 slots are refused: %s", chain_last_detail());
	chain_flow_info(c, &f1);
	ok(f1.height == f0.height, "and no block was made");
	ok(chain_da_setup(c, &cfg) == 0, "chain_da_setup gives the ledger its DA rules");
	ok(chain_da_setup(c, &cfg) == -EEXIST, "only once");
	d = contract(c);
	ok(d.seconds && d.epoch_blocks == 1 && d.slots == SLOTS && d.min_stake == 2 * STAKE_UNIT &&
	       d.sample_window == WINDOW && d.fee_per_kib == FEE && d.has_seed && d.signers == 0,
	   "chain_da_contract reports them, epochs in seconds, with the first seed");
}

static void test_register(struct chain *c, uint8_t account[CHAIN_ADDRESS_SIZE])
{
	struct chain_da_signer s[2];
	uint64_t b0 = balance(c);
	size_t n = 9;
	int r;

	ok(chain_da_signing_account(c, account) == 0, "the handle has a DA signing account");
	r = chain_da_register(c, vrf_pk, "http://127.0.0.1:1", STAKE_UNIT);
	ok(r == -CHAIN_EREVERTED && strstr(chain_last_detail(), "minStake") && balance(c) == b0,
	   "a stake below minStake is refused and nothing moves: %s", chain_last_detail());
	ok(chain_da_register(c, vrf_pk, "", 2 * STAKE_UNIT) == -EINVAL, "an empty URL is refused");
	ok(chain_da_register(c, vrf_pk, "http://127.0.0.1:1", 2 * STAKE_UNIT) == 0 &&
	       balance(c) == b0 - 2 * STAKE_UNIT,
	   "registering moves the stake out of the account");
	ok(chain_da_register(c, vrf_pk, "http://127.0.0.1:2", STAKE_UNIT) == 0 &&
	       balance(c) == b0 - 3 * STAKE_UNIT,
	   "registering again adds stake and changes the URL");
	ok(chain_da_signers(c, 0, s, 2, &n) == 0 && n == 1 &&
	       !memcmp(s[0].account, account, CHAIN_ADDRESS_SIZE) &&
	       !memcmp(s[0].vrf_key, vrf_pk, 32) && s[0].stake == 3 * STAKE_UNIT &&
	       !strcmp(s[0].url, "http://127.0.0.1:2") && !s[0].has_proof,
	   "chain_da_signers lists the one signer, its key, stake and URL");
}

static void test_publish(struct chain *c, uint64_t *ret_epoch)
{
	struct chain_da_contract d = contract(c);
	uint8_t junk[CODEC_VRF_PROOF_SIZE] = {1};
	struct chain_da_signer s[1];
	size_t n;
	int r;

	ok(chain_da_publish(c, d.epoch + 5, junk) == -CHAIN_EREVERTED &&
	       strstr(chain_last_detail(), "next epoch"),
	   "a proof for another epoch than the next is refused: %s", chain_last_detail());
	r = publish_next(c, ret_epoch);
	ok(r == 0, "the signer publishes its proof for epoch %llu", (unsigned long long)*ret_epoch);
	ok(chain_da_signers(c, *ret_epoch, s, 1, &n) == 0 && n == 1 && s[0].has_proof,
	   "chain_da_signers shows the proof for that epoch");
}

struct snap {
	uint64_t balance, pool;
};

static struct snap take(struct chain *c)
{
	return (struct snap){balance(c), contract(c).reward_pool};
}

static bool same(struct chain *c, struct snap s)
{
	struct snap t = take(c);

	return t.balance == s.balance && t.pool == s.pool;
}

static void test_certify(struct chain *c, uint64_t e, struct codec_da_square *sq,
			 const uint8_t account[CHAIN_ADDRESS_SIZE])
{
	struct chain_da_cert cert, bad;
	struct chain_da_quorum q;
	struct chain_da_record rec;
	struct snap s;
	unsigned slots = 0;
	int r;

	wait_for(c, e, false);
	ok(make_cert(c, e, sq, BLOB, &cert, &q) == 0 && q.members == 1 &&
	       !memcmp(q.account[0], account, CHAIN_ADDRESS_SIZE),
	   "epoch %llu's draw is the one signer, and it signs", (unsigned long long)e);
	s = take(c);
	bad = cert;
	bad.sig[0][5] ^= 1;
	r = chain_da_certify(c, &q, &bad, &slots);
	ok((r == -CHAIN_EDA_SIGNATURE || r == -CHAIN_EDA_THRESHOLD) && same(c, s),
	   "a certificate with a changed signature is refused (%s); nothing paid",
	   chain_strerror(r));
	bad = cert;
	{
		/* A signature by an account that is no member of the draw, in rank 0's place. */
		struct chain_da_signer *list = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*list));
		struct chain_da_epoch ep = {0};
		struct chain_da_quorum q2;
		uint8_t other[32], digest[32];
		size_t n;

		if (!list || chain_da_draw(c, e, &ep, list, CHAIN_DA_SIGNERS_MAX, &n, &q2) < 0)
			fail("chain_da_draw");
		free(list);
		randombytes_buf(other, sizeof(other));
		chain_da_sign_digest(&ep, &q, sq->data_root, BLOB, digest);
		if (chain_da_sign(other, digest, bad.sig[0]) < 0)
			fail("chain_da_sign");
	}
	r = chain_da_certify(c, &q, &bad, &slots);
	ok((r == -CHAIN_EDA_SIGNATURE || r == -CHAIN_EDA_THRESHOLD) && same(c, s),
	   "one signed by a non-member is refused (%s)", chain_strerror(r));
	bad = cert;
	bad.quorum[0] ^= 1;
	r = chain_da_certify(c, &q, &bad, &slots);
	ok(r == -CHAIN_EDA_QUORUM && same(c, s), "one for another quorum is refused (%s)",
	   chain_strerror(r));
	bad = cert;
	bad.epoch = e + 100;
	r = chain_da_certify(c, &q, &bad, &slots);
	ok(r == -CHAIN_EREVERTED && strstr(chain_last_detail(), "future") && same(c, s),
	   "one for a future epoch is refused: %s", chain_last_detail());
	ok(chain_da_certificate(c, sq->data_root, &rec) == -ENOENT, "the blob has no certificate");
	r = chain_da_certify(c, &q, &cert, &slots);
	ok(r == 0 && slots == SLOTS, "the signer's certificate is settled: %u of %d slots (%s)",
	   slots, SLOTS, chain_strerror(r));
	ok(chain_da_certificate(c, sq->data_root, &rec) == 0 && rec.epoch == e && rec.len == BLOB &&
	       rec.slots_signed == SLOTS && rec.fee == 5 * FEE && rec.members == 1 &&
	       rec.signers == 1 && !rec.voided && !memcmp(rec.quorum, q.digest, 32),
	   "chain_da_certificate: epoch, length, slots, fee 5 KiB x %llu, members, signers",
	   (unsigned long long)FEE);
	ok(balance(c) == s.balance - 5 * FEE && contract(c).reward_pool == s.pool + 5 * FEE,
	   "the blob fee moved from the account into the reward pool");
	s = take(c);
	r = chain_da_certify(c, &q, &cert, &slots);
	ok(r == -CHAIN_EREVERTED && strstr(chain_last_detail(), "already") && same(c, s),
	   "a second certificate of the blob is refused: %s", chain_last_detail());
}

static void test_sampling(struct chain *c, const struct codec_da_square *sq,
			  const uint8_t account[CHAIN_ADDRESS_SIZE])
{
	struct chain_da_challenge ch = {0};
	struct codec_da_proof proof;
	uint8_t share[CODEC_DA_MAX_SHARE], stranger[CHAIN_ADDRESS_SIZE] = {7};
	char why[200];
	uint64_t earned = 1, before, p;
	int r = -1;

	/* The period after the certificate's. */
	for (int t = 0; t < 50; t++) {
		if (chain_da_make_sample_seed(c) == 0 &&
		    chain_da_challenge(c, sq->data_root, account, &ch) == 0 && ch.due)
			break;
		nap_ms(100);
	}
	ok(ch.due && ch.row < 2 * sq->k && ch.col < 2 * sq->k,
	   "the next period challenges the signer for share (%u, %u)", ch.row, ch.col);
	ok(chain_da_challenge(c, sq->data_root, stranger, &ch) == 0 && !ch.due,
	   "a stranger owes nothing");
	ok(chain_da_earned(c, account, &earned) == 0 && earned == 0, "nothing earned yet");
	for (int t = 0; t < 5 && r != 0; t++) {
		if (chain_da_challenge(c, sq->data_root, account, &ch) < 0 || !ch.due)
			continue;
		memcpy(share, codec_da_share(sq, ch.row, ch.col), sq->share_size);
		share[0] ^= 1;
		if (codec_da_prove(sq, ch.row, ch.col, CODEC_DA_ROW, &proof) < 0)
			break;
		r = chain_da_answer(c, sq->data_root, share, sq->share_size, &proof);
		snprintf(why, sizeof(why), "%s", chain_last_detail());
		ok(r == -CHAIN_EREVERTED && chain_da_earned(c, account, &earned) == 0 &&
		       earned == 0,
		   "a changed share is refused and earns nothing: %s", why);
		share[0] ^= 1;
		r = chain_da_answer(c, sq->data_root, share, sq->share_size, &proof);
	}
	chain_da_earned(c, account, &earned);
	ok(r == 0 && earned == 5 * FEE / WINDOW,
	   "the right share with its row proof earns fee / (window x signers) = %llu",
	   (unsigned long long)earned);
	/* The answer settled in period p; periods are 1 s, so the next look may be in p + 1,
	 * which owes a new answer: either way something definite is checked. */
	before = earned;
	p = ch.period;
	r = chain_da_challenge(c, sq->data_root, account, &ch);
	ok(r == 0 && (ch.period == p ? !ch.due : ch.due),
	   "after the answer nothing more is due in period %llu (now %llu, due %d)",
	   (unsigned long long)p, (unsigned long long)ch.period, ch.due);
	if (ch.period == p) {
		r = chain_da_answer(c, sq->data_root, share, sq->share_size, &proof);
		snprintf(why, sizeof(why), "%s", chain_last_detail());
		chain_da_earned(c, account, &earned);
		ok(r == -CHAIN_EREVERTED && earned == before,
		   "a second answer in the period is refused and earns nothing: %s", why);
	} else {
		if (codec_da_prove(sq, ch.row, ch.col, CODEC_DA_ROW, &proof) < 0)
			fail("codec_da_prove");
		r = chain_da_answer(c, sq->data_root, codec_da_share(sq, ch.row, ch.col),
				    sq->share_size, &proof);
		chain_da_earned(c, account, &earned);
		ok(r == 0 && earned == 2 * before,
		   "the next period owed a new answer, and it is paid again");
	}
}

static void test_void(struct chain *c, uint64_t e, const struct codec_da_square *good)
{
	struct codec_da_square *sq = NULL;
	struct chain_da_cert cert;
	struct chain_da_quorum q;
	struct chain_da_record rec;
	struct chain_da_challenge ch;
	uint8_t blob[BLOB], *proof = NULL, account[CHAIN_ADDRESS_SIZE];
	size_t len = 0;
	unsigned slots;
	char why[200];
	int r;

	randombytes_buf(blob, sizeof(blob));
	if (codec_da_encode(blob, sizeof(blob), 1, &sq) < 0 || da_swap_row(sq, 1, 1) < 0)
		fail("a bad square");
	ok(make_cert(c, e, sq, BLOB, &cert, &q) == 0 && chain_da_certify(c, &q, &cert, &slots) == 0,
	   "a square whose columns are not codewords is certified (its signer checked rows)");
	ok(codec_da_befp_build(good, CODEC_DA_COL, 0, &proof, &len) == 0, "a proof of a good line");
	r = chain_da_void(c, good->data_root, proof, len);
	snprintf(why, sizeof(why), "%s", chain_last_detail());
	ok(r == -CHAIN_EREVERTED && chain_da_certificate(c, good->data_root, &rec) == 0 &&
	       !rec.voided,
	   "voiding a good blob with it is refused: %s", why);
	r = chain_da_void(c, sq->data_root, proof, len);
	ok(r == -CHAIN_EREVERTED, "so is a proof of another blob's line: %s", chain_last_detail());
	free(proof);
	proof = NULL;
	ok(codec_da_befp_build(sq, CODEC_DA_COL, 0, &proof, &len) == 0,
	   "the bad square's column 0 gives a bad-encoding proof (%zu bytes)", len);
	proof[len - 1] ^= 1;
	r = chain_da_void(c, sq->data_root, proof, len);
	snprintf(why, sizeof(why), "%s", chain_last_detail());
	ok(r == -CHAIN_EREVERTED && chain_da_certificate(c, sq->data_root, &rec) == 0 &&
	       !rec.voided,
	   "with one byte changed it is refused: %s", why);
	proof[len - 1] ^= 1;
	ok(chain_da_void(c, sq->data_root, proof, len) == 0 &&
	       chain_da_certificate(c, sq->data_root, &rec) == 0 && rec.voided,
	   "the proof voids the certificate");
	r = chain_da_void(c, sq->data_root, proof, len);
	ok(r == -CHAIN_EREVERTED && strstr(chain_last_detail(), "already"),
	   "a second void is refused: %s", chain_last_detail());
	chain_da_signing_account(c, account);
	ok(chain_da_make_sample_seed(c) == 0 &&
	       chain_da_challenge(c, sq->data_root, account, &ch) == 0 && !ch.due,
	   "a voided blob is not sampled");
	free(proof);
	codec_da_square_free(sq);
}

/* Three more proofs move epoch e out of the proof ring: its draw comes from its record. */
static void test_old_draw(struct chain *c, uint64_t e, const uint8_t account[CHAIN_ADDRESS_SIZE])
{
	struct chain_da_signer *s = calloc(CHAIN_DA_SIGNERS_MAX, sizeof(*s));
	struct chain_da_epoch ep;
	struct chain_da_quorum q;
	uint64_t p = e;
	size_t n = 0;
	int r = 0;

	for (int i = 0; i < 3 && r == 0; i++) {
		wait_for(c, p, false);
		r = publish_next(c, &p);
	}
	ok(r == 0 && p >= e + 3, "the signer published for epochs up to %llu",
	   (unsigned long long)p);
	r = s ? chain_da_draw(c, e, &ep, s, CHAIN_DA_SIGNERS_MAX, &n, &q) : -ENOMEM;
	ok(r == 0 && n == 1 && s[0].has_proof && q.members == 1 &&
	       !memcmp(q.account[0], account, CHAIN_ADDRESS_SIZE),
	   "epoch %llu's draw is still derived, from its record (%s)", (unsigned long long)e,
	   chain_strerror(r));
	free(s);
}

static void test_verify_reopen(struct chain **pc, const struct codec_da_square *sq,
			       const uint8_t account[CHAIN_ADDRESS_SIZE])
{
	struct chain_verify_report rep = {0};
	struct chain_da_record a, b;
	struct chain_da_contract d0, d1;
	uint64_t e0 = 0, e1 = 1;

	int r = chain_verify(*pc, &rep);

	ok(r == 0, "chain_verify replays every DA transaction: %llu blocks (%s)",
	   (unsigned long long)rep.blocks, r ? rep.reason : "ok");
	chain_da_certificate(*pc, sq->data_root, &a);
	chain_da_earned(*pc, account, &e0);
	d0 = contract(*pc);
	chain_close(*pc);
	ok(chain_local_open(dir, sk, pc) == 0, "the ledger reopens");
	d1 = contract(*pc);
	ok(chain_da_certificate(*pc, sq->data_root, &b) == 0 && !memcmp(&a, &b, sizeof(a)) &&
	       chain_da_earned(*pc, account, &e1) == 0 && e0 == e1 &&
	       d0.reward_pool == d1.reward_pool && d1.signers == 1,
	   "with the same certificate, earnings, pool and signer");
}

/* Change one byte of the stored certificate 0 (its fee) behind the ledger's back: the
 * replay must name it. */
static void test_tampered(struct chain **pc)
{
	struct chain_verify_report rep = {0};
	leveldb_options_t *o = leveldb_options_create();
	leveldb_readoptions_t *ro = leveldb_readoptions_create();
	leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
	char key[9] = {'a'}, *err = NULL, *val;
	leveldb_t *db;
	size_t len = 0;
	int r;

	chain_close(*pc);
	*pc = NULL;
	db = leveldb_open(o, dir, &err);
	val = db ? leveldb_get(db, ro, key, sizeof(key), &len, &err) : NULL;
	if (val && len > 1 + 64 + 4 * 8) {
		val[1 + 64 + 4 * 8 + 7] ^= 1; /* the low byte of the fee */
		leveldb_put(db, wo, key, sizeof(key), val, len, &err);
	}
	ok(val && !err, "certificate record 0 is changed in leveldb");
	leveldb_free(val);
	if (db)
		leveldb_close(db);
	leveldb_options_destroy(o);
	leveldb_readoptions_destroy(ro);
	leveldb_writeoptions_destroy(wo);
	ok(chain_local_open(dir, sk, pc) == 0, "the ledger still opens");
	r = chain_verify(*pc, &rep);
	ok(r == -CHAIN_ETAMPERED && strstr(rep.reason, "DA certificate 0"),
	   "chain_verify finds it: %s", rep.reason);
}

int main(void)
{
	struct codec_da_square *sq = NULL;
	uint8_t account[CHAIN_ADDRESS_SIZE], blob[BLOB];
	struct chain *c = NULL;
	uint64_t e = 0;

	if (sodium_init() < 0)
		fail("sodium_init");
	crypto_sign_keypair(pk, sk);
	randombytes_buf(vrf_sk, sizeof(vrf_sk));
	if (codec_vrf_public_key(vrf_sk, vrf_pk) < 0)
		fail("a VRF key");
	snprintf(dir, sizeof(dir), "/tmp/zgfs-chain-da-XXXXXX");
	if (!mkdtemp(dir))
		fail("mkdtemp");
	remove_dir(dir);
	ok(chain_local_open(dir, sk, &c) == 0, "a new ledger opens");
	randombytes_buf(blob, sizeof(blob));
	if (codec_da_encode(blob, sizeof(blob), 1, &sq) < 0)
		fail("codec_da_encode");

	test_setup(c);
	test_register(c, account);
	test_publish(c, &e);
	test_certify(c, e, sq, account);
	test_sampling(c, sq, account);
	test_void(c, e, sq);
	test_old_draw(c, e, account);
	test_verify_reopen(&c, sq, account);
	test_tampered(&c);

	chain_close(c);
	codec_da_square_free(sq);
	remove_dir(dir);
	return tap_done();
}
