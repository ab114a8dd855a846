/*
 * Extended attributes as a sorted list in the inode record (see xattr.h). Lists are small
 * (at most FS_XATTRS_MAX bytes) and change rarely, so every change builds a new list by
 * copying: simple, and a record shared by a shallow copy is never changed under a reader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "codec/endian.h"
#include "fs/limits.h"
#include "fs/xattr.h"

static bool has_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

enum fs_xattr_kind fs_xattr_kind(const char *name)
{
	if (has_prefix(name, "user.zg."))
		return FS_XATTR_VIRTUAL;
	if (has_prefix(name, "user.") || has_prefix(name, "trusted.") ||
	    has_prefix(name, "security."))
		return FS_XATTR_STORED;
	return FS_XATTR_UNSUPPORTED;
}

bool fs_xattr_privileged(const char *name)
{
	return has_prefix(name, "trusted.");
}

/* One entry of a list. */
struct entry {
	const uint8_t *name, *value;
	size_t nlen, vlen, size; /* size: the whole entry's bytes */
};

/* The entry at p (len bytes left); false when it does not fit. */
static bool entry_at(const uint8_t *p, size_t len, struct entry *e)
{
	if (len < 1 || len < 1 + (size_t)p[0] + 4)
		return false;
	e->nlen = p[0];
	e->name = p + 1;
	e->vlen = codec_get_be32(p + 1 + e->nlen);
	e->value = p + 1 + e->nlen + 4;
	if (e->vlen > len - 1 - e->nlen - 4)
		return false;
	e->size = 1 + e->nlen + 4 + e->vlen;
	return true;
}

/* memcmp order of names, shorter first on a common prefix. */
static int name_cmp(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

int fs_xattr_check(const uint8_t *p, size_t len)
{
	struct entry e, prev = {0};
	size_t off = 0, list = 0;

	if (len > FS_XATTRS_MAX)
		return -EINVAL;
	while (off < len) {
		if (!entry_at(p + off, len - off, &e) || e.nlen == 0 ||
		    e.vlen > FS_XATTR_VALUE_MAX || memchr(e.name, 0, e.nlen) ||
		    (off && name_cmp(prev.name, prev.nlen, (const char *)e.name, e.nlen) >= 0))
			return -EINVAL;
		list += e.nlen + 1;
		prev = e;
		off += e.size;
	}
	return list > FS_XATTR_LIST_MAX ? -EINVAL : 0;
}

/* The offset of name's entry, or of the first entry after it (*ret_found false). */
static size_t find(const uint8_t *p, size_t len, const char *name, size_t nlen, bool *ret_found,
		   struct entry *ret)
{
	size_t off = 0;
	struct entry e;

	*ret_found = false;
	while (off < len && entry_at(p + off, len - off, &e)) {
		int c = name_cmp(e.name, e.nlen, name, nlen);

		if (c >= 0) {
			*ret_found = c == 0;
			*ret = e;
			return off;
		}
		off += e.size;
	}
	return len;
}

int fs_xattr_get(const uint8_t *p, size_t len, const char *name, const uint8_t **ret_value,
		 size_t *ret_len)
{
	struct entry e;
	bool found;

	find(p, len, name, strlen(name), &found, &e);
	if (!found)
		return -ENODATA;
	*ret_value = e.value;
	*ret_len = e.vlen;
	return 0;
}

static size_t list_bytes(const uint8_t *p, size_t len)
{
	size_t off = 0, n = 0;
	struct entry e;

	while (off < len && entry_at(p + off, len - off, &e)) {
		n += e.nlen + 1;
		off += e.size;
	}
	return n;
}

int fs_xattr_set(const uint8_t *p, size_t len, const char *name, const void *value, size_t vlen,
		 int flags, uint8_t **ret, size_t *ret_len)
{
	size_t nlen = strlen(name), off, old = 0, nsize, total;
	struct entry e;
	bool found;
	uint8_t *b, *q;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE) || flags == (XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (nlen == 0 || nlen > FS_XATTR_NAME_MAX)
		return -ERANGE;
	if (vlen > FS_XATTR_VALUE_MAX)
		return -E2BIG;
	off = find(p, len, name, nlen, &found, &e);
	if (found && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!found && (flags & XATTR_REPLACE))
		return -ENODATA;
	if (found)
		old = e.size;
	nsize = 1 + nlen + 4 + vlen;
	total = len - old + nsize;
	if (total > FS_XATTRS_MAX || (!found && list_bytes(p, len) + nlen + 1 > FS_XATTR_LIST_MAX))
		return -ENOSPC;
	b = q = malloc(total);
	if (!b)
		return -ENOMEM;
	if (off)
		memcpy(q, p, off); /* p may be NULL when the list is empty */
	q += off;
	*q++ = (uint8_t)nlen;
	memcpy(q, name, nlen), q += nlen;
	codec_put_be32(q, (uint32_t)vlen), q += 4;
	if (vlen)
		memcpy(q, value, vlen);
	q += vlen;
	if (len - off - old)
		memcpy(q, p + off + old, len - off - old);
	*ret = b;
	*ret_len = total;
	return 0;
}

int fs_xattr_remove(const uint8_t *p, size_t len, const char *name, uint8_t **ret, size_t *ret_len)
{
	struct entry e;
	bool found;
	size_t off = find(p, len, name, strlen(name), &found, &e), total;
	uint8_t *b = NULL;

	if (!found)
		return -ENODATA;
	total = len - e.size;
	if (total) {
		b = malloc(total);
		if (!b)
			return -ENOMEM;
		memcpy(b, p, off);
		memcpy(b + off, p + off + e.size, len - off - e.size);
	}
	*ret = b;
	*ret_len = total;
	return 0;
}

size_t fs_xattr_list(const uint8_t *p, size_t len, bool (*show)(void *ctx, const char *name),
		     void *ctx, char *buf, size_t size)
{
	char name[FS_XATTR_NAME_MAX + 1];
	size_t off = 0, n = 0;
	struct entry e;

	while (off < len && entry_at(p + off, len - off, &e)) {
		memcpy(name, e.name, e.nlen);
		name[e.nlen] = '\0';
		off += e.size;
		if (show && !show(ctx, name))
			continue;
		if (buf && n + e.nlen + 1 <= size)
			memcpy(buf + n, name, e.nlen + 1);
		n += e.nlen + 1;
	}
	return n;
}
