/*
 * limits.h - every bound the mount puts on what users and the kernel control.
 */
#ifndef FS_LIMITS_H
#define FS_LIMITS_H

/* Extents one file may have: each append adds one. Past it, appends fail with EFBIG;
 * rewriting the file (O_TRUNC) starts over. */
#define FS_EXTENTS_MAX 65536u

/* Longest symlink target. */
#define FS_SYMLINK_MAX 4095u

/* Longest name in a directory. */
#define FS_NAME_MAX 255u

/* Bytes read at once when hashing a file for user.zg.root. */
#define FS_HASH_BUFFER (4u << 20)

/* Largest read or write request taken from the kernel (max_write, max_readahead). */
#define FS_IO_MAX (1u << 20)

/* A read handle's cache of verified bytes: reads smaller than this fill it whole (one
 * segment, hashed once) and are served from it. One per open file that reads. */
#define FS_READ_WINDOW (256u * 1024)

/* Largest xattr value produced (the extents and versions lists). */
#define FS_XATTR_MAX (64u * 1024)

/* Versions listed by user.zg.versions (newest kept when a file has more). */
#define FS_VERSIONS_MAX 1024u

#endif
