/*
 * The node registry's C side (chain/registry.c): the policy and shard rules, the
 * Registry contract's calldata and return data, and the embedded ledger, which is one
 * machine and refuses a cluster. The contract itself runs on anvil in
 * tests/compat/registry.js.
 */
#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/abi_i.h"
#include "chain/chain.h"
#include "chain/registry_i.h"
#include "codec/hex.h"
#include "tests/tap.h"

static void test_policy(void)
{
	static const struct {
		unsigned k, m;
		int ok;
	} cases[] = {
	    {0, 0, 1},	   {2, 2, 1},
	    {4, 2, 1},	   {1, 255, 1},
	    {255, 1, 1},   {128, 128, 1},
	    {0, 2, 0},	   {2, 0, 0},
	    {128, 129, 0}, {256, 1, 0},
	    {1, 256, 0},   {300, 0, 0},
	    {0, 300, 0},   {1u << 31, 1u << 31, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chain_policy p = {cases[i].k, cases[i].m};
		int r = chain_policy_check(&p);

		ok(cases[i].ok ? r == 0 : r == -EINVAL && chain_last_detail()[0], "policy %u+%u %s",
		   p.ec_k, p.ec_m, cases[i].ok ? "accepted" : "refused");
	}
	ok(chain_policy_check(NULL) == -EINVAL, "no policy: -EINVAL");
}

static void test_shard(void)
{
	ok(chain_shard_check(0, 1) == 0 && chain_shard_check(3, 4) == 0 &&
	       chain_shard_check(0, 1ULL << 63) == 0 &&
	       chain_shard_check((1ULL << 63) - 1, 1ULL << 63) == 0,
	   "shards 0/1, 3/4, 0/2^63 and 2^63-1/2^63 are accepted");
	ok(chain_shard_check(4, 4) == -EINVAL && strstr(chain_last_detail(), "shard 4"),
	   "shard 4/4 is refused: %s", chain_last_detail());
	ok(chain_shard_check(0, 3) == -EINVAL && strstr(chain_last_detail(), "power of two"),
	   "3 shards are refused: %s", chain_last_detail());
	ok(chain_shard_check(0, 0) == -EINVAL, "0 shards are refused");
	ok(chain_shard_check(0, UINT64_MAX) == -EINVAL, "2^64-1 shards are refused");
}

/* register("http://a", 1, 4, 0x11..) as ethers encodes it. */
static void test_encode(void)
{
	uint8_t replaces[CHAIN_ADDRESS_SIZE], sel[4], word[32];
	struct chain_wbuf w;

	memset(replaces, 0x11, sizeof(replaces));
	chain_wbuf_init(&w, 1024);
	chain_registry_encode_register("http://a", 1, 4, replaces, &w);
	chain_abi_selector(CHAIN_REGISTRY_SIG_REGISTER, sel);
	ok(w.err == 0 && w.len == 4 + 6 * 32, "register calldata: selector and 6 words");
	chain_abi_put_u64(word, 128);
	ok(!memcmp(w.data, sel, 4) && !memcmp(w.data + 4, word, 32), "the string's offset is 0x80");
	chain_abi_put_u64(word, 1);
	ok(!memcmp(w.data + 36, word, 32), "shardId");
	chain_abi_put_u64(word, 4);
	ok(!memcmp(w.data + 68, word, 32), "numShard");
	chain_abi_put_address(word, replaces);
	ok(!memcmp(w.data + 100, word, 32), "replaces");
	chain_abi_put_u64(word, 8);
	ok(!memcmp(w.data + 132, word, 32) && !memcmp(w.data + 164, "http://a", 8) &&
	       w.data[172] == 0 && w.data[195] == 0,
	   "the URL: its length, its bytes, zero padding");
	w.len = 0;
	chain_registry_encode_register("x", 0, 1, NULL, &w);
	memset(word, 0, sizeof(word));
	ok(w.err == 0 && !memcmp(w.data + 100, word, 32), "no replaces: the zero address");
	chain_wbuf_release(&w);
}

/* node(i)'s return data for an entry with this URL length. */
static size_t node_data(uint8_t *buf, size_t ulen, uint64_t shard, uint64_t num)
{
	uint8_t id[CHAIN_ADDRESS_SIZE];
	size_t n = 6 * 32 + (ulen + 31) / 32 * 32;

	memset(buf, 0, n);
	memset(id, 0xab, sizeof(id));
	chain_abi_put_address(buf, id);
	chain_abi_put_u64(buf + 32, 5 * 32);
	chain_abi_put_u64(buf + 64, shard);
	chain_abi_put_u64(buf + 96, num);
	chain_abi_put_u64(buf + 128, 77);
	chain_abi_put_u64(buf + 160, ulen);
	memset(buf + 192, 'u', ulen);
	return n;
}

static void test_decode(void)
{
	uint8_t buf[6 * 32 + 512];
	struct chain_node n;
	struct chain_policy p;
	size_t len = node_data(buf, 20, 2, 4);
	int all = 1;

	ok(chain_registry_decode_node(buf, len, &n) == 0 && n.id[0] == 0xab && n.shard_id == 2 &&
	       n.num_shard == 4 && n.block == 77 && strlen(n.url) == 20 && n.url[0] == 'u',
	   "node(i) decodes: id, URL, shard, block");
	for (size_t l = 0; l < 6 * 32 + 20; l++)
		all &= chain_registry_decode_node(buf, l, &n) == -EBADMSG;
	ok(all, "every truncation of it is -EBADMSG");
	len = node_data(buf, CHAIN_REGISTRY_URL_MAX, 0, 1);
	ok(chain_registry_decode_node(buf, len, &n) == 0 && strlen(n.url) == CHAIN_REGISTRY_URL_MAX,
	   "a URL of CHAIN_REGISTRY_URL_MAX bytes decodes");
	len = node_data(buf, CHAIN_REGISTRY_URL_MAX + 1, 0, 1);
	ok(chain_registry_decode_node(buf, len, &n) == -EBADMSG, "one byte more is -EBADMSG");
	len = node_data(buf, 8, 4, 4);
	ok(chain_registry_decode_node(buf, len, &n) == -EBADMSG, "shard 4/4 is -EBADMSG");
	len = node_data(buf, 8, 0, 1);
	buf[192 + 3] = '\0';
	ok(chain_registry_decode_node(buf, len, &n) == -EBADMSG, "a NUL in the URL is -EBADMSG");
	len = node_data(buf, 8, 0, 1);
	chain_abi_put_u64(buf + 32, 5 * 32 + 1);
	ok(chain_registry_decode_node(buf, len, &n) == -EBADMSG, "an unaligned offset is -EBADMSG");
	chain_abi_put_u64(buf + 32, 1u << 20);
	ok(chain_registry_decode_node(buf, len, &n) == -EBADMSG,
	   "an offset past the data is -EBADMSG");

	memset(buf, 0, 64);
	chain_abi_put_u64(buf, 2);
	chain_abi_put_u64(buf + 32, 2);
	ok(chain_registry_decode_policy(buf, 64, &p) == 0 && p.ec_k == 2 && p.ec_m == 2,
	   "policy() 2+2 decodes");
	ok(chain_registry_decode_policy(buf, 63, &p) == -EBADMSG, "a short policy() is -EBADMSG");
	chain_abi_put_u64(buf + 32, 255);
	ok(chain_registry_decode_policy(buf, 64, &p) == -EBADMSG,
	   "policy() 2+255 (past 256 symbols) is -EBADMSG");
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void test_local(void)
{
	uint8_t seed[32] = {7}, pk[32], sk[64], other[CHAIN_ADDRESS_SIZE], self[CHAIN_ADDRESS_SIZE];
	char dir[] = "/tmp/zgfs-registry-XXXXXX", url[CHAIN_REGISTRY_URL_MAX + 2];
	struct chain_node nodes[4];
	struct chain_policy p = {9, 9};
	struct chain_flow f;
	struct chain *c;
	uint64_t index = 99, balance;
	size_t n = 9;
	int r;

	crypto_sign_seed_keypair(pk, sk, seed);
	if (!mkdtemp(dir) || chain_local_open(dir, sk, &c) < 0) {
		ok(0, "an embedded ledger opens");
		return;
	}
	ok(chain_registry_policy(c, &p) == 0 && p.ec_k == 0 && p.ec_m == 0,
	   "the embedded ledger's policy is none");
	ok(chain_registry_nodes(c, nodes, 4, &n) == 0 && n == 0, "and it lists no node at first");
	ok(chain_flow_info(c, &f) == 0 && !f.registry[0] &&
	       !memcmp(f.registry, f.registry + 1, CHAIN_ADDRESS_SIZE - 1),
	   "and names no registry");

	r = chain_registry_register(c, "http://10.0.0.1:5678", 1, 4, NULL, &index);
	ok(r == -CHAIN_ECLUSTER && index == 99, "registering shard 1/4 is -CHAIN_ECLUSTER");
	ok(strstr(chain_strerror(r), "the embedded ledger is one machine") &&
	       strstr(chain_strerror(r), "zgfs chain deploy --rpc URL"),
	   "which says: %s", chain_strerror(r));
	ok(chain_registry_register(c, "http://x", 0, 2, NULL, NULL) == -CHAIN_ECLUSTER,
	   "shard 0/2 too");
	memset(other, 0x42, sizeof(other));
	ok(chain_registry_register(c, "http://x", 0, 1, other, NULL) == -CHAIN_ECLUSTER,
	   "and a takeover of another node, even 0/1");
	ok(chain_registry_nodes(c, nodes, 4, &n) == 0 && n == 0, "none of them registered");

	ok(chain_registry_register(c, "", 0, 1, NULL, NULL) == -EINVAL, "an empty URL: -EINVAL");
	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	ok(chain_registry_register(c, url, 0, 1, NULL, NULL) == -EINVAL &&
	       strstr(chain_last_detail(), "256"),
	   "a URL of 257 bytes: -EINVAL (%s)", chain_last_detail());
	ok(chain_registry_register(c, "http://x", 0, 3, NULL, NULL) == -EINVAL &&
	       strstr(chain_last_detail(), "power of two"),
	   "3 shards: -EINVAL (%s)", chain_last_detail());
	ok(chain_registry_register(c, "http://x", 2, 2, NULL, NULL) == -EINVAL,
	   "shard 2/2: -EINVAL");
	ok(chain_registry_register(NULL, "http://x", 0, 1, NULL, NULL) == -EINVAL &&
	       chain_registry_register(c, NULL, 0, 1, NULL, NULL) == -EINVAL &&
	       chain_registry_nodes(c, NULL, 1, &n) == -EINVAL &&
	       chain_registry_policy(c, NULL) == -EINVAL,
	   "NULL arguments: -EINVAL");

	ok(chain_account(c, self, &balance) == 0, "the ledger's account");
	url[CHAIN_REGISTRY_URL_MAX] = '\0';
	ok(chain_registry_register(c, url, 0, 1, self, &index) == 0 && index == 0,
	   "0/1 with a URL of 256 bytes registers at index 0 (replaces = itself)");
	ok(chain_registry_register(c, "http://127.0.0.1:5678", 0, 1, NULL, &index) == 0 &&
	       index == 0,
	   "registering again replaces the entry");
	ok(chain_registry_nodes(c, nodes, 4, &n) == 0 && n == 1 &&
	       !memcmp(nodes[0].id, self, CHAIN_ADDRESS_SIZE) &&
	       !strcmp(nodes[0].url, "http://127.0.0.1:5678") && nodes[0].shard_id == 0 &&
	       nodes[0].num_shard == 1,
	   "the list is the node itself: its account, its new URL, 0/1");
	ok(chain_registry_nodes(c, nodes, 0, &n) == 0 && n == 0, "max 0 lists nothing");
	chain_close(c);
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	if (sodium_init() < 0)
		skip_all("libsodium does not initialise");
	test_policy();
	test_shard();
	test_encode();
	test_decode();
	test_local();
	return tap_done();
}
