/*
 * zgfs chain: the chain a data directory settles on.
 *   zgfs chain deploy --rpc URL [--data DIR] [--key FILE] [--price WEI] [--confirmations N]
 *                     [--ec K+M] [--pora-difficulty N] [--epoch-blocks N]
 *                     [--target-answers N] [--base-reward WEI] [--donate WEI]
 *                     [--da-epoch-blocks N] [--da-slots N] [--da-stake-unit WEI]
 *                     [--da-min-stake WEI] [--da-sample-blocks N] [--da-sample-window N]
 *                     [--da-fee WEI]
 *                                  the Registry (with the cluster's policy), Flow, Market,
 *                                  Mine (with the mining parameters), DA, and a donation
 *   zgfs chain attach --rpc URL --flow 0xADDR [--data DIR] [--confirmations N]
 *   zgfs chain info [--data DIR]    height, flow, pools, the account, registry and nodes
 *   zgfs chain verify [--data DIR]  embedded: replay every block; EVM: replay the followed
 *                                   entries and compare with the contract
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/chain.h"
#include "cli/cli.h"
#include "codec/hex.h"
#include "node/key.h"

enum {
	OPT_DATA = 0x100,
	OPT_RPC,
	OPT_KEY,
	OPT_PRICE,
	OPT_CONFIRMATIONS,
	OPT_FLOW,
	OPT_EC,
	OPT_DA_EPOCH_BLOCKS,
	OPT_DA_SLOTS,
	OPT_DA_STAKE_UNIT,
	OPT_DA_MIN_STAKE,
	OPT_DA_SAMPLE_BLOCKS,
	OPT_DA_SAMPLE_WINDOW,
	OPT_DA_FEE,
};

#define SHOW_POOLS 16

/* 1 gwei per 256-byte sector: about 0.004 ETH per GiB. */
#define DEFAULT_PRICE 1000000000ULL

struct chain_args {
	const char *data, *rpc, *key_file, *flow;
	uint64_t price;
	unsigned confirmations;
	struct chain_policy policy;
	struct cli_pora pora;
	struct chain_da_config da;
	char dir[PATH_MAX];
};

