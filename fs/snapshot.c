/*
 * snapshot.c - dataset snapshots (snapshot.h; the formats: docs/SNAPSHOTS.md).
 *
 * Building reads the whole volume stream as it stood at the snapshot's point (one paged
 * listing, as a mount does when it starts), walks the tree under the top directory, and
 * keeps the records of what it met with the top renumbered FS_ROOT_INO, so that a mount
 * of the snapshot is an ordinary read-only mount of those records. Verifying walks the
 * same records again, hashing every file from its bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "codec/endian.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "codec/proof.h"
#include "fs/fs.h"
#include "fs/limits.h"
#include "fs/snapshot.h"
#include "sys/buf.h"

#define MAGIC	  "zgfs-snapshot-v1"
#define MAGIC_LEN 16
#define LEAF_TAG  "zgfs snapshot leaf"
#define ROOT_TAG  "zgfs snapshot root"

/* --- the root ------------------------------------------------------------------------ */

void fs_snap_leaf(const struct fs_snap_entry *e, uint8_t ret_leaf[32])
{
	struct codec_keccak k;
	size_t len = strlen(e->path);
	uint8_t b[2 + 1 + 4 + 8];

	codec_keccak_init(&k);
	codec_keccak_update(&k, LEAF_TAG, sizeof(LEAF_TAG)); /* with its NUL */
	b[0] = (uint8_t)(len >> 8);
	b[1] = (uint8_t)len;
	codec_keccak_update(&k, b, 2);
	codec_keccak_update(&k, e->path, len);
	b[0] = (uint8_t)e->type;
	codec_put_be32(b + 1, e->mode);
	codec_put_be64(b + 5, e->size);
	codec_keccak_update(&k, b, 13);
	codec_keccak_update(&k, e->root, 32);
	codec_keccak_final(&k, ret_leaf);
}

static void snap_root(uint64_t count, const uint8_t tree[32], uint8_t ret[32])
{
	struct codec_keccak k;
	uint8_t b[8];

	codec_keccak_init(&k);
	codec_keccak_update(&k, ROOT_TAG, sizeof(ROOT_TAG));
	codec_put_be64(b, count);
	codec_keccak_update(&k, b, 8);
	codec_keccak_update(&k, tree, 32);
	codec_keccak_final(&k, ret);
}

/* The leaf hashes of s's entries (malloc'd, n × 32 bytes). */
static uint8_t *leaves_of(const struct fs_snap *s)
{
	uint8_t *leaves = malloc(s->n * 32 + 1);

	for (size_t i = 0; leaves && i < s->n; i++)
		fs_snap_leaf(&s->e[i], leaves + 32 * i);
	return leaves;
}

static int root_of(const struct fs_snap *s, uint8_t ret[32])
{
	uint8_t *leaves = leaves_of(s), tree[32];
	int r;

	if (!leaves)
		return -ENOMEM;
	r = codec_root_of_leaves(leaves, s->n, tree);
	free(leaves);
	if (r == 0)
		snap_root(s->n, tree, ret);
	return r;
}

/* --- releasing ----------------------------------------------------------------------- */

