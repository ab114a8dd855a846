/*
 * The FUSE driver (libfuse's low-level API): the volume's namespace held in memory, every
 * change written first as one KV transaction, file bytes streamed into log entries.
 *
 * A file's content is its map (map.h): extents of log entries. Writes anywhere go to one
 * upload per file (an entry being written, on disk in the node's staging) and are laid
 * over the map as extents of that upload; a commit (flush, fsync, close, a shared
 * mapping's writeback, or a bound reached) settles the upload as an entry and the new map
 * as one KV transaction. Until then every reader reads the uncommitted bytes from the
 * upload itself, so reads and stat agree with what was written (read-your-writes).
 *
 * Locking: fs.mu guards the namespace and every inode's fields. Every KV transaction goes
 * through one queue (fs.later, "group commit" below), in the order changes are made under
 * fs.mu; a metadata change holds fs.mu until its items have settled, so memory matches
 * what was settled, except for two kinds of items that memory shows before they settle: a
 * file's new content at a commit (the commit waits without fs.mu, so commits of many files
 * share one transaction) and a new regular file (settled by the next transaction). Each inode's wmu serializes what touches its
 * upload (writes, reads of uncommitted bytes, commits) and is taken before fs.mu. File
 * bytes never move under fs.mu: a reader copies the extents it needs under it and reads
 * from the node without it.
 *
 * The kernel caches pages and attributes: this mount is the volume's only writer and
 * every change goes through the kernel, so its page cache stays coherent; writes are
 * passed through at once (no writeback cache), in order.
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
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "codec/endian.h"
#include "codec/hex.h"
#include "codec/merkle.h"
#include "fs/fs.h"
#include "fs/limits.h"
#include "fs/map.h"
#include "fs/metrics.h"
#include "fs/reaper.h"
#include "fs/snapshot.h"
#include "fs/prune.h"
#include "fs/xattr.h"

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

/* The tx seq that marks an extent of a file's upload, not yet an entry. */
#define PENDING (UINT64_MAX - 1)

struct inode {
	struct inode *next; /* hash chain */
	uint64_t ino;
	struct fs_record rec; /* as settled */
	uint64_t nlookup;     /* references the kernel holds */
	unsigned opens, wopens; /* open handles; of them, those that may write */
	unsigned refs; /* background work holding the inode (flusher, compaction) */
	bool gone;     /* no name any more */
	struct dir *dir;
	uint64_t gen; /* bumped whenever the content changes */
	/* Writes not yet committed, all under wmu (and fs.mu to change them). */
	pthread_mutex_t wmu;
	struct fs_map *work;	/* the content with them; NULL: rec is the content */
	struct node_upload *up; /* the entry their bytes go to (PENDING extents) */
	uint64_t up_len, up_id; /* bytes in it; which upload it is */
	uint64_t done_id, done_seq; /* the last upload committed, and the entry it became */
	int werr;		    /* a write failed: reported once at the next commit */
	struct inode *dnext;	    /* in fs.dirty while work is set */
	struct timespec dirty_since;
	/* mtime as of the last write not yet settled; kept unless a later utimens set one */
	int64_t write_sec;
	uint32_t write_nsec;
	bool mtime_set; /* utimens after the last write: the commit keeps the stored mtime */
	uint64_t later_gen; /* its create or last record waits in this generation of fs.later */
	bool queued;	/* waiting for compaction */
	bool stale;	/* the kernel's cached pages are ahead of the content: invalidate */
};

struct handle {
	struct inode *in;
	bool writable;
	/* The last window of FS_READ_WINDOW bytes read and verified, so that reads smaller
	 * than a segment (the kernel's 128 KiB read-ahead) hash each segment once, not once
	 * per read. Valid while the inode's gen is cache_gen. */
	pthread_mutex_t rmu;
	uint8_t *cache;
	uint64_t cache_off, cache_gen;
	size_t cache_len;
};

/* An item waiting in fs.later: key and value in one malloc'd block at it.key. */
struct litem {
	struct node_put_item it;
	bool keep; /* memory already shows it: on a failure it waits for the next transaction */
};

/* A caller waiting for its items to settle. */
struct lwait {
	struct lwait *next;
	uint64_t gen; /* its items are in this generation or an earlier one */
	bool done;
	int err; /* the transaction's result, -errno */
};

/* The queue every KV transaction of the volume goes through (see "group commit"). */
struct later {
	pthread_mutex_t mu; /* taken after fs.mu; guards what follows */
	pthread_cond_t cv;
	struct litem *v;
	size_t n, cap;
	uint64_t gen;	       /* the generation new items join */
	uint64_t settled;      /* generations up to this one are settled */
	bool writing;	       /* a caller is settling a generation */
	struct lwait *waiters; /* not done yet */
	struct timespec since; /* when the oldest item came */
};

struct fs {
	struct node *node;
	uint8_t stream[NODE_STREAM_ID_SIZE];
	bool ro;
	const struct fs_snap *snap; /* zgfs mount --snapshot: the tree served, or NULL */
	const char *node_url, *metrics_url;
	pthread_mutex_t mu;
	struct inode **inodes;
	size_t ninodes_cap, ninodes;
	struct link **links;
	size_t nlinks_cap, nlinks;
	uint64_t next_ino;
	unsigned warned; /* unsupported operations already logged, one bit each */
	bool append_only;     /* -o append_only */
	int64_t uid, gid;     /* -o uid=, gid=: the owner stat reports for every inode; -1: none */
	uint32_t umask;	      /* -o umask=: bits stat leaves out of every mode */
	bool writeback;	      /* --writeback: close() does not commit; the flusher does */
	struct inode *dirty;  /* inodes with uncommitted writes (work set) */
	struct inode **queue; /* waiting for compaction */
	size_t nqueue, queue_cap;
	struct fuse_session *se; /* for the kernel's cache invalidations */
	bool any_stale;		 /* some inode is stale */
	unsigned nuploads;	 /* files with an upload open (atomic) */
	pthread_t worker;     /* the flusher and compactor */
	bool worker_running, stopping;
	pthread_cond_t wake;
	struct later later;
};

static struct fs fs;

__attribute__((format(printf, 1, 2))) static void fs_log(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ zgfs mount: ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

enum { WARN_FALLOCATE, WARN_LINK, WARN_MKNOD, WARN_SETXATTR, WARN_TRUNCATE,
       WARN_XATTR_NS };

/* Logs a refused operation the first time it is asked for, with the path it was asked
 * on (path_of(); NULL when there is none). */
static void warn_once(unsigned what, const char *path, const char *msg)
{
	if (__atomic_fetch_or(&fs.warned, 1u << what, __ATOMIC_RELAXED) & (1u << what))
		return;
	fs_log("%s%s%s (logged once)", path ? path : "", path ? ": " : "", msg);
}

/* A node error as the errno a system call may return. */
static int to_errno(int r)
{
	int e = r < 0 ? -r : r;

	if (e == ENOSPC || e == EDQUOT || e == ENOMEM || e == E2BIG || e == EFBIG ||
	    e == ENOENT || e == EACCES || e == EPERM || e == EROFS || e == ENODATA)
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

static double age_ms(const struct timespec *since)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - since->tv_sec) * 1e3 + (double)(ts.tv_nsec - since->tv_nsec) / 1e6;
}

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

static struct inode *inode_new(void)
{
	struct inode *in = calloc(1, sizeof(*in));

	if (in)
		pthread_mutex_init(&in->wmu, NULL);
	return in;
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
	fs_map_release(in->work);
	free(in->work);
	if (in->up)
		__atomic_sub_fetch(&fs.nuploads, 1, __ATOMIC_RELAXED);
	node_upload_abort(in->up);
	pthread_mutex_destroy(&in->wmu);
	free(in);
}

/* An inode is freed once it has no name, no kernel reference, no open handle and no
 * background work on it (a removed file's uncommitted writes are dropped with it). */
static void inode_maybe_free(struct inode *in)
{
	if (in->gone && in->nlookup == 0 && in->opens == 0 && in->refs == 0 &&
	    in->ino != FS_ROOT_INO) {
		struct inode **pp = &fs.dirty;

		while (*pp && *pp != in)
			pp = &(*pp)->dnext;
		if (*pp)
			*pp = in->dnext;
		inode_free(in);
	}
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

/* The name of ino in directory parent, or NULL. fs.mu held. */
static const struct link *name_in(uint64_t parent, uint64_t ino)
{
	struct inode *dir = inode_get(parent);

	for (size_t i = 0; dir && dir->dir && i < dir->dir->n; i++)
		if (!dir->dir->v[i]->dead && dir->dir->v[i]->ino == ino)
			return dir->dir->v[i];
	/* A file's first directory may have lost that name while others remain. */
	for (size_t b = 0; b < fs.nlinks_cap; b++)
		for (const struct link *l = fs.links[b]; l; l = l->next)
			if (l->ino == ino)
				return l;
	return NULL;
}

/*
 * path_of() - "/a/b" (from the mountpoint) of ino, then "/name" when name is not NULL,
 * for the log: a corrupt read or a refused operation should name what the user sees, not
 * an inode number. "inode N" when no name leads to it. fs.mu held.
 */
static const char *path_of(uint64_t ino, const char *name, char *buf, size_t size)
{
	size_t at = size - 1;
	uint64_t cur = ino;

	buf[at] = '\0';
	if (name) {
		size_t n = strlen(name);

		if (n + 1 > at)
			return name;
		at -= n;
		memcpy(buf + at, name, n);
		buf[--at] = '/';
	}
	for (unsigned depth = 0; cur != FS_ROOT_INO && depth < 256; depth++) {
		struct inode *in = inode_get(cur);
		const struct link *l = in ? name_in(in->rec.parent, cur) : NULL;

		if (!l || (size_t)l->len + 1 > at) {
			snprintf(buf, size, "inode %" PRIu64, ino);
			return buf;
		}
		at -= l->len;
		memcpy(buf + at, l->name, l->len);
		buf[--at] = '/';
		cur = l->parent;
	}
	if (at == size - 1)
		buf[--at] = '/';
	return buf + at;
}

/* path_of() taking fs.mu itself. */
#define LOG_PATH_MAX 1024
static const char *path_now(uint64_t ino, const char *name, char buf[LOG_PATH_MAX])
{
	const char *p;

	pthread_mutex_lock(&fs.mu);
	p = path_of(ino, name, buf, LOG_PATH_MAX);
	pthread_mutex_unlock(&fs.mu);
	return p;
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

/*
 * Group commit. Every KV transaction of the volume goes through fs.later: a change adds its
 * items (under fs.mu, so in the order changes are made) and waits until a transaction
 * that holds them has settled. Whoever waits while nobody writes becomes the writer: it
 * takes every item waiting, settles them as one transaction without any lock, and tells
 * every caller whose items were in it. Where two items write a key, the later one wins, as
 * in every KV transaction. A metadata change waits holding fs.mu, so nothing sees it before
 * it has settled, and on an error its items are dropped: nothing changed. Two kinds of items
 * are kept on an error and go with the next transaction instead, because memory shows them
 * already: a file's new record at a commit (the committer waits without fs.mu, so the
 * commits of many files share one transaction; its fsync or close reports the error), and
 * a regular file's create, which does not wait at all: the next transaction carries it,
 * usually the file's own commit at its close, so a new file costs one metadata entry, not
 * two. fsync of a directory, unmount and the worker (after FS_LATER_DELAY_MS) settle what
 * is left. A crash before an item settles loses it, as an unsynced create elsewhere.
 */

/* Adds the transaction's items, all or none (t is released either way); with w, the caller
 * will wait for them; ret_gen (if not NULL) is the generation they joined. fs.mu held. */
static int later_add(struct txn *t, bool keep, struct lwait *w, uint64_t *ret_gen)
{
	uint8_t *b[TXN_MAX];
	size_t i;
	int err = 0;

	for (i = 0; i < t->n; i++)
		if (!(b[i] = malloc(t->items[i].key_len + t->items[i].value_len + 1)))
			break;
	pthread_mutex_lock(&fs.later.mu);
	if (i == t->n && fs.later.n + t->n > fs.later.cap) {
		size_t cap = 2 * fs.later.cap + t->n + 16;
		struct litem *v = realloc(fs.later.v, cap * sizeof(*v));

		if (v) {
			fs.later.v = v;
			fs.later.cap = cap;
		}
	}
	if (i < t->n || fs.later.n + t->n > fs.later.cap) {
		while (i-- > 0)
			free(b[i]);
		err = ENOMEM;
		goto out;
	}
	if (fs.later.n == 0)
		clock_gettime(CLOCK_MONOTONIC, &fs.later.since);
	for (i = 0; i < t->n; i++) {
		const struct node_put_item *it = &t->items[i];

		memcpy(b[i], it->key, it->key_len);
		if (it->value_len)
			memcpy(b[i] + it->key_len, it->value, it->value_len);
		fs.later.v[fs.later.n++] = (struct litem){
			{b[i], it->key_len, b[i] + it->key_len, it->value_len}, keep};
	}
	if (w) {
		*w = (struct lwait){fs.later.waiters, fs.later.gen, false, 0};
		fs.later.waiters = w;
	}
	if (ret_gen)
		*ret_gen = fs.later.gen;
out:
	pthread_mutex_unlock(&fs.later.mu);
	txn_release(t);
	return err;
}

/* Puts the kept items of a failed transaction back in front of those that came since, and
 * frees the rest. fs.later.mu held. */
static void later_requeue(struct litem *v, size_t n)
{
	struct litem *m;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].keep)
			v[k++] = v[i];
		else
			free((void *)v[i].it.key);
	if (!k) {
		free(v);
		return;
	}
	m = realloc(v, (k + fs.later.n) * sizeof(*m));
	if (!m) {
		fs_log("metadata dropped from the queue: out of memory");
		for (size_t i = 0; i < k; i++)
			free((void *)v[i].it.key);
		free(v);
		return;
	}
	if (fs.later.n)
		memcpy(m + k, fs.later.v, fs.later.n * sizeof(*m));
	free(fs.later.v);
	fs.later.v = m;
	fs.later.n += k;
	fs.later.cap = fs.later.n;
}

