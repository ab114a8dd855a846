/*
 * test_kv_format: the 0G-KV stream format codec. Random transactions round-trip through
 * the encoder and decoder; a hand-assembled payload decodes to what it says; every
 * malformed form is refused with its own code (every truncation of valid payloads,
 * oversized counts, empty keys, unknown ACL ops, value lengths past the end, trailing
 * bytes); tags are SHA256("STREAM") (checked with libsodium) followed by the stream ids.
 */
#include <errno.h>
#include <sodium.h>

#include "node/kv/format.h"
#include "tests/tap.h"

static const uint8_t valid_ops[] = {0x00, 0x01, 0x10, 0x11, 0x20, 0x21, 0x22, 0x30, 0x31, 0x32};

/* A random transaction whose pointers go into pool (which must hold pool_len bytes). */
struct rtx {
	struct node_kv_tx tx;
	struct node_kv_read reads[8];
	struct node_kv_write writes[8];
	struct node_kv_acl acls[12];
	uint8_t pool[1 << 16];
	size_t used;
};

static const uint8_t *pool_take(struct rtx *r, size_t n)
{
	uint8_t *p = r->pool + r->used;

	if (r->used + n > sizeof(r->pool))
		abort();
	tap_fill(p, n);
	/* Zero bytes and 0xff are the interesting ones for keys. */
	for (size_t i = 0; i < n; i++)
		if (tap_rand() % 5 == 0)
			p[i] = tap_rand() % 2 ? 0 : 0xff;
	r->used += n;
	return p;
}

static void random_tx(struct rtx *r)
{
	memset(&r->tx, 0, sizeof(r->tx));
	r->used = 0;
	r->tx.version = tap_rand() % 3 == 0 ? UINT64_MAX : tap_rand();
	r->tx.n_reads = tap_rand() % 9;
	r->tx.n_writes = tap_rand() % 9;
	r->tx.n_acls = tap_rand() % 13;
	r->tx.reads = r->reads;
	r->tx.writes = r->writes;
	r->tx.acls = r->acls;
	for (uint32_t i = 0; i < r->tx.n_reads; i++) {
		r->reads[i].stream_id = pool_take(r, 32);
		r->reads[i].key_len = 1 + tap_rand() % 40;
		r->reads[i].key = pool_take(r, r->reads[i].key_len);
	}
	for (uint32_t i = 0; i < r->tx.n_writes; i++) {
		r->writes[i].stream_id = pool_take(r, 32);
		r->writes[i].key_len = 1 + tap_rand() % 40;
		r->writes[i].key = pool_take(r, r->writes[i].key_len);
		r->writes[i].data_len = tap_rand() % 4 == 0 ? 0 : tap_rand() % 600;
		r->writes[i].data =
		    r->writes[i].data_len ? pool_take(r, r->writes[i].data_len) : NULL;
	}
	for (uint32_t i = 0; i < r->tx.n_acls; i++) {
		struct node_kv_acl *a = &r->acls[i];

		memset(a, 0, sizeof(*a));
		a->op = valid_ops[tap_rand() % sizeof(valid_ops)];
		a->stream_id = pool_take(r, 32);
		if (node_kv_acl_op_has_key(a->op)) {
			a->key_len = 1 + tap_rand() % 40;
			a->key = pool_take(r, a->key_len);
		}
		if (node_kv_acl_op_has_account(a->op))
			a->account = pool_take(r, 20);
	}
}

static int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static int tx_equal(const struct node_kv_tx *a, const struct node_kv_tx *b)
{
	if (a->version != b->version || a->n_reads != b->n_reads || a->n_writes != b->n_writes ||
	    a->n_acls != b->n_acls)
		return 0;
	for (uint32_t i = 0; i < a->n_reads; i++)
		if (!bytes_eq(a->reads[i].stream_id, b->reads[i].stream_id, 32) ||
		    a->reads[i].key_len != b->reads[i].key_len ||
		    !bytes_eq(a->reads[i].key, b->reads[i].key, a->reads[i].key_len))
			return 0;
	for (uint32_t i = 0; i < a->n_writes; i++)
		if (!bytes_eq(a->writes[i].stream_id, b->writes[i].stream_id, 32) ||
		    a->writes[i].key_len != b->writes[i].key_len ||
		    !bytes_eq(a->writes[i].key, b->writes[i].key, a->writes[i].key_len) ||
		    a->writes[i].data_len != b->writes[i].data_len ||
		    !bytes_eq(a->writes[i].data, b->writes[i].data, a->writes[i].data_len))
			return 0;
	for (uint32_t i = 0; i < a->n_acls; i++) {
		const struct node_kv_acl *x = &a->acls[i], *y = &b->acls[i];

		if (x->op != y->op || !bytes_eq(x->stream_id, y->stream_id, 32) ||
		    x->key_len != y->key_len || !bytes_eq(x->key, y->key, x->key_len) ||
		    (x->account == NULL) != (y->account == NULL) ||
		    (x->account && !bytes_eq(x->account, y->account, 20)))
			return 0;
	}
	return 1;
}

