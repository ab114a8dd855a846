/*
 * The node's I/O layer: every operation does what its system call does, fault injection
 * fails exactly the calls it names (from the API and from ZGFS_IO_FAULT), and the crash
 * simulation brings every file back to its last synced state.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/store/io.h"
#include "tests/tap.h"

static char tmp[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void path_in(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmp, name);
}

/* The whole content of path into buf (at most cap bytes); returns its size or -1. */
static ssize_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	return n;
}

static int file_is(const char *path, const uint8_t *want, size_t len)
{
	static uint8_t got[1 << 16];
	ssize_t n = slurp(path, got, sizeof(got));

	return n == (ssize_t)len && memcmp(got, want, len) == 0;
}

/* A file holding data, written and synced before the simulation starts (or while it runs:
 * then the sync makes it the synced state). */
static int make_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = node_io_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return fd;
	if (node_io_pwrite(fd, data, len, 0) < 0 || node_io_fsync(fd) < 0) {
		node_io_close(fd);
		return -EIO;
	}
	return fd;
}

static void test_env(void)
{
	char p[128];
	int fd;

	/* Set in main() before any call: the first open fails, the second works. */
	path_in(p, sizeof(p), "env");
	fd = node_io_open(p, O_RDWR | O_CREAT, 0600);
	ok(fd == -EACCES, "ZGFS_IO_FAULT=open:1:EACCES fails the first open (%d)", fd);
	fd = node_io_open(p, O_RDWR | O_CREAT, 0600);
	ok(fd >= 0, "and only the first");
	node_io_close(fd);
	ok(node_io_fault_hits(NODE_IO_OPEN) == 1, "one injected open failure counted");
}

static void test_ops(void)
{
	char a[128], b[128], d[128];
	uint8_t buf[5000], back[6000];
	struct stat st;
	struct statvfs vfs;
	ssize_t n;
	int fd;

	tap_fill(buf, sizeof(buf));
	path_in(a, sizeof(a), "a");
	path_in(b, sizeof(b), "b");
	path_in(d, sizeof(d), "dir");
	fd = node_io_open(a, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0, "open creates");
	ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "descriptor is close-on-exec");
	ok(node_io_pwrite(fd, buf, sizeof(buf), 100) == 0, "pwrite at an offset");
	n = node_io_pread(fd, back, sizeof(back), 100);
	ok(n == (ssize_t)sizeof(buf) && memcmp(back, buf, sizeof(buf)) == 0,
	   "pread returns the bytes, fewer at end of file (%zd)", n);
	ok(node_io_pread(fd, back, 10, 1 << 20) == 0, "pread past the end reads nothing");
	ok(node_io_fsync(fd) == 0 && node_io_fdatasync(fd) == 0, "fsync, fdatasync");
	ok(node_io_ftruncate(fd, 1000) == 0 && node_io_fstat(fd, &st) == 0 && st.st_size == 1000,
	   "ftruncate and fstat");
	node_io_close(fd);
	ok(node_io_rename(a, b) == 0 && access(b, F_OK) == 0 && access(a, F_OK) != 0, "rename");
	ok(node_io_unlink(b) == 0 && access(b, F_OK) != 0, "unlink");
	ok(node_io_unlink(b) == -ENOENT, "unlink of a missing file is -ENOENT");
	ok(node_io_mkdir(d, 0700) == 0 && node_io_mkdir(d, 0700) == -EEXIST, "mkdir, -EEXIST");
	ok(node_io_fsync_dir(d) == 0 && node_io_fsync_dir(tmp) == 0, "fsync of a directory");
	ok(node_io_statvfs(tmp, &vfs) == 0 && vfs.f_bsize > 0, "statvfs");
	ok(node_io_open(a, O_RDONLY, 0) == -ENOENT, "open of a missing file is -ENOENT");
	fd = node_io_openat(AT_FDCWD, d, O_RDONLY | O_DIRECTORY, 0);
	ok(fd >= 0, "openat");
	node_io_close(fd);
	node_io_close(-1);
}

