/*
 * Unit tests of chain/da.h: the draw of an epoch's DA quorum from signers' stake and VRF
 * proofs (deterministic, independent of list order, refusing bad proofs, zero stakes and
 * repeated accounts; a signer's chance proportional to its stake, by simulation), the
 * slots spread over few signers, and certificates: the more-than-2/3 threshold, every
 * refusal in its order, and the encoding with its refusals.
 */
#include <errno.h>
#include <string.h>

#include "chain/da.h"
#include "codec/errors.h"
#include "codec/keccak.h"
#include "codec/vrf.h"
#include "tests/tap.h"

#define N    24
#define KEYS 26 /* the signers of the draw, and two more */

static uint8_t vrf_sk[KEYS][32], evm_sk[KEYS][32];

static struct chain_da_epoch epoch_of(uint64_t e, unsigned slots)
{
	struct chain_da_epoch ep = {
	    .chain_id = 31337, .epoch = e, .stake_unit = 100, .slots = slots};
	uint8_t b[8] = {(uint8_t)e, (uint8_t)(e >> 8), (uint8_t)(e >> 16)};

	memset(ep.contract, 0xda, sizeof(ep.contract));
	codec_keccak256(b, sizeof(b), ep.seed);
	return ep;
}

/* Signer i for epoch ep, with its proof over ep's alpha. */
static void signer(struct chain_da_signer *s, size_t i, const struct chain_da_epoch *ep,
		   uint64_t stake)
{
	uint8_t alpha[CHAIN_DA_ALPHA_SIZE];

	memset(s, 0, sizeof(*s));
	s->stake = stake;
	if (chain_da_account(evm_sk[i], s->account) != 0 ||
	    codec_vrf_public_key(vrf_sk[i], s->vrf_key) != 0)
		abort();
	chain_da_alpha(ep, alpha);
	if (codec_vrf_prove(vrf_sk[i], alpha, sizeof(alpha), s->proof) != 0)
		abort();
}

static bool same_quorum(const struct chain_da_quorum *a, const struct chain_da_quorum *b)
{
	return a->members == b->members && memcmp(a->digest, b->digest, 32) == 0 &&
	       memcmp(a->account, b->account, sizeof(a->account)) == 0;
}

static void test_draw(void)
{
	struct chain_da_epoch ep = epoch_of(7, 8);
	struct chain_da_signer s[N], rev[N];
	struct chain_da_quorum q, q2;

	for (size_t i = 0; i < N; i++)
		signer(&s[i], i, &ep, 100 * (1 + i % 5));
	ok(chain_da_quorum(&ep, s, N, &q) == 0 && q.members == 8 && q.slots == 8,
	   "24 signers, 8 slots: 8 members");
	for (size_t i = 0; i < N; i++)
		rev[i] = s[N - 1 - i];
	ok(chain_da_quorum(&ep, rev, N, &q2) == 0 && same_quorum(&q, &q2),
	   "the same quorum from the signers in another order");
	{
		struct chain_da_epoch other = epoch_of(8, 8);

		ok(chain_da_quorum(&other, s, N, &q2) == -ENOENT,
		   "proofs for epoch 7 qualify no one in epoch 8");
	}
	/* One bad proof, one stake below a ticket, one account twice: each left out. */
	s[3].proof[40] ^= 1;
	s[5].stake = 99;
	s[7] = s[6];
	{
		struct chain_da_quorum all;
		bool out = true;

		int r;

		ep.slots = 64;
		r = chain_da_quorum(&ep, s, N, &all);
		ok(r == 0 && all.members == N - 3,
		   "an altered proof, a stake below one ticket and a repeated account are left "
		   "out (%zu ranked)",
		   r == 0 ? all.members : 0);
		for (size_t k = 0; k < all.members; k++)
			out = out && all.member[k] != 3 && all.member[k] != 5 && all.member[k] != 7;
		ok(out, "and none of them is ranked");
	}
	ok(chain_da_quorum(&ep, s, 0, &q2) == -ENOENT, "no signers: -ENOENT");
	ep.slots = 0;
	ok(chain_da_quorum(&ep, s, N, &q2) == -EINVAL, "zero slots: -EINVAL");
}

static void test_slots(void)
{
	struct chain_da_epoch ep = epoch_of(3, 16);
	struct chain_da_signer s[4];
	struct chain_da_quorum q;
	unsigned held[4] = {0};

	for (size_t i = 0; i < 4; i++)
		signer(&s[i], i, &ep, 100);
	ok(chain_da_quorum(&ep, s, 4, &q) == 0 && q.members == 4, "4 signers, 16 slots");
	for (unsigned j = 0; j < 16; j++)
		held[q.slot_rank[j]]++;
	ok(held[0] == 4 && held[1] == 4 && held[2] == 4 && held[3] == 4,
	   "each holds 4 slots (a quarter of the rows)");

	/* Rows per member: 256 rows, a quarter each, row r on slot r mod 16; 2 rows (fewer
	 * than slots): every slot holds row j mod 2, so each row is on two members. */
	for (unsigned rows = 2; rows <= 256; rows *= 8) {
		unsigned per[4] = {0}, holders_ok = 1;

		for (unsigned r = 0; r < rows; r++) {
			unsigned h = 0;

			for (unsigned rank = 0; rank < 4; rank++) {
				bool x = chain_da_holds(&q, rank, r, rows);

				per[rank] += x;
				h += x;
				if (rows >= 16 && x != (q.slot_rank[r % 16] == rank))
					holders_ok = 0;
			}
			holders_ok &= h == (rows >= 16 ? 1u : 2u);
		}
		ok(holders_ok && per[0] == per[1] && per[2] == per[3] && per[0] == per[3] &&
		       per[0] == (rows >= 16 ? rows / 4 : 1),
		   "%u rows: each member holds %u, each row has %u holder(s)", rows, per[0],
		   rows >= 16 ? 1 : 2);
	}
}