/* Decoded pointers must point into the decoded buffer: no copies. */
static int points_into(const struct node_kv_tx *tx, const uint8_t *buf, size_t len)
{
#define IN(p) ((p) == NULL || ((const uint8_t *)(p) >= buf && (const uint8_t *)(p) <= buf + len))
	for (uint32_t i = 0; i < tx->n_reads; i++)
		if (!IN(tx->reads[i].stream_id) || !IN(tx->reads[i].key))
			return 0;
	for (uint32_t i = 0; i < tx->n_writes; i++)
		if (!IN(tx->writes[i].stream_id) || !IN(tx->writes[i].key) ||
		    !IN(tx->writes[i].data))
			return 0;
	for (uint32_t i = 0; i < tx->n_acls; i++)
		if (!IN(tx->acls[i].stream_id) || !IN(tx->acls[i].key) || !IN(tx->acls[i].account))
			return 0;
#undef IN
	return 1;
}

static uint8_t *encode_alloc(const struct node_kv_tx *tx, size_t *ret_len)
{
	uint64_t size;
	uint8_t *buf;

	if (node_kv_tx_encoded_size(tx, &size) < 0)
		return NULL;
	buf = malloc(size ? size : 1);
	if (!buf || node_kv_tx_encode(tx, buf, size, ret_len) < 0 || *ret_len != size) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void test_domain(void)
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const uint8_t *)"STREAM", 6);
	ok(memcmp(h, node_kv_stream_domain, 32) == 0,
	   "node_kv_stream_domain is SHA256(\"STREAM\") (libsodium)");
}

static void test_round_trips(void)
{
	static struct rtx r;
	int good = 0, exact = 0, into = 0;
	const int n = 500;

	tap_seed(42);
	for (int i = 0; i < n; i++) {
		struct node_kv_tx d;
		size_t len, len2;
		uint8_t *buf, *buf2;

		random_tx(&r);
		buf = encode_alloc(&r.tx, &len);
		if (!buf)
			continue;
		if (node_kv_tx_decode(buf, len, &d) == 0) {
			good += tx_equal(&r.tx, &d);
			into += points_into(&d, buf, len);
			buf2 = encode_alloc(&d, &len2);
			exact += buf2 && len2 == len && memcmp(buf, buf2, len) == 0;
			free(buf2);
			node_kv_tx_release(&d);
		}
		free(buf);
	}
	ok(good == n, "%d/%d random transactions decode to what was encoded", good, n);
	ok(into == n, "%d/%d decoded transactions point into the buffer", into, n);
	ok(exact == n, "%d/%d re-encode to the same bytes", exact, n);
}