/* Settles every item waiting as one transaction and tells their waiters. fs.later.mu
 * held, dropped meanwhile. */
static void later_write(void)
{
	struct litem *v = fs.later.v;
	struct node_put_item *items;
	size_t n = fs.later.n;
	uint64_t gen = fs.later.gen;
	int r = -ENOMEM;

	fs.later.v = NULL;
	fs.later.n = fs.later.cap = 0;
	fs.later.gen++;
	fs.later.writing = true;
	pthread_mutex_unlock(&fs.later.mu);
	items = malloc((n ? n : 1) * sizeof(*items));
	if (items) {
		for (size_t i = 0; i < n; i++)
			items[i] = v[i].it;
		r = n ? node_kv_write(fs.node, fs.stream, items, n, NULL) : 0;
		free(items);
	}
	pthread_mutex_lock(&fs.later.mu);
	fs.later.writing = false;
	if (r == 0) {
		fs.later.settled = gen;
		for (size_t i = 0; i < n; i++)
			free((void *)v[i].it.key);
		free(v);
	} else {
		fs_log("metadata change not settled: %s", why(r));
		later_requeue(v, n);
	}
	for (struct lwait **pp = &fs.later.waiters; *pp;) {
		struct lwait *w = *pp;

		if (w->gen <= gen) {
			w->done = true;
			w->err = r;
			*pp = w->next;
		} else {
			pp = &w->next;
		}
	}
	pthread_cond_broadcast(&fs.later.cv);
}

/* Waits until w's items have settled, writing them if nobody else is; -errno. */
static int later_wait(struct lwait *w)
{
	pthread_mutex_lock(&fs.later.mu);
	while (!w->done) {
		if (fs.later.writing)
			pthread_cond_wait(&fs.later.cv, &fs.later.mu);
		else
			later_write();
	}
	pthread_mutex_unlock(&fs.later.mu);
	return w->err;
}

/* Settles the transaction with everything waiting in front of it; returns 0 or a positive
 * errno for the caller to reply with. On an error nothing of it is settled. fs.mu held
 * (so nothing sees the change before it has settled). */
static int txn_commit(struct txn *t)
{
	struct lwait w;
	int r;

	if (later_add(t, false, &w, NULL))
		return ENOMEM;
	r = later_wait(&w);
	return r < 0 ? to_errno(r) : 0;
}

/* Settles what waits in fs.later up to the create of in (NULL: everything); returns 0 or a
 * positive errno. Needs no lock. */
static int later_settle(const struct inode *in)
{
	struct lwait w = {0};
	bool need;
	int r;

	pthread_mutex_lock(&fs.later.mu);
	need = in ? fs.later.settled < in->later_gen : fs.later.n > 0 || fs.later.writing;
	if (need) {
		w = (struct lwait){fs.later.waiters, in ? in->later_gen : fs.later.gen, false, 0};
		fs.later.waiters = &w;
	}
	pthread_mutex_unlock(&fs.later.mu);
	if (need && (r = later_wait(&w)) < 0)
		return to_errno(r);
	return 0;
}

/* The number of items waiting, for a bound. */
static size_t later_count(void)
{
	size_t n;

	pthread_mutex_lock(&fs.later.mu);
	n = fs.later.n;
	pthread_mutex_unlock(&fs.later.mu);
	return n;
}

/* Whether items have waited FS_LATER_DELAY_MS. */
static bool later_due(void)
{
	bool due;

	pthread_mutex_lock(&fs.later.mu);
	due = fs.later.n && age_ms(&fs.later.since) >= FS_LATER_DELAY_MS;
	pthread_mutex_unlock(&fs.later.mu);
	return due;
}

/* --- attributes --------------------------------------------------------------------- */

static uint8_t dtype_of(uint32_t mode)
{
	return IFTODT(mode & S_IFMT);
}

/* Bytes of the content held in log entries: holes take no space. */
static uint64_t stored_bytes(const struct inode *in)
{
	uint64_t total = 0;

	if (S_ISLNK(in->rec.mode))
		return in->rec.target_len;
	if (in->work)
		return fs_map_stored(in->work);
	for (size_t i = 0; i < in->rec.nextents; i++)
		if (in->rec.extents[i].tx_seq != FS_HOLE)
			total += in->rec.extents[i].length;
	return total;
}

static void fill_stat(const struct inode *in, struct stat *st)
{
	const struct fs_record *r = &in->rec;

	memset(st, 0, sizeof(*st));
	st->st_ino = in->ino;
	st->st_mode = r->mode & ~fs.umask;
	st->st_nlink = r->nlink;
	st->st_uid = fs.uid >= 0 ? (uid_t)fs.uid : r->uid;
	st->st_gid = fs.gid >= 0 ? (gid_t)fs.gid : r->gid;
	st->st_rdev = (dev_t)r->rdev;
	st->st_size = (off_t)(S_ISLNK(r->mode) ? r->target_len : in->work ? in->work->size : r->size);
	st->st_blksize = 1 << 20;
	st->st_blocks = (blkcnt_t)((stored_bytes(in) + 511) / 512);
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
		struct inode *in = inode_new();

		if (!in || fs_record_decode(v->data, v->len, &in->rec) < 0) {
			if (in)
				pthread_mutex_destroy(&in->wmu);
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

	if (fs.snap) {
		/* A snapshot's records, as the volume had them then (fs/snapshot.h). */
		r = 0;
		for (size_t i = 0; r == 0 && c.err == 0 && i < fs.snap->nitems; i++) {
			const struct fs_snap_item *it = &fs.snap->items[i];

			r = load_one(&c, it->key, it->key_len,
				     &(struct node_value){0, it->value, it->value_len});
		}
	} else {
		r = node_kv_list(fs.node, fs.stream, NULL, 0, SIZE_MAX, load_one, &c);
	}
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
	root = inode_new();
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

static int commit(struct inode *in);
static int commit_nowait(struct inode *in);
static int set_size(struct inode *in, uint64_t size);

/* Strict append-only (chattr +a, -o append_only): writes only at EOF, truncate to 0. */
static bool append_only(const struct inode *in)
{
	return fs.append_only || (in->rec.flags & FS_REC_APPEND);
}

static uint64_t content_size(const struct inode *in)
{
	return in->work ? in->work->size : in->rec.size;
}

/*
 * truncate and ftruncate: the new size goes into the file's uncommitted content, then is
 * committed as a new version, unless a handle that writes is open (its close commits
 * both together, so that ftruncate + writes + close is one version). fs.mu not held.
 */
static int truncate_file(struct inode *in, uint64_t size)
{
	bool now_commit;
	char path[LOG_PATH_MAX];
	int err;

	pthread_mutex_lock(&in->wmu);
	pthread_mutex_lock(&fs.mu);
	if (append_only(in) && size != 0 && size != content_size(in)) {
		const char *p = path_of(in->ino, NULL, path, sizeof(path));

		pthread_mutex_unlock(&fs.mu);
		pthread_mutex_unlock(&in->wmu);
		warn_once(WARN_TRUNCATE, p, "truncate of an append-only file to a size other than 0 "
					    "refused (EPERM)");
		return EPERM;
	}
	err = size == content_size(in) ? 0 : set_size(in, size);
	now_commit = !fs.writeback && !err && in->wopens == 0;
	pthread_mutex_unlock(&fs.mu);
	if (now_commit)
		err = commit(in);
	pthread_mutex_unlock(&in->wmu);
	return err;
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
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!S_ISREG(in->rec.mode)) {
			err = S_ISDIR(in->rec.mode) ? EISDIR : EINVAL;
			goto out;
		}
		if (attr->st_size < 0) {
			err = EINVAL;
			goto out;
		}
		/* The size is content: the file's own lock first, so fs.mu is let go. */
		in->refs++;
		pthread_mutex_unlock(&fs.mu);
		err = truncate_file(in, (uint64_t)attr->st_size);
		pthread_mutex_lock(&fs.mu);
		in->refs--;
		if (err)
			goto out;
	}
	rec = in->rec; /* extents and target shared with in->rec: encoded, not freed */
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
	/* Any change of attributes is a change of the inode: ctime, as POSIX says (utimens
	 * too). */
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
		      FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME |
		      FUSE_SET_ATTR_MTIME_NOW))
		now(&rec.ctime_sec, &rec.ctime_nsec);
	if (to_set & FUSE_SET_ATTR_CTIME)
		set_time(&rec.ctime_sec, &rec.ctime_nsec, &attr->st_ctim, false);
	if (to_set & ~FUSE_SET_ATTR_SIZE) {
		/* A regular file's attributes settle with the next transaction, like its create
		 * (tar and cp -p set them on every file); its fsync or close waits for them. */
		bool later = S_ISREG(rec.mode) && later_count() < FS_LATER_ITEMS_MAX;

		err = txn_record(&t, ino, &rec) < 0 ? ENOMEM : 0;
		if (!err)
			err = later ? later_add(&t, true, NULL, &in->later_gen) : txn_commit(&t);
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
		     const char *target, uint64_t rdev, struct inode **ret)
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
	in = inode_new();
	if (!in)
		return ENOMEM;
	in->ino = fs.next_ino;
	in->rec = (struct fs_record){.mode = mode,
				     .uid = ctx->uid,
				     .gid = ctx->gid,
				     .nlink = S_ISDIR(mode) ? 2 : 1,
				     .parent = parent,
				     .rdev = S_ISCHR(mode) || S_ISBLK(mode) ? rdev : 0};
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
		bool later = S_ISREG(mode) && later_count() + t.n + 2 <= FS_LATER_ITEMS_MAX;

		txn_dirent(&t, parent, name, len, in->ino, dtype_of(mode));
		txn_super(&t, fs.next_ino + 1);
		err = later ? later_add(&t, true, NULL, &in->later_gen) : txn_commit(&t);
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

