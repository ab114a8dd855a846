/*
 * zgfs mount, zgfs umount, zgfs versions, zgfs cat: the mount and the tools that work on a
 * mounted path.
 *
 * Without -f, mount forks: the child becomes the daemon (its own session, log in the data
 * directory) and tells the parent through a pipe when the mount is ready or why it failed,
 * so the command returns only then. The daemon serves the node's JSON-RPC on a loopback
 * port too (user.zg.node names it), which is how `zgfs cat --version` reads old versions
 * while the mount holds the data directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "cli/cli.h"
#include "codec/hex.h"
#include "fs/fs.h"
#include "fs/snapshot.h"
#include "node/key.h"
#include "node/node.h"
#include "node/rpc/rpc.h"

enum {
	OPT_DATA = 0x100,
	OPT_NODE,
	OPT_VERIFY,
	OPT_VOLUME,
	OPT_VERSION,
	OPT_CHAIN,
	OPT_KEY,
	OPT_WRITEBACK,
	OPT_LIMIT,
	OPT_JSON,
	OPT_PRUNE_KEEP,
	OPT_PRUNE_INTERVAL,
	OPT_SNAPSHOT,
};

struct mount_opts {
	const char *data, *node_url, *volume, *chain, *key_file;
	const char *snapshot; /* --snapshot ID or NAME */
	bool foreground, read_only, verify, append_only, writeback;
	struct cli_pora pora; /* mining parameters for a ledger that has none */
	bool allow_other, allow_root, force_uid, force_gid;
	int64_t uid, gid;
	uint32_t umask;
	uint64_t prune_keep;
	unsigned prune_interval_ms;
	char fuse_opts[512]; /* the options passed on to the kernel, comma-separated */
	char mountpoint[PATH_MAX];
};

/* Options the kernel's FUSE mount takes as they are (libfuse turns them into mount flags). */
static const char *const kernel_opts[] = {
	"noatime", "nosuid", "nodev", "noexec", "exec", "sync", "async", "dirsync",
};

/* Every -o option, for the error that names an unknown one (zgfs mount --help explains). */
#define KNOWN_OPTS                                                                         \
	"ro, rw, append_only, allow_other, allow_root, default_permissions, uid=N, gid=N, " \
	"umask=OCTAL, noatime, relatime, nodiratime, atime, nosuid, nodev, noexec, exec, "  \
	"sync, async, dirsync"

static int add_kernel_opt(struct mount_opts *o, const char *opt)
{
	size_t have = strlen(o->fuse_opts), len = strlen(opt);

	if (have + len + 2 > sizeof(o->fuse_opts)) {
		cli_error("mount: -o list too long");
		return -1;
	}
	if (have)
		o->fuse_opts[have++] = ',';
	memcpy(o->fuse_opts + have, opt, len + 1);
	return 0;
}

/* uid=N or a user name, gid=N or a group name. */
static int parse_id(const char *what, const char *v, bool user, int64_t *ret)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (*v && !*end && !errno && n < UINT32_MAX && *v != '-') {
		*ret = (int64_t)n;
		return 0;
	}
	if (user) {
		struct passwd *pw = getpwnam(v);

		if (pw) {
			*ret = pw->pw_uid;
			return 0;
		}
	} else {
		struct group *gr = getgrnam(v);

		if (gr) {
			*ret = gr->gr_gid;
			return 0;
		}
	}
	cli_error("mount: -o %s=%s: not a number or a known %s", what, v, user ? "user" : "group");
	return -1;
}

