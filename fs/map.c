/*
 * The content map (map.h). Positions are kept beside the extents so that finding the
 * extent of an offset is a binary search; a write over existing bytes keeps every other
 * extent where it was, so only the replaced run moves.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/limits.h"
#include "fs/map.h"

#define SIZE_LIMIT (1ULL << 63)

static int reserve(struct fs_map *m, size_t n)
{
	struct fs_extent *v;
	uint64_t *pos;
	size_t cap;

	if (n <= m->cap)
		return 0;
	if (n > FS_EXTENTS_MAX)
		return -EFBIG;
	cap = m->cap ? m->cap : 8;
	while (cap < n)
		cap *= 2;
	v = realloc(m->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	pos = realloc(m->pos, cap * sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	m->pos = pos;
	m->cap = cap;
	return 0;
}

int fs_map_init(struct fs_map *m, const struct fs_extent *ext, size_t n, uint64_t size)
{
	uint64_t at = 0;
	int r;

	memset(m, 0, sizeof(*m));
	r = reserve(m, n ? n : 1);
	if (r < 0) {
		fs_map_release(m);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		m->v[i] = ext[i];
		m->pos[i] = at;
		at += ext[i].length;
	}
	m->n = n;
	m->size = size;
	return at == size ? 0 : (fs_map_release(m), -EINVAL);
}

void fs_map_release(struct fs_map *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->pos);
	memset(m, 0, sizeof(*m));
}

size_t fs_map_find(const struct fs_map *m, uint64_t off)
{
	size_t lo = 0, hi = m->n;

	if (off >= m->size)
		return m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->pos[mid] + m->v[mid].length <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* True when b continues a: the same entry at the next offset, or two holes. */
static bool continues(const struct fs_extent *a, const struct fs_extent *b)
{
	if (a->tx_seq != b->tx_seq)
		return false;
	return a->tx_seq == FS_HOLE || a->offset + a->length == b->offset;
}

/*
 * Replace extents [i, j) with the k extents in put[] (already positioned from pos0 on and
 * covering exactly what [i, j) covered, or more at the end of the file), merging at both
 * edges. Capacity must be reserved.
 */
static void splice(struct fs_map *m, size_t i, size_t j, const struct fs_extent *put, size_t k,
		   uint64_t pos0)
{
	size_t tail = m->n - j;

	memmove(m->v + i + k, m->v + j, tail * sizeof(*m->v));
	memmove(m->pos + i + k, m->pos + j, tail * sizeof(*m->pos));
	for (size_t x = 0; x < k; x++) {
		m->v[i + x] = put[x];
		m->pos[i + x] = pos0;
		pos0 += put[x].length;
	}
	m->n = m->n - (j - i) + k;
	/* Merge across the edges of the new run, and inside it. */
	size_t lo = i ? i - 1 : 0, hi = i + k < m->n ? i + k : m->n - 1;
	for (size_t x = lo; x < hi && x + 1 < m->n;) {
		if (continues(&m->v[x], &m->v[x + 1])) {
			m->v[x].length += m->v[x + 1].length;
			memmove(m->v + x + 1, m->v + x + 2, (m->n - x - 2) * sizeof(*m->v));
			memmove(m->pos + x + 1, m->pos + x + 2, (m->n - x - 2) * sizeof(*m->pos));
			m->n--;
			hi--;
		} else {
			x++;
		}
	}
}

static int grow_to(struct fs_map *m, uint64_t size)
{
	struct fs_extent hole = {FS_HOLE, 0, size - m->size};
	int r;

	if (size <= m->size)
		return 0;
	if (size > SIZE_LIMIT)
		return -EFBIG;
	if (m->n && m->v[m->n - 1].tx_seq == FS_HOLE) {
		m->v[m->n - 1].length += hole.length;
		m->size = size;
		return 0;
	}
	r = reserve(m, m->n + 1);
	if (r < 0)
		return r;
	m->v[m->n] = hole;
	m->pos[m->n] = m->size;
	m->n++;
	m->size = size;
	return 0;
}

int fs_map_put(struct fs_map *m, uint64_t off, const struct fs_extent *e)
{
	uint64_t end = off + e->length;
	struct fs_extent put[3];
	size_t i, j, k = 0;
	int r;

	if (e->length == 0)
		return 0;
	if (off > SIZE_LIMIT || e->length > SIZE_LIMIT - off)
		return -EFBIG;
	/* Room for the worst case first (a hole, then one extent split in three), so that
	 * nothing changes when memory is short. */
	r = reserve(m, m->n + 3);
	if (r < 0)
		return r;
	if (off > m->size) {
		r = grow_to(m, off);
		if (r < 0)
			return r;
	}
	i = fs_map_find(m, off);
	j = i;
	while (j < m->n && m->pos[j] < end)
		j++;
	if (i < m->n && m->pos[i] < off) { /* the part of v[i] before the write */
		put[k] = m->v[i];
		put[k].length = off - m->pos[i];
		k++;
	}
	put[k++] = *e;
	if (j > i && m->pos[j - 1] + m->v[j - 1].length > end) { /* the part after */
		const struct fs_extent *last = &m->v[j - 1];
		uint64_t cut = end - m->pos[j - 1];

		put[k] = *last;
		put[k].offset = last->tx_seq == FS_HOLE ? 0 : last->offset + cut;
		put[k].length = last->length - cut;
		k++;
	}
	splice(m, i, j, put, k, i < m->n ? m->pos[i] : m->size);
	if (end > m->size)
		m->size = end;
	return 0;
}

int fs_map_truncate(struct fs_map *m, uint64_t size)
{
	size_t i;

	if (size >= m->size)
		return grow_to(m, size);
	i = fs_map_find(m, size);
	if (i < m->n && m->pos[i] < size) {
		m->v[i].length = size - m->pos[i];
		i++;
	}
	m->n = i;
	m->size = size;
	return 0;
}

uint64_t fs_map_stored(const struct fs_map *m)
{
	uint64_t total = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].tx_seq != FS_HOLE)
			total += m->v[i].length;
	return total;
}
