/*
 * passthrough - a plain passthrough FUSE filesystem: the baseline that bench/run.sh (section
 * `fs`) measures `zgfs mount` against. Every request is forwarded to a source directory with
 * the matching system call, so the gap between this mount and the raw directory is the cost
 * of FUSE itself, and the gap between zgfs and this mount is the cost of zgfs.
 *
 * usage: passthrough SOURCE MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]]
 *        passthrough MOUNTPOINT -o source=SOURCE [...]
 *
 * Options of our own (besides libfuse's: -f foreground, -d debug, -s single thread,
 * -o clone_fd, max_idle_threads=N, max_write=N, no_splice_write, no_splice_read, ...):
 *   -o source=DIR           the directory to mirror (instead of the first argument)
 *   -o cache=never|auto|always   kernel caching of data and attributes (default auto:
 *                           1 s attribute/entry timeout, page cache dropped on open)
 *   -o timeout=SECONDS      attribute and entry timeout, overriding the cache mode's
 *   -o writeback            kernel writeback cache (off by default, as in libfuse)
 *   -o no_xattr             answer ENOSYS to the xattr requests
 *
 * It follows libfuse's low-level passthrough pattern (example/passthrough_ll.c), written
 * anew: each inode the kernel knows is an O_PATH descriptor of the source file, found by
 * (st_dev, st_ino) in a hash table and freed when the kernel forgets its last lookup; the
 * fuse_ino_t handed to the kernel is the address of that record. Holding the O_PATH
 * descriptor pins the source inode, so its number cannot be reused while the kernel still
 * knows it, even after an unlink. Reads reply with a file-descriptor buffer, so libfuse can
 * splice from the source file to /dev/fuse when splice_write is on (it is, by default
 * here); writes arrive through write_buf and are copied (spliced when libfuse read the
 * request by splice) straight into the source file. Requests up to 1 MiB (max_write; libfuse
 * 3.14 derives max_pages from it), served by the multithreaded session loop.
 */
#define FUSE_USE_VERSION 35

#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uintptr_t), "fuse_ino_t must hold a pointer");

/* The largest write (and read) request we ask for: the kernel's FUSE maximum of 256 pages. */
#define PT_MAX_WRITE (1u << 20)
/* Initial size of the inode hash table (a power of two); it doubles as it fills. */
#define PT_INITIAL_BUCKETS 1024u
/* Room for "/proc/self/fd/" and an int. */
#define PT_PROC_PATH_SIZE 32

enum pt_cache { PT_CACHE_NEVER, PT_CACHE_AUTO, PT_CACHE_ALWAYS };

/* One inode known to the kernel. */
struct pt_inode {
	struct pt_inode *hnext; /* hash chain; under pt_fs.lock */
	int fd;			/* O_PATH descriptor of the source file */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup; /* lookups the kernel has not forgotten; under pt_fs.lock */
};

struct pt_fs {
	pthread_mutex_t lock;
	struct pt_inode root; /* FUSE_ROOT_ID; in the table, never freed */
	struct pt_inode **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;

	/* options */
	char *source;
	double timeout;
	int timeout_set;
	int cache;
	int writeback;
	int no_xattr;
	int debug;
	struct fuse_conn_info_opts *conn_opts;

	/* positional arguments: SOURCE and MOUNTPOINT, or MOUNTPOINT alone */
	char *pos[2];
	int npos;
	int show_help;
};

/* An open directory. */
struct pt_dir {
	DIR *dp;
	struct dirent *entry; /* read but not yet returned (did not fit) */
	off_t offset;
};

static const struct fuse_opt pt_opts[] = {
    {"source=%s", offsetof(struct pt_fs, source), 0},
    {"timeout=%lf", offsetof(struct pt_fs, timeout), 0},
    {"timeout=", offsetof(struct pt_fs, timeout_set), 1},
    {"cache=never", offsetof(struct pt_fs, cache), PT_CACHE_NEVER},
    {"cache=auto", offsetof(struct pt_fs, cache), PT_CACHE_AUTO},
    {"cache=always", offsetof(struct pt_fs, cache), PT_CACHE_ALWAYS},
    {"writeback", offsetof(struct pt_fs, writeback), 1},
    {"no_writeback", offsetof(struct pt_fs, writeback), 0},
    {"xattr", offsetof(struct pt_fs, no_xattr), 0},
    {"no_xattr", offsetof(struct pt_fs, no_xattr), 1},
    FUSE_OPT_END,
};

