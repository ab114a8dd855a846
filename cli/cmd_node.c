/*
 * zgfs node: the storage node as a foreground daemon. Opens the data directory (taking its
 * lock, recovering after a crash), serves JSON-RPC until SIGINT or SIGTERM, then stops
 * the server and closes the store cleanly. Logs to standard error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "codec/hex.h"
#include "fs/prune.h"
#include "node/node.h"
#include "node/rpc/rpc.h"
#include "node/store/store.h"

enum {
	OPT_DATA = 0x100,
	OPT_RPC,
	OPT_CHAIN,
	OPT_KEY,
	OPT_MINE,
	OPT_MINER_KEY,
	OPT_MINE_THREADS,
	OPT_MINE_TICK_MS,
	OPT_PRUNE_KEEP,
	OPT_PRUNE_INTERVAL,
	OPT_SHARD,
	OPT_PEER,
	OPT_URL,
	OPT_DA,
	OPT_DA_STAKE,
	OPT_DA_MAX_BLOBS,
	OPT_DA_EPOCH,
	OPT_DA_SAMPLE_PERIOD,
};

#define PEERS_MAX 64

#define DEFAULT_RPC "127.0.0.1:5678"

/* "I/N": shard I of N, N a power of two and I below it (0G's shard rule). */
static int parse_shard(const char *s, uint32_t *ret_id, uint32_t *ret_n)
{
	unsigned long long id, n;
	const char *slash = strchr(s, '/');
	char head[24];

	if (!slash || (size_t)(slash - s) >= sizeof(head))
		return -EINVAL;
	memcpy(head, s, (size_t)(slash - s));
	head[slash - s] = '\0';
	if (cli_parse_u64(head, &id) < 0 || cli_parse_u64(slash + 1, &n) < 0 || n == 0 ||
	    n > (1u << 30) || (n & (n - 1)) || id >= n)
		return -EINVAL;
	*ret_id = (uint32_t)id;
	*ret_n = (uint32_t)n;
	return 0;
}

/* Splits "HOST:PORT" (IPv6 as "[::1]:PORT"). */
static int parse_listen(const char *s, char *host, size_t size, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	unsigned long long p;
	size_t hl;

	if (!colon || cli_parse_u64(colon + 1, &p) < 0 || p > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= size)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return 0;
}

static void report_store_recovery(struct node_store *s)
{
	struct node_store_recovery r;

	node_store_recovery_report(s, &r);
	if (r.packs_truncated)
		fprintf(stderr,
			"zgfs node: recovered after a crash: dropped %llu bytes of unfinished "
			"uploads from %llu pack file%s\n",
			(unsigned long long)r.bytes_truncated, (unsigned long long)r.packs_truncated,
			r.packs_truncated == 1 ? "" : "s");
	if (r.packs_missing)
		fprintf(stderr,
			"zgfs node: WARNING: %llu pack file%s holding stored entries %s missing; "
			"those entries now fail verified reads. Restore the files from a backup "
			"if you have one.\n",
			(unsigned long long)r.packs_missing, r.packs_missing == 1 ? "" : "s",
			r.packs_missing == 1 ? "was" : "were");
	if (r.expected)
		fprintf(stderr, "zgfs node: %llu settled entr%s still waiting for uploads\n",
			(unsigned long long)r.expected, r.expected == 1 ? "y is" : "ies are");
}

static void report_corruption(struct node_store *s, uint64_t *seen)
{
	struct node_store_health h;

	node_store_health(s, &h);
	if (h.corrupt_reads == *seen)
		return;
	fprintf(stderr,
		"zgfs node: CORRUPT DATA: %llu read%s failed verification; latest: entry %llu "
		"(tx seq), segment %llu. The bytes on disk no longer match the entry's Merkle "
		"root; readers got EIO, never the bad bytes.\n",
		(unsigned long long)(h.corrupt_reads - *seen), h.corrupt_reads - *seen == 1 ? "" : "s",
		(unsigned long long)h.last_tx_seq, (unsigned long long)h.last_segment);
	*seen = h.corrupt_reads;
}