static void items_release(struct fs_snap_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static void entries_release(struct fs_snap_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

void fs_snap_release(struct fs_snap *s)
{
	if (!s)
		return;
	entries_release(s->e, s->n);
	items_release(s->items, s->nitems);
	free(s->source);
	memset(s, 0, sizeof(*s));
}

/* --- a namespace in memory ----------------------------------------------------------- */

struct nrec {
	uint64_t ino;
	struct fs_record rec;
	bool in;	/* met by the walk */
	uint32_t names; /* names the walk met */
};

struct nlink {
	uint64_t parent, child;
	uint8_t type;
	bool used;
	size_t len;
	char name[FS_NAME_MAX];
};

struct ns {
	struct nrec *recs;   /* by inode */
	struct nlink *links; /* by (parent, name) */
	size_t nrecs, nlinks, caprecs, caplinks;
	int err;
};

static void ns_release(struct ns *ns)
{
	for (size_t i = 0; i < ns->nrecs; i++)
		fs_record_release(&ns->recs[i].rec);
	free(ns->recs);
	free(ns->links);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? 2 * *cap : 256;
	void *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*v, c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* Keys come in byte order ("D" before "I"), so both arrays end up sorted. */
static int ns_add(struct ns *ns, const uint8_t *key, size_t key_len, const uint8_t *val, size_t len)
{
	if (key_len == 9 && key[0] == 'I' && len > 0) {
		struct nrec *r;

		if (grow((void **)&ns->recs, &ns->caprecs, ns->nrecs, sizeof(*r)) < 0)
			return -ENOMEM;
		r = &ns->recs[ns->nrecs];
		memset(r, 0, sizeof(*r));
		if (fs_record_decode(val, len, &r->rec) < 0)
			return 0; /* unreadable: left out, as a mount does */
		r->ino = codec_get_be64(key + 1);
		ns->nrecs++;
	} else if (key_len > 9 && key_len <= 9 + FS_NAME_MAX && key[0] == 'D' && len == 9) {
		struct nlink *l;

		if (grow((void **)&ns->links, &ns->caplinks, ns->nlinks, sizeof(*l)) < 0)
			return -ENOMEM;
		l = &ns->links[ns->nlinks++];
		l->parent = codec_get_be64(key + 1);
		l->child = codec_get_be64(val);
		l->type = val[8];
		l->used = false;
		l->len = key_len - 9;
		memcpy(l->name, key + 9, l->len);
	}
	return 0;
}

static int ns_list_one(void *ctx, const uint8_t *key, size_t key_len, const struct node_value *v)
{
	struct ns *ns = ctx;

	ns->err = ns_add(ns, key, key_len, v->data, v->len);
	return ns->err ? 1 : 0;
}

static int cmp_rec(const void *a, const void *b)
{
	uint64_t x = ((const struct nrec *)a)->ino, y = ((const struct nrec *)b)->ino;

	return x < y ? -1 : x > y;
}

/* Names in key order: by parent, then by name's bytes, a shorter name first on a tie. */
static int cmp_link(const void *a, const void *b)
{
	const struct nlink *x = a, *y = b;
	size_t len = x->len < y->len ? x->len : y->len;
	int c;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	c = memcmp(x->name, y->name, len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void ns_sort(struct ns *ns)
{
	if (ns->nrecs)
		qsort(ns->recs, ns->nrecs, sizeof(*ns->recs), cmp_rec);
	if (ns->nlinks)
		qsort(ns->links, ns->nlinks, sizeof(*ns->links), cmp_link);
}

/* The first of n elements of size bytes, sorted by the u64 at offset off, whose key is
 * at least key (n when none is). */
static size_t lower_bound(const void *base, size_t n, size_t size, size_t off, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k;

		memcpy(&k, (const char *)base + mid * size + off, sizeof(k));
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct nrec *ns_rec(struct ns *ns, uint64_t ino)
{
	size_t i =
	    lower_bound(ns->recs, ns->nrecs, sizeof(*ns->recs), offsetof(struct nrec, ino), ino);

	return i < ns->nrecs && ns->recs[i].ino == ino ? &ns->recs[i] : NULL;
}

/* The first link of directory parent. */
static size_t ns_first_link(const struct ns *ns, uint64_t parent)
{
	return lower_bound(ns->links, ns->nlinks, sizeof(*ns->links),
			   offsetof(struct nlink, parent), parent);
}

/* --- the walk ------------------------------------------------------------------------ */

struct walk {
	struct ns *ns;
	uint64_t top;
	struct fs_snap_entry *e;
	size_t n, cap;
	uint64_t bytes;
};

static uint64_t renumber(const struct walk *w, uint64_t ino)
{
	return ino == w->top ? FS_ROOT_INO : ino;
}

static char type_of(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return 'f';
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFIFO:
		return 'p';
	case S_IFSOCK:
		return 's';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	}
	return '?';
}

static int add_entry(struct walk *w, const char *path, size_t plen, struct nrec *r)
{
	struct fs_snap_entry *e;

	if (w->n >= FS_SNAP_ENTRIES_MAX)
		return -EFBIG;
	if (grow((void **)&w->e, &w->cap, w->n, sizeof(*e)) < 0)
		return -ENOMEM;
	e = &w->e[w->n];
	memset(e, 0, sizeof(*e));
	e->path = strndup(path, plen);
	if (!e->path)
		return -ENOMEM;
	w->n++;
	e->ino = renumber(w, r->ino);
	e->type = type_of(r->rec.mode);
	e->mode = r->rec.mode & 07777;
	e->size = S_ISLNK(r->rec.mode) ? r->rec.target_len : r->rec.size;
	if (S_ISREG(r->rec.mode))
		w->bytes += r->rec.size;
	if (S_ISLNK(r->rec.mode))
		codec_keccak256(r->rec.target, r->rec.target_len, e->root);
	r->names++;
	return 0;
}

/* Every entry under directory dir, whose path is path[0, plen) ("" for the top). */
static int walk_dir(struct walk *w, uint64_t dir, char *path, size_t plen)
{
	for (size_t i = ns_first_link(w->ns, dir); i < w->ns->nlinks; i++) {
		struct nlink *l = &w->ns->links[i];
		struct nrec *r;
		int err;

		if (l->parent != dir)
			break;
		r = ns_rec(w->ns, l->child);
		/* A name of a missing inode is left out, as a mount does; one leading back
		 * to the top or into a directory met already (only a damaged stream has such)
		 * would make the walk loop. */
		if (!r || l->child == w->top || l->child == FS_ROOT_INO ||
		    (S_ISDIR(r->rec.mode) && r->in))
			continue;
		if (plen + 1 + l->len >= FS_SNAP_PATH_MAX)
			return -EFBIG;
		path[plen] = '/';
		memcpy(path + plen + 1, l->name, l->len);
		l->used = true;
		r->in = true;
		err = add_entry(w, path, plen + 1 + l->len, r);
		if (err == 0 && S_ISDIR(r->rec.mode))
			err = walk_dir(w, l->child, path, plen + 1 + l->len);
		if (err < 0)
			return err;
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct fs_snap_entry *)a)->path,
		      ((const struct fs_snap_entry *)b)->path);
}

/* The entries of the tree under top (roots of files not yet computed), in path order. */
static int walk_tree(struct ns *ns, uint64_t top, struct walk *ret)
{
	struct walk w = {.ns = ns, .top = top};
	struct nrec *r = ns_rec(ns, top);
	char *path;
	int err;

	if (!r)
		return -ENOENT;
	if (!S_ISDIR(r->rec.mode))
		return -ENOTDIR;
	path = malloc(FS_SNAP_PATH_MAX);
	if (!path)
		return -ENOMEM;
	r->in = true;
	err = add_entry(&w, "/", 1, r);
	if (err == 0)
		err = walk_dir(&w, top, path, 0);
	free(path);
	if (err < 0) {
		entries_release(w.e, w.n);
		return err;
	}
	qsort(w.e, w.n, sizeof(*w.e), cmp_entry);
	*ret = w;
	return 0;
}

/* --- file roots ---------------------------------------------------------------------- */

struct roots_ctx {
	fs_snap_progress_fn *progress;
	void *ctx;
	uint64_t done, total;
};

static void roots_progress(void *ctx, uint64_t n)
{
	struct roots_ctx *c = ctx;

	c->done += n;
	if (c->progress)
		c->progress(c->ctx, c->done, c->total);
}

/* The root of entry e, a regular file with record r: taken from the chain where it is one
 * whole entry (unless hash), else hashed from its bytes. */
static int file_root(struct node *n, struct fs_entry_cache *cache, const struct fs_record *r,
		     bool hash, struct roots_ctx *rc, uint8_t ret[32])
{
	int err;

	if (r->size == 0) {
		memset(ret, 0, 32);
		return 0;
	}
	if (hash)
		return fs_content_hash(n, r->extents, r->nextents, roots_progress, rc, ret);
	err = fs_content_root_cached(n, cache, r->extents, r->nextents, ret);
	if (err == 0)
		roots_progress(rc, r->size);
	return err;
}

/* --- building ------------------------------------------------------------------------ */

static int item_add(struct fs_snap *s, size_t *cap, const uint8_t *key, size_t key_len,
		    uint8_t *value, size_t value_len)
{
	struct fs_snap_item *it;

	if (grow((void **)&s->items, cap, s->nitems, sizeof(*it)) < 0) {
		free(value);
		return -ENOMEM;
	}
	it = &s->items[s->nitems];
	it->key = malloc(key_len);
	if (!it->key) {
		free(value);
		return -ENOMEM;
	}
	memcpy(it->key, key, key_len);
	it->key_len = key_len;
	it->value = value;
	it->value_len = value_len;
	s->nitems++;
	return 0;
}

/* The records the walk met, renumbered: the top is FS_ROOT_INO (its own parent too), and
 * a file's link count is the names it has in the snapshot. */
static int build_items(struct walk *w, struct fs_snap *s)
{
	uint8_t key[FS_KEY_MAX];
	size_t cap = 0;
	int err = 0;

	for (size_t i = 0; err == 0 && i < w->ns->nrecs; i++) {
		struct nrec *r = &w->ns->recs[i];
		struct fs_record rec;
		uint8_t *val;
		size_t len;

		if (!r->in)
			continue;
		rec = r->rec; /* shallow: encode only reads it */
		if (S_ISDIR(rec.mode))
			rec.parent = r->ino == w->top ? FS_ROOT_INO : renumber(w, rec.parent);
		else
			rec.nlink = r->names;
		err = fs_record_encode(&rec, &val, &len);
		if (err == 0)
			err = item_add(s, &cap, key, fs_key_inode(key, renumber(w, r->ino)), val,
				       len);
	}
	for (size_t i = 0; err == 0 && i < w->ns->nlinks; i++) {
		struct nlink *l = &w->ns->links[i];
		uint8_t *val;

		if (!l->used)
			continue;
		val = malloc(9);
		if (!val)
			return -ENOMEM;
		codec_put_be64(val, renumber(w, l->child));
		val[8] = l->type;
		err = item_add(s, &cap, key,
			       fs_key_dirent(key, renumber(w, l->parent), l->name, l->len), val, 9);
	}
	return err;
}

int fs_snap_build(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], uint64_t top,
		  uint64_t point, const char *name, const char *source,
		  fs_snap_progress_fn *progress, void *ctx, struct fs_snap *ret)
{
	struct fs_snap s = {.point = point, .top = top, .created = (int64_t)time(NULL)};
	struct roots_ctx rc = {.progress = progress, .ctx = ctx};
	struct fs_entry_cache *cache = calloc(1, sizeof(*cache));
	struct ns ns = {0};
	struct walk w = {0};
	int err;

	if (name && !fs_snap_name_ok(name)) {
		free(cache);
		return -EINVAL;
	}
	memcpy(s.volume, volume, NODE_STREAM_ID_SIZE);
	if (name)
		memcpy(s.name, name, strlen(name) + 1);
	s.source = strdup(source ? source : "");
	err = cache && s.source ? 0 : -ENOMEM;
	if (err == 0)
		err = node_kv_list_at(n, volume, NULL, 0, point, SIZE_MAX, ns_list_one, &ns);
	if (err == 0)
		err = ns.err;
	if (err == 0) {
		ns_sort(&ns);
		err = walk_tree(&ns, top, &w);
	}
	if (err < 0)
		goto out;
	s.e = w.e;
	s.n = w.n;
	s.bytes = rc.total = w.bytes;
	for (size_t i = 0; err == 0 && i < s.n; i++)
		if (s.e[i].type == 'f')
			err = file_root(
			    n, cache,
			    &ns_rec(&ns, s.e[i].ino == FS_ROOT_INO ? top : s.e[i].ino)->rec, false,
			    &rc, s.e[i].root);
	if (err == 0)
		err = build_items(&w, &s);
	if (err == 0)
		err = root_of(&s, s.root);
out:
	ns_release(&ns);
	fs_entry_cache_release(cache);
	free(cache);
	if (err < 0) {
		fs_snap_release(&s);
		return err;
	}
	*ret = s;
	return 0;
}

/* --- the manifest -------------------------------------------------------------------- */

/* A writer into a buffer whose first error sticks, so that a format reads as a list. */
struct wr {
	struct sys_buf *b;
	int err;
};

static void put(struct wr *w, const void *p, size_t n)
{
	if (w->err == 0)
		w->err = sys_buf_append(w->b, p, n);
}

static void put_be(struct wr *w, uint64_t v, unsigned bytes)
{
	uint8_t x[8];

	for (unsigned i = 0; i < bytes; i++)
		x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(w, x, bytes);
}

static int manifest_encode(const struct fs_snap *s, struct sys_buf *b)
{
	size_t name_len = strlen(s->name), src_len = strlen(s->source);
	struct wr w = {b, 0};

	if (src_len > 0xffff)
		src_len = 0xffff;
	put(&w, MAGIC, MAGIC_LEN);
	put(&w, s->volume, 32);
	put_be(&w, s->point, 8);
	put_be(&w, s->top, 8);
	put_be(&w, (uint64_t)s->created, 8);
	put(&w, s->root, 32);
	put_be(&w, s->bytes, 8);
	put_be(&w, name_len, 1);
	put(&w, s->name, name_len);
	put_be(&w, src_len, 2);
	put(&w, s->source, src_len);
	put_be(&w, s->n, 4);
	for (size_t i = 0; w.err == 0 && i < s->n; i++) {
		const struct fs_snap_entry *e = &s->e[i];
		size_t len = strlen(e->path);

		put_be(&w, len, 2);
		put(&w, e->path, len);
		put_be(&w, (uint8_t)e->type, 1);
		put_be(&w, e->mode, 4);
		put_be(&w, e->size, 8);
		put_be(&w, e->ino, 8);
		put(&w, e->root, 32);
	}
	put_be(&w, s->nitems, 4);
	for (size_t i = 0; w.err == 0 && i < s->nitems; i++) {
		put_be(&w, s->items[i].key_len, 2);
		put(&w, s->items[i].key, s->items[i].key_len);
		put_be(&w, s->items[i].value_len, 4);
		put(&w, s->items[i].value, s->items[i].value_len);
	}
	return w.err;
}

struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	return p;
}

static uint64_t take_be(struct cur *c, unsigned bytes)
{
	const uint8_t *p = take(c, bytes);
	uint64_t v = 0;

	for (unsigned i = 0; p && i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static uint8_t *take_dup(struct cur *c, size_t n, bool nul)
{
	const uint8_t *p = take(c, n);
	uint8_t *d = p ? malloc(n + 1) : NULL;

	if (p && !d)
		c->bad = true;
	if (d) {
		memcpy(d, p, n);
		d[n] = 0;
		if (nul && memchr(d, 0, n))
			c->bad = true;
	}
	return d;
}

static int take_entries(struct cur *c, struct fs_snap *s)
{
	uint64_t n = take_be(c, 4);

	if (c->bad || n > FS_SNAP_ENTRIES_MAX || n == 0 || n > (uint64_t)(c->end - c->p) / 55)
		return -EINVAL;
	s->e = calloc(n, sizeof(*s->e));
	if (!s->e)
		return -ENOMEM;
	for (; s->n < n && !c->bad; s->n++) {
		struct fs_snap_entry *e = &s->e[s->n];
		size_t len = (size_t)take_be(c, 2);
		const uint8_t *root;

		e->path = (char *)take_dup(c, len, true);
		e->type = (char)take_be(c, 1);
		e->mode = (uint32_t)take_be(c, 4);
		e->size = take_be(c, 8);
		e->ino = take_be(c, 8);
		root = take(c, 32);
		if (root)
			memcpy(e->root, root, 32);
		if (!e->path || e->path[0] != '/' || !strchr("fdlpscb", e->type) || !e->type)
			c->bad = true;
		if (s->n && strcmp(s->e[s->n - 1].path, e->path ? e->path : "") >= 0)
			c->bad = true; /* not in path order, or a path twice */
	}
	return c->bad ? -EINVAL : 0;
}

static int take_items(struct cur *c, struct fs_snap *s)
{
	uint64_t n = take_be(c, 4);

	if (c->bad || n > 2ull * FS_SNAP_ENTRIES_MAX || n > (uint64_t)(c->end - c->p) / 6)
		return -EINVAL;
	s->items = calloc(n ? n : 1, sizeof(*s->items));
	if (!s->items)
		return -ENOMEM;
	for (; s->nitems < n && !c->bad; s->nitems++) {
		struct fs_snap_item *it = &s->items[s->nitems];

		it->key_len = (size_t)take_be(c, 2);
		it->key = take_dup(c, it->key_len, false);
		it->value_len = (size_t)take_be(c, 4);
		it->value = take_dup(c, it->value_len, false);
	}
	return c->bad ? -EINVAL : 0;
}

static int manifest_decode(const uint8_t *p, size_t len, struct fs_snap *s)
{
	struct cur c = {p, p + len, false};
	const uint8_t *q = take(&c, MAGIC_LEN);
	size_t name_len, src_len;
	int err;

	if (!q || memcmp(q, MAGIC, MAGIC_LEN) != 0)
		return -EINVAL;
	q = take(&c, 32);
	if (q)
		memcpy(s->volume, q, 32);
	s->point = take_be(&c, 8);
	s->top = take_be(&c, 8);
	s->created = (int64_t)take_be(&c, 8);
	q = take(&c, 32);
	if (q)
		memcpy(s->root, q, 32);
	s->bytes = take_be(&c, 8);
	name_len = (size_t)take_be(&c, 1);
	q = name_len <= FS_SNAP_NAME_MAX ? take(&c, name_len) : NULL;
	if (!q || memchr(q, 0, name_len))
		return -EINVAL;
	memcpy(s->name, q, name_len);
	s->name[name_len] = 0;
	src_len = (size_t)take_be(&c, 2);
	s->source = (char *)take_dup(&c, src_len, true);
	if (c.bad || !s->source)
		return -EINVAL;
	err = take_entries(&c, s);
	if (err == 0)
		err = take_items(&c, s);
	if (err == 0 && c.p != c.end)
		err = -EINVAL; /* trailing bytes */
	return err;
}

/* --- the registry -------------------------------------------------------------------- */

bool fs_snap_name_ok(const char *name)
{
	size_t len = strlen(name);
	bool digits = true;

	for (size_t i = 0; i < len; i++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+@:",
			    name[i]))
			return false;
		digits = digits && name[i] >= '0' && name[i] <= '9';
	}
	return len > 0 && len <= FS_SNAP_NAME_MAX && !digits;
}

void fs_snap_registry(const uint8_t volume[NODE_STREAM_ID_SIZE],
		      uint8_t ret_stream[NODE_STREAM_ID_SIZE])
{
	static const char tag[] = "zgfs snapshots ";
	uint8_t buf[sizeof(tag) - 1 + NODE_STREAM_ID_SIZE];

	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, volume, NODE_STREAM_ID_SIZE);
	codec_keccak256(buf, sizeof(buf), ret_stream);
}

