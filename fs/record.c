/*
 * The volume's records: keys, the inode record codec, and reading content made of
 * extents. Shared by the mount and the command line (zgfs cat --version).
 *
 * Inode record, format 4 (what is written): u8 format; then unsigned LEB128 varints,
 * each in its shortest form: mode, uid, gid, nlink, size; for atime, mtime and ctime the
 * seconds (zigzag, they may be negative) and the nanoseconds; parent, flags, prev; the
 * number of extents, each one varint length << 1 | hole, and, unless it is a hole, the
 * zigzag difference of its tx seq from the previous entry's (0 before the first) and its
 * offset; target length, target bytes; rdev; xattrs length, the xattr list (fs/xattr.h).
 * Nothing may follow. An append of a few bytes adds three bytes (24 in format 3), which
 * matters because every commit writes the whole map: a log written a line at a time keeps
 * up to FS_COMPACT_EXTENTS extents between compactions, and each commit's record is stored
 * twice (in its KV entry and in the KV state).
 *
 * Older formats are still read. Big-endian: u8 format (2); u32 mode, uid, gid, nlink; u64
 * size; 3 × (i64 sec, u32 nsec) for atime, mtime, ctime; u64 parent; u32 flags; u64 prev;
 * u32 n extents, each u64 tx_seq, offset, length (tx_seq 2^64-1: a hole); u32 target
 * length, target bytes. Format 3 adds u64 rdev, u32 xattrs length, the xattr list. Format 1
 * lacks flags and prev.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/endian.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "codec/merkle.h"
#include "fs/fs.h"
#include "fs/limits.h"
#include "fs/xattr.h"

#define RECORD_FORMAT 4

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

/* Format 1 (no flags, no history link, no holes) is still read. */
#define FIXED_SIZE_V1 (1 + 4 * 4 + 8 + 3 * 12 + 8 + 4 + 4)
#define FIXED_SIZE (FIXED_SIZE_V1 + 4 + 8)

/* --- format 4: varints ----------------------------------------------------------- */

#define VARINT_MAX 10 /* bytes of a u64 in LEB128 */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* A reader of format 4 that refuses to pass the end and non-shortest varints. */
struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t get_varint(struct cursor *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64 && c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;

		if (shift == 63 && b > 1)
			break; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (b == 0 && shift)
				break; /* not the shortest form */
			return v;
		}
	}
	c->bad = true;
	return 0;
}

static uint32_t get_varint32(struct cursor *c)
{
	uint64_t v = get_varint(c);

	if (v > UINT32_MAX)
		c->bad = true;
	return (uint32_t)v;
}

static const uint8_t *get_bytes(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	return p;
}

int fs_record_encode(const struct fs_record *r, uint8_t **ret, size_t *ret_len)
{
	size_t max = 1 + 19 * VARINT_MAX + r->nextents * 3 * VARINT_MAX + r->target_len +
		     r->xattrs_len;
	uint64_t prev_seq = 0;
	uint8_t *p, *b;

	if (r->nextents > FS_EXTENTS_MAX || r->target_len > FS_SYMLINK_MAX ||
	    r->xattrs_len > FS_XATTRS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < r->nextents; i++)
		if (r->extents[i].length >> 63)
			return -E2BIG; /* no file is that large (off_t) */
	b = p = malloc(max);
	if (!b)
		return -ENOMEM;
	*p++ = RECORD_FORMAT;
	p = put_varint(p, r->mode);
	p = put_varint(p, r->uid);
	p = put_varint(p, r->gid);
	p = put_varint(p, r->nlink);
	p = put_varint(p, r->size);
	p = put_varint(p, zigzag(r->atime_sec));
	p = put_varint(p, r->atime_nsec);
	p = put_varint(p, zigzag(r->mtime_sec));
	p = put_varint(p, r->mtime_nsec);
	p = put_varint(p, zigzag(r->ctime_sec));
	p = put_varint(p, r->ctime_nsec);
	p = put_varint(p, r->parent);
	p = put_varint(p, r->flags);
	p = put_varint(p, r->prev);
	p = put_varint(p, r->nextents);
	for (size_t i = 0; i < r->nextents; i++) {
		const struct fs_extent *e = &r->extents[i];
		bool hole = e->tx_seq == FS_HOLE;

		p = put_varint(p, e->length << 1 | hole);
		if (hole)
			continue;
		p = put_varint(p, zigzag((int64_t)(e->tx_seq - prev_seq)));
		p = put_varint(p, e->offset);
		prev_seq = e->tx_seq;
	}
	p = put_varint(p, r->target_len);
	if (r->target_len)
		memcpy(p, r->target, r->target_len);
	p += r->target_len;
	p = put_varint(p, r->rdev);
	p = put_varint(p, r->xattrs_len);
	if (r->xattrs_len)
		memcpy(p, r->xattrs, r->xattrs_len);
	p += r->xattrs_len;
	*ret = b;
	*ret_len = (size_t)(p - b);
	return 0;
}

