/*
 * map.h - a file's content map: the extents that make up [0, size), in file order, with
 * no overlaps and no gaps (a hole is an extent of FS_HOLE). Writing a range lays one extent
 * over it, splitting or dropping what it covers, so a read never has to resolve overlays:
 * "later extents override earlier ones" is settled when the write is made.
 *
 * Pure computation on memory: no locks (the caller serializes), no I/O. Adjacent extents
 * that continue each other (the same entry, consecutive offsets; or two holes) are merged,
 * so a file written front to back is one extent. Functions return 0 or -errno (-ENOMEM;
 * -EFBIG when the map would pass FS_EXTENTS_MAX extents or the size 2^63) and leave the
 * map unchanged on error.
 */
#ifndef FS_MAP_H
#define FS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"

struct fs_map {
	struct fs_extent *v;
	uint64_t *pos; /* pos[i]: where v[i] starts in the file */
	size_t n, cap;
	uint64_t size;
};

/* A map holding a copy of a record's extent list (which must add up to size). */
int fs_map_init(struct fs_map *m, const struct fs_extent *ext, size_t n, uint64_t size);
void fs_map_release(struct fs_map *m); /* NULL-safe; leaves an empty map */

/* Lay e over [off, off + e->length), growing the file (a hole before off if off > size). */
int fs_map_put(struct fs_map *m, uint64_t off, const struct fs_extent *e);

/* Cut the file to size, or grow it with a hole. */
int fs_map_truncate(struct fs_map *m, uint64_t size);

/* Index of the extent holding byte off; m->n when off >= size. */
size_t fs_map_find(const struct fs_map *m, uint64_t off);

/* Bytes the map references in log entries (holes excluded). */
uint64_t fs_map_stored(const struct fs_map *m);

#endif