/* What the miner did since the last call, in the log. */
static void report_mining(struct node *n, struct node_mine_report *seen)
{
	struct node_mine_report m;

	if (node_mine_report(n, &m) < 0)
		return;
	if (m.accepted != seen->accepted)
		fprintf(stderr, "zgfs node: PoRA: %llu answer%s accepted, %llu paid in all\n",
			(unsigned long long)(m.accepted - seen->accepted),
			m.accepted - seen->accepted == 1 ? "" : "s", (unsigned long long)m.rewards);
	if (m.refused != seen->refused)
		fprintf(stderr, "zgfs node: PoRA: %llu answer%s refused: %s\n",
			(unsigned long long)(m.refused - seen->refused),
			m.refused - seen->refused == 1 ? "" : "s", chain_strerror(m.last_refusal));
	if (m.corrupt != seen->corrupt)
		fprintf(stderr,
			"zgfs node: CORRUPT DATA: PoRA: %llu answer%s did not prove into the flow "
			"root, latest for the unit at flow sector %llu: the bytes on disk of that unit, "
			"or of the rest of its entry that the proof is hashed from, are not what was "
			"settled. Nothing was submitted for %s.\n",
			(unsigned long long)(m.corrupt - seen->corrupt),
			m.corrupt - seen->corrupt == 1 ? "" : "s",
			(unsigned long long)m.last_corrupt_sector,
			m.corrupt - seen->corrupt == 1 ? "it" : "them");
	if (m.missing != seen->missing)
		fprintf(stderr,
			"zgfs node: MISSING DATA: PoRA: %llu unit read%s of settled entries found no "
			"bytes on disk; latest at flow sector %llu. Those units are not mined.\n",
			(unsigned long long)(m.missing - seen->missing),
			m.missing - seen->missing == 1 ? "" : "s",
			(unsigned long long)m.last_missing_sector);
	if (m.last_error && m.last_error != seen->last_error)
		fprintf(stderr, "zgfs node: PoRA: %s\n", chain_strerror(m.last_error));
	*seen = m;
}

/* --prune-keep: one pass over every volume, reported when it drops something. */
static void prune_pass(struct node *n, const struct fs_prune_policy *p)
{
	struct fs_prune_stats st = {0};
	int r = cli_prune_all(n, p, false, NULL, &st);

	if (r < 0)
		fprintf(stderr, "zgfs node: prune stopped: %s\n", cli_why(r));
	else if (st.entries)
		fprintf(stderr, "zgfs node: prune dropped %llu entries, %llu bytes no kept version "
			"needs\n", (unsigned long long)st.entries, (unsigned long long)st.bytes);
	fflush(stderr);
}

/* The options, also what a config file may set ([node] of docs/CONFIG.md). */
const struct option cli_node_options[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"rpc", required_argument, NULL, OPT_RPC},
    {"chain", required_argument, NULL, OPT_CHAIN},
    {"key", required_argument, NULL, OPT_KEY},
    {"mine", no_argument, NULL, OPT_MINE},
    {"miner-key", required_argument, NULL, OPT_MINER_KEY},
    {"mine-threads", required_argument, NULL, OPT_MINE_THREADS},
    {"mine-tick-ms", required_argument, NULL, OPT_MINE_TICK_MS},
    CLI_PORA_OPTIONS,
    {"prune-keep", required_argument, NULL, OPT_PRUNE_KEEP},
    {"prune-interval", required_argument, NULL, OPT_PRUNE_INTERVAL},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"peer", required_argument, NULL, OPT_PEER},
    {"url", required_argument, NULL, OPT_URL},
    {"da", no_argument, NULL, OPT_DA},
    {"da-stake", required_argument, NULL, OPT_DA_STAKE},
    {"da-max-blobs", required_argument, NULL, OPT_DA_MAX_BLOBS},
    {"da-epoch", required_argument, NULL, OPT_DA_EPOCH},
    {"da-sample-period", required_argument, NULL, OPT_DA_SAMPLE_PERIOD},
    {NULL, 0, NULL, 0},
};

