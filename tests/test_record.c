/*
 * test_record.c - the inode record codec (fs/record.c) and the xattr lists records carry
 * (fs/xattr.h): format 4 (varints) round-trips field for field and refuses every cut,
 * broken or non-shortest varint; formats 1 to 3, as older mounts wrote them, still decode;
 * and xattr changes follow Linux's rules (flags, name and value bounds, ENOSPC).
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

/* Formats 2 and 3 as they were written before format 4, by hand: the reference for the
 * decoder's old path. Format 3 when the record has an rdev or xattrs. */
static size_t encode_v23(const struct fs_record *r, uint8_t *b)
{
	bool v3 = r->rdev || r->xattrs_len;
	uint8_t *p = b;

	*p++ = v3 ? 3 : 2;
	codec_put_be32(p, r->mode), p += 4;
	codec_put_be32(p, r->uid), p += 4;
	codec_put_be32(p, r->gid), p += 4;
	codec_put_be32(p, r->nlink), p += 4;
	codec_put_be64(p, r->size), p += 8;
	codec_put_be64(p, (uint64_t)r->atime_sec), p += 8;
	codec_put_be32(p, r->atime_nsec), p += 4;
	codec_put_be64(p, (uint64_t)r->mtime_sec), p += 8;
	codec_put_be32(p, r->mtime_nsec), p += 4;
	codec_put_be64(p, (uint64_t)r->ctime_sec), p += 8;
	codec_put_be32(p, r->ctime_nsec), p += 4;
	codec_put_be64(p, r->parent), p += 8;
	codec_put_be32(p, r->flags), p += 4;
	codec_put_be64(p, r->prev), p += 8;
	codec_put_be32(p, (uint32_t)r->nextents), p += 4;
	for (size_t i = 0; i < r->nextents; i++) {
		codec_put_be64(p, r->extents[i].tx_seq), p += 8;
		codec_put_be64(p, r->extents[i].offset), p += 8;
		codec_put_be64(p, r->extents[i].length), p += 8;
	}
	codec_put_be32(p, (uint32_t)r->target_len), p += 4;
	if (r->target_len)
		memcpy(p, r->target, r->target_len), p += r->target_len;
	if (v3) {
		codec_put_be64(p, r->rdev), p += 8;
		codec_put_be32(p, (uint32_t)r->xattrs_len), p += 4;
		if (r->xattrs_len)
			memcpy(p, r->xattrs, r->xattrs_len), p += r->xattrs_len;
	}
	return (size_t)(p - b);
}

/* Two records hold the same fields when they encode to the same bytes: format 4 has one
 * encoding per record and covers every field (the round trip of each field is checked
 * against the values it was given below). */
static bool same_fields(const struct fs_record *a, const struct fs_record *b)
{
	uint8_t *ea = NULL, *eb = NULL;
	size_t la = 0, lb = 0;
	bool same = fs_record_encode(a, &ea, &la) == 0 && fs_record_encode(b, &eb, &lb) == 0 &&
		    la == lb && memcmp(ea, eb, la) == 0;

	free(ea);
	free(eb);
	return same;
}

/* Every prefix of a record, and the record with a byte more, is refused. */
static bool refuses_cuts(const uint8_t *b, size_t len)
{
	uint8_t *more = malloc(len + 1);
	struct fs_record back;
	bool all = more != NULL;

	for (size_t n = 0; all && n < len; n++)
		all = fs_record_decode(b, n, &back) == -EINVAL;
	if (all) {
		memcpy(more, b, len);
		more[len] = 0;
		all = fs_record_decode(more, len + 1, &back) == -EINVAL;
	}
	free(more);
	return all;
}