/* Replies with in's entry, or err when it is not 0. Called with fs.mu held; lets it go. */
static void reply_entry_unlock(fuse_req_t req, int err, struct inode *in)
{
	struct fuse_entry_param e;

	if (!err)
		fill_entry(in, &e);
	pthread_mutex_unlock(&fs.mu);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void reply_new(fuse_req_t req, fuse_ino_t parent, const char *name, uint32_t mode,
		      const char *target, uint64_t rdev)
{
	struct inode *in = NULL;
	int err;

	pthread_mutex_lock(&fs.mu);
	err = make_node(req, parent, name, mode, target, rdev, &in);
	reply_entry_unlock(req, err, in);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	reply_new(req, parent, name, S_IFDIR | (mode & 07777), NULL, 0);
}

/* Regular files, FIFOs, sockets and device nodes: an inode with a type (and a device
 * number); the kernel does the rest (pipes, sockets and devices never read or write
 * through the mount). The kernel checks CAP_MKNOD for devices. */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	char path[LOG_PATH_MAX];

	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) &&
	    !S_ISBLK(mode)) {
		warn_once(WARN_MKNOD, path_now(parent, name, path),
			  "mknod of an unknown file type refused (EINVAL)");
		fuse_reply_err(req, EINVAL);
		return;
	}
	reply_new(req, parent, name, (mode & S_IFMT) | (mode & 07777), NULL, (uint64_t)rdev);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	reply_new(req, parent, name, S_IFLNK | 0777, link, 0);
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

/*
 * link as one transaction: the new directory entry, the inode's link count and ctime, the
 * directory's times. A directory has one name (the kernel refuses it first). fs.mu held.
 */
static int add_link(fuse_ino_t ino, fuse_ino_t newparent, const char *newname,
		    struct inode **ret)
{
	struct inode *dir, *in = inode_get(ino);
	struct fs_record rec, prec;
	struct txn t = {0};
	size_t len = strlen(newname);
	int err = check_new_name(newparent, newname, &dir);

	if (err)
		return err;
	if (!in || in->gone)
		return ENOENT;
	if (in->dir) {
		char path[LOG_PATH_MAX];

		warn_once(WARN_LINK, path_of(newparent, newname, path, sizeof(path)),
			  "link of a directory refused (EPERM)");
		return EPERM;
	}
	if (in->rec.nlink >= FS_LINK_MAX)
		return EMLINK;
	rec = in->rec;
	rec.nlink++;
	now(&rec.ctime_sec, &rec.ctime_nsec);
	prec = dir->rec;
	prec.mtime_sec = prec.ctime_sec = rec.ctime_sec;
	prec.mtime_nsec = prec.ctime_nsec = rec.ctime_nsec;
	err = txn_record(&t, ino, &rec) < 0 || txn_record(&t, newparent, &prec) < 0 ? ENOMEM : 0;
	if (!err) {
		txn_dirent(&t, newparent, newname, len, ino, dtype_of(rec.mode));
		err = txn_commit(&t);
	}
	txn_release(&t);
	if (err)
		return err;
	in->rec = rec;
	dir->rec = prec;
	if (link_add(dir, newname, len, ino, dtype_of(rec.mode)) < 0) {
		fs_log("out of memory after a settled link; remount to see %s", newname);
		return ENOMEM;
	}
	in->nlookup++;
	*ret = in;
	return 0;
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct inode *in = NULL;
	int err;

	pthread_mutex_lock(&fs.mu);
	err = fs.ro ? EROFS : add_link(ino, newparent, newname, &in);
	reply_entry_unlock(req, err, in);
}

/*
 * Removes name from parent (unlink or rmdir) as one transaction: the entry, the child's
 * record (deleted when it has no name left, else its link count and ctime), the parent's
 * record. fs.mu held.
 */