/* One payload assembled by hand, byte by byte, from the format's description. */
static void test_known_bytes(void)
{
	uint8_t s1[32], s2[32], acct[20];
	uint8_t buf[512];
	size_t n = 0;
	struct node_kv_tx tx;
	int r;

	memset(s1, 0x11, 32);
	memset(s2, 0x22, 32);
	memset(acct, 0xaa, 20);
#define PUT(...)                                                                                   \
	do {                                                                                       \
		const uint8_t x_[] = {__VA_ARGS__};                                                \
		memcpy(buf + n, x_, sizeof(x_));                                                   \
		n += sizeof(x_);                                                                   \
	} while (0)
#define PUTB(p, len)                                                                               \
	do {                                                                                       \
		memcpy(buf + n, p, len);                                                           \
		n += len;                                                                          \
	} while (0)
	PUT(0, 0, 0, 0, 0, 0, 0x01, 0x02); /* version 258 */
	PUT(0, 0, 0, 1);		   /* one read */
	PUTB(s1, 32);
	PUT(0, 0, 2, 'r', 'k');
	PUT(0, 0, 0, 2); /* two writes */
	PUTB(s1, 32);
	PUT(0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 3);
	PUTB(s2, 32);
	PUT(0, 0, 2, 0, 'b', 0, 0, 0, 0, 0, 0, 0, 0);
	PUT('x', 'y', 'z'); /* the values: "xyz" and the empty one */
	PUT(0, 0, 0, 3);    /* three ACL ops */
	PUT(0x30);
	PUTB(s1, 32);
	PUT(0, 0, 1, 'k');
	PUTB(acct, 20);
	PUT(0x01);
	PUTB(s2, 32);
	PUT(0x32);
	PUTB(s2, 32);
	PUT(0, 0, 1, 'q');
	r = node_kv_tx_decode(buf, n, &tx);
	ok(r == 0, "hand-assembled payload decodes (%d)", r);
	if (r)
		return;
	ok(tx.version == 258 && tx.n_reads == 1 && tx.n_writes == 2 && tx.n_acls == 3,
	   "version and counts");
	ok(tx.reads[0].key_len == 2 && memcmp(tx.reads[0].key, "rk", 2) == 0 &&
	       memcmp(tx.reads[0].stream_id, s1, 32) == 0,
	   "the read");
	ok(tx.writes[0].key_len == 1 && tx.writes[0].data_len == 3 &&
	       memcmp(tx.writes[0].data, "xyz", 3) == 0,
	   "first write: key a, value xyz");
	ok(tx.writes[1].key_len == 2 && memcmp(tx.writes[1].key, "\0b", 2) == 0 &&
	       tx.writes[1].data_len == 0 && memcmp(tx.writes[1].stream_id, s2, 32) == 0,
	   "second write: binary key, empty value");
	ok(tx.acls[0].op == 0x30 && tx.acls[0].key_len == 1 && tx.acls[0].account &&
	       memcmp(tx.acls[0].account, acct, 20) == 0,
	   "GRANT_SPECIAL_WRITER carries key then account");
	ok(tx.acls[1].op == 0x01 && !tx.acls[1].key && !tx.acls[1].account,
	   "RENOUNCE_ADMIN carries neither");
	ok(tx.acls[2].op == 0x32 && tx.acls[2].key_len == 1 && !tx.acls[2].account,
	   "RENOUNCE_SPECIAL_WRITER carries a key only");
	{
		size_t len;
		uint8_t *again = encode_alloc(&tx, &len);

		ok(again && len == n && memcmp(again, buf, n) == 0,
		   "encoder writes the same bytes");
		free(again);
	}
	node_kv_tx_release(&tx);
	node_kv_tx_release(&tx);
	node_kv_tx_release(NULL);
	ok(1, "release is NULL-safe and idempotent");

	/* Every truncation of it is refused, and so is every extension. */
	{
		int refused = 0, trailing = 0;

		for (size_t cut = 0; cut < n; cut++) {
			struct node_kv_tx t;
			int e = node_kv_tx_decode(buf, cut, &t);

			refused += e == -NODE_KV_ETRUNCATED || e == -NODE_KV_EVALUES;
			if (e == 0)
				node_kv_tx_release(&t);
		}
		ok(refused == (int)n, "all %zu truncations refused as truncated (%d)", n, refused);
		for (size_t extra = 1; extra < 40; extra++) {
			struct node_kv_tx t;

			buf[n + extra - 1] = 0;
			trailing += node_kv_tx_decode(buf, n + extra, &t) == -NODE_KV_ETRAILING;
		}
		ok(trailing == 39, "1..39 trailing bytes refused (%d/39)", trailing);
	}
#undef PUT
#undef PUTB
}

