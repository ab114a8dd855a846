/*
 * The Flow contract's ABI (chain/abi.c): selectors and the Submit topic against the known
 * constants, submit/batchSubmit calldata checked word by word, the Submit event decoder on
 * random submissions (fixed seed) encoded here independently, in the canonical layout and
 * in others the ABI allows, and its refusals of hostile data: every truncation, offsets
 * outside the data or into a head, huge lengths, too many nodes, oversized tags, high
 * bytes set, nonzero padding, trailing bytes. Then view and submit return data, and
 * revert reasons.
 *
 * `test_abi --write-corpus DIR` writes the seed corpus of the 'abi' fuzz target into DIR.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/abi_i.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "codec/limits.h"
#include "tests/tap.h"

#define W 32

static uint8_t topic0[W];

/* ---- an independent encoder ---------------------------------------------------------- */

struct enc {
	uint8_t *p;
	size_t len, cap;
};

static void enc_put(struct enc *e, const void *p, size_t n)
{
	if (e->len + n > e->cap) {
		e->cap = (e->len + n) * 2 + 1024;
		e->p = realloc(e->p, e->cap);
		if (!e->p)
			abort();
	}
	memcpy(e->p + e->len, p, n);
	e->len += n;
}

static void enc_word(struct enc *e, uint64_t v)
{
	uint8_t w[W] = {0};

	for (int i = 0; i < 8; i++)
		w[W - 1 - i] = (uint8_t)(v >> (8 * i));
	enc_put(e, w, W);
}

static void enc_zeros(struct enc *e, size_t n)
{
	static const uint8_t z[64];

	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		enc_put(e, z, k);
		n -= k;
	}
}

/* The word at byte pos of e, overwritten with v. */
static void enc_set(struct enc *e, size_t pos, uint64_t v)
{
	for (int i = 0; i < W; i++)
		e->p[pos + (size_t)i] = i < W - 8 ? 0 : (uint8_t)(v >> (8 * (W - 1 - i)));
}

static size_t round32(size_t n)
{
	return (n + 31) / 32 * 32;
}

/* Layouts of the Submission tuple inside the event data. */
enum layout {
	CANONICAL,   /* head, tags, nodes in order */
	NODES_FIRST, /* head, nodes, tags */
	GAPS,	     /* canonical with a zero word between the parts */
};

/* Event data (submissionIndex, startPos, length, submission). Returns the offsets of the
 * interesting words: where the submission starts, its tags and nodes parts. */
struct where {
	size_t sub, tags, nodes;
};

static struct where enc_event(struct enc *e, uint64_t index, uint64_t start, uint64_t sectors,
			      const struct chain_submission *s, enum layout lay)
{
	struct where at;
	size_t gap = lay == GAPS ? W : 0;
	size_t tags_size = W + round32(s->tags_len), nodes_size = W + 2 * W * s->nnodes;
	size_t toff, noff;

	e->len = 0;
	enc_word(e, index);
	enc_word(e, start);
	enc_word(e, sectors);
	enc_word(e, 4 * W + gap);
	enc_zeros(e, gap);
	at.sub = e->len;
	if (lay == NODES_FIRST) {
		noff = 3 * W;
		toff = noff + nodes_size;
	} else {
		toff = 3 * W + gap;
		noff = toff + tags_size + gap;
	}
	enc_word(e, s->length);
	enc_word(e, toff);
	enc_word(e, noff);
	for (int part = 0; part < 2; part++) {
		int tags = (lay == NODES_FIRST) == (part == 1);

		enc_zeros(e, gap);
		if (tags) {
			at.tags = e->len;
			enc_word(e, s->tags_len);
			enc_put(e, s->tags, s->tags_len);
			enc_zeros(e, round32(s->tags_len) - s->tags_len);
		} else {
			at.nodes = e->len;
			enc_word(e, s->nnodes);
			for (size_t i = 0; i < s->nnodes; i++) {
				enc_put(e, s->nodes[i].root, W);
				enc_word(e, s->nodes[i].height);
			}
		}
	}
	return at;
}

static void make_topics(uint8_t topics[3][W], const uint8_t sender[20], const uint8_t id[W])
{
	memcpy(topics[0], topic0, W);
	memset(topics[1], 0, 12);
	memcpy(topics[1] + 12, sender, 20);
	memcpy(topics[2], id, W);
}

static void random_sub(struct chain_submission *s)
{
	uint64_t k = tap_rand() % 10;

	memset(s, 0, sizeof(*s));
	s->length = tap_rand() >> (tap_rand() % 64);
	s->nnodes = k == 0 ? CODEC_MAX_NODES : 1 + tap_rand() % 8;
	s->tags_len = k == 1 ? CHAIN_TAGS_MAX : k < 5 ? 0 : tap_rand() % (CHAIN_TAGS_MAX + 1);
	tap_fill(s->tags, s->tags_len);
	for (size_t i = 0; i < s->nnodes; i++) {
		tap_fill(s->nodes[i].root, W);
		s->nodes[i].height = (unsigned)(tap_rand() % 64);
	}
}

static int same_sub(const struct chain_submission *a, const struct chain_submission *b)
{
	if (a->length != b->length || a->tags_len != b->tags_len || a->nnodes != b->nnodes ||
	    memcmp(a->tags, b->tags, a->tags_len) != 0)
		return 0;
	for (size_t i = 0; i < a->nnodes; i++)
		if (memcmp(a->nodes[i].root, b->nodes[i].root, W) != 0 ||
		    a->nodes[i].height != b->nodes[i].height)
			return 0;
	return 1;
}