static int remove_name(fuse_ino_t parent, const char *name, bool want_dir)
{
	struct inode *dir = inode_get(parent), *in;
	struct fs_record prec, rec;
	bool last;
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
	last = want_dir || in->rec.nlink <= 1;
	rec = in->rec;
	rec.nlink--;
	rec.ctime_sec = prec.mtime_sec;
	rec.ctime_nsec = prec.mtime_nsec;
	txn_dirent(&t, parent, name, len, 0, 0);
	err = txn_record(&t, in->ino, last ? NULL : &rec) < 0 || txn_record(&t, parent, &prec) < 0
		      ? ENOMEM
		      : 0;
	if (!err)
		err = txn_commit(&t);
	txn_release(&t);
	if (err)
		return err;
	dir->rec = prec;
	link_remove(dir, l);
	if (!last) {
		in->rec = rec; /* other names remain */
		return 0;
	}
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

/* The records of two directories whose names changed, at time (sec, nsec): from, and to
 * (the same record when from is to). fs.mu held. */
static void touch_dirs(const struct inode *from, const struct inode *to, int64_t sec,
		       uint32_t nsec, struct fs_record *ret_from, struct fs_record *ret_to)
{
	*ret_from = from->rec;
	ret_from->mtime_sec = ret_from->ctime_sec = sec;
	ret_from->mtime_nsec = ret_from->ctime_nsec = nsec;
	*ret_to = to->rec;
	ret_to->mtime_sec = ret_to->ctime_sec = sec;
	ret_to->mtime_nsec = ret_to->ctime_nsec = nsec;
}

/*
 * renameat2(RENAME_EXCHANGE) as one transaction: each name now names the other's inode
 * (the two directory entries rewritten), each inode keeps its own history (no history
 * link is made: nothing is replaced), a directory that changes parent gets its new parent
 * pointer, and the parents' link counts follow the directories that moved. fs.mu held.
 */
static int do_exchange(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname)
{
	struct inode *from = inode_get(parent), *to = inode_get(newparent), *a, *b;
	struct fs_record frec, trec, arec, brec;
	size_t len = strlen(name), nlen = strlen(newname);
	struct link *la, *lb;
	struct txn t = {0};
	int err;

	if (len > FS_NAME_MAX || nlen > FS_NAME_MAX)
		return ENAMETOOLONG;
	if (!from || !to || !from->dir || !to->dir)
		return from && to ? ENOTDIR : ENOENT;
	la = link_find(parent, name, len);
	lb = link_find(newparent, newname, nlen);
	a = la ? inode_get(la->ino) : NULL;
	b = lb ? inode_get(lb->ino) : NULL;
	if (!a || !b)
		return ENOENT;
	if (la == lb || a == b)
		return 0; /* one name, or two names of one inode: nothing changes */
	if ((a->dir && is_under(to, a->ino)) || (b->dir && is_under(from, b->ino)))
		return EINVAL; /* a directory into itself */

	arec = a->rec;
	brec = b->rec;
	now(&arec.ctime_sec, &arec.ctime_nsec);
	brec.ctime_sec = arec.ctime_sec;
	brec.ctime_nsec = arec.ctime_nsec;
	touch_dirs(from, to, arec.ctime_sec, arec.ctime_nsec, &frec, &trec);
	if (parent != newparent) {
		if (a->dir) {
			arec.parent = newparent;
			frec.nlink--;
			trec.nlink++;
		}
		if (b->dir) {
			brec.parent = parent;
			trec.nlink--;
			frec.nlink++;
		}
	}
	txn_dirent(&t, parent, name, len, b->ino, dtype_of(b->rec.mode));
	txn_dirent(&t, newparent, newname, nlen, a->ino, dtype_of(a->rec.mode));
	err = txn_record(&t, a->ino, &arec) < 0 || txn_record(&t, b->ino, &brec) < 0 ||
		      txn_record(&t, parent, &frec) < 0 ||
		      (parent != newparent && txn_record(&t, newparent, &trec) < 0)
		  ? ENOMEM
		  : txn_commit(&t);
	txn_release(&t);
	if (err)
		return err;
	a->rec = arec;
	b->rec = brec;
	from->rec = frec;
	if (parent != newparent)
		to->rec = trec;
	/* The names stay where they are in their directories (readdir offsets too); what
	 * they name is swapped. */
	la->ino = b->ino;
	la->type = dtype_of(b->rec.mode);
	lb->ino = a->ino;
	lb->type = dtype_of(a->rec.mode);
	return 0;
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
	struct fs_record frec, trec, mrec, vrec;
	struct link *l, *old;
	bool vlast = true; /* the victim loses its last name */
	struct txn t = {0};
	size_t len = strlen(name), nlen = strlen(newname);
	int err;

	if (fs.ro)
		return EROFS;
	if (flags == RENAME_EXCHANGE)
		return do_exchange(parent, name, newparent, newname);
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
		if (old->ino == in->ino)
			return 0; /* two names of one inode: POSIX says do nothing */
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
	/* Replacing a file continues its history: `zgfs versions` of the name lists the
	 * replaced file's versions, then this one's (the safe save: write a temporary file,
	 * rename it over). */
	if (victim && !victim->dir && victim->rec.nlink > 1) {
		vlast = false; /* a hard link replaced: the inode keeps its other names */
		vrec = victim->rec;
		vrec.nlink--;
		vrec.ctime_sec = frec.mtime_sec;
		vrec.ctime_nsec = frec.mtime_nsec;
	}
	if (victim && vlast && S_ISREG(victim->rec.mode) && S_ISREG(in->rec.mode))
		mrec.prev = victim->ino;
	mrec.ctime_sec = frec.mtime_sec;
	mrec.ctime_nsec = frec.mtime_nsec;

	txn_dirent(&t, parent, name, len, 0, 0);
	txn_dirent(&t, newparent, newname, nlen, in->ino, dtype_of(in->rec.mode));
	err = txn_record(&t, in->ino, &mrec) < 0 || txn_record(&t, parent, &frec) < 0 ? ENOMEM : 0;
	if (!err && parent != newparent)
		err = txn_record(&t, newparent, &trec) < 0 ? ENOMEM : 0;
	if (!err && victim)
		err = txn_record(&t, victim->ino, vlast ? NULL : &vrec) < 0 ? ENOMEM : 0;
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
		if (victim && !vlast) {
			victim->rec = vrec;
		} else if (victim) {
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

/* The regular file named name in parent, held (refs) for the caller, or NULL. */
static struct inode *hold_file(fuse_ino_t parent, const char *name)
{
	size_t len = strlen(name);
	struct link *l;
	struct inode *in = NULL;

	pthread_mutex_lock(&fs.mu);
	l = len <= FS_NAME_MAX ? link_find(parent, name, len) : NULL;
	if (l && (in = inode_get(l->ino)) && S_ISREG(in->rec.mode))
		in->refs++;
	else
		in = NULL;
	pthread_mutex_unlock(&fs.mu);
	return in;
}

static void release_file(struct inode *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&fs.mu);
	in->refs--;
	inode_maybe_free(in);
	pthread_mutex_unlock(&fs.mu);
}

/* Commits the uncommitted writes of the files a rename moves (held, wmu taken here in
 * inode order, so that two exchanges cannot deadlock); 0 or an errno. */
static int commit_moved(struct inode *a, struct inode *b)
{
	struct inode *first = a, *second = b;
	int err = 0;

	if (a && b && b->ino < a->ino) {
		first = b;
		second = a;
	}
	if (first)
		pthread_mutex_lock(&first->wmu);
	if (second)
		pthread_mutex_lock(&second->wmu);
	if (a)
		err = commit_nowait(a);
	if (!err && b)
		err = commit_nowait(b);
	return err;
}

/*
 * A rename carries the moved file's content as it is: its uncommitted writes (which
 * --writeback leaves to the flusher, and any descriptor still writing has) are committed
 * first, and their record settles with the rename's transaction or before it. Otherwise
 * the rename would settle the name onto the file's last committed content, and a crash
 * after it would show under the new name something older than what either name held
 * (the zero-length file after a crash that ext4's auto_da_alloc exists to prevent). An
 * exchange moves both files, so both are committed.
 */
static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct inode *a = fs.ro ? NULL : hold_file(parent, name), *b = NULL;
	int err;

	if (!fs.ro && flags == RENAME_EXCHANGE)
		b = hold_file(newparent, newname);
	if (a && a == b) {
		release_file(b);
		b = NULL;
	}
	err = commit_moved(a, b);
	if (!err) {
		pthread_mutex_lock(&fs.mu);
		err = do_rename(parent, name, newparent, newname, flags);
		pthread_mutex_unlock(&fs.mu);
	}
	if (a)
		pthread_mutex_unlock(&a->wmu);
	if (b)
		pthread_mutex_unlock(&b->wmu);
	release_file(a);
	release_file(b);
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
	pthread_mutex_init(&h->rmu, NULL);
	in->opens++;
	in->wopens += h->writable;
	*ret = h;
	return 0;
}

/* Closes a handle: the inode may go with it. fs.mu not held. */
static void handle_drop(struct handle *h)
{
	struct inode *in = h->in;

	pthread_mutex_lock(&fs.mu);
	in->opens--;
	in->wopens -= h->writable;
	inode_maybe_free(in);
	pthread_mutex_unlock(&fs.mu);
	pthread_mutex_destroy(&h->rmu);
	free(h->cache);
	free(h);
}

static void set_open_flags(struct fuse_file_info *fi, struct handle *h)
{
	fi->fh = (uint64_t)(uintptr_t)h;
	/*
	 * Every change to a file goes through the kernel's page cache (writes are passed
	 * through at once), so cached pages stay right across opens. An append-only file's
	 * writers bypass the cache instead: a shared writable mapping, which could write
	 * pages back below EOF, is then refused by the kernel (ENODEV) rather than failing
	 * later at writeback.
	 */
	fi->keep_cache = !(h->writable && append_only(h->in));
	fi->direct_io = h->writable && append_only(h->in);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = NULL;
	struct inode *in;
	bool trunc = (fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY;
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
	else
		err = handle_new(in, fi->flags, &h);
	pthread_mutex_unlock(&fs.mu);
	if (!err && trunc) {
		/* The kernel leaves O_TRUNC to us (atomic_o_trunc). The empty content is not a
		 * version of its own: what is written before the close commits with it. */
		pthread_mutex_lock(&in->wmu);
		pthread_mutex_lock(&fs.mu);
		if (content_size(in) != 0)
			err = set_size(in, 0);
		pthread_mutex_unlock(&fs.mu);
		pthread_mutex_unlock(&in->wmu);
	}
	if (err) {
		if (h) {
			handle_drop(h);
		}
		fuse_reply_err(req, err);
		return;
	}
	set_open_flags(fi, h);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		handle_drop(h); /* the opener went away */
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
	err = make_node(req, parent, name, S_IFREG | (mode & 07777), NULL, 0, &in);
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

/* --- the uncommitted content ---------------------------------------------------------- */

/* The content to change: the settled map, copied the first time. fs.mu and wmu held. */
static int work_of(struct inode *in, struct fs_map **ret)
{
	struct fs_map *m;
	int r;

	if (in->work) {
		*ret = in->work;
		return 0;
	}
	m = malloc(sizeof(*m));
	if (!m)
		return ENOMEM;
	r = fs_map_init(m, in->rec.extents, in->rec.nextents, in->rec.size);
	if (r < 0) {
		free(m);
		return -r;
	}
	in->work = m;
	in->dnext = fs.dirty;
	fs.dirty = in;
	clock_gettime(CLOCK_MONOTONIC, &in->dirty_since);
	*ret = m;
	return 0;
}

/* Forget the uncommitted content (committed, or lost with a failed upload). fs.mu held. */
static void work_drop(struct inode *in)
{
	struct inode **pp = &fs.dirty;

	if (!in->work)
		return;
	while (*pp && *pp != in)
		pp = &(*pp)->dnext;
	if (*pp)
		*pp = in->dnext;
	in->dnext = NULL;
	fs_map_release(in->work);
	free(in->work);
	in->work = NULL;
	in->gen++;
}

/* fs.mu and wmu held. */
static int set_size(struct inode *in, uint64_t size)
{
	struct fs_map *m;
	int err = work_of(in, &m);

	if (!err)
		err = -fs_map_truncate(m, size);
	if (!err) {
		in->gen++;
		now(&in->write_sec, &in->write_nsec);
		in->mtime_set = false;
	}
	return err;
}

/* The upload failed: what it held is gone, the file is its settled version again, and
 * the next flush or fsync reports the error. wmu held. */
static void upload_lost(struct inode *in, int err)
{
	if (in->up)
		__atomic_sub_fetch(&fs.nuploads, 1, __ATOMIC_RELAXED);
	node_upload_abort(in->up);
	in->up = NULL;
	in->up_len = 0;
	pthread_mutex_lock(&fs.mu);
	work_drop(in);
	/* The kernel's page cache still has the lost bytes: the worker drops them (not from
	 * here, inside a request on this very inode). */
	in->stale = true;
	fs.any_stale = true;
	pthread_cond_signal(&fs.wake);
	pthread_mutex_unlock(&fs.mu);
	in->werr = err;
}

/* Extents whose merkle-ordered content is a copy of rec's, with PENDING now `seq`. */
static int settled_extents(const struct fs_map *m, uint64_t seq, struct fs_extent **ret)
{
	struct fs_extent *v = malloc((m->n + 1) * sizeof(*v));

	if (!v)
		return ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		v[i] = m->v[i];
		if (v[i].tx_seq == PENDING)
			v[i].tx_seq = seq;
	}
	*ret = v;
	return 0;
}

static void queue_compaction(struct inode *in);
static int compact_locked(struct inode *in);

/* Extents past which a file of this size is compacted (limits.h says why). */
static size_t compact_threshold(uint64_t size)
{
	uint64_t x = size / 24, r = 0;

	for (uint64_t bit = 1ULL << 62; bit; bit >>= 2) { /* integer square root */
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
	}
	return r < FS_COMPACT_EXTENTS ? FS_COMPACT_EXTENTS
	       : r > FS_COMPACT_EXTENTS_HARD ? FS_COMPACT_EXTENTS_HARD
					       : (size_t)r;
}

/*
 * commit() - settle the file's uncommitted content: its upload becomes an entry, then one
 * KV transaction writes the new map into the inode record. Returns 0 or an errno; on
 * error the file is its last settled version again. wmu held (not fs.mu).
 */
static int commit_ex(struct inode *in, bool wait)
{
	struct node_file_info *fi = NULL;
	uint64_t seq = PENDING;
	struct fs_record rec;
	struct fs_extent *ext = NULL;
	struct txn t = {0};
	struct lwait w;
	bool waiting = false;
	uint64_t t0;
	int err, r;

	if (in->werr) {
		err = in->werr;
		in->werr = 0; /* reported once, like a write-back error */
		return err;
	}
	if (!in->work)
		return wait ? later_settle(in) : 0; /* a file created and closed unwritten */
	t0 = sys_now_ns();
	if (in->up) {
		fi = malloc(sizeof(*fi));
		if (!fi)
			return ENOMEM;
		/* Durable with the record that names it, which settles next (group commit). */
		r = node_upload_finish_lazy(in->up, fi);
		in->up = NULL;
		__atomic_sub_fetch(&fs.nuploads, 1, __ATOMIC_RELAXED);
		if (r < 0) {
			fs_log("inode %" PRIu64 ": %" PRIu64 " written bytes not settled: %s", in->ino,
			       in->up_len, why(r));
			in->up_len = 0;
			upload_lost(in, to_errno(r));
			in->werr = 0;
			free(fi);
			return to_errno(r);
		}
		seq = fi->entry.tx_seq;
		free(fi);
		in->done_id = in->up_id;
		in->done_seq = seq;
		in->up_len = 0;
	}
	pthread_mutex_lock(&fs.mu);
	err = settled_extents(in->work, seq, &ext);
	if (err)
		goto out;
	rec = in->rec;
	rec.extents = ext;
	rec.nextents = in->work->n;
	rec.size = in->work->size;
	rec.flags &= ~FS_REC_COMPACTED;
	/* mtime is when the bytes were written, unless utimens set it since. */
	if (!in->mtime_set) {
		rec.mtime_sec = in->write_sec;
		rec.mtime_nsec = in->write_nsec;
	}
	now(&rec.ctime_sec, &rec.ctime_nsec);
	if (!in->gone) {
		/* The new record joins the queue and memory shows it at once; the wait for it
		 * to settle is without fs.mu, beside other files' commits (see "group commit"). */
		err = txn_record(&t, in->ino, &rec) < 0 ? ENOMEM : later_add(&t, true, wait ? &w : NULL, &in->later_gen);
		txn_release(&t);
		if (err) {
			free(ext);
			work_drop(in); /* the entry is in the log, but no version names it */
			goto out;
		}
		waiting = wait;
	}
	free(in->rec.extents);
	in->rec = rec;
	work_drop(in);
	if (in->rec.nextents > compact_threshold(in->rec.size))
		queue_compaction(in);
out:
	pthread_mutex_unlock(&fs.mu);
	if (waiting) {
		r = later_wait(&w);
		err = r < 0 ? to_errno(r) : 0;
	}
	fs_metrics_commit(t0, err);
	return err;
}

static int commit(struct inode *in)
{
	return commit_ex(in, true);
}

/* A commit whose record settles with the next transaction (see "group commit"). */
static int commit_nowait(struct inode *in)
{
	return commit_ex(in, false);
}

/*
 * Many files with uncommitted writes hold as many uploads (each a pack file of the node
 * while it is written): past FS_UPLOADS_MAX, the file that has been dirty longest is
 * committed first. Its lock is only tried (the caller holds its own): a bound, not a wall.
 */
static void commit_oldest(struct inode *self)
{
	struct inode *old = NULL;
	int err;

	pthread_mutex_lock(&fs.mu);
	for (struct inode *in = fs.dirty; in; in = in->dnext)
		if (in != self && in->up)
			old = in; /* the list is newest first */
	if (old)
		old->refs++;
	pthread_mutex_unlock(&fs.mu);
	if (!old)
		return;
	if (pthread_mutex_trylock(&old->wmu) == 0) {
		err = commit_nowait(old); /* the writer waiting here needs the pack, not the record */
		pthread_mutex_unlock(&old->wmu);
		if (err)
			fs_log("inode %" PRIu64 ": writes not settled: %s", old->ino, strerror(err));
	}
	pthread_mutex_lock(&fs.mu);
	old->refs--;
	inode_maybe_free(old);
	pthread_mutex_unlock(&fs.mu);
}

/* Bytes of the upload the file still shows. wmu held. */
static uint64_t pending_live(struct inode *in)
{
	uint64_t live = 0;

	pthread_mutex_lock(&fs.mu);
	for (size_t i = 0; in->work && i < in->work->n; i++)
		if (in->work->v[i].tx_seq == PENDING)
			live += in->work->v[i].length;
	pthread_mutex_unlock(&fs.mu);
	return live;
}

static struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/*
 * Lay size bytes at off over the file: appended to its upload, then mapped. A write that
 * would pass a bound commits what is there first. wmu held.
 */
static int write_bytes(struct inode *in, const void *buf, size_t size, uint64_t off)
{
	struct fs_map *m = NULL;
	int err, r;

	/* Settle first when the upload is full, or mostly bytes written over since. */
	if (in->up && (in->up_len > FS_UPLOAD_MAX - size ||
		       (in->up_len / FS_UPLOAD_CHECK != (in->up_len + size) / FS_UPLOAD_CHECK &&
			pending_live(in) < in->up_len / 2))) {
		err = commit(in);
		if (err)
			return err;
	}
	if (!in->up) {
		if (__atomic_load_n(&fs.nuploads, __ATOMIC_RELAXED) >= FS_UPLOADS_MAX)
			commit_oldest(in);
		r = node_upload_begin(fs.node, NULL, 0, &in->up);
		if (r < 0)
			return to_errno(r);
		__atomic_add_fetch(&fs.nuploads, 1, __ATOMIC_RELAXED);
		in->up_len = 0;
		in->up_id++;
	}
	r = node_upload_write(in->up, buf, size);
	if (r < 0) {
		upload_lost(in, to_errno(r));
		in->werr = 0;
		return to_errno(r);
	}
	pthread_mutex_lock(&fs.mu);
	err = work_of(in, &m);
	if (!err)
		err = -fs_map_put(m, off, &(struct fs_extent){PENDING, in->up_len, size});
	if (!err) {
		in->gen++;
		now(&in->write_sec, &in->write_nsec);
		in->mtime_set = false;
	}
	pthread_mutex_unlock(&fs.mu);
	in->up_len += size; /* taken by the upload even when the map refused them */
	if (err == EFBIG && m && m->n + 4 > FS_EXTENTS_MAX) {
		/* Too many pieces: settle them, rewrite the file as one entry, then write. */
		err = commit(in);
		if (!err)
			err = compact_locked(in);
		if (!err)
			err = write_bytes(in, buf, size, off);
	}
	return err;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct inode *in = h->in;
	int err = 0;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&in->wmu);
	pthread_mutex_lock(&fs.mu);
	if (append_only(in) && (uint64_t)off != content_size(in)) {
		/* Strict append-only: below EOF changes bytes; past it leaves a hole, which is
		 * still an append (of zeros) as it always was. */
		if ((uint64_t)off < content_size(in))
			err = EPERM;
	}
	pthread_mutex_unlock(&fs.mu);
	if (!err)
		err = write_bytes(in, buf, size, (uint64_t)off);
	pthread_mutex_unlock(&in->wmu);
	if (err) {
		fuse_reply_err(req, err);
	} else {
		atomic_fetch_add_explicit(&fs_metrics.write_bytes, size, memory_order_relaxed);
		fuse_reply_write(req, size);
	}
}

/* Commits what the file has uncommitted, unless --writeback leaves that to the flusher. */
static int flush_file(struct inode *in, bool durable)
{
	int err = 0;

	if (!durable && fs.writeback)
		return 0;
	pthread_mutex_lock(&in->wmu);
	err = commit(in);
	pthread_mutex_unlock(&in->wmu);
	return err;
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);

	/* A reader's close commits nothing: the writers' closes do. */
	fuse_reply_err(req, h->writable ? flush_file(h->in, false) : 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, flush_file(H(fi)->in, true));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct inode *in = h->in;
	int err = 0;

	/* A shared mapping's pages may be written back after the last close's flush. */
	if (h->writable)
		err = flush_file(in, false);
	handle_drop(h);
	/* close() has already returned what flush said; this only reaches the log. */
	if (err)
		fs_log("inode %" PRIu64 ": last writes not settled at close: %s", ino, strerror(err));
	fuse_reply_err(req, 0);
}

