/*
 * The Flow contract's ABI. Encoders mirror the layout solc and ethers write, so calldata is
 * byte-identical to the SDK's. The event decoder is the part that faces a remote node: it
 * follows offsets (the ABI allows any layout) but checks each against the data before use,
 * in size_t arithmetic arranged so that no sum can wrap, and it decodes into a local copy
 * so that the caller's struct is untouched on failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chain/abi_i.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "codec/limits.h"

#define W CHAIN_ABI_WORD

/* keccak256(CHAIN_ABI_SIG_SUBMIT_EVENT); the unit test checks it against the hash. */
static const uint8_t submit_topic[W] = {
    0x16, 0x7c, 0xe0, 0x4d, 0x2a, 0xa1, 0x98, 0x19, 0x94, 0xd3, 0xa3, 0x16, 0x95, 0xda, 0x0d, 0x78,
    0x53, 0x73, 0x33, 0x5b, 0x10, 0x78, 0xce, 0xc2, 0x39, 0xa1, 0xa3, 0xa2, 0xc7, 0x67, 0x55, 0x55,
};

void chain_abi_selector(const char *signature, uint8_t ret[4])
{
	uint8_t h[W];

	codec_keccak256(signature, strlen(signature), h);
	memcpy(ret, h, 4);
}

void chain_abi_topic(const char *signature, uint8_t ret[W])
{
	codec_keccak256(signature, strlen(signature), ret);
}

/* ---- words ------------------------------------------------------------------------------ */

void chain_abi_put_u64(uint8_t w[W], uint64_t v)
{
	memset(w, 0, W - 8);
	for (int i = 0; i < 8; i++)
		w[W - 1 - i] = (uint8_t)(v >> (8 * i));
}

void chain_abi_put_address(uint8_t w[W], const uint8_t address[CHAIN_ADDRESS_SIZE])
{
	memset(w, 0, W - CHAIN_ADDRESS_SIZE);
	memcpy(w + W - CHAIN_ADDRESS_SIZE, address, CHAIN_ADDRESS_SIZE);
}

void chain_abi_put_bytes32(uint8_t w[W], const uint8_t b[W])
{
	memmove(w, b, W);
}

static int zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int chain_abi_word_u64(const uint8_t w[W], uint64_t *ret)
{
	uint64_t v = 0;

	if (!zero(w, W - 8))
		return -EOVERFLOW;
	for (int i = W - 8; i < W; i++)
		v = v << 8 | w[i];
	*ret = v;
	return 0;
}

int chain_abi_word_address(const uint8_t w[W], uint8_t ret[CHAIN_ADDRESS_SIZE])
{
	if (!zero(w, W - CHAIN_ADDRESS_SIZE))
		return -EINVAL;
	memcpy(ret, w + W - CHAIN_ADDRESS_SIZE, CHAIN_ADDRESS_SIZE);
	return 0;
}

/* ---- encoding ----------------------------------------------------------------------------- */

static size_t pad32(size_t n)
{
	return (n + W - 1) / W * W;
}

static void put_u64(struct chain_wbuf *w, uint64_t v)
{
	uint8_t word[W];

	chain_abi_put_u64(word, v);
	chain_wbuf_put(w, word, W);
}

static void put_selector(struct chain_wbuf *w, const char *sig)
{
	uint8_t sel[4];

	chain_abi_selector(sig, sel);
	chain_wbuf_put(w, sel, 4);
}

/* Bytes of a Submission tuple: 3 head words, tags (length word + padded bytes), nodes
 * (count word + 2 words each). Callers keep tags_len and nnodes within their limits, so
 * this cannot wrap. */
static size_t submission_size(const struct chain_submission *s)
{
	return 3 * W + W + pad32(s->tags_len) + W + 2 * W * s->nnodes;
}

static void put_submission(struct chain_wbuf *w, const struct chain_submission *s)
{
	static const uint8_t zeros[W];
	size_t tags = s->tags_len <= CHAIN_TAGS_MAX ? s->tags_len : CHAIN_TAGS_MAX;
	size_t nnodes = s->nnodes <= CODEC_MAX_NODES ? s->nnodes : CODEC_MAX_NODES;

	put_u64(w, s->length);
	put_u64(w, 3 * W);
	put_u64(w, 3 * W + W + pad32(tags));
	put_u64(w, tags);
	chain_wbuf_put(w, s->tags, tags);
	chain_wbuf_put(w, zeros, pad32(tags) - tags);
	put_u64(w, nnodes);
	for (size_t i = 0; i < nnodes; i++) {
		chain_wbuf_put(w, s->nodes[i].root, W);
		put_u64(w, s->nodes[i].height);
	}
}