/* ---- constants --------------------------------------------------------------------------- */

static uint32_t sel32(const char *sig)
{
	uint8_t s[4];

	chain_abi_selector(sig, s);
	return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
}

static void test_constants(void)
{
	static const struct {
		const char *sig;
		uint32_t sel;
	} cases[] = {
	    {CHAIN_ABI_SIG_SUBMIT, 0xbc8c11f8u},
	    {CHAIN_ABI_SIG_BATCH_SUBMIT, 0x49aa3395u},
	    {CHAIN_ABI_SIG_MARKET, 0x80f55605u},
	    {CHAIN_ABI_SIG_PRICE, 0x61ec5082u},
	    {CHAIN_ABI_SIG_NUM_SUBMISSIONS, 0x77e19824u},
	    {CHAIN_ABI_SIG_FLOW_LENGTH, 0x178bb4e2u},
	    {CHAIN_ABI_SIG_FLOW_ROOT, 0x28aa10e9u},
	    {CHAIN_ABI_SIG_INVALID_SUBMISSION, 0xf956cee4u},
	    {CHAIN_ABI_SIG_NOT_ENOUGH_FEE, 0xf85c6482u},
	    {CHAIN_ABI_SIG_ERROR, 0x08c379a0u},
	    {CHAIN_ABI_SIG_PANIC, 0x4e487b71u},
	};
	uint8_t want[W];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(sel32(cases[i].sig) == cases[i].sel, "selector of %s is 0x%08x", cases[i].sig,
		   (unsigned)cases[i].sel);
	ok(sel32(CHAIN_ABI_SIG_SUBMIT) == CHAIN_ABI_SEL_SUBMIT &&
	       sel32(CHAIN_ABI_SIG_BATCH_SUBMIT) == CHAIN_ABI_SEL_BATCH_SUBMIT &&
	       sel32(CHAIN_ABI_SIG_MARKET) == CHAIN_ABI_SEL_MARKET &&
	       sel32(CHAIN_ABI_SIG_INVALID_SUBMISSION) == CHAIN_ABI_SEL_INVALID_SUBMISSION &&
	       sel32(CHAIN_ABI_SIG_NOT_ENOUGH_FEE) == CHAIN_ABI_SEL_NOT_ENOUGH_FEE &&
	       sel32(CHAIN_ABI_SIG_ERROR) == CHAIN_ABI_SEL_ERROR &&
	       sel32(CHAIN_ABI_SIG_PANIC) == CHAIN_ABI_SEL_PANIC &&
	       sel32(CHAIN_ABI_SIG_PORA_REFUSED) == CHAIN_ABI_SEL_PORA_REFUSED &&
	       sel32(CHAIN_ABI_SIG_MINER_ID_TAKEN) == CHAIN_ABI_SEL_MINER_ID_TAKEN,
	   "the CHAIN_ABI_SEL_* constants are the hashes of their signatures");
	chain_abi_topic(CHAIN_ABI_SIG_SUBMIT_EVENT, topic0);
	ok(codec_hex_decode(CHAIN_ABI_SUBMIT_TOPIC, want, W) == 0 && !memcmp(topic0, want, W),
	   "Submit topic0 = keccak256(signature) = %s", CHAIN_ABI_SUBMIT_TOPIC);
}

static void test_words(void)
{
	uint8_t w[W], a[20], b[20];
	uint64_t v = 0;
	int good;

	chain_abi_put_u64(w, 0x0102030405060708ULL);
	ok(w[0] == 0 && w[23] == 0 && w[24] == 1 && w[31] == 8 && chain_abi_word_u64(w, &v) == 0 &&
	       v == 0x0102030405060708ULL,
	   "u64 word: big-endian in the low 8 bytes, round trip");
	w[23] = 1;
	v = 7;
	ok(chain_abi_word_u64(w, &v) == -EOVERFLOW && v == 7,
	   "a u64 word with byte 23 set: -EOVERFLOW");
	w[23] = 0;
	w[0] = 0x80;
	ok(chain_abi_word_u64(w, &v) == -EOVERFLOW, "a u64 word with the top bit set: -EOVERFLOW");
	tap_fill(a, 20);
	chain_abi_put_address(w, a);
	ok(!memcmp(w + 12, a, 20) && w[0] == 0 && w[11] == 0 && chain_abi_word_address(w, b) == 0 &&
	       !memcmp(a, b, 20),
	   "address word: 12 zero bytes then the address, round trip");
	good = 1;
	for (int i = 0; i < 12; i++) {
		memset(b, 0x5a, 20);
		w[i] = 1;
		good &= chain_abi_word_address(w, b) == -EINVAL && b[0] == 0x5a;
		w[i] = 0;
	}
	ok(good, "an address word with any of its 12 high bytes set: -EINVAL, untouched");
	chain_abi_put_bytes32(w, topic0);
	ok(!memcmp(w, topic0, W), "bytes32 word is itself");
}

/* ---- calldata ------------------------------------------------------------------------------ */

static int word_is(const uint8_t *p, uint64_t v)
{
	uint8_t w[W];

	chain_abi_put_u64(w, v);
	return !memcmp(p, w, W);
}

