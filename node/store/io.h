/*
 * io.h - the node's one door to the disk: every file operation of the node's own files goes
 * through these functions, so that tests can make any of them fail and can simulate a
 * power cut.
 *
 * Guarantees:
 *  - Functions return 0 (or a count, or a file descriptor) on success and -errno on
 *    failure; they never print. Descriptors are opened with O_CLOEXEC.
 *  - node_io_pwrite() writes all of its bytes or fails; node_io_pread() reads all of them
 *    unless the file ends first. Both retry EINTR and short transfers.
 *  - Fault injection: node_io_fault_set() (or the environment variable ZGFS_IO_FAULT, read
 *    once, at the first call of any function here) makes the n-th call of one kind of
 *    operation, counted from when the fault was set, fail with a chosen errno; with
 *    `sticky`, that call and every later one of the kind fail, like a disk that stays full.
 *    An injected write failure first writes the first half of its bytes (rounded down to
 *    a whole byte count), as a disk filling up in the middle of a write does; an injected
 *    fsync failure syncs nothing.
 *  - Crash simulation (node_io_crash_sim() then node_io_crash()): while it is on, the layer
 *    remembers, per file (inode), its size at its last sync and the old bytes of every
 *    synced region that was overwritten or truncated since. node_io_crash() undoes all of
 *    it, on every file, as a power cut that keeps only what was synced would. It covers
 *    pwrite and ftruncate on files, not directory entries (a file created and not yet made
 *    durable by node_io_fsync_dir() survives a simulated crash) and not other libraries'
 *    I/O (leveldb writes its own files; it syncs what we ask it to with sync=true).
 *
 * Thread-safety: every function may be called from any thread. Fault and crash-simulation
 * settings are process-wide; they are meant for tests and are cheap when unused (one
 * relaxed atomic load per call).
 */
#ifndef NODE_IO_H
#define NODE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

/* Kinds of operation, for fault injection. Names in ZGFS_IO_FAULT are in brackets. */
enum node_io_op {
	NODE_IO_OPEN,	  /* [open] node_io_open(), node_io_openat() */
	NODE_IO_READ,	  /* [read] node_io_pread() */
	NODE_IO_WRITE,	  /* [write] node_io_pwrite() */
	NODE_IO_FSYNC,	  /* [fsync] node_io_fsync(), node_io_fdatasync(), node_io_fsync_dir() */
	NODE_IO_TRUNCATE, /* [truncate] node_io_ftruncate(), node_io_punch() */
	NODE_IO_RENAME,	  /* [rename] node_io_rename() */
	NODE_IO_UNLINK,	  /* [unlink] node_io_unlink() */
	NODE_IO_MKDIR,	  /* [mkdir] node_io_mkdir() */
	NODE_IO_STAT,	  /* [stat] node_io_fstat(), node_io_statvfs() */
	NODE_IO_NOPS
};

/* open(2)/openat(2) with O_CLOEXEC added. Returns the descriptor (≥ 0) or -errno. */
int node_io_open(const char *path, int flags, mode_t mode);
int node_io_openat(int dirfd, const char *path, int flags, mode_t mode);

/* close(2); NULL-safe in spirit: fd < 0 is ignored. Errors of close are not reported (the
 * data was either synced before or is not promised). */
void node_io_close(int fd);

/* Reads up to len bytes at off. Returns the number read (< len only at end of file) or
 * -errno. */
ssize_t node_io_pread(int fd, void *buf, size_t len, uint64_t off);

/* Writes all len bytes at off. Returns 0 or -errno (some bytes may have been written). */
int node_io_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* Durability. node_io_fsync_dir() syncs the directory at path, which makes the names
 * created, renamed or removed in it durable. Return 0 or -errno. After a failed sync the
 * state of the unsynced data is unknown: callers must not retry and assume success. */
int node_io_fsync(int fd);
int node_io_fdatasync(int fd);
int node_io_fsync_dir(const char *path);

/* Return 0 or -errno. mkdir returns -EEXIST when the name exists. */
int node_io_ftruncate(int fd, uint64_t len);
/* Gives back the disk blocks wholly inside [off, off + len) (fallocate PUNCH_HOLE,
 * KEEP_SIZE): they read as zeros, the file keeps its length. For bytes nothing will read
 * again, so the crash simulation does not restore them. Faults as NODE_IO_TRUNCATE;
 * -EOPNOTSUPP on a filesystem without holes. */
int node_io_punch(int fd, uint64_t off, uint64_t len);
int node_io_rename(const char *from, const char *to);
int node_io_unlink(const char *path);
int node_io_mkdir(const char *path, mode_t mode);
int node_io_rmdir(const char *path); /* counted as an unlink */

/*
 * node_io_write_file() - path holds exactly len bytes of data afterwards, or what it held
 * before: written to path.tmp, synced when sync is true, then renamed over path (and the
 * directory synced when sync is true). Returns 0 or -errno (path.tmp may be left behind).
 */
int node_io_write_file(const char *path, const void *data, size_t len, mode_t mode, bool sync);

/* node_io_read_file() - the whole file at path into buf (max bytes): *ret_len bytes read.
 * -E2BIG when it holds more than max; -errno. */
int node_io_read_file(const char *path, void *buf, size_t max, size_t *ret_len);

/* fstat(2) and statvfs(3). Return 0 or -errno. */
int node_io_fstat(int fd, struct stat *ret_st);
int node_io_statvfs(const char *path, struct statvfs *ret_st);

/* --- fault injection (tests) ---------------------------------------------------------- */

/*
 * node_io_fault_set() - make the nth call (nth ≥ 1) of kind op from now fail with -err
 * (err a positive errno such as ENOSPC); with sticky, also every call after it. Replaces
 * any fault set for op and restarts its count. Returns 0 or -EINVAL.
 */
int node_io_fault_set(enum node_io_op op, uint64_t nth, int err, bool sticky);

/* Removes every fault (and restarts the counts). */
void node_io_fault_clear(void);

/*
 * node_io_fault_spec() - set faults from text, the form ZGFS_IO_FAULT takes: a comma-
 * separated list of OP:N:ERR, or OP:N+:ERR for a sticky fault, where OP is a name from
 * enum node_io_op, N ≥ 1, and ERR one of ENOSPC EIO EDQUOT EFBIG EROFS EACCES EPERM
 * ENOMEM EMFILE ENOENT, or a positive number. Example: "write:5:ENOSPC,fsync:2+:EIO".
 * Returns 0, or -EINVAL and sets nothing when the text is malformed.
 */
int node_io_fault_spec(const char *spec);

/* How many calls of op have failed by injection since the process started. */
uint64_t node_io_fault_hits(enum node_io_op op);

/* --- crash simulation (tests) --------------------------------------------------------- */

/*
 * node_io_crash_sim() - start (on) or stop (off) remembering unsynced changes. Starting
 * takes the current state of every file as synced. Stopping forgets what was remembered
 * without undoing it. Returns 0 or -ENOMEM.
 */
int node_io_crash_sim(bool on);

/*
 * node_io_crash() - undo every change made through this layer since each file's last
 * fsync/fdatasync: restore overwritten bytes, cut appended ones, regrow truncated files
 * with their old bytes. The simulation stays on, with every file now synced. The caller
 * then drops its in-memory state (closes descriptors without further writes) and reopens,
 * as a restarted process would. Returns 0 or the first -errno met (it still undoes the
 * rest).
 */
int node_io_crash(void);

#endif