static void records(void)
{
	struct fs_extent ext[3] = {{5, 0, 100}, {FS_HOLE, 0, 28}, {3, 1 << 20, 1}};
	struct fs_record r = {.mode = S_IFREG | 0644,
			      .uid = 1000,
			      .gid = 100,
			      .nlink = 3,
			      .size = 129,
			      .atime_sec = -5,
			      .atime_nsec = 999999999,
			      .mtime_sec = 1764700000,
			      .ctime_sec = INT64_MAX,
			      .parent = 1,
			      .nextents = 3,
			      .extents = ext,
			      .prev = 4,
			      .flags = FS_REC_APPEND};
	struct fs_extent many[64];
	struct fs_record back;
	uint8_t fmt = 0, *b = NULL, *list = NULL, old[2048];
	size_t len = 0, llen = 0;

	ok(roundtrip(&r, &back, &fmt) == 0 && fmt == 4 && same_fields(&r, &back) && !back.xattrs &&
	       back.uid == 1000 && back.gid == 100 && back.atime_sec == -5 &&
	       back.atime_nsec == 999999999 && back.ctime_sec == INT64_MAX && back.prev == 4 &&
	       back.flags == FS_REC_APPEND && back.nextents == 3 &&
	       back.extents[1].tx_seq == FS_HOLE && back.extents[2].tx_seq == 3 &&
	       back.extents[2].offset == 1 << 20 && back.size == 129,
	   "a record is written as format 4 and reads back field for field (a hole, a tx seq "
	   "lower than the one before, negative and largest times)");
	fs_record_release(&back);
	ok(fs_record_encode(&r, &b, &len) == 0 && refuses_cuts(b, len),
	   "format 4: every cut of the record, and a byte more, is refused");
	free(b);
	ok(fs_record_decode((const uint8_t[]){4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0x02},
			    11, &back) == -EINVAL,
	   "format 4: a varint of more than 64 bits is refused");
	/* 0x81 0x00 is 1 written in two bytes: not the shortest form. */
	ok(fs_record_decode((const uint8_t[]){4, 0x81, 0x00}, 3, &back) == -EINVAL,
	   "format 4: a varint not in its shortest form is refused");
	r.size = 130; /* the extents no longer add up to the size */
	ok(fs_record_encode(&r, &b, &len) == 0 && fs_record_decode(b, len, &back) == -EINVAL,
	   "format 4: a size the extents do not add up to is refused");
	free(b);
	r.size = 129;

	/* What a log written a line at a time costs: extents of 6 bytes, one entry apart. */
	for (size_t i = 0; i < 64; i++)
		many[i] = (struct fs_extent){100 + 2 * i, 0, 6};
	r = (struct fs_record){.mode = S_IFREG | 0644, .nlink = 1, .size = 6 * 64,
			       .mtime_sec = 1764700000, .ctime_sec = 1764700000,
			       .mtime_nsec = 123456789, .ctime_nsec = 123456789,
			       .parent = 1, .nextents = 64, .extents = many};
	if (fs_record_encode(&r, &b, &len) < 0)
		len = SIZE_MAX;
	llen = encode_v23(&r, old);
	ok(len <= 64 * 3 + 48 && llen > 64 * 24,
	   "a record of 64 small appends: %zu bytes in format 4, %zu in format 2", len, llen);
	llen = 0;
	free(b);

	r = (struct fs_record){.mode = S_IFCHR | 0600, .nlink = 1, .rdev = makedev(1, 3)};
	ok(roundtrip(&r, &back, &fmt) == 0 && fmt == 4 && back.rdev == makedev(1, 3) &&
	       S_ISCHR(back.mode),
	   "a device's record keeps its rdev");
	fs_record_release(&back);
	ok(fs_xattr_set(NULL, 0, "user.note", "hello", 5, 0, &list, &llen) == 0,
	   "set user.note on an empty list");
	r = (struct fs_record){.mode = S_IFLNK | 0777,
			       .nlink = 1,
			       .target = "t/x",
			       .target_len = 3,
			       .xattrs = list,
			       .xattrs_len = llen};
	ok(roundtrip(&r, &back, &fmt) == 0 && fmt == 4 && back.target_len == 3 &&
	       memcmp(back.target, "t/x", 3) == 0 && back.xattrs_len == llen &&
	       memcmp(back.xattrs, list, llen) == 0,
	   "a symlink with xattrs: target and list both read back");
	fs_record_release(&back);
	ok(fs_record_encode(&r, &b, &len) == 0, "encode for the bad-list check");
	b[len - llen] = 0; /* a zero-length name */
	ok(fs_record_decode(b, len, &back) == -EINVAL, "format 4: a malformed xattr list is refused");
	free(b);

	/* Formats 2 and 3, as older mounts wrote them, still decode. */
	len = encode_v23(&r, old);
	ok(old[0] == 3 && fs_record_decode(old, len, &back) == 0 && same_fields(&r, &back),
	   "format 3 (a symlink with xattrs) still decodes");
	fs_record_release(&back);
	old[len - llen] = (uint8_t)(llen + 1);
	ok(fs_record_decode(old, len, &back) == -EINVAL, "format 3: an xattr running past the record");
	r = (struct fs_record){.mode = S_IFREG | 0644, .nlink = 3, .size = 128, .nextents = 2,
			       .extents = ext, .prev = 4, .flags = FS_REC_APPEND};
	len = encode_v23(&r, old);
	ok(old[0] == 2 && fs_record_decode(old, len, &back) == 0 && same_fields(&r, &back),
	   "format 2 (a hole, a history link, flags) still decodes");
	fs_record_release(&back);
	/* Format 1 (no flags, prev, holes): format 2 without those 12 bytes. */
	r = (struct fs_record){
	    .mode = S_IFREG | 0600, .nlink = 1, .size = 100, .nextents = 1, .extents = ext};
	len = encode_v23(&r, old);
	memmove(old + 1 + 16 + 8 + 36 + 8, old + 1 + 16 + 8 + 36 + 8 + 12,
		len - (1 + 16 + 8 + 36 + 8 + 12));
	old[0] = 1;
	ok(fs_record_decode(old, len - 12, &back) == 0 && back.size == 100 && back.nextents == 1 &&
	       back.flags == 0,
	   "format 1 still decodes");
	fs_record_release(&back);
	old[0] = 5;
	ok(fs_record_decode(old, len - 12, &back) == -EINVAL, "an unknown format is refused");
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
