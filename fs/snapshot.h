/*
 * snapshot.h - dataset snapshots: a directory tree of a volume as it stood at one KV point,
 * pinned by one root (docs/SNAPSHOTS.md).
 *
 * A snapshot is a log entry, its manifest, holding two things: the tree's entries (path,
 * type, mode, size, root of each file, directory, link or special file under the top, in
 * path order), over which the snapshot root is a Merkle commitment; and the namespace
 * records of those inodes as the volume's stream had them at that point, from which a
 * mount shows the tree as it was. Its id is the manifest's tx seq. The volume's snapshot
 * registry, a KV stream of its own, lists them by id and by name. Records name the log
 * entries of the files, so a snapshot keeps its files readable for as long as those
 * entries are kept (zgfs prune keeps every entry a snapshot needs).
 *
 * The root: leaf = keccak256("zgfs snapshot leaf" 0x00 ‖ be16 path length ‖ path ‖ type ‖
 * be32 mode ‖ be64 size ‖ root); the leaves in path order (strcmp) make a 0G Merkle tree
 * (codec/merkle.h: odd nodes carried up); snapshot root = keccak256("zgfs snapshot root"
 * 0x00 ‖ be64 leaf count ‖ tree root). A leaf's preimage is never 64 bytes long, so no leaf
 * passes for an inner node; the count fixes the tree's shape, so a proof's position says
 * which leaves are neighbours and absence is provable by two adjacent leaves.
 *
 * Functions return 0 or -errno; ret_ params are written only on success. One thread per
 * struct fs_snap.
 */
#ifndef FS_SNAPSHOT_H
#define FS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/node.h"

/* The longest snapshot name, and the most entries one snapshot holds. */
#define FS_SNAP_NAME_MAX    64u
#define FS_SNAP_ENTRIES_MAX (1u << 24)
/* The largest manifest read back (zgfs mount --snapshot holds it in memory). */
#define FS_SNAP_MANIFEST_MAX (2ull << 30)
/* The longest path inside a snapshot. */
#define FS_SNAP_PATH_MAX 4096u

/* Whether name may name a snapshot: 1 to FS_SNAP_NAME_MAX of A-Z a-z 0-9 . _ - + @ :,
 * not only digits (those are ids). */
bool fs_snap_name_ok(const char *name);

/* One entry of the tree. type: 'f' regular file, 'd' directory, 'l' symlink, 'p' FIFO,
 * 's' socket, 'c' and 'b' device nodes. root: a regular file's 0G root (zero when empty),
 * keccak256 of a symlink's target, else zero. */
struct fs_snap_entry {
	char *path;   /* "/" for the top, "/a/b" below it; malloc'd */
	uint64_t ino; /* inode in the snapshot's namespace (the top is FS_ROOT_INO) */
	char type;
	uint32_t mode; /* permission bits (07777) */
	uint64_t size;
	uint8_t root[32];
};

/* One namespace record (fs.h's keys and values). */
struct fs_snap_item {
	uint8_t *key, *value;
	size_t key_len, value_len;
};

struct fs_snap {
	uint64_t id; /* the manifest's tx seq (0 until stored) */
	uint8_t volume[NODE_STREAM_ID_SIZE];
	uint64_t point;			 /* the KV point: the stream right after this tx seq */
	uint64_t top;			 /* the top directory's inode in the volume */
	int64_t created;		 /* seconds since the epoch */
	char name[FS_SNAP_NAME_MAX + 1]; /* "" when unnamed */
	char *source;			 /* where it was taken from, as given (malloc'd) */
	uint8_t root[32];		 /* the snapshot root */
	uint64_t bytes;			 /* the regular files' sizes added up */
	size_t n;
	struct fs_snap_entry *e; /* in path order */
	size_t nitems;
	struct fs_snap_item *items;
};
void fs_snap_release(struct fs_snap *s); /* NULL-safe; leaves it empty */

/* Progress of a long walk: bytes of file content hashed so far of total (0: unknown). */
typedef void fs_snap_progress_fn(void *ctx, uint64_t done, uint64_t total);

/*
 * fs_snap_build() - the snapshot of the tree under directory inode top of volume as the
 * stream stood right after tx seq point: every entry with its root (hashed from the bytes
 * where a file is not one whole entry), the records, and the snapshot root. name may be
 * NULL (-EINVAL unless fs_snap_name_ok()); source is recorded as given. -ENOTDIR: top is not a
 * directory then; -ENOENT: no such inode; -EFBIG: more than FS_SNAP_ENTRIES_MAX entries or a path
 * over FS_SNAP_PATH_MAX; -EIO: a file's bytes cannot be read or do not verify.
 */
int fs_snap_build(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], uint64_t top,
		  uint64_t point, const char *name, const char *source,
		  fs_snap_progress_fn *progress, void *ctx, struct fs_snap *ret);

