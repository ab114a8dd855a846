/*
 * fs.h - the mount: a POSIX view of one volume of a node.
 *
 * A volume is a KV stream. Its namespace lives in that stream as three kinds of keys
 * (fs_key_*): the superblock, one record per inode (attributes, the file's extent list or
 * a symlink's target), and one per directory entry. Every metadata change is one KV
 * transaction, so it is atomic, and the namespace can be rebuilt from the log. File bytes
 * are extents: byte ranges of log entries. docs/SEMANTICS.md is the contract.
 */
#ifndef FS_FS_H
#define FS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "node/node.h"

#define FS_ROOT_INO 1

struct fs_config {
	const char *mountpoint;
	struct node *node;	  /* the node the volume lives on; not owned */
	const char *volume;	  /* volume name (default "default") */
	bool read_only;
	bool verify;		  /* reported in the log; the node does the checking */
	int ready_fd;		  /* written "ok\n" or an error line once mounted; -1: none */
	const char *node_url;	  /* where this mount's node answers RPC, for user.zg.node */
	const char *metrics_url;  /* where its /metrics answers, for user.zg.metrics, or NULL */
	unsigned max_threads;	  /* FUSE worker threads (0: FS_THREADS) */
	bool append_only;	  /* -o append_only: every file as if `chattr +a` */
	bool writeback;		  /* close() leaves the commit to fsync, unmount or a delay */
	const char *fuse_opts;	  /* further -o options for the kernel (comma list), or NULL */
	int64_t uid, gid;	  /* -o uid=, gid=: the owner stat reports for every inode, or
				     -1 for the owner stored (zero-initialized: 0 is root) */
	bool force_uid, force_gid; /* whether uid and gid above apply */
	uint32_t umask;		  /* -o umask=: mode bits stat leaves out (07777 at most) */
	uint64_t prune_keep;	  /* --prune-keep N: prune to the N newest versions of each
				     file every prune_interval_ms (fs/prune.h); 0: never */
	unsigned prune_interval_ms;
	/* zgfs mount --snapshot: serve this snapshot's tree (fs/snapshot.h), read-only,
	 * instead of the volume; not owned, kept until fs_main() returns. */
	const struct fs_snap *snapshot;
};

/*
 * fs_main() - mount the volume at cfg->mountpoint and serve it until it is unmounted or
 * the process gets SIGINT/SIGTERM/SIGHUP. Returns 0 after a clean unmount, or -errno
 * (after writing the reason to cfg->ready_fd when the mount never became ready).
 */
int fs_main(const struct fs_config *cfg);

/* The stream id of a volume: keccak256("zgfs volume " + name). */
void fs_volume_stream(const char *name, uint8_t ret_stream[NODE_STREAM_ID_SIZE]);

/* One extent: bytes [offset, offset + length) of log entry tx_seq. A hole (tx_seq
 * FS_HOLE, offset 0) reads as length zero bytes and is stored as nothing. */
struct fs_extent {
	uint64_t tx_seq, offset, length;
};

#define FS_HOLE UINT64_MAX

/* Inode record flags. */
#define FS_REC_APPEND 0x1u    /* `chattr +a`: writes only at EOF, truncate only to 0 */
#define FS_REC_COMPACTED 0x2u /* this version rewrote the previous one's extents as one
				 entry: the same content, not listed as a version */
#define FS_REC_FLAGS (FS_REC_APPEND | FS_REC_COMPACTED)

/* An inode record as kept in the volume's stream. */
struct fs_record {
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t atime_sec, mtime_sec, ctime_sec;
	uint32_t atime_nsec, mtime_nsec, ctime_nsec;
	uint64_t parent; /* directories: the parent directory's inode */
	uint32_t flags;	 /* FS_REC_* */
	uint64_t prev;	 /* the inode whose history this file continues (it was renamed onto
			    that inode's name), or 0 */
	size_t nextents;
	struct fs_extent *extents; /* malloc'd (fs_record_release) */
	size_t target_len;
	char *target; /* symlinks: malloc'd, not NUL-terminated in the record */
	uint64_t rdev; /* character and block devices: the device number (dev_t) */
	/* Extended attributes kept with the inode (fs/xattr.h): a blob of entries sorted by
	 * name, each u8 name length, name, u32 value length (big-endian), value. malloc'd
	 * (fs_record_release); shared, like extents and target, by shallow copies. */
	size_t xattrs_len;
	uint8_t *xattrs;
};

/* Keys: "S"; "I" + be64(ino); "D" + be64(parent) + name. Return the key length. */
#define FS_KEY_MAX (1 + 8 + 255)
size_t fs_key_super(uint8_t key[FS_KEY_MAX]);
size_t fs_key_inode(uint8_t key[FS_KEY_MAX], uint64_t ino);
size_t fs_key_dirent(uint8_t key[FS_KEY_MAX], uint64_t parent, const char *name, size_t len);

/* Record codec (the formats: fs/record.c). encode: format 4 (varints; a small append's
 * extent in 3 bytes), malloc'd bytes in *ret (free them); -E2BIG past the limits or for an
 * extent of 2^63 bytes or more. Mounts older than format 4 cannot read what it writes.
 * decode: formats 1 to 4; -EINVAL when malformed (format 4 also when a varint is not in
 * its shortest form, so that a record has one encoding). */
