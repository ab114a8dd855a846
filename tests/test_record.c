/*
 * test_record.c - the inode record codec (fs/record.c) and the xattr lists records carry
 * (fs/xattr.h): old formats still decode, the encoder picks format 2 unless a record needs
 * 3, and xattr changes follow Linux's rules (flags, name and value bounds, ENOSPC).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "codec/endian.h"
#include "fs/fs.h"
#include "fs/limits.h"
#include "fs/xattr.h"
#include "tap.h"

static int roundtrip(const struct fs_record *r, struct fs_record *ret, uint8_t *ret_format)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int e = fs_record_encode(r, &b, &len);

	if (e == 0) {
		*ret_format = b[0];
		e = fs_record_decode(b, len, ret);
	}
	free(b);
	return e;
}

static void records(void)
{
	struct fs_extent ext[2] = {{5, 0, 100}, {FS_HOLE, 0, 28}};
	struct fs_record r = {.mode = S_IFREG | 0644,
			      .nlink = 3,
			      .size = 128,
			      .nextents = 2,
			      .extents = ext,
			      .prev = 4,
			      .flags = FS_REC_APPEND};
	struct fs_record back;
	uint8_t fmt = 0, *b = NULL, *list = NULL;
	size_t len = 0, llen = 0;

	ok(roundtrip(&r, &back, &fmt) == 0 && fmt == 2 && back.nlink == 3 && back.prev == 4 &&
	       back.nextents == 2 && back.extents[1].tx_seq == FS_HOLE && !back.xattrs,
	   "a record without an rdev or xattrs is written as format 2 and reads back");
	fs_record_release(&back);
	r = (struct fs_record){.mode = S_IFCHR | 0600, .nlink = 1, .rdev = makedev(1, 3)};
	ok(roundtrip(&r, &back, &fmt) == 0 && fmt == 3 && back.rdev == makedev(1, 3) &&
	       S_ISCHR(back.mode),
	   "a device's record is format 3 with its rdev");
	fs_record_release(&back);
	ok(fs_xattr_set(NULL, 0, "user.note", "hello", 5, 0, &list, &llen) == 0,
	   "set user.note on an empty list");
	r = (struct fs_record){.mode = S_IFLNK | 0777,
			       .nlink = 1,
			       .target = "t/x",
			       .target_len = 3,
			       .xattrs = list,
			       .xattrs_len = llen};
	ok(roundtrip(&r, &back, &fmt) == 0 && fmt == 3 && back.target_len == 3 &&
	       memcmp(back.target, "t/x", 3) == 0 && back.xattrs_len == llen &&
	       memcmp(back.xattrs, list, llen) == 0,
	   "a symlink with xattrs: target and list both read back");
	fs_record_release(&back);
	/* Format 1 (no flags, prev, holes) still decodes: write one by hand. */
	r = (struct fs_record){
	    .mode = S_IFREG | 0600, .nlink = 1, .size = 100, .nextents = 1, .extents = ext};
	ok(fs_record_encode(&r, &b, &len) == 0, "encode for the format 1 check");
	memmove(b + 1 + 16 + 8 + 36 + 8, b + 1 + 16 + 8 + 36 + 8 + 12,
		len - (1 + 16 + 8 + 36 + 8 + 12));
	b[0] = 1;
	ok(fs_record_decode(b, len - 12, &back) == 0 && back.size == 100 && back.nextents == 1 &&
	       back.flags == 0,
	   "format 1 still decodes");
	fs_record_release(&back);
	b[0] = 4;
	ok(fs_record_decode(b, len - 12, &back) == -EINVAL, "an unknown format is refused");
	free(b);
	/* A format 3 record whose list is out of order is refused. */
	r = (struct fs_record){
	    .mode = S_IFREG | 0600, .nlink = 1, .xattrs = list, .xattrs_len = llen};
	ok(fs_record_encode(&r, &b, &len) == 0, "encode for the bad-list check");
	b[len - llen] = 0; /* a zero-length name */
	ok(fs_record_decode(b, len, &back) == -EINVAL, "a malformed xattr list is refused");
	b[len - llen] = (uint8_t)(llen + 1);
	ok(fs_record_decode(b, len, &back) == -EINVAL, "an xattr running past the record");
	free(b);
	free(list);
}

