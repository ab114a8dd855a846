/*
 * Unit tests of fs/snapshot.c on a node in this process, without FUSE: a namespace written
 * as KV items (with the damage a lying or broken stream could hold: names leading back up
 * the tree, names of missing inodes), snapshots of the whole tree and of a subtree, the
 * KV point (a later change is not in an earlier snapshot), the manifest round trip,
 * proofs of every entry and of absent paths, the registry by id and by name, and what
 * prune keeps.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/endian.h"
#include "fs/fs.h"
#include "fs/snapshot.h"
#include "node/node.h"
#include "tests/tap.h"

static uint8_t volume[NODE_STREAM_ID_SIZE];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* An inode record and its key, as the mount writes them. */
static int put_inode(struct node *n, uint64_t ino, uint32_t mode, uint64_t parent,
		     const struct fs_extent *ext, size_t next, uint64_t size, uint64_t *ret_seq)
{
	struct fs_record r = {.mode = mode,
			      .nlink = 1,
			      .size = size,
			      .parent = parent,
			      .nextents = next,
			      .extents = (struct fs_extent *)ext};
	uint8_t key[FS_KEY_MAX], *val;
	size_t len;
	int err = fs_record_encode(&r, &val, &len);

	if (S_ISLNK(mode)) {
		r.target = "target";
		r.target_len = 6;
		free(val);
		err = fs_record_encode(&r, &val, &len);
	}
	if (err == 0)
		err = node_kv_write(n, volume,
				    &(struct node_put_item){key, fs_key_inode(key, ino), val, len},
				    1, ret_seq);
	free(val);
	return err;
}

static int put_name(struct node *n, uint64_t parent, const char *name, uint64_t child, uint8_t type)
{
	uint8_t key[FS_KEY_MAX], val[9];

	codec_put_be64(val, child);
	val[8] = type;
	return node_kv_write(
	    n, volume,
	    &(struct node_put_item){key, fs_key_dirent(key, parent, name, strlen(name)), val, 9}, 1,
	    NULL);
}

static int upload(struct node *n, const char *text, uint64_t *ret_seq)
{
	struct node_upload *u;
	struct node_file_info fi;
	int err = node_upload_begin(n, NULL, 0, &u);

	if (err == 0)
		err = node_upload_write(u, text, strlen(text));
	if (err == 0)
		err = node_upload_finish(u, &fi);
	if (err == 0)
		*ret_seq = fi.entry.tx_seq;
	return err;
}

static bool has(const struct fs_snap *s, const char *path)
{
	return fs_snap_find(s, path) >= 0;
}

static void check_proofs(const struct fs_snap *s)
{
	static const char *absent[] = {"/0", "/a/", "/a/a", "/zz", "/\xff"};
	int good = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct fs_snap_entry e;
		char *json = NULL;

		if (fs_snap_prove(s, s->e[i].path, &json) == 0 &&
		    fs_snap_check(json, strlen(json), s->root, s->e[i].path, &e) == 1) {
			good += e.size == s->e[i].size && memcmp(e.root, s->e[i].root, 32) == 0;
			free(e.path);
		}
		free(json);
	}
	ok(good == (int)s->n, "every entry's proof checks, with its size and root (%d of %zu)",
	   good, s->n);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		struct fs_snap_entry e;
		char *json = NULL;
		int r = fs_snap_prove(s, absent[i], &json);

		ok(r == 0 && fs_snap_check(json, strlen(json), s->root, absent[i], &e) == 0 &&
		       fs_snap_check(json, strlen(json), s->root, "/a", &e) == -EBADMSG,
		   "%s is proven absent, and that proof shows nothing about /a", absent[i]);
		free(json);
	}
}