static size_t key_id(uint8_t key[9], uint64_t id)
{
	key[0] = 'P';
	codec_put_be64(key + 1, id);
	return 9;
}

static size_t key_name(uint8_t key[1 + FS_SNAP_NAME_MAX], const char *name)
{
	size_t len = strlen(name);

	key[0] = 'N';
	memcpy(key + 1, name, len);
	return 1 + len;
}

/* The registry's value for s: root, point, entries, bytes, created, name, source. */
static int info_encode(const struct fs_snap *s, struct sys_buf *b)
{
	size_t name_len = strlen(s->name), src_len = strlen(s->source);
	struct wr w = {b, 0};

	if (src_len > sizeof(((struct fs_snap_info *)0)->source) - 1)
		src_len = sizeof(((struct fs_snap_info *)0)->source) - 1;
	put(&w, s->root, 32);
	put_be(&w, s->point, 8);
	put_be(&w, s->n, 8);
	put_be(&w, s->bytes, 8);
	put_be(&w, (uint64_t)s->created, 8);
	put_be(&w, name_len, 1);
	put(&w, s->name, name_len);
	put_be(&w, src_len, 2);
	put(&w, s->source, src_len);
	return w.err;
}

static int info_decode(uint64_t id, const uint8_t *p, size_t len, struct fs_snap_info *ret)
{
	struct cur c = {p, p + len, false};
	struct fs_snap_info in = {.id = id};
	const uint8_t *q = take(&c, 32);
	size_t n;

	if (q)
		memcpy(in.root, q, 32);
	in.point = take_be(&c, 8);
	in.entries = take_be(&c, 8);
	in.bytes = take_be(&c, 8);
	in.created = (int64_t)take_be(&c, 8);
	n = (size_t)take_be(&c, 1);
	q = n <= FS_SNAP_NAME_MAX ? take(&c, n) : NULL;
	if (q)
		memcpy(in.name, q, n);
	n = (size_t)take_be(&c, 2);
	q = n < sizeof(in.source) ? take(&c, n) : NULL;
	if (q)
		memcpy(in.source, q, n);
	if (!q || c.bad || c.p != c.end)
		return -EINVAL;
	*ret = in;
	return 0;
}