static int parse_one(struct mount_opts *o, const char *opt)
{
	const char *eq = strchr(opt, '=');

	if (strcmp(opt, "ro") == 0) {
		o->read_only = true;
	} else if (strcmp(opt, "rw") == 0) {
		o->read_only = false;
	} else if (strcmp(opt, "append_only") == 0) {
		o->append_only = true;
	} else if (strcmp(opt, "allow_other") == 0) {
		o->allow_other = true;
	} else if (strcmp(opt, "allow_root") == 0) {
		o->allow_root = true;
	} else if (strcmp(opt, "default_permissions") == 0) {
		/* always on: the kernel checks mode bits */
	} else if (strcmp(opt, "relatime") == 0 || strcmp(opt, "nodiratime") == 0 ||
		   strcmp(opt, "atime") == 0) {
		/* Reads never change atime on a FUSE mount without writeback caching (the kernel
		 * marks its inodes S_NOATIME, and the mount does not set it): every mount is
		 * noatime, which these allow. docs/SEMANTICS.md says so. */
		return add_kernel_opt(o, "noatime");
	} else if (strcmp(opt, "strictatime") == 0 || strcmp(opt, "suid") == 0 ||
		   strcmp(opt, "dev") == 0) {
		cli_error("mount: -o %s is not supported: %s", opt,
			  strcmp(opt, "strictatime") == 0
				  ? "reads do not update atime on this mount (it is noatime)"
				  : "the mount is always nosuid,nodev (fusermount3 mounts it so)");
		return -1;
	} else if (eq && strncmp(opt, "uid=", 4) == 0) {
		o->force_uid = true;
		return parse_id("uid", eq + 1, true, &o->uid);
	} else if (eq && strncmp(opt, "gid=", 4) == 0) {
		o->force_gid = true;
		return parse_id("gid", eq + 1, false, &o->gid);
	} else if (eq && strncmp(opt, "umask=", 6) == 0) {
		char *end;
		unsigned long m;

		errno = 0;
		m = strtoul(eq + 1, &end, 8);
		if (!eq[1] || *end || errno || m > 07777) {
			cli_error("mount: -o %s: umask takes an octal mode, at most 7777", opt);
			return -1;
		}
		o->umask = (uint32_t)m;
	} else {
		for (size_t i = 0; i < sizeof(kernel_opts) / sizeof(kernel_opts[0]); i++)
			if (strcmp(opt, kernel_opts[i]) == 0)
				return add_kernel_opt(o, opt);
		cli_error("mount: unknown option -o %s (known: " KNOWN_OPTS ")", opt);
		return -1;
	}
	return 0;
}

/* -o takes a comma list, as mount(8) writes it. Returns 0, or -1 naming what is unknown. */
static int parse_o(struct mount_opts *o, const char *list)
{
	char buf[1024], *save = NULL;

	if (strlen(list) >= sizeof(buf)) {
		cli_error("mount: -o list too long");
		return -1;
	}
	memcpy(buf, list, strlen(list) + 1);
	if (!buf[0]) {
		cli_error("mount: -o needs options (known: " KNOWN_OPTS ")");
		return -1;
	}
	for (char *opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (parse_one(o, opt) < 0)
			return -1;
	return 0;
}

/* True when /etc/fuse.conf has a line user_allow_other (what fusermount3 checks). */
static bool user_allow_other(void)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen("/etc/fuse.conf", "re");

	if (!f)
		return false;
	while (!yes && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");

		p[strcspn(p, " \t\r\n#")] = '\0';
		yes = strcmp(p, "user_allow_other") == 0;
	}
	fclose(f);
	return yes;
}

/* The options that decide who may use the mount, checked before anything starts. */
static int check_access_opts(struct mount_opts *o)
{
	if (o->allow_other && o->allow_root) {
		cli_error("mount: -o allow_other and allow_root exclude each other: allow_other "
			  "lets every user in, allow_root only root besides you");
		return -1;
	}
	if ((o->allow_other || o->allow_root) && geteuid() != 0 && !user_allow_other()) {
		cli_error("mount: -o %s needs the line user_allow_other in /etc/fuse.conf when "
			  "the mount is not made by root (fusermount3 refuses it otherwise); add "
			  "it as root, or mount as root",
			  o->allow_other ? "allow_other" : "allow_root");
		return -1;
	}
	if (o->allow_other && add_kernel_opt(o, "allow_other") < 0)
		return -1;
	if (o->allow_root && add_kernel_opt(o, "allow_root") < 0)
		return -1;
	return 0;
}

