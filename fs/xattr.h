/*
 * xattr.h - the extended attributes an inode keeps in its record (fs_record.xattrs).
 *
 * The list is a blob of entries sorted by name, names unique: u8 name length, name bytes
 * (no NUL), u32 value length (big-endian), value bytes. An empty list is (NULL, 0). The
 * functions here never change a list in place: fs_xattr_set() and fs_xattr_remove() return
 * a new one, so a record shared by a shallow copy stays as it was until the caller has
 * settled the change. Bounds are those of Linux (fs/limits.h). No locking: callers own
 * the lists they pass. docs/SEMANTICS.md says which names are kept.
 */
#ifndef FS_XATTR_H
#define FS_XATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a name is. */
enum fs_xattr_kind {
	FS_XATTR_VIRTUAL,     /* user.zg.*: computed by the mount, read-only, not listed */
	FS_XATTR_STORED,      /* user.*, trusted.*, security.*: kept in the record */
	FS_XATTR_UNSUPPORTED, /* system.* (POSIX ACLs) and anything else: ENOTSUP */
};
enum fs_xattr_kind fs_xattr_kind(const char *name);

/* True for the names only a privileged caller sees and sets (trusted.*), as on ext4. */
bool fs_xattr_privileged(const char *name);

/* fs_xattr_check() - 0 when (p, len) is a well-formed list within the bounds, else -EINVAL. */
__attribute__((warn_unused_result)) int fs_xattr_check(const uint8_t *p, size_t len);

/* fs_xattr_get() - the value of name, borrowed from the list; -ENODATA when absent. */
int fs_xattr_get(const uint8_t *p, size_t len, const char *name, const uint8_t **ret_value,
		 size_t *ret_len);

/*
 * fs_xattr_set() - a new list with name set to value. flags: 0, XATTR_CREATE (-EEXIST when
 * name is present) or XATTR_REPLACE (-ENODATA when absent); anything else -EINVAL. An
 * empty name or one longer than FS_XATTR_NAME_MAX: -ERANGE; a value longer than
 * FS_XATTR_VALUE_MAX: -E2BIG; a list that would pass FS_XATTRS_MAX bytes or list names
 * longer than FS_XATTR_LIST_MAX: -ENOSPC. The new list is malloc'd into *ret.
 */
int fs_xattr_set(const uint8_t *p, size_t len, const char *name, const void *value, size_t vlen,
		 int flags, uint8_t **ret, size_t *ret_len);

/* fs_xattr_remove() - a new list without name (malloc'd, or NULL when empty); -ENODATA
 * when it is not there. */
int fs_xattr_remove(const uint8_t *p, size_t len, const char *name, uint8_t **ret, size_t *ret_len);

/*
 * fs_xattr_list() - the names for which show(ctx, name) is true (show NULL: all), each
 * NUL-terminated, written to buf when they fit in size bytes. Returns the bytes they take
 * (whether or not they were written).
 */
size_t fs_xattr_list(const uint8_t *p, size_t len, bool (*show)(void *ctx, const char *name),
		     void *ctx, char *buf, size_t size);

#endif