int cmd_node(int argc, char **argv)
{
	const char *peers[PEERS_MAX];
	size_t npeers = 0;
	uint32_t shard_id = 0, num_shard = 1;
	const char *public_url = NULL;
	struct fs_prune_policy prune = {0};
	unsigned long long num, prune_every = 600, ticks = 0;
	struct cli_pora pora = CLI_PORA_INIT;
	struct node_mine_report mined = {0};
	const char *miner_key = NULL;
	unsigned long long threads = 1, tick_ms = 0;
	bool mine = false, da = false;
	unsigned long long da_stake = 0, da_max_blobs = 0;
	struct chain_da_config da_cfg = CHAIN_DA_LOCAL_DEFAULTS;
	const char *data = NULL, *listen = DEFAULT_RPC, *chain = NULL, *key_file = NULL;
	const struct node_recovery *rec;
	struct node_status st;
	struct node_rpc *rpc = NULL;
	struct node *n = NULL;
	char dir[PATH_MAX], host[256];
	unsigned port;
	uint64_t corrupt_seen = 0;
	sigset_t stop;
	int c, r, sig;

	if (cli_config_apply("node", cli_node_options, &argc, &argv) < 0)
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", cli_node_options, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_RPC:
			listen = optarg;
			break;
		case OPT_CHAIN:
			chain = optarg;
			break;
		case OPT_KEY:
			key_file = optarg;
			break;
		case OPT_MINE:
			mine = true;
			break;
		case OPT_MINER_KEY:
			miner_key = optarg;
			break;
		case OPT_MINE_THREADS:
			if (cli_parse_u64(optarg, &threads) < 0 || threads == 0 || threads > 64) {
				cli_error("node: --mine-threads takes 1 to 64, not '%s'", optarg);
				return 2;
			}
			break;
		case OPT_MINE_TICK_MS:
			if (cli_parse_u64(optarg, &tick_ms) < 0 || tick_ms == 0 || tick_ms > 3600000) {
				cli_error("node: --mine-tick-ms takes 1 to 3600000, not '%s'", optarg);
				return 2;
			}
			break;
		case OPT_PRUNE_KEEP:
			if (cli_parse_u64(optarg, &num) < 0 || num == 0) {
				cli_error("node: --prune-keep takes a number of versions to keep, at "
					  "least 1");
				return 2;
			}
			prune = (struct fs_prune_policy){.by_count = true, .keep = num};
			break;
		case OPT_PRUNE_INTERVAL:
			if (cli_parse_u64(optarg, &prune_every) < 0 || prune_every == 0) {
				cli_error("node: --prune-interval takes seconds, at least 1");
				return 2;
			}
			break;
		case OPT_SHARD:
			if (parse_shard(optarg, &shard_id, &num_shard) < 0) {
				cli_error("node: --shard takes I/N with N a power of two and I "
					  "below it (0G's shard rule), such as 0/4, not '%s'",
					  optarg);
				return 2;
			}
			break;
		case OPT_PEER:
			if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0) {
				cli_error("node: --peer takes a node's URL (http://HOST:PORT), not '%s'",
					  optarg);
				return 2;
			}
			if (npeers == PEERS_MAX) {
				cli_error("node: at most %d --peer", PEERS_MAX);
				return 2;
			}
			peers[npeers++] = optarg;
			break;
		case OPT_DA:
			da = true;
			break;
		case OPT_DA_STAKE:
			if (cli_parse_u64(optarg, &da_stake) < 0) {
				cli_error("node: --da-stake takes an amount in wei, not '%s'",
					  optarg);
				return 2;
			}
			break;
		case OPT_DA_EPOCH:
		case OPT_DA_SAMPLE_PERIOD:
			if (cli_parse_u64(optarg, &num) < 0 || num == 0 || num > 86400) {
				cli_error("node: --da-epoch and --da-sample-period take 1 to 86400 "
					  "seconds, not '%s'",
					  optarg);
				return 2;
			}
			*(c == OPT_DA_EPOCH ? &da_cfg.epoch_blocks : &da_cfg.sample_blocks) = num;
			break;
		case OPT_DA_MAX_BLOBS:
			if (cli_parse_u64(optarg, &da_max_blobs) < 0 || da_max_blobs == 0 ||
			    da_max_blobs > 1000000) {
				cli_error("node: --da-max-blobs takes 1 to 1000000, not '%s'",
					  optarg);
				return 2;
			}
			break;
		case OPT_URL:
			if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0) {
				cli_error("node: --url takes the URL peers reach this node at "
					  "(http://HOST:PORT), not '%s'",
					  optarg);
				return 2;
			}
			public_url = optarg;
			break;
		default:
			r = cli_pora_option(&pora, c, optarg);
			if (r == 0)
				break;
			if (r == -EINVAL)
				return 2;
			cli_usage(stderr, "node");
			return 2;
		}
	}
	if (optind != argc) {
		cli_usage(stderr, "node");
		return 2;
	}
	if (parse_listen(listen, host, sizeof(host), &port) < 0) {
		cli_error("node: --rpc takes HOST:PORT, such as %s, not '%s'", DEFAULT_RPC, listen);
		return 2;
	}
	if (cli_data_dir(data, dir, sizeof(dir)) < 0) {
		cli_error("node: no data directory: give --data DIR or set ZGFS_DATA");
		return 2;
	}

	/* Block the stop signals before any thread starts, so that only sigwait() sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = node_open_local(&(struct node_config){.data_dir = dir,
						  .chain = chain,
						  .evm_key_hex = getenv("ZGFS_KEY"),
						  .evm_key_file = key_file,
						  .verify_reads = true,
						  .mine = mine,
						  .miner_key = miner_key,
						  .mine_threads = (unsigned)threads,
						  .mine_tick_ms = (unsigned)tick_ms,
						  .pora = mine || pora.set ? &pora.params : NULL,
						  .pora_donate = pora.donate,
						  .shard_id = shard_id,
						  .num_shard = num_shard,
						  .peers = peers,
						  .npeers = npeers,
						  .public_url = public_url,
						  .da = da,
						  .da_stake = da_stake,
						  .da_config = &da_cfg,
						  .da_max_blobs = (unsigned)da_max_blobs},
			    &n);
	if (r == -EBUSY) {
		cli_error("node: %s is in use by another node or mount (see %s/lock)", dir, dir);
		return 1;
	}
	if (r == -CHAIN_EPORA_OFF && mine) {
		cli_error("node: --mine: %s (docs/PORA.md)", cli_why(r));
		return 1;
	}
	if (r < 0 && da && (r == -EINVAL || r == -ENOENT || r == -ENOTSUP)) {
		cli_error("node: --da: %s (docs/DA.md)", cli_why(r));
		return 1;
	}
	if (r < 0) {
		cli_error("node: cannot open %s: %s", dir, cli_why(r));
		return 1;
	}
	report_store_recovery(node_local_store(n));
	rec = node_local_recovery(n);
	if (rec && (rec->committed || rec->dropped))
		fprintf(stderr,
			"zgfs node: recovered after a crash: %llu settled upload%s committed, "
			"%llu unsettled dropped\n",
			(unsigned long long)rec->committed, rec->committed == 1 ? "" : "s",
			(unsigned long long)rec->dropped);
	r = node_rpc_start(n, host, port, &rpc);
	if (r < 0) {
		cli_error("node: cannot serve on %s: %s", listen, strerror(-r));
		node_close(n);
		return 1;
	}
	if (node_status(n, &st) == 0)
		fprintf(stderr,
			"zgfs node: data %s, %llu entries (%llu complete), KV replayed to %llu\n",
			dir, (unsigned long long)st.next_tx_seq, (unsigned long long)st.finalized,
			(unsigned long long)st.kv_next_tx_seq);
	if (num_shard > 1 || npeers)
		fprintf(stderr, "zgfs node: keeps shard %u/%u of the flow, %zu peer%s\n",
			shard_id, num_shard, npeers, npeers == 1 ? "" : "s");
	if (da)
		fprintf(stderr,
			"zgfs node: DA signer at %s, publishing its VRF proof every epoch\n",
			public_url);
	{
		/* Where client commands on this data directory reach the node (a wildcard
		 * address is reached on loopback). */
		bool any = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
		char url[300];

		snprintf(url, sizeof(url), "http://%s%s%s:%u", strchr(host, ':') && !any ? "[" : "",
			 any ? "127.0.0.1" : host, strchr(host, ':') && !any ? "]" : "",
			 node_rpc_port(rpc));
		cli_running_url_set(dir, url);
	}
	fprintf(stderr, "zgfs node: serving http://%s%s%s:%u\n", strchr(host, ':') ? "[" : "",
		host, strchr(host, ':') ? "]" : "", node_rpc_port(rpc));
	fflush(stderr);

	/* Wait for a stop signal, and meanwhile report corruption that reads ran into. */
	for (;;) {
		struct timespec second = {1, 0};

		sig = sigtimedwait(&stop, NULL, &second);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		report_corruption(node_local_store(n), &corrupt_seen);
		report_mining(n, &mined);
		if (prune.by_count && ++ticks % prune_every == 0)
			prune_pass(n, &prune);
	}
	fprintf(stderr, "zgfs node: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
	cli_running_url_set(dir, NULL);
	node_rpc_stop(rpc);
	node_close(n);
	fprintf(stderr, "zgfs node: stopped\n");
	return 0;
}