/* What every format must satisfy once its fields are read; frees r's arrays when not. */
static int record_check(struct fs_record *r)
{
	uint64_t total = 0;

	for (size_t i = 0; i < r->nextents; i++) {
		const struct fs_extent *e = &r->extents[i];

		/* Lengths add up without wrapping; a hole has no offset; no empty extents. */
		if (e->length == 0 || e->length > UINT64_MAX - total ||
		    e->offset > UINT64_MAX - e->length || (e->tx_seq == FS_HOLE && e->offset))
			goto bad;
		total += e->length;
	}
	if ((r->flags & ~FS_REC_FLAGS) || r->target_len > FS_SYMLINK_MAX || total != r->size ||
	    r->atime_nsec >= 1000000000u || r->mtime_nsec >= 1000000000u ||
	    r->ctime_nsec >= 1000000000u ||
	    (r->xattrs_len && fs_xattr_check(r->xattrs, r->xattrs_len) < 0))
		goto bad;
	return 0;
bad:
	fs_record_release(r);
	return -EINVAL;
}

/* Copies n bytes into a malloc'd block at *ret (NULL when n is 0). */
static int dup_bytes(const uint8_t *p, size_t n, void **ret)
{
	*ret = NULL;
	if (!n)
		return 0;
	*ret = malloc(n);
	if (!*ret)
		return -ENOMEM;
	memcpy(*ret, p, n);
	return 0;
}

static int decode_v4(const uint8_t *p, size_t len, struct fs_record *ret)
{
	struct cursor c = {p + 1, p + len, false};
	struct fs_record r;
	uint64_t n, prev_seq = 0;
	const uint8_t *bytes;
	int err;

	memset(&r, 0, sizeof(r));
	r.mode = get_varint32(&c);
	r.uid = get_varint32(&c);
	r.gid = get_varint32(&c);
	r.nlink = get_varint32(&c);
	r.size = get_varint(&c);
	r.atime_sec = unzigzag(get_varint(&c));
	r.atime_nsec = get_varint32(&c);
	r.mtime_sec = unzigzag(get_varint(&c));
	r.mtime_nsec = get_varint32(&c);
	r.ctime_sec = unzigzag(get_varint(&c));
	r.ctime_nsec = get_varint32(&c);
	r.parent = get_varint(&c);
	r.flags = get_varint32(&c);
	r.prev = get_varint(&c);
	n = get_varint(&c);
	/* Each extent takes at least one byte: bound the allocation by what is there. */
	if (c.bad || n > FS_EXTENTS_MAX || n > (uint64_t)(c.end - c.p))
		return -EINVAL;
	if (n && !(r.extents = malloc(n * sizeof(*r.extents))))
		return -ENOMEM;
	r.nextents = n;
	for (size_t i = 0; i < n && !c.bad; i++) {
		struct fs_extent *e = &r.extents[i];
		uint64_t v = get_varint(&c);

		e->length = v >> 1;
		if (v & 1) {
			*e = (struct fs_extent){FS_HOLE, 0, v >> 1};
			continue;
		}
		e->tx_seq = prev_seq + (uint64_t)unzigzag(get_varint(&c));
		e->offset = get_varint(&c);
		if (e->tx_seq == FS_HOLE)
			c.bad = true; /* a hole is said by its flag only */
		prev_seq = e->tx_seq;
	}
	r.target_len = get_varint(&c);
	bytes = c.bad || r.target_len > FS_SYMLINK_MAX ? NULL : get_bytes(&c, r.target_len);
	if (bytes && (err = dup_bytes(bytes, r.target_len, (void **)&r.target)) < 0)
		goto fail;
	r.rdev = get_varint(&c);
	r.xattrs_len = get_varint(&c);
	bytes = c.bad || r.xattrs_len > FS_XATTRS_MAX ? NULL : get_bytes(&c, r.xattrs_len);
	if (bytes && (err = dup_bytes(bytes, r.xattrs_len, (void **)&r.xattrs)) < 0)
		goto fail;
	err = -EINVAL;
	if (c.bad || !bytes || c.p != c.end)
		goto fail;
	err = record_check(&r);
	if (err == 0)
		*ret = r;
	return err;
fail:
	fs_record_release(&r);
	return err;
}

