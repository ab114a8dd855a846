/*
 * The FUSE driver (libfuse's low-level API): the volume's namespace held in memory, every
 * change written first as one KV transaction, file bytes streamed into log entries.
 *
 * Locking: one mutex (fs.mu) guards the namespace and every inode; it is held across the
 * KV transaction of a metadata change, so changes settle in the order they are made and
 * memory always matches what was settled. File bytes never move under it: a writer
 * streams into its own upload (its handle's mutex), and a reader copies the extent list
 * under fs.mu and reads from the node without it.
 *
 * Entries and attributes may be cached by the kernel: this mount is the volume's only
 * writer, and every change goes through it.
 */
#define FUSE_USE_VERSION 312

#include <dirent.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "codec/endian.h"
#include "codec/hex.h"
#include "fs/fs.h"
#include "fs/limits.h"

#define CACHE_SECONDS 10.0
#define FIRST_COOKIE 3 /* 1 and 2 are "." and ".." */

/* A name in a directory. Chained in the (parent, name) hash; listed by the directory. */
struct link {
	struct link *next;
	uint64_t parent, ino, cookie;
	uint8_t type; /* DT_* */
	bool dead;    /* removed; still in its directory's list until compaction */
	uint16_t len;
	char name[];
};

struct dir {
	struct link **v; /* in cookie order */
	size_t n, cap, live;
	uint64_t next_cookie;
};

struct inode {
	struct inode *next; /* hash chain */
	uint64_t ino;
	struct fs_record rec;
	uint64_t nlookup; /* references the kernel holds */
	unsigned opens;
	uint64_t pending; /* bytes open writers hold that are not settled yet */
	bool gone;	  /* no name any more */
	struct dir *dir;
	bool root_known;
	uint8_t root[32];
	/* mtime as of the last write not yet settled; kept unless a later utimens set one */
	int64_t write_sec;
	uint32_t write_nsec;
	bool mtime_set; /* utimens after the last write: the commit keeps the stored mtime */
	uint64_t gen;	/* bumped whenever the content (extent list) changes */
};

struct handle {
	struct inode *in;
	pthread_mutex_t mu;
	struct node_upload *up;
	uint64_t base, written;
	int err; /* sticky: a failed write is reported at flush, fsync and close too */
	bool writable;
	/* The last window of FS_READ_WINDOW bytes read and verified, so that reads smaller
	 * than a segment (the kernel's 128 KiB read-ahead) hash each segment once, not once
	 * per read. Valid while the inode's gen is cache_gen. */
	pthread_mutex_t rmu;
	uint8_t *cache;
	uint64_t cache_off, cache_gen;
	size_t cache_len;
};

struct fs {
	struct node *node;
	uint8_t stream[NODE_STREAM_ID_SIZE];
	bool ro;
	const char *node_url;
	pthread_mutex_t mu;
	struct inode **inodes;
	size_t ninodes_cap, ninodes;
	struct link **links;
	size_t nlinks_cap, nlinks;
	uint64_t next_ino;
	unsigned warned; /* unsupported operations already logged, one bit each */
};

static struct fs fs;

__attribute__((format(printf, 1, 2))) static void fs_log(const char *fmt, ...)
{
	va_list ap;

	fputs("zgfs mount: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

enum { WARN_FALLOCATE, WARN_LINK, WARN_MKNOD, WARN_SETXATTR, WARN_EXCHANGE, WARN_TRUNCATE };

/* Logs an unsupported operation the first time it is asked for. */
static void warn_once(unsigned what, const char *msg)
{
	if (__atomic_fetch_or(&fs.warned, 1u << what, __ATOMIC_RELAXED) & (1u << what))
		return;
	fs_log("%s (logged once)", msg);
}

/* A node error as the errno a system call may return. */
static int to_errno(int r)
{
	int e = r < 0 ? -r : r;

	if (e == ENOSPC || e == EDQUOT || e == ENOMEM || e == E2BIG || e == EFBIG ||
	    e == ENOENT || e == EACCES || e == EPERM || e == EROFS)
		return e;
	return EIO;
}

/* A node error for the log, with what the chain said about it (a revert reason). */
static const char *why(int r)
{
	static _Thread_local char buf[768];
	const char *d = chain_last_detail();

	snprintf(buf, sizeof(buf), d[0] ? "%s (%s)" : "%s", node_strerror(r), d);
	return buf;
}

static void now(int64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}

/* --- hash tables ------------------------------------------------------------------- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t name_hash(uint64_t parent, const char *name, size_t len)
{
	uint64_t h = mix(parent + 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 0x100000001b3ULL;
	return mix(h);
}

static int grow_table(void ***tab, size_t *cap, size_t count,
		      uint64_t (*key_of)(void *), void *(*next_of)(void *),
		      void (*set_next)(void *, void *))
{
	size_t ncap;
	void **nt;

	if (count < *cap * 3 / 4)
		return 0;
	ncap = *cap ? *cap * 2 : 1024;
	nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < *cap; i++) {
		void *e = (*tab)[i];

		while (e) {
			void *nx = next_of(e);
			size_t b = key_of(e) & (ncap - 1);

			set_next(e, nt[b]);
			nt[b] = e;
			e = nx;
		}
	}
	free(*tab);
	*tab = nt;
	*cap = ncap;
	return 0;
}

static uint64_t inode_key(void *e)
{
	return mix(((struct inode *)e)->ino);
}

static void *inode_next(void *e)
{
	return ((struct inode *)e)->next;
}

static void inode_set_next(void *e, void *n)
{
	((struct inode *)e)->next = n;
}

static uint64_t link_key(void *e)
{
	struct link *l = e;

	return name_hash(l->parent, l->name, l->len);
}

static void *link_next(void *e)
{
	return ((struct link *)e)->next;
}

static void link_set_next(void *e, void *n)
{
	((struct link *)e)->next = n;
}

static struct inode *inode_get(uint64_t ino)
{
	struct inode *in;

	if (!fs.ninodes_cap)
		return NULL;
	for (in = fs.inodes[mix(ino) & (fs.ninodes_cap - 1)]; in; in = in->next)
		if (in->ino == ino)
			return in;
	return NULL;
}

static int inode_add(struct inode *in)
{
	size_t b;

	if (grow_table((void ***)&fs.inodes, &fs.ninodes_cap, fs.ninodes + 1, inode_key,
		       inode_next, inode_set_next) < 0)
		return -ENOMEM;
	b = mix(in->ino) & (fs.ninodes_cap - 1);
	in->next = fs.inodes[b];
	fs.inodes[b] = in;
	fs.ninodes++;
	return 0;
}

static void inode_free(struct inode *in)
{
	struct inode **pp = &fs.inodes[mix(in->ino) & (fs.ninodes_cap - 1)];

	while (*pp && *pp != in)
		pp = &(*pp)->next;
	if (*pp)
		*pp = in->next;
	fs.ninodes--;
	if (in->dir) {
		for (size_t i = 0; i < in->dir->n; i++)
			if (in->dir->v[i]->dead)
				free(in->dir->v[i]);
		free(in->dir->v);
		free(in->dir);
	}
	fs_record_release(&in->rec);
	free(in);
}

/* An inode is freed once it has no name, no kernel reference and no open handle. */
static void inode_maybe_free(struct inode *in)
{
	if (in->gone && in->nlookup == 0 && in->opens == 0 && in->ino != FS_ROOT_INO)
		inode_free(in);
}

static struct link *link_find(uint64_t parent, const char *name, size_t len)
{
	struct link *l;

	if (!fs.nlinks_cap)
		return NULL;
	for (l = fs.links[name_hash(parent, name, len) & (fs.nlinks_cap - 1)]; l; l = l->next)
		if (l->parent == parent && l->len == len && memcmp(l->name, name, len) == 0)
			return l;
	return NULL;
}

static int dir_append(struct dir *d, struct link *l)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct link **v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	l->cookie = d->next_cookie++;
	d->v[d->n++] = l;
	d->live++;
	return 0;
}

static int link_add(struct inode *dir, const char *name, size_t len, uint64_t ino, uint8_t type)
{
	struct link *l = malloc(sizeof(*l) + len);
	size_t b;

	if (!l)
		return -ENOMEM;
	*l = (struct link){.parent = dir->ino, .ino = ino, .type = type, .len = (uint16_t)len};
	memcpy(l->name, name, len);
	if (grow_table((void ***)&fs.links, &fs.nlinks_cap, fs.nlinks + 1, link_key, link_next,
		       link_set_next) < 0 ||
	    dir_append(dir->dir, l) < 0) {
		free(l);
		return -ENOMEM;
	}
	b = name_hash(l->parent, name, len) & (fs.nlinks_cap - 1);
	l->next = fs.links[b];
	fs.links[b] = l;
	fs.nlinks++;
	return 0;
}

/* Unhash a link and mark it dead in its directory's list (freed at compaction). */
static void link_remove(struct inode *dir, struct link *l)
{
	struct link **pp = &fs.links[name_hash(l->parent, l->name, l->len) & (fs.nlinks_cap - 1)];
	struct dir *d = dir->dir;

	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
	fs.nlinks--;
	l->dead = true;
	d->live--;
	/* Compact when most of the list is dead; cookies (readdir offsets) stay as they are. */
	if (d->n > 64 && d->live < d->n / 2) {
		size_t k = 0;

		for (size_t i = 0; i < d->n; i++) {
			if (d->v[i]->dead)
				free(d->v[i]);
			else
				d->v[k++] = d->v[i];
		}
		d->n = k;
	}
}

/* --- KV transactions --------------------------------------------------------------- */

#define TXN_MAX 8

struct txn {
	size_t n;
	struct node_put_item items[TXN_MAX];
	uint8_t keys[TXN_MAX][FS_KEY_MAX];
	uint8_t *bufs[TXN_MAX];
	uint8_t small[TXN_MAX][16];
};

static void txn_release(struct txn *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->bufs[i]);
	t->n = 0;
}