/* Two signers, 1 and 3 tickets: the heavier ranks first about 3 times in 4. */
static void test_weights(void)
{
	const unsigned rounds = 600;
	unsigned first = 0;

	for (unsigned e = 0; e < rounds; e++) {
		struct chain_da_epoch ep = epoch_of(1000 + e, 2);
		struct chain_da_signer s[2];
		struct chain_da_quorum q;

		signer(&s[0], 10, &ep, 100);
		signer(&s[1], 11, &ep, 300);
		if (chain_da_quorum(&ep, s, 2, &q) == 0 && q.member[0] == 1)
			first++;
	}
	/* p = 0.75, sd = sqrt(p(1-p)/600) = 0.018: within 4 sd. */
	ok(first > 0.68 * rounds && first < 0.82 * rounds,
	   "stake 3:1 ranks first %u of %u times (expected 75 %%)", first, rounds);
}

static void test_certificates(void)
{
	struct chain_da_epoch ep = epoch_of(11, 16);
	struct chain_da_signer s[5];
	struct chain_da_quorum q;
	struct chain_da_cert c = {0}, bad, back;
	uint8_t digest[32], enc[CHAIN_DA_CERT_MAX];
	unsigned slots = 0;
	size_t len;

	for (size_t i = 0; i < 5; i++)
		signer(&s[i], 20 + i, &ep, 100);   /* keys 20 to 24 */
	if (chain_da_quorum(&ep, s, 4, &q) != 0) { /* the fifth is no member */
		ok(0, "quorum of 4");
		return;
	}
	memset(c.data_root, 0x5a, 32);
	c.len = 1048576;
	c.epoch = 11;
	memcpy(c.quorum, q.digest, 32);
	chain_da_sign_digest(&ep, &q, c.data_root, c.len, digest);
	for (size_t r = 0; r < 3; r++) {
		c.rank[r] = (uint8_t)r;
		if (chain_da_sign(evm_sk[20 + q.member[r]], digest, c.sig[r]) != 0)
			abort();
	}
	c.nsigs = 3;
	ok(chain_da_cert_verify(&ep, &q, &c, &slots) == 0 && slots == 12,
	   "3 of 4 members (12 of 16 slots) certify");
	bad = c;
	bad.nsigs = 2;
	ok(chain_da_cert_verify(&ep, &q, &bad, &slots) == -CHAIN_EDA_THRESHOLD && slots == 8,
	   "2 of 4 (8 of 16 slots, not more than 2/3): CHAIN_EDA_THRESHOLD");
	bad = c;
	bad.epoch = 12;
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_EPOCH, "another epoch");
	bad = c;
	bad.quorum[0] ^= 1;
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_QUORUM, "another quorum");
	bad = c;
	bad.rank[2] = 4;
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_MEMBER,
	   "a rank beyond the members");
	bad = c;
	bad.rank[2] = 1;
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_MEMBER,
	   "one member counted twice");
	bad = c;
	if (chain_da_sign(evm_sk[24], digest, bad.sig[2]) != 0)
		abort();
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_SIGNATURE,
	   "a non-member's signature in a member's place");
	bad = c;
	bad.data_root[5] ^= 1;
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_SIGNATURE,
	   "signatures of another blob");
	bad = c;
	bad.sig[1][64] = 7;
	ok(chain_da_cert_verify(&ep, &q, &bad, NULL) == -CHAIN_EDA_SIGNATURE,
	   "a malformed signature");

	len = chain_da_cert_encode(&c, enc);
	ok(len == 81 + 3 * 66 && chain_da_cert_decode(enc, len, &back) == 0 &&
	       memcmp(&back, &c, sizeof(c)) == 0 && chain_da_cert_verify(&ep, &q, &back, NULL) == 0,
	   "a certificate's encoding round-trips (%zu bytes)", len);
	ok(chain_da_cert_decode(enc, len - 1, &back) == -CODEC_EFORMAT &&
	       chain_da_cert_decode(enc, 80, &back) == -CODEC_EFORMAT,
	   "cut: -CODEC_EFORMAT");
	enc[81 + 66] = 0; /* the second rank not above the first */
	ok(chain_da_cert_decode(enc, len, &back) == -CODEC_EFORMAT, "ranks not increasing");
	enc[80] = 0;
	ok(chain_da_cert_decode(enc, 81, &back) == -CODEC_EFORMAT, "no signature");
}

int main(void)
{
	for (size_t i = 0; i < KEYS; i++) {
		uint8_t b[2] = {'v', (uint8_t)i};

		codec_keccak256(b, 2, vrf_sk[i]);
		b[0] = 'e';
		codec_keccak256(b, 2, evm_sk[i]);
	}
	test_draw();
	test_slots();
	test_weights();
	test_certificates();
	return tap_done();
}
