/*
 * zgfs upload, zgfs download, zgfs status: moving whole files in and out of a node, in
 * this process (--data) or over JSON-RPC (--node).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/hex.h"
#include "node/node.h"

#define IO_BLOCK (1u << 20)
/* Bytes a download asks the node for at once: a remote node fetches the segments of one
 * read in parallel, so a read should span many. */
#define DOWNLOAD_BLOCK (8u << 20)

/* Options every client command takes. */
struct client_opts {
	const char *node_url, *data_dir;
	bool json;
	bool has_seq;
	unsigned long long seq;
};

enum { OPT_NODE = 0x100, OPT_DATA, OPT_JSON, OPT_SEQ };

static const struct option client_options[] = {
	{"node", required_argument, NULL, OPT_NODE},
	{"data", required_argument, NULL, OPT_DATA},
	{"json", no_argument, NULL, OPT_JSON},
	{"seq", required_argument, NULL, OPT_SEQ},
	{NULL, 0, NULL, 0},
};

/* Parses options anywhere among the arguments; returns the index of the first operand
 * (getopt moves operands to the end) or -1 after printing usage. */
static int parse_client(int argc, char **argv, const char *cmd, struct client_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", client_options, NULL)) != -1) {
		switch (c) {
		case OPT_NODE:
			o->node_url = optarg;
			break;
		case OPT_DATA:
			o->data_dir = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_SEQ:
			if (cli_parse_u64(optarg, &o->seq) < 0) {
				cli_error("%s: --seq takes a tx seq number", cmd);
				return -1;
			}
			o->has_seq = true;
			break;
		default:
			cli_usage(stderr, cmd);
			return -1;
		}
	}
	if (o->node_url && o->data_dir) {
		cli_error("%s: give --node URL or --data DIR, not both", cmd);
		return -1;
	}
	return optind;
}

static int upload_one(struct node *n, const char *url, const char *path, bool json)
{
	struct node_upload *u = NULL;
	struct node_file_info info;
	struct cli_progress prog;
	struct stat st;
	char hex[2 * CODEC_HASH_SIZE + 3];
	uint8_t *buf = NULL;
	int fd, r = -1;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		cli_error("%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
		goto out;
	}
	/* A regular file where it is, when the node can take it so (a remote node). */
	r = S_ISREG(st.st_mode) ? node_upload_file(n, fd, NULL, 0, &info) : -EOPNOTSUPP;
	if (r != -EOPNOTSUPP)
		goto done;
	buf = malloc(IO_BLOCK);
	if (!buf) {
		cli_error("out of memory");
		goto out;
	}
	r = node_upload_begin(n, NULL, 0, &u);
	if (r < 0) {
		cli_error("%s: %s", path, node_strerror(r));
		goto out;
	}
	cli_progress_start(&prog, "upload", S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0);
	for (;;) {
		ssize_t got = read(fd, buf, IO_BLOCK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			cli_error("%s: %s", path, strerror(errno));
			break;
		}
		if (got == 0)
			break;
		r = node_upload_write(u, buf, (size_t)got);
		if (r < 0) {
			cli_error("%s: %s", path, node_strerror(r));
			break;
		}
		cli_progress_add(&prog, (unsigned long long)got);
	}
	cli_progress_end(&prog);
	if (r < 0) {
		node_upload_abort(u);
		goto out;
	}
	r = node_upload_finish(u, &info);
done:
	if (r == -EINVAL && (u ? prog.done == 0 : st.st_size == 0)) {
		cli_error("%s: empty file: 0G has no empty entries", path);
		goto out;
	}
	if (r < 0) {
		cli_error("%s: %s", path, node_strerror(r));
		goto out;
	}
	/* Through a node of a cluster: done once the cluster keeps it with full redundancy. */
	if (url) {
		char why[256];

		if (cli_wait_redundant(url, info.entry.tx_seq, CLI_UPLOAD_REDUNDANT_S, why,
				       sizeof(why)) == 1) {
			cli_error("%s: settled as entry %llu, but the cluster does not keep it with "
				  "full redundancy yet: %s (zgfs health --node %s --wait)",
				  path, (unsigned long long)info.entry.tx_seq, why, url);
			r = -EAGAIN;
			goto out;
		}
	}
	codec_hex_encode(info.entry.root, CODEC_HASH_SIZE, hex);
	if (json)
		printf("{\"file\":\"%s\",\"root\":\"%s\",\"txSeq\":%llu,\"size\":%llu}\n", path, hex,
		       (unsigned long long)info.entry.tx_seq,
		       (unsigned long long)info.entry.length);
	else
		printf("%s %llu %s\n", hex, (unsigned long long)info.entry.tx_seq, path);
	fflush(stdout);
	r = 0;
out:
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return r < 0 ? -1 : 0;
}