/* SubmissionData{data, submitter}: a dynamic tuple, so its first member is an offset. */
static void put_submission_data(struct chain_wbuf *w, const struct chain_submission *s,
				const uint8_t submitter[CHAIN_ADDRESS_SIZE])
{
	uint8_t word[W];

	put_u64(w, 2 * W);
	chain_abi_put_address(word, submitter);
	chain_wbuf_put(w, word, W);
	put_submission(w, s);
}

static int within_limits(const struct chain_submission *s)
{
	return s->tags_len <= CHAIN_TAGS_MAX && s->nnodes <= CODEC_MAX_NODES;
}

void chain_abi_encode_submit(const struct chain_submission *sub,
			     const uint8_t submitter[CHAIN_ADDRESS_SIZE], struct chain_wbuf *w)
{
	if (!w->err && !within_limits(sub))
		w->err = -EINVAL;
	put_selector(w, CHAIN_ABI_SIG_SUBMIT);
	put_u64(w, W); /* the one argument is dynamic: its offset */
	put_submission_data(w, sub, submitter);
}

void chain_abi_encode_batch_submit(const struct chain_submission *const *subs, size_t n,
				   const uint8_t submitter[CHAIN_ADDRESS_SIZE],
				   struct chain_wbuf *w)
{
	uint64_t off;

	for (size_t i = 0; i < n && !w->err; i++)
		if (!within_limits(subs[i]))
			w->err = -EINVAL;
	/* A calldata too large to hold its own offsets fails in the writer long before the
	 * offsets could wrap; stop early rather than compute them. */
	if (!w->err && n > (w->max - w->len) / (3 * W))
		w->err = -E2BIG;
	put_selector(w, CHAIN_ABI_SIG_BATCH_SUBMIT);
	put_u64(w, W);
	put_u64(w, n);
	/* Offsets of the elements count from the start of the element heads. */
	off = (uint64_t)n * W;
	for (size_t i = 0; i < n && !w->err; i++) {
		put_u64(w, off);
		off += 2 * W + submission_size(subs[i]);
	}
	for (size_t i = 0; i < n && !w->err; i++)
		put_submission_data(w, subs[i], submitter);
}

void chain_abi_append_selector(struct chain_wbuf *w, const char *sig)
{
	put_selector(w, sig);
}

void chain_abi_append_u64(struct chain_wbuf *w, uint64_t v)
{
	put_u64(w, v);
}

void chain_abi_put_dynamic(struct chain_wbuf *w, const void *p, size_t n)
{
	static const uint8_t zeros[W];

	put_u64(w, n);
	chain_wbuf_put(w, p, n);
	chain_wbuf_put(w, zeros, pad32(n) - n);
}

int chain_abi_decode_dynamic(const uint8_t *data, size_t len, size_t word, size_t head, size_t max,
			     const uint8_t **ret_p, size_t *ret_n)
{
	uint64_t off, n;

	if (!data || word >= head || len / W < head ||
	    chain_abi_word_u64(data + word * W, &off) < 0)
		return -EBADMSG;
	if (off % W || off < head * W || off > len - W || chain_abi_word_u64(data + off, &n) < 0 ||
	    n > max || n > len - off - W)
		return -EBADMSG;
	*ret_p = data + off + W;
	*ret_n = (size_t)n;
	return 0;
}

void chain_abi_encode_call0(const char *sig, struct chain_wbuf *w)
{
	put_selector(w, sig);
}

void chain_abi_encode_call_u64(const char *sig, uint64_t v, struct chain_wbuf *w)
{
	put_selector(w, sig);
	put_u64(w, v);
}

void chain_abi_encode_create_u64(const uint8_t *code, size_t len, uint64_t arg,
				 struct chain_wbuf *w)
{
	chain_wbuf_put(w, code, len);
	put_u64(w, arg);
}