/* --- reading ------------------------------------------------------------------------ */

/* A piece of a read: bytes [off, off + len) of entry seq (PENDING: of upload id). */
struct piece {
	uint64_t seq, off, len;
};

#define PIECES_MAX 64

/*
 * The pieces of [off, off + len) of the file as it is now, at most PIECES_MAX (the read is
 * shortened to them) and the end of the file. Returns the bytes covered. fs.mu held.
 */
static uint64_t pieces_of(const struct inode *in, uint64_t off, uint64_t len, struct piece *p,
			  size_t *ret_n, uint64_t *ret_up_id)
{
	const struct fs_extent *v = in->work ? in->work->v : in->rec.extents;
	size_t n = in->work ? in->work->n : in->rec.nextents, k = 0, i = 0;
	uint64_t size = content_size(in), at = 0, covered = 0;

	*ret_up_id = in->up_id;
	if (off >= size) {
		*ret_n = 0;
		return 0;
	}
	if (len > size - off)
		len = size - off;
	if (in->work) {
		i = fs_map_find(in->work, off);
		at = in->work->pos[i];
	} else {
		while (i < n && at + v[i].length <= off)
			at += v[i++].length;
	}
	for (; i < n && covered < len && k < PIECES_MAX; i++) {
		uint64_t rel = off + covered - at, take = v[i].length - rel;

		if (take > len - covered)
			take = len - covered;
		p[k++] = (struct piece){v[i].tx_seq, v[i].offset + rel, take};
		covered += take;
		at += v[i].length;
	}
	*ret_n = k;
	return covered;
}

/* Uncommitted bytes of upload `id`: from the upload, or the entry it became. 1: neither
 * (a later commit or a failure replaced it; read again). */
static int read_pending(struct inode *in, uint64_t id, const struct piece *p, uint8_t *out)
{
	size_t got = 0;
	int r;

	pthread_mutex_lock(&in->wmu);
	if (in->up && in->up_id == id)
		r = node_upload_read(in->up, p->off, out, (size_t)p->len, &got);
	else if (in->done_id == id)
		r = node_read(fs.node, in->done_seq, p->off, out, (size_t)p->len, &got);
	else
		r = 1;
	pthread_mutex_unlock(&in->wmu);
	if (r == 0 && got != p->len)
		r = -EIO;
	return r;
}

/* fs.mu not held. */
static void log_corrupt(fuse_ino_t ino, uint64_t seq, uint64_t off)
{
	char path[LOG_PATH_MAX];

	atomic_fetch_add_explicit(&fs_metrics.corrupt_reads, 1, memory_order_relaxed);
	fs_log("CORRUPT DATA: %s (inode %" PRIu64 "), log entry %" PRIu64 " (tx seq): reading "
	       "file bytes from %" PRIu64 " failed verification or I/O; the read returned EIO, "
	       "not the stored bytes",
	       path_now(ino, NULL, path), (uint64_t)ino, seq, off);
}

/*
 * read_content() - bytes [off, off + len) of the file as it is now, committed or not:
 * holes as zeros, entries verified by the node, uncommitted bytes from the upload.
 * Returns the bytes read (fewer at EOF) or -errno.
 */
static ssize_t read_content(struct inode *in, uint64_t off, uint8_t *out, size_t len)
{
	size_t done = 0;

	for (int tries = 0; done < len && tries < 1000;) {
		struct piece p[PIECES_MAX];
		uint64_t up_id, covered;
		size_t n;
		bool again = false;

		pthread_mutex_lock(&fs.mu);
		covered = pieces_of(in, off + done, len - done, p, &n, &up_id);
		pthread_mutex_unlock(&fs.mu);
		if (covered == 0)
			break;
		for (size_t i = 0; i < n && !again; i++) {
			int r = 0;
			size_t got = 0;

			if (p[i].seq == FS_HOLE) {
				memset(out + done, 0, (size_t)p[i].len);
			} else if (p[i].seq == PENDING) {
				r = read_pending(in, up_id, &p[i], out + done);
				if (r == 1) {
					again = true;
					tries++;
					continue;
				}
			} else {
				r = node_read(fs.node, p[i].seq, p[i].off, out + done, (size_t)p[i].len,
					      &got);
				if (r == 0 && got != p[i].len)
					r = -EIO; /* the entry is shorter than its extent says */
				if (r == -EIO)
					log_corrupt(in->ino, p[i].seq, off + done);
			}
			if (r < 0)
				return r;
			done += (size_t)p[i].len;
		}
	}
	return (ssize_t)done;
}

/*
 * Reads smaller than a window go through the handle's window cache: the window holding
 * the read is read (and verified by the node) whole, once. Returns bytes copied or -errno.
 */