static void xattrs(void)
{
	static char big[FS_XATTR_VALUE_MAX + 1];
	char name[FS_XATTR_NAME_MAX + 2], names[64];
	uint8_t *a = NULL, *b = NULL, *c = NULL;
	size_t alen = 0, blen = 0, clen = 0, n;
	const uint8_t *v;
	size_t vlen;
	int e;

	ok(fs_xattr_set(NULL, 0, "user.b", "2", 1, XATTR_CREATE, &a, &alen) == 0 &&
	       fs_xattr_set(a, alen, "user.a", "1", 1, 0, &b, &blen) == 0,
	   "set user.b (XATTR_CREATE), then user.a");
	n = fs_xattr_list(b, blen, NULL, NULL, names, sizeof(names));
	ok(n == 14 && memcmp(names, "user.a\0user.b\0", 14) == 0, "listed in name order");
	ok(fs_xattr_get(b, blen, "user.a", &v, &vlen) == 0 && vlen == 1 && v[0] == '1',
	   "get user.a");
	ok(fs_xattr_get(b, blen, "user.c", &v, &vlen) == -ENODATA,
	   "get of a missing name: ENODATA");
	ok(fs_xattr_set(b, blen, "user.a", "x", 1, XATTR_CREATE, &c, &clen) == -EEXIST,
	   "XATTR_CREATE of a present name: EEXIST");
	ok(fs_xattr_set(b, blen, "user.c", "x", 1, XATTR_REPLACE, &c, &clen) == -ENODATA,
	   "XATTR_REPLACE of a missing name: ENODATA");
	ok(fs_xattr_set(b, blen, "user.a", "", 0, XATTR_REPLACE, &c, &clen) == 0 &&
	       fs_xattr_get(c, clen, "user.a", &v, &vlen) == 0 && vlen == 0,
	   "XATTR_REPLACE with an empty value");
	free(c);
	ok(fs_xattr_set(b, blen, "user.a", "x", 1, 4, &c, &clen) == -EINVAL,
	   "unknown flags: EINVAL");
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[FS_XATTR_NAME_MAX + 1] = '\0';
	ok(fs_xattr_set(b, blen, name, "x", 1, 0, &c, &clen) == -ERANGE, "a 256-byte name: ERANGE");
	name[FS_XATTR_NAME_MAX] = '\0';
	ok(fs_xattr_set(b, blen, name, "x", 1, 0, &c, &clen) == 0, "a 255-byte name is kept");
	free(c);
	ok(fs_xattr_set(b, blen, "user.big", big, sizeof(big), 0, &c, &clen) == -E2BIG,
	   "a value of 64 KiB + 1: E2BIG");
	ok(fs_xattr_set(b, blen, "user.big", big, sizeof(big) - 1, 0, &c, &clen) == 0,
	   "a value of 64 KiB is kept");
	e = fs_xattr_set(c, clen, "user.big2", big, sizeof(big) - 1, 0, &a, &alen);
	ok(e == -ENOSPC, "a second 64 KiB value passes the inode's room: ENOSPC (%d)", e);
	free(c);
	ok(fs_xattr_remove(b, blen, "user.a", &c, &clen) == 0 &&
	       fs_xattr_get(c, clen, "user.a", &v, &vlen) == -ENODATA &&
	       fs_xattr_get(c, clen, "user.b", &v, &vlen) == 0,
	   "remove user.a keeps user.b");
	ok(fs_xattr_remove(c, clen, "user.a", &a, &alen) == -ENODATA, "remove twice: ENODATA");
	free(c);
	ok(fs_xattr_kind("user.zg.root") == FS_XATTR_VIRTUAL &&
	       fs_xattr_kind("user.x") == FS_XATTR_STORED &&
	       fs_xattr_kind("trusted.x") == FS_XATTR_STORED &&
	       fs_xattr_kind("security.x") == FS_XATTR_STORED &&
	       fs_xattr_kind("system.posix_acl_access") == FS_XATTR_UNSUPPORTED &&
	       fs_xattr_kind("other") == FS_XATTR_UNSUPPORTED,
	   "namespaces: user.zg.* virtual; user, trusted, security kept; others not");
	free(a);
	free(b);
}

int main(void)
{
	records();
	xattrs();
	return tap_done();
}