int main(void)
{
	char dir[] = "/tmp/zgfs-test-snapshot-XXXXXX";
	struct fs_snap whole = {0}, sub = {0}, back = {0}, later = {0};
	struct fs_seqset kept = {0};
	struct node *n = NULL;
	uint64_t data_seq = 0, point = 0, id = 0;
	struct node_status st;
	uint8_t *enc = NULL;
	size_t len = 0;
	int r;

	if (!mkdtemp(dir))
		skip_all("cannot make a temporary directory");
	r = node_open_local(&(struct node_config){.data_dir = dir}, &n);
	if (r < 0) {
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		skip_all("the in-process node does not open");
	}
	fs_volume_stream("test", volume);
	ok(upload(n, "hello, snapshot", &data_seq) == 0, "a file's bytes as one entry");
	{
		struct fs_extent ext = {data_seq, 0, 15};

		/* /a/f (a file), /a/l (a symlink), /a/h and /h2 (one inode, two names) ... */
		ok(put_inode(n, 1, S_IFDIR | 0755, 1, NULL, 0, 0, NULL) == 0 &&
		       put_inode(n, 2, S_IFDIR | 0750, 1, NULL, 0, 0, NULL) == 0 &&
		       put_inode(n, 3, S_IFREG | 0644, 0, &ext, 1, 15, NULL) == 0 &&
		       put_inode(n, 4, S_IFLNK | 0777, 0, NULL, 0, 0, NULL) == 0 &&
		       put_inode(n, 5, S_IFREG | 0600, 0, NULL, 0, 0, NULL) == 0 &&
		       put_name(n, 1, "a", 2, 4) == 0 && put_name(n, 2, "f", 3, 8) == 0 &&
		       put_name(n, 2, "l", 4, 10) == 0 && put_name(n, 2, "h", 5, 8) == 0 &&
		       put_name(n, 1, "h2", 5, 8) == 0,
		   "a namespace: a directory, a file, a symlink, a hard link");
		/* ... and damage: names back to the top and to a directory met already, a name
		 * of an inode that does not exist. */
		ok(put_name(n, 2, "up", 1, 4) == 0 && put_name(n, 2, "self", 2, 4) == 0 &&
		       put_name(n, 1, "ghost", 99, 8) == 0,
		   "and names that would loop or lead nowhere");
	}
	ok(node_status(n, &st) == 0 && (point = st.kv_next_tx_seq - 1) > 0, "the KV point");
	r = fs_snap_build(n, volume, 1, point, "whole", "/test", NULL, NULL, &whole);
	ok(r == 0 && whole.n == 6 && has(&whole, "/") && has(&whole, "/a") && has(&whole, "/a/f") &&
	       has(&whole, "/a/l") && has(&whole, "/a/h") && has(&whole, "/h2") &&
	       !has(&whole, "/ghost") && !has(&whole, "/a/up"),
	   "the whole tree: 6 entries, the loops and the missing inode left out (%d, %zu)", r,
	   whole.n);
	{
		long f = fs_snap_find(&whole, "/a/f");
		uint8_t want[32];

		ok(f >= 0 && codec_file_root("hello, snapshot", 15, want) == 0 &&
		       memcmp(whole.e[f].root, want, 32) == 0 && whole.e[f].size == 15 &&
		       whole.e[f].type == 'f' && whole.e[f].mode == 0644,
		   "a file's entry: its 0G root, size, type and mode");
	}
	check_proofs(&whole);

	r = fs_snap_build(n, volume, 2, point, NULL, "/test/a", NULL, NULL, &sub);
	ok(r == 0 && sub.n == 4 && has(&sub, "/f") && has(&sub, "/h") && sub.e[0].mode == 0750,
	   "a subtree: its top as /, its entries below (%d, %zu)", r, sub.n);
	ok(fs_snap_build(n, volume, 3, point, NULL, "", NULL, NULL, &back) == -ENOTDIR &&
	       fs_snap_build(n, volume, 77, point, NULL, "", NULL, NULL, &back) == -ENOENT &&
	       fs_snap_build(n, volume, 1, point, "12", "", NULL, NULL, &back) == -EINVAL,
	   "a file as the top: -ENOTDIR; no such inode: -ENOENT; a name of digits: -EINVAL");

	/* The manifest round trip, and its refusals. */
	ok(fs_snap_encode(&whole, &enc, &len) == 0 && fs_snap_decode(enc, len, &back) == 0 &&
	       back.n == whole.n && memcmp(back.root, whole.root, 32) == 0 &&
	       strcmp(back.name, "whole") == 0,
	   "the manifest decodes to the same snapshot");
	fs_snap_release(&back);
	if (enc) {
		struct fs_snap x;

		ok(fs_snap_decode(enc, len - 1, &x) == -EINVAL, "a cut manifest: -EINVAL");
		enc[16 + 32 + 24 + 3] ^= 1; /* inside the stated root */
		ok(fs_snap_decode(enc, len, &x) == -EBADMSG,
		   "a manifest whose root is not its entries': -EBADMSG");
	}
	free(enc);

	/* Stored, found by id and by name, loaded back; a name twice is refused. */
	ok(fs_snap_store(n, &whole) == 0 && whole.id > 0, "stored as entry %llu",
	   (unsigned long long)whole.id);
	ok(fs_snap_resolve(n, volume, "whole", &id) == 0 && id == whole.id &&
	       fs_snap_resolve(n, volume, "nope", &id) == -ENOENT,
	   "resolved by name; an unknown name: -ENOENT");
	ok(fs_snap_load(n, whole.id, &back) == 0 && memcmp(back.root, whole.root, 32) == 0 &&
	       back.nitems == whole.nitems,
	   "loaded back from the log");
	ok(fs_snap_verify(n, &back, NULL, NULL, NULL) == 0, "and it verifies from the bytes");
	fs_snap_release(&back);
	ok(fs_snap_load(n, data_seq, &back) == -EINVAL, "an entry that is no manifest: -EINVAL");
	ok(fs_snap_store(n, &whole) == -EEXIST, "the same name again: -EEXIST");

	/* A later change is not in the earlier point's snapshot. */
	ok(put_name(n, 1, "new", 3, 8) == 0 &&
	       fs_snap_build(n, volume, 1, point, NULL, "", NULL, NULL, &later) == 0 &&
	       !has(&later, "/new") && memcmp(later.root, whole.root, 32) == 0,
	   "a name added after the point is not in a snapshot at that point (same root)");
	fs_snap_release(&later);
	ok(fs_snap_build(n, volume, 1, UINT64_MAX, NULL, "", NULL, NULL, &later) == 0 &&
	       has(&later, "/new") && memcmp(later.root, whole.root, 32) != 0,
	   "at the latest point it is, and the root differs");

	ok(fs_snap_keep(n, volume, &kept) == 0, "fs_snap_keep");
	fs_seqset_finish(&kept);
	ok(fs_seqset_has(&kept, data_seq) && fs_seqset_has(&kept, whole.id),
	   "prune keeps the snapshot's manifest and the file's entry");

	fs_seqset_release(&kept);
	fs_snap_release(&whole);
	fs_snap_release(&sub);
	fs_snap_release(&later);
	node_close(n);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