/* --- formats 1 to 3 ------------------------------------------------------------------ */

int fs_record_decode(const uint8_t *p, size_t len, struct fs_record *ret)
{
	struct fs_record r;
	const uint8_t *end = p + len;
	uint64_t total = 0;
	uint32_t n, tl;
	uint8_t format;

	if (len >= 1 && p[0] == 4)
		return decode_v4(p, len, ret);
	if (len < FIXED_SIZE_V1 || p[0] < 1 || p[0] > 3 || (p[0] >= 2 && len < FIXED_SIZE))
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	format = *p++;
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
	if (format >= 2) {
		r.flags = codec_get_be32(p), p += 4;
		r.prev = codec_get_be64(p), p += 8;
		if (r.flags & ~FS_REC_FLAGS)
			return -EINVAL;
	}
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
		struct fs_extent *e = &r.extents[i];

		e->tx_seq = codec_get_be64(p), p += 8;
		e->offset = codec_get_be64(p), p += 8;
		e->length = codec_get_be64(p), p += 8;
		/* Lengths add up without wrapping; a hole has no offset; no empty extents. */
		if (e->length == 0 || e->length > UINT64_MAX - total ||
		    e->offset > UINT64_MAX - e->length ||
		    (e->tx_seq == FS_HOLE && (e->offset || format < 2))) {
			free(r.extents);
			return -EINVAL;
		}
		total += e->length;
	}
	tl = codec_get_be32(p), p += 4;
	if (format >= 3 && tl <= FS_SYMLINK_MAX && (size_t)(end - p) >= (size_t)tl + 12) {
		const uint8_t *x = p + tl;
		uint32_t xl = codec_get_be32(x + 8);

		r.rdev = codec_get_be64(x);
		if ((size_t)(end - x - 12) != xl || fs_xattr_check(x + 12, xl) < 0) {
			free(r.extents);
			return -EINVAL;
		}
		r.xattrs_len = xl;
		end = x; /* the target ends where these begin */
	} else if (format >= 3) {
		free(r.extents);
		return -EINVAL;
	}
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
	if (r.xattrs_len) {
		r.xattrs = malloc(r.xattrs_len);
		if (!r.xattrs) {
			free(r.extents);
			free(r.target);
			return -ENOMEM;
		}
		memcpy(r.xattrs, end + 12, r.xattrs_len);
	}
	*ret = r;
	return 0;
}