static ssize_t read_cached(struct handle *h, uint64_t off, uint8_t *out, size_t size)
{
	struct inode *in = h->in;
	size_t done = 0;
	ssize_t r = 0;
	bool filled = false;

	pthread_mutex_lock(&h->rmu);
	if (!h->cache && !(h->cache = malloc(FS_READ_WINDOW))) {
		pthread_mutex_unlock(&h->rmu);
		return -ENOMEM;
	}
	while (done < size) {
		uint64_t pos = off + done, win = pos / FS_READ_WINDOW * FS_READ_WINDOW, gen;
		size_t n;

		pthread_mutex_lock(&fs.mu);
		gen = in->gen;
		pthread_mutex_unlock(&fs.mu);
		if (h->cache_gen != gen || h->cache_off != win || h->cache_len == 0) {
			h->cache_len = 0;
			filled = true;
			r = read_content(in, win, h->cache, FS_READ_WINDOW);
			if (r < 0)
				break;
			h->cache_len = (size_t)r;
			h->cache_off = win;
			h->cache_gen = gen; /* as of before the read: a change since refills it */
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
	atomic_fetch_add_explicit(filled ? &fs_metrics.read_cache_misses
					 : &fs_metrics.read_cache_hits,
				  1, memory_order_relaxed);
	return r < 0 ? r : (ssize_t)done;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	uint8_t *buf;
	ssize_t got;
	bool dirty;

	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs.mu);
	dirty = h->in->work != NULL;
	pthread_mutex_unlock(&fs.mu);
	/* The window cache holds settled bytes; a file being written is read as it is. */
	if (size < FS_READ_WINDOW && !dirty)
		got = read_cached(h, (uint64_t)off, buf, size);
	else
		got = read_content(h->in, (uint64_t)off, buf, size);
	if (got < 0) {
		fuse_reply_err(req, to_errno((int)got));
	} else {
		atomic_fetch_add_explicit(&fs_metrics.read_bytes, (uint64_t)got,
					  memory_order_relaxed);
		fuse_reply_buf(req, (const char *)buf, (size_t)got);
	}
	free(buf);
}

/* --- compaction and the flusher --------------------------------------------------- */

/*
 * compact_locked() - rewrite a settled file as one entry: the same content, read back
 * verified, a new version flagged FS_REC_COMPACTED (not listed by fs_versions) whose root
 * is the file's 0G root. Writers wait on wmu meanwhile. A file with uncommitted writes, or
 * whose holes would become too many zeros, is left as it is. wmu held.
 */
static int compact_locked(struct inode *in)
{
	struct node_file_info *fi = NULL;
	struct node_upload *up = NULL;
	struct fs_record rec;
	struct fs_extent one;
	struct txn t = {0};
	uint64_t size, holes = 0, off = 0;
	uint8_t *buf = NULL;
	int r = 0, err = 0;

	pthread_mutex_lock(&fs.mu);
	size = in->rec.size;
	for (size_t i = 0; i < in->rec.nextents; i++)
		if (in->rec.extents[i].tx_seq == FS_HOLE)
			holes += in->rec.extents[i].length;
	if (in->work || in->gone || in->rec.nextents <= 1 || size == 0 ||
	    holes > FS_COMPACT_HOLES_MAX) {
		pthread_mutex_unlock(&fs.mu);
		return 0;
	}
	pthread_mutex_unlock(&fs.mu);
	buf = malloc(FS_HASH_BUFFER);
	fi = malloc(sizeof(*fi));
	if (!buf || !fi) {
		err = ENOMEM;
		goto out;
	}
	r = node_upload_begin(fs.node, NULL, 0, &up);
	while (r == 0 && off < size) {
		ssize_t got = read_content(in, off, buf, FS_HASH_BUFFER);

		if (got <= 0) {
			r = got < 0 ? (int)got : -EIO;
			break;
		}
		r = node_upload_write(up, buf, (size_t)got);
		off += (uint64_t)got;
	}
	if (r == 0) {
		r = node_upload_finish_lazy(up, fi); /* durable with its record, settled next */
		up = NULL;
	}
	if (r < 0) {
		fs_log("inode %" PRIu64 ": compaction not settled: %s", in->ino, why(r));
		err = to_errno(r);
		goto out;
	}
	one = (struct fs_extent){fi->entry.tx_seq, 0, size};
	pthread_mutex_lock(&fs.mu);
	rec = in->rec;
	rec.extents = &one;
	rec.nextents = 1;
	rec.flags |= FS_REC_COMPACTED;
	err = in->gone ? 0 : txn_record(&t, in->ino, &rec) < 0 ? ENOMEM : txn_commit(&t);
	txn_release(&t);
	if (!err) {
		struct fs_extent *e = malloc(sizeof(*e));

		if (e) {
			*e = one;
			free(in->rec.extents);
			in->rec = rec;
			in->rec.extents = e;
			in->gen++;
		} else {
			err = ENOMEM; /* settled; the next mount reads it so */
		}
	}
	pthread_mutex_unlock(&fs.mu);
out:
	node_upload_abort(up);
	free(fi);
	free(buf);
	return err;
}

/* Queue a file for compaction by the worker. fs.mu held. */
static void queue_compaction(struct inode *in)
{
	if (in->queued || !fs.worker_running)
		return;
	if (fs.nqueue == fs.queue_cap) {
		size_t cap = fs.queue_cap ? 2 * fs.queue_cap : 64;
		struct inode **q = realloc(fs.queue, cap * sizeof(*q));

		if (!q)
			return; /* it stays fragmented until its next commit */
		fs.queue = q;
		fs.queue_cap = cap;
	}
	in->queued = true;
	in->refs++;
	fs.queue[fs.nqueue++] = in;
	pthread_cond_signal(&fs.wake);
}


/* Runs fn on each inode that pick() chooses, without fs.mu, holding a reference. */
static void for_each_dirty(bool (*pick)(struct inode *), int (*fn)(struct inode *))
{
	struct inode *batch[64];
	size_t n = 0;

	for (struct inode *in = fs.dirty; in && n < 64; in = in->dnext)
		if (pick(in)) {
			in->refs++;
			batch[n++] = in;
		}
	pthread_mutex_unlock(&fs.mu);
	for (size_t i = 0; i < n; i++) {
		int err;

		pthread_mutex_lock(&batch[i]->wmu);
		err = fn(batch[i]);
		pthread_mutex_unlock(&batch[i]->wmu);
		if (err)
			fs_log("inode %" PRIu64 ": writes not settled in the background: %s",
			       batch[i]->ino, strerror(err));
	}
	pthread_mutex_lock(&fs.mu);
	for (size_t i = 0; i < n; i++) {
		batch[i]->refs--;
		inode_maybe_free(batch[i]);
	}
}

static bool due(struct inode *in)
{
	return age_ms(&in->dirty_since) >= FS_WRITEBACK_DELAY_MS;
}

static bool any(struct inode *in)
{
	return true;
}

/* Drops the kernel's cached pages and attributes of files whose uncommitted writes were
 * lost, so that readers see the settled content. fs.mu held. */
static void invalidate_stale(void)
{
	while (fs.any_stale) {
		struct inode *found = NULL;

		fs.any_stale = false;
		for (size_t b = 0; b < fs.ninodes_cap && !found; b++)
			for (struct inode *in = fs.inodes[b]; in && !found; in = in->next)
				if (in->stale)
					found = in;
		if (found) {
			uint64_t ino = found->ino;

			found->stale = false;
			fs.any_stale = true; /* there may be more */
			pthread_mutex_unlock(&fs.mu);
			fuse_lowlevel_notify_inval_inode(fs.se, ino, 0, 0);
			pthread_mutex_lock(&fs.mu);
		}
	}
}

/* The worker: compaction of queued files, and with --writeback the commits that close()
 * left, within FS_WRITEBACK_DELAY_MS. */
static void *worker_main(void *arg)
{
	pthread_mutex_lock(&fs.mu);
	while (!fs.stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!fs.nqueue)
			pthread_cond_timedwait(&fs.wake, &fs.mu, &ts);
		while (fs.nqueue && !fs.stopping) {
			struct inode *in = fs.queue[--fs.nqueue];
			int err;

			in->queued = false;
			pthread_mutex_unlock(&fs.mu);
			pthread_mutex_lock(&in->wmu);
			err = compact_locked(in);
			pthread_mutex_unlock(&in->wmu);
			pthread_mutex_lock(&fs.mu);
			if (err)
				fs_log("inode %" PRIu64 ": not compacted: %s", in->ino, strerror(err));
			in->refs--;
			inode_maybe_free(in);
		}
		if (fs.writeback && fs.dirty) {
			/* One metadata transaction for the files committed in the background. */
			for_each_dirty(due, commit_nowait);
			pthread_mutex_unlock(&fs.mu);
			if (later_settle(NULL))
				fs_log("writes not settled in the background; retried");
			pthread_mutex_lock(&fs.mu);
		}
		if (later_due()) {
			pthread_mutex_unlock(&fs.mu);
			if (later_settle(NULL))
				fs_log("new names not settled in the background; retried");
			pthread_mutex_lock(&fs.mu);
		}
		invalidate_stale();
	}
	while (fs.nqueue) {
		struct inode *in = fs.queue[--fs.nqueue];

		in->queued = false;
		in->refs--;
	}
	pthread_mutex_unlock(&fs.mu);
	return NULL;
}

/* At unmount: stop the worker, then commit whatever is left uncommitted. */
static void settle_all(void)
{
	pthread_mutex_lock(&fs.mu);
	fs.stopping = true;
	pthread_cond_signal(&fs.wake);
	pthread_mutex_unlock(&fs.mu);
	if (fs.worker_running)
		pthread_join(fs.worker, NULL);
	fs.worker_running = false;
	pthread_mutex_lock(&fs.mu);
	for (int round = 0; fs.dirty && round < 1000; round++)
		for_each_dirty(any, commit);
	if (later_settle(NULL))
		fs_log("new names not settled at unmount");
	pthread_mutex_unlock(&fs.mu);
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

/* Settles the new names that wait for a transaction (see "group commit"). */
static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int err = later_settle(NULL);

	fuse_reply_err(req, err);
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
	/* The data directory's filesystem as it reports itself, so that df of the mount agrees
	 * with df of that disk: free in all (f_bfree) beside what an unprivileged writer may
	 * use (f_bavail); its inodes likewise. A remote node that does not say gives
	 * available as free, and inodes as many as 4 KiB blocks free. */
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = st.disk_total / 4096;
	sv.f_bavail = st.disk_free / 4096;
	sv.f_bfree = st.disk_free_all >= st.disk_free ? st.disk_free_all / 4096 : sv.f_bavail;
	if (st.files_total) {
		sv.f_files = st.files_total;
		sv.f_ffree = sv.f_favail = st.files_free;
	} else {
		pthread_mutex_lock(&fs.mu);
		sv.f_files = fs.ninodes + sv.f_bfree;
		pthread_mutex_unlock(&fs.mu);
		sv.f_ffree = sv.f_favail = sv.f_bfree;
	}
	sv.f_namemax = FS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/*
 * fallocate: space is not reserved (entries are written when committed), so mode 0 only
 * grows the file (with a hole) and KEEP_SIZE changes nothing; PUNCH_HOLE lays a hole over
 * the range. Other modes are EOPNOTSUPP.
 */
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	struct inode *in = H(fi)->in;
	char path[LOG_PATH_MAX];
	uint64_t end;
	int err = 0;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE) ||
	    ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))) {
		warn_once(WARN_FALLOCATE, path_now(ino, NULL, path),
			  "fallocate modes other than 0, KEEP_SIZE and PUNCH_HOLE are not "
			  "supported (EOPNOTSUPP)");
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (offset < 0 || length <= 0 || (uint64_t)offset > UINT64_MAX / 2 - (uint64_t)length) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	end = (uint64_t)offset + (uint64_t)length;
	pthread_mutex_lock(&in->wmu);
	pthread_mutex_lock(&fs.mu);
	if (append_only(in) && (mode & FALLOC_FL_PUNCH_HOLE)) {
		err = EPERM;
	} else if (mode & FALLOC_FL_PUNCH_HOLE) {
		uint64_t size = content_size(in);
		struct fs_map *m;

		if ((uint64_t)offset < size) {
			err = work_of(in, &m);
			if (!err)
				err = -fs_map_put(m, (uint64_t)offset,
						  &(struct fs_extent){FS_HOLE, 0,
								      (end < size ? end : size) -
									      (uint64_t)offset});
			if (!err)
				in->gen++;
		}
	} else if (!(mode & FALLOC_FL_KEEP_SIZE) && end > content_size(in)) {
		err = set_size(in, end);
	}
	pthread_mutex_unlock(&fs.mu);
	pthread_mutex_unlock(&in->wmu);
	fuse_reply_err(req, err);
}

/* --- file flags: chattr / lsattr ------------------------------------------------------ */

/*
 * FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (chattr, lsattr) and FS_IOC_FSGETXATTR /
 * FS_IOC_FSSETXATTR (what the kernel asks first when it sets flags, and xfs_io). The
 * append-only flag is kept (the kernel checks CAP_LINUX_IMMUTABLE before it asks); any
 * other flag is EOPNOTSUPP. Other ioctls are ENOTTY.
 */