int cmd_upload(int argc, char **argv)
{
	struct client_opts o;
	struct node *n;
	int first = parse_client(argc, argv, "upload", &o), status = 0;

	if (first < 0)
		return 2;
	if (first >= argc) {
		cli_usage(stderr, "upload");
		return 2;
	}
	if (cli_open_node(o.node_url, o.data_dir, &n) < 0)
		return 1;
	for (int i = first; i < argc; i++)
		if (upload_one(n, o.node_url ? node_remote_url(n) : NULL, argv[i], o.json) < 0)
			status = 1;
	node_close(n);
	return status;
}

/* Writes all of buf, retrying short writes. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One block of a download: node_read() of [off, off + DOWNLOAD_BLOCK) into buf. */
struct block {
	struct node *n;
	uint64_t seq, off;
	uint8_t *buf;
	size_t got;
	int r;
};

static void *read_block(void *arg)
{
	struct block *b = arg;

	b->r = node_read(b->n, b->seq, b->off, b->buf, DOWNLOAD_BLOCK, &b->got);
	if (b->r == 0 && b->got == 0)
		b->r = -EIO;
	return NULL;
}

/*
 * Writes entry e's bytes to fd, reading the next block (on a thread) while writing one:
 * buf holds two blocks. Write-back of each block is started as soon as it is written, so
 * the final fsync has little left to do.
 */
static int copy_out(struct node *n, const struct chain_entry *e, int fd, uint8_t *buf,
		    struct cli_progress *prog)
{
	struct block cur = {.n = n, .seq = e->tx_seq, .off = 0, .buf = buf}, next;
	int r;

	read_block(&cur);
	for (;;) {
		pthread_t th;
		bool more, threaded = false;

		if (cur.r < 0) {
			cli_error("download: entry %llu at byte %llu: %s",
				  (unsigned long long)e->tx_seq, (unsigned long long)cur.off,
				  node_strerror(cur.r));
			return cur.r;
		}
		next = cur;
		next.off = cur.off + cur.got;
		next.buf = cur.buf == buf ? buf + DOWNLOAD_BLOCK : buf;
		more = next.off < e->length;
		if (more)
			threaded = pthread_create(&th, NULL, read_block, &next) == 0;
		r = write_all(fd, cur.buf, cur.got);
		if (r == 0)
			(void)sync_file_range(fd, (off_t)cur.off, (off_t)cur.got,
					      SYNC_FILE_RANGE_WRITE); /* advice: a pipe refuses */
		if (threaded)
			pthread_join(th, NULL);
		else if (more)
			read_block(&next);
		if (r < 0) {
			cli_error("download: writing: %s", strerror(-r));
			return r;
		}
		cli_progress_add(prog, cur.got);
		if (!more)
			return 0;
		cur = next;
	}
}

