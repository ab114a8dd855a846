/*
 * metrics.h - what the mount counts for `/metrics` (docs/METRICS.md): every FUSE
 * operation (count and latency by kind), bytes read and written through the mount,
 * commits and their latency, reads that failed verification, the read window's hits and
 * misses, operations in flight.
 * Internal to fs/. Every field is atomic: any FUSE thread updates, a scrape reads.
 */
#ifndef FS_METRICS_H
#define FS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sys/metrics.h"

enum fs_op {
	FS_OP_LOOKUP,
	FS_OP_FORGET,
	FS_OP_FORGET_MULTI,
	FS_OP_GETATTR,
	FS_OP_SETATTR,
	FS_OP_READLINK,
	FS_OP_MKNOD,
	FS_OP_MKDIR,
	FS_OP_UNLINK,
	FS_OP_RMDIR,
	FS_OP_SYMLINK,
	FS_OP_RENAME,
	FS_OP_LINK,
	FS_OP_OPEN,
	FS_OP_READ,
	FS_OP_WRITE,
	FS_OP_FLUSH,
	FS_OP_RELEASE,
	FS_OP_FSYNC,
	FS_OP_OPENDIR,
	FS_OP_READDIR,
	FS_OP_READDIRPLUS,
	FS_OP_FSYNCDIR,
	FS_OP_STATFS,
	FS_OP_SETXATTR,
	FS_OP_GETXATTR,
	FS_OP_LISTXATTR,
	FS_OP_REMOVEXATTR,
	FS_OP_CREATE,
	FS_OP_FALLOCATE,
	FS_OP_IOCTL,
	FS_OP_COUNT
};

struct fs_metrics {
	struct sys_hist op[FS_OP_COUNT];
	struct sys_hist commit;	      /* a file's commit: its entry and its record settled */
	_Atomic uint64_t read_bytes;  /* returned to readers */
	_Atomic uint64_t write_bytes; /* taken from writers */
	_Atomic uint64_t commit_errors;
	_Atomic uint64_t corrupt_reads; /* reads answered EIO: bytes failed verification */
	/* Small reads served from a handle's window of verified bytes, or that had to fill
	 * it from the node first. */
	_Atomic uint64_t read_cache_hits, read_cache_misses;
	_Atomic uint64_t in_flight;	/* operations being served now */
};

extern struct fs_metrics fs_metrics;

/* An operation ends: its latency since t0 (sys_now_ns()). */
void fs_metrics_op(enum fs_op op, uint64_t t0);

/* A commit ends (err 0 or an errno). */
void fs_metrics_commit(uint64_t t0, int err);

#endif
