/*
 * zgfs - a POSIX filesystem over 0G-style decentralized storage. This file dispatches to
 * the commands and prints help; the commands live in cmd_*.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
    {"mount", cmd_mount, "mount a volume on a directory",
     "usage: zgfs mount [-f] [--data DIR | --node URL[,URL]...] [--verify=always|never]\n"
     "                  [-o OPTS] [--writeback] [--volume NAME] [--chain local|URL]\n"
     "                  [--key FILE] [--prune-keep N [--prune-interval SECONDS]]\n"
     "                  [--snapshot ID] [--config FILE] MOUNTPOINT\n"
     "\n"
     "Defaults for these options come from [mount] of --config FILE, else of\n"
     "$XDG_CONFIG_HOME/zgfs/config (~/.config/zgfs/config); docs/CONFIG.md.\n"
     "\n"
     "Mounts the volume (default \"default\") kept by the node in DIR (default\n"
     "$ZGFS_DATA, else ~/.local/share/zgfs), or by the running node at URL, on\n"
     "MOUNTPOINT, creating it if missing (it must be empty). Several URLs of one\n"
     "cluster are entry points used in turn when one stops answering; reads fetch\n"
     "each segment from a node of its shard. Returns once the mount\n"
     "is ready; the daemon logs to DIR/mount.log. With -f it stays in the foreground\n"
     "and logs to standard error until unmounted.\n"
     "\n"
     "  --verify=always  check every byte read against its Merkle root (default)\n"
     "  --verify=never   trust the local disk (faster; see docs/SEMANTICS.md)\n"
     "  -o OPT[,OPT...]  a comma list of:\n"
     "      ro, rw            read-only, or read-write (the default)\n"
     "      append_only       every file as if chattr +a\n"
     "      allow_other       let every user use the mount (not only its owner); when\n"
     "                        not mounting as root, /etc/fuse.conf needs user_allow_other\n"
     "      allow_root        the owner and root only (the same condition)\n"
     "      default_permissions  accepted; always on: the kernel checks mode bits\n"
     "      uid=N, gid=N      stat reports N (a number or a name) as every owner/group\n"
     "      umask=OCTAL       stat leaves these bits out of every mode\n"
     "      noatime, relatime, nodiratime, atime\n"
     "                        reads never update atime here: each means noatime\n"
     "      nosuid, nodev, noexec, exec, sync, async, dirsync\n"
     "                        passed to the kernel as mount(8) documents them; the mount\n"
     "                        is always nosuid,nodev (suid and dev are refused), and\n"
     "                        every change is settled before its reply (as sync)\n"
     "  --writeback      close() returns once the bytes are staged; they are settled\n"
     "                   by fsync, unmount, or within a second (docs/SEMANTICS.md)\n"
     "  --chain, --key   settle on an EVM chain, as for zgfs node\n"
     "  --pora-difficulty N, --epoch-blocks N, --target-answers N, --base-reward WEI,\n"
     "  --donate WEI     PoRA parameters of an embedded ledger that has none, as for\n"
     "                   zgfs node\n"
     "  --prune-keep N   while mounted, prune (see zgfs prune) to the N newest versions\n"
     "                   of each file every --prune-interval seconds (default 600)\n"
     "  --snapshot ID    mount snapshot ID (an id or a name; see zgfs snapshot) of the\n"
     "                   volume instead, read-only: the tree exactly as it was. Beside\n"
     "                   a mount holding DIR, it reads through that mount's node\n"},
    {"snapshot", cmd_snapshot, "pin a directory tree by one root; list, verify, prove",
     "usage: zgfs snapshot create PATH [--name NAME]\n"
     "       zgfs snapshot ls [WHERE] [--json]\n"
     "       zgfs snapshot show ID [WHERE]\n"
     "       zgfs snapshot verify ID [WHERE]\n"
     "       zgfs snapshot diff ID1 ID2 [WHERE]\n"
     "       zgfs snapshot prove ID PATH [WHERE]\n"
     "       zgfs snapshot check ROOT PATH FILE PROOF\n"
     "\n"
     "A snapshot records a directory tree of a mount as it stands now (every change\n"
     "settled up to this moment): each entry's path, type, mode, size and 0G root,\n"
     "committed by one Merkle root, and kept as a log entry whose tx seq is its ID.\n"
     "The files stay readable as they were whatever changes later (zgfs prune keeps\n"
     "them). docs/SNAPSHOTS.md has the formats.\n"
     "\n"
     "  create PATH   snapshot the directory PATH (on a zgfs mount); prints\n"
     "                \"snapshot ID root 0x<64 hex>\"\n"
     "  --name NAME   a name to use instead of the ID (unique in the volume)\n"
     "  ls            the volume's snapshots: ID, name, root, entries, bytes, when, source\n"
     "  show ID       every entry: type, mode, size, root, path\n"
     "  verify ID     re-read every file (verified against its entry's root), recompute\n"
     "                every entry and the snapshot root; exit 1 naming what differs\n"
     "  diff A B      paths added (A), deleted (D) or changed (M) from A to B\n"
     "  prove ID P    a JSON proof that path P (\"/a/b\", from the snapshot's top) is in\n"
     "                the snapshot, or that it is not\n"
     "  check ROOT P FILE PROOF\n"
     "                offline: exit 0 when PROOF shows FILE's bytes at P in the snapshot\n"
     "                with root ROOT, 1 when it shows P absent or FILE different, 2 when\n"
     "                it is no valid proof for ROOT and P\n"
     "\n"
     "WHERE is --mount PATH (a path on a zgfs mount of the volume), --node URL, or\n"
     "--data DIR (default $ZGFS_DATA; held by a running mount, through that mount),\n"
     "with --volume NAME (default \"default\"). ID is a snapshot's id or name.\n"},
    {"prune", cmd_prune, "give back the disk space of versions no policy keeps",
     "usage: zgfs prune [--data DIR] [--keep N] [--keep-since DURATION] [--dry-run]\n"
     "\n"
     "Drops this machine's copy of the log entries that versions of files reference\n"
     "and no kept version needs; the entries stay settled on chain. Kept: the N newest\n"
     "versions of each file (its history across rename-replace; the current one\n"
     "always) with --keep N, and every version changed within DURATION (N, Ns, Nm, Nh,\n"
     "Nd, Nw) with --keep-since; a file with no name left keeps only what --keep-since\n"
     "keeps. Without either, every version is kept and nothing is dropped. KV\n"
     "transactions and entries no file referenced (zgfs upload) are never dropped.\n"
     "A pruned version reads as an error (ENODATA) and zgfs versions shows it as\n"
     "pruned. Safe to kill at any point. Runs on the data directory DIR (default\n"
     "$ZGFS_DATA): stop the mount or node using it first.\n"
     "\n"
     "  --dry-run  list what would be dropped; change nothing\n"},
    {"umount", cmd_umount, "unmount a zgfs mount",
     "usage: zgfs umount MOUNTPOINT\n"
     "\n"
     "Unmounts and waits until the daemon has closed its node.\n"},
    {"versions", cmd_versions, "list the versions of a file on a mount",
     "usage: zgfs versions [--limit N] [--json] PATH\n"
     "\n"
     "Prints one line per version of the file, oldest first: the KV tx seq that made it,\n"
     "its size and its 0G root (- when empty). The history follows the name: a file\n"
     "renamed over PATH continues the history of the file it replaced.\n"
     "\n"
     "  --limit N  only the N newest versions\n"
     "  --json     a JSON array of {seq, size, root, mtime}\n"},
    {"cat", cmd_cat, "print a file, or an old version of it",
     "usage: zgfs cat PATH --version SEQ\n"
     "\n"
     "Prints the version of the file made by KV tx seq SEQ (see zgfs versions).\n"},
    {"restore", cmd_restore, "make an old version of a file the current one",
     "usage: zgfs restore PATH --version SEQ\n"
     "\n"
     "Writes version SEQ (see zgfs versions) over PATH through the mount: a new version\n"
     "with the old content; the versions in between stay readable.\n"},
    {"root", cmd_root, "print the 0G Merkle root of files",
     "usage: zgfs root [-j THREADS] [--json] FILE...\n"
     "\n"
     "Prints \"0x<64 hex>  FILE\" for each FILE, the root the 0G SDK computes for the\n"
     "same bytes. FILE - reads standard input. An empty file, a missing file or a\n"
     "directory is an error (exit 1); the other files are still printed.\n"
     "\n"
     "  -j, --threads N  hash with N threads (default: every online CPU)\n"
     "      --json       one JSON object per file: file, size, root, submission nodes\n"},
    {"proof", cmd_proof, "print the Merkle proof of one segment of a file",
     "usage: zgfs proof FILE SEGMENT\n"
     "\n"
     "Prints {\"root\", \"index\", \"proof\": {\"lemma\", \"path\"}} as JSON: the proof that\n"
     "segment SEGMENT (256 KiB each, counted from 0 over the padded file) belongs to\n"
     "the file's root, in the form 0G storage nodes and the SDK use.\n"},
    {"node", cmd_node, "run a storage node in the foreground",
     "usage: zgfs node [--data DIR] [--rpc HOST:PORT] [--chain local|URL] [--key FILE]\n"
     "                 [--mine [--miner-key FILE] [--mine-threads N]] [PoRA options]\n"
     "                 [--prune-keep N [--prune-interval SECONDS]]\n"
     "                 [--shard I/N] [--url PUBLIC_URL] [--peer URL]... [--config FILE]\n"
     "                 [--da [--da-stake WEI] [--da-max-blobs N]\n"
     "                       [--da-epoch SECONDS] [--da-sample-period SECONDS]]\n"
     "\n"
     "Defaults for these options come from [node] of --config FILE, else of\n"
     "$XDG_CONFIG_HOME/zgfs/config (~/.config/zgfs/config); docs/CONFIG.md.\n"
     "\n"
     "Runs the storage node on DIR (default $ZGFS_DATA, else ~/.local/share/zgfs),\n"
     "serving 0G's JSON-RPC methods on HOST:PORT (default 127.0.0.1:5678). Logs to\n"
     "standard error; SIGINT or SIGTERM stops it cleanly. On first start it creates\n"
     "DIR (mode 0700) and the node's ed25519 key DIR/node.key (mode 0600).\n"
     "\n"
     "  --chain local  settle on the embedded ledger in DIR (the default)\n"
     "  --chain URL    settle on the EVM chain at URL, with the contracts DIR/chain.json\n"
     "                 records (zgfs chain deploy); without --chain, DIR/chain.json\n"
     "                 decides. The node follows every sender's submissions.\n"
     "  --key FILE     the EVM signing key (hex, mode 0600); ZGFS_KEY (hex) wins. With\n"
     "                 neither, the node follows and serves but cannot settle.\n"
     "  --mine         run the PoRA miner (docs/PORA.md): register a miner id, seal\n"
     "                 and mine the stored flow, submit answers (embedded ledger)\n"
     "  --miner-key FILE  where the miner id is kept (default DIR/pora/miner.id)\n"
     "  --mine-threads N  mining threads (default 1)\n"
     "  --mine-tick-ms N  an idle embedded ledger gets a block every N ms (default 1000)\n"
     "  --pora-difficulty N, --epoch-blocks N, --target-answers N, --base-reward WEI,\n"
     "  --donate WEI   mining parameters of a new embedded ledger (defaults 1000000,\n"
     "                 1200, 5, 0, 0; --pora-difficulty 1 makes nearly every try win)\n"
     "  --prune-keep N prune (see zgfs prune) every volume to the N newest versions of\n"
     "                 each file every --prune-interval seconds (default 600)\n"
     "  --shard I/N    keep shard I of N of the flow (0G's rule: flow segment s is on\n"
     "                 shard s mod N; N a power of two; default 0/1, all of it). More\n"
     "                 than one shard needs an EVM chain (docs/PEERS.md).\n"
     "  --url URL      register this node and its shard at URL in the chain's registry\n"
     "                 (needs the EVM key); peers are learned from the registry\n"
     "  --peer URL     another node of the cluster, asked for the segments this node\n"
     "                 does not keep (repeat for each), beside the registry's\n"
     "  --da           sign as a DA signer (docs/DA.md): register on the chain's DA\n"
     "                 contract (on the embedded ledger, its DA rules) with the node key\n"
     "                 as VRF key, --url and a stake, publish a VRF proof every epoch,\n"
     "                 store and sign the rows dispersed to it\n"
     "  --da-epoch SECONDS, --da-sample-period SECONDS  the DA epoch and sampling\n"
     "                 period an embedded ledger gets when its first signer starts\n"
     "                 (default 60 and 60; an EVM chain's come from zgfs chain deploy)\n"
     "  --da-stake WEI the stake to register with (default: the contract's minimum)\n"
     "  --da-max-blobs N  blobs held at once (default 1024); a signer also refuses a\n"
     "                 blob that would leave less than 64 MiB free, and drops blobs\n"
     "                 never certified after 3 epochs, voided ones, and certified ones\n"
     "                 once their sampling window is over\n"},
    {"da", cmd_da, "disperse, fetch and sample blobs of the data-availability layer",
     "usage: zgfs da put FILE [--node URL] [--wait S] [--no-log] [--json]\n"
     "       zgfs da get 0xROOT OUT [--node URL]\n"
     "       zgfs da sample 0xROOT [--node URL] [--samples N] [--json]\n"
     "       zgfs da status [0xROOT] [--node URL] [--samples N] [--json]\n"
     "\n"
     "Blobs of up to 32,505,852 bytes, erasure-extended to a 2k x 2k square, committed by\n"
     "one data root and certified on chain by more than 2/3 of a DA epoch's quorum of\n"
     "signers (docs/DA.md). --node is a node on a chain with a DA contract (default: the\n"
     "node running on the data directory); the signers are reached at their URLs.\n"
     "\n"
     "  put     prints \"blob 0x<data root>\" once encoded, then \"certified epoch E\n"
     "          quorum 0x<digest> signed S of T\" once the certificate is on chain; exit\n"
     "          0 only then. --wait S: how long to wait for an epoch with a quorum\n"
     "          (default 120). Then the extended square is stored as one log entry\n"
     "          through the node (\"stored in the log: tx seq N root 0x...\"), unless\n"
     "          --no-log.\n"
     "  get     rebuilds the blob from any k of its 2k rows, each checked against the\n"
     "          data root, and writes OUT (- for standard output); nothing is written\n"
     "          when it cannot be rebuilt (exit 1).\n"
     "  sample  asks the signers for N random shares (default 16) with proofs; prints\n"
     "          \"available\" with the confidence reached (exit 0) or \"unavailable\" with\n"
     "          what failed (exit 1).\n"
     "  status  the certificate, its epoch's signers and a sampling run; without a root,\n"
     "          the node's own DA part (signer, epoch, proofs published, rows stored).\n"},
    {"mine", cmd_mine, "show what the node's PoRA miner has done",
     "usage: zgfs mine status [--data DIR | --node URL] [--json]\n"
     "\n"
     "Prints the miner id, sealed and total sectors, hash rate, the current context and\n"
     "target, answers submitted and accepted, rewards, and the last accepted answer.\n"
     "--json prints all of it, the last answer with 0G's PoraAnswer field names. With\n"
     "--data it reads DIR/pora/status.json (also while the node runs), with --node it\n"
     "asks the running node (zgfs_mineStatus).\n"},
    {"upload", cmd_upload, "store files as log entries and settle them",
     "usage: zgfs upload [--node URL[,URL]... | --data DIR] [--json] FILE...\n"
     "\n"
     "Stores each FILE (- for standard input) as one log entry, settles it, and prints\n"
     "\"0x<root> <tx seq> FILE\" once it is final. Without --node, the node runs in this\n"
     "process on the data directory. Through a node of a cluster, that node hands each\n"
     "segment to the nodes of its shard, and the upload is final once the cluster keeps\n"
     "it with full redundancy (zgfs health says redundant; at most 120 s, else exit 1).\n"},
    {"download", cmd_download, "fetch an entry by root or tx seq, verified",
     "usage: zgfs download [--node URL[,URL]... | --data DIR] ROOT OUT\n"
     "       zgfs download [--node URL[,URL]... | --data DIR] --seq N OUT\n"
     "\n"
     "Writes the entry's bytes to OUT (- for standard output). Every segment is checked\n"
     "against the entry's Merkle root; OUT appears only when all of it checked out.\n"},
    {"status", cmd_status, "show a node's state",
     "usage: zgfs status [--node URL | --data DIR | MOUNTPOINT] [--json]\n"
     "\n"
     "Entries settled and complete, bytes stored, the chain followed; for a node of a\n"
     "cluster also its shard, the cluster's policy, its sync from peers and what it\n"
     "built or rebuilt (zgfs health lists the other nodes). With MOUNTPOINT, the node\n"
     "of that mount. Nothing is created: without a node there, it says so.\n"},
    {"stats", cmd_stats, "live figures of a mount",
     "usage: zgfs stats MOUNTPOINT [--interval SECONDS] [--count N]\n"
     "\n"
     "One line every interval (default 1 s; N lines, default until interrupted): FUSE\n"
     "operations per second, MB/s read and written, commits per second and their p50\n"
     "and p99 latency (the histogram bucket they fall in), operations in flight. Read\n"
     "from the /metrics of the mount's loopback listener (its user.zg.metrics\n"
     "attribute; docs/METRICS.md).\n"},
    {"health", cmd_health, "how well a cluster keeps an entry, or how the cluster is",
     "usage: zgfs health [ROOT] --node URL [--wait SECONDS] [--json]\n"
     "\n"
     "Asks the node at URL, which asks every node of its cluster. With ROOT: one line\n"
     "for that entry, starting with its state: redundant (every segment and parity\n"
     "symbol stored on a live node, every node finalized), degraded (some missing or\n"
     "not yet stored, saying how many and whether the rest still decodes) or\n"
     "unrecoverable. Without ROOT: the cluster's state and one line per node (shard,\n"
     "up or down, sync and repair progress). Exit status 0 redundant, 1 degraded,\n"
     "2 unrecoverable (or the node could not be asked).\n"
     "\n"
     "  --wait SECONDS  ask again every half second until redundant, for at most\n"
     "                  SECONDS\n"
     "  --json          the node's whole answer as JSON\n"},
    {"kv", cmd_kv, "read and write the key-value layer",
     "usage: zgfs kv put STREAM KEY VALUE|-  [--node URL | --data DIR]\n"
     "       zgfs kv get STREAM KEY\n"
     "       zgfs kv ls STREAM [PREFIX]\n"
     "       zgfs kv history STREAM KEY\n"
     "       zgfs kv verify [--data DIR]\n"
     "\n"
     "STREAM is 0x and 64 hex digits. KEY and VALUE are the argument's bytes; VALUE -\n"
     "reads standard input. put prints the tx seq of the write; history prints each\n"
     "version's tx seq and size. verify rebuilds the KV state from the log in a\n"
     "scratch directory and checks it equals the live state.\n"},
    {"chain", cmd_chain, "deploy, attach, inspect and verify the chain a data dir settles on",
     "usage: zgfs chain deploy --rpc URL [--data DIR] [--key FILE] [--price WEI]\n"
     "                         [--confirmations N] [--ec K+M] [--pora-difficulty N]\n"
     "                         [--epoch-blocks N] [--target-answers N] [--base-reward WEI]\n"
     "                         [--donate WEI] [--da-epoch-blocks N] [--da-slots N]\n"
     "                         [--da-stake-unit WEI] [--da-min-stake WEI]\n"
     "                         [--da-sample-blocks N] [--da-sample-window N] [--da-fee WEI]\n"
     "       zgfs chain attach --rpc URL --flow 0xADDR [--data DIR] [--confirmations N]\n"
     "       zgfs chain info [--data DIR]\n"
     "       zgfs chain verify [--data DIR]\n"
     "\n"
     "deploy puts the node Registry, the Flow, its Market, the Mine and the DA contract\n"
     "on the EVM chain at URL, signed with ZGFS_KEY (hex) or --key FILE, prints \"flow\n"
     "0x...\", \"market 0x...\", \"registry 0x...\", \"mine 0x...\", \"da 0x...\" and the\n"
     "policy, and records them in DIR/chain.json, so that\n"
     "zgfs node and zgfs mount on DIR settle there. --price is wei per 256-byte sector\n"
     "(default 1000000000); --confirmations is how many blocks must be on top of a\n"
     "submission before it counts (default 0); --ec K+M is the cluster's redundancy\n"
     "policy, K data and M parity segments per stripe, K+M at most 256 (default none:\n"
     "replication by shard). The PoRA options set the Mine's parameters (defaults\n"
     "1000000, 1200, 5, 0; docs/PORA.md); --donate WEI funds the base rewards. The DA\n"
     "options set the DA contract's epochs, quorum slots, stake per ticket and least\n"
     "stake (defaults 100, 16, 10^15, 10^15), its sampling periods, how many periods\n"
     "a certified blob is sampled, and the blob fee in wei per KiB (defaults 30, 960,\n"
     "10^9; docs/DA.md).\n"
     "attach records contracts deployed before, for another\n"
     "node on the same chain: the Flow leads to the rest and to the policy.\n"
     "\n"
     "info shows height, flow length and root, price, reward pools, the account, the\n"
     "registry, its policy and its nodes, mining, and the DA contract.\n"
     "verify, on the embedded ledger, replays every block from genesis, checks hashes,\n"
     "links and signatures, and fails naming the first bad block; on an EVM chain it\n"
     "replays every followed entry through the Flow rules and compares the flow with\n"
     "the contract's.\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("zgfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

void cli_usage(FILE *f, const char *command)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, command) == 0)
			fputs(commands[i].usage, f);
}

int cli_parse_u64(const char *s, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void help(FILE *f)
{
	fputs("usage: zgfs COMMAND [ARGS...]\n"
	      "\n"
	      "zgfs keeps files in 0G-style decentralized storage and mounts them as a\n"
	      "directory. Commands:\n\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].synopsis);
	fputs("\nzgfs COMMAND --help describes one command.\n", f);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');

	/* mount(8)'s helper for type fuse.zgfs is a link to this binary. */
	if (strcmp(self ? self + 1 : argv[0], "mount.fuse.zgfs") == 0)
		return cli_mount_helper(argc, argv);
	if (argc < 2) {
		help(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (strcmp(commands[i].name, argv[2]) == 0) {
					fputs(commands[i].usage, stdout);
					return 0;
				}
		}
		help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("zgfs %s\n", ZGFS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[1]) != 0)
			continue;
		if (cli_wants_help(argc - 1, argv + 1)) {
			fputs(commands[i].usage, stdout);
			return 0;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	cli_error("'%s' is not a zgfs command; see 'zgfs --help'", argv[1]);
	return 2;
}