static struct pt_fs *pt_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct pt_inode *pt_inode(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &pt_fs(req)->root;
	return (struct pt_inode *)(uintptr_t)ino;
}

static int pt_fd(fuse_req_t req, fuse_ino_t ino)
{
	return pt_inode(req, ino)->fd;
}

/* The path through which an O_PATH descriptor can be reopened or used by path calls. */
static void pt_proc_path(char buf[PT_PROC_PATH_SIZE], int fd)
{
	snprintf(buf, PT_PROC_PATH_SIZE, "/proc/self/fd/%d", fd);
}

static void pt_reply_errno(fuse_req_t req, int res)
{
	fuse_reply_err(req, res == -1 ? errno : 0);
}

/* ---- the inode table ---- */

static size_t pt_hash(dev_t dev, ino_t ino, size_t nbuckets)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32)) * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 32) & (nbuckets - 1);
}

/* Doubles the table; under fs->lock. On allocation failure the table stays as it is. */
static void pt_table_grow(struct pt_fs *fs)
{
	size_t n = fs->nbuckets * 2;
	struct pt_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < fs->nbuckets; i++) {
		struct pt_inode *p = fs->buckets[i], *next;

		for (; p; p = next) {
			size_t h = pt_hash(p->dev, p->ino, n);

			next = p->hnext;
			p->hnext = b[h];
			b[h] = p;
		}
	}
	free(fs->buckets);
	fs->buckets = b;
	fs->nbuckets = n;
}

/*
 * Finds the inode of (st->st_dev, st->st_ino) and counts one more lookup, or records a new
 * one that takes over *fdp (set to -1 then). Returns NULL only when out of memory.
 */
static struct pt_inode *pt_table_get(struct pt_fs *fs, const struct stat *st, int *fdp)
{
	struct pt_inode *p;
	size_t h;

	pthread_mutex_lock(&fs->lock);
	h = pt_hash(st->st_dev, st->st_ino, fs->nbuckets);
	for (p = fs->buckets[h]; p; p = p->hnext)
		if (p->ino == st->st_ino && p->dev == st->st_dev)
			break;
	if (p) {
		p->nlookup++;
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto out;
	p->fd = *fdp;
	*fdp = -1;
	p->dev = st->st_dev;
	p->ino = st->st_ino;
	p->nlookup = 1;
	p->hnext = fs->buckets[h];
	fs->buckets[h] = p;
	if (++fs->count > fs->nbuckets)
		pt_table_grow(fs);
out:
	pthread_mutex_unlock(&fs->lock);
	return p;
}

static void pt_table_put(struct pt_fs *fs, struct pt_inode *inode, uint64_t n)
{
	struct pt_inode **pp;

	pthread_mutex_lock(&fs->lock);
	if (inode->nlookup < n) {
		fuse_log(FUSE_LOG_ERR, "passthrough: forget %" PRIu64 " of %" PRIu64 " lookups\n",
			 n, inode->nlookup);
		n = inode->nlookup;
	}
	inode->nlookup -= n;
	if (inode->nlookup || inode == &fs->root) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	pp = &fs->buckets[pt_hash(inode->dev, inode->ino, fs->nbuckets)];
	while (*pp != inode)
		pp = &(*pp)->hnext;
	*pp = inode->hnext;
	fs->count--;
	pthread_mutex_unlock(&fs->lock);
	close(inode->fd);
	free(inode);
}

/* ---- lookups ---- */

/* Fills *e for NAME in PARENT and counts a lookup. Returns 0 or an errno. */
static int pt_do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name,
			struct fuse_entry_param *e)
{
	struct pt_fs *fs = pt_fs(req);
	struct pt_inode *inode;
	int fd, err;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;

	fd = openat(pt_fd(req, parent), name, O_PATH | O_NOFOLLOW);
	if (fd == -1)
		return errno;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == -1) {
		err = errno;
		close(fd);
		return err;
	}
	inode = pt_table_get(fs, &e->attr, &fd);
	if (fd != -1)
		close(fd);
	if (!inode)
		return ENOMEM;
	e->ino = (uintptr_t)inode;
	if (fs->debug)
		fuse_log(FUSE_LOG_DEBUG, "  %" PRIu64 "/%s -> %" PRIu64 "\n", (uint64_t)parent,
			 name, (uint64_t)e->ino);
	return 0;
}

