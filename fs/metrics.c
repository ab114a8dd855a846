/*
 * The mount's figures in Prometheus' text format (sys/metrics.h), appended to the node's
 * by the loopback listener of a mount with its node in process.
 */
#include <stdio.h>

#include "fs/fs.h"
#include "fs/metrics.h"

struct fs_metrics fs_metrics;

static const char *const op_names[FS_OP_COUNT] = {
    [FS_OP_LOOKUP] = "lookup",
    [FS_OP_FORGET] = "forget",
    [FS_OP_FORGET_MULTI] = "forget_multi",
    [FS_OP_GETATTR] = "getattr",
    [FS_OP_SETATTR] = "setattr",
    [FS_OP_READLINK] = "readlink",
    [FS_OP_MKNOD] = "mknod",
    [FS_OP_MKDIR] = "mkdir",
    [FS_OP_UNLINK] = "unlink",
    [FS_OP_RMDIR] = "rmdir",
    [FS_OP_SYMLINK] = "symlink",
    [FS_OP_RENAME] = "rename",
    [FS_OP_LINK] = "link",
    [FS_OP_OPEN] = "open",
    [FS_OP_READ] = "read",
    [FS_OP_WRITE] = "write",
    [FS_OP_FLUSH] = "flush",
    [FS_OP_RELEASE] = "release",
    [FS_OP_FSYNC] = "fsync",
    [FS_OP_OPENDIR] = "opendir",
    [FS_OP_READDIR] = "readdir",
    [FS_OP_READDIRPLUS] = "readdirplus",
    [FS_OP_FSYNCDIR] = "fsyncdir",
    [FS_OP_STATFS] = "statfs",
    [FS_OP_SETXATTR] = "setxattr",
    [FS_OP_GETXATTR] = "getxattr",
    [FS_OP_LISTXATTR] = "listxattr",
    [FS_OP_REMOVEXATTR] = "removexattr",
    [FS_OP_CREATE] = "create",
    [FS_OP_FALLOCATE] = "fallocate",
    [FS_OP_IOCTL] = "ioctl",
};

void fs_metrics_op(enum fs_op op, uint64_t t0)
{
	sys_hist_observe(&fs_metrics.op[op], sys_now_ns() - t0);
}

void fs_metrics_commit(uint64_t t0, int err)
{
	sys_hist_observe(&fs_metrics.commit, sys_now_ns() - t0);
	if (err)
		atomic_fetch_add_explicit(&fs_metrics.commit_errors, 1, memory_order_relaxed);
}

int fs_metrics_text(void *ctx, struct sys_buf *b)
{
	char labels[64];
	int r;

	(void)ctx;
	r = sys_metrics_family(b, "zgfs_fs_ops_total", "counter",
			       "FUSE operations served, by kind.");
	for (unsigned i = 0; r == 0 && i < FS_OP_COUNT; i++) {
		snprintf(labels, sizeof(labels), "op=\"%s\"", op_names[i]);
		r = sys_metrics_value(b, "zgfs_fs_ops_total", labels,
				      atomic_load(&fs_metrics.op[i].count));
	}
	if (r == 0)
		r = sys_metrics_family(b, "zgfs_fs_op_duration_seconds", "histogram",
				       "Time to serve a FUSE operation, by kind.");
	for (unsigned i = 0; r == 0 && i < FS_OP_COUNT; i++) {
		snprintf(labels, sizeof(labels), "op=\"%s\"", op_names[i]);
		r = sys_metrics_hist(b, "zgfs_fs_op_duration_seconds", labels, &fs_metrics.op[i]);
	}
	if (r == 0)
		r = sys_metrics_single(b, "zgfs_fs_read_bytes_total", "counter",
				       "Bytes returned to readers.",
				       atomic_load(&fs_metrics.read_bytes));
	if (r == 0)
		r = sys_metrics_single(b, "zgfs_fs_write_bytes_total", "counter",
				       "Bytes taken from writers.",
				       atomic_load(&fs_metrics.write_bytes));
	if (r == 0)
		r = sys_metrics_family(
		    b, "zgfs_fs_commit_duration_seconds", "histogram",
		    "Time to commit a file: its log entry and its record settled.");
	if (r == 0)
		r = sys_metrics_hist(b, "zgfs_fs_commit_duration_seconds", NULL,
				     &fs_metrics.commit);
	if (r == 0)
		r = sys_metrics_single(b, "zgfs_fs_commit_errors_total", "counter",
				       "Commits that failed.",
				       atomic_load(&fs_metrics.commit_errors));
	if (r == 0)
		r = sys_metrics_single(
		    b, "zgfs_fs_corrupt_reads_total", "counter",
		    "Reads answered EIO because stored bytes failed verification.",
		    atomic_load(&fs_metrics.corrupt_reads));
	if (r == 0)
		r = sys_metrics_single(
		    b, "zgfs_fs_read_cache_hits_total", "counter",
		    "Small reads served from an open file's window of verified bytes.",
		    atomic_load(&fs_metrics.read_cache_hits));
	if (r == 0)
		r = sys_metrics_single(
		    b, "zgfs_fs_read_cache_misses_total", "counter",
		    "Small reads that first filled their window from the node (verified there).",
		    atomic_load(&fs_metrics.read_cache_misses));
	if (r == 0)
		r = sys_metrics_single(b, "zgfs_fs_ops_in_flight", "gauge",
				       "FUSE operations being served now.",
				       atomic_load(&fs_metrics.in_flight));
	return r;
}
