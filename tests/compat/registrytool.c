/*
 * registrytool - the node registry through chain.h, for tests/compat/registry.js.
 *
 *   registrytool DIR policy                    "none" or "K+M"
 *   registrytool DIR nodes                     one line per entry:
 *                                              "INDEX 0xID SHARD/NUM BLOCK URL"
 *   registrytool DIR register URL I/N [0xOLD]  "index N"; the key is ZGFS_KEY (hex; empty
 *                                              or unset: none)
 *
 * DIR is a data directory that `zgfs chain deploy` or `zgfs chain attach` recorded; the
 * chain is opened as zgfs opens it (DIR/chain.json, followed entries in DIR/chain-evm).
 * A failure prints "error CODE: MESSAGE: DETAIL" (CODE the negative return value) and
 * exits 1; bad usage exits 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "codec/hex.h"

static int fail(int r)
{
	printf("error %d: %s: %s\n", r, chain_strerror(r), chain_last_detail());
	return 1;
}

static int open_dir(const char *dir, struct chain **ret)
{
	struct chain_evm_record rec;
	struct chain_evm_config cfg = {0};
	char follow[4096];
	int r = chain_evm_record_load(dir, &rec);

	if (r < 0)
		return r;
	cfg.rpc_url = rec.rpc;
	memcpy(cfg.flow, rec.flow, CHAIN_ADDRESS_SIZE);
	cfg.from_block = rec.block;
	cfg.chain_id = rec.chain_id;
	cfg.confirmations = rec.confirmations;
	cfg.key_hex = getenv("ZGFS_KEY");
	if (cfg.key_hex && !cfg.key_hex[0])
		cfg.key_hex = NULL; /* set but empty: no key */
	snprintf(follow, sizeof(follow), "%s/chain-evm", dir);
	return chain_evm_open(follow, &cfg, ret);
}

static int list(struct chain *c)
{
	struct chain_node *nodes = calloc(CHAIN_REGISTRY_NODES_MAX, sizeof(*nodes));
	char hex[2 * CHAIN_ADDRESS_SIZE + 3];
	size_t n;
	int r = nodes ? chain_registry_nodes(c, nodes, CHAIN_REGISTRY_NODES_MAX, &n) : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++) {
		codec_hex_encode(nodes[i].id, CHAIN_ADDRESS_SIZE, hex);
		printf("%zu %s %" PRIu64 "/%" PRIu64 " %" PRIu64 " %s\n", i, hex, nodes[i].shard_id,
		       nodes[i].num_shard, nodes[i].block, nodes[i].url);
	}
	free(nodes);
	return r;
}

static int do_register(struct chain *c, int argc, char **argv)
{
	uint8_t old[CHAIN_ADDRESS_SIZE];
	unsigned long long shard, num;
	uint64_t index;
	char *end;
	int r;

	shard = strtoull(argv[0 + 1], &end, 10);
	if (*end != '/')
		return -EINVAL;
	num = strtoull(end + 1, &end, 10);
	if (*end)
		return -EINVAL;
	if (argc > 2 && (strlen(argv[2]) != 42 || codec_hex_decode(argv[2], old, sizeof(old)) < 0))
		return -EINVAL;
	r = chain_registry_register(c, argv[0], shard, num, argc > 2 ? old : NULL, &index);
	if (r == 0)
		printf("index %" PRIu64 "\n", index);
	return r;
}

int main(int argc, char **argv)
{
	struct chain *c = NULL;
	struct chain_policy p;
	int r;

	if (argc < 3 || (!strcmp(argv[2], "register") && argc != 5 && argc != 6)) {
		fprintf(stderr, "usage: registrytool DIR policy|nodes|register URL I/N [0xOLD]\n");
		return 2;
	}
	r = open_dir(argv[1], &c);
	if (r < 0)
		return fail(r);
	if (!strcmp(argv[2], "policy")) {
		r = chain_registry_policy(c, &p);
		if (r == 0 && p.ec_k)
			printf("%u+%u\n", p.ec_k, p.ec_m);
		else if (r == 0)
			printf("none\n");
	} else if (!strcmp(argv[2], "nodes")) {
		r = list(c);
	} else if (!strcmp(argv[2], "register")) {
		r = do_register(c, argc - 3, argv + 3);
	} else {
		r = -EINVAL;
	}
	chain_close(c);
	return r < 0 ? fail(r) : 0;
}
