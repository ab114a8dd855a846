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
 * current version: only keep_since keeps theirs. Every entry a snapshot of the volume needs
 * (fs/snapshot.h) is kept whatever the policy. No locking: the caller owns the node and
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
	uint64_t entries;  /* entries dropped (fs_prune_run) ... */
	uint64_t bytes;	   /* ... and their bytes */
	uint64_t again;	   /* entries pruned before, their blocks given back again */
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

/*
 * fs_prune_run() - one whole prune of the volumes in streams (nstreams stream ids, one
 * after another): scan them all, then drop
 * (node_prune()) every finalized entry they reference that no kept version needs. With dry,
 * nothing changes and each entry that would go is passed to each (may be NULL; also called
 * for entries dropped). Returns 0 or -errno (entries dropped before an error stay dropped;
 * none a kept version needs is touched); *stats (not NULL) adds what was seen and done.
 */
typedef void fs_prune_entry_fn(void *ctx, uint64_t tx_seq, uint64_t length);
int fs_prune_run(struct node *n, const uint8_t *streams, size_t nstreams,
		 const struct fs_prune_policy *p, bool dry, fs_prune_entry_fn *each, void *ctx,
		 struct fs_prune_stats *stats);

/*
 * A prune that runs by itself (zgfs mount --prune-keep): fs_prune_run() of one volume every
 * interval_ms, on a thread of its own, beside the mount's writers (safe: a new version only
 * references new entries and those of the current one, which is always kept). report gets
 * each pass's result (err 0 or -errno) on that thread. Here p->keep_since is a duration:
 * each pass keeps what changed within that many seconds before it. stop waits for a pass
 * under way and frees the loop (NULL-safe).
 */
struct fs_prune_loop;
typedef void fs_prune_report_fn(void *ctx, const struct fs_prune_stats *st, int err);
int fs_prune_loop_start(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE],
			const struct fs_prune_policy *p, unsigned interval_ms,
			fs_prune_report_fn *report, void *ctx, struct fs_prune_loop **ret_loop);
void fs_prune_loop_stop(struct fs_prune_loop *l);

#endif
