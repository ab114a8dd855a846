/*
 * limits.h - every bound the mount puts on what users and the kernel control.
 */
#ifndef FS_LIMITS_H
#define FS_LIMITS_H

/* Extents one file may have (a record's limit). A file that would pass it is settled
 * and rewritten as one entry first. */
#define FS_EXTENTS_MAX 65536u

/* Compaction: a file is rewritten as one entry in the background when its settled map has
 * more than max(FS_COMPACT_EXTENTS, sqrt(size / 24)) extents, at most
 * FS_COMPACT_EXTENTS_HARD. Each commit writes the whole map and a compaction the whole
 * file, so this threshold keeps the two costs per commit about equal: for a 200 KB log
 * written a line at a time, about 90 extents. The square root assumes 24 bytes an extent,
 * what format 3 records took; format 4 (fs/record.c) writes a small append's extent in 3
 * to 6, so the map's share is now well below the compaction's. */
#define FS_COMPACT_EXTENTS 64u
#define FS_COMPACT_EXTENTS_HARD 1024u
/* ... unless holes would be written out as more zeros than this. */
#define FS_COMPACT_HOLES_MAX (64ull << 20)

/* Bytes one file's upload (its uncommitted writes) may hold before it is committed. */
#define FS_UPLOAD_MAX (1ull << 40)
/* Every this many bytes, an upload that is mostly overwritten bytes is committed. */
#define FS_UPLOAD_CHECK (256ull << 20)

/* Files with uncommitted writes (each holds an upload, a pack file of the node) past
 * which the one dirty longest is committed before another upload starts. */
#define FS_UPLOADS_MAX 256u

/* --writeback: uncommitted writes are committed within this many milliseconds. */
#define FS_WRITEBACK_DELAY_MS 1000u

/* How long the reaper looks for a dead mount to detach after the daemon has gone. */
#define FS_REAPER_WAIT_MS 10000

/* FUSE worker threads by default: requests served at once (each may wait for a commit). */
#define FS_THREADS 32u

/* A regular file's create waits, in memory, for the next metadata transaction to carry it
 * (its own close, usually): at most this many KV items wait so ... */
#define FS_LATER_ITEMS_MAX 256u
/* ... and none longer than this (the worker settles them). */
#define FS_LATER_DELAY_MS 1000u

/* Longest symlink target. */
#define FS_SYMLINK_MAX 4095u

/* Names one inode may have (hard links), as ext4: EMLINK past it. */
#define FS_LINK_MAX 65000u

/* Longest name in a directory. */
#define FS_NAME_MAX 255u

/* Bytes read at once when hashing a file for user.zg.root. */
#define FS_HASH_BUFFER (4u << 20)

/* Largest read or write request taken from the kernel (max_write, max_readahead). */
#define FS_IO_MAX (1u << 20)

/* A read handle's cache of verified bytes: reads smaller than this fill it whole (one
 * segment, hashed once) and are served from it. One per open file that reads. */
#define FS_READ_WINDOW (256u * 1024)

/* The entry cache of fs_content_root_cached(): entries up to this size are kept ... */
#define FS_ENTRY_CACHE_ENTRY_MAX (256u << 10)
/* ... up to this many bytes in all. */
#define FS_ENTRY_CACHE_MAX (64u << 20)

/* Largest xattr value produced (the extents and versions lists). */
#define FS_XATTR_MAX (64u * 1024)

/* Extended attributes kept with an inode (fs/xattr.h), the bounds Linux puts on them: a
 * name of at most this many bytes (ERANGE past it) ... */
#define FS_XATTR_NAME_MAX 255u
/* ... a value of at most this many (E2BIG: XATTR_SIZE_MAX) ... */
#define FS_XATTR_VALUE_MAX 65536u
/* ... all of an inode's attributes in at most this many bytes of its record, so that one
 * value of the largest size fits (ENOSPC past it, as ext4 when its block is full) ... */
#define FS_XATTRS_MAX (128u * 1024)
/* ... and their names listed in at most this many (XATTR_LIST_MAX). */
#define FS_XATTR_LIST_MAX 65536u

/* Inodes one file's history may chain through (each rename-replace adds one). */
#define FS_HISTORY_MAX (1u << 20)

#endif