int fs_snap_store(struct node *n, struct fs_snap *s)
{
	uint8_t reg[NODE_STREAM_ID_SIZE], kid[9], kname[1 + FS_SNAP_NAME_MAX], idv[8];
	struct node_put_item items[2];
	struct node_upload *u = NULL;
	struct node_file_info *fi = malloc(sizeof(*fi));
	struct sys_buf b;
	struct node_value v = {0};
	int err = fi ? 0 : -ENOMEM;

	sys_buf_init(&b, FS_SNAP_MANIFEST_MAX);
	fs_snap_registry(s->volume, reg);
	if (err == 0 && s->name[0]) {
		err = node_kv_read(n, reg, kname, key_name(kname, s->name), &v);
		err = err == -ENOENT || (err == 0 && v.len == 0) ? 0 : err == 0 ? -EEXIST : err;
		free(v.data);
	}
	if (err == 0)
		err = manifest_encode(s, &b);
	if (err == 0)
		err = node_upload_begin(n, NULL, 0, &u);
	if (err == 0) {
		err = node_upload_write(u, b.data, b.len);
		if (err == 0)
			err = node_upload_finish(u, fi);
		else
			node_upload_abort(u);
	}
	if (err < 0)
		goto out;
	s->id = fi->entry.tx_seq;
	sys_buf_reset(&b);
	err = info_encode(s, &b);
	if (err < 0)
		goto out;
	codec_put_be64(idv, s->id);
	items[0] = (struct node_put_item){kid, key_id(kid, s->id), b.data, b.len};
	items[1] = (struct node_put_item){kname, key_name(kname, s->name), idv, 8};
	err = node_kv_write(n, reg, items, s->name[0] ? 2 : 1, NULL);
out:
	sys_buf_free(&b);
	free(fi);
	return err;
}