static void pt_reply_entry(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int err = pt_do_lookup(req, parent, name, &e);

	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pt_reply_entry(req, parent, name);
}

static void pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pt_table_put(pt_fs(req), pt_inode(req, ino), nlookup);
	fuse_reply_none(req);
}

static void pt_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		pt_table_put(pt_fs(req), pt_inode(req, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---- attributes ---- */

static void pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (fstatat(pt_fd(req, ino), "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, pt_fs(req)->timeout);
}

static void pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	int ifd = pt_fd(req, ino);
	char path[PT_PROC_PATH_SIZE];
	int res;

	pt_proc_path(path, ifd);
	if (valid & FUSE_SET_ATTR_MODE) {
		res = fi ? fchmod((int)fi->fh, attr->st_mode) : chmod(path, attr->st_mode);
		if (res == -1)
			goto err;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;

		if (fchownat(ifd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == -1)
			goto err;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		res = fi ? ftruncate((int)fi->fh, attr->st_size) : truncate(path, attr->st_size);
		if (res == -1)
			goto err;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};

		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		res = fi ? futimens((int)fi->fh, tv) : utimensat(AT_FDCWD, path, tv, 0);
		if (res == -1)
			goto err;
	}
	pt_getattr(req, ino, fi);
	return;
err:
	fuse_reply_err(req, errno);
}

static void pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(pt_fd(req, ino), &sv) == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(pt_fd(req, ino), "", buf, sizeof(buf));

	if (n == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	if (n == (ssize_t)sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* ---- names ---- */

static void pt_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	if (mknodat(pt_fd(req, parent), name, mode, rdev) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	pt_reply_entry(req, parent, name);
}

static void pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	if (mkdirat(pt_fd(req, parent), name, mode) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	pt_reply_entry(req, parent, name);
}

static void pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	if (symlinkat(link, pt_fd(req, parent), name) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	pt_reply_entry(req, parent, name);
}

static void pt_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	char path[PT_PROC_PATH_SIZE];

	pt_proc_path(path, pt_fd(req, ino));
	if (linkat(AT_FDCWD, path, pt_fd(req, parent), name, AT_SYMLINK_FOLLOW) == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	/* The lookup finds the same record and counts the lookup the kernel now holds. */
	pt_reply_entry(req, parent, name);
}

static void pt_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pt_reply_errno(req, unlinkat(pt_fd(req, parent), name, 0));
}

static void pt_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	pt_reply_errno(req, unlinkat(pt_fd(req, parent), name, AT_REMOVEDIR));
}

static void pt_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	pt_reply_errno(req,
		       renameat2(pt_fd(req, parent), name, pt_fd(req, newparent), newname, flags));
}

/* ---- directories ---- */

static struct pt_dir *pt_dir(struct fuse_file_info *fi)
{
	return (struct pt_dir *)(uintptr_t)fi->fh;
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_dir *d = calloc(1, sizeof(*d));
	int fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = openat(pt_fd(req, ino), ".", O_RDONLY | O_DIRECTORY);
	if (fd == -1)
		goto err;
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		errno = err;
		goto err;
	}
	fi->fh = (uintptr_t)d;
	if (pt_fs(req)->cache == PT_CACHE_ALWAYS)
		fi->cache_readdir = 1;
	fuse_reply_open(req, fi);
	return;
err:
	err = errno;
	free(d);
	fuse_reply_err(req, err);
}

