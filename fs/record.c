/*
 * The volume's records: keys, the inode record codec, and reading content made of
 * extents. Shared by the mount and the command line (zgfs cat --version).
 *
 * Inode record, big-endian: u8 format (1); u32 mode, uid, gid, nlink; u64 size;
 * 3 × (i64 sec, u32 nsec) for atime, mtime, ctime; u64 parent; u32 n extents, each
 * u64 tx_seq, offset, length; u32 target length, target bytes. Nothing may follow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/endian.h"
#include "codec/keccak.h"
#include "codec/merkle.h"
#include "fs/fs.h"
#include "fs/limits.h"

#define RECORD_FORMAT 1

void fs_volume_stream(const char *name, uint8_t ret_stream[NODE_STREAM_ID_SIZE])
{
	struct codec_keccak k;

	codec_keccak_init(&k);
	codec_keccak_update(&k, "zgfs volume ", 12);
	codec_keccak_update(&k, name, strlen(name));
	codec_keccak_final(&k, ret_stream);
}

size_t fs_key_super(uint8_t key[FS_KEY_MAX])
{
	key[0] = 'S';
	return 1;
}

size_t fs_key_inode(uint8_t key[FS_KEY_MAX], uint64_t ino)
{
	key[0] = 'I';
	codec_put_be64(key + 1, ino);
	return 9;
}

size_t fs_key_dirent(uint8_t key[FS_KEY_MAX], uint64_t parent, const char *name, size_t len)
{
	key[0] = 'D';
	codec_put_be64(key + 1, parent);
	memcpy(key + 9, name, len);
	return 9 + len;
}

#define FIXED_SIZE (1 + 4 * 4 + 8 + 3 * 12 + 8 + 4 + 4)

int fs_record_encode(const struct fs_record *r, uint8_t **ret, size_t *ret_len)
{
	size_t len = FIXED_SIZE + r->nextents * 24 + r->target_len;
	uint8_t *p, *b;

	if (r->nextents > FS_EXTENTS_MAX || r->target_len > FS_SYMLINK_MAX)
		return -E2BIG;
	b = p = malloc(len);
	if (!b)
		return -ENOMEM;
	*p++ = RECORD_FORMAT;
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
	codec_put_be32(p, (uint32_t)r->nextents), p += 4;
	for (size_t i = 0; i < r->nextents; i++) {
		codec_put_be64(p, r->extents[i].tx_seq), p += 8;
		codec_put_be64(p, r->extents[i].offset), p += 8;
		codec_put_be64(p, r->extents[i].length), p += 8;
	}
	codec_put_be32(p, (uint32_t)r->target_len), p += 4;
	if (r->target_len)
		memcpy(p, r->target, r->target_len);
	*ret = b;
	*ret_len = len;
	return 0;
}

int fs_record_decode(const uint8_t *p, size_t len, struct fs_record *ret)
{
	struct fs_record r;
	const uint8_t *end = p + len;
	uint64_t total = 0;
	uint32_t n, tl;

	if (len < FIXED_SIZE || p[0] != RECORD_FORMAT)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	p++;
	r.mode = codec_get_be32(p), p += 4;
	r.uid = codec_get_be32(p), p += 4;
	r.gid = codec_get_be32(p), p += 4;
	r.nlink = codec_get_be32(p), p += 4;
	r.size = codec_get_be64(p), p += 8;
	r.atime_sec = (int64_t)codec_get_be64(p), p += 8;
	r.atime_nsec = codec_get_be32(p), p += 4;
	r.mtime_sec = (int64_t)codec_get_be64(p), p += 8;
	r.mtime_nsec = codec_get_be32(p), p += 4;
	r.ctime_sec = (int64_t)codec_get_be64(p), p += 8;
	r.ctime_nsec = codec_get_be32(p), p += 4;
	r.parent = codec_get_be64(p), p += 8;
	n = codec_get_be32(p), p += 4;
	if (n > FS_EXTENTS_MAX || (size_t)(end - p) < (size_t)n * 24 + 4)
		return -EINVAL;
	if (n) {
		r.extents = malloc(n * sizeof(*r.extents));
		if (!r.extents)
			return -ENOMEM;
	}
	r.nextents = n;
	for (uint32_t i = 0; i < n; i++) {
		r.extents[i].tx_seq = codec_get_be64(p), p += 8;
		r.extents[i].offset = codec_get_be64(p), p += 8;
		r.extents[i].length = codec_get_be64(p), p += 8;
		total += r.extents[i].length;
	}
	tl = codec_get_be32(p), p += 4;
	if (tl > FS_SYMLINK_MAX || (size_t)(end - p) != tl || total != r.size ||
	    r.atime_nsec >= 1000000000u || r.mtime_nsec >= 1000000000u ||
	    r.ctime_nsec >= 1000000000u) {
		free(r.extents);
		return -EINVAL;
	}
	if (tl) {
		r.target = malloc(tl);
		if (!r.target) {
			free(r.extents);
			return -ENOMEM;
		}
		memcpy(r.target, p, tl);
	}
	r.target_len = tl;
	*ret = r;
	return 0;
}

void fs_record_release(struct fs_record *r)
{
	if (!r)
		return;
	free(r->extents);
	free(r->target);
	r->extents = NULL;
	r->target = NULL;
	r->nextents = r->target_len = 0;
}

ssize_t fs_read_extents(struct node *n, const struct fs_extent *ext, size_t next, uint64_t off,
			void *buf, size_t len, uint64_t *ret_failed_seq)
{
	uint8_t *out = buf;
	size_t done = 0;
	uint64_t start = 0;

	for (size_t i = 0; i < next && done < len; i++) {
		uint64_t elen = ext[i].length;

		if (off + done >= start + elen) {
			start += elen;
			continue;
		}
		/* Within this extent: from (off + done - start) for as much as it holds. */
		while (done < len && off + done < start + elen) {
			uint64_t rel = off + done - start;
			size_t want = len - done, got = 0;
			int r;

			if (want > elen - rel)
				want = (size_t)(elen - rel);
			r = node_read(n, ext[i].tx_seq, ext[i].offset + rel, out + done, want, &got);
			if (r == 0 && got == 0)
				r = -EIO; /* the entry is shorter than its extent says */
			if (r < 0) {
				if (ret_failed_seq)
					*ret_failed_seq = ext[i].tx_seq;
				return r;
			}
			done += got;
		}
		start += elen;
	}
	return (ssize_t)done;
}