int fs_snap_load(struct node *n, uint64_t id, struct fs_snap *ret)
{
	struct node_file_info *fi = malloc(sizeof(*fi));
	struct fs_snap s = {0};
	uint8_t *data = NULL;
	size_t got = 0;
	int err = fi ? node_file_info_by_seq(n, id, fi) : -ENOMEM;

	if (err == 0 && (fi->entry.length < MAGIC_LEN || fi->entry.length > FS_SNAP_MANIFEST_MAX))
		err = -EINVAL;
	if (err == 0 && !(data = malloc((size_t)fi->entry.length)))
		err = -ENOMEM;
	/* The magic first: a large entry that is no manifest is not read whole. */
	if (err == 0)
		err = node_read(n, id, 0, data, MAGIC_LEN, &got);
	if (err == 0 && (got != MAGIC_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0))
		err = -EINVAL;
	if (err == 0)
		err = node_read(n, id, 0, data, (size_t)fi->entry.length, &got);
	if (err == 0 && got != fi->entry.length)
		err = -EIO;
	if (err == 0)
		err = fs_snap_decode(data, got, &s);
	free(data);
	free(fi);
	if (err < 0)
		return err;
	s.id = id;
	*ret = s;
	return 0;
}

int fs_snap_decode(const uint8_t *p, size_t len, struct fs_snap *ret)
{
	struct fs_snap s = {0};
	uint8_t root[32];
	int err = manifest_decode(p, len, &s);

	if (err == 0)
		err = root_of(&s, root);
	if (err == 0 && memcmp(root, s.root, 32) != 0)
		err = -EBADMSG;
	if (err < 0) {
		fs_snap_release(&s);
		return err;
	}
	*ret = s;
	return 0;
}