void fs_record_release(struct fs_record *r)
{
	if (!r)
		return;
	free(r->extents);
	free(r->target);
	free(r->xattrs);
	r->extents = NULL;
	r->target = NULL;
	r->xattrs = NULL;
	r->nextents = r->target_len = r->xattrs_len = 0;
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
			if (ext[i].tx_seq == FS_HOLE) {
				memset(out + done, 0, want);
				done += want;
				continue;
			}
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
	uint64_t size = 0;
	int r;

	for (size_t i = 0; i < next; i++)
		size += ext[i].length;
	if (size == 0)
		return -ENODATA;
	if (next == 1 && ext[0].offset == 0 && ext[0].tx_seq != FS_HOLE) {
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
	return fs_content_hash(n, ext, next, NULL, NULL, ret_root);
}

int fs_content_hash(struct node *n, const struct fs_extent *ext, size_t next,
		    void (*progress)(void *ctx, uint64_t bytes), void *ctx, uint8_t ret_root[32])
{
	struct codec_merkle m;
	uint64_t size = 0, off = 0;
	uint8_t *buf;
	int r;

	for (size_t i = 0; i < next; i++)
		size += ext[i].length;
	if (size == 0)
		return -ENODATA;
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
		if (progress)
			progress(ctx, (uint64_t)got);
	}
	if (r == 0)
		r = codec_merkle_finish(&m, ret_root, NULL, NULL, NULL);
	codec_merkle_release(&m);
	free(buf);
	return r;
}

/* --- versions ------------------------------------------------------------------------ */

int fs_seqset_add(struct fs_seqset *s, uint64_t seq)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = seq;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void fs_seqset_finish(struct fs_seqset *s)
{
	size_t k = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	for (size_t i = 0; i < s->n; i++)
		if (k == 0 || s->v[k - 1] != s->v[i])
			s->v[k++] = s->v[i];
	s->n = k;
}

bool fs_seqset_has(const struct fs_seqset *s, uint64_t seq)
{
	return s->n && bsearch(&seq, s->v, s->n, sizeof(*s->v), cmp_u64) != NULL;
}