static int txn_record(struct txn *t, uint64_t ino, const struct fs_record *rec)
{
	size_t i = t->n, len;
	int r;

	t->bufs[i] = NULL;
	if (rec) {
		r = fs_record_encode(rec, &t->bufs[i], &len);
		if (r < 0)
			return r;
	} else {
		len = 0; /* an empty value deletes the key */
	}
	t->items[i] = (struct node_put_item){t->keys[i], fs_key_inode(t->keys[i], ino), t->bufs[i],
					     len};
	t->n++;
	return 0;
}

static void txn_dirent(struct txn *t, uint64_t parent, const char *name, size_t len, uint64_t ino,
		       uint8_t type)
{
	size_t i = t->n;

	t->bufs[i] = NULL;
	codec_put_be64(t->small[i], ino);
	t->small[i][8] = type;
	t->items[i] = (struct node_put_item){t->keys[i], fs_key_dirent(t->keys[i], parent, name, len),
					     t->small[i], ino ? 9 : 0};
	t->n++;
}

static void txn_super(struct txn *t, uint64_t next_ino)
{
	size_t i = t->n;

	t->bufs[i] = NULL;
	t->small[i][0] = 1; /* format */
	codec_put_be64(t->small[i] + 1, next_ino);
	t->items[i] = (struct node_put_item){t->keys[i], fs_key_super(t->keys[i]), t->small[i], 9};
	t->n++;
}

/* Settle the transaction; returns 0 or a positive errno for the caller to reply with. */
static int txn_commit(struct txn *t)
{
	int r = node_kv_write(fs.node, fs.stream, t->items, t->n, NULL);

	txn_release(t);
	if (r < 0) {
		fs_log("metadata change not settled: %s", why(r));
		return to_errno(r);
	}
	return 0;
}

/* --- attributes --------------------------------------------------------------------- */

static uint8_t dtype_of(uint32_t mode)
{
	return S_ISDIR(mode) ? DT_DIR : S_ISLNK(mode) ? DT_LNK : DT_REG;
}

static void fill_stat(const struct inode *in, struct stat *st)
{
	const struct fs_record *r = &in->rec;

	memset(st, 0, sizeof(*st));
	st->st_ino = in->ino;
	st->st_mode = r->mode;
	st->st_nlink = r->nlink;
	st->st_uid = r->uid;
	st->st_gid = r->gid;
	st->st_size = (off_t)(S_ISLNK(r->mode) ? r->target_len : r->size + in->pending);
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	st->st_atim = (struct timespec){r->atime_sec, r->atime_nsec};
	st->st_mtim = (struct timespec){r->mtime_sec, r->mtime_nsec};
	st->st_ctim = (struct timespec){r->ctime_sec, r->ctime_nsec};
}

static void fill_entry(struct inode *in, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = in->ino;
	e->generation = 1;
	e->attr_timeout = CACHE_SECONDS;
	e->entry_timeout = CACHE_SECONDS;
	fill_stat(in, &e->attr);
}

/* --- loading the volume -------------------------------------------------------------- */

struct pending_link {
	uint64_t parent, ino;
	uint8_t type;
	size_t len;
	char name[FS_NAME_MAX];
};

struct load_ctx {
	struct pending_link *links;
	size_t n, cap;
	int err;
};

static int load_one(void *ctx, const uint8_t *key, size_t key_len, const struct node_value *v)
{
	struct load_ctx *c = ctx;

	if (key_len == 1 && key[0] == 'S' && v->len >= 9) {
		fs.next_ino = codec_get_be64(v->data + 1);
	} else if (key_len == 9 && key[0] == 'I') {
		struct inode *in = calloc(1, sizeof(*in));

		if (!in || fs_record_decode(v->data, v->len, &in->rec) < 0) {
			free(in);
			fs_log("inode %" PRIu64 ": unreadable record; left out", codec_get_be64(key + 1));
			return 0;
		}
		in->ino = codec_get_be64(key + 1);
		if (S_ISDIR(in->rec.mode)) {
			in->dir = calloc(1, sizeof(*in->dir));
			if (!in->dir)
				return c->err = -ENOMEM;
			in->dir->next_cookie = FIRST_COOKIE;
		}
		if (inode_add(in) < 0)
			return c->err = -ENOMEM;
	} else if (key_len > 9 && key_len <= 9 + FS_NAME_MAX && key[0] == 'D' && v->len == 9) {
		struct pending_link *p;

		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 1024;
			struct pending_link *nl = realloc(c->links, cap * sizeof(*nl));

			if (!nl)
				return c->err = -ENOMEM;
			c->links = nl;
			c->cap = cap;
		}
		p = &c->links[c->n++];
		p->parent = codec_get_be64(key + 1);
		p->ino = codec_get_be64(v->data);
		p->type = v->data[8];
		p->len = key_len - 9;
		memcpy(p->name, key + 9, p->len);
	}
	return 0;
}

