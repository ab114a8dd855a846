/*
 * The node's I/O layer. Each public function is the system call plus three things: EINTR
 * and short transfers are retried here, so callers see whole operations; an injected
 * fault can replace the call; and, while crash simulation is on, writes and truncations
 * first save what a power cut would bring back.
 *
 * Crash simulation keys files by inode (st_dev, st_ino), not by descriptor: unsynced data
 * outlives close(2) in the page cache, and a later fsync through another descriptor makes
 * it durable, so the record must belong to the file. Each record holds a dup of a
 * descriptor, which keeps the inode alive (and its number unused) until the record is
 * synced or undone. The undo log is newest first; replaying it in that order leaves the
 * oldest bytes, which are the synced ones. Only bytes below the synced size need saving:
 * everything above it is cut by the final ftruncate.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/store/io.h"

/* --- fault injection ------------------------------------------------------------------ */

struct fault {
	uint64_t calls; /* calls of this kind since the fault was set */
	uint64_t nth;	/* 0: no fault */
	int err;
	bool sticky;
};

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fault faults[NODE_IO_NOPS];
static uint64_t fault_hits[NODE_IO_NOPS];
static atomic_bool faults_armed; /* any fault set: the fast path skips the mutex */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static const char *const op_names[NODE_IO_NOPS] = {
    [NODE_IO_OPEN] = "open",	 [NODE_IO_READ] = "read",	  [NODE_IO_WRITE] = "write",
    [NODE_IO_FSYNC] = "fsync",	 [NODE_IO_TRUNCATE] = "truncate", [NODE_IO_RENAME] = "rename",
    [NODE_IO_UNLINK] = "unlink", [NODE_IO_MKDIR] = "mkdir",	  [NODE_IO_STAT] = "stat",
};

static const struct {
	const char *name;
	int err;
} err_names[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO},	    {"EDQUOT", EDQUOT}, {"EFBIG", EFBIG},
    {"EROFS", EROFS},	{"EACCES", EACCES}, {"EPERM", EPERM},	{"ENOMEM", ENOMEM},
    {"EMFILE", EMFILE}, {"ENOENT", ENOENT},
};

static int spec_apply(const char *spec);

static void env_init(void)
{
	const char *spec = getenv("ZGFS_IO_FAULT");

	/* A malformed variable sets nothing; the test that set it sees no failures and
	 * notices. There is nobody to tell here (the layer does not print). */
	if (spec && *spec)
		(void)spec_apply(spec);
}

/* 0, or the positive errno the caller must fail this call with. */
static int fault_check(enum node_io_op op)
{
	struct fault *f;
	int err = 0;

	pthread_once(&env_once, env_init);
	if (!atomic_load_explicit(&faults_armed, memory_order_relaxed))
		return 0;
	pthread_mutex_lock(&fault_mu);
	f = &faults[op];
	if (f->nth) {
		f->calls++;
		if (f->calls == f->nth || (f->sticky && f->calls > f->nth)) {
			err = f->err;
			fault_hits[op]++;
		}
	}
	pthread_mutex_unlock(&fault_mu);
	return err;
}

static void rearm(void)
{
	bool any = false;

	for (int i = 0; i < NODE_IO_NOPS; i++)
		any |= faults[i].nth != 0;
	atomic_store(&faults_armed, any);
}

int node_io_fault_set(enum node_io_op op, uint64_t nth, int err, bool sticky)
{
	if ((unsigned)op >= NODE_IO_NOPS || nth == 0 || err <= 0)
		return -EINVAL;
	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&fault_mu);
	faults[op] = (struct fault){.nth = nth, .err = err, .sticky = sticky};
	rearm();
	pthread_mutex_unlock(&fault_mu);
	return 0;
}

void node_io_fault_clear(void)
{
	pthread_once(&env_once, env_init);
	pthread_mutex_lock(&fault_mu);
	memset(faults, 0, sizeof(faults));
	rearm();
	pthread_mutex_unlock(&fault_mu);
}

