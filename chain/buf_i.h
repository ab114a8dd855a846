/*
 * buf_i.h - bounded big-endian writer and length-checked reader for the ledger's binary
 * records (blocks, state, entries, pools). Internal to chain/.
 *
 * Writer: grows on demand up to a maximum; the first failure (-ENOMEM, -E2BIG) sticks in
 * w->err and later writes do nothing, so encoders check once at the end.
 * Reader: every read past the end sets r->bad and yields zeros; decoders check once with
 * chain_rbuf_done(), which also rejects trailing bytes.
 */
#ifndef CHAIN_BUF_I_H
#define CHAIN_BUF_I_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chain_wbuf {
	uint8_t *data;
	size_t len, cap, max;
	int err;
};

static inline void chain_wbuf_init(struct chain_wbuf *w, size_t max)
{
	w->data = NULL;
	w->len = w->cap = 0;
	w->max = max;
	w->err = 0;
}

static inline void chain_wbuf_release(struct chain_wbuf *w)
{
	if (!w)
		return;
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
}

static inline void chain_wbuf_put(struct chain_wbuf *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (n > w->max - w->len) {
		w->err = -E2BIG;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *d;

		while (cap < w->len + n)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		d = realloc(w->data, cap);
		if (!d) {
			w->err = -ENOMEM;
			return;
		}
		w->data = d;
		w->cap = cap;
	}
	if (n)
		memcpy(w->data + w->len, p, n);
	w->len += n;
}

static inline void chain_wbuf_u8(struct chain_wbuf *w, uint8_t v)
{
	chain_wbuf_put(w, &v, 1);
}

static inline void chain_wbuf_u32(struct chain_wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	chain_wbuf_put(w, b, 4);
}

static inline void chain_wbuf_u64(struct chain_wbuf *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	chain_wbuf_put(w, b, 8);
}

struct chain_rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static inline void chain_rbuf_init(struct chain_rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

/* n bytes at the cursor, or NULL (and r->bad) when fewer remain. */
static inline const uint8_t *chain_rbuf_get(struct chain_rbuf *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	q = r->p + r->pos;
	r->pos += n;
	return q;
}

static inline void chain_rbuf_copy(struct chain_rbuf *r, void *out, size_t n)
{
	const uint8_t *q = chain_rbuf_get(r, n);

	if (q)
		memcpy(out, q, n);
	else
		memset(out, 0, n);
}

static inline uint8_t chain_rbuf_u8(struct chain_rbuf *r)
{
	const uint8_t *q = chain_rbuf_get(r, 1);

	return q ? q[0] : 0;
}

static inline uint32_t chain_rbuf_u32(struct chain_rbuf *r)
{
	const uint8_t *q = chain_rbuf_get(r, 4);

	if (!q)
		return 0;
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

static inline uint64_t chain_rbuf_u64(struct chain_rbuf *r)
{
	const uint8_t *q = chain_rbuf_get(r, 8);
	uint64_t v = 0;

	if (!q)
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | q[i];
	return v;
}

/* True when every read fit and every byte was consumed. */
static inline bool chain_rbuf_done(const struct chain_rbuf *r)
{
	return !r->bad && r->pos == r->len;
}

#endif