static int volume_load(void)
{
	struct load_ctx c = {0};
	struct inode *root;
	int r;

	r = node_kv_list(fs.node, fs.stream, NULL, 0, SIZE_MAX, load_one, &c);
	if (r == 0)
		r = c.err;
	/* Directory entries came first (keys sort "D" < "I"); attach them now. */
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		struct pending_link *p = &c.links[i];
		struct inode *dir = inode_get(p->parent), *child = inode_get(p->ino);

		if (!dir || !dir->dir || !child) {
			fs_log("directory entry %.*s in %" PRIu64 " names a missing inode; left out",
			       (int)p->len, p->name, p->parent);
			continue;
		}
		r = link_add(dir, p->name, p->len, p->ino, p->type);
	}
	free(c.links);
	if (r < 0)
		return r;
	root = inode_get(FS_ROOT_INO);
	if (root)
		return 0;
	/* A new volume: its root directory. */
	root = calloc(1, sizeof(*root));
	if (!root || !(root->dir = calloc(1, sizeof(*root->dir)))) {
		free(root);
		return -ENOMEM;
	}
	root->ino = FS_ROOT_INO;
	root->dir->next_cookie = FIRST_COOKIE;
	root->rec = (struct fs_record){.mode = S_IFDIR | 0755,
				       .uid = getuid(),
				       .gid = getgid(),
				       .nlink = 2,
				       .parent = FS_ROOT_INO};
	now(&root->rec.mtime_sec, &root->rec.mtime_nsec);
	root->rec.atime_sec = root->rec.ctime_sec = root->rec.mtime_sec;
	root->rec.atime_nsec = root->rec.ctime_nsec = root->rec.mtime_nsec;
	fs.next_ino = FS_ROOT_INO + 1;
	if (!fs.ro) {
		struct txn t = {0};

		r = txn_record(&t, FS_ROOT_INO, &root->rec);
		if (r == 0) {
			txn_super(&t, fs.next_ino);
			r = txn_commit(&t);
			r = r ? -r : 0;
		}
		txn_release(&t);
		if (r < 0) {
			free(root->dir);
			free(root);
			return r;
		}
	}
	return inode_add(root);
}

/* --- lookup, getattr, setattr --------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = FS_IO_MAX;
	conn->max_readahead = FS_IO_MAX;
	/* Writes must reach us in order and at once: appends are streamed into entries. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct link *l;
	struct inode *in;
	size_t len = strlen(name);

	if (len > FS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	pthread_mutex_lock(&fs.mu);
	l = link_find(parent, name, len);
	in = l ? inode_get(l->ino) : NULL;
	if (!in) {
		pthread_mutex_unlock(&fs.mu);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = CACHE_SECONDS; /* a negative entry, cached like the others */
		fuse_reply_entry(req, &e);
		return;
	}
	in->nlookup++;
	fill_entry(in, &e);
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_entry(req, &e);
}

static void forget_one(fuse_ino_t ino, uint64_t n)
{
	struct inode *in = inode_get(ino);

	if (!in)
		return;
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	inode_maybe_free(in);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&fs.mu);
	forget_one(ino, nlookup);
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	pthread_mutex_lock(&fs.mu);
	for (size_t i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *in;
	struct stat st;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (in)
		fill_stat(in, &st);
	pthread_mutex_unlock(&fs.mu);
	if (!in)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, CACHE_SECONDS);
}

static void set_time(int64_t *sec, uint32_t *nsec, const struct timespec *ts, bool to_now)
{
	if (to_now) {
		now(sec, nsec);
	} else {
		*sec = ts->tv_sec;
		*nsec = (uint32_t)ts->tv_nsec;
	}
}

/*
 * A new, empty version of a file (O_TRUNC, truncate to 0): one transaction; the old
 * version stays in the log. fs.mu held. Returns 0 or an errno.
 */
static int truncate_to_zero(struct inode *in)
{
	struct fs_record rec = in->rec;
	struct txn t = {0};
	int err;

	if (in->pending)
		return EBUSY; /* another handle is appending: its bytes have nowhere to go */
	if (rec.size == 0)
		return 0;
	rec.size = 0;
	rec.nextents = 0;
	rec.extents = NULL;
	now(&rec.mtime_sec, &rec.mtime_nsec);
	rec.ctime_sec = rec.mtime_sec;
	rec.ctime_nsec = rec.mtime_nsec;
	err = txn_record(&t, in->ino, &rec) < 0 ? ENOMEM : txn_commit(&t);
	txn_release(&t);
	if (err)
		return err;
	free(in->rec.extents);
	in->rec = rec;
	in->root_known = false;
	in->gen++;
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fs_record rec;
	struct txn t = {0};
	struct inode *in;
	struct stat st;
	int err = 0;

	if (fs.ro) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (!in) {
		err = ENOENT;
		goto out;
	}
	rec = in->rec; /* extents and target shared with in->rec: encoded, not freed */
	if (to_set & FUSE_SET_ATTR_SIZE) {
		uint64_t size = in->rec.size + in->pending;

		if (!S_ISREG(rec.mode)) {
			err = S_ISDIR(rec.mode) ? EISDIR : EINVAL;
			goto out;
		}
		if ((uint64_t)attr->st_size != size && attr->st_size != 0) {
			warn_once(WARN_TRUNCATE, "truncate to a size other than 0 refused: files "
						 "are append-only (EPERM)");
			err = EPERM;
			goto out;
		}
		if ((uint64_t)attr->st_size != size) {
			err = truncate_to_zero(in);
			if (err)
				goto out;
			rec = in->rec;
		}
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		rec.mode = (rec.mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		rec.uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		rec.gid = attr->st_gid;
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW))
		set_time(&rec.atime_sec, &rec.atime_nsec, &attr->st_atim,
			 to_set & FUSE_SET_ATTR_ATIME_NOW);
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		set_time(&rec.mtime_sec, &rec.mtime_nsec, &attr->st_mtim,
			 to_set & FUSE_SET_ATTR_MTIME_NOW);
		in->mtime_set = true;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		now(&rec.ctime_sec, &rec.ctime_nsec);
	if (to_set & FUSE_SET_ATTR_CTIME)
		set_time(&rec.ctime_sec, &rec.ctime_nsec, &attr->st_ctim, false);
	if (to_set & ~FUSE_SET_ATTR_SIZE) {
		err = txn_record(&t, ino, &rec) < 0 ? ENOMEM : 0;
		if (!err)
			err = txn_commit(&t);
		if (!err)
			in->rec = rec;
	}
	if (!err)
		fill_stat(in, &st);
out:
	txn_release(&t);
	pthread_mutex_unlock(&fs.mu);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, CACHE_SECONDS);
}

