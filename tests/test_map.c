/*
 * test_map.c - the content map (fs/map.h) against a byte model: every byte of the model
 * names where it comes from (entry and offset, or a hole), and after each random write,
 * truncate and hole punch the map must describe exactly the same bytes, with no empty
 * extents, no two neighbours that continue each other, and positions that add up.
 */
#include <errno.h>
#include <stdbool.h>

#include "fs/map.h"
#include "tap.h"

#define MODEL_MAX 4096

struct src {
	uint64_t seq, off;
};

static struct src model[MODEL_MAX];
static uint64_t model_size;

static bool map_matches(const struct fs_map *m, char *why, size_t whylen)
{
	uint64_t at = 0;

	if (m->size != model_size) {
		snprintf(why, whylen, "size %llu, model %llu", (unsigned long long)m->size,
			 (unsigned long long)model_size);
		return false;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct fs_extent *e = &m->v[i];

		if (m->pos[i] != at || e->length == 0) {
			snprintf(why, whylen, "extent %zu: pos %llu, want %llu, length %llu", i,
				 (unsigned long long)m->pos[i], (unsigned long long)at,
				 (unsigned long long)e->length);
			return false;
		}
		if (i > 0 && e->tx_seq == m->v[i - 1].tx_seq &&
		    (e->tx_seq == FS_HOLE || m->v[i - 1].offset + m->v[i - 1].length == e->offset)) {
			snprintf(why, whylen, "extents %zu and %zu were not merged", i - 1, i);
			return false;
		}
		for (uint64_t b = 0; b < e->length; b++) {
			struct src want = model[at + b];
			uint64_t off = e->tx_seq == FS_HOLE ? 0 : e->offset + b;

			if (want.seq != e->tx_seq || want.off != off) {
				snprintf(why, whylen, "byte %llu", (unsigned long long)(at + b));
				return false;
			}
		}
		at += e->length;
	}
	if (at != model_size) {
		snprintf(why, whylen, "extents cover %llu bytes", (unsigned long long)at);
		return false;
	}
	return true;
}

static void model_grow(uint64_t size)
{
	for (uint64_t b = model_size; b < size; b++)
		model[b] = (struct src){FS_HOLE, 0};
	model_size = size;
}

int main(void)
{
	struct fs_map m;
	char why[200] = "";
	bool good = true;
	uint64_t seq = 1, ops = 0, maxn = 0;
	struct fs_extent init[2] = {{7, 100, 300}, {8, 0, 200}};

	tap_seed(20261202);
	ok(fs_map_init(&m, init, 2, 500) == 0 && m.n == 2 && m.pos[1] == 300,
	   "init from a record's extents");
	for (uint64_t b = 0; b < 300; b++)
		model[b] = (struct src){7, 100 + b};
	for (uint64_t b = 0; b < 200; b++)
		model[300 + b] = (struct src){8, b};
	model_size = 500;
	ok(fs_map_init(&(struct fs_map){0}, init, 2, 499) == -EINVAL,
	   "init refuses extents that do not add up to the size");

	for (int i = 0; i < 20000 && good; i++, ops++) {
		unsigned what = (unsigned)(tap_rand() % 10);

		if (what < 6) { /* a write; sometimes continuing the previous one */
			uint64_t off = tap_rand() % (model_size + 200);
			uint64_t len = 1 + tap_rand() % 300, eoff = tap_rand() % 1000;

			if (off + len > MODEL_MAX)
				continue;
			if (what == 0)
				seq++;
			good = fs_map_put(&m, off, &(struct fs_extent){seq, eoff, len}) == 0;
			model_grow(off > model_size ? off : model_size);
			for (uint64_t b = 0; b < len; b++)
				model[off + b] = (struct src){seq, eoff + b};
			if (off + len > model_size)
				model_size = off + len;
		} else if (what < 8) {
			uint64_t size = tap_rand() % (model_size + 300);

			if (size > MODEL_MAX)
				continue;
			good = fs_map_truncate(&m, size) == 0;
			if (size > model_size)
				model_grow(size);
			model_size = size;
		} else if (model_size) {
			uint64_t off = tap_rand() % model_size, len = 1 + tap_rand() % 200;

			if (off + len > model_size)
				len = model_size - off;
			good = fs_map_put(&m, off, &(struct fs_extent){FS_HOLE, 0, len}) == 0;
			for (uint64_t b = 0; b < len; b++)
				model[off + b] = (struct src){FS_HOLE, 0};
		}
		if (good)
			good = map_matches(&m, why, sizeof(why));
		if (m.n > maxn)
			maxn = m.n;
	}
	ok(good, "20,000 random writes, truncates and hole punches match the byte model%s%s",
	   good ? "" : ": ", why);
	diag("largest map: %llu extents", (unsigned long long)maxn);

	/* Sequential writes of one upload are one extent; a write over it splits it. */
	fs_map_release(&m);
	ok(fs_map_init(&m, NULL, 0, 0) == 0, "an empty map");
	for (uint64_t off = 0; off < 1 << 20; off += 4096)
		fs_map_put(&m, off, &(struct fs_extent){9, off, 4096});
	ok(m.n == 1 && m.v[0].length == 1 << 20, "256 sequential writes make one extent");
	fs_map_put(&m, 5000, &(struct fs_extent){10, 0, 10});
	ok(m.n == 3 && m.v[2].offset == 5010 && fs_map_find(&m, 5005) == 1 &&
		   fs_map_find(&m, 5010) == 2 && fs_map_find(&m, 1 << 20) == m.n,
	   "a write in the middle splits it in three; find lands in the right one");
	fs_map_truncate(&m, 0);
	ok(m.n == 0 && m.size == 0, "truncate to 0 empties it");
	ok(fs_map_put(&m, 1ULL << 62, &(struct fs_extent){11, 0, (1ULL << 62) + 1}) == -EFBIG &&
		   m.n == 0 && m.size == 0,
	   "a write past 2^63 is EFBIG and changes nothing");
	fs_map_put(&m, 1ULL << 40, &(struct fs_extent){11, 0, 5});
	ok(m.n == 2 && m.v[0].tx_seq == FS_HOLE && m.v[0].length == 1ULL << 40 &&
		   fs_map_stored(&m) == 5,
	   "a write far past EOF leaves one hole, which stores nothing");
	fs_map_release(&m);
	fs_map_release(NULL);
	return tap_done();
}