static int open_ledger(const char *dir, struct chain **ret)
{
	char chain_dir[PATH_MAX + 8];
	uint8_t sk[64], pk[32];
	int r;

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

/* The chain DIR settles on: the EVM chain its chain.json records, else the ledger. */
static int open_chain(const struct chain_args *a, struct chain **ret, bool *ret_evm)
{
	struct chain_evm_record rec;
	struct chain_evm_config cfg = {0};
	char sub[PATH_MAX + 16];
	int r = chain_evm_record_load(a->dir, &rec);

	*ret_evm = r == 0;
	if (r == -ENOENT)
		return open_ledger(a->dir, ret);
	if (r < 0) {
		cli_error("%s", cli_why(r));
		return -1;
	}
	cfg.rpc_url = a->rpc ? a->rpc : rec.rpc;
	memcpy(cfg.flow, rec.flow, CHAIN_ADDRESS_SIZE);
	cfg.from_block = rec.block;
	cfg.chain_id = rec.chain_id;
	cfg.confirmations = rec.confirmations;
	cfg.key_hex = getenv("ZGFS_KEY");
	cfg.key_file = a->key_file;
	snprintf(sub, sizeof(sub), "%s/chain-evm", a->dir);
	r = chain_evm_open(sub, &cfg, ret);
	if (r == -EBUSY)
		cli_error("%s is in use by a running node or mount; ask it with 'zgfs status "
			  "--node URL'",
			  a->dir);
	else if (r < 0)
		cli_error("cannot follow the chain at %s: %s", cfg.rpc_url, cli_why(r));
	return r < 0 ? -1 : 0;
}

/* The mining state, when the chain has PoRA. */
static void pora_info(struct chain *c)
{
	struct chain_pora_info p;
	uint64_t donations = 0;
	char hex[2 * CODEC_HASH_SIZE + 3];

	if (chain_pora_info(c, &p) < 0)
		return;
	chain_donations(c, &donations);
	printf("donation pool:   %llu\n", (unsigned long long)donations);
	printf("pora:            difficulty %llu, %llu blocks per epoch, %llu target answers, "
	       "base reward %llu\n",
	       (unsigned long long)p.params.difficulty, (unsigned long long)p.params.epoch_blocks,
	       (unsigned long long)p.params.target_answers,
	       (unsigned long long)p.params.base_reward);
	codec_hex_encode(p.context, CODEC_HASH_SIZE, hex);
	printf("pora epoch:      %llu, context %s\n", (unsigned long long)p.epoch, hex);
	codec_hex_encode(p.target, CODEC_HASH_SIZE, hex);
	printf("pora target:     %s\n", hex);
	printf("pora answers:    %llu accepted (%llu this epoch), %llu paid\n",
	       (unsigned long long)p.accepted, (unsigned long long)p.epoch_answers,
	       (unsigned long long)p.paid);
}

/* The DA contract, when the chain has one (docs/DA.md). */
static void da_info(struct chain *c)
{
	struct chain_da_contract d;
	char hex[2 * CODEC_HASH_SIZE + 3];
	const char *unit;

	if (chain_da_contract(c, &d) < 0)
		return;
	/* The embedded ledger's epochs and periods count seconds of block time. */
	unit = d.seconds ? "s" : " blocks";
	codec_hex_encode(d.address, CHAIN_ADDRESS_SIZE, hex);
	printf("da:              %s\n", d.seconds ? "the embedded ledger's DA rules" : hex);
	printf("da params:       epochs of %llu%s from block %llu, %u slots, a ticket per "
	       "%llu wei, least stake %llu wei\n",
	       (unsigned long long)d.epoch_blocks, unit, (unsigned long long)d.first_block, d.slots,
	       (unsigned long long)d.stake_unit, (unsigned long long)d.min_stake);
	codec_hex_encode(d.seed, CODEC_HASH_SIZE, hex);
	printf("da epoch:        %llu, seed %s\n", (unsigned long long)d.epoch,
	       d.has_seed ? hex : "not recorded yet");
	printf("da signers:      %llu\n", (unsigned long long)d.signers);
	printf("da sampling:     periods of %llu%s, blobs sampled for %llu periods, "
	       "fee %llu wei per KiB, reward pool %llu wei; period %llu, seed %s\n",
	       (unsigned long long)d.sample_blocks, unit, (unsigned long long)d.sample_window,
	       (unsigned long long)d.fee_per_kib, (unsigned long long)d.reward_pool,
	       (unsigned long long)d.period, d.has_sample_seed ? "recorded" : "not recorded yet");
}

/* The registry, its policy and its nodes; nothing for a Flow that names no registry. */
static int registry_info(struct chain *c, const struct chain_flow *f)
{
	struct chain_node *nodes = calloc(CHAIN_REGISTRY_NODES_MAX, sizeof(*nodes));
	struct chain_policy p;
	char hex[2 * CHAIN_ADDRESS_SIZE + 3];
	size_t n = 0;
	int r = nodes ? chain_registry_policy(c, &p) : -ENOMEM;

	if (r == -ENOTSUP) {
		printf("registry:        none (this Flow names no registry)\n");
		free(nodes);
		return 0;
	}
	if (r == 0)
		r = chain_registry_nodes(c, nodes, CHAIN_REGISTRY_NODES_MAX, &n);
	if (r < 0) {
		cli_error("chain info: the node registry: %s", cli_why(r));
		free(nodes);
		return -1;
	}
	codec_hex_encode(f->registry, CHAIN_ADDRESS_SIZE, hex);
	printf("registry:        %s\n",
	       f->registry[0] || memcmp(f->registry, f->registry + 1, CHAIN_ADDRESS_SIZE - 1)
		   ? hex
		   : "none (the embedded ledger is one machine)");
	if (p.ec_k)
		printf("policy:          erasure code %u+%u\n", p.ec_k, p.ec_m);
	else
		printf("policy:          none (replication by shard)\n");
	printf("nodes:           %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		codec_hex_encode(nodes[i].id, CHAIN_ADDRESS_SIZE, hex);
		printf("node %-4zu        %s shard %llu/%llu %s (block %llu)\n", i, hex,
		       (unsigned long long)nodes[i].shard_id,
		       (unsigned long long)nodes[i].num_shard, nodes[i].url,
		       (unsigned long long)nodes[i].block);
	}
	free(nodes);
	return 0;
}

static int info(struct chain *c, bool evm, const char *dir)
{
	struct chain_flow f;
	struct chain_pool pools[SHOW_POOLS];
	uint8_t addr[CHAIN_ADDRESS_SIZE];
	uint64_t balance = 0;
	size_t npools;
	char hex[2 * CODEC_HASH_SIZE + 3];
	bool has_account = true;
	int r;

	r = chain_flow_info(c, &f);
	if (r == 0) {
		r = chain_account(c, addr, &balance);
		if (r == -CHAIN_ENOKEY) {
			has_account = false;
			r = 0;
		}
	}
	if (r == 0)
		r = chain_pools(c, pools, SHOW_POOLS, &npools);
	if (r < 0) {
		cli_error("chain info: %s", cli_why(r));
		return 1;
	}
	if (evm) {
		struct chain_evm_record rec;

		if (chain_evm_record_load(dir, &rec) == 0) {
			printf("rpc:             %s\n", rec.rpc);
			codec_hex_encode(rec.flow, CHAIN_ADDRESS_SIZE, hex);
			printf("flow:            %s\n", hex);
			codec_hex_encode(rec.market, CHAIN_ADDRESS_SIZE, hex);
			printf("market:          %s\n", hex);
		}
	}
	if (registry_info(c, &f) < 0)
		return 1;
	codec_hex_encode(f.head, CODEC_HASH_SIZE, hex);
	printf("chain id:        %llu\n", (unsigned long long)f.chain_id);
	printf("height:          %llu\n", (unsigned long long)f.height);
	printf("head:            %s\n", hex);
	printf("entries:         %llu\n", (unsigned long long)f.next_tx_seq);
	codec_hex_encode(f.root, CODEC_HASH_SIZE, hex);
	printf("flow length:     %llu sectors\n", (unsigned long long)f.length);
	printf("flow root:       %s\n", hex);
	printf("price/sector:    %llu%s\n", (unsigned long long)f.price_per_sector,
	       evm ? " wei" : "");
	if (has_account) {
		codec_hex_encode(addr, CHAIN_ADDRESS_SIZE, hex);
		printf("account:         %s\n", hex);
		printf("balance:         %llu%s\n", (unsigned long long)balance,
		       evm ? (balance == UINT64_MAX ? " wei or more" : " wei") : "");
	} else {
		printf("account:         none (no key: set ZGFS_KEY to see one)\n");
	}
	for (size_t i = 0; i < npools; i++)
		printf("pool %-10llu filled %llu, released %llu, claimed %llu, balance %llu%s\n",
		       (unsigned long long)pools[i].index,
		       (unsigned long long)(pools[i].balance + pools[i].claimed),
		       (unsigned long long)pools[i].released, (unsigned long long)pools[i].claimed,
		       (unsigned long long)pools[i].balance, pools[i].full ? ", full" : "");
	pora_info(c);
	da_info(c);
	return 0;
}

/* The replay's progress line: blocks (ledger) or entries (EVM). */
static void verify_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ctx;

	if (!p->start)
		cli_progress_count(p, "chain verify", p->unit, total);
	p->total = total;
	if (done > p->done)
		cli_progress_add(p, done - p->done);
}