int fs_snap_encode(const struct fs_snap *s, uint8_t **ret, size_t *ret_len)
{
	struct sys_buf b;
	int err;

	sys_buf_init(&b, FS_SNAP_MANIFEST_MAX);
	err = manifest_encode(s, &b);
	if (err < 0) {
		sys_buf_free(&b);
		return err;
	}
	*ret = sys_buf_take(&b, ret_len);
	return 0;
}

struct list_ctx {
	fs_snap_list_fn *fn;
	void *ctx;
	int err;
};

static int list_one(void *ctx, const uint8_t *key, size_t key_len, const struct node_value *v)
{
	struct list_ctx *c = ctx;
	struct fs_snap_info in;

	if (key_len != 9 || key[0] != 'P')
		return 1; /* past the "P" keys */
	if (info_decode(codec_get_be64(key + 1), v->data, v->len, &in) < 0)
		return 0; /* unreadable: left out */
	c->err = c->fn(c->ctx, &in);
	return c->err;
}

int fs_snap_list(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], fs_snap_list_fn *fn,
		 void *ctx)
{
	uint8_t reg[NODE_STREAM_ID_SIZE];
	struct list_ctx c = {fn, ctx, 0};
	int err;

	fs_snap_registry(volume, reg);
	err = node_kv_list(n, reg, (const uint8_t *)"P", 1, SIZE_MAX, list_one, &c);
	return err < 0 ? err : c.err;
}

int fs_snap_resolve(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], const char *text,
		    uint64_t *ret_id)
{
	uint8_t reg[NODE_STREAM_ID_SIZE], key[1 + FS_SNAP_NAME_MAX];
	struct node_value v = {0};
	char *end;
	unsigned long long id;
	int err;

	fs_snap_registry(volume, reg);
	errno = 0;
	id = strtoull(text, &end, 10);
	if (*text >= '0' && *text <= '9' && !*end && errno == 0) {
		err = node_kv_read(n, reg, key, key_id(key, id), &v);
		if (err == 0 && v.len == 0)
			err = -ENOENT;
		free(v.data);
		if (err == 0)
			*ret_id = id;
		if (err != -ENOENT)
			return err;
	}
	if (strlen(text) > FS_SNAP_NAME_MAX || !*text)
		return -ENOENT;
	err = node_kv_read(n, reg, key, key_name(key, text), &v);
	if (err == 0 && v.len != 8)
		err = -ENOENT;
	if (err == 0)
		*ret_id = codec_get_be64(v.data);
	free(v.data);
	return err;
}

/* --- verifying ----------------------------------------------------------------------- */