int fs_content_root(struct node *n, const struct fs_extent *ext, size_t next,
		    uint8_t ret_root[32])
{
	struct codec_merkle m;
	uint64_t size = 0, off = 0;
	uint8_t *buf;
	int r;

	for (size_t i = 0; i < next; i++)
		size += ext[i].length;
	if (size == 0)
		return -ENODATA;
	if (next == 1 && ext[0].offset == 0) {
		struct node_file_info *fi = malloc(sizeof(*fi));

		if (!fi)
			return -ENOMEM;
		r = node_file_info_by_seq(n, ext[0].tx_seq, fi);
		if (r == 0 && fi->entry.length == ext[0].length) {
			memcpy(ret_root, fi->entry.root, 32);
			free(fi);
			return 0;
		}
		free(fi);
	}
	/* Several extents (appends): hash the content as one file. */
	buf = malloc(FS_HASH_BUFFER);
	if (!buf)
		return -ENOMEM;
	r = codec_merkle_init(&m);
	while (r == 0 && off < size) {
		ssize_t got = fs_read_extents(n, ext, next, off, buf, FS_HASH_BUFFER, NULL);

		if (got <= 0) {
			r = got < 0 ? (int)got : -EIO;
			break;
		}
		r = codec_merkle_update(&m, buf, (size_t)got);
		off += (uint64_t)got;
	}
	if (r == 0)
		r = codec_merkle_finish(&m, ret_root, NULL, NULL, NULL);
	codec_merkle_release(&m);
	free(buf);
	return r;
}
