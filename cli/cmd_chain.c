/*
 * zgfs chain: look at and check the embedded ledger of a data directory.
 *   zgfs chain info [--data DIR]    height, flow, pools, the node's account
 *   zgfs chain verify [--data DIR]  replay every block and check hashes and signatures
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "chain/chain.h"
#include "cli/cli.h"
#include "codec/hex.h"
#include "node/key.h"

enum { OPT_DATA = 0x100 };

#define SHOW_POOLS 16

static int open_ledger(const char *data, struct chain **ret)
{
	char dir[PATH_MAX], chain_dir[PATH_MAX + 8];
	uint8_t sk[64], pk[32];
	int r;

	if (cli_data_dir(data, dir, sizeof(dir)) < 0) {
		cli_error("no data directory: give --data DIR or set ZGFS_DATA");
		return -1;
	}
	r = node_key_load(dir, false, sk, pk);
	if (r == -ENOENT) {
		cli_error("%s has no node key: it has never held a node (start 'zgfs node' once)",
			  dir);
		return -1;
	}
	if (r < 0) {
		cli_error("%s/node.key: %s", dir,
			  r == -EACCES ? "readable by others: chmod 600 it" : strerror(-r));
		return -1;
	}
	snprintf(chain_dir, sizeof(chain_dir), "%s/chain", dir);
	r = chain_local_open(chain_dir, sk, ret);
	if (r == -EBUSY)
		cli_error("the ledger in %s is in use by a running node; stop it first, or ask it "
			  "with 'zgfs status --node URL'",
			  dir);
	else if (r < 0)
		cli_error("cannot open the ledger in %s: %s", chain_dir, chain_strerror(r));
	return r < 0 ? -1 : 0;
}

static int info(struct chain *c)
{
	struct chain_flow f;
	struct chain_pool pools[SHOW_POOLS];
	uint8_t addr[CHAIN_ADDRESS_SIZE];
	uint64_t balance;
	size_t npools;
	char hex[2 * CODEC_HASH_SIZE + 3];
	int r;

	r = chain_flow_info(c, &f);
	if (r == 0)
		r = chain_account(c, addr, &balance);
	if (r == 0)
		r = chain_pools(c, pools, SHOW_POOLS, &npools);
	if (r < 0) {
		cli_error("chain info: %s", chain_strerror(r));
		return 1;
	}
	codec_hex_encode(f.head, CODEC_HASH_SIZE, hex);
	printf("chain id:        %llu\n", (unsigned long long)f.chain_id);
	printf("height:          %llu\n", (unsigned long long)f.height);
	printf("head:            %s\n", hex);
	printf("entries:         %llu\n", (unsigned long long)f.next_tx_seq);
	codec_hex_encode(f.root, CODEC_HASH_SIZE, hex);
	printf("flow length:     %llu sectors\n", (unsigned long long)f.length);
	printf("flow root:       %s\n", hex);
	printf("price/sector:    %llu\n", (unsigned long long)f.price_per_sector);
	codec_hex_encode(addr, CHAIN_ADDRESS_SIZE, hex);
	printf("account:         %s\n", hex);
	printf("balance:         %llu\n", (unsigned long long)balance);
	for (size_t i = 0; i < npools; i++)
		printf("pool %-10llu balance %llu, released %llu%s\n",
		       (unsigned long long)pools[i].index, (unsigned long long)pools[i].balance,
		       (unsigned long long)pools[i].released, pools[i].full ? ", full" : "");
	return 0;
}

static int verify(struct chain *c)
{
	struct chain_verify_report rep;
	int r;

	memset(&rep, 0, sizeof(rep));
	r = chain_verify(c, &rep);
	if (r < 0) {
		if (r == -CHAIN_ETAMPERED)
			cli_error("chain verify: block %llu is wrong: %s",
				  (unsigned long long)rep.bad_block, rep.reason);
		else
			cli_error("chain verify: %s", chain_strerror(r));
		return 1;
	}
	printf("ok: %llu blocks, %llu entries; hashes, links, signatures and state check out\n",
	       (unsigned long long)rep.blocks, (unsigned long long)rep.entries);
	return 0;
}

int cmd_chain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL;
	struct chain *c;
	int ch, status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != OPT_DATA) {
			cli_usage(stderr, "chain");
			return 2;
		}
		data = optarg;
	}
	if (argc - optind != 1 ||
	    (strcmp(argv[optind], "info") != 0 && strcmp(argv[optind], "verify") != 0)) {
		cli_usage(stderr, "chain");
		return 2;
	}
	if (open_ledger(data, &c) < 0)
		return 1;
	status = strcmp(argv[optind], "info") == 0 ? info(c) : verify(c);
	chain_close(c);
	return status;
}