static bool pt_is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static void pt_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
			  struct fuse_file_info *fi, bool plus)
{
	struct pt_dir *d = pt_dir(fi);
	size_t rem = size;
	char *buf, *p;
	int err = 0;

	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct fuse_entry_param e;
		fuse_ino_t counted = 0;
		const char *name;
		size_t n;
		off_t next;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		next = d->entry->d_off;
		name = d->entry->d_name;
		if (plus) {
			if (pt_is_dot(name)) {
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = d->entry->d_ino;
				e.attr.st_mode = (mode_t)d->entry->d_type << 12;
			} else {
				err = pt_do_lookup(req, ino, name, &e);
				if (err)
					break;
				counted = e.ino;
			}
			n = fuse_add_direntry_plus(req, p, rem, name, &e, next);
		} else {
			struct stat st = {
			    .st_ino = d->entry->d_ino,
			    .st_mode = (mode_t)d->entry->d_type << 12,
			};

			n = fuse_add_direntry(req, p, rem, name, &st, next);
		}
		if (n > rem) {
			/* Did not fit: the kernel will not see this lookup; keep the entry. */
			if (counted)
				pt_table_put(pt_fs(req), pt_inode(req, counted), 1);
			break;
		}
		p += n;
		rem -= n;
		d->entry = NULL;
		d->offset = next;
	}
	/*
	 * An error after some entries were added cannot be reported without losing the
	 * lookups those entries carry: return them, and the error comes back on the next call.
	 */
	if (err && rem == size)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
		       struct fuse_file_info *fi)
{
	pt_do_readdir(req, ino, size, offset, fi, false);
}

static void pt_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
			   struct fuse_file_info *fi)
{
	pt_do_readdir(req, ino, size, offset, fi, true);
}

static void pt_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_dir *d = pt_dir(fi);

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void pt_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = dirfd(pt_dir(fi)->dp);

	pt_reply_errno(req, datasync ? fdatasync(fd) : fsync(fd));
}

/* ---- files ---- */

static void pt_set_cache(struct pt_fs *fs, struct fuse_file_info *fi)
{
	if (fs->cache == PT_CACHE_NEVER)
		fi->direct_io = 1;
	else if (fs->cache == PT_CACHE_ALWAYS)
		fi->keep_cache = 1;
}

/*
 * With the writeback cache the kernel may read a file opened write-only, and it applies
 * O_APPEND itself: open read-write and without O_APPEND, as libfuse's example does.
 */
static int pt_open_flags(struct pt_fs *fs, int flags)
{
	if (fs->writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags & ~O_NOFOLLOW;
}

static void pt_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct pt_fs *fs = pt_fs(req);
	struct fuse_entry_param e;
	int fd, err;

	fd = openat(pt_fd(req, parent), name, pt_open_flags(fs, fi->flags | O_CREAT), mode);
	if (fd == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	err = pt_do_lookup(req, parent, name, &e);
	if (err) {
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)fd;
	pt_set_cache(fs, fi);
	if (fuse_reply_create(req, &e, fi) != 0) {
		/* The kernel is gone (interrupted): it will not release or forget these. */
		close(fd);
		pt_table_put(fs, pt_inode(req, e.ino), 1);
	}
}

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct pt_fs *fs = pt_fs(req);
	char path[PT_PROC_PATH_SIZE];
	int fd;

	pt_proc_path(path, pt_fd(req, ino));
	fd = open(path, pt_open_flags(fs, fi->flags));
	if (fd == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
	pt_set_cache(fs, fi);
	if (fuse_reply_open(req, fi) != 0)
		close(fd);
}

static void pt_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

/* Close semantics for the source file system (NFS reports write errors at close). */
static void pt_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int fd = dup((int)fi->fh);

	if (fd == -1) {
		fuse_reply_err(req, errno);
		return;
	}
	pt_reply_errno(req, close(fd));
}

static void pt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;

	pt_reply_errno(req, datasync ? fdatasync(fd) : fsync(fd));
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	/* libfuse reads (or splices) from the descriptor at off; short at EOF. */
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void pt_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t n;

	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = (int)fi->fh;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void pt_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	pt_reply_errno(req, fallocate((int)fi->fh, mode, off, len));
}

static void pt_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	off_t res = lseek((int)fi->fh, off, whence);

	if (res == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

static void pt_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	ssize_t n = copy_file_range((int)fi_in->fh, &off_in, (int)fi_out->fh, &off_out, len,
				    (unsigned int)flags);

	if (n == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

/* ---- extended attributes, through the /proc path of the O_PATH descriptor ---- */

static void pt_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[PT_PROC_PATH_SIZE];
	char *value = NULL;
	ssize_t n;

	if (pt_fs(req)->no_xattr) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	pt_proc_path(path, pt_fd(req, ino));
	if (!size) {
		n = getxattr(path, name, NULL, 0);
		if (n == -1) {
			fuse_reply_err(req, errno);
			return;
		}
		fuse_reply_xattr(req, (size_t)n);
		return;
	}
	value = malloc(size);
	if (!value) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = getxattr(path, name, value, size);
	if (n == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, value, (size_t)n);
	free(value);
}

static void pt_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char path[PT_PROC_PATH_SIZE];
	char *value = NULL;
	ssize_t n;

	if (pt_fs(req)->no_xattr) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	pt_proc_path(path, pt_fd(req, ino));
	if (!size) {
		n = listxattr(path, NULL, 0);
		if (n == -1) {
			fuse_reply_err(req, errno);
			return;
		}
		fuse_reply_xattr(req, (size_t)n);
		return;
	}
	value = malloc(size);
	if (!value) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = listxattr(path, value, size);
	if (n == -1)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, value, (size_t)n);
	free(value);
}