/* --- creating and removing names ------------------------------------------------------ */

/* Checks a new name under parent; returns 0 or an errno. Called with fs.mu held. */
static int check_new_name(fuse_ino_t parent, const char *name, struct inode **ret_dir)
{
	struct inode *dir = inode_get(parent);
	size_t len = strlen(name);

	if (fs.ro)
		return EROFS;
	if (len > FS_NAME_MAX)
		return ENAMETOOLONG;
	if (!dir || dir->gone)
		return ENOENT;
	if (!dir->dir)
		return ENOTDIR;
	if (link_find(parent, name, len))
		return EEXIST;
	*ret_dir = dir;
	return 0;
}

/*
 * Creates an inode of the given mode under parent as one transaction: the new record,
 * the directory entry, the superblock's inode counter, and for a directory the parent's
 * link count. Called with fs.mu held. Returns 0 or an errno.
 */
static int make_node(fuse_req_t req, fuse_ino_t parent, const char *name, uint32_t mode,
		     const char *target, struct inode **ret)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct inode *dir, *in;
	struct fs_record prec;
	struct txn t = {0};
	size_t len = strlen(name);
	int err;

	err = check_new_name(parent, name, &dir);
	if (err)
		return err;
	in = calloc(1, sizeof(*in));
	if (!in)
		return ENOMEM;
	in->ino = fs.next_ino;
	in->rec = (struct fs_record){.mode = mode,
				     .uid = ctx->uid,
				     .gid = ctx->gid,
				     .nlink = S_ISDIR(mode) ? 2 : 1,
				     .parent = parent};
	/* setgid directories pass their group on, as on other filesystems. */
	if (dir->rec.mode & S_ISGID) {
		in->rec.gid = dir->rec.gid;
		if (S_ISDIR(mode))
			in->rec.mode |= S_ISGID;
	}
	now(&in->rec.mtime_sec, &in->rec.mtime_nsec);
	in->rec.atime_sec = in->rec.ctime_sec = in->rec.mtime_sec;
	in->rec.atime_nsec = in->rec.ctime_nsec = in->rec.mtime_nsec;
	if (target) {
		in->rec.target_len = strlen(target);
		if (in->rec.target_len > FS_SYMLINK_MAX) {
			free(in);
			return ENAMETOOLONG;
		}
		in->rec.target = strndup(target, in->rec.target_len);
		if (!in->rec.target) {
			free(in);
			return ENOMEM;
		}
	}
	if (S_ISDIR(mode)) {
		in->dir = calloc(1, sizeof(*in->dir));
		if (!in->dir) {
			fs_record_release(&in->rec);
			free(in);
			return ENOMEM;
		}
		in->dir->next_cookie = FIRST_COOKIE;
	}
	prec = dir->rec;
	prec.mtime_sec = prec.ctime_sec = in->rec.mtime_sec;
	prec.mtime_nsec = prec.ctime_nsec = in->rec.mtime_nsec;
	if (S_ISDIR(mode))
		prec.nlink++;
	err = txn_record(&t, in->ino, &in->rec) < 0 || txn_record(&t, parent, &prec) < 0 ? ENOMEM
											   : 0;
	if (!err) {
		txn_dirent(&t, parent, name, len, in->ino, dtype_of(mode));
		txn_super(&t, fs.next_ino + 1);
		err = txn_commit(&t);
	}
	txn_release(&t);
	if (!err && (inode_add(in) < 0 || link_add(dir, name, len, in->ino, dtype_of(mode)) < 0))
		err = ENOMEM; /* settled, but memory is short: the next mount sees it */
	if (err) {
		if (in->dir)
			free(in->dir);
		fs_record_release(&in->rec);
		free(in);
		return err;
	}
	fs.next_ino++;
	dir->rec = prec;
	in->nlookup++;
	*ret = in;
	return 0;
}

static void reply_new(fuse_req_t req, fuse_ino_t parent, const char *name, uint32_t mode,
		      const char *target)
{
	struct fuse_entry_param e;
	struct inode *in;
	int err;

	pthread_mutex_lock(&fs.mu);
	err = make_node(req, parent, name, mode, target, &in);
	if (!err)
		fill_entry(in, &e);
	pthread_mutex_unlock(&fs.mu);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	reply_new(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode)) {
		warn_once(WARN_MKNOD, "mknod of devices, FIFOs and sockets refused (EPERM)");
		fuse_reply_err(req, EPERM);
		return;
	}
	reply_new(req, parent, name, S_IFREG | (mode & 07777), NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	reply_new(req, parent, name, S_IFLNK | 0777, link);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct inode *in;
	char *target = NULL;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (in && S_ISLNK(in->rec.mode))
		target = strndup(in->rec.target ? in->rec.target : "", in->rec.target_len);
	pthread_mutex_unlock(&fs.mu);
	if (!in)
		fuse_reply_err(req, ENOENT);
	else if (!target)
		fuse_reply_err(req, S_ISLNK(in->rec.mode) ? ENOMEM : EINVAL);
	else
		fuse_reply_readlink(req, target);
	free(target);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	warn_once(WARN_LINK, "hard links refused: a file has one name (EPERM)");
	fuse_reply_err(req, EPERM);
}

/*
 * Removes name from parent (unlink or rmdir) as one transaction: the entry, the child's
 * record (deleted when it has no name left), the parent's record. fs.mu held.
 */
static int remove_name(fuse_ino_t parent, const char *name, bool want_dir)
{
	struct inode *dir = inode_get(parent), *in;
	struct fs_record prec;
	struct link *l;
	struct txn t = {0};
	size_t len = strlen(name);
	int err;

	if (fs.ro)
		return EROFS;
	if (len > FS_NAME_MAX)
		return ENAMETOOLONG;
	if (!dir || !dir->dir)
		return ENOENT;
	l = link_find(parent, name, len);
	in = l ? inode_get(l->ino) : NULL;
	if (!in)
		return ENOENT;
	if (want_dir && !in->dir)
		return ENOTDIR;
	if (!want_dir && in->dir)
		return EISDIR;
	if (want_dir && in->dir->live > 0)
		return ENOTEMPTY;
	prec = dir->rec;
	now(&prec.mtime_sec, &prec.mtime_nsec);
	prec.ctime_sec = prec.mtime_sec;
	prec.ctime_nsec = prec.mtime_nsec;
	if (want_dir)
		prec.nlink--;
	txn_dirent(&t, parent, name, len, 0, 0);
	err = txn_record(&t, in->ino, NULL) < 0 || txn_record(&t, parent, &prec) < 0 ? ENOMEM : 0;
	if (!err)
		err = txn_commit(&t);
	txn_release(&t);
	if (err)
		return err;
	dir->rec = prec;
	link_remove(dir, l);
	in->gone = true;
	in->rec.nlink = 0;
	inode_maybe_free(in);
	return 0;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err;

	pthread_mutex_lock(&fs.mu);
	err = remove_name(parent, name, false);
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_err(req, err);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err;

	pthread_mutex_lock(&fs.mu);
	err = remove_name(parent, name, true);
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_err(req, err);
}

