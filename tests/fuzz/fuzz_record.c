/*
 * Fuzz target: the inode record decoder (fs_record_decode(), fs/record.c) and the xattr
 * list it carries (fs/xattr.h). Any input must decode or be refused cleanly; a record that
 * decodes must encode to a record that decodes to the same fields, and to the same bytes
 * when the input was written in the format the encoder writes (format 4, whose varints
 * have one form each); every attribute of its list must be found by name.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "fs/xattr.h"
#include "tests/fuzz/fuzz.h"

static bool same(const struct fs_record *a, const struct fs_record *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid && a->nlink == b->nlink &&
	       a->size == b->size && a->atime_sec == b->atime_sec && a->mtime_sec == b->mtime_sec &&
	       a->ctime_sec == b->ctime_sec && a->atime_nsec == b->atime_nsec &&
	       a->mtime_nsec == b->mtime_nsec && a->ctime_nsec == b->ctime_nsec &&
	       a->parent == b->parent && a->flags == b->flags && a->prev == b->prev &&
	       a->rdev == b->rdev && a->nextents == b->nextents &&
	       (!a->nextents ||
		memcmp(a->extents, b->extents, a->nextents * sizeof(*a->extents)) == 0) &&
	       a->target_len == b->target_len &&
	       (!a->target_len || memcmp(a->target, b->target, a->target_len) == 0) &&
	       a->xattrs_len == b->xattrs_len &&
	       (!a->xattrs_len || memcmp(a->xattrs, b->xattrs, a->xattrs_len) == 0);
}

static bool show_all(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_record r, back;
	uint8_t *enc = NULL;
	size_t len = 0;
	char *names;

	if (fs_record_decode(data, size, &r) != 0)
		return 0;
	if (fs_record_encode(&r, &enc, &len) != 0 || fs_record_decode(enc, len, &back) != 0 ||
	    !same(&r, &back))
		abort();
	if (data[0] == enc[0] && (len != size || memcmp(enc, data, len) != 0))
		abort();
	/* Every listed name is found, with a value inside the list. */
	len = fs_xattr_list(r.xattrs, r.xattrs_len, show_all, NULL, NULL, 0);
	names = malloc(len + 1);
	if (!names)
		abort();
	fs_xattr_list(r.xattrs, r.xattrs_len, show_all, NULL, names, len);
	for (size_t off = 0; off < len; off += strlen(names + off) + 1) {
		const uint8_t *v;
		size_t vlen;

		if (fs_xattr_get(r.xattrs, r.xattrs_len, names + off, &v, &vlen) != 0 ||
		    v < r.xattrs || v + vlen > r.xattrs + r.xattrs_len)
			abort();
	}
	free(names);
	free(enc);
	fs_record_release(&r);
	fs_record_release(&back);
	return 0;
}