static int verify(struct chain *c, bool evm)
{
	struct cli_progress prog = {.unit = evm ? "entries" : "blocks"};
	struct chain_verify_report rep;
	int r;

	memset(&rep, 0, sizeof(rep));
	r = chain_verify_progress(c, verify_progress, &prog, &rep);
	if (prog.on)
		cli_progress_end(&prog);
	if (r < 0) {
		if (r == -CHAIN_ETAMPERED)
			cli_error("chain verify: block %llu is wrong: %s",
				  (unsigned long long)rep.bad_block, rep.reason);
		else
			cli_error("chain verify: %s", cli_why(r));
		return 1;
	}
	if (evm)
		printf("ok: %llu blocks, %llu entries; every entry replays through the Flow rules "
		       "and the contract's submissions, flow length and root match\n",
		       (unsigned long long)rep.blocks, (unsigned long long)rep.entries);
	else
		printf("ok: %llu blocks, %llu entries, %llu PoRA answers re-verified; hashes, "
		       "links, signatures and state check out\n",
		       (unsigned long long)rep.blocks, (unsigned long long)rep.entries,
		       (unsigned long long)rep.answers);
	return 0;
}

/* DIR must not settle anywhere yet: no record, no embedded ledger. */
static int fresh_dir(const char *dir)
{
	struct chain_evm_record rec;
	char sub[PATH_MAX + 16];
	char hex[2 * CHAIN_ADDRESS_SIZE + 3];

	int r = chain_evm_record_load(dir, &rec);

	if (r == 0) {
		codec_hex_encode(rec.flow, CHAIN_ADDRESS_SIZE, hex);
		cli_error("%s already settles on flow %s at %s; remove %s/chain.json to start "
			  "anew",
			  dir, hex, rec.rpc, dir);
		return -1;
	}
	if (r != -ENOENT) {
		cli_error("%s/chain.json exists but cannot be read (%s); remove it to start anew",
			  dir, cli_why(r));
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s/chain", dir);
	if (access(sub, F_OK) == 0) {
		cli_error("%s holds an embedded ledger; use a new data directory for an EVM chain",
			  dir);
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int record(const struct chain_args *a, const uint8_t flow[CHAIN_ADDRESS_SIZE],
		  const uint8_t market[CHAIN_ADDRESS_SIZE],
		  const uint8_t registry[CHAIN_ADDRESS_SIZE], uint64_t chain_id, uint64_t block)
{
	struct chain_evm_record rec = {0};
	int r;

	snprintf(rec.rpc, sizeof(rec.rpc), "%s", a->rpc);
	memcpy(rec.flow, flow, CHAIN_ADDRESS_SIZE);
	memcpy(rec.market, market, CHAIN_ADDRESS_SIZE);
	memcpy(rec.registry, registry, CHAIN_ADDRESS_SIZE);
	rec.chain_id = chain_id;
	rec.block = block;
	rec.confirmations = a->confirmations;
	r = chain_evm_record_save(a->dir, &rec);
	if (r < 0)
		cli_error("cannot write %s/chain.json: %s", a->dir, strerror(-r));
	return r < 0 ? -1 : 0;
}

/* Funds the donation pool (base rewards) of the chain just recorded in a->dir. */
static int donate(const struct chain_args *a, uint64_t amount)
{
	struct chain *c;
	bool evm;
	int r;

	if (open_chain(a, &c, &evm) < 0)
		return -1;
	r = chain_donate(c, amount);
	if (r < 0)
		cli_error("chain deploy: the donation of %llu wei: %s", (unsigned long long)amount,
			  cli_why(r));
	chain_close(c);
	return r < 0 ? -1 : 0;
}

static int deploy(const struct chain_args *a)
{
	struct chain_evm_config cfg = {0};
	struct chain_evm_deployment d;
	char hex[2 * CHAIN_ADDRESS_SIZE + 3];
	int r;

	if (fresh_dir(a->dir) < 0)
		return 1;
	cfg.rpc_url = a->rpc;
	cfg.confirmations = a->confirmations;
	cfg.key_hex = getenv("ZGFS_KEY");
	cfg.key_file = cfg.key_hex ? NULL : a->key_file;
	if (!cfg.key_hex && !cfg.key_file) {
		cli_error("chain deploy: %s", chain_strerror(-CHAIN_ENOKEY));
		return 2;
	}
	r = chain_evm_deploy(&cfg, a->price, &a->policy, &a->pora.params, &a->da, &d);
	if (r < 0) {
		cli_error("chain deploy at %s: %s", a->rpc, cli_why(r));
		return 1;
	}
	if (record(a, d.flow, d.market, d.registry, d.chain_id, d.block) < 0)
		return 1;
	if (a->pora.donate && donate(a, a->pora.donate) < 0)
		return 1;
	codec_hex_encode(d.flow, CHAIN_ADDRESS_SIZE, hex);
	printf("flow %s\n", hex);
	codec_hex_encode(d.market, CHAIN_ADDRESS_SIZE, hex);
	printf("market %s\n", hex);
	codec_hex_encode(d.registry, CHAIN_ADDRESS_SIZE, hex);
	printf("registry %s\n", hex);
	codec_hex_encode(d.mine, CHAIN_ADDRESS_SIZE, hex);
	printf("mine %s\n", hex);
	codec_hex_encode(d.da, CHAIN_ADDRESS_SIZE, hex);
	printf("da %s\n", hex);
	if (d.policy.ec_k)
		printf("policy %u+%u\n", d.policy.ec_k, d.policy.ec_m);
	else
		printf("policy none\n");
	fprintf(stderr, "zgfs: deployed on chain %llu in block %llu; recorded in %s/chain.json\n",
		(unsigned long long)d.chain_id, (unsigned long long)d.block, a->dir);
	return 0;
}

/* Records contracts someone else deployed: reads market() and the chain id to check them. */
static int attach(const struct chain_args *a)
{
	struct chain_evm_config cfg = {0};
	struct chain_flow f;
	struct chain *c = NULL;
	char tmp[PATH_MAX + 32];
	int r;

	if (!a->flow || strlen(a->flow) != 42 || codec_hex_decode(a->flow, cfg.flow, 20) < 0) {
		cli_error("chain attach: --flow takes the Flow contract's address, 0x and 40 hex "
			  "digits");
		return 2;
	}
	if (fresh_dir(a->dir) < 0)
		return 1;
	cfg.rpc_url = a->rpc;
	cfg.confirmations = a->confirmations;
	/* Following once checks that the contract answers as a Flow (and reads its market
	 * and its registry, with the cluster's policy);
	 * what it read stays for the node. Attached contracts are followed from block 0. */
	snprintf(tmp, sizeof(tmp), "%s/chain-evm", a->dir);
	r = chain_evm_open(tmp, &cfg, &c);
	if (r == 0)
		r = chain_flow_info(c, &f);
	if (r < 0) {
		cli_error("chain attach: %s", cli_why(r));
		chain_close(c);
		return 1;
	}
	chain_close(c);
	return record(a, cfg.flow, f.market, f.registry, f.chain_id, 0) < 0 ? 1 : 0;
}

/* --ec K+M (or "none"): the redundancy policy the registry is deployed with. */
static int parse_policy(const char *s, struct chain_policy *ret)
{
	struct chain_policy p = {0, 0};
	unsigned long k, m;
	char *end;

	if (strcmp(s, "none") != 0) {
		errno = 0;
		k = strtoul(s, &end, 10);
		if (errno || end == s || *end != '+' || k > CHAIN_EC_SYMBOLS_MAX)
			goto bad;
		s = end + 1;
		m = strtoul(s, &end, 10);
		if (errno || end == s || *end || m > CHAIN_EC_SYMBOLS_MAX)
			goto bad;
		p = (struct chain_policy){(unsigned)k, (unsigned)m};
		if (chain_policy_check(&p) < 0) {
			cli_error("chain: --ec %u+%u: %s", p.ec_k, p.ec_m, chain_last_detail());
			return -1;
		}
	}
	*ret = p;
	return 0;
bad:
	cli_error("chain: --ec takes K+M, data and parity segments per stripe (e.g. 4+2; "
		  "K+M at most %d), or none",
		  CHAIN_EC_SYMBOLS_MAX);
	return -1;
}

static void set_da_option(struct chain_da_config *da, int opt, uint64_t num)
{
	switch (opt) {
	case OPT_DA_EPOCH_BLOCKS:
		da->epoch_blocks = num;
		break;
	case OPT_DA_STAKE_UNIT:
		da->stake_unit = num;
		break;
	case OPT_DA_MIN_STAKE:
		da->min_stake = num;
		break;
	case OPT_DA_SLOTS:
		da->slots = (unsigned)num;
		break;
	case OPT_DA_SAMPLE_BLOCKS:
		da->sample_blocks = num;
		break;
	case OPT_DA_SAMPLE_WINDOW:
		da->sample_window = num;
		break;
	default:
		da->fee_per_kib = num;
	}
}

int cmd_chain(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"data", required_argument, NULL, OPT_DATA},
	    {"rpc", required_argument, NULL, OPT_RPC},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"price", required_argument, NULL, OPT_PRICE},
	    {"confirmations", required_argument, NULL, OPT_CONFIRMATIONS},
	    {"flow", required_argument, NULL, OPT_FLOW},
	    {"ec", required_argument, NULL, OPT_EC},
	    {"da-epoch-blocks", required_argument, NULL, OPT_DA_EPOCH_BLOCKS},
	    {"da-slots", required_argument, NULL, OPT_DA_SLOTS},
	    {"da-stake-unit", required_argument, NULL, OPT_DA_STAKE_UNIT},
	    {"da-min-stake", required_argument, NULL, OPT_DA_MIN_STAKE},
	    {"da-sample-blocks", required_argument, NULL, OPT_DA_SAMPLE_BLOCKS},
	    {"da-sample-window", required_argument, NULL, OPT_DA_SAMPLE_WINDOW},
	    {"da-fee", required_argument, NULL, OPT_DA_FEE},
	    CLI_PORA_OPTIONS,
	    {NULL, 0, NULL, 0},
	};
	struct chain_args a = {
	    .price = DEFAULT_PRICE, .pora = CLI_PORA_INIT, .da = CHAIN_DA_DEFAULTS};
	unsigned long long num;
	const char *verb;
	struct chain *c;
	char *end;
	bool evm;
	int ch, status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DATA:
			a.data = optarg;
			break;
		case OPT_RPC:
			a.rpc = optarg;
			break;
		case OPT_KEY:
			a.key_file = optarg;
			break;
		case OPT_FLOW:
			a.flow = optarg;
			break;
		case OPT_EC:
			if (parse_policy(optarg, &a.policy) < 0)
				return 2;
			break;
		case OPT_PRICE:
			errno = 0;
			a.price = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || a.price == 0) {
				cli_error(
				    "chain: --price takes wei per sector, a whole number > 0");
				return 2;
			}
			break;
		case OPT_DA_EPOCH_BLOCKS:
		case OPT_DA_STAKE_UNIT:
		case OPT_DA_MIN_STAKE:
		case OPT_DA_SLOTS:
		case OPT_DA_SAMPLE_BLOCKS:
		case OPT_DA_SAMPLE_WINDOW:
		case OPT_DA_FEE:
			if (cli_parse_u64(optarg, &num) < 0 ||
			    (ch != OPT_DA_MIN_STAKE && ch != OPT_DA_FEE && num == 0) ||
			    (ch == OPT_DA_SLOTS && num > 64)) {
				cli_error("chain: --da-epoch-blocks, --da-stake-unit, "
					  "--da-sample-blocks and --da-sample-window take a whole "
					  "number > 0, --da-min-stake and --da-fee one >= 0 (wei), "
					  "--da-slots 1 to 64");
				return 2;
			}
			set_da_option(&a.da, ch, num);
			break;
		case OPT_CONFIRMATIONS: {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 1000) {
				cli_error("chain: --confirmations takes 0 to 1000 blocks");
				return 2;
			}
			a.confirmations = (unsigned)v;
			break;
		}
		default:
			switch (cli_pora_option(&a.pora, ch, optarg)) {
			case 0:
				break;
			case -EINVAL:
				return 2;
			default:
				cli_usage(stderr, "chain");
				return 2;
			}
		}
	}
	if (argc - optind != 1) {
		cli_usage(stderr, "chain");
		return 2;
	}
	verb = argv[optind];
	if (cli_data_dir(a.data, a.dir, sizeof(a.dir)) < 0) {
		cli_error("no data directory: give --data DIR or set ZGFS_DATA");
		return 2;
	}
	if (strcmp(verb, "deploy") == 0 || strcmp(verb, "attach") == 0) {
		if (!a.rpc) {
			cli_error("chain %s: give the chain's JSON-RPC endpoint with --rpc URL",
				  verb);
			return 2;
		}
		return verb[0] == 'd' ? deploy(&a) : attach(&a);
	}
	if (strcmp(verb, "info") != 0 && strcmp(verb, "verify") != 0) {
		cli_usage(stderr, "chain");
		return 2;
	}
	if (open_chain(&a, &c, &evm) < 0)
		return 1;
	status = strcmp(verb, "info") == 0 ? info(c, evm, a.dir) : verify(c, evm);
	chain_close(c);
	return status;
}