/* True when dir is ino or lies under it. */
static bool is_under(struct inode *dir, uint64_t ino)
{
	for (unsigned depth = 0; dir && depth < 4096; depth++) {
		if (dir->ino == ino)
			return true;
		if (dir->ino == FS_ROOT_INO)
			return false;
		dir = inode_get(dir->rec.parent);
	}
	return false;
}

/*
 * rename as one transaction: the old entry deleted, the new one written (replacing what
 * was there, whose record is deleted), the moved directory's parent pointer and both
 * parents' link counts and times. fs.mu held.
 */
static int do_rename(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned flags)
{
	struct inode *from = inode_get(parent), *to = inode_get(newparent), *in, *victim = NULL;
	struct fs_record frec, trec, mrec;
	struct link *l, *old;
	struct txn t = {0};
	size_t len = strlen(name), nlen = strlen(newname);
	int err;

	if (fs.ro)
		return EROFS;
	if (flags & RENAME_EXCHANGE) {
		warn_once(WARN_EXCHANGE, "rename with RENAME_EXCHANGE is not supported (EINVAL)");
		return EINVAL;
	}
	if (flags & ~RENAME_NOREPLACE)
		return EINVAL;
	if (len > FS_NAME_MAX || nlen > FS_NAME_MAX)
		return ENAMETOOLONG;
	if (!from || !to || !from->dir)
		return ENOENT;
	if (!to->dir)
		return ENOTDIR;
	l = link_find(parent, name, len);
	in = l ? inode_get(l->ino) : NULL;
	if (!in)
		return ENOENT;
	old = link_find(newparent, newname, nlen);
	if (old == l)
		return 0; /* the same name: nothing to do */
	if (old) {
		if (flags & RENAME_NOREPLACE)
			return EEXIST;
		victim = inode_get(old->ino);
		if (victim && victim->dir && !in->dir)
			return EISDIR;
		if (victim && !victim->dir && in->dir)
			return ENOTDIR;
		if (victim && victim->dir && victim->dir->live > 0)
			return ENOTEMPTY;
	}
	if (in->dir && is_under(to, in->ino))
		return EINVAL; /* into itself */

	frec = from->rec;
	now(&frec.mtime_sec, &frec.mtime_nsec);
	frec.ctime_sec = frec.mtime_sec;
	frec.ctime_nsec = frec.mtime_nsec;
	trec = parent == newparent ? frec : to->rec;
	trec.mtime_sec = trec.ctime_sec = frec.mtime_sec;
	trec.mtime_nsec = trec.ctime_nsec = frec.mtime_nsec;
	if (in->dir && parent != newparent) {
		frec.nlink--;
		trec.nlink++;
	}
	if (victim && victim->dir)
		trec.nlink--;
	if (parent == newparent)
		frec = trec;
	mrec = in->rec;
	mrec.parent = newparent;
	mrec.ctime_sec = frec.mtime_sec;
	mrec.ctime_nsec = frec.mtime_nsec;

	txn_dirent(&t, parent, name, len, 0, 0);
	txn_dirent(&t, newparent, newname, nlen, in->ino, dtype_of(in->rec.mode));
	err = txn_record(&t, in->ino, &mrec) < 0 || txn_record(&t, parent, &frec) < 0 ? ENOMEM : 0;
	if (!err && parent != newparent)
		err = txn_record(&t, newparent, &trec) < 0 ? ENOMEM : 0;
	if (!err && victim)
		err = txn_record(&t, victim->ino, NULL) < 0 ? ENOMEM : 0;
	if (!err)
		err = txn_commit(&t);
	txn_release(&t);
	if (err)
		return err;
	from->rec = frec;
	if (parent != newparent)
		to->rec = trec;
	in->rec = mrec;
	if (old) {
		link_remove(to, old);
		if (victim) {
			victim->gone = true;
			victim->rec.nlink = 0;
			inode_maybe_free(victim);
		}
	}
	link_remove(from, l);
	if (link_add(to, newname, nlen, in->ino, dtype_of(in->rec.mode)) < 0) {
		fs_log("out of memory after a settled rename; remount to see %s", newname);
		return ENOMEM;
	}
	return 0;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	int err;

	pthread_mutex_lock(&fs.mu);
	err = do_rename(parent, name, newparent, newname, flags);
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_err(req, err);
}

/* --- files: open, write, commit, read ------------------------------------------------- */

static int handle_new(struct inode *in, int flags, struct handle **ret)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return ENOMEM;
	h->in = in;
	h->writable = (flags & O_ACCMODE) != O_RDONLY;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->rmu, NULL);
	in->opens++;
	*ret = h;
	return 0;
}