void chain_abi_encode_create(const uint8_t *code, size_t len, const uint8_t *words, size_t n,
			     struct chain_wbuf *w)
{
	chain_wbuf_put(w, code, len);
	for (size_t i = 0; i < n; i++)
		chain_wbuf_put(w, words + i * CHAIN_ABI_WORD, CHAIN_ABI_WORD);
}

/* ---- decoding ----------------------------------------------------------------------------- */

/* The input and how far into it the decoded parts reach. */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t end;
};

/* Claims n bytes at pos: -EINVAL unless they lie inside the input. */
static int claim(struct rd *d, size_t pos, size_t n, const uint8_t **ret)
{
	if (pos > d->len || n > d->len - pos)
		return -EINVAL;
	if (pos + n > d->end)
		d->end = pos + n;
	*ret = d->p + pos;
	return 0;
}

/*
 * The absolute position of a dynamic part whose offset is the word at p, relative to base,
 * where the head referring to it is head bytes long. The part must start after the head
 * and inside the input; whether it also fits is for the caller's claim().
 */
static int follow(const struct rd *d, const uint8_t *p, size_t base, size_t head, size_t *ret)
{
	uint64_t off;

	if (chain_abi_word_u64(p, &off) < 0 || off < head || base > d->len || off > d->len - base)
		return -EINVAL;
	*ret = base + (size_t)off;
	return 0;
}

static int decode_submission(struct rd *d, size_t base, struct chain_submission *s)
{
	const uint8_t *head, *q;
	size_t tpos, npos;
	uint64_t n, v;
	size_t padded;
	int r;

	r = claim(d, base, 3 * W, &head);
	if (r < 0)
		return r;
	r = chain_abi_word_u64(head, &s->length);
	if (r < 0)
		return r;

	/* tags: a length word, then the bytes padded with zeros to a whole word */
	r = follow(d, head + W, base, 3 * W, &tpos);
	if (r == 0)
		r = claim(d, tpos, W, &q);
	if (r < 0)
		return r;
	if (chain_abi_word_u64(q, &n) < 0 || n > CHAIN_TAGS_MAX)
		return -E2BIG;
	padded = pad32((size_t)n);
	r = claim(d, tpos + W, padded, &q);
	if (r < 0)
		return r;
	if (!zero(q + n, padded - (size_t)n))
		return -EINVAL;
	memcpy(s->tags, q, (size_t)n);
	s->tags_len = (size_t)n;

	/* nodes: a count word, then (root, height) pairs in place (a static tuple) */
	r = follow(d, head + 2 * W, base, 3 * W, &npos);
	if (r == 0)
		r = claim(d, npos, W, &q);
	if (r < 0)
		return r;
	if (chain_abi_word_u64(q, &n) < 0 || n > CODEC_MAX_NODES)
		return -E2BIG;
	r = claim(d, npos + W, (size_t)n * 2 * W, &q);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++, q += 2 * W) {
		memcpy(s->nodes[i].root, q, W);
		if (chain_abi_word_u64(q + W, &v) < 0 || v >= 64)
			return -EINVAL;
		s->nodes[i].height = (unsigned)v;
	}
	s->nnodes = (size_t)n;
	return 0;
}

int chain_abi_decode_submit_event(const uint8_t topics[][W], size_t ntopics, const uint8_t *data,
				  size_t len, struct chain_abi_submit_event *ret)
{
	struct chain_abi_submit_event ev;
	struct rd d = {data, len, 0};
	const uint8_t *head;
	size_t spos;
	int r;

	if (!topics || ntopics != 3 || memcmp(topics[0], submit_topic, W) != 0)
		return -EINVAL;
	if (!data && len > 0)
		return -EINVAL;
	memset(&ev, 0, sizeof(ev));
	r = chain_abi_word_address(topics[1], ev.sender);
	if (r < 0)
		return r;
	memcpy(ev.identity, topics[2], W);

	r = claim(&d, 0, 4 * W, &head);
	if (r < 0)
		return r;
	if (chain_abi_word_u64(head, &ev.index) < 0 ||
	    chain_abi_word_u64(head + W, &ev.start) < 0 ||
	    chain_abi_word_u64(head + 2 * W, &ev.sectors) < 0)
		return -EOVERFLOW;
	r = follow(&d, head + 3 * W, 0, 4 * W, &spos);
	if (r == 0)
		r = decode_submission(&d, spos, &ev.sub);
	if (r < 0)
		return r;

	/* Past the furthest part: at most a partial word of zeros. */
	if (len - d.end >= W || !zero(data + d.end, len - d.end))
		return -EINVAL;
	memcpy(ret, &ev, sizeof(ev));
	return 0;
}

