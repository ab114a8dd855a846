/*
 * zgfs snapshot: create, ls, show, verify, diff, prove and check dataset snapshots
 * (fs/snapshot.h; docs/SNAPSHOTS.md).
 *
 * create works on a path of a mount: it settles what the mount holds (fsync of the
 * directory settles the names and attributes still waiting for a transaction), takes the
 * KV point the mount's node has replayed up to, and builds the tree as of that point, so a
 * file written while it walks is either wholly in or wholly out. The other subcommands
 * find the volume through --mount, --node or --data; check needs nothing but its files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/hex.h"
#include "codec/keccak.h"
#include "fs/fs.h"
#include "fs/snapshot.h"
#include "node/node.h"

#define PROOF_MAX (1u << 20)

enum { OPT_NAME = 0x100, OPT_MOUNT, OPT_NODE, OPT_DATA, OPT_VOLUME, OPT_JSON };

struct where {
	const char *mount, *node, *data, *volume, *name;
	bool json;
};

/* Options shared by the subcommands; the rest of argv are the operands. */
static int parse(int argc, char **argv, struct where *w)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"mount", required_argument, NULL, OPT_MOUNT},
	    {"node", required_argument, NULL, OPT_NODE},
	    {"data", required_argument, NULL, OPT_DATA},
	    {"volume", required_argument, NULL, OPT_VOLUME},
	    {"json", no_argument, NULL, OPT_JSON},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			w->name = optarg;
			break;
		case OPT_MOUNT:
			w->mount = optarg;
			break;
		case OPT_NODE:
			w->node = optarg;
			break;
		case OPT_DATA:
			w->data = optarg;
			break;
		case OPT_VOLUME:
			w->volume = optarg;
			break;
		case OPT_JSON:
			w->json = true;
			break;
		default:
			return -1;
		}
	}
	if (!!w->mount + !!w->node + !!w->data > 1) {
		cli_error("snapshot: give one of --mount, --node and --data");
		return -1;
	}
	return 0;
}

/* The node and the volume the options name. Returns 0, or -1 after a message. */
static int open_where(const struct where *w, struct node **ret_node,
		      uint8_t volume[NODE_STREAM_ID_SIZE])
{
	uint64_t ino;

	if (w->mount)
		return cli_open_path("snapshot", w->mount, ret_node, volume, &ino);
	fs_volume_stream(w->volume ? w->volume : "default", volume);
	return cli_open_node_any(w->node, w->data, ret_node);
}

/* "/a/b" for "a/b", "/a/b/", "//a//b"; "/" for "" and "/". Into buf (FS_SNAP_PATH_MAX). */
static int norm_path(const char *in, char *buf)
{
	size_t n = 0;

	buf[n++] = '/';
	for (const char *p = in; *p; p++) {
		if (*p == '/' && buf[n - 1] == '/')
			continue;
		if (n + 2 >= FS_SNAP_PATH_MAX)
			return -1;
		buf[n++] = *p;
	}
	if (n > 1 && buf[n - 1] == '/')
		n--;
	buf[n] = 0;
	return 0;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ctx;

	if (!p->start)
		cli_progress_start(p, p->what, total);
	if (done > p->done)
		cli_progress_add(p, done - p->done);
}

static const char *why(int r)
{
	switch (r) {
	case -EBADMSG:
		return "its entries do not make its root";
	case -EINVAL:
		return "not a snapshot manifest";
	case -ENOTDIR:
		return "not a directory";
	case -EFBIG:
		return "too many entries, or a path too long, for one snapshot";
	}
	return cli_why(r);
}

/* The snapshot named by text (an id or a name) of volume, loaded; -1 after a message. */
static int load(struct node *n, const uint8_t *volume, const char *text, struct fs_snap *ret)
{
	uint64_t id;
	int r = fs_snap_resolve(n, volume, text, &id);

	if (r == -ENOENT) {
		cli_error("snapshot: no snapshot %s in this volume (see 'zgfs snapshot ls')", text);
		return -1;
	}
	if (r == 0)
		r = fs_snap_load(n, id, ret);
	if (r < 0)
		cli_error("snapshot %s: %s", text, why(r));
	return r < 0 ? -1 : 0;
}

/* --- create -------------------------------------------------------------------------- */