static void pt_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	char path[PT_PROC_PATH_SIZE];

	if (pt_fs(req)->no_xattr) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	pt_proc_path(path, pt_fd(req, ino));
	pt_reply_errno(req, setxattr(path, name, value, size, flags));
}

static void pt_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[PT_PROC_PATH_SIZE];

	if (pt_fs(req)->no_xattr) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	pt_proc_path(path, pt_fd(req, ino));
	pt_reply_errno(req, removexattr(path, name));
}

/* ---- session ---- */

static void pt_init(void *userdata, struct fuse_conn_info *conn)
{
	struct pt_fs *fs = userdata;

	/*
	 * 1 MiB requests. libfuse 3.14 has no max_pages field: it asks the kernel for
	 * max_pages = max_write / page size when the kernel offers FUSE_MAX_PAGES, and its
	 * request buffers hold 256 pages plus the header, so 1 MiB is the most it takes.
	 */
	conn->max_write = PT_MAX_WRITE;
	/* Reads reply with a descriptor buffer: let libfuse splice it to /dev/fuse. */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	if (fs->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	/* -o max_write=, splice_*, max_readahead=, ... given on the command line win. */
	fuse_apply_conn_info_opts(fs->conn_opts, conn);
}

static void pt_destroy(void *userdata)
{
	struct pt_fs *fs = userdata;

	for (size_t i = 0; i < fs->nbuckets; i++) {
		struct pt_inode *p = fs->buckets[i], *next;

		for (; p; p = next) {
			next = p->hnext;
			if (p == &fs->root)
				continue;
			close(p->fd);
			free(p);
		}
		fs->buckets[i] = NULL;
	}
	fs->count = 0;
}

static const struct fuse_lowlevel_ops pt_ops = {
    .init = pt_init,
    .destroy = pt_destroy,
    .lookup = pt_lookup,
    .forget = pt_forget,
    .forget_multi = pt_forget_multi,
    .getattr = pt_getattr,
    .setattr = pt_setattr,
    .readlink = pt_readlink,
    .mknod = pt_mknod,
    .mkdir = pt_mkdir,
    .symlink = pt_symlink,
    .link = pt_link,
    .unlink = pt_unlink,
    .rmdir = pt_rmdir,
    .rename = pt_rename,
    .statfs = pt_statfs,
    .opendir = pt_opendir,
    .readdir = pt_readdir,
    .readdirplus = pt_readdirplus,
    .releasedir = pt_releasedir,
    .fsyncdir = pt_fsyncdir,
    .create = pt_create,
    .open = pt_open,
    .release = pt_release,
    .flush = pt_flush,
    .fsync = pt_fsync,
    .read = pt_read,
    .write_buf = pt_write_buf,
    .fallocate = pt_fallocate,
    .lseek = pt_lseek,
    .copy_file_range = pt_copy_file_range,
    .getxattr = pt_getxattr,
    .listxattr = pt_listxattr,
    .setxattr = pt_setxattr,
    .removexattr = pt_removexattr,
};

/* Takes the positional arguments out of the list; keeps everything else for libfuse. */
static int pt_opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct pt_fs *fs = data;

	if (key == FUSE_OPT_KEY_NONOPT) {
		if (fs->npos == 2) {
			fprintf(stderr, "passthrough: unexpected argument '%s'\n", arg);
			return -1;
		}
		fs->pos[fs->npos] = strdup(arg);
		if (!fs->pos[fs->npos])
			return -1;
		fs->npos++;
		return 0;
	}
	if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
		fs->show_help = 1;
	return 1;
}