/* mkdir -p for the mountpoint; then it must be an empty directory. */
static int prepare_mountpoint(const char *path, char *resolved)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int r = node_data_dir_create(path);

	if (r < 0 && r != -EEXIST) {
		cli_error("mount: cannot create %s: %s", path, strerror(-r));
		return -1;
	}
	if (!realpath(path, resolved) || stat(resolved, &st) < 0) {
		cli_error("mount: %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("mount: %s is not a directory", path);
		return -1;
	}
	d = opendir(resolved);
	if (!d) {
		cli_error("mount: %s: %s", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			cli_error("mount: %s is not empty; mount on an empty directory", path);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static int check_fuse(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		cli_error("mount: cannot open /dev/fuse: %s. FUSE is not available on this machine "
			  "(on Debian: apt-get install fuse3; in a container, pass /dev/fuse in)",
			  strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The snapshot o->snapshot names (an id or a name in the volume's registry), loaded. */
static int load_snapshot(const struct mount_opts *o, struct node *n, struct fs_snap *ret, char *msg,
			 size_t size)
{
	uint8_t volume[NODE_STREAM_ID_SIZE];
	uint64_t id = 0;
	int r;

	fs_volume_stream(o->volume ? o->volume : "default", volume);
	r = fs_snap_resolve(n, volume, o->snapshot, &id);
	if (r == 0)
		r = fs_snap_load(n, id, ret);
	if (r == -ENOENT)
		snprintf(msg, size, "no snapshot %s of volume %s (see 'zgfs snapshot ls')\n",
			 o->snapshot, o->volume ? o->volume : "default");
	else if (r < 0)
		snprintf(msg, size, "cannot load snapshot %s: %s\n", o->snapshot,
			 r == -EBADMSG ? "its entries do not make its root" : node_strerror(r));
	return r < 0 ? -1 : 0;
}

/* The daemon's work: open the node, serve RPC, run the mount. Reports on ready_fd. */
static int serve(const struct mount_opts *o, const char *dir, int ready_fd)
{
	struct node_rpc *rpc = NULL;
	struct node *n = NULL;
	struct fs_snap snap = {0};
	char url[256], murl[64], msg[512];
	const char *node_url = o->node_url, *metrics_url = NULL;
	bool named = false;
	int r;

	if (o->node_url) {
		r = node_open_remote(o->node_url, &n);
	} else {
		r = node_open_local(&(struct node_config){.data_dir = dir,
							  .chain = o->chain,
							  .evm_key_hex = getenv("ZGFS_KEY"),
							  .evm_key_file = o->key_file,
							  .verify_reads = o->verify,
							  .pora = o->pora.set ? &o->pora.params : NULL,
							  .pora_donate = o->pora.donate},
				    &n);
	}
	/* A snapshot is read-only: beside the mount that holds the data directory, it reads
	 * through that mount's node. */
	if (r == -EBUSY && o->snapshot && cli_running_url(dir, url, sizeof(url)) == 0) {
		r = node_open_remote(url, &n);
		node_url = url;
	}
	if (r < 0) {
		if (r == -EBUSY)
			snprintf(msg, sizeof(msg),
				 "%s is in use by a running node or mount; stop it, or mount it with "
				 "--node URL\n",
				 dir);
		else
			snprintf(msg, sizeof(msg), "cannot open the node%s%s: %s\n",
				 o->node_url ? " at " : " in ", o->node_url ? o->node_url : dir,
				 cli_why(r));
		if (ready_fd >= 0 && write(ready_fd, msg, strlen(msg)) < 0)
			r = -EIO;
		return 1;
	}
	if (o->snapshot && load_snapshot(o, n, &snap, msg, sizeof(msg)) < 0) {
		if (ready_fd >= 0 && write(ready_fd, msg, strlen(msg)) < 0)
			r = -EIO;
		node_close(n);
		return 1;
	}
	/* A loopback listener for the mount's metrics, and for commands on its paths: the
	 * node's RPC when the node is in this process (named in DIR for commands that find
	 * DIR held), else a relay to the remote node beside the metrics. */
	if (node_rpc_start(n, "127.0.0.1", 0, &rpc) == 0) {
		snprintf(murl, sizeof(murl), "http://127.0.0.1:%u", node_rpc_port(rpc));
		metrics_url = murl;
		node_rpc_set_metrics(rpc, fs_metrics_text, NULL);
		if (!o->node_url && node_local_store(n)) {
			node_url = murl;
			cli_running_url_set(dir, murl);
			named = true;
		}
	}
	r = fs_main(&(struct fs_config){.mountpoint = o->mountpoint,
					.node = n,
					.volume = o->volume,
					.read_only = o->read_only,
					.verify = o->verify,
					.ready_fd = ready_fd,
					.node_url = node_url,
					.metrics_url = metrics_url,
					.append_only = o->append_only,
					.writeback = o->writeback,
					.fuse_opts = o->fuse_opts[0] ? o->fuse_opts : NULL,
					.uid = o->uid,
					.gid = o->gid,
					.force_uid = o->force_uid,
					.force_gid = o->force_gid,
					.umask = o->umask,
					.prune_keep = o->prune_keep,
					.prune_interval_ms = o->prune_interval_ms,
					.snapshot = o->snapshot ? &snap : NULL});
	fs_snap_release(&snap);
	if (named)
		cli_running_url_set(dir, NULL);
	node_rpc_stop(rpc);
	node_close(n);
	return r < 0 ? 1 : 0;
}

/* The options, also what a config file may set ([mount] of docs/CONFIG.md). */
const struct option cli_mount_options[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"node", required_argument, NULL, OPT_NODE},
    {"verify", required_argument, NULL, OPT_VERIFY},
    {"volume", required_argument, NULL, OPT_VOLUME},
    {"foreground", no_argument, NULL, 'f'},
    {"chain", required_argument, NULL, OPT_CHAIN},
    {"key", required_argument, NULL, OPT_KEY},
    {"writeback", no_argument, NULL, OPT_WRITEBACK},
    CLI_PORA_OPTIONS,
    {"prune-keep", required_argument, NULL, OPT_PRUNE_KEEP},
    {"prune-interval", required_argument, NULL, OPT_PRUNE_INTERVAL},
    {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
    {NULL, 0, NULL, 0},
};

int cmd_mount(int argc, char **argv)
{
	struct mount_opts o = {.verify = true, .pora = CLI_PORA_INIT, .prune_interval_ms = 600000};
	unsigned long long num;
	char dir[PATH_MAX], log[PATH_MAX + 16], msg[512];
	int c, pipefd[2];
	pid_t pid;
	ssize_t got;

	if (cli_config_apply("mount", cli_mount_options, &argc, &argv) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fo:", cli_mount_options, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.foreground = true;
			break;
		case 'o':
			if (parse_o(&o, optarg) < 0)
				return 2;
			break;
		case OPT_WRITEBACK:
			o.writeback = true;
			break;
		case OPT_PRUNE_KEEP:
			if (cli_parse_u64(optarg, &num) < 0 || num == 0) {
				cli_error("mount: --prune-keep takes a number of versions to keep, at "
					  "least 1");
				return 2;
			}
			o.prune_keep = num;
			break;
		case OPT_PRUNE_INTERVAL:
			if (cli_parse_u64(optarg, &num) < 0 || num == 0 || num > 86400 * 7) {
				cli_error("mount: --prune-interval takes seconds, 1 to 604800");
				return 2;
			}
			o.prune_interval_ms = (unsigned)num * 1000;
			break;
		case OPT_DATA:
			o.data = optarg;
			break;
		case OPT_NODE:
			o.node_url = optarg;
			break;
		case OPT_VOLUME:
			o.volume = optarg;
			break;
		case OPT_SNAPSHOT:
			o.snapshot = optarg;
			break;
		case OPT_CHAIN:
			o.chain = optarg;
			break;
		case OPT_KEY:
			o.key_file = optarg;
			break;
		case OPT_VERIFY:
			if (strcmp(optarg, "always") == 0) {
				o.verify = true;
			} else if (strcmp(optarg, "never") == 0) {
				o.verify = false;
			} else {
				cli_error("mount: --verify takes always or never");
				return 2;
			}
			break;
		default:
			if (cli_pora_option(&o.pora, c, optarg) == 0)
				break;
			cli_usage(stderr, "mount");
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli_usage(stderr, "mount");
		return 2;
	}
	if (check_access_opts(&o) < 0)
		return 2;
	if (o.prune_keep && o.node_url) {
		cli_error("mount: --prune-keep frees the disk of a node in this process; with --node "
			  "URL it is not supported");
		return 2;
	}
	if (o.node_url && (o.data || o.chain || o.key_file)) {
		cli_error("mount: with --node URL the node settles; --data, --chain and --key are "
			  "for a node in this process");
		return 2;
	}
	if (!o.node_url && cli_data_dir(o.data, dir, sizeof(dir)) < 0) {
		cli_error("mount: no data directory: give --data DIR or set ZGFS_DATA");
		return 2;
	}
	if (check_fuse() < 0 || prepare_mountpoint(argv[optind], o.mountpoint) < 0)
		return 1;
	if (o.foreground)
		return serve(&o, dir, -1);

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		cli_error("mount: %s", strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_error("mount: cannot start the daemon: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC), logfd = -1;

		close(pipefd[0]);
		setsid();
		if (!o.node_url && node_data_dir_create(dir) == 0) {
			snprintf(log, sizeof(log), "%s/mount.log", dir);
			logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		}
		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
		}
		dup2(logfd >= 0 ? logfd : nul, STDERR_FILENO);
		_exit(serve(&o, dir, pipefd[1]));
	}
	close(pipefd[1]);
	got = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	if (got > 0 && strncmp(msg, "ok\n", 3) == 0)
		return 0;
	msg[got > 0 ? got : 0] = '\0';
	if (got <= 0) {
		int status;

		waitpid(pid, &status, 0);
		cli_error("mount: the daemon stopped before the mount was ready%s%s",
			  o.node_url ? "" : "; see ", o.node_url ? "" : log);
	} else {
		msg[strcspn(msg, "\n")] = '\0';
		cli_error("mount: %s", msg);
		waitpid(pid, NULL, 0);
	}
	return 1;
}

/* True while pid runs: a zombie (exited, not yet reaped by its parent) has finished. */
static bool running(pid_t pid)
{
	char path[64], stat[256], *paren;
	FILE *f;
	size_t n;

	if (kill(pid, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

int cmd_umount(int argc, char **argv)
{
	char *pid_text;
	pid_t pid = 0;
	int status;

	if (argc != 2) {
		cli_usage(stderr, "umount");
		return 2;
	}
	pid_text = cli_get_attr(argv[1], "user.zg.pid");
	if (!pid_text) {
		cli_error("umount: %s is not a zgfs mount (%s)", argv[1], strerror(errno));
		return 1;
	}
	pid = (pid_t)atol(pid_text);
	free(pid_text);
	pid_t child = fork();

	if (child == 0) {
		execlp("fusermount3", "fusermount3", "-u", argv[1], (char *)NULL);
		_exit(127);
	}
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		if (umount2(argv[1], 0) < 0) {
			cli_error("umount: cannot unmount %s: %s", argv[1], strerror(errno));
			return 1;
		}
	}
	/* The daemon settles and closes the node after the kernel lets go: wait for it. */
	for (int i = 0; pid > 0 && i < 600 && running(pid); i++)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	if (pid > 0 && running(pid)) {
		cli_error("umount: %s is unmounted, but its daemon (pid %ld) is still closing its "
			  "node after 30 s",
			  argv[1], (long)pid);
		return 1;
	}
	return 0;
}

struct list_ctx {
	struct node *n;
	struct fs_entry_cache *cache;
	uint64_t count, skip;
	bool json, first;
};

static int count_one(void *ctx, uint64_t seq, const struct fs_record *rec)
{
	((struct list_ctx *)ctx)->count++;
	return 0;
}

static int print_one(void *ctx, uint64_t seq, const struct fs_record *rec)
{
	struct list_ctx *c = ctx;
	bool pruned = false;
	char hex[67];

	if (c->skip) {
		c->skip--;
		return 0;
	}
	fs_version_root(c->n, c->cache, rec, hex);
	/* A version of one whole entry gets its root from the chain, readable or not: say
	 * when its bytes were pruned here (others fail to hash and print "pruned"). */
	if (hex[0] == '0' && rec->nextents == 1 && fs_version_pruned(c->n, rec))
		pruned = true;
	if (c->json)
		printf("%s\n  {\"seq\": %llu, \"size\": %llu, \"root\": %s%s%s, \"mtime\": %lld, "
		       "\"pruned\": %s}",
		       c->first ? "" : ",", (unsigned long long)seq,
		       (unsigned long long)rec->size, rec->size && hex[0] != 'p' ? "\"" : "",
		       rec->size && hex[0] != 'p' ? hex : "null",
		       rec->size && hex[0] != 'p' ? "\"" : "", (long long)rec->mtime_sec,
		       pruned || hex[0] == 'p' ? "true" : "false");
	else
		printf("%llu %llu %s%s\n", (unsigned long long)seq, (unsigned long long)rec->size,
		       hex, pruned ? " pruned" : "");
	c->first = false;
	return ferror(stdout) ? -EIO : 0;
}

int cmd_versions(int argc, char **argv)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	uint8_t stream[NODE_STREAM_ID_SIZE];
	struct list_ctx lc = {.first = true};
	unsigned long long limit = 0;
	uint64_t ino;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_JSON) {
			lc.json = true;
		} else if (c != OPT_LIMIT || cli_parse_u64(optarg, &limit) < 0 || limit == 0) {
			cli_usage(stderr, "versions");
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli_usage(stderr, "versions");
		return 2;
	}
	if (cli_open_path("versions", argv[optind], &lc.n, stream, &ino) < 0)
		return 1;
	lc.cache = calloc(1, sizeof(*lc.cache));
	if (!lc.cache) {
		node_close(lc.n);
		cli_error("versions: %s", strerror(ENOMEM));
		return 1;
	}
	/* With --limit, the newest N: count them first, then print from there. */
	r = limit ? fs_versions(lc.n, stream, ino, count_one, &lc) : 0;
	if (r == 0 && limit && lc.count > limit)
		lc.skip = lc.count - limit;
	if (r == 0 && lc.json)
		fputs("[", stdout);
	if (r == 0)
		r = fs_versions(lc.n, stream, ino, print_one, &lc);
	if (r == 0 && lc.json)
		fputs(lc.first ? "]\n" : "\n]\n", stdout);
	fs_entry_cache_release(lc.cache);
	free(lc.cache);
	node_close(lc.n);
	if (r < 0) {
		cli_error("versions: %s: %s", argv[optind], node_strerror(r));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

struct find_ctx {
	uint64_t want;
	struct fs_record rec;
	bool found;
};

static int find_one(void *ctx, uint64_t seq, const struct fs_record *rec)
{
	struct find_ctx *c = ctx;
	struct fs_extent *ext;

	if (seq != c->want)
		return 0;
	ext = malloc((rec->nextents + 1) * sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	if (rec->nextents)
		memcpy(ext, rec->extents, rec->nextents * sizeof(*ext));
	c->rec = *rec;
	c->rec.extents = ext;
	c->rec.target = NULL;
	c->rec.target_len = 0;
	c->found = true;
	return 1;
}

/* Writes version `version` of path to fd. Returns 0 or 1 after saying why. */
static int write_version(const char *cmd, const char *path, uint64_t version, int fd)
{
	uint8_t stream[NODE_STREAM_ID_SIZE], *buf = NULL;
	struct find_ctx fc = {.want = version};
	struct node *n = NULL;
	uint64_t ino;
	int r, status = 1;

	if (cli_open_path(cmd, path, &n, stream, &ino) < 0)
		return 1;
	/* SEQ must be one of the file's versions, not any point in time. */
	r = fs_versions(n, stream, ino, find_one, &fc);
	if (r >= 0 && !fc.found) {
		cli_error("%s: %s has no version %llu (see 'zgfs versions %s')", cmd, path,
			  (unsigned long long)version, path);
		goto out;
	}
	if (r < 0) {
		cli_error("%s: %s: %s", cmd, path, node_strerror(r));
		goto out;
	}
	buf = malloc(1 << 20);
	for (uint64_t off = 0; buf && off < fc.rec.size;) {
		uint64_t failed = 0;
		ssize_t got = fs_read_extents(n, fc.rec.extents, fc.rec.nextents, off, buf, 1 << 20,
					      &failed);

		if (got < 0 && fs_version_pruned(n, &fc.rec)) {
			struct node_file_info fi;
			char hex[67] = "?";

			if (node_file_info_by_seq(n, failed, &fi) == 0)
				codec_hex_encode(fi.entry.root, 32, hex);
			cli_error("%s: %s: this version was pruned locally (zgfs prune): entry %llu, "
				  "root %s, is still settled on chain but its bytes are not here (%s)",
				  cmd, path, (unsigned long long)failed, hex, strerror(ENODATA));
			goto out;
		}
		if (got <= 0) {
			cli_error("%s: %s: %s", cmd, path, node_strerror(got < 0 ? (int)got : -EIO));
			goto out;
		}
		for (ssize_t w = 0; w < got;) {
			ssize_t k = write(fd, buf + w, (size_t)(got - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				cli_error("%s: %s", cmd, strerror(errno));
				goto out;
			}
			w += k;
		}
		off += (uint64_t)got;
	}
	status = buf ? 0 : 1;
out:
	free(buf);
	fs_record_release(&fc.rec);
	node_close(n);
	return status;
}

static int parse_version_opt(int argc, char **argv, const char *cmd, uint64_t *ret)
{
	static const struct option opts[] = {
		{"version", required_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	unsigned long long version = 0;
	bool have = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != OPT_VERSION || cli_parse_u64(optarg, &version) < 0) {
			cli_usage(stderr, cmd);
			return -1;
		}
		have = true;
	}
	if (argc - optind != 1) {
		cli_usage(stderr, cmd);
		return -1;
	}
	*ret = have ? version : UINT64_MAX;
	return 0;
}

int cmd_cat(int argc, char **argv)
{
	uint64_t version;

	if (parse_version_opt(argc, argv, "cat", &version) < 0)
		return 2;
	if (version == UINT64_MAX) {
		/* The current version is the file itself. */
		execlp("cat", "cat", "--", argv[optind], (char *)NULL);
		cli_error("cat: %s", strerror(errno));
		return 1;
	}
	return write_version("cat", argv[optind], version, STDOUT_FILENO);
}

/*
 * zgfs restore PATH --version SEQ: the old version's bytes are read (verified) into a
 * temporary file first, then written over PATH through the mount, so the restored content
 * is a new version and a failed read leaves PATH as it was.
 */
int cmd_restore(int argc, char **argv)
{
	char tmpl[] = "/tmp/zgfs-restore-XXXXXX", buf[1 << 16];
	uint64_t version = 0;
	int tmp, out = -1, status = 1;
	ssize_t got;

	if (parse_version_opt(argc, argv, "restore", &version) < 0 || version == UINT64_MAX) {
		if (version == UINT64_MAX)
			cli_usage(stderr, "restore");
		return 2;
	}
	tmp = mkstemp(tmpl);
	if (tmp < 0) {
		cli_error("restore: cannot make a temporary file: %s", strerror(errno));
		return 1;
	}
	unlink(tmpl);
	if (write_version("restore", argv[optind], version, tmp) != 0)
		goto out;
	out = open(argv[optind], O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (out < 0 || lseek(tmp, 0, SEEK_SET) < 0) {
		cli_error("restore: %s: %s", argv[optind], strerror(errno));
		goto out;
	}
	while ((got = read(tmp, buf, sizeof(buf))) > 0) {
		for (ssize_t w = 0; w < got;) {
			ssize_t k = write(out, buf + w, (size_t)(got - w));

			if (k < 0 && errno != EINTR) {
				cli_error("restore: %s: %s", argv[optind], strerror(errno));
				goto out;
			}
			w += k > 0 ? k : 0;
		}
	}
	if (got < 0 || fsync(out) < 0) {
		cli_error("restore: %s: %s", argv[optind], strerror(errno));
		goto out;
	}
	status = 0;
out:
	if (out >= 0 && close(out) < 0 && status == 0) {
		cli_error("restore: %s: %s", argv[optind], strerror(errno));
		status = 1;
	}
	close(tmp);
	return status;
}