static void test_truncations_random(void)
{
	static struct rtx r;
	int all = 1;
	size_t total = 0;

	tap_seed(7);
	for (int i = 0; i < 40; i++) {
		size_t len;
		uint8_t *buf;

		random_tx(&r);
		buf = encode_alloc(&r.tx, &len);
		if (!buf) {
			all = 0;
			continue;
		}
		for (size_t cut = 0; cut < len; cut++) {
			/* A copy of exactly cut bytes, so ASan sees any read past it. */
			uint8_t *p = malloc(cut ? cut : 1);
			struct node_kv_tx t;
			int e;

			memcpy(p, buf, cut);
			e = node_kv_tx_decode(p, cut, &t);
			if (e == 0) {
				all = 0;
				node_kv_tx_release(&t);
			}
			free(p);
			total++;
		}
		free(buf);
	}
	ok(all, "every truncation of 40 random transactions is refused (%zu cuts)", total);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void test_counts(void)
{
	uint8_t *buf = calloc(1, 64 << 20);
	struct node_kv_tx t;
	size_t n;
	int e;

	/* nReads = 65537 */
	memset(buf, 0, 64);
	put_be(buf + 8, 65537, 4);
	ok(node_kv_tx_decode(buf, 64, &t) == -NODE_KV_ETOO_MANY, "65537 reads: too many");
	put_be(buf + 8, 0xffffffff, 4);
	ok(node_kv_tx_decode(buf, 64, &t) == -NODE_KV_ETOO_MANY, "2^32-1 reads: too many");
	/* nReads = 65536, but the bytes are not there */
	put_be(buf + 8, 65536, 4);
	ok(node_kv_tx_decode(buf, 64, &t) == -NODE_KV_ETRUNCATED,
	   "65536 reads in 64 bytes: truncated, nothing allocated for them");
	/* nWrites too many, nAcl too many */
	memset(buf, 0, 64);
	put_be(buf + 12, 70000, 4);
	ok(node_kv_tx_decode(buf, 64, &t) == -NODE_KV_ETOO_MANY, "70000 writes: too many");
	memset(buf, 0, 64);
	put_be(buf + 16, 65537, 4);
	ok(node_kv_tx_decode(buf, 20, &t) == -NODE_KV_ETOO_MANY, "65537 ACL ops: too many");

	/* Exactly 65536 ACL ops (renounce admin: 33 bytes each) is allowed. */
	n = 20 + 65536 * 33;
	memset(buf, 0, n);
	put_be(buf + 16, 65536, 4);
	for (size_t i = 0; i < 65536; i++)
		buf[20 + i * 33] = NODE_KV_RENOUNCE_ADMIN;
	e = node_kv_tx_decode(buf, n, &t);
	ok(e == 0 && t.n_acls == 65536, "65536 ACL ops decode (%d)", e);
	if (e == 0)
		node_kv_tx_release(&t);

	/* The encoder refuses what the decoder would. */
	{
		struct node_kv_tx big = {0};
		uint64_t size;

		big.n_writes = 65537;
		big.writes = (struct node_kv_write *)buf;
		ok(node_kv_tx_encoded_size(&big, &size) == -NODE_KV_ETOO_MANY,
		   "encoder: 65537 writes refused");
	}
	free(buf);
}

static void test_keys(void)
{
	uint8_t buf[256] = {0};
	uint8_t s[32] = {1};
	struct node_kv_tx t;

	/* read with key length 0 */
	put_be(buf + 8, 1, 4);
	ok(node_kv_tx_decode(buf, 8 + 4 + 32 + 3 + 12, &t) == -NODE_KV_EKEY_EMPTY,
	   "empty read key refused");
	/* write with key length 0 */
	memset(buf, 0, sizeof(buf));
	put_be(buf + 12, 1, 4);
	ok(node_kv_tx_decode(buf, 16 + 32 + 3 + 8 + 4 + 20, &t) == -NODE_KV_EKEY_EMPTY,
	   "empty write key refused");
	/* ACL op with a key, length 0 */
	memset(buf, 0, sizeof(buf));
	put_be(buf + 16, 1, 4);
	buf[20] = NODE_KV_SET_KEY_SPECIAL;
	ok(node_kv_tx_decode(buf, 20 + 1 + 32 + 3 + 10, &t) == -NODE_KV_EKEY_EMPTY,
	   "empty ACL key refused");
	/* key length beyond the data */
	memset(buf, 0, sizeof(buf));
	put_be(buf + 8, 1, 4);
	put_be(buf + 12 + 32, 0xffffff, 3);
	ok(node_kv_tx_decode(buf, sizeof(buf), &t) == -NODE_KV_ETRUNCATED,
	   "a 16 MiB key length in a 256-byte payload is truncated");

	/* Encoder: key lengths. */
	{
		struct node_kv_read rd = {s, s, 0};
		struct node_kv_tx tx = {.n_reads = 1, .reads = &rd};
		uint64_t size;

		ok(node_kv_tx_encoded_size(&tx, &size) == -NODE_KV_EKEY_EMPTY,
		   "encoder: empty key refused");
		rd.key_len = NODE_KV_MAX_KEY_SIZE + 1;
		ok(node_kv_tx_encoded_size(&tx, &size) == -E2BIG, "encoder: 2^24-byte key refused");
		rd.key_len = NODE_KV_MAX_KEY_SIZE;
		ok(node_kv_tx_encoded_size(&tx, &size) == 0 &&
		       size == 20 + 35 + (uint64_t)NODE_KV_MAX_KEY_SIZE,
		   "encoder: a 2^24-1-byte key is the largest");
	}
	/* A big binary key round-trips. */
	{
		size_t klen = 70000, len;
		uint8_t *key = malloc(klen), *enc;
		struct node_kv_write w = {s, key, (uint32_t)klen, key, 5};
		struct node_kv_tx tx = {.version = 1, .n_writes = 1, .writes = &w}, d;

		tap_fill(key, klen);
		enc = encode_alloc(&tx, &len);
		ok(enc && node_kv_tx_decode(enc, len, &d) == 0 && tx_equal(&tx, &d),
		   "70000-byte key round-trips");
		if (enc)
			node_kv_tx_release(&d);
		free(enc);
		free(key);
	}
}

static void test_acl_ops(void)
{
	uint8_t buf[128] = {0};
	int unknown = 0, known = 0;

	put_be(buf + 16, 1, 4);
	for (int op = 0; op < 256; op++) {
		struct node_kv_tx t;
		size_t n = 20 + 1 + 32;
		int e;

		buf[20] = (uint8_t)op;
		if (node_kv_acl_op_has_key((uint8_t)op)) {
			put_be(buf + n, 1, 3);
			buf[n + 3] = 'k';
			n += 4;
		}
		if (node_kv_acl_op_has_account((uint8_t)op))
			n += 20;
		e = node_kv_tx_decode(buf, n, &t);
		if (node_kv_acl_op_valid((uint8_t)op)) {
			known += e == 0 && t.n_acls == 1 && t.acls[0].op == op;
			if (e == 0)
				node_kv_tx_release(&t);
		} else {
			unknown += e == -NODE_KV_EACL_OP;
		}
	}
	ok(known == 10, "the 10 ACL ops of 0G decode (%d)", known);
	ok(unknown == 246, "the other 246 op codes are refused (%d)", unknown);
	ok(strcmp(node_kv_acl_op_name(0x30), "GRANT_SPECIAL_WRITER_ROLE") == 0 &&
	       strcmp(node_kv_acl_op_name(0x02), "UNKNOWN") == 0,
	   "op names are 0G's");

	/* Encoder: an op with the wrong parts. */
	{
		uint8_t s[32] = {0}, a[20] = {0};
		struct node_kv_acl acl = {NODE_KV_GRANT_WRITER, s, NULL, 0, NULL};
		struct node_kv_tx tx = {.n_acls = 1, .acls = &acl};
		uint64_t size;

		ok(node_kv_tx_encoded_size(&tx, &size) == -EINVAL,
		   "encoder: grant without account");
		acl.account = a;
		acl.key = s;
		acl.key_len = 1;
		ok(node_kv_tx_encoded_size(&tx, &size) == -EINVAL, "encoder: writer op with a key");
		acl.key = NULL;
		acl.key_len = 0;
		ok(node_kv_tx_encoded_size(&tx, &size) == 0 && size == 20 + 33 + 20,
		   "encoder: grant writer is 53 bytes after the header");
		acl.op = 0x40;
		ok(node_kv_tx_encoded_size(&tx, &size) == -NODE_KV_EACL_OP,
		   "encoder: unknown op refused");
	}
}

static void test_values(void)
{
	uint8_t buf[256] = {0};
	uint8_t s[32] = {0};
	struct node_kv_tx t;
	size_t n;

	/* one write, key "k", data length 10, but only 5 bytes then the ACL count */
	put_be(buf + 12, 1, 4);
	n = 16 + 32;
	put_be(buf + n, 1, 3);
	buf[n + 3] = 'k';
	n += 4;
	put_be(buf + n, 10, 8);
	n += 8;
	ok(node_kv_tx_decode(buf, n + 5, &t) == -NODE_KV_EVALUES, "a value past the end");
	put_be(buf + n - 8, UINT64_MAX, 8);
	ok(node_kv_tx_decode(buf, sizeof(buf), &t) == -NODE_KV_EVALUES, "a 2^64-1 value length");
	/* exactly filled: 10 bytes of value then nAcl = 0 */
	put_be(buf + n - 8, 10, 8);
	ok(node_kv_tx_decode(buf, n + 10 + 4, &t) == 0 && t.writes[0].data_len == 10,
	   "values exactly filling their space decode");
	node_kv_tx_release(&t);
	ok(node_kv_tx_decode(buf, n + 10 + 3, &t) == -NODE_KV_ETRUNCATED,
	   "one byte short of the ACL count");

	/* decode_prefix stops after the section asked for */
	memset(buf, 0xee, sizeof(buf));
	memset(buf, 0, 12);
	ok(node_kv_tx_decode_prefix(buf, sizeof(buf), NODE_KV_SECTION_READS, &t) == 0 &&
	       t.n_writes == 0,
	   "prefix READS ignores what follows the read set");
	node_kv_tx_release(&t);
	ok(node_kv_tx_decode_prefix(buf, sizeof(buf), NODE_KV_SECTION_WRITES, &t) ==
	       -NODE_KV_ETOO_MANY,
	   "prefix WRITES reads the write count");
	ok(node_kv_tx_decode(NULL, 0, &t) == -NODE_KV_ETRUNCATED, "empty payload: truncated");
	(void)s;
	ok(node_kv_tx_encode(&(struct node_kv_tx){0}, buf, 19, &n) == -ENOSPC &&
	       node_kv_tx_encode(&(struct node_kv_tx){0}, buf, 20, &n) == 0 && n == 20,
	   "encoder: -ENOSPC below the size, 20 bytes for an empty transaction");
	ok(strcmp(node_kv_strerror(-NODE_KV_ETRAILING),
		  "KV transaction: bytes after the last ACL operation") == 0 &&
	       strcmp(node_kv_strerror(-ENOMEM), strerror(ENOMEM)) == 0,
	   "node_kv_strerror");
}

static void test_tags(void)
{
	uint8_t ids[3 * 32], tags[4 * 32 + 1];
	size_t len;

	tap_fill(ids, sizeof(ids));
	ok(node_kv_tags_build(ids, 3, tags, sizeof(tags), &len) == 0 && len == 128,
	   "tags for 3 streams are 128 bytes");
	ok(memcmp(tags, node_kv_stream_domain, 32) == 0 && memcmp(tags + 32, ids, 96) == 0,
	   "domain then the ids");
	ok(node_kv_tags_is_kv(tags, len) && node_kv_tags_stream_count(tags, len) == 3 &&
	       node_kv_tags_stream_id(tags, len, 2) == tags + 96 &&
	       node_kv_tags_stream_id(tags, len, 3) == NULL,
	   "parsed back: 3 streams");
	ok(!node_kv_tags_is_kv(tags, 32), "the domain alone names no stream: not KV");
	ok(!node_kv_tags_is_kv(tags, len + 1), "a length not a multiple of 32: not KV");
	ok(!node_kv_tags_is_kv(NULL, 0), "no tags: not KV");
	tags[5] ^= 1;
	ok(!node_kv_tags_is_kv(tags, len) && node_kv_tags_stream_count(tags, len) == 0,
	   "another prefix: not KV");
	ok(node_kv_tags_build(ids, 3, tags, 127, &len) == -ENOSPC &&
	       node_kv_tags_build(ids, 0, tags, sizeof(tags), &len) == -EINVAL,
	   "tags_build: -ENOSPC, -EINVAL");
}

int main(void)
{
	if (sodium_init() < 0)
		skip_all("libsodium cannot initialize");
	test_domain();
	test_round_trips();
	test_known_bytes();
	test_truncations_random();
	test_counts();
	test_keys();
	test_acl_ops();
	test_values();
	test_tags();
	return tap_done();
}