static void set_open_flags(struct fuse_file_info *fi, struct handle *h)
{
	fi->fh = (uint64_t)(uintptr_t)h;
	/* Readers share the page cache: settled content never changes in place. Writers go
	 * straight through, so every write arrives in order, and a shared writable mapping
	 * (which would write pages back below EOF) is refused by the kernel. */
	fi->keep_cache = !h->writable;
	fi->direct_io = h->writable;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = NULL;
	struct inode *in;
	int err = 0;

	if (fs.ro && (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (!in)
		err = ENOENT;
	else if (in->dir)
		err = EISDIR;
	else if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		err = truncate_to_zero(in); /* the kernel leaves O_TRUNC to us (atomic_o_trunc) */
	if (!err && in)
		err = handle_new(in, fi->flags, &h);
	pthread_mutex_unlock(&fs.mu);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	set_open_flags(fi, h);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener went away: drop the handle. */
		pthread_mutex_lock(&fs.mu);
		in->opens--;
		inode_maybe_free(in);
		pthread_mutex_unlock(&fs.mu);
		free(h);
	}
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct handle *h = NULL;
	struct inode *in;
	int err;

	pthread_mutex_lock(&fs.mu);
	err = make_node(req, parent, name, S_IFREG | (mode & 07777), NULL, &in);
	if (!err) {
		err = handle_new(in, fi->flags, &h);
		fill_entry(in, &e);
	}
	pthread_mutex_unlock(&fs.mu);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	set_open_flags(fi, h);
	fuse_reply_create(req, &e, fi);
}

/*
 * Settles what the handle wrote: its upload becomes an entry, then one KV transaction
 * appends the extent to the file. Returns 0 or an errno; on error the file keeps its last
 * settled content. Called with h->mu held.
 */
static int handle_commit(struct handle *h)
{
	struct node_file_info *fi;
	struct inode *in = h->in;
	struct fs_record rec;
	struct fs_extent *ext;
	struct txn t = {0};
	int r, err;

	if (h->err) {
		err = h->err;
		h->err = 0; /* reported once, like a write-back error */
		return err;
	}
	if (!h->up)
		return 0;
	fi = malloc(sizeof(*fi));
	if (!fi)
		return ENOMEM;
	r = node_upload_finish(h->up, fi);
	h->up = NULL;
	pthread_mutex_lock(&fs.mu);
	in->pending -= h->written;
	if (r < 0) {
		pthread_mutex_unlock(&fs.mu);
		fs_log("inode %" PRIu64 ": %" PRIu64 " bytes not settled: %s", in->ino, h->written,
		       why(r));
		free(fi);
		h->written = 0;
		return to_errno(r);
	}
	rec = in->rec;
	if (in->rec.nextents >= FS_EXTENTS_MAX) {
		err = EFBIG;
		goto out;
	}
	ext = malloc((rec.nextents + 1) * sizeof(*ext));
	if (!ext) {
		err = ENOMEM;
		goto out;
	}
	if (rec.nextents)
		memcpy(ext, rec.extents, rec.nextents * sizeof(*ext));
	ext[rec.nextents] = (struct fs_extent){fi->entry.tx_seq, 0, fi->entry.length};
	rec.extents = ext;
	rec.nextents++;
	rec.size += fi->entry.length;
	/* mtime is when the bytes were written, unless utimens set it since. */
	if (!in->mtime_set) {
		rec.mtime_sec = in->write_sec;
		rec.mtime_nsec = in->write_nsec;
	}
	now(&rec.ctime_sec, &rec.ctime_nsec);
	err = in->gone ? 0 : txn_record(&t, in->ino, &rec) < 0 ? ENOMEM : txn_commit(&t);
	txn_release(&t);
	if (err) {
		free(ext);
		goto out;
	}
	free(in->rec.extents);
	in->rec = rec;
	in->root_known = false;
	in->gen++;
out:
	pthread_mutex_unlock(&fs.mu);
	free(fi);
	h->written = 0;
	return err;
}

static struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static const uint8_t zeros[64 * 1024];

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct inode *in = h->in;
	uint64_t end, gap = 0;
	int err = 0, r;

	pthread_mutex_lock(&h->mu);
	if (h->err) {
		err = h->err;
		goto out;
	}
	pthread_mutex_lock(&fs.mu);
	/*
	 * The file ends at its settled size plus what every open writer holds. A write there
	 * is an append to this handle's stream, even when other handles appended since this
	 * one last wrote (their bytes and ours are placed at the closes, in close order). A
	 * write past it leaves a hole of zeros; a write before it, or into this handle's own
	 * bytes, would change existing data: EPERM.
	 */
	end = in->rec.size + in->pending;
	if (h->up && (uint64_t)off == h->base + h->written)
		gap = 0;
	else if ((uint64_t)off < end)
		err = EPERM;
	else
		gap = (uint64_t)off - end;
	if (!err && !h->up) {
		h->base = end;
		h->written = 0;
	}
	pthread_mutex_unlock(&fs.mu);
	if (err)
		goto out;
	if (!h->up) {
		r = node_upload_begin(fs.node, NULL, 0, &h->up);
		if (r < 0) {
			err = to_errno(r);
			goto out;
		}
	}
	/* Writing past the end leaves a hole, which is zeros. */
	for (uint64_t done = 0; done < gap;) {
		size_t n = gap - done < sizeof(zeros) ? (size_t)(gap - done) : sizeof(zeros);

		r = node_upload_write(h->up, zeros, n);
		if (r < 0) {
			h->err = err = to_errno(r);
			goto out;
		}
		done += n;
	}
	r = node_upload_write(h->up, buf, size);
	if (r < 0) {
		h->err = err = to_errno(r);
		goto out;
	}
	pthread_mutex_lock(&fs.mu);
	h->written += gap + size;
	in->pending += gap + size;
	now(&in->write_sec, &in->write_nsec);
	in->mtime_set = false;
	pthread_mutex_unlock(&fs.mu);
out:
	pthread_mutex_unlock(&h->mu);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	int err;

	pthread_mutex_lock(&h->mu);
	err = handle_commit(h);
	pthread_mutex_unlock(&h->mu);
	fuse_reply_err(req, err);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	op_flush(req, ino, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct inode *in = h->in;
	int err;

	pthread_mutex_lock(&h->mu);
	err = handle_commit(h);
	if (h->up) {
		node_upload_abort(h->up);
		h->up = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_lock(&fs.mu);
	in->opens--;
	inode_maybe_free(in);
	pthread_mutex_unlock(&fs.mu);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->rmu);
	free(h->cache);
	free(h);
	/* close() has already returned what flush said; this only reaches the log. */
	if (err)
		fs_log("inode %" PRIu64 ": last writes not settled at close: %s", ino, strerror(err));
	fuse_reply_err(req, 0);
}

/* A copy of the inode's extent list and its generation, taken under fs.mu. */
static int snapshot(struct inode *in, struct fs_extent **ret, size_t *ret_n, uint64_t *ret_gen)
{
	int err = 0;

	pthread_mutex_lock(&fs.mu);
	*ret_n = in->rec.nextents;
	*ret_gen = in->gen;
	*ret = malloc((in->rec.nextents + 1) * sizeof(**ret));
	if (!*ret)
		err = ENOMEM;
	else if (in->rec.nextents)
		memcpy(*ret, in->rec.extents, in->rec.nextents * sizeof(**ret));
	pthread_mutex_unlock(&fs.mu);
	return err;
}

static void log_corrupt(fuse_ino_t ino, uint64_t seq, uint64_t off)
{
	fs_log("CORRUPT DATA: inode %" PRIu64 ", log entry %" PRIu64 " (tx seq): reading file "
	       "bytes from %" PRIu64 " failed verification or I/O; the read returned EIO, not "
	       "the stored bytes",
	       (uint64_t)ino, seq, off);
}

/*
 * Reads smaller than a window go through the handle's window cache: the window holding
 * the read is read (and verified by the node) whole, once. Returns bytes copied or -errno.
 */
static ssize_t read_cached(struct handle *h, fuse_ino_t ino, const struct fs_extent *ext,
			   size_t next, uint64_t gen, uint64_t off, uint8_t *out, size_t size)
{
	size_t done = 0;
	ssize_t r = 0;

	pthread_mutex_lock(&h->rmu);
	if (!h->cache && !(h->cache = malloc(FS_READ_WINDOW))) {
		pthread_mutex_unlock(&h->rmu);
		return -ENOMEM;
	}
	while (done < size) {
		uint64_t pos = off + done, win = pos / FS_READ_WINDOW * FS_READ_WINDOW;
		size_t n;

		if (h->cache_gen != gen || h->cache_off != win || h->cache_len == 0) {
			uint64_t bad_seq = 0;

			h->cache_len = 0;
			r = fs_read_extents(fs.node, ext, next, win, h->cache, FS_READ_WINDOW,
					    &bad_seq);
			if (r < 0) {
				if (r == -EIO)
					log_corrupt(ino, bad_seq, win);
				break;
			}
			h->cache_len = (size_t)r;
			h->cache_off = win;
			h->cache_gen = gen;
		}
		if (pos - win >= h->cache_len)
			break; /* the end of the file */
		n = h->cache_len - (size_t)(pos - win);
		if (n > size - done)
			n = size - done;
		memcpy(out + done, h->cache + (pos - win), n);
		done += n;
		if (h->cache_len < FS_READ_WINDOW)
			break;
	}
	pthread_mutex_unlock(&h->rmu);
	return r < 0 ? r : (ssize_t)done;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct fs_extent *ext = NULL;
	uint64_t bad_seq = 0, gen;
	size_t next;
	uint8_t *buf;
	ssize_t got;
	int err;

	err = snapshot(h->in, &ext, &next, &gen);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		free(ext);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (size < FS_READ_WINDOW) {
		got = read_cached(h, ino, ext, next, gen, (uint64_t)off, buf, size);
	} else {
		got = fs_read_extents(fs.node, ext, next, (uint64_t)off, buf, size, &bad_seq);
		if (got == -EIO)
			log_corrupt(ino, bad_seq, (uint64_t)off);
	}
	if (got < 0)
		fuse_reply_err(req, to_errno((int)got));
	else
		fuse_reply_buf(req, (const char *)buf, (size_t)got);
	free(buf);
	free(ext);
}

/* --- directories ---------------------------------------------------------------------- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *in;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	pthread_mutex_unlock(&fs.mu);
	if (!in)
		fuse_reply_err(req, ENOENT);
	else if (!in->dir)
		fuse_reply_err(req, ENOTDIR);
	else
		fuse_reply_open(req, fi);
}

/* First index in the directory's list whose cookie is above off. */
static size_t dir_seek(const struct dir *d, uint64_t off)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->v[mid]->cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct inode *dir;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs.mu);
	dir = inode_get(ino);
	if (!dir || !dir->dir) {
		pthread_mutex_unlock(&fs.mu);
		free(buf);
		fuse_reply_err(req, dir ? ENOTDIR : ENOENT);
		return;
	}
	for (uint64_t cookie = (uint64_t)off + 1; cookie < FIRST_COOKIE; cookie++) {
		struct inode *self = cookie == 1 ? dir : inode_get(dir->rec.parent);
		struct fuse_entry_param e;
		size_t n;

		if (!self)
			self = dir;
		fill_entry(self, &e);
		if (plus) {
			/* "." and ".." take no lookup reference: ino 0 tells the kernel so. */
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = self->ino;
			e.attr.st_mode = S_IFDIR;
			n = fuse_add_direntry_plus(req, buf + used, size - used,
						   cookie == 1 ? "." : "..", &e, (off_t)cookie);
		} else {
			n = fuse_add_direntry(req, buf + used, size - used, cookie == 1 ? "." : "..",
					      &e.attr, (off_t)cookie);
		}
		if (n > size - used)
			goto full;
		used += n;
	}
	for (size_t i = dir_seek(dir->dir, (uint64_t)off); i < dir->dir->n; i++) {
		struct link *l = dir->dir->v[i];
		struct inode *in;
		struct fuse_entry_param e;
		char name[FS_NAME_MAX + 1];
		size_t n;

		if (l->dead || !(in = inode_get(l->ino)))
			continue;
		memcpy(name, l->name, l->len);
		name[l->len] = '\0';
		fill_entry(in, &e);
		if (plus)
			n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e,
						   (off_t)l->cookie);
		else
			n = fuse_add_direntry(req, buf + used, size - used, name, &e.attr,
					      (off_t)l->cookie);
		if (n > size - used)
			break;
		if (plus)
			in->nlookup++;
		used += n;
	}