static int create(const struct where *w, const char *path)
{
	uint8_t volume[NODE_STREAM_ID_SIZE];
	struct cli_progress prog = {.what = "snapshot"};
	struct node_status *st = calloc(1, sizeof(*st));
	struct fs_snap s = {0};
	struct node *n = NULL;
	uint64_t top;
	char hex[67], *real;
	int fd, r;

	if (!st)
		return 1;
	if (w->name && !fs_snap_name_ok(w->name)) {
		cli_error("snapshot create: --name takes 1 to %u of A-Z a-z 0-9 . _ - + @ : "
			  "(not only digits: those are ids)",
			  FS_SNAP_NAME_MAX);
		free(st);
		return 2;
	}
	real = cli_get_attr(path, "user.zg.snapshot");
	if (real) {
		cli_error(
		    "snapshot create: %s is on a snapshot mount (%s): snapshot the tree on the "
		    "volume's own mount",
		    path, real);
		free(real);
		free(st);
		return 1;
	}
	/* Changes acknowledged and not yet settled (names and attributes wait up to
	 * FS_LATER_DELAY_MS) belong to the tree: fsync of a directory settles them. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("snapshot create: %s: %s", path, strerror(errno));
		free(st);
		return 1;
	}
	r = fsync(fd);
	close(fd);
	if (r < 0 || cli_open_path("snapshot create", path, &n, volume, &top) < 0) {
		if (r < 0)
			cli_error("snapshot create: %s: cannot settle the mount: %s", path,
				  strerror(errno));
		free(st);
		return 1;
	}
	r = node_status(n, st);
	if (r == 0 && st->kv_next_tx_seq == 0)
		r = -ENOENT;
	real = realpath(path, NULL);
	if (r == 0)
		r = fs_snap_build(n, volume, top, st->kv_next_tx_seq - 1, w->name,
				  real ? real : path, on_progress, &prog, &s);
	free(real);
	if (prog.on)
		cli_progress_end(&prog);
	if (r == 0)
		r = fs_snap_store(n, &s);
	if (r == 0) {
		codec_hex_encode(s.root, 32, hex);
		printf("snapshot %llu root %s\n", (unsigned long long)s.id, hex);
	} else if (r == -EEXIST) {
		cli_error("snapshot create: a snapshot named %s exists in this volume", w->name);
	} else {
		cli_error("snapshot create: %s: %s", path, why(r));
	}
	fs_snap_release(&s);
	node_close(n);
	free(st);
	return r == 0 && fflush(stdout) == 0 ? 0 : 1;
}

/* --- ls, show ------------------------------------------------------------------------ */

struct ls_ctx {
	bool json, first;
};

static int ls_one(void *ctx, const struct fs_snap_info *in)
{
	struct ls_ctx *c = ctx;
	char hex[67], when[32];
	time_t t = (time_t)in->created;
	struct tm tm;

	codec_hex_encode(in->root, 32, hex);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (c->json)
		printf(
		    "%s\n  {\"id\": %llu, \"name\": \"%s\", \"root\": \"%s\", \"entries\": %llu, "
		    "\"bytes\": %llu, \"created\": \"%s\", \"point\": %llu}",
		    c->first ? "" : ",", (unsigned long long)in->id, in->name, hex,
		    (unsigned long long)in->entries, (unsigned long long)in->bytes, when,
		    (unsigned long long)in->point);
	else
		printf("%llu %s %s %llu %llu %s %s\n", (unsigned long long)in->id,
		       in->name[0] ? in->name : "-", hex, (unsigned long long)in->entries,
		       (unsigned long long)in->bytes, when, in->source[0] ? in->source : "-");
	c->first = false;
	return ferror(stdout) ? -EIO : 0;
}

static int ls(struct node *n, const uint8_t *volume, const struct where *w)
{
	struct ls_ctx c = {w->json, true};
	int r;

	if (w->json)
		fputs("[", stdout);
	r = fs_snap_list(n, volume, ls_one, &c);
	if (w->json)
		fputs(c.first ? "]\n" : "\n]\n", stdout);
	if (r < 0)
		cli_error("snapshot ls: %s", cli_why(r));
	return r < 0 ? 1 : 0;
}

static int show(struct node *n, const uint8_t *volume, const char *id)
{
	struct fs_snap s = {0};
	char hex[67];

	if (load(n, volume, id, &s) < 0)
		return 1;
	for (size_t i = 0; i < s.n; i++) {
		codec_hex_encode(s.e[i].root, 32, hex);
		printf("%c %04o %llu %s %s\n", s.e[i].type, (unsigned)s.e[i].mode,
		       (unsigned long long)s.e[i].size, hex, s.e[i].path);
	}
	fs_snap_release(&s);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* --- verify, diff -------------------------------------------------------------------- */

struct verify_ctx {
	struct cli_progress prog;
	unsigned long long bad;
};

static void verify_bad(void *ctx, const struct fs_snap_entry *e, int err)
{
	struct verify_ctx *c = ctx;

	c->bad++;
	if (c->prog.on)
		fputc('\n', stderr);
	cli_error("snapshot verify: %s: %s", e->path,
		  err == -EBADMSG  ? "differs from the snapshot"
		  : err == -ENOENT ? "missing from the records"
				   : node_strerror(err));
}

static int verify(struct node *n, const uint8_t *volume, const char *id)
{
	struct verify_ctx c = {.prog = {.what = "verify"}};
	struct fs_snap s = {0};
	char hex[67];
	int r;

	if (load(n, volume, id, &s) < 0)
		return 1;
	r = fs_snap_verify(n, &s, verify_bad, on_progress, &c.prog);
	if (c.prog.on)
		cli_progress_end(&c.prog);
	codec_hex_encode(s.root, 32, hex);
	if (r == 0)
		printf("snapshot %llu root %s verified: %zu entries, %llu bytes\n",
		       (unsigned long long)s.id, hex, s.n, (unsigned long long)s.bytes);
	else if (r == -EBADMSG)
		cli_error("snapshot %llu does not verify: %llu entries differ or cannot be read",
			  (unsigned long long)s.id, c.bad);
	else
		cli_error("snapshot verify: %s", node_strerror(r));
	fs_snap_release(&s);
	return r == 0 ? 0 : 1;
}

static bool same(const struct fs_snap_entry *a, const struct fs_snap_entry *b)
{
	return a->type == b->type && a->mode == b->mode && a->size == b->size &&
	       memcmp(a->root, b->root, 32) == 0;
}

static int diff(struct node *n, const uint8_t *volume, const char *ida, const char *idb)
{
	struct fs_snap a = {0}, b = {0};
	size_t i = 0, j = 0;

	if (load(n, volume, ida, &a) < 0 || load(n, volume, idb, &b) < 0) {
		fs_snap_release(&a);
		return 1;
	}
	/* Both in path order: one merge. */
	while (i < a.n || j < b.n) {
		int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.e[i].path, b.e[j].path);

		if (c < 0)
			printf("D\t%s\n", a.e[i].path);
		else if (c > 0)
			printf("A\t%s\n", b.e[j].path);
		else if (!same(&a.e[i], &b.e[j]))
			printf("M\t%s\n", a.e[i].path);
		i += c <= 0;
		j += c >= 0;
	}
	fs_snap_release(&a);
	fs_snap_release(&b);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* --- prove, check -------------------------------------------------------------------- */

static int prove(struct node *n, const uint8_t *volume, const char *id, const char *path)
{
	char p[FS_SNAP_PATH_MAX], *json = NULL;
	struct fs_snap s = {0};
	int r;

	if (norm_path(path, p) < 0) {
		cli_error("snapshot prove: path too long");
		return 2;
	}
	if (load(n, volume, id, &s) < 0)
		return 1;
	r = fs_snap_prove(&s, p, &json);
	if (r == 0)
		printf("%s\n", json);
	else
		cli_error("snapshot prove: %s", strerror(-r));
	free(json);
	fs_snap_release(&s);
	return r == 0 && fflush(stdout) == 0 ? 0 : 1;
}

/* The proof file, at most PROOF_MAX bytes, malloc'd; NULL after a message. */
static char *read_proof(const char *file, size_t *ret_len)
{
	int fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	char *buf = malloc(PROOF_MAX + 1);
	size_t len = 0;
	ssize_t got = 1;

	while (fd >= 0 && buf && len <= PROOF_MAX && got > 0) {
		got = read(fd, buf + len, PROOF_MAX + 1 - len);
		len += got > 0 ? (size_t)got : 0;
	}
	if (fd < 0 || !buf || got < 0 || len > PROOF_MAX) {
		cli_error("snapshot check: %s: %s", file,
			  fd < 0 || got < 0 ? strerror(errno)
			  : !buf	    ? strerror(ENOMEM)
					    : "larger than a proof can be");
		free(buf);
		buf = NULL;
	}
	if (fd > STDIN_FILENO)
		close(fd);
	*ret_len = len;
	return buf;
}

/* Whether FILE is what entry e says: a regular file of its size and root, or a directory,
 * symlink (to the same target) or special file of its type. */
static int file_matches(const struct fs_snap_entry *e, const char *file, const char **ret_why)
{
	uint8_t root[32] = {0}, t[32];
	uint64_t size = 0;
	struct stat st;
	char target[4096];
	ssize_t n;

	if (lstat(file, &st) < 0) {
		*ret_why = strerror(errno);
		return -1;
	}
	*ret_why = "of another type";
	switch (e->type) {
	case 'f':
		if (!S_ISREG(st.st_mode))
			return 0;
		if (st.st_size > 0 && cli_file_root(file, root, &size) < 0)
			return -1;
		*ret_why = "has other bytes";
		return size == e->size && memcmp(root, e->root, 32) == 0;
	case 'l':
		if (!S_ISLNK(st.st_mode))
			return 0;
		n = readlink(file, target, sizeof(target));
		if (n < 0) {
			*ret_why = strerror(errno);
			return -1;
		}
		codec_keccak256(target, (size_t)n, t);
		*ret_why = "points elsewhere";
		return memcmp(t, e->root, 32) == 0;
	case 'd':
		return S_ISDIR(st.st_mode);
	case 'p':
		return S_ISFIFO(st.st_mode);
	case 's':
		return S_ISSOCK(st.st_mode);
	case 'c':
		return S_ISCHR(st.st_mode);
	case 'b':
		return S_ISBLK(st.st_mode);
	}
	return 0;
}

static int check(char **argv)
{
	uint8_t root[32];
	struct fs_snap_entry e = {0};
	char p[FS_SNAP_PATH_MAX], *json;
	const char *why_not = NULL;
	size_t len;
	int r, m;

	if (codec_hex_decode(argv[0], root, 32) < 0) {
		cli_error("snapshot check: %s is not a root (0x and 64 hex digits)", argv[0]);
		return 2;
	}
	if (norm_path(argv[1], p) < 0) {
		cli_error("snapshot check: path too long");
		return 2;
	}
	json = read_proof(argv[3], &len);
	if (!json)
		return 2;
	r = fs_snap_check(json, len, root, p, &e);
	free(json);
	if (r == -EINVAL || r == -EBADMSG || r == -ENOMEM) {
		cli_error("snapshot check: %s is %s", argv[3],
			  r == -EINVAL ? "not a snapshot proof"
				       : "no valid proof for this root and path");
		return 2;
	}
	if (r == 0) {
		printf("absent: %s is not in snapshot %s\n", p, argv[0]);
		return 1;
	}
	m = file_matches(&e, argv[2], &why_not);
	if (m == 1)
		printf("member: %s (%c, %llu bytes) is in snapshot %s as %s\n", argv[2], e.type,
		       (unsigned long long)e.size, argv[0], p);
	else if (m == 0)
		printf("differs: %s is in snapshot %s, but %s %s\n", p, argv[0], argv[2], why_not);
	else
		cli_error("snapshot check: %s: %s", argv[2], why_not);
	free(e.path);
	return m == 1 ? 0 : 1;
}

/* --- dispatch ------------------------------------------------------------------------ */

int cmd_snapshot(int argc, char **argv)
{
	static const struct {
		const char *name;
		int operands;
	} subs[] = {{"create", 1}, {"ls", 0},	 {"show", 1}, {"verify", 1},
		    {"diff", 2},   {"prove", 2}, {"check", 4}};
	uint8_t volume[NODE_STREAM_ID_SIZE];
	struct where w = {0};
	struct node *n = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	char **ops;
	int k = -1, r;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(sub, subs[i].name) == 0)
			k = (int)i;
	if (k < 0 || parse(argc - 1, argv + 1, &w) < 0 || argc - 1 - optind != subs[k].operands ||
	    (w.name && k != 0)) {
		cli_usage(stderr, "snapshot");
		return 2;
	}
	ops = argv + 1 + optind;
	if (k == 0)
		return create(&w, ops[0]);
	if (k == 6)
		return check(ops);
	if (open_where(&w, &n, volume) < 0)
		return 1;
	switch (k) {
	case 1:
		r = ls(n, volume, &w);
		break;
	case 2:
		r = show(n, volume, ops[0]);
		break;
	case 3:
		r = verify(n, volume, ops[0]);
		break;
	case 4:
		r = diff(n, volume, ops[0], ops[1]);
		break;
	default:
		r = prove(n, volume, ops[0], ops[1]);
		break;
	}
	node_close(n);
	return r;
}