static void test_encode_submit(void)
{
	struct chain_submission *s = calloc(1, sizeof(*s));
	const struct chain_submission *list[2];
	uint8_t submitter[20], sel[4];
	struct chain_wbuf w;
	const uint8_t *p;
	int good;

	memset(submitter, 0xab, 20);
	s->length = 1000;
	s->tags_len = 3;
	memcpy(s->tags, "abc", 3);
	s->nnodes = 2;
	memset(s->nodes[0].root, 0x11, W);
	s->nodes[0].height = 2;
	memset(s->nodes[1].root, 0x22, W);
	s->nodes[1].height = 1;

	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_submit(s, submitter, &w);
	ok(w.err == 0 && w.len == 4 + 13 * W, "submit calldata: selector + 13 words (%zu bytes)",
	   w.len);
	chain_abi_selector(CHAIN_ABI_SIG_SUBMIT, sel);
	p = w.data + 4;
	ok(w.len >= 4 + 13 * W && !memcmp(w.data, sel, 4), "  selector 0xbc8c11f8");
	if (w.len == 4 + 13 * W) {
		ok(word_is(p, 0x20), "  word 0: offset of the SubmissionData tuple (0x20)");
		ok(word_is(p + W, 0x40), "  word 1: offset of Submission inside it (0x40)");
		good = 1;
		for (int i = 0; i < 12; i++)
			good &= p[2 * W + i] == 0;
		ok(good && !memcmp(p + 2 * W + 12, submitter, 20), "  word 2: the submitter");
		ok(word_is(p + 3 * W, 1000), "  word 3: length 1000");
		ok(word_is(p + 4 * W, 0x60), "  word 4: offset of tags (0x60)");
		ok(word_is(p + 5 * W, 0xa0), "  word 5: offset of nodes (0xa0)");
		ok(word_is(p + 6 * W, 3), "  word 6: tags length 3");
		good = !memcmp(p + 7 * W, "abc", 3);
		for (int i = 3; i < W; i++)
			good &= p[7 * W + i] == 0;
		ok(good, "  word 7: 'abc' and 29 zero bytes");
		ok(word_is(p + 8 * W, 2), "  word 8: 2 nodes");
		ok(!memcmp(p + 9 * W, s->nodes[0].root, W) && word_is(p + 10 * W, 2),
		   "  words 9-10: node 0 (root, height 2)");
		ok(!memcmp(p + 11 * W, s->nodes[1].root, W) && word_is(p + 12 * W, 1),
		   "  words 11-12: node 1 (root, height 1)");
	}
	chain_wbuf_release(&w);

	/* batchSubmit of the same submission twice: the offset of the array, its count, then
	 * the element heads (offsets from the start of the heads), then 12 words per element. */
	list[0] = list[1] = s;
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_batch_submit(list, 2, submitter, &w);
	chain_abi_selector(CHAIN_ABI_SIG_BATCH_SUBMIT, sel);
	p = w.data + 4;
	ok(w.err == 0 && w.len == 4 + (4 + 2 * 12) * W && !memcmp(w.data, sel, 4) &&
	       word_is(p, 0x20) && word_is(p + W, 2) && word_is(p + 2 * W, 0x40) &&
	       word_is(p + 3 * W, 0x40 + 12 * W),
	   "batchSubmit of 2: offset 0x20, count 2, element offsets 0x40 and 0x1c0");
	ok(w.len == 4 + 28 * W && !memcmp(p + 4 * W, p + 16 * W, 12 * W),
	   "  the two elements encode the same");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_submit(s, submitter, &w);
	{
		struct chain_wbuf w2;

		chain_wbuf_init(&w2, 1 << 20);
		chain_abi_encode_batch_submit(list, 1, submitter, &w2);
		ok(w2.err == 0 && w2.len == w.len + 2 * W &&
		       !memcmp(w2.data + 4 + 3 * W, w.data + 4 + W, 12 * W),
		   "  an element of batchSubmit is the SubmissionData of submit");
		chain_wbuf_release(&w2);
	}
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_batch_submit(NULL, 0, submitter, &w);
	ok(w.err == 0 && w.len == 4 + 2 * W && word_is(w.data + 4, 0x20) &&
	       word_is(w.data + 4 + W, 0),
	   "batchSubmit of none: offset and a zero count");
	chain_wbuf_release(&w);

	chain_wbuf_init(&w, 4 + 10 * W);
	chain_abi_encode_submit(s, submitter, &w);
	ok(w.err == -E2BIG, "submit calldata past the writer's max: -E2BIG in w->err");
	chain_wbuf_release(&w);
	s->tags_len = CHAIN_TAGS_MAX + 1;
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_submit(s, submitter, &w);
	ok(w.err == -EINVAL, "tags over CHAIN_TAGS_MAX: -EINVAL in w->err");
	chain_wbuf_release(&w);
	s->tags_len = 0;
	s->nnodes = CODEC_MAX_NODES + 1;
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_batch_submit(list, 2, submitter, &w);
	ok(w.err == -EINVAL, "batchSubmit with more than CODEC_MAX_NODES nodes: -EINVAL");
	chain_wbuf_release(&w);

	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_call0(CHAIN_ABI_SIG_MARKET, &w);
	ok(w.err == 0 && w.len == 4 && w.data[0] == 0x80 && w.data[1] == 0xf5 &&
	       w.data[2] == 0x56 && w.data[3] == 0x05,
	   "market(): the 4-byte selector 0x80f55605");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_call_u64("f(uint256)", 77, &w);
	ok(w.err == 0 && w.len == 4 + W &&
	       sel32("f(uint256)") == ((uint32_t)w.data[0] << 24 | (uint32_t)w.data[1] << 16 |
				       (uint32_t)w.data[2] << 8 | w.data[3]) &&
	       word_is(w.data + 4, 77),
	   "a call with one uint256: selector and the word");
	chain_wbuf_release(&w);
	chain_wbuf_init(&w, 1 << 20);
	chain_abi_encode_create_u64((const uint8_t *)"\x60\x80\x60\x40", 4, 2384, &w);
	ok(w.err == 0 && w.len == 4 + W && !memcmp(w.data, "\x60\x80\x60\x40", 4) &&
	       word_is(w.data + 4, 2384),
	   "creation data: the code, then the constructor's uint256");
	chain_wbuf_release(&w);
	free(s);
}