void fs_seqset_release(struct fs_seqset *s)
{
	if (!s)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int fs_seqset_add_version(void *ctx, uint64_t version, uint64_t size)
{
	(void)size;
	return fs_seqset_add(ctx, version);
}

/* One inode of a history: its record's KV versions, oldest first. */
struct link_seqs {
	uint64_t ino;
	struct fs_seqset seqs;
};

static bool same_content(const struct fs_record *a, const struct fs_record *b)
{
	return a->size == b->size && a->nextents == b->nextents &&
	       (a->nextents == 0 ||
		memcmp(a->extents, b->extents, a->nextents * sizeof(*a->extents)) == 0);
}

int fs_record_at(struct node *n, const uint8_t *stream, uint64_t ino, uint64_t seq,
		 struct fs_record *ret)
{
	uint8_t key[FS_KEY_MAX];
	size_t klen = fs_key_inode(key, ino);
	struct node_value v;
	int r = node_kv_read_at(n, stream, key, klen, seq, &v);

	if (r < 0)
		return r == -ENOENT ? 1 : r;
	r = v.len == 0 || fs_record_decode(v.data, v.len, ret) < 0 ? 1 : 0;
	free(v.data);
	return r;
}

/* Collects the chain ino, prev(ino), prev(prev(ino)) ... newest first. */
static int history_chain(struct node *n, const uint8_t *stream, uint64_t ino,
			 struct link_seqs **ret, size_t *ret_n)
{
	struct link_seqs *v = NULL;
	size_t cnt = 0, cap = 0;
	int r = 0;

	while (ino && cnt < FS_HISTORY_MAX) {
		uint8_t key[FS_KEY_MAX];
		size_t klen = fs_key_inode(key, ino);
		struct link_seqs *l;
		uint64_t prev = 0;

		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct link_seqs *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		l = &v[cnt++];
		*l = (struct link_seqs){.ino = ino};
		r = node_kv_versions(n, stream, key, klen, fs_seqset_add_version, &l->seqs);
		if (r < 0)
			break;
		/* The newest readable record names the inode this one replaced. */
		for (size_t i = l->seqs.n; i-- > 0;) {
			struct fs_record rec;
			int q = fs_record_at(n, stream, ino, l->seqs.v[i], &rec);

			if (q < 0) {
				r = q;
				break;
			}
			if (q == 0) {
				prev = rec.prev;
				fs_record_release(&rec);
				break;
			}
		}
		if (r < 0)
			break;
		ino = prev;
	}
	if (r < 0) {
		for (size_t i = 0; i < cnt; i++)
			free(v[i].seqs.v);
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = cnt;
	return 0;
}

int fs_history(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], uint64_t ino,
	       fs_history_fn *fn, void *ctx)
{
	struct link_seqs *chain = NULL;
	struct fs_record prev = {0};
	bool have_prev = false;
	size_t nchain = 0;
	int r = history_chain(n, stream, ino, &chain, &nchain);

	for (size_t c = nchain; r == 0 && c-- > 0;) {
		struct link_seqs *l = &chain[c];

		for (size_t i = 0; r == 0 && i < l->seqs.n; i++) {
			struct fs_record rec;
			int q = fs_record_at(n, stream, l->ino, l->seqs.v[i], &rec);

			if (q != 0) {
				r = q < 0 ? q : 0;
				continue;
			}
			/* Not versions: a compaction, an attribute change, the empty record a file
			 * starts with when it is written later. */
			if ((rec.flags & FS_REC_COMPACTED) ||
			    (have_prev && same_content(&prev, &rec)) ||
			    (i == 0 && rec.size == 0 && i + 1 < l->seqs.n)) {
				r = fn(ctx, l->seqs.v[i], &rec, false);
				/* A compaction has the version's content in other extents: what
				 * follows it compares with it, or an attribute change right after
				 * one (a close after a flush) would list as a version. */
				if (rec.flags & FS_REC_COMPACTED) {
					fs_record_release(&prev);
					prev = rec;
					have_prev = true;
				} else {
					fs_record_release(&rec);
				}
				continue;
			}
			r = fn(ctx, l->seqs.v[i], &rec, true);
			fs_record_release(&prev);
			prev = rec;
			have_prev = true;
		}
	}
	fs_record_release(&prev);
	for (size_t i = 0; i < nchain; i++)
		free(chain[i].seqs.v);
	free(chain);
	return r;
}

struct versions_only {
	fs_version_fn *fn;
	void *ctx;
};

static int version_only(void *ctx, uint64_t seq, const struct fs_record *rec, bool version)
{
	struct versions_only *v = ctx;

	return version ? v->fn(v->ctx, seq, rec) : 0;
}

int fs_versions(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], uint64_t ino,
		fs_version_fn *fn, void *ctx)
{
	struct versions_only v = {fn, ctx};

	return fs_history(n, stream, ino, version_only, &v);
}

/* --- roots of many versions ------------------------------------------------------------ */

void fs_entry_cache_release(struct fs_entry_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < FS_ENTRY_CACHE_SLOTS; i++)
		free(c->slot[i].data);
	memset(c, 0, sizeof(*c));
}

/* The bytes of a small entry, from the cache or read once into it; NULL when the entry is
 * too large to keep (then the caller reads it from the node). */
static const uint8_t *cached_entry(struct node *n, struct fs_entry_cache *c, uint64_t seq,
				   size_t *ret_len, int *ret_err)
{
	struct fs_entry_slot *sl = &c->slot[seq % FS_ENTRY_CACHE_SLOTS];
	struct node_file_info *fi;
	uint8_t *data;
	size_t got = 0;
	int r;

	*ret_err = 0;
	if (sl->data && sl->seq == seq) {
		*ret_len = sl->len;
		return sl->data;
	}
	fi = malloc(sizeof(*fi));
	if (!fi) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	r = node_file_info_by_seq(n, seq, fi);
	if (r < 0 || fi->entry.length > FS_ENTRY_CACHE_ENTRY_MAX ||
	    c->bytes + fi->entry.length > FS_ENTRY_CACHE_MAX) {
		*ret_err = r < 0 ? r : 0;
		free(fi);
		return NULL;
	}
	data = malloc(fi->entry.length ? fi->entry.length : 1);
	r = data ? node_read(n, seq, 0, data, fi->entry.length, &got) : -ENOMEM;
	if (r == 0 && got != fi->entry.length)
		r = -EIO;
	free(fi);
	if (r < 0) {
		free(data);
		*ret_err = r;
		return NULL;
	}
	if (sl->data)
		c->bytes -= sl->len;
	free(sl->data);
	sl->data = data;
	sl->len = got;
	sl->seq = seq;
	c->bytes += got;
	*ret_len = got;
	return data;
}