int fs_snap_verify(struct node *n, const struct fs_snap *s, fs_snap_bad_fn *bad,
		   fs_snap_progress_fn *progress, void *ctx)
{
	struct roots_ctx rc = {.progress = progress, .ctx = ctx, .total = s->bytes};
	struct ns ns = {0};
	struct walk w = {0};
	size_t i = 0, j = 0;
	bool differs = false;
	uint8_t root[32];
	int err = 0;

	for (size_t k = 0; err == 0 && k < s->nitems; k++)
		err = ns_add(&ns, s->items[k].key, s->items[k].key_len, s->items[k].value,
			     s->items[k].value_len);
	/* Renumbering the top moved its keys out of byte order. */
	if (err == 0) {
		ns_sort(&ns);
		err = walk_tree(&ns, FS_ROOT_INO, &w);
	}
	if (err < 0)
		goto out;
	/* Both lists are in path order: a merge finds what is missing on either side. */
	while (i < s->n || j < w.n) {
		int c = i == s->n ? 1 : j == w.n ? -1 : strcmp(s->e[i].path, w.e[j].path);
		struct fs_snap_entry *e = c <= 0 ? &s->e[i] : &w.e[j];
		int why = 0;

		if (c == 0 && w.e[j].type == 'f') {
			struct nrec *r = ns_rec(&ns, w.e[j].ino);

			why = file_root(n, NULL, &r->rec, true, &rc, w.e[j].root);
		}
		if (why == 0 && (c != 0 || e->type != w.e[j].type || e->mode != w.e[j].mode ||
				 e->size != w.e[j].size || memcmp(e->root, w.e[j].root, 32) != 0))
			why = c < 0 ? -ENOENT : -EBADMSG;
		if (why) {
			differs = true;
			if (bad)
				bad(ctx, e, why);
		}
		i += c <= 0;
		j += c >= 0;
	}
	err = root_of(s, root);
	if (err == 0 && memcmp(root, s->root, 32) != 0)
		differs = true;
	if (err == 0 && differs)
		err = -EBADMSG;
out:
	entries_release(w.e, w.n);
	ns_release(&ns);
	return err;
}

/* --- proofs -------------------------------------------------------------------------- */

/* A path as JSON: "path" when it is UTF-8 (JSON's strings are), else "path_hex" (Linux
 * names are any bytes). */
static int put_path(json_t *obj, const char *path)
{
	json_t *v = json_string(path);
	char *hex;

	if (!v) {
		hex = malloc(2 * strlen(path) + 3);
		if (!hex)
			return -ENOMEM;
		codec_hex_encode((const uint8_t *)path, strlen(path), hex);
		v = json_string(hex);
		free(hex);
		return json_object_set_new(obj, "path_hex", v) < 0 ? -ENOMEM : 0;
	}
	return json_object_set_new(obj, "path", v) < 0 ? -ENOMEM : 0;
}

/* The path put_path() wrote, malloc'd; NULL when there is none or it is malformed. */
static char *get_path(json_t *obj)
{
	const char *text = json_string_value(json_object_get(obj, "path"));
	const char *hex = json_string_value(json_object_get(obj, "path_hex"));
	size_t len;
	char *p;

	if (text)
		return strlen(text) == json_string_length(json_object_get(obj, "path"))
			   ? strdup(text)
			   : NULL;
	if (!hex || strncmp(hex, "0x", 2) != 0 || strlen(hex) % 2 ||
	    (len = (strlen(hex) - 2) / 2) == 0 || len >= FS_SNAP_PATH_MAX)
		return NULL;
	p = malloc(len + 1);
	if (!p || codec_hex_decode(hex, (uint8_t *)p, len) < 0 || memchr(p, 0, len)) {
		free(p);
		return NULL;
	}
	p[len] = 0;
	return p;
}

static json_t *entry_json(const struct fs_snap_entry *e, size_t index, const uint8_t *leaves,
			  size_t n)
{
	struct codec_proof *pf = malloc(sizeof(*pf));
	char root[67], type[2] = {e->type, 0};
	json_t *j = NULL, *jp;

	if (!pf || codec_proof_build(leaves, n, index, pf) < 0) {
		free(pf);
		return NULL;
	}
	codec_hex_encode(e->root, 32, root);
	jp = codec_proof_to_jansson(pf);
	if (jp)
		j = json_pack("{s:I, s:s, s:I, s:I, s:s, s:o}", "index", (json_int_t)index, "type",
			      type, "mode", (json_int_t)e->mode, "size", (json_int_t)e->size,
			      "root", root, "proof", jp);
	if (j && put_path(j, e->path) < 0) {
		json_decref(j);
		j = NULL;
	}
	free(pf);
	return j;
}