int fs_record_encode(const struct fs_record *r, uint8_t **ret, size_t *ret_len);
__attribute__((warn_unused_result)) int fs_record_decode(const uint8_t *p, size_t len,
							  struct fs_record *ret);
void fs_record_release(struct fs_record *r); /* NULL-safe */

/*
 * fs_read_extents() - bytes [off, off + len) of content made of extents, read from the node
 * (verified there). Returns the number of bytes read (less at the end), or -errno, with
 * the tx seq of the entry that failed in *ret_failed_seq (may be NULL).
 */
ssize_t fs_read_extents(struct node *n, const struct fs_extent *ext, size_t next, uint64_t off,
			void *buf, size_t len, uint64_t *ret_failed_seq);

/*
 * fs_versions() - every version of a file, oldest first, following its history across
 * rename-replace (fs_record.prev): for each, fn gets the KV seq of the record and the
 * record (borrowed for the call). Records that change only attributes, compactions
 * (FS_REC_COMPACTED) and the empty record a file is created with (when more follow) are
 * not versions. fn returns non-zero to stop (returned as is). Returns 0 or -errno.
 */
typedef int fs_version_fn(void *ctx, uint64_t seq, const struct fs_record *rec);
int fs_versions(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], uint64_t ino,
		fs_version_fn *fn, void *ctx);

/* A set of seqs (tx seqs, KV versions): add any number, then fs_seqset_finish() sorts it
 * and drops repeats. Zero-initialize. */
struct fs_seqset {
	uint64_t *v;
	size_t n, cap;
};
int fs_seqset_add(struct fs_seqset *s, uint64_t seq); /* 0 or -ENOMEM */
void fs_seqset_finish(struct fs_seqset *s);
bool fs_seqset_has(const struct fs_seqset *s, uint64_t seq); /* after finish */
void fs_seqset_release(struct fs_seqset *s);		       /* NULL-safe */
/* A node_kv_version_fn adding each version to the fs_seqset ctx, in the order given. */
int fs_seqset_add_version(void *ctx, uint64_t version, uint64_t size);

/* fs_record_at() - the record of ino as of KV seq: 0 with *ret filled (fs_record_release
 * it), 1 when it was a deletion or unreadable, or -errno. */
int fs_record_at(struct node *n, const uint8_t *stream, uint64_t ino, uint64_t seq,
		 struct fs_record *ret);

/*
 * fs_history() - every record of a file's history (fs_versions' walk), oldest first, the
 * ones that are not versions too, with version telling which are. Deletions are left out.
 */
typedef int fs_history_fn(void *ctx, uint64_t seq, const struct fs_record *rec, bool version);
int fs_history(struct node *n, const uint8_t stream[NODE_STREAM_ID_SIZE], uint64_t ino,
	       fs_history_fn *fn, void *ctx);

/* fs_content_root() - the 0G root of content made of extents: the entry's own root when
 * one extent is a whole entry, else hashed from the bytes. -ENODATA when it is empty. */
int fs_content_root(struct node *n, const struct fs_extent *ext, size_t next,
		    uint8_t ret_root[32]);

/* fs_content_hash() - the same root, always hashed from the bytes read from the node
 * (verified there), even for one whole entry: what `zgfs snapshot verify` trusts.
 * progress (may be NULL) gets the bytes hashed, as they are. */
int fs_content_hash(struct node *n, const struct fs_extent *ext, size_t next,
		    void (*progress)(void *ctx, uint64_t bytes), void *ctx, uint8_t ret_root[32]);

/*
 * Roots of many versions of one file (zgfs versions, user.zg.versions): versions share
 * most of their entries, so small entries (at most FS_ENTRY_CACHE_ENTRY_MAX bytes, up to
 * FS_ENTRY_CACHE_MAX in all) are read once, verified, and kept here. Zero-initialize; one
 * thread at a time; fs_entry_cache_release() frees what it holds.
 */
#define FS_ENTRY_CACHE_SLOTS 1024
struct fs_entry_slot {
	uint64_t seq;
	uint8_t *data;
	size_t len;
};
struct fs_entry_cache {
	struct fs_entry_slot slot[FS_ENTRY_CACHE_SLOTS];
	size_t bytes;
};
void fs_entry_cache_release(struct fs_entry_cache *c); /* NULL-safe */

/* fs_content_root_cached() - fs_content_root() through a cache of small entries. */
int fs_content_root_cached(struct node *n, struct fs_entry_cache *c, const struct fs_extent *ext,
			   size_t next, uint8_t ret_root[32]);

/* fs_version_root() - a version's root as `zgfs versions` prints it: "0x" and 64 hex
 * digits, "pruned" when `zgfs prune` dropped bytes it needs from this node, or "-" for an
 * empty version or one whose bytes cannot be read. */
void fs_version_root(struct node *n, struct fs_entry_cache *c, const struct fs_record *rec,
		     char ret_hex[67]);

/* fs_version_pruned() - true when an entry rec's content needs was pruned on this node. */
bool fs_version_pruned(struct node *n, const struct fs_record *rec);

/*
 * fs_metrics_text() - the mount's figures in Prometheus' text format, appended to out
 * (node_rpc_metrics_fn: cmd_mount installs it on the loopback listener). ctx unused. Any
 * thread. Returns 0 or the buffer's error.
 */
struct sys_buf;
int fs_metrics_text(void *ctx, struct sys_buf *out);

#endif