/* ---- the Submit event ----------------------------------------------------------------------- */

/* Topics as the tests build them (writable arrays), for the decoder's const view. */
#define CT(t) ((const uint8_t(*)[W])(t))

static int decode(uint8_t topics[][W], size_t nt, const struct enc *e, size_t len,
		  struct chain_abi_submit_event *ev)
{
	return chain_abi_decode_submit_event(CT(topics), nt, e->p, len, ev);
}

static void test_event_roundtrip(void)
{
	struct chain_submission *s = malloc(sizeof(*s));
	struct chain_abi_submit_event *ev = malloc(sizeof(*ev));
	struct enc e = {0};
	uint8_t topics[3][W], sender[20], id[W];
	int good[3] = {1, 1, 1}, n64 = 0, nbig = 0;

	tap_seed(0xab1);
	for (int i = 0; i < 300; i++) {
		uint64_t index = tap_rand() >> (tap_rand() % 64), start = tap_rand(),
			 sectors = tap_rand() >> 10;

		random_sub(s);
		n64 += s->nnodes == CODEC_MAX_NODES;
		nbig += s->tags_len == CHAIN_TAGS_MAX;
		tap_fill(sender, 20);
		tap_fill(id, W);
		make_topics(topics, sender, id);
		for (int lay = 0; lay < 3; lay++) {
			enc_event(&e, index, start, sectors, s, (enum layout)lay);
			memset(ev, 0x5a, sizeof(*ev));
			if (decode(topics, 3, &e, e.len, ev) != 0 || ev->index != index ||
			    ev->start != start || ev->sectors != sectors ||
			    memcmp(ev->sender, sender, 20) || memcmp(ev->identity, id, W) ||
			    !same_sub(s, &ev->sub)) {
				if (good[lay])
					diag("submission %d, layout %d differs", i, lay);
				good[lay] = 0;
			}
		}
	}
	ok(good[0],
	   "300 random Submit events (%d with 64 nodes, %d with full tags) decode "
	   "to what was encoded",
	   n64, nbig);
	ok(good[1], "  the same with the nodes before the tags");
	ok(good[2], "  the same with zero words between the parts");
	free(e.p);
	free(ev);
	free(s);
}

/* A base event to damage: 3 nodes, 40 bytes of tags. */
static struct where base_event(struct enc *e, struct chain_submission *s, uint8_t topics[3][W])
{
	uint8_t sender[20], id[W];

	memset(s, 0, sizeof(*s));
	s->length = 5000;
	s->tags_len = 40;
	tap_fill(s->tags, 40);
	s->nnodes = 3;
	for (int i = 0; i < 3; i++) {
		tap_fill(s->nodes[i].root, W);
		s->nodes[i].height = (unsigned)(4 - i);
	}
	tap_fill(sender, 20);
	tap_fill(id, W);
	make_topics(topics, sender, id);
	return enc_event(e, 7, 1024, 28, s, CANONICAL);
}

/* Decodes e (len bytes) expecting want, and that ev stays as it was. */
static int refuses(uint8_t topics[][W], size_t nt, const struct enc *e, size_t len, int want)
{
	static struct chain_abi_submit_event ev, before;
	int r;

	memset(&ev, 0xa5, sizeof(ev));
	memcpy(&before, &ev, sizeof(ev));
	r = chain_abi_decode_submit_event(CT(topics), nt, e->p, len, &ev);
	if (r != want)
		diag("got %d, want %d", r, want);
	return r == want && !memcmp(&ev, &before, sizeof(ev));
}

static void set_high(struct enc *e, size_t pos)
{
	e->p[pos] = 1;
}

