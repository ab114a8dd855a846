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
#include "node/key.h"
#include "node/node.h"
#include "node/rpc.h"

enum { OPT_DATA = 0x100, OPT_NODE, OPT_VERIFY, OPT_VOLUME, OPT_VERSION, OPT_CHAIN, OPT_KEY };

struct mount_opts {
	const char *data, *node_url, *volume, *chain, *key_file;
	bool foreground, read_only, verify;
	char mountpoint[PATH_MAX];
};

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

/* The daemon's work: open the node, serve RPC, run the mount. Reports on ready_fd. */
static int serve(const struct mount_opts *o, const char *dir, int ready_fd)
{
	struct node_rpc *rpc = NULL;
	struct node *n = NULL;
	char url[64], msg[512];
	const char *node_url = o->node_url;
	int r;

	if (o->node_url) {
		r = node_open_remote(o->node_url, &n);
	} else {
		r = node_open_local(&(struct node_config){.data_dir = dir,
							  .chain = o->chain,
							  .evm_key_hex = getenv("ZGFS_KEY"),
							  .evm_key_file = o->key_file,
							  .verify_reads = o->verify},
				    &n);
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
	if (!o->node_url && node_rpc_start(n, "127.0.0.1", 0, &rpc) == 0) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", node_rpc_port(rpc));
		node_url = url;
	}
	r = fs_main(&(struct fs_config){.mountpoint = o->mountpoint,
					.node = n,
					.volume = o->volume,
					.read_only = o->read_only,
					.verify = o->verify,
					.ready_fd = ready_fd,
					.node_url = node_url});
	node_rpc_stop(rpc);
	node_close(n);
	return r < 0 ? 1 : 0;
}

int cmd_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"node", required_argument, NULL, OPT_NODE},
		{"verify", required_argument, NULL, OPT_VERIFY},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"foreground", no_argument, NULL, 'f'},
		{"chain", required_argument, NULL, OPT_CHAIN},
		{"key", required_argument, NULL, OPT_KEY},
		{NULL, 0, NULL, 0},
	};
	struct mount_opts o = {.verify = true};
	char dir[PATH_MAX], log[PATH_MAX + 16], msg[512];
	int c, pipefd[2];
	pid_t pid;
	ssize_t got;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fo:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.foreground = true;
			break;
		case 'o':
			if (strcmp(optarg, "ro") == 0) {
				o.read_only = true;
			} else if (strcmp(optarg, "rw") != 0) {
				cli_error("mount: unknown option -o %s (known: ro, rw)", optarg);
				return 2;
			}
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
			cli_usage(stderr, "mount");
			return 2;
		}
	}
	if (argc - optind != 1) {
		cli_usage(stderr, "mount");
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

/* A user.zg.* attribute of path, NUL-terminated, malloc'd; NULL with errno set. */
static char *get_attr(const char *path, const char *name)
{
	ssize_t len = getxattr(path, name, NULL, 0);
	char *buf;

	if (len < 0)
		return NULL;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return NULL;
	len = getxattr(path, name, buf, (size_t)len);
	if (len < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
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
	pid_text = get_attr(argv[1], "user.zg.pid");
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

int cmd_versions(int argc, char **argv)
{
	char *text;

	if (argc != 2) {
		cli_usage(stderr, "versions");
		return 2;
	}
	text = get_attr(argv[1], "user.zg.versions");
	if (!text) {
		cli_error("versions: %s: %s", argv[1],
			  errno == ENODATA || errno == ENOTSUP ? "not a file on a zgfs mount"
							       : strerror(errno));
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

struct version_ctx {
	uint64_t want;
	bool found;
};

static int is_version(void *ctx, uint64_t version, uint64_t size)
{
	struct version_ctx *c = ctx;

	if (version == c->want)
		c->found = true;
	return c->found;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option opts[] = {
		{"version", required_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	unsigned long long version = 0;
	bool have_version = false;
	char *url = NULL, *inode = NULL, *sp;
	uint8_t stream[NODE_STREAM_ID_SIZE], key[FS_KEY_MAX], *buf = NULL;
	struct node_value v = {0};
	struct fs_record rec = {0};
	struct node *n = NULL;
	struct version_ctx vc = {0};
	size_t klen;
	int c, r, status = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != OPT_VERSION || cli_parse_u64(optarg, &version) < 0) {
			cli_usage(stderr, "cat");
			return 2;
		}
		have_version = true;
	}
	if (argc - optind != 1) {
		cli_usage(stderr, "cat");
		return 2;
	}
	if (!have_version) {
		/* The current version is the file itself. */
		execlp("cat", "cat", "--", argv[optind], (char *)NULL);
		cli_error("cat: %s", strerror(errno));
		return 1;
	}
	url = get_attr(argv[optind], "user.zg.node");
	inode = get_attr(argv[optind], "user.zg.inode");
	if (!url || !inode) {
		cli_error("cat: %s is not a file on a zgfs mount", argv[optind]);
		goto out;
	}
	sp = strchr(inode, ' ');
	if (!sp || (*sp = '\0', codec_hex_decode(inode, stream, sizeof(stream)) < 0)) {
		cli_error("cat: %s: unexpected user.zg.inode", argv[optind]);
		goto out;
	}
	if (cli_open_node(url, NULL, &n) < 0)
		goto out;
	klen = fs_key_inode(key, strtoull(sp + 1, NULL, 10));
	/* SEQ must be a version the file's record has, not any point in time. */
	vc.want = version;
	r = node_kv_versions(n, stream, key, klen, is_version, &vc);
	if (r > 0)
		r = 0; /* the walk stopped at the version */
	if (r == 0 && !vc.found)
		r = -ENOENT;
	if (r == 0)
		r = node_kv_read_at(n, stream, key, klen, version, &v);
	if (r == 0 && (v.len == 0 || fs_record_decode(v.data, v.len, &rec) < 0))
		r = -ENOENT;
	if (r < 0) {
		cli_error("cat: %s has no version %llu (see 'zgfs versions %s')", argv[optind],
			  version, argv[optind]);
		goto out;
	}
	buf = malloc(1 << 20);
	for (uint64_t off = 0; buf && off < rec.size;) {
		ssize_t got =
			fs_read_extents(n, rec.extents, rec.nextents, off, buf, 1 << 20, NULL);

		if (got <= 0) {
			cli_error("cat: %s: %s", argv[optind],
				  node_strerror(got < 0 ? (int)got : -EIO));
			goto out;
		}
		if (fwrite(buf, 1, (size_t)got, stdout) != (size_t)got) {
			cli_error("cat: standard output: %s", strerror(errno));
			goto out;
		}
		off += (uint64_t)got;
	}
	status = buf ? 0 : 1;
out:
	free(buf);
	fs_record_release(&rec);
	free(v.data);
	node_close(n);
	free(url);
	free(inode);
	return status;
}