full:
	pthread_mutex_unlock(&fs.mu);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true);
}

/* Every metadata change is settled before its reply: a directory has nothing to sync. */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct node_status st;
	struct statvfs sv;
	int r = node_status(fs.node, &st);

	if (r < 0) {
		fuse_reply_err(req, to_errno(r));
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_bfree = sv.f_bavail = st.disk_free / 4096;
	sv.f_blocks = st.disk_total / 4096;
	pthread_mutex_lock(&fs.mu);
	sv.f_files = fs.ninodes + sv.f_bfree;
	pthread_mutex_unlock(&fs.mu);
	sv.f_ffree = sv.f_favail = sv.f_bfree;
	sv.f_namemax = FS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	warn_once(WARN_FALLOCATE, "fallocate is not supported (EOPNOTSUPP)");
	fuse_reply_err(req, EOPNOTSUPP);
}

/* --- extended attributes ---------------------------------------------------------------- */

struct text {
	char *p;
	size_t len;
	int err;
};

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (t->err || n < 0)
		return;
	if (t->len + (size_t)n > FS_XATTR_MAX) {
		t->err = E2BIG;
		return;
	}
	if (!t->p && !(t->p = malloc(FS_XATTR_MAX + 1))) {
		t->err = ENOMEM;
		return;
	}
	memcpy(t->p + t->len, line, (size_t)n);
	t->len += (size_t)n;
}

/* A copy of the extent list of ino, taken under fs.mu. */
static int extents_of(fuse_ino_t ino, struct fs_extent **ret, size_t *ret_n, bool *ret_reg)
{
	struct inode *in;
	int err = 0;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (!in) {
		err = ENOENT;
	} else {
		*ret_reg = S_ISREG(in->rec.mode);
		*ret_n = in->rec.nextents;
		*ret = malloc((in->rec.nextents + 1) * sizeof(**ret));
		if (!*ret)
			err = ENOMEM;
		else if (in->rec.nextents)
			memcpy(*ret, in->rec.extents, in->rec.nextents * sizeof(**ret));
	}
	pthread_mutex_unlock(&fs.mu);
	return err;
}

static void xattr_root(fuse_ino_t ino, struct text *t)
{
	struct fs_extent *ext = NULL;
	uint8_t root[32];
	char hex[67];
	size_t n = 0;
	bool reg = false;
	int r;

	t->err = extents_of(ino, &ext, &n, &reg);
	if (t->err)
		return;
	if (!reg) {
		t->err = ENODATA;
		free(ext);
		return;
	}
	r = fs_content_root(fs.node, ext, n, root);
	free(ext);
	if (r < 0) {
		t->err = r == -ENODATA ? ENODATA : to_errno(r);
		return;
	}
	codec_hex_encode(root, 32, hex);
	text_add(t, "%s", hex);
}

static void xattr_extents(fuse_ino_t ino, struct text *t)
{
	struct fs_extent *ext = NULL;
	struct node_file_info *fi = malloc(sizeof(*fi));
	size_t n = 0;
	bool reg = false;

	t->err = fi ? extents_of(ino, &ext, &n, &reg) : ENOMEM;
	for (size_t i = 0; !t->err && i < n; i++) {
		char hex[67] = "-";

		if (node_file_info_by_seq(fs.node, ext[i].tx_seq, fi) == 0)
			codec_hex_encode(fi->entry.root, 32, hex);
		text_add(t, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", ext[i].tx_seq,
			 ext[i].offset, ext[i].length, hex);
	}
	if (!t->err && !reg)
		t->err = ENODATA;
	free(ext);
	free(fi);
}

struct versions_ctx {
	uint64_t *seqs;
	size_t n, cap;
};

static int version_one(void *ctx, uint64_t version, uint64_t size)
{
	struct versions_ctx *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		uint64_t *s = realloc(c->seqs, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		c->seqs = s;
		c->cap = cap;
	}
	c->seqs[c->n++] = version;
	return 0;
}