static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	bool get = cmd == FS_IOC_GETFLAGS || cmd == FS_IOC_FSGETXATTR;
	bool xattr = cmd == FS_IOC_FSGETXATTR || cmd == FS_IOC_FSSETXATTR;
	size_t need = xattr ? sizeof(struct fsxattr) : sizeof(int);
	struct fsxattr fx = {0};
	struct txn t = {0};
	struct fs_record rec;
	struct inode *in;
	int err = 0, attr = 0;
	bool append = false;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (cmd != FS_IOC_GETFLAGS && cmd != FS_IOC_SETFLAGS && !xattr) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if ((get && out_bufsz < need) || (!get && in_bufsz < need)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!get && xattr) {
		memcpy(&fx, in_buf, sizeof(fx));
		append = fx.fsx_xflags & FS_XFLAG_APPEND;
		if ((fx.fsx_xflags & ~FS_XFLAG_APPEND) || fx.fsx_extsize || fx.fsx_projid ||
		    fx.fsx_cowextsize)
			err = EOPNOTSUPP;
	} else if (!get) {
		memcpy(&attr, in_buf, sizeof(attr));
		append = attr & FS_APPEND_FL;
		if (attr & ~FS_APPEND_FL)
			err = EOPNOTSUPP;
	}
	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (!in) {
		err = ENOENT;
	} else if (get) {
		append = in->rec.flags & FS_REC_APPEND;
		attr = append ? FS_APPEND_FL : 0;
		fx.fsx_xflags = append ? FS_XFLAG_APPEND : 0;
		fx.fsx_nextents = (uint32_t)in->rec.nextents;
	} else if (!err) {
		rec = in->rec;
		if (fs.ro)
			err = EROFS;
		else if (!S_ISREG(in->rec.mode) && append)
			err = EOPNOTSUPP; /* append-only directories are not kept */
		if (!err && append != ((rec.flags & FS_REC_APPEND) != 0)) {
			rec.flags ^= FS_REC_APPEND;
			now(&rec.ctime_sec, &rec.ctime_nsec);
			err = txn_record(&t, ino, &rec) < 0 ? ENOMEM : txn_commit(&t);
			if (!err)
				in->rec = rec;
		}
	}
	txn_release(&t);
	pthread_mutex_unlock(&fs.mu);
	if (err)
		fuse_reply_err(req, err);
	else if (get)
		fuse_reply_ioctl(req, 0, xattr ? (void *)&fx : (void *)&attr, need);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
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

/* The 0G root of a file's content as it is now (written bytes not yet committed too). */
static int root_now(struct inode *in, uint8_t root[32])
{
	struct codec_merkle m;
	uint8_t *buf;
	uint64_t off = 0;
	int r;

	buf = malloc(FS_HASH_BUFFER);
	if (!buf)
		return -ENOMEM;
	r = codec_merkle_init(&m);
	while (r == 0) {
		ssize_t got = read_content(in, off, buf, FS_HASH_BUFFER);

		if (got <= 0) {
			r = got < 0 ? (int)got : 0;
			break;
		}
		r = codec_merkle_update(&m, buf, (size_t)got);
		off += (uint64_t)got;
	}
	if (r == 0)
		r = off ? codec_merkle_finish(&m, root, NULL, NULL, NULL) : -ENODATA;
	codec_merkle_release(&m);
	free(buf);
	return r;
}

static void xattr_root(fuse_ino_t ino, struct text *t)
{
	struct fs_extent *ext = NULL;
	struct inode *in;
	uint8_t root[32];
	char hex[67];
	size_t n = 0;
	bool reg = false, dirty = false;
	int r;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (in) {
		dirty = in->work != NULL;
		in->refs++;
	}
	pthread_mutex_unlock(&fs.mu);
	if (!in) {
		t->err = ENOENT;
		return;
	}
	t->err = extents_of(ino, &ext, &n, &reg);
	if (!t->err && !reg)
		t->err = ENODATA;
	if (!t->err) {
		r = dirty ? root_now(in, root) : fs_content_root(fs.node, ext, n, root);
		if (r < 0)
			t->err = r == -ENODATA ? ENODATA : to_errno(r);
	}
	free(ext);
	pthread_mutex_lock(&fs.mu);
	in->refs--;
	inode_maybe_free(in);
	pthread_mutex_unlock(&fs.mu);
	if (t->err)
		return;
	codec_hex_encode(root, 32, hex);
	text_add(t, "%s", hex);
}