/*
 * fs_snap_store() - settle a built snapshot: its manifest as one log entry (s->id becomes
 * its tx seq), then one KV transaction adding it to the volume's registry by id and by
 * name. -EEXIST: a snapshot of that volume already has the name (nothing is written).
 */
int fs_snap_store(struct node *n, struct fs_snap *s);

/*
 * fs_snap_load() - the snapshot whose manifest is entry id, read from the node (verified
 * against the entry's root) and checked: the entries must be in path order and make the
 * root the manifest states. -EINVAL: entry id is no snapshot manifest (or a malformed
 * one); -EBADMSG: its entries do not make its root.
 */
int fs_snap_load(struct node *n, uint64_t id, struct fs_snap *ret);

/* fs_snap_decode() - a manifest's bytes parsed and checked as fs_snap_load() does (for
 * callers holding them, and the fuzz target); ret->id is 0. fs_snap_encode() - the
 * manifest of s, malloc'd in *ret (free it): what fs_snap_store() settles. */
__attribute__((warn_unused_result)) int fs_snap_decode(const uint8_t *p, size_t len,
						       struct fs_snap *ret);
int fs_snap_encode(const struct fs_snap *s, uint8_t **ret, size_t *ret_len);

/*
 * fs_snap_resolve() - the id of a snapshot of volume named by text: a decimal id listed in
 * the registry, or a name. -ENOENT when none is.
 */
int fs_snap_resolve(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], const char *text,
		    uint64_t *ret_id);

/* What the registry says of one snapshot (fs_snap_list). */
struct fs_snap_info {
	uint64_t id, point, entries, bytes;
	int64_t created;
	uint8_t root[32];
	char name[FS_SNAP_NAME_MAX + 1];
	char source[256]; /* cut to fit */
};
typedef int fs_snap_list_fn(void *ctx, const struct fs_snap_info *info);
/* fs_snap_list() - the volume's snapshots, oldest first; fn returns non-zero to stop. */
int fs_snap_list(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], fs_snap_list_fn *fn,
		 void *ctx);

/* fs_snap_registry() - the stream id of a volume's snapshot registry:
 * keccak256("zgfs snapshots " ‖ volume stream id). */
void fs_snap_registry(const uint8_t volume[NODE_STREAM_ID_SIZE],
		      uint8_t ret_stream[NODE_STREAM_ID_SIZE]);

/*
 * fs_snap_verify() - recompute every entry from the namespace records and the files'
 * bytes, all read back from the node and verified there (a one-entry file is hashed too,
 * not taken from the chain), and the root from the entries. bad gets each entry that
 * differs or cannot be read (err -EIO, -ENOENT, ... or -EBADMSG for a mismatch). Returns
 * 0 when everything matches, -EBADMSG when something does not, another -errno when the
 * walk itself failed.
 */
typedef void fs_snap_bad_fn(void *ctx, const struct fs_snap_entry *e, int err);
__attribute__((warn_unused_result)) int fs_snap_verify(struct node *n, const struct fs_snap *s,
						       fs_snap_bad_fn *bad,
						       fs_snap_progress_fn *progress, void *ctx);

/* fs_snap_find() - the index of path in s->e, or -ENOENT. */
long fs_snap_find(const struct fs_snap *s, const char *path);

/* fs_snap_leaf() - an entry's leaf hash. */
void fs_snap_leaf(const struct fs_snap_entry *e, uint8_t ret_leaf[32]);

/*
 * fs_snap_prove() - a proof, as JSON (malloc'd, NUL-terminated), that path is in the
 * snapshot (its entry, with a Merkle proof) or that it is not (the entries just before and
 * after where it would be, with theirs). docs/SNAPSHOTS.md has the format.
 */
int fs_snap_prove(const struct fs_snap *s, const char *path, char **ret_json);

/*
 * fs_snap_check() - check a proof offline against a snapshot root and a path. Returns 1
 * with the entry in *ret_entry (its path malloc'd) when the proof shows path in the
 * snapshot, 0 when it shows path absent, -EBADMSG when it shows neither (wrong root,
 * wrong path, altered leaves or siblings), -EINVAL when it is not a proof.
 */
__attribute__((warn_unused_result)) int fs_snap_check(const char *json, size_t len,
						      const uint8_t root[32], const char *path,
						      struct fs_snap_entry *ret_entry);

/*
 * fs_snap_keep() - add every log entry a snapshot of volume needs (its manifest, and the
 * extents its records name) to kept, for zgfs prune. A snapshot whose manifest cannot be
 * read is an error: prune must not guess what it needs.
 */
struct fs_seqset;
int fs_snap_keep(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], struct fs_seqset *kept);

#endif