static bool same_content(const struct fs_record *a, const struct fs_record *b)
{
	return a->size == b->size && a->nextents == b->nextents &&
	       (a->nextents == 0 ||
		memcmp(a->extents, b->extents, a->nextents * sizeof(*a->extents)) == 0);
}

/* Every content version of the file, oldest first: the history of its inode record in
 * the volume's stream, with the records that changed only attributes folded in. */
static void xattr_versions(fuse_ino_t ino, struct text *t)
{
	struct versions_ctx c = {0};
	struct fs_record prev = {0};
	uint8_t key[FS_KEY_MAX];
	size_t klen = fs_key_inode(key, ino), first;
	bool have_prev = false;
	int r;

	r = node_kv_versions(fs.node, fs.stream, key, klen, version_one, &c);
	if (r < 0) {
		t->err = to_errno(r);
		free(c.seqs);
		return;
	}
	first = c.n > FS_VERSIONS_MAX ? c.n - FS_VERSIONS_MAX : 0;
	for (size_t i = first; i < c.n && !t->err; i++) {
		struct node_value v;
		struct fs_record rec;
		uint8_t root[32];
		char hex[67] = "-";

		if (node_kv_read_at(fs.node, fs.stream, key, klen, c.seqs[i], &v) < 0)
			continue;
		if (v.len == 0 || fs_record_decode(v.data, v.len, &rec) < 0) {
			free(v.data);
			continue; /* a deletion (a reused name is another inode) */
		}
		free(v.data);
		if (have_prev && same_content(&prev, &rec)) {
			fs_record_release(&rec);
			continue;
		}
		if (rec.size && fs_content_root(fs.node, rec.extents, rec.nextents, root) == 0)
			codec_hex_encode(root, 32, hex);
		text_add(t, "%" PRIu64 " %" PRIu64 " %s\n", c.seqs[i], rec.size, hex);
		fs_record_release(&prev);
		prev = rec;
		have_prev = true;
	}
	fs_record_release(&prev);
	free(c.seqs);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct text t = {0};

	if (strcmp(name, "user.zg.root") == 0) {
		xattr_root(ino, &t);
	} else if (strcmp(name, "user.zg.extents") == 0) {
		xattr_extents(ino, &t);
	} else if (strcmp(name, "user.zg.versions") == 0) {
		xattr_versions(ino, &t);
	} else if (strcmp(name, "user.zg.inode") == 0) {
		char hex[67];

		codec_hex_encode(fs.stream, sizeof(fs.stream), hex);
		text_add(&t, "%s %" PRIu64, hex, (uint64_t)ino);
	} else if (strcmp(name, "user.zg.node") == 0 && fs.node_url) {
		text_add(&t, "%s", fs.node_url);
	} else if (strcmp(name, "user.zg.pid") == 0) {
		text_add(&t, "%ld", (long)getpid());
	} else {
		t.err = ENODATA;
	}
	if (t.err)
		fuse_reply_err(req, t.err);
	else if (size == 0)
		fuse_reply_xattr(req, t.len);
	else if (size < t.len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, t.p, t.len);
	free(t.p);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char file_names[] = "user.zg.root\0user.zg.extents\0user.zg.versions\0"
					 "user.zg.inode\0user.zg.pid\0";
	static const char dir_names[] = "user.zg.inode\0user.zg.pid\0";
	struct inode *in;
	bool reg = false;
	const char *names;
	size_t len;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (in)
		reg = S_ISREG(in->rec.mode);
	pthread_mutex_unlock(&fs.mu);
	if (!in) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	names = reg ? file_names : dir_names;
	len = reg ? sizeof(file_names) - 1 : sizeof(dir_names) - 1;
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, names, len);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	warn_once(WARN_SETXATTR, "setting or removing extended attributes is not supported: "
				 "user.zg.* are read-only (ENOTSUP)");
	fuse_reply_err(req, ENOTSUP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	op_setxattr(req, ino, name, NULL, 0, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.fallocate = op_fallocate,
};

/* --- the session ----------------------------------------------------------------------- */

static void ready(int fd, const char *msg)
{
	if (fd >= 0) {
		ssize_t n = write(fd, msg, strlen(msg));

		(void)n;
	}
}

static void release_all(void)
{
	for (size_t b = 0; b < fs.ninodes_cap; b++) {
		while (fs.inodes[b]) {
			struct inode *in = fs.inodes[b];

			fs.inodes[b] = in->next;
			if (in->dir) {
				for (size_t i = 0; i < in->dir->n; i++)
					free(in->dir->v[i]);
				free(in->dir->v);
				free(in->dir);
			}
			fs_record_release(&in->rec);
			free(in);
		}
	}
	free(fs.inodes);
	free(fs.links); /* the links themselves were freed with their directories */
	memset(&fs, 0, sizeof(fs));
}

int fs_main(const struct fs_config *cfg)
{
	char opts[512];
	char *argv[] = {"zgfs", "-o", opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se = NULL;
	char msg[300];
	int r;

	memset(&fs, 0, sizeof(fs));
	fs.node = cfg->node;
	fs.ro = cfg->read_only;
	fs.node_url = cfg->node_url;
	pthread_mutex_init(&fs.mu, NULL);
	fs_volume_stream(cfg->volume ? cfg->volume : "default", fs.stream);
	r = volume_load();
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot load the volume: %s\n", node_strerror(r));
		ready(cfg->ready_fd, msg);
		goto out;
	}
	snprintf(opts, sizeof(opts),
		 "fsname=zgfs,subtype=zgfs,default_permissions,auto_unmount%s",
		 cfg->read_only ? ",ro" : "");
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se) {
		r = -EINVAL;
		ready(cfg->ready_fd, "cannot start a FUSE session\n");
		goto out;
	}
	if (fuse_set_signal_handlers(se) < 0 || fuse_session_mount(se, cfg->mountpoint) < 0) {
		r = -EIO;
		snprintf(msg, sizeof(msg),
			 "cannot mount on %s: is /dev/fuse usable and fusermount3 installed?\n",
			 cfg->mountpoint);
		ready(cfg->ready_fd, msg);
		goto out;
	}
	fs_log("ready: %s mounted (%zu inodes, verify %s)", cfg->mountpoint, fs.ninodes,
	       cfg->verify ? "always" : "never");
	ready(cfg->ready_fd, "ok\n");
	loop = fuse_loop_cfg_create();
	if (!loop) {
		r = -ENOMEM;
		fuse_session_unmount(se);
		goto out;
	}
	fuse_loop_cfg_set_clone_fd(loop, 0);
	if (cfg->max_threads)
		fuse_loop_cfg_set_max_threads(loop, cfg->max_threads);
	r = fuse_session_loop_mt(se, loop);
	r = r > 0 ? 0 : r; /* a signal number: stopped by a signal, cleanly */
	fuse_session_unmount(se);
	fs_log("unmounted %s", cfg->mountpoint);
out:
	fuse_loop_cfg_destroy(loop);
	if (se) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	fuse_opt_free_args(&args);
	release_all();
	return r;
}