/* ---- return data -------------------------------------------------------------------------- */

int chain_abi_decode_u64(const uint8_t *data, size_t len, uint64_t *ret)
{
	if (!data || len != W)
		return -EINVAL;
	return chain_abi_word_u64(data, ret);
}

int chain_abi_decode_address(const uint8_t *data, size_t len, uint8_t ret[CHAIN_ADDRESS_SIZE])
{
	if (!data || len != W)
		return -EINVAL;
	return chain_abi_word_address(data, ret);
}

int chain_abi_decode_bytes32(const uint8_t *data, size_t len, uint8_t ret[W])
{
	if (!data || len != W)
		return -EINVAL;
	memcpy(ret, data, W);
	return 0;
}

int chain_abi_decode_submit_return(const uint8_t *data, size_t len,
				   struct chain_abi_submit_return *ret)
{
	struct chain_abi_submit_return v;

	if (!data || len != 4 * W)
		return -EINVAL;
	if (chain_abi_word_u64(data, &v.index) < 0 ||
	    chain_abi_word_u64(data + 2 * W, &v.start) < 0 ||
	    chain_abi_word_u64(data + 3 * W, &v.sectors) < 0)
		return -EOVERFLOW;
	memcpy(v.digest, data + W, W);
	*ret = v;
	return 0;
}

/* ---- revert data -------------------------------------------------------------------------- */

/* A big-endian number of n bytes: decimal when it fits in 64 bits, else hex. */
static void format_number(const uint8_t *b, size_t n, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i = 0, k;

	while (i < n && b[i] == 0)
		i++;
	if (n - i <= 8) {
		uint64_t v = 0;

		for (; i < n; i++)
			v = v << 8 | b[i];
		snprintf(out, size, "%" PRIu64, v);
		return;
	}
	if (size < 3)
		return;
	k = 0;
	out[k++] = '0';
	out[k++] = 'x';
	if (b[i] < 16 && k + 1 < size)
		out[k++] = digits[b[i++] & 15];
	for (; i < n && k + 2 < size; i++) {
		out[k++] = digits[b[i] >> 4];
		out[k++] = digits[b[i] & 15];
	}
	out[k] = 0;
}

/* out = a × b, 32-byte big-endian factors, 64-byte big-endian product. */
static void mul256(const uint8_t a[W], const uint8_t b[W], uint8_t out[2 * W])
{
	uint32_t acc[2 * W] = {0}; /* little-endian byte positions; at most 32 × 255² each */
	uint32_t carry = 0;

	for (size_t i = 0; i < W; i++)
		for (size_t j = 0; j < W; j++)
			acc[i + j] += (uint32_t)a[W - 1 - i] * b[W - 1 - j];
	for (size_t k = 0; k < 2 * W; k++) {
		uint32_t v = acc[k] + carry;

		out[2 * W - 1 - k] = (uint8_t)v;
		carry = v >> 8;
	}
}

static const char *panic_name(uint64_t code)
{
	switch (code) {
	case 0x00:
		return "generic compiler panic";
	case 0x01:
		return "assertion failed";
	case 0x11:
		return "arithmetic overflow";
	case 0x12:
		return "division or modulo by zero";
	case 0x21:
		return "invalid enum value";
	case 0x22:
		return "corrupt storage byte array";
	case 0x31:
		return "pop on an empty array";
	case 0x32:
		return "array index out of bounds";
	case 0x41:
		return "out of memory";
	case 0x51:
		return "call to an uninitialized function";
	default:
		return NULL;
	}
}

