/*
 * buf.h - one growable byte buffer with a maximum size, for every peer- or user-sized
 * input (curl's dynbuf). Invariants: len <= cap <= max; data is NULL until the first
 * append; appending past max fails with -E2BIG and leaves the buffer as it was. The
 * bytes are not NUL-terminated unless the caller appends a 0.
 *
 * Not thread-safe: one owner at a time. sys_buf_free() is NULL-safe and idempotent.
 */
#ifndef SYS_BUF_H
#define SYS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct sys_buf {
	uint8_t *data;
	size_t len, cap, max;
};

/* An empty buffer that will hold at most max bytes. */
void sys_buf_init(struct sys_buf *b, size_t max);

/* Appends len bytes: 0, -E2BIG (past max; nothing appended), -ENOMEM. */
int sys_buf_append(struct sys_buf *b, const void *data, size_t len);

/* Makes room for want bytes in all (want <= max), so that appends up to it do not
 * reallocate: 0, -E2BIG (want > max; nothing changed), -ENOMEM. */
int sys_buf_reserve(struct sys_buf *b, size_t want);

/* Hands the bytes over (caller frees with free(3); NULL when empty) and empties b. */
uint8_t *sys_buf_take(struct sys_buf *b, size_t *ret_len);

/* Drops the bytes, keeps max. */
void sys_buf_reset(struct sys_buf *b);

void sys_buf_free(struct sys_buf *b);

#endif