uint64_t node_io_fault_hits(enum node_io_op op)
{
	uint64_t n;

	if ((unsigned)op >= NODE_IO_NOPS)
		return 0;
	pthread_mutex_lock(&fault_mu);
	n = fault_hits[op];
	pthread_mutex_unlock(&fault_mu);
	return n;
}

/* Parses a decimal number of at most max; the whole [s, end) must be digits. */
static int parse_num(const char *s, const char *end, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

/* One OP:N[+]:ERR item in [s, end). */
static int parse_item(const char *s, const char *end, struct fault *faults_out)
{
	const char *c1 = memchr(s, ':', (size_t)(end - s)), *c2, *nend;
	struct fault f = {0};
	uint64_t v;
	int op = -1;

	if (!c1)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2)
		return -EINVAL;
	for (int i = 0; i < NODE_IO_NOPS; i++)
		if (strlen(op_names[i]) == (size_t)(c1 - s) && !memcmp(op_names[i], s, c1 - s))
			op = i;
	if (op < 0)
		return -EINVAL;
	nend = c2;
	if (nend > c1 + 1 && nend[-1] == '+') {
		f.sticky = true;
		nend--;
	}
	if (parse_num(c1 + 1, nend, UINT64_MAX, &f.nth) < 0 || f.nth == 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
		if (strlen(err_names[i].name) == (size_t)(end - c2 - 1) &&
		    !memcmp(err_names[i].name, c2 + 1, (size_t)(end - c2 - 1)))
			f.err = err_names[i].err;
	if (!f.err) {
		if (parse_num(c2 + 1, end, 4095, &v) < 0 || v == 0)
			return -EINVAL;
		f.err = (int)v;
	}
	faults_out[op] = f;
	return 0;
}

int node_io_fault_spec(const char *spec)
{
	pthread_once(&env_once, env_init);
	return spec_apply(spec);
}

static int spec_apply(const char *spec)
{
	struct fault parsed[NODE_IO_NOPS] = {0};
	bool set[NODE_IO_NOPS] = {0};
	const char *p = spec;

	if (!spec)
		return -EINVAL;
	while (*p) {
		const char *end = strchr(p, ',');
		struct fault one[NODE_IO_NOPS] = {0};

		if (!end)
			end = p + strlen(p);
		if (parse_item(p, end, one) < 0)
			return -EINVAL;
		for (int i = 0; i < NODE_IO_NOPS; i++)
			if (one[i].nth) {
				parsed[i] = one[i];
				set[i] = true;
			}
		p = *end ? end + 1 : end;
	}
	pthread_mutex_lock(&fault_mu);
	for (int i = 0; i < NODE_IO_NOPS; i++)
		if (set[i])
			faults[i] = parsed[i];
	rearm();
	pthread_mutex_unlock(&fault_mu);
	return 0;
}

/* --- crash simulation ----------------------------------------------------------------- */

struct undo {
	struct undo *next; /* older */
	uint64_t off;
	size_t len;
	uint8_t bytes[];
};

struct tracked {
	struct tracked *next;
	dev_t dev;
	ino_t ino;
	int fd;		      /* our own dup: keeps the inode alive */
	uint64_t synced_size; /* size at the last sync */
	struct undo *undo;    /* newest first */
};

static pthread_mutex_t sim_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool sim_on;
static struct tracked *sim_files;

static void tracked_free(struct tracked *t)
{
	while (t->undo) {
		struct undo *u = t->undo;

		t->undo = u->next;
		free(u);
	}
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

/* Raw full pread and pwrite (no faults, no tracking). */
static ssize_t raw_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int raw_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
		    pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The record of fd's file, created (taking its current size as synced) if missing.
 * Caller holds sim_mu. */
static int sim_track(int fd, struct tracked **ret)
{
	struct stat st;
	struct tracked *t;

	if (fstat(fd, &st) < 0)
		return -errno;
	for (t = sim_files; t; t = t->next)
		if (t->dev == st.st_dev && t->ino == st.st_ino) {
			*ret = t;
			return 0;
		}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (t->fd < 0) {
		free(t);
		return -errno;
	}
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->synced_size = (uint64_t)st.st_size;
	t->next = sim_files;
	sim_files = t;
	*ret = t;
	return 0;
}

/* Save the current bytes of [off, off + len) ∩ [0, synced size) before they change. Bytes
 * past the current end of file are saved as zeros (a truncation may have cut them; the
 * truncation's own record, older, restores them). Caller holds sim_mu. */
static int sim_save(struct tracked *t, uint64_t off, uint64_t len)
{
	struct undo *u;
	ssize_t n;

	if (off >= t->synced_size)
		return 0;
	if (len > t->synced_size - off)
		len = t->synced_size - off;
	if (len == 0)
		return 0;
	if (len > SIZE_MAX - sizeof(*u))
		return -ENOMEM;
	u = calloc(1, sizeof(*u) + (size_t)len);
	if (!u)
		return -ENOMEM;
	n = raw_pread(t->fd, u->bytes, (size_t)len, off);
	if (n < 0) {
		free(u);
		return (int)n;
	}
	u->off = off;
	u->len = (size_t)len;
	u->next = t->undo;
	t->undo = u;
	return 0;
}

/* After a successful sync of fd: its file's state is now the synced state. */
static void sim_synced(int fd)
{
	struct stat st;
	struct tracked **pp;

	if (!atomic_load(&sim_on) || fstat(fd, &st) < 0)
		return;
	pthread_mutex_lock(&sim_mu);
	for (pp = &sim_files; *pp; pp = &(*pp)->next)
		if ((*pp)->dev == st.st_dev && (*pp)->ino == st.st_ino) {
			struct tracked *t = *pp;

			*pp = t->next;
			tracked_free(t);
			break;
		}
	pthread_mutex_unlock(&sim_mu);
}

int node_io_crash_sim(bool on)
{
	pthread_mutex_lock(&sim_mu);
	while (sim_files) {
		struct tracked *t = sim_files;

		sim_files = t->next;
		tracked_free(t);
	}
	atomic_store(&sim_on, on);
	pthread_mutex_unlock(&sim_mu);
	return 0;
}

int node_io_crash(void)
{
	int ret = 0;

	pthread_mutex_lock(&sim_mu);
	while (sim_files) {
		struct tracked *t = sim_files;
		int r = 0;

		sim_files = t->next;
		for (struct undo *u = t->undo; u && r == 0; u = u->next)
			r = raw_pwrite(t->fd, u->bytes, u->len, u->off);
		if (r == 0 && ftruncate(t->fd, (off_t)t->synced_size) < 0)
			r = -errno;
		if (r < 0 && ret == 0)
			ret = r;
		tracked_free(t);
	}
	pthread_mutex_unlock(&sim_mu);
	return ret;
}

/* --- the operations ------------------------------------------------------------------- */

int node_io_open(const char *path, int flags, mode_t mode)
{
	return node_io_openat(AT_FDCWD, path, flags, mode);
}

int node_io_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int err = fault_check(NODE_IO_OPEN), fd;

	if (err)
		return -err;
	do
		fd = openat(dirfd, path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

void node_io_close(int fd)
{
	if (fd >= 0)
		close(fd); /* never retried: on Linux the descriptor is gone even on EINTR */
}

ssize_t node_io_pread(int fd, void *buf, size_t len, uint64_t off)
{
	int err = fault_check(NODE_IO_READ);

	if (err)
		return -err;
	if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	return raw_pread(fd, buf, len, off);
}

/* The write itself, with the crash simulation's bookkeeping first. */
static int do_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	struct tracked *t;
	int r;

	if (!atomic_load(&sim_on))
		return raw_pwrite(fd, buf, len, off);
	/* Held across the write so that the saved bytes are the ones it replaces. */
	pthread_mutex_lock(&sim_mu);
	r = sim_track(fd, &t);
	if (r == 0)
		r = sim_save(t, off, len);
	if (r == 0)
		r = raw_pwrite(fd, buf, len, off);
	pthread_mutex_unlock(&sim_mu);
	return r;
}

int node_io_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	int err = fault_check(NODE_IO_WRITE);

	if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	if (err) {
		/* Torn, as a disk filling up mid-write leaves it. */
		(void)do_pwrite(fd, buf, len / 2, off);
		return -err;
	}
	return do_pwrite(fd, buf, len, off);
}

int node_io_fsync(int fd)
{
	int err = fault_check(NODE_IO_FSYNC);

	if (err)
		return -err;
	if (fsync(fd) < 0)
		return -errno;
	sim_synced(fd);
	return 0;
}

int node_io_fdatasync(int fd)
{
	int err = fault_check(NODE_IO_FSYNC);

	if (err)
		return -err;
	if (fdatasync(fd) < 0)
		return -errno;
	sim_synced(fd);
	return 0;
}

int node_io_fsync_dir(const char *path)
{
	int err = fault_check(NODE_IO_FSYNC), fd, r = 0;

	if (err)
		return -err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int node_io_ftruncate(int fd, uint64_t len)
{
	int err = fault_check(NODE_IO_TRUNCATE), r = 0;
	struct tracked *t;

	if (err)
		return -err;
	if (len > INT64_MAX)
		return -EINVAL;
	if (atomic_load(&sim_on)) {
		pthread_mutex_lock(&sim_mu);
		r = sim_track(fd, &t);
		if (r == 0 && len < t->synced_size)
			r = sim_save(t, len, t->synced_size - len);
		if (r == 0 && ftruncate(fd, (off_t)len) < 0)
			r = -errno;
		pthread_mutex_unlock(&sim_mu);
		return r;
	}
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

int node_io_punch(int fd, uint64_t off, uint64_t len)
{
	int err = fault_check(NODE_IO_TRUNCATE);
	uint64_t start = (off + 4095) & ~4095ull, end = (off + len) & ~4095ull;

	if (err)
		return -err;
	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EINVAL;
	/* Whole blocks only: a partial one may hold a neighbour's bytes. */
	if (end <= start)
		return 0;
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
			 (off_t)(end - start)) < 0
		       ? -errno
		       : 0;
}

int node_io_rename(const char *from, const char *to)
{
	int err = fault_check(NODE_IO_RENAME);

	if (err)
		return -err;
	return rename(from, to) < 0 ? -errno : 0;
}

int node_io_unlink(const char *path)
{
	int err = fault_check(NODE_IO_UNLINK);

	if (err)
		return -err;
	return unlink(path) < 0 ? -errno : 0;
}

int node_io_rmdir(const char *path)
{
	int err = fault_check(NODE_IO_UNLINK);

	if (err)
		return -err;
	return rmdir(path) < 0 ? -errno : 0;
}

int node_io_mkdir(const char *path, mode_t mode)
{
	int err = fault_check(NODE_IO_MKDIR);

	if (err)
		return -err;
	return mkdir(path, mode) < 0 ? -errno : 0;
}

int node_io_write_file(const char *path, const void *data, size_t len, mode_t mode, bool sync)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = node_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return fd;
	r = node_io_pwrite(fd, data, len, 0);
	if (r == 0 && sync)
		r = node_io_fsync(fd);
	node_io_close(fd);
	if (r == 0)
		r = node_io_rename(tmp, path);
	if (r == 0 && sync) {
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			r = node_io_fsync_dir(dir);
		}
	}
	return r;
}

int node_io_read_file(const char *path, void *buf, size_t max, size_t *ret_len)
{
	uint8_t extra;
	ssize_t n;
	int fd = node_io_open(path, O_RDONLY, 0);

	if (fd < 0)
		return fd;
	n = node_io_pread(fd, buf, max, 0);
	if (n >= 0 && (size_t)n == max && node_io_pread(fd, &extra, 1, max) == 1)
		n = -E2BIG;
	node_io_close(fd);
	if (n < 0)
		return (int)n;
	*ret_len = (size_t)n;
	return 0;
}

int node_io_fstat(int fd, struct stat *ret_st)
{
	int err = fault_check(NODE_IO_STAT);

	if (err)
		return -err;
	return fstat(fd, ret_st) < 0 ? -errno : 0;
}

int node_io_statvfs(const char *path, struct statvfs *ret_st)
{
	int err = fault_check(NODE_IO_STAT);

	if (err)
		return -err;
	return statvfs(path, ret_st) < 0 ? -errno : 0;
}