int cmd_download(int argc, char **argv)
{
	struct client_opts o;
	struct node_file_info info;
	struct cli_progress prog;
	struct node *n = NULL;
	char tmp[PATH_MAX];
	const char *out;
	uint8_t root[CODEC_HASH_SIZE], *buf = NULL;
	int first = parse_client(argc, argv, "download", &o), fd = -1, r, status = 1;

	if (first < 0)
		return 2;
	if (argc - first != (o.has_seq ? 1 : 2)) {
		cli_usage(stderr, "download");
		return 2;
	}
	out = argv[argc - 1];
	if (!o.has_seq && codec_hex_decode(argv[first], root, sizeof(root)) < 0) {
		cli_error("download: '%s' is not a root (0x and 64 hex digits)", argv[first]);
		return 2;
	}
	if (cli_open_node(o.node_url, o.data_dir, &n) < 0)
		return 1;
	r = o.has_seq ? node_file_info_by_seq(n, o.seq, &info) : node_file_info_by_root(n, root, &info);
	if (r == -ENOENT) {
		cli_error("download: no entry %s on this node", o.has_seq ? "with that tx seq" : "with that root");
		goto out;
	}
	if (r < 0) {
		cli_error("download: %s", node_strerror(r));
		goto out;
	}
	if (!info.finalized) {
		cli_error("download: entry %llu is not complete on this node yet (%llu segments "
			  "uploaded)",
			  (unsigned long long)info.entry.tx_seq,
			  (unsigned long long)info.uploaded_segments);
		goto out;
	}
	buf = malloc(2 * (size_t)DOWNLOAD_BLOCK);
	if (!buf)
		goto out;
	if (strcmp(out, "-") == 0) {
		fd = STDOUT_FILENO;
	} else {
		/* Into a temporary name, renamed only when every byte was verified. */
		snprintf(tmp, sizeof(tmp), "%s.zgfs-part", out);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			cli_error("%s: %s", tmp, strerror(errno));
			goto out;
		}
	}
	cli_progress_start(&prog, "download", info.entry.length);
	r = copy_out(n, &info.entry, fd, buf, &prog);
	cli_progress_end(&prog);
	if (r < 0)
		goto out;
	if (fd != STDOUT_FILENO) {
		if (fsync(fd) < 0 || close(fd) < 0) {
			fd = -1;
			cli_error("%s: %s", tmp, strerror(errno));
			goto out;
		}
		fd = -1;
		if (rename(tmp, out) < 0) {
			cli_error("%s: %s", out, strerror(errno));
			goto out;
		}
	}
	status = 0;
out:
	if (fd >= 0 && fd != STDOUT_FILENO) {
		close(fd);
		unlink(tmp);
	}
	free(buf);
	node_close(n);
	return status;
}

