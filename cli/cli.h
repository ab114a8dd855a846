/*
 * cli.h - the zgfs command line: one binary, one function per command.
 *
 * Each command takes argc/argv starting at its own name, prints its results to stdout and
 * its errors to stderr as "zgfs: ...", and returns the process exit status (0 success,
 * 1 failure, 2 usage error).
 */
#ifndef ZGFS_CLI_H
#define ZGFS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis; /* one line, shown by zgfs --help */
	const char *usage;    /* full text, shown by zgfs COMMAND --help */
};

int cmd_root(int argc, char **argv);
int cmd_proof(int argc, char **argv);
int cmd_mount(int argc, char **argv);
/* Run as mount.fuse.zgfs (mount -t fuse.zgfs, /etc/fstab): cli/cmd_fstab.c. */
int cli_mount_helper(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_versions(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

/* The options of zgfs mount and zgfs node, for their config sections. */
#include <getopt.h>
extern const struct option cli_mount_options[];
extern const struct option cli_node_options[];

/*
 * cli_config_apply() - the config file's defaults for command ("mount" or "node"), taken
 * from --config FILE (removed from argv) or $XDG_CONFIG_HOME/zgfs/config (else
 * ~/.config/zgfs/config) when it exists, put before the command line's options in a new
 * argv. Returns 0 (argc and argv replaced when the file set something), or -1 after a
 * message naming the file and line.
 */
int cli_config_apply(const char *command, const struct option *opts, int *argc, char ***argv);

/* The 0G root and size of the file at path (hashed with every CPU): 0, or -1 after a
 * message (an empty file has no root: an error here). */
int cli_file_root(const char *path, uint8_t ret_root[32], uint64_t *ret_size);

/* A user.zg.* attribute of path, NUL-terminated, malloc'd; NULL with errno set. */
char *cli_get_attr(const char *path, const char *name);

/* The node (opened), volume stream and inode of a path on a mount (from user.zg.node and
 * user.zg.inode). cmd names the command in messages. Returns 0, or -1 after saying why. */
#include "node/node.h"
int cli_open_path(const char *cmd, const char *path, struct node **ret_node,
		  uint8_t stream[NODE_STREAM_ID_SIZE], uint64_t *ret_ino);

/* The node URL a mount's root names (user.zg.node) into buf: 0, or -1 with a message. */
int cli_mount_node_url(const char *mountpoint, char *buf, size_t size);
int cmd_health(int argc, char **argv);

/* How long zgfs upload --node waits for a cluster to keep an upload redundant. */
#define CLI_UPLOAD_REDUNDANT_S 120

/* Waits until the cluster of the node at url keeps entry tx_seq redundant (zgfs_health),
 * for at most timeout_s: 0 redundant (or the node keeps the whole flow), 1 not in time
 * (why says how far it got), -1 the node cannot tell (not a zgfs node, or unreachable). */
int cli_wait_redundant(const char *url, uint64_t tx_seq, unsigned timeout_s, char *why,
		       size_t why_size);
int cmd_kv(int argc, char **argv);
int cmd_chain(int argc, char **argv);
int cmd_mine(int argc, char **argv);
int cmd_da(int argc, char **argv);
int cmd_prune(int argc, char **argv);

struct node;

/* The data directory: --data, else $ZGFS_DATA, else ~/.local/share/zgfs. */
int cli_data_dir(const char *opt, char *buf, size_t size);

/* Opens the node a client command talks to: the one at url when given, else the node
 * in this process on the data directory. Prints its own error; returns 0 or -1. */
int cli_open_node(const char *url, const char *data_dir, struct node **ret_node);

/* The file in a data directory where a running mount or node names its RPC URL. */
#define CLI_RUNNING_URL "rpc.url"

/* The URL of the mount or node running on data directory dir, into buf: 0 or -errno. */
int cli_running_url(const char *dir, char *buf, size_t size);

/* Names url in data directory dir (CLI_RUNNING_URL), so that commands reach the node of
 * the mount or node holding it; NULL removes the name. Best effort: without it they say
 * the directory is in use. */
void cli_running_url_set(const char *dir, const char *url);

/* cli_open_node(), except that a data directory held by a running mount is reached
 * through that mount's RPC listener (CLI_RUNNING_URL), and one that does not exist is an
 * error (nothing is created). */
int cli_open_node_any(const char *url, const char *data_dir, struct node **ret_node);

/* A progress line on stderr, only when stderr is a terminal: bytes done of total
 * (0 = unknown), rate and time left; redrawn at most ten times a second. */
struct cli_progress {
	const char *what;
	const char *unit; /* counting these (cli_progress_count), or NULL: bytes */
	unsigned long long total, done;
	double start, last;
	bool on;
};
void cli_progress_start(struct cli_progress *p, const char *what, unsigned long long total);
/* The same for things counted, not bytes: "what: 120 / 4000 blocks  900/s". */
void cli_progress_count(struct cli_progress *p, const char *what, const char *unit,
			unsigned long long total);
void cli_progress_add(struct cli_progress *p, unsigned long long n);
void cli_progress_end(struct cli_progress *p);

/* node_strerror(r), and what the chain said about it when it said something (a revert
 * reason, an endpoint that does not answer). The buffer is reused by the next call. */
const char *cli_why(int r);

/* Prints "zgfs: " and the message to stderr. */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);

/* True when argv holds -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);

/* Prints the command's usage to f. */
void cli_usage(FILE *f, const char *command);

/* Parses a decimal unsigned number with no sign, spaces or trailing text. 0 or -EINVAL. */
int cli_parse_u64(const char *s, unsigned long long *ret);

/* The mining parameters of a new ledger, options shared by zgfs node, mount and chain
 * deploy: --pora-difficulty N --epoch-blocks N --target-answers N --base-reward WEI
 * --donate WEI. */
#include "chain/chain.h"
enum {
	CLI_OPT_PORA_DIFFICULTY = 0x200,
	CLI_OPT_EPOCH_BLOCKS,
	CLI_OPT_TARGET_ANSWERS,
	CLI_OPT_BASE_REWARD,
	CLI_OPT_DONATE,
};
#define CLI_PORA_OPTIONS                                                                          \
	{"pora-difficulty", required_argument, NULL, CLI_OPT_PORA_DIFFICULTY},                    \
	    {"epoch-blocks", required_argument, NULL, CLI_OPT_EPOCH_BLOCKS},                      \
	    {"target-answers", required_argument, NULL, CLI_OPT_TARGET_ANSWERS},                  \
	    {"base-reward", required_argument, NULL, CLI_OPT_BASE_REWARD},                        \
	    {"donate", required_argument, NULL, CLI_OPT_DONATE}
/* Defaults: docs/PORA.md (0G's epoch and answer counts; a difficulty a laptop mines). */
#define CLI_PORA_INIT                                                                              \
	{                                                                                          \
		CHAIN_PORA_DEFAULTS, 0, false                                                      \
	}
struct cli_pora {
	struct chain_pora_params params;
	unsigned long long donate;
	bool set; /* one of the options was given */
};
/* Returns 0 when opt was one of them, -EINVAL (message printed) for a bad value, -ENOENT
 * for another option. */
int cli_pora_option(struct cli_pora *p, int opt, const char *arg);
/* One prune (fs_prune_run) of every volume the node in this process holds. */
struct fs_prune_policy;
struct fs_prune_stats;
int cli_prune_all(struct node *n, const struct fs_prune_policy *p, bool dry,
		  void (*each)(void *ctx, uint64_t tx_seq, uint64_t length),
		  struct fs_prune_stats *st);

#endif