int fs_content_root_cached(struct node *n, struct fs_entry_cache *c, const struct fs_extent *ext,
			   size_t next, uint8_t ret_root[32])
{
	static const uint8_t zeros[4096];
	struct codec_merkle m;
	uint8_t *buf = NULL;
	uint64_t size = 0;
	int r;

	for (size_t i = 0; i < next; i++)
		size += ext[i].length;
	if (size == 0)
		return -ENODATA;
	if (next == 1 && ext[0].offset == 0 && ext[0].tx_seq != FS_HOLE)
		return fs_content_root(n, ext, next, ret_root); /* maybe the entry's own root */
	r = codec_merkle_init(&m);
	for (size_t i = 0; r == 0 && i < next; i++) {
		const struct fs_extent *e = &ext[i];
		const uint8_t *data = NULL;
		size_t len = 0;

		if (e->tx_seq == FS_HOLE) {
			for (uint64_t done = 0; r == 0 && done < e->length;) {
				size_t k = e->length - done < sizeof(zeros) ? (size_t)(e->length - done)
									      : sizeof(zeros);

				r = codec_merkle_update(&m, zeros, k);
				done += k;
			}
			continue;
		}
		data = cached_entry(n, c, e->tx_seq, &len, &r);
		if (r < 0)
			break;
		if (data && (e->offset > len || e->length > len - e->offset)) {
			r = -EIO; /* the extent says more than the entry holds */
			break;
		}
		if (data) {
			r = codec_merkle_update(&m, data + e->offset, (size_t)e->length);
			continue;
		}
		/* A large entry: read its part in pieces. */
		if (!buf && !(buf = malloc(FS_HASH_BUFFER))) {
			r = -ENOMEM;
			break;
		}
		for (uint64_t done = 0; r == 0 && done < e->length;) {
			size_t want = e->length - done < FS_HASH_BUFFER ? (size_t)(e->length - done)
								       : FS_HASH_BUFFER,
			       got = 0;

			r = node_read(n, e->tx_seq, e->offset + done, buf, want, &got);
			if (r == 0 && got != want)
				r = -EIO;
			if (r == 0)
				r = codec_merkle_update(&m, buf, want);
			done += want;
		}
	}
	if (r == 0)
		r = codec_merkle_finish(&m, ret_root, NULL, NULL, NULL);
	codec_merkle_release(&m);
	free(buf);
	return r;
}

void fs_version_root(struct node *n, struct fs_entry_cache *c, const struct fs_record *rec,
		     char ret_hex[67])
{
	uint8_t root[32];

	if (rec->size && fs_content_root_cached(n, c, rec->extents, rec->nextents, root) == 0)
		codec_hex_encode(root, 32, ret_hex);
	else if (rec->size && fs_version_pruned(n, rec))
		memcpy(ret_hex, "pruned", 7);
	else
		memcpy(ret_hex, "-", 2);
}

bool fs_version_pruned(struct node *n, const struct fs_record *rec)
{
	struct node_file_info *fi = malloc(sizeof(*fi));
	bool pruned = false;

	for (size_t i = 0; fi && !pruned && i < rec->nextents; i++)
		pruned = rec->extents[i].tx_seq != FS_HOLE &&
			 node_file_info_by_seq(n, rec->extents[i].tx_seq, fi) == 0 && fi->pruned;
	free(fi);
	return pruned;
}