/* Error(string): 0 with the sanitized text in buf, or -EINVAL when it does not decode. */
static int error_string(const uint8_t *p, size_t len, char *buf, size_t size)
{
	uint64_t off, n;
	size_t k;

	if (len < W || chain_abi_word_u64(p, &off) < 0 || off < W || off > len - W)
		return -EINVAL;
	if (chain_abi_word_u64(p + off, &n) < 0 || n > len - off - W)
		return -EINVAL;
	if (n == 0) {
		snprintf(buf, size, "reverted with an empty reason");
		return 0;
	}
	p += off + W;
	for (k = 0; k < n && k + 1 < size; k++)
		buf[k] = p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '?';
	buf[k] = 0;
	return 0;
}

int chain_abi_revert_reason(const uint8_t *data, size_t len, char *buf, size_t size)
{
	char a[80], b[80], c[80], x[140];
	uint32_t sel;
	uint64_t code;

	if (!buf || size == 0 || (!data && len > 0))
		return -EINVAL;
	if (len == 0) {
		snprintf(buf, size, "reverted without a reason");
		return 0;
	}
	if (len < 4) {
		snprintf(buf, size, "reverted (%zu byte%s of malformed revert data)", len,
			 len == 1 ? "" : "s");
		return 0;
	}
	sel = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	data += 4;
	len -= 4;
	switch (sel) {
	case CHAIN_ABI_SEL_ERROR:
		if (error_string(data, len, buf, size) == 0)
			return 0;
		break;
	case CHAIN_ABI_SEL_PANIC:
		if (len != W)
			break;
		if (chain_abi_word_u64(data, &code) == 0 && panic_name(code))
			snprintf(buf, size, "panic 0x%02" PRIx64 " (%s)", code, panic_name(code));
		else if (chain_abi_word_u64(data, &code) == 0)
			snprintf(buf, size, "panic 0x%02" PRIx64, code);
		else {
			format_number(data, W, a, sizeof(a));
			snprintf(buf, size, "panic %s", a);
		}
		return 0;
	case CHAIN_ABI_SEL_INVALID_SUBMISSION:
		if (len != 0)
			break;
		snprintf(buf, size, "invalid submission (a Flow validity rule)");
		return 0;
	case CHAIN_ABI_SEL_NOT_ENOUGH_FEE: {
		uint8_t need[2 * W];

		if (len != 3 * W)
			break;
		/* (price per sector, sectors, paid): the contract's own argument order */
		format_number(data, W, a, sizeof(a));
		format_number(data + W, W, b, sizeof(b));
		format_number(data + 2 * W, W, c, sizeof(c));
		mul256(data, data + W, need);
		format_number(need, sizeof(need), x, sizeof(x));
		snprintf(buf, size,
			 "not enough fee: %s sectors at %s wei per sector need %s wei, paid %s", b,
			 a, x, c);
		return 0;
	}
	case CHAIN_ABI_SEL_PORA_REFUSED: {
		int err = chain_abi_revert_code(data - 4, len + 4);

		if (err == -CHAIN_EREVERTED)
			break;
		snprintf(buf, size, "%s", chain_strerror(err));
		return 0;
	}
	case CHAIN_ABI_SEL_MINER_ID_TAKEN: {
		char id[2 * W + 3];

		if (len != W)
			break;
		codec_hex_encode(data, W, id);
		snprintf(buf, size, "miner id %s is already registered", id);
		return 0;
	}
	default:
		snprintf(buf, size, "reverted (selector 0x%08" PRIx32 ")", sel);
		return 0;
	}
	snprintf(buf, size, "reverted (selector 0x%08" PRIx32 ", malformed)", sel);
	return 0;
}

int chain_abi_revert_code(const uint8_t *data, size_t len)
{
	uint32_t sel;
	uint64_t k;

	if (!data || len < 4)
		return -CHAIN_EREVERTED;
	sel = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	if (sel == CHAIN_ABI_SEL_INVALID_SUBMISSION && len == 4)
		return -CHAIN_EINVALID_SUBMISSION;
	if (sel == CHAIN_ABI_SEL_MINER_ID_TAKEN && len == 4 + W)
		return -EEXIST;
	if (sel == CHAIN_ABI_SEL_PORA_REFUSED && len == 4 + W &&
	    chain_abi_word_u64(data + 4, &k) == 0 && k >= 1 &&
	    k <= CHAIN_EPORA_CAP - CHAIN_EPORA_OFF + 1)
		return -(int)(CHAIN_EPORA_OFF + k - 1);
	return -CHAIN_EREVERTED;
}