static void pt_usage(const char *prog)
{
	printf("usage: %s SOURCE MOUNTPOINT [options]\n"
	       "       %s MOUNTPOINT -o source=SOURCE [options]\n\n"
	       "A plain passthrough of SOURCE: the baseline of bench/run.sh fs.\n\n"
	       "    -o source=DIR          the directory to mirror\n"
	       "    -o cache=never|auto|always  kernel caching (default auto, timeout 1 s)\n"
	       "    -o timeout=SECONDS     attribute and entry timeout\n"
	       "    -o writeback           kernel writeback cache\n"
	       "    -o no_xattr            no extended attributes (ENOSYS)\n\n",
	       prog, prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Descriptors: one per inode the kernel knows, so a 10,000-file directory needs 10,000. */
static void pt_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct fuse_session *se = NULL;
	struct pt_fs fs = {.cache = PT_CACHE_AUTO};
	const char *mountpoint;
	struct stat st;
	int ret = 1;

	umask(0); /* the kernel applied the caller's umask already */
	pthread_mutex_init(&fs.lock, NULL);
	fs.root.fd = -1;

	if (fuse_opt_parse(&args, &fs, pt_opts, pt_opt_proc) == -1)
		goto out;
	if (fs.show_help) {
		pt_usage(argv[0]);
		ret = 0;
		goto out;
	}
	if (fs.source ? fs.npos != 1 : fs.npos != 2) {
		fprintf(stderr,
			"usage: %s SOURCE MOUNTPOINT [-f] [-o OPT,...]  (--help for more)\n",
			argv[0]);
		goto out;
	}
	if (!fs.source) {
		fs.source = fs.pos[0];
		fs.pos[0] = NULL;
		mountpoint = fs.pos[1];
	} else {
		mountpoint = fs.pos[0];
	}
	if (fuse_opt_add_arg(&args, mountpoint) == -1)
		goto out;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out;
	fs.debug = opts.debug;
	fs.conn_opts = fuse_parse_conn_info_opts(&args);
	if (!fs.conn_opts)
		goto out;

	if (!fs.timeout_set) {
		if (fs.cache == PT_CACHE_NEVER)
			fs.timeout = 0.0;
		else if (fs.cache == PT_CACHE_AUTO)
			fs.timeout = 1.0;
		else
			fs.timeout = 86400.0;
	} else if (fs.timeout < 0) {
		fprintf(stderr, "passthrough: negative timeout %g\n", fs.timeout);
		goto out;
	}

	fs.root.fd = open(fs.source, O_PATH | O_DIRECTORY);
	if (fs.root.fd == -1 || fstat(fs.root.fd, &st) == -1) {
		fprintf(stderr, "passthrough: cannot open source directory %s: %s\n", fs.source,
			strerror(errno));
		goto out;
	}
	fs.root.dev = st.st_dev;
	fs.root.ino = st.st_ino;
	fs.root.nlookup = 2;
	fs.nbuckets = PT_INITIAL_BUCKETS;
	fs.buckets = calloc(fs.nbuckets, sizeof(*fs.buckets));
	if (!fs.buckets)
		goto out;
	/* The root is in the table, so that a lookup reaching it (NFS's "..") finds it. */
	fs.buckets[pt_hash(st.st_dev, st.st_ino, fs.nbuckets)] = &fs.root;
	fs.count = 1;
	pt_raise_nofile();

	se = fuse_session_new(&args, &pt_ops, sizeof(pt_ops), &fs);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);

	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		/*
		 * API 35 takes the version-1 loop config (libfuse maps it to
		 * fuse_session_loop_mt_32); fuse_loop_cfg_create() belongs to API 312 and
		 * would be misread here. Unset (UINT_MAX), the idle limit is libfuse's
		 * documented default of 10: threads are kept, not created per request.
		 */
		struct fuse_loop_config loop = {
		    .clone_fd = opts.clone_fd,
		    .max_idle_threads =
			opts.max_idle_threads == UINT_MAX ? 10 : opts.max_idle_threads,
		};

		ret = fuse_session_loop_mt(se, &loop);
	}
	ret = ret != 0;
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	free(fs.buckets);
	if (fs.root.fd >= 0)
		close(fs.root.fd);
	free(fs.conn_opts);
	free(fs.source);
	free(fs.pos[0]);
	free(fs.pos[1]);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	pthread_mutex_destroy(&fs.lock);
	return ret;
}