static void test_event_rejects(void)
{
	struct chain_submission *s = malloc(sizeof(*s));
	struct chain_abi_submit_event *ev = malloc(sizeof(*ev));
	uint8_t topics[4][W], bad[3][W];
	struct enc e = {0};
	struct where at;
	size_t full;
	int good;

	tap_seed(0xbad);
	at = base_event(&e, s, topics);
	full = e.len;
	ok(decode(topics, 3, &e, full, ev) == 0 && same_sub(s, &ev->sub) && ev->index == 7 &&
	       ev->start == 1024 && ev->sectors == 28,
	   "the base event decodes");

	good = 1;
	for (size_t n = 0; n < full; n++)
		good &= refuses(topics, 3, &e, n, -EINVAL);
	ok(good, "every truncation (0..%zu bytes): -EINVAL, nothing written", full - 1);
	ok(refuses(topics, 3, &e, 0, -EINVAL) &&
	       chain_abi_decode_submit_event(CT(topics), 3, NULL, 0, ev) == -EINVAL,
	   "no data: -EINVAL");

	/* trailing bytes */
	enc_zeros(&e, 64);
	ok(decode(topics, 3, &e, full + 31, ev) == 0, "31 trailing zero bytes: accepted");
	ok(refuses(topics, 3, &e, full + 32, -EINVAL), "32 trailing zero bytes: -EINVAL");
	e.p[full + 5] = 1;
	ok(refuses(topics, 3, &e, full + 6, -EINVAL), "a trailing nonzero byte: -EINVAL");

	/* topics */
	ok(refuses(topics, 2, &e, full, -EINVAL) && refuses(topics, 4, &e, full, -EINVAL) &&
	       refuses(topics, 0, &e, full, -EINVAL),
	   "2, 4 or no topics: -EINVAL");
	memcpy(bad, topics, sizeof(bad));
	bad[0][31] ^= 1;
	ok(refuses(bad, 3, &e, full, -EINVAL), "another topic0: -EINVAL");
	memcpy(bad, topics, sizeof(bad));
	bad[1][0] = 1;
	ok(refuses(bad, 3, &e, full, -EINVAL), "a sender topic with its high bytes set: -EINVAL");

	/* numbers that do not fit */
	for (int k = 0; k < 3; k++) {
		at = base_event(&e, s, topics);
		set_high(&e, (size_t)k * W);
		ok(refuses(topics, 3, &e, e.len, -EOVERFLOW), "%s with a high byte set: -EOVERFLOW",
		   k == 0   ? "submissionIndex"
		   : k == 1 ? "startPos"
			    : "length (sectors)");
	}
	at = base_event(&e, s, topics);
	set_high(&e, at.sub + 23);
	ok(refuses(topics, 3, &e, e.len, -EOVERFLOW), "Submission.length past 64 bits: -EOVERFLOW");

	/* offsets */
	static const struct {
		uint64_t v;
		const char *what;
	} offs[] = {
	    {0, "0 (into the head)"},
	    {3 * W, "into the head"},
	    {1ULL << 40, "far outside"},
	    {UINT64_MAX, "2^64-1"},
	    {UINT64_MAX - 31, "2^64-32 (wraps when added)"},
	};
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		at = base_event(&e, s, topics);
		enc_set(&e, 3 * W, offs[k].v);
		ok(refuses(topics, 3, &e, e.len, -EINVAL), "submission offset %s: -EINVAL",
		   offs[k].what);
	}
	at = base_event(&e, s, topics);
	enc_set(&e, 3 * W, e.len);
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "submission offset = data length: -EINVAL");
	at = base_event(&e, s, topics);
	enc_set(&e, 3 * W, e.len - 2 * W);
	ok(refuses(topics, 3, &e, e.len, -EINVAL),
	   "submission offset leaving less than its head: -EINVAL");
	at = base_event(&e, s, topics);
	set_high(&e, 3 * W);
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "submission offset with a high byte: -EINVAL");
	for (int part = 0; part < 2; part++) {
		size_t word = at.sub + (size_t)(part + 1) * W;
		const char *name = part ? "nodes" : "tags";

		at = base_event(&e, s, topics);
		enc_set(&e, word, e.len - at.sub);
		ok(refuses(topics, 3, &e, e.len, -EINVAL), "%s offset at the end: -EINVAL", name);
		enc_set(&e, word, UINT64_MAX - 8);
		ok(refuses(topics, 3, &e, e.len, -EINVAL), "%s offset 2^64-9: -EINVAL", name);
		enc_set(&e, word, 2 * W);
		ok(refuses(topics, 3, &e, e.len, -EINVAL), "%s offset into the head: -EINVAL",
		   name);
		at = base_event(&e, s, topics);
		set_high(&e, word);
		ok(refuses(topics, 3, &e, e.len, -EINVAL), "%s offset with a high byte: -EINVAL",
		   name);
	}

	/* lengths */
	at = base_event(&e, s, topics);
	enc_set(&e, at.tags, CHAIN_TAGS_MAX + 1);
	ok(refuses(topics, 3, &e, e.len, -E2BIG), "tags length CHAIN_TAGS_MAX + 1: -E2BIG");
	enc_set(&e, at.tags, UINT64_MAX);
	ok(refuses(topics, 3, &e, e.len, -E2BIG), "tags length 2^64-1: -E2BIG");
	set_high(&e, at.tags);
	ok(refuses(topics, 3, &e, e.len, -E2BIG), "tags length 2^255 + ...: -E2BIG");
	enc_set(&e, at.tags, 41 + 2 * W);
	ok(refuses(topics, 3, &e, at.nodes, -EINVAL),
	   "tags length past the end of the data: -EINVAL");
	at = base_event(&e, s, topics);
	enc_set(&e, at.nodes, CODEC_MAX_NODES + 1);
	ok(refuses(topics, 3, &e, e.len, -E2BIG), "65 nodes: -E2BIG");
	enc_set(&e, at.nodes, UINT64_MAX);
	ok(refuses(topics, 3, &e, e.len, -E2BIG), "2^64-1 nodes: -E2BIG");
	set_high(&e, at.nodes);
	ok(refuses(topics, 3, &e, e.len, -E2BIG), "2^255 nodes: -E2BIG");
	enc_set(&e, at.nodes, 4);
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "4 nodes where 3 are: -EINVAL");
	{
		struct chain_submission *big = malloc(sizeof(*big));

		memcpy(big, s, sizeof(*s));
		big->nnodes = CODEC_MAX_NODES;
		for (size_t i = 0; i < CODEC_MAX_NODES; i++)
			big->nodes[i].height = (unsigned)(63 - i);
		big->tags_len = CHAIN_TAGS_MAX;
		enc_event(&e, 1, 2, 3, big, CANONICAL);
		ok(decode(topics, 3, &e, e.len, ev) == 0 && same_sub(big, &ev->sub),
		   "64 nodes and CHAIN_TAGS_MAX bytes of tags: accepted");
		free(big);
	}

	/* heights, padding */
	at = base_event(&e, s, topics);
	enc_set(&e, at.nodes + 2 * W, 64);
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "a node height of 64: -EINVAL");
	enc_set(&e, at.nodes + 2 * W, 63);
	ok(decode(topics, 3, &e, e.len, ev) == 0 && ev->sub.nodes[0].height == 63,
	   "a node height of 63: accepted");
	set_high(&e, at.nodes + 2 * W);
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "a height with a high byte: -EINVAL");
	at = base_event(&e, s, topics);
	e.p[at.tags + W + 40] = 1;
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "nonzero padding after the tags: -EINVAL");
	at = base_event(&e, s, topics);
	e.p[at.tags + W + 63] = 0x80;
	ok(refuses(topics, 3, &e, e.len, -EINVAL), "nonzero last padding byte: -EINVAL");

	/* random damage: never a crash, any answer is one of the documented ones */
	good = 1;
	tap_seed(0xdead);
	for (int i = 0; i < 20000; i++) {
		int r;

		at = base_event(&e, s, topics);
		for (int k = 0; k < 1 + (int)(tap_rand() % 4); k++)
			e.p[tap_rand() % e.len] = (uint8_t)tap_rand();
		r = decode(topics, 3, &e, e.len - tap_rand() % 3 * (tap_rand() % 40), ev);
		good &= r == 0 || r == -EINVAL || r == -E2BIG || r == -EOVERFLOW;
	}
	ok(good, "20000 randomly damaged events: 0, -EINVAL, -E2BIG or -EOVERFLOW");
	free(e.p);
	free(ev);
	free(s);
}

