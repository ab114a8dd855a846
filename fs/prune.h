/*
 * prune.h - which log entries the files of a volume still need, for `zgfs prune`.
 *
 * The log is permanent on chain; pruning only frees this machine's disk. A data entry may
 * be dropped when versions of files reference it and no kept version does: entries that no
 * file record ever referenced (KV transactions, `zgfs upload`s, other volumes' entries) are
 * never candidates. A version is the fs_versions() unit (a compaction or an attribute
 * change belongs to the version before it; all of its records are kept or dropped
 * together). Kept: every version when the policy has no limit; else the N newest of each
 * file's history (following rename-replace; the current one always), and every version
 * whose newest record's ctime is at or after keep_since. Files with no name left have no
 * current version: only keep_since keeps theirs. No locking: the caller owns the node and
 * nothing writes the volume meanwhile.
 */
#ifndef FS_PRUNE_H
#define FS_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"
#include "node/node.h"

struct fs_prune_policy {
	bool by_count;	    /* keep the keep newest versions of each file */
	uint64_t keep;	    /* at least 1 when by_count */
	bool by_time;	    /* keep versions changed at or after keep_since */
	int64_t keep_since; /* seconds since the epoch */
};

/* What a scan saw. */
struct fs_prune_stats {
	uint64_t files;	   /* inodes with a history */
	uint64_t versions; /* versions seen */
	uint64_t kept;	   /* of them, kept by the policy */
};

/*
 * fs_prune_scan() - walks every inode the volume in stream ever had: each data entry a
 * record of its history references goes into *all, each one a kept version references
 * into *kept (both unfinished; the caller finishes them, and may scan more volumes into
 * the same sets first). A stream that is no volume (no superblock) adds nothing.
 * Returns 0 or -errno; *stats (may be NULL) adds what was seen.
 */
int fs_prune_scan(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
		  const struct fs_prune_policy *p, struct fs_seqset *kept, struct fs_seqset *all,
		  struct fs_prune_stats *stats);

#endif