static void test_faults(void)
{
	char p[128];
	uint8_t buf[1000], back[1000];
	int fd, r1, r2, r3, r4;
	uint64_t hits = node_io_fault_hits(NODE_IO_WRITE);

	tap_fill(buf, sizeof(buf));
	path_in(p, sizeof(p), "faults");
	fd = node_io_open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

	ok(node_io_fault_set(NODE_IO_WRITE, 3, ENOSPC, false) == 0, "set write:3:ENOSPC");
	r1 = node_io_pwrite(fd, buf, 10, 0);
	r2 = node_io_pwrite(fd, buf, 10, 10);
	r3 = node_io_pwrite(fd, buf + 20, 100, 20);
	r4 = node_io_pwrite(fd, buf, 10, 200);
	ok(r1 == 0 && r2 == 0 && r3 == -ENOSPC && r4 == 0,
	   "only the third write fails (%d %d %d %d)", r1, r2, r3, r4);
	ok(node_io_fault_hits(NODE_IO_WRITE) == hits + 1, "hit counted");
	memset(back, 0xee, sizeof(back));
	ok(node_io_pread(fd, back, 100, 20) == 100 && memcmp(back, buf + 20, 50) == 0 &&
	       back[50] == 0 && back[99] == 0,
	   "the failed write is torn: its first half landed, the rest did not");

	ok(node_io_fault_set(NODE_IO_FSYNC, 2, EIO, true) == 0, "set fsync:2+:EIO");
	r1 = node_io_fsync(fd);
	r2 = node_io_fdatasync(fd);
	r3 = node_io_fsync_dir(tmp);
	ok(r1 == 0 && r2 == -EIO && r3 == -EIO, "sticky: the second and every later sync fail");
	ok(node_io_pwrite(fd, buf, 10, 0) == 0, "other kinds are not affected");
	node_io_fault_clear();
	ok(node_io_fsync(fd) == 0, "clear removes every fault");

	ok(node_io_fault_set(NODE_IO_READ, 1, EIO, false) == 0 &&
	       node_io_pread(fd, back, 10, 0) == -EIO && node_io_pread(fd, back, 10, 0) == 10,
	   "read fault");
	ok(node_io_fault_set(NODE_IO_TRUNCATE, 1, EROFS, false) == 0 &&
	       node_io_ftruncate(fd, 0) == -EROFS,
	   "truncate fault");
	ok(node_io_fault_set(NODE_IO_STAT, 1, EIO, false) == 0 &&
	       node_io_statvfs(tmp, &(struct statvfs){0}) == -EIO,
	   "stat fault");
	ok(node_io_fault_set(NODE_IO_WRITE, 0, EIO, false) == -EINVAL &&
	       node_io_fault_set(NODE_IO_NOPS, 1, EIO, false) == -EINVAL &&
	       node_io_fault_set(NODE_IO_WRITE, 1, 0, false) == -EINVAL,
	   "bad fault settings are -EINVAL");

	node_io_fault_clear();
	ok(node_io_fault_spec("write:2:ENOSPC,fsync:1+:EIO,read:1:5") == 0, "spec parses");
	r1 = node_io_pwrite(fd, buf, 10, 0);
	r2 = node_io_pwrite(fd, buf, 10, 0);
	ok(r1 == 0 && r2 == -ENOSPC, "spec: second write fails");
	ok(node_io_fsync(fd) == -EIO && node_io_fsync(fd) == -EIO, "spec: sticky fsync");
	ok(node_io_pread(fd, back, 1, 0) == -EIO, "spec: numeric errno");
	node_io_fault_clear();
	ok(node_io_fault_spec("") == 0, "empty spec sets nothing");
	{
		static const char *const bad[] = {
		    "write",	     "write:1",	      "write:0:EIO", "bogus:1:EIO",
		    "write:1:ENOPE", "write:1:",      "write:x:EIO", "write:1:EIO,,",
		    "write:+:EIO",   "write:1:99999", ":1:EIO",	     "write:1:EIO,read",
		};
		int bad_ok = 0;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			bad_ok += node_io_fault_spec(bad[i]) == -EINVAL;
		ok(bad_ok == (int)(sizeof(bad) / sizeof(bad[0])), "malformed specs are -EINVAL");
	}
	ok(node_io_pwrite(fd, buf, 10, 0) == 0 && node_io_fsync(fd) == 0,
	   "a rejected spec sets nothing");
	node_io_close(fd);
}