/* ---- return data ------------------------------------------------------------------------ */

static void test_returns(void)
{
	uint8_t d[5 * W] = {0}, a[20], b[20], h[W];
	struct chain_abi_submit_return sr, keep;
	uint64_t v = 9;

	d[W - 1] = 42;
	ok(chain_abi_decode_u64(d, W, &v) == 0 && v == 42, "a uint256 view: 42");
	v = 9;
	ok(chain_abi_decode_u64(d, W - 1, &v) == -EINVAL &&
	       chain_abi_decode_u64(d, W + 1, &v) == -EINVAL &&
	       chain_abi_decode_u64(d, 0, &v) == -EINVAL && v == 9,
	   "a uint256 view of 31, 33 or 0 bytes: -EINVAL, untouched");
	d[0] = 1;
	ok(chain_abi_decode_u64(d, W, &v) == -EOVERFLOW && v == 9,
	   "a uint256 past 64 bits: -EOVERFLOW");
	ok(chain_abi_decode_bytes32(d, W, h) == 0 && !memcmp(h, d, W), "a bytes32 view");
	ok(chain_abi_decode_bytes32(d, 64, h) == -EINVAL, "a bytes32 view of 64 bytes: -EINVAL");
	tap_fill(a, 20);
	chain_abi_put_address(d, a);
	ok(chain_abi_decode_address(d, W, b) == 0 && !memcmp(a, b, 20), "an address view");
	d[3] = 1;
	memset(b, 0, 20);
	ok(chain_abi_decode_address(d, W, b) == -EINVAL && b[0] == 0 && b[19] == 0,
	   "an address view with high bytes set: -EINVAL");

	memset(d, 0, sizeof(d));
	chain_abi_put_u64(d, 5);
	memset(d + W, 0xee, W);
	chain_abi_put_u64(d + 2 * W, 4096);
	chain_abi_put_u64(d + 3 * W, 16);
	ok(chain_abi_decode_submit_return(d, 4 * W, &sr) == 0 && sr.index == 5 &&
	       sr.digest[0] == 0xee && sr.digest[31] == 0xee && sr.start == 4096 &&
	       sr.sectors == 16,
	   "submit() return: (5, digest, 4096, 16)");
	memset(&keep, 0x33, sizeof(keep));
	sr = keep;
	ok(chain_abi_decode_submit_return(d, 3 * W, &sr) == -EINVAL &&
	       chain_abi_decode_submit_return(d, 5 * W, &sr) == -EINVAL &&
	       !memcmp(&sr, &keep, sizeof(sr)),
	   "submit() return of 3 or 5 words: -EINVAL, untouched");
	d[2 * W] = 1;
	ok(chain_abi_decode_submit_return(d, 4 * W, &sr) == -EOVERFLOW &&
	       !memcmp(&sr, &keep, sizeof(sr)),
	   "submit() return with startIndex past 64 bits: -EOVERFLOW");
}