int cmd_status(int argc, char **argv)
{
	struct client_opts o;
	struct node_status st;
	struct node *n;
	char root[2 * CODEC_HASH_SIZE + 3], block[2 * CODEC_HASH_SIZE + 3];
	int first = parse_client(argc, argv, "status", &o), r;

	char url[512], dir[PATH_MAX];
	struct stat sb;

	if (first < 0)
		return 2;
	if (first + 1 == argc && !o.node_url && !o.data_dir) {
		if (cli_mount_node_url(argv[first], url, sizeof(url)) < 0)
			return 1;
		o.node_url = url;
	} else if (first != argc) {
		cli_usage(stderr, "status");
		return 2;
	}
	/* Asking must not create a data directory or a key. */
	if (!o.node_url && (cli_data_dir(o.data_dir, dir, sizeof(dir)) < 0 || stat(dir, &sb) < 0 ||
			    !S_ISDIR(sb.st_mode))) {
		cli_error("status: no zgfs data directory at %s; give --data DIR, --node URL or a "
			  "mount point",
			  cli_data_dir(o.data_dir, dir, sizeof(dir)) < 0 ? "(none: HOME unset)"
									 : dir);
		return 1;
	}
	if (cli_open_node(o.node_url, o.data_dir, &n) < 0)
		return 1;
	r = node_status(n, &st);
	node_close(n);
	if (r < 0) {
		cli_error("status: %s", node_strerror(r));
		return 1;
	}
	codec_hex_encode(st.flow_root, CODEC_HASH_SIZE, root);
	codec_hex_encode(st.log_sync_block, CODEC_HASH_SIZE, block);
	if (o.json) {
		printf("{\"nextTxSeq\":%llu,\"finalized\":%llu,\"kvNextTxSeq\":%llu,"
		       "\"logSyncHeight\":%llu,\"logSyncBlock\":\"%s\",\"flowLength\":%llu,"
		       "\"flowRoot\":\"%s\",\"chainId\":%llu,\"connectedPeers\":%u,"
		       "\"bytesStored\":%llu,\"diskFree\":%llu,\"shardId\":%u,\"numShard\":%u,"
		       "\"ecK\":%u,\"ecM\":%u,\"syncWaiting\":%llu,\"syncMissing\":%llu,"
		       "\"syncFetched\":%llu,\"parityBuilt\":%llu,\"segmentsRebuilt\":%llu,"
		       "\"rebuiltBytesIn\":%llu,\"parityBytesIn\":%llu,\"segmentsServed\":%llu,"
		       "\"segmentsRelayed\":%llu}\n",
		       (unsigned long long)st.next_tx_seq, (unsigned long long)st.finalized,
		       (unsigned long long)st.kv_next_tx_seq,
		       (unsigned long long)st.log_sync_height, block,
		       (unsigned long long)st.flow_length, root, (unsigned long long)st.chain_id,
		       st.connected_peers, (unsigned long long)st.bytes_stored,
		       (unsigned long long)st.disk_free, st.shard_id,
		       st.num_shard ? st.num_shard : 1, st.ec_k, st.ec_m,
		       (unsigned long long)st.sync_waiting, (unsigned long long)st.sync_missing,
		       (unsigned long long)st.sync_fetched, (unsigned long long)st.parity_built,
		       (unsigned long long)st.segments_rebuilt,
		       (unsigned long long)st.rebuilt_bytes_in,
		       (unsigned long long)st.parity_bytes_in,
		       (unsigned long long)st.segments_served,
		       (unsigned long long)st.segments_relayed);
		return 0;
	}
	printf("entries settled:   %llu (next tx seq)\n", (unsigned long long)st.next_tx_seq);
	printf("entries complete:  %llu\n", (unsigned long long)st.finalized);
	printf("KV replayed up to: %llu\n", (unsigned long long)st.kv_next_tx_seq);
	printf("bytes stored:      %llu\n", (unsigned long long)st.bytes_stored);
	printf("disk free:         %llu\n", (unsigned long long)st.disk_free);
	printf("chain:             id %llu, height %llu, head %s\n",
	       (unsigned long long)st.chain_id, (unsigned long long)st.log_sync_height, block);
	printf("flow:              %llu sectors, root %s\n", (unsigned long long)st.flow_length,
	       root);
	printf("peers:             %u\n", st.connected_peers);
	if (st.num_shard > 1 || st.ec_k) {
		printf("shard:             %u/%u", st.shard_id, st.num_shard);
		if (st.ec_k)
			printf(", policy %u+%u", st.ec_k, st.ec_m);
		printf("\n");
		printf("sync:              %llu entries waiting, %llu segments missing; %llu "
		       "fetched (%llu bytes)\n",
		       (unsigned long long)st.sync_waiting, (unsigned long long)st.sync_missing,
		       (unsigned long long)st.sync_fetched,
		       (unsigned long long)st.sync_fetched_bytes);
		printf("repair:            %llu parity symbols built, %llu segments rebuilt from "
		       "stripes (%llu bytes fetched)\n",
		       (unsigned long long)st.parity_built, (unsigned long long)st.segments_rebuilt,
		       (unsigned long long)st.rebuilt_bytes_in);
		printf("served:            %llu segments from this node's store, %llu fetched or "
		       "rebuilt from peers\n",
		       (unsigned long long)st.segments_served,
		       (unsigned long long)st.segments_relayed);
		printf("(zgfs health --node URL lists every node of the cluster)\n");
	}
	return 0;
}