int fs_snap_prove(const struct fs_snap *s, const char *path, char **ret_json)
{
	uint8_t *leaves = leaves_of(s);
	json_t *doc = NULL, *list = json_array();
	char root[67];
	size_t lo = 0, hi = s->n;
	bool member;
	int err = leaves && list ? 0 : -ENOMEM;
	char *text;

	/* The first entry at or after path: path itself, or its right neighbour. */
	while (err == 0 && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->e[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	member = lo < s->n && strcmp(s->e[lo].path, path) == 0;
	if (err == 0 && !member && lo > 0)
		err = json_array_append_new(list, entry_json(&s->e[lo - 1], lo - 1, leaves, s->n))
			  ? -ENOMEM
			  : 0;
	if (err == 0 && lo < s->n)
		err = json_array_append_new(list, entry_json(&s->e[lo], lo, leaves, s->n)) ? -ENOMEM
											   : 0;
	codec_hex_encode(s->root, 32, root);
	if (err == 0)
		doc = json_pack("{s:s, s:I, s:b, s:O}", "snapshot", root, "count", (json_int_t)s->n,
				"member", member, "entries", list);
	if (doc && put_path(doc, path) < 0)
		err = -ENOMEM;
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	json_decref(list);
	free(leaves);
	if (err == 0 && !text)
		err = -ENOMEM;
	if (err < 0)
		return err;
	*ret_json = text;
	return 0;
}

/* One entry of a proof, checked against the snapshot root: 0 with the entry (path
 * malloc'd) and its index, or -EBADMSG / -EINVAL. */
static int check_entry(json_t *j, const uint8_t root[32], uint64_t count, struct fs_snap_entry *ret,
		       uint64_t *ret_index)
{
	struct codec_proof *pf = malloc(sizeof(*pf));
	struct fs_snap_entry e = {0};
	json_int_t index, mode, size;
	const char *type, *hex;
	char *path = get_path(j);
	uint8_t leaf[32], snap[32];
	json_t *jp;
	int err = pf ? 0 : -ENOMEM;

	if (err == 0 && (!path || json_unpack(j, "{s:I, s:s, s:I, s:I, s:s, s:o}", "index", &index,
					      "type", &type, "mode", &mode, "size", &size, "root",
					      &hex, "proof", &jp) != 0))
		err = -EINVAL;
	if (err == 0 && (index < 0 || mode < 0 || mode > 07777 || size < 0 || strlen(type) != 1 ||
			 !strchr("fdlpscb", type[0]) || codec_hex_decode(hex, e.root, 32) < 0 ||
			 codec_proof_from_jansson(jp, pf) < 0))
		err = -EINVAL;
	if (err < 0)
		goto out;
	e.path = path;
	e.type = type[0];
	e.mode = (uint32_t)mode;
	e.size = (uint64_t)size;
	fs_snap_leaf(&e, leaf);
	/* The tree's root is the proof's last lemma entry; with the count it makes the
	 * snapshot root. */
	snap_root(count, pf->lemma[codec_proof_lemma_len(pf->depth) - 1], snap);
	if (memcmp(snap, root, 32) != 0 ||
	    codec_proof_verify(pf, pf->lemma[codec_proof_lemma_len(pf->depth) - 1], leaf,
			       (uint64_t)index, count) != 0) {
		err = -EBADMSG;
		goto out;
	}
	*ret = e;
	*ret_index = (uint64_t)index;
	path = NULL;
out:
	free(path);
	free(pf);
	return err;
}

int fs_snap_check(const char *json, size_t len, const uint8_t root[32], const char *path,
		  struct fs_snap_entry *ret_entry)
{
	json_t *doc = json_loadb(json, len, 0, NULL), *list;
	struct fs_snap_entry e[2] = {{0}};
	uint64_t idx[2] = {0, 0};
	json_int_t count;
	size_t n = 0;
	int member = 0, err = 0;

	if (!doc ||
	    json_unpack(doc, "{s:I, s:b, s:o}", "count", &count, "member", &member, "entries",
			&list) != 0 ||
	    !json_is_array(list) || count <= 0 || json_array_size(list) < 1 ||
	    json_array_size(list) > 2) {
		json_decref(doc);
		return -EINVAL;
	}
	for (; err == 0 && n < json_array_size(list); n++)
		err = check_entry(json_array_get(list, n), root, (uint64_t)count, &e[n], &idx[n]);
	if (err == 0 && member) {
		/* Shown present: one entry, at path. */
		err = n == 1 && strcmp(e[0].path, path) == 0 ? 1 : -EBADMSG;
	} else if (err == 0) {
		/* Shown absent: the neighbours on either side of where path would be, next to
		 * each other in the tree, or the first or last entry alone. */
		bool ok = n == 2 ? idx[1] == idx[0] + 1 && strcmp(e[0].path, path) < 0 &&
				       strcmp(path, e[1].path) < 0
			  : strcmp(path, e[0].path) < 0
			      ? idx[0] == 0
			      : strcmp(e[0].path, path) < 0 && idx[0] == (uint64_t)count - 1;
		err = ok ? 0 : -EBADMSG;
	}
	if (err == 1) {
		*ret_entry = e[0];
		e[0].path = NULL;
	}
	free(e[0].path);
	free(e[1].path);
	json_decref(doc);
	return err;
}

/* --- what prune keeps ---------------------------------------------------------------- */

struct keep_ctx {
	struct node *n;
	struct fs_seqset *kept;
	int err;
};

static int keep_one(void *ctx, const struct fs_snap_info *in)
{
	struct keep_ctx *c = ctx;
	struct fs_snap s = {0};
	int err = fs_snap_load(c->n, in->id, &s);

	if (err == 0)
		err = fs_seqset_add(c->kept, in->id);
	for (size_t i = 0; err == 0 && i < s.nitems; i++) {
		struct fs_record rec;

		if (s.items[i].key_len != 9 || s.items[i].key[0] != 'I' ||
		    fs_record_decode(s.items[i].value, s.items[i].value_len, &rec) < 0)
			continue;
		for (size_t k = 0; err == 0 && k < rec.nextents; k++)
			if (rec.extents[k].tx_seq != FS_HOLE)
				err = fs_seqset_add(c->kept, rec.extents[k].tx_seq);
		fs_record_release(&rec);
	}
	fs_snap_release(&s);
	c->err = err;
	return err;
}

int fs_snap_keep(struct node *n, const uint8_t volume[NODE_STREAM_ID_SIZE], struct fs_seqset *kept)
{
	struct keep_ctx c = {n, kept, 0};
	int err = fs_snap_list(n, volume, keep_one, &c);

	return err < 0 ? err : c.err;
}

long fs_snap_find(const struct fs_snap *s, const char *path)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->e[mid].path, path);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}