/* The settled extents, one line each: tx_seq offset length root ("hole 0 length -"). */
static void xattr_extents(fuse_ino_t ino, struct text *t)
{
	struct fs_extent *ext = NULL;
	struct node_file_info *fi = malloc(sizeof(*fi));
	size_t n = 0;
	bool reg = false;

	t->err = fi ? extents_of(ino, &ext, &n, &reg) : ENOMEM;
	for (size_t i = 0; !t->err && i < n; i++) {
		char hex[67] = "-";

		if (ext[i].tx_seq == FS_HOLE) {
			text_add(t, "hole 0 %" PRIu64 " -\n", ext[i].length);
			continue;
		}
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

/* A line of user.zg.versions is at most this long: two 20-digit numbers and a root. */
#define VERSION_LINE_MAX 112

struct versions_ctx {
	struct fs_entry_cache *cache;
	struct text *t;
	uint64_t count, skip;
};

static int version_count(void *ctx, uint64_t seq, const struct fs_record *rec)
{
	((struct versions_ctx *)ctx)->count++;
	return 0;
}

static int version_line(void *ctx, uint64_t seq, const struct fs_record *rec)
{
	struct versions_ctx *c = ctx;
	char hex[67];

	if (c->skip) {
		c->skip--;
		return 0;
	}
	fs_version_root(fs.node, c->cache, rec, hex);
	text_add(c->t, "%" PRIu64 " %" PRIu64 " %s\n", seq, rec->size, hex);
	return c->t->err ? -c->t->err : 0;
}

/* Versions, oldest first, as `zgfs versions` prints them: the newest that fit in an
 * attribute, after a line saying how many older ones `zgfs versions` would add. */
static void xattr_versions(fuse_ino_t ino, struct text *t)
{
	struct versions_ctx c = {.t = t};
	uint64_t fit = (FS_XATTR_MAX - VERSION_LINE_MAX) / VERSION_LINE_MAX;
	int r = fs_versions(fs.node, fs.stream, ino, version_count, &c);

	if (r == 0 && c.count > fit) {
		c.skip = c.count - fit;
		text_add(t, "# %" PRIu64 " older versions not listed here: zgfs versions lists "
			    "them all\n", c.skip);
	}
	c.cache = r == 0 ? calloc(1, sizeof(*c.cache)) : NULL;
	if (r == 0 && !c.cache)
		r = -ENOMEM;
	if (r == 0)
		r = fs_versions(fs.node, fs.stream, ino, version_line, &c);
	if (r < 0 && !t->err)
		t->err = to_errno(r);
	fs_entry_cache_release(c.cache);
	free(c.cache);
}

static void warn_xattr_ns(fuse_ino_t ino, const char *name)
{
	char path[LOG_PATH_MAX], msg[FS_XATTR_NAME_MAX + 128];

	snprintf(msg, sizeof(msg), "extended attribute %s refused: only user.*, trusted.* and "
		 "security.* are kept (ENOTSUP)", name);
	warn_once(WARN_XATTR_NS, path_now(ino, NULL, path), msg);
}

/* A stored attribute's value, copied under fs.mu. */
static void stored_xattr(fuse_ino_t ino, const char *name, struct text *t)
{
	const uint8_t *v;
	struct inode *in;
	size_t len;
	int r;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	r = in ? fs_xattr_get(in->rec.xattrs, in->rec.xattrs_len, name, &v, &len) : -ENOENT;
	if (r < 0) {
		t->err = -r;
	} else {
		t->p = malloc(len ? len : 1);
		if (!t->p)
			t->err = ENOMEM;
		else if (len)
			memcpy(t->p, v, len);
		t->len = len;
	}
	pthread_mutex_unlock(&fs.mu);
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
		/* A snapshot's top is the volume's directory it was taken of. */
		text_add(&t, "%s %" PRIu64, hex,
			 fs.snap && ino == FS_ROOT_INO ? fs.snap->top : (uint64_t)ino);
	} else if (strcmp(name, "user.zg.snapshot") == 0 && fs.snap) {
		char hex[67];

		codec_hex_encode(fs.snap->root, sizeof(fs.snap->root), hex);
		text_add(&t, "snapshot %" PRIu64 " root %s", fs.snap->id, hex);
	} else if (strcmp(name, "user.zg.node") == 0 && fs.node_url) {
		text_add(&t, "%s", fs.node_url);
	} else if (strcmp(name, "user.zg.metrics") == 0 && fs.metrics_url) {
		text_add(&t, "%s", fs.metrics_url);
	} else if (strcmp(name, "user.zg.pid") == 0) {
		text_add(&t, "%ld", (long)getpid());
	} else if (fs_xattr_kind(name) == FS_XATTR_STORED) {
		stored_xattr(ino, name, &t);
	} else if (fs_xattr_kind(name) == FS_XATTR_UNSUPPORTED) {
		warn_xattr_ns(ino, name);
		t.err = ENOTSUP;
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

/* trusted.* are listed to root only, as on ext4 (the kernel checks the rest). */
static bool xattr_shown(void *ctx, const char *name)
{
	return *(const bool *)ctx || !fs_xattr_privileged(name);
}

/*
 * The stored attributes only: the virtual user.zg.* are read by name and never listed, as
 * CephFS does with ceph.*, so that cp -a and rsync -X never copy their values (a daemon's
 * pid, an inode number, versions) onto another file.
 */
static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	bool root = fuse_req_ctx(req)->uid == 0;
	struct inode *in;
	char *buf = NULL;
	size_t len = 0;
	int err = 0;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (!in) {
		err = ENOENT;
	} else {
		len = fs_xattr_list(in->rec.xattrs, in->rec.xattrs_len, xattr_shown, &root, NULL, 0);
		if (size && len <= size) {
			buf = malloc(len ? len : 1);
			if (!buf)
				err = ENOMEM;
			else
				fs_xattr_list(in->rec.xattrs, in->rec.xattrs_len, xattr_shown, &root,
					      buf, len);
		}
	}
	pthread_mutex_unlock(&fs.mu);
	if (err)
		fuse_reply_err(req, err);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

/* Sets (value non-NULL) or removes a stored attribute as one transaction. fs.mu not held. */
static int change_xattr(fuse_ino_t ino, const char *name, const char *value, size_t size,
			int flags)
{
	struct txn t = {0};
	struct fs_record rec;
	struct inode *in;
	uint8_t *blob = NULL;
	size_t blen = 0;
	int err = 0, r;

	pthread_mutex_lock(&fs.mu);
	in = inode_get(ino);
	if (!in) {
		err = ENOENT;
		goto out;
	}
	r = value ? fs_xattr_set(in->rec.xattrs, in->rec.xattrs_len, name, value, size, flags,
				 &blob, &blen)
		  : fs_xattr_remove(in->rec.xattrs, in->rec.xattrs_len, name, &blob, &blen);
	if (r < 0) {
		err = -r;
		goto out;
	}
	rec = in->rec; /* extents and target shared with in->rec: encoded, not freed */
	rec.xattrs = blob;
	rec.xattrs_len = blen;
	now(&rec.ctime_sec, &rec.ctime_nsec);
	r = txn_record(&t, ino, &rec);
	err = r < 0 ? -r : txn_commit(&t);
	if (!err) {
		free(in->rec.xattrs);
		in->rec = rec;
		blob = NULL;
	}
out:
	txn_release(&t);
	pthread_mutex_unlock(&fs.mu);
	free(blob);
	return err;
}

/* setxattr (value non-NULL) and removexattr. */
static void reply_change(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			 size_t size, int flags)
{
	enum fs_xattr_kind kind = fs_xattr_kind(name);
	int err;

	if (kind == FS_XATTR_VIRTUAL) {
		char path[LOG_PATH_MAX];

		warn_once(WARN_SETXATTR, path_now(ino, NULL, path),
			  "user.zg.* attributes are computed by the mount and cannot be set or "
			  "removed (EPERM)");
		err = EPERM;
	} else if (kind == FS_XATTR_UNSUPPORTED) {
		warn_xattr_ns(ino, name);
		err = ENOTSUP;
	} else if (fs.ro) {
		err = EROFS;
	} else {
		err = change_xattr(ino, name, value, size, flags);
	}
	fuse_reply_err(req, err);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	reply_change(req, ino, name, value ? value : "", size, flags);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	reply_change(req, ino, name, NULL, 0, 0);
}

/* --- metering: every operation counted and timed (fs/metrics.h) --------------------- */

#define METERED(name, OP, params, args)                                                            \
	static void m_##name params                                                                \
	{                                                                                          \
		uint64_t t0 = sys_now_ns();                                                        \
                                                                                                   \
		atomic_fetch_add_explicit(&fs_metrics.in_flight, 1, memory_order_relaxed);         \
		op_##name args;                                                                    \
		atomic_fetch_sub_explicit(&fs_metrics.in_flight, 1, memory_order_relaxed);         \
		fs_metrics_op(OP, t0);                                                             \
	}

METERED(lookup, FS_OP_LOOKUP, (fuse_req_t req, fuse_ino_t parent, const char *name),
	(req, parent, name))
METERED(forget, FS_OP_FORGET, (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup),
	(req, ino, nlookup))
METERED(forget_multi, FS_OP_FORGET_MULTI,
	(fuse_req_t req, size_t count, struct fuse_forget_data *forgets), (req, count, forgets))
METERED(getattr, FS_OP_GETATTR, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	(req, ino, fi))
METERED(setattr, FS_OP_SETATTR,
	(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi),
	(req, ino, attr, to_set, fi))
METERED(readlink, FS_OP_READLINK, (fuse_req_t req, fuse_ino_t ino), (req, ino))
METERED(mknod, FS_OP_MKNOD,
	(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev),
	(req, parent, name, mode, rdev))
METERED(mkdir, FS_OP_MKDIR, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode),
	(req, parent, name, mode))
METERED(unlink, FS_OP_UNLINK, (fuse_req_t req, fuse_ino_t parent, const char *name),
	(req, parent, name))
METERED(rmdir, FS_OP_RMDIR, (fuse_req_t req, fuse_ino_t parent, const char *name),
	(req, parent, name))
METERED(symlink, FS_OP_SYMLINK,
	(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name),
	(req, link, parent, name))
METERED(rename, FS_OP_RENAME,
	(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	 const char *newname, unsigned int flags),
	(req, parent, name, newparent, newname, flags))
METERED(link, FS_OP_LINK,
	(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname),
	(req, ino, newparent, newname))
METERED(open, FS_OP_OPEN, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	(req, ino, fi))
METERED(read, FS_OP_READ,
	(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi),
	(req, ino, size, off, fi))
METERED(write, FS_OP_WRITE,
	(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	 struct fuse_file_info *fi),
	(req, ino, buf, size, off, fi))
METERED(flush, FS_OP_FLUSH, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	(req, ino, fi))
METERED(release, FS_OP_RELEASE, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	(req, ino, fi))
METERED(fsync, FS_OP_FSYNC,
	(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi),
	(req, ino, datasync, fi))
METERED(opendir, FS_OP_OPENDIR, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	(req, ino, fi))
METERED(readdir, FS_OP_READDIR,
	(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi),
	(req, ino, size, off, fi))
METERED(readdirplus, FS_OP_READDIRPLUS,
	(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi),
	(req, ino, size, off, fi))
METERED(fsyncdir, FS_OP_FSYNCDIR,
	(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi),
	(req, ino, datasync, fi))
METERED(statfs, FS_OP_STATFS, (fuse_req_t req, fuse_ino_t ino), (req, ino))
METERED(setxattr, FS_OP_SETXATTR,
	(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
	 int flags),
	(req, ino, name, value, size, flags))
METERED(getxattr, FS_OP_GETXATTR, (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size),
	(req, ino, name, size))
METERED(listxattr, FS_OP_LISTXATTR, (fuse_req_t req, fuse_ino_t ino, size_t size), (req, ino, size))
METERED(removexattr, FS_OP_REMOVEXATTR, (fuse_req_t req, fuse_ino_t ino, const char *name),
	(req, ino, name))
METERED(create, FS_OP_CREATE,
	(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	 struct fuse_file_info *fi),
	(req, parent, name, mode, fi))
METERED(fallocate, FS_OP_FALLOCATE,
	(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
	 struct fuse_file_info *fi),
	(req, ino, mode, offset, length, fi))
METERED(ioctl, FS_OP_IOCTL,
	(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg, struct fuse_file_info *fi,
	 unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz),
	(req, ino, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz))
#undef METERED

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = m_lookup,
    .forget = m_forget,
    .forget_multi = m_forget_multi,
    .getattr = m_getattr,
    .setattr = m_setattr,
    .readlink = m_readlink,
    .mknod = m_mknod,
    .mkdir = m_mkdir,
    .unlink = m_unlink,
    .rmdir = m_rmdir,
    .symlink = m_symlink,
    .rename = m_rename,
    .link = m_link,
    .open = m_open,
    .read = m_read,
    .write = m_write,
    .flush = m_flush,
    .release = m_release,
    .fsync = m_fsync,
    .opendir = m_opendir,
    .readdir = m_readdir,
    .readdirplus = m_readdirplus,
    .fsyncdir = m_fsyncdir,
    .statfs = m_statfs,
    .setxattr = m_setxattr,
    .getxattr = m_getxattr,
    .listxattr = m_listxattr,
    .removexattr = m_removexattr,
    .create = m_create,
    .fallocate = m_fallocate,
    .ioctl = m_ioctl,
};

/* --- the session ----------------------------------------------------------------------- */

/* What a pass of --prune-keep did, for the log. */
static void prune_report(void *ctx, const struct fs_prune_stats *st, int err)
{
	if (err)
		fs_log("prune: stopped: %s", why(err));
	else if (st->entries)
		fs_log("prune: dropped %" PRIu64 " entries, %" PRIu64 " bytes no kept version "
		       "needs",
		       st->entries, st->bytes);
}

static void ready(int fd, const char *msg)
{
	if (fd >= 0) {
		ssize_t n = write(fd, msg, strlen(msg));

		(void)n;
	}
}

static void release_all(void)
{
	for (size_t i = 0; i < fs.later.n; i++)
		free((void *)fs.later.v[i].it.key);
	free(fs.later.v);
	fs.later.v = NULL;
	fs.later.n = fs.later.cap = 0;
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
			fs_map_release(in->work);
			free(in->work);
			node_upload_abort(in->up);
			pthread_mutex_destroy(&in->wmu);
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
	struct fs_prune_loop *pruner = NULL;
	struct fuse_session *se = NULL;
	char msg[300];
	int r, reaper_fd = -1;

	memset(&fs, 0, sizeof(fs));
	fs.node = cfg->node;
	fs.ro = cfg->read_only;
	fs.node_url = cfg->node_url;
	fs.metrics_url = cfg->metrics_url;
	fs.append_only = cfg->append_only;
	fs.uid = cfg->force_uid ? cfg->uid : -1;
	fs.gid = cfg->force_gid ? cfg->gid : -1;
	fs.umask = cfg->umask & 07777;
	fs.writeback = cfg->writeback;
	pthread_mutex_init(&fs.mu, NULL);
	pthread_cond_init(&fs.wake, NULL);
	pthread_mutex_init(&fs.later.mu, NULL);
	pthread_cond_init(&fs.later.cv, NULL);
	fs.later.gen = 1; /* generation 0 is "nothing waits": settled from the start */
	fs_volume_stream(cfg->volume ? cfg->volume : "default", fs.stream);
	if (cfg->snapshot) {
		fs.snap = cfg->snapshot;
		fs.ro = true;
		memcpy(fs.stream, fs.snap->volume, NODE_STREAM_ID_SIZE);
	}
	r = volume_load();
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot load the volume: %s\n", node_strerror(r));
		ready(cfg->ready_fd, msg);
		goto out;
	}
	snprintf(
	    opts, sizeof(opts), "fsname=zgfs,subtype=zgfs,default_permissions,auto_unmount%s%s%s",
	    fs.ro ? ",ro" : "", cfg->fuse_opts ? "," : "", cfg->fuse_opts ? cfg->fuse_opts : "");
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
	fs.se = se;
	if (fs_reaper_start(cfg->mountpoint, &reaper_fd) < 0)
		fs_log("no reaper: a crash would leave the mount for fusermount3 alone to detach");
	if (!fs.ro && pthread_create(&fs.worker, NULL, worker_main, NULL) == 0)
		fs.worker_running = true;
	fs_log("ready: %s mounted (%zu inodes, verify %s%s%s)", cfg->mountpoint, fs.ninodes,
	       cfg->verify ? "always" : "never", fs.append_only ? ", append-only" : "",
	       fs.writeback ? ", writeback" : "");
	ready(cfg->ready_fd, "ok\n");
	if (cfg->prune_keep && !fs.ro &&
	    fs_prune_loop_start(fs.node, fs.stream,
				&(struct fs_prune_policy){.by_count = true, .keep = cfg->prune_keep},
				cfg->prune_interval_ms, prune_report, NULL, &pruner) < 0)
		fs_log("prune: cannot start: --prune-keep does nothing on this mount");
	loop = fuse_loop_cfg_create();
	if (!loop) {
		r = -ENOMEM;
		fuse_session_unmount(se);
		goto out;
	}
	fuse_loop_cfg_set_clone_fd(loop, 0);
	/* More than libfuse's 10: commits of many files share a transaction only when they
	 * can wait side by side. */
	fuse_loop_cfg_set_max_threads(loop, cfg->max_threads ? cfg->max_threads : FS_THREADS);
	r = fuse_session_loop_mt(se, loop);
	r = r > 0 ? 0 : r; /* a signal number: stopped by a signal, cleanly */
	fs_prune_loop_stop(pruner);
	pruner = NULL;
	settle_all();
	fuse_session_unmount(se);
	fs_log("unmounted %s", cfg->mountpoint);
out:
	fs_prune_loop_stop(pruner);
	fuse_loop_cfg_destroy(loop);
	if (se) {
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	fuse_opt_free_args(&args);
	if (fs.worker_running)
		settle_all();
	free(fs.queue);
	release_all();
	if (reaper_fd >= 0)
		close(reaper_fd); /* after the unmount: the reaper finds nothing to do */
	return r;
}
