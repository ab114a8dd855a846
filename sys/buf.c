/* The bounded buffer: capacity doubles (at least 4 KiB), never past max. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sys/buf.h"

void sys_buf_init(struct sys_buf *b, size_t max)
{
	*b = (struct sys_buf){.max = max};
}

static int grow(struct sys_buf *b, size_t cap)
{
	uint8_t *p = realloc(b->data, cap);

	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int sys_buf_reserve(struct sys_buf *b, size_t want)
{
	if (want > b->max)
		return -E2BIG;
	return want > b->cap ? grow(b, want) : 0;
}

int sys_buf_append(struct sys_buf *b, const void *data, size_t len)
{
	if (len > b->max - b->len)
		return -E2BIG;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + len)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		if (grow(b, cap) < 0)
			return -ENOMEM;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

uint8_t *sys_buf_take(struct sys_buf *b, size_t *ret_len)
{
	uint8_t *p = b->data;

	if (ret_len)
		*ret_len = b->len;
	*b = (struct sys_buf){.max = b->max};
	return p;
}

void sys_buf_reset(struct sys_buf *b)
{
	free(sys_buf_take(b, NULL));
}

void sys_buf_free(struct sys_buf *b)
{
	if (b)
		sys_buf_reset(b);
}