/* ---- revert reasons --------------------------------------------------------------------- */

static size_t revert(uint8_t *out, uint32_t sel, const uint8_t *args, size_t n)
{
	out[0] = (uint8_t)(sel >> 24);
	out[1] = (uint8_t)(sel >> 16);
	out[2] = (uint8_t)(sel >> 8);
	out[3] = (uint8_t)sel;
	memcpy(out + 4, args, n);
	return 4 + n;
}

static int reason_is(const uint8_t *d, size_t n, const char *want)
{
	char buf[256];

	if (chain_abi_revert_reason(d, n, buf, sizeof(buf)) != 0)
		return 0;
	if (strcmp(buf, want) != 0)
		diag("got \"%s\", want \"%s\"", buf, want);
	return strcmp(buf, want) == 0;
}

static void test_revert(void)
{
	uint8_t args[5 * W], d[6 * W];
	char small[16];
	size_t n;

	ok(reason_is(NULL, 0, "reverted without a reason"), "no data: reverted without a reason");
	memset(args, 0, sizeof(args));
	chain_abi_put_u64(args, 0x20);
	chain_abi_put_u64(args + W, 10);
	memcpy(args + 2 * W, "bad\nfee\x01\xff!", 10);
	n = revert(d, CHAIN_ABI_SEL_ERROR, args, 3 * W);
	ok(reason_is(d, n,
		     "bad?fee?"
		     "?!"),
	   "Error(string): the string, non-printables as '?'");
	ok(reason_is(d, n - W, "reverted (selector 0x08c379a0, malformed)"),
	   "Error(string) cut short: malformed");
	chain_abi_put_u64(args + W, 1ULL << 40);
	n = revert(d, CHAIN_ABI_SEL_ERROR, args, 3 * W);
	ok(reason_is(d, n, "reverted (selector 0x08c379a0, malformed)"),
	   "Error(string) with a huge length: malformed");
	chain_abi_put_u64(args, UINT64_MAX - 3);
	n = revert(d, CHAIN_ABI_SEL_ERROR, args, 3 * W);
	ok(reason_is(d, n, "reverted (selector 0x08c379a0, malformed)"),
	   "Error(string) with a wrapping offset: malformed");
	chain_abi_put_u64(args, 0x20);
	chain_abi_put_u64(args + W, 0);
	n = revert(d, CHAIN_ABI_SEL_ERROR, args, 2 * W);
	ok(reason_is(d, n, "reverted with an empty reason"), "Error(\"\")");

	chain_abi_put_u64(args, 0x11);
	n = revert(d, CHAIN_ABI_SEL_PANIC, args, W);
	ok(reason_is(d, n, "panic 0x11 (arithmetic overflow)"), "Panic(0x11)");
	chain_abi_put_u64(args, 0x12);
	n = revert(d, CHAIN_ABI_SEL_PANIC, args, W);
	ok(reason_is(d, n, "panic 0x12 (division or modulo by zero)"), "Panic(0x12)");
	chain_abi_put_u64(args, 0x99);
	n = revert(d, CHAIN_ABI_SEL_PANIC, args, W);
	ok(reason_is(d, n, "panic 0x99"), "Panic with an unknown code");
	n = revert(d, CHAIN_ABI_SEL_INVALID_SUBMISSION, args, 0);
	ok(reason_is(d, n, "invalid submission (a Flow validity rule)"), "InvalidSubmission()");
	ok(chain_abi_revert_code(d, n) == -CHAIN_EINVALID_SUBMISSION,
	   "InvalidSubmission() is -CHAIN_EINVALID_SUBMISSION");
	{
		bool all = true;

		for (int k = 1; k <= CHAIN_EPORA_CAP - CHAIN_EPORA_OFF + 1; k++) {
			chain_abi_put_u64(args, (uint64_t)k);
			n = revert(d, CHAIN_ABI_SEL_PORA_REFUSED, args, W);
			all = all && chain_abi_revert_code(d, n) == -(CHAIN_EPORA_OFF + k - 1) &&
			      reason_is(d, n, chain_strerror(-(CHAIN_EPORA_OFF + k - 1)));
		}
		ok(all, "PoraRefused(1..11) are the CHAIN_EPORA_* codes in order, worded by "
			"chain_strerror");
		chain_abi_put_u64(args, 12);
		n = revert(d, CHAIN_ABI_SEL_PORA_REFUSED, args, W);
		ok(chain_abi_revert_code(d, n) == -CHAIN_EREVERTED &&
		       reason_is(d, n, "reverted (selector 0x422ef64a, malformed)"),
		   "PoraRefused(12): no such code, a plain revert");
		chain_abi_put_u64(args, 0);
		n = revert(d, CHAIN_ABI_SEL_PORA_REFUSED, args, W);
		ok(chain_abi_revert_code(d, n) == -CHAIN_EREVERTED, "PoraRefused(0) likewise");
		memset(args, 0xab, W);
		n = revert(d, CHAIN_ABI_SEL_MINER_ID_TAKEN, args, W);
		ok(chain_abi_revert_code(d, n) == -EEXIST &&
		       reason_is(
			   d, n,
			   "miner id "
			   "0xabababababababababababababababababababababababababababababababab "
			   "is already registered"),
		   "MinerIdTaken(id) is -EEXIST and names the id");
		ok(chain_abi_revert_code(d, 3) == -CHAIN_EREVERTED &&
		       chain_abi_revert_code(NULL, 0) == -CHAIN_EREVERTED,
		   "short or no revert data: a plain revert");
	}

	chain_abi_put_u64(args, 2384);
	chain_abi_put_u64(args + W, 5);
	chain_abi_put_u64(args + 2 * W, 100);
	n = revert(d, CHAIN_ABI_SEL_NOT_ENOUGH_FEE, args, 3 * W);
	ok(reason_is(d, n,
		     "not enough fee: 5 sectors at 2384 wei per sector need 11920 wei, paid 100"),
	   "NotEnoughFee(2384, 5, 100)");
	chain_abi_put_u64(args, UINT64_MAX);
	chain_abi_put_u64(args + W, 2);
	n = revert(d, CHAIN_ABI_SEL_NOT_ENOUGH_FEE, args, 3 * W);
	ok(reason_is(d, n,
		     "not enough fee: 2 sectors at 18446744073709551615 wei per sector need "
		     "0x1fffffffffffffffe wei, paid 100"),
	   "NotEnoughFee whose product passes 64 bits: the product in hex");
	memset(args, 0xff, W);
	n = revert(d, CHAIN_ABI_SEL_NOT_ENOUGH_FEE, args, 3 * W);
	ok(reason_is(
	       d, n,
	       "not enough fee: 2 sectors at "
	       "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff wei per sector "
	       "need 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe wei, paid "
	       "100"),
	   "NotEnoughFee with a price of 2^256-1: hex");
	ok(reason_is(d, n - 1, "reverted (selector 0xf85c6482, malformed)"),
	   "NotEnoughFee one byte short: malformed");

	n = revert(d, 0xdeadbeefu, args, W);
	ok(reason_is(d, n, "reverted (selector 0xdeadbeef)"), "an unknown error: its selector");
	ok(reason_is(d, 3, "reverted (3 bytes of malformed revert data)"), "3 bytes of data");
	ok(chain_abi_revert_reason(d, n, small, sizeof(small)) == 0 && strlen(small) == 15,
	   "a small buffer: truncated and terminated");
	ok(chain_abi_revert_reason(d, n, NULL, 10) == -EINVAL &&
	       chain_abi_revert_reason(d, n, small, 0) == -EINVAL,
	   "no buffer: -EINVAL");
}