static void test_crash(void)
{
	char a[128], b[128], c[128], d[128], e[128];
	uint8_t orig[8192], more[8192], img[16384];
	int fa, fb, fc, fd, fe, fb2;

	tap_fill(orig, sizeof(orig));
	tap_fill(more, sizeof(more));
	path_in(a, sizeof(a), "ca");
	path_in(b, sizeof(b), "cb");
	path_in(c, sizeof(c), "cc");
	path_in(d, sizeof(d), "cd");
	path_in(e, sizeof(e), "ce");
	fa = make_file(a, orig, sizeof(orig));
	fc = make_file(c, orig, sizeof(orig));
	fd = make_file(d, orig, 4096);
	ok(node_io_crash_sim(true) == 0, "simulation on");

	/* a: overwrite inside, overwrite the same place again, append; nothing synced. */
	ok(node_io_pwrite(fa, more, 100, 100) == 0 &&
	       node_io_pwrite(fa, more + 500, 300, 50) == 0 &&
	       node_io_pwrite(fa, more, 4096, 8000) == 0,
	   "unsynced overwrites and append");
	/* b: created under the simulation, synced, then written more. */
	fb = node_io_open(b, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(node_io_pwrite(fb, orig, 3000, 0) == 0 && node_io_fdatasync(fb) == 0 &&
	       node_io_pwrite(fb, more, 3000, 1000) == 0,
	   "write, sync, write");
	/* c: truncated short, then extended by a write past the old end. */
	ok(node_io_ftruncate(fc, 1000) == 0 && node_io_pwrite(fc, more, 2000, 9000) == 0,
	   "truncate then write past the old end");
	/* d: written and the descriptor closed: the page cache still holds it. */
	ok(node_io_pwrite(fd, more, 4096, 0) == 0, "write then close");
	node_io_close(fd);
	/* e: a new file never synced. */
	fe = node_io_open(e, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(node_io_pwrite(fe, more, 5000, 0) == 0, "new file, unsynced");

	ok(node_io_crash() == 0, "crash");
	ok(file_is(a, orig, sizeof(orig)), "a: old bytes restored, append cut");
	memcpy(img, orig, 3000);
	ok(file_is(b, img, 3000), "b: synced part kept, later write undone");
	ok(file_is(c, orig, sizeof(orig)), "c: truncation undone, old bytes back");
	ok(file_is(d, orig, 4096), "d: write through a closed descriptor undone");
	ok(file_is(e, img, 0), "e: never synced, empty");

	/* Syncing through another descriptor of the same file counts. */
	fb2 = node_io_open(b, O_RDWR, 0);
	ok(node_io_pwrite(fb, more, 1000, 0) == 0 && node_io_fsync(fb2) == 0 &&
	       node_io_pwrite(fb, orig, 10, 5000) == 0,
	   "write, sync through another descriptor, write");
	ok(node_io_crash() == 0, "second crash: the simulation stays on");
	memcpy(img, more, 1000);
	memcpy(img + 1000, orig + 1000, 2000);
	ok(file_is(b, img, 3000), "b: the sync through the other descriptor held");

	/* An injected sync failure syncs nothing. */
	ok(node_io_pwrite(fa, more, 10, 0) == 0 &&
	       node_io_fault_set(NODE_IO_FSYNC, 1, EIO, false) == 0 && node_io_fsync(fa) == -EIO,
	   "sync fails by injection");
	ok(node_io_crash() == 0 && file_is(a, orig, sizeof(orig)), "and the write is undone");

	/* Turning the simulation off forgets without undoing. */
	ok(node_io_pwrite(fa, more, 10, 0) == 0 && node_io_crash_sim(false) == 0 &&
	       node_io_crash() == 0,
	   "write, simulation off, crash");
	memcpy(img, orig, sizeof(orig));
	memcpy(img, more, 10);
	ok(file_is(a, img, sizeof(orig)), "nothing undone once off");
	node_io_close(fa);
	node_io_close(fb);
	node_io_close(fb2);
	node_io_close(fc);
	node_io_close(fe);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/zgfs-io-XXXXXX");
	if (!mkdtemp(tmp))
		skip_all("cannot create a temporary directory");
	setenv("ZGFS_IO_FAULT", "open:1:EACCES", 1);
	tap_seed(7);
	test_env();
	test_ops();
	test_faults();
	test_crash();
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