/* ---- the fuzz target's seeds ------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) != 0;
}

/* Valid events in each layout, some damaged ones, and truncations of the first. */
static int write_corpus(const char *dir)
{
	struct chain_submission *s = malloc(sizeof(*s));
	uint8_t topics[3][W];
	struct enc e = {0};
	char name[64];
	int err = 0;

	tap_seed(0xc0);
	for (int i = 0; i < 6; i++) {
		random_sub(s);
		if (i == 0) {
			s->tags_len = 5;
			s->nnodes = 2;
		}
		if (s->tags_len > 200)
			s->tags_len = 200; /* small seeds: the fuzzer grows them */
		if (s->nnodes > 8)
			s->nnodes = 8;
		if (i == 5) {
			for (size_t k = 0; k < CODEC_MAX_NODES; k++) {
				tap_fill(s->nodes[k].root, W);
				s->nodes[k].height = (unsigned)(63 - k);
			}
			s->nnodes = CODEC_MAX_NODES;
		}
		enc_event(&e, (uint64_t)i, 1024 * (uint64_t)i, 16, s, (enum layout)(i % 3));
		snprintf(name, sizeof(name), "valid-%d", i);
		err |= write_file(dir, name, e.p, e.len);
	}
	base_event(&e, s, topics);
	for (size_t cut = 1; cut < e.len; cut += e.len / 5) {
		snprintf(name, sizeof(name), "truncated-%zu", cut);
		err |= write_file(dir, name, e.p, cut);
	}
	e.p[3 * W + 24] = 1;
	err |= write_file(dir, "offset-outside", e.p, e.len);

	/* revert data, for the reason formatter */
	{
		uint8_t args[3 * W] = {0}, d[4 + 3 * W];

		chain_abi_put_u64(args, 0x20);
		chain_abi_put_u64(args + W, 5);
		memcpy(args + 2 * W, "oops!", 5);
		err |=
		    write_file(dir, "revert-error", d, revert(d, CHAIN_ABI_SEL_ERROR, args, 3 * W));
		chain_abi_put_u64(args, 2384);
		chain_abi_put_u64(args + W, 16);
		chain_abi_put_u64(args + 2 * W, 1000);
		err |= write_file(dir, "revert-fee", d,
				  revert(d, CHAIN_ABI_SEL_NOT_ENOUGH_FEE, args, 3 * W));
		chain_abi_put_u64(args, 0x32);
		err |= write_file(dir, "revert-panic", d, revert(d, CHAIN_ABI_SEL_PANIC, args, W));
	}
	free(e.p);
	free(s);
	return err;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-corpus")) {
		chain_abi_topic(CHAIN_ABI_SIG_SUBMIT_EVENT, topic0);
		return write_corpus(argv[2]);
	}
	test_constants();
	test_words();
	test_encode_submit();
	test_event_roundtrip();
	test_event_rejects();
	test_returns();
	test_revert();
	return tap_done();
}
